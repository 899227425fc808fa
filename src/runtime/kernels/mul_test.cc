// MUL, DIV, MINIMUM, MAXIMUM, SQUARED_DIFFERENCE: goldens, agreement with tflite-ref, errors.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>

#include "src/runtime/kernels/elem_test_util.h"

namespace edgeopt {
namespace testing {
namespace {

using Act = tflite::ActivationFunctionType;
using Op = tflite::BuiltinOperator;

OptionsFn BinaryOptions(Op op, Act act) {
  return [op, act](flatbuffers::FlatBufferBuilder& fb) {
    switch (op) {
      case Op::MUL:
        return MakeOptions(tflite::BuiltinOptions::MulOptions, tflite::CreateMulOptions(fb, act));
      case Op::DIV:
        return MakeOptions(tflite::BuiltinOptions::DivOptions, tflite::CreateDivOptions(fb, act));
      case Op::SQUARED_DIFFERENCE:
        return MakeOptions(tflite::BuiltinOptions::SquaredDifferenceOptions,
                           tflite::CreateSquaredDifferenceOptions(fb));
      default:
        return MakeOptions(tflite::BuiltinOptions::MaximumMinimumOptions,
                           tflite::CreateMaximumMinimumOptions(fb));
    }
  };
}

std::vector<uint8_t> BinaryModel(Op op, const TSpec& a, const TSpec& b, const TSpec& out,
                                 Act act = Act::NONE) {
  ModelBuilder m;
  const int x = AddIn(m, a);
  const int y = AddIn(m, b);
  const int z = AddOut(m, out);
  m.AddOperator(op, {x, y}, {z}, BinaryOptions(op, act));
  return m.Build();
}

TEST(MulInt8, Golden) {
  // a scale 0.5 zp 1: {5, -3} -> {2, -2}; b scale 0.25 zp 0: {8, 6} -> {2, 1.5}; product {4, -3};
  // out scale 0.125 zp -10 -> {22, -34}.
  auto model = BinaryModel(Op::MUL, Q(DType::kInt8, {2}, 0.5f, 1), Q(DType::kInt8, {2}, 0.25f, 0),
                           Q(DType::kInt8, {2}, 0.125f, -10));
  auto out = RunEdgeopt(model, {MakeArray<int8_t>(DType::kInt8, {2}, {5, -3}),
                                MakeArray<int8_t>(DType::kInt8, {2}, {8, 6})});
  ASSERT_TRUE(out.ok()) << out.status().message();
  EXPECT_EQ(ToVector<int8_t>((*out)[0]), (std::vector<int8_t>{22, -34}));
}

TEST(MulFloat, GoldenRelu6Broadcast) {
  auto model = BinaryModel(Op::MUL, F32({2, 2}), F32({1}), F32({2, 2}), Act::RELU6);
  auto out = RunEdgeopt(model, {MakeArray<float>(DType::kFloat32, {2, 2}, {1, -1, 2.5f, 4}),
                                MakeArray<float>(DType::kFloat32, {1}, {2})});
  ASSERT_TRUE(out.ok()) << out.status().message();
  EXPECT_EQ(ToVector<float>((*out)[0]), (std::vector<float>{2, 0, 5, 6}));
}

TEST(DivFloat, Golden) {
  auto model = BinaryModel(Op::DIV, F32({3}), F32({3}), F32({3}));
  auto out = RunEdgeopt(model, {MakeArray<float>(DType::kFloat32, {3}, {1, -6, 0}),
                                MakeArray<float>(DType::kFloat32, {3}, {4, 3, 2})});
  ASSERT_TRUE(out.ok()) << out.status().message();
  EXPECT_EQ(ToVector<float>((*out)[0]), (std::vector<float>{0.25f, -2, 0}));
}

TEST(DivInt32, GoldenAndDivisionByZero) {
  auto model = BinaryModel(Op::DIV, Plain(DType::kInt32, {3}), Plain(DType::kInt32, {3}),
                           Plain(DType::kInt32, {3}));
  auto out = RunEdgeopt(model, {MakeArray<int32_t>(DType::kInt32, {3}, {7, -7, 6}),
                                MakeArray<int32_t>(DType::kInt32, {3}, {2, 2, -3})});
  ASSERT_TRUE(out.ok()) << out.status().message();
  EXPECT_EQ(ToVector<int32_t>((*out)[0]), (std::vector<int32_t>{3, -3, -2}));
  auto bad = RunEdgeopt(model, {MakeArray<int32_t>(DType::kInt32, {3}, {7, -7, 6}),
                                MakeArray<int32_t>(DType::kInt32, {3}, {2, 0, -3})});
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("division by zero"), std::string::npos);
}

TEST(MinMax, GoldenInt8AndFloat) {
  auto mx = BinaryModel(Op::MAXIMUM, Q(DType::kInt8, {3}, 0.1f, 3), Q(DType::kInt8, {1}, 0.1f, 3),
                        Q(DType::kInt8, {3}, 0.1f, 3));
  auto out = RunEdgeopt(mx, {MakeArray<int8_t>(DType::kInt8, {3}, {-5, 0, 9}),
                             MakeArray<int8_t>(DType::kInt8, {1}, {1})});
  ASSERT_TRUE(out.ok()) << out.status().message();
  EXPECT_EQ(ToVector<int8_t>((*out)[0]), (std::vector<int8_t>{1, 1, 9}));
  auto mn = BinaryModel(Op::MINIMUM, F32({2}), F32({2}), F32({2}));
  auto out2 = RunEdgeopt(mn, {MakeArray<float>(DType::kFloat32, {2}, {-1.5f, 3}),
                              MakeArray<float>(DType::kFloat32, {2}, {2, 2})});
  ASSERT_TRUE(out2.ok()) << out2.status().message();
  EXPECT_EQ(ToVector<float>((*out2)[0]), (std::vector<float>{-1.5f, 2}));
  // Ties return the second operand, as TFLite's `el1 > el2 ? el1 : el2`: the sign of a zero
  // shows it.
  for (Op op : {Op::MAXIMUM, Op::MINIMUM}) {
    auto model = BinaryModel(op, F32({2}), F32({2}), F32({2}));
    auto ties = RunEdgeopt(model, {MakeArray<float>(DType::kFloat32, {2}, {0.0f, -0.0f}),
                                   MakeArray<float>(DType::kFloat32, {2}, {-0.0f, 0.0f})});
    ASSERT_TRUE(ties.ok()) << ties.status().message();
    const std::vector<float> v = ToVector<float>((*ties)[0]);
    EXPECT_TRUE(std::signbit(v[0])) << "the second operand, -0";
    EXPECT_FALSE(std::signbit(v[1])) << "the second operand, +0";
    // The official runtime agrees.
    auto ref = RunTfliteRef(model, {MakeArray<float>(DType::kFloat32, {2}, {0.0f, -0.0f}),
                                    MakeArray<float>(DType::kFloat32, {2}, {-0.0f, 0.0f})});
    ASSERT_TRUE(ref.ok()) << ref.status().message();
    const std::vector<float> r = ToVector<float>((*ref)[0]);
    EXPECT_EQ(std::signbit(r[0]), std::signbit(v[0]));
    EXPECT_EQ(std::signbit(r[1]), std::signbit(v[1]));
  }
  // The same rules in the vector paths (same shapes; a [3, 13] input repeated over 2 rows): NaNs
  // and signed zeros give what `el1 > el2 ? el1 : el2` gives, bit for bit.
  std::vector<float> x(78), y(78);
  for (int i = 0; i < 78; ++i) {
    x[i] = static_cast<float>((i * 37) % 11) - 5.0f;
    y[i] = static_cast<float>((i * 53) % 13) - 6.0f;
    if (i % 9 == 4) x[i] = std::nanf("");
    if (i % 7 == 2) y[i] = std::nanf("");
    if (i % 10 == 3) x[i] = -0.0f, y[i] = 0.0f;
  }
  for (Op op : {Op::MAXIMUM, Op::MINIMUM}) {
    for (bool repeat : {false, true}) {
      const std::vector<int32_t> bshape =
          repeat ? std::vector<int32_t>{1, 3, 13} : std::vector<int32_t>{2, 3, 13};
      auto model = BinaryModel(op, F32({2, 3, 13}), F32(bshape), F32({2, 3, 13}));
      const std::vector<float> yb(y.begin(), y.begin() + (repeat ? 39 : 78));
      auto got = RunEdgeopt(model, {MakeArray<float>(DType::kFloat32, {2, 3, 13}, x),
                                    MakeArray<float>(DType::kFloat32, bshape, yb)});
      ASSERT_TRUE(got.ok()) << got.status().message();
      const std::vector<float> v = ToVector<float>((*got)[0]);
      ASSERT_EQ(v.size(), 78u);
      for (int i = 0; i < 78; ++i) {
        const float a = x[i], b = yb[repeat ? i % 39 : i];
        const float want = (op == Op::MAXIMUM ? a > b : a < b) ? a : b;
        EXPECT_EQ(std::memcmp(&v[i], &want, 4), 0) << i << ": " << a << ", " << b << " -> " << v[i];
      }
    }
  }
}

TEST(SquaredDifference, GoldenFloat) {
  auto model = BinaryModel(Op::SQUARED_DIFFERENCE, F32({2}), F32({2}), F32({2}));
  auto out = RunEdgeopt(model, {MakeArray<float>(DType::kFloat32, {2}, {1, -2}),
                                MakeArray<float>(DType::kFloat32, {2}, {4, 1})});
  ASSERT_TRUE(out.ok()) << out.status().message();
  EXPECT_EQ(ToVector<float>((*out)[0]), (std::vector<float>{9, 9}));
}

struct Case {
  std::vector<int32_t> a, b, out;
};
const Case kCases[] = {
    {{2, 3, 4}, {4}, {2, 3, 4}},
    {{2, 1, 4}, {1, 3, 1}, {2, 3, 4}},
    {{7}, {7}, {7}},
    {{1, 4, 4, 3}, {1, 1, 1, 3}, {1, 4, 4, 3}},
    {{}, {2, 2}, {2, 2}},
    {{3, 5}, {3, 5}, {3, 5}},
    // Long enough for the vector paths (MINIMUM / MAXIMUM: one shape, or one input repeated
    // along the other's leading dimensions, as a causal attention mask over the heads).
    {{2, 3, 45}, {1, 3, 45}, {2, 3, 45}},
    {{1, 3, 45}, {2, 3, 45}, {2, 3, 45}},
    {{70}, {70}, {70}},
};

// One model with every case as an independent node; quantized params vary per case.
void RunAgreement(Op op, DType type, Act act, uint32_t seed, bool same_quant = false,
                  int max_rank = 4) {
  if (!TfliteRefAvailable()) GTEST_SKIP() << "tflite-ref unavailable";
  ModelBuilder m;
  std::vector<TSpec> inputs;
  int k = 0;
  for (const Case& c : kCases) {
    ++k;
    if (static_cast<int>(c.out.size()) > max_rank) continue;
    TSpec a{type, c.a}, b{type, c.b}, o{type, c.out};
    if (type == DType::kInt8 || type == DType::kUInt8) {
      const int64_t base = type == DType::kUInt8 ? 128 : 0;
      a.scale = 0.02f * k + 0.013f;
      a.zero_point = base + (k * 7) % 40 - 20;
      b.scale = 0.05f / k + 0.001f * k;
      b.zero_point = base - (k * 11) % 50 + 25;
      o.scale = (op == Op::MUL || op == Op::SQUARED_DIFFERENCE ? 0.01f : 0.05f) + 0.01f * (k % 3);
      o.zero_point = base + (k % 5) * 9 - 18;
      if (op == Op::DIV) o.scale = 0.2f + 0.05f * k;
    } else if (type == DType::kInt16) {
      a.scale = 0.0003f * k + 0.0001f;
      b.scale = 0.0007f / k;
      o.scale = 0.00005f + 0.00001f * (k % 4);
    }
    if (same_quant)
      b = TSpec{type, c.b, a.scale, a.zero_point}, o = TSpec{type, c.out, a.scale, a.zero_point};
    const int x = AddIn(m, a), y = AddIn(m, b), z = AddOut(m, o);
    m.AddOperator(op, {x, y}, {z}, BinaryOptions(op, act));
    inputs.push_back(a);
    inputs.push_back(b);
  }
  auto model = m.Build();
  const std::string what = std::string(tflite::EnumNameBuiltinOperator(op)) + " " +
                           DTypeName(type) + " act" + std::to_string(static_cast<int>(act));
  double lo = -3, hi = 3;
  if (type == DType::kInt32 || type == DType::kInt64) lo = -1000, hi = 1000;
  auto in = RandomInputs(inputs, seed, lo, hi);
  ExpectAgreesWithRef(model, in, ExactInts(), what);
}

TEST(MulAgreement, AllTypes) {
  RunAgreement(Op::MUL, DType::kFloat32, Act::NONE, 1);
  RunAgreement(Op::MUL, DType::kFloat32, Act::RELU, 2);
  RunAgreement(Op::MUL, DType::kInt8, Act::NONE, 3);
  RunAgreement(Op::MUL, DType::kInt8, Act::RELU6, 4);
  RunAgreement(Op::MUL, DType::kUInt8, Act::NONE, 5);
  RunAgreement(Op::MUL, DType::kInt16, Act::NONE, 6);
  RunAgreement(Op::MUL, DType::kInt32, Act::NONE, 7);
}

TEST(DivAgreement, FloatAndUInt8) {
  RunAgreement(Op::DIV, DType::kFloat32, Act::NONE, 11);
  RunAgreement(Op::DIV, DType::kUInt8, Act::NONE, 12);
  RunAgreement(Op::DIV, DType::kUInt8, Act::RELU6, 13);
}

// Every uint8 numerator against every uint8 divisor (zero numerators and zero divisors included),
// for two sets of quantization parameters.
TEST(DivAgreement, UInt8Exhaustive) {
  if (!TfliteRefAvailable()) GTEST_SKIP() << "tflite-ref unavailable";
  std::vector<uint8_t> all(256);
  for (int i = 0; i < 256; ++i) all[i] = static_cast<uint8_t>(i);
  const float params[2][6] = {{0.05f, 128, 0.02f, 100, 0.7f, 30},
                              {0.3f, 3, 0.01f, 250, 0.05f, 128}};
  for (const auto& p : params) {
    auto model = BinaryModel(Op::DIV, Q(DType::kUInt8, {256, 1}, p[0], static_cast<int64_t>(p[1])),
                             Q(DType::kUInt8, {1, 256}, p[2], static_cast<int64_t>(p[3])),
                             Q(DType::kUInt8, {256, 256}, p[4], static_cast<int64_t>(p[5])));
    ExpectAgreesWithRef(model,
                        {MakeArray<uint8_t>(DType::kUInt8, {256, 1}, all),
                         MakeArray<uint8_t>(DType::kUInt8, {1, 256}, all)},
                        ExactInts(), "DIV uint8 exhaustive");
  }
}

TEST(MinMaxAgreement, AllTypes) {
  for (DType t : {DType::kFloat32, DType::kInt8, DType::kUInt8, DType::kInt16, DType::kInt32,
                  DType::kInt64}) {
    RunAgreement(Op::MAXIMUM, t, Act::NONE, 20, /*same_quant=*/true, 5);
    RunAgreement(Op::MINIMUM, t, Act::NONE, 21, /*same_quant=*/true, 5);
  }
}

TEST(SquaredDifferenceAgreement, FloatInt8) {
  RunAgreement(Op::SQUARED_DIFFERENCE, DType::kFloat32, Act::NONE, 30);
  RunAgreement(Op::SQUARED_DIFFERENCE, DType::kInt8, Act::NONE, 31);
}

TEST(BinaryErrors, UnsupportedTypes) {
  ExpectPrepareError(BinaryModel(Op::DIV, Q(DType::kInt8, {2}, 1.0f, 0),
                                 Q(DType::kInt8, {2}, 1.0f, 0), Q(DType::kInt8, {2}, 1.0f, 0)),
                     "DIV supports");
  ExpectPrepareError(BinaryModel(Op::MUL, Plain(DType::kBool, {2}), Plain(DType::kBool, {2}),
                                 Plain(DType::kBool, {2})),
                     "does not support type bool");
}

}  // namespace
}  // namespace testing
}  // namespace edgeopt
