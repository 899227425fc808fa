#include "src/runtime/model_stats.h"

#include <utility>
#include <vector>

#include "src/core/dtype.h"
#include "src/core/float16.h"

namespace edgeopt {
namespace rt {
namespace {

int64_t ElementsOf(const Tensor* t) { return t != nullptr ? t->dims.NumElements() : 0; }

double ZeroFraction(const Tensor& t) {
  const int64_t n = t.dims.NumElements();
  if (n == 0 || t.sparsity != nullptr) return -1;
  int64_t zeros = 0;
  switch (t.type) {
    case DType::kFloat32:
      for (int64_t i = 0; i < n; ++i) zeros += t.Data<float>()[i] == 0.0f;
      break;
    case DType::kFloat16:
      for (int64_t i = 0; i < n; ++i) zeros += (t.Data<uint16_t>()[i] & 0x7FFF) == 0;
      break;
    case DType::kInt8:
      for (int64_t i = 0; i < n; ++i) zeros += t.Data<int8_t>()[i] == 0;
      break;
    case DType::kUInt8: {
      const int32_t zp = t.quant.zero_point;
      for (int64_t i = 0; i < n; ++i) zeros += t.Data<uint8_t>()[i] == zp;
      break;
    }
    default:
      return -1;
  }
  return static_cast<double>(zeros) / static_cast<double>(n);
}

// Nonzero values of a constant tensor: all its elements, or for a sparse tensor the values it
// stores (block layouts store some zeros too).
int64_t NonZeros(const Tensor& t) {
  const int64_t n = t.sparsity != nullptr ? static_cast<int64_t>(t.bytes / DTypeSize(t.type))
                                          : t.dims.NumElements();
  int64_t nonzero = 0;
  switch (t.type) {
    case DType::kFloat32:
      for (int64_t i = 0; i < n; ++i) nonzero += t.Data<float>()[i] != 0.0f;
      break;
    case DType::kFloat16:
      for (int64_t i = 0; i < n; ++i) nonzero += (t.Data<uint16_t>()[i] & 0x7FFF) != 0;
      break;
    case DType::kInt8:
      for (int64_t i = 0; i < n; ++i) nonzero += t.Data<int8_t>()[i] != 0;
      break;
    case DType::kUInt8: {
      const int32_t zp = t.quant.zero_point;
      for (int64_t i = 0; i < n; ++i) nonzero += t.Data<uint8_t>()[i] != zp;
      break;
    }
    case DType::kInt16:
      for (int64_t i = 0; i < n; ++i) nonzero += t.Data<int16_t>()[i] != 0;
      break;
    case DType::kInt32:
      for (int64_t i = 0; i < n; ++i) nonzero += t.Data<int32_t>()[i] != 0;
      break;
    case DType::kInt64:  // the 16x8 kernels' biases
      for (int64_t i = 0; i < n; ++i) nonzero += t.Data<int64_t>()[i] != 0;
      break;
    default:
      nonzero = n;
      break;
  }
  return nonzero;
}

// Multiply-accumulates of one node (0 for ops that have none), and the node's weight tensor
// (null if none).
int64_t NodeMacs(Interpreter* interp, const Node& node, const Tensor** weights) {
  using Op = tflite::BuiltinOperator;
  auto in = [&](int k) -> const Tensor* {
    if (k >= node.num_inputs || node.inputs[k] < 0) return nullptr;
    return interp->tensor(node.inputs[k]);
  };
  auto out = [&](int k) -> const Tensor* {
    if (k >= node.num_outputs || node.outputs[k] < 0) return nullptr;
    return interp->tensor(node.outputs[k]);
  };
  int64_t macs = 0;
  const Tensor* w = nullptr;
  switch (node.op) {
    case Op::CONV_2D:
      w = in(1);
      if (w != nullptr && w->dims.size == 4) macs = ElementsOf(out(0)) * w->dims.FlatSize(1, 4);
      break;
    case Op::DEPTHWISE_CONV_2D:
      w = in(1);
      if (w != nullptr && w->dims.size == 4) macs = ElementsOf(out(0)) * w->dims.FlatSize(1, 3);
      break;
    case Op::FULLY_CONNECTED:
      w = in(1);
      if (w != nullptr && w->dims.size == 2) macs = ElementsOf(out(0)) * w->dims[1];
      break;
    case Op::TRANSPOSE_CONV:
      w = in(1);
      if (w != nullptr && w->dims.size == 4) macs = ElementsOf(in(2)) * w->dims.FlatSize(0, 3);
      break;
    case Op::UNIDIRECTIONAL_SEQUENCE_LSTM: {
      const Tensor* input = in(0);
      const Tensor* w_ih = in(2);  // input_to_forget_weights [n_cell, n_input]
      const Tensor* w_hh = in(6);  // recurrent_to_forget_weights [n_cell, n_output]
      if (input != nullptr && w_ih != nullptr && w_hh != nullptr && input->dims.size >= 2) {
        const int64_t steps = input->dims.FlatSize(0, input->dims.size - 1);
        macs = steps * 4 * (ElementsOf(w_ih) + ElementsOf(w_hh));
      }
      break;
    }
    case Op::SVDF: {
      const Tensor* input = in(0);
      const Tensor* wf = in(1);
      const Tensor* wt = in(2);
      if (input != nullptr && wf != nullptr && wt != nullptr && input->dims.size == 2) {
        macs = input->dims[0] * (ElementsOf(wf) + ElementsOf(wt));
      }
      break;
    }
    case Op::BATCH_MATMUL: {
      const Tensor* a = in(0);
      const Tensor* o = out(0);
      if (a != nullptr && o != nullptr && a->dims.size >= 2) {
        macs = ElementsOf(o) * a->dims[a->dims.size - 1];
      }
      break;
    }
    default:
      break;
  }
  *weights = w;
  return macs;
}

}  // namespace

ModelStats ComputeModelStats(Interpreter* interp) {
  ModelStats s;
  s.node_macs.assign(interp->num_nodes(), 0);
  s.tensor_sparsity.assign(interp->num_tensors(), -1.0);
  std::vector<uint8_t> is_weight(interp->num_tensors(), 0);
  for (int i = 0; i < interp->num_nodes(); ++i) {
    const Node& node = interp->node(i);
    const Tensor* w = nullptr;
    const int64_t macs = NodeMacs(interp, node, &w);
    s.node_macs[i] = macs;
    s.total_macs += macs;
    for (int k = 1; k < node.num_inputs; ++k) {
      if (node.inputs[k] >= 0) is_weight[node.inputs[k]] = 1;
    }
  }
  for (int t = 0; t < interp->num_tensors(); ++t) {
    const Tensor* tensor = interp->tensor(t);
    if (tensor->allocation != Allocation::kConstant || tensor->folded) continue;
    s.constant_bytes += static_cast<int64_t>(tensor->bytes);
    if (tensor->type == DType::kFloat32 || tensor->type == DType::kFloat16 ||
        tensor->type == DType::kInt8 || tensor->type == DType::kUInt8 ||
        tensor->type == DType::kInt16 ||
        ((tensor->type == DType::kInt32 || tensor->type == DType::kInt64) &&
         tensor->dims.size == 1 && tensor->quant.IsQuantized())) {
      s.parameters += tensor->dims.NumElements();
      s.nonzero_parameters += NonZeros(*tensor);
    }
    if (is_weight[t] && tensor->dims.size >= 2) s.tensor_sparsity[t] = ZeroFraction(*tensor);
  }
  return s;
}

int64_t EstimateWork(Interpreter* interp, int64_t scan_below) {
  using Op = tflite::BuiltinOperator;
  // Each layer's MACs and weights, in one pass. Sparse weights reach their layer through a
  // DENSIFY of the stored tensor, which comes first in the node order.
  std::vector<int> densified_from(interp->num_tensors(), -1);
  std::vector<std::pair<int64_t, const Tensor*>> layers;
  int64_t dense = 0;
  for (int i = 0; i < interp->num_nodes(); ++i) {
    const Node& node = interp->node(i);
    if (node.op == Op::DENSIFY && node.num_inputs > 0 && node.num_outputs > 0 &&
        node.outputs[0] >= 0) {
      densified_from[node.outputs[0]] = node.inputs[0];
    }
    if ((node.op == Op::CONV_2D || node.op == Op::DEPTHWISE_CONV_2D ||
         node.op == Op::FULLY_CONNECTED || node.op == Op::TRANSPOSE_CONV) &&
        node.num_outputs > 0 && node.outputs[0] >= 0 &&
        interp->tensor(node.outputs[0])->dims.size == 0) {
      return -1;  // the file gives no output shape
    }
    const Tensor* w = nullptr;
    const int64_t macs = NodeMacs(interp, node, &w);
    if (w != nullptr && node.inputs[1] >= 0 && densified_from[node.inputs[1]] >= 0) {
      w = interp->tensor(densified_from[node.inputs[1]]);
    }
    if (macs > 0) layers.emplace_back(macs, w);
    dense += macs;
  }
  if (dense >= scan_below) return dense;
  double work = 0;
  for (const auto& [macs, w] : layers) {
    double density = 1.0;
    if (w != nullptr && w->allocation == Allocation::kConstant && w->dims.NumElements() > 0) {
      density = static_cast<double>(NonZeros(*w)) / static_cast<double>(w->dims.NumElements());
    }
    work += static_cast<double>(macs) * density;
  }
  return static_cast<int64_t>(work);
}

}  // namespace rt
}  // namespace edgeopt
