// The one source of quantization truth: fixed-point multipliers, rounding and requantization
// with TFLite's exact semantics, plus scale/zero-point selection. Used by the int8 kernels, the
// quantize pass and the QAT fake-quant, so that all three round the same way.
//
// real = scale * (q - zero_point).
#ifndef EDGEOPT_SRC_QUANT_QUANT_MATH_H_
#define EDGEOPT_SRC_QUANT_QUANT_MATH_H_

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>

namespace edgeopt {
namespace quant {

// Splits a positive real multiplier into a Q31 fixed-point value in [2^30, 2^31) and a power of
// two: m ~= quantized_multiplier * 2^(shift - 31). shift > 0 means a left shift. m == 0 gives
// (0, 0). As TFLite's QuantizeMultiplier.
void QuantizeMultiplier(double m, int32_t* quantized_multiplier, int* shift);

// High 32 bits of 2*a*b with rounding to nearest, saturating the single overflow case
// (a == b == INT32_MIN). gemmlowp's SaturatingRoundingDoublingHighMul.
inline int32_t SaturatingRoundingDoublingHighMul(int32_t a, int32_t b) {
  const bool overflow = a == b && a == std::numeric_limits<int32_t>::min();
  const int64_t ab = static_cast<int64_t>(a) * static_cast<int64_t>(b);
  const int32_t nudge = ab >= 0 ? (1 << 30) : (1 - (1 << 30));
  const int32_t high = static_cast<int32_t>((ab + nudge) / (1ll << 31));
  return overflow ? std::numeric_limits<int32_t>::max() : high;
}

// x / 2^exponent rounded to nearest, ties away from zero. gemmlowp's RoundingDivideByPOT.
inline int32_t RoundingDivideByPOT(int32_t x, int exponent) {
  const int32_t mask = static_cast<int32_t>((1ll << exponent) - 1);
  const int32_t remainder = x & mask;
  const int32_t threshold = (mask >> 1) + ((x < 0) ? 1 : 0);
  return (x >> exponent) + ((remainder > threshold) ? 1 : 0);
}

// x * quantized_multiplier * 2^(shift - 31), TFLite's double-rounding reference
// (MultiplyByQuantizedMultiplier in kernels/internal/common.h).
// x * 2^left_shift saturates to int32 where TFLite's overflows (undefined behaviour: a model whose
// scales make a multiplier of 2^30, as a fuzzer's mutation did); no valid model reaches it.
inline int32_t MultiplyByQuantizedMultiplier(int32_t x, int32_t quantized_multiplier, int shift) {
  const int left_shift = shift > 0 ? shift : 0;
  const int right_shift = shift > 0 ? 0 : -shift;
  const int64_t shifted = static_cast<int64_t>(x) * (int64_t{1} << left_shift);
  const int32_t saturated = static_cast<int32_t>(
      std::min<int64_t>(std::max<int64_t>(shifted, std::numeric_limits<int32_t>::min()),
                        std::numeric_limits<int32_t>::max()));
  return RoundingDivideByPOT(SaturatingRoundingDoublingHighMul(saturated, quantized_multiplier),
                             right_shift);
}

// The 64-bit-accumulator variant used by the int16x8 kernels (and TFLite's int16 reference
// conv/fully-connected): the multiplier is reduced to 16 bits and applied with one rounding.
inline int32_t MultiplyByQuantizedMultiplier(int64_t x, int32_t quantized_multiplier, int shift) {
  const int32_t reduced_multiplier =
      quantized_multiplier < 0x7FFF0000 ? ((quantized_multiplier + (1 << 15)) >> 16) : 0x7FFF;
  const int total_shift = 15 - shift;
  const int64_t rounded =
      x * static_cast<int64_t>(reduced_multiplier) + (static_cast<int64_t>(1) << (total_shift - 1));
  return static_cast<int32_t>(rounded >> total_shift);
}

// As MultiplyByQuantizedMultiplier for multipliers smaller than one (shift <= 0).
inline int32_t MultiplyByQuantizedMultiplierSmallerThanOneExp(int32_t x,
                                                              int32_t quantized_multiplier,
                                                              int left_shift) {
  return RoundingDivideByPOT(SaturatingRoundingDoublingHighMul(x, quantized_multiplier),
                             -left_shift);
}

// As MultiplyByQuantizedMultiplier for multipliers greater than one (shift >= 0).
inline int32_t MultiplyByQuantizedMultiplierGreaterThanOne(int32_t x, int32_t quantized_multiplier,
                                                           int left_shift) {
  return SaturatingRoundingDoublingHighMul(x * (1 << left_shift), quantized_multiplier);
}

// Range of a fused activation in the quantized domain (as TFLite's
// CalculateActivationRangeQuantized). `activation` uses the ActivationFunctionType values:
// 0 none, 1 relu, 2 relu_n1_to_1, 3 relu6.
void ActivationRangeQuantized(int activation, float scale, int32_t zero_point, int32_t qmin,
                              int32_t qmax, int32_t* act_min, int32_t* act_max);
// Same for floats.
void ActivationRangeFloat(int activation, float* act_min, float* act_max);

// Quantizes one value: clamp(round(x / scale) + zero_point), round half away from zero (as
// TFLite's reference Quantize: std::round). Values far outside the range (an attention mask's
// -1e9) saturate; NaN gives the zero point.
inline int32_t QuantizeValue(float x, float scale, int32_t zero_point, int32_t qmin, int32_t qmax) {
  const float r = std::round(x / scale);
  if (r != r) return std::min(qmax, std::max(qmin, zero_point));
  if (r <= static_cast<float>(qmin - zero_point)) return qmin;
  if (r >= static_cast<float>(qmax - zero_point)) return qmax;
  return static_cast<int32_t>(r) + zero_point;
}

// Asymmetric parameters covering [min, max] (which is first widened to include 0), with the zero
// point nudged to an integer in [qmin, qmax]. As TFLite's converter (ChooseQuantizationParams).
struct QuantParams {
  float scale = 1.0f;
  int32_t zero_point = 0;
};
QuantParams ChooseQuantParams(float min, float max, int32_t qmin, int32_t qmax);
// Symmetric parameters (zero point 0) for a tensor with max |x| = abs_max, range [-qmax, qmax].
QuantParams ChooseSymmetricQuantParams(float abs_max, int32_t qmax);

}  // namespace quant
}  // namespace edgeopt

#endif  // EDGEOPT_SRC_QUANT_QUANT_MATH_H_
