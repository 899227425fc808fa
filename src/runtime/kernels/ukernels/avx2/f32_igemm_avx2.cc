// f32 IGEMM with AVX2/FMA, 6 rows x 16 channels (12 accumulators), the bit-exact variant
// (ref::GemmF32's order, no FMA) and the exact single-row GEMV (ref::GemvF32's order).
#include <immintrin.h>

#include "src/runtime/kernels/ukernels/avx2/avx2_ukernels.h"
#include "src/runtime/kernels/ukernels/avx2/requant_avx2.h"

namespace edgeopt {
namespace rt {
namespace uk {
namespace avx2 {
namespace {

template <int MR, bool kExact>
void F32IGemm(const F32IGemmArgs& p) {
  __m256 acc[MR][2];
  const float* w = p.w;
  // Every loop over the accumulators unrolled: GCC otherwise keeps them on the stack (a load
  // and a store around every FMA: half of the FMA peak, conv_bench).
#pragma GCC unroll 2
  for (int j = 0; j < 2; ++j) {
    const __m256 b = kExact ? _mm256_setzero_ps() : _mm256_loadu_ps(w + 8 * j);
#pragma GCC unroll 8
    for (int i = 0; i < MR; ++i) acc[i][j] = b;
  }
  w += 16;
  for (int t = 0; t < p.taps; ++t) {
    const float* ap[MR];
#pragma GCC unroll 8
    for (int i = 0; i < MR; ++i) ap[i] = p.a[i * p.taps + t];
    for (int k = 0; k < p.kc; ++k) {
      const __m256 w0 = _mm256_loadu_ps(w);
      const __m256 w1 = _mm256_loadu_ps(w + 8);
      w += 16;
#pragma GCC unroll 8
      for (int i = 0; i < MR; ++i) {
        const __m256 va = _mm256_broadcast_ss(ap[i] + k);
        if (kExact) {
          acc[i][0] = _mm256_add_ps(acc[i][0], _mm256_mul_ps(va, w0));
          acc[i][1] = _mm256_add_ps(acc[i][1], _mm256_mul_ps(va, w1));
        } else {
          acc[i][0] = _mm256_fmadd_ps(va, w0, acc[i][0]);
          acc[i][1] = _mm256_fmadd_ps(va, w1, acc[i][1]);
        }
      }
    }
  }
  const __m256 vmin = _mm256_set1_ps(p.min);
  const __m256 vmax = _mm256_set1_ps(p.max);
#pragma GCC unroll 2
  for (int j = 0; j < 2; ++j) {
    if (8 * j >= p.nc) break;
    const __m256i mask = TailMask8(p.nc - 8 * j);
    const __m256 bias = _mm256_loadu_ps(p.w + 8 * j);
#pragma GCC unroll 8
    for (int i = 0; i < MR; ++i) {
      if (i >= p.mr) break;
      const __m256 a = kExact ? _mm256_add_ps(acc[i][j], bias) : acc[i][j];
      _mm256_maskstore_ps(p.c + i * p.c_stride + 8 * j, mask,
                          _mm256_min_ps(_mm256_max_ps(a, vmin), vmax));
    }
  }
}

// One row, bit-exact with ref::GemvF32 (see the AVX-512 version).
void F32GemvExact(const F32IGemmArgs& p) {
  __m256 s[4][2];
  for (int l = 0; l < 4; ++l) s[l][0] = s[l][1] = _mm256_setzero_ps();
  const int K = p.taps * p.kc;
  const int k4 = K - K % 4;
  const float* w = p.w + 16;
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
      const __m256 va = _mm256_set1_ps(next());
      s[l][0] = _mm256_add_ps(s[l][0], _mm256_mul_ps(va, _mm256_loadu_ps(w)));
      s[l][1] = _mm256_add_ps(s[l][1], _mm256_mul_ps(va, _mm256_loadu_ps(w + 8)));
      w += 16;
    }
  }
  __m256 v[2];
  for (int j = 0; j < 2; ++j) {
    v[j] = _mm256_add_ps(_mm256_add_ps(s[0][j], s[2][j]), _mm256_add_ps(s[1][j], s[3][j]));
  }
  for (int g = k4; g < K; ++g) {
    const __m256 va = _mm256_set1_ps(next());
    v[0] = _mm256_add_ps(v[0], _mm256_mul_ps(va, _mm256_loadu_ps(w)));
    v[1] = _mm256_add_ps(v[1], _mm256_mul_ps(va, _mm256_loadu_ps(w + 8)));
    w += 16;
  }
  const __m256 vmin = _mm256_set1_ps(p.min);
  const __m256 vmax = _mm256_set1_ps(p.max);
  for (int j = 0; j < 2 && 8 * j < p.nc; ++j) {
    __m256 r = p.has_bias ? _mm256_add_ps(v[j], _mm256_loadu_ps(p.w + 8 * j)) : v[j];
    r = _mm256_min_ps(_mm256_max_ps(r, vmin), vmax);
    _mm256_maskstore_ps(p.c + 8 * j, TailMask8(p.nc - 8 * j), r);
  }
}

}  // namespace

void f32_igemm_minmax_ukernel_6x16__avx2(const F32IGemmArgs& p) { F32IGemm<6, false>(p); }
void f32_igemm_exact_ukernel_6x16__avx2(const F32IGemmArgs& p) { F32IGemm<6, true>(p); }
void f32_gemv_exact_ukernel_1x16__avx2(const F32IGemmArgs& p) { F32GemvExact(p); }

}  // namespace avx2
}  // namespace uk
}  // namespace rt
}  // namespace edgeopt
