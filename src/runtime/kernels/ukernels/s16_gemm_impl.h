// The s16 GEMM body shared by the ISA files (each compiles it with its own flags; GCC turns the
// int16 dot products into vpdpwssd, vpmaddwd or smlal). Included only by ukernel sources.
#ifndef EDGEOPT_SRC_RUNTIME_KERNELS_UKERNELS_S16_GEMM_IMPL_H_
#define EDGEOPT_SRC_RUNTIME_KERNELS_UKERNELS_S16_GEMM_IMPL_H_

#include <cstddef>
#include <cstdint>

namespace edgeopt {
namespace rt {
namespace uk {
// Internal linkage: each ISA's file compiles its own copy with its own flags (a shared inline
// function would be merged across them by the linker).
namespace {

// C[m][n] = sum_k A[m][k] * B[n][k] in int32; the caller guarantees that no partial sum
// overflows (see S16GemmFn), so any summation order gives the exact result.
inline void S16GemmImpl(int M, int N, int K, const int16_t* A, ptrdiff_t lda, const int16_t* B,
                        int32_t* C, ptrdiff_t ldc) {
  for (int m = 0; m < M; ++m) {
    const int16_t* a = A + m * lda;
    int32_t* c = C + m * ldc;
    int n = 0;
    // Four rows of B at a time share the loads of a.
    for (; n + 4 <= N; n += 4) {
      const int16_t* b0 = B + static_cast<ptrdiff_t>(n) * K;
      const int16_t* b1 = b0 + K;
      const int16_t* b2 = b1 + K;
      const int16_t* b3 = b2 + K;
      int32_t s0 = 0, s1 = 0, s2 = 0, s3 = 0;
      for (int k = 0; k < K; ++k) {
        const int32_t x = a[k];
        s0 += x * b0[k];
        s1 += x * b1[k];
        s2 += x * b2[k];
        s3 += x * b3[k];
      }
      c[n] = s0;
      c[n + 1] = s1;
      c[n + 2] = s2;
      c[n + 3] = s3;
    }
    for (; n < N; ++n) {
      const int16_t* b = B + static_cast<ptrdiff_t>(n) * K;
      int32_t s = 0;
      for (int k = 0; k < K; ++k) s += int32_t{a[k]} * b[k];
      c[n] = s;
    }
  }
}

}  // namespace
}  // namespace uk
}  // namespace rt
}  // namespace edgeopt

#endif  // EDGEOPT_SRC_RUNTIME_KERNELS_UKERNELS_S16_GEMM_IMPL_H_
