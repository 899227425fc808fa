// Element-wise ops over the microkernels (quantized ADD/SUB/MUL, QUANTIZE, DEQUANTIZE; float
// ADD/SUB/MUL, RELU family): prepared once (parameters packed for the kernels), split over the
// thread pool when large enough. Each Prepare* returns nullptr in *op when no microkernel applies
// (the op keeps its reference path).
#ifndef EDGEOPT_SRC_RUNTIME_KERNELS_ELEMENTWISE_OP_H_
#define EDGEOPT_SRC_RUNTIME_KERNELS_ELEMENTWISE_OP_H_

#include <cstdint>

#include "include/edgeopt/status.h"
#include "src/runtime/kernel_api.h"
#include "src/runtime/kernels/reference/arith.h"
#include "src/runtime/kernels/reference/broadcast.h"
#include "src/runtime/kernels/ukernels/configs.h"

namespace edgeopt {
namespace rt {

// How the binary microkernels run an op: row by row (split over the threads), `a` [rows, inner];
// `b` a row of `inner` values (b_step 0: a per-channel vector), one value per row (b_scalar,
// b_step 1: a per-row statistic, as LayerNormalization's mean), or, for same shapes or a single
// value, `a`'s own rows (b_step inner) or that value (b_scalar, b_step 0).
struct BroadcastRows {
  int64_t rows = 1, inner = 0, b_step = 0;
  int64_t total = 0;      // elements of `a` (same shapes run as rows of a fixed length)
  bool b_scalar = false;  // one `b` value per row (or for the whole tensor)
  bool swap = false;      // `a` is the single value: run as b op a (ADD, MUL)
};

struct QuantAddOp {
  uk::QS8VAddParams params;
  uk::QS8VAddFn fn = nullptr;
  BroadcastRows rows;
};
// Same-shape inputs, `b` a single value, or `b` broadcast over rows (BroadcastRows); int8 or
// uint8.
Status PrepareQuantAdd(Context* ctx, DType type, const ref::AddSubParams& q, bool subtract,
                       const ref::BroadcastPlan& plan, int64_t b_elements, QuantAddOp** op);
void RunQuantAdd(Context* ctx, const QuantAddOp& op, const void* a, const void* b, void* out);

// MUL of int8/uint8: same-shape inputs, one of them a single value, or `b` broadcast over rows.
struct QuantMulOp {
  uk::QS8VMulParams params;
  uk::QS8VMulFn fn = nullptr;
  BroadcastRows rows;
};
Status PrepareQuantMul(Context* ctx, DType type, const ref::MulParams& q,
                       const ref::BroadcastPlan& plan, int64_t a_elements, int64_t b_elements,
                       QuantMulOp** op);
void RunQuantMul(Context* ctx, const QuantMulOp& op, const void* a, const void* b, void* out);

// QUANTIZE float -> int8/uint8 and between int8/uint8; DEQUANTIZE int8/uint8 -> float
// (per-tensor).
struct QuantConvertOp {
  enum class Kind : uint8_t { kQuantize, kRequantize, kDequantize } kind = Kind::kQuantize;
  uk::Q8RequantizeParams requant;
  uk::F32QuantizeParams quant;
  uk::F32QuantizeFn quantize = nullptr;
  uk::Q8RequantizeFn requantize = nullptr;
  uk::DequantizeFn dequantize = nullptr;
  float scale = 1.0f;
  int32_t zero_point = 0;
  int64_t n = 0;
  int out_size = 1;  // bytes per output element of kQuantize (2: int16)
  int in_size = 1;   // bytes per input element of kRequantize (2: int16)
};
Status PrepareQuantize(Context* ctx, const Tensor* in, const Tensor* out, int32_t multiplier,
                       int shift, QuantConvertOp** op);
Status PrepareDequantize(Context* ctx, const Tensor* in, QuantConvertOp** op);
void RunQuantConvert(Context* ctx, const QuantConvertOp& op, const void* in, void* out);

// Float ADD/SUB/MUL with the activation clamp: same-shape inputs or one of them a single value
// (for SUB only `b`).
enum class F32BinaryKind : uint8_t { kAdd, kSub, kMul };
struct F32BinaryOp {
  uk::F32MinMaxParams params;
  uk::F32VBinaryFn fn = nullptr;
  BroadcastRows rows;
};
Status PrepareF32Binary(Context* ctx, F32BinaryKind kind, const ref::BroadcastPlan& plan,
                        int64_t a_elements, int64_t b_elements, float act_min, float act_max,
                        F32BinaryOp** op);
void RunF32Binary(Context* ctx, const F32BinaryOp& op, const float* a, const float* b, float* out);

// RELU / RELU6 / RELU_N1_TO_1. Float: the clamp to [lo, hi]. int8/uint8: requantized from the
// input's to the output's parameters (multiplier, shift) and clamped to [act_min, act_max]
// (TFLite's ReluX), the QUANTIZE requantization kernel with a narrower range.
struct ReluOp {
  uk::F32MinMaxParams params;
  uk::F32VClampFn clamp = nullptr;
  QuantConvertOp* requant = nullptr;
  int64_t n = 0;
};
Status PrepareRelu(Context* ctx, const Tensor* in, const Tensor* out, float lo, float hi,
                   int32_t multiplier, int shift, int32_t act_min, int32_t act_max, ReluOp** op);
void RunRelu(Context* ctx, const ReluOp& op, const void* in, void* out);

}  // namespace rt
}  // namespace edgeopt

#endif  // EDGEOPT_SRC_RUNTIME_KERNELS_ELEMENTWISE_OP_H_
