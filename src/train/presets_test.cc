#include "src/train/presets.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>

#include "src/importers/keras/keras_model.h"
#include "src/train/engine.h"

namespace edgeopt {
namespace train {
namespace {

TEST(PresetsTest, FmnistCnnKerasConfigDescribesTheReferenceNetwork) {
  auto config = PresetKerasConfig("fmnist-cnn");
  ASSERT_TRUE(config.ok());
  EXPECT_EQ((*config)["class_name"], "Sequential");
  const auto& layers = (*config)["config"]["layers"];
  ASSERT_EQ(layers.size(), 8u);
  const char* classes[] = {"InputLayer",   "Conv2D",  "MaxPooling2D", "Conv2D",
                           "MaxPooling2D", "Flatten", "Dense",        "Dense"};
  for (int i = 0; i < 8; ++i) EXPECT_EQ(layers[i]["class_name"], classes[i]) << i;
  EXPECT_EQ(layers[1]["config"]["filters"], 32);
  EXPECT_EQ(layers[3]["config"]["filters"], 64);
  EXPECT_EQ(layers[6]["config"]["units"], 128);
  EXPECT_EQ(layers[7]["config"]["units"], 10);
  EXPECT_EQ(layers[7]["config"]["activation"], "linear");
  EXPECT_FALSE(PresetKerasConfig("nope").ok());
}

TEST(PresetsTest, GraphHasKerasOriginsShapesAndGlorotScale) {
  auto g = BuildPresetGraph("fmnist-cnn", 3, 4);
  ASSERT_TRUE(g.ok());
  EXPECT_EQ(g->tensors[g->inputs[0]].shape, (std::vector<int32_t>{4, 28, 28, 1}));
  int weights = 0;
  for (const ir::Tensor& t : g->tensors) {
    if (t.origin.empty()) continue;
    ++weights;
    if (t.origin == "dense/kernel") {
      EXPECT_EQ(t.shape, (std::vector<int32_t>{128, 1600}));
      const float limit = std::sqrt(6.0f / (1600 + 128));
      float lo = 0, hi = 0;
      for (int64_t i = 0; i < t.NumElements(); ++i) {
        lo = std::min(lo, t.DataAs<float>()[i]);
        hi = std::max(hi, t.DataAs<float>()[i]);
      }
      EXPECT_LE(hi, limit);
      EXPECT_GE(lo, -limit);
      EXPECT_GT(hi, 0.95f * limit);
    }
  }
  EXPECT_EQ(weights, 8);
  // Seeds change the weights deterministically.
  auto same = BuildPresetGraph("fmnist-cnn", 3, 4);
  auto other = BuildPresetGraph("fmnist-cnn", 4, 4);
  EXPECT_EQ(same->tensors[1].data, g->tensors[1].data);
  EXPECT_NE(other->tensors[1].data, g->tensors[1].data);
}

// `edgeopt train --preset` builds the model from the Keras config (keras::ModelFromConfig), so
// that path must initialize as Keras does: glorot_uniform kernels with U(-l, l),
// l = sqrt(6 / (fan_in + fan_out)), where a Conv2D's fans are receptive field (3 x 3) times
// input / output channels and a Dense's are its input / output sizes; zero biases.
TEST(PresetsTest, KerasConfigPathInitializesEveryLayerAsKeras) {
  auto config = PresetKerasConfig("fmnist-cnn");
  ASSERT_TRUE(config.ok());
  auto model = keras::ModelFromConfig(*config, 0);
  ASSERT_TRUE(model.ok()) << model.status().ToString();
  struct Expect {
    const char* layer;
    std::vector<int64_t> shape;  // Keras layout
    double fan_in, fan_out;
  } expect[] = {{"conv2d", {3, 3, 1, 32}, 9 * 1, 9 * 32},
                {"conv2d_1", {3, 3, 32, 64}, 9 * 32, 9 * 64},
                {"dense", {1600, 128}, 1600, 128},
                {"dense_1", {128, 10}, 128, 10}};
  ASSERT_EQ(model->weights.size(), 4u);
  for (const Expect& e : expect) {
    SCOPED_TRACE(e.layer);
    const keras::LayerWeights* lw = nullptr;
    for (const keras::LayerWeights& w : model->weights) {
      if (w.layer == e.layer) lw = &w;
    }
    ASSERT_NE(lw, nullptr);
    ASSERT_EQ(lw->vars.size(), 2u);
    const NpyArray& kernel = lw->vars[0].second;
    const NpyArray& bias = lw->vars[1].second;
    EXPECT_EQ(lw->vars[0].first, "kernel");
    EXPECT_EQ(kernel.shape, e.shape);
    const double limit = std::sqrt(6.0 / (e.fan_in + e.fan_out));
    const int64_t n = kernel.NumElements();
    double lo = 0, hi = 0, sum = 0, sq = 0;
    for (int64_t i = 0; i < n; ++i) {
      const double v = kernel.Data<float>()[i];
      lo = std::min(lo, v);
      hi = std::max(hi, v);
      sum += v;
      sq += v * v;
    }
    EXPECT_LE(hi, limit);
    EXPECT_GE(lo, -limit);
    EXPECT_GT(hi, 0.9 * limit);
    EXPECT_LT(lo, -0.9 * limit);
    // U(-l, l) has standard deviation l / sqrt(3); within 10% for the 288-value kernel.
    const double stddev = std::sqrt(sq / n - (sum / n) * (sum / n));
    EXPECT_NEAR(stddev, limit / std::sqrt(3.0), 0.1 * limit / std::sqrt(3.0));
    EXPECT_EQ(lw->vars[1].first, "bias");
    for (int64_t i = 0; i < bias.NumElements(); ++i) EXPECT_EQ(bias.Data<float>()[i], 0.0f);
  }
}

}  // namespace
}  // namespace train
}  // namespace edgeopt
