// Microkernels of the sparse FULLY_CONNECTED / 1x1 CONV_2D kernels (sparse_matmul.h), for the
// weight forms of reference/sparse_gemm.h:
//
//  - f32_spmv_minmax: rows of A one at a time; each output is a sum over the row's 1xB blocks
//    (B = 16: one vector FMA per block; B = 4: a 128-bit FMA; B = 1: gathers of 16 / 8
//    inputs). For few rows (a batch of 1 .. a few).
//  - f32_spmm_minmax_MR: MR rows of A at a time, transposed into a packed panel
//    [K][MR]; every stored weight is one broadcast FMA into MR outputs. For many rows
//    (1x1 convolutions, large batches). scratch: K * MR + N * MR floats.
//  - qs8_spmv: int8 rows one at a time, exact int32 sums (madd of sign-extended int16).
//  - qs8_spmm_MR: MR int8 rows at a time over the pair form (two weights per 32-bit word,
//    inputs packed as int16 pairs [ceil(K / 2)][MR][2]; one madd per stored pair).
//    scratch: ceil(K / 2) * MR * 2 int16 + N * MR int32.
//
// All of them compute exactly what the reference functions compute, except for the order of
// float additions.
#ifndef EDGEOPT_SRC_RUNTIME_KERNELS_UKERNELS_SPARSE_UKERNELS_H_
#define EDGEOPT_SRC_RUNTIME_KERNELS_UKERNELS_SPARSE_UKERNELS_H_

#include <cstdint>

#include "src/runtime/kernels/reference/sparse_gemm.h"

namespace edgeopt {
namespace rt {

// Pairs of int8 weights packed as two int16 in one int32 (low half: the even column).
struct PackedPairs {
  int rows = 0;
  int cols = 0;
  const int32_t* row_ptr = nullptr;
  const int32_t* k = nullptr;     // pair index p: columns 2p and 2p + 1
  const int32_t* word = nullptr;  // (uint16)w0 | (uint16)w1 << 16
};

#if defined(EDGEOPT_HAVE_AVX512)
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
#endif
#if defined(EDGEOPT_HAVE_AVX2)
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

// Portable versions of the tiled kernels (same packing; MR = 8), used on CPUs without SIMD
// kernels and to test the packing.
void f32_spmm_minmax_ukernel_8__scalar(int M, const float* A, int64_t lda,
                                       const ref::BlockCsr<float>& w, const float* bias, float lo,
                                       float hi, float* C, int64_t ldc, float* scratch);
void qs8_spmm_ukernel_8__scalar(int M, const int8_t* A, int64_t lda, const PackedPairs& w,
                                int32_t* acc, int64_t ldc, void* scratch);

}  // namespace rt
}  // namespace edgeopt

#endif  // EDGEOPT_SRC_RUNTIME_KERNELS_UKERNELS_SPARSE_UKERNELS_H_
