#include <gtest/gtest.h>

#include "src/runtime/kernels/conv_test_util.h"

namespace edgeopt {
namespace testing {
namespace {

using conv::OpConfig;
using conv::Variant;
using Act = tflite::ActivationFunctionType;
using tflite::Padding;

using conv::ConvOptions;
using conv::RunOne;

constexpr auto kConv = tflite::BuiltinOperator::CONV_2D;

TEST(Conv2DFloat, GoldenValid2x2TwoChannels) {
  // input 3x3 (1..9), filters [[1,2],[3,4]] and [[-1,0],[0,1]], bias [0.5, -0.25].
  ModelBuilder m;
  const int x = m.AddInput(DType::kFloat32, {1, 3, 3, 1});
  const int w = m.AddConstant<float>(DType::kFloat32, {2, 2, 2, 1}, {1, 2, 3, 4, -1, 0, 0, 1});
  const int b = m.AddConstant<float>(DType::kFloat32, {2}, {0.5f, -0.25f});
  const int y = m.AddOutput(DType::kFloat32, {1, 2, 2, 2});
  m.AddOperator(kConv, {x, w, b}, {y}, ConvOptions(Padding::VALID, 1, 1));
  const auto out = RunOne<float>(
      m.Build(), MakeArray<float>(DType::kFloat32, {1, 3, 3, 1}, {1, 2, 3, 4, 5, 6, 7, 8, 9}),
      /*also_tflite=*/true);
  // (0,0): 1+4+12+20 = 37; (0,1): 2+6+15+24 = 47; (1,0): 67; (1,1): 77. Second filter: 4.
  EXPECT_EQ(out, (std::vector<float>{37.5f, 3.75f, 47.5f, 3.75f, 67.5f, 3.75f, 77.5f, 3.75f}));
}

TEST(Conv2DFloat, GoldenSameStride2PadsBottomRight) {
  // 4x4 input (1..16), 3x3 ones, SAME, stride 2: total padding 1 goes to the bottom/right, so the
  // windows start at rows/columns 0 and 2.
  ModelBuilder m;
  const int x = m.AddInput(DType::kFloat32, {1, 4, 4, 1});
  const int w = m.AddConstant<float>(DType::kFloat32, {1, 3, 3, 1}, std::vector<float>(9, 1.0f));
  const int b = m.AddConstant<float>(DType::kFloat32, {1}, {0.0f});
  const int y = m.AddOutput(DType::kFloat32, {1, 2, 2, 1});
  m.AddOperator(kConv, {x, w, b}, {y}, ConvOptions(Padding::SAME, 2, 2));
  std::vector<float> in(16);
  for (int i = 0; i < 16; ++i) in[i] = static_cast<float>(i + 1);
  const auto out = RunOne<float>(m.Build(), MakeArray<float>(DType::kFloat32, {1, 4, 4, 1}, in),
                                 /*also_tflite=*/true);
  EXPECT_EQ(out, (std::vector<float>{54, 45, 72, 54}));
}

TEST(Conv2DFloat, GoldenDilationAndRelu6) {
  // 5x5 input in(y,x) = 5y+x+1, 2x2 ones with dilation 2 (a 3x3 window's corners), VALID:
  // out = 4 * in(y,x) + 24; RELU6 would clamp, so the second node checks the clamp.
  ModelBuilder m;
  const int x = m.AddInput(DType::kFloat32, {1, 5, 5, 1});
  const int w = m.AddConstant<float>(DType::kFloat32, {1, 2, 2, 1}, {1, 1, 1, 1});
  const int b = m.AddConstant<float>(DType::kFloat32, {1}, {-50.0f});
  const int y = m.AddOutput(DType::kFloat32, {1, 3, 3, 1});
  m.AddOperator(kConv, {x, w, b}, {y},
                ConvOptions(Padding::VALID, 1, 1, Act::RELU6, /*dilation_w=*/2,
                            /*dilation_h=*/2));
  std::vector<float> in(25);
  for (int i = 0; i < 25; ++i) in[i] = static_cast<float>(i + 1);
  const auto out = RunOne<float>(m.Build(), MakeArray<float>(DType::kFloat32, {1, 5, 5, 1}, in),
                                 /*also_tflite=*/true);
  // Pre-activation: 28-50, 32-50, 36-50, 48-50, 52-50, 56-50, 68-50, 72-50, 76-50.
  EXPECT_EQ(out, (std::vector<float>{0, 0, 0, 0, 2, 6, 6, 6, 6}));
}

TEST(Conv2DFloat, GoldenGroupedAndNoBias) {
  // 4 input channels, 2 groups of 2: filter 0 sums channels 0-1, filter 1 is ch2 - ch3. (TFLite 2.9
  // refuses CONV_2D without a bias, so this is checked by hand only.)
  ModelBuilder m;
  const int x = m.AddInput(DType::kFloat32, {1, 1, 1, 4});
  const int w = m.AddConstant<float>(DType::kFloat32, {2, 1, 1, 2}, {1, 1, 1, -1});
  const int y = m.AddOutput(DType::kFloat32, {1, 1, 1, 2});
  m.AddOperator(kConv, {x, w}, {y}, ConvOptions(Padding::VALID, 1, 1));
  const auto out =
      RunOne<float>(m.Build(), MakeArray<float>(DType::kFloat32, {1, 1, 1, 4}, {1, 2, 3, 4}));
  EXPECT_EQ(out, (std::vector<float>{3, -1}));
}

TEST(Conv2DFloat, NonConstantFilterMatchesTflite) {
  if (!TfliteRefAvailable()) GTEST_SKIP() << "tflite-ref unavailable";
  ModelBuilder m;
  const int x = m.AddInput(DType::kFloat32, {1, 6, 6, 3});
  const int w = m.AddInput(DType::kFloat32, {5, 3, 3, 3});
  const int b = m.AddConstant<float>(DType::kFloat32, {5}, {0.1f, 0.2f, 0.3f, 0.4f, 0.5f});
  const int y = m.AddOutput(DType::kFloat32, {1, 3, 3, 5});
  m.AddOperator(kConv, {x, w, b}, {y}, ConvOptions(Padding::SAME, 2, 2));
  const auto model = m.Build();
  const std::vector<NpyArray> in = {RandomArray(DType::kFloat32, {1, 6, 6, 3}, 1),
                                    RandomArray(DType::kFloat32, {5, 3, 3, 3}, 2)};
  auto ours = RunEdgeopt(model, in);
  auto ref = RunTfliteRef(model, in);
  ASSERT_TRUE(ours.ok()) << ours.status().ToString();
  ASSERT_TRUE(ref.ok()) << ref.status().ToString();
  ExpectAllClose(*ours, *ref, conv::FloatTolerance());
}

// Quantization 1/16 per LSB: accumulators -24 and 24 are exact ties (-1.5, 1.5). TFLite's CONV_2D
// runs on ruy, whose x86 output stage rounds ties toward +infinity: -1.5 -> -1 (the reference
// kernels would give -2).
TEST(Conv2DInt8, GoldenPerChannelRoundsTiesUpLikeRuy) {
  ModelBuilder m;
  const int x = m.AddInput(DType::kInt8, {1, 1, 2, 1}, {1.0f}, {0});
  const int w = m.AddConstant<int8_t>(DType::kInt8, {2, 1, 1, 1}, {1, 2}, {1.0f, 0.5f}, {0, 0}, 0);
  const int b = m.AddConstant<int32_t>(DType::kInt32, {2}, {0, -8}, {1.0f, 0.5f}, {0, 0});
  const int y = m.AddOutput(DType::kInt8, {1, 1, 2, 2}, {16.0f}, {3});
  m.AddOperator(kConv, {x, w, b}, {y}, ConvOptions(Padding::VALID, 1, 1), 3);
  const auto out =
      RunOne<int8_t>(m.Build(), MakeArray<int8_t>(DType::kInt8, {1, 1, 2, 1}, {-24, 24}),
                     /*also_tflite=*/true);
  // channel 0: -24/16 = -1.5 -> -1, 24/16 = 1.5 -> 2; channel 1 (multiplier 1/32):
  // (-48-8)/32 = -1.75 -> -2, (48-8)/32 = 1.25 -> 1; plus the zero point 3.
  EXPECT_EQ(out, (std::vector<int8_t>{2, 1, 5, 4}));
}

TEST(Conv2DInt8, GoldenZeroPointPaddingAndRelu) {
  // Input zero point 5: SAME padding must pad with 5 (real 0). 1x3 filter of ones, scales 1.
  ModelBuilder m;
  const int x = m.AddInput(DType::kInt8, {1, 1, 3, 1}, {1.0f}, {5});
  const int w = m.AddConstant<int8_t>(DType::kInt8, {1, 1, 3, 1}, {1, 1, 1}, {1.0f}, {0}, 0);
  const int b = m.AddConstant<int32_t>(DType::kInt32, {1}, {-4}, {1.0f}, {0});
  const int y = m.AddOutput(DType::kInt8, {1, 1, 3, 1}, {1.0f}, {-10});
  m.AddOperator(kConv, {x, w, b}, {y}, ConvOptions(Padding::SAME, 1, 1, Act::RELU), 3);
  const auto out =
      RunOne<int8_t>(m.Build(), MakeArray<int8_t>(DType::kInt8, {1, 1, 3, 1}, {6, 7, 3}),
                     /*also_tflite=*/true);
  // Real inputs 1, 2, -2: sums 3, 1, 0; minus 4: -1, -3, -4; RELU: 0 -> q = -10.
  EXPECT_EQ(out, (std::vector<int8_t>{-10, -10, -10}));
}

TEST(Conv2DUInt8, GoldenAsymmetricWeights) {
  // input zp 128 scale 0.5, filter zp 100 scale 0.25, bias scale 0.125, output zp 120 scale 1.
  ModelBuilder m;
  const int x = m.AddInput(DType::kUInt8, {1, 1, 2, 1}, {0.5f}, {128});
  const int w = m.AddConstant<uint8_t>(DType::kUInt8, {1, 1, 1, 1}, {104}, {0.25f}, {100}, 0);
  const int b = m.AddConstant<int32_t>(DType::kInt32, {1}, {3}, {0.125f}, {0});
  const int y = m.AddOutput(DType::kUInt8, {1, 1, 2, 1}, {1.0f}, {120});
  m.AddOperator(kConv, {x, w, b}, {y}, ConvOptions(Padding::VALID, 1, 1));
  const auto out =
      RunOne<uint8_t>(m.Build(), MakeArray<uint8_t>(DType::kUInt8, {1, 1, 2, 1}, {138, 122}),
                      /*also_tflite=*/true);
  // acc = (x - 128) * 4 + 3 = 43, -21; multiplier 0.125 = 2^30 * 2^(-2 - 31). The fixed-point
  // multiply halves with rounding (21.5 -> 22, -10.5 -> -10: SaturatingRoundingDoublingHighMul
  // rounds ties up), then the shift by 2 rounds again (5.5 -> 6, -2.5 -> -2): 6 and -2, not the
  // real 5.375 and -2.625. Plus the zero point 120.
  EXPECT_EQ(out, (std::vector<uint8_t>{126, 118}));
}

TEST(Conv2DInt16x8, GoldenInt64BiasRoundsWithReducedMultiplier) {
  // Multiplier 0.5 * 0.25 / 1 = 0.125: accumulators 3100 and -8900 give 387.5 and -1112.5; TFLite's
  // int64 path rounds both up (388, -1112).
  ModelBuilder m;
  const int x = m.AddInput(DType::kInt16, {1, 1, 2, 1}, {0.5f}, {0});
  const int w = m.AddConstant<int8_t>(DType::kInt8, {1, 1, 1, 1}, {3}, {0.25f}, {0}, 0);
  const int b = m.AddConstant<int64_t>(DType::kInt64, {1}, {100}, {0.125f}, {0});
  const int y = m.AddOutput(DType::kInt16, {1, 1, 2, 1}, {1.0f}, {0});
  m.AddOperator(kConv, {x, w, b}, {y}, ConvOptions(Padding::VALID, 1, 1), 4);
  const auto out =
      RunOne<int16_t>(m.Build(), MakeArray<int16_t>(DType::kInt16, {1, 1, 2, 1}, {1000, -3000}),
                      /*also_tflite=*/true);
  EXPECT_EQ(out, (std::vector<int16_t>{388, -1112}));
}

TEST(Conv2DInt16x8, GoldenBiasBeyondInt32InOneChannel) {
  // Channel 1's bias term is 2^32: its sums do not fit in int32, so the 32-bit output stage
  // must not be chosen for the op (it would wrap the bias to 0). Multiplier 2^-20: outputs are
  // round(acc / 2^20): (2^21 + 1000, 2^21 - 3000) -> 2, 2; (2^32 + 1000, 2^32 - 3000) -> 4096.
  ModelBuilder m;
  const int x = m.AddInput(DType::kInt16, {1, 1, 2, 1}, {1.0f}, {0});
  const int w = m.AddConstant<int8_t>(DType::kInt8, {2, 1, 1, 1}, {1, 1}, {1.0f, 1.0f}, {0, 0}, 0);
  const int b = m.AddConstant<int64_t>(DType::kInt64, {2}, {int64_t{1} << 21, int64_t{1} << 32},
                                       {1.0f, 1.0f}, {0, 0});
  const int y = m.AddOutput(DType::kInt16, {1, 1, 2, 2}, {1048576.0f}, {0});
  m.AddOperator(kConv, {x, w, b}, {y}, ConvOptions(Padding::VALID, 1, 1), 4);
  const auto out =
      RunOne<int16_t>(m.Build(), MakeArray<int16_t>(DType::kInt16, {1, 1, 2, 1}, {1000, -3000}),
                      /*also_tflite=*/true);
  EXPECT_EQ(out, (std::vector<int16_t>{2, 4096, 2, 4096}));
}

TEST(Conv2DInt16x8, GoldenInt32BiasUsesInt32Accumulators) {
  // Same with an int32 bias: TFLite's int32-accumulator path requantizes with the reference double
  // rounding: -1112.5 -> -1113.
  ModelBuilder m;
  const int x = m.AddInput(DType::kInt16, {1, 1, 2, 1}, {0.5f}, {0});
  const int w = m.AddConstant<int8_t>(DType::kInt8, {1, 1, 1, 1}, {3}, {0.25f}, {0}, 0);
  const int b = m.AddConstant<int32_t>(DType::kInt32, {1}, {100}, {0.125f}, {0});
  const int y = m.AddOutput(DType::kInt16, {1, 1, 2, 1}, {1.0f}, {0});
  m.AddOperator(kConv, {x, w, b}, {y}, ConvOptions(Padding::VALID, 1, 1), 4);
  const auto out =
      RunOne<int16_t>(m.Build(), MakeArray<int16_t>(DType::kInt16, {1, 1, 2, 1}, {1000, -3000}));
  EXPECT_EQ(out, (std::vector<int16_t>{388, -1113}));
}

TEST(Conv2DHybrid, GoldenPerTensorQuantizesInputSymmetrically) {
  // Input [0.5, -1] -> scale 1/127, q = [64, -127]; filter [64, 127] scale 0.01.
  // acc = 4096 - 16129 = -12033; out = -12033 / 127 * 0.01 + 0.25 = -0.697480.
  ModelBuilder m;
  const int x = m.AddInput(DType::kFloat32, {1, 1, 1, 2});
  const int w = m.AddConstant<int8_t>(DType::kInt8, {1, 1, 1, 2}, {64, 127}, {0.01f}, {0}, 0);
  const int b = m.AddConstant<float>(DType::kFloat32, {1}, {0.25f});
  const int y = m.AddOutput(DType::kFloat32, {1, 1, 1, 1});
  m.AddOperator(kConv, {x, w, b}, {y}, ConvOptions(Padding::VALID, 1, 1), 2);
  const auto out =
      RunOne<float>(m.Build(), MakeArray<float>(DType::kFloat32, {1, 1, 1, 2}, {0.5f, -1.0f}),
                    /*also_tflite=*/true);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_NEAR(out[0], -0.697480f, 1e-6);
}

TEST(Conv2DHybrid, GoldenPerChannelQuantizesInputAsymmetrically) {
  // Input [0.5, -1]: scale 1.5/255, zero point 42, q = [127, -128]. Filters [64, 127] (scale 0.01)
  // and [10, -20] (scale 0.02): acc = 64*85 - 127*170 = -16150 and 10*85 + 20*170 = 4250;
  // out = acc * 1.5/255 * scale + bias = -0.95 + 0.25, 0.5 - 0.1.
  ModelBuilder m;
  const int x = m.AddInput(DType::kFloat32, {1, 1, 1, 2});
  const int w = m.AddConstant<int8_t>(DType::kInt8, {2, 1, 1, 2}, {64, 127, 10, -20},
                                      {0.01f, 0.02f}, {0, 0}, 0);
  const int b = m.AddConstant<float>(DType::kFloat32, {2}, {0.25f, -0.1f});
  const int y = m.AddOutput(DType::kFloat32, {1, 1, 1, 2});
  m.AddOperator(kConv, {x, w, b}, {y}, ConvOptions(Padding::VALID, 1, 1), 2);
  const auto out =
      RunOne<float>(m.Build(), MakeArray<float>(DType::kFloat32, {1, 1, 1, 2}, {0.5f, -1.0f}),
                    /*also_tflite=*/true);
  ASSERT_EQ(out.size(), 2u);
  EXPECT_NEAR(out[0], -0.70f, 1e-6);
  EXPECT_NEAR(out[1], 0.40f, 1e-6);
}

// ---- Errors: every bad model is refused in Prepare with a message. ----

std::vector<uint8_t> FloatConvModel(const std::vector<int32_t>& in_shape,
                                    const std::vector<int32_t>& w_shape, DType bias_type,
                                    int bias_n, bool options) {
  ModelBuilder m;
  const int x = m.AddInput(DType::kFloat32, in_shape);
  int64_t n = 1;
  for (int32_t d : w_shape) n *= d;
  const int w = m.AddConstant<float>(DType::kFloat32, w_shape, std::vector<float>(n, 1.0f));
  const int b = bias_type == DType::kFloat32
                    ? m.AddConstant<float>(DType::kFloat32, {bias_n}, std::vector<float>(bias_n))
                    : m.AddConstant<int8_t>(bias_type, {bias_n}, std::vector<int8_t>(bias_n));
  const int y = m.AddOutput(DType::kFloat32, {1, 1, 1, 1});
  m.AddOperator(kConv, {x, w, b}, {y},
                options ? ConvOptions(Padding::VALID, 1, 1) : OptionsFn(nullptr));
  return m.Build();
}

TEST(Conv2DErrors, ChannelMismatch) {
  conv::ExpectPrepareError(FloatConvModel({1, 4, 4, 4}, {2, 3, 3, 3}, DType::kFloat32, 2, true),
                           StatusCode::kInvalidModel, "filter has 3 input channels, input has 4");
}

TEST(Conv2DErrors, BadBiasTypeAndSize) {
  conv::ExpectPrepareError(FloatConvModel({1, 4, 4, 3}, {2, 3, 3, 3}, DType::kInt8, 2, true),
                           StatusCode::kInvalidModel, "has type int8; a float op needs a float32");
  conv::ExpectPrepareError(FloatConvModel({1, 4, 4, 3}, {2, 3, 3, 3}, DType::kFloat32, 3, true),
                           StatusCode::kInvalidModel, "has 3 elements, expected 2");
}

TEST(Conv2DErrors, MissingOptions) {
  conv::ExpectPrepareError(FloatConvModel({1, 4, 4, 3}, {2, 3, 3, 3}, DType::kFloat32, 2, false),
                           StatusCode::kInvalidModel, "Conv2DOptions are missing");
}

TEST(Conv2DErrors, FilterLargerThanInput) {
  conv::ExpectPrepareError(FloatConvModel({1, 2, 2, 3}, {2, 3, 3, 3}, DType::kFloat32, 2, true),
                           StatusCode::kInvalidModel, "smaller than the dilated filter");
}

TEST(Conv2DErrors, BadQuantization) {
  auto model = [](std::vector<float> in_scale, std::vector<float> w_scales, int axis,
                  DType bias_type) {
    ModelBuilder m;
    const int x = m.AddInput(DType::kInt8, {1, 2, 2, 2}, in_scale,
                             in_scale.empty() ? std::vector<int64_t>{} : std::vector<int64_t>{0});
    const int w = m.AddConstant<int8_t>(DType::kInt8, {2, 1, 1, 2}, {1, 2, 3, 4}, w_scales,
                                        std::vector<int64_t>(w_scales.size(), 0), axis);
    const int b = bias_type == DType::kInt32 ? m.AddConstant<int32_t>(DType::kInt32, {2}, {0, 0})
                                             : m.AddConstant<float>(DType::kFloat32, {2}, {0, 0});
    const int y = m.AddOutput(DType::kInt8, {1, 2, 2, 2}, {0.1f}, {0});
    m.AddOperator(kConv, {x, w, b}, {y}, ConvOptions(Padding::VALID, 1, 1), 3);
    return m.Build();
  };
  conv::ExpectPrepareError(model({}, {0.1f, 0.1f}, 0, DType::kInt32), StatusCode::kInvalidModel,
                           "input (t0) is int8 but has no quantization parameters");
  conv::ExpectPrepareError(model({0.0f}, {0.1f, 0.1f}, 0, DType::kInt32), StatusCode::kInvalidModel,
                           "has scale 0");
  conv::ExpectPrepareError(model({0.5f}, {0.1f, -1.0f}, 0, DType::kInt32),
                           StatusCode::kInvalidModel, "scale 1 is -1");
  conv::ExpectPrepareError(model({0.5f}, {0.1f, 0.1f}, 3, DType::kInt32), StatusCode::kInvalidModel,
                           "quantized along dimension 3; expected the output-channel dimension 0");
  conv::ExpectPrepareError(model({0.5f}, {0.1f, 0.1f}, 0, DType::kFloat32),
                           StatusCode::kInvalidModel, "int8 inputs need an int32 bias");
  EXPECT_TRUE(conv::PrepareStatus(model({0.5f}, {0.1f, 0.1f}, 0, DType::kInt32)).ok());
}

TEST(Conv2DErrors, UnsupportedTypeCombination) {
  ModelBuilder m;
  const int x = m.AddInput(DType::kInt8, {1, 2, 2, 1}, {0.5f}, {0});
  const int w = m.AddConstant<float>(DType::kFloat32, {1, 1, 1, 1}, {1.0f});
  const int b = m.AddConstant<float>(DType::kFloat32, {1}, {0.0f});
  const int y = m.AddOutput(DType::kInt8, {1, 2, 2, 1}, {0.5f}, {0});
  m.AddOperator(kConv, {x, w, b}, {y}, ConvOptions(Padding::VALID, 1, 1));
  conv::ExpectPrepareError(m.Build(), StatusCode::kUnsupported,
                           "input int8 with filter float32 is not supported");
}

// Random configurations of CONV_2D for one variant; every one is compared with tflite-ref.
std::vector<OpConfig> ConvConfigs(Variant v) {
  std::vector<OpConfig> configs;
  uint32_t seed = 1;
  auto add = [&](int batch, int h, int w, int in_c, int fh, int fw, int out_c, int stride,
                 int dilation, Padding pad, Act act) {
    OpConfig c;
    c.op = tflite::BuiltinOperator::CONV_2D;
    c.variant = v;
    c.batch = batch;
    c.in_h = h;
    c.in_w = w;
    c.in_c = in_c;
    c.filter_h = fh;
    c.filter_w = fw;
    c.out_c = out_c;
    c.stride_h = c.stride_w = stride;
    c.dilation_h = c.dilation_w = dilation;
    c.padding = pad;
    c.activation = act;
    c.seed = seed++;
    configs.push_back(c);
  };
  add(1, 7, 7, 3, 3, 3, 8, 1, 1, Padding::SAME, Act::NONE);
  add(2, 8, 6, 5, 3, 3, 9, 2, 1, Padding::SAME, Act::RELU);
  add(1, 9, 9, 4, 3, 2, 6, 1, 2, Padding::VALID, Act::RELU6);
  add(3, 5, 5, 16, 1, 1, 24, 1, 1, Padding::VALID,
      Act::NONE);  // pointwise, batch 3
  add(1, 6, 7, 2, 5, 5, 3, 2, 1, Padding::SAME, Act::RELU_N1_TO_1);
  add(1, 10, 10, 8, 3, 3, 16, 2, 2, Padding::SAME, Act::RELU);
  add(1, 4, 4, 33, 1, 1, 1, 1, 1, Padding::SAME,
      Act::NONE);  // one output channel
  add(1, 1, 1, 64, 1, 1, 10, 1, 1, Padding::VALID,
      Act::NONE);  // one pixel (GEMV)
  add(2, 12, 12, 3, 3, 3, 32, 2, 1, Padding::VALID, Act::RELU6);
  configs[4].stride_w = 1;    // unequal strides
  configs[2].dilation_w = 1;  // unequal dilation
  return configs;
}

TEST(Conv2DAgreement, AllVariantsMatchTflite) {
  if (!TfliteRefAvailable()) GTEST_SKIP() << "tflite-ref unavailable";
  for (Variant v :
       {Variant::kFloat, Variant::kInt8PerChannel, Variant::kInt8PerTensor, Variant::kUInt8,
        Variant::kInt16x8, Variant::kHybridPerChannel, Variant::kHybridPerTensor}) {
    conv::LsbHistogram hist;
    for (const OpConfig& c : ConvConfigs(v)) {
      conv::ExpectAgreesWithTflite(c, conv::ToleranceFor(v), &hist);
    }
    std::printf("[ CONV_2D %-18s ] |ours - tflite| histogram (LSB:count): %s\n",
                conv::VariantName(v), hist.ToString().c_str());
  }
}

}  // namespace
}  // namespace testing
}  // namespace edgeopt
