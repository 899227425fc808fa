// The sensitivity reports of the compression commands (lowrank --sensitivity, prune
// --sensitivity): each layer compressed alone, one-shot, at several levels, and the model's
// accuracy then. A table (a row per layer, a column per level) and a plot of accuracy against
// the fraction of the layer's weights kept, one curve per layer.
#ifndef EDGEOPT_TOOLS_CLI_SENSITIVITY_REPORT_H_
#define EDGEOPT_TOOLS_CLI_SENSITIVITY_REPORT_H_

#include <string>
#include <vector>

#include "include/edgeopt/status.h"
#include "src/data/dataset.h"
#include "src/ir/graph.h"
#include "tools/cli/train_flags.h"

namespace edgeopt {
namespace cli {

struct SensitivityRow {
  std::string layer, kernel;       // kernel: "128x1600"
  std::vector<std::string> cells;  // per level: "0.8891 (29)", or "-" when not measured
  std::vector<double> kept;        // per point: the fraction of the layer's weights (or bits) kept
  std::vector<double> accuracy;    // per point
};

// "accuracy with one layer <what>, original 0.8897:" and the table.
void PrintSensitivityTable(const std::string& what, double baseline,
                           const std::vector<std::string>& level_names,
                           const std::vector<SensitivityRow>& rows, const data::Dataset& test,
                           const std::string& footnote);
// The plot (x: SensitivityRow::kept, labeled `x_label`), or a line saying why there is none.
void WriteSensitivityPlot(const std::string& png_path, const std::string& title,
                          const std::string& x_label, double baseline,
                          const std::vector<SensitivityRow>& rows);
// Top-1 accuracy of a graph in inference form (a .tflite's) on `test` through the runtime.
StatusOr<double> TfliteGraphAccuracy(const ir::Graph& graph, const data::Dataset& test,
                                     int threads);
// The labeled test data an analysis measures on: the test set of `data_spec` or `test_spec` (a
// random subset of `test_samples`), read as `model` needs its pixels (WithModelInput); an error
// naming `flag` when there is none.
StatusOr<data::Dataset> AnalysisTestData(const std::string& data_spec, const std::string& test_spec,
                                         int64_t test_samples, const TrainFlags& flags,
                                         const ir::Graph& model, const char* flag);
// A model's float graph for an analysis: a .tflite's (quantized ones refused), or a Keras
// model's training form.
struct AnalysisModel {
  ir::Graph graph;
  bool from_tflite = false;
};
StatusOr<AnalysisModel> LoadAnalysisModel(const std::string& path, const TrainFlags& flags);
// Accuracy of an analysis graph: exported as `convert` would (a .tflite's as it is).
StatusOr<double> AnalysisAccuracy(const AnalysisModel& m, const ir::Graph& graph,
                                  const data::Dataset& test, int threads);
// "1/4" for 0.25 (the inverse of a power of two), else "%g".
std::string FractionName(double f);
// "0.5,0.25" -> values, each in (0, 1); `flag` names the option in messages.
StatusOr<std::vector<double>> ParseFractions(const std::string& text, const char* flag);

}  // namespace cli
}  // namespace edgeopt

#endif  // EDGEOPT_TOOLS_CLI_SENSITIVITY_REPORT_H_
