// TFLite 2.9's float CONV_2D refuses a convolution without a bias ("has_bias
// was not true") and DEPTHWISE_CONV_2D crashes on one, so bias-less
// convolutions (use_bias=False, the depthwise half of SeparableConv2D) get a
// zero bias, as the official converter writes.
#include "src/passes/export_passes.h"
#include "src/passes/pass_util.h"

namespace edgeopt {
namespace passes {

Status AddMissingBiases(ir::Graph* graph) {
  for (size_t i = 0; i < graph->nodes.size(); ++i) {
    const ir::Node& n = graph->nodes[i];
    if (n.op != "CONV_2D" && n.op != "DEPTHWISE_CONV_2D") continue;
    if (n.inputs.size() >= 3 && n.inputs[2] >= 0) continue;
    if (n.inputs.size() < 2 || n.inputs[1] < 0 || n.outputs.size() != 1) continue;
    const ir::Tensor& w = graph->tensors[n.inputs[1]];
    const ir::Tensor& y = graph->tensors[n.outputs[0]];
    if (w.dtype != DType::kFloat32 || y.dtype != DType::kFloat32 || y.shape.empty()) continue;
    const int32_t channels = y.shape.back();
    const std::string name = (n.name.empty() ? y.name : n.name) + "/bias";
    const int bias = graph->AddFloatConstant(name, {channels}, std::vector<float>(channels, 0.0f));
    ir::Node& node = graph->nodes[i];
    node.inputs.resize(3);
    node.inputs[2] = bias;
  }
  return Status::Ok();
}

}  // namespace passes
}  // namespace edgeopt
