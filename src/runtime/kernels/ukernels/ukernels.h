// Microkernel interfaces shared by every ISA (XNNPACK-style): the kernel glue packs weights once
// at Prepare into the layouts described here, and calls the microkernels that the per-op config
// tables (configs.h) picked from the CPU features.
//
// Names follow `<dtype>_<op>[_<act>]_ukernel__<isa>_u<unroll>` / `<MR>x<NR>c<KR>`:
//   qs8   int8/uint8 activations, int8 weights (per-channel), int32 accumulators
//   qd8   dynamically quantized int8 activations (hybrid), float output
//   f32   float32
//
// Integer conventions. An int8 or uint8 activation x with zero point zx enters the GEMM kernels
// as an unsigned byte u (x itself for uint8, x ^ 0x80 = x + 128 for int8) with "u-domain" zero
// point zu; weights enter as signed bytes w' with zero point zw'. The kernels compute
// acc = bias'[n] + row_term[m] + sum_k u * w' in wrapping int32 arithmetic, where
//   bias'[n]    = bias[n] - zu * sum_k w'[n][k] + K * zu * zw'      (packed at Prepare)
//   row_term[m] = -zw' * sum_k u[m][k]                                (only when zw' != 0)
// which equals the reference's sum (x - zx)(w - zw) + bias modulo 2^32, the only thing its
// output stage reads (it wraps to int32 first). Padding taps read zu.
#ifndef EDGEOPT_SRC_RUNTIME_KERNELS_UKERNELS_UKERNELS_H_
#define EDGEOPT_SRC_RUNTIME_KERNELS_UKERNELS_UKERNELS_H_

#include <cstddef>
#include <cstdint>
#include <type_traits>

namespace edgeopt {
namespace rt {
namespace uk {

// ---- Requantization (int32 accumulator -> int8/uint8) ---------------------------------------
//
// Both TFLite roundings are computed exactly with one 64-bit product p = (acc << lshift) * m:
//   SRDHM(a, m) = floor((p + 2^30) / 2^31)                       (gemmlowp, m > 0)
//   ruy x86:     floor((SRDHM + 2^(rs-1)) / 2^rs) = floor((p + 2^30 + 2^(30+rs)) / 2^(31+rs))
//   reference:   the same, minus 2^31 inside when SRDHM < 0 (ties away from zero), rs > 0
// (nested floor divisions by powers of two merge), so a kernel needs one add and one arithmetic
// shift per 64-bit lane. The per-channel constants below are laid out for 16 lanes: "even"
// arrays hold the values of channels 0, 2, ..., 14 in their 8 qwords, "odd" arrays those of
// channels 1, 3, ..., 15; mult_odd holds m[2i+1] in dword 2i.
struct alignas(64) RequantBlock16 {
  int32_t lshift[16];
  int32_t mult[16];
  int32_t mult_odd[16];
  int64_t round_even[8];
  int64_t round_odd[8];
  int64_t shift_even[8];  // 31 + rs
  int64_t shift_odd[8];
  int64_t neg_even[8];  // reference rounding: 2^31 when rs > 0, else 0
  int64_t neg_odd[8];
};
static_assert(sizeof(RequantBlock16) == 576, "RequantBlock16 layout");

// Fills `blocks` (ceil(channels / 16) of them) from per-channel (multiplier, shift) pairs as
// produced by quant::QuantizeMultiplier; channels beyond `channels` get multiplier 0.
void PackRequantBlocks(int channels, const int32_t* multiplier, const int32_t* shift,
                       RequantBlock16* blocks);

// Scalar model of the packed requantization (what every SIMD kernel computes), for tests.
int32_t RequantizeScalar(int32_t acc, const RequantBlock16& block, int lane, bool ruy_rounding);

// Per-layer output parameters of the quantized kernels.
struct QuantOutput {
  int32_t zero_point = 0;
  int32_t lo = 0;  // act_min - zero_point
  int32_t hi = 0;  // act_max - zero_point
};

// ---- qs8 GEMM / IGEMM -------------------------------------------------------------------------
//
// Packed weights, per block of NR output channels (NR a multiple of 16):
//   int32_t bias'[NR]
//   w[taps][kcp / 4][NR][4]      kcp = round_up(kc, 4); padded k and channels are 0;
//                                int8, or int16 (wbytes = 2) for kernels without VNNI
//   RequantBlock16 requant[NR / 16]
inline size_t QS8PackedBlockBytes(int nr, int taps, int kcp, int wbytes = 1) {
  return static_cast<size_t>(nr) * 4 + static_cast<size_t>(taps) * kcp * nr * wbytes +
         static_cast<size_t>(nr / 16) * sizeof(RequantBlock16);
}

// C[m][n] for m < mr, n < nc (C rows `c_stride` bytes apart) of one block of packed weights.
// `a` holds MR * taps pointers (row-major): a[i * taps + t] points at kcp bytes of row i for
// tap t; rows mr..MR-1 must hold valid pointers too (their results are discarded). row_term is
// MR int32 values or null.
struct QS8IGemmArgs {
  int mr;
  int nc;
  int kcp;
  int taps;
  const uint8_t* const* a;
  const void* w;
  int8_t* c;
  ptrdiff_t c_stride;
  const int32_t* row_term;
  const QuantOutput* out;
};
using QS8IGemmFn = void (*)(const QS8IGemmArgs& args);

// ---- qs8 depthwise ------------------------------------------------------------------------
//
// Packed weights, per block of 16 channels:
//   int32_t bias'[16]                      bias - zx * sum_t w'[t]
//   int32_t w[taps][16]                    w' = w - zw in the low 16 bits, 0 in the high 16
//   RequantBlock16 requant
// Rounding: TFLite's reference (ties away from zero), as its depthwise kernels.
inline size_t QS8DwPackedBlockBytes(int taps) {
  return 64 + static_cast<size_t>(taps) * 64 + sizeof(RequantBlock16);
}
// One row segment: output pixel p reads its `taps` input pixels (at their first channel)
// through input[p * input_step + t], t = fx * kh + fy (consecutive pixels of a row share
// columns: input_step = stride_w * kh when there is no dilation). Outputs are `channels`
// contiguous values per pixel, pixels `out_stride` elements apart.
struct QS8DwArgs {
  int channels;
  int width;
  int taps;
  int input_step;
  const void* const* input;
  const void* w;
  void* out;
  ptrdiff_t out_stride;
  const QuantOutput* q;
};
using QS8DwFn = void (*)(const QS8DwArgs& args);

// ---- f32 GEMM / IGEMM ---------------------------------------------------------------------
//
// Packed weights, per block of NR output channels: float bias[NR], float w[taps][kc][NR].
inline size_t F32PackedBlockBytes(int nr, int taps, int kc) {
  return (static_cast<size_t>(nr) + static_cast<size_t>(taps) * kc * nr) * sizeof(float);
}
struct F32IGemmArgs {
  int mr;
  int nc;
  int kc;
  int taps;
  const float* const* a;  // taps * MR pointers, as QS8IGemmArgs
  const float* w;         // the block (bias first)
  float* c;
  ptrdiff_t c_stride;  // in floats
  float min, max;
  bool has_bias;  // exact GEMV only: the reference adds no bias when there is none
};
using F32IGemmFn = void (*)(const F32IGemmArgs& args);

// ---- f32 pointwise convolution to few output channels ----------------------------------------
// A 1x1 convolution (or the rows of a FULLY_CONNECTED) to n <= 4 channels, the output layer of a
// segmentation or regression head. An IGEMM tile of 8 or 16 channels would compute mostly
// padding; these kernels instead put the input channels in the vector lanes: each output value
// is a dot product of a pixel's k values with a filter row, the vectors of 8 (or 16) output
// values summed across lanes at the end.
//   c[p * n + j] = clamp(bias[j] + sum_k a[p * a_stride + k] * w[j][k])
// Sums in a different order from the reference (lane by lane, then pairwise): not for
// exact_float(). The weights are the filter as TFLite stores it ([out_c][1][1][in_c]): no packing.
struct F32PwFewArgs {
  size_t pixels;
  int k;
  int n;               // 1 to 4
  const float* a;      // pixel rows `a_stride` floats apart
  ptrdiff_t a_stride;  // >= k
  const float* w;      // [n][k]
  const float* bias;   // [n], or null
  float* c;            // pixels x n, contiguous
  float min, max;
};
using F32PwFewFn = void (*)(const F32PwFewArgs& args);

// ---- s16 GEMM (16x8 convolutions) ---------------------------------------------------------
// C[m][n] = sum_k A[m][k] * B[n][k] with int16 A (rows lda apart) and B (int8 weights widened
// at Prepare), int32 C (rows ldc apart). B is laid out as S16GemmConfig::nr says: rows K apart
// (nr 0), or packed (PackS16Weights). Exact only if no partial sum can overflow int32: the
// caller checks 32768 * max_n sum_k |B[n][k]| < 2^31.
using S16GemmFn = void (*)(int M, int N, int K, const int16_t* a, ptrdiff_t lda, const int16_t* b,
                           int32_t* c, ptrdiff_t ldc);
// The 16x8 output stage with TFLite's int64 multiplier (ref::MultiplyInt64), per output channel
// n: v = wrap32((x * reduced[n] + round[n]) >> shift[n]) with x = acc + bias[n] (wrapping int64
// arithmetic), then + zero point, clamped to [lo, hi] (int64), stored as int16.
struct S16RequantArgs {
  int count;
  int channels;
  const int32_t* acc;  // count rows of `channels` sums
  const int64_t* bias;
  const int64_t* reduced;
  const int64_t* round;
  const int64_t* shift;
  int32_t zero_point, lo, hi;
  int16_t* out;
  ptrdiff_t out_stride;
};
using S16RequantFn = void (*)(const S16RequantArgs& args);
// The same output stage where every acc + bias fits in int32 (PrepareS16Gemm checks the bound
// per channel): x = acc + bias[n] in int32, then v = wrap32((x * reduced[n] + 2^(shift[n]-1))
// >> shift[n]) with shift[n] in [1, 46], + zero point, clamped to [lo, hi]. A 32x32-bit multiply
// per value, where the int64 form needs a 64-bit one.
struct S16RequantNarrowArgs {
  int count;
  int channels;
  const int32_t* acc;  // count rows of `channels` sums
  const int32_t* bias;
  const int32_t* reduced;
  const int32_t* shift;
  int32_t zero_point, lo, hi;  // lo - zero_point and hi - zero_point fit in int32
  int16_t* out;
  ptrdiff_t out_stride;
};
using S16RequantNarrowFn = void (*)(const S16RequantNarrowArgs& args);
// The int8 output stage of exact int32 sums with TFLite's reference rounding (ties away from
// zero; the int8 TRANSPOSE_CONV's): c[i][n] = clamp(requantize(wrap32(acc[i][n] + bias[n])), lo,
// hi) + zero point for i < count, n < channels; rq: ceil(channels / 16) blocks
// (PackRequantBlocks); bias may be null.
struct QS8RequantRowsArgs {
  int count;
  int channels;
  const int32_t* acc;  // count rows `acc_stride` apart
  ptrdiff_t acc_stride;
  const int32_t* bias;
  const RequantBlock16* rq;
  QuantOutput out;
  int8_t* c;  // count rows `c_stride` apart
  ptrdiff_t c_stride;
};
using QS8RequantRowsFn = void (*)(const QS8RequantRowsArgs& args);

// ---- RESIZE_BILINEAR int8, separable (resize.cc) -----------------------------------------
// Output column x reads input columns lo and hi: float a[lo] * (1 - frac) + a[hi] * frac; integer
// a[lo] * (1024 - w1) + a[hi] * w1, with w1 in [-512, 1023] (half-pixel centers put the first
// columns before the image).
struct ResizeTap {
  int32_t lo = 0, hi = 0, w1 = 0;
  float frac = 0.0f;
};
// One input row interpolated along x: h[x][c] = src[lo][c] * (1024 - w1) + src[hi][c] * w1 for
// x < width (taps[x]), c < depth.
using ResizeRowS8Fn = void (*)(const int8_t* src, int depth, int width, const ResizeTap* taps,
                               int32_t* h);
// Two such rows mixed along y: out[i] = (top[i] * (1024 - w1) + bottom[i] * w1) / 2^20 rounded
// to nearest, ties away from zero, for i < n.
using ResizeMixS8Fn = void (*)(size_t n, const int32_t* top, const int32_t* bottom, int32_t w1,
                               int8_t* out);

// ---- f32 direct 3x3 convolution, stride S (one block of NR <= 32 output channels) ------------
// Packed weights: float bias[NR], then w[fy][c][fx][NR] (channels beyond out_c are 0).
// rows[fy] points at the input row of filter row fy, at the pixel under the tile's first
// window's left column, in a buffer whose rows hold S * (MR - 1) + 3 readable pixels from there
// (padding is zeros in the buffer). Writes out[i][n] for i < mr, n < nc, rows `out_stride` floats
// apart.
inline size_t F32Conv3x3PackedBytes(int nr, int channels) {
  return (static_cast<size_t>(nr) + static_cast<size_t>(9) * channels * nr) * sizeof(float);
}
struct F32Conv3x3Args {
  int mr;
  int nc;
  int channels;
  const float* rows[3];
  const float* w;
  float* out;
  ptrdiff_t out_stride;  // in floats
  float min, max;
};
using F32Conv3x3Fn = void (*)(const F32Conv3x3Args& args);

// qd8 (hybrid) depthwise: int8 input quantized at run time (zero point zp, scale s), int8
// weights. Packed per 16 channels: int32 unused[16], int32 w[taps][16] (as qs8).
// out = clamp((float(acc) * input_scale) * filter_scale[c] + bias[c]) with
// acc = col_term[c] + sum_t x * w (col_term = -zp * sum_t w), the reference's operations.
inline size_t QD8DwPackedBlockBytes(int taps) { return 64 + static_cast<size_t>(taps) * 64; }
struct QD8DwArgs {
  int channels;
  int width;
  int taps;
  int input_step;
  const int8_t* const* input;
  const void* w;
  float* out;
  ptrdiff_t out_stride;
  const int32_t* col_term;
  float input_scale;
  const float* filter_scale;
  const float* bias;  // or null
  float min, max;
};
using QD8DwFn = void (*)(const QD8DwArgs& args);

// ---- f32 depthwise ------------------------------------------------------------------------
// Packed weights, per block of 16 channels: float bias[16], float w[taps][16]. The result is
// bit-identical to ref::DepthwiseConvF32 (bias first, taps row-major, no FMA): float models
// with hybrid layers depend on it (see Context::exact_float).
inline size_t F32DwPackedBlockBytes(int taps) { return (16 + static_cast<size_t>(taps) * 16) * 4; }
struct F32DwArgs {
  int channels;
  int width;
  int taps;
  int kh;  // filter height (taps / kh = filter width)
  int input_step;
  const float* const* input;
  const float* w;
  float* out;
  ptrdiff_t out_stride;
  float min, max;
};
using F32DwFn = void (*)(const F32DwArgs& args);

// ---- qd8 (hybrid) GEMM: int8 weights, dynamically quantized input, float output ----------
// Same packed layout as qs8 with bias' = -128 * sum_k w (the u = q + 128 shift) and no requant
// blocks. out[m][n] = clamp(float(acc + col_term[n]) * scale[n] + bias[n]) with col_term,
// scale and bias per call (they depend on the input's run-time quantization).
inline size_t QD8PackedBlockBytes(int nr, int taps, int kcp, int wbytes = 1) {
  return static_cast<size_t>(nr) * 4 + static_cast<size_t>(taps) * kcp * nr * wbytes;
}
struct QD8IGemmArgs {
  int mr;
  int nc;
  int kcp;
  int taps;
  const uint8_t* const* a;
  const void* w;
  float* c;
  ptrdiff_t c_stride;       // in floats
  const int32_t* col_term;  // [nc], -(zp + 128) * sum_k w - ... (see qd8_conv)
  const float* scale;       // [nc]
  const float* bias;        // [nc] or null
  float min, max;
};
using QD8IGemmFn = void (*)(const QD8IGemmArgs& args);

// ---- Quantized element-wise ops ---------------------------------------------------------
// ADD/SUB of int8/uint8 with TFLite's integer semantics (ref::QuantAddSub): each input minus
// its zero point, shifted left by 20, rescaled (reference rounding), summed, rescaled to the
// output. The three rescales are RequantBlock16s with the same value in every lane.
struct QS8VAddParams {
  RequantBlock16 a, b, out;
  int32_t a_zero_point = 0, b_zero_point = 0;
  int32_t left_shift = 20;
  bool subtract = false;
  QuantOutput q;
};
// out[i] = a[i] op b[i] for n elements; with b_scalar, b[0] for every i.
using QS8VAddFn = void (*)(size_t n, const void* a, const void* b, bool b_scalar, void* out,
                           const QS8VAddParams* p);

// MUL of int8/uint8 (ref::QuantMul): (a - za) * (b - zb) rescaled with the reference rounding,
// plus the output zero point, clamped. `out` has the same value in every lane.
struct QS8VMulParams {
  RequantBlock16 out;
  int32_t a_zero_point = 0, b_zero_point = 0;
  QuantOutput q;
};
// out[i] = a[i] * b[i] for n elements; with b_scalar, b[0] for every i. In place ok.
using QS8VMulFn = void (*)(size_t n, const void* a, const void* b, bool b_scalar, void* out,
                           const QS8VMulParams* p);

// QUANTIZE float -> int8/uint8: clamp(round(x / scale) + zero_point), round half away from
// zero of the exact quotient (as the reference's double division).
struct F32QuantizeParams {
  float scale = 1.0f;
  float inv_scale = 1.0f;
  int32_t zero_point = 0;
  int32_t qmin = -128, qmax = 127;
};
using F32QuantizeFn = void (*)(size_t n, const float* x, void* out, const F32QuantizeParams* p);
// QUANTIZE between int8 and uint8, or int16 -> int8: MultiplyByQuantizedMultiplier(x - zin, m,
// s) + zout, clamped (ref rounding). `rq` has the same multiplier in every lane.
struct Q8RequantizeParams {
  RequantBlock16 rq;
  int32_t input_zero_point = 0;
  QuantOutput q;  // lo/hi: the output type's range minus its zero point
};
using Q8RequantizeFn = void (*)(size_t n, const void* x, void* out, const Q8RequantizeParams* p);
// DEQUANTIZE int8/uint8 -> float: scale * (x - zero_point).
using DequantizeFn = void (*)(size_t n, const void* x, float* out, float scale, int32_t zero_point);

// ---- f32 element-wise binary ops ----------------------------------------------------------
// out[i] = min(max(a[i] op b[i], lo), hi), op one of +, -, *; with b_scalar, b[0] for every i.
// The clamp is the reference's std::min(hi, std::max(lo, v)) (a NaN gives lo), so results are
// bit-identical. `out` may be `a` or `b` (in place).
struct F32MinMaxParams {
  float min = 0.0f;
  float max = 0.0f;
};
using F32VBinaryFn = void (*)(size_t n, const float* a, const float* b, bool b_scalar, float* out,
                              const F32MinMaxParams* p);
// out[i] = min(max(x[i], lo), hi) with the same clamp (RELU, RELU6, RELU_N1_TO_1); in place ok.
using F32VClampFn = void (*)(size_t n, const float* x, float* out, const F32MinMaxParams* p);

// ---- Pooling ------------------------------------------------------------------------------
// Output pixels of MAX_POOL_2D / AVERAGE_POOL_2D: each of `channels` channels reduced over a
// clipped window of rows x cols input pixels (element (fy, fx, c) at in[fy * row_stride +
// fx * channels + c]), as the reference: max from the type's lowest value (float: v > acc), the
// average of floats summed row by row then divided by the count (0 for an empty window), the
// average of int8/uint8 raw values rounded half away from zero; then the activation clamp.
struct PoolArgs {
  int channels;
  int rows, cols;
  ptrdiff_t row_stride;  // elements
  const void* in;
  void* out;
  // Output pixels of the call: `pixels` consecutive ones, their windows `in_step` elements apart
  // (stride_w * channels), each of rows x cols pixels.
  int pixels = 1;
  ptrdiff_t in_step = 0;
  float fmin, fmax;    // float clamp
  int32_t qmin, qmax;  // int8/uint8 clamp (raw values)
};
using PoolFn = void (*)(const PoolArgs& args);

// Pooling microkernels compile fixed paths for square windows of 2 and 3 (the common MAX_POOL
// windows): fn(std::integral_constant<int, k>()) with k the window's size, or 0 for another
// window (its size then read from PoolArgs at run time).
template <typename F>
inline void WithPoolWindow(const PoolArgs& p, F&& fn) {
  if (p.rows == 2 && p.cols == 2) {
    fn(std::integral_constant<int, 2>());
  } else if (p.rows == 3 && p.cols == 3) {
    fn(std::integral_constant<int, 3>());
  } else {
    fn(std::integral_constant<int, 0>());
  }
}

// ---- Run-time quantization of hybrid ops' float inputs ------------------------------------
// *min / *max over x[0, n) starting from init_min / init_max, as the reference's loops
// (std::min(acc, v) keeps acc unless v < acc: a NaN never enters, a NaN init stays).
using F32RangeFn = void (*)(size_t n, const float* x, float init_min, float init_max, float* min,
                            float* max);
// q[i] = clamp(round(zero_point + x[i] * inverse), qmin, 127): a float multiply, then a float
// add, rounded half away from zero; a NaN gives qmin (ref::QuantizeFloatsRow).
using F32QD8QuantizeFn = void (*)(size_t n, const float* x, int8_t* q, float inverse,
                                  float zero_point, float qmin);

// ---- Element-wise helpers -----------------------------------------------------------------
// dst[i] = src[i] ^ 0x80 for n bytes (int8 -> "u" domain).
using XorCopyFn = void (*)(const int8_t* src, uint8_t* dst, size_t n);
// sums[p] = sum of the `channels` bytes of each of `pixels` rows `stride` bytes apart.
using RowSumFn = void (*)(const uint8_t* src, int pixels, int channels, ptrdiff_t stride,
                          int32_t* sums);

}  // namespace uk
}  // namespace rt
}  // namespace edgeopt

#endif  // EDGEOPT_SRC_RUNTIME_KERNELS_UKERNELS_UKERNELS_H_
