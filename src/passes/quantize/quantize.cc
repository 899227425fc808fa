#include "src/passes/quantize/quantize.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <numeric>
#include <set>
#include <tuple>

#include "src/core/float16.h"
#include "src/quant/quant_math.h"

namespace edgeopt {
namespace quantize {
namespace {

enum class Kind {
  kWeighted,     // CONV_2D, DEPTHWISE_CONV_2D, FULLY_CONNECTED, TRANSPOSE_CONV
  kSameScale,    // inputs and outputs share one scale / zero point
  kFixedOutput,  // output parameters fixed by the spec
  kIndependent,  // output parameters from calibration
  kLstm,         // UNIDIRECTIONAL_SEQUENCE_LSTM: TFLite's integer LSTM (QuantizeLstm)
  kCompare,      // ordering comparisons: each input its own parameters, the output a bool
  kIndex,        // ARG_MAX / ARG_MIN: the input on its own parameters, the output an index
};

struct OpRule {
  const char* op;
  Kind kind;
  bool int16;  // TFLite has a 16x8 kernel
};

// The ops the int8 (and int16x8) modes quantize; everything else stays float.
constexpr OpRule kRules[] = {
    {"CONV_2D", Kind::kWeighted, true},
    {"DEPTHWISE_CONV_2D", Kind::kWeighted, true},
    {"FULLY_CONNECTED", Kind::kWeighted, true},
    {"TRANSPOSE_CONV", Kind::kWeighted, true},
    {"MAX_POOL_2D", Kind::kSameScale, true},
    {"AVERAGE_POOL_2D", Kind::kSameScale, true},
    {"RESHAPE", Kind::kSameScale, true},
    {"SQUEEZE", Kind::kSameScale, false},
    {"EXPAND_DIMS", Kind::kSameScale, false},
    {"TRANSPOSE", Kind::kSameScale, true},
    {"PAD", Kind::kSameScale, true},
    {"PADV2", Kind::kSameScale, false},
    {"STRIDED_SLICE", Kind::kSameScale, true},
    {"SLICE", Kind::kSameScale, false},
    {"SPLIT", Kind::kSameScale, false},
    {"SPLIT_V", Kind::kSameScale, false},
    {"TILE", Kind::kSameScale, false},  // int8 from TFLite 2.8
    {"GATHER", Kind::kSameScale, false},
    {"CONCATENATION", Kind::kSameScale, true},
    {"MAXIMUM", Kind::kSameScale, true},
    {"MINIMUM", Kind::kSameScale, true},
    {"SELECT_V2", Kind::kSameScale, true},   // input 0 is the bool condition
    {"REDUCE_MAX", Kind::kSameScale, true},  // GlobalMaxPooling
    {"RESIZE_NEAREST_NEIGHBOR", Kind::kSameScale, true},
    {"RESIZE_BILINEAR", Kind::kSameScale, true},
    {"DEPTH_TO_SPACE", Kind::kSameScale, false},
    {"SPACE_TO_DEPTH", Kind::kSameScale, false},
    {"SOFTMAX", Kind::kFixedOutput, true},
    {"LOGISTIC", Kind::kFixedOutput, true},
    {"TANH", Kind::kFixedOutput, true},
    {"LOG_SOFTMAX", Kind::kFixedOutput, false},
    {"L2_NORMALIZATION", Kind::kFixedOutput, false},  // int8 only in TFLite 2.9
    {"ADD", Kind::kIndependent, true},
    {"SUB", Kind::kIndependent, true},
    {"SQUARED_DIFFERENCE", Kind::kIndependent, false},  // the official LayerNormalization's
    {"MUL", Kind::kIndependent, true},
    {"BATCH_MATMUL", Kind::kIndependent, true},  // both inputs activations (attention)
    {"MEAN", Kind::kIndependent, true},
    {"SUM", Kind::kIndependent, false},
    {"RELU", Kind::kIndependent, true},
    {"RELU6", Kind::kIndependent, true},
    {"RELU_N1_TO_1", Kind::kIndependent, false},
    {"LEAKY_RELU", Kind::kIndependent, true},
    {"HARD_SWISH", Kind::kIndependent, false},
    {"PRELU", Kind::kIndependent, false},
    {"ELU", Kind::kIndependent, false},
    {"RSQRT", Kind::kIndependent, false},  // LayerNormalization's
    {"ABS", Kind::kIndependent, true},     // |q - zp| rescaled (int8 from TFLite 2.4, int16 2.5)
    // int8 only: TFLite 2.9 has no 16x8 LSTM kernel.
    {"UNIDIRECTIONAL_SEQUENCE_LSTM", Kind::kLstm, false},
    // TFLite compares int8 inputs after rescaling each (int8 only in TFLite 2.9). EQUAL and
    // NOT_EQUAL stay float: an equality of quantized values holds for all the values that round
    // alike (Masking(0.0) would mask every activation near 0).
    {"GREATER", Kind::kCompare, false},
    {"GREATER_EQUAL", Kind::kCompare, false},
    {"LESS", Kind::kCompare, false},
    {"LESS_EQUAL", Kind::kCompare, false},
    // The index of the extreme does not change with a monotonic quantization (but for values
    // that round alike: the first of them wins, as in TFLite's int8 kernel).
    {"ARG_MAX", Kind::kIndex, false},
    {"ARG_MIN", Kind::kIndex, false},
};

const OpRule* FindRule(const std::string& op) {
  for (const OpRule& r : kRules) {
    if (op == r.op) return &r;
  }
  return nullptr;
}

// Index of the weights / data / bias inputs of a weighted op.
struct WeightedLayout {
  int data;
  int weights;
  int bias;
  int channel_axis;  // per-channel axis of the weights
};
WeightedLayout LayoutOf(const std::string& op) {
  if (op == "TRANSPOSE_CONV") return {2, 1, 3, 0};
  if (op == "DEPTHWISE_CONV_2D") return {0, 1, 2, 3};
  return {0, 1, 2, 0};
}

// Inputs of an op that carry data (quantized with the op); the others are parameters (shapes,
// axes, paddings) and keep their integer type.
bool IsDataInput(const std::string& op, int index) {
  if (op == "SPLIT") return index == 1;
  if (op == "RESHAPE" || op == "PAD" || op == "PADV2" || op == "TRANSPOSE" || op == "EXPAND_DIMS" ||
      op == "MEAN" || op == "SUM" || op == "REDUCE_MAX" || op == "GATHER" ||
      op == "RESIZE_NEAREST_NEIGHBOR" || op == "RESIZE_BILINEAR" || op == "SPLIT_V" ||
      op == "TILE") {
    return index == 0 || (op == "PADV2" && index == 2);
  }
  if (op == "STRIDED_SLICE" || op == "SLICE" || op == "ARG_MAX" || op == "ARG_MIN") {
    return index == 0;
  }
  if (op == "SELECT_V2") return index != 0;
  if (op == "TRANSPOSE_CONV") return index != 0;                // input 0 is the output shape
  if (op == "UNIDIRECTIONAL_SEQUENCE_LSTM") return index == 0;  // the rest: QuantizeLstm
  return true;
}

struct UnionFind {
  std::vector<int> parent;
  explicit UnionFind(int n) : parent(n) { std::iota(parent.begin(), parent.end(), 0); }
  int Find(int x) {
    while (parent[x] != x) x = parent[x] = parent[parent[x]];
    return x;
  }
  void Union(int a, int b) { parent[Find(a)] = Find(b); }
};

struct Params {
  float scale = 0.0f;
  int32_t zero_point = 0;
  bool fixed = false;  // set by the spec (softmax, ...), not by calibration
};

bool FloatTensor(const ir::Tensor& t) { return t.dtype == DType::kFloat32; }

void SetQuant(ir::Tensor* t, DType type, float scale, int64_t zero_point) {
  t->dtype = type;
  t->quant.scale = {scale};
  t->quant.zero_point = {zero_point};
  t->quant.axis = 0;
}

std::vector<float> FloatValues(const ir::Tensor& t) {
  std::vector<float> v(static_cast<size_t>(t.NumElements()));
  if (!v.empty()) std::memcpy(v.data(), t.data.data(), v.size() * sizeof(float));
  return v;
}

template <typename T>
void SetData(ir::Tensor* t, const std::vector<T>& values) {
  t->data.resize(values.size() * sizeof(T));
  if (!values.empty()) std::memcpy(t->data.data(), values.data(), t->data.size());
}

// A comparison's other operand than `t` (the computed one when `t` is its constant), or -1:
// of the original node (the one being emitted may read converted tensors, ids past in_'s).
int CompareOperand(const ir::Node& node, int t) {
  for (int u : node.inputs) {
    if (u >= 0 && u != t) return u;
  }
  return -1;
}

class Quantizer {
 public:
  Quantizer(const ir::Graph& g, const QuantizeOptions& o, const RangeMap& r)
      : in_(g), options_(o), ranges_(r) {}

  StatusOr<ir::Graph> Run();
  const std::vector<int>& remap() const { return remap_; }

 private:
  // What ConvertedTensor makes of a tensor.
  enum class Target { kFloat, kInt8, kInt16 };

  bool Matches(const ir::Node& node, const std::set<std::string>& names) const;
  bool Quantizable(const ir::Node& node) const;
  void BuildGroups();
  void MarkWide();
  Status ComputeParams();
  StatusOr<Params> ParamsOf(int tensor);
  StatusOr<Params> ParamsAt(int tensor, bool wide);
  int ConvertedTensor(int tensor, Target target, std::vector<ir::Node>* pending);
  int CachedInt8Weights(int weights, int axis, int quantized_dimension);
  Status QuantizeWeighted(ir::Node* node, bool wide);
  Status QuantizeConstantInput(ir::Node* node, int index, const Params& params, bool wide);
  Status QuantizeLstm(ir::Node* node);
  Status FinishIo();

  DType ActType() const { return options_.mode == Mode::kInt16x8 ? DType::kInt16 : DType::kInt8; }
  // Whether tensor `t` (an original id) holds int16 values after the pass.
  bool Wide(int t) const { return wide_group_[group_[t]] != 0; }
  // Whether quantized node `i` computes in int16 (its outputs' group is int16).
  bool NodeWide(size_t i) const {
    const ir::Node& node = in_.nodes[i];
    return !node.outputs.empty() && node.outputs[0] >= 0 && Wide(node.outputs[0]);
  }

  const ir::Graph& in_;
  const QuantizeOptions& options_;
  const RangeMap& ranges_;
  ir::Graph out_;
  std::vector<uint8_t> node_q_;         // per node: runs quantized
  std::vector<uint8_t> int_domain_;     // per original tensor: holds integers after the pass
  std::vector<int> group_;              // union-find representative per tensor
  std::vector<uint8_t> wide_group_;     // per group representative: int16 activations
  std::map<int, Params> group_params_;  // at the group's own precision
  std::map<int, Range> group_range_;    // from the int8 ranges
  std::map<int, Range> group_range16_;  // from the int16 ranges (QuantizeOptions::int16_ranges)
  std::map<int, std::string> group_fixed_op_;        // groups whose parameters the spec fixes
  std::map<std::pair<int, Target>, int> converted_;  // (tensor, target) -> its copy
  // (float weights, quantization axis) -> the int8 weights: one copy for every op that shares them
  // (an unrolled GRU's recurrent kernel serves every step).
  std::map<std::pair<int, int>, int> quantized_weights_;
  // (float bias, its int8 weights, input scale bits, int64) -> the quantized bias, likewise.
  std::map<std::tuple<int, int, uint32_t, bool>, int> quantized_biases_;
  std::vector<int> remap_;
};

bool Quantizer::Matches(const ir::Node& node, const std::set<std::string>& names) const {
  if (names.count(node.name)) return true;
  for (int t : node.outputs) {
    if (t >= 0 && names.count(in_.tensors[t].name)) return true;
  }
  return false;
}

bool Quantizer::Quantizable(const ir::Node& node) const {
  const OpRule* rule = FindRule(node.op);
  if (rule == nullptr || Matches(node, options_.keep_float)) return false;
  if (options_.mode == Mode::kInt16x8 && !rule->int16) return false;
  if (rule->kind == Kind::kLstm) {
    // The cell state's range comes from Calibrate, which observes the same candidates.
    return IntegerLstmCandidate(in_, node) && ranges_.count(node.inputs[0]) &&
           ranges_.count(node.outputs[0]) && ranges_.count(node.inputs[kLstmCellState]);
  }
  bool has_float_data = false;
  for (size_t i = 0; i < node.inputs.size(); ++i) {
    const int t = node.inputs[i];
    if (t < 0 || !IsDataInput(node.op, static_cast<int>(i))) continue;
    const ir::Tensor& tensor = in_.tensors[t];
    if (!FloatTensor(tensor)) return false;
    if (rule->kind == Kind::kWeighted && static_cast<int>(i) != LayoutOf(node.op).data) {
      if (!tensor.is_constant) return false;  // weights computed at run time: keep float
      continue;
    }
    if (!tensor.is_constant) {
      if (!ranges_.count(t)) return false;
      has_float_data = true;
    }
  }
  for (int t : node.outputs) {
    if (rule->kind == Kind::kCompare) {
      if (t < 0 || in_.tensors[t].dtype != DType::kBool) return false;
      continue;
    }
    if (rule->kind == Kind::kIndex) {
      if (t < 0 ||
          (in_.tensors[t].dtype != DType::kInt32 && in_.tensors[t].dtype != DType::kInt64)) {
        return false;
      }
      continue;
    }
    if (t < 0 || !FloatTensor(in_.tensors[t])) return false;
    if (rule->kind != Kind::kFixedOutput && !ranges_.count(t)) return false;
  }
  // A GATHER from a constant table (Keras Embedding) reads no float activation, but its table
  // is worth quantizing: int8 rows sharing the output's scale.
  const bool gather_table = node.op == "GATHER" && !node.inputs.empty() && node.inputs[0] >= 0 &&
                            in_.tensors[node.inputs[0]].is_constant;
  return has_float_data || gather_table;
}

// Tensors that must share one scale / zero point: the data inputs and outputs of each quantized
// same-scale op.
void Quantizer::BuildGroups() {
  const int n = static_cast<int>(in_.tensors.size());
  UnionFind uf(n);
  JoinSharedParams(
      in_, [&](size_t i) { return node_q_[i] != 0; }, [&](int a, int b) { uf.Union(a, b); });
  group_.resize(n);
  for (int t = 0; t < n; ++t) group_[t] = uf.Find(t);
}

// Which groups hold int16: all of them in int16x8 mode; in int8 mode the outputs of the nodes
// kept in int16, with every tensor they share parameters with. A quantized node whose outputs
// land in an int16 group but that has no 16x8 kernel stays float, and the groups are rebuilt
// without it.
void Quantizer::MarkWide() {
  const int n = static_cast<int>(in_.tensors.size());
  for (;;) {
    BuildGroups();
    wide_group_.assign(n, options_.mode == Mode::kInt16x8 ? 1 : 0);
    // An integer LSTM's output needs zero point 0 (ComputeParams): one that shares its
    // parameters with a spec-fixed output (a LOGISTIC's, zero point -128) stays float.
    std::set<int> fixed_groups;
    for (size_t i = 0; i < in_.nodes.size(); ++i) {
      if (node_q_[i] && FindRule(in_.nodes[i].op)->kind == Kind::kFixedOutput) {
        fixed_groups.insert(group_[in_.nodes[i].outputs[0]]);
      }
    }
    bool demoted = false;
    for (size_t i = 0; i < in_.nodes.size(); ++i) {
      if (node_q_[i] && FindRule(in_.nodes[i].op)->kind == Kind::kLstm &&
          fixed_groups.count(group_[in_.nodes[i].outputs[0]])) {
        node_q_[i] = 0;
        demoted = true;
      }
    }
    if (demoted) continue;
    if (options_.mode != Mode::kInt8 || options_.keep_int16.empty()) return;
    for (size_t i = 0; i < in_.nodes.size(); ++i) {
      const ir::Node& node = in_.nodes[i];
      if (!node_q_[i] || !FindRule(node.op)->int16 || !Matches(node, options_.keep_int16)) {
        continue;
      }
      for (int t : node.outputs) {
        if (t >= 0) wide_group_[group_[t]] = 1;
      }
    }
    bool changed = false;
    for (size_t i = 0; i < in_.nodes.size(); ++i) {
      if (node_q_[i] && NodeWide(i) && !FindRule(in_.nodes[i].op)->int16) {
        node_q_[i] = 0;
        changed = true;
      }
    }
    if (!changed) return;
  }
}

Params ParamsFromRange(const Range& r, bool wide) {
  Params p;
  if (wide) {
    const float abs_max = std::max(std::abs(r.min), std::abs(r.max));
    const quant::QuantParams q = quant::ChooseSymmetricQuantParams(abs_max, 32767);
    p.scale = q.scale;
    p.zero_point = 0;
  } else {
    const quant::QuantParams q = quant::ChooseQuantParams(r.min, r.max, -128, 127);
    p.scale = q.scale;
    p.zero_point = q.zero_point;
  }
  return p;
}

Params FixedParams(const std::string& op, bool wide) {
  Params p;
  p.fixed = true;
  if (wide) {
    p.scale = 1.0f / 32768.0f;
    p.zero_point = 0;
  } else {
    FixedOutputParamsInt8(op, &p.scale, &p.zero_point);
  }
  return p;
}

Status Quantizer::ComputeParams() {
  const int n = static_cast<int>(in_.tensors.size());
  // Group ranges: the union of the members' ranges (int8 and int16 calibrations); fixed
  // parameters win.
  const RangeMap& ranges16 = options_.int16_ranges != nullptr ? *options_.int16_ranges : ranges_;
  // Attention masks (IsMaskNode): the masked output's calibrated range (down to -1e9) and the
  // mask's values stay out of the group's range; the group's minimum is lowered instead.
  const MaskGroups masks = FindMasks(
      in_, [&](size_t i) { return node_q_[i] != 0; }, [&](int t) { return group_[t]; });
  for (int pass = 0; pass < 2; ++pass) {
    const RangeMap& ranges = pass == 0 ? ranges_ : ranges16;
    std::map<int, Range>& group_range = pass == 0 ? group_range_ : group_range16_;
    for (int t = 0; t < n; ++t) {
      const ir::Tensor& tensor = in_.tensors[t];
      Range r;
      bool have = false;
      auto it = ranges.find(t);
      if (masks.outputs.count(t) || IsMaskConstant(tensor)) {
        continue;
      } else if (it != ranges.end()) {
        r = it->second;
        have = true;
      } else if (tensor.is_constant && FloatTensor(tensor) && tensor.NumElements() > 0) {
        const std::vector<float> v = FloatValues(tensor);
        r.min = *std::min_element(v.begin(), v.end());
        r.max = *std::max_element(v.begin(), v.end());
        have = true;
      }
      if (!have) continue;
      auto g = group_range.find(group_[t]);
      if (g == group_range.end()) {
        group_range[group_[t]] = r;
      } else {
        g->second.min = std::min(g->second.min, r.min);
        g->second.max = std::max(g->second.max, r.max);
      }
    }
  }
  for (size_t i = 0; i < in_.nodes.size(); ++i) {
    if (!node_q_[i]) continue;
    const ir::Node& node = in_.nodes[i];
    if (FindRule(node.op)->kind != Kind::kFixedOutput) continue;
    const int g = group_[node.outputs[0]];
    group_fixed_op_[g] = node.op;
    group_params_[g] = FixedParams(node.op, wide_group_[g] != 0);
  }
  for (const auto& [g, keys] : masks.keys) {
    const float depth = MaskDepth(keys, wide_group_[g] != 0);
    for (std::map<int, Range>* group_range : {&group_range_, &group_range16_}) {
      auto it = group_range->find(g);
      if (it != group_range->end()) it->second.min -= depth;
    }
  }
  for (const auto& [g, r] : group_range_) {
    if (group_params_.count(g)) continue;
    const bool wide = wide_group_[g] != 0;
    auto r16 = group_range16_.find(g);
    group_params_[g] = ParamsFromRange(wide && r16 != group_range16_.end() ? r16->second : r, wide);
  }
  // A tensor that was 0 throughout calibration has scale 1 (as the official converter gives it).
  // Into an int16 ADD / SUB, that scale can be 2^14 times the output's, a ratio TFLite's
  // general int16 path cannot rescale (it aborts preparing the model). Such a group takes the
  // output's parameters, which hold its zeros just as well.
  for (size_t i = 0; i < in_.nodes.size(); ++i) {
    const ir::Node& node = in_.nodes[i];
    if (!node_q_[i] || !NodeWide(i) || (node.op != "ADD" && node.op != "SUB")) continue;
    auto out = group_params_.find(group_[node.outputs[0]]);
    if (out == group_params_.end()) continue;
    for (int k = 0; k < 2 && k < static_cast<int>(node.inputs.size()); ++k) {
      const int t = node.inputs[k];
      if (t < 0 || in_.tensors[t].is_constant) continue;
      const int g = group_[t];
      auto r = group_range16_.find(g);
      if (r == group_range16_.end() || group_fixed_op_.count(g) || wide_group_[g] == 0) continue;
      if (r->second.min == 0.0f && r->second.max == 0.0f) group_params_[g] = out->second;
    }
  }
  for (size_t i = 0; i < in_.nodes.size(); ++i) {
    if (!node_q_[i] || FindRule(in_.nodes[i].op)->kind != Kind::kLstm) continue;
    const ir::Node& node = in_.nodes[i];
    // TFLite's integer LSTM writes the hidden state as h / scale - zero_point (where it should
    // add the zero point), which is only right for zero point 0: the output, its hidden state
    // and the tensors sharing their parameters are symmetric, as the official converter's.
    const int g = group_[node.outputs[0]];
    const Range& r = group_range_.at(g);
    Params p;
    p.scale =
        quant::ChooseSymmetricQuantParams(std::max(std::abs(r.min), std::abs(r.max)), 127).scale;
    group_params_[g] = p;
    // The cell state: int16, symmetric, scale 2^k / 32768 with 2^k the smallest power of two
    // that holds the calibrated range (the kernel shifts by k); TFLite 2.9 takes k in [0, 6].
    const int c = group_[node.inputs[kLstmCellState]];
    const Range& cr = group_range_.at(c);
    const float abs_max = std::max(std::abs(cr.min), std::abs(cr.max));
    int k = 0;
    while (k < 6 && std::ldexp(1.0f, k) < abs_max) ++k;
    Params cp;
    cp.scale = std::ldexp(1.0f, k - 15);
    group_params_[c] = cp;
  }
  return Status::Ok();
}

StatusOr<Params> Quantizer::ParamsOf(int tensor) {
  auto it = group_params_.find(group_[tensor]);
  if (it == group_params_.end()) {
    return MakeStatus(StatusCode::kInvalidArgument,
                      "tensor %d (%s) has no calibrated range; give more calibration samples or "
                      "keep its layer in float",
                      tensor, in_.tensors[tensor].name.c_str());
  }
  return it->second;
}

// The parameters tensor `tensor` takes at int16 (wide) or int8: its group's own, or, at the
// other precision, the spec's fixed ones or those of the group's range.
StatusOr<Params> Quantizer::ParamsAt(int tensor, bool wide) {
  const int g = group_[tensor];
  if ((wide_group_[g] != 0) == wide) return ParamsOf(tensor);
  auto fixed = group_fixed_op_.find(g);
  if (fixed != group_fixed_op_.end()) return FixedParams(fixed->second, wide);
  const std::map<int, Range>& group_range = wide ? group_range16_ : group_range_;
  auto r = group_range.find(g);
  if (r == group_range.end()) return ParamsOf(tensor);  // the error message
  return ParamsFromRange(r->second, wide);
}

// A float, int8 or int16 copy of an activation tensor (an original id), created once and placed
// before the node being emitted: DEQUANTIZE to float; QUANTIZE from float, or int16 -> int8;
// int8 -> int16 through float, as TFLite's QUANTIZE does not requantize int8 to int16.
int Quantizer::ConvertedTensor(int tensor, Target target, std::vector<ir::Node>* pending) {
  auto it = converted_.find({tensor, target});
  if (it != converted_.end()) return it->second;
  int source = tensor;
  if (target == Target::kInt16 && int_domain_[tensor] && !Wide(tensor)) {
    source = ConvertedTensor(tensor, Target::kFloat, pending);
  }
  ir::Tensor copy = out_.tensors[tensor];
  copy.origin.clear();
  if (target == Target::kFloat) {
    copy.name += "_dequantized";
    copy.dtype = DType::kFloat32;
    copy.quant = ir::QuantInfo();
  } else {
    const bool wide = target == Target::kInt16;
    copy.name += !int_domain_[tensor] ? "_quantized" : (wide ? "_int16" : "_int8");
    auto p = ParamsAt(tensor, wide);
    SetQuant(&copy, wide ? DType::kInt16 : DType::kInt8, p.ok() ? p->scale : 1.0f,
             p.ok() ? p->zero_point : 0);
  }
  const int id = out_.AddTensor(std::move(copy));
  ir::Node node;
  node.op = target == Target::kFloat ? "DEQUANTIZE" : "QUANTIZE";
  node.name = out_.tensors[tensor].name;
  node.inputs = {source};
  node.outputs = {id};
  pending->push_back(std::move(node));
  converted_[{tensor, target}] = id;
  return id;
}

void QuantizeSymmetricImpl(const float* w, const std::vector<int32_t>& shape, int axis,
                           int32_t qmax, std::vector<int8_t>* q, std::vector<float>* scales) {
  int64_t total = 1;
  for (int32_t d : shape) total *= d;
  const int rank = static_cast<int>(shape.size());
  const int64_t channels = axis >= 0 && axis < rank ? shape[axis] : 1;
  int64_t inner = 1;
  if (axis >= 0 && axis < rank) {
    for (int d = axis + 1; d < rank; ++d) inner *= shape[d];
  } else {
    inner = total;
  }
  std::vector<float> abs_max(static_cast<size_t>(channels), 0.0f);
  for (int64_t i = 0; i < total; ++i) {
    const int64_t c = (i / inner) % channels;
    abs_max[c] = std::max(abs_max[c], std::abs(w[i]));
  }
  scales->assign(static_cast<size_t>(channels), 1.0f);
  for (int64_t c = 0; c < channels; ++c) {
    if (abs_max[c] > 0.0f) (*scales)[c] = abs_max[c] / static_cast<float>(qmax);
  }
  q->resize(static_cast<size_t>(total));
  for (int64_t i = 0; i < total; ++i) {
    const int64_t c = (i / inner) % channels;
    const float v = std::round(w[i] / (*scales)[c]);
    (*q)[i] = static_cast<int8_t>(std::min<float>(qmax, std::max<float>(-qmax, v)));
  }
}

// Symmetric int8 weights (zero points 0) of a float constant, per channel along `axis` (or per
// tensor: -1); `quantized_dimension` is what the file records.
ir::Tensor Int8Weights(const ir::Tensor& w, int axis, int quantized_dimension) {
  std::vector<int8_t> q;
  std::vector<float> scales;
  QuantizeSymmetricImpl(w.DataAs<float>(), w.shape, axis, 127, &q, &scales);
  ir::Tensor wq = w;
  wq.dtype = DType::kInt8;
  SetData(&wq, q);
  wq.quant = ir::QuantInfo();
  wq.quant.scale = scales;
  wq.quant.zero_point.assign(scales.size(), 0);
  wq.quant.axis = quantized_dimension;
  return wq;
}

// int32 bias values: round(b / scale), with scale[i % scales.size()], saturated.
std::vector<int32_t> Int32Bias(const std::vector<float>& b, const std::vector<float>& scales) {
  std::vector<int32_t> v(b.size());
  for (size_t i = 0; i < b.size(); ++i) {
    const double x = std::round(b[i] / static_cast<double>(scales[i % scales.size()]));
    v[i] = static_cast<int32_t>(
        std::min<double>(std::numeric_limits<int32_t>::max(), std::max<double>(-2147483647.0, x)));
  }
  return v;
}

// The int8 copy of float weights `weights` (per channel along `axis`, or per tensor: -1), made
// once for every op that reads them.
int Quantizer::CachedInt8Weights(int weights, int axis, int quantized_dimension) {
  auto cached = quantized_weights_.find({weights, axis});
  if (cached == quantized_weights_.end()) {
    const int id = out_.AddTensor(Int8Weights(in_.tensors[weights], axis, quantized_dimension));
    cached = quantized_weights_.emplace(std::make_pair(weights, axis), id).first;
  }
  return cached->second;
}

Status Quantizer::QuantizeWeighted(ir::Node* node, bool wide) {
  const WeightedLayout layout = LayoutOf(node->op);
  const int data = node->inputs[layout.data];
  const int weights = node->inputs[layout.weights];
  EDGEOPT_ASSIGN_OR_RETURN(Params in_params, ParamsAt(data, wide));
  const ir::Tensor& wf = in_.tensors[weights];
  EDGEOPT_ENSURE(wf.is_constant && FloatTensor(wf), StatusCode::kInternal,
                 "node %s: weights must be a float constant", node->name.c_str());
  const int axis = WeightQuantAxis(node->op, options_);
  const int wq = CachedInt8Weights(weights, axis, axis >= 0 ? layout.channel_axis : 0);
  node->inputs[layout.weights] = wq;
  const std::vector<float> scales = out_.tensors[wq].quant.scale;

  const int bias =
      layout.bias < static_cast<int>(node->inputs.size()) ? node->inputs[layout.bias] : -1;
  uint32_t in_scale_bits;
  std::memcpy(&in_scale_bits, &in_params.scale, sizeof(in_scale_bits));
  const auto bias_key = std::make_tuple(bias, wq, in_scale_bits, wide);
  auto bias_cached = bias >= 0 ? quantized_biases_.find(bias_key) : quantized_biases_.end();
  if (bias_cached != quantized_biases_.end()) {
    node->inputs[layout.bias] = bias_cached->second;
  } else if (bias >= 0) {
    const ir::Tensor& bf = in_.tensors[bias];
    EDGEOPT_ENSURE(bf.is_constant && FloatTensor(bf), StatusCode::kUnsupported,
                   "node %s: the bias must be a float constant", node->name.c_str());
    const std::vector<float> b = FloatValues(bf);
    ir::Tensor bq = bf;
    bq.quant = ir::QuantInfo();
    bq.quant.zero_point.assign(scales.size(), 0);
    bq.quant.axis = 0;
    for (float s : scales) bq.quant.scale.push_back(in_params.scale * s);
    const int64_t channels = static_cast<int64_t>(scales.size());
    if (wide) {
      std::vector<int64_t> v(b.size());
      for (size_t i = 0; i < b.size(); ++i) {
        v[i] = static_cast<int64_t>(
            std::llround(b[i] / static_cast<double>(bq.quant.scale[i % channels])));
      }
      bq.dtype = DType::kInt64;
      SetData(&bq, v);
    } else {
      bq.dtype = DType::kInt32;
      SetData(&bq, Int32Bias(b, bq.quant.scale));
    }
    node->inputs[layout.bias] = out_.AddTensor(std::move(bq));
    quantized_biases_.emplace(bias_key, node->inputs[layout.bias]);
  }
  if (node->op == "FULLY_CONNECTED") node->attrs.erase("asymmetric_quantize_inputs");
  return Status::Ok();
}

// TFLite's integer LSTM ("8x8_16", what the official converter makes of a Keras LSTM): int8
// input, output and hidden state (zero point 0, ComputeParams), per-tensor symmetric int8 gate
// weights, int32 gate biases with scale input scale * input-to-gate weight scale, an int16 cell
// state with a power-of-two scale, and five intermediates: the four gates' (float and empty:
// without layer norm the kernel computes the gates in Q3.12) and the hidden state's parameters.
// `node` still has the float graph's tensor ids.
Status Quantizer::QuantizeLstm(ir::Node* node) {
  EDGEOPT_ASSIGN_OR_RETURN(Params in, ParamsAt(node->inputs[0], false));
  EDGEOPT_ASSIGN_OR_RETURN(Params out, ParamsOf(node->outputs[0]));
  EDGEOPT_ASSIGN_OR_RETURN(Params cell, ParamsOf(node->inputs[kLstmCellState]));
  for (int g = 0; g < 4; ++g) {
    int& in_w = node->inputs[1 + g];
    int& rec_w = node->inputs[5 + g];
    int& bias = node->inputs[12 + g];
    in_w = CachedInt8Weights(in_w, -1, 0);
    rec_w = CachedInt8Weights(rec_w, -1, 0);
    ir::Tensor bq = in_.tensors[bias];
    SetQuant(&bq, DType::kInt32, in.scale * out_.tensors[in_w].quant.scale[0], 0);
    SetData(&bq, Int32Bias(FloatValues(in_.tensors[bias]), bq.quant.scale));
    bias = out_.AddTensor(std::move(bq));
  }
  // A copy: AddTensor below may move the tensors.
  const std::string output_name = out_.tensors[node->outputs[0]].name;
  SetQuant(&out_.tensors[node->inputs[kLstmOutputState]], DType::kInt8, out.scale, 0);
  SetQuant(&out_.tensors[node->inputs[kLstmCellState]], DType::kInt16, cell.scale, 0);
  static const char* const kIntermediates[5] = {
      "input_to_input_intermediate", "input_to_forget_intermediate", "input_to_cell_intermediate",
      "input_to_output_intermediate", "effective_hidden_scale_intermediate"};
  node->intermediates.clear();
  for (int k = 0; k < 5; ++k) {
    ir::Tensor t;
    t.name = output_name + "/" + kIntermediates[k];
    t.shape = {0};
    if (k == 4) SetQuant(&t, DType::kInt8, out.scale, 0);
    node->intermediates.push_back(out_.AddTensor(std::move(t)));
  }
  node->attrs["asymmetric_quantize_inputs"] = false;
  return Status::Ok();
}

// A float constant read by a quantized op (ADD/MUL operands, CONCATENATION parts, PRELU alpha):
// quantized per-tensor with the parameters of its group (or of its own range).
Status Quantizer::QuantizeConstantInput(ir::Node* node, int index, const Params& params,
                                        bool wide) {
  const ir::Tensor& cf = in_.tensors[node->inputs[index]];
  const std::vector<float> v = FloatValues(cf);
  ir::Tensor cq = cf;
  cq.quant = ir::QuantInfo();
  if (wide) {
    std::vector<int16_t> q(v.size());
    for (size_t i = 0; i < v.size(); ++i) {
      q[i] = static_cast<int16_t>(
          quant::QuantizeValue(v[i], params.scale, params.zero_point, -32768, 32767));
    }
    SetQuant(&cq, DType::kInt16, params.scale, params.zero_point);
    SetData(&cq, q);
  } else {
    std::vector<int8_t> q(v.size());
    for (size_t i = 0; i < v.size(); ++i) {
      q[i] = static_cast<int8_t>(
          quant::QuantizeValue(v[i], params.scale, params.zero_point, -128, 127));
    }
    SetQuant(&cq, DType::kInt8, params.scale, params.zero_point);
    SetData(&cq, q);
  }
  node->inputs[index] = out_.AddTensor(std::move(cq));
  return Status::Ok();
}

StatusOr<ir::Graph> Quantizer::Run() {
  out_ = in_;
  out_.nodes.clear();
  const int n = static_cast<int>(in_.tensors.size());
  node_q_.assign(in_.nodes.size(), 0);
  const std::vector<uint8_t> prefix = FloatPrefix(in_);
  for (size_t i = 0; i < in_.nodes.size(); ++i) {
    node_q_[i] = !prefix[i] && Quantizable(in_.nodes[i]) ? 1 : 0;
  }
  MarkWide();
  EDGEOPT_RETURN_IF_ERROR(ComputeParams());
  // TFLite's int8 comparisons rescale each operand with a multiplier below 1 (it aborts on a
  // scale of 1 or more): such a comparison stays float.
  for (size_t i = 0; i < in_.nodes.size(); ++i) {
    if (!node_q_[i] || FindRule(in_.nodes[i].op)->kind != Kind::kCompare) continue;
    for (int t : in_.nodes[i].inputs) {
      if (t < 0 || in_.tensors[t].is_constant) continue;
      auto p = group_params_.find(group_[t]);
      if (p == group_params_.end() || !(p->second.scale < 1.0f)) node_q_[i] = 0;
    }
  }

  int_domain_.assign(n, 0);
  for (size_t i = 0; i < in_.nodes.size(); ++i) {
    if (!node_q_[i]) continue;
    for (int t : in_.nodes[i].outputs) {
      if (t >= 0 && FloatTensor(in_.tensors[t])) int_domain_[t] = 1;  // not a comparison's bool
    }
  }
  if (options_.io != IoType::kFloat) {
    // Only inputs that quantized ops read become integer: an input only float ops read (the
    // token ids an Embedding casts to int32) keeps its values.
    std::vector<uint8_t> read_quantized(n, 0);
    for (size_t i = 0; i < in_.nodes.size(); ++i) {
      if (!node_q_[i]) continue;
      const ir::Node& node = in_.nodes[i];
      for (size_t k = 0; k < node.inputs.size(); ++k) {
        const int t = node.inputs[k];
        if (t >= 0 && IsDataInput(node.op, static_cast<int>(k))) read_quantized[t] = 1;
      }
    }
    for (int t : in_.inputs) {
      if (!FloatTensor(in_.tensors[t]) || !group_params_.count(group_[t]) || !read_quantized[t]) {
        continue;
      }
      EDGEOPT_ENSURE(Wide(t) == (options_.mode == Mode::kInt16x8), StatusCode::kInvalidArgument,
                     "the model input '%s' shares its parameters with a layer kept in int16, "
                     "so it cannot be %s; use --io float or keep that layer in int8",
                     in_.tensors[t].name.c_str(), options_.io == IoType::kUInt8 ? "uint8" : "int8");
      int_domain_[t] = 1;
    }
  }
  // Retype the integer-domain activations.
  for (int t = 0; t < n; ++t) {
    if (!int_domain_[t]) continue;
    EDGEOPT_ASSIGN_OR_RETURN(Params p, ParamsOf(t));
    ir::Tensor& tensor = out_.tensors[t];
    SetQuant(&tensor, Wide(t) ? DType::kInt16 : DType::kInt8, p.scale, p.zero_point);
    tensor.quant.min.clear();
    tensor.quant.max.clear();
  }

  std::vector<ir::Node> pending;
  for (size_t i = 0; i < in_.nodes.size(); ++i) {
    ir::Node node = in_.nodes[i];
    pending.clear();
    if (node_q_[i]) {
      const OpRule* rule = FindRule(node.op);
      const bool wide = NodeWide(i);
      if (rule->kind == Kind::kWeighted) {
        EDGEOPT_RETURN_IF_ERROR(QuantizeWeighted(&node, wide));
      }
      if (rule->kind == Kind::kLstm) EDGEOPT_RETURN_IF_ERROR(QuantizeLstm(&node));
      // int16 ADD / SUB take TFLite's general rescaling path, as the official quantizer sets:
      // the power-of-two path (the option's default) needs every scale a power of two with
      // at most one input finer than the output, which a calibrated range cannot promise (a
      // tensor that was 0 throughout calibration has scale 1).
      if (wide && (node.op == "ADD" || node.op == "SUB")) node.attrs["pot_scale_int16"] = false;
      const int data_index = rule->kind == Kind::kWeighted ? LayoutOf(node.op).data : -1;
      for (size_t k = 0; k < node.inputs.size(); ++k) {
        const int t = node.inputs[k];
        if (t < 0 || t >= n || !IsDataInput(node.op, static_cast<int>(k))) continue;
        if (rule->kind == Kind::kWeighted && static_cast<int>(k) != data_index) continue;
        const ir::Tensor& tensor = in_.tensors[t];
        if (!FloatTensor(tensor)) continue;
        if (tensor.is_constant) {
          Params p;
          const int other = rule->kind == Kind::kCompare ? CompareOperand(in_.nodes[i], t) : -1;
          if (other >= 0) {
            // A comparison's constant takes the other operand's parameters: the values agree on
            // one grid (0 exactly at the zero point), and the scale stays below 1, which
            // TFLite's int8 comparisons require.
            EDGEOPT_ASSIGN_OR_RETURN(p, ParamsAt(other, wide));
          } else if (group_params_.count(group_[t])) {
            EDGEOPT_ASSIGN_OR_RETURN(p, ParamsAt(t, wide));
          } else {
            const std::vector<float> v = FloatValues(tensor);
            Range r;
            r.min = v.empty() ? 0.0f : *std::min_element(v.begin(), v.end());
            r.max = v.empty() ? 0.0f : *std::max_element(v.begin(), v.end());
            p = ParamsFromRange(r, wide);
          }
          EDGEOPT_RETURN_IF_ERROR(QuantizeConstantInput(&node, static_cast<int>(k), p, wide));
        } else if (!int_domain_[t] || Wide(t) != wide) {
          node.inputs[k] = ConvertedTensor(t, wide ? Target::kInt16 : Target::kInt8, &pending);
        }
      }
    } else {
      for (size_t k = 0; k < node.inputs.size(); ++k) {
        const int t = node.inputs[k];
        if (t < 0 || t >= n || !int_domain_[t]) continue;
        node.inputs[k] = ConvertedTensor(t, Target::kFloat, &pending);
      }
    }
    for (ir::Node& p : pending) out_.nodes.push_back(std::move(p));
    out_.nodes.push_back(std::move(node));
  }
  EDGEOPT_RETURN_IF_ERROR(FinishIo());
  remap_ = out_.RemoveUnusedTensors();
  remap_.resize(in_.tensors.size());
  EDGEOPT_RETURN_IF_ERROR(out_.Validate());
  return std::move(out_);
}

// Graph edges: float I/O gets QUANTIZE/DEQUANTIZE; uint8 I/O gets QUANTIZE int8<->uint8 (as
// the official converter emits for uint8 input/output types).
Status Quantizer::FinishIo() {
  std::vector<ir::Node> front;
  for (size_t k = 0; k < out_.inputs.size(); ++k) {
    const int t = out_.inputs[k];
    if (options_.io != IoType::kUInt8 || !int_domain_[t]) continue;
    // The graph input becomes uint8 (zero point + 128); consumers read an int8 copy.
    ir::Tensor int8_copy = out_.tensors[t];
    int8_copy.name += "_int8";
    const int copy = out_.AddTensor(int8_copy);
    for (ir::Node& node : out_.nodes) {
      for (int& in : node.inputs)
        if (in == t) in = copy;
    }
    ir::Tensor& input = out_.tensors[t];
    input.dtype = DType::kUInt8;
    input.quant.zero_point[0] += 128;
    ir::Node q;
    q.op = "QUANTIZE";
    q.name = input.name;
    q.inputs = {t};
    q.outputs = {copy};
    front.push_back(std::move(q));
  }
  out_.nodes.insert(out_.nodes.begin(), front.begin(), front.end());

  for (size_t k = 0; k < out_.outputs.size(); ++k) {
    int t = out_.outputs[k];
    // An int16 output of an int8 model (a layer kept in int16 ends it): requantized to int8
    // for int8 / uint8 I/O.
    if (options_.mode == Mode::kInt8 && options_.io != IoType::kFloat &&
        t < static_cast<int>(in_.tensors.size()) && int_domain_[t] && Wide(t)) {
      std::vector<ir::Node> pending;
      t = ConvertedTensor(t, Target::kInt8, &pending);
      for (ir::Node& p : pending) out_.nodes.push_back(std::move(p));
      out_.outputs[k] = t;
    }
    const DType dtype = out_.tensors[t].dtype;
    const bool is_int =
        (dtype == DType::kInt8 || dtype == DType::kInt16) && !out_.tensors[t].quant.empty();
    ir::Node node;
    node.name = out_.tensors[t].name;
    node.inputs = {t};
    if (options_.io == IoType::kFloat && is_int) {
      ir::Tensor f = out_.tensors[t];
      f.dtype = DType::kFloat32;
      f.quant = ir::QuantInfo();
      f.name += "_float";
      node.op = "DEQUANTIZE";
      node.outputs = {out_.AddTensor(std::move(f))};
    } else if (options_.io == IoType::kUInt8 && is_int) {
      ir::Tensor u = out_.tensors[t];
      u.dtype = DType::kUInt8;
      u.quant.zero_point[0] += 128;
      u.name += "_uint8";
      node.op = "QUANTIZE";
      node.outputs = {out_.AddTensor(std::move(u))};
    } else if (options_.io != IoType::kFloat && !is_int &&
               out_.tensors[t].dtype == DType::kFloat32) {
      // A float output of an int8 model whose last op stayed float: quantize it for the I/O
      // type asked for, with the output's calibrated range.
      auto p = ParamsAt(t, options_.mode == Mode::kInt16x8);
      if (!p.ok()) continue;
      ir::Tensor q = out_.tensors[t];
      SetQuant(&q, ActType(), p->scale, p->zero_point);
      if (options_.io == IoType::kUInt8) {
        q.dtype = DType::kUInt8;
        q.quant.zero_point[0] += 128;
      }
      q.name += "_quantized";
      node.op = "QUANTIZE";
      node.outputs = {out_.AddTensor(std::move(q))};
    } else {
      continue;
    }
    out_.outputs[k] = node.outputs[0];
    out_.nodes.push_back(std::move(node));
  }
  return Status::Ok();
}

// Dynamic range: int8 weights on FC/CONV_2D/DEPTHWISE_CONV_2D and on the gate weights of
// UNIDIRECTIONAL_SEQUENCE_LSTM (per tensor, TFLite's hybrid LSTM), float activations.
StatusOr<ir::Graph> QuantizeDynamic(const ir::Graph& in, const QuantizeOptions& options,
                                    std::vector<int>* remap) {
  ir::Graph out = in;
  std::map<std::pair<int, int>, int> quantized;  // (weights, axis) -> int8 copy (shared weights)
  auto int8_copy = [&](int w, int axis, int quantized_dimension) {
    auto cached = quantized.find({w, axis});
    if (cached == quantized.end()) {
      const int id = out.AddTensor(Int8Weights(out.tensors[w], axis, quantized_dimension));
      cached = quantized.emplace(std::make_pair(w, axis), id).first;
    }
    return cached->second;
  };
  for (ir::Node& node : out.nodes) {
    if (node.op == "UNIDIRECTIONAL_SEQUENCE_LSTM" && !options.keep_float.count(node.name) &&
        !node.inputs.empty() && node.inputs[0] >= 0 && FloatTensor(out.tensors[node.inputs[0]])) {
      // The input-to-gate and recurrent-to-gate weights (inputs 1-8); biases stay float.
      for (int k = 1; k <= 8 && k < static_cast<int>(node.inputs.size()); ++k) {
        const int w = node.inputs[k];
        if (w >= 0 && out.tensors[w].is_constant && FloatTensor(out.tensors[w])) {
          node.inputs[k] = int8_copy(w, -1, 0);
        }
      }
      node.attrs["asymmetric_quantize_inputs"] = true;
      continue;
    }
    const bool conv = node.op == "CONV_2D" || node.op == "DEPTHWISE_CONV_2D";
    if (!conv && node.op != "FULLY_CONNECTED") continue;
    if (options.keep_float.count(node.name)) continue;
    if (node.inputs.size() < 2 || node.inputs[1] < 0 || node.inputs[0] < 0) continue;
    const ir::Tensor& x = out.tensors[node.inputs[0]];
    const ir::Tensor& w = out.tensors[node.inputs[1]];
    if (!FloatTensor(x) || !FloatTensor(w) || !w.is_constant) continue;
    if (w.NumElements() < options.min_weight_elements) continue;
    const int axis = node.op == "DEPTHWISE_CONV_2D" ? 3 : 0;
    const bool per_channel =
        options.per_channel && (conv || (node.op == "FULLY_CONNECTED" && options.per_channel_fc));
    node.inputs[1] = int8_copy(node.inputs[1], per_channel ? axis : -1, per_channel ? axis : 0);
    if (node.op == "FULLY_CONNECTED") node.attrs["asymmetric_quantize_inputs"] = true;
  }
  *remap = out.RemoveUnusedTensors();
  remap->resize(in.tensors.size());
  EDGEOPT_RETURN_IF_ERROR(out.Validate());
  return out;
}

// float16: every float constant becomes a float16 tensor plus a DEQUANTIZE node that expands it
// (the runtime folds those at load time).
StatusOr<ir::Graph> QuantizeFloat16(const ir::Graph& in, std::vector<int>* remap) {
  ir::Graph out = in;
  out.nodes.clear();
  std::map<int, int> expanded;
  std::vector<ir::Node> front;
  for (const ir::Node& original : in.nodes) {
    ir::Node node = original;
    for (int& t : node.inputs) {
      if (t < 0) continue;
      const ir::Tensor& c = in.tensors[t];
      if (!c.is_constant || !FloatTensor(c) || c.NumElements() == 0) continue;
      auto it = expanded.find(t);
      if (it != expanded.end()) {
        t = it->second;
        continue;
      }
      std::vector<uint16_t> h(static_cast<size_t>(c.NumElements()));
      for (size_t i = 0; i < h.size(); ++i) h[i] = FloatToHalf(c.DataAs<float>()[i]);
      ir::Tensor half = c;
      half.dtype = DType::kFloat16;
      SetData(&half, h);
      const int half_id = out.AddTensor(std::move(half));
      ir::Tensor f;
      f.name = c.name + "_dequantized";
      f.dtype = DType::kFloat32;
      f.shape = c.shape;
      const int f_id = out.AddTensor(std::move(f));
      ir::Node dq;
      dq.op = "DEQUANTIZE";
      dq.name = c.name;
      dq.inputs = {half_id};
      dq.outputs = {f_id};
      front.push_back(std::move(dq));
      expanded[t] = f_id;
      t = f_id;
    }
    out.nodes.push_back(std::move(node));
  }
  out.nodes.insert(out.nodes.begin(), front.begin(), front.end());
  *remap = out.RemoveUnusedTensors();
  remap->resize(in.tensors.size());
  EDGEOPT_RETURN_IF_ERROR(out.Validate());
  return out;
}

}  // namespace

void JoinSharedParams(const ir::Graph& g, const std::function<bool(size_t)>& include,
                      const std::function<void(int, int)>& join) {
  std::map<int, int> first_reader;  // weight tensor -> the data input of its first weighted op
  for (size_t i = 0; i < g.nodes.size(); ++i) {
    if (!include(i)) continue;
    const ir::Node& node = g.nodes[i];
    const OpRule* rule = FindRule(node.op);
    if (rule == nullptr) continue;
    if (rule->kind == Kind::kWeighted) {
      const WeightedLayout l = LayoutOf(node.op);
      const int n = static_cast<int>(node.inputs.size());
      const int w = l.weights < n ? node.inputs[l.weights] : -1;
      const int x = l.data < n ? node.inputs[l.data] : -1;
      if (w < 0 || x < 0 || !g.tensors[w].is_constant) continue;
      auto [it, inserted] = first_reader.emplace(w, x);
      if (!inserted && it->second != x) join(x, it->second);
      continue;
    }
    if (rule->kind == Kind::kLstm) {
      // The hidden state is the output's last step (no projection): one set of parameters.
      if (static_cast<int>(node.inputs.size()) > kLstmOutputState &&
          node.inputs[kLstmOutputState] >= 0) {
        join(node.inputs[kLstmOutputState], node.outputs[0]);
      }
      continue;
    }
    if (rule->kind != Kind::kSameScale) continue;
    int anchor = -1;
    for (size_t k = 0; k < node.inputs.size(); ++k) {
      const int t = node.inputs[k];
      if (t < 0 || !IsDataInput(node.op, static_cast<int>(k))) continue;
      if (anchor < 0) {
        anchor = t;
      } else {
        join(t, anchor);
      }
    }
    for (int t : node.outputs) {
      if (anchor < 0) {
        anchor = t;
      } else {
        join(t, anchor);
      }
    }
  }
}

bool IntegerLstmCandidate(const ir::Graph& g, const ir::Node& node) {
  if (node.op != "UNIDIRECTIONAL_SEQUENCE_LSTM" || node.inputs.size() < 20 ||
      node.outputs.size() != 1) {
    return false;
  }
  auto present = [&](int k) { return node.inputs[k] >= 0; };
  auto float_constant = [&](int k) {
    return present(k) && g.tensors[node.inputs[k]].is_constant &&
           FloatTensor(g.tensors[node.inputs[k]]);
  };
  if (!present(0) || !FloatTensor(g.tensors[node.inputs[0]]) ||
      g.tensors[node.inputs[0]].shape.size() != 3) {
    return false;
  }
  for (int k = 1; k <= 8; ++k) {
    if (!float_constant(k)) return false;  // CIFG (no input gate) is not converted
  }
  for (int k = 12; k <= 15; ++k) {
    if (!float_constant(k)) return false;
  }
  // Shapes as the kernel reads them (calibration recomputes the cell states from them).
  const std::vector<int32_t>& in = g.tensors[node.inputs[0]].shape;
  const std::vector<int32_t>& w0 = g.tensors[node.inputs[1]].shape;
  if (w0.size() != 2 || w0[0] <= 0 || w0[1] != in[2] || in[0] <= 0 || in[1] <= 0) return false;
  const int32_t units = w0[0];
  for (int q = 0; q < 4; ++q) {
    if (g.tensors[node.inputs[1 + q]].shape != w0 ||
        g.tensors[node.inputs[5 + q]].shape != std::vector<int32_t>{units, units} ||
        g.tensors[node.inputs[12 + q]].shape != std::vector<int32_t>{units}) {
      return false;
    }
  }
  for (int k : {9, 10, 11, 16, 17}) {
    if (present(k)) return false;  // peepholes, projection
  }
  for (size_t k = 20; k < node.inputs.size(); ++k) {
    if (node.inputs[k] >= 0) return false;  // layer norm
  }
  for (int k : {kLstmOutputState, kLstmCellState}) {
    if (!present(k) || !g.tensors[node.inputs[k]].is_variable ||
        !FloatTensor(g.tensors[node.inputs[k]])) {
      return false;
    }
  }
  const double cell_clip = ir::GetFloat(node.attrs, "cell_clip", 0.0);
  return ir::GetString(node.attrs, "fused_activation_function", "NONE") == "TANH" &&
         std::isfinite(cell_clip) && cell_clip >= 0.0 &&
         !ir::GetBool(node.attrs, "diagonal_recurrent_tensors", false);
}

OpQuantKind QuantizedOpKind(const std::string& op) {
  const OpRule* rule = FindRule(op);
  if (rule == nullptr) return OpQuantKind::kNone;
  switch (rule->kind) {
    case Kind::kWeighted:
      return OpQuantKind::kWeighted;
    case Kind::kSameScale:
      return OpQuantKind::kSameScale;
    case Kind::kFixedOutput:
      return OpQuantKind::kFixedOutput;
    case Kind::kIndependent:
      return OpQuantKind::kIndependent;
    case Kind::kLstm:
      return OpQuantKind::kLstm;
    case Kind::kCompare:
      return OpQuantKind::kCompare;
    case Kind::kIndex:
      return OpQuantKind::kIndex;
  }
  return OpQuantKind::kNone;
}

bool IsQuantizedDataInput(const std::string& op, int index) { return IsDataInput(op, index); }

bool IsMaskConstant(const ir::Tensor& t) {
  if (!t.is_constant || t.dtype != DType::kFloat32 || t.NumElements() == 0) return false;
  const float* v = t.DataAs<float>();
  return *std::min_element(v, v + t.NumElements()) <= -1e8f;
}

bool IsMaskNode(const ir::Graph& g, const ir::Node& node) {
  if (node.op == "SELECT_V2") {
    return node.inputs.size() == 3 && node.inputs[1] >= 0 && node.inputs[2] >= 0 &&
           !g.tensors[node.inputs[1]].is_constant && IsMaskConstant(g.tensors[node.inputs[2]]);
  }
  return node.op == "MINIMUM" && node.inputs.size() == 2 && node.inputs[1] >= 0 &&
         node.inputs[0] >= 0 && !g.tensors[node.inputs[0]].is_constant &&
         IsMaskConstant(g.tensors[node.inputs[1]]);
}

std::vector<uint8_t> FloatPrefix(const ir::Graph& g) {
  std::vector<uint8_t> from_input(g.tensors.size(), 0);  // 1 graph input, 2 a prefix output
  for (int t : g.inputs) from_input[t] = 1;
  std::vector<uint8_t> prefix(g.nodes.size(), 0);
  for (size_t i = 0; i < g.nodes.size(); ++i) {
    const ir::Node& node = g.nodes[i];
    const bool reads_input = node.op == "NOT_EQUAL" || node.op == "CAST" || node.op == "REDUCE_MAX";
    const bool of_prefix = node.op == "RESHAPE" || node.op == "SUM" || node.op == "STRIDED_SLICE" ||
                           node.op == "MUL" || node.op == "CONCATENATION";
    if (!reads_input && !of_prefix) continue;
    if (node.inputs.empty() || node.inputs[0] < 0) continue;
    // Every non-constant input is a graph input (NOT_EQUAL, CAST, REDUCE_MAX) or a prefix
    // output (all of them; at least one).
    bool ok = true, any_prefix = false;
    for (int t : node.inputs) {
      if (t < 0 || g.tensors[t].is_constant) continue;
      if (from_input[t] == 0 || (from_input[t] == 1 && !reads_input)) ok = false;
      any_prefix = any_prefix || from_input[t] == 2;
    }
    if (!ok || (!reads_input && !any_prefix)) continue;
    prefix[i] = 1;
    for (int t : node.outputs) {
      if (t >= 0) from_input[t] = 2;
    }
  }
  return prefix;
}

float MaskDepth(int64_t keys, bool wide) {
  return static_cast<float>(std::log((wide ? 65536.0 : 256.0) * std::max<int64_t>(keys, 1)));
}

MaskGroups FindMasks(const ir::Graph& g, const std::function<bool(size_t)>& include,
                     const std::function<int(int)>& group_of) {
  MaskGroups masks;
  for (size_t i = 0; i < g.nodes.size(); ++i) {
    if (!include(i) || !IsMaskNode(g, g.nodes[i])) continue;
    const int out = g.nodes[i].outputs[0];
    masks.outputs.insert(out);
    const std::vector<int32_t>& shape = g.tensors[out].shape;
    int64_t& keys = masks.keys[group_of(out)];
    keys = std::max<int64_t>(keys, shape.empty() ? 1 : shape.back());
  }
  return masks;
}

void FixedOutputParamsInt8(const std::string& op, float* scale, int32_t* zero_point) {
  if (op == "TANH" || op == "L2_NORMALIZATION") {
    *scale = 1.0f / 128.0f;
    *zero_point = 0;
  } else if (op == "LOG_SOFTMAX") {
    *scale = 16.0f / 256.0f;
    *zero_point = 127;
  } else {
    *scale = 1.0f / 256.0f;
    *zero_point = -128;
  }
}

WeightedInputs WeightedInputsOf(const std::string& op) {
  const WeightedLayout l = LayoutOf(op);
  return {l.data, l.weights, l.bias, l.channel_axis};
}

int WeightQuantAxis(const std::string& op, const QuantizeOptions& options) {
  bool per_channel = options.per_channel;
  if (op == "FULLY_CONNECTED") per_channel = per_channel && options.per_channel_fc;
  return per_channel ? LayoutOf(op).channel_axis : -1;
}

StatusOr<Mode> ParseMode(const std::string& name) {
  if (name == "float16" || name == "fp16") return Mode::kFloat16;
  if (name == "dynamic" || name == "dynamic-range") return Mode::kDynamic;
  if (name == "int8") return Mode::kInt8;
  if (name == "int16x8" || name == "16x8") return Mode::kInt16x8;
  return MakeStatus(StatusCode::kInvalidArgument,
                    "unknown mode '%s' (expected float16, dynamic, int8 or int16x8)", name.c_str());
}

const char* ModeName(Mode mode) {
  switch (mode) {
    case Mode::kFloat16:
      return "float16";
    case Mode::kDynamic:
      return "dynamic";
    case Mode::kInt8:
      return "int8";
    case Mode::kInt16x8:
      return "int16x8";
  }
  return "?";
}

StatusOr<IoType> ParseIoType(const std::string& name) {
  if (name == "float" || name == "float32") return IoType::kFloat;
  if (name == "int8") return IoType::kInt8;
  if (name == "uint8") return IoType::kUInt8;
  if (name == "int16") return IoType::kInt16;
  return MakeStatus(StatusCode::kInvalidArgument,
                    "unknown I/O type '%s' (expected float, int8 or uint8)", name.c_str());
}

void QuantizeWeightsSymmetric(const float* w, const std::vector<int32_t>& shape, int axis,
                              std::vector<int8_t>* q, std::vector<float>* scales) {
  QuantizeSymmetricImpl(w, shape, axis, 127, q, scales);
}

StatusOr<ir::Graph> QuantizeGraph(const ir::Graph& float_graph, const QuantizeOptions& options,
                                  const RangeMap& ranges, std::vector<int>* float_to_quantized) {
  std::vector<int> unused;
  std::vector<int>* remap = float_to_quantized != nullptr ? float_to_quantized : &unused;
  switch (options.mode) {
    case Mode::kFloat16:
      return QuantizeFloat16(float_graph, remap);
    case Mode::kDynamic:
      return QuantizeDynamic(float_graph, options, remap);
    case Mode::kInt8:
    case Mode::kInt16x8: {
      if (options.mode == Mode::kInt16x8 && options.io == IoType::kUInt8) {
        return MakeStatus(StatusCode::kInvalidArgument,
                          "--io uint8 is not available with int16x8 (use float or int16)");
      }
      if (options.mode == Mode::kInt8 && options.io == IoType::kInt16) {
        return MakeStatus(StatusCode::kInvalidArgument, "--io int16 needs --mode int16x8");
      }
      if (options.mode == Mode::kInt16x8 && options.io == IoType::kInt8) {
        return MakeStatus(StatusCode::kInvalidArgument,
                          "--io int8 is not available with int16x8 (use float or int16)");
      }
      if (options.mode != Mode::kInt8 && !options.keep_int16.empty()) {
        return MakeStatus(StatusCode::kInvalidArgument,
                          "keeping layers in int16 needs --mode int8 (int16x8 has them all)");
      }
      Quantizer q(float_graph, options, ranges);
      auto result = q.Run();
      if (result.ok()) *remap = q.remap();
      return result;
    }
  }
  return MakeStatus(StatusCode::kInternal, "unknown mode");
}

}  // namespace quantize
}  // namespace edgeopt
