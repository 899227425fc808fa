// Float ADD/SUB/MUL with the activation clamp, AVX2: 16 elements per step (two vectors), then 8,
// then a masked tail. Bit-identical to the reference (see the AVX-512 version).
#include <immintrin.h>

#include "src/runtime/kernels/ukernels/avx2/avx2_ukernels.h"
#include "src/runtime/kernels/ukernels/avx2/requant_avx2.h"

namespace edgeopt {
namespace rt {
namespace uk {
namespace avx2 {
namespace {

enum class BinOp { kAdd, kSub, kMul };

template <BinOp kOp>
inline __m256 Apply(__m256 a, __m256 b) {
  return kOp == BinOp::kAdd   ? _mm256_add_ps(a, b)
         : kOp == BinOp::kSub ? _mm256_sub_ps(a, b)
                              : _mm256_mul_ps(a, b);
}

template <BinOp kOp>
void VBinary(size_t n, const float* a, const float* b, bool b_scalar, float* out,
             const F32MinMaxParams* p) {
  const __m256 lo = _mm256_set1_ps(p->min);
  const __m256 hi = _mm256_set1_ps(p->max);
  const __m256 bs = _mm256_set1_ps(b_scalar ? b[0] : 0.0f);
  auto clamp = [&](__m256 v) { return _mm256_min_ps(_mm256_max_ps(v, lo), hi); };
  size_t i = 0;
  for (; i + 16 <= n; i += 16) {
    const __m256 a0 = _mm256_loadu_ps(a + i);
    const __m256 a1 = _mm256_loadu_ps(a + i + 8);
    const __m256 b0 = b_scalar ? bs : _mm256_loadu_ps(b + i);
    const __m256 b1 = b_scalar ? bs : _mm256_loadu_ps(b + i + 8);
    _mm256_storeu_ps(out + i, clamp(Apply<kOp>(a0, b0)));
    _mm256_storeu_ps(out + i + 8, clamp(Apply<kOp>(a1, b1)));
  }
  for (; i < n; i += 8) {
    const __m256i m = TailMask8(static_cast<int>(n - i < 8 ? n - i : 8));
    const __m256 va = _mm256_maskload_ps(a + i, m);
    const __m256 vb = b_scalar ? bs : _mm256_maskload_ps(b + i, m);
    _mm256_maskstore_ps(out + i, m, clamp(Apply<kOp>(va, vb)));
  }
}

void VClamp(size_t n, const float* x, float* out, const F32MinMaxParams* p) {
  const __m256 lo = _mm256_set1_ps(p->min);
  const __m256 hi = _mm256_set1_ps(p->max);
  size_t i = 0;
  for (; i + 16 <= n; i += 16) {
    const __m256 a0 = _mm256_loadu_ps(x + i);
    const __m256 a1 = _mm256_loadu_ps(x + i + 8);
    _mm256_storeu_ps(out + i, _mm256_min_ps(_mm256_max_ps(a0, lo), hi));
    _mm256_storeu_ps(out + i + 8, _mm256_min_ps(_mm256_max_ps(a1, lo), hi));
  }
  for (; i < n; i += 8) {
    const __m256i m = TailMask8(static_cast<int>(n - i < 8 ? n - i : 8));
    const __m256 v = _mm256_maskload_ps(x + i, m);
    _mm256_maskstore_ps(out + i, m, _mm256_min_ps(_mm256_max_ps(v, lo), hi));
  }
}

}  // namespace

void f32_vclamp_ukernel__avx2_u16(size_t n, const float* x, float* out, const F32MinMaxParams* p) {
  VClamp(n, x, out, p);
}
void f32_vadd_minmax_ukernel__avx2_u16(size_t n, const float* a, const float* b, bool b_scalar,
                                       float* out, const F32MinMaxParams* p) {
  VBinary<BinOp::kAdd>(n, a, b, b_scalar, out, p);
}
void f32_vsub_minmax_ukernel__avx2_u16(size_t n, const float* a, const float* b, bool b_scalar,
                                       float* out, const F32MinMaxParams* p) {
  VBinary<BinOp::kSub>(n, a, b, b_scalar, out, p);
}
void f32_vmul_minmax_ukernel__avx2_u16(size_t n, const float* a, const float* b, bool b_scalar,
                                       float* out, const F32MinMaxParams* p) {
  VBinary<BinOp::kMul>(n, a, b, b_scalar, out, p);
}

}  // namespace avx2
}  // namespace uk
}  // namespace rt
}  // namespace edgeopt
