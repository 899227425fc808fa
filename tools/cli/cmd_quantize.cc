// edgeopt quantize MODEL -o out.tflite --mode float16|dynamic|int8|int16x8 [...]
//
// Post-training quantization with the TFLite spec, from a Keras model or a float .tflite (also
// one made by the official converter). int8/int16x8 calibrate on --calibration data through the
// runtime; --report writes a per-layer error table (Markdown, worst first, plus a plot);
// --accuracy-budget falls back the worst layers to float until the int8 model is within the
// budget on --eval.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <numeric>
#include <random>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "CLI/CLI.hpp"
#include "src/data/dataset.h"
#include "src/export/tflite/export.h"
#include "src/passes/model_loader.h"
#include "src/passes/prune/sparse_encode.h"
#include "src/passes/quantize/calibrate.h"
#include "src/passes/quantize/quantize.h"
#include "src/report/class_report.h"
#include "src/report/evaluate.h"
#include "src/report/plot.h"
#include "src/report/progress.h"
#include "src/util/file_util.h"
#include "tools/cli/cli_util.h"
#include "tools/cli/commands.h"
#include "tools/cli/train_flags.h"
#include "tools/cli/train_model_io.h"

namespace edgeopt {
namespace cli {
namespace {

double SecondsSince(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

std::vector<std::string> SplitList(const std::string& s) {
  std::vector<std::string> out;
  std::stringstream ss(s);
  std::string item;
  while (std::getline(ss, item, ',')) {
    if (!item.empty()) out.push_back(item);
  }
  return out;
}

// A deterministic random subset of `n` samples (representative of every class even when the
// data set is sorted).
data::Dataset PickSamples(const data::Dataset& ds, int64_t n, uint64_t seed) {
  std::vector<int64_t> idx(static_cast<size_t>(ds.size));
  std::iota(idx.begin(), idx.end(), 0);
  std::mt19937_64 rng(seed);
  std::shuffle(idx.begin(), idx.end(), rng);
  idx.resize(static_cast<size_t>(std::min(n, ds.size)));
  return ds.Subset(idx);
}

// `n` samples of the graph's (one) float input shape, uniform in [0, 1): `--calibration random`,
// to measure an untrained architecture's quantized speed and size (its ranges mean nothing).
StatusOr<data::Dataset> RandomSamples(const ir::Graph& g, int64_t n, uint64_t seed) {
  EDGEOPT_ENSURE(g.inputs.size() == 1 && g.tensors[g.inputs[0]].dtype == DType::kFloat32,
                 StatusCode::kUnsupported, "random calibration needs one float input");
  data::Dataset ds;
  ds.name = "random";
  const std::vector<int32_t>& shape = g.tensors[g.inputs[0]].shape;
  for (size_t d = 1; d < shape.size(); ++d) {
    EDGEOPT_ENSURE(shape[d] > 0 && shape[d] <= (1 << 24), StatusCode::kUnsupported,
                   "random calibration needs a static input shape");
    ds.sample_shape.push_back(shape[d]);
  }
  ds.size = n;
  EDGEOPT_ENSURE(ds.sample_size() <= (int64_t{1} << 26) / n, StatusCode::kUnsupported,
                 "%lld random samples of %lld values are too many", static_cast<long long>(n),
                 static_cast<long long>(ds.sample_size()));
  ds.x.resize(static_cast<size_t>(n * ds.sample_size()));
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<float> u(0.0f, 1.0f);
  for (float& v : ds.x) v = u(rng);
  return ds;
}

quantize::FillInputsFn FillFrom(const data::Dataset& ds) {
  return [&ds](int64_t i, rt::Interpreter* interp) -> Status {
    EDGEOPT_ENSURE(interp->num_inputs() == 1, StatusCode::kUnsupported,
                   "calibration feeds models with one input; this one has %d",
                   interp->num_inputs());
    rt::Tensor* t = interp->input_tensor(0);
    EDGEOPT_ENSURE(t->dims.NumElements() == ds.sample_size(), StatusCode::kInvalidArgument,
                   "the model's input %s has %lld values, a sample of %s has %lld", t->name,
                   static_cast<long long>(t->dims.NumElements()), ds.name.c_str(),
                   static_cast<long long>(ds.sample_size()));
    return report::WriteFloatInput(t, ds.sample(i % ds.size), ds.sample_size());
  };
}

struct Result {
  ir::Graph graph;
  std::vector<int> map;
  std::vector<uint8_t> bytes;
};

// With `sparse`, pruned weights are written in TFLite's sparse encoding (the quantized graph
// in `r.graph` stays dense for the per-layer comparisons).
StatusOr<Result> QuantizeAndExport(const ir::Graph& g, const quantize::QuantizeOptions& o,
                                   const quantize::RangeMap& ranges, bool sparse) {
  Result r;
  EDGEOPT_ASSIGN_OR_RETURN(r.graph, quantize::QuantizeGraph(g, o, ranges, &r.map));
  if (!sparse) {
    EDGEOPT_ASSIGN_OR_RETURN(r.bytes, ExportTflite(r.graph));
    return r;
  }
  ir::Graph encoded = r.graph;
  EDGEOPT_RETURN_IF_ERROR(prune::EncodeSparseWeights(&encoded).status());
  EDGEOPT_ASSIGN_OR_RETURN(r.bytes, ExportTflite(encoded));
  return r;
}

// One model of the --accuracy-budget search: all quantized (layer empty), then each fallback.
struct FallbackStep {
  std::string layer;
  double accuracy = 0.0;
  std::vector<uint8_t> bytes;
  double median_us = -1.0;
};

// Times the steps' models side by side (TimeInterleaved) and fills their median latencies.
Status TimeSteps(std::vector<FallbackStep>* steps, int threads) {
  rt::InterpreterOptions options;
  options.num_threads = threads;
  std::vector<std::unique_ptr<rt::Interpreter>> owned;
  std::vector<rt::Interpreter*> interps;
  std::vector<std::string> names;
  for (const FallbackStep& step : *steps) {
    EDGEOPT_ASSIGN_OR_RETURN(
        auto interp, rt::Interpreter::Create(step.bytes.data(), step.bytes.size(), options));
    interps.push_back(interp.get());
    owned.push_back(std::move(interp));
    names.push_back(step.layer.empty() ? "the quantized model" : "with " + step.layer);
  }
  std::vector<std::vector<double>> us;
  EDGEOPT_RETURN_IF_ERROR(TimeInterleaved(interps, names, 100, 5, &us));
  for (size_t i = 0; i < steps->size(); ++i) (*steps)[i].median_us = Percentile(us[i], 0.5);
  return Status::Ok();
}

// The search as a table: each step's accuracy, drop, size and latency, and what the step cost.
std::vector<std::string> StepTable(const std::vector<FallbackStep>& steps, double float_accuracy,
                                   const std::string& to) {
  std::vector<std::string> lines;
  char line[256];
  std::snprintf(
      line, sizeof(line),
      "| step | kept in %s | top-1 | drop (points) | bytes | latency (us) | cost of the step |",
      to.c_str());
  lines.push_back(line);
  lines.push_back("|---|---|---|---|---|---|---|");
  for (size_t i = 0; i < steps.size(); ++i) {
    const FallbackStep& s = steps[i];
    std::string cost = "-";
    if (i > 0) {
      char c[96];
      const FallbackStep& prev = steps[i - 1];
      std::snprintf(
          c, sizeof(c), "%+lld bytes, %+.1f us, %+.2f points",
          static_cast<long long>(s.bytes.size()) - static_cast<long long>(prev.bytes.size()),
          s.median_us - prev.median_us, 100.0 * (s.accuracy - prev.accuracy));
      cost = c;
    }
    std::snprintf(line, sizeof(line), "| %zu | %s | %.2f%% | %.2f | %zu | %.1f | %s |", i,
                  s.layer.empty() ? "(none)" : s.layer.c_str(), 100.0 * s.accuracy,
                  100.0 * (float_accuracy - s.accuracy), s.bytes.size(), s.median_us, cost.c_str());
    lines.push_back(line);
  }
  return lines;
}

std::string Percent(double x) {
  char b[32];
  std::snprintf(b, sizeof(b), "%.2f%%", 100.0 * x);
  return b;
}

int Fail(const Status& s) { return ReportError("quantize", s); }

}  // namespace

int RunQuantize(int argc, char** argv) {
  CLI::App app{
      "Post-training quantization (TFLite quantization spec). MODEL is a Keras .h5/.keras or a "
      "float .tflite (also the official converter's). Data sets for --calibration and --eval: "
      "fashion-mnist[:train|:test], FILE.npz (x, y arrays), a folder of .npy inputs, an image "
      "folder with one subfolder per class, IDX or CSV files. Inputs are fed as float32 as the "
      "data set gives them: Fashion-MNIST and IDX/image data are scaled to [0,1] (like x/255 "
      "in Keras); .npy/.npz/CSV values are used as they are, so store them the way the model "
      "was trained.",
      "edgeopt quantize"};
  std::string model_path, out, mode_name, calibration, method_name = "minmax", io_name = "float";
  std::string keep_float, keep_int16, fallback_name = "float", report_path, eval_spec;
  int64_t samples = 500;
  int64_t eval_samples = -1;
  double percentile = 99.99;
  double budget = -1.0;
  bool per_tensor = false, per_channel_fc = false, quiet = false, sparse = false;
  bool unroll_lstm = false;
  int threads = 0;
  uint64_t seed = 0;
  app.add_option("model", model_path, "the float model: .h5, .keras or .tflite")->required();
  app.add_option("-o,--output", out, "the quantized .tflite")->required();
  app.add_option("--mode", mode_name, "float16, dynamic, int8 or int16x8")->required();
  app.add_option("--calibration", calibration,
                 "representative data for int8/int16x8 (e.g. fashion-mnist:train), or random: "
                 "inputs uniform in [0, 1), to measure an untrained model's speed and size only");
  app.add_option("--calibration-samples", samples, "samples to calibrate on (default 500)")
      ->check(CLI::PositiveNumber);
  app.add_option("--method", method_name,
                 "activation ranges: minmax (default, as the official converter), percentile, "
                 "kl (entropy) or mse (MSE-optimal clipping)");
  app.add_option("--percentile", percentile, "for --method percentile (default 99.99)");
  app.add_flag("--per-tensor", per_tensor, "per-tensor weights (default per-channel for convs)");
  app.add_flag("--per-channel-fc", per_channel_fc,
               "per-channel FULLY_CONNECTED weights (TFLite 2.9 cannot run them correctly)");
  app.add_option("--io", io_name,
                 "input/output type of int8 models: float (default), int8 or uint8 (int16 for "
                 "int16x8)");
  app.add_option("--keep-float", keep_float,
                 "layers (Keras layer or tensor names, comma-separated) to keep in float");
  app.add_option("--keep-int16", keep_int16,
                 "int8 mode: layers (as --keep-float) computed with int16 activations instead "
                 "(TFLite's 16x8 kernels, int8 weights): the model stays integer");
  app.add_option("--report", report_path,
                 "write a per-layer error report (Markdown; a plot beside it when gnuplot is "
                 "installed)");
  app.add_option("--accuracy-budget", budget,
                 "max top-1 loss in percentage points on --eval; the worst layers fall back to "
                 "float (or int16: --fallback) one by one until the model is within it");
  app.add_option("--fallback", fallback_name,
                 "what --accuracy-budget falls back to: float (default) or int16 (int8 mode: "
                 "the layer keeps int8 weights and computes with int16 activations)");
  app.add_option("--eval", eval_spec,
                 "labeled data to measure accuracy on (e.g. "
                 "fashion-mnist:test)");
  app.add_option("--eval-samples", eval_samples, "evaluate on the first N samples only");
  std::string pixels = "auto";
  AddPixelsFlag(&app, &pixels);
  app.add_option("--threads", threads,
                 "threads (default 0 = auto: all cores, or 1 for a model under 2M MACs)");
  app.add_option("--seed", seed, "seed of the calibration sample choice (default 0)");
  app.add_flag("--quiet", quiet, "no progress bars");
  app.add_flag("--sparse", sparse,
               "write pruned weights (zeros, which quantization keeps) in TFLite's sparse tensor "
               "encoding");
  app.add_flag("--unroll-lstm", unroll_lstm,
               "a Keras model's LSTMs unrolled over time (as Keras' unroll=True: plain ops, for "
               "an NPU or int16x8) instead of the fused LSTM op, which int8 makes TFLite's "
               "integer LSTM (int16 cell state) and int16x8 keeps in float");
  EDGEOPT_CLI_PARSE(app, argc, argv);

  const auto start = std::chrono::steady_clock::now();
  auto mode = quantize::ParseMode(mode_name);
  if (!mode.ok()) return Fail(mode.status());
  auto method = quantize::ParseCalibrationMethod(method_name);
  if (!method.ok()) return Fail(method.status());
  auto io = quantize::ParseIoType(io_name);
  if (!io.ok()) return Fail(io.status());
  const bool integer = *mode == quantize::Mode::kInt8 || *mode == quantize::Mode::kInt16x8;
  if (integer && calibration.empty()) {
    std::fprintf(stderr, "edgeopt quantize: --mode %s needs --calibration DATA\n",
                 mode_name.c_str());
    return kExitUsage;
  }
  if (fallback_name != "float" && fallback_name != "int16") {
    std::fprintf(stderr, "edgeopt quantize: --fallback must be float or int16, is '%s'\n",
                 fallback_name.c_str());
    return kExitUsage;
  }
  const bool fallback_int16 = fallback_name == "int16";
  if ((fallback_int16 || !keep_int16.empty()) && *mode != quantize::Mode::kInt8) {
    std::fprintf(stderr, "edgeopt quantize: --keep-int16 and --fallback int16 need --mode int8\n");
    return kExitUsage;
  }
  if (budget >= 0 && eval_spec.empty()) {
    std::fprintf(stderr, "edgeopt quantize: --accuracy-budget needs --eval DATA\n");
    return kExitUsage;
  }
  if (!integer && *io != quantize::IoType::kFloat) {
    std::fprintf(stderr, "edgeopt quantize: --io applies to int8/int16x8 only\n");
    return kExitUsage;
  }

  auto loaded = passes::LoadModelGraph(model_path, 1, unroll_lstm);
  if (!loaded.ok()) return Fail(loaded.status());
  if (unroll_lstm && !loaded->from_keras) {
    return Fail(MakeStatus(StatusCode::kInvalidArgument,
                           "%s: --unroll-lstm needs a Keras model (.keras, .h5 or a .json "
                           "architecture)",
                           model_path.c_str()));
  }
  if (loaded->quantized) {
    return Fail(MakeStatus(StatusCode::kInvalidArgument,
                           "%s is already quantized; give the float model", model_path.c_str()));
  }
  const ir::Graph& float_graph = loaded->graph;
  TrainFlags pixel_flags;  // 8-bit pixels as 0..255 for a model that rescales them itself
  pixel_flags.quiet = quiet;
  pixel_flags.pixels = pixels;
  pixel_flags = WithModelInput(pixel_flags, float_graph, model_path);
  const data::LoadOptions data_options = DataLoadOptions(pixel_flags);
  auto float_bytes = ExportTflite(float_graph);
  if (!float_bytes.ok()) return Fail(float_bytes.status().WithPrefix(model_path));

  quantize::QuantizeOptions options;
  options.mode = *mode;
  options.per_channel = !per_tensor;
  options.per_channel_fc = per_channel_fc;
  options.io = *io;
  for (const std::string& l : SplitList(keep_float)) options.keep_float.insert(l);
  for (const std::string& l : SplitList(keep_int16)) options.keep_int16.insert(l);

  // Calibration (int8 / int16x8).
  data::Dataset calib;
  quantize::RangeMap ranges;
  quantize::RangeMap ranges16;  // for 65536 levels: int8 models with layers kept in int16
  if (calibration == "random") {
    auto ds = RandomSamples(float_graph, samples, seed);
    if (!ds.ok()) return Fail(ds.status().WithPrefix(model_path));
    calib = std::move(ds).value();
  } else if (!calibration.empty()) {
    auto ds = data::LoadDataset(calibration, data_options);
    if (!ds.ok()) return Fail(ds.status());
    calib = PickSamples(*ds, samples, seed);
  }
  if (integer) {
    quantize::CalibrateOptions co;
    co.samples = calib.size;
    co.method = *method;
    co.percentile = percentile;
    co.num_levels = *mode == quantize::Mode::kInt16x8 ? 65536 : 256;
    co.threads = threads;
    if (*mode == quantize::Mode::kInt8 && (fallback_int16 || !keep_int16.empty())) {
      co.int16_ranges = &ranges16;
      options.int16_ranges = &ranges16;
    }
    const int passes = *method == quantize::CalibrationMethod::kMinMax ? 1 : 2;
    report::ProgressBar bar("calibrate", co.samples * passes, !quiet);
    auto r = quantize::Calibrate(float_graph, FillFrom(calib), co,
                                 [&](int64_t done, int64_t total, int pass, int) {
                                   bar.Update(pass * total + done, pass * total + done, "");
                                 });
    bar.Finish();
    if (!r.ok()) return Fail(r.status().WithPrefix(model_path));
    ranges = std::move(r).value();
    if (!quiet) {
      std::printf("calibrated %zu tensors on %lld samples of %s (%s)\n", ranges.size(),
                  static_cast<long long>(calib.size), calibration.c_str(),
                  quantize::CalibrationMethodName(*method));
    }
  }

  auto result = QuantizeAndExport(float_graph, options, ranges, sparse);
  if (!result.ok()) return Fail(result.status().WithPrefix(model_path));

  // Accuracy on --eval, and the fallback loop of --accuracy-budget.
  data::Dataset eval_ds;
  train::EvalResult float_acc, quant_acc;
  std::vector<std::string> kept;
  std::vector<FallbackStep> steps;
  std::vector<std::string> not_kept;  // fallbacks the search tried and undid
  if (!eval_spec.empty()) {
    auto ds = data::LoadDataset(eval_spec, data_options);
    if (!ds.ok()) return Fail(ds.status());
    eval_ds = std::move(ds).value();
    report::EvalOptions eo;
    eo.threads = threads;
    eo.limit = eval_samples;
    eo.progress = !quiet;
    eo.label = "eval float";
    auto fa = report::EvaluateTfliteBytes(*float_bytes, eval_ds, eo);
    if (!fa.ok()) return Fail(fa.status().WithPrefix(model_path));
    float_acc = *fa;
    eo.label = "eval quantized";
    auto qa = report::EvaluateTfliteBytes(result->bytes, eval_ds, eo);
    if (!qa.ok()) return Fail(qa.status());
    quant_acc = *qa;
    if (budget >= 0 && integer) {
      steps.push_back({"", quant_acc.accuracy, result->bytes});
      std::set<std::string> tried;
      for (int round = 0; round < 64; ++round) {
        const double drop = 100.0 * (float_acc.accuracy - quant_acc.accuracy);
        if (!quiet) {
          std::printf("accuracy: float %s, %s %s (drop %.2f points, budget %.2f)\n",
                      Percent(float_acc.accuracy).c_str(), mode_name.c_str(),
                      Percent(quant_acc.accuracy).c_str(), drop, budget);
        }
        if (drop <= budget + 1e-9) break;  // drop is a difference of two ratios
        // The worst layer not yet in float (int16), by the per-layer error on calibration
        // samples.
        auto errors =
            quantize::CompareLayers(float_graph, result->graph, result->map, FillFrom(calib),
                                    FillFrom(calib), std::min<int64_t>(calib.size, 64));
        if (!errors.ok()) return Fail(errors.status());
        std::string victim;
        for (const auto& e : *errors) {
          const std::string key = !e.layer.empty() ? e.layer : e.name;
          if (e.op == "input" || tried.count(key)) continue;
          if (fallback_int16 && e.dtype == "int16") continue;  // joined an int16 layer already
          victim = key;
          break;
        }
        if (victim.empty()) {
          std::printf("accuracy budget: no layer left to keep in %s\n", fallback_name.c_str());
          break;
        }
        tried.insert(victim);
        std::set<std::string>& keep = fallback_int16 ? options.keep_int16 : options.keep_float;
        keep.insert(victim);
        if (!quiet) std::printf("keeping %s in %s\n", victim.c_str(), fallback_name.c_str());
        auto candidate = QuantizeAndExport(float_graph, options, ranges, sparse);
        if (!candidate.ok()) return Fail(candidate.status());
        eo.label = "eval quantized";
        auto qa2 = report::EvaluateTfliteBytes(candidate->bytes, eval_ds, eo);
        if (!qa2.ok()) return Fail(qa2.status());
        if (qa2->accuracy < quant_acc.accuracy) {
          // A fallback that makes the model worse (it happens: the layers after it were
          // calibrated for what its quantized output looked like) is not kept.
          keep.erase(victim);
          not_kept.push_back(victim);
          if (!quiet) {
            std::printf("  %s lowers the accuracy to %s: %s stays quantized\n", victim.c_str(),
                        Percent(qa2->accuracy).c_str(), victim.c_str());
          }
          continue;
        }
        result = std::move(candidate);
        quant_acc = *qa2;
        kept.push_back(victim);
        steps.push_back({victim, quant_acc.accuracy, result->bytes});
      }
    }
  }
  // What each fallback cost: size, latency (the step models timed side by side), accuracy.
  std::vector<std::string> step_table;
  if (steps.size() > 1) {
    Status timed = TimeSteps(&steps, threads);
    if (!timed.ok()) return Fail(timed);
    step_table = StepTable(steps, float_acc.accuracy, fallback_name);
  }
  if (!not_kept.empty()) {
    std::string list;
    for (const std::string& l : not_kept) list += (list.empty() ? "" : ", ") + l;
    step_table.push_back("");
    step_table.push_back("Tried and left quantized (the fallback lowered the accuracy): " + list);
  }

  Status written = WriteFileAtomic(out, result->bytes);
  if (!written.ok()) return Fail(written);

  // The report.
  std::vector<std::string> header;
  char line[512];
  std::snprintf(line, sizeof(line),
                "- model: `%s` -> `%s`, mode **%s**, calibration %s (%s, %lld samples)",
                model_path.c_str(), out.c_str(), mode_name.c_str(),
                calibration.empty() ? "-" : calibration.c_str(),
                quantize::CalibrationMethodName(*method), static_cast<long long>(calib.size));
  header.push_back(line);
  std::snprintf(line, sizeof(line), "- size: %zu bytes (float) -> %zu bytes (%.3fx)",
                float_bytes->size(), result->bytes.size(),
                static_cast<double>(result->bytes.size()) / float_bytes->size());
  header.push_back(line);
  if (float_acc.samples > 0) {
    std::snprintf(line, sizeof(line),
                  "- top-1 accuracy on %s (%lld samples): float %s, quantized %s (%+.2f points)",
                  eval_spec.c_str(), static_cast<long long>(float_acc.samples),
                  Percent(float_acc.accuracy).c_str(), Percent(quant_acc.accuracy).c_str(),
                  100.0 * (quant_acc.accuracy - float_acc.accuracy));
    header.push_back(line);
  }
  std::string kept_list;
  for (const std::string& k : options.keep_float) kept_list += (kept_list.empty() ? "" : ", ") + k;
  if (!kept_list.empty()) header.push_back("- kept in float: " + kept_list);
  std::string int16_list;
  for (const std::string& k : options.keep_int16) {
    int16_list += (int16_list.empty() ? "" : ", ") + k;
  }
  if (!int16_list.empty()) header.push_back("- kept in int16 (16x8): " + int16_list);
  if (!step_table.empty()) {
    header.push_back("");
    header.push_back(
        "The --accuracy-budget search, one fallback per step (latency: median of 100 "
        "runs, the steps' models timed side by side):");
    header.push_back("");
    for (const std::string& l : step_table) header.push_back(l);
  }
  if (!report_path.empty()) {
    if (calib.size == 0) {
      std::fprintf(stderr,
                   "edgeopt quantize: --report needs --calibration DATA (its samples "
                   "feed both models)\n");
      return kExitUsage;
    }
    auto errors = quantize::CompareLayers(float_graph, result->graph, result->map, FillFrom(calib),
                                          FillFrom(calib), std::min<int64_t>(calib.size, 200));
    if (!errors.ok()) return Fail(errors.status());
    std::string md = quantize::LayerReportMarkdown(*errors, header);
    // A plot of the per-layer relative error, in graph order.
    std::vector<quantize::LayerError> ordered = *errors;
    std::sort(ordered.begin(), ordered.end(),
              [](const auto& a, const auto& b) { return a.tensor < b.tensor; });
    std::vector<std::string> labels;
    std::vector<double> values;
    for (const auto& e : ordered) {
      labels.push_back(e.layer.empty() ? e.name : e.layer + " " + e.op);
      values.push_back(e.float_abs_max > 0 ? e.rmse / e.float_abs_max : 0.0);
    }
    std::string png = report_path;
    if (png.size() > 3 && png.compare(png.size() - 3, 3, ".md") == 0) png.resize(png.size() - 3);
    png += ".png";
    if (report::WriteBarChart(png, "Per-layer error of " + BaseName(out) + " (" + mode_name + ")",
                              "RMSE / max |float value|", labels, values)
            .ok()) {
      md += "\n![per-layer error](" + BaseName(png) + ")\n";
    }
    Status s = WriteFileAtomic(report_path, md.data(), md.size());
    if (!s.ok()) return Fail(s);
  }

  std::printf("%s: %s -> %s, %zu -> %zu bytes (%.3fx), %.1f s\n", mode_name.c_str(),
              model_path.c_str(), out.c_str(), float_bytes->size(), result->bytes.size(),
              static_cast<double>(result->bytes.size()) / float_bytes->size(), SecondsSince(start));
  if (!kept.empty()) {
    std::string k;
    for (const std::string& s : kept) k += (k.empty() ? "" : ", ") + s;
    std::printf("kept in %s to meet the accuracy budget: %s\n", fallback_name.c_str(), k.c_str());
    if (!quiet) {
      for (const std::string& l : step_table) std::printf("%s\n", l.c_str());
    }
  }
  if (float_acc.samples > 0) {
    std::printf("accuracy: float %.4f, %s %.4f (%+.2f points) on %lld samples\n",
                float_acc.accuracy, mode_name.c_str(), quant_acc.accuracy,
                100.0 * (quant_acc.accuracy - float_acc.accuracy),
                static_cast<long long>(quant_acc.samples));
    const std::string changes = report::FormatPredictionChanges(
        float_acc.predicted, quant_acc.predicted, eval_ds.labels.data(),
        std::max(eval_ds.num_classes, 2), eval_ds.class_names);
    if (!changes.empty()) std::printf("against float: %s\n", changes.c_str());
  }
  if (!report_path.empty()) std::printf("report: %s\n", report_path.c_str());
  return kExitOk;
}

}  // namespace cli
}  // namespace edgeopt
