// Elementwise math: EXP, LOG, SQRT, RSQRT, SQUARE, ABS, NEG, SIN, COS, FLOOR,
// CEIL, ROUND on float32; ABS on int8/int16 (|q - zp_in| rescaled to the
// output), RSQRT on int8 (TFLite's fixed-point inverse square root; negative
// inputs are an error), NEG and ABS on int32/int64.
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <limits>

#include "src/quant/quant_math.h"
#include "src/runtime/kernels/elem_util.h"
#include "src/runtime/kernels/reference/fixed_point.h"

namespace edgeopt {
namespace rt {
namespace {

enum class Fn { kExp, kLog, kSqrt, kRsqrt, kSquare, kAbs, kNeg, kSin, kCos, kFloor, kCeil, kRound };

struct OpData {
  int32_t multiplier = 0;
  int shift = 0;
  bool needs_rescale = false;
  int8_t rsqrt[256] = {};  // RSQRT int8: the output for each input byte (from RsqrtValue)
};

// TFLite's int8 RSQRT of one value q >= zero point: the fixed-point inverse square root.
int8_t RsqrtValue(const OpData* d, int32_t q, int32_t izp, int32_t ozp) {
  const int32_t v = q - izp;
  if (v == 0) return 127;     // values at zero map to the largest output
  constexpr int kShift = 20;  // keeps the intermediate an integer
  int32_t inv_mult;
  int inv_shift;
  ref::GetInvSqrtQuantizedMultiplierExp(v, -1, &inv_mult, &inv_shift);
  const int32_t data = quant::MultiplyByQuantizedMultiplier(1, inv_mult, inv_shift + kShift);
  const int32_t r =
      quant::MultiplyByQuantizedMultiplier(data, d->multiplier, d->shift - kShift) + ozp;
  return static_cast<int8_t>(std::min(127, std::max(-128, r)));
}

float ApplyFloat(Fn fn, float x) {
  switch (fn) {
    case Fn::kExp:
      return std::exp(x);
    case Fn::kLog:
      return std::log(x);
    case Fn::kSqrt:
      return std::sqrt(x);
    case Fn::kRsqrt:
      return 1.0f / std::sqrt(x);
    case Fn::kSquare:
      return x * x;
    case Fn::kAbs:
      return std::fabs(x);
    case Fn::kNeg:
      return -x;
    case Fn::kSin:
      return std::sin(x);
    case Fn::kCos:
      return std::cos(x);
    case Fn::kFloor:
      return std::floor(x);
    case Fn::kCeil:
      return std::ceil(x);
    case Fn::kRound:
      return std::nearbyint(x);  // half to even, as TFLite's RoundToNearest
  }
  return x;
}

template <Fn kFn>
Status Prepare(Context* ctx, Node* node) {
  OpData* data;
  EDGEOPT_RETURN_IF_ERROR(GetOpData(node, &data));
  EDGEOPT_RETURN_IF_ERROR(CheckNumInputs(node, 1, 1));
  EDGEOPT_RETURN_IF_ERROR(CheckNumOutputs(node, 1));
  Tensor *in, *out;
  EDGEOPT_RETURN_IF_ERROR(GetInputChecked(ctx, node, 0, &in));
  EDGEOPT_RETURN_IF_ERROR(GetOutputChecked(ctx, node, 0, &out));
  EDGEOPT_RETURN_IF_ERROR(CheckSameType(in, out, "input", "output"));
  EDGEOPT_RETURN_IF_ERROR(ctx->ResizeTensor(out, in->dims));
  if (in->type == DType::kFloat32) return Status::Ok();
  const bool int_ok = (kFn == Fn::kNeg || kFn == Fn::kAbs) &&
                      (in->type == DType::kInt32 || in->type == DType::kInt64);
  if (int_ok) return Status::Ok();
  const bool quant_ok =
      (kFn == Fn::kAbs && (in->type == DType::kInt8 || in->type == DType::kInt16)) ||
      (kFn == Fn::kRsqrt && in->type == DType::kInt8);
  EDGEOPT_ENSURE(quant_ok, StatusCode::kUnsupported, "type %s is not supported",
                 DTypeName(in->type));
  EDGEOPT_RETURN_IF_ERROR(CheckPerTensorQuant(in, "input"));
  EDGEOPT_RETURN_IF_ERROR(CheckPerTensorQuant(out, "output"));
  if (kFn == Fn::kAbs) {
    data->needs_rescale = in->quant.scale != out->quant.scale;
    const double m = static_cast<double>(in->quant.scale) / out->quant.scale;
    quant::QuantizeMultiplier(m, &data->multiplier, &data->shift);
  } else {
    const double m = 1.0 / (static_cast<double>(out->quant.scale) * std::sqrt(in->quant.scale));
    quant::QuantizeMultiplier(m, &data->multiplier, &data->shift);
    // A table of the 256 inputs: the per-value fixed-point arithmetic costs ~100 ns.
    const int32_t izp = in->quant.zero_point, ozp = out->quant.zero_point;
    for (int32_t q = std::max(-128, izp); q <= 127; ++q) {
      data->rsqrt[static_cast<uint8_t>(q)] = RsqrtValue(data, q, izp, ozp);
    }
  }
  return Status::Ok();
}

template <typename T>
void AbsQuantized(const OpData* d, const Tensor* in, Tensor* out) {
  const T* p = in->Data<T>();
  T* o = out->Data<T>();
  const int32_t izp = in->quant.zero_point, ozp = out->quant.zero_point;
  const int32_t lo = std::numeric_limits<T>::min(), hi = std::numeric_limits<T>::max();
  const int64_t n = in->dims.NumElements();
  for (int64_t i = 0; i < n; ++i) {
    const int32_t v = std::abs(static_cast<int32_t>(p[i]) - izp);
    const int32_t r = d->needs_rescale
                          ? quant::MultiplyByQuantizedMultiplier(v, d->multiplier, d->shift) + ozp
                          : v + ozp;
    o[i] = static_cast<T>(std::min(hi, std::max(lo, r)));
  }
}

Status RsqrtInt8(const OpData* d, const Tensor* in, Tensor* out) {
  const int8_t* p = in->Data<int8_t>();
  int8_t* o = out->Data<int8_t>();
  const int32_t izp = in->quant.zero_point;
  const int64_t n = in->dims.NumElements();
  for (int64_t i = 0; i < n; ++i) {
    EDGEOPT_ENSURE(p[i] >= izp, StatusCode::kInvalidArgument,
                   "RSQRT of a negative value (element %lld)", static_cast<long long>(i));
  }
  for (int64_t i = 0; i < n; ++i) o[i] = d->rsqrt[static_cast<uint8_t>(p[i])];
  return Status::Ok();
}

template <typename T>
void IntNegAbs(Fn fn, const Tensor* in, Tensor* out) {
  using U = typename std::make_unsigned<T>::type;
  const T* p = in->Data<T>();
  T* o = out->Data<T>();
  const int64_t n = in->dims.NumElements();
  for (int64_t i = 0; i < n; ++i) {
    const T neg = static_cast<T>(U(0) - static_cast<U>(p[i]));  // wraps at the minimum
    o[i] = fn == Fn::kNeg ? neg : (p[i] < 0 ? neg : p[i]);
  }
}

template <Fn kFn>
Status Eval(Context* ctx, Node* node) {
  const OpData* d = static_cast<const OpData*>(node->user_data);
  const Tensor* in = ctx->input(node, 0);
  Tensor* out = ctx->output(node, 0);
  switch (in->type) {
    case DType::kFloat32: {
      const float* p = in->Data<float>();
      float* o = out->Data<float>();
      const int64_t n = in->dims.NumElements();
      for (int64_t i = 0; i < n; ++i) o[i] = ApplyFloat(kFn, p[i]);
      return Status::Ok();
    }
    case DType::kInt32:
      IntNegAbs<int32_t>(kFn, in, out);
      return Status::Ok();
    case DType::kInt64:
      IntNegAbs<int64_t>(kFn, in, out);
      return Status::Ok();
    case DType::kInt16:
      AbsQuantized<int16_t>(d, in, out);
      return Status::Ok();
    default:
      if (kFn == Fn::kRsqrt) return RsqrtInt8(d, in, out);
      AbsQuantized<int8_t>(d, in, out);
      return Status::Ok();
  }
}

template <Fn kFn>
const Registration* Make(const char* name) {
  static const Registration reg = {name, InitOpData<OpData>, Prepare<kFn>, Eval<kFn>};
  return &reg;
}

}  // namespace

const Registration* RegisterExp() { return Make<Fn::kExp>("EXP"); }
const Registration* RegisterLog() { return Make<Fn::kLog>("LOG"); }
const Registration* RegisterSqrt() { return Make<Fn::kSqrt>("SQRT"); }
const Registration* RegisterRsqrt() { return Make<Fn::kRsqrt>("RSQRT"); }
const Registration* RegisterSquare() { return Make<Fn::kSquare>("SQUARE"); }
const Registration* RegisterAbs() { return Make<Fn::kAbs>("ABS"); }
const Registration* RegisterNeg() { return Make<Fn::kNeg>("NEG"); }
const Registration* RegisterSin() { return Make<Fn::kSin>("SIN"); }
const Registration* RegisterCos() { return Make<Fn::kCos>("COS"); }
const Registration* RegisterFloor() { return Make<Fn::kFloor>("FLOOR"); }
const Registration* RegisterCeil() { return Make<Fn::kCeil>("CEIL"); }
const Registration* RegisterRound() { return Make<Fn::kRound>("ROUND"); }

}  // namespace rt
}  // namespace edgeopt
