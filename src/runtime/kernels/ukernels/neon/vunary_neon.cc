// NEON copy of the activation, SOFTMAX and MEAN kernels (vunary_impl.h, 4 float lanes).
// On armv7, GCC keeps float vector arithmetic off NEON (not IEEE: flush-to-zero) unless
// -funsafe-math-optimizations, so there only the integer kernels (MEAN sums, tables) are used.
#define EDGEOPT_VUNARY_BYTES 16
#include "src/runtime/kernels/ukernels/vunary_impl.h"

namespace edgeopt {
namespace rt {
namespace uk {
namespace neon {

#if defined(__aarch64__)
extern const VUnaryConfig kVUnaryNeon = MakeVUnaryConfig("vunary__neon_u4", true, true);
#else
extern const VUnaryConfig kVUnaryNeon = MakeVUnaryConfig("vunary__neon_u4", false, false);
#endif

}  // namespace neon
}  // namespace uk
}  // namespace rt
}  // namespace edgeopt
