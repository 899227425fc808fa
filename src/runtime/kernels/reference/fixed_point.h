// Q-format fixed-point arithmetic on int16/int32 with gemmlowp's rounding semantics, and the
// transcendental approximations TFLite's integer kernels are built on (exp on negative values,
// 1/(1+x), tanh, logistic). Results must agree bit for bit with TFLite, so every operation
// reproduces the exact rounding of the original (round-half-away doubling high multiply, rounding
// right shifts, saturating left shifts).
//
// Fx<R, I> holds a raw R (int16_t or int32_t) representing raw / 2^(bits(R) - 1 - I).
#ifndef EDGEOPT_SRC_RUNTIME_KERNELS_REFERENCE_FIXED_POINT_H_
#define EDGEOPT_SRC_RUNTIME_KERNELS_REFERENCE_FIXED_POINT_H_

#include <cstdint>
#include <limits>
#include <type_traits>

namespace edgeopt {
namespace rt {
namespace ref {

// --- raw integer primitives ----------------------------------------------------------------------

template <typename R>
using WideOf = typename std::conditional<sizeof(R) == 2, int32_t, int64_t>::type;

// Rounded high half of 2*a*b; the single overflow case (min*min) saturates to max.
template <typename R>
inline R SatRoundDoublingHighMul(R a, R b) {
  using W = WideOf<R>;
  constexpr int kBits = 8 * sizeof(R);
  if (a == b && a == std::numeric_limits<R>::min()) return std::numeric_limits<R>::max();
  const W ab = static_cast<W>(a) * static_cast<W>(b);
  const W half = static_cast<W>(1) << (kBits - 2);
  const W nudge = ab >= 0 ? half : 1 - half;
  return static_cast<R>((ab + nudge) / (static_cast<W>(1) << (kBits - 1)));
}

// x / 2^e rounded to nearest, ties away from zero (arithmetic shift based).
template <typename R>
inline R RoundDivByPOT(R x, int e) {
  const R mask = static_cast<R>((static_cast<int64_t>(1) << e) - 1);
  const R remainder = static_cast<R>(x & mask);
  const R threshold = static_cast<R>((mask >> 1) + (x < 0 ? 1 : 0));
  return static_cast<R>((x >> e) + (remainder > threshold ? 1 : 0));
}

// x * 2^e for e > 0 saturating, e < 0 rounding, e == 0 identity.
template <typename R>
inline R SatRoundMulByPOT(R x, int e) {
  if (e == 0) return x;
  if (e < 0) return RoundDivByPOT<R>(x, -e);
  constexpr int kBits = 8 * sizeof(R);
  const int64_t threshold = (static_cast<int64_t>(1) << (kBits - 1 - e)) - 1;
  if (x > threshold) return std::numeric_limits<R>::max();
  if (x < -threshold) return std::numeric_limits<R>::min();
  return static_cast<R>(static_cast<int64_t>(x) * (static_cast<int64_t>(1) << e));
}

// a + b with saturation for int16, plain (wrapping) for int32, as gemmlowp.
template <typename R>
inline R AddSatIf16(R a, R b) {
  if (sizeof(R) == 2) {
    const int32_t s = static_cast<int32_t>(a) + static_cast<int32_t>(b);
    return static_cast<R>(s > 32767 ? 32767 : (s < -32768 ? -32768 : s));
  }
  return static_cast<R>(static_cast<uint32_t>(a) + static_cast<uint32_t>(b));
}

template <typename R>
inline R RoundingHalfSum(R a, R b) {
  using W = WideOf<R>;
  const W sum = static_cast<W>(a) + static_cast<W>(b);
  const W sign = sum >= 0 ? 1 : -1;
  return static_cast<R>((sum + sign) / 2);
}

// Wrapping add/sub/neg (gemmlowp's plain operators on raw values).
template <typename R>
inline R WrapAdd(R a, R b) {
  return static_cast<R>(static_cast<uint32_t>(static_cast<int32_t>(a)) +
                        static_cast<uint32_t>(static_cast<int32_t>(b)));
}
template <typename R>
inline R WrapSub(R a, R b) {
  return static_cast<R>(static_cast<uint32_t>(static_cast<int32_t>(a)) -
                        static_cast<uint32_t>(static_cast<int32_t>(b)));
}

// A gemmlowp constant given as an int32 Q0.31-style raw value, narrowed for int16 with rounding.
template <typename R>
inline R ConstantRaw(int32_t int32_raw) {
  return static_cast<R>(RoundDivByPOT<int32_t>(int32_raw, 32 - 8 * static_cast<int>(sizeof(R))));
}

// --- fixed-point values --------------------------------------------------------------------------

template <typename R, int I>
struct Fx {
  static constexpr int kBits = 8 * sizeof(R);
  static constexpr int kFrac = kBits - 1 - I;
  R raw;

  static Fx FromRaw(R r) { return Fx{r}; }
  static Fx Zero() { return Fx{0}; }
  static Fx One() {
    return Fx{I == 0 ? std::numeric_limits<R>::max()
                     : static_cast<R>(R(1) << (kFrac < 0 ? 0 : kFrac))};
  }
  // 2^e as a constant (e must be representable).
  static Fx ConstantPOT(int e) { return Fx{static_cast<R>(R(1) << (kFrac + e))}; }
  static Fx Constant(int32_t int32_raw) { return Fx{ConstantRaw<R>(int32_raw)}; }
};

template <typename R, int I>
inline Fx<R, I> operator+(Fx<R, I> a, Fx<R, I> b) {
  return Fx<R, I>{WrapAdd(a.raw, b.raw)};
}
template <typename R, int I>
inline Fx<R, I> operator-(Fx<R, I> a, Fx<R, I> b) {
  return Fx<R, I>{WrapSub(a.raw, b.raw)};
}
template <typename R, int I>
inline Fx<R, I> operator-(Fx<R, I> a) {
  return Fx<R, I>{WrapSub(R(0), a.raw)};
}
template <typename R, int IA, int IB>
inline Fx<R, IA + IB> operator*(Fx<R, IA> a, Fx<R, IB> b) {
  return Fx<R, IA + IB>{SatRoundDoublingHighMul<R>(a.raw, b.raw)};
}

// Changes the number of integer bits (saturating / rounding the raw value).
template <int IDst, typename R, int ISrc>
inline Fx<R, IDst> Rescale(Fx<R, ISrc> x) {
  return Fx<R, IDst>{SatRoundMulByPOT<R>(x.raw, ISrc - IDst)};
}

// Multiplies by 2^E exactly by reinterpreting the raw value with E more integer bits.
template <int E, typename R, int I>
inline Fx<R, I + E> ExactMulByPot(Fx<R, I> x) {
  return Fx<R, I + E>{x.raw};
}

// exp(a) for a in [-1/4, 0).
template <typename R>
inline Fx<R, 0> ExpOnIntervalNegQuarterTo0(Fx<R, 0> a) {
  using F = Fx<R, 0>;
  const F constant_term = F::Constant(1895147668);  // exp(-1/8)
  const F one_third = F::Constant(715827883);
  const F x = a + F::ConstantPOT(-3);
  const F x2 = x * x;
  const F x3 = x2 * x;
  const F x4 = x2 * x2;
  const F x4_over_4 = F{SatRoundMulByPOT<R>(x4.raw, -2)};
  const F poly = F{SatRoundMulByPOT<R>((((x4_over_4 + x3) * one_third) + x2).raw, -1)};
  const F prod = constant_term * (x + poly);
  return F{AddSatIf16<R>(constant_term.raw, prod.raw)};
}

// exp(a) for a <= 0 (exp(0) = One).
template <typename R, int I>
inline Fx<R, 0> ExpOnNegativeValues(Fx<R, I> a) {
  using InF = Fx<R, I>;
  using OutF = Fx<R, 0>;
  constexpr int kFrac = InF::kFrac;
  const InF one_quarter = InF::ConstantPOT(-2);
  const InF mask = one_quarter - InF::FromRaw(1);
  const InF a_mod = InF{static_cast<R>(a.raw & mask.raw)} - one_quarter;
  OutF result = ExpOnIntervalNegQuarterTo0<R>(Rescale<0>(a_mod));
  const R remainder = (a_mod - a).raw;
  struct Step {
    int exponent;
    int32_t multiplier;
  };
  static constexpr Step kSteps[] = {{-2, 1672461947}, {-1, 1302514674}, {0, 790015084},
                                    {1, 290630308},   {2, 39332535},    {3, 720401},
                                    {4, 242}};
  for (const Step& s : kSteps) {
    if (I > s.exponent) {
      const int shift = kFrac + s.exponent;
      if ((remainder & static_cast<R>(static_cast<int64_t>(1) << shift)) != 0) {
        result = result * OutF::Constant(s.multiplier);
      }
    }
  }
  if (I > 5) {
    const int clamp_shift = 36 - I;
    const InF clamp = InF::Constant(-(1 << clamp_shift));
    if (a.raw < clamp.raw) result = OutF::Zero();
  }
  if (a.raw == 0) result = OutF::One();
  return result;
}

// Newton-Raphson 1/(1+x) for x in [0, 1]: the 48/17 - 32/17 seed and three iterations.
template <typename R>
inline Fx<R, 2> NewtonReciprocalHalfDenominator(Fx<R, 0> half_denominator) {
  using F2 = Fx<R, 2>;
  const F2 c48_17 = F2::Constant(1515870810);
  const F2 cneg32_17 = F2::Constant(-1010580540);
  F2 x = c48_17 + half_denominator * cneg32_17;
  for (int i = 0; i < 3; ++i) {
    const F2 hd_x = half_denominator * x;
    const F2 one_minus = F2::One() - hd_x;
    x = x + Rescale<2>(x * one_minus);
  }
  return x;
}

template <typename R>
inline Fx<R, 0> OneOverOnePlusX(Fx<R, 0> a) {
  const Fx<R, 0> half_denominator = Fx<R, 0>{RoundingHalfSum<R>(a.raw, Fx<R, 0>::One().raw)};
  return Rescale<0>(ExactMulByPot<-1>(NewtonReciprocalHalfDenominator<R>(half_denominator)));
}

template <typename R>
inline Fx<R, 0> OneMinusXOverOnePlusX(Fx<R, 0> a) {
  const Fx<R, 0> half_denominator = Fx<R, 0>{RoundingHalfSum<R>(a.raw, Fx<R, 0>::One().raw)};
  return Rescale<0>(NewtonReciprocalHalfDenominator<R>(half_denominator) - Fx<R, 2>::One());
}

template <typename R, int I>
inline Fx<R, 0> FixedTanh(Fx<R, I> a) {
  if (a.raw == 0) return Fx<R, 0>::Zero();
  const bool negative = a.raw < 0;
  const Fx<R, I> n = negative ? a : -a;
  const Fx<R, 0> t = OneMinusXOverOnePlusX<R>(ExpOnNegativeValues(ExactMulByPot<1>(n)));
  return negative ? -t : t;
}

template <typename R, int I>
inline Fx<R, 0> FixedLogistic(Fx<R, I> a) {
  if (a.raw == 0) return Fx<R, 0>::Constant(1 << 30);
  const bool positive = a.raw > 0;
  const Fx<R, I> abs_a = positive ? a : -a;
  const Fx<R, 0> pos = OneOverOnePlusX<R>(ExpOnNegativeValues(-abs_a));
  return positive ? pos : Fx<R, 0>::One() - pos;
}

// --- helpers used by TFLite's integer kernels ----------------------------------------------------

inline int CountLeadingZeros32(uint32_t x) { return x == 0 ? 32 : __builtin_clz(x); }

inline int CountLeadingSignBits32(int32_t x) {
  if (x == 0) return 31;
  return x < 0 ? CountLeadingZeros32(~static_cast<uint32_t>(x)) - 1
               : CountLeadingZeros32(static_cast<uint32_t>(x)) - 1;
}

// Reciprocal of x > 0 that has `x_integer_digits` integer bits: returns a Q0.31 value r and
// `num_bits_over_unit` with 1/x ~= r * 2^(num_bits_over_unit - 31) ... (TFLite's GetReciprocal).
inline int32_t GetReciprocal(int32_t x, int x_integer_digits, int* num_bits_over_unit) {
  const int headroom_plus_one = CountLeadingZeros32(static_cast<uint32_t>(x));
  *num_bits_over_unit = x_integer_digits - headroom_plus_one;
  const int32_t shifted_sum_minus_one = static_cast<int32_t>(
      (static_cast<uint32_t>(x) << headroom_plus_one) - (static_cast<uint32_t>(1) << 31));
  return OneOverOnePlusX<int32_t>(Fx<int32_t, 0>{shifted_sum_minus_one}).raw;
}

// 1/sqrt(input) for an int32 input as a quantized multiplier and shift, by TFLite's Newton-Raphson
// iteration in Q3.28 (GetInvSqrtQuantizedMultiplierExp). reverse_shift -1 gives a
// left-shift-positive exponent. Inputs 0 and 1 return (INT32_MAX, 0).
inline void GetInvSqrtQuantizedMultiplierExp(int32_t input, int reverse_shift,
                                             int32_t* output_inv_sqrt, int* output_shift) {
  if (input <= 1) {
    *output_inv_sqrt = std::numeric_limits<int32_t>::max();
    *output_shift = 0;
    return;
  }
  *output_shift = 11;
  while (input >= (1 << 29)) {
    input /= 4;
    ++*output_shift;
  }
  const unsigned max_left_shift_bits = CountLeadingZeros32(static_cast<uint32_t>(input)) - 1;
  const unsigned max_left_shift_bit_pairs = max_left_shift_bits / 2;
  const unsigned left_shift_bit_pairs = max_left_shift_bit_pairs - 1;
  *output_shift -= static_cast<int>(left_shift_bit_pairs);
  input <<= 2 * left_shift_bit_pairs;
  using F3 = Fx<int32_t, 3>;
  using F0 = Fx<int32_t, 0>;
  const F3 fx_input = F3{input >> 1};
  const F3 fx_half_input = F3{SatRoundMulByPOT<int32_t>(fx_input.raw, -1)};
  const F3 fx_half_three = F3::Constant((1 << 28) + (1 << 27));
  F3 x = F3::One();
  for (int i = 0; i < 5; ++i) {
    const F3 x3 = Rescale<3>(x * x * x);
    x = Rescale<3>(fx_half_three * x - fx_half_input * x3);
  }
  const F0 half_sqrt_2 = F0::Constant(1518500250);
  x = x * half_sqrt_2;
  *output_inv_sqrt = x.raw;
  if (*output_shift < 0) {
    *output_inv_sqrt <<= -*output_shift;
    *output_shift = 0;
  }
  *output_shift *= reverse_shift;
}

}  // namespace ref
}  // namespace rt
}  // namespace edgeopt

#endif  // EDGEOPT_SRC_RUNTIME_KERNELS_REFERENCE_FIXED_POINT_H_
