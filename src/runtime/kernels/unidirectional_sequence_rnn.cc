// UNIDIRECTIONAL_SEQUENCE_RNN, float only (TFLite 2.9 semantics): a basic RNN
// over a [time, batch, input] (time_major) or [batch, time, input] sequence,
//   h_t = activation(W x_t + R h_{t-1} + b),
// with the hidden state (input 4, a variable tensor) kept across Invoke calls.
// The hybrid (int8 weights) kernel is not implemented and is refused.
#include <new>

#include "src/runtime/kernels/kernel_util.h"
#include "src/runtime/kernels/recurrent_util.h"
#include "src/runtime/kernels/reference/rnn.h"

namespace edgeopt {
namespace rt {
namespace {

enum : int { kInput = 0, kWeights = 1, kRecurrentWeights = 2, kBias = 3, kHiddenState = 4 };

struct OpData {
  ref::Activation activation = ref::Activation::kNone;
  bool time_major = false;
  int max_time = 0, n_batch = 0, n_input = 0, n_unit = 0;
};

void* Init(Context* ctx, const Node*) {
  void* mem = ctx->AllocatePersistent(sizeof(OpData));
  return mem != nullptr ? new (mem) OpData() : nullptr;
}

Status Prepare(Context* ctx, Node* node) {
  OpData* d = static_cast<OpData*>(node->user_data);
  EDGEOPT_ENSURE(d != nullptr, StatusCode::kOutOfMemory, "out of memory");
  EDGEOPT_RETURN_IF_ERROR(CheckNumInputs(node, 5, 5));
  EDGEOPT_RETURN_IF_ERROR(CheckNumOutputs(node, 1));
  int activation = 0;
  if (const auto* o = GetOptions<tflite::SequenceRNNOptions>(node)) {
    activation = static_cast<int>(o->fused_activation_function());
    d->time_major = o->time_major();
  }
  EDGEOPT_ENSURE(activation >= 0 && activation <= static_cast<int>(ref::Activation::kSignBit),
                 StatusCode::kInvalidModel, "unknown fused activation %d", activation);
  d->activation = static_cast<ref::Activation>(activation);
  const Tensor* input = ctx->input(node, kInput);
  const Tensor* weights = ctx->input(node, kWeights);
  const Tensor* recurrent = ctx->input(node, kRecurrentWeights);
  const Tensor* bias = ctx->input(node, kBias);
  Tensor* output = ctx->output(node, 0);
  EDGEOPT_ENSURE(input != nullptr && weights != nullptr && recurrent != nullptr &&
                     bias != nullptr && output != nullptr,
                 StatusCode::kInvalidModel,
                 "UNIDIRECTIONAL_SEQUENCE_RNN needs input, weights, recurrent "
                 "weights, bias, "
                 "hidden state and output");
  EDGEOPT_ENSURE(weights->type != DType::kInt8 && weights->type != DType::kUInt8,
                 StatusCode::kUnsupported,
                 "the hybrid UNIDIRECTIONAL_SEQUENCE_RNN (int8 weights) is not supported");
  for (const Tensor* t : {input, weights, recurrent, bias, static_cast<const Tensor*>(output)}) {
    EDGEOPT_RETURN_IF_ERROR(CheckTensorType(t, DType::kFloat32, t->name));
  }
  EDGEOPT_ENSURE(input->dims.size == 3, StatusCode::kInvalidModel,
                 "input (%s) has rank %d; expected 3", input->name, input->dims.size);
  d->max_time = d->time_major ? input->dims[0] : input->dims[1];
  d->n_batch = d->time_major ? input->dims[1] : input->dims[0];
  d->n_input = input->dims[2];
  EDGEOPT_ENSURE(weights->dims.size == 2, StatusCode::kInvalidModel, "weights (%s) must be 2-D",
                 weights->name);
  d->n_unit = weights->dims[0];
  const int32_t weight_dims[2] = {d->n_unit, d->n_input};
  const int32_t recurrent_dims[2] = {d->n_unit, d->n_unit};
  const int32_t bias_dims[1] = {d->n_unit};
  EDGEOPT_RETURN_IF_ERROR(CheckDims(weights, "weights", 2, weight_dims));
  EDGEOPT_RETURN_IF_ERROR(CheckDims(recurrent, "recurrent_weights", 2, recurrent_dims));
  EDGEOPT_RETURN_IF_ERROR(CheckDims(bias, "bias", 1, bias_dims));
  const int64_t hidden = static_cast<int64_t>(d->n_batch) * d->n_unit;
  EDGEOPT_ENSURE(input->dims.NumElements() <= kMaxRecurrentElements &&
                     hidden * d->max_time <= kMaxRecurrentElements &&
                     static_cast<int64_t>(d->n_unit) * d->n_unit <= kMaxRecurrentElements,
                 StatusCode::kUnsupported, "the RNN is too large");
  EDGEOPT_RETURN_IF_ERROR(CheckStateTensor(ctx->input(node, kHiddenState), DType::kFloat32, hidden,
                                           "hidden_state (input 4)"));
  Dims out_dims = input->dims;
  out_dims[2] = d->n_unit;
  return ctx->ResizeTensor(output, out_dims);
}

Status Eval(Context* ctx, Node* node) {
  const OpData& d = *static_cast<const OpData*>(node->user_data);
  const float* in = ctx->input(node, kInput)->Data<float>();
  const float* w = ctx->input(node, kWeights)->Data<float>();
  const float* r = ctx->input(node, kRecurrentWeights)->Data<float>();
  const float* bias = ctx->input(node, kBias)->Data<float>();
  float* hidden = ctx->input(node, kHiddenState)->Data<float>();
  float* out = ctx->output(node, 0)->Data<float>();
  if (d.time_major) {
    for (int t = 0; t < d.max_time; ++t) {
      ref::RnnStepFloat(in + static_cast<int64_t>(t) * d.n_batch * d.n_input, w, r, bias, d.n_batch,
                        d.n_input, d.n_unit, d.activation, hidden,
                        out + static_cast<int64_t>(t) * d.n_batch * d.n_unit);
    }
    return Status::Ok();
  }
  for (int b = 0; b < d.n_batch; ++b) {
    for (int t = 0; t < d.max_time; ++t) {
      const int64_t row = static_cast<int64_t>(b) * d.max_time + t;
      ref::RnnStepFloat(in + row * d.n_input, w, r, bias, 1, d.n_input, d.n_unit, d.activation,
                        hidden + static_cast<int64_t>(b) * d.n_unit, out + row * d.n_unit);
    }
  }
  return Status::Ok();
}

}  // namespace

const Registration* RegisterUnidirectionalSequenceRnn() {
  static const Registration reg = {"UNIDIRECTIONAL_SEQUENCE_RNN", Init, Prepare, Eval};
  return &reg;
}

}  // namespace rt
}  // namespace edgeopt
