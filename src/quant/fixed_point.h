// gemmlowp-style fixed-point arithmetic, with the exact rounding and wrap-around behaviour that
// TFLite's integer kernels inherit from gemmlowp's fixedpoint.h: the Q-format value type, the
// saturating/rounding primitives, and exp / tanh / logistic on int16 or int32 raw values. Used by
// the integer LSTM (int16 Q3.12 gates, Q0.15 outputs) and available to LOGISTIC/TANH/SOFTMAX.
//
// A FixedPoint<Raw, kIntegerBits> holds `raw` = value * 2^kFractionalBits, with kFractionalBits =
// bits(Raw) - 1 - kIntegerBits; the range is [-2^kIntegerBits, 2^kIntegerBits).
//
// Overflow of plain additions wraps (two's complement), as gemmlowp's code does in practice on
// every supported compiler; here it is computed in 64 bits and narrowed, so it is never UB.
#ifndef EDGEOPT_SRC_QUANT_FIXED_POINT_H_
#define EDGEOPT_SRC_QUANT_FIXED_POINT_H_

#include <cstdint>
#include <limits>
#include <type_traits>

namespace edgeopt {
namespace quant {
namespace fp {

template <typename Raw>
struct RawTraits {
  static_assert(std::is_same<Raw, int16_t>::value || std::is_same<Raw, int32_t>::value,
                "fixed-point raw types are int16_t and int32_t");
  static constexpr int kBits = 8 * static_cast<int>(sizeof(Raw));
  static constexpr Raw kMin = std::numeric_limits<Raw>::min();
  static constexpr Raw kMax = std::numeric_limits<Raw>::max();
};

// Narrowing with two's complement wrap-around.
template <typename Raw>
constexpr Raw Wrap(int64_t v) {
  using Unsigned = typename std::make_unsigned<Raw>::type;
  return static_cast<Raw>(static_cast<Unsigned>(static_cast<uint64_t>(v)));
}

template <typename Raw>
constexpr Raw WrapAdd(Raw a, Raw b) {
  return Wrap<Raw>(static_cast<int64_t>(a) + static_cast<int64_t>(b));
}
template <typename Raw>
constexpr Raw WrapSub(Raw a, Raw b) {
  return Wrap<Raw>(static_cast<int64_t>(a) - static_cast<int64_t>(b));
}
template <typename Raw>
constexpr Raw WrapNeg(Raw a) {
  return Wrap<Raw>(-static_cast<int64_t>(a));
}

// round(a * b / 2^(bits-1)) with ties away from zero; MIN * MIN saturates to MAX (VQRDMULH).
template <typename Raw>
constexpr Raw SaturatingRoundingDoublingHighMul(Raw a, Raw b) {
  constexpr int kBits = RawTraits<Raw>::kBits;
  if (a == b && a == RawTraits<Raw>::kMin) return RawTraits<Raw>::kMax;
  const int64_t ab = static_cast<int64_t>(a) * static_cast<int64_t>(b);
  const int64_t nudge = ab >= 0 ? (int64_t{1} << (kBits - 2)) : (1 - (int64_t{1} << (kBits - 2)));
  return static_cast<Raw>((ab + nudge) / (int64_t{1} << (kBits - 1)));
}

// x / 2^exponent rounded to nearest, ties away from zero (0 <= exponent < bits).
template <typename Raw>
constexpr Raw RoundingDivideByPOT(Raw x, int exponent) {
  const int64_t mask = (int64_t{1} << exponent) - 1;
  const int64_t remainder = static_cast<int64_t>(x) & mask;
  const int64_t threshold = (mask >> 1) + (x < 0 ? 1 : 0);
  return static_cast<Raw>((static_cast<int64_t>(x) >> exponent) + (remainder > threshold ? 1 : 0));
}

// x * 2^kExponent: saturating for kExponent > 0, rounding for kExponent < 0.
template <int kExponent, typename Raw>
constexpr Raw SaturatingRoundingMultiplyByPOT(Raw x) {
  if (kExponent > 0) {
    constexpr int kShift = kExponent > 0 ? kExponent : 0;
    constexpr int64_t kThreshold = (int64_t{1} << (RawTraits<Raw>::kBits - 1 - kShift)) - 1;
    if (x > kThreshold) return RawTraits<Raw>::kMax;
    if (x < -kThreshold) return RawTraits<Raw>::kMin;
    return static_cast<Raw>(static_cast<int64_t>(x) * (int64_t{1} << kShift));
  }
  if (kExponent < 0) return RoundingDivideByPOT<Raw>(x, kExponent < 0 ? -kExponent : 0);
  return x;
}

// (a + b) / 2 rounded away from zero.
template <typename Raw>
constexpr Raw RoundingHalfSum(Raw a, Raw b) {
  const int64_t sum = static_cast<int64_t>(a) + static_cast<int64_t>(b);
  return static_cast<Raw>((sum + (sum >= 0 ? 1 : -1)) / 2);
}

// A constant written as a 32-bit fixed-point raw value (the gemmlowp convention), narrowed to Raw
// by a rounding shift.
template <typename Raw>
constexpr Raw ConstantFromInt32(int32_t raw32) {
  return RawTraits<Raw>::kBits == 32
             ? static_cast<Raw>(raw32)
             : static_cast<Raw>(RoundingDivideByPOT<int32_t>(raw32, 32 - RawTraits<Raw>::kBits));
}

template <typename Raw, int kIntegerBitsT>
struct FixedPoint {
  static constexpr int kIntegerBits = kIntegerBitsT;
  static constexpr int kFractionalBits = RawTraits<Raw>::kBits - 1 - kIntegerBits;
  static_assert(kIntegerBits >= 0 && kIntegerBits < RawTraits<Raw>::kBits, "bad integer bits");

  Raw raw = 0;

  static constexpr FixedPoint FromRaw(Raw r) {
    FixedPoint f;
    f.raw = r;
    return f;
  }
  static constexpr FixedPoint Zero() { return FromRaw(0); }
  // 1.0, or the largest value below it when there are no integer bits.
  static constexpr FixedPoint One() {
    return FromRaw(kIntegerBits == 0 ? RawTraits<Raw>::kMax
                                     : static_cast<Raw>(int64_t{1} << kFractionalBits));
  }
  // 2^kExponent, exactly representable.
  template <int kExponent>
  static constexpr FixedPoint ConstantPOT() {
    static_assert(
        kFractionalBits + kExponent >= 0 && kFractionalBits + kExponent < RawTraits<Raw>::kBits - 1,
        "constant not representable");
    return FromRaw(static_cast<Raw>(int64_t{1} << (kFractionalBits + kExponent)));
  }
  static constexpr FixedPoint FromInt32Constant(int32_t raw32) {
    return FromRaw(ConstantFromInt32<Raw>(raw32));
  }
};

template <typename Raw, int kA, int kB>
constexpr FixedPoint<Raw, kA + kB> operator*(FixedPoint<Raw, kA> a, FixedPoint<Raw, kB> b) {
  return FixedPoint<Raw, kA + kB>::FromRaw(SaturatingRoundingDoublingHighMul<Raw>(a.raw, b.raw));
}
template <typename Raw, int kI>
constexpr FixedPoint<Raw, kI> operator+(FixedPoint<Raw, kI> a, FixedPoint<Raw, kI> b) {
  return FixedPoint<Raw, kI>::FromRaw(WrapAdd<Raw>(a.raw, b.raw));
}
template <typename Raw, int kI>
constexpr FixedPoint<Raw, kI> operator-(FixedPoint<Raw, kI> a, FixedPoint<Raw, kI> b) {
  return FixedPoint<Raw, kI>::FromRaw(WrapSub<Raw>(a.raw, b.raw));
}
template <typename Raw, int kI>
constexpr FixedPoint<Raw, kI> operator-(FixedPoint<Raw, kI> a) {
  return FixedPoint<Raw, kI>::FromRaw(WrapNeg<Raw>(a.raw));
}

// Saturating for int16, wrapping for int32 (gemmlowp's AddSaturatingIf16Bit).
template <typename Raw, int kI>
constexpr FixedPoint<Raw, kI> AddSaturatingIf16Bit(FixedPoint<Raw, kI> a, FixedPoint<Raw, kI> b) {
  if (RawTraits<Raw>::kBits == 16) {
    int64_t s = static_cast<int64_t>(a.raw) + static_cast<int64_t>(b.raw);
    s = s > RawTraits<Raw>::kMax ? RawTraits<Raw>::kMax : s;
    s = s < RawTraits<Raw>::kMin ? RawTraits<Raw>::kMin : s;
    return FixedPoint<Raw, kI>::FromRaw(static_cast<Raw>(s));
  }
  return a + b;
}

template <int kExponent, typename Raw, int kI>
constexpr FixedPoint<Raw, kI> SaturatingRoundingMultiplyByPOT(FixedPoint<Raw, kI> a) {
  return FixedPoint<Raw, kI>::FromRaw(SaturatingRoundingMultiplyByPOT<kExponent, Raw>(a.raw));
}

// Same raw bits, different Q format: exact multiplication by 2^kExponent.
template <int kExponent, typename Raw, int kI>
constexpr FixedPoint<Raw, kI + kExponent> ExactMulByPot(FixedPoint<Raw, kI> a) {
  return FixedPoint<Raw, kI + kExponent>::FromRaw(a.raw);
}

// Changes the number of integer bits, rounding or saturating the raw value.
template <int kDstBits, typename Raw, int kSrcBits>
constexpr FixedPoint<Raw, kDstBits> Rescale(FixedPoint<Raw, kSrcBits> a) {
  return FixedPoint<Raw, kDstBits>::FromRaw(
      SaturatingRoundingMultiplyByPOT<kSrcBits - kDstBits, Raw>(a.raw));
}

template <typename Raw, int kI>
constexpr FixedPoint<Raw, kI> RoundingHalfSum(FixedPoint<Raw, kI> a, FixedPoint<Raw, kI> b) {
  return FixedPoint<Raw, kI>::FromRaw(RoundingHalfSum<Raw>(a.raw, b.raw));
}

// exp(a) for a in [-1/4, 0): Taylor expansion around -1/8.
template <typename Raw>
constexpr FixedPoint<Raw, 0> ExpOnIntervalBetweenNegativeOneQuarterAnd0Excl(FixedPoint<Raw, 0> a) {
  using F = FixedPoint<Raw, 0>;
  const F exp_minus_one_eighth = F::FromInt32Constant(1895147668);  // exp(-1/8)
  const F one_third = F::FromInt32Constant(715827883);
  const F x = a + F::template ConstantPOT<-3>();
  const F x2 = x * x;
  const F x3 = x2 * x;
  const F x4 = x2 * x2;
  const F x4_over_4 = SaturatingRoundingMultiplyByPOT<-2>(x4);
  const F higher_terms = SaturatingRoundingMultiplyByPOT<-1>(((x4_over_4 + x3) * one_third) + x2);
  return AddSaturatingIf16Bit(exp_minus_one_eighth, exp_minus_one_eighth * (x + higher_terms));
}

// exp(a) for a <= 0 (exp(0) = One()).
template <typename Raw, int kI>
constexpr FixedPoint<Raw, 0> ExpOnNegativeValues(FixedPoint<Raw, kI> a) {
  using InF = FixedPoint<Raw, kI>;
  using OutF = FixedPoint<Raw, 0>;
  constexpr int kFrac = InF::kFractionalBits;
  const InF one_quarter = InF::template ConstantPOT<-2>();
  const InF mask = one_quarter - InF::FromRaw(1);
  const InF a_mod_quarter_minus_quarter =
      InF::FromRaw(static_cast<Raw>(a.raw & mask.raw)) - one_quarter;
  OutF result =
      ExpOnIntervalBetweenNegativeOneQuarterAnd0Excl(Rescale<0>(a_mod_quarter_minus_quarter));
  const Raw remainder = (a_mod_quarter_minus_quarter - a).raw;
  // Multiply in exp(-2^k) for every bit k of the remainder (the barrel shifter).
  constexpr int32_t kMultipliers[7] = {1672461947, 1302514674, 790015084, 290630308,
                                       39332535,   720401,     242};  // exp(-2^k), k = -2..4
  for (int k = -2; k <= 4; ++k) {
    if (kI > k) {
      const int shift = kFrac + k;
      if ((static_cast<int64_t>(remainder) >> shift) & 1) {
        result = result * OutF::FromInt32Constant(kMultipliers[k + 2]);
      }
    }
  }
  if (kI > 5) {
    // exp(x) for x < -32 underflows to zero.
    const int clamp_bits = kI > 5 ? 36 - kI : 0;
    const InF clamp = InF::FromInt32Constant(static_cast<int32_t>(-(int64_t{1} << clamp_bits)));
    if (a.raw < clamp.raw) result = OutF::Zero();
  }
  if (a.raw == 0) result = OutF::One();
  return result;
}

// (1 - x) / (1 + x) for x in (0, 1): Newton-Raphson division.
template <typename Raw>
constexpr FixedPoint<Raw, 0> OneMinusXOverOnePlusXForXIn01(FixedPoint<Raw, 0> a) {
  using F0 = FixedPoint<Raw, 0>;
  using F2 = FixedPoint<Raw, 2>;
  const F0 half_denominator = RoundingHalfSum(a, F0::One());
  const F2 c48_over_17 = F2::FromInt32Constant(1515870810);
  const F2 c_neg_32_over_17 = F2::FromInt32Constant(-1010580540);
  F2 x = c48_over_17 + half_denominator * c_neg_32_over_17;
  for (int i = 0; i < 3; ++i) {
    const F2 half_denominator_times_x = half_denominator * x;
    const F2 one_minus = F2::One() - half_denominator_times_x;
    x = x + Rescale<2>(x * one_minus);
  }
  return Rescale<0>(x - F2::One());
}

// 1 / (1 + x) for x in (0, 1).
template <typename Raw>
constexpr FixedPoint<Raw, 0> OneOverOnePlusXForXIn01(FixedPoint<Raw, 0> a) {
  using F0 = FixedPoint<Raw, 0>;
  using F2 = FixedPoint<Raw, 2>;
  const F0 half_denominator = RoundingHalfSum(a, F0::One());
  const F2 c48_over_17 = F2::FromInt32Constant(1515870810);
  const F2 c_neg_32_over_17 = F2::FromInt32Constant(-1010580540);
  F2 x = c48_over_17 + half_denominator * c_neg_32_over_17;
  for (int i = 0; i < 3; ++i) {
    const F2 half_denominator_times_x = half_denominator * x;
    const F2 one_minus = F2::One() - half_denominator_times_x;
    x = x + Rescale<2>(x * one_minus);
  }
  return Rescale<0>(ExactMulByPot<-1>(x));
}

// tanh(a) in Q0 (raw / 2^(bits-1)).
template <typename Raw, int kI>
constexpr FixedPoint<Raw, 0> Tanh(FixedPoint<Raw, kI> a) {
  using InF = FixedPoint<Raw, kI>;
  using OutF = FixedPoint<Raw, 0>;
  const bool negative = a.raw < 0;
  const InF minus_abs = negative ? a : -a;
  const OutF t = OneMinusXOverOnePlusXForXIn01(ExpOnNegativeValues(ExactMulByPot<1>(minus_abs)));
  if (a.raw == 0) return OutF::Zero();
  return negative ? -t : t;
}

// 1 / (1 + exp(-a)) in Q0.
template <typename Raw, int kI>
constexpr FixedPoint<Raw, 0> Logistic(FixedPoint<Raw, kI> a) {
  using InF = FixedPoint<Raw, kI>;
  using OutF = FixedPoint<Raw, 0>;
  const bool positive = a.raw > 0;
  const InF abs = positive ? a : -a;
  const OutF if_positive = OneOverOnePlusXForXIn01(ExpOnNegativeValues(-abs));
  if (a.raw == 0) return OutF::FromInt32Constant(1 << 30);  // 0.5
  return positive ? if_positive : OutF::One() - if_positive;
}

// 1/sqrt(input) as a multiplier and shift (TFLite's GetInvSqrtQuantizedMultiplierExp): the result
// m * 2^shift with the shift multiplied by `reverse_shift` (-1: left-positive).
inline void InvSqrtQuantizedMultiplierExp(int32_t input, int reverse_shift, int32_t* multiplier,
                                          int* shift) {
  if (input <= 1) {
    *multiplier = std::numeric_limits<int32_t>::max();
    *shift = 0;
    return;
  }
  int s = 11;
  while (input >= (1 << 29)) {
    input /= 4;
    ++s;
  }
  int leading_zeros = 0;
  for (uint32_t v = static_cast<uint32_t>(input); (v & 0x80000000u) == 0; v <<= 1) ++leading_zeros;
  const int left_shift_bit_pairs = (leading_zeros - 1) / 2 - 1;
  s -= left_shift_bit_pairs;
  input <<= 2 * left_shift_bit_pairs;
  using F3 = FixedPoint<int32_t, 3>;
  using F0 = FixedPoint<int32_t, 0>;
  const F3 fixed_input = F3::FromRaw(input >> 1);
  const F3 half_input = SaturatingRoundingMultiplyByPOT<-1>(fixed_input);
  const F3 three_halves = F3::FromRaw((1 << 28) + (1 << 27));
  F3 x = F3::One();
  for (int i = 0; i < 5; ++i) {
    const F3 x3 = Rescale<3>(x * x * x);
    x = Rescale<3>(three_halves * x - half_input * x3);
  }
  const F0 half_sqrt_2 = F0::FromRaw(1518500250);
  x = x * half_sqrt_2;
  int32_t m = x.raw;
  if (s < 0) {
    m = static_cast<int32_t>(static_cast<uint32_t>(m) << -s);
    s = 0;
  }
  *multiplier = m;
  *shift = s * reverse_shift;
}

}  // namespace fp
}  // namespace quant
}  // namespace edgeopt

#endif  // EDGEOPT_SRC_QUANT_FIXED_POINT_H_
