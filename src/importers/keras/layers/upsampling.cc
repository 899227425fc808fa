// UpSampling2D -> RESIZE_NEAREST_NEIGHBOR / RESIZE_BILINEAR (half_pixel_centers, as TF2's
// tf.image.resize); UpSampling1D repeats steps through a [B,L,1,C] view. Resizing (to a given
// height and width) -> the same ops, half_pixel_centers for both (tf.image.resize's nearest
// too, which matters for sizes that are not multiples).
#include "src/importers/keras/layers/layer_registry.h"
#include "src/importers/keras/layers/layer_util.h"

namespace edgeopt {
namespace keras {
namespace {

// The TFLite op of a Keras interpolation.
StatusOr<std::string> ResizeOp(const LayerCall& call, const std::string& interpolation) {
  if (interpolation == "nearest") return std::string("RESIZE_NEAREST_NEIGHBOR");
  if (interpolation == "bilinear") return std::string("RESIZE_BILINEAR");
  return call.Error(StatusCode::kUnsupported,
                    "interpolation '" + interpolation + "' (nearest and bilinear are)");
}

}  // namespace

Status ConvertUpSampling(LayerCall* call) {
  const bool is1d = call->config.class_name() == "UpSampling1D";
  EDGEOPT_RETURN_IF_ERROR(CheckChannelsLast(*call));
  EDGEOPT_RETURN_IF_ERROR(CheckInputRank(*call, is1d ? 3 : 4));
  const Shape in = call->InputShape();
  int x = call->inputs[0];
  std::vector<int64_t> size;
  std::string interpolation = "nearest";
  Shape in4 = in;
  if (is1d) {
    EDGEOPT_ASSIGN_OR_RETURN(int64_t s, call->config.IntOr("size", 2));
    size = {s, 1};
    in4 = {in[0], in[1], 1, in[2]};
    const int shape_const = call->Int32Const("expand_shape", in4);
    const int expanded = call->NewTensor(in4, "expand");
    call->AddNode("RESHAPE", {x, shape_const}, {expanded});
    x = expanded;
  } else {
    EDGEOPT_ASSIGN_OR_RETURN(size, call->config.IntTupleOr("size", 2, {2, 2}));
    EDGEOPT_ASSIGN_OR_RETURN(interpolation, call->config.StringOr("interpolation", "nearest"));
  }
  if (size[0] <= 0 || size[1] <= 0 || size[0] > 4096 || size[1] > 4096) {
    return call->Error(StatusCode::kInvalidModel, "size must be positive");
  }
  EDGEOPT_ASSIGN_OR_RETURN(const std::string op, ResizeOp(*call, interpolation));
  const Shape out4 = {in4[0], static_cast<int32_t>(in4[1] * size[0]),
                      static_cast<int32_t>(in4[2] * size[1]), in4[3]};
  const int size_const = call->Int32Const("size", {out4[1], out4[2]});
  int y = call->NewTensor(out4, "resize");
  ir::Attrs attrs;
  attrs["align_corners"] = false;
  attrs["half_pixel_centers"] = op == "RESIZE_BILINEAR";
  call->AddNode(op, {x, size_const}, {y}, attrs);
  if (is1d) {
    const Shape out3 = {out4[0], out4[1], out4[3]};
    const int shape_const = call->Int32Const("squeeze_shape", out3);
    const int squeezed = call->NewTensor(out3);
    call->AddNode("RESHAPE", {y, shape_const}, {squeezed});
    y = squeezed;
  }
  call->outputs = {y};
  return Status::Ok();
}

Status ConvertResizing(LayerCall* call) {
  EDGEOPT_RETURN_IF_ERROR(CheckChannelsLast(*call));
  EDGEOPT_RETURN_IF_ERROR(CheckInputRank(*call, 4));
  const Shape in = call->InputShape();
  EDGEOPT_ASSIGN_OR_RETURN(int64_t height, call->config.Int("height"));
  EDGEOPT_ASSIGN_OR_RETURN(int64_t width, call->config.Int("width"));
  if (height <= 0 || width <= 0 || height > 65536 || width > 65536) {
    return call->Error(StatusCode::kInvalidModel, "height and width must be in [1, 65536]");
  }
  EDGEOPT_ASSIGN_OR_RETURN(std::string interpolation,
                           call->config.StringOr("interpolation", "bilinear"));
  EDGEOPT_ASSIGN_OR_RETURN(bool crop, call->config.BoolOr("crop_to_aspect_ratio", false));
  EDGEOPT_ASSIGN_OR_RETURN(bool pad, call->config.BoolOr("pad_to_aspect_ratio", false));
  EDGEOPT_ASSIGN_OR_RETURN(bool antialias, call->config.BoolOr("antialias", false));
  // Crop and pad to the aspect ratio change nothing when the ratios are equal.
  if ((crop || pad) && int64_t{in[1]} * width != int64_t{in[2]} * height) {
    return call->Error(StatusCode::kUnsupported,
                       std::string(crop ? "crop_to_aspect_ratio" : "pad_to_aspect_ratio") +
                           " to another aspect ratio has no mapping yet");
  }
  if (antialias && (height < in[1] || width < in[2])) {
    return call->Error(StatusCode::kUnsupported,
                       "antialias when shrinking (TFLite's resize ops do not filter)");
  }
  EDGEOPT_ASSIGN_OR_RETURN(const std::string op, ResizeOp(*call, interpolation));
  const Shape out = {in[0], static_cast<int32_t>(height), static_cast<int32_t>(width), in[3]};
  const int size_const = call->Int32Const("size", {out[1], out[2]});
  const int y = call->NewTensor(out, "resize");
  ir::Attrs attrs;
  attrs["align_corners"] = false;
  attrs["half_pixel_centers"] = true;
  call->AddNode(op, {call->inputs[0], size_const}, {y}, attrs);
  call->outputs = {y};
  return Status::Ok();
}

}  // namespace keras
}  // namespace edgeopt
