#include "tools/cli/sensitivity_report.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>

#include "src/export/tflite/export.h"
#include "src/passes/model_loader.h"
#include "src/passes/pipeline.h"
#include "src/passes/prune/prune_plan.h"
#include "src/report/evaluate.h"
#include "src/report/plot.h"
#include "src/util/file_util.h"
#include "tools/cli/train_model_io.h"

namespace edgeopt {
namespace cli {

void PrintSensitivityTable(const std::string& what, double baseline,
                           const std::vector<std::string>& level_names,
                           const std::vector<SensitivityRow>& rows, const data::Dataset& test,
                           const std::string& footnote) {
  int width = 16;
  for (const SensitivityRow& r : rows) width = std::max(width, static_cast<int>(r.layer.size()));
  std::printf("\naccuracy with one layer %s, original %.4f:\n%-*s %12s", what.c_str(), baseline,
              width, "layer", "kernel");
  for (const std::string& name : level_names) std::printf(" %15s", name.c_str());
  std::printf("\n");
  for (const SensitivityRow& r : rows) {
    std::printf("%-*s %12s", width, r.layer.c_str(), r.kernel.c_str());
    for (const std::string& cell : r.cells) std::printf(" %15s", cell.c_str());
    std::printf("\n");
  }
  std::printf("(on %s, %lld samples%s%s)\n", test.name.c_str(), static_cast<long long>(test.size),
              footnote.empty() ? "" : "; ", footnote.c_str());
}

void WriteSensitivityPlot(const std::string& png_path, const std::string& title,
                          const std::string& x_label, double baseline,
                          const std::vector<SensitivityRow>& rows) {
  report::LinePanel panel{title, x_label, "top-1 accuracy (%)", {}};
  panel.key = "bottom right";
  for (const SensitivityRow& r : rows) {
    report::Curve c;
    c.name = r.layer;
    c.points = true;
    c.x = r.kept;
    for (double a : r.accuracy) c.y.push_back(100.0 * a);
    panel.curves.push_back(c);
  }
  report::Curve base;
  base.name = "original";
  base.x = {0.0, 1.0};
  base.y = {100.0 * baseline, 100.0 * baseline};
  base.color = "#888888";
  panel.curves.push_back(base);
  const Status s = report::WriteLinePanels(png_path, {panel});
  if (s.ok()) {
    std::printf("plot: %s\n", png_path.c_str());
  } else {
    std::printf("plot not written: %s\n", s.message().c_str());
  }
}

StatusOr<double> TfliteGraphAccuracy(const ir::Graph& graph, const data::Dataset& test,
                                     int threads) {
  EDGEOPT_ASSIGN_OR_RETURN(std::vector<uint8_t> bytes, ExportTflite(graph));
  report::EvalOptions eo;
  eo.threads = threads;
  eo.progress = false;
  EDGEOPT_ASSIGN_OR_RETURN(train::EvalResult r, report::EvaluateTfliteBytes(bytes, test, eo));
  return r.accuracy;
}

StatusOr<data::Dataset> AnalysisTestData(const std::string& data_spec, const std::string& test_spec,
                                         int64_t test_samples, const TrainFlags& model_flags,
                                         const ir::Graph& model, const char* flag) {
  const TrainFlags flags = WithModelInput(model_flags, model, "the model");
  FineTuneData data;
  EDGEOPT_RETURN_IF_ERROR(
      LoadFineTuneData(data_spec, test_spec, false, 0, test_samples, flags, &data));
  EDGEOPT_ENSURE(data.test.size > 0, StatusCode::kInvalidArgument,
                 "%s measures accuracy: give --test-data (or --data fashion-mnist)", flag);
  return std::move(data.test);
}

StatusOr<AnalysisModel> LoadAnalysisModel(const std::string& path, const TrainFlags& flags) {
  AnalysisModel m;
  if (FileExtension(path) == ".tflite") {
    EDGEOPT_ASSIGN_OR_RETURN(passes::LoadedGraph loaded, passes::LoadModelGraph(path));
    EDGEOPT_ENSURE(!loaded.quantized, StatusCode::kInvalidArgument,
                   "%s: the model is quantized; analyze its float model", path.c_str());
    m.graph = std::move(loaded.graph);
    m.from_tflite = true;
    return m;
  }
  EDGEOPT_ASSIGN_OR_RETURN(TrainModel model, LoadModelForTraining(path, "", flags.seed));
  m.graph = std::move(model.graph);
  return m;
}

StatusOr<double> AnalysisAccuracy(const AnalysisModel& m, const ir::Graph& graph,
                                  const data::Dataset& test, int threads) {
  if (m.from_tflite) return TfliteGraphAccuracy(graph, test, threads);
  ir::Graph exported = graph;
  EDGEOPT_RETURN_IF_ERROR(passes::PrepareForExport(&exported));
  return TfliteGraphAccuracy(exported, test, threads);
}

std::string FractionName(double f) {
  for (int d = 2; d <= 1024; d *= 2) {
    if (std::fabs(f * d - 1.0) < 1e-9) return "1/" + std::to_string(d);
  }
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%g", f);
  return buf;
}

StatusOr<std::vector<double>> ParseFractions(const std::string& text, const char* flag) {
  std::vector<double> out;
  for (const std::string& item : prune::SplitNames(text)) {
    char* end = nullptr;
    const double f = std::strtod(item.c_str(), &end);
    EDGEOPT_ENSURE(end != nullptr && *end == '\0' && f > 0.0 && f < 1.0,
                   StatusCode::kInvalidArgument, "%s: '%s' must be in (0, 1)", flag, item.c_str());
    out.push_back(f);
  }
  EDGEOPT_ENSURE(!out.empty(), StatusCode::kInvalidArgument, "%s is empty", flag);
  return out;
}

}  // namespace cli
}  // namespace edgeopt
