// Depthwise microkernels with AVX2 on the same 16-channel packing as the AVX-512 ones, in halves
// of 8 channels. qs8: inputs widened to int32 lanes, weights hold w' in their low 16 bits
// (high bits 0), so vpmaddwd gives exactly x * w'.
#include <immintrin.h>

#include <cstring>

#include "src/runtime/kernels/ukernels/avx2/avx2_ukernels.h"
#include "src/runtime/kernels/ukernels/avx2/requant_avx2.h"

namespace edgeopt {
namespace rt {
namespace uk {
namespace avx2 {
namespace {

// 8 bytes at p (only n <= 8 of them read), widened to int32.
template <bool kSigned>
inline __m256i LoadWiden8(const uint8_t* p, int n) {
  const __m128i b = _mm_cvtsi64_si128(LoadUpTo8(p, n));
  return kSigned ? _mm256_cvtepi8_epi32(b) : _mm256_cvtepu8_epi32(b);
}

template <bool kSigned>
void QS8Dw(const QS8DwArgs& p) {
  const size_t block_bytes = QS8DwPackedBlockBytes(p.taps);
  const __m256i lo = _mm256_set1_epi32(p.q->lo);
  const __m256i hi = _mm256_set1_epi32(p.q->hi);
  const __m256i zp = _mm256_set1_epi32(p.q->zero_point);
  for (int x = 0; x < p.width; ++x) {
    const uint8_t* const* in = reinterpret_cast<const uint8_t* const*>(p.input) + x * p.input_step;
    uint8_t* out = static_cast<uint8_t*>(p.out) + x * p.out_stride;
    const uint8_t* w = static_cast<const uint8_t*>(p.w);
    for (int c = 0; c < p.channels; c += 16) {
      const RequantBlock16* r = reinterpret_cast<const RequantBlock16*>(w + 64 + 64 * p.taps);
      for (int h = 0; h < 2 && c + 8 * h < p.channels; ++h) {
        const int n = p.channels - c - 8 * h;
        __m256i a = Load8(reinterpret_cast<const int32_t*>(w) + 8 * h);
        for (int t = 0; t < p.taps; ++t) {
          const __m256i wt = Load8(reinterpret_cast<const int32_t*>(w + 64 + 64 * t) + 8 * h);
          a = _mm256_add_epi32(a, _mm256_madd_epi16(LoadWiden8<kSigned>(in[t] + c + 8 * h, n), wt));
        }
        StoreInt8x8(out + c + 8 * h, Requantize8<false>(a, r, h), lo, hi, zp, n);
      }
      w += block_bytes;
    }
  }
}

void QD8Dw(const QD8DwArgs& p) {
  const size_t block_bytes = QD8DwPackedBlockBytes(p.taps);
  const __m256 vmin = _mm256_set1_ps(p.min);
  const __m256 vmax = _mm256_set1_ps(p.max);
  const __m256 vs = _mm256_set1_ps(p.input_scale);
  for (int x = 0; x < p.width; ++x) {
    const int8_t* const* in = p.input + x * p.input_step;
    float* out = p.out + x * p.out_stride;
    const uint8_t* w = static_cast<const uint8_t*>(p.w);
    for (int c = 0; c < p.channels; c += 16) {
      for (int h = 0; h < 2 && c + 8 * h < p.channels; ++h) {
        const int n = p.channels - c - 8 * h;
        const __m256i mask = TailMask8(n);
        __m256i a = _mm256_maskload_epi32(p.col_term + c + 8 * h, mask);
        for (int t = 0; t < p.taps; ++t) {
          const __m256i wt = Load8(reinterpret_cast<const int32_t*>(w + 64 + 64 * t) + 8 * h);
          a = _mm256_add_epi32(
              a, _mm256_madd_epi16(
                     LoadWiden8<true>(reinterpret_cast<const uint8_t*>(in[t]) + c + 8 * h, n), wt));
        }
        __m256 v = _mm256_mul_ps(_mm256_mul_ps(_mm256_cvtepi32_ps(a), vs),
                                 _mm256_maskload_ps(p.filter_scale + c + 8 * h, mask));
        if (p.bias != nullptr) v = _mm256_add_ps(v, _mm256_maskload_ps(p.bias + c + 8 * h, mask));
        _mm256_maskstore_ps(out + c + 8 * h, mask, _mm256_min_ps(_mm256_max_ps(v, vmin), vmax));
      }
      w += block_bytes;
    }
  }
}

// Float: bit-identical to ref::DepthwiseConvF32 (bias first, taps row-major, no FMA).
// Float: bias first, then the taps in the reference's (row-major) order with separate multiplies
// and adds, bit-identical to ref::DepthwiseConvF32. Four output pixels at a time share each
// weight load and give four independent add chains (one pixel alone waits out the add latency
// every tap), as in the AVX-512 kernel; each pixel's own order of operations is unchanged.
// Full 8-channel halves load without masks.
template <int kPx>
inline void F32DwPixels(const F32DwArgs& p, int x, __m256 vmin, __m256 vmax) {
  const size_t block = F32DwPackedBlockBytes(p.taps) / sizeof(float);
  const int kh = p.kh, kw = p.taps / p.kh;
  const float* const* in[kPx];
  float* out[kPx];
#pragma GCC unroll 4
  for (int i = 0; i < kPx; ++i) {
    in[i] = p.input + (x + i) * p.input_step;
    out[i] = p.out + (x + i) * p.out_stride;
  }
  const float* w = p.w;
  for (int c = 0; c < p.channels; c += 16) {
    for (int h = 0; h < 2 && c + 8 * h < p.channels; ++h) {
      const int n = p.channels - c - 8 * h;
      const int ch = c + 8 * h;
      __m256 a[kPx];
      const __m256 bias = _mm256_loadu_ps(w + 8 * h);
#pragma GCC unroll 4
      for (int i = 0; i < kPx; ++i) a[i] = bias;
      if (n >= 8) {
        for (int fy = 0; fy < kh; ++fy) {
          for (int fx = 0; fx < kw; ++fx) {
            const int t = fx * kh + fy;
            const __m256 wt = _mm256_loadu_ps(w + 16 + 16 * t + 8 * h);
#pragma GCC unroll 4
            for (int i = 0; i < kPx; ++i) {
              a[i] = _mm256_add_ps(a[i], _mm256_mul_ps(_mm256_loadu_ps(in[i][t] + ch), wt));
            }
          }
        }
#pragma GCC unroll 4
        for (int i = 0; i < kPx; ++i) {
          _mm256_storeu_ps(out[i] + ch, _mm256_min_ps(_mm256_max_ps(a[i], vmin), vmax));
        }
      } else {
        const __m256i mask = TailMask8(n);
        for (int fy = 0; fy < kh; ++fy) {
          for (int fx = 0; fx < kw; ++fx) {
            const int t = fx * kh + fy;
            const __m256 wt = _mm256_loadu_ps(w + 16 + 16 * t + 8 * h);
#pragma GCC unroll 4
            for (int i = 0; i < kPx; ++i) {
              a[i] =
                  _mm256_add_ps(a[i], _mm256_mul_ps(_mm256_maskload_ps(in[i][t] + ch, mask), wt));
            }
          }
        }
#pragma GCC unroll 4
        for (int i = 0; i < kPx; ++i) {
          _mm256_maskstore_ps(out[i] + ch, mask, _mm256_min_ps(_mm256_max_ps(a[i], vmin), vmax));
        }
      }
    }
    w += block;
  }
}

void F32Dw(const F32DwArgs& p) {
  const __m256 vmin = _mm256_set1_ps(p.min);
  const __m256 vmax = _mm256_set1_ps(p.max);
  int x = 0;
  for (; x + 4 <= p.width; x += 4) F32DwPixels<4>(p, x, vmin, vmax);
  for (; x < p.width; ++x) F32DwPixels<1>(p, x, vmin, vmax);
}

}  // namespace

void qs8_dwconv_minmax_ukernel_up8__avx2(const QS8DwArgs& p) { QS8Dw<true>(p); }
void qu8_dwconv_minmax_ukernel_up8__avx2(const QS8DwArgs& p) { QS8Dw<false>(p); }
void qd8_f32_dwconv_minmax_ukernel_up8__avx2(const QD8DwArgs& p) { QD8Dw(p); }
void f32_dwconv_minmax_ukernel_up8__avx2(const F32DwArgs& p) { F32Dw(p); }

}  // namespace avx2
}  // namespace uk
}  // namespace rt
}  // namespace edgeopt
