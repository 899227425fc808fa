#include "src/report/plot.h"

#include <sys/wait.h>

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
Status RunGnuplot(const std::string& png_path, const std::string& script) {
  const std::string tmp = png_path + ".tmp.png";
  FILE* p = popen("gnuplot >/dev/null 2>&1", "w");
  if (p == nullptr) return MakeStatus(StatusCode::kNotFound, "gnuplot is not available");
  std::fprintf(p, "set terminal pngcairo size 1000,600 font 'sans,10'\nset output \"%s\"\n%s\n",
               tmp.c_str(), script.c_str());
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

Status WriteScatter(const std::string& png_path, const std::string& title,
                    const std::string& x_label, const std::string& y_label,
                    const std::vector<ScatterPoint>& points, bool log_x) {
  if (!GnuplotAvailable()) return MakeStatus(StatusCode::kNotFound, "gnuplot is not installed");
  std::string s = "set title \"" + Escape(title) + "\"\nset xlabel \"" + Escape(x_label) +
                  "\"\nset ylabel \"" + Escape(y_label) + "\"\nset grid\nunset key\n" +
                  "set offsets graph 0.05, graph 0.15, graph 0.05, graph 0.05\n";
  if (log_x) s += "set logscale x\n";
  s += "plot '-' using 2:3 with points pt 7 ps 1.5 lc rgb '#d5533a', "
       "'-' using 2:3:1 with labels offset 1,0.8 left font ',9'\n";
  for (int pass = 0; pass < 2; ++pass) {
    for (const ScatterPoint& p : points) {
      char row[96];
      std::snprintf(row, sizeof(row), " %.9g %.9g\n", p.x, p.y);
      s += "\"" + Escape(p.label) + "\"" + row;
    }
    s += "e\n";
  }
  return RunGnuplot(png_path, s);
}

}  // namespace report
}  // namespace edgeopt
