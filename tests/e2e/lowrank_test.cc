// Low-rank factorization end to end with the CLI, on the cached 1-epoch Fashion-MNIST baseline
// (about 10 s): the default (a quarter of the weights of each large layer) with a short
// fine-tuning keeps the accuracy within a point, and the .tflite is smaller as it is, with
// fewer multiply-adds; its kernels have the planned shapes; the file loads in the official
// runtime and edgeopt's runtime agrees with it; the .keras output loads and evaluates as the
// command measured; per-layer ranks and an energy rule; a float .tflite one-shot; bad
// arguments fail with a message and leave no file.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "src/util/file_util.h"
#include "tests/e2e/weights_util.h"
#include "tests/test_util.h"

namespace edgeopt {
namespace testing {
namespace {

class LowRankE2E : public BaselineE2E {
 protected:
  LowRankE2E() : BaselineE2E("lowrank_e2e") {}
};

TEST_F(LowRankE2E, QuarterOfTheWeightsKeepsAccuracyAndShrinksTheFile) {
  const std::string log = Edgeopt("lowrank " + base_ +
                                  " --data fashion-mnist --epochs 1 --max-samples 12000 "
                                  "--test-samples 3000 --seed 0 --threads 2 --quiet -o " +
                                  Tmp("lr.keras"));
  const double before = ParseMetric(log, "accuracy_before");
  EXPECT_GT(before, 0.8) << log;
  EXPECT_GE(ParseMetric(log, "accuracy"), before - 0.01) << log;
  // One-shot, the rank-13 / rank-29 truncation loses accuracy that fine-tuning wins back.
  EXPECT_LT(ParseMetric(log, "accuracy_factorized"), ParseMetric(log, "accuracy")) << log;
  EXPECT_EQ(ParseMetric(log, "layers"), 2) << log;  // conv2d_1 and dense
  // conv2d_1: 18432 -> 13 * (64 + 288); dense: 204800 -> 29 * (128 + 1600).
  const double weights_before = ParseMetric(log, "weights_before");
  EXPECT_EQ(weights_before, 225034) << log;
  EXPECT_EQ(ParseMetric(log, "weights_after"),
            weights_before - 18432 - 204800 + 13 * 352 + 29 * 1728)
      << log;
  EXPECT_LE(ParseMetric(log, "macs_after") * 3.0, ParseMetric(log, "macs_before")) << log;
  EXPECT_LE(ParseMetric(log, "tflite_bytes") * 3.5, ParseMetric(log, "original_tflite_bytes"))
      << log;

  // The .keras output evaluates as the command measured, and converts to a .tflite of the
  // planned kernel shapes that the official runtime computes as edgeopt does.
  const std::string eval =
      Edgeopt("eval " + Tmp("lr.keras") + " --data fashion-mnist:test --quiet");
  EXPECT_GT(ParseMetric(eval, "accuracy"), before - 0.02) << eval;
  Edgeopt("convert " + Tmp("lr.keras") + " -o " + Tmp("lr.tflite"));
  const std::vector<Kernel> kernels = Kernels(Tmp("lr.tflite"));
  ASSERT_EQ(kernels.size(), 6u);
  const std::vector<std::pair<int, size_t>> shapes = {{32, 32 * 9},    {13, 13 * 288},
                                                      {64, 64 * 13},   {29, 29 * 1600},
                                                      {128, 128 * 29}, {10, 10 * 128}};
  for (size_t i = 0; i < shapes.size(); ++i) {
    EXPECT_EQ(kernels[i].channels, shapes[i].first) << i;
    EXPECT_EQ(kernels[i].f.size(), shapes[i].second) << i;
  }
  std::string conf;
  EXPECT_EQ(RunConformance(Tmp("lr.tflite"), &conf), 0) << conf;
  // inspect lists the new layer.
  const std::string inspect = Edgeopt("inspect " + Tmp("lr.keras"));
  EXPECT_NE(inspect.find("dense_lowrank"), std::string::npos) << inspect;
  EXPECT_NE(inspect.find("conv2d_1_lowrank"), std::string::npos) << inspect;
}

TEST_F(LowRankE2E, LayerRanksEnergyAndOneShot) {
  const std::string log =
      Edgeopt("lowrank " + base_ + " --layers dense --layer-ranks dense=8 --one-shot --quiet -o " +
              Tmp("d8.tflite"));
  EXPECT_EQ(ParseMetric(log, "layers"), 1) << log;
  EXPECT_EQ(ParseMetric(log, "weights_after"), 225034 - 204800 + 8 * 1728) << log;
  const std::vector<Kernel> kernels = Kernels(Tmp("d8.tflite"));
  ASSERT_EQ(kernels.size(), 5u);
  EXPECT_EQ(kernels[2].channels, 8);
  EXPECT_EQ(kernels[3].channels, 128);
  // An energy rule (the ranks that keep half of each kernel's energy); small layers left out.
  const std::string energy =
      Edgeopt("lowrank " + base_ + " --energy 0.5 --one-shot -o " + Tmp("e.keras"));
  EXPECT_NE(energy.find("energy 0.5"), std::string::npos) << energy;
  EXPECT_NE(energy.find("conv2d: 288 weights, fewer than --min-weights 4096"), std::string::npos)
      << energy;
  EXPECT_TRUE(ReadFileBytes(Tmp("e.keras")).ok());
}

// A float .tflite of the official converter, factorized one-shot: smaller, fewer multiply-adds,
// and the official runtime computes it as edgeopt does.
TEST_F(LowRankE2E, OfficialConverterTfliteOneShot) {
  const std::string log =
      Edgeopt("lowrank " + CorpusPath("mlcommons-tiny/pretrainedResnet.tflite") +
              " --one-shot --quiet -o " + Tmp("r.tflite"));
  EXPECT_EQ(ParseMetric(log, "layers"), 4) << log;
  EXPECT_LE(ParseMetric(log, "tflite_bytes") * 2.5, ParseMetric(log, "original_tflite_bytes"))
      << log;
  EXPECT_LE(ParseMetric(log, "macs_after") * 1.7, ParseMetric(log, "macs_before")) << log;
  EXPECT_EQ(Kernels(Tmp("r.tflite")).size(), 14u);  // 10 + 4 new
  std::string conf;
  EXPECT_EQ(RunConformance(Tmp("r.tflite"), &conf), 0) << conf;
}

// --sensitivity: each layer alone at each fraction, through the runtime; no model written.
TEST_F(LowRankE2E, SensitivityTableAndPlot) {
  const std::string log =
      Edgeopt("lowrank " + base_ + " --sensitivity --data fashion-mnist --test-samples 2000 " +
              "--fractions 0.5,0.0625 --plot " + Tmp("s.png"));
  // Two layers, two fractions: the machine-readable lines, by layer then fraction.
  const std::string dense_half = "sensitivity: layer=dense params=0.5 rank=59 weights=101952";
  const std::string dense_16th = "sensitivity: layer=dense params=0.0625 rank=7 weights=12096";
  const size_t half = log.find(dense_half), sixteenth = log.find(dense_16th);
  ASSERT_NE(half, std::string::npos) << log;
  ASSERT_NE(sixteenth, std::string::npos) << log;
  EXPECT_NE(log.find("sensitivity: layer=conv2d_1 params=0.5 rank=26"), std::string::npos) << log;
  // Half the weights of the dense layer keep the accuracy; a sixteenth loses much of it.
  auto line = [&](size_t at) { return log.substr(at, log.find('\n', at) - at); };
  const double acc_half = ParseMetric(line(half), "accuracy");
  const double acc_16th = ParseMetric(line(sixteenth), "accuracy");
  EXPECT_GT(acc_half, 0.8) << log;
  EXPECT_GT(acc_half, acc_16th + 0.05) << log;
  EXPECT_NE(log.find("original 0."), std::string::npos) << log;
  if (log.find("plot: ") != std::string::npos) {
    EXPECT_TRUE(ReadFileBytes(Tmp("s.png")).ok());
  }
  std::string err;
  EXPECT_EQ(RunCommand(EdgeoptBinary() + " lowrank " + base_ + " --sensitivity", &err), 1);
  EXPECT_NE(err.find("--sensitivity measures accuracy: give --test-data"), std::string::npos)
      << err;
  EXPECT_EQ(RunCommand(EdgeoptBinary() + " lowrank " + base_ +
                           " --sensitivity --data fashion-mnist --fractions 0.5,2",
                       &err),
            1);
  EXPECT_NE(err.find("--fractions: '2' must be in (0, 1)"), std::string::npos) << err;
}

// --auto-ranks: the sensitivity analysis picks each layer's rank. With a budget of 100 points
// every fraction qualifies, so each layer takes its fewest weights (1/16: ranks 3 and 7).
TEST_F(LowRankE2E, AutoRanksFromTheSensitivityAnalysis) {
  const std::string log =
      Edgeopt("lowrank " + base_ + " --auto-ranks 100 --data fashion-mnist --test-samples 1000 " +
              "--one-shot -o " + Tmp("auto.keras"));
  EXPECT_NE(log.find("conv2d_1: rank 3, 1/16 of its weights"), std::string::npos) << log;
  EXPECT_NE(log.find("dense: rank 7, 1/16 of its weights"), std::string::npos) << log;
  EXPECT_EQ(log.find("not in --layers"), std::string::npos) << log;
  EXPECT_EQ(ParseMetric(log, "weights_after"), 225034 - 18432 - 204800 + 3 * 352 + 7 * 1728) << log;
  EXPECT_TRUE(ReadFileBytes(Tmp("auto.keras")).ok());
  // A --layer-ranks entry takes precedence over the analysis.
  const std::string mixed =
      Edgeopt("lowrank " + base_ + " --auto-ranks 100 --layer-ranks dense=20 " +
              "--data fashion-mnist --test-samples 1000 --one-shot -o " + Tmp("mixed.tflite"));
  EXPECT_NE(mixed.find("dense: rank 20 (--layer-ranks)"), std::string::npos) << mixed;
  EXPECT_EQ(ParseMetric(mixed, "weights_after"), 225034 - 18432 - 204800 + 3 * 352 + 20 * 1728)
      << mixed;
}

TEST_F(LowRankE2E, BadArgumentsFailWithAMessageAndNoFile) {
  ExpectFailures(
      "lowrank",
      {
          {"--rank 4 --energy 0.5 --one-shot", "give one of --rank, --energy, --params and"},
          {"--rank 4 --auto-ranks 1 --one-shot", "give one of --rank, --energy, --params and"},
          {"--auto-ranks 1 --one-shot", "--auto-ranks measures accuracy: give --test-data"},
          {"--params 1.5 --one-shot", "--params must be in (0, 1)"},
          {"--layers nope --one-shot", "'nope' is not a dense or convolution layer"},
          {"--layer-ranks dense=0 --one-shot", "rank '0' of dense must be in"},
          {"--rank 200 --layers dense_1 --one-shot", "no layer to factorize"},
          {"--epochs 1", "fine-tuning needs --data"},
      },
      "out.keras");
  std::string log;
  EXPECT_EQ(RunCommand(EdgeoptBinary() + " lowrank " + base_ + " --one-shot", &log), 1);
  EXPECT_NE(log.find("-o/--output is required (or --sensitivity)"), std::string::npos) << log;
  Edgeopt("convert " + base_ + " -o " + Tmp("base.tflite"));
  EXPECT_EQ(RunCommand(EdgeoptBinary() + " lowrank " + Tmp("base.tflite") + " --data " +
                           "fashion-mnist -o " + Tmp("out.tflite"),
                       &log),
            1);
  EXPECT_NE(log.find("a .tflite is factorized without fine-tuning; give --one-shot"),
            std::string::npos)
      << log;
  EXPECT_EQ(
      RunCommand(EdgeoptBinary() + " lowrank " + CorpusPath("keras-mnist-to-tpu/mnist.tflite") +
                     " --one-shot -o " + Tmp("out.tflite"),
                 &log),
      1);
  EXPECT_NE(log.find("the model is quantized"), std::string::npos) << log;
  EXPECT_FALSE(ReadFileBytes(Tmp("out.tflite")).ok());
  EXPECT_EQ(RunCommand(EdgeoptBinary() + " lowrank " + base_ + " --one-shot -o " +
                           Tmp("no/such/dir/out.keras"),
                       &log),
            1);
  EXPECT_NE(log.find("no/such/dir"), std::string::npos) << log;
}

}  // namespace
}  // namespace testing
}  // namespace edgeopt
