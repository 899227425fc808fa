// BatchNormalization -> BATCH_NORM(x, gamma, beta, moving_mean,
// moving_variance) {epsilon, momentum, axis=-1}; gamma/beta are -1 (absent)
// when scale/center are false. The export passes fold it into the preceding
// convolution or dense layer, or lower it to MUL+ADD.
#include "src/importers/keras/layers/layer_registry.h"
#include "src/importers/keras/layers/layer_util.h"

namespace edgeopt {
namespace keras {

StatusOr<std::vector<std::string>> BatchNormalizationVariables(const LayerConfig& config) {
  EDGEOPT_ASSIGN_OR_RETURN(std::vector<std::string> vars, GammaBetaVariables(config));
  vars.push_back("moving_mean");
  vars.push_back("moving_variance");
  return vars;
}

Status ConvertBatchNormalization(LayerCall* call) {
  const LayerConfig& c = call->config;
  const Shape in = call->InputShape();
  const int rank = static_cast<int>(in.size());
  int64_t axis = -1;
  if (c.Has("axis")) {
    EDGEOPT_ASSIGN_OR_RETURN(std::vector<int64_t> axes, c.IntList("axis"));
    if (axes.size() != 1) {
      return call->Error(StatusCode::kUnsupported, "normalization over several axes");
    }
    axis = axes[0];
  }
  if (axis < 0) axis += rank;
  if (axis != rank - 1) {
    return call->Error(StatusCode::kUnsupported, "normalizes axis " + std::to_string(axis) +
                                                     " of a rank-" + std::to_string(rank) +
                                                     " input; only the last (channel) axis is "
                                                     "supported");
  }
  EDGEOPT_ASSIGN_OR_RETURN(bool scale, c.BoolOr("scale", true));
  EDGEOPT_ASSIGN_OR_RETURN(bool center, c.BoolOr("center", true));
  EDGEOPT_ASSIGN_OR_RETURN(double epsilon, c.FloatOr("epsilon", 1e-3));
  EDGEOPT_ASSIGN_OR_RETURN(double momentum, c.FloatOr("momentum", 0.99));
  if (!(epsilon >= 0)) return call->Error(StatusCode::kInvalidModel, "epsilon must be >= 0");
  const int64_t channels = in.back();
  const Shape vec = {static_cast<int32_t>(channels)};
  int gamma = -1, beta = -1;
  if (scale) {
    EDGEOPT_ASSIGN_OR_RETURN(std::vector<float> v, call->Weight("gamma", {channels}));
    gamma = call->AddWeightTensor("gamma", vec, std::move(v));
  }
  if (center) {
    EDGEOPT_ASSIGN_OR_RETURN(std::vector<float> v, call->Weight("beta", {channels}));
    beta = call->AddWeightTensor("beta", vec, std::move(v));
  }
  EDGEOPT_ASSIGN_OR_RETURN(std::vector<float> mean, call->Weight("moving_mean", {channels}));
  EDGEOPT_ASSIGN_OR_RETURN(std::vector<float> var, call->Weight("moving_variance", {channels}));
  for (float v : var) {
    if (!(v >= 0.0f)) {
      return call->Error(StatusCode::kInvalidModel, "moving_variance has a negative or NaN value");
    }
  }
  const int mean_t = call->AddWeightTensor("moving_mean", vec, std::move(mean));
  const int var_t = call->AddWeightTensor("moving_variance", vec, std::move(var));
  const int y = call->NewTensor(in, "batch_norm");
  ir::Attrs attrs;
  attrs["epsilon"] = epsilon;
  attrs["momentum"] = momentum;
  attrs["axis"] = int64_t{-1};
  call->AddNode("BATCH_NORM", {call->inputs[0], gamma, beta, mean_t, var_t}, {y}, attrs);
  call->outputs = {y};
  return Status::Ok();
}

}  // namespace keras
}  // namespace edgeopt
