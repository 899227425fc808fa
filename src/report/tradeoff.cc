#include "src/report/tradeoff.h"

#include <cstdio>

namespace edgeopt {
namespace report {
namespace {

// Accuracies are ratios of counts; this keeps a drop of exactly the budget inside it.
constexpr double kEps = 1e-9;
// Latencies within this fraction of each other count as equal: medians of the same kernels
// differ by 1-2 % from run to run on the development machine (the demo's int8-qat and pruned
// QAT files, both printed as 12.1 us, came out in either order).
constexpr double kLatencyTolerance = 0.03;

bool Faster(double a, double b) { return a * (1.0 + kLatencyTolerance) < b; }

bool Measured(double v) { return v >= 0; }

// `a` is at least as good as `b` in every quantity both have, and strictly better in one.
bool Dominates(const Variant& a, const Variant& b) {
  bool strictly = false;
  if (a.bytes > b.bytes) return false;
  strictly |= a.bytes < b.bytes;
  if (Measured(a.median_us) && Measured(b.median_us)) {
    if (Faster(b.median_us, a.median_us)) return false;
    strictly |= Faster(a.median_us, b.median_us);
  }
  if (Measured(a.accuracy) && Measured(b.accuracy)) {
    if (a.accuracy + kEps < b.accuracy) return false;
    strictly |= a.accuracy > b.accuracy + kEps;
  }
  return strictly;
}

// `a` beats `b` at a tie of the primary quantity: more accurate, then earlier.
bool BreaksTieFor(const Variant& a, const Variant& b) {
  return Measured(a.accuracy) && Measured(b.accuracy) && a.accuracy > b.accuracy + kEps;
}

std::string Format(const char* f, double v) {
  char b[64];
  std::snprintf(b, sizeof(b), f, v);
  return b;
}

std::string Names(const std::vector<Variant>& v, const std::vector<int>& idx) {
  std::string s;
  for (int i : idx) s += (s.empty() ? "" : ", ") + v[i].name;
  return s;
}

// "pruned80-int8: 101936 bytes (0.113x), accuracy 0.9058 (+1.61 points), 11.3 us (2.43x)".
std::string Describe(const std::vector<Variant>& vs, int ref, int i) {
  const Variant& v = vs[i];
  const Variant& r = vs[ref];
  std::string s = v.name + ": " + std::to_string(v.bytes) + " bytes";
  if (r.bytes > 0) s += " (" + Format("%.3fx", static_cast<double>(v.bytes) / r.bytes) + ")";
  if (Measured(v.accuracy)) {
    s += ", accuracy " + Format("%.4f", v.accuracy);
    if (Measured(r.accuracy)) {
      s += " (" + Format("%+.2f", 100.0 * (v.accuracy - r.accuracy)) + " points)";
    }
  }
  if (Measured(v.median_us)) {
    s += ", " + Format("%.1f", v.median_us) + " us";
    if (Measured(r.median_us) && v.median_us > 0) {
      s += " (" + Format("%.2fx", r.median_us / v.median_us) + " speed)";
    }
  }
  return s;
}

}  // namespace

Tradeoff ChooseVariants(const std::vector<Variant>& variants, int reference, double budget_points) {
  Tradeoff t;
  const int n = static_cast<int>(variants.size());
  if (reference < 0 || reference >= n) return t;
  const Variant& ref = variants[reference];
  const bool judge_accuracy = Measured(ref.accuracy);
  const double floor = ref.accuracy - budget_points / 100.0 - kEps;
  for (int i = 0; i < n; ++i) {
    const Variant& v = variants[i];
    if (judge_accuracy && Measured(v.accuracy) && v.accuracy < floor) {
      t.over_budget.push_back(i);
      continue;
    }
    if (judge_accuracy && !Measured(v.accuracy)) continue;  // cannot tell: never recommended
    if (t.smallest < 0 || v.bytes < variants[t.smallest].bytes ||
        (v.bytes == variants[t.smallest].bytes && BreaksTieFor(v, variants[t.smallest]))) {
      t.smallest = i;
    }
    if (v.zipped > 0 && (t.smallest_zipped < 0 || v.zipped < variants[t.smallest_zipped].zipped ||
                         (v.zipped == variants[t.smallest_zipped].zipped &&
                          BreaksTieFor(v, variants[t.smallest_zipped])))) {
      t.smallest_zipped = i;
    }
    if (Measured(v.median_us) &&
        (t.fastest < 0 || v.median_us < variants[t.fastest].median_us ||
         (v.median_us == variants[t.fastest].median_us && BreaksTieFor(v, variants[t.fastest])))) {
      t.fastest = i;
    }
  }
  for (int i = 0; i < n; ++i) {
    bool dominated = false;
    // (No variant strictly beats itself.)
    for (int j = 0; j < n && !dominated; ++j) dominated = Dominates(variants[j], variants[i]);
    if (!dominated) t.pareto.push_back(i);
    if (i != reference && Measured(variants[i].median_us) && Measured(ref.median_us) &&
        Faster(ref.median_us, variants[i].median_us)) {
      t.slower.push_back(i);
    }
  }
  return t;
}

std::vector<std::string> DescribeTradeoff(const std::vector<Variant>& variants, int reference,
                                          double budget_points, const Tradeoff& t) {
  std::vector<std::string> lines;
  if (reference < 0 || reference >= static_cast<int>(variants.size())) return lines;
  const Variant& ref = variants[reference];
  if (Measured(ref.accuracy)) {
    lines.push_back("What to ship, among the variants within " + Format("%.2f", budget_points) +
                    " points of " + ref.name + "'s accuracy (" + Format("%.4f", ref.accuracy) +
                    "; --accuracy-budget):");
  } else {
    lines.push_back("What to ship (accuracy not measured: give --data to judge it):");
  }
  if (t.smallest >= 0 && t.smallest == t.fastest) {
    lines.push_back("  smallest and fastest: " + Describe(variants, reference, t.smallest));
  } else {
    if (t.smallest >= 0) {
      lines.push_back("  smallest: " + Describe(variants, reference, t.smallest));
    }
    if (t.fastest >= 0) lines.push_back("  fastest:  " + Describe(variants, reference, t.fastest));
  }
  if (t.smallest_zipped >= 0 && t.smallest_zipped != t.smallest) {
    const Variant& z = variants[t.smallest_zipped];
    std::string s = "  smallest after zip (a download): " + z.name + ": " +
                    std::to_string(z.zipped) + " bytes zipped";
    if (ref.zipped > 0) {
      s += " (" + Format("%.3fx", static_cast<double>(z.zipped) / ref.zipped) + ")";
    }
    if (t.smallest >= 0 && variants[t.smallest].zipped > 0) {
      s += " against " + std::to_string(variants[t.smallest].zipped) + " for " +
           variants[t.smallest].name;
    }
    if (Measured(z.accuracy)) s += ", accuracy " + Format("%.4f", z.accuracy);
    lines.push_back(s);
  }
  if (t.smallest < 0 && t.fastest < 0) lines.push_back("  none: every variant is over the budget");
  lines.push_back("  not beaten in size, latency and accuracy at once by another variant: " +
                  Names(variants, t.pareto));
  if (!t.over_budget.empty()) {
    std::string s = "  over the accuracy budget:";
    for (int i : t.over_budget) {
      s += " " + variants[i].name + " (" +
           Format("%+.2f", 100.0 * (variants[i].accuracy - ref.accuracy)) + ")";
    }
    lines.push_back(s);
  }
  for (int i : t.slower) {
    lines.push_back("  slower than " + ref.name + " on this machine: " + variants[i].name + " (" +
                    Format("%.2f", variants[i].median_us / ref.median_us) + "x its latency)");
  }
  return lines;
}

}  // namespace report
}  // namespace edgeopt
