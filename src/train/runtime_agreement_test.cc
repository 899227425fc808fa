// A model trained by the train engine, exported to .tflite and run by edgeopt's runtime must
// predict what the train engine's own inference predicts (>= 99.9% identical top-1 on the test
// images). Skipped while the runtime lacks a kernel the model needs. A small graph of
// BATCH_MATMULs must give the engine's forward outputs in the runtimes too.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "src/data/dataset.h"
#include "src/export/tflite/export.h"
#include "src/runtime/interpreter.h"
#include "src/train/presets.h"
#include "src/train/trainer.h"
#include "src/util/file_util.h"
#include "src/util/npy.h"
#include "tests/test_util.h"

namespace edgeopt {
namespace train {
namespace {

constexpr double kMinAgreement = 0.999;
constexpr int kTrainSamples = 1280;
constexpr int kTestSamples = 2000;

int ArgMax(const float* v, int n) {
  int best = 0;
  for (int i = 1; i < n; ++i) {
    if (v[i] > v[best]) best = i;
  }
  return best;
}

TEST(RuntimeAgreementTest, TrainedPresetExportedToTflitePredictsTheSame) {
  if (!FileExists(data::FashionMnistDir() + "/t10k-images-idx3-ubyte.gz")) {
    GTEST_SKIP() << "dataset-fashion-mnist is not installed";
  }
  auto test_full = data::LoadFashionMnist("test");
  ASSERT_TRUE(test_full.ok()) << test_full.status().ToString();
  // Train on the first part of the test split (small and quick), check on the rest.
  std::vector<int64_t> train_idx, check_idx;
  for (int64_t i = 0; i < kTrainSamples; ++i) train_idx.push_back(i);
  for (int64_t i = 0; i < kTestSamples; ++i) check_idx.push_back(kTrainSamples + i);
  const data::Dataset train_ds = test_full->Subset(train_idx);
  const data::Dataset check = test_full->Subset(check_idx);

  auto graph = BuildPresetGraph("fmnist-cnn", 0);
  ASSERT_TRUE(graph.ok());
  EngineOptions eo;
  eo.batch_size = 64;
  eo.num_threads = 2;
  auto engine = Engine::Create(*graph, eo);
  ASSERT_TRUE(engine.ok());
  TrainOptions to;
  to.epochs = 1;
  to.batch_size = 64;
  auto trainer = Trainer::Create(engine->get(), to, train_ds);
  ASSERT_TRUE(trainer.ok());
  ASSERT_TRUE((*trainer)->Fit(train_ds, nullptr).ok());

  const int classes = 10;
  std::vector<float> engine_out(static_cast<size_t>(kTestSamples) * classes);
  ASSERT_TRUE(
      PredictOutputs(engine->get(), check.x.data(), kTestSamples, 64, false, engine_out.data())
          .ok());

  // The same network with the check set as its batch, carrying the trained weights.
  auto batched = BuildPresetGraph("fmnist-cnn", 0, kTestSamples);
  ASSERT_TRUE(batched.ok());
  ASSERT_TRUE((*engine)->ExportWeights(&*batched).ok());
  auto bytes = ExportTflite(*batched);
  ASSERT_TRUE(bytes.ok()) << bytes.status().ToString();

  auto compare = [&](const char* runtime, const float* out) {
    int agree = 0;
    double max_diff = 0.0;
    for (int i = 0; i < kTestSamples; ++i) {
      const float* got = out + static_cast<size_t>(i) * classes;
      const float* ref = engine_out.data() + static_cast<size_t>(i) * classes;
      agree += ArgMax(got, classes) == ArgMax(ref, classes);
      for (int c = 0; c < classes; ++c) {
        max_diff = std::max(max_diff, static_cast<double>(std::fabs(got[c] - ref[c])));
      }
    }
    const double agreement = static_cast<double>(agree) / kTestSamples;
    std::printf("%s: top-1 agreement %.4f (%d/%d), max logit difference %.2e\n", runtime, agreement,
                agree, kTestSamples, max_diff);
    EXPECT_GE(agreement, kMinAgreement) << runtime;
    EXPECT_LT(max_diff, 1e-3) << runtime;
  };
  int checked = 0;

  // edgeopt's runtime.
  rt::InterpreterOptions ro;
  auto interp = rt::Interpreter::Create(bytes->data(), bytes->size(), ro);
  if (interp.ok()) {
    rt::Tensor* in = (*interp)->input_tensor(0);
    ASSERT_EQ(in->bytes, check.x.size() * sizeof(float));
    std::memcpy(in->data, check.x.data(), in->bytes);
    ASSERT_TRUE((*interp)->Invoke().ok());
    compare("edgeopt runtime", reinterpret_cast<const float*>((*interp)->output_tensor(0)->data));
    ++checked;
  } else {
    ASSERT_NE(interp.status().message().find("unsupported op"), std::string::npos)
        << interp.status().ToString();
    std::printf("edgeopt runtime: %s (not checked)\n", interp.status().message().c_str());
  }

  // The official TFLite runtime (../shared/tools/tflite-ref), when present.
  const std::string ref = testing::TfliteRefPath();
  if (FileExists(ref)) {
    const std::string dir = testing::MakeTempDir("edgeopt_agreement");
    ASSERT_TRUE(WriteFileAtomic(dir + "/m.tflite", *bytes).ok());
    NpyArray x;
    x.dtype = DType::kFloat32;
    x.shape = {kTestSamples, 28, 28, 1};
    x.data.resize(check.x.size() * sizeof(float));
    std::memcpy(x.data.data(), check.x.data(), x.data.size());
    ASSERT_TRUE(WriteNpy(dir + "/x.npy", x).ok());
    std::string out;
    ASSERT_EQ(testing::RunCommand(
                  ref + " run " + dir + "/m.tflite -i " + dir + "/x.npy -o " + dir + "/out", &out),
              0)
        << out;
    auto y = ReadNpy(dir + "/out/output_0.npy");
    ASSERT_TRUE(y.ok()) << y.status().ToString();
    ASSERT_EQ(y->NumElements(), static_cast<int64_t>(kTestSamples) * classes);
    compare("TFLite 2.9 (tflite-ref)", y->Data<float>());
    ++checked;
    testing::RunCommand("rm -rf '" + dir + "'");
  }
  if (checked == 0) GTEST_SKIP() << "no runtime could run the exported model";
}

// BATCH_MATMUL as Keras MultiHeadAttention uses it, and its other forms: the train engine's
// forward equals edgeopt's runtime kernel (and the official TFLite runtime, when present) on the
// exported graph. x [2, 3, 4] -> RESHAPE / TRANSPOSE to heads q [2, 2, 3, 2]; k = q * w;
// BATCH_MATMUL(q, k, adj_y) -> SOFTMAX -> BATCH_MATMUL(probs, q); TRANSPOSE / RESHAPE back to
// [2, 3, 4]; BATCH_MATMUL with a shared rank-2 weight [4, 5]; BATCH_MATMUL(that, x, adj_x) ->
// [2, 5, 4].
TEST(RuntimeAgreementTest, BatchMatMulForwardMatchesRuntime) {
  constexpr int kBatch = 2;
  ir::Graph g;
  std::mt19937 rng(7);
  std::uniform_real_distribution<float> u(-1.0f, 1.0f);
  auto random = [&](int64_t n) {
    std::vector<float> v(n);
    for (float& f : v) f = u(rng);
    return v;
  };
  auto op = [&](const std::string& type, std::vector<int> inputs, std::vector<int32_t> shape,
                ir::Attrs attrs = {}) {
    const int y =
        g.AddActivation(type + "_" + std::to_string(g.nodes.size()), DType::kFloat32, shape);
    ir::Node n;
    n.op = type;
    n.name = g.tensors[y].name;
    n.inputs = std::move(inputs);
    n.outputs = {y};
    n.attrs = std::move(attrs);
    g.AddNode(n);
    return y;
  };
  auto ints = [&](const std::string& name, std::vector<int32_t> v) {
    return g.AddConstant(name, DType::kInt32, {static_cast<int32_t>(v.size())}, v.data(),
                         v.size() * sizeof(int32_t));
  };
  auto weight = [&](const std::string& name, const std::vector<int32_t>& shape) {
    int64_t n = 1;
    for (int32_t d : shape) n *= d;
    const int t = g.AddFloatConstant(name, shape, random(n));
    g.tensors[t].origin = name;
    return t;
  };
  auto matmul = [&](int a, int b, std::vector<int32_t> shape, bool adj_x, bool adj_y) {
    return op("BATCH_MATMUL", {a, b}, std::move(shape), {{"adj_x", adj_x}, {"adj_y", adj_y}});
  };
  const ir::Attrs no_act = {{"fused_activation_function", std::string("NONE")}};
  const int x = g.AddActivation("x", DType::kFloat32, {kBatch, 3, 4});
  g.inputs = {x};
  const int heads_first = ints("perm", {0, 2, 1, 3});
  const int split = op("RESHAPE", {x, ints("split", {-1, 3, 2, 2})}, {kBatch, 3, 2, 2},
                       {{"new_shape", std::vector<int64_t>{-1, 3, 2, 2}}});
  const int q = op("TRANSPOSE", {split, heads_first}, {kBatch, 2, 3, 2});
  const int k = op("MUL", {q, weight("k/scale", {1, 2, 1, 2})}, {kBatch, 2, 3, 2}, no_act);
  const int scores = matmul(q, k, {kBatch, 2, 3, 3}, false, true);
  const int probs = op("SOFTMAX", {scores}, {kBatch, 2, 3, 3}, {{"beta", 1.0}});
  const int context = matmul(probs, q, {kBatch, 2, 3, 2}, false, false);
  const int back = op("TRANSPOSE", {context, heads_first}, {kBatch, 3, 2, 2});
  const int merged = op("RESHAPE", {back, ints("merge", {-1, 3, 4})}, {kBatch, 3, 4},
                        {{"new_shape", std::vector<int64_t>{-1, 3, 4}}});
  const int projected = matmul(merged, weight("w/kernel", {4, 5}), {kBatch, 3, 5}, false, false);
  const int y = matmul(projected, x, {kBatch, 5, 4}, true, false);
  g.outputs = {y};
  g.input_names = {"x"};
  g.output_names = {"y"};
  ASSERT_TRUE(g.Validate().ok()) << g.Validate().ToString();

  const std::vector<float> input = random(kBatch * 12);
  EngineOptions eo;
  eo.batch_size = kBatch;
  auto engine = Engine::Create(g, eo);
  ASSERT_TRUE(engine.ok()) << engine.status().ToString();
  ASSERT_TRUE((*engine)->Forward(input.data(), kBatch, false).ok());
  const int64_t n = (*engine)->value(y).size;
  ASSERT_EQ(n, kBatch * 20);
  const std::vector<float> want((*engine)->Output(), (*engine)->Output() + n);

  auto bytes = ExportTflite(g);
  ASSERT_TRUE(bytes.ok()) << bytes.status().ToString();
  auto compare = [&](const char* runtime, const float* got) {
    double max_diff = 0.0;
    for (int64_t i = 0; i < n; ++i) {
      EXPECT_NEAR(got[i], want[i], 1e-5 + 1e-5 * std::fabs(want[i])) << runtime << " [" << i << "]";
      max_diff = std::max(max_diff, static_cast<double>(std::fabs(got[i] - want[i])));
    }
    std::printf("%s: max difference %.2e over %lld values\n", runtime, max_diff,
                static_cast<long long>(n));
  };
  auto interp = rt::Interpreter::Create(bytes->data(), bytes->size(), rt::InterpreterOptions());
  ASSERT_TRUE(interp.ok()) << interp.status().ToString();
  rt::Tensor* in = (*interp)->input_tensor(0);
  ASSERT_EQ(in->bytes, input.size() * sizeof(float));
  std::memcpy(in->data, input.data(), in->bytes);
  ASSERT_TRUE((*interp)->Invoke().ok());
  compare("edgeopt runtime", reinterpret_cast<const float*>((*interp)->output_tensor(0)->data));

  const std::string ref = testing::TfliteRefPath();
  if (FileExists(ref)) {
    const std::string dir = testing::MakeTempDir("edgeopt_bmm_agreement");
    ASSERT_TRUE(WriteFileAtomic(dir + "/m.tflite", *bytes).ok());
    NpyArray xa;
    xa.dtype = DType::kFloat32;
    xa.shape = {kBatch, 3, 4};
    xa.data.resize(input.size() * sizeof(float));
    std::memcpy(xa.data.data(), input.data(), xa.data.size());
    ASSERT_TRUE(WriteNpy(dir + "/x.npy", xa).ok());
    std::string out;
    ASSERT_EQ(testing::RunCommand(
                  ref + " run " + dir + "/m.tflite -i " + dir + "/x.npy -o " + dir + "/out", &out),
              0)
        << out;
    auto ya = ReadNpy(dir + "/out/output_0.npy");
    ASSERT_TRUE(ya.ok()) << ya.status().ToString();
    ASSERT_EQ(ya->NumElements(), n);
    compare("TFLite 2.9 (tflite-ref)", ya->Data<float>());
    testing::RunCommand("rm -rf '" + dir + "'");
  }
}

}  // namespace
}  // namespace train
}  // namespace edgeopt
