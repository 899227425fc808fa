// End-to-end tests of `edgeopt compare`: the table's sizes, kinds, parameter counts and
// accuracies against the files and `edgeopt eval`, the latency columns, the Markdown table, and
// errors that name the file without leaving a half-written table.
#include <gtest/gtest.h>

#include <cstdio>
#include <sstream>
#include <string>
#include <vector>

#include "src/util/file_util.h"
#include "src/util/zip.h"
#include "tests/test_util.h"

namespace edgeopt {
namespace testing {
namespace {

// The cells of a Markdown table row "| a | b | ... |".
std::vector<std::string> Cells(const std::string& line) {
  std::vector<std::string> cells;
  std::stringstream ss(line);
  std::string cell;
  std::getline(ss, cell, '|');  // before the first bar
  while (std::getline(ss, cell, '|')) {
    const size_t b = cell.find_first_not_of(' '), e = cell.find_last_not_of(' ');
    cells.push_back(b == std::string::npos ? "" : cell.substr(b, e - b + 1));
  }
  if (!cells.empty() && cells.back().empty()) cells.pop_back();  // after the last bar
  return cells;
}

std::string ReadText(const std::string& path) {
  auto b = ReadFileBytes(path);
  return b.ok() ? std::string(b->begin(), b->end()) : std::string();
}

TEST(CompareCli, TableMatchesTheFilesAndEval) {
  const std::string baseline = TrainedFmnistBaseline();
  ASSERT_FALSE(baseline.empty());
  const std::string dir = MakeTempDir("compare_cli");
  std::string log;
  const std::string f32 = dir + "/f32.tflite", f16 = dir + "/f16.tflite", dyn = dir + "/dyn.tflite";
  ASSERT_EQ(RunCommand(EdgeoptBinary() + " convert " + baseline + " -o " + f32, &log), 0) << log;
  for (const auto& [mode, out] : {std::pair<std::string, std::string>{"float16", f16},
                                  std::pair<std::string, std::string>{"dynamic", dyn}}) {
    ASSERT_EQ(RunCommand(EdgeoptBinary() + " quantize " + f32 + " -o " + out + " --mode " + mode +
                             " --quiet",
                         &log),
              0)
        << log;
  }
  ASSERT_EQ(
      RunCommand(EdgeoptBinary() + " eval " + f32 + " --data fashion-mnist:test --quiet", &log), 0)
      << log;
  const double eval_acc = ParseMetric(log, "accuracy");
  ASSERT_GT(eval_acc, 0.8);

  const std::string md = dir + "/table.md";
  ASSERT_EQ(RunCommand(EdgeoptBinary() + " compare " + f32 + " " + f16 + " " + dyn +
                           " --names a,b,c --data fashion-mnist:test --runs 30 --rounds 3" +
                           " --markdown " + md + " --plot " + dir + "/plot.png",
                       &log),
            0)
      << log;
  const std::string text = ReadText(md);
  ASSERT_FALSE(text.empty()) << md;
  std::vector<std::vector<std::string>> rows;
  std::stringstream ss(text);
  std::string line;
  std::string advice;  // what follows the table
  while (std::getline(ss, line)) {
    if (line.rfind("|", 0) == 0) {
      rows.push_back(Cells(line));
    } else {
      advice += line + "\n";
    }
  }
  ASSERT_EQ(rows.size(), 5u) << text;  // header, rule, three models
  // What to ship: float16 and dynamic range stay within a point of float; dynamic range is
  // the smallest. The same lines on the terminal.
  EXPECT_NE(advice.find("What to ship, among the variants within 1.00 points of a's accuracy"),
            std::string::npos)
      << advice;
  // ("- smallest: c: ..." or, when it is also the fastest, "- smallest and fastest: c: ...")
  const size_t smallest = advice.find("- smallest");
  ASSERT_NE(smallest, std::string::npos) << advice;
  const std::string smallest_line = advice.substr(smallest, advice.find('\n', smallest) - smallest);
  EXPECT_NE(smallest_line.find(": c: " + std::to_string(FileSize(dyn)) + " bytes"),
            std::string::npos)
      << advice;
  EXPECT_NE(advice.find("fastest"), std::string::npos) << advice;
  EXPECT_NE(log.find("  smallest"), std::string::npos) << log;
  EXPECT_EQ(advice.find("over the accuracy budget"), std::string::npos) << advice;
  const std::vector<std::string>& header = rows[0];
  ASSERT_EQ(header.size(), 14u);
  EXPECT_EQ(header[0], "model");
  EXPECT_EQ(header[7], "top-1 accuracy");
  EXPECT_EQ(header[10], "latency median (us)");
  EXPECT_EQ(header[13], "TFLM arena (bytes)");
  // The arena column is export-c's figure; float16 and dynamic-range files TFLM cannot run.
  ASSERT_EQ(RunCommand(EdgeoptBinary() + " export-c " + f32 + " -o " + dir + "/f32.cc", &log), 0)
      << log;
  const double f32_arena = ParseMetric(log, "arena_size");
  ASSERT_GT(f32_arena, 0) << log;
  EXPECT_NE(advice.find("'-': TFLM cannot run it (b: float16 tensors; c: hybrid (dynamic-range) "
                        "operators)"),
            std::string::npos)
      << advice;

  const char* const names[] = {"a", "b", "c"};
  const char* const kinds[] = {"float32", "float16", "dynamic"};
  const std::string files[] = {f32, f16, dyn};
  for (int i = 0; i < 3; ++i) {
    const std::vector<std::string>& r = rows[2 + i];
    ASSERT_EQ(r.size(), 14u) << text;
    SCOPED_TRACE(r[0]);
    EXPECT_EQ(r[0], names[i]);
    EXPECT_EQ(r[1], kinds[i]);
    const size_t bytes = FileSize(files[i]);
    EXPECT_EQ(std::stoull(r[2]), bytes);
    // The zipped size is that of a zip of the file alone.
    auto data = ReadFileBytes(files[i]);
    ASSERT_TRUE(data.ok());
    ZipWriter zip;
    ASSERT_TRUE(zip.Add(BaseName(files[i]), data->data(), data->size()).ok());
    EXPECT_EQ(std::stoull(r[3]), zip.Finish().size());
    char ratio[32];
    std::snprintf(ratio, sizeof(ratio), "%.3fx", static_cast<double>(bytes) / FileSize(f32));
    EXPECT_EQ(r[4], ratio);
    // The Fashion-MNIST CNN's 225,034 parameters, all nonzero in float (dynamic-range int8
    // rounds some small weights to 0).
    EXPECT_EQ(r[5], "225034");
    if (i < 2) {
      EXPECT_EQ(r[6], "225034");
    }
    EXPECT_LE(std::stoll(r[6]), 225034);
    EXPECT_GT(std::stoll(r[6]), 200000);
    const double acc = std::stod(r[7]);
    if (i == 0) {
      char want[32];
      std::snprintf(want, sizeof(want), "%.4f", eval_acc);
      EXPECT_EQ(r[7], want) << "the float row is what `edgeopt eval` measures";
      EXPECT_EQ(r[8], "+0.00");
      EXPECT_EQ(r[12], "1.00x");
    } else {
      EXPECT_NEAR(acc, eval_acc, 0.005);
    }
    EXPECT_EQ(r[13], i == 0 ? std::to_string(static_cast<size_t>(f32_arena)) : "-");
    const double median = std::stod(r[10]), p90 = std::stod(r[11]);
    EXPECT_GT(median, 0.0);
    EXPECT_GE(p90, median);
  }
  // The plot: size vs accuracy next to latency vs accuracy (setup installs gnuplot).
  auto png = ReadFileBytes(dir + "/plot.png");
  ASSERT_TRUE(png.ok()) << log;
  EXPECT_EQ(std::string(png->begin() + 1, png->begin() + 4), "PNG");
  // The sizes the quantization issue promises.
  EXPECT_LT(FileSize(f16), FileSize(f32) * 0.52);
  EXPECT_LT(FileSize(dyn), FileSize(f32) * 0.27);
  RunCommand("rm -rf " + dir);
}

TEST(CompareCli, ErrorsNameTheFileAndWriteNoTable) {
  const std::string dir = MakeTempDir("compare_errors");
  const std::string good = dir + "/good.tflite", bad = dir + "/bad.tflite", md = dir + "/t.md";
  const std::string baseline = TrainedFmnistBaseline();
  ASSERT_FALSE(baseline.empty());
  std::string log;
  ASSERT_EQ(RunCommand(EdgeoptBinary() + " convert " + baseline + " -o " + good, &log), 0) << log;
  ASSERT_TRUE(WriteFileAtomic(bad, "not a model", 11).ok());

  EXPECT_EQ(RunCommand(EdgeoptBinary() + " compare " + good + " " + dir +
                           "/missing.tflite --runs 5 --markdown " + md,
                       &log),
            1);
  EXPECT_NE(log.find("missing.tflite"), std::string::npos) << log;
  EXPECT_EQ(
      RunCommand(EdgeoptBinary() + " compare " + good + " " + bad + " --runs 5 --markdown " + md,
                 &log),
      1);
  EXPECT_NE(log.find("bad.tflite"), std::string::npos) << log;
  EXPECT_FALSE(ReadFileBytes(md).ok()) << "no table after a failed compare";
  EXPECT_EQ(RunCommand(EdgeoptBinary() + " compare " + good + " --rounds 0", &log), 2);
  EXPECT_NE(log.find("--rounds"), std::string::npos) << log;
  EXPECT_EQ(RunCommand(EdgeoptBinary() + " compare " + good + " --runs -1", &log), 2);
  EXPECT_EQ(RunCommand(EdgeoptBinary() + " compare " + good + " --accuracy-budget -1", &log), 2);
  EXPECT_NE(log.find("--accuracy-budget"), std::string::npos) << log;
  EXPECT_EQ(
      RunCommand(EdgeoptBinary() + " compare " + good + " --data " + dir + "/nothing.npz", &log),
      1);
  EXPECT_NE(log.find("nothing.npz"), std::string::npos) << log;
  // --runs 0: no timing, "-" in the latency columns.
  ASSERT_EQ(RunCommand(EdgeoptBinary() + " compare " + good + " --runs 0 --markdown " + md, &log),
            0)
      << log;
  const std::string text = ReadText(md);
  EXPECT_NE(text.find("| - | - | - |"), std::string::npos) << text;
  RunCommand("rm -rf " + dir);
}

}  // namespace
}  // namespace testing
}  // namespace edgeopt
