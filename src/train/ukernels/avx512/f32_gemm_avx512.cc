// AVX-512 SGEMM microkernel, 12 rows x 32 columns: 24 zmm accumulators, two B
// vectors per k and one broadcast A value per row.
#include <immintrin.h>

#include "src/train/ukernels/gemm_ukernels.h"

namespace edgeopt {
namespace train {

void f32_gemm_ukernel__avx512_12x32(int kc, const float* a, const float* b, float* c, int ldc,
                                    int m, int n, const GemmTileParams& params) {
  constexpr int kMr = 12;
  __m512 acc0[kMr];
  __m512 acc1[kMr];
#pragma GCC unroll 12
  for (int i = 0; i < kMr; ++i) {
    acc0[i] = _mm512_setzero_ps();
    acc1[i] = _mm512_setzero_ps();
  }
  for (int k = 0; k < kc; ++k) {
    const __m512 b0 = _mm512_loadu_ps(b);
    const __m512 b1 = _mm512_loadu_ps(b + 16);
#pragma GCC unroll 12
    for (int i = 0; i < kMr; ++i) {
      const __m512 ai = _mm512_set1_ps(a[i]);
      acc0[i] = _mm512_fmadd_ps(ai, b0, acc0[i]);
      acc1[i] = _mm512_fmadd_ps(ai, b1, acc1[i]);
    }
    a += kMr;
    b += 32;
  }
  const __mmask16 mask0 =
      n >= 16 ? static_cast<__mmask16>(0xFFFF) : static_cast<__mmask16>((1u << n) - 1u);
  const __mmask16 mask1 = n >= 32   ? static_cast<__mmask16>(0xFFFF)
                          : n <= 16 ? static_cast<__mmask16>(0)
                                    : static_cast<__mmask16>((1u << (n - 16)) - 1u);
  __m512 bias0 = _mm512_setzero_ps();
  __m512 bias1 = _mm512_setzero_ps();
  if (params.bias != nullptr) {
    bias0 = _mm512_maskz_loadu_ps(mask0, params.bias);
    bias1 = _mm512_maskz_loadu_ps(mask1, params.bias + 16);
  }
  const __m512 zero = _mm512_setzero_ps();
#pragma GCC unroll 12
  for (int i = 0; i < kMr; ++i) {
    if (i >= m) break;
    float* row = c + static_cast<long>(i) * ldc;
    __m512 v0 = acc0[i];
    __m512 v1 = acc1[i];
    if (params.accumulate) {
      v0 = _mm512_add_ps(v0, _mm512_maskz_loadu_ps(mask0, row));
      v1 = _mm512_add_ps(v1, _mm512_maskz_loadu_ps(mask1, row + 16));
    }
    if (params.bias != nullptr) {
      v0 = _mm512_add_ps(v0, bias0);
      v1 = _mm512_add_ps(v1, bias1);
    }
    if (params.relu) {
      // mask_max: plain _mm512_max_ps trips GCC 12's -Wmaybe-uninitialized.
      v0 = _mm512_mask_max_ps(v0, 0xFFFF, v0, zero);
      v1 = _mm512_mask_max_ps(v1, 0xFFFF, v1, zero);
    }
    _mm512_mask_storeu_ps(row, mask0, v0);
    _mm512_mask_storeu_ps(row + 16, mask1, v1);
  }
}

}  // namespace train
}  // namespace edgeopt
