// gemmlowp's int16 logistic and tanh (quant/fixed_point.h: Logistic, Tanh and what they call)
// on vectors of int16 lanes, for building the recurrent kernels' activation tables 8-16 inputs
// at a time. Every step is the scalar code's step, so the values are the scalar functions' bit
// for bit; the tables' exhaustive test (recurrent_ukernels_test.cc) checks all 65,536 inputs of
// each.
//
// `O` supplies the lane operations of one instruction set (its recurrent_*.cc), on a vector
// type `V`:
//   V Dup(int16_t); V Iota() (lane i holds i); void Store(int16_t*, V);
//   V Add(V, V), Sub(V, V) (wrapping); V AddSat(V, V); V And(V, V);
//   V Mul(V, V): SaturatingRoundingDoublingHighMul, (a * b + 2^14) >> 15, MIN * MIN -> MAX;
//   V Sra(V, int): arithmetic shift right;
//   V Gt(V, V), Eq(V, V): all-ones lanes where true, zero elsewhere;
//   V Select(V mask, V a, V b): a where mask, else b;
//   V AvgNonNeg(V, V): (a + b + 1) >> 1 for a, b >= 0 (RoundingHalfSum of those).
#ifndef EDGEOPT_SRC_RUNTIME_KERNELS_UKERNELS_FIXED_POINT_LANES_H_
#define EDGEOPT_SRC_RUNTIME_KERNELS_UKERNELS_FIXED_POINT_LANES_H_

#include <cstdint>

#include "src/quant/fixed_point.h"

namespace edgeopt {
namespace rt {
namespace fp_lanes {

// A constant written as a 32-bit fixed-point raw value, as int16 (ConstantFromInt32).
constexpr int16_t C(int32_t raw32) { return quant::fp::ConstantFromInt32<int16_t>(raw32); }

// x / 2^e rounded to nearest, ties away from zero (RoundingDivideByPOT), 0 <= e < 15.
template <class O, class V>
V RoundingDivideByPOT(V x, int e) {
  const int16_t mask = static_cast<int16_t>((1 << e) - 1);
  // Subtracting an all-ones (-1) mask adds one: the threshold is one higher for x < 0.
  const V threshold = O::Sub(O::Dup(static_cast<int16_t>(mask >> 1)), O::Gt(O::Dup(0), x));
  return O::Sub(O::Sra(x, e), O::Gt(O::And(x, O::Dup(mask)), threshold));
}

// x * 2^e saturated to int16 (SaturatingRoundingMultiplyByPOT with e >= 0): doubling with
// saturation e times saturates exactly when the product leaves the range.
template <class O, class V>
V SaturatingShiftLeft(V x, int e) {
  for (int i = 0; i < e; ++i) x = O::AddSat(x, x);
  return x;
}

// exp(a) for a in [-1/4, 0), Q0.15 (ExpOnIntervalBetweenNegativeOneQuarterAnd0Excl).
template <class O, class V>
V ExpOnInterval(V a) {
  const V exp_minus_one_eighth = O::Dup(C(1895147668));
  const V x = O::Add(a, O::Dup(1 << 12));  // a + 1/8
  const V x2 = O::Mul(x, x);
  const V x3 = O::Mul(x2, x);
  const V x4 = O::Mul(x2, x2);
  const V x4_over_4 = RoundingDivideByPOT<O>(x4, 2);
  const V higher_terms =
      RoundingDivideByPOT<O>(O::Add(O::Mul(O::Add(x4_over_4, x3), O::Dup(C(715827883))), x2), 1);
  return O::AddSat(exp_minus_one_eighth, O::Mul(exp_minus_one_eighth, O::Add(x, higher_terms)));
}

// exp(a) for a <= 0 in Q(integer_bits) (ExpOnNegativeValues), Q0.15; integer_bits in [1, 7].
template <class O, class V>
V ExpOnNegativeValues(V a, int integer_bits) {
  const int frac = 15 - integer_bits;
  const int16_t quarter = static_cast<int16_t>(1 << (frac - 2));
  const V a_mod_quarter_minus_quarter =
      O::Sub(O::And(a, O::Dup(static_cast<int16_t>(quarter - 1))), O::Dup(quarter));
  V result = ExpOnInterval<O>(SaturatingShiftLeft<O>(a_mod_quarter_minus_quarter, integer_bits));
  const V remainder = O::Sub(a_mod_quarter_minus_quarter, a);
  constexpr int32_t kMultipliers[7] = {1672461947, 1302514674, 790015084, 290630308,
                                       39332535,   720401,     242};  // exp(-2^k), k = -2..4
  for (int k = -2; k <= 4 && k < integer_bits; ++k) {
    const V bit = O::Dup(static_cast<int16_t>(1 << (frac + k)));
    result = O::Select(O::Eq(O::And(remainder, bit), bit),
                       O::Mul(result, O::Dup(C(kMultipliers[k + 2]))), result);
  }
  if (integer_bits > 5) {  // exp(x) for x < -32 underflows to zero
    const V clamp = O::Dup(C(static_cast<int32_t>(-(int64_t{1} << (36 - integer_bits)))));
    result = O::Select(O::Gt(clamp, a), O::Dup(0), result);
  }
  return O::Select(O::Eq(a, O::Dup(0)), O::Dup(32767), result);
}

// (1 - a) / (1 + a) (`minus`) or 1 / (1 + a) for a in [0, 1), Q0.15, by Newton-Raphson in Q2.13
// (OneMinusXOverOnePlusXForXIn01, OneOverOnePlusXForXIn01).
template <class O, class V>
V NewtonReciprocal(V a, bool minus) {
  const V half_denominator = O::AvgNonNeg(a, O::Dup(32767));
  V x = O::Add(O::Dup(C(1515870810)), O::Mul(half_denominator, O::Dup(C(-1010580540))));
  for (int i = 0; i < 3; ++i) {
    const V one_minus = O::Sub(O::Dup(1 << 13), O::Mul(half_denominator, x));
    x = O::Add(x, SaturatingShiftLeft<O>(O::Mul(x, one_minus), 2));
  }
  return minus ? SaturatingShiftLeft<O>(O::Sub(x, O::Dup(1 << 13)), 2)
               : SaturatingShiftLeft<O>(x, 1);
}

// Tanh of Q(integer_bits) values (integer_bits in [0, 6]) into Q0.15.
template <class O, class V>
V Tanh(V a, int integer_bits) {
  const V zero = O::Dup(0);
  const V negative = O::Gt(zero, a);
  const V minus_abs = O::Select(negative, a, O::Sub(zero, a));
  const V t = NewtonReciprocal<O>(ExpOnNegativeValues<O>(minus_abs, integer_bits + 1), true);
  return O::Select(O::Eq(a, zero), zero, O::Select(negative, O::Sub(zero, t), t));
}

// Logistic of Q3.12 values into Q0.15.
template <class O, class V>
V Logistic(V a) {
  const V zero = O::Dup(0);
  const V positive = O::Gt(a, zero);
  const V abs = O::Select(positive, a, O::Sub(zero, a));
  const V if_positive = NewtonReciprocal<O>(ExpOnNegativeValues<O>(O::Sub(zero, abs), 3), false);
  return O::Select(O::Eq(a, zero), O::Dup(1 << 14),
                   O::Select(positive, if_positive, O::Sub(O::Dup(32767), if_positive)));
}

// out[x] = f(x) for x in [0, 32767] and out[32768] = f(-32768): logistic (Q3.12 in) when
// `integer_bits` < 0, else tanh of Q(integer_bits) values. `out` holds 32768 + kLanes values.
template <class O, class V, int kLanes>
void ActivationHalfTable(int integer_bits, int16_t* out) {
  const auto f = [integer_bits](V x) {
    return integer_bits < 0 ? Logistic<O>(x) : Tanh<O>(x, integer_bits);
  };
  V x = O::Iota();
  const V step = O::Dup(kLanes);
  for (int i = 0; i < 32768; i += kLanes, x = O::Add(x, step)) O::Store(out + i, f(x));
  O::Store(out + 32768, f(O::Dup(-32768)));
}

}  // namespace fp_lanes
}  // namespace rt
}  // namespace edgeopt

#endif  // EDGEOPT_SRC_RUNTIME_KERNELS_UKERNELS_FIXED_POINT_LANES_H_
