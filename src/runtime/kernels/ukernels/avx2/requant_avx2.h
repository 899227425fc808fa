// AVX2 requantization of 8 int32 accumulators, half of a RequantBlock16 (ukernels.h). Included
// only by files compiled with the AVX2 flags.
#ifndef EDGEOPT_SRC_RUNTIME_KERNELS_UKERNELS_AVX2_REQUANT_AVX2_H_
#define EDGEOPT_SRC_RUNTIME_KERNELS_UKERNELS_AVX2_REQUANT_AVX2_H_

#include <immintrin.h>

#include <cstring>

#include "src/runtime/kernels/ukernels/ukernels.h"

namespace edgeopt {
namespace rt {
namespace uk {
namespace avx2 {

inline __m256i Load8(const int32_t* p) {
  return _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p));
}
inline __m256i Load4x64(const int64_t* p) {
  return _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p));
}

// Arithmetic right shift of 64-bit lanes by per-lane counts (AVX2 has only the logical one).
inline __m256i SravEpi64(__m256i x, __m256i count) {
  const __m256i bias = _mm256_set1_epi64x(INT64_MIN);
  return _mm256_sub_epi64(_mm256_srlv_epi64(_mm256_xor_si256(x, bias), count),
                          _mm256_srlv_epi64(bias, count));
}

// Requantizes channels [8 * half, 8 * half + 8) of `r`; kRuy: ruy's rounding, else the
// reference's (see RequantBlock16).
template <bool kRuy>
inline __m256i Requantize8(__m256i acc, const RequantBlock16* r, int half) {
  const int c = 8 * half, q = 4 * half;
  const __m256i v = _mm256_sllv_epi32(acc, Load8(r->lshift + c));
  const __m256i v_odd = _mm256_shuffle_epi32(v, 0xB1);
  __m256i pe = _mm256_mul_epi32(v, Load8(r->mult + c));
  __m256i po = _mm256_mul_epi32(v_odd, Load8(r->mult_odd + c));
  if (!kRuy) {
    const __m256i limit = _mm256_set1_epi64x(-(int64_t{1} << 30));
    const __m256i ne = _mm256_cmpgt_epi64(limit, pe);
    const __m256i no = _mm256_cmpgt_epi64(limit, po);
    pe = _mm256_sub_epi64(pe, _mm256_and_si256(ne, Load4x64(r->neg_even + q)));
    po = _mm256_sub_epi64(po, _mm256_and_si256(no, Load4x64(r->neg_odd + q)));
  }
  pe = _mm256_add_epi64(pe, Load4x64(r->round_even + q));
  po = _mm256_add_epi64(po, Load4x64(r->round_odd + q));
  pe = SravEpi64(pe, Load4x64(r->shift_even + q));
  po = SravEpi64(po, Load4x64(r->shift_odd + q));
  return _mm256_blend_epi32(pe, _mm256_shuffle_epi32(po, 0xB1), 0xAA);
}

// The 8 bytes at p, or only the first n < 8 of them (the rest 0): a single 8-byte load whenever
// n >= 8 (a memcpy of a run-time length is a library call).
inline int64_t LoadUpTo8(const void* p, int n) {
  int64_t v = 0;
  if (n >= 8) {
    std::memcpy(&v, p, 8);
  } else {
    std::memcpy(&v, p, static_cast<size_t>(n));
  }
  return v;
}

// Clamps to [lo, hi], adds the zero point and stores the low `n` (<= 8) lanes as bytes.
inline void StoreInt8x8(void* dst, __m256i v, __m256i lo, __m256i hi, __m256i zp, int n) {
  v = _mm256_add_epi32(_mm256_min_epi32(_mm256_max_epi32(v, lo), hi), zp);
  const __m256i bytes = _mm256_shuffle_epi8(
      v, _mm256_setr_epi8(0, 4, 8, 12, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, 0, 4, 8, 12,
                          -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1));
  const __m256i packed =
      _mm256_permutevar8x32_epi32(bytes, _mm256_setr_epi32(0, 4, 1, 1, 1, 1, 1, 1));
  const int64_t out = _mm_cvtsi128_si64(_mm256_castsi256_si128(packed));
  if (n >= 8) {
    std::memcpy(dst, &out, 8);
  } else {
    std::memcpy(dst, &out, static_cast<size_t>(n));
  }
}

// Mask of the first n (<= 8) 32-bit lanes.
inline __m256i TailMask8(int n) {
  const __m256i idx = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
  return _mm256_cmpgt_epi32(_mm256_set1_epi32(n), idx);
}

}  // namespace avx2
}  // namespace uk
}  // namespace rt
}  // namespace edgeopt

#endif  // EDGEOPT_SRC_RUNTIME_KERNELS_UKERNELS_AVX2_REQUANT_AVX2_H_
