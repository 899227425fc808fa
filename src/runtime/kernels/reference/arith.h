// Per-element quantized arithmetic with TFLite's integer semantics (ADD/SUB, MUL,
// SQUARED_DIFFERENCE, DIV on uint8). Each function maps raw quantized inputs to a raw output that
// is already clamped to the activation range.
#ifndef EDGEOPT_SRC_RUNTIME_KERNELS_REFERENCE_ARITH_H_
#define EDGEOPT_SRC_RUNTIME_KERNELS_REFERENCE_ARITH_H_

#include <algorithm>
#include <cstdint>
#include <limits>

#include "src/quant/quant_math.h"
#include "src/runtime/kernels/reference/fixed_point.h"

namespace edgeopt {
namespace rt {
namespace ref {

// Both inputs are brought to a common scale (2 * max input scale) with `left_shift` extra bits of
// precision, combined in int32 and rescaled to the output (TFLite's ADD/SUB: left_shift is 20 for
// 8-bit, 15 for int16).
struct AddSubParams {
  int left_shift = 20;
  int32_t input1_offset = 0;  // -zero_point
  int32_t input2_offset = 0;
  int32_t output_offset = 0;  // +zero_point
  int32_t input1_multiplier = 0;
  int input1_shift = 0;
  int32_t input2_multiplier = 0;
  int input2_shift = 0;
  int32_t output_multiplier = 0;
  int output_shift = 0;
  int32_t act_min = 0;
  int32_t act_max = 0;
};

inline int32_t QuantAddSub(int32_t x, int32_t y, const AddSubParams& p, bool subtract) {
  const int32_t a = (p.input1_offset + x) * (1 << p.left_shift);
  const int32_t b = (p.input2_offset + y) * (1 << p.left_shift);
  const int32_t sa = quant::MultiplyByQuantizedMultiplier(a, p.input1_multiplier, p.input1_shift);
  const int32_t sb = quant::MultiplyByQuantizedMultiplier(b, p.input2_multiplier, p.input2_shift);
  const int32_t raw = subtract ? sa - sb : sa + sb;
  const int32_t out =
      quant::MultiplyByQuantizedMultiplier(raw, p.output_multiplier, p.output_shift) +
      p.output_offset;
  return std::min(p.act_max, std::max(p.act_min, out));
}

// int16 with zero points 0 and power-of-two scales (TFLite's pot_scale_int16 path): one input is
// rounding-shifted right to the other's scale, then saturating add/sub in Q0.15.
struct PotInt16Params {
  int input1_shift = 0;  // <= 0
  int input2_shift = 0;  // <= 0
  int32_t act_min = -32768;
  int32_t act_max = 32767;
};

inline int16_t PotInt16AddSub(int16_t x, int16_t y, const PotInt16Params& p, bool subtract) {
  const int32_t a = p.input1_shift == 0 ? x : RoundDivByPOT<int16_t>(x, -p.input1_shift);
  const int32_t b = p.input2_shift == 0 ? y : RoundDivByPOT<int16_t>(y, -p.input2_shift);
  int32_t r = subtract ? a - b : a + b;
  r = std::min<int32_t>(32767, std::max<int32_t>(-32768, r));
  return static_cast<int16_t>(std::min(p.act_max, std::max(p.act_min, r)));
}

struct MulParams {
  int32_t input1_offset = 0;
  int32_t input2_offset = 0;
  int32_t output_offset = 0;
  int32_t output_multiplier = 0;
  int output_shift = 0;
  int32_t act_min = 0;
  int32_t act_max = 0;
};

inline int32_t QuantMul(int32_t x, int32_t y, const MulParams& p) {
  // int16 operands with non-zero zero points can overflow int32; wrap as 32-bit hardware does.
  const int32_t prod = static_cast<int32_t>(static_cast<int64_t>(p.input1_offset + x) *
                                            static_cast<int64_t>(p.input2_offset + y));
  const int32_t out =
      quant::MultiplyByQuantizedMultiplier(prod, p.output_multiplier, p.output_shift) +
      p.output_offset;
  return std::min(p.act_max, std::max(p.act_min, out));
}

// SQUARED_DIFFERENCE: inputs rescaled with left_shift 7, the int32 difference squared, then
// rescaled to the output.
inline int32_t QuantSquaredDifference(int32_t x, int32_t y, const AddSubParams& p) {
  const int32_t a = (p.input1_offset + x) * (1 << p.left_shift);
  const int32_t b = (p.input2_offset + y) * (1 << p.left_shift);
  const int32_t sa = quant::MultiplyByQuantizedMultiplier(a, p.input1_multiplier, p.input1_shift);
  const int32_t sb = quant::MultiplyByQuantizedMultiplier(b, p.input2_multiplier, p.input2_shift);
  const int32_t d = sa - sb;
  const int32_t out =
      quant::MultiplyByQuantizedMultiplier(d * d, p.output_multiplier, p.output_shift) +
      p.output_offset;
  return std::min(p.act_max, std::max(p.act_min, out));
}

// RoundingDivideByPOT as TFLite's compiled x86 code behaves for any exponent: the mask is built
// with a 64-bit shift and the value shifted with a 32-bit shift, both taking the count modulo the
// width (shifts of 32 or more are undefined in C++, and TFLite's uint8 DIV reaches them when the
// numerator is 0). For exponents in [0, 31] this is the ordinary rounding shift.
inline int32_t RoundDivByPOTX86(int32_t x, int exponent) {
  const int32_t mask = static_cast<int32_t>((int64_t{1} << (exponent & 63)) - 1);
  const int32_t remainder = x & mask;
  const int32_t threshold = (mask >> 1) + (x < 0 ? 1 : 0);
  return (x >> (exponent & 31)) + (remainder > threshold ? 1 : 0);
}

// 1/x as TFLite's GetReciprocal, including x == 0 (clz counted as 32, shift count modulo 32).
inline int32_t GetReciprocalX86(int32_t x, int* num_bits_over_unit) {
  if (x != 0) return GetReciprocal(x, 31, num_bits_over_unit);
  *num_bits_over_unit = 31 - 32;
  return OneOverOnePlusX<int32_t>(Fx<int32_t, 0>{std::numeric_limits<int32_t>::min()}).raw;
}

// uint8 DIV (TFLite's DivElementwise): signs moved to the numerator so the divisor is >= 0, the
// divisor's reciprocal in fixed point, the numerator normalized by its headroom, one final rescale.
// A zero divisor follows TFLite's x86 arithmetic (see GetReciprocalX86).
inline int32_t QuantDiv(int32_t x, int32_t y, const MulParams& p) {
  int32_t num = p.input1_offset + x;
  int32_t den = p.input2_offset + y;
  if (den < 0) {
    num = -num;
    den = -den;
  }
  int recip_shift = 0;
  const int32_t inv = GetReciprocalX86(den, &recip_shift);
  const int headroom = CountLeadingSignBits32(num);
  const int32_t shifted =
      static_cast<int32_t>(static_cast<int64_t>(num) * (int64_t{1} << headroom));
  const int32_t unscaled = SatRoundDoublingHighMul<int32_t>(shifted, inv);
  const int total_shift = p.output_shift - recip_shift - headroom;
  int32_t out = RoundDivByPOTX86(SatRoundDoublingHighMul<int32_t>(unscaled, p.output_multiplier),
                                 -total_shift);
  out += p.output_offset;
  return std::min(p.act_max, std::max(p.act_min, out));
}

}  // namespace ref
}  // namespace rt
}  // namespace edgeopt

#endif  // EDGEOPT_SRC_RUNTIME_KERNELS_REFERENCE_ARITH_H_
