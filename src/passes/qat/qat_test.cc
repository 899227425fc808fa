// The QAT graph (where the fake-quants go, which range each shares), its export through the
// post-training quantize pass, and agreement between the fake-quant model and the int8 file
// run by edgeopt's runtime.
#include "src/passes/qat/qat.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <random>

#include "src/data/dataset.h"
#include "src/export/tflite/export.h"
#include "src/passes/pipeline.h"
#include "src/passes/quantize/calibrate.h"
#include "src/report/evaluate.h"
#include "src/runtime/interpreter.h"
#include "src/train/presets.h"
#include "src/train/trainer.h"

namespace edgeopt {
namespace qat {
namespace {

// Outputs of the fake-quant model and the int8 file may differ by rounding the int8 kernels do
// in integers (bias, requantization multiplier): a few output steps at most.
constexpr double kMaxOutputSteps = 3.0;
constexpr double kMinTop1Agreement = 0.95;

ir::Graph FmnistExportGraph(uint64_t seed) {
  auto g = train::BuildPresetGraph("fmnist-cnn", seed);
  EXPECT_TRUE(g.ok());
  ir::Graph graph = std::move(g).value();
  EXPECT_TRUE(passes::PrepareForExport(&graph).ok());
  return graph;
}

int CountOps(const ir::Graph& g, const std::string& op) {
  int n = 0;
  for (const ir::Node& node : g.nodes) n += node.op == op;
  return n;
}

std::vector<float> RandomImages(int64_t n, int64_t per, uint32_t seed) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> u(0.0f, 1.0f);
  std::vector<float> x(static_cast<size_t>(n * per));
  for (float& v : x) v = u(rng) < 0.4f ? 0.0f : u(rng);
  return x;
}

quantize::RangeMap CalibrateOn(const ir::Graph& g, const std::vector<float>& x, int64_t per) {
  const int64_t n = static_cast<int64_t>(x.size()) / per;
  quantize::CalibrateOptions co;
  co.samples = n;
  auto r = quantize::Calibrate(
      g,
      [&](int64_t i, rt::Interpreter* interp) {
        return report::WriteFloatInput(interp->input_tensor(0), x.data() + (i % n) * per, per);
      },
      co);
  EXPECT_TRUE(r.ok()) << r.status().ToString();
  return r.ok() ? *r : quantize::RangeMap();
}

// A labeled data set of random images (labels from a fixed linear rule, so training moves).
data::Dataset RandomData(int64_t n, uint32_t seed) {
  data::Dataset ds;
  ds.name = "random";
  ds.sample_shape = {28, 28, 1};
  ds.size = n;
  ds.x = RandomImages(n, 784, seed);
  ds.num_classes = 10;
  for (int64_t i = 0; i < n; ++i) {
    double s = 0.0;
    for (int p = 0; p < 784; p += 7) s += ds.x[i * 784 + p] * ((p % 10) - 4.5);
    ds.labels.push_back(static_cast<int32_t>(std::fabs(s) * 3) % 10);
  }
  return ds;
}

// Trains the QAT model on `train_data`, exports it, and compares the fake-quant engine with the
// int8 file in the runtime on the inputs `x` (64 samples).
void ExpectFileAgreesOn(QatModel* model, const data::Dataset& train_data,
                        const std::vector<float>& x, bool per_channel_check) {
  train::EngineOptions eo;
  eo.batch_size = 16;
  auto engine = train::Engine::Create(model->graph, eo);
  ASSERT_TRUE(engine.ok()) << engine.status().ToString();
  train::TrainOptions to;
  to.epochs = 1;
  to.batch_size = 16;
  to.optimizer.learning_rate = 3e-3f;
  auto trainer = train::Trainer::Create(engine->get(), to, train_data);
  ASSERT_TRUE(trainer.ok()) << trainer.status().ToString();
  ASSERT_TRUE((*trainer)->Fit(train_data, nullptr).ok());
  ASSERT_TRUE((*engine)->ExportWeights(&model->graph).ok());
  auto q = ExportInt8(*model, quantize::IoType::kFloat);
  ASSERT_TRUE(q.ok()) << q.status().ToString();
  EXPECT_TRUE(CheckFullInteger(*q).ok());
  if (per_channel_check) {
    for (const ir::Node& n : q->nodes) {
      if (n.op == "CONV_2D" || n.op == "DEPTHWISE_CONV_2D") {
        EXPECT_EQ(q->tensors[n.inputs[1]].quant.per_channel(), model->options.per_channel);
      }
    }
  }
  auto bytes = ExportTflite(*q);
  ASSERT_TRUE(bytes.ok()) << bytes.status().ToString();
  auto interp = rt::Interpreter::Create(bytes->data(), bytes->size(), {});
  ASSERT_TRUE(interp.ok()) << interp.status().ToString();
  const int64_t per = (*engine)->input_sample_size();
  const int64_t classes = (*engine)->output_sample_size();
  const int n = 64;
  ASSERT_EQ(static_cast<int64_t>(x.size()), n * per);
  std::vector<float> fq(static_cast<size_t>(n * classes));
  ASSERT_TRUE(train::PredictOutputs(engine->get(), x.data(), n, 16, false, fq.data()).ok());
  const rt::Tensor* out = (*interp)->output_tensor(0);
  // The output's step: the int8 tensor before the final DEQUANTIZE.
  const ir::Tensor& q_out = q->tensors[q->nodes.back().inputs[0]];
  const double step = q_out.quant.scale[0];
  int agree = 0;
  double worst = 0.0;
  for (int i = 0; i < n; ++i) {
    ASSERT_TRUE(report::WriteFloatInput((*interp)->input_tensor(0), x.data() + i * per, per).ok());
    ASSERT_TRUE((*interp)->Invoke().ok());
    std::vector<float> y(static_cast<size_t>(classes));
    ASSERT_TRUE(report::ReadFloatOutput(out, y.data(), classes).ok());
    const float* f = fq.data() + i * classes;
    for (int64_t c = 0; c < classes; ++c) worst = std::max(worst, std::fabs(y[c] - f[c]) / step);
    agree +=
        std::max_element(y.begin(), y.end()) - y.begin() == std::max_element(f, f + classes) - f;
  }
  EXPECT_LE(worst, kMaxOutputSteps);
  EXPECT_GE(agree, kMinTop1Agreement * n);
  std::printf("[ qat ] int8 file vs fake-quant: max %.1f output steps, top-1 %d/%d\n", worst, agree,
              n);
}

// The same on random 28x28 images (labels from a fixed linear rule), `steps` batches of 16.
void ExpectFileAgreesWithFakeQuant(QatModel* model, int steps, bool per_channel_check = true) {
  ExpectFileAgreesOn(model, RandomData(16 * steps, 21), RandomImages(64, 784, 77),
                     per_channel_check);
}

TEST(QatGraphTest, FakeQuantsWhereTheInt8ModelHasIntegers) {
  const ir::Graph fg = FmnistExportGraph(1);
  // conv(relu) -> maxpool -> conv(relu) -> maxpool -> fc(relu) -> fc (logits)
  ASSERT_EQ(CountOps(fg, "CONV_2D"), 2);
  ASSERT_EQ(CountOps(fg, "FULLY_CONNECTED"), 2);
  auto m = BuildQatModel(fg, {}, {});
  ASSERT_TRUE(m.ok()) << m.status().ToString();
  EXPECT_EQ(m->num_weight_quantizers, 4);
  // The input, both convolutions, both dense layers; the pools keep the grid.
  EXPECT_EQ(m->num_activation_quantizers, 5);
  EXPECT_EQ(m->num_range_states, 5);
  EXPECT_EQ(CountOps(m->graph, "FAKE_QUANT_ACT"), 5);
  EXPECT_EQ(CountOps(m->graph, "FAKE_QUANT_WEIGHT"), 4);
  for (const ir::Node& n : m->graph.nodes) {
    if (n.op == "MAX_POOL_2D") {
      // A pool's input and output share one range.
      const int in = n.inputs[0];
      const int producer = m->graph.Producer(in);
      ASSERT_GE(producer, 0);
      EXPECT_EQ(m->graph.nodes[producer].op, "FAKE_QUANT_ACT");
      EXPECT_EQ(m->graph.nodes[producer].inputs[1], m->range_state[n.outputs[0]]);
    }
    if (n.op == "FAKE_QUANT_WEIGHT") {
      const int consumer = m->graph.Consumers(n.outputs[0])[0];
      const std::string& op = m->graph.nodes[consumer].op;
      EXPECT_EQ(ir::GetInt(n.attrs, "axis", 99), op == "CONV_2D" ? 0 : -1) << op;
    }
  }
  // The output is the fake-quantized logits.
  EXPECT_EQ(m->graph.nodes[m->graph.Producer(m->graph.outputs[0])].op, "FAKE_QUANT_ACT");
  // --per-tensor: one scale per weight tensor everywhere.
  QatOptions per_tensor;
  per_tensor.per_channel = false;
  auto t = BuildQatModel(fg, per_tensor, {});
  ASSERT_TRUE(t.ok());
  for (const ir::Node& n : t->graph.nodes) {
    if (n.op == "FAKE_QUANT_WEIGHT") {
      EXPECT_EQ(ir::GetInt(n.attrs, "axis", 99), -1);
    }
  }
  // Uninitialized ranges cannot be exported.
  auto q = ExportInt8(*m, quantize::IoType::kFloat);
  ASSERT_FALSE(q.ok());
  EXPECT_NE(q.status().message().find("no learned range"), std::string::npos);
}

TEST(QatGraphTest, StepZeroExportIsThePostTrainingModel) {
  const ir::Graph fg = FmnistExportGraph(2);
  const quantize::RangeMap ranges = CalibrateOn(fg, RandomImages(16, 784, 3), 784);
  for (bool per_channel : {true, false}) {
    QatOptions o;
    o.per_channel = per_channel;
    auto m = BuildQatModel(fg, o, ranges);
    ASSERT_TRUE(m.ok()) << m.status().ToString();
    for (quantize::IoType io : {quantize::IoType::kFloat, quantize::IoType::kInt8}) {
      auto q = ExportInt8(*m, io);
      ASSERT_TRUE(q.ok()) << q.status().ToString();
      quantize::QuantizeOptions qo;
      qo.per_channel = per_channel;
      qo.io = io;
      auto ptq = quantize::QuantizeGraph(fg, qo, ranges);
      ASSERT_TRUE(ptq.ok());
      auto a = ExportTflite(*q);
      auto b = ExportTflite(*ptq);
      ASSERT_TRUE(a.ok() && b.ok());
      EXPECT_TRUE(*a == *b) << "per_channel " << per_channel;
      EXPECT_EQ(CountOps(*q, "QUANTIZE"), io == quantize::IoType::kFloat ? 1 : 0);
      EXPECT_EQ(CountOps(*q, "DEQUANTIZE"), io == quantize::IoType::kFloat ? 1 : 0);
    }
  }
}

TEST(QatGraphTest, TrainedModelFileAgreesWithFakeQuantModel) {
  const ir::Graph fg = FmnistExportGraph(3);
  const quantize::RangeMap ranges = CalibrateOn(fg, RandomImages(16, 784, 4), 784);
  for (bool per_channel : {true, false}) {
    QatOptions o;
    o.per_channel = per_channel;
    o.ema_decay = 0.9f;
    auto m = BuildQatModel(fg, o, ranges);
    ASSERT_TRUE(m.ok()) << m.status().ToString();
    SCOPED_TRACE(per_channel ? "per-channel" : "per-tensor");
    ExpectFileAgreesWithFakeQuant(&*m, 6);
  }
}

// x -> DEPTHWISE(relu6) -> {AVERAGE_POOL, MAX_POOL} -> CONCAT -> ADD(itself) -> MEAN -> FC ->
// SOFTMAX: shared ranges across a concatenation, a recomputing pool, an independent ADD and
// MEAN, and the softmax output left to the loss.
void AddOp(ir::Graph* g, const std::string& op, std::vector<int> in, int out,
           ir::Attrs attrs = {}) {
  ir::Node n;
  n.op = op;
  n.name = op;
  n.inputs = std::move(in);
  n.outputs = {out};
  n.attrs = std::move(attrs);
  g->AddNode(std::move(n));
}

ir::Graph BranchyGraph() {
  ir::Graph g;
  std::mt19937 rng(5);
  std::uniform_real_distribution<float> u(-0.5f, 0.5f);
  auto values = [&](int n) {
    std::vector<float> v(n);
    for (float& x : v) x = u(rng);
    return v;
  };
  const int x = g.AddActivation("x", DType::kFloat32, {1, 28, 28, 1});
  const int dw_w = g.AddFloatConstant("dw/kernel", {1, 3, 3, 4}, values(36));
  const int dw_b = g.AddFloatConstant("dw/bias", {4}, values(4));
  const int dw = g.AddActivation("dw", DType::kFloat32, {1, 13, 13, 4});
  ir::Node n;
  n.op = "DEPTHWISE_CONV_2D";
  n.name = "dw";
  n.inputs = {x, dw_w, dw_b};
  n.outputs = {dw};
  n.attrs = {{"padding", std::string("VALID")},
             {"stride_h", int64_t{2}},
             {"stride_w", int64_t{2}},
             {"depth_multiplier", int64_t{4}},
             {"fused_activation_function", std::string("RELU6")}};
  g.AddNode(n);
  const ir::Attrs pool = {
      {"padding", std::string("VALID")}, {"stride_h", int64_t{2}},
      {"stride_w", int64_t{2}},          {"filter_height", int64_t{2}},
      {"filter_width", int64_t{2}},      {"fused_activation_function", std::string("NONE")}};
  const int avg = g.AddActivation("avg", DType::kFloat32, {1, 6, 6, 4});
  AddOp(&g, "AVERAGE_POOL_2D", {dw}, avg, pool);
  const int mx = g.AddActivation("max", DType::kFloat32, {1, 6, 6, 4});
  AddOp(&g, "MAX_POOL_2D", {dw}, mx, pool);
  const int cat = g.AddActivation("cat", DType::kFloat32, {1, 6, 6, 8});
  AddOp(&g, "CONCATENATION", {avg, mx}, cat,
        {{"axis", int64_t{3}}, {"fused_activation_function", std::string("NONE")}});
  const int sum = g.AddActivation("sum", DType::kFloat32, {1, 6, 6, 8});
  AddOp(&g, "ADD", {cat, cat}, sum, {{"fused_activation_function", std::string("NONE")}});
  const int axes = g.AddConstant("axes", DType::kInt32, {2}, std::vector<int32_t>{1, 2}.data(), 8);
  const int mean = g.AddActivation("mean", DType::kFloat32, {1, 8});
  AddOp(&g, "MEAN", {sum, axes}, mean, {{"keep_dims", false}});
  const int fc_w = g.AddFloatConstant("fc/kernel", {10, 8}, values(80));
  const int fc_b = g.AddFloatConstant("fc/bias", {10}, values(10));
  const int logits = g.AddActivation("logits", DType::kFloat32, {1, 10});
  AddOp(&g, "FULLY_CONNECTED", {mean, fc_w, fc_b}, logits,
        {{"fused_activation_function", std::string("NONE")}});
  const int probs = g.AddActivation("probs", DType::kFloat32, {1, 10});
  AddOp(&g, "SOFTMAX", {logits}, probs, {{"beta", 1.0}});
  g.inputs = {x};
  g.outputs = {probs};
  return g;
}

TEST(QatGraphTest, SharedRangesAcrossConcatenationAndPools) {
  const ir::Graph fg = BranchyGraph();
  ASSERT_TRUE(fg.Validate().ok());
  const quantize::RangeMap ranges = CalibrateOn(fg, RandomImages(16, 784, 6), 784);
  auto m = BuildQatModel(fg, {}, ranges);
  ASSERT_TRUE(m.ok()) << m.status().ToString();
  // Input, depthwise, average pool (recomputes), ADD, MEAN, FC; not max pool, concat, softmax.
  EXPECT_EQ(m->num_activation_quantizers, 6);
  // Ranges: input, {dw, avg, max, cat}, add, mean, fc.
  EXPECT_EQ(m->num_range_states, 5);
  auto id = [&](const std::string& name) {
    for (size_t t = 0; t < fg.tensors.size(); ++t) {
      if (fg.tensors[t].name == name) return static_cast<int>(t);
    }
    return -1;
  };
  ASSERT_GE(m->range_state[id("dw")], 0);
  for (const char* name : {"avg", "max", "cat"}) {
    EXPECT_EQ(m->range_state[id(name)], m->range_state[id("dw")]) << name;
  }
  EXPECT_NE(m->range_state[id("sum")], m->range_state[id("dw")]);
  EXPECT_EQ(m->graph.nodes[m->graph.Producer(m->graph.outputs[0])].op, "SOFTMAX");
  ExpectFileAgreesWithFakeQuant(&*m, 4);
}

// A Keras Embedding in export form, ids [1, 8] (floats) -> CAST -> GATHER(table [50, 6]) -> MEAN
// -> FC: the ids stay float and unquantized, CAST + GATHER train as EMBEDDING with the table
// fake-quantized on the gathered rows' range (the int8 file's table shares its scale), and
// the trained file agrees with the fake-quant model.
TEST(QatGraphTest, EmbeddingTrainsWithItsInt8Table) {
  constexpr int kVocab = 50, kLen = 8, kDim = 6;
  ir::Graph fg;
  std::mt19937 rng(9);
  std::normal_distribution<float> normal(0.0f, 0.3f);
  std::vector<float> table(kVocab * kDim);
  for (float& v : table) v = normal(rng);
  // An outlier in the last row, which no id below reads: the table's range (the int8 file's
  // scale) is wider than the gathered rows'.
  table[(kVocab - 1) * kDim + 2] = 1.5f;
  const int ids = fg.AddActivation("ids", DType::kFloat32, {1, kLen});
  const int ids32 = fg.AddActivation("ids/int32", DType::kInt32, {1, kLen});
  AddOp(&fg, "CAST", {ids}, ids32);
  const int tab = fg.AddFloatConstant("emb/embeddings", {kVocab, kDim}, table);
  const int rows = fg.AddActivation("emb", DType::kFloat32, {1, kLen, kDim});
  AddOp(&fg, "GATHER", {tab, ids32}, rows, {{"axis", int64_t{0}}, {"batch_dims", int64_t{0}}});
  const int axes = fg.AddConstant("axes", DType::kInt32, {1}, std::vector<int32_t>{1}.data(), 4);
  const int mean = fg.AddActivation("gap", DType::kFloat32, {1, kDim});
  AddOp(&fg, "MEAN", {rows, axes}, mean, {{"keep_dims", false}});
  std::uniform_real_distribution<float> u(-0.5f, 0.5f);
  std::vector<float> w(4 * kDim), b(4);
  for (float& v : w) v = u(rng);
  for (float& v : b) v = u(rng);
  const int fc_w = fg.AddFloatConstant("out/kernel", {4, kDim}, w);
  const int fc_b = fg.AddFloatConstant("out/bias", {4}, b);
  const int logits = fg.AddActivation("logits", DType::kFloat32, {1, 4});
  AddOp(&fg, "FULLY_CONNECTED", {mean, fc_w, fc_b}, logits,
        {{"fused_activation_function", std::string("NONE")}});
  fg.inputs = {ids};
  fg.outputs = {logits};
  ASSERT_TRUE(fg.Validate().ok());

  // Token ids as a data set stores them; labels from the tokens below 10.
  auto make = [&](int64_t n, uint32_t seed) {
    std::mt19937 r(seed);
    data::Dataset ds;
    ds.name = "ids";
    ds.sample_shape = {kLen};
    ds.size = n;
    ds.num_classes = 4;
    for (int64_t i = 0; i < n; ++i) {
      int low = 0;
      for (int k = 0; k < kLen; ++k) {
        const int id = static_cast<int>(r() % (kVocab - 1));
        low += id < 10;
        ds.x.push_back(static_cast<float>(id));
      }
      ds.labels.push_back(std::min(low, 3));
    }
    return ds;
  };
  const data::Dataset calib = make(32, 1);
  quantize::CalibrateOptions co;
  co.samples = calib.size;
  auto ranges = quantize::Calibrate(
      fg,
      [&](int64_t i, rt::Interpreter* interp) {
        return report::WriteFloatInput(interp->input_tensor(0), calib.x.data() + i * kLen, kLen);
      },
      co);
  ASSERT_TRUE(ranges.ok()) << ranges.status().ToString();
  auto m = BuildQatModel(fg, {}, *ranges);
  ASSERT_TRUE(m.ok()) << m.status().ToString();
  EXPECT_EQ(CountOps(m->graph, "CAST"), 0);
  EXPECT_EQ(CountOps(m->graph, "GATHER"), 0);
  ASSERT_EQ(CountOps(m->graph, "EMBEDDING"), 1);
  for (const ir::Node& n : m->graph.nodes) {
    if (n.op == "EMBEDDING") {
      EXPECT_EQ(n.inputs[0], ids);  // the float ids, not fake-quantized
      const ir::Node& fq = m->graph.nodes[m->graph.Producer(n.inputs[1])];
      ASSERT_EQ(fq.op, "FAKE_QUANT_ACT");
      EXPECT_EQ(fq.inputs[0], tab);
      EXPECT_EQ(fq.inputs[1], m->range_state[rows]);
      EXPECT_EQ(ir::GetFloat(fq.attrs, "ema_decay", 1.0), 0.0);
    }
  }
  // The table's, the MEAN's and the logits' (the ids stay float).
  EXPECT_EQ(m->num_activation_quantizers, 3);
  EXPECT_EQ(m->num_weight_quantizers, 1);
  // Before any training step the range is the calibrated rows' and the whole table's, as the
  // post-training quantizer's.
  auto initial = LearnedRanges(*m);
  ASSERT_TRUE(initial.ok()) << initial.status().ToString();
  EXPECT_EQ(initial->at(rows).max, 1.5f);
  const data::Dataset test = make(64, 2);
  ExpectFileAgreesOn(&*m, make(16 * 8, 3), test.x, /*per_channel_check=*/false);
  // The learned range is the whole table's, the outlier included, as the export's.
  auto learned = LearnedRanges(*m);
  ASSERT_TRUE(learned.ok());
  EXPECT_GE(learned->at(rows).max, 1.5f);
  // The file keeps CAST + GATHER, its table int8 with the gathered rows' scale.
  auto q = ExportInt8(*m, quantize::IoType::kFloat);
  ASSERT_TRUE(q.ok()) << q.status().ToString();
  bool saw = false;
  for (const ir::Node& n : q->nodes) {
    if (n.op != "GATHER") continue;
    saw = true;
    EXPECT_EQ(q->tensors[n.inputs[0]].dtype, DType::kInt8);
    EXPECT_EQ(q->tensors[n.inputs[0]].quant.scale, q->tensors[n.outputs[0]].quant.scale);
  }
  EXPECT_TRUE(saw);
}

// Causal self-attention as the Keras importer emits it: scores = BATCH_MATMUL(x, x, adj_y),
// MINIMUM with the mask (+1e9 kept, -1e9 masked), SOFTMAX, BATCH_MATMUL with x, FC. The masked
// scores' -1e9 widens no range: the int8 scores' range is the calibrated one lowered by
// MaskDepth (so the masked positions, saturated to its bottom, weigh less than a softmax step),
// QAT trains with that range, and the trained file agrees with the fake-quant model.
TEST(QatGraphTest, CausalMaskSaturatesBelowTheScoresRange) {
  constexpr int kT = 6, kD = 4, kClasses = 3;
  ir::Graph fg;
  std::mt19937 rng(5);
  const int x = fg.AddActivation("x", DType::kFloat32, {1, kT, kD});
  const int scores = fg.AddActivation("scores", DType::kFloat32, {1, kT, kT});
  AddOp(&fg, "BATCH_MATMUL", {x, x}, scores,
        {{"adj_x", false}, {"adj_y", true}, {"asymmetric_quantize_inputs", false}});
  std::vector<float> mask(kT * kT);
  for (int i = 0; i < kT; ++i) {
    for (int j = 0; j < kT; ++j) mask[i * kT + j] = j <= i ? 1e9f : -1e9f;
  }
  const int m_const = fg.AddFloatConstant("causal_mask", {1, kT, kT}, mask);
  const int masked = fg.AddActivation("masked", DType::kFloat32, {1, kT, kT});
  AddOp(&fg, "MINIMUM", {scores, m_const}, masked);
  const int probs = fg.AddActivation("probs", DType::kFloat32, {1, kT, kT});
  AddOp(&fg, "SOFTMAX", {masked}, probs, {{"beta", 1.0}});
  const int context = fg.AddActivation("context", DType::kFloat32, {1, kT, kD});
  AddOp(&fg, "BATCH_MATMUL", {probs, x}, context,
        {{"adj_x", false}, {"adj_y", false}, {"asymmetric_quantize_inputs", false}});
  std::uniform_real_distribution<float> u(-0.5f, 0.5f);
  std::vector<float> w(kClasses * kT * kD), b(kClasses);
  for (float& v : w) v = u(rng);
  for (float& v : b) v = u(rng);
  const int fc_w = fg.AddFloatConstant("out/kernel", {kClasses, kT * kD}, w);
  const int fc_b = fg.AddFloatConstant("out/bias", {kClasses}, b);
  const int logits = fg.AddActivation("logits", DType::kFloat32, {1, kClasses});
  AddOp(&fg, "FULLY_CONNECTED", {context, fc_w, fc_b}, logits,
        {{"fused_activation_function", std::string("NONE")}});
  fg.inputs = {x};
  fg.outputs = {logits};
  ASSERT_TRUE(fg.Validate().ok());
  ASSERT_TRUE(quantize::IsMaskNode(fg, fg.nodes[fg.Producer(masked)]));

  auto make = [&](int64_t n, uint32_t seed) {
    std::mt19937 r(seed);
    std::normal_distribution<float> normal(0.0f, 1.0f);
    data::Dataset ds;
    ds.name = "seq";
    ds.sample_shape = {kT, kD};
    ds.size = n;
    ds.num_classes = kClasses;
    for (int64_t i = 0; i < n; ++i) {
      float first = 0.0f;
      for (int k = 0; k < kT * kD; ++k) {
        ds.x.push_back(normal(r));
        if (k < kD) first += ds.x.back();
      }
      ds.labels.push_back(first < -0.5f ? 0 : first < 0.5f ? 1 : 2);
    }
    return ds;
  };
  const data::Dataset calib = make(32, 1);
  const quantize::RangeMap ranges = CalibrateOn(fg, calib.x, kT * kD);
  ASSERT_LE(ranges.at(masked).min, -1e8f);  // what the calibration sees
  const float scores_min = ranges.at(scores).min;
  const float depth = quantize::MaskDepth(kT, false);
  EXPECT_NEAR(depth, std::log(256.0 * kT), 1e-5);

  // Post-training: one scale for scores and masked, the range lowered by the depth.
  quantize::QuantizeOptions qo;
  qo.mode = quantize::Mode::kInt8;
  auto ptq = quantize::QuantizeGraph(fg, qo, ranges);
  ASSERT_TRUE(ptq.ok()) << ptq.status().ToString();
  int minimums = 0;
  for (const ir::Node& n : ptq->nodes) {
    if (n.op != "MINIMUM") continue;
    ++minimums;
    const ir::QuantInfo& in = ptq->tensors[n.inputs[0]].quant;
    const ir::QuantInfo& out = ptq->tensors[n.outputs[0]].quant;
    EXPECT_EQ(in.scale, out.scale);
    EXPECT_EQ(in.zero_point, out.zero_point);
    const float bottom = (-128 - out.zero_point[0]) * out.scale[0];
    EXPECT_NEAR(bottom, scores_min - depth, 2 * out.scale[0]);
    const ir::Tensor& mq = ptq->tensors[n.inputs[1]];
    ASSERT_EQ(mq.dtype, DType::kInt8);
    const int8_t* mv = mq.DataAs<int8_t>();
    EXPECT_EQ(mv[0 * kT + 0], 127);   // kept
    EXPECT_EQ(mv[0 * kT + 1], -128);  // masked
    EXPECT_EQ(mv[(kT - 1) * kT + kT - 1], 127);
  }
  EXPECT_EQ(minimums, 1);

  auto m = BuildQatModel(fg, {}, ranges);
  ASSERT_TRUE(m.ok()) << m.status().ToString();
  int with_depth = 0;
  for (const ir::Node& n : m->graph.nodes) {
    if (n.op != "FAKE_QUANT_ACT" || n.inputs[0] != scores) continue;
    EXPECT_NEAR(ir::GetFloat(n.attrs, "mask_depth", 0.0), depth, 1e-5);
    ++with_depth;
  }
  EXPECT_EQ(with_depth, 1);
  auto initial = LearnedRanges(*m);
  ASSERT_TRUE(initial.ok()) << initial.status().ToString();
  EXPECT_EQ(initial->at(scores).min, scores_min);
  EXPECT_EQ(initial->at(masked).min, scores_min);
  const data::Dataset test = make(64, 2);
  ExpectFileAgreesOn(&*m, make(16 * 16, 3), test.x, /*per_channel_check=*/false);
}

TEST(QatGraphTest, OpsWithoutInt8KernelsAreRefused) {
  ir::Graph g;
  const int x = g.AddActivation("x", DType::kFloat32, {1, 4});
  const int y = g.AddActivation("y", DType::kFloat32, {1, 4});
  ir::Node gelu;
  gelu.op = "GELU";
  gelu.name = "gelu_layer";
  gelu.inputs = {x};
  gelu.outputs = {y};
  g.AddNode(gelu);
  g.inputs = {x};
  g.outputs = {y};
  auto m = BuildQatModel(g, {}, {});
  ASSERT_FALSE(m.ok());
  EXPECT_NE(m.status().message().find("GELU"), std::string::npos) << m.status().message();
  EXPECT_NE(m.status().message().find("gelu_layer"), std::string::npos);
}

TEST(QatGraphTest, ZerosOfAPrunedModelStayZero) {
  ir::Graph fg = FmnistExportGraph(4);
  // Prune 80% of every weight tensor of the weighted ops (every 5th kept).
  int64_t pruned = 0;
  for (const ir::Node& n : fg.nodes) {
    if (n.op != "CONV_2D" && n.op != "FULLY_CONNECTED") continue;
    ir::Tensor& w = fg.tensors[n.inputs[1]];
    float* v = w.DataAs<float>();
    for (int64_t i = 0; i < w.NumElements(); ++i) {
      if (i % 5 != 0) {
        v[i] = 0.0f;
        ++pruned;
      }
    }
  }
  const quantize::RangeMap ranges = CalibrateOn(fg, RandomImages(16, 784, 8), 784);
  auto m = BuildQatModel(fg, {}, ranges);
  ASSERT_TRUE(m.ok());
  train::EngineOptions eo;
  eo.batch_size = 16;
  auto engine = train::Engine::Create(m->graph, eo);
  ASSERT_TRUE(engine.ok());
  const data::Dataset data = RandomData(64, 9);
  train::TrainOptions to;
  to.batch_size = 16;
  to.optimizer.learning_rate = 1e-2f;
  auto trainer = train::Trainer::Create(engine->get(), to, data);
  ASSERT_TRUE(trainer.ok());
  auto masked = KeepZeroWeights(*m, trainer->get());
  ASSERT_TRUE(masked.ok()) << masked.status().ToString();
  EXPECT_EQ(*masked, pruned);
  ASSERT_TRUE((*trainer)->Fit(data, nullptr).ok());
  ASSERT_TRUE((*engine)->ExportWeights(&m->graph).ok());
  auto q = ExportInt8(*m, quantize::IoType::kInt8);
  ASSERT_TRUE(q.ok()) << q.status().ToString();
  EXPECT_EQ(CountOps(*q, "QUANTIZE") + CountOps(*q, "DEQUANTIZE"), 0);
  int checked = 0;
  for (const ir::Node& n : q->nodes) {
    if (n.op != "CONV_2D" && n.op != "FULLY_CONNECTED") continue;
    const ir::Tensor& w = q->tensors[n.inputs[1]];
    ASSERT_EQ(w.dtype, DType::kInt8);
    int64_t nonzero_kept = 0;
    for (int64_t i = 0; i < w.NumElements(); ++i) {
      if (i % 5 != 0) {
        ASSERT_EQ(w.DataAs<int8_t>()[i], 0) << n.name << " at " << i;
      } else {
        nonzero_kept += w.DataAs<int8_t>()[i] != 0;
      }
    }
    EXPECT_GT(nonzero_kept, 0);
    ++checked;
  }
  EXPECT_EQ(checked, 4);
}

}  // namespace
}  // namespace qat
}  // namespace edgeopt
