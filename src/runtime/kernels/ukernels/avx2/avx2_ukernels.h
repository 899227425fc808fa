// The AVX2/FMA microkernels (compiled with the AVX2 flags, called through configs.h only).
#ifndef EDGEOPT_SRC_RUNTIME_KERNELS_UKERNELS_AVX2_AVX2_UKERNELS_H_
#define EDGEOPT_SRC_RUNTIME_KERNELS_UKERNELS_AVX2_AVX2_UKERNELS_H_

#include "src/runtime/kernels/ukernels/ukernels.h"

namespace edgeopt {
namespace rt {
namespace uk {
namespace avx2 {

// Integer GEMM on int16-widened weights (QS8GemmConfig::weight_bytes == 2), NR = 16.
void qs8_igemm_minmax_ukernel_2x16c4__avx2(const QS8IGemmArgs& p);
void qs8_igemm_minmax_ukernel_1x16c4__avx2(const QS8IGemmArgs& p);
void qd8_f32_igemm_minmax_ukernel_2x16c4__avx2(const QD8IGemmArgs& p);
void qd8_f32_igemm_minmax_ukernel_1x16c4__avx2(const QD8IGemmArgs& p);
#if defined(EDGEOPT_HAVE_AVXVNNI)
// ../avxvnni/qs8_igemm_avxvnni.cc (AVX2 + AVX-VNNI; the AVX-512 VNNI kernels' c4 packing).
void qs8_igemm_minmax_ukernel_6x16c4__avxvnni(const QS8IGemmArgs& p);
void qs8_igemm_minmax_ukernel_1x16c4__avxvnni(const QS8IGemmArgs& p);
void qd8_f32_igemm_minmax_ukernel_6x16c4__avxvnni(const QD8IGemmArgs& p);
void qd8_f32_igemm_minmax_ukernel_1x16c4__avxvnni(const QD8IGemmArgs& p);
#endif

void f32_igemm_minmax_ukernel_6x16__avx2(const F32IGemmArgs& p);
void f32_igemm_exact_ukernel_6x16__avx2(const F32IGemmArgs& p);
void f32_gemv_exact_ukernel_1x16__avx2(const F32IGemmArgs& p);
// Pointwise convolution to at most 4 channels (F32PwFewArgs).
void f32_pw_few_ukernel__avx2(const F32PwFewArgs& p);

void qs8_dwconv_minmax_ukernel_up8__avx2(const QS8DwArgs& p);
void qu8_dwconv_minmax_ukernel_up8__avx2(const QS8DwArgs& p);
void qd8_f32_dwconv_minmax_ukernel_up8__avx2(const QD8DwArgs& p);
void f32_dwconv_minmax_ukernel_up8__avx2(const F32DwArgs& p);

void qs8_vadd_minmax_ukernel__avx2_u8(size_t n, const void* a, const void* b, bool b_scalar,
                                      void* out, const QS8VAddParams* p);
void qu8_vadd_minmax_ukernel__avx2_u8(size_t n, const void* a, const void* b, bool b_scalar,
                                      void* out, const QS8VAddParams* p);
void f32_q8_vcvt_ukernel__avx2_u8(size_t n, const float* x, void* out, const F32QuantizeParams* p);
void f32_qs16_vcvt_ukernel__avx2_u4(size_t n, const float* x, void* out,
                                    const F32QuantizeParams* p);
void qs8_f32_vcvt_ukernel__avx2_u8(size_t n, const void* x, float* out, float scale,
                                   int32_t zero_point);
void qu8_f32_vcvt_ukernel__avx2_u8(size_t n, const void* x, float* out, float scale,
                                   int32_t zero_point);
void qs8_requantize_ukernel__avx2(size_t n, const void* x, void* out, const Q8RequantizeParams* p);
void qs16_qs8_requantize_ukernel__avx2(size_t n, const void* x, void* out,
                                       const Q8RequantizeParams* p);
void qu8_requantize_ukernel__avx2(size_t n, const void* x, void* out, const Q8RequantizeParams* p);

void xor80_copy_ukernel__avx2(const int8_t* src, uint8_t* dst, size_t n);
void u8_rowsum_ukernel__avx2(const uint8_t* src, int pixels, int channels, ptrdiff_t stride,
                             int32_t* sums);

void f32_vadd_minmax_ukernel__avx2_u16(size_t n, const float* a, const float* b, bool b_scalar,
                                       float* out, const F32MinMaxParams* p);
void f32_vsub_minmax_ukernel__avx2_u16(size_t n, const float* a, const float* b, bool b_scalar,
                                       float* out, const F32MinMaxParams* p);
void f32_vmul_minmax_ukernel__avx2_u16(size_t n, const float* a, const float* b, bool b_scalar,
                                       float* out, const F32MinMaxParams* p);

void f32_maxpool_minmax_ukernel__avx2_c8(const PoolArgs& p);
void s8_maxpool_minmax_ukernel__avx2_c32(const PoolArgs& p);
void u8_maxpool_minmax_ukernel__avx2_c32(const PoolArgs& p);
void s16_maxpool_minmax_ukernel__avx2_c16(const PoolArgs& p);
void f32_avgpool_minmax_ukernel__avx2_c8(const PoolArgs& p);
void qs8_avgpool_minmax_ukernel__avx2_c8(const PoolArgs& p);
void qu8_avgpool_minmax_ukernel__avx2_c8(const PoolArgs& p);

void f32_vclamp_ukernel__avx2_u16(size_t n, const float* x, float* out, const F32MinMaxParams* p);

void f32_range_ukernel__avx2_u8(size_t n, const float* x, float init_min, float init_max,
                                float* min, float* max);
void f32_qd8_vcvt_ukernel__avx2_u8(size_t n, const float* x, int8_t* q, float inverse,
                                   float zero_point, float qmin);

void qs8_vmul_minmax_ukernel__avx2_u8(size_t n, const void* a, const void* b, bool b_scalar,
                                      void* out, const QS8VMulParams* p);
void qu8_vmul_minmax_ukernel__avx2_u8(size_t n, const void* a, const void* b, bool b_scalar,
                                      void* out, const QS8VMulParams* p);

// B packed by PackS16Weights with nr = 8.
void s16_gemm_packed_ukernel__avx2(int M, int N, int K, const int16_t* a, ptrdiff_t lda,
                                   const int16_t* b, int32_t* c, ptrdiff_t ldc);
void s16_requant_narrow_ukernel__avx2(const S16RequantNarrowArgs& p);
void qs8_requant_rows_ukernel__avx2(const QS8RequantRowsArgs& p);
void resize_row_s8_ukernel__avx2(const int8_t* src, int depth, int width, const ResizeTap* taps,
                                 int32_t* h);
void resize_mix_s8_ukernel__avx2(size_t n, const int32_t* top, const int32_t* bottom, int32_t w1,
                                 int8_t* out);

void f32_conv3x3s1_minmax_ukernel_8x8__avx2(const F32Conv3x3Args& p);
void f32_conv3x3s1_minmax_ukernel_4x16__avx2(const F32Conv3x3Args& p);
void f32_conv3x3s2_minmax_ukernel_8x8__avx2(const F32Conv3x3Args& p);
void f32_conv3x3s2_minmax_ukernel_4x16__avx2(const F32Conv3x3Args& p);

}  // namespace avx2
}  // namespace uk
}  // namespace rt
}  // namespace edgeopt

#endif  // EDGEOPT_SRC_RUNTIME_KERNELS_UKERNELS_AVX2_AVX2_UKERNELS_H_
