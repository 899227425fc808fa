// Activation, ReLU, LeakyReLU, PReLU, ELU and Softmax layers (the activation
// math is in layer_util.cc, shared with every layer's activation argument).
#include "src/importers/keras/layers/layer_registry.h"
#include "src/importers/keras/layers/layer_util.h"

namespace edgeopt {
namespace keras {

Status ConvertActivation(LayerCall* call) {
  // The producer's fused_activation_function is set by the fuse pass, not here:
  // the input may have other consumers.
  EDGEOPT_ASSIGN_OR_RETURN(int y, ApplyConfigActivation(call, call->inputs[0], -1));
  if (y == call->inputs[0]) {
    // linear: an identity; keep a node so the layer has its own output tensor.
    y = call->NewTensor(call->InputShape());
    const int shape = call->Int32Const("shape", call->InputShape());
    call->AddNode("RESHAPE", {call->inputs[0], shape}, {y});
  }
  call->outputs = {y};
  return Status::Ok();
}

Status ConvertReLU(LayerCall* call) {
  const LayerConfig& c = call->config;
  EDGEOPT_ASSIGN_OR_RETURN(double max_value, c.FloatOr("max_value", -1.0));
  EDGEOPT_ASSIGN_OR_RETURN(double slope, c.FloatOr("negative_slope", 0.0));
  EDGEOPT_ASSIGN_OR_RETURN(double threshold, c.FloatOr("threshold", 0.0));
  if (c.Has("max_value") && max_value < 0) {
    return call->Error(StatusCode::kInvalidModel, "max_value must be >= 0");
  }
  EDGEOPT_ASSIGN_OR_RETURN(int y, EmitReLU(call, call->inputs[0], max_value, slope, threshold, -1));
  call->outputs = {y};
  return Status::Ok();
}

Status ConvertLeakyReLU(LayerCall* call) {
  EDGEOPT_ASSIGN_OR_RETURN(double alpha, call->config.FloatOr("alpha", 0.3));
  EDGEOPT_ASSIGN_OR_RETURN(alpha, call->config.FloatOr("negative_slope", alpha));
  EDGEOPT_ASSIGN_OR_RETURN(int y, EmitLeakyReLU(call, call->inputs[0], alpha));
  call->outputs = {y};
  return Status::Ok();
}

Status ConvertELU(LayerCall* call) {
  EDGEOPT_ASSIGN_OR_RETURN(double alpha, call->config.FloatOr("alpha", 1.0));
  EDGEOPT_ASSIGN_OR_RETURN(int y, EmitELU(call, call->inputs[0], alpha));
  call->outputs = {y};
  return Status::Ok();
}

Status ConvertSoftmax(LayerCall* call) {
  int64_t axis = -1;
  if (call->config.Has("axis")) {
    EDGEOPT_ASSIGN_OR_RETURN(std::vector<int64_t> axes, call->config.IntList("axis"));
    if (axes.size() != 1) return call->Error(StatusCode::kUnsupported, "softmax over several axes");
    axis = axes[0];
  }
  EDGEOPT_ASSIGN_OR_RETURN(int y, EmitSoftmax(call, call->inputs[0], axis));
  call->outputs = {y};
  return Status::Ok();
}

StatusOr<std::vector<std::string>> PReLUVariables(const LayerConfig&) {
  return std::vector<std::string>{"alpha"};
}

// PReLU: alpha has the input's shape without the batch, with 1 on shared_axes;
// PRELU broadcasts it.
Status ConvertPReLU(LayerCall* call) {
  const Shape in = call->InputShape();
  std::vector<int64_t> alpha_shape(in.begin() + 1, in.end());
  if (call->config.Has("shared_axes")) {
    EDGEOPT_ASSIGN_OR_RETURN(std::vector<int64_t> shared, call->config.IntList("shared_axes"));
    for (int64_t a : shared) {
      if (a < 1 || a >= static_cast<int64_t>(in.size())) {
        return call->Error(StatusCode::kInvalidModel, "shared_axes out of range");
      }
      alpha_shape[a - 1] = 1;
    }
  }
  EDGEOPT_ASSIGN_OR_RETURN(std::vector<float> alpha, call->Weight("alpha", alpha_shape));
  const int a = call->AddWeightTensor("alpha", ToShape(alpha_shape), std::move(alpha));
  const int y = call->NewTensor(in, "prelu");
  call->AddNode("PRELU", {call->inputs[0], a}, {y});
  call->outputs = {y};
  return Status::Ok();
}

}  // namespace keras
}  // namespace edgeopt
