#include "src/passes/cluster/cluster.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <set>
#include <vector>

#include "src/data/dataset.h"
#include "src/train/engine.h"
#include "src/train/presets.h"
#include "src/train/rng.h"

namespace edgeopt {
namespace cluster {
namespace {

const Init kInits[] = {Init::kKMeansPlusPlus, Init::kLinear, Init::kDensity, Init::kRandom};

std::vector<float> Normal(int64_t n, uint64_t seed, float scale = 0.1f) {
  train::SplitMix64 rng(seed);
  std::vector<float> v(static_cast<size_t>(n));
  for (float& x : v) x = scale * static_cast<float>(rng.NextNormal());
  return v;
}

// Sum of squared distances to the nearest centroid.
double Sse(const std::vector<float>& v, const std::vector<float>& c) {
  double s = 0.0;
  for (float x : v) {
    const double d = static_cast<double>(x) - c[NearestCentroid(c, x)];
    s += d * d;
  }
  return s;
}

TEST(KMeans1D, ThreeSeparatedGroupsFromEveryInit) {
  const std::vector<float> v = {20.2f, 0.0f, 10.1f, 0.1f, 20.0f, 0.2f, 10.0f, 10.2f};
  for (Init init : kInits) {
    const std::vector<float> c = KMeans1D(v, 3, init, 7);
    ASSERT_EQ(c.size(), 3u) << InitName(init);
    EXPECT_NEAR(c[0], 0.1f, 1e-6f) << InitName(init);
    EXPECT_NEAR(c[1], 10.1f, 1e-5f) << InitName(init);
    EXPECT_NEAR(c[2], 20.1f, 1e-5f) << InitName(init);
  }
}

TEST(KMeans1D, TwoClustersOfAnEvenGridSplitInHalf) {
  std::vector<float> v;
  for (int i = 0; i < 100; ++i) v.push_back(static_cast<float>(i));
  for (Init init : kInits) {
    const std::vector<float> c = KMeans1D(v, 2, init, 3);
    // Two fixed points: 0..49 | 50..99, and 0..50 | 51..99 (50 is halfway between 25 and 75,
    // and goes to the lower centroid).
    ASSERT_EQ(c.size(), 2u) << InitName(init);
    EXPECT_TRUE(c[0] == 24.5f || c[0] == 25.0f) << InitName(init) << ": " << c[0];
    EXPECT_EQ(c[1], c[0] + 50.0f) << InitName(init);
  }
}

TEST(KMeans1D, FewDistinctValuesAreTheCentroidsThemselves) {
  const std::vector<float> v = {0.5f, -1.0f, 0.5f, 2.0f, -1.0f};
  EXPECT_EQ(KMeans1D(v, 3, Init::kLinear, 0), (std::vector<float>{-1.0f, 0.5f, 2.0f}));
  EXPECT_EQ(KMeans1D(v, 8, Init::kKMeansPlusPlus, 0), (std::vector<float>{-1.0f, 0.5f, 2.0f}));
  EXPECT_TRUE(KMeans1D({}, 4, Init::kLinear, 0).empty());
  EXPECT_EQ(KMeans1D({3.0f, 3.0f}, 4, Init::kRandom, 0), (std::vector<float>{3.0f}));
}

// The result is a fixed point of Lloyd's iteration: sorted, at most k, and each centroid the
// mean of the values nearest to it; and no worse than evenly spaced centroids.
TEST(KMeans1D, ConvergesToAFixedPointOnWeightLikeData) {
  const std::vector<float> v = Normal(5000, 11);
  for (int k : {2, 8, 16, 32}) {
    std::vector<float> linear;
    const float lo = *std::min_element(v.begin(), v.end());
    const float hi = *std::max_element(v.begin(), v.end());
    for (int j = 0; j < k; ++j) linear.push_back(lo + (hi - lo) * j / (k - 1));
    for (Init init : kInits) {
      int iterations = 0;
      const std::vector<float> c = KMeans1D(v, k, init, 5, &iterations);
      ASSERT_FALSE(c.empty());
      EXPECT_LE(static_cast<int>(c.size()), k);
      EXPECT_EQ(static_cast<int>(c.size()), k) << InitName(init);  // no cluster left empty
      EXPECT_TRUE(std::is_sorted(c.begin(), c.end()));
      EXPECT_GT(iterations, 0);
      std::vector<double> sum(c.size(), 0.0);
      std::vector<int> count(c.size(), 0);
      for (float x : v) {
        const int j = NearestCentroid(c, x);
        sum[j] += x;
        ++count[j];
      }
      for (size_t j = 0; j < c.size(); ++j) {
        ASSERT_GT(count[j], 0);
        EXPECT_NEAR(c[j], sum[j] / count[j], 1e-6) << "k=" << k << " " << InitName(init);
      }
      EXPECT_LE(Sse(v, c), Sse(v, linear) * (1.0 + 1e-9)) << "k=" << k << " " << InitName(init);
    }
  }
}

TEST(KMeans1D, SameSeedSameCentroids) {
  const std::vector<float> v = Normal(2000, 3);
  for (Init init : {Init::kKMeansPlusPlus, Init::kRandom}) {
    EXPECT_EQ(KMeans1D(v, 16, init, 42), KMeans1D(v, 16, init, 42));
  }
}

TEST(KMeans1D, NonFiniteValuesAreLeftOut) {
  const std::vector<float> v = {NAN, 1.0f, INFINITY, 2.0f, -INFINITY, 1.0f, 9.0f, NAN};
  const std::vector<float> c = KMeans1D(v, 2, Init::kLinear, 0);
  ASSERT_EQ(c.size(), 2u);
  EXPECT_FLOAT_EQ(c[0], 4.0f / 3.0f);  // 1, 1, 2
  EXPECT_EQ(c[1], 9.0f);
  EXPECT_TRUE(KMeans1D({NAN, INFINITY}, 4, Init::kKMeansPlusPlus, 0).empty());
}

TEST(NearestCentroid, HalfwayGoesToTheLowerOne) {
  const std::vector<float> c = {-1.0f, 0.0f, 2.0f};
  EXPECT_EQ(NearestCentroid(c, -5.0f), 0);
  EXPECT_EQ(NearestCentroid(c, -0.5f), 0);
  EXPECT_EQ(NearestCentroid(c, -0.4f), 1);
  EXPECT_EQ(NearestCentroid(c, 1.0f), 1);
  EXPECT_EQ(NearestCentroid(c, 1.01f), 2);
  EXPECT_EQ(NearestCentroid({0.5f}, 9.0f), 0);
}

TEST(CountDistinct, CountsZeroOnce) {
  const std::vector<float> w = {0.0f, -0.0f, 1.0f, 1.0f, -2.0f};
  EXPECT_EQ(CountDistinct(w.data(), 5), 3);
  EXPECT_EQ(CountDistinct(w.data(), 0), 0);
}

std::set<float> DistinctOf(const std::vector<float>& w, const std::vector<size_t>& idx) {
  std::set<float> s;
  for (size_t i : idx) s.insert(w[i]);
  return s;
}

TEST(LayerClusters, PerTensorAndPerChannelGroups) {
  // An [8, 3, 3, 4] kernel: output channel of weight i is i / 36.
  std::vector<float> w = Normal(8 * 36, 21);
  for (size_t i = 0; i < w.size(); i += 5) w[i] = 0.0f;  // pruned
  Options o;
  o.clusters = 6;
  {
    std::vector<float> c = w;
    const LayerClusters lc = LayerClusters::Build(c.data(), 288, 8, false, o, 1);
    lc.Apply(c.data());
    EXPECT_EQ(lc.groups(), 1);
    EXPECT_EQ(lc.max_clusters(), 6);
    EXPECT_EQ(lc.kept_zeros(), 58);
    EXPECT_EQ(CountDistinct(c.data(), 288), 7);  // 6 centroids and the kept zeros
    for (size_t i = 0; i < w.size(); ++i) {
      if (w[i] == 0.0f) {
        EXPECT_EQ(c[i], 0.0f);
      } else {  // each weight went to its nearest centroid
        const std::vector<float>& cent = lc.centroids();
        EXPECT_EQ(c[i], cent[NearestCentroid(cent, w[i])]);
      }
    }
  }
  {
    o.per_channel = true;
    std::vector<float> c = w;
    const LayerClusters lc = LayerClusters::Build(c.data(), 288, 8, false, o, 1);
    lc.Apply(c.data());
    EXPECT_EQ(lc.groups(), 8);
    EXPECT_EQ(lc.max_clusters(), 6);
    EXPECT_GT(CountDistinct(c.data(), 288), 7);  // channels have their own centroids
    for (int ch = 0; ch < 8; ++ch) {
      std::vector<size_t> idx;
      for (size_t i = ch * 36; i < (ch + 1) * 36u; ++i) {
        if (w[i] != 0.0f) idx.push_back(i);
      }
      EXPECT_LE(DistinctOf(c, idx).size(), 6u) << "channel " << ch;
    }
  }
  {
    // Depthwise [1, 3, 3, 8]: the channel is the last dimension (i % 8).
    std::vector<float> d = Normal(72, 4);
    std::vector<float> c = d;
    const LayerClusters lc = LayerClusters::Build(c.data(), 72, 8, true, o, 1);
    lc.Apply(c.data());
    for (int ch = 0; ch < 8; ++ch) {
      std::vector<size_t> idx;
      for (size_t i = ch; i < 72; i += 8) idx.push_back(i);
      EXPECT_LE(DistinctOf(c, idx).size(), 6u);
      // Nine taps, six clusters: three pairs share a value within the channel.
      EXPECT_GE(DistinctOf(c, idx).size(), 5u);
    }
  }
  {
    // Without preserve_sparsity the zeros are clustered like any value.
    o.per_channel = false;
    o.preserve_sparsity = false;
    std::vector<float> c = w;
    const LayerClusters lc = LayerClusters::Build(c.data(), 288, 8, false, o, 1);
    EXPECT_EQ(lc.kept_zeros(), 0);
    lc.Apply(c.data());
    EXPECT_LE(CountDistinct(c.data(), 288), 6);
  }
}

TEST(LayerClusters, ProjectMovesEachCentroidToItsMembersMean) {
  std::vector<float> w = Normal(400, 8);
  w[3] = 0.0f;
  Options o;
  o.clusters = 5;
  LayerClusters lc = LayerClusters::Build(w.data(), 400, 1, false, o, 2);
  lc.Apply(w.data());
  const std::vector<float> before = w;
  // A "step": every weight moves by its own amount.
  train::SplitMix64 rng(5);
  for (float& x : w) x += 0.01f * static_cast<float>(rng.NextNormal());
  const std::vector<float> stepped = w;
  std::map<float, std::pair<double, int>> mean;  // old centroid -> sum, count of the stepped
  for (size_t i = 0; i < w.size(); ++i) {
    if (before[i] == 0.0f && i == 3) continue;
    mean[before[i]].first += stepped[i];
    ++mean[before[i]].second;
  }
  lc.Project(w.data());
  EXPECT_EQ(w[3], 0.0f);  // a kept zero stays zero
  EXPECT_LE(CountDistinct(w.data(), 400), 6);
  for (size_t i = 0; i < w.size(); ++i) {
    if (i == 3) continue;
    const auto& m = mean[before[i]];
    EXPECT_NEAR(w[i], m.first / m.second, 1e-7) << i;
  }
  // Projecting again changes nothing (members are equal to their centroid).
  const std::vector<float> once = w;
  lc.Project(w.data());
  EXPECT_EQ(w, once);
}

// A graph: CONV_2D [4,3,3,2] -> DEPTHWISE [1,3,3,4] -> FULLY_CONNECTED [3, 4] and a tiny
// FULLY_CONNECTED [2, 3] (six weights).
struct Net {
  ir::Graph g;
  int conv = -1, dw = -1, fc = -1, tiny = -1;
};

Net MakeNet() {
  Net n;
  ir::Graph& g = n.g;
  auto weight = [&](const std::string& origin, std::vector<int32_t> shape, uint64_t seed) {
    int64_t count = 1;
    for (int32_t d : shape) count *= d;
    const int id = g.AddFloatConstant(origin, shape, Normal(count, seed, 0.3f));
    g.tensors[id].origin = origin;
    return id;
  };
  auto node = [&](const std::string& op, const std::string& name, std::vector<int> in,
                  std::vector<int32_t> shape) {
    const int y = g.AddActivation(name + "_out", DType::kFloat32, shape);
    ir::Node nd;
    nd.op = op;
    nd.name = name;
    nd.inputs = std::move(in);
    nd.outputs = {y};
    g.AddNode(nd);
    return y;
  };
  const int x = g.AddActivation("x", DType::kFloat32, {1, 5, 5, 2});
  g.inputs = {x};
  n.conv = weight("conv/kernel", {4, 3, 3, 2}, 1);
  int y = node("CONV_2D", "conv", {x, n.conv}, {1, 5, 5, 4});
  n.dw = weight("dw/depthwise_kernel", {1, 3, 3, 4}, 2);
  y = node("DEPTHWISE_CONV_2D", "dw", {y, n.dw}, {1, 5, 5, 4});
  n.fc = weight("fc/kernel", {3, 4}, 3);
  y = node("FULLY_CONNECTED", "fc", {y, n.fc}, {1, 3});
  n.tiny = weight("tiny/kernel", {2, 3}, 4);
  g.outputs = {node("FULLY_CONNECTED", "tiny", {y, n.tiny}, {1, 2})};
  return n;
}

TEST(PlanClustering, EveryWeightLayerButTinyOnesAndTheNamedOnes) {
  const Net n = MakeNet();
  auto plan = PlanClustering(n.g, {}, {}, 8);
  ASSERT_TRUE(plan.ok()) << plan.status().ToString();
  std::vector<std::string> layers;
  for (const auto& w : plan->weights) layers.push_back(w.layer);
  EXPECT_EQ(layers, (std::vector<std::string>{"conv", "dw", "fc"}));
  ASSERT_EQ(plan->notes.size(), 1u);
  EXPECT_NE(plan->notes[0].find("tiny: 6 weights"), std::string::npos) << plan->notes[0];
  plan = PlanClustering(n.g, {"dw", "fc"}, {"fc"}, 4);
  ASSERT_TRUE(plan.ok());
  ASSERT_EQ(plan->weights.size(), 1u);
  EXPECT_EQ(plan->weights[0].layer, "dw");
  // NaN or infinite weights: a clear error naming the layer.
  {
    Net nan_net = MakeNet();
    nan_net.g.tensors[nan_net.fc].DataAs<float>()[3] = NAN;
    nan_net.g.tensors[nan_net.fc].DataAs<float>()[5] = INFINITY;
    auto p = PlanClustering(nan_net.g, {}, {}, 4);
    ASSERT_TRUE(p.ok());
    Options o;
    o.clusters = 4;
    WeightClusterer wc(*p, o);
    const Status st = wc.ClusterGraph(&nan_net.g);
    EXPECT_EQ(st.code(), StatusCode::kInvalidArgument);
    EXPECT_NE(st.message().find("layer 'fc' has 2 NaN or infinite weights"), std::string::npos)
        << st.message();
  }
  // Per-layer counts: dw into 3, the others into 8; a tiny kernel named with a small count is
  // clustered after all.
  plan = PlanClustering(n.g, {}, {}, 8, {{"dw", 3}, {"tiny", 2}});
  ASSERT_TRUE(plan.ok());
  layers.clear();
  for (const auto& w : plan->weights) layers.push_back(w.layer);
  EXPECT_EQ(layers, (std::vector<std::string>{"conv", "dw", "fc", "tiny"}));
  EXPECT_EQ(plan->clusters, (std::vector<int>{8, 3, 8, 2}));
  {
    Net c = MakeNet();
    Options o;
    o.clusters = 8;
    WeightClusterer wc(*plan, o);
    ASSERT_TRUE(wc.ClusterGraph(&c.g).ok());
    EXPECT_EQ(CountDistinct(c.g.tensors[c.dw].DataAs<float>(), 36), 3);
    EXPECT_EQ(CountDistinct(c.g.tensors[c.conv].DataAs<float>(), 72), 8);
    EXPECT_EQ(CountDistinct(c.g.tensors[c.tiny].DataAs<float>(), 6), 2);
    EXPECT_EQ(wc.reports()[1].clusters, 3);
  }
  EXPECT_EQ(PlanClustering(n.g, {}, {}, 8, {{"nope", 3}}).status().code(), StatusCode::kNotFound);
  auto bad = PlanClustering(n.g, {"nope"}, {}, 4);
  EXPECT_EQ(bad.status().code(), StatusCode::kNotFound);
  EXPECT_NE(bad.status().message().find("conv, dw, fc, tiny"), std::string::npos)
      << bad.status().message();
}

TEST(ParseLayerClusters, NamesAndCounts) {
  auto m = ParseLayerClusters("dense=8,conv2d_1=32");
  ASSERT_TRUE(m.ok());
  EXPECT_EQ(*m, (std::map<std::string, int>{{"conv2d_1", 32}, {"dense", 8}}));
  EXPECT_TRUE(ParseLayerClusters("")->empty());
  for (const char* bad : {"dense", "dense=", "=8", "dense=1", "dense=70000", "dense=8x"}) {
    EXPECT_EQ(ParseLayerClusters(bad).status().code(), StatusCode::kInvalidArgument) << bad;
  }
}

TEST(WeightClusterer, ClustersTheGraphAndReports) {
  Net n = MakeNet();
  const std::vector<float> conv_before(n.g.tensors[n.conv].DataAs<float>(),
                                       n.g.tensors[n.conv].DataAs<float>() + 72);
  auto plan = PlanClustering(n.g, {}, {}, 4);
  ASSERT_TRUE(plan.ok());
  Options o;
  o.clusters = 4;
  WeightClusterer wc(*plan, o);
  ASSERT_TRUE(wc.ClusterGraph(&n.g).ok());
  ASSERT_EQ(wc.reports().size(), 4u);  // the 6 weights of "tiny" too
  for (const LayerReport& r : wc.reports()) {
    EXPECT_EQ(r.clusters, 4) << r.layer;
    EXPECT_EQ(r.distinct_after, 4) << r.layer;
    EXPECT_GT(r.distinct_before, 4) << r.layer;
    EXPECT_GT(r.relative_error, 0.0) << r.layer;
    EXPECT_LT(r.relative_error, 0.5) << r.layer;
  }
  EXPECT_EQ(wc.reports()[0].weights, 72);
  EXPECT_EQ(CountDistinct(n.g.tensors[n.conv].DataAs<float>(), 72), 4);
  EXPECT_EQ(CountDistinct(n.g.tensors[n.tiny].DataAs<float>(), 6), 4);
  // The relative error is the RMS change over the RMS of the original weights.
  double err = 0.0, norm = 0.0;
  for (int i = 0; i < 72; ++i) {
    const double d = n.g.tensors[n.conv].DataAs<float>()[i] - conv_before[i];
    err += d * d;
    norm += static_cast<double>(conv_before[i]) * conv_before[i];
  }
  EXPECT_NEAR(wc.reports()[0].relative_error, std::sqrt(err / norm), 1e-9);
}

// Fine-tuning keeps every clustered weight on at most K values while the centroids move and
// the model learns (an MLP on three Gaussian blobs).
// With `keeper`, a ClusterKeeper that finds the clustered layer among both kernels by itself
// (QAT's way) instead of the WeightClusterer that made the clusters.
void FineTuneClusteredMlp(bool keeper) {
  data::Dataset ds;
  ds.name = "blobs";
  ds.sample_shape = {6};
  ds.num_classes = 3;
  train::SplitMix64 rng(1);
  for (int i = 0; i < 600; ++i) {
    const int label = static_cast<int>(rng.Below(3));
    for (int d = 0; d < 6; ++d) {
      ds.x.push_back((d % 3 == label ? 1.5f : -0.5f) + 0.5f * static_cast<float>(rng.NextNormal()));
    }
    ds.labels.push_back(label);
  }
  ds.size = 600;
  ir::Graph g;
  const int x = g.AddActivation("x", DType::kFloat32, {1, 6});
  g.inputs = {x};
  auto param = [&](const std::string& name, std::vector<int32_t> shape, std::vector<float> v) {
    const int id = g.AddFloatConstant(name, shape, v);
    g.tensors[id].origin = name;
    return id;
  };
  auto fc = [&](const std::string& name, int in, int w, int b, std::vector<int32_t> shape,
                const char* act) {
    const int y = g.AddActivation(name + "_out", DType::kFloat32, shape);
    ir::Node nd;
    nd.op = "FULLY_CONNECTED";
    nd.name = name;
    nd.inputs = {in, w, b};
    nd.outputs = {y};
    nd.attrs = {{"fused_activation_function", std::string(act)}};
    g.AddNode(nd);
    return y;
  };
  const int w1 = param("d1/kernel", {16, 6}, train::GlorotUniform(96, 6, 16, 3));
  const int h =
      fc("d1", x, w1, param("d1/bias", {16}, std::vector<float>(16, 0.0f)), {1, 16}, "RELU");
  const int w2 = param("d2/kernel", {3, 16}, train::GlorotUniform(48, 16, 3, 4));
  g.outputs = {fc("d2", h, w2, param("d2/bias", {3}, std::vector<float>(3, 0.0f)), {1, 3}, "NONE")};

  auto plan = PlanClustering(g, {"d1"}, {}, 4);
  ASSERT_TRUE(plan.ok());
  Options o;
  o.clusters = 4;
  WeightClusterer wc(*plan, o);
  ASSERT_TRUE(wc.ClusterGraph(&g).ok());
  std::vector<float> start(g.tensors[w1].DataAs<float>(), g.tensors[w1].DataAs<float>() + 96);
  std::set<float> start_values(start.begin(), start.end());
  ASSERT_EQ(start_values.size(), 4u);

  train::EngineOptions eo;
  eo.batch_size = 32;
  auto engine = train::Engine::Create(g, eo);
  ASSERT_TRUE(engine.ok()) << engine.status().ToString();
  train::TrainOptions to;
  to.epochs = 8;
  to.batch_size = 32;
  to.optimizer.learning_rate = 0.01f;
  auto trainer = train::Trainer::Create(engine->get(), to, ds);
  ASSERT_TRUE(trainer.ok()) << trainer.status().ToString();
  ClusterKeeper kept;
  if (keeper) {
    auto n = kept.Attach(trainer->get(), {w1, w2});
    ASSERT_TRUE(n.ok()) << n.status().ToString();
    EXPECT_EQ(*n, 1) << "d2 has 48 distinct values in 48 weights: not clustered";
    EXPECT_EQ(kept.weights(), 96);
    EXPECT_EQ(kept.max_values(), 4);
  } else {
    ASSERT_TRUE(wc.Attach(trainer->get()).ok());
  }
  auto before = train::Evaluate(engine->get(), ds, 64);
  ASSERT_TRUE(before.ok());
  ASSERT_TRUE((*trainer)->Fit(ds, nullptr).ok());
  auto after = train::Evaluate(engine->get(), ds, 64);
  ASSERT_TRUE(after.ok());
  EXPECT_GT(after->accuracy, 0.9);
  EXPECT_GT(after->accuracy, before->accuracy);
  ASSERT_TRUE((*engine)->ExportWeights(&g).ok());
  const float* w = g.tensors[w1].DataAs<float>();
  EXPECT_LE(CountDistinct(w, 96), 4);
  // The centroids moved, and weights that shared a value still do.
  int moved = 0;
  for (int i = 0; i < 96; ++i) {
    moved += w[i] != start[i];
    for (int j = 0; j < i; ++j) {
      if (start[i] == start[j]) {
        ASSERT_EQ(w[i], w[j]) << i << " " << j;
      }
    }
  }
  EXPECT_GT(moved, 0);
  // The unclustered layer trained freely.
  EXPECT_GT(CountDistinct(g.tensors[w2].DataAs<float>(), 48), 4);
  wc.Refresh(g);
  EXPECT_LE(wc.reports()[0].distinct_after, 4);
}

TEST(WeightClusterer, FineTuningKeepsTheClustersAndLearns) { FineTuneClusteredMlp(false); }
TEST(ClusterKeeper, KeepsAClusteredLayerClusteredAndLeavesTheOthers) { FineTuneClusteredMlp(true); }

}  // namespace
}  // namespace cluster
}  // namespace edgeopt
