// Microkernels of the pointwise activations, SOFTMAX and MEAN, chosen at prepare time from the
// CPU features (GetVUnaryConfig; nullptr: the ops keep their reference kernels).
//
// Float results: RELU family, LEAKY_RELU, HARD_SWISH, the scale and the MEAN sums repeat the
// reference's float operations (bit-identical). LOGISTIC, TANH and SOFTMAX's exp use a
// polynomial exp (Cody-Waite reduction, degree-7 expm1 on |r| <= ln2/2): within a few ULP of
// the reference's libm results; SOFTMAX sums in vector lanes (another summation order).
#ifndef EDGEOPT_SRC_RUNTIME_KERNELS_UKERNELS_VUNARY_H_
#define EDGEOPT_SRC_RUNTIME_KERNELS_UKERNELS_VUNARY_H_

#include <cstddef>
#include <cstdint>

#include "src/runtime/cpu_info.h"

namespace edgeopt {
namespace rt {
namespace uk {

struct F32UnaryParams {
  float min = 0.0f, max = 0.0f;  // clamp: std::min(max, std::max(min, x))
  float alpha = 0.0f;            // LEAKY_RELU slope; the factor of vscale
};
// y[i] = f(x[i]) for n elements; y may be x.
using F32VUnaryFn = void (*)(size_t n, const float* x, float* y, const F32UnaryParams* p);
// max over x[0, n), n >= 1, as the reference's loop (m = x[0]; m = std::max(m, x[i])).
using F32RMaxFn = float (*)(size_t n, const float* x);
// y[i] = exp((x[i] - max) * beta); returns the sum of the y[i]. y may be x.
using F32RAddStoreExpFn = float (*)(size_t n, const float* x, float max, float beta, float* y);
// acc[c] += x[r * channels + c] for r = 0, 1, ..., rows - 1 in that order, c < channels (the
// reference's summation order for every channel).
using F32RowAccFn = void (*)(size_t rows, size_t channels, const float* x, float* acc);
// The same for int8 (s8) or uint8 (u8) values into int32 sums (wrapping).
using X8RowAccFn = void (*)(size_t rows, size_t channels, const void* x, int32_t* acc);
// y[i] = table[x[i]] (bytes); y may be x.
using X8LutFn = void (*)(size_t n, const uint8_t* x, uint8_t* y, const uint8_t* table);

// Null entries: the op keeps its reference kernel (armv7 has only the integer ones). AVX-512
// machines run the AVX2 copy: a 16-lane copy was up to 35 % faster on SOFTMAX's exp in a
// microbenchmark (the same on the clamps and MEAN) but cost 8 KB of the 600 KB runner.
struct VUnaryConfig {
  const char* name;
  F32VUnaryFn clamp;  // RELU family where F32VBinaryConfig has none (NEON)
  F32VUnaryFn lrelu;
  F32VUnaryFn hswish;
  F32VUnaryFn sigmoid;
  F32VUnaryFn tanh;
  F32VUnaryFn vscale;
  F32RMaxFn rmax;
  F32RAddStoreExpFn raddstoreexp;
  F32RowAccFn f32_rowacc;
  X8RowAccFn s8_rowacc;
  X8RowAccFn u8_rowacc;
  X8LutFn lut;
};

const VUnaryConfig* GetVUnaryConfig(const CpuInfo& cpu);

// LOGISTIC as the reference computes it, 1 / (1 + expf(-x)), and tanhf(x), with the bits of the
// C library's expf and tanhf, for exact_float() (hybrid models), where the approximations above
// may not run. The AVX2 kernels (avx2/libm_exact_avx2.cc) repeat glibc's expf (FMA variant) and
// tanhf operation for operation; each is given only if it matches the running C library on a
// set of probe values (checked once, on first use); otherwise, and on other CPUs, null.
struct LibmExactVUnary {
  F32VUnaryFn sigmoid;
  F32VUnaryFn tanh;
};
const LibmExactVUnary& GetLibmExactVUnary(const CpuInfo& cpu);
// The probe check: whether `fn` (a sigmoid if `sigmoid`, else a tanh) gives the C library's bits.
bool MatchesLibm(F32VUnaryFn fn, bool sigmoid);

#if defined(EDGEOPT_HAVE_AVX2)
namespace avx2 {
extern const VUnaryConfig kVUnaryAvx2;
void f32_sigmoid_libm(size_t n, const float* x, float* y, const F32UnaryParams* p);
void f32_tanh_libm(size_t n, const float* x, float* y, const F32UnaryParams* p);
}  // namespace avx2
#endif
#if defined(EDGEOPT_HAVE_NEON)
namespace neon {
extern const VUnaryConfig kVUnaryNeon;
}
#endif

}  // namespace uk
}  // namespace rt
}  // namespace edgeopt

#endif  // EDGEOPT_SRC_RUNTIME_KERNELS_UKERNELS_VUNARY_H_
