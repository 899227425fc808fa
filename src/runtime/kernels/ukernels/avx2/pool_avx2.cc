// MAX_POOL_2D / AVERAGE_POOL_2D microkernels with AVX2, a run of output pixels per call (see
// PoolArgs in ukernels.h and the AVX-512 versions for why the results equal the reference's). Byte
// max: 32 channels per step, the remaining channels one by one.
#include <immintrin.h>

#include <cstdint>
#include <cstring>
#include <limits>

#include "src/runtime/kernels/ukernels/avx2/avx2_ukernels.h"
#include "src/runtime/kernels/ukernels/avx2/requant_avx2.h"

namespace edgeopt {
namespace rt {
namespace uk {
namespace avx2 {
namespace {

// kWindow: a square window's size when fixed at compile time (0: p.rows x p.cols).
template <bool kMax, int kWindow = 0>
void F32Pool(const PoolArgs& p) {
  const int rows = kWindow > 0 ? kWindow : p.rows, cols = kWindow > 0 ? kWindow : p.cols;
  const __m256 lo = _mm256_set1_ps(p.fmin);
  const __m256 hi = _mm256_set1_ps(p.fmax);
  const __m256 init = _mm256_set1_ps(kMax ? std::numeric_limits<float>::lowest() : 0.0f);
  const int count = rows * cols;
  const __m256 vcount = _mm256_set1_ps(static_cast<float>(count));
  for (int i = 0; i < p.pixels; ++i) {
    const float* in = static_cast<const float*>(p.in) + i * p.in_step;
    float* out = static_cast<float*>(p.out) + static_cast<ptrdiff_t>(i) * p.channels;
    for (int c = 0; c < p.channels; c += 8) {
      const __m256i m = TailMask8(p.channels - c);
      __m256 acc = init;
      for (int y = 0; y < rows; ++y) {
        const float* row = in + y * p.row_stride + c;
        for (int x = 0; x < cols; ++x) {
          const __m256 v = _mm256_maskload_ps(row + x * p.channels, m);
          acc = kMax ? _mm256_max_ps(v, acc) : _mm256_add_ps(acc, v);
        }
      }
      if (!kMax) acc = count > 0 ? _mm256_div_ps(acc, vcount) : _mm256_setzero_ps();
      _mm256_maskstore_ps(out + c, m, _mm256_min_ps(_mm256_max_ps(acc, lo), hi));
    }
  }
}

// kWindow: a square window's size when fixed at compile time (0: p.rows x p.cols).
template <bool kSigned, int kWindow = 0>
void Q8MaxPool(const PoolArgs& p) {
  const int rows = kWindow > 0 ? kWindow : p.rows, cols = kWindow > 0 ? kWindow : p.cols;
  const __m256i lo = _mm256_set1_epi8(static_cast<char>(p.qmin));
  const __m256i hi = _mm256_set1_epi8(static_cast<char>(p.qmax));
  const __m256i init = _mm256_set1_epi8(static_cast<char>(kSigned ? 0x80 : 0));
  for (int i = 0; i < p.pixels; ++i) {
    const uint8_t* in = static_cast<const uint8_t*>(p.in) + i * p.in_step;
    uint8_t* out = static_cast<uint8_t*>(p.out) + static_cast<ptrdiff_t>(i) * p.channels;
    int c = 0;
    for (; c + 32 <= p.channels; c += 32) {
      __m256i acc = init;
      for (int y = 0; y < rows; ++y) {
        const uint8_t* row = in + y * p.row_stride + c;
        for (int x = 0; x < cols; ++x) {
          const __m256i v =
              _mm256_loadu_si256(reinterpret_cast<const __m256i*>(row + x * p.channels));
          acc = kSigned ? _mm256_max_epi8(acc, v) : _mm256_max_epu8(acc, v);
        }
      }
      acc = kSigned ? _mm256_min_epi8(_mm256_max_epi8(acc, lo), hi)
                    : _mm256_min_epu8(_mm256_max_epu8(acc, lo), hi);
      _mm256_storeu_si256(reinterpret_cast<__m256i*>(out + c), acc);
    }
    for (; c < p.channels; ++c) {
      int32_t acc = kSigned ? -128 : 0;
      for (int y = 0; y < rows; ++y) {
        for (int x = 0; x < cols; ++x) {
          const uint8_t raw = in[y * p.row_stride + x * p.channels + c];
          const int32_t v = kSigned ? int32_t{static_cast<int8_t>(raw)} : int32_t{raw};
          acc = v > acc ? v : acc;
        }
      }
      acc = acc < p.qmin ? p.qmin : (acc > p.qmax ? p.qmax : acc);
      out[c] = static_cast<uint8_t>(acc);
    }
  }
}

// int16 max: from the lowest value, 16 channels per vector, the rest one at a time.
template <int kWindow = 0>
void S16MaxPool(const PoolArgs& p) {
  const int rows = kWindow > 0 ? kWindow : p.rows, cols = kWindow > 0 ? kWindow : p.cols;
  const __m256i lo = _mm256_set1_epi16(static_cast<int16_t>(p.qmin));
  const __m256i hi = _mm256_set1_epi16(static_cast<int16_t>(p.qmax));
  const __m256i init = _mm256_set1_epi16(INT16_MIN);
  for (int i = 0; i < p.pixels; ++i) {
    const int16_t* in = static_cast<const int16_t*>(p.in) + i * p.in_step;
    int16_t* out = static_cast<int16_t*>(p.out) + static_cast<ptrdiff_t>(i) * p.channels;
    int c = 0;
    for (; c + 16 <= p.channels; c += 16) {
      __m256i acc = init;
      for (int y = 0; y < rows; ++y) {
        const int16_t* row = in + y * p.row_stride + c;
        for (int x = 0; x < cols; ++x) {
          acc = _mm256_max_epi16(
              acc, _mm256_loadu_si256(reinterpret_cast<const __m256i*>(row + x * p.channels)));
        }
      }
      _mm256_storeu_si256(reinterpret_cast<__m256i*>(out + c),
                          _mm256_min_epi16(_mm256_max_epi16(acc, lo), hi));
    }
    for (; c < p.channels; ++c) {
      int32_t acc = INT16_MIN;
      for (int y = 0; y < rows; ++y) {
        for (int x = 0; x < cols; ++x) {
          const int32_t v = in[y * p.row_stride + x * p.channels + c];
          acc = v > acc ? v : acc;
        }
      }
      acc = acc < p.qmin ? p.qmin : (acc > p.qmax ? p.qmax : acc);
      out[c] = static_cast<int16_t>(acc);
    }
  }
}

template <bool kSigned>
void Q8AvgPool(const PoolArgs& p) {
  const __m256i lo = _mm256_set1_epi32(p.qmin);
  const __m256i hi = _mm256_set1_epi32(p.qmax);
  const int count = p.rows * p.cols;
  const __m256i half = _mm256_set1_epi32(count / 2);
  const __m256 vcount = _mm256_set1_ps(static_cast<float>(count));
  for (int i = 0; i < p.pixels; ++i) {
    const uint8_t* in = static_cast<const uint8_t*>(p.in) + i * p.in_step;
    uint8_t* out = static_cast<uint8_t*>(p.out) + static_cast<ptrdiff_t>(i) * p.channels;
    for (int c = 0; c < p.channels; c += 8) {
      const int n = p.channels - c;
      __m256i acc = _mm256_setzero_si256();
      for (int y = 0; y < p.rows; ++y) {
        const uint8_t* row = in + y * p.row_stride + c;
        for (int x = 0; x < p.cols; ++x) {
          const __m128i b = _mm_cvtsi64_si128(LoadUpTo8(row + x * p.channels, n));
          acc = _mm256_add_epi32(acc, kSigned ? _mm256_cvtepi8_epi32(b) : _mm256_cvtepu8_epi32(b));
        }
      }
      __m256i q = _mm256_setzero_si256();
      if (count > 0) {
        // acc + count / 2 when acc >= 0, else acc - count / 2; then a truncating division.
        const __m256i neg = _mm256_cmpgt_epi32(_mm256_setzero_si256(), acc);
        const __m256i s =
            _mm256_blendv_epi8(_mm256_add_epi32(acc, half), _mm256_sub_epi32(acc, half), neg);
        q = _mm256_cvttps_epi32(_mm256_div_ps(_mm256_cvtepi32_ps(s), vcount));
      }
      StoreInt8x8(out + c, q, lo, hi, _mm256_setzero_si256(), n);
    }
  }
}

}  // namespace

void f32_maxpool_minmax_ukernel__avx2_c8(const PoolArgs& p) {
  WithPoolWindow(p, [&](auto k) { F32Pool<true, decltype(k)::value>(p); });
}
void f32_avgpool_minmax_ukernel__avx2_c8(const PoolArgs& p) {
  WithPoolWindow(p, [&](auto k) { F32Pool<false, decltype(k)::value>(p); });
}
void s8_maxpool_minmax_ukernel__avx2_c32(const PoolArgs& p) {
  WithPoolWindow(p, [&](auto k) { Q8MaxPool<true, decltype(k)::value>(p); });
}
void u8_maxpool_minmax_ukernel__avx2_c32(const PoolArgs& p) {
  WithPoolWindow(p, [&](auto k) { Q8MaxPool<false, decltype(k)::value>(p); });
}
void s16_maxpool_minmax_ukernel__avx2_c16(const PoolArgs& p) {
  WithPoolWindow(p, [&](auto k) { S16MaxPool<decltype(k)::value>(p); });
}
void qs8_avgpool_minmax_ukernel__avx2_c8(const PoolArgs& p) { Q8AvgPool<true>(p); }
void qu8_avgpool_minmax_ukernel__avx2_c8(const PoolArgs& p) { Q8AvgPool<false>(p); }

}  // namespace avx2
}  // namespace uk
}  // namespace rt
}  // namespace edgeopt
