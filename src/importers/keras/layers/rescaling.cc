// Rescaling -> MUL by scale and ADD of offset (each skipped when it is the
// identity); scale and offset may be per-channel lists.
#include "src/importers/keras/layers/layer_registry.h"
#include "src/importers/keras/layers/layer_util.h"

namespace edgeopt {
namespace keras {

Status ConvertRescaling(LayerCall* call) {
  EDGEOPT_ASSIGN_OR_RETURN(std::vector<float> scale, ConfigFloats(*call, "scale", {1.0f}));
  EDGEOPT_ASSIGN_OR_RETURN(std::vector<float> offset, ConfigFloats(*call, "offset", {0.0f}));
  const Shape in = call->InputShape();
  int x = call->inputs[0];
  auto apply = [&](const std::string& op, const std::vector<float>& v, float identity) {
    bool trivial = true;
    for (float f : v) trivial = trivial && f == identity;
    if (trivial) return Status::Ok();
    if (v.size() != 1 && static_cast<int32_t>(v.size()) != in.back()) {
      return call->Error(StatusCode::kInvalidModel, "a per-channel scale/offset of " +
                                                        std::to_string(v.size()) + " values for " +
                                                        std::to_string(in.back()) + " channels");
    }
    const int k =
        call->FloatConst(op == "MUL" ? "scale" : "offset",
                         v.size() == 1 ? Shape{} : Shape{static_cast<int32_t>(v.size())}, v);
    const int y = call->NewTensor(in, op == "MUL" ? "scaled" : "shifted");
    call->AddNode(op, {x, k}, {y}, {{"fused_activation_function", std::string("NONE")}});
    x = y;
    return Status::Ok();
  };
  EDGEOPT_RETURN_IF_ERROR(apply("MUL", scale, 1.0f));
  EDGEOPT_RETURN_IF_ERROR(apply("ADD", offset, 0.0f));
  if (x == call->inputs[0]) {
    const int y = call->NewTensor(in);
    const int shape = call->Int32Const("shape", in);
    call->AddNode("RESHAPE", {x, shape}, {y});
    x = y;
  }
  call->outputs = {x};
  return Status::Ok();
}

}  // namespace keras
}  // namespace edgeopt
