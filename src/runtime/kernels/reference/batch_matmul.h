// BATCH_MATMUL math: output[..., m, n] = sum_k lhs[..., m, k] * rhs[..., k, n] over broadcast batch
// dimensions (adj_x / adj_y read lhs as [..., k, m] / rhs as [..., n, k]).
#ifndef EDGEOPT_SRC_RUNTIME_KERNELS_REFERENCE_BATCH_MATMUL_H_
#define EDGEOPT_SRC_RUNTIME_KERNELS_REFERENCE_BATCH_MATMUL_H_

#include <algorithm>
#include <cstdint>

#include "src/runtime/kernels/reference/gemm.h"
#include "src/runtime/kernels/reference/requantize.h"

namespace edgeopt {
namespace ref {

// Batch layout: output batch b reads lhs batch lhs_batch[b] and rhs batch rhs_batch[b].
struct BatchMatMulShape {
  int batches = 1;
  int M = 0, N = 0, K = 0;
  bool adj_x = false, adj_y = false;
  const int32_t* lhs_batch = nullptr;  // [batches]
  const int32_t* rhs_batch = nullptr;  // [batches]
};

// dst[c][r] = src[r][c] for a rows x cols matrix.
template <typename T>
void Transpose2D(const T* src, int rows, int cols, T* dst) {
  for (int r = 0; r < rows; ++r) {
    for (int c = 0; c < cols; ++c) dst[int64_t{c} * rows + r] = src[int64_t{r} * cols + c];
  }
}

// Float. Scratch: lhs_t (M*K, used with adj_x), rhs_t (K*N, used with adj_y).
inline void BatchMatMulF32(const BatchMatMulShape& s, const float* lhs, const float* rhs,
                           float* output, float* lhs_t, float* rhs_t) {
  const int64_t lhs_size = int64_t{s.M} * s.K, rhs_size = int64_t{s.K} * s.N;
  for (int b = 0; b < s.batches; ++b) {
    const float* a = lhs + s.lhs_batch[b] * lhs_size;
    const float* w = rhs + s.rhs_batch[b] * rhs_size;
    if (s.adj_x) {  // stored [K][M]
      Transpose2D(a, s.K, s.M, lhs_t);
      a = lhs_t;
    }
    if (s.adj_y) {  // stored [N][K]
      Transpose2D(w, s.N, s.K, rhs_t);
      w = rhs_t;
    }
    GemmF32(s.M, s.N, s.K, a, s.K, w, nullptr, output + b * int64_t{s.M} * s.N, s.N);
  }
}

// int8 / int16 (T): sum_k (a - za)(w - zw) in int64, operands read in place (adj_x / adj_y by
// strides), requantized per tensor by `stage` (no activation: the type's range). As TFLite 2.9's
// reference loop for int16; for int8 the sums are the ruy GEMM's (its output stage wraps them to
// int32 first, as `stage` does). Compact on purpose: the qs8 microkernels run int8 where the CPU
// has them, int16 is rare, and the runtime's size counts.
template <typename T>
void BatchMatMulQuantized(const BatchMatMulShape& s, const T* lhs, int32_t lhs_zero_point,
                          const T* rhs, int32_t rhs_zero_point, const OutputStage& stage,
                          T* output) {
  const int64_t am = s.adj_x ? 1 : s.K, ak = s.adj_x ? s.M : 1;  // lhs strides of m and k
  const int64_t wk = s.adj_y ? 1 : s.N, wn = s.adj_y ? s.K : 1;  // rhs strides of k and n
  for (int b = 0; b < s.batches; ++b) {
    const T* a0 = lhs + s.lhs_batch[b] * int64_t{s.M} * s.K;
    const T* w0 = rhs + s.rhs_batch[b] * int64_t{s.K} * s.N;
    for (int m = 0; m < s.M; ++m) {
      for (int n = 0; n < s.N; ++n) {
        const T* a = a0 + m * am;
        const T* w = w0 + n * wn;
        int64_t total = 0;
        for (int k = 0; k < s.K; ++k, a += ak, w += wk) {
          total += int64_t{*a - lhs_zero_point} * (*w - rhs_zero_point);
        }
        *output++ = RequantizeToOutput<T>(total, 0, stage);
      }
    }
  }
}

}  // namespace ref
}  // namespace edgeopt

#endif  // EDGEOPT_SRC_RUNTIME_KERNELS_REFERENCE_BATCH_MATMUL_H_
