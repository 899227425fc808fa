#include "src/report/progress.h"

#include <unistd.h>

#include <algorithm>
#include <chrono>

namespace edgeopt {
namespace report {
namespace {

double NowSeconds() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

constexpr double kRedrawSeconds = 0.1;
constexpr int kBarWidth = 24;

}  // namespace

std::string FormatDuration(double seconds) {
  if (seconds < 0) seconds = 0;
  const long s = static_cast<long>(seconds + 0.5);
  char buf[32];
  if (s < 60) {
    std::snprintf(buf, sizeof(buf), "%lds", s);
  } else if (s < 3600) {
    std::snprintf(buf, sizeof(buf), "%ldm%02lds", s / 60, s % 60);
  } else {
    std::snprintf(buf, sizeof(buf), "%ldh%02ldm", s / 3600, (s % 3600) / 60);
  }
  return buf;
}

ProgressBar::ProgressBar(std::string label, int64_t total, bool enabled, FILE* out, bool force)
    : label_(std::move(label)),
      total_(total),
      active_(enabled && (force || isatty(fileno(out)) != 0)),
      out_(out),
      start_(NowSeconds()) {}

ProgressBar::~ProgressBar() { Finish(); }

std::string ProgressBar::Render(const std::string& label, int64_t done, int64_t total,
                                const std::string& metrics, double items_per_second,
                                double eta_seconds, int width) {
  std::string bar(width, ' ');
  const double frac = total > 0 ? std::min(1.0, static_cast<double>(done) / total) : 0.0;
  const int filled = static_cast<int>(frac * width);
  for (int i = 0; i < filled; ++i) bar[i] = '=';
  if (filled < width && done > 0) bar[filled] = '>';
  char buf[512];
  std::snprintf(buf, sizeof(buf), "%s [%s] %lld/%lld %s | %.0f img/s ETA %s", label.c_str(),
                bar.c_str(), static_cast<long long>(done), static_cast<long long>(total),
                metrics.c_str(), items_per_second, FormatDuration(eta_seconds).c_str());
  return buf;
}

void ProgressBar::Update(int64_t done, int64_t items, const std::string& metrics) {
  if (!active_) return;
  const double now = NowSeconds();
  if (done < total_ && last_draw_ >= 0 && now - last_draw_ < kRedrawSeconds) return;
  last_draw_ = now;
  const double elapsed = now - start_;
  const double rate = elapsed > 0 ? items / elapsed : 0.0;
  const double eta = done > 0 ? elapsed * (total_ - done) / done : 0.0;
  const std::string line = Render(label_, done, total_, metrics, rate, eta, kBarWidth);
  std::fprintf(out_, "\r%s\033[K", line.c_str());
  std::fflush(out_);
  drawn_ = true;
}

void ProgressBar::Finish() {
  if (drawn_) {
    std::fprintf(out_, "\r\033[K");
    std::fflush(out_);
    drawn_ = false;
  }
}

}  // namespace report
}  // namespace edgeopt
