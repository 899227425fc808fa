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
  // A single row has too few independent sums to hide the multiply-add latency: it keeps kU
  // sets of sums over interleaved pairs of k and adds them at the end.
  constexpr int kU = MR == 1 ? 4 : 1;
  constexpr int kStep = 2 * V::kLanes;  // values per pair of k in a block
  const int16_t* rows[MR];
  for (int r = 0; r < MR; ++r) rows[r] = a + (r < mr ? r : 0) * lda;
  typename V::Reg acc[kU][MR][NB];
  for (int u = 0; u < kU; ++u) {
    for (int r = 0; r < MR; ++r) {
      for (int j = 0; j < NB; ++j) acc[u][r][j] = V::Zero();
    }
  }
  // Pair p into the sums of set u.
  auto step = [&](int p, int u) {
    typename V::Reg w[NB];
    for (int j = 0; j < NB; ++j) w[j] = V::Load(b + j * block + p * kStep);
    for (int r = 0; r < MR; ++r) {
      int32_t pair;
      std::memcpy(&pair, rows[r] + 2 * p, sizeof(pair));
      const typename V::Reg x = V::Broadcast(pair);
      for (int j = 0; j < NB; ++j) acc[u][r][j] = V::Dot(acc[u][r][j], x, w[j]);
    }
  };
  const int pairs = K / 2;
  int p = 0;
  for (; p + kU <= pairs; p += kU) {
    for (int u = 0; u < kU; ++u) step(p + u, u);
  }
  for (; p < pairs; ++p) step(p, 0);
  if (K % 2 != 0) {  // the last k, paired with a zero (its packed partner is zero too)
    typename V::Reg w[NB];
    for (int j = 0; j < NB; ++j) w[j] = V::Load(b + j * block + pairs * kStep);
    for (int r = 0; r < MR; ++r) {
      const typename V::Reg x = V::Broadcast(static_cast<uint16_t>(rows[r][K - 1]));
      for (int j = 0; j < NB; ++j) acc[0][r][j] = V::Dot(acc[0][r][j], x, w[j]);
    }
  }
  for (int u = 1; u < kU; ++u) {
    for (int r = 0; r < MR; ++r) {
      for (int j = 0; j < NB; ++j) acc[0][r][j] = V::Add(acc[0][r][j], acc[u][r][j]);
    }
  }
  for (int r = 0; r < mr; ++r) {
    for (int j = 0; j < NB && j * V::kLanes < nc; ++j) {
      V::Store(c + r * ldc + j * V::kLanes, acc[0][r][j], std::min(V::kLanes, nc - j * V::kLanes));
    }
  }
}

// Rows [0, MR) of A times all N packed columns.
template <class V, int MR>
inline void S16PackedRows(int N, int K, const int16_t* a, ptrdiff_t lda, const int16_t* b,
                          ptrdiff_t block, int32_t* c, ptrdiff_t ldc) {
  int n0 = 0;
  for (; n0 + V::kLanes < N; n0 += 2 * V::kLanes) {
    S16PackedTile<V, MR, 2>(MR, std::min(2 * V::kLanes, N - n0), K, a, lda,
                            b + (n0 / V::kLanes) * block, block, c + n0, ldc);
  }
  if (n0 < N) {
    S16PackedTile<V, MR, 1>(MR, N - n0, K, a, lda, b + (n0 / V::kLanes) * block, block, c + n0,
                            ldc);
  }
}

// C[m][n] = sum_k A[m][k] * B[n][k] with B packed in blocks of V::kLanes columns: tiles of MR
// rows, then of 4, then single rows (a batch-1 FULLY_CONNECTED is one row).
template <class V, int MR>
inline void S16PackedGemm(int M, int N, int K, const int16_t* a, ptrdiff_t lda, const int16_t* b,
                          int32_t* c, ptrdiff_t ldc) {
  static_assert(MR >= 4, "the tail runs in tiles of 4 rows");
  const ptrdiff_t block = static_cast<ptrdiff_t>((K + 1) / 2) * 2 * V::kLanes;
  int m0 = 0;
  for (; m0 + MR <= M; m0 += MR)
    S16PackedRows<V, MR>(N, K, a + m0 * lda, lda, b, block, c + m0 * ldc, ldc);
  if (MR > 4) {
    for (; m0 + 4 <= M; m0 += 4)
      S16PackedRows<V, 4>(N, K, a + m0 * lda, lda, b, block, c + m0 * ldc, ldc);
  }
  for (; m0 < M; ++m0) S16PackedRows<V, 1>(N, K, a + m0 * lda, lda, b, block, c + m0 * ldc, ldc);
}

}  // namespace
}  // namespace uk
}  // namespace rt
}  // namespace edgeopt

#endif  // EDGEOPT_SRC_RUNTIME_KERNELS_UKERNELS_S16_GEMM_IMPL_H_
