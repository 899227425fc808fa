// Quantized element-wise microkernels with NEON: ADD/SUB, QUANTIZE, DEQUANTIZE, int8 <-> uint8
// requantization. Every result equals the reference kernel's (formulas in ukernels.h). 16
// elements per step; the tail goes through zero-filled copies. Safe in place (out == a or b):
// each step reads its inputs before it writes.
#include <arm_neon.h>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <type_traits>

#include "src/runtime/kernels/ukernels/neon/neon_ukernels.h"
#include "src/runtime/kernels/ukernels/neon/requant_neon.h"

namespace edgeopt {
namespace rt {
namespace uk {
namespace neon {
namespace {

inline uint8x16_t Load16(const uint8_t* p, size_t count) {
  if (count >= 16) return vld1q_u8(p);
  uint8_t tmp[16] = {};
  std::memcpy(tmp, p, count);
  return vld1q_u8(tmp);
}

inline void Store16(uint8_t* p, uint8x16_t v, size_t count) {
  if (count >= 16) {
    vst1q_u8(p, v);
    return;
  }
  uint8_t tmp[16];
  vst1q_u8(tmp, v);
  std::memcpy(p, tmp, count);
}

// (x - zero_point) << shift, rescaled by `r` (reference rounding), for 16 widened lanes.
inline void ScaleInput(int32x4_t (&v)[4], int32x4_t zero_point, int32x4_t shift,
                       const Requant4& r) {
#pragma GCC unroll 4
  for (int j = 0; j < 4; ++j) {
    v[j] = Requantize4<false>(vshlq_s32(vsubq_s32(v[j], zero_point), shift), r);
  }
}

template <bool kSigned>
void QS8VAdd(size_t n, const void* a, const void* b, bool b_scalar, void* out,
             const QS8VAddParams* p) {
  const uint8_t* pa = static_cast<const uint8_t*>(a);
  const uint8_t* pb = static_cast<const uint8_t*>(b);
  uint8_t* po = static_cast<uint8_t*>(out);
  const Requant4 ra = LoadRequant4(&p->a, 0);
  const Requant4 rb = LoadRequant4(&p->b, 0);
  const Requant4 ro = LoadRequant4(&p->out, 0);
  const int32x4_t za = vdupq_n_s32(p->a_zero_point);
  const int32x4_t zb = vdupq_n_s32(p->b_zero_point);
  const int32x4_t shift = vdupq_n_s32(p->left_shift);
  const int32x4_t lo = vdupq_n_s32(p->q.lo);
  const int32x4_t hi = vdupq_n_s32(p->q.hi);
  const int32x4_t zo = vdupq_n_s32(p->q.zero_point);
  int32x4_t sb_scalar = vdupq_n_s32(0);
  if (b_scalar) {
    const int32_t v = kSigned ? int32_t{static_cast<const int8_t*>(b)[0]} : int32_t{pb[0]};
    sb_scalar = Requantize4<false>(vshlq_s32(vsubq_s32(vdupq_n_s32(v), zb), shift), rb);
  }
  for (size_t i = 0; i < n; i += 16) {
    const size_t count = n - i < 16 ? n - i : 16;
    int32x4_t sa[4], sb[4];
    WidenBytes<kSigned>(Load16(pa + i, count), sa);
    ScaleInput(sa, za, shift, ra);
    if (b_scalar) {
      sb[0] = sb[1] = sb[2] = sb[3] = sb_scalar;
    } else {
      WidenBytes<kSigned>(Load16(pb + i, count), sb);
      ScaleInput(sb, zb, shift, rb);
    }
    int32x4_t v[4];
#pragma GCC unroll 4
    for (int j = 0; j < 4; ++j) {
      const int32x4_t raw = p->subtract ? vsubq_s32(sa[j], sb[j]) : vaddq_s32(sa[j], sb[j]);
      v[j] = ClampAddZp(Requantize4<false>(raw, ro), lo, hi, zo);
    }
    Store16(po + i, NarrowToBytes(v[0], v[1], v[2], v[3]), count);
  }
}

// The reference's quantization of one value (double division, round half away from zero).
int32_t QuantizeOne(float x, const F32QuantizeParams* p) {
  const double r = std::round(static_cast<double>(x) / static_cast<double>(p->scale));
  const int32_t q = std::isnan(r) ? 0
                    : r >= 2.0e9  ? std::numeric_limits<int32_t>::max() - 65536
                    : r <= -2.0e9 ? std::numeric_limits<int32_t>::min() + 65536
                                  : static_cast<int32_t>(r);
  const int32_t v = q + p->zero_point;
  return v < p->qmin ? p->qmin : (v > p->qmax ? p->qmax : v);
}

// Four values. q = x * (1 / scale) in float is within 2^-10 of x / scale while |q| < 2^12, so
// rounding it gives the exact answer unless q is that close to a half; such groups (rare) take
// the reference's route (returns false). Larger |q| saturate either way; NaN gives 0 (NEON's
// float -> int conversion maps NaN to 0, and max/min propagate it).
inline bool Quantize4(const float* x, float32x4_t inv, int32x4_t zp, int32x4_t qmin, int32x4_t qmax,
                      int32x4_t* out) {
  const float32x4_t q = vmulq_f32(vld1q_f32(x), inv);
  const uint32x4_t small = vcltq_f32(vabsq_f32(q), vdupq_n_f32(4096.0f));  // false for NaN
  const float32x4_t t = vcvtq_f32_s32(vcvtq_s32_f32(vbslq_f32(small, q, vdupq_n_f32(0.0f))));
  const float32x4_t frac = vabsq_f32(vsubq_f32(q, t));
  const float32x4_t dist = vabsq_f32(vsubq_f32(frac, vdupq_n_f32(0.5f)));
  const uint32x4_t risky = vandq_u32(small, vcltq_f32(dist, vdupq_n_f32(1.0f / 512.0f)));
  const uint32x2_t r2 = vorr_u32(vget_low_u32(risky), vget_high_u32(risky));
  if ((vget_lane_u32(r2, 0) | vget_lane_u32(r2, 1)) != 0) return false;
  // Half away from zero: t + sign(q) where |q - t| >= 0.5.
  const uint32x4_t up = vcgeq_f32(frac, vdupq_n_f32(0.5f));
  const float32x4_t sign =
      vbslq_f32(vcltq_f32(q, vdupq_n_f32(0.0f)), vdupq_n_f32(-1.0f), vdupq_n_f32(1.0f));
  const float32x4_t rounded = vaddq_f32(t, vbslq_f32(up, sign, vdupq_n_f32(0.0f)));
  const float32x4_t large = vminq_f32(vmaxq_f32(q, vdupq_n_f32(-1.0e6f)), vdupq_n_f32(1.0e6f));
  const float32x4_t r = vbslq_f32(small, rounded, large);
  const int32x4_t iv = vaddq_s32(vcvtq_s32_f32(r), zp);
  *out = vminq_s32(vmaxq_s32(iv, qmin), qmax);
  return true;
}

void F32Quantize(size_t n, const float* x, void* out, const F32QuantizeParams* p) {
  uint8_t* po = static_cast<uint8_t*>(out);
  const float32x4_t inv = vdupq_n_f32(p->inv_scale);
  const int32x4_t zp = vdupq_n_s32(p->zero_point);
  const int32x4_t qmin = vdupq_n_s32(p->qmin);
  const int32x4_t qmax = vdupq_n_s32(p->qmax);
  for (size_t i = 0; i < n; i += 16) {
    const size_t count = n - i < 16 ? n - i : 16;
    float tmp[16] = {};
    const float* src = x + i;
    if (count < 16) {
      std::memcpy(tmp, src, sizeof(float) * count);
      src = tmp;
    }
    int32x4_t v[4] = {zp, zp, zp, zp};
    bool ok = true;
#pragma GCC unroll 4
    for (int j = 0; j < 4; ++j) ok = Quantize4(src + 4 * j, inv, zp, qmin, qmax, &v[j]) && ok;
    if (!ok) {
      for (size_t j = 0; j < count; ++j) po[i + j] = static_cast<uint8_t>(QuantizeOne(x[i + j], p));
      continue;
    }
    Store16(po + i, NarrowToBytes(v[0], v[1], v[2], v[3]), count);
  }
}

template <bool kSigned>
void Dequantize(size_t n, const void* x, float* out, float scale, int32_t zero_point) {
  const uint8_t* px = static_cast<const uint8_t*>(x);
  const float32x4_t s = vdupq_n_f32(scale);
  const int32x4_t zp = vdupq_n_s32(zero_point);
  for (size_t i = 0; i < n; i += 16) {
    const size_t count = n - i < 16 ? n - i : 16;
    int32x4_t v[4];
    WidenBytes<kSigned>(Load16(px + i, count), v);
    float tmp[16];
    float* dst = count >= 16 ? out + i : tmp;
#pragma GCC unroll 4
    for (int j = 0; j < 4; ++j) {
      vst1q_f32(dst + 4 * j, vmulq_f32(s, vcvtq_f32_s32(vsubq_s32(v[j], zp))));
    }
    if (count < 16) std::memcpy(out + i, tmp, sizeof(float) * count);
  }
}

// 16 int8, uint8 or int16 values (a zero-filled copy for the tail) widened to int32 lanes.
template <typename TIn>
inline void Load16Widened(const TIn* p, size_t count, int32x4_t (&v)[4]) {
  if constexpr (sizeof(TIn) == 2) {
    int16_t tmp[16] = {};
    const int16_t* src = p;
    if (count < 16) {
      std::memcpy(tmp, p, count * sizeof(int16_t));
      src = tmp;
    }
    const int16x8_t a = vld1q_s16(src), b = vld1q_s16(src + 8);
    v[0] = vmovl_s16(vget_low_s16(a));
    v[1] = vmovl_s16(vget_high_s16(a));
    v[2] = vmovl_s16(vget_low_s16(b));
    v[3] = vmovl_s16(vget_high_s16(b));
  } else {
    WidenBytes<std::is_signed_v<TIn>>(Load16(reinterpret_cast<const uint8_t*>(p), count), v);
  }
}

// Requantization to int8 / uint8 (the output type only sets the clamp) from int8, uint8 or
// int16 (an int16 layer of an int8 model handing over to an int8 one).
template <typename TIn>
void Q8Requantize(size_t n, const void* x, void* out, const Q8RequantizeParams* p) {
  const TIn* px = static_cast<const TIn*>(x);
  uint8_t* po = static_cast<uint8_t*>(out);
  const Requant4 r = LoadRequant4(&p->rq, 0);
  const int32x4_t zi = vdupq_n_s32(p->input_zero_point);
  const int32x4_t lo = vdupq_n_s32(p->q.lo);
  const int32x4_t hi = vdupq_n_s32(p->q.hi);
  const int32x4_t zo = vdupq_n_s32(p->q.zero_point);
  for (size_t i = 0; i < n; i += 16) {
    const size_t count = n - i < 16 ? n - i : 16;
    int32x4_t v[4];
    Load16Widened(px + i, count, v);
#pragma GCC unroll 4
    for (int j = 0; j < 4; ++j) {
      v[j] = ClampAddZp(Requantize4<false>(vsubq_s32(v[j], zi), r), lo, hi, zo);
    }
    Store16(po + i, NarrowToBytes(v[0], v[1], v[2], v[3]), count);
  }
}

}  // namespace

void qs16_qs8_requantize_ukernel__neon(size_t n, const void* x, void* out,
                                       const Q8RequantizeParams* p) {
  Q8Requantize<int16_t>(n, x, out, p);
}
void q8_requantize_ukernel__neon_s8s8(size_t n, const void* x, void* out,
                                      const Q8RequantizeParams* p) {
  Q8Requantize<int8_t>(n, x, out, p);
}
void q8_requantize_ukernel__neon_s8u8(size_t n, const void* x, void* out,
                                      const Q8RequantizeParams* p) {
  Q8Requantize<int8_t>(n, x, out, p);
}
void q8_requantize_ukernel__neon_u8s8(size_t n, const void* x, void* out,
                                      const Q8RequantizeParams* p) {
  Q8Requantize<uint8_t>(n, x, out, p);
}
void q8_requantize_ukernel__neon_u8u8(size_t n, const void* x, void* out,
                                      const Q8RequantizeParams* p) {
  Q8Requantize<uint8_t>(n, x, out, p);
}
void qs8_vadd_minmax_ukernel__neon_u16(size_t n, const void* a, const void* b, bool b_scalar,
                                       void* out, const QS8VAddParams* p) {
  QS8VAdd<true>(n, a, b, b_scalar, out, p);
}
void qu8_vadd_minmax_ukernel__neon_u16(size_t n, const void* a, const void* b, bool b_scalar,
                                       void* out, const QS8VAddParams* p) {
  QS8VAdd<false>(n, a, b, b_scalar, out, p);
}
void f32_qs8_vcvt_ukernel__neon_u16(size_t n, const float* x, void* out,
                                    const F32QuantizeParams* p) {
  F32Quantize(n, x, out, p);
}
void f32_qu8_vcvt_ukernel__neon_u16(size_t n, const float* x, void* out,
                                    const F32QuantizeParams* p) {
  F32Quantize(n, x, out, p);
}
void qs8_f32_vcvt_ukernel__neon_u16(size_t n, const void* x, float* out, float scale,
                                    int32_t zero_point) {
  Dequantize<true>(n, x, out, scale, zero_point);
}
void qu8_f32_vcvt_ukernel__neon_u16(size_t n, const void* x, float* out, float scale,
                                    int32_t zero_point) {
  Dequantize<false>(n, x, out, scale, zero_point);
}

}  // namespace neon
}  // namespace uk
}  // namespace rt
}  // namespace edgeopt
