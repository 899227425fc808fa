// The output stages of the NEON qs8 / qd8 IGEMM kernels (shared by the mlal and dot-product
// variants): 16 channels of MR rows of int32 accumulators to int8/uint8 (ruy rounding) or to
// float. Included only by the NEON microkernels.
#ifndef EDGEOPT_SRC_RUNTIME_KERNELS_UKERNELS_NEON_IGEMM_OUTPUT_NEON_H_
#define EDGEOPT_SRC_RUNTIME_KERNELS_UKERNELS_NEON_IGEMM_OUTPUT_NEON_H_

#include <arm_neon.h>

#include <cstring>

#include "src/runtime/kernels/ukernels/neon/requant_neon.h"

namespace edgeopt {
namespace rt {
namespace uk {
namespace neon {

// `w` points at the block's requantization trailer. kNV: vectors of 4 channels that hold
// results (4; 2 for layers of at most 8 channels, whose acc[i][2..3] are not read).
template <int MR, int kNV = 4>
inline void StoreQS8Rows(const QS8IGemmArgs& p, const int8_t* w, const int32x4_t (&acc)[MR][4]) {
  const RequantBlock16* rq = reinterpret_cast<const RequantBlock16*>(w);
  Requant4 r[4];
#pragma GCC unroll 4
  for (int j = 0; j < kNV; ++j) r[j] = LoadRequant4(rq, j);
  const int32x4_t lo = vdupq_n_s32(p.out->lo);
  const int32x4_t hi = vdupq_n_s32(p.out->hi);
  const int32x4_t zp = vdupq_n_s32(p.out->zero_point);
#pragma GCC unroll 8
  for (int i = 0; i < MR; ++i) {
    if (i >= p.mr) break;
    const int32x4_t row = vdupq_n_s32(p.row_term != nullptr ? p.row_term[i] : 0);
    int32x4_t v[4] = {vdupq_n_s32(0), vdupq_n_s32(0), vdupq_n_s32(0), vdupq_n_s32(0)};
#pragma GCC unroll 4
    for (int j = 0; j < kNV; ++j) {
      v[j] = ClampAddZp(Requantize4<true>(vaddq_s32(acc[i][j], row), r[j]), lo, hi, zp);
    }
    const uint8x16_t bytes = NarrowToBytes(v[0], v[1], v[2], v[3]);
    uint8_t* c = reinterpret_cast<uint8_t*>(p.c + i * p.c_stride);
    if (p.nc >= 16) {
      vst1q_u8(c, bytes);
    } else {
      uint8_t tmp[16];
      vst1q_u8(tmp, bytes);
      std::memcpy(c, tmp, static_cast<size_t>(p.nc));
    }
  }
}

template <int MR, int kNV = 4>
inline void StoreQD8Rows(const QD8IGemmArgs& p, const int32x4_t (&acc)[MR][4]) {
  // Per-channel terms; a partial block reads copies (the arrays end at nc).
  int32_t col_tmp[16] = {};
  float scale_tmp[16] = {}, bias_tmp[16] = {};
  const int32_t* col = p.col_term;
  const float* scale = p.scale;
  const float* bias = p.bias;
  if (p.nc < 16) {
    std::memcpy(col_tmp, p.col_term, sizeof(int32_t) * p.nc);
    std::memcpy(scale_tmp, p.scale, sizeof(float) * p.nc);
    if (p.bias != nullptr) std::memcpy(bias_tmp, p.bias, sizeof(float) * p.nc);
    col = col_tmp;
    scale = scale_tmp;
    bias = p.bias != nullptr ? bias_tmp : nullptr;
  }
  const float32x4_t vmin = vdupq_n_f32(p.min);
  const float32x4_t vmax = vdupq_n_f32(p.max);
#pragma GCC unroll 8
  for (int i = 0; i < MR; ++i) {
    if (i >= p.mr) break;
    float tmp[16];
    float* c = p.c + i * p.c_stride;
    float* dst = p.nc >= 16 ? c : tmp;
#pragma GCC unroll 4
    for (int j = 0; j < kNV; ++j) {
      // As the reference: float(acc) * scale, then + bias (two roundings, no FMA).
      const int32x4_t s = vaddq_s32(acc[i][j], vld1q_s32(col + 4 * j));
      float32x4_t v = vmulq_f32(vcvtq_f32_s32(s), vld1q_f32(scale + 4 * j));
      if (bias != nullptr) v = vaddq_f32(v, vld1q_f32(bias + 4 * j));
      vst1q_f32(dst + 4 * j, vminq_f32(vmaxq_f32(v, vmin), vmax));
    }
    if (p.nc < 16) std::memcpy(c, tmp, sizeof(float) * p.nc);
  }
}

}  // namespace neon
}  // namespace uk
}  // namespace rt
}  // namespace edgeopt

#endif  // EDGEOPT_SRC_RUNTIME_KERNELS_UKERNELS_NEON_IGEMM_OUTPUT_NEON_H_
