// Activations, SOFTMAX and MEAN over the vunary.h microkernels: prepared once, element-wise
// ones split over the thread pool when large. Each Prepare* leaves *op null when no microkernel
// applies (the op keeps its reference path).
//  - float RELU family (where F32VBinaryConfig has no clamp), LEAKY_RELU, HARD_SWISH: the
//    reference's float operations (identical results);
//  - float LOGISTIC, TANH, SOFTMAX: a polynomial exp (a few ULP from libm); with
//    Context::exact_float, LOGISTIC and TANH with libm's bits (uk::GetLibmExactVUnary) where
//    that is available, SOFTMAX its reference;
//  - 8-bit tables (LOGISTIC, TANH, and HARD_SWISH / LEAKY_RELU with tables built from their
//    reference kernels: identical results);
//  - MEAN / SUM sums over axes that make the input [outer, reduce, inner], inner > 1: the
//    reference's summation order per output (identical results).
#ifndef EDGEOPT_SRC_RUNTIME_KERNELS_ACTIVATION_OP_H_
#define EDGEOPT_SRC_RUNTIME_KERNELS_ACTIVATION_OP_H_

#include <cstdint>

#include "include/edgeopt/status.h"
#include "src/runtime/kernel_api.h"
#include "src/runtime/kernels/ukernels/vunary.h"

namespace edgeopt {
namespace rt {

enum class F32UnaryKind : uint8_t { kClamp, kLeakyRelu, kHardSwish, kLogistic, kTanh };
struct F32UnaryOp {
  uk::F32UnaryParams params;
  uk::F32VUnaryFn fn = nullptr;
  int64_t n = 0;
};
// `p`: min/max for kClamp, alpha for kLeakyRelu.
Status PrepareF32Unary(Context* ctx, F32UnaryKind kind, const Tensor* in,
                       const uk::F32UnaryParams& p, F32UnaryOp** op);
void RunF32Unary(Context* ctx, const F32UnaryOp& op, const void* in, void* out);

// out[i] = table[in[i]] for int8/uint8 tensors; `table` must outlive the op.
struct LutOp {
  uk::X8LutFn fn = nullptr;
  const uint8_t* table = nullptr;
  int64_t n = 0;
};
Status PrepareLut(Context* ctx, const Tensor* in, const uint8_t* table, LutOp** op);
void RunLut(Context* ctx, const LutOp& op, const void* in, void* out);

// table[b] = what `reference(in, out)` writes for the input byte b: the reference kernel run on
// a 256-element copy of `in` holding every value (with in's and out's quantization).
template <typename F>
void LutFromReference(const Tensor* in, const Tensor* out, uint8_t* table, F reference) {
  uint8_t values[256];
  for (int i = 0; i < 256; ++i) values[i] = static_cast<uint8_t>(i);
  Tensor all_in = *in, all_out = *out;
  all_in.dims = MakeDims({256});
  all_out.dims = all_in.dims;
  all_in.data = values;
  all_out.data = table;
  all_in.bytes = all_out.bytes = 256;
  reference(&all_in, &all_out);
}

// Float SOFTMAX over rows of `depth` (beta > 0).
struct F32SoftmaxOp {
  const uk::VUnaryConfig* cfg = nullptr;
  float beta = 1.0f;
};
Status PrepareF32Softmax(Context* ctx, const Tensor* in, float beta, F32SoftmaxOp** op);
void RunF32Softmax(const F32SoftmaxOp& op, const float* in, int64_t rows, int64_t depth,
                   float* out);

// Sums of MEAN / SUM: float (float sums) or int8/uint8 (int32 sums of the raw values).
struct ReduceSumOp {
  uk::F32RowAccFn f32 = nullptr;
  uk::X8RowAccFn x8 = nullptr;
  int64_t outer = 0, reduce = 0, inner = 0;
  // inner == 1 (the last axes reduced, as LayerNormalization's MEANs): a sum per row of `reduce`
  // contiguous values, in a register (float in the reference's order).
  DType type = DType::kFloat32;
};
// `reduced[d]`: whether input dimension d is reduced.
Status PrepareReduceSum(Context* ctx, const Tensor* in, const bool* reduced, ReduceSumOp** op);
// sums[outer * inner]: zeroed, then the sums.
void RunReduceSum(const ReduceSumOp& op, const void* in, void* sums);

}  // namespace rt
}  // namespace edgeopt

#endif  // EDGEOPT_SRC_RUNTIME_KERNELS_ACTIVATION_OP_H_
