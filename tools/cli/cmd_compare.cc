// edgeopt compare A.tflite B.tflite ... --data DATA [--runs N] [--rounds R] [--threads N]
//     [--pin] [--plot P.png] [--markdown T.md] [--names a,b,...]
//
// The size / latency / accuracy trade of model variants side by side: size on disk, zipped
// size, kind (float32, float16, dynamic, int8, int16x8, sparse), parameters (all, and the
// nonzero ones: a pruned model keeps its shapes but not its weights), top-1 accuracy and loss on
// DATA, median and p90 latency (the runtime: --runs invocations per model, timed in --rounds
// rounds that alternate over the models after a warm-up, so that the machine's drift and
// bursts of load fall on every model alike, not on whichever ran at the time). The first
// model is the reference for the ratios. Under the table, what to ship: the smallest and the
// fastest variant within --accuracy-budget points of the reference's accuracy, the variants no
// other one beats on size, latency and accuracy at once, and those slower than the reference
// (report/tradeoff.h). The last column is the tensor arena TensorFlow Lite Micro would need
// (`edgeopt export-c`'s figure), or '-' with the reason when TFLM cannot run the file.
// Optionally a Markdown table and a plot of size vs accuracy next to latency vs accuracy.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "CLI/CLI.hpp"
#include "src/data/dataset.h"
#include "src/export/tflm/tflm_export.h"
#include "src/passes/model_loader.h"
#include "src/report/evaluate.h"
#include "src/report/plot.h"
#include "src/report/tradeoff.h"
#include "src/runtime/model_stats.h"
#include "src/runtime/thread_pool.h"
#include "src/util/file_util.h"
#include "src/util/random_inputs.h"
#include "src/util/zip.h"
#include "tools/cli/cli_util.h"
#include "tools/cli/commands.h"
#include "tools/cli/train_flags.h"
#include "tools/cli/train_model_io.h"

namespace edgeopt {
namespace cli {
namespace {

struct Row {
  std::string name;
  std::string kind;
  size_t bytes = 0;
  size_t zipped = 0;
  int64_t params = 0;
  int64_t nonzero = 0;
  double accuracy = -1;
  double loss = -1;
  double median_us = -1;
  double p90_us = -1;
  size_t tflm_arena = 0;     // 0: TFLM cannot run the file (tflm_problem says why)
  std::string tflm_problem;  // the first problem, up to its first ':' / ';' / ','
};

// What kind of model a file is, from its weights and activations.
std::string KindOf(rt::Interpreter* interp) {
  bool int8_act = false, int16_act = false, int8_w = false, f16_w = false, sparse = false;
  for (int i = 0; i < interp->num_nodes(); ++i) {
    const rt::Node& node = interp->node(i);
    for (int k = 0; k < node.num_inputs; ++k) {
      if (node.inputs[k] < 0) continue;
      const rt::Tensor* t = interp->tensor(node.inputs[k]);
      if (t->sparsity != nullptr) sparse = true;
      if (t->allocation == rt::Allocation::kConstant && k >= 1) {
        if (t->type == DType::kInt8) int8_w = true;
      }
    }
    for (int k = 0; k < node.num_outputs; ++k) {
      const rt::Tensor* t = interp->tensor(node.outputs[k]);
      if (t->type == DType::kInt8 || t->type == DType::kUInt8) int8_act = true;
      if (t->type == DType::kInt16 && t->quant.IsQuantized()) int16_act = true;
    }
    if (node.op == tflite::BuiltinOperator::DEQUANTIZE && node.num_inputs > 0 &&
        node.inputs[0] >= 0 && interp->tensor(node.inputs[0])->type == DType::kFloat16) {
      f16_w = true;
    }
  }
  std::string kind = int16_act && int8_act ? "int8+int16"
                     : int16_act           ? "int16x8"
                     : int8_act            ? "int8"
                     : int8_w              ? "dynamic"
                     : f16_w               ? "float16"
                                           : "float32";
  if (sparse) kind += "+sparse";
  return kind;
}

// A model file, loaded and kept for the timing rounds (the interpreter reads `bytes`).
struct Loaded {
  std::string path;  // for messages
  std::vector<uint8_t> bytes;
  std::unique_ptr<rt::Interpreter> interp;
};

// Everything but latency (TimeInterleaved).
StatusOr<Row> Measure(const std::string& path, const std::string& name, const data::Dataset* ds,
                      const rt::InterpreterOptions& options, int64_t eval_limit, Loaded* model) {
  Row r;
  r.name = name;
  model->path = path;
  EDGEOPT_ASSIGN_OR_RETURN(model->bytes, ReadFileBytes(path));
  const std::vector<uint8_t>& bytes = model->bytes;
  r.bytes = bytes.size();
  EDGEOPT_ASSIGN_OR_RETURN(r.zipped, ZippedSize(BaseName(path), bytes));
  StatusOr<tflm::TflmReport> tflm = tflm::AnalyzeForTflm(bytes.data(), bytes.size());
  if (tflm.ok() && tflm->problems.empty()) {
    r.tflm_arena = tflm->arena_hint;
  } else {
    const std::string why = tflm.ok() ? tflm->problems[0] : tflm.status().message();
    r.tflm_problem = why.substr(0, why.find_first_of(":;,"));
  }
  auto interp = rt::Interpreter::Create(bytes.data(), bytes.size(), options);
  if (!interp.ok()) return interp.status().WithPrefix(path);
  r.kind = KindOf(interp->get());
  const rt::ModelStats stats = rt::ComputeModelStats(interp->get());
  r.params = stats.parameters;
  r.nonzero = stats.nonzero_parameters;
  if (ds != nullptr) {
    report::EvalOptions eo;
    eo.threads = options.num_threads;
    eo.limit = eval_limit;
    auto e = report::EvaluateTflite(interp->get(), *ds, eo);
    if (!e.ok()) return e.status().WithPrefix(path);
    r.accuracy = e->accuracy;
    r.loss = e->loss;
  }
  model->interp = std::move(interp).value();
  return r;
}

// `v` formatted, or "-" when it is a missing (negative) measurement.
std::string Fmt(const char* f, double v) {
  if (v < 0) return "-";
  char b[64];
  std::snprintf(b, sizeof(b), f, v);
  return b;
}

std::string Signed(double v) {
  char b[64];
  std::snprintf(b, sizeof(b), "%+.2f", v);
  return b;
}

}  // namespace

int RunCompare(int argc, char** argv) {
  CLI::App app{
      "Compare .tflite variants of a model side by side: size on disk, zipped size, "
      "kind, parameters (all and nonzero), top-1 accuracy and loss on --data, median "
      "latency. The first "
      "model is the reference for the ratios.",
      "edgeopt compare"};
  std::vector<std::string> models;
  std::string data_spec, plot, markdown, names;
  int runs = 200, rounds = 5, threads = 1;
  double budget = 1.0;
  bool pin = false;
  int64_t limit = -1;
  app.add_option("models", models, ".tflite files")->required();
  app.add_option("--data", data_spec, "labeled data for accuracy (e.g. fashion-mnist:test)");
  app.add_option("--eval-samples", limit, "evaluate on the first N samples only");
  std::string pixels = "auto";
  AddPixelsFlag(&app, &pixels);
  app.add_option("--runs", runs, "timed invocations per model (default 200; 0 = no timing)")
      ->check(CLI::Range(0, 1000000));
  app.add_option("--rounds", rounds,
                 "rounds the timing alternates over the models in (default 5; medians over all "
                 "of a model's runs)")
      ->check(CLI::Range(1, 1000));
  app.add_option("--threads", threads, "threads (default 1)");
  app.add_flag("--pin", pin, "pin the threads: this one to CPU 0, worker i to CPU i");
  app.add_option("--names", names, "comma-separated row names (default: file names)");
  app.add_option(
      "--plot", plot,
      "write a plot (PNG, needs gnuplot): size and size after zip vs accuracy, and latency vs "
      "accuracy when timed");
  app.add_option("--markdown", markdown, "also write the table as Markdown");
  app.add_option("--accuracy-budget", budget,
                 "accuracy drop from the first model, in points, that a variant may have to be "
                 "recommended (default 1.0)")
      ->check(CLI::Range(0.0, 100.0));
  EDGEOPT_CLI_PARSE(app, argc, argv);

  std::vector<std::string> row_names;
  {
    std::stringstream ss(names);
    std::string item;
    while (std::getline(ss, item, ',')) row_names.push_back(item);
  }
  data::Dataset ds;
  if (!data_spec.empty()) {
    // 8-bit pixels as 0..255 when the first model rescales its input itself.
    TrainFlags pixel_flags;
    pixel_flags.quiet = true;
    pixel_flags.pixels = pixels;
    if (!models.empty()) {
      auto first = passes::LoadModelGraph(models[0]);
      if (first.ok()) pixel_flags = WithModelInput(pixel_flags, first->graph, models[0]);
    }
    auto loaded = data::LoadDataset(data_spec, DataLoadOptions(pixel_flags));
    if (!loaded.ok()) return ReportError("compare", loaded.status());
    ds = std::move(loaded).value();
  }
  rt::InterpreterOptions options;
  options.num_threads = threads;
  options.pin_threads = pin;
  if (pin) rt::PinCallerToCpu(0);
  std::vector<Row> rows;
  std::vector<Loaded> loaded(models.size());
  for (size_t i = 0; i < models.size(); ++i) {
    const std::string name = i < row_names.size() ? row_names[i] : BaseName(models[i]);
    auto r =
        Measure(models[i], name, data_spec.empty() ? nullptr : &ds, options, limit, &loaded[i]);
    if (!r.ok()) return ReportError("compare", r.status());
    rows.push_back(*r);
  }
  if (runs > 0) {
    std::vector<rt::Interpreter*> interps;
    std::vector<std::string> paths;
    for (const Loaded& l : loaded) {
      interps.push_back(l.interp.get());
      paths.push_back(l.path);
    }
    std::vector<std::vector<double>> us;
    Status s = TimeInterleaved(interps, paths, runs, rounds, &us);
    if (!s.ok()) return ReportError("compare", s);
    for (size_t m = 0; m < rows.size(); ++m) {
      rows[m].median_us = Percentile(us[m], 0.5);
      rows[m].p90_us = Percentile(us[m], 0.9);
    }
  }
  const Row& ref = rows.front();
  std::string md =
      "| model | kind | size (bytes) | zipped (bytes) | size vs " + ref.name +
      " | parameters | nonzero parameters | top-1 accuracy | Δ accuracy (points) | loss | "
      "latency median (us) | latency p90 (us) | speed-up | TFLM arena (bytes) |\n"
      "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|\n";
  int name_width = 22;  // as wide as the longest name
  for (const Row& r : rows) name_width = std::max(name_width, static_cast<int>(r.name.size()));
  std::printf("%-*s %-16s %10s %10s %7s %10s %10s %9s %8s %8s %11s %7s %10s\n", name_width, "model",
              "kind", "bytes", "zipped", "size", "params", "nonzero", "accuracy", "Δ(pts)", "loss",
              "median_us", "speed", "tflm_arena");
  for (const Row& r : rows) {
    const double size_ratio = static_cast<double>(r.bytes) / ref.bytes;
    const double delta =
        (r.accuracy >= 0 && ref.accuracy >= 0) ? 100.0 * (r.accuracy - ref.accuracy) : 0.0;
    const double speed = (r.median_us > 0 && ref.median_us > 0) ? ref.median_us / r.median_us : -1;
    const std::string arena = r.tflm_arena > 0 ? std::to_string(r.tflm_arena) : "-";
    std::printf("%-*s %-16s %10zu %10zu %6.3fx %10lld %10lld %9s %8s %8s %11s %7s %10s\n",
                name_width, r.name.c_str(), r.kind.c_str(), r.bytes, r.zipped, size_ratio,
                static_cast<long long>(r.params), static_cast<long long>(r.nonzero),
                Fmt("%.4f", r.accuracy).c_str(), r.accuracy >= 0 ? Signed(delta).c_str() : "-",
                Fmt("%.4f", r.loss).c_str(), Fmt("%.1f", r.median_us).c_str(),
                speed > 0 ? Fmt("%.2fx", speed).c_str() : "-", arena.c_str());
    char line[512];
    std::snprintf(
        line, sizeof(line),
        "| %s | %s | %zu | %zu | %.3fx | %lld | %lld | %s | %s | %s | %s | %s | %s | %s |\n",
        r.name.c_str(), r.kind.c_str(), r.bytes, r.zipped, size_ratio,
        static_cast<long long>(r.params), static_cast<long long>(r.nonzero),
        Fmt("%.4f", r.accuracy).c_str(), r.accuracy >= 0 ? Signed(delta).c_str() : "-",
        Fmt("%.4f", r.loss).c_str(), Fmt("%.1f", r.median_us).c_str(),
        Fmt("%.1f", r.p90_us).c_str(), speed > 0 ? Fmt("%.2fx", speed).c_str() : "-",
        arena.c_str());
    md += line;
  }
  // Which files TFLM cannot run, and why.
  std::string not_tflm;
  for (const Row& r : rows) {
    if (r.tflm_arena == 0)
      not_tflm += (not_tflm.empty() ? "" : "; ") + r.name + ": " + r.tflm_problem;
  }
  const std::string arena_note =
      "TFLM arena: the tensor arena TensorFlow Lite Micro needs, as `edgeopt export-c` estimates "
      "it" +
      (not_tflm.empty() ? std::string(".") : ". '-': TFLM cannot run it (" + not_tflm + ").");
  std::printf("%s\n", arena_note.c_str());
  md += "\n" + arena_note + "\n";
  std::vector<report::Variant> variants;
  for (const Row& r : rows) {
    variants.push_back({r.name, r.bytes, r.accuracy, r.median_us, r.zipped});
  }
  const std::vector<std::string> advice =
      report::DescribeTradeoff(variants, 0, budget, report::ChooseVariants(variants, 0, budget));
  std::printf("\n");
  md += "\n";
  for (const std::string& line : advice) {
    std::printf("%s\n", line.c_str());
    // Markdown: the heading line as a paragraph, the others as a list.
    md += line.compare(0, 2, "  ") == 0 ? "- " + line.substr(2) + "\n" : line + "\n\n";
  }
  if (!markdown.empty()) {
    Status s = WriteFileAtomic(markdown, md.data(), md.size());
    if (!s.ok()) return ReportError("compare", s);
  }
  if (!plot.empty() && !data_spec.empty()) {
    // Size (on disk and after zip) vs accuracy, and latency vs accuracy when timed.
    report::ScatterPanel size{"Size vs accuracy (" + data_spec + ")",
                              "size (KiB)",
                              "top-1 accuracy (%)",
                              {},
                              /*log_x=*/true};
    report::ScatterPanel latency{"Latency vs accuracy (" + std::to_string(threads) + " thread" +
                                     (threads == 1 ? "" : "s") + ")",
                                 "median latency (us)",
                                 "top-1 accuracy (%)",
                                 {},
                                 /*log_x=*/false};
    // After zip: what a download costs, and where weight clustering shows.
    report::ScatterPanel zipped{"Zipped size vs accuracy",
                                "size after zip (KiB)",
                                "top-1 accuracy (%)",
                                {},
                                /*log_x=*/true};
    for (const Row& r : rows) {
      size.points.push_back({r.name, static_cast<double>(r.bytes) / 1024.0, 100.0 * r.accuracy});
      zipped.points.push_back({r.name, static_cast<double>(r.zipped) / 1024.0, 100.0 * r.accuracy});
      if (r.median_us > 0) latency.points.push_back({r.name, r.median_us, 100.0 * r.accuracy});
    }
    std::vector<report::ScatterPanel> panels = {size, zipped};
    if (!latency.points.empty()) panels.push_back(latency);
    Status s = report::WriteScatterPanels(plot, panels);
    if (!s.ok()) std::fprintf(stderr, "edgeopt compare: note: no plot: %s\n", s.message().c_str());
  }
  return kExitOk;
}

}  // namespace cli
}  // namespace edgeopt
