// TFLM's person_detect.tflite gives its per-channel biases (rank 1) quantized_dimension 3. TFLM
// runs the model and TFLite 2.9 refuses it; edgeopt reads the axis as 0 (the only one a rank-1
// tensor has). The check: edgeopt on the file as it is against TFLite on a copy whose axes are
// set to 0, on the same inputs; every output bit-exact.
#include <gtest/gtest.h>

#include <cstring>
#include <filesystem>

#include "schema/tflite_generated.h"
#include "src/util/file_util.h"
#include "tests/model_builder.h"
#include "tests/test_util.h"

namespace edgeopt {
namespace testing {
namespace {

// Sets quantized_dimension to 0 in place for rank-1 tensors with several scales; returns how many.
int PatchRank1Axes(std::vector<uint8_t>* bytes) {
  const tflite::Model* model = tflite::GetModel(bytes->data());
  int patched = 0;
  for (const tflite::SubGraph* sg : *model->subgraphs()) {
    for (const tflite::Tensor* t : *sg->tensors()) {
      const tflite::QuantizationParameters* q = t->quantization();
      if (q == nullptr || q->scale() == nullptr || q->scale()->size() < 2) continue;
      if (t->shape() == nullptr || t->shape()->size() != 1 || q->quantized_dimension() == 0) {
        continue;
      }
      const uint8_t* field = reinterpret_cast<const flatbuffers::Table*>(q)->GetAddressOf(
          tflite::QuantizationParameters::VT_QUANTIZED_DIMENSION);
      if (field == nullptr) continue;
      const int32_t zero = 0;
      std::memcpy(bytes->data() + (field - bytes->data()), &zero, sizeof(zero));
      ++patched;
    }
  }
  return patched;
}

TEST(Rank1Axis, PersonDetectRunsAsTfliteRunsItsAxisFixedCopy) {
  const std::string path = CorpusPath("tflite-micro/person_detect.tflite");
  if (!std::filesystem::exists(path) || !TfliteRefAvailable()) GTEST_SKIP();
  StatusOr<std::vector<uint8_t>> original = ReadFileBytes(path);
  ASSERT_TRUE(original.ok());
  std::vector<uint8_t> fixed = *original;
  EXPECT_EQ(PatchRank1Axes(&fixed), 14);  // 14 of its 28 convolution biases
  for (uint32_t seed : {1u, 2u, 3u}) {
    const std::vector<NpyArray> inputs = {
        RandomArray(DType::kInt8, {1, 96, 96, 1}, seed, -128, 127)};
    StatusOr<std::vector<NpyArray>> ours = RunEdgeopt(*original, inputs);
    ASSERT_TRUE(ours.ok()) << ours.status().ToString();
    StatusOr<std::vector<NpyArray>> theirs = RunTfliteRef(fixed, inputs);
    ASSERT_TRUE(theirs.ok()) << theirs.status().ToString();
    ExpectAllClose(*ours, *theirs, Tolerance{0, 0, 0});
  }
  // TFLite refuses the file as it is; so did edgeopt before.
  EXPECT_FALSE(RunTfliteRef(*original, {RandomArray(DType::kInt8, {1, 96, 96, 1}, 1)}).ok());
}

}  // namespace
}  // namespace testing
}  // namespace edgeopt
