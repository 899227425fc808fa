// qs8 IGEMM with AVX512-VNNI: vpdpbusd multiplies 4 unsigned activation bytes (broadcast) by 4
// signed weight bytes of each of 16 channels and accumulates in int32. Output stage: ruy's x86
// rounding (TFLite's CONV_2D / FULLY_CONNECTED); qd8 variant: float output (hybrid ops).
// GCC 12 reports its own AVX-512 intrinsics (their `_mm512_undefined` operands) as maybe
// uninitialized, or uninitialized (_mm512_broadcast_i64x4) (GCC bug 105593, fixed in 13).
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#pragma GCC diagnostic ignored "-Wuninitialized"
#include <immintrin.h>

#include <cstring>

#include "src/runtime/kernels/ukernels/avx512/avx512_ukernels.h"
#include "src/runtime/kernels/ukernels/avx512/requant_avx512.h"

namespace edgeopt {
namespace rt {
namespace uk {
namespace avx512 {
namespace {

inline __m512i BroadcastU32(const uint8_t* p) {
  int32_t v;
  std::memcpy(&v, p, 4);
  return _mm512_set1_epi32(v);
}

// Accumulates rows [0, MR) x NV vectors of 16 channels over every tap; returns the pointer past
// the packed weights (at the block's trailer).
template <int MR, int NV>
inline const int8_t* Accumulate(int kcp, int taps, const uint8_t* const* a, const int8_t* w,
                                __m512i (&acc)[MR][NV]) {
#pragma GCC unroll 4
  for (int j = 0; j < NV; ++j) {
    const __m512i b = _mm512_loadu_si512(w + 64 * j);
#pragma GCC unroll 16
    for (int i = 0; i < MR; ++i) acc[i][j] = b;
  }
  w += 64 * NV;
  for (int t = 0; t < taps; ++t) {
    const uint8_t* ap[MR];
#pragma GCC unroll 16
    for (int i = 0; i < MR; ++i) ap[i] = a[i * taps + t];
    for (int k = 0; k < kcp; k += 4) {
      __m512i wv[NV];
#pragma GCC unroll 4
      for (int j = 0; j < NV; ++j) wv[j] = _mm512_loadu_si512(w + 64 * j);
      w += 64 * NV;
#pragma GCC unroll 16
      for (int i = 0; i < MR; ++i) {
        const __m512i va = BroadcastU32(ap[i] + k);
#pragma GCC unroll 4
        for (int j = 0; j < NV; ++j) acc[i][j] = _mm512_dpbusd_epi32(acc[i][j], va, wv[j]);
      }
    }
  }
  return w;
}

template <int MR, int NV>
void QS8IGemm(const QS8IGemmArgs& p) {
  __m512i acc[MR][NV];
  const int8_t* w = Accumulate<MR, NV>(p.kcp, p.taps, p.a, static_cast<const int8_t*>(p.w), acc);
  const RequantBlock16* rq = reinterpret_cast<const RequantBlock16*>(w);
  const __m512i lo = _mm512_set1_epi32(p.out->lo);
  const __m512i hi = _mm512_set1_epi32(p.out->hi);
  const __m512i zp = _mm512_set1_epi32(p.out->zero_point);
  __mmask16 mask[NV];
#pragma GCC unroll 4
  for (int j = 0; j < NV; ++j) mask[j] = TailMask16(p.nc - 16 * j);
#pragma GCC unroll 16
  for (int i = 0; i < MR; ++i) {
    if (i >= p.mr) break;
    int8_t* c = p.c + i * p.c_stride;
    const __m512i row =
        p.row_term != nullptr ? _mm512_set1_epi32(p.row_term[i]) : _mm512_setzero_si512();
#pragma GCC unroll 4
    for (int j = 0; j < NV; ++j) {
      if (16 * j >= p.nc) break;
      const __m512i v = Requantize16<true>(_mm512_add_epi32(acc[i][j], row), rq + j);
      StoreInt8(c + 16 * j, v, lo, hi, zp, mask[j]);
    }
  }
}

template <int MR, int NV>
void QD8IGemm(const QD8IGemmArgs& p) {
  __m512i acc[MR][NV];
  Accumulate<MR, NV>(p.kcp, p.taps, p.a, static_cast<const int8_t*>(p.w), acc);
  const __m512 vmin = _mm512_set1_ps(p.min);
  const __m512 vmax = _mm512_set1_ps(p.max);
  __mmask16 mask[NV];
  __m512i col[NV];
  __m512 scale[NV], bias[NV];
#pragma GCC unroll 4
  for (int j = 0; j < NV; ++j) {
    mask[j] = TailMask16(p.nc - 16 * j);
    col[j] = _mm512_maskz_loadu_epi32(mask[j], p.col_term + 16 * j);
    scale[j] = _mm512_maskz_loadu_ps(mask[j], p.scale + 16 * j);
    bias[j] =
        p.bias != nullptr ? _mm512_maskz_loadu_ps(mask[j], p.bias + 16 * j) : _mm512_setzero_ps();
  }
#pragma GCC unroll 16
  for (int i = 0; i < MR; ++i) {
    if (i >= p.mr) break;
    float* c = p.c + i * p.c_stride;
#pragma GCC unroll 4
    for (int j = 0; j < NV; ++j) {
      if (16 * j >= p.nc) break;
      // As the reference: float(acc) * scale, then + bias (two roundings, no FMA).
      __m512 v = _mm512_mul_ps(_mm512_cvtepi32_ps(_mm512_add_epi32(acc[i][j], col[j])), scale[j]);
      if (p.bias != nullptr) v = _mm512_add_ps(v, bias[j]);
      v = _mm512_min_ps(_mm512_max_ps(v, vmin), vmax);
      _mm512_mask_storeu_ps(c + 16 * j, mask[j], v);
    }
  }
}

// Layers of at most 8 output channels (packed in blocks of 16, the upper 8 zero): two rows
// share each vector, row 2i in lanes 0-7 and row 2i + 1 in lanes 8-15, so that no lane
// multiplies padding and each requantization finishes two rows. On this class of CPU that
// halves the output stage of a narrow first layer (the demo student's 26x26x8 convolution).

// The low 8 lanes of a packed per-channel array of 16 dwords (or 8 qwords holding channels
// 0, 2, ..., 14), repeated in the high 8 (channels 0-7 again, in the same positions).
inline __m512i LowHalfTwice(const void* p) {
  return _mm512_broadcast_i64x4(_mm256_loadu_si256(static_cast<const __m256i*>(p)));
}

// A RequantBlock16 for lanes that hold channels 0-7 twice.
struct PairedRequant {
  __m512i lshift, mult, mult_odd, round_even, round_odd, shift_even, shift_odd;
  explicit PairedRequant(const RequantBlock16* r)
      : lshift(LowHalfTwice(r->lshift)),
        mult(LowHalfTwice(r->mult)),
        mult_odd(LowHalfTwice(r->mult_odd)),
        round_even(LowHalfTwice(r->round_even)),
        round_odd(LowHalfTwice(r->round_odd)),
        shift_even(LowHalfTwice(r->shift_even)),
        shift_odd(LowHalfTwice(r->shift_odd)) {}
  // Requantize16<true> (ruy rounding) with these constants.
  __m512i operator()(__m512i acc) const {
    const __m512i v = _mm512_sllv_epi32(acc, lshift);
    const __m512i v_odd = _mm512_shuffle_epi32(v, _MM_PERM_CDAB);
    __m512i pe = _mm512_add_epi64(_mm512_mul_epi32(v, mult), round_even);
    __m512i po = _mm512_add_epi64(_mm512_mul_epi32(v_odd, mult_odd), round_odd);
    pe = _mm512_srav_epi64(pe, shift_even);
    po = _mm512_srav_epi64(po, shift_odd);
    return _mm512_mask_shuffle_epi32(pe, 0xAAAA, po, _MM_PERM_CDAB);
  }
};

// Rows 2i and 2i + 1 (i < MR / 2) of channels 0-7 over every tap, one vector per row pair.
template <int MR>
inline void AccumulatePairs(int kcp, int taps, const uint8_t* const* a, const int8_t* w,
                            __m512i (&acc)[MR / 2]) {
  const __m512i bias = LowHalfTwice(w);
#pragma GCC unroll 8
  for (int i = 0; i < MR / 2; ++i) acc[i] = bias;
  w += 64;
  for (int t = 0; t < taps; ++t) {
    const uint8_t* ap[MR];
#pragma GCC unroll 16
    for (int i = 0; i < MR; ++i) ap[i] = a[i * taps + t];
    for (int k = 0; k < kcp; k += 4, w += 64) {
      const __m512i wv = LowHalfTwice(w);
#pragma GCC unroll 8
      for (int i = 0; i < MR / 2; ++i) {
        int32_t lo, hi;
        std::memcpy(&lo, ap[2 * i] + k, 4);
        std::memcpy(&hi, ap[2 * i + 1] + k, 4);
        const __m512i va = _mm512_mask_set1_epi32(_mm512_set1_epi32(lo), 0xFF00, hi);
        acc[i] = _mm512_dpbusd_epi32(acc[i], va, wv);
      }
    }
  }
}

template <int MR>
void QS8IGemmPairs(const QS8IGemmArgs& p) {
  __m512i acc[MR / 2];
  const int8_t* w = static_cast<const int8_t*>(p.w);
  AccumulatePairs<MR>(p.kcp, p.taps, p.a, w, acc);
  const PairedRequant rq(
      reinterpret_cast<const RequantBlock16*>(w + 64 + static_cast<size_t>(p.taps) * p.kcp * 16));
  const __m512i lo = _mm512_set1_epi32(p.out->lo);
  const __m512i hi = _mm512_set1_epi32(p.out->hi);
  const __m512i zp = _mm512_set1_epi32(p.out->zero_point);
  const __mmask16 cols = static_cast<__mmask16>((1u << p.nc) - 1u);
  // Not unrolled: once per call, and half the kernel's code size.
#pragma GCC unroll 1
  for (int i = 0; i < MR / 2; ++i) {
    if (2 * i >= p.mr) break;
    __m512i v = acc[i];
    if (p.row_term != nullptr) {
      v = _mm512_add_epi32(v, _mm512_mask_set1_epi32(_mm512_set1_epi32(p.row_term[2 * i]), 0xFF00,
                                                     2 * i + 1 < p.mr ? p.row_term[2 * i + 1] : 0));
    }
    v = _mm512_add_epi32(_mm512_min_epi32(_mm512_max_epi32(rq(v), lo), hi), zp);
    const __m128i bytes = _mm512_cvtepi32_epi8(v);
    int8_t* c = p.c + 2 * i * p.c_stride;
    _mm_mask_storeu_epi8(c, cols, bytes);
    // The high 8 lanes: the same columns of the next row.
    if (2 * i + 1 < p.mr) _mm_mask_storeu_epi8(c + p.c_stride, cols, _mm_srli_si128(bytes, 8));
  }
}

}  // namespace

void qs8_igemm_minmax_ukernel_16x8c4__avx512vnni(const QS8IGemmArgs& p) { QS8IGemmPairs<16>(p); }
void qs8_igemm_minmax_ukernel_12x32c4__avx512vnni(const QS8IGemmArgs& p) { QS8IGemm<12, 2>(p); }
void qs8_igemm_minmax_ukernel_8x32c4__avx512vnni(const QS8IGemmArgs& p) { QS8IGemm<8, 2>(p); }
void qs8_igemm_minmax_ukernel_1x32c4__avx512vnni(const QS8IGemmArgs& p) { QS8IGemm<1, 2>(p); }
void qs8_igemm_minmax_ukernel_16x16c4__avx512vnni(const QS8IGemmArgs& p) { QS8IGemm<16, 1>(p); }
void qs8_igemm_minmax_ukernel_1x16c4__avx512vnni(const QS8IGemmArgs& p) { QS8IGemm<1, 1>(p); }
void qd8_f32_igemm_minmax_ukernel_12x32c4__avx512vnni(const QD8IGemmArgs& p) { QD8IGemm<12, 2>(p); }
void qd8_f32_igemm_minmax_ukernel_1x32c4__avx512vnni(const QD8IGemmArgs& p) { QD8IGemm<1, 2>(p); }
void qd8_f32_igemm_minmax_ukernel_16x16c4__avx512vnni(const QD8IGemmArgs& p) { QD8IGemm<16, 1>(p); }
void qd8_f32_igemm_minmax_ukernel_1x16c4__avx512vnni(const QD8IGemmArgs& p) { QD8IGemm<1, 1>(p); }

}  // namespace avx512
}  // namespace uk
}  // namespace rt
}  // namespace edgeopt
