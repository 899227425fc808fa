#include "src/export/tflm/lut_compress.h"

#include <gtest/gtest.h>

#include <set>
#include <string>
#include <vector>

#include "schema/tflite_generated.h"
#include "schema/tflm_compression_generated.h"
#include "src/export/tflm/tflm_export.h"
#include "src/util/file_util.h"
#include "tests/model_builder.h"
#include "tests/test_util.h"

namespace edgeopt {
namespace tflm {
namespace {

using testing::ModelBuilder;

// The bit strings of TFLM's docs/compression.md.
TEST(LutCompress, PacksIndicesAsTflmDocuments) {
  EXPECT_EQ(PackLutIndices({7, 0, 3, 2}, 3), (std::vector<uint8_t>{0xE1, 0xA0}));
  EXPECT_EQ(PackLutIndices({1, 3, 3, 2, 4, 5, 0, 2, 1, 3}, 3),
            (std::vector<uint8_t>{0x2D, 0xA9, 0x42, 0x2C}));
  EXPECT_EQ(PackLutIndices({2, 3, 3, 1, 0, 3, 0, 1, 2, 4}, 3),
            (std::vector<uint8_t>{0x4D, 0x90, 0xC1, 0x50}));
  EXPECT_EQ(PackLutIndices({1, 0, 1, 1, 0, 0, 0, 1, 1}, 1), (std::vector<uint8_t>{0xB1, 0x80}));
}

// int8 weights with `values` distinct values per output channel (each channel its own set).
std::vector<int8_t> FewValues(int channels, int per_channel, int values, uint32_t seed) {
  std::vector<int8_t> w(static_cast<size_t>(channels) * per_channel);
  for (size_t i = 0; i < w.size(); ++i) {
    const int c = static_cast<int>(i) / per_channel;
    const uint32_t h = (static_cast<uint32_t>(i) * 2654435761u) ^ seed;
    w[i] = static_cast<int8_t>(((h >> 7) % values) * 9 - 60 + c);
  }
  return w;
}

// FULLY_CONNECTED (per-channel int8, 4 values a channel), DEPTHWISE_CONV_2D (per-channel along
// the last axis, 2 values) and a FULLY_CONNECTED whose weights have all 256 values.
std::vector<uint8_t> SmallModel() {
  ModelBuilder b;
  const int in = b.AddInput(DType::kInt8, {1, 4, 4, 8}, {0.05f}, {-3});
  std::vector<float> dw_scales(8, 0.01f), fc_scales(16, 0.02f);
  const int dw_w = b.AddConstant(DType::kInt8, {1, 3, 3, 8}, FewValues(1, 72, 2, 7), dw_scales,
                                 std::vector<int64_t>(8, 0), 3);
  const int dw_out = b.AddTensor(DType::kInt8, {1, 4, 4, 8}, {0.1f}, {2});
  b.AddOperator(
      tflite::BuiltinOperator::DEPTHWISE_CONV_2D, {in, dw_w, -1}, {dw_out},
      [](flatbuffers::FlatBufferBuilder& fb) {
        return testing::MakeOptions(
            tflite::BuiltinOptions::DepthwiseConv2DOptions,
            tflite::CreateDepthwiseConv2DOptions(fb, tflite::Padding::SAME, 1, 1, 1));
      },
      2);
  const int flat = b.AddTensor(DType::kInt8, {1, 128}, {0.1f}, {2});
  const int shape = b.AddConstant(DType::kInt32, {2}, std::vector<int32_t>{1, 128});
  b.AddOperator(tflite::BuiltinOperator::RESHAPE, {dw_out, shape}, {flat});
  const int fc_w = b.AddConstant(DType::kInt8, {16, 128}, FewValues(16, 128, 4, 3), fc_scales,
                                 std::vector<int64_t>(16, 0), 0);
  const int fc_out = b.AddTensor(DType::kInt8, {1, 16}, {0.2f}, {-1});
  b.AddOperator(tflite::BuiltinOperator::FULLY_CONNECTED, {flat, fc_w, -1}, {fc_out});
  std::vector<int8_t> dense(16 * 10);
  for (size_t i = 0; i < dense.size(); ++i) dense[i] = static_cast<int8_t>(i * 37 + 11);
  const int fc2_w = b.AddConstant(DType::kInt8, {10, 16}, dense, {0.02f}, {0});
  const int out = b.AddOutput(DType::kInt8, {1, 10}, {0.3f}, {0});
  b.AddOperator(tflite::BuiltinOperator::FULLY_CONNECTED, {fc_out, fc2_w, -1}, {out});
  return b.Build();
}

TEST(LutCompress, CompressesWhatPaysAndRunsTheSame) {
  const std::vector<uint8_t> model = SmallModel();
  StatusOr<LutResult> r = CompressLut(model.data(), model.size());
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  // The depthwise and the first dense kernel; not the 10x16 one (over 128 values), nor the
  // RESHAPE shape (not read by a decompressing kernel).
  ASSERT_EQ(r->tensors.size(), 2u);
  EXPECT_EQ(r->considered, 3);
  const LutTensorInfo& dw = r->tensors[0];
  EXPECT_EQ(dw.bits, 1);
  EXPECT_EQ(dw.values, 2);
  EXPECT_EQ(dw.channels, 8);
  EXPECT_EQ(dw.bytes_before, 72u);
  EXPECT_EQ(dw.bytes_after, 72u / 8 + 8u * 2);  // 1-bit indices, a table of 2 per channel
  const LutTensorInfo& fc = r->tensors[1];
  EXPECT_EQ(fc.bits, 2);
  EXPECT_EQ(fc.values, 4);
  EXPECT_EQ(fc.channels, 16);
  EXPECT_EQ(fc.bytes_after, 16u * 128 * 2 / 8 + 16u * 4);
  EXPECT_LT(r->model.size(), model.size());

  // The metadata names the same tensors, and the runtime decodes them to the same outputs.
  const tflite::Model* m = tflite::GetModel(r->model.data());
  const tflite::Metadata* entry = nullptr;
  for (const tflite::Metadata* md : *m->metadata()) {
    if (md->name()->str() == "COMPRESSION_METADATA") entry = md;
  }
  ASSERT_NE(entry, nullptr);
  const auto* meta =
      tflite::micro::compression::GetMetadata(m->buffers()->Get(entry->buffer())->data()->data());
  ASSERT_EQ(meta->subgraphs()->size(), 1u);
  std::set<int> named;
  for (const auto* l : *meta->subgraphs()->Get(0)->lut_tensors()) named.insert(l->tensor());
  EXPECT_EQ(named, (std::set<int>{dw.tensor, fc.tensor}));
  for (uint32_t seed : {1u, 2u, 3u}) {
    const std::vector<NpyArray> in = {testing::RandomArray(DType::kInt8, {1, 4, 4, 8}, seed)};
    StatusOr<std::vector<NpyArray>> a = testing::RunEdgeopt(model, in);
    StatusOr<std::vector<NpyArray>> b = testing::RunEdgeopt(r->model, in);
    ASSERT_TRUE(a.ok() && b.ok()) << b.status().ToString();
    testing::ExpectAllClose(*b, *a, testing::Tolerance{0, 0, 0});
  }
  // TFLM's view: the decoded copies live during their operators.
  StatusOr<TflmReport> report = AnalyzeForTflm(r->model.data(), r->model.size());
  ASSERT_TRUE(report.ok());
  EXPECT_EQ(report->lut_tensors, 2);
  EXPECT_EQ(report->lut_scratch_bytes, 16u * 128);
  // Once is enough.
  StatusOr<LutResult> again = CompressLut(r->model.data(), r->model.size());
  ASSERT_FALSE(again.ok());
  EXPECT_NE(again.status().ToString().find("LUT-compressed already"), std::string::npos);
}

TEST(LutCompress, MaxDecodedBytesKeepsLargeTensors) {
  const std::vector<uint8_t> model = SmallModel();
  LutOptions o;
  o.max_decoded_bytes = 1000;  // the 2,048-byte dense kernel stays
  StatusOr<LutResult> r = CompressLut(model.data(), model.size(), o);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->too_large, 1);
  // The 72-byte depthwise kernel alone saves less than its table, metadata and alignment cost:
  // the model comes back as it was.
  EXPECT_TRUE(r->tensors.empty());
  EXPECT_EQ(r->not_smaller, 1);
  EXPECT_EQ(r->model, model);
}

TEST(LutCompress, OnlyTheNamedTensors) {
  const std::vector<uint8_t> model = SmallModel();
  StatusOr<LutResult> all = CompressLut(model.data(), model.size());
  ASSERT_TRUE(all.ok());
  ASSERT_EQ(all->tensors.size(), 2u);
  LutOptions o;
  o.only = {{all->tensors[1].subgraph, all->tensors[1].tensor}};  // the dense kernel
  StatusOr<LutResult> one = CompressLut(model.data(), model.size(), o);
  ASSERT_TRUE(one.ok());
  ASSERT_EQ(one->tensors.size(), 1u);
  EXPECT_EQ(one->tensors[0].tensor, all->tensors[1].tensor);
  // Within an arena limit: the plain model's own arena leaves no room for the 2,048-byte decoded
  // dense kernel beside its 128-byte input; twice that takes both.
  StatusOr<TflmReport> plain = AnalyzeForTflm(model.data(), model.size());
  ASSERT_TRUE(plain.ok());
  int left_out = -1;
  StatusOr<LutResult> tight =
      CompressLutWithinArena(model.data(), model.size(), {}, plain->arena_hint, &left_out);
  ASSERT_TRUE(tight.ok());
  StatusOr<TflmReport> tight_report = AnalyzeForTflm(tight->model.data(), tight->model.size());
  ASSERT_TRUE(tight_report.ok());
  EXPECT_LE(tight_report->arena_hint, plain->arena_hint);
  EXPECT_EQ(left_out + static_cast<int>(tight->tensors.size()), 2);
  StatusOr<LutResult> roomy = CompressLutWithinArena(model.data(), model.size(), {},
                                                     2 * plain->arena_hint + 4096, &left_out);
  ASSERT_TRUE(roomy.ok());
  EXPECT_EQ(roomy->tensors.size(), 2u);
  EXPECT_EQ(left_out, 0);
}

TEST(LutCompress, DamagedValueTablesAreRefusedAtLoad) {
  const std::vector<uint8_t> model = SmallModel();
  StatusOr<LutResult> r = CompressLut(model.data(), model.size());
  ASSERT_TRUE(r.ok());
  // Change the index width in the metadata: the index bytes no longer match the shape.
  std::vector<uint8_t> bad = r->model;
  const tflite::Model* m = tflite::GetModel(bad.data());
  for (const tflite::Metadata* md : *m->metadata()) {
    if (md->name()->str() != "COMPRESSION_METADATA") continue;
    const auto* bytes = m->buffers()->Get(md->buffer())->data();
    const auto* meta = tflite::micro::compression::GetMetadata(bytes->data());
    const auto* lut = meta->subgraphs()->Get(0)->lut_tensors()->Get(0);
    const uint8_t* field = reinterpret_cast<const flatbuffers::Table*>(lut)->GetAddressOf(
        tflite::micro::compression::LutTensor::VT_INDEX_BITWIDTH);
    ASSERT_NE(field, nullptr);
    bad[static_cast<size_t>(field - bad.data())] = 5;
  }
  StatusOr<std::vector<NpyArray>> run =
      testing::RunEdgeopt(bad, {testing::RandomArray(DType::kInt8, {1, 4, 4, 8}, 1)});
  ASSERT_FALSE(run.ok());
  EXPECT_NE(run.status().ToString().find("LUT data does not fit the tensor: 72 elements, 8 "
                                         "channels, 5-bit indices in 9 bytes"),
            std::string::npos)
      << run.status().ToString();
}

// Found by fuzz/tflm_export_fuzz, two inputs; both are now refused before copying.
//  - An operator whose builtin_options_type is beyond the schema's union passes the model
//    verifier (a later schema's options); the schema-driven copy looked its type up out of range.
//  - A union value whose type field says NONE (its schema entry has no table).
TEST(LutCompress, UnknownUnionTypeIsAnError) {
  for (const char* name : {"unknown_union_type.tflite", "union_value_with_type_none.tflite"}) {
    StatusOr<std::vector<uint8_t>> bytes =
        ReadFileBytes(testing::SourceDir() + "/tests/data/fuzz_regressions/" + name);
    ASSERT_TRUE(bytes.ok()) << bytes.status().ToString();
    StatusOr<LutResult> r = CompressLut(bytes->data(), bytes->size());
    ASSERT_FALSE(r.ok()) << name;
    EXPECT_NE(r.status().ToString().find("does not match the TFLite schema"), std::string::npos)
        << name << ": " << r.status().ToString();
  }
}

// Found by fuzz/tflm_export_fuzz: a constant whose shape multiplies past int64 (undefined
// behaviour in the element count). Its two small compressible tensors would also have made the
// file larger, so it comes back as it was.
TEST(LutCompress, HugeShapeAndNoSavingKeepTheModel) {
  StatusOr<std::vector<uint8_t>> bytes = ReadFileBytes(
      testing::SourceDir() + "/tests/data/fuzz_regressions/huge_constant_shape.tflite");
  ASSERT_TRUE(bytes.ok());
  StatusOr<LutResult> r = CompressLut(bytes->data(), bytes->size());
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->model, *bytes);
  EXPECT_TRUE(r->tensors.empty());
  EXPECT_EQ(r->not_smaller, 2);
}

}  // namespace
}  // namespace tflm
}  // namespace edgeopt
