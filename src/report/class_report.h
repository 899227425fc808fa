// Per-class metrics of a classifier from its predictions: support, precision, recall and F1 of
// every class, their macro and support-weighted averages (scikit-learn's classification_report),
// and the confusion matrix. For `edgeopt eval --per-class`: which classes a model (or its int8
// file) gets wrong, not only how many samples.
#ifndef EDGEOPT_SRC_REPORT_CLASS_REPORT_H_
#define EDGEOPT_SRC_REPORT_CLASS_REPORT_H_

#include <cstdint>
#include <string>
#include <vector>

#include "include/edgeopt/status.h"

namespace edgeopt {
namespace report {

struct ClassMetrics {
  int64_t support = 0;     // samples of the class
  int64_t predicted = 0;   // samples predicted as the class
  int64_t correct = 0;     // both
  double precision = 0.0;  // correct / predicted (0 when nothing was predicted as it)
  double recall = 0.0;     // correct / support (0 without samples)
  double f1 = 0.0;
};

struct ClassReport {
  int num_classes = 0;
  std::vector<ClassMetrics> classes;
  std::vector<int64_t> confusion;  // [true class][predicted class], row-major
  ClassMetrics macro;              // unweighted mean over the classes with samples
  ClassMetrics weighted;           // mean weighted by support
  double accuracy = 0.0;
};

// `predicted[i]` and `labels[i]` in [0, num_classes); a prediction outside (a model that outputs
// more classes than the data has) counts as wrong, in no column.
StatusOr<ClassReport> MakeClassReport(const std::vector<int32_t>& predicted, const int32_t* labels,
                                      int num_classes);
// What a changed model (an int8 file, a pruned one) does differently from the reference on the
// same samples: how many predictions are the same, and the `top` classes whose recall changed
// most ("6 Shirt 0.7380 -> 0.7240 (-1.40)"), named as in FormatClassReport. Empty when the
// predictions do not cover the same samples.
std::string FormatPredictionChanges(const std::vector<int32_t>& reference,
                                    const std::vector<int32_t>& changed, const int32_t* labels,
                                    int num_classes, const std::vector<std::string>& names,
                                    int top = 3);
// The confusion matrix as a heat map PNG (each row shaded by its share of the true class:
// recall on the diagonal), classes named as in FormatClassReport. kNotFound without gnuplot.
Status WriteConfusionPlot(const ClassReport& r, const std::vector<std::string>& names,
                          const std::string& title, const std::string& png_path);
// The table: one row per class (named by `names` when it has num_classes entries), the
// averages, and the confusion matrix when there are at most `max_matrix_classes` classes.
std::string FormatClassReport(const ClassReport& r, const std::vector<std::string>& names,
                              int max_matrix_classes = 20);

}  // namespace report
}  // namespace edgeopt

#endif  // EDGEOPT_SRC_REPORT_CLASS_REPORT_H_
