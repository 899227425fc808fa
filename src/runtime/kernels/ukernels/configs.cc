#include "src/runtime/kernels/ukernels/configs.h"

#include <utility>

#include "src/runtime/selective.h"

#if defined(EDGEOPT_HAVE_AVX512)
#include "src/runtime/kernels/ukernels/avx512/avx512_ukernels.h"
#endif
#if defined(EDGEOPT_HAVE_AVX2)
#include "src/runtime/kernels/ukernels/avx2/avx2_ukernels.h"
#endif
#if defined(EDGEOPT_HAVE_NEON)
#include "src/runtime/kernels/ukernels/neon/neon_configs.h"
#include "src/runtime/kernels/ukernels/neon/neon_ukernels.h"
#endif

namespace edgeopt {
namespace rt {
namespace uk {
namespace {

// Selective builds (selective.h): which microkernels the kept ops and kernel types use. A table
// entry is nullptr when none does: nothing references the microkernel then and it drops out at
// link time; the code that reads the tables falls back to the reference kernels on nullptr (and
// the ops refuse the types they left out first).
constexpr bool kGemmQD8 =
    TypeInBuild("CONV_2D", "hybrid") || TypeInBuild("FULLY_CONNECTED", "hybrid");
constexpr bool kDwS8 = TypeInBuild("DEPTHWISE_CONV_2D", "int8");
constexpr bool kDwU8 = TypeInBuild("DEPTHWISE_CONV_2D", "uint8");
constexpr bool kDwQD8 = TypeInBuild("DEPTHWISE_CONV_2D", "hybrid");
constexpr bool kAddS8 = TypeInBuild("ADD", "int8") || TypeInBuild("SUB", "int8");
constexpr bool kAddU8 = TypeInBuild("ADD", "uint8") || TypeInBuild("SUB", "uint8");
constexpr bool kMulS8 = TypeInBuild("MUL", "int8");
constexpr bool kMulU8 = TypeInBuild("MUL", "uint8");
constexpr bool kQuantS8 = TypeInBuild("QUANTIZE", "int8");  // requantize
constexpr bool kQuantU8 = TypeInBuild("QUANTIZE", "uint8");
constexpr bool kQuantF32S8 = kQuantS8 && TypeInBuild("QUANTIZE", "float32");  // float32 -> int8
constexpr bool kQuantF32U8 = kQuantU8 && TypeInBuild("QUANTIZE", "float32");
constexpr bool kQuantF32S16 =
    TypeInBuild("QUANTIZE", "int16") && TypeInBuild("QUANTIZE", "float32");
constexpr bool kRequantS8U8 = kQuantS8 && kQuantU8;  // either direction
constexpr bool kRequantS16S8 = kQuantS8 && TypeInBuild("QUANTIZE", "int16");
constexpr bool kDequantS8 = TypeInBuild("DEQUANTIZE", "int8");
constexpr bool kDequantU8 = TypeInBuild("DEQUANTIZE", "uint8");
constexpr bool kConvF32 = TypeInBuild("CONV_2D", "float32");  // the direct 3x3 kernels
constexpr bool kGemmS16 =
    TypeInBuild("CONV_2D", "int16") || TypeInBuild("FULLY_CONNECTED", "int16");
#define EDGEOPT_UK(kept, fn) ((kept) ? (fn) : nullptr)

#if defined(EDGEOPT_HAVE_AVX512)
namespace a5 = avx512;
constexpr QS8GemmConfig kQS8Avx512Vnni32 = {
    "qs8_igemm_12x32c4__avx512vnni",
    32,
    12,
    a5::qs8_igemm_minmax_ukernel_12x32c4__avx512vnni,
    a5::qs8_igemm_minmax_ukernel_1x32c4__avx512vnni,
    EDGEOPT_UK(kGemmQD8, a5::qd8_f32_igemm_minmax_ukernel_12x32c4__avx512vnni),
    EDGEOPT_UK(kGemmQD8, a5::qd8_f32_igemm_minmax_ukernel_1x32c4__avx512vnni),
    a5::xor80_copy_ukernel__avx512,
    a5::u8_rowsum_ukernel__avx512,
};
constexpr QS8GemmConfig kQS8Avx512Vnni16 = {
    "qs8_igemm_16x16c4__avx512vnni",
    16,
    16,
    a5::qs8_igemm_minmax_ukernel_16x16c4__avx512vnni,
    a5::qs8_igemm_minmax_ukernel_1x16c4__avx512vnni,
    EDGEOPT_UK(kGemmQD8, a5::qd8_f32_igemm_minmax_ukernel_16x16c4__avx512vnni),
    EDGEOPT_UK(kGemmQD8, a5::qd8_f32_igemm_minmax_ukernel_1x16c4__avx512vnni),
    a5::xor80_copy_ukernel__avx512,
    a5::u8_rowsum_ukernel__avx512,
};
// Layers of at most 8 channels: the same packing, two rows per vector for int8 output (hybrid
// layers and single rows: the kernels of kQS8Avx512Vnni16).
constexpr QS8GemmConfig kQS8Avx512Vnni8 = {
    "qs8_igemm_16x8c4__avx512vnni",
    16,
    16,
    a5::qs8_igemm_minmax_ukernel_16x8c4__avx512vnni,
    a5::qs8_igemm_minmax_ukernel_1x16c4__avx512vnni,
    EDGEOPT_UK(kGemmQD8, a5::qd8_f32_igemm_minmax_ukernel_16x16c4__avx512vnni),
    EDGEOPT_UK(kGemmQD8, a5::qd8_f32_igemm_minmax_ukernel_1x16c4__avx512vnni),
    a5::xor80_copy_ukernel__avx512,
    a5::u8_rowsum_ukernel__avx512,
};
constexpr F32GemmConfig kF32Avx512_32 = {"f32_igemm_12x32__avx512f",
                                         32,
                                         12,
                                         a5::f32_igemm_minmax_ukernel_12x32__avx512f,
                                         a5::f32_igemm_exact_ukernel_12x32__avx512f,
                                         a5::f32_gemv_exact_ukernel_1x32__avx512f};
constexpr F32GemmConfig kF32Avx512_64 = {"f32_igemm_6x64__avx512f",
                                         64,
                                         6,
                                         a5::f32_igemm_minmax_ukernel_6x64__avx512f,
                                         a5::f32_igemm_exact_ukernel_6x64__avx512f,
                                         a5::f32_gemv_exact_ukernel_1x64__avx512f};
constexpr F32GemmConfig kF32Avx512_16 = {"f32_igemm_16x16__avx512f",
                                         16,
                                         16,
                                         a5::f32_igemm_minmax_ukernel_16x16__avx512f,
                                         a5::f32_igemm_exact_ukernel_16x16__avx512f,
                                         a5::f32_gemv_exact_ukernel_1x16__avx512f};
constexpr F32Conv3x3Config kF32Conv3x3Avx512[2][2] = {
    {{"f32_conv3x3s1_16x16__avx512f", 16, 16, 1, a5::f32_conv3x3s1_minmax_ukernel_16x16__avx512f},
     {"f32_conv3x3s1_8x32__avx512f", 32, 8, 1, a5::f32_conv3x3s1_minmax_ukernel_8x32__avx512f}},
    {{"f32_conv3x3s2_16x16__avx512f", 16, 16, 2, a5::f32_conv3x3s2_minmax_ukernel_16x16__avx512f},
     {"f32_conv3x3s2_8x32__avx512f", 32, 8, 2, a5::f32_conv3x3s2_minmax_ukernel_8x32__avx512f}}};
constexpr QS8DwConfig kQS8DwAvx512 = {
    "qs8_dwconv_up32__avx512vnni",
    EDGEOPT_UK(kDwS8, a5::qs8_dwconv_minmax_ukernel_up32__avx512vnni),
    EDGEOPT_UK(kDwU8, a5::qu8_dwconv_minmax_ukernel_up32__avx512vnni),
    EDGEOPT_UK(kDwQD8, a5::qd8_f32_dwconv_minmax_ukernel_up16__avx512vnni)};
constexpr F32DwConfig kF32DwAvx512 = {"f32_dwconv_up32__avx512f",
                                      a5::f32_dwconv_minmax_ukernel_up32__avx512f};
constexpr QuantElementwiseConfig kQuantElementwiseAvx512 = {
    "q8_elementwise__avx512",
    {EDGEOPT_UK(kAddS8, a5::qs8_vadd_minmax_ukernel__avx512_u16),
     EDGEOPT_UK(kAddU8, a5::qu8_vadd_minmax_ukernel__avx512_u16)},
    {EDGEOPT_UK(kQuantF32S8, a5::f32_qs8_vcvt_ukernel__avx512_u16),
     EDGEOPT_UK(kQuantF32U8, a5::f32_qu8_vcvt_ukernel__avx512_u16)},
    {EDGEOPT_UK(kDequantS8, a5::qs8_f32_vcvt_ukernel__avx512_u16),
     EDGEOPT_UK(kDequantU8, a5::qu8_f32_vcvt_ukernel__avx512_u16)},
    {{EDGEOPT_UK(kQuantS8, a5::q8_requantize_ukernel__avx512_s8s8),
      EDGEOPT_UK(kRequantS8U8, a5::q8_requantize_ukernel__avx512_s8u8)},
     {EDGEOPT_UK(kRequantS8U8, a5::q8_requantize_ukernel__avx512_u8s8),
      EDGEOPT_UK(kQuantU8, a5::q8_requantize_ukernel__avx512_u8u8)}},
    EDGEOPT_UK(kQuantF32S16, a5::f32_qs16_vcvt_ukernel__avx512_u8),
    EDGEOPT_UK(kRequantS16S8, a5::qs16_qs8_requantize_ukernel__avx512)};
constexpr F32VBinaryConfig kF32VBinaryAvx512 = {
    "f32_vbinary_minmax__avx512f_u32", a5::f32_vadd_minmax_ukernel__avx512f_u32,
    a5::f32_vsub_minmax_ukernel__avx512f_u32, a5::f32_vmul_minmax_ukernel__avx512f_u32,
    a5::f32_vclamp_ukernel__avx512f_u32};
constexpr PoolConfig kPoolAvx512 = {
    "pool__avx512",
    {a5::f32_maxpool_minmax_ukernel__avx512f_c16, a5::s8_maxpool_minmax_ukernel__avx512bw_c64,
     a5::u8_maxpool_minmax_ukernel__avx512bw_c64},
    {a5::f32_avgpool_minmax_ukernel__avx512f_c16, a5::qs8_avgpool_minmax_ukernel__avx512f_c16,
     a5::qu8_avgpool_minmax_ukernel__avx512f_c16},
    a5::s16_maxpool_minmax_ukernel__avx512bw_c32};
constexpr DynamicQuantConfig kDynamicQuantAvx512 = {"f32_qd8_quantize__avx512f_u16",
                                                    a5::f32_range_ukernel__avx512f_u16,
                                                    a5::f32_qd8_vcvt_ukernel__avx512f_u16};
constexpr QuantMulConfig kQuantMulAvx512 = {
    "q8_vmul__avx512",
    {EDGEOPT_UK(kMulS8, a5::qs8_vmul_minmax_ukernel__avx512_u16),
     EDGEOPT_UK(kMulU8, a5::qu8_vmul_minmax_ukernel__avx512_u16)}};
#endif

#if defined(EDGEOPT_HAVE_AVX2)
namespace a2 = avx2;
constexpr QS8GemmConfig kQS8Avx2 = {
    "qs8_igemm_2x16c4__avx2",
    16,
    2,
    a2::qs8_igemm_minmax_ukernel_2x16c4__avx2,
    a2::qs8_igemm_minmax_ukernel_1x16c4__avx2,
    EDGEOPT_UK(kGemmQD8, a2::qd8_f32_igemm_minmax_ukernel_2x16c4__avx2),
    EDGEOPT_UK(kGemmQD8, a2::qd8_f32_igemm_minmax_ukernel_1x16c4__avx2),
    a2::xor80_copy_ukernel__avx2,
    a2::u8_rowsum_ukernel__avx2,
    2,
};
#if defined(EDGEOPT_HAVE_AVXVNNI)
constexpr QS8GemmConfig kQS8AvxVnni = {
    "qs8_igemm_6x16c4__avxvnni",
    16,
    6,
    a2::qs8_igemm_minmax_ukernel_6x16c4__avxvnni,
    a2::qs8_igemm_minmax_ukernel_1x16c4__avxvnni,
    EDGEOPT_UK(kGemmQD8, a2::qd8_f32_igemm_minmax_ukernel_6x16c4__avxvnni),
    EDGEOPT_UK(kGemmQD8, a2::qd8_f32_igemm_minmax_ukernel_1x16c4__avxvnni),
    a2::xor80_copy_ukernel__avx2,
    a2::u8_rowsum_ukernel__avx2,
};
#endif
constexpr F32GemmConfig kF32Avx2 = {"f32_igemm_6x16__avx2",
                                    16,
                                    6,
                                    a2::f32_igemm_minmax_ukernel_6x16__avx2,
                                    a2::f32_igemm_exact_ukernel_6x16__avx2,
                                    a2::f32_gemv_exact_ukernel_1x16__avx2};
constexpr QS8DwConfig kQS8DwAvx2 = {
    "qs8_dwconv_up8__avx2", EDGEOPT_UK(kDwS8, a2::qs8_dwconv_minmax_ukernel_up8__avx2),
    EDGEOPT_UK(kDwU8, a2::qu8_dwconv_minmax_ukernel_up8__avx2),
    EDGEOPT_UK(kDwQD8, a2::qd8_f32_dwconv_minmax_ukernel_up8__avx2)};
constexpr F32DwConfig kF32DwAvx2 = {"f32_dwconv_up8__avx2",
                                    a2::f32_dwconv_minmax_ukernel_up8__avx2};
constexpr QuantElementwiseConfig kQuantElementwiseAvx2 = {
    "q8_elementwise__avx2",
    {EDGEOPT_UK(kAddS8, a2::qs8_vadd_minmax_ukernel__avx2_u8),
     EDGEOPT_UK(kAddU8, a2::qu8_vadd_minmax_ukernel__avx2_u8)},
    {EDGEOPT_UK(kQuantF32S8, a2::f32_q8_vcvt_ukernel__avx2_u8),
     EDGEOPT_UK(kQuantF32U8, a2::f32_q8_vcvt_ukernel__avx2_u8)},
    {EDGEOPT_UK(kDequantS8, a2::qs8_f32_vcvt_ukernel__avx2_u8),
     EDGEOPT_UK(kDequantU8, a2::qu8_f32_vcvt_ukernel__avx2_u8)},
    {{EDGEOPT_UK(kQuantS8, a2::qs8_requantize_ukernel__avx2),
      EDGEOPT_UK(kRequantS8U8, a2::qs8_requantize_ukernel__avx2)},
     {EDGEOPT_UK(kRequantS8U8, a2::qu8_requantize_ukernel__avx2),
      EDGEOPT_UK(kQuantU8, a2::qu8_requantize_ukernel__avx2)}},
    EDGEOPT_UK(kQuantF32S16, a2::f32_qs16_vcvt_ukernel__avx2_u4),
    EDGEOPT_UK(kRequantS16S8, a2::qs16_qs8_requantize_ukernel__avx2)};
constexpr F32VBinaryConfig kF32VBinaryAvx2 = {
    "f32_vbinary_minmax__avx2_u16", a2::f32_vadd_minmax_ukernel__avx2_u16,
    a2::f32_vsub_minmax_ukernel__avx2_u16, a2::f32_vmul_minmax_ukernel__avx2_u16,
    a2::f32_vclamp_ukernel__avx2_u16};
constexpr PoolConfig kPoolAvx2 = {
    "pool__avx2",
    {a2::f32_maxpool_minmax_ukernel__avx2_c8, a2::s8_maxpool_minmax_ukernel__avx2_c32,
     a2::u8_maxpool_minmax_ukernel__avx2_c32},
    {a2::f32_avgpool_minmax_ukernel__avx2_c8, a2::qs8_avgpool_minmax_ukernel__avx2_c8,
     a2::qu8_avgpool_minmax_ukernel__avx2_c8},
    a2::s16_maxpool_minmax_ukernel__avx2_c16};
constexpr DynamicQuantConfig kDynamicQuantAvx2 = {
    "f32_qd8_quantize__avx2_u8", a2::f32_range_ukernel__avx2_u8, a2::f32_qd8_vcvt_ukernel__avx2_u8};
constexpr QuantMulConfig kQuantMulAvx2 = {
    "q8_vmul__avx2",
    {EDGEOPT_UK(kMulS8, a2::qs8_vmul_minmax_ukernel__avx2_u8),
     EDGEOPT_UK(kMulU8, a2::qu8_vmul_minmax_ukernel__avx2_u8)}};
#endif

#if defined(EDGEOPT_HAVE_AVX512)
bool HasAvx512Vnni(const CpuInfo& cpu) { return cpu.UseAvx512() && cpu.avx512vnni; }
#endif

#undef EDGEOPT_UK

}  // namespace

const QS8GemmConfig* GetQS8GemmConfig(const CpuInfo& cpu, int n) {
#if defined(EDGEOPT_HAVE_NEON)
  if (cpu.UseNeon()) return neon::QS8GemmConfigFor(cpu, n);
#endif
#if defined(EDGEOPT_HAVE_AVX512)
  if (HasAvx512Vnni(cpu)) {
    return n <= 8 ? &kQS8Avx512Vnni8 : (n <= 16 ? &kQS8Avx512Vnni16 : &kQS8Avx512Vnni32);
  }
#endif
#if defined(EDGEOPT_HAVE_AVXVNNI)
  if (cpu.UseAvxVnni()) return &kQS8AvxVnni;
#endif
#if defined(EDGEOPT_HAVE_AVX2)
  if (cpu.UseAvx2()) return &kQS8Avx2;
#endif
  (void)cpu;
  (void)n;
  return nullptr;
}

const F32GemmConfig* GetF32GemmConfig(const CpuInfo& cpu, int n) {
  if constexpr (!TypeInBuild("float32")) return nullptr;
#if defined(EDGEOPT_HAVE_NEON)
  if (cpu.UseNeon()) return neon::F32GemmConfigFor(cpu, n);
#endif
#if defined(EDGEOPT_HAVE_AVX512)
  if (cpu.UseAvx512()) {
    // The tile width that wastes least, weighted by each kernel's measured efficiency.
    const F32GemmConfig* best = nullptr;
    double best_score = 0;
    for (const auto& c : {std::make_pair(&kF32Avx512_64, 1.0), std::make_pair(&kF32Avx512_32, 0.97),
                          std::make_pair(&kF32Avx512_16, 0.77)}) {
      const int nr = c.first->nr;
      const double score = c.second * n / ((n + nr - 1) / nr * nr);
      if (score > best_score) {
        best_score = score;
        best = c.first;
      }
    }
    return best;
  }
#endif
#if defined(EDGEOPT_HAVE_AVX2)
  if (cpu.UseAvx2()) return &kF32Avx2;
#endif
  (void)cpu;
  (void)n;
  return nullptr;
}

const QS8DwConfig* GetQS8DwConfig(const CpuInfo& cpu) {
#if defined(EDGEOPT_HAVE_NEON)
  if (cpu.UseNeon()) return &neon::kQS8DwNeon;
#endif
#if defined(EDGEOPT_HAVE_AVX512)
  if (HasAvx512Vnni(cpu)) return &kQS8DwAvx512;
#endif
#if defined(EDGEOPT_HAVE_AVX2)
  if (cpu.UseAvx2()) return &kQS8DwAvx2;
#endif
  (void)cpu;
  return nullptr;
}

const F32Conv3x3Config* GetF32Conv3x3Config(const CpuInfo& cpu, int out_c, int stride) {
  if constexpr (!kConvF32) return nullptr;
  if (out_c < 1 || stride < 1 || stride > 2) return nullptr;
#if defined(EDGEOPT_HAVE_AVX512)
  if (cpu.UseAvx512() && out_c <= 32) return &kF32Conv3x3Avx512[stride - 1][out_c > 16];
#endif
#if defined(EDGEOPT_HAVE_AVX2)
  static constexpr F32Conv3x3Config kAvx2[2][2] = {
      {{"f32_conv3x3s1_8x8__avx2", 8, 8, 1, a2::f32_conv3x3s1_minmax_ukernel_8x8__avx2},
       {"f32_conv3x3s1_4x16__avx2", 16, 4, 1, a2::f32_conv3x3s1_minmax_ukernel_4x16__avx2}},
      {{"f32_conv3x3s2_8x8__avx2", 8, 8, 2, a2::f32_conv3x3s2_minmax_ukernel_8x8__avx2},
       {"f32_conv3x3s2_4x16__avx2", 16, 4, 2, a2::f32_conv3x3s2_minmax_ukernel_4x16__avx2}}};
  if (cpu.UseAvx2() && !cpu.UseAvx512() && out_c <= 16) return &kAvx2[stride - 1][out_c > 8];
#endif
  (void)cpu;
  return nullptr;
}

F32PwFewFn GetF32PwFewFn(const CpuInfo& cpu) {
  if constexpr (!TypeInBuild("float32")) return nullptr;
#if defined(EDGEOPT_HAVE_NEON)
  if (cpu.UseNeon()) return neon::f32_pw_few_ukernel__neon;
#endif
#if defined(EDGEOPT_HAVE_AVX2)
  if (cpu.UseAvx2()) return a2::f32_pw_few_ukernel__avx2;
#endif
  (void)cpu;
  return nullptr;
}

#if defined(EDGEOPT_HAVE_AVX2)
constexpr QS8RequantRowsFn kQS8RequantRowsAvx2 = a2::qs8_requant_rows_ukernel__avx2;
#else
constexpr QS8RequantRowsFn kQS8RequantRowsAvx2 = nullptr;
#endif

const S16GemmConfig* GetS16GemmConfig(const CpuInfo& cpu) {
  if constexpr (!kGemmS16) return nullptr;
#if defined(EDGEOPT_HAVE_NEON)
  static constexpr S16GemmConfig kNeon = {"s16_gemm__neon",
                                          neon::s16_gemm_ukernel__neon,
                                          nullptr,
                                          0,
                                          neon::s16_requant_narrow_ukernel__neon,
                                          neon::qs8_requant_rows_ukernel__neon};
  if (cpu.UseNeon()) return &kNeon;
#endif
#if defined(EDGEOPT_HAVE_AVX512)
  // The int8 rows output stage is the AVX2 one (a small part of a TRANSPOSE_CONV: one kernel
  // less in the runtime).
  static constexpr S16GemmConfig kAvx512 = {
      "s16_gemm_packed__avx512vnni",          a5::s16_gemm_packed_ukernel__avx512vnni,
      a5::s16_requant_ukernel__avx512,        16,
      a5::s16_requant_narrow_ukernel__avx512, kQS8RequantRowsAvx2};
  if (HasAvx512Vnni(cpu)) return &kAvx512;
#endif
#if defined(EDGEOPT_HAVE_AVX2)
  static constexpr S16GemmConfig kAvx2 = {"s16_gemm_packed__avx2",
                                          a2::s16_gemm_packed_ukernel__avx2,
                                          nullptr,
                                          8,
                                          a2::s16_requant_narrow_ukernel__avx2,
                                          a2::qs8_requant_rows_ukernel__avx2};
  if (cpu.UseAvx2()) return &kAvx2;
#endif
  (void)cpu;
  return nullptr;
}

const F32DwConfig* GetF32DwConfig(const CpuInfo& cpu) {
  if constexpr (!TypeInBuild("float32")) return nullptr;
#if defined(EDGEOPT_HAVE_NEON)
  if (cpu.UseNeon()) return &neon::kF32DwNeon;
#endif
#if defined(EDGEOPT_HAVE_AVX512)
  if (cpu.UseAvx512()) return &kF32DwAvx512;
#endif
#if defined(EDGEOPT_HAVE_AVX2)
  if (cpu.UseAvx2()) return &kF32DwAvx2;
#endif
  (void)cpu;
  return nullptr;
}

const QuantElementwiseConfig* GetQuantElementwiseConfig(const CpuInfo& cpu) {
#if defined(EDGEOPT_HAVE_NEON)
  if (cpu.UseNeon()) return &neon::kQuantElementwiseNeon;
#endif
#if defined(EDGEOPT_HAVE_AVX512)
  if (cpu.UseAvx512()) return &kQuantElementwiseAvx512;
#endif
#if defined(EDGEOPT_HAVE_AVX2)
  if (cpu.UseAvx2()) return &kQuantElementwiseAvx2;
#endif
  (void)cpu;
  return nullptr;
}

const F32VBinaryConfig* GetF32VBinaryConfig(const CpuInfo& cpu) {
  if constexpr (!TypeInBuild("float32")) return nullptr;
#if defined(EDGEOPT_HAVE_AVX512)
  if (cpu.UseAvx512()) return &kF32VBinaryAvx512;
#endif
#if defined(EDGEOPT_HAVE_AVX2)
  if (cpu.UseAvx2()) return &kF32VBinaryAvx2;
#endif
  (void)cpu;
  return nullptr;
}

const PoolConfig* GetPoolConfig(const CpuInfo& cpu) {
#if defined(EDGEOPT_HAVE_AVX512)
  if (cpu.UseAvx512()) return &kPoolAvx512;
#endif
#if defined(EDGEOPT_HAVE_AVX2)
  if (cpu.UseAvx2()) return &kPoolAvx2;
#endif
  (void)cpu;
  return nullptr;
}

const ResizeConfig* GetResizeConfig(const CpuInfo& cpu) {
  if constexpr (!TypeInBuild("int8")) return nullptr;
#if defined(EDGEOPT_HAVE_AVX2)
  static constexpr ResizeConfig kAvx2 = {"resize_s8__avx2", a2::resize_row_s8_ukernel__avx2,
                                         a2::resize_mix_s8_ukernel__avx2};
  if (cpu.UseAvx2()) return &kAvx2;
#endif
  (void)cpu;
  return nullptr;
}

const DynamicQuantConfig* GetDynamicQuantConfig(const CpuInfo& cpu) {
  if constexpr (!TypeInBuild("hybrid")) return nullptr;
#if defined(EDGEOPT_HAVE_AVX512)
  if (cpu.UseAvx512()) return &kDynamicQuantAvx512;
#endif
#if defined(EDGEOPT_HAVE_AVX2)
  if (cpu.UseAvx2()) return &kDynamicQuantAvx2;
#endif
  (void)cpu;
  return nullptr;
}

const QuantMulConfig* GetQuantMulConfig(const CpuInfo& cpu) {
#if defined(EDGEOPT_HAVE_AVX512)
  if (cpu.UseAvx512()) return &kQuantMulAvx512;
#endif
#if defined(EDGEOPT_HAVE_AVX2)
  if (cpu.UseAvx2()) return &kQuantMulAvx2;
#endif
  (void)cpu;
  return nullptr;
}

}  // namespace uk
}  // namespace rt
}  // namespace edgeopt
