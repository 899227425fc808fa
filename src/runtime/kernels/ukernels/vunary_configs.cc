#include "src/runtime/kernels/ukernels/vunary.h"

namespace edgeopt {
namespace rt {
namespace uk {

const VUnaryConfig* GetVUnaryConfig(const CpuInfo& cpu) {
#if defined(EDGEOPT_HAVE_NEON)
  if (cpu.UseNeon()) return &neon::kVUnaryNeon;
#endif
#if defined(EDGEOPT_HAVE_AVX2)
  if (cpu.UseAvx2()) return &avx2::kVUnaryAvx2;
#endif
  (void)cpu;
  return nullptr;
}

}  // namespace uk
}  // namespace rt
}  // namespace edgeopt
