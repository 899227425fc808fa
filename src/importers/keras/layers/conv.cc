// Conv2D -> CONV_2D (kernel OHWI). Conv1D -> RESHAPE [B,1,L,C] + CONV_2D
// (kernel [F,1,K,C]) + RESHAPE [B,L',F], the form the official converter emits;
// padding="causal" adds a PAD of dilation*(K-1) steps on the left and convolves
// VALID. groups=G > 1: per group a SLICE of its C/G input channels and a CONV_2D to its F/G
// filters (weights "<layer>/kernel{g}", "<layer>/bias{g}") with the activation, then
// CONCATENATION along the channels.
#include "src/importers/keras/layers/layer_registry.h"
#include "src/importers/keras/layers/layer_util.h"

namespace edgeopt {
namespace keras {

StatusOr<std::vector<std::string>> ConvVariables(const LayerConfig& config) {
  return DenseVariables(config);
}

Status ConvertConv(LayerCall* call) {
  const LayerConfig& c = call->config;
  const bool is1d = c.class_name() == "Conv1D" || c.class_name() == "Convolution1D";
  const size_t n = is1d ? 1 : 2;
  EDGEOPT_RETURN_IF_ERROR(CheckChannelsLast(*call));
  EDGEOPT_RETURN_IF_ERROR(CheckInputRank(*call, is1d ? 3 : 4));
  EDGEOPT_ASSIGN_OR_RETURN(int64_t filters, c.Int("filters"));
  EDGEOPT_ASSIGN_OR_RETURN(int64_t groups, c.IntOr("groups", 1));
  EDGEOPT_ASSIGN_OR_RETURN(std::vector<int64_t> kernel_size, c.IntTuple("kernel_size", n));
  EDGEOPT_ASSIGN_OR_RETURN(std::vector<int64_t> strides,
                           c.IntTupleOr("strides", n, std::vector<int64_t>(n, 1)));
  EDGEOPT_ASSIGN_OR_RETURN(std::vector<int64_t> dilation,
                           c.IntTupleOr("dilation_rate", n, std::vector<int64_t>(n, 1)));
  EDGEOPT_ASSIGN_OR_RETURN(std::string padding, PaddingOf(*call, /*allow_causal=*/is1d));
  EDGEOPT_ASSIGN_OR_RETURN(bool use_bias, c.BoolOr("use_bias", true));
  EDGEOPT_RETURN_IF_ERROR(CheckWindow(*call, "kernel_size", kernel_size));
  EDGEOPT_RETURN_IF_ERROR(CheckWindow(*call, "strides", strides));
  EDGEOPT_RETURN_IF_ERROR(CheckWindow(*call, "dilation_rate", dilation));
  if (filters <= 0) return call->Error(StatusCode::kInvalidModel, "filters must be positive");
  if (groups < 1) return call->Error(StatusCode::kInvalidModel, "groups must be positive");
  if (groups > 1024) {
    return call->Error(StatusCode::kUnsupported,
                       "groups=" + std::to_string(groups) +
                           ": edgeopt maps a grouped convolution as one CONV_2D per group, up to "
                           "1024 (one group per channel is a DepthwiseConv2D)");
  }
  for (size_t i = 0; i < n; ++i) {
    if (kernel_size[i] <= 0 || strides[i] <= 0 || dilation[i] <= 0) {
      return call->Error(StatusCode::kInvalidModel,
                         "kernel_size, strides and dilation_rate must be positive");
    }
  }
  const Shape in_shape = call->InputShape();
  const int32_t batch = in_shape[0];
  const int64_t channels = in_shape.back();
  if (channels % groups != 0 || filters % groups != 0) {
    return call->Error(StatusCode::kInvalidModel,
                       "groups=" + std::to_string(groups) + " must divide the " +
                           std::to_string(channels) + " input channels and the " +
                           std::to_string(filters) + " filters");
  }
  const int64_t group_channels = channels / groups, group_filters = filters / groups;
  const int64_t kh = is1d ? 1 : kernel_size[0], kw = kernel_size[n - 1];
  const int64_t sh = is1d ? 1 : strides[0], sw = strides[n - 1];
  const int64_t dh = is1d ? 1 : dilation[0], dw = dilation[n - 1];

  // Keras's kernel [kh, kw, C/G, F] as OHWI [F, kh, kw, C/G] (a 1-D kernel [kw, C/G, F] is the
  // same values with kh = 1); group g's filters are rows [g F/G, (g + 1) F/G).
  std::vector<float> w;
  if (is1d) {
    EDGEOPT_ASSIGN_OR_RETURN(std::vector<float> kernel,
                             call->Weight("kernel", {kw, group_channels, filters}));
    w = TransposeData(kernel, {kw, group_channels, filters}, {2, 0, 1});
  } else {
    EDGEOPT_ASSIGN_OR_RETURN(std::vector<float> kernel,
                             call->Weight("kernel", {kh, kw, group_channels, filters}));
    w = TransposeData(kernel, {kh, kw, group_channels, filters}, {3, 0, 1, 2});
  }
  std::vector<float> bias;
  if (use_bias) {
    EDGEOPT_ASSIGN_OR_RETURN(bias, call->Weight("bias", {filters}));
  }
  // The weights (and bias) of each group (named kernel / bias without groups), after a slot for
  // the data input.
  const int64_t group_weights = group_filters * kh * kw * group_channels;
  auto weights_of = [&](int64_t g) {
    const std::string suffix = groups == 1 ? "" : "{" + std::to_string(g) + "}";
    std::vector<int> inputs = {
        -1,
        call->AddWeightTensor("kernel" + suffix, ToShape({group_filters, kh, kw, group_channels}),
                              std::vector<float>(w.begin() + g * group_weights,
                                                 w.begin() + (g + 1) * group_weights))};
    if (use_bias) {
      inputs.push_back(
          call->AddWeightTensor("bias" + suffix, ToShape({group_filters}),
                                std::vector<float>(bias.begin() + g * group_filters,
                                                   bias.begin() + (g + 1) * group_filters)));
    }
    return inputs;
  };
  std::vector<std::vector<int>> group_inputs;
  for (int64_t g = 0; g < groups; ++g) group_inputs.push_back(weights_of(g));

  int x = call->inputs[0];
  if (is1d) {
    x = ExpandSteps(call, x, padding == "CAUSAL" ? dw * (kw - 1) : 0);
    if (padding == "CAUSAL") padding = "VALID";
  }
  const int32_t in_h = call->builder->ShapeOf(x)[1], in_w = call->builder->ShapeOf(x)[2];
  const bool same = padding == "SAME";
  const Shape out4 = {batch, WindowOutputSize(in_h, kh, sh, dh, same),
                      WindowOutputSize(in_w, kw, sw, dw, same), static_cast<int32_t>(filters)};
  EDGEOPT_RETURN_IF_ERROR(CheckOutputSize(*call, out4));
  ir::Attrs attrs;
  attrs["padding"] = padding;
  attrs["stride_h"] = sh;
  attrs["stride_w"] = sw;
  attrs["dilation_h_factor"] = dh;
  attrs["dilation_w_factor"] = dw;
  attrs["fused_activation_function"] = std::string("NONE");
  int conv_out, node;
  if (groups == 1) {
    std::vector<int> conv_inputs = group_inputs[0];
    conv_inputs[0] = x;
    conv_out = call->NewTensor(out4, "conv");
    node = call->AddNode("CONV_2D", conv_inputs, {conv_out}, attrs);
  } else {
    const Shape in4 = call->builder->ShapeOf(x);
    const Shape slice = {in4[0], in4[1], in4[2], static_cast<int32_t>(group_channels)};
    Shape group_out = out4;
    group_out.back() = static_cast<int32_t>(group_filters);
    std::vector<int> parts;
    for (int64_t g = 0; g < groups; ++g) {
      const std::string tag = std::to_string(g);
      const int sliced = call->NewTensor(slice, "group" + tag + "_input");
      call->AddNode("SLICE",
                    {x,
                     call->Int32Const("group" + tag + "_begin",
                                      {0, 0, 0, static_cast<int32_t>(g * group_channels)}),
                     call->Int32Const("group" + tag + "_size", slice)},
                    {sliced});
      std::vector<int> conv_inputs = group_inputs[g];
      conv_inputs[0] = sliced;
      const int part = call->NewTensor(group_out, "group" + tag + "_conv");
      const int group_node = call->AddNode("CONV_2D", conv_inputs, {part}, attrs);
      // The activation on each group (fused where CONV_2D takes it; TFLite's CONCATENATION
      // takes none).
      EDGEOPT_ASSIGN_OR_RETURN(const int activated, ApplyConfigActivation(call, part, group_node));
      parts.push_back(activated);
    }
    conv_out = call->NewTensor(out4, "conv");
    ir::Attrs concat;
    concat["axis"] = int64_t{3};
    concat["fused_activation_function"] = std::string("NONE");
    call->AddNode("CONCATENATION", parts, {conv_out}, concat);
    node = -1;
  }
  int y = conv_out;
  if (groups == 1) {
    EDGEOPT_ASSIGN_OR_RETURN(y, ApplyConfigActivation(call, conv_out, node));
  }
  call->outputs = {is1d ? SqueezeSteps(call, y) : y};
  return Status::Ok();
}

}  // namespace keras
}  // namespace edgeopt
