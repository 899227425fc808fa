// ADD and SUB: out = activation(a +/- b) with numpy broadcasting.
//  - float32, int32, int64: plain arithmetic (integers wrap) and the fused activation clamp.
//  - int8, uint8: TFLite's general quantized path: both inputs rescaled to 2 * max(input scale)
//    with 20 extra bits, combined, rescaled to the output scale.
//  - int16: the same with 15 extra bits, or, when pot_scale_int16 is set (the default) and all
//    scales are powers of two with zero points 0, the saturating Q0.15 path.
#include <cmath>
#include <cstdint>

#include "src/quant/quant_math.h"
#include "src/runtime/kernels/elem_util.h"
#include "src/runtime/kernels/elementwise_op.h"
#include "src/runtime/kernels/reference/arith.h"
#include "src/runtime/kernels/reference/broadcast.h"
#include "src/runtime/selective.h"

namespace edgeopt {
namespace rt {
namespace {

struct OpData {
  ref::BroadcastPlan plan;
  bool pot_int16 = false;
  ref::AddSubParams q;
  ref::PotInt16Params pot;
  float f_min = 0, f_max = 0;
  int activation = 0;
  QuantAddOp* fast = nullptr;  // int8/uint8 microkernels (elementwise_op.h)
  F32BinaryOp* fast_f32 = nullptr;
};

// log2(scale) when it is an exact power of two (TFLite's CheckedLog2 rounds and compares with a
// tolerance of 1e-3).
bool CheckedLog2(float x, int* log2_result) {
  const double x_log2 = std::log(static_cast<double>(x)) / std::log(2.0);
  const double rounded = std::round(x_log2);
  *log2_result = static_cast<int>(rounded);
  return std::abs(x_log2 - rounded) < 1e-3;
}

template <bool kSubtract>
Status Prepare(Context* ctx, Node* node) {
  OpData* data;
  EDGEOPT_RETURN_IF_ERROR(GetOpData(node, &data));
  Tensor *a, *b, *out;
  EDGEOPT_RETURN_IF_ERROR(PrepareBroadcastBinary(ctx, node, &a, &b, &out, &data->plan));
  EDGEOPT_RETURN_IF_ERROR(CheckSameType(a, out, "input", "output"));
  bool pot_option = false;
  if (kSubtract) {
    data->activation = FusedActivation<tflite::SubOptions>(node);
    const auto* o = GetOptions<tflite::SubOptions>(node);
    pot_option = o != nullptr && o->pot_scale_int16();
  } else {
    data->activation = FusedActivation<tflite::AddOptions>(node);
    const auto* o = GetOptions<tflite::AddOptions>(node);
    pot_option = o != nullptr && o->pot_scale_int16();
  }
  constexpr const char* kOp = kSubtract ? "SUB" : "ADD";
  switch (out->type) {
    case DType::kFloat32:
      EDGEOPT_ENSURE_TYPE_IN_BUILD(kOp, "float32");
      quant::ActivationRangeFloat(data->activation, &data->f_min, &data->f_max);
      return PrepareF32Binary(ctx, kSubtract ? F32BinaryKind::kSub : F32BinaryKind::kAdd,
                              data->plan, a->dims.NumElements(), b->dims.NumElements(), data->f_min,
                              data->f_max, &data->fast_f32);
    case DType::kInt32:
      EDGEOPT_ENSURE_TYPE_IN_BUILD(kOp, "int32");
      return Status::Ok();
    case DType::kInt64:
      EDGEOPT_ENSURE_TYPE_IN_BUILD(kOp, "int64");
      return Status::Ok();
    case DType::kInt8:
      EDGEOPT_ENSURE_TYPE_IN_BUILD(kOp, "int8");
      break;
    case DType::kUInt8:
      EDGEOPT_ENSURE_TYPE_IN_BUILD(kOp, "uint8");
      break;
    case DType::kInt16:
      EDGEOPT_ENSURE_TYPE_IN_BUILD(kOp, "int16");
      break;
    default:
      return MakeStatus(StatusCode::kUnsupported, "%s does not support type %s", kOp,
                        DTypeName(out->type));
  }
  EDGEOPT_RETURN_IF_ERROR(CheckPerTensorQuant(a, "input 0"));
  EDGEOPT_RETURN_IF_ERROR(CheckPerTensorQuant(b, "input 1"));
  EDGEOPT_RETURN_IF_ERROR(CheckPerTensorQuant(out, "output"));
  int32_t act_min, act_max;
  quant::ActivationRangeQuantized(data->activation, out->quant.scale, out->quant.zero_point,
                                  QuantMin(out->type), QuantMax(out->type), &act_min, &act_max);
  if (out->type == DType::kInt16 && pot_option) {
    int l1, l2, lo;
    const bool pot = CheckedLog2(a->quant.scale, &l1) && CheckedLog2(b->quant.scale, &l2) &&
                     CheckedLog2(out->quant.scale, &lo) && a->quant.zero_point == 0 &&
                     b->quant.zero_point == 0 && out->quant.zero_point == 0;
    if (pot) {
      data->pot_int16 = true;
      data->pot.input1_shift = l1 - lo;
      data->pot.input2_shift = l2 - lo;
      data->pot.act_min = act_min;
      data->pot.act_max = act_max;
      EDGEOPT_ENSURE(data->pot.input1_shift == 0 || data->pot.input2_shift == 0,
                     StatusCode::kUnsupported,
                     "int16 power-of-two path: only one input may need "
                     "rescaling (input scale "
                     "exponents %d and %d vs output %d)",
                     l1, l2, lo);
      EDGEOPT_ENSURE(data->pot.input1_shift <= 0 && data->pot.input2_shift <= 0,
                     StatusCode::kUnsupported,
                     "int16 power-of-two path: input scales must not be finer "
                     "than the output "
                     "scale (exponents %d and %d vs output %d)",
                     l1, l2, lo);
      return Status::Ok();
    }
  }
  ref::AddSubParams& q = data->q;
  q.left_shift = out->type == DType::kInt16 ? 15 : 20;
  q.input1_offset = -a->quant.zero_point;
  q.input2_offset = -b->quant.zero_point;
  q.output_offset = out->quant.zero_point;
  const double twice_max = 2.0 * std::max(a->quant.scale, b->quant.scale);
  const double m1 = a->quant.scale / twice_max;
  const double m2 = b->quant.scale / twice_max;
  const double mo =
      twice_max / static_cast<double>(static_cast<float>(1 << q.left_shift) * out->quant.scale);
  quant::QuantizeMultiplier(m1, &q.input1_multiplier, &q.input1_shift);
  quant::QuantizeMultiplier(m2, &q.input2_multiplier, &q.input2_shift);
  quant::QuantizeMultiplier(mo, &q.output_multiplier, &q.output_shift);
  q.act_min = act_min;
  q.act_max = act_max;
  return PrepareQuantAdd(ctx, out->type, q, kSubtract, data->plan, b->dims.NumElements(),
                         &data->fast);
}

template <typename T, bool kSubtract>
void EvalQuantized(const OpData* d, const Tensor* a, const Tensor* b, Tensor* out) {
  const ref::AddSubParams& q = d->q;
  ref::BroadcastBinary(d->plan, a->Data<T>(), b->Data<T>(), out->Data<T>(), [&q](T x, T y) {
    return static_cast<T>(ref::QuantAddSub(x, y, q, kSubtract));
  });
}

template <typename T, bool kSubtract>
void EvalInt(const OpData* d, const Tensor* a, const Tensor* b, Tensor* out) {
  T lo, hi;
  ActivationRangeInt<T>(d->activation, &lo, &hi);
  using U = typename std::make_unsigned<T>::type;
  ref::BroadcastBinary(d->plan, a->Data<T>(), b->Data<T>(), out->Data<T>(), [lo, hi](T x, T y) {
    const T v = static_cast<T>(kSubtract ? static_cast<U>(x) - static_cast<U>(y)
                                         : static_cast<U>(x) + static_cast<U>(y));
    return v < lo ? lo : (v > hi ? hi : v);
  });
}

template <bool kSubtract>
Status Eval(Context* ctx, Node* node) {
  constexpr const char* kOp = kSubtract ? "SUB" : "ADD";
  const OpData* d = static_cast<const OpData*>(node->user_data);
  const Tensor* a = ctx->input(node, 0);
  const Tensor* b = ctx->input(node, 1);
  Tensor* out = ctx->output(node, 0);
  if (d->fast != nullptr) {
    RunQuantAdd(ctx, *d->fast, a->data, b->data, out->data);
    return Status::Ok();
  }
  if (TypeInBuild(kOp, "float32") && d->fast_f32 != nullptr) {
    RunF32Binary(ctx, *d->fast_f32, a->Data<float>(), b->Data<float>(), out->Data<float>());
    return Status::Ok();
  }
  // Prepare refuses the types a selective build left out (selective.h); their cases compile out.
  switch (out->type) {
    case DType::kFloat32: {
      if constexpr (!TypeInBuild(kOp, "float32")) break;
      const float lo = d->f_min, hi = d->f_max;
      ref::BroadcastBinary(d->plan, a->Data<float>(), b->Data<float>(), out->Data<float>(),
                           [lo, hi](float x, float y) {
                             const float v = kSubtract ? x - y : x + y;
                             return std::min(hi, std::max(lo, v));
                           });
      break;
    }
    case DType::kInt32:
      if constexpr (TypeInBuild(kOp, "int32")) EvalInt<int32_t, kSubtract>(d, a, b, out);
      break;
    case DType::kInt64:
      if constexpr (TypeInBuild(kOp, "int64")) EvalInt<int64_t, kSubtract>(d, a, b, out);
      break;
    case DType::kInt8:
      if constexpr (TypeInBuild(kOp, "int8")) EvalQuantized<int8_t, kSubtract>(d, a, b, out);
      break;
    case DType::kUInt8:
      if constexpr (TypeInBuild(kOp, "uint8")) EvalQuantized<uint8_t, kSubtract>(d, a, b, out);
      break;
    case DType::kInt16:
      if constexpr (!TypeInBuild(kOp, "int16")) break;
      if (d->pot_int16) {
        const ref::PotInt16Params& p = d->pot;
        ref::BroadcastBinary(
            d->plan, a->Data<int16_t>(), b->Data<int16_t>(), out->Data<int16_t>(),
            [&p](int16_t x, int16_t y) { return ref::PotInt16AddSub(x, y, p, kSubtract); });
      } else {
        EvalQuantized<int16_t, kSubtract>(d, a, b, out);
      }
      break;
    default:
      return MakeStatus(StatusCode::kInternal, "unexpected type %s", DTypeName(out->type));
  }
  return Status::Ok();
}

// Registration::quant_add: the int8/uint8 microkernel of a same-shape ADD, which a producer
// may run on its output tiles instead of this node.
bool FusableQuantAdd(const Node* node, FusedAdd* add) {
  const OpData* d = static_cast<const OpData*>(node->user_data);
  if (d == nullptr || d->fast == nullptr || d->fast->rows.b_scalar ||
      d->fast->rows.b_step != d->fast->rows.inner || d->fast->fn == nullptr) {  // same shapes
    return false;
  }
  add->quant_fn = d->fast->fn;
  add->quant_params = &d->fast->params;
  return true;
}

}  // namespace

const Registration* RegisterAdd() {
  static const Registration reg = {"ADD",   InitOpData<OpData>, Prepare<false>, Eval<false>,
                                   nullptr, FusableQuantAdd};
  return &reg;
}

const Registration* RegisterSub() {
  static const Registration reg = {"SUB", InitOpData<OpData>, Prepare<true>, Eval<true>};
  return &reg;
}

}  // namespace rt
}  // namespace edgeopt
