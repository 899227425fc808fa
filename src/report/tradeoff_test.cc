#include "src/report/tradeoff.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace edgeopt {
namespace report {
namespace {

// The variants of `make demo`'s table (2026-11-27): bytes, accuracy, median latency.
std::vector<Variant> DemoVariants() {
  return {
      {"float32", 902016, 0.8897, 27.5},
      {"float16", 452720, 0.8896, 27.5},
      {"dynamic", 229456, 0.8896, 12.4},
      {"int8", 230768, 0.8897, 11.4},
      {"int16x8", 231712, 0.8890, 23.9},
      {"int8-qat", 230768, 0.9046, 11.4},
      {"pruned80", 274544, 0.9065, 20.5},
      {"pruned80-int8", 101936, 0.9058, 11.3},
      {"pruned80-qat-int8", 101936, 0.9104, 11.3},
      {"channel50", 228736, 0.8959, 9.8},
      {"student", 59520, 0.8609, 4.5},
      {"student-int8", 17920, 0.8614, 4.7},
  };
}

TEST(Tradeoff, ChoosesAmongTheDemoVariants) {
  const std::vector<Variant> v = DemoVariants();
  const Tradeoff t = ChooseVariants(v, 0, 1.0);
  // Both pruned int8 files are 101,936 bytes: the more accurate one wins the tie.
  EXPECT_EQ(t.smallest, 8);
  EXPECT_EQ(t.fastest, 9);  // channel50, 9.8 us
  // The students are 2.9 points below float32.
  EXPECT_EQ(t.over_budget, (std::vector<int>{10, 11}));
  // pruned80-qat-int8 beats every larger int8 file; channel50 is faster than it, and the
  // students are smaller and faster but less accurate.
  EXPECT_EQ(t.pareto, (std::vector<int>{8, 9, 10, 11}));
  EXPECT_TRUE(t.slower.empty()) << "float16 ties float32 at 27.5 us: not slower";

  // With a budget of 3 points the students are in: the int8 one is the smallest, the float
  // one the fastest.
  const Tradeoff wide = ChooseVariants(v, 0, 3.0);
  EXPECT_EQ(wide.smallest, 11);
  EXPECT_EQ(wide.fastest, 10);
  EXPECT_TRUE(wide.over_budget.empty());
}

// Weight clustering shrinks a file only after zip: the smallest download is then another
// variant than the smallest file (make demo, 2026-11-27 04:07Z, zipped sizes).
TEST(Tradeoff, SmallestAfterZipWhenItIsAnotherVariant) {
  const std::vector<Variant> v = {
      {"float32", 902016, 0.8897, 27.4, 835654},
      {"int8", 230768, 0.8897, 11.5, 180443},
      {"pruned80-qat-int8", 101936, 0.9104, 11.4, 75276},
      {"clustered16", 902016, 0.8998, 27.5, 156997},
      {"pruned80-clustered16-int8", 101936, 0.9087, 11.5, 64489},
      {"student-int8", 17920, 0.8614, 3.9, 13583},
  };
  const Tradeoff t = ChooseVariants(v, 0, 1.0);
  EXPECT_EQ(t.smallest, 2);  // the tie at 101,936 bytes goes to the more accurate
  EXPECT_EQ(t.smallest_zipped, 4);
  const std::vector<std::string> lines = DescribeTradeoff(v, 0, 1.0, t);
  ASSERT_GE(lines.size(), 3u);
  EXPECT_EQ(lines[1],
            "  smallest and fastest: pruned80-qat-int8: 101936 bytes (0.113x), accuracy 0.9104 "
            "(+2.07 points), 11.4 us (2.40x speed)");
  EXPECT_EQ(lines[2],
            "  smallest after zip (a download): pruned80-clustered16-int8: 64489 bytes zipped "
            "(0.077x) against 75276 for pruned80-qat-int8, accuracy 0.9087");
  // The student's 13,583 bytes are over the budget; with 3 points it is the smallest both
  // ways, and no zip line is printed.
  const Tradeoff wide = ChooseVariants(v, 0, 3.0);
  EXPECT_EQ(wide.smallest, 5);
  EXPECT_EQ(wide.smallest_zipped, 5);
  for (const std::string& line : DescribeTradeoff(v, 0, 3.0, wide)) {
    EXPECT_EQ(line.find("after zip"), std::string::npos) << line;
  }
  // Without zipped sizes there is no zip choice.
  EXPECT_EQ(ChooseVariants(DemoVariants(), 0, 1.0).smallest_zipped, -1);
}

TEST(Tradeoff, ABudgetIsInclusive) {
  // 0.8797 is exactly one point below 0.8897.
  const std::vector<Variant> v = {{"ref", 1000, 0.8897, 10}, {"small", 100, 0.8797, 10}};
  EXPECT_EQ(ChooseVariants(v, 0, 1.0).smallest, 1);
  EXPECT_EQ(ChooseVariants(v, 0, 0.99).smallest, 0);
  EXPECT_EQ(ChooseVariants(v, 0, 0.99).over_budget, (std::vector<int>{1}));
  // 0.1 - 1.0 / 100 is 0.09000000000000001 in doubles: 0.09 is still within the budget.
  const std::vector<Variant> low = {{"ref", 1000, 0.1, 10}, {"small", 100, 0.09, 10}};
  EXPECT_EQ(ChooseVariants(low, 0, 1.0).smallest, 1);
}

TEST(Tradeoff, LeavesOutWhatWasNotMeasured) {
  // No accuracy: every variant may be chosen, and the front is on size and latency.
  std::vector<Variant> v = {{"a", 1000, -1, 10}, {"b", 500, -1, 12}, {"c", 600, -1, 13}};
  Tradeoff t = ChooseVariants(v, 0, 1.0);
  EXPECT_EQ(t.smallest, 1);
  EXPECT_EQ(t.fastest, 0);
  EXPECT_EQ(t.pareto, (std::vector<int>{0, 1}));  // c is larger and slower than b
  EXPECT_EQ(t.slower, (std::vector<int>{1, 2}));
  // No timing: no fastest, the front on size and accuracy.
  v = {{"a", 1000, 0.9, -1}, {"b", 500, 0.85, -1}, {"c", 600, 0.84, -1}};
  t = ChooseVariants(v, 0, 10.0);
  EXPECT_EQ(t.fastest, -1);
  EXPECT_EQ(t.smallest, 1);
  EXPECT_EQ(t.pareto, (std::vector<int>{0, 1}));
  EXPECT_TRUE(t.slower.empty());
  // A variant without an accuracy next to a measured reference is never recommended.
  v = {{"a", 1000, 0.9, 10}, {"b", 10, -1, 1}};
  t = ChooseVariants(v, 0, 1.0);
  EXPECT_EQ(t.smallest, 0);
  EXPECT_EQ(t.fastest, 0);
  // Ties in latency go to the more accurate variant, then to the earlier one.
  v = {{"a", 100, 0.90, 10}, {"b", 200, 0.91, 10}, {"c", 300, 0.91, 10}};
  EXPECT_EQ(ChooseVariants(v, 0, 1.0).fastest, 1);
  // Smaller at the same latency and accuracy is better.
  v = {{"a", 100, 0.9, 10}, {"b", 200, 0.9, 10}};
  EXPECT_EQ(ChooseVariants(v, 0, 1.0).pareto, (std::vector<int>{0}));
  // Latencies within 3 % are equal: the same file measured 1 % apart does not stay on the
  // front beside its more accurate twin, nor count as slower than the reference.
  v = {{"ref", 1000, 0.90, 10.0}, {"int8", 250, 0.90, 10.25}, {"int8-qat", 250, 0.91, 10.3}};
  Tradeoff near = ChooseVariants(v, 0, 1.0);
  EXPECT_EQ(near.pareto, (std::vector<int>{2}));
  EXPECT_TRUE(near.slower.empty());
  // (int8 matches the reference's speed, so, smaller, it beats it.) 6 % slower than int8 is
  // a trade: both stay, and int8-qat is slower than the reference.
  v[2].median_us = 10.6;
  near = ChooseVariants(v, 0, 1.0);
  EXPECT_EQ(near.pareto, (std::vector<int>{1, 2}));
  EXPECT_EQ(near.slower, (std::vector<int>{2}));
  // Nor does 1 % make one of two otherwise equal files better than the other.
  v = {{"a", 100, 0.9, 10.0}, {"b", 100, 0.9, 10.1}};
  EXPECT_EQ(ChooseVariants(v, 0, 1.0).pareto, (std::vector<int>{0, 1}));
  // Equal variants do not knock each other off the front.
  v = {{"a", 100, 0.9, 10}, {"b", 100, 0.9, 10}};
  EXPECT_EQ(ChooseVariants(v, 0, 1.0).pareto, (std::vector<int>{0, 1}));
  EXPECT_EQ(ChooseVariants(v, 5, 1.0).smallest, -1) << "no such reference";
}

TEST(Tradeoff, SaysWhatToShip) {
  std::vector<Variant> v = DemoVariants();
  v[4].median_us = 33.0;  // an int16x8 that is slower than float
  const Tradeoff t = ChooseVariants(v, 0, 1.0);
  const std::vector<std::string> lines = DescribeTradeoff(v, 0, 1.0, t);
  ASSERT_EQ(lines.size(), 6u);
  EXPECT_EQ(lines[0],
            "What to ship, among the variants within 1.00 points of float32's accuracy (0.8897; "
            "--accuracy-budget):");
  EXPECT_EQ(lines[1],
            "  smallest: pruned80-qat-int8: 101936 bytes (0.113x), accuracy 0.9104 (+2.07 points), "
            "11.3 us (2.43x speed)");
  EXPECT_EQ(lines[2],
            "  fastest:  channel50: 228736 bytes (0.254x), accuracy 0.8959 (+0.62 points), 9.8 us "
            "(2.81x speed)");
  EXPECT_EQ(lines[3],
            "  not beaten in size, latency and accuracy at once by another variant: "
            "pruned80-qat-int8, channel50, student, student-int8");
  EXPECT_EQ(lines[4], "  over the accuracy budget: student (-2.88) student-int8 (-2.83)");
  EXPECT_EQ(lines[5], "  slower than float32 on this machine: int16x8 (1.20x its latency)");

  // One variant both smallest and fastest: one line.
  const std::vector<Variant> two = {{"float32", 900, 0.9, 20}, {"int8", 250, 0.895, 10}};
  const std::vector<std::string> both = DescribeTradeoff(two, 0, 1.0, ChooseVariants(two, 0, 1.0));
  ASSERT_EQ(both.size(), 3u);
  EXPECT_EQ(both[1],
            "  smallest and fastest: int8: 250 bytes (0.278x), accuracy 0.8950 (-0.50 points), "
            "10.0 us (2.00x speed)");
  // float32 stays on the front: it is the more accurate.
  EXPECT_EQ(both[2],
            "  not beaten in size, latency and accuracy at once by another variant: float32, int8");

  for (Variant& x : v) x.accuracy = -1;
  const std::vector<std::string> unjudged = DescribeTradeoff(v, 0, 1.0, ChooseVariants(v, 0, 1.0));
  ASSERT_FALSE(unjudged.empty());
  EXPECT_EQ(unjudged[0], "What to ship (accuracy not measured: give --data to judge it):");
  EXPECT_EQ(unjudged[1], "  smallest: student-int8: 17920 bytes (0.020x), 4.7 us (5.85x speed)");
}

}  // namespace
}  // namespace report
}  // namespace edgeopt
