// qs8 / qd8 IGEMM with the aarch64 dot-product extension (SDOT, HWCAP_ASIMDDP; compiled for it
// here, called only when the CPU reports it). The c4 packing is SDOT's layout: each 32-bit lane
// of 16 packed bytes is one channel's 4 weights. SDOT multiplies signed bytes, so activations
// enter as x = u ^ 0x80 = u - 128 and each output gets 128 * sum_k w' back, that sum being
// accumulated alongside (one extra SDOT with ones per 16 channels and k group).
#if defined(__aarch64__)
#include <arm_neon.h>

#include <cstring>

#include "src/runtime/kernels/ukernels/neon/igemm_output_neon.h"
#include "src/runtime/kernels/ukernels/neon/neon_ukernels.h"

// After the includes: the headers' inline functions (emitted as COMDAT copies that the linker
// may pick for any caller) must stay baseline code; they inline into the kernels below.
#pragma GCC target("arch=armv8.2-a+dotprod")

namespace edgeopt {
namespace rt {
namespace uk {
namespace neon {
namespace {

// The 4 activation bytes of one k group in every 32-bit lane, as signed x = u - 128.
inline int8x16_t LoadActivation4(const uint8_t* p) {
  uint32_t bits;
  std::memcpy(&bits, p, 4);
  return vreinterpretq_s8_u32(veorq_u32(vdupq_n_u32(bits), vdupq_n_u32(0x80808080u)));
}

// kNV: vectors of 4 channels summed (4; 2 for layers of at most 8 channels, whose
// acc[i][2..3] are left zero).
template <int MR, int kNV = 4>
inline const int8_t* Accumulate(int kcp, int taps, const uint8_t* const* a, const int8_t* w,
                                int32x4_t (&acc)[MR][4]) {
  // The sums in a local array, copied out at the end: stores into `acc` (the caller's) would
  // have to be redone before every load of activation bytes, which may alias it.
  int32x4_t sum[MR][4];
  const int32_t* bias = reinterpret_cast<const int32_t*>(w);
  int32x4_t wsum[4];
#pragma GCC unroll 4
  for (int j = 0; j < 4; ++j) {
    const int32x4_t b = j < kNV ? vld1q_s32(bias + 4 * j) : vdupq_n_s32(0);
    wsum[j] = vdupq_n_s32(0);
#pragma GCC unroll 8
    for (int i = 0; i < MR; ++i) sum[i][j] = b;
  }
  w += 64;
  const int8x16_t ones = vdupq_n_s8(1);
  for (int t = 0; t < taps; ++t) {
    const uint8_t* ap[MR];
#pragma GCC unroll 8
    for (int i = 0; i < MR; ++i) ap[i] = a[i * taps + t];
    for (int k = 0; k < kcp; k += 4) {
      int8x16_t wv[4];
#pragma GCC unroll 4
      for (int j = 0; j < kNV; ++j) {
        wv[j] = vld1q_s8(w + 16 * j);
        wsum[j] = vdotq_s32(wsum[j], wv[j], ones);
      }
      w += 64;
#pragma GCC unroll 8
      for (int i = 0; i < MR; ++i) {
        const int8x16_t av = LoadActivation4(ap[i] + k);
#pragma GCC unroll 4
        for (int j = 0; j < kNV; ++j) sum[i][j] = vdotq_s32(sum[i][j], wv[j], av);
      }
    }
  }
#pragma GCC unroll 4
  for (int j = 0; j < 4; ++j) {
    const int32x4_t fix = vshlq_n_s32(wsum[j], 7);  // 128 * sum w', modulo 2^32
#pragma GCC unroll 8
    for (int i = 0; i < MR; ++i) acc[i][j] = vaddq_s32(sum[i][j], fix);
  }
  return w;
}

template <int MR, int kNV = 4>
void QS8IGemm(const QS8IGemmArgs& p) {
  int32x4_t acc[MR][4];
  const int8_t* w = Accumulate<MR, kNV>(p.kcp, p.taps, p.a, static_cast<const int8_t*>(p.w), acc);
  StoreQS8Rows<MR, kNV>(p, w, acc);
}

template <int MR, int kNV = 4>
void QD8IGemm(const QD8IGemmArgs& p) {
  int32x4_t acc[MR][4];
  Accumulate<MR, kNV>(p.kcp, p.taps, p.a, static_cast<const int8_t*>(p.w), acc);
  StoreQD8Rows<MR, kNV>(p, acc);
}

}  // namespace

void qs8_igemm_minmax_ukernel_4x16c4__neondot(const QS8IGemmArgs& p) { QS8IGemm<4>(p); }
void qs8_igemm_minmax_ukernel_1x16c4__neondot(const QS8IGemmArgs& p) { QS8IGemm<1>(p); }
void qd8_f32_igemm_minmax_ukernel_4x16c4__neondot(const QD8IGemmArgs& p) { QD8IGemm<4>(p); }
void qd8_f32_igemm_minmax_ukernel_1x16c4__neondot(const QD8IGemmArgs& p) { QD8IGemm<1>(p); }
void qs8_igemm_minmax_ukernel_4x8c4__neondot(const QS8IGemmArgs& p) { QS8IGemm<4, 2>(p); }
void qd8_f32_igemm_minmax_ukernel_4x8c4__neondot(const QD8IGemmArgs& p) { QD8IGemm<4, 2>(p); }

}  // namespace neon
}  // namespace uk
}  // namespace rt
}  // namespace edgeopt

#endif  // defined(__aarch64__)
