// QUANTIZE, DEQUANTIZE and CAST.
//  - QUANTIZE float32 -> int8/uint8/int16: q = clamp(round(x / scale) + zp), the division and
//    rounding (half away from zero) in double as TFLite's AffineQuantize.
//  - QUANTIZE requantize between int8, uint8 and int16: q_out = zp_out + (q_in - zp_in) *
//    (s_in / s_out) in fixed point (TFLite's Requantize). TFLite 2.9 takes int8/uint8 ->
//    int8/uint8 and int16 -> int8/int16/int32; edgeopt also runs int8/uint8 -> int16, which
//    its quantizer never writes (it goes through DEQUANTIZE + QUANTIZE instead).
//  - DEQUANTIZE int8/uint8/int16 (per-tensor or per-channel) and float16 -> float32. Constant
//    inputs (float16 or int8 weights) are folded at prepare time by the interpreter.
//  - CAST between float32, int8, uint8, int16, int32, int64 and bool (out-of-range float -> int
//    conversions give what x86 gives: the "integer indefinite" value, then truncation).
#include <cmath>
#include <cstdint>
#include <limits>
#include <type_traits>

#include "src/core/float16.h"
#include "src/quant/quant_math.h"
#include "src/runtime/kernels/elem_util.h"
#include "src/runtime/kernels/elementwise_op.h"
#include "src/runtime/selective.h"

namespace edgeopt {
namespace rt {
namespace {

bool IsQuantType(DType t) { return t == DType::kInt8 || t == DType::kUInt8 || t == DType::kInt16; }

// Whether a selective build keeps the QUANTIZE kernels that read or write type `t`
// (selective.h): both the input's type (float32 when it quantizes float values) and the output's.
Status CheckQuantizeType(DType t) {
  switch (t) {
    case DType::kFloat32:
      EDGEOPT_ENSURE_TYPE_IN_BUILD("QUANTIZE", "float32");
      break;
    case DType::kInt8:
      EDGEOPT_ENSURE_TYPE_IN_BUILD("QUANTIZE", "int8");
      break;
    case DType::kUInt8:
      EDGEOPT_ENSURE_TYPE_IN_BUILD("QUANTIZE", "uint8");
      break;
    case DType::kInt16:
      EDGEOPT_ENSURE_TYPE_IN_BUILD("QUANTIZE", "int16");
      break;
    case DType::kInt32:
      EDGEOPT_ENSURE_TYPE_IN_BUILD("QUANTIZE", "int32");
      break;
    default:
      break;
  }
  return Status::Ok();
}

// --- QUANTIZE ------------------------------------------------------------------------------------

struct QuantizeData {
  int32_t multiplier = 0;
  int shift = 0;
  QuantConvertOp* fast = nullptr;  // int8/uint8 microkernels (elementwise_op.h)
};

Status QuantizePrepare(Context* ctx, Node* node) {
  QuantizeData* data;
  EDGEOPT_RETURN_IF_ERROR(GetOpData(node, &data));
  EDGEOPT_RETURN_IF_ERROR(CheckNumInputs(node, 1, 1));
  EDGEOPT_RETURN_IF_ERROR(CheckNumOutputs(node, 1));
  Tensor *in, *out;
  EDGEOPT_RETURN_IF_ERROR(GetInputChecked(ctx, node, 0, &in));
  EDGEOPT_RETURN_IF_ERROR(GetOutputChecked(ctx, node, 0, &out));
  // int32 outputs (requantized int16, as the int16 SVDF pipelines of TFLite use) besides the
  // 8/16-bit ones.
  EDGEOPT_ENSURE(
      IsQuantType(out->type) || (out->type == DType::kInt32 && in->type != DType::kFloat32),
      StatusCode::kUnsupported,
      "QUANTIZE output must be int8, uint8 or int16 (or int32 from "
      "an integer input), is %s",
      DTypeName(out->type));
  EDGEOPT_RETURN_IF_ERROR(CheckPerTensorQuant(out, "output"));
  EDGEOPT_RETURN_IF_ERROR(CheckQuantizeType(out->type));
  EDGEOPT_RETURN_IF_ERROR(CheckQuantizeType(in->type));
  if (in->type != DType::kFloat32) {
    EDGEOPT_ENSURE(IsQuantType(in->type), StatusCode::kUnsupported,
                   "QUANTIZE input must be float32, int8, uint8 or int16, is %s",
                   DTypeName(in->type));
    EDGEOPT_RETURN_IF_ERROR(CheckPerTensorQuant(in, "input"));
    const double m = static_cast<double>(in->quant.scale) / static_cast<double>(out->quant.scale);
    quant::QuantizeMultiplier(m, &data->multiplier, &data->shift);
  }
  EDGEOPT_RETURN_IF_ERROR(
      PrepareQuantize(ctx, in, out, data->multiplier, data->shift, &data->fast));
  return ctx->ResizeTensor(out, in->dims);
}

template <typename T>
void AffineQuantize(const float* in, int64_t n, float scale, int32_t zp, T* out) {
  const double s = static_cast<double>(scale);
  const int32_t lo = std::numeric_limits<T>::min(), hi = std::numeric_limits<T>::max();
  for (int64_t i = 0; i < n; ++i) {
    const double x = static_cast<double>(in[i]) / s;
    int32_t q;
    if (std::fabs(x) < 2.0e9) {
      // std::round (half away from zero) without its library call: the truncation is exact in
      // int64, and so is the fraction left (x and its truncation share their high bits).
      const int64_t t = static_cast<int64_t>(x);
      const double frac = x - static_cast<double>(t);
      q = static_cast<int32_t>(t + (frac >= 0.5) - (frac <= -0.5));
    } else {
      // NaN and values beyond +-2e9 would be undefined casts: saturate them instead.
      q = std::isnan(x) ? 0
          : x > 0       ? std::numeric_limits<int32_t>::max() - 65536
                        : std::numeric_limits<int32_t>::min() + 65536;
    }
    const int32_t v = q + zp;
    out[i] = static_cast<T>(v < lo ? lo : (v > hi ? hi : v));
  }
}

template <typename In, typename Out>
void Requantize(const In* in, int64_t n, const QuantizeData* d, int32_t in_zp, int32_t out_zp,
                Out* out) {
  const int32_t lo = std::numeric_limits<Out>::min(), hi = std::numeric_limits<Out>::max();
  for (int64_t i = 0; i < n; ++i) {
    const int32_t v = quant::MultiplyByQuantizedMultiplier(static_cast<int32_t>(in[i]) - in_zp,
                                                           d->multiplier, d->shift) +
                      out_zp;
    out[i] = static_cast<Out>(v < lo ? lo : (v > hi ? hi : v));
  }
}

// The cases of types a selective build left out (refused by QuantizePrepare) compile out.
template <typename In>
void RequantizeFrom(const Tensor* in, Tensor* out, const QuantizeData* d, int64_t n) {
  const int32_t izp = in->quant.zero_point, ozp = out->quant.zero_point;
  switch (out->type) {
    case DType::kInt8:
      if constexpr (TypeInBuild("QUANTIZE", "int8")) {
        Requantize(in->Data<In>(), n, d, izp, ozp, out->Data<int8_t>());
      }
      break;
    case DType::kUInt8:
      if constexpr (TypeInBuild("QUANTIZE", "uint8")) {
        Requantize(in->Data<In>(), n, d, izp, ozp, out->Data<uint8_t>());
      }
      break;
    case DType::kInt32:
      if constexpr (TypeInBuild("QUANTIZE", "int32")) {
        Requantize(in->Data<In>(), n, d, izp, ozp, out->Data<int32_t>());
      }
      break;
    default:
      if constexpr (TypeInBuild("QUANTIZE", "int16")) {
        Requantize(in->Data<In>(), n, d, izp, ozp, out->Data<int16_t>());
      }
      break;
  }
}

Status QuantizeEval(Context* ctx, Node* node) {
  const QuantizeData* d = static_cast<const QuantizeData*>(node->user_data);
  const Tensor* in = ctx->input(node, 0);
  Tensor* out = ctx->output(node, 0);
  if (d->fast != nullptr) {
    RunQuantConvert(ctx, *d->fast, in->data, out->data);
    return Status::Ok();
  }
  const int64_t n = out->dims.NumElements();
  switch (in->type) {
    case DType::kFloat32: {
      if constexpr (!TypeInBuild("QUANTIZE", "float32")) break;
      const float s = out->quant.scale;
      const int32_t zp = out->quant.zero_point;
      if (out->type == DType::kInt8) {
        if constexpr (TypeInBuild("QUANTIZE", "int8")) {
          AffineQuantize(in->Data<float>(), n, s, zp, out->Data<int8_t>());
        }
      } else if (out->type == DType::kUInt8) {
        if constexpr (TypeInBuild("QUANTIZE", "uint8")) {
          AffineQuantize(in->Data<float>(), n, s, zp, out->Data<uint8_t>());
        }
      } else if constexpr (TypeInBuild("QUANTIZE", "int16")) {
        AffineQuantize(in->Data<float>(), n, s, zp, out->Data<int16_t>());
      }
      break;
    }
    case DType::kInt8:
      if constexpr (TypeInBuild("QUANTIZE", "int8")) RequantizeFrom<int8_t>(in, out, d, n);
      break;
    case DType::kUInt8:
      if constexpr (TypeInBuild("QUANTIZE", "uint8")) RequantizeFrom<uint8_t>(in, out, d, n);
      break;
    default:
      if constexpr (TypeInBuild("QUANTIZE", "int16")) RequantizeFrom<int16_t>(in, out, d, n);
      break;
  }
  return Status::Ok();
}

// --- DEQUANTIZE ----------------------------------------------------------------------------------

Status DequantizePrepare(Context* ctx, Node* node) {
  EDGEOPT_RETURN_IF_ERROR(CheckNumInputs(node, 1, 1));
  EDGEOPT_RETURN_IF_ERROR(CheckNumOutputs(node, 1));
  Tensor *in, *out;
  EDGEOPT_RETURN_IF_ERROR(GetInputChecked(ctx, node, 0, &in));
  EDGEOPT_RETURN_IF_ERROR(GetOutputChecked(ctx, node, 0, &out));
  EDGEOPT_ENSURE(out->type == DType::kFloat32, StatusCode::kUnsupported,
                 "DEQUANTIZE output must be float32, is %s", DTypeName(out->type));
  if (in->type != DType::kFloat16) {
    EDGEOPT_ENSURE(IsQuantType(in->type), StatusCode::kUnsupported,
                   "DEQUANTIZE input must be int8, uint8, int16 or float16, is %s",
                   DTypeName(in->type));
    EDGEOPT_ENSURE(in->quant.IsQuantized(), StatusCode::kInvalidModel,
                   "input (%s) has no quantization parameters", in->name);
    for (int c = 0; c < in->quant.num_channels; ++c) {
      const float s = in->quant.scales[c];
      EDGEOPT_ENSURE(std::isfinite(s) && s > 0.0f, StatusCode::kInvalidModel,
                     "input (%s): scale %d is %g; expected finite and positive", in->name, c, s);
    }
  }
  // user_data: the microkernel path (elementwise_op.h), when one applies.
  QuantConvertOp* fast = nullptr;
  EDGEOPT_RETURN_IF_ERROR(PrepareDequantize(ctx, in, &fast));
  node->user_data = fast;
  return ctx->ResizeTensor(out, in->dims);
}

template <typename T>
void DequantizeTyped(const Tensor* in, float* out) {
  const T* p = in->Data<T>();
  const Quantization& q = in->quant;
  const int64_t n = in->dims.NumElements();
  if (!q.IsPerChannel()) {
    const double s = q.scale;
    const int32_t zp = q.zero_point;
    for (int64_t i = 0; i < n; ++i) {
      out[i] = static_cast<float>(s * (static_cast<int32_t>(p[i]) - zp));
    }
    return;
  }
  const int64_t channels = in->dims[q.axis];
  const int64_t inner = in->dims.FlatSize(q.axis + 1, in->dims.size);
  for (int64_t i = 0; i < n; ++i) {
    const int64_t c = (i / inner) % channels;
    out[i] = static_cast<float>(static_cast<double>(q.scales[c]) *
                                (static_cast<int32_t>(p[i]) - q.zero_points[c]));
  }
}

Status DequantizeEval(Context* ctx, Node* node) {
  const Tensor* in = ctx->input(node, 0);
  Tensor* out = ctx->output(node, 0);
  if (node->user_data != nullptr) {
    RunQuantConvert(ctx, *static_cast<const QuantConvertOp*>(node->user_data), in->data, out->data);
    return Status::Ok();
  }
  float* o = out->Data<float>();
  switch (in->type) {
    case DType::kFloat16: {
      const uint16_t* p = in->Data<uint16_t>();
      const int64_t n = in->dims.NumElements();
      for (int64_t i = 0; i < n; ++i) o[i] = HalfToFloat(p[i]);
      break;
    }
    case DType::kInt8:
      DequantizeTyped<int8_t>(in, o);
      break;
    case DType::kUInt8:
      DequantizeTyped<uint8_t>(in, o);
      break;
    default:
      DequantizeTyped<int16_t>(in, o);
      break;
  }
  return Status::Ok();
}

// --- CAST ----------------------------------------------------------------------------------------

bool CastType(DType t) {
  switch (t) {
    case DType::kFloat32:
    case DType::kInt8:
    case DType::kUInt8:
    case DType::kInt16:
    case DType::kInt32:
    case DType::kInt64:
    case DType::kBool:
      return true;
    default:
      return false;
  }
}

Status CastPrepare(Context* ctx, Node* node) {
  EDGEOPT_RETURN_IF_ERROR(CheckNumInputs(node, 1, 1));
  EDGEOPT_RETURN_IF_ERROR(CheckNumOutputs(node, 1));
  Tensor *in, *out;
  EDGEOPT_RETURN_IF_ERROR(GetInputChecked(ctx, node, 0, &in));
  EDGEOPT_RETURN_IF_ERROR(GetOutputChecked(ctx, node, 0, &out));
  EDGEOPT_ENSURE(CastType(in->type) && CastType(out->type), StatusCode::kUnsupported,
                 "CAST from %s to %s is not supported", DTypeName(in->type), DTypeName(out->type));
  return ctx->ResizeTensor(out, in->dims);
}

// Float -> integer as x86's truncating conversions do for out-of-range values.
template <typename To>
To FloatToInt(float x) {
  if (std::is_same<To, int64_t>::value) {
    if (!(x >= -9.2233720368547758e18f && x < 9.2233720368547758e18f)) {
      return static_cast<To>(std::numeric_limits<int64_t>::min());
    }
    return static_cast<To>(static_cast<int64_t>(x));
  }
  if (!(x >= -2147483648.0f && x < 2147483648.0f)) {
    return static_cast<To>(std::numeric_limits<int32_t>::min());
  }
  return static_cast<To>(static_cast<int32_t>(x));
}

// Bool tensors are read and written as bytes (0 / 1) to avoid loading invalid bools.
template <typename From, typename To>
void CastLoop(const From* in, int64_t n, bool from_bool, bool to_bool, To* out) {
  for (int64_t i = 0; i < n; ++i) {
    if (to_bool) {
      out[i] = static_cast<To>(in[i] != From(0) ? 1 : 0);
    } else if (from_bool) {
      out[i] = static_cast<To>(in[i] != From(0) ? 1 : 0);
    } else if (std::is_floating_point<From>::value && !std::is_floating_point<To>::value) {
      out[i] = FloatToInt<To>(static_cast<float>(in[i]));
    } else {
      out[i] = static_cast<To>(in[i]);
    }
  }
}

template <typename From>
void CastFrom(const Tensor* in, Tensor* out, int64_t n) {
  const From* p = in->Data<From>();
  const bool fb = in->type == DType::kBool, tb = out->type == DType::kBool;
  switch (out->type) {
    case DType::kFloat32:
      CastLoop(p, n, fb, tb, out->Data<float>());
      break;
    case DType::kInt8:
      CastLoop(p, n, fb, tb, out->Data<int8_t>());
      break;
    case DType::kInt16:
      CastLoop(p, n, fb, tb, out->Data<int16_t>());
      break;
    case DType::kInt32:
      CastLoop(p, n, fb, tb, out->Data<int32_t>());
      break;
    case DType::kInt64:
      CastLoop(p, n, fb, tb, out->Data<int64_t>());
      break;
    default:  // uint8 and bool
      CastLoop(p, n, fb, tb, out->Data<uint8_t>());
      break;
  }
}

Status CastEval(Context* ctx, Node* node) {
  const Tensor* in = ctx->input(node, 0);
  Tensor* out = ctx->output(node, 0);
  const int64_t n = in->dims.NumElements();
  switch (in->type) {
    case DType::kFloat32:
      CastFrom<float>(in, out, n);
      break;
    case DType::kInt8:
      CastFrom<int8_t>(in, out, n);
      break;
    case DType::kInt16:
      CastFrom<int16_t>(in, out, n);
      break;
    case DType::kInt32:
      CastFrom<int32_t>(in, out, n);
      break;
    case DType::kInt64:
      CastFrom<int64_t>(in, out, n);
      break;
    default:  // uint8 and bool
      CastFrom<uint8_t>(in, out, n);
      break;
  }
  return Status::Ok();
}

}  // namespace

const Registration* RegisterQuantize() {
  static const Registration reg = {"QUANTIZE", InitOpData<QuantizeData>, QuantizePrepare,
                                   QuantizeEval};
  return &reg;
}
const Registration* RegisterDequantize() {
  static const Registration reg = {"DEQUANTIZE", nullptr, DequantizePrepare, DequantizeEval};
  return &reg;
}
const Registration* RegisterCast() {
  static const Registration reg = {"CAST", nullptr, CastPrepare, CastEval};
  return &reg;
}

}  // namespace rt
}  // namespace edgeopt
