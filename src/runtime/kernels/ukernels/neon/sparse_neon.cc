// NEON sparse float microkernels (see ../sparse_ukernels.h): aarch64, and armv7 with VFPv4
// (vfmaq_f32). The same computations and packings as the AVX2 kernels with 4-lane vectors:
// the one-row kernel over 1x16 / 1x4 / 1x1 blocks, the tiled kernel (MR = 16 on aarch64, 8 on
// armv7: MR / 4 vectors per stored weight), the KxK convolution kernel (up to 16 lanes: four
// vectors per stored tap) and the convolution's layout moves (4x4 transposes).
#include <arm_neon.h>

#include <algorithm>
#include <cstring>

#include "src/runtime/kernels/ukernels/sparse_ukernels.h"

namespace edgeopt {
namespace rt {
namespace {

inline float HorizontalSum(float32x4_t v) {
#if defined(__aarch64__)
  return vaddvq_f32(v);
#else
  const float32x2_t s = vadd_f32(vget_low_f32(v), vget_high_f32(v));
  return vget_lane_f32(vpadd_f32(s, s), 0);
#endif
}

inline float32x4_t Clamp(float32x4_t v, float32x4_t lo, float32x4_t hi) {
  return vminq_f32(vmaxq_f32(v, lo), hi);
}

// r[j][i] = r[i][j] for a 4x4 block of floats held in 4 registers.
inline void Transpose4x4(float32x4_t r[4]) {
  const float32x4x2_t t01 = vtrnq_f32(r[0], r[1]);  // (r0[0] r1[0] r0[2] r1[2]), (.. [1], [3])
  const float32x4x2_t t23 = vtrnq_f32(r[2], r[3]);
  r[0] = vcombine_f32(vget_low_f32(t01.val[0]), vget_low_f32(t23.val[0]));
  r[1] = vcombine_f32(vget_low_f32(t01.val[1]), vget_low_f32(t23.val[1]));
  r[2] = vcombine_f32(vget_high_f32(t01.val[0]), vget_high_f32(t23.val[0]));
  r[3] = vcombine_f32(vget_high_f32(t01.val[1]), vget_high_f32(t23.val[1]));
}

template <int B>
inline float RowDotF32(const float* values, const int32_t* col, int32_t j0, int32_t j1,
                       const float* a) {
  if constexpr (B == 16) {
    float32x4_t acc[4] = {vdupq_n_f32(0.0f), vdupq_n_f32(0.0f), vdupq_n_f32(0.0f),
                          vdupq_n_f32(0.0f)};
    for (int32_t j = j0; j < j1; ++j) {
      const float* v = values + int64_t{j} * 16;
      const float* x = a + col[j];
#pragma GCC unroll 4
      for (int i = 0; i < 4; ++i) {
        acc[i] = vfmaq_f32(acc[i], vld1q_f32(v + 4 * i), vld1q_f32(x + 4 * i));
      }
    }
    return HorizontalSum(vaddq_f32(vaddq_f32(acc[0], acc[1]), vaddq_f32(acc[2], acc[3])));
  } else if constexpr (B == 4) {
    float32x4_t acc0 = vdupq_n_f32(0.0f), acc1 = vdupq_n_f32(0.0f);
    int32_t j = j0;
    for (; j + 2 <= j1; j += 2) {
      acc0 = vfmaq_f32(acc0, vld1q_f32(values + int64_t{j} * 4), vld1q_f32(a + col[j]));
      acc1 = vfmaq_f32(acc1, vld1q_f32(values + int64_t{j + 1} * 4), vld1q_f32(a + col[j + 1]));
    }
    if (j < j1) acc0 = vfmaq_f32(acc0, vld1q_f32(values + int64_t{j} * 4), vld1q_f32(a + col[j]));
    return HorizontalSum(vaddq_f32(acc0, acc1));
  } else {
    static_assert(B == 1, "blocks of 1, 4 or 16");
    // No gather: four inputs into the lanes of one vector.
    float32x4_t acc = vdupq_n_f32(0.0f);
    int32_t j = j0;
    for (; j + 4 <= j1; j += 4) {
      float32x4_t x = vld1q_dup_f32(a + col[j]);
      x = vld1q_lane_f32(a + col[j + 1], x, 1);
      x = vld1q_lane_f32(a + col[j + 2], x, 2);
      x = vld1q_lane_f32(a + col[j + 3], x, 3);
      acc = vfmaq_f32(acc, vld1q_f32(values + j), x);
    }
    float sum = HorizontalSum(acc);
    for (; j < j1; ++j) sum += values[j] * a[col[j]];
    return sum;
  }
}

template <int B>
void SpmvF32(int M, const float* A, int64_t lda, const ref::BlockCsr<float>& w, const float* bias,
             float lo, float hi, float* C, int64_t ldc) {
  for (int m = 0; m < M; ++m) {
    const float* a = A + m * lda;
    float* c = C + m * ldc;
    for (int n = 0; n < w.rows; ++n) {
      float sum = RowDotF32<B>(w.values, w.col, w.row_ptr[n], w.row_ptr[n + 1], a);
      if (bias != nullptr) sum += bias[n];
      c[n] = std::min(std::max(sum, lo), hi);
    }
  }
}

// Rows of A in panels of MR, [K][MR]; every stored weight is one broadcast FMA into MR / 4
// vectors. Consecutive weights alternate between two sets of sums (FMA latency).
// noinline: inlined into the block-width dispatch, GCC spilled this loop's pointers.
template <int MR, int B>
__attribute__((noinline)) void SpmmF32(int M, const float* A, int64_t lda,
                                       const ref::BlockCsr<float>& w, const float* bias, float lo,
                                       float hi, float* C, int64_t ldc, float* scratch) {
  constexpr int NV = MR / 4;
  const int K = w.cols, N = w.rows;
  float* panel = scratch;
  float* out = scratch + static_cast<int64_t>(K) * MR;
  const float32x4_t vlo = vdupq_n_f32(lo), vhi = vdupq_n_f32(hi);
  for (int m0 = 0; m0 < M; m0 += MR) {
    const int rows = std::min(MR, M - m0);
    // panel[k][MR]: the convolution's 4x4 register transposes (zeros for missing rows).
    if (rows < MR) std::memset(panel, 0, sizeof(float) * static_cast<size_t>(K) * MR);
    if (lda == K) {
      f32_pixels_to_planes__neon(rows, K, A + m0 * lda, panel, MR);
    } else {
      for (int r = 0; r < rows; ++r) {
        f32_pixels_to_planes__neon(1, K, A + (m0 + r) * lda, panel + r, MR);
      }
    }
    for (int n = 0; n < N; ++n) {
      float32x4_t acc[2][NV];
#pragma GCC unroll 4
      for (int v = 0; v < NV; ++v) acc[0][v] = acc[1][v] = vdupq_n_f32(0.0f);
      int32_t j = w.row_ptr[n];
      const int32_t j1 = w.row_ptr[n + 1];
      if constexpr (B == 1) {
        for (; j + 2 <= j1; j += 2) {
#pragma GCC unroll 2
          for (int u = 0; u < 2; ++u) {
            const float* p = panel + int64_t{w.col[j + u]} * MR;
            const float32x4_t wv = vld1q_dup_f32(w.values + j + u);
#pragma GCC unroll 4
            for (int v = 0; v < NV; ++v) acc[u][v] = vfmaq_f32(acc[u][v], wv, vld1q_f32(p + 4 * v));
          }
        }
      }
      for (; j < j1; ++j) {
        const float* vals = w.values + int64_t{j} * B;
        const float* p = panel + int64_t{w.col[j]} * MR;
#pragma GCC unroll 16
        for (int i = 0; i < B; ++i) {
          const float32x4_t wv = vld1q_dup_f32(vals + i);
#pragma GCC unroll 4
          for (int v = 0; v < NV; ++v) {
            acc[i % 2][v] = vfmaq_f32(acc[i % 2][v], wv, vld1q_f32(p + i * MR + 4 * v));
          }
        }
      }
      const float32x4_t b = vdupq_n_f32(bias != nullptr ? bias[n] : 0.0f);
#pragma GCC unroll 4
      for (int v = 0; v < NV; ++v) {
        vst1q_f32(out + int64_t{n} * MR + 4 * v,
                  Clamp(vaddq_f32(vaddq_f32(acc[0][v], acc[1][v]), b), vlo, vhi));
      }
    }
    float* dst[MR];
    for (int r = 0; r < rows; ++r) dst[r] = C + (m0 + r) * ldc;
    f32_tile_to_pixels__neon(rows, N, out, MR, dst);
  }
}

// V vectors of 4 lanes per tap; U taps per step into their own sums (U * V FMA chains).
template <int V, int U>
void SpconvF32(const float* x, const SparseConvTaps& w, const float* bias, int n0, int n1, float lo,
               float hi, float* tile, int64_t ldt, bool accumulate) {
  const float32x4_t vlo = vdupq_n_f32(lo), vhi = vdupq_n_f32(hi);
  for (int n = n0; n < n1; ++n) {
    float32x4_t acc[U][V];
#pragma GCC unroll 8
    for (int v = 0; v < V; ++v) {
      acc[0][v] = accumulate ? vld1q_f32(tile + (n - n0) * ldt + 4 * v)
                             : vdupq_n_f32(bias != nullptr ? bias[n] : 0.0f);
#pragma GCC unroll 8
      for (int u = 1; u < U; ++u) acc[u][v] = vdupq_n_f32(0.0f);
    }
    int32_t j = w.row_ptr[n];
    const int32_t j1 = w.row_ptr[n + 1];
    for (; j + U <= j1; j += U) {
#pragma GCC unroll 8
      for (int u = 0; u < U; ++u) {
        const float32x4_t wv = vld1q_dup_f32(w.values + j + u);
        const float* p = x + w.off[j + u];
#pragma GCC unroll 8
        for (int v = 0; v < V; ++v) acc[u][v] = vfmaq_f32(acc[u][v], wv, vld1q_f32(p + 4 * v));
      }
    }
    for (; j < j1; ++j) {
      const float32x4_t wv = vld1q_dup_f32(w.values + j);
      const float* p = x + w.off[j];
#pragma GCC unroll 8
      for (int v = 0; v < V; ++v) acc[0][v] = vfmaq_f32(acc[0][v], wv, vld1q_f32(p + 4 * v));
    }
    float* t = tile + (n - n0) * ldt;
#pragma GCC unroll 8
    for (int v = 0; v < V; ++v) {
      float32x4_t sum = acc[0][v];
#pragma GCC unroll 8
      for (int u = 1; u < U; ++u) sum = vaddq_f32(sum, acc[u][v]);
      vst1q_f32(t + 4 * v, Clamp(sum, vlo, vhi));
    }
  }
}

}  // namespace

void f32_pixels_to_planes__neon(int count, int channels, const float* in, float* x, int64_t plane) {
  const int count4 = count & ~3, channels4 = channels & ~3;
  float32x4_t r[4];
  for (int i0 = 0; i0 < count4; i0 += 4) {
    for (int c0 = 0; c0 < channels4; c0 += 4) {
#pragma GCC unroll 4
      for (int i = 0; i < 4; ++i) r[i] = vld1q_f32(in + (int64_t{i0} + i) * channels + c0);
      Transpose4x4(r);
#pragma GCC unroll 4
      for (int c = 0; c < 4; ++c) vst1q_f32(x + (c0 + c) * plane + i0, r[c]);
    }
    for (int c = channels4; c < channels; ++c) {
      for (int i = i0; i < i0 + 4; ++i) x[c * plane + i] = in[int64_t{i} * channels + c];
    }
  }
  for (int i = count4; i < count; ++i) {
    for (int c = 0; c < channels; ++c) x[c * plane + i] = in[int64_t{i} * channels + c];
  }
}

void f32_tile_to_pixels__neon(int count, int channels, const float* tile, int64_t ldt,
                              float* const* dst) {
  const int count4 = count & ~3, channels4 = channels & ~3;
  float32x4_t r[4];
  for (int l0 = 0; l0 < count4; l0 += 4) {
    for (int c0 = 0; c0 < channels4; c0 += 4) {
#pragma GCC unroll 4
      for (int c = 0; c < 4; ++c) r[c] = vld1q_f32(tile + (c0 + c) * ldt + l0);
      Transpose4x4(r);
#pragma GCC unroll 4
      for (int l = 0; l < 4; ++l) {
        if (dst[l0 + l] != nullptr) vst1q_f32(dst[l0 + l] + c0, r[l]);
      }
    }
    for (int l = l0; l < l0 + 4; ++l) {
      if (dst[l] == nullptr) continue;
      for (int c = channels4; c < channels; ++c) dst[l][c] = tile[c * ldt + l];
    }
  }
  for (int l = count4; l < count; ++l) {
    if (dst[l] == nullptr) continue;
    for (int c = 0; c < channels; ++c) dst[l][c] = tile[c * ldt + l];
  }
}

void f32_spconv_minmax_ukernel_16__neon(int lanes, const float* x, const SparseConvTaps& w,
                                        const float* bias, int n0, int n1, float lo, float hi,
                                        float* tile, int64_t ldt, bool accumulate) {
  switch (lanes / 4) {
    case 4:
      return SpconvF32<4, 2>(x, w, bias, n0, n1, lo, hi, tile, ldt, accumulate);
    case 3:
      return SpconvF32<3, 2>(x, w, bias, n0, n1, lo, hi, tile, ldt, accumulate);
    case 2:
      return SpconvF32<2, 4>(x, w, bias, n0, n1, lo, hi, tile, ldt, accumulate);
    default:
      return SpconvF32<1, 4>(x, w, bias, n0, n1, lo, hi, tile, ldt, accumulate);
  }
}

void f32_spmv_minmax_ukernel__neon(int M, const float* A, int64_t lda,
                                   const ref::BlockCsr<float>& w, const float* bias, float lo,
                                   float hi, float* C, int64_t ldc) {
  const bool done = WithSparseBlock(
      w.block, [&](auto b) { SpmvF32<decltype(b)::value>(M, A, lda, w, bias, lo, hi, C, ldc); });
  if (!done) ref::SparseGemmF32(M, A, lda, w, bias, lo, hi, C, ldc);
}

void f32_spmm_minmax_ukernel__neon(int M, const float* A, int64_t lda,
                                   const ref::BlockCsr<float>& w, const float* bias, float lo,
                                   float hi, float* C, int64_t ldc, float* scratch) {
  // Panels of 16 rows where there are 32 vector registers, 8 on armv7's 16.
#if defined(__aarch64__)
  constexpr int kMR = 16;
#else
  constexpr int kMR = 8;
#endif
  const bool done = WithSparseBlock(w.block, [&](auto b) {
    SpmmF32<kMR, decltype(b)::value>(M, A, lda, w, bias, lo, hi, C, ldc, scratch);
  });
  if (!done) ref::SparseGemmF32(M, A, lda, w, bias, lo, hi, C, ldc);
}

}  // namespace rt
}  // namespace edgeopt
