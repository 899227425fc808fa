// Microkernels of the sparse FULLY_CONNECTED / 1x1 CONV_2D kernels (sparse_matmul.h), for the
// weight forms of reference/sparse_gemm.h:
//
//  - f32_spmv_minmax: rows of A one at a time; each output is a sum over the row's 1xB blocks
//    (B = 16: one vector FMA per block; B = 4: a 128-bit FMA; B = 1: gathers of 16 / 8
//    inputs). For few rows (a batch of 1 .. a few).
//  - f32_spmm_minmax_MR: MR rows of A at a time, transposed into a packed panel [K][MR]; every
//    stored weight is one broadcast FMA into MR outputs. For many rows (1x1 convolutions, large
//    batches). scratch: K * MR + N * MR floats.
//  - qs8_spmv: int8 rows one at a time, exact int32 sums (madd of sign-extended int16).
//  - qs8_spmm_MR: MR int8 rows at a time over the pair form (two weights per 32-bit word,
//    inputs packed as int16 pairs [ceil(K / 2)][MR][2]; one madd per stored pair).
//    scratch: ceil(K / 2) * MR * 2 int16 + N * MR int32.
//  - qs8_spmm_quads_MR (AVX-512 VNNI): MR int8 rows at a time over the quad form (four
//    consecutive weights of a row in one 32-bit word, the 1x4 blocks of block-pruned weights);
//    inputs enter the unsigned domain (x + 128) and are packed [ceil(K / 4)][MR][4]; one
//    vpdpbusd per stored quad, then 128 * (the row's weight sum) is taken off. The sums come
//    out per tile, channel-major: tile t (rows 16 t .. 16 t + 15) at acc + t * N * MR, as
//    [N][MR]. scratch: ceil(K / 4) * MR * 4 bytes. qs8_spmm_quads_requant_MR: the same sums
//    through the int8 output stage (ruy's rounding), in registers: each tile's [N][16] sums
//    are transposed 16 channels at a time and requantized as the dense kernels do; two tiles
//    (32 rows) per pass over the weights. scratch: 2 panels, then 2 * N * MR int32.
//  - f32_spconv_minmax_LANES: a KxK stride-1 float convolution with sparse filters
//    (sparse_conv.h) over a padded channel-major copy of the input: every stored tap is one
//    broadcast FMA into LANES output lanes (consecutive positions of the padded output grid),
//    read straight from the input at the tap's offset; no im2col, no panel.
//
// All of them compute exactly what the reference functions compute, except for the order of
// float additions.
#ifndef EDGEOPT_SRC_RUNTIME_KERNELS_UKERNELS_SPARSE_UKERNELS_H_
#define EDGEOPT_SRC_RUNTIME_KERNELS_UKERNELS_SPARSE_UKERNELS_H_

#include <cstdint>
#include <type_traits>

#include "src/runtime/kernels/reference/sparse_gemm.h"
#include "src/runtime/kernels/ukernels/ukernels.h"

namespace edgeopt {
namespace rt {

// The float kernels compile one path per block width: fn(std::integral_constant<int, B>()) for
// B = 16, 4 or 1; false (fn not called) for another width, which the reference then runs.
template <typename F>
inline bool WithSparseBlock(int block, F&& fn) {
  switch (block) {
    case 16:
      fn(std::integral_constant<int, 16>());
      return true;
    case 4:
      fn(std::integral_constant<int, 4>());
      return true;
    case 1:
      fn(std::integral_constant<int, 1>());
      return true;
    default:
      return false;
  }
}

// Pairs of int8 weights packed as two int16 in one int32 (low half: the even column).
struct PackedPairs {
  int rows = 0;
  int cols = 0;
  const int32_t* row_ptr = nullptr;
  const int32_t* k = nullptr;     // pair index p: columns 2p and 2p + 1
  const int32_t* word = nullptr;  // (uint16)w0 | (uint16)w1 << 16
};

// Quads of int8 weights: quad j of row n (row_ptr[n] <= j < row_ptr[n + 1]) multiplies inputs
// 4 k[j] .. 4 k[j] + 3 by the bytes of word[j] (byte i: column 4 k[j] + i; 0 past cols).
struct PackedQuads {
  int rows = 0;
  int cols = 0;
  const int32_t* row_ptr = nullptr;
  const int32_t* k = nullptr;
  const int32_t* word = nullptr;
  const int32_t* row_sum = nullptr;  // sum of each row's weights
};

// The taps of a sparse convolution filter: output channel n's stored taps are j in
// [row_ptr[n], row_ptr[n + 1]); tap j multiplies the input at offset off[j] (from the output
// lane) by values[j].
struct SparseConvTaps {
  const int32_t* row_ptr = nullptr;
  const int32_t* off = nullptr;
  const float* values = nullptr;
};

// The tiled float kernels (f32_spmm_minmax_ukernel_*): C[m][n] for M rows of A, scratch of
// (K + N) * MR floats.
using SpmmF32Fn = void (*)(int M, const float* A, int64_t lda, const ref::BlockCsr<float>& w,
                           const float* bias, float lo, float hi, float* C, int64_t ldc,
                           float* scratch);

// For n in [n0, n1) and l < lanes (a multiple of the vector width, at most LANES):
//   tile[(n - n0) * ldt + l] = min(max(s + sum_j values[j] * x[off[j] + l], lo), hi)
// where s is the tile's own value when `accumulate`, else bias[n] (0 when bias is null).
// Reads x[off[j] .. off[j] + lanes).
using SpconvF32Fn = void (*)(int lanes, const float* x, const SparseConvTaps& w, const float* bias,
                             int n0, int n1, float lo, float hi, float* tile, int64_t ldt,
                             bool accumulate);

// The sparse convolution's layout moves (transposes):
//  - pixels_to_planes: x[c * plane + i] = in[i * channels + c] for i < count, c < channels
//    (count pixels, channel-last, into one row of each channel-major plane);
//  - tile_to_pixels: dst[l][c] = tile[c * ldt + l] for l < count where dst[l] is not null,
//    c < channels (a tile of channel rows back to channel-last pixels; null: a dropped lane).
using PixelsToPlanesFn = void (*)(int count, int channels, const float* in, float* x,
                                  int64_t plane);
using TileToPixelsFn = void (*)(int count, int channels, const float* tile, int64_t ldt,
                                float* const* dst);
void f32_pixels_to_planes__scalar(int count, int channels, const float* in, float* x,
                                  int64_t plane);
void f32_tile_to_pixels__scalar(int count, int channels, const float* tile, int64_t ldt,
                                float* const* dst);

#if defined(EDGEOPT_HAVE_AVX512)
void f32_pixels_to_planes__avx512(int count, int channels, const float* in, float* x,
                                  int64_t plane);
void f32_tile_to_pixels__avx512(int count, int channels, const float* tile, int64_t ldt,
                                float* const* dst);
void f32_spconv_minmax_ukernel_64__avx512(int lanes, const float* x, const SparseConvTaps& w,
                                          const float* bias, int n0, int n1, float lo, float hi,
                                          float* tile, int64_t ldt, bool accumulate);
void f32_spmv_minmax_ukernel__avx512(int M, const float* A, int64_t lda,
                                     const ref::BlockCsr<float>& w, const float* bias, float lo,
                                     float hi, float* C, int64_t ldc);
void f32_spmm_minmax_ukernel_16__avx512(int M, const float* A, int64_t lda,
                                        const ref::BlockCsr<float>& w, const float* bias, float lo,
                                        float hi, float* C, int64_t ldc, float* scratch);
void qs8_spmv_ukernel__avx512(int M, const int8_t* A, int64_t lda, const ref::BlockCsr<int8_t>& w,
                              int32_t* acc, int64_t ldc);
void qs8_spmm_ukernel_16__avx512(int M, const int8_t* A, int64_t lda, const PackedPairs& w,
                                 int32_t* acc, int64_t ldc, void* scratch);
void qs8_spmm_quads_ukernel_16__avx512vnni(int M, const int8_t* A, int64_t lda,
                                           const PackedQuads& w, int32_t* acc, void* scratch);
// C[m][n] (rows ldc apart) = the output stage of (sum + bias_term[n]) (wrapped to int32, as the
// reference does) for m < M, n < N; rq: ceil(N / 16) blocks (uk::PackRequantBlocks). Row m's
// K values come in `segs` segments of seg_len bytes at rows[m * segs + s] (rows of A: one
// segment each; a convolution's windows: one per filter row, seg_len a multiple of 4).
void qs8_spmm_quads_requant_ukernel_16__avx512vnni(int M, const int8_t* const* rows, int segs,
                                                   int seg_len, const PackedQuads& w,
                                                   const int64_t* bias_term,
                                                   const uk::RequantBlock16* rq,
                                                   const uk::QuantOutput& out, int8_t* C,
                                                   int64_t ldc, void* scratch);
#endif
#if defined(EDGEOPT_HAVE_AVX2)
void f32_pixels_to_planes__avx2(int count, int channels, const float* in, float* x, int64_t plane);
void f32_tile_to_pixels__avx2(int count, int channels, const float* tile, int64_t ldt,
                              float* const* dst);
void f32_spconv_minmax_ukernel_32__avx2(int lanes, const float* x, const SparseConvTaps& w,
                                        const float* bias, int n0, int n1, float lo, float hi,
                                        float* tile, int64_t ldt, bool accumulate);
void f32_spmv_minmax_ukernel__avx2(int M, const float* A, int64_t lda,
                                   const ref::BlockCsr<float>& w, const float* bias, float lo,
                                   float hi, float* C, int64_t ldc);
void f32_spmm_minmax_ukernel_8__avx2(int M, const float* A, int64_t lda,
                                     const ref::BlockCsr<float>& w, const float* bias, float lo,
                                     float hi, float* C, int64_t ldc, float* scratch);
void qs8_spmv_ukernel__avx2(int M, const int8_t* A, int64_t lda, const ref::BlockCsr<int8_t>& w,
                            int32_t* acc, int64_t ldc);
void qs8_spmm_ukernel_8__avx2(int M, const int8_t* A, int64_t lda, const PackedPairs& w,
                              int32_t* acc, int64_t ldc, void* scratch);
#endif

#if defined(EDGEOPT_HAVE_NEON)
void f32_pixels_to_planes__neon(int count, int channels, const float* in, float* x, int64_t plane);
void f32_tile_to_pixels__neon(int count, int channels, const float* tile, int64_t ldt,
                              float* const* dst);
void f32_spconv_minmax_ukernel_16__neon(int lanes, const float* x, const SparseConvTaps& w,
                                        const float* bias, int n0, int n1, float lo, float hi,
                                        float* tile, int64_t ldt, bool accumulate);
void f32_spmv_minmax_ukernel__neon(int M, const float* A, int64_t lda,
                                   const ref::BlockCsr<float>& w, const float* bias, float lo,
                                   float hi, float* C, int64_t ldc);
// MR = SparseTileRows(SparseIsa::kNeon): 16 on aarch64, 8 on armv7.
void f32_spmm_minmax_ukernel__neon(int M, const float* A, int64_t lda,
                                   const ref::BlockCsr<float>& w, const float* bias, float lo,
                                   float hi, float* C, int64_t ldc, float* scratch);
#endif

// Portable versions of the tiled kernels (same packing; MR = 8), used on CPUs without SIMD
// kernels and to test the packing.
void f32_spmm_minmax_ukernel_8__scalar(int M, const float* A, int64_t lda,
                                       const ref::BlockCsr<float>& w, const float* bias, float lo,
                                       float hi, float* C, int64_t ldc, float* scratch);
void f32_spconv_minmax_ukernel_8__scalar(int lanes, const float* x, const SparseConvTaps& w,
                                         const float* bias, int n0, int n1, float lo, float hi,
                                         float* tile, int64_t ldt, bool accumulate);
void qs8_spmm_ukernel_8__scalar(int M, const int8_t* A, int64_t lda, const PackedPairs& w,
                                int32_t* acc, int64_t ldc, void* scratch);
// The quad kernel's computation and output layout (MR = 16) without SIMD: tests and CPUs
// without VNNI when the quad form is forced.
void qs8_spmm_quads_ukernel_16__scalar(int M, const int8_t* A, int64_t lda, const PackedQuads& w,
                                       int32_t* acc, void* scratch);

}  // namespace rt
}  // namespace edgeopt

#endif  // EDGEOPT_SRC_RUNTIME_KERNELS_UKERNELS_SPARSE_UKERNELS_H_
