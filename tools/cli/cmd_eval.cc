// edgeopt eval MODEL --data SPEC [--batch-size N] [--threads N] [--quiet]
//
// Top-1 accuracy and loss of a model on a labeled data set. MODEL is a .tflite
// file (run by edgeopt's runtime, batch 1 or the model's own batch size;
// int8/uint8 inputs are quantized and outputs dequantized with the tensors'
// parameters) or a Keras .keras/.h5 file (run by the training engine in
// inference mode). The last line is machine-readable:
//   accuracy=0.9123 loss=0.2512 samples=10000
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "CLI/CLI.hpp"
#include "src/data/dataset.h"
#include "src/importers/tflite/import.h"
#include "src/report/class_report.h"
#include "src/report/evaluate.h"
#include "src/report/progress.h"
#include "src/train/engine.h"
#include "src/train/loss.h"
#include "src/train/trainer.h"
#include "src/util/file_util.h"
#include "tools/cli/cli_util.h"
#include "tools/cli/commands.h"
#include "tools/cli/train_flags.h"
#include "tools/cli/train_model_io.h"

namespace edgeopt {
namespace cli {
namespace {

StatusOr<train::EvalResult> EvalTflite(const std::string& path, const data::Dataset& ds,
                                       int threads, bool quiet) {
  rt::InterpreterOptions options;
  options.num_threads = threads;
  EDGEOPT_ASSIGN_OR_RETURN(LoadedModel loaded, LoadTflite(path, options));
  report::EvalOptions eo;
  eo.threads = threads;
  eo.progress = !quiet;
  auto r = report::EvaluateTflite(loaded.interpreter.get(), ds, eo);
  if (!r.ok()) return r.status().WithPrefix(path);
  return r;
}

Status Eval(const std::string& model_path, const std::string& data_spec, int batch_size,
            int threads, bool quiet, const std::string& csv_label, bool per_class,
            const std::string& confusion_plot, const std::string& pixels) {
  TrainFlags flags;
  flags.csv_label = csv_label;
  flags.pixels = pixels;
  flags.quiet = quiet;
  const bool tflite = FileExtension(model_path) == ".tflite";
  TrainModel model;
  if (tflite) {
    // The graph only tells whether the model rescales its pixels itself.
    StatusOr<ir::Graph> graph = ImportTfliteFile(model_path);
    if (graph.ok()) flags = WithModelInput(flags, *graph, model_path);
  } else {
    EDGEOPT_ASSIGN_OR_RETURN(model, LoadModelForTraining(model_path, "", 0));
    flags = WithModelInput(flags, model.graph, model_path);
  }
  EDGEOPT_ASSIGN_OR_RETURN(data::Dataset ds, data::LoadDataset(data_spec, DataLoadOptions(flags)));
  train::EvalResult r;
  if (tflite) {
    EDGEOPT_ASSIGN_OR_RETURN(r, EvalTflite(model_path, ds, threads, quiet));
  } else {
    const ir::Graph& g = model.graph;
    if (!g.outputs.empty() && g.tensors[g.outputs[0]].dtype != DType::kFloat32) {
      // An index output (a model ending in argmax): through the runtime, as converted.
      EDGEOPT_ASSIGN_OR_RETURN(std::vector<uint8_t> bytes, TfliteBytes(g));
      report::EvalOptions ro;
      ro.threads = threads;
      ro.progress = !quiet;
      auto evaluated = report::EvaluateTfliteBytes(bytes, ds, ro);
      if (!evaluated.ok()) return evaluated.status().WithPrefix(model_path);
      r = *evaluated;
    } else {
      train::EngineOptions eo;
      eo.batch_size = batch_size;
      eo.num_threads = threads;
      EDGEOPT_ASSIGN_OR_RETURN(auto engine, train::Engine::Create(model.graph, eo));
      EDGEOPT_ASSIGN_OR_RETURN(r, EvaluateWithProgress(engine.get(), ds, batch_size, quiet));
    }
  }
  if (!quiet) {
    char loss[64];
    std::snprintf(loss, sizeof(loss), ", loss %.4f", r.loss);
    char top5[64] = "";
    if (r.top5_correct >= 0 && r.samples > 0) {
      std::snprintf(top5, sizeof(top5), ", top-5 %.2f%%", 100.0 * r.top5_correct / r.samples);
    }
    std::printf("%s on %s: top-1 accuracy %.2f%% (%lld/%lld)%s%s\n", model_path.c_str(),
                ds.name.c_str(), 100.0 * r.accuracy, static_cast<long long>(r.correct),
                static_cast<long long>(r.samples), top5,
                std::isnan(r.loss) ? " (the model outputs its classes: no loss)" : loss);
  }
  if (per_class || !confusion_plot.empty()) {
    EDGEOPT_ENSURE(static_cast<int64_t>(r.predicted.size()) == r.samples,
                   StatusCode::kInvalidArgument, "%s: per-class metrics need class labels",
                   ds.name.c_str());
    EDGEOPT_ASSIGN_OR_RETURN(
        report::ClassReport cr,
        report::MakeClassReport(r.predicted, ds.labels.data(), std::max(ds.num_classes, 2)));
    if (per_class) std::printf("%s", report::FormatClassReport(cr, ds.class_names).c_str());
    if (!confusion_plot.empty()) {
      char title[256];
      std::snprintf(title, sizeof(title), "%s on %s: accuracy %.4f", BaseName(model_path).c_str(),
                    ds.name.c_str(), r.accuracy);
      const Status plotted = report::WriteConfusionPlot(cr, ds.class_names, title, confusion_plot);
      if (plotted.ok()) {
        if (!quiet) std::printf("confusion matrix plot: %s\n", confusion_plot.c_str());
      } else {
        std::fprintf(stderr, "edgeopt eval: note: no confusion matrix plot: %s\n",
                     plotted.message().c_str());
      }
    }
  }
  std::printf("%s\n", FormatEvalLine(r).c_str());
  return Status::Ok();
}

}  // namespace

int RunEval(int argc, char** argv) {
  CLI::App app{
      "Top-1 accuracy and loss of a model on a labeled data set. The last line "
      "is "
      "accuracy=A loss=L samples=N.",
      "edgeopt eval"};
  std::string model, data_spec, csv_label;
  int batch_size = 256;
  int threads = 0;
  bool quiet = false;
  app.add_option("model", model, "a .tflite, .keras or .h5 model")->required();
  app.add_option("--data", data_spec, "labeled data (see edgeopt train --help)")->required();
  app.add_option("--batch-size", batch_size,
                 "samples per pass for Keras models (default 256; .tflite uses "
                 "its own batch)");
  app.add_option("--threads", threads,
                 "threads (default 0 = auto: all cores, or 1 for a model under 2M MACs)");
  app.add_flag("--quiet", quiet, "only the machine-readable line");
  app.add_option("--csv-label", csv_label, "CSV data: the label column");
  std::string pixels = "auto";
  AddPixelsFlag(&app, &pixels);
  bool per_class = false;
  std::string confusion_plot;
  app.add_option("--confusion-plot", confusion_plot,
                 "draw the confusion matrix as a PNG heat map (rows shaded by the share of "
                 "their true class; needs gnuplot)");
  app.add_flag("--per-class", per_class,
               "per-class support, precision, recall and F1 (and their averages), and the "
               "confusion matrix (up to 20 classes)");
  EDGEOPT_CLI_PARSE(app, argc, argv);
  if (batch_size < 1) {
    std::fprintf(stderr, "edgeopt eval: --batch-size must be at least 1\n");
    return kExitUsage;
  }
  Status s = Eval(model, data_spec, batch_size, threads, quiet, csv_label, per_class,
                  confusion_plot, pixels);
  if (!s.ok()) return ReportError("eval", s);
  return kExitOk;
}

}  // namespace cli
}  // namespace edgeopt
