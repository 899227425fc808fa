#include "src/train/presets.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>

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

}  // namespace
}  // namespace train
}  // namespace edgeopt
