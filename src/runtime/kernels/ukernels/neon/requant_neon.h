// NEON requantization of int32 accumulators, four lanes at a time, from the packed
// RequantBlock16 (ukernels.h). Included only by the NEON microkernels.
//
// With p = (acc << lshift) * m and rs = shift - 31 the right shift:
//   SRDHM = floor((p + 2^30) / 2^31)                     = vqrdmulhq_s32(acc << lshift, m)
//   ruy:  floor((SRDHM + 2^(rs-1)) / 2^rs)                = vrshlq_s32(SRDHM, -rs)
//   reference (ties away from zero, rs > 0): the same on SRDHM - 1 when SRDHM < 0
// vqrdmulhq_s32 saturates only for m = INT32_MIN (never: m in [0, 2^31)) and SRDHM > INT32_MIN,
// so SRDHM - 1 does not wrap. Both are the 64-bit model of RequantizeScalar exactly.
#ifndef EDGEOPT_SRC_RUNTIME_KERNELS_UKERNELS_NEON_REQUANT_NEON_H_
#define EDGEOPT_SRC_RUNTIME_KERNELS_UKERNELS_NEON_REQUANT_NEON_H_

#include <arm_neon.h>

#include <cstdint>

#include "src/runtime/kernels/ukernels/ukernels.h"

namespace edgeopt {
namespace rt {
namespace uk {
namespace neon {

// The constants of lanes [4q, 4q + 4) of a RequantBlock16.
struct Requant4 {
  int32x4_t lshift;
  int32x4_t mult;
  int32x4_t neg_rs;  // -rs
  int32x4_t fix;     // all ones where rs > 0 (reference rounding)
};

inline Requant4 LoadRequant4(const RequantBlock16* r, int q) {
  Requant4 o;
  o.lshift = vld1q_s32(r->lshift + 4 * q);
  o.mult = vld1q_s32(r->mult + 4 * q);
  // shift_even[i] is lane 2i, shift_odd[i] lane 2i + 1; values 31 + rs fit in 32 bits.
  const int32x2_t e = vmovn_s64(vld1q_s64(r->shift_even + 2 * q));
  const int32x2_t o2 = vmovn_s64(vld1q_s64(r->shift_odd + 2 * q));
  const int32x2x2_t z = vzip_s32(e, o2);
  const int32x4_t sh = vcombine_s32(z.val[0], z.val[1]);
  o.neg_rs = vsubq_s32(vdupq_n_s32(31), sh);
  o.fix = vreinterpretq_s32_u32(vcltq_s32(o.neg_rs, vdupq_n_s32(0)));
  return o;
}

// kRuy: ruy's rounding (CONV_2D / FULLY_CONNECTED); else TFLite's reference rounding.
template <bool kRuy>
inline int32x4_t Requantize4(int32x4_t acc, const Requant4& r) {
  int32x4_t v = vqrdmulhq_s32(vshlq_s32(acc, r.lshift), r.mult);
  if (!kRuy) v = vaddq_s32(v, vandq_s32(vshrq_n_s32(v, 31), r.fix));
  return vrshlq_s32(v, r.neg_rs);
}

// Clamps four lanes to [lo, hi] and adds the zero point.
inline int32x4_t ClampAddZp(int32x4_t v, int32x4_t lo, int32x4_t hi, int32x4_t zp) {
  return vaddq_s32(vminq_s32(vmaxq_s32(v, lo), hi), zp);
}

// The low bytes of 16 int32 lanes (values already in the output type's range).
inline uint8x16_t NarrowToBytes(int32x4_t v0, int32x4_t v1, int32x4_t v2, int32x4_t v3) {
  const int16x8_t lo = vcombine_s16(vmovn_s32(v0), vmovn_s32(v1));
  const int16x8_t hi = vcombine_s16(vmovn_s32(v2), vmovn_s32(v3));
  return vreinterpretq_u8_s8(vcombine_s8(vmovn_s16(lo), vmovn_s16(hi)));
}

// 16 bytes widened to four int32x4 (sign- or zero-extended).
template <bool kSigned>
inline void WidenBytes(uint8x16_t b, int32x4_t (&v)[4]) {
  int16x8_t lo, hi;
  if (kSigned) {
    lo = vmovl_s8(vget_low_s8(vreinterpretq_s8_u8(b)));
    hi = vmovl_s8(vget_high_s8(vreinterpretq_s8_u8(b)));
  } else {
    lo = vreinterpretq_s16_u16(vmovl_u8(vget_low_u8(b)));
    hi = vreinterpretq_s16_u16(vmovl_u8(vget_high_u8(b)));
  }
  v[0] = vmovl_s16(vget_low_s16(lo));
  v[1] = vmovl_s16(vget_high_s16(lo));
  v[2] = vmovl_s16(vget_low_s16(hi));
  v[3] = vmovl_s16(vget_high_s16(hi));
}

inline uint32_t HorizontalSum(uint32x4_t v) {
#if defined(__aarch64__)
  return vaddvq_u32(v);
#else
  uint32x2_t s = vadd_u32(vget_low_u32(v), vget_high_u32(v));
  s = vpadd_u32(s, s);
  return vget_lane_u32(s, 0);
#endif
}

}  // namespace neon
}  // namespace uk
}  // namespace rt
}  // namespace edgeopt

#endif  // EDGEOPT_SRC_RUNTIME_KERNELS_UKERNELS_NEON_REQUANT_NEON_H_
