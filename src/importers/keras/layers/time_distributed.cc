// TimeDistributed(layer): the wrapped layer applied to every step of [B, T, ...] alike.
// - Layers that act on the last axis whatever the rank (Dense, activations, Dropout,
//   LayerNormalization, ...) run on [B, T, ...] as it is: the same ops as without the wrapper,
//   which edgeopt also trains.
// - Others (convolutions, pooling, Flatten, ...): the steps are folded into the batch
//   (RESHAPE [B*T, ...]), the wrapped layer's own mapping runs on that, and a RESHAPE unfolds
//   the result to [B, T, ...] (what Keras does). Such a model converts, runs and trains: the
//   training engine scales the RESHAPEs' first dimension with its batch (src/train/ops_shape.cc).
// The wrapped layer's weights are the wrapper's (Keras 2: "<wrapper>/kernel:0"; Keras 3:
// layers/<wrapper>/layer/vars).
#include <string>

#include "src/importers/keras/layers/layer_registry.h"
#include "src/importers/keras/layers/layer_util.h"

namespace edgeopt {
namespace keras {
namespace {

// The wrapped layer's class and config; an error for what cannot be wrapped here.
StatusOr<std::pair<std::string, const Json*>> Wrapped(const LayerConfig& c) {
  EDGEOPT_ASSIGN_OR_RETURN(auto inner, InnerLayer(c, "layer"));
  const std::string& cls = inner.first;
  if (IsModelClass(cls) || cls == "TimeDistributed" || cls == "Bidirectional" || cls == "LSTM" ||
      cls == "GRU" || cls == "SimpleRNN" || cls == "InputLayer") {
    return c.Error(StatusCode::kUnsupported,
                   "TimeDistributed(%s) has no mapping yet (layers without state and without "
                   "nested layers can be wrapped)",
                   cls.c_str());
  }
  if (FindLayerMapping(cls) == nullptr) {
    return c.Error(StatusCode::kUnsupported, "TimeDistributed(%s): %s", cls.c_str(),
                   UnsupportedReason(cls).c_str());
  }
  return inner;
}

// Layers whose mapping acts on the last axis at any rank (so on every step alike); the layers
// that are the identity at inference too.
bool ActsOnTheLastAxis(const LayerMapping& mapping) {
  if (mapping.convert == ConvertInferenceIdentity) return true;
  for (const char* c : {"Dense", "Activation", "ReLU", "LeakyReLU", "ELU", "Softmax", "Dropout",
                        "Rescaling", "LayerNormalization"}) {
    if (std::string(mapping.class_name) == c) return true;
  }
  return false;
}

}  // namespace

StatusOr<std::vector<std::string>> TimeDistributedVariables(const LayerConfig& config) {
  EDGEOPT_ASSIGN_OR_RETURN(auto inner, Wrapped(config));
  const LayerMapping& mapping = *FindLayerMapping(inner.first);
  if (mapping.variables == nullptr) return std::vector<std::string>();
  return mapping.variables(LayerConfig(inner.second, config.name(), inner.first));
}

Status ConvertTimeDistributed(LayerCall* call) {
  EDGEOPT_ASSIGN_OR_RETURN(auto inner, Wrapped(call->config));
  const LayerMapping& mapping = *FindLayerMapping(inner.first);
  const Shape in = call->InputShape();
  if (in.size() < 3) {
    return call->Error(StatusCode::kInvalidModel,
                       "input " + ShapeString(in) + " has no time axis (rank 3 or more needed)");
  }
  // The wrapped layer, under the wrapper's name (its weights and nodes are the wrapper's), on
  // the input as it is or on the steps folded into the batch.
  LayerCall wrapped(call->builder, LayerConfig(inner.second, call->name(), inner.first));
  wrapped.inputs = call->inputs;
  const bool fold = !ActsOnTheLastAxis(mapping);
  Shape folded;
  if (fold) {
    const int64_t rows = int64_t{in[0]} * in[1];
    if (rows > (int64_t{1} << 30)) {
      return call->Error(StatusCode::kInvalidModel, "input too large");
    }
    folded = {static_cast<int32_t>(rows)};
    folded.insert(folded.end(), in.begin() + 2, in.end());
    const int fold_shape = call->Int32Const("fold_shape", folded);
    wrapped.inputs = {call->NewTensor(folded, "fold")};
    call->AddNode("RESHAPE", {call->inputs[0], fold_shape}, wrapped.inputs);
  }
  EDGEOPT_RETURN_IF_ERROR(mapping.convert(&wrapped));
  call->used_vars = wrapped.used_vars;
  call->params = wrapped.params;
  call->outputs = wrapped.outputs;
  if (!fold) return Status::Ok();
  if (wrapped.outputs.size() != 1) {
    return call->Error(StatusCode::kUnsupported, "the wrapped layer has several outputs");
  }
  const Shape y_shape = call->builder->ShapeOf(wrapped.outputs[0]);
  if (y_shape.empty() || y_shape[0] != folded[0]) {
    return call->Error(StatusCode::kUnsupported,
                       "the wrapped " + inner.first + " changes the batch axis");
  }
  Shape unfolded = {in[0], in[1]};
  unfolded.insert(unfolded.end(), y_shape.begin() + 1, y_shape.end());
  const int unfold_shape = call->Int32Const("unfold_shape", unfolded);
  const int y = call->NewTensor(unfolded, "unfold");
  call->AddNode("RESHAPE", {wrapped.outputs[0], unfold_shape}, {y});
  call->outputs = {y};
  return Status::Ok();
}

}  // namespace keras
}  // namespace edgeopt
