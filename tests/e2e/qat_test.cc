// `edgeopt qat` end to end on Fashion-MNIST (cheap versions of the issue's checks: a subset of
// the training set, one epoch, part of the test set): the int8 file is full-integer, runs in
// the official runtime, agrees with the QAT model's fake-quant predictions, and is at least as
// accurate as post-training int8; a pruned model stays pruned.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <numeric>
#include <random>
#include <string>
#include <vector>

#include "src/data/dataset.h"
#include "src/importers/keras/keras_model.h"
#include "src/importers/tflite/import.h"
#include "src/util/file_util.h"
#include "src/util/npy.h"
#include "tests/e2e/weights_util.h"
#include "tests/test_util.h"

namespace edgeopt {
namespace testing {
namespace {

constexpr int kTrainSamples = 6000;
constexpr int kTestSamples = 2000;
constexpr double kMinAgreement = 0.995;
// On 2000 test images one image is 0.05 points; QAT may lose a few to PTQ by noise.
constexpr double kPtqSlack = 0.002;

int CountOp(const ir::Graph& g, const std::string& op) {
  int n = 0;
  for (const ir::Node& node : g.nodes) n += node.op == op;
  return n;
}

class QatE2eTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!FileExists(data::FashionMnistDir() + "/t10k-images-idx3-ubyte.gz")) {
      GTEST_SKIP() << "dataset-fashion-mnist is not installed";
    }
    baseline_ = TrainedFmnistBaseline(1);
    ASSERT_FALSE(baseline_.empty());
    dir_ = MakeTempDir("qat_e2e");
    train_ = FmnistSubset(dir_, "train", kTrainSamples);
    ASSERT_FALSE(train_.empty());
  }
  void TearDown() override {
    if (!dir_.empty()) RunCommand("rm -rf '" + dir_ + "'");
  }
  std::string Qat(const std::string& model, const std::string& out, const std::string& extra,
                  int* rc, int test_samples = kTestSamples) {
    std::string log;
    *rc = RunCommand(EdgeoptBinary() + " qat " + model + " --data " + train_ +
                         " --test-data fashion-mnist:test --test-samples " +
                         std::to_string(test_samples) + " --lr 1e-4 --threads 2 " + "--quiet -o " +
                         out + " " + extra,
                     &log);
    return log;
  }
  std::string baseline_, dir_, train_;
};

TEST_F(QatE2eTest, Int8FileAgreesWithFakeQuantAndRunsInTheOfficialRuntime) {
  int rc = 0;
  const std::string out = dir_ + "/qat.tflite";
  const std::string log = Qat(baseline_, out, "--epochs 1", &rc);
  ASSERT_EQ(rc, 0) << log;
  std::printf("%s", log.c_str());
  const double agreement = ParseMetric(log, "agreement");
  const double ptq = ParseMetric(log, "ptq_accuracy");
  const double flt = ParseMetric(log, "float_accuracy");
  const double int8 = ParseMetric(log, "accuracy");
  EXPECT_GE(agreement, kMinAgreement) << log;
  EXPECT_GE(int8, ptq - kPtqSlack) << log;
  EXPECT_GT(flt, 0.8);
  // Full integer: int8 weights and activations, conversions only at the edges.
  auto g = ImportTfliteFile(out);
  ASSERT_TRUE(g.ok()) << g.status().ToString();
  EXPECT_EQ(CountOp(*g, "QUANTIZE"), 1);
  EXPECT_EQ(CountOp(*g, "DEQUANTIZE"), 1);
  for (const ir::Node& n : g->nodes) {
    if (n.op == "CONV_2D" || n.op == "FULLY_CONNECTED") {
      EXPECT_EQ(g->tensors[n.inputs[0]].dtype, DType::kInt8);
      EXPECT_EQ(g->tensors[n.inputs[1]].dtype, DType::kInt8);
      EXPECT_EQ(g->tensors[n.inputs[1]].quant.per_channel(), n.op == "CONV_2D");
    }
  }
  // int8 I/O: no conversion op at all.
  const std::string out8 = dir_ + "/qat_io8.tflite";
  const std::string log8 = Qat(baseline_, out8, "--io int8 --per-tensor --epochs 0", &rc, 500);
  ASSERT_EQ(rc, 0) << log8;
  auto g8 = ImportTfliteFile(out8);
  ASSERT_TRUE(g8.ok());
  EXPECT_EQ(CountOp(*g8, "QUANTIZE") + CountOp(*g8, "DEQUANTIZE"), 0);
  EXPECT_EQ(g8->tensors[g8->inputs[0]].dtype, DType::kInt8);
  for (const ir::Node& n : g8->nodes) {
    if (n.op == "CONV_2D") {
      EXPECT_FALSE(g8->tensors[n.inputs[1]].quant.per_channel());
    }
  }
  // --epochs 0 is the post-training model (same calibration).
  EXPECT_NEAR(ParseMetric(log8, "accuracy"), ParseMetric(log8, "ptq_accuracy"), 1e-9) << log8;
  // The official runtime (TFLite 2.9) loads and runs both; edgeopt's runtime agrees with it.
  std::string conf;
  const int crc = RunConformance("--seeds 1 " + out + " " + out8, &conf);
  EXPECT_EQ(crc, 0) << conf;
  EXPECT_NE(conf.find("2 passed, 0 failed, 0 skipped"), std::string::npos) << conf;
}

TEST_F(QatE2eTest, PrunedModelStaysPrunedThroughQat) {
  // Prune the baseline by magnitude (80% of each kernel) without fine-tuning: the zeros must
  // survive QAT and land as int8 zeros.
  auto model = keras::LoadKerasFile(baseline_);
  ASSERT_TRUE(model.ok());
  int64_t zeros = 0;
  for (keras::LayerWeights& lw : model->weights) {
    for (auto& [name, array] : lw.vars) {
      if (name != "kernel") continue;
      float* v = array.Data<float>();
      const int64_t n = array.NumElements();
      std::vector<float> mags(v, v + n);
      for (float& m : mags) m = std::fabs(m);
      std::nth_element(mags.begin(), mags.begin() + n * 8 / 10, mags.end());
      const float cut = mags[n * 8 / 10];
      for (int64_t i = 0; i < n; ++i) {
        if (std::fabs(v[i]) < cut) {
          v[i] = 0.0f;
          ++zeros;
        }
      }
    }
  }
  const std::string pruned = dir_ + "/pruned.keras";
  ASSERT_TRUE(keras::SaveKerasFile(*model, pruned).ok());
  int rc = 0;
  const std::string out = dir_ + "/pruned_qat.tflite";
  const std::string log = Qat(pruned, out, "--epochs 1", &rc);
  ASSERT_EQ(rc, 0) << log;
  EXPECT_GE(ParseMetric(log, "agreement"), kMinAgreement) << log;
  auto g = ImportTfliteFile(out);
  ASSERT_TRUE(g.ok());
  int64_t int8_zeros = 0, total = 0;
  for (const ir::Node& n : g->nodes) {
    if (n.op != "CONV_2D" && n.op != "FULLY_CONNECTED") continue;
    const ir::Tensor& w = g->tensors[n.inputs[1]];
    for (int64_t i = 0; i < w.NumElements(); ++i) int8_zeros += w.DataAs<int8_t>()[i] == 0;
    total += w.NumElements();
  }
  EXPECT_GE(int8_zeros, zeros);
  EXPECT_GE(static_cast<double>(int8_zeros) / total, 0.79);
  // --sparse: the same integers in TFLite's sparse tensor format (a smaller file, the same
  // predictions).
  const std::string sparse_out = dir_ + "/pruned_qat_sparse.tflite";
  const std::string sparse_log = Qat(pruned, sparse_out, "--epochs 1 --sparse", &rc);
  ASSERT_EQ(rc, 0) << sparse_log;
  EXPECT_EQ(ParseMetric(sparse_log, "accuracy"), ParseMetric(log, "accuracy")) << sparse_log;
  auto dense_bytes = ReadFileBytes(out);
  auto sparse_bytes = ReadFileBytes(sparse_out);
  ASSERT_TRUE(dense_bytes.ok() && sparse_bytes.ok());
  EXPECT_LT(sparse_bytes->size(), dense_bytes->size() * 6 / 10);
  std::printf("[ qat ] pruned: %lld of %lld int8 weights zero (%lld pruned)\n",
              static_cast<long long>(int8_zeros), static_cast<long long>(total),
              static_cast<long long>(zeros));
}

// A depthwise network that per-tensor int8 handles badly with the same float function: after
// the depthwise convolution's BatchNormalization every channel c is scaled by s_c (gamma and
// beta; ReLU is positively homogeneous) and the next 1x1 convolution's input channel c by 1 / s_c,
// s_c log-uniform in [1/16, 16] (the inverse of cross-layer equalization). Post-training
// per-tensor int8 loses points; QAT with per-tensor weights wins at least half of them back.
// (With [1/12, 12] the loss was 1.45 points, and 0.8 once pixels were rounded as x / 255
// instead of x * (1/255): too close to the 1-point premise; [1/16, 16] gives 2.75 and 1.75.)
TEST_F(QatE2eTest, RecoversWhatPerTensorPostTrainingLosesOnADepthwiseNetwork) {
  const std::string arch = dir_ + "/dw.json";
  const std::string json = R"({"class_name": "Sequential", "config": {"name": "dw", "layers": [
    {"class_name": "InputLayer", "config": {"name": "in", "batch_input_shape": [null, 28, 28, 1]}},
    {"class_name": "Conv2D", "config": {"name": "stem", "filters": 16, "kernel_size": 3,
     "strides": 2, "padding": "same", "activation": "relu"}},
    {"class_name": "DepthwiseConv2D", "config": {"name": "dw", "kernel_size": 3,
     "padding": "same", "use_bias": false}},
    {"class_name": "BatchNormalization", "config": {"name": "dw_bn"}},
    {"class_name": "ReLU", "config": {"name": "dw_relu"}},
    {"class_name": "Conv2D", "config": {"name": "pw", "filters": 32, "kernel_size": 1,
     "activation": "relu"}},
    {"class_name": "MaxPooling2D", "config": {"name": "pool", "pool_size": 2}},
    {"class_name": "Flatten", "config": {"name": "flatten"}},
    {"class_name": "Dense", "config": {"name": "out", "units": 10, "activation": "softmax"}}]}})";
  ASSERT_TRUE(WriteFileAtomic(arch, json.data(), json.size()).ok());
  const std::string trained = dir_ + "/dw.keras";
  std::string log;
  ASSERT_EQ(RunCommand(EdgeoptBinary() + " train " + arch + " --data " + train_ +
                           " --epochs 3 --seed 0 --threads 2 --quiet -o " + trained,
                       &log),
            0)
      << log;
  auto model = keras::LoadKerasFile(trained);
  ASSERT_TRUE(model.ok()) << model.status().ToString();
  auto var = [&](const std::string& layer, const std::string& name) -> NpyArray* {
    for (keras::LayerWeights& lw : model->weights) {
      if (lw.layer != layer) continue;
      for (auto& [n, a] : lw.vars) {
        if (n == name) return &a;
      }
    }
    return nullptr;
  };
  NpyArray* gamma = var("dw_bn", "gamma");
  NpyArray* beta = var("dw_bn", "beta");
  NpyArray* pw = var("pw", "kernel");  // [1, 1, 16, 32]
  ASSERT_TRUE(gamma != nullptr && beta != nullptr && pw != nullptr);
  ASSERT_EQ(pw->NumElements(), 16 * 32);
  std::mt19937 rng(7);
  std::uniform_real_distribution<double> u(-std::log(16.0), std::log(16.0));
  for (int c = 0; c < 16; ++c) {
    const float scale = static_cast<float>(std::exp(u(rng)));
    gamma->Data<float>()[c] *= scale;
    beta->Data<float>()[c] *= scale;
    for (int o = 0; o < 32; ++o) pw->Data<float>()[c * 32 + o] /= scale;
  }
  const std::string rescaled = dir_ + "/dw_rescaled.keras";
  ASSERT_TRUE(keras::SaveKerasFile(*model, rescaled).ok());
  int rc = 0;
  log = Qat(rescaled, dir_ + "/dw_qat.tflite", "--per-tensor --epochs 1", &rc);
  ASSERT_EQ(rc, 0) << log;
  std::printf("%s", log.c_str());
  const double flt = ParseMetric(log, "float_accuracy");
  const double ptq = ParseMetric(log, "ptq_accuracy");
  const double qat = ParseMetric(log, "accuracy");
  EXPECT_GT(flt, 0.7) << log;
  EXPECT_GE(flt - ptq, 0.01) << log;  // the model is hard for post-training per-tensor int8
  EXPECT_GE(qat, flt - 0.5 * (flt - ptq)) << log;
  // Channels that hold one or two int8 steps and meet 16x weights downstream turn the file's
  // one-step requantization differences into label changes more often than on a normal model
  // (full Fashion-MNIST run: 97.6-99.1 %, against 99.9 % for the reference CNN).
  EXPECT_GE(ParseMetric(log, "agreement"), 0.98) << log;
}

TEST_F(QatE2eTest, Errors) {
  int rc = 0;
  // A quantized input, an unknown I/O type, a non-.tflite output.
  std::string log = Qat(baseline_, dir_ + "/a.tflite", "--io int8 --epochs 0", &rc, 100);
  ASSERT_EQ(rc, 0) << log;
  log = Qat(dir_ + "/a.tflite", dir_ + "/b.tflite", "", &rc);
  EXPECT_EQ(rc, 1);
  EXPECT_NE(log.find("already quantized"), std::string::npos) << log;
  log = Qat(baseline_, dir_ + "/c.tflite", "--io int4", &rc);
  EXPECT_EQ(rc, 1);
  EXPECT_NE(log.find("int4"), std::string::npos) << log;
  log = Qat(baseline_, dir_ + "/d.keras", "", &rc);
  EXPECT_EQ(rc, 1);
  EXPECT_NE(log.find(".tflite"), std::string::npos) << log;
  EXPECT_FALSE(FileExists(dir_ + "/b.tflite"));
}

}  // namespace
}  // namespace testing
}  // namespace edgeopt
