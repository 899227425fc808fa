// Pruning library: TFMOT schedule values, masks at every granularity, layer plans, channel
// pruning (the pruned graph computes exactly what the original does when the removed channels
// carry nothing), and the sparse encoding (round trips, layouts, DENSIFY insertion).
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "src/export/tflite/export.h"
#include "src/ir/graph.h"
#include "src/passes/prune/channel_prune.h"
#include "src/passes/prune/magnitude_pruner.h"
#include "src/passes/prune/mask.h"
#include "src/passes/prune/prune_plan.h"
#include "src/passes/prune/schedule.h"
#include "src/passes/prune/sparse_encode.h"
#include "src/runtime/interpreter.h"
#include "src/runtime/model_stats.h"
#include "src/train/engine.h"

namespace edgeopt {
namespace prune {
namespace {

TEST(Schedule, PolynomialDecayFollowsTfmot) {
  Schedule s;
  s.kind = Schedule::Kind::kPolynomial;
  s.initial_sparsity = 0.0;
  s.final_sparsity = 0.8;
  s.begin_step = 0;
  s.end_step = 100;
  s.frequency = 10;
  ASSERT_TRUE(s.Validate().ok());
  EXPECT_DOUBLE_EQ(s.SparsityAt(0), 0.0);
  // 0.8 + (0 - 0.8) * (1 - 0.5)^3
  EXPECT_DOUBLE_EQ(s.SparsityAt(50), 0.7);
  EXPECT_DOUBLE_EQ(s.SparsityAt(100), 0.8);
  EXPECT_DOUBLE_EQ(s.SparsityAt(1000), 0.8);  // fixed after end_step
  EXPECT_TRUE(s.ShouldPrune(0));
  EXPECT_TRUE(s.ShouldPrune(90));
  EXPECT_FALSE(s.ShouldPrune(95));
  EXPECT_TRUE(s.ShouldPrune(100));
  EXPECT_FALSE(s.ShouldPrune(110));  // masks fixed once the final sparsity is reached
  EXPECT_EQ(s.LastUpdateStep(), 100);
  // A per-layer target and an initial sparsity above it.
  s.initial_sparsity = 0.5;
  EXPECT_DOUBLE_EQ(s.SparsityAt(0, 0.9), 0.5);
  EXPECT_DOUBLE_EQ(s.SparsityAt(0, 0.3), 0.3);
  // begin > 0, power 1: linear.
  s.initial_sparsity = 0.2;
  s.begin_step = 20;
  s.end_step = 60;
  s.power = 1;
  EXPECT_FALSE(s.ShouldPrune(10));
  EXPECT_TRUE(s.ShouldPrune(20));
  EXPECT_TRUE(s.ShouldPrune(30));
  EXPECT_DOUBLE_EQ(s.SparsityAt(40), 0.5);
  EXPECT_DOUBLE_EQ(s.SparsityAt(10), 0.2);
}

TEST(Schedule, ConstantAndValidation) {
  Schedule s;
  s.kind = Schedule::Kind::kConstant;
  s.final_sparsity = 0.6;
  s.begin_step = 5;
  s.end_step = -1;
  s.frequency = 100;
  ASSERT_TRUE(s.Validate().ok());
  EXPECT_FALSE(s.ShouldPrune(0));
  EXPECT_TRUE(s.ShouldPrune(5));
  EXPECT_TRUE(s.ShouldPrune(100005));
  EXPECT_DOUBLE_EQ(s.SparsityAt(7), 0.6);
  Schedule bad = s;
  bad.final_sparsity = 1.0;
  EXPECT_FALSE(bad.Validate().ok());
  bad = s;
  bad.frequency = 0;
  EXPECT_FALSE(bad.Validate().ok());
  bad = s;
  bad.kind = Schedule::Kind::kPolynomial;  // needs an end step
  EXPECT_FALSE(bad.Validate().ok());
  EXPECT_FALSE(ParseScheduleKind("cubic").ok());
}

TEST(Mask, UnstructuredKeepsTheLargestMagnitudes) {
  const std::vector<float> w = {0.1f, -0.9f, 0.3f, -0.2f, 0.8f, 0.05f, -0.6f, 0.4f, 0.0f, 0.7f};
  Granularity g;
  std::vector<float> mask;
  ASSERT_TRUE(ComputeMask(w.data(), 2, 5, g, 0.6, &mask).ok());
  // k = round(10 * 0.4) = 4: 0.9, 0.8, 0.7, 0.6.
  const std::vector<float> expected = {0, 1, 0, 0, 1, 0, 1, 0, 0, 1};
  EXPECT_EQ(mask, expected);
  // At least one weight stays.
  ASSERT_TRUE(ComputeMask(w.data(), 2, 5, g, 0.99, &mask).ok());
  EXPECT_EQ(std::count(mask.begin(), mask.end(), 1.0f), 1);
}

TEST(Mask, BlocksPoolTheMeanMagnitude) {
  // 2 x 8, blocks 1x4: block means 0.25, 0.05 | 0.5, 0.15.
  const std::vector<float> w = {0.1f, -0.2f, 0.3f, 0.4f,  0.05f, 0.05f, -0.05f, 0.05f,
                                0.5f, -0.5f, 0.5f, -0.5f, 0.1f,  0.2f,  0.1f,   0.2f};
  Granularity g;
  ASSERT_TRUE([&] {
    auto p = ParseStructure("block:1x4");
    if (!p.ok()) return false;
    g = *p;
    return true;
  }());
  std::vector<float> mask;
  ASSERT_TRUE(ComputeMask(w.data(), 2, 8, g, 0.5, &mask).ok());
  const std::vector<float> expected = {1, 1, 1, 1, 0, 0, 0, 0, 1, 1, 1, 1, 0, 0, 0, 0};
  EXPECT_EQ(mask, expected);
  // 2x2 blocks with a partial block at the edge (3 x 3).
  auto g22 = ParseStructure("block:2x2");
  ASSERT_TRUE(g22.ok());
  const std::vector<float> w3 = {9, 9, 1, 9, 9, 1, 1, 1, 5};
  ASSERT_TRUE(ComputeMask(w3.data(), 3, 3, *g22, 0.75, &mask).ok());
  const std::vector<float> e3 = {1, 1, 0, 1, 1, 0, 0, 0, 0};
  EXPECT_EQ(mask, e3);
}

TEST(Mask, NofMAlongTheInputDimension) {
  auto g = ParseStructure("2:4");
  ASSERT_TRUE(g.ok());
  EXPECT_DOUBLE_EQ(g->ImpliedSparsity(), 0.5);
  const std::vector<float> w = {0.1f, -0.9f, 0.3f, -0.2f, 0.8f, 0.8f, -0.6f, 0.4f};
  std::vector<float> mask;
  ASSERT_TRUE(ComputeMask(w.data(), 1, 8, *g, 0.0, &mask).ok());
  const std::vector<float> expected = {0, 1, 1, 0, 1, 1, 0, 0};
  EXPECT_EQ(mask, expected);
  EXPECT_FALSE(ComputeMask(w.data(), 1, 6, *g, 0.0, &mask).ok());
  EXPECT_FALSE(ParseStructure("4:2").ok());
  EXPECT_FALSE(ParseStructure("block:1x1").ok());
  EXPECT_FALSE(ParseStructure("blocks").ok());
  EXPECT_EQ(ParseStructure("channel")->kind, Granularity::Kind::kChannel);
}

// A small training-form CNN with a residual ADD, BATCH_NORM, a depthwise conv, Flatten and two
// dense layers; random weights.
struct TestNet {
  ir::Graph g;
  int c1 = -1, w1 = -1, b1 = -1, gamma = -1, beta = -1, mean = -1, var = -1, wd = -1, bd = -1,
      c2 = -1, w2 = -1, b2 = -1, wf = -1, bf = -1, wo = -1;
};

TestNet MakeNet(uint64_t seed) {
  std::mt19937 rng(static_cast<uint32_t>(seed));
  std::uniform_real_distribution<float> u(-1.0f, 1.0f);
  auto rand = [&](int64_t n, float lo = -1.0f, float hi = 1.0f) {
    std::vector<float> v(static_cast<size_t>(n));
    for (float& x : v) x = lo + (hi - lo) * (u(rng) + 1.0f) / 2.0f;
    return v;
  };
  TestNet n;
  ir::Graph& g = n.g;
  auto weight = [&](const std::string& origin, std::vector<int32_t> shape, std::vector<float> v) {
    const int id = g.AddFloatConstant(origin, shape, v);
    g.tensors[id].origin = origin;
    return id;
  };
  const int x = g.AddActivation("x", DType::kFloat32, {1, 6, 6, 2});
  g.inputs = {x};
  n.w1 = weight("c1/kernel", {4, 3, 3, 2}, rand(72));
  n.b1 = weight("c1/bias", {4}, rand(4));
  const int y1 = g.AddActivation("c1", DType::kFloat32, {1, 6, 6, 4});
  ir::Node conv;
  conv.op = "CONV_2D";
  conv.name = "c1";
  conv.inputs = {x, n.w1, n.b1};
  conv.outputs = {y1};
  conv.attrs = {{"padding", std::string("SAME")},
                {"stride_h", int64_t{1}},
                {"stride_w", int64_t{1}},
                {"fused_activation_function", std::string("RELU")}};
  n.c1 = g.AddNode(conv);
  n.gamma = weight("bn/gamma", {4}, rand(4, 0.5f, 1.5f));
  n.beta = weight("bn/beta", {4}, rand(4));
  n.mean = weight("bn/moving_mean", {4}, rand(4));
  n.var = weight("bn/moving_variance", {4}, rand(4, 0.5f, 2.0f));
  const int y2 = g.AddActivation("bn", DType::kFloat32, {1, 6, 6, 4});
  ir::Node bn;
  bn.op = "BATCH_NORM";
  bn.name = "bn";
  bn.inputs = {y1, n.gamma, n.beta, n.mean, n.var};
  bn.outputs = {y2};
  bn.attrs = {{"epsilon", 1e-3}};
  g.AddNode(bn);
  n.wd = weight("dw/depthwise_kernel", {1, 3, 3, 4}, rand(36));
  n.bd = weight("dw/bias", {4}, rand(4));
  const int y3 = g.AddActivation("dw", DType::kFloat32, {1, 6, 6, 4});
  ir::Node dw;
  dw.op = "DEPTHWISE_CONV_2D";
  dw.name = "dw";
  dw.inputs = {y2, n.wd, n.bd};
  dw.outputs = {y3};
  dw.attrs = {{"padding", std::string("SAME")},
              {"stride_h", int64_t{1}},
              {"stride_w", int64_t{1}},
              {"depth_multiplier", int64_t{1}},
              {"fused_activation_function", std::string("NONE")}};
  g.AddNode(dw);
  n.w2 = weight("c2/kernel", {4, 1, 1, 4}, rand(16));
  n.b2 = weight("c2/bias", {4}, rand(4));
  const int y4 = g.AddActivation("c2", DType::kFloat32, {1, 6, 6, 4});
  conv.name = "c2";
  conv.inputs = {y3, n.w2, n.b2};
  conv.outputs = {y4};
  conv.attrs["fused_activation_function"] = std::string("NONE");
  n.c2 = g.AddNode(conv);
  const int y5 = g.AddActivation("add", DType::kFloat32, {1, 6, 6, 4});
  ir::Node add;
  add.op = "ADD";
  add.name = "add";
  add.inputs = {y4, y3};
  add.outputs = {y5};
  g.AddNode(add);
  const int y6 = g.AddActivation("pool", DType::kFloat32, {1, 3, 3, 4});
  ir::Node pool;
  pool.op = "MAX_POOL_2D";
  pool.name = "pool";
  pool.inputs = {y5};
  pool.outputs = {y6};
  pool.attrs = {{"padding", std::string("VALID")},
                {"stride_h", int64_t{2}},
                {"stride_w", int64_t{2}},
                {"filter_height", int64_t{2}},
                {"filter_width", int64_t{2}}};
  g.AddNode(pool);
  const int32_t shape_values[2] = {1, 36};
  const int shape = g.AddConstant("flatten/shape", DType::kInt32, {2}, shape_values, 8);
  const int y7 = g.AddActivation("flatten", DType::kFloat32, {1, 36});
  ir::Node reshape;
  reshape.op = "RESHAPE";
  reshape.name = "flatten";
  reshape.inputs = {y6, shape};
  reshape.outputs = {y7};
  g.AddNode(reshape);
  n.wf = weight("fc/kernel", {6, 36}, rand(216));
  n.bf = weight("fc/bias", {6}, rand(6));
  const int y8 = g.AddActivation("fc", DType::kFloat32, {1, 6});
  ir::Node fc;
  fc.op = "FULLY_CONNECTED";
  fc.name = "fc";
  fc.inputs = {y7, n.wf, n.bf};
  fc.outputs = {y8};
  fc.attrs = {{"fused_activation_function", std::string("RELU")}};
  g.AddNode(fc);
  n.wo = weight("out/kernel", {3, 6}, rand(18));
  const int bo = weight("out/bias", {3}, rand(3));
  const int y9 = g.AddActivation("out", DType::kFloat32, {1, 3});
  fc.name = "out";
  fc.inputs = {y8, n.wo, bo};
  fc.outputs = {y9};
  fc.attrs["fused_activation_function"] = std::string("NONE");
  g.AddNode(fc);
  g.outputs = {y9};
  return n;
}

std::vector<float> RunNet(const ir::Graph& g, const std::vector<float>& x) {
  train::EngineOptions eo;
  eo.batch_size = 1;
  auto engine = train::Engine::Create(g, eo);
  EXPECT_TRUE(engine.ok()) << engine.status().ToString();
  if (!engine.ok()) return {};
  EXPECT_TRUE((*engine)->Forward(x.data(), 1, false).ok());
  const float* out = (*engine)->Output();
  return std::vector<float>(out, out + (*engine)->output_sample_size());
}

void ZeroChannel(ir::Graph* g, int tensor, int axis, int channel) {
  ir::Tensor& t = g->tensors[tensor];
  int64_t outer = 1, inner = 1;
  for (int d = 0; d < axis; ++d) outer *= t.shape[d];
  for (size_t d = axis + 1; d < t.shape.size(); ++d) inner *= t.shape[d];
  float* v = t.DataAs<float>();
  for (int64_t o = 0; o < outer; ++o) {
    for (int64_t i = 0; i < inner; ++i) v[(o * t.shape[axis] + channel) * inner + i] = 0.0f;
  }
}

TEST(ChannelPrune, RemovesChannelsThroughBnDepthwiseResidualAndFlatten) {
  TestNet n = MakeNet(3);
  // Channels 1 and 3 carry nothing: zero filters and biases of both tied convolutions, BN
  // beta and mean, depthwise bias (the depthwise filter itself stays random).
  for (int c : {1, 3}) {
    ZeroChannel(&n.g, n.w1, 0, c);
    ZeroChannel(&n.g, n.b1, 0, c);
    ZeroChannel(&n.g, n.beta, 0, c);
    ZeroChannel(&n.g, n.mean, 0, c);
    ZeroChannel(&n.g, n.bd, 0, c);
    ZeroChannel(&n.g, n.w2, 0, c);
    ZeroChannel(&n.g, n.b2, 0, c);
  }
  std::vector<float> x(72);
  for (size_t i = 0; i < x.size(); ++i) x[i] = std::sin(0.7f * static_cast<float>(i));
  const std::vector<float> expected = RunNet(n.g, x);

  PlanOptions po;
  po.granularity.kind = Granularity::Kind::kChannel;
  po.sparsity = 0.5;
  po.layers = {"c1", "c2", "fc"};
  po.layer_sparsity = {{"fc", 0.0}};
  auto plan = PlanPruning(n.g, po);
  ASSERT_TRUE(plan.ok()) << plan.status().ToString();
  ir::Graph pruned = n.g;
  auto result = PruneChannels(&pruned, plan->weights, ChannelNorm::kL1);
  ASSERT_TRUE(result.ok()) << result.status().ToString();
  ASSERT_EQ(result->layers.size(), 3u);
  EXPECT_EQ(result->layers[0].channels_after, 2);  // c1 and c2 are tied by the ADD
  EXPECT_EQ(result->layers[1].channels_after, 2);
  EXPECT_EQ(result->layers[2].channels_after, 6);
  EXPECT_EQ(pruned.tensors[n.w1].shape, (std::vector<int32_t>{2, 3, 3, 2}));
  EXPECT_EQ(pruned.tensors[n.gamma].shape, (std::vector<int32_t>{2}));
  EXPECT_EQ(pruned.tensors[n.wd].shape, (std::vector<int32_t>{1, 3, 3, 2}));
  EXPECT_EQ(pruned.tensors[n.w2].shape, (std::vector<int32_t>{2, 1, 1, 2}));
  EXPECT_EQ(pruned.tensors[n.wf].shape, (std::vector<int32_t>{6, 18}));
  const std::vector<float> got = RunNet(pruned, x);
  ASSERT_EQ(got.size(), expected.size());
  for (size_t i = 0; i < got.size(); ++i) EXPECT_FLOAT_EQ(got[i], expected[i]) << i;
}

TEST(ChannelPrune, LayerSparsityAndFrozenOutputs) {
  TestNet n = MakeNet(5);
  PlanOptions po;
  po.granularity.kind = Granularity::Kind::kChannel;
  po.sparsity = 0.5;
  po.layers = {"fc", "out"};
  auto plan = PlanPruning(n.g, po);
  ASSERT_TRUE(plan.ok());
  auto result = PruneChannels(&n.g, plan->weights, ChannelNorm::kL2);
  ASSERT_TRUE(result.ok()) << result.status().ToString();
  EXPECT_EQ(result->layers[0].channels_after, 3);
  EXPECT_EQ(result->layers[1].channels_after, 3);  // a graph output: frozen
  EXPECT_EQ(result->layers[1].frozen, 3);
  EXPECT_EQ(n.g.tensors[n.wo].shape, (std::vector<int32_t>{3, 3}));
  // The default plan: first conv and last dense are left out.
  PlanOptions d;
  d.sparsity = 0.5;
  auto dp = PlanPruning(MakeNet(1).g, d);
  ASSERT_TRUE(dp.ok());
  std::vector<std::string> layers;
  for (const auto& w : dp->weights) layers.push_back(w.layer);
  EXPECT_EQ(layers, (std::vector<std::string>{"dw", "c2", "fc"}));
  // Channel pruning: the first convolution's filters go too; depthwise filters follow.
  d.granularity.kind = Granularity::Kind::kChannel;
  dp = PlanPruning(MakeNet(1).g, d);
  ASSERT_TRUE(dp.ok());
  layers.clear();
  for (const auto& w : dp->weights) layers.push_back(w.layer);
  EXPECT_EQ(layers, (std::vector<std::string>{"c1", "c2", "fc"}));
  d.layers = {"nope"};
  EXPECT_EQ(PlanPruning(MakeNet(1).g, d).status().code(), StatusCode::kNotFound);
}

// A layer whose weights keep their shape (frozen, or listed as fixed: an EinsumDense's) keeps
// the channels it reads: "fc" feeds "out"; with "out" frozen or fixed, fc keeps all its units.
TEST(ChannelPrune, ReadersWhoseWeightsKeepTheirShapeKeepTheirInputChannels) {
  for (int variant = 0; variant < 3; ++variant) {
    SCOPED_TRACE(variant);
    TestNet n = MakeNet(5);
    PlanOptions po;
    po.granularity.kind = Granularity::Kind::kChannel;
    po.sparsity = 0.5;
    po.layers = {"fc"};
    std::set<int> fixed;
    if (variant == 1) n.g.tensors[n.wo].frozen = true;
    if (variant == 2) fixed.insert(n.wo);
    auto plan = PlanPruning(n.g, po);
    ASSERT_TRUE(plan.ok());
    auto result = PruneChannels(&n.g, plan->weights, ChannelNorm::kL1, fixed);
    ASSERT_TRUE(result.ok()) << result.status().ToString();
    ASSERT_EQ(result->layers.size(), 1u);
    const int units = n.g.tensors[n.wf].shape[0];
    if (variant == 0) {
      EXPECT_LT(result->layers[0].channels_after, result->layers[0].channels_before);
    } else {
      EXPECT_EQ(result->layers[0].channels_after, result->layers[0].channels_before);
      EXPECT_NE(result->layers[0].why_frozen.find("whose weights keep their shape"),
                std::string::npos)
          << result->layers[0].why_frozen;
    }
    EXPECT_EQ(n.g.tensors[n.wo].shape[1], units);
  }
}

// A convolution read by a TRANSPOSE_CONV (input 2; inputs 0 and 1 are the output shape and the
// weights): its pruned channels go from the transposed convolution's weights too ([F, kh, kw, C],
// axis 3), and the outputs stay those of the original with those channels zeroed. Channels read
// by an op through an input other than its first (BATCH_MATMUL's second) are kept.
TEST(ChannelPrune, ThroughTransposeConvAndKeptForOtherInputs) {
  std::mt19937 rng(11);
  std::uniform_real_distribution<float> u(-1.0f, 1.0f);
  auto rand = [&](int64_t n) {
    std::vector<float> v(static_cast<size_t>(n));
    for (float& x : v) x = u(rng);
    return v;
  };
  ir::Graph g;
  auto weight = [&](const std::string& origin, std::vector<int32_t> shape, std::vector<float> v) {
    const int id = g.AddFloatConstant(origin, shape, v);
    g.tensors[id].origin = origin;
    return id;
  };
  const int x = g.AddActivation("x", DType::kFloat32, {1, 4, 4, 2});
  g.inputs = {x};
  const int w1 = weight("c1/kernel", {4, 3, 3, 2}, rand(72));
  const int b1 = weight("c1/bias", {4}, rand(4));
  const int y1 = g.AddActivation("c1", DType::kFloat32, {1, 4, 4, 4});
  ir::Node conv;
  conv.op = "CONV_2D";
  conv.name = "c1";
  conv.inputs = {x, w1, b1};
  conv.outputs = {y1};
  conv.attrs = {{"padding", std::string("SAME")},
                {"stride_h", int64_t{1}},
                {"stride_w", int64_t{1}},
                {"fused_activation_function", std::string("RELU")}};
  g.AddNode(conv);
  const int32_t out_shape[4] = {1, 8, 8, 3};
  const int shape = g.AddConstant("t/output_shape", DType::kInt32, {4}, out_shape, 16);
  const int wt = weight("t/kernel", {3, 2, 2, 4}, rand(48));
  const int y2 = g.AddActivation("t", DType::kFloat32, {1, 8, 8, 3});
  ir::Node tconv;
  tconv.op = "TRANSPOSE_CONV";
  tconv.name = "t";
  tconv.inputs = {shape, wt, y1};
  tconv.outputs = {y2};
  tconv.attrs = {
      {"padding", std::string("SAME")}, {"stride_h", int64_t{2}}, {"stride_w", int64_t{2}}};
  g.AddNode(tconv);
  g.outputs = {y2};
  for (int c : {0, 2}) {
    ZeroChannel(&g, w1, 0, c);
    ZeroChannel(&g, b1, 0, c);
  }
  std::vector<float> in(32);
  for (size_t i = 0; i < in.size(); ++i) in[i] = std::cos(0.3f * static_cast<float>(i));
  const std::vector<float> expected = RunNet(g, in);

  PlanOptions po;
  po.granularity.kind = Granularity::Kind::kChannel;
  po.sparsity = 0.5;
  po.layers = {"c1"};
  auto plan = PlanPruning(g, po);
  ASSERT_TRUE(plan.ok()) << plan.status().ToString();
  ir::Graph pruned = g;
  auto result = PruneChannels(&pruned, plan->weights, ChannelNorm::kL1);
  ASSERT_TRUE(result.ok()) << result.status().ToString();
  ASSERT_EQ(result->layers.size(), 1u);
  EXPECT_EQ(result->layers[0].channels_after, 2);
  EXPECT_EQ(pruned.tensors[w1].shape, (std::vector<int32_t>{2, 3, 3, 2}));
  EXPECT_EQ(pruned.tensors[wt].shape, (std::vector<int32_t>{3, 2, 2, 2}));
  const std::vector<float> got = RunNet(pruned, in);
  ASSERT_EQ(got.size(), expected.size());
  for (size_t i = 0; i < got.size(); ++i) EXPECT_FLOAT_EQ(got[i], expected[i]) << i;

  // The same convolution as BATCH_MATMUL's second input: kept whole.
  ir::Graph other = g;
  other.nodes.pop_back();
  const int q = other.AddActivation("q", DType::kFloat32, {1, 4, 4, 4});
  const int y3 = other.AddActivation("bmm", DType::kFloat32, {1, 4, 4, 4});
  ir::Node bmm;
  bmm.op = "BATCH_MATMUL";
  bmm.name = "bmm";
  bmm.inputs = {q, y1};
  bmm.outputs = {y3};
  bmm.attrs = {{"adj_x", false}, {"adj_y", false}};
  other.AddNode(bmm);
  other.inputs = {x, q};
  other.outputs = {y3};
  auto plan2 = PlanPruning(other, po);
  ASSERT_TRUE(plan2.ok()) << plan2.status().ToString();
  auto kept = PruneChannels(&other, plan2->weights, ChannelNorm::kL1);
  ASSERT_TRUE(kept.ok()) << kept.status().ToString();
  EXPECT_EQ(kept->layers[0].channels_after, 4);
  EXPECT_EQ(other.tensors[w1].shape, (std::vector<int32_t>{4, 3, 3, 2}));
}

TEST(MagnitudePruner, OneShotReachesTheTargetPerLayer) {
  TestNet n = MakeNet(9);
  PlanOptions po;
  po.sparsity = 0.75;
  po.layers = {"c1", "fc"};
  po.layer_sparsity = {{"c1", 0.5}};
  auto plan = PlanPruning(n.g, po);
  ASSERT_TRUE(plan.ok());
  ASSERT_TRUE(PruneGraphOnce(&n.g, plan->weights, Granularity()).ok());
  EXPECT_NEAR(ZeroFraction(n.g.tensors[n.w1].DataAs<float>(), 72), 0.5, 1e-9);
  EXPECT_NEAR(ZeroFraction(n.g.tensors[n.wf].DataAs<float>(), 216), 0.75, 1e-9);
  EXPECT_EQ(ZeroFraction(n.g.tensors[n.w2].DataAs<float>(), 16), 0.0);
}

ir::Tensor RandomSparse(const std::vector<int32_t>& shape, DType type, double density,
                        uint32_t seed) {
  ir::Tensor t;
  t.name = "w";
  t.dtype = type;
  t.shape = shape;
  t.is_constant = true;
  const int64_t n = t.NumElements();
  t.data.assign(static_cast<size_t>(n) * DTypeSize(type), 0);
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> u(0.0f, 1.0f);
  for (int64_t i = 0; i < n; ++i) {
    if (u(rng) >= density) continue;
    if (type == DType::kFloat32) {
      t.DataAs<float>()[i] = u(rng) - 0.5f + 1e-3f;
    } else {
      t.DataAs<int8_t>()[i] = static_cast<int8_t>(1 + static_cast<int>(u(rng) * 120));
    }
  }
  return t;
}

TEST(SparseEncode, EveryLayoutRoundTrips) {
  for (DType type : {DType::kFloat32, DType::kInt8}) {
    const ir::Tensor dense = RandomSparse({6, 32}, type, 0.3, 11);
    struct Layout {
      std::vector<int32_t> order, block_map, block_sizes;
      std::vector<bool> formats;
    };
    for (const Layout& l :
         {Layout{{0, 1}, {}, {}, {false, true}}, Layout{{1, 0}, {}, {}, {false, true}},
          Layout{{0, 1}, {}, {}, {true, true}}, Layout{{0, 1, 2}, {1}, {4}, {false, true, false}},
          Layout{{0, 1, 2}, {1}, {16}, {false, true, false}},
          Layout{{0, 1, 2, 3}, {0, 1}, {2, 4}, {false, true, false, false}}}) {
      ir::Tensor t = dense;
      ASSERT_TRUE(
          EncodeTensor(&t, dense.data, l.order, l.block_map, l.block_sizes, l.formats).ok());
      EXPECT_TRUE(t.has_sparsity);
      auto back = DecodeSparseTensor(t);
      ASSERT_TRUE(back.ok()) << back.status().ToString();
      EXPECT_EQ(*back, dense.data);
    }
  }
  // Malformed metadata is refused.
  ir::Tensor t = RandomSparse({4, 8}, DType::kFloat32, 0.5, 2);
  const std::vector<uint8_t> d = t.data;
  ASSERT_TRUE(EncodeTensor(&t, d, {0, 1}, {}, {}, {false, true}).ok());
  ir::Tensor bad = t;
  bad.sparsity.dim_metadata[1].indices[0] = 99;
  EXPECT_FALSE(DecodeSparseTensor(bad).ok());
  bad = t;
  bad.sparsity.dim_metadata[1].segments.pop_back();
  EXPECT_FALSE(DecodeSparseTensor(bad).ok());
  bad = t;
  bad.data.resize(bad.data.size() - 4);
  EXPECT_FALSE(DecodeSparseTensor(bad).ok());
}

TEST(SparseEncode, ChoosesTfliteLayoutsAndInsertsDensify) {
  ir::Graph g;
  const int x = g.AddActivation("x", DType::kFloat32, {1, 4, 4, 8});
  g.inputs = {x};
  ir::Tensor wc = RandomSparse({16, 1, 1, 8}, DType::kFloat32, 0.2, 4);
  wc.name = "conv/w";
  const int wconv = g.AddTensor(wc);
  const int y = g.AddActivation("conv", DType::kFloat32, {1, 4, 4, 16});
  ir::Node conv;
  conv.op = "CONV_2D";
  conv.inputs = {x, wconv};
  conv.outputs = {y};
  conv.attrs = {
      {"padding", std::string("VALID")}, {"stride_h", int64_t{1}}, {"stride_w", int64_t{1}}};
  g.AddNode(conv);
  // FC weights in 1x4 blocks.
  ir::Tensor wf = RandomSparse({8, 256}, DType::kFloat32, 1.0, 5);
  for (int r = 0; r < 8; ++r) {
    for (int b = 0; b < 64; ++b) {
      if ((r + b) % 5 != 0) std::fill_n(wf.DataAs<float>() + r * 256 + b * 4, 4, 0.0f);
    }
  }
  wf.name = "fc/w";
  const int wfc = g.AddTensor(wf);
  const int z = g.AddActivation("fc", DType::kFloat32, {1, 8});
  ir::Node fc;
  fc.op = "FULLY_CONNECTED";
  fc.inputs = {y, wfc};
  fc.outputs = {z};
  g.AddNode(fc);
  g.outputs = {z};
  auto encoded = EncodeSparseWeights(&g);
  ASSERT_TRUE(encoded.ok()) << encoded.status().ToString();
  ASSERT_EQ(encoded->size(), 2u);
  EXPECT_TRUE((*encoded)[0].densify);
  EXPECT_EQ((*encoded)[1].layout, "block 1x4");
  EXPECT_FALSE((*encoded)[1].densify);
  ASSERT_EQ(g.nodes.size(), 3u);
  EXPECT_EQ(g.nodes[0].op, "DENSIFY");
  EXPECT_EQ(g.nodes[0].outputs[0], wconv);
  EXPECT_FALSE(g.tensors[wconv].is_constant);
  EXPECT_TRUE(g.tensors[g.nodes[0].inputs[0]].has_sparsity);
  auto fc_back = DecodeSparseTensor(g.tensors[wfc]);
  ASSERT_TRUE(fc_back.ok());
  EXPECT_EQ(*fc_back, wf.data);
  auto conv_back = DecodeSparseTensor(g.tensors[g.nodes[0].inputs[0]]);
  ASSERT_TRUE(conv_back.ok());
  EXPECT_EQ(*conv_back, wc.data);
}

// int8 FULLY_CONNECTED weights (a quantized pruned model): DENSIFY, in 1x16 blocks when the
// zeros come in such blocks; the directly-read 1x16 layout only with int8_fc_blocks.
TEST(SparseEncode, Int8FullyConnectedUsesDensifyUnlessAskedForBlocks) {
  auto make = [](ir::Graph* g, int* w) {
    const int x = g->AddActivation("x", DType::kInt8, {1, 256});
    g->inputs = {x};
    ir::Tensor wt = RandomSparse({8, 256}, DType::kInt8, 1.0, 6);
    for (int r = 0; r < 8; ++r) {
      for (int b = 0; b < 16; ++b) {
        if ((r + b) % 5 != 0) std::fill_n(wt.DataAs<int8_t>() + r * 256 + b * 16, 16, 0);
      }
    }
    wt.name = "fc/w";
    wt.quant.scale = {0.01f};
    wt.quant.zero_point = {0};
    *w = g->AddTensor(wt);
    const int z = g->AddActivation("fc", DType::kInt8, {1, 8});
    ir::Node fc;
    fc.op = "FULLY_CONNECTED";
    fc.inputs = {x, *w};
    fc.outputs = {z};
    g->AddNode(fc);
    g->outputs = {z};
  };
  ir::Graph g;
  int w = -1;
  make(&g, &w);
  const std::vector<uint8_t> dense = g.tensors[w].data;
  auto encoded = EncodeSparseWeights(&g);
  ASSERT_TRUE(encoded.ok()) << encoded.status().ToString();
  ASSERT_EQ(encoded->size(), 1u);
  EXPECT_TRUE((*encoded)[0].densify);
  EXPECT_EQ((*encoded)[0].layout, "densify block 1x16");
  ASSERT_EQ(g.nodes.size(), 2u);
  EXPECT_EQ(g.nodes[0].op, "DENSIFY");
  auto back = DecodeSparseTensor(g.tensors[g.nodes[0].inputs[0]]);
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(*back, dense);
  EXPECT_LT((*encoded)[0].sparse_bytes, static_cast<int64_t>(dense.size()) / 3);

  ir::Graph g2;
  make(&g2, &w);
  SparseEncodeOptions o;
  o.int8_fc_blocks = true;
  encoded = EncodeSparseWeights(&g2, o);
  ASSERT_TRUE(encoded.ok()) << encoded.status().ToString();
  ASSERT_EQ(encoded->size(), 1u);
  EXPECT_FALSE((*encoded)[0].densify);
  EXPECT_EQ((*encoded)[0].layout, "block 1x16");
  EXPECT_EQ(g2.nodes.size(), 1u);
}

// `compare` and `inspect` count parameters from ComputeModelStats: a pruned model has all its
// weights, dense or sparse-encoded, but only its nonzero ones matter.
TEST(SparseEncode, ModelStatsCountNonzeroParametersDenseOrSparse) {
  auto make = [](ir::Graph* g) {
    const int x = g->AddActivation("x", DType::kFloat32, {1, 256});
    g->inputs = {x};
    ir::Tensor w = RandomSparse({8, 256}, DType::kFloat32, 1.0, 9);
    for (int r = 0; r < 8; ++r) {
      for (int b = 0; b < 64; ++b) {
        if ((r + b) % 5 != 0) std::fill_n(w.DataAs<float>() + r * 256 + b * 4, 4, 0.0f);
      }
    }
    w.name = "fc/w";
    const int wt = g->AddTensor(w);
    const int bias = g->AddFloatConstant("fc/b", {8}, {0, 1, 0, 2, 0, 3, 0, 4});
    const int z = g->AddActivation("fc", DType::kFloat32, {1, 8});
    ir::Node fc;
    fc.op = "FULLY_CONNECTED";
    fc.inputs = {x, wt, bias};
    fc.outputs = {z};
    g->AddNode(fc);
    g->outputs = {z};
  };
  int64_t want_nonzero = 4;  // the bias
  {
    ir::Graph g;
    make(&g);
    const ir::Tensor& w = g.tensors[g.nodes[0].inputs[1]];
    for (int64_t i = 0; i < w.NumElements(); ++i) want_nonzero += w.DataAs<float>()[i] != 0.0f;
  }
  ASSERT_LT(want_nonzero, 8 * 256 / 4);
  for (bool sparse : {false, true}) {
    SCOPED_TRACE(sparse ? "sparse" : "dense");
    ir::Graph g;
    make(&g);
    if (sparse) {
      ASSERT_TRUE(EncodeSparseWeights(&g).ok());
    }
    auto bytes = ExportTflite(g);
    ASSERT_TRUE(bytes.ok()) << bytes.status().ToString();
    auto interp = rt::Interpreter::Create(bytes->data(), bytes->size(), rt::InterpreterOptions());
    ASSERT_TRUE(interp.ok()) << interp.status().ToString();
    const rt::ModelStats stats = rt::ComputeModelStats(interp->get());
    EXPECT_EQ(stats.parameters, 8 * 256 + 8);
    EXPECT_EQ(stats.nonzero_parameters, want_nonzero);
  }
}

}  // namespace
}  // namespace prune
}  // namespace edgeopt
