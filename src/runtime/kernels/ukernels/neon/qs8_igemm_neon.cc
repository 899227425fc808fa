// qs8 / qd8 IGEMM with NEON (aarch64 and armv7), without the dot-product extension. The c4
// packing (16 channels x 4 k per 64 bytes) is de-interleaved by vld4q_s8 into one vector per k;
// each is widened to int16 and multiplied by the row's activation (u in [0, 255], widened too)
// with vmlal_lane_s16, which accumulates exact int16 x int16 products in int32: one lane per
// output channel, four vectors for 16 channels.
#include <arm_neon.h>

#include <cstring>

#include "src/runtime/kernels/ukernels/neon/igemm_output_neon.h"
#include "src/runtime/kernels/ukernels/neon/neon_ukernels.h"

namespace edgeopt {
namespace rt {
namespace uk {
namespace neon {
namespace {

// The 4 activation bytes of one k group, zero-extended to int16.
inline int16x4_t LoadActivation4(const uint8_t* p) {
  uint32_t bits;
  std::memcpy(&bits, p, 4);
  const uint8x8_t b = vreinterpret_u8_u32(vdup_n_u32(bits));
  return vget_low_s16(vreinterpretq_s16_u16(vmovl_u8(b)));
}

template <int kLane, int kNV>
inline void MlalK(int32x4_t (&acc)[4], int16x8_t wl, int16x8_t wh, int16x4_t a) {
  acc[0] = vmlal_lane_s16(acc[0], vget_low_s16(wl), a, kLane);
  acc[1] = vmlal_lane_s16(acc[1], vget_high_s16(wl), a, kLane);
  if (kNV == 4) {
    acc[2] = vmlal_lane_s16(acc[2], vget_low_s16(wh), a, kLane);
    acc[3] = vmlal_lane_s16(acc[3], vget_high_s16(wh), a, kLane);
  }
}

// Accumulates rows [0, MR) x 16 channels (kNV = 4), or x the first 8 (kNV = 2: layers of at
// most 8 channels; acc[i][2..3] stay zero) over every tap; returns the pointer past the packed
// weights (the block's trailer).
template <int MR, int kNV = 4>
inline const int8_t* Accumulate(int kcp, int taps, const uint8_t* const* a, const int8_t* w,
                                int32x4_t (&acc)[MR][4]) {
  // The sums in a local array, copied out at the end: stores into `acc` (the caller's) would
  // have to be redone before every load of activation bytes, which may alias it.
  int32x4_t sum[MR][4];
  const int32_t* bias = reinterpret_cast<const int32_t*>(w);
#pragma GCC unroll 4
  for (int j = 0; j < 4; ++j) {
    const int32x4_t b = j < kNV ? vld1q_s32(bias + 4 * j) : vdupq_n_s32(0);
#pragma GCC unroll 8
    for (int i = 0; i < MR; ++i) sum[i][j] = b;
  }
  w += 64;
  for (int t = 0; t < taps; ++t) {
    const uint8_t* ap[MR];
#pragma GCC unroll 8
    for (int i = 0; i < MR; ++i) ap[i] = a[i * taps + t];
    for (int k = 0; k < kcp; k += 4) {
      const int8x16x4_t wv = vld4q_s8(w);  // wv.val[q][j] = w'[channel j][k + q]
      w += 64;
      int16x8_t wl[4], wh[4];
#pragma GCC unroll 4
      for (int q = 0; q < 4; ++q) {
        wl[q] = vmovl_s8(vget_low_s8(wv.val[q]));
        wh[q] = kNV == 4 ? vmovl_s8(vget_high_s8(wv.val[q])) : wl[q];
      }
#pragma GCC unroll 8
      for (int i = 0; i < MR; ++i) {
        const int16x4_t av = LoadActivation4(ap[i] + k);
        MlalK<0, kNV>(sum[i], wl[0], wh[0], av);
        MlalK<1, kNV>(sum[i], wl[1], wh[1], av);
        MlalK<2, kNV>(sum[i], wl[2], wh[2], av);
        MlalK<3, kNV>(sum[i], wl[3], wh[3], av);
      }
    }
  }
#pragma GCC unroll 8
  for (int i = 0; i < MR; ++i) {
#pragma GCC unroll 4
    for (int j = 0; j < 4; ++j) acc[i][j] = sum[i][j];
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

void qs8_igemm_minmax_ukernel_4x16c4__neon_mlal(const QS8IGemmArgs& p) { QS8IGemm<4>(p); }
void qs8_igemm_minmax_ukernel_2x16c4__neon_mlal(const QS8IGemmArgs& p) { QS8IGemm<2>(p); }
void qs8_igemm_minmax_ukernel_1x16c4__neon_mlal(const QS8IGemmArgs& p) { QS8IGemm<1>(p); }
void qd8_f32_igemm_minmax_ukernel_4x16c4__neon_mlal(const QD8IGemmArgs& p) { QD8IGemm<4>(p); }
void qd8_f32_igemm_minmax_ukernel_2x16c4__neon_mlal(const QD8IGemmArgs& p) { QD8IGemm<2>(p); }
void qd8_f32_igemm_minmax_ukernel_1x16c4__neon_mlal(const QD8IGemmArgs& p) { QD8IGemm<1>(p); }
void qs8_igemm_minmax_ukernel_4x8c4__neon_mlal(const QS8IGemmArgs& p) { QS8IGemm<4, 2>(p); }
void qs8_igemm_minmax_ukernel_2x8c4__neon_mlal(const QS8IGemmArgs& p) { QS8IGemm<2, 2>(p); }
void qd8_f32_igemm_minmax_ukernel_4x8c4__neon_mlal(const QD8IGemmArgs& p) { QD8IGemm<4, 2>(p); }
void qd8_f32_igemm_minmax_ukernel_2x8c4__neon_mlal(const QD8IGemmArgs& p) { QD8IGemm<2, 2>(p); }

}  // namespace neon
}  // namespace uk
}  // namespace rt
}  // namespace edgeopt
