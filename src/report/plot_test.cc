#include "src/report/plot.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <random>
#include <string>
#include <vector>

#include "src/util/file_util.h"

namespace edgeopt {
namespace report {
namespace {

constexpr double kWidth = 600, kHeight = 500, kChar = 7, kLine = 14;

// Pixel position of y in the layout's range.
double PixelY(const ScatterLayout& l, double y) {
  return (y - l.y_lo) / (l.y_hi - l.y_lo) * kHeight;
}

double PixelX(const ScatterPanel& p, const ScatterLayout& l, double x) {
  auto f = [&](double v) { return p.log_x ? std::log10(v) : v; };
  return (f(x) - f(l.x_lo)) / (f(l.x_hi) - f(l.x_lo)) * kWidth;
}

// Every pair of label boxes (right of the point, a line high) is apart.
void ExpectNoOverlap(const ScatterPanel& p, const ScatterLayout& l) {
  ASSERT_EQ(l.label_y.size(), p.points.size());
  for (size_t i = 0; i < p.points.size(); ++i) {
    for (size_t j = i + 1; j < p.points.size(); ++j) {
      const double ax = PixelX(p, l, p.points[i].x) + kChar;
      const double bx = PixelX(p, l, p.points[j].x) + kChar;
      const bool x_overlap =
          ax < bx + kChar * p.points[j].label.size() && bx < ax + kChar * p.points[i].label.size();
      const double dy = std::abs(PixelY(l, l.label_y[i]) - PixelY(l, l.label_y[j]));
      EXPECT_FALSE(x_overlap && dy < kLine - 1e-6)
          << p.points[i].label << " and " << p.points[j].label << " overlap (" << dy << " px)";
    }
  }
}

TEST(LayoutScatter, AnIsolatedLabelSitsJustAboveItsPoint) {
  ScatterPanel p;
  p.points = {{"a", 10, 80}, {"b", 1000, 90}};
  p.log_x = true;
  const ScatterLayout l = LayoutScatter(p, kWidth, kHeight, kChar, kLine);
  ASSERT_EQ(l.label_y.size(), 2u);
  for (int i = 0; i < 2; ++i) {
    EXPECT_NEAR(PixelY(l, l.label_y[i]) - PixelY(l, p.points[i].y), 0.9 * kLine, 1e-9);
  }
  // The ranges hold every point, with room on the right for the labels.
  EXPECT_LT(l.x_lo, 10);
  EXPECT_GT(l.x_lo, 0);
  EXPECT_GT(l.x_hi, 1000 * 2);
  EXPECT_LT(l.y_lo, 80);
  EXPECT_GT(l.y_hi, 90);
}

TEST(LayoutScatter, LabelsOfCoincidentPointsAreStacked) {
  ScatterPanel p;
  p.points = {{"int8", 225, 88.97},    {"dynamic", 224, 88.96}, {"int16x8", 226, 88.90},
              {"float16", 442, 88.96}, {"float32", 881, 88.97}, {"student", 58, 86.09}};
  p.log_x = true;
  const ScatterLayout l = LayoutScatter(p, kWidth, kHeight, kChar, kLine);
  ExpectNoOverlap(p, l);
  // The three near-identical points (a pixel apart on an axis from 86 to 89): above, below,
  // then further out.
  EXPECT_GT(l.label_y[0], p.points[0].y);
  EXPECT_LT(l.label_y[1], p.points[1].y);
  EXPECT_LT(l.label_y[2], l.label_y[1]);
  // float32 is far enough right to keep its place above its point.
  EXPECT_NEAR(PixelY(l, l.label_y[4]) - PixelY(l, p.points[4].y), 0.9 * kLine, 1e-9);
}

TEST(LayoutScatter, RandomCloudsHaveNoOverlappingLabels) {
  std::mt19937 rng(3);
  std::uniform_real_distribution<double> x(1, 40), y(85, 92);
  for (int round = 0; round < 20; ++round) {
    ScatterPanel p;
    p.log_x = round % 2 == 0;
    for (int i = 0; i < 15; ++i)
      p.points.push_back({"variant" + std::to_string(i), x(rng), y(rng)});
    ExpectNoOverlap(p, LayoutScatter(p, kWidth, kHeight, kChar, kLine));
  }
  // One point, or all points equal: a range of nonzero width.
  ScatterPanel one;
  one.points = {{"only", 5, 50}, {"same", 5, 50}};
  const ScatterLayout l = LayoutScatter(one, kWidth, kHeight, kChar, kLine);
  EXPECT_LT(l.x_lo, 5);
  EXPECT_GT(l.x_hi, 5);
  EXPECT_LT(l.y_lo, 50);
  EXPECT_GT(l.y_hi, 50);
  ExpectNoOverlap(one, l);
}

TEST(WriteScatterPanels, WritesAPngOrSaysWhy) {
  if (!GnuplotAvailable()) GTEST_SKIP() << "gnuplot is not installed";
  const std::string dir = ::testing::TempDir();
  const std::string png = dir + "/edgeopt_plot_test.png";
  std::remove(png.c_str());
  ScatterPanel a{"Size", "KiB", "accuracy (%)", {{"x_1", 10, 80}, {"y", 100, 90}}, true};
  ScatterPanel b{"Latency", "us", "accuracy (%)", {{"x_1", 3, 80}, {"y", 30, 90}}, false};
  ASSERT_TRUE(WriteScatterPanels(png, {a, b}).ok());
  auto bytes = ReadFileBytes(png);
  ASSERT_TRUE(bytes.ok());
  ASSERT_GT(bytes->size(), 8u);
  EXPECT_EQ(std::string(bytes->begin() + 1, bytes->begin() + 4), "PNG");
  EXPECT_FALSE(FileExists(png + ".tmp.png"));
  std::remove(png.c_str());
  // A folder that does not exist: an error naming the file, nothing written.
  const std::string bad = dir + "/no_such_dir_for_plots/p.png";
  const Status s = WriteScatterPanels(bad, {a});
  EXPECT_FALSE(s.ok());
  EXPECT_NE(s.message().find("p.png"), std::string::npos) << s.message();
  EXPECT_FALSE(FileExists(bad));
}

TEST(WriteHeatmap, WritesAPngOfASquareMatrixOrSaysWhy) {
  EXPECT_FALSE(WriteHeatmap("x.png", "t", "p", "t", {"a", "b"}, {1, 2, 3}, {0, 0, 0}).ok());
  if (!GnuplotAvailable()) GTEST_SKIP() << "gnuplot is not installed";
  const std::string png = ::testing::TempDir() + "/edgeopt_heatmap_test.png";
  std::remove(png.c_str());
  ASSERT_TRUE(WriteHeatmap(png, "confusion", "predicted", "true", {"cat", "dog_2", "bird"},
                           {5, 1, 0, 2, 7, 1, 0, 0, 9}, {0.8, 0.2, 0, 0.2, 0.7, 0.1, 0, 0, 1})
                  .ok());
  auto bytes = ReadFileBytes(png);
  ASSERT_TRUE(bytes.ok());
  ASSERT_GT(bytes->size(), 1000u);
  EXPECT_EQ(std::string(bytes->begin() + 1, bytes->begin() + 4), "PNG");
  EXPECT_FALSE(FileExists(png + ".tmp.png"));
  std::remove(png.c_str());
}

}  // namespace
}  // namespace report
}  // namespace edgeopt
