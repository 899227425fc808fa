// f32 pointwise convolution to at most 4 channels with NEON (ukernels.h, F32PwFewArgs): the
// AVX2 kernel's tiles (f32_pw_few_avx2.cc) in 4-lane vectors. A tile is 8 dot products, 8 / NP
// pixels times NP filter rows; each sums its pixel's k values lane by lane (4 at a time, the last
// 1-3 in scalar code), then pairwise additions give two vectors of 4 outputs in memory order.
// vfmaq_f32: aarch64, and armv7 with VFPv4 (as the f32 IGEMM).
#include <arm_neon.h>

#include <cstring>

#include "src/runtime/kernels/ukernels/neon/neon_ukernels.h"

namespace edgeopt {
namespace rt {
namespace uk {
namespace neon {
namespace {

// Lane i of the result: the sum of the 4 lanes of acc[i].
inline float32x4_t SumLanes4(const float32x4_t* acc) {
#if defined(__aarch64__)
  return vpaddq_f32(vpaddq_f32(acc[0], acc[1]), vpaddq_f32(acc[2], acc[3]));
#else
  float32x2_t h[4];
  for (int i = 0; i < 4; ++i) h[i] = vadd_f32(vget_low_f32(acc[i]), vget_high_f32(acc[i]));
  return vcombine_f32(vpadd_f32(h[0], h[1]), vpadd_f32(h[2], h[3]));
#endif
}

template <int NP>
void F32PwFew(const F32PwFewArgs& p) {
  constexpr int kPixels = 8 / NP;
  const int k4 = p.k & ~3;
  // n = 3 runs as 4 rows, the fourth a copy of the third: its outputs are left out.
  const float* w[NP];
  float bias_lanes[4];
  for (int j = 0; j < NP; ++j) w[j] = p.w + (j < p.n ? j : p.n - 1) * p.k;
  for (int i = 0; i < 4; ++i) bias_lanes[i] = p.bias != nullptr ? p.bias[i % NP % p.n] : 0.0f;
  const float32x4_t bias = vld1q_f32(bias_lanes);  // lanes 4-7 repeat lanes 0-3 (NP divides 4)
  const float32x4_t vmin = vdupq_n_f32(p.min);
  const float32x4_t vmax = vdupq_n_f32(p.max);
  float* c = p.c;
  for (size_t p0 = 0; p0 < p.pixels; p0 += kPixels) {
    const int valid = static_cast<int>(p.pixels - p0 < kPixels ? p.pixels - p0 : kPixels);
    const float* a[kPixels];
#pragma GCC unroll 8
    for (int q = 0; q < kPixels; ++q) a[q] = p.a + (p0 + (q < valid ? q : valid - 1)) * p.a_stride;
    float32x4_t acc[8];
#pragma GCC unroll 8
    for (int i = 0; i < 8; ++i) acc[i] = vdupq_n_f32(0.0f);
    for (int k0 = 0; k0 < k4; k0 += 4) {
      float32x4_t wv[NP];
#pragma GCC unroll 4
      for (int j = 0; j < NP; ++j) wv[j] = vld1q_f32(w[j] + k0);
#pragma GCC unroll 8
      for (int q = 0; q < kPixels; ++q) {
        const float32x4_t x = vld1q_f32(a[q] + k0);
#pragma GCC unroll 4
        for (int j = 0; j < NP; ++j) acc[q * NP + j] = vfmaq_f32(acc[q * NP + j], x, wv[j]);
      }
    }
    float out[8];
    for (int h = 0; h < 2; ++h) vst1q_f32(out + 4 * h, SumLanes4(acc + 4 * h));
    for (int i = 0; i < 8 && k4 < p.k; ++i) {  // the last 1-3 values
      for (int k = k4; k < p.k; ++k) out[i] += a[i / NP][k] * w[i % NP][k];
    }
    float32x4_t r[2];
    for (int h = 0; h < 2; ++h) {
      r[h] = vminq_f32(vmaxq_f32(vaddq_f32(vld1q_f32(out + 4 * h), bias), vmin), vmax);
    }
    const int count = valid * p.n;
    if (count == 8) {
      vst1q_f32(c, r[0]);
      vst1q_f32(c + 4, r[1]);
    } else {
      vst1q_f32(out, r[0]);
      vst1q_f32(out + 4, r[1]);
      if (NP == 4 && p.n == 3) {  // lanes 0-2 and 4-6
        for (int i = 3; i < 6; ++i) out[i] = out[i + 1];
      }
      std::memcpy(c, out, sizeof(float) * count);
    }
    c += count;
  }
}

}  // namespace

void f32_pw_few_ukernel__neon(const F32PwFewArgs& p) {
  if (p.n == 1) {
    F32PwFew<1>(p);
  } else if (p.n == 2) {
    F32PwFew<2>(p);
  } else {
    F32PwFew<4>(p);
  }
}

}  // namespace neon
}  // namespace uk
}  // namespace rt
}  // namespace edgeopt
