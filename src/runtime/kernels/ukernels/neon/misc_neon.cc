// Element-wise helpers of the qs8 operators with NEON: the int8 -> u-domain copy and per-row
// byte sums.
#include <arm_neon.h>

#include "src/runtime/kernels/ukernels/neon/neon_ukernels.h"
#include "src/runtime/kernels/ukernels/neon/requant_neon.h"

namespace edgeopt {
namespace rt {
namespace uk {
namespace neon {

void xor80_copy_ukernel__neon(const int8_t* src, uint8_t* dst, size_t n) {
  const uint8x16_t flip = vdupq_n_u8(0x80);
  const uint8_t* s = reinterpret_cast<const uint8_t*>(src);
  size_t i = 0;
  for (; i + 64 <= n; i += 64) {
    // (armv7 GCC 12 has no vld1q_u8_x4.)
    const uint8x16_t v0 = vld1q_u8(s + i), v1 = vld1q_u8(s + i + 16);
    const uint8x16_t v2 = vld1q_u8(s + i + 32), v3 = vld1q_u8(s + i + 48);
    vst1q_u8(dst + i, veorq_u8(v0, flip));
    vst1q_u8(dst + i + 16, veorq_u8(v1, flip));
    vst1q_u8(dst + i + 32, veorq_u8(v2, flip));
    vst1q_u8(dst + i + 48, veorq_u8(v3, flip));
  }
  for (; i + 16 <= n; i += 16) vst1q_u8(dst + i, veorq_u8(vld1q_u8(s + i), flip));
  for (; i < n; ++i) dst[i] = static_cast<uint8_t>(s[i] ^ 0x80);
}

void u8_rowsum_ukernel__neon(const uint8_t* src, int pixels, int channels, ptrdiff_t stride,
                             int32_t* sums) {
  for (int p = 0; p < pixels; ++p) {
    const uint8_t* s = src + p * stride;
    uint32x4_t acc = vdupq_n_u32(0);
    int c = 0;
    for (; c + 16 <= channels; c += 16) acc = vpadalq_u16(acc, vpaddlq_u8(vld1q_u8(s + c)));
    uint32_t sum = HorizontalSum(acc);
    for (; c < channels; ++c) sum += s[c];
    sums[p] = static_cast<int32_t>(sum);
  }
}

}  // namespace neon
}  // namespace uk
}  // namespace rt
}  // namespace edgeopt
