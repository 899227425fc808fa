// Pruning end to end, fast (ctest label "prune"; about 5-10 s once the cached 1-epoch
// Fashion-MNIST baseline exists): one-shot pruning (no fine-tuning: accuracy is not what this
// checks) at 80% unstructured, block 1x4 and 50% of the channels (also of a ResNet with batch
// norms and residual Adds); `convert --sparse`; `quantize --mode int8` with and without
// --sparse. Checks that quantization keeps the zeros (the same int8 weights with or without the
// sparse encoding, at least 80% zeros in the pruned layers), the file sizes of the done
// criteria (sparse float <= 0.35x, int8 + sparse <= 0.12x the dense float file), that the
// official runtime (tflite-ref) loads every sparse file and gives the same outputs as for the
// dense file, and that edgeopt's runtime agrees with it (conformance).
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <string>
#include <vector>

#include "src/runtime/interpreter.h"
#include "src/util/file_util.h"
#include "src/util/npy.h"
#include "tests/test_util.h"

namespace edgeopt {
namespace testing {
namespace {

constexpr double kPrunedSparsity = 0.8;
constexpr double kMaxSparseFloatRatio = 0.35;  // sparse float .tflite / dense float .tflite
constexpr double kMaxSparseInt8Ratio = 0.12;   // int8 + sparse .tflite / dense float .tflite
constexpr float kFloatAtol = 1e-5f;            // tflite-ref: sparse vs dense float file
constexpr float kFloatRtol = 1e-5f;

class PruneE2E : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new std::string(MakeTempDir("prune_e2e"));
    base_ = new std::string(TrainedFmnistBaseline(1));
  }
  static void TearDownTestSuite() {
    RunCommand("rm -rf '" + *dir_ + "'");
    delete dir_;
    delete base_;
  }
  static std::string Tmp(const std::string& name) { return *dir_ + "/" + name; }

  // Runs `edgeopt ARGS`; expects exit 0; returns the output.
  static std::string Edgeopt(const std::string& args) {
    std::string log;
    const int rc = RunCommand(EdgeoptBinary() + " " + args, &log);
    EXPECT_EQ(rc, 0) << args << ":\n" << log;
    return log;
  }

  static size_t FileSize(const std::string& path) {
    auto b = ReadFileBytes(path);
    EXPECT_TRUE(b.ok()) << path;
    return b.ok() ? b->size() : 0;
  }

  // Output 0 of `model` in the official runtime on seeded random inputs.
  static NpyArray RefRun(const std::string& model, int seed) {
    const std::string out = Tmp("ref_" + std::to_string(seed) + "_" + std::to_string(++runs_));
    std::string log;
    const int rc = RunCommand(TfliteRefPath() + " run '" + model + "' --random " +
                                  std::to_string(seed) + " -o '" + out + "'",
                              &log);
    EXPECT_EQ(rc, 0) << model << ":\n" << log;
    auto a = ReadNpy(out + "/output_0.npy");
    EXPECT_TRUE(a.ok()) << model << ": " << a.status().ToString();
    return a.ok() ? *a : NpyArray();
  }

  // The weights of every CONV_2D / FULLY_CONNECTED, in node order, as edgeopt's runtime holds
  // them after Prepare (DENSIFY outputs are decoded to dense constants then); sparse-encoded
  // weights read directly by the op are skipped (`skipped` counts them).
  static std::vector<std::vector<int8_t>> Int8Weights(const std::string& model, int* skipped) {
    std::vector<std::vector<int8_t>> out;
    *skipped = 0;
    auto bytes = ReadFileBytes(model);
    EXPECT_TRUE(bytes.ok()) << model;
    if (!bytes.ok()) return out;
    rt::InterpreterOptions o;
    o.sparse_kernels = rt::SparseKernels::kOff;
    auto interp = rt::Interpreter::Create(bytes->data(), bytes->size(), o);
    EXPECT_TRUE(interp.ok()) << model << ": " << interp.status().ToString();
    if (!interp.ok()) return out;
    rt::Interpreter* in = interp->get();
    for (int i = 0; i < in->num_nodes(); ++i) {
      const rt::Node& node = in->node(i);
      if (node.op != tflite::BuiltinOperator::CONV_2D &&
          node.op != tflite::BuiltinOperator::FULLY_CONNECTED) {
        continue;
      }
      const rt::Tensor* w = in->tensor(node.inputs[1]);
      EXPECT_EQ(w->type, DType::kInt8) << model << " node " << i;
      if (w->sparsity != nullptr) {
        ++*skipped;
        continue;
      }
      out.emplace_back(w->Data<int8_t>(), w->Data<int8_t>() + w->dims.NumElements());
    }
    return out;
  }

  static double ZeroFraction(const std::vector<int8_t>& w) {
    int64_t zeros = 0;
    for (int8_t v : w) zeros += v == 0;
    return static_cast<double>(zeros) / static_cast<double>(w.size());
  }

  static std::string* dir_;
  static std::string* base_;
  static int runs_;
};

std::string* PruneE2E::dir_ = nullptr;
std::string* PruneE2E::base_ = nullptr;
int PruneE2E::runs_ = 0;

TEST_F(PruneE2E, ZerosKeptSparseFilesLoadInTfliteAndAgree) {
  ASSERT_FALSE(base_->empty()) << "no Fashion-MNIST baseline";
  // 80% unstructured, one shot: conv2d_1 and dense (the first conv and the last dense are kept).
  const std::string log =
      Edgeopt("prune " + *base_ + " --sparsity 0.8 --one-shot -o " + Tmp("p80.keras"));
  EXPECT_NEAR(ParseMetric(log, "sparsity"), 0.79, 0.01) << log;  // of all weights
  Edgeopt("convert " + Tmp("p80.keras") + " -o " + Tmp("p80.tflite"));
  Edgeopt("convert " + Tmp("p80.keras") + " --sparse -o " + Tmp("p80_sparse.tflite"));
  const std::string q =
      " --mode int8 --calibration fashion-mnist:train --calibration-samples 100"
      " --quiet";
  Edgeopt("quantize " + Tmp("p80.keras") + q + " -o " + Tmp("p80_int8.tflite"));
  Edgeopt("quantize " + Tmp("p80.keras") + q + " --sparse -o " + Tmp("p80_int8_sparse.tflite"));
  Edgeopt("prune " + *base_ + " --structure block:1x4 --sparsity 0.8 --one-shot --sparse -o " +
          Tmp("blk.tflite"));
  Edgeopt("prune " + *base_ + " --structure channel --sparsity 0.5 --one-shot -o " +
          Tmp("ch50.tflite"));
  // A ResNet with BatchNormalization and residual Adds, written to .tflite directly (the export
  // passes fold the batch norms of the slimmer convolutions).
  Edgeopt("prune " + CorpusPath("mlcommons-tiny/pretrainedResnet.h5") +
          " --structure channel --sparsity 0.5 --one-shot -o " + Tmp("resnet_ch50.tflite"));

  // Sizes against the dense float file.
  const double dense = static_cast<double>(FileSize(Tmp("p80.tflite")));
  const double sparse_ratio = static_cast<double>(FileSize(Tmp("p80_sparse.tflite"))) / dense;
  const double int8_ratio = static_cast<double>(FileSize(Tmp("p80_int8_sparse.tflite"))) / dense;
  EXPECT_LE(sparse_ratio, kMaxSparseFloatRatio);
  EXPECT_LE(int8_ratio, kMaxSparseInt8Ratio);
  EXPECT_LT(FileSize(Tmp("p80_int8_sparse.tflite")), FileSize(Tmp("p80_int8.tflite")) / 2);

  // Quantization keeps the zeros: the int8 weights of the dense and the sparse file are the
  // same, and the pruned layers (CONV_2D #2, the first FULLY_CONNECTED) are >= 80% zeros.
  int skipped_dense = 0, skipped_sparse = 0;
  const auto wd = Int8Weights(Tmp("p80_int8.tflite"), &skipped_dense);
  const auto ws = Int8Weights(Tmp("p80_int8_sparse.tflite"), &skipped_sparse);
  ASSERT_EQ(wd.size(), 4u);  // conv2d, conv2d_1, dense, dense_1
  EXPECT_EQ(skipped_dense, 0);
  EXPECT_EQ(skipped_sparse, 0);  // int8: DENSIFY (TFLite 2.9 misreads int8 FC blocks)
  ASSERT_EQ(ws.size(), wd.size());
  for (size_t i = 0; i < wd.size(); ++i) EXPECT_EQ(ws[i], wd[i]) << "layer " << i;
  EXPECT_LT(ZeroFraction(wd[0]), 0.05);
  EXPECT_GE(ZeroFraction(wd[1]), kPrunedSparsity);
  EXPECT_GE(ZeroFraction(wd[2]), kPrunedSparsity);
  EXPECT_LT(ZeroFraction(wd[3]), 0.05);
  const std::string inspect = Edgeopt("inspect " + Tmp("p80_int8_sparse.tflite") + " --no-tensors");
  EXPECT_NE(inspect.find("80.0%"), std::string::npos) << inspect;
  EXPECT_NE(inspect.find("sparse (DENSIFY)"), std::string::npos) << inspect;

  // The official runtime loads the sparse files and computes what it computes for the dense
  // ones: float within rounding, int8 identical.
  for (int seed : {1, 2}) {
    const NpyArray a = RefRun(Tmp("p80.tflite"), seed);
    const NpyArray b = RefRun(Tmp("p80_sparse.tflite"), seed);
    ASSERT_EQ(a.dtype, DType::kFloat32);
    ASSERT_EQ(a.data.size(), b.data.size());
    ASSERT_GT(a.data.size(), 0u);
    for (int64_t i = 0; i < a.NumElements(); ++i) {
      EXPECT_NEAR(b.Data<float>()[i], a.Data<float>()[i],
                  kFloatAtol + kFloatRtol * std::fabs(a.Data<float>()[i]))
          << "seed " << seed << " element " << i;
    }
    EXPECT_EQ(RefRun(Tmp("p80_int8_sparse.tflite"), seed).data,
              RefRun(Tmp("p80_int8.tflite"), seed).data)
        << "seed " << seed;
  }

  // The kernels `bench --profile` reports: the float sparse KxK kernel for the pruned conv by
  // default and none with --sparse off; with --sparse force the int8 convolutions run on the
  // sparse int8 kernels (im2col rows).
  const std::string prof = " --profile --runs 3 --warmup 1 --threads 1";
  const std::string auto_log = Edgeopt("bench " + Tmp("p80_sparse.tflite") + prof);
  EXPECT_NE(auto_log.find("sparse kxk"), std::string::npos) << auto_log;
  const std::string off_log = Edgeopt("bench " + Tmp("p80_sparse.tflite") + prof + " --sparse off");
  EXPECT_EQ(off_log.find(" sparse "), std::string::npos) << off_log;
  EXPECT_NE(off_log.find("sparse=off"), std::string::npos) << off_log;
  const std::string force_log =
      Edgeopt("bench " + Tmp("p80_int8.tflite") + prof + " --sparse force");
  EXPECT_NE(force_log.find("sparse im2col"), std::string::npos) << force_log;
  std::string bad;
  EXPECT_NE(RunCommand(EdgeoptBinary() + " bench " + Tmp("p80.tflite") + " --sparse maybe", &bad),
            0);
  EXPECT_NE(bad.find("--sparse"), std::string::npos) << bad;
  // The runtime-only runner (what goes on a device) takes the same switch: its timing line
  // counts the nodes on sparse kernels (the pruned conv by default, none when off, the int8
  // convolutions too when forced); a bad value exits 2, naming the flag.
  auto sparse_nodes = [&](const std::string& file, const std::string& mode) {
    std::string log;
    const std::string cmd =
        BinaryDir() + "/edgeopt_run_min " + Tmp(file) + " --random 1 --repeat 1 --sparse " + mode;
    EXPECT_EQ(RunCommand(cmd, &log), 0) << cmd << ":\n" << log;
    const size_t at = log.find("sparse kernels: ");
    EXPECT_NE(at, std::string::npos) << log;
    return at == std::string::npos ? -1 : std::atoi(log.c_str() + at + 16);
  };
  EXPECT_GE(sparse_nodes("p80_sparse.tflite", "auto"), 1);
  EXPECT_EQ(sparse_nodes("p80_sparse.tflite", "off"), 0);
  EXPECT_EQ(sparse_nodes("p80_int8.tflite", "off"), 0);
  EXPECT_GE(sparse_nodes("p80_int8.tflite", "force"), 2);
  EXPECT_EQ(
      RunCommand(BinaryDir() + "/edgeopt_run_min " + Tmp("p80.tflite") + " --sparse on", &bad), 2);
  EXPECT_NE(bad.find("--sparse"), std::string::npos) << bad;

  // edgeopt's runtime against the official one on every pruned file.
  const std::vector<std::string> files = {
      "p80_sparse.tflite", "p80_int8.tflite", "p80_int8_sparse.tflite",
      "blk.tflite",        "ch50.tflite",     "resnet_ch50.tflite"};
  std::string cmd = "sh " + SharedDir() + "/tools/conformance/conformance \"" + EdgeoptBinary() +
                    " run\" --seeds 2";
  for (const std::string& f : files) cmd += " " + Tmp(f);
  std::string conf;
  EXPECT_EQ(RunCommand(cmd, &conf), 0) << conf;
  EXPECT_NE(conf.find("6 passed, 0 failed, 0 skipped"), std::string::npos) << conf;
}

// --sensitivity: every prunable layer (the first convolution and the last dense layer too, which
// pruning leaves by default) alone at each sparsity; no model written.
TEST_F(PruneE2E, SensitivityTable) {
  const std::string log =
      Edgeopt("prune " + *base_ + " --sensitivity --data fashion-mnist --test-samples 2000 " +
              "--sparsities 0.5,0.95 --structure block:1x4");
  EXPECT_NE(log.find("each layer alone, block:1x4"), std::string::npos) << log;
  std::map<std::string, double> acc;
  for (const char* layer : {"conv2d", "conv2d_1", "dense", "dense_1"}) {
    for (const char* level : {"0.5", "0.95"}) {
      const std::string key =
          std::string("sensitivity: layer=") + layer + " sparsity=" + level + " kept=";
      const size_t at = log.find(key);
      ASSERT_NE(at, std::string::npos) << key << "\n" << log;
      const std::string line = log.substr(at, log.find('\n', at) - at);
      acc[std::string(layer) + "@" + level] = ParseMetric(line, "accuracy");
      // The weights kept: about 1 - sparsity (conv2d's rows of 9 end in a partial block).
      EXPECT_NEAR(ParseMetric(line, "kept"), 1.0 - std::atof(level), 0.05) << line;
    }
  }
  // Pruning 95 % of the classifier costs more than pruning half of it.
  EXPECT_GT(acc["dense_1@0.5"], acc["dense_1@0.95"] + 0.05) << log;
  EXPECT_GT(acc["dense@0.5"], 0.8) << log;
  std::string err;
  EXPECT_EQ(RunCommand(EdgeoptBinary() + " prune " + *base_ +
                           " --sensitivity --data fashion-mnist --structure channel",
                       &err),
            1);
  EXPECT_NE(err.find("--sensitivity measures unstructured or block pruning"), std::string::npos)
      << err;
  EXPECT_EQ(RunCommand(EdgeoptBinary() + " prune " + *base_ + " --sparsity 0.5 --one-shot", &err),
            1);
  EXPECT_NE(err.find("-o/--output is required (or --sensitivity)"), std::string::npos) << err;
}

}  // namespace
}  // namespace testing
}  // namespace edgeopt
