// PAD(x, paddings) -> CONV_2D / DEPTHWISE_CONV_2D padding=VALID equals a SAME
// convolution of x when the paddings are exactly what SAME adds (TensorFlow
// puts the odd pixel after): total = max((ceil(in / stride) - 1) * stride + (k
// - 1) * dilation + 1 - in, 0), before = total / 2. Keras models write
// ZeroPadding2D + Conv2D(valid) for this.
#include <algorithm>

#include "src/passes/export_passes.h"
#include "src/passes/pass_util.h"

namespace edgeopt {
namespace passes {
namespace {

void SamePadding(int32_t in, int32_t kernel, int64_t stride, int64_t dilation, int32_t* before,
                 int32_t* after) {
  const int64_t out = (in + stride - 1) / stride;
  const int64_t effective = (kernel - 1) * dilation + 1;
  const int64_t total = std::max<int64_t>((out - 1) * stride + effective - in, 0);
  *before = static_cast<int32_t>(total / 2);
  *after = static_cast<int32_t>(total - total / 2);
}

}  // namespace

Status FusePadIntoConv(ir::Graph* graph) {
  std::vector<bool> remove(graph->nodes.size(), false);
  for (size_t i = 0; i < graph->nodes.size(); ++i) {
    ir::Node& conv = graph->nodes[i];
    if (conv.op != "CONV_2D" && conv.op != "DEPTHWISE_CONV_2D") continue;
    if (ir::GetString(conv.attrs, "padding", "SAME") != "VALID" || conv.inputs.size() < 2) continue;
    const int padded = conv.inputs[0];
    const int p = graph->Producer(padded);
    if (p < 0 || remove[p] || graph->nodes[p].op != "PAD") continue;
    const ir::Node& pad = graph->nodes[p];
    if (pad.inputs.size() != 2 || !IsConstant(*graph, pad.inputs[1])) continue;
    if (NumConsumers(*graph, padded) != 1 || graph->IsGraphOutput(padded)) continue;
    const ir::Tensor& x = graph->tensors[pad.inputs[0]];
    const ir::Tensor& w = graph->tensors[conv.inputs[1]];
    const std::vector<int32_t> pads = ConstInts(*graph, pad.inputs[1]);
    if (x.shape.size() != 4 || pads.size() != 8 || w.shape.size() != 4) continue;
    if (pads[0] != 0 || pads[1] != 0 || pads[6] != 0 || pads[7] != 0) continue;
    const int64_t sh = ir::GetInt(conv.attrs, "stride_h", 1);
    const int64_t sw = ir::GetInt(conv.attrs, "stride_w", 1);
    const int64_t dh = ir::GetInt(conv.attrs, "dilation_h_factor", 1);
    const int64_t dw = ir::GetInt(conv.attrs, "dilation_w_factor", 1);
    int32_t top, bottom, left, right;
    SamePadding(x.shape[1], w.shape[1], sh, dh, &top, &bottom);
    SamePadding(x.shape[2], w.shape[2], sw, dw, &left, &right);
    if (pads[2] != top || pads[3] != bottom || pads[4] != left || pads[5] != right) continue;
    conv.inputs[0] = pad.inputs[0];
    conv.attrs["padding"] = std::string("SAME");
    remove[p] = true;
  }
  RemoveNodes(graph, remove);
  graph->RemoveUnusedTensors();
  return Status::Ok();
}

}  // namespace passes
}  // namespace edgeopt
