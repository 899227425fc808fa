#include "src/runtime/kernels/dynamic_quant.h"

#include <cstring>

#include "src/runtime/kernels/reference/requantize.h"

namespace edgeopt {
namespace rt {

void DynamicQuantize(const uk::DynamicQuantConfig* cfg, bool asymmetric, const float* x, int n,
                     int8_t* q, float* scale, int32_t* zero_point) {
  if (cfg == nullptr || n <= 0) {
    if (asymmetric) {
      ref::AsymmetricQuantizeFloats(x, n, q, scale, zero_point);
    } else {
      ref::SymmetricQuantizeFloats(x, n, q, scale);
    }
    return;
  }
  const size_t count = static_cast<size_t>(n);
  float lo = 0.0f, hi = 0.0f, inverse = 0.0f;
  if (asymmetric) {
    cfg->range(count, x, 0.0f, 0.0f, &lo, &hi);
    if (!ref::AsymmetricQuantizeParams(lo, hi, scale, zero_point, &inverse)) {
      std::memset(q, 0, count);
      return;
    }
    cfg->quantize(count, x, q, inverse, static_cast<float>(*zero_point), -128.0f);
  } else {
    cfg->range(count, x, x[0], x[0], &lo, &hi);
    if (!ref::SymmetricQuantizeParams(lo, hi, scale, &inverse)) {
      std::memset(q, 0, count);
      return;
    }
    cfg->quantize(count, x, q, inverse, 0.0f, -127.0f);
  }
}

}  // namespace rt
}  // namespace edgeopt
