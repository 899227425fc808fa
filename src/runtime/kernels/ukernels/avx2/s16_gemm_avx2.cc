// s16 GEMM (int16 activations, widened int8 weights, int32 sums) for 16x8 convolutions.
#include <immintrin.h>

#include <cstring>

#include "src/runtime/kernels/ukernels/avx2/avx2_ukernels.h"
#include "src/runtime/kernels/ukernels/avx2/requant_avx2.h"
#include "src/runtime/kernels/ukernels/s16_gemm_impl.h"

namespace edgeopt {
namespace rt {
namespace uk {
namespace avx2 {
namespace {

// S16PackedGemm's vector: 8 int32 sums; vpmaddwd gives two int16 products summed per lane
// (exact here: the weights are widened int8).
struct S16Madd {
  static constexpr int kLanes = 8;
  using Reg = __m256i;
  static Reg Zero() { return _mm256_setzero_si256(); }
  static Reg Load(const int16_t* p) { return _mm256_loadu_si256(reinterpret_cast<const Reg*>(p)); }
  static Reg Broadcast(int32_t pair) { return _mm256_set1_epi32(pair); }
  static Reg Add(Reg x, Reg y) { return _mm256_add_epi32(x, y); }
  static Reg Dot(Reg acc, Reg x, Reg w) { return _mm256_add_epi32(acc, _mm256_madd_epi16(x, w)); }
  static void Store(int32_t* c, Reg v, int n) {
    if (n == kLanes) {
      _mm256_storeu_si256(reinterpret_cast<Reg*>(c), v);
      return;
    }
    alignas(32) int32_t t[kLanes];
    _mm256_store_si256(reinterpret_cast<Reg*>(t), v);
    std::memcpy(c, t, sizeof(int32_t) * n);
  }
};

}  // namespace

void s16_gemm_packed_ukernel__avx2(int M, int N, int K, const int16_t* a, ptrdiff_t lda,
                                   const int16_t* b, int32_t* c, ptrdiff_t ldc) {
  S16PackedGemm<S16Madd, 4>(M, N, K, a, lda, b, c, ldc);
}

// The narrow output stage (S16RequantNarrowArgs), 8 channels at a time, as the AVX-512 one does
// it: vpmuldq multiplies the even int32 lanes into int64 products, the odd lanes go through it
// shifted down; the arithmetic 64-bit shift AVX2 lacks is SravEpi64 (requant_avx2.h).
void s16_requant_narrow_ukernel__avx2(const S16RequantNarrowArgs& p) {
  const __m256i one = _mm256_set1_epi64x(1);
  const __m256i low32 = _mm256_set1_epi64x(0xFFFFFFFF);
  const __m256i zp = _mm256_set1_epi32(p.zero_point);
  const __m256i lo = _mm256_set1_epi32(p.lo - p.zero_point);
  const __m256i hi = _mm256_set1_epi32(p.hi - p.zero_point);
  const __m256i lane = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
  for (int n = 0; n < p.channels; n += 8) {
    const int left = p.channels - n;
    const __m256i m = _mm256_cmpgt_epi32(_mm256_set1_epi32(left), lane);
    const __m256i bias = _mm256_maskload_epi32(p.bias + n, m);
    const __m256i red_even = _mm256_maskload_epi32(p.reduced + n, m);
    const __m256i red_odd = _mm256_srli_epi64(red_even, 32);
    const __m256i shift = _mm256_maskload_epi32(p.shift + n, m);
    const __m256i shift_even = _mm256_and_si256(shift, low32);
    const __m256i shift_odd = _mm256_srli_epi64(shift, 32);
    // 2^(shift - 1) (0 for the masked-off lanes, shift 0).
    const __m256i round_even = _mm256_sllv_epi64(one, _mm256_sub_epi64(shift_even, one));
    const __m256i round_odd = _mm256_sllv_epi64(one, _mm256_sub_epi64(shift_odd, one));
    const int32_t* acc = p.acc + n;
    int16_t* out = p.out + n;
    for (int i = 0; i < p.count; ++i, acc += p.channels, out += p.out_stride) {
      const __m256i x = _mm256_add_epi32(_mm256_maskload_epi32(acc, m), bias);
      __m256i even = _mm256_add_epi64(_mm256_mul_epi32(x, red_even), round_even);
      __m256i odd =
          _mm256_add_epi64(_mm256_mul_epi32(_mm256_srli_epi64(x, 32), red_odd), round_odd);
      even = SravEpi64(even, shift_even);
      odd = SravEpi64(odd, shift_odd);
      // The low 32 bits of each result (wrap32), back in channel order.
      __m256i v = _mm256_blend_epi32(even, _mm256_slli_epi64(odd, 32), 0xAA);
      v = _mm256_add_epi32(_mm256_min_epi32(_mm256_max_epi32(v, lo), hi), zp);
      // int16 (in range after the clamp), the 8 values in the low 128 bits.
      const __m128i h =
          _mm256_castsi256_si128(_mm256_permute4x64_epi64(_mm256_packs_epi32(v, v), 0x08));
      if (left >= 8) {
        _mm_storeu_si128(reinterpret_cast<__m128i*>(out), h);
      } else {
        alignas(16) int16_t t[8];
        _mm_store_si128(reinterpret_cast<__m128i*>(t), h);
        std::memcpy(out, t, sizeof(int16_t) * left);
      }
    }
  }
}

// Channel blocks of 8 outer (their constants once), rows inner.
void qs8_requant_rows_ukernel__avx2(const QS8RequantRowsArgs& p) {
  const __m256i lo = _mm256_set1_epi32(p.out.lo);
  const __m256i hi = _mm256_set1_epi32(p.out.hi);
  const __m256i zp = _mm256_set1_epi32(p.out.zero_point);
  for (int n = 0; n < p.channels; n += 8) {
    const int left = p.channels - n;
    const __m256i m = TailMask8(left);
    const __m256i bias =
        p.bias != nullptr ? _mm256_maskload_epi32(p.bias + n, m) : _mm256_setzero_si256();
    const RequantBlock16* rq = p.rq + n / 16;
    const int half = (n / 8) % 2;
    const int32_t* acc = p.acc + n;
    int8_t* c = p.c + n;
    for (int i = 0; i < p.count; ++i, acc += p.acc_stride, c += p.c_stride) {
      const __m256i x = _mm256_add_epi32(_mm256_maskload_epi32(acc, m), bias);
      StoreInt8x8(c, Requantize8<false>(x, rq, half), lo, hi, zp, left);
    }
  }
}

}  // namespace avx2
}  // namespace uk
}  // namespace rt
}  // namespace edgeopt
