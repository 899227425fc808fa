#include "src/export/tflite/export.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <fstream>
#include <set>

#include "schema/tflite_generated.h"
#include "src/export/tflite/op_version.h"
#include "src/importers/tflite/builtin_options.h"
#include "src/importers/tflite/import.h"
#include "src/ir/text.h"
#include "tests/test_util.h"

namespace edgeopt {
namespace {

ir::Graph Parse(const std::string& text) {
  StatusOr<ir::Graph> g = ir::ParseGraph(text);
  EXPECT_TRUE(g.ok()) << g.status().ToString() << "\n" << text;
  return g.ok() ? std::move(g).value() : ir::Graph();
}

// Exports and returns the version of the (single) operator code of node 0.
int ExportedVersion(const ir::Graph& g) {
  StatusOr<std::vector<uint8_t>> bytes = ExportTflite(g);
  EXPECT_TRUE(bytes.ok()) << bytes.status().ToString();
  if (!bytes.ok()) return -1;
  const tflite::Model* m = tflite::GetModel(bytes->data());
  const tflite::Operator* op = m->subgraphs()->Get(0)->operators()->Get(0);
  return m->operator_codes()->Get(op->opcode_index())->version();
}

struct VersionCase {
  const char* name;
  const char* text;
  int version;
};

// Graph text: x, w, b, y with the given dtypes/quantization and one node.
std::string OneNode(const std::string& tensors, const std::string& node) {
  return "graph inputs(%0) outputs(%3)\n" + tensors + node + "\n";
}

const char kFloatFc[] =
    "%0 = tensor \"x\" float32[1,4]\n%1 = const \"w\" float32[2,4]\n"
    "%2 = const \"b\" float32[2]\n%3 = tensor \"y\" float32[1,2]\n";
const char kInt8Fc[] =
    "%0 = tensor \"x\" int8[1,4] scale=0.1 zero_point=0\n"
    "%1 = const \"w\" int8[2,4] scale=0.05 zero_point=0\n"
    "%2 = const \"b\" int32[2] scale=0.005 zero_point=0\n"
    "%3 = tensor \"y\" int8[1,2] scale=0.2 zero_point=1\n";
const char kHybridFc[] =
    "%0 = tensor \"x\" float32[1,4]\n%1 = const \"w\" int8[2,4] scale=0.05 "
    "zero_point=0\n"
    "%2 = const \"b\" float32[2]\n%3 = tensor \"y\" float32[1,2]\n";
const char kInt8Conv[] =
    "%0 = tensor \"x\" int8[1,5,5,3] scale=0.1 zero_point=0\n"
    "%1 = const \"w\" int8[2,3,3,3] scale=[0.05,0.07] zero_point=[0,0]\n"
    "%2 = const \"b\" int32[2] scale=[0.005,0.007] zero_point=[0,0]\n"
    "%3 = tensor \"y\" int8[1,3,3,2] scale=0.2 zero_point=1\n";
const char kFloatConv[] =
    "%0 = tensor \"x\" float32[1,5,5,3]\n%1 = const \"w\" float32[2,3,3,3]\n"
    "%2 = const \"b\" float32[2]\n%3 = tensor \"y\" float32[1,3,3,2]\n";
const char kHybridConvPerChannel[] =
    "%0 = tensor \"x\" float32[1,5,5,3]\n"
    "%1 = const \"w\" int8[2,3,3,3] scale=[0.05,0.07] zero_point=[0,0]\n"
    "%2 = const \"b\" float32[2]\n%3 = tensor \"y\" float32[1,3,3,2]\n";
const char kGroupedConv[] =
    "%0 = tensor \"x\" float32[1,5,5,4]\n%1 = const \"w\" float32[2,3,3,2]\n"
    "%2 = const \"b\" float32[2]\n%3 = tensor \"y\" float32[1,3,3,2]\n";
const char kFloatDw[] =
    "%0 = tensor \"x\" float32[1,5,5,2]\n%1 = const \"w\" float32[1,3,3,2]\n"
    "%2 = const \"b\" float32[2]\n%3 = tensor \"y\" float32[1,3,3,2]\n";
const char kInt8Unary[] =
    "%0 = tensor \"x\" int8[1,8] scale=0.1 zero_point=0\n%1 = const \"a\" "
    "int32[1] values=[1]\n"
    "%2 = const \"b\" int32[1] values=[1]\n%3 = tensor \"y\" int8[1,8] "
    "scale=0.1 zero_point=0\n";
const char kInt16Unary[] =
    "%0 = tensor \"x\" int16[1,8] scale=0.1 zero_point=0\n%1 = const \"a\" "
    "int32[1] values=[1]\n"
    "%2 = const \"b\" int32[1] values=[1]\n%3 = tensor \"y\" int16[1,8] "
    "scale=0.1 zero_point=0\n";
const char kFloatUnary[] =
    "%0 = tensor \"x\" float32[1,8]\n%1 = const \"a\" int32[1] values=[1]\n"
    "%2 = const \"b\" int32[1] values=[1]\n%3 = tensor \"y\" float32[1,8]\n";

TEST(TfliteExportVersions, FollowTflite29Rules) {
  const std::string fc = "%3 = FULLY_CONNECTED(%0, %1, %2)";
  const std::string conv = "%3 = CONV_2D(%0, %1, %2) {padding=\"VALID\", stride_h=1, stride_w=1}";
  const VersionCase cases[] = {
      {"FC float", "", 1},
      {"FC int8 per-tensor", "", 4},
      {"FC int8 keep_num_dims", "", 5},
      {"FC no bias input", "", 6},
      {"FC hybrid", "", 3},
      {"FC hybrid asymmetric", "", 9},
      {"FC shuffled weights", "", 2},
      {"CONV_2D float", "", 1},
      {"CONV_2D int8 per-channel", "", 3},
      {"CONV_2D hybrid per-channel", "", 5},
      {"CONV_2D grouped", "", 6},
      {"DEPTHWISE float", "", 1},
      {"DEPTHWISE dilated", "", 2},
      {"SOFTMAX int8", "", 2},
      {"SOFTMAX int16", "", 3},
      {"LOGISTIC float", "", 1},
      {"AVERAGE_POOL_2D int8", "", 2},
      {"ADD int8", "", 2},
      {"RESHAPE int8", "", 1},
      {"STRIDED_SLICE ellipsis", "", 6},
      {"RESIZE_BILINEAR half pixel", "", 3},
      {"QUANTIZE to int16", "", 2},
  };
  const std::string texts[] = {
      OneNode(kFloatFc, fc),
      OneNode(kInt8Fc, fc),
      OneNode(kInt8Fc, fc + " {keep_num_dims=true}"),
      OneNode(kFloatFc, "%3 = FULLY_CONNECTED(%0, %1)"),
      OneNode(kHybridFc, fc),
      OneNode(kHybridFc, fc + " {asymmetric_quantize_inputs=true}"),
      OneNode(kFloatFc, fc + " {weights_format=\"SHUFFLED4x16INT8\"}"),
      OneNode(kFloatConv, conv),
      OneNode(kInt8Conv, conv),
      OneNode(kHybridConvPerChannel, conv),
      OneNode(kGroupedConv, conv),
      OneNode(kFloatDw, "%3 = DEPTHWISE_CONV_2D(%0, %1, %2) {depth_multiplier=1}"),
      OneNode(kFloatDw, "%3 = DEPTHWISE_CONV_2D(%0, %1, %2) {dilation_h_factor=2}"),
      OneNode(kInt8Unary, "%3 = SOFTMAX(%0) {beta=1.0}"),
      OneNode(kInt16Unary, "%3 = SOFTMAX(%0) {beta=1.0}"),
      OneNode(kFloatUnary, "%3 = LOGISTIC(%0)"),
      OneNode(kInt8Unary, "%3 = AVERAGE_POOL_2D(%0) {filter_height=1, filter_width=1}"),
      OneNode(kInt8Unary, "%3 = ADD(%0, %0)"),
      OneNode(kInt8Unary, "%3 = RESHAPE(%0, %1)"),
      OneNode(kFloatUnary, "%3 = STRIDED_SLICE(%0, %1, %2, %2) {ellipsis_mask=1}"),
      OneNode(kFloatUnary, "%3 = RESIZE_BILINEAR(%0, %1) {half_pixel_centers=true}"),
      OneNode("%0 = tensor \"x\" float32[1,8]\n%1 = const \"a\" int32[1] "
              "values=[1]\n"
              "%2 = const \"b\" int32[1] values=[1]\n"
              "%3 = tensor \"y\" int16[1,8] scale=0.1 zero_point=0\n",
              "%3 = QUANTIZE(%0)"),
  };
  static_assert(sizeof(cases) / sizeof(cases[0]) == sizeof(texts) / sizeof(texts[0]), "");
  for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); ++i) {
    SCOPED_TRACE(cases[i].name);
    EXPECT_EQ(ExportedVersion(Parse(texts[i])), cases[i].version);
  }
}

TEST(TfliteExportVersions, DequantizeAndMul) {
  ir::Graph g = Parse(
      "graph inputs(%0) outputs(%1)\n"
      "%0 = tensor \"x\" int8[2,2] scale=[0.1,0.2] zero_point=[0,0]\n"
      "%1 = tensor \"y\" float32[2,2]\n%1 = DEQUANTIZE(%0)\n");
  EXPECT_EQ(ExportedVersion(g), 5);  // per-channel int8
  g.tensors[0].quant.scale = {0.1f};
  g.tensors[0].quant.zero_point = {0};
  EXPECT_EQ(ExportedVersion(g), 2);
  g.tensors[0].dtype = DType::kFloat16;
  g.tensors[0].quant = ir::QuantInfo();
  EXPECT_EQ(ExportedVersion(g), 3);
  // MUL int8 whose input scales multiply to at least the output scale:
  // version 3.
  ir::Graph mul = Parse(
      "graph inputs(%0) outputs(%1)\n"
      "%0 = tensor \"x\" int8[4] scale=0.5 zero_point=0\n"
      "%1 = tensor \"y\" int8[4] scale=0.1 zero_point=0\n%1 = MUL(%0, %0)\n");
  EXPECT_EQ(ExportedVersion(mul), 3);
  mul.tensors[1].quant.scale = {1.0f};
  EXPECT_EQ(ExportedVersion(mul), 2);
}

TEST(TfliteExportVersions, RefusesVersionsNewerThanTflite29) {
  // TRANSPOSE_CONV with a fused activation needs version 4 (TF 2.13).
  ir::Graph g =
      Parse(OneNode(kFloatConv,
                    "%3 = TRANSPOSE_CONV(%1, %1, %0) {fused_activation_function=\"RELU\", "
                    "padding=\"VALID\", stride_h=1, stride_w=1}"));
  StatusOr<std::vector<uint8_t>> bytes = ExportTflite(g);
  ASSERT_FALSE(bytes.ok());
  EXPECT_EQ(bytes.status().code(), StatusCode::kUnsupported);
  EXPECT_NE(bytes.status().message().find("needs version 4; TFLite 2.9 supports up to version 3"),
            std::string::npos)
      << bytes.status().message();
  // A hybrid FULLY_CONNECTED with per-channel weights (version 12).
  ir::Graph fc = Parse(OneNode(kHybridFc, "%3 = FULLY_CONNECTED(%0, %1, %2)"));
  fc.tensors[1].quant.scale = {0.1f, 0.2f};
  fc.tensors[1].quant.zero_point = {0, 0};
  EXPECT_FALSE(ExportTflite(fc).ok());
  // Kept versions are written as they are.
  TfliteExportOptions keep;
  keep.keep_node_versions = true;
  fc.nodes[0].version = 12;
  EXPECT_TRUE(ExportTflite(fc, keep).ok());
  EXPECT_EQ(tfl::MinRuntimeVersion("CONV_2D", 3), "1.14.0");
  EXPECT_EQ(tfl::MinRuntimeVersion("FULLY_CONNECTED", 12), "");
  EXPECT_EQ(tfl::MaxVersionInTflite29("FULLY_CONNECTED"), 9);
  EXPECT_TRUE(tfl::RuntimeVersionLess("1.14.0", "2.3.0"));
  EXPECT_TRUE(tfl::RuntimeVersionLess("1.5.0", "1.14.0"));
  EXPECT_TRUE(tfl::RuntimeVersionLess("", "1.5.0"));
  EXPECT_FALSE(tfl::RuntimeVersionLess("2.3.0", "2.3.0"));
}

TEST(TfliteExport, FileStructure) {
  // Two FCs with identical weights, one op code, min_runtime_version, signature.
  ir::Graph g = Parse(
      "graph inputs(%0) outputs(%5) input_names(\"in\") output_names(\"out\")\n"
      "%0 = tensor \"x\" int8[1,4] scale=0.1 zero_point=0\n"
      "%1 = const \"w1\" int8[4,4] scale=0.05 zero_point=0 "
      "values=[1,2,3,4,5,6,7,8,9,10,11,12,"
      "13,14,15,16]\n"
      "%2 = const \"w2\" int8[4,4] scale=0.05 zero_point=0 "
      "values=[1,2,3,4,5,6,7,8,9,10,11,12,"
      "13,14,15,16]\n"
      "%3 = const \"b\" int32[4] scale=0.005 zero_point=0 values=[1,2,3,4]\n"
      "%4 = tensor \"h\" int8[1,4] scale=0.2 zero_point=1\n"
      "%5 = tensor \"y\" int8[1,4] scale=0.2 zero_point=1\n"
      "%4 = FULLY_CONNECTED(%0, %1, %3) {fused_activation_function=\"RELU\"}\n"
      "%5 = FULLY_CONNECTED(%4, %2, %3)\n");
  g.metadata.emplace_back("min_runtime_version", std::vector<uint8_t>{'9'});  // replaced
  g.metadata.emplace_back("extra", std::vector<uint8_t>{1, 2, 3});
  StatusOr<std::vector<uint8_t>> bytes = ExportTflite(g);
  ASSERT_TRUE(bytes.ok()) << bytes.status().ToString();
  flatbuffers::Verifier verifier(bytes->data(), bytes->size());
  ASSERT_TRUE(tflite::VerifyModelBuffer(verifier));
  const tflite::Model* m = tflite::GetModel(bytes->data());
  EXPECT_EQ(m->version(), 3u);
  EXPECT_EQ(m->description()->str(), "edgeopt");
  ASSERT_EQ(m->operator_codes()->size(), 1u);
  EXPECT_EQ(m->operator_codes()->Get(0)->version(), 4);
  EXPECT_EQ(m->operator_codes()->Get(0)->builtin_code(), tflite::BuiltinOperator::FULLY_CONNECTED);
  EXPECT_EQ(m->operator_codes()->Get(0)->deprecated_builtin_code(), 9);
  // Buffers: sentinel, shared weights, bias, min_runtime_version, extra.
  ASSERT_EQ(m->buffers()->size(), 5u);
  EXPECT_TRUE(m->buffers()->Get(0)->data() == nullptr || m->buffers()->Get(0)->data()->size() == 0);
  const auto* tensors = m->subgraphs()->Get(0)->tensors();
  EXPECT_EQ(tensors->Get(1)->buffer(), tensors->Get(2)->buffer());
  EXPECT_EQ(tensors->Get(0)->buffer(), 0u);
  std::set<uint32_t> used = {0};
  for (const auto* t : *tensors) used.insert(t->buffer());
  for (const auto* md : *m->metadata()) used.insert(md->buffer());
  EXPECT_EQ(used.size(), m->buffers()->size()) << "every buffer is referenced";
  for (uint32_t b = 1; b < m->buffers()->size(); ++b) {
    const auto* data = m->buffers()->Get(b)->data();
    ASSERT_NE(data, nullptr);
    EXPECT_EQ((data->data() - bytes->data()) % 16, 0) << "buffer " << b << " is not aligned";
  }
  ASSERT_EQ(m->metadata()->size(), 2u);
  EXPECT_EQ(m->metadata()->Get(0)->name()->str(), "min_runtime_version");
  const auto* rt = m->buffers()->Get(m->metadata()->Get(0)->buffer())->data();
  ASSERT_EQ(rt->size(), 16u);
  EXPECT_EQ(std::string(reinterpret_cast<const char*>(rt->data())), "1.14.0");
  EXPECT_EQ(m->metadata()->Get(1)->name()->str(), "extra");
  ASSERT_EQ(m->signature_defs()->size(), 1u);
  const auto* sig = m->signature_defs()->Get(0);
  EXPECT_EQ(sig->signature_key()->str(), "serving_default");
  EXPECT_EQ(sig->inputs()->Get(0)->name()->str(), "in");
  EXPECT_EQ(sig->inputs()->Get(0)->tensor_index(), 0u);
  EXPECT_EQ(sig->outputs()->Get(0)->name()->str(), "out");
  EXPECT_EQ(sig->outputs()->Get(0)->tensor_index(), 5u);
  // Options written generically and read back the same.
  const auto* op0 = m->subgraphs()->Get(0)->operators()->Get(0);
  ASSERT_EQ(op0->builtin_options_type(), tflite::BuiltinOptions::FullyConnectedOptions);
  EXPECT_EQ(op0->builtin_options_as_FullyConnectedOptions()->fused_activation_function(),
            tflite::ActivationFunctionType::RELU);

  StatusOr<ir::Graph> back = ImportTflite(bytes->data(), bytes->size());
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(back->input_names, std::vector<std::string>({"in"}));
  EXPECT_EQ(back->nodes[0].version, 4);
  EXPECT_EQ(ir::GetString(back->nodes[0].attrs, "fused_activation_function", ""), "RELU");
  EXPECT_EQ(ir::GetString(back->nodes[1].attrs, "fused_activation_function", ""), "NONE");
  EXPECT_EQ(back->tensors[2].data, g.tensors[2].data);
  ASSERT_EQ(back->metadata.size(),
            1u);  // min_runtime_version is regenerated, not imported
  EXPECT_EQ(back->metadata[0].first, "extra");
}

TEST(TfliteExport, ErrorsNameTheNodeAndAttribute) {
  ir::Graph g = Parse(OneNode(kFloatFc, "%3 = FULLY_CONNECTED(%0, %1, %2) {fused_activation=1}"));
  g.nodes[0].name = "dense_1";
  StatusOr<std::vector<uint8_t>> r = ExportTflite(g);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("node 0 (FULLY_CONNECTED \"dense_1\")"), std::string::npos)
      << r.status().message();
  EXPECT_NE(r.status().message().find("unknown attribute 'fused_activation'"), std::string::npos);

  g.nodes[0].attrs = {{"fused_activation_function", std::string("SWISH")}};
  r = ExportTflite(g);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("expected one of NONE, RELU"), std::string::npos)
      << r.status().message();

  g.nodes[0].attrs = {{"keep_num_dims", std::string("yes")}};
  EXPECT_FALSE(ExportTflite(g).ok());

  g.nodes[0].attrs.clear();
  g.nodes[0].op = "BATCH_NORM";
  r = ExportTflite(g);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kUnsupported);
  EXPECT_NE(r.status().message().find("BATCH_NORM is a toolkit-only op"), std::string::npos);

  g.nodes[0].op = "NOT_AN_OP";
  EXPECT_EQ(ExportTflite(g).status().code(), StatusCode::kUnsupported);

  g.nodes[0].op = "FULLY_CONNECTED";
  g.tensors[1].quant.scale = {0.1f, 0.2f};
  g.tensors[1].quant.zero_point = {0, 0, 0};
  r = ExportTflite(g);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("tensor 1 (w): 2 scales but 3 zero points"),
            std::string::npos)
      << r.status().message();
  g.tensors[1].quant.zero_point = {0, 0};
  g.tensors[1].quant.axis = 1;  // w is [2,4]: dimension 1 has 4 channels
  r = ExportTflite(g);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("2 per-channel scales but dimension 1 has size 4"),
            std::string::npos)
      << r.status().message();
  g.tensors[1].quant = ir::QuantInfo();

  g.nodes[0].op = "LOGISTIC";
  g.nodes[0].attrs = {{"alpha", 1.0}};
  r = ExportTflite(g);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("LOGISTIC takes no attributes"), std::string::npos);
}

// Every options table of the schema round-trips through the generic writer and reader with
// non-default values.
TEST(TfliteExport, EveryOptionsTableRoundTrips) {
  int tables = 0;
  for (tflite::BuiltinOperator code : tflite::EnumValuesBuiltinOperator()) {
    const std::string op = tflite::EnumNameBuiltinOperator(code);
    if (op.empty() || op == "CUSTOM" || op == "WHILE" || op == "IF" || op == "CALL_ONCE" ||
        op == "CALL") {
      continue;
    }
    const uint8_t type = tfl::OptionsTypeForOp(op);
    if (type == 0) continue;
    ir::Attrs attrs;
    ASSERT_TRUE(tfl::ReadOptions(type, nullptr, &attrs).ok());
    if (attrs.empty()) continue;
    ++tables;
    for (auto& [key, value] : attrs) {
      if (auto* b = std::get_if<bool>(&value)) {
        *b = !*b;
      } else if (auto* i = std::get_if<int64_t>(&value)) {
        *i += 3;
      } else if (auto* d = std::get_if<double>(&value)) {
        *d += 0.5;
      } else if (auto* s = std::get_if<std::string>(&value)) {
        static const std::map<std::string, std::string> kOther = {{"NONE", "RELU6"},
                                                                  {"SAME", "VALID"},
                                                                  {"FLOAT32", "INT8"},
                                                                  {"FULL", "BASIC"},
                                                                  {"DEFAULT", "SHUFFLED4x16INT8"},
                                                                  {"UNKNOWN", "DENSE"},
                                                                  {"SUM", "MEAN"},
                                                                  {"REFLECT", "SYMMETRIC"},
                                                                  {"INT32", "INT64"}};
        auto it = kOther.find(*s);
        if (it != kOther.end()) *s = it->second;
      }
    }
    if (op == "RESHAPE") attrs["new_shape"] = std::vector<int64_t>{2, -1};
    if (op == "SQUEEZE") attrs["squeeze_dims"] = std::vector<int64_t>{0, 2};
    if (op == "BUCKETIZE") attrs["boundaries"] = std::vector<double>{0.5, 1.5};
    if (op == "VAR_HANDLE") attrs["container"] = std::string("c");
    ir::Graph g;
    g.inputs = {g.AddActivation("x", DType::kFloat32, {1, 4})};
    g.outputs = {g.AddActivation("y", DType::kFloat32, {1, 4})};
    ir::Node n;
    n.op = op;
    n.inputs = {0};
    n.outputs = {1};
    n.attrs = attrs;
    n.version = 1;
    g.AddNode(n);
    TfliteExportOptions keep;
    keep.keep_node_versions = true;
    StatusOr<std::vector<uint8_t>> bytes = ExportTflite(g, keep);
    ASSERT_TRUE(bytes.ok()) << op << ": " << bytes.status().ToString();
    StatusOr<ir::Graph> back = ImportTflite(bytes->data(), bytes->size());
    ASSERT_TRUE(back.ok()) << op << ": " << back.status().ToString();
    EXPECT_EQ(back->nodes[0].attrs, attrs) << op;
  }
  EXPECT_GT(tables, 60);
}

TEST(TfliteExport, WriteIsAtomic) {
  const std::string dir = testing::MakeTempDir("edgeopt_export");
  ASSERT_FALSE(dir.empty());
  const std::string path = dir + "/model.tflite";
  ir::Graph good = Parse(OneNode(kFloatFc, "%3 = FULLY_CONNECTED(%0, %1, %2)"));
  ASSERT_TRUE(WriteTfliteFile(good, path).ok());
  std::ifstream in(path, std::ios::binary);
  const std::string first((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  ASSERT_GT(first.size(), 100u);
  struct stat st;
  ASSERT_EQ(stat(path.c_str(), &st), 0);
  EXPECT_NE(st.st_mode & S_IRGRP, 0u) << "the file is readable like any other";
  // A failing export leaves the old file as it was and no temporary behind.
  ir::Graph bad = good;
  bad.nodes[0].op = "DROPOUT";
  EXPECT_FALSE(WriteTfliteFile(bad, path).ok());
  std::ifstream again(path, std::ios::binary);
  const std::string second((std::istreambuf_iterator<char>(again)),
                           std::istreambuf_iterator<char>());
  EXPECT_EQ(first, second);
  EXPECT_FALSE(WriteTfliteFile(good, dir + "/missing/model.tflite").ok());
  std::string listing;
  testing::RunCommand("ls -A '" + dir + "'", &listing);
  EXPECT_EQ(listing, "model.tflite\n");
  testing::RunCommand("rm -rf '" + dir + "'");
}

}  // namespace
}  // namespace edgeopt

namespace edgeopt {
namespace {

TEST(TfliteExport, SparseTensorsRoundTrip) {
  ir::Graph g = Parse(
      "graph inputs(%0) outputs(%2)\n"
      "%0 = tensor \"x\" float32[1,4]\n"
      "%1 = const \"w\" float32[4,4] sparse_order=[0,1] sparse_block_map=[] "
      "sparse_dims=[dense(4),csr([0,1,2,3,300],[1,0,3,2])] values=[1,2,3,4]\n"
      "%2 = tensor \"y\" float32[1,4]\n%2 = FULLY_CONNECTED(%0, %1, _)\n");
  StatusOr<std::vector<uint8_t>> bytes = ExportTflite(g);
  ASSERT_TRUE(bytes.ok()) << bytes.status().ToString();
  const tflite::Model* m = tflite::GetModel(bytes->data());
  EXPECT_EQ(m->operator_codes()->Get(0)->version(), 8);  // sparse weights
  const auto* sp = m->subgraphs()->Get(0)->tensors()->Get(1)->sparsity();
  ASSERT_NE(sp, nullptr);
  const auto* dim1 = sp->dim_metadata()->Get(1);
  EXPECT_EQ(dim1->format(), tflite::DimensionType::SPARSE_CSR);
  EXPECT_EQ(dim1->array_segments_type(),
            tflite::SparseIndexVector::Uint16Vector);  // 300 > 255
  EXPECT_EQ(dim1->array_indices_type(), tflite::SparseIndexVector::Uint8Vector);
  StatusOr<ir::Graph> back = ImportTflite(bytes->data(), bytes->size());
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  ir::Graph expected = g;
  expected.nodes[0].version = 8;
  expected.description = "edgeopt";
  back->nodes[0].attrs.clear();  // the importer lists every option field
  EXPECT_EQ(ir::PrintGraph(*back), ir::PrintGraph(expected));
}

}  // namespace
}  // namespace edgeopt
