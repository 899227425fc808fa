#include "src/passes/cluster/cluster.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <numeric>

#include "src/train/rng.h"

namespace edgeopt {
namespace cluster {
namespace {

// Decision points between neighbouring sorted centroids: v goes above centroid j when
// v > mid[j]. Computed in double so that every use agrees.
std::vector<double> Midpoints(const std::vector<float>& c) {
  std::vector<double> mid(c.size() > 0 ? c.size() - 1 : 0);
  for (size_t j = 0; j + 1 < c.size(); ++j) {
    mid[j] = 0.5 * (static_cast<double>(c[j]) + static_cast<double>(c[j + 1]));
  }
  return mid;
}

// The index of the centroid whose range holds v, from the midpoints of sorted centroids.
int NearestByMidpoints(const std::vector<double>& mid, float v) {
  return static_cast<int>(std::lower_bound(mid.begin(), mid.end(), static_cast<double>(v)) -
                          mid.begin());
}

void SortUnique(std::vector<float>* c) {
  std::sort(c->begin(), c->end());
  c->erase(std::unique(c->begin(), c->end()), c->end());
}

// kmeans++ seeding (Arthur and Vassilvitskii): the first centroid uniformly, each next one
// with probability proportional to the squared distance to the nearest chosen one.
std::vector<float> KMeansPlusPlus(const std::vector<float>& v, int k, train::SplitMix64* rng) {
  const size_t n = v.size();
  std::vector<float> c = {v[rng->Below(n)]};
  std::vector<double> d2(n);
  for (size_t i = 0; i < n; ++i) {
    const double d = static_cast<double>(v[i]) - c[0];
    d2[i] = d * d;
  }
  while (static_cast<int>(c.size()) < k) {
    const double total = std::accumulate(d2.begin(), d2.end(), 0.0);
    if (!(total > 0.0)) break;  // every value is a centroid already
    double r = rng->NextDouble() * total;
    size_t pick = n - 1;
    for (size_t i = 0; i < n; ++i) {
      r -= d2[i];
      if (r < 0.0 && d2[i] > 0.0) {
        pick = i;
        break;
      }
    }
    if (d2[pick] == 0.0) break;
    const float next = v[pick];
    c.push_back(next);
    for (size_t i = 0; i < n; ++i) {
      const double d = static_cast<double>(v[i]) - next;
      d2[i] = std::min(d2[i], d * d);
    }
  }
  return c;
}

// After every optimizer step, each trainer parameter index[l] is projected onto clusters[l]
// (which must outlive the trainer's use).
void ProjectAfterEachStep(train::Trainer* trainer, std::vector<size_t> index,
                          std::vector<LayerClusters>* clusters) {
  trainer->SetStepCallback([trainer, index = std::move(index), clusters](int64_t) -> Status {
    std::vector<train::Parameter>& p = trainer->engine()->parameters();
    for (size_t l = 0; l < clusters->size(); ++l) (*clusters)[l].Project(p[index[l]].data());
    return Status::Ok();
  });
}

}  // namespace

StatusOr<Init> ParseInit(const std::string& name) {
  if (name == "kmeans++") return Init::kKMeansPlusPlus;
  if (name == "linear") return Init::kLinear;
  if (name == "density") return Init::kDensity;
  if (name == "random") return Init::kRandom;
  return MakeStatus(StatusCode::kInvalidArgument,
                    "unknown centroid initialization '%s' (kmeans++, linear, density or random)",
                    name.c_str());
}

const char* InitName(Init init) {
  switch (init) {
    case Init::kKMeansPlusPlus:
      return "kmeans++";
    case Init::kLinear:
      return "linear";
    case Init::kDensity:
      return "density";
    case Init::kRandom:
      return "random";
  }
  return "?";
}

std::vector<float> KMeans1D(std::vector<float> v, int k, Init init, uint64_t seed,
                            int* iterations) {
  if (iterations != nullptr) *iterations = 0;
  // NaN has no place in a sort (nor in a mean); infinities none in a mean.
  v.erase(std::remove_if(v.begin(), v.end(), [](float x) { return !std::isfinite(x); }), v.end());
  if (v.empty() || k <= 0) return {};
  std::sort(v.begin(), v.end());
  std::vector<float> distinct = v;
  SortUnique(&distinct);
  if (static_cast<int64_t>(distinct.size()) <= k) return distinct;

  const size_t n = v.size();
  const float lo = v.front(), hi = v.back();
  train::SplitMix64 rng(seed);
  std::vector<float> c;
  switch (init) {
    case Init::kKMeansPlusPlus:
      c = KMeansPlusPlus(v, k, &rng);
      break;
    case Init::kLinear:  // evenly spaced from the smallest to the largest value
      for (int j = 0; j < k; ++j) {
        c.push_back(static_cast<float>(lo + (static_cast<double>(hi) - lo) * j / (k - 1)));
      }
      break;
    case Init::kDensity:  // the values at k evenly spaced levels of the distribution
      for (int j = 0; j < k; ++j) {
        c.push_back(
            v[std::min(n - 1, static_cast<size_t>((j + 0.5) / k * static_cast<double>(n)))]);
      }
      break;
    case Init::kRandom:  // uniform between the smallest and the largest value
      for (int j = 0; j < k; ++j) {
        c.push_back(static_cast<float>(lo + (static_cast<double>(hi) - lo) * rng.NextDouble()));
      }
      break;
  }
  SortUnique(&c);

  // Lloyd's iterations on the sorted values: cluster j is the range of values between two
  // midpoints, its mean a difference of prefix sums.
  std::vector<double> prefix(n + 1, 0.0);
  for (size_t i = 0; i < n; ++i) prefix[i + 1] = prefix[i] + v[i];
  constexpr int kMaxIterations = 300;
  for (int it = 0; it < kMaxIterations; ++it) {
    const std::vector<double> mid = Midpoints(c);
    std::vector<float> next;
    size_t begin = 0;
    for (size_t j = 0; j < c.size(); ++j) {
      const size_t end =
          j < mid.size()
              ? static_cast<size_t>(std::upper_bound(v.begin(), v.end(), mid[j],
                                                     [](double m, float x) { return m < x; }) -
                                    v.begin())
              : n;
      if (end > begin) {
        next.push_back(
            static_cast<float>((prefix[end] - prefix[begin]) / static_cast<double>(end - begin)));
      }
      begin = std::max(begin, end);
    }
    SortUnique(&next);
    // A cluster left empty restarts at the value farthest from every centroid (the values
    // have more than k distinct ones, so one is off every centroid).
    while (static_cast<int>(next.size()) < k) {
      double farthest = 0.0;
      float pick = 0.0f;
      const std::vector<double> next_mid = Midpoints(next);
      for (float x : v) {
        const double d = std::fabs(static_cast<double>(x) - next[NearestByMidpoints(next_mid, x)]);
        if (d > farthest) {
          farthest = d;
          pick = x;
        }
      }
      if (!(farthest > 0.0)) break;
      next.push_back(pick);
      SortUnique(&next);
    }
    if (iterations != nullptr) *iterations = it + 1;
    if (next == c) break;
    c = std::move(next);
  }
  return c;
}

int NearestCentroid(const std::vector<float>& centroids, float v) {
  return NearestByMidpoints(Midpoints(centroids), v);
}

int64_t CountDistinct(const float* w, int64_t n) {
  std::vector<float> v(w, w + n);
  for (float& x : v) x = x == 0.0f ? 0.0f : x;  // -0 -> +0
  SortUnique(&v);
  return static_cast<int64_t>(v.size());
}

LayerClusters LayerClusters::Build(const float* w, int64_t n, int channels, bool channel_last,
                                   const Options& options, uint64_t seed) {
  LayerClusters lc;
  const int groups = options.per_channel ? std::max(1, channels) : 1;
  const int64_t per_group = n / groups;
  auto group_of = [&](int64_t i) -> int {
    if (groups == 1) return 0;
    return static_cast<int>(channel_last ? i % groups
                                         : std::min<int64_t>(i / per_group, groups - 1));
  };
  std::vector<std::vector<float>> values(static_cast<size_t>(groups));
  for (int64_t i = 0; i < n; ++i) {
    if (options.preserve_sparsity && w[i] == 0.0f) continue;
    values[group_of(i)].push_back(w[i]);
  }
  std::vector<std::vector<float>> centroids(static_cast<size_t>(groups));
  lc.group_begin_.push_back(0);
  for (int g = 0; g < groups; ++g) {
    centroids[g] = KMeans1D(values[g], options.clusters, options.init, train::MixSeed(seed, g, 0));
    lc.centroids_.insert(lc.centroids_.end(), centroids[g].begin(), centroids[g].end());
    lc.group_begin_.push_back(static_cast<int32_t>(lc.centroids_.size()));
  }
  std::vector<std::vector<double>> mids(static_cast<size_t>(groups));
  for (int g = 0; g < groups; ++g) mids[g] = Midpoints(centroids[g]);
  lc.assignment_.resize(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) {
    const int g = group_of(i);
    lc.assignment_[i] = (options.preserve_sparsity && w[i] == 0.0f) || centroids[g].empty()
                            ? -1
                            : lc.group_begin_[g] + NearestByMidpoints(mids[g], w[i]);
  }
  return lc;
}

void LayerClusters::Apply(float* w) const {
  for (size_t i = 0; i < assignment_.size(); ++i) {
    w[i] = assignment_[i] < 0 ? 0.0f : centroids_[assignment_[i]];
  }
}

void LayerClusters::Project(float* w) {
  sums_.assign(centroids_.size(), 0.0);
  counts_.assign(centroids_.size(), 0);
  for (size_t i = 0; i < assignment_.size(); ++i) {
    if (assignment_[i] < 0) continue;
    sums_[assignment_[i]] += w[i];
    ++counts_[assignment_[i]];
  }
  for (size_t j = 0; j < centroids_.size(); ++j) {
    if (counts_[j] > 0) centroids_[j] = static_cast<float>(sums_[j] / counts_[j]);
  }
  Apply(w);
}

int LayerClusters::max_clusters() const {
  int m = 0;
  for (size_t g = 0; g + 1 < group_begin_.size(); ++g) {
    m = std::max(m, group_begin_[g + 1] - group_begin_[g]);
  }
  return m;
}

int64_t LayerClusters::kept_zeros() const {
  return std::count(assignment_.begin(), assignment_.end(), -1);
}

StatusOr<Plan> PlanClustering(const ir::Graph& graph, const std::vector<std::string>& layers,
                              const std::vector<std::string>& skip, int clusters,
                              const std::map<std::string, int>& layer_clusters) {
  const std::vector<prune::PrunableWeight> candidates = prune::WeightLayers(graph);
  std::vector<std::string> named = layers;
  named.insert(named.end(), skip.begin(), skip.end());
  for (const auto& kv : layer_clusters) named.push_back(kv.first);
  EDGEOPT_RETURN_IF_ERROR(prune::CheckLayerNames(
      candidates, named,
      "a layer with weights to cluster (CONV_2D, DEPTHWISE_CONV_2D or FULLY_CONNECTED with float "
      "weights)"));
  Plan plan;
  for (const prune::PrunableWeight& p : candidates) {
    const bool listed = std::find(layers.begin(), layers.end(), p.layer) != layers.end();
    if (std::find(skip.begin(), skip.end(), p.layer) != skip.end()) {
      plan.notes.push_back(p.layer + ": skipped (--skip)");
    } else if (!layers.empty() && !listed) {
      plan.notes.push_back(p.layer + ": not in --layers");
    } else if (graph.tensors[p.tensor].frozen) {
      plan.notes.push_back(prune::FrozenNote(p.layer, graph.tensors[p.tensor]));
    } else {
      const auto it = layer_clusters.find(p.layer);
      const int k = it != layer_clusters.end() ? it->second : clusters;
      if (p.rows * p.cols <= k) {
        plan.notes.push_back(p.layer + ": " + std::to_string(p.rows * p.cols) +
                             " weights, no more than the clusters; left as it is");
      } else {
        plan.weights.push_back(p);
        plan.clusters.push_back(k);
      }
    }
  }
  return plan;
}

StatusOr<std::map<std::string, int>> ParseLayerClusters(const std::string& text) {
  return prune::ParseLayerInts(text, "clusters", "dense=8", 2, 65536);
}

Status WeightClusterer::ClusterGraph(ir::Graph* graph) {
  clusters_.clear();
  reports_.clear();
  for (size_t l = 0; l < plan_.weights.size(); ++l) {
    const prune::PrunableWeight& p = plan_.weights[l];
    ir::Tensor& t = graph->tensors[p.tensor];
    EDGEOPT_ENSURE(t.dtype == DType::kFloat32 && t.NumElements() == p.rows * p.cols,
                   StatusCode::kInternal, "weight %s changed", p.param.c_str());
    float* w = t.DataAs<float>();
    const int64_t n = t.NumElements();
    const int64_t non_finite = std::count_if(w, w + n, [](float x) { return !std::isfinite(x); });
    EDGEOPT_ENSURE(non_finite == 0, StatusCode::kInvalidArgument,
                   "layer '%s' has %lld NaN or infinite weights; clustering needs finite weights",
                   p.layer.c_str(), static_cast<long long>(non_finite));
    const bool depthwise = p.op == "DEPTHWISE_CONV_2D";
    const int channels = static_cast<int>(depthwise ? p.inner : p.rows);
    LayerReport r;
    r.layer = p.layer;
    r.op = p.op;
    r.weights = n;
    r.distinct_before = CountDistinct(w, n);
    std::vector<float> original(w, w + n);
    Options layer_options = options_;
    if (l < plan_.clusters.size()) layer_options.clusters = plan_.clusters[l];
    clusters_.push_back(LayerClusters::Build(w, n, channels, depthwise, layer_options,
                                             train::MixSeed(options_.seed, l, 1)));
    clusters_.back().Apply(w);
    double err = 0.0, norm = 0.0;
    for (int64_t i = 0; i < n; ++i) {
      err += (static_cast<double>(w[i]) - original[i]) * (static_cast<double>(w[i]) - original[i]);
      norm += static_cast<double>(original[i]) * original[i];
    }
    r.relative_error = norm > 0.0 ? std::sqrt(err / norm) : 0.0;
    r.groups = clusters_.back().groups();
    r.clusters = clusters_.back().max_clusters();
    r.kept_zeros = clusters_.back().kept_zeros();
    r.distinct_after = CountDistinct(w, n);
    reports_.push_back(r);
  }
  return Status::Ok();
}

Status WeightClusterer::Attach(train::Trainer* trainer) {
  EDGEOPT_ENSURE(clusters_.size() == plan_.weights.size(), StatusCode::kInternal,
                 "WeightClusterer::Attach before ClusterGraph");
  const std::vector<train::Parameter>& params = trainer->engine()->parameters();
  std::vector<size_t> index;  // the trainer's parameter of each planned weight
  for (size_t l = 0; l < plan_.weights.size(); ++l) {
    const prune::PrunableWeight& w = plan_.weights[l];
    size_t found = params.size();
    for (size_t q = 0; q < params.size(); ++q) {
      if (params[q].name == w.param) found = q;
    }
    EDGEOPT_ENSURE(found < params.size(), StatusCode::kInternal, "no trainable weight %s",
                   w.param.c_str());
    EDGEOPT_ENSURE(params[found].size == clusters_[l].size(), StatusCode::kInternal,
                   "weight %s has %lld values, expected %lld", w.param.c_str(),
                   static_cast<long long>(params[found].size),
                   static_cast<long long>(clusters_[l].size()));
    index.push_back(found);
  }
  ProjectAfterEachStep(trainer, std::move(index), &clusters_);
  return Status::Ok();
}

void WeightClusterer::Refresh(const ir::Graph& graph) {
  for (size_t l = 0; l < reports_.size() && l < plan_.weights.size(); ++l) {
    const ir::Tensor& t = graph.tensors[plan_.weights[l].tensor];
    reports_[l].distinct_after = CountDistinct(t.DataAs<float>(), t.NumElements());
  }
}

StatusOr<int> ClusterKeeper::Attach(train::Trainer* trainer, const std::vector<int>& tensors) {
  std::vector<train::Parameter>& params = trainer->engine()->parameters();
  std::vector<size_t> index;  // the trainer's parameter of each of clusters_
  for (int t : tensors) {
    for (size_t q = 0; q < params.size(); ++q) {
      if (params[q].tensor != t) continue;
      const float* w = params[q].data();
      const int64_t n = params[q].size;
      std::vector<float> nonzero;
      bool finite = true;
      for (int64_t i = 0; i < n; ++i) {
        finite = finite && std::isfinite(w[i]);
        if (w[i] != 0.0f) nonzero.push_back(w[i]);
      }
      if (!finite) continue;
      SortUnique(&nonzero);
      const int64_t values = static_cast<int64_t>(nonzero.size());
      if (values == 0 || values > kMaxValues || values * kMinWeightsPerValue > n) continue;
      Options o;
      o.clusters = static_cast<int>(values);  // one cluster per value: the k-means is exact
      index.push_back(q);
      clusters_.push_back(LayerClusters::Build(w, n, 1, false, o, 0));
      weights_ += n;
      max_values_ = std::max(max_values_, values);
    }
  }
  if (index.empty()) return 0;
  const int kept = static_cast<int>(index.size());
  ProjectAfterEachStep(trainer, std::move(index), &clusters_);
  return kept;
}

}  // namespace cluster
}  // namespace edgeopt
