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

struct ScatterPoint {
  std::string label;
  double x = 0;
  double y = 0;
};
// Labeled points (e.g. size vs accuracy of model variants) as a PNG.
Status WriteScatter(const std::string& png_path, const std::string& title,
                    const std::string& x_label, const std::string& y_label,
                    const std::vector<ScatterPoint>& points, bool log_x = false);

}  // namespace report
}  // namespace edgeopt

#endif  // EDGEOPT_SRC_REPORT_PLOT_H_
