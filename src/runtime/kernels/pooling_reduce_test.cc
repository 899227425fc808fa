// MAX_POOL_2D, AVERAGE_POOL_2D, L2_POOL_2D, MEAN, SUM, REDUCE_PROD, REDUCE_MAX, REDUCE_MIN,
// ARG_MAX, ARG_MIN: goldens, agreement with tflite-ref across paddings/strides/axes/scales, errors.
#include <gtest/gtest.h>

#include <random>

#include "src/runtime/kernels/elem_test_util.h"

namespace edgeopt {
namespace testing {
namespace {

using Op = tflite::BuiltinOperator;
using Act = tflite::ActivationFunctionType;
namespace fb = flatbuffers;

OptionsFn PoolOptions(tflite::Padding padding, int sw, int sh, int fw, int fh,
                      Act act = Act::NONE) {
  return [=](fb::FlatBufferBuilder& b) {
    return MakeOptions(tflite::BuiltinOptions::Pool2DOptions,
                       tflite::CreatePool2DOptions(b, padding, sw, sh, fw, fh, act));
  };
}

TEST(Pooling, GoldenFloatAndInt8) {
  // 1x3x3x1 input 1..9, 2x2 window, stride 2, SAME: windows {1,2,4,5} {3,6} {7,8} {9}.
  std::vector<float> x = {1, 2, 3, 4, 5, 6, 7, 8, 9};
  for (Op op : {Op::MAX_POOL_2D, Op::AVERAGE_POOL_2D}) {
    ModelBuilder m;
    const int in = AddIn(m, F32({1, 3, 3, 1}));
    m.AddOperator(op, {in}, {AddOut(m, F32({1, 2, 2, 1}))},
                  PoolOptions(tflite::Padding::SAME, 2, 2, 2, 2));
    auto out = RunEdgeopt(m.Build(), {MakeArray<float>(DType::kFloat32, {1, 3, 3, 1}, x)});
    ASSERT_TRUE(out.ok()) << out.status().message();
    if (op == Op::MAX_POOL_2D) {
      EXPECT_EQ(ToVector<float>((*out)[0]), (std::vector<float>{5, 6, 8, 9}));
    } else {
      EXPECT_EQ(ToVector<float>((*out)[0]), (std::vector<float>{3, 4.5f, 7.5f, 9}));
    }
  }
  // int8 average rounds half away from zero: {-3, -2} -> -2.5 -> -3; {3, 2} -> 3.
  ModelBuilder m;
  const int in = AddIn(m, Q(DType::kInt8, {1, 1, 4, 1}, 0.1f, 0));
  m.AddOperator(Op::AVERAGE_POOL_2D, {in}, {AddOut(m, Q(DType::kInt8, {1, 1, 2, 1}, 0.1f, 0))},
                PoolOptions(tflite::Padding::VALID, 2, 1, 2, 1));
  auto out = RunEdgeopt(m.Build(), {MakeArray<int8_t>(DType::kInt8, {1, 1, 4, 1}, {-3, -2, 3, 2})});
  ASSERT_TRUE(out.ok()) << out.status().message();
  EXPECT_EQ(ToVector<int8_t>((*out)[0]), (std::vector<int8_t>{-3, 3}));
}

TEST(Pooling, AgreementAllTypes) {
  if (!TfliteRefAvailable()) GTEST_SKIP() << "tflite-ref unavailable";
  struct Case {
    std::vector<int32_t> in;
    tflite::Padding padding;
    int sw, sh, fw, fh;
    Act act;
  };
  const Case cases[] = {
      {{1, 7, 7, 3}, tflite::Padding::SAME, 2, 2, 3, 3, Act::NONE},
      {{2, 8, 6, 4}, tflite::Padding::VALID, 2, 1, 2, 3, Act::RELU},
      {{1, 5, 9, 2}, tflite::Padding::SAME, 1, 1, 3, 3, Act::RELU6},
      {{1, 6, 6, 5}, tflite::Padding::VALID, 3, 3, 3, 3, Act::NONE},
      {{1, 4, 4, 8}, tflite::Padding::VALID, 1, 1, 4, 4, Act::NONE},  // global
      {{1, 9, 10, 2}, tflite::Padding::SAME, 3, 2, 5, 4, Act::RELU_N1_TO_1},
  };
  ModelBuilder m;
  std::vector<TSpec> ins;
  int k = 0;
  for (DType type : {DType::kFloat32, DType::kInt8, DType::kUInt8, DType::kInt16}) {
    for (const Case& c : cases) {
      for (Op op : {Op::MAX_POOL_2D, Op::AVERAGE_POOL_2D}) {
        ++k;
        TSpec in{type, c.in};
        if (type != DType::kFloat32) {
          in.scale = 0.05f + 0.01f * (k % 4);
          in.zero_point =
              type == DType::kUInt8 ? 100 + k % 30 : (type == DType::kInt8 ? k % 20 - 10 : 0);
        }
        const int out_h = c.padding == tflite::Padding::SAME ? (c.in[1] + c.sh - 1) / c.sh
                                                             : (c.in[1] - c.fh + c.sh) / c.sh;
        const int out_w = c.padding == tflite::Padding::SAME ? (c.in[2] + c.sw - 1) / c.sw
                                                             : (c.in[2] - c.fw + c.sw) / c.sw;
        TSpec out = in;
        out.shape = {c.in[0], out_h, out_w, c.in[3]};
        ins.push_back(in);
        m.AddOperator(op, {AddIn(m, in)}, {AddOut(m, out)},
                      PoolOptions(c.padding, c.sw, c.sh, c.fw, c.fh, c.act));
      }
    }
  }
  // L2_POOL_2D (float).
  ins.push_back(F32({1, 6, 6, 3}));
  m.AddOperator(Op::L2_POOL_2D, {AddIn(m, ins.back())}, {AddOut(m, F32({1, 3, 3, 3}))},
                PoolOptions(tflite::Padding::SAME, 2, 2, 3, 3));
  ExpectAgreesWithRef(m.Build(), RandomInputs(ins, 5), Tolerance{1e-5, 1e-5, 0},
                      "MAX/AVERAGE/L2 pool x49");
}

TEST(Pooling, Errors) {
  ModelBuilder m;
  const int in = AddIn(m, F32({1, 3, 3}));
  m.AddOperator(Op::MAX_POOL_2D, {in}, {AddOut(m, F32({1, 1, 1}))},
                PoolOptions(tflite::Padding::VALID, 1, 1, 2, 2));
  ExpectPrepareError(m.Build(), "must be 4-d");
  ModelBuilder m2;
  const int in2 = AddIn(m2, F32({1, 3, 3, 1}));
  m2.AddOperator(Op::AVERAGE_POOL_2D, {in2}, {AddOut(m2, F32({1, 1, 1, 1}))},
                 PoolOptions(tflite::Padding::VALID, 0, 1, 2, 2));
  ExpectPrepareError(m2.Build(), "must be positive");
}

// --- reductions ----------------------------------------------------------------------------------

OptionsFn KeepDims(bool keep) {
  return [keep](fb::FlatBufferBuilder& b) {
    return MakeOptions(tflite::BuiltinOptions::ReducerOptions,
                       tflite::CreateReducerOptions(b, keep));
  };
}

std::vector<int32_t> ReducedShape(const std::vector<int32_t>& in, const std::vector<int32_t>& axes,
                                  bool keep) {
  std::vector<bool> r(in.size(), false);
  for (int32_t a : axes) r[a < 0 ? a + static_cast<int>(in.size()) : a] = true;
  std::vector<int32_t> out;
  for (size_t d = 0; d < in.size(); ++d) {
    if (!r[d])
      out.push_back(in[d]);
    else if (keep)
      out.push_back(1);
  }
  return out;
}

TEST(Reduce, GoldenMeanSumMaxMin) {
  ModelBuilder m;
  const int x = AddIn(m, F32({2, 3}));
  const int ax = AddConst<int32_t>(m, Plain(DType::kInt32, {1}), {1});
  m.AddOperator(Op::MEAN, {x, ax}, {AddOut(m, F32({2}))}, KeepDims(false));
  m.AddOperator(Op::SUM, {x, ax}, {AddOut(m, F32({2, 1}))}, KeepDims(true));
  m.AddOperator(Op::REDUCE_MAX, {x, ax}, {AddOut(m, F32({2}))}, KeepDims(false));
  m.AddOperator(Op::REDUCE_MIN, {x, ax}, {AddOut(m, F32({2}))}, KeepDims(false));
  m.AddOperator(Op::REDUCE_PROD, {x, ax}, {AddOut(m, F32({2}))}, KeepDims(false));
  const int ax0 = AddConst<int32_t>(m, Plain(DType::kInt32, {1}), {0});
  m.AddOperator(Op::ARG_MAX, {x, ax0}, {AddOut(m, Plain(DType::kInt32, {3}))});
  auto out =
      RunEdgeopt(m.Build(), {MakeArray<float>(DType::kFloat32, {2, 3}, {1, 2, 6, -1, 5, 5})});
  ASSERT_TRUE(out.ok()) << out.status().message();
  EXPECT_EQ(ToVector<float>((*out)[0]), (std::vector<float>{3, 3}));
  EXPECT_EQ((*out)[1].shape, (std::vector<int64_t>{2, 1}));
  EXPECT_EQ(ToVector<float>((*out)[1]), (std::vector<float>{9, 9}));
  EXPECT_EQ(ToVector<float>((*out)[2]), (std::vector<float>{6, 5}));
  EXPECT_EQ(ToVector<float>((*out)[3]), (std::vector<float>{1, -1}));
  EXPECT_EQ(ToVector<float>((*out)[4]), (std::vector<float>{12, -25}));
  EXPECT_EQ(ToVector<int32_t>((*out)[5]), (std::vector<int32_t>{0, 1, 0}));
}

// MEAN int8: the 4-d spatial path rounds half away from zero after the rescale.
TEST(Reduce, GoldenMeanInt8Spatial) {
  ModelBuilder m;
  const int x = AddIn(m, Q(DType::kInt8, {1, 2, 2, 1}, 0.5f, 1));
  const int ax = AddConst<int32_t>(m, Plain(DType::kInt32, {2}), {1, 2});
  m.AddOperator(Op::MEAN, {x, ax}, {AddOut(m, Q(DType::kInt8, {1, 1, 1, 1}, 0.5f, 1))},
                KeepDims(true));
  // (q - 1) = {-2, -2, -2, 0}: sum -6, /4 = -1.5 -> -2, + 1 = -1.
  auto out =
      RunEdgeopt(m.Build(), {MakeArray<int8_t>(DType::kInt8, {1, 2, 2, 1}, {-1, -1, -1, 1})});
  ASSERT_TRUE(out.ok()) << out.status().message();
  EXPECT_EQ(ToVector<int8_t>((*out)[0]), (std::vector<int8_t>{-1}));
}

struct RCase {
  std::vector<int32_t> in, axes;
  bool keep;
};
const RCase kReduceCases[] = {
    {{1, 7, 5, 16}, {1, 2}, true},  // the 4-d spatial mean of Keras
                                    // GlobalAveragePooling
    {{2, 3, 3, 4}, {2, 1}, true},
    {{1, 4, 6, 3}, {1, 2}, false},
    {{3, 5, 7}, {-1}, false},
    {{4, 6}, {0}, true},
    {{2, 3, 4, 5}, {0, 3}, false},
    {{6, 4}, {0, 1}, false},
    {{2, 3, 4}, {1, 1}, true},
    {{5}, {0}, false},
};

void ReduceAgreement(Op op, DType type, bool same_quant, uint32_t seed, int max_lsb = 0) {
  if (!TfliteRefAvailable()) GTEST_SKIP() << "tflite-ref unavailable";
  ModelBuilder m;
  std::vector<TSpec> ins;
  int k = 0;
  for (const RCase& c : kReduceCases) {
    ++k;
    TSpec in{type, c.in};
    TSpec out{type, ReducedShape(c.in, c.axes, c.keep)};
    if (type == DType::kInt8 || type == DType::kUInt8 || type == DType::kInt16) {
      const int64_t base = type == DType::kUInt8 ? 128 : 0;
      const bool i16 = type == DType::kInt16;
      in.scale = i16 ? 1e-3f * k : 0.02f * k + 0.01f;
      in.zero_point = i16 ? 0 : base + (k * 13) % 60 - 30;
      out.scale = same_quant ? in.scale : (i16 ? 7e-4f * k : 0.03f + 0.015f * (k % 4));
      out.zero_point = same_quant ? in.zero_point : (i16 ? 0 : base - (k * 7) % 40 + 20);
      if (op == Op::SUM && !same_quant) out.scale *= 8;
    }
    ins.push_back(in);
    const int ax =
        AddConst<int32_t>(m, Plain(DType::kInt32, {static_cast<int32_t>(c.axes.size())}), c.axes);
    m.AddOperator(op, {AddIn(m, in), ax}, {AddOut(m, out)}, KeepDims(c.keep));
  }
  const std::string what = std::string(tflite::EnumNameBuiltinOperator(op)) + " " +
                           DTypeName(type) + (same_quant ? " same-quant" : "");
  double lo = -3, hi = 3;
  if (type == DType::kInt32) lo = -50, hi = 50;
  if (op == Op::REDUCE_PROD) lo = 0.5, hi = 1.5;
  ExpectAgreesWithRef(m.Build(), RandomInputs(ins, seed, lo, hi), Tolerance{1e-5, 1e-5, max_lsb},
                      what);
}

TEST(ReduceAgreement, MeanFloatAndInt32) {
  ReduceAgreement(Op::MEAN, DType::kFloat32, false, 1);
  ReduceAgreement(Op::MEAN, DType::kInt32, false, 2);
}
TEST(ReduceAgreement, MeanInt8) {
  ReduceAgreement(Op::MEAN, DType::kInt8, false, 3);
  ReduceAgreement(Op::MEAN, DType::kInt8, true, 4);
}
TEST(ReduceAgreement, MeanUInt8) {
  ReduceAgreement(Op::MEAN, DType::kUInt8, false, 5);
  ReduceAgreement(Op::MEAN, DType::kUInt8, true, 6);
}
TEST(ReduceAgreement, MeanInt16) { ReduceAgreement(Op::MEAN, DType::kInt16, false, 7); }
TEST(ReduceAgreement, Sum) {
  ReduceAgreement(Op::SUM, DType::kFloat32, false, 8);
  ReduceAgreement(Op::SUM, DType::kInt32, false, 9);
  ReduceAgreement(Op::SUM, DType::kInt8, false, 10);
  ReduceAgreement(Op::SUM, DType::kUInt8, false, 11);
}
TEST(ReduceAgreement, MaxMinProd) {
  for (DType t : {DType::kFloat32, DType::kInt8, DType::kUInt8, DType::kInt32}) {
    ReduceAgreement(Op::REDUCE_MAX, t, true, 12);
    ReduceAgreement(Op::REDUCE_MIN, t, true, 13);
  }
  ReduceAgreement(Op::REDUCE_PROD, DType::kFloat32, false, 14);
}

// Out-of-range quantized sums: the rescaled path and the same-parameter (raw) path.
TEST(ReduceAgreement, SumOverflow) {
  if (!TfliteRefAvailable()) GTEST_SKIP() << "tflite-ref unavailable";
  ModelBuilder m;
  const int ax = AddConst<int32_t>(m, Plain(DType::kInt32, {1}), {1});
  const TSpec a = Q(DType::kInt8, {4, 3}, 1.0f, 0), b = Q(DType::kInt8, {4, 3}, 0.5f, 3);
  m.AddOperator(Op::SUM, {AddIn(m, a), ax}, {AddOut(m, Q(DType::kInt8, {4}, 0.5f, 0))},
                KeepDims(false));
  m.AddOperator(Op::SUM, {AddIn(m, b), ax}, {AddOut(m, Q(DType::kInt8, {4}, 0.5f, 3))},
                KeepDims(false));
  std::vector<int8_t> v = {100, 100, 100, -100, -100, -100, 50, 60, -3, 127, 127, 127};
  ExpectAgreesWithRef(
      m.Build(),
      {MakeArray<int8_t>(DType::kInt8, {4, 3}, v), MakeArray<int8_t>(DType::kInt8, {4, 3}, v)},
      ExactInts(), "SUM int8 overflow");
}

TEST(ArgMinMax, Agreement) {
  if (!TfliteRefAvailable()) GTEST_SKIP() << "tflite-ref unavailable";
  ModelBuilder m;
  std::vector<TSpec> ins;
  int k = 0;
  for (DType t : {DType::kFloat32, DType::kInt8, DType::kUInt8, DType::kInt32}) {
    for (Op op : {Op::ARG_MAX, Op::ARG_MIN}) {
      for (int axis : {0, 1, -1}) {
        ++k;
        TSpec in{t, {4, 5, 6}};
        if (t == DType::kInt8 || t == DType::kUInt8) in.scale = 0.1f;
        std::vector<int32_t> out_shape = {4, 5, 6};
        out_shape.erase(out_shape.begin() + (axis < 0 ? 2 : axis));
        const DType out_type = k % 2 ? DType::kInt32 : DType::kInt64;
        ins.push_back(in);
        const int ax = AddConst<int32_t>(m, Plain(DType::kInt32, {1}), {axis});
        m.AddOperator(op, {AddIn(m, in), ax}, {AddOut(m, Plain(out_type, out_shape))},
                      [op, out_type](fb::FlatBufferBuilder& b) {
                        const auto tt = static_cast<tflite::TensorType>(out_type);
                        return op == Op::ARG_MAX
                                   ? MakeOptions(tflite::BuiltinOptions::ArgMaxOptions,
                                                 tflite::CreateArgMaxOptions(b, tt))
                                   : MakeOptions(tflite::BuiltinOptions::ArgMinOptions,
                                                 tflite::CreateArgMinOptions(b, tt));
                      });
      }
    }
  }
  // Small integer ranges force ties: the first index wins.
  ExpectAgreesWithRef(m.Build(), RandomInputs(ins, 15, -3, 3), ExactInts(), "ARG_MAX/ARG_MIN");
}

TEST(Reduce, Errors) {
  ModelBuilder m;
  const int x = AddIn(m, F32({2, 3}));
  const int ax = AddConst<int32_t>(m, Plain(DType::kInt32, {1}), {2});
  m.AddOperator(Op::MEAN, {x, ax}, {AddOut(m, F32({2}))}, KeepDims(false));
  ExpectPrepareError(m.Build(), "axis 2 is out of range");
  ModelBuilder m2;
  const int x2 = AddIn(m2, F32({2, 3}));
  const int ax2 = AddIn(m2, Plain(DType::kInt32, {1}));
  m2.AddOperator(Op::SUM, {x2, ax2}, {AddOut(m2, F32({2}))}, KeepDims(false));
  ExpectPrepareError(m2.Build(), "computed at run time");
}

}  // namespace
}  // namespace testing
}  // namespace edgeopt
