#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <random>

#include "src/runtime/kernels/conv_test_util.h"
#include "src/runtime/kernels/reference/requantize.h"

namespace edgeopt {
namespace testing {
namespace {

using conv::OpConfig;
using conv::Variant;
using Act = tflite::ActivationFunctionType;

using conv::FcOptions;
using conv::RunOne;

constexpr auto kFc = tflite::BuiltinOperator::FULLY_CONNECTED;

TEST(FullyConnectedFloat, Golden) {
  // [1, 2, 3] x [[1, 0, -1], [0.5, 0.5, 0.5]]^T + [0.125, -0.25] = [-1.875, 2.75].
  ModelBuilder m;
  const int x = m.AddInput(DType::kFloat32, {1, 3});
  const int w = m.AddConstant<float>(DType::kFloat32, {2, 3}, {1, 0, -1, 0.5f, 0.5f, 0.5f});
  const int b = m.AddConstant<float>(DType::kFloat32, {2}, {0.125f, -0.25f});
  const int y = m.AddOutput(DType::kFloat32, {1, 2});
  m.AddOperator(kFc, {x, w, b}, {y}, FcOptions());
  const auto out = RunOne<float>(m.Build(), MakeArray<float>(DType::kFloat32, {1, 3}, {1, 2, 3}),
                                 /*also_tflite=*/true);
  EXPECT_EQ(out, (std::vector<float>{-1.875f, 2.75f}));
}

TEST(FullyConnectedFloat, GoldenKeepNumDimsAndRelu) {
  // Input [2, 1, 3] keeps its leading dimensions: output [2, 1, 2]. No bias; RELU.
  ModelBuilder m;
  const int x = m.AddInput(DType::kFloat32, {2, 1, 3});
  const int w = m.AddConstant<float>(DType::kFloat32, {2, 3}, {1, 1, 1, -1, 0, 0});
  const int y = m.AddOutput(DType::kFloat32, {2, 1, 2});
  m.AddOperator(kFc, {x, w, -1}, {y}, FcOptions(Act::RELU, /*keep_num_dims=*/true), 5);
  auto out =
      RunEdgeopt(m.Build(), {MakeArray<float>(DType::kFloat32, {2, 1, 3}, {1, 2, 3, -4, 5, -6})});
  ASSERT_TRUE(out.ok()) << out.status().ToString();
  EXPECT_EQ((*out)[0].shape, (std::vector<int64_t>{2, 1, 2}));
  EXPECT_EQ(ToVector<float>((*out)[0]), (std::vector<float>{6, 0, 0, 4}));
}

TEST(FullyConnectedFloat, GoldenFlattensInput) {
  // Input [2, 2, 2] with 4 input features: flattened to [2, 4], output [2, 1].
  ModelBuilder m;
  const int x = m.AddInput(DType::kFloat32, {2, 2, 2});
  const int w = m.AddConstant<float>(DType::kFloat32, {1, 4}, {1, 2, 3, 4});
  const int y = m.AddOutput(DType::kFloat32, {2, 1});
  m.AddOperator(kFc, {x, w, -1}, {y}, FcOptions());
  auto out = RunEdgeopt(m.Build(),
                        {MakeArray<float>(DType::kFloat32, {2, 2, 2}, {1, 0, 0, 0, 0, 0, 0, 1})});
  ASSERT_TRUE(out.ok()) << out.status().ToString();
  EXPECT_EQ((*out)[0].shape, (std::vector<int64_t>{2, 1}));
  EXPECT_EQ(ToVector<float>((*out)[0]), (std::vector<float>{1, 4}));
}

TEST(FullyConnectedFloat, NonConstantWeightsMatchTflite) {
  if (!TfliteRefAvailable()) GTEST_SKIP() << "tflite-ref unavailable";
  ModelBuilder m;
  const int x = m.AddInput(DType::kFloat32, {3, 10});
  const int w = m.AddInput(DType::kFloat32, {4, 10});
  const int y = m.AddOutput(DType::kFloat32, {3, 4});
  m.AddOperator(kFc, {x, w, -1}, {y}, FcOptions());
  const auto model = m.Build();
  const std::vector<NpyArray> in = {RandomArray(DType::kFloat32, {3, 10}, 1),
                                    RandomArray(DType::kFloat32, {4, 10}, 2)};
  auto ours = RunEdgeopt(model, in);
  auto ref = RunTfliteRef(model, in);
  ASSERT_TRUE(ours.ok()) << ours.status().ToString();
  ASSERT_TRUE(ref.ok()) << ref.status().ToString();
  ExpectAllClose(*ours, *ref, conv::FloatTolerance());
}

// Multiplier 1/16: -24 -> -1.5, 24 -> 1.5, -8 -> -0.5. TFLite's int8 FULLY_CONNECTED (ruy on x86)
// rounds ties up: -1, 2, 0; the reference kernel would give -2, 2, -1.
TEST(FullyConnectedInt8, GoldenRoundsTiesUpLikeRuy) {
  ModelBuilder m;
  const int x = m.AddInput(DType::kInt8, {3, 1}, {1.0f}, {0});
  const int w = m.AddConstant<int8_t>(DType::kInt8, {1, 1}, {1}, {1.0f}, {0});
  const int b = m.AddConstant<int32_t>(DType::kInt32, {1}, {0}, {1.0f}, {0});
  const int y = m.AddOutput(DType::kInt8, {3, 1}, {16.0f}, {0});
  m.AddOperator(kFc, {x, w, b}, {y}, FcOptions(), 4);
  const auto out = RunOne<int8_t>(m.Build(), MakeArray<int8_t>(DType::kInt8, {3, 1}, {-24, 24, -8}),
                                  /*also_tflite=*/true);
  EXPECT_EQ(out, (std::vector<int8_t>{-1, 2, 0}));
}

TEST(FullyConnectedInt8, GoldenZeroPointsAndRelu6) {
  // Input zp -2, weights zp 1 (per-tensor int8 weights may have one), output zp 5, all scales 1
  // except output 0.5. x = [0, 2] -> reals [2, 4]; w = [3, -1] -> [2, -2]; bias 3.
  // acc = 4 - 8 + 3 = -1 -> -2 at scale 0.5; RELU6 clamps to 0 -> q = 5. Second unit w = [2, 2] ->
  // [1, 1]: acc = 6 + 3 = 9 -> 18, RELU6 -> 12 -> q = 17.
  ModelBuilder m;
  const int x = m.AddInput(DType::kInt8, {1, 2}, {1.0f}, {-2});
  const int w = m.AddConstant<int8_t>(DType::kInt8, {2, 2}, {3, -1, 2, 2}, {1.0f}, {1});
  const int b = m.AddConstant<int32_t>(DType::kInt32, {2}, {3, 3}, {1.0f}, {0});
  const int y = m.AddOutput(DType::kInt8, {1, 2}, {0.5f}, {5});
  m.AddOperator(kFc, {x, w, b}, {y}, FcOptions(Act::RELU6), 4);
  const auto out = RunOne<int8_t>(m.Build(), MakeArray<int8_t>(DType::kInt8, {1, 2}, {0, 2}),
                                  /*also_tflite=*/true);
  EXPECT_EQ(out, (std::vector<int8_t>{5, 17}));
}

TEST(FullyConnectedInt8, GoldenPerChannelWeights) {
  // TFLite 2.9 computes per-channel FULLY_CONNECTED wrongly (tflite-ref refuses it); newer TFLite
  // uses one multiplier per output unit, as here. Scales: input 0.5, weights [0.25, 0.125],
  // output 1. acc0 = 20 - 12 + 4 = 12 -> 1.5 -> 2; acc1 = 40 + 32 - 16 = 56 -> 3.5 -> 4.
  ModelBuilder m;
  const int x = m.AddInput(DType::kInt8, {1, 2}, {0.5f}, {0});
  const int w =
      m.AddConstant<int8_t>(DType::kInt8, {2, 2}, {2, 3, 4, -8}, {0.25f, 0.125f}, {0, 0}, 0);
  const int b = m.AddConstant<int32_t>(DType::kInt32, {2}, {4, -16}, {0.125f, 0.0625f}, {0, 0}, 0);
  const int y = m.AddOutput(DType::kInt8, {1, 2}, {1.0f}, {0});
  m.AddOperator(kFc, {x, w, b}, {y}, FcOptions(), 4);
  const auto out = RunOne<int8_t>(m.Build(), MakeArray<int8_t>(DType::kInt8, {1, 2}, {10, -4}));
  EXPECT_EQ(out, (std::vector<int8_t>{2, 4}));
}

TEST(FullyConnectedUInt8, Golden) {
  // input zp 128 scale 0.5; weights zp 128 scale 0.5; output zp 100 scale 0.25. x = [130, 126] ->
  // [2, -2] (units); w = [129, 127] -> [1, -1]; acc = 4 + bias 2 = 6; multiplier 1 -> 6 + 100.
  ModelBuilder m;
  const int x = m.AddInput(DType::kUInt8, {1, 2}, {0.5f}, {128});
  const int w = m.AddConstant<uint8_t>(DType::kUInt8, {1, 2}, {129, 127}, {0.5f}, {128});
  const int b = m.AddConstant<int32_t>(DType::kInt32, {1}, {2}, {0.25f}, {0});
  const int y = m.AddOutput(DType::kUInt8, {1, 1}, {0.25f}, {100});
  m.AddOperator(kFc, {x, w, b}, {y}, FcOptions());
  const auto out = RunOne<uint8_t>(m.Build(), MakeArray<uint8_t>(DType::kUInt8, {1, 2}, {130, 126}),
                                   /*also_tflite=*/true);
  EXPECT_EQ(out, (std::vector<uint8_t>{106}));
}

TEST(FullyConnectedInt16x8, GoldenWithAndWithoutBias) {
  // Multiplier 0.125, int64 path (ties up), with or without a bias. With an int64 bias 100:
  // 3100 -> 388, -8900 -> -1112, -8888 -> -1111. Without: 3000 -> 375, -9000 -> -1125,
  // -8988 -> -1123.5 -> -1123 (the 32-bit double rounding that TRANSPOSE_CONV uses without a
  // bias would give -1124).
  for (bool with_bias : {true, false}) {
    ModelBuilder m;
    const int x = m.AddInput(DType::kInt16, {3, 1}, {0.5f}, {0});
    const int w = m.AddConstant<int8_t>(DType::kInt8, {1, 1}, {3}, {0.25f}, {0});
    const int b = with_bias ? m.AddConstant<int64_t>(DType::kInt64, {1}, {100}, {0.125f}, {0}) : -1;
    const int y = m.AddOutput(DType::kInt16, {3, 1}, {1.0f}, {0});
    m.AddOperator(kFc, {x, w, b}, {y}, FcOptions(), 7);
    const auto out =
        RunOne<int16_t>(m.Build(), MakeArray<int16_t>(DType::kInt16, {3, 1}, {1000, -3000, -2996}),
                        /*also_tflite=*/true);
    if (with_bias) {
      EXPECT_EQ(out, (std::vector<int16_t>{388, -1112, -1111}));
    } else {
      EXPECT_EQ(out, (std::vector<int16_t>{375, -1125, -1123}));
    }
  }
}

// Without a bias, TFLite 2.9 rounds acc * multiplier once with the full 31-bit multiplier
// (Rounding::kSingle). The scales and accumulators of conv_fc_mnist's bias-less last layer in
// 16x8, where the effective scale is 0.0041917...: acc 1370217 -> 5743.4997 -> 5743 (the 32-bit
// double rounding gives 5744) and -3080046 -> -12910.54 -> -12911 (the int64 path's 16-bit
// multiplier gives -12910). Checked against the official runtime too.
TEST(FullyConnectedInt16x8, WithoutBiasRoundsTheFullProductOnce) {
  ModelBuilder m;
  const int x = m.AddInput(DType::kInt16, {2, 2}, {0.00042715587f}, {0});
  const int w = m.AddConstant<int8_t>(DType::kInt8, {1, 2}, {127, 1}, {0.0046904264f}, {0});
  const int y = m.AddOutput(DType::kInt16, {2, 1}, {0.0004779819f}, {0});
  m.AddOperator(kFc, {x, w, -1}, {y}, FcOptions(), 7);
  const auto out = RunOne<int16_t>(
      m.Build(), MakeArray<int16_t>(DType::kInt16, {2, 2}, {10789, 14, -24252, -42}),
      /*also_tflite=*/true);
  EXPECT_EQ(out, (std::vector<int16_t>{5743, -12911}));
}

// kSingle's 64-bit arithmetic against exact products (Python integers), extremes included, and
// against 128-bit arithmetic on random values where the compiler has it.
TEST(FullyConnectedInt16x8, SingleRoundingIsExact) {
  struct Case {
    int64_t x;
    int32_t m;
    int shift;
    int32_t expected;
  } cases[] = {
      {1370217, 1152197920, -7, 5743},
      {-3080046, 1152197920, -7, -12911},
      {-8988, 1073741824, -2, -1123},  // a tie: toward +infinity
      {int64_t{1} << 62, 2147483647, -31, 2147483647},
      {std::numeric_limits<int64_t>::min(), 2147483647, -31, -2147483648LL},
      {std::numeric_limits<int64_t>::min(), 2147483647, 30, -2147483648LL},
      {123456789012, 1500000000, -20, 82239},
      {-5, 1073741824, -31, 0},
      {7, 1073741824, 0, 4},
  };
  for (const Case& c : cases) {
    EXPECT_EQ(ref::MultiplySingleRounding(c.x, c.m, c.shift), c.expected)
        << c.x << " " << c.m << " " << c.shift;
  }
#if defined(__SIZEOF_INT128__)
  std::mt19937_64 rng(5);
  for (int i = 0; i < 100000; ++i) {
    const int64_t x = static_cast<int64_t>(rng()) >> (rng() % 63);
    const int32_t m = static_cast<int32_t>(rng() >> 33);
    const int shift = static_cast<int>(rng() % 62) - 31;
    const int total = 31 - shift;
    __int128 r =
        (static_cast<__int128>(x) * m + (static_cast<__int128>(1) << (total - 1))) >> total;
    r = std::min<__int128>(std::numeric_limits<int32_t>::max(),
                           std::max<__int128>(std::numeric_limits<int32_t>::min(), r));
    ASSERT_EQ(ref::MultiplySingleRounding(x, m, shift), static_cast<int32_t>(r))
        << x << " " << m << " " << shift;
  }
#endif
}

TEST(FullyConnectedHybrid, GoldenSymmetricAndAsymmetric) {
  // Input [0.5, -1]; weights [64, 127] (scale 0.01); bias 0.25.
  // Symmetric: q = [64, -127], scale 1/127: -12033 / 127 * 0.01 + 0.25 = -0.697480. Asymmetric:
  // scale 1.5/255, zero point 42, q = [127, -128]: (64*85 - 127*170) * 1.5/255 * 0.01 +
  // 0.25 = -0.70 (exact here).
  for (bool asymmetric : {false, true}) {
    ModelBuilder m;
    const int x = m.AddInput(DType::kFloat32, {1, 2});
    const int w = m.AddConstant<int8_t>(DType::kInt8, {1, 2}, {64, 127}, {0.01f}, {0});
    const int b = m.AddConstant<float>(DType::kFloat32, {1}, {0.25f});
    const int y = m.AddOutput(DType::kFloat32, {1, 1});
    m.AddOperator(kFc, {x, w, b}, {y}, FcOptions(Act::NONE, false, asymmetric), asymmetric ? 9 : 3);
    const auto out =
        RunOne<float>(m.Build(), MakeArray<float>(DType::kFloat32, {1, 2}, {0.5f, -1.0f}),
                      /*also_tflite=*/true);
    ASSERT_EQ(out.size(), 1u);
    EXPECT_NEAR(out[0], asymmetric ? -0.70f : -0.697480f, 1e-6);
  }
}

TEST(FullyConnectedHybrid, GoldenPerChannelWeightsAndTanh) {
  // Per-channel hybrid weights (newer TFLite; 2.9 ignores the per-channel scales). Input [0.5, -1]
  // symmetric: q = [64, -127], scale 1/127. Units: [64, 127] scale 0.01 -> -12033 / 127 *
  // 0.01 = -0.947480; [10, -20] scale 0.02 -> 3180 / 127 * 0.02 = 0.500787. Biases 0.25, -0.1; the
  // hybrid kernel applies TANH.
  ModelBuilder m;
  const int x = m.AddInput(DType::kFloat32, {1, 2});
  const int w =
      m.AddConstant<int8_t>(DType::kInt8, {2, 2}, {64, 127, 10, -20}, {0.01f, 0.02f}, {0, 0}, 0);
  const int b = m.AddConstant<float>(DType::kFloat32, {2}, {0.25f, -0.1f});
  const int y = m.AddOutput(DType::kFloat32, {1, 2});
  m.AddOperator(kFc, {x, w, b}, {y}, FcOptions(Act::TANH), 3);
  const auto out =
      RunOne<float>(m.Build(), MakeArray<float>(DType::kFloat32, {1, 2}, {0.5f, -1.0f}));
  ASSERT_EQ(out.size(), 2u);
  EXPECT_NEAR(out[0], std::tanh(-0.697480f), 1e-6);
  EXPECT_NEAR(out[1], std::tanh(0.400787f), 1e-6);
}

TEST(FullyConnectedErrors, BadShapesTypesAndActivations) {
  auto model = [](std::vector<int32_t> in_shape, std::vector<int32_t> w_shape, DType bias_type,
                  bool keep, Act act) {
    ModelBuilder m;
    const int x = m.AddInput(DType::kFloat32, in_shape);
    int64_t n = 1;
    for (int32_t d : w_shape) n *= d;
    const int w = m.AddConstant<float>(DType::kFloat32, w_shape, std::vector<float>(n, 1.0f));
    const int units = w_shape[0];
    const int b = bias_type == DType::kFloat32
                      ? m.AddConstant<float>(DType::kFloat32, {units}, std::vector<float>(units))
                      : m.AddConstant<int32_t>(bias_type, {units}, std::vector<int32_t>(units));
    const int y = m.AddOutput(DType::kFloat32, {1, units});
    m.AddOperator(kFc, {x, w, b}, {y}, FcOptions(act, keep));
    return m.Build();
  };
  conv::ExpectPrepareError(model({1, 10}, {4, 3}, DType::kFloat32, false, Act::NONE),
                           StatusCode::kInvalidModel, "not a multiple of the weights' 3 input");
  conv::ExpectPrepareError(model({2, 6}, {4, 3}, DType::kFloat32, true, Act::NONE),
                           StatusCode::kInvalidModel,
                           "weights have 3 input features, input's last dimension is 6");
  conv::ExpectPrepareError(model({1, 3}, {4, 3, 1}, DType::kFloat32, false, Act::NONE),
                           StatusCode::kInvalidModel, "has rank 3, expected 2");
  conv::ExpectPrepareError(model({1, 3}, {4, 3}, DType::kInt32, false, Act::NONE),
                           StatusCode::kInvalidModel, "has type int32; a float op needs");
  conv::ExpectPrepareError(model({1, 3}, {4, 3}, DType::kFloat32, false, Act::TANH),
                           StatusCode::kUnsupported, "fused activation TANH is not supported");
  EXPECT_TRUE(conv::PrepareStatus(model({2, 6}, {4, 3}, DType::kFloat32, false, Act::NONE)).ok());
}

TEST(FullyConnectedErrors, BiasScaleMustMatch) {
  // As TFLite: the bias scale must equal input * weight scale (to 2% of the output scale).
  ModelBuilder m;
  const int x = m.AddInput(DType::kInt8, {1, 2}, {0.5f}, {0});
  const int w = m.AddConstant<int8_t>(DType::kInt8, {1, 2}, {1, 2}, {0.5f}, {0});
  const int b = m.AddConstant<int32_t>(DType::kInt32, {1}, {0}, {1.0f}, {0});
  const int y = m.AddOutput(DType::kInt8, {1, 1}, {0.5f}, {0});
  m.AddOperator(kFc, {x, w, b}, {y}, FcOptions(), 4);
  conv::ExpectPrepareError(m.Build(), StatusCode::kInvalidModel,
                           "differs from input scale * filter scale");
}

std::vector<OpConfig> FcConfigs(Variant v) {
  std::vector<OpConfig> configs;
  uint32_t seed = 200;
  auto add = [&](std::vector<int32_t> input, int in, int units, bool keep, Act act) {
    OpConfig c;
    c.op = tflite::BuiltinOperator::FULLY_CONNECTED;
    c.variant = v;
    c.fc_input = input;
    c.fc_in = in;
    c.out_c = units;
    c.keep_num_dims = keep;
    c.activation = act;
    c.seed = seed++;
    configs.push_back(c);
  };
  add({1, 16}, 16, 8, false, Act::NONE);
  add({1, 37}, 37, 13, false, Act::RELU);
  add({4, 64}, 64, 10, false, Act::RELU6);
  add({2, 3, 20}, 20, 7, true, Act::NONE);           // keep_num_dims
  add({2, 3, 20}, 20, 7, false, Act::RELU_N1_TO_1);  // flattened to [6, 20]
  add({1, 2, 2, 8}, 32, 5, false,
      Act::NONE);                           // rank 4 input flattened to [1, 32]
  add({3, 640}, 640, 1, false, Act::NONE);  // one unit
  add({1, 640}, 640, 128, false, Act::RELU);
  configs[2].bias = false;
  return configs;
}

TEST(FullyConnectedAgreement, AllVariantsMatchTflite) {
  if (!TfliteRefAvailable()) GTEST_SKIP() << "tflite-ref unavailable";
  for (Variant v : {Variant::kFloat, Variant::kInt8PerTensor, Variant::kUInt8, Variant::kInt16x8,
                    Variant::kHybridPerTensor}) {
    for (bool asym : {false, true}) {
      if (asym && !conv::IsHybrid(v)) continue;
      conv::LsbHistogram hist;
      for (OpConfig c : FcConfigs(v)) {
        c.asymmetric_inputs = asym;
        conv::ExpectAgreesWithTflite(c, conv::ToleranceFor(v), &hist);
      }
      std::printf(
          "[ FULLY_CONNECTED %-18s%s ] |ours - tflite| histogram (LSB:count): "
          "%s\n",
          conv::VariantName(v), asym ? " asym" : "", hist.ToString().c_str());
    }
  }
}

}  // namespace
}  // namespace testing
}  // namespace edgeopt
