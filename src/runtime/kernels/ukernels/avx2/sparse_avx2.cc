// AVX2 + FMA sparse microkernels (see ../sparse_ukernels.h).
#include <immintrin.h>

#include <algorithm>
#include <cstring>

#include "src/runtime/kernels/ukernels/sparse_ukernels.h"

namespace edgeopt {
namespace rt {
namespace {

inline float HorizontalSum(__m256 v) {
  __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  s = _mm_add_ps(s, _mm_movehl_ps(s, s));
  s = _mm_add_ss(s, _mm_movehdup_ps(s));
  return _mm_cvtss_f32(s);
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

template <int B>
inline float RowDotF32(const float* values, const int32_t* col, int32_t j0, int32_t j1,
                       const float* a) {
  if constexpr (B == 16) {
    __m256 acc0 = _mm256_setzero_ps(), acc1 = _mm256_setzero_ps();
    for (int32_t j = j0; j < j1; ++j) {
      const float* v = values + int64_t{j} * 16;
      const float* x = a + col[j];
      acc0 = _mm256_fmadd_ps(_mm256_loadu_ps(v), _mm256_loadu_ps(x), acc0);
      acc1 = _mm256_fmadd_ps(_mm256_loadu_ps(v + 8), _mm256_loadu_ps(x + 8), acc1);
    }
    return HorizontalSum(_mm256_add_ps(acc0, acc1));
  } else if constexpr (B == 4) {
    __m256 acc0 = _mm256_setzero_ps(), acc1 = _mm256_setzero_ps();
    int32_t j = j0;
    for (; j + 4 <= j1; j += 4) {
      const __m256 x0 = _mm256_loadu2_m128(a + col[j + 1], a + col[j]);
      const __m256 x1 = _mm256_loadu2_m128(a + col[j + 3], a + col[j + 2]);
      acc0 = _mm256_fmadd_ps(_mm256_loadu_ps(values + int64_t{j} * 4), x0, acc0);
      acc1 = _mm256_fmadd_ps(_mm256_loadu_ps(values + int64_t{j + 2} * 4), x1, acc1);
    }
    __m128 acc4 = _mm_setzero_ps();
    for (; j < j1; ++j) {
      acc4 = _mm_fmadd_ps(_mm_loadu_ps(values + int64_t{j} * 4), _mm_loadu_ps(a + col[j]), acc4);
    }
    return HorizontalSum(_mm256_add_ps(_mm256_add_ps(acc0, acc1), _mm256_castps128_ps256(acc4)));
  } else if constexpr (B == 1) {
    __m256 acc = _mm256_setzero_ps();
    int32_t j = j0;
    for (; j + 8 <= j1; j += 8) {
      const __m256i idx = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(col + j));
      acc = _mm256_fmadd_ps(_mm256_loadu_ps(values + j), _mm256_i32gather_ps(a, idx, 4), acc);
    }
    float sum = HorizontalSum(acc);
    for (; j < j1; ++j) sum += values[j] * a[col[j]];
    return sum;
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

template <int B>
void SpmmF32(int M, const float* A, int64_t lda, const ref::BlockCsr<float>& w, const float* bias,
             float lo, float hi, float* C, int64_t ldc, float* scratch) {
  const int K = w.cols, N = w.rows;
  float* panel = scratch;
  float* out = scratch + static_cast<int64_t>(K) * 8;
  const __m256 vlo = _mm256_set1_ps(lo), vhi = _mm256_set1_ps(hi);
  for (int m0 = 0; m0 < M; m0 += 8) {
    const int rows = std::min(8, M - m0);
    // panel[k][8]: the convolution's 8x8 register transposes (zeros for missing rows).
    if (rows < 8) std::memset(panel, 0, sizeof(float) * static_cast<size_t>(K) * 8);
    if (lda == K) {
      f32_pixels_to_planes__avx2(rows, K, A + m0 * lda, panel, 8);
    } else {
      for (int r = 0; r < rows; ++r) {
        f32_pixels_to_planes__avx2(1, K, A + (m0 + r) * lda, panel + r, 8);
      }
    }
    for (int n = 0; n < N; ++n) {
      // Four FMA chains (one would wait out the FMA latency on every stored weight).
      __m256 acc[4] = {_mm256_setzero_ps(), _mm256_setzero_ps(), _mm256_setzero_ps(),
                       _mm256_setzero_ps()};
      int32_t j = w.row_ptr[n];
      const int32_t j1 = w.row_ptr[n + 1];
      if constexpr (B == 1) {
        for (; j + 4 <= j1; j += 4) {
#pragma GCC unroll 4
          for (int u = 0; u < 4; ++u) {
            acc[u] = _mm256_fmadd_ps(_mm256_set1_ps(w.values[j + u]),
                                     _mm256_loadu_ps(panel + int64_t{w.col[j + u]} * 8), acc[u]);
          }
        }
      }
      for (; j < j1; ++j) {
        const float* v = w.values + int64_t{j} * B;
        const float* p = panel + int64_t{w.col[j]} * 8;
#pragma GCC unroll 16
        for (int i = 0; i < B; ++i) {
          acc[i % 4] =
              _mm256_fmadd_ps(_mm256_set1_ps(v[i]), _mm256_loadu_ps(p + i * 8), acc[i % 4]);
        }
      }
      __m256 sum = _mm256_add_ps(_mm256_add_ps(acc[0], acc[1]), _mm256_add_ps(acc[2], acc[3]));
      if (bias != nullptr) sum = _mm256_add_ps(sum, _mm256_set1_ps(bias[n]));
      _mm256_storeu_ps(out + int64_t{n} * 8, _mm256_min_ps(_mm256_max_ps(sum, vlo), vhi));
    }
    float* dst[8];
    for (int r = 0; r < rows; ++r) dst[r] = C + (m0 + r) * ldc;
    f32_tile_to_pixels__avx2(rows, N, out, 8, dst);
  }
}

template <int B>
void SpmvS8(int M, const int8_t* A, int64_t lda, const ref::BlockCsr<int8_t>& w, int32_t* acc,
            int64_t ldc) {
  for (int m = 0; m < M; ++m) {
    const int8_t* a = A + m * lda;
    int32_t* c = acc + m * ldc;
    for (int n = 0; n < w.rows; ++n) {
      const int32_t j1 = w.row_ptr[n + 1];
      int32_t j = w.row_ptr[n];
      int32_t sum = 0;
      if constexpr (B == 16) {
        __m256i v = _mm256_setzero_si256();
        for (; j < j1; ++j) {
          const __m256i wv = _mm256_cvtepi8_epi16(
              _mm_loadu_si128(reinterpret_cast<const __m128i*>(w.values + int64_t{j} * 16)));
          const __m256i xv =
              _mm256_cvtepi8_epi16(_mm_loadu_si128(reinterpret_cast<const __m128i*>(a + w.col[j])));
          v = _mm256_add_epi32(v, _mm256_madd_epi16(wv, xv));
        }
        sum = HorizontalSum(v);
      } else if constexpr (B == 4) {
        __m256i v = _mm256_setzero_si256();
        for (; j + 4 <= j1; j += 4) {
          const __m256i wv = _mm256_cvtepi8_epi16(
              _mm_loadu_si128(reinterpret_cast<const __m128i*>(w.values + int64_t{j} * 4)));
          const __m128i x = _mm_setr_epi32(Load4(a + w.col[j]), Load4(a + w.col[j + 1]),
                                           Load4(a + w.col[j + 2]), Load4(a + w.col[j + 3]));
          v = _mm256_add_epi32(v, _mm256_madd_epi16(wv, _mm256_cvtepi8_epi16(x)));
        }
        sum = HorizontalSum(v);
      }
      for (; j < j1; ++j) {
        for (int i = 0; i < B; ++i) sum += int32_t{w.values[int64_t{j} * B + i]} * a[w.col[j] + i];
      }
      c[n] = sum;
    }
  }
}

// r[j][i] = r[i][j] for an 8x8 block of floats held in 8 registers.
inline void Transpose8x8(__m256 r[8]) {
  __m256 t[8], u[8];
#pragma GCC unroll 8
  for (int i = 0; i < 8; i += 2) {
    t[i] = _mm256_unpacklo_ps(r[i], r[i + 1]);
    t[i + 1] = _mm256_unpackhi_ps(r[i], r[i + 1]);
  }
  // u[4g + c], 128-bit half k: column 4k + c of rows 4g .. 4g + 3.
#pragma GCC unroll 8
  for (int g = 0; g < 8; g += 4) {
    u[g] = _mm256_shuffle_ps(t[g], t[g + 2], 0x44);
    u[g + 1] = _mm256_shuffle_ps(t[g], t[g + 2], 0xEE);
    u[g + 2] = _mm256_shuffle_ps(t[g + 1], t[g + 3], 0x44);
    u[g + 3] = _mm256_shuffle_ps(t[g + 1], t[g + 3], 0xEE);
  }
#pragma GCC unroll 8
  for (int c = 0; c < 4; ++c) {
    r[c] = _mm256_permute2f128_ps(u[c], u[4 + c], 0x20);
    r[4 + c] = _mm256_permute2f128_ps(u[c], u[4 + c], 0x31);
  }
}

// A mask of the first n (0..8) lanes for maskload / maskstore.
inline __m256i FirstLanes8(int n) {
  const __m256i index = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
  return _mm256_cmpgt_epi32(_mm256_set1_epi32(n), index);
}

// V vectors of 8 lanes per tap; U taps per step into their own sums (U * V FMA chains).
template <int V, int U>
void SpconvF32(const float* x, const SparseConvTaps& w, const float* bias, int n0, int n1, float lo,
               float hi, float* tile, int64_t ldt, bool accumulate) {
  const __m256 vlo = _mm256_set1_ps(lo), vhi = _mm256_set1_ps(hi);
  for (int n = n0; n < n1; ++n) {
    __m256 acc[U][V];
#pragma GCC unroll 8
    for (int v = 0; v < V; ++v) {
      acc[0][v] = accumulate ? _mm256_loadu_ps(tile + (n - n0) * ldt + 8 * v)
                             : _mm256_set1_ps(bias != nullptr ? bias[n] : 0.0f);
#pragma GCC unroll 8
      for (int u = 1; u < U; ++u) acc[u][v] = _mm256_setzero_ps();
    }
    int32_t j = w.row_ptr[n];
    const int32_t j1 = w.row_ptr[n + 1];
    for (; j + U <= j1; j += U) {
#pragma GCC unroll 8
      for (int u = 0; u < U; ++u) {
        const __m256 wv = _mm256_broadcast_ss(w.values + j + u);
        const float* p = x + w.off[j + u];
#pragma GCC unroll 8
        for (int v = 0; v < V; ++v) {
          acc[u][v] = _mm256_fmadd_ps(wv, _mm256_loadu_ps(p + 8 * v), acc[u][v]);
        }
      }
    }
    for (; j < j1; ++j) {
      const __m256 wv = _mm256_broadcast_ss(w.values + j);
      const float* p = x + w.off[j];
#pragma GCC unroll 8
      for (int v = 0; v < V; ++v) {
        acc[0][v] = _mm256_fmadd_ps(wv, _mm256_loadu_ps(p + 8 * v), acc[0][v]);
      }
    }
    float* t = tile + (n - n0) * ldt;
#pragma GCC unroll 8
    for (int v = 0; v < V; ++v) {
      __m256 sum = acc[0][v];
#pragma GCC unroll 8
      for (int u = 1; u < U; ++u) sum = _mm256_add_ps(sum, acc[u][v]);
      _mm256_storeu_ps(t + 8 * v, _mm256_min_ps(_mm256_max_ps(sum, vlo), vhi));
    }
  }
}

}  // namespace

void f32_pixels_to_planes__avx2(int count, int channels, const float* in, float* x, int64_t plane) {
  __m256 r[8];
  for (int i0 = 0; i0 < count; i0 += 8) {
    const int pixels = std::min(8, count - i0);
    const __m256i pm = FirstLanes8(pixels);
    for (int c0 = 0; c0 < channels; c0 += 8) {
      const __m256i cm = FirstLanes8(channels - c0);
#pragma GCC unroll 8
      for (int i = 0; i < 8; ++i) {
        r[i] = i < pixels ? _mm256_maskload_ps(in + (int64_t{i0} + i) * channels + c0, cm)
                          : _mm256_setzero_ps();
      }
      Transpose8x8(r);
      const int n = std::min(8, channels - c0);
      for (int c = 0; c < n; ++c) _mm256_maskstore_ps(x + (c0 + c) * plane + i0, pm, r[c]);
    }
  }
}

void f32_tile_to_pixels__avx2(int count, int channels, const float* tile, int64_t ldt,
                              float* const* dst) {
  __m256 r[8];
  for (int l0 = 0; l0 < count; l0 += 8) {
    const int lanes = std::min(8, count - l0);
    const __m256i lm = FirstLanes8(lanes);
    for (int c0 = 0; c0 < channels; c0 += 8) {
      const int n = std::min(8, channels - c0);
#pragma GCC unroll 8
      for (int c = 0; c < 8; ++c) {
        r[c] = c < n ? _mm256_maskload_ps(tile + (c0 + c) * ldt + l0, lm) : _mm256_setzero_ps();
      }
      Transpose8x8(r);
      const __m256i cm = FirstLanes8(n);
      for (int l = 0; l < lanes; ++l) {
        if (dst[l0 + l] != nullptr) _mm256_maskstore_ps(dst[l0 + l] + c0, cm, r[l]);
      }
    }
  }
}

void f32_spconv_minmax_ukernel_32__avx2(int lanes, const float* x, const SparseConvTaps& w,
                                        const float* bias, int n0, int n1, float lo, float hi,
                                        float* tile, int64_t ldt, bool accumulate) {
  switch (lanes / 8) {
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

void f32_spmv_minmax_ukernel__avx2(int M, const float* A, int64_t lda,
                                   const ref::BlockCsr<float>& w, const float* bias, float lo,
                                   float hi, float* C, int64_t ldc) {
  const bool done = WithSparseBlock(
      w.block, [&](auto b) { SpmvF32<decltype(b)::value>(M, A, lda, w, bias, lo, hi, C, ldc); });
  if (!done) ref::SparseGemmF32(M, A, lda, w, bias, lo, hi, C, ldc);
}

void f32_spmm_minmax_ukernel_8__avx2(int M, const float* A, int64_t lda,
                                     const ref::BlockCsr<float>& w, const float* bias, float lo,
                                     float hi, float* C, int64_t ldc, float* scratch) {
  const bool done = WithSparseBlock(w.block, [&](auto b) {
    SpmmF32<decltype(b)::value>(M, A, lda, w, bias, lo, hi, C, ldc, scratch);
  });
  if (!done) ref::SparseGemmF32(M, A, lda, w, bias, lo, hi, C, ldc);
}

void qs8_spmv_ukernel__avx2(int M, const int8_t* A, int64_t lda, const ref::BlockCsr<int8_t>& w,
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

void qs8_spmm_ukernel_8__avx2(int M, const int8_t* A, int64_t lda, const PackedPairs& w,
                              int32_t* acc, int64_t ldc, void* scratch) {
  const int K = w.cols, N = w.rows;
  const int K2 = (K + 1) / 2;
  int16_t* panel = static_cast<int16_t*>(scratch);
  int32_t* out = reinterpret_cast<int32_t*>(panel + static_cast<int64_t>(K2) * 16);
  for (int m0 = 0; m0 < M; m0 += 8) {
    const int rows = std::min(8, M - m0);
    if (rows < 8 || (K & 1)) {
      std::memset(panel, 0, sizeof(int16_t) * static_cast<size_t>(K2) * 16);
    }
    for (int r = 0; r < rows; ++r) {
      const int8_t* a = A + (m0 + r) * lda;
      for (int k = 0; k < K; ++k) panel[(int64_t{k / 2} * 8 + r) * 2 + (k & 1)] = a[k];
    }
    for (int n = 0; n < N; ++n) {
      __m256i acc0 = _mm256_setzero_si256(), acc1 = _mm256_setzero_si256();
      int32_t j = w.row_ptr[n];
      const int32_t j1 = w.row_ptr[n + 1];
      for (; j + 2 <= j1; j += 2) {
        acc0 = _mm256_add_epi32(
            acc0,
            _mm256_madd_epi16(
                _mm256_loadu_si256(reinterpret_cast<const __m256i*>(panel + int64_t{w.k[j]} * 16)),
                _mm256_set1_epi32(w.word[j])));
        acc1 = _mm256_add_epi32(
            acc1, _mm256_madd_epi16(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(
                                        panel + int64_t{w.k[j + 1]} * 16)),
                                    _mm256_set1_epi32(w.word[j + 1])));
      }
      if (j < j1) {
        acc0 = _mm256_add_epi32(
            acc0,
            _mm256_madd_epi16(
                _mm256_loadu_si256(reinterpret_cast<const __m256i*>(panel + int64_t{w.k[j]} * 16)),
                _mm256_set1_epi32(w.word[j])));
      }
      _mm256_storeu_si256(reinterpret_cast<__m256i*>(out + int64_t{n} * 8),
                          _mm256_add_epi32(acc0, acc1));
    }
    for (int r = 0; r < rows; ++r) {
      int32_t* c = acc + (m0 + r) * ldc;
      for (int n = 0; n < N; ++n) c[n] = out[int64_t{n} * 8 + r];
    }
  }
}

}  // namespace rt
}  // namespace edgeopt
