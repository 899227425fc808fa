// RESHAPE clean-up: the shape input becomes a constant of the (static) output shape; a RESHAPE of a
// RESHAPE reads the first one's input; and a RESHAPE to [batch, N] whose only reader is a
// FULLY_CONNECTED (keep_num_dims false, N inputs) is dropped, since FULLY_CONNECTED flattens its
// input to [-1, N] itself (this is how Keras's Flatten + Dense converts without an extra op).
#include "src/passes/export_passes.h"
#include "src/passes/pass_util.h"

namespace edgeopt {
namespace passes {
namespace {

bool StaticShape(const std::vector<int32_t>& shape) {
  for (int32_t d : shape) {
    if (d < 0) return false;
  }
  return true;
}

}  // namespace

Status FoldReshapes(ir::Graph* graph) {
  // Constant shapes.
  for (size_t i = 0; i < graph->nodes.size(); ++i) {
    ir::Node& n = graph->nodes[i];
    if (n.op != "RESHAPE" || n.outputs.size() != 1 || n.inputs.empty()) continue;
    const std::vector<int32_t> shape = graph->tensors[n.outputs[0]].shape;
    if (!StaticShape(shape)) continue;
    const bool has_const = n.inputs.size() >= 2 && n.inputs[1] >= 0 &&
                           IsConstant(*graph, n.inputs[1]) &&
                           ConstInts(*graph, n.inputs[1]) == shape;
    if (has_const) continue;
    const int k = graph->AddConstant(graph->tensors[n.outputs[0]].name + "/shape", DType::kInt32,
                                     {static_cast<int32_t>(shape.size())}, shape.data(),
                                     shape.size() * sizeof(int32_t));
    ir::Node& node = graph->nodes[i];
    node.inputs.resize(2);
    node.inputs[1] = k;
    node.attrs.erase("new_shape");
  }
  // Chains.
  for (size_t i = 0; i < graph->nodes.size(); ++i) {
    ir::Node& n = graph->nodes[i];
    if (n.op != "RESHAPE" || n.inputs.empty() || n.inputs[0] < 0) continue;
    const int p = graph->Producer(n.inputs[0]);
    if (p < 0 || graph->nodes[p].op != "RESHAPE") continue;
    const ir::Node& first = graph->nodes[p];
    if (first.inputs.empty() || first.inputs[0] < 0) continue;
    // The first reshape becomes dead when nothing else reads it (EliminateDeadCode).
    n.inputs[0] = first.inputs[0];
  }
  // RESHAPE [B, N] -> FULLY_CONNECTED.
  for (size_t i = 0; i < graph->nodes.size(); ++i) {
    ir::Node& fc = graph->nodes[i];
    if (fc.op != "FULLY_CONNECTED" || fc.inputs.size() < 2 || fc.inputs[0] < 0) continue;
    if (ir::GetBool(fc.attrs, "keep_num_dims", false)) continue;
    const int flat = fc.inputs[0];
    const int p = graph->Producer(flat);
    if (p < 0 || graph->nodes[p].op != "RESHAPE") continue;
    const ir::Node& reshape = graph->nodes[p];
    const ir::Tensor& flat_t = graph->tensors[flat];
    const ir::Tensor& w = graph->tensors[fc.inputs[1]];
    if (reshape.inputs.empty() || reshape.inputs[0] < 0) continue;
    const ir::Tensor& src = graph->tensors[reshape.inputs[0]];
    if (flat_t.shape.size() != 2 || w.shape.size() != 2 || w.shape[1] != flat_t.shape[1]) continue;
    if (src.shape.empty() || src.NumElements() != flat_t.NumElements()) continue;
    if (graph->IsGraphOutput(flat) || !src.quant.empty() || !flat_t.quant.empty()) continue;
    // The flattening must keep the batch: the leading dim of the source is the batch.
    if (src.shape[0] != flat_t.shape[0]) continue;
    fc.inputs[0] = reshape.inputs[0];
  }
  return EliminateDeadCode(graph);
}

}  // namespace passes
}  // namespace edgeopt
