// f32 direct 3x3 convolution (stride S = 1 or 2) with AVX2/FMA, for layers with at most 16
// output channels; the scheme of f32_conv3x3_avx512f.cc with 8-float vectors: each broadcast
// input pixel feeds the (up to) three filter columns that read it. 4 rows x 16 channels or
// 8 rows x 8 channels keep accumulators, weights and the broadcast in 16 registers.
#include <immintrin.h>

#include "src/runtime/kernels/ukernels/avx2/avx2_ukernels.h"
#include "src/runtime/kernels/ukernels/avx2/requant_avx2.h"

namespace edgeopt {
namespace rt {
namespace uk {
namespace avx2 {
namespace {

template <int MR, int NV, int S>
void F32Conv3x3(const F32Conv3x3Args& p) {
  constexpr int kCols = S * (MR - 1) + 3;
  constexpr int kBases = (kCols + 2) / 3;
  __m256 acc[MR][NV];
#pragma GCC unroll 2
  for (int j = 0; j < NV; ++j) {
    const __m256 b = _mm256_loadu_ps(p.w + 8 * j);
#pragma GCC unroll 8
    for (int i = 0; i < MR; ++i) acc[i][j] = b;
  }
  const float* w = p.w + 8 * NV;
  const intptr_t s = static_cast<intptr_t>(p.channels) * sizeof(float);
  for (int fy = 0; fy < 3; ++fy) {
    const char* base[kBases];
#pragma GCC unroll 8
    for (int b = 0; b < kBases; ++b) {
      base[b] = reinterpret_cast<const char*>(p.rows[fy]) + 3 * b * s;
    }
#pragma GCC unroll 1
    for (int c = 0; c < p.channels; ++c) {
      __m256 wv[3][NV];
#pragma GCC unroll 3
      for (int fx = 0; fx < 3; ++fx) {
#pragma GCC unroll 2
        for (int j = 0; j < NV; ++j) wv[fx][j] = _mm256_loadu_ps(w + 8 * (fx * NV + j));
      }
      w += 24 * NV;
#pragma GCC unroll 32
      for (int col = 0; col < kCols; ++col) {
        const float* src = reinterpret_cast<const float*>(base[col / 3] + (col % 3) * s);
        const __m256 v = _mm256_broadcast_ss(src);
#pragma GCC unroll 3
        for (int fx = 0; fx < 3; ++fx) {
          const int i = (col - fx) / S;
          if (col < fx || (col - fx) % S != 0 || i >= MR) continue;
#pragma GCC unroll 2
          for (int j = 0; j < NV; ++j) acc[i][j] = _mm256_fmadd_ps(v, wv[fx][j], acc[i][j]);
        }
      }
#pragma GCC unroll 8
      for (int b = 0; b < kBases; ++b) base[b] += sizeof(float);
    }
  }
  const __m256 vmin = _mm256_set1_ps(p.min);
  const __m256 vmax = _mm256_set1_ps(p.max);
#pragma GCC unroll 8
  for (int i = 0; i < MR; ++i) {
    if (i >= p.mr) break;
    float* out = p.out + i * p.out_stride;
#pragma GCC unroll 2
    for (int j = 0; j < NV; ++j) {
      const __m256 v = _mm256_min_ps(_mm256_max_ps(acc[i][j], vmin), vmax);
      if (p.nc >= 8 * (j + 1)) {
        _mm256_storeu_ps(out + 8 * j, v);
      } else {
        _mm256_maskstore_ps(out + 8 * j, TailMask8(p.nc - 8 * j), v);
      }
    }
  }
}

}  // namespace

void f32_conv3x3s1_minmax_ukernel_8x8__avx2(const F32Conv3x3Args& p) { F32Conv3x3<8, 1, 1>(p); }
void f32_conv3x3s1_minmax_ukernel_4x16__avx2(const F32Conv3x3Args& p) { F32Conv3x3<4, 2, 1>(p); }
void f32_conv3x3s2_minmax_ukernel_8x8__avx2(const F32Conv3x3Args& p) { F32Conv3x3<8, 1, 2>(p); }
void f32_conv3x3s2_minmax_ukernel_4x16__avx2(const F32Conv3x3Args& p) { F32Conv3x3<4, 2, 2>(p); }

}  // namespace avx2
}  // namespace uk
}  // namespace rt
}  // namespace edgeopt
