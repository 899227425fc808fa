// The recurrent kernels' products with AVX2 (see recurrent_ukernels.h): one 16-row block is two
// vectors; up to two blocks share each broadcast of the vector.
#include <immintrin.h>

#include <algorithm>

#include "src/runtime/kernels/recurrent_ukernels.h"

namespace edgeopt {
namespace rt {
namespace recurrent {
namespace avx2 {
namespace {

template <int kBlocks>
void S8Blocks(const int16_t* packed, size_t block_stride, int rows, int col_pairs,
              const int32_t* pairs, int32_t* out) {
  __m256i acc[2 * kBlocks];
  for (int j = 0; j < 2 * kBlocks; ++j) acc[j] = _mm256_setzero_si256();
  for (int k = 0; k < col_pairs; ++k) {
    const __m256i x = _mm256_set1_epi32(pairs[k]);
    for (int j = 0; j < kBlocks; ++j) {
      const int16_t* w = packed + j * block_stride + k * 2 * kRowBlock;
      const __m256i w0 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(w));
      const __m256i w1 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(w + 16));
      acc[2 * j] = _mm256_add_epi32(acc[2 * j], _mm256_madd_epi16(w0, x));
      acc[2 * j + 1] = _mm256_add_epi32(acc[2 * j + 1], _mm256_madd_epi16(w1, x));
    }
  }
  for (int j = 0; j < kBlocks; ++j) {
    const int n = rows - j * kRowBlock;
    int32_t* o = out + j * kRowBlock;
    if (n >= kRowBlock) {
      _mm256_storeu_si256(reinterpret_cast<__m256i*>(o), acc[2 * j]);
      _mm256_storeu_si256(reinterpret_cast<__m256i*>(o + 8), acc[2 * j + 1]);
    } else {
      alignas(32) int32_t tmp[kRowBlock];
      _mm256_store_si256(reinterpret_cast<__m256i*>(tmp), acc[2 * j]);
      _mm256_store_si256(reinterpret_cast<__m256i*>(tmp + 8), acc[2 * j + 1]);
      std::copy(tmp, tmp + n, o);
    }
  }
}

template <int kBlocks>
void F32Blocks(const float* packed, size_t block_stride, int rows, int cols, const float* v,
               float* out) {
  __m256 acc[2 * kBlocks];
  for (int j = 0; j < 2 * kBlocks; ++j) acc[j] = _mm256_setzero_ps();
  for (int c = 0; c < cols; ++c) {
    const __m256 x = _mm256_set1_ps(v[c]);
    for (int j = 0; j < kBlocks; ++j) {
      const float* w = packed + j * block_stride + c * kRowBlock;
      acc[2 * j] = _mm256_add_ps(acc[2 * j], _mm256_mul_ps(_mm256_loadu_ps(w), x));
      acc[2 * j + 1] = _mm256_add_ps(acc[2 * j + 1], _mm256_mul_ps(_mm256_loadu_ps(w + 8), x));
    }
  }
  for (int j = 0; j < kBlocks; ++j) {
    const int n = std::min(kRowBlock, rows - j * kRowBlock);
    alignas(32) float tmp[kRowBlock];
    _mm256_store_ps(tmp, acc[2 * j]);
    _mm256_store_ps(tmp + 8, acc[2 * j + 1]);
    float* o = out + j * kRowBlock;
    for (int i = 0; i < n; ++i) o[i] += tmp[i];
  }
}

}  // namespace

void s8_matvec(const int16_t* packed, int rows, int col_pairs, const int32_t* pairs, int32_t* out) {
  const size_t stride = static_cast<size_t>(col_pairs) * 2 * kRowBlock;
  int r = 0;
  for (; rows - r > kRowBlock; r += 2 * kRowBlock, packed += 2 * stride) {
    S8Blocks<2>(packed, stride, rows - r, col_pairs, pairs, out + r);
  }
  if (rows - r > 0) S8Blocks<1>(packed, stride, rows - r, col_pairs, pairs, out + r);
}

void f32_matvec(const float* packed, int rows, int cols, const float* v, float* out) {
  const size_t stride = static_cast<size_t>(cols) * kRowBlock;
  int r = 0;
  for (; rows - r > kRowBlock; r += 2 * kRowBlock, packed += 2 * stride) {
    F32Blocks<2>(packed, stride, rows - r, cols, v, out + r);
  }
  if (rows - r > 0) F32Blocks<1>(packed, stride, rows - r, cols, v, out + r);
}

}  // namespace avx2
}  // namespace recurrent
}  // namespace rt
}  // namespace edgeopt
