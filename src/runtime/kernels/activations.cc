// Pointwise activations: RELU, RELU6, RELU_N1_TO_1, LEAKY_RELU, PRELU, HARD_SWISH, ELU, GELU.
//  - float32: the plain formulas.
//  - RELU family and LEAKY_RELU on int8/uint8/int16: requantize (q - zp_in) * s_in / s_out in
//    fixed point, clamp to the activation range (TFLite's ReluX / QuantizeLeakyRelu).
//  - PRELU int8/uint8: separate multipliers for x >= 0 and x * alpha (TFLite's Prelu).
//  - HARD_SWISH int8/uint8: TFLite's int16 fixed-point algorithm (reluish multiplier,
//    SaturatingDoublingHighMul); this matches the builtin kernel on x86 exactly.
//  - ELU and GELU int8/uint8: 256-entry tables built from the float function (as TFLite).
#include <cmath>
#include <cstdint>
#include <limits>

#include "src/quant/quant_math.h"
#include "src/runtime/kernels/activation_op.h"
#include "src/runtime/kernels/elem_util.h"
#include "src/runtime/kernels/elementwise_op.h"
#include "src/runtime/kernels/kernel_util.h"
#include "src/runtime/kernels/reference/broadcast.h"
#include "src/runtime/kernels/reference/fixed_point.h"
#include "src/runtime/kernels/reference/lut.h"

namespace edgeopt {
namespace rt {
namespace {

// QuantizeMultiplier for any sign (TFLite's handles negative multipliers through frexp).
void QuantizeSignedMultiplier(double m, int32_t* multiplier, int* shift) {
  if (m < 0) {
    quant::QuantizeMultiplier(-m, multiplier, shift);
    *multiplier = -*multiplier;
  } else {
    quant::QuantizeMultiplier(m, multiplier, shift);
  }
}

struct OpData {
  // Requantization x >= 0 (identity) and x < 0 (alpha) for RELU*/LEAKY_RELU/PRELU.
  int32_t mult_pos = 0;
  int shift_pos = 0;
  int32_t mult_neg = 0;
  int shift_neg = 0;
  int32_t act_min = 0, act_max = 0;
  float alpha = 0;
  // HARD_SWISH.
  int16_t hs_output_multiplier = 0;
  int hs_output_exponent = 0;
  int16_t hs_reluish_multiplier = 0;
  int hs_reluish_exponent = 0;
  // PRELU broadcast.
  ref::BroadcastPlan plan;
  // ELU / GELU tables.
  uint8_t table[256] = {};
  ReluOp* relu_fast = nullptr;  // RELU family microkernels (elementwise_op.h)
  // Float and table microkernels (activation_op.h); HARD_SWISH / LEAKY_RELU tables in `table`.
  F32UnaryOp* unary_fast = nullptr;
  LutOp* lut_fast = nullptr;
};

// Runs the op's microkernel if Prepare chose one.
bool RunFast(Context* ctx, const OpData* d, const Tensor* in, Tensor* out) {
  if (d->relu_fast != nullptr) {
    RunRelu(ctx, *d->relu_fast, in->data, out->data);
  } else if (d->unary_fast != nullptr) {
    RunF32Unary(ctx, *d->unary_fast, in->data, out->data);
  } else if (d->lut_fast != nullptr) {
    RunLut(ctx, *d->lut_fast, in->data, out->data);
  } else {
    return false;
  }
  return true;
}

Status PrepareUnary(Context* ctx, Node* node, Tensor** in, Tensor** out) {
  EDGEOPT_RETURN_IF_ERROR(CheckNumInputs(node, 1, 1));
  EDGEOPT_RETURN_IF_ERROR(CheckNumOutputs(node, 1));
  EDGEOPT_RETURN_IF_ERROR(GetInputChecked(ctx, node, 0, in));
  EDGEOPT_RETURN_IF_ERROR(GetOutputChecked(ctx, node, 0, out));
  EDGEOPT_RETURN_IF_ERROR(CheckSameType(*in, *out, "input", "output"));
  return ctx->ResizeTensor(*out, (*in)->dims);
}

Status CheckQuantPair(const Tensor* in, const Tensor* out) {
  EDGEOPT_RETURN_IF_ERROR(CheckPerTensorQuant(in, "input"));
  return CheckPerTensorQuant(out, "output");
}

// Quantized clamp bound of a real activation limit (as TFLite's QuantizedReluX).
int32_t QuantizeLimit(float x, const Tensor* out) {
  return out->quant.zero_point +
         static_cast<int32_t>(ClampForInt32(std::round(x / out->quant.scale)));
}

// --- RELU / RELU6 / RELU_N1_TO_1 -----------------------------------------------------------------

template <int kKind>  // 0: relu, 1: relu6, 2: relu_n1_to_1
Status ReluPrepare(Context* ctx, Node* node) {
  OpData* data;
  EDGEOPT_RETURN_IF_ERROR(GetOpData(node, &data));
  Tensor *in, *out;
  EDGEOPT_RETURN_IF_ERROR(PrepareUnary(ctx, node, &in, &out));
  if (in->type == DType::kFloat32) {
    const float lo = kKind == 2 ? -1.0f : 0.0f;
    const float hi = kKind == 1 ? 6.0f : (kKind == 2 ? 1.0f : INFINITY);
    EDGEOPT_RETURN_IF_ERROR(PrepareRelu(ctx, in, out, lo, hi, 0, 0, 0, 0, &data->relu_fast));
    if (data->relu_fast != nullptr) return Status::Ok();
    uk::F32UnaryParams p;
    p.min = lo;
    p.max = hi;
    return PrepareF32Unary(ctx, F32UnaryKind::kClamp, in, p, &data->unary_fast);
  }
  EDGEOPT_ENSURE(in->type == DType::kInt8 || in->type == DType::kUInt8 ||
                     (in->type == DType::kInt16 && kKind != 2),
                 StatusCode::kUnsupported, "type %s is not supported", DTypeName(in->type));
  EDGEOPT_RETURN_IF_ERROR(CheckQuantPair(in, out));
  const float m = in->quant.scale / out->quant.scale;  // in float, as TFLite
  quant::QuantizeMultiplier(m, &data->mult_pos, &data->shift_pos);
  const float lo = kKind == 2 ? -1.0f : 0.0f;
  data->act_min = std::max(QuantMin(out->type), QuantizeLimit(lo, out));
  data->act_max = kKind == 0
                      ? QuantMax(out->type)
                      : std::min(QuantMax(out->type), QuantizeLimit(kKind == 1 ? 6.0f : 1.0f, out));
  return PrepareRelu(ctx, in, out, 0.0f, 0.0f, data->mult_pos, data->shift_pos, data->act_min,
                     data->act_max, &data->relu_fast);
}

template <typename T>
void RequantClamp(const OpData* d, const Tensor* in, Tensor* out) {
  const T* p = in->Data<T>();
  T* o = out->Data<T>();
  const int32_t izp = in->quant.zero_point, ozp = out->quant.zero_point;
  const int64_t n = in->dims.NumElements();
  for (int64_t i = 0; i < n; ++i) {
    const int32_t v = ozp + quant::MultiplyByQuantizedMultiplier(static_cast<int32_t>(p[i]) - izp,
                                                                 d->mult_pos, d->shift_pos);
    o[i] = static_cast<T>(std::min(d->act_max, std::max(d->act_min, v)));
  }
}

template <int kKind>
Status ReluEval(Context* ctx, Node* node) {
  const OpData* d = static_cast<const OpData*>(node->user_data);
  const Tensor* in = ctx->input(node, 0);
  Tensor* out = ctx->output(node, 0);
  if (RunFast(ctx, d, in, out)) return Status::Ok();
  switch (in->type) {
    case DType::kFloat32: {
      const float* p = in->Data<float>();
      float* o = out->Data<float>();
      const int64_t n = in->dims.NumElements();
      const float lo = kKind == 2 ? -1.0f : 0.0f;
      const float hi = kKind == 1 ? 6.0f : (kKind == 2 ? 1.0f : INFINITY);
      for (int64_t i = 0; i < n; ++i) o[i] = std::min(hi, std::max(lo, p[i]));
      break;
    }
    case DType::kInt8:
      RequantClamp<int8_t>(d, in, out);
      break;
    case DType::kUInt8:
      RequantClamp<uint8_t>(d, in, out);
      break;
    default:
      RequantClamp<int16_t>(d, in, out);
      break;
  }
  return Status::Ok();
}

// --- LEAKY_RELU ----------------------------------------------------------------------------------

Status LeakyReluPrepare(Context* ctx, Node* node) {
  OpData* data;
  EDGEOPT_RETURN_IF_ERROR(GetOpData(node, &data));
  Tensor *in, *out;
  EDGEOPT_RETURN_IF_ERROR(PrepareUnary(ctx, node, &in, &out));
  const auto* options = GetOptions<tflite::LeakyReluOptions>(node);
  data->alpha = options != nullptr ? options->alpha() : 0.0f;
  if (in->type == DType::kFloat32) return Status::Ok();
  EDGEOPT_ENSURE(in->type == DType::kInt8 || in->type == DType::kUInt8 || in->type == DType::kInt16,
                 StatusCode::kUnsupported, "type %s is not supported", DTypeName(in->type));
  EDGEOPT_RETURN_IF_ERROR(CheckQuantPair(in, out));
  // As TFLite, the products of the float parameters are formed in float.
  const float alpha_m = in->quant.scale * data->alpha / out->quant.scale;
  const float identity_m = in->quant.scale / out->quant.scale;
  QuantizeSignedMultiplier(alpha_m, &data->mult_neg, &data->shift_neg);
  QuantizeSignedMultiplier(identity_m, &data->mult_pos, &data->shift_pos);
  data->act_min = QuantMin(out->type);
  data->act_max = QuantMax(out->type);
  return Status::Ok();
}

template <typename T>
void LeakyReluQuant(const OpData* d, const Tensor* in, Tensor* out) {
  const T* p = in->Data<T>();
  T* o = out->Data<T>();
  const int32_t izp = in->quant.zero_point, ozp = out->quant.zero_point;
  const int64_t n = in->dims.NumElements();
  for (int64_t i = 0; i < n; ++i) {
    const int32_t x = static_cast<int32_t>(p[i]) - izp;
    const int32_t v =
        ozp + (x >= 0 ? quant::MultiplyByQuantizedMultiplier(x, d->mult_pos, d->shift_pos)
                      : quant::MultiplyByQuantizedMultiplier(x, d->mult_neg, d->shift_neg));
    o[i] = static_cast<T>(std::min(d->act_max, std::max(d->act_min, v)));
  }
}

Status LeakyReluEval(Context* ctx, Node* node) {
  const OpData* d = static_cast<const OpData*>(node->user_data);
  const Tensor* in = ctx->input(node, 0);
  Tensor* out = ctx->output(node, 0);
  if (RunFast(ctx, d, in, out)) return Status::Ok();
  switch (in->type) {
    case DType::kFloat32: {
      const float* p = in->Data<float>();
      float* o = out->Data<float>();
      const int64_t n = in->dims.NumElements();
      const float alpha = d->alpha;
      for (int64_t i = 0; i < n; ++i) o[i] = p[i] > 0 ? p[i] : p[i] * alpha;
      break;
    }
    case DType::kInt8:
      LeakyReluQuant<int8_t>(d, in, out);
      break;
    case DType::kUInt8:
      LeakyReluQuant<uint8_t>(d, in, out);
      break;
    default:
      LeakyReluQuant<int16_t>(d, in, out);
      break;
  }
  return Status::Ok();
}

// --- PRELU ---------------------------------------------------------------------------------------

Status PreluPrepare(Context* ctx, Node* node) {
  OpData* data;
  EDGEOPT_RETURN_IF_ERROR(GetOpData(node, &data));
  Tensor *in, *alpha, *out;
  EDGEOPT_RETURN_IF_ERROR(PrepareBroadcastBinary(ctx, node, &in, &alpha, &out, &data->plan));
  EDGEOPT_RETURN_IF_ERROR(CheckSameType(in, out, "input", "output"));
  EDGEOPT_ENSURE(out->dims == in->dims, StatusCode::kInvalidModel,
                 "alpha %s broadcasts the input %s to a different shape",
                 DimsStr(alpha->dims).c_str(), DimsStr(in->dims).c_str());
  if (in->type == DType::kFloat32) return Status::Ok();
  EDGEOPT_ENSURE(in->type == DType::kInt8 || in->type == DType::kUInt8, StatusCode::kUnsupported,
                 "PRELU supports float32, int8 and uint8, not %s", DTypeName(in->type));
  EDGEOPT_RETURN_IF_ERROR(CheckQuantPair(in, out));
  EDGEOPT_RETURN_IF_ERROR(CheckPerTensorQuant(alpha, "alpha"));
  const float m1 = in->quant.scale / out->quant.scale;
  const float m2 = in->quant.scale * alpha->quant.scale / out->quant.scale;
  quant::QuantizeMultiplier(m1, &data->mult_pos, &data->shift_pos);
  quant::QuantizeMultiplier(m2, &data->mult_neg, &data->shift_neg);
  return Status::Ok();
}

template <typename T>
void PreluQuant(const OpData* d, const Tensor* in, const Tensor* alpha, Tensor* out) {
  const int32_t izp = in->quant.zero_point, azp = alpha->quant.zero_point;
  const int32_t ozp = out->quant.zero_point;
  const int32_t lo = std::numeric_limits<T>::min(), hi = std::numeric_limits<T>::max();
  ref::BroadcastBinary(d->plan, in->Data<T>(), alpha->Data<T>(), out->Data<T>(), [&](T x, T a) {
    const int32_t xv = static_cast<int32_t>(x) - izp;
    int32_t v;
    if (xv >= 0) {
      v = quant::MultiplyByQuantizedMultiplier(xv, d->mult_pos, d->shift_pos);
    } else {
      const int32_t av = static_cast<int32_t>(a) - azp;
      v = quant::MultiplyByQuantizedMultiplier(xv * av, d->mult_neg, d->shift_neg);
    }
    v += ozp;
    return static_cast<T>(std::min(hi, std::max(lo, v)));
  });
}

Status PreluEval(Context* ctx, Node* node) {
  const OpData* d = static_cast<const OpData*>(node->user_data);
  const Tensor* in = ctx->input(node, 0);
  const Tensor* alpha = ctx->input(node, 1);
  Tensor* out = ctx->output(node, 0);
  switch (in->type) {
    case DType::kFloat32:
      ref::BroadcastBinary(d->plan, in->Data<float>(), alpha->Data<float>(), out->Data<float>(),
                           [](float x, float a) { return x >= 0.0f ? x : x * a; });
      break;
    case DType::kInt8:
      PreluQuant<int8_t>(d, in, alpha, out);
      break;
    default:
      PreluQuant<uint8_t>(d, in, alpha, out);
      break;
  }
  return Status::Ok();
}

// --- HARD_SWISH ----------------------------------------------------------------------------------

int16_t DownscaleMultiplierToInt16(int32_t m) {
  constexpr int32_t kRounding = 1 << 15;
  if (m >= std::numeric_limits<int32_t>::max() - kRounding) return 32767;
  return static_cast<int16_t>((m + kRounding) >> 16);
}

Status HardSwishPrepare(Context* ctx, Node* node) {
  OpData* data;
  EDGEOPT_RETURN_IF_ERROR(GetOpData(node, &data));
  Tensor *in, *out;
  EDGEOPT_RETURN_IF_ERROR(PrepareUnary(ctx, node, &in, &out));
  if (in->type == DType::kFloat32) return Status::Ok();
  EDGEOPT_ENSURE(in->type == DType::kInt8 || in->type == DType::kUInt8, StatusCode::kUnsupported,
                 "HARD_SWISH supports float32, int8 and uint8, not %s", DTypeName(in->type));
  EDGEOPT_RETURN_IF_ERROR(CheckQuantPair(in, out));
  const float hires_input_scale = (1.0f / 128.0f) * in->quant.scale;
  const float reluish_scale = 3.0f / 32768.0f;
  const float output_multiplier = hires_input_scale / out->quant.scale;
  const float reluish_multiplier = hires_input_scale / reluish_scale;
  int32_t m32;
  quant::QuantizeMultiplier(output_multiplier, &m32, &data->hs_output_exponent);
  data->hs_output_multiplier = DownscaleMultiplierToInt16(m32);
  EDGEOPT_ENSURE(data->hs_output_exponent <= 0, StatusCode::kUnsupported,
                 "HARD_SWISH: input scale %g / output scale %g is too large "
                 "(needs a left shift)",
                 in->quant.scale, out->quant.scale);
  quant::QuantizeMultiplier(reluish_multiplier, &m32, &data->hs_reluish_exponent);
  data->hs_reluish_multiplier = DownscaleMultiplierToInt16(m32);
  return Status::Ok();
}

int16_t SaturatingLeftShift16(int16_t v, int amount) {
  const int64_t r = static_cast<int64_t>(v) * (int64_t{1} << amount);
  return static_cast<int16_t>(std::min<int64_t>(32767, std::max<int64_t>(-32768, r)));
}

// High half of 2*a*b truncated toward zero (ARM SQDMULH), saturating min*min.
int16_t SaturatingDoublingHighMul16(int16_t a, int16_t b) {
  if (a == b && a == std::numeric_limits<int16_t>::min()) return 32767;
  return static_cast<int16_t>((static_cast<int32_t>(a) * static_cast<int32_t>(b)) / (1 << 15));
}

template <typename T>
void HardSwishQuant(const OpData* d, const Tensor* in, Tensor* out) {
  const T* p = in->Data<T>();
  T* o = out->Data<T>();
  const int32_t izp = in->quant.zero_point, ozp = out->quant.zero_point;
  const int64_t n = in->dims.NumElements();
  for (int64_t i = 0; i < n; ++i) {
    const int16_t x = static_cast<int16_t>(static_cast<int32_t>(p[i]) - izp);
    const int16_t x_hires = static_cast<int16_t>(x * (1 << 7));
    const int16_t x_preshift =
        ref::SatRoundDoublingHighMul<int16_t>(x_hires, d->hs_output_multiplier);
    int16_t reluish = x_hires;
    if (d->hs_reluish_exponent > 0) {
      reluish = SaturatingLeftShift16(reluish, d->hs_reluish_exponent - 1);
    }
    reluish = ref::SatRoundDoublingHighMul<int16_t>(reluish, d->hs_reluish_multiplier);
    if (d->hs_reluish_exponent > 0) reluish = SaturatingLeftShift16(reluish, 1);
    if (d->hs_reluish_exponent < 0) {
      reluish = ref::RoundDivByPOT<int16_t>(reluish, -d->hs_reluish_exponent);
    }
    reluish = static_cast<int16_t>((static_cast<int32_t>(reluish) + (1 << 15)) >> 1);
    const int16_t preshift = SaturatingDoublingHighMul16(reluish, x_preshift);
    int16_t v = ref::RoundDivByPOT<int16_t>(preshift, -d->hs_output_exponent);
    v = static_cast<int16_t>(v + ozp);
    v = std::min<int16_t>(v, std::numeric_limits<T>::max());
    v = std::max<int16_t>(v, std::numeric_limits<T>::min());
    o[i] = static_cast<T>(v);
  }
}

// After the op's Prepare: the float microkernel, or for int8/uint8 a table of what the
// reference kernel (kInt8 / kUInt8) computes for each input value.
using QuantKernel = void (*)(const OpData*, const Tensor*, Tensor*);
template <QuantKernel kInt8, QuantKernel kUInt8>
Status PrepareFast(Context* ctx, Node* node, F32UnaryKind kind) {
  OpData* d = static_cast<OpData*>(node->user_data);
  const Tensor* in = ctx->input(node, 0);
  const Tensor* out = ctx->output(node, 0);
  if (in->type == DType::kFloat32) {
    uk::F32UnaryParams p;
    p.alpha = d->alpha;
    return PrepareF32Unary(ctx, kind, in, p, &d->unary_fast);
  }
  EDGEOPT_RETURN_IF_ERROR(PrepareLut(ctx, in, d->table, &d->lut_fast));
  if (d->lut_fast != nullptr) {
    const QuantKernel reference = in->type == DType::kInt8 ? kInt8 : kUInt8;
    LutFromReference(in, out, d->table,
                     [d, reference](const Tensor* a, Tensor* b) { reference(d, a, b); });
  }
  return Status::Ok();
}

Status LeakyReluPrepareFast(Context* ctx, Node* node) {
  EDGEOPT_RETURN_IF_ERROR(LeakyReluPrepare(ctx, node));
  return PrepareFast<LeakyReluQuant<int8_t>, LeakyReluQuant<uint8_t>>(ctx, node,
                                                                      F32UnaryKind::kLeakyRelu);
}

Status HardSwishPrepareFast(Context* ctx, Node* node) {
  EDGEOPT_RETURN_IF_ERROR(HardSwishPrepare(ctx, node));
  return PrepareFast<HardSwishQuant<int8_t>, HardSwishQuant<uint8_t>>(ctx, node,
                                                                      F32UnaryKind::kHardSwish);
}

Status HardSwishEval(Context* ctx, Node* node) {
  const OpData* d = static_cast<const OpData*>(node->user_data);
  const Tensor* in = ctx->input(node, 0);
  Tensor* out = ctx->output(node, 0);
  if (RunFast(ctx, d, in, out)) return Status::Ok();
  switch (in->type) {
    case DType::kFloat32: {
      const float* p = in->Data<float>();
      float* o = out->Data<float>();
      const int64_t n = in->dims.NumElements();
      for (int64_t i = 0; i < n; ++i) {
        o[i] = p[i] * std::min(6.0f, std::max(0.0f, p[i] + 3.0f)) / 6.0f;
      }
      break;
    }
    case DType::kInt8:
      HardSwishQuant<int8_t>(d, in, out);
      break;
    default:
      HardSwishQuant<uint8_t>(d, in, out);
      break;
  }
  return Status::Ok();
}

// --- ELU / GELU (float formula; 8-bit through a table) -------------------------------------------

float EluFloat(float x) { return x < 0.0f ? std::expm1(x) : x; }
float EluForTable(float x) { return x < 0.0f ? std::exp(x) - 1.0f : x; }

float GeluExact(float x) { return 0.5f * x * (1.0f + std::erf(x * static_cast<float>(M_SQRT1_2))); }
float GeluApprox(float x) {
  constexpr float kSqrt2OverPi = 0.7978845608028654f;
  return 0.5f * x * (1.0f + std::tanh(kSqrt2OverPi * (x + 0.044715f * x * x * x)));
}

bool GeluApproximate(const Node* node) {
  const auto* o = GetOptions<tflite::GeluOptions>(node);
  return o != nullptr && o->approximate();
}

template <int kKind>  // 0: ELU, 1: GELU
Status TablePrepare(Context* ctx, Node* node) {
  OpData* data;
  EDGEOPT_RETURN_IF_ERROR(GetOpData(node, &data));
  Tensor *in, *out;
  EDGEOPT_RETURN_IF_ERROR(PrepareUnary(ctx, node, &in, &out));
  if (in->type == DType::kFloat32) return Status::Ok();
  EDGEOPT_ENSURE(in->type == DType::kInt8 || in->type == DType::kUInt8, StatusCode::kUnsupported,
                 "%s supports float32, int8 and uint8, not %s", kKind == 0 ? "ELU" : "GELU",
                 DTypeName(in->type));
  EDGEOPT_RETURN_IF_ERROR(CheckQuantPair(in, out));
  float (*f)(float) = kKind == 0 ? EluForTable : (GeluApproximate(node) ? GeluApprox : GeluExact);
  if (in->type == DType::kInt8) {
    ref::PopulateLut8<int8_t>(in->quant.scale, in->quant.zero_point, out->quant.scale,
                              out->quant.zero_point, f, data->table);
  } else {
    ref::PopulateLut8<uint8_t>(in->quant.scale, in->quant.zero_point, out->quant.scale,
                               out->quant.zero_point, f, data->table);
  }
  return PrepareLut(ctx, in, data->table, &data->lut_fast);
}

template <int kKind>
Status TableEval(Context* ctx, Node* node) {
  const OpData* d = static_cast<const OpData*>(node->user_data);
  const Tensor* in = ctx->input(node, 0);
  Tensor* out = ctx->output(node, 0);
  const int64_t n = in->dims.NumElements();
  if (RunFast(ctx, d, in, out)) return Status::Ok();
  if (in->type == DType::kFloat32) {
    const float* p = in->Data<float>();
    float* o = out->Data<float>();
    float (*f)(float) = kKind == 0 ? EluFloat : (GeluApproximate(node) ? GeluApprox : GeluExact);
    for (int64_t i = 0; i < n; ++i) o[i] = f(p[i]);
  } else {
    ref::ApplyLut8(d->table, in->data, n, out->data);
  }
  return Status::Ok();
}

}  // namespace

const Registration* RegisterRelu() {
  static const Registration reg = {"RELU", InitOpData<OpData>, ReluPrepare<0>, ReluEval<0>};
  return &reg;
}
const Registration* RegisterRelu6() {
  static const Registration reg = {"RELU6", InitOpData<OpData>, ReluPrepare<1>, ReluEval<1>};
  return &reg;
}
const Registration* RegisterReluN1To1() {
  static const Registration reg = {"RELU_N1_TO_1", InitOpData<OpData>, ReluPrepare<2>, ReluEval<2>};
  return &reg;
}
const Registration* RegisterLeakyRelu() {
  static const Registration reg = {"LEAKY_RELU", InitOpData<OpData>, LeakyReluPrepareFast,
                                   LeakyReluEval};
  return &reg;
}
const Registration* RegisterPrelu() {
  static const Registration reg = {"PRELU", InitOpData<OpData>, PreluPrepare, PreluEval};
  return &reg;
}
const Registration* RegisterHardSwish() {
  static const Registration reg = {"HARD_SWISH", InitOpData<OpData>, HardSwishPrepareFast,
                                   HardSwishEval};
  return &reg;
}
const Registration* RegisterElu() {
  static const Registration reg = {"ELU", InitOpData<OpData>, TablePrepare<0>, TableEval<0>};
  return &reg;
}
const Registration* RegisterGelu() {
  static const Registration reg = {"GELU", InitOpData<OpData>, TablePrepare<1>, TableEval<1>};
  return &reg;
}

}  // namespace rt
}  // namespace edgeopt
