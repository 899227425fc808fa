// Round trip of every corpus .tflite through the IR: import -> export, run both files in the
// official TFLite 2.9 runtime (tflite-ref) on the same seeded inputs, and require bit-identical
// outputs; the exported file must re-import to the same IR text. A second export lets the exporter
// choose the op versions itself (TF 2.9 rules) and must also run bit-identically.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "src/export/tflite/export.h"
#include "src/importers/tflite/import.h"
#include "src/ir/text.h"
#include "tests/model_builder.h"
#include "tests/test_util.h"

namespace edgeopt {
namespace {

namespace fs = std::filesystem;
using testing::CorpusPath;
using testing::MakeTempDir;
using testing::RunCommand;
using testing::TfliteRefPath;

// Every model here that TFLite 2.9 runs must round-trip (35 when this was written).
constexpr int kMinRunnableModels = 35;
// What the exporter may add to a file: a signature naming every input and output, the
// min_runtime_version entry and alignment padding.
constexpr uintmax_t kMaxAddedBytes = 1024;

std::vector<std::string> CorpusModels() {
  std::vector<std::string> models;
  const fs::path root = CorpusPath("");
  if (!fs::exists(root)) return models;
  for (const auto& entry : fs::recursive_directory_iterator(root)) {
    if (entry.is_regular_file() && entry.path().extension() == ".tflite") {
      models.push_back(entry.path().string());
    }
  }
  std::sort(models.begin(), models.end());
  return models;
}

std::string ReadBytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

// Runs tflite-ref with seed 0; returns its exit code and the concatenated output .npy files.
int RunRef(const std::string& model, const std::string& out_dir, std::string* outputs) {
  std::string log;
  const int rc = RunCommand(
      "sh " + TfliteRefPath() + " run '" + model + "' --random 0 -o '" + out_dir + "'", &log);
  outputs->clear();
  if (rc != 0) return rc;
  for (int k = 0;; ++k) {
    const std::string path = out_dir + "/output_" + std::to_string(k) + ".npy";
    if (!fs::exists(path)) break;
    *outputs += ReadBytes(path);
    outputs->push_back('\n');
  }
  return rc;
}

std::string Text(ir::Graph g) {
  g.description.clear();  // the exporter always writes "edgeopt"
  ir::TextOptions options;
  options.include_all_values = true;
  return ir::PrintGraph(g, options);
}

TEST(TfliteRoundTrip, CorpusModelsRunBitIdenticalAfterImportExport) {
  const std::vector<std::string> models = CorpusModels();
  if (models.empty()) GTEST_SKIP() << "no corpus at " << CorpusPath("");
  if (!testing::TfliteRefAvailable()) GTEST_SKIP() << "tflite-ref is not available";
  const std::string dir = MakeTempDir("edgeopt_roundtrip");
  ASSERT_FALSE(dir.empty());
  int runnable = 0, identical = 0, identical_chosen_versions = 0;
  for (size_t i = 0; i < models.size(); ++i) {
    const std::string& path = models[i];
    SCOPED_TRACE(path);
    StatusOr<ir::Graph> graph = ImportTfliteFile(path);
    ASSERT_TRUE(graph.ok()) << graph.status().ToString();

    // 1. Versions kept: the same model, re-serialized.
    TfliteExportOptions keep;
    keep.keep_node_versions = true;
    const std::string exported = dir + "/m" + std::to_string(i) + ".tflite";
    Status written = WriteTfliteFile(*graph, exported, keep);
    ASSERT_TRUE(written.ok()) << written.ToString();
    // No bloat: at most the signature and min_runtime_version the original may lack.
    EXPECT_LE(fs::file_size(exported), fs::file_size(path) + kMaxAddedBytes);
    StatusOr<ir::Graph> again = ImportTfliteFile(exported);
    ASSERT_TRUE(again.ok()) << again.status().ToString();
    EXPECT_EQ(again->description, "edgeopt");
    EXPECT_EQ(Text(*again), Text(*graph));

    std::string want, got;
    const int rc = RunRef(path, dir + "/ref" + std::to_string(i), &want);
    const int rc_exported = RunRef(exported, dir + "/out" + std::to_string(i), &got);
    if (rc != 0) {
      // TFLite refuses the original (custom ops, newer versions, known-bad files): it must refuse
      // ours the same way.
      EXPECT_EQ(rc_exported, rc);
      continue;
    }
    ++runnable;
    ASSERT_EQ(rc_exported, 0);
    ASSERT_FALSE(want.empty());
    EXPECT_EQ(got, want) << "outputs differ after the round trip";
    if (got == want) ++identical;

    // 2. Versions chosen by the exporter (TFLite 2.9 rules).
    const std::string chosen = dir + "/c" + std::to_string(i) + ".tflite";
    written = WriteTfliteFile(*graph, chosen);
    ASSERT_TRUE(written.ok()) << written.ToString();
    std::string got_chosen;
    ASSERT_EQ(RunRef(chosen, dir + "/chosen" + std::to_string(i), &got_chosen), 0);
    EXPECT_EQ(got_chosen, want) << "outputs differ with exporter-chosen op versions";
    if (got_chosen == want) ++identical_chosen_versions;
  }
  std::printf(
      "round trip: %d of %zu corpus models run in TFLite 2.9; %d bit-identical "
      "with kept "
      "versions, %d with exporter-chosen versions\n",
      runnable, models.size(), identical, identical_chosen_versions);
  EXPECT_GE(runnable, kMinRunnableModels);
  EXPECT_EQ(identical, runnable);
  EXPECT_EQ(identical_chosen_versions, runnable);
  fs::remove_all(dir);
}

}  // namespace
}  // namespace edgeopt
