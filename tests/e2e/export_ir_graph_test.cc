// Graphs written as IR text (as the converter and passes build them: version 0,
// only the attributes they care about) export to files the official TFLite 2.9
// runtime loads and computes as expected.
#include <gtest/gtest.h>

#include <cmath>

#include "src/export/tflite/export.h"
#include "src/ir/shape_inference.h"
#include "src/ir/text.h"
#include "tests/model_builder.h"

namespace edgeopt {
namespace {

TEST(ExportIrGraph, FloatConvNetRunsInTflite) {
  if (!testing::TfliteRefAvailable()) GTEST_SKIP() << "tflite-ref is not available";
  // Zero weights: the softmax sees only the dense bias [1, 2, 3, 4].
  StatusOr<ir::Graph> g = ir::ParseGraph(
      R"(graph inputs(%0) outputs(%9) input_names("image") output_names("probs")
%0 = tensor "image" float32[1,8,8,3]
%1 = const "conv/kernel" float32[4,3,3,3]
%2 = const "conv/bias" float32[4] values=[0,0,0,0]
%3 = tensor "conv" float32[]
%4 = const "shape" int32[2] values=[1,-1]
%5 = tensor "flat" float32[]
%6 = const "dense/kernel" float32[4,36]
%7 = const "dense/bias" float32[4] values=[1,2,3,4]
%8 = tensor "logits" float32[]
%9 = tensor "probs" float32[]
%3 = CONV_2D(%0, %1, %2) {fused_activation_function="RELU", padding="VALID", stride_h=2, stride_w=2}
%5 = RESHAPE(%3, %4)
%8 = FULLY_CONNECTED(%5, %6, %7)
%9 = SOFTMAX(%8) {beta=1.0}
)");
  ASSERT_TRUE(g.ok()) << g.status().ToString();
  ASSERT_TRUE(ir::InferShapes(&*g).ok());
  EXPECT_EQ(g->tensors[3].shape, std::vector<int32_t>({1, 3, 3, 4}));
  EXPECT_EQ(g->tensors[5].shape, std::vector<int32_t>({1, 36}));
  EXPECT_EQ(g->tensors[9].shape, std::vector<int32_t>({1, 4}));

  StatusOr<std::vector<uint8_t>> model = ExportTflite(*g);
  ASSERT_TRUE(model.ok()) << model.status().ToString();
  const NpyArray input = testing::RandomArray(DType::kFloat32, {1, 8, 8, 3}, 7);
  StatusOr<std::vector<NpyArray>> out = testing::RunTfliteRef(*model, {input});
  ASSERT_TRUE(out.ok()) << out.status().ToString();
  ASSERT_EQ(out->size(), 1u);
  const std::vector<float> probs = testing::ToVector<float>((*out)[0]);
  ASSERT_EQ(probs.size(), 4u);
  double sum = 0;
  for (int i = 0; i < 4; ++i) sum += std::exp(i + 1.0);
  for (int i = 0; i < 4; ++i) EXPECT_NEAR(probs[i], std::exp(i + 1.0) / sum, 1e-6) << i;
}

TEST(ExportIrGraph, Int8FullyConnectedRunsInTflite) {
  if (!testing::TfliteRefAvailable()) GTEST_SKIP() << "tflite-ref is not available";
  // y = x * w^T + b in int8: x=[10,20] (scale 0.5), w=[[1,2],[3,-4]] (scale
  // 0.25), b = [8,-8] (scale 0.125), y scale 0.25 zero point -10.
  StatusOr<ir::Graph> g = ir::ParseGraph(R"(graph inputs(%0) outputs(%3)
%0 = tensor "x" int8[1,2] scale=0.5 zero_point=0
%1 = const "w" int8[2,2] scale=0.25 zero_point=0 values=[1,2,3,-4]
%2 = const "b" int32[2] scale=0.125 zero_point=0 values=[8,-8]
%3 = tensor "y" int8[1,2] scale=0.25 zero_point=-10
%3 = FULLY_CONNECTED(%0, %1, %2)
)");
  ASSERT_TRUE(g.ok()) << g.status().ToString();
  StatusOr<std::vector<uint8_t>> model = ExportTflite(*g);
  ASSERT_TRUE(model.ok()) << model.status().ToString();
  const NpyArray x = testing::MakeArray<int8_t>(DType::kInt8, {1, 2}, {10, 20});
  StatusOr<std::vector<NpyArray>> out = testing::RunTfliteRef(*model, {x});
  ASSERT_TRUE(out.ok()) << out.status().ToString();
  const std::vector<int8_t> y = testing::ToVector<int8_t>((*out)[0]);
  ASSERT_EQ(y.size(), 2u);
  // acc0 = 10*1 + 20*2 + 8 = 58 (scale 0.125) -> 7.25 -> 29 + (-10) = 19
  // acc1 = 10*3 - 20*4 - 8 = -58 -> -7.25 -> -29 - 10 = -39
  EXPECT_EQ(y[0], 19);
  EXPECT_EQ(y[1], -39);
}

}  // namespace
}  // namespace edgeopt
