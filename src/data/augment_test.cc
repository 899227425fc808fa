// Keras's augmentation layers against exact transforms: flips, a quarter turn, a zoom, a shift,
// each fill mode, contrast and brightness with a fixed factor, Gaussian noise statistics.
#include "src/data/augment.h"

#include <gtest/gtest.h>

#include <cmath>
#include <vector>

namespace edgeopt {
namespace data {
namespace {

using Kind = ImageAugmentation::Kind;
using Fill = ImageAugmentation::Fill;

// A h x w x 1 image of distinct values 10 * y + x.
std::vector<float> Ramp(int h, int w) {
  std::vector<float> v;
  for (int y = 0; y < h; ++y) {
    for (int x = 0; x < w; ++x) v.push_back(static_cast<float>(10 * y + x));
  }
  return v;
}

std::vector<float> Apply(const ImageAugmentation& a, std::vector<float> image, int h, int w,
                         uint64_t seed = 1) {
  train::SplitMix64 rng(seed);
  std::vector<float> scratch;
  ApplyAugmentation(a, image.data(), h, w, 1, &rng, &scratch);
  return image;
}

TEST(Augment, FlipsMirrorExactlyAndHalfTheTime) {
  ImageAugmentation a;
  a.kind = Kind::kFlip;
  const std::vector<float> in = Ramp(2, 3);
  const std::vector<float> mirrored = {2, 1, 0, 12, 11, 10};
  int flipped = 0;
  for (uint64_t seed = 0; seed < 200; ++seed) {
    const std::vector<float> out = Apply(a, in, 2, 3, seed);
    ASSERT_TRUE(out == in || out == mirrored) << seed;
    flipped += out == mirrored;
  }
  EXPECT_GT(flipped, 70);
  EXPECT_LT(flipped, 130);
  a.horizontal = false;
  a.vertical = true;
  const std::vector<float> upside_down = {10, 11, 12, 0, 1, 2};
  for (uint64_t seed = 0; seed < 20; ++seed) {
    const std::vector<float> out = Apply(a, in, 2, 3, seed);
    EXPECT_TRUE(out == in || out == upside_down) << seed;
  }
}

TEST(Augment, RotationByAQuarterTurnIsCounterClockwise) {
  ImageAugmentation a;
  a.kind = Kind::kRotation;
  a.lower = a.upper = 0.25f;  // 90 degrees
  a.bilinear = false;
  // 3x3: the right column becomes the top row (counter-clockwise).
  const std::vector<float> out = Apply(a, Ramp(3, 3), 3, 3);
  const std::vector<float> want = {2, 12, 22, 1, 11, 21, 0, 10, 20};
  for (int i = 0; i < 9; ++i) EXPECT_NEAR(out[i], want[i], 1e-4f) << i;
  // Bilinear at a quarter turn lands on pixel centers: the same.
  a.bilinear = true;
  const std::vector<float> smooth = Apply(a, Ramp(3, 3), 3, 3);
  for (int i = 0; i < 9; ++i) EXPECT_NEAR(smooth[i], want[i], 1e-4f) << i;
}

TEST(Augment, ZoomTranslationAndFillModes) {
  // Zoom out by 2 about the center of a 1 x 5 row... (height 1: the width zooms alone).
  ImageAugmentation zoom;
  zoom.kind = Kind::kZoom;
  zoom.lower = zoom.upper = 0.0f;
  zoom.has_width = true;
  zoom.width_lower = zoom.width_upper = 1.0f;  // zoom 2 in x
  zoom.fill = Fill::kConstant;
  zoom.fill_value = -1.0f;
  zoom.bilinear = false;
  // Output x samples input 2 (x - 2) + 2: -2, 0, 2, 4, 6.
  EXPECT_EQ(Apply(zoom, {0, 1, 2, 3, 4}, 1, 5), std::vector<float>({-1, 0, 2, 4, -1}));

  // A shift by 2 rows down of a 4 x 1 column, in each fill mode: out(y) = in(y - 2).
  ImageAugmentation shift;
  shift.kind = Kind::kTranslation;
  shift.lower = shift.upper = 0.5f;  // of the height 4
  shift.has_width = true;
  const std::vector<float> column = {0, 1, 2, 3};
  shift.fill = Fill::kReflect;  // d c b a | a b c d: in(-2), in(-1) = b, a
  EXPECT_EQ(Apply(shift, column, 4, 1), std::vector<float>({1, 0, 0, 1}));
  shift.fill = Fill::kWrap;  // a b c d | a b c d
  EXPECT_EQ(Apply(shift, column, 4, 1), std::vector<float>({2, 3, 0, 1}));
  shift.fill = Fill::kNearest;
  EXPECT_EQ(Apply(shift, column, 4, 1), std::vector<float>({0, 0, 0, 1}));
  shift.fill = Fill::kConstant;
  shift.fill_value = 9.0f;
  EXPECT_EQ(Apply(shift, column, 4, 1), std::vector<float>({9, 9, 0, 1}));
  // Half a pixel, bilinear: the mean of neighbors.
  shift.lower = shift.upper = 0.125f;
  shift.fill = Fill::kNearest;
  EXPECT_EQ(Apply(shift, column, 4, 1), std::vector<float>({0, 0.5f, 1.5f, 2.5f}));
}

TEST(Augment, ContrastBrightnessAndNoise) {
  ImageAugmentation contrast;
  contrast.kind = Kind::kContrast;
  contrast.lower = contrast.upper = 0.5f;  // factor 1.5
  contrast.value_lo = 0.0f;
  contrast.value_hi = 1.0f;
  // Mean 0.5: (x - 0.5) * 1.5 + 0.5, clipped to [0, 1].
  const std::vector<float> out = Apply(contrast, {0.2f, 0.4f, 0.6f, 0.8f}, 2, 2);
  const std::vector<float> want = {0.05f, 0.35f, 0.65f, 0.95f};
  for (int i = 0; i < 4; ++i) EXPECT_NEAR(out[i], want[i], 1e-6f);
  EXPECT_EQ(Apply(contrast, {0.0f, 0.0f, 0.0f, 1.0f}, 2, 2)[3], 1.0f);  // 1.5625 clipped

  ImageAugmentation brightness;
  brightness.kind = Kind::kBrightness;
  brightness.lower = brightness.upper = 0.1f;  // of the range 255
  const std::vector<float> bright = Apply(brightness, {0.0f, 100.0f, 250.0f}, 1, 3);
  EXPECT_EQ(bright, std::vector<float>({25.5f, 125.5f, 255.0f}));

  ImageAugmentation noise;
  noise.kind = Kind::kNoise;
  noise.lower = 0.5f;
  const std::vector<float> noisy = Apply(noise, std::vector<float>(10000, 1.0f), 100, 100);
  double sum = 0.0, sq = 0.0;
  for (float v : noisy) {
    sum += v - 1.0;
    sq += (v - 1.0) * (v - 1.0);
  }
  EXPECT_NEAR(sum / 10000, 0.0, 0.02);
  EXPECT_NEAR(std::sqrt(sq / 10000), 0.5, 0.02);
  EXPECT_NE(DescribeAugmentation(noise).find("stddev 0.5"), std::string::npos);
}

}  // namespace
}  // namespace data
}  // namespace edgeopt
