#include "src/export/tflite/op_version.h"

#include <algorithm>
#include <cstdlib>
#include <map>
#include <utility>

namespace edgeopt {
namespace tfl {
namespace {

struct RuntimeEntry {
  const char* op;
  int version;
  const char* runtime;
};

// (op, version) -> the first TFLite release with it; entries newer than 2.9.0 are left out.
const RuntimeEntry kRuntimeVersions[] = {
    {"AVERAGE_POOL_2D", 1, "1.5.0"},
    {"AVERAGE_POOL_2D", 2, "1.14.0"},
    {"AVERAGE_POOL_2D", 3, "2.3.0"},
    {"BATCH_MATMUL", 1, "2.3.0"},
    {"BATCH_MATMUL", 2, "2.3.0"},
    {"BATCH_MATMUL", 3, "2.4.0"},
    {"BATCH_MATMUL", 4, "2.5.0"},
    {"BROADCAST_TO", 2, "2.5.0"},
    {"BROADCAST_TO", 3, "2.5.0"},
    {"CONV_2D", 1, "1.5.0"},
    {"CONV_2D", 2, "1.14.0"},
    {"CONV_2D", 3, "1.14.0"},
    {"CONV_2D", 4, "2.3.0"},
    {"CONV_2D", 5, "2.4.0"},
    {"CONV_2D", 6, "2.9.0"},
    {"DEPTHWISE_CONV_2D", 1, "1.5.0"},
    {"DEPTHWISE_CONV_2D", 2, "1.12.0"},
    {"DEPTHWISE_CONV_2D", 3, "1.14.0"},
    {"DEPTHWISE_CONV_2D", 4, "2.2.0"},
    {"DEPTHWISE_CONV_2D", 5, "2.3.0"},
    {"DEPTHWISE_CONV_2D", 6, "2.3.0"},
    {"ADD", 1, "1.5.0"},
    {"ADD", 2, "1.14.0"},
    {"ADD", 3, "2.4.0"},
    {"ADD", 4, "2.6.0"},
    {"ADD_N", 1, "1.14.0"},
    {"SPACE_TO_BATCH_ND", 1, "1.6.0"},
    {"SPACE_TO_BATCH_ND", 2, "1.14.0"},
    {"SPACE_TO_BATCH_ND", 3, "2.3.0"},
    {"SUB", 1, "1.6.0"},
    {"SUB", 2, "1.14.0"},
    {"SUB", 3, "2.3.0"},
    {"SUB", 4, "2.4.0"},
    {"SUB", 5, "2.4.0"},
    {"DENSIFY", 1, "2.2.0"},
    {"DIV", 1, "1.6.0"},
    {"DIV", 2, "2.3.0"},
    {"BATCH_TO_SPACE_ND", 1, "1.6.0"},
    {"BATCH_TO_SPACE_ND", 2, "1.14.0"},
    {"BATCH_TO_SPACE_ND", 3, "2.3.0"},
    {"CAST", 1, "1.5.0"},
    {"CAST", 2, "2.7.0"},
    {"CAST", 3, "2.8.0"},
    {"CAST", 4, "2.9.0"},
    {"CONCATENATION", 1, "1.5.0"},
    {"CONCATENATION", 2, "1.14.0"},
    {"CONCATENATION", 3, "2.3.0"},
    {"DEPTH_TO_SPACE", 1, "2.1.0"},
    {"DEPTH_TO_SPACE", 2, "2.5.0"},
    {"EMBEDDING_LOOKUP", 1, "1.13.0"},
    {"EMBEDDING_LOOKUP", 2, "1.14.0"},
    {"EMBEDDING_LOOKUP", 3, "1.14.0"},
    {"EMBEDDING_LOOKUP_SPARSE", 1, "1.5.0"},
    {"FAKE_QUANT", 1, "1.5.0"},
    {"FAKE_QUANT", 2, "1.10.0"},
    {"FULLY_CONNECTED", 1, "1.5.0"},
    {"FULLY_CONNECTED", 2, "1.10.0"},
    {"FULLY_CONNECTED", 3, "1.14.0"},
    {"FULLY_CONNECTED", 4, "1.14.0"},
    {"FULLY_CONNECTED", 5, "2.0.0"},
    {"FULLY_CONNECTED", 6, "2.1.0"},
    {"FULLY_CONNECTED", 7, "2.3.0"},
    {"FULLY_CONNECTED", 8, "2.3.0"},
    {"FULLY_CONNECTED", 9, "2.3.0"},
    {"GATHER", 1, "1.6.0"},
    {"GATHER", 2, "1.14.0"},
    {"GATHER", 3, "1.15.0"},
    {"GATHER", 4, "2.4.0"},
    {"GATHER", 5, "2.5.0"},
    {"GATHER_ND", 1, "1.14.0"},
    {"GATHER_ND", 2, "2.3.0"},
    {"GATHER_ND", 3, "2.5.0"},
    {"HASHTABLE_LOOKUP", 1, "1.5.0"},
    {"SVDF", 1, "1.5.0"},
    {"SVDF", 2, "1.14.0"},
    {"SVDF", 3, "2.2.0"},
    {"SVDF", 4, "2.3.0"},
    {"L2_NORMALIZATION", 1, "1.5.0"},
    {"L2_NORMALIZATION", 2, "1.14.0"},
    {"L2_POOL_2D", 1, "1.5.0"},
    {"LOCAL_RESPONSE_NORMALIZATION", 1, "1.5.0"},
    {"MAX_POOL_2D", 1, "1.5.0"},
    {"MAX_POOL_2D", 2, "1.14.0"},
    {"MAX_POOL_2D", 3, "2.3.0"},
    {"MAXIMUM", 1, "1.14.0"},
    {"MAXIMUM", 2, "1.14.0"},
    {"MAXIMUM", 3, "2.3.0"},
    {"MAXIMUM", 4, "2.3.0"},
    {"MINIMUM", 1, "1.14.0"},
    {"MINIMUM", 2, "1.14.0"},
    {"MINIMUM", 3, "2.3.0"},
    {"MINIMUM", 4, "2.3.0"},
    {"MUL", 1, "1.5.0"},
    {"MUL", 2, "1.14.0"},
    {"MUL", 3, "1.15.0"},
    {"MUL", 4, "2.3.0"},
    {"MUL", 5, "2.6.0"},
    {"NON_MAX_SUPPRESSION_V4", 1, "2.1.0"},
    {"NON_MAX_SUPPRESSION_V5", 1, "2.1.0"},
    {"PAD", 1, "1.5.0"},
    {"PAD", 2, "1.14.0"},
    {"PAD", 3, "2.4.0"},
    {"PAD", 4, "2.6.0"},
    {"TILE", 1, "1.10.1"},
    {"TILE", 2, "2.2.0"},
    {"TILE", 3, "2.8.0"},
    {"PADV2", 1, "1.9.0"},
    {"PADV2", 2, "1.14.0"},
    {"PADV2", 3, "2.4.0"},
    {"PADV2", 4, "2.6.0"},
    {"RESHAPE", 1, "1.5.0"},
    {"SOFTMAX", 1, "1.5.0"},
    {"SOFTMAX", 2, "1.14.0"},
    {"SOFTMAX", 3, "2.3.0"},
    {"SPACE_TO_DEPTH", 1, "1.5.0"},
    {"SPACE_TO_DEPTH", 2, "1.14.0"},
    {"TRANSPOSE", 1, "1.6.0"},
    {"TRANSPOSE", 2, "1.14.0"},
    {"TRANSPOSE", 3, "1.15.0"},
    {"TRANSPOSE", 4, "2.3.0"},
    {"TRANSPOSE", 5, "2.4.0"},
    {"LSTM", 1, "1.7.0"},
    {"LSTM", 2, "1.10.0"},
    {"LSTM", 3, "1.14.0"},
    {"LSTM", 4, "2.3.0"},
    {"UNIDIRECTIONAL_SEQUENCE_LSTM", 1, "1.13.1"},
    {"UNIDIRECTIONAL_SEQUENCE_LSTM", 2, "1.14.0"},
    {"UNIDIRECTIONAL_SEQUENCE_LSTM", 3, "2.3.0"},
    {"BIDIRECTIONAL_SEQUENCE_LSTM", 1, "1.14.0"},
    {"BIDIRECTIONAL_SEQUENCE_LSTM", 2, "1.14.0"},
    {"BIDIRECTIONAL_SEQUENCE_LSTM", 3, "1.14.0"},
    {"BIDIRECTIONAL_SEQUENCE_RNN", 1, "1.14.0"},
    {"BIDIRECTIONAL_SEQUENCE_RNN", 2, "1.14.0"},
    {"BIDIRECTIONAL_SEQUENCE_RNN", 3, "2.3.0"},
    {"MEAN", 1, "1.6.0"},
    {"MEAN", 2, "1.14.0"},
    {"MEAN", 3, "2.4.0"},
    {"SUM", 1, "1.10.0"},
    {"SUM", 2, "1.15.0"},
    {"REDUCE_MAX", 1, "1.11.0"},
    {"REDUCE_MAX", 2, "1.14.0"},
    {"REDUCE_MAX", 3, "2.5.0"},
    {"REDUCE_MIN", 1, "1.11.0"},
    {"REDUCE_MIN", 2, "1.14.0"},
    {"REDUCE_MIN", 3, "2.5.0"},
    {"REDUCE_PROD", 1, "1.11.0"},
    {"REDUCE_PROD", 2, "2.6.0"},
    {"REDUCE_ANY", 1, "1.11.0"},
    {"RELU6", 1, "1.5.0"},
    {"RELU6", 2, "1.14.0"},
    {"RELU6", 3, "2.5.0"},
    {"RESIZE_BILINEAR", 1, "1.7.0"},
    {"RESIZE_BILINEAR", 2, "1.14.0"},
    {"RESIZE_BILINEAR", 3, "2.2.0"},
    {"RESIZE_BILINEAR", 4, "2.5.0"},
    {"RESIZE_NEAREST_NEIGHBOR", 1, "1.13.1"},
    {"RESIZE_NEAREST_NEIGHBOR", 2, "1.14.0"},
    {"RESIZE_NEAREST_NEIGHBOR", 3, "2.3.0"},
    {"RESIZE_NEAREST_NEIGHBOR", 4, "2.4.0"},
    {"RNN", 1, "1.5.0"},
    {"RNN", 2, "1.14.0"},
    {"RNN", 3, "2.3.0"},
    {"SKIP_GRAM", 1, "1.5.0"},
    {"SQUEEZE", 1, "1.6.0"},
    {"SQUEEZE", 2, "2.5.0"},
    {"SPLIT", 1, "1.5.0"},
    {"SPLIT", 2, "1.14.0"},
    {"SPLIT", 3, "1.14.0"},
    {"SPLIT", 4, "2.3.0"},
    {"SPLIT_V", 1, "1.13.1"},
    {"SPLIT_V", 2, "2.3.0"},
    {"STRIDED_SLICE", 1, "1.6.0"},
    {"STRIDED_SLICE", 2, "1.14.0"},
    {"STRIDED_SLICE", 3, "2.1.0"},
    {"STRIDED_SLICE", 4, "2.2.0"},
    {"STRIDED_SLICE", 5, "2.5.0"},
    {"STRIDED_SLICE", 6, "2.6.0"},
    {"TOPK_V2", 1, "1.7.0"},
    {"TOPK_V2", 2, "1.14.0"},
    {"ARG_MAX", 1, "1.9.0"},
    {"ARG_MAX", 2, "1.14.0"},
    {"ARG_MAX", 3, "2.9.0"},
    {"ARG_MIN", 1, "1.9.0"},
    {"ARG_MIN", 2, "1.14.0"},
    {"ARG_MIN", 3, "2.9.0"},
    {"TRANSPOSE_CONV", 1, "1.9.0"},
    {"TRANSPOSE_CONV", 2, "2.2.0"},
    {"TRANSPOSE_CONV", 3, "2.3.0"},
    {"SPARSE_TO_DENSE", 1, "1.9.0"},
    {"SPARSE_TO_DENSE", 2, "1.14.0"},
    {"SPARSE_TO_DENSE", 3, "1.15.0"},
    {"EXPAND_DIMS", 1, "1.10.0"},
    {"PACK", 1, "1.11.0"},
    {"PACK", 2, "1.14.0"},
    {"PACK", 3, "2.3.0"},
    {"SHAPE", 1, "1.10.0"},
    {"SLICE", 1, "1.14.0"},
    {"SLICE", 2, "1.14.0"},
    {"SLICE", 3, "1.14.0"},
    {"SLICE", 4, "2.4.0"},
    {"SLICE", 5, "2.5.0"},
    {"TANH", 1, "1.14.0"},
    {"TANH", 2, "1.14.0"},
    {"TANH", 3, "2.3.0"},
    {"ONE_HOT", 1, "1.11.0"},
    {"UNPACK", 1, "1.11.0"},
    {"UNPACK", 2, "1.14.0"},
    {"UNPACK", 3, "2.2.0"},
    {"UNPACK", 4, "2.3.0"},
    {"LEAKY_RELU", 1, "1.13.1"},
    {"LEAKY_RELU", 2, "2.3.0"},
    {"LOGISTIC", 1, "1.14.0"},
    {"LOGISTIC", 2, "1.14.0"},
    {"LOGISTIC", 3, "2.3.0"},
    {"LOG_SOFTMAX", 1, "1.14.0"},
    {"LOG_SOFTMAX", 2, "1.14.0"},
    {"LSH_PROJECTION", 1, "1.5.0"},
    {"SQUARED_DIFFERENCE", 1, "1.13.1"},
    {"SQUARED_DIFFERENCE", 2, "2.5.0"},
    {"MIRROR_PAD", 1, "1.13.1"},
    {"MIRROR_PAD", 2, "2.3.0"},
    {"UNIQUE", 1, "1.14.0"},
    {"UNIDIRECTIONAL_SEQUENCE_RNN", 1, "1.14.0"},
    {"UNIDIRECTIONAL_SEQUENCE_RNN", 2, "1.14.0"},
    {"UNIDIRECTIONAL_SEQUENCE_RNN", 3, "2.3.0"},
    {"WHERE", 1, "1.14.0"},
    {"DEQUANTIZE", 1, "1.13.1"},
    {"DEQUANTIZE", 2, "1.14.0"},
    {"DEQUANTIZE", 3, "1.15.0"},
    {"DEQUANTIZE", 4, "2.2.0"},
    {"DEQUANTIZE", 5, "2.7.0"},
    {"REVERSE_SEQUENCE", 1, "1.14.0"},
    {"EQUAL", 1, "1.14.0"},
    {"EQUAL", 2, "1.14.0"},
    {"EQUAL", 3, "2.3.0"},
    {"NOT_EQUAL", 1, "1.14.0"},
    {"NOT_EQUAL", 2, "1.14.0"},
    {"NOT_EQUAL", 3, "2.3.0"},
    {"GREATER", 1, "1.14.0"},
    {"GREATER", 2, "1.14.0"},
    {"GREATER_EQUAL", 1, "1.14.0"},
    {"GREATER_EQUAL", 2, "1.14.0"},
    {"LESS", 1, "1.14.0"},
    {"LESS", 2, "1.14.0"},
    {"LESS_EQUAL", 1, "1.14.0"},
    {"LESS_EQUAL", 2, "1.14.0"},
    {"SCATTER_ND", 1, "2.1.0"},
    {"SEGMENT_SUM", 1, "2.2.0"},
    {"SELECT", 1, "1.14.0"},
    {"SELECT", 2, "1.14.0"},
    {"SELECT_V2", 1, "2.2.0"},
    {"IF", 1, "1.15.0"},
    {"FLOOR_DIV", 1, "1.14.0"},
    {"FLOOR_DIV", 2, "1.14.0"},
    {"FLOOR", 1, "1.9.0"},
    {"CEIL", 1, "1.14.0"},
    {"MATRIX_DIAG", 1, "1.14.0"},
    {"MATRIX_SET_DIAG", 1, "1.14.0"},
    {"ELU", 1, "1.14.0"},
    {"QUANTIZE", 1, "1.14.0"},
    {"QUANTIZE", 2, "1.15.0"},
    {"QUANTIZE", 3, "2.7.0"},
    {"ROUND", 1, "1.14.0"},
    {"RELU", 1, "1.5.0"},
    {"RELU", 2, "2.1.0"},
    {"RELU", 3, "2.5.0"},
    {"RELU_N1_TO_1", 1, "1.5.0"},
    {"PRELU", 1, "1.8.0"},
    {"EXP", 1, "1.7.0"},
    {"COS", 1, "1.14.0"},
    {"NEG", 1, "1.9.0"},
    {"POW", 1, "1.10.0"},
    {"LOGICAL_OR", 1, "1.11.0"},
    {"LOGICAL_AND", 1, "1.11.0"},
    {"LOGICAL_NOT", 1, "1.11.0"},
    {"FLOOR_MOD", 1, "1.13.0"},
    {"RANGE", 1, "1.13.0"},
    {"SIN", 1, "1.9.0"},
    {"LOG", 1, "1.14.0"},
    {"SQRT", 1, "1.10.0"},
    {"RSQRT", 1, "1.10.0"},
    {"RSQRT", 2, "2.5.0"},
    {"SQUARE", 1, "1.12.0"},
    {"ZEROS_LIKE", 1, "1.12.0"},
    {"ABS", 1, "1.13.0"},
    {"ABS", 2, "2.4.0"},
    {"ABS", 3, "2.5.0"},
    {"ABS", 4, "2.6.0"},
    {"HARD_SWISH", 1, "1.15.0"},
    {"FILL", 1, "1.13.0"},
    {"FILL", 2, "2.3.0"},
    {"FILL", 3, "2.5.0"},
    {"REVERSE_V2", 1, "1.14.0"},
    {"REVERSE_V2", 2, "2.2.0"},
    {"REVERSE_V2", 3, "2.5.0"},
    {"RANK", 1, "1.14.0"},
    {"WHILE", 1, "1.15.0"},
    {"CUMSUM", 1, "2.4.0"},
    {"CALL_ONCE", 1, "2.5.0"},
    {"RFFT2D", 1, "2.5.0"},
    {"CONV_3D", 1, "2.5.0"},
    {"IMAG", 1, "2.5.0"},
    {"REAL", 1, "2.5.0"},
    {"COMPLEX_ABS", 1, "2.5.0"},
    {"HASHTABLE", 1, "2.5.0"},
    {"HASHTABLE_FIND", 1, "2.5.0"},
    {"HASHTABLE_IMPORT", 1, "2.5.0"},
    {"HASHTABLE_SIZE", 1, "2.5.0"},
    {"REDUCE_ALL", 1, "2.6.0"},
    {"CONV_3D_TRANSPOSE", 1, "2.6.0"},
    {"VAR_HANDLE", 1, "2.6.0"},
    {"READ_VARIABLE", 1, "2.6.0"},
    {"ASSIGN_VARIABLE", 1, "2.6.0"},
    {"BROADCAST_ARGS", 1, "2.6.0"},
    {"RANDOM_STANDARD_NORMAL", 1, "2.8.0"},
    {"BUCKETIZE", 1, "2.8.0"},
    {"WHERE", 2, "2.8.0"},
    {"RANDOM_UNIFORM", 1, "2.8.0"},
    {"MULTINOMIAL", 1, "2.8.0"},
    {"GELU", 1, "2.9.0"},
    {"GELU", 2, "2.9.0"},
    {"DYNAMIC_UPDATE_SLICE", 1, "2.9.0"},
};

const std::map<std::pair<std::string, int>, std::string>& RuntimeMap() {
  static const auto* map = [] {
    auto* m = new std::map<std::pair<std::string, int>, std::string>();
    for (const RuntimeEntry& e : kRuntimeVersions) (*m)[{e.op, e.version}] = e.runtime;
    return m;
  }();
  return *map;
}

// The dtype of a node's k-th input/output; kNoType for absent ones.
constexpr int kNoType = -1;

struct Sig {
  const ir::Graph& g;
  const ir::Node& n;

  const ir::Tensor* In(size_t k) const {
    if (k >= n.inputs.size() || n.inputs[k] < 0 ||
        n.inputs[k] >= static_cast<int>(g.tensors.size())) {
      return nullptr;
    }
    return &g.tensors[n.inputs[k]];
  }
  const ir::Tensor* Out(size_t k) const {
    if (k >= n.outputs.size() || n.outputs[k] < 0 ||
        n.outputs[k] >= static_cast<int>(g.tensors.size())) {
      return nullptr;
    }
    return &g.tensors[n.outputs[k]];
  }
  int InType(size_t k) const {
    const ir::Tensor* t = In(k);
    return t != nullptr ? static_cast<int>(t->dtype) : kNoType;
  }
  int OutType(size_t k) const {
    const ir::Tensor* t = Out(k);
    return t != nullptr ? static_cast<int>(t->dtype) : kNoType;
  }
  bool InIs(size_t k, DType d) const { return InType(k) == static_cast<int>(d); }
  bool OutIs(size_t k, DType d) const { return OutType(k) == static_cast<int>(d); }
  size_t InRank(size_t k) const {
    const ir::Tensor* t = In(k);
    return t != nullptr ? t->shape.size() : 0;
  }
  bool Int(const char* key, int64_t fallback, int64_t value) const {
    return ir::GetInt(n.attrs, key, fallback) == value;
  }
  bool Flag(const char* key) const { return ir::GetBool(n.attrs, key, false); }
  std::string Str(const char* key, const char* fallback) const {
    return ir::GetString(n.attrs, key, fallback);
  }
  // The two first inputs differ in shape (TFLite's NeedBroadcastForBinaryInputs).
  bool NeedsBroadcast() const {
    const ir::Tensor* a = In(0);
    const ir::Tensor* b = In(1);
    if (a == nullptr || b == nullptr) return false;
    return a->shape != b->shape;
  }
  size_t MaxInputRank() const {
    size_t r = 0;
    for (size_t k = 0; k < n.inputs.size(); ++k) r = std::max(r, InRank(k));
    return r;
  }
};

constexpr DType kF32 = DType::kFloat32;
constexpr DType kI8 = DType::kInt8;
constexpr DType kU8 = DType::kUInt8;
constexpr DType kI16 = DType::kInt16;
constexpr DType kI32 = DType::kInt32;
constexpr DType kI64 = DType::kInt64;

// int8 weights in float graphs (dynamic range / "hybrid" kernels).
bool Hybrid(const Sig& s, size_t weight) {
  return s.InIs(0, kF32) && s.InIs(weight, kI8) && s.OutIs(0, kF32);
}

int SimpleTyped(const Sig& s) {  // int16 -> 3, int8 -> 2, else 1
  if (s.InIs(0, kI16)) return 3;
  if (s.InIs(0, kI8)) return 2;
  return 1;
}

}  // namespace

int RequiredOpVersion(const ir::Graph& graph, const ir::Node& node) {
  const Sig s{graph, node};
  const std::string& op = node.op;
  if (op == "CONV_2D") {
    const ir::Tensor* in = s.In(0);
    const ir::Tensor* filter = s.In(1);
    // Grouped convolution: input channels differ from the filter's input channels.
    if (in != nullptr && filter != nullptr && in->shape.size() == 4 && filter->shape.size() == 4 &&
        in->shape[3] != filter->shape[3]) {
      return 6;
    }
    if (s.InIs(0, kI16) && s.OutIs(0, kI16)) return 4;
    if (s.InIs(0, kI8) && s.InIs(1, kI8) && s.OutIs(0, kI8)) return 3;
    if (Hybrid(s, 1)) {
      const bool per_channel = filter != nullptr && !filter->quant.scale.empty() &&
                               !filter->shape.empty() &&
                               filter->quant.scale.size() == static_cast<size_t>(filter->shape[0]);
      return per_channel ? 5 : 2;
    }
    return 1;
  }
  if (op == "DEPTHWISE_CONV_2D") {
    const ir::Tensor* filter = s.In(1);
    if (s.InIs(0, kI16) && s.OutIs(0, kI16)) return 5;
    if (Hybrid(s, 1)) {
      const bool per_channel = filter != nullptr && !filter->quant.scale.empty() &&
                               filter->shape.size() == 4 &&
                               filter->quant.scale.size() == static_cast<size_t>(filter->shape[3]);
      return per_channel ? 6 : 4;
    }
    if (s.InIs(0, kI8) && s.InIs(1, kI8) && s.OutIs(0, kI8)) return 3;
    if (!s.Int("dilation_w_factor", 1, 1) || !s.Int("dilation_h_factor", 1, 1)) return 2;
    return 1;
  }
  if (op == "FULLY_CONNECTED") {
    const ir::Tensor* w = s.In(1);
    // Hybrid with per-channel weight scales: version 12 (TF 2.12+); TFLite 2.9 has no kernel for
    // it, so the exporter refuses it rather than let 2.9 compute it per-tensor.
    if (Hybrid(s, 1) && w != nullptr && w->quant.scale.size() > 1) return 12;
    if (w != nullptr && w->has_sparsity) return 8;
    if (s.InIs(0, kI16) && s.InIs(1, kI16) && s.OutIs(0, kI16)) return 7;
    if (node.inputs.size() == 2) return 6;
    if (s.Flag("keep_num_dims")) return 5;
    if (s.InIs(0, kI8) && s.InIs(1, kI8) && s.OutIs(0, kI8)) return 4;
    if (Hybrid(s, 1)) return s.Flag("asymmetric_quantize_inputs") ? 9 : 3;
    if (s.Str("weights_format", "DEFAULT") == "SHUFFLED4x16INT8") return 2;
    return 1;
  }
  if (op == "TRANSPOSE_CONV") {
    const std::string act = s.Str("fused_activation_function", "NONE");
    if (act != "NONE") return 4;
    if (node.inputs.size() == 4 && s.InType(3) != kNoType) return 3;
    if (s.InIs(1, kI8)) return 2;
    return 1;
  }
  if (op == "MAX_POOL_2D" || op == "AVERAGE_POOL_2D") {
    if (s.InIs(0, kI16) && s.OutIs(0, kI16)) return 3;
    if (s.InIs(0, kI8)) return 2;
    return 1;
  }
  if (op == "ADD") {
    if (s.InIs(0, kI64)) return 4;
    if (s.InIs(0, kI16) && s.OutIs(0, kI16) && !ir::GetBool(node.attrs, "pot_scale_int16", true)) {
      return 3;
    }
    if (s.InIs(0, kI8)) return 2;
    return 1;
  }
  if (op == "SUB") {
    if (s.InIs(0, kI16) && s.OutIs(0, kI16) && !ir::GetBool(node.attrs, "pot_scale_int16", true)) {
      return 5;
    }
    if (s.InIs(0, kI64)) return 4;
    if (s.NeedsBroadcast() && s.MaxInputRank() > 4) return 3;
    if (s.InIs(0, kI8)) return 2;
    return 1;
  }
  if (op == "MUL") {
    if (s.InIs(0, DType::kComplex64)) return 6;
    if (s.InIs(0, kI64)) return 5;
    if (s.InIs(0, kI16)) return 4;
    const ir::Tensor* a = s.In(0);
    const ir::Tensor* b = s.In(1);
    const ir::Tensor* o = s.Out(0);
    if (a != nullptr && b != nullptr && o != nullptr && a->quant.scale.size() == 1 &&
        b->quant.scale.size() == 1 && o->quant.scale.size() == 1 && a->quant.scale[0] != 0 &&
        b->quant.scale[0] != 0 && o->quant.scale[0] != 0 &&
        static_cast<double>(a->quant.scale[0]) * b->quant.scale[0] / o->quant.scale[0] >= 1.0) {
      return 3;
    }
    if (s.InIs(0, kI8)) return 2;
    return 1;
  }
  if (op == "DIV") return (s.NeedsBroadcast() && s.MaxInputRank() > 4) ? 2 : 1;
  if (op == "MAXIMUM" || op == "MINIMUM") {
    if (s.InIs(0, kI16) && s.OutIs(0, kI16)) return 4;
    if (s.NeedsBroadcast() && s.MaxInputRank() > 4) return 3;
    if (s.InIs(0, kI8)) return 2;
    return 1;
  }
  if (op == "CONCATENATION") {
    if (s.InIs(0, DType::kUInt32)) return 4;
    return SimpleTyped(s);
  }
  if (op == "SOFTMAX" || op == "MEAN" || op == "MIRROR_PAD" || op == "REDUCE_MAX" ||
      op == "REDUCE_MIN" || op == "RELU6" || op == "RSQRT") {
    return SimpleTyped(s);
  }
  if (op == "PAD" || op == "PADV2") {
    if (s.InRank(0) > 4) return 4;
    return SimpleTyped(s);
  }
  if (op == "STRIDED_SLICE") {
    if (s.Flag("offset")) return 8;
    if (s.InIs(0, DType::kUInt32)) return 7;
    if (!s.Int("ellipsis_mask", 0, 0) || !s.Int("new_axis_mask", 0, 0)) return 6;
    if (s.InIs(0, DType::kString)) return 5;
    if (s.InRank(0) > 4) return 4;
    if (s.InIs(0, DType::kBool)) return 3;
    if (s.InIs(0, kI8)) return 2;
    return 1;
  }
  if (op == "SLICE") {
    if (s.InIs(0, DType::kUInt32)) return 6;
    if (s.InRank(0) > 4) return 5;
    if (s.InIs(0, kI16)) return 4;
    if (s.InIs(0, DType::kString)) return 3;
    if (s.InIs(0, kI8)) return 2;
    return 1;
  }
  if (op == "SPLIT") {  // the data is input 1 (input 0 is the axis)
    if (s.InIs(1, kI16)) return 4;
    if (s.InIs(1, kI32)) return 3;
    if (s.InIs(1, kI8)) return 2;
    return 1;
  }
  if (op == "SPLIT_V" || op == "SUM" || op == "LOG_SOFTMAX" || op == "GREATER" ||
      op == "LESS_EQUAL" || op == "SQUARED_DIFFERENCE" || op == "DEPTH_TO_SPACE" ||
      op == "SPACE_TO_DEPTH") {
    return s.InIs(0, kI8) ? 2 : 1;
  }
  if (op == "LESS" || op == "GREATER_EQUAL") return SimpleTyped(s);
  if (op == "SQUEEZE") return s.InIs(0, DType::kString) ? 2 : 1;
  if (op == "PACK") {
    if (s.InIs(0, kI8)) return 2;
    if (s.InIs(0, kI16) && s.OutIs(0, kI16)) return 3;
    if (s.InIs(0, DType::kUInt32)) return 4;
    return 1;
  }
  if (op == "UNPACK") {
    if (s.InIs(0, kI8) || s.InIs(0, kU8)) return 2;
    if (s.InIs(0, DType::kBool)) return 3;
    if (s.InIs(0, kI16) && s.OutIs(0, kI16)) return 4;
    return 1;
  }
  if (op == "TRANSPOSE") {
    if (s.InRank(0) > 5) return 6;
    if (s.InIs(0, kI16)) return 5;
    if (s.InRank(0) > 4) return 4;
    if (s.InIs(0, DType::kBool)) return 3;
    if (s.InIs(0, kI8)) return 2;
    return 1;
  }
  if (op == "TANH" || op == "LOGISTIC") {
    if (s.InIs(0, kI16) && s.OutIs(0, kI16)) return 3;
    if (s.InIs(0, kI8)) return 2;
    return 1;
  }
  if (op == "RELU") {
    if (s.InIs(0, kI16)) return 3;
    if (s.InIs(0, kI8) || s.InIs(0, kU8)) return 2;
    return 1;
  }
  if (op == "LEAKY_RELU") return s.InIs(0, kI16) ? 2 : 1;
  if (op == "GELU") return (s.InIs(0, kI8) || s.InIs(0, kU8)) ? 2 : 1;
  if (op == "QUANTIZE") {
    const ir::Tensor* o = s.Out(0);
    if (o != nullptr && o->quant.scale.size() > 1) return 3;
    if (s.OutIs(0, kI16)) return 2;
    return 1;
  }
  if (op == "DEQUANTIZE") {
    if (s.InIs(0, kI16) || s.InIs(0, DType::kFloat16)) return 3;
    if (s.InIs(0, kI8)) {
      const ir::Tensor* in = s.In(0);
      return (in != nullptr && in->quant.scale.size() > 1) ? 5 : 2;
    }
    return 1;
  }
  if (op == "CAST") {
    auto either = [&](DType d) { return s.InIs(0, d) || s.OutIs(0, d); };
    if (either(DType::kFloat64) || either(DType::kFloat16)) return 5;
    if (either(DType::kUInt16)) return 4;
    if (either(kI8)) return 3;
    if (either(DType::kUInt32)) return 2;
    return 1;
  }
  if (op == "RESIZE_BILINEAR") {
    if (s.InIs(0, kI16)) return 4;
    if (s.Flag("half_pixel_centers")) return 3;
    if (s.InIs(0, kI8)) return 2;
    return 1;
  }
  if (op == "RESIZE_NEAREST_NEIGHBOR") {
    if (s.InIs(0, kI16)) return 4;
    if (s.Flag("half_pixel_centers") || s.Flag("align_corners")) return 3;
    if (s.InIs(0, kI8)) return 2;
    return 1;
  }
  if (op == "UNIDIRECTIONAL_SEQUENCE_LSTM") {
    if (s.InIs(0, kI16) && s.InIs(2, kI8) && s.OutIs(0, kI16)) return 5;
    if (s.Flag("diagonal_recurrent_tensors")) return 4;
    if (Hybrid(s, 2)) return s.Flag("asymmetric_quantize_inputs") ? 3 : 2;
    return 1;
  }
  if (op == "LSTM") {
    const bool full = s.Str("kernel_type", "FULL") == "FULL";
    if (full && s.InIs(0, kI16) && s.InIs(2, kI8) && s.OutIs(0, kI16)) return 5;
    if (full && Hybrid(s, 2)) return s.Flag("asymmetric_quantize_inputs") ? 4 : 3;
    if (!full) return 2;
    return 1;
  }
  if (op == "SVDF") {
    if (s.InIs(0, kI8)) return 3;
    if (Hybrid(s, 1)) return s.Flag("asymmetric_quantize_inputs") ? 4 : 2;
    return 1;
  }
  if (op == "RNN" || op == "UNIDIRECTIONAL_SEQUENCE_RNN" || op == "BIDIRECTIONAL_SEQUENCE_RNN" ||
      op == "BIDIRECTIONAL_SEQUENCE_LSTM") {
    if (s.InIs(1, kI8) && s.OutIs(0, kF32)) return s.Flag("asymmetric_quantize_inputs") ? 3 : 2;
    return 1;
  }
  if (op == "GATHER") {
    if (s.InIs(1, kI16)) return 6;
    if (!s.Int("batch_dims", 0, 0)) return 5;
    if (s.InIs(0, kI16)) return 4;
    if (s.InIs(0, DType::kBool)) return 3;
    if (s.InIs(0, kI8)) return 2;
    return 1;
  }
  if (op == "GATHER_ND") {
    if (s.InIs(0, DType::kBool)) return 5;
    if (s.InIs(1, kI16)) return 4;
    if (s.InIs(0, kI16)) return 3;
    if (s.InIs(0, DType::kString)) return 2;
    return 1;
  }
  if (op == "ARG_MAX" || op == "ARG_MIN") {
    if (s.InIs(0, DType::kBool)) return 3;
    if (s.InIs(0, kI8)) return 2;
    return 1;
  }
  if (op == "FAKE_QUANT") return s.Flag("narrow_range") ? 2 : 1;
  if (op == "L2_NORMALIZATION") return s.OutIs(0, kI8) ? 2 : 1;
  if (op == "ABS") {
    if (s.InIs(0, kI32)) return 5;
    if (s.InIs(0, kI16)) {
      const ir::Tensor* in = s.In(0);
      return (in != nullptr && !in->quant.scale.empty()) ? 3 : 4;
    }
    if (s.InIs(0, kI8) || s.InIs(0, kU8)) return 2;
    return 1;
  }
  if (op == "SPACE_TO_BATCH_ND" || op == "BATCH_TO_SPACE_ND") {
    if (s.InIs(0, kI16)) return 4;
    if (s.InRank(0) != 4) return 3;
    if (s.InIs(0, kI8)) return 2;
    return 1;
  }
  if (op == "TILE") {
    if (s.InIs(0, kI8)) return 3;
    if (s.InIs(0, DType::kString)) return 2;
    return 1;
  }
  if (op == "REVERSE_V2") {
    if (s.InIs(0, kI8)) return 3;
    if (s.InIs(0, DType::kBool)) return 2;
    return 1;
  }
  if (op == "EQUAL" || op == "NOT_EQUAL") {
    if (op == "EQUAL" && s.InIs(0, kI16)) return 4;
    if (s.InIs(0, DType::kString)) return 3;
    if (s.InIs(0, kI8)) return 2;
    return 1;
  }
  if (op == "SELECT") {
    if (s.InIs(0, DType::kUInt32)) return 4;
    if (s.InRank(0) == 5 || s.InRank(1) == 5 || s.InRank(2) == 5) return 3;
    if (s.InIs(0, kI8)) return 2;
    return 1;
  }
  if (op == "FILL") {
    if (s.InIs(1, kI8) || s.InIs(1, kI16)) return 3;
    if (s.InIs(1, DType::kBool) || s.InIs(1, DType::kString)) return 2;
    return 1;
  }
  if (op == "BATCH_MATMUL") {
    if (s.InIs(0, kI16)) return 3;
    if (s.InIs(0, kI8)) return 2;
    if (Hybrid(s, 1) && s.Flag("asymmetric_quantize_inputs")) return 4;
    return 1;
  }
  if (op == "TOPK_V2") {
    if (s.InIs(0, kI16) || s.InIs(1, kI16) || s.OutIs(1, kI16)) return 3;
    if (s.InIs(0, kI8)) return 2;
    return 1;
  }
  if (op == "EXP" || op == "LOG" || op == "REDUCE_PROD") {
    return (s.InIs(0, kI8) || s.InIs(0, kI16)) ? 2 : 1;
  }
  if (op == "FLOOR_DIV") return s.InIs(0, kF32) ? 2 : 1;
  if (op == "SPARSE_TO_DENSE") {
    if (s.InIs(2, kI8) || s.InIs(2, kU8)) return 3;
    if (s.InIs(2, kI64)) return 2;
    return 1;
  }
  if (op == "BROADCAST_TO") return (s.InIs(0, kI8) || s.InIs(0, kI16)) ? 3 : 2;
  if (op == "WHERE") return s.InIs(0, DType::kBool) ? 1 : 2;
  if (op == "RANGE") return s.InIs(0, kI64) ? 2 : 1;
  return 1;
}

StatusOr<int> SelectOpVersion(const ir::Graph& graph, const ir::Node& node,
                              const std::string& where) {
  const int version = RequiredOpVersion(graph, node);
  const int max = MaxVersionInTflite29(node.op);
  if (max == 0) {
    return MakeStatus(StatusCode::kUnsupported, "%s: TFLite 2.9 has no builtin op %s",
                      where.c_str(), node.op.c_str());
  }
  if (version > max || MinRuntimeVersion(node.op, version).empty()) {
    return MakeStatus(StatusCode::kUnsupported,
                      "%s: %s with these types/options needs version %d; "
                      "TFLite 2.9 supports up "
                      "to version %d",
                      where.c_str(), node.op.c_str(), version, max);
  }
  return version;
}

std::string MinRuntimeVersion(const std::string& op, int version) {
  const auto& map = RuntimeMap();
  auto it = map.find({op, version});
  return it == map.end() ? "" : it->second;
}

int MaxVersionInTflite29(const std::string& op) {
  int max = 0;
  const auto& map = RuntimeMap();
  for (auto it = map.lower_bound({op, 0}); it != map.end() && it->first.first == op; ++it) {
    max = std::max(max, it->first.second);
  }
  return max;
}

bool RuntimeVersionLess(const std::string& a, const std::string& b) {
  size_t i = 0, j = 0;
  while (i < a.size() && j < b.size()) {
    const size_t ei = std::min(a.find('.', i), a.size());
    const size_t ej = std::min(b.find('.', j), b.size());
    const long va = std::strtol(a.substr(i, ei - i).c_str(), nullptr, 10);
    const long vb = std::strtol(b.substr(j, ej - j).c_str(), nullptr, 10);
    if (va != vb) return va < vb;
    i = ei + 1;
    j = ej + 1;
  }
  // Equal so far: the one with components left over is larger.
  return i >= a.size() && j < b.size();
}

}  // namespace tfl
}  // namespace edgeopt
