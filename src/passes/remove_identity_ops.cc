// Removes ops that return their input unchanged: RESHAPE / SQUEEZE /
// EXPAND_DIMS to the same shape, TRANSPOSE by the identity permutation, PAD by
// zeros, ADD / SUB of zeros and MUL / DIV by ones (no fused activation, no
// broadcasting that grows the output), single-input CONCATENATION, DROPOUT.
#include "src/passes/export_passes.h"
#include "src/passes/pass_util.h"

namespace edgeopt {
namespace passes {
namespace {

bool AllEqual(const std::vector<float>& v, float x) {
  for (float f : v) {
    if (f != x) return false;
  }
  return true;
}

bool IsIdentity(const ir::Graph& graph, const ir::Node& n) {
  if (n.inputs.empty() || n.inputs[0] < 0 || n.outputs.size() != 1) return false;
  const ir::Tensor& x = graph.tensors[n.inputs[0]];
  const ir::Tensor& y = graph.tensors[n.outputs[0]];
  if (x.shape != y.shape || x.dtype != y.dtype) return false;
  if (n.op == "RESHAPE" || n.op == "SQUEEZE" || n.op == "EXPAND_DIMS" || n.op == "DROPOUT") {
    return true;
  }
  if (n.op == "CONCATENATION") return n.inputs.size() == 1;
  if (n.op == "TRANSPOSE" && n.inputs.size() == 2 && IsConstant(graph, n.inputs[1])) {
    const std::vector<int32_t> perm = ConstInts(graph, n.inputs[1]);
    for (size_t i = 0; i < perm.size(); ++i) {
      if (perm[i] != static_cast<int32_t>(i)) return false;
    }
    return true;
  }
  if (n.op == "PAD" && n.inputs.size() == 2 && IsConstant(graph, n.inputs[1])) {
    for (int32_t p : ConstInts(graph, n.inputs[1])) {
      if (p != 0) return false;
    }
    return true;
  }
  if ((n.op == "ADD" || n.op == "SUB" || n.op == "MUL" || n.op == "DIV") && n.inputs.size() == 2 &&
      IsFloatConstant(graph, n.inputs[1]) && x.dtype == DType::kFloat32 && x.quant.empty()) {
    if (ir::GetString(n.attrs, "fused_activation_function", "NONE") != "NONE") return false;
    const std::vector<float> k = ConstFloats(graph, n.inputs[1]);
    return (n.op == "ADD" || n.op == "SUB") ? AllEqual(k, 0.0f) : AllEqual(k, 1.0f);
  }
  return false;
}

}  // namespace

Status RemoveIdentityOps(ir::Graph* graph) {
  std::vector<bool> remove(graph->nodes.size(), false);
  for (size_t i = 0; i < graph->nodes.size(); ++i) {
    if (IsIdentity(*graph, graph->nodes[i])) BypassNode(graph, static_cast<int>(i), &remove);
  }
  RemoveNodes(graph, remove);
  graph->RemoveUnusedTensors();
  return Status::Ok();
}

}  // namespace passes
}  // namespace edgeopt
