// AVX-512 requantization of 16 int32 accumulators (see RequantBlock16 in ukernels.h). Included
// only by files compiled with the AVX-512 flags.
#ifndef EDGEOPT_SRC_RUNTIME_KERNELS_UKERNELS_AVX512_REQUANT_AVX512_H_
#define EDGEOPT_SRC_RUNTIME_KERNELS_UKERNELS_AVX512_REQUANT_AVX512_H_

#include <immintrin.h>

#include "src/runtime/kernels/ukernels/ukernels.h"

namespace edgeopt {
namespace rt {
namespace uk {
namespace avx512 {

// Requantizes 16 lanes; kRuy selects ruy's x86 rounding, else TFLite's reference rounding.
template <bool kRuy>
inline __m512i Requantize16(__m512i acc, const RequantBlock16* r) {
  const __m512i v = _mm512_sllv_epi32(acc, _mm512_load_si512(r->lshift));
  const __m512i v_odd = _mm512_shuffle_epi32(v, _MM_PERM_CDAB);
  __m512i pe = _mm512_mul_epi32(v, _mm512_load_si512(r->mult));
  __m512i po = _mm512_mul_epi32(v_odd, _mm512_load_si512(r->mult_odd));
  if (kRuy) {
    pe = _mm512_add_epi64(pe, _mm512_load_si512(r->round_even));
    po = _mm512_add_epi64(po, _mm512_load_si512(r->round_odd));
  } else {
    // SRDHM < 0 exactly when p < -2^30.
    const __m512i limit = _mm512_set1_epi64(-(int64_t{1} << 30));
    const __mmask8 ne = _mm512_cmplt_epi64_mask(pe, limit);
    const __mmask8 no = _mm512_cmplt_epi64_mask(po, limit);
    pe = _mm512_add_epi64(pe, _mm512_load_si512(r->round_even));
    po = _mm512_add_epi64(po, _mm512_load_si512(r->round_odd));
    pe = _mm512_mask_sub_epi64(pe, ne, pe, _mm512_load_si512(r->neg_even));
    po = _mm512_mask_sub_epi64(po, no, po, _mm512_load_si512(r->neg_odd));
  }
  pe = _mm512_srav_epi64(pe, _mm512_load_si512(r->shift_even));
  po = _mm512_srav_epi64(po, _mm512_load_si512(r->shift_odd));
  // Even channels from pe's low dwords, odd channels from po's low dwords.
  return _mm512_mask_shuffle_epi32(pe, 0xAAAA, po, _MM_PERM_CDAB);
}

// Clamps to [lo, hi], adds the zero point and stores the low `mask` lanes as int8 / uint8.
inline void StoreInt8(void* dst, __m512i v, __m512i lo, __m512i hi, __m512i zp, __mmask16 mask) {
  v = _mm512_add_epi32(_mm512_min_epi32(_mm512_max_epi32(v, lo), hi), zp);
  _mm512_mask_cvtepi32_storeu_epi8(dst, mask, v);
}

// The low n lanes; none for n <= 0 (tiles whose later vectors lie past the last column).
inline __mmask16 TailMask16(int n) {
  if (n <= 0) return 0;
  return n >= 16 ? static_cast<__mmask16>(0xFFFF) : static_cast<__mmask16>((1u << n) - 1u);
}

}  // namespace avx512
}  // namespace uk
}  // namespace rt
}  // namespace edgeopt

#endif  // EDGEOPT_SRC_RUNTIME_KERNELS_UKERNELS_AVX512_REQUANT_AVX512_H_
