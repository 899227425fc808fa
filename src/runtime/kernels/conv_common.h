// Prepare-time helpers shared by CONV_2D, DEPTHWISE_CONV_2D, FULLY_CONNECTED, TRANSPOSE_CONV and
// BATCH_MATMUL: quantization checks, per-channel multipliers, activation ranges, bias terms,
// scratch sizing. Nothing here runs in Eval.
#ifndef EDGEOPT_SRC_RUNTIME_KERNELS_CONV_COMMON_H_
#define EDGEOPT_SRC_RUNTIME_KERNELS_CONV_COMMON_H_

#include <cstdint>

#include "include/edgeopt/status.h"
#include "src/runtime/kernel_api.h"
#include "src/runtime/kernels/reference/requantize.h"
#include "src/runtime/kernels/ukernels/configs.h"
#include "src/runtime/tensor.h"

namespace edgeopt {
namespace rt {

// Scratch blocks (im2col etc.) are sized to stay near this many bytes.
constexpr int64_t kConvScratchTarget = 256 * 1024;

// Typed persistent allocation (Init/Prepare only); kOutOfMemory on failure.
template <typename T>
Status AllocatePersistentArray(Context* ctx, int64_t n, T** out) {
  *out = static_cast<T*>(ctx->AllocatePersistent(static_cast<size_t>(n > 0 ? n : 1) * sizeof(T)));
  EDGEOPT_ENSURE(*out != nullptr, StatusCode::kOutOfMemory,
                 "out of memory allocating %lld elements of op data", static_cast<long long>(n));
  return Status::Ok();
}

// Scratch request of n elements of T (at least one byte, so the index is always valid).
template <typename T>
Status RequestScratchArray(Context* ctx, int64_t n, int* index) {
  return ctx->RequestScratch(static_cast<size_t>(n > 0 ? n : 1) * sizeof(T), index);
}

// Range of a quantized type (int8, uint8, int16).
int32_t QuantizedMin(DType type);
int32_t QuantizedMax(DType type);

// `t` must exist, have a rank in [min_rank, max_rank] and no dimension of size 0 or less unless
// allow_empty.
Status CheckRank(const Tensor* t, const char* what, int min_rank, int max_rank);

// The weights a kernel should read: `t` itself, or, for a sparse constant (TFLite's sparsity
// encoding: traversal order, block map, DENSE / SPARSE_CSR dimensions), a dense copy decoded into
// persistent memory and described by `*dense` (every index of the encoding is checked).
Status DensifyIfSparse(Context* ctx, const Tensor* t, const char* what, Tensor* dense,
                       const Tensor** use);
// Decodes the sparse constant `t` into `dense` (dims.NumElements() elements of its type),
// with the same checks (the DENSIFY op).
Status DecodeSparse(const Tensor* t, const char* what, void* dense);

// Per-tensor activation quantization of an int8/uint8/int16 tensor: a finite scale > 0, a zero
// point inside the type's range (0 for int16).
Status CheckActivationQuantization(const Tensor* t, const char* what);

// Weight quantization of an int8/uint8 filter: 1 scale, or one per output channel along
// `channel_axis`; every scale finite and > 0. int8 weights must be symmetric (zero point 0) unless
// allow_int8_zero_point.
Status CheckFilterQuantization(const Tensor* filter, int channel_axis, int channels,
                               bool allow_int8_zero_point);

// Only NONE, RELU, RELU_N1_TO_1, RELU6 clamp; TFLite's builtin conv/fc kernels ignore the other
// fused activations (TANH, SIGN_BIT), and so do we (see the kernels' tests).
int FusedActivation(tflite::ActivationFunctionType activation);
void FloatActivationRange(int activation, float* act_min, float* act_max);
void QuantizedActivationRange(int activation, const Tensor* output, int32_t* act_min,
                              int32_t* act_max);

// Per-output-channel multipliers: m_c = input_scale * filter_scale_c / output_scale (double
// arithmetic, as TFLite's PopulateConvolutionQuantizationParams). legacy_float_product: the product
// input_scale * filter_scale is taken in float first (TFLite's per-tensor
// GetQuantizedConvolutionMultipler, used for uint8 and by FULLY_CONNECTED). Fails for a multiplier
// that cannot be represented (not finite, or >= 2^max_log2).
Status ComputeOutputMultipliers(Context* ctx, const Tensor* input, const Tensor* filter,
                                const Tensor* output, int channels, bool legacy_float_product,
                                int max_log2, int32_t** multipliers, int32_t** shifts);

// TFLite's check that the bias scale equals input_scale * filter_scale (to 2% of the output scale),
// for per-tensor quantized FULLY_CONNECTED and uint8 CONV_2D.
Status CheckBiasScale(const Tensor* input, const Tensor* filter, const Tensor* bias,
                      const Tensor* output);

// Bias type for quantized ops: int32 for int8/uint8 inputs; int64 (or int32) for int16; and
// `channels` elements.
Status CheckQuantizedBias(const Tensor* bias, DType input_type, int64_t channels);
Status CheckFloatBias(const Tensor* bias, int64_t channels);

// The window options of CONV_2D, DEPTHWISE_CONV_2D and TRANSPOSE_CONV: padding SAME or VALID
// (a tflite::Padding value), strides in [1, 2^24], dilation factors >= 1 (1 for ops without).
Status CheckWindowOptions(int padding, int stride_h, int stride_w, int dilation_h = 1,
                          int dilation_w = 1);

// The output size and padding of a convolution from its input, filter, strides and dilation
// (CONV_2D, DEPTHWISE_CONV_2D): out_h, out_w, pad_top, pad_left. Refuses dilated filters over
// 2^24 and outputs of no pixels (a VALID filter larger than the input).
struct WindowPlacement {
  int out_h = 0, out_w = 0, pad_top = 0, pad_left = 0;
};
Status PlaceWindows(int padding, int in_h, int in_w, int filter_h, int filter_w, int stride_h,
                    int stride_w, int dilation_h, int dilation_w, WindowPlacement* out);
// The same on a geometry (ref::ConvGeometry, ref::DepthwiseGeometry), which it completes.
template <typename Geometry>
Status PlaceWindows(int padding, Geometry* g) {
  WindowPlacement w;
  EDGEOPT_RETURN_IF_ERROR(PlaceWindows(padding, g->in_h, g->in_w, g->filter_h, g->filter_w,
                                       g->stride_h, g->stride_w, g->dilation_h, g->dilation_w, &w));
  g->out_h = w.out_h;
  g->out_w = w.out_w;
  g->pad_top = w.pad_top;
  g->pad_left = w.pad_left;
  return Status::Ok();
}

// bias_term[oc] = bias[oc] - zx * sum_k w[oc][k] + K * zx * zw (int64). `filter` rows are
// [channels][K] of int8/uint8 data; bias (int32/int64) may be null.
Status ComputeBiasTerms(Context* ctx, const Tensor* bias, const Tensor* filter, int channels,
                        int64_t K, int32_t input_zero_point, int32_t filter_zero_point,
                        int64_t** bias_term);

// Sums of each int8 filter row [channels][K] (the hybrid kernels' zero-point correction).
Status ComputeRowSums(Context* ctx, const int8_t* filter, int channels, int64_t K, int32_t** sums);

// True when K products of |a| <= max_a and |b| <= max_b, summed, always fit in int32.
bool Int32AccumulatorSafe(int64_t K, int64_t max_a, int64_t max_b);

// 16x8 (CONV_2D, FULLY_CONNECTED) on the s16 GEMM microkernel.
struct S16Gemm {
  const uk::S16GemmConfig* cfg = nullptr;
  int16_t* weights = nullptr;  // the int8 weights widened, [rows][kp], zeros after K
  int64_t kp = 0;              // K, or K rounded up (see PrepareS16Gemm)
  // Per channel constants of the vectorized output stage (int64 rounding only; else null).
  int64_t* reduced = nullptr;
  int64_t* round = nullptr;
  int64_t* shift = nullptr;
  // The narrow output stage's (S16RequantNarrowArgs) int32 constants, when the config has one
  // and every channel's |acc| bound + |bias term| fits in int32; else null.
  int32_t* bias32 = nullptr;
  int32_t* reduced32 = nullptr;
  int32_t* shift32 = nullptr;
};

// Fills *s16 when the CPU has the microkernel and no int32 partial sum can overflow (|x| <=
// 32768, so each of the `rows` weight rows of K values must have sum |w| < 2^16); else it stays
// empty and the op keeps its int64 reference path. `stage` holds the output multipliers.
// Weights go in the config's layout: packed (S16GemmConfig::nr > 0; kp = K), or rows. With rows
// and pad_k, rows of K are padded with zeros to a multiple of kS16PadK (the caller lays out its
// input rows kp apart, zeros after K): the row kernel's dot product runs in whole vectors,
// where a short K (a 3x3 filter over one channel: 9) would run in its scalar tail.
// `bias_term` (ComputeBiasTerms, [rows]) decides whether the narrow output stage fits
// (S16NarrowRowFits).
constexpr int64_t kS16PadK = 16;
Status PrepareS16Gemm(Context* ctx, const int8_t* weights, int rows, int64_t K,
                      const int64_t* bias_term, const ref::OutputStage& stage, S16Gemm* s16,
                      bool pad_k = false);

// True when every |acc + bias_term| of one s16 GEMM row fits in int32 (|acc| <= 32768 *
// abs_weight_sum, the row's sum_k |w[k]|); the narrow output stage (uk::S16RequantNarrowArgs)
// is exact when every row fits.
bool S16NarrowRowFits(int64_t abs_weight_sum, int64_t bias_term);

// The reference 16x8 output stage on int32 sums: out[i][n] = requantize(acc[i][n] +
// bias_term[n]) for i < count, n < channels (acc rows `channels` apart, out rows `out_stride`).
void S16OutputStage(const S16Gemm& s16, const int32_t* acc, int count, int channels,
                    const int64_t* bias_term, const ref::OutputStage& stage, int16_t* out,
                    int64_t out_stride);

// "float32", "int8", ... of a tensor for messages.
const char* TypeName(const Tensor* t);

}  // namespace rt
}  // namespace edgeopt

#endif  // EDGEOPT_SRC_RUNTIME_KERNELS_CONV_COMMON_H_
