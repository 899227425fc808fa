#include "src/runtime/kernels/conv_common.h"

#include <cmath>
#include <limits>

#include "src/quant/quant_math.h"
#include "src/runtime/kernels/kernel_util.h"

namespace edgeopt {
namespace rt {

int32_t QuantizedMin(DType type) {
  switch (type) {
    case DType::kInt8:
      return -128;
    case DType::kUInt8:
      return 0;
    case DType::kInt16:
      return -32768;
    default:
      return 0;
  }
}

int32_t QuantizedMax(DType type) {
  switch (type) {
    case DType::kInt8:
      return 127;
    case DType::kUInt8:
      return 255;
    case DType::kInt16:
      return 32767;
    default:
      return 0;
  }
}

const char* TypeName(const Tensor* t) {
  return t != nullptr ? DTypeName(t->type) : "absent";
}

Status CheckRank(const Tensor* t, const char* what, int min_rank,
                 int max_rank) {
  EDGEOPT_ENSURE(t != nullptr, StatusCode::kInvalidModel, "%s is missing",
                 what);
  EDGEOPT_ENSURE(t->dims.size >= min_rank && t->dims.size <= max_rank,
                 StatusCode::kInvalidModel,
                 "%s (%s) has rank %d, expected %d%s%d", what, t->name,
                 t->dims.size, min_rank, min_rank == max_rank ? "" : " to ",
                 min_rank == max_rank ? min_rank : max_rank);
  return Status::Ok();
}

Status CheckNotSparse(const Tensor* t, const char* what) {
  EDGEOPT_ENSURE(t == nullptr || t->sparsity == nullptr,
                 StatusCode::kUnsupported,
                 "%s (%s) is a sparse tensor; sparse weights are not supported "
                 "yet (densify the "
                 "model first)",
                 what, t->name);
  return Status::Ok();
}

static bool ValidScale(float s) { return std::isfinite(s) && s > 0.0f; }

Status CheckActivationQuantization(const Tensor* t, const char* what) {
  EDGEOPT_ENSURE(t->quant.IsQuantized(), StatusCode::kInvalidModel,
                 "%s (%s) is %s but has no quantization parameters", what,
                 t->name, TypeName(t));
  EDGEOPT_ENSURE(!t->quant.IsPerChannel(), StatusCode::kUnsupported,
                 "%s (%s) has %d per-channel scales; activations must be "
                 "quantized per tensor",
                 what, t->name, t->quant.num_channels);
  EDGEOPT_ENSURE(ValidScale(t->quant.scale), StatusCode::kInvalidModel,
                 "%s (%s) has scale %g; expected a finite scale > 0", what,
                 t->name, static_cast<double>(t->quant.scale));
  const int32_t zp = t->quant.zero_point;
  if (t->type == DType::kInt16) {
    EDGEOPT_ENSURE(zp == 0, StatusCode::kInvalidModel,
                   "%s (%s) is int16 with zero point %d; int16 activations "
                   "must be symmetric "
                   "(zero point 0)",
                   what, t->name, zp);
  } else {
    EDGEOPT_ENSURE(zp >= QuantizedMin(t->type) && zp <= QuantizedMax(t->type),
                   StatusCode::kInvalidModel,
                   "%s (%s) has zero point %d, outside the %s range", what,
                   t->name, zp, TypeName(t));
  }
  return Status::Ok();
}

Status CheckFilterQuantization(const Tensor* filter, int channel_axis,
                               int channels, bool allow_int8_zero_point) {
  const Quantization& q = filter->quant;
  EDGEOPT_ENSURE(q.IsQuantized(), StatusCode::kInvalidModel,
                 "filter (%s) is %s but has no quantization parameters",
                 filter->name, TypeName(filter));
  if (q.IsPerChannel()) {
    EDGEOPT_ENSURE(filter->type == DType::kInt8, StatusCode::kUnsupported,
                   "filter (%s) is %s with per-channel scales; per-channel "
                   "weights must be int8",
                   filter->name, TypeName(filter));
    EDGEOPT_ENSURE(q.axis == channel_axis, StatusCode::kInvalidModel,
                   "filter (%s) is quantized along dimension %d; expected the "
                   "output-channel "
                   "dimension %d",
                   filter->name, q.axis, channel_axis);
    EDGEOPT_ENSURE(
        q.num_channels == channels, StatusCode::kInvalidModel,
        "filter (%s) has %d per-channel scales for %d output channels",
        filter->name, q.num_channels, channels);
  }
  for (int c = 0; c < q.num_channels; ++c) {
    EDGEOPT_ENSURE(ValidScale(q.scales[c]), StatusCode::kInvalidModel,
                   "filter (%s) scale %d is %g; expected a finite scale > 0",
                   filter->name, c, static_cast<double>(q.scales[c]));
    const int32_t zp = q.zero_points[c];
    if (filter->type == DType::kInt8 && !allow_int8_zero_point) {
      EDGEOPT_ENSURE(zp == 0, StatusCode::kUnsupported,
                     "filter (%s) has zero point %d (channel %d); int8 weights "
                     "must be symmetric "
                     "(zero point 0)",
                     filter->name, zp, c);
    } else {
      EDGEOPT_ENSURE(
          zp >= QuantizedMin(filter->type) && zp <= QuantizedMax(filter->type),
          StatusCode::kInvalidModel,
          "filter (%s) has zero point %d, outside the %s range", filter->name,
          zp, TypeName(filter));
    }
  }
  return Status::Ok();
}

int FusedActivation(tflite::ActivationFunctionType activation) {
  switch (activation) {
    case tflite::ActivationFunctionType::RELU:
    case tflite::ActivationFunctionType::RELU_N1_TO_1:
    case tflite::ActivationFunctionType::RELU6:
      return static_cast<int>(activation);
    default:
      return 0;
  }
}

void FloatActivationRange(int activation, float* act_min, float* act_max) {
  quant::ActivationRangeFloat(activation, act_min, act_max);
}

void QuantizedActivationRange(int activation, const Tensor* output,
                              int32_t* act_min, int32_t* act_max) {
  quant::ActivationRangeQuantized(
      activation, output->quant.scale, output->quant.zero_point,
      QuantizedMin(output->type), QuantizedMax(output->type), act_min, act_max);
}

Status ComputeOutputMultipliers(Context* ctx, const Tensor* input,
                                const Tensor* filter, const Tensor* output,
                                int channels, bool legacy_float_product,
                                int max_log2, int32_t** multipliers,
                                int32_t** shifts) {
  EDGEOPT_RETURN_IF_ERROR(AllocatePersistentArray(ctx, channels, multipliers));
  EDGEOPT_RETURN_IF_ERROR(AllocatePersistentArray(ctx, channels, shifts));
  const Quantization& fq = filter->quant;
  for (int c = 0; c < channels; ++c) {
    const float filter_scale = fq.scales[fq.IsPerChannel() ? c : 0];
    double product;
    if (legacy_float_product) {
      product = static_cast<double>(input->quant.scale * filter_scale);
    } else {
      product = static_cast<double>(input->quant.scale) *
                static_cast<double>(filter_scale);
    }
    const double m = product / static_cast<double>(output->quant.scale);
    EDGEOPT_ENSURE(std::isfinite(m) && m < std::ldexp(1.0, max_log2),
                   StatusCode::kUnsupported,
                   "effective output scale input*filter/output = %g (channel "
                   "%d) is too large; "
                   "expected < 2^%d",
                   m, c, max_log2);
    int shift = 0;
    quant::QuantizeMultiplier(m, &(*multipliers)[c], &shift);
    (*shifts)[c] = shift;
  }
  return Status::Ok();
}

Status CheckBiasScale(const Tensor* input, const Tensor* filter,
                      const Tensor* bias, const Tensor* output) {
  if (bias == nullptr) return Status::Ok();
  const double product = static_cast<double>(input->quant.scale) *
                         static_cast<double>(filter->quant.scale);
  const double bias_scale = static_cast<double>(bias->quant.scale);
  const double diff =
      std::abs(product - bias_scale) / static_cast<double>(output->quant.scale);
  EDGEOPT_ENSURE(diff <= 0.02, StatusCode::kInvalidModel,
                 "bias (%s) scale %g differs from input scale * filter scale = "
                 "%g by more than "
                 "2%% of the output scale",
                 bias->name, bias_scale, product);
  return Status::Ok();
}

Status CheckQuantizedBias(const Tensor* bias, DType input_type,
                          int64_t channels) {
  if (bias == nullptr) return Status::Ok();
  if (input_type == DType::kInt16) {
    EDGEOPT_ENSURE(
        bias->type == DType::kInt64 || bias->type == DType::kInt32,
        StatusCode::kInvalidModel,
        "bias (%s) has type %s; int16 inputs need an int64 (or int32) bias",
        bias->name, TypeName(bias));
  } else {
    EDGEOPT_ENSURE(bias->type == DType::kInt32, StatusCode::kInvalidModel,
                   "bias (%s) has type %s; %s inputs need an int32 bias",
                   bias->name, TypeName(bias), DTypeName(input_type));
  }
  EDGEOPT_ENSURE(
      bias->dims.NumElements() == channels, StatusCode::kInvalidModel,
      "bias (%s) has %lld elements, expected %lld (one per output channel)",
      bias->name, static_cast<long long>(bias->dims.NumElements()),
      static_cast<long long>(channels));
  EDGEOPT_ENSURE(bias->data != nullptr, StatusCode::kUnsupported,
                 "bias (%s) of a quantized op must be a constant", bias->name);
  return Status::Ok();
}

Status CheckFloatBias(const Tensor* bias, int64_t channels) {
  if (bias == nullptr) return Status::Ok();
  EDGEOPT_ENSURE(bias->type == DType::kFloat32, StatusCode::kInvalidModel,
                 "bias (%s) has type %s; a float op needs a float32 bias",
                 bias->name, TypeName(bias));
  EDGEOPT_ENSURE(
      bias->dims.NumElements() == channels, StatusCode::kInvalidModel,
      "bias (%s) has %lld elements, expected %lld (one per output channel)",
      bias->name, static_cast<long long>(bias->dims.NumElements()),
      static_cast<long long>(channels));
  return Status::Ok();
}

Status ComputeBiasTerms(Context* ctx, const Tensor* bias, const Tensor* filter,
                        int channels, int64_t K, int32_t input_zero_point,
                        int32_t filter_zero_point, int64_t** bias_term) {
  EDGEOPT_RETURN_IF_ERROR(AllocatePersistentArray(ctx, channels, bias_term));
  for (int c = 0; c < channels; ++c) {
    int64_t b = 0;
    if (bias != nullptr) {
      b = bias->type == DType::kInt64 ? bias->Data<int64_t>()[c]
                                      : bias->Data<int32_t>()[c];
    }
    int64_t sum = 0;
    if (input_zero_point != 0) {
      if (filter->type == DType::kUInt8) {
        const uint8_t* w = filter->Data<uint8_t>() + c * K;
        for (int64_t k = 0; k < K; ++k) sum += w[k];
      } else {
        const int8_t* w = filter->Data<int8_t>() + c * K;
        for (int64_t k = 0; k < K; ++k) sum += w[k];
      }
    }
    // Wrapping arithmetic: an absurd int64 bias must not be UB.
    const uint64_t term =
        static_cast<uint64_t>(b) -
        static_cast<uint64_t>(int64_t{input_zero_point} * sum) +
        static_cast<uint64_t>(K * input_zero_point * filter_zero_point);
    (*bias_term)[c] = static_cast<int64_t>(term);
  }
  return Status::Ok();
}

Status ComputeRowSums(Context* ctx, const int8_t* filter, int channels,
                      int64_t K, int32_t** sums) {
  EDGEOPT_RETURN_IF_ERROR(AllocatePersistentArray(ctx, channels, sums));
  for (int c = 0; c < channels; ++c) {
    int64_t s = 0;
    for (int64_t k = 0; k < K; ++k) s += filter[c * K + k];
    (*sums)[c] = ref::WrapToInt32(s);
  }
  return Status::Ok();
}

bool Int32AccumulatorSafe(int64_t K, int64_t max_a, int64_t max_b) {
  const int64_t per_product = max_a * max_b;
  return per_product == 0 ||
         K <= (static_cast<int64_t>(std::numeric_limits<int32_t>::max()) - 1) /
                  per_product;
}

}  // namespace rt
}  // namespace edgeopt
