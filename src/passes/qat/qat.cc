#include "src/passes/qat/qat.h"

#include <algorithm>
#include <cstring>
#include <numeric>

#include "src/train/trainer.h"

namespace edgeopt {
namespace qat {
namespace {

using quantize::OpQuantKind;

struct UnionFind {
  std::vector<int> parent;
  explicit UnionFind(int n) : parent(n) { std::iota(parent.begin(), parent.end(), 0); }
  int Find(int x) {
    while (parent[x] != x) x = parent[x] = parent[parent[x]];
    return x;
  }
  void Union(int a, int b) { parent[Find(a)] = Find(b); }
};

bool IsActivation(const ir::Tensor& t) { return !t.is_constant && t.dtype == DType::kFloat32; }

// Same-scale ops whose integer output is not a selection of their integer inputs: their float
// output is off the int8 grid and needs its own fake-quant (with the group's parameters).
bool RecomputesValues(const std::string& op) {
  return op == "AVERAGE_POOL_2D" || op == "RESIZE_BILINEAR";
}

// A CAST to integer indices (Embedding's ids): no data to quantize.
bool IsIndexCast(const ir::Graph& g, const ir::Node& node) {
  if (node.op != "CAST" || node.outputs.size() != 1 || node.outputs[0] < 0) return false;
  const DType out = g.tensors[node.outputs[0]].dtype;
  return out == DType::kInt32 || out == DType::kInt64;
}

// A masked mean's DIV by its count of kept steps (a float-prefix SUM of the mask): no int8
// kernel, so it stays float in the int8 file as in post-training int8, between a DEQUANTIZE
// of the sum and a QUANTIZE of the mean.
bool IsMaskCountDivision(const ir::Graph& g, const std::vector<uint8_t>& prefix,
                         const ir::Node& node) {
  if (node.op != "DIV" || node.inputs.size() != 2 || node.inputs[1] < 0) return false;
  const int producer = g.Producer(node.inputs[1]);
  return producer >= 0 && prefix[producer];
}

// A float tensor read only by float-prefix nodes (token ids) or as a masked mean's count: it
// stays float, unquantized.
bool OnlyFloatPrefixReads(const ir::Graph& g, const std::vector<uint8_t>& prefix, int t) {
  const std::vector<int> consumers = g.Consumers(t);
  if (consumers.empty()) return false;
  for (int c : consumers) {
    const ir::Node& node = g.nodes[c];
    if (!prefix[c] && !(IsMaskCountDivision(g, prefix, node) && node.inputs[0] != t)) {
      return false;
    }
  }
  return true;
}

// Every input and output a bool or an integer (logical ops of comparisons; an index's reshapes
// and comparisons): no data to quantize.
bool NoData(const ir::Graph& g, const ir::Node& n) {
  for (const std::vector<int>* list : {&n.inputs, &n.outputs}) {
    for (int t : *list) {
      if (t < 0) return false;
      const DType d = g.tensors[t].dtype;
      if (d != DType::kBool && d != DType::kInt32 && d != DType::kInt64) return false;
    }
  }
  return !n.outputs.empty();
}

std::string NodeLabel(const ir::Node& n, int index) {
  return "node " + std::to_string(index) + " (" + n.op + (n.name.empty() ? "" : " " + n.name) + ")";
}

}  // namespace

StatusOr<QatModel> BuildQatModel(const ir::Graph& fg, const QatOptions& options,
                                 const quantize::RangeMap& initial_ranges) {
  EDGEOPT_RETURN_IF_ERROR(fg.Validate());
  EDGEOPT_ENSURE(options.ema_decay >= 0.0f && options.ema_decay < 1.0f,
                 StatusCode::kInvalidArgument, "EMA decay %g must be in [0, 1)", options.ema_decay);
  const int n = static_cast<int>(fg.tensors.size());
  quantize::QuantizeOptions qo;
  qo.per_channel = options.per_channel;
  qo.per_channel_fc = options.per_channel_fc;

  // Every op must run in int8, on float data, but for the float prefix.
  const std::vector<uint8_t> prefix = quantize::FloatPrefix(fg);
  for (size_t i = 0; i < fg.nodes.size(); ++i) {
    const ir::Node& node = fg.nodes[i];
    const std::string where = NodeLabel(node, static_cast<int>(i));
    EDGEOPT_ENSURE(!ir::IsToolkitOp(node.op), StatusCode::kInvalidArgument,
                   "%s: give a model in export form (BatchNorm folded, dropout removed)",
                   where.c_str());
    const OpQuantKind kind = quantize::QuantizedOpKind(node.op);
    // Embedding's ids: a CAST from the float input to integer indices carries no data to
    // quantize (the post-training quantizer keeps it too).
    if (IsIndexCast(fg, node) || prefix[i] || IsMaskCountDivision(fg, prefix, node)) continue;
    if (NoData(fg, node)) continue;  // LOGICAL_AND / OR / NOT of comparisons, indices
    EDGEOPT_ENSURE(kind != OpQuantKind::kNone, StatusCode::kUnsupported,
                   "%s: the int8 mode has no kernel for %s, so the model cannot be "
                   "full-integer; quantization-aware training needs every op in int8",
                   where.c_str(), node.op.c_str());
    EDGEOPT_ENSURE(kind != OpQuantKind::kLstm || quantize::IntegerLstmCandidate(fg, node),
                   StatusCode::kUnsupported,
                   "%s: TFLite's integer LSTM takes tanh, all four gates and no peepholes, "
                   "projection or layer norm; unroll this LSTM (Keras' unroll=True) for int8",
                   where.c_str());
    for (size_t k = 0; k < node.inputs.size(); ++k) {
      const int t = node.inputs[k];
      if (t < 0 || !quantize::IsQuantizedDataInput(node.op, static_cast<int>(k))) continue;
      EDGEOPT_ENSURE(fg.tensors[t].dtype == DType::kFloat32, StatusCode::kInvalidArgument,
                     "%s: input '%s' is %s; give the float model", where.c_str(),
                     fg.tensors[t].name.c_str(), DTypeName(fg.tensors[t].dtype));
    }
    if (kind == OpQuantKind::kWeighted) {
      const quantize::WeightedInputs wi = quantize::WeightedInputsOf(node.op);
      const int w =
          wi.weights < static_cast<int>(node.inputs.size()) ? node.inputs[wi.weights] : -1;
      EDGEOPT_ENSURE(w >= 0 && fg.tensors[w].is_constant && fg.tensors[w].dtype == DType::kFloat32,
                     StatusCode::kUnsupported, "%s: the weights must be a float constant",
                     where.c_str());
    }
  }

  // Quantization groups, as the quantize pass forms them (every node is quantized here).
  UnionFind uf(n);
  quantize::JoinSharedParams(
      fg, [](size_t) { return true; }, [&](int a, int b) { uf.Union(a, b); });

  QatModel m;
  m.float_graph = fg;
  m.graph = fg;
  m.options = options;
  m.range_state.assign(n, -1);
  ir::Graph& g = m.graph;

  // Attention masks (quantize::IsMaskNode): the masked scores' range (down to -1e9) stays out of
  // their group's; the group's fake-quants lower its minimum by MaskDepth, as the export does.
  const quantize::MaskGroups masks = quantize::FindMasks(
      fg, [](size_t) { return true; }, [&](int t) { return uf.Find(t); });
  // Fixed-parameter groups.
  std::map<int, quant::QuantParams> fixed;  // group -> parameters
  for (const ir::Node& node : fg.nodes) {
    if (quantize::QuantizedOpKind(node.op) != OpQuantKind::kFixedOutput) continue;
    quant::QuantParams p;
    quantize::FixedOutputParamsInt8(node.op, &p.scale, &p.zero_point);
    fixed[uf.Find(node.outputs[0])] = p;
  }
  // One range state per other group of activations, initialized with the union of the
  // members' calibrated ranges.
  std::map<int, int> group_state;
  std::map<int, quantize::Range> group_init;
  for (int t = 0; t < n; ++t) {
    if (!IsActivation(fg.tensors[t])) continue;
    const int root = uf.Find(t);
    if (fixed.count(root)) {
      const quant::QuantParams& p = fixed[root];
      m.fixed_ranges[t] = {static_cast<float>(-128 - p.zero_point) * p.scale,
                           static_cast<float>(127 - p.zero_point) * p.scale};
      continue;
    }
    auto r = initial_ranges.find(t);
    if (r != initial_ranges.end() && !masks.outputs.count(t)) {
      auto it = group_init.find(root);
      if (it == group_init.end()) {
        group_init[root] = r->second;
      } else {
        it->second.min = std::min(it->second.min, r->second.min);
        it->second.max = std::max(it->second.max, r->second.max);
      }
    }
    if (!group_state.count(root)) group_state[root] = -1;
  }
  // A constant sharing a calibrated group's parameters (an Embedding's table) widens its initial
  // range, as the post-training quantizer's group range includes it.
  for (int t = 0; t < n; ++t) {
    const ir::Tensor& c = fg.tensors[t];
    if (!c.is_constant || c.dtype != DType::kFloat32 || c.NumElements() == 0) continue;
    if (quantize::IsMaskConstant(c)) continue;  // saturates, as in the export
    auto it = group_init.find(uf.Find(t));
    if (it == group_init.end()) continue;
    const float* v = c.DataAs<float>();
    const auto [lo, hi] = std::minmax_element(v, v + c.NumElements());
    it->second.min = std::min(it->second.min, *lo);
    it->second.max = std::max(it->second.max, *hi);
  }
  for (auto& [root, state] : group_state) {
    auto init = group_init.find(root);
    const std::vector<float> values =
        init != group_init.end()
            ? train::InitialRangeState(true, init->second.min, init->second.max)
            : train::InitialRangeState(false);
    state = g.AddFloatConstant(fg.tensors[root].name + "/qat_range",
                               {static_cast<int32_t>(train::kRangeStateSize)}, values);
    ++m.num_range_states;
  }
  for (int t = 0; t < n; ++t) {
    if (!IsActivation(fg.tensors[t])) continue;
    auto it = group_state.find(uf.Find(t));
    if (it != group_state.end()) m.range_state[t] = it->second;
  }

  // Which activations get a FAKE_QUANT_ACT.
  std::vector<uint8_t> quantize_output(n, 0);
  for (int t : fg.inputs) {
    if (IsActivation(fg.tensors[t]) && !OnlyFloatPrefixReads(fg, prefix, t)) quantize_output[t] = 1;
  }
  for (size_t i = 0; i < fg.nodes.size(); ++i) {
    const ir::Node& node = fg.nodes[i];
    const OpQuantKind kind = quantize::QuantizedOpKind(node.op);
    if (kind == OpQuantKind::kSameScale && !RecomputesValues(node.op)) continue;
    for (int t : node.outputs) {
      if (t < 0 || !IsActivation(fg.tensors[t])) continue;
      if (prefix[i] && OnlyFloatPrefixReads(fg, prefix, t)) continue;  // stays inside it
      // The loss reads the logits (the cross-entropies fuse a final SOFTMAX or LOGISTIC).
      if ((node.op == "SOFTMAX" || node.op == "LOGISTIC") && fg.IsGraphOutput(t)) continue;
      quantize_output[t] = 1;
    }
  }

  // The graph: fake-quants inserted, consumers rewired.
  std::vector<int> replaced(n, -1);
  // `range_of`: the activation whose range state the fake-quant learns (t's own by default).
  auto add_act_quant = [&](int t, std::vector<ir::Node>* nodes, int range_of = -1) {
    ir::Tensor copy = fg.tensors[t];
    copy.name += "/fake_quant";
    copy.origin.clear();
    copy.frozen = false;
    copy.quant = ir::QuantInfo();
    copy.is_constant = false;
    copy.data.clear();
    const int q = g.AddTensor(std::move(copy));
    ir::Node fq;
    fq.op = "FAKE_QUANT_ACT";
    fq.name = fg.tensors[t].name + "/fake_quant";
    fq.attrs["num_bits"] = int64_t{8};
    fq.attrs["narrow_range"] = false;
    const auto fx = fixed.find(uf.Find(t));
    if (fx != fixed.end()) {
      fq.inputs = {t};
      fq.attrs["fixed_scale"] = static_cast<double>(fx->second.scale);
      fq.attrs["fixed_zero_point"] = static_cast<int64_t>(fx->second.zero_point);
    } else {
      fq.inputs = {t, m.range_state[range_of >= 0 ? range_of : t]};
      fq.attrs["ema_decay"] = static_cast<double>(options.ema_decay);
      fq.attrs["observe"] = true;
      const auto mk = masks.keys.find(uf.Find(t));
      if (mk != masks.keys.end()) {
        fq.attrs["mask_depth"] = static_cast<double>(quantize::MaskDepth(mk->second, false));
      }
    }
    fq.outputs = {q};
    nodes->push_back(std::move(fq));
    replaced[t] = q;
    ++m.num_activation_quantizers;
  };
  std::vector<ir::Node> nodes;
  for (int t : fg.inputs) {
    if (quantize_output[t]) add_act_quant(t, &nodes);
  }
  // Embeddings: CAST(ids) + GATHER(table) train as the engine's EMBEDDING(ids, table). The int8
  // file's table shares the output's scale, so the table itself is fake-quantized with the
  // output's range state (observing the whole table each step, as the export's range includes
  // it); the rows it gathers are then on the int8 grid.
  std::vector<int> cast_of_gather(fg.nodes.size(), -1);  // the index CAST a GATHER reads
  std::vector<uint8_t> folded_cast(fg.nodes.size(), 0);
  for (size_t i = 0; i < fg.nodes.size(); ++i) {
    const ir::Node& gather = fg.nodes[i];
    if (gather.op != "GATHER" || gather.inputs.size() != 2 || gather.outputs.size() != 1 ||
        gather.inputs[0] < 0 || gather.inputs[1] < 0 || !fg.tensors[gather.inputs[0]].is_constant ||
        ir::GetInt(gather.attrs, "axis", 0) != 0) {
      continue;
    }
    const int cast = fg.Producer(gather.inputs[1]);
    if (cast >= 0 && IsIndexCast(fg, fg.nodes[cast]) &&
        fg.Consumers(gather.inputs[1]).size() == 1) {
      cast_of_gather[i] = cast;
      folded_cast[cast] = 1;
    }
  }
  std::map<std::pair<int, int>, int> weight_quant;  // (weights, axis) -> fake-quantized tensor
  for (size_t i = 0; i < fg.nodes.size(); ++i) {
    const ir::Node& original = fg.nodes[i];
    if (folded_cast[i]) continue;  // folded into its EMBEDDING below
    ir::Node node = original;
    const bool count_division = IsMaskCountDivision(fg, prefix, original);
    for (size_t k = 0; k < node.inputs.size(); ++k) {
      int& t = node.inputs[k];
      if (prefix[i] || (count_division && k == 1)) continue;  // float, as in the export
      if (t >= 0 && t < n && replaced[t] >= 0) t = replaced[t];
    }
    if (cast_of_gather[i] >= 0) {
      const int table = original.inputs[0];
      add_act_quant(table, &nodes, original.outputs[0]);
      nodes.back().attrs["ema_decay"] = 0.0;  // the current table's range, as the export's
      node.op = "EMBEDDING";
      node.attrs.clear();
      node.inputs = {fg.nodes[cast_of_gather[i]].inputs[0], replaced[table]};
    }
    // The fake-quantized copy of weights `w` (per channel along `axis`, or per tensor: -1).
    auto fake_quant_weights = [&](int w, int axis) {
      auto it = weight_quant.find({w, axis});
      if (it == weight_quant.end()) {
        ir::Tensor copy = fg.tensors[w];
        copy.name += "/fake_quant";
        copy.origin.clear();
        copy.frozen = false;
        copy.is_constant = false;
        copy.data.clear();
        copy.quant = ir::QuantInfo();
        const int q = g.AddTensor(std::move(copy));
        ir::Node fq;
        fq.op = "FAKE_QUANT_WEIGHT";
        fq.name = fg.tensors[w].name + "/fake_quant";
        fq.inputs = {w};
        fq.outputs = {q};
        fq.attrs["num_bits"] = int64_t{8};
        fq.attrs["axis"] = static_cast<int64_t>(axis);
        nodes.push_back(std::move(fq));
        it = weight_quant.emplace(std::make_pair(w, axis), q).first;
        if (std::find(m.weights.begin(), m.weights.end(), w) == m.weights.end()) {
          m.weights.push_back(w);
        }
        ++m.num_weight_quantizers;
      }
      return it->second;
    };
    if (quantize::QuantizedOpKind(node.op) == OpQuantKind::kWeighted) {
      const quantize::WeightedInputs wi = quantize::WeightedInputsOf(node.op);
      node.inputs[wi.weights] =
          fake_quant_weights(original.inputs[wi.weights], quantize::WeightQuantAxis(node.op, qo));
    }
    if (quantize::QuantizedOpKind(node.op) == OpQuantKind::kLstm) {
      // The eight gate weight matrices, per tensor as the integer LSTM's. The int8 file's
      // recurrent arithmetic (int8 hidden state fed back, Q3.12 gates, int16 cell) is not
      // simulated: the output's fake-quant covers what the next layers read.
      for (int k = 1; k <= 8; ++k) node.inputs[k] = fake_quant_weights(original.inputs[k], -1);
    }
    nodes.push_back(std::move(node));
    for (int t : original.outputs) {
      if (t >= 0 && quantize_output[t]) add_act_quant(t, &nodes);
    }
  }
  g.nodes = std::move(nodes);
  for (int& t : g.outputs) {
    if (replaced[t] >= 0) t = replaced[t];
  }
  // Producers and graph inputs come first: the order above is topological.
  EDGEOPT_RETURN_IF_ERROR(g.Validate());
  return m;
}

StatusOr<quantize::RangeMap> LearnedRanges(const QatModel& m) {
  quantize::RangeMap ranges;
  const ir::Graph& fg = m.float_graph;
  for (int t = 0; t < static_cast<int>(fg.tensors.size()); ++t) {
    if (!IsActivation(fg.tensors[t])) continue;
    auto fx = m.fixed_ranges.find(t);
    if (fx != m.fixed_ranges.end()) {
      ranges[t] = fx->second;
      continue;
    }
    const int s = m.range_state[t];
    if (s < 0) continue;
    const ir::Tensor& st = m.graph.tensors[s];
    EDGEOPT_ENSURE(st.is_constant && st.NumElements() == train::kRangeStateSize,
                   StatusCode::kInternal, "range state %d of tensor %s is malformed", s,
                   fg.tensors[t].name.c_str());
    const float* v = st.DataAs<float>();
    EDGEOPT_ENSURE(v[train::kRangeInitialized] != 0.0f, StatusCode::kInvalidArgument,
                   "tensor '%s' has no learned range yet (calibrate or train at least one step)",
                   fg.tensors[t].name.c_str());
    ranges[t] = {v[train::kRangeMin], v[train::kRangeMax]};
  }
  return ranges;
}

ir::Graph TrainedFloatGraph(const QatModel& m) {
  ir::Graph g = m.float_graph;
  for (size_t t = 0; t < g.tensors.size(); ++t) {
    ir::Tensor& dst = g.tensors[t];
    const ir::Tensor& src = m.graph.tensors[t];
    if (dst.is_constant && dst.dtype == DType::kFloat32 && src.data.size() == dst.data.size()) {
      dst.data = src.data;
    }
  }
  return g;
}

Status CheckFullInteger(const ir::Graph& q) {
  const std::vector<uint8_t> prefix = quantize::FloatPrefix(q);
  for (size_t i = 0; i < q.nodes.size(); ++i) {
    const ir::Node& node = q.nodes[i];
    const std::string where = NodeLabel(node, static_cast<int>(i));
    if (node.op == "QUANTIZE") {
      const int producer = q.Producer(node.inputs[0]);
      const bool from_input =
          std::find(q.inputs.begin(), q.inputs.end(), node.inputs[0]) != q.inputs.end() ||
          (producer >= 0 &&
           (prefix[producer] || IsMaskCountDivision(q, prefix, q.nodes[producer])));
      EDGEOPT_ENSURE(from_input || q.IsGraphOutput(node.outputs[0]), StatusCode::kInternal,
                     "%s: QUANTIZE inside the graph (an op stayed in float)", where.c_str());
    } else if (node.op == "DEQUANTIZE") {
      const std::vector<int> readers = q.Consumers(node.outputs[0]);
      if (!readers.empty() && std::all_of(readers.begin(), readers.end(), [&](int r) {
            return IsMaskCountDivision(q, prefix, q.nodes[r]) &&
                   q.nodes[r].inputs[0] == node.outputs[0];
          })) {
        continue;  // a masked mean's sum, divided in float
      }
      EDGEOPT_ENSURE(q.IsGraphOutput(node.outputs[0]), StatusCode::kInternal,
                     "%s: DEQUANTIZE inside the graph (an op stayed in float)", where.c_str());
    } else if (quantize::QuantizedOpKind(node.op) == OpQuantKind::kWeighted) {
      const int w = node.inputs[quantize::WeightedInputsOf(node.op).weights];
      EDGEOPT_ENSURE(q.tensors[w].dtype == DType::kInt8, StatusCode::kInternal,
                     "%s: weights are %s, not int8", where.c_str(), DTypeName(q.tensors[w].dtype));
    }
  }
  return Status::Ok();
}

Status CalibrateLstmCells(QatModel* m, const quantize::FillInputsFn& fill,
                          const quantize::CalibrateOptions& options) {
  std::vector<int> cells;
  for (const ir::Node& node : m->float_graph.nodes) {
    if (quantize::IntegerLstmCandidate(m->float_graph, node)) {
      cells.push_back(node.inputs[quantize::kLstmCellState]);
    }
  }
  if (cells.empty()) return Status::Ok();
  EDGEOPT_ASSIGN_OR_RETURN(quantize::RangeMap ranges,
                           quantize::Calibrate(TrainedFloatGraph(*m), fill, options));
  for (int c : cells) {
    const int s = m->range_state[c];
    auto r = ranges.find(c);
    if (s < 0 || r == ranges.end()) continue;
    const std::vector<float> state = train::InitialRangeState(true, r->second.min, r->second.max);
    ir::Tensor& t = m->graph.tensors[s];
    EDGEOPT_ENSURE(t.data.size() == state.size() * sizeof(float), StatusCode::kInternal,
                   "range state of %s is malformed", m->float_graph.tensors[c].name.c_str());
    std::memcpy(t.data.data(), state.data(), t.data.size());
  }
  return Status::Ok();
}

StatusOr<ir::Graph> ExportInt8(const QatModel& m, quantize::IoType io,
                               std::vector<int>* float_to_quantized) {
  EDGEOPT_ASSIGN_OR_RETURN(quantize::RangeMap ranges, LearnedRanges(m));
  quantize::QuantizeOptions qo;
  qo.mode = quantize::Mode::kInt8;
  qo.per_channel = m.options.per_channel;
  qo.per_channel_fc = m.options.per_channel_fc;
  qo.io = io;
  const ir::Graph trained = TrainedFloatGraph(m);
  EDGEOPT_ASSIGN_OR_RETURN(ir::Graph q,
                           quantize::QuantizeGraph(trained, qo, ranges, float_to_quantized));
  EDGEOPT_RETURN_IF_ERROR(CheckFullInteger(q));
  return q;
}

StatusOr<int64_t> KeepZeroWeights(const QatModel& m, train::Trainer* trainer) {
  int64_t masked = 0;
  for (int w : m.weights) {
    const ir::Tensor& t = m.graph.tensors[w];
    if (t.frozen) continue;  // not trained: its zeros stay
    const float* v = t.DataAs<float>();
    const int64_t count = t.NumElements();
    std::vector<float> mask(static_cast<size_t>(count), 1.0f);
    int64_t zeros = 0;
    for (int64_t i = 0; i < count; ++i) {
      if (v[i] == 0.0f) {
        mask[i] = 0.0f;
        ++zeros;
      }
    }
    if (zeros == 0) continue;
    const train::Parameter* param = nullptr;
    for (const train::Parameter& p : trainer->engine()->parameters()) {
      if (p.tensor == w) param = &p;
    }
    EDGEOPT_ENSURE(param != nullptr, StatusCode::kInternal, "weight '%s' is not trainable",
                   t.name.c_str());
    for (const train::Parameter& p : trainer->engine()->parameters()) {
      EDGEOPT_ENSURE(p.tensor == w || p.name != param->name, StatusCode::kUnsupported,
                     "two weights are named '%s'; their zeros cannot be kept apart",
                     p.name.c_str());
    }
    EDGEOPT_RETURN_IF_ERROR(trainer->SetMask(param->name, mask));
    masked += zeros;
  }
  return masked;
}

}  // namespace qat
}  // namespace edgeopt
