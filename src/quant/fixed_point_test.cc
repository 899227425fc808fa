#include "src/quant/fixed_point.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>

namespace edgeopt {
namespace quant {
namespace fp {
namespace {

// Accuracy of gemmlowp's int16 approximations against the real functions, in output LSB (of 2^15).
// The int16 path trades accuracy for speed; these bounds were measured over every input.
constexpr int kLogisticInt16MaxLsb = 6;
constexpr int kTanhInt16MaxLsb = 12;
// int32 Q4.27 inputs, Q0.31 outputs: error in units of 2^-31.
constexpr double kInt32MaxError = 512;

TEST(FixedPoint, PrimitivesRoundLikeGemmlowp) {
  // Ties away from zero.
  EXPECT_EQ(RoundingDivideByPOT<int32_t>(5, 1), 3);
  EXPECT_EQ(RoundingDivideByPOT<int32_t>(-5, 1), -3);
  EXPECT_EQ(RoundingDivideByPOT<int16_t>(-6, 2), -2);
  EXPECT_EQ(RoundingDivideByPOT<int16_t>(6, 2), 2);
  // MIN * MIN saturates; otherwise rounded high half of the doubled product.
  EXPECT_EQ(SaturatingRoundingDoublingHighMul<int16_t>(-32768, -32768), 32767);
  EXPECT_EQ(SaturatingRoundingDoublingHighMul<int16_t>(16384, 16384), 8192);
  EXPECT_EQ(SaturatingRoundingDoublingHighMul<int32_t>(1 << 30, -(1 << 30)), -(1 << 29));
  // Saturating left shifts.
  EXPECT_EQ((SaturatingRoundingMultiplyByPOT<2, int16_t>(10000)), 32767);
  EXPECT_EQ((SaturatingRoundingMultiplyByPOT<2, int16_t>(-10000)), -32768);
  EXPECT_EQ((SaturatingRoundingMultiplyByPOT<2, int16_t>(1000)), 4000);
  // Constants are rounded down from 32 bits.
  EXPECT_EQ(ConstantFromInt32<int16_t>(1 << 30), 16384);
  EXPECT_EQ(ConstantFromInt32<int16_t>(1895147668), 28918);
  // Plain additions wrap.
  EXPECT_EQ(WrapAdd<int16_t>(32767, 1), -32768);
  EXPECT_EQ(WrapNeg<int16_t>(-32768), -32768);
}

TEST(FixedPoint, LogisticInt16) {
  using F3 = FixedPoint<int16_t, 3>;
  EXPECT_EQ(Logistic(F3::FromRaw(0)).raw, 16384);
  // Pinned values (the integer LSTM that uses them is bit-exact with TFLite 2.9).
  EXPECT_EQ(Logistic(F3::FromRaw(4096)).raw,
            23952);  // sigmoid(1) * 2^15 = 23955.5
  EXPECT_EQ(Logistic(F3::FromRaw(-4096)).raw,
            8815);  // sigmoid(-1) * 2^15 = 8812.5
  EXPECT_EQ(Logistic(F3::FromRaw(-32768)).raw,
            11);  // sigmoid(-8) * 2^15 = 11.0
  EXPECT_EQ(Logistic(F3::FromRaw(32767)).raw, 32756);
  int worst = 0;
  for (int x = -32768; x <= 32767; ++x) {
    const int16_t got = Logistic(F3::FromRaw(static_cast<int16_t>(x))).raw;
    const double want = std::min(32767.0, 32768.0 / (1.0 + std::exp(-x / 4096.0)));
    worst = std::max(worst, std::abs(got - static_cast<int>(std::lround(want))));
    if (x > 0) {
      // logistic(-x) = 1 - logistic(x), with One() = 32767.
      EXPECT_EQ(Logistic(F3::FromRaw(static_cast<int16_t>(-x))).raw, 32767 - got);
    }
  }
  EXPECT_LE(worst, kLogisticInt16MaxLsb);
}

template <int kIntegerBits>
int TanhInt16WorstLsb() {
  using F = FixedPoint<int16_t, kIntegerBits>;
  int worst = 0;
  for (int x = -32768; x <= 32767; ++x) {
    const int16_t got = Tanh(F::FromRaw(static_cast<int16_t>(x))).raw;
    const double want = std::tanh(x / static_cast<double>(1 << F::kFractionalBits)) * 32768.0;
    worst = std::max(worst, std::abs(got - static_cast<int>(std::lround(std::min(want, 32767.0)))));
    if (x > -32768) {
      EXPECT_EQ(Tanh(F::FromRaw(static_cast<int16_t>(-x))).raw, -got) << x;
    }
  }
  return worst;
}

TEST(FixedPoint, TanhInt16) {
  using F3 = FixedPoint<int16_t, 3>;
  EXPECT_EQ(Tanh(F3::FromRaw(0)).raw, 0);
  EXPECT_EQ(Tanh(F3::FromRaw(4096)).raw, 24964);  // tanh(1) * 2^15 = 24955.9
  EXPECT_EQ(Tanh(F3::FromRaw(-32768)).raw, -32767);
  EXPECT_LE(TanhInt16WorstLsb<0>(), kTanhInt16MaxLsb);
  EXPECT_LE(TanhInt16WorstLsb<3>(), kTanhInt16MaxLsb);
  EXPECT_LE(TanhInt16WorstLsb<4>(), kTanhInt16MaxLsb);
  EXPECT_LE(TanhInt16WorstLsb<6>(), kTanhInt16MaxLsb);
}

TEST(FixedPoint, Int32LogisticAndTanh) {
  using F4 = FixedPoint<int32_t, 4>;
  double worst_logistic = 0, worst_tanh = 0;
  for (int64_t x = INT32_MIN; x <= INT32_MAX; x += 1000003) {
    const double real = x / static_cast<double>(1 << 27);
    const int32_t l = Logistic(F4::FromRaw(static_cast<int32_t>(x))).raw;
    const int32_t t = Tanh(F4::FromRaw(static_cast<int32_t>(x))).raw;
    worst_logistic = std::max(worst_logistic, std::fabs(l - 2147483648.0 / (1 + std::exp(-real))));
    worst_tanh = std::max(worst_tanh, std::fabs(t - std::tanh(real) * 2147483648.0));
  }
  EXPECT_LE(worst_logistic, kInt32MaxError);
  EXPECT_LE(worst_tanh, kInt32MaxError);
  EXPECT_EQ(ExpOnNegativeValues(F4::FromRaw(0)).raw, INT32_MAX);
}

TEST(FixedPoint, InvSqrtMultiplier) {
  int32_t m;
  int shift;
  InvSqrtQuantizedMultiplierExp(1, -1, &m, &shift);
  EXPECT_EQ(m, INT32_MAX);
  EXPECT_EQ(shift, 0);
  InvSqrtQuantizedMultiplierExp(0, -1, &m, &shift);
  EXPECT_EQ(m, INT32_MAX);
  for (int32_t v : {2, 3, 100, 4096, 1000000, 1 << 29, INT32_MAX}) {
    InvSqrtQuantizedMultiplierExp(v, -1, &m, &shift);
    const double value = m / 2147483648.0 * std::pow(2.0, shift);
    EXPECT_NEAR(value * std::sqrt(static_cast<double>(v)), 1.0, 2e-6) << v;
  }
}

}  // namespace
}  // namespace fp
}  // namespace quant
}  // namespace edgeopt
