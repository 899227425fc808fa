// RELU, RELU6, RELU_N1_TO_1, LEAKY_RELU, PRELU, HARD_SWISH, ELU, GELU, LOGISTIC, TANH, SOFTMAX,
// LOG_SOFTMAX: goldens, exhaustive 8-bit agreement with tflite-ref, int16 agreement, errors.
#include <gtest/gtest.h>

#include <cmath>

#include "src/runtime/kernels/elem_test_util.h"

namespace edgeopt {
namespace testing {
namespace {

using Op = tflite::BuiltinOperator;
namespace fb = flatbuffers;

// Every value of an 8-bit type, as a [256] input.
NpyArray All8(DType type) {
  NpyArray a;
  a.dtype = type;
  a.shape = {256};
  a.data.resize(256);
  for (int i = 0; i < 256; ++i) a.data[i] = static_cast<uint8_t>(i);
  return a;
}

// Every int16 value, as a [65536] input.
NpyArray All16() {
  std::vector<int16_t> v(65536);
  for (int i = 0; i < 65536; ++i) v[i] = static_cast<int16_t>(i - 32768);
  return MakeArray<int16_t>(DType::kInt16, {65536}, v);
}

struct QPair {
  float in_scale;
  int64_t in_zp;
  float out_scale;
  int64_t out_zp;
};

// One model: the op applied to all 256 values of `type` under each quantization pair.
void Exhaustive8(Op op, DType type, const std::vector<QPair>& pairs, OptionsFn options,
                 const std::string& what, const Tolerance& tol = ExactInts()) {
  if (!TfliteRefAvailable()) GTEST_SKIP() << "tflite-ref unavailable";
  ModelBuilder m;
  std::vector<NpyArray> ins;
  for (const QPair& p : pairs) {
    const int x = AddIn(m, Q(type, {256}, p.in_scale, p.in_zp));
    m.AddOperator(op, {x}, {AddOut(m, Q(type, {256}, p.out_scale, p.out_zp))}, options);
    ins.push_back(All8(type));
  }
  ExpectAgreesWithRef(m.Build(), ins, tol, what);
}

// Float agreement on random inputs in [lo, hi].
void FloatAgreement(Op op, OptionsFn options, const std::string& what, double lo = -6,
                    double hi = 6) {
  if (!TfliteRefAvailable()) GTEST_SKIP() << "tflite-ref unavailable";
  ModelBuilder m;
  const int x = AddIn(m, F32({4, 100}));
  m.AddOperator(op, {x}, {AddOut(m, F32({4, 100}))}, std::move(options));
  ExpectAgreesWithRef(m.Build(), {RandomFor(F32({4, 100}), 77, lo, hi)}, Tolerance{1e-6, 1e-5, 0},
                      what);
}

std::vector<float> RunFloat(Op op, std::vector<float> x, OptionsFn options = nullptr) {
  ModelBuilder m;
  const int32_t n = static_cast<int32_t>(x.size());
  const int in = AddIn(m, F32({n}));
  m.AddOperator(op, {in}, {AddOut(m, F32({n}))}, std::move(options));
  auto out = RunEdgeopt(m.Build(), {MakeArray<float>(DType::kFloat32, {n}, x)});
  EXPECT_TRUE(out.ok()) << out.status().message();
  return out.ok() ? ToVector<float>((*out)[0]) : std::vector<float>();
}

OptionsFn LeakyAlpha(float alpha) {
  return [alpha](fb::FlatBufferBuilder& b) {
    return MakeOptions(tflite::BuiltinOptions::LeakyReluOptions,
                       tflite::CreateLeakyReluOptions(b, alpha));
  };
}
OptionsFn SoftmaxBeta(float beta) {
  return [beta](fb::FlatBufferBuilder& b) {
    return MakeOptions(tflite::BuiltinOptions::SoftmaxOptions,
                       tflite::CreateSoftmaxOptions(b, beta));
  };
}

const std::vector<QPair> kGeneralPairs = {
    {0.05f, 0, 0.05f, 0}, {0.1f, 10, 0.03f, -20}, {0.02f, -50, 0.1f, 30}, {0.5f, 100, 0.7f, -100}};
const std::vector<QPair> kGeneralPairsU8 = {
    {0.05f, 128, 0.05f, 128}, {0.1f, 10, 0.03f, 0}, {0.02f, 200, 0.1f, 30}, {0.5f, 100, 0.7f, 255}};

// --- RELU family / LEAKY_RELU / PRELU ------------------------------------------------------------

TEST(Relu, GoldenFloat) {
  const std::vector<float> x = {-2, -0.5f, 0.5f, 7};
  EXPECT_EQ(RunFloat(Op::RELU, x), (std::vector<float>{0, 0, 0.5f, 7}));
  EXPECT_EQ(RunFloat(Op::RELU6, x), (std::vector<float>{0, 0, 0.5f, 6}));
  EXPECT_EQ(RunFloat(Op::RELU_N1_TO_1, x), (std::vector<float>{-1, -0.5f, 0.5f, 1}));
  EXPECT_EQ(RunFloat(Op::LEAKY_RELU, x, LeakyAlpha(0.1f)),
            (std::vector<float>{-0.2f, -0.05f, 0.5f, 7}));
}

TEST(Relu, GoldenInt8) {
  // in scale 0.1 zp 0 -> out scale 0.05 zp -128: relu6 clamps to [-128, -8].
  ModelBuilder m;
  const int x = AddIn(m, Q(DType::kInt8, {4}, 0.1f, 0));
  m.AddOperator(Op::RELU6, {x}, {AddOut(m, Q(DType::kInt8, {4}, 0.05f, -128))});
  auto out = RunEdgeopt(m.Build(), {MakeArray<int8_t>(DType::kInt8, {4}, {-5, 3, 59, 61})});
  ASSERT_TRUE(out.ok()) << out.status().message();
  EXPECT_EQ(ToVector<int8_t>((*out)[0]), (std::vector<int8_t>{-128, -122, -10, -8}));
}

TEST(Relu, ExhaustiveInt8UInt8) {
  for (Op op : {Op::RELU, Op::RELU6, Op::RELU_N1_TO_1}) {
    const std::string name = tflite::EnumNameBuiltinOperator(op);
    Exhaustive8(op, DType::kInt8, kGeneralPairs, nullptr, name + " int8");
    Exhaustive8(op, DType::kUInt8, kGeneralPairsU8, nullptr, name + " uint8");
  }
}

TEST(Relu, ExhaustiveInt16) {
  if (!TfliteRefAvailable()) GTEST_SKIP() << "tflite-ref unavailable";
  ModelBuilder m;
  std::vector<NpyArray> ins;
  for (Op op : {Op::RELU, Op::RELU6}) {
    const int x = AddIn(m, Q(DType::kInt16, {65536}, 3e-4f, 0));
    m.AddOperator(op, {x}, {AddOut(m, Q(DType::kInt16, {65536}, 2e-4f, 0))});
    ins.push_back(All16());
  }
  ExpectAgreesWithRef(m.Build(), ins, ExactInts(), "RELU/RELU6 int16 exhaustive");
}

TEST(LeakyRelu, ExhaustiveInt8UInt8AndInt16) {
  Exhaustive8(Op::LEAKY_RELU, DType::kInt8, kGeneralPairs, LeakyAlpha(0.2f), "LEAKY_RELU int8");
  Exhaustive8(Op::LEAKY_RELU, DType::kUInt8, kGeneralPairsU8, LeakyAlpha(0.01f),
              "LEAKY_RELU uint8");
  if (!TfliteRefAvailable()) return;
  ModelBuilder m;
  const int x = AddIn(m, Q(DType::kInt16, {65536}, 1e-3f, 0));
  m.AddOperator(Op::LEAKY_RELU, {x}, {AddOut(m, Q(DType::kInt16, {65536}, 7e-4f, 0))},
                LeakyAlpha(0.3f));
  ExpectAgreesWithRef(m.Build(), {All16()}, ExactInts(), "LEAKY_RELU int16 exhaustive");
  FloatAgreement(Op::LEAKY_RELU, LeakyAlpha(0.25f), "LEAKY_RELU float");
}

TEST(Prelu, GoldenFloatAndAgreementQuantized) {
  ModelBuilder g;
  const int x = AddIn(g, F32({2, 2}));
  const int a = AddConst<float>(g, F32({2}), {0.5f, 2.0f});
  g.AddOperator(Op::PRELU, {x, a}, {AddOut(g, F32({2, 2}))});
  auto out = RunEdgeopt(g.Build(), {MakeArray<float>(DType::kFloat32, {2, 2}, {-2, -2, 3, 3})});
  ASSERT_TRUE(out.ok()) << out.status().message();
  EXPECT_EQ(ToVector<float>((*out)[0]), (std::vector<float>{-1, -4, 3, 3}));
  if (!TfliteRefAvailable()) return;
  ModelBuilder m;
  std::vector<TSpec> ins;
  for (DType t : {DType::kInt8, DType::kUInt8}) {
    const int64_t base = t == DType::kUInt8 ? 128 : 0;
    ins.push_back(Q(t, {1, 4, 4, 8}, 0.05f, base + 3));
    const int xi = AddIn(m, ins.back());
    std::vector<uint8_t> alpha_bytes(8);
    for (int c = 0; c < 8; ++c) alpha_bytes[c] = static_cast<uint8_t>(base + c * 9 - 30);
    const int ai = m.AddConstantBytes(t, {1, 1, 8}, alpha_bytes, {0.01f}, {base});
    m.AddOperator(Op::PRELU, {xi, ai}, {AddOut(m, Q(t, {1, 4, 4, 8}, 0.04f, base - 5))});
  }
  ins.push_back(F32({3, 5}));
  const int xf = AddIn(m, ins.back());
  const int af = AddIn(m, F32({5}));
  ins.push_back(F32({5}));
  m.AddOperator(Op::PRELU, {xf, af}, {AddOut(m, F32({3, 5}))});
  ExpectAgreesWithRef(m.Build(), RandomInputs(ins, 21), ExactInts(), "PRELU");
}

// --- HARD_SWISH / ELU / GELU ---------------------------------------------------------------------

TEST(HardSwish, GoldenFloat) {
  EXPECT_EQ(RunFloat(Op::HARD_SWISH, {-4, -1.5f, 0, 1.5f, 4}),
            (std::vector<float>{-0.0f, -0.375f, 0, 1.125f, 4}));
}

TEST(HardSwish, ExhaustiveInt8UInt8) {
  std::vector<QPair> pairs = kGeneralPairs;
  pairs.push_back({0.3f, -20, 0.01f, -128});  // reluish multiplier needing a left shift
  pairs.push_back({0.004f, 5, 0.002f, 0});
  Exhaustive8(Op::HARD_SWISH, DType::kInt8, pairs, nullptr, "HARD_SWISH int8");
  Exhaustive8(Op::HARD_SWISH, DType::kUInt8, kGeneralPairsU8, nullptr, "HARD_SWISH uint8");
  FloatAgreement(Op::HARD_SWISH, nullptr, "HARD_SWISH float");
}

TEST(Elu, GoldenAndExhaustive) {
  const auto y = RunFloat(Op::ELU, {-1, 0, 2});
  ASSERT_EQ(y.size(), 3u);
  EXPECT_NEAR(y[0], std::expm1(-1.0f), 1e-7);
  EXPECT_EQ(y[1], 0);
  EXPECT_EQ(y[2], 2);
  Exhaustive8(Op::ELU, DType::kInt8, kGeneralPairs, nullptr, "ELU int8");
  FloatAgreement(Op::ELU, nullptr, "ELU float");
}

OptionsFn GeluApprox(bool approximate) {
  return [approximate](fb::FlatBufferBuilder& b) {
    return MakeOptions(tflite::BuiltinOptions::GeluOptions,
                       tflite::CreateGeluOptions(b, approximate));
  };
}

TEST(Gelu, GoldenFloat) {
  const auto exact = RunFloat(Op::GELU, {-1, 0, 1}, GeluApprox(false));
  const auto approx = RunFloat(Op::GELU, {-1, 0, 1}, GeluApprox(true));
  ASSERT_EQ(exact.size(), 3u);
  ASSERT_EQ(approx.size(), 3u);
  EXPECT_NEAR(exact[0], -0.15865525f, 1e-6);  // -Phi(-1)
  EXPECT_NEAR(exact[2], 0.84134475f, 1e-6);
  EXPECT_NEAR(approx[2], 0.84119199f, 1e-6);  // tanh approximation
  EXPECT_EQ(exact[1], 0);
}

TEST(Gelu, Agreement) {
  FloatAgreement(Op::GELU, GeluApprox(false), "GELU float exact");
  FloatAgreement(Op::GELU, GeluApprox(true), "GELU float approximate");
  Exhaustive8(Op::GELU, DType::kInt8, kGeneralPairs, GeluApprox(false), "GELU int8 exact");
  Exhaustive8(Op::GELU, DType::kUInt8, kGeneralPairsU8, GeluApprox(true), "GELU uint8 approx");
}

// --- LOGISTIC / TANH -----------------------------------------------------------------------------

TEST(LogisticTanh, GoldenFloat) {
  const auto s = RunFloat(Op::LOGISTIC, {0, 2});
  const auto t = RunFloat(Op::TANH, {0, 0.5f});
  ASSERT_EQ(s.size(), 2u);
  ASSERT_EQ(t.size(), 2u);
  EXPECT_EQ(s[0], 0.5f);
  EXPECT_NEAR(s[1], 0.88079708f, 1e-6);
  EXPECT_EQ(t[0], 0.0f);
  EXPECT_NEAR(t[1], 0.46211716f, 1e-6);
}

TEST(LogisticTanh, ExhaustiveInt8UInt8) {
  Exhaustive8(Op::LOGISTIC, DType::kInt8,
              {{0.05f, 0, 1.0f / 256, -128},
               {0.1f, 30, 1.0f / 256, -128},
               {0.02f, -100, 1.0f / 256, -128},
               {0.3f, 0, 1.0f / 256, -128}},
              nullptr, "LOGISTIC int8");
  Exhaustive8(Op::LOGISTIC, DType::kUInt8, {{0.05f, 128, 1.0f / 256, 0}, {0.2f, 30, 1.0f / 256, 0}},
              nullptr, "LOGISTIC uint8");
  Exhaustive8(Op::TANH, DType::kInt8,
              {{0.05f, 0, 1.0f / 128, 0}, {0.1f, 30, 1.0f / 128, 0}, {0.02f, -100, 1.0f / 128, 0}},
              nullptr, "TANH int8");
  Exhaustive8(Op::TANH, DType::kUInt8, {{0.05f, 128, 1.0f / 128, 128}}, nullptr, "TANH uint8");
  FloatAgreement(Op::LOGISTIC, nullptr, "LOGISTIC float", -20, 20);
  FloatAgreement(Op::TANH, nullptr, "TANH float");
}

// int16 over all 65536 inputs: power-of-two input scales (gemmlowp fixed point) and general scales
// (the interpolated sigmoid table).
TEST(LogisticTanh, ExhaustiveInt16) {
  if (!TfliteRefAvailable()) GTEST_SKIP() << "tflite-ref unavailable";
  for (Op op : {Op::LOGISTIC, Op::TANH}) {
    std::vector<float> scales = {1.0f / 4096, 3.1e-4f, 1.7e-3f};
    if (op == Op::TANH) scales.push_back(1.0f / 8192);  // left shift 1
    ModelBuilder m;
    std::vector<NpyArray> ins;
    for (float s : scales) {
      const int x = AddIn(m, Q(DType::kInt16, {65536}, s, 0));
      m.AddOperator(op, {x}, {AddOut(m, Q(DType::kInt16, {65536}, 1.0f / 32768, 0))});
      ins.push_back(All16());
    }
    ExpectAgreesWithRef(m.Build(), ins, ExactInts(),
                        std::string(tflite::EnumNameBuiltinOperator(op)) + " int16 exhaustive");
  }
}

TEST(LogisticTanh, Errors) {
  ModelBuilder m;
  const int x = AddIn(m, Q(DType::kInt8, {2}, 0.1f, 0));
  m.AddOperator(Op::LOGISTIC, {x}, {AddOut(m, Q(DType::kInt8, {2}, 0.1f, 0))});
  ExpectPrepareError(m.Build(), "output scale must be 1/256");
  ModelBuilder m2;
  const int x2 = AddIn(m2, Q(DType::kInt16, {2}, 0.001f, 3));
  m2.AddOperator(Op::TANH, {x2}, {AddOut(m2, Q(DType::kInt16, {2}, 1.0f / 32768, 0))});
  ExpectPrepareError(m2.Build(), "zero points 0");
}

// --- SOFTMAX / LOG_SOFTMAX -----------------------------------------------------------------------

TEST(Softmax, GoldenFloatAndUInt8) {
  const auto y = RunFloat(Op::SOFTMAX, {0, std::log(3.0f)}, SoftmaxBeta(1.0f));
  ASSERT_EQ(y.size(), 2u);
  EXPECT_NEAR(y[0], 0.25f, 1e-7);
  EXPECT_NEAR(y[1], 0.75f, 1e-7);
  // Two equal inputs -> 0.5 each -> 128 at scale 1/256.
  ModelBuilder m;
  const int x = AddIn(m, Q(DType::kUInt8, {1, 2}, 0.1f, 0));
  m.AddOperator(Op::SOFTMAX, {x}, {AddOut(m, Q(DType::kUInt8, {1, 2}, 1.0f / 256, 0))},
                SoftmaxBeta(1.0f));
  auto out = RunEdgeopt(m.Build(), {MakeArray<uint8_t>(DType::kUInt8, {1, 2}, {7, 7})});
  ASSERT_TRUE(out.ok()) << out.status().message();
  EXPECT_EQ(ToVector<uint8_t>((*out)[0]), (std::vector<uint8_t>{128, 128}));
}

TEST(Softmax, AgreementAllTypes) {
  if (!TfliteRefAvailable()) GTEST_SKIP() << "tflite-ref unavailable";
  ModelBuilder m;
  std::vector<TSpec> ins;
  auto add = [&](const TSpec& in, const TSpec& out, float beta) {
    ins.push_back(in);
    m.AddOperator(Op::SOFTMAX, {AddIn(m, in)}, {AddOut(m, out)}, SoftmaxBeta(beta));
  };
  add(F32({3, 10}), F32({3, 10}), 1.0f);
  add(F32({2, 2, 7}), F32({2, 2, 7}), 0.5f);
  add(Q(DType::kInt8, {5, 10}, 0.1f, 4), Q(DType::kInt8, {5, 10}, 1.0f / 256, -128), 1.0f);
  add(Q(DType::kInt8, {2, 3, 33}, 0.03f, -7), Q(DType::kInt8, {2, 3, 33}, 1.0f / 256, -128), 2.0f);
  add(Q(DType::kUInt8, {4, 12}, 0.08f, 128), Q(DType::kUInt8, {4, 12}, 1.0f / 256, 0), 1.0f);
  // Attention probabilities (rows in blocks of four), and 7 rows (a block and 3 more).
  add(Q(DType::kInt8, {2, 4, 28}, 0.06f, 3), Q(DType::kInt8, {2, 4, 28}, 1.0f / 256, -128), 1.0f);
  add(Q(DType::kInt8, {7, 5}, 0.2f, -3), Q(DType::kInt8, {7, 5}, 1.0f / 256, -128), 1.0f);
  // Row lengths around the 16-byte maximum and 4-wide rounding (and saturation at 127: a
  // probability of 1 is 128 levels over the zero point).
  add(Q(DType::kInt8, {3, 16}, 0.5f, 0), Q(DType::kInt8, {3, 16}, 1.0f / 256, -128), 1.0f);
  add(Q(DType::kInt8, {2, 5, 64}, 0.04f, 9), Q(DType::kInt8, {2, 5, 64}, 1.0f / 256, -128), 1.0f);
  add(Q(DType::kInt8, {4, 17}, 0.3f, -1), Q(DType::kInt8, {4, 17}, 1.0f / 256, -128), 1.5f);
  add(Q(DType::kInt8, {3, 9}, 0.1f, 0), Q(DType::kInt16, {3, 9}, 1.0f / 32768, 0), 1.0f);
  add(Q(DType::kInt16, {4, 16}, 1e-3f, 0), Q(DType::kInt16, {4, 16}, 1.0f / 32768, 0), 1.0f);
  add(Q(DType::kInt16, {2, 50}, 4e-4f, 0), Q(DType::kInt16, {2, 50}, 1.0f / 32768, 0), 1.0f);
  ExpectAgreesWithRef(m.Build(), RandomInputs(ins, 31), Tolerance{1e-6, 1e-5, 0}, "SOFTMAX x13");
}

TEST(LogSoftmax, AgreementFloatInt8UInt8) {
  if (!TfliteRefAvailable()) GTEST_SKIP() << "tflite-ref unavailable";
  ModelBuilder m;
  std::vector<TSpec> ins = {F32({3, 10}), Q(DType::kInt8, {4, 20}, 0.1f, 3),
                            Q(DType::kUInt8, {4, 20}, 0.05f, 128),
                            Q(DType::kInt8, {2, 7}, 0.5f, 0)};
  const TSpec outs[] = {F32({3, 10}), Q(DType::kInt8, {4, 20}, 16.0f / 256, 127),
                        Q(DType::kUInt8, {4, 20}, 16.0f / 256, 255),
                        Q(DType::kInt8, {2, 7}, 16.0f / 256, 127)};
  for (size_t i = 0; i < ins.size(); ++i) {
    m.AddOperator(Op::LOG_SOFTMAX, {AddIn(m, ins[i])}, {AddOut(m, outs[i])});
  }
  ExpectAgreesWithRef(m.Build(), RandomInputs(ins, 41), Tolerance{1e-5, 1e-5, 0}, "LOG_SOFTMAX");
}

TEST(Softmax, Errors) {
  ModelBuilder m;
  const int x = AddIn(m, Q(DType::kInt8, {2}, 0.1f, 0));
  m.AddOperator(Op::SOFTMAX, {x}, {AddOut(m, F32({2}))});
  ExpectPrepareError(m.Build(), "not supported");
  ModelBuilder m2;
  const int x2 = AddIn(m2, Q(DType::kInt8, {2}, 0.1f, 0));
  m2.AddOperator(Op::LOG_SOFTMAX, {x2}, {AddOut(m2, Q(DType::kInt8, {2}, 1.0f / 256, -128))});
  ExpectPrepareError(m2.Build(), "scale 16/256");
}

}  // namespace
}  // namespace testing
}  // namespace edgeopt
