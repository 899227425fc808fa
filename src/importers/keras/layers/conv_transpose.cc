// Conv2DTranspose -> TRANSPOSE_CONV(output_shape, weights [F,H,W,C], input, bias). TFLite 2.9 has
// no fused activation on TRANSPOSE_CONV, so the activation is a separate node.
#include <algorithm>

#include "src/importers/keras/layers/layer_registry.h"
#include "src/importers/keras/layers/layer_util.h"

namespace edgeopt {
namespace keras {

Status ConvertConv2DTranspose(LayerCall* call) {
  const LayerConfig& c = call->config;
  EDGEOPT_RETURN_IF_ERROR(CheckChannelsLast(*call));
  EDGEOPT_RETURN_IF_ERROR(CheckInputRank(*call, 4));
  EDGEOPT_ASSIGN_OR_RETURN(int64_t filters, c.Int("filters"));
  EDGEOPT_ASSIGN_OR_RETURN(std::vector<int64_t> k, c.IntTuple("kernel_size", 2));
  EDGEOPT_ASSIGN_OR_RETURN(std::vector<int64_t> s, c.IntTupleOr("strides", 2, {1, 1}));
  EDGEOPT_ASSIGN_OR_RETURN(std::vector<int64_t> d, c.IntTupleOr("dilation_rate", 2, {1, 1}));
  EDGEOPT_ASSIGN_OR_RETURN(std::string padding, PaddingOf(*call));
  EDGEOPT_ASSIGN_OR_RETURN(bool use_bias, c.BoolOr("use_bias", true));
  EDGEOPT_RETURN_IF_ERROR(CheckWindow(*call, "kernel_size", k));
  EDGEOPT_RETURN_IF_ERROR(CheckWindow(*call, "strides", s));
  if (filters <= 0 || k[0] <= 0 || k[1] <= 0 || s[0] <= 0 || s[1] <= 0) {
    return call->Error(StatusCode::kInvalidModel,
                       "filters, kernel_size and strides must be positive");
  }
  if (d[0] != 1 || d[1] != 1) {
    return call->Error(StatusCode::kUnsupported, "dilated transposed convolution");
  }
  if (c.Has("output_padding")) {
    return call->Error(StatusCode::kUnsupported, "output_padding is not supported");
  }
  const Shape in = call->InputShape();
  const int64_t channels = in[3];
  EDGEOPT_ASSIGN_OR_RETURN(std::vector<float> kernel,
                           call->Weight("kernel", {k[0], k[1], filters, channels}));
  const int w =
      call->AddWeightTensor("kernel", ToShape({filters, k[0], k[1], channels}),
                            TransposeData(kernel, {k[0], k[1], filters, channels}, {2, 0, 1, 3}));
  const bool same = padding == "SAME";
  auto out_size = [&](int32_t n, int64_t kernel_size, int64_t stride) {
    return static_cast<int32_t>(same ? n * stride
                                     : n * stride + std::max<int64_t>(kernel_size - stride, 0));
  };
  const Shape out = {in[0], out_size(in[1], k[0], s[0]), out_size(in[2], k[1], s[1]),
                     static_cast<int32_t>(filters)};
  const int shape_const = call->Int32Const("output_shape", out);
  std::vector<int> inputs = {shape_const, w, call->inputs[0]};
  if (use_bias) {
    EDGEOPT_ASSIGN_OR_RETURN(std::vector<float> bias, call->Weight("bias", {filters}));
    inputs.push_back(call->AddWeightTensor("bias", ToShape({filters}), std::move(bias)));
  }
  const int y = call->NewTensor(out, "transpose_conv");
  ir::Attrs attrs;
  attrs["padding"] = padding;
  attrs["stride_h"] = s[0];
  attrs["stride_w"] = s[1];
  call->AddNode("TRANSPOSE_CONV", inputs, {y}, attrs);
  EDGEOPT_ASSIGN_OR_RETURN(int result, ApplyConfigActivation(call, y, -1));
  call->outputs = {result};
  return Status::Ok();
}

}  // namespace keras
}  // namespace edgeopt
