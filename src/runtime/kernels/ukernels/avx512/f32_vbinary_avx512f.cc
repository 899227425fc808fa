// Float ADD/SUB/MUL with the activation clamp, AVX-512F: 32 elements per step (two vectors),
// then 16, then a masked tail. Bit-identical to the reference (one IEEE operation, then
// max(v, lo) and min(., hi) in the operand order that maps a NaN to lo as std::max(lo, v) does).
// GCC 12 reports its own AVX-512 intrinsics (their `_mm512_undefined` operands) as maybe
// uninitialized (GCC bug 105593, fixed in 13).
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#include <immintrin.h>

#include "src/runtime/kernels/ukernels/avx512/avx512_ukernels.h"

namespace edgeopt {
namespace rt {
namespace uk {
namespace avx512 {
namespace {

enum class BinOp { kAdd, kSub, kMul };

template <BinOp kOp>
inline __m512 Apply(__m512 a, __m512 b) {
  return kOp == BinOp::kAdd   ? _mm512_add_ps(a, b)
         : kOp == BinOp::kSub ? _mm512_sub_ps(a, b)
                              : _mm512_mul_ps(a, b);
}

template <BinOp kOp>
void VBinary(size_t n, const float* a, const float* b, bool b_scalar, float* out,
             const F32MinMaxParams* p) {
  const __m512 lo = _mm512_set1_ps(p->min);
  const __m512 hi = _mm512_set1_ps(p->max);
  const __m512 bs = _mm512_set1_ps(b_scalar ? b[0] : 0.0f);
  auto clamp = [&](__m512 v) { return _mm512_min_ps(_mm512_max_ps(v, lo), hi); };
  size_t i = 0;
  for (; i + 32 <= n; i += 32) {
    const __m512 a0 = _mm512_loadu_ps(a + i);
    const __m512 a1 = _mm512_loadu_ps(a + i + 16);
    const __m512 b0 = b_scalar ? bs : _mm512_loadu_ps(b + i);
    const __m512 b1 = b_scalar ? bs : _mm512_loadu_ps(b + i + 16);
    _mm512_storeu_ps(out + i, clamp(Apply<kOp>(a0, b0)));
    _mm512_storeu_ps(out + i + 16, clamp(Apply<kOp>(a1, b1)));
  }
  for (; i < n; i += 16) {
    const __mmask16 m =
        n - i >= 16 ? static_cast<__mmask16>(0xFFFF) : static_cast<__mmask16>((1u << (n - i)) - 1);
    const __m512 va = _mm512_maskz_loadu_ps(m, a + i);
    const __m512 vb = b_scalar ? bs : _mm512_maskz_loadu_ps(m, b + i);
    _mm512_mask_storeu_ps(out + i, m, clamp(Apply<kOp>(va, vb)));
  }
}

void VClamp(size_t n, const float* x, float* out, const F32MinMaxParams* p) {
  const __m512 lo = _mm512_set1_ps(p->min);
  const __m512 hi = _mm512_set1_ps(p->max);
  size_t i = 0;
  for (; i + 32 <= n; i += 32) {
    const __m512 a0 = _mm512_loadu_ps(x + i);
    const __m512 a1 = _mm512_loadu_ps(x + i + 16);
    _mm512_storeu_ps(out + i, _mm512_min_ps(_mm512_max_ps(a0, lo), hi));
    _mm512_storeu_ps(out + i + 16, _mm512_min_ps(_mm512_max_ps(a1, lo), hi));
  }
  for (; i < n; i += 16) {
    const __mmask16 m =
        n - i >= 16 ? static_cast<__mmask16>(0xFFFF) : static_cast<__mmask16>((1u << (n - i)) - 1);
    const __m512 v = _mm512_maskz_loadu_ps(m, x + i);
    _mm512_mask_storeu_ps(out + i, m, _mm512_min_ps(_mm512_max_ps(v, lo), hi));
  }
}

}  // namespace

void f32_vclamp_ukernel__avx512f_u32(size_t n, const float* x, float* out,
                                     const F32MinMaxParams* p) {
  VClamp(n, x, out, p);
}
void f32_vadd_minmax_ukernel__avx512f_u32(size_t n, const float* a, const float* b, bool b_scalar,
                                          float* out, const F32MinMaxParams* p) {
  VBinary<BinOp::kAdd>(n, a, b, b_scalar, out, p);
}
void f32_vsub_minmax_ukernel__avx512f_u32(size_t n, const float* a, const float* b, bool b_scalar,
                                          float* out, const F32MinMaxParams* p) {
  VBinary<BinOp::kSub>(n, a, b, b_scalar, out, p);
}
void f32_vmul_minmax_ukernel__avx512f_u32(size_t n, const float* a, const float* b, bool b_scalar,
                                          float* out, const F32MinMaxParams* p) {
  VBinary<BinOp::kMul>(n, a, b, b_scalar, out, p);
}

}  // namespace avx512
}  // namespace uk
}  // namespace rt
}  // namespace edgeopt
