#include "src/passes/export_passes.h"
#include "src/passes/pass_util.h"

namespace edgeopt {
namespace passes {

// TANH is not fused: TFLite's convolution and fully-connected kernels ignore a fused TANH (it is
// only meaningful for the LSTM cell), so it stays a separate node.
Status FuseActivations(ir::Graph* graph) {
  std::vector<bool> remove(graph->nodes.size(), false);
  for (size_t i = 0; i < graph->nodes.size(); ++i) {
    ir::Node& act = graph->nodes[i];
    if (act.op != "RELU" && act.op != "RELU6" && act.op != "RELU_N1_TO_1") continue;
    if (act.inputs.size() != 1 || act.outputs.size() != 1 || act.inputs[0] < 0) continue;
    const int x = act.inputs[0];
    const int p = graph->Producer(x);
    if (p < 0 || remove[p]) continue;
    ir::Node& producer = graph->nodes[p];
    if (!TakesFusedActivation(producer.op) || producer.outputs.size() != 1) continue;
    if (ir::GetString(producer.attrs, "fused_activation_function", "NONE") != "NONE") continue;
    if (NumConsumers(*graph, x) != 1 || graph->IsGraphOutput(x)) continue;
    if (graph->tensors[x].dtype != DType::kFloat32) continue;  // quantized ranges differ
    producer.attrs["fused_activation_function"] = act.op;
    producer.outputs[0] = act.outputs[0];
    remove[i] = true;
  }
  RemoveNodes(graph, remove);
  graph->RemoveUnusedTensors();
  return Status::Ok();
}

}  // namespace passes
}  // namespace edgeopt
