// A model trained by the train engine, exported to .tflite and run by edgeopt's runtime must
// predict what the train engine's own inference predicts (>= 99.9% identical top-1 on the test
// images). Skipped while the runtime lacks a kernel the model needs.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
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

}  // namespace
}  // namespace train
}  // namespace edgeopt
