// GCC 12 reports its own AVX-512 intrinsics (their `_mm512_undefined` operands) as maybe
// uninitialized (GCC bug 105593, fixed in 13).
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
// s16 GEMM (int16 activations, widened int8 weights, int32 sums) for 16x8 convolutions.
#include <immintrin.h>

#include "src/runtime/kernels/ukernels/avx512/avx512_ukernels.h"
#include "src/runtime/kernels/ukernels/avx512/requant_avx512.h"
#include "src/runtime/kernels/ukernels/s16_gemm_impl.h"

namespace edgeopt {
namespace rt {
namespace uk {
namespace avx512 {
namespace {

// S16PackedGemm's vector: 16 int32 sums; vpdpwssd adds two int16 products per lane.
struct S16Vnni {
  static constexpr int kLanes = 16;
  using Reg = __m512i;
  static Reg Zero() { return _mm512_setzero_si512(); }
  static Reg Load(const int16_t* p) { return _mm512_loadu_si512(p); }
  static Reg Broadcast(int32_t pair) { return _mm512_set1_epi32(pair); }
  static Reg Add(Reg x, Reg y) { return _mm512_add_epi32(x, y); }
  static Reg Dot(Reg acc, Reg x, Reg w) { return _mm512_dpwssd_epi32(acc, x, w); }
  static void Store(int32_t* c, Reg v, int n) { _mm512_mask_storeu_epi32(c, TailMask16(n), v); }
};

}  // namespace

void s16_gemm_packed_ukernel__avx512vnni(int M, int N, int K, const int16_t* a, ptrdiff_t lda,
                                         const int16_t* b, int32_t* c, ptrdiff_t ldc) {
  S16PackedGemm<S16Vnni, 8>(M, N, K, a, lda, b, c, ldc);
}

// The 16x8 output stage (S16RequantArgs), eight channels at a time in int64 lanes.
void s16_requant_ukernel__avx512(const S16RequantArgs& p) {
  const __m512i zp = _mm512_set1_epi64(p.zero_point);
  const __m512i lo = _mm512_set1_epi64(p.lo);
  const __m512i hi = _mm512_set1_epi64(p.hi);
  for (int i = 0; i < p.count; ++i) {
    const int32_t* acc = p.acc + static_cast<ptrdiff_t>(i) * p.channels;
    int16_t* out = p.out + i * p.out_stride;
    for (int n = 0; n < p.channels; n += 8) {
      const int left = p.channels - n;
      const __mmask8 m =
          left >= 8 ? static_cast<__mmask8>(0xFF) : static_cast<__mmask8>((1u << left) - 1u);
      const __m512i x =
          _mm512_add_epi64(_mm512_cvtepi32_epi64(_mm256_maskz_loadu_epi32(m, acc + n)),
                           _mm512_maskz_loadu_epi64(m, p.bias + n));
      const __m512i prod = _mm512_mullo_epi64(x, _mm512_maskz_loadu_epi64(m, p.reduced + n));
      const __m512i r =
          _mm512_srav_epi64(_mm512_add_epi64(prod, _mm512_maskz_loadu_epi64(m, p.round + n)),
                            _mm512_maskz_loadu_epi64(m, p.shift + n));
      __m512i v = _mm512_add_epi64(_mm512_cvtepi32_epi64(_mm512_cvtepi64_epi32(r)), zp);
      v = _mm512_min_epi64(_mm512_max_epi64(v, lo), hi);
      _mm512_mask_cvtepi64_storeu_epi16(out + n, m, v);
    }
  }
}

// The narrow output stage (S16RequantNarrowArgs), 16 channels at a time: a block of channels
// keeps its constants in registers over all rows. vpmuldq multiplies the even int32 lanes into
// int64 products; the odd lanes go through it shifted down.
void s16_requant_narrow_ukernel__avx512(const S16RequantNarrowArgs& p) {
  const __m512i one = _mm512_set1_epi64(1);
  const __m512i low32 = _mm512_set1_epi64(0xFFFFFFFF);
  const __m512i zp = _mm512_set1_epi32(p.zero_point);
  const __m512i lo = _mm512_set1_epi32(p.lo - p.zero_point);
  const __m512i hi = _mm512_set1_epi32(p.hi - p.zero_point);
  for (int n = 0; n < p.channels; n += 16) {
    const __mmask16 m = TailMask16(p.channels - n);
    const __m512i bias = _mm512_maskz_loadu_epi32(m, p.bias + n);
    const __m512i red_even = _mm512_maskz_loadu_epi32(m, p.reduced + n);
    const __m512i red_odd = _mm512_srli_epi64(red_even, 32);
    const __m512i shift = _mm512_maskz_loadu_epi32(m, p.shift + n);
    const __m512i shift_even = _mm512_and_si512(shift, low32);
    const __m512i shift_odd = _mm512_srli_epi64(shift, 32);
    // 2^(shift - 1); the masked-off lanes (shift 0) get 0.
    const __m512i round_even = _mm512_sllv_epi64(one, _mm512_sub_epi64(shift_even, one));
    const __m512i round_odd = _mm512_sllv_epi64(one, _mm512_sub_epi64(shift_odd, one));
    const int32_t* acc = p.acc + n;
    int16_t* out = p.out + n;
    for (int i = 0; i < p.count; ++i, acc += p.channels, out += p.out_stride) {
      const __m512i x = _mm512_add_epi32(_mm512_maskz_loadu_epi32(m, acc), bias);
      __m512i even = _mm512_mul_epi32(x, red_even);
      __m512i odd = _mm512_mul_epi32(_mm512_srli_epi64(x, 32), red_odd);
      even = _mm512_srav_epi64(_mm512_add_epi64(even, round_even), shift_even);
      odd = _mm512_srav_epi64(_mm512_add_epi64(odd, round_odd), shift_odd);
      // The low 32 bits of each result (wrap32), back in channel order.
      __m512i v = _mm512_mask_blend_epi32(0xAAAA, even, _mm512_slli_epi64(odd, 32));
      v = _mm512_add_epi32(_mm512_min_epi32(_mm512_max_epi32(v, lo), hi), zp);
      _mm512_mask_cvtepi32_storeu_epi16(out, m, v);
    }
  }
}

}  // namespace avx512
}  // namespace uk
}  // namespace rt
}  // namespace edgeopt
