// Conv2DTranspose -> TRANSPOSE_CONV(output_shape, weights [F,H,W,C], input, bias).
// Conv1DTranspose -> RESHAPE [B,1,L,C] + TRANSPOSE_CONV (weights [F,1,K,C]) + RESHAPE [B,L',F], as
// Conv1D is mapped. TFLite 2.9 has no fused activation on TRANSPOSE_CONV, so the activation is a
// separate node.
//
// The output size is Keras's deconv_output_length: without output_padding, L·s for "same" and
// L·s + max(k − s, 0) for "valid"; with it, (L − 1)·s + k − 2·pad + output_padding (pad = k // 2
// for "same", 0 for "valid"). TRANSPOSE_CONV derives its padding from that size the way
// tf.nn.conv2d_transpose does (the padding of a CONV_2D from the output back to the input), so the
// size must be one such a CONV_2D maps back to L; Keras rejects the others too.
#include <algorithm>

#include "src/importers/keras/layers/layer_registry.h"
#include "src/importers/keras/layers/layer_util.h"

namespace edgeopt {
namespace keras {
namespace {

// Keras's deconv_output_length; -1 when the size does not map back to `in` (see above).
int64_t TransposedLength(int64_t in, int64_t k, int64_t s, bool same,
                         const std::optional<int64_t>& output_padding) {
  int64_t out;
  if (!output_padding) {
    out = same ? in * s : in * s + std::max<int64_t>(k - s, 0);
  } else {
    const int64_t pad = same ? k / 2 : 0;
    out = (in - 1) * s + k - 2 * pad + *output_padding;
  }
  if (out <= 0 || out > (int64_t{1} << 24)) return -1;
  const int64_t back = same ? (out + s - 1) / s : (out - k) / s + 1;
  if (back != in || (!same && out < k)) return -1;
  return out;
}

}  // namespace

Status ConvertConvTranspose(LayerCall* call) {
  const LayerConfig& c = call->config;
  const bool is1d =
      c.class_name() == "Conv1DTranspose" || c.class_name() == "Convolution1DTranspose";
  const size_t n = is1d ? 1 : 2;
  EDGEOPT_RETURN_IF_ERROR(CheckChannelsLast(*call));
  EDGEOPT_RETURN_IF_ERROR(CheckInputRank(*call, is1d ? 3 : 4));
  EDGEOPT_ASSIGN_OR_RETURN(int64_t filters, c.Int("filters"));
  EDGEOPT_ASSIGN_OR_RETURN(std::vector<int64_t> k, c.IntTuple("kernel_size", n));
  EDGEOPT_ASSIGN_OR_RETURN(std::vector<int64_t> s,
                           c.IntTupleOr("strides", n, std::vector<int64_t>(n, 1)));
  EDGEOPT_ASSIGN_OR_RETURN(std::vector<int64_t> d,
                           c.IntTupleOr("dilation_rate", n, std::vector<int64_t>(n, 1)));
  EDGEOPT_ASSIGN_OR_RETURN(std::string padding, PaddingOf(*call));
  EDGEOPT_ASSIGN_OR_RETURN(bool use_bias, c.BoolOr("use_bias", true));
  EDGEOPT_RETURN_IF_ERROR(CheckWindow(*call, "kernel_size", k));
  EDGEOPT_RETURN_IF_ERROR(CheckWindow(*call, "strides", s));
  if (filters <= 0 || filters > (int64_t{1} << 20)) {
    return call->Error(StatusCode::kInvalidModel, "filters must be positive");
  }
  for (size_t i = 0; i < n; ++i) {
    if (k[i] <= 0 || s[i] <= 0) {
      return call->Error(StatusCode::kInvalidModel, "kernel_size and strides must be positive");
    }
    if (d[i] != 1) return call->Error(StatusCode::kUnsupported, "dilated transposed convolution");
  }
  std::vector<std::optional<int64_t>> output_padding(n);
  if (c.Has("output_padding")) {
    EDGEOPT_ASSIGN_OR_RETURN(std::vector<int64_t> op, c.IntTuple("output_padding", n));
    for (size_t i = 0; i < n; ++i) {
      if (op[i] < 0 || op[i] >= s[i]) {
        return call->Error(StatusCode::kInvalidModel,
                           "output_padding must be at least 0 and less than the stride");
      }
      output_padding[i] = op[i];
    }
  }
  const Shape in = call->InputShape();
  const int32_t batch = in[0];
  const int64_t channels = in.back();
  // The 2-D view: 1-D layers run as a height-1 image.
  const int64_t kh = is1d ? 1 : k[0], kw = k[n - 1];
  const int64_t sh = is1d ? 1 : s[0], sw = s[n - 1];
  const int64_t in_h = is1d ? 1 : in[1], in_w = in[n];
  const bool same = padding == "SAME";
  const int64_t out_h = is1d ? 1 : TransposedLength(in_h, kh, sh, same, output_padding[0]);
  const int64_t out_w = TransposedLength(in_w, kw, sw, same, output_padding[n - 1]);
  if (out_h < 0 || out_w < 0) {
    return call->Error(StatusCode::kUnsupported,
                       "output_padding gives an output size that TFLite's TRANSPOSE_CONV cannot "
                       "take back to the input size " +
                           ShapeString(in));
  }

  std::vector<float> w;
  if (is1d) {
    EDGEOPT_ASSIGN_OR_RETURN(std::vector<float> kernel,
                             call->Weight("kernel", {kw, filters, channels}));
    w = TransposeData(kernel, {kw, filters, channels}, {1, 0, 2});
  } else {
    EDGEOPT_ASSIGN_OR_RETURN(std::vector<float> kernel,
                             call->Weight("kernel", {kh, kw, filters, channels}));
    w = TransposeData(kernel, {kh, kw, filters, channels}, {2, 0, 1, 3});
  }
  const int wt =
      call->AddWeightTensor("kernel", ToShape({filters, kh, kw, channels}), std::move(w));

  const int x = is1d ? ExpandSteps(call, call->inputs[0], 0) : call->inputs[0];
  const Shape out4 = {batch, static_cast<int32_t>(out_h), static_cast<int32_t>(out_w),
                      static_cast<int32_t>(filters)};
  EDGEOPT_RETURN_IF_ERROR(CheckOutputSize(*call, out4));
  const int shape_const = call->Int32Const("output_shape", out4);
  std::vector<int> inputs = {shape_const, wt, x};
  if (use_bias) {
    EDGEOPT_ASSIGN_OR_RETURN(std::vector<float> bias, call->Weight("bias", {filters}));
    inputs.push_back(call->AddWeightTensor("bias", ToShape({filters}), std::move(bias)));
  }
  const int y = call->NewTensor(out4, "transpose_conv");
  ir::Attrs attrs;
  attrs["padding"] = padding;
  attrs["stride_h"] = sh;
  attrs["stride_w"] = sw;
  call->AddNode("TRANSPOSE_CONV", inputs, {y}, attrs);
  EDGEOPT_ASSIGN_OR_RETURN(int result, ApplyConfigActivation(call, y, -1));
  call->outputs = {is1d ? SqueezeSteps(call, result) : result};
  return Status::Ok();
}

}  // namespace keras
}  // namespace edgeopt
