// Dense -> FULLY_CONNECTED (weights [units, in], the transpose of the Keras kernel). Inputs of
// rank > 2 keep their leading dims (keep_num_dims), as Keras applies Dense to the last axis.
#include "src/importers/keras/layers/layer_registry.h"
#include "src/importers/keras/layers/layer_util.h"

namespace edgeopt {
namespace keras {

StatusOr<std::vector<std::string>> DenseVariables(const LayerConfig& config) {
  EDGEOPT_ASSIGN_OR_RETURN(bool use_bias, config.BoolOr("use_bias", true));
  if (use_bias) return std::vector<std::string>{"kernel", "bias"};
  return std::vector<std::string>{"kernel"};
}

Status ConvertDense(LayerCall* call) {
  const LayerConfig& c = call->config;
  EDGEOPT_ASSIGN_OR_RETURN(int64_t units, c.Int("units"));
  EDGEOPT_ASSIGN_OR_RETURN(bool use_bias, c.BoolOr("use_bias", true));
  if (units <= 0) return call->Error(StatusCode::kInvalidModel, "units must be positive");
  if (call->InputRank() < 2) {
    return call->Error(StatusCode::kInvalidModel,
                       "needs an input of rank >= 2, got " + ShapeString(call->InputShape()));
  }
  const Shape in_shape = call->InputShape();
  const int64_t in = in_shape.back();
  EDGEOPT_ASSIGN_OR_RETURN(std::vector<float> kernel, call->Weight("kernel", {in, units}));
  const int w =
      call->AddWeightTensor("kernel", Shape{static_cast<int32_t>(units), static_cast<int32_t>(in)},
                            TransposeData(kernel, {in, units}, {1, 0}));
  std::vector<int> inputs = {call->inputs[0], w};
  if (use_bias) {
    EDGEOPT_ASSIGN_OR_RETURN(std::vector<float> bias, call->Weight("bias", {units}));
    inputs.push_back(
        call->AddWeightTensor("bias", Shape{static_cast<int32_t>(units)}, std::move(bias)));
  }
  Shape out_shape = in_shape;
  out_shape.back() = static_cast<int32_t>(units);
  const int y = call->NewTensor(out_shape);
  ir::Attrs attrs;
  attrs["fused_activation_function"] = std::string("NONE");
  attrs["weights_format"] = std::string("DEFAULT");
  attrs["keep_num_dims"] = in_shape.size() > 2;
  attrs["asymmetric_quantize_inputs"] = false;
  const int node = call->AddNode("FULLY_CONNECTED", inputs, {y}, attrs);
  EDGEOPT_ASSIGN_OR_RETURN(int out, ApplyConfigActivation(call, y, node));
  call->outputs = {out};
  return Status::Ok();
}

}  // namespace keras
}  // namespace edgeopt
