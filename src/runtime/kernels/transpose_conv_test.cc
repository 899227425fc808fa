#include <gtest/gtest.h>

#include "src/runtime/kernels/conv_test_util.h"

namespace edgeopt {
namespace testing {
namespace {

using conv::OpConfig;
using conv::Variant;
using tflite::Padding;

using conv::RunOne;
using conv::TransposeConvOptions;

constexpr auto kTransposeConv = tflite::BuiltinOperator::TRANSPOSE_CONV;

// A float TRANSPOSE_CONV of a 1x2x2x1 input [1, 2, 3, 4] with a 2x2 filter.
std::vector<float> RunFloatTransposeConv(const std::vector<float>& filter, int stride,
                                         Padding padding, int out_h, int out_w) {
  ModelBuilder m;
  const int shape = m.AddConstant<int32_t>(DType::kInt32, {4}, {1, out_h, out_w, 1});
  const int w = m.AddConstant<float>(DType::kFloat32, {1, 2, 2, 1}, filter);
  const int x = m.AddInput(DType::kFloat32, {1, 2, 2, 1});
  const int y = m.AddOutput(DType::kFloat32, {1, out_h, out_w, 1});
  m.AddOperator(kTransposeConv, {shape, w, x}, {y}, TransposeConvOptions(padding, stride, stride));
  return RunOne<float>(m.Build(), MakeArray<float>(DType::kFloat32, {1, 2, 2, 1}, {1, 2, 3, 4}),
                       /*also_tflite=*/true);
}

TEST(TransposeConvFloat, GoldenStride2ScattersBlocks) {
  // Each input value v writes v * [[1, 2], [3, 4]] into its own 2x2 block.
  EXPECT_EQ(RunFloatTransposeConv({1, 2, 3, 4}, 2, Padding::VALID, 4, 4),
            (std::vector<float>{1, 2, 2, 4, 3, 4, 6, 8, 3, 6, 4, 8, 9, 12, 12, 16}));
}

TEST(TransposeConvFloat, GoldenStride1Overlaps) {
  // Ones filter, stride 1: out(y, x) sums the inputs (iy, ix) with iy in {y-1, y}, ix in {x-1, x}.
  EXPECT_EQ(RunFloatTransposeConv({1, 1, 1, 1}, 1, Padding::VALID, 3, 3),
            (std::vector<float>{1, 3, 2, 4, 10, 6, 3, 7, 4}));
}

TEST(TransposeConvFloat, GoldenSamePaddingCropsBottomRight) {
  // SAME with output 2x2: TFLite's padding (total 1, all at the bottom/right) keeps the top-left
  // 2x2 of the VALID result.
  EXPECT_EQ(RunFloatTransposeConv({1, 1, 1, 1}, 1, Padding::SAME, 2, 2),
            (std::vector<float>{1, 3, 4, 10}));
}

TEST(TransposeConvFloat, GoldenBias) {
  ModelBuilder m;
  const int shape = m.AddConstant<int32_t>(DType::kInt32, {4}, {1, 2, 2, 2});
  const int w = m.AddConstant<float>(DType::kFloat32, {2, 1, 1, 1}, {1, -1});
  const int x = m.AddInput(DType::kFloat32, {1, 2, 2, 1});
  const int b = m.AddConstant<float>(DType::kFloat32, {2}, {10, 20});
  const int y = m.AddOutput(DType::kFloat32, {1, 2, 2, 2});
  m.AddOperator(kTransposeConv, {shape, w, x, b}, {y}, TransposeConvOptions(Padding::VALID, 1, 1),
                3);
  EXPECT_EQ(RunOne<float>(m.Build(), MakeArray<float>(DType::kFloat32, {1, 2, 2, 1}, {1, 2, 3, 4}),
                          /*also_tflite=*/true),
            (std::vector<float>{11, 19, 12, 18, 13, 17, 14, 16}));
}

// Multiplier 1/16 on ties -24, 24: TFLite's TRANSPOSE_CONV requantizes with the reference rounding
// (ties away from zero): -2 and 2, plus the zero point 3.
TEST(TransposeConvInt8, GoldenRoundsTiesAwayFromZero) {
  ModelBuilder m;
  const int shape = m.AddConstant<int32_t>(DType::kInt32, {4}, {1, 1, 2, 1});
  const int w = m.AddConstant<int8_t>(DType::kInt8, {1, 1, 1, 1}, {1}, {1.0f}, {0}, 0);
  const int x = m.AddInput(DType::kInt8, {1, 1, 2, 1}, {1.0f}, {0});
  const int b = m.AddConstant<int32_t>(DType::kInt32, {1}, {0}, {1.0f}, {0});
  const int y = m.AddOutput(DType::kInt8, {1, 1, 2, 1}, {16.0f}, {3});
  m.AddOperator(kTransposeConv, {shape, w, x, b}, {y}, TransposeConvOptions(Padding::VALID, 1, 1),
                3);
  EXPECT_EQ(RunOne<int8_t>(m.Build(), MakeArray<int8_t>(DType::kInt8, {1, 1, 2, 1}, {-24, 24}),
                           /*also_tflite=*/true),
            (std::vector<int8_t>{1, 5}));
}

TEST(TransposeConvInt16x8, GoldenWithoutBiasUsesInt32Path) {
  // Multiplier 0.125, accumulator -8988 = -1123.5: without a bias TFLite 2.9 rounds with the 32-bit
  // double rounding (-1124); with an int64 bias 0 it uses the int64 path (-1123).
  for (bool with_bias : {false, true}) {
    ModelBuilder m;
    const int shape = m.AddConstant<int32_t>(DType::kInt32, {4}, {1, 1, 1, 1});
    const int w = m.AddConstant<int8_t>(DType::kInt8, {1, 1, 1, 1}, {3}, {0.25f}, {0}, 0);
    const int x = m.AddInput(DType::kInt16, {1, 1, 1, 1}, {0.5f}, {0});
    std::vector<int> inputs = {shape, w, x};
    if (with_bias) {
      inputs.push_back(m.AddConstant<int64_t>(DType::kInt64, {1}, {0}, {0.125f}, {0}));
    }
    const int y = m.AddOutput(DType::kInt16, {1, 1, 1, 1}, {1.0f}, {0});
    m.AddOperator(kTransposeConv, inputs, {y}, TransposeConvOptions(Padding::VALID, 1, 1), 3);
    EXPECT_EQ(RunOne<int16_t>(m.Build(), MakeArray<int16_t>(DType::kInt16, {1, 1, 1, 1}, {-2996}),
                              /*also_tflite=*/true),
              (std::vector<int16_t>{static_cast<int16_t>(with_bias ? -1123 : -1124)}));
  }
}

TEST(TransposeConvErrors, BadOutputShapeAndOptions) {
  auto model = [](std::vector<int32_t> shape_values, bool constant_shape, int in_c, bool options) {
    ModelBuilder m;
    const int shape = constant_shape ? m.AddConstant<int32_t>(DType::kInt32, {4}, shape_values)
                                     : m.AddInput(DType::kInt32, {4});
    const int w = m.AddConstant<float>(DType::kFloat32, {2, 3, 3, 3}, std::vector<float>(54));
    const int x = m.AddInput(DType::kFloat32, {1, 4, 4, in_c});
    const int y = m.AddOutput(DType::kFloat32, {1, 8, 8, 2});
    m.AddOperator(kTransposeConv, {shape, w, x}, {y},
                  options ? TransposeConvOptions(Padding::SAME, 2, 2) : OptionsFn(nullptr));
    return m.Build();
  };
  conv::ExpectPrepareError(model({1, 8, 8, 2}, false, 3, true), StatusCode::kUnsupported,
                           "only a constant output shape is supported");
  conv::ExpectPrepareError(model({2, 8, 8, 2}, true, 3, true), StatusCode::kInvalidModel,
                           "output_shape batch 2 differs from the input batch 1");
  conv::ExpectPrepareError(model({1, 8, 8, 5}, true, 3, true), StatusCode::kInvalidModel,
                           "output_shape has 5 channels, the filter has 2");
  conv::ExpectPrepareError(model({1, 8, 8, 2}, true, 4, true), StatusCode::kInvalidModel,
                           "filter has 3 input channels, input has 4");
  conv::ExpectPrepareError(model({1, 8, 8, 2}, true, 3, false), StatusCode::kInvalidModel,
                           "TransposeConvOptions are missing");
  EXPECT_TRUE(conv::PrepareStatus(model({1, 8, 8, 2}, true, 3, true)).ok());
}

std::vector<OpConfig> TransposeConvConfigs(Variant v) {
  std::vector<OpConfig> configs;
  uint32_t seed = 300;
  auto add = [&](int batch, int h, int w, int in_c, int fh, int fw, int out_c, int stride,
                 Padding pad, int out_h, int out_w) {
    OpConfig c;
    c.op = tflite::BuiltinOperator::TRANSPOSE_CONV;
    c.variant = v;
    c.batch = batch;
    c.in_h = h;
    c.in_w = w;
    c.in_c = in_c;
    c.filter_h = fh;
    c.filter_w = fw;
    c.out_c = out_c;
    c.stride_h = c.stride_w = stride;
    c.padding = pad;
    c.out_h = out_h;
    c.out_w = out_w;
    c.seed = seed++;
    configs.push_back(c);
  };
  add(1, 4, 4, 3, 3, 3, 5, 2, Padding::SAME, 8, 8);
  add(2, 3, 5, 4, 3, 3, 2, 1, Padding::VALID, 5, 7);
  add(1, 5, 5, 8, 4, 4, 6, 2, Padding::SAME, 10, 10);
  add(1, 4, 3, 2, 2, 2, 3, 2, Padding::VALID, 8, 6);
  add(1, 3, 3, 16, 3, 3, 8, 3, Padding::SAME, 9, 9);
  add(1, 4, 4, 3, 3, 3, 5, 2, Padding::SAME, 7, 7);  // odd output size
  configs[1].bias = false;
  return configs;
}

TEST(TransposeConvAgreement, AllVariantsMatchTflite) {
  if (!TfliteRefAvailable()) GTEST_SKIP() << "tflite-ref unavailable";
  for (Variant v : {Variant::kFloat, Variant::kInt8PerChannel, Variant::kInt8PerTensor,
                    Variant::kUInt8, Variant::kInt16x8}) {
    conv::LsbHistogram hist;
    for (const OpConfig& c : TransposeConvConfigs(v)) {
      conv::ExpectAgreesWithTflite(c, conv::ToleranceFor(v), &hist);
    }
    std::printf("[ TRANSPOSE_CONV %-18s ] |ours - tflite| histogram (LSB:count): %s\n",
                conv::VariantName(v), hist.ToString().c_str());
  }
}

}  // namespace
}  // namespace testing
}  // namespace edgeopt
