// Element-wise helpers of the qs8 operators with AVX-512: the int8 -> u-domain copy and per-row
// byte sums.
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

void xor80_copy_ukernel__avx512(const int8_t* src, uint8_t* dst, size_t n) {
  const __m512i flip = _mm512_set1_epi8(static_cast<char>(0x80));
  size_t i = 0;
  for (; i + 256 <= n; i += 256) {
    for (int j = 0; j < 4; ++j) {
      _mm512_storeu_si512(dst + i + 64 * j,
                          _mm512_xor_si512(_mm512_loadu_si512(src + i + 64 * j), flip));
    }
  }
  for (; i + 64 <= n; i += 64) {
    _mm512_storeu_si512(dst + i, _mm512_xor_si512(_mm512_loadu_si512(src + i), flip));
  }
  if (i < n) {
    const __mmask64 mask = (uint64_t{1} << (n - i)) - 1;
    _mm512_mask_storeu_epi8(dst + i, mask,
                            _mm512_xor_si512(_mm512_maskz_loadu_epi8(mask, src + i), flip));
  }
}

void u8_rowsum_ukernel__avx512(const uint8_t* src, int pixels, int channels, ptrdiff_t stride,
                               int32_t* sums) {
  const __m512i zero = _mm512_setzero_si512();
  for (int p = 0; p < pixels; ++p) {
    const uint8_t* s = src + p * stride;
    __m512i acc = zero;
    int c = 0;
    for (; c + 64 <= channels; c += 64) {
      acc = _mm512_add_epi64(acc, _mm512_sad_epu8(_mm512_loadu_si512(s + c), zero));
    }
    if (c < channels) {
      const __mmask64 mask = (uint64_t{1} << (channels - c)) - 1;
      acc = _mm512_add_epi64(acc, _mm512_sad_epu8(_mm512_maskz_loadu_epi8(mask, s + c), zero));
    }
    sums[p] = static_cast<int32_t>(_mm512_reduce_add_epi64(acc));
  }
}

}  // namespace avx512
}  // namespace uk
}  // namespace rt
}  // namespace edgeopt
