#include "src/passes/quantize/calibration.h"

#include <algorithm>
#include <cmath>
#include <limits>

namespace edgeopt {
namespace quantize {

StatusOr<CalibrationMethod> ParseCalibrationMethod(const std::string& name) {
  if (name == "minmax") return CalibrationMethod::kMinMax;
  if (name == "percentile") return CalibrationMethod::kPercentile;
  if (name == "kl" || name == "entropy") return CalibrationMethod::kKl;
  if (name == "mse") return CalibrationMethod::kMse;
  return MakeStatus(StatusCode::kInvalidArgument,
                    "unknown calibration method '%s' (expected minmax, percentile, kl or mse)",
                    name.c_str());
}

const char* CalibrationMethodName(CalibrationMethod method) {
  switch (method) {
    case CalibrationMethod::kMinMax:
      return "minmax";
    case CalibrationMethod::kPercentile:
      return "percentile";
    case CalibrationMethod::kKl:
      return "kl";
    case CalibrationMethod::kMse:
      return "mse";
  }
  return "?";
}

void TensorObserver::ObserveMinMax(const float* data, size_t n) {
  for (size_t i = 0; i < n; ++i) {
    const float x = data[i];
    if (!std::isfinite(x)) continue;
    if (count_ == 0) {
      min_ = max_ = x;
    } else {
      min_ = std::min(min_, x);
      max_ = std::max(max_, x);
    }
    ++count_;
  }
}

void TensorObserver::StartHistogram() {
  hist_min_ = std::min(min_, 0.0f);
  hist_max_ = std::max(max_, 0.0f);
  hist_.assign(kHistogramBins, 0);
}

void TensorObserver::ObserveHistogram(const float* data, size_t n) {
  const double width = static_cast<double>(hist_max_) - hist_min_;
  if (!(width > 0) || hist_.empty()) return;
  const double scale = kHistogramBins / width;
  for (size_t i = 0; i < n; ++i) {
    const float x = data[i];
    if (!std::isfinite(x)) continue;
    int bin = static_cast<int>((x - hist_min_) * scale);
    bin = std::min(std::max(bin, 0), kHistogramBins - 1);
    ++hist_[bin];
  }
}

float TensorObserver::BinLow(int bin) const {
  return static_cast<float>(hist_min_ +
                            (static_cast<double>(hist_max_) - hist_min_) * bin / kHistogramBins);
}

Range TensorObserver::ComputeRange(CalibrationMethod method, int num_levels,
                                   double percentile) const {
  Range r{std::min(min_, 0.0f), std::max(max_, 0.0f)};
  uint64_t total = 0;
  for (uint64_t c : hist_) total += c;
  if (method == CalibrationMethod::kMinMax || total == 0 || !(hist_max_ > hist_min_)) return r;
  Range clipped;
  switch (method) {
    case CalibrationMethod::kPercentile:
      clipped = PercentileRange(percentile);
      break;
    case CalibrationMethod::kKl:
      clipped = KlRange(num_levels);
      break;
    case CalibrationMethod::kMse:
      clipped = MseRange(num_levels);
      break;
    default:
      return r;
  }
  clipped.min = std::min(clipped.min, 0.0f);
  clipped.max = std::max(clipped.max, 0.0f);
  // Never widen beyond what was observed.
  clipped.min = std::max(clipped.min, r.min);
  clipped.max = std::min(clipped.max, r.max);
  if (!(clipped.max > clipped.min)) return r;
  return clipped;
}

Range TensorObserver::PercentileRange(double percentile) const {
  uint64_t total = 0;
  for (uint64_t c : hist_) total += c;
  const double width = (static_cast<double>(hist_max_) - hist_min_) / kHistogramBins;
  // Value below which a fraction q of the samples lie (linear within a bin).
  auto quantile = [&](double q) {
    const double target = q * static_cast<double>(total);
    double cumulative = 0;
    for (int b = 0; b < kHistogramBins; ++b) {
      const double next = cumulative + static_cast<double>(hist_[b]);
      if (next >= target && hist_[b] > 0) {
        const double frac = (target - cumulative) / static_cast<double>(hist_[b]);
        return static_cast<float>(hist_min_ + width * (b + frac));
      }
      cumulative = next;
    }
    return hist_max_;
  };
  const double p = std::min(std::max(percentile, 50.0), 100.0) / 100.0;
  Range r;
  r.min = min_ >= 0.0f ? 0.0f : quantile(1.0 - p);
  r.max = max_ <= 0.0f ? 0.0f : quantile(p);
  return r;
}

namespace {

// Histogram of |x| over [0, abs_max] with `bins` bins, from a histogram over [lo, hi].
std::vector<double> AbsHistogram(const std::vector<uint64_t>& hist, float lo, float hi, int bins,
                                 float* abs_max) {
  *abs_max = std::max(std::abs(lo), std::abs(hi));
  std::vector<double> out(bins, 0.0);
  const double width = (static_cast<double>(hi) - lo) / hist.size();
  for (size_t b = 0; b < hist.size(); ++b) {
    if (hist[b] == 0) continue;
    const double center = lo + width * (b + 0.5);
    int k = static_cast<int>(std::abs(center) / *abs_max * bins);
    k = std::min(std::max(k, 0), bins - 1);
    out[k] += static_cast<double>(hist[b]);
  }
  return out;
}

// KL(P || Q) of TensorRT's entropy calibration for a clip at bin `threshold`: P is the
// histogram clipped there (outliers folded into the last bin), Q the same mass merged into
// `levels` groups and spread back over the non-empty bins of each group.
double ClippedKl(const std::vector<double>& hist, int threshold, int levels) {
  std::vector<double> p(hist.begin(), hist.begin() + threshold);
  double outliers = 0;
  for (size_t b = threshold; b < hist.size(); ++b) outliers += hist[b];
  p[threshold - 1] += outliers;
  std::vector<double> q(threshold, 0.0);
  const double per_level = static_cast<double>(threshold) / levels;
  for (int l = 0; l < levels; ++l) {
    const int begin = static_cast<int>(std::floor(l * per_level));
    const int end = std::min(threshold, static_cast<int>(std::floor((l + 1) * per_level)));
    double mass = 0;
    int nonzero = 0;
    for (int b = begin; b < end; ++b) {
      mass += hist[b];
      if (hist[b] > 0) ++nonzero;
    }
    if (nonzero == 0) continue;
    for (int b = begin; b < end; ++b) {
      if (hist[b] > 0) q[b] = mass / nonzero;
    }
  }
  double sum_p = 0, sum_q = 0;
  for (int b = 0; b < threshold; ++b) {
    sum_p += p[b];
    sum_q += q[b];
  }
  if (sum_p <= 0 || sum_q <= 0) return std::numeric_limits<double>::infinity();
  double kl = 0;
  for (int b = 0; b < threshold; ++b) {
    if (p[b] <= 0) continue;
    const double pp = p[b] / sum_p;
    const double qq = q[b] > 0 ? q[b] / sum_q : 1e-12;
    kl += pp * std::log(pp / qq);
  }
  return kl;
}

}  // namespace

Range TensorObserver::KlRange(int num_levels) const {
  const int bins = kHistogramBins;
  const bool one_sided = min_ >= 0.0f || max_ <= 0.0f;
  // Levels available on the side being clipped: all of them for one-sided data, half for
  // two-sided (symmetric search on |x|).
  const int levels = one_sided ? num_levels : num_levels / 2;
  if (levels <= 0 || levels * 2 > bins) return Range{min_, max_};
  float abs_max = 0;
  const std::vector<double> hist = AbsHistogram(hist_, hist_min_, hist_max_, bins, &abs_max);
  int best = bins;
  double best_kl = std::numeric_limits<double>::infinity();
  for (int t = levels; t <= bins; t += 4) {
    const double kl = ClippedKl(hist, t, levels);
    if (kl < best_kl) {
      best_kl = kl;
      best = t;
    }
  }
  const float threshold = abs_max * static_cast<float>(best) / bins;
  return Range{std::max(min_, -threshold), std::min(max_, threshold)};
}

Range TensorObserver::MseRange(int num_levels) const {
  const double width = (static_cast<double>(hist_max_) - hist_min_) / kHistogramBins;
  const double lo0 = std::min(min_, 0.0f), hi0 = std::max(max_, 0.0f);
  double best_err = std::numeric_limits<double>::infinity();
  double best_alpha = 1.0;
  for (int k = 100; k >= 10; --k) {
    const double alpha = k / 100.0;
    const double lo = lo0 * alpha, hi = hi0 * alpha;
    const double step = (hi - lo) / (num_levels - 1);
    const double rounding = step * step / 12.0;
    double err = 0;
    for (int b = 0; b < kHistogramBins; ++b) {
      if (hist_[b] == 0) continue;
      const double x = hist_min_ + width * (b + 0.5);
      const double clamped = std::min(std::max(x, lo), hi);
      const double e = x == clamped ? rounding : (x - clamped) * (x - clamped) + rounding;
      err += e * static_cast<double>(hist_[b]);
    }
    if (err < best_err) {
      best_err = err;
      best_alpha = alpha;
    }
  }
  return Range{static_cast<float>(lo0 * best_alpha), static_cast<float>(hi0 * best_alpha)};
}

}  // namespace quantize
}  // namespace edgeopt
