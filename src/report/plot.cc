#include "src/report/plot.h"

#include <sys/wait.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>

#include "src/util/file_util.h"

namespace edgeopt {
namespace report {
namespace {

std::string Escape(const std::string& s) {
  std::string out;
  for (char c : s) {
    if (c == '"' || c == '\\') out += '\\';
    if (c == '_') {
      out += "\\\\_";  // gnuplot's enhanced text treats _ as a subscript
      continue;
    }
    out += c;
  }
  return out;
}

// Runs gnuplot on `script`; the PNG is written to a temporary name and renamed.
Status RunGnuplot(const std::string& png_path, const std::string& script, int width = 1000,
                  int height = 600) {
  const std::string tmp = png_path + ".tmp.png";
  FILE* p = popen("gnuplot >/dev/null 2>&1", "w");
  if (p == nullptr) return MakeStatus(StatusCode::kNotFound, "gnuplot is not available");
  std::fprintf(p, "set terminal pngcairo size %d,%d font 'sans,10'\nset output \"%s\"\n%s\n", width,
               height, tmp.c_str(), script.c_str());
  const int rc = pclose(p);
  if (rc != 0 || !FileExists(tmp)) {
    std::remove(tmp.c_str());
    return MakeStatus(StatusCode::kIoError, "gnuplot failed to draw %s", png_path.c_str());
  }
  if (std::rename(tmp.c_str(), png_path.c_str()) != 0) {
    std::remove(tmp.c_str());
    return MakeStatus(StatusCode::kIoError, "%s: cannot write", png_path.c_str());
  }
  return Status::Ok();
}

}  // namespace

bool GnuplotAvailable() {
  static const bool available = std::system("command -v gnuplot >/dev/null 2>&1") == 0;
  return available;
}

Status WriteBarChart(const std::string& png_path, const std::string& title,
                     const std::string& y_label, const std::vector<std::string>& labels,
                     const std::vector<double>& values, bool log_scale) {
  if (!GnuplotAvailable()) return MakeStatus(StatusCode::kNotFound, "gnuplot is not installed");
  std::string s = "set title \"" + Escape(title) + "\"\nset ylabel \"" + Escape(y_label) +
                  "\"\nset style fill solid 0.8\nset boxwidth 0.7\nset grid ytics\n"
                  "set xtics rotate by -45 font ',8'\nunset key\nset yrange [0:*]\n";
  if (log_scale) s += "set logscale y\n";
  s += "plot '-' using 0:2:xtic(1) with boxes lc rgb '#3a7bd5'\n";
  for (size_t i = 0; i < labels.size() && i < values.size(); ++i) {
    char row[64];
    std::snprintf(row, sizeof(row), " %.9g\n", values[i]);
    s += "\"" + Escape(labels[i]) + "\"" + row;
  }
  s += "e\n";
  return RunGnuplot(png_path, s);
}

Status WriteHeatmap(const std::string& png_path, const std::string& title,
                    const std::string& x_label, const std::string& y_label,
                    const std::vector<std::string>& labels, const std::vector<int64_t>& counts,
                    const std::vector<double>& shade) {
  if (!GnuplotAvailable()) return MakeStatus(StatusCode::kNotFound, "gnuplot is not installed");
  const size_t n = labels.size();
  if (n == 0 || counts.size() != n * n || shade.size() != n * n) {
    return MakeStatus(StatusCode::kInvalidArgument, "a heat map needs an n x n matrix");
  }
  std::string tics;
  for (size_t i = 0; i < n; ++i) {
    tics +=
        (i == 0 ? "" : ", ") + std::string("\"") + Escape(labels[i]) + "\" " + std::to_string(i);
  }
  char range[96];
  std::snprintf(range, sizeof(range), "set xrange [-0.5:%g]\nset yrange [%g:-0.5]\n", n - 0.5,
                n - 0.5);
  std::string s = "set title \"" + Escape(title) + "\"\nset xlabel \"" + Escape(x_label) +
                  "\"\nset ylabel \"" + Escape(y_label) + "\"\n" + range + "set xtics (" + tics +
                  ") rotate by -45 font ',8'\nset ytics (" + tics +
                  ") font ',8'\nset cbrange [0:1]\nunset colorbox\nunset key\n"
                  "set palette defined (0 '#ffffff', 1 '#3a7bd5')\n"
                  "plot '-' using 1:2:3 with image, '-' using 1:2:(sprintf('%d', $4)) with labels "
                  "font ',8'\n";
  std::string data;
  for (size_t r = 0; r < n; ++r) {
    for (size_t c = 0; c < n; ++c) {
      char row[96];
      std::snprintf(row, sizeof(row), "%zu %zu %.6f %lld\n", c, r, shade[r * n + c],
                    static_cast<long long>(counts[r * n + c]));
      data += row;
    }
  }
  s += data + "e\n" + data + "e\n";
  const int size = static_cast<int>(std::min<size_t>(1400, 300 + 45 * n));
  return RunGnuplot(png_path, s, size + 100, size);
}

Status WriteScatter(const std::string& png_path, const std::string& title,
                    const std::string& x_label, const std::string& y_label,
                    const std::vector<ScatterPoint>& points, bool log_x) {
  return WriteScatterPanels(png_path, {ScatterPanel{title, x_label, y_label, points, log_x}});
}

ScatterLayout LayoutScatter(const ScatterPanel& panel, double width_px, double height_px,
                            double char_px, double line_px) {
  ScatterLayout l;
  const std::vector<ScatterPoint>& pts = panel.points;
  if (pts.empty()) return l;
  auto fx = [&](double x) { return panel.log_x ? std::log10(std::max(x, 1e-30)) : x; };
  double x0 = fx(pts[0].x), x1 = x0, y0 = pts[0].y, y1 = y0;
  for (const ScatterPoint& p : pts) {
    x0 = std::min(x0, fx(p.x));
    x1 = std::max(x1, fx(p.x));
    y0 = std::min(y0, p.y);
    y1 = std::max(y1, p.y);
  }
  // Room for the labels on the right and above, a margin elsewhere.
  const double xs = x1 - x0 > 0 ? x1 - x0 : (panel.log_x ? 1.0 : std::max(1.0, std::abs(x0)));
  const double ys = y1 - y0 > 0 ? y1 - y0 : std::max(1.0, std::abs(y0) * 0.1);
  const double fx_lo = x0 - 0.08 * xs, fx_hi = x1 + 0.35 * xs;
  l.x_lo = panel.log_x ? std::pow(10.0, fx_lo) : fx_lo;
  l.x_hi = panel.log_x ? std::pow(10.0, fx_hi) : fx_hi;
  l.y_lo = y0 - 0.12 * ys;
  l.y_hi = y1 + 0.12 * ys;
  // Label boxes in pixels of the plot area.
  auto px = [&](double x) { return (fx(x) - fx_lo) / (fx_hi - fx_lo) * width_px; };
  auto py = [&](double y) { return (y - l.y_lo) / (l.y_hi - l.y_lo) * height_px; };
  struct Box {
    double x0, x1, y0, y1;
  };
  std::vector<Box> placed;
  std::vector<size_t> order(pts.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::stable_sort(order.begin(), order.end(),
                   [&](size_t a, size_t b) { return pts[a].y > pts[b].y; });
  l.label_y.assign(pts.size(), 0.0);
  for (size_t i : order) {
    const double bx0 = px(pts[i].x) + char_px, bx1 = bx0 + char_px * pts[i].label.size();
    const double base = py(pts[i].y);
    double best = base + 0.9 * line_px;
    // Above, below, then further out in steps of a line, alternating.
    for (int step = 0; step < 40; ++step) {
      const double dy = (0.9 + (step / 2)) * line_px * (step % 2 == 0 ? 1 : -1);
      const double c = base + dy;
      bool clear = true;
      for (const Box& b : placed) {
        if (bx0 < b.x1 && b.x0 < bx1 && c - line_px / 2 < b.y1 && b.y0 < c + line_px / 2) {
          clear = false;
          break;
        }
      }
      if (clear) {
        best = c;
        break;
      }
    }
    placed.push_back({bx0, bx1, best - line_px / 2, best + line_px / 2});
    l.label_y[i] = l.y_lo + best / height_px * (l.y_hi - l.y_lo);
  }
  return l;
}

Status WriteScatterPanels(const std::string& png_path, const std::vector<ScatterPanel>& panels) {
  if (!GnuplotAvailable()) return MakeStatus(StatusCode::kNotFound, "gnuplot is not installed");
  constexpr int kPanelWidth = 700, kHeight = 600;
  // The plot area of a panel, about: the figure less gnuplot's margins.
  constexpr double kAreaWidth = kPanelWidth - 110, kAreaHeight = kHeight - 110;
  const int width = kPanelWidth * static_cast<int>(std::max<size_t>(panels.size(), 1));
  std::string s = "set multiplot layout 1," + std::to_string(std::max<size_t>(panels.size(), 1)) +
                  "\nset grid\nunset key\n";
  for (const ScatterPanel& panel : panels) {
    const ScatterLayout l = LayoutScatter(panel, kAreaWidth, kAreaHeight);
    char ranges[160];
    std::snprintf(ranges, sizeof(ranges), "set xrange [%.9g:%.9g]\nset yrange [%.9g:%.9g]\n",
                  l.x_lo, l.x_hi, l.y_lo, l.y_hi);
    s += "set title \"" + Escape(panel.title) + "\"\nset xlabel \"" + Escape(panel.x_label) +
         "\"\nset ylabel \"" + Escape(panel.y_label) + "\"\n" + ranges;
    s += panel.log_x ? "set logscale x\n" : "unset logscale x\n";
    s += "plot '-' using 2:3 with points pt 7 ps 1.5 lc rgb '#d5533a', "
         "'-' using 2:3:1 with labels offset char 1,0 left font ',9'\n";
    for (const ScatterPoint& p : panel.points) {
      char row[96];
      std::snprintf(row, sizeof(row), " %.9g %.9g\n", p.x, p.y);
      s += "\"\"" + std::string(row);
    }
    s += "e\n";
    for (size_t i = 0; i < panel.points.size(); ++i) {
      char row[96];
      std::snprintf(row, sizeof(row), " %.9g %.9g\n", panel.points[i].x, l.label_y[i]);
      s += "\"" + Escape(panel.points[i].label) + "\"" + row;
    }
    s += "e\n";
  }
  s += "unset multiplot\n";
  return RunGnuplot(png_path, s, width, kHeight);
}

Status WriteLinePanels(const std::string& png_path, const std::vector<LinePanel>& panels) {
  if (!GnuplotAvailable()) return MakeStatus(StatusCode::kNotFound, "gnuplot is not installed");
  constexpr int kPanelWidth = 650, kHeight = 480;
  const size_t n = std::max<size_t>(panels.size(), 1);
  std::string s = "set multiplot layout 1," + std::to_string(n) + "\nset grid\n";
  static const char* const kColors[] = {"#3a7bd5", "#d5533a", "#2a9d4b", "#8e44ad"};
  for (const LinePanel& panel : panels) {
    s += "set title \"" + Escape(panel.title) + "\"\nset xlabel \"" + Escape(panel.x_label) +
         "\"\nset ylabel \"" + Escape(panel.y_label) + "\"\nset key " + Escape(panel.key) +
         " box opaque\n";
    std::string plot, data;
    int color = 0;
    for (const Curve& c : panel.curves) {
      if (c.x.empty() || c.x.size() != c.y.size()) continue;
      plot += std::string(plot.empty() ? "plot " : ", ") + "'-' using 1:2 with " +
              (c.points ? "linespoints pt 7 ps 1.2" : "lines lw 1.5") + " lc rgb '" +
              (c.color.empty() ? kColors[color++ % 4] : Escape(c.color)) + "' title \"" +
              Escape(c.name) + "\"";
      for (size_t i = 0; i < c.x.size(); ++i) {
        char row[64];
        std::snprintf(row, sizeof(row), "%.9g %.9g\n", c.x[i], c.y[i]);
        data += row;
      }
      data += "e\n";
    }
    if (plot.empty()) continue;
    s += plot + "\n" + data;
  }
  s += "unset multiplot\n";
  return RunGnuplot(png_path, s, kPanelWidth * static_cast<int>(n), kHeight);
}

}  // namespace report
}  // namespace edgeopt
