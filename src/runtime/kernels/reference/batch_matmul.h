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

// int8 (T): sum_k (a - za)(w - zw), requantized per tensor (no activation: the type's range).
// Scratch: lhs_t (M*K), rhs_t (N*K), acc (M*N int32 or int64), sums (M + N int64).
template <typename T, typename TAcc>
void BatchMatMulQuantized(const BatchMatMulShape& s, const T* lhs, int32_t lhs_zero_point,
                          const T* rhs, int32_t rhs_zero_point, const OutputStage& stage, T* output,
                          T* lhs_t, T* rhs_t, TAcc* acc, int64_t* sums) {
  const int64_t lhs_size = int64_t{s.M} * s.K, rhs_size = int64_t{s.K} * s.N;
  int64_t* lhs_sums = sums;
  int64_t* rhs_sums = sums + s.M;
  for (int b = 0; b < s.batches; ++b) {
    const T* a = lhs + s.lhs_batch[b] * lhs_size;
    const T* w = rhs + s.rhs_batch[b] * rhs_size;
    if (s.adj_x) {
      Transpose2D(a, s.K, s.M, lhs_t);
      a = lhs_t;
    }
    if (!s.adj_y) {  // DotGemm wants rhs rows [N][K]
      Transpose2D(w, s.K, s.N, rhs_t);
      w = rhs_t;
    }
    DotGemm(s.M, s.N, s.K, a, s.K, w, s.K, acc, s.N);
    RowSums(s.M, s.K, a, s.K, lhs_sums);
    RowSums(s.N, s.K, w, s.K, rhs_sums);
    T* o = output + b * int64_t{s.M} * s.N;
    const int64_t zz = int64_t{s.K} * lhs_zero_point * rhs_zero_point;
    for (int m = 0; m < s.M; ++m) {
      for (int n = 0; n < s.N; ++n) {
        const int64_t total = int64_t{acc[int64_t{m} * s.N + n]} - rhs_zero_point * lhs_sums[m] -
                              lhs_zero_point * rhs_sums[n] + zz;
        o[int64_t{m} * s.N + n] = RequantizeToOutput<T>(total, 0, stage);
      }
    }
  }
}

// int16: TFLite 2.9's reference loop, an int64 sum per output, read in place (adj_x /
// adj_y by strides). Compact on purpose: the int16 path is rare and the runtime's size counts.
inline void BatchMatMulInt16(const BatchMatMulShape& s, const int16_t* lhs, int32_t lhs_zero_point,
                             const int16_t* rhs, int32_t rhs_zero_point, const OutputStage& stage,
                             int16_t* output) {
  const int am = s.adj_x ? 1 : s.K, ak = s.adj_x ? s.M : 1;  // lhs strides of m and k
  const int wk = s.adj_y ? 1 : s.N, wn = s.adj_y ? s.K : 1;  // rhs strides of k and n
  // MultiplyInt64, its constants hoisted.
  const int64_t reduced = ReducedMultiplier(stage.multiplier[0]);
  const int total_shift = 15 - stage.shift[0];  // in [1, 46]
  for (int b = 0; b < s.batches; ++b) {
    const int16_t* a0 = lhs + s.lhs_batch[b] * int64_t{s.M} * s.K;
    const int16_t* w0 = rhs + s.rhs_batch[b] * int64_t{s.K} * s.N;
    for (int m = 0; m < s.M; ++m) {
      for (int n = 0; n < s.N; ++n) {
        const int16_t* a = a0 + m * am;
        const int16_t* w = w0 + n * wn;
        int64_t total = 0;
        for (int k = 0; k < s.K; ++k, a += ak, w += wk) {
          total += int64_t{*a - lhs_zero_point} * (*w - rhs_zero_point);
        }
        const int32_t v = WrapToInt32(static_cast<int64_t>(static_cast<uint64_t>(total) *
                                                               static_cast<uint64_t>(reduced) +
                                                           (uint64_t{1} << (total_shift - 1))) >>
                                      total_shift) +
                          stage.output_zero_point;
        *output++ = static_cast<int16_t>(v < -32768 ? -32768 : v > 32767 ? 32767 : v);
      }
    }
  }
}

}  // namespace ref
}  // namespace edgeopt

#endif  // EDGEOPT_SRC_RUNTIME_KERNELS_REFERENCE_BATCH_MATMUL_H_
