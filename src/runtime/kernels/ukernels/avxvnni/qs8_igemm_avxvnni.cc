// qs8 / qd8 IGEMM with AVX-VNNI: the VEX-encoded vpdpbusd of CPUs with AVX2 but not AVX-512
// (Alder Lake and later cores). The AVX-512 VNNI kernels' packing (per k group, 16 channels x 4
// weight bytes in 64 bytes) read as two 8-channel halves; 4 unsigned activation bytes broadcast
// per row; 6 rows x 16 channels = 12 accumulators. The AVX2 kernels' output stages
// (igemm_output_avx2.h). Compiled with the AVX2 flags and -mavxvnni.
#include <immintrin.h>

#include <cstring>

#include "src/runtime/kernels/ukernels/avx2/avx2_ukernels.h"
#include "src/runtime/kernels/ukernels/avx2/igemm_output_avx2.h"

namespace edgeopt {
namespace rt {
namespace uk {
namespace avx2 {
namespace {

inline __m256i BroadcastU32(const uint8_t* p) {
  int32_t v;
  std::memcpy(&v, p, 4);
  return _mm256_set1_epi32(v);
}

// Sums of rows [0, MR) x 16 channels (two halves of 8) over every tap, bias included; returns
// the pointer past the packed weights (at the block's trailer). The sums stay in a local array
// (stores into `out` would have to be redone before every activation load, which may alias
// it) and every loop over them is unrolled (a run-time index would keep them in memory).
template <int MR>
inline const int8_t* Accumulate(int kcp, int taps, const uint8_t* const* a, const int8_t* w,
                                __m256i (&out)[MR][2]) {
  __m256i acc[MR][2];
#pragma GCC unroll 2
  for (int h = 0; h < 2; ++h) {
    const __m256i b = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(w + 32 * h));
#pragma GCC unroll 8
    for (int i = 0; i < MR; ++i) acc[i][h] = b;
  }
  w += 64;
  for (int t = 0; t < taps; ++t) {
    const uint8_t* ap[MR];
#pragma GCC unroll 8
    for (int i = 0; i < MR; ++i) ap[i] = a[i * taps + t];
    for (int k = 0; k < kcp; k += 4) {
      const __m256i w0 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(w));
      const __m256i w1 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(w + 32));
      w += 64;
#pragma GCC unroll 8
      for (int i = 0; i < MR; ++i) {
        const __m256i va = BroadcastU32(ap[i] + k);
        acc[i][0] = _mm256_dpbusd_avx_epi32(acc[i][0], va, w0);
        acc[i][1] = _mm256_dpbusd_avx_epi32(acc[i][1], va, w1);
      }
    }
  }
#pragma GCC unroll 8
  for (int i = 0; i < MR; ++i) {
    out[i][0] = acc[i][0];
    out[i][1] = acc[i][1];
  }
  return w;
}

template <int MR>
void QS8IGemm(const QS8IGemmArgs& p) {
  __m256i acc[MR][2];
  const int8_t* w = Accumulate<MR>(p.kcp, p.taps, p.a, static_cast<const int8_t*>(p.w), acc);
  StoreQS8Rows<MR>(p, reinterpret_cast<const RequantBlock16*>(w), acc);
}

template <int MR>
void QD8IGemm(const QD8IGemmArgs& p) {
  __m256i acc[MR][2];
  Accumulate<MR>(p.kcp, p.taps, p.a, static_cast<const int8_t*>(p.w), acc);
  StoreQD8Rows<MR>(p, acc);
}

}  // namespace

void qs8_igemm_minmax_ukernel_6x16c4__avxvnni(const QS8IGemmArgs& p) { QS8IGemm<6>(p); }
void qs8_igemm_minmax_ukernel_1x16c4__avxvnni(const QS8IGemmArgs& p) { QS8IGemm<1>(p); }
void qd8_f32_igemm_minmax_ukernel_6x16c4__avxvnni(const QD8IGemmArgs& p) { QD8IGemm<6>(p); }
void qd8_f32_igemm_minmax_ukernel_1x16c4__avxvnni(const QD8IGemmArgs& p) { QD8IGemm<1>(p); }

}  // namespace avx2
}  // namespace uk
}  // namespace rt
}  // namespace edgeopt
