// s16 GEMM (int16 activations, widened int8 weights, int32 sums) for 16x8 convolutions.
#include <immintrin.h>

#include "src/runtime/kernels/ukernels/avx2/avx2_ukernels.h"
#include "src/runtime/kernels/ukernels/s16_gemm_impl.h"

namespace edgeopt {
namespace rt {
namespace uk {
namespace avx2 {
namespace {

// S16PackedGemm's vector: 8 int32 sums; vpmaddwd gives two int16 products summed per lane
// (exact here: the weights are widened int8).
struct S16Madd {
  static constexpr int kLanes = 8;
  using Reg = __m256i;
  static Reg Zero() { return _mm256_setzero_si256(); }
  static Reg Load(const int16_t* p) { return _mm256_loadu_si256(reinterpret_cast<const Reg*>(p)); }
  static Reg Broadcast(int32_t pair) { return _mm256_set1_epi32(pair); }
  static Reg Add(Reg x, Reg y) { return _mm256_add_epi32(x, y); }
  static Reg Dot(Reg acc, Reg x, Reg w) { return _mm256_add_epi32(acc, _mm256_madd_epi16(x, w)); }
  static void Store(int32_t* c, Reg v, int n) {
    if (n == kLanes) {
      _mm256_storeu_si256(reinterpret_cast<Reg*>(c), v);
      return;
    }
    alignas(32) int32_t t[kLanes];
    _mm256_store_si256(reinterpret_cast<Reg*>(t), v);
    std::memcpy(c, t, sizeof(int32_t) * n);
  }
};

}  // namespace

void s16_gemm_packed_ukernel__avx2(int M, int N, int K, const int16_t* a, ptrdiff_t lda,
                                   const int16_t* b, int32_t* c, ptrdiff_t ldc) {
  S16PackedGemm<S16Madd, 4>(M, N, K, a, lda, b, c, ldc);
}

}  // namespace avx2
}  // namespace uk
}  // namespace rt
}  // namespace edgeopt
