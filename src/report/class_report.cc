#include "src/report/class_report.h"

#include <algorithm>
#include <cmath>
#include <cstdio>

#include "src/report/plot.h"

namespace edgeopt {
namespace report {
namespace {

void Finish(ClassMetrics* m) {
  m->precision = m->predicted > 0 ? static_cast<double>(m->correct) / m->predicted : 0.0;
  m->recall = m->support > 0 ? static_cast<double>(m->correct) / m->support : 0.0;
  const double sum = m->precision + m->recall;
  m->f1 = sum > 0.0 ? 2.0 * m->precision * m->recall / sum : 0.0;
}

std::string Row(const std::string& name, int width, const ClassMetrics& m, bool counts) {
  char buf[160];
  if (counts) {
    std::snprintf(buf, sizeof(buf), "%-*s %9lld %9.4f %9.4f %9.4f\n", width, name.c_str(),
                  static_cast<long long>(m.support), m.precision, m.recall, m.f1);
  } else {
    std::snprintf(buf, sizeof(buf), "%-*s %9s %9.4f %9.4f %9.4f\n", width, name.c_str(), "",
                  m.precision, m.recall, m.f1);
  }
  return buf;
}

}  // namespace

StatusOr<ClassReport> MakeClassReport(const std::vector<int32_t>& predicted, const int32_t* labels,
                                      int num_classes) {
  EDGEOPT_ENSURE(num_classes >= 1 && num_classes <= 100000, StatusCode::kInvalidArgument,
                 "%d classes", num_classes);
  ClassReport r;
  r.num_classes = num_classes;
  r.classes.resize(num_classes);
  r.confusion.assign(static_cast<size_t>(num_classes) * num_classes, 0);
  int64_t correct = 0;
  for (size_t i = 0; i < predicted.size(); ++i) {
    const int32_t y = labels[i], p = predicted[i];
    EDGEOPT_ENSURE(y >= 0 && y < num_classes, StatusCode::kInvalidArgument,
                   "label %d of sample %zu is outside [0, %d)", y, i, num_classes);
    ++r.classes[y].support;
    if (p < 0 || p >= num_classes) continue;
    ++r.classes[p].predicted;
    ++r.confusion[static_cast<size_t>(y) * num_classes + p];
    if (p == y) {
      ++r.classes[y].correct;
      ++correct;
    }
  }
  int with_samples = 0;
  for (ClassMetrics& m : r.classes) {
    Finish(&m);
    r.weighted.support += m.support;
    r.weighted.precision += m.precision * m.support;
    r.weighted.recall += m.recall * m.support;
    r.weighted.f1 += m.f1 * m.support;
    if (m.support == 0) continue;
    ++with_samples;
    r.macro.precision += m.precision;
    r.macro.recall += m.recall;
    r.macro.f1 += m.f1;
  }
  r.macro.support = r.weighted.support;
  if (with_samples > 0) {
    r.macro.precision /= with_samples;
    r.macro.recall /= with_samples;
    r.macro.f1 /= with_samples;
  }
  if (r.weighted.support > 0) {
    const double n = static_cast<double>(r.weighted.support);
    r.weighted.precision /= n;
    r.weighted.recall /= n;
    r.weighted.f1 /= n;
    r.accuracy = correct / n;
  }
  return r;
}

std::string FormatPredictionChanges(const std::vector<int32_t>& reference,
                                    const std::vector<int32_t>& changed, const int32_t* labels,
                                    int num_classes, const std::vector<std::string>& names,
                                    int top) {
  if (reference.empty() || reference.size() != changed.size()) return "";
  StatusOr<ClassReport> before = MakeClassReport(reference, labels, num_classes);
  StatusOr<ClassReport> after = MakeClassReport(changed, labels, num_classes);
  if (!before.ok() || !after.ok()) return "";
  int64_t same = 0;
  for (size_t i = 0; i < reference.size(); ++i) same += reference[i] == changed[i];
  char buf[200];
  std::snprintf(buf, sizeof(buf), "same prediction on %.2f%% (%lld of %zu)",
                100.0 * same / reference.size(), static_cast<long long>(same), reference.size());
  std::string out = buf;
  std::vector<int> order;
  for (int c = 0; c < num_classes; ++c) {
    const double d = after->classes[c].recall - before->classes[c].recall;
    if (before->classes[c].support > 0 && d != 0.0) order.push_back(c);
  }
  std::sort(order.begin(), order.end(), [&](int a, int b) {
    const double da = std::fabs(after->classes[a].recall - before->classes[a].recall);
    const double db = std::fabs(after->classes[b].recall - before->classes[b].recall);
    return da != db ? da > db : a < b;
  });
  if (order.size() > static_cast<size_t>(std::max(0, top))) order.resize(std::max(0, top));
  for (size_t i = 0; i < order.size(); ++i) {
    const int c = order[i];
    const std::string name = static_cast<int>(names.size()) == num_classes
                                 ? std::to_string(c) + " " + names[c]
                                 : "class " + std::to_string(c);
    std::snprintf(buf, sizeof(buf), "%s %s %.4f -> %.4f (%+.2f)",
                  i == 0 ? "; recall changed most:" : ",", name.c_str(), before->classes[c].recall,
                  after->classes[c].recall,
                  100.0 * (after->classes[c].recall - before->classes[c].recall));
    out += buf;
  }
  return out;
}

Status WriteConfusionPlot(const ClassReport& r, const std::vector<std::string>& names,
                          const std::string& title, const std::string& png_path) {
  const int n = r.num_classes;
  std::vector<std::string> labels(n);
  for (int c = 0; c < n; ++c) {
    labels[c] = static_cast<int>(names.size()) == n ? names[c] : std::to_string(c);
  }
  std::vector<double> shade(r.confusion.size(), 0.0);
  for (int y = 0; y < n; ++y) {
    const int64_t support = r.classes[y].support;
    for (int p = 0; p < n && support > 0; ++p) {
      shade[static_cast<size_t>(y) * n + p] =
          static_cast<double>(r.confusion[static_cast<size_t>(y) * n + p]) / support;
    }
  }
  return WriteHeatmap(png_path, title, "predicted class", "true class", labels, r.confusion, shade);
}

std::string FormatClassReport(const ClassReport& r, const std::vector<std::string>& names,
                              int max_matrix_classes) {
  const int n = r.num_classes;
  std::vector<std::string> label(n);
  int width = 12;
  for (int c = 0; c < n; ++c) {
    label[c] = static_cast<int>(names.size()) == n ? std::to_string(c) + " " + names[c]
                                                   : std::to_string(c);
    width = std::max(width, static_cast<int>(label[c].size()));
  }
  char buf[160];
  std::snprintf(buf, sizeof(buf), "%-*s %9s %9s %9s %9s\n", width, "class", "support", "precision",
                "recall", "f1");
  std::string out = buf;
  for (int c = 0; c < n; ++c) out += Row(label[c], width, r.classes[c], true);
  out += Row("macro avg", width, r.macro, true);
  out += Row("weighted avg", width, r.weighted, true);
  if (n > max_matrix_classes) return out;
  out += "confusion matrix (rows: true class, columns: predicted class)\n";
  int64_t biggest = 1;
  for (int64_t v : r.confusion) biggest = std::max(biggest, v);
  const size_t cell = std::max<size_t>(4, std::to_string(biggest).size() + 1);
  // `value` right-aligned in `width` characters.
  auto cell_of = [](const std::string& value, size_t width) {
    return std::string(width > value.size() ? width - value.size() : 0, ' ') + value;
  };
  out += cell_of("", 4);
  for (int c = 0; c < n; ++c) out += cell_of(std::to_string(c), cell);
  out += "\n";
  for (int y = 0; y < n; ++y) {
    out += cell_of(std::to_string(y), 4);
    for (int p = 0; p < n; ++p) {
      out += cell_of(std::to_string(r.confusion[static_cast<size_t>(y) * n + p]), cell);
    }
    out += "\n";
  }
  return out;
}

}  // namespace report
}  // namespace edgeopt
