#include "src/quant/quant_math.h"

#include <cmath>

namespace edgeopt {
namespace quant {

void QuantizeMultiplier(double m, int32_t* quantized_multiplier, int* shift) {
  if (!(m > 0.0) || !std::isfinite(m)) {
    *quantized_multiplier = 0;
    *shift = 0;
    return;
  }
  const double q = std::frexp(m, shift);  // m = q * 2^shift, q in [0.5, 1)
  int64_t q_fixed = static_cast<int64_t>(std::round(q * (1ll << 31)));
  if (q_fixed == (1ll << 31)) {
    q_fixed /= 2;
    ++*shift;
  }
  if (*shift < -31) {  // too small to represent: flush to zero
    *shift = 0;
    q_fixed = 0;
  }
  if (*shift > 30) {  // saturate (keeps left shifts in range for 32-bit accumulators)
    *shift = 30;
    q_fixed = (1ll << 31) - 1;
  }
  *quantized_multiplier = static_cast<int32_t>(q_fixed);
}

void ActivationRangeQuantized(int activation, float scale, int32_t zero_point, int32_t qmin,
                              int32_t qmax, int32_t* act_min, int32_t* act_max) {
  auto quantize = [&](float x) { return zero_point + static_cast<int32_t>(std::round(x / scale)); };
  switch (activation) {
    case 1:  // RELU
      *act_min = std::max(qmin, quantize(0.0f));
      *act_max = qmax;
      break;
    case 3:  // RELU6
      *act_min = std::max(qmin, quantize(0.0f));
      *act_max = std::min(qmax, quantize(6.0f));
      break;
    case 2:  // RELU_N1_TO_1
      *act_min = std::max(qmin, quantize(-1.0f));
      *act_max = std::min(qmax, quantize(1.0f));
      break;
    default:
      *act_min = qmin;
      *act_max = qmax;
      break;
  }
}

void ActivationRangeFloat(int activation, float* act_min, float* act_max) {
  switch (activation) {
    case 1:
      *act_min = 0.0f;
      *act_max = std::numeric_limits<float>::max();
      break;
    case 3:
      *act_min = 0.0f;
      *act_max = 6.0f;
      break;
    case 2:
      *act_min = -1.0f;
      *act_max = 1.0f;
      break;
    default:
      *act_min = std::numeric_limits<float>::lowest();
      *act_max = std::numeric_limits<float>::max();
      break;
  }
}

QuantParams ChooseQuantParams(float min, float max, int32_t qmin, int32_t qmax) {
  min = std::min(min, 0.0f);
  max = std::max(max, 0.0f);
  QuantParams p;
  if (min == max) {  // all zeros
    p.scale = 1.0f;
    p.zero_point = 0;
    return p;
  }
  const double scale = (static_cast<double>(max) - min) / (qmax - qmin);
  // Pick the zero point whose error at both ends is smaller (as TFLite/gemmlowp do).
  const double zp_from_min = qmin - min / scale;
  const double zp_from_max = qmax - max / scale;
  const double err_min = std::abs(qmin) + std::abs(min / scale);
  const double err_max = std::abs(qmax) + std::abs(max / scale);
  const double zp_real = err_min < err_max ? zp_from_min : zp_from_max;
  int32_t zp;
  if (zp_real < qmin) {
    zp = qmin;
  } else if (zp_real > qmax) {
    zp = qmax;
  } else {
    zp = static_cast<int32_t>(std::round(zp_real));
  }
  p.scale = static_cast<float>(scale);
  p.zero_point = zp;
  return p;
}

QuantParams ChooseSymmetricQuantParams(float abs_max, int32_t qmax) {
  QuantParams p;
  p.scale = abs_max > 0.0f ? abs_max / static_cast<float>(qmax) : 1.0f;
  p.zero_point = 0;
  return p;
}

}  // namespace quant
}  // namespace edgeopt
