// int8 RESIZE_BILINEAR with AVX2 (ResizeRowS8Fn / ResizeMixS8Fn in ukernels.h): exact integer
// arithmetic, the same values as the scalar passes in resize.cc.
#include <immintrin.h>

#include <cstdint>
#include <cstring>

#include "src/runtime/kernels/ukernels/avx2/avx2_ukernels.h"

namespace edgeopt {
namespace rt {
namespace uk {
namespace avx2 {

// Along x, 8 channels per step: the bytes of the two input pixels interleaved and widened to
// int16 pairs, then one vpmaddwd with the pair (1024 - w1, w1) (both fit int16) gives the 8 int32
// sums exactly. The last depth % 8 channels one by one.
void resize_row_s8_ukernel__avx2(const int8_t* src, int depth, int width, const ResizeTap* taps,
                                 int32_t* h) {
  for (int x = 0; x < width; ++x, h += depth) {
    const ResizeTap& t = taps[x];
    const int8_t* a = src + static_cast<ptrdiff_t>(t.lo) * depth;
    const int8_t* b = src + static_cast<ptrdiff_t>(t.hi) * depth;
    const int32_t w0 = (1 << 10) - t.w1;
    const __m256i w = _mm256_set1_epi32(static_cast<int32_t>((static_cast<uint32_t>(t.w1) << 16) |
                                                             (static_cast<uint32_t>(w0) & 0xFFFF)));
    int c = 0;
    for (; c + 8 <= depth; c += 8) {
      const __m128i va = _mm_loadl_epi64(reinterpret_cast<const __m128i*>(a + c));
      const __m128i vb = _mm_loadl_epi64(reinterpret_cast<const __m128i*>(b + c));
      const __m256i pairs = _mm256_cvtepi8_epi16(_mm_unpacklo_epi8(va, vb));
      _mm256_storeu_si256(reinterpret_cast<__m256i*>(h + c), _mm256_madd_epi16(pairs, w));
    }
    for (; c < depth; ++c) h[c] = int32_t{a[c]} * w0 + int32_t{b[c]} * t.w1;
  }
}

namespace {

// The y mix of 8 lanes: sign(v) * ((|v| + 2^19) >> 20), the division with ties away from zero.
inline __m256i Mix8(const int32_t* top, const int32_t* bottom, __m256i w0, __m256i w1) {
  const __m256i v = _mm256_add_epi32(
      _mm256_mullo_epi32(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(top)), w0),
      _mm256_mullo_epi32(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(bottom)), w1));
  const __m256i q =
      _mm256_srai_epi32(_mm256_add_epi32(_mm256_abs_epi32(v), _mm256_set1_epi32(1 << 19)), 20);
  return _mm256_sign_epi32(q, v);
}

}  // namespace

// 32 values per step, packed to bytes (the results lie in [-128, 127]); the rest one by one.
void resize_mix_s8_ukernel__avx2(size_t n, const int32_t* top, const int32_t* bottom, int32_t w1,
                                 int8_t* out) {
  const int32_t w0 = (1 << 10) - w1;
  const __m256i vw0 = _mm256_set1_epi32(w0);
  const __m256i vw1 = _mm256_set1_epi32(w1);
  size_t i = 0;
  for (; i + 32 <= n; i += 32) {
    const __m256i a = Mix8(top + i, bottom + i, vw0, vw1);
    const __m256i b = Mix8(top + i + 8, bottom + i + 8, vw0, vw1);
    const __m256i c = Mix8(top + i + 16, bottom + i + 16, vw0, vw1);
    const __m256i d = Mix8(top + i + 24, bottom + i + 24, vw0, vw1);
    // packs works within 128-bit lanes: a0 b0 c0 d0 | a1 b1 c1 d1 as dwords, put back in order.
    const __m256i bytes = _mm256_packs_epi16(_mm256_packs_epi32(a, b), _mm256_packs_epi32(c, d));
    const __m256i ordered =
        _mm256_permutevar8x32_epi32(bytes, _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7));
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(out + i), ordered);
  }
  for (; i < n; ++i) {
    const int32_t v = top[i] * w0 + bottom[i] * w1;
    const int32_t q = ((v < 0 ? -v : v) + (1 << 19)) >> 20;
    out[i] = static_cast<int8_t>(v < 0 ? -q : q);
  }
}

}  // namespace avx2
}  // namespace uk
}  // namespace rt
}  // namespace edgeopt
