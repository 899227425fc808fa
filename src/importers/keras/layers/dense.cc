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
  const int64_t in = call->InputShape().back();
  int node = -1;
  EDGEOPT_ASSIGN_OR_RETURN(int y, EmitDense(call, call->inputs[0], "kernel", {in, units},
                                            use_bias ? "bias" : "", {units}, units, "", &node));
  EDGEOPT_ASSIGN_OR_RETURN(int out, ApplyConfigActivation(call, y, node));
  call->outputs = {out};
  return Status::Ok();
}

}  // namespace keras
}  // namespace edgeopt
