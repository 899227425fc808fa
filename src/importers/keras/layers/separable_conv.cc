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
  EDGEOPT_ASSIGN_OR_RETURN(int64_t filters, c.Int("filters"));
  EDGEOPT_ASSIGN_OR_RETURN(bool use_bias, c.BoolOr("use_bias", true));
  if (filters <= 0) return call->Error(StatusCode::kInvalidModel, "filters must be positive");
  EDGEOPT_ASSIGN_OR_RETURN(DepthwiseOutput dw, EmitDepthwise(call, is1d, /*with_bias=*/false));
  const Shape mid_shape = call->builder->ShapeOf(dw.tensor);
  const int64_t mid = mid_shape[3];
  // The 1-D kernel [1,C*M,F] holds the 2-D one's values in the same order.
  EDGEOPT_ASSIGN_OR_RETURN(
      std::vector<float> pw,
      call->Weight("pointwise_kernel", is1d ? std::vector<int64_t>{1, mid, filters}
                                            : std::vector<int64_t>{1, 1, mid, filters}));
  std::vector<int> pw_inputs = {
      dw.tensor, call->AddWeightTensor("pointwise_kernel", ToShape({filters, 1, 1, mid}),
                                       TransposeData(pw, {mid, filters}, {1, 0}))};
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
