// The matrix-product inner routines of the conv / fully-connected / transpose-conv kernels. Each op
// reduces its work to one of these, so SIMD microkernels can later replace exactly these functions.
//
//  - GemmF32:  C[M][N] = A[M][K] * B[K][N] (+ bias[N]), B packed K-major (the op's weights,
//    transposed once in Prepare). The inner loop is an axpy over N: contiguous and vectorizable
//    without reassociating float sums (each output is summed in k order).
//  - DotGemm:  C[M][N] = sum_k A[m][k] * B[n][k] for integer types: every output is a dot
//    product of two contiguous rows (integer sums may be reordered freely).
#ifndef EDGEOPT_SRC_RUNTIME_KERNELS_REFERENCE_GEMM_H_
#define EDGEOPT_SRC_RUNTIME_KERNELS_REFERENCE_GEMM_H_

#include <algorithm>
#include <cstdint>
#include <cstring>

namespace edgeopt {
namespace ref {

// Matrix-vector case of GemmF32 (M == 1 or N == 1), in the order of TFLite 2.9's float GEMV on x86
// (Eigen, SSE packets of 4): four partial sums over k = 4i + l, combined as (s0 + s2) + (s1 + s3),
// then the remaining K % 4 products in order, then the bias.
inline void GemvF32(int M, int N, int K, const float* A, int64_t lda, const float* B,
                    const float* bias, float* C, int64_t ldc) {
  constexpr int kChunk = 64;
  const int k4 = K - K % 4;
  for (int m = 0; m < M; ++m) {
    const float* a = A + m * lda;
    float* c = C + m * ldc;
    for (int n0 = 0; n0 < N; n0 += kChunk) {
      const int nc = std::min(kChunk, N - n0);
      float s[4][kChunk] = {};
      for (int k = 0; k < k4; k += 4) {
        for (int l = 0; l < 4; ++l) {
          const float x = a[k + l];
          const float* b = B + static_cast<int64_t>(k + l) * N + n0;
          for (int j = 0; j < nc; ++j) s[l][j] += x * b[j];
        }
      }
      for (int j = 0; j < nc; ++j) {
        float v = (s[0][j] + s[2][j]) + (s[1][j] + s[3][j]);
        for (int k = k4; k < K; ++k) v += a[k] * B[static_cast<int64_t>(k) * N + n0 + j];
        if (bias != nullptr) v += bias[n0 + j];
        c[n0 + j] = v;
      }
    }
  }
}

// C[M][N] (row stride ldc) = A[M][K] (row stride lda) * B[K][N] (dense) + bias[N] (if given). Every
// output is summed in k order from 0 with a separate multiply and add (no FMA), and the bias is
// added last: TFLite 2.9's float GEMM on x86 (Eigen, SSE) does this for its main blocks, so most
// results are bit-identical (Eigen's leftover rows/columns use other orders; those differ by
// rounding only). Matrix-vector products go to GemvF32. A SIMD replacement must keep these orders
// to stay bit-exact.
inline void GemmF32(int M, int N, int K, const float* A, int64_t lda, const float* B,
                    const float* bias, float* C, int64_t ldc) {
  if (M == 1 || N == 1) {
    GemvF32(M, N, K, A, lda, B, bias, C, ldc);
    return;
  }
  int m = 0;
  // Four rows of A at a time: each row of B is loaded once for four output rows.
  for (; m + 4 <= M; m += 4) {
    float* c0 = C + (m + 0) * ldc;
    float* c1 = C + (m + 1) * ldc;
    float* c2 = C + (m + 2) * ldc;
    float* c3 = C + (m + 3) * ldc;
    std::fill(c0, c0 + N, 0.0f);
    std::fill(c1, c1 + N, 0.0f);
    std::fill(c2, c2 + N, 0.0f);
    std::fill(c3, c3 + N, 0.0f);
    const float* a0 = A + (m + 0) * lda;
    const float* a1 = A + (m + 1) * lda;
    const float* a2 = A + (m + 2) * lda;
    const float* a3 = A + (m + 3) * lda;
    for (int k = 0; k < K; ++k) {
      const float* b = B + static_cast<int64_t>(k) * N;
      const float x0 = a0[k], x1 = a1[k], x2 = a2[k], x3 = a3[k];
      for (int n = 0; n < N; ++n) {
        const float w = b[n];
        c0[n] += x0 * w;
        c1[n] += x1 * w;
        c2[n] += x2 * w;
        c3[n] += x3 * w;
      }
    }
    if (bias != nullptr) {
      for (int n = 0; n < N; ++n) {
        c0[n] += bias[n];
        c1[n] += bias[n];
        c2[n] += bias[n];
        c3[n] += bias[n];
      }
    }
  }
  for (; m < M; ++m) {
    float* c = C + m * ldc;
    const float* a = A + m * lda;
    std::fill(c, c + N, 0.0f);
    for (int k = 0; k < K; ++k) {
      const float* b = B + static_cast<int64_t>(k) * N;
      const float x = a[k];
      for (int n = 0; n < N; ++n) c[n] += x * b[n];
    }
    if (bias != nullptr) {
      for (int n = 0; n < N; ++n) c[n] += bias[n];
    }
  }
}

// C[M][N] (row stride ldc) = sum_k A[m][k] * B[n][k]; A rows of stride lda, B rows of stride ldb.
// TAcc must hold every partial sum: int32 when K * max|a| * max|b| < 2^31 (the caller checks),
// int64 otherwise.
template <typename TA, typename TB, typename TAcc>
void DotGemm(int M, int N, int K, const TA* A, int64_t lda, const TB* B, int64_t ldb, TAcc* C,
             int64_t ldc) {
  for (int m = 0; m < M; ++m) {
    const TA* a = A + m * lda;
    TAcc* c = C + m * ldc;
    int n = 0;
    // Four rows of B at a time share the loads of a.
    for (; n + 4 <= N; n += 4) {
      const TB* b0 = B + (n + 0) * ldb;
      const TB* b1 = B + (n + 1) * ldb;
      const TB* b2 = B + (n + 2) * ldb;
      const TB* b3 = B + (n + 3) * ldb;
      TAcc s0 = 0, s1 = 0, s2 = 0, s3 = 0;
      for (int k = 0; k < K; ++k) {
        const TAcc x = a[k];
        s0 += x * b0[k];
        s1 += x * b1[k];
        s2 += x * b2[k];
        s3 += x * b3[k];
      }
      c[n + 0] = s0;
      c[n + 1] = s1;
      c[n + 2] = s2;
      c[n + 3] = s3;
    }
    for (; n < N; ++n) {
      const TB* b = B + n * ldb;
      TAcc s = 0;
      for (int k = 0; k < K; ++k) s += static_cast<TAcc>(a[k]) * b[k];
      c[n] = s;
    }
  }
}

// Rows per block so that a block of rows * bytes_per_row stays near max_bytes (at least 4 rows, at
// most `rows` and at least 1).
inline int BlockRows(int64_t rows, int64_t bytes_per_row, int64_t max_bytes) {
  int64_t r = bytes_per_row > 0 ? max_bytes / bytes_per_row : rows;
  r = std::max<int64_t>(r, 4);
  r = std::min<int64_t>(r, std::max<int64_t>(rows, 1));
  return static_cast<int>(r);
}

// Sum of each row: out[r] = sum_k X[r][k] (int64 so that no sum can overflow).
template <typename T>
void RowSums(int rows, int K, const T* X, int64_t ldx, int64_t* out) {
  for (int r = 0; r < rows; ++r) {
    const T* x = X + r * ldx;
    int64_t s = 0;
    for (int k = 0; k < K; ++k) s += x[k];
    out[r] = s;
  }
}

}  // namespace ref
}  // namespace edgeopt

#endif  // EDGEOPT_SRC_RUNTIME_KERNELS_REFERENCE_GEMM_H_
