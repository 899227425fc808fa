#include "src/quant/quant_math.h"

#include <gtest/gtest.h>

#include <random>

namespace edgeopt {
namespace quant {
namespace {

TEST(QuantMath, QuantizeMultiplierReconstructs) {
  std::mt19937 rng(1);
  std::uniform_real_distribution<double> exp(-20, 8);
  for (int i = 0; i < 1000; ++i) {
    const double m = std::pow(2.0, exp(rng));
    int32_t q;
    int shift;
    QuantizeMultiplier(m, &q, &shift);
    EXPECT_GE(q, 1 << 30);
    const double back = q * std::pow(2.0, shift - 31);
    EXPECT_NEAR(back / m, 1.0, 1e-9);
  }
  int32_t q;
  int shift;
  QuantizeMultiplier(0.0, &q, &shift);
  EXPECT_EQ(q, 0);
}

TEST(QuantMath, RoundingDivideByPOTTiesAwayFromZero) {
  EXPECT_EQ(RoundingDivideByPOT(5, 1), 3);    // 2.5 -> 3
  EXPECT_EQ(RoundingDivideByPOT(-5, 1), -3);  // -2.5 -> -3
  EXPECT_EQ(RoundingDivideByPOT(7, 2), 2);    // 1.75 -> 2
  EXPECT_EQ(RoundingDivideByPOT(-6, 2), -2);  // -1.5 -> -2
}

TEST(QuantMath, SaturatingRoundingDoublingHighMul) {
  const int32_t min = std::numeric_limits<int32_t>::min();
  EXPECT_EQ(SaturatingRoundingDoublingHighMul(min, min), std::numeric_limits<int32_t>::max());
  EXPECT_EQ(SaturatingRoundingDoublingHighMul(1 << 30, 1 << 30), 1 << 29);
}

TEST(QuantMath, MultiplyByQuantizedMultiplierMatchesReal) {
  std::mt19937 rng(2);
  for (int i = 0; i < 10000; ++i) {
    const double m = std::uniform_real_distribution<double>(1e-6, 4.0)(rng);
    int32_t q;
    int shift;
    QuantizeMultiplier(m, &q, &shift);
    const int32_t x = static_cast<int32_t>(rng() % 200001) - 100000;
    const int32_t got = MultiplyByQuantizedMultiplier(x, q, shift);
    EXPECT_NEAR(got, x * m, 1.0 + std::abs(x * m) * 1e-6);
  }
}

TEST(QuantMath, ChooseQuantParamsCoversRangeAndZero) {
  QuantParams p = ChooseQuantParams(-1.0f, 3.0f, -128, 127);
  EXPECT_NEAR(p.scale, 4.0 / 255.0, 1e-7);
  // zero must be exactly representable
  EXPECT_GE(p.zero_point, -128);
  EXPECT_LE(p.zero_point, 127);
  EXPECT_EQ(p.zero_point, -64);
  QuantParams pos = ChooseQuantParams(2.0f, 6.0f, -128, 127);  // widened to [0, 6]
  EXPECT_EQ(pos.zero_point, -128);
  QuantParams sym = ChooseSymmetricQuantParams(2.54f, 127);
  EXPECT_FLOAT_EQ(sym.scale, 0.02f);
  EXPECT_EQ(sym.zero_point, 0);
}

TEST(QuantMath, ActivationRange) {
  int32_t lo, hi;
  ActivationRangeQuantized(3, 0.05f, -128, -128, 127, &lo, &hi);  // RELU6
  EXPECT_EQ(lo, -128);
  EXPECT_EQ(hi, -8);  // -128 + 6/0.05
  ActivationRangeQuantized(0, 0.05f, -3, -128, 127, &lo, &hi);
  EXPECT_EQ(lo, -128);
  EXPECT_EQ(hi, 127);
}

}  // namespace
}  // namespace quant
}  // namespace edgeopt
