// AVX-512 sparse microkernels (see ../sparse_ukernels.h).
// GCC 12's AVX-512 intrinsics leave lanes undefined on purpose (_mm512_undefined_*), which
// -Wmaybe-uninitialized reports inside the headers (and, for the shuffles of the 16x16
// transpose, -Wuninitialized).
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#pragma GCC diagnostic ignored "-Wuninitialized"
#include <immintrin.h>

#include <algorithm>
#include <cstring>

#include "src/runtime/kernels/ukernels/avx512/requant_avx512.h"
#include "src/runtime/kernels/ukernels/sparse_ukernels.h"

namespace edgeopt {
namespace rt {
namespace {

inline float HorizontalSum(__m128 v) {
  v = _mm_add_ps(v, _mm_movehl_ps(v, v));
  v = _mm_add_ss(v, _mm_movehdup_ps(v));
  return _mm_cvtss_f32(v);
}

inline float HorizontalSum(__m512 v) {
  const __m512 swapped = _mm512_shuffle_f32x4(v, v, _MM_SHUFFLE(1, 0, 3, 2));
  const __m256 s8 = _mm512_castps512_ps256(_mm512_add_ps(v, swapped));
  return HorizontalSum(_mm_add_ps(_mm256_castps256_ps128(s8), _mm256_extractf128_ps(s8, 1)));
}

// 16 floats at base + 4 * idx (a full-mask gather with a defined source).
inline __m512 Gather(const float* base, __m512i idx) {
  return _mm512_mask_i32gather_ps(_mm512_setzero_ps(), static_cast<__mmask16>(0xffff), idx, base,
                                  4);
}

inline int32_t HorizontalSum(__m256i v) {
  __m128i s = _mm_add_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1));
  s = _mm_add_epi32(s, _mm_shuffle_epi32(s, _MM_SHUFFLE(1, 0, 3, 2)));
  s = _mm_add_epi32(s, _mm_shuffle_epi32(s, _MM_SHUFFLE(2, 3, 0, 1)));
  return _mm_cvtsi128_si32(s);
}

inline int32_t Load4(const int8_t* p) {
  int32_t v;
  std::memcpy(&v, p, 4);
  return v;
}

// One output: the dot product of a row of blocks with the input row `a`.
template <int B>
inline float RowDotF32(const float* values, const int32_t* col, int32_t j0, int32_t j1,
                       const float* a) {
  if constexpr (B == 16) {
    __m512 acc0 = _mm512_setzero_ps(), acc1 = _mm512_setzero_ps();
    int32_t j = j0;
    for (; j + 2 <= j1; j += 2) {
      acc0 = _mm512_fmadd_ps(_mm512_loadu_ps(values + int64_t{j} * 16), _mm512_loadu_ps(a + col[j]),
                             acc0);
      acc1 = _mm512_fmadd_ps(_mm512_loadu_ps(values + int64_t{j + 1} * 16),
                             _mm512_loadu_ps(a + col[j + 1]), acc1);
    }
    if (j < j1) {
      acc0 = _mm512_fmadd_ps(_mm512_loadu_ps(values + int64_t{j} * 16), _mm512_loadu_ps(a + col[j]),
                             acc0);
    }
    return HorizontalSum(_mm512_add_ps(acc0, acc1));
  } else if constexpr (B == 4) {
    __m512 acc0 = _mm512_setzero_ps(), acc1 = _mm512_setzero_ps();
    int32_t j = j0;
    for (; j + 8 <= j1; j += 8) {
      __m512 x0 = _mm512_castps128_ps512(_mm_loadu_ps(a + col[j]));
      __m512 x1 = _mm512_castps128_ps512(_mm_loadu_ps(a + col[j + 4]));
      x0 = _mm512_insertf32x4(x0, _mm_loadu_ps(a + col[j + 1]), 1);
      x1 = _mm512_insertf32x4(x1, _mm_loadu_ps(a + col[j + 5]), 1);
      x0 = _mm512_insertf32x4(x0, _mm_loadu_ps(a + col[j + 2]), 2);
      x1 = _mm512_insertf32x4(x1, _mm_loadu_ps(a + col[j + 6]), 2);
      x0 = _mm512_insertf32x4(x0, _mm_loadu_ps(a + col[j + 3]), 3);
      x1 = _mm512_insertf32x4(x1, _mm_loadu_ps(a + col[j + 7]), 3);
      acc0 = _mm512_fmadd_ps(_mm512_loadu_ps(values + int64_t{j} * 4), x0, acc0);
      acc1 = _mm512_fmadd_ps(_mm512_loadu_ps(values + int64_t{j + 4} * 4), x1, acc1);
    }
    __m128 acc4 = _mm_setzero_ps();
    for (; j < j1; ++j) {
      acc4 = _mm_fmadd_ps(_mm_loadu_ps(values + int64_t{j} * 4), _mm_loadu_ps(a + col[j]), acc4);
    }
    return HorizontalSum(_mm512_add_ps(acc0, acc1)) + HorizontalSum(acc4);
  } else if constexpr (B == 1) {
    __m512 acc = _mm512_setzero_ps();
    int32_t j = j0;
    for (; j + 16 <= j1; j += 16) {
      const __m512i idx = _mm512_loadu_si512(col + j);
      acc = _mm512_fmadd_ps(_mm512_loadu_ps(values + j), Gather(a, idx), acc);
    }
    if (j < j1) {
      const __mmask16 mask = static_cast<__mmask16>((1u << (j1 - j)) - 1u);
      const __m512i idx = _mm512_maskz_loadu_epi32(mask, col + j);
      const __m512 x = _mm512_mask_i32gather_ps(_mm512_setzero_ps(), mask, idx, a, 4);
      acc = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(mask, values + j), x, acc);
    }
    return HorizontalSum(acc);
  } else {
    float sum = 0.0f;
    for (int32_t j = j0; j < j1; ++j) {
      for (int i = 0; i < B; ++i) sum += values[int64_t{j} * B + i] * a[col[j] + i];
    }
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

// Transposes rows m0 .. m0 + rows - 1 of A into panel[k][16] (zeros for missing rows), by the
// convolution's 16x16 register transposes (rows of A one after the other: a row at a time
// otherwise).
void PackPanelF32(const float* A, int64_t lda, int rows, int K, float* panel) {
  if (rows < 16) std::memset(panel, 0, sizeof(float) * static_cast<size_t>(K) * 16);
  if (lda == K) return f32_pixels_to_planes__avx512(rows, K, A, panel, 16);
  for (int r = 0; r < rows; ++r) f32_pixels_to_planes__avx512(1, K, A + r * lda, panel + r, 16);
}

template <int B>
inline __m512 ColumnDotF32(const float* values, const int32_t* col, int32_t j0, int32_t j1,
                           const float* panel) {
  // Four FMA chains (one would wait out the FMA latency on every stored weight).
  __m512 acc[4] = {_mm512_setzero_ps(), _mm512_setzero_ps(), _mm512_setzero_ps(),
                   _mm512_setzero_ps()};
  int32_t j = j0;
  if constexpr (B == 1) {
    for (; j + 4 <= j1; j += 4) {
#pragma GCC unroll 4
      for (int u = 0; u < 4; ++u) {
        acc[u] = _mm512_fmadd_ps(_mm512_set1_ps(values[j + u]),
                                 _mm512_loadu_ps(panel + int64_t{col[j + u]} * 16), acc[u]);
      }
    }
    for (; j < j1; ++j) {
      acc[0] = _mm512_fmadd_ps(_mm512_set1_ps(values[j]),
                               _mm512_loadu_ps(panel + int64_t{col[j]} * 16), acc[0]);
    }
  } else {
    for (; j < j1; ++j) {
      const float* v = values + int64_t{j} * B;
      const float* p = panel + int64_t{col[j]} * 16;
#pragma GCC unroll 16
      for (int i = 0; i < B; ++i) {
        acc[i % 4] = _mm512_fmadd_ps(_mm512_set1_ps(v[i]), _mm512_loadu_ps(p + i * 16), acc[i % 4]);
      }
    }
  }
  return _mm512_add_ps(_mm512_add_ps(acc[0], acc[1]), _mm512_add_ps(acc[2], acc[3]));
}

template <int B>
void SpmmF32(int M, const float* A, int64_t lda, const ref::BlockCsr<float>& w, const float* bias,
             float lo, float hi, float* C, int64_t ldc, float* scratch) {
  const int K = w.cols, N = w.rows;
  float* panel = scratch;
  float* out = scratch + static_cast<int64_t>(K) * 16;
  const __m512 vlo = _mm512_set1_ps(lo), vhi = _mm512_set1_ps(hi);
  for (int m0 = 0; m0 < M; m0 += 16) {
    const int rows = std::min(16, M - m0);
    PackPanelF32(A + m0 * lda, lda, rows, K, panel);
    for (int n = 0; n < N; ++n) {
      __m512 acc = ColumnDotF32<B>(w.values, w.col, w.row_ptr[n], w.row_ptr[n + 1], panel);
      if (bias != nullptr) acc = _mm512_add_ps(acc, _mm512_set1_ps(bias[n]));
      acc = _mm512_min_ps(_mm512_max_ps(acc, vlo), vhi);
      _mm512_storeu_ps(out + int64_t{n} * 16, acc);
    }
    float* dst[16];
    for (int r = 0; r < rows; ++r) dst[r] = C + (m0 + r) * ldc;
    f32_tile_to_pixels__avx512(rows, N, out, 16, dst);
  }
}

template <int B>
inline int32_t RowDotS8(const int8_t* values, const int32_t* col, int32_t j0, int32_t j1,
                        const int8_t* a) {
  if constexpr (B == 16) {
    __m512i acc = _mm512_setzero_si512();
    int32_t j = j0;
    for (; j + 2 <= j1; j += 2) {
      const __m512i wv = _mm512_cvtepi8_epi16(
          _mm256_loadu_si256(reinterpret_cast<const __m256i*>(values + int64_t{j} * 16)));
      const __m256i x2 = _mm256_loadu2_m128i(reinterpret_cast<const __m128i*>(a + col[j + 1]),
                                             reinterpret_cast<const __m128i*>(a + col[j]));
      acc = _mm512_add_epi32(acc, _mm512_madd_epi16(wv, _mm512_cvtepi8_epi16(x2)));
    }
    __m256i acc8 = _mm256_add_epi32(_mm512_castsi512_si256(acc), _mm512_extracti64x4_epi64(acc, 1));
    if (j < j1) {
      const __m256i wv = _mm256_cvtepi8_epi16(
          _mm_loadu_si128(reinterpret_cast<const __m128i*>(values + int64_t{j} * 16)));
      const __m256i xv =
          _mm256_cvtepi8_epi16(_mm_loadu_si128(reinterpret_cast<const __m128i*>(a + col[j])));
      acc8 = _mm256_add_epi32(acc8, _mm256_madd_epi16(wv, xv));
    }
    return HorizontalSum(acc8);
  } else if constexpr (B == 4) {
    __m256i acc = _mm256_setzero_si256();
    int32_t j = j0;
    for (; j + 4 <= j1; j += 4) {
      const __m256i wv = _mm256_cvtepi8_epi16(
          _mm_loadu_si128(reinterpret_cast<const __m128i*>(values + int64_t{j} * 4)));
      const __m128i x = _mm_setr_epi32(Load4(a + col[j]), Load4(a + col[j + 1]),
                                       Load4(a + col[j + 2]), Load4(a + col[j + 3]));
      acc = _mm256_add_epi32(acc, _mm256_madd_epi16(wv, _mm256_cvtepi8_epi16(x)));
    }
    int32_t sum = HorizontalSum(acc);
    for (; j < j1; ++j) {
      for (int i = 0; i < 4; ++i) sum += int32_t{values[int64_t{j} * 4 + i]} * a[col[j] + i];
    }
    return sum;
  } else {
    int32_t sum = 0;
    for (int32_t j = j0; j < j1; ++j) {
      for (int i = 0; i < B; ++i) sum += int32_t{values[int64_t{j} * B + i]} * a[col[j] + i];
    }
    return sum;
  }
}

template <int B>
void SpmvS8(int M, const int8_t* A, int64_t lda, const ref::BlockCsr<int8_t>& w, int32_t* acc,
            int64_t ldc) {
  for (int m = 0; m < M; ++m) {
    const int8_t* a = A + m * lda;
    int32_t* c = acc + m * ldc;
    for (int n = 0; n < w.rows; ++n) {
      c[n] = RowDotS8<B>(w.values, w.col, w.row_ptr[n], w.row_ptr[n + 1], a);
    }
  }
}

// r[j][i] = r[i][j] for a 16x16 block of floats held in 16 registers.
inline void Transpose16x16(__m512 r[16]) {
  __m512 t[16], u[16];
#pragma GCC unroll 16
  for (int i = 0; i < 16; i += 2) {
    t[i] = _mm512_unpacklo_ps(r[i], r[i + 1]);
    t[i + 1] = _mm512_unpackhi_ps(r[i], r[i + 1]);
  }
// u[4g + c], 128-bit lane k: column 4k + c of rows 4g .. 4g + 3.
#pragma GCC unroll 16
  for (int g = 0; g < 16; g += 4) {
    u[g] = _mm512_shuffle_ps(t[g], t[g + 2], 0x44);
    u[g + 1] = _mm512_shuffle_ps(t[g], t[g + 2], 0xEE);
    u[g + 2] = _mm512_shuffle_ps(t[g + 1], t[g + 3], 0x44);
    u[g + 3] = _mm512_shuffle_ps(t[g + 1], t[g + 3], 0xEE);
  }
#pragma GCC unroll 16
  for (int c = 0; c < 4; ++c) {
    const __m512 v = _mm512_shuffle_f32x4(u[c], u[4 + c], 0x88);
    const __m512 vp = _mm512_shuffle_f32x4(u[c], u[4 + c], 0xDD);
    const __m512 w = _mm512_shuffle_f32x4(u[8 + c], u[12 + c], 0x88);
    const __m512 wp = _mm512_shuffle_f32x4(u[8 + c], u[12 + c], 0xDD);
    r[c] = _mm512_shuffle_f32x4(v, w, 0x88);
    r[8 + c] = _mm512_shuffle_f32x4(v, w, 0xDD);
    r[4 + c] = _mm512_shuffle_f32x4(vp, wp, 0x88);
    r[12 + c] = _mm512_shuffle_f32x4(vp, wp, 0xDD);
  }
}

inline __mmask16 FirstLanes(int n) {
  return n >= 16 ? static_cast<__mmask16>(0xffff) : static_cast<__mmask16>((1u << n) - 1);
}

// V vectors of 16 lanes per tap; U taps per step, each into its own set of sums, so that there
// are U * V independent FMA chains (the FMA latency is covered from V * U >= 4).
template <int V, int U>
void SpconvF32(const float* x, const SparseConvTaps& w, const float* bias, int n0, int n1, float lo,
               float hi, float* tile, int64_t ldt, bool accumulate) {
  const __m512 vlo = _mm512_set1_ps(lo), vhi = _mm512_set1_ps(hi);
  for (int n = n0; n < n1; ++n) {
    __m512 acc[U][V];
#pragma GCC unroll 8
    for (int v = 0; v < V; ++v) {
      acc[0][v] = accumulate ? _mm512_loadu_ps(tile + (n - n0) * ldt + 16 * v)
                             : _mm512_set1_ps(bias != nullptr ? bias[n] : 0.0f);
#pragma GCC unroll 8
      for (int u = 1; u < U; ++u) acc[u][v] = _mm512_setzero_ps();
    }
    int32_t j = w.row_ptr[n];
    const int32_t j1 = w.row_ptr[n + 1];
    for (; j + U <= j1; j += U) {
#pragma GCC unroll 8
      for (int u = 0; u < U; ++u) {
        const __m512 wv = _mm512_set1_ps(w.values[j + u]);
        const float* p = x + w.off[j + u];
#pragma GCC unroll 8
        for (int v = 0; v < V; ++v) {
          acc[u][v] = _mm512_fmadd_ps(wv, _mm512_loadu_ps(p + 16 * v), acc[u][v]);
        }
      }
    }
    for (; j < j1; ++j) {
      const __m512 wv = _mm512_set1_ps(w.values[j]);
      const float* p = x + w.off[j];
#pragma GCC unroll 8
      for (int v = 0; v < V; ++v) {
        acc[0][v] = _mm512_fmadd_ps(wv, _mm512_loadu_ps(p + 16 * v), acc[0][v]);
      }
    }
    float* t = tile + (n - n0) * ldt;
#pragma GCC unroll 8
    for (int v = 0; v < V; ++v) {
      __m512 sum = acc[0][v];
#pragma GCC unroll 8
      for (int u = 1; u < U; ++u) sum = _mm512_add_ps(sum, acc[u][v]);
      _mm512_storeu_ps(t + 16 * v, _mm512_min_ps(_mm512_max_ps(sum, vlo), vhi));
    }
  }
}

}  // namespace

void f32_pixels_to_planes__avx512(int count, int channels, const float* in, float* x,
                                  int64_t plane) {
  __m512 r[16];
  for (int i0 = 0; i0 < count; i0 += 16) {
    const int pixels = std::min(16, count - i0);
    for (int c0 = 0; c0 < channels; c0 += 16) {
      const __mmask16 cm = FirstLanes(channels - c0);
#pragma GCC unroll 16
      for (int i = 0; i < 16; ++i) {
        r[i] = i < pixels ? _mm512_maskz_loadu_ps(cm, in + (int64_t{i0} + i) * channels + c0)
                          : _mm512_setzero_ps();
      }
      Transpose16x16(r);
      const __mmask16 pm = FirstLanes(pixels);
      const int n = std::min(16, channels - c0);
      for (int c = 0; c < n; ++c) _mm512_mask_storeu_ps(x + (c0 + c) * plane + i0, pm, r[c]);
    }
  }
}

void f32_tile_to_pixels__avx512(int count, int channels, const float* tile, int64_t ldt,
                                float* const* dst) {
  __m512 r[16];
  for (int l0 = 0; l0 < count; l0 += 16) {
    const int lanes = std::min(16, count - l0);
    const __mmask16 lm = FirstLanes(lanes);
    for (int c0 = 0; c0 < channels; c0 += 16) {
      const int n = std::min(16, channels - c0);
#pragma GCC unroll 16
      for (int c = 0; c < 16; ++c) {
        r[c] = c < n ? _mm512_maskz_loadu_ps(lm, tile + (c0 + c) * ldt + l0) : _mm512_setzero_ps();
      }
      Transpose16x16(r);
      const __mmask16 cm = FirstLanes(n);
      for (int l = 0; l < lanes; ++l) {
        if (dst[l0 + l] != nullptr) _mm512_mask_storeu_ps(dst[l0 + l] + c0, cm, r[l]);
      }
    }
  }
}

void f32_spconv_minmax_ukernel_64__avx512(int lanes, const float* x, const SparseConvTaps& w,
                                          const float* bias, int n0, int n1, float lo, float hi,
                                          float* tile, int64_t ldt, bool accumulate) {
  switch (lanes / 16) {
    case 4:
      return SpconvF32<4, 2>(x, w, bias, n0, n1, lo, hi, tile, ldt, accumulate);
    case 3:
      return SpconvF32<3, 2>(x, w, bias, n0, n1, lo, hi, tile, ldt, accumulate);
    case 2:
      return SpconvF32<2, 2>(x, w, bias, n0, n1, lo, hi, tile, ldt, accumulate);
    default:
      return SpconvF32<1, 4>(x, w, bias, n0, n1, lo, hi, tile, ldt, accumulate);
  }
}

void f32_spmv_minmax_ukernel__avx512(int M, const float* A, int64_t lda,
                                     const ref::BlockCsr<float>& w, const float* bias, float lo,
                                     float hi, float* C, int64_t ldc) {
  const bool done = WithSparseBlock(
      w.block, [&](auto b) { SpmvF32<decltype(b)::value>(M, A, lda, w, bias, lo, hi, C, ldc); });
  if (!done) ref::SparseGemmF32(M, A, lda, w, bias, lo, hi, C, ldc);
}

void f32_spmm_minmax_ukernel_16__avx512(int M, const float* A, int64_t lda,
                                        const ref::BlockCsr<float>& w, const float* bias, float lo,
                                        float hi, float* C, int64_t ldc, float* scratch) {
  const bool done = WithSparseBlock(w.block, [&](auto b) {
    SpmmF32<decltype(b)::value>(M, A, lda, w, bias, lo, hi, C, ldc, scratch);
  });
  if (!done) ref::SparseGemmF32(M, A, lda, w, bias, lo, hi, C, ldc);
}

void qs8_spmv_ukernel__avx512(int M, const int8_t* A, int64_t lda, const ref::BlockCsr<int8_t>& w,
                              int32_t* acc, int64_t ldc) {
  switch (w.block) {
    case 16:
      return SpmvS8<16>(M, A, lda, w, acc, ldc);
    case 4:
      return SpmvS8<4>(M, A, lda, w, acc, ldc);
    default:
      return SpmvS8<1>(M, A, lda, w, acc, ldc);
  }
}

void qs8_spmm_ukernel_16__avx512(int M, const int8_t* A, int64_t lda, const PackedPairs& w,
                                 int32_t* acc, int64_t ldc, void* scratch) {
  const int K = w.cols, N = w.rows;
  const int K2 = (K + 1) / 2;
  int16_t* panel = static_cast<int16_t*>(scratch);
  int32_t* out = reinterpret_cast<int32_t*>(panel + static_cast<int64_t>(K2) * 32);
  for (int m0 = 0; m0 < M; m0 += 16) {
    const int rows = std::min(16, M - m0);
    if (rows < 16) std::memset(panel, 0, sizeof(int16_t) * static_cast<size_t>(K2) * 32);
    for (int r = 0; r < rows; ++r) {
      const int8_t* a = A + (m0 + r) * lda;
      for (int k = 0; k < K; ++k) panel[(int64_t{k / 2} * 16 + r) * 2 + (k & 1)] = a[k];
      if (K & 1) panel[(int64_t{K2 - 1} * 16 + r) * 2 + 1] = 0;
    }
    for (int n = 0; n < N; ++n) {
      __m512i acc0 = _mm512_setzero_si512(), acc1 = _mm512_setzero_si512();
      int32_t j = w.row_ptr[n];
      const int32_t j1 = w.row_ptr[n + 1];
      for (; j + 2 <= j1; j += 2) {
        acc0 = _mm512_add_epi32(acc0,
                                _mm512_madd_epi16(_mm512_loadu_si512(panel + int64_t{w.k[j]} * 32),
                                                  _mm512_set1_epi32(w.word[j])));
        acc1 = _mm512_add_epi32(
            acc1, _mm512_madd_epi16(_mm512_loadu_si512(panel + int64_t{w.k[j + 1]} * 32),
                                    _mm512_set1_epi32(w.word[j + 1])));
      }
      if (j < j1) {
        acc0 = _mm512_add_epi32(acc0,
                                _mm512_madd_epi16(_mm512_loadu_si512(panel + int64_t{w.k[j]} * 32),
                                                  _mm512_set1_epi32(w.word[j])));
      }
      _mm512_storeu_si512(out + int64_t{n} * 16, _mm512_add_epi32(acc0, acc1));
    }
    for (int r = 0; r < rows; ++r) {
      int32_t* c = acc + (m0 + r) * ldc;
      for (int n = 0; n < N; ++n) c[n] = out[int64_t{n} * 16 + r];
    }
  }
}

namespace {

// The quad panel of 16 rows (panel[q * 16 + r]: bytes 4q .. 4q + 3 of row r, xored with 0x80)
// whose K values come in `segs` segments of seg_len bytes, segment s of row i at
// rows[i * segs + s] (a row of A: one segment; a convolution's window: one per filter row).
// seg_len is a multiple of 4 unless segs is 1 (a partial last quad, its bytes past the end
// 0x80). 16 quads of 16 rows at a time are loaded as 16 vectors and transposed as 16x16
// dwords; rows past `count` are not read (zeros, which become 0x80: x = 0).
void PackQuadPanel16(int count, const int8_t* const* rows, int segs, int seg_len, uint32_t* panel) {
  const __m512i flip = _mm512_set1_epi32(static_cast<int>(0x80808080u));
  const int full = seg_len / 4;
  __m512 r[16];
  for (int s = 0; s < segs; ++s) {
    uint32_t* out = panel + int64_t{s} * full * 16;
    for (int q0 = 0; q0 < full; q0 += 16) {
      const int n = std::min(16, full - q0);
      const __mmask16 qm = FirstLanes(n);
#pragma GCC unroll 16
      for (int i = 0; i < 16; ++i) {
        r[i] = i < count ? _mm512_maskz_loadu_ps(qm, rows[i * segs + s] + 4 * q0)
                         : _mm512_setzero_ps();
      }
      Transpose16x16(r);
      for (int c = 0; c < n; ++c) {
        _mm512_storeu_si512(out + int64_t{q0 + c} * 16,
                            _mm512_xor_si512(_mm512_castps_si512(r[c]), flip));
      }
    }
  }
  if (seg_len % 4 != 0) {  // the partial quad (segs == 1): bytes past the end are 0x80
    alignas(64) uint32_t tail[16];
    for (int i = 0; i < 16; ++i) {
      uint8_t b[4] = {0x80, 0x80, 0x80, 0x80};
      for (int j = 0; i < count && 4 * full + j < seg_len; ++j) {
        b[j] = static_cast<uint8_t>(static_cast<uint8_t>(rows[i][4 * full + j]) ^ 0x80);
      }
      std::memcpy(&tail[i], b, 4);
    }
    _mm512_storeu_si512(panel + int64_t{full} * 16, _mm512_load_si512(tail));
  }
}

// The same for rows of A (row stride lda).
void PackQuadPanel16(int count, const int8_t* a, int64_t lda, int K, uint32_t* panel) {
  const int8_t* rows[16];
  for (int i = 0; i < 16; ++i) rows[i] = a + std::min(i, count - 1) * lda;
  PackQuadPanel16(count, rows, 1, K, panel);
}

// out[n][0..16) = the exact sums of the panel's 16 rows with row n of w.
void QuadTileSums(const PackedQuads& w, const uint32_t* panel, int32_t* out) {
  for (int n = 0; n < w.rows; ++n) {
    __m512i s0 = _mm512_setzero_si512(), s1 = _mm512_setzero_si512();
    __m512i s2 = _mm512_setzero_si512(), s3 = _mm512_setzero_si512();
    int32_t j = w.row_ptr[n];
    const int32_t j1 = w.row_ptr[n + 1];
    for (; j + 4 <= j1; j += 4) {
      s0 = _mm512_dpbusd_epi32(s0, _mm512_loadu_si512(panel + int64_t{w.k[j]} * 16),
                               _mm512_set1_epi32(w.word[j]));
      s1 = _mm512_dpbusd_epi32(s1, _mm512_loadu_si512(panel + int64_t{w.k[j + 1]} * 16),
                               _mm512_set1_epi32(w.word[j + 1]));
      s2 = _mm512_dpbusd_epi32(s2, _mm512_loadu_si512(panel + int64_t{w.k[j + 2]} * 16),
                               _mm512_set1_epi32(w.word[j + 2]));
      s3 = _mm512_dpbusd_epi32(s3, _mm512_loadu_si512(panel + int64_t{w.k[j + 3]} * 16),
                               _mm512_set1_epi32(w.word[j + 3]));
    }
    for (; j < j1; ++j) {
      s0 = _mm512_dpbusd_epi32(s0, _mm512_loadu_si512(panel + int64_t{w.k[j]} * 16),
                               _mm512_set1_epi32(w.word[j]));
    }
    const __m512i sum = _mm512_add_epi32(_mm512_add_epi32(s0, s1), _mm512_add_epi32(s2, s3));
    const __m512i shift =
        _mm512_set1_epi32(static_cast<int32_t>(128u * static_cast<uint32_t>(w.row_sum[n])));
    _mm512_storeu_si512(out + int64_t{n} * 16, _mm512_sub_epi32(sum, shift));
  }
}

// The same for two panels (32 rows): each stored quad's index and word are loaded once for both.
void QuadTileSums2(const PackedQuads& w, const uint32_t* panel0, const uint32_t* panel1,
                   int32_t* out0, int32_t* out1) {
  for (int n = 0; n < w.rows; ++n) {
    __m512i a0 = _mm512_setzero_si512(), a1 = _mm512_setzero_si512();
    __m512i b0 = _mm512_setzero_si512(), b1 = _mm512_setzero_si512();
    int32_t j = w.row_ptr[n];
    const int32_t j1 = w.row_ptr[n + 1];
    for (; j + 2 <= j1; j += 2) {
      const int64_t k0 = int64_t{w.k[j]} * 16, k1 = int64_t{w.k[j + 1]} * 16;
      const __m512i w0 = _mm512_set1_epi32(w.word[j]);
      const __m512i w1 = _mm512_set1_epi32(w.word[j + 1]);
      a0 = _mm512_dpbusd_epi32(a0, _mm512_loadu_si512(panel0 + k0), w0);
      b0 = _mm512_dpbusd_epi32(b0, _mm512_loadu_si512(panel1 + k0), w0);
      a1 = _mm512_dpbusd_epi32(a1, _mm512_loadu_si512(panel0 + k1), w1);
      b1 = _mm512_dpbusd_epi32(b1, _mm512_loadu_si512(panel1 + k1), w1);
    }
    if (j < j1) {
      const int64_t k0 = int64_t{w.k[j]} * 16;
      const __m512i w0 = _mm512_set1_epi32(w.word[j]);
      a0 = _mm512_dpbusd_epi32(a0, _mm512_loadu_si512(panel0 + k0), w0);
      b0 = _mm512_dpbusd_epi32(b0, _mm512_loadu_si512(panel1 + k0), w0);
    }
    const __m512i shift =
        _mm512_set1_epi32(static_cast<int32_t>(128u * static_cast<uint32_t>(w.row_sum[n])));
    _mm512_storeu_si512(out0 + int64_t{n} * 16, _mm512_sub_epi32(_mm512_add_epi32(a0, a1), shift));
    _mm512_storeu_si512(out1 + int64_t{n} * 16, _mm512_sub_epi32(_mm512_add_epi32(b0, b1), shift));
  }
}

// Requantizes rows [0, rows) of a [N][16] tile of sums into C (rows ldc apart).
void RequantTile(int rows, int N, const int32_t* tile, const int64_t* bias_term,
                 const uk::RequantBlock16* rq, const uk::QuantOutput& out, int8_t* C, int64_t ldc) {
  const __m512i lo = _mm512_set1_epi32(out.lo);
  const __m512i hi = _mm512_set1_epi32(out.hi);
  const __m512i zp = _mm512_set1_epi32(out.zero_point);
  __m512 r[16];
  for (int c0 = 0; c0 < N; c0 += 16) {
    const int n = std::min(16, N - c0);
    const __mmask16 cm = FirstLanes(n);
#pragma GCC unroll 16
    for (int c = 0; c < 16; ++c) {
      r[c] = c < n ? _mm512_loadu_ps(reinterpret_cast<const float*>(tile + (c0 + c) * 16))
                   : _mm512_setzero_ps();
    }
    Transpose16x16(r);
    // The int64 bias terms wrapped to int32 (the reference wraps acc + bias_term).
    const __m256i b_lo = _mm512_cvtepi64_epi32(
        _mm512_maskz_loadu_epi64(static_cast<__mmask8>(cm & 0xff), bias_term + c0));
    const __m256i b_hi = _mm512_cvtepi64_epi32(
        _mm512_maskz_loadu_epi64(static_cast<__mmask8>(cm >> 8), bias_term + c0 + 8));
    const __m512i bias = _mm512_inserti64x4(_mm512_castsi256_si512(b_lo), b_hi, 1);
    const uk::RequantBlock16* block = rq + c0 / 16;
    for (int l = 0; l < rows; ++l) {
      const __m512i v =
          uk::avx512::Requantize16<true>(_mm512_add_epi32(_mm512_castps_si512(r[l]), bias), block);
      uk::avx512::StoreInt8(C + l * ldc + c0, v, lo, hi, zp, cm);
    }
  }
}

}  // namespace

void qs8_spmm_quads_ukernel_16__avx512vnni(int M, const int8_t* A, int64_t lda,
                                           const PackedQuads& w, int32_t* acc, void* scratch) {
  uint32_t* panel = static_cast<uint32_t*>(scratch);
  for (int m0 = 0; m0 < M; m0 += 16) {
    PackQuadPanel16(std::min(16, M - m0), A + m0 * lda, lda, w.cols, panel);
    QuadTileSums(w, panel, acc + int64_t{m0 / 16} * w.rows * 16);
  }
}

void qs8_spmm_quads_requant_ukernel_16__avx512vnni(int M, const int8_t* const* rows, int segs,
                                                   int seg_len, const PackedQuads& w,
                                                   const int64_t* bias_term,
                                                   const uk::RequantBlock16* rq,
                                                   const uk::QuantOutput& out, int8_t* C,
                                                   int64_t ldc, void* scratch) {
  const int N = w.rows;
  const int64_t panel_words = int64_t{(w.cols + 3) / 4} * 16;
  uint32_t* panel0 = static_cast<uint32_t*>(scratch);
  uint32_t* panel1 = panel0 + panel_words;
  int32_t* tile0 = reinterpret_cast<int32_t*>(panel1 + panel_words);
  int32_t* tile1 = tile0 + int64_t{N} * 16;
  // 32 rows at a time while there are more than 16 left, then one tile.
  for (int m0 = 0; m0 < M; m0 += 32) {
    const int rows0 = std::min(16, M - m0), rows1 = std::min(16, M - m0 - 16);
    PackQuadPanel16(rows0, rows + int64_t{m0} * segs, segs, seg_len, panel0);
    if (rows1 > 0) {
      PackQuadPanel16(rows1, rows + int64_t{m0 + 16} * segs, segs, seg_len, panel1);
      QuadTileSums2(w, panel0, panel1, tile0, tile1);
    } else {
      QuadTileSums(w, panel0, tile0);
    }
    RequantTile(rows0, N, tile0, bias_term, rq, out, C + m0 * ldc, ldc);
    if (rows1 > 0) RequantTile(rows1, N, tile1, bias_term, rq, out, C + (m0 + 16) * ldc, ldc);
  }
}

}  // namespace rt
}  // namespace edgeopt
