// Calibration: per-tensor statistics over a representative data set, and the choice of the
// quantization range from them (min/max, percentile, KL/entropy, MSE-optimal clipping).
//
// Two passes over the data: the first records min/max, the second a histogram over that range
// (kHistogramBins bins), from which the clipping methods pick a range.
#ifndef EDGEOPT_SRC_PASSES_QUANTIZE_CALIBRATION_H_
#define EDGEOPT_SRC_PASSES_QUANTIZE_CALIBRATION_H_

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "include/edgeopt/status.h"

namespace edgeopt {
namespace quantize {

enum class CalibrationMethod { kMinMax, kPercentile, kKl, kMse };

StatusOr<CalibrationMethod> ParseCalibrationMethod(const std::string& name);
const char* CalibrationMethodName(CalibrationMethod method);

struct Range {
  float min = 0.0f;
  float max = 0.0f;
};

class TensorObserver {
 public:
  static constexpr int kHistogramBins = 2048;

  // Pass 1.
  void ObserveMinMax(const float* data, size_t n);
  // Between the passes: fixes the histogram range to the observed [min, max].
  void StartHistogram();
  // Pass 2.
  void ObserveHistogram(const float* data, size_t n);

  bool seen() const { return count_ > 0; }
  float min() const { return min_; }
  float max() const { return max_; }
  uint64_t count() const { return count_; }
  const std::vector<uint64_t>& histogram() const { return hist_; }

  // The range to quantize to, for `num_levels` quantization levels (256 for int8, 65536 for
  // int16). Always contains 0. `percentile` is used by kPercentile (e.g. 99.99).
  Range ComputeRange(CalibrationMethod method, int num_levels, double percentile = 99.99) const;

 private:
  float BinLow(int bin) const;
  Range PercentileRange(double percentile) const;
  Range KlRange(int num_levels) const;
  Range MseRange(int num_levels) const;

  float min_ = 0.0f;
  float max_ = 0.0f;
  uint64_t count_ = 0;
  std::vector<uint64_t> hist_;
  float hist_min_ = 0.0f;
  float hist_max_ = 0.0f;
};

}  // namespace quantize
}  // namespace edgeopt

#endif  // EDGEOPT_SRC_PASSES_QUANTIZE_CALIBRATION_H_
