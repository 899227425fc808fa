// A one-line progress bar for long loops (training epochs, evaluation, calibration):
//
//   epoch 2/3 [=========>          ] 412/938 loss 0.3412 acc 0.8801 | 7421 img/s ETA 7s
//
// Redrawn in place (carriage return) at most ~10 times a second, only when the stream is a terminal
// (or when forced); Finish() clears the line so a summary can be printed instead.
#ifndef EDGEOPT_SRC_REPORT_PROGRESS_H_
#define EDGEOPT_SRC_REPORT_PROGRESS_H_

#include <cstdint>
#include <cstdio>
#include <string>

namespace edgeopt {
namespace report {

class ProgressBar {
 public:
  // `enabled`: false draws nothing (--quiet). Drawing also needs `out` to be a terminal unless
  // `force` is set.
  ProgressBar(std::string label, int64_t total, bool enabled = true, FILE* out = stderr,
              bool force = false);
  ~ProgressBar();

  // `done` of `total` steps; `items` processed so far (images) for the rate; `metrics` is shown
  // after the counter ("loss 0.34 acc 0.88").
  void Update(int64_t done, int64_t items, const std::string& metrics);
  // Clears the bar's line.
  void Finish();

  // The text of the bar for the given state (for tests).
  static std::string Render(const std::string& label, int64_t done, int64_t total,
                            const std::string& metrics, double items_per_second, double eta_seconds,
                            int width);

 private:
  std::string label_;
  int64_t total_;
  bool active_;
  FILE* out_;
  double start_;
  double last_draw_ = -1.0;
  bool drawn_ = false;
};

// "7s", "2m05s", "1h02m".
std::string FormatDuration(double seconds);

}  // namespace report
}  // namespace edgeopt

#endif  // EDGEOPT_SRC_REPORT_PROGRESS_H_
