// Depthwise microkernels with AVX-512 (+VNNI for int8): per output pixel, `taps` input pointers;
// channels in blocks of 16 (two blocks per step for independent accumulation chains).
//
// qs8: each input byte is widened to an int32 lane whose low 16 bits hold the value; the packed
// weight lane holds w' in its low 16 bits and 0 in the high ones, so vpdpwssd adds exactly x * w'.
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
namespace {

template <bool kSigned>
inline __m512i LoadWiden(const void* p, __mmask16 mask) {
  const __m128i b = _mm_maskz_loadu_epi8(mask, p);
  return kSigned ? _mm512_cvtepi8_epi32(b) : _mm512_cvtepu8_epi32(b);
}

template <bool kSigned>
void QS8Dw(const QS8DwArgs& p) {
  const size_t block_bytes = QS8DwPackedBlockBytes(p.taps);
  const __m512i lo = _mm512_set1_epi32(p.q->lo);
  const __m512i hi = _mm512_set1_epi32(p.q->hi);
  const __m512i zp = _mm512_set1_epi32(p.q->zero_point);
  const int taps = p.taps;
  for (int x = 0; x < p.width; ++x) {
    const uint8_t* const* in = reinterpret_cast<const uint8_t* const*>(p.input) + x * p.input_step;
    uint8_t* out = static_cast<uint8_t*>(p.out) + x * p.out_stride;
    const uint8_t* w = static_cast<const uint8_t*>(p.w);
    int c = 0;
    for (; c + 32 <= p.channels; c += 32) {
      const uint8_t* w1 = w + block_bytes;
      // Even and odd taps in separate sums: four independent vpdpwssd chains (integer sums,
      // so the order does not change the result).
      __m512i a0 = _mm512_load_si512(w);
      __m512i a1 = _mm512_load_si512(w1);
      __m512i e0 = _mm512_setzero_si512(), e1 = _mm512_setzero_si512();
      int t = 0;
      for (; t + 2 <= taps; t += 2) {
        const __m512i x0 = LoadWiden<kSigned>(in[t] + c, 0xFFFF);
        const __m512i x1 = LoadWiden<kSigned>(in[t] + c + 16, 0xFFFF);
        const __m512i y0 = LoadWiden<kSigned>(in[t + 1] + c, 0xFFFF);
        const __m512i y1 = LoadWiden<kSigned>(in[t + 1] + c + 16, 0xFFFF);
        a0 = _mm512_dpwssd_epi32(a0, x0, _mm512_load_si512(w + 64 + 64 * t));
        a1 = _mm512_dpwssd_epi32(a1, x1, _mm512_load_si512(w1 + 64 + 64 * t));
        e0 = _mm512_dpwssd_epi32(e0, y0, _mm512_load_si512(w + 128 + 64 * t));
        e1 = _mm512_dpwssd_epi32(e1, y1, _mm512_load_si512(w1 + 128 + 64 * t));
      }
      if (t < taps) {
        a0 = _mm512_dpwssd_epi32(a0, LoadWiden<kSigned>(in[t] + c, 0xFFFF),
                                 _mm512_load_si512(w + 64 + 64 * t));
        a1 = _mm512_dpwssd_epi32(a1, LoadWiden<kSigned>(in[t] + c + 16, 0xFFFF),
                                 _mm512_load_si512(w1 + 64 + 64 * t));
      }
      a0 = _mm512_add_epi32(a0, e0);
      a1 = _mm512_add_epi32(a1, e1);
      const RequantBlock16* r0 = reinterpret_cast<const RequantBlock16*>(w + 64 + 64 * taps);
      const RequantBlock16* r1 = reinterpret_cast<const RequantBlock16*>(w1 + 64 + 64 * taps);
      StoreInt8(out + c, Requantize16<false>(a0, r0), lo, hi, zp, 0xFFFF);
      StoreInt8(out + c + 16, Requantize16<false>(a1, r1), lo, hi, zp, 0xFFFF);
      w += 2 * block_bytes;
    }
    for (; c < p.channels; c += 16) {
      const __mmask16 mask = TailMask16(p.channels - c);
      // Four independent chains over the taps (t mod 4), summed at the end.
      __m512i a[4] = {_mm512_load_si512(w), _mm512_setzero_si512(), _mm512_setzero_si512(),
                      _mm512_setzero_si512()};
      int t = 0;
      for (; t + 4 <= taps; t += 4) {
#pragma GCC unroll 4
        for (int j = 0; j < 4; ++j) {
          a[j] = _mm512_dpwssd_epi32(a[j], LoadWiden<kSigned>(in[t + j] + c, mask),
                                     _mm512_load_si512(w + 64 + 64 * (t + j)));
        }
      }
      for (; t < taps; ++t) {
        a[0] = _mm512_dpwssd_epi32(a[0], LoadWiden<kSigned>(in[t] + c, mask),
                                   _mm512_load_si512(w + 64 + 64 * t));
      }
      const RequantBlock16* r = reinterpret_cast<const RequantBlock16*>(w + 64 + 64 * taps);
      a[0] = _mm512_add_epi32(_mm512_add_epi32(a[0], a[1]), _mm512_add_epi32(a[2], a[3]));
      StoreInt8(out + c, Requantize16<false>(a[0], r), lo, hi, zp, mask);
      w += block_bytes;
    }
  }
}

void QD8Dw(const QD8DwArgs& p) {
  const size_t block_bytes = QD8DwPackedBlockBytes(p.taps);
  const __m512 vmin = _mm512_set1_ps(p.min);
  const __m512 vmax = _mm512_set1_ps(p.max);
  const __m512 vs = _mm512_set1_ps(p.input_scale);
  const int taps = p.taps;
  for (int x = 0; x < p.width; ++x) {
    const int8_t* const* in = p.input + x * p.input_step;
    float* out = p.out + x * p.out_stride;
    const uint8_t* w = static_cast<const uint8_t*>(p.w);
    for (int c = 0; c < p.channels; c += 16) {
      const __mmask16 mask = TailMask16(p.channels - c);
      // Four independent chains over the taps, as in QS8Dw.
      __m512i a[4] = {_mm512_maskz_loadu_epi32(mask, p.col_term + c), _mm512_setzero_si512(),
                      _mm512_setzero_si512(), _mm512_setzero_si512()};
      int t = 0;
      for (; t + 4 <= taps; t += 4) {
#pragma GCC unroll 4
        for (int j = 0; j < 4; ++j) {
          a[j] = _mm512_dpwssd_epi32(a[j], LoadWiden<true>(in[t + j] + c, mask),
                                     _mm512_load_si512(w + 64 + 64 * (t + j)));
        }
      }
      for (; t < taps; ++t) {
        a[0] = _mm512_dpwssd_epi32(a[0], LoadWiden<true>(in[t] + c, mask),
                                   _mm512_load_si512(w + 64 + 64 * t));
      }
      a[0] = _mm512_add_epi32(_mm512_add_epi32(a[0], a[1]), _mm512_add_epi32(a[2], a[3]));
      __m512 v = _mm512_mul_ps(_mm512_mul_ps(_mm512_cvtepi32_ps(a[0]), vs),
                               _mm512_maskz_loadu_ps(mask, p.filter_scale + c));
      if (p.bias != nullptr) v = _mm512_add_ps(v, _mm512_maskz_loadu_ps(mask, p.bias + c));
      _mm512_mask_storeu_ps(out + c, mask, _mm512_min_ps(_mm512_max_ps(v, vmin), vmax));
      w += block_bytes;
    }
  }
}

// Float: bias first, then the taps in the reference's (row-major) order with separate multiplies
// and adds, so the result is bit-identical to ref::DepthwiseConvF32 (padding taps add +-0).
//
// Four output pixels at a time share each weight load and give four independent accumulation
// chains (one pixel alone waits on the add latency every tap); each pixel's own order of
// operations is unchanged.
void F32Dw(const F32DwArgs& p) {
  const size_t block = F32DwPackedBlockBytes(p.taps) / sizeof(float);
  const __m512 vmin = _mm512_set1_ps(p.min);
  const __m512 vmax = _mm512_set1_ps(p.max);
  const int kh = p.kh, kw = p.taps / p.kh;
  constexpr int kPx = 4;
  int x = 0;
  for (; x + kPx <= p.width; x += kPx) {
    const float* const* in[kPx];
    float* out[kPx];
#pragma GCC unroll 4
    for (int i = 0; i < kPx; ++i) {
      in[i] = p.input + (x + i) * p.input_step;
      out[i] = p.out + (x + i) * p.out_stride;
    }
    const float* w = p.w;
    for (int c = 0; c < p.channels; c += 16) {
      const __mmask16 mask = TailMask16(p.channels - c);
      __m512 a[kPx];
      const __m512 bias = _mm512_load_ps(w);
#pragma GCC unroll 4
      for (int i = 0; i < kPx; ++i) a[i] = bias;
      for (int fy = 0; fy < kh; ++fy) {
        for (int fx = 0; fx < kw; ++fx) {
          const int t = fx * kh + fy;
          const __m512 wt = _mm512_load_ps(w + 16 + 16 * t);
#pragma GCC unroll 4
          for (int i = 0; i < kPx; ++i) {
            a[i] =
                _mm512_add_ps(a[i], _mm512_mul_ps(_mm512_maskz_loadu_ps(mask, in[i][t] + c), wt));
          }
        }
      }
#pragma GCC unroll 4
      for (int i = 0; i < kPx; ++i) {
        _mm512_mask_storeu_ps(out[i] + c, mask, _mm512_min_ps(_mm512_max_ps(a[i], vmin), vmax));
      }
      w += block;
    }
  }
  for (; x < p.width; ++x) {
    const float* const* in = p.input + x * p.input_step;
    float* out = p.out + x * p.out_stride;
    const float* w = p.w;
    int c = 0;
    for (; c + 32 <= p.channels; c += 32) {
      const float* w1 = w + block;
      __m512 a0 = _mm512_load_ps(w);
      __m512 a1 = _mm512_load_ps(w1);
      for (int fy = 0; fy < kh; ++fy) {
        for (int fx = 0; fx < kw; ++fx) {
          const int t = fx * kh + fy;
          a0 = _mm512_add_ps(
              a0, _mm512_mul_ps(_mm512_loadu_ps(in[t] + c), _mm512_load_ps(w + 16 + 16 * t)));
          a1 = _mm512_add_ps(
              a1, _mm512_mul_ps(_mm512_loadu_ps(in[t] + c + 16), _mm512_load_ps(w1 + 16 + 16 * t)));
        }
      }
      _mm512_storeu_ps(out + c, _mm512_min_ps(_mm512_max_ps(a0, vmin), vmax));
      _mm512_storeu_ps(out + c + 16, _mm512_min_ps(_mm512_max_ps(a1, vmin), vmax));
      w += 2 * block;
    }
    for (; c < p.channels; c += 16) {
      const __mmask16 mask = TailMask16(p.channels - c);
      __m512 a = _mm512_load_ps(w);
      for (int fy = 0; fy < kh; ++fy) {
        for (int fx = 0; fx < kw; ++fx) {
          const int t = fx * kh + fy;
          a = _mm512_add_ps(a, _mm512_mul_ps(_mm512_maskz_loadu_ps(mask, in[t] + c),
                                             _mm512_load_ps(w + 16 + 16 * t)));
        }
      }
      _mm512_mask_storeu_ps(out + c, mask, _mm512_min_ps(_mm512_max_ps(a, vmin), vmax));
      w += block;
    }
  }
}

}  // namespace

void qs8_dwconv_minmax_ukernel_up32__avx512vnni(const QS8DwArgs& p) { QS8Dw<true>(p); }
void qu8_dwconv_minmax_ukernel_up32__avx512vnni(const QS8DwArgs& p) { QS8Dw<false>(p); }
void f32_dwconv_minmax_ukernel_up32__avx512f(const F32DwArgs& p) { F32Dw(p); }
void qd8_f32_dwconv_minmax_ukernel_up16__avx512vnni(const QD8DwArgs& p) { QD8Dw(p); }

}  // namespace avx512
}  // namespace uk
}  // namespace rt
}  // namespace edgeopt
