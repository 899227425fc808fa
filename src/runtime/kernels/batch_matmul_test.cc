#include <gtest/gtest.h>

#include "src/runtime/kernels/conv_test_util.h"

namespace edgeopt {
namespace testing {
namespace {

constexpr auto kBatchMatMul = tflite::BuiltinOperator::BATCH_MATMUL;

OptionsFn BatchMatMulOptions(bool adj_x, bool adj_y) {
  return [=](flatbuffers::FlatBufferBuilder& fb) {
    return MakeOptions(tflite::BuiltinOptions::BatchMatMulOptions,
                       tflite::CreateBatchMatMulOptions(fb, adj_x, adj_y));
  };
}

TEST(BatchMatMulFloat, GoldenBroadcastAndAdjoint) {
  // lhs [2, 1, 2] (two 1x2 rows), rhs [2, 2] shared by both batches, adj_y: rhs
  // is read transposed, so out[b] = lhs[b] x rhs^T.
  ModelBuilder m;
  const int a = m.AddInput(DType::kFloat32, {2, 1, 2});
  const int b = m.AddInput(DType::kFloat32, {2, 2});
  const int y = m.AddOutput(DType::kFloat32, {2, 1, 2});
  m.AddOperator(kBatchMatMul, {a, b}, {y}, BatchMatMulOptions(false, true));
  auto out = RunEdgeopt(m.Build(), {MakeArray<float>(DType::kFloat32, {2, 1, 2}, {1, 2, 3, 4}),
                                    MakeArray<float>(DType::kFloat32, {2, 2}, {1, 10, 100, 1000})});
  ASSERT_TRUE(out.ok()) << out.status().ToString();
  // rhs^T = [[1, 100], [10, 1000]]: [1, 2] -> [21, 2100]; [3, 4] -> [43, 4300].
  EXPECT_EQ((*out)[0].shape, (std::vector<int64_t>{2, 1, 2}));
  EXPECT_EQ(ToVector<float>((*out)[0]), (std::vector<float>{21, 2100, 43, 4300}));
}

TEST(BatchMatMulInt8, GoldenZeroPoints) {
  // lhs zp 1, rhs zp -1, scales 1, output scale 2 zp 0: [[3, 5]] x [[0], [2]]
  // (reals [2, 4] and [1, 3]) = 2 + 12 = 14 -> 7.
  ModelBuilder m;
  const int a = m.AddInput(DType::kInt8, {1, 2}, {1.0f}, {1});
  const int b = m.AddInput(DType::kInt8, {2, 1}, {1.0f}, {-1});
  const int y = m.AddOutput(DType::kInt8, {1, 1}, {2.0f}, {0});
  m.AddOperator(kBatchMatMul, {a, b}, {y}, BatchMatMulOptions(false, false));
  const auto model = m.Build();
  const std::vector<NpyArray> in = {MakeArray<int8_t>(DType::kInt8, {1, 2}, {3, 5}),
                                    MakeArray<int8_t>(DType::kInt8, {2, 1}, {0, 2})};
  auto out = RunEdgeopt(model, in);
  ASSERT_TRUE(out.ok()) << out.status().ToString();
  EXPECT_EQ(ToVector<int8_t>((*out)[0]), (std::vector<int8_t>{7}));
  if (TfliteRefAvailable()) {
    auto ref = RunTfliteRef(model, in);
    ASSERT_TRUE(ref.ok()) << ref.status().ToString();
    ExpectAllClose(*out, *ref, Tolerance{0, 0, 0});
  }
}

TEST(BatchMatMulInt16, GoldenAdjointAndRounding) {
  // int16 (zero points 0), adj_y: [[3, -5], [7, 2]] x [[4, 1], [-2, 6]]^T with scales 1 and output
  // scale 2: [3·4 - 5·1, 3·-2 - 5·6, 7·4 + 2·1, 7·-2 + 2·6] / 2 = [7, -36, 30, -2] / 2
  // = [3.5, -18, 15, -1]; TFLite's int64 rounding is half up: [4, -18, 15, -1].
  ModelBuilder m;
  const int a = m.AddInput(DType::kInt16, {2, 2}, {1.0f}, {0});
  const int b = m.AddInput(DType::kInt16, {2, 2}, {1.0f}, {0});
  const int y = m.AddOutput(DType::kInt16, {2, 2}, {2.0f}, {0});
  m.AddOperator(kBatchMatMul, {a, b}, {y}, BatchMatMulOptions(false, true));
  const auto model = m.Build();
  const std::vector<NpyArray> in = {MakeArray<int16_t>(DType::kInt16, {2, 2}, {3, -5, 7, 2}),
                                    MakeArray<int16_t>(DType::kInt16, {2, 2}, {4, 1, -2, 6})};
  auto out = RunEdgeopt(model, in);
  ASSERT_TRUE(out.ok()) << out.status().ToString();
  EXPECT_EQ(ToVector<int16_t>((*out)[0]), (std::vector<int16_t>{4, -18, 15, -1}));
  if (TfliteRefAvailable()) {
    auto ref = RunTfliteRef(model, in);
    ASSERT_TRUE(ref.ok()) << ref.status().ToString();
    ExpectAllClose(*out, *ref, Tolerance{0, 0, 0});
  }
}

struct MatMulCase {
  std::vector<int32_t> lhs, rhs, out;
  bool adj_x, adj_y;
};

TEST(BatchMatMulAgreement, MatchesTflite) {
  if (!TfliteRefAvailable()) GTEST_SKIP() << "tflite-ref unavailable";
  const MatMulCase cases[] = {
      {{3, 4}, {4, 5}, {3, 5}, false, false},
      {{2, 3, 4}, {2, 4, 5}, {2, 3, 5}, false, false},
      {{2, 4, 3}, {2, 5, 4}, {2, 3, 5}, true, true},
      {{2, 1, 3, 6}, {4, 6, 2}, {2, 4, 3, 2}, false, false},  // broadcast batches
      {{1, 6}, {3, 6, 7}, {3, 1, 7}, false, false},           // rank 2 against rank 3
      {{2, 2, 5, 3}, {2, 2, 5, 4}, {2, 2, 3, 4}, true, false},
  };
  conv::LsbHistogram hist;
  uint32_t seed = 400;
  for (DType t : {DType::kFloat32, DType::kInt8, DType::kInt16}) {
    for (const MatMulCase& c : cases) {
      SCOPED_TRACE(::testing::Message() << DTypeName(t) << " case " << seed);
      const bool q = t != DType::kFloat32, i16 = t == DType::kInt16;
      int64_t k = c.adj_x ? c.lhs[c.lhs.size() - 2] : c.lhs.back();
      // int16 is symmetric (zero points 0); a uniform int8 / int16 value's rms is 74 / 18918.
      const double rms = i16 ? 18918 : 74;
      ModelBuilder m;
      const int a = m.AddInput(t, c.lhs, q ? std::vector<float>{0.05f} : std::vector<float>{},
                               q ? std::vector<int64_t>{i16 ? 0 : 3} : std::vector<int64_t>{});
      const int b = m.AddInput(t, c.rhs, q ? std::vector<float>{0.02f} : std::vector<float>{},
                               q ? std::vector<int64_t>{i16 ? 0 : -5} : std::vector<int64_t>{});
      const float out_scale =
          static_cast<float>(0.05 * 0.02 * rms * rms * std::sqrt(k) / (i16 ? 10000 : 40));
      const int y = m.AddOutput(t, c.out, q ? std::vector<float>{out_scale} : std::vector<float>{},
                                q ? std::vector<int64_t>{i16 ? 0 : 2} : std::vector<int64_t>{});
      m.AddOperator(kBatchMatMul, {a, b}, {y}, BatchMatMulOptions(c.adj_x, c.adj_y));
      const auto model = m.Build();
      const double lo = q ? -1e9 : -1, hi = q ? 1e9 : 1;
      const std::vector<NpyArray> in = {RandomArray(t, c.lhs, seed, lo, hi),
                                        RandomArray(t, c.rhs, seed + 1, lo, hi)};
      ++seed;
      auto ours = RunEdgeopt(model, in);
      auto ref = RunTfliteRef(model, in);
      ASSERT_TRUE(ours.ok()) << ours.status().ToString();
      ASSERT_TRUE(ref.ok()) << ref.status().ToString();
      ExpectAllClose(*ours, *ref, q ? conv::QuantTolerance() : conv::FloatTolerance());
      hist.Add((*ours)[0], (*ref)[0]);
    }
  }
  std::printf("[ BATCH_MATMUL float+int8+int16 ] |ours - tflite| histogram (LSB:count): %s\n",
              hist.ToString().c_str());
}

TEST(BatchMatMulErrors, ShapeMismatch) {
  auto model = [](std::vector<int32_t> lhs, std::vector<int32_t> rhs) {
    ModelBuilder m;
    const int a = m.AddInput(DType::kFloat32, lhs);
    const int b = m.AddInput(DType::kFloat32, rhs);
    const int y = m.AddOutput(DType::kFloat32, {1, 1});
    m.AddOperator(kBatchMatMul, {a, b}, {y}, BatchMatMulOptions(false, false));
    return m.Build();
  };
  conv::ExpectPrepareError(model({2, 3}, {4, 5}), StatusCode::kInvalidModel,
                           "lhs has 3 columns (contraction size), rhs has 4 rows");
  conv::ExpectPrepareError(model({2, 2, 3}, {3, 3, 5}), StatusCode::kInvalidModel,
                           "lhs has 2, rhs has 3");
  conv::ExpectPrepareError(model({3}, {3, 5}), StatusCode::kInvalidModel, "has rank 1");
}

}  // namespace
}  // namespace testing
}  // namespace edgeopt
