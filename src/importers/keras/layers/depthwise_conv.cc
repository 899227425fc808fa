// DepthwiseConv2D -> DEPTHWISE_CONV_2D: Keras depthwise_kernel [H,W,C,M] is the
// IR weight [1,H,W,C*M] (same element order), depth_multiplier M. DepthwiseConv1D (kernel
// [K,C,M]): the same on a [B,1,L,C] view between two RESHAPEs, as Conv1D.
#include "src/importers/keras/layers/layer_registry.h"
#include "src/importers/keras/layers/layer_util.h"

namespace edgeopt {
namespace keras {

StatusOr<std::vector<std::string>> DepthwiseConv2DVariables(const LayerConfig& config) {
  EDGEOPT_ASSIGN_OR_RETURN(bool use_bias, config.BoolOr("use_bias", true));
  if (use_bias) return std::vector<std::string>{"depthwise_kernel", "bias"};
  return std::vector<std::string>{"depthwise_kernel"};
}

StatusOr<DepthwiseOutput> EmitDepthwise(LayerCall* call, bool is1d, bool with_bias) {
  const LayerConfig& c = call->config;
  const size_t n = is1d ? 1 : 2;
  EDGEOPT_RETURN_IF_ERROR(CheckChannelsLast(*call));
  EDGEOPT_RETURN_IF_ERROR(CheckInputRank(*call, is1d ? 3 : 4));
  EDGEOPT_ASSIGN_OR_RETURN(std::vector<int64_t> k, c.IntTuple("kernel_size", n));
  EDGEOPT_ASSIGN_OR_RETURN(std::vector<int64_t> s,
                           c.IntTupleOr("strides", n, std::vector<int64_t>(n, 1)));
  EDGEOPT_ASSIGN_OR_RETURN(std::vector<int64_t> d,
                           c.IntTupleOr("dilation_rate", n, std::vector<int64_t>(n, 1)));
  EDGEOPT_ASSIGN_OR_RETURN(int64_t multiplier, c.IntOr("depth_multiplier", 1));
  EDGEOPT_ASSIGN_OR_RETURN(std::string padding, PaddingOf(*call, /*allow_causal=*/is1d));
  if (is1d) {  // the 2-D form's kernel, strides and dilation: 1 along the height
    k.insert(k.begin(), 1);
    s.insert(s.begin(), 1);
    d.insert(d.begin(), 1);
  }
  EDGEOPT_RETURN_IF_ERROR(CheckWindow(*call, "kernel_size", k));
  EDGEOPT_RETURN_IF_ERROR(CheckWindow(*call, "strides", s));
  EDGEOPT_RETURN_IF_ERROR(CheckWindow(*call, "dilation_rate", d));
  EDGEOPT_RETURN_IF_ERROR(CheckWindow(*call, "depth_multiplier", {multiplier}));
  if (k[0] <= 0 || k[1] <= 0 || s[0] <= 0 || s[1] <= 0 || d[0] <= 0 || d[1] <= 0 ||
      multiplier <= 0) {
    return call->Error(StatusCode::kInvalidModel,
                       "kernel_size, strides, dilation_rate and "
                       "depth_multiplier must be positive");
  }
  const int64_t channels = call->InputShape().back();
  const int64_t out_channels = channels * multiplier;
  // The 1-D kernel [K,C,M] holds the 2-D one's values in the same order.
  EDGEOPT_ASSIGN_OR_RETURN(
      std::vector<float> kernel,
      call->Weight("depthwise_kernel",
                   is1d ? std::vector<int64_t>{k[1], channels, multiplier}
                        : std::vector<int64_t>{k[0], k[1], channels, multiplier}));
  int x = call->inputs[0];
  if (is1d) {
    x = ExpandSteps(call, x, padding == "CAUSAL" ? d[1] * (k[1] - 1) : 0);
    if (padding == "CAUSAL") padding = "VALID";
  }
  const Shape in = call->builder->ShapeOf(x);
  std::vector<int> inputs = {
      x, call->AddWeightTensor("depthwise_kernel", ToShape({1, k[0], k[1], out_channels}),
                               std::move(kernel))};
  if (with_bias) {
    EDGEOPT_ASSIGN_OR_RETURN(std::vector<float> bias, call->Weight("bias", {out_channels}));
    inputs.push_back(call->AddWeightTensor("bias", ToShape({out_channels}), std::move(bias)));
  }
  const bool same = padding == "SAME";
  const Shape out = {in[0], WindowOutputSize(in[1], k[0], s[0], d[0], same),
                     WindowOutputSize(in[2], k[1], s[1], d[1], same),
                     static_cast<int32_t>(out_channels)};
  EDGEOPT_RETURN_IF_ERROR(CheckOutputSize(*call, out));
  DepthwiseOutput result;
  result.tensor = call->NewTensor(out, "depthwise");
  ir::Attrs attrs;
  attrs["padding"] = padding;
  attrs["stride_h"] = s[0];
  attrs["stride_w"] = s[1];
  attrs["dilation_h_factor"] = d[0];
  attrs["dilation_w_factor"] = d[1];
  attrs["depth_multiplier"] = multiplier;
  attrs["fused_activation_function"] = std::string("NONE");
  result.node = call->AddNode("DEPTHWISE_CONV_2D", inputs, {result.tensor}, attrs);
  return result;
}

Status ConvertDepthwiseConv2D(LayerCall* call) {
  const bool is1d = call->config.class_name() == "DepthwiseConv1D";
  EDGEOPT_ASSIGN_OR_RETURN(bool use_bias, call->config.BoolOr("use_bias", true));
  EDGEOPT_ASSIGN_OR_RETURN(DepthwiseOutput dw, EmitDepthwise(call, is1d, use_bias));
  EDGEOPT_ASSIGN_OR_RETURN(int result, ApplyConfigActivation(call, dw.tensor, dw.node));
  call->outputs = {is1d ? SqueezeSteps(call, result) : result};
  return Status::Ok();
}

}  // namespace keras
}  // namespace edgeopt
