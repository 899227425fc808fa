#include "src/runtime/kernels/elementwise_op.h"

#include <algorithm>
#include <new>
#include <utility>

#include "src/quant/quant_math.h"
#include "src/runtime/kernels/elem_util.h"
#include "src/runtime/kernels/ukernels/pack.h"
#include "src/runtime/thread_pool.h"

namespace edgeopt {
namespace rt {
namespace {

// Below this many elements an op runs on the calling thread (a pool round trip costs more).
constexpr int64_t kMinParallelElements = 4096;

void UniformRequant(int32_t multiplier, int shift, uk::RequantBlock16* block) {
  int32_t m[16], s[16];
  for (int i = 0; i < 16; ++i) {
    m[i] = multiplier;
    s[i] = shift;
  }
  uk::PackRequantBlocks(16, m, s, block);
}

template <typename T>
Status NewOp(Context* ctx, T** op) {
  void* p = ctx->AllocatePersistent(sizeof(T));
  EDGEOPT_ENSURE(p != nullptr, StatusCode::kOutOfMemory, "out of memory");
  *op = new (p) T();
  return Status::Ok();
}

int TypeIndex(DType t) { return t == DType::kUInt8 ? 1 : 0; }
bool IsQ8(DType t) { return t == DType::kInt8 || t == DType::kUInt8; }

}  // namespace

// `b` broadcast over the rows of a 2-D plan where `a` is whole: a row vector (strides {0, 1}) or
// one value per row (strides {1, 0}).
bool RowBroadcast(const ref::BroadcastPlan& plan, BroadcastRows* rows) {
  if (plan.rank != 2 || plan.stride_a[0] != plan.dims[1] || plan.stride_a[1] != 1) return false;
  if (plan.stride_b[0] == 0 && plan.stride_b[1] == 1) {
    rows->b_scalar = false;
    rows->b_step = 0;
  } else if (plan.stride_b[0] == 1 && plan.stride_b[1] == 0) {
    rows->b_scalar = true;
    rows->b_step = 1;
  } else {
    return false;
  }
  rows->rows = plan.dims[0];
  rows->inner = plan.dims[1];
  rows->total = plan.size;
  return true;
}

// The rows a binary op runs as, or false when the microkernels do not apply: same shapes or one
// operand a single value (`a` only with `swap_ok`) as rows of kFlatRow elements (the last one
// shorter), or `b` broadcast over rows (RowBroadcast).
constexpr int64_t kFlatRow = 1024;
bool PlanRows(const ref::BroadcastPlan& plan, int64_t a_elements, int64_t b_elements, bool swap_ok,
              BroadcastRows* rows) {
  const bool flat = plan.rank == 1;
  const bool same = flat && plan.stride_a[0] == 1 && plan.stride_b[0] == 1;
  const bool b_scalar = flat && !same && plan.stride_a[0] == 1 && b_elements == 1;
  const bool a_scalar =
      swap_ok && flat && !same && !b_scalar && plan.stride_b[0] == 1 && a_elements == 1;
  if (!same && !b_scalar && !a_scalar) return RowBroadcast(plan, rows);
  rows->inner = kFlatRow;
  rows->rows = (plan.size + kFlatRow - 1) / kFlatRow;
  rows->b_step = same ? kFlatRow : 0;
  rows->total = plan.size;
  rows->b_scalar = !same;
  rows->swap = a_scalar;
  return true;
}

// One microkernel call on a row: fn(op, n, a, b, b_scalar, out).
using RowFn = void (*)(const void* op, size_t n, const void* a, const void* b, bool b_scalar,
                       void* out);

// The rows split over the threads (about kMinParallelElements per task at least). `elem` is the
// element size in bytes.
void RunRows(Context* ctx, const BroadcastRows& rows, int elem, const void* a, const void* b,
             void* out, RowFn fn, const void* op) {
  if (rows.swap) std::swap(a, b);
  const auto* pa = static_cast<const uint8_t*>(a);
  const auto* pb = static_cast<const uint8_t*>(b);
  auto* po = static_cast<uint8_t*>(out);
  const int64_t min_rows = std::max<int64_t>(1, kMinParallelElements / rows.inner);
  ParallelRange(ctx, rows.rows, min_rows, [&](int64_t begin, int64_t end) {
    for (int64_t r = begin; r < end; ++r) {
      const int64_t at = r * rows.inner;
      const size_t n = static_cast<size_t>(std::min(rows.inner, rows.total - at));
      fn(op, n, pa + at * elem, pb + r * rows.b_step * elem, rows.b_scalar, po + at * elem);
    }
  });
}

Status PrepareQuantAdd(Context* ctx, DType type, const ref::AddSubParams& q, bool subtract,
                       const ref::BroadcastPlan& plan, int64_t b_elements, QuantAddOp** op) {
  *op = nullptr;
  const uk::QuantElementwiseConfig* cfg = uk::GetQuantElementwiseConfig(ctx->cpu());
  if (cfg == nullptr || !ctx->use_optimized_kernels() || !IsQ8(type)) return Status::Ok();
  BroadcastRows rows;
  if (!PlanRows(plan, 0, b_elements, /*swap_ok=*/false, &rows)) return Status::Ok();
  // A microkernel is nullptr when a selective build left its type out (configs.cc).
  if (cfg->vadd[TypeIndex(type)] == nullptr) return Status::Ok();
  QuantAddOp* o = nullptr;
  EDGEOPT_RETURN_IF_ERROR(NewOp(ctx, &o));
  uk::QS8VAddParams& p = o->params;
  UniformRequant(q.input1_multiplier, q.input1_shift, &p.a);
  UniformRequant(q.input2_multiplier, q.input2_shift, &p.b);
  UniformRequant(q.output_multiplier, q.output_shift, &p.out);
  p.a_zero_point = -q.input1_offset;
  p.b_zero_point = -q.input2_offset;
  p.left_shift = q.left_shift;
  p.subtract = subtract;
  p.q.zero_point = q.output_offset;
  p.q.lo = q.act_min - q.output_offset;
  p.q.hi = q.act_max - q.output_offset;
  o->fn = cfg->vadd[TypeIndex(type)];
  o->rows = rows;
  *op = o;
  return Status::Ok();
}

void RunQuantAdd(Context* ctx, const QuantAddOp& op, const void* a, const void* b, void* out) {
  RunRows(
      ctx, op.rows, 1, a, b, out,
      [](const void* o, size_t n, const void* x, const void* y, bool scalar, void* z) {
        const auto* add = static_cast<const QuantAddOp*>(o);
        add->fn(n, x, y, scalar, z, &add->params);
      },
      &op);
}

Status PrepareQuantize(Context* ctx, const Tensor* in, const Tensor* out, int32_t multiplier,
                       int shift, QuantConvertOp** op) {
  *op = nullptr;
  const uk::QuantElementwiseConfig* cfg = uk::GetQuantElementwiseConfig(ctx->cpu());
  if (cfg == nullptr || !ctx->use_optimized_kernels()) return Status::Ok();
  // float32 -> int16 (the input of 16x8 models) has its own kernel on some CPUs, and so has
  // int16 -> int8 (where an int16 layer of an int8 model hands over to an int8 one).
  const bool s16 = in->type == DType::kFloat32 && out->type == DType::kInt16;
  const bool s16_s8 = in->type == DType::kInt16 && out->type == DType::kInt8;
  if (!IsQ8(out->type) && !s16) return Status::Ok();
  if (in->type != DType::kFloat32 && !IsQ8(in->type) && !s16_s8) return Status::Ok();
  const bool have = s16      ? cfg->quantize_s16 != nullptr
                    : s16_s8 ? cfg->requantize_s16_s8 != nullptr
                    : in->type == DType::kFloat32
                        ? cfg->quantize[TypeIndex(out->type)] != nullptr
                        : cfg->requantize[TypeIndex(in->type)][TypeIndex(out->type)] != nullptr;
  if (!have) return Status::Ok();  // none for this CPU, or left out of a selective build
  QuantConvertOp* o = nullptr;
  EDGEOPT_RETURN_IF_ERROR(NewOp(ctx, &o));
  const int32_t qmin = s16 ? -32768 : (out->type == DType::kInt8 ? -128 : 0);
  const int32_t qmax = s16 ? 32767 : (out->type == DType::kInt8 ? 127 : 255);
  o->n = in->dims.NumElements();
  o->out_size = s16 ? 2 : 1;
  o->in_size = s16_s8 ? 2 : 1;
  if (in->type == DType::kFloat32) {
    o->kind = QuantConvertOp::Kind::kQuantize;
    o->quant.scale = out->quant.scale;
    o->quant.inv_scale = 1.0f / out->quant.scale;
    o->quant.zero_point = out->quant.zero_point;
    o->quant.qmin = qmin;
    o->quant.qmax = qmax;
    o->quantize = s16 ? cfg->quantize_s16 : cfg->quantize[TypeIndex(out->type)];
  } else {
    o->kind = QuantConvertOp::Kind::kRequantize;
    UniformRequant(multiplier, shift, &o->requant.rq);
    o->requant.input_zero_point = in->quant.zero_point;
    o->requant.q.zero_point = out->quant.zero_point;
    o->requant.q.lo = qmin - out->quant.zero_point;
    o->requant.q.hi = qmax - out->quant.zero_point;
    o->requantize = s16_s8 ? cfg->requantize_s16_s8
                           : cfg->requantize[TypeIndex(in->type)][TypeIndex(out->type)];
  }
  *op = o;
  return Status::Ok();
}

Status PrepareDequantize(Context* ctx, const Tensor* in, QuantConvertOp** op) {
  *op = nullptr;
  const uk::QuantElementwiseConfig* cfg = uk::GetQuantElementwiseConfig(ctx->cpu());
  // |x - zero point| < 2^24 keeps float(x - zp) * scale equal to the reference's double
  // product rounded to float.
  if (cfg == nullptr || !ctx->use_optimized_kernels() || !IsQ8(in->type) ||
      in->quant.IsPerChannel() || in->quant.zero_point < -65536 || in->quant.zero_point > 65536 ||
      cfg->dequantize[TypeIndex(in->type)] == nullptr) {
    return Status::Ok();
  }
  QuantConvertOp* o = nullptr;
  EDGEOPT_RETURN_IF_ERROR(NewOp(ctx, &o));
  o->kind = QuantConvertOp::Kind::kDequantize;
  o->dequantize = cfg->dequantize[TypeIndex(in->type)];
  o->scale = in->quant.scale;
  o->zero_point = in->quant.zero_point;
  o->n = in->dims.NumElements();
  *op = o;
  return Status::Ok();
}

void RunQuantConvert(Context* ctx, const QuantConvertOp& op, const void* in, void* out) {
  ParallelRange(ctx, op.n, kMinParallelElements, [&](int64_t begin, int64_t end) {
    const size_t n = static_cast<size_t>(end - begin);
    switch (op.kind) {
      case QuantConvertOp::Kind::kQuantize:
        op.quantize(n, static_cast<const float*>(in) + begin,
                    static_cast<uint8_t*>(out) + begin * op.out_size, &op.quant);
        break;
      case QuantConvertOp::Kind::kRequantize:
        op.requantize(n, static_cast<const uint8_t*>(in) + begin * op.in_size,
                      static_cast<uint8_t*>(out) + begin, &op.requant);
        break;
      case QuantConvertOp::Kind::kDequantize:
        op.dequantize(n, static_cast<const uint8_t*>(in) + begin, static_cast<float*>(out) + begin,
                      op.scale, op.zero_point);
        break;
    }
  });
}

Status PrepareF32Binary(Context* ctx, F32BinaryKind kind, const ref::BroadcastPlan& plan,
                        int64_t a_elements, int64_t b_elements, float act_min, float act_max,
                        F32BinaryOp** op) {
  *op = nullptr;
  const uk::F32VBinaryConfig* cfg = uk::GetF32VBinaryConfig(ctx->cpu());
  if (cfg == nullptr || !ctx->use_optimized_kernels()) return Status::Ok();
  BroadcastRows rows;
  if (!PlanRows(plan, a_elements, b_elements, kind != F32BinaryKind::kSub, &rows)) {
    return Status::Ok();
  }
  F32BinaryOp* o = nullptr;
  EDGEOPT_RETURN_IF_ERROR(NewOp(ctx, &o));
  o->params.min = act_min;
  o->params.max = act_max;
  o->fn = kind == F32BinaryKind::kAdd   ? cfg->vadd
          : kind == F32BinaryKind::kSub ? cfg->vsub
                                        : cfg->vmul;
  o->rows = rows;
  *op = o;
  return Status::Ok();
}

void RunF32Binary(Context* ctx, const F32BinaryOp& op, const float* a, const float* b, float* out) {
  RunRows(
      ctx, op.rows, 4, a, b, out,
      [](const void* o, size_t n, const void* x, const void* y, bool scalar, void* z) {
        const auto* bin = static_cast<const F32BinaryOp*>(o);
        bin->fn(n, static_cast<const float*>(x), static_cast<const float*>(y), scalar,
                static_cast<float*>(z), &bin->params);
      },
      &op);
}

Status PrepareRelu(Context* ctx, const Tensor* in, const Tensor* out, float lo, float hi,
                   int32_t multiplier, int shift, int32_t act_min, int32_t act_max, ReluOp** op) {
  *op = nullptr;
  if (!ctx->use_optimized_kernels()) return Status::Ok();
  if (in->type == DType::kFloat32) {
    const uk::F32VBinaryConfig* cfg = uk::GetF32VBinaryConfig(ctx->cpu());
    if (cfg == nullptr) return Status::Ok();
    ReluOp* o = nullptr;
    EDGEOPT_RETURN_IF_ERROR(NewOp(ctx, &o));
    o->clamp = cfg->vclamp;
    o->params.min = lo;
    o->params.max = hi;
    o->n = in->dims.NumElements();
    *op = o;
    return Status::Ok();
  }
  if (!IsQ8(in->type) || in->type != out->type) return Status::Ok();
  QuantConvertOp* requant = nullptr;
  EDGEOPT_RETURN_IF_ERROR(PrepareQuantize(ctx, in, out, multiplier, shift, &requant));
  if (requant == nullptr) return Status::Ok();
  requant->requant.q.lo = act_min - out->quant.zero_point;
  requant->requant.q.hi = act_max - out->quant.zero_point;
  ReluOp* o = nullptr;
  EDGEOPT_RETURN_IF_ERROR(NewOp(ctx, &o));
  o->requant = requant;
  o->n = in->dims.NumElements();
  *op = o;
  return Status::Ok();
}

void RunRelu(Context* ctx, const ReluOp& op, const void* in, void* out) {
  if (op.requant != nullptr) {
    RunQuantConvert(ctx, *op.requant, in, out);
    return;
  }
  ParallelRange(ctx, op.n, kMinParallelElements, [&](int64_t begin, int64_t end) {
    op.clamp(static_cast<size_t>(end - begin), static_cast<const float*>(in) + begin,
             static_cast<float*>(out) + begin, &op.params);
  });
}

Status PrepareQuantMul(Context* ctx, DType type, const ref::MulParams& q,
                       const ref::BroadcastPlan& plan, int64_t a_elements, int64_t b_elements,
                       QuantMulOp** op) {
  *op = nullptr;
  const uk::QuantMulConfig* cfg = uk::GetQuantMulConfig(ctx->cpu());
  if (cfg == nullptr || !ctx->use_optimized_kernels() || !IsQ8(type)) return Status::Ok();
  BroadcastRows rows;
  if (!PlanRows(plan, a_elements, b_elements, /*swap_ok=*/true, &rows)) return Status::Ok();
  if (cfg->vmul[TypeIndex(type)] == nullptr) return Status::Ok();  // left out (configs.cc)
  QuantMulOp* o = nullptr;
  EDGEOPT_RETURN_IF_ERROR(NewOp(ctx, &o));
  uk::QS8VMulParams& p = o->params;
  UniformRequant(q.output_multiplier, q.output_shift, &p.out);
  // The kernels subtract the zero points: swapped operands swap them too.
  p.a_zero_point = rows.swap ? -q.input2_offset : -q.input1_offset;
  p.b_zero_point = rows.swap ? -q.input1_offset : -q.input2_offset;
  p.q.zero_point = q.output_offset;
  p.q.lo = q.act_min - q.output_offset;
  p.q.hi = q.act_max - q.output_offset;
  o->fn = cfg->vmul[TypeIndex(type)];
  o->rows = rows;
  *op = o;
  return Status::Ok();
}

void RunQuantMul(Context* ctx, const QuantMulOp& op, const void* a, const void* b, void* out) {
  RunRows(
      ctx, op.rows, 1, a, b, out,
      [](const void* o, size_t n, const void* x, const void* y, bool scalar, void* z) {
        const auto* mul = static_cast<const QuantMulOp*>(o);
        mul->fn(n, x, y, scalar, z, &mul->params);
      },
      &op);
}

}  // namespace rt
}  // namespace edgeopt
