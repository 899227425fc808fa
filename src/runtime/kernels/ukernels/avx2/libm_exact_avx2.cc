// Float sigmoid and tanh with the bits of the reference's libm calls: 1 / (1 + expf(-x)) and
// tanhf(x), as glibc (2.28 and later) computes expf on x86-64 CPUs with FMA (its double-precision
// method with a 32-entry table of 2^(i/32) and a degree-3 polynomial, FMA variant) and tanhf (the
// fdlibm float method, through expm1f). Every operation of those routines is done here in the
// same order and precision, 8 lanes at a time, the branches as selects. exact_float() models
// (hybrid ops) need their activations bit-identical to the reference's; libm runs them a value at
// a time. libm_exact_test.cc compares against the C library; uk::LibmExactVUnary checks a set of
// probe values at run time and gives these functions only where they match it.
#include <immintrin.h>

#include <cstddef>
#include <cstdint>
#include <cstring>

#include "src/runtime/kernels/ukernels/vunary.h"

namespace edgeopt {
namespace rt {
namespace uk {
namespace avx2 {
namespace {

// bits(2^(i/32)) - (i << 47), i < 32 (2^(i/32) rounded to the nearest double): adding (k << 47)
// for k = i + 32 m gives 2^(k/32).
alignas(32) constexpr uint64_t kExp2Table[32] = {
    0x3ff0000000000000, 0x3fefd9b0d3158574, 0x3fefb5586cf9890f, 0x3fef9301d0125b51,
    0x3fef72b83c7d517b, 0x3fef54873168b9aa, 0x3fef387a6e756238, 0x3fef1e9df51fdee1,
    0x3fef06fe0a31b715, 0x3feef1a7373aa9cb, 0x3feedea64c123422, 0x3feece086061892d,
    0x3feebfdad5362a27, 0x3feeb42b569d4f82, 0x3feeab07dd485429, 0x3feea47eb03a5585,
    0x3feea09e667f3bcd, 0x3fee9f75e8ec5f74, 0x3feea11473eb0187, 0x3feea589994cce13,
    0x3feeace5422aa0db, 0x3feeb737b0cdc5e5, 0x3feec49182a3f090, 0x3feed503b23e255d,
    0x3feee89f995ad3ad, 0x3feeff76f2fb5e47, 0x3fef199bdd85529c, 0x3fef3720dcef9069,
    0x3fef5818dcfba487, 0x3fef7c97337b9b5f, 0x3fefa4afa2a490da, 0x3fefd0765b6e4540};

inline __m256 F(float v) { return _mm256_set1_ps(v); }
inline __m256i I(int32_t v) { return _mm256_set1_epi32(v); }
inline __m256 Bits(__m256i v) { return _mm256_castsi256_ps(v); }
inline __m256i Bits(__m256 v) { return _mm256_castps_si256(v); }
inline __m256 Select(__m256 mask, __m256 yes, __m256 no) { return _mm256_blendv_ps(no, yes, mask); }
inline __m256 Select(__m256i mask, __m256 yes, __m256 no) {
  return _mm256_blendv_ps(no, yes, _mm256_castsi256_ps(mask));
}
// Lanes whose absolute value's bits (ax) are above `bits`.
inline __m256i Above(__m256i ax, int32_t bits) { return _mm256_cmpgt_epi32(ax, I(bits)); }

// expf's main path on 4 lanes: x = k/32 ln2 + r, 2^(k/32) from the table, exp(r) from the
// polynomial; fused multiply-adds where glibc's FMA variant has them.
inline __m128 ExpfMain4(__m128 x) {
  const __m256d xd = _mm256_cvtps_pd(x);
  const __m256d inv_ln2_n = _mm256_set1_pd(0x1.71547652b82fep+5);  // 32 / ln 2
  const __m256d shift = _mm256_set1_pd(0x1.8p+52);                 // rounds z to an integer
  const __m256d z = _mm256_fmadd_pd(inv_ln2_n, xd, shift);
  const __m256i ki = _mm256_castpd_si256(z);
  const __m256d kd = _mm256_sub_pd(z, shift);
  const __m256d r = _mm256_fmsub_pd(inv_ln2_n, xd, kd);
  const __m256i index = _mm256_and_si256(ki, _mm256_set1_epi64x(31));
  __m256i t = _mm256_i64gather_epi64(reinterpret_cast<const long long*>(kExp2Table), index, 8);
  t = _mm256_add_epi64(t, _mm256_slli_epi64(ki, 47));
  const __m256d p = _mm256_fmadd_pd(_mm256_set1_pd(0x1.c6af84b912394p-20), r,
                                    _mm256_set1_pd(0x1.ebfce50fac4f3p-13));
  const __m256d r2 = _mm256_mul_pd(r, r);
  __m256d y = _mm256_fmadd_pd(_mm256_set1_pd(0x1.62e42ff0c52d6p-6), r, _mm256_set1_pd(1.0));
  y = _mm256_fmadd_pd(p, r2, y);
  return _mm256_cvtpd_ps(_mm256_mul_pd(y, _mm256_castsi256_pd(t)));
}

inline __m256 Expf(__m256 x) {
  __m256 y =
      _mm256_set_m128(ExpfMain4(_mm256_extractf128_ps(x, 1)), ExpfMain4(_mm256_castps256_ps128(x)));
  // |x| >= 88: overflow to infinity, underflow to 0 or (the "may underflow" band) to the
  // smallest denormal, NaN through x + x.
  y = Select(_mm256_cmp_ps(x, F(0x1.62e42ep6f), _CMP_GT_OQ), F(__builtin_inff()), y);
  y = Select(_mm256_cmp_ps(x, F(-0x1.9d1d9ep6f), _CMP_LT_OQ), F(0x1p-149f), y);
  y = Select(_mm256_cmp_ps(x, F(-0x1.9fe368p6f), _CMP_LT_OQ), _mm256_setzero_ps(), y);
  return Select(_mm256_cmp_ps(x, x, _CMP_UNORD_Q), _mm256_add_ps(x, x), y);
}

// expm1f(v) for the arguments tanhf gives it: v in [2, 44] or in (-2, 0) (exact only there).
inline __m256 Expm1fForTanh(__m256 v) {
  const __m256i av = _mm256_and_si256(Bits(v), I(0x7fffffff));
  const __m256 negative = _mm256_cmp_ps(v, _mm256_setzero_ps(), _CMP_LT_OQ);
  // k = trunc(v / ln2 +- 1/2); hi - lo = v - k ln2 with ln2 in two parts.
  const __m256 half = Select(negative, F(-0.5f), F(0.5f));
  __m256i k = _mm256_cvttps_epi32(_mm256_add_ps(half, _mm256_mul_ps(F(0x1.715476p+0f), v)));
  const __m256 kf = _mm256_cvtepi32_ps(k);
  __m256 hi = _mm256_sub_ps(v, _mm256_mul_ps(F(0x1.62e3p-1f), kf));
  __m256 lo = _mm256_mul_ps(kf, F(0x1.2fefa2p-17f));
  // 0.5 ln2 < |v| < 1.5 ln2 (here negative): k = -1.
  const __m256i minus_one = _mm256_andnot_si256(Above(av, 0x3f851591), Above(av, 0x3eb17218));
  hi = Select(minus_one, _mm256_add_ps(v, F(0x1.62e3p-1f)), hi);
  lo = Select(minus_one, F(-0x1.2fefa2p-17f), lo);
  k = _mm256_blendv_epi8(k, I(-1), minus_one);
  // |v| <= 0.5 ln2: k = 0, no reduction.
  const __m256i zero = _mm256_cmpgt_epi32(I(0x3eb17219), av);
  __m256 x = _mm256_sub_ps(hi, lo);
  const __m256 c = _mm256_sub_ps(_mm256_sub_ps(hi, x), lo);
  x = Select(zero, v, x);
  k = _mm256_andnot_si256(zero, k);

  const __m256 one = F(1.0f);
  const __m256 hfx = _mm256_mul_ps(x, F(0.5f));
  const __m256 hxs = _mm256_mul_ps(x, hfx);
  __m256 r1 = _mm256_mul_ps(F(-0x1.afdb76p-23f), hxs);
  r1 = _mm256_mul_ps(_mm256_add_ps(r1, F(0x1.0cfca8p-18f)), hxs);
  r1 = _mm256_mul_ps(_mm256_sub_ps(r1, F(0x1.4ce19ap-14f)), hxs);
  r1 = _mm256_mul_ps(_mm256_add_ps(r1, F(0x1.a01a02p-10f)), hxs);
  r1 = _mm256_mul_ps(_mm256_sub_ps(r1, F(0x1.111112p-5f)), hxs);
  r1 = _mm256_add_ps(r1, one);
  const __m256 t = _mm256_sub_ps(F(3.0f), _mm256_mul_ps(hfx, r1));
  const __m256 den = _mm256_sub_ps(F(6.0f), _mm256_mul_ps(t, x));
  const __m256 e = _mm256_mul_ps(_mm256_div_ps(_mm256_sub_ps(r1, t), den), hxs);

  // k = 0.
  const __m256 y0 = _mm256_sub_ps(x, _mm256_sub_ps(_mm256_mul_ps(e, x), hxs));
  // k != 0: the correction, then 2^k (1 + x - e) - 1 by the exponent bits.
  const __m256 ek = _mm256_sub_ps(_mm256_sub_ps(_mm256_mul_ps(_mm256_sub_ps(e, c), x), c), hxs);
  const __m256 e_minus_x = _mm256_sub_ps(ek, x);
  const __m256i exponent = _mm256_slli_epi32(k, 23);
  const __m256 y_minus_one =
      _mm256_mul_ps(_mm256_sub_ps(x, ek), F(0.5f));  // k = -1: ((x - e) / 2) - 1/2
  const __m256 ym1 = _mm256_sub_ps(y_minus_one, F(0.5f));
  // k <= -2 or k > 56.
  const __m256 wide =
      _mm256_sub_ps(Bits(_mm256_add_epi32(Bits(_mm256_sub_ps(one, e_minus_x)), exponent)), one);
  // 2 <= k <= 22: (1 - 2^-k) - (e - x).
  const __m256i one_minus = _mm256_sub_epi32(I(0x3f800000), _mm256_srav_epi32(I(0x1000000), k));
  const __m256 mid =
      Bits(_mm256_add_epi32(Bits(_mm256_sub_ps(Bits(one_minus), e_minus_x)), exponent));
  // 23 <= k <= 56: (x - (e + 2^-k)) + 1.
  const __m256 two_minus_k = Bits(_mm256_slli_epi32(_mm256_sub_epi32(I(0x7f), k), 23));
  const __m256 high = Bits(_mm256_add_epi32(
      Bits(_mm256_add_ps(_mm256_sub_ps(x, _mm256_add_ps(ek, two_minus_k)), one)), exponent));

  __m256 y = Select(_mm256_cmpgt_epi32(k, I(22)), high, mid);
  y = Select(_mm256_or_si256(_mm256_cmpgt_epi32(I(-1), k), _mm256_cmpgt_epi32(k, I(56))), wide, y);
  y = Select(_mm256_cmpeq_epi32(k, I(-1)), ym1, y);
  y = Select(zero, y0, y);
  // |v| < 2^-25: v.
  return Select(_mm256_cmpgt_epi32(I(0x33000000), av), v, y);
}

inline __m256 Tanhf(__m256 x) {
  const __m256i ax_bits = _mm256_and_si256(Bits(x), I(0x7fffffff));
  const __m256 ax = Bits(ax_bits);
  const __m256 one = F(1.0f), two = F(2.0f);
  // |x| >= 1: 1 - 2 / (expm1(2|x|) + 2); else -expm1(-2|x|) / (expm1(-2|x|) + 2).
  const __m256i big = Above(ax_bits, 0x3f7fffff);
  const __m256 t = Expm1fForTanh(Select(big, _mm256_add_ps(ax, ax), _mm256_mul_ps(ax, F(-2.0f))));
  // One division for both: 2 / (t + 2) or -t / (t + 2).
  const __m256 q =
      _mm256_div_ps(Select(big, two, _mm256_xor_ps(t, F(-0.0f))), _mm256_add_ps(t, two));
  __m256 z = Select(big, _mm256_sub_ps(one, q), q);
  z = Select(Above(ax_bits, 0x41afffff), one, z);    // |x| >= 22, and infinities: +-1
  z = _mm256_xor_ps(z, _mm256_and_ps(x, F(-0.0f)));  // -z for negative x
  // |x| < 2^-55 (and 0): x (1 + x).
  z = Select(_mm256_cmpgt_epi32(I(0x24000000), ax_bits), _mm256_mul_ps(_mm256_add_ps(one, x), x),
             z);
  return Select(_mm256_cmp_ps(x, x, _CMP_UNORD_Q), _mm256_add_ps(x, x), z);
}

// kPairs: two vectors per step, whose dependency chains then overlap (sigmoid: 48 -> 36 ns per
// 32 values; tanh's registers would spill).
template <__m256 (*kFn)(__m256), bool kPairs>
void Apply(size_t n, const float* x, float* y) {
  size_t i = 0;
  for (; kPairs && i + 16 <= n; i += 16) {
    const __m256 a = kFn(_mm256_loadu_ps(x + i)), b = kFn(_mm256_loadu_ps(x + i + 8));
    _mm256_storeu_ps(y + i, a);
    _mm256_storeu_ps(y + i + 8, b);
  }
  for (; i + 8 <= n; i += 8) _mm256_storeu_ps(y + i, kFn(_mm256_loadu_ps(x + i)));
  if (i < n) {
    float buf[8] = {};
    std::memcpy(buf, x + i, (n - i) * sizeof(float));
    _mm256_storeu_ps(buf, kFn(_mm256_loadu_ps(buf)));
    std::memcpy(y + i, buf, (n - i) * sizeof(float));
  }
}

inline __m256 Sigmoid(__m256 x) {
  const __m256 one = F(1.0f);
  return _mm256_div_ps(one, _mm256_add_ps(one, Expf(_mm256_xor_ps(x, F(-0.0f)))));
}

}  // namespace

void f32_sigmoid_libm(size_t n, const float* x, float* y, const F32UnaryParams*) {
  Apply<Sigmoid, true>(n, x, y);
}

void f32_tanh_libm(size_t n, const float* x, float* y, const F32UnaryParams*) {
  Apply<Tanhf, false>(n, x, y);
}

}  // namespace avx2
}  // namespace uk
}  // namespace rt
}  // namespace edgeopt
