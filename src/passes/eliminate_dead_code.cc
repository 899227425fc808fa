#include "src/passes/export_passes.h"
#include "src/passes/pass_util.h"

namespace edgeopt {
namespace passes {

Status EliminateDeadCode(ir::Graph* graph) {
  std::vector<bool> needed(graph->tensors.size(), false);
  for (int t : graph->outputs) needed[t] = true;
  std::vector<bool> remove(graph->nodes.size(), true);
  for (int i = static_cast<int>(graph->nodes.size()) - 1; i >= 0; --i) {
    const ir::Node& n = graph->nodes[i];
    bool live = false;
    for (int o : n.outputs) live = live || (o >= 0 && needed[o]);
    // Nodes that update variable tensors (stateful ops) are kept when their
    // result is used; there are no side-effect-only nodes in exported graphs.
    if (!live) continue;
    remove[i] = false;
    for (int in : n.inputs) {
      if (in >= 0) needed[in] = true;
    }
  }
  RemoveNodes(graph, remove);
  graph->RemoveUnusedTensors();
  return Status::Ok();
}

}  // namespace passes
}  // namespace edgeopt
