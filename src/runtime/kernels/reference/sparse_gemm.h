// Sparse weight matrices and the portable products the sparse FULLY_CONNECTED / 1x1 CONV_2D
// kernels compute:
//
//   weights W [N][K] (N output channels, K inputs) in block-CSR form along K: row n owns the
//   blocks row_ptr[n] .. row_ptr[n+1] - 1; block j covers columns col[j] .. col[j] + B - 1 and
//   stores its B values at values[j * B]. B is 1 (unstructured), 4 or 16 (1xB blocks).
//   A [M][K] (row stride lda), C / acc [M][N] (row stride ldc).
//
//  - SparseGemmF32: C = clamp(A W^T + bias) with the sums taken block by block in order.
//  - SparseDotGemmS8: acc = A W^T exactly in int32 (the caller adds the same bias terms and
//    output stage as the dense kernel, so results are bit-identical to it).
//  - Pair form (int8, for the tiled SIMD path): the nonzeros of each row grouped by aligned
//    column pairs (2p, 2p + 1); pair j of row n is (pair_k[j] = p, w0, w1).
#ifndef EDGEOPT_SRC_RUNTIME_KERNELS_REFERENCE_SPARSE_GEMM_H_
#define EDGEOPT_SRC_RUNTIME_KERNELS_REFERENCE_SPARSE_GEMM_H_

#include <algorithm>
#include <cstdint>

namespace edgeopt {
namespace ref {

template <typename T>
struct BlockCsr {
  int rows = 0;                      // N
  int cols = 0;                      // K
  int block = 1;                     // B
  const int32_t* row_ptr = nullptr;  // rows + 1 entries
  const int32_t* col = nullptr;      // first column of each block (a multiple of B)
  const T* values = nullptr;         // B values per block
  int64_t num_blocks() const { return row_ptr[rows]; }
};

// Pairs of int8 weights: pair j of row n (row_ptr[n] <= j < row_ptr[n + 1]) multiplies inputs
// 2 * k[j] and 2 * k[j] + 1 by w[2 j] and w[2 j + 1].
struct PairCsr {
  int rows = 0;
  int cols = 0;
  const int32_t* row_ptr = nullptr;
  const int32_t* k = nullptr;
  const int8_t* w = nullptr;
};

inline float ClampSparse(float v, float lo, float hi) { return std::min(std::max(v, lo), hi); }

inline void SparseGemmF32(int M, const float* A, int64_t lda, const BlockCsr<float>& w,
                          const float* bias, float act_min, float act_max, float* C, int64_t ldc) {
  const int B = w.block;
  for (int m = 0; m < M; ++m) {
    const float* a = A + m * lda;
    float* c = C + m * ldc;
    for (int n = 0; n < w.rows; ++n) {
      float sum = 0.0f;
      for (int32_t j = w.row_ptr[n]; j < w.row_ptr[n + 1]; ++j) {
        const float* v = w.values + static_cast<int64_t>(j) * B;
        const float* x = a + w.col[j];
        for (int i = 0; i < B; ++i) sum += v[i] * x[i];
      }
      if (bias != nullptr) sum += bias[n];
      c[n] = ClampSparse(sum, act_min, act_max);
    }
  }
}

inline void SparseDotGemmS8(int M, const int8_t* A, int64_t lda, const BlockCsr<int8_t>& w,
                            int32_t* acc, int64_t ldc) {
  const int B = w.block;
  for (int m = 0; m < M; ++m) {
    const int8_t* a = A + m * lda;
    int32_t* c = acc + m * ldc;
    for (int n = 0; n < w.rows; ++n) {
      int32_t sum = 0;
      for (int32_t j = w.row_ptr[n]; j < w.row_ptr[n + 1]; ++j) {
        const int8_t* v = w.values + static_cast<int64_t>(j) * B;
        const int8_t* x = a + w.col[j];
        for (int i = 0; i < B; ++i) sum += int32_t{v[i]} * int32_t{x[i]};
      }
      c[n] = sum;
    }
  }
}

// The pair form of the same product (for tests of the pair construction).
inline void SparsePairGemmS8(int M, const int8_t* A, int64_t lda, const PairCsr& w, int32_t* acc,
                             int64_t ldc) {
  for (int m = 0; m < M; ++m) {
    const int8_t* a = A + m * lda;
    int32_t* c = acc + m * ldc;
    for (int n = 0; n < w.rows; ++n) {
      int32_t sum = 0;
      for (int32_t j = w.row_ptr[n]; j < w.row_ptr[n + 1]; ++j) {
        const int k0 = 2 * w.k[j];
        sum += int32_t{w.w[2 * j]} * a[k0];
        if (k0 + 1 < w.cols) sum += int32_t{w.w[2 * j + 1]} * a[k0 + 1];
      }
      c[n] = sum;
    }
  }
}

}  // namespace ref
}  // namespace edgeopt

#endif  // EDGEOPT_SRC_RUNTIME_KERNELS_REFERENCE_SPARSE_GEMM_H_
