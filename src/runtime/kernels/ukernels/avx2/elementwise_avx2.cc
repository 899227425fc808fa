// Quantized element-wise microkernels with AVX2 (8 lanes), same results as the reference (see
// ukernels.h and the AVX-512 versions), plus the int8 -> u-domain copy and row byte sums.
#include <immintrin.h>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <type_traits>

#include "src/runtime/kernels/ukernels/avx2/avx2_ukernels.h"
#include "src/runtime/kernels/ukernels/avx2/requant_avx2.h"

namespace edgeopt {
namespace rt {
namespace uk {
namespace avx2 {
namespace {

template <bool kSigned>
inline __m256i Load8Bytes(const uint8_t* p, int n) {
  const __m128i b = _mm_cvtsi64_si128(LoadUpTo8(p, n));
  return kSigned ? _mm256_cvtepi8_epi32(b) : _mm256_cvtepu8_epi32(b);
}

template <bool kSigned>
void QS8VAdd(size_t n, const void* a, const void* b, bool b_scalar, void* out,
             const QS8VAddParams* p) {
  const uint8_t* pa = static_cast<const uint8_t*>(a);
  const uint8_t* pb = static_cast<const uint8_t*>(b);
  uint8_t* po = static_cast<uint8_t*>(out);
  const __m256i za = _mm256_set1_epi32(p->a_zero_point);
  const __m256i zb = _mm256_set1_epi32(p->b_zero_point);
  const __m256i shift = _mm256_set1_epi32(p->left_shift);
  const __m256i lo = _mm256_set1_epi32(p->q.lo);
  const __m256i hi = _mm256_set1_epi32(p->q.hi);
  const __m256i zo = _mm256_set1_epi32(p->q.zero_point);
  __m256i sb_scalar = _mm256_setzero_si256();
  if (b_scalar) {
    const int32_t v = kSigned ? int32_t{static_cast<const int8_t*>(b)[0]} : int32_t{pb[0]};
    sb_scalar = Requantize8<false>(
        _mm256_sllv_epi32(_mm256_sub_epi32(_mm256_set1_epi32(v), zb), shift), &p->b, 0);
  }
  for (size_t i = 0; i < n; i += 8) {
    const int count = static_cast<int>(n - i < 8 ? n - i : 8);
    const __m256i xa =
        _mm256_sllv_epi32(_mm256_sub_epi32(Load8Bytes<kSigned>(pa + i, count), za), shift);
    const __m256i sa = Requantize8<false>(xa, &p->a, 0);
    __m256i sb = sb_scalar;
    if (!b_scalar) {
      const __m256i xb =
          _mm256_sllv_epi32(_mm256_sub_epi32(Load8Bytes<kSigned>(pb + i, count), zb), shift);
      sb = Requantize8<false>(xb, &p->b, 0);
    }
    const __m256i raw = p->subtract ? _mm256_sub_epi32(sa, sb) : _mm256_add_epi32(sa, sb);
    StoreInt8x8(po + i, Requantize8<false>(raw, &p->out, 0), lo, hi, zo, count);
  }
}

int32_t QuantizeOne(float x, const F32QuantizeParams* p) {
  const double r = std::round(static_cast<double>(x) / static_cast<double>(p->scale));
  const int32_t q = std::isnan(r) ? 0
                    : r >= 2.0e9  ? std::numeric_limits<int32_t>::max() - 65536
                    : r <= -2.0e9 ? std::numeric_limits<int32_t>::min() + 65536
                                  : static_cast<int32_t>(r);
  const int32_t v = q + p->zero_point;
  return v < p->qmin ? p->qmin : (v > p->qmax ? p->qmax : v);
}

// As the AVX-512 version: float product, exact unless within 2^-9 of a rounding tie.
void F32Quantize(size_t n, const float* x, void* out, const F32QuantizeParams* p) {
  uint8_t* po = static_cast<uint8_t*>(out);
  const __m256 inv = _mm256_set1_ps(p->inv_scale);
  const __m256 half = _mm256_set1_ps(0.5f);
  const __m256 near = _mm256_set1_ps(1.0f / 512.0f);
  const __m256 big = _mm256_set1_ps(4096.0f);
  const __m256 sign_mask = _mm256_set1_ps(-0.0f);
  const __m256i zp = _mm256_set1_epi32(p->zero_point);
  const __m256i qmin = _mm256_set1_epi32(p->qmin);
  const __m256i qmax = _mm256_set1_epi32(p->qmax);
  for (size_t i = 0; i < n; i += 8) {
    const int count = static_cast<int>(n - i < 8 ? n - i : 8);
    const __m256i lanes = TailMask8(count);
    const __m256 v = _mm256_maskload_ps(x + i, lanes);
    const __m256 q = _mm256_mul_ps(v, inv);
    const __m256 aq = _mm256_andnot_ps(sign_mask, q);
    const __m256 small = _mm256_cmp_ps(aq, big, _CMP_LT_OQ);  // false for NaN
    const __m256 t = _mm256_round_ps(q, _MM_FROUND_TO_ZERO | _MM_FROUND_NO_EXC);
    const __m256 frac = _mm256_andnot_ps(sign_mask, _mm256_sub_ps(q, t));
    const __m256 dist = _mm256_andnot_ps(sign_mask, _mm256_sub_ps(frac, half));
    const __m256 risky = _mm256_and_ps(_mm256_and_ps(small, _mm256_castsi256_ps(lanes)),
                                       _mm256_cmp_ps(dist, near, _CMP_LT_OQ));
    // t + sign(q) where frac >= 0.5; large values only need sign and size; NaN -> 0.
    const __m256 up = _mm256_cmp_ps(frac, half, _CMP_GE_OQ);
    const __m256 step = _mm256_or_ps(_mm256_and_ps(q, sign_mask), _mm256_set1_ps(1.0f));
    __m256 r = _mm256_add_ps(t, _mm256_and_ps(up, step));
    const __m256 clamped =
        _mm256_min_ps(_mm256_max_ps(q, _mm256_set1_ps(-1.0e6f)), _mm256_set1_ps(1.0e6f));
    r = _mm256_blendv_ps(clamped, r, small);
    r = _mm256_andnot_ps(_mm256_cmp_ps(q, q, _CMP_UNORD_Q), r);
    __m256i iv = _mm256_add_epi32(_mm256_cvttps_epi32(r), zp);
    iv = _mm256_min_epi32(_mm256_max_epi32(iv, qmin), qmax);
    StoreInt8x8(po + i, iv, qmin, qmax, _mm256_setzero_si256(), count);
    // The lanes next to a tie (rare) again, by the reference's route.
    for (uint32_t bits = static_cast<uint32_t>(_mm256_movemask_ps(risky)); bits != 0;
         bits &= bits - 1) {
      const int j = __builtin_ctz(bits);
      po[i + j] = static_cast<uint8_t>(QuantizeOne(x[i + j], p));
    }
  }
}

template <bool kSigned>
void Dequantize(size_t n, const void* x, float* out, float scale, int32_t zero_point) {
  const uint8_t* px = static_cast<const uint8_t*>(x);
  const __m256 s = _mm256_set1_ps(scale);
  const __m256i zp = _mm256_set1_epi32(zero_point);
  for (size_t i = 0; i < n; i += 8) {
    const int count = static_cast<int>(n - i < 8 ? n - i : 8);
    const __m256i v = _mm256_sub_epi32(Load8Bytes<kSigned>(px + i, count), zp);
    _mm256_maskstore_ps(out + i, TailMask8(count), _mm256_mul_ps(s, _mm256_cvtepi32_ps(v)));
  }
}

// 8 int8, uint8 or int16 values (a zero-filled copy for the tail) widened to int32 lanes.
template <typename TIn>
inline __m256i Load8Widened(const TIn* p, int count) {
  if constexpr (sizeof(TIn) == 2) {
    __m128i h;
    if (count == 8) {
      h = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
    } else {
      int16_t tmp[8] = {};
      std::memcpy(tmp, p, static_cast<size_t>(count) * sizeof(int16_t));
      h = _mm_loadu_si128(reinterpret_cast<const __m128i*>(tmp));
    }
    return _mm256_cvtepi16_epi32(h);
  } else {
    return Load8Bytes<std::is_signed_v<TIn>>(reinterpret_cast<const uint8_t*>(p), count);
  }
}

// Requantization to int8 / uint8 (the output type only sets the clamp) from int8, uint8 or
// int16 (an int16 layer of an int8 model handing over to an int8 one).
template <typename TIn>
void Q8Requantize(size_t n, const void* x, void* out, const Q8RequantizeParams* p) {
  const TIn* px = static_cast<const TIn*>(x);
  uint8_t* po = static_cast<uint8_t*>(out);
  const __m256i zi = _mm256_set1_epi32(p->input_zero_point);
  const __m256i lo = _mm256_set1_epi32(p->q.lo);
  const __m256i hi = _mm256_set1_epi32(p->q.hi);
  const __m256i zo = _mm256_set1_epi32(p->q.zero_point);
  for (size_t i = 0; i < n; i += 8) {
    const int count = static_cast<int>(n - i < 8 ? n - i : 8);
    const __m256i v = _mm256_sub_epi32(Load8Widened(px + i, count), zi);
    StoreInt8x8(po + i, Requantize8<false>(v, &p->rq, 0), lo, hi, zo, count);
  }
}

template <bool kSigned>
void QS8VMul(size_t n, const void* a, const void* b, bool b_scalar, void* out,
             const QS8VMulParams* p) {
  const uint8_t* pa = static_cast<const uint8_t*>(a);
  const uint8_t* pb = static_cast<const uint8_t*>(b);
  uint8_t* po = static_cast<uint8_t*>(out);
  const __m256i za = _mm256_set1_epi32(p->a_zero_point);
  const __m256i zb = _mm256_set1_epi32(p->b_zero_point);
  const __m256i lo = _mm256_set1_epi32(p->q.lo);
  const __m256i hi = _mm256_set1_epi32(p->q.hi);
  const __m256i zo = _mm256_set1_epi32(p->q.zero_point);
  __m256i yb_scalar = _mm256_setzero_si256();
  if (b_scalar) {
    const int32_t v = kSigned ? int32_t{static_cast<const int8_t*>(b)[0]} : int32_t{pb[0]};
    yb_scalar = _mm256_sub_epi32(_mm256_set1_epi32(v), zb);
  }
  for (size_t i = 0; i < n; i += 8) {
    const int count = static_cast<int>(n - i < 8 ? n - i : 8);
    const __m256i xa = _mm256_sub_epi32(Load8Bytes<kSigned>(pa + i, count), za);
    const __m256i xb =
        b_scalar ? yb_scalar : _mm256_sub_epi32(Load8Bytes<kSigned>(pb + i, count), zb);
    StoreInt8x8(po + i, Requantize8<false>(_mm256_mullo_epi32(xa, xb), &p->out, 0), lo, hi, zo,
                count);
  }
}

}  // namespace

void qs8_vadd_minmax_ukernel__avx2_u8(size_t n, const void* a, const void* b, bool b_scalar,
                                      void* out, const QS8VAddParams* p) {
  QS8VAdd<true>(n, a, b, b_scalar, out, p);
}
void qu8_vadd_minmax_ukernel__avx2_u8(size_t n, const void* a, const void* b, bool b_scalar,
                                      void* out, const QS8VAddParams* p) {
  QS8VAdd<false>(n, a, b, b_scalar, out, p);
}
void f32_q8_vcvt_ukernel__avx2_u8(size_t n, const float* x, void* out, const F32QuantizeParams* p) {
  F32Quantize(n, x, out, p);
}
// float32 -> int16 exactly as the reference (the AVX-512 kernel's steps, 4 doubles a vector):
// x / scale in double, rounded half away from zero from its truncation and the exact fraction
// left, + zero point, clamped; NaN gives 0, values beyond +-1e9 only need their sign.
void f32_qs16_vcvt_ukernel__avx2_u4(size_t n, const float* x, void* out,
                                    const F32QuantizeParams* p) {
  int16_t* po = static_cast<int16_t*>(out);
  const __m256d scale = _mm256_set1_pd(static_cast<double>(p->scale));
  const __m256d half = _mm256_set1_pd(0.5), neg_half = _mm256_set1_pd(-0.5);
  const __m256d one = _mm256_set1_pd(1.0);
  const __m256d limit = _mm256_set1_pd(1.0e9), neg_limit = _mm256_set1_pd(-1.0e9);
  const __m128i zp = _mm_set1_epi32(p->zero_point);
  const __m128i qmin = _mm_set1_epi32(p->qmin), qmax = _mm_set1_epi32(p->qmax);
  for (size_t i = 0; i < n; i += 4) {
    const size_t count = n - i < 4 ? n - i : 4;
    __m128 xv;
    if (count == 4) {
      xv = _mm_loadu_ps(x + i);
    } else {
      float in[4] = {0.0f, 0.0f, 0.0f, 0.0f};
      std::memcpy(in, x + i, count * sizeof(float));
      xv = _mm_loadu_ps(in);
    }
    const __m256d q = _mm256_div_pd(_mm256_cvtps_pd(xv), scale);
    const __m256d c = _mm256_min_pd(_mm256_max_pd(q, neg_limit), limit);  // NaN: replaced below
    const __m256d t = _mm256_round_pd(c, _MM_FROUND_TO_ZERO | _MM_FROUND_NO_EXC);
    const __m256d frac = _mm256_sub_pd(c, t);
    __m256d r = _mm256_add_pd(t, _mm256_and_pd(_mm256_cmp_pd(frac, half, _CMP_GE_OQ), one));
    r = _mm256_sub_pd(r, _mm256_and_pd(_mm256_cmp_pd(frac, neg_half, _CMP_LE_OQ), one));
    r = _mm256_andnot_pd(_mm256_cmp_pd(q, q, _CMP_UNORD_Q), r);
    __m128i v = _mm_add_epi32(_mm256_cvttpd_epi32(r), zp);
    v = _mm_min_epi32(_mm_max_epi32(v, qmin), qmax);
    const __m128i h = _mm_packs_epi32(v, v);  // in range after the clamp
    if (count == 4) {
      _mm_storel_epi64(reinterpret_cast<__m128i*>(po + i), h);
    } else {
      int16_t o[8];
      _mm_storeu_si128(reinterpret_cast<__m128i*>(o), h);
      std::memcpy(po + i, o, count * sizeof(int16_t));
    }
  }
}
void qs8_f32_vcvt_ukernel__avx2_u8(size_t n, const void* x, float* out, float scale,
                                   int32_t zero_point) {
  Dequantize<true>(n, x, out, scale, zero_point);
}
void qu8_f32_vcvt_ukernel__avx2_u8(size_t n, const void* x, float* out, float scale,
                                   int32_t zero_point) {
  Dequantize<false>(n, x, out, scale, zero_point);
}
void qs16_qs8_requantize_ukernel__avx2(size_t n, const void* x, void* out,
                                       const Q8RequantizeParams* p) {
  Q8Requantize<int16_t>(n, x, out, p);
}
void qs8_requantize_ukernel__avx2(size_t n, const void* x, void* out, const Q8RequantizeParams* p) {
  Q8Requantize<int8_t>(n, x, out, p);
}
void qu8_requantize_ukernel__avx2(size_t n, const void* x, void* out, const Q8RequantizeParams* p) {
  Q8Requantize<uint8_t>(n, x, out, p);
}

void xor80_copy_ukernel__avx2(const int8_t* src, uint8_t* dst, size_t n) {
  const __m256i flip = _mm256_set1_epi8(static_cast<char>(0x80));
  size_t i = 0;
  for (; i + 32 <= n; i += 32) {
    const __m256i v = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(src + i));
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(dst + i), _mm256_xor_si256(v, flip));
  }
  for (; i < n; ++i) dst[i] = static_cast<uint8_t>(src[i]) ^ 0x80;
}

void u8_rowsum_ukernel__avx2(const uint8_t* src, int pixels, int channels, ptrdiff_t stride,
                             int32_t* sums) {
  const __m256i zero = _mm256_setzero_si256();
  for (int p = 0; p < pixels; ++p) {
    const uint8_t* s = src + p * stride;
    __m256i acc = zero;
    int c = 0;
    for (; c + 32 <= channels; c += 32) {
      acc = _mm256_add_epi64(
          acc, _mm256_sad_epu8(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(s + c)), zero));
    }
    int64_t lanes[4];
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(lanes), acc);
    int64_t total = lanes[0] + lanes[1] + lanes[2] + lanes[3];
    for (; c < channels; ++c) total += s[c];
    sums[p] = static_cast<int32_t>(total);
  }
}

void qs8_vmul_minmax_ukernel__avx2_u8(size_t n, const void* a, const void* b, bool b_scalar,
                                      void* out, const QS8VMulParams* p) {
  QS8VMul<true>(n, a, b, b_scalar, out, p);
}
void qu8_vmul_minmax_ukernel__avx2_u8(size_t n, const void* a, const void* b, bool b_scalar,
                                      void* out, const QS8VMulParams* p) {
  QS8VMul<false>(n, a, b, b_scalar, out, p);
}

}  // namespace avx2
}  // namespace uk
}  // namespace rt
}  // namespace edgeopt
