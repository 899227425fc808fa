// Dropout / SpatialDropout1D/2D/3D -> DROPOUT {rate, noise_shape=""|"spatial"}
// (training form; the export passes remove it).
#include "src/importers/keras/layers/layer_registry.h"
#include "src/importers/keras/layers/layer_util.h"

namespace edgeopt {
namespace keras {

Status ConvertDropout(LayerCall* call) {
  EDGEOPT_ASSIGN_OR_RETURN(double rate, call->config.FloatOr("rate", 0.5));
  if (!(rate >= 0.0 && rate < 1.0)) {
    return call->Error(StatusCode::kInvalidModel, "rate must be in [0, 1)");
  }
  const bool spatial = call->config.class_name().rfind("SpatialDropout", 0) == 0;
  call->outputs = {EmitDropout(call, call->inputs[0], rate, spatial, "dropout")};
  return Status::Ok();
}

}  // namespace keras
}  // namespace edgeopt
