// `edgeopt export-c MODEL.tflite -o model_data.cc` end to end: the written source and header
// compile (with the compiler that built edgeopt, warnings as errors), the array holds the file's
// bytes at 16-byte alignment, and the registration template calls exactly the resolver methods
// TFLM's micro_speech example registers for this model. Models TFLM cannot run are refused
// without a file written.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "tests/test_util.h"

namespace edgeopt {
namespace {

using testing::CorpusPath;
using testing::EdgeoptBinary;
using testing::RunCommand;

// A stand-in for tflite::MicroMutableOpResolver<N> with the four methods the model needs: a call
// to any other method fails to compile.
constexpr const char* kDriver = R"(#include <cstdio>
#include <cstdint>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "speech_data.h"

struct Recorder {
  std::string calls;
  int Add(const char* name) {
    calls += calls.empty() ? name : std::string(",") + name;
    return 0;
  }
  int AddReshape() { return Add("AddReshape"); }
  int AddFullyConnected() { return Add("AddFullyConnected"); }
  int AddDepthwiseConv2D() { return Add("AddDepthwiseConv2D"); }
  int AddSoftmax() { return Add("AddSoftmax"); }
};

static_assert(g_speech_op_count == 4, "op count");
static_assert(g_speech_arena_size >= g_speech_activation_bytes, "arena");

int main(int argc, char** argv) {
  if (argc != 2) return 2;
  std::ifstream f(argv[1], std::ios::binary);
  const std::vector<unsigned char> file((std::istreambuf_iterator<char>(f)),
                                        std::istreambuf_iterator<char>());
  const bool same = file.size() == g_speech_len &&
                    std::vector<unsigned char>(g_speech, g_speech + g_speech_len) == file;
  const bool aligned = reinterpret_cast<std::uintptr_t>(g_speech) % 16 == 0;
  Recorder r;
  const bool registered = g_speech_register_ops(r);
  std::printf("same=%d aligned=%d registered=%d calls=%s\n", same, aligned, registered,
              r.calls.c_str());
  return same && aligned && registered ? 0 : 1;
}
)";

TEST(ExportC, SourceCompilesAndHoldsTheModel) {
  const std::string model = CorpusPath("tflite-micro/micro_speech_quantized.tflite");
  if (!std::filesystem::exists(model)) GTEST_SKIP();
  const std::string dir = testing::MakeTempDir("edgeopt_export_c");
  std::string out;
  ASSERT_EQ(RunCommand(EdgeoptBinary() + " export-c '" + model + "' --name g_speech -o '" + dir +
                           "/speech_data.cc'",
                       &out),
            0)
      << out;
  EXPECT_NE(out.find("resolver.AddDepthwiseConv2D()"), std::string::npos) << out;
  EXPECT_NE(out.find("TFLM: every operator has a kernel"), std::string::npos) << out;
  EXPECT_GT(testing::ParseMetric(out, "activation_bytes"), 0) << out;
  ASSERT_TRUE(std::filesystem::exists(dir + "/speech_data.h"));
  {
    std::ofstream driver(dir + "/driver.cc");
    driver << kDriver;
  }
  ASSERT_EQ(RunCommand(testing::CxxCompiler() + " -std=c++17 -Wall -Wextra -Werror -pedantic -I'" +
                           dir + "' '" + dir + "/driver.cc' '" + dir + "/speech_data.cc' -o '" +
                           dir + "/driver'",
                       &out),
            0)
      << out;
  ASSERT_EQ(RunCommand("'" + dir + "/driver' '" + model + "'", &out), 0) << out;
  EXPECT_NE(out.find("same=1 aligned=1 registered=1"), std::string::npos) << out;
  for (const char* m : {"AddReshape", "AddFullyConnected", "AddDepthwiseConv2D", "AddSoftmax"}) {
    EXPECT_NE(out.find(m), std::string::npos) << m << ": " << out;
  }
  std::filesystem::remove_all(dir);
}

// --lut on a clustered int8 model: 16 values per layer become 4-bit indices; the compressed
// file runs to the same outputs in edgeopt's runtime, and the arena grows by the decoded copies.
TEST(ExportC, LutCompressionOfAClusteredModel) {
  const std::string baseline = testing::TrainedFmnistBaseline();
  ASSERT_FALSE(baseline.empty());
  const std::string dir = testing::MakeTempDir("edgeopt_export_c_lut");
  const std::string f32 = dir + "/f32.tflite", c16 = dir + "/c16.tflite",
                    c16_int8 = dir + "/c16_int8.tflite", lut = dir + "/c16_lut.tflite";
  std::string out;
  ASSERT_EQ(RunCommand(EdgeoptBinary() + " convert " + baseline + " -o " + f32, &out), 0) << out;
  ASSERT_EQ(
      RunCommand(EdgeoptBinary() + " cluster " + f32 + " --one-shot --clusters 16 -o " + c16, &out),
      0)
      << out;
  ASSERT_EQ(RunCommand(EdgeoptBinary() + " quantize " + c16 + " --mode int8 --calibration " +
                           "fashion-mnist:train --calibration-samples 100 --quiet -o " + c16_int8,
                       &out),
            0)
      << out;
  ASSERT_EQ(RunCommand(EdgeoptBinary() + " export-c " + c16_int8 + " --lut --lut-tflite " + lut +
                           " -o " + dir + "/m.cc",
                       &out),
            0)
      << out;
  // conv2d_1 (per channel), dense and dense_1: 4-bit indices into 16 values.
  EXPECT_NE(out.find("4-bit indices,  16 values x   64 tables"), std::string::npos) << out;
  EXPECT_NE(out.find("4-bit indices,  16 values x    1 tables"), std::string::npos) << out;
  EXPECT_EQ(testing::ParseMetric(out, "lut_tensors"), 3) << out;
  EXPECT_NE(out.find("USE_TFLM_COMPRESSION"), std::string::npos);
  const double before = static_cast<double>(std::filesystem::file_size(c16_int8));
  const double after = static_cast<double>(std::filesystem::file_size(lut));
  EXPECT_EQ(testing::ParseMetric(out, "model_bytes"), after);
  EXPECT_LT(after, 0.55 * before);  // int8 weights -> 4 bits, plus tables
  for (int seed : {1, 2}) {
    const std::string a = dir + "/a" + std::to_string(seed), b = dir + "/b" + std::to_string(seed);
    ASSERT_EQ(RunCommand(EdgeoptBinary() + " run " + c16_int8 + " --random " +
                         std::to_string(seed) + " -o " + a),
              0);
    ASSERT_EQ(RunCommand(EdgeoptBinary() + " run " + lut + " --random " + std::to_string(seed) +
                         " -o " + b),
              0);
    EXPECT_EQ(RunCommand("cmp " + a + "/output_0.npy " + b + "/output_0.npy"), 0) << seed;
  }
  // The RAM side of the trade, and --lut-max-scratch keeping the 204,800-byte dense kernel.
  EXPECT_NE(out.find("bytes more arena RAM"), std::string::npos) << out;
  ASSERT_EQ(RunCommand(EdgeoptBinary() + " export-c " + c16_int8 +
                           " --lut --lut-max-scratch 100000 -o " + dir + "/m2.cc",
                       &out),
            0)
      << out;
  EXPECT_EQ(testing::ParseMetric(out, "lut_tensors"), 2) << out;
  EXPECT_NE(out.find("1 larger than --lut-max-scratch 100,000 bytes left as they are"),
            std::string::npos)
      << out;
  // --lut-arena-limit: the largest saving first, each tensor kept while the arena fits. 40,000
  // bytes take conv2d_1 and dense_1 (36,864); 32,768 leave the arena as it was (31,744).
  ASSERT_EQ(RunCommand(EdgeoptBinary() + " export-c " + c16_int8 +
                           " --lut --lut-arena-limit 40000 -o " + dir + "/m4.cc",
                       &out),
            0)
      << out;
  EXPECT_EQ(testing::ParseMetric(out, "lut_tensors"), 2) << out;
  EXPECT_EQ(testing::ParseMetric(out, "arena_size"), 36864) << out;
  EXPECT_NE(out.find("--lut-arena-limit 40,000: 1 compressible tensor left as they are"),
            std::string::npos)
      << out;
  ASSERT_EQ(RunCommand(EdgeoptBinary() + " export-c " + c16_int8 +
                           " --lut --lut-arena-limit 32768 -o " + dir + "/m5.cc",
                       &out),
            0)
      << out;
  EXPECT_EQ(testing::ParseMetric(out, "arena_size"), 31744) << out;
  EXPECT_LE(testing::ParseMetric(out, "lut_tensors"), 1) << out;
  // Compressing a compressed model is refused.
  EXPECT_EQ(RunCommand(EdgeoptBinary() + " export-c " + lut + " --lut -o " + dir + "/m3.cc", &out),
            1);
  EXPECT_NE(out.find("LUT-compressed already"), std::string::npos) << out;
  std::filesystem::remove_all(dir);
}

TEST(ExportC, RefusesWhatTflmCannotRunAndBadArguments) {
  const std::string hybrid = CorpusPath("mlcommons-tiny/kws_ref_model_float32.tflite");
  if (!std::filesystem::exists(hybrid)) GTEST_SKIP();
  const std::string dir = testing::MakeTempDir("edgeopt_export_c");
  const std::string cc = dir + "/m.cc", h = dir + "/m.h";
  std::string out;
  const std::string lut = dir + "/m_lut.tflite";
  EXPECT_EQ(RunCommand(EdgeoptBinary() + " export-c '" + hybrid + "' --lut --lut-tflite '" + lut +
                           "' -o '" + cc + "'",
                       &out),
            1);
  EXPECT_NE(out.find("hybrid (dynamic-range) operators"), std::string::npos) << out;
  EXPECT_FALSE(std::filesystem::exists(lut));  // "nothing written" includes the .tflite
  EXPECT_NE(out.find("kws_ref_model_float32.tflite: TFLM cannot run this model"), std::string::npos)
      << out;
  EXPECT_FALSE(std::filesystem::exists(cc));
  EXPECT_FALSE(std::filesystem::exists(h));
  // --force writes it, with the problem as a warning.
  EXPECT_EQ(
      RunCommand(EdgeoptBinary() + " export-c '" + hybrid + "' --force -o '" + cc + "'", &out), 0)
      << out;
  EXPECT_NE(out.find("warning: hybrid"), std::string::npos) << out;
  EXPECT_TRUE(std::filesystem::exists(cc) && std::filesystem::exists(h));

  const std::string good = CorpusPath("tflite-micro/hello_world_int8.tflite");
  struct Case {
    std::string args, message;
  };
  const Case cases[] = {
      {"'" + good + "' --name 2fast -o '" + dir + "/a.cc'", "--name: '2fast' does not start"},
      {"'" + good + "' --name class -o '" + dir + "/a.cc'", "C++ keyword"},
      {"'" + good + "' -o '" + dir + "/a.h'", "--header and --output are the same file"},
      {"'" + CorpusPath("tflite-micro/magic_wand_weights.h5") + "' -o '" + dir + "/a.cc'",
       "is a Keras model; export-c takes a .tflite"},
      {"'" + dir + "/missing.tflite' -o '" + dir + "/a.cc'", "missing.tflite"},
      {"'" + good + "' --lut-tflite '" + dir + "/x.tflite' -o '" + dir + "/a.cc'",
       "--lut-tflite, --lut-max-scratch and --lut-arena-limit need --lut"},
      {"'" + good + "' -o '" + dir + "/no/such/dir/a.cc'", "no/such/dir/a.h: cannot create"},
      // The header is written first; when the source then fails, the header goes too.
      {"'" + good + "' --header '" + dir + "/a.h' -o '" + dir + "/no/such/dir/a.cc'",
       "no/such/dir/a.cc: cannot create"},
  };
  for (const Case& c : cases) {
    EXPECT_EQ(RunCommand(EdgeoptBinary() + " export-c " + c.args, &out), 1) << c.args;
    EXPECT_NE(out.find(c.message), std::string::npos) << c.args << ": " << out;
  }
  EXPECT_FALSE(std::filesystem::exists(dir + "/a.cc"));
  EXPECT_FALSE(std::filesystem::exists(dir + "/a.h"));
  // Not a model at all.
  ASSERT_EQ(RunCommand("printf 'not a model' > '" + dir + "/bad.tflite'"), 0);
  EXPECT_EQ(
      RunCommand(EdgeoptBinary() + " export-c '" + dir + "/bad.tflite' -o '" + cc + "'", &out), 1);
  EXPECT_NE(out.find("bad.tflite"), std::string::npos) << out;
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace edgeopt
