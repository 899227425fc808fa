#include "src/passes/lowrank/lowrank.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <set>

#include "src/importers/keras/keras_config.h"
#include "src/passes/prune/prune_plan.h"

namespace edgeopt {
namespace lowrank {
namespace {

using Json = nlohmann::json;

constexpr double kMaxSvdWork = 4e9;

bool IsConv2DClass(const std::string& cls) { return cls == "Conv2D" || cls == "Convolution2D"; }
bool IsConv1DClass(const std::string& cls) { return cls == "Conv1D" || cls == "Convolution1D"; }

// The "layers" array of the (nested) model config that holds `name`, or nullptr.
Json* ParentLayers(Json* model, const std::string& name, int depth = 0) {
  if (depth > 32 || !model->is_object() || !model->contains("config")) return nullptr;
  Json& config = (*model)["config"];
  Json* layers = config.is_array() ? &config
                 : config.is_object() && config.contains("layers") && config["layers"].is_array()
                     ? &config["layers"]
                     : nullptr;
  if (layers == nullptr) return nullptr;
  for (Json& entry : *layers) {
    if (keras::LayerName(entry) == name) return layers;
  }
  for (Json& entry : *layers) {
    if (keras::IsModelClass(keras::LayerClass(entry))) {
      Json* found = ParentLayers(&entry, name, depth + 1);
      if (found != nullptr) return found;
    }
  }
  return nullptr;
}

// The inbound_nodes of a functional model's layer entry (nullptr in a Sequential model).
const Json* InboundNodes(const Json& entry) {
  auto it = entry.find("inbound_nodes");
  if (it == entry.end() || !it->is_array() || it->empty()) return nullptr;
  return &*it;
}

void SetName(Json* entry, const std::string& name) {
  if (entry->contains("name")) (*entry)["name"] = name;
  (*entry)["config"]["name"] = name;
}

// [null, d1, ..., rank]: a layer output shape as Keras writes it (batch unknown).
Json KerasShape(const std::vector<int32_t>& shape, int last) {
  Json s = Json::array();
  for (size_t i = 0; i < shape.size(); ++i) {
    if (i == 0) {
      s.push_back(nullptr);
    } else {
      s.push_back(i + 1 == shape.size() ? last : shape[i]);
    }
  }
  return s;
}

// The original layer's single call, rewired to read the first layer's output: Keras 2
// [[["first", 0, 0, {}]]], or Keras 3 {"args": [keras tensor of "first"], "kwargs": {...}}.
Status RewireInbound(Json* entry, const std::string& first, const Json& first_output_shape) {
  const Json* nodes = InboundNodes(*entry);
  if (nodes == nullptr) return Status::Ok();  // Sequential: the order is the wiring
  const Json& node = (*nodes)[0];
  Json rewired;
  if (node.is_array()) {
    rewired = Json::array({Json::array({first, 0, 0, Json::object()})});
  } else if (node.is_object() && node.contains("args")) {
    std::string dtype = "float32";
    const Json& args = node["args"];
    if (args.is_array() && !args.empty() && args[0].is_object() && args[0].contains("config") &&
        args[0]["config"].is_object() && args[0]["config"].contains("dtype") &&
        args[0]["config"]["dtype"].is_string()) {
      dtype = args[0]["config"]["dtype"].get<std::string>();
    }
    rewired = node;
    rewired["args"] = Json::array({{{"class_name", "__keras_tensor__"},
                                    {"config",
                                     {{"shape", first_output_shape},
                                      {"dtype", dtype},
                                      {"keras_history", Json::array({first, 0, 0})}}}}});
  } else {
    return MakeStatus(StatusCode::kUnsupported, "layer '%s': unknown inbound node format",
                      keras::LayerName(*entry).c_str());
  }
  (*entry)["inbound_nodes"] = Json::array({rewired});
  return Status::Ok();
}

LayerReport Report(const LayerPlan& lp, const Factors& f, const std::string& first_name) {
  LayerReport rep;
  rep.layer = lp.layer;
  rep.first_layer = first_name;
  rep.op = lp.op;
  rep.out = lp.out;
  rep.in = lp.in;
  rep.rank = f.rank;
  rep.full_rank = lp.svd.k;
  rep.break_even = lp.break_even;
  rep.weights_before = lp.out * lp.in;
  rep.weights_after = int64_t{f.rank} * (lp.out + lp.in);
  rep.macs_before = rep.weights_before * lp.positions;
  rep.macs_after = rep.weights_after * lp.positions;
  rep.energy = f.energy;
  rep.relative_error = f.relative_error;
  return rep;
}

// A tensor name not yet in the graph: `base`, else base_1, base_2, ...
std::string FreshTensorName(const ir::Graph& g, const std::string& base) {
  auto taken = [&](const std::string& name) {
    return std::any_of(g.tensors.begin(), g.tensors.end(),
                       [&](const ir::Tensor& t) { return t.name == name; });
  };
  std::string name = base;
  for (int i = 1; taken(name); ++i) name = base + "_" + std::to_string(i);
  return name;
}

}  // namespace

std::string RankRuleName(const RankRule& rule) {
  char buf[64];
  switch (rule.kind) {
    case RankRule::Kind::kRank:
      std::snprintf(buf, sizeof(buf), "rank %d", static_cast<int>(rule.value));
      break;
    case RankRule::Kind::kEnergy:
      std::snprintf(buf, sizeof(buf), "energy %g", rule.value);
      break;
    case RankRule::Kind::kParams:
      std::snprintf(buf, sizeof(buf), "params %g", rule.value);
      break;
  }
  std::string name = buf;
  if (rule.multiple > 1) name += ", ranks in multiples of " + std::to_string(rule.multiple);
  return name;
}

int BreakEvenRank(int64_t out, int64_t in) {
  if (out <= 0 || in <= 0) return 0;
  return static_cast<int>((out * in - 1) / (out + in));
}

double EnergyKept(const std::vector<double>& s, int rank) {
  double total = 0.0, kept = 0.0;
  for (size_t i = 0; i < s.size(); ++i) {
    total += s[i] * s[i];
    if (static_cast<int>(i) < rank) kept += s[i] * s[i];
  }
  return total > 0.0 ? kept / total : 1.0;
}

int ChooseRank(const std::vector<double>& s, int64_t out, int64_t in, const RankRule& rule) {
  const int k = static_cast<int>(s.size());
  int rank = 1;
  switch (rule.kind) {
    case RankRule::Kind::kRank:
      rank = static_cast<int>(rule.value);
      break;
    case RankRule::Kind::kEnergy: {
      double total = 0.0;
      for (double x : s) total += x * x;
      double kept = 0.0;
      rank = k;
      for (int i = 0; i < k; ++i) {
        kept += s[i] * s[i];
        if (kept >= rule.value * total) {
          rank = i + 1;
          break;
        }
      }
      break;
    }
    case RankRule::Kind::kParams:
      rank = static_cast<int>(
          std::floor(rule.value * static_cast<double>(out * in) / static_cast<double>(out + in)));
      break;
  }
  rank = std::clamp(rank, 1, std::max(k, 1));
  if (rule.multiple > 1) {
    const int m = rule.multiple;
    const int up = (rank + m - 1) / m * m, down = rank / m * m;
    if (up <= k && up <= BreakEvenRank(out, in)) {
      rank = up;
    } else if (down >= 1) {
      rank = down;
    }
  }
  return rank;
}

Factors Factorize(const Svd& svd, int rank) {
  Factors f;
  f.rank = std::clamp(rank, 1, svd.k);
  const int r = f.rank, out = svd.rows, in = svd.cols;
  f.first.resize(static_cast<size_t>(r) * in);
  f.second.resize(static_cast<size_t>(out) * r);
  for (int j = 0; j < r; ++j) {
    const double root = std::sqrt(svd.s[j]);
    for (int c = 0; c < in; ++c) {
      f.first[static_cast<size_t>(j) * in + c] =
          static_cast<float>(root * svd.vt[static_cast<size_t>(j) * in + c]);
    }
    for (int o = 0; o < out; ++o) {
      f.second[static_cast<size_t>(o) * r + j] =
          static_cast<float>(root * svd.u[static_cast<size_t>(o) * svd.k + j]);
    }
  }
  f.energy = EnergyKept(svd.s, r);
  f.relative_error = std::sqrt(std::max(0.0, 1.0 - f.energy));
  return f;
}

StatusOr<std::map<std::string, int>> ParseLayerRanks(const std::string& text) {
  return prune::ParseLayerInts(text, "rank", "dense=16", 1, 1 << 20);
}

StatusOr<Plan> PlanFactorization(const ir::Graph& graph, const keras::KerasModel* model,
                                 const std::vector<std::string>& layers,
                                 const std::vector<std::string>& skip, const RankRule& rule,
                                 const std::map<std::string, int>& layer_ranks,
                                 int64_t min_weights) {
  // The FULLY_CONNECTED and CONV_2D kernels (a shared one once), with Keras origins when a
  // Keras model is to be rewritten; sparse-encoded ones have no dense values to factorize.
  std::vector<prune::PrunableWeight> candidates;
  for (const prune::PrunableWeight& p : prune::WeightLayers(graph)) {
    const ir::Tensor& w = graph.tensors[p.tensor];
    if ((p.op != "FULLY_CONNECTED" && p.op != "CONV_2D") || w.has_sparsity) continue;
    if (model != nullptr && w.origin.empty()) continue;
    candidates.push_back(p);
  }
  std::vector<std::string> named = layers;
  named.insert(named.end(), skip.begin(), skip.end());
  for (const auto& kv : layer_ranks) named.push_back(kv.first);
  EDGEOPT_RETURN_IF_ERROR(
      prune::CheckLayerNames(candidates, named, "a dense or convolution layer with float weights"));

  // Layer names that occur more than once in the model's config (Keras refuses such models; a
  // config edit by name could touch the wrong one).
  std::set<std::string> repeated;
  if (model != nullptr) {
    std::vector<keras::LayerEntry> all;
    EDGEOPT_RETURN_IF_ERROR(keras::ListLayers(model->config, &all, /*include_models=*/true));
    std::set<std::string> seen;
    for (const keras::LayerEntry& e : all) {
      if (!seen.insert(e.name).second) repeated.insert(e.name);
    }
  }
  Plan plan;
  std::set<std::string> noted;  // a layer with several kernels (MultiHeadAttention) is noted once
  for (const prune::PrunableWeight& candidate : candidates) {
    const ir::Node* n = &graph.nodes[candidate.node];
    const std::string& name = candidate.layer;
    if (noted.count(name) > 0) continue;
    const bool listed = std::find(layers.begin(), layers.end(), name) != layers.end();
    if (std::find(skip.begin(), skip.end(), name) != skip.end()) {
      plan.notes.push_back(name + ": skipped (--skip)");
      continue;
    }
    if (!layers.empty() && !listed) {
      plan.notes.push_back(name + ": not in --layers");
      continue;
    }
    if (graph.tensors[candidate.tensor].frozen) {
      plan.notes.push_back(prune::FrozenNote(name, graph.tensors[candidate.tensor]));
      continue;
    }
    bool conv1d = false;
    if (repeated.count(name) > 0) {
      plan.notes.push_back(name + ": more than one layer has this name; left as it is");
      continue;
    }
    if (model != nullptr) {
      const Json* entry = keras::FindLayerJson(model->config, name);
      const std::string cls = entry != nullptr ? keras::LayerClass(*entry) : "";
      if (cls != "Dense" && !IsConv2DClass(cls) && !IsConv1DClass(cls)) {
        plan.notes.push_back(name + ": a " + (cls.empty() ? "layer" : cls) +
                             ", not a Dense, Conv2D or Conv1D; left as it is");
        noted.insert(name);
        continue;
      }
      conv1d = IsConv1DClass(cls);
      const Json* nodes = InboundNodes(*entry);
      if (nodes != nullptr && nodes->size() > 1) {
        plan.notes.push_back(name + ": called " + std::to_string(nodes->size()) +
                             " times (a shared layer); left as it is");
        continue;
      }
    }
    const ir::Tensor& w = graph.tensors[n->inputs[1]];
    const ir::Tensor& x = graph.tensors[n->inputs[0]];
    const ir::Tensor& y = graph.tensors[n->outputs[0]];
    LayerPlan lp;
    lp.layer = name;
    lp.op = n->op;
    lp.weight = n->inputs[1];
    lp.output_shape = y.shape;
    lp.conv1d = conv1d;
    if (n->op == "CONV_2D") {
      if (w.shape.size() != 4 || x.shape.empty() || x.shape.back() != w.shape[3] ||
          y.shape.size() != 4) {
        plan.notes.push_back(name + ": a grouped convolution; left as it is");
        continue;
      }
      lp.out = w.shape[0];
      lp.kh = w.shape[1];
      lp.kw = w.shape[2];
      lp.cin = w.shape[3];
      lp.in = int64_t{lp.kh} * lp.kw * lp.cin;
      lp.positions = int64_t{y.shape[1]} * y.shape[2];
    } else {
      if (w.shape.size() != 2 || y.shape.empty()) {
        plan.notes.push_back(name + ": unexpected kernel shape; left as it is");
        continue;
      }
      lp.out = w.shape[0];
      lp.in = w.shape[1];
      lp.positions = 1;
      for (size_t i = 1; i + 1 < y.shape.size(); ++i) lp.positions *= y.shape[i];
    }
    const float* data = w.DataAs<float>();
    const int64_t count = w.NumElements();
    if (std::any_of(data, data + count, [](float v) { return !std::isfinite(v); })) {
      plan.notes.push_back(name + ": NaN or infinite weights; left as it is");
      continue;
    }
    if (lp.out * lp.in < min_weights && !listed && layer_ranks.count(name) == 0) {
      plan.notes.push_back(name + ": " + std::to_string(lp.out * lp.in) +
                           " weights, fewer than --min-weights " + std::to_string(min_weights) +
                           "; left as it is");
      continue;
    }
    lp.break_even = BreakEvenRank(lp.out, lp.in);
    if (lp.break_even < 1) {
      plan.notes.push_back(name + ": " + std::to_string(lp.out) + "x" + std::to_string(lp.in) +
                           " kernel, too small to factorize; left as it is");
      continue;
    }
    // One-sided Jacobi costs about min^2 * max multiply-adds per sweep (a 1024 x 1024 kernel:
    // some 10 s here); far larger kernels are not for an edge model.
    const double small = static_cast<double>(std::min(lp.out, lp.in));
    const double large = static_cast<double>(std::max(lp.out, lp.in));
    if (small * small * large > kMaxSvdWork) {
      plan.notes.push_back(name + ": " + std::to_string(lp.out) + "x" + std::to_string(lp.in) +
                           " kernel, too large for the SVD here; left as it is");
      continue;
    }
    lp.svd = ComputeSvd(data, static_cast<int>(lp.out), static_cast<int>(lp.in));
    const auto it = layer_ranks.find(name);
    lp.rank = it != layer_ranks.end() ? std::min(it->second, lp.svd.k)
                                      : ChooseRank(lp.svd.s, lp.out, lp.in, rule);
    if (lp.rank > lp.break_even) {
      plan.notes.push_back(name + ": rank " + std::to_string(lp.rank) +
                           " would not make it smaller (" + std::to_string(lp.out) + "x" +
                           std::to_string(lp.in) + " kernel: below rank " +
                           std::to_string(lp.break_even + 1) + " only); left as it is");
      continue;
    }
    plan.layers.push_back(std::move(lp));
  }
  return plan;
}

StatusOr<std::vector<LayerReport>> FactorizeKerasModel(keras::KerasModel* model, const Plan& plan) {
  std::set<std::string> taken;
  {
    std::vector<keras::LayerEntry> all;
    EDGEOPT_RETURN_IF_ERROR(keras::ListLayers(model->config, &all, /*include_models=*/true));
    for (const keras::LayerEntry& e : all) taken.insert(e.name);
  }
  std::vector<LayerReport> reports;
  for (const LayerPlan& lp : plan.layers) {
    Json* layers = ParentLayers(&model->config, lp.layer);
    EDGEOPT_ENSURE(layers != nullptr, StatusCode::kNotFound, "layer '%s' is not in the model",
                   lp.layer.c_str());
    size_t index = 0;
    while (index < layers->size() && keras::LayerName((*layers)[index]) != lp.layer) ++index;
    Json& original = (*layers)[index];
    const bool conv = lp.op == "CONV_2D";

    std::string first_name = lp.layer + "_lowrank";
    for (int i = 1; taken.count(first_name) > 0; ++i) {
      first_name = lp.layer + "_lowrank_" + std::to_string(i);
    }
    taken.insert(first_name);

    const Factors f = Factorize(lp.svd, lp.rank);
    const int r = f.rank;
    // A Conv1D's output is [B, L, F] in Keras ([B, 1, L, F] in the graph).
    std::vector<int32_t> keras_output = lp.output_shape;
    if (lp.conv1d && keras_output.size() == 4) keras_output.erase(keras_output.begin() + 1);
    const Json first_output_shape = KerasShape(keras_output, r);

    // The first layer: the original's config and call with r units / filters, no bias, linear.
    Json first = original;
    SetName(&first, first_name);
    Json& fc = first["config"];
    fc[conv ? "filters" : "units"] = r;
    fc["use_bias"] = false;
    fc["activation"] = "linear";
    for (const char* key : {"bias_regularizer", "bias_constraint", "activity_regularizer"}) {
      if (fc.contains(key)) fc[key] = nullptr;
    }
    // The original: reads the first layer's output; a convolution becomes 1x1.
    Json& oc = original["config"];
    if (conv) {
      const Json one = lp.conv1d ? Json::array({1}) : Json::array({1, 1});
      oc["kernel_size"] = one;
      oc["strides"] = one;
      oc["padding"] = "valid";
      oc["dilation_rate"] = one;
    }
    for (const char* key : {"batch_input_shape", "batch_shape", "input_shape", "input_dim"}) {
      oc.erase(key);
    }
    if (original.contains("build_config") && original["build_config"].is_object()) {
      original["build_config"]["input_shape"] = first_output_shape;
    }
    EDGEOPT_RETURN_IF_ERROR(RewireInbound(&original, first_name, first_output_shape));

    // Weights, in Keras layouts: Dense [in, units], Conv2D [kh, kw, cin, filters], Conv1D [k,
    // cin, filters].
    std::vector<float> first_kernel(f.first.size()), second_kernel(f.second.size());
    for (int j = 0; j < r; ++j) {
      for (int64_t c = 0; c < lp.in; ++c) {
        // Dense: [in, r]; Conv2D: (h, w, ci) flattened = c, so [kh, kw, cin, r] is [in, r] too.
        first_kernel[static_cast<size_t>(c) * r + j] = f.first[static_cast<size_t>(j) * lp.in + c];
      }
    }
    for (int64_t o = 0; o < lp.out; ++o) {
      for (int j = 0; j < r; ++j) {
        second_kernel[static_cast<size_t>(j) * lp.out + o] =
            f.second[static_cast<size_t>(o) * r + j];
      }
    }
    // Conv1D: [k, cin, filters] (kh = 1).
    std::vector<int64_t> first_shape{lp.in, r}, second_shape{r, lp.out};
    if (conv && lp.conv1d) {
      first_shape = {lp.kw, lp.cin, r};
      second_shape = {1, r, lp.out};
    } else if (conv) {
      first_shape = {lp.kh, lp.kw, lp.cin, r};
      second_shape = {1, 1, r, lp.out};
    }
    auto lw = std::find_if(model->weights.begin(), model->weights.end(),
                           [&](const keras::LayerWeights& w) { return w.layer == lp.layer; });
    EDGEOPT_ENSURE(lw != model->weights.end(), StatusCode::kNotFound,
                   "layer '%s' has no weights in the model", lp.layer.c_str());
    bool replaced = false;
    for (auto& [var, array] : lw->vars) {
      if (var == "kernel") {
        array = MakeFloatArray(second_shape, second_kernel);
        replaced = true;
      }
    }
    EDGEOPT_ENSURE(replaced, StatusCode::kNotFound, "layer '%s' has no kernel", lp.layer.c_str());
    keras::LayerWeights new_weights;
    new_weights.layer = first_name;
    new_weights.vars.emplace_back("kernel", MakeFloatArray(first_shape, first_kernel));
    model->weights.insert(lw, std::move(new_weights));
    layers->insert(layers->begin() + static_cast<std::ptrdiff_t>(index), std::move(first));

    reports.push_back(Report(lp, f, first_name));
  }
  return reports;
}

StatusOr<std::vector<LayerReport>> FactorizeGraph(ir::Graph* graph, const Plan& plan) {
  std::vector<LayerReport> reports;
  for (const LayerPlan& lp : plan.layers) {
    size_t index = 0;
    while (index < graph->nodes.size() &&
           (graph->nodes[index].op != lp.op || graph->nodes[index].inputs.size() < 2 ||
            graph->nodes[index].inputs[1] != lp.weight)) {
      ++index;
    }
    EDGEOPT_ENSURE(index < graph->nodes.size(), StatusCode::kNotFound,
                   "layer '%s' is not in the graph", lp.layer.c_str());
    const bool conv = lp.op == "CONV_2D";
    const Factors f = Factorize(lp.svd, lp.rank);
    const int r = f.rank;
    const std::string base = graph->tensors[lp.weight].name;

    const std::vector<int32_t> first_shape =
        conv ? std::vector<int32_t>{r, lp.kh, lp.kw, lp.cin}
             : std::vector<int32_t>{r, static_cast<int32_t>(lp.in)};
    const int first_w =
        graph->AddFloatConstant(FreshTensorName(*graph, base + "_lowrank"), first_shape, f.first);
    const int first_b = graph->AddFloatConstant(FreshTensorName(*graph, base + "_lowrank_bias"),
                                                {r}, std::vector<float>(r, 0.0f));
    std::vector<int32_t> act_shape = lp.output_shape;
    act_shape.back() = r;
    const int act = graph->AddActivation(FreshTensorName(*graph, lp.layer + "_lowrank"),
                                         DType::kFloat32, act_shape);
    const std::vector<int32_t> second_shape =
        conv ? std::vector<int32_t>{static_cast<int32_t>(lp.out), 1, 1, r}
             : std::vector<int32_t>{static_cast<int32_t>(lp.out), r};
    const int second_w = graph->AddFloatConstant(FreshTensorName(*graph, base + "_lowrank_2"),
                                                 second_shape, f.second);

    ir::Node first = graph->nodes[index];
    first.name = first.name.empty() ? "" : first.name + "_lowrank";
    first.inputs = {first.inputs[0], first_w, first_b};
    first.outputs = {act};
    first.intermediates.clear();
    first.attrs["fused_activation_function"] = std::string("NONE");
    first.version = 0;
    ir::Node& second = graph->nodes[index];
    second.inputs[0] = act;
    second.inputs[1] = second_w;
    second.version = 0;
    if (conv) {
      second.attrs["stride_w"] = int64_t{1};
      second.attrs["stride_h"] = int64_t{1};
      second.attrs["dilation_w_factor"] = int64_t{1};
      second.attrs["dilation_h_factor"] = int64_t{1};
      second.attrs["padding"] = std::string("VALID");
    }
    graph->nodes.insert(graph->nodes.begin() + static_cast<std::ptrdiff_t>(index),
                        std::move(first));
    reports.push_back(Report(lp, f, graph->tensors[act].name));
  }
  graph->RemoveUnusedTensors();
  EDGEOPT_RETURN_IF_ERROR(graph->Validate());
  return reports;
}

StatusOr<std::vector<LayerSensitivity>> MeasureSensitivity(
    const ir::Graph& graph, const Plan& plan, const std::vector<double>& fractions, int multiple,
    const std::function<StatusOr<double>(const ir::Graph&)>& accuracy) {
  std::vector<LayerSensitivity> out;
  for (const LayerPlan& lp : plan.layers) {
    LayerSensitivity ls;
    ls.layer = lp.layer;
    ls.out = lp.out;
    ls.in = lp.in;
    for (double fraction : fractions) {
      RankRule rule;
      rule.kind = RankRule::Kind::kParams;
      rule.value = fraction;
      rule.multiple = multiple;
      Plan one;
      one.layers.push_back(lp);
      one.layers[0].rank = ChooseRank(lp.svd.s, lp.out, lp.in, rule);
      if (one.layers[0].rank > lp.break_even) continue;
      ir::Graph g = graph;
      EDGEOPT_RETURN_IF_ERROR(FactorizeGraph(&g, one).status());
      SensitivityPoint p;
      p.params = fraction;
      p.rank = one.layers[0].rank;
      p.weights = int64_t{p.rank} * (lp.out + lp.in);
      EDGEOPT_ASSIGN_OR_RETURN(p.accuracy, accuracy(g));
      ls.points.push_back(p);
    }
    out.push_back(std::move(ls));
  }
  return out;
}

}  // namespace lowrank
}  // namespace edgeopt
