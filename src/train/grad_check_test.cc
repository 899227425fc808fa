// Gradient checks: every op's backward against central finite differences of the forward pass
// (float32 forward, the loss L = sum(r * y) accumulated in double, step 1e-2 on inputs chosen
// away from kinks and ties).
#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <string>
#include <vector>

#include "src/train/engine.h"

namespace edgeopt {
namespace train {
namespace {

constexpr double kStep = 1e-2;
constexpr double kRelTol = 2e-2;
constexpr double kAbsTol = 2e-3;
constexpr int kMaxChecksPerTensor = 24;

// A small graph under construction: input 0 is the batch input.
class Builder {
 public:
  explicit Builder(std::vector<int32_t> input_shape) {
    input_ = g_.AddActivation("x", DType::kFloat32, input_shape);
    g_.inputs = {input_};
  }
  int input() const { return input_; }
  // A trainable weight with uniform values in [lo, hi).
  int Param(const std::string& name, const std::vector<int32_t>& shape, float lo = -1.0f,
            float hi = 1.0f) {
    int64_t n = 1;
    for (int32_t d : shape) n *= d;
    std::uniform_real_distribution<float> dist(lo, hi);
    std::vector<float> v(n);
    for (float& x : v) x = dist(rng_);
    const int id = g_.AddFloatConstant(name, shape, v);
    g_.tensors[id].origin = name;
    return id;
  }
  void MakeParam(int id) { g_.tensors[id].origin = g_.tensors[id].name; }
  int FloatConst(const std::string& name, const std::vector<int32_t>& shape,
                 const std::vector<float>& v) {
    return g_.AddFloatConstant(name, shape, v);
  }
  int IntConst(const std::vector<int32_t>& shape, const std::vector<int32_t>& v) {
    return g_.AddConstant("c" + std::to_string(g_.tensors.size()), DType::kInt32, shape, v.data(),
                          v.size() * 4);
  }
  int Op(const std::string& op, std::vector<int> inputs, std::vector<int32_t> out_shape,
         ir::Attrs attrs = {}) {
    const int y =
        g_.AddActivation(op + std::to_string(g_.nodes.size()), DType::kFloat32, out_shape);
    ir::Node n;
    n.op = op;
    n.name = op;
    n.inputs = std::move(inputs);
    n.outputs = {y};
    n.attrs = std::move(attrs);
    g_.AddNode(n);
    return y;
  }
  ir::Graph Finish(int output) {
    g_.outputs = {output};
    return g_;
  }

 private:
  ir::Graph g_;
  int input_;
  std::mt19937 rng_{1234};
};

enum class InputKind {
  kUniform,        // U(-1, 1)
  kAwayFromKinks,  // |x| in [0.1, 1] (ReLU-like ops)
  kDistinct,       // a permutation of values spaced 0.05 apart (max pooling, no
                   // ties)
  kPositive,       // U(0.5, 1.5)
  kIds,            // k + 0.5 for k in [0, 5) (Embedding ids: a small step stays on one row)
};

std::vector<float> MakeInput(int64_t n, InputKind kind, std::mt19937* rng) {
  std::vector<float> x(n);
  std::uniform_real_distribution<float> u(-1.0f, 1.0f);
  switch (kind) {
    case InputKind::kUniform:
      for (float& v : x) v = u(*rng);
      break;
    case InputKind::kAwayFromKinks:
      for (float& v : x) {
        const float a = 0.1f + 0.9f * std::fabs(u(*rng));
        v = u(*rng) < 0 ? -a : a;
      }
      break;
    case InputKind::kDistinct: {
      for (int64_t i = 0; i < n; ++i) x[i] = 0.05f * static_cast<float>(i - n / 2);
      std::shuffle(x.begin(), x.end(), *rng);
      break;
    }
    case InputKind::kIds:
      for (float& v : x) v = static_cast<float>((*rng)() % 5) + 0.5f;
      break;
    case InputKind::kPositive:
      for (float& v : x) v = 0.5f + 0.5f * (u(*rng) + 1.0f);
      break;
  }
  return x;
}

// Checks d(sum r*y)/d(input and every parameter) against finite differences. `kink` is a
// threshold for ops with kinks in their parameters: parameter perturbations that move an
// activation across a kink are tolerated by the slack of kAbsTol.
// The graph's output for input x (batch samples).
std::vector<float> RunForward(const ir::Graph& graph, const std::vector<float>& x, int batch,
                              bool training = false) {
  EngineOptions options;
  options.batch_size = batch;
  auto created = Engine::Create(graph, options);
  EXPECT_TRUE(created.ok()) << created.status().ToString();
  if (!created.ok()) return {};
  Engine& e = **created;
  EXPECT_TRUE(e.Forward(x.data(), batch, training).ok());
  return std::vector<float>(e.Output(), e.Output() + e.value(e.output_tensor()).size);
}

void CheckGradients(const ir::Graph& graph, int batch, InputKind input_kind, bool training = true,
                    int threads = 1) {
  EngineOptions options;
  options.batch_size = batch;
  options.num_threads = threads;
  options.input_requires_grad = true;
  auto created = Engine::Create(graph, options);
  ASSERT_TRUE(created.ok()) << created.status().ToString();
  Engine& e = **created;
  std::mt19937 rng(99);
  std::vector<float> x = MakeInput(batch * e.input_sample_size(), input_kind, &rng);
  ASSERT_TRUE(e.Forward(x.data(), batch, training).ok());
  const int64_t out_n = e.value(e.output_tensor()).size;
  std::uniform_real_distribution<float> u(-1.0f, 1.0f);
  std::vector<float> r(out_n);
  for (float& v : r) v = u(rng);
  auto loss = [&]() {
    e.set_step(7);
    EXPECT_TRUE(e.Forward(x.data(), batch, training).ok());
    const float* y = e.Output();
    double l = 0.0;
    for (int64_t i = 0; i < out_n; ++i) l += static_cast<double>(r[i]) * y[i];
    return l;
  };
  loss();
  std::copy(r.begin(), r.end(), e.LossGrad());
  e.Backward();

  auto check = [&](const std::string& what, float* values, const float* grad, int64_t n) {
    ASSERT_NE(grad, nullptr) << what << " has no gradient";
    std::vector<float> analytic(grad, grad + n);
    const int64_t stride = std::max<int64_t>(1, n / kMaxChecksPerTensor);
    double max_abs = 0.0;
    for (int64_t i = 0; i < n; ++i) max_abs = std::max(max_abs, std::fabs(double(analytic[i])));
    int checked = 0, skipped = 0;
    for (int64_t i = 0; i < n; i += stride) {
      const float saved = values[i];
      auto numeric_at = [&](double h) {
        values[i] = static_cast<float>(saved + h);
        const double lp = loss();
        values[i] = static_cast<float>(saved - h);
        const double lm = loss();
        values[i] = saved;
        return (lp - lm) / (2.0 * h);
      };
      const double numeric = numeric_at(kStep);
      const double tol = kAbsTol + kRelTol * std::max(std::fabs(numeric), 0.1 * max_abs);
      ++checked;
      // A kink (ReLU, max) within the step makes the two differences disagree: the function is
      // not differentiable enough there to compare; skip, but only rarely.
      if (std::fabs(numeric_at(kStep / 4) - numeric) > tol) {
        ++skipped;
        continue;
      }
      EXPECT_NEAR(analytic[i], numeric, tol) << what << "[" << i << "] of " << n;
    }
    EXPECT_LE(skipped * 4, checked) << what << ": too many non-smooth points";
  };
  check("input", x.data(), e.InputGrad(), static_cast<int64_t>(x.size()));
  for (const Parameter& p : e.parameters()) {
    if (!p.has_grad) continue;
    std::vector<float> g(p.grad(), p.grad() + p.size);
    check(p.name, p.data(), g.data(), p.size);
  }
}

ir::Attrs ConvAttrs(const std::string& padding, int sh, int sw, int dh = 1, int dw = 1,
                    const std::string& act = "NONE") {
  return {{"padding", padding},
          {"stride_h", int64_t{sh}},
          {"stride_w", int64_t{sw}},
          {"dilation_h_factor", int64_t{dh}},
          {"dilation_w_factor", int64_t{dw}},
          {"fused_activation_function", act}};
}

TEST(GradCheckTest, FullyConnected) {
  for (const char* act : {"NONE", "RELU", "TANH", "RELU6"}) {
    Builder b({1, 7});
    const int w = b.Param("fc/kernel", {5, 7});
    const int bias = b.Param("fc/bias", {5});
    const int y = b.Op("FULLY_CONNECTED", {b.input(), w, bias}, {1, 5},
                       {{"fused_activation_function", std::string(act)}});
    SCOPED_TRACE(act);
    CheckGradients(b.Finish(y), 3, InputKind::kUniform);
  }
}

TEST(GradCheckTest, Conv2DValidSameStridedDilated) {
  struct Case {
    const char* padding;
    int sh, sw, dh, dw, kh, kw;
    const char* act;
  } cases[] = {{"VALID", 1, 1, 1, 1, 3, 3, "NONE"},
               {"SAME", 2, 2, 1, 1, 3, 3, "RELU"},
               {"SAME", 1, 2, 2, 1, 3, 2, "NONE"},
               {"VALID", 1, 1, 1, 1, 1, 1, "NONE"}};
  for (const Case& c : cases) {
    Builder b({1, 6, 5, 3});
    const int w = b.Param("conv/kernel", {4, c.kh, c.kw, 3});
    const int bias = b.Param("conv/bias", {4});
    const int y = b.Op("CONV_2D", {b.input(), w, bias}, {1, 6, 5, 4},
                       ConvAttrs(c.padding, c.sh, c.sw, c.dh, c.dw, c.act));
    SCOPED_TRACE(std::string(c.padding) + " k" + std::to_string(c.kh) + "x" + std::to_string(c.kw) +
                 " s" + std::to_string(c.sh));
    CheckGradients(b.Finish(y), 2, InputKind::kUniform);
  }
}

TEST(GradCheckTest, Conv1DAsConv2DWithHeightOne) {
  Builder b({1, 1, 9, 2});
  const int w = b.Param("conv1d/kernel", {3, 1, 3, 2});
  const int bias = b.Param("conv1d/bias", {3});
  const int y = b.Op("CONV_2D", {b.input(), w, bias}, {1, 1, 9, 3}, ConvAttrs("SAME", 1, 1));
  CheckGradients(b.Finish(y), 2, InputKind::kUniform);
}

TEST(GradCheckTest, ConvWithManyImagesUsesSeveralChunksAndThreads) {
  Builder b({1, 12, 12, 2});
  const int w = b.Param("conv/kernel", {5, 3, 3, 2});
  const int bias = b.Param("conv/bias", {5});
  const int y = b.Op("CONV_2D", {b.input(), w, bias}, {1, 10, 10, 5}, ConvAttrs("VALID", 1, 1));
  const ir::Graph g = b.Finish(y);
  CheckGradients(g, 40, InputKind::kUniform, true, /*threads=*/1);
  CheckGradients(g, 40, InputKind::kUniform, true, /*threads=*/2);
}

// A 3x3 convolution with fewer im2col columns (K = 9) than filters takes the transposed
// weight-gradient path (dW^T = col^T dY), as the first layer of fmnist-cnn does.
TEST(GradCheckTest, ConvWithFewerColumnsThanFiltersTransposedWeightGradient) {
  Builder b({1, 8, 8, 1});
  const int w = b.Param("conv/kernel", {16, 3, 3, 1});
  const int bias = b.Param("conv/bias", {16});
  const int y = b.Op("CONV_2D", {b.input(), w, bias}, {1, 6, 6, 16}, ConvAttrs("VALID", 1, 1));
  const ir::Graph g = b.Finish(y);
  CheckGradients(g, 3, InputKind::kUniform, true, /*threads=*/1);
  CheckGradients(g, 3, InputKind::kUniform, true, /*threads=*/2);
}

TEST(GradCheckTest, DepthwiseConv2D) {
  for (int mult : {1, 2}) {
    Builder b({1, 5, 6, 3});
    const int w = b.Param("dw/depthwise_kernel", {1, 3, 3, 3 * mult});
    const int bias = b.Param("dw/bias", {3 * mult});
    ir::Attrs attrs = ConvAttrs(mult == 1 ? "SAME" : "VALID", 1, mult);
    attrs["depth_multiplier"] = int64_t{mult};
    const int y = b.Op("DEPTHWISE_CONV_2D", {b.input(), w, bias}, {1, 5, 6, 3 * mult}, attrs);
    SCOPED_TRACE(mult);
    CheckGradients(b.Finish(y), 2, InputKind::kUniform);
  }
}

TEST(GradCheckTest, BatchNormTrainingUsesBatchStatistics) {
  Builder b({1, 3, 3, 4});
  const int gamma = b.Param("bn/gamma", {4}, 0.5f, 1.5f);
  const int beta = b.Param("bn/beta", {4});
  const int mean = b.FloatConst("bn/moving_mean", {4}, {0, 0, 0, 0});
  const int var = b.FloatConst("bn/moving_variance", {4}, {1, 1, 1, 1});
  const int y = b.Op("BATCH_NORM", {b.input(), gamma, beta, mean, var}, {1, 3, 3, 4},
                     {{"epsilon", 1e-3}, {"momentum", 0.99}});
  // A non-linear head so the loss is not invariant to the normalization.
  const int z = b.Op("TANH", {y}, {1, 3, 3, 4});
  CheckGradients(b.Finish(z), 3, InputKind::kUniform);
}

TEST(GradCheckTest, BatchNormInference) {
  Builder b({1, 4});
  const int gamma = b.Param("bn/gamma", {4}, 0.5f, 1.5f);
  const int beta = b.Param("bn/beta", {4});
  const int mean = b.FloatConst("bn/moving_mean", {4}, {0.1f, -0.2f, 0.3f, 0});
  const int var = b.FloatConst("bn/moving_variance", {4}, {1, 2, 0.5f, 1});
  const int y =
      b.Op("BATCH_NORM", {b.input(), gamma, beta, mean, var}, {1, 4}, {{"epsilon", 1e-3}});
  CheckGradients(b.Finish(y), 3, InputKind::kUniform, /*training=*/false);
}

// A frozen BatchNormalization (Keras trainable=False) in training: the moving statistics, as in
// inference; the gradient reaches the input only (gamma and beta are frozen too).
TEST(GradCheckTest, FrozenBatchNormInTraining) {
  Builder b({1, 3, 4});
  const int gamma = b.FloatConst("bn/gamma", {4}, {0.5f, 1.5f, 1.0f, 0.8f});
  const int beta = b.FloatConst("bn/beta", {4}, {0.1f, 0, -0.3f, 0.2f});
  const int mean = b.FloatConst("bn/moving_mean", {4}, {0.1f, -0.2f, 0.3f, 0});
  const int var = b.FloatConst("bn/moving_variance", {4}, {1, 2, 0.5f, 1});
  const int y = b.Op("BATCH_NORM", {b.input(), gamma, beta, mean, var}, {1, 3, 4},
                     {{"epsilon", 1e-3}, {"momentum", 0.9}});
  const int z = b.Op("TANH", {y}, {1, 3, 4});
  ir::Graph g = b.Finish(z);
  for (int t : {gamma, beta, mean, var}) g.tensors[t].frozen = true;
  // Golden: tanh(gamma * (x - mean) / sqrt(var + eps) + beta), in training mode.
  const std::vector<float> x = {0.5f,  -1.0f, 2.0f,  0.0f,  1.0f, 0.25f,
                                -0.5f, 3.0f,  -2.0f, 0.75f, 0.1f, -0.4f};
  const std::vector<float> out = RunForward(g, x, 1, /*training=*/true);
  const float gm[4] = {0.5f, 1.5f, 1.0f, 0.8f}, bt[4] = {0.1f, 0, -0.3f, 0.2f};
  const float mn[4] = {0.1f, -0.2f, 0.3f, 0}, vr[4] = {1, 2, 0.5f, 1};
  ASSERT_EQ(out.size(), x.size());
  for (size_t i = 0; i < x.size(); ++i) {
    const int c = static_cast<int>(i % 4);
    EXPECT_NEAR(out[i], std::tanh(gm[c] * (x[i] - mn[c]) / std::sqrt(vr[c] + 1e-3f) + bt[c]), 1e-6f)
        << i;
  }
  CheckGradients(g, 3, InputKind::kUniform, /*training=*/true);
}

TEST(GradCheckTest, Pooling) {
  struct Case {
    const char* op;
    const char* padding;
    int k, s;
  } cases[] = {{"MAX_POOL_2D", "VALID", 2, 2},
               {"MAX_POOL_2D", "SAME", 3, 2},
               {"AVERAGE_POOL_2D", "VALID", 2, 2},
               {"AVERAGE_POOL_2D", "SAME", 3, 2}};
  for (const Case& c : cases) {
    Builder b({1, 5, 6, 3});
    const int y = b.Op(c.op, {b.input()}, {1, 3, 3, 3},
                       {{"padding", std::string(c.padding)},
                        {"stride_h", int64_t{c.s}},
                        {"stride_w", int64_t{c.s}},
                        {"filter_height", int64_t{c.k}},
                        {"filter_width", int64_t{c.k}}});
    SCOPED_TRACE(std::string(c.op) + " " + c.padding);
    CheckGradients(b.Finish(y), 2, InputKind::kDistinct);
  }
}

TEST(GradCheckTest, MeanSumReduceMaxReduceMin) {
  for (const char* op : {"MEAN", "SUM", "REDUCE_MAX", "REDUCE_MIN"}) {
    for (bool keep : {false, true}) {
      Builder b({1, 3, 4, 5});
      const int axes = b.IntConst({2}, {1, 2});
      const int y = b.Op(op, {b.input(), axes}, {1, 5}, {{"keep_dims", keep}});
      SCOPED_TRACE(std::string(op) + (keep ? " keep_dims" : ""));
      CheckGradients(b.Finish(y), 2, InputKind::kDistinct);
    }
  }
}

// REDUCE_MIN (Keras's ops.min) and POW (x ** c for other c, and a trainable exponent): golden
// values, then gradients. POW's base is x^2 + p (p a weight in [0.5, 1.5)), so it stays positive.
TEST(GradCheckTest, ReduceMinAndPow) {
  {
    Builder b({1, 2, 3});
    const int axes = b.IntConst({1}, {2});
    const int y = b.Op("REDUCE_MIN", {b.input(), axes}, {1, 2});
    const int c = b.FloatConst("c", {1}, {1.5f});
    const int p = b.Op("POW", {b.input(), c}, {1, 2, 3});
    const std::vector<float> x = {0.5f, 0.25f, 2.0f, 4.0f, 1.0f, 9.0f};
    EXPECT_EQ(RunForward(b.Finish(y), x, 1), (std::vector<float>{0.25f, 1.0f}));
    const std::vector<float> powers = RunForward(b.Finish(p), x, 1);
    ASSERT_EQ(powers.size(), 6u);
    for (int i = 0; i < 6; ++i) EXPECT_FLOAT_EQ(powers[i], std::pow(x[i], 1.5f)) << i;
  }
  Builder b({1, 2, 5});
  const int w = b.Param("p/w", {1, 2, 5}, 0.5f, 1.5f);
  const int base = b.Op("ADD", {b.Op("SQUARE", {b.input()}, {1, 2, 5}), w}, {1, 2, 5});
  const int c = b.FloatConst("c", {1}, {1.7f});
  const int k = b.FloatConst("k/exponent", {5}, {0.3f, -0.8f, 1.2f, 2.5f, 0.9f});
  b.MakeParam(k);
  const int y = b.Op("ADD", {b.Op("POW", {base, c}, {1, 2, 5}), b.Op("POW", {base, k}, {1, 2, 5})},
                     {1, 2, 5});
  CheckGradients(b.Finish(y), 2, InputKind::kUniform);
}

// SIN, COS (gradients), FLOOR / CEIL / ROUND (goldens: ROUND halves to even; no gradient) and
// TILE (the copies' gradients summed into x).
TEST(GradCheckTest, SinCosRoundingAndTile) {
  {
    Builder b({1, 4});
    const int f = b.Op("FLOOR", {b.input()}, {1, 4});
    const int c = b.Op("CEIL", {b.input()}, {1, 4});
    const int r = b.Op("ROUND", {b.input()}, {1, 4});
    const std::vector<float> x = {-1.5f, 0.5f, 2.5f, 1.25f};
    const std::vector<std::vector<float>> want = {
        {-2.0f, 0.0f, 2.0f, 1.0f}, {-1.0f, 1.0f, 3.0f, 2.0f}, {-2.0f, 0.0f, 2.0f, 1.0f}};
    int k = 0;
    for (const int out : {f, c, r}) EXPECT_EQ(RunForward(b.Finish(out), x, 1), want[k++]);
  }
  Builder b({1, 2, 3});
  const int s = b.Op("SIN", {b.input()}, {1, 2, 3});
  const int c = b.Op("COS", {b.input()}, {1, 2, 3});
  const int multiples = b.IntConst({3}, {1, 2, 3});
  const int t = b.Op("TILE", {b.Op("MUL", {s, c}, {1, 2, 3}), multiples}, {1, 4, 9});
  const int p = b.Param("p/w", {1, 4, 9}, 0.5f, 1.5f);
  const int y = b.Op("MUL", {t, p}, {1, 4, 9});
  CheckGradients(b.Finish(y), 2, InputKind::kUniform);
}

TEST(GradCheckTest, UnaryActivations) {
  struct Case {
    const char* op;
    InputKind input;
    ir::Attrs attrs;
  } cases[] = {{"RELU", InputKind::kAwayFromKinks, {}},
               {"RELU6", InputKind::kAwayFromKinks, {}},
               {"RELU_N1_TO_1", InputKind::kAwayFromKinks, {}},
               {"LEAKY_RELU", InputKind::kAwayFromKinks, {{"alpha", 0.3}}},
               {"LOGISTIC", InputKind::kUniform, {}},
               {"TANH", InputKind::kUniform, {}},
               {"HARD_SWISH", InputKind::kUniform, {}},
               {"ELU", InputKind::kAwayFromKinks, {}},
               {"GELU", InputKind::kUniform, {}},
               {"GELU", InputKind::kUniform, {{"approximate", true}}}};
  for (const Case& c : cases) {
    Builder b({1, 4, 6});
    // Scale inputs to cover the interesting ranges (HARD_SWISH's +-3, RELU6's 6).
    const int k = b.FloatConst("scale", {1}, {4.0f});
    const int xs = b.Op("MUL", {b.input(), k}, {1, 4, 6});
    const int y = b.Op(c.op, {xs}, {1, 4, 6}, c.attrs);
    SCOPED_TRACE(c.op);
    CheckGradients(b.Finish(y), 2, c.input);
  }
}

TEST(GradCheckTest, Rsqrt) {
  Builder b({1, 4, 6});
  const int y = b.Op("RSQRT", {b.input()}, {1, 4, 6});
  CheckGradients(b.Finish(y), 2, InputKind::kPositive);
}

// L2_NORMALIZATION (UnitNormalization, Dot(normalize=True)): the projection of the gradient, and
// the linear x / 1e-6 of a vector shorter than the floor (all-zero rows); golden values.
TEST(GradCheckTest, L2Normalization) {
  {
    Builder b({1, 3, 5});
    const int y = b.Op("L2_NORMALIZATION", {b.input()}, {1, 3, 5});
    CheckGradients(b.Finish(y), 2, InputKind::kUniform);
  }
  Builder b({1, 2, 2});
  const int y = b.Op("L2_NORMALIZATION", {b.input()}, {1, 2, 2});
  EngineOptions options;
  options.batch_size = 1;
  options.input_requires_grad = true;
  auto created = Engine::Create(b.Finish(y), options);
  ASSERT_TRUE(created.ok()) << created.status().ToString();
  Engine& e = **created;
  const std::vector<float> x = {3.0f, -4.0f, 0.0f, 0.0f};
  ASSERT_TRUE(e.Forward(x.data(), 1, /*training=*/true).ok());
  const float* out = e.Output();
  EXPECT_FLOAT_EQ(out[0], 0.6f);
  EXPECT_FLOAT_EQ(out[1], -0.8f);
  EXPECT_EQ(out[2], 0.0f);
  EXPECT_EQ(out[3], 0.0f);
  // d/dx of sum(r * y): (r - y (y · r)) / 5 on the first row, r / 1e-6 on the zero row.
  const std::vector<float> r = {1.0f, 0.0f, 2.0f, -1.0f};
  std::copy(r.begin(), r.end(), e.LossGrad());
  e.Backward();
  const float* dx = e.InputGrad();
  EXPECT_FLOAT_EQ(dx[0], (1.0f - 0.6f * 0.6f) / 5.0f);
  EXPECT_FLOAT_EQ(dx[1], (0.0f + 0.8f * 0.6f) / 5.0f);
  EXPECT_FLOAT_EQ(dx[2], 2e6f);
  EXPECT_FLOAT_EQ(dx[3], -1e6f);
}

// Keras LayerNormalization as the importer lowers it: MEAN, SUB, MUL, MEAN, ADD, RSQRT, MUL, then
// gamma and beta. Gradients of the input and of both parameters.
TEST(GradCheckTest, LayerNormalizationChain) {
  Builder b({1, 3, 5});
  const int axes = b.IntConst({1}, {2});
  const ir::Attrs keep = {{"keep_dims", true}};
  const int mean = b.Op("MEAN", {b.input(), axes}, {1, 3, 1}, keep);
  const int centered = b.Op("SUB", {b.input(), mean}, {1, 3, 5});
  const int squared = b.Op("MUL", {centered, centered}, {1, 3, 5});
  const int var = b.Op("MEAN", {squared, axes}, {1, 3, 1}, keep);
  const int eps = b.FloatConst("epsilon", {}, {1e-3f});
  const int shifted = b.Op("ADD", {var, eps}, {1, 3, 1});
  const int inv = b.Op("RSQRT", {shifted}, {1, 3, 1});
  const int normalized = b.Op("MUL", {centered, inv}, {1, 3, 5});
  const int gamma = b.Param("ln/gamma", {5}, 0.5f, 1.5f);
  const int beta = b.Param("ln/beta", {5});
  const int scaled = b.Op("MUL", {normalized, gamma}, {1, 3, 5});
  const int y = b.Op("ADD", {scaled, beta}, {1, 3, 5});
  CheckGradients(b.Finish(y), 2, InputKind::kUniform);
}

// Keras Embedding in training form: the table's gradient (rows picked several times add up), and
// none for the ids.
TEST(GradCheckTest, Embedding) {
  Builder b({1, 6});
  const int table = b.Param("emb/embeddings", {5, 3});
  const int e = b.Op("EMBEDDING", {b.input(), table}, {1, 6, 3});
  const int y = b.Op("MUL", {e, e}, {1, 6, 3});  // a non-linear use, so rows matter twice
  CheckGradients(b.Finish(y), 2, InputKind::kIds);
}

TEST(GradCheckTest, SwishAsMulOfLogistic) {
  Builder b({1, 8});
  const int s = b.Op("LOGISTIC", {b.input()}, {1, 8});
  const int y = b.Op("MUL", {b.input(), s}, {1, 8});
  CheckGradients(b.Finish(y), 3, InputKind::kUniform);
}

TEST(GradCheckTest, PreluSoftmax) {
  {
    Builder b({1, 2, 3, 4});
    const int alpha = b.Param("prelu/alpha", {1, 1, 4}, 0.1f, 0.5f);
    const int y = b.Op("PRELU", {b.input(), alpha}, {1, 2, 3, 4});
    CheckGradients(b.Finish(y), 2, InputKind::kAwayFromKinks);
  }
  {
    Builder b({1, 3, 6});
    const int y = b.Op("SOFTMAX", {b.input()}, {1, 3, 6}, {{"beta", 1.5}});
    CheckGradients(b.Finish(y), 2, InputKind::kUniform);
  }
}

TEST(GradCheckTest, AddSubMulBroadcastAndSameInputTwice) {
  for (const char* op : {"ADD", "SUB", "MUL"}) {
    Builder b({1, 3, 4});
    const int p = b.Param("p/bias", {4});         // broadcast over batch and rows
    const int q = b.Param("q/scale", {1, 3, 1});  // broadcast over columns
    const int t =
        b.Op(op, {b.input(), p}, {1, 3, 4}, {{"fused_activation_function", std::string("TANH")}});
    const int u = b.Op(op, {q, t}, {1, 3, 4});
    const int v = b.Op(op, {u, u}, {1, 3, 4});  // the same tensor twice
    SCOPED_TRACE(op);
    CheckGradients(b.Finish(v), 2, InputKind::kUniform);
  }
}

// The graph's output on CheckGradients' input.
std::vector<float> ForwardOutput(const ir::Graph& graph, int batch, InputKind input_kind) {
  int64_t sample = 1;
  for (size_t d = 1; d < graph.tensors[graph.inputs[0]].shape.size(); ++d) {
    sample *= graph.tensors[graph.inputs[0]].shape[d];
  }
  std::mt19937 rng(99);
  return RunForward(graph, MakeInput(batch * sample, input_kind, &rng), batch, true);
}

// UNIDIRECTIONAL_SEQUENCE_LSTM (Keras LSTM) through time: every gate's input and recurrent
// weights and bias, and the input; tanh and relu cell activations, and tanh with a cell clip
// that some cells reach (the official converter's LSTMs clip: the output differs from the
// unclipped one); the whole sequence and (with a STRIDED_SLICE) only the last step as the output.
TEST(GradCheckTest, LstmThroughTime) {
  std::vector<float> unclipped;
  for (const char* act : {"TANH", "TANH clipped", "RELU"}) {
    const bool clipped = std::string(act) == "TANH clipped";
    for (bool last_only : {false, true}) {
      Builder b({1, 4, 3});
      std::vector<int> inputs(24, -1);
      inputs[0] = b.input();
      const char* gates = "ifco";
      for (int g = 0; g < 4; ++g) {
        const std::string gate = std::string("[") + gates[g] + "]";
        inputs[1 + g] = b.Param("lstm/kernel" + gate, {5, 3}, -0.6f, 0.6f);
        inputs[5 + g] = b.Param("lstm/recurrent_kernel" + gate, {5, 5}, -0.6f, 0.6f);
        inputs[12 + g] = b.Param("lstm/bias" + gate, {5}, -0.3f, 0.3f);
      }
      int y = b.Op("UNIDIRECTIONAL_SEQUENCE_LSTM", inputs, {1, 4, 5},
                   {{"fused_activation_function", std::string(clipped ? "TANH" : act)},
                    {"cell_clip", clipped ? 0.5 : 0.0},
                    {"proj_clip", 0.0},
                    {"time_major", false}});
      if (last_only) {
        const int begin = b.IntConst({3}, {0, 3, 0});
        const int end = b.IntConst({3}, {1, 4, 5});
        const int strides = b.IntConst({3}, {1, 1, 1});
        y = b.Op("STRIDED_SLICE", {y, begin, end, strides}, {1, 5},
                 {{"shrink_axis_mask", int64_t{2}}});
      }
      SCOPED_TRACE(std::string(act) + (last_only ? " last step" : " sequence"));
      const ir::Graph graph = b.Finish(y);
      if (!last_only && std::string(act) == "TANH") {
        unclipped = ForwardOutput(graph, 3, InputKind::kUniform);
      }
      if (!last_only && clipped) {
        EXPECT_NE(ForwardOutput(graph, 3, InputKind::kUniform), unclipped) << "nothing clipped";
      }
      CheckGradients(graph, 3, InputKind::kUniform, true, last_only ? 2 : 1);
    }
  }
}

// DIV, MAXIMUM and MINIMUM (Keras Maximum / Minimum, ReLU's max_value) with broadcasting; the
// divisor stays positive, and the maximum's and minimum's operands are far apart compared with the
// finite-difference step (the gradient goes to one side only).
TEST(GradCheckTest, DivMaximumMinimumSquaredDifferenceBroadcast) {
  for (const char* op : {"DIV", "MAXIMUM", "MINIMUM", "SQUARED_DIFFERENCE"}) {
    Builder b({1, 3, 4});
    const bool div = std::string(op) == "DIV";
    std::vector<float> pv(4), qv(3);
    for (int i = 0; i < 4; ++i) pv[i] = div ? 0.5f + 0.3f * i : -0.31f + 0.2f * i;
    for (int i = 0; i < 3; ++i) qv[i] = div ? 0.7f + 0.4f * i : 0.13f - 0.25f * i;
    const int p = b.FloatConst("p/bias", {4}, pv);  // broadcast over batch and rows
    b.MakeParam(p);
    const int q = b.FloatConst("q/scale", {1, 3, 1}, qv);  // broadcast over columns
    b.MakeParam(q);
    const int t = b.Op(op, {b.input(), p}, {1, 3, 4});
    const int u = b.Op(op, {q, t}, {1, 3, 4});
    SCOPED_TRACE(op);
    CheckGradients(b.Finish(u), 2, div ? InputKind::kUniform : InputKind::kDistinct);
  }
}

// A Keras mask (Masking(mask_value) before a recurrent layer): NOT_EQUAL(x, v) held as 1 / 0,
// CAST to float, REDUCE_MAX over the features, then x * mask. Golden values (a step equal to v
// in every feature is zeroed; one equal value among others is not), and the gradient: x's
// through the MUL, none through the mask.
TEST(GradCheckTest, KerasMaskOps) {
  Builder b({1, 3, 2});
  const int v = b.FloatConst("mask_value", {1}, {0.25f});
  ir::Graph g;
  {
    const int ne = b.Op("NOT_EQUAL", {b.input(), v}, {1, 3, 2});
    const int f = b.Op("CAST", {ne}, {1, 3, 2});
    const int axis = b.IntConst({1}, {2});
    ir::Attrs keep;
    keep["keep_dims"] = true;
    const int m = b.Op("REDUCE_MAX", {f, axis}, {1, 3, 1}, keep);
    const int y = b.Op("MUL", {b.input(), m}, {1, 3, 2});
    g = b.Finish(y);
    g.tensors[ne].dtype = DType::kBool;
  }
  EngineOptions options;
  options.batch_size = 2;
  auto e = Engine::Create(g, options);
  ASSERT_TRUE(e.ok()) << e.status().ToString();
  const std::vector<float> x = {0.25f, 0.25f, 0.5f,  0.25f, -1.0f, 2.0f,
                                0.0f,  0.25f, 0.25f, 0.25f, 3.0f,  -0.5f};
  ASSERT_TRUE((*e)->Forward(x.data(), 2, true).ok());
  const float* out = (*e)->Output();
  const std::vector<float> want = {0.0f, 0.0f,  0.5f, 0.25f, -1.0f, 2.0f,
                                   0.0f, 0.25f, 0.0f, 0.0f,  3.0f,  -0.5f};
  EXPECT_EQ(std::vector<float>(out, out + 12), want);
  CheckGradients(g, 2, InputKind::kUniform);
  // A float32 -> float32 CAST is not the engine's (bools and integers are).
  ir::Graph bad = g;
  for (ir::Node& n : bad.nodes) {
    if (n.op == "CAST") n.inputs = {bad.inputs[0]};
  }
  auto refused = Engine::Create(bad, options);
  ASSERT_FALSE(refused.ok());
  EXPECT_NE(refused.status().message().find("does not cast float32 to float32"), std::string::npos)
      << refused.status().ToString();
}

// SELECT_V2(kept, scores, b) as a Keras padding mask on attention scores: the condition
// ([1, 1, 4], a NOT_EQUAL of a constant mask) broadcasts over the rows, the other input is a
// trainable [4] broadcast over batch and rows. Golden values, and each input's gradient where
// its elements were chosen.
TEST(GradCheckTest, SelectV2Broadcast) {
  Builder b({1, 3, 4});
  const int mask = b.FloatConst("mask", {1, 1, 4}, {1.0f, 0.0f, 1.0f, 0.0f});
  const int zero = b.FloatConst("zero", {1}, {0.0f});
  const int kept = b.Op("NOT_EQUAL", {mask, zero}, {1, 1, 4});
  const int p = b.FloatConst("p/bias", {4}, {-0.5f, 0.25f, 0.75f, -1.0f});
  b.MakeParam(p);
  const int y = b.Op("SELECT_V2", {kept, b.input(), p}, {1, 3, 4});
  ir::Graph g = b.Finish(y);
  g.tensors[kept].dtype = DType::kBool;
  EngineOptions options;
  options.batch_size = 2;
  auto e = Engine::Create(g, options);
  ASSERT_TRUE(e.ok()) << e.status().ToString();
  std::vector<float> x(24);
  for (size_t i = 0; i < x.size(); ++i) x[i] = static_cast<float>(i);
  ASSERT_TRUE((*e)->Forward(x.data(), 2, true).ok());
  const float* out = (*e)->Output();
  for (int i = 0; i < 24; ++i) {
    const float want = i % 4 == 0 || i % 4 == 2 ? x[i] : (i % 4 == 1 ? 0.25f : -1.0f);
    EXPECT_EQ(out[i], want) << i;
  }
  CheckGradients(g, 2, InputKind::kUniform);
}

// Keras operations' comparisons and logical ops (held as 1 / 0, no gradient) choosing with
// SELECT_V2: y = where((x > 0.5) & !(x <= p) | (x == 2), x, p) with p a trainable [3] weight.
// Golden values of each comparison, then the gradients (x's where chosen, p's elsewhere).
TEST(GradCheckTest, ComparisonsAndLogicalOpsInSelect) {
  {
    const char* ops[] = {"GREATER", "GREATER_EQUAL", "LESS", "LESS_EQUAL", "EQUAL"};
    const std::vector<std::vector<float>> want = {
        {0, 0, 1, 1}, {0, 1, 1, 1}, {1, 0, 0, 0}, {1, 1, 0, 0}, {0, 1, 0, 0}};
    for (int k = 0; k < 5; ++k) {
      SCOPED_TRACE(ops[k]);
      Builder bk({1, 4});
      const int ck = bk.FloatConst("c", {1}, {0.5f});
      const int cmp = bk.Op(ops[k], {bk.input(), ck}, {1, 4});
      const int y = bk.Op("CAST", {cmp}, {1, 4});
      ir::Graph g = bk.Finish(y);
      g.tensors[cmp].dtype = DType::kBool;
      EXPECT_EQ(RunForward(g, {-1.0f, 0.5f, 0.75f, 3.0f}, 1), want[k]);
    }
  }
  Builder b({1, 2, 3});
  const int half = b.FloatConst("half", {1}, {0.5f});
  const int two = b.FloatConst("two", {1}, {2.0f});
  const int p = b.FloatConst("p/w", {3}, {0.25f, 1.5f, -0.75f});
  b.MakeParam(p);
  const int gt = b.Op("GREATER", {b.input(), half}, {1, 2, 3});
  const int le = b.Op("LESS_EQUAL", {b.input(), p}, {1, 2, 3});
  const int nle = b.Op("LOGICAL_NOT", {le}, {1, 2, 3});
  const int both = b.Op("LOGICAL_AND", {gt, nle}, {1, 2, 3});
  const int eq = b.Op("EQUAL", {b.input(), two}, {1, 2, 3});
  const int cond = b.Op("LOGICAL_OR", {both, eq}, {1, 2, 3});
  const int y = b.Op("SELECT_V2", {cond, b.input(), p}, {1, 2, 3});
  ir::Graph g = b.Finish(y);
  for (int t : {gt, le, nle, both, eq, cond}) g.tensors[t].dtype = DType::kBool;
  const std::vector<float> x = {0.0f, 2.0f, 1.0f, 0.75f, 1.25f, -2.0f,
                                0.6f, 1.0f, 0.5f, 2.0f,  3.0f,  0.1f};
  std::vector<float> want;
  for (int i = 0; i < 12; ++i) {
    const float pv = i % 3 == 0 ? 0.25f : i % 3 == 1 ? 1.5f : -0.75f;
    const bool chosen = (x[i] > 0.5f && !(x[i] <= pv)) || x[i] == 2.0f;
    want.push_back(chosen ? x[i] : pv);
  }
  EXPECT_EQ(RunForward(g, x, 2, true), want);
  CheckGradients(g, 2, InputKind::kUniform);
}

// Indices as the Keras importer makes them (held as floats, no gradient): ARG_MAX / ARG_MIN
// (the first extreme), a float -> int32 CAST toward zero, one_hot as EQUAL(index as [..., 1],
// [0, 1, 2]) and a bool -> float CAST, and an int -> bool CAST. The one-hot of the argmax picks
// x's maxima; the gradient flows through the MUL to them only.
TEST(GradCheckTest, ArgMaxOneHotAndIntegerCasts) {
  Builder b({1, 2, 3});
  const int am = b.Op("ARG_MAX", {b.input(), b.IntConst({1}, {2})}, {1, 2});
  const int an = b.Op("ARG_MIN", {b.input(), b.IntConst({1}, {1})}, {1, 3});
  const int col = b.Op("RESHAPE", {am, b.IntConst({3}, {1, 2, 1})}, {1, 2, 1});
  const int hot = b.Op("EQUAL", {col, b.IntConst({3}, {0, 1, 2})}, {1, 2, 3});
  const int mask = b.Op("CAST", {hot}, {1, 2, 3});
  const int picked = b.Op("MUL", {mask, b.input()}, {1, 2, 3});
  const int scaled = b.Op("MUL", {b.input(), b.FloatConst("three", {1}, {3.0f})}, {1, 2, 3});
  const int trunc = b.Op("CAST", {scaled}, {1, 2, 3});
  const int nonzero = b.Op("CAST", {trunc}, {1, 2, 3});
  const int back = b.Op("CAST", {nonzero}, {1, 2, 3});
  const int anf = b.Op("CAST", {an}, {1, 3});
  const int anr = b.Op("RESHAPE", {anf, b.IntConst({3}, {1, 1, 3})}, {1, 1, 3});
  const int sum = b.Op("ADD", {picked, back}, {1, 2, 3});
  const int y = b.Op("ADD", {sum, anr}, {1, 2, 3});
  ir::Graph g = b.Finish(y);
  for (int t : {am, an, col, trunc}) g.tensors[t].dtype = DType::kInt32;
  for (int t : {hot, nonzero}) g.tensors[t].dtype = DType::kBool;
  const std::vector<float> x = {0.2f, -0.9f, 0.7f, -0.1f, 0.5f, -0.6f};
  // argmax per row: 2, 1; argmin per column: 1, 0, 1; trunc(3x): 0, -2, 2, 0, 1, -1.
  const std::vector<float> want = {0 + 0 + 1, 0 + 1 + 0,    0.7f + 1 + 1,
                                   0 + 0 + 1, 0.5f + 1 + 0, 0 + 1 + 1};
  EXPECT_EQ(RunForward(g, x, 1, true), want);
  CheckGradients(g, 2, InputKind::kDistinct);
}

// DEPTH_TO_SPACE (block 2: [1, 2, 3, 8] -> [1, 4, 6, 2]) and SPACE_TO_DEPTH: goldens as TFLite
// lays them out, the round trip is the identity, and finite differences through both (the
// second with a weight in between so that the gradient is not the identity).
TEST(GradCheckTest, DepthToSpaceAndSpaceToDepth) {
  Builder b({1, 2, 3, 8});
  const int ds = b.Op("DEPTH_TO_SPACE", {b.input()}, {1, 4, 6, 2}, {{"block_size", int64_t{2}}});
  const int w = b.Param("w", {2}, 0.5f, 1.5f);
  const int scaled = b.Op("MUL", {ds, w}, {1, 4, 6, 2});
  const int sd = b.Op("SPACE_TO_DEPTH", {scaled}, {1, 2, 3, 8}, {{"block_size", int64_t{2}}});
  const int y = b.Op("TANH", {sd}, {1, 2, 3, 8});
  std::vector<float> x(48);
  for (int i = 0; i < 48; ++i) x[i] = static_cast<float>(i);
  const std::vector<float> shuffled = RunForward(b.Finish(ds), x, 1);
  ASSERT_EQ(shuffled.size(), 48u);
  for (int h = 0; h < 4; ++h) {
    for (int w6 = 0; w6 < 6; ++w6) {
      for (int c = 0; c < 2; ++c) {
        // in[h / 2, w / 2, ((h % 2) * 2 + w % 2) * 2 + c]
        const int src = ((h / 2) * 3 + w6 / 2) * 8 + ((h % 2) * 2 + w6 % 2) * 2 + c;
        EXPECT_EQ(shuffled[(h * 6 + w6) * 2 + c], static_cast<float>(src)) << h << "," << w6;
      }
    }
  }
  Builder r({1, 2, 3, 8});
  const int there = r.Op("DEPTH_TO_SPACE", {r.input()}, {1, 4, 6, 2}, {{"block_size", int64_t{2}}});
  const int back = r.Op("SPACE_TO_DEPTH", {there}, {1, 2, 3, 8}, {{"block_size", int64_t{2}}});
  EXPECT_EQ(RunForward(r.Finish(back), x, 1), x);
  CheckGradients(b.Finish(y), 2, InputKind::kUniform);
}

TEST(GradCheckTest, ExpAndLogSoftmax) {
  Builder b({1, 3, 6});
  const int e = b.Op("EXP", {b.input()}, {1, 3, 6});
  const int y = b.Op("LOG_SOFTMAX", {e}, {1, 3, 6});
  CheckGradients(b.Finish(y), 2, InputKind::kUniform);
}

// ABS, NEG, SQUARE, LOG, SQRT (softplus, softsign, mish, Keras operations): golden values, then
// the gradients of a sum of them (LOG and SQRT of x^2 + p, p a weight in [0.5, 1.5)).
TEST(GradCheckTest, AbsNegLogSqrtSquare) {
  {
    Builder b({1, 3});
    const int outs[] = {b.Op("ABS", {b.input()}, {1, 3}), b.Op("NEG", {b.input()}, {1, 3}),
                        b.Op("SQUARE", {b.input()}, {1, 3}), b.Op("LOG", {b.input()}, {1, 3}),
                        b.Op("SQRT", {b.input()}, {1, 3})};
    const std::vector<std::vector<float>> want = {{0.5f, 2.0f, 4.0f},
                                                  {0.5f, -2.0f, -4.0f},
                                                  {0.25f, 4.0f, 16.0f},
                                                  {std::log(0.5f), std::log(2.0f), std::log(4.0f)},
                                                  {std::sqrt(0.5f), std::sqrt(2.0f), 2.0f}};
    for (int k = 0; k < 5; ++k) {
      SCOPED_TRACE(k);
      const std::vector<float> x = k == 1 ? std::vector<float>{-0.5f, 2.0f, 4.0f}
                                          : std::vector<float>{k == 0 ? -0.5f : 0.5f, 2.0f, 4.0f};
      const std::vector<float> y = RunForward(b.Finish(outs[k]), x, 1);
      ASSERT_EQ(y.size(), 3u);
      for (int i = 0; i < 3; ++i) EXPECT_FLOAT_EQ(y[i], want[k][i]) << i;
    }
  }
  Builder b({1, 2, 5});
  const int p = b.Param("p/w", {1, 2, 5}, 0.5f, 1.5f);
  const int sq = b.Op("SQUARE", {b.input()}, {1, 2, 5});
  const int pos = b.Op("ADD", {sq, p}, {1, 2, 5});
  const int lg = b.Op("LOG", {pos}, {1, 2, 5});
  const int rt = b.Op("SQRT", {pos}, {1, 2, 5});
  const int neg = b.Op("NEG", {b.Op("ABS", {b.input()}, {1, 2, 5})}, {1, 2, 5});
  const int y = b.Op("ADD", {b.Op("ADD", {lg, rt}, {1, 2, 5}), neg}, {1, 2, 5});
  CheckGradients(b.Finish(y), 2, InputKind::kUniform);
}

// SLICE (Keras Cropping) and STRIDED_SLICE (an LSTM's last step: shrink axis; masks, negative
// begin and a negative stride).
TEST(GradCheckTest, SliceAndStridedSlice) {
  {
    // A weight's columns (an unrolled GRU's bias thirds): no batch dimension, any slice.
    Builder b({1, 4});
    const int bias = b.Param("gru/bias", {12});
    const int begin = b.IntConst({1}, {4});
    const int size = b.IntConst({1}, {4});
    const int third = b.Op("SLICE", {bias, begin, size}, {4});
    const int y = b.Op("ADD", {b.input(), third}, {1, 4});
    CheckGradients(b.Finish(y), 3, InputKind::kUniform);
  }
  {
    Builder b({1, 5, 6, 2});
    const int p = b.Param("p/w", {1, 5, 6, 2});
    const int m = b.Op("MUL", {b.input(), p}, {1, 5, 6, 2});
    const int begin = b.IntConst({4}, {0, 1, 2, 0});
    const int size = b.IntConst({4}, {1, 3, -1, 2});
    const int y = b.Op("SLICE", {m, begin, size}, {1, 3, 4, 2});
    CheckGradients(b.Finish(y), 3, InputKind::kUniform);
  }
  {
    Builder b({1, 4, 5});
    const int p = b.Param("p/w", {1, 4, 5});
    const int m = b.Op("MUL", {b.input(), p}, {1, 4, 5});
    const int begin = b.IntConst({3}, {0, -1, 0});
    const int end = b.IntConst({3}, {1, 4, 5});
    const int strides = b.IntConst({3}, {1, 1, 1});
    const int last = b.Op(
        "STRIDED_SLICE", {m, begin, end, strides}, {1, 5},
        {{"begin_mask", int64_t{0}}, {"end_mask", int64_t{0}}, {"shrink_axis_mask", int64_t{2}}});
    CheckGradients(b.Finish(last), 3, InputKind::kUniform);
  }
  {
    Builder b({1, 4, 7});
    const int begin = b.IntConst({3}, {0, 0, 5});
    const int end = b.IntConst({3}, {1, 3, 0});
    const int strides = b.IntConst({3}, {1, 2, -2});
    const int y = b.Op("STRIDED_SLICE", {b.input(), begin, end, strides}, {1, 2, 3},
                       {{"begin_mask", int64_t{2}}, {"end_mask", int64_t{4}}});
    ir::Graph g = b.Finish(y);
    // Rows 0 and 2 (begin masked, end 3, stride 2); columns 5, 3, 1 (begin 5, end masked,
    // stride -2).
    EngineOptions options;
    options.batch_size = 2;
    auto e = Engine::Create(g, options);
    ASSERT_TRUE(e.ok()) << e.status().ToString();
    std::vector<float> x(2 * 28);
    for (size_t i = 0; i < x.size(); ++i) x[i] = static_cast<float>(i);
    ASSERT_TRUE((*e)->Forward(x.data(), 2, true).ok());
    const float* out = (*e)->Output();
    const std::vector<float> want = {5, 3, 1, 19, 17, 15, 33, 31, 29, 47, 45, 43};
    EXPECT_EQ(std::vector<float>(out, out + 12), want);
    CheckGradients(g, 2, InputKind::kUniform);
  }
}

// RESIZE_NEAREST_NEIGHBOR and RESIZE_BILINEAR (Keras UpSampling2D) with each coordinate rule.
TEST(GradCheckTest, ResizeNearestAndBilinear) {
  struct Case {
    const char* op;
    bool align, half;
    int oh, ow;
  } cases[] = {{"RESIZE_NEAREST_NEIGHBOR", false, false, 6, 8},
               {"RESIZE_NEAREST_NEIGHBOR", true, false, 5, 7},
               {"RESIZE_NEAREST_NEIGHBOR", false, true, 7, 5},
               {"RESIZE_BILINEAR", false, false, 6, 8},
               {"RESIZE_BILINEAR", true, false, 5, 7},
               {"RESIZE_BILINEAR", false, true, 7, 9}};
  for (const Case& c : cases) {
    Builder b({1, 3, 4, 2});
    const int p = b.Param("p/w", {1, 3, 4, 2});
    const int m = b.Op("MUL", {b.input(), p}, {1, 3, 4, 2});
    const int size = b.IntConst({2}, {c.oh, c.ow});
    const int y = b.Op(c.op, {m, size}, {1, c.oh, c.ow, 2},
                       {{"align_corners", c.align}, {"half_pixel_centers", c.half}});
    SCOPED_TRACE(std::string(c.op) + (c.align ? " align" : "") + (c.half ? " half" : ""));
    CheckGradients(b.Finish(y), 2, InputKind::kUniform);
  }
}

// TRANSPOSE_CONV (Keras Conv2DTranspose): SAME and VALID, strides 1 and 2, with and without a
// bias, and several images on two threads (fixed reduction groups).
TEST(GradCheckTest, TransposeConv) {
  struct Case {
    const char* padding;
    int stride, kh, kw, ih, iw, oh, ow;
    bool bias;
    int batch, threads;
  } cases[] = {{"SAME", 2, 3, 3, 3, 4, 6, 8, true, 2, 1},
               {"VALID", 1, 2, 3, 3, 3, 4, 5, false, 2, 1},
               {"VALID", 2, 3, 3, 2, 3, 5, 7, true, 2, 1},
               {"SAME", 2, 2, 2, 3, 3, 6, 6, true, 11, 2}};
  for (const Case& c : cases) {
    Builder b({1, c.ih, c.iw, 3});
    const int w = b.Param("ct/kernel", {4, c.kh, c.kw, 3});
    const int shape = b.IntConst({4}, {1, c.oh, c.ow, 4});
    std::vector<int> inputs = {shape, w, b.input()};
    if (c.bias) inputs.push_back(b.Param("ct/bias", {4}));
    const int y = b.Op("TRANSPOSE_CONV", inputs, {1, c.oh, c.ow, 4},
                       {{"padding", std::string(c.padding)},
                        {"stride_h", int64_t{c.stride}},
                        {"stride_w", int64_t{c.stride}}});
    SCOPED_TRACE(std::string(c.padding) + " stride " + std::to_string(c.stride));
    CheckGradients(b.Finish(y), c.batch, InputKind::kUniform, true, c.threads);
  }
}

TEST(GradCheckTest, ConcatenationReshapePadTranspose) {
  Builder b({1, 2, 3, 2});
  const int p = b.Param("p/w", {1, 2, 3, 1});
  const int m = b.Op("MUL", {b.input(), p}, {1, 2, 3, 2});
  const int c = b.Op("CONCATENATION", {b.input(), m}, {1, 2, 3, 4},
                     {{"axis", int64_t{-1}}, {"fused_activation_function", std::string("NONE")}});
  const int pads = b.IntConst({4, 2}, {0, 0, 1, 0, 0, 2, 1, 1});
  const int padded = b.Op("PAD", {c, pads}, {1, 3, 5, 6});
  const int perm = b.IntConst({4}, {0, 3, 1, 2});
  const int tr = b.Op("TRANSPOSE", {padded, perm}, {1, 6, 3, 5});
  const int shape = b.IntConst({2}, {-1, 90});
  const int flat = b.Op("RESHAPE", {tr, shape}, {1, 90});
  const int y = b.Op("TANH", {flat}, {1, 90});
  CheckGradients(b.Finish(y), 2, InputKind::kUniform);
}

// One tensor three times in a CONCATENATION (Keras's RepeatVector): its gradient is the sum of
// the three slices' (the first overwrites, the next two add).
TEST(GradCheckTest, ConcatenationOfOneTensorRepeated) {
  Builder b({1, 5});
  const int p = b.Param("p/w", {1, 5});
  const int m = b.Op("MUL", {b.input(), p}, {1, 5});
  const int shape = b.IntConst({3}, {1, 1, 5});
  const int row = b.Op("RESHAPE", {m, shape}, {1, 1, 5});
  const int c = b.Op("CONCATENATION", {row, row, row}, {1, 3, 5},
                     {{"axis", int64_t{1}}, {"fused_activation_function", std::string("NONE")}});
  const int y = b.Op("TANH", {c}, {1, 3, 5});
  CheckGradients(b.Finish(y), 2, InputKind::kUniform);
}

TEST(GradCheckTest, DropoutIsInvertedAndSeeded) {
  Builder b({1, 50});
  const int w = b.Param("d/w", {1, 50});
  const int m = b.Op("MUL", {b.input(), w}, {1, 50});
  const int y = b.Op("DROPOUT", {m}, {1, 50}, {{"rate", 0.4}});
  const ir::Graph g = b.Finish(y);
  CheckGradients(g, 3, InputKind::kUniform);

  // Training: kept values are scaled by 1 / (1 - rate), the rest are zero; the same step
  // gives the same mask; inference is the identity.
  EngineOptions options;
  options.batch_size = 4;
  auto e = Engine::Create(g, options);
  ASSERT_TRUE(e.ok());
  std::vector<float> x(200, 1.0f);
  ASSERT_TRUE((*e)->Forward(x.data(), 4, true).ok());
  const float* wv = (*e)->parameters()[0].data();
  int zeros = 0;
  std::vector<float> first((*e)->Output(), (*e)->Output() + 200);
  for (int i = 0; i < 200; ++i) {
    const float expect = wv[i % 50] / 0.6f;
    if (first[i] == 0.0f) {
      ++zeros;
    } else {
      EXPECT_NEAR(first[i], expect, 1e-5f);
    }
  }
  EXPECT_GT(zeros, 40);
  EXPECT_LT(zeros, 120);
  (*e)->set_step(0);
  ASSERT_TRUE((*e)->Forward(x.data(), 4, true).ok());
  EXPECT_EQ(std::vector<float>((*e)->Output(), (*e)->Output() + 200), first);
  ASSERT_TRUE((*e)->Forward(x.data(), 4, false).ok());
  for (int i = 0; i < 200; ++i) EXPECT_FLOAT_EQ((*e)->Output()[i], wv[i % 50]);
}

TEST(GradCheckTest, SpatialDropoutDropsWholeChannels) {
  Builder b({1, 3, 3, 8});
  const int y = b.Op("DROPOUT", {b.input()}, {1, 3, 3, 8},
                     {{"rate", 0.5}, {"noise_shape", std::string("spatial")}});
  EngineOptions options;
  options.batch_size = 4;
  auto e = Engine::Create(b.Finish(y), options);
  ASSERT_TRUE(e.ok());
  std::vector<float> x(4 * 72, 1.0f);
  ASSERT_TRUE((*e)->Forward(x.data(), 4, true).ok());
  const float* out = (*e)->Output();
  int dropped = 0;
  for (int n = 0; n < 4; ++n) {
    for (int c = 0; c < 8; ++c) {
      const float first = out[n * 72 + c];
      EXPECT_TRUE(first == 0.0f || first == 2.0f);
      dropped += first == 0.0f;
      for (int p = 1; p < 9; ++p) EXPECT_EQ(out[n * 72 + p * 8 + c], first);
    }
  }
  EXPECT_GT(dropped, 4);
  EXPECT_LT(dropped, 28);
}

ir::Attrs Adj(bool adj_x, bool adj_y) { return {{"adj_x", adj_x}, {"adj_y", adj_y}}; }

// BATCH_MATMUL of two activations of rank 3 with equal batches, for every (adj_x, adj_y): the
// lhs is the input [B, 3, 4], the rhs a FULLY_CONNECTED of it (keep_num_dims), transposed where
// the flags need; M, K and N all differ.
TEST(GradCheckTest, BatchMatMulRank3AllAdjoints) {
  for (bool adj_x : {false, true}) {
    for (bool adj_y : {false, true}) {
      Builder b({1, 3, 4});
      const int perm = b.IntConst({3}, {0, 2, 1});
      const ir::Attrs keep = {{"keep_num_dims", true}};
      // K = 4 (rows of x^T) without adj_x, K = 3 with it; N = 5.
      const int src = adj_x ? b.input() : b.Op("TRANSPOSE", {b.input(), perm}, {1, 4, 3});
      const int k = adj_x ? 3 : 4;
      const int w = b.Param("w/kernel", {5, adj_x ? 4 : 3});
      const int kn = b.Op("FULLY_CONNECTED", {src, w}, {1, k, 5}, keep);  // [B, K, N]
      const int rhs = adj_y ? b.Op("TRANSPOSE", {kn, perm}, {1, 5, k}) : kn;
      const int m = adj_x ? 4 : 3;
      const int y = b.Op("BATCH_MATMUL", {b.input(), rhs}, {1, m, 5}, Adj(adj_x, adj_y));
      SCOPED_TRACE(std::string("adj_x ") + (adj_x ? "1" : "0") + " adj_y " + (adj_y ? "1" : "0"));
      const ir::Graph g = b.Finish(y);
      CheckGradients(g, 3, InputKind::kUniform, true, /*threads=*/1);
      CheckGradients(g, 3, InputKind::kUniform, true, /*threads=*/2);
    }
  }
}

// Attention scores: [B, H, T, D] x [B, H, S, D] with adj_y (rank 4, equal batches).
TEST(GradCheckTest, BatchMatMulRank4AdjY) {
  Builder b({1, 2, 3, 4});
  const int w = b.Param("k/scale", {1, 2, 1, 4});
  const int k = b.Op("MUL", {b.input(), w}, {1, 2, 3, 4});
  const int y = b.Op("BATCH_MATMUL", {b.input(), k}, {1, 2, 3, 3}, Adj(false, true));
  const ir::Graph g = b.Finish(y);
  CheckGradients(g, 2, InputKind::kUniform, true, /*threads=*/1);
  CheckGradients(g, 2, InputKind::kUniform, true, /*threads=*/2);
}

// One tensor as both inputs (x x^T): input 0's contribution overwrites, input 1's adds.
TEST(GradCheckTest, BatchMatMulSameInputTwice) {
  Builder b({1, 3, 4});
  const int y = b.Op("BATCH_MATMUL", {b.input(), b.input()}, {1, 3, 3}, Adj(false, true));
  CheckGradients(b.Finish(y), 2, InputKind::kUniform);
}

// Broadcast batches: a rank-2 weight as the rhs for every (adj_x, adj_y) (without adj_x the
// batches fold into one GEMM; with it, one GEMM per batch whose weight gradients add up), a
// weight [1, M, K] as the lhs, per-head weights [H, K, N] under [B, H, M, K], and an activation
// [B, 1, M, K] against [B, H, K, N].
TEST(GradCheckTest, BatchMatMulBroadcast) {
  for (bool adj_x : {false, true}) {
    for (bool adj_y : {false, true}) {
      Builder b({1, 3, 4});
      const int k = adj_x ? 3 : 4, m = adj_x ? 4 : 3;
      const int w =
          b.Param("w/kernel", adj_y ? std::vector<int32_t>{5, k} : std::vector<int32_t>{k, 5});
      const int y = b.Op("BATCH_MATMUL", {b.input(), w}, {1, m, 5}, Adj(adj_x, adj_y));
      SCOPED_TRACE(std::string("rank-2 rhs, adj_x ") + (adj_x ? "1" : "0") + " adj_y " +
                   (adj_y ? "1" : "0"));
      const ir::Graph g = b.Finish(y);
      CheckGradients(g, 3, InputKind::kUniform, true, /*threads=*/1);
      CheckGradients(g, 3, InputKind::kUniform, true, /*threads=*/2);
    }
  }
  {
    Builder b({1, 3, 4});
    const int w = b.Param("w/kernel", {1, 2, 3});
    const int y = b.Op("BATCH_MATMUL", {w, b.input()}, {1, 2, 4});
    SCOPED_TRACE("lhs [1, M, K]");
    CheckGradients(b.Finish(y), 3, InputKind::kUniform, true, /*threads=*/2);
  }
  {
    Builder b({1, 2, 3, 4});
    const int w = b.Param("w/kernel", {2, 4, 5});
    const int y = b.Op("BATCH_MATMUL", {b.input(), w}, {1, 2, 3, 5});
    SCOPED_TRACE("rhs [H, K, N]");
    const ir::Graph g = b.Finish(y);
    CheckGradients(g, 3, InputKind::kUniform, true, /*threads=*/1);
    CheckGradients(g, 3, InputKind::kUniform, true, /*threads=*/2);
  }
  {
    Builder b({1, 3, 4});
    const int lhs = b.Op("RESHAPE", {b.input(), b.IntConst({4}, {-1, 1, 3, 4})}, {1, 1, 3, 4});
    // [B, 3, 4] -> [B, 4, 3] -> FULLY_CONNECTED [B, 4, 10] -> [B, 4, 2, 5] -> [B, 2, 4, 5].
    const int t = b.Op("TRANSPOSE", {b.input(), b.IntConst({3}, {0, 2, 1})}, {1, 4, 3});
    const int w = b.Param("w/kernel", {10, 3});
    const int fc = b.Op("FULLY_CONNECTED", {t, w}, {1, 4, 10}, {{"keep_num_dims", true}});
    const int split = b.Op("RESHAPE", {fc, b.IntConst({4}, {-1, 4, 2, 5})}, {1, 4, 2, 5});
    const int rhs = b.Op("TRANSPOSE", {split, b.IntConst({4}, {0, 2, 1, 3})}, {1, 2, 4, 5});
    const int y = b.Op("BATCH_MATMUL", {lhs, rhs}, {1, 2, 3, 5});
    SCOPED_TRACE("lhs [B, 1, M, K], rhs [B, H, K, N]");
    const ir::Graph g = b.Finish(y);
    CheckGradients(g, 2, InputKind::kUniform, true, /*threads=*/1);
    CheckGradients(g, 2, InputKind::kUniform, true, /*threads=*/2);
  }
}

// Keras MultiHeadAttention as the importer lowers it (2 heads of size 2 over [B, T=3, E=4]):
// FULLY_CONNECTED (keep_num_dims) -> RESHAPE [B, T, H, D] -> TRANSPOSE [0, 2, 1, 3] for the
// query, key and value; scores = BATCH_MATMUL(q * 1/sqrt(D), k, adj_y); SOFTMAX; BATCH_MATMUL(
// probs, v); TRANSPOSE back, RESHAPE [B, T, E], output FULLY_CONNECTED. Every projection's
// kernel and bias and the input are checked.
ir::Graph AttentionGraph() {
  Builder b({1, 3, 4});
  const ir::Attrs keep = {{"keep_num_dims", true}};
  const int split_shape = b.IntConst({4}, {-1, 3, 2, 2});
  const int heads_first = b.IntConst({4}, {0, 2, 1, 3});
  auto project = [&](const std::string& name) {
    const int w = b.Param(name + "/kernel", {4, 4});
    const int bias = b.Param(name + "/bias", {4});
    const int fc = b.Op("FULLY_CONNECTED", {b.input(), w, bias}, {1, 3, 4}, keep);
    const int split = b.Op("RESHAPE", {fc, split_shape}, {1, 3, 2, 2});
    return b.Op("TRANSPOSE", {split, heads_first}, {1, 2, 3, 2});
  };
  const int q = project("query");
  const int k = project("key");
  const int v = project("value");
  const int scale = b.FloatConst("scale", {}, {1.0f / std::sqrt(2.0f)});
  const int qs = b.Op("MUL", {q, scale}, {1, 2, 3, 2});
  const int scores = b.Op("BATCH_MATMUL", {qs, k}, {1, 2, 3, 3}, Adj(false, true));
  const int probs = b.Op("SOFTMAX", {scores}, {1, 2, 3, 3}, {{"beta", 1.0}});
  const int context = b.Op("BATCH_MATMUL", {probs, v}, {1, 2, 3, 2}, Adj(false, false));
  const int back = b.Op("TRANSPOSE", {context, heads_first}, {1, 3, 2, 2});
  const int merged = b.Op("RESHAPE", {back, b.IntConst({3}, {-1, 3, 4})}, {1, 3, 4});
  const int wo = b.Param("attention_output/kernel", {4, 4});
  const int bo = b.Param("attention_output/bias", {4});
  const int y = b.Op("FULLY_CONNECTED", {merged, wo, bo}, {1, 3, 4}, keep);
  return b.Finish(y);
}

TEST(GradCheckTest, BatchMatMulAttentionChain) {
  const ir::Graph g = AttentionGraph();
  CheckGradients(g, 2, InputKind::kUniform, true, /*threads=*/1);
  CheckGradients(g, 3, InputKind::kUniform, true, /*threads=*/2);
}

// The attention chain's outputs and gradients are bit-identical for 1 and 3 threads (per-batch
// GEMMs on the pool, or one GEMM at a time split by the pool).
TEST(GradCheckTest, BatchMatMulAttentionSameForAnyThreadCount) {
  const ir::Graph g = AttentionGraph();
  std::vector<std::vector<float>> results[2];
  for (int run = 0; run < 2; ++run) {
    EngineOptions options;
    options.batch_size = 5;
    options.num_threads = run == 0 ? 1 : 3;
    options.input_requires_grad = true;
    auto e = Engine::Create(g, options);
    ASSERT_TRUE(e.ok()) << e.status().ToString();
    std::mt19937 rng(5);
    const std::vector<float> x = MakeInput(5 * 12, InputKind::kUniform, &rng);
    ASSERT_TRUE((*e)->Forward(x.data(), 5, true).ok());
    const int64_t n = (*e)->value((*e)->output_tensor()).size;
    results[run].emplace_back((*e)->Output(), (*e)->Output() + n);
    const std::vector<float> r = MakeInput(n, InputKind::kUniform, &rng);
    std::copy(r.begin(), r.end(), (*e)->LossGrad());
    (*e)->Backward();
    results[run].emplace_back((*e)->InputGrad(), (*e)->InputGrad() + x.size());
    for (const Parameter& p : (*e)->parameters()) {
      results[run].emplace_back(p.grad(), p.grad() + p.size);
    }
  }
  ASSERT_EQ(results[0].size(), 2u + 8u);  // output, input gradient, 4 kernels and 4 biases
  for (size_t i = 0; i < results[0].size(); ++i) EXPECT_EQ(results[0][i], results[1][i]) << i;
}

// Hand-computed 2x2 products per batch (batch 2): X X, X X^T, X^T X, and with a weight.
TEST(GradCheckTest, BatchMatMulGoldenTwoByTwo) {
  const std::vector<float> x = {1, 2, 3,  4,   // batch 0: [[1, 2], [3, 4]]
                                0, 1, -1, 2};  // batch 1: [[0, 1], [-1, 2]]
  auto run = [&](const ir::Graph& g) -> std::unique_ptr<Engine> {
    EngineOptions options;
    options.batch_size = 2;
    options.input_requires_grad = true;
    auto e = Engine::Create(g, options);
    EXPECT_TRUE(e.ok()) << e.status().ToString();
    if (!e.ok()) return nullptr;
    EXPECT_TRUE((*e)->Forward(x.data(), 2, true).ok());
    return std::move(*e);
  };
  auto output = [](Engine& e) { return std::vector<float>(e.Output(), e.Output() + 8); };
  {
    Builder b({1, 2, 2});
    const int y = b.Op("BATCH_MATMUL", {b.input(), b.input()}, {1, 2, 2});
    auto e = run(b.Finish(y));
    ASSERT_NE(e, nullptr);
    EXPECT_EQ(output(*e), (std::vector<float>{7, 10, 15, 22, -1, 2, -2, 3}));  // X X
  }
  {
    Builder b({1, 2, 2});
    const int y = b.Op("BATCH_MATMUL", {b.input(), b.input()}, {1, 2, 2}, Adj(false, true));
    auto e = run(b.Finish(y));
    ASSERT_NE(e, nullptr);
    EXPECT_EQ(output(*e), (std::vector<float>{5, 11, 11, 25, 1, 2, 2, 5}));  // X X^T
  }
  {
    Builder b({1, 2, 2});
    const int y = b.Op("BATCH_MATMUL", {b.input(), b.input()}, {1, 2, 2}, Adj(true, false));
    auto e = run(b.Finish(y));
    ASSERT_NE(e, nullptr);
    EXPECT_EQ(output(*e), (std::vector<float>{10, 14, 14, 20, 1, -2, -2, 5}));  // X^T X
  }
  // A rank-2 weight W = [[2, 0], [1, -1]] shared by both batches, and the gradients of
  // dC = ones, twice: the first (only) contribution to each gradient overwrites the previous
  // step's. X W (the batches fold into one GEMM): dX = ones W^T (rows [2, 0]), dW = X0^T ones +
  // X1^T ones = [[4, 4], [6, 6]] + [[-1, -1], [3, 3]]. X^T W (one GEMM per batch, dW summed):
  // dX = W ones^T (rows [2, 2], [0, 0]), dW = X0 ones + X1 ones = [[3, 3], [7, 7]] + [[1, 1],
  // [1, 1]].
  for (bool adj_x : {false, true}) {
    Builder b({1, 2, 2});
    const int w = b.FloatConst("w/kernel", {2, 2}, {2, 0, 1, -1});
    b.MakeParam(w);
    const int y = b.Op("BATCH_MATMUL", {b.input(), w}, {1, 2, 2}, Adj(adj_x, false));
    SCOPED_TRACE(adj_x ? "X^T W" : "X W");
    const std::vector<float> want_y = adj_x ? std::vector<float>{5, -3, 8, -4, -1, 1, 4, -2}
                                            : std::vector<float>{4, -2, 10, -4, 1, -1, 0, -2};
    const std::vector<float> want_dx = adj_x ? std::vector<float>{2, 2, 0, 0, 2, 2, 0, 0}
                                             : std::vector<float>{2, 0, 2, 0, 2, 0, 2, 0};
    const std::vector<float> want_dw =
        adj_x ? std::vector<float>{4, 4, 8, 8} : std::vector<float>{3, 3, 9, 9};
    auto e = run(b.Finish(y));
    ASSERT_NE(e, nullptr);
    EXPECT_EQ(output(*e), want_y);
    for (int pass = 0; pass < 2; ++pass) {
      std::fill(e->LossGrad(), e->LossGrad() + 8, 1.0f);
      e->Backward();
      EXPECT_EQ(std::vector<float>(e->InputGrad(), e->InputGrad() + 8), want_dx);
      ASSERT_EQ(e->parameters().size(), 1u);
      const Parameter& p = e->parameters()[0];
      EXPECT_EQ(std::vector<float>(p.grad(), p.grad() + 4), want_dw);
    }
  }
}

// Forms that would move or contract the batch dimension are refused with a clear error.
TEST(GradCheckTest, BatchMatMulRefusesBatchAsMatrixDimension) {
  {
    Builder b({1, 4});  // rhs [B, N]: K would be the batch
    const int w = b.Param("w/kernel", {3, 1});
    const int y = b.Op("BATCH_MATMUL", {w, b.input()}, {3, 4});
    auto e = Engine::Create(b.Finish(y), EngineOptions());
    ASSERT_FALSE(e.ok());
    EXPECT_NE(e.status().message().find("activation rhs [32,4] is rank 2 with its batch dimension "
                                        "as a matrix dimension"),
              std::string::npos)
        << e.status().message();
  }
  {
    Builder b({1, 3, 4});  // a constant [2, 4, 5] would broadcast the batch of 1 to 2
    const int w = b.Param("w/kernel", {2, 4, 5});
    const int y = b.Op("BATCH_MATMUL", {b.input(), w}, {2, 3, 5});
    auto e = Engine::Create(b.Finish(y), EngineOptions());
    ASSERT_FALSE(e.ok());
    EXPECT_NE(e.status().message().find("meets a constant whose first dimension is not 1"),
              std::string::npos)
        << e.status().message();
  }
  {
    Builder b({1, 3, 4});  // the batch would become dimension 1 of [2, B, 3, 5]
    const int w = b.Param("w/kernel", {2, 1, 4, 5});
    const int y = b.Op("BATCH_MATMUL", {b.input(), w}, {2, 1, 3, 5});
    auto e = Engine::Create(b.Finish(y), EngineOptions());
    ASSERT_FALSE(e.ok());
    EXPECT_NE(e.status().message().find("has a lower rank than the output"), std::string::npos)
        << e.status().message();
  }
}

// TimeDistributed(Conv2D), (MaxPooling2D), then the steps unfolded for a dense layer: the Keras
// importer's RESHAPE [1, T, H, W, C] -> [T, H, W, C] folds the steps into the batch (training
// rows B * T) and RESHAPE [T, ...] -> [1, T, ...] unfolds them (B rows again).
TEST(GradCheckTest, TimeDistributedFoldConvPoolUnfoldDense) {
  Builder b({1, 3, 6, 6, 2});
  const int fold = b.Op("RESHAPE", {b.input(), b.IntConst({4}, {3, 6, 6, 2})}, {3, 6, 6, 2});
  const int w = b.Param("td_conv/kernel", {4, 3, 3, 2});
  const int bias = b.Param("td_conv/bias", {4});
  const int conv = b.Op("CONV_2D", {fold, w, bias}, {3, 4, 4, 4}, ConvAttrs("VALID", 1, 1));
  const int pool = b.Op("MAX_POOL_2D", {conv}, {3, 2, 2, 4},
                        {{"padding", std::string("VALID")},
                         {"filter_height", int64_t{2}},
                         {"filter_width", int64_t{2}},
                         {"stride_h", int64_t{2}},
                         {"stride_w", int64_t{2}}});
  const int unfold = b.Op("RESHAPE", {pool, b.IntConst({3}, {1, 3, 16})}, {1, 3, 16});
  const int dw = b.Param("out/kernel", {5, 16});
  const int db = b.Param("out/bias", {5});
  const int y = b.Op("FULLY_CONNECTED", {unfold, dw, db}, {1, 3, 5},
                     {{"keep_num_dims", true}, {"fused_activation_function", std::string("NONE")}});
  const ir::Graph g = b.Finish(y);
  CheckGradients(g, 2, InputKind::kDistinct);
  CheckGradients(g, 2, InputKind::kDistinct, /*training=*/true, /*threads=*/2);
  EngineOptions options;
  options.batch_size = 2;
  auto e = Engine::Create(g, options);
  ASSERT_TRUE(e.ok()) << e.status().ToString();
  EXPECT_EQ((*e)->value(fold).shape, std::vector<int>({6, 6, 6, 2}));
  EXPECT_EQ((*e)->value(pool).shape, std::vector<int>({6, 2, 2, 4}));
  EXPECT_EQ((*e)->value(unfold).shape, std::vector<int>({2, 3, 16}));
  EXPECT_EQ((*e)->output_sample_shape(), std::vector<int>({3, 5}));
}

// The other layers TimeDistributed folds (DepthwiseConv2D, BatchNormalization in training mode,
// AveragePooling2D, Flatten then Dense on the folded rows), and GlobalAveragePooling1D's MEAN
// over the unfolded steps.
TEST(GradCheckTest, TimeDistributedFoldedDepthwiseBatchNormPoolFlattenDense) {
  Builder b({1, 3, 6, 6, 2});
  const int fold = b.Op("RESHAPE", {b.input(), b.IntConst({4}, {3, 6, 6, 2})}, {3, 6, 6, 2});
  const int w = b.Param("td_dw/depthwise_kernel", {1, 3, 3, 4});
  const int dw = b.Op("DEPTHWISE_CONV_2D", {fold, w, b.Param("td_dw/bias", {4})}, {3, 4, 4, 4},
                      {{"padding", std::string("VALID")},
                       {"stride_h", int64_t{1}},
                       {"stride_w", int64_t{1}},
                       {"depth_multiplier", int64_t{2}},
                       {"fused_activation_function", std::string("NONE")}});
  const int bn =
      b.Op("BATCH_NORM",
           {dw, b.Param("td_bn/gamma", {4}, 0.5f, 1.5f), b.Param("td_bn/beta", {4}),
            b.FloatConst("mm", {4}, {0, 0, 0, 0}), b.FloatConst("mv", {4}, {1, 1, 1, 1})},
           {3, 4, 4, 4}, {{"epsilon", 1e-3}, {"momentum", 0.9}});
  const int pool = b.Op("AVERAGE_POOL_2D", {bn}, {3, 2, 2, 4},
                        {{"padding", std::string("VALID")},
                         {"filter_height", int64_t{2}},
                         {"filter_width", int64_t{2}},
                         {"stride_h", int64_t{2}},
                         {"stride_w", int64_t{2}}});
  const int flat = b.Op("RESHAPE", {pool, b.IntConst({2}, {-1, 16})}, {3, 16});
  const int fc =
      b.Op("FULLY_CONNECTED", {flat, b.Param("td_fc/kernel", {5, 16}), b.Param("td_fc/bias", {5})},
           {3, 5}, {{"fused_activation_function", std::string("TANH")}});
  const int unfold = b.Op("RESHAPE", {fc, b.IntConst({3}, {1, 3, 5})}, {1, 3, 5});
  const int y = b.Op("MEAN", {unfold, b.IntConst({1}, {1})}, {1, 5}, {{"keep_dims", false}});
  CheckGradients(b.Finish(y), 2, InputKind::kUniform);
}

// Folding computes what the wrapped layers compute on B * T separate images: the same outputs,
// the same BatchNormalization statistics over the B * T rows (as Keras's
// TimeDistributed(BatchNormalization)), the same gradients.
TEST(GradCheckTest, TimeDistributedFoldIsTheLayersOnBatchTimesStepsImages) {
  constexpr int kBatch = 2, kSteps = 3;
  // The layers on `x`; weights drawn in the same order in both graphs (the same values).
  auto layers = [](Builder* b, int x, int32_t rows, int* moving_mean) {
    const int w = b->Param("c/kernel", {4, 3, 3, 2});
    const int conv = b->Op("CONV_2D", {x, w, b->Param("c/bias", {4})}, {rows, 4, 4, 4},
                           ConvAttrs("VALID", 1, 1, 1, 1, "RELU"));
    *moving_mean = b->FloatConst("mm", {4}, {0, 0, 0, 0});
    const int bn = b->Op("BATCH_NORM",
                         {conv, b->Param("bn/gamma", {4}), b->Param("bn/beta", {4}), *moving_mean,
                          b->FloatConst("mv", {4}, {1, 1, 1, 1})},
                         {rows, 4, 4, 4}, {{"epsilon", 1e-3}, {"momentum", 0.5}});
    const int pool = b->Op("MAX_POOL_2D", {bn}, {rows, 2, 2, 4},
                           {{"padding", std::string("VALID")},
                            {"filter_height", int64_t{2}},
                            {"filter_width", int64_t{2}},
                            {"stride_h", int64_t{2}},
                            {"stride_w", int64_t{2}}});
    return b->Op("MEAN", {pool, b->IntConst({2}, {1, 2})}, {rows, 4}, {{"keep_dims", false}});
  };
  int folded_mm = -1, plain_mm = -1;
  Builder folded({1, kSteps, 6, 6, 2});
  const int fold = folded.Op("RESHAPE", {folded.input(), folded.IntConst({4}, {kSteps, 6, 6, 2})},
                             {kSteps, 6, 6, 2});
  const int steps = layers(&folded, fold, kSteps, &folded_mm);
  const int unfold =
      folded.Op("RESHAPE", {steps, folded.IntConst({3}, {1, kSteps, 4})}, {1, kSteps, 4});
  Builder plain({1, 6, 6, 2});
  const int images = layers(&plain, plain.input(), 1, &plain_mm);

  EngineOptions options;
  options.input_requires_grad = true;
  options.batch_size = kBatch;
  auto a = Engine::Create(folded.Finish(unfold), options);
  ASSERT_TRUE(a.ok()) << a.status().ToString();
  options.batch_size = kBatch * kSteps;
  auto b = Engine::Create(plain.Finish(images), options);
  ASSERT_TRUE(b.ok()) << b.status().ToString();
  Engine& ea = **a;
  Engine& eb = **b;
  ASSERT_EQ(ea.input_sample_size(), kSteps * eb.input_sample_size());
  std::mt19937 rng(5);
  const std::vector<float> x =
      MakeInput(kBatch * ea.input_sample_size(), InputKind::kUniform, &rng);
  ASSERT_TRUE(ea.Forward(x.data(), kBatch, /*training=*/true).ok());
  ASSERT_TRUE(eb.Forward(x.data(), kBatch * kSteps, /*training=*/true).ok());
  const int64_t n = kBatch * kSteps * 4;
  ASSERT_EQ(ea.value(unfold).shape, std::vector<int>({kBatch, kSteps, 4}));
  ASSERT_EQ(eb.value(images).shape, std::vector<int>({kBatch * kSteps, 4}));
  EXPECT_EQ(std::vector<float>(ea.Output(), ea.Output() + n),
            std::vector<float>(eb.Output(), eb.Output() + n));
  // Moving mean after one step: momentum 0.5 of the batch mean over the 6 images' positions.
  EXPECT_EQ(std::vector<float>(ea.value(folded_mm).data),
            std::vector<float>(eb.value(plain_mm).data));
  EXPECT_NE(ea.value(folded_mm).data[0], 0.0f);

  std::uniform_real_distribution<float> u(-1.0f, 1.0f);
  std::vector<float> r(n);
  for (float& v : r) v = u(rng);
  std::copy(r.begin(), r.end(), ea.LossGrad());
  std::copy(r.begin(), r.end(), eb.LossGrad());
  ea.Backward();
  eb.Backward();
  EXPECT_EQ(std::vector<float>(ea.InputGrad(), ea.InputGrad() + x.size()),
            std::vector<float>(eb.InputGrad(), eb.InputGrad() + x.size()));
  ASSERT_EQ(ea.parameters().size(), eb.parameters().size());
  for (size_t i = 0; i < ea.parameters().size(); ++i) {
    const Parameter& pa = ea.parameters()[i];
    const Parameter& pb = eb.parameters()[i];
    EXPECT_EQ(pa.name, pb.name);
    EXPECT_EQ(std::vector<float>(pa.grad(), pa.grad() + pa.size),
              std::vector<float>(pb.grad(), pb.grad() + pb.size))
        << pa.name;
  }
}

// A first dimension that changes by a ratio the training rows do not divide, and steps left
// folded at the output (which the loss reads per sample), are clear errors naming the node or
// the tensor and the shapes.
TEST(GradCheckTest, TimeDistributedReshapesThatDoNotFoldAreClearErrors) {
  {
    Builder b({2, 6});  // a graph batch of 2: [2, 6] -> [3, 4] is 1.5 rows per row
    const int y = b.Op("RESHAPE", {b.input(), b.IntConst({2}, {3, 4})}, {3, 4});
    EngineOptions options;
    options.batch_size = 3;
    auto e = Engine::Create(b.Finish(y), options);
    ASSERT_FALSE(e.ok());
    EXPECT_EQ(e.status().code(), StatusCode::kUnsupported);
    EXPECT_NE(e.status().message().find(
                  "node 0 (RESHAPE RESHAPE): reshaping [3,6] ([2,6] in the model) to [3,4]: the "
                  "first dimension goes from 2 to 3, which does not fold or unfold 3 rows (3 * 3 "
                  "is not a multiple of 2)"),
              std::string::npos)
        << e.status().message();
  }
  {
    Builder b({1, 3, 4});  // the steps stay folded into the batch at the output
    const int fold = b.Op("RESHAPE", {b.input(), b.IntConst({2}, {3, 4})}, {3, 4});
    const int y = b.Op("TANH", {fold}, {3, 4});
    EngineOptions options;
    options.batch_size = 2;
    auto e = Engine::Create(b.Finish(y), options);
    ASSERT_TRUE(e.ok()) << e.status().ToString();
    const Status s = (*e)->CheckOutputBatch();
    EXPECT_EQ(s.code(), StatusCode::kUnsupported);
    EXPECT_NE(s.message().find("output 'TANH1' is [6,4] for a batch of 2: the loss and the "
                               "predictions need the batch as its first dimension"),
              std::string::npos)
        << s.message();
  }
}

TEST(GradCheckTest, UnsupportedOpIsAClearError) {
  Builder b({1, 4});
  const int y = b.Op("SVDF", {b.input()}, {1, 4});
  auto e = Engine::Create(b.Finish(y), EngineOptions());
  ASSERT_FALSE(e.ok());
  EXPECT_NE(e.status().message().find("SVDF"), std::string::npos) << e.status().message();
}

}  // namespace
}  // namespace train
}  // namespace edgeopt
