#include "src/train/op_kernel.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>

#include "src/train/ops.h"

namespace edgeopt {
namespace train {

std::string OpKernel::Where() const {
  char buf[256];
  std::snprintf(buf, sizeof(buf), "node %d (%s%s%s)", node_index, node->op.c_str(),
                node->name.empty() ? "" : " ", node->name.c_str());
  return buf;
}

int64_t NumElements(const std::vector<int>& shape) {
  int64_t n = 1;
  for (int d : shape) n *= d;
  return n;
}

std::string ShapeString(const std::vector<int>& shape) {
  std::string s = "[";
  for (size_t i = 0; i < shape.size(); ++i) {
    if (i > 0) s += ",";
    s += std::to_string(shape[i]);
  }
  return s + "]";
}

void SetShape(Value* v, const std::vector<int>& shape) {
  v->shape = shape;
  v->size = NumElements(shape);
  if (static_cast<int64_t>(v->data.size()) < v->size) v->data.resize(v->size);
  if (v->requires_grad && static_cast<int64_t>(v->grad.size()) < v->size) {
    v->grad.resize(v->size);
  }
}

StatusOr<FusedAct> ParseFusedAct(const ir::Node& node) {
  const std::string a = ir::GetString(node.attrs, "fused_activation_function", "NONE");
  if (a == "NONE" || a.empty()) return FusedAct::kNone;
  if (a == "RELU") return FusedAct::kRelu;
  if (a == "RELU6") return FusedAct::kRelu6;
  if (a == "RELU_N1_TO_1") return FusedAct::kReluN1To1;
  if (a == "TANH") return FusedAct::kTanh;
  return MakeStatus(StatusCode::kUnsupported, "%s %s: fused activation %s cannot be trained",
                    node.op.c_str(), node.name.c_str(), a.c_str());
}

void ApplyFusedAct(FusedAct act, float* __restrict y, int64_t n) {
  switch (act) {
    case FusedAct::kNone:
    case FusedAct::kSignBit:
      return;
    case FusedAct::kRelu:
      for (int64_t i = 0; i < n; ++i) y[i] = std::max(y[i], 0.0f);
      return;
    case FusedAct::kRelu6:
      for (int64_t i = 0; i < n; ++i) y[i] = std::min(std::max(y[i], 0.0f), 6.0f);
      return;
    case FusedAct::kReluN1To1:
      for (int64_t i = 0; i < n; ++i) y[i] = std::min(std::max(y[i], -1.0f), 1.0f);
      return;
    case FusedAct::kTanh:
      for (int64_t i = 0; i < n; ++i) y[i] = std::tanh(y[i]);
      return;
  }
}

namespace {

// Bit mask of a comparison result: GCC vectorizes "g & mask" but not "cond ? g
// : 0" (float compares may trap without -fno-trapping-math).
inline float KeepIf(bool keep, float g) {
  uint32_t bits;
  std::memcpy(&bits, &g, 4);
  bits &= -static_cast<uint32_t>(keep);
  float out;
  std::memcpy(&out, &bits, 4);
  return out;
}

}  // namespace

void FusedActBackward(FusedAct act, const float* __restrict y, float* __restrict g, int64_t n) {
  switch (act) {
    case FusedAct::kNone:
    case FusedAct::kSignBit:
      return;
    case FusedAct::kRelu:
      for (int64_t i = 0; i < n; ++i) g[i] = KeepIf(y[i] > 0.0f, g[i]);
      return;
    case FusedAct::kRelu6:
      for (int64_t i = 0; i < n; ++i) g[i] = KeepIf((y[i] > 0.0f) & (y[i] < 6.0f), g[i]);
      return;
    case FusedAct::kReluN1To1:
      for (int64_t i = 0; i < n; ++i) g[i] = KeepIf((y[i] > -1.0f) & (y[i] < 1.0f), g[i]);
      return;
    case FusedAct::kTanh:
      for (int64_t i = 0; i < n; ++i) g[i] *= 1.0f - y[i] * y[i];
      return;
  }
}

Status MakeWindow(const std::string& padding, int in, int k, int stride, int dilation,
                  const std::string& where, Window* w) {
  EDGEOPT_ENSURE(k >= 1 && stride >= 1 && dilation >= 1 && in >= 1, StatusCode::kInvalidModel,
                 "%s: window %d, stride %d, dilation %d over %d values", where.c_str(), k, stride,
                 dilation, in);
  w->in = in;
  w->k = k;
  w->stride = stride;
  w->dilation = dilation;
  const int eff = (k - 1) * dilation + 1;
  if (padding == "SAME") {
    w->out = (in + stride - 1) / stride;
    const int total = std::max((w->out - 1) * stride + eff - in, 0);
    w->pad_before = total / 2;
  } else if (padding == "VALID") {
    EDGEOPT_ENSURE(in >= eff, StatusCode::kInvalidModel,
                   "%s: VALID window of %d does not fit %d values", where.c_str(), eff, in);
    w->out = (in - eff) / stride + 1;
    w->pad_before = 0;
  } else {
    return MakeStatus(StatusCode::kUnsupported, "%s: padding '%s'", where.c_str(), padding.c_str());
  }
  return Status::Ok();
}

namespace {

using Factory = std::unique_ptr<OpKernel> (*)();

struct OpEntry {
  const char* op;
  Factory create;
};

// The explicit op table (no static self-registration). Keep sorted by family.
const OpEntry kOps[] = {
    // Dense / convolution (ops_dense.cc).
    {"FULLY_CONNECTED", NewFullyConnected},
    {"CONV_2D", NewConv2D},
    {"DEPTHWISE_CONV_2D", NewDepthwiseConv2D},
    {"TRANSPOSE_CONV", NewTransposeConv},  // ops_transpose_conv.cc
    {"BATCH_MATMUL", NewBatchMatMul},      // ops_batch_matmul.cc
    // Normalization and regularization (ops_norm.cc).
    {"BATCH_NORM", NewBatchNorm},
    {"DROPOUT", NewDropout},
    {"L2_NORMALIZATION", NewL2Normalization},
    // Pooling and reductions (ops_pool.cc).
    {"MAX_POOL_2D", NewMaxPool2D},
    {"AVERAGE_POOL_2D", NewAveragePool2D},
    {"MEAN", NewMean},
    {"SUM", NewSum},
    {"REDUCE_MAX", NewReduceMax},
    {"REDUCE_MIN", NewReduceMin},
    // Element-wise (ops_elementwise.cc).
    {"RELU", NewRelu},
    {"RELU6", NewRelu6},
    {"RELU_N1_TO_1", NewReluN1To1},
    {"LEAKY_RELU", NewLeakyRelu},
    {"LOGISTIC", NewLogistic},
    {"TANH", NewTanh},
    {"HARD_SWISH", NewHardSwish},
    {"ELU", NewElu},
    {"GELU", NewGelu},
    {"RSQRT", NewRsqrt},
    {"PRELU", NewPrelu},
    {"EXP", NewExp},
    {"ABS", NewAbs},
    {"NEG", NewNeg},
    {"LOG", NewLog},
    {"SQRT", NewSqrt},
    {"SQUARE", NewSquare},
    {"SOFTMAX", NewSoftmax},
    {"LOG_SOFTMAX", NewLogSoftmax},
    {"ADD", NewAdd},
    {"SUB", NewSub},
    {"MUL", NewMul},
    {"DIV", NewDiv},
    {"MAXIMUM", NewMaximum},
    {"MINIMUM", NewMinimum},
    {"SQUARED_DIFFERENCE", NewSquaredDifference},
    {"NOT_EQUAL", NewNotEqual},
    {"EQUAL", NewEqual},
    {"GREATER", NewGreater},
    {"GREATER_EQUAL", NewGreaterEqual},
    {"LESS", NewLess},
    {"LESS_EQUAL", NewLessEqual},
    {"LOGICAL_AND", NewLogicalAnd},
    {"LOGICAL_OR", NewLogicalOr},
    {"LOGICAL_NOT", NewLogicalNot},
    {"POW", NewPow},
    {"SIN", NewSin},
    {"COS", NewCos},
    {"FLOOR", NewFloor},
    {"CEIL", NewCeil},
    {"ROUND", NewRound},
    {"TILE", NewTile},
    {"CAST", NewCast},
    {"ARG_MAX", NewArgMax},
    {"ARG_MIN", NewArgMin},
    {"SELECT_V2", NewSelectV2},
    // Layout (ops_shape.cc).
    {"RESHAPE", NewReshape},
    {"SQUEEZE", NewReshape},
    {"EXPAND_DIMS", NewReshape},
    {"CONCATENATION", NewConcatenation},
    {"PAD", NewPad},
    {"SLICE", NewSlice},
    {"STRIDED_SLICE", NewStridedSlice},
    // Resizing (ops_resize.cc).
    {"RESIZE_NEAREST_NEIGHBOR", NewResizeNearestNeighbor},
    {"RESIZE_BILINEAR", NewResizeBilinear},
    {"TRANSPOSE", NewTranspose},
    {"DEPTH_TO_SPACE", NewDepthToSpace},
    {"SPACE_TO_DEPTH", NewSpaceToDepth},
    {"EMBEDDING", NewEmbedding},
    // Recurrent (ops_recurrent.cc).
    {"UNIDIRECTIONAL_SEQUENCE_LSTM", NewLstm},
    // Quantization-aware training (ops_quant.cc, fake_quant.h): forward rounds as the int8
    // kernels do, backward is the straight-through estimator.
    {"FAKE_QUANT_WEIGHT", NewFakeQuantWeight},
    {"FAKE_QUANT_ACT", NewFakeQuantAct},
};

}  // namespace

bool IsTrainableOp(const std::string& op) {
  for (const OpEntry& e : kOps) {
    if (op == e.op) return true;
  }
  return false;
}

StatusOr<std::unique_ptr<OpKernel>> CreateKernel(const ir::Graph& graph, int node_index) {
  const ir::Node& node = graph.nodes[node_index];
  for (const OpEntry& e : kOps) {
    if (node.op == e.op) {
      std::unique_ptr<OpKernel> k = e.create();
      k->node = &node;
      k->node_index = node_index;
      k->in = node.inputs;
      k->out = node.outputs;
      k->overwrite.assign(node.inputs.size(), true);
      return k;
    }
  }
  return MakeStatus(StatusCode::kUnsupported,
                    "node %d (%s %s): the train engine has no gradient for op %s", node_index,
                    node.op.c_str(), node.name.c_str(), node.op.c_str());
}

}  // namespace train
}  // namespace edgeopt
