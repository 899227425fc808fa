// f32 direct 3x3 convolution (stride S = 1 or 2) with AVX-512F, for layers with few output
// channels (one block of NR <= 32). A tile is MR consecutive output pixels of one output row;
// for each filter row fy and input channel c the kernel broadcasts the S * (MR - 1) + 3 input
// pixels of the windows' strip once and multiplies each by the filter columns fx that read it
// (3 * MR FMAs from at most MR + 2 (S = 1) or 2 * MR + 1 (S = 2) broadcasts and 3 * NV weight
// loads). An IGEMM needs one broadcast per FMA when the channels fit one vector, which leaves
// it bound by loads at about half the FMA peak.
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

template <int MR, int NV, int S>
void F32Conv3x3(const F32Conv3x3Args& p) {
  constexpr int kCols = S * (MR - 1) + 3;  // input pixels of the strip
  constexpr int kBases = (kCols + 2) / 3;  // one pointer per three pixels: base, +s, +2s
  __m512 acc[MR][NV];
#pragma GCC unroll 2
  for (int j = 0; j < NV; ++j) {
    const __m512 b = _mm512_loadu_ps(p.w + 16 * j);
#pragma GCC unroll 16
    for (int i = 0; i < MR; ++i) acc[i][j] = b;
  }
  const float* w = p.w + 16 * NV;
  const intptr_t s = static_cast<intptr_t>(p.channels) * sizeof(float);
  for (int fy = 0; fy < 3; ++fy) {
    const char* base[kBases];
#pragma GCC unroll 8
    for (int b = 0; b < kBases; ++b)
      base[b] = reinterpret_cast<const char*>(p.rows[fy]) + 3 * b * s;
#pragma GCC unroll 1
    for (int c = 0; c < p.channels; ++c) {
      __m512 wv[3][NV];
#pragma GCC unroll 3
      for (int fx = 0; fx < 3; ++fx) {
#pragma GCC unroll 2
        for (int j = 0; j < NV; ++j) wv[fx][j] = _mm512_loadu_ps(w + 16 * (fx * NV + j));
      }
      w += 48 * NV;
#pragma GCC unroll 32
      for (int col = 0; col < kCols; ++col) {
        const float* src = reinterpret_cast<const float*>(base[col / 3] + (col % 3) * s);
        const __m512 v = _mm512_set1_ps(*src);
#pragma GCC unroll 3
        for (int fx = 0; fx < 3; ++fx) {
          const int i = (col - fx) / S;
          if (col < fx || (col - fx) % S != 0 || i >= MR) continue;
#pragma GCC unroll 2
          for (int j = 0; j < NV; ++j) acc[i][j] = _mm512_fmadd_ps(v, wv[fx][j], acc[i][j]);
        }
      }
#pragma GCC unroll 8
      for (int b = 0; b < kBases; ++b) base[b] += sizeof(float);
    }
  }
  const __m512 vmin = _mm512_set1_ps(p.min);
  const __m512 vmax = _mm512_set1_ps(p.max);
  __mmask16 mask[NV];
#pragma GCC unroll 2
  for (int j = 0; j < NV; ++j) mask[j] = TailMask16(p.nc - 16 * j);
#pragma GCC unroll 16
  for (int i = 0; i < MR; ++i) {
    if (i >= p.mr) break;
    float* out = p.out + i * p.out_stride;
#pragma GCC unroll 2
    for (int j = 0; j < NV; ++j) {
      const __m512 v = _mm512_min_ps(_mm512_max_ps(acc[i][j], vmin), vmax);
      _mm512_mask_storeu_ps(out + 16 * j, mask[j], v);
    }
  }
}

}  // namespace

void f32_conv3x3s1_minmax_ukernel_16x16__avx512f(const F32Conv3x3Args& p) {
  F32Conv3x3<16, 1, 1>(p);
}
void f32_conv3x3s1_minmax_ukernel_8x32__avx512f(const F32Conv3x3Args& p) { F32Conv3x3<8, 2, 1>(p); }
void f32_conv3x3s2_minmax_ukernel_16x16__avx512f(const F32Conv3x3Args& p) {
  F32Conv3x3<16, 1, 2>(p);
}
void f32_conv3x3s2_minmax_ukernel_8x32__avx512f(const F32Conv3x3Args& p) { F32Conv3x3<8, 2, 2>(p); }

}  // namespace avx512
}  // namespace uk
}  // namespace rt
}  // namespace edgeopt
