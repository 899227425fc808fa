// The NEON microkernels (aarch64, and armv7 with NEON), called through configs.h only.
// Tiles: aarch64 has 32 vector registers, armv7 16, so the row tiles (MR) differ per target;
// the packed layouts are the shared ones of ukernels.h.
#ifndef EDGEOPT_SRC_RUNTIME_KERNELS_UKERNELS_NEON_NEON_UKERNELS_H_
#define EDGEOPT_SRC_RUNTIME_KERNELS_UKERNELS_NEON_NEON_UKERNELS_H_

#include "src/runtime/kernels/ukernels/ukernels.h"

namespace edgeopt {
namespace rt {
namespace uk {
namespace neon {

// qs8 / qd8 IGEMM, c4 packing with NR = 16, widening multiply-accumulate (no dot product).
void qs8_igemm_minmax_ukernel_4x16c4__neon_mlal(const QS8IGemmArgs& p);
void qs8_igemm_minmax_ukernel_2x16c4__neon_mlal(const QS8IGemmArgs& p);
void qs8_igemm_minmax_ukernel_1x16c4__neon_mlal(const QS8IGemmArgs& p);
void qd8_f32_igemm_minmax_ukernel_4x16c4__neon_mlal(const QD8IGemmArgs& p);
void qd8_f32_igemm_minmax_ukernel_2x16c4__neon_mlal(const QD8IGemmArgs& p);
void qd8_f32_igemm_minmax_ukernel_1x16c4__neon_mlal(const QD8IGemmArgs& p);
// At most 8 channels (the same packing): the first two vectors of 4 channels only.
void qs8_igemm_minmax_ukernel_4x8c4__neon_mlal(const QS8IGemmArgs& p);
void qs8_igemm_minmax_ukernel_2x8c4__neon_mlal(const QS8IGemmArgs& p);
void qd8_f32_igemm_minmax_ukernel_4x8c4__neon_mlal(const QD8IGemmArgs& p);
void qd8_f32_igemm_minmax_ukernel_2x8c4__neon_mlal(const QD8IGemmArgs& p);
#if defined(__aarch64__)
// The same with SDOT (aarch64 dot-product extension, HWCAP_ASIMDDP).
void qs8_igemm_minmax_ukernel_4x16c4__neondot(const QS8IGemmArgs& p);
void qs8_igemm_minmax_ukernel_1x16c4__neondot(const QS8IGemmArgs& p);
void qd8_f32_igemm_minmax_ukernel_4x16c4__neondot(const QD8IGemmArgs& p);
void qd8_f32_igemm_minmax_ukernel_1x16c4__neondot(const QD8IGemmArgs& p);
void qs8_igemm_minmax_ukernel_4x8c4__neondot(const QS8IGemmArgs& p);
void qd8_f32_igemm_minmax_ukernel_4x8c4__neondot(const QD8IGemmArgs& p);
#endif

// f32 IGEMM (FMA), the bit-exact variants (no FMA, reference order) and the exact GEMV.
void f32_igemm_minmax_ukernel_6x8__neonfma(const F32IGemmArgs& p);
void f32_igemm_minmax_ukernel_4x16__neonfma(const F32IGemmArgs& p);
void f32_igemm_minmax_ukernel_4x8__neonfma(const F32IGemmArgs& p);
void f32_igemm_exact_ukernel_6x8__neon(const F32IGemmArgs& p);
void f32_igemm_exact_ukernel_4x16__neon(const F32IGemmArgs& p);
void f32_igemm_exact_ukernel_4x8__neon(const F32IGemmArgs& p);
void f32_gemv_exact_ukernel_1x8__neon(const F32IGemmArgs& p);
void f32_gemv_exact_ukernel_1x16__neon(const F32IGemmArgs& p);
// Pointwise convolution to at most 4 channels (F32PwFewArgs).
void f32_pw_few_ukernel__neon(const F32PwFewArgs& p);

// Depthwise.
void qs8_dwconv_minmax_ukernel_up16__neon_mlal(const QS8DwArgs& p);
void qu8_dwconv_minmax_ukernel_up16__neon_mlal(const QS8DwArgs& p);
void qd8_f32_dwconv_minmax_ukernel_up16__neon_mlal(const QD8DwArgs& p);
void f32_dwconv_minmax_ukernel_up16__neon(const F32DwArgs& p);

// Quantized element-wise.
void qs8_vadd_minmax_ukernel__neon_u16(size_t n, const void* a, const void* b, bool b_scalar,
                                       void* out, const QS8VAddParams* p);
void qu8_vadd_minmax_ukernel__neon_u16(size_t n, const void* a, const void* b, bool b_scalar,
                                       void* out, const QS8VAddParams* p);
void f32_qs8_vcvt_ukernel__neon_u16(size_t n, const float* x, void* out,
                                    const F32QuantizeParams* p);
void f32_qu8_vcvt_ukernel__neon_u16(size_t n, const float* x, void* out,
                                    const F32QuantizeParams* p);
void qs8_f32_vcvt_ukernel__neon_u16(size_t n, const void* x, float* out, float scale,
                                    int32_t zero_point);
void qu8_f32_vcvt_ukernel__neon_u16(size_t n, const void* x, float* out, float scale,
                                    int32_t zero_point);
void qs16_qs8_requantize_ukernel__neon(size_t n, const void* x, void* out,
                                       const Q8RequantizeParams* p);
void q8_requantize_ukernel__neon_s8s8(size_t n, const void* x, void* out,
                                      const Q8RequantizeParams* p);
void q8_requantize_ukernel__neon_s8u8(size_t n, const void* x, void* out,
                                      const Q8RequantizeParams* p);
void q8_requantize_ukernel__neon_u8s8(size_t n, const void* x, void* out,
                                      const Q8RequantizeParams* p);
void q8_requantize_ukernel__neon_u8u8(size_t n, const void* x, void* out,
                                      const Q8RequantizeParams* p);

// Helpers of the qs8 operators.
void xor80_copy_ukernel__neon(const int8_t* src, uint8_t* dst, size_t n);
void u8_rowsum_ukernel__neon(const uint8_t* src, int pixels, int channels, ptrdiff_t stride,
                             int32_t* sums);

void s16_gemm_ukernel__neon(int M, int N, int K, const int16_t* a, ptrdiff_t lda, const int16_t* b,
                            int32_t* c, ptrdiff_t ldc);
void s16_requant_narrow_ukernel__neon(const S16RequantNarrowArgs& p);
void qs8_requant_rows_ukernel__neon(const QS8RequantRowsArgs& p);

}  // namespace neon
}  // namespace uk
}  // namespace rt
}  // namespace edgeopt

#endif  // EDGEOPT_SRC_RUNTIME_KERNELS_UKERNELS_NEON_NEON_UKERNELS_H_
