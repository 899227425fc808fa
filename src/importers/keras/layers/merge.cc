// Add, Subtract, Multiply, Maximum, Minimum -> chains of ADD / SUB / MUL /
// MAXIMUM / MINIMUM; Average -> ADD chain + MUL by 1/n; Concatenate ->
// CONCATENATION {axis}.
#include <algorithm>

#include "src/importers/keras/layers/layer_registry.h"
#include "src/importers/keras/layers/layer_util.h"

namespace edgeopt {
namespace keras {
Status ConvertMerge(LayerCall* call) {
  const std::string& cls = call->config.class_name();
  std::string op;
  if (cls == "Add" || cls == "Average") {
    op = "ADD";
  } else if (cls == "Subtract") {
    op = "SUB";
  } else if (cls == "Multiply") {
    op = "MUL";
  } else if (cls == "Maximum") {
    op = "MAXIMUM";
  } else if (cls == "Minimum") {
    op = "MINIMUM";
  } else {
    return call->Error(StatusCode::kInternal, "not a merge layer");
  }
  if (call->inputs.size() < 2 || (cls == "Subtract" && call->inputs.size() != 2)) {
    return call->Error(StatusCode::kInvalidModel,
                       "needs " + std::string(cls == "Subtract" ? "exactly 2" : "at least 2") +
                           " inputs, got " + std::to_string(call->inputs.size()));
  }
  const bool takes_activation = op == "ADD" || op == "SUB" || op == "MUL";
  int acc = call->inputs[0];
  for (size_t i = 1; i < call->inputs.size(); ++i) {
    Shape out;
    if (!BroadcastShapes(call->builder->ShapeOf(acc), call->InputShape(i), &out)) {
      return call->Error(StatusCode::kInvalidModel,
                         "input shapes " + ShapeString(call->builder->ShapeOf(acc)) + " and " +
                             ShapeString(call->InputShape(i)) + " do not broadcast");
    }
    const int y = call->NewTensor(out, "merge");
    ir::Attrs attrs;
    if (takes_activation) attrs["fused_activation_function"] = std::string("NONE");
    call->AddNode(op, {acc, call->inputs[i]}, {y}, attrs);
    acc = y;
  }
  if (cls == "Average") {
    acc = EmitScalarOp(call, "MUL", acc, 1.0f / static_cast<float>(call->inputs.size()));
  }
  call->outputs = {acc};
  EDGEOPT_ASSIGN_OR_RETURN(const int mask, MergeMask(call, false));
  if (mask >= 0) call->output_masks = {mask};
  return Status::Ok();
}

Status ConvertConcatenate(LayerCall* call) {
  EDGEOPT_ASSIGN_OR_RETURN(int64_t axis, call->config.IntOr("axis", -1));
  if (call->inputs.empty()) return call->Error(StatusCode::kInvalidModel, "has no inputs");
  const Shape first = call->InputShape(0);
  const int64_t rank = static_cast<int64_t>(first.size());
  if (axis < 0) axis += rank;
  if (axis <= 0 || axis >= rank) {
    return call->Error(
        StatusCode::kUnsupported,
        "concatenation along axis " + std::to_string(axis) + " (the batch axis or out of range)");
  }
  EDGEOPT_ASSIGN_OR_RETURN(const int y, EmitConcatenation(call, call->inputs, axis, "concat"));
  call->outputs = {y};
  if (axis != 1 && axis != rank - 1 &&
      std::any_of(call->input_masks.begin(), call->input_masks.end(),
                  [](int m) { return m >= 0; })) {
    return call->Error(StatusCode::kUnsupported,
                       "receives a Keras mask and concatenates along axis " + std::to_string(axis) +
                           "; edgeopt merges masks along the steps or the last axis");
  }
  EDGEOPT_ASSIGN_OR_RETURN(const int mask, MergeMask(call, axis == 1 && rank >= 3));
  if (mask >= 0) call->output_masks = {mask};
  return Status::Ok();
}

}  // namespace keras
}  // namespace edgeopt
