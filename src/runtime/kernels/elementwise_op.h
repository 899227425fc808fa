// Quantized element-wise ops over the microkernels (ADD/SUB, QUANTIZE, DEQUANTIZE): prepared
// once (parameters packed for the kernels), split over the thread pool when large enough.
// Each Prepare* returns nullptr in *op when no microkernel applies (the op keeps its
// reference path).
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

struct QuantAddOp {
  uk::QS8VAddParams params;
  uk::QS8VAddFn fn = nullptr;
  bool b_scalar = false;
  int64_t n = 0;
};
// Same-shape inputs, or `b` a single value; int8 or uint8.
Status PrepareQuantAdd(Context* ctx, DType type, const ref::AddSubParams& q, bool subtract,
                       const ref::BroadcastPlan& plan, int64_t b_elements, QuantAddOp** op);
void RunQuantAdd(Context* ctx, const QuantAddOp& op, const void* a, const void* b, void* out);

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
};
Status PrepareQuantize(Context* ctx, const Tensor* in, const Tensor* out, int32_t multiplier,
                       int shift, QuantConvertOp** op);
Status PrepareDequantize(Context* ctx, const Tensor* in, QuantConvertOp** op);
void RunQuantConvert(Context* ctx, const QuantConvertOp& op, const void* in, void* out);

}  // namespace rt
}  // namespace edgeopt

#endif  // EDGEOPT_SRC_RUNTIME_KERNELS_ELEMENTWISE_OP_H_
