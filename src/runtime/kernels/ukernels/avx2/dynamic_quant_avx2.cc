// Run-time quantization of hybrid ops' float inputs with AVX2 (see the AVX-512 version).
#include <immintrin.h>

#include "src/runtime/kernels/ukernels/avx2/avx2_ukernels.h"
#include "src/runtime/kernels/ukernels/avx2/requant_avx2.h"

namespace edgeopt {
namespace rt {
namespace uk {
namespace avx2 {

void f32_range_ukernel__avx2_u8(size_t n, const float* x, float init_min, float init_max,
                                float* min, float* max) {
  const __m256 init_lo = _mm256_set1_ps(init_min);
  const __m256 init_hi = _mm256_set1_ps(init_max);
  __m256 lo = init_lo, hi = init_hi;
  for (size_t i = 0; i < n; i += 8) {
    const int count = static_cast<int>(n - i < 8 ? n - i : 8);
    const __m256i m = TailMask8(count);
    // Lanes past the end read init (it never replaces acc).
    const __m256 mf = _mm256_castsi256_ps(m);
    const __m256 v = _mm256_maskload_ps(x + i, m);
    lo = _mm256_min_ps(_mm256_blendv_ps(init_lo, v, mf), lo);
    hi = _mm256_max_ps(_mm256_blendv_ps(init_hi, v, mf), hi);
  }
  float l[8], h[8];
  _mm256_storeu_ps(l, lo);
  _mm256_storeu_ps(h, hi);
  float a = l[0], b = h[0];
  for (int i = 1; i < 8; ++i) {
    a = l[i] < a ? l[i] : a;
    b = h[i] > b ? h[i] : b;
  }
  *min = a;
  *max = b;
}

void f32_qd8_vcvt_ukernel__avx2_u8(size_t n, const float* x, int8_t* q, float inverse,
                                   float zero_point, float qmin) {
  const __m256 inv = _mm256_set1_ps(inverse);
  const __m256 zp = _mm256_set1_ps(zero_point);
  const __m256 lo = _mm256_set1_ps(qmin);
  const __m256 hi = _mm256_set1_ps(127.0f);
  const __m256 half = _mm256_set1_ps(0.5f);
  const __m256 one = _mm256_set1_ps(1.0f);
  const __m256 sign = _mm256_set1_ps(-0.0f);
  const __m256i ilo = _mm256_set1_epi32(-128), ihi = _mm256_set1_epi32(127);
  for (size_t i = 0; i < n; i += 8) {
    const int count = static_cast<int>(n - i < 8 ? n - i : 8);
    const __m256 v =
        _mm256_add_ps(zp, _mm256_mul_ps(_mm256_maskload_ps(x + i, TailMask8(count)), inv));
    const __m256 t = _mm256_round_ps(v, _MM_FROUND_TO_ZERO | _MM_FROUND_NO_EXC);
    const __m256 up = _mm256_cmp_ps(_mm256_andnot_ps(sign, _mm256_sub_ps(v, t)), half, _CMP_GE_OQ);
    const __m256 step = _mm256_or_ps(_mm256_and_ps(v, sign), one);
    const __m256 r = _mm256_add_ps(t, _mm256_and_ps(up, step));
    const __m256 c = _mm256_min_ps(_mm256_max_ps(r, lo), hi);
    StoreInt8x8(q + i, _mm256_cvttps_epi32(c), ilo, ihi, _mm256_setzero_si256(), count);
  }
}

}  // namespace avx2
}  // namespace uk
}  // namespace rt
}  // namespace edgeopt
