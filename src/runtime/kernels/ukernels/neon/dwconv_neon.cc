// Depthwise microkernels with NEON: per output pixel, `taps` input pointers; channels in blocks
// of 16 (the packed block). A partial last block reads what lies past its channels through a
// zero-filled copy.
//
// qs8: input bytes widened to int16 (u8 in [0, 255] fits), the packed weights' int32 lanes
// de-interleaved by vld2q_s16 into their low halves (w'), products accumulated exactly by
// vmlal_s16; reference rounding. f32: the reference's order, bit for bit (see ukernels.h).
#include <arm_neon.h>

#include <cstring>

#include "src/runtime/kernels/ukernels/neon/neon_ukernels.h"
#include "src/runtime/kernels/ukernels/neon/requant_neon.h"

namespace edgeopt {
namespace rt {
namespace uk {
namespace neon {
namespace {

// Input bytes [c, c + 16) of a pixel; `count` < 16 reads only `count` of them. Eight (the tail
// of 8 channels modulo 16, and a depth multiplier of 8 on one channel) is one 8-byte load, not a
// copy through memory at every tap.
inline uint8x16_t LoadBytes(const uint8_t* p, int count) {
  if (count >= 16) return vld1q_u8(p);
  if (count == 8) return vcombine_u8(vld1_u8(p), vdup_n_u8(0));
  uint8_t tmp[16] = {};
  std::memcpy(tmp, p, static_cast<size_t>(count));
  return vld1q_u8(tmp);
}

inline void StoreBytes(uint8_t* p, uint8x16_t v, int count) {
  if (count >= 16) {
    vst1q_u8(p, v);
    return;
  }
  if (count == 8) {
    vst1_u8(p, vget_low_u8(v));
    return;
  }
  uint8_t tmp[16];
  vst1q_u8(tmp, v);
  std::memcpy(p, tmp, static_cast<size_t>(count));
}

// acc[0..3] (16 channels) += x * w' for one tap; `w` is the tap's 16 packed int32 lanes.
template <bool kSigned>
inline void MacTap(int32x4_t (&acc)[4], uint8x16_t x, const uint8_t* w) {
  int16x8_t xl, xh;
  if (kSigned) {
    xl = vmovl_s8(vget_low_s8(vreinterpretq_s8_u8(x)));
    xh = vmovl_s8(vget_high_s8(vreinterpretq_s8_u8(x)));
  } else {
    xl = vreinterpretq_s16_u16(vmovl_u8(vget_low_u8(x)));
    xh = vreinterpretq_s16_u16(vmovl_u8(vget_high_u8(x)));
  }
  const int16x8_t wl = vld2q_s16(reinterpret_cast<const int16_t*>(w)).val[0];
  const int16x8_t wh = vld2q_s16(reinterpret_cast<const int16_t*>(w + 32)).val[0];
  acc[0] = vmlal_s16(acc[0], vget_low_s16(xl), vget_low_s16(wl));
  acc[1] = vmlal_s16(acc[1], vget_high_s16(xl), vget_high_s16(wl));
  acc[2] = vmlal_s16(acc[2], vget_low_s16(xh), vget_low_s16(wh));
  acc[3] = vmlal_s16(acc[3], vget_high_s16(xh), vget_high_s16(wh));
}

template <bool kSigned>
void QS8Dw(const QS8DwArgs& p) {
  const size_t block_bytes = QS8DwPackedBlockBytes(p.taps);
  const int32x4_t lo = vdupq_n_s32(p.q->lo);
  const int32x4_t hi = vdupq_n_s32(p.q->hi);
  const int32x4_t zp = vdupq_n_s32(p.q->zero_point);
  const int taps = p.taps;
  for (int x = 0; x < p.width; ++x) {
    const uint8_t* const* in = reinterpret_cast<const uint8_t* const*>(p.input) + x * p.input_step;
    uint8_t* out = static_cast<uint8_t*>(p.out) + x * p.out_stride;
    const uint8_t* w = static_cast<const uint8_t*>(p.w);
    for (int c = 0; c < p.channels; c += 16) {
      const int count = p.channels - c;
      const int32_t* bias = reinterpret_cast<const int32_t*>(w);
      int32x4_t acc[4] = {vld1q_s32(bias), vld1q_s32(bias + 4), vld1q_s32(bias + 8),
                          vld1q_s32(bias + 12)};
      for (int t = 0; t < taps; ++t) {
        MacTap<kSigned>(acc, LoadBytes(in[t] + c, count), w + 64 + 64 * t);
      }
      const RequantBlock16* r = reinterpret_cast<const RequantBlock16*>(w + 64 + 64 * taps);
      int32x4_t v[4];
#pragma GCC unroll 4
      for (int j = 0; j < 4; ++j) {
        v[j] = ClampAddZp(Requantize4<false>(acc[j], LoadRequant4(r, j)), lo, hi, zp);
      }
      StoreBytes(out + c, NarrowToBytes(v[0], v[1], v[2], v[3]), count);
      w += block_bytes;
    }
  }
}

void QD8Dw(const QD8DwArgs& p) {
  const size_t block_bytes = QD8DwPackedBlockBytes(p.taps);
  const float32x4_t vmin = vdupq_n_f32(p.min);
  const float32x4_t vmax = vdupq_n_f32(p.max);
  const float32x4_t vs = vdupq_n_f32(p.input_scale);
  const int taps = p.taps;
  for (int x = 0; x < p.width; ++x) {
    const int8_t* const* in = p.input + x * p.input_step;
    float* out = p.out + x * p.out_stride;
    const uint8_t* w = static_cast<const uint8_t*>(p.w);
    for (int c = 0; c < p.channels; c += 16) {
      const int count = p.channels - c;
      int32_t col_tmp[16] = {};
      float scale_tmp[16] = {}, bias_tmp[16] = {};
      const int32_t* col = p.col_term + c;
      const float* scale = p.filter_scale + c;
      const float* bias = p.bias != nullptr ? p.bias + c : nullptr;
      if (count < 16) {
        std::memcpy(col_tmp, col, sizeof(int32_t) * count);
        std::memcpy(scale_tmp, scale, sizeof(float) * count);
        if (bias != nullptr) std::memcpy(bias_tmp, bias, sizeof(float) * count);
        col = col_tmp;
        scale = scale_tmp;
        if (bias != nullptr) bias = bias_tmp;
      }
      int32x4_t acc[4] = {vld1q_s32(col), vld1q_s32(col + 4), vld1q_s32(col + 8),
                          vld1q_s32(col + 12)};
      for (int t = 0; t < taps; ++t) {
        MacTap<true>(acc, LoadBytes(reinterpret_cast<const uint8_t*>(in[t] + c), count),
                     w + 64 + 64 * t);
      }
      float res[16];
      float* dst = count >= 16 ? out + c : res;
#pragma GCC unroll 4
      for (int j = 0; j < 4; ++j) {
        // (float(acc) * input_scale) * filter_scale, then + bias: the reference's operations.
        float32x4_t v = vmulq_f32(vmulq_f32(vcvtq_f32_s32(acc[j]), vs), vld1q_f32(scale + 4 * j));
        if (bias != nullptr) v = vaddq_f32(v, vld1q_f32(bias + 4 * j));
        vst1q_f32(dst + 4 * j, vminq_f32(vmaxq_f32(v, vmin), vmax));
      }
      if (count < 16) std::memcpy(out + c, res, sizeof(float) * count);
      w += block_bytes;
    }
  }
}

// Float: bias first, then the taps in the reference's (row-major) order with separate
// multiplies and adds, so the result is bit-identical to ref::DepthwiseConvF32.
void F32Dw(const F32DwArgs& p) {
  const size_t block = F32DwPackedBlockBytes(p.taps) / sizeof(float);
  const float32x4_t vmin = vdupq_n_f32(p.min);
  const float32x4_t vmax = vdupq_n_f32(p.max);
  const int kh = p.kh, kw = p.taps / p.kh;
  for (int x = 0; x < p.width; ++x) {
    const float* const* in = p.input + x * p.input_step;
    float* out = p.out + x * p.out_stride;
    const float* w = p.w;
    for (int c = 0; c < p.channels; c += 16) {
      const int count = p.channels - c;
      float32x4_t acc[4] = {vld1q_f32(w), vld1q_f32(w + 4), vld1q_f32(w + 8), vld1q_f32(w + 12)};
      for (int fy = 0; fy < kh; ++fy) {
        for (int fx = 0; fx < kw; ++fx) {
          const int t = fx * kh + fy;
          const float* src = in[t] + c;
          const float* wt = w + 16 + 16 * t;
          if (count >= 16) {
#pragma GCC unroll 4
            for (int j = 0; j < 4; ++j) {
              acc[j] = vaddq_f32(acc[j], vmulq_f32(vld1q_f32(src + 4 * j), vld1q_f32(wt + 4 * j)));
            }
            continue;
          }
          // A partial block: its whole vectors straight from memory, the last few channels
          // through a copy (a copy of all of them at every tap cost more than the arithmetic).
          for (int j = 0; 4 * j < count; ++j) {
            const int n = count - 4 * j;
            float32x4_t x;
            if (n >= 4) {
              x = vld1q_f32(src + 4 * j);
            } else {
              float tmp[4] = {};
              std::memcpy(tmp, src + 4 * j, sizeof(float) * n);
              x = vld1q_f32(tmp);
            }
            acc[j] = vaddq_f32(acc[j], vmulq_f32(x, vld1q_f32(wt + 4 * j)));
          }
        }
      }
      float res[16];
      float* dst = count >= 16 ? out + c : res;
#pragma GCC unroll 4
      for (int j = 0; j < 4; ++j) vst1q_f32(dst + 4 * j, vminq_f32(vmaxq_f32(acc[j], vmin), vmax));
      if (count < 16) std::memcpy(out + c, res, sizeof(float) * count);
      w += block;
    }
  }
}

}  // namespace

void qs8_dwconv_minmax_ukernel_up16__neon_mlal(const QS8DwArgs& p) { QS8Dw<true>(p); }
void qu8_dwconv_minmax_ukernel_up16__neon_mlal(const QS8DwArgs& p) { QS8Dw<false>(p); }
void qd8_f32_dwconv_minmax_ukernel_up16__neon_mlal(const QD8DwArgs& p) { QD8Dw(p); }
void f32_dwconv_minmax_ukernel_up16__neon(const F32DwArgs& p) { F32Dw(p); }

}  // namespace neon
}  // namespace uk
}  // namespace rt
}  // namespace edgeopt
