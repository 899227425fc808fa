// Which model variant to ship: from each variant's size, accuracy and latency, the smallest
// (on disk, and after zip when that is another one: weight clustering shrinks only the latter)
// and the fastest variant whose accuracy stays within a budget of the reference's, the
// variants no other one beats on all three (the Pareto front), and the variants that run
// slower than the reference (int8 is not faster everywhere). `edgeopt compare` prints it
// under its table.
#ifndef EDGEOPT_SRC_REPORT_TRADEOFF_H_
#define EDGEOPT_SRC_REPORT_TRADEOFF_H_

#include <cstddef>
#include <string>
#include <vector>

namespace edgeopt {
namespace report {

struct Variant {
  std::string name;
  size_t bytes = 0;
  double accuracy = -1;   // top-1 in [0, 1]; negative: not measured
  double median_us = -1;  // negative: not timed
  size_t zipped = 0;      // size after zip (what a download costs); 0: not measured
};

struct Tradeoff {
  // Indices into the variants; -1 when there is none. `smallest` and `fastest` are among the
  // variants whose accuracy is at least the reference's minus the budget (every variant when
  // accuracy was not measured); ties go to the more accurate, then the earlier one.
  int smallest = -1;
  int fastest = -1;
  // The same by size after zip, among the variants whose zipped size was measured.
  int smallest_zipped = -1;
  // Variants that no other variant matches or beats in size, latency and accuracy while being
  // strictly better in one of them, in input order. Latencies within 3 % count as equal (run
  // to run noise); unmeasured quantities are left out of the comparison.
  std::vector<int> pareto;
  // Variants (not the reference) whose median latency is more than 3 % above the reference's.
  std::vector<int> slower;
  // Variants whose accuracy fell more than the budget below the reference's.
  std::vector<int> over_budget;
};

// `reference` indexes the variant the others are judged against; `budget_points` is the
// accuracy drop allowed, in percentage points (1.0: 0.9000 -> 0.8900 is allowed).
Tradeoff ChooseVariants(const std::vector<Variant>& variants, int reference, double budget_points);

// The recommendation as text lines (no trailing newlines): what `edgeopt compare` prints.
std::vector<std::string> DescribeTradeoff(const std::vector<Variant>& variants, int reference,
                                          double budget_points, const Tradeoff& t);

}  // namespace report
}  // namespace edgeopt

#endif  // EDGEOPT_SRC_REPORT_TRADEOFF_H_
