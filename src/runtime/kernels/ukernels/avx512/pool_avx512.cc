// MAX_POOL_2D / AVERAGE_POOL_2D microkernels with AVX-512 (F + BW), a run of output pixels per
// call (see PoolArgs in ukernels.h). Results equal the reference's: float max keeps acc when
// v > acc is false (NaN), float sums run in the reference's window order, and the int8/uint8
// average divides in float, exact for windows of at most kPoolMaxAvgWindow pixels (the quotient
// is below 2^9 in magnitude and at least 2^-10 away from an integer unless it is one).
// GCC 12 reports its own AVX-512 intrinsics (their `_mm512_undefined` operands) as maybe
// uninitialized (GCC bug 105593, fixed in 13).
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#include <immintrin.h>

#include <cstdint>
#include <limits>

#include "src/runtime/kernels/ukernels/avx512/avx512_ukernels.h"
#include "src/runtime/kernels/ukernels/avx512/requant_avx512.h"

namespace edgeopt {
namespace rt {
namespace uk {
namespace avx512 {
namespace {

inline __mmask64 TailMask64(int n) {
  if (n <= 0) return 0;
  return n >= 64 ? ~__mmask64{0} : (__mmask64{1} << n) - 1;
}

// kWindow: a square window's size when fixed at compile time (0: p.rows x p.cols).
template <bool kMax, int kWindow = 0>
void F32Pool(const PoolArgs& p) {
  const int rows = kWindow > 0 ? kWindow : p.rows, cols = kWindow > 0 ? kWindow : p.cols;
  const __m512 lo = _mm512_set1_ps(p.fmin);
  const __m512 hi = _mm512_set1_ps(p.fmax);
  const __m512 init = _mm512_set1_ps(kMax ? std::numeric_limits<float>::lowest() : 0.0f);
  const int count = rows * cols;
  const __m512 vcount = _mm512_set1_ps(static_cast<float>(count));
  for (int i = 0; i < p.pixels; ++i) {
    const float* in = static_cast<const float*>(p.in) + i * p.in_step;
    float* out = static_cast<float*>(p.out) + static_cast<ptrdiff_t>(i) * p.channels;
    for (int c = 0; c < p.channels; c += 16) {
      const __mmask16 m = TailMask16(p.channels - c);
      __m512 acc = init;
      for (int y = 0; y < rows; ++y) {
        const float* row = in + y * p.row_stride + c;
        for (int x = 0; x < cols; ++x) {
          const __m512 v = _mm512_maskz_loadu_ps(m, row + x * p.channels);
          acc = kMax ? _mm512_max_ps(v, acc) : _mm512_add_ps(acc, v);
        }
      }
      if (!kMax) acc = count > 0 ? _mm512_div_ps(acc, vcount) : _mm512_setzero_ps();
      _mm512_mask_storeu_ps(out + c, m, _mm512_min_ps(_mm512_max_ps(acc, lo), hi));
    }
  }
}

// kWindow: a square window's size when fixed at compile time (0: p.rows x p.cols).
template <bool kSigned, int kWindow = 0>
void Q8MaxPool(const PoolArgs& p) {
  const int rows = kWindow > 0 ? kWindow : p.rows, cols = kWindow > 0 ? kWindow : p.cols;
  const __m512i lo = _mm512_set1_epi8(static_cast<char>(p.qmin));
  const __m512i hi = _mm512_set1_epi8(static_cast<char>(p.qmax));
  const __m512i init = _mm512_set1_epi8(static_cast<char>(kSigned ? 0x80 : 0));
  for (int i = 0; i < p.pixels; ++i) {
    const uint8_t* in = static_cast<const uint8_t*>(p.in) + i * p.in_step;
    uint8_t* out = static_cast<uint8_t*>(p.out) + static_cast<ptrdiff_t>(i) * p.channels;
    for (int c = 0; c < p.channels; c += 64) {
      const __mmask64 m = TailMask64(p.channels - c);
      __m512i acc = init;
      for (int y = 0; y < rows; ++y) {
        const uint8_t* row = in + y * p.row_stride + c;
        for (int x = 0; x < cols; ++x) {
          const __m512i v = _mm512_maskz_loadu_epi8(m, row + x * p.channels);
          acc = kSigned ? _mm512_max_epi8(acc, v) : _mm512_max_epu8(acc, v);
        }
      }
      acc = kSigned ? _mm512_min_epi8(_mm512_max_epi8(acc, lo), hi)
                    : _mm512_min_epu8(_mm512_max_epu8(acc, lo), hi);
      _mm512_mask_storeu_epi8(out + c, m, acc);
    }
  }
}

// int16 max: from the lowest value, 32 channels per vector.
template <int kWindow = 0>
void S16MaxPool(const PoolArgs& p) {
  const int rows = kWindow > 0 ? kWindow : p.rows, cols = kWindow > 0 ? kWindow : p.cols;
  const __m512i lo = _mm512_set1_epi16(static_cast<int16_t>(p.qmin));
  const __m512i hi = _mm512_set1_epi16(static_cast<int16_t>(p.qmax));
  const __m512i init = _mm512_set1_epi16(INT16_MIN);
  for (int i = 0; i < p.pixels; ++i) {
    const int16_t* in = static_cast<const int16_t*>(p.in) + i * p.in_step;
    int16_t* out = static_cast<int16_t*>(p.out) + static_cast<ptrdiff_t>(i) * p.channels;
    for (int c = 0; c < p.channels; c += 32) {
      const int n = p.channels - c;
      const __mmask32 m = n >= 32 ? ~__mmask32{0} : (__mmask32{1} << n) - 1;
      __m512i acc = init;
      for (int y = 0; y < rows; ++y) {
        const int16_t* row = in + y * p.row_stride + c;
        for (int x = 0; x < cols; ++x) {
          acc = _mm512_max_epi16(acc, _mm512_maskz_loadu_epi16(m, row + x * p.channels));
        }
      }
      _mm512_mask_storeu_epi16(out + c, m, _mm512_min_epi16(_mm512_max_epi16(acc, lo), hi));
    }
  }
}

template <bool kSigned>
void Q8AvgPool(const PoolArgs& p) {
  const __m512i lo = _mm512_set1_epi32(p.qmin);
  const __m512i hi = _mm512_set1_epi32(p.qmax);
  const int count = p.rows * p.cols;
  const __m512i half = _mm512_set1_epi32(count / 2);
  const __m512 vcount = _mm512_set1_ps(static_cast<float>(count));
  for (int i = 0; i < p.pixels; ++i) {
    const uint8_t* in = static_cast<const uint8_t*>(p.in) + i * p.in_step;
    uint8_t* out = static_cast<uint8_t*>(p.out) + static_cast<ptrdiff_t>(i) * p.channels;
    for (int c = 0; c < p.channels; c += 16) {
      const __mmask16 m = TailMask16(p.channels - c);
      __m512i acc = _mm512_setzero_si512();
      for (int y = 0; y < p.rows; ++y) {
        const uint8_t* row = in + y * p.row_stride + c;
        for (int x = 0; x < p.cols; ++x) {
          const __m128i b = _mm_maskz_loadu_epi8(m, row + x * p.channels);
          acc = _mm512_add_epi32(acc, kSigned ? _mm512_cvtepi8_epi32(b) : _mm512_cvtepu8_epi32(b));
        }
      }
      __m512i q = _mm512_setzero_si512();
      if (count > 0) {
        // acc + count / 2 when acc >= 0, else acc - count / 2; then a truncating division.
        const __mmask16 neg = _mm512_cmplt_epi32_mask(acc, _mm512_setzero_si512());
        const __m512i s = _mm512_mask_sub_epi32(_mm512_add_epi32(acc, half), neg, acc, half);
        q = _mm512_cvttps_epi32(_mm512_div_ps(_mm512_cvtepi32_ps(s), vcount));
      }
      q = _mm512_min_epi32(_mm512_max_epi32(q, lo), hi);
      _mm512_mask_cvtepi32_storeu_epi8(out + c, m, q);
    }
  }
}

}  // namespace

void f32_maxpool_minmax_ukernel__avx512f_c16(const PoolArgs& p) {
  WithPoolWindow(p, [&](auto k) { F32Pool<true, decltype(k)::value>(p); });
}
void f32_avgpool_minmax_ukernel__avx512f_c16(const PoolArgs& p) {
  WithPoolWindow(p, [&](auto k) { F32Pool<false, decltype(k)::value>(p); });
}
void s8_maxpool_minmax_ukernel__avx512bw_c64(const PoolArgs& p) {
  WithPoolWindow(p, [&](auto k) { Q8MaxPool<true, decltype(k)::value>(p); });
}
void u8_maxpool_minmax_ukernel__avx512bw_c64(const PoolArgs& p) {
  WithPoolWindow(p, [&](auto k) { Q8MaxPool<false, decltype(k)::value>(p); });
}
void s16_maxpool_minmax_ukernel__avx512bw_c32(const PoolArgs& p) {
  WithPoolWindow(p, [&](auto k) { S16MaxPool<decltype(k)::value>(p); });
}
void qs8_avgpool_minmax_ukernel__avx512f_c16(const PoolArgs& p) { Q8AvgPool<true>(p); }
void qu8_avgpool_minmax_ukernel__avx512f_c16(const PoolArgs& p) { Q8AvgPool<false>(p); }

}  // namespace avx512
}  // namespace uk
}  // namespace rt
}  // namespace edgeopt
