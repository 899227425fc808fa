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

}  // namespace avx512
}  // namespace uk
}  // namespace rt
}  // namespace edgeopt
