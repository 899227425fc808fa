// FAKE_QUANT_WEIGHT / FAKE_QUANT_ACT: forward values equal to the int8 export's integers (the
// shared rounding), the moving-average ranges, and gradient checks of the straight-through
// estimator.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <random>
#include <string>
#include <vector>

#include "src/passes/quantize/quantize.h"
#include "src/quant/quant_math.h"
#include "src/train/engine.h"
#include "src/train/fake_quant.h"

namespace edgeopt {
namespace train {
namespace {

// Finite-difference step and tolerance for the straight-through surrogates (piecewise linear).
constexpr double kStep = 1e-3;
constexpr double kTol = 1e-3;

std::vector<float> Uniform(int64_t n, float lo, float hi, uint32_t seed) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> u(lo, hi);
  std::vector<float> v(n);
  for (float& x : v) x = u(rng);
  return v;
}

struct Net {
  ir::Graph g;
  int x = -1;
  int Act(const std::string& name, const std::vector<int32_t>& shape) {
    return g.AddActivation(name, DType::kFloat32, shape);
  }
  int Node(const std::string& op, std::vector<int> in, int out, ir::Attrs attrs = {}) {
    ir::Node n;
    n.op = op;
    n.name = op + std::to_string(g.nodes.size());
    n.inputs = std::move(in);
    n.outputs = {out};
    n.attrs = std::move(attrs);
    g.AddNode(n);
    return out;
  }
  int State(const std::vector<float>& v) {
    return g.AddFloatConstant("range" + std::to_string(g.tensors.size()),
                              {static_cast<int32_t>(kRangeStateSize)}, v);
  }
};

std::unique_ptr<Engine> Compile(const ir::Graph& g, int batch, bool input_grad = false) {
  EngineOptions o;
  o.batch_size = batch;
  o.input_requires_grad = input_grad;
  auto e = Engine::Create(g, o);
  EXPECT_TRUE(e.ok()) << e.status().ToString();
  return e.ok() ? std::move(e).value() : nullptr;
}

TEST(FakeQuantWeightTest, ForwardIsTheInt8ExportsWeights) {
  struct Case {
    std::vector<int32_t> shape;
    int axis;
  } cases[] = {{{4, 3, 3, 2}, 0}, {{4, 3, 3, 2}, -1}, {{1, 3, 3, 6}, 3}, {{5, 7}, -1}};
  for (const Case& c : cases) {
    int64_t n = 1;
    for (int32_t d : c.shape) n *= d;
    std::vector<float> w = Uniform(n, -0.7f, 0.9f, 5);
    for (int64_t i = 0; i < n; i += 5) w[i] = 0.0f;  // zeros stay exactly zero
    Net net;
    net.x = net.Act("x", {1, 2});
    const int wt = net.g.AddFloatConstant("w", c.shape, w);
    const int wq = net.Node("FAKE_QUANT_WEIGHT", {wt}, net.Act("wq", c.shape),
                            {{"axis", int64_t{c.axis}}, {"num_bits", int64_t{8}}});
    net.g.inputs = {net.x};
    net.g.outputs = {wq};
    auto e = Compile(net.g, 1);
    ASSERT_NE(e, nullptr);
    const std::vector<float> x = {0.0f, 0.0f};
    ASSERT_TRUE(e->Forward(x.data(), 1, true).ok());
    std::vector<int8_t> q;
    std::vector<float> scales;
    quantize::QuantizeWeightsSymmetric(w.data(), c.shape, c.axis, &q, &scales);
    int64_t inner = 1, channels = 1;
    if (c.axis >= 0) {
      channels = c.shape[c.axis];
      for (size_t d = c.axis + 1; d < c.shape.size(); ++d) inner *= c.shape[d];
    }
    const float* y = e->value(wq).d();
    for (int64_t i = 0; i < n; ++i) {
      const int64_t ch = c.axis >= 0 ? (i / inner) % channels : 0;
      ASSERT_EQ(y[i], q[i] * scales[ch]) << "axis " << c.axis << " at " << i;
      if (w[i] == 0.0f) {
        ASSERT_EQ(y[i], 0.0f);
      }
    }
    // The largest |w| of each channel is exactly representable: +-127 * scale.
    EXPECT_EQ(scales.size(), static_cast<size_t>(channels));
  }
}

TEST(FakeQuantActTest, ForwardRoundsAsQuantizeValueAndClamps) {
  // [-1, 127/128] gives scale 1/128 and zero point 0: ties are exact.
  Net net;
  net.x = net.Act("x", {1, 12});
  const int s = net.State(InitialRangeState(true, -1.0f, 127.0f / 128.0f));
  const int y = net.Node("FAKE_QUANT_ACT", {net.x, s}, net.Act("y", {1, 12}));
  net.g.inputs = {net.x};
  net.g.outputs = {y};
  auto e = Compile(net.g, 1);
  ASSERT_NE(e, nullptr);
  const float k = 1.0f / 128.0f;
  const std::vector<float> x = {0.5f * k, -0.5f * k, 1.5f * k, -2.5f * k, 0.49f * k, 3.0f,
                                -3.0f,    0.3f,      -0.7f,    0.0f,      1.0f,      -1.0f};
  ASSERT_TRUE(e->Forward(x.data(), 1, /*training=*/false).ok());
  const quant::QuantParams p = quant::ChooseQuantParams(-1.0f, 127.0f / 128.0f, -128, 127);
  ASSERT_EQ(p.scale, k);
  ASSERT_EQ(p.zero_point, 0);
  const float* out = e->Output();
  for (size_t i = 0; i < x.size(); ++i) {
    const int32_t q = quant::QuantizeValue(x[i], p.scale, p.zero_point, -128, 127);
    EXPECT_EQ(out[i], (q - p.zero_point) * p.scale) << i;
  }
  EXPECT_EQ(out[0], k);  // half away from zero
  EXPECT_EQ(out[1], -k);
  EXPECT_EQ(out[2], 2 * k);
  EXPECT_EQ(out[3], -3 * k);
  EXPECT_EQ(out[4], 0.0f);
  EXPECT_EQ(out[5], 127 * k);  // clamped
  EXPECT_EQ(out[6], -1.0f);
  EXPECT_EQ(out[10], 127 * k);

  // Fixed parameters (a softmax output): 1/256, -128.
  Net fixed;
  fixed.x = fixed.Act("x", {1, 3});
  const int fy = fixed.Node("FAKE_QUANT_ACT", {fixed.x}, fixed.Act("y", {1, 3}),
                            {{"fixed_scale", 1.0 / 256}, {"fixed_zero_point", int64_t{-128}}});
  fixed.g.inputs = {fixed.x};
  fixed.g.outputs = {fy};
  auto fe = Compile(fixed.g, 1);
  ASSERT_NE(fe, nullptr);
  const std::vector<float> probs = {0.1f, 0.7f, 1.0f};
  ASSERT_TRUE(fe->Forward(probs.data(), 1, false).ok());
  EXPECT_EQ(fe->Output()[0], 26.0f / 256);
  EXPECT_EQ(fe->Output()[1], 179.0f / 256);
  EXPECT_EQ(fe->Output()[2], 255.0f / 256);
}

TEST(FakeQuantActTest, MovingAverageRangesSharedByAGroup) {
  // Two fake-quants share one range (a concatenation's inputs): the range follows the union.
  Net net;
  net.x = net.Act("x", {1, 4});
  const int s = net.State(InitialRangeState(false));
  const int a = net.Node("FAKE_QUANT_ACT", {net.x, s}, net.Act("a", {1, 4}), {{"ema_decay", 0.9}});
  const int doubled = net.Node("ADD", {a, a}, net.Act("d", {1, 4}));
  const int b =
      net.Node("FAKE_QUANT_ACT", {doubled, s}, net.Act("b", {1, 4}), {{"ema_decay", 0.9}});
  net.g.inputs = {net.x};
  net.g.outputs = {b};
  auto e = Compile(net.g, 1);
  ASSERT_NE(e, nullptr);
  const float* st = e->value(s).d();
  // Uninitialized: the identity, in inference and for the first observer.
  std::vector<float> x = {-0.5f, 0.25f, 1.0f, 0.0f};
  ASSERT_TRUE(e->Forward(x.data(), 1, false).ok());
  EXPECT_EQ(st[kRangeInitialized], 0.0f);
  EXPECT_EQ(e->Output()[1], 0.5f);
  // Step 1 sets the range to the union of both observers' batches (x, and 2 * a).
  auto batch_range = [&](const std::vector<float>& in, float* lo, float* hi) {
    const float* d = e->value(doubled).d();
    *lo = *std::min_element(in.begin(), in.end());
    *hi = *std::max_element(in.begin(), in.end());
    for (int i = 0; i < 4; ++i) {
      *lo = std::min(*lo, d[i]);
      *hi = std::max(*hi, d[i]);
    }
  };
  float lo = 0.0f, hi = 0.0f;
  ASSERT_TRUE(e->Forward(x.data(), 1, true).ok());
  batch_range(x, &lo, &hi);
  EXPECT_EQ(st[kRangeInitialized], 1.0f);
  EXPECT_EQ(st[kRangeMin], lo);
  EXPECT_EQ(st[kRangeMax], hi);
  EXPECT_NEAR(lo, -1.0f, 1e-5);
  EXPECT_NEAR(hi, 2.0f, 1e-5);
  // Step 2: the moving average (decay 0.9) toward the new union.
  const float prev_lo = lo, prev_hi = hi;
  x = {-1.0f, 0.125f, 0.25f, 0.0f};
  ASSERT_TRUE(e->Forward(x.data(), 1, true).ok());
  batch_range(x, &lo, &hi);
  EXPECT_NEAR(lo, -2.0f, 1e-2);
  EXPECT_FLOAT_EQ(st[kRangeMin], 0.9f * prev_lo + (1.0f - 0.9f) * lo);
  EXPECT_FLOAT_EQ(st[kRangeMax], 0.9f * prev_hi + (1.0f - 0.9f) * hi);
  // Inference does not move it.
  const float min = st[kRangeMin], max = st[kRangeMax];
  ASSERT_TRUE(e->Forward(x.data(), 1, false).ok());
  EXPECT_EQ(st[kRangeMin], min);
  EXPECT_EQ(st[kRangeMax], max);
  // The state is exported with the weights (it is engine state, like BN statistics).
  ir::Graph copy = net.g;
  ASSERT_TRUE(e->ExportWeights(&copy).ok());
  EXPECT_EQ(copy.tensors[s].DataAs<float>()[kRangeMin], min);
}

// A LayerNormalization's variance fake-quantized to 0: RSQRT gives +inf, which the fake-quant
// after it clamps to the top of its range (TFLite's int8 RSQRT of 0), leaves out of the range
// statistics and passes no gradient through: no NaN in the step.
TEST(FakeQuantActTest, RsqrtOfZeroIsTheTopOfTheRange) {
  Net net;
  net.x = net.Act("x", {1, 4});
  const int s = net.State(InitialRangeState(false));
  const int r = net.Node("RSQRT", {net.x}, net.Act("r", {1, 4}));
  const int y = net.Node("FAKE_QUANT_ACT", {r, s}, net.Act("y", {1, 4}));
  net.g.inputs = {net.x};
  net.g.outputs = {y};
  auto e = Compile(net.g, 1, /*input_grad=*/true);
  ASSERT_NE(e, nullptr);
  const std::vector<float> x = {0.25f, 0.0f, 1.0f, 4.0f};  // rsqrt: 2, inf, 1, 0.5
  ASSERT_TRUE(e->Forward(x.data(), 1, /*training=*/true).ok());
  const float* st = e->value(s).d();
  EXPECT_EQ(st[kRangeMin], 0.5f);  // the finite values' range (then widened to hold 0)
  EXPECT_EQ(st[kRangeMax], 2.0f);
  const float* out = e->Output();
  const quant::QuantParams p = quant::ChooseQuantParams(0.0f, 2.0f, -128, 127);
  EXPECT_EQ(out[1], (127 - p.zero_point) * p.scale);  // +inf clamped to the top
  EXPECT_NEAR(out[0], 2.0f, p.scale);
  const std::vector<float> dy = {1.0f, 1.0f, 1.0f, 1.0f};
  std::copy(dy.begin(), dy.end(), e->LossGrad());
  e->Backward();
  const float* dx = e->InputGrad();
  EXPECT_EQ(dx[1], 0.0f);
  EXPECT_NEAR(dx[2], -0.5f, 1e-6f);  // d/dx x^(-1/2) at 1
  for (int i = 0; i < 4; ++i) EXPECT_TRUE(std::isfinite(dx[i])) << i;
}

TEST(FakeQuantActTest, VectorizedRoundingIsQuantizeValue) {
  std::mt19937 rng(17);
  std::uniform_real_distribution<float> u(-3.0f, 3.0f);
  std::vector<float> x;
  for (int i = 0; i < 200000; ++i) x.push_back(u(rng));
  for (int k = -300; k <= 300; ++k) {  // ties and their neighbours for scale 1/64
    const float tie = (k + 0.5f) / 64.0f;
    x.push_back(tie);
    x.push_back(std::nextafter(tie, 10.0f));
    x.push_back(std::nextafter(tie, -10.0f));
  }
  for (float v : {0.0f, -0.0f, 1e4f, -1e4f}) x.push_back(v);
  struct Params {
    float scale;
    int32_t zp, qmin, qmax;
  } cases[] = {{1.0f / 64, 0, -128, 127},
               {0.0123f, -17, -128, 127},
               {0.2f, 100, -128, 127},
               {1e-3f, -128, -128, 127},
               {0.05f, 3, -127, 127}};
  std::vector<float> y(x.size());
  for (const Params& p : cases) {
    FakeQuantize(x.data(), static_cast<int64_t>(x.size()), p.scale, p.zp, p.qmin, p.qmax, y.data());
    for (size_t i = 0; i < x.size(); ++i) {
      const int32_t q = quant::QuantizeValue(x[i], p.scale, p.zp, p.qmin, p.qmax);
      ASSERT_EQ(y[i], static_cast<float>(q - p.zp) * p.scale)
          << "x " << x[i] << " scale " << p.scale << " zp " << p.zp;
    }
  }
  // Far out of range (where QuantizeValue's int32 conversion would overflow): the clamp ends.
  const float huge[] = {1e10f, -1e10f, 3e9f, -3e9f};
  float out[4];
  FakeQuantize(huge, 4, 1.0f / 64, 0, -128, 127, out);
  EXPECT_EQ(out[0], 127.0f / 64);
  EXPECT_EQ(out[1], -2.0f);
  EXPECT_EQ(out[2], 127.0f / 64);
  EXPECT_EQ(out[3], -2.0f);
}

// Gradient check of the straight-through estimators against central differences of their
// surrogates: clamp(x, lo, hi) for activations (lo, hi = the representable range), the
// identity for weights.
TEST(FakeQuantGradCheckTest, StraightThroughMatchesTheSurrogates) {
  Net net;
  net.x = net.Act("x", {1, 6});
  const int s = net.State(InitialRangeState(true, -0.8f, 1.2f));
  const int w = net.g.AddFloatConstant("w", {3, 6}, Uniform(18, -1.0f, 1.0f, 9));
  net.g.tensors[w].origin = "dense/kernel";
  const int xq = net.Node("FAKE_QUANT_ACT", {net.x, s}, net.Act("xq", {1, 6}));
  const int wq = net.Node("FAKE_QUANT_WEIGHT", {w}, net.Act("wq", {3, 6}), {{"axis", int64_t{0}}});
  const int y = net.Node("FULLY_CONNECTED", {xq, wq, -1}, net.Act("y", {1, 3}));
  net.g.inputs = {net.x};
  net.g.outputs = {y};
  const int batch = 4;
  auto e = Compile(net.g, batch, /*input_grad=*/true);
  ASSERT_NE(e, nullptr);
  // Inputs on both sides of the range, away from its ends by more than the step.
  std::vector<float> x = Uniform(batch * 6, -1.5f, 2.0f, 3);
  const quant::QuantParams p = quant::ChooseQuantParams(-0.8f, 1.2f, -128, 127);
  const float lo = (-128 - p.zero_point) * p.scale, hi = (127 - p.zero_point) * p.scale;
  for (float& v : x) {
    if (std::fabs(v - lo) < 0.01f || std::fabs(v - hi) < 0.01f) v += 0.05f;
  }
  const std::vector<float> r = Uniform(batch * 3, -1.0f, 1.0f, 4);
  ASSERT_TRUE(e->Forward(x.data(), batch, false).ok());
  std::copy(r.begin(), r.end(), e->LossGrad());
  e->Backward();
  const float* wq_values = e->value(wq).d();
  const float* xq_values = e->value(xq).d();
  // The surrogate loss: sum r * FC(clamp(x), w) with the quantized operands held where the
  // estimator holds them (d/dx through clamp at xq's weights, d/dw at xq's activations).
  auto loss_x = [&](const std::vector<float>& xs) {
    double l = 0.0;
    for (int b = 0; b < batch; ++b) {
      for (int o = 0; o < 3; ++o) {
        double acc = 0.0;
        for (int i = 0; i < 6; ++i) {
          const double c = std::min<double>(hi, std::max<double>(lo, xs[b * 6 + i]));
          acc += c * wq_values[o * 6 + i];
        }
        l += r[b * 3 + o] * acc;
      }
    }
    return l;
  };
  auto loss_w = [&](const std::vector<float>& ws) {
    double l = 0.0;
    for (int b = 0; b < batch; ++b) {
      for (int o = 0; o < 3; ++o) {
        double acc = 0.0;
        for (int i = 0; i < 6; ++i) acc += double(xq_values[b * 6 + i]) * ws[o * 6 + i];
        l += r[b * 3 + o] * acc;
      }
    }
    return l;
  };
  std::vector<float> xs = x;
  for (size_t i = 0; i < xs.size(); ++i) {
    const float saved = xs[i];
    xs[i] = saved + kStep;
    const double lp = loss_x(xs);
    xs[i] = saved - kStep;
    const double lm = loss_x(xs);
    xs[i] = saved;
    EXPECT_NEAR(e->InputGrad()[i], (lp - lm) / (2 * kStep), kTol) << "x[" << i << "] = " << saved;
  }
  const Parameter& pw = e->parameters()[0];
  ASSERT_EQ(pw.tensor, w);
  std::vector<float> ws(pw.data(), pw.data() + pw.size);
  for (size_t i = 0; i < ws.size(); ++i) {
    const float saved = ws[i];
    ws[i] = saved + kStep;
    const double lp = loss_w(ws);
    ws[i] = saved - kStep;
    const double lm = loss_w(ws);
    ws[i] = saved;
    EXPECT_NEAR(pw.grad()[i], (lp - lm) / (2 * kStep), kTol) << "w[" << i << "]";
  }
}

// Through a network, the gradient of every weight is the float network's gradient at the
// fake-quantized point: fake-quant only changes the values the float ops see.
TEST(FakeQuantGradCheckTest, NetworkGradientsAreTheFloatNetworksAtTheQuantizedPoint) {
  auto build = [](bool quantized, const std::vector<float>& w1, const std::vector<float>& w2,
                  int* p1) {
    Net net;
    net.x = net.Act("x", {1, 5, 5, 2});
    int h = net.x;
    const int k1 = net.g.AddFloatConstant("k1", {3, 3, 3, 2}, w1);
    const int k2 = net.g.AddFloatConstant("k2", {4, 27}, w2);
    net.g.tensors[k1].origin = "conv/kernel";
    net.g.tensors[k2].origin = "dense/kernel";
    *p1 = k1;
    int c1 = k1, c2 = k2;
    if (quantized) {
      h = net.Node("FAKE_QUANT_ACT", {h, net.State(InitialRangeState(true, 0.0f, 1.0f))},
                   net.Act("xq", {1, 5, 5, 2}));
      c1 =
          net.Node("FAKE_QUANT_WEIGHT", {k1}, net.Act("k1q", {3, 3, 3, 2}), {{"axis", int64_t{0}}});
    }
    h = net.Node(
        "CONV_2D", {h, c1, -1}, net.Act("c", {1, 3, 3, 3}),
        {{"padding", std::string("VALID")}, {"fused_activation_function", std::string("RELU")}});
    if (quantized) {
      h = net.Node("FAKE_QUANT_ACT", {h, net.State(InitialRangeState(true, 0.0f, 50.0f))},
                   net.Act("cq", {1, 3, 3, 3}));
      c2 = net.Node("FAKE_QUANT_WEIGHT", {k2}, net.Act("k2q", {4, 27}), {{"axis", int64_t{-1}}});
    }
    h = net.Node("FULLY_CONNECTED", {h, c2, -1}, net.Act("y", {1, 4}));
    net.g.inputs = {net.x};
    net.g.outputs = {h};
    return net.g;
  };
  const std::vector<float> w1 = Uniform(54, -1.0f, 1.0f, 11), w2 = Uniform(108, -1.0f, 1.0f, 12);
  int k1 = -1;
  const ir::Graph qg = build(true, w1, w2, &k1);
  const int batch = 3;
  auto qe = Compile(qg, batch);
  ASSERT_NE(qe, nullptr);
  const std::vector<float> x = Uniform(batch * 50, 0.0f, 1.0f, 13);
  const std::vector<float> r = Uniform(batch * 4, -1.0f, 1.0f, 14);
  ASSERT_TRUE(qe->Forward(x.data(), batch, false).ok());
  std::copy(r.begin(), r.end(), qe->LossGrad());
  qe->Backward();
  // The float network with the quantized weights, fed the quantized input; the hidden
  // activations stay inside their range, so the float network sees the quantized values up to
  // the rounding of the hidden layer, whose gradient is the identity there.
  const Value& k1q = qe->value(qg.nodes[1].outputs[0]);
  std::vector<float> w1q(k1q.data.begin(), k1q.data.begin() + 54);
  std::vector<float> w2q(qe->value(qg.nodes[4].outputs[0]).data.begin(),
                         qe->value(qg.nodes[4].outputs[0]).data.begin() + 108);
  std::vector<float> xq(qe->value(qg.nodes[0].outputs[0]).data.begin(),
                        qe->value(qg.nodes[0].outputs[0]).data.begin() + batch * 50);
  int fk1 = -1;
  const ir::Graph fg = build(false, w1q, w2q, &fk1);
  // Replace the hidden activation by the quantized one: compare dW2 = sum r * h_q (exact), and
  // dW1 through the float network at (xq, w1q) — equal because ReLU's mask and the fake-quant's
  // range mask agree on these inputs.
  auto fe = Compile(fg, batch);
  ASSERT_NE(fe, nullptr);
  ASSERT_TRUE(fe->Forward(xq.data(), batch, false).ok());
  std::copy(r.begin(), r.end(), fe->LossGrad());
  fe->Backward();
  const Parameter* q1 = nullptr;
  const Parameter* f1 = nullptr;
  const Parameter* q2 = nullptr;
  for (const Parameter& p : qe->parameters()) (p.name == "conv/kernel" ? q1 : q2) = &p;
  for (const Parameter& p : fe->parameters()) {
    if (p.name == "conv/kernel") f1 = &p;
  }
  ASSERT_TRUE(q1 && f1 && q2);
  // dW1 does not depend on W2's rounding beyond the FC weights the estimator passes through.
  for (int64_t i = 0; i < q1->size; ++i) EXPECT_NEAR(q1->grad()[i], f1->grad()[i], 1e-4) << i;
  // dW2[o, j] = sum_b r[b, o] * h_q[b, j], with h_q the fake-quantized hidden layer.
  const float* hq = qe->value(qg.nodes[3].outputs[0]).d();
  for (int o = 0; o < 4; ++o) {
    for (int j = 0; j < 27; ++j) {
      double expect = 0.0;
      for (int b = 0; b < batch; ++b) expect += double(r[b * 4 + o]) * hq[b * 27 + j];
      EXPECT_NEAR(q2->grad()[o * 27 + j], expect, 1e-4) << o << "," << j;
    }
  }
}

}  // namespace
}  // namespace train
}  // namespace edgeopt
