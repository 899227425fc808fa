#include <gtest/gtest.h>

#include "tests/model_builder.h"

namespace edgeopt {
namespace testing {
namespace {

std::vector<uint8_t> AddModel(const std::vector<int32_t>& a, const std::vector<int32_t>& b,
                              const std::vector<int32_t>& out, tflite::ActivationFunctionType act) {
  ModelBuilder m;
  const int x = m.AddInput(DType::kFloat32, a);
  const int y = m.AddInput(DType::kFloat32, b);
  const int z = m.AddOutput(DType::kFloat32, out);
  m.AddOperator(tflite::BuiltinOperator::ADD, {x, y}, {z}, [act](flatbuffers::FlatBufferBuilder& fb) {
    return MakeOptions(tflite::BuiltinOptions::AddOptions, tflite::CreateAddOptions(fb, act));
  });
  return m.Build();
}

TEST(AddFloat, Golden) {
  auto model = AddModel({1, 3}, {1, 3}, {1, 3}, tflite::ActivationFunctionType::RELU6);
  auto out = RunEdgeopt(model, {MakeArray<float>(DType::kFloat32, {1, 3}, {1.5f, -2.0f, 5.0f}),
                                MakeArray<float>(DType::kFloat32, {1, 3}, {1.0f, 1.0f, 2.0f})});
  ASSERT_TRUE(out.ok()) << out.status().message();
  EXPECT_EQ(ToVector<float>((*out)[0]), (std::vector<float>{2.5f, 0.0f, 6.0f}));
}

TEST(AddFloat, BroadcastMatchesTflite) {
  if (!TfliteRefAvailable()) GTEST_SKIP() << "tflite-ref unavailable";
  const std::vector<std::vector<int32_t>> shapes[] = {
      {{2, 3, 4}, {4}, {2, 3, 4}}, {{2, 1, 4}, {1, 3, 1}, {2, 3, 4}}, {{5}, {5}, {5}}};
  uint32_t seed = 1;
  for (const auto& s : shapes) {
    auto model = AddModel(s[0], s[1], s[2], tflite::ActivationFunctionType::NONE);
    std::vector<NpyArray> in = {RandomArray(DType::kFloat32, s[0], seed++),
                                RandomArray(DType::kFloat32, s[1], seed++)};
    auto ours = RunEdgeopt(model, in);
    auto ref = RunTfliteRef(model, in);
    ASSERT_TRUE(ours.ok()) << ours.status().message();
    ASSERT_TRUE(ref.ok()) << ref.status().message();
    ExpectAllClose(*ours, *ref, Tolerance{1e-6, 1e-6, 0});
  }
}

}  // namespace
}  // namespace testing
}  // namespace edgeopt
