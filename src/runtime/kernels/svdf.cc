// SVDF with TensorFlow Lite 2.9's semantics: float, hybrid (int8 weights, float input/state,
// symmetric or asymmetric input quantization) and integer (int8 input/output, int16 state, int16
// weights_time). The state (input 4) persists across Invoke calls.
//
// An int8 state with int8 weights_time (TFLite Micro's 8-bit variant, e.g.
// keyword_scrambled_8bit.tflite) is computed as TFLite Micro does, with the state's zero point;
// TFLite 2.9 itself reads such a state as int16 (out of bounds).
#include "src/runtime/kernels/reference/svdf.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <new>

#include "src/quant/quant_math.h"
#include "src/runtime/kernels/kernel_util.h"
#include "src/runtime/kernels/recurrent_ukernels.h"
#include "src/runtime/kernels/recurrent_util.h"

namespace edgeopt {
namespace rt {
namespace {

enum : int {
  kInput = 0,
  kWeightsFeature = 1,
  kWeightsTime = 2,
  kBias = 3,  // optional
  kState = 4,
};

enum class Variant : uint8_t { kFloat, kHybrid, kInteger16, kInteger8 };

struct OpData {
  Variant variant = Variant::kFloat;
  ref::Activation activation = ref::Activation::kNone;
  bool asymmetric = false;
  ref::SvdfSizes sizes;
  int scratch_index = -1;
  // Hybrid.
  float feature_scale = 0.0f;
  const int32_t* row_sums = nullptr;          // asymmetric only
  const float* float_weights_time = nullptr;  // dequantized weights_time
  // Integer.
  ref::SvdfIntegerParams integer;
  // Integer with the optimized kernels (null: the reference): weights_feature packed.
  const recurrent::Kernels* kernels = nullptr;
  const int16_t* packed_feature = nullptr;
};

// Scratch layout (offsets in bytes, 64-byte aligned pieces).
struct Layout {
  size_t scratch = 0, quantized = 0, scaling = 0, zero_points = 0, output_temp = 0;
  size_t input_pairs = 0;  // the optimized integer kernels
  size_t total = 0;
};

Layout MakeLayout(const OpData& d) {
  Layout l;
  size_t offset = 0;
  auto take = [&offset](size_t bytes) {
    const size_t at = offset;
    offset += (bytes + 63) & ~size_t{63};
    return at;
  };
  const ref::SvdfSizes& s = d.sizes;
  const size_t batch = static_cast<size_t>(s.n_batch);
  l.scratch = take(batch * s.n_filter * 4);  // float or int32
  if (d.variant == Variant::kHybrid) {
    l.quantized = take(batch * s.n_input);
    l.scaling = take(batch * sizeof(float));
    l.zero_points = take(batch * sizeof(int32_t));
  } else if (d.variant != Variant::kFloat) {
    l.output_temp = take(batch * s.n_unit * sizeof(int32_t));
    if (d.kernels != nullptr) {
      l.input_pairs = take(sizeof(int32_t) * recurrent::ColPairs(s.n_input));
    }
  }
  l.total = offset;
  return l;
}

void* Init(Context* ctx, const Node*) {
  void* mem = ctx->AllocatePersistent(sizeof(OpData));
  return mem != nullptr ? new (mem) OpData() : nullptr;
}

Status CheckType(const Tensor* t, const char* what, DType type) {
  EDGEOPT_ENSURE(t->type == type, StatusCode::kUnsupported, "%s (%s) has type %s, expected %s",
                 what, t->name, DTypeName(t->type), DTypeName(type));
  return Status::Ok();
}

Status PrepareHybrid(Context* ctx, const Tensor* weights_feature, const Tensor* weights_time,
                     OpData* d) {
  const ref::SvdfSizes& s = d->sizes;
  EDGEOPT_RETURN_IF_ERROR(CheckConstant(weights_feature, "weights_feature"));
  EDGEOPT_RETURN_IF_ERROR(CheckConstant(weights_time, "weights_time"));
  EDGEOPT_RETURN_IF_ERROR(PerTensorScale(weights_feature, "weights_feature", &d->feature_scale));
  float time_scale = 0.0f;
  EDGEOPT_RETURN_IF_ERROR(PerTensorScale(weights_time, "weights_time", &time_scale));
  const int64_t n_time = static_cast<int64_t>(s.n_filter) * s.n_memory;
  float* wt = static_cast<float*>(ctx->AllocatePersistent(sizeof(float) * n_time));
  EDGEOPT_ENSURE(wt != nullptr, StatusCode::kOutOfMemory, "out of memory");
  const int8_t* q = weights_time->Data<int8_t>();
  for (int64_t i = 0; i < n_time; ++i) wt[i] = q[i] * time_scale;
  d->float_weights_time = wt;
  if (d->asymmetric) {
    int32_t* sums = static_cast<int32_t*>(ctx->AllocatePersistent(sizeof(int32_t) * s.n_filter));
    EDGEOPT_ENSURE(sums != nullptr, StatusCode::kOutOfMemory, "out of memory");
    const int8_t* w = weights_feature->Data<int8_t>();
    for (int f = 0; f < s.n_filter; ++f) {
      int64_t sum = 0;
      for (int c = 0; c < s.n_input; ++c) {
        sum += w[static_cast<int64_t>(f) * s.n_input + c];
      }
      sums[f] = ref::WrapToInt32(sum);
    }
    d->row_sums = sums;
  }
  return Status::Ok();
}

Status PrepareInteger(const Tensor* input, const Tensor* weights_feature,
                      const Tensor* weights_time, const Tensor* state, const Tensor* output,
                      OpData* d) {
  EDGEOPT_ENSURE(d->activation == ref::Activation::kRelu, StatusCode::kUnsupported,
                 "integer SVDF supports only the RELU activation (as TFLite 2.9)");
  float input_scale = 0, feature_scale = 0, state_scale = 0, time_scale = 0, output_scale = 0;
  EDGEOPT_RETURN_IF_ERROR(PerTensorScale(input, "input", &input_scale));
  EDGEOPT_RETURN_IF_ERROR(PerTensorScale(weights_feature, "weights_feature", &feature_scale));
  EDGEOPT_RETURN_IF_ERROR(PerTensorScale(state, "state", &state_scale));
  EDGEOPT_RETURN_IF_ERROR(PerTensorScale(weights_time, "weights_time", &time_scale));
  EDGEOPT_RETURN_IF_ERROR(PerTensorScale(output, "output", &output_scale));
  ref::SvdfIntegerParams& p = d->integer;
  p.input_zp = input->quant.zero_point;
  p.output_zp = output->quant.zero_point;
  EDGEOPT_ENSURE(
      p.input_zp >= -128 && p.input_zp <= 127 && p.output_zp >= -128 && p.output_zp <= 127,
      StatusCode::kInvalidModel, "input/output zero points (%d, %d) are outside the int8 range",
      p.input_zp, p.output_zp);
  if (d->variant == Variant::kInteger8) {
    p.state_zp = state->quant.zero_point;
    EDGEOPT_ENSURE(p.state_zp >= -128 && p.state_zp <= 127, StatusCode::kInvalidModel,
                   "state zero point %d is outside the int8 range", p.state_zp);
  } else {
    p.state_zp = 0;  // TFLite 2.9 assumes a symmetric int16 state
  }
  // Float arithmetic, as TFLite computes these products.
  const float scale_1 = input_scale * feature_scale / state_scale;
  const float scale_2 = state_scale * time_scale / output_scale;
  quant::QuantizeMultiplier(scale_1, &p.feature_multiplier, &p.feature_shift);
  quant::QuantizeMultiplier(scale_2, &p.time_multiplier, &p.time_shift);
  return Status::Ok();
}

Status Prepare(Context* ctx, Node* node) {
  OpData* d = static_cast<OpData*>(node->user_data);
  EDGEOPT_ENSURE(d != nullptr, StatusCode::kOutOfMemory, "out of memory");
  EDGEOPT_RETURN_IF_ERROR(CheckNumInputs(node, 5, 5));
  EDGEOPT_RETURN_IF_ERROR(CheckNumOutputs(node, 1));
  const Tensor* input = ctx->input(node, kInput);
  const Tensor* weights_feature = ctx->input(node, kWeightsFeature);
  const Tensor* weights_time = ctx->input(node, kWeightsTime);
  const Tensor* bias = ctx->input(node, kBias);
  const Tensor* state = ctx->input(node, kState);
  Tensor* output = ctx->output(node, 0);
  EDGEOPT_ENSURE(input != nullptr && weights_feature != nullptr && weights_time != nullptr &&
                     state != nullptr && output != nullptr,
                 StatusCode::kInvalidModel,
                 "SVDF needs input, weights_feature, weights_time, state and output");

  int rank = 0, activation = 0;  // the schema's defaults
  if (const auto* o = GetOptions<tflite::SVDFOptions>(node)) {
    rank = o->rank();
    activation = static_cast<int>(o->fused_activation_function());
    d->asymmetric = o->asymmetric_quantize_inputs();
  }
  EDGEOPT_ENSURE(activation >= 0 && activation <= static_cast<int>(ref::Activation::kSignBit),
                 StatusCode::kInvalidModel, "unknown fused activation %d", activation);
  d->activation = static_cast<ref::Activation>(activation);

  ref::SvdfSizes& s = d->sizes;
  EDGEOPT_ENSURE(input->dims.size == 2, StatusCode::kInvalidModel,
                 "input (%s) has rank %d; SVDF expects [batch, input]", input->name,
                 input->dims.size);
  EDGEOPT_ENSURE(weights_feature->dims.size == 2 && weights_time->dims.size == 2,
                 StatusCode::kInvalidModel, "weights_feature and weights_time must be 2-D");
  s.n_batch = input->dims[0];
  s.n_input = input->dims[1];
  s.n_filter = weights_feature->dims[0];
  s.n_memory = weights_time->dims[1];
  EDGEOPT_ENSURE(rank >= 1, StatusCode::kInvalidModel, "rank is %d; expected >= 1", rank);
  EDGEOPT_ENSURE(s.n_filter % rank == 0, StatusCode::kInvalidModel,
                 "%d filters are not a multiple of rank %d", s.n_filter, rank);
  s.rank = rank;
  s.n_unit = s.n_filter / rank;
  EDGEOPT_ENSURE(s.n_memory >= 1, StatusCode::kInvalidModel,
                 "weights_time (%s) has memory size %d; expected >= 1", weights_time->name,
                 s.n_memory);
  EDGEOPT_ENSURE(weights_feature->dims[1] == s.n_input, StatusCode::kInvalidModel,
                 "weights_feature (%s) has %d columns, the input has %d", weights_feature->name,
                 weights_feature->dims[1], s.n_input);
  EDGEOPT_ENSURE(weights_time->dims[0] == s.n_filter, StatusCode::kInvalidModel,
                 "weights_time (%s) has %d rows, expected %d filters", weights_time->name,
                 weights_time->dims[0], s.n_filter);
  if (bias != nullptr) {
    EDGEOPT_ENSURE(bias->dims.size == 1 && bias->dims[0] == s.n_unit, StatusCode::kInvalidModel,
                   "bias (%s) must have shape [%d]", bias->name, s.n_unit);
  }
  const int64_t state_elements = static_cast<int64_t>(s.n_batch) * s.n_memory * s.n_filter;
  EDGEOPT_ENSURE(
      state->dims.size == 2 && state->dims[0] == s.n_batch &&
          static_cast<int64_t>(state->dims[1]) == static_cast<int64_t>(s.n_memory) * s.n_filter,
      StatusCode::kInvalidModel,
      "state (%s) must have shape [%d, %lld] (batch, memory_size * filters)", state->name,
      s.n_batch, static_cast<long long>(static_cast<int64_t>(s.n_memory) * s.n_filter));
  EDGEOPT_ENSURE(state_elements <= kMaxRecurrentElements &&
                     input->dims.NumElements() <= kMaxRecurrentElements &&
                     weights_feature->dims.NumElements() <= kMaxRecurrentElements,
                 StatusCode::kUnsupported, "the SVDF is too large");

  // Variant from the types.
  if (input->type == DType::kFloat32 && weights_feature->type == DType::kFloat32) {
    d->variant = Variant::kFloat;
  } else if (input->type == DType::kFloat32 && weights_feature->type == DType::kInt8) {
    d->variant = Variant::kHybrid;
  } else if (input->type == DType::kInt8 && weights_feature->type == DType::kInt8) {
    d->variant = state->type == DType::kInt8 ? Variant::kInteger8 : Variant::kInteger16;
  } else {
    return MakeStatus(StatusCode::kUnsupported,
                      "SVDF with %s input and %s weights is not supported (float32/float32, "
                      "float32/int8 hybrid and int8/int8 are)",
                      DTypeName(input->type), DTypeName(weights_feature->type));
  }
  const bool integer = d->variant == Variant::kInteger16 || d->variant == Variant::kInteger8;
  const DType state_type = d->variant == Variant::kInteger16  ? DType::kInt16
                           : d->variant == Variant::kInteger8 ? DType::kInt8
                                                              : DType::kFloat32;
  const DType time_type = integer                          ? state_type
                          : d->variant == Variant::kHybrid ? DType::kInt8
                                                           : DType::kFloat32;
  EDGEOPT_RETURN_IF_ERROR(CheckType(weights_time, "weights_time", time_type));
  if (bias != nullptr) {
    EDGEOPT_RETURN_IF_ERROR(CheckType(bias, "bias", integer ? DType::kInt32 : DType::kFloat32));
  }
  EDGEOPT_RETURN_IF_ERROR(CheckType(output, "output", integer ? DType::kInt8 : DType::kFloat32));
  EDGEOPT_RETURN_IF_ERROR(CheckStateTensor(state, state_type, state_elements, "state (input 4)"));
  EDGEOPT_RETURN_IF_ERROR(ctx->ResizeTensor(output, MakeDims({s.n_batch, s.n_unit})));

  if (d->variant == Variant::kHybrid) {
    EDGEOPT_RETURN_IF_ERROR(PrepareHybrid(ctx, weights_feature, weights_time, d));
  } else if (integer) {
    EDGEOPT_RETURN_IF_ERROR(PrepareInteger(input, weights_feature, weights_time, state, output, d));
    d->kernels = nullptr;
    if (ctx->use_optimized_kernels() && weights_feature->IsConstant() &&
        weights_feature->data != nullptr && weights_feature->sparsity == nullptr) {
      int16_t* packed = static_cast<int16_t*>(ctx->AllocatePersistent(
          sizeof(int16_t) * recurrent::PackedS8Size(s.n_filter, s.n_input)));
      EDGEOPT_ENSURE(packed != nullptr, StatusCode::kOutOfMemory, "out of memory");
      const int8_t* m = weights_feature->Data<int8_t>();
      recurrent::PackS8Matrices(&m, 1, s.n_filter, s.n_input, packed);
      d->packed_feature = packed;
      d->kernels = &recurrent::GetKernels(ctx->cpu());
    }
  }
  return ctx->RequestScratch(MakeLayout(*d).total, &d->scratch_index);
}

// ref::SvdfInteger with the feature products through the packed kernels (the input's zero
// point folded into the vector).
template <typename StateT>
void SvdfIntegerFast(const OpData& d, const int8_t* input, const StateT* weights_time,
                     const int32_t* bias, StateT* state, int32_t* scratch, int32_t* output_temp,
                     int32_t* input_pairs, int8_t* output) {
  const ref::SvdfSizes& s = d.sizes;
  const ref::SvdfIntegerParams& p = d.integer;
  ref::ShiftStateLeft(s, state);
  const int64_t lo = std::numeric_limits<StateT>::min();
  const int64_t hi = std::numeric_limits<StateT>::max();
  for (int b = 0; b < s.n_batch; ++b) {
    recurrent::PackS8Vector(input + static_cast<int64_t>(b) * s.n_input, s.n_input, p.input_zp,
                            input_pairs);
    int32_t* dots = scratch + static_cast<int64_t>(b) * s.n_filter;
    d.kernels->s8_matvec(d.packed_feature, s.n_filter, recurrent::ColPairs(s.n_input), input_pairs,
                         dots);
    StateT* last = state + static_cast<int64_t>(b) * s.n_filter * s.n_memory + s.n_memory - 1;
    for (int f = 0; f < s.n_filter; ++f) {
      int64_t y = ref::MulByQuantizedMultiplier(dots[f], p.feature_multiplier, p.feature_shift);
      y += p.state_zp;
      last[static_cast<int64_t>(f) * s.n_memory] =
          static_cast<StateT>(std::min(hi, std::max(lo, y)));
    }
  }
  // Time filter: wrapping int32 sums (the reference's int64 ones narrowed the same way).
  for (int b = 0; b < s.n_batch; ++b) {
    const StateT* m = state + static_cast<int64_t>(b) * s.n_filter * s.n_memory;
    int32_t* dots = scratch + static_cast<int64_t>(b) * s.n_filter;
    if constexpr (sizeof(StateT) == 2) {
      d.kernels->s16_time_dots(weights_time, m, s.n_filter, s.n_memory, dots);
    } else {
      d.kernels->s8_time_dots(weights_time, m, p.state_zp, s.n_filter, s.n_memory, dots);
    }
  }
  for (int o = 0; o < s.n_batch * s.n_unit; ++o) {
    int64_t sum = 0;
    for (int r = 0; r < s.rank; ++r) sum += scratch[o * s.rank + r];
    if (bias != nullptr) sum += bias[o % s.n_unit];
    output_temp[o] = ref::WrapToInt32(sum);
  }
  for (int o = 0; o < s.n_batch * s.n_unit; ++o) {
    int64_t y = ref::MulByQuantizedMultiplier(output_temp[o], p.time_multiplier, p.time_shift);
    y += p.output_zp;
    output[o] = static_cast<int8_t>(std::min<int64_t>(127, std::max<int64_t>(-128, y)));
  }
}

Status Eval(Context* ctx, Node* node) {
  const OpData& d = *static_cast<const OpData*>(node->user_data);
  const Tensor* input = ctx->input(node, kInput);
  const Tensor* weights_feature = ctx->input(node, kWeightsFeature);
  const Tensor* weights_time = ctx->input(node, kWeightsTime);
  const Tensor* bias = ctx->input(node, kBias);
  Tensor* state = ctx->input(node, kState);
  Tensor* output = ctx->output(node, 0);
  uint8_t* scratch = static_cast<uint8_t*>(ctx->GetScratch(d.scratch_index));
  EDGEOPT_ENSURE(scratch != nullptr, StatusCode::kInternal, "SVDF scratch memory is missing");
  const Layout l = MakeLayout(d);
  switch (d.variant) {
    case Variant::kFloat:
      ref::SvdfFloat(d.sizes, input->Data<float>(), weights_feature->Data<float>(),
                     weights_time->Data<float>(), bias ? bias->Data<float>() : nullptr,
                     d.activation, state->Data<float>(),
                     reinterpret_cast<float*>(scratch + l.scratch), output->Data<float>());
      return Status::Ok();
    case Variant::kHybrid: {
      ref::SvdfHybridScratch sc;
      sc.scratch = reinterpret_cast<float*>(scratch + l.scratch);
      sc.quantized_input = reinterpret_cast<int8_t*>(scratch + l.quantized);
      sc.scaling_factors = reinterpret_cast<float*>(scratch + l.scaling);
      sc.zero_points = reinterpret_cast<int32_t*>(scratch + l.zero_points);
      ref::SvdfHybrid(d.sizes, input->Data<float>(), weights_feature->Data<int8_t>(),
                      d.feature_scale, d.row_sums, d.float_weights_time,
                      bias ? bias->Data<float>() : nullptr, d.activation, state->Data<float>(), sc,
                      output->Data<float>());
      return Status::Ok();
    }
    case Variant::kInteger16:
      if (d.kernels != nullptr) {
        SvdfIntegerFast<int16_t>(d, input->Data<int8_t>(), weights_time->Data<int16_t>(),
                                 bias ? bias->Data<int32_t>() : nullptr, state->Data<int16_t>(),
                                 reinterpret_cast<int32_t*>(scratch + l.scratch),
                                 reinterpret_cast<int32_t*>(scratch + l.output_temp),
                                 reinterpret_cast<int32_t*>(scratch + l.input_pairs),
                                 output->Data<int8_t>());
        return Status::Ok();
      }
      ref::SvdfInteger<int16_t>(
          d.sizes, d.integer, input->Data<int8_t>(), weights_feature->Data<int8_t>(),
          weights_time->Data<int16_t>(), bias ? bias->Data<int32_t>() : nullptr,
          state->Data<int16_t>(), reinterpret_cast<int32_t*>(scratch + l.scratch),
          reinterpret_cast<int32_t*>(scratch + l.output_temp), output->Data<int8_t>());
      return Status::Ok();
    case Variant::kInteger8:
      if (d.kernels != nullptr) {
        SvdfIntegerFast<int8_t>(d, input->Data<int8_t>(), weights_time->Data<int8_t>(),
                                bias ? bias->Data<int32_t>() : nullptr, state->Data<int8_t>(),
                                reinterpret_cast<int32_t*>(scratch + l.scratch),
                                reinterpret_cast<int32_t*>(scratch + l.output_temp),
                                reinterpret_cast<int32_t*>(scratch + l.input_pairs),
                                output->Data<int8_t>());
        return Status::Ok();
      }
      ref::SvdfInteger<int8_t>(
          d.sizes, d.integer, input->Data<int8_t>(), weights_feature->Data<int8_t>(),
          weights_time->Data<int8_t>(), bias ? bias->Data<int32_t>() : nullptr,
          state->Data<int8_t>(), reinterpret_cast<int32_t*>(scratch + l.scratch),
          reinterpret_cast<int32_t*>(scratch + l.output_temp), output->Data<int8_t>());
      return Status::Ok();
  }
  return MakeStatus(StatusCode::kInternal, "unknown SVDF variant");
}

}  // namespace

const Registration* RegisterSvdf() {
  static const Registration reg = {"SVDF", Init, Prepare, Eval};
  return &reg;
}

}  // namespace rt
}  // namespace edgeopt
