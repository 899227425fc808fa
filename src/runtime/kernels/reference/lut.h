// 256-entry lookup tables for 8-bit quantized unary ops, built the way TFLite's
// activation kernels build theirs: dequantize every input value in float, apply
// the float function, requantize with round-half-away-from-zero, clamp.
#ifndef EDGEOPT_SRC_RUNTIME_KERNELS_REFERENCE_LUT_H_
#define EDGEOPT_SRC_RUNTIME_KERNELS_REFERENCE_LUT_H_

#include <cmath>
#include <cstdint>
#include <limits>

namespace edgeopt {
namespace rt {
namespace ref {

// table[(uint8_t)q] = quantized f(dequantized q), for T = int8_t or uint8_t.
template <typename T, typename F>
void PopulateLut8(float in_scale, int32_t in_zp, float out_scale, int32_t out_zp, F f,
                  uint8_t* table) {
  const float inverse_scale = 1.0f / out_scale;
  const int32_t lo = std::numeric_limits<T>::min(), hi = std::numeric_limits<T>::max();
  for (int32_t v = lo; v <= hi; ++v) {
    const float dequantized = in_scale * static_cast<float>(v - in_zp);
    const float transformed = f(dequantized);
    const float rescaled = std::round(transformed * inverse_scale);
    const float shifted = rescaled + static_cast<float>(out_zp);
    int32_t q;
    if (std::isnan(shifted)) {
      q = out_zp;
    } else if (shifted >= static_cast<float>(hi)) {
      q = hi;
    } else if (shifted <= static_cast<float>(lo)) {
      q = lo;
    } else {
      q = static_cast<int32_t>(shifted);
    }
    table[static_cast<uint8_t>(static_cast<T>(v))] = static_cast<uint8_t>(static_cast<T>(q));
  }
}

inline void ApplyLut8(const uint8_t* table, const uint8_t* in, int64_t n, uint8_t* out) {
  for (int64_t i = 0; i < n; ++i) out[i] = table[in[i]];
}

}  // namespace ref
}  // namespace rt
}  // namespace edgeopt

#endif  // EDGEOPT_SRC_RUNTIME_KERNELS_REFERENCE_LUT_H_
