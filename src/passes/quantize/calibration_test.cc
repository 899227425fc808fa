#include "src/passes/quantize/calibration.h"

#include <gtest/gtest.h>

#include <random>

namespace edgeopt {
namespace quantize {
namespace {

TensorObserver Observe(const std::vector<float>& x) {
  TensorObserver o;
  o.ObserveMinMax(x.data(), x.size());
  o.StartHistogram();
  o.ObserveHistogram(x.data(), x.size());
  return o;
}

// Gaussian bulk plus a few large outliers: the clipping methods must cut the outliers, minmax
// must not.
std::vector<float> WithOutliers(bool relu) {
  std::mt19937 rng(3);
  std::normal_distribution<float> n(0.0f, 1.0f);
  std::vector<float> x(200000);
  for (float& v : x) {
    v = n(rng);
    if (relu) v = std::max(v, 0.0f);
  }
  x[10] = 40.0f;
  x[20] = 35.0f;
  if (!relu) x[30] = -38.0f;
  return x;
}

TEST(Calibration, MinMaxIsTheObservedRangeWithZero) {
  TensorObserver o = Observe({0.5f, 2.0f, 1.0f});
  Range r = o.ComputeRange(CalibrationMethod::kMinMax, 256);
  EXPECT_EQ(r.min, 0.0f);  // widened to contain 0
  EXPECT_EQ(r.max, 2.0f);
}

TEST(Calibration, PercentileCutsOutliers) {
  TensorObserver o = Observe(WithOutliers(false));
  Range r = o.ComputeRange(CalibrationMethod::kPercentile, 256, 99.99);
  // The 99.99th percentile of N(0,1) is about 3.7; the histogram bins are 78/2048 wide.
  EXPECT_GT(r.max, 3.0f);
  EXPECT_LT(r.max, 4.5f);
  EXPECT_LT(r.min, -3.0f);
  EXPECT_GT(r.min, -4.5f);
}

TEST(Calibration, KlClipsOutliersAndKeepsTheBulk) {
  for (bool relu : {true, false}) {
    TensorObserver o = Observe(WithOutliers(relu));
    Range r = o.ComputeRange(CalibrationMethod::kKl, 256);
    EXPECT_LT(r.max, 20.0f) << "relu=" << relu;
    EXPECT_GT(r.max, 2.0f) << "relu=" << relu;
    if (relu) {
      EXPECT_EQ(r.min, 0.0f);
    } else {
      EXPECT_LT(r.min, -2.0f);
    }
  }
}

// MSE-optimal clipping trades rounding noise of the bulk against clipping error of the tail:
// with 8 bits, two outliers cost more clipped than the finer step saves (no clip); with 4 bits
// the step is so coarse that clipping wins.
TEST(Calibration, MseClipsOnlyWhenItLowersTheError) {
  TensorObserver o = Observe(WithOutliers(true));
  Range r8 = o.ComputeRange(CalibrationMethod::kMse, 256);
  EXPECT_GT(r8.max, 30.0f);
  Range r4 = o.ComputeRange(CalibrationMethod::kMse, 16);
  EXPECT_LT(r4.max, 10.0f);
  EXPECT_GT(r4.max, 2.0f);
  EXPECT_EQ(r4.min, 0.0f);
}

TEST(Calibration, UniformDataIsNotClipped) {
  std::vector<float> x(100000);
  std::mt19937 rng(5);
  std::uniform_real_distribution<float> u(-1.0f, 1.0f);
  for (float& v : x) v = u(rng);
  TensorObserver o = Observe(x);
  Range r = o.ComputeRange(CalibrationMethod::kMse, 256);
  EXPECT_GT(r.max, 0.95f);
  EXPECT_LT(r.min, -0.95f);
}

TEST(Calibration, ConstantAndEmptyTensors) {
  TensorObserver zero = Observe({0.0f, 0.0f});
  Range r = zero.ComputeRange(CalibrationMethod::kKl, 256);
  EXPECT_EQ(r.min, 0.0f);
  EXPECT_EQ(r.max, 0.0f);
  TensorObserver none;
  EXPECT_FALSE(none.seen());
}

TEST(Calibration, ParseMethod) {
  EXPECT_TRUE(ParseCalibrationMethod("kl").ok());
  EXPECT_FALSE(ParseCalibrationMethod("median").ok());
}

}  // namespace
}  // namespace quantize
}  // namespace edgeopt
