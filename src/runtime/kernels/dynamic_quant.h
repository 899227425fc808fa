// Run-time quantization of a hybrid op's float input (TFLite's Symmetric/AsymmetricQuantize
// Floats) through the microkernels when the CPU has them, with the reference's exact results.
#ifndef EDGEOPT_SRC_RUNTIME_KERNELS_DYNAMIC_QUANT_H_
#define EDGEOPT_SRC_RUNTIME_KERNELS_DYNAMIC_QUANT_H_

#include <cstdint>

#include "src/runtime/kernels/ukernels/configs.h"

namespace edgeopt {
namespace rt {

// Quantizes x[0, n) into q; *scale always, *zero_point only when asymmetric. `cfg` may be null
// (the reference runs).
void DynamicQuantize(const uk::DynamicQuantConfig* cfg, bool asymmetric, const float* x, int n,
                     int8_t* q, float* scale, int32_t* zero_point);

}  // namespace rt
}  // namespace edgeopt

#endif  // EDGEOPT_SRC_RUNTIME_KERNELS_DYNAMIC_QUANT_H_
