// edgeopt prune MODEL --data DATA [--structure S] [--sparsity X] [--schedule K] [...] -o OUT
//
//   edgeopt prune base.keras --data fashion-mnist --sparsity 0.8 --schedule polynomial
//       --epochs 2 -o pruned.keras
//   edgeopt prune base.keras --data fashion-mnist --structure channel --sparsity 0.5
//       --epochs 2 -o slim.keras
//   edgeopt prune base.keras --data fashion-mnist --structure 2:4 --epochs 2 -o nm.keras
//   edgeopt prune base.keras --data fashion-mnist --structure block:1x4 --sparsity 0.8
//       --epochs 2 -o blk.tflite [--sparse]
//   edgeopt prune base.keras --sparsity 0.5 --one-shot -o quick.keras
//
// Magnitude pruning of a Keras model (src/passes/prune): weight masks that follow a TFMOT
// schedule during fine-tuning with the shared training flags, or channel pruning that removes
// filters before fine-tuning. Ends with a per-layer table and accuracy before / after; the
// last line is machine-readable.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <numeric>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "CLI/CLI.hpp"
#include "src/data/dataset.h"
#include "src/export/tflite/export.h"
#include "src/passes/pipeline.h"
#include "src/passes/prune/channel_prune.h"
#include "src/passes/prune/magnitude_pruner.h"
#include "src/passes/prune/mask.h"
#include "src/passes/prune/prune_plan.h"
#include "src/passes/prune/sparse_encode.h"
#include "src/train/engine.h"
#include "src/train/trainer.h"
#include "src/util/file_util.h"
#include "tools/cli/cli_util.h"
#include "tools/cli/commands.h"
#include "tools/cli/sensitivity_report.h"
#include "tools/cli/train_flags.h"
#include "tools/cli/train_model_io.h"

namespace edgeopt {
namespace cli {
namespace {

struct PruneFlags {
  std::string model, data, test_data, output, structure = "unstructured";
  std::string schedule = "polynomial", layers, skip, layer_sparsity, norm = "l1";
  double sparsity = -1.0;
  double initial_sparsity = 0.0;
  int64_t begin_step = 0;
  int64_t end_step = -1;
  double end_fraction = 0.7;
  int64_t frequency = 100;
  double power = 3.0;
  bool one_shot = false;
  bool sparse = false;
  int64_t max_samples = 0;
  int64_t test_samples = 0;
  bool sensitivity = false;
  std::string sparsities = "0.5,0.7,0.8,0.9,0.95", plot;
};

int64_t NonZeros(const ir::Tensor& t) {
  if (t.dtype != DType::kFloat32 || !t.is_constant) return t.NumElements();
  int64_t n = 0;
  const float* v = t.DataAs<float>();
  for (int64_t i = 0; i < t.NumElements(); ++i) n += v[i] != 0.0f;
  return n;
}

// Trainable weights of the graph (float constants with a Keras origin): count and nonzeros.
void CountParameters(const ir::Graph& g, int64_t* total, int64_t* nonzero) {
  *total = 0;
  *nonzero = 0;
  for (const ir::Tensor& t : g.tensors) {
    if (!t.is_constant || t.origin.empty() || t.dtype != DType::kFloat32) continue;
    if (t.origin.find("moving_") != std::string::npos) continue;  // BN statistics
    *total += t.NumElements();
    *nonzero += NonZeros(t);
  }
}

struct Row {
  std::string layer, op;
  std::string shape_before, shape_after;
  int64_t before = 0, after = 0;  // weight values (after: nonzero, or remaining for channels)
  double sparsity = 0.0;
};

std::string ShapeString(const std::vector<int32_t>& s) {
  std::string out = "[";
  for (size_t i = 0; i < s.size(); ++i) out += (i ? "," : "") + std::to_string(s[i]);
  return out + "]";
}

Status SaveOutput(TrainModel* model, const train::Engine& engine, const std::string& path,
                  bool sparse, std::vector<prune::EncodedWeight>* encoded, size_t* bytes) {
  if (FileExtension(path) != ".tflite") {
    EDGEOPT_RETURN_IF_ERROR(SaveTrainedModel(model, engine, path));
    auto b = ReadFileBytes(path);
    *bytes = b.ok() ? b->size() : 0;
    return Status::Ok();
  }
  EDGEOPT_RETURN_IF_ERROR(engine.ExportWeights(&model->graph));
  ir::Graph g = model->graph;
  EDGEOPT_RETURN_IF_ERROR(passes::PrepareForExport(&g));
  if (sparse) {
    EDGEOPT_ASSIGN_OR_RETURN(*encoded, prune::EncodeSparseWeights(&g));
  }
  EDGEOPT_ASSIGN_OR_RETURN(std::vector<uint8_t> data, ExportTflite(g));
  *bytes = data.size();
  return WriteFileAtomic(path, data);
}

// --sensitivity: each layer pruned alone, one-shot, at each of --sparsities (magnitude, the
// --structure's granularity); the model's accuracy then (through the runtime), a table,
// machine-readable lines, --plot.
Status Sensitivity(const PruneFlags& pf, const TrainFlags& flags) {
  EDGEOPT_ASSIGN_OR_RETURN(prune::Granularity granularity, prune::ParseStructure(pf.structure));
  EDGEOPT_ENSURE(granularity.kind == prune::Granularity::Kind::kUnstructured ||
                     granularity.kind == prune::Granularity::Kind::kBlock,
                 StatusCode::kInvalidArgument,
                 "--sensitivity measures unstructured or block pruning (%s is not)",
                 granularity.ToString().c_str());
  using Levels = std::vector<double>;
  EDGEOPT_ASSIGN_OR_RETURN(Levels levels, ParseFractions(pf.sparsities, "--sparsities"));
  EDGEOPT_ASSIGN_OR_RETURN(TrainModel model, LoadModelForTraining(pf.model, "", flags.seed));
  EDGEOPT_ASSIGN_OR_RETURN(data::Dataset test,
                           AnalysisTestData(pf.data, pf.test_data, pf.test_samples, flags,
                                            model.graph, "--sensitivity"));
  // Every prunable layer (not only the ones pruned by default), or --layers, minus --skip.
  prune::PlanOptions po;
  po.granularity = granularity;
  po.layers = prune::SplitNames(pf.layers);
  if (po.layers.empty()) {
    for (const prune::PrunableWeight& w : prune::WeightLayers(model.graph)) {
      po.layers.push_back(w.layer);
    }
  }
  po.skip = prune::SplitNames(pf.skip);
  EDGEOPT_ASSIGN_OR_RETURN(prune::Plan plan, prune::PlanPruning(model.graph, po));
  EDGEOPT_ENSURE(!plan.weights.empty(), StatusCode::kInvalidArgument,
                 "no layer to prune (%zu left out; see --layers)", plan.notes.size());
  if (!flags.quiet) {
    std::printf(
        "sensitivity of %s: each layer alone, %s, one-shot (before fine-tuning), %zu "
        "layer(s)\n",
        model.description.c_str(), granularity.ToString().c_str(), plan.weights.size());
    for (const std::string& note : plan.notes) std::printf("  %s\n", note.c_str());
  }
  // Accuracy of a training graph, exported as `convert` would.
  const AnalysisModel keras;  // (a Keras model: graphs are exported to be measured)
  auto accuracy = [&](const ir::Graph& training) {
    return AnalysisAccuracy(keras, training, test, flags.threads);
  };
  EDGEOPT_ASSIGN_OR_RETURN(double baseline, accuracy(model.graph));

  std::vector<SensitivityRow> rows;
  std::vector<std::string> lines;
  for (const prune::PrunableWeight& w : plan.weights) {
    SensitivityRow row;
    row.layer = w.layer;
    row.kernel = std::to_string(w.rows) + "x" + std::to_string(w.cols);
    for (double level : levels) {
      ir::Graph g = model.graph;
      ir::Tensor& t = g.tensors[w.tensor];
      std::vector<float> mask;
      EDGEOPT_RETURN_IF_ERROR(
          prune::ComputeMask(t.DataAs<float>(), w.rows, w.cols, granularity, level, &mask));
      float* v = t.DataAs<float>();
      for (size_t i = 0; i < mask.size(); ++i) v[i] *= mask[i];
      const double kept = 1.0 - prune::ZeroFraction(v, t.NumElements());
      EDGEOPT_ASSIGN_OR_RETURN(double acc, accuracy(g));
      char cell[32];
      std::snprintf(cell, sizeof(cell), "%.4f", acc);
      row.cells.push_back(cell);
      row.kept.push_back(kept);
      row.accuracy.push_back(acc);
      char line[256];
      std::snprintf(line, sizeof(line), "sensitivity: layer=%s sparsity=%g kept=%.4f accuracy=%.4f",
                    w.layer.c_str(), level, kept, acc);
      lines.push_back(line);
    }
    rows.push_back(row);
  }
  std::vector<std::string> names;
  for (double level : levels) {
    char buf[32];
    std::snprintf(buf, sizeof(buf), "%g%%", 100.0 * level);
    names.push_back(buf);
  }
  PrintSensitivityTable("pruned (" + granularity.ToString() + ") to a sparsity", baseline, names,
                        rows, test, "");
  for (const std::string& line : lines) std::printf("%s\n", line.c_str());
  if (!pf.plot.empty()) {
    WriteSensitivityPlot(pf.plot, "Pruning sensitivity (one layer at a time, one-shot)",
                         "fraction of the layer's weights kept", baseline, rows);
  }
  return Status::Ok();
}

Status Prune(const PruneFlags& pf, TrainFlags flags) {
  const auto start = std::chrono::steady_clock::now();
  if (pf.sensitivity) return Sensitivity(pf, flags);
  EDGEOPT_ENSURE(!pf.output.empty(), StatusCode::kInvalidArgument,
                 "-o/--output is required (or --sensitivity)");
  EDGEOPT_ASSIGN_OR_RETURN(prune::Granularity granularity, prune::ParseStructure(pf.structure));
  const bool channel = granularity.kind == prune::Granularity::Kind::kChannel;
  const bool nm = granularity.kind == prune::Granularity::Kind::kNM;
  double sparsity = pf.sparsity;
  if (nm) {
    EDGEOPT_ENSURE(sparsity < 0 || std::fabs(sparsity - granularity.ImpliedSparsity()) < 1e-9,
                   StatusCode::kInvalidArgument,
                   "--structure %s prunes %g of each group; --sparsity %g contradicts it",
                   pf.structure.c_str(), granularity.ImpliedSparsity(), sparsity);
    sparsity = granularity.ImpliedSparsity();
  }
  EDGEOPT_ENSURE(sparsity >= 0.0 && sparsity < 1.0, StatusCode::kInvalidArgument,
                 "--sparsity must be in [0, 1) (it is required except for N:M structures)");
  EDGEOPT_ENSURE(pf.one_shot || !pf.data.empty() || flags.epochs == 0, StatusCode::kInvalidArgument,
                 "fine-tuning needs --data (or use --one-shot to prune without it)");

  EDGEOPT_ASSIGN_OR_RETURN(TrainModel model, LoadModelForTraining(pf.model, "", flags.seed));
  flags = WithModelInput(flags, model.graph, pf.model);
  EDGEOPT_RETURN_IF_ERROR(ApplyTrainableFlags(&model, flags));
  // .tflite: the export passes (which fold BATCH_NORM) must accept the graph; checked now
  // rather than after fine-tuning.
  EDGEOPT_RETURN_IF_ERROR(CheckOutputPath(model, pf.output));
  EDGEOPT_ENSURE(!pf.sparse || FileExtension(pf.output) == ".tflite", StatusCode::kInvalidArgument,
                 "--sparse applies to .tflite outputs (Keras files store dense weights)");

  prune::PlanOptions po;
  po.granularity = granularity;
  po.sparsity = sparsity;
  po.layers = prune::SplitNames(pf.layers);
  po.skip = prune::SplitNames(pf.skip);
  EDGEOPT_ASSIGN_OR_RETURN(po.layer_sparsity, prune::ParseLayerSparsity(pf.layer_sparsity));
  EDGEOPT_ASSIGN_OR_RETURN(prune::Plan plan, prune::PlanPruning(model.graph, po));
  // Channel pruning changes the shapes of the layers it prunes and of those that read them:
  // the Keras classes whose variables keep their shapes (EinsumDense, the attention layers) are
  // left as they are, and read their inputs' channels as they are.
  std::set<int> fixed;
  if (channel) {
    fixed = ShapeKeepingWeights(model);
    std::vector<prune::PrunableWeight> kept;
    for (const prune::PrunableWeight& w : plan.weights) {
      if (fixed.count(w.tensor) == 0) {
        kept.push_back(w);
      } else {
        plan.notes.push_back(w.layer + ": its Keras variables keep their shapes; left as it is");
      }
    }
    plan.weights = kept;
  }
  if (plan.weights.empty()) {
    std::string why;
    for (const std::string& note : plan.notes) why += "\n  " + note;
    return MakeStatus(StatusCode::kInvalidArgument, "no layer to prune (see --layers):%s",
                      why.c_str());
  }
  if (!flags.quiet) {
    std::printf("pruning %s: %s, sparsity %.2f, %zu layer(s)\n", model.description.c_str(),
                granularity.ToString().c_str(), sparsity, plan.weights.size());
    for (const std::string& note : plan.notes) std::printf("  %s\n", note.c_str());
  }

  // Data.
  const bool fine_tune = !pf.one_shot && flags.epochs > 0 && !pf.data.empty();
  FineTuneData data;
  EDGEOPT_RETURN_IF_ERROR(LoadFineTuneData(pf.data, pf.test_data, fine_tune, pf.max_samples,
                                           pf.test_samples, flags, &data));
  const data::Dataset& train_data = data.train;
  const data::Dataset& validation = data.validation;
  const data::Dataset& test = data.test;
  const bool has_validation = data.has_validation;
  const bool evaluate = test.size > 0;

  // Before.
  train::EvalResult before, pruned, after;
  int64_t params_before = 0, nonzero_before = 0;
  CountParameters(model.graph, &params_before, &nonzero_before);
  std::vector<Row> rows;
  for (const prune::PrunableWeight& w : plan.weights) {
    const ir::Tensor& t = model.graph.tensors[w.tensor];
    Row r;
    r.layer = w.layer;
    r.op = w.op;
    r.shape_before = ShapeString(t.shape);
    r.before = t.NumElements();
    rows.push_back(r);
  }
  if (evaluate) {
    EDGEOPT_ASSIGN_OR_RETURN(before, EvaluateGraph(model.graph, test, flags, "original"));
  }

  // Channel pruning changes the graph before training; mask pruning starts from it.
  if (channel) {
    prune::ChannelNorm norm;
    EDGEOPT_ASSIGN_OR_RETURN(norm, prune::ParseChannelNorm(pf.norm));
    EDGEOPT_ASSIGN_OR_RETURN(prune::ChannelPruneResult cr,
                             prune::PruneChannels(&model.graph, plan.weights, norm, fixed));
    for (const auto& l : cr.layers) {
      if (!flags.quiet && l.frozen > 0) {
        std::printf("  %s: %d of %d channels kept as they are (%s)\n", l.layer.c_str(), l.frozen,
                    l.channels_before, l.why_frozen.c_str());
      }
    }
  } else if (!fine_tune) {
    EDGEOPT_RETURN_IF_ERROR(prune::PruneGraphOnce(&model.graph, plan.weights, granularity));
  } else if (evaluate) {
    // The one-shot result at the final sparsity, for the table (fine-tuning starts from the
    // unpruned weights and follows the schedule).
    ir::Graph once = model.graph;
    EDGEOPT_RETURN_IF_ERROR(prune::PruneGraphOnce(&once, plan.weights, granularity));
    EDGEOPT_ASSIGN_OR_RETURN(pruned,
                             EvaluateGraph(once, test, flags, "pruned, before fine-tuning"));
  }
  if (evaluate && (channel || !fine_tune)) {
    EDGEOPT_ASSIGN_OR_RETURN(pruned,
                             EvaluateGraph(model.graph, test, flags, "pruned, before fine-tuning"));
  }

  EDGEOPT_ASSIGN_OR_RETURN(train::TrainOptions options, MakeModelTrainOptions(flags, model));
  train::EngineOptions eo;
  eo.batch_size = options.batch_size;
  eo.num_threads = flags.threads;
  eo.seed = flags.seed;
  EDGEOPT_ASSIGN_OR_RETURN(auto engine, train::Engine::Create(model.graph, eo));
  if (fine_tune) {
    EDGEOPT_ASSIGN_OR_RETURN(auto trainer,
                             train::Trainer::Create(engine.get(), options, train_data));
    std::unique_ptr<prune::MagnitudePruner> pruner;
    prune::Schedule schedule;
    if (!channel) {
      const int64_t steps_per_epoch =
          (train_data.size + options.batch_size - 1) / options.batch_size;
      const int64_t total = steps_per_epoch * options.epochs;
      EDGEOPT_ASSIGN_OR_RETURN(schedule.kind, prune::ParseScheduleKind(pf.schedule));
      schedule.initial_sparsity = pf.initial_sparsity;
      schedule.final_sparsity = sparsity;
      schedule.begin_step = pf.begin_step;
      schedule.frequency = pf.frequency;
      schedule.power = pf.power;
      schedule.end_step = pf.end_step;
      if (schedule.end_step < 0 && schedule.kind == prune::Schedule::Kind::kPolynomial) {
        // A multiple of the frequency after begin_step, so that the last update reaches the
        // final sparsity.
        const double span =
            pf.end_fraction * static_cast<double>(total) - static_cast<double>(schedule.begin_step);
        schedule.end_step =
            schedule.begin_step +
            std::max<int64_t>(1, std::llround(span / static_cast<double>(pf.frequency))) *
                pf.frequency;
      }
      EDGEOPT_RETURN_IF_ERROR(schedule.Validate());
      if (!flags.quiet) {
        std::printf(
            "schedule: %s, sparsity %.2f -> %.2f over steps %lld..%lld every %lld "
            "(of %lld steps)\n",
            prune::ScheduleKindName(schedule.kind),
            schedule.kind == prune::Schedule::Kind::kPolynomial
                ? std::min(schedule.initial_sparsity, sparsity)
                : sparsity,
            sparsity, static_cast<long long>(schedule.begin_step),
            static_cast<long long>(schedule.end_step), static_cast<long long>(schedule.frequency),
            static_cast<long long>(total));
      }
      pruner = std::make_unique<prune::MagnitudePruner>(plan.weights, granularity, schedule);
      EDGEOPT_RETURN_IF_ERROR(pruner->Attach(trainer.get()));
    }
    if (!flags.quiet) {
      std::printf("fine-tuning on %s: %lld samples, %s lr %g, batch %d, %d epoch(s)\n",
                  train_data.name.c_str(), static_cast<long long>(train_data.size),
                  train::OptimizerKindName(options.optimizer.kind), options.optimizer.learning_rate,
                  options.batch_size, options.epochs);
      std::fflush(stdout);
    }
    EDGEOPT_RETURN_IF_ERROR(RunTraining("prune", trainer.get(), train_data,
                                        has_validation ? &validation : nullptr, flags, nullptr));
    // A schedule cut short (fewer steps than its end): the final masks now.
    if (pruner != nullptr && pruner->last_sparsity() + 1e-6 < sparsity) {
      if (!flags.quiet) {
        std::printf("the schedule did not reach %.2f in %lld steps; pruning to it now\n", sparsity,
                    static_cast<long long>(trainer->global_step()));
      }
      prune::Schedule final = schedule;
      final.kind = prune::Schedule::Kind::kConstant;
      prune::MagnitudePruner finisher(plan.weights, granularity, final);
      EDGEOPT_RETURN_IF_ERROR(finisher.UpdateMasks(trainer.get(), trainer->global_step()));
    }
    EDGEOPT_RETURN_IF_ERROR(engine->ExportWeights(&model.graph));
  }

  if (evaluate && fine_tune) {
    EDGEOPT_ASSIGN_OR_RETURN(after,
                             EvaluateGraph(model.graph, test, flags, "pruned and fine-tuned"));
  } else {
    after = pruned;
  }
  std::vector<prune::EncodedWeight> encoded;
  size_t bytes = 0;
  EDGEOPT_RETURN_IF_ERROR(SaveOutput(&model, *engine, pf.output, pf.sparse, &encoded, &bytes));

  // The table.
  int64_t params_after = 0, nonzero_after = 0;
  CountParameters(model.graph, &params_after, &nonzero_after);
  for (size_t i = 0; i < rows.size(); ++i) {
    const ir::Tensor& t = model.graph.tensors[plan.weights[i].tensor];
    rows[i].shape_after = ShapeString(t.shape);
    rows[i].after = NonZeros(t);
    rows[i].sparsity =
        1.0 - static_cast<double>(rows[i].after) / static_cast<double>(rows[i].before);
  }
  std::printf("\n%-20s %-18s %-16s %-16s %8s %12s %12s\n", "layer", "op", "shape before",
              "shape after", "sparsity", "params before", "params after");
  for (const Row& r : rows) {
    std::printf("%-20s %-18s %-16s %-16s %7.1f%% %12lld %12lld\n", r.layer.c_str(), r.op.c_str(),
                r.shape_before.c_str(), r.shape_after.c_str(), 100.0 * r.sparsity,
                static_cast<long long>(r.before), static_cast<long long>(r.after));
  }
  const int64_t effective_after = channel ? params_after : nonzero_after;
  std::printf("%-20s %-18s %-16s %-16s %7.1f%% %12lld %12lld\n", "model", "(all weights)", "", "",
              100.0 * (1.0 - static_cast<double>(effective_after) / params_before),
              static_cast<long long>(params_before), static_cast<long long>(effective_after));
  if (!encoded.empty()) {
    std::printf("\nsparse encoding (%s):\n", pf.output.c_str());
    for (const prune::EncodedWeight& e : encoded) {
      std::printf("  %-32s %-18s %-22s %9lld -> %9lld bytes%s\n", e.tensor.c_str(), e.op.c_str(),
                  e.layout.c_str(), static_cast<long long>(e.dense_bytes),
                  static_cast<long long>(e.sparse_bytes), e.densify ? " (DENSIFY)" : "");
    }
  }
  if (evaluate) {
    std::printf("\naccuracy on %s (%lld samples): original %.4f", test.name.c_str(),
                static_cast<long long>(test.size), before.accuracy);
    if (pruned.samples > 0) std::printf(", pruned before fine-tuning %.4f", pruned.accuracy);
    std::printf(", %s %.4f (%+.2f points)\n", fine_tune ? "after fine-tuning" : "pruned",
                after.accuracy, 100.0 * (after.accuracy - before.accuracy));
  }
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::printf("saved %s (%zu bytes) in %.1f s\n", pf.output.c_str(), bytes, seconds);
  std::printf("prune: structure=%s sparsity=%.4f params_before=%lld params_after=%lld",
              granularity.ToString().c_str(),
              1.0 - static_cast<double>(effective_after) / params_before,
              static_cast<long long>(params_before), static_cast<long long>(effective_after));
  if (evaluate) {
    std::printf(" accuracy_before=%.4f", before.accuracy);
    if (pruned.samples > 0) std::printf(" accuracy_pruned=%.4f", pruned.accuracy);
    std::printf(" accuracy=%.4f", after.accuracy);
  }
  std::printf(" bytes=%zu\n", bytes);
  return Status::Ok();
}

}  // namespace

int RunPrune(int argc, char** argv) {
  CLI::App app{
      "Prune a Keras model by weight magnitude and fine-tune it with edgeopt's training engine. "
      "Structures: unstructured, block:RxC (e.g. block:1x4: R output x C input channels), N:M "
      "(e.g. 2:4: N of every M consecutive input weights kept), channel (whole filters / units "
      "removed, with the matching inputs of the layers that read them: a smaller dense model). "
      "By default the first convolution and the last dense layer are not pruned (with "
      "--structure channel only the last dense layer, whose units are the outputs: the first "
      "convolution loses filters too; --skip keeps it); --layers names the layers to prune "
      "instead. Masks follow TFMOT's schedules (recomputed every "
      "--frequency steps, fixed after --end-step). Outputs: .keras / .h5, or .tflite (dense "
      "weights; with --sparse, TFLite's sparse tensor encoding).",
      "edgeopt prune"};
  PruneFlags pf;
  TrainFlags flags;
  flags.epochs = 2;
  app.add_option("model", pf.model, "the Keras model to prune (.keras or .h5)")->required();
  AddCompressionDataFlags(&app, &pf.data, &pf.test_data);
  app.add_option("-o,--output", pf.output,
                 "the pruned model: .keras, .h5 or .tflite (required unless --sensitivity)");
  app.add_option("--structure", pf.structure, "unstructured (default), block:RxC, N:M or channel");
  app.add_option("--sparsity", pf.sparsity,
                 "fraction of weights (channel: of filters) to remove per layer, in [0, 1)");
  app.add_option("--schedule", pf.schedule,
                 "polynomial (default; TFMOT PolynomialDecay) or constant (ConstantSparsity)");
  app.add_option("--initial-sparsity", pf.initial_sparsity,
                 "polynomial: sparsity at --begin-step (default 0)");
  app.add_option("--begin-step", pf.begin_step, "first step that prunes (default 0)");
  app.add_option("--end-step", pf.end_step,
                 "polynomial: step at which the final sparsity is reached (default 70% of the "
                 "fine-tuning steps); constant: last pruning step (default: until the end)");
  app.add_option("--frequency", pf.frequency, "recompute masks every N steps (default 100)");
  app.add_option("--power", pf.power, "polynomial exponent (default 3)");
  app.add_option("--layers", pf.layers, "prune exactly these layers (comma-separated Keras names)");
  app.add_option("--skip", pf.skip, "never prune these layers (comma-separated)");
  app.add_option("--layer-sparsity", pf.layer_sparsity,
                 "per-layer targets, e.g. dense=0.9,conv2d_1=0.5");
  app.add_option("--norm", pf.norm, "channel pruning: filter importance by l1 (default) or l2");
  app.add_flag("--one-shot", pf.one_shot, "prune to the target at once, without fine-tuning");
  app.add_flag("--sensitivity", pf.sensitivity,
               "write no model: prune each layer alone, one-shot, at each of --sparsities, and "
               "report the accuracy (to choose --layer-sparsity)");
  app.add_option("--sparsities", pf.sparsities,
                 "for --sensitivity: the sparsities (default 0.5,0.7,0.8,0.9,0.95)");
  app.add_option("--plot", pf.plot,
                 "for --sensitivity: a PNG of accuracy against the weights kept");
  app.add_flag("--sparse", pf.sparse,
               ".tflite output: TFLite's sparse tensor encoding for pruned weights");
  AddSubsetFlags(&app, &pf.max_samples, &pf.test_samples);
  AddTrainFlags(&app, &flags);
  EDGEOPT_CLI_PARSE(app, argc, argv);
  const bool nm =
      pf.structure.find(':') != std::string::npos && pf.structure.rfind("block:", 0) != 0;
  if (pf.sparsity < 0 && !nm && !pf.sensitivity) {
    std::fprintf(stderr, "edgeopt prune: --sparsity is required (except for N:M structures)\n");
    return kExitUsage;
  }
  Status s = Prune(pf, flags);
  if (!s.ok()) return ReportError("prune", s);
  return kExitOk;
}

}  // namespace cli
}  // namespace edgeopt
