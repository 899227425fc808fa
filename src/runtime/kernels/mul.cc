// MUL: out = activation(a * b) with numpy broadcasting.
//  - float32, int32, int64: plain arithmetic (integers wrap) and the fused activation clamp.
//  - int8, uint8, int16: out = zp_out + (a - zp_a)(b - zp_b) * (s_a s_b / s_out) with the
//    multiplier applied in fixed point (TFLite's MulElementwise).
#include <cstdint>
#include <type_traits>

#include "src/quant/quant_math.h"
#include "src/runtime/kernels/elem_util.h"
#include "src/runtime/kernels/elementwise_op.h"
#include "src/runtime/kernels/reference/arith.h"
#include "src/runtime/kernels/reference/broadcast.h"

namespace edgeopt {
namespace rt {
namespace {

struct OpData {
  ref::BroadcastPlan plan;
  ref::MulParams q;
  float f_min = 0, f_max = 0;
  int activation = 0;
  F32BinaryOp* fast_f32 = nullptr;  // float microkernels (elementwise_op.h)
  QuantMulOp* fast_q8 = nullptr;    // int8/uint8 microkernels
};

Status Prepare(Context* ctx, Node* node) {
  OpData* data;
  EDGEOPT_RETURN_IF_ERROR(GetOpData(node, &data));
  Tensor *a, *b, *out;
  EDGEOPT_RETURN_IF_ERROR(PrepareBroadcastBinary(ctx, node, &a, &b, &out, &data->plan));
  EDGEOPT_RETURN_IF_ERROR(CheckSameType(a, out, "input", "output"));
  data->activation = FusedActivation<tflite::MulOptions>(node);
  switch (out->type) {
    case DType::kFloat32:
      quant::ActivationRangeFloat(data->activation, &data->f_min, &data->f_max);
      return PrepareF32Binary(ctx, F32BinaryKind::kMul, data->plan, a->dims.NumElements(),
                              b->dims.NumElements(), data->f_min, data->f_max, &data->fast_f32);
    case DType::kInt32:
    case DType::kInt64:
      return Status::Ok();
    case DType::kInt8:
    case DType::kUInt8:
    case DType::kInt16:
      break;
    default:
      return MakeStatus(StatusCode::kUnsupported, "MUL does not support type %s",
                        DTypeName(out->type));
  }
  EDGEOPT_RETURN_IF_ERROR(CheckPerTensorQuant(a, "input 0"));
  EDGEOPT_RETURN_IF_ERROR(CheckPerTensorQuant(b, "input 1"));
  EDGEOPT_RETURN_IF_ERROR(CheckPerTensorQuant(out, "output"));
  ref::MulParams& q = data->q;
  q.input1_offset = -a->quant.zero_point;
  q.input2_offset = -b->quant.zero_point;
  q.output_offset = out->quant.zero_point;
  // As TFLite: the product of the float scales is formed in float precision.
  const float real_multiplier = a->quant.scale * b->quant.scale / out->quant.scale;
  quant::QuantizeMultiplier(real_multiplier, &q.output_multiplier, &q.output_shift);
  quant::ActivationRangeQuantized(data->activation, out->quant.scale, out->quant.zero_point,
                                  QuantMin(out->type), QuantMax(out->type), &q.act_min, &q.act_max);
  return PrepareQuantMul(ctx, out->type, q, data->plan, a->dims.NumElements(),
                         b->dims.NumElements(), &data->fast_q8);
}

template <typename T>
void EvalQuantized(const OpData* d, const Tensor* a, const Tensor* b, Tensor* out) {
  const ref::MulParams& q = d->q;
  ref::BroadcastBinary(d->plan, a->Data<T>(), b->Data<T>(), out->Data<T>(),
                       [&q](T x, T y) { return static_cast<T>(ref::QuantMul(x, y, q)); });
}

template <typename T>
void EvalInt(const OpData* d, const Tensor* a, const Tensor* b, Tensor* out) {
  T lo, hi;
  ActivationRangeInt<T>(d->activation, &lo, &hi);
  using U = typename std::make_unsigned<T>::type;
  ref::BroadcastBinary(d->plan, a->Data<T>(), b->Data<T>(), out->Data<T>(), [lo, hi](T x, T y) {
    const T v = static_cast<T>(static_cast<U>(x) * static_cast<U>(y));
    return v < lo ? lo : (v > hi ? hi : v);
  });
}

Status Eval(Context* ctx, Node* node) {
  const OpData* d = static_cast<const OpData*>(node->user_data);
  const Tensor* a = ctx->input(node, 0);
  const Tensor* b = ctx->input(node, 1);
  Tensor* out = ctx->output(node, 0);
  if (d->fast_f32 != nullptr) {
    RunF32Binary(ctx, *d->fast_f32, a->Data<float>(), b->Data<float>(), out->Data<float>());
    return Status::Ok();
  }
  if (d->fast_q8 != nullptr) {
    RunQuantMul(ctx, *d->fast_q8, a->data, b->data, out->data);
    return Status::Ok();
  }
  switch (out->type) {
    case DType::kFloat32: {
      const float lo = d->f_min, hi = d->f_max;
      ref::BroadcastBinary(d->plan, a->Data<float>(), b->Data<float>(), out->Data<float>(),
                           [lo, hi](float x, float y) {
                             const float v = x * y;
                             return std::min(hi, std::max(lo, v));
                           });
      break;
    }
    case DType::kInt32:
      EvalInt<int32_t>(d, a, b, out);
      break;
    case DType::kInt64:
      EvalInt<int64_t>(d, a, b, out);
      break;
    case DType::kInt8:
      EvalQuantized<int8_t>(d, a, b, out);
      break;
    case DType::kUInt8:
      EvalQuantized<uint8_t>(d, a, b, out);
      break;
    case DType::kInt16:
      EvalQuantized<int16_t>(d, a, b, out);
      break;
    default:
      return MakeStatus(StatusCode::kInternal, "unexpected type %s", DTypeName(out->type));
  }
  return Status::Ok();
}

}  // namespace

const Registration* RegisterMul() {
  static const Registration reg = {"MUL", InitOpData<OpData>, Prepare, Eval};
  return &reg;
}

}  // namespace rt
}  // namespace edgeopt
