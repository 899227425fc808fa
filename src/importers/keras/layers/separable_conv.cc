// SeparableConv2D -> DEPTHWISE_CONV_2D (no bias) + CONV_2D 1x1 (pointwise
// kernel [F,1,1,C*M], the bias and the activation). SeparableConv1D: the same on a [B,1,L,C]
// view between two RESHAPEs (padding "causal": a PAD on the left, then VALID), as Conv1D.
#include "src/importers/keras/layers/layer_registry.h"
#include "src/importers/keras/layers/layer_util.h"

namespace edgeopt {
namespace keras {

StatusOr<std::vector<std::string>> SeparableConv2DVariables(const LayerConfig& config) {
  EDGEOPT_ASSIGN_OR_RETURN(bool use_bias, config.BoolOr("use_bias", true));
  std::vector<std::string> vars = {"depthwise_kernel", "pointwise_kernel"};
  if (use_bias) vars.push_back("bias");
  return vars;
}

Status ConvertSeparableConv2D(LayerCall* call) {
  const LayerConfig& c = call->config;
  const bool is1d =
      c.class_name() == "SeparableConv1D" || c.class_name() == "SeparableConvolution1D";
  const size_t n = is1d ? 1 : 2;
  EDGEOPT_RETURN_IF_ERROR(CheckChannelsLast(*call));
  EDGEOPT_RETURN_IF_ERROR(CheckInputRank(*call, is1d ? 3 : 4));
  EDGEOPT_ASSIGN_OR_RETURN(int64_t filters, c.Int("filters"));
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
  EDGEOPT_ASSIGN_OR_RETURN(bool use_bias, c.BoolOr("use_bias", true));
  EDGEOPT_RETURN_IF_ERROR(CheckWindow(*call, "kernel_size", k));
  EDGEOPT_RETURN_IF_ERROR(CheckWindow(*call, "strides", s));
  EDGEOPT_RETURN_IF_ERROR(CheckWindow(*call, "dilation_rate", d));
  EDGEOPT_RETURN_IF_ERROR(CheckWindow(*call, "depth_multiplier", {multiplier}));
  if (filters <= 0 || k[0] <= 0 || k[1] <= 0 || s[0] <= 0 || s[1] <= 0 || d[0] <= 0 || d[1] <= 0 ||
      multiplier <= 0) {
    return call->Error(StatusCode::kInvalidModel,
                       "filters, kernel_size, strides, dilation_rate and "
                       "depth_multiplier must "
                       "be positive");
  }
  const int64_t channels = call->InputShape().back();
  const int64_t mid = channels * multiplier;
  // The 1-D kernels [K,C,M] and [1,C*M,F] hold the 2-D ones' values in the same order.
  EDGEOPT_ASSIGN_OR_RETURN(
      std::vector<float> dw,
      call->Weight("depthwise_kernel",
                   is1d ? std::vector<int64_t>{k[1], channels, multiplier}
                        : std::vector<int64_t>{k[0], k[1], channels, multiplier}));
  EDGEOPT_ASSIGN_OR_RETURN(
      std::vector<float> pw,
      call->Weight("pointwise_kernel", is1d ? std::vector<int64_t>{1, mid, filters}
                                            : std::vector<int64_t>{1, 1, mid, filters}));
  int x = call->inputs[0];
  if (is1d) {
    x = ExpandSteps(call, x, padding == "CAUSAL" ? d[1] * (k[1] - 1) : 0);
    if (padding == "CAUSAL") padding = "VALID";
  }
  const Shape in = call->builder->ShapeOf(x);
  const int dw_t =
      call->AddWeightTensor("depthwise_kernel", ToShape({1, k[0], k[1], mid}), std::move(dw));
  const int pw_t = call->AddWeightTensor("pointwise_kernel", ToShape({filters, 1, 1, mid}),
                                         TransposeData(pw, {mid, filters}, {1, 0}));
  const bool same = padding == "SAME";
  const Shape mid_shape = {in[0], WindowOutputSize(in[1], k[0], s[0], d[0], same),
                           WindowOutputSize(in[2], k[1], s[1], d[1], same),
                           static_cast<int32_t>(mid)};
  EDGEOPT_RETURN_IF_ERROR(CheckOutputSize(*call, mid_shape));
  const int depthwise = call->NewTensor(mid_shape, "depthwise");
  ir::Attrs dw_attrs;
  dw_attrs["padding"] = padding;
  dw_attrs["stride_h"] = s[0];
  dw_attrs["stride_w"] = s[1];
  dw_attrs["dilation_h_factor"] = d[0];
  dw_attrs["dilation_w_factor"] = d[1];
  dw_attrs["depth_multiplier"] = multiplier;
  dw_attrs["fused_activation_function"] = std::string("NONE");
  call->AddNode("DEPTHWISE_CONV_2D", {x, dw_t}, {depthwise}, dw_attrs);

  std::vector<int> pw_inputs = {depthwise, pw_t};
  if (use_bias) {
    EDGEOPT_ASSIGN_OR_RETURN(std::vector<float> bias, call->Weight("bias", {filters}));
    pw_inputs.push_back(call->AddWeightTensor("bias", ToShape({filters}), std::move(bias)));
  }
  Shape out = mid_shape;
  out[3] = static_cast<int32_t>(filters);
  const int y = call->NewTensor(out, "pointwise");
  ir::Attrs pw_attrs;
  pw_attrs["padding"] = std::string("VALID");
  pw_attrs["stride_h"] = int64_t{1};
  pw_attrs["stride_w"] = int64_t{1};
  pw_attrs["dilation_h_factor"] = int64_t{1};
  pw_attrs["dilation_w_factor"] = int64_t{1};
  pw_attrs["fused_activation_function"] = std::string("NONE");
  const int node = call->AddNode("CONV_2D", pw_inputs, {y}, pw_attrs);
  EDGEOPT_ASSIGN_OR_RETURN(int result, ApplyConfigActivation(call, y, node));
  call->outputs = {is1d ? SqueezeSteps(call, result) : result};
  return Status::Ok();
}

}  // namespace keras
}  // namespace edgeopt
