// UpSampling2D -> RESIZE_NEAREST_NEIGHBOR / RESIZE_BILINEAR (half_pixel_centers, as TF2's
// tf.image.resize); UpSampling1D repeats steps through a [B,L,1,C] view.
#include "src/importers/keras/layers/layer_registry.h"
#include "src/importers/keras/layers/layer_util.h"

namespace edgeopt {
namespace keras {

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
  std::string op;
  if (interpolation == "nearest") {
    op = "RESIZE_NEAREST_NEIGHBOR";
  } else if (interpolation == "bilinear") {
    op = "RESIZE_BILINEAR";
  } else {
    return call->Error(StatusCode::kUnsupported,
                       "interpolation '" + interpolation + "' (nearest and bilinear are)");
  }
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

}  // namespace keras
}  // namespace edgeopt
