// The s16 GEMM bodies shared by the ISA files (each compiles them with its own flags).
// Included only by ukernel sources.
//  - S16GemmImpl: B as rows [N][K]; GCC turns the int16 dot products into vpdpwssd, vpmaddwd
//    or smlal, with a horizontal sum per output.
//  - S16PackedGemm: B packed (PackS16Weights); a register tile of MR rows by 2 blocks of
//    V::kLanes columns, each step a broadcast pair of A times a pair of every column of B.
#ifndef EDGEOPT_SRC_RUNTIME_KERNELS_UKERNELS_S16_GEMM_IMPL_H_
#define EDGEOPT_SRC_RUNTIME_KERNELS_UKERNELS_S16_GEMM_IMPL_H_

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>

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

// One tile: rows [0, mr) of A (mr <= MR) times NB blocks of V::kLanes packed columns (`block`
// values apart) into C, nc <= NB * V::kLanes columns stored. Rows past mr repeat row 0 and are
// not stored.
template <class V, int MR, int NB>
inline void S16PackedTile(int mr, int nc, int K, const int16_t* a, ptrdiff_t lda, const int16_t* b,
                          ptrdiff_t block, int32_t* c, ptrdiff_t ldc) {
  const int16_t* rows[MR];
  for (int r = 0; r < MR; ++r) rows[r] = a + (r < mr ? r : 0) * lda;
  typename V::Reg acc[MR][NB];
  for (int r = 0; r < MR; ++r) {
    for (int j = 0; j < NB; ++j) acc[r][j] = V::Zero();
  }
  const int pairs = K / 2;
  constexpr int kStep = 2 * V::kLanes;  // values per pair of k in a block
  for (int p = 0; p < pairs; ++p) {
    typename V::Reg w[NB];
    for (int j = 0; j < NB; ++j) w[j] = V::Load(b + j * block + p * kStep);
    for (int r = 0; r < MR; ++r) {
      int32_t pair;
      std::memcpy(&pair, rows[r] + 2 * p, sizeof(pair));
      const typename V::Reg x = V::Broadcast(pair);
      for (int j = 0; j < NB; ++j) acc[r][j] = V::Dot(acc[r][j], x, w[j]);
    }
  }
  if (K % 2 != 0) {  // the last k, paired with a zero (its packed partner is zero too)
    typename V::Reg w[NB];
    for (int j = 0; j < NB; ++j) w[j] = V::Load(b + j * block + pairs * kStep);
    for (int r = 0; r < MR; ++r) {
      const typename V::Reg x = V::Broadcast(static_cast<uint16_t>(rows[r][K - 1]));
      for (int j = 0; j < NB; ++j) acc[r][j] = V::Dot(acc[r][j], x, w[j]);
    }
  }
  for (int r = 0; r < mr; ++r) {
    for (int j = 0; j < NB && j * V::kLanes < nc; ++j) {
      V::Store(c + r * ldc + j * V::kLanes, acc[r][j], std::min(V::kLanes, nc - j * V::kLanes));
    }
  }
}

// C[m][n] = sum_k A[m][k] * B[n][k] with B packed in blocks of V::kLanes columns.
template <class V, int MR>
inline void S16PackedGemm(int M, int N, int K, const int16_t* a, ptrdiff_t lda, const int16_t* b,
                          int32_t* c, ptrdiff_t ldc) {
  const ptrdiff_t block = static_cast<ptrdiff_t>((K + 1) / 2) * 2 * V::kLanes;
  for (int m0 = 0; m0 < M; m0 += MR) {
    const int mr = std::min(MR, M - m0);
    const int16_t* am = a + m0 * lda;
    int32_t* cm = c + m0 * ldc;
    int n0 = 0;
    for (; n0 + V::kLanes < N; n0 += 2 * V::kLanes) {
      S16PackedTile<V, MR, 2>(mr, std::min(2 * V::kLanes, N - n0), K, am, lda,
                              b + (n0 / V::kLanes) * block, block, cm + n0, ldc);
    }
    if (n0 < N) {
      S16PackedTile<V, MR, 1>(mr, N - n0, K, am, lda, b + (n0 / V::kLanes) * block, block, cm + n0,
                              ldc);
    }
  }
}

}  // namespace
}  // namespace uk
}  // namespace rt
}  // namespace edgeopt

#endif  // EDGEOPT_SRC_RUNTIME_KERNELS_UKERNELS_S16_GEMM_IMPL_H_
