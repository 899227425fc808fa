// Weight clustering end to end with the CLI, on the cached 1-epoch Fashion-MNIST baseline
// (about 10 s): 16 clusters with a short fine-tuning keep the accuracy (within half a point)
// and make the .tflite at least 3x smaller after zip; every kernel of the file holds at most 16
// distinct values; the file loads in the official runtime and edgeopt's runtime agrees with
// it; int8 quantization of the clustered model keeps at most 16 values per output channel, and
// so does its quantization-aware training; clustering a pruned model keeps its zeros;
// per-layer counts; per-channel clustering; bad arguments fail with a message and leave no
// file.
#include <gtest/gtest.h>

#include <cstdlib>
#include <set>
#include <string>
#include <vector>

#include "src/util/file_util.h"
#include "tests/e2e/weights_util.h"
#include "tests/test_util.h"

namespace edgeopt {
namespace testing {
namespace {

class ClusterE2E : public BaselineE2E {
 protected:
  ClusterE2E() : BaselineE2E("cluster_e2e") {}
};

TEST_F(ClusterE2E, SixteenClustersKeepAccuracyAndZipSmaller) {
  const std::string log =
      Edgeopt("cluster " + base_ +
              " --data fashion-mnist --clusters 16 --epochs 1 --max-samples 12000 "
              "--test-samples 3000 --seed 0 --threads 2 --quiet -o " +
              Tmp("c16.tflite"));
  const double before = ParseMetric(log, "accuracy_before");
  EXPECT_GT(before, 0.8) << log;
  EXPECT_GE(ParseMetric(log, "accuracy"), before - 0.005) << log;
  EXPECT_EQ(ParseMetric(log, "clusters"), 16) << log;
  EXPECT_EQ(ParseMetric(log, "layers"), 4) << log;
  const double zipped = ParseMetric(log, "zipped_bytes");
  const double original = ParseMetric(log, "original_zipped_bytes");
  EXPECT_LE(zipped * 3.0, original) << log;
  EXPECT_EQ(ParseMetric(log, "tflite_bytes"), ParseMetric(log, "original_tflite_bytes")) << log;
  auto file = ReadFileBytes(Tmp("c16.tflite"));
  ASSERT_TRUE(file.ok());
  EXPECT_EQ(static_cast<double>(file->size()), ParseMetric(log, "bytes"));

  const std::vector<Kernel> kernels = Kernels(Tmp("c16.tflite"));
  ASSERT_EQ(kernels.size(), 4u);
  for (const Kernel& k : kernels) EXPECT_EQ(Distinct(k.f), 16u);
  // inspect shows them: 16 values in each layer's row.
  const std::string inspect = Edgeopt("inspect " + Tmp("c16.tflite") + " --no-tensors");
  size_t rows = 0;
  for (size_t p = inspect.find("      16  dense"); p != std::string::npos;
       p = inspect.find("      16  dense", p + 1)) {
    ++rows;
  }
  EXPECT_EQ(rows, 4u) << inspect;

  // The official runtime loads it; edgeopt's runtime agrees with it.
  std::string conf;
  EXPECT_EQ(RunConformance(Tmp("c16.tflite"), &conf), 0) << conf;

  // int8 of the clustered model (through its .keras): at most 16 values per output channel.
  Edgeopt("cluster " + base_ + " --clusters 16 --one-shot --quiet -o " + Tmp("c16.keras"));
  // inspect of the Keras file: 16 values in each kernel.
  const std::string keras_inspect = Edgeopt("inspect " + Tmp("c16.keras"));
  for (const char* row : {"      16  CONV_2D", "      16  FULLY_CONNECTED"}) {
    const size_t first = keras_inspect.find(row);
    EXPECT_NE(first, std::string::npos) << keras_inspect;
    EXPECT_NE(keras_inspect.find(row, first + 1), std::string::npos) << keras_inspect;
  }
  Edgeopt("quantize " + Tmp("c16.keras") +
          " --mode int8 --calibration fashion-mnist:train --calibration-samples 100 -o " +
          Tmp("c16_int8.tflite"));
  const std::vector<Kernel> q = Kernels(Tmp("c16_int8.tflite"));
  ASSERT_EQ(q.size(), 4u);
  for (const Kernel& k : q) {
    ASSERT_FALSE(k.q.empty());
    EXPECT_LE(MostPerChannel(k.q, k), 16u);
  }
}

// Quantization-aware training of a clustered model keeps the clusters (cluster-preserving QAT):
// the QAT int8 file has at most 16 values per output channel.
TEST_F(ClusterE2E, QatKeepsTheClusters) {
  Edgeopt("cluster " + base_ + " --clusters 16 --one-shot --quiet -o " + Tmp("c16.keras"));
  const std::string log =
      Edgeopt("qat " + Tmp("c16.keras") +
              " --data fashion-mnist --epochs 1 --lr 1e-4 --max-samples 10000 --test-samples 1000 "
              "--threads 2 -o " +
              Tmp("c16_qat.tflite"));
  EXPECT_NE(log.find("4 clustered weight(s) kept on their 16 or fewer values"), std::string::npos)
      << log;
  const std::vector<Kernel> q = Kernels(Tmp("c16_qat.tflite"));
  ASSERT_EQ(q.size(), 4u);
  for (const Kernel& k : q) {
    ASSERT_FALSE(k.q.empty());
    EXPECT_LE(MostPerChannel(k.q, k), 16u);
  }
  EXPECT_GT(ParseMetric(log, "fake_quant_accuracy"), 0.8) << log;
}

TEST_F(ClusterE2E, PrunedZerosStayAndPerChannelClusters) {
  Edgeopt("prune " + base_ + " --sparsity 0.8 --one-shot --quiet -o " + Tmp("p80.keras"));
  Edgeopt("convert " + Tmp("p80.keras") + " -o " + Tmp("p80.tflite"));
  const std::string log = Edgeopt("cluster " + Tmp("p80.keras") +
                                  " --clusters 8 --one-shot --quiet -o " + Tmp("p80c8.tflite"));
  const std::vector<Kernel> pruned = Kernels(Tmp("p80.tflite"));
  const std::vector<Kernel> clustered = Kernels(Tmp("p80c8.tflite"));
  ASSERT_EQ(pruned.size(), clustered.size());
  for (size_t l = 0; l < pruned.size(); ++l) {
    int zeros = 0;
    for (size_t i = 0; i < pruned[l].f.size(); ++i) {
      if (pruned[l].f[i] == 0.0f) {
        ++zeros;
        EXPECT_EQ(clustered[l].f[i], 0.0f) << "layer " << l << " weight " << i;
      } else {
        EXPECT_NE(clustered[l].f[i], 0.0f) << "layer " << l << " weight " << i;
      }
    }
    EXPECT_LE(Distinct(clustered[l].f), zeros > 0 ? 9u : 8u) << "layer " << l;
  }

  // --sparse: TFLite's sparse encoding of the kept zeros; a smaller file that the official
  // runtime loads and that computes what the dense one does.
  Edgeopt("cluster " + Tmp("p80.keras") + " --clusters 8 --one-shot --sparse --quiet -o " +
          Tmp("p80c8s.tflite"));
  auto dense = ReadFileBytes(Tmp("p80c8.tflite"));
  auto sparse = ReadFileBytes(Tmp("p80c8s.tflite"));
  ASSERT_TRUE(dense.ok() && sparse.ok());
  EXPECT_LT(sparse->size() * 2, dense->size());
  std::string conf;
  EXPECT_EQ(RunConformance(Tmp("p80c8s.tflite"), &conf), 0) << conf;

  // Per-layer counts: the big dense layer into 4, the rest into 8.
  Edgeopt("cluster " + base_ + " --clusters 8 --layer-clusters dense=4 --one-shot --quiet -o " +
          Tmp("lc.tflite"));
  const std::vector<Kernel> lc = Kernels(Tmp("lc.tflite"));
  ASSERT_EQ(lc.size(), 4u);
  EXPECT_EQ(Distinct(lc[0].f), 8u);
  EXPECT_EQ(Distinct(lc[1].f), 8u);
  EXPECT_EQ(Distinct(lc[2].f), 4u);  // dense
  EXPECT_EQ(Distinct(lc[3].f), 8u);

  // Per channel: every output channel of every kernel holds at most 8 values.
  Edgeopt("cluster " + base_ + " --clusters 8 --per-channel --one-shot --quiet -o " +
          Tmp("pc8.tflite"));
  for (const Kernel& k : Kernels(Tmp("pc8.tflite"))) {
    EXPECT_LE(MostPerChannel(k.f, k), 8u);
    EXPECT_GT(Distinct(k.f), 8u);
  }
}

// A float .tflite made by the official converter (BatchNorm already folded): one-shot
// clustering of its kernels, 16 values each, a file the official runtime runs as edgeopt's does.
TEST_F(ClusterE2E, OfficialConverterTfliteOneShot) {
  const std::string model = CorpusPath("mlcommons-tiny/pretrainedResnet.tflite");
  const std::string log = Edgeopt("cluster " + model + " --clusters 16 --one-shot --quiet -o " +
                                  Tmp("resnet16.tflite"));
  EXPECT_EQ(ParseMetric(log, "layers"), 10) << log;
  EXPECT_LE(ParseMetric(log, "zipped_bytes") * 3.0, ParseMetric(log, "original_zipped_bytes"))
      << log;
  const std::vector<Kernel> kernels = Kernels(Tmp("resnet16.tflite"));
  ASSERT_EQ(kernels.size(), 10u);
  for (const Kernel& k : kernels) EXPECT_EQ(Distinct(k.f), 16u);
  std::string conf;
  EXPECT_EQ(RunConformance(Tmp("resnet16.tflite"), &conf), 0) << conf;
  // Fine-tuning needs the Keras model; a quantized file is refused; the output is a .tflite.
  struct Case {
    std::string args, message;
  };
  for (const Case& c :
       {Case{model + " --data fashion-mnist -o " + Tmp("x.tflite"), "give --one-shot"},
        Case{CorpusPath("mlcommons-tiny/pretrainedResnet_quant.tflite") + " --one-shot -o " +
                 Tmp("x.tflite"),
             "the model is quantized"},
        Case{model + " --one-shot -o " + Tmp("x.keras"),
             "a .tflite input gives a .tflite output"}}) {
    std::string out;
    EXPECT_EQ(RunCommand(EdgeoptBinary() + " cluster " + c.args, &out), 1) << c.args << "\n" << out;
    EXPECT_NE(out.find(c.message), std::string::npos) << c.args << "\n" << out;
  }
  EXPECT_FALSE(ReadFileBytes(Tmp("x.tflite")).ok());
  EXPECT_FALSE(ReadFileBytes(Tmp("x.keras")).ok());
}

// --sensitivity: each layer alone at each count, through the runtime; no model written. At 64
// values one layer's clustering barely moves the accuracy; at 2 the classifier's does.
TEST_F(ClusterE2E, SensitivityTable) {
  const std::string log = Edgeopt("cluster " + base_ +
                                  " --sensitivity --data fashion-mnist --test-samples 2000 "
                                  "--counts 2,64 --plot " +
                                  Tmp("s.png"));
  const std::string original_key = "original ";
  const size_t at = log.find("accuracy with one layer clustered");
  ASSERT_NE(at, std::string::npos) << log;
  const double original = std::atof(log.c_str() + log.find(original_key, at) + 9);
  EXPECT_GT(original, 0.8) << log;
  for (const char* layer : {"conv2d", "conv2d_1", "dense", "dense_1"}) {
    for (int k : {2, 64}) {
      const std::string key =
          std::string("sensitivity: layer=") + layer + " clusters=" + std::to_string(k) + " ";
      const size_t p = log.find(key);
      ASSERT_NE(p, std::string::npos) << key << "\n" << log;
      const double acc = ParseMetric(log.substr(p, log.find('\n', p) - p), "accuracy");
      if (k == 64) {
        EXPECT_NEAR(acc, original, 0.01) << key << "\n" << log;
      } else if (std::string(layer) == "dense_1") {
        EXPECT_LT(acc, original - 0.01) << log;
      }
    }
  }
  std::string err;
  EXPECT_EQ(RunCommand(EdgeoptBinary() + " cluster " + base_ + " --one-shot", &err), 1);
  EXPECT_NE(err.find("-o/--output is required (or --sensitivity)"), std::string::npos) << err;
  EXPECT_EQ(RunCommand(EdgeoptBinary() + " cluster " + base_ +
                           " --sensitivity --data fashion-mnist --counts 1",
                       &err),
            1);
  EXPECT_NE(err.find("--counts: '1' must be in [2, 65536]"), std::string::npos) << err;
}

TEST_F(ClusterE2E, BadArgumentsFailWithAMessageAndNoFile) {
  ExpectFailures("cluster",
                 {
                     {"--clusters 1 --one-shot", "--clusters must be in [2, 65536]"},
                     {"--init spiral --one-shot", "unknown centroid initialization 'spiral'"},
                     {"--layers nope --one-shot", "'nope' is not a layer with weights to cluster"},
                     {"--clusters 16", "fine-tuning needs --data"},
                 },
                 "out.tflite");
  std::string log;
  EXPECT_EQ(RunCommand(EdgeoptBinary() + " cluster " + base_ + " --one-shot --sparse -o " +
                           Tmp("out.keras"),
                       &log),
            1);
  EXPECT_NE(log.find("--sparse applies to .tflite outputs"), std::string::npos) << log;
  EXPECT_FALSE(ReadFileBytes(Tmp("out.keras")).ok());
  EXPECT_EQ(RunCommand(EdgeoptBinary() + " cluster " + Tmp("missing.keras") + " --one-shot -o " +
                           Tmp("out.tflite"),
                       &log),
            1);
  EXPECT_NE(log.find("missing.keras"), std::string::npos) << log;
  EXPECT_EQ(RunCommand(EdgeoptBinary() + " cluster " + base_ + " --one-shot -o " +
                           Tmp("no/such/dir/out.tflite"),
                       &log),
            1);
  EXPECT_NE(log.find("no/such/dir"), std::string::npos) << log;
}

}  // namespace
}  // namespace testing
}  // namespace edgeopt
