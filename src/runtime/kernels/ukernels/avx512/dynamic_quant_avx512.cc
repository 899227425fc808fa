// Run-time quantization of hybrid ops' float inputs with AVX-512F (see ukernels.h): the range
// scan and the rounding loop give the reference's exact results. round(v) half away from zero
// is trunc(v) plus sign(v) when |v - trunc(v)| >= 0.5 (the difference is exact in float).
// GCC 12 reports its own AVX-512 intrinsics (their `_mm512_undefined` operands) as maybe
// uninitialized (GCC bug 105593, fixed in 13).
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#include <immintrin.h>

#include "src/runtime/kernels/ukernels/avx512/avx512_ukernels.h"
#include "src/runtime/kernels/ukernels/avx512/requant_avx512.h"

namespace edgeopt {
namespace rt {
namespace uk {
namespace avx512 {

void f32_range_ukernel__avx512f_u16(size_t n, const float* x, float init_min, float init_max,
                                    float* min, float* max) {
  __m512 lo = _mm512_set1_ps(init_min);
  __m512 hi = _mm512_set1_ps(init_max);
  for (size_t i = 0; i < n; i += 16) {
    const __mmask16 m = TailMask16(static_cast<int>(n - i < 16 ? n - i : 16));
    const __m512 v = _mm512_maskz_loadu_ps(m, x + i);
    // v < acc ? v : acc, lanes past the end keep acc.
    lo = _mm512_mask_min_ps(lo, m, v, lo);
    hi = _mm512_mask_max_ps(hi, m, v, hi);
  }
  // Every lane holds init or a value strictly beyond it: the lane order does not matter.
  float l[16], h[16];
  _mm512_storeu_ps(l, lo);
  _mm512_storeu_ps(h, hi);
  float a = l[0], b = h[0];
  for (int i = 1; i < 16; ++i) {
    a = l[i] < a ? l[i] : a;
    b = h[i] > b ? h[i] : b;
  }
  *min = a;
  *max = b;
}

void f32_qd8_vcvt_ukernel__avx512f_u16(size_t n, const float* x, int8_t* q, float inverse,
                                       float zero_point, float qmin) {
  const __m512 inv = _mm512_set1_ps(inverse);
  const __m512 zp = _mm512_set1_ps(zero_point);
  const __m512 lo = _mm512_set1_ps(qmin);
  const __m512 hi = _mm512_set1_ps(127.0f);
  const __m512 half = _mm512_set1_ps(0.5f);
  const __m512 one = _mm512_set1_ps(1.0f);
  const __m512 sign = _mm512_set1_ps(-0.0f);
  for (size_t i = 0; i < n; i += 16) {
    const __mmask16 m = TailMask16(static_cast<int>(n - i < 16 ? n - i : 16));
    const __m512 v = _mm512_add_ps(zp, _mm512_mul_ps(_mm512_maskz_loadu_ps(m, x + i), inv));
    const __m512 t = _mm512_roundscale_ps(v, _MM_FROUND_TO_ZERO | _MM_FROUND_NO_EXC);
    const __mmask16 up = _mm512_cmp_ps_mask(_mm512_abs_ps(_mm512_sub_ps(v, t)), half, _CMP_GE_OQ);
    const __m512 step = _mm512_or_ps(_mm512_and_ps(v, sign), one);  // +-1 with v's sign
    const __m512 r = _mm512_mask_add_ps(t, up, t, step);
    // max(r, lo): a NaN gives lo, as std::max(lo, r).
    const __m512 c = _mm512_min_ps(_mm512_max_ps(r, lo), hi);
    _mm512_mask_cvtepi32_storeu_epi8(q + i, m, _mm512_cvttps_epi32(c));
  }
}

}  // namespace avx512
}  // namespace uk
}  // namespace rt
}  // namespace edgeopt
