// InputLayer: the graph inputs are created by the model builder; a call passes its input on.
#include "src/importers/keras/layers/layer_registry.h"

namespace edgeopt {
namespace keras {

Status ConvertInputLayer(LayerCall* call) {
  call->outputs = call->inputs;
  return Status::Ok();
}

}  // namespace keras
}  // namespace edgeopt
