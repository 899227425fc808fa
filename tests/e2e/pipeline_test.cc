// edgeopt pipeline end to end on the cached 1-epoch Fashion-MNIST baseline (a few seconds: one-
// shot stages): prune 80 % -> cluster to 16 values -> int8 with the sparse encoding keeps both
// the zeros and the clusters in the final file, keeps every stage's model in the work
// directory, ends with the comparison table; a failing stage, a bad recipe and a terminal stage
// that is not the last fail with a message that names them, and leave no output.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "src/util/file_util.h"
#include "tests/e2e/weights_util.h"
#include "tests/test_util.h"

namespace edgeopt {
namespace testing {
namespace {

class PipelineE2E : public BaselineE2E {
 protected:
  PipelineE2E() : BaselineE2E("pipeline_e2e") {}
  std::string Recipe(const std::string& name, const std::string& json) const {
    EXPECT_TRUE(WriteFileAtomic(Tmp(name), std::vector<uint8_t>(json.begin(), json.end())).ok());
    return Tmp(name);
  }
};

TEST_F(PipelineE2E, PruneClusterQuantizeKeepsZerosAndClusters) {
  const std::string recipe = Recipe("r.json", R"({
    "data": "fashion-mnist",
    "stages": [
      {"stage": "prune", "sparsity": 0.8, "one-shot": true},
      {"stage": "cluster", "name": "clustered", "clusters": 16, "one-shot": true},
      {"stage": "quantize", "mode": "int8", "calibration-samples": 100, "sparse": true}
    ]})");
  const std::string log =
      Edgeopt("pipeline " + base_ + " --recipe " + recipe +
              " --test-data fashion-mnist:test --compare-runs 5 --quiet -o " + Tmp("final.tflite"));
  EXPECT_NE(log.find("== stage 3/3: quantize =="), std::string::npos) << log;
  for (const char* f :
       {"01_prune.keras", "02_clustered.keras", "03_quantize.tflite", "00_input.tflite",
        "01_prune.tflite", "02_clustered.tflite", "comparison.md"}) {
    EXPECT_TRUE(ReadFileBytes(Tmp("final.tflite.stages/") + f).ok()) << f;
  }
  // The table: the input and the three stages, by their names.
  for (const char* row : {"\ninput ", "\nprune ", "\nclustered ", "\nquantize "}) {
    EXPECT_NE(log.find(row), std::string::npos) << row << "\n" << log;
  }
  // The final file is the last stage's, with the zeros and at most 16 (+ zero) int8 values per
  // output channel of the pruned layers.
  auto final_bytes = ReadFileBytes(Tmp("final.tflite"));
  auto stage_bytes = ReadFileBytes(Tmp("final.tflite.stages/03_quantize.tflite"));
  ASSERT_TRUE(final_bytes.ok() && stage_bytes.ok());
  EXPECT_EQ(*final_bytes, *stage_bytes);
  const std::vector<Kernel> kernels = Kernels(Tmp("final.tflite"));
  ASSERT_EQ(kernels.size(), 4u);
  for (size_t l = 0; l < kernels.size(); ++l) {
    ASSERT_FALSE(kernels[l].q.empty()) << l;
    EXPECT_LE(MostPerChannel(kernels[l].q, kernels[l]), 17u) << "layer " << l;
  }
  // prune leaves the first convolution and the last dense layer dense.
  for (size_t l : {size_t{1}, size_t{2}}) {
    int zeros = 0;
    for (int8_t v : kernels[l].q) zeros += v == 0;
    EXPECT_GE(zeros, static_cast<int>(0.79 * static_cast<double>(kernels[l].q.size())))
        << "layer " << l;
  }
}

// A stage that undoes an earlier one's work gets a note (not an error).
TEST_F(PipelineE2E, NotesStagesThatUndoEarlierOnes) {
  const std::string recipe = Recipe("n.json", R"({"stages": [
      {"stage": "cluster", "clusters": 8, "one-shot": true},
      {"stage": "prune", "sparsity": 0.5, "one-shot": true},
      {"stage": "cluster", "name": "again", "clusters": 8, "one-shot": true,
       "no-preserve-sparsity": true}]})");
  const std::string log = Edgeopt("pipeline " + base_ + " --recipe " + recipe +
                                  " --no-compare --quiet -o " + Tmp("n.keras"));
  // One-shot pruning keeps the other weights' values: no note for the clusters.
  EXPECT_EQ(log.find("do not survive"), std::string::npos) << log;
  EXPECT_NE(log.find("note: stage 3 (again) does not keep the zeros of stage 2"), std::string::npos)
      << log;
  EXPECT_TRUE(ReadFileBytes(Tmp("n.keras")).ok());
  EXPECT_FALSE(ReadFileBytes(Tmp("n.keras.stages/comparison.md")).ok());  // --no-compare
}

// lowrank as a stage: its layers go on to the next stage; factorizing pruned kernels gets a note.
TEST_F(PipelineE2E, LowRankStage) {
  const std::string recipe = Recipe("lr.json", R"({"data": "fashion-mnist", "stages": [
      {"stage": "prune", "sparsity": 0.5, "one-shot": true},
      {"stage": "lowrank", "layers": ["dense"], "rank": 16, "one-shot": true},
      {"stage": "quantize", "mode": "int8", "calibration-samples": 100}]})");
  const std::string log =
      Edgeopt("pipeline " + base_ + " --recipe " + recipe +
              " --test-data fashion-mnist:test --compare-runs 5 --quiet -o " + Tmp("lr.tflite"));
  EXPECT_NE(log.find("note: stage 2 (lowrank) replaces the kernels it factorizes: the zeros of "
                     "stage 1 do not survive in them (factorize first)"),
            std::string::npos)
      << log;
  EXPECT_NE(log.find("\nlowrank "), std::string::npos) << log;
  const std::vector<Kernel> kernels = Kernels(Tmp("lr.tflite"));
  ASSERT_EQ(kernels.size(), 5u);
  EXPECT_EQ(kernels[2].channels, 16);  // dense_lowrank
  EXPECT_EQ(kernels[2].q.size(), 16u * 1600);
  EXPECT_EQ(kernels[3].channels, 128);  // dense, now 128 x 16
  EXPECT_EQ(kernels[3].q.size(), 128u * 16);
}

// The recipes shipped in recipes/ run as they are (their epochs, learning rates, stages) on
// 2,000 training images instead of the whole set, and end in a model the runtime loads.
TEST_F(PipelineE2E, ShippedRecipesRun) {
  const std::string train = FmnistSubset(dir_, "train", 2000);
  const std::string test = FmnistSubset(dir_, "test", 500);
  ASSERT_FALSE(train.empty() || test.empty());
  for (const char* name : {"prune80_cluster16_qat", "channel50_lowrank25_int8"}) {
    SCOPED_TRACE(name);
    const std::string out = Tmp(std::string(name) + ".tflite");
    const std::string log = Edgeopt("pipeline " + base_ + " --recipe " + SourceDir() + "/recipes/" +
                                    name + ".json --data " + train + " --test-data " + test +
                                    " --threads 2 --quiet " + "--no-compare -o " + out);
    EXPECT_EQ(log.find("note:"), std::string::npos) << log;  // no stage undoes another
    const std::vector<Kernel> kernels = Kernels(out);
    ASSERT_GE(kernels.size(), 4u);
    for (const Kernel& k : kernels) EXPECT_FALSE(k.q.empty());  // int8 files
  }
}

TEST_F(PipelineE2E, ErrorsNameTheRecipeOrTheStageAndLeaveNoOutput) {
  struct Case {
    std::string json, message;
  };
  const std::vector<Case> cases = {
      {"{\"stages\": [", "not a JSON object"},
      {R"({"stages": []})", "\"stages\" must be a non-empty list"},
      {R"({"stages": [{"stage": "shrink"}]})", "stage 1: unknown stage \"shrink\""},
      {R"({"stages": [{"stage": "qat"}, {"stage": "cluster"}]})",
       "stage 1 (qat) writes a .tflite, which no later stage takes"},
      {R"({"stages": [{"stage": "prune", "output": "x.keras"}]})",
       "\"output\" is set by the pipeline"},
      {R"({"stagez": []})", "unknown key \"stagez\""},
      {R"({"stages": [{"stage": "prune", "name": "../escape", "one-shot": true}]})",
       "name \"../escape\" must be 1-64 letters"},
      {R"({"stages": [{"stage": "prune", "one-shot": true, "sparsity": 2}]})",
       "stage 1 (prune) failed (exit 1)"},
      {R"({"stages": [{"stage": "prune", "one-shot": true, "sparsity": 0.5},
                      {"stage": "cluster", "clusters": 1, "one-shot": true}]})",
       "stage 2 (cluster) failed (exit 1)"},
  };
  for (size_t i = 0; i < cases.size(); ++i) {
    const std::string recipe = Recipe("bad" + std::to_string(i) + ".json", cases[i].json);
    std::string log;
    const int rc = RunCommand(
        EdgeoptBinary() + " pipeline " + base_ + " --recipe " + recipe + " -o " + Tmp("out.tflite"),
        &log);
    EXPECT_EQ(rc, 1) << cases[i].json << ":\n" << log;
    EXPECT_NE(log.find(cases[i].message), std::string::npos) << cases[i].json << ":\n" << log;
    EXPECT_FALSE(ReadFileBytes(Tmp("out.tflite")).ok()) << cases[i].json;
  }
  // A .keras output after a stage that writes a .tflite.
  const std::string recipe = Recipe("q.json", R"({"stages": [{"stage": "quantize",
                                                               "mode": "float16"}]})");
  std::string log;
  EXPECT_EQ(RunCommand(EdgeoptBinary() + " pipeline " + base_ + " --recipe " + recipe + " -o " +
                           Tmp("out.keras"),
                       &log),
            1);
  EXPECT_NE(log.find("the last stage (quantize) writes a .tflite"), std::string::npos) << log;
  EXPECT_EQ(RunCommand(EdgeoptBinary() + " pipeline " + base_ + " --recipe " + Tmp("missing.json") +
                           " -o " + Tmp("out.tflite"),
                       &log),
            1);
  EXPECT_NE(log.find("missing.json"), std::string::npos) << log;
}

}  // namespace
}  // namespace testing
}  // namespace edgeopt
