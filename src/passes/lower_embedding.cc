#include <algorithm>

#include "src/passes/export_passes.h"

namespace edgeopt {
namespace passes {

// EMBEDDING(ids, table) -> CAST(ids) to int32 + GATHER(table, ids) {axis 0}: the ops TFLite runs
// (the official converter lowers a Keras Embedding the same way).
Status LowerEmbedding(ir::Graph* graph) {
  if (std::none_of(graph->nodes.begin(), graph->nodes.end(),
                   [](const ir::Node& n) { return n.op == "EMBEDDING"; })) {
    return Status::Ok();  // every model without one: no copy of its nodes
  }
  const size_t count = graph->nodes.size();
  std::vector<ir::Node> lowered;
  lowered.reserve(count);
  for (size_t i = 0; i < count; ++i) {
    ir::Node node = graph->nodes[i];
    if (node.op != "EMBEDDING") {
      lowered.push_back(std::move(node));
      continue;
    }
    EDGEOPT_ENSURE(node.inputs.size() == 2 && node.inputs[0] >= 0 && node.inputs[1] >= 0 &&
                       node.outputs.size() == 1,
                   StatusCode::kInvalidModel, "EMBEDDING node '%s' needs (ids, table) -> rows",
                   node.name.c_str());
    const ir::Tensor& ids = graph->tensors[node.inputs[0]];
    const int ids32 = graph->AddActivation(ids.name + "/int32", DType::kInt32, ids.shape);
    ir::Node cast;
    cast.op = "CAST";
    cast.name = node.name;
    cast.inputs = {node.inputs[0]};
    cast.outputs = {ids32};
    ir::Node gather;
    gather.op = "GATHER";
    gather.name = node.name;
    gather.inputs = {node.inputs[1], ids32};
    gather.outputs = node.outputs;
    gather.attrs["axis"] = int64_t{0};
    gather.attrs["batch_dims"] = int64_t{0};
    lowered.push_back(std::move(cast));
    lowered.push_back(std::move(gather));
  }
  graph->nodes = std::move(lowered);
  return Status::Ok();
}

}  // namespace passes
}  // namespace edgeopt
