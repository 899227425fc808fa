// f32 IGEMM with NEON: per k, MR broadcast activations times NV vectors of 4 weights, fused
// multiply-add (vfmaq_f32: aarch64, and armv7 with VFPv4). The "exact" variants repeat the
// reference GemmF32 bit for bit instead (sums from 0 in k order, separate multiplies and adds,
// bias last), and the GEMV the reference GemvF32 (four partial sums over k = 4i + l).
// On armv7, NEON arithmetic flushes denormals to zero (the VFP reference keeps them): the exact
// kernels are bit-identical there for normal numbers only.
#include <arm_neon.h>

#include <cstring>

#include "src/runtime/kernels/ukernels/neon/neon_ukernels.h"

namespace edgeopt {
namespace rt {
namespace uk {
namespace neon {
namespace {

// Stores NV vectors (4 * NV floats), only the first `nc` when nc < 4 * NV.
template <int NV>
inline void StoreRow(float* c, int nc, const float32x4_t (&v)[NV]) {
  if (nc >= 4 * NV) {
#pragma GCC unroll 4
    for (int j = 0; j < NV; ++j) vst1q_f32(c + 4 * j, v[j]);
    return;
  }
  float tmp[4 * NV];
#pragma GCC unroll 4
  for (int j = 0; j < NV; ++j) vst1q_f32(tmp + 4 * j, v[j]);
  std::memcpy(c, tmp, sizeof(float) * nc);
}

template <int MR, int NV, bool kExact>
void F32IGemm(const F32IGemmArgs& p) {
  float32x4_t acc[MR][NV];
  const float* w = p.w;
#pragma GCC unroll 4
  for (int j = 0; j < NV; ++j) {
    const float32x4_t b = kExact ? vdupq_n_f32(0.0f) : vld1q_f32(w + 4 * j);
#pragma GCC unroll 8
    for (int i = 0; i < MR; ++i) acc[i][j] = b;
  }
  w += 4 * NV;
  for (int t = 0; t < p.taps; ++t) {
    const float* ap[MR];
#pragma GCC unroll 8
    for (int i = 0; i < MR; ++i) ap[i] = p.a[i * p.taps + t];
    for (int k = 0; k < p.kc; ++k) {
      float32x4_t wv[NV];
#pragma GCC unroll 4
      for (int j = 0; j < NV; ++j) wv[j] = vld1q_f32(w + 4 * j);
      w += 4 * NV;
#pragma GCC unroll 8
      for (int i = 0; i < MR; ++i) {
        const float32x4_t va = vld1q_dup_f32(ap[i] + k);
#pragma GCC unroll 4
        for (int j = 0; j < NV; ++j) {
          acc[i][j] =
              kExact ? vaddq_f32(acc[i][j], vmulq_f32(va, wv[j])) : vfmaq_f32(acc[i][j], va, wv[j]);
        }
      }
    }
  }
  const float32x4_t vmin = vdupq_n_f32(p.min);
  const float32x4_t vmax = vdupq_n_f32(p.max);
#pragma GCC unroll 8
  for (int i = 0; i < MR; ++i) {
    if (i >= p.mr) break;
    float32x4_t v[NV];
#pragma GCC unroll 4
    for (int j = 0; j < NV; ++j) {
      const float32x4_t a = kExact ? vaddq_f32(acc[i][j], vld1q_f32(p.w + 4 * j)) : acc[i][j];
      v[j] = vminq_f32(vmaxq_f32(a, vmin), vmax);
    }
    StoreRow<NV>(p.c + i * p.c_stride, p.nc, v);
  }
}

// One row, bit-exact with ref::GemvF32: four partial sums over k = 4i + l, combined as
// (s0 + s2) + (s1 + s3), then the K % 4 remaining products in order, then the bias (when the
// layer has one); separate multiplies and adds. k runs over taps then channels.
template <int NV>
void F32GemvExact(const F32IGemmArgs& p) {
  float32x4_t s[4][NV];
#pragma GCC unroll 4
  for (int l = 0; l < 4; ++l) {
#pragma GCC unroll 4
    for (int j = 0; j < NV; ++j) s[l][j] = vdupq_n_f32(0.0f);
  }
  const int K = p.taps * p.kc;
  const int k4 = K - K % 4;
  const float* w = p.w + 4 * NV;
  int t = 0, k = 0;
  auto next = [&]() {
    const float* v = p.a[t] + k;
    if (++k == p.kc) {
      k = 0;
      ++t;
    }
    return v;
  };
  for (int g = 0; g < k4; g += 4) {
#pragma GCC unroll 4
    for (int l = 0; l < 4; ++l) {
      const float32x4_t va = vld1q_dup_f32(next());
#pragma GCC unroll 4
      for (int j = 0; j < NV; ++j) {
        s[l][j] = vaddq_f32(s[l][j], vmulq_f32(va, vld1q_f32(w + 4 * j)));
      }
      w += 4 * NV;
    }
  }
  float32x4_t v[NV];
#pragma GCC unroll 4
  for (int j = 0; j < NV; ++j) {
    v[j] = vaddq_f32(vaddq_f32(s[0][j], s[2][j]), vaddq_f32(s[1][j], s[3][j]));
  }
  for (int g = k4; g < K; ++g) {
    const float32x4_t va = vld1q_dup_f32(next());
#pragma GCC unroll 4
    for (int j = 0; j < NV; ++j) v[j] = vaddq_f32(v[j], vmulq_f32(va, vld1q_f32(w + 4 * j)));
    w += 4 * NV;
  }
  const float32x4_t vmin = vdupq_n_f32(p.min);
  const float32x4_t vmax = vdupq_n_f32(p.max);
#pragma GCC unroll 4
  for (int j = 0; j < NV; ++j) {
    const float32x4_t r = p.has_bias ? vaddq_f32(v[j], vld1q_f32(p.w + 4 * j)) : v[j];
    v[j] = vminq_f32(vmaxq_f32(r, vmin), vmax);
  }
  StoreRow<NV>(p.c, p.nc, v);
}

}  // namespace

void f32_igemm_minmax_ukernel_6x8__neonfma(const F32IGemmArgs& p) { F32IGemm<6, 2, false>(p); }
void f32_igemm_minmax_ukernel_4x16__neonfma(const F32IGemmArgs& p) { F32IGemm<4, 4, false>(p); }
void f32_igemm_minmax_ukernel_4x8__neonfma(const F32IGemmArgs& p) { F32IGemm<4, 2, false>(p); }
void f32_igemm_exact_ukernel_6x8__neon(const F32IGemmArgs& p) { F32IGemm<6, 2, true>(p); }
void f32_igemm_exact_ukernel_4x16__neon(const F32IGemmArgs& p) { F32IGemm<4, 4, true>(p); }
void f32_igemm_exact_ukernel_4x8__neon(const F32IGemmArgs& p) { F32IGemm<4, 2, true>(p); }
void f32_gemv_exact_ukernel_1x8__neon(const F32IGemmArgs& p) { F32GemvExact<2>(p); }
void f32_gemv_exact_ukernel_1x16__neon(const F32IGemmArgs& p) { F32GemvExact<4>(p); }

}  // namespace neon
}  // namespace uk
}  // namespace rt
}  // namespace edgeopt
