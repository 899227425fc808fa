// L2_NORMALIZATION over the last dimension.
//  - float32: x / max(sqrt(sum x^2), 1e-6).
//  - int8 (output scale 1/128, zero point 0) and uint8 (1/128, 128): TFLite's fixed-point
//    inverse square root of the integer sum of squares (GetInvSqrtQuantizedMultiplierExp).
#include <cmath>
#include <cstdint>
#include <type_traits>

#include "src/quant/quant_math.h"
#include "src/runtime/kernels/elem_util.h"
#include "src/runtime/kernels/reference/fixed_point.h"

namespace edgeopt {
namespace rt {
namespace {

Status Prepare(Context* ctx, Node* node) {
  EDGEOPT_RETURN_IF_ERROR(CheckNumInputs(node, 1, 1));
  EDGEOPT_RETURN_IF_ERROR(CheckNumOutputs(node, 1));
  Tensor *in, *out;
  EDGEOPT_RETURN_IF_ERROR(GetInputChecked(ctx, node, 0, &in));
  EDGEOPT_RETURN_IF_ERROR(GetOutputChecked(ctx, node, 0, &out));
  EDGEOPT_RETURN_IF_ERROR(CheckSameType(in, out, "input", "output"));
  EDGEOPT_ENSURE(in->dims.size >= 1, StatusCode::kInvalidModel,
                 "input must have at least one dimension");
  const auto* o = GetOptions<tflite::L2NormOptions>(node);
  EDGEOPT_ENSURE(
      o == nullptr || o->fused_activation_function() == tflite::ActivationFunctionType::NONE,
      StatusCode::kUnsupported, "fused activations are not supported (as in TFLite)");
  EDGEOPT_RETURN_IF_ERROR(ctx->ResizeTensor(out, in->dims));
  if (in->type == DType::kFloat32) return Status::Ok();
  EDGEOPT_ENSURE(in->type == DType::kInt8 || in->type == DType::kUInt8, StatusCode::kUnsupported,
                 "L2_NORMALIZATION supports float32, int8 and uint8, not %s", DTypeName(in->type));
  EDGEOPT_RETURN_IF_ERROR(CheckPerTensorQuant(in, "input"));
  EDGEOPT_RETURN_IF_ERROR(CheckPerTensorQuant(out, "output"));
  const int32_t want_zp = in->type == DType::kInt8 ? 0 : 128;
  EDGEOPT_ENSURE(out->quant.scale == 1.0f / 128 && out->quant.zero_point == want_zp,
                 StatusCode::kInvalidModel,
                 "output must have scale 1/128 and zero point %d (has %g, %d)", want_zp,
                 out->quant.scale, out->quant.zero_point);
  return Status::Ok();
}

template <typename T>
void L2Quantized(const Tensor* in, Tensor* out, int64_t rows, int64_t depth) {
  const T* p = in->Data<T>();
  T* o = out->Data<T>();
  const int32_t zp = in->quant.zero_point;
  for (int64_t r = 0; r < rows; ++r, p += depth, o += depth) {
    int32_t acc = 0;
    for (int64_t c = 0; c < depth; ++c) {
      const int32_t v = static_cast<int32_t>(p[c]) - zp;
      acc += v * v;
    }
    int32_t mult;
    int shift;
    ref::GetInvSqrtQuantizedMultiplierExp(acc, -1, &mult, &shift);
    for (int64_t c = 0; c < depth; ++c) {
      const int32_t v = static_cast<int32_t>(p[c]) - zp;
      if (std::is_same<T, int8_t>::value) {
        const int32_t q = quant::MultiplyByQuantizedMultiplier(v, mult, shift + 7);
        o[c] = static_cast<T>(std::min(127, std::max(-128, q)));
      } else {
        const int32_t q =
            128 + quant::MultiplyByQuantizedMultiplierSmallerThanOneExp(128 * v, mult, shift);
        o[c] = static_cast<T>(std::min(255, std::max(0, q)));
      }
    }
  }
}

Status Eval(Context* ctx, Node* node) {
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
        float sq = 0.0f;
        for (int64_t c = 0; c < depth; ++c) sq += p[c] * p[c];
        const float norm = std::max(std::sqrt(sq), 1e-6f);
        for (int64_t c = 0; c < depth; ++c) o[c] = p[c] / norm;
      }
      break;
    }
    case DType::kInt8:
      L2Quantized<int8_t>(in, out, rows, depth);
      break;
    default:
      L2Quantized<uint8_t>(in, out, rows, depth);
      break;
  }
  return Status::Ok();
}

}  // namespace

const Registration* RegisterL2Normalization() {
  static const Registration reg = {"L2_NORMALIZATION", nullptr, Prepare, Eval};
  return &reg;
}

}  // namespace rt
}  // namespace edgeopt
