// End to end: small models on synthetic data must learn (loss falls, accuracy rises), training is
// deterministic for a seed, and the hooks (masks, step callback, teacher, cancel) work.
#include "src/train/trainer.h"

#include <gtest/gtest.h>

#include <atomic>
#include <cmath>
#include <cstring>
#include <vector>

#include "src/train/presets.h"
#include "src/train/rng.h"

namespace edgeopt {
namespace train {
namespace {

// Two Gaussian blobs per class in 6 dimensions, 3 classes.
data::Dataset Blobs(int n, uint64_t seed) {
  data::Dataset ds;
  ds.name = "blobs";
  ds.sample_shape = {6};
  ds.size = n;
  ds.num_classes = 3;
  SplitMix64 rng(seed);
  for (int i = 0; i < n; ++i) {
    const int label = static_cast<int>(rng.Below(3));
    for (int d = 0; d < 6; ++d) {
      const float center = (d % 3 == label) ? 1.5f : -0.5f;
      ds.x.push_back(center + 0.5f * static_cast<float>(rng.NextNormal()));
    }
    ds.labels.push_back(label);
  }
  return ds;
}

// Images 8x8x1: class = which quadrant is bright.
data::Dataset Quadrants(int n, uint64_t seed) {
  data::Dataset ds;
  ds.name = "quadrants";
  ds.sample_shape = {8, 8, 1};
  ds.size = n;
  ds.num_classes = 4;
  SplitMix64 rng(seed);
  for (int i = 0; i < n; ++i) {
    const int label = static_cast<int>(rng.Below(4));
    for (int y = 0; y < 8; ++y) {
      for (int x = 0; x < 8; ++x) {
        const int q = (y >= 4 ? 2 : 0) + (x >= 4 ? 1 : 0);
        ds.x.push_back((q == label ? 0.8f : 0.1f) + 0.2f * rng.NextFloat());
      }
    }
    ds.labels.push_back(label);
  }
  return ds;
}

int AddParam(ir::Graph* g, const std::string& name, const std::vector<int32_t>& shape,
             std::vector<float> v) {
  const int id = g->AddFloatConstant(name, shape, v);
  g->tensors[id].origin = name;
  return id;
}

int AddNode(ir::Graph* g, const std::string& op, std::vector<int> in, std::vector<int32_t> shape,
            ir::Attrs attrs = {}) {
  const int y = g->AddActivation(op + std::to_string(g->nodes.size()), DType::kFloat32, shape);
  ir::Node n;
  n.op = op;
  n.name = op;
  n.inputs = std::move(in);
  n.outputs = {y};
  n.attrs = std::move(attrs);
  g->AddNode(n);
  return y;
}

// FC(16, relu) -> FC(outputs), ending in `final_op` (SOFTMAX, LOGISTIC) unless it is empty.
ir::Graph MlpTo(int outputs, const std::string& final_op, uint64_t seed) {
  ir::Graph g;
  const int x = g.AddActivation("x", DType::kFloat32, {1, 6});
  g.inputs = {x};
  const int w1 = AddParam(&g, "d1/kernel", {16, 6}, GlorotUniform(96, 6, 16, seed));
  const int b1 = AddParam(&g, "d1/bias", {16}, std::vector<float>(16, 0.0f));
  const int h = AddNode(&g, "FULLY_CONNECTED", {x, w1, b1}, {1, 16},
                        {{"fused_activation_function", std::string("RELU")}});
  const int w2 =
      AddParam(&g, "d2/kernel", {outputs, 16}, GlorotUniform(16 * outputs, 16, outputs, seed + 1));
  const int b2 = AddParam(&g, "d2/bias", {outputs}, std::vector<float>(outputs, 0.0f));
  int y = AddNode(&g, "FULLY_CONNECTED", {h, w2, b2}, {1, outputs});
  if (final_op == "SOFTMAX") y = AddNode(&g, "SOFTMAX", {y}, {1, outputs}, {{"beta", 1.0}});
  if (final_op == "LOGISTIC") y = AddNode(&g, "LOGISTIC", {y}, {1, outputs});
  g.outputs = {y};
  return g;
}

// FC(16, relu) -> FC(3), optionally ending in SOFTMAX.
ir::Graph Mlp(bool softmax, uint64_t seed) { return MlpTo(3, softmax ? "SOFTMAX" : "", seed); }

// The blobs as a binary problem (class 0 against the others), or as multi-label targets (each
// class and "class 0 or 1").
data::Dataset Binary(data::Dataset ds, bool multi_label) {
  if (multi_label) {
    ds.target_shape = {4};
    for (int32_t label : ds.labels) {
      for (int c = 0; c < 3; ++c) ds.targets.push_back(label == c ? 1.0f : 0.0f);
      ds.targets.push_back(label <= 1 ? 1.0f : 0.0f);
    }
    ds.labels.clear();
    ds.num_classes = 0;
    return ds;
  }
  for (int32_t& label : ds.labels) label = label == 0 ? 1 : 0;
  ds.num_classes = 2;
  return ds;
}

// Conv 3x3 SAME (4) -> BN -> RELU -> MAX_POOL 2 -> DROPOUT -> MEAN(1,2) -> FC(4).
ir::Graph SmallCnn(uint64_t seed) {
  ir::Graph g;
  const int x = g.AddActivation("x", DType::kFloat32, {1, 8, 8, 1});
  g.inputs = {x};
  const int w = AddParam(&g, "conv/kernel", {4, 3, 3, 1}, GlorotUniform(36, 9, 36, seed));
  const int b = AddParam(&g, "conv/bias", {4}, std::vector<float>(4, 0.0f));
  const int c = AddNode(
      &g, "CONV_2D", {x, w, b}, {1, 8, 8, 4},
      {{"padding", std::string("SAME")}, {"stride_h", int64_t{1}}, {"stride_w", int64_t{1}}});
  const int gamma = AddParam(&g, "bn/gamma", {4}, std::vector<float>(4, 1.0f));
  const int beta = AddParam(&g, "bn/beta", {4}, std::vector<float>(4, 0.0f));
  const int mean = g.AddFloatConstant("bn/moving_mean", {4}, std::vector<float>(4, 0.0f));
  const int var = g.AddFloatConstant("bn/moving_variance", {4}, std::vector<float>(4, 1.0f));
  const int bn = AddNode(&g, "BATCH_NORM", {c, gamma, beta, mean, var}, {1, 8, 8, 4},
                         {{"epsilon", 1e-3}, {"momentum", 0.9}});
  const int r = AddNode(&g, "RELU", {bn}, {1, 8, 8, 4});
  const int p = AddNode(&g, "MAX_POOL_2D", {r}, {1, 4, 4, 4},
                        {{"padding", std::string("VALID")},
                         {"stride_h", int64_t{2}},
                         {"stride_w", int64_t{2}},
                         {"filter_height", int64_t{2}},
                         {"filter_width", int64_t{2}}});
  const int d = AddNode(&g, "DROPOUT", {p}, {1, 4, 4, 4}, {{"rate", 0.1}});
  const int axes = g.AddConstant("axes", DType::kInt32, {2}, std::vector<int32_t>{1, 2}.data(), 8);
  const int m = AddNode(&g, "MEAN", {d, axes}, {1, 4}, {{"keep_dims", false}});
  const int wf = AddParam(&g, "fc/kernel", {4, 4}, GlorotUniform(16, 4, 4, seed + 2));
  const int bf = AddParam(&g, "fc/bias", {4}, std::vector<float>(4, 0.0f));
  g.outputs = {AddNode(&g, "FULLY_CONNECTED", {m, wf, bf}, {1, 4})};
  return g;
}

// Adam at `lr`, `epochs` epochs of `batch` samples.
TrainOptions Adam(int epochs, int batch, float lr) {
  TrainOptions o;
  o.epochs = epochs;
  o.batch_size = batch;
  o.optimizer = DefaultOptimizerConfig(OptimizerKind::kAdam);
  o.optimizer.learning_rate = lr;
  return o;
}

std::unique_ptr<Engine> MakeEngine(const ir::Graph& g, int batch, int threads = 1) {
  EngineOptions eo;
  eo.batch_size = batch;
  eo.num_threads = threads;
  auto e = Engine::Create(g, eo);
  EXPECT_TRUE(e.ok()) << e.status().ToString();
  return std::move(e).value();
}

TEST(TrainerTest, MlpLearnsBlobsWithFusedSoftmaxCrossEntropy) {
  const data::Dataset train = Blobs(600, 1), test = Blobs(300, 2);
  for (bool softmax : {false, true}) {
    auto engine = MakeEngine(Mlp(softmax, 5), 32);
    TrainOptions o;
    o.epochs = 8;
    o.batch_size = 32;
    o.optimizer = DefaultOptimizerConfig(OptimizerKind::kAdam);
    o.optimizer.learning_rate = 0.01f;
    auto before = Evaluate(engine.get(), test, 64);
    ASSERT_TRUE(before.ok());
    auto trainer = Trainer::Create(engine.get(), o, train);
    ASSERT_TRUE(trainer.ok()) << trainer.status().ToString();
    auto hist = (*trainer)->Fit(train, &test);
    ASSERT_TRUE(hist.ok()) << hist.status().ToString();
    ASSERT_EQ(hist->size(), 8u);
    EXPECT_LT(hist->back().loss, 0.5 * hist->front().loss + 0.1);
    EXPECT_LT(hist->back().val_loss, 0.5 * before->loss);
    EXPECT_GT(hist->back().val_accuracy, 0.9);
    EXPECT_EQ((*trainer)->global_step(), 8 * 19);  // 600 / 32 -> 19 batches
  }
}

// 0 / 1 labels and a model with one output: binary cross-entropy, fused with a final LOGISTIC
// (the loss reads the logits, so the same model without it trains bit-identically), binary
// accuracy; float targets of several outputs: multi-label.
TEST(TrainerTest, BinaryAndMultiLabelClassifiersLearnWithSigmoidCrossEntropy) {
  const data::Dataset train = Binary(Blobs(600, 1), false), test = Binary(Blobs(300, 2), false);
  std::vector<EpochStats> runs[2];
  for (int sigmoid = 0; sigmoid < 2; ++sigmoid) {
    auto engine = MakeEngine(MlpTo(1, sigmoid ? "LOGISTIC" : "", 5), 32);
    auto trainer = Trainer::Create(engine.get(), Adam(6, 32, 0.01f), train);
    ASSERT_TRUE(trainer.ok()) << trainer.status().ToString();
    EXPECT_EQ((*trainer)->loss_kind(), LossKind::kBinaryCrossentropy);
    auto hist = (*trainer)->Fit(train, &test);
    ASSERT_TRUE(hist.ok()) << hist.status().ToString();
    EXPECT_LT(hist->back().loss, 0.3 * hist->front().loss);
    EXPECT_GT(hist->back().val_accuracy, 0.95);
    runs[sigmoid] = *hist;
    // Evaluate against the predictions: probabilities above 0.5 (logits above 0) are class 1,
    // the loss is Keras's from the probabilities.
    std::vector<float> out(300), logits(300), probs(300), y(300);
    ASSERT_TRUE(PredictOutputs(engine.get(), test.x.data(), 300, 64, false, out.data()).ok());
    ASSERT_TRUE(PredictOutputs(engine.get(), test.x.data(), 300, 64, true, logits.data()).ok());
    int64_t correct = 0;
    for (int i = 0; i < 300; ++i) {
      probs[i] = 1.0f / (1.0f + std::exp(-logits[i]));
      if (sigmoid) {
        EXPECT_NEAR(out[i], probs[i], 1e-6f);
      }
      y[i] = static_cast<float>(test.labels[i]);
      correct += (logits[i] > 0.0f) == (test.labels[i] == 1);
    }
    auto eval = Evaluate(engine.get(), test, 64);
    ASSERT_TRUE(eval.ok());
    EXPECT_DOUBLE_EQ(eval->accuracy, correct / 300.0);
    EXPECT_DOUBLE_EQ(eval->accuracy, hist->back().val_accuracy);
    EXPECT_NEAR(eval->loss, BinaryCrossEntropyFromProbs(probs.data(), y.data(), 300, nullptr),
                1e-5);
  }
  for (size_t e = 0; e < runs[0].size(); ++e) {
    EXPECT_EQ(runs[0][e].loss, runs[1][e].loss) << e;
    EXPECT_EQ(runs[0][e].val_accuracy, runs[1][e].val_accuracy) << e;
  }

  // Multi-label: 4 sigmoid outputs, accuracy over every output.
  const data::Dataset ml = Binary(Blobs(600, 1), true), ml_test = Binary(Blobs(300, 2), true);
  auto engine = MakeEngine(MlpTo(4, "LOGISTIC", 5), 32);
  TrainOptions o = Adam(6, 32, 0.01f);
  o.loss = "binary_crossentropy";
  auto trainer = Trainer::Create(engine.get(), o, ml);
  ASSERT_TRUE(trainer.ok()) << trainer.status().ToString();
  auto hist = (*trainer)->Fit(ml, &ml_test);
  ASSERT_TRUE(hist.ok()) << hist.status().ToString();
  EXPECT_GT(hist->back().val_accuracy, 0.95);
  std::vector<float> logits(300 * 4);
  ASSERT_TRUE(PredictOutputs(engine.get(), ml_test.x.data(), 300, 64, true, logits.data()).ok());
  EXPECT_DOUBLE_EQ(hist->back().val_accuracy,
                   CountBinaryCorrect(logits.data(), ml_test.targets.data(), 1200, 0.0f) / 1200.0);
  // Without --loss, float targets are a regression (MSE, no accuracy).
  auto mse = Trainer::Create(engine.get(), Adam(1, 32, 0.01f), ml);
  ASSERT_TRUE(mse.ok());
  EXPECT_EQ((*mse)->loss_kind(), LossKind::kMeanSquaredError);

  // Labels of more than two classes cannot be binary.
  auto one = MakeEngine(MlpTo(1, "LOGISTIC", 5), 32);
  TrainOptions bce = Adam(1, 32, 0.01f);
  bce.loss = "bce";
  auto wrong = Trainer::Create(one.get(), bce, Blobs(60, 1));
  ASSERT_FALSE(wrong.ok());
  EXPECT_NE(wrong.status().message().find("labels 0 / 1"), std::string::npos)
      << wrong.status().message();
  auto multi = Trainer::Create(one.get(), Adam(1, 32, 0.01f), Blobs(60, 1));
  ASSERT_FALSE(multi.ok());
  EXPECT_NE(multi.status().message().find("3 classes"), std::string::npos)
      << multi.status().message();
}

// Keras's EarlyStopping(patience, restore_best_weights=True): an over-fitting run stops `patience`
// epochs after its lowest validation loss and ends with that epoch's weights.
TEST(TrainerTest, EarlyStoppingEndsWithTheBestEpoch) {
  const data::Dataset train = Blobs(24, 21), validation = Blobs(300, 22);
  auto engine = MakeEngine(MlpTo(3, "", 5), 8);
  TrainOptions o = Adam(200, 8, 0.05f);
  o.early_stopping = 3;
  auto trainer = Trainer::Create(engine.get(), o, train);
  ASSERT_TRUE(trainer.ok());
  std::vector<int> saved;
  (*trainer)->SetEpochCallback([&](const EpochStats& e) {
    if (e.best) saved.push_back(e.epoch);
    return Status::Ok();
  });
  auto hist = (*trainer)->Fit(train, &validation);
  ASSERT_TRUE(hist.ok()) << hist.status().ToString();
  ASSERT_LT(hist->size(), 200u);
  EXPECT_TRUE(hist->back().stops);
  size_t best = 0;
  for (size_t e = 0; e < hist->size(); ++e) {
    if ((*hist)[e].val_loss < (*hist)[best].val_loss) best = e;
    EXPECT_EQ((*hist)[e].best, best == e) << e;  // a new lowest loss each time it is flagged
  }
  EXPECT_EQ(hist->size(), best + 1 + 3);
  EXPECT_EQ(saved.back(), static_cast<int>(best));
  auto after = Evaluate(engine.get(), validation, 64);
  ASSERT_TRUE(after.ok());
  EXPECT_DOUBLE_EQ(after->loss, (*hist)[best].val_loss);
  EXPECT_NE(after->loss, hist->back().val_loss);
  // It watches the validation loss: none is an error.
  auto trainer2 = Trainer::Create(engine.get(), o, train);
  ASSERT_TRUE(trainer2.ok());
  auto none = (*trainer2)->Fit(train, nullptr);
  ASSERT_FALSE(none.ok());
  EXPECT_NE(none.status().message().find("validation"), std::string::npos);
}

// Float targets: MAE and Huber regressions learn; the model's compiled loss is the default for
// them, and label smoothing of a regression is an error.
TEST(TrainerTest, RegressionLossesAndTheCompiledLoss) {
  data::Dataset ds = Blobs(400, 31);
  ds.target_shape = {2};
  for (int64_t i = 0; i < ds.size; ++i) {
    const float* x = ds.x.data() + i * 6;
    ds.targets.push_back(x[0] - 0.5f * x[1]);
    ds.targets.push_back(x[2] + x[3] + 1.0f);
  }
  ds.labels.clear();
  ds.num_classes = 0;
  for (const char* compiled : {"mae", "Huber", "mean_squared_error", ""}) {
    auto engine = MakeEngine(MlpTo(2, "", 7), 32);
    TrainOptions o = Adam(10, 32, 0.01f);
    o.compiled_loss = compiled;
    auto trainer = Trainer::Create(engine.get(), o, ds);
    ASSERT_TRUE(trainer.ok()) << trainer.status().ToString();
    const LossKind want =
        *compiled == '\0' ? LossKind::kMeanSquaredError : *ParseLossKind(compiled);
    EXPECT_EQ((*trainer)->loss_kind(), want) << compiled;
    auto hist = (*trainer)->Fit(ds, nullptr);
    ASSERT_TRUE(hist.ok());
    EXPECT_LT(hist->back().loss, 0.3 * hist->front().loss) << compiled;
    EXPECT_LT(hist->back().accuracy, 0.0);  // none for a regression
  }
  // With class labels, a compiled categorical loss is the sparse one.
  auto engine = MakeEngine(Mlp(false, 5), 32);
  TrainOptions o = Adam(1, 32, 0.01f);
  o.compiled_loss = "categorical_crossentropy";
  auto labeled = Trainer::Create(engine.get(), o, Blobs(60, 1));
  ASSERT_TRUE(labeled.ok());
  EXPECT_EQ((*labeled)->loss_kind(), LossKind::kSparseCategoricalCrossentropy);
  o.compiled_loss = "mae";
  o.label_smoothing = 0.1f;
  auto regression = MakeEngine(MlpTo(2, "", 7), 32);
  auto smoothing = Trainer::Create(regression.get(), o, ds);
  ASSERT_FALSE(smoothing.ok());
  EXPECT_NE(smoothing.status().message().find("label smoothing needs a cross-entropy"),
            std::string::npos);
}

// Keras's class_weight: each sample's loss times its class's weight, summed over the batch size;
// "balanced" is scikit-learn's n / (classes * count). A heavier minority class is predicted more.
TEST(TrainerTest, ClassWeightsScaleEachSamplesLoss) {
  const data::Dataset train = Binary(Blobs(300, 41), false);  // about a third are 1
  int64_t ones = 0;
  for (int32_t y : train.labels) ones += y;
  auto engine = MakeEngine(MlpTo(1, "LOGISTIC", 5), 32);
  TrainOptions o = Adam(1, 32, 0.01f);
  o.class_weight = "balanced";
  auto balanced = Trainer::Create(engine.get(), o, train);
  ASSERT_TRUE(balanced.ok()) << balanced.status().ToString();
  ASSERT_EQ((*balanced)->class_weights().size(), 2u);
  EXPECT_FLOAT_EQ((*balanced)->class_weights()[1], 300.0f / (2.0f * ones));
  EXPECT_FLOAT_EQ((*balanced)->class_weights()[0], 300.0f / (2.0f * (300 - ones)));
  // One step's loss: the weighted sum of the per-sample losses over the batch size.
  o.class_weight = "1:3.5";
  auto weighted = Trainer::Create(engine.get(), o, train);
  ASSERT_TRUE(weighted.ok());
  std::vector<float> logits(32), y(32);
  ASSERT_TRUE(PredictOutputs(engine.get(), train.x.data(), 32, 32, true, logits.data()).ok());
  double want = 0.0;
  for (int i = 0; i < 32; ++i) {
    y[i] = static_cast<float>(train.labels[i]);
    want += (train.labels[i] == 1 ? 3.5 : 1.0) *
            SigmoidBinaryCrossEntropy(&logits[i], &y[i], 1, nullptr) / 32;
  }
  int64_t correct = 0;
  auto step = (*weighted)->TrainStep(train.x.data(), train.labels.data(), nullptr, 32, &correct);
  ASSERT_TRUE(step.ok());
  EXPECT_NEAR(*step, want, 1e-6);
  // Overlapping classes (1 where x0 + noise > 1, about a sixth): trained with a heavy class 1,
  // more samples are predicted 1.
  data::Dataset overlap = train;
  SplitMix64 rng(43);
  for (int64_t i = 0; i < overlap.size; ++i) {
    float* x = overlap.x.data() + i * 6;
    for (int d = 0; d < 6; ++d) x[d] = static_cast<float>(rng.NextNormal());
    overlap.labels[i] = x[0] + rng.NextNormal() > 1.0 ? 1 : 0;
  }
  int64_t predicted_ones[2] = {0, 0};
  for (int heavy = 0; heavy < 2; ++heavy) {
    auto e = MakeEngine(MlpTo(1, "LOGISTIC", 5), 32);
    TrainOptions t = Adam(3, 32, 0.01f);
    t.class_weight = heavy ? "1:20" : "";
    auto trainer = Trainer::Create(e.get(), t, overlap);
    ASSERT_TRUE(trainer.ok());
    ASSERT_TRUE((*trainer)->Fit(overlap, nullptr).ok());
    auto r = Evaluate(e.get(), overlap, 64);
    ASSERT_TRUE(r.ok());
    for (int32_t p : r->predicted) predicted_ones[heavy] += p;
  }
  EXPECT_GT(predicted_ones[0], 0);
  EXPECT_GT(predicted_ones[1], 2 * predicted_ones[0]) << predicted_ones[0];
  // Errors: a class outside the labels, a negative weight, data without labels.
  for (const char* bad : {"2:1", "1:-1", "x:1", "1"}) {
    o.class_weight = bad;
    auto t = Trainer::Create(engine.get(), o, train);
    ASSERT_FALSE(t.ok()) << bad;
    EXPECT_NE(t.status().message().find("CLASS:WEIGHT"), std::string::npos) << t.status().message();
  }
}

// Keras's ReduceLROnPlateau: the rate drops by the factor after `patience` epochs without a
// lower validation loss (by more than 1e-4), and only then.
TEST(TrainerTest, PlateauScheduleLowersTheRateWhenValidationStalls) {
  const data::Dataset train = Blobs(24, 21), validation = Blobs(300, 22);
  auto engine = MakeEngine(MlpTo(3, "", 5), 8);
  TrainOptions o = Adam(25, 8, 0.05f);
  o.schedule = LrSchedule::Kind::kPlateau;
  o.plateau_patience = 2;
  o.step_gamma = 0.5f;
  auto trainer = Trainer::Create(engine.get(), o, train);
  ASSERT_TRUE(trainer.ok());
  auto hist = (*trainer)->Fit(train, &validation);
  ASSERT_TRUE(hist.ok()) << hist.status().ToString();
  float lr = 0.05f;
  double best = 1e30;
  int wait = 0, reductions = 0;
  for (const EpochStats& e : *hist) {
    EXPECT_FLOAT_EQ(e.learning_rate, lr) << e.epoch;
    if (e.val_loss < best - 1e-4) {
      best = e.val_loss;
      wait = 0;
    } else if (++wait >= 2) {
      lr *= 0.5f;
      wait = 0;
      ++reductions;
    }
  }
  EXPECT_GE(reductions, 1);  // the over-fitting run stalls
  o.epochs = 1;
  auto trainer2 = Trainer::Create(engine.get(), o, train);
  ASSERT_TRUE(trainer2.ok());
  EXPECT_FALSE((*trainer2)->Fit(train, nullptr).ok());  // it watches the validation loss
}

TEST(TrainerTest, SmallCnnWithBatchNormAndDropoutLearns) {
  const data::Dataset train = Quadrants(256, 3), test = Quadrants(128, 4);
  auto engine = MakeEngine(SmallCnn(7), 16, 2);
  TrainOptions o = Adam(6, 16, 0.02f);
  auto trainer = Trainer::Create(engine.get(), o, train);
  ASSERT_TRUE(trainer.ok()) << trainer.status().ToString();
  auto hist = (*trainer)->Fit(train, &test);
  ASSERT_TRUE(hist.ok()) << hist.status().ToString();
  EXPECT_LT(hist->back().loss, hist->front().loss);
  EXPECT_GT(hist->back().val_accuracy, 0.8);
  // Training moved the BN moving statistics away from their initial values.
  const float* mm = engine->value(engine->graph().nodes[1].inputs[3]).d();
  EXPECT_NE(mm[0], 0.0f);
}

// Keras's trainable=False (Tensor::frozen): the convolution and the BatchNormalization keep their
// weights and moving statistics, the BN normalizes with those in training too, the head learns.
TEST(TrainerTest, FrozenLayersKeepTheirWeightsAndBatchNormItsStatistics) {
  const data::Dataset train = Quadrants(256, 3), test = Quadrants(128, 4);
  ir::Graph g = SmallCnn(7);
  const ir::Node& bn_node = g.nodes[1];
  ASSERT_EQ(bn_node.op, "BATCH_NORM");
  std::vector<int> frozen = {g.nodes[0].inputs[1], g.nodes[0].inputs[2]};
  frozen.insert(frozen.end(), bn_node.inputs.begin() + 1, bn_node.inputs.end());
  // Moving statistics that are not the identity, so that a BN in training mode (batch
  // statistics) would give other outputs.
  std::vector<float> mean = {0.1f, -0.2f, 0.05f, 0.3f}, var = {0.5f, 2.0f, 1.5f, 0.8f};
  std::memcpy(g.tensors[bn_node.inputs[3]].data.data(), mean.data(), 16);
  std::memcpy(g.tensors[bn_node.inputs[4]].data.data(), var.data(), 16);
  for (int t : frozen) g.tensors[t].frozen = true;
  const int fc_w = g.nodes.back().inputs[1];

  auto engine = MakeEngine(g, 16, 2);
  for (int t : frozen) {
    for (const Parameter& p : engine->parameters()) EXPECT_NE(p.tensor, t) << p.name;
  }
  // The BN output in training mode is the one of inference: the moving statistics.
  const int bn_out = bn_node.outputs[0];
  ASSERT_TRUE(engine->Forward(train.x.data(), 16, /*training=*/false).ok());
  const std::vector<float> inference(engine->value(bn_out).data);
  ASSERT_TRUE(engine->Forward(train.x.data(), 16, /*training=*/true).ok());
  EXPECT_EQ(engine->value(bn_out).data, inference);
  TrainOptions o = Adam(3, 16, 0.02f);
  auto trainer = Trainer::Create(engine.get(), o, train);
  ASSERT_TRUE(trainer.ok()) << trainer.status().ToString();
  auto hist = (*trainer)->Fit(train, &test);
  ASSERT_TRUE(hist.ok()) << hist.status().ToString();
  EXPECT_LT(hist->back().loss, hist->front().loss);
  for (int t : frozen) {
    const Value& v = engine->value(t);
    const ir::Tensor& original = g.tensors[t];
    ASSERT_EQ(v.size, original.NumElements());
    EXPECT_EQ(std::memcmp(v.d(), original.data.data(), v.size * sizeof(float)), 0)
        << original.name << " changed";
  }
  const Value& head = engine->value(fc_w);
  EXPECT_NE(std::memcmp(head.d(), g.tensors[fc_w].data.data(), head.size * sizeof(float)), 0)
      << "the trainable head did not change";

  // Every weight frozen: nothing to train.
  for (ir::Tensor& t : g.tensors) t.frozen = t.is_constant && t.dtype == DType::kFloat32;
  auto all_frozen = MakeEngine(g, 16, 1);
  auto none = Trainer::Create(all_frozen.get(), o, train);
  ASSERT_FALSE(none.ok());
  EXPECT_NE(none.status().message().find("no trainable weights"), std::string::npos);
}

TEST(TrainerTest, SameSeedSameWeightsAndEveryOptimizer) {
  const data::Dataset train = Blobs(200, 9);
  for (const char* opt : {"sgd", "adam", "adamw"}) {
    std::vector<float> first;
    for (int run = 0; run < 2; ++run) {
      auto engine = MakeEngine(Mlp(false, 11), 16, 2);
      TrainOptions o;
      o.epochs = 2;
      o.batch_size = 16;
      o.seed = 42;
      o.optimizer = DefaultOptimizerConfig(*ParseOptimizerKind(opt));
      o.optimizer.momentum = std::string(opt) == "sgd" ? 0.9f : 0.0f;
      o.schedule = LrSchedule::Kind::kCosine;
      o.warmup_epochs = 0.5;
      auto trainer = Trainer::Create(engine.get(), o, train);
      ASSERT_TRUE(trainer.ok());
      auto hist = (*trainer)->Fit(train, nullptr);
      ASSERT_TRUE(hist.ok());
      EXPECT_LT(hist->back().loss, hist->front().loss) << opt;
      std::vector<float> w(engine->parameters()[0].data(),
                           engine->parameters()[0].data() + engine->parameters()[0].size);
      if (run == 0) {
        first = w;
      } else {
        EXPECT_EQ(w, first) << opt;
      }
    }
  }
}

TEST(TrainerTest, ThreadCountDoesNotChangeTheResult) {
  const data::Dataset train = Quadrants(96, 8);
  std::vector<std::vector<float>> weights;
  for (int threads : {1, 2, 3}) {
    auto engine = MakeEngine(SmallCnn(5), 24, threads);
    TrainOptions o;
    o.epochs = 2;
    o.batch_size = 24;
    auto trainer = Trainer::Create(engine.get(), o, train);
    ASSERT_TRUE(trainer.ok());
    ASSERT_TRUE((*trainer)->Fit(train, nullptr).ok());
    std::vector<float> all;
    for (const Parameter& p : engine->parameters())
      all.insert(all.end(), p.data(), p.data() + p.size);
    weights.push_back(all);
  }
  EXPECT_EQ(weights[0], weights[1]);
  EXPECT_EQ(weights[0], weights[2]);
}

TEST(TrainerTest, MasksKeepPrunedWeightsAtZeroAndStepCallbackRuns) {
  const data::Dataset train = Blobs(128, 5);
  auto engine = MakeEngine(Mlp(false, 3), 16);
  TrainOptions o;
  o.epochs = 2;
  o.batch_size = 16;
  o.optimizer = DefaultOptimizerConfig(OptimizerKind::kAdam);
  auto trainer = Trainer::Create(engine.get(), o, train);
  ASSERT_TRUE(trainer.ok());
  std::vector<float> mask(96, 1.0f);
  for (int i = 0; i < 96; i += 2) mask[i] = 0.0f;
  ASSERT_TRUE((*trainer)->SetMask("d1/kernel", mask).ok());
  EXPECT_FALSE((*trainer)->SetMask("nope", mask).ok());
  EXPECT_FALSE((*trainer)->SetMask("d1/bias", mask).ok());
  int64_t calls = 0;
  (*trainer)->SetStepCallback([&](int64_t step) {
    EXPECT_EQ(step, ++calls);
    return Status::Ok();
  });
  ASSERT_TRUE((*trainer)->Fit(train, nullptr).ok());
  EXPECT_EQ(calls, 16);
  const float* w = engine->parameters()[0].data();
  ASSERT_EQ(engine->parameters()[0].name, "d1/kernel");
  int nonzero_kept = 0;
  for (int i = 0; i < 96; ++i) {
    if (i % 2 == 0) {
      EXPECT_EQ(w[i], 0.0f) << i;
    } else {
      nonzero_kept += w[i] != 0.0f;
    }
  }
  EXPECT_EQ(nonzero_kept, 48);
}

// Distills `student` from `teacher` for 10 epochs on `train` with alpha = 0 (only the soft loss,
// so the student copies the untrained teacher) at temperature 2: the teacher's logits and the
// student's before and after (`outputs` per sample).
void DistillFromTeacher(Engine* teacher, Engine* student, const data::Dataset& train, int outputs,
                        std::vector<float>* t_logits, std::vector<float>* before,
                        std::vector<float>* after) {
  const int64_t n = train.size;
  for (std::vector<float>* v : {t_logits, before, after}) v->resize(n * outputs);
  ASSERT_TRUE(PredictOutputs(teacher, train.x.data(), n, 32, true, t_logits->data()).ok());
  ASSERT_TRUE(PredictOutputs(student, train.x.data(), n, 32, true, before->data()).ok());
  auto trainer = Trainer::Create(student, Adam(10, 32, 0.01f), train);
  ASSERT_TRUE(trainer.ok());
  (*trainer)->SetTeacher(
      [teacher](const float* x, int batch, float* logits) {
        return PredictOutputs(teacher, x, batch, batch, true, logits);
      },
      0.0f, 2.0f);
  ASSERT_TRUE((*trainer)->Fit(train, nullptr).ok());
  ASSERT_TRUE(PredictOutputs(student, train.x.data(), n, 32, true, after->data()).ok());
}

TEST(TrainerTest, DistillationPullsStudentTowardsTeacher) {
  const data::Dataset train = Blobs(256, 6);
  auto teacher = MakeEngine(Mlp(false, 100), 32);
  auto student = MakeEngine(Mlp(false, 200), 32);
  std::vector<float> t_logits, s_before, s_after;
  DistillFromTeacher(teacher.get(), student.get(), train, 3, &t_logits, &s_before, &s_after);
  const double kl_before = DistillationKl(s_before.data(), t_logits.data(), 256, 3, 2.0f, nullptr);
  const double kl_after = DistillationKl(s_after.data(), t_logits.data(), 256, 3, 2.0f, nullptr);
  EXPECT_LT(kl_after, 0.3 * kl_before);
}

// A binary student learns the teacher's probabilities (its logits, the final LOGISTIC left out).
TEST(TrainerTest, BinaryDistillationPullsStudentTowardsTeacher) {
  const data::Dataset train = Binary(Blobs(256, 6), false);
  auto teacher = MakeEngine(MlpTo(1, "LOGISTIC", 100), 32);
  auto student = MakeEngine(MlpTo(1, "LOGISTIC", 200), 32);
  std::vector<float> t_logits, s_before, s_after;
  DistillFromTeacher(teacher.get(), student.get(), train, 1, &t_logits, &s_before, &s_after);
  const double kl_before =
      BinaryDistillationKl(s_before.data(), t_logits.data(), 256, 2.0f, nullptr);
  const double kl_after = BinaryDistillationKl(s_after.data(), t_logits.data(), 256, 2.0f, nullptr);
  EXPECT_LT(kl_after, 0.3 * kl_before);
}

TEST(TrainerTest, CancelFlagStopsWithCancelled) {
  const data::Dataset train = Blobs(64, 5);
  auto engine = MakeEngine(Mlp(false, 3), 16);
  TrainOptions o;
  o.epochs = 3;
  o.batch_size = 16;
  auto trainer = Trainer::Create(engine.get(), o, train);
  ASSERT_TRUE(trainer.ok());
  std::atomic<bool> cancel{false};
  int epochs_done = 0;
  (*trainer)->SetEpochCallback([&](const EpochStats&) {
    ++epochs_done;
    cancel = true;
    return Status::Ok();
  });
  (*trainer)->SetCancelFlag(&cancel);
  auto r = (*trainer)->Fit(train, nullptr);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kCancelled);
  EXPECT_EQ(epochs_done, 1);
}

TEST(TrainerTest, DataThatDoesNotFitTheModelIsAnError) {
  data::Dataset wrong = Quadrants(8, 1);
  auto engine = MakeEngine(Mlp(false, 3), 4);
  TrainOptions o;
  auto trainer = Trainer::Create(engine.get(), o, wrong);
  ASSERT_FALSE(trainer.ok());
  EXPECT_NE(trainer.status().message().find("[8,8,1]"), std::string::npos)
      << trainer.status().message();
}

TEST(TrainerTest, PresetGraphTrainsOnTinyBatch) {
  auto g = BuildPresetGraph("fmnist-cnn", 0);
  ASSERT_TRUE(g.ok()) << g.status().ToString();
  EXPECT_FALSE(BuildPresetGraph("resnet-9000", 0).ok());
  auto engine = MakeEngine(*g, 8, 2);
  EXPECT_EQ(engine->num_parameter_values(), 320 + 18496 + 204928 + 1290);
  data::Dataset ds;
  ds.name = "tiny";
  ds.sample_shape = {28, 28, 1};
  ds.size = 16;
  ds.num_classes = 10;
  SplitMix64 rng(1);
  for (int i = 0; i < 16; ++i) {
    for (int j = 0; j < 784; ++j)
      ds.x.push_back(rng.NextFloat() * ((j % 10) == i % 10 ? 1.0f : 0.2f));
    ds.labels.push_back(i % 10);
  }
  TrainOptions o;
  o.epochs = 15;
  o.batch_size = 8;
  auto trainer = Trainer::Create(engine.get(), o, ds);
  ASSERT_TRUE(trainer.ok());
  auto hist = (*trainer)->Fit(ds, nullptr);
  ASSERT_TRUE(hist.ok());
  EXPECT_LT(hist->back().loss, 0.6 * hist->front().loss);
}

}  // namespace
}  // namespace train
}  // namespace edgeopt
