// Teachers (.keras through the train engine, .tflite through the runtime, logits of models
// ending in SOFTMAX), the teacher cache, and students scaled from the teacher's architecture.
#include "src/passes/distill/distill.h"

#include <gtest/gtest.h>

#include <cmath>
#include <random>

#include "src/export/tflite/export.h"
#include "src/importers/keras/keras_model.h"
#include "src/passes/pipeline.h"
#include "src/train/presets.h"
#include "tests/test_util.h"

namespace edgeopt {
namespace distill {
namespace {

// The train engine and the runtime compute the same float model in different orders.
constexpr float kLogitTolerance = 1e-3f;

data::Dataset Images(int64_t n, uint32_t seed) {
  data::Dataset ds;
  ds.name = "images";
  ds.sample_shape = {28, 28, 1};
  ds.size = n;
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> u(0.0f, 1.0f);
  ds.x.resize(static_cast<size_t>(n * 784));
  for (float& v : ds.x) v = u(rng);
  ds.num_classes = 10;
  ds.labels.assign(static_cast<size_t>(n), 0);
  return ds;
}

class DistillTest : public ::testing::Test {
 protected:
  void SetUp() override { dir_ = testing::MakeTempDir("distill_unit"); }
  void TearDown() override { testing::RunCommand("rm -rf '" + dir_ + "'"); }

  // fmnist-cnn with seeded weights, optionally ending in softmax, as .keras; returns the path.
  std::string SaveTeacher(bool softmax, const std::string& name) {
    auto config = train::PresetKerasConfig("fmnist-cnn");
    EXPECT_TRUE(config.ok());
    if (softmax) (*config)["config"]["layers"].back()["config"]["activation"] = "softmax";
    auto model = keras::ModelFromConfig(*config, 7);
    EXPECT_TRUE(model.ok()) << model.status().ToString();
    const std::string path = dir_ + "/" + name + ".keras";
    EXPECT_TRUE(keras::SaveKerasFile(*model, path).ok());
    return path;
  }
  std::string dir_;
};

TEST_F(DistillTest, KerasAndTfliteTeachersGiveTheSameLogits) {
  const std::string plain = SaveTeacher(false, "plain");
  const std::string soft = SaveTeacher(true, "soft");
  auto a = Teacher::Load(plain, 2);
  auto b = Teacher::Load(soft, 2);
  ASSERT_TRUE(a.ok()) << a.status().ToString();
  ASSERT_TRUE(b.ok()) << b.status().ToString();
  EXPECT_TRUE((*a)->from_keras());
  EXPECT_EQ((*a)->input_size(), 784);
  EXPECT_EQ((*a)->num_logits(), 10);
  // The softmax teacher as a float .tflite (run by the runtime).
  const std::string tfl = dir_ + "/soft.tflite";
  ASSERT_TRUE(WriteTfliteFile((*b)->export_graph(), tfl).ok());
  auto c = Teacher::Load(tfl, 1);
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_FALSE((*c)->from_keras());
  const data::Dataset ds = Images(5, 1);
  std::vector<float> la(50), lb(50), lc(50);
  ASSERT_TRUE((*a)->Logits(ds.x.data(), 5, la.data()).ok());
  ASSERT_TRUE((*b)->Logits(ds.x.data(), 5, lb.data()).ok());
  ASSERT_TRUE((*c)->Logits(ds.x.data(), 5, lc.data()).ok());
  bool any_negative = false;
  for (int i = 0; i < 50; ++i) {
    EXPECT_EQ(la[i], lb[i]) << i;  // the softmax's input, not probabilities
    EXPECT_NEAR(la[i], lc[i], kLogitTolerance) << i;
    any_negative = any_negative || la[i] < 0.0f;
  }
  EXPECT_TRUE(any_negative);
  // A missing file is an error.
  EXPECT_FALSE(Teacher::Load(dir_ + "/missing.keras", 1).ok());
}

TEST_F(DistillTest, CacheFindsShuffledSamplesAndRunsTheTeacherForOthers) {
  auto t = Teacher::Load(SaveTeacher(false, "t"), 1);
  ASSERT_TRUE(t.ok());
  const data::Dataset ds = Images(40, 2);
  TeacherCache cache;
  int64_t progress = 0;
  ASSERT_TRUE(cache.Build(t->get(), ds, [&](int64_t done, int64_t) { progress = done; }).ok());
  EXPECT_EQ(progress, 40);
  std::vector<float> direct(400);
  ASSERT_TRUE((*t)->Logits(ds.x.data(), 40, direct.data()).ok());
  // A batch of samples 7, 3, 30, and one not in the data set (sample 3 shifted).
  std::vector<float> batch;
  for (int i : {7, 3, 30}) batch.insert(batch.end(), ds.sample(i), ds.sample(i) + 784);
  std::vector<float> other(ds.sample(3), ds.sample(3) + 784);
  other[100] += 0.5f;
  batch.insert(batch.end(), other.begin(), other.end());
  std::vector<float> got(40), other_logits(10);
  ASSERT_TRUE(cache.Lookup(batch.data(), 4, got.data()).ok());
  ASSERT_TRUE((*t)->Logits(other.data(), 1, other_logits.data()).ok());
  for (int c = 0; c < 10; ++c) {
    EXPECT_EQ(got[c], direct[70 + c]);
    EXPECT_EQ(got[10 + c], direct[30 + c]);
    EXPECT_EQ(got[20 + c], direct[300 + c]);
    EXPECT_EQ(got[30 + c], other_logits[c]);
  }
  EXPECT_EQ(cache.hits(), 3);
  EXPECT_EQ(cache.misses(), 1);
}

TEST_F(DistillTest, StudentWidthScalesEveryLayerButTheClassifier) {
  auto config = train::PresetKerasConfig("fmnist-cnn");
  ASSERT_TRUE(config.ok());
  auto scaled = ScaleKerasWidth(*config, 0.25);
  ASSERT_TRUE(scaled.ok()) << scaled.status().ToString();
  std::vector<int64_t> sizes;
  for (const auto& layer : (*scaled)["config"]["layers"]) {
    const auto& c = layer["config"];
    if (c.contains("filters")) sizes.push_back(c["filters"].get<int64_t>());
    if (c.contains("units")) sizes.push_back(c["units"].get<int64_t>());
  }
  EXPECT_EQ(sizes, (std::vector<int64_t>{8, 16, 32, 10}));
  // The scaled model builds, with about 1/16 of the weights.
  auto big = keras::ModelFromConfig(*config, 1);
  auto small = keras::ModelFromConfig(*scaled, 1);
  ASSERT_TRUE(big.ok() && small.ok()) << small.status().ToString();
  auto gb = keras::BuildGraph(*big);
  auto gs = keras::BuildGraph(*small);
  ASSERT_TRUE(gb.ok() && gs.ok());
  EXPECT_EQ(CountWeights(*gb), 225034);
  EXPECT_EQ(CountWeights(*gs), 80 + 1168 + 400 * 32 + 32 + 330);
  EXPECT_FALSE(ScaleKerasWidth(*config, 0.0).ok());
  EXPECT_FALSE(ScaleKerasWidth(nlohmann::json::object(), 0.5).ok());
}

}  // namespace
}  // namespace distill
}  // namespace edgeopt
