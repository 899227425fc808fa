// edgeopt cluster MODEL --data DATA [--clusters K] [--init I] [--per-channel] [...] -o OUT
//
//   edgeopt cluster base.keras --data fashion-mnist --clusters 16 --epochs 1 -o c16.keras
//   edgeopt cluster pruned.keras --data fashion-mnist --clusters 8 -o pc8.tflite
//   edgeopt cluster base.keras --clusters 32 --one-shot -o quick.tflite
//
// Weight clustering (src/passes/cluster): every weighted layer's kernel keeps at most K
// distinct values, the centroids of a k-means of its weights, which fine-tuning with the
// shared training flags then trains. Zeros of a pruned model stay zero. Ends with a per-layer
// table, the accuracy before / after, and the .tflite size before and after zip against the
// original's; the last line is machine-readable.
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <string>
#include <vector>

#include "CLI/CLI.hpp"
#include "src/data/dataset.h"
#include "src/passes/cluster/cluster.h"
#include "src/passes/model_loader.h"
#include "src/passes/pipeline.h"
#include "src/passes/prune/prune_plan.h"
#include "src/passes/prune/sparse_encode.h"
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

struct ClusterFlags {
  std::string model, data, test_data, output, init = "kmeans++", layers, skip, layer_clusters;
  int clusters = 16;
  bool per_channel = false;
  bool no_preserve_sparsity = false;
  bool one_shot = false;
  bool sparse = false;
  int64_t max_samples = 0;
  int64_t test_samples = 0;
  bool sensitivity = false;
  std::string counts = "4,8,16,32", plot;
};

// What the reports print: sizes of the original and the clustered .tflite, accuracies.
struct Summary : CompressionSummary {
  double clustered = 0;  // accuracy before fine-tuning
};

// The per-layer table, the sizes, the accuracies and the machine-readable last line.
void PrintSummary(const cluster::WeightClusterer& clusterer, const Summary& s, double seconds) {
  std::printf("\n%-20s %-18s %9s %8s %9s %16s %11s\n", "layer", "op", "weights", "groups",
              "clusters", "distinct values", "rel. error");
  int max_clusters = 0;
  for (const cluster::LayerReport& r : clusterer.reports()) {
    const std::string distinct =
        std::to_string(r.distinct_before) + " -> " + std::to_string(r.distinct_after);
    std::printf("%-20s %-18s %9lld %8d %9d %16s %10.1f%%%s\n", r.layer.c_str(), r.op.c_str(),
                static_cast<long long>(r.weights), r.groups, r.clusters, distinct.c_str(),
                100.0 * r.relative_error, r.kept_zeros > 0 ? " (zeros kept)" : "");
    max_clusters = std::max(max_clusters, r.clusters);
  }
  std::printf(
      "\n.tflite: %zu bytes, %zu zipped (original: %zu bytes, %zu zipped): %.2fx smaller after "
      "zip\n",
      s.tflite, s.zipped, s.original_tflite, s.original_zipped,
      static_cast<double>(s.original_zipped) / static_cast<double>(s.zipped));
  if (s.evaluated) {
    std::printf("accuracy on %s (%lld samples): original %.4f", s.test_name.c_str(),
                static_cast<long long>(s.test_size), s.before);
    if (s.fine_tuned) std::printf(", clustered before fine-tuning %.4f", s.clustered);
    std::printf(", %s %.4f (%+.2f points)\n", s.fine_tuned ? "after fine-tuning" : "clustered",
                s.after, 100.0 * (s.after - s.before));
  }
  std::printf("saved %s (%zu bytes) in %.1f s\n", s.output.c_str(), s.bytes, seconds);
  std::printf(
      "cluster: clusters=%d layers=%zu tflite_bytes=%zu zipped_bytes=%zu "
      "original_tflite_bytes=%zu original_zipped_bytes=%zu",
      max_clusters, clusterer.reports().size(), s.tflite, s.zipped, s.original_tflite,
      s.original_zipped);
  if (s.evaluated) {
    std::printf(" accuracy_before=%.4f", s.before);
    if (s.fine_tuned) std::printf(" accuracy_clustered=%.4f", s.clustered);
    std::printf(" accuracy=%.4f", s.after);
  }
  std::printf(" bytes=%zu\n", s.bytes);
}

// The layers to cluster (--layers, --skip, --layer-clusters), announced unless --quiet.
StatusOr<cluster::Plan> MakePlan(const ir::Graph& graph, const ClusterFlags& cf,
                                 const TrainFlags& flags, const cluster::Options& options,
                                 const std::string& description) {
  using ClusterCounts = std::map<std::string, int>;
  EDGEOPT_ASSIGN_OR_RETURN(ClusterCounts layer_clusters,
                           cluster::ParseLayerClusters(cf.layer_clusters));
  EDGEOPT_ASSIGN_OR_RETURN(
      cluster::Plan plan,
      cluster::PlanClustering(graph, prune::SplitNames(cf.layers), prune::SplitNames(cf.skip),
                              cf.clusters, layer_clusters));
  EDGEOPT_ENSURE(!plan.weights.empty(), StatusCode::kInvalidArgument,
                 "%s: no layer to cluster (%zu left out; see --layers)", cf.model.c_str(),
                 plan.notes.size());
  if (!flags.quiet) {
    std::printf("clustering %s: %d clusters %s, %s initialization%s, %zu layer(s)\n",
                description.c_str(), cf.clusters,
                cf.per_channel ? "per output channel" : "per layer",
                cluster::InitName(options.init), options.preserve_sparsity ? ", zeros kept" : "",
                plan.weights.size());
    for (const std::string& note : plan.notes) std::printf("  %s\n", note.c_str());
  }
  return plan;
}

// A float .tflite (the official converter's, say): the k-means result without fine-tuning
// (which needs the Keras model), accuracy through the runtime.
Status ClusterTflite(const ClusterFlags& cf, const TrainFlags& flags,
                     const cluster::Options& options) {
  const auto start = std::chrono::steady_clock::now();
  EDGEOPT_ASSIGN_OR_RETURN(OneShotTflite in, LoadOneShotTflite(cf.model, cf.output, cf.one_shot,
                                                               "cluster", "clustered"));
  ir::Graph graph = in.graph;
  EDGEOPT_ASSIGN_OR_RETURN(cluster::Plan plan,
                           MakePlan(graph, cf, flags, options, cf.model + " (one shot)"));
  cluster::WeightClusterer clusterer(plan, options);
  EDGEOPT_RETURN_IF_ERROR(clusterer.ClusterGraph(&graph));
  if (cf.sparse) EDGEOPT_RETURN_IF_ERROR(prune::EncodeSparseWeights(&graph).status());
  Summary summary;
  EDGEOPT_ASSIGN_OR_RETURN(
      static_cast<CompressionSummary&>(summary),
      FinishOneShotTflite(in, graph, cf.data, cf.test_data, cf.test_samples, flags, cf.output));
  PrintSummary(clusterer, summary,
               std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
  return Status::Ok();
}

// --sensitivity: each layer clustered alone, one-shot, to each of --counts values; the model's
// accuracy then (through the runtime), a table, machine-readable lines, --plot.
Status Sensitivity(const ClusterFlags& cf, const TrainFlags& flags,
                   const cluster::Options& options) {
  std::vector<int> counts;
  for (const std::string& item : prune::SplitNames(cf.counts)) {
    char* end = nullptr;
    const long k = std::strtol(item.c_str(), &end, 10);
    EDGEOPT_ENSURE(end != nullptr && *end == '\0' && k >= 2 && k <= 65536,
                   StatusCode::kInvalidArgument, "--counts: '%s' must be in [2, 65536]",
                   item.c_str());
    counts.push_back(static_cast<int>(k));
  }
  EDGEOPT_ENSURE(!counts.empty(), StatusCode::kInvalidArgument, "--counts is empty");
  // A Keras model's training form (exported for each measurement), or a .tflite's graph.
  EDGEOPT_ASSIGN_OR_RETURN(AnalysisModel model, LoadAnalysisModel(cf.model, flags));
  const ir::Graph& graph = model.graph;
  EDGEOPT_ASSIGN_OR_RETURN(
      data::Dataset test,
      AnalysisTestData(cf.data, cf.test_data, cf.test_samples, flags, graph, "--sensitivity"));
  EDGEOPT_ASSIGN_OR_RETURN(
      cluster::Plan plan,
      cluster::PlanClustering(graph, prune::SplitNames(cf.layers), prune::SplitNames(cf.skip), 2));
  EDGEOPT_ENSURE(!plan.weights.empty(), StatusCode::kInvalidArgument,
                 "%s: no layer to cluster (%zu left out; see --layers)", cf.model.c_str(),
                 plan.notes.size());
  if (!flags.quiet) {
    std::printf(
        "sensitivity of %s: each layer alone, %s, one-shot (before fine-tuning), %zu "
        "layer(s)\n",
        cf.model.c_str(), cluster::InitName(options.init), plan.weights.size());
    for (const std::string& note : plan.notes) std::printf("  %s\n", note.c_str());
  }
  auto accuracy = [&](const ir::Graph& g) {
    return AnalysisAccuracy(model, g, test, flags.threads);
  };
  EDGEOPT_ASSIGN_OR_RETURN(double baseline, accuracy(graph));
  std::vector<SensitivityRow> rows;
  std::vector<std::string> lines;
  for (size_t l = 0; l < plan.weights.size(); ++l) {
    const prune::PrunableWeight& w = plan.weights[l];
    SensitivityRow row;
    row.layer = w.layer;
    row.kernel = std::to_string(w.rows) + "x" + std::to_string(w.cols);
    for (int k : counts) {
      cluster::Plan one;
      one.weights = {w};
      one.clusters = {k};
      ir::Graph g = graph;
      cluster::WeightClusterer clusterer(one, options);
      EDGEOPT_RETURN_IF_ERROR(clusterer.ClusterGraph(&g));
      EDGEOPT_ASSIGN_OR_RETURN(double acc, accuracy(g));
      char cell[32];
      std::snprintf(cell, sizeof(cell), "%.4f", acc);
      row.cells.push_back(cell);
      row.kept.push_back(std::log2(static_cast<double>(k)) / 32.0);
      row.accuracy.push_back(acc);
      char line[256];
      std::snprintf(line, sizeof(line), "sensitivity: layer=%s clusters=%d accuracy=%.4f",
                    w.layer.c_str(), k, acc);
      lines.push_back(line);
    }
    rows.push_back(row);
  }
  std::vector<std::string> names;
  for (int k : counts) names.push_back(std::to_string(k) + " values");
  PrintSensitivityTable("clustered to a number of values", baseline, names, rows, test, "");
  for (const std::string& line : lines) std::printf("%s\n", line.c_str());
  if (!cf.plot.empty()) {
    WriteSensitivityPlot(cf.plot, "Clustering sensitivity (one layer at a time, one-shot)",
                         "bits per weight of a K-entry table (log2 K) / 32", baseline, rows);
  }
  return Status::Ok();
}

Status Cluster(const ClusterFlags& cf, TrainFlags flags) {
  const auto start = std::chrono::steady_clock::now();
  EDGEOPT_ENSURE(cf.clusters >= 2 && cf.clusters <= 65536, StatusCode::kInvalidArgument,
                 "--clusters must be in [2, 65536], is %d", cf.clusters);
  cluster::Options options;
  options.clusters = cf.clusters;
  EDGEOPT_ASSIGN_OR_RETURN(options.init, cluster::ParseInit(cf.init));
  options.per_channel = cf.per_channel;
  options.preserve_sparsity = !cf.no_preserve_sparsity;
  options.seed = flags.seed;
  if (cf.sensitivity) return Sensitivity(cf, flags, options);
  EDGEOPT_ENSURE(!cf.output.empty(), StatusCode::kInvalidArgument,
                 "-o/--output is required (or --sensitivity)");
  if (FileExtension(cf.model) == ".tflite") return ClusterTflite(cf, flags, options);
  EDGEOPT_ENSURE(cf.one_shot || !cf.data.empty() || flags.epochs == 0, StatusCode::kInvalidArgument,
                 "fine-tuning needs --data (or use --one-shot to cluster without it)");

  EDGEOPT_ASSIGN_OR_RETURN(TrainModel model, LoadModelForTraining(cf.model, "", flags.seed));
  flags = WithModelInput(flags, model.graph, cf.model);
  EDGEOPT_RETURN_IF_ERROR(ApplyTrainableFlags(&model, flags));
  EDGEOPT_RETURN_IF_ERROR(CheckOutputPath(model, cf.output));
  EDGEOPT_ENSURE(!cf.sparse || FileExtension(cf.output) == ".tflite", StatusCode::kInvalidArgument,
                 "--sparse applies to .tflite outputs (Keras files store dense weights)");
  EDGEOPT_ASSIGN_OR_RETURN(cluster::Plan plan,
                           MakePlan(model.graph, cf, flags, options, model.description));

  // Data.
  const bool fine_tune = !cf.one_shot && flags.epochs > 0 && !cf.data.empty();
  FineTuneData data;
  EDGEOPT_RETURN_IF_ERROR(LoadFineTuneData(cf.data, cf.test_data, fine_tune, cf.max_samples,
                                           cf.test_samples, flags, &data));
  const data::Dataset& train_data = data.train;
  const data::Dataset& validation = data.validation;
  const data::Dataset& test = data.test;
  const bool has_validation = data.has_validation;
  const bool evaluate = test.size > 0;

  // Before: accuracy and the .tflite sizes of the original.
  train::EvalResult before, clustered, after;
  if (evaluate) {
    EDGEOPT_ASSIGN_OR_RETURN(before, EvaluateGraph(model.graph, test, flags, "original"));
  }
  EDGEOPT_ASSIGN_OR_RETURN(std::vector<uint8_t> original_tflite,
                           TfliteBytes(model.graph, cf.sparse));
  EDGEOPT_ASSIGN_OR_RETURN(size_t original_zipped, ZippedSize("model.tflite", original_tflite));

  cluster::WeightClusterer clusterer(plan, options);
  EDGEOPT_RETURN_IF_ERROR(clusterer.ClusterGraph(&model.graph));
  if (evaluate) {
    EDGEOPT_ASSIGN_OR_RETURN(
        clustered, EvaluateGraph(model.graph, test, flags,
                                 fine_tune ? "clustered, before fine-tuning" : "clustered"));
  }

  EDGEOPT_ASSIGN_OR_RETURN(train::TrainOptions train_options, MakeModelTrainOptions(flags, model));
  train::EngineOptions eo;
  eo.batch_size = train_options.batch_size;
  eo.num_threads = flags.threads;
  eo.seed = flags.seed;
  EDGEOPT_ASSIGN_OR_RETURN(auto engine, train::Engine::Create(model.graph, eo));
  // Writes the engine's (clustered) weights to the output: after every epoch (Ctrl-C keeps the
  // last finished one) and at the end.
  std::vector<uint8_t> tflite;
  size_t bytes = 0;
  auto write = [&]() -> Status {
    EDGEOPT_RETURN_IF_ERROR(engine->ExportWeights(&model.graph));
    EDGEOPT_ASSIGN_OR_RETURN(tflite, TfliteBytes(model.graph, cf.sparse));
    bytes = tflite.size();
    if (FileExtension(cf.output) == ".tflite") return WriteFileAtomic(cf.output, tflite);
    EDGEOPT_RETURN_IF_ERROR(SaveTrainedModel(&model, *engine, cf.output));
    auto b = ReadFileBytes(cf.output);
    bytes = b.ok() ? b->size() : 0;
    return Status::Ok();
  };
  if (fine_tune) {
    EDGEOPT_ASSIGN_OR_RETURN(auto trainer,
                             train::Trainer::Create(engine.get(), train_options, train_data));
    EDGEOPT_RETURN_IF_ERROR(clusterer.Attach(trainer.get()));
    if (!flags.quiet) {
      std::printf(
          "fine-tuning the centroids on %s: %lld samples, %s lr %g, batch %d, %d epoch(s)\n",
          train_data.name.c_str(), static_cast<long long>(train_data.size),
          train::OptimizerKindName(train_options.optimizer.kind),
          train_options.optimizer.learning_rate, train_options.batch_size, train_options.epochs);
      std::fflush(stdout);
    }
    EDGEOPT_RETURN_IF_ERROR(RunTraining("cluster", trainer.get(), train_data,
                                        has_validation ? &validation : nullptr, flags,
                                        [&](const train::EpochStats&) { return write(); }));
    // (write() after the last epoch put its weights into model.graph.)
    if (evaluate) {
      EDGEOPT_ASSIGN_OR_RETURN(after,
                               EvaluateGraph(model.graph, test, flags, "clustered and fine-tuned"));
    }
  } else {
    after = clustered;
  }
  clusterer.Refresh(model.graph);

  // The output (fine-tuning wrote it after its last epoch), and the clustered model as a
  // .tflite (its size, zipped).
  if (!fine_tune) EDGEOPT_RETURN_IF_ERROR(write());
  EDGEOPT_ASSIGN_OR_RETURN(size_t zipped, ZippedSize("model.tflite", tflite));

  Summary summary;
  summary.tflite = tflite.size();
  summary.zipped = zipped;
  summary.original_tflite = original_tflite.size();
  summary.original_zipped = original_zipped;
  summary.bytes = bytes;
  summary.output = cf.output;
  summary.test_name = test.name;
  summary.test_size = test.size;
  summary.evaluated = evaluate;
  summary.fine_tuned = fine_tune;
  summary.before = before.accuracy;
  summary.clustered = clustered.accuracy;
  summary.after = after.accuracy;
  PrintSummary(clusterer, summary,
               std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
  return Status::Ok();
}

}  // namespace

int RunCluster(int argc, char** argv) {
  CLI::App app{
      "Cluster the weights of a Keras model (weight sharing, as TFMOT's cluster_weights): each "
      "CONV_2D, DEPTHWISE_CONV_2D and FULLY_CONNECTED kernel keeps at most --clusters distinct "
      "values, the centroids of a k-means of its weights (per layer, or per output channel), "
      "and fine-tuning trains the centroids. Zeros of a pruned model stay zero. The .tflite "
      "stores float weights as before: the gain is its size after compression (zip), and int8 "
      "quantization of the result keeps at most --clusters values per channel. Outputs: "
      ".keras / .h5, or .tflite.",
      "edgeopt cluster"};
  ClusterFlags cf;
  TrainFlags flags;
  flags.epochs = 1;
  app.add_option("model", cf.model,
                 "the model to cluster: Keras (.keras or .h5), or a float .tflite (with "
                 "--one-shot: fine-tuning needs the Keras model)")
      ->required();
  AddCompressionDataFlags(&app, &cf.data, &cf.test_data);
  app.add_option("-o,--output", cf.output,
                 "the clustered model: .keras, .h5 or .tflite (required unless --sensitivity)");
  app.add_option("--clusters", cf.clusters, "distinct values per kernel (or channel; default 16)");
  app.add_option("--init", cf.init,
                 "initial centroids: kmeans++ (default), linear, density or random; then "
                 "k-means iterations");
  app.add_flag("--per-channel", cf.per_channel,
               "one set of centroids per output channel instead of per layer");
  app.add_flag("--no-preserve-sparsity", cf.no_preserve_sparsity,
               "cluster zeros like any weight (by default weights that are exactly zero stay "
               "zero)");
  app.add_option("--layers", cf.layers,
                 "cluster exactly these layers (comma-separated Keras names)");
  app.add_option("--skip", cf.skip, "never cluster these layers (comma-separated)");
  app.add_option("--layer-clusters", cf.layer_clusters,
                 "per-layer cluster counts, e.g. dense=8,conv2d=32 (the others: --clusters)");
  app.add_flag("--one-shot", cf.one_shot, "cluster without fine-tuning");
  app.add_flag("--sensitivity", cf.sensitivity,
               "write no model: cluster each layer alone, one-shot, to each of --counts values, "
               "and report the accuracy (to choose --layer-clusters)");
  app.add_option("--counts", cf.counts, "for --sensitivity: the counts (default 4,8,16,32)");
  app.add_option("--plot", cf.plot, "for --sensitivity: a PNG of accuracy against the bits");
  app.add_flag("--sparse", cf.sparse,
               ".tflite output: TFLite's sparse tensor encoding for pruned weights (the sizes "
               "reported are of both files so encoded)");
  AddSubsetFlags(&app, &cf.max_samples, &cf.test_samples);
  AddTrainFlags(&app, &flags);
  EDGEOPT_CLI_PARSE(app, argc, argv);
  Status s = Cluster(cf, flags);
  if (!s.ok()) return ReportError("cluster", s);
  return kExitOk;
}

}  // namespace cli
}  // namespace edgeopt
