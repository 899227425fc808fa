// The recurrent kernels' products with AVX-512 (see recurrent_ukernels.h): one 16-row block is
// one vector; up to four blocks share each broadcast of the vector.
#include <immintrin.h>

#include <type_traits>

#include "src/runtime/kernels/recurrent_ukernels.h"

namespace edgeopt {
namespace rt {
namespace recurrent {
namespace avx512 {
namespace {

inline __mmask16 RowMask(int n) { return static_cast<__mmask16>((1u << n) - 1); }

template <int kBlocks>
void S8Blocks(const int16_t* packed, size_t block_stride, int rows, int col_pairs,
              const int32_t* pairs, int32_t* out) {
  __m512i acc[kBlocks];
#pragma GCC unroll 4
  for (int j = 0; j < kBlocks; ++j) acc[j] = _mm512_setzero_si512();
  for (int k = 0; k < col_pairs; ++k) {
    const __m512i x = _mm512_set1_epi32(pairs[k]);
#pragma GCC unroll 4
    for (int j = 0; j < kBlocks; ++j) {
      const __m512i w = _mm512_loadu_si512(packed + j * block_stride + k * 2 * kRowBlock);
      acc[j] = _mm512_add_epi32(acc[j], _mm512_madd_epi16(w, x));
    }
  }
#pragma GCC unroll 4
  for (int j = 0; j < kBlocks; ++j) {
    const int n = rows - j * kRowBlock;
    if (n >= kRowBlock) {
      _mm512_storeu_si512(out + j * kRowBlock, acc[j]);
    } else {
      _mm512_mask_storeu_epi32(out + j * kRowBlock, RowMask(n), acc[j]);
    }
  }
}

template <int kBlocks>
void F32Blocks(const float* packed, size_t block_stride, int rows, int cols, const float* v,
               float* out) {
  __m512 acc[kBlocks];
#pragma GCC unroll 4
  for (int j = 0; j < kBlocks; ++j) acc[j] = _mm512_setzero_ps();
  for (int c = 0; c < cols; ++c) {
    const __m512 x = _mm512_set1_ps(v[c]);
#pragma GCC unroll 4
    for (int j = 0; j < kBlocks; ++j) {
      const __m512 w = _mm512_loadu_ps(packed + j * block_stride + c * kRowBlock);
      acc[j] = _mm512_add_ps(acc[j], _mm512_mul_ps(w, x));
    }
  }
#pragma GCC unroll 4
  for (int j = 0; j < kBlocks; ++j) {
    const int n = rows - j * kRowBlock;
    const __mmask16 m = RowMask(n >= kRowBlock ? kRowBlock : n);
    float* o = out + j * kRowBlock;
    _mm512_mask_storeu_ps(o, m, _mm512_add_ps(_mm512_maskz_loadu_ps(m, o), acc[j]));
  }
}

// blocks(n, r) for the rows from r on, n (up to four) 16-row blocks at a time.
template <typename F>
inline void InGroupsOfBlocks(int rows, F&& blocks) {
  int r = 0;
  for (; rows - r > 3 * kRowBlock; r += 4 * kRowBlock) blocks(std::integral_constant<int, 4>(), r);
  if (rows - r > 2 * kRowBlock) {
    blocks(std::integral_constant<int, 3>(), r);
  } else if (rows - r > kRowBlock) {
    blocks(std::integral_constant<int, 2>(), r);
  } else if (rows - r > 0) {
    blocks(std::integral_constant<int, 1>(), r);
  }
}

}  // namespace

void s8_matvec(const int16_t* packed, int rows, int col_pairs, const int32_t* pairs, int32_t* out) {
  const size_t stride = static_cast<size_t>(col_pairs) * 2 * kRowBlock;
  InGroupsOfBlocks(rows, [&](auto blocks, int r) {
    S8Blocks<decltype(blocks)::value>(packed + r / kRowBlock * stride, stride, rows - r, col_pairs,
                                      pairs, out + r);
  });
}

void f32_matvec(const float* packed, int rows, int cols, const float* v, float* out) {
  const size_t stride = static_cast<size_t>(cols) * kRowBlock;
  InGroupsOfBlocks(rows, [&](auto blocks, int r) {
    F32Blocks<decltype(blocks)::value>(packed + r / kRowBlock * stride, stride, rows - r, cols, v,
                                       out + r);
  });
}

}  // namespace avx512
}  // namespace recurrent
}  // namespace rt
}  // namespace edgeopt
