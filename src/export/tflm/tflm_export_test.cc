#include "src/export/tflm/tflm_export.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <set>
#include <string>
#include <vector>

#include "schema/tflite_generated.h"
#include "src/util/file_util.h"
#include "tests/model_builder.h"
#include "tests/test_util.h"

namespace edgeopt {
namespace tflm {
namespace {

using testing::CorpusPath;

StatusOr<TflmReport> AnalyzeCorpus(const std::string& rel, std::vector<uint8_t>* bytes) {
  StatusOr<std::vector<uint8_t>> b = ReadFileBytes(CorpusPath(rel));
  if (!b.ok()) return b.status();
  *bytes = std::move(*b);
  return AnalyzeForTflm(bytes->data(), bytes->size());
}

std::set<std::string> Methods(const TflmReport& r) {
  std::set<std::string> m;
  for (const OpUse& op : r.ops) m.insert(op.method);
  return m;
}

// The operator lists TFLM's own examples register for these models (person_detection's
// main_functions.cc, micro_speech's RegisterOps for both of its models, hello_world).
TEST(TflmExport, OpResolverMatchesTflmExamples) {
  if (!std::filesystem::exists(CorpusPath("tflite-micro"))) GTEST_SKIP();
  std::vector<uint8_t> bytes;
  StatusOr<TflmReport> pd = AnalyzeCorpus("tflite-micro/person_detect.tflite", &bytes);
  ASSERT_TRUE(pd.ok()) << pd.status().ToString();
  EXPECT_EQ(Methods(*pd),
            (std::set<std::string>{"AddAveragePool2D", "AddConv2D", "AddDepthwiseConv2D",
                                   "AddReshape", "AddSoftmax"}));
  EXPECT_TRUE(pd->problems.empty());
  EXPECT_EQ(pd->nodes, 31);
  // First-use order, with counts: 14 depthwise and 14 pointwise convolutions.
  EXPECT_EQ(pd->ops[0].op, "DEPTHWISE_CONV_2D");
  EXPECT_EQ(pd->ops[0].count, 14);
  EXPECT_EQ(pd->ops[1].op, "CONV_2D");
  EXPECT_EQ(pd->ops[1].count, 14);

  StatusOr<TflmReport> speech = AnalyzeCorpus("tflite-micro/micro_speech_quantized.tflite", &bytes);
  ASSERT_TRUE(speech.ok());
  EXPECT_EQ(Methods(*speech), (std::set<std::string>{"AddReshape", "AddFullyConnected",
                                                     "AddDepthwiseConv2D", "AddSoftmax"}));
  StatusOr<TflmReport> audio = AnalyzeCorpus("tflite-micro/audio_preprocessor_int8.tflite", &bytes);
  ASSERT_TRUE(audio.ok());
  EXPECT_EQ(Methods(*audio),
            (std::set<std::string>{
                "AddReshape", "AddCast", "AddStridedSlice", "AddConcatenation", "AddMul", "AddAdd",
                "AddDiv", "AddMinimum", "AddMaximum", "AddWindow", "AddFftAutoScale", "AddRfft",
                "AddEnergy", "AddFilterBank", "AddFilterBankSquareRoot",
                "AddFilterBankSpectralSubtraction", "AddPCAN", "AddFilterBankLog"}));
  EXPECT_TRUE(audio->problems.empty()) << audio->problems[0];
  StatusOr<TflmReport> hello = AnalyzeCorpus("tflite-micro/hello_world_int8.tflite", &bytes);
  ASSERT_TRUE(hello.ok());
  EXPECT_EQ(Methods(*hello), (std::set<std::string>{"AddFullyConnected"}));
}

// person_detect (MobileNet v1 0.25, 96x96x1 int8): the largest live pair is the 48x48x8 output of
// the first depthwise convolution and the 48x48x16 output of the pointwise one after it.
TEST(TflmExport, ActivationPlanOfPersonDetect) {
  if (!std::filesystem::exists(CorpusPath("tflite-micro"))) GTEST_SKIP();
  std::vector<uint8_t> bytes;
  StatusOr<TflmReport> pd = AnalyzeCorpus("tflite-micro/person_detect.tflite", &bytes);
  ASSERT_TRUE(pd.ok());
  EXPECT_EQ(pd->activation_bytes, 48u * 48 * 8 + 48u * 48 * 16);
  EXPECT_EQ(pd->variable_bytes, 0u);
  EXPECT_GT(pd->persistent_estimate, 12u * 89);
  EXPECT_GE(pd->arena_hint, pd->activation_bytes + pd->persistent_estimate);
  EXPECT_EQ(pd->arena_hint % 1024, 0u);
}

// Lifetimes as TFLM sets them: graph inputs live from node 0, outputs to the last node, constants
// take no arena, buffers are 16-byte aligned. Three FULLY_CONNECTED in a chain:
// in(60) -> a(250) -> c(30) -> out(10), int8.
TEST(TflmExport, ActivationPlanFollowsTflmLifetimes) {
  testing::ModelBuilder b;
  const int in = b.AddInput(DType::kInt8, {1, 60}, {0.1f}, {0});
  auto fc = [&b](int x, int n_in, int n_out, int y) {
    std::vector<int8_t> w(static_cast<size_t>(n_in * n_out), 1);
    const int wt = b.AddConstant(DType::kInt8, {n_out, n_in}, w, {0.01f}, {0});
    b.AddOperator(tflite::BuiltinOperator::FULLY_CONNECTED, {x, wt, -1}, {y});
  };
  const int a = b.AddTensor(DType::kInt8, {1, 250}, {0.1f}, {0});
  const int c = b.AddTensor(DType::kInt8, {1, 30}, {0.1f}, {0});
  const int out = b.AddOutput(DType::kInt8, {1, 10}, {0.1f}, {0});
  fc(in, 60, 250, a);
  fc(a, 250, 30, c);
  fc(c, 30, 10, out);
  b.AddVariable(DType::kInt8, {1, 40});  // persistent in TFLM: counted apart, rounded to 16
  const std::vector<uint8_t> model = b.Build();
  StatusOr<TflmReport> r = AnalyzeForTflm(model.data(), model.size());
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  // Sizes rounded up to 16 (as TFLM's allocator hands them to its planner), largest first: a
  // [0,1] at 0; in [0,0] beside a, at 256; c [1,2] beside a at 256 (in is dead by then); out
  // [2,2] at 0 (a is dead). 256 + 64.
  EXPECT_EQ(r->activation_bytes, 320u);
  EXPECT_TRUE(r->problems.empty());
  ASSERT_EQ(r->ops.size(), 1u);
  EXPECT_EQ(r->ops[0].count, 3);
  EXPECT_EQ(r->tensors, 8);
  EXPECT_EQ(r->variable_bytes, 48u);
  EXPECT_EQ(r->persistent_estimate, 12u * 8 + 64u * 3 + 48u);
}

// Each kind of model TFLM cannot run gives exactly its own problem.
TEST(TflmExport, ProblemsOfModelsTflmCannotRun) {
  if (!std::filesystem::exists(CorpusPath("mlcommons-tiny"))) GTEST_SKIP();
  struct Case {
    const char* model;
    const char* problem;
  };
  const Case cases[] = {
      {"mlcommons-tiny/kws_ref_model_float32.tflite", "hybrid (dynamic-range) operators"},
      {"tensor-edge-converter/model_fp16.tflite", "float16 tensors"},
      {"coral-test_data/mobilenet_v1_0.25_128_quant.tflite", "uint8 tensors"},
  };
  for (const Case& c : cases) {
    std::vector<uint8_t> bytes;
    StatusOr<TflmReport> r = AnalyzeCorpus(c.model, &bytes);
    ASSERT_TRUE(r.ok()) << c.model << ": " << r.status().ToString();
    ASSERT_EQ(r->problems.size(), 1u) << c.model;
    EXPECT_EQ(r->problems[0].rfind(c.problem, 0), 0u) << c.model << ": " << r->problems[0];
  }
  // The full-integer versions of the same models are fine.
  for (const char* ok :
       {"mlcommons-tiny/kws_ref_model.tflite", "tensor-edge-converter/model_full_integer.tflite"}) {
    std::vector<uint8_t> bytes;
    StatusOr<TflmReport> r = AnalyzeCorpus(ok, &bytes);
    ASSERT_TRUE(r.ok()) << ok;
    EXPECT_TRUE(r->problems.empty()) << ok << ": " << r->problems[0];
  }
}

TEST(TflmExport, OperatorWithoutTflmKernelIsAProblem) {
  testing::ModelBuilder b;
  const int in = b.AddInput(DType::kFloat32, {1, 8});
  const int out = b.AddOutput(DType::kFloat32, {1, 8});
  b.AddOperator(tflite::BuiltinOperator::RELU_N1_TO_1, {in}, {out});
  const std::vector<uint8_t> model = b.Build();
  StatusOr<TflmReport> r = AnalyzeForTflm(model.data(), model.size());
  ASSERT_TRUE(r.ok());
  ASSERT_EQ(r->ops.size(), 1u);
  EXPECT_EQ(r->ops[0].method, "");
  ASSERT_EQ(r->problems.size(), 1u);
  EXPECT_NE(r->problems[0].find("without a TFLM kernel"), std::string::npos);
  EXPECT_NE(r->problems[0].find("RELU_N1_TO_1"), std::string::npos);
  // The header leaves it out of the registration and says so.
  const std::string h = CArrayHeader(model.size(), *r, CSourceOptions{});
  EXPECT_NE(h.find("g_model_op_count = 0;"), std::string::npos) << h;
  EXPECT_NE(h.find("Not registered here (TFLM has no kernel"), std::string::npos);
}

TEST(TflmExport, DamagedModelsAreErrors) {
  const std::vector<uint8_t> junk = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12};
  StatusOr<TflmReport> r = AnalyzeForTflm(junk.data(), junk.size());
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().ToString().find("TFL3"), std::string::npos);
  testing::ModelBuilder b;
  const int in = b.AddInput(DType::kFloat32, {1, 8});
  const int out = b.AddOutput(DType::kFloat32, {1, 8});
  b.AddOperator(tflite::BuiltinOperator::RELU, {in}, {out});
  std::vector<uint8_t> model = b.Build();
  // Every truncation is refused by the verifier, never read past its end.
  for (size_t n = 0; n < model.size(); n += 7) {
    EXPECT_FALSE(AnalyzeForTflm(model.data(), n).ok()) << n;
  }
}

TEST(TflmExport, CArrayRoundTripsTheBytes) {
  std::vector<uint8_t> bytes(29);
  for (size_t i = 0; i < bytes.size(); ++i) bytes[i] = static_cast<uint8_t>(i * 37 + 200);
  CSourceOptions o;
  o.name = "g_net";
  o.header = "net_data.h";
  o.source_file = "net.tflite";
  const std::string src = CArraySource(bytes.data(), bytes.size(), o);
  EXPECT_NE(src.find("#include \"net_data.h\""), std::string::npos);
  EXPECT_NE(src.find("alignas(16) const unsigned char g_net[] = {"), std::string::npos);
  EXPECT_NE(src.find("const unsigned int g_net_len = 29;"), std::string::npos);
  std::vector<uint8_t> parsed;
  for (size_t at = src.find("0x"); at != std::string::npos; at = src.find("0x", at + 1)) {
    parsed.push_back(static_cast<uint8_t>(std::strtoul(src.substr(at, 4).c_str(), nullptr, 16)));
  }
  EXPECT_EQ(parsed, bytes);
  // 12 bytes a line: 29 bytes take 3 lines.
  size_t lines = 0;
  for (size_t at = src.find("\n    0x"); at != std::string::npos; at = src.find("\n    0x", at + 1))
    ++lines;
  EXPECT_EQ(lines, 3u);
}

TEST(TflmExport, HeaderDeclaresAndRegisters) {
  TflmReport r;
  r.ops = {{"CONV_2D", "AddConv2D", 2}, {"SOFTMAX", "AddSoftmax", 1}};
  r.activation_bytes = 5000;
  r.persistent_estimate = 300;
  r.arena_hint = 7168;
  CSourceOptions o;
  o.name = "g_net";
  o.header = "net-data.h";
  o.source_file = "net.tflite";
  const std::string h = CArrayHeader(1234, r, o);
  EXPECT_NE(h.find("#ifndef NET_DATA_H_\n#define NET_DATA_H_"), std::string::npos) << h;
  EXPECT_NE(h.find("extern const unsigned char g_net[];"), std::string::npos);
  EXPECT_NE(h.find("extern const unsigned int g_net_len;"), std::string::npos);
  EXPECT_NE(h.find("constexpr unsigned int g_net_activation_bytes = 5000;"), std::string::npos);
  EXPECT_NE(h.find("constexpr unsigned int g_net_arena_size = 7168;"), std::string::npos);
  EXPECT_NE(h.find("constexpr unsigned int g_net_op_count = 2;"), std::string::npos);
  EXPECT_NE(h.find("bool g_net_register_ops(Resolver& resolver) {\n"
                   "  // Each Add* returns kTfLiteOk (0) on success.\n"
                   "  return resolver.AddConv2D() == 0 &&\n"
                   "         resolver.AddSoftmax() == 0;\n}"),
            std::string::npos)
      << h;
}

TEST(TflmExport, IdentifiersAreChecked) {
  EXPECT_EQ(CheckIdentifier("g_model"), "");
  EXPECT_EQ(CheckIdentifier("_x9"), "");
  EXPECT_NE(CheckIdentifier(""), "");
  EXPECT_NE(CheckIdentifier("9lives").find("does not start"), std::string::npos);
  EXPECT_NE(CheckIdentifier("my-model").find("other than letters"), std::string::npos);
  EXPECT_NE(CheckIdentifier("int").find("keyword"), std::string::npos);
}

}  // namespace
}  // namespace tflm
}  // namespace edgeopt
