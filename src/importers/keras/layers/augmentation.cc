// Layers with nothing to compute at inference, and the center crops.
// - Keras's random augmentation layers (RandomFlip, RandomRotation, RandomZoom, ...) change
//   images only when called with training=True; the noise layers (GaussianNoise,
//   GaussianDropout, AlphaDropout) likewise; ActivityRegularization and Identity never do.
//   The official converter leaves nothing of them, and neither does edgeopt: the layer's output
//   is its input. (So `edgeopt train` does not augment through them: its --augment flag does.)
// - CenterCrop -> SLICE of the middle (height, width); RandomCrop, which crops the middle at
//   inference too, when its input is already (height, width) (nothing to do).
#include "src/importers/keras/layers/layer_registry.h"
#include "src/importers/keras/layers/layer_util.h"

namespace edgeopt {
namespace keras {

Status ConvertInferenceIdentity(LayerCall* call) {
  if (call->inputs.size() != 1) {
    return call->Error(StatusCode::kInvalidModel, "expects one input");
  }
  call->outputs = {call->inputs[0]};
  return Status::Ok();
}

Status ConvertCenterCrop(LayerCall* call) {
  const bool random = call->config.class_name() == "RandomCrop";
  EDGEOPT_RETURN_IF_ERROR(CheckChannelsLast(*call));
  EDGEOPT_RETURN_IF_ERROR(CheckInputRank(*call, 4));
  EDGEOPT_ASSIGN_OR_RETURN(int64_t height, call->config.Int("height"));
  EDGEOPT_ASSIGN_OR_RETURN(int64_t width, call->config.Int("width"));
  const Shape in = call->InputShape();
  if (height <= 0 || width <= 0) {
    return call->Error(StatusCode::kInvalidModel, "height and width must be positive");
  }
  if (height > in[1] || width > in[2]) {
    // Keras resizes (smart_resize) an input smaller than the crop.
    return call->Error(StatusCode::kUnsupported,
                       "a crop of " + std::to_string(height) + "x" + std::to_string(width) +
                           " is larger than the input " + ShapeString(in) +
                           " (Keras resizes it then); only crops within the input are mapped");
  }
  if (height == in[1] && width == in[2]) return ConvertInferenceIdentity(call);
  if (random) {
    return call->Error(StatusCode::kUnsupported,
                       "RandomCrop to a smaller size (" + std::to_string(height) + "x" +
                           std::to_string(width) + " of " + ShapeString(in) +
                           ") has no mapping yet; CenterCrop does the same at inference");
  }
  // Keras: the crop starts at (input - target) // 2 on each axis.
  const std::vector<int32_t> begin = {0, static_cast<int32_t>((in[1] - height) / 2),
                                      static_cast<int32_t>((in[2] - width) / 2), 0};
  const std::vector<int32_t> size = {static_cast<int32_t>(in[0]), static_cast<int32_t>(height),
                                     static_cast<int32_t>(width), static_cast<int32_t>(in[3])};
  call->outputs = {EmitSlice(call, call->inputs[0], begin, size)};
  return Status::Ok();
}

}  // namespace keras
}  // namespace edgeopt
