// AVX2 copy of the activation, SOFTMAX and MEAN kernels (vunary_impl.h, 8 float lanes).
#define EDGEOPT_VUNARY_BYTES 32
#include "src/runtime/kernels/ukernels/vunary_impl.h"

namespace edgeopt {
namespace rt {
namespace uk {
namespace avx2 {

// The RELU family has f32_vclamp_ukernel__avx2_u16 (F32VBinaryConfig).
extern const VUnaryConfig kVUnaryAvx2 = MakeVUnaryConfig("vunary__avx2_u8", false, true);

}  // namespace avx2
}  // namespace uk
}  // namespace rt
}  // namespace edgeopt
