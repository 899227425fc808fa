// The NEON entries of the per-op configurations (configs.cc asks these when CpuInfo::UseNeon()).
// Kept beside the kernels so that configs.cc needs one line per getter.
#ifndef EDGEOPT_SRC_RUNTIME_KERNELS_UKERNELS_NEON_NEON_CONFIGS_H_
#define EDGEOPT_SRC_RUNTIME_KERNELS_UKERNELS_NEON_NEON_CONFIGS_H_

#include "src/runtime/cpu_info.h"
#include "src/runtime/kernels/ukernels/configs.h"

namespace edgeopt {
namespace rt {
namespace uk {
namespace neon {

const QS8GemmConfig* QS8GemmConfigFor(const CpuInfo& cpu, int n);
const F32GemmConfig* F32GemmConfigFor(const CpuInfo& cpu, int n);
extern const QS8DwConfig kQS8DwNeon;
extern const F32DwConfig kF32DwNeon;
extern const QuantElementwiseConfig kQuantElementwiseNeon;

}  // namespace neon
}  // namespace uk
}  // namespace rt
}  // namespace edgeopt

#endif  // EDGEOPT_SRC_RUNTIME_KERNELS_UKERNELS_NEON_NEON_CONFIGS_H_
