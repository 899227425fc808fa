// Output stages of the integer conv/fully-connected kernels: int32/int64 accumulator -> int8, uint8
// or int16, with the exact rounding of the TFLite 2.9 builtin kernel that the op mimics, and the
// run-time input quantization of the hybrid (dynamic-range) kernels.
//
// Everything here is free of undefined behaviour for any input (overflowing intermediate values
// wrap as they do in TFLite's int32 SIMD code), because model files are untrusted.
#ifndef EDGEOPT_SRC_RUNTIME_KERNELS_REFERENCE_REQUANTIZE_H_
#define EDGEOPT_SRC_RUNTIME_KERNELS_REFERENCE_REQUANTIZE_H_

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>

#include "src/quant/quant_math.h"

namespace edgeopt {
namespace ref {

// How an int32 accumulator is scaled by a (multiplier, shift) pair, m * 2^(shift - 31).
enum class Rounding : uint8_t {
  // TFLite's reference MultiplyByQuantizedMultiplier: SaturatingRoundingDoublingHighMul, then
  // RoundingDivideByPOT (ties away from zero). Used by TFLite's depthwise and transpose-conv output
  // stages.
  kDouble,
  // ruy's x86 (AVX/AVX2/AVX-512) kernels: SaturatingRoundingDoublingHighMul, then a rounding right
  // shift with ties toward +infinity. TFLite 2.9 runs every quantized GEMM (CONV_2D,
  // FULLY_CONNECTED) on ruy on CPUs with AVX; measured against tflite-ref, this matches 0/512
  // mismatches where kDouble differs by 1 LSB on negative ties (README of tools/tflite-ref).
  kRuyX86,
  // The int64-accumulator variant of the int16x8 kernels: the multiplier is reduced to 16 bits and
  // applied with one rounding (quant::MultiplyByQuantizedMultiplier(int64_t, ...)).
  kInt64,
  // One rounding of the full product, (x * m + 2^(30 - shift)) >> (31 - shift): what TFLite 2.9
  // computes for a 16x8 FULLY_CONNECTED without a bias. Measured against tflite-ref on
  // conv_fc_mnist's bias-less last layer in 16x8: 80 of 80 outputs equal, where kInt64's 16-bit
  // multiplier was 1 LSB off on 11 and kDouble on 1.
  kSingle,
};

// Wraps an int64 to int32 the way two's-complement hardware does (no UB).
inline int32_t WrapToInt32(int64_t x) {
  return static_cast<int32_t>(static_cast<uint32_t>(static_cast<uint64_t>(x)));
}

// TFLite's reference MultiplyByQuantizedMultiplier (double rounding). The left shift wraps as
// TFLite's `x * (1 << left_shift)` does on real hardware.
inline int32_t MultiplyDoubleRounding(int32_t x, int32_t multiplier, int shift) {
  const int left_shift = shift > 0 ? shift : 0;
  const int right_shift = shift > 0 ? 0 : -shift;
  const int32_t shifted = static_cast<int32_t>(static_cast<uint32_t>(x) << left_shift);
  return quant::RoundingDivideByPOT(quant::SaturatingRoundingDoublingHighMul(shifted, multiplier),
                                    right_shift);
}

// ruy's x86 output stage: as MultiplyDoubleRounding, but the final right shift rounds ties toward
// +infinity: (x + 2^(e-1)) >> e.
inline int32_t MultiplyRuyX86(int32_t x, int32_t multiplier, int shift) {
  const int left_shift = shift > 0 ? shift : 0;
  const int right_shift = shift > 0 ? 0 : -shift;
  const int32_t shifted = static_cast<int32_t>(static_cast<uint32_t>(x) << left_shift);
  const int32_t high = quant::SaturatingRoundingDoublingHighMul(shifted, multiplier);
  if (right_shift == 0) return high;
  return static_cast<int32_t>((int64_t{high} + (int64_t{1} << (right_shift - 1))) >> right_shift);
}

// TFLite's MultiplyByQuantizedMultiplier(int64_t x, ...) of the int16x8 kernels. Products that do
// not fit in int64 wrap (TFLite assumes |x| < 2^47). Requires shift <= 14 (checked in Prepare: the
// effective scale of a 16x8 op is far below 2^14).
// MultiplyInt64's multiplier rounded to 16 bits.
inline int32_t ReducedMultiplier(int32_t multiplier) {
  return multiplier < 0x7FFF0000 ? ((multiplier + (1 << 15)) >> 16) : 0x7FFF;
}

inline int32_t MultiplyInt64(int64_t x, int32_t multiplier, int shift) {
  const int32_t reduced = ReducedMultiplier(multiplier);
  const int total_shift = 15 - shift;  // in [1, 46]
  const uint64_t product = static_cast<uint64_t>(x) * static_cast<uint64_t>(int64_t{reduced});
  const int64_t rounded = static_cast<int64_t>(product + (uint64_t{1} << (total_shift - 1)));
  return WrapToInt32(rounded >> total_shift);
}

// kSingle, in 64-bit integer arithmetic only (32-bit Arm has no 128-bit type): |x| * |m| as a
// 128-bit high:low pair, the rounding added, shifted right, saturated to int32. For a negative
// product -A, floor((-A + 2^(s-1)) / 2^s) = -floor((A + 2^(s-1) - 1) / 2^s).
inline int32_t MultiplySingleRounding(int64_t x, int32_t multiplier, int shift) {
  const int total_shift = 31 - shift;  // in [1, 62]: QuantizeMultiplier keeps shift in [-31, 30]
  const bool negative = (x < 0) != (multiplier < 0);
  const uint64_t ax = x < 0 ? uint64_t{0} - static_cast<uint64_t>(x) : static_cast<uint64_t>(x);
  const uint64_t am = multiplier < 0 ? uint64_t{0} - static_cast<uint64_t>(int64_t{multiplier})
                                     : static_cast<uint64_t>(multiplier);  // <= 2^31
  const uint64_t p1 = (ax >> 32) * am;                                     // < 2^63
  const uint64_t p0 = (ax & 0xFFFFFFFFu) * am;                             // < 2^63
  uint64_t lo = p0 + (p1 << 32);
  uint64_t hi = (p1 >> 32) + (lo < p0 ? 1 : 0);
  if (total_shift > 0) {
    const uint64_t add = (uint64_t{1} << (total_shift - 1)) - (negative ? 1 : 0);
    const uint64_t sum = lo + add;
    hi += sum < lo ? 1 : 0;
    lo = sum;
    lo = (lo >> total_shift) | (hi << (64 - total_shift));
    hi >>= total_shift;
  }
  const uint64_t limit = negative ? uint64_t{0x80000000u} : uint64_t{0x7FFFFFFFu};
  if (hi != 0 || lo > limit) {
    return negative ? std::numeric_limits<int32_t>::min() : std::numeric_limits<int32_t>::max();
  }
  return static_cast<int32_t>(negative ? -static_cast<int64_t>(lo) : static_cast<int64_t>(lo));
}

// Scales one accumulator (already including bias and zero-point terms) with the given rounding.
inline int32_t Requantize(int64_t acc, int32_t multiplier, int shift, Rounding rounding) {
  switch (rounding) {
    case Rounding::kDouble:
      return MultiplyDoubleRounding(WrapToInt32(acc), multiplier, shift);
    case Rounding::kRuyX86:
      return MultiplyRuyX86(WrapToInt32(acc), multiplier, shift);
    case Rounding::kInt64:
      return MultiplyInt64(acc, multiplier, shift);
    case Rounding::kSingle:
      return MultiplySingleRounding(acc, multiplier, shift);
  }
  return 0;
}

// Per-output-channel output stage of a quantized conv/fully-connected op.
struct OutputStage {
  const int32_t* multiplier = nullptr;  // [channels]
  const int32_t* shift = nullptr;       // [channels]
  int32_t output_zero_point = 0;
  int32_t act_min = 0;  // quantized activation range (includes the type's range)
  int32_t act_max = 0;
  Rounding rounding = Rounding::kDouble;
};

template <typename TOut>
inline TOut RequantizeToOutput(int64_t acc, int channel, const OutputStage& s) {
  int32_t v = Requantize(acc, s.multiplier[channel], s.shift[channel], s.rounding);
  // The zero point is small (checked in Prepare); a huge v only appears for absurd scales, and is
  // clamped below, so saturate the add instead of overflowing.
  const int64_t with_zp = static_cast<int64_t>(v) + s.output_zero_point;
  const int64_t clamped = std::min<int64_t>(s.act_max, std::max<int64_t>(s.act_min, with_zp));
  return static_cast<TOut>(clamped);
}

inline float ClampFloat(float v, float lo, float hi) { return std::min(hi, std::max(lo, v)); }

// ---- Hybrid (dynamic-range) kernels: run-time quantization of float inputs. ----

// The two steps of TFLite's run-time quantization, shared with the microkernel path
// (dynamic_quant.h): the parameters from the row's range, then the rounding loop.

// Symmetric: scale max(|min|, |max|) / 127; false (the row quantizes to zeros) for an all-zero
// or non-finite range, *scale then 1 or range / 127.
inline bool SymmetricQuantizeParams(float min_value, float max_value, float* scale,
                                    float* inverse) {
  const float range = std::max(std::abs(min_value), std::abs(max_value));
  if (range == 0.0f || !std::isfinite(range)) {
    // TFLite divides by a NaN/inf range too and gets garbage; zeros are the defined answer.
    *scale = range == 0.0f ? 1.0f : range / 127.0f;
    return false;
  }
  *scale = range / 127.0f;
  *inverse = 127.0f / range;
  return true;
}

// Asymmetric: [min(x, 0), max(x, 0)] onto [-128, 127] with a nudged integer zero point (chosen,
// as the converter does, by the smaller error at either end); false (zeros, scale 1, zero
// point 0) for an empty or non-finite range.
inline bool AsymmetricQuantizeParams(float lo, float hi, float* scale, int32_t* zero_point,
                                     float* inverse) {
  const double rmin = lo, rmax = hi;
  if (rmin == rmax || !std::isfinite(rmin) || !std::isfinite(rmax)) {
    *scale = 1.0f;
    *zero_point = 0;
    return false;
  }
  const double qmin = -128.0, qmax = 127.0;
  const double s = (rmax - rmin) / (qmax - qmin);
  const double zp_from_min = qmin - rmin / s;
  const double zp_from_max = qmax - rmax / s;
  const double err_min = std::abs(qmin) + std::abs(rmin / s);
  const double err_max = std::abs(qmax) + std::abs(rmax / s);
  const double zp_double = err_min < err_max ? zp_from_min : zp_from_max;
  int32_t zp;
  if (zp_double <= qmin) {
    zp = -128;
  } else if (zp_double >= qmax) {
    zp = 127;
  } else {
    zp = static_cast<int32_t>(std::round(zp_double));
  }
  *scale = static_cast<float>(s);
  *zero_point = zp;
  *inverse = static_cast<float>(1.0 / static_cast<double>(*scale));
  return true;
}

// q[i] = clamp(round(zp + x[i] * inverse), qmin, 127); round() is half away from zero and a NaN
// becomes qmin (std::max(qmin, NaN) is qmin).
inline void QuantizeFloatsRow(const float* values, int size, float inverse, float zp, float qmin,
                              int8_t* quantized) {
  for (int i = 0; i < size; ++i) {
    const float r = std::round(zp + values[i] * inverse);
    const float c = std::min(127.0f, std::max(qmin, r));
    quantized[i] = static_cast<int8_t>(c == c ? c : 0.0f);
  }
}

// TFLite's SymmetricQuantizeFloats: q = round(x * 127 / max|x|) in [-127, 127]; scale max|x| / 127
// (1 for an all-zero row). round() is half away from zero.
inline void SymmetricQuantizeFloats(const float* values, int size, int8_t* quantized,
                                    float* scale) {
  float min_value = 0.0f, max_value = 0.0f;
  if (size > 0) {
    min_value = max_value = values[0];
    for (int i = 1; i < size; ++i) {
      min_value = std::min(min_value, values[i]);
      max_value = std::max(max_value, values[i]);
    }
  }
  float inverse = 0.0f;
  if (!SymmetricQuantizeParams(min_value, max_value, scale, &inverse)) {
    std::memset(quantized, 0, static_cast<size_t>(size));
    return;
  }
  // x * inverse + 0 is x * inverse (a -0 turns +0, which rounds to the same integer).
  QuantizeFloatsRow(values, size, inverse, 0.0f, -127.0f, quantized);
}

// TFLite's AsymmetricQuantizeFloats (see AsymmetricQuantizeParams).
inline void AsymmetricQuantizeFloats(const float* values, int size, int8_t* quantized, float* scale,
                                     int32_t* zero_point) {
  float lo = 0.0f, hi = 0.0f;
  for (int i = 0; i < size; ++i) {
    lo = std::min(lo, values[i]);
    hi = std::max(hi, values[i]);
  }
  float inverse = 0.0f;
  if (!AsymmetricQuantizeParams(lo, hi, scale, zero_point, &inverse)) {
    std::memset(quantized, 0, static_cast<size_t>(size));
    return;
  }
  QuantizeFloatsRow(values, size, inverse, static_cast<float>(*zero_point), -128.0f, quantized);
}

}  // namespace ref
}  // namespace edgeopt

#endif  // EDGEOPT_SRC_RUNTIME_KERNELS_REFERENCE_REQUANTIZE_H_
