#include <gtest/gtest.h>

#include "src/runtime/kernels/conv_test_util.h"

namespace edgeopt {
namespace testing {
namespace {

using conv::OpConfig;
using conv::Variant;
using Act = tflite::ActivationFunctionType;
using tflite::Padding;

using conv::DepthwiseOptions;
using conv::RunOne;

constexpr auto kDepthwise = tflite::BuiltinOperator::DEPTHWISE_CONV_2D;

TEST(DepthwiseConv2DFloat, GoldenTwoChannels) {
  // Channel 0 is 1..9 with filter taps [1, 0, 0, 1] (in(y,x) + in(y+1,x+1)); channel 1 is all ones
  // with taps [1, 1, 1, 1] and bias -1.
  ModelBuilder m;
  const int x = m.AddInput(DType::kFloat32, {1, 3, 3, 2});
  const int w = m.AddConstant<float>(DType::kFloat32, {1, 2, 2, 2}, {1, 1, 0, 1, 0, 1, 1, 1});
  const int b = m.AddConstant<float>(DType::kFloat32, {2}, {0.0f, -1.0f});
  const int y = m.AddOutput(DType::kFloat32, {1, 2, 2, 2});
  m.AddOperator(kDepthwise, {x, w, b}, {y}, DepthwiseOptions(Padding::VALID, 1, 1, 1));
  std::vector<float> in;
  for (int i = 1; i <= 9; ++i) {
    in.push_back(static_cast<float>(i));
    in.push_back(1.0f);
  }
  const auto out = RunOne<float>(m.Build(), MakeArray<float>(DType::kFloat32, {1, 3, 3, 2}, in),
                                 /*also_tflite=*/true);
  EXPECT_EQ(out, (std::vector<float>{6, 3, 8, 3, 12, 3, 14, 3}));
}

TEST(DepthwiseConv2DFloat, GoldenDepthMultiplierFromShapes) {
  // Output channel ic * 2 + m reads input channel ic. The option says depth_multiplier 1 (stale, as
  // in some converted models): the filter shape decides.
  ModelBuilder m;
  const int x = m.AddInput(DType::kFloat32, {1, 1, 1, 2});
  const int w = m.AddConstant<float>(DType::kFloat32, {1, 1, 1, 4}, {1, 10, 100, 1000});
  const int b = m.AddConstant<float>(DType::kFloat32, {4}, {0, 0, 0, 0});
  const int y = m.AddOutput(DType::kFloat32, {1, 1, 1, 4});
  m.AddOperator(kDepthwise, {x, w, b}, {y}, DepthwiseOptions(Padding::VALID, 1, 1, 1));
  const auto out =
      RunOne<float>(m.Build(), MakeArray<float>(DType::kFloat32, {1, 1, 1, 2}, {2, 3}));
  EXPECT_EQ(out, (std::vector<float>{2, 20, 300, 3000}));
}

TEST(DepthwiseConv2DFloat, GoldenNoBiasSamePadding) {
  // 1x3 ones, SAME, no bias (TFLite 2.9 crashes on a depthwise node without bias, so this is
  // checked by hand only): edges sum two values.
  ModelBuilder m;
  const int x = m.AddInput(DType::kFloat32, {1, 1, 4, 1});
  const int w = m.AddConstant<float>(DType::kFloat32, {1, 1, 3, 1}, {1, 1, 1});
  const int y = m.AddOutput(DType::kFloat32, {1, 1, 4, 1});
  m.AddOperator(kDepthwise, {x, w}, {y}, DepthwiseOptions(Padding::SAME, 1, 1, 1));
  const auto out =
      RunOne<float>(m.Build(), MakeArray<float>(DType::kFloat32, {1, 1, 4, 1}, {1, 2, 4, 8}));
  EXPECT_EQ(out, (std::vector<float>{3, 7, 14, 12}));
}

// Multiplier 1/16: -24 and 24 are ties (-1.5, 1.5). TFLite's depthwise kernels requantize with the
// reference rounding, ties away from zero: -2 and 2 (unlike CONV_2D's ruy, -1).
TEST(DepthwiseConv2DInt8, GoldenRoundsTiesAwayFromZero) {
  ModelBuilder m;
  const int x = m.AddInput(DType::kInt8, {1, 1, 1, 2}, {1.0f}, {0});
  const int w = m.AddConstant<int8_t>(DType::kInt8, {1, 1, 1, 2}, {1, 1}, {1.0f, 1.0f}, {0, 0}, 3);
  const int b = m.AddConstant<int32_t>(DType::kInt32, {2}, {0, 0}, {1.0f, 1.0f}, {0, 0});
  const int y = m.AddOutput(DType::kInt8, {1, 1, 1, 2}, {16.0f}, {3});
  m.AddOperator(kDepthwise, {x, w, b}, {y}, DepthwiseOptions(Padding::VALID, 1, 1, 1), 3);
  const auto out =
      RunOne<int8_t>(m.Build(), MakeArray<int8_t>(DType::kInt8, {1, 1, 1, 2}, {-24, 24}),
                     /*also_tflite=*/true);
  EXPECT_EQ(out, (std::vector<int8_t>{1, 5}));
}

TEST(DepthwiseConv2DUInt8, GoldenSamePaddingSkipsPaddedTaps) {
  // Input zp 128, filter zp 120 (real weights [-1, 2, -1] * 0.5), output scale 1 zp 100. Input
  // reals (x - 128) * 1 = [2, -4, 6]. SAME 1x3: out0 = 2*2 - 4*(-1) = 8 ... all * 0.5.
  ModelBuilder m;
  const int x = m.AddInput(DType::kUInt8, {1, 1, 3, 1}, {1.0f}, {128});
  const int w =
      m.AddConstant<uint8_t>(DType::kUInt8, {1, 1, 3, 1}, {118, 124, 118}, {0.5f}, {120}, 3);
  const int b = m.AddConstant<int32_t>(DType::kInt32, {1}, {0}, {0.5f}, {0});
  const int y = m.AddOutput(DType::kUInt8, {1, 1, 3, 1}, {1.0f}, {100});
  m.AddOperator(kDepthwise, {x, w, b}, {y}, DepthwiseOptions(Padding::SAME, 1, 1, 1));
  const auto out =
      RunOne<uint8_t>(m.Build(), MakeArray<uint8_t>(DType::kUInt8, {1, 1, 3, 1}, {130, 124, 134}),
                      /*also_tflite=*/true);
  // acc (in weight units of 0.5): out0 = 2*4 + (-4)*(-2) = 16; out1 = 2*(-2) + (-4)*4 + 6*(-2) =
  // -32; out2 = (-4)*(-2) + 6*4 = 32. Times 0.5: 8, -16, 16; plus 100.
  EXPECT_EQ(out, (std::vector<uint8_t>{108, 84, 116}));
}

TEST(DepthwiseConv2DInt16x8, GoldenInt64Bias) {
  // Multiplier 0.125 with the int64 path: 3100 -> 387.5 -> 388, -8900 -> -1112.5 -> -1112.
  ModelBuilder m;
  const int x = m.AddInput(DType::kInt16, {1, 1, 2, 1}, {0.5f}, {0});
  const int w = m.AddConstant<int8_t>(DType::kInt8, {1, 1, 1, 1}, {3}, {0.25f}, {0}, 3);
  const int b = m.AddConstant<int64_t>(DType::kInt64, {1}, {100}, {0.125f}, {0});
  const int y = m.AddOutput(DType::kInt16, {1, 1, 2, 1}, {1.0f}, {0});
  m.AddOperator(kDepthwise, {x, w, b}, {y}, DepthwiseOptions(Padding::VALID, 1, 1, 1), 5);
  const auto out =
      RunOne<int16_t>(m.Build(), MakeArray<int16_t>(DType::kInt16, {1, 1, 2, 1}, {1000, -3000}),
                      /*also_tflite=*/true);
  EXPECT_EQ(out, (std::vector<int16_t>{388, -1112}));
}

TEST(DepthwiseConv2DHybrid, GoldenPerChannelAsymmetric) {
  // Input [0.5, -1] (2 channels): asymmetric scale 1.5/255, zero point 42, q = [127, -128]. Weights
  // [2, 4] with scales [0.25, 0.125]: out0 = 2*85 * 1.5/255 * 0.25 = 0.25, out1 = 4*(-170) *
  // 1.5/255 * 0.125 = -0.5; biases 1 and 0.
  ModelBuilder m;
  const int x = m.AddInput(DType::kFloat32, {1, 1, 1, 2});
  const int w =
      m.AddConstant<int8_t>(DType::kInt8, {1, 1, 1, 2}, {2, 4}, {0.25f, 0.125f}, {0, 0}, 3);
  const int b = m.AddConstant<float>(DType::kFloat32, {2}, {1.0f, 0.0f});
  const int y = m.AddOutput(DType::kFloat32, {1, 1, 1, 2});
  m.AddOperator(kDepthwise, {x, w, b}, {y}, DepthwiseOptions(Padding::VALID, 1, 1, 1), 6);
  const auto out =
      RunOne<float>(m.Build(), MakeArray<float>(DType::kFloat32, {1, 1, 1, 2}, {0.5f, -1.0f}),
                    /*also_tflite=*/true);
  ASSERT_EQ(out.size(), 2u);
  EXPECT_NEAR(out[0], 1.25f, 1e-6);
  EXPECT_NEAR(out[1], -0.5f, 1e-6);
}

TEST(DepthwiseConv2DErrors, BadShapesAndOptions) {
  auto model = [](std::vector<int32_t> in_shape, std::vector<int32_t> w_shape, bool options) {
    ModelBuilder m;
    const int x = m.AddInput(DType::kFloat32, in_shape);
    int64_t n = 1;
    for (int32_t d : w_shape) n *= d;
    const int w = m.AddConstant<float>(DType::kFloat32, w_shape, std::vector<float>(n, 1.0f));
    const int b =
        m.AddConstant<float>(DType::kFloat32, {w_shape[3]}, std::vector<float>(w_shape[3], 0.0f));
    const int y = m.AddOutput(DType::kFloat32, {1, 1, 1, 1});
    m.AddOperator(kDepthwise, {x, w, b}, {y},
                  options ? DepthwiseOptions(Padding::VALID, 1, 1, 1) : OptionsFn(nullptr));
    return m.Build();
  };
  conv::ExpectPrepareError(model({1, 4, 4, 3}, {1, 3, 3, 4}, true), StatusCode::kInvalidModel,
                           "filter has 4 channels, input has 3");
  conv::ExpectPrepareError(model({1, 4, 4, 3}, {2, 3, 3, 3}, true), StatusCode::kInvalidModel,
                           "dimension 0 is 2");
  conv::ExpectPrepareError(model({1, 4, 4, 3}, {1, 3, 3, 3}, false), StatusCode::kInvalidModel,
                           "DepthwiseConv2DOptions are missing");
  conv::ExpectPrepareError(model({1, 4, 4}, {1, 3, 3, 3}, true), StatusCode::kInvalidModel,
                           "has rank 3, expected 4");
  EXPECT_TRUE(conv::PrepareStatus(model({1, 4, 4, 3}, {1, 3, 3, 6}, true)).ok());
}

TEST(DepthwiseConv2DErrors, Int8WeightsMustBeSymmetric) {
  ModelBuilder m;
  const int x = m.AddInput(DType::kInt8, {1, 2, 2, 1}, {0.5f}, {0});
  const int w = m.AddConstant<int8_t>(DType::kInt8, {1, 1, 1, 1}, {3}, {0.5f}, {4}, 3);
  const int b = m.AddConstant<int32_t>(DType::kInt32, {1}, {0});
  const int y = m.AddOutput(DType::kInt8, {1, 2, 2, 1}, {0.5f}, {0});
  m.AddOperator(kDepthwise, {x, w, b}, {y}, DepthwiseOptions(Padding::VALID, 1, 1, 1), 3);
  conv::ExpectPrepareError(m.Build(), StatusCode::kUnsupported,
                           "int8 weights must be symmetric (zero point 0)");
}

std::vector<OpConfig> DepthwiseConfigs(Variant v) {
  std::vector<OpConfig> configs;
  uint32_t seed = 100;
  auto add = [&](int batch, int h, int w, int in_c, int dm, int fh, int fw, int stride,
                 int dilation, Padding pad, Act act) {
    OpConfig c;
    c.op = tflite::BuiltinOperator::DEPTHWISE_CONV_2D;
    c.variant = v;
    c.batch = batch;
    c.in_h = h;
    c.in_w = w;
    c.in_c = in_c;
    c.depth_multiplier = dm;
    c.filter_h = fh;
    c.filter_w = fw;
    c.stride_h = c.stride_w = stride;
    c.dilation_h = c.dilation_w = dilation;
    c.padding = pad;
    c.activation = act;
    c.seed = seed++;
    configs.push_back(c);
  };
  add(1, 7, 7, 8, 1, 3, 3, 1, 1, Padding::SAME, Act::NONE);
  add(2, 8, 6, 5, 2, 3, 3, 2, 1, Padding::SAME, Act::RELU);
  add(1, 9, 9, 4, 1, 3, 2, 1, 2, Padding::VALID, Act::RELU6);
  add(3, 5, 5, 16, 1, 1, 1, 1, 1, Padding::VALID, Act::NONE);
  add(1, 6, 7, 1, 8, 5, 5, 2, 1, Padding::SAME,
      Act::RELU_N1_TO_1);  // 1 channel, dm 8
  add(1, 10, 10, 32, 1, 3, 3, 2, 1, Padding::SAME, Act::RELU6);
  add(1, 6, 6, 3, 3, 3, 3, 1, 2, Padding::SAME, Act::NONE);
  configs[4].stride_w = 1;
  return configs;
}

TEST(DepthwiseConv2DAgreement, AllVariantsMatchTflite) {
  if (!TfliteRefAvailable()) GTEST_SKIP() << "tflite-ref unavailable";
  for (Variant v : {Variant::kFloat, Variant::kInt8PerChannel, Variant::kInt8PerTensor,
                    Variant::kUInt8, Variant::kInt16x8, Variant::kHybridPerChannel}) {
    conv::LsbHistogram hist;
    for (const OpConfig& c : DepthwiseConfigs(v)) {
      conv::ExpectAgreesWithTflite(c, conv::ToleranceFor(v), &hist);
    }
    std::printf(
        "[ DEPTHWISE_CONV_2D %-18s ] |ours - tflite| histogram (LSB:count): "
        "%s\n",
        conv::VariantName(v), hist.ToString().c_str());
  }
}

}  // namespace
}  // namespace testing
}  // namespace edgeopt
