// Binary elementwise ops with numpy broadcasting, besides ADD/SUB/MUL:
//  - DIV: float32 (IEEE division), int32 (truncating; a zero divisor is an error), uint8
//    (TFLite's fixed-point reciprocal path).
//  - MINIMUM, MAXIMUM: float32, int8, uint8, int16, int32, int64 on the raw values (quantized
//    inputs and output share their parameters in TFLite models).
//  - SQUARED_DIFFERENCE: float32, int32, int8 (inputs rescaled with 7 extra bits).
#include <cmath>
#include <cstdint>
#include <type_traits>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include "src/quant/quant_math.h"
#include "src/runtime/kernels/elem_util.h"
#include "src/runtime/kernels/reference/arith.h"
#include "src/runtime/kernels/reference/broadcast.h"

namespace edgeopt {
namespace rt {
namespace {

struct OpData {
  ref::BroadcastPlan plan;
  ref::MulParams div;        // DIV uint8
  ref::AddSubParams sqdiff;  // SQUARED_DIFFERENCE int8
  float f_min = 0, f_max = 0;
  int activation = 0;
};

// --- DIV -----------------------------------------------------------------------------------------

Status DivPrepare(Context* ctx, Node* node) {
  OpData* data;
  EDGEOPT_RETURN_IF_ERROR(GetOpData(node, &data));
  Tensor *a, *b, *out;
  EDGEOPT_RETURN_IF_ERROR(PrepareBroadcastBinary(ctx, node, &a, &b, &out, &data->plan));
  EDGEOPT_RETURN_IF_ERROR(CheckSameType(a, out, "input", "output"));
  data->activation = FusedActivation<tflite::DivOptions>(node);
  switch (out->type) {
    case DType::kFloat32:
      quant::ActivationRangeFloat(data->activation, &data->f_min, &data->f_max);
      return Status::Ok();
    case DType::kInt32:
      return Status::Ok();
    case DType::kUInt8:
      break;
    default:
      return MakeStatus(StatusCode::kUnsupported, "DIV supports float32, int32 and uint8, not %s",
                        DTypeName(out->type));
  }
  EDGEOPT_RETURN_IF_ERROR(CheckPerTensorQuant(a, "input 0"));
  EDGEOPT_RETURN_IF_ERROR(CheckPerTensorQuant(b, "input 1"));
  EDGEOPT_RETURN_IF_ERROR(CheckPerTensorQuant(out, "output"));
  ref::MulParams& q = data->div;
  q.input1_offset = -a->quant.zero_point;
  q.input2_offset = -b->quant.zero_point;
  q.output_offset = out->quant.zero_point;
  const float real_multiplier = a->quant.scale / (b->quant.scale * out->quant.scale);
  quant::QuantizeMultiplier(real_multiplier, &q.output_multiplier, &q.output_shift);
  quant::ActivationRangeQuantized(data->activation, out->quant.scale, out->quant.zero_point, 0, 255,
                                  &q.act_min, &q.act_max);
  return Status::Ok();
}

Status DivEval(Context* ctx, Node* node) {
  const OpData* d = static_cast<const OpData*>(node->user_data);
  const Tensor* a = ctx->input(node, 0);
  const Tensor* b = ctx->input(node, 1);
  Tensor* out = ctx->output(node, 0);
  switch (out->type) {
    case DType::kFloat32: {
      const float lo = d->f_min, hi = d->f_max;
      ref::BroadcastBinary(
          d->plan, a->Data<float>(), b->Data<float>(), out->Data<float>(),
          [lo, hi](float x, float y) { return std::min(hi, std::max(lo, x / y)); });
      break;
    }
    case DType::kInt32: {
      const int64_t nb = b->dims.NumElements();
      const int32_t* pb = b->Data<int32_t>();
      for (int64_t i = 0; i < nb; ++i) {
        EDGEOPT_ENSURE(pb[i] != 0, StatusCode::kInvalidArgument,
                       "int32 division by zero (divisor element %lld)", static_cast<long long>(i));
      }
      int32_t lo, hi;
      ActivationRangeInt<int32_t>(d->activation, &lo, &hi);
      ref::BroadcastBinary(
          d->plan, a->Data<int32_t>(), pb, out->Data<int32_t>(), [lo, hi](int32_t x, int32_t y) {
            // INT32_MIN / -1 overflows: wrap as the hardware result would.
            const int32_t v =
                (y == -1) ? static_cast<int32_t>(0u - static_cast<uint32_t>(x)) : x / y;
            return v < lo ? lo : (v > hi ? hi : v);
          });
      break;
    }
    case DType::kUInt8: {
      const ref::MulParams& q = d->div;
      ref::BroadcastBinary(
          d->plan, a->Data<uint8_t>(), b->Data<uint8_t>(), out->Data<uint8_t>(),
          [&q](uint8_t x, uint8_t y) { return static_cast<uint8_t>(ref::QuantDiv(x, y, q)); });
      break;
    }
    default:
      return MakeStatus(StatusCode::kInternal, "unexpected type %s", DTypeName(out->type));
  }
  return Status::Ok();
}

// --- MINIMUM / MAXIMUM ---------------------------------------------------------------------------

Status MinMaxPrepare(Context* ctx, Node* node) {
  OpData* data;
  EDGEOPT_RETURN_IF_ERROR(GetOpData(node, &data));
  Tensor *a, *b, *out;
  EDGEOPT_RETURN_IF_ERROR(PrepareBroadcastBinary(ctx, node, &a, &b, &out, &data->plan));
  EDGEOPT_RETURN_IF_ERROR(CheckSameType(a, out, "input", "output"));
  switch (out->type) {
    case DType::kFloat32:
    case DType::kInt8:
    case DType::kUInt8:
    case DType::kInt16:
    case DType::kInt32:
    case DType::kInt64:
      return Status::Ok();
    default:
      return MakeStatus(StatusCode::kUnsupported, "MINIMUM/MAXIMUM do not support type %s",
                        DTypeName(out->type));
  }
}

// n values of a and b in vectors, compared as the scalar op does (NaN and -0 included): maxps /
// minps are x > y ? x : y and x < y ? x : y lane by lane; int8 as GCC vectors (which it expands
// element by element for float).
void MinMaxRun(const float* a, const float* b, float* o, int64_t n, bool max) {
  int64_t i = 0;
#if defined(__SSE2__)
  for (; i + 4 <= n; i += 4) {
    const __m128 x = _mm_loadu_ps(a + i), y = _mm_loadu_ps(b + i);
    _mm_storeu_ps(o + i, max ? _mm_max_ps(x, y) : _mm_min_ps(x, y));
  }
#endif
  for (; i < n; ++i) o[i] = (max ? a[i] > b[i] : a[i] < b[i]) ? a[i] : b[i];
}

void MinMaxRun(const int8_t* a, const int8_t* b, int8_t* o, int64_t n, bool max) {
  typedef int8_t V __attribute__((vector_size(16)));
  int64_t i = 0;
  for (; i + 16 <= n; i += 16) {
    V x, y;
    __builtin_memcpy(&x, a + i, 16);
    __builtin_memcpy(&y, b + i, 16);
    const V r = (max ? x > y : x < y) ? x : y;
    __builtin_memcpy(o + i, &r, 16);
  }
  for (; i < n; ++i) o[i] = (max ? a[i] > b[i] : a[i] < b[i]) ? a[i] : b[i];
}

// Float and int8 inputs of one shape, or one repeated along the other's leading dimensions (a
// causal attention mask [T, S] on the scores of every head), run in vectors, row by row.
template <typename T>
bool MinMaxRows(const ref::BroadcastPlan& p, const T* a, const T* b, T* o, bool max) {
  const bool same = p.rank == 1 && p.stride_a[0] == 1 && p.stride_b[0] == 1;
  const bool rows2 = p.rank == 2 && p.stride_a[1] == 1 && p.stride_b[1] == 1;
  const bool repeat_a = rows2 && p.stride_a[0] == 0 && p.stride_b[0] == p.dims[1];
  const bool repeat_b = rows2 && p.stride_b[0] == 0 && p.stride_a[0] == p.dims[1];
  if (!same && !repeat_a && !repeat_b) return false;
  const int64_t inner = p.dims[p.rank - 1], rows = same ? 1 : p.dims[0];
  for (int64_t r = 0; r < rows; ++r) {
    MinMaxRun(a + (repeat_a ? 0 : r * inner), b + (repeat_b ? 0 : r * inner), o + r * inner, inner,
              max);
  }
  return true;
}

// `max` at run time rather than as a template argument: one broadcast loop per type for both
// ops (2.7 KB less in a size build); the branch is the same every element.
template <typename T>
void MinMaxTyped(const OpData* d, const Tensor* a, const Tensor* b, Tensor* out, bool max) {
  if constexpr (std::is_same_v<T, float> || std::is_same_v<T, int8_t>) {
    if (MinMaxRows(d->plan, a->Data<T>(), b->Data<T>(), out->Data<T>(), max)) return;
  }
  ref::BroadcastBinary(d->plan, a->Data<T>(), b->Data<T>(), out->Data<T>(),
                       [max](T x, T y) { return (max ? x > y : x < y) ? x : y; });
}

Status MinMaxEvalOf(Context* ctx, Node* node, bool max) {
  const OpData* d = static_cast<const OpData*>(node->user_data);
  const Tensor* a = ctx->input(node, 0);
  const Tensor* b = ctx->input(node, 1);
  Tensor* out = ctx->output(node, 0);
  switch (out->type) {
    case DType::kFloat32:
      MinMaxTyped<float>(d, a, b, out, max);
      break;
    case DType::kInt8:
      MinMaxTyped<int8_t>(d, a, b, out, max);
      break;
    case DType::kUInt8:
      MinMaxTyped<uint8_t>(d, a, b, out, max);
      break;
    case DType::kInt16:
      MinMaxTyped<int16_t>(d, a, b, out, max);
      break;
    case DType::kInt32:
      MinMaxTyped<int32_t>(d, a, b, out, max);
      break;
    case DType::kInt64:
      MinMaxTyped<int64_t>(d, a, b, out, max);
      break;
    default:
      return MakeStatus(StatusCode::kInternal, "unexpected type %s", DTypeName(out->type));
  }
  return Status::Ok();
}

Status MinimumEval(Context* ctx, Node* node) { return MinMaxEvalOf(ctx, node, false); }
Status MaximumEval(Context* ctx, Node* node) { return MinMaxEvalOf(ctx, node, true); }

// --- SQUARED_DIFFERENCE --------------------------------------------------------------------------

Status SqDiffPrepare(Context* ctx, Node* node) {
  OpData* data;
  EDGEOPT_RETURN_IF_ERROR(GetOpData(node, &data));
  Tensor *a, *b, *out;
  EDGEOPT_RETURN_IF_ERROR(PrepareBroadcastBinary(ctx, node, &a, &b, &out, &data->plan));
  EDGEOPT_RETURN_IF_ERROR(CheckSameType(a, out, "input", "output"));
  switch (out->type) {
    case DType::kFloat32:
    case DType::kInt32:
      return Status::Ok();
    case DType::kInt8:
      break;
    default:
      return MakeStatus(StatusCode::kUnsupported,
                        "SQUARED_DIFFERENCE supports float32, int32 and int8, not %s",
                        DTypeName(out->type));
  }
  EDGEOPT_RETURN_IF_ERROR(CheckPerTensorQuant(a, "input 0"));
  EDGEOPT_RETURN_IF_ERROR(CheckPerTensorQuant(b, "input 1"));
  EDGEOPT_RETURN_IF_ERROR(CheckPerTensorQuant(out, "output"));
  ref::AddSubParams& q = data->sqdiff;
  q.left_shift = 7;
  q.input1_offset = -a->quant.zero_point;
  q.input2_offset = -b->quant.zero_point;
  q.output_offset = out->quant.zero_point;
  const double twice_max = 2.0 * static_cast<double>(std::max(a->quant.scale, b->quant.scale));
  const double m1 = static_cast<double>(a->quant.scale) / twice_max;
  const double m2 = static_cast<double>(b->quant.scale) / twice_max;
  const double mo =
      (twice_max * twice_max) /
      static_cast<double>(static_cast<float>(1 << (2 * q.left_shift)) * out->quant.scale);
  quant::QuantizeMultiplier(m1, &q.input1_multiplier, &q.input1_shift);
  quant::QuantizeMultiplier(m2, &q.input2_multiplier, &q.input2_shift);
  quant::QuantizeMultiplier(mo, &q.output_multiplier, &q.output_shift);
  q.act_min = -128;
  q.act_max = 127;
  return Status::Ok();
}

Status SqDiffEval(Context* ctx, Node* node) {
  const OpData* d = static_cast<const OpData*>(node->user_data);
  const Tensor* a = ctx->input(node, 0);
  const Tensor* b = ctx->input(node, 1);
  Tensor* out = ctx->output(node, 0);
  switch (out->type) {
    case DType::kFloat32:
      ref::BroadcastBinary(d->plan, a->Data<float>(), b->Data<float>(), out->Data<float>(),
                           [](float x, float y) { return (x - y) * (x - y); });
      break;
    case DType::kInt32:
      ref::BroadcastBinary(d->plan, a->Data<int32_t>(), b->Data<int32_t>(), out->Data<int32_t>(),
                           [](int32_t x, int32_t y) {
                             const uint32_t diff =
                                 static_cast<uint32_t>(x) - static_cast<uint32_t>(y);
                             return static_cast<int32_t>(diff * diff);
                           });
      break;
    case DType::kInt8: {
      const ref::AddSubParams& q = d->sqdiff;
      ref::BroadcastBinary(d->plan, a->Data<int8_t>(), b->Data<int8_t>(), out->Data<int8_t>(),
                           [&q](int8_t x, int8_t y) {
                             return static_cast<int8_t>(ref::QuantSquaredDifference(x, y, q));
                           });
      break;
    }
    default:
      return MakeStatus(StatusCode::kInternal, "unexpected type %s", DTypeName(out->type));
  }
  return Status::Ok();
}

// --- POW / FLOOR_DIV / FLOOR_MOD -----------------------------------------------------------------

enum class Misc { kPow, kFloorDiv, kFloorMod };

template <Misc kOp>
Status MiscPrepare(Context* ctx, Node* node) {
  OpData* data;
  EDGEOPT_RETURN_IF_ERROR(GetOpData(node, &data));
  Tensor *a, *b, *out;
  EDGEOPT_RETURN_IF_ERROR(PrepareBroadcastBinary(ctx, node, &a, &b, &out, &data->plan));
  EDGEOPT_RETURN_IF_ERROR(CheckSameType(a, out, "input", "output"));
  const bool ok = a->type == DType::kFloat32 || a->type == DType::kInt32 ||
                  (kOp != Misc::kPow && a->type == DType::kInt64);
  EDGEOPT_ENSURE(ok, StatusCode::kUnsupported, "type %s is not supported", DTypeName(a->type));
  return Status::Ok();
}

template <typename T>
T IntegerPow(T base, T exponent) {
  using U = typename std::make_unsigned<T>::type;
  U result = 1, b = static_cast<U>(base);
  while (exponent != 0) {
    if (exponent & 1) result *= b;
    exponent >>= 1;
    b *= b;
  }
  return static_cast<T>(result);
}

template <typename T>
T FloorMod(T x, T y) {
  T m;
  if constexpr (std::is_integral<T>::value) {
    m = (y == -1) ? 0 : x % y;
  } else {
    m = std::fmod(x, y);
  }
  return (m != 0 && ((y < 0) != (m < 0))) ? m + y : m;
}

template <Misc kOp, typename T>
Status MiscTyped(const OpData* d, const Tensor* a, const Tensor* b, Tensor* out) {
  if (std::is_integral<T>::value) {
    const int64_t nb = b->dims.NumElements();
    for (int64_t i = 0; i < nb; ++i) {
      const T v = b->Data<T>()[i];
      EDGEOPT_ENSURE(
          kOp == Misc::kPow ? v >= 0 : v != 0, StatusCode::kInvalidArgument,
          "%s (element %lld of input 1)",
          kOp == Misc::kPow ? "integer POW with a negative exponent" : "division by zero",
          static_cast<long long>(i));
    }
  }
  ref::BroadcastBinary(d->plan, a->Data<T>(), b->Data<T>(), out->Data<T>(), [](T x, T y) {
    if constexpr (kOp == Misc::kPow) {
      if constexpr (std::is_integral<T>::value) {
        return IntegerPow(x, y);
      } else {
        return std::pow(x, y);
      }
    } else if constexpr (kOp == Misc::kFloorDiv) {
      if constexpr (std::is_integral<T>::value) {
        using U = typename std::make_unsigned<T>::type;
        if (y == -1) return static_cast<T>(U(0) - static_cast<U>(x));  // wraps at the minimum
        const T q = x / y;
        return (x % y != 0 && ((x < 0) != (y < 0))) ? static_cast<T>(q - 1) : q;
      } else {
        return static_cast<T>(std::floor(static_cast<double>(x) / static_cast<double>(y)));
      }
    } else {
      return FloorMod(x, y);
    }
  });
  return Status::Ok();
}

template <Misc kOp>
Status MiscEval(Context* ctx, Node* node) {
  const OpData* d = static_cast<const OpData*>(node->user_data);
  const Tensor* a = ctx->input(node, 0);
  const Tensor* b = ctx->input(node, 1);
  Tensor* out = ctx->output(node, 0);
  switch (a->type) {
    case DType::kFloat32:
      return MiscTyped<kOp, float>(d, a, b, out);
    case DType::kInt32:
      return MiscTyped<kOp, int32_t>(d, a, b, out);
    default:
      return MiscTyped<kOp, int64_t>(d, a, b, out);
  }
}

}  // namespace

const Registration* RegisterPow() {
  static const Registration reg = {"POW", InitOpData<OpData>, MiscPrepare<Misc::kPow>,
                                   MiscEval<Misc::kPow>};
  return &reg;
}
const Registration* RegisterFloorDiv() {
  static const Registration reg = {"FLOOR_DIV", InitOpData<OpData>, MiscPrepare<Misc::kFloorDiv>,
                                   MiscEval<Misc::kFloorDiv>};
  return &reg;
}
const Registration* RegisterFloorMod() {
  static const Registration reg = {"FLOOR_MOD", InitOpData<OpData>, MiscPrepare<Misc::kFloorMod>,
                                   MiscEval<Misc::kFloorMod>};
  return &reg;
}

const Registration* RegisterDiv() {
  static const Registration reg = {"DIV", InitOpData<OpData>, DivPrepare, DivEval};
  return &reg;
}
const Registration* RegisterMinimum() {
  static const Registration reg = {"MINIMUM", InitOpData<OpData>, MinMaxPrepare, MinimumEval};
  return &reg;
}
const Registration* RegisterMaximum() {
  static const Registration reg = {"MAXIMUM", InitOpData<OpData>, MinMaxPrepare, MaximumEval};
  return &reg;
}
const Registration* RegisterSquaredDifference() {
  static const Registration reg = {"SQUARED_DIFFERENCE", InitOpData<OpData>, SqDiffPrepare,
                                   SqDiffEval};
  return &reg;
}

}  // namespace rt
}  // namespace edgeopt
