// The output stages of the AVX2-width qs8 / qd8 IGEMM kernels (the vpmaddwd ones and the
// AVX-VNNI ones): 16 channels (two halves of 8) of MR rows of int32 sums to int8/uint8 (ruy
// rounding) or to float. Included only by files compiled with the AVX2 flags.
#ifndef EDGEOPT_SRC_RUNTIME_KERNELS_UKERNELS_AVX2_IGEMM_OUTPUT_AVX2_H_
#define EDGEOPT_SRC_RUNTIME_KERNELS_UKERNELS_AVX2_IGEMM_OUTPUT_AVX2_H_

#include <immintrin.h>

#include "src/runtime/kernels/ukernels/avx2/requant_avx2.h"

namespace edgeopt {
namespace rt {
namespace uk {
namespace avx2 {

// `rq`: the block's requantization trailer. Constant trip counts with breaks: a run-time bound
// on the rows would keep the sums in memory.
template <int MR>
inline void StoreQS8Rows(const QS8IGemmArgs& p, const RequantBlock16* rq,
                         const __m256i (&acc)[MR][2]) {
  const __m256i lo = _mm256_set1_epi32(p.out->lo);
  const __m256i hi = _mm256_set1_epi32(p.out->hi);
  const __m256i zp = _mm256_set1_epi32(p.out->zero_point);
#pragma GCC unroll 8
  for (int i = 0; i < MR; ++i) {
    if (i >= p.mr) break;
    const __m256i row =
        p.row_term != nullptr ? _mm256_set1_epi32(p.row_term[i]) : _mm256_setzero_si256();
#pragma GCC unroll 2
    for (int h = 0; h < 2; ++h) {
      if (8 * h >= p.nc) break;
      const __m256i v = Requantize8<true>(_mm256_add_epi32(acc[i][h], row), rq, h);
      StoreInt8x8(p.c + i * p.c_stride + 8 * h, v, lo, hi, zp, p.nc - 8 * h);
    }
  }
}

template <int MR>
inline void StoreQD8Rows(const QD8IGemmArgs& p, const __m256i (&acc)[MR][2]) {
  const __m256 vmin = _mm256_set1_ps(p.min);
  const __m256 vmax = _mm256_set1_ps(p.max);
#pragma GCC unroll 2
  for (int h = 0; h < 2; ++h) {
    if (8 * h >= p.nc) break;
    const __m256i mask = TailMask8(p.nc - 8 * h);
    const __m256i col = _mm256_maskload_epi32(p.col_term + 8 * h, mask);
    const __m256 scale = _mm256_maskload_ps(p.scale + 8 * h, mask);
    const __m256 bias =
        p.bias != nullptr ? _mm256_maskload_ps(p.bias + 8 * h, mask) : _mm256_setzero_ps();
#pragma GCC unroll 8
    for (int i = 0; i < MR; ++i) {
      if (i >= p.mr) break;
      // As the reference: float(acc) * scale, then + bias (two roundings, no FMA).
      __m256 v = _mm256_mul_ps(_mm256_cvtepi32_ps(_mm256_add_epi32(acc[i][h], col)), scale);
      if (p.bias != nullptr) v = _mm256_add_ps(v, bias);
      v = _mm256_min_ps(_mm256_max_ps(v, vmin), vmax);
      _mm256_maskstore_ps(p.c + i * p.c_stride + 8 * h, mask, v);
    }
  }
}

}  // namespace avx2
}  // namespace uk
}  // namespace rt
}  // namespace edgeopt

#endif  // EDGEOPT_SRC_RUNTIME_KERNELS_UKERNELS_AVX2_IGEMM_OUTPUT_AVX2_H_
