// s16 GEMM (int16 activations, widened int8 weights, int32 sums) for 16x8 convolutions.
#include <arm_neon.h>

#include <algorithm>
#include <cstdint>

#include "src/runtime/kernels/ukernels/neon/neon_ukernels.h"
#include "src/runtime/kernels/ukernels/neon/requant_neon.h"
#include "src/runtime/kernels/ukernels/s16_gemm_impl.h"

namespace edgeopt {
namespace rt {
namespace uk {
namespace neon {

void s16_gemm_ukernel__neon(int M, int N, int K, const int16_t* a, ptrdiff_t lda, const int16_t* b,
                            int32_t* c, ptrdiff_t ldc) {
  S16GemmImpl(M, N, K, a, lda, b, c, ldc);
}

// The narrow output stage (S16RequantNarrowArgs), 4 channels at a time: vmull_s32 makes the
// int64 products, and vrshlq_s64 by -shift is the rounding shift (x + 2^(shift-1)) >> shift.
void s16_requant_narrow_ukernel__neon(const S16RequantNarrowArgs& p) {
  const int32x4_t zp = vdupq_n_s32(p.zero_point);
  const int32x4_t lo = vdupq_n_s32(p.lo - p.zero_point);
  const int32x4_t hi = vdupq_n_s32(p.hi - p.zero_point);
  int n = 0;
  for (; n + 4 <= p.channels; n += 4) {
    const int32x4_t bias = vld1q_s32(p.bias + n);
    const int32x4_t red = vld1q_s32(p.reduced + n);
    const int32x4_t neg = vnegq_s32(vld1q_s32(p.shift + n));
    const int64x2_t neg_lo = vmovl_s32(vget_low_s32(neg));
    const int64x2_t neg_hi = vmovl_s32(vget_high_s32(neg));
    const int32_t* acc = p.acc + n;
    int16_t* out = p.out + n;
    for (int i = 0; i < p.count; ++i, acc += p.channels, out += p.out_stride) {
      const int32x4_t x = vaddq_s32(vld1q_s32(acc), bias);
      const int64x2_t v_lo = vrshlq_s64(vmull_s32(vget_low_s32(x), vget_low_s32(red)), neg_lo);
      const int64x2_t v_hi = vrshlq_s64(vmull_s32(vget_high_s32(x), vget_high_s32(red)), neg_hi);
      int32x4_t v = vcombine_s32(vmovn_s64(v_lo), vmovn_s64(v_hi));
      v = vaddq_s32(vminq_s32(vmaxq_s32(v, lo), hi), zp);
      vst1_s16(out, vmovn_s32(v));
    }
  }
  for (; n < p.channels; ++n) {  // the last 1-3 channels
    const int shift = p.shift[n];
    for (int i = 0; i < p.count; ++i) {
      const int32_t x = static_cast<int32_t>(static_cast<uint32_t>(p.acc[i * p.channels + n]) +
                                             static_cast<uint32_t>(p.bias[n]));
      const int64_t r = (int64_t{x} * p.reduced[n] + (int64_t{1} << (shift - 1))) >> shift;
      const int32_t v =
          std::min(p.hi - p.zero_point, std::max(p.lo - p.zero_point, static_cast<int32_t>(r)));
      p.out[i * p.out_stride + n] = static_cast<int16_t>(v + p.zero_point);
    }
  }
}

// Four channels at a time (their constants once, rows inner); the last 1-3 channels through the
// scalar model of the same rounding.
void qs8_requant_rows_ukernel__neon(const QS8RequantRowsArgs& p) {
  const int32x4_t zp = vdupq_n_s32(p.out.zero_point);
  const int32x4_t lo = vdupq_n_s32(p.out.lo);
  const int32x4_t hi = vdupq_n_s32(p.out.hi);
  int n = 0;
  for (; n + 4 <= p.channels; n += 4) {
    const Requant4 r = LoadRequant4(p.rq + n / 16, (n % 16) / 4);
    const int32x4_t bias = p.bias != nullptr ? vld1q_s32(p.bias + n) : vdupq_n_s32(0);
    const int32_t* acc = p.acc + n;
    int8_t* c = p.c + n;
    for (int i = 0; i < p.count; ++i, acc += p.acc_stride, c += p.c_stride) {
      const int32x4_t v =
          ClampAddZp(Requantize4<false>(vaddq_s32(vld1q_s32(acc), bias), r), lo, hi, zp);
      const int8x8_t b = vmovn_s16(vcombine_s16(vmovn_s32(v), vmovn_s32(v)));
      vst1_lane_s32(reinterpret_cast<int32_t*>(c), vreinterpret_s32_s8(b), 0);
    }
  }
  for (; n < p.channels; ++n) {
    const int32_t bias = p.bias != nullptr ? p.bias[n] : 0;
    for (int i = 0; i < p.count; ++i) {
      const int32_t x = static_cast<int32_t>(static_cast<uint32_t>(p.acc[i * p.acc_stride + n]) +
                                             static_cast<uint32_t>(bias));
      const int32_t v = RequantizeScalar(x, p.rq[n / 16], n % 16, /*ruy_rounding=*/false);
      p.c[i * p.c_stride + n] =
          static_cast<int8_t>(std::min(p.out.hi, std::max(p.out.lo, v)) + p.out.zero_point);
    }
  }
}

}  // namespace neon
}  // namespace uk
}  // namespace rt
}  // namespace edgeopt
