// MaxPooling2D / AveragePooling2D -> MAX_POOL_2D / AVERAGE_POOL_2D; the 1D forms pool a [B,1,L,C]
// view (RESHAPE, pool, RESHAPE). GlobalAveragePooling -> MEAN and GlobalMaxPooling -> REDUCE_MAX
// over the spatial axes (keep_dims from keepdims).
#include <algorithm>

#include "src/importers/keras/layers/layer_registry.h"
#include "src/importers/keras/layers/layer_util.h"

namespace edgeopt {
namespace keras {

Status ConvertPooling(LayerCall* call) {
  const LayerConfig& c = call->config;
  const std::string& cls = c.class_name();
  const bool is1d = cls.find("1D") != std::string::npos;
  const bool is_max = cls.rfind("Max", 0) == 0;
  const size_t n = is1d ? 1 : 2;
  EDGEOPT_RETURN_IF_ERROR(CheckChannelsLast(*call));
  EDGEOPT_RETURN_IF_ERROR(CheckInputRank(*call, is1d ? 3 : 4));
  const char* size_key = c.Has("pool_size") ? "pool_size" : "pool_length";
  EDGEOPT_ASSIGN_OR_RETURN(std::vector<int64_t> pool,
                           c.IntTupleOr(size_key, n, std::vector<int64_t>(n, 2)));
  const char* stride_key = c.Has("strides") ? "strides" : "stride";
  EDGEOPT_ASSIGN_OR_RETURN(std::vector<int64_t> strides, c.IntTupleOr(stride_key, n, pool));
  EDGEOPT_ASSIGN_OR_RETURN(std::string padding, PaddingOf(*call));
  EDGEOPT_RETURN_IF_ERROR(CheckWindow(*call, "pool_size", pool));
  EDGEOPT_RETURN_IF_ERROR(CheckWindow(*call, "strides", strides));
  for (size_t i = 0; i < n; ++i) {
    if (pool[i] <= 0 || strides[i] <= 0) {
      return call->Error(StatusCode::kInvalidModel, "pool_size and strides must be positive");
    }
  }
  const Shape in = call->InputShape();
  int x = call->inputs[0];
  Shape in4 = in;
  if (is1d) {
    in4 = {in[0], 1, in[1], in[2]};
    const int shape_const = call->Int32Const("expand_shape", in4);
    const int expanded = call->NewTensor(in4, "expand");
    call->AddNode("RESHAPE", {x, shape_const}, {expanded});
    x = expanded;
  }
  const int64_t ph = is1d ? 1 : pool[0], pw = pool[n - 1];
  const int64_t sh = is1d ? 1 : strides[0], sw = strides[n - 1];
  const bool same = padding == "SAME";
  const Shape out4 = {in4[0], WindowOutputSize(in4[1], ph, sh, 1, same),
                      WindowOutputSize(in4[2], pw, sw, 1, same), in4[3]};
  EDGEOPT_RETURN_IF_ERROR(CheckOutputSize(*call, out4));
  int y = call->NewTensor(out4, "pool");
  ir::Attrs attrs;
  attrs["padding"] = padding;
  attrs["stride_h"] = sh;
  attrs["stride_w"] = sw;
  attrs["filter_height"] = ph;
  attrs["filter_width"] = pw;
  attrs["fused_activation_function"] = std::string("NONE");
  call->AddNode(is_max ? "MAX_POOL_2D" : "AVERAGE_POOL_2D", {x}, {y}, attrs);
  if (is1d) {
    const Shape out3 = {out4[0], out4[2], out4[3]};
    const int shape_const = call->Int32Const("squeeze_shape", out3);
    const int squeezed = call->NewTensor(out3);
    call->AddNode("RESHAPE", {y, shape_const}, {squeezed});
    y = squeezed;
  }
  call->outputs = {y};
  return Status::Ok();
}

Status ConvertGlobalPooling(LayerCall* call) {
  const LayerConfig& c = call->config;
  const std::string& cls = c.class_name();
  const bool is1d = cls.find("1D") != std::string::npos;
  const bool is_max = cls.find("Max") != std::string::npos;
  // A reduction needs no layout: channels_first reduces the axes after the channels (the
  // Keras timeseries Transformer example averages [B, T, F] over F this way).
  EDGEOPT_ASSIGN_OR_RETURN(std::string format, c.StringOr("data_format", "channels_last"));
  if (format != "channels_last" && format != "channels_first") {
    return call->Error(StatusCode::kInvalidModel, "unknown data_format '" + format + "'");
  }
  const int32_t first = format == "channels_first" ? 2 : 1;
  EDGEOPT_RETURN_IF_ERROR(CheckInputRank(*call, is1d ? 3 : 4));
  EDGEOPT_ASSIGN_OR_RETURN(bool keepdims, c.BoolOr("keepdims", false));
  const Shape in = call->InputShape();
  std::vector<int32_t> axes =
      is1d ? std::vector<int32_t>{first} : std::vector<int32_t>{first, first + 1};
  Shape out;
  for (int d = 0; d < static_cast<int>(in.size()); ++d) {
    const bool reduced = std::find(axes.begin(), axes.end(), d) != axes.end();
    if (!reduced) {
      out.push_back(in[d]);
    } else if (keepdims) {
      out.push_back(1);
    }
  }
  const int axes_const = call->Int32Const("axes", axes);
  ir::Attrs attrs;
  attrs["keep_dims"] = keepdims;
  // With a Keras mask [B, T, 1] (GlobalAveragePooling1D's rule in masking.cc): the mean of the
  // kept steps, sum(x * mask) / sum(mask), as Keras computes it (0 / 0 if every step is masked).
  // (GlobalMaxPooling1D has no masking support: Keras takes the maximum over every step.)
  if (is1d && !is_max && !call->input_masks.empty() && call->input_masks[0] >= 0) {
    if (format != "channels_last") {
      return call->Error(StatusCode::kUnsupported,
                         "a Keras mask with data_format channels_first is not supported");
    }
    EDGEOPT_ASSIGN_OR_RETURN(int mask, SequenceMask(*call));
    ir::Attrs none;
    none["fused_activation_function"] = std::string("NONE");
    const int masked = call->NewTensor(in, "masked");
    call->AddNode("MUL", {call->inputs[0], mask}, {masked}, none);
    const int sum = call->NewTensor(out, "masked_sum");
    call->AddNode("SUM", {masked, axes_const}, {sum}, attrs);
    const int count = call->NewTensor(keepdims ? Shape{in[0], 1, 1} : Shape{in[0], 1}, "count");
    call->AddNode("SUM", {mask, axes_const}, {count}, attrs);
    const int y = call->NewTensor(out);
    call->AddNode("DIV", {sum, count}, {y}, none);
    call->outputs = {y};
    return Status::Ok();
  }
  const int y = call->NewTensor(out);
  call->AddNode(is_max ? "REDUCE_MAX" : "MEAN", {call->inputs[0], axes_const}, {y}, attrs);
  call->outputs = {y};
  return Status::Ok();
}

}  // namespace keras
}  // namespace edgeopt
