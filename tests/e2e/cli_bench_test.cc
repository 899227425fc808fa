// `edgeopt bench MODEL.tflite --profile` end to end: the per-op table's rate column.
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <sstream>
#include <string>
#include <vector>

#include "tests/test_util.h"

namespace edgeopt {
namespace {

using testing::CorpusPath;
using testing::EdgeoptBinary;
using testing::RunCommand;

std::vector<std::string> Words(const std::string& line) {
  std::istringstream in(line);
  std::vector<std::string> words;
  for (std::string w; in >> w;) words.push_back(w);
  return words;
}

// The Run Order rows: node type, node, avg us, %, cdf%, min us, then GMAC/s for the ops with
// multiply-accumulates (a rate from the node's MACs and its time), then the kernel's name.
TEST(CliBench, ProfileGivesEachConvolutionItsRate) {
  const std::string model = CorpusPath("mlcommons-tiny/pretrainedResnet.tflite");
  if (!std::filesystem::exists(model)) GTEST_SKIP() << "no corpus";
  std::string out;
  ASSERT_EQ(RunCommand(EdgeoptBinary() + " bench '" + model +
                           "' --profile --runs 3 --warmup 1 --threads 1",
                       &out),
            0)
      << out;
  ASSERT_NE(out.find("[GMAC/s]  [kernel]"), std::string::npos) << out;
  const size_t begin = out.find("Run Order");
  const size_t end = out.find("Top by Computation Time");
  ASSERT_TRUE(begin != std::string::npos && end != std::string::npos && begin < end) << out;
  std::istringstream rows(out.substr(begin, end - begin));
  int convs = 0, softmax = 0;
  for (std::string line; std::getline(rows, line);) {
    const std::vector<std::string> w = Words(line);
    if (w.empty()) continue;
    if (w[0] == "CONV_2D") {
      // 2.36M MACs in at most a few milliseconds: well above 0.1 GMAC/s on any machine.
      ASSERT_GE(w.size(), 8u) << line;
      const double rate = std::atof(w[6].c_str());
      EXPECT_GT(rate, 0.1) << line;
      EXPECT_LT(rate, 1e5) << line;
      ++convs;
    }
    if (w[0] == "SOFTMAX") {
      EXPECT_EQ(w.size(), 6u) << "no MACs, no rate, no kernel name: " << line;
      ++softmax;
    }
  }
  EXPECT_EQ(convs, 6) << out;  // and 3 CONV_2D+ADD
  EXPECT_EQ(softmax, 1) << out;
  // The machine-readable line stays the last one.
  const size_t last = out.rfind("median_us=");
  ASSERT_NE(last, std::string::npos);
  EXPECT_EQ(out.find('\n', last), out.size() - 1) << out;
}

}  // namespace
}  // namespace edgeopt
