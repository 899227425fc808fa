// Evaluates nodes whose inputs are all constant: RESHAPE / EXPAND_DIMS /
// SQUEEZE (a new shape for the same data), TRANSPOSE, SLICE, and float ADD / SUB / MUL
// / DIV / MAXIMUM / MINIMUM with numpy broadcasting (and their fused
// RELU/RELU6/RELU_N1_TO_1).
#include <algorithm>
#include <cmath>
#include <cstring>

#include "src/passes/export_passes.h"
#include "src/passes/pass_util.h"

namespace edgeopt {
namespace passes {
namespace {

std::vector<int64_t> Strides(const std::vector<int32_t>& shape) {
  std::vector<int64_t> s(shape.size(), 1);
  for (int i = static_cast<int>(shape.size()) - 2; i >= 0; --i) s[i] = s[i + 1] * shape[i + 1];
  return s;
}

// Index into a broadcast operand for the output index `out_index`.
int64_t BroadcastIndex(const std::vector<int32_t>& out_shape, int64_t out_index,
                       const std::vector<int32_t>& in_shape) {
  const std::vector<int64_t> out_strides = Strides(out_shape);
  const std::vector<int64_t> in_strides = Strides(in_shape);
  const size_t offset = out_shape.size() - in_shape.size();
  int64_t index = 0;
  for (size_t d = 0; d < out_shape.size(); ++d) {
    const int64_t coord = (out_index / out_strides[d]) % out_shape[d];
    if (d < offset) continue;
    const size_t k = d - offset;
    if (in_shape[k] != 1) index += coord * in_strides[k];
  }
  return index;
}

float Activate(float v, const std::string& act) {
  if (act == "RELU") return std::max(v, 0.0f);
  if (act == "RELU6") return std::min(std::max(v, 0.0f), 6.0f);
  if (act == "RELU_N1_TO_1") return std::min(std::max(v, -1.0f), 1.0f);
  return v;
}

bool EvalBinary(const ir::Graph& graph, const ir::Node& n, std::vector<float>* out) {
  const ir::Tensor& a = graph.tensors[n.inputs[0]];
  const ir::Tensor& b = graph.tensors[n.inputs[1]];
  const ir::Tensor& y = graph.tensors[n.outputs[0]];
  if (!IsFloatConstant(graph, n.inputs[0]) || !IsFloatConstant(graph, n.inputs[1])) return false;
  if (a.shape.size() > y.shape.size() || b.shape.size() > y.shape.size()) return false;
  const std::vector<float> av = ConstFloats(graph, n.inputs[0]);
  const std::vector<float> bv = ConstFloats(graph, n.inputs[1]);
  const std::string act = ir::GetString(n.attrs, "fused_activation_function", "NONE");
  const int64_t count = y.NumElements();
  out->resize(static_cast<size_t>(count));
  for (int64_t i = 0; i < count; ++i) {
    const float x = av[BroadcastIndex(y.shape, i, a.shape)];
    const float z = bv[BroadcastIndex(y.shape, i, b.shape)];
    float r;
    if (n.op == "ADD") {
      r = x + z;
    } else if (n.op == "SUB") {
      r = x - z;
    } else if (n.op == "MUL") {
      r = x * z;
    } else if (n.op == "DIV") {
      r = x / z;
    } else if (n.op == "MAXIMUM") {
      r = std::max(x, z);
    } else {
      r = std::min(x, z);
    }
    (*out)[i] = Activate(r, act);
  }
  return true;
}

bool EvalTranspose(const ir::Graph& graph, const ir::Node& n, std::vector<uint8_t>* out) {
  const ir::Tensor& x = graph.tensors[n.inputs[0]];
  const std::vector<int32_t> perm = ConstInts(graph, n.inputs[1]);
  if (perm.size() != x.shape.size()) return false;
  const size_t elem = DTypeSize(x.dtype);
  if (elem == 0 || x.data.size() != x.ByteSize()) return false;
  std::vector<int32_t> out_shape(perm.size());
  for (size_t d = 0; d < perm.size(); ++d) {
    if (perm[d] < 0 || perm[d] >= static_cast<int32_t>(perm.size())) return false;
    out_shape[d] = x.shape[perm[d]];
  }
  const std::vector<int64_t> in_strides = Strides(x.shape);
  const std::vector<int64_t> out_strides = Strides(out_shape);
  const int64_t count = x.NumElements();
  out->resize(x.data.size());
  for (int64_t o = 0; o < count; ++o) {
    int64_t src = 0;
    for (size_t d = 0; d < perm.size(); ++d) {
      src += ((o / out_strides[d]) % out_shape[d]) * in_strides[perm[d]];
    }
    std::memcpy(out->data() + o * elem, x.data.data() + src * elem, elem);
  }
  return true;
}

// SLICE(x, begin, size) with constant begin / size (size -1: to the end), any element type.
bool EvalSlice(const ir::Graph& graph, const ir::Node& n, std::vector<uint8_t>* out) {
  const ir::Tensor& x = graph.tensors[n.inputs[0]];
  const std::vector<int32_t> begin = ConstInts(graph, n.inputs[1]);
  std::vector<int32_t> size = ConstInts(graph, n.inputs[2]);
  const size_t rank = x.shape.size();
  const size_t elem = DTypeSize(x.dtype);
  if (begin.size() != rank || size.size() != rank || elem == 0 || x.data.size() != x.ByteSize()) {
    return false;
  }
  int64_t count = 1;
  for (size_t d = 0; d < rank; ++d) {
    if (size[d] == -1) size[d] = x.shape[d] - begin[d];
    if (begin[d] < 0 || size[d] < 0 || begin[d] + int64_t{size[d]} > x.shape[d]) return false;
    count *= size[d];
  }
  const std::vector<int64_t> in_strides = Strides(x.shape);
  const std::vector<int64_t> out_strides = Strides(size);
  out->resize(static_cast<size_t>(count) * elem);
  for (int64_t o = 0; o < count; ++o) {
    int64_t src = 0;
    for (size_t d = 0; d < rank; ++d) {
      src += ((o / out_strides[d]) % size[d] + begin[d]) * in_strides[d];
    }
    std::memcpy(out->data() + o * elem, x.data.data() + src * elem, elem);
  }
  return true;
}

}  // namespace

Status FoldConstants(ir::Graph* graph) {
  std::vector<bool> remove(graph->nodes.size(), false);
  for (size_t i = 0; i < graph->nodes.size(); ++i) {
    const ir::Node& n = graph->nodes[i];
    if (n.outputs.size() != 1 || n.inputs.empty()) continue;
    bool all_constant = true;
    for (int t : n.inputs) all_constant = all_constant && t >= 0 && IsConstant(*graph, t);
    const int out = n.outputs[0];
    if (!all_constant || graph->IsGraphOutput(out)) continue;
    ir::Tensor& y = graph->tensors[out];
    const ir::Tensor& x = graph->tensors[n.inputs[0]];
    if (x.has_sparsity || !x.quant.empty()) continue;
    std::vector<uint8_t> data;
    if (n.op == "RESHAPE" || n.op == "EXPAND_DIMS" || n.op == "SQUEEZE") {
      if (y.dtype != x.dtype || y.NumElements() != x.NumElements()) continue;
      data = x.data;
    } else if (n.op == "TRANSPOSE" && n.inputs.size() == 2) {
      if (!EvalTranspose(*graph, n, &data)) continue;
    } else if (n.op == "SLICE" && n.inputs.size() == 3) {
      if (!EvalSlice(*graph, n, &data)) continue;
    } else if ((n.op == "ADD" || n.op == "SUB" || n.op == "MUL" || n.op == "DIV" ||
                n.op == "MAXIMUM" || n.op == "MINIMUM") &&
               n.inputs.size() == 2 && y.dtype == DType::kFloat32) {
      std::vector<float> values;
      if (!EvalBinary(*graph, n, &values)) continue;
      data.resize(values.size() * sizeof(float));
      if (!values.empty()) std::memcpy(data.data(), values.data(), data.size());
    } else {
      continue;
    }
    if (data.size() != y.ByteSize()) continue;
    y.is_constant = true;
    y.data = std::move(data);
    y.quant = x.quant;
    remove[i] = true;
  }
  RemoveNodes(graph, remove);
  graph->RemoveUnusedTensors();
  return Status::Ok();
}

}  // namespace passes
}  // namespace edgeopt
