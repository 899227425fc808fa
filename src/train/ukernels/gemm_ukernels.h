// SGEMM microkernels for the train engine: C[m x n] (+)= A_packed[MR x kc] * B_packed[kc x NR],
// with an optional per-column bias and ReLU applied on the last K block (the fused
// epilogue of FULLY_CONNECTED / CONV_2D forward).
//
// Packed layouts (written by gemm.cc): A as kc groups of MR values (column k of an MR-row
// panel), B as kc groups of NR values (row k of an NR-column panel). Panels are zero-padded,
// so a kernel always computes a full MR x NR tile and stores only m x n of it.
#ifndef EDGEOPT_SRC_TRAIN_UKERNELS_GEMM_UKERNELS_H_
#define EDGEOPT_SRC_TRAIN_UKERNELS_GEMM_UKERNELS_H_

namespace edgeopt {
namespace train {

struct GemmTileParams {
  bool accumulate = false;      // C += A*B (else C = A*B)
  const float* bias = nullptr;  // n values added to every row (last K block only)
  bool relu = false;            // max(0, .) after the bias (last K block only)
};

using GemmUkernelFn = void (*)(int kc, const float* a, const float* b, float* c, int ldc, int m,
                               int n, const GemmTileParams& params);

// Scalar fallback: MR = 4, NR = 8.
void f32_gemm_ukernel__scalar_4x8(int kc, const float* a, const float* b, float* c, int ldc, int m,
                                  int n, const GemmTileParams& params);
#if defined(EDGEOPT_HAVE_AVX2)
// MR = 6, NR = 16.
void f32_gemm_ukernel__avx2_6x16(int kc, const float* a, const float* b, float* c, int ldc, int m,
                                 int n, const GemmTileParams& params);
#endif
#if defined(EDGEOPT_HAVE_AVX512)
// MR = 12, NR = 32.
void f32_gemm_ukernel__avx512_12x32(int kc, const float* a, const float* b, float* c, int ldc,
                                    int m, int n, const GemmTileParams& params);
#endif

}  // namespace train
}  // namespace edgeopt

#endif  // EDGEOPT_SRC_TRAIN_UKERNELS_GEMM_UKERNELS_H_
