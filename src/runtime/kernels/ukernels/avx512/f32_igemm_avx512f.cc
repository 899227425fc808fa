// f32 IGEMM with AVX-512F: per k, MR broadcast activations times NV vectors of 16 weights
// (vfmadd231ps with an embedded-broadcast memory operand). The "exact" variants repeat the
// reference GemmF32 bit for bit instead: sums from 0 in k order with separate multiplies and
// adds, bias added last.
// GCC 12 reports its own AVX-512 intrinsics (their `_mm512_undefined` operands) as maybe
// uninitialized (GCC bug 105593, fixed in 13).
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#include <immintrin.h>

#include "src/runtime/kernels/ukernels/avx512/avx512_ukernels.h"
#include "src/runtime/kernels/ukernels/avx512/requant_avx512.h"

namespace edgeopt {
namespace rt {
namespace uk {
namespace avx512 {
namespace {

template <int MR, int NV, bool kExact>
void F32IGemm(const F32IGemmArgs& p) {
  __m512 acc[MR][NV];
  const float* w = p.w;
#pragma GCC unroll 4
  for (int j = 0; j < NV; ++j) {
    const __m512 b = kExact ? _mm512_setzero_ps() : _mm512_loadu_ps(w + 16 * j);
#pragma GCC unroll 16
    for (int i = 0; i < MR; ++i) acc[i][j] = b;
  }
  w += 16 * NV;
  for (int t = 0; t < p.taps; ++t) {
    const float* ap[MR];
#pragma GCC unroll 16
    for (int i = 0; i < MR; ++i) ap[i] = p.a[i * p.taps + t];
#pragma GCC unroll 4
    for (int k = 0; k < p.kc; ++k) {
      __m512 wv[NV];
#pragma GCC unroll 4
      for (int j = 0; j < NV; ++j) wv[j] = _mm512_loadu_ps(w + 16 * j);
      w += 16 * NV;
#pragma GCC unroll 16
      for (int i = 0; i < MR; ++i) {
        const __m512 va = _mm512_set1_ps(ap[i][k]);
#pragma GCC unroll 4
        for (int j = 0; j < NV; ++j) {
          acc[i][j] = kExact ? _mm512_add_ps(acc[i][j], _mm512_mul_ps(va, wv[j]))
                             : _mm512_fmadd_ps(va, wv[j], acc[i][j]);
        }
      }
    }
  }
  const __m512 vmin = _mm512_set1_ps(p.min);
  const __m512 vmax = _mm512_set1_ps(p.max);
  __mmask16 mask[NV];
  __m512 bias[NV];
#pragma GCC unroll 4
  for (int j = 0; j < NV; ++j) {
    mask[j] = TailMask16(p.nc - 16 * j);
    bias[j] = _mm512_loadu_ps(p.w + 16 * j);
  }
#pragma GCC unroll 16
  for (int i = 0; i < MR; ++i) {
    if (i >= p.mr) break;
    float* c = p.c + i * p.c_stride;
#pragma GCC unroll 4
    for (int j = 0; j < NV; ++j) {
      if (16 * j >= p.nc) break;
      const __m512 a = kExact ? _mm512_add_ps(acc[i][j], bias[j]) : acc[i][j];
      const __m512 v = _mm512_min_ps(_mm512_max_ps(a, vmin), vmax);
      _mm512_mask_storeu_ps(c + 16 * j, mask[j], v);
    }
  }
}

// One row, bit-exact with ref::GemvF32 (TFLite's Eigen GEMV on x86): four partial sums over
// k = 4i + l, combined as (s0 + s2) + (s1 + s3), then the K % 4 remaining products in order,
// then the bias; separate multiplies and adds. k runs over taps then channels (im2col order).
template <int NV>
void F32GemvExact(const F32IGemmArgs& p) {
  __m512 s[4][NV];
#pragma GCC unroll 4
  for (int l = 0; l < 4; ++l) {
#pragma GCC unroll 4
    for (int j = 0; j < NV; ++j) s[l][j] = _mm512_setzero_ps();
  }
  const int K = p.taps * p.kc;
  const int k4 = K - K % 4;
  const float* w = p.w + 16 * NV;
  int t = 0, k = 0;
  auto next = [&]() {
    const float v = p.a[t][k];
    if (++k == p.kc) {
      k = 0;
      ++t;
    }
    return v;
  };
  for (int g = 0; g < k4; g += 4) {
#pragma GCC unroll 4
    for (int l = 0; l < 4; ++l) {
      const __m512 va = _mm512_set1_ps(next());
#pragma GCC unroll 4
      for (int j = 0; j < NV; ++j) {
        s[l][j] = _mm512_add_ps(s[l][j], _mm512_mul_ps(va, _mm512_loadu_ps(w + 16 * j)));
      }
      w += 16 * NV;
    }
  }
  __m512 v[NV];
#pragma GCC unroll 4
  for (int j = 0; j < NV; ++j) {
    v[j] = _mm512_add_ps(_mm512_add_ps(s[0][j], s[2][j]), _mm512_add_ps(s[1][j], s[3][j]));
  }
  for (int g = k4; g < K; ++g) {
    const __m512 va = _mm512_set1_ps(next());
#pragma GCC unroll 4
    for (int j = 0; j < NV; ++j) {
      v[j] = _mm512_add_ps(v[j], _mm512_mul_ps(va, _mm512_loadu_ps(w + 16 * j)));
    }
    w += 16 * NV;
  }
  const __m512 vmin = _mm512_set1_ps(p.min);
  const __m512 vmax = _mm512_set1_ps(p.max);
#pragma GCC unroll 4
  for (int j = 0; j < NV; ++j) {
    if (16 * j >= p.nc) break;
    __m512 r = p.has_bias ? _mm512_add_ps(v[j], _mm512_loadu_ps(p.w + 16 * j)) : v[j];
    r = _mm512_min_ps(_mm512_max_ps(r, vmin), vmax);
    _mm512_mask_storeu_ps(p.c + 16 * j, TailMask16(p.nc - 16 * j), r);
  }
}

}  // namespace

void f32_gemv_exact_ukernel_1x32__avx512f(const F32IGemmArgs& p) { F32GemvExact<2>(p); }
void f32_gemv_exact_ukernel_1x16__avx512f(const F32IGemmArgs& p) { F32GemvExact<1>(p); }
void f32_igemm_minmax_ukernel_12x32__avx512f(const F32IGemmArgs& p) { F32IGemm<12, 2, false>(p); }
void f32_igemm_minmax_ukernel_16x16__avx512f(const F32IGemmArgs& p) { F32IGemm<16, 1, false>(p); }
void f32_igemm_minmax_ukernel_6x64__avx512f(const F32IGemmArgs& p) { F32IGemm<6, 4, false>(p); }
void f32_igemm_exact_ukernel_6x64__avx512f(const F32IGemmArgs& p) { F32IGemm<6, 4, true>(p); }
void f32_gemv_exact_ukernel_1x64__avx512f(const F32IGemmArgs& p) { F32GemvExact<4>(p); }
void f32_igemm_exact_ukernel_12x32__avx512f(const F32IGemmArgs& p) { F32IGemm<12, 2, true>(p); }
void f32_igemm_exact_ukernel_16x16__avx512f(const F32IGemmArgs& p) { F32IGemm<16, 1, true>(p); }

}  // namespace avx512
}  // namespace uk
}  // namespace rt
}  // namespace edgeopt
