#include <cmath>
#include <cstdint>
#include <cstring>

#include "src/runtime/kernels/reference/lstm.h"
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

bool MatchesLibm(F32VUnaryFn fn, bool sigmoid) {
  // Both signs of: 8 values per binade from 2^-63 to 2^8 (mantissas from a fixed LCG), and 7
  // values around each branch point of expf (sigmoid: of -x) and tanhf (through expm1f(2|x|)).
  static constexpr float kEdges[] = {0x1p-55f,      0x1p-26f,       0x1.62e430p-3f, 0x1.0a2b24p-1f,
                                     1.0f,          22.0f,          0x1.62e42ep6f,  0x1.9d1d9ep6f,
                                     0x1.9fe368p6f, 0x1.f3d3cep+2f, 0x1.39ee9ep+4f};
  constexpr int kBinades = 72, kPerBinade = 8, kEdgeSteps = 7;
  constexpr int kCount = 2 * (kBinades * kPerBinade + int{sizeof(kEdges) / 4} * kEdgeSteps) + 4;
  float x[kCount], y[kCount];
  int n = 0;
  uint32_t lcg = 12345;
  for (int sign = 0; sign < 2; ++sign) {
    const uint32_t s = sign ? 0x80000000u : 0u;
    for (int b = 0; b < kBinades; ++b) {
      for (int j = 0; j < kPerBinade; ++j) {
        lcg = lcg * 1664525u + 1013904223u;
        const uint32_t bits = s | (uint32_t(127 - 63 + b) << 23) | (lcg >> 9);
        std::memcpy(&x[n++], &bits, 4);
      }
    }
    for (float edge : kEdges) {
      uint32_t bits;
      std::memcpy(&bits, &edge, 4);
      for (int d = -kEdgeSteps / 2; d <= kEdgeSteps / 2; ++d) {
        const uint32_t b = s | (bits + d);
        std::memcpy(&x[n++], &b, 4);
      }
    }
    x[n++] = sign ? -0.0f : 0.0f;
    x[n++] = sign ? -HUGE_VALF : HUGE_VALF;
  }
  F32UnaryParams params;
  fn(n, x, y, &params);
  for (int i = 0; i < n; ++i) {
    const float want =
        ref::ApplyActivation(sigmoid ? ref::Activation::kSigmoid : ref::Activation::kTanh, x[i]);
    if (std::memcmp(&want, &y[i], 4) != 0) return false;
  }
  return true;
}

const LibmExactVUnary& GetLibmExactVUnary(const CpuInfo& cpu) {
  static const LibmExactVUnary kNone = {nullptr, nullptr};
#if defined(EDGEOPT_HAVE_AVX2)
  if (cpu.UseAvx2()) {
    static const LibmExactVUnary checked = {
        MatchesLibm(avx2::f32_sigmoid_libm, true) ? avx2::f32_sigmoid_libm : nullptr,
        MatchesLibm(avx2::f32_tanh_libm, false) ? avx2::f32_tanh_libm : nullptr};
    return checked;
  }
#endif
  (void)cpu;
  return kNone;
}

}  // namespace uk
}  // namespace rt
}  // namespace edgeopt
