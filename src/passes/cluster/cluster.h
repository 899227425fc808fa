// Weight clustering (weight sharing, TFMOT's cluster_weights): each clustered kernel keeps at
// most K distinct values, the centroids of a 1-D k-means of its weights (per tensor, or per
// output channel), and fine-tuning trains the centroids. A file of K distinct values per layer
// compresses well (zip, or K-entry tables on devices that decode them); quantizing it to int8
// keeps at most K values per channel.
//
//  - k-means: the initial centroids (kmeans++ as TFMOT's default, linear, density-based or
//    random) are refined by Lloyd's iterations until the assignments stop changing (TFMOT
//    trains from the initial centroids directly). Sorted values make each iteration O(K log n).
//  - Sparsity: with preserve_sparsity (the default) weights that are exactly zero (pruned)
//    stay zero and are not clustered, so pruning then clustering keeps both.
//  - Fine-tuning: after every optimizer step each cluster's members are set to the mean of
//    their new values, so the centroid moves by the members' mean step (TFMOT's "AVG"
//    gradient aggregation) and the assignments stay fixed (Deep Compression's shared-weight
//    fine-tuning).
#ifndef EDGEOPT_SRC_PASSES_CLUSTER_CLUSTER_H_
#define EDGEOPT_SRC_PASSES_CLUSTER_CLUSTER_H_

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "include/edgeopt/status.h"
#include "src/ir/graph.h"
#include "src/passes/prune/prune_plan.h"
#include "src/train/trainer.h"

namespace edgeopt {
namespace cluster {

enum class Init { kKMeansPlusPlus, kLinear, kDensity, kRandom };
// "kmeans++", "linear", "density", "random".
StatusOr<Init> ParseInit(const std::string& name);
const char* InitName(Init init);

// Sorted centroids of a 1-D k-means of `values`: at most k (the distinct values themselves
// when there are no more than k; a cluster left empty is dropped). `iterations` (optional):
// Lloyd iterations run.
std::vector<float> KMeans1D(std::vector<float> values, int k, Init init, uint64_t seed,
                            int* iterations = nullptr);
// Index of the centroid nearest to v among sorted `centroids` (a value halfway between two
// goes to the lower one).
int NearestCentroid(const std::vector<float>& centroids, float v);
// Distinct values among w[0, n) (+0 and -0 count once).
int64_t CountDistinct(const float* w, int64_t n);

struct Options {
  int clusters = 16;  // (a Plan's per-layer counts take its place in WeightClusterer)
  Init init = Init::kKMeansPlusPlus;
  bool per_channel = false;       // one k-means per output channel
  bool preserve_sparsity = true;  // zeros stay zero, outside the clusters
  uint64_t seed = 0;
};

// One weight tensor's clusters: every weight's cluster (or a kept zero) and the centroids.
class LayerClusters {
 public:
  // Clusters w[0, n) (finite values: a group without any goes to zero). Output channel of weight i
  // with `channels` groups: i / (n / channels), or i % channels when `channel_last`
  // (DEPTHWISE_CONV_2D's [1, h, w, channels]). Without options.per_channel, one group.
  static LayerClusters Build(const float* w, int64_t n, int channels, bool channel_last,
                             const Options& options, uint64_t seed);

  // Every weight to its centroid (kept zeros to 0).
  void Apply(float* w) const;
  // Each centroid to the mean of its members' values in w, then Apply.
  void Project(float* w);

  int64_t size() const { return static_cast<int64_t>(assignment_.size()); }
  int groups() const { return static_cast<int>(group_begin_.size()) - 1; }
  // The most clusters any group has.
  int max_clusters() const;
  int64_t kept_zeros() const;
  const std::vector<float>& centroids() const { return centroids_; }

 private:
  std::vector<int32_t> assignment_;   // index into centroids_, -1 for a kept zero
  std::vector<float> centroids_;      // groups' centroids one after another
  std::vector<int32_t> group_begin_;  // group g's centroids: [group_begin_[g], [g + 1])
  std::vector<double> sums_;          // Project's scratch
  std::vector<int64_t> counts_;
};

struct Plan {
  std::vector<prune::PrunableWeight> weights;
  std::vector<int> clusters;       // per planned weight
  std::vector<std::string> notes;  // layers left out and why
};
// The kernels to cluster: every CONV_2D, DEPTHWISE_CONV_2D and FULLY_CONNECTED kernel, or exactly
// `layers`, minus `skip`, each into `clusters` clusters or its entry in `layer_clusters`; kernels
// of no more weights than their clusters are left out (nothing to share). Unknown names are errors
// that list the layers.
StatusOr<Plan> PlanClustering(const ir::Graph& graph, const std::vector<std::string>& layers,
                              const std::vector<std::string>& skip, int clusters,
                              const std::map<std::string, int>& layer_clusters = {});
// "dense=8,conv2d=32" -> map (each count in [2, 65536]).
StatusOr<std::map<std::string, int>> ParseLayerClusters(const std::string& text);

struct LayerReport {
  std::string layer, op;
  int64_t weights = 0;
  int groups = 1;
  int clusters = 0;  // the most any group has
  int64_t distinct_before = 0, distinct_after = 0;
  int64_t kept_zeros = 0;
  double relative_error = 0.0;  // RMS change / RMS of the weights, when clustered
};

// Clusters the planned weights of a graph and keeps them clustered while a trainer fine-tunes
// them.
class WeightClusterer {
 public:
  WeightClusterer(Plan plan, Options options) : plan_(std::move(plan)), options_(options) {}

  // Clusters every planned weight of `graph` (its float constants) now.
  Status ClusterGraph(ir::Graph* graph);
  // After every optimizer step, projects each planned parameter of the trainer's engine onto
  // its clusters (ClusterGraph first, and an engine made from that graph). The trainer must
  // outlive its use of this object.
  Status Attach(train::Trainer* trainer);

  // Per layer, after ClusterGraph (distinct_after refreshed by Refresh).
  const std::vector<LayerReport>& reports() const { return reports_; }
  // Recounts the distinct values of the planned weights of `graph` (after fine-tuning).
  void Refresh(const ir::Graph& graph);

 private:
  Plan plan_;
  Options options_;
  std::vector<LayerClusters> clusters_;
  std::vector<LayerReport> reports_;
};

// Keeps weights that are clustered already on their shared values while a trainer trains them
// (quantization-aware training of a clustered model, TFMOT's cluster-preserving QAT): each
// parameter named by tensor id whose nonzero values are few (at most kMaxValues distinct, and
// at least kMinWeightsPerValue weights per value on average; a float layer trained as usual has
// as many values as weights) gets one cluster per distinct value, projected after every step.
class ClusterKeeper {
 public:
  static constexpr int64_t kMaxValues = 4096;
  static constexpr int64_t kMinWeightsPerValue = 4;

  // Returns the number of parameters kept clustered. The trainer must outlive its use of this
  // object.
  StatusOr<int> Attach(train::Trainer* trainer, const std::vector<int>& tensors);
  // Weights in the kept parameters.
  int64_t weights() const { return weights_; }
  // The most distinct values any kept parameter has.
  int64_t max_values() const { return max_values_; }

 private:
  std::vector<LayerClusters> clusters_;
  int64_t weights_ = 0, max_values_ = 0;
};

}  // namespace cluster
}  // namespace edgeopt

#endif  // EDGEOPT_SRC_PASSES_CLUSTER_CLUSTER_H_
