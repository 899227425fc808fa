// AVX2+FMA SGEMM microkernel, 6 rows x 16 columns: 12 ymm accumulators, two B vectors per k
// and one broadcast A value per row. Partial tiles go through a stack tile.
#include <immintrin.h>

#include "src/train/ukernels/gemm_ukernels.h"

namespace edgeopt {
namespace train {

void f32_gemm_ukernel__avx2_6x16(int kc, const float* a, const float* b, float* c, int ldc, int m,
                                 int n, const GemmTileParams& params) {
  constexpr int kMr = 6;
  constexpr int kNr = 16;
  __m256 acc0[kMr];
  __m256 acc1[kMr];
#pragma GCC unroll 6
  for (int i = 0; i < kMr; ++i) {
    acc0[i] = _mm256_setzero_ps();
    acc1[i] = _mm256_setzero_ps();
  }
  for (int k = 0; k < kc; ++k) {
    const __m256 b0 = _mm256_loadu_ps(b);
    const __m256 b1 = _mm256_loadu_ps(b + 8);
#pragma GCC unroll 6
    for (int i = 0; i < kMr; ++i) {
      const __m256 ai = _mm256_broadcast_ss(a + i);
      acc0[i] = _mm256_fmadd_ps(ai, b0, acc0[i]);
      acc1[i] = _mm256_fmadd_ps(ai, b1, acc1[i]);
    }
    a += kMr;
    b += kNr;
  }
  __m256 bias0 = _mm256_setzero_ps();
  __m256 bias1 = _mm256_setzero_ps();
  alignas(32) float bias_buf[kNr] = {};
  if (params.bias != nullptr) {
    for (int j = 0; j < n; ++j) bias_buf[j] = params.bias[j];
    bias0 = _mm256_load_ps(bias_buf);
    bias1 = _mm256_load_ps(bias_buf + 8);
  }
  const __m256 zero = _mm256_setzero_ps();
  const bool full = n == kNr;
  alignas(32) float tile[kNr];
  // A constant trip count, unrolled: accumulators indexed by a run-time row would make GCC keep
  // all of them on the stack, with a load and a store around every FMA above.
#pragma GCC unroll 6
  for (int i = 0; i < kMr; ++i) {
    if (i >= m) break;
    float* row = c + static_cast<long>(i) * ldc;
    __m256 v0 = acc0[i];
    __m256 v1 = acc1[i];
    if (full) {
      if (params.accumulate) {
        v0 = _mm256_add_ps(v0, _mm256_loadu_ps(row));
        v1 = _mm256_add_ps(v1, _mm256_loadu_ps(row + 8));
      }
    } else if (params.accumulate) {
      for (int j = 0; j < kNr; ++j) tile[j] = j < n ? row[j] : 0.0f;
      v0 = _mm256_add_ps(v0, _mm256_load_ps(tile));
      v1 = _mm256_add_ps(v1, _mm256_load_ps(tile + 8));
    }
    if (params.bias != nullptr) {
      v0 = _mm256_add_ps(v0, bias0);
      v1 = _mm256_add_ps(v1, bias1);
    }
    if (params.relu) {
      v0 = _mm256_max_ps(v0, zero);
      v1 = _mm256_max_ps(v1, zero);
    }
    if (full) {
      _mm256_storeu_ps(row, v0);
      _mm256_storeu_ps(row + 8, v1);
    } else {
      _mm256_store_ps(tile, v0);
      _mm256_store_ps(tile + 8, v1);
      for (int j = 0; j < n; ++j) row[j] = tile[j];
    }
  }
}

}  // namespace train
}  // namespace edgeopt
