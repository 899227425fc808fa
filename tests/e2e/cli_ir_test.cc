// `edgeopt ir MODEL.tflite [--values] [-o OUT]` end to end.
#include <gtest/gtest.h>

#include <filesystem>

#include "tests/test_util.h"

namespace edgeopt {
namespace {

using testing::CorpusPath;
using testing::EdgeoptBinary;
using testing::RunCommand;

TEST(CliIr, PrintsIrTextAndRoundTrips) {
  const std::string model = CorpusPath("tflite-micro/hello_world_float.tflite");
  if (!std::filesystem::exists(model)) GTEST_SKIP();
  std::string out;
  ASSERT_EQ(RunCommand(EdgeoptBinary() + " ir '" + model + "'", &out), 0) << out;
  EXPECT_EQ(out.rfind("graph inputs(%0) outputs(", 0), 0u) << out;
  EXPECT_NE(out.find("= FULLY_CONNECTED(%0, "), std::string::npos) << out;
  EXPECT_NE(out.find("fused_activation_function=\"RELU\""), std::string::npos);
  // Small constants print their values; the 16x16 weights only with --values.
  EXPECT_EQ(out.find("float32[16,16] values="), std::string::npos);
  std::string all;
  ASSERT_EQ(RunCommand(EdgeoptBinary() + " ir --values '" + model + "'", &all), 0);
  EXPECT_NE(all.find("float32[16,16] values=["), std::string::npos);

  const std::string dir = testing::MakeTempDir("edgeopt_cli_ir");
  const std::string copy = dir + "/copy.tflite";
  ASSERT_EQ(RunCommand(EdgeoptBinary() + " ir '" + model + "' -o '" + copy + "'", &out), 0) << out;
  std::string again;
  ASSERT_EQ(RunCommand(EdgeoptBinary() + " ir '" + copy + "'", &again), 0) << again;
  EXPECT_NE(again.find("description \"edgeopt\""), std::string::npos);
  std::filesystem::remove_all(dir);
}

TEST(CliIr, BadFileFailsWithItsName) {
  const std::string dir = testing::MakeTempDir("edgeopt_cli_ir");
  const std::string bad = dir + "/bad.tflite";
  ASSERT_EQ(RunCommand("printf 'not a model at all' > '" + bad + "'"), 0);
  std::string out;
  EXPECT_EQ(RunCommand(EdgeoptBinary() + " ir '" + bad + "'", &out), 1);
  EXPECT_NE(out.find("bad.tflite"), std::string::npos) << out;
  EXPECT_NE(out.find("TFL3"), std::string::npos) << out;
  EXPECT_NE(RunCommand(EdgeoptBinary() + " ir", &out), 0) << out;  // usage error
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace edgeopt
