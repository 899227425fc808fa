// Quantized element-wise microkernels with AVX-512: ADD/SUB, QUANTIZE, DEQUANTIZE. Every result
// equals the reference kernel's (see ukernels.h for the exact formulas).
// GCC 12 reports its own AVX-512 intrinsics (their `_mm512_undefined` operands) as maybe
// uninitialized (GCC bug 105593, fixed in 13).
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#include <immintrin.h>

#include <cmath>
#include <cstdint>
#include <limits>
#include <type_traits>

#include "src/runtime/kernels/ukernels/avx512/avx512_ukernels.h"
#include "src/runtime/kernels/ukernels/avx512/requant_avx512.h"

namespace edgeopt {
namespace rt {
namespace uk {
namespace avx512 {
namespace {

template <bool kSigned>
inline __m512i Load16(const void* p, __mmask16 mask) {
  const __m128i b = _mm_maskz_loadu_epi8(mask, p);
  return kSigned ? _mm512_cvtepi8_epi32(b) : _mm512_cvtepu8_epi32(b);
}

template <bool kSigned>
void QS8VAdd(size_t n, const void* a, const void* b, bool b_scalar, void* out,
             const QS8VAddParams* p) {
  const uint8_t* pa = static_cast<const uint8_t*>(a);
  const uint8_t* pb = static_cast<const uint8_t*>(b);
  uint8_t* po = static_cast<uint8_t*>(out);
  const __m512i za = _mm512_set1_epi32(p->a_zero_point);
  const __m512i zb = _mm512_set1_epi32(p->b_zero_point);
  const __m512i shift = _mm512_set1_epi32(p->left_shift);
  const __m512i lo = _mm512_set1_epi32(p->q.lo);
  const __m512i hi = _mm512_set1_epi32(p->q.hi);
  const __m512i zo = _mm512_set1_epi32(p->q.zero_point);
  __m512i sb_scalar = _mm512_setzero_si512();
  if (b_scalar) {
    const int32_t v = kSigned ? int32_t{static_cast<const int8_t*>(b)[0]} : int32_t{pb[0]};
    sb_scalar = Requantize16<false>(
        _mm512_sllv_epi32(_mm512_sub_epi32(_mm512_set1_epi32(v), zb), shift), &p->b);
  }
  for (size_t i = 0; i < n; i += 16) {
    const __mmask16 mask = TailMask16(static_cast<int>(n - i < 16 ? n - i : 16));
    const __m512i xa =
        _mm512_sllv_epi32(_mm512_sub_epi32(Load16<kSigned>(pa + i, mask), za), shift);
    const __m512i sa = Requantize16<false>(xa, &p->a);
    __m512i sb = sb_scalar;
    if (!b_scalar) {
      const __m512i xb =
          _mm512_sllv_epi32(_mm512_sub_epi32(Load16<kSigned>(pb + i, mask), zb), shift);
      sb = Requantize16<false>(xb, &p->b);
    }
    const __m512i raw = p->subtract ? _mm512_sub_epi32(sa, sb) : _mm512_add_epi32(sa, sb);
    StoreInt8(po + i, Requantize16<false>(raw, &p->out), lo, hi, zo, mask);
  }
}

// The reference's quantization of one value (double division, round half away from zero).
int32_t QuantizeOne(float x, const F32QuantizeParams* p) {
  const double r = std::round(static_cast<double>(x) / static_cast<double>(p->scale));
  const int32_t q = std::isnan(r) ? 0
                    : r >= 2.0e9  ? std::numeric_limits<int32_t>::max() - 65536
                    : r <= -2.0e9 ? std::numeric_limits<int32_t>::min() + 65536
                                  : static_cast<int32_t>(r);
  const int32_t v = q + p->zero_point;
  return v < p->qmin ? p->qmin : (v > p->qmax ? p->qmax : v);
}

// q = x * (1 / scale) in float is within 2^-10 of x / scale while |q| < 2^12, so rounding it
// gives the exact answer unless q is that close to a half; such lanes (rare) are redone by the
// reference's route. Larger |q| saturate either way.
template <bool kSigned>
void F32Quantize(size_t n, const float* x, void* out, const F32QuantizeParams* p) {
  uint8_t* po = static_cast<uint8_t*>(out);
  const __m512 inv = _mm512_set1_ps(p->inv_scale);
  const __m512 half = _mm512_set1_ps(0.5f);
  const __m512 near = _mm512_set1_ps(1.0f / 512.0f);
  const __m512 big = _mm512_set1_ps(4096.0f);
  const __m512 one = _mm512_set1_ps(1.0f);
  const __m512i zp = _mm512_set1_epi32(p->zero_point);
  const __m512i qmin = _mm512_set1_epi32(p->qmin);
  const __m512i qmax = _mm512_set1_epi32(p->qmax);
  for (size_t i = 0; i < n; i += 16) {
    const int count = static_cast<int>(n - i < 16 ? n - i : 16);
    const __mmask16 mask = TailMask16(count);
    const __m512 v = _mm512_maskz_loadu_ps(mask, x + i);
    __m512 q = _mm512_mul_ps(v, inv);
    const __m512 aq = _mm512_abs_ps(q);
    const __mmask16 small = _mm512_cmp_ps_mask(aq, big, _CMP_LT_OQ);  // false for NaN
    const __m512 t = _mm512_roundscale_ps(q, _MM_FROUND_TO_ZERO | _MM_FROUND_NO_EXC);
    const __m512 frac = _mm512_abs_ps(_mm512_sub_ps(q, t));
    const __m512 dist = _mm512_abs_ps(_mm512_sub_ps(frac, half));
    const __mmask16 risky = _mm512_mask_cmp_ps_mask(small & mask, dist, near, _CMP_LT_OQ);
    // Rounded value (half away from zero); large values only need their sign and size; NaN -> 0.
    const __mmask16 up = _mm512_cmp_ps_mask(frac, half, _CMP_GE_OQ);
    __m512 r = _mm512_mask_add_ps(
        t, up, t,
        _mm512_mask_blend_ps(_mm512_cmp_ps_mask(q, _mm512_setzero_ps(), _CMP_LT_OQ), one,
                             _mm512_set1_ps(-1.0f)));
    r = _mm512_mask_blend_ps(
        small, _mm512_min_ps(_mm512_max_ps(q, _mm512_set1_ps(-1.0e6f)), _mm512_set1_ps(1.0e6f)), r);
    const __mmask16 nan = _mm512_cmp_ps_mask(q, q, _CMP_UNORD_Q);
    r = _mm512_mask_blend_ps(nan, r, _mm512_setzero_ps());
    __m512i iv = _mm512_add_epi32(_mm512_cvttps_epi32(r), zp);
    iv = _mm512_min_epi32(_mm512_max_epi32(iv, qmin), qmax);
    _mm512_mask_cvtepi32_storeu_epi8(po + i, mask, iv);
    // The lanes next to a tie (rare) again, by the reference's route.
    for (uint32_t bits = risky; bits != 0; bits &= bits - 1) {
      const int j = __builtin_ctz(bits);
      po[i + j] = static_cast<uint8_t>(QuantizeOne(x[i + j], p));
    }
  }
}

template <bool kSigned>
void Dequantize(size_t n, const void* x, float* out, float scale, int32_t zero_point) {
  const uint8_t* px = static_cast<const uint8_t*>(x);
  const __m512 s = _mm512_set1_ps(scale);
  const __m512i zp = _mm512_set1_epi32(zero_point);
  for (size_t i = 0; i < n; i += 16) {
    const __mmask16 mask = TailMask16(static_cast<int>(n - i < 16 ? n - i : 16));
    const __m512i v = _mm512_sub_epi32(Load16<kSigned>(px + i, mask), zp);
    _mm512_mask_storeu_ps(out + i, mask, _mm512_mul_ps(s, _mm512_cvtepi32_ps(v)));
  }
}

// 16 int8, uint8 or int16 values widened to int32 lanes.
template <typename TIn>
inline __m512i Load16Widened(const TIn* p, __mmask16 mask) {
  if constexpr (sizeof(TIn) == 2) {
    return _mm512_cvtepi16_epi32(_mm256_maskz_loadu_epi16(mask, p));
  } else {
    return Load16<std::is_signed_v<TIn>>(p, mask);
  }
}

// Requantization to int8 / uint8 (the output type only sets the clamp) from int8, uint8 or
// int16 (an int16 layer of an int8 model handing over to an int8 one).
template <typename TIn>
void Q8Requantize(size_t n, const void* x, void* out, const Q8RequantizeParams* p) {
  const TIn* px = static_cast<const TIn*>(x);
  uint8_t* po = static_cast<uint8_t*>(out);
  const __m512i zi = _mm512_set1_epi32(p->input_zero_point);
  const __m512i lo = _mm512_set1_epi32(p->q.lo);
  const __m512i hi = _mm512_set1_epi32(p->q.hi);
  const __m512i zo = _mm512_set1_epi32(p->q.zero_point);
  for (size_t i = 0; i < n; i += 16) {
    const __mmask16 mask = TailMask16(static_cast<int>(n - i < 16 ? n - i : 16));
    const __m512i v = _mm512_sub_epi32(Load16Widened(px + i, mask), zi);
    StoreInt8(po + i, Requantize16<false>(v, &p->rq), lo, hi, zo, mask);
  }
}

template <bool kSigned>
void QS8VMul(size_t n, const void* a, const void* b, bool b_scalar, void* out,
             const QS8VMulParams* p) {
  const uint8_t* pa = static_cast<const uint8_t*>(a);
  const uint8_t* pb = static_cast<const uint8_t*>(b);
  uint8_t* po = static_cast<uint8_t*>(out);
  const __m512i za = _mm512_set1_epi32(p->a_zero_point);
  const __m512i zb = _mm512_set1_epi32(p->b_zero_point);
  const __m512i lo = _mm512_set1_epi32(p->q.lo);
  const __m512i hi = _mm512_set1_epi32(p->q.hi);
  const __m512i zo = _mm512_set1_epi32(p->q.zero_point);
  __m512i yb_scalar = _mm512_setzero_si512();
  if (b_scalar) {
    const int32_t v = kSigned ? int32_t{static_cast<const int8_t*>(b)[0]} : int32_t{pb[0]};
    yb_scalar = _mm512_sub_epi32(_mm512_set1_epi32(v), zb);
  }
  for (size_t i = 0; i < n; i += 16) {
    const __mmask16 mask = TailMask16(static_cast<int>(n - i < 16 ? n - i : 16));
    const __m512i xa = _mm512_sub_epi32(Load16<kSigned>(pa + i, mask), za);
    const __m512i xb = b_scalar ? yb_scalar : _mm512_sub_epi32(Load16<kSigned>(pb + i, mask), zb);
    StoreInt8(po + i, Requantize16<false>(_mm512_mullo_epi32(xa, xb), &p->out), lo, hi, zo, mask);
  }
}

}  // namespace

void qs16_qs8_requantize_ukernel__avx512(size_t n, const void* x, void* out,
                                         const Q8RequantizeParams* p) {
  Q8Requantize<int16_t>(n, x, out, p);
}
void q8_requantize_ukernel__avx512_s8s8(size_t n, const void* x, void* out,
                                        const Q8RequantizeParams* p) {
  Q8Requantize<int8_t>(n, x, out, p);
}
void q8_requantize_ukernel__avx512_s8u8(size_t n, const void* x, void* out,
                                        const Q8RequantizeParams* p) {
  Q8Requantize<int8_t>(n, x, out, p);
}
void q8_requantize_ukernel__avx512_u8s8(size_t n, const void* x, void* out,
                                        const Q8RequantizeParams* p) {
  Q8Requantize<uint8_t>(n, x, out, p);
}
void q8_requantize_ukernel__avx512_u8u8(size_t n, const void* x, void* out,
                                        const Q8RequantizeParams* p) {
  Q8Requantize<uint8_t>(n, x, out, p);
}

void qs8_vadd_minmax_ukernel__avx512_u16(size_t n, const void* a, const void* b, bool b_scalar,
                                         void* out, const QS8VAddParams* p) {
  QS8VAdd<true>(n, a, b, b_scalar, out, p);
}
void qu8_vadd_minmax_ukernel__avx512_u16(size_t n, const void* a, const void* b, bool b_scalar,
                                         void* out, const QS8VAddParams* p) {
  QS8VAdd<false>(n, a, b, b_scalar, out, p);
}
void f32_qs8_vcvt_ukernel__avx512_u16(size_t n, const float* x, void* out,
                                      const F32QuantizeParams* p) {
  F32Quantize<true>(n, x, out, p);
}
void f32_qu8_vcvt_ukernel__avx512_u16(size_t n, const float* x, void* out,
                                      const F32QuantizeParams* p) {
  F32Quantize<false>(n, x, out, p);
}

// float32 -> int16 exactly as the reference: x / scale in double (the same correctly rounded
// quotient), rounded half away from zero from its truncation and the exact fraction left,
// then + zero point and clamped. NaN gives 0; values beyond +-1e9 only need their sign.
void f32_qs16_vcvt_ukernel__avx512_u8(size_t n, const float* x, void* out,
                                      const F32QuantizeParams* p) {
  int16_t* po = static_cast<int16_t*>(out);
  const __m512d scale = _mm512_set1_pd(static_cast<double>(p->scale));
  const __m512d half = _mm512_set1_pd(0.5);
  const __m512d one = _mm512_set1_pd(1.0);
  const __m512d limit = _mm512_set1_pd(1.0e9);
  const __m256i zp = _mm256_set1_epi32(p->zero_point);
  const __m256i qmin = _mm256_set1_epi32(p->qmin);
  const __m256i qmax = _mm256_set1_epi32(p->qmax);
  for (size_t i = 0; i < n; i += 8) {
    const int count = static_cast<int>(n - i < 8 ? n - i : 8);
    const __mmask8 mask = static_cast<__mmask8>((1u << count) - 1u);
    const __m512d q = _mm512_div_pd(_mm512_cvtps_pd(_mm256_maskz_loadu_ps(mask, x + i)), scale);
    const __m512d c = _mm512_min_pd(_mm512_max_pd(q, _mm512_sub_pd(_mm512_setzero_pd(), limit)),
                                    limit);  // NaN -> limit, replaced below
    const __m512d t = _mm512_roundscale_pd(c, _MM_FROUND_TO_ZERO | _MM_FROUND_NO_EXC);
    const __m512d frac = _mm512_sub_pd(c, t);
    __m512d r = _mm512_mask_add_pd(t, _mm512_cmp_pd_mask(frac, half, _CMP_GE_OQ), t, one);
    r = _mm512_mask_sub_pd(
        r, _mm512_cmp_pd_mask(frac, _mm512_sub_pd(_mm512_setzero_pd(), half), _CMP_LE_OQ), r, one);
    r = _mm512_mask_blend_pd(_mm512_cmp_pd_mask(q, q, _CMP_UNORD_Q), r, _mm512_setzero_pd());
    __m256i v = _mm256_add_epi32(_mm512_cvttpd_epi32(r), zp);
    v = _mm256_min_epi32(_mm256_max_epi32(v, qmin), qmax);
    _mm256_mask_cvtepi32_storeu_epi16(po + i, mask, v);
  }
}
void qs8_f32_vcvt_ukernel__avx512_u16(size_t n, const void* x, float* out, float scale,
                                      int32_t zero_point) {
  Dequantize<true>(n, x, out, scale, zero_point);
}
void qu8_f32_vcvt_ukernel__avx512_u16(size_t n, const void* x, float* out, float scale,
                                      int32_t zero_point) {
  Dequantize<false>(n, x, out, scale, zero_point);
}

void qs8_vmul_minmax_ukernel__avx512_u16(size_t n, const void* a, const void* b, bool b_scalar,
                                         void* out, const QS8VMulParams* p) {
  QS8VMul<true>(n, a, b, b_scalar, out, p);
}
void qu8_vmul_minmax_ukernel__avx512_u16(size_t n, const void* a, const void* b, bool b_scalar,
                                         void* out, const QS8VMulParams* p) {
  QS8VMul<false>(n, a, b, b_scalar, out, p);
}

}  // namespace avx512
}  // namespace uk
}  // namespace rt
}  // namespace edgeopt
