// Plots for reports, drawn by gnuplot when it is installed (Debian gnuplot-nox); without it the
// functions return kNotFound and the reports keep their tables.
#ifndef EDGEOPT_SRC_REPORT_PLOT_H_
#define EDGEOPT_SRC_REPORT_PLOT_H_

#include <string>
#include <vector>

#include "include/edgeopt/status.h"

namespace edgeopt {
namespace report {

bool GnuplotAvailable();

// A horizontal-label bar chart (one bar per label) as a PNG.
Status WriteBarChart(const std::string& png_path, const std::string& title,
                     const std::string& y_label, const std::vector<std::string>& labels,
                     const std::vector<double>& values, bool log_scale = false);

// A square matrix (row-major, n x n) as a heat map with each cell's count written in it, shaded
// by `shade` (same layout, 0..1); row labels down the left, column labels along the bottom.
Status WriteHeatmap(const std::string& png_path, const std::string& title,
                    const std::string& x_label, const std::string& y_label,
                    const std::vector<std::string>& labels, const std::vector<int64_t>& counts,
                    const std::vector<double>& shade);

struct ScatterPoint {
  std::string label;
  double x = 0;
  double y = 0;
};
// Labeled points (e.g. size vs accuracy of model variants) as a PNG.
Status WriteScatter(const std::string& png_path, const std::string& title,
                    const std::string& x_label, const std::string& y_label,
                    const std::vector<ScatterPoint>& points, bool log_x = false);

// One scatter plot of a figure; x > 0 when log_x.
struct ScatterPanel {
  std::string title, x_label, y_label;
  std::vector<ScatterPoint> points;
  bool log_x = false;
};
// Panels side by side in one PNG (e.g. size vs accuracy next to latency vs accuracy).
Status WriteScatterPanels(const std::string& png_path, const std::vector<ScatterPanel>& panels);

// A curve of a line chart: its points joined in order (or marked each, `points`).
struct Curve {
  std::string name;
  std::vector<double> x, y;
  bool points = false;
  std::string color;  // "#rrggbb"; empty: the next of a palette
};
struct LinePanel {
  std::string title, x_label, y_label;
  std::vector<Curve> curves;
  std::string key = "top right";  // where the key goes (gnuplot's words)
};
// Panels side by side in one PNG, each with a key naming its curves (e.g. a training history:
// loss next to accuracy). Curves without points are left out.
Status WriteLinePanels(const std::string& png_path, const std::vector<LinePanel>& panels);

// The axis ranges a panel is drawn with, and where each point's label goes: right of its point,
// just above it, or moved up or down until its box overlaps no label placed before it (points
// taken from the top; variants of one model often land on top of each other).
struct ScatterLayout {
  double x_lo = 0, x_hi = 1, y_lo = 0, y_hi = 1;
  std::vector<double> label_y;  // in y units, per point
};
// width_px, height_px: the plot area; char_px, line_px: the label font's width and height.
ScatterLayout LayoutScatter(const ScatterPanel& panel, double width_px, double height_px,
                            double char_px = 7.0, double line_px = 14.0);

}  // namespace report
}  // namespace edgeopt

#endif  // EDGEOPT_SRC_REPORT_PLOT_H_
