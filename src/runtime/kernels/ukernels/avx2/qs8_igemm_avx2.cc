// qs8 / qd8 IGEMM with AVX2 (no VNNI): weights are packed pre-widened to int16 (the AVX2
// config's packing: per k4 step, 16 channels x 4 k as int16), 4 activation bytes are widened
// and broadcast, vpmaddwd adds pairs of exact products into int32 (u8 x s8 never overflows
// 16-bit operands), and a final horizontal add folds the pairs per channel.
#include <immintrin.h>

#include <cstring>

#include "src/runtime/kernels/ukernels/avx2/avx2_ukernels.h"
#include "src/runtime/kernels/ukernels/avx2/igemm_output_avx2.h"

namespace edgeopt {
namespace rt {
namespace uk {
namespace avx2 {
namespace {

// [a0 a1 a2 a3] as int16, repeated over the 256 bits.
inline __m256i BroadcastU8x4AsI16(const uint8_t* p) {
  int32_t v;
  std::memcpy(&v, p, 4);
  return _mm256_broadcastq_epi64(_mm_cvtepu8_epi16(_mm_cvtsi32_si128(v)));
}

// Sums over every tap into 8 int32 per row and half (channels [8h, 8h + 8)), bias included.
template <int MR>
inline const uint8_t* Accumulate(int kcp, int taps, const uint8_t* const* a, const uint8_t* w,
                                 __m256i (&out)[MR][2]) {
  __m256i acc[MR][4];
  for (int i = 0; i < MR; ++i) {
    for (int j = 0; j < 4; ++j) acc[i][j] = _mm256_setzero_si256();
  }
  const int32_t* bias = reinterpret_cast<const int32_t*>(w);
  w += 16 * 4;
  for (int t = 0; t < taps; ++t) {
    const uint8_t* ap[MR];
    for (int i = 0; i < MR; ++i) ap[i] = a[i * taps + t];
    for (int k = 0; k < kcp; k += 4) {
      __m256i wv[4];
      for (int j = 0; j < 4; ++j) {
        wv[j] = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(w + 32 * j));
      }
      w += 128;
      for (int i = 0; i < MR; ++i) {
        const __m256i va = BroadcastU8x4AsI16(ap[i] + k);
        for (int j = 0; j < 4; ++j) {
          acc[i][j] = _mm256_add_epi32(acc[i][j], _mm256_madd_epi16(va, wv[j]));
        }
      }
    }
  }
  for (int i = 0; i < MR; ++i) {
    for (int h = 0; h < 2; ++h) {
      // [c0 c1 c4 c5 | c2 c3 c6 c7] -> channel order, then the bias.
      const __m256i s =
          _mm256_permute4x64_epi64(_mm256_hadd_epi32(acc[i][2 * h], acc[i][2 * h + 1]), 0xD8);
      out[i][h] = _mm256_add_epi32(s, Load8(bias + 8 * h));
    }
  }
  return w;
}

template <int MR>
void QS8IGemm(const QS8IGemmArgs& p) {
  __m256i acc[MR][2];
  const uint8_t* w = Accumulate<MR>(p.kcp, p.taps, p.a, static_cast<const uint8_t*>(p.w), acc);
  StoreQS8Rows<MR>(p, reinterpret_cast<const RequantBlock16*>(w), acc);
}

template <int MR>
void QD8IGemm(const QD8IGemmArgs& p) {
  __m256i acc[MR][2];
  Accumulate<MR>(p.kcp, p.taps, p.a, static_cast<const uint8_t*>(p.w), acc);
  StoreQD8Rows<MR>(p, acc);
}

}  // namespace

void qs8_igemm_minmax_ukernel_2x16c4__avx2(const QS8IGemmArgs& p) { QS8IGemm<2>(p); }
void qs8_igemm_minmax_ukernel_1x16c4__avx2(const QS8IGemmArgs& p) { QS8IGemm<1>(p); }
void qd8_f32_igemm_minmax_ukernel_2x16c4__avx2(const QD8IGemmArgs& p) { QD8IGemm<2>(p); }
void qd8_f32_igemm_minmax_ukernel_1x16c4__avx2(const QD8IGemmArgs& p) { QD8IGemm<1>(p); }

}  // namespace avx2
}  // namespace uk
}  // namespace rt
}  // namespace edgeopt
