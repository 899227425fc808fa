// SOFTMAX and LOG_SOFTMAX over the last dimension.
//  - float32: max-subtracted exp, with beta (SOFTMAX).
//  - SOFTMAX int8/uint8 input (int8/uint8/int16 output): TFLite's x86 kernel: a 256-entry float
//    table of exp(-s*beta*k), row sums in float, probabilities scaled by 1 / (sum * s_out) and
//    rounded (uint8 output: +0.5 and truncate, as TFLite on x86).
//  - SOFTMAX int16 (zero points 0): TFLite's two 513-entry int16 tables (exp on [-10, 0] and
//    1/(1+x) on [0, 1]) with linear interpolation.
//  - LOG_SOFTMAX int8/uint8 (output scale 16/256, zero point 127 / 255): the same exp table, the
//    log of the float sum, rounded half to even.
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <type_traits>

#include "src/quant/quant_math.h"
#include "src/runtime/kernels/activation_op.h"
#include "src/runtime/kernels/elem_util.h"
#include "src/runtime/kernels/kernel_util.h"
#include "src/runtime/selective.h"

namespace edgeopt {
namespace rt {
namespace {

constexpr int kInt16LutSize = 513;

struct OpData {
  float beta = 1.0f;
  float table[256] = {};
  int16_t exp_lut[kInt16LutSize] = {};
  int16_t recip_lut[kInt16LutSize] = {};
  int32_t input_multiplier = 0;
  int input_shift = 0;
  F32SoftmaxOp* f32_fast = nullptr;  // microkernels (activation_op.h)
};

// TFLite's int16 LUT generation: samples of func on [min, max] in Q0.15, each corrected by half the
// interpolation error at the interval midpoint.
template <typename F>
void GenerateInt16Lut(F func, double min, double max, int16_t* table, int num) {
  const double step = (max - min) / (num - 1);
  const double half_step = step / 2.0;
  for (int i = 0; i < num - 1; ++i) {
    const double sample_val = std::round(func(min + i * step) * 32768.0);
    const double midpoint_interp_val = std::round(
        (func(min + (i + 1) * step) * 32768.0 + std::round(func(min + i * step) * 32768.0)) / 2.0);
    const double midpoint_val = std::round(func(min + i * step + half_step) * 32768.0);
    const double midpoint_err = midpoint_interp_val - midpoint_val;
    const double bias = std::round(midpoint_err / 2.0);
    table[i] = static_cast<int16_t>(std::min(std::max(sample_val - bias, -32768.0), 32767.0));
  }
  table[num - 1] =
      static_cast<int16_t>(std::min(std::max(std::round(func(max) * 32768.0), -32768.0), 32767.0));
}

// Linear interpolation in a 513-entry table indexed by the top 9 bits of a Q0.15 value.
int16_t Int16TableLookup(int16_t value, const int16_t* lut) {
  const uint16_t index = static_cast<uint16_t>(256 + (value >> 7));
  const int16_t offset = static_cast<int16_t>(value & 0x7f);
  const int16_t base = lut[index];
  const int16_t slope = static_cast<int16_t>(lut[index + 1] - lut[index]);
  const int32_t delta = (static_cast<int32_t>(slope) * offset + (1 << 6)) >> 7;
  return static_cast<int16_t>(base + delta);
}

// table[255 - k] = exp(-input_scale * beta * k): indexed by 255 - (max - q).
void PopulateExpTable(float input_scale, float beta, float* table) {
  const float scale = -input_scale * beta;
  for (int32_t val = 0; val <= 255; ++val) table[255 - val] = std::exp(scale * val);
}

Status CheckRank(const Tensor* in) {
  EDGEOPT_ENSURE(in->dims.size >= 1, StatusCode::kInvalidModel,
                 "input must have at least one dimension");
  return Status::Ok();
}

// --- SOFTMAX -------------------------------------------------------------------------------------

Status SoftmaxPrepare(Context* ctx, Node* node) {
  OpData* data;
  EDGEOPT_RETURN_IF_ERROR(GetOpData(node, &data));
  EDGEOPT_RETURN_IF_ERROR(CheckNumInputs(node, 1, 1));
  EDGEOPT_RETURN_IF_ERROR(CheckNumOutputs(node, 1));
  Tensor *in, *out;
  EDGEOPT_RETURN_IF_ERROR(GetInputChecked(ctx, node, 0, &in));
  EDGEOPT_RETURN_IF_ERROR(GetOutputChecked(ctx, node, 0, &out));
  EDGEOPT_RETURN_IF_ERROR(CheckRank(in));
  const auto* options = GetOptions<tflite::SoftmaxOptions>(node);
  data->beta = options != nullptr ? options->beta() : 1.0f;
  EDGEOPT_RETURN_IF_ERROR(ctx->ResizeTensor(out, in->dims));
  if (in->type == DType::kFloat32) {
    EDGEOPT_ENSURE_TYPE_IN_BUILD("SOFTMAX", "float32");
    EDGEOPT_RETURN_IF_ERROR(CheckSameType(in, out, "input", "output"));
    return PrepareF32Softmax(ctx, in, data->beta, &data->f32_fast);
  }
  if (in->type == DType::kInt8 || in->type == DType::kUInt8) {
    if (in->type == DType::kInt8) EDGEOPT_ENSURE_TYPE_IN_BUILD("SOFTMAX", "int8");
    if (in->type == DType::kUInt8) EDGEOPT_ENSURE_TYPE_IN_BUILD("SOFTMAX", "uint8");
    EDGEOPT_ENSURE(out->type == in->type || out->type == DType::kInt16, StatusCode::kUnsupported,
                   "SOFTMAX from %s to %s is not supported", DTypeName(in->type),
                   DTypeName(out->type));
    EDGEOPT_RETURN_IF_ERROR(CheckPerTensorQuant(in, "input"));
    EDGEOPT_RETURN_IF_ERROR(CheckPerTensorQuant(out, "output"));
    PopulateExpTable(in->quant.scale, data->beta, data->table);
    return Status::Ok();
  }
  EDGEOPT_ENSURE(in->type == DType::kInt16 && out->type == DType::kInt16, StatusCode::kUnsupported,
                 "SOFTMAX from %s to %s is not supported", DTypeName(in->type),
                 DTypeName(out->type));
  EDGEOPT_ENSURE_TYPE_IN_BUILD("SOFTMAX", "int16");
  EDGEOPT_ENSURE(in->dims.size <= 4, StatusCode::kUnsupported,
                 "int16 SOFTMAX supports 1-d to 4-d inputs (as TFLite), got %d-d", in->dims.size);
  EDGEOPT_RETURN_IF_ERROR(CheckPerTensorQuant(in, "input"));
  EDGEOPT_RETURN_IF_ERROR(CheckPerTensorQuant(out, "output"));
  EDGEOPT_ENSURE(in->quant.zero_point == 0 && out->quant.zero_point == 0, StatusCode::kUnsupported,
                 "int16 SOFTMAX needs zero points 0");
  GenerateInt16Lut([](double x) { return std::exp(x); }, -10.0, 0.0, data->exp_lut, kInt16LutSize);
  GenerateInt16Lut([](double x) { return 1.0 / (1.0 + x); }, 0.0, 1.0, data->recip_lut,
                   kInt16LutSize);
  // Scales the input difference so that [-65535, 0] covers [-10, 0].
  const double rescale = in->quant.scale * data->beta / (10.0 / 65535.0);
  quant::QuantizeMultiplier(rescale, &data->input_multiplier, &data->input_shift);
  return Status::Ok();
}

void SoftmaxFloat(const float* in, int64_t rows, int64_t depth, float beta, float* out) {
  for (int64_t r = 0; r < rows; ++r, in += depth, out += depth) {
    float max = in[0];
    for (int64_t c = 1; c < depth; ++c) max = std::max(max, in[c]);
    float sum = 0.0f;
    for (int64_t c = 0; c < depth; ++c) {
      out[c] = std::exp((in[c] - max) * beta);
      sum += out[c];
    }
    const float inv = 1.0f / sum;
    for (int64_t c = 0; c < depth; ++c) out[c] *= inv;
  }
}

// GCC vector types (SSE2 on x86-64, NEON on Arm): 16 bytes, 4 floats / int32s.
typedef int8_t I8x16 __attribute__((vector_size(16)));
typedef float F32x4 __attribute__((vector_size(16)));
typedef int32_t I32x4 __attribute__((vector_size(16)));
typedef int8_t I8x4 __attribute__((vector_size(4)));

// The largest of row[0, depth): int8 16 at a time, the last 16 overlapping (max is idempotent);
// uint8 (rare: the size build counts) one at a time.
template <typename In>
int32_t RowMax(const In* row, int64_t depth) {
  int32_t max_val = std::numeric_limits<In>::min();
  if (std::is_same<In, int8_t>::value && depth >= 16) {
    I8x16 m, v;
    std::memcpy(&m, row + depth - 16, 16);
    for (int64_t c = 0; c + 16 < depth; c += 16) {
      std::memcpy(&v, row + c, 16);
      m = m > v ? m : v;
    }
    for (int i = 0; i < 16; ++i) max_val = std::max<int32_t>(max_val, m[i]);
    return max_val;
  }
  for (int64_t c = 0; c < depth; ++c) max_val = std::max<int32_t>(max_val, row[c]);
  return max_val;
}

// int8 probabilities of a row, 4 at a time, as the scalar loop after it computes them:
// round(t[base + q] * inv) half away from zero (the fraction of p >= 0 compared with 0.5), plus the
// zero point, saturated to int8. Returns how many it wrote (a multiple of 4).
int64_t RoundRow4(const float* t, int32_t base, const int8_t* row, int64_t depth, float inv,
                  int32_t zp, int8_t* o) {
  const I32x4 lo = {-128, -128, -128, -128}, hi = {127, 127, 127, 127};
  int64_t c = 0;
  for (; c + 4 <= depth; c += 4) {
    const F32x4 e = {t[base + row[c]], t[base + row[c + 1]], t[base + row[c + 2]],
                     t[base + row[c + 3]]};
    const F32x4 p = e * inv;
    const I32x4 whole = __builtin_convertvector(p, I32x4);
    const I32x4 up = (p - __builtin_convertvector(whole, F32x4)) >= 0.5f;  // -1: round up
    I32x4 q = whole - up + zp;
    q = q < lo ? lo : q;
    q = q > hi ? hi : q;
    const I8x4 b = __builtin_convertvector(q, I8x4);
    std::memcpy(o + c, &b, 4);
  }
  return c;
}

// Row sums of exp, four rows at a time: each row's sum still adds in the reference's order (bit
// for bit as TFLite), but four independent chains hide the adds' latency. base[k] = 255 - max of
// row k.
template <typename In>
void ExpSums(const float* t, const In* in, int64_t depth, int rows, const int32_t* base,
             float* sums) {
  if (std::is_same<In, int8_t>::value && rows == 4) {  // int8 only: the runtime's size counts
    const In *r0 = in, *r1 = in + depth, *r2 = in + 2 * depth, *r3 = in + 3 * depth;
    float s0 = 0.0f, s1 = 0.0f, s2 = 0.0f, s3 = 0.0f;
    for (int64_t c = 0; c < depth; ++c) {
      s0 += t[base[0] + r0[c]];
      s1 += t[base[1] + r1[c]];
      s2 += t[base[2] + r2[c]];
      s3 += t[base[3] + r3[c]];
    }
    sums[0] = s0, sums[1] = s1, sums[2] = s2, sums[3] = s3;
    return;
  }
  for (int k = 0; k < rows; ++k) {
    float sum = 0.0f;
    for (int64_t c = 0; c < depth; ++c) sum += t[base[k] + in[k * depth + c]];
    sums[k] = sum;
  }
}

template <typename In, typename Out>
void SoftmaxQuant(const OpData* d, const In* in, int64_t rows, int64_t depth, float out_scale,
                  int32_t out_zp, Out* out) {
  const int32_t lo = std::numeric_limits<Out>::min(), hi = std::numeric_limits<Out>::max();
  // table[255 + q - max] = exp(s * beta * (q - max)); 0 <= max - q <= 255 for 8-bit q. (Not
  // a pointer offset by 255 - max: for int8 that points past the table before q comes back.)
  const float* t = d->table;
  for (int64_t r0 = 0; r0 < rows; r0 += 4) {
    const int n = static_cast<int>(std::min<int64_t>(4, rows - r0));
    int32_t base[4];
    float sums[4];
    for (int k = 0; k < n; ++k) {
      const In* row = in + (r0 + k) * depth;
      base[k] = 255 - RowMax(row, depth);
    }
    ExpSums(t, in + r0 * depth, depth, n, base, sums);
    for (int k = 0; k < n; ++k) {
      const In* row = in + (r0 + k) * depth;
      Out* o = out + (r0 + k) * depth;
      const float inv = 1.0f / (sums[k] * out_scale);
      if (std::is_same<In, int8_t>::value && std::is_same<Out, int8_t>::value && inv >= 0.0f &&
          inv < 1.0e9f) {
        // Every p is in [0, inv]: no NaN or int32 overflow to guard against per element.
        const int64_t c0 = RoundRow4(t, base[k], reinterpret_cast<const int8_t*>(row), depth, inv,
                                     out_zp, reinterpret_cast<int8_t*>(o));
        for (int64_t c = c0; c < depth; ++c) {
          const float p = t[base[k] + row[c]] * inv;
          const int32_t whole = static_cast<int32_t>(p);
          const int32_t q = whole + (p - static_cast<float>(whole) >= 0.5f ? 1 : 0) + out_zp;
          o[c] = static_cast<Out>(q < lo ? lo : (q > hi ? hi : q));
        }
        continue;
      }
      for (int64_t c = 0; c < depth; ++c) {
        const float p = t[base[k] + row[c]] * inv;
        int32_t q;
        if (std::is_same<Out, uint8_t>::value) {
          q = static_cast<int32_t>(ClampForInt32(p + 0.5f));
        } else {
          // std::round (halves away from zero) of p >= 0, without the libm call: the fraction
          // of p is exact below 2^23, where p is an integer anyway.
          const float v = ClampForInt32(p);
          const int32_t whole = static_cast<int32_t>(v);
          q = whole + (v - static_cast<float>(whole) >= 0.5f ? 1 : 0) + out_zp;
        }
        o[c] = static_cast<Out>(std::max(lo, std::min(hi, q)));
      }
    }
  }
}

void SoftmaxInt16(const OpData* d, const int16_t* in, int64_t rows, int64_t depth, int16_t* out) {
  for (int64_t r = 0; r < rows; ++r, in += depth, out += depth) {
    int16_t max = std::numeric_limits<int16_t>::min();
    for (int64_t c = 0; c < depth; ++c) max = std::max(max, in[c]);
    int32_t sum = 0;
    for (int64_t c = 0; c < depth; ++c) {
      const int32_t diff = static_cast<int32_t>(in[c]) - max;
      const int32_t scaled =
          quant::MultiplyByQuantizedMultiplier(diff, d->input_multiplier, d->input_shift);
      const int32_t sym = std::min(std::max(scaled + 32767, -32768), 32767);
      out[c] = Int16TableLookup(static_cast<int16_t>(sym),
                                d->exp_lut);  // exp in Q0.15
      sum += out[c];
    }
    const int headroom_plus_one = sum == 0 ? 32 : __builtin_clz(static_cast<uint32_t>(sum));
    const int32_t shifted_sum = static_cast<int32_t>(
        ((static_cast<int64_t>(sum) << (headroom_plus_one - 1)) + (1 << 13)) >> 14);
    const int32_t sym_sum = shifted_sum - ((1 << 15) + (1 << 16));
    const int16_t reciprocal = Int16TableLookup(
        static_cast<int16_t>(std::min(std::max(sym_sum, -32768), 32767)), d->recip_lut);
    const int right_shift = 31 - headroom_plus_one;
    const int64_t round = int64_t{1} << (right_shift - 1);
    for (int64_t c = 0; c < depth; ++c) {
      const int32_t v =
          static_cast<int32_t>((static_cast<int64_t>(out[c]) * reciprocal + round) >> right_shift);
      out[c] = static_cast<int16_t>(std::min(std::max(v, 0), 32767));
    }
  }
}

Status SoftmaxEval(Context* ctx, Node* node) {
  const OpData* d = static_cast<const OpData*>(node->user_data);
  const Tensor* in = ctx->input(node, 0);
  Tensor* out = ctx->output(node, 0);
  const int64_t depth = in->dims[in->dims.size - 1];
  if (depth == 0) return Status::Ok();
  const int64_t rows = in->dims.NumElements() / depth;
  const float os = out->quant.scale;
  const int32_t oz = out->quant.zero_point;
  // Prepare refuses the types a selective build left out (selective.h); their cases compile out.
  switch (in->type) {
    case DType::kFloat32:
      if constexpr (TypeInBuild("SOFTMAX", "float32")) {
        if (d->f32_fast != nullptr) {
          RunF32Softmax(*d->f32_fast, in->Data<float>(), rows, depth, out->Data<float>());
          break;
        }
        SoftmaxFloat(in->Data<float>(), rows, depth, d->beta, out->Data<float>());
      }
      break;
    case DType::kInt8:
      if constexpr (!TypeInBuild("SOFTMAX", "int8")) break;
      if (out->type == DType::kInt8) {
        SoftmaxQuant(d, in->Data<int8_t>(), rows, depth, os, oz, out->Data<int8_t>());
      } else {
        SoftmaxQuant(d, in->Data<int8_t>(), rows, depth, os, oz, out->Data<int16_t>());
      }
      break;
    case DType::kUInt8:
      if constexpr (!TypeInBuild("SOFTMAX", "uint8")) break;
      if (out->type == DType::kUInt8) {
        SoftmaxQuant(d, in->Data<uint8_t>(), rows, depth, os, oz, out->Data<uint8_t>());
      } else {
        SoftmaxQuant(d, in->Data<uint8_t>(), rows, depth, os, oz, out->Data<int16_t>());
      }
      break;
    default:
      if constexpr (TypeInBuild("SOFTMAX", "int16")) {
        SoftmaxInt16(d, in->Data<int16_t>(), rows, depth, out->Data<int16_t>());
      }
      break;
  }
  return Status::Ok();
}

// --- LOG_SOFTMAX ---------------------------------------------------------------------------------

Status LogSoftmaxPrepare(Context* ctx, Node* node) {
  OpData* data;
  EDGEOPT_RETURN_IF_ERROR(GetOpData(node, &data));
  EDGEOPT_RETURN_IF_ERROR(CheckNumInputs(node, 1, 1));
  EDGEOPT_RETURN_IF_ERROR(CheckNumOutputs(node, 1));
  Tensor *in, *out;
  EDGEOPT_RETURN_IF_ERROR(GetInputChecked(ctx, node, 0, &in));
  EDGEOPT_RETURN_IF_ERROR(GetOutputChecked(ctx, node, 0, &out));
  EDGEOPT_RETURN_IF_ERROR(CheckRank(in));
  EDGEOPT_RETURN_IF_ERROR(CheckSameType(in, out, "input", "output"));
  EDGEOPT_RETURN_IF_ERROR(ctx->ResizeTensor(out, in->dims));
  if (in->type == DType::kFloat32) return Status::Ok();
  EDGEOPT_ENSURE(in->type == DType::kInt8 || in->type == DType::kUInt8, StatusCode::kUnsupported,
                 "LOG_SOFTMAX supports float32, int8 and uint8, not %s", DTypeName(in->type));
  EDGEOPT_RETURN_IF_ERROR(CheckPerTensorQuant(in, "input"));
  EDGEOPT_RETURN_IF_ERROR(CheckPerTensorQuant(out, "output"));
  const int32_t want_zp = in->type == DType::kInt8 ? 127 : 255;
  EDGEOPT_ENSURE(out->quant.scale == 16.0f / 256 && out->quant.zero_point == want_zp,
                 StatusCode::kInvalidModel,
                 "LOG_SOFTMAX output must have scale 16/256 and zero point %d (has %g, "
                 "%d)",
                 want_zp, out->quant.scale, out->quant.zero_point);
  PopulateExpTable(in->quant.scale, 1.0f, data->table);
  return Status::Ok();
}

template <typename T>
void LogSoftmaxQuant(const OpData* d, const T* in, int64_t rows, int64_t depth, float in_scale,
                     float out_scale, int32_t out_zp, T* out) {
  const int32_t lo = std::numeric_limits<T>::min(), hi = std::numeric_limits<T>::max();
  const int32_t offset = std::is_same<T, int8_t>::value ? 128 : 0;
  for (int64_t r = 0; r < rows; ++r, in += depth, out += depth) {
    T max_val = std::numeric_limits<T>::min();
    for (int64_t c = 0; c < depth; ++c) max_val = std::max(max_val, in[c]);
    const float* t = d->table + (255 - (max_val + offset));
    float sum = 0.0f;
    for (int64_t c = 0; c < depth; ++c) sum += t[in[c] + offset];
    const float log_sum = std::log(sum);
    const float scale = in_scale / out_scale;
    const float precomputed = (in_scale * max_val + log_sum) / out_scale;
    for (int64_t c = 0; c < depth; ++c) {
      const float log_prob = scale * in[c] - precomputed;
      const int32_t q = static_cast<int32_t>(std::rint(log_prob)) + out_zp;
      out[c] = static_cast<T>(std::max(lo, std::min(hi, q)));
    }
  }
}

Status LogSoftmaxEval(Context* ctx, Node* node) {
  const OpData* d = static_cast<const OpData*>(node->user_data);
  const Tensor* in = ctx->input(node, 0);
  Tensor* out = ctx->output(node, 0);
  const int64_t depth = in->dims[in->dims.size - 1];
  if (depth == 0) return Status::Ok();
  const int64_t rows = in->dims.NumElements() / depth;
  switch (in->type) {
    case DType::kFloat32: {
      const float* p = in->Data<float>();
      float* o = out->Data<float>();
      for (int64_t r = 0; r < rows; ++r, p += depth, o += depth) {
        float max = p[0];
        for (int64_t c = 1; c < depth; ++c) max = std::max(max, p[c]);
        float sum = 0.0f;
        for (int64_t c = 0; c < depth; ++c) sum += std::exp(p[c] - max);
        const float log_sum = std::log(sum);
        for (int64_t c = 0; c < depth; ++c) o[c] = p[c] - max - log_sum;
      }
      break;
    }
    case DType::kInt8:
      LogSoftmaxQuant(d, in->Data<int8_t>(), rows, depth, in->quant.scale, out->quant.scale,
                      out->quant.zero_point, out->Data<int8_t>());
      break;
    default:
      LogSoftmaxQuant(d, in->Data<uint8_t>(), rows, depth, in->quant.scale, out->quant.scale,
                      out->quant.zero_point, out->Data<uint8_t>());
      break;
  }
  return Status::Ok();
}

}  // namespace

const Registration* RegisterSoftmax() {
  static const Registration reg = {"SOFTMAX", InitOpData<OpData>, SoftmaxPrepare, SoftmaxEval};
  return &reg;
}
const Registration* RegisterLogSoftmax() {
  static const Registration reg = {"LOG_SOFTMAX", InitOpData<OpData>, LogSoftmaxPrepare,
                                   LogSoftmaxEval};
  return &reg;
}

}  // namespace rt
}  // namespace edgeopt
