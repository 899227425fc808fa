#include "src/importers/tflite/import.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <random>

#include "src/ir/shape_inference.h"
#include "src/ir/text.h"
#include "tests/model_builder.h"
#include "tests/test_util.h"

namespace edgeopt {
namespace {

namespace fs = std::filesystem;

std::vector<std::string> CorpusModels() {
  std::vector<std::string> models;
  const fs::path root = testing::CorpusPath("");
  if (!fs::exists(root)) return models;
  for (const auto& entry : fs::recursive_directory_iterator(root)) {
    if (entry.is_regular_file() && entry.path().extension() == ".tflite") {
      models.push_back(entry.path().string());
    }
  }
  std::sort(models.begin(), models.end());
  return models;
}

std::vector<uint8_t> ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::vector<uint8_t>((std::istreambuf_iterator<char>(in)),
                              std::istreambuf_iterator<char>());
}

TEST(TfliteImport, EveryCorpusModelImports) {
  const std::vector<std::string> models = CorpusModels();
  if (models.empty()) GTEST_SKIP() << "no corpus";
  EXPECT_GE(models.size(), 40u);
  int custom_nodes = 0;
  for (const std::string& path : models) {
    StatusOr<ir::Graph> g = ImportTfliteFile(path);
    ASSERT_TRUE(g.ok()) << path << ": " << g.status().ToString();
    EXPECT_FALSE(g->nodes.empty()) << path;
    EXPECT_FALSE(g->inputs.empty()) << path;
    EXPECT_TRUE(g->Validate().ok()) << path;
    for (const ir::Node& n : g->nodes) {
      EXPECT_GE(n.version, 1) << path;
      if (n.op == "CUSTOM") {
        ++custom_nodes;
        EXPECT_FALSE(n.custom_code.empty()) << path;
        EXPECT_TRUE(n.attrs.empty()) << path;
      }
    }
    // The text form of a real model parses back to the same text.
    ir::TextOptions all;
    all.include_all_values = true;
    const std::string text = ir::PrintGraph(*g, all);
    StatusOr<ir::Graph> parsed = ir::ParseGraph(text);
    ASSERT_TRUE(parsed.ok()) << path << ": " << parsed.status().ToString();
    EXPECT_EQ(ir::PrintGraph(*parsed, all), text) << path;
  }
  EXPECT_GE(custom_nodes, 10);  // audio preprocessors and EdgeTPU models
}

TEST(TfliteImport, HelloWorldInt8Details) {
  const std::string path = testing::CorpusPath("tflite-micro/hello_world_int8.tflite");
  if (!fs::exists(path)) GTEST_SKIP();
  StatusOr<ir::Graph> g = ImportTfliteFile(path);
  ASSERT_TRUE(g.ok()) << g.status().ToString();
  ASSERT_EQ(g->nodes.size(), 3u);
  const ir::Node& fc = g->nodes[0];
  EXPECT_EQ(fc.op, "FULLY_CONNECTED");
  EXPECT_EQ(fc.version, 4);
  EXPECT_EQ(ir::GetString(fc.attrs, "fused_activation_function", ""), "RELU");
  EXPECT_EQ(ir::GetString(fc.attrs, "weights_format", ""), "DEFAULT");
  EXPECT_FALSE(ir::GetBool(fc.attrs, "keep_num_dims", true));
  EXPECT_EQ(fc.attrs.size(),
            5u);  // one entry per field of FullyConnectedOptions
  const ir::Tensor& in = g->tensors[g->inputs[0]];
  EXPECT_EQ(in.dtype, DType::kInt8);
  EXPECT_EQ(in.shape, std::vector<int32_t>({1, 1}));
  EXPECT_EQ(in.shape_signature, std::vector<int32_t>({-1, 1}));
  ASSERT_EQ(in.quant.scale.size(), 1u);
  EXPECT_NEAR(in.quant.scale[0], 0.0244801156, 1e-9);
  EXPECT_EQ(in.quant.zero_point[0], -128);
  EXPECT_EQ(g->input_names, std::vector<std::string>({"dense_input"}));
  EXPECT_EQ(g->description, "MLIR Converted.");
  const ir::Tensor& w = g->tensors[fc.inputs[1]];
  EXPECT_TRUE(w.is_constant);
  EXPECT_EQ(w.data.size(), 16u);
}

TEST(TfliteImport, CustomOpsBecomeCustomNodes) {
  const std::string path = testing::CorpusPath("tflite-micro/audio_preprocessor_int8.tflite");
  if (!fs::exists(path)) GTEST_SKIP();
  StatusOr<ir::Graph> g = ImportTfliteFile(path);
  ASSERT_TRUE(g.ok()) << g.status().ToString();
  int signal_ops = 0;
  for (const ir::Node& n : g->nodes) {
    if (n.op == "CUSTOM" && n.custom_code.rfind("Signal", 0) == 0) {
      ++signal_ops;
      EXPECT_EQ(n.version, 1);
    }
  }
  EXPECT_GE(signal_ops, 3);
}

// Shape inference over every corpus model, propagating from the graph inputs:
// every op it supports must reproduce the shapes the converter wrote.
TEST(TfliteImport, ShapeInferenceReproducesCorpusShapes) {
  const std::vector<std::string> models = CorpusModels();
  if (models.empty()) GTEST_SKIP() << "no corpus";
  int checked = 0, skipped = 0;
  for (const std::string& path : models) {
    StatusOr<ir::Graph> file = ImportTfliteFile(path);
    ASSERT_TRUE(file.ok()) << path;
    ir::Graph g = *file;
    // Forget every computed shape; keep inputs, constants and variables.
    std::vector<char> keep(g.tensors.size(), 0);
    for (int t : g.inputs) keep[t] = 1;
    for (size_t t = 0; t < g.tensors.size(); ++t) {
      if (g.tensors[t].is_constant || g.tensors[t].is_variable) keep[t] = 1;
    }
    for (size_t t = 0; t < g.tensors.size(); ++t) {
      if (!keep[t]) g.tensors[t].shape = {99};
    }
    for (int i = 0; i < static_cast<int>(g.nodes.size()); ++i) {
      Status s = ir::InferNodeShapes(&g, i);
      if (s.code() == StatusCode::kUnsupported) {
        // Not covered (custom ops...): take the file's shapes and go on.
        for (int t : g.nodes[i].outputs) g.tensors[t].shape = file->tensors[t].shape;
        ++skipped;
        continue;
      }
      ASSERT_TRUE(s.ok()) << path << ": " << s.ToString();
      for (int t : g.nodes[i].outputs) {
        EXPECT_EQ(g.tensors[t].shape, file->tensors[t].shape)
            << path << " node " << i << " (" << g.nodes[i].op << ") output " << t;
      }
      ++checked;
    }
  }
  std::printf(
      "shape inference: %d corpus nodes checked, %d skipped (ops without "
      "inference)\n",
      checked, skipped);
  EXPECT_GT(checked, 600);
  EXPECT_LT(skipped, 30);
}

TEST(TfliteImport, MalformedFilesGiveStatusNotCrash) {
  const std::vector<std::string> models = CorpusModels();
  if (models.empty()) GTEST_SKIP() << "no corpus";
  std::mt19937 rng(1234);
  int rejected = 0, attempts = 0;
  for (const std::string& path : models) {
    const std::vector<uint8_t> bytes = ReadFile(path);
    ASSERT_FALSE(bytes.empty());
    // Truncations.
    for (int k = 0; k < 12; ++k) {
      const size_t n = bytes.size() * k / 12;
      StatusOr<ir::Graph> g = ImportTflite(bytes.data(), n);
      ++attempts;
      EXPECT_FALSE(g.ok()) << path << " truncated to " << n;
      if (!g.ok()) ++rejected;
    }
    // Bit flips, concentrated in the structure (the head of the file holds no
    // weights in the converter's layout, but flips anywhere must be safe).
    const int flips = bytes.size() < 600000 ? 120 : 15;
    for (int k = 0; k < flips; ++k) {
      std::vector<uint8_t> bad = bytes;
      const size_t limit = k % 2 == 0 ? std::min<size_t>(bad.size(), 4096) : bad.size();
      const size_t pos = rng() % limit;
      bad[pos] ^= static_cast<uint8_t>(1u << (rng() % 8));
      StatusOr<ir::Graph> g = ImportTflite(bad.data(), bad.size());
      ++attempts;
      if (!g.ok()) {
        ++rejected;
        EXPECT_FALSE(g.status().message().empty());
      } else {
        EXPECT_TRUE(g->Validate().ok()) << path << " flip at " << pos;
      }
    }
  }
  std::printf("malformed inputs: %d of %d rejected with a Status, none crashed\n", rejected,
              attempts);
  EXPECT_GT(rejected, attempts / 10);
}

TEST(TfliteImport, RejectsBadIndicesAndSizes) {
  using testing::ModelBuilder;
  {
    ModelBuilder b;
    const int x = b.AddInput(DType::kFloat32, {1, 4});
    const int y = b.AddOutput(DType::kFloat32, {1, 4});
    b.AddOperator(tflite::BuiltinOperator::RELU, {x, 57}, {y});
    const std::vector<uint8_t> model = b.Build();
    StatusOr<ir::Graph> g = ImportTflite(model.data(), model.size());
    ASSERT_FALSE(g.ok());
    EXPECT_EQ(g.status().code(), StatusCode::kInvalidModel);
    EXPECT_NE(g.status().message().find("refers to tensor 57"), std::string::npos)
        << g.status().message();
  }
  {
    // Constant whose buffer does not match its shape.
    ModelBuilder b;
    const int x = b.AddInput(DType::kFloat32, {1, 4});
    const int c = b.AddConstantBytes(DType::kFloat32, {1, 4}, std::vector<uint8_t>(12, 0));
    const int y = b.AddOutput(DType::kFloat32, {1, 4});
    b.AddOperator(tflite::BuiltinOperator::ADD, {x, c}, {y});
    const std::vector<uint8_t> model = b.Build();
    StatusOr<ir::Graph> g = ImportTflite(model.data(), model.size());
    ASSERT_FALSE(g.ok());
    EXPECT_NE(g.status().message().find("has 12 bytes, shape and type need 16"), std::string::npos)
        << g.status().message();
  }
  {
    // A node reading a tensor nobody writes.
    ModelBuilder b;
    const int x = b.AddInput(DType::kFloat32, {1, 4});
    const int orphan = b.AddTensor(DType::kFloat32, {1, 4});
    const int y = b.AddOutput(DType::kFloat32, {1, 4});
    b.AddOperator(tflite::BuiltinOperator::ADD, {x, orphan}, {y});
    const std::vector<uint8_t> model = b.Build();
    StatusOr<ir::Graph> g = ImportTflite(model.data(), model.size());
    ASSERT_FALSE(g.ok());
    EXPECT_NE(g.status().message().find("before it is written"), std::string::npos)
        << g.status().message();
  }
  // Shapes whose element count wraps around 2^64 to 0, or with a zero beside huge dimensions.
  for (const std::vector<int32_t>& shape :
       {std::vector<int32_t>{1 << 30, 64, 1 << 28}, std::vector<int32_t>{1 << 30, 1 << 30, 0}}) {
    ModelBuilder b;
    const int x = b.AddInput(DType::kFloat32, shape);
    const int y = b.AddOutput(DType::kFloat32, shape);
    b.AddOperator(tflite::BuiltinOperator::RELU, {x}, {y});
    const std::vector<uint8_t> model = b.Build();
    StatusOr<ir::Graph> g = ImportTflite(model.data(), model.size());
    ASSERT_FALSE(g.ok());
    EXPECT_NE(g.status().message().find("is too large"), std::string::npos) << g.status().message();
  }
  const uint8_t junk[16] = {1, 2, 3};
  EXPECT_EQ(ImportTflite(junk, sizeof(junk)).status().code(), StatusCode::kInvalidModel);
  EXPECT_EQ(ImportTfliteFile("/nonexistent/model.tflite").status().code(), StatusCode::kNotFound);
}

}  // namespace
}  // namespace edgeopt
