// Per-op microkernel configurations, chosen once from the CPU features (XNNPACK's configs/).
// Every getter returns nullptr when no microkernel applies: the op then runs its reference
// kernel (the scalar fallback). EDGEOPT_CPU=scalar|avx2 caps the level (cpu_info.h).
#ifndef EDGEOPT_SRC_RUNTIME_KERNELS_UKERNELS_CONFIGS_H_
#define EDGEOPT_SRC_RUNTIME_KERNELS_UKERNELS_CONFIGS_H_

#include "src/runtime/cpu_info.h"
#include "src/runtime/kernels/ukernels/ukernels.h"

namespace edgeopt {
namespace rt {
namespace uk {

// Integer GEMM (qs8: int8/uint8 output with ruy rounding; qd8: float output). Both kernels
// read the same packing (nr channels per block, kr = 4).
struct QS8GemmConfig {
  const char* name;
  int nr;
  int mr;                // rows of `igemm`
  QS8IGemmFn igemm;      // mr rows
  QS8IGemmFn igemm_1;    // one row (GEMV)
  QD8IGemmFn qd8_igemm;  // mr rows, float output
  QD8IGemmFn qd8_igemm_1;
  XorCopyFn xor_copy;
  RowSumFn row_sum;
  // Packed weight width: 1 (int8, k4 groups for dot-product instructions) or 2 (widened to int16
  // for kernels without them; PackQS8Gemm's weight_bytes). Last, so configs may omit it.
  int weight_bytes = 1;
};

struct F32GemmConfig {
  const char* name;
  int nr;
  int mr;
  F32IGemmFn igemm;
  // mr rows, bit-exact with ref::GemmF32 (k order, no FMA, bias last); for exact_float().
  F32IGemmFn igemm_exact;
  // One row, bit-exact with ref::GemvF32 (memory-bound: always used for single rows).
  F32IGemmFn gemv_exact;
};

struct QS8DwConfig {
  const char* name;
  QS8DwFn s8;   // int8 activations
  QS8DwFn u8;   // uint8 activations
  QD8DwFn qd8;  // hybrid (float output)
};

// s16 GEMM for 16x8 convolutions.
struct S16GemmConfig {
  const char* name;
  S16GemmFn gemm;
  S16RequantFn requant;  // the int64-rounding output stage; null: the scalar reference one
  // 0: B is [N][K]. Else B is packed in blocks of nr columns (PackS16Weights): the kernel
  // broadcasts pairs of A and multiplies them with nr column pairs at a time.
  int nr = 0;
  S16RequantNarrowFn requant_narrow = nullptr;  // when acc + bias fits in int32; null: none
  QS8RequantRowsFn requant_s8 = nullptr;        // int8 TRANSPOSE_CONV's output stage
};

// f32 direct 3x3 convolution (stride 1 or 2) for layers of at most `nr` output channels.
struct F32Conv3x3Config {
  const char* name;
  int nr;
  int mr;      // output pixels per call
  int stride;  // along rows and columns
  F32Conv3x3Fn conv;
};

struct F32DwConfig {
  const char* name;
  F32DwFn dw;
};

// Quantized element-wise ops; index [0] int8, [1] uint8.
struct QuantElementwiseConfig {
  const char* name;
  QS8VAddFn vadd[2];
  F32QuantizeFn quantize[2];
  DequantizeFn dequantize[2];
  Q8RequantizeFn requantize[2][2];             // [input uint8][output uint8]
  F32QuantizeFn quantize_s16 = nullptr;        // float32 -> int16
  Q8RequantizeFn requantize_s16_s8 = nullptr;  // int16 -> int8 (int8 models with int16 layers)
};

// Float ADD/SUB/MUL with the fused activation clamp; the clamp alone (RELU family).
struct F32VBinaryConfig {
  const char* name;
  F32VBinaryFn vadd;
  F32VBinaryFn vsub;
  F32VBinaryFn vmul;
  F32VClampFn vclamp;
};

// MAX_POOL_2D / AVERAGE_POOL_2D; index [0] float, [1] int8, [2] uint8; and the int16 max. The
// integer average kernels need windows of at most kPoolMaxAvgWindow pixels (their division is
// exact there).
constexpr int kPoolMaxAvgWindow = 1024;
struct PoolConfig {
  const char* name;
  PoolFn max[3];
  PoolFn avg[3];
  PoolFn max_s16;
};

// Run-time quantization of float inputs (hybrid CONV_2D, DEPTHWISE_CONV_2D, FULLY_CONNECTED).
struct DynamicQuantConfig {
  const char* name;
  F32RangeFn range;
  F32QD8QuantizeFn quantize;
};

// Quantized MUL; index [0] int8, [1] uint8.
struct QuantMulConfig {
  const char* name;
  QS8VMulFn vmul[2];
};

// int8 RESIZE_BILINEAR's two passes.
struct ResizeConfig {
  const char* name;
  ResizeRowS8Fn row_s8;
  ResizeMixS8Fn mix_s8;
};

// `n` is the number of output channels (narrow layers get a narrower tile).
const QS8GemmConfig* GetQS8GemmConfig(const CpuInfo& cpu, int n);
const F32GemmConfig* GetF32GemmConfig(const CpuInfo& cpu, int n);
const QS8DwConfig* GetQS8DwConfig(const CpuInfo& cpu);
const F32DwConfig* GetF32DwConfig(const CpuInfo& cpu);
const S16GemmConfig* GetS16GemmConfig(const CpuInfo& cpu);
// The direct 3x3 kernel for out_c output channels and `stride`, or null (none for this CPU,
// width or stride).
const F32Conv3x3Config* GetF32Conv3x3Config(const CpuInfo& cpu, int out_c, int stride);
// The pointwise kernel for at most 4 output channels (F32PwFewArgs), or null.
F32PwFewFn GetF32PwFewFn(const CpuInfo& cpu);
const QuantElementwiseConfig* GetQuantElementwiseConfig(const CpuInfo& cpu);
const F32VBinaryConfig* GetF32VBinaryConfig(const CpuInfo& cpu);
const PoolConfig* GetPoolConfig(const CpuInfo& cpu);
const DynamicQuantConfig* GetDynamicQuantConfig(const CpuInfo& cpu);
const QuantMulConfig* GetQuantMulConfig(const CpuInfo& cpu);
const ResizeConfig* GetResizeConfig(const CpuInfo& cpu);

}  // namespace uk
}  // namespace rt
}  // namespace edgeopt

#endif  // EDGEOPT_SRC_RUNTIME_KERNELS_UKERNELS_CONFIGS_H_
