// QUANTIZE, DEQUANTIZE, CAST: goldens (ties, saturation, per-channel, float16 folding), agreement
// with tflite-ref, errors.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include "src/runtime/kernels/elem_test_util.h"

namespace edgeopt {
namespace testing {
namespace {

using Op = tflite::BuiltinOperator;

std::vector<uint8_t> UnaryModel(Op op, const TSpec& in, const TSpec& out, OptionsFn o = nullptr) {
  ModelBuilder m;
  const int x = AddIn(m, in);
  m.AddOperator(op, {x}, {AddOut(m, out)}, std::move(o));
  return m.Build();
}

TEST(Quantize, GoldenTiesAndSaturation) {
  // scale 0.5, zp -1: 0.25 -> round(0.5) = 1 -> 0; -0.25 -> -1 -> -2; 100 -> 199 -> 127.
  auto model = UnaryModel(Op::QUANTIZE, F32({4}), Q(DType::kInt8, {4}, 0.5f, -1));
  auto out = RunEdgeopt(model, {MakeArray<float>(DType::kFloat32, {4}, {0.25f, -0.25f, 100, -1})});
  ASSERT_TRUE(out.ok()) << out.status().message();
  EXPECT_EQ(ToVector<int8_t>((*out)[0]), (std::vector<int8_t>{0, -2, 127, -3}));
}

// float -> int16 (and int8, uint8): each value rounded half away from zero as the double
// quotient's std::round, on exact ties of the grid, just either side of them, negatives, values
// that saturate, infinities and NaN.
TEST(Quantize, RoundsLikeStdRoundOnEveryKindOfValue) {
  std::vector<float> x;
  const float scale = 3.1e-4f;
  for (int k = -300; k <= 300; ++k) {
    const float tie = (static_cast<float>(k) + 0.5f) * scale;
    x.push_back(tie);
    x.push_back(std::nextafter(tie, 1e9f));
    x.push_back(std::nextafter(tie, -1e9f));
    x.push_back(static_cast<float>(k) * scale);
  }
  for (float v : {11.0f, -11.0f, 1e9f, -1e9f, 3e9f, -3e9f, 1e30f, -1e30f}) x.push_back(v);
  x.push_back(std::numeric_limits<float>::infinity());
  x.push_back(-std::numeric_limits<float>::infinity());
  x.push_back(std::numeric_limits<float>::quiet_NaN());
  // Four times over, so that 2 threads split the tensor (the optimized kernels run in ranges
  // of at least 4096 elements).
  const size_t once = x.size();
  for (int copy = 1; copy < 4; ++copy) x.insert(x.end(), x.begin(), x.begin() + once);
  // A length that vector widths do not divide: the kernels' tails.
  x.insert(x.end(), {0.49f * scale, -2.5f * scale, std::numeric_limits<float>::quiet_NaN()});
  const int n = static_cast<int>(x.size());
  struct Case {
    DType type;
    int32_t zp, lo, hi;
  };
  for (const Case& c : {Case{DType::kInt16, 7, -32768, 32767}, Case{DType::kInt8, -3, -128, 127},
                        Case{DType::kUInt8, 130, 0, 255}}) {
    auto model = UnaryModel(Op::QUANTIZE, F32({n}), Q(c.type, {n}, scale, c.zp));
    // The reference, then the microkernels of every ISA level this machine has.
    const std::vector<rt::CpuInfo> levels = OptimizedLevels();
    for (size_t run = 0; run <= levels.size(); ++run) {
      const bool optimized = run > 0;
      rt::InterpreterOptions o;
      o.use_optimized_kernels = optimized;
      if (optimized) o.cpu = &levels[run - 1];
      o.num_threads = 2;
      auto out = RunEdgeopt(model, {MakeArray<float>(DType::kFloat32, {n}, x)}, o);
      ASSERT_TRUE(out.ok()) << out.status().message();
      for (int i = 0; i < n; ++i) {
        const double r = std::round(static_cast<double>(x[i]) / static_cast<double>(scale));
        const int64_t q = std::isnan(r) ? 0 : static_cast<int64_t>(std::clamp(r, -1e12, 1e12));
        const int64_t want = std::clamp<int64_t>(q + c.zp, c.lo, c.hi);
        int64_t got = 0;
        if (c.type == DType::kInt16) got = (*out)[0].Data<int16_t>()[i];
        if (c.type == DType::kInt8) got = (*out)[0].Data<int8_t>()[i];
        if (c.type == DType::kUInt8) got = (*out)[0].Data<uint8_t>()[i];
        ASSERT_EQ(got, want) << DTypeName(c.type) << (optimized ? "" : " reference") << " run "
                             << run << " x[" << i << "] = " << x[i];
      }
    }
  }
}

TEST(Quantize, AgreementFloatToInt) {
  if (!TfliteRefAvailable()) GTEST_SKIP() << "tflite-ref unavailable";
  ModelBuilder m;
  std::vector<TSpec> ins;
  const TSpec outs[] = {Q(DType::kInt8, {64}, 0.02f, 3),     Q(DType::kInt8, {64}, 0.1f, -128),
                        Q(DType::kUInt8, {64}, 0.015f, 128), Q(DType::kUInt8, {64}, 0.37f, 0),
                        Q(DType::kInt16, {64}, 1e-4f, 0),    Q(DType::kInt16, {64}, 3.1e-5f, 0)};
  for (const TSpec& o : outs) {
    ins.push_back(F32({64}));
    m.AddOperator(Op::QUANTIZE, {AddIn(m, ins.back())}, {AddOut(m, o)});
  }
  auto in = RandomInputs(ins, 3, -4, 4);
  // Exact ties of the first output's grid: x = (k + 0.5) * scale.
  for (int k = 0; k < 64; ++k) in[0].Data<float>()[k] = (k - 32 + 0.5f) * 0.02f;
  ExpectAgreesWithRef(m.Build(), in, ExactInts(), "QUANTIZE float->int8/uint8/int16");
}

TEST(Quantize, AgreementRequantize) {
  if (!TfliteRefAvailable()) GTEST_SKIP() << "tflite-ref unavailable";
  struct Pair {
    TSpec in, out;
  };
  const Pair pairs[] = {
      {Q(DType::kInt8, {256}, 0.05f, 3), Q(DType::kInt8, {256}, 0.021f, -7)},
      {Q(DType::kInt8, {256}, 0.05f, 3), Q(DType::kUInt8, {256}, 0.05f, 131)},
      {Q(DType::kInt8, {256}, 0.05f, 3), Q(DType::kUInt8, {256}, 0.2f, 100)},
      {Q(DType::kUInt8, {256}, 0.1f, 128), Q(DType::kInt8, {256}, 0.1f, 0)},
      {Q(DType::kUInt8, {256}, 0.1f, 120), Q(DType::kUInt8, {256}, 0.03f, 5)},
      {Q(DType::kInt16, {256}, 1e-3f, 0), Q(DType::kInt8, {256}, 0.09f, -4)},
      {Q(DType::kInt16, {256}, 1e-3f, 0), Q(DType::kInt16, {256}, 3e-4f, 0)},
      {Q(DType::kInt16, {256}, 1e-3f, 0), Q(DType::kInt32, {256}, 1.3e-5f, 0)},
  };
  ModelBuilder m;
  std::vector<TSpec> ins;
  for (const Pair& p : pairs) {
    ins.push_back(p.in);
    m.AddOperator(Op::QUANTIZE, {AddIn(m, p.in)}, {AddOut(m, p.out)});
  }
  ExpectAgreesWithRef(m.Build(), RandomInputs(ins, 8), ExactInts(), "QUANTIZE requantize x8");
}

// TFLite 2.9 refuses int8 -> int16 requantization; edgeopt supports it with the same math.
TEST(Quantize, GoldenInt8ToInt16) {
  auto model = UnaryModel(Op::QUANTIZE, Q(DType::kInt8, {3}, 0.02f, 1),
                          Q(DType::kInt16, {3}, 1.0f / 4096, 0));
  // (q - 1) * 0.02 * 4096 = (q - 1) * 81.92.
  auto out = RunEdgeopt(model, {MakeArray<int8_t>(DType::kInt8, {3}, {5, -128, 127})});
  ASSERT_TRUE(out.ok()) << out.status().message();
  EXPECT_EQ(ToVector<int16_t>((*out)[0]), (std::vector<int16_t>{328, -10568, 10322}));
}

TEST(Dequantize, AgreementPerTensor) {
  if (!TfliteRefAvailable()) GTEST_SKIP() << "tflite-ref unavailable";
  ModelBuilder m;
  std::vector<TSpec> ins = {Q(DType::kInt8, {3, 50}, 0.0123f, -9),
                            Q(DType::kUInt8, {77}, 0.5f, 128), Q(DType::kInt16, {40}, 2e-4f, 0)};
  for (const TSpec& s : ins) {
    m.AddOperator(Op::DEQUANTIZE, {AddIn(m, s)}, {AddOut(m, F32(s.shape))});
  }
  ExpectAgreesWithRef(m.Build(), RandomInputs(ins, 4), Tolerance{0, 0, 0}, "DEQUANTIZE");
}

// Constant float16 and per-channel int8 weights are folded at prepare time.
TEST(Dequantize, ConstantFloat16AndPerChannelAreFolded) {
  ModelBuilder m;
  const int x = AddIn(m, F32({2, 3}));
  std::vector<uint16_t> halves = {FloatToHalf(1.5f),    FloatToHalf(-2.0f), FloatToHalf(0.25f),
                                  FloatToHalf(1000.0f), FloatToHalf(0.0f),  FloatToHalf(-0.5f)};
  const int w16 = m.AddConstant<uint16_t>(DType::kFloat16, {2, 3}, halves);
  const int w8 =
      m.AddConstant<int8_t>(DType::kInt8, {2, 3}, {1, 2, 3, -1, -2, -3}, {0.5f, 0.25f}, {0, 0}, 0);
  const int f16 = AddTmp(m, F32({2, 3}));
  const int f8 = AddTmp(m, F32({2, 3}));
  const int s = AddTmp(m, F32({2, 3}));
  const int y = AddOut(m, F32({2, 3}));
  m.AddOperator(Op::DEQUANTIZE, {w16}, {f16});
  m.AddOperator(Op::DEQUANTIZE, {w8}, {f8});
  m.AddOperator(Op::ADD, {f16, f8}, {s});
  m.AddOperator(Op::ADD, {x, s}, {y});
  auto model = m.Build();
  auto interp = rt::Interpreter::Create(model.data(), model.size(), {});
  ASSERT_TRUE(interp.ok()) << interp.status().message();
  // Everything but the last ADD was folded, so only x, y live in the arena.
  EXPECT_LE((*interp)->arena_bytes(), 2 * 64u);
  std::vector<NpyArray> in = {MakeArray<float>(DType::kFloat32, {2, 3}, {0, 0, 0, 1, 1, 1})};
  auto out = RunEdgeopt(model, in);
  ASSERT_TRUE(out.ok()) << out.status().message();
  EXPECT_EQ(ToVector<float>((*out)[0]),
            (std::vector<float>{2.0f, -1.0f, 1.75f, 1000.75f, 0.5f, -0.25f}));
  if (TfliteRefAvailable()) ExpectAgreesWithRef(model, in, ExactInts(), "DEQUANTIZE folded");
}

TEST(Cast, AgreementAndGolden) {
  auto golden = UnaryModel(Op::CAST, F32({4}), Plain(DType::kInt32, {4}));
  auto out = RunEdgeopt(golden, {MakeArray<float>(DType::kFloat32, {4}, {1.9f, -1.9f, 0.5f, 7})});
  ASSERT_TRUE(out.ok()) << out.status().message();
  EXPECT_EQ(ToVector<int32_t>((*out)[0]), (std::vector<int32_t>{1, -1, 0, 7}));
  if (!TfliteRefAvailable()) return;
  struct Pair {
    DType from, to;
  };
  const Pair pairs[] = {{DType::kFloat32, DType::kInt32}, {DType::kInt32, DType::kFloat32},
                        {DType::kInt32, DType::kInt64},   {DType::kInt64, DType::kInt32},
                        {DType::kUInt8, DType::kFloat32}, {DType::kInt8, DType::kInt32},
                        {DType::kFloat32, DType::kBool},  {DType::kBool, DType::kFloat32},
                        {DType::kInt32, DType::kBool},    {DType::kFloat32, DType::kUInt8}};
  ModelBuilder m;
  std::vector<TSpec> ins;
  for (const Pair& p : pairs) {
    ins.push_back(Plain(p.from, {33}));
    m.AddOperator(Op::CAST, {AddIn(m, ins.back())}, {AddOut(m, Plain(p.to, {33}))});
  }
  auto in = RandomInputs(ins, 12, -100, 100);
  in[6].Data<float>()[0] = 0.0f;  // a false
  ExpectAgreesWithRef(m.Build(), in, ExactInts(), "CAST x10");
}

TEST(QuantizeErrors, BadTypesAndParameters) {
  ExpectPrepareError(UnaryModel(Op::QUANTIZE, F32({2}), F32({2})), "must be int8, uint8 or int16");
  ExpectPrepareError(UnaryModel(Op::DEQUANTIZE, Plain(DType::kInt8, {2}), F32({2})),
                     "no quantization parameters");
  ExpectPrepareError(UnaryModel(Op::CAST, F32({2}), Plain(DType::kString, {2})), "not supported");
}

}  // namespace
}  // namespace testing
}  // namespace edgeopt
