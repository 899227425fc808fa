#include "src/runtime/kernels/ukernels/neon/neon_configs.h"

#include "src/runtime/kernels/ukernels/neon/neon_ukernels.h"

namespace edgeopt {
namespace rt {
namespace uk {
namespace neon {
namespace {

// Row tiles: aarch64 has 32 vector registers, armv7 16. (Chosen from register counts; speed
// was not measured on Arm hardware.)
#if defined(__aarch64__)
constexpr QS8GemmConfig kQS8Neon = {
    "qs8_igemm_4x16c4__neon_mlal",
    16,
    4,
    qs8_igemm_minmax_ukernel_4x16c4__neon_mlal,
    qs8_igemm_minmax_ukernel_1x16c4__neon_mlal,
    qd8_f32_igemm_minmax_ukernel_4x16c4__neon_mlal,
    qd8_f32_igemm_minmax_ukernel_1x16c4__neon_mlal,
    xor80_copy_ukernel__neon,
    u8_rowsum_ukernel__neon,
};
constexpr QS8GemmConfig kQS8NeonDot = {
    "qs8_igemm_4x16c4__neondot",
    16,
    4,
    qs8_igemm_minmax_ukernel_4x16c4__neondot,
    qs8_igemm_minmax_ukernel_1x16c4__neondot,
    qd8_f32_igemm_minmax_ukernel_4x16c4__neondot,
    qd8_f32_igemm_minmax_ukernel_1x16c4__neondot,
    xor80_copy_ukernel__neon,
    u8_rowsum_ukernel__neon,
};
// Layers of at most 8 channels: the same packing, the first 8 channels of each block only
// (half the multiply-accumulates and output stages of the 16-channel kernels).
constexpr QS8GemmConfig kQS8Neon8 = {
    "qs8_igemm_4x8c4__neon_mlal",
    16,
    4,
    qs8_igemm_minmax_ukernel_4x8c4__neon_mlal,
    qs8_igemm_minmax_ukernel_1x16c4__neon_mlal,
    qd8_f32_igemm_minmax_ukernel_4x8c4__neon_mlal,
    qd8_f32_igemm_minmax_ukernel_1x16c4__neon_mlal,
    xor80_copy_ukernel__neon,
    u8_rowsum_ukernel__neon,
};
constexpr QS8GemmConfig kQS8NeonDot8 = {
    "qs8_igemm_4x8c4__neondot",
    16,
    4,
    qs8_igemm_minmax_ukernel_4x8c4__neondot,
    qs8_igemm_minmax_ukernel_1x16c4__neondot,
    qd8_f32_igemm_minmax_ukernel_4x8c4__neondot,
    qd8_f32_igemm_minmax_ukernel_1x16c4__neondot,
    xor80_copy_ukernel__neon,
    u8_rowsum_ukernel__neon,
};
constexpr F32GemmConfig kF32Neon8 = {"f32_igemm_6x8__neonfma",
                                     8,
                                     6,
                                     f32_igemm_minmax_ukernel_6x8__neonfma,
                                     f32_igemm_exact_ukernel_6x8__neon,
                                     f32_gemv_exact_ukernel_1x8__neon};
constexpr F32GemmConfig kF32Neon16 = {"f32_igemm_4x16__neonfma",
                                      16,
                                      4,
                                      f32_igemm_minmax_ukernel_4x16__neonfma,
                                      f32_igemm_exact_ukernel_4x16__neon,
                                      f32_gemv_exact_ukernel_1x16__neon};
#else
constexpr QS8GemmConfig kQS8Neon = {
    "qs8_igemm_2x16c4__neon_mlal",
    16,
    2,
    qs8_igemm_minmax_ukernel_2x16c4__neon_mlal,
    qs8_igemm_minmax_ukernel_1x16c4__neon_mlal,
    qd8_f32_igemm_minmax_ukernel_2x16c4__neon_mlal,
    qd8_f32_igemm_minmax_ukernel_1x16c4__neon_mlal,
    xor80_copy_ukernel__neon,
    u8_rowsum_ukernel__neon,
};
constexpr QS8GemmConfig kQS8Neon8 = {
    "qs8_igemm_2x8c4__neon_mlal",
    16,
    2,
    qs8_igemm_minmax_ukernel_2x8c4__neon_mlal,
    qs8_igemm_minmax_ukernel_1x16c4__neon_mlal,
    qd8_f32_igemm_minmax_ukernel_2x8c4__neon_mlal,
    qd8_f32_igemm_minmax_ukernel_1x16c4__neon_mlal,
    xor80_copy_ukernel__neon,
    u8_rowsum_ukernel__neon,
};
constexpr F32GemmConfig kF32Neon8 = {"f32_igemm_4x8__neonfma",
                                     8,
                                     4,
                                     f32_igemm_minmax_ukernel_4x8__neonfma,
                                     f32_igemm_exact_ukernel_4x8__neon,
                                     f32_gemv_exact_ukernel_1x8__neon};
#endif

}  // namespace

const QS8DwConfig kQS8DwNeon = {
    "qs8_dwconv_up16__neon_mlal", qs8_dwconv_minmax_ukernel_up16__neon_mlal,
    qu8_dwconv_minmax_ukernel_up16__neon_mlal, qd8_f32_dwconv_minmax_ukernel_up16__neon_mlal};
const F32DwConfig kF32DwNeon = {"f32_dwconv_up16__neon", f32_dwconv_minmax_ukernel_up16__neon};
const QuantElementwiseConfig kQuantElementwiseNeon = {
    "q8_elementwise__neon",
    {qs8_vadd_minmax_ukernel__neon_u16, qu8_vadd_minmax_ukernel__neon_u16},
    {f32_qs8_vcvt_ukernel__neon_u16, f32_qu8_vcvt_ukernel__neon_u16},
    {qs8_f32_vcvt_ukernel__neon_u16, qu8_f32_vcvt_ukernel__neon_u16},
    {{q8_requantize_ukernel__neon_s8s8, q8_requantize_ukernel__neon_s8u8},
     {q8_requantize_ukernel__neon_u8s8, q8_requantize_ukernel__neon_u8u8}},
    nullptr,
    qs16_qs8_requantize_ukernel__neon};

const QS8GemmConfig* QS8GemmConfigFor(const CpuInfo& cpu, int n) {
#if defined(__aarch64__)
  if (cpu.neon_dotprod) return n <= 8 ? &kQS8NeonDot8 : &kQS8NeonDot;
#else
  (void)cpu;
#endif
  return n <= 8 ? &kQS8Neon8 : &kQS8Neon;
}

const F32GemmConfig* F32GemmConfigFor(const CpuInfo& cpu, int n) {
  (void)cpu;
#if defined(__aarch64__)
  // The 16-wide tile when it wastes no more columns than the 8-wide one.
  const int waste16 = (16 - n % 16) % 16;
  const int waste8 = (8 - n % 8) % 8;
  return waste16 <= waste8 ? &kF32Neon16 : &kF32Neon8;
#else
  (void)n;
  return &kF32Neon8;
#endif
}

}  // namespace neon
}  // namespace uk
}  // namespace rt
}  // namespace edgeopt
