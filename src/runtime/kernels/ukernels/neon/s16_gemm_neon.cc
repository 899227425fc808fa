// s16 GEMM (int16 activations, widened int8 weights, int32 sums) for 16x8 convolutions.
#include "src/runtime/kernels/ukernels/neon/neon_ukernels.h"
#include "src/runtime/kernels/ukernels/s16_gemm_impl.h"

namespace edgeopt {
namespace rt {
namespace uk {
namespace neon {

void s16_gemm_ukernel__neon(int M, int N, int K, const int16_t* a, ptrdiff_t lda, const int16_t* b,
                            int32_t* c, ptrdiff_t ldc) {
  S16GemmImpl(M, N, K, a, lda, b, c, ldc);
}


}  // namespace neon
}  // namespace uk
}  // namespace rt
}  // namespace edgeopt
