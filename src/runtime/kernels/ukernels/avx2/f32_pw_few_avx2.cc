// f32 pointwise convolution to at most 4 channels with AVX2/FMA (ukernels.h, F32PwFewArgs), also
// run on AVX-512 CPUs: the input is read once from memory or L3, so 8 lanes keep up with it.
//
// A tile is 8 dot products: 8 / NP pixels times NP filter rows (NP = 1, 2 or 4), accumulator
// i = pixel i / NP, row i % NP, each summing its pixel's k values lane by lane (8 at a time;
// the last 1-7 in scalar code, since a masked load is slow on AMD's Zen 4). Eight horizontal sums
// then give one vector whose lanes are the tile's outputs in memory order: pixel-major,
// channel-minor, as the output is laid out.
#include <immintrin.h>

#include "src/runtime/kernels/ukernels/avx2/avx2_ukernels.h"
#include "src/runtime/kernels/ukernels/avx2/requant_avx2.h"

namespace edgeopt {
namespace rt {
namespace uk {
namespace avx2 {
namespace {

// Lane i of the result: the sum of the 8 lanes of acc[i].
inline __m256 SumLanes8(const __m256* acc) {
  const __m256 q0 = _mm256_hadd_ps(_mm256_hadd_ps(acc[0], acc[1]), _mm256_hadd_ps(acc[2], acc[3]));
  const __m256 q1 = _mm256_hadd_ps(_mm256_hadd_ps(acc[4], acc[5]), _mm256_hadd_ps(acc[6], acc[7]));
  return _mm256_add_ps(_mm256_permute2f128_ps(q0, q1, 0x20), _mm256_permute2f128_ps(q0, q1, 0x31));
}

// The 8 dot products of one tile over the first k8 values (a multiple of 8): pixel rows a[0 ..
// 8 / NP - 1], filter rows w[0 .. NP - 1].
template <int NP>
__m256 TileSums(const float* const* a, const float* const* w, int k8) {
  constexpr int kPixels = 8 / NP;
  __m256 acc[8];
#pragma GCC unroll 8
  for (int i = 0; i < 8; ++i) acc[i] = _mm256_setzero_ps();
  for (int k0 = 0; k0 < k8; k0 += 8) {
    __m256 wv[NP];
#pragma GCC unroll 4
    for (int j = 0; j < NP; ++j) wv[j] = _mm256_loadu_ps(w[j] + k0);
#pragma GCC unroll 8
    for (int q = 0; q < kPixels; ++q) {
      const __m256 x = _mm256_loadu_ps(a[q] + k0);
#pragma GCC unroll 4
      for (int j = 0; j < NP; ++j) acc[q * NP + j] = _mm256_fmadd_ps(x, wv[j], acc[q * NP + j]);
    }
  }
  return SumLanes8(acc);
}

// The tiles of np = 2^shift rows (1, 2 or 4) on `tile` (TileSums<np>); the rest is shared, in
// scalar code where it is not per value (small: the runtime built for size).
void F32PwFew(const F32PwFewArgs& p, int shift,
              __m256 (*tile)(const float* const*, const float* const*, int)) {
  const int np = 1 << shift;
  const int pixels_per_tile = 8 >> shift;
  const int k8 = p.k & ~7;
  // n = 3 runs as 4 rows, the fourth a copy of the third: its outputs leave lanes 3 and 7 out.
  const float* w[4];
  float bias_lanes[8];
  for (int j = 0; j < np; ++j) w[j] = p.w + (j < p.n ? j : p.n - 1) * p.k;
  for (int i = 0; i < 8; ++i) {
    const int j = i & (np - 1);
    bias_lanes[i] = p.bias != nullptr && j < p.n ? p.bias[j] : 0.0f;
  }
  const __m256 bias = _mm256_loadu_ps(bias_lanes);
  const __m256 vmin = _mm256_set1_ps(p.min);
  const __m256 vmax = _mm256_set1_ps(p.max);
  const __m256i compact = _mm256_setr_epi32(0, 1, 2, 4, 5, 6, 7, 7);
  float* c = p.c;
  for (size_t p0 = 0; p0 < p.pixels; p0 += pixels_per_tile) {
    const size_t left = p.pixels - p0;
    const int valid =
        left < static_cast<size_t>(pixels_per_tile) ? static_cast<int>(left) : pixels_per_tile;
    const float* a[8];
    for (int q = 0; q < pixels_per_tile; ++q) {
      a[q] = p.a + (p0 + (q < valid ? q : valid - 1)) * p.a_stride;
    }
    __m256 sums = tile(a, w, k8);
    if (k8 < p.k) {  // the last 1-7 values
      float tail[8];
      for (int i = 0; i < 8; ++i) {
        const float* xi = a[i >> shift];
        const float* wi = w[i & (np - 1)];
        float t = 0.0f;
        for (int k = k8; k < p.k; ++k) t += xi[k] * wi[k];
        tail[i] = t;
      }
      sums = _mm256_add_ps(sums, _mm256_loadu_ps(tail));
    }
    __m256 r = _mm256_min_ps(_mm256_max_ps(_mm256_add_ps(sums, bias), vmin), vmax);
    if (p.n == 3) r = _mm256_permutevar8x32_ps(r, compact);
    const int count = valid * p.n;
    if (count == 8) {
      _mm256_storeu_ps(c, r);
    } else {
      _mm256_maskstore_ps(c, TailMask8(count), r);
    }
    c += count;
  }
}

}  // namespace

void f32_pw_few_ukernel__avx2(const F32PwFewArgs& p) {
  if (p.n == 1) {
    F32PwFew(p, 0, TileSums<1>);
  } else if (p.n == 2) {
    F32PwFew(p, 1, TileSums<2>);
  } else {
    F32PwFew(p, 2, TileSums<4>);
  }
}

}  // namespace avx2
}  // namespace uk
}  // namespace rt
}  // namespace edgeopt
