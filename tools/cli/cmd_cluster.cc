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
#include <cstdio>
#include <map>
#include <string>
#include <vector>

#include "CLI/CLI.hpp"
#include "src/data/dataset.h"
#include "src/export/tflite/export.h"
#include "src/passes/cluster/cluster.h"
#include "src/passes/pipeline.h"
#include "src/passes/prune/prune_plan.h"
#include "src/passes/prune/sparse_encode.h"
#include "src/train/engine.h"
#include "src/train/trainer.h"
#include "src/util/file_util.h"
#include "src/util/zip.h"
#include "tools/cli/cli_util.h"
#include "tools/cli/commands.h"
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
};

// The graph as the .tflite file `edgeopt convert [--sparse]` would write (export passes:
// BATCH_NORM folded, DROPOUT removed; with `sparse`, TFLite's sparse encoding for weights with
// many zeros).
StatusOr<std::vector<uint8_t>> TfliteBytes(const ir::Graph& graph, bool sparse) {
  ir::Graph g = graph;
  EDGEOPT_RETURN_IF_ERROR(passes::PrepareForExport(&g));
  if (sparse) EDGEOPT_RETURN_IF_ERROR(prune::EncodeSparseWeights(&g).status());
  return ExportTflite(g);
}

Status Cluster(const ClusterFlags& cf, const TrainFlags& flags) {
  const auto start = std::chrono::steady_clock::now();
  EDGEOPT_ENSURE(cf.clusters >= 2 && cf.clusters <= 65536, StatusCode::kInvalidArgument,
                 "--clusters must be in [2, 65536], is %d", cf.clusters);
  cluster::Options options;
  options.clusters = cf.clusters;
  EDGEOPT_ASSIGN_OR_RETURN(options.init, cluster::ParseInit(cf.init));
  options.per_channel = cf.per_channel;
  options.preserve_sparsity = !cf.no_preserve_sparsity;
  options.seed = flags.seed;
  EDGEOPT_ENSURE(cf.one_shot || !cf.data.empty() || flags.epochs == 0, StatusCode::kInvalidArgument,
                 "fine-tuning needs --data (or use --one-shot to cluster without it)");

  EDGEOPT_ASSIGN_OR_RETURN(TrainModel model, LoadModelForTraining(cf.model, "", flags.seed));
  EDGEOPT_RETURN_IF_ERROR(CheckOutputPath(model, cf.output));
  EDGEOPT_ENSURE(!cf.sparse || FileExtension(cf.output) == ".tflite", StatusCode::kInvalidArgument,
                 "--sparse applies to .tflite outputs (Keras files store dense weights)");
  using ClusterCounts = std::map<std::string, int>;
  EDGEOPT_ASSIGN_OR_RETURN(ClusterCounts layer_clusters,
                           cluster::ParseLayerClusters(cf.layer_clusters));
  EDGEOPT_ASSIGN_OR_RETURN(
      cluster::Plan plan,
      cluster::PlanClustering(model.graph, prune::SplitNames(cf.layers), prune::SplitNames(cf.skip),
                              cf.clusters, layer_clusters));
  EDGEOPT_ENSURE(!plan.weights.empty(), StatusCode::kInvalidArgument,
                 "no layer to cluster (%zu left out; see --layers)", plan.notes.size());
  if (!flags.quiet) {
    std::printf("clustering %s: %d clusters %s, %s initialization%s, %zu layer(s)\n",
                model.description.c_str(), cf.clusters,
                cf.per_channel ? "per output channel" : "per layer",
                cluster::InitName(options.init), options.preserve_sparsity ? ", zeros kept" : "",
                plan.weights.size());
    for (const std::string& note : plan.notes) std::printf("  %s\n", note.c_str());
  }

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

  EDGEOPT_ASSIGN_OR_RETURN(train::TrainOptions train_options,
                           MakeTrainOptions(flags, model.default_batch_size));
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
    EDGEOPT_RETURN_IF_ERROR(engine->ExportWeights(&model.graph));
    if (evaluate) {
      EDGEOPT_ASSIGN_OR_RETURN(after,
                               EvaluateGraph(model.graph, test, flags, "clustered and fine-tuned"));
    }
  } else {
    after = clustered;
  }
  clusterer.Refresh(model.graph);

  // The output, and the clustered model as a .tflite (its size, zipped).
  EDGEOPT_RETURN_IF_ERROR(write());
  EDGEOPT_ASSIGN_OR_RETURN(size_t zipped, ZippedSize("model.tflite", tflite));

  // The table.
  std::printf("\n%-20s %-18s %9s %8s %9s %16s %11s\n", "layer", "op", "weights", "groups",
              "clusters", "distinct values", "rel. error");
  int max_distinct_per_group = 0;
  for (const cluster::LayerReport& r : clusterer.reports()) {
    const std::string distinct =
        std::to_string(r.distinct_before) + " -> " + std::to_string(r.distinct_after);
    std::printf("%-20s %-18s %9lld %8d %9d %16s %10.1f%%%s\n", r.layer.c_str(), r.op.c_str(),
                static_cast<long long>(r.weights), r.groups, r.clusters, distinct.c_str(),
                100.0 * r.relative_error, r.kept_zeros > 0 ? " (zeros kept)" : "");
    max_distinct_per_group = std::max(max_distinct_per_group, r.clusters);
  }
  std::printf(
      "\n.tflite: %zu bytes, %zu zipped (original: %zu bytes, %zu zipped): %.2fx smaller after "
      "zip\n",
      tflite.size(), zipped, original_tflite.size(), original_zipped,
      static_cast<double>(original_zipped) / static_cast<double>(zipped));
  if (evaluate) {
    std::printf("accuracy on %s (%lld samples): original %.4f", test.name.c_str(),
                static_cast<long long>(test.size), before.accuracy);
    if (fine_tune) std::printf(", clustered before fine-tuning %.4f", clustered.accuracy);
    std::printf(", %s %.4f (%+.2f points)\n", fine_tune ? "after fine-tuning" : "clustered",
                after.accuracy, 100.0 * (after.accuracy - before.accuracy));
  }
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::printf("saved %s (%zu bytes) in %.1f s\n", cf.output.c_str(), bytes, seconds);
  std::printf(
      "cluster: clusters=%d layers=%zu tflite_bytes=%zu zipped_bytes=%zu "
      "original_tflite_bytes=%zu original_zipped_bytes=%zu",
      max_distinct_per_group, plan.weights.size(), tflite.size(), zipped, original_tflite.size(),
      original_zipped);
  if (evaluate) {
    std::printf(" accuracy_before=%.4f", before.accuracy);
    if (fine_tune) std::printf(" accuracy_clustered=%.4f", clustered.accuracy);
    std::printf(" accuracy=%.4f", after.accuracy);
  }
  std::printf(" bytes=%zu\n", bytes);
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
  app.add_option("model", cf.model, "the Keras model to cluster (.keras or .h5)")->required();
  app.add_option("--data", cf.data,
                 "training data for fine-tuning (e.g. fashion-mnist, FILE.npz, DIR/)");
  app.add_option("--test-data", cf.test_data,
                 "labeled data for the accuracy before / after (default fashion-mnist:test for "
                 "fashion-mnist)");
  app.add_option("-o,--output", cf.output, "the clustered model: .keras, .h5 or .tflite")
      ->required();
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
  app.add_flag("--sparse", cf.sparse,
               ".tflite output: TFLite's sparse tensor encoding for pruned weights (the sizes "
               "reported are of both files so encoded)");
  app.add_option("--max-samples", cf.max_samples,
                 "fine-tune on a random subset of this many training samples");
  app.add_option("--test-samples", cf.test_samples,
                 "measure accuracy on a random subset of this many test samples");
  AddTrainFlags(&app, &flags);
  EDGEOPT_CLI_PARSE(app, argc, argv);
  Status s = Cluster(cf, flags);
  if (!s.ok()) return ReportError("cluster", s);
  return kExitOk;
}

}  // namespace cli
}  // namespace edgeopt
