// edgeopt lowrank MODEL --data DATA [--params P | --energy E | --rank R] [...] -o OUT
//
//   edgeopt lowrank base.keras --data fashion-mnist --epochs 1 -o lr.keras    # 1/4 of the weights
//   edgeopt lowrank base.keras --data fashion-mnist --rank 16 --layers dense -o lr.tflite
//   edgeopt lowrank base.keras --energy 0.8 --one-shot -o quick.keras
//   edgeopt lowrank official.tflite --one-shot -o lr.tflite                 # any float .tflite
//
// Low-rank factorization (src/passes/lowrank): each Dense / Conv2D / Conv1D layer whose kernel a
// rank-r approximation makes smaller becomes two layers of rank r (a truncated SVD), then
// fine-tuning with the shared training flags recovers the accuracy. Unlike clustering or
// unstructured pruning the .tflite is smaller and has fewer multiply-adds as it is. Ends with a
// per-layer table, the model's weights and multiply-adds before / after, the accuracy before /
// after and the .tflite sizes; the last line is machine-readable.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "CLI/CLI.hpp"
#include "src/export/tflite/export.h"
#include "src/passes/lowrank/lowrank.h"
#include "src/passes/model_loader.h"
#include "src/passes/pipeline.h"
#include "src/passes/prune/prune_plan.h"
#include "src/report/evaluate.h"
#include "src/train/engine.h"
#include "src/train/trainer.h"
#include "src/util/file_util.h"
#include "src/util/zip.h"
#include "tools/cli/cli_util.h"
#include "tools/cli/commands.h"
#include "tools/cli/sensitivity_report.h"
#include "tools/cli/train_flags.h"
#include "tools/cli/train_model_io.h"

namespace edgeopt {
namespace cli {
namespace {

struct LowRankFlags {
  std::string model, data, test_data, output, layers, skip, layer_ranks;
  int rank = 0;
  double energy = 0.0;
  double params = 0.0;
  bool one_shot = false;
  int64_t min_weights = 4096;
  int rank_multiple = 1;
  bool sensitivity = false;
  double auto_ranks = -1.0;  // >= 0: points of one-shot accuracy each layer may cost
  std::string fractions = "0.5,0.25,0.125,0.0625", plot;
  int64_t max_samples = 0;
  int64_t test_samples = 0;
};

StatusOr<lowrank::RankRule> MakeRule(const LowRankFlags& lf) {
  const int given = (lf.rank > 0) + (lf.energy > 0) + (lf.params > 0) + (lf.auto_ranks >= 0);
  EDGEOPT_ENSURE(given <= 1, StatusCode::kInvalidArgument,
                 "give one of --rank, --energy, --params and --auto-ranks");
  EDGEOPT_ENSURE(lf.rank_multiple >= 1 && lf.rank_multiple <= 1024, StatusCode::kInvalidArgument,
                 "--rank-multiple must be in [1, 1024], is %d", lf.rank_multiple);
  lowrank::RankRule rule;
  rule.multiple = lf.rank_multiple;
  if (lf.rank > 0) {
    rule.kind = lowrank::RankRule::Kind::kRank;
    rule.value = lf.rank;
  } else if (lf.params > 0) {
    EDGEOPT_ENSURE(lf.params < 1.0, StatusCode::kInvalidArgument,
                   "--params must be in (0, 1), is %g", lf.params);
    rule.kind = lowrank::RankRule::Kind::kParams;
    rule.value = lf.params;
  } else if (lf.energy > 0) {
    EDGEOPT_ENSURE(lf.energy <= 1.0, StatusCode::kInvalidArgument,
                   "--energy must be in (0, 1], is %g", lf.energy);
    rule.kind = lowrank::RankRule::Kind::kEnergy;
    rule.value = lf.energy;
  } else {
    rule.kind = lowrank::RankRule::Kind::kParams;
    rule.value = 0.25;
  }
  return rule;
}

struct Summary : CompressionSummary {
  int64_t model_weights_before = 0, model_weights_after = 0;
  int64_t macs_before = 0, macs_after = 0;
  double factored = 0;  // accuracy before fine-tuning
};

// Weights (kernels and biases) and multiply-adds per sample of the CONV_2D, DEPTHWISE_CONV_2D
// and FULLY_CONNECTED layers of a graph.
void CountModel(const ir::Graph& g, int64_t* weights, int64_t* macs) {
  *weights = 0;
  *macs = 0;
  std::set<int> counted;
  for (const ir::Node& n : g.nodes) {
    if ((n.op != "CONV_2D" && n.op != "DEPTHWISE_CONV_2D" && n.op != "FULLY_CONNECTED") ||
        n.inputs.size() < 2 || n.inputs[1] < 0 || n.outputs.empty()) {
      continue;
    }
    for (size_t i = 1; i < n.inputs.size() && i <= 2; ++i) {
      const int t = n.inputs[i];
      if (t >= 0 && g.tensors[t].is_constant && counted.insert(t).second) {
        *weights += g.tensors[t].NumElements();
      }
    }
    const ir::Tensor& w = g.tensors[n.inputs[1]];
    const ir::Tensor& y = g.tensors[n.outputs[0]];
    if (w.shape.empty() || y.shape.empty()) continue;
    // Output elements per sample times the weights each one reads.
    int64_t outputs = 1;
    for (size_t i = 1; i < y.shape.size(); ++i) outputs *= y.shape[i];
    int64_t per_output = 1;
    if (n.op == "DEPTHWISE_CONV_2D") {
      per_output = w.shape.size() == 4 ? int64_t{w.shape[1]} * w.shape[2] : 1;
    } else {
      for (size_t i = 1; i < w.shape.size(); ++i) per_output *= w.shape[i];
    }
    *macs += outputs * per_output;
  }
}

void PrintSummary(const std::vector<lowrank::LayerReport>& reports, const Summary& s,
                  double seconds) {
  int width = 16;
  for (const lowrank::LayerReport& r : reports) {
    width = std::max(width, static_cast<int>(r.layer.size()));
  }
  std::printf("\n%-*s %-16s %12s %10s %13s %10s %21s\n", width, "layer", "op", "kernel", "rank",
              "energy kept", "rel. error", "weights");
  for (const lowrank::LayerReport& r : reports) {
    const std::string kernel = std::to_string(r.out) + "x" + std::to_string(r.in);
    const std::string rank = std::to_string(r.rank) + "/" + std::to_string(r.full_rank);
    const std::string weights =
        std::to_string(r.weights_before) + " -> " + std::to_string(r.weights_after);
    std::printf("%-*s %-16s %12s %10s %12.1f%% %9.1f%% %21s\n", width, r.layer.c_str(),
                r.op.c_str(), kernel.c_str(), rank.c_str(), 100.0 * r.energy,
                100.0 * r.relative_error, weights.c_str());
  }
  auto ratio = [](int64_t a, int64_t b) {
    return b > 0 ? static_cast<double>(a) / static_cast<double>(b) : 0.0;
  };
  std::printf(
      "\nmodel: %lld -> %lld weights (%.2fx fewer), %lld -> %lld multiply-adds per "
      "sample (%.2fx fewer)\n",
      static_cast<long long>(s.model_weights_before), static_cast<long long>(s.model_weights_after),
      ratio(s.model_weights_before, s.model_weights_after), static_cast<long long>(s.macs_before),
      static_cast<long long>(s.macs_after), ratio(s.macs_before, s.macs_after));
  std::printf(".tflite: %zu bytes (original %zu: %.2fx smaller), %zu zipped (original %zu)\n",
              s.tflite, s.original_tflite,
              ratio(static_cast<int64_t>(s.original_tflite), static_cast<int64_t>(s.tflite)),
              s.zipped, s.original_zipped);
  if (s.evaluated) {
    std::printf("accuracy on %s (%lld samples): original %.4f", s.test_name.c_str(),
                static_cast<long long>(s.test_size), s.before);
    if (s.fine_tuned) std::printf(", factorized before fine-tuning %.4f", s.factored);
    std::printf(", %s %.4f (%+.2f points)\n", s.fine_tuned ? "after fine-tuning" : "factorized",
                s.after, 100.0 * (s.after - s.before));
  }
  std::printf("saved %s (%zu bytes) in %.1f s\n", s.output.c_str(), s.bytes, seconds);
  std::printf(
      "lowrank: layers=%zu weights_before=%lld weights_after=%lld macs_before=%lld "
      "macs_after=%lld tflite_bytes=%zu original_tflite_bytes=%zu zipped_bytes=%zu "
      "original_zipped_bytes=%zu",
      reports.size(), static_cast<long long>(s.model_weights_before),
      static_cast<long long>(s.model_weights_after), static_cast<long long>(s.macs_before),
      static_cast<long long>(s.macs_after), s.tflite, s.original_tflite, s.zipped,
      s.original_zipped);
  if (s.evaluated) {
    std::printf(" accuracy_before=%.4f", s.before);
    if (s.fine_tuned) std::printf(" accuracy_factorized=%.4f", s.factored);
    std::printf(" accuracy=%.4f", s.after);
  }
  std::printf(" bytes=%zu\n", s.bytes);
}

// Which layers, at which ranks: --layers, --skip, --layer-ranks as given, or with --auto-ranks
// the layers and ranks the sensitivity analysis chose.
struct Selection {
  std::vector<std::string> layers, skip;
  std::map<std::string, int> ranks;
};

StatusOr<Selection> SelectionFromFlags(const LowRankFlags& lf) {
  Selection sel;
  sel.layers = prune::SplitNames(lf.layers);
  sel.skip = prune::SplitNames(lf.skip);
  EDGEOPT_ASSIGN_OR_RETURN(sel.ranks, lowrank::ParseLayerRanks(lf.layer_ranks));
  return sel;
}

// The layers to factorize, announced unless --quiet.
StatusOr<lowrank::Plan> MakePlan(const ir::Graph& graph, const keras::KerasModel* keras_model,
                                 const Selection& sel, const LowRankFlags& lf,
                                 const TrainFlags& flags, const lowrank::RankRule& rule,
                                 const std::string& description) {
  EDGEOPT_ASSIGN_OR_RETURN(
      lowrank::Plan plan, lowrank::PlanFactorization(graph, keras_model, sel.layers, sel.skip, rule,
                                                     sel.ranks, lf.min_weights));
  if (!flags.quiet) {
    std::printf("factorizing %s: %s, %zu layer(s)\n", description.c_str(),
                lf.auto_ranks >= 0 ? "ranks from the sensitivity analysis"
                                   : lowrank::RankRuleName(rule).c_str(),
                plan.layers.size());
    for (const std::string& note : plan.notes) {
      // (--auto-ranks names the layers it chose; the sensitivity analysis said why not others.)
      if (lf.auto_ranks >= 0 && note.find(": not in --layers") != std::string::npos) continue;
      std::printf("  %s\n", note.c_str());
    }
  }
  EDGEOPT_ENSURE(!plan.layers.empty(), StatusCode::kInvalidArgument,
                 "%s: no layer to factorize (%zu left out; see the notes, --layers and the rank "
                 "options)",
                 lf.model.c_str(), plan.notes.size());
  return plan;
}

// The float model as a .tflite holds it (export passes: BatchNorm folded).
StatusOr<ir::Graph> InferenceGraphOf(const LowRankFlags& lf, const TrainFlags& flags) {
  EDGEOPT_ASSIGN_OR_RETURN(AnalysisModel m, LoadAnalysisModel(lf.model, flags));
  if (!m.from_tflite) EDGEOPT_RETURN_IF_ERROR(passes::PrepareForExport(&m.graph));
  return std::move(m.graph);
}

struct SensitivityResult {
  std::vector<double> fractions;
  double baseline = 0.0;
  std::vector<lowrank::LayerSensitivity> layers;
};

// Each layer of `graph` (inference form) alone, one-shot, at each of --fractions of its weights:
// the model's accuracy through the runtime. Prints the table, the machine-readable lines and
// (--plot) the plot.
StatusOr<SensitivityResult> MeasureAndReport(const ir::Graph& graph, const LowRankFlags& lf,
                                             const TrainFlags& flags) {
  SensitivityResult r;
  EDGEOPT_ASSIGN_OR_RETURN(r.fractions, ParseFractions(lf.fractions, "--fractions"));
  EDGEOPT_ASSIGN_OR_RETURN(data::Dataset test,
                           AnalysisTestData(lf.data, lf.test_data, lf.test_samples, flags, graph,
                                            lf.sensitivity ? "--sensitivity" : "--auto-ranks"));
  EDGEOPT_ASSIGN_OR_RETURN(Selection sel, SelectionFromFlags(lf));
  lowrank::RankRule any_rank{lowrank::RankRule::Kind::kRank, 1};
  EDGEOPT_ASSIGN_OR_RETURN(
      lowrank::Plan plan, lowrank::PlanFactorization(graph, nullptr, sel.layers, sel.skip, any_rank,
                                                     sel.ranks, lf.min_weights));
  if (!flags.quiet) {
    std::printf(
        "sensitivity of %s: each layer alone, one-shot (before fine-tuning), %zu layer(s)\n",
        lf.model.c_str(), plan.layers.size());
    for (const std::string& note : plan.notes) std::printf("  %s\n", note.c_str());
  }
  EDGEOPT_ENSURE(!plan.layers.empty(), StatusCode::kInvalidArgument,
                 "%s: no layer to factorize (%zu left out; see the notes)", lf.model.c_str(),
                 plan.notes.size());
  auto accuracy = [&](const ir::Graph& g) { return TfliteGraphAccuracy(g, test, flags.threads); };
  EDGEOPT_ASSIGN_OR_RETURN(r.baseline, accuracy(graph));
  EDGEOPT_ASSIGN_OR_RETURN(
      r.layers, lowrank::MeasureSensitivity(graph, plan, r.fractions, lf.rank_multiple, accuracy));

  std::vector<SensitivityRow> rows;
  std::vector<std::string> names;
  for (double f : r.fractions) names.push_back(FractionName(f));
  for (const lowrank::LayerSensitivity& l : r.layers) {
    SensitivityRow row;
    row.layer = l.layer;
    row.kernel = std::to_string(l.out) + "x" + std::to_string(l.in);
    for (double f : r.fractions) {
      const auto p =
          std::find_if(l.points.begin(), l.points.end(),
                       [&](const lowrank::SensitivityPoint& q) { return q.params == f; });
      char buf[48] = "-";
      if (p != l.points.end()) std::snprintf(buf, sizeof(buf), "%.4f (%d)", p->accuracy, p->rank);
      row.cells.push_back(buf);
    }
    for (const lowrank::SensitivityPoint& p : l.points) {
      row.kept.push_back(static_cast<double>(p.weights) / static_cast<double>(l.out * l.in));
      row.accuracy.push_back(p.accuracy);
    }
    rows.push_back(row);
  }
  PrintSensitivityTable("factorized to a fraction of its weights (rank)", r.baseline, names, rows,
                        test, "'-': that rank would not make the layer smaller");
  for (const lowrank::LayerSensitivity& l : r.layers) {
    for (const lowrank::SensitivityPoint& p : l.points) {
      std::printf("sensitivity: layer=%s params=%g rank=%d weights=%lld accuracy=%.4f\n",
                  l.layer.c_str(), p.params, p.rank, static_cast<long long>(p.weights), p.accuracy);
    }
  }
  if (!lf.plot.empty()) {
    WriteSensitivityPlot(lf.plot, "Low-rank sensitivity (one layer at a time, one-shot)",
                         "fraction of the layer's weights kept", r.baseline, rows);
  }
  return r;
}

// --sensitivity: the analysis alone, no model written.
Status Sensitivity(const LowRankFlags& lf, const TrainFlags& flags) {
  EDGEOPT_ASSIGN_OR_RETURN(ir::Graph graph, InferenceGraphOf(lf, flags));
  return MeasureAndReport(graph, lf, flags).status();
}

// --auto-ranks POINTS: each layer at the fewest weights among its sensitivity points that cost
// at most POINTS of accuracy (that layer alone, one-shot); layers with none are left as they
// are. --layer-ranks entries take precedence.
StatusOr<Selection> AutoSelection(const ir::Graph& inference, const LowRankFlags& lf,
                                  const TrainFlags& flags) {
  EDGEOPT_ASSIGN_OR_RETURN(SensitivityResult r, MeasureAndReport(inference, lf, flags));
  EDGEOPT_ASSIGN_OR_RETURN(Selection given, SelectionFromFlags(lf));
  Selection sel;
  sel.ranks = given.ranks;
  std::printf(
      "\n--auto-ranks %g: each layer at its fewest weights within %g points of %.4f "
      "(one-shot, that layer alone):\n",
      lf.auto_ranks, lf.auto_ranks, r.baseline);
  for (const lowrank::LayerSensitivity& l : r.layers) {
    const lowrank::SensitivityPoint* best = nullptr;
    for (const lowrank::SensitivityPoint& p : l.points) {
      if (100.0 * (r.baseline - p.accuracy) > lf.auto_ranks) continue;
      if (best == nullptr || p.weights < best->weights) best = &p;
    }
    if (given.ranks.count(l.layer) > 0) {
      sel.layers.push_back(l.layer);
      std::printf("  %s: rank %d (--layer-ranks)\n", l.layer.c_str(), given.ranks.at(l.layer));
    } else if (best != nullptr) {
      sel.layers.push_back(l.layer);
      sel.ranks[l.layer] = best->rank;
      std::printf("  %s: rank %d, %s of its weights (%.4f)\n", l.layer.c_str(), best->rank,
                  FractionName(best->params).c_str(), best->accuracy);
    } else {
      std::printf("  %s: every fraction costs more; left as it is\n", l.layer.c_str());
    }
  }
  EDGEOPT_ENSURE(!sel.layers.empty(), StatusCode::kInvalidArgument,
                 "%s: no layer stays within --auto-ranks %g points", lf.model.c_str(),
                 lf.auto_ranks);
  std::printf("\n");
  return sel;
}

// A float .tflite (the official converter's, say): the truncated SVD without fine-tuning
// (which needs the Keras model), accuracy through the runtime.
Status LowRankTflite(const LowRankFlags& lf, const TrainFlags& flags,
                     const lowrank::RankRule& rule) {
  const auto start = std::chrono::steady_clock::now();
  EDGEOPT_ASSIGN_OR_RETURN(OneShotTflite in, LoadOneShotTflite(lf.model, lf.output, lf.one_shot,
                                                               "factorize", "factorized"));
  ir::Graph graph = in.graph;
  Selection sel;
  if (lf.auto_ranks >= 0) {
    EDGEOPT_ASSIGN_OR_RETURN(sel, AutoSelection(graph, lf, flags));
  } else {
    EDGEOPT_ASSIGN_OR_RETURN(sel, SelectionFromFlags(lf));
  }
  EDGEOPT_ASSIGN_OR_RETURN(
      lowrank::Plan plan, MakePlan(graph, nullptr, sel, lf, flags, rule, lf.model + " (one shot)"));
  Summary summary;
  CountModel(graph, &summary.model_weights_before, &summary.macs_before);
  using Reports = std::vector<lowrank::LayerReport>;
  EDGEOPT_ASSIGN_OR_RETURN(Reports reports, lowrank::FactorizeGraph(&graph, plan));
  CountModel(graph, &summary.model_weights_after, &summary.macs_after);
  EDGEOPT_ASSIGN_OR_RETURN(
      static_cast<CompressionSummary&>(summary),
      FinishOneShotTflite(in, graph, lf.data, lf.test_data, lf.test_samples, flags, lf.output));
  summary.factored = summary.before;
  PrintSummary(reports, summary,
               std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
  return Status::Ok();
}

Status LowRank(const LowRankFlags& lf, TrainFlags flags) {
  const auto start = std::chrono::steady_clock::now();
  if (lf.sensitivity) return Sensitivity(lf, flags);
  EDGEOPT_ENSURE(!lf.output.empty(), StatusCode::kInvalidArgument,
                 "-o/--output is required (or --sensitivity)");
  EDGEOPT_ASSIGN_OR_RETURN(lowrank::RankRule rule, MakeRule(lf));
  if (FileExtension(lf.model) == ".tflite") return LowRankTflite(lf, flags, rule);
  EDGEOPT_ENSURE(lf.one_shot || !lf.data.empty() || flags.epochs == 0, StatusCode::kInvalidArgument,
                 "fine-tuning needs --data (or use --one-shot to factorize without it)");
  EDGEOPT_ASSIGN_OR_RETURN(TrainModel model, LoadModelForTraining(lf.model, "", flags.seed));
  flags = WithModelInput(flags, model.graph, lf.model);
  EDGEOPT_RETURN_IF_ERROR(ApplyTrainableFlags(&model, flags));
  EDGEOPT_RETURN_IF_ERROR(CheckOutputPath(model, lf.output));
  keras::KerasModel* keras_model = KerasModelOf(&model);
  Selection sel;
  if (lf.auto_ranks >= 0) {
    ir::Graph inference = model.graph;
    EDGEOPT_RETURN_IF_ERROR(passes::PrepareForExport(&inference));
    EDGEOPT_ASSIGN_OR_RETURN(sel, AutoSelection(inference, lf, flags));
  } else {
    EDGEOPT_ASSIGN_OR_RETURN(sel, SelectionFromFlags(lf));
  }
  EDGEOPT_ASSIGN_OR_RETURN(lowrank::Plan plan, MakePlan(model.graph, keras_model, sel, lf, flags,
                                                        rule, model.description));

  const bool fine_tune = !lf.one_shot && flags.epochs > 0 && !lf.data.empty();
  FineTuneData data;
  EDGEOPT_RETURN_IF_ERROR(LoadFineTuneData(lf.data, lf.test_data, fine_tune, lf.max_samples,
                                           lf.test_samples, flags, &data));
  const bool evaluate = data.test.size > 0;

  Summary summary;
  summary.evaluated = evaluate;
  summary.fine_tuned = fine_tune;
  if (evaluate) {
    EDGEOPT_ASSIGN_OR_RETURN(train::EvalResult r,
                             EvaluateGraph(model.graph, data.test, flags, "original"));
    summary.before = r.accuracy;
  }
  {
    EDGEOPT_ASSIGN_OR_RETURN(std::vector<uint8_t> original, TfliteBytes(model.graph));
    summary.original_tflite = original.size();
    EDGEOPT_ASSIGN_OR_RETURN(summary.original_zipped, ZippedSize("model.tflite", original));
  }
  CountModel(model.graph, &summary.model_weights_before, &summary.macs_before);

  using Reports = std::vector<lowrank::LayerReport>;
  EDGEOPT_ASSIGN_OR_RETURN(Reports reports, lowrank::FactorizeKerasModel(keras_model, plan));
  EDGEOPT_RETURN_IF_ERROR(RebuildGraph(&model));
  CountModel(model.graph, &summary.model_weights_after, &summary.macs_after);
  if (evaluate) {
    EDGEOPT_ASSIGN_OR_RETURN(
        train::EvalResult r,
        EvaluateGraph(model.graph, data.test, flags,
                      fine_tune ? "factorized, before fine-tuning" : "factorized"));
    summary.factored = summary.after = r.accuracy;
  }

  EDGEOPT_ASSIGN_OR_RETURN(train::TrainOptions train_options, MakeModelTrainOptions(flags, model));
  train::EngineOptions eo;
  eo.batch_size = train_options.batch_size;
  eo.num_threads = flags.threads;
  eo.seed = flags.seed;
  EDGEOPT_ASSIGN_OR_RETURN(auto engine, train::Engine::Create(model.graph, eo));
  // Writes the engine's weights to the output: after every epoch (Ctrl-C keeps the last
  // finished one), or once without fine-tuning.
  std::vector<uint8_t> tflite;
  auto write = [&]() -> Status {
    EDGEOPT_RETURN_IF_ERROR(engine->ExportWeights(&model.graph));
    EDGEOPT_ASSIGN_OR_RETURN(tflite, TfliteBytes(model.graph));
    summary.bytes = tflite.size();
    if (FileExtension(lf.output) == ".tflite") return WriteFileAtomic(lf.output, tflite);
    EDGEOPT_RETURN_IF_ERROR(SaveTrainedModel(&model, *engine, lf.output));
    auto b = ReadFileBytes(lf.output);
    summary.bytes = b.ok() ? b->size() : 0;
    return Status::Ok();
  };
  if (fine_tune) {
    EDGEOPT_ASSIGN_OR_RETURN(auto trainer,
                             train::Trainer::Create(engine.get(), train_options, data.train));
    if (!flags.quiet) {
      std::printf("fine-tuning on %s: %lld samples, %s lr %g, batch %d, %d epoch(s)\n",
                  data.train.name.c_str(), static_cast<long long>(data.train.size),
                  train::OptimizerKindName(train_options.optimizer.kind),
                  train_options.optimizer.learning_rate, train_options.batch_size,
                  train_options.epochs);
      std::fflush(stdout);
    }
    EDGEOPT_RETURN_IF_ERROR(RunTraining("lowrank", trainer.get(), data.train,
                                        data.has_validation ? &data.validation : nullptr, flags,
                                        [&](const train::EpochStats&) { return write(); }));
    if (evaluate) {
      EDGEOPT_ASSIGN_OR_RETURN(train::EvalResult r, EvaluateGraph(model.graph, data.test, flags,
                                                                  "factorized and fine-tuned"));
      summary.after = r.accuracy;
    }
  } else {
    EDGEOPT_RETURN_IF_ERROR(write());
  }
  summary.tflite = tflite.size();
  EDGEOPT_ASSIGN_OR_RETURN(summary.zipped, ZippedSize("model.tflite", tflite));
  summary.output = lf.output;
  summary.test_name = data.test.name;
  summary.test_size = data.test.size;
  PrintSummary(reports, summary,
               std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
  return Status::Ok();
}

}  // namespace

int RunLowRank(int argc, char** argv) {
  CLI::App app{
      "Factorize the Dense, Conv2D and Conv1D layers of a Keras model into two layers of low rank "
      "(a "
      "truncated SVD of each kernel: a layer of r units or filters, then the original layer "
      "reduced to r inputs or a 1x1 convolution), then fine-tune. The .tflite is smaller and "
      "does fewer multiply-adds as it is, without compression. A layer is factorized only "
      "when its rank makes it smaller. Outputs: .keras / .h5, or .tflite.",
      "edgeopt lowrank"};
  LowRankFlags lf;
  TrainFlags flags;
  flags.epochs = 1;
  app.add_option("model", lf.model,
                 "the model to factorize: Keras (.keras or .h5), or a float .tflite (with "
                 "--one-shot: fine-tuning needs the Keras model)")
      ->required();
  AddCompressionDataFlags(&app, &lf.data, &lf.test_data);
  app.add_option("-o,--output", lf.output,
                 "the factorized model: .keras, .h5 or .tflite (required unless --sensitivity)");
  app.add_option("--energy", lf.energy,
                 "each layer's rank: the smallest that keeps this fraction of the kernel's "
                 "energy, the sum of its squared singular values");
  app.add_option("--rank", lf.rank, "the same rank for every layer");
  app.add_option("--params", lf.params,
                 "each layer's rank: the one that keeps this fraction of its weights (default "
                 "0.25)");
  app.add_option("--layers", lf.layers,
                 "factorize exactly these layers (comma-separated Keras names)");
  app.add_option("--skip", lf.skip, "never factorize these layers (comma-separated)");
  app.add_option("--layer-ranks", lf.layer_ranks,
                 "per-layer ranks, e.g. dense=16,conv2d_1=24 (the others: the rule above)");
  app.add_option("--rank-multiple", lf.rank_multiple,
                 "round each rank up to a multiple of this, e.g. 16 (a SIMD width: the "
                 "runtime's kernels take as long for 13 channels as for 16)");
  app.add_option("--min-weights", lf.min_weights,
                 "leave out kernels of fewer weights unless named (default 4096: an extra layer "
                 "costs more than it saves there)");
  app.add_flag("--one-shot", lf.one_shot, "factorize without fine-tuning");
  app.add_flag("--sensitivity", lf.sensitivity,
               "write no model: factorize each layer alone, one-shot, at each of --fractions of "
               "its weights, and report the accuracy (to choose --layer-ranks)");
  app.add_option("--fractions", lf.fractions,
                 "for --sensitivity and --auto-ranks: fractions of each layer's weights (default "
                 "0.5,0.25,0.125,0.0625)");
  app.add_option("--plot", lf.plot, "for --sensitivity: a PNG of accuracy against the fraction");
  app.add_option("--auto-ranks", lf.auto_ranks,
                 "choose each layer's rank by a sensitivity analysis first: its fewest weights "
                 "among --fractions that cost at most this many points of accuracy one-shot, "
                 "that layer alone (layers with none are left as they are)")
      ->check(CLI::Range(0.0, 100.0));
  AddSubsetFlags(&app, &lf.max_samples, &lf.test_samples);
  AddTrainFlags(&app, &flags);
  EDGEOPT_CLI_PARSE(app, argc, argv);
  Status s = LowRank(lf, flags);
  if (!s.ok()) return ReportError("lowrank", s);
  return kExitOk;
}

}  // namespace cli
}  // namespace edgeopt
