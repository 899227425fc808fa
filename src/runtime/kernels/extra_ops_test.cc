// Comparisons, LOGICAL_*, SELECT/SELECT_V2, POW, FLOOR_DIV, FLOOR_MOD, SPACE_TO_BATCH_ND,
// BATCH_TO_SPACE_ND, MIRROR_PAD: goldens, agreement with tflite-ref, errors.
#include <gtest/gtest.h>

#include <limits>

#include "src/runtime/kernels/elem_test_util.h"

namespace edgeopt {
namespace testing {
namespace {

using Op = tflite::BuiltinOperator;
namespace fb = flatbuffers;

std::vector<float> Iota(int n) {
  std::vector<float> v(n);
  for (int i = 0; i < n; ++i) v[i] = static_cast<float>(i);
  return v;
}

TEST(Comparisons, GoldenAndAgreement) {
  ModelBuilder g;
  const int a = AddIn(g, F32({3})), b = AddIn(g, F32({1}));
  g.AddOperator(Op::GREATER, {a, b}, {AddOut(g, Plain(DType::kBool, {3}))});
  auto out = RunEdgeopt(g.Build(), {MakeArray<float>(DType::kFloat32, {3}, {1, 2, 3}),
                                    MakeArray<float>(DType::kFloat32, {1}, {2})});
  ASSERT_TRUE(out.ok()) << out.status().message();
  EXPECT_EQ(ToVector<uint8_t>((*out)[0]), (std::vector<uint8_t>{0, 0, 1}));
  if (!TfliteRefAvailable()) return;
  ModelBuilder m;
  std::vector<TSpec> ins;
  int k = 0;
  for (Op op :
       {Op::EQUAL, Op::NOT_EQUAL, Op::LESS, Op::LESS_EQUAL, Op::GREATER, Op::GREATER_EQUAL}) {
    for (DType t : {DType::kFloat32, DType::kInt32, DType::kInt8, DType::kUInt8}) {
      ++k;
      TSpec x{t, {2, 3, 4}}, y{t, {3, 1}};
      if (t == DType::kInt8) x.scale = 0.1f, x.zero_point = 3, y.scale = 0.07f, y.zero_point = -9;
      if (t == DType::kUInt8)
        x.scale = 0.1f, x.zero_point = 128, y.scale = 0.1f, y.zero_point = 128;
      ins.push_back(x);
      ins.push_back(y);
      m.AddOperator(op, {AddIn(m, x), AddIn(m, y)}, {AddOut(m, Plain(DType::kBool, {2, 3, 4}))});
    }
  }
  // Small integer ranges produce equal values.
  ExpectAgreesWithRef(m.Build(), RandomInputs(ins, 3, -3, 3), ExactInts(), "comparisons x24");
}

// GREATER(_EQUAL) runs as LESS(_EQUAL) with the operands swapped and NOT_EQUAL as EQUAL negated:
// NaN, broadcasting either way round, int64 and bool.
TEST(Comparisons, SwappedAndNegatedGolden) {
  const float nan = std::numeric_limits<float>::quiet_NaN();
  auto run = [](Op op, const NpyArray& x, const NpyArray& y,
                const std::vector<int32_t>& out_shape) {
    ModelBuilder g;
    const int a = AddIn(g, Plain(x.dtype, std::vector<int32_t>(x.shape.begin(), x.shape.end())));
    const int b = AddIn(g, Plain(y.dtype, std::vector<int32_t>(y.shape.begin(), y.shape.end())));
    g.AddOperator(op, {a, b}, {AddOut(g, Plain(DType::kBool, out_shape))});
    auto out = RunEdgeopt(g.Build(), {x, y});
    EXPECT_TRUE(out.ok()) << out.status().message();
    return out.ok() ? ToVector<uint8_t>((*out)[0]) : std::vector<uint8_t>();
  };
  using V = std::vector<uint8_t>;
  // [1, NaN, 3] down the rows against [2, 3] along the columns: (1,2) (1,3) (NaN,2) ...
  const NpyArray col = MakeArray<float>(DType::kFloat32, {3, 1}, {1, nan, 3});
  const NpyArray row = MakeArray<float>(DType::kFloat32, {2}, {2, 3});
  EXPECT_EQ(run(Op::EQUAL, col, row, {3, 2}), (V{0, 0, 0, 0, 0, 1}));
  EXPECT_EQ(run(Op::NOT_EQUAL, col, row, {3, 2}), (V{1, 1, 1, 1, 1, 0}));
  EXPECT_EQ(run(Op::LESS, col, row, {3, 2}), (V{1, 1, 0, 0, 0, 0}));
  EXPECT_EQ(run(Op::LESS_EQUAL, col, row, {3, 2}), (V{1, 1, 0, 0, 0, 1}));
  EXPECT_EQ(run(Op::GREATER, col, row, {3, 2}), (V{0, 0, 0, 0, 1, 0}));
  EXPECT_EQ(run(Op::GREATER_EQUAL, col, row, {3, 2}), (V{0, 0, 0, 0, 1, 1}));
  // The other way round: (2,1) (3,1) (2,NaN) (3,NaN) (2,3) (3,3).
  EXPECT_EQ(run(Op::GREATER, row, col, {3, 2}), (V{1, 1, 0, 0, 0, 0}));
  EXPECT_EQ(run(Op::GREATER_EQUAL, row, col, {3, 2}), (V{1, 1, 0, 0, 0, 1}));
  EXPECT_EQ(run(Op::LESS, row, col, {3, 2}), (V{0, 0, 0, 0, 1, 0}));
  EXPECT_EQ(run(Op::NOT_EQUAL, row, col, {3, 2}), (V{1, 1, 1, 1, 1, 0}));
  const NpyArray i64 = MakeArray<int64_t>(DType::kInt64, {3}, {5, -1, 7});
  const NpyArray five = MakeArray<int64_t>(DType::kInt64, {1}, {5});
  EXPECT_EQ(run(Op::GREATER, i64, five, {3}), (V{0, 0, 1}));
  EXPECT_EQ(run(Op::GREATER_EQUAL, five, i64, {3}), (V{1, 1, 0}));
  EXPECT_EQ(run(Op::NOT_EQUAL, i64, five, {3}), (V{0, 1, 1}));
  const NpyArray flags = MakeArray<uint8_t>(DType::kBool, {2, 2}, {0, 1, 1, 0});
  const NpyArray ones = MakeArray<uint8_t>(DType::kBool, {2}, {1, 1});
  EXPECT_EQ(run(Op::EQUAL, flags, ones, {2, 2}), (V{0, 1, 1, 0}));
  EXPECT_EQ(run(Op::NOT_EQUAL, flags, ones, {2, 2}), (V{1, 0, 0, 1}));
}

TEST(LogicalSelect, Agreement) {
  if (!TfliteRefAvailable()) GTEST_SKIP() << "tflite-ref unavailable";
  ModelBuilder m;
  std::vector<TSpec> ins;
  auto in = [&](const TSpec& s) {
    ins.push_back(s);
    return AddIn(m, s);
  };
  const int c1 = in(Plain(DType::kBool, {2, 3})), c2 = in(Plain(DType::kBool, {3}));
  m.AddOperator(Op::LOGICAL_AND, {c1, c2}, {AddOut(m, Plain(DType::kBool, {2, 3}))});
  m.AddOperator(Op::LOGICAL_OR, {c1, c2}, {AddOut(m, Plain(DType::kBool, {2, 3}))});
  m.AddOperator(Op::LOGICAL_NOT, {c1}, {AddOut(m, Plain(DType::kBool, {2, 3}))});
  const int x = in(F32({2, 3})), y = in(F32({2, 3}));
  m.AddOperator(Op::SELECT, {c1, x, y}, {AddOut(m, F32({2, 3}))});
  const int c3 = in(Plain(DType::kBool, {2})), x3 = in(Q(DType::kInt8, {2, 4}, 0.1f, 0));
  const int y3 = in(Q(DType::kInt8, {2, 4}, 0.1f, 0));
  m.AddOperator(Op::SELECT, {c3, x3, y3}, {AddOut(m, Q(DType::kInt8, {2, 4}, 0.1f, 0))});
  const int c4 = in(Plain(DType::kBool, {3, 1})), x4 = in(F32({4})), y4 = in(F32({1}));
  m.AddOperator(Op::SELECT_V2, {c4, x4, y4}, {AddOut(m, F32({3, 4}))});
  // Whole rows (a masked recurrent step, copied row by row), and conditions that are not.
  const int c5 = in(Plain(DType::kBool, {3, 1})), x5 = in(Q(DType::kInt8, {3, 5}, 0.1f, 2));
  const int y5 = in(Q(DType::kInt8, {3, 5}, 0.1f, 2));
  m.AddOperator(Op::SELECT_V2, {c5, x5, y5}, {AddOut(m, Q(DType::kInt8, {3, 5}, 0.1f, 2))});
  const int c6 = in(Plain(DType::kBool, {1, 5})), x6 = in(F32({3, 5})), y6 = in(F32({3, 5}));
  m.AddOperator(Op::SELECT_V2, {c6, x6, y6}, {AddOut(m, F32({3, 5}))});
  const int c7 = in(Plain(DType::kBool, {2, 1, 3})), x7 = in(F32({2, 4, 3}));
  const int y7 = in(F32({2, 4, 3}));
  m.AddOperator(Op::SELECT_V2, {c7, x7, y7}, {AddOut(m, F32({2, 4, 3}))});
  // Masked attention scores [1, 2, 3, 4]: kept queries [1, 1, 3, 1], kept keys [1, 1, 1, 4],
  // against one value; then other types, ranks and which of x / y broadcasts.
  const int scores = in(F32({1, 2, 3, 4})), low = in(F32({1}));
  const int cq = in(Plain(DType::kBool, {1, 1, 3, 1})), ck = in(Plain(DType::kBool, {1, 1, 1, 4}));
  m.AddOperator(Op::SELECT_V2, {cq, scores, low}, {AddOut(m, F32({1, 2, 3, 4}))});
  m.AddOperator(Op::SELECT_V2, {ck, scores, low}, {AddOut(m, F32({1, 2, 3, 4}))});
  m.AddOperator(Op::SELECT_V2, {ck, low, scores}, {AddOut(m, F32({1, 2, 3, 4}))});
  const int c8 = in(Plain(DType::kBool, {4})), x8 = in(Q(DType::kInt8, {2, 3, 4}, 0.1f, 2));
  const int y8 = in(Q(DType::kInt8, {1}, 0.1f, 2));
  m.AddOperator(Op::SELECT_V2, {c8, x8, y8}, {AddOut(m, Q(DType::kInt8, {2, 3, 4}, 0.1f, 2))});
  m.AddOperator(Op::SELECT_V2, {cq, y8, x8}, {AddOut(m, Q(DType::kInt8, {1, 2, 3, 4}, 0.1f, 2))});
  const int x9 = in(Q(DType::kInt16, {3, 1}, 0.1f, 0)), y9 = in(Q(DType::kInt16, {1, 4}, 0.1f, 0));
  m.AddOperator(Op::SELECT_V2, {c4, x9, y9}, {AddOut(m, Q(DType::kInt16, {3, 4}, 0.1f, 0))});
  const int c10 = in(Plain(DType::kBool, {})), x10 = in(F32({})), y10 = in(F32({}));
  m.AddOperator(Op::SELECT_V2, {c10, x10, y10}, {AddOut(m, F32({}))});
  ExpectAgreesWithRef(m.Build(), RandomInputs(ins, 5), ExactInts(), "LOGICAL/SELECT");
}

// SELECT_V2 of whole rows: golden values of the row copies.
TEST(LogicalSelect, WholeRows) {
  ModelBuilder g;
  const int c = AddIn(g, Plain(DType::kBool, {3, 1}));
  const int x = AddIn(g, F32({3, 2})), y = AddIn(g, F32({3, 2}));
  g.AddOperator(Op::SELECT_V2, {c, x, y}, {AddOut(g, F32({3, 2}))});
  auto out =
      RunEdgeopt(g.Build(), {MakeArray<uint8_t>(DType::kBool, {3, 1}, {1, 0, 1}),
                             MakeArray<float>(DType::kFloat32, {3, 2}, {1, 2, 3, 4, 5, 6}),
                             MakeArray<float>(DType::kFloat32, {3, 2}, {-1, -2, -3, -4, -5, -6})});
  ASSERT_TRUE(out.ok()) << out.status().message();
  EXPECT_EQ(ToVector<float>((*out)[0]), (std::vector<float>{1, 2, -3, -4, 5, 6}));
}

// SELECT_V2 of masked attention scores [1, 2, 2, 3] against -1e9: kept queries (whole rows
// copied or filled) and kept keys (a pick per element).
TEST(LogicalSelect, MaskedScores) {
  for (bool keys : {false, true}) {
    ModelBuilder g;
    const std::vector<int32_t> cs =
        keys ? std::vector<int32_t>{1, 1, 1, 3} : std::vector<int32_t>{1, 1, 2, 1};
    const int c = AddIn(g, Plain(DType::kBool, cs));
    const int x = AddIn(g, F32({1, 2, 2, 3}));
    const int y = AddConst<float>(g, F32({1}), {-1e9f});
    g.AddOperator(Op::SELECT_V2, {c, x, y}, {AddOut(g, F32({1, 2, 2, 3}))});
    std::vector<float> scores(12);
    for (int i = 0; i < 12; ++i) scores[i] = static_cast<float>(i + 1);
    auto out = RunEdgeopt(g.Build(), {keys ? MakeArray<uint8_t>(DType::kBool, cs, {1, 0, 1})
                                           : MakeArray<uint8_t>(DType::kBool, cs, {0, 1}),
                                      MakeArray<float>(DType::kFloat32, {1, 2, 2, 3}, scores)});
    ASSERT_TRUE(out.ok()) << out.status().message();
    const float m = -1e9f;
    EXPECT_EQ(ToVector<float>((*out)[0]),
              keys ? (std::vector<float>{1, m, 3, 4, m, 6, 7, m, 9, 10, m, 12})
                   : (std::vector<float>{m, m, m, 4, 5, 6, m, m, m, 10, 11, 12}));
  }
}

TEST(PowFloorDivMod, GoldenAndAgreement) {
  ModelBuilder g;
  const int a = AddIn(g, Plain(DType::kInt32, {4})), b = AddIn(g, Plain(DType::kInt32, {4}));
  g.AddOperator(Op::FLOOR_DIV, {a, b}, {AddOut(g, Plain(DType::kInt32, {4}))});
  g.AddOperator(Op::FLOOR_MOD, {a, b}, {AddOut(g, Plain(DType::kInt32, {4}))});
  g.AddOperator(Op::POW, {a, AddConst<int32_t>(g, Plain(DType::kInt32, {1}), {3})},
                {AddOut(g, Plain(DType::kInt32, {4}))});
  auto out = RunEdgeopt(g.Build(), {MakeArray<int32_t>(DType::kInt32, {4}, {7, -7, 7, -7}),
                                    MakeArray<int32_t>(DType::kInt32, {4}, {2, 2, -2, -2})});
  ASSERT_TRUE(out.ok()) << out.status().message();
  EXPECT_EQ(ToVector<int32_t>((*out)[0]), (std::vector<int32_t>{3, -4, -4, 3}));
  EXPECT_EQ(ToVector<int32_t>((*out)[1]), (std::vector<int32_t>{1, 1, -1, -1}));
  EXPECT_EQ(ToVector<int32_t>((*out)[2]), (std::vector<int32_t>{343, -343, 343, -343}));
  auto zero = RunEdgeopt(g.Build(), {MakeArray<int32_t>(DType::kInt32, {4}, {1, 1, 1, 1}),
                                     MakeArray<int32_t>(DType::kInt32, {4}, {1, 0, 1, 1})});
  ASSERT_FALSE(zero.ok());
  EXPECT_NE(zero.status().message().find("division by zero"), std::string::npos);
  if (!TfliteRefAvailable()) return;
  ModelBuilder m;
  std::vector<NpyArray> in;
  for (Op op : {Op::POW, Op::FLOOR_DIV, Op::FLOOR_MOD}) {
    m.AddOperator(op, {AddIn(m, F32({3, 8})), AddIn(m, F32({8}))}, {AddOut(m, F32({3, 8}))});
    in.push_back(RandomFor(F32({3, 8}), 1, op == Op::POW ? 0.1 : -5, 5));
    in.push_back(RandomFor(F32({8}), 2, 0.5, 3));
  }
  ExpectAgreesWithRef(m.Build(), in, Tolerance{1e-5, 1e-5, 0}, "POW/FLOOR_DIV/FLOOR_MOD float");
}

TEST(SpaceBatch, GoldenAndAgreement) {
  // SPACE_TO_BATCH_ND of a 1x2x2x1 [0 1; 2 3], block 2 -> 4x1x1x1 [0, 1, 2, 3].
  ModelBuilder g;
  const int x = AddIn(g, F32({1, 2, 2, 1}));
  g.AddOperator(Op::SPACE_TO_BATCH_ND,
                {x, AddConst<int32_t>(g, Plain(DType::kInt32, {2}), {2, 2}),
                 AddConst<int32_t>(g, Plain(DType::kInt32, {2, 2}), {0, 0, 0, 0})},
                {AddOut(g, F32({4, 1, 1, 1}))});
  auto out = RunEdgeopt(g.Build(), {MakeArray<float>(DType::kFloat32, {1, 2, 2, 1}, Iota(4))});
  ASSERT_TRUE(out.ok()) << out.status().message();
  EXPECT_EQ(ToVector<float>((*out)[0]), Iota(4));
  if (!TfliteRefAvailable()) return;
  ModelBuilder m;
  std::vector<TSpec> ins;
  // S2B with padding (float and int8 padding with the zero point), B2S with crops, 3-d input.
  ins.push_back(F32({2, 5, 6, 3}));
  m.AddOperator(Op::SPACE_TO_BATCH_ND,
                {AddIn(m, ins.back()), AddConst<int32_t>(m, Plain(DType::kInt32, {2}), {2, 3}),
                 AddConst<int32_t>(m, Plain(DType::kInt32, {2, 2}), {1, 0, 2, 1})},
                {AddOut(m, F32({12, 3, 3, 3}))});
  ins.push_back(Q(DType::kInt8, {1, 4, 4, 2}, 0.1f, -7));
  m.AddOperator(Op::SPACE_TO_BATCH_ND,
                {AddIn(m, ins.back()), AddConst<int32_t>(m, Plain(DType::kInt32, {2}), {2, 2}),
                 AddConst<int32_t>(m, Plain(DType::kInt32, {2, 2}), {2, 2, 0, 2})},
                {AddOut(m, Q(DType::kInt8, {4, 4, 3, 2}, 0.1f, -7))});
  ins.push_back(F32({8, 3, 2, 2}));
  m.AddOperator(Op::BATCH_TO_SPACE_ND,
                {AddIn(m, ins.back()), AddConst<int32_t>(m, Plain(DType::kInt32, {2}), {2, 4}),
                 AddConst<int32_t>(m, Plain(DType::kInt32, {2, 2}), {1, 0, 0, 3})},
                {AddOut(m, F32({1, 5, 5, 2}))});
  ins.push_back(F32({2, 6, 3}));
  m.AddOperator(Op::SPACE_TO_BATCH_ND,
                {AddIn(m, ins.back()), AddConst<int32_t>(m, Plain(DType::kInt32, {1}), {2}),
                 AddConst<int32_t>(m, Plain(DType::kInt32, {1, 2}), {0, 0})},
                {AddOut(m, F32({4, 3, 3}))});
  ExpectAgreesWithRef(m.Build(), RandomInputs(ins, 6), ExactInts(),
                      "SPACE_TO_BATCH_ND/BATCH_TO_SPACE_ND");
}

TEST(MirrorPad, GoldenAndAgreement) {
  auto options = [](tflite::MirrorPadMode mode) {
    return [mode](fb::FlatBufferBuilder& b) {
      return MakeOptions(tflite::BuiltinOptions::MirrorPadOptions,
                         tflite::CreateMirrorPadOptions(b, mode));
    };
  };
  ModelBuilder g;
  const int x = AddIn(g, F32({3}));
  const int p = AddConst<int32_t>(g, Plain(DType::kInt32, {1, 2}), {2, 2});
  g.AddOperator(Op::MIRROR_PAD, {x, p}, {AddOut(g, F32({7}))},
                options(tflite::MirrorPadMode::REFLECT));
  g.AddOperator(Op::MIRROR_PAD, {x, p}, {AddOut(g, F32({7}))},
                options(tflite::MirrorPadMode::SYMMETRIC));
  auto model = g.Build();
  std::vector<NpyArray> in = {MakeArray<float>(DType::kFloat32, {3}, {1, 2, 3})};
  auto out = RunEdgeopt(model, in);
  ASSERT_TRUE(out.ok()) << out.status().message();
  EXPECT_EQ(ToVector<float>((*out)[0]), (std::vector<float>{3, 2, 1, 2, 3, 2, 1}));
  EXPECT_EQ(ToVector<float>((*out)[1]), (std::vector<float>{2, 1, 1, 2, 3, 3, 2}));
  if (!TfliteRefAvailable()) return;
  ExpectAgreesWithRef(model, in, ExactInts(), "MIRROR_PAD 1-d");
  ModelBuilder m;
  const TSpec q = Q(DType::kInt8, {2, 4, 5, 3}, 0.1f, 0);
  const int xq = AddIn(m, q);
  const int pq = AddConst<int32_t>(m, Plain(DType::kInt32, {4, 2}), {0, 1, 3, 2, 1, 4, 0, 0});
  m.AddOperator(Op::MIRROR_PAD, {xq, pq}, {AddOut(m, Q(DType::kInt8, {3, 9, 10, 3}, 0.1f, 0))},
                options(tflite::MirrorPadMode::REFLECT));
  const int pq2 = AddConst<int32_t>(m, Plain(DType::kInt32, {4, 2}), {2, 0, 4, 4, 0, 5, 1, 1});
  m.AddOperator(Op::MIRROR_PAD, {xq, pq2}, {AddOut(m, Q(DType::kInt8, {4, 12, 10, 5}, 0.1f, 0))},
                options(tflite::MirrorPadMode::SYMMETRIC));
  ExpectAgreesWithRef(m.Build(), {RandomFor(q, 4)}, ExactInts(), "MIRROR_PAD 4-d int8");
}

TEST(MirrorPad, TooMuchPaddingIsAnError) {
  ModelBuilder m;
  const int x = AddIn(m, F32({3}));
  const int p = AddConst<int32_t>(m, Plain(DType::kInt32, {1, 2}), {3, 0});
  m.AddOperator(Op::MIRROR_PAD, {x, p}, {AddOut(m, F32({6}))});
  ExpectPrepareError(m.Build(), "outside [0, 2] for REFLECT");
}

}  // namespace
}  // namespace testing
}  // namespace edgeopt
