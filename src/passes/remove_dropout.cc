#include "src/passes/export_passes.h"
#include "src/passes/pass_util.h"

namespace edgeopt {
namespace passes {

Status RemoveDropout(ir::Graph* graph) {
  std::vector<bool> remove(graph->nodes.size(), false);
  for (size_t i = 0; i < graph->nodes.size(); ++i) {
    if (graph->nodes[i].op != "DROPOUT") continue;
    if (!BypassNode(graph, static_cast<int>(i), &remove)) {
      // Input straight to output: keep the tensor, as a no-op RESHAPE.
      ir::Node& n = graph->nodes[i];
      const ir::Tensor& out = graph->tensors[n.outputs[0]];
      std::vector<int32_t> shape = out.shape;
      const int k = graph->AddConstant(out.name + "/shape", DType::kInt32,
                                       {static_cast<int32_t>(shape.size())}, shape.data(),
                                       shape.size() * sizeof(int32_t));
      ir::Node& node = graph->nodes[i];
      node.op = "RESHAPE";
      node.attrs.clear();
      node.inputs = {node.inputs[0], k};
    }
  }
  RemoveNodes(graph, remove);
  graph->RemoveUnusedTensors();
  return Status::Ok();
}

}  // namespace passes
}  // namespace edgeopt
