#include <gtest/gtest.h>

#include "src/runtime/kernels/conv_test_util.h"
#include "src/runtime/kernels/elem_test_util.h"
#include "src/runtime/kernels/ukernels/configs.h"

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

// Shapes for the microkernel path (the rhs packed per batch, the f32 / qs8 IGEMM kernels): N not
// a multiple of any tile width (16, 32, 64: partial column blocks), M not a multiple of any tile
// height (2, 6, 12, 16), K = 1 and K not a multiple of 4 (int8 rows padded to kcp), every
// adj_x / adj_y, broadcast batches, M = 1 (GEMV) and N = 1, attention's two products, and
// sizes above the threading threshold (64K MACs): several batches, and one or few batches split
// into row chunks.
struct FastCase {
  std::vector<int32_t> lhs_batch, rhs_batch;  // batch dimensions (broadcast numpy-style)
  int M, K, N;
  bool adj_x, adj_y;
};

const FastCase kFastCases[] = {
    {{2}, {2}, 13, 7, 37, false, false},       {{2}, {2}, 13, 7, 37, false, true},
    {{2}, {2}, 13, 7, 37, true, false},        {{2}, {2}, 13, 7, 37, true, true},
    {{3}, {3}, 1, 5, 70, false, false},         // GEMV, N = 64 + 6
    {{3}, {3}, 9, 6, 1, false, true},           // one column
    {{4}, {4}, 29, 1, 17, false, false},        // K = 1
    {{2, 1}, {1, 3}, 4, 8, 28, false, true},    // broadcast both ways
    {{}, {3}, 5, 3, 9, false, false},           // rank 2 lhs against rank 3 rhs
    {{1, 4}, {1, 4}, 28, 8, 28, false, true},   // attention: q x k^T
    {{1, 4}, {1, 4}, 28, 28, 8, false, false},  // attention: probabilities x v
    {{6}, {6}, 40, 24, 45, false, true},        // 259K MACs: a task per batch
    {{}, {}, 75, 33, 50, true, false},          // 124K MACs, one batch: row chunks
    {{3}, {}, 47, 20, 70, false, false},        // 197K MACs, rhs shared: row chunks
};

// The model of `c` for type t (int8: lhs zero point 3, rhs zero point rhs_zp) and its random
// inputs.
std::vector<uint8_t> BuildFastCase(const FastCase& c, DType t, int64_t rhs_zp, uint32_t seed,
                                   std::vector<NpyArray>* inputs) {
  const bool q = t == DType::kInt8;
  std::vector<int32_t> lhs = c.lhs_batch, rhs = c.rhs_batch, out;
  const size_t rank = std::max(lhs.size(), rhs.size());
  for (size_t i = 0; i < rank; ++i) {  // right-aligned, a missing dimension is 1
    const int32_t l = i + lhs.size() >= rank ? lhs[i + lhs.size() - rank] : 1;
    const int32_t r = i + rhs.size() >= rank ? rhs[i + rhs.size() - rank] : 1;
    out.push_back(std::max(l, r));
  }
  lhs.insert(lhs.end(), {c.adj_x ? c.K : c.M, c.adj_x ? c.M : c.K});
  rhs.insert(rhs.end(), {c.adj_y ? c.N : c.K, c.adj_y ? c.K : c.N});
  out.insert(out.end(), {c.M, c.N});
  const float out_scale = static_cast<float>(0.05 * 0.02 * 74 * 74 * std::sqrt(c.K) / 40);
  auto scale = [q](float s) { return q ? std::vector<float>{s} : std::vector<float>{}; };
  auto zp = [q](int64_t z) { return q ? std::vector<int64_t>{z} : std::vector<int64_t>{}; };
  ModelBuilder m;
  const int a = m.AddInput(t, lhs, scale(0.05f), zp(3));
  const int b = m.AddInput(t, rhs, scale(0.02f), zp(rhs_zp));
  const int y = m.AddOutput(t, out, scale(out_scale), zp(-7));
  m.AddOperator(kBatchMatMul, {a, b}, {y}, BatchMatMulOptions(c.adj_x, c.adj_y));
  const double lo = q ? -1e9 : -1, hi = q ? 1e9 : 1;
  *inputs = {RandomArray(t, lhs, seed, lo, hi), RandomArray(t, rhs, seed + 1, lo, hi)};
  return m.Build();
}

std::string Describe(const FastCase& c, DType t) {
  std::string s = std::string(DTypeName(t)) + " M=" + std::to_string(c.M) +
                  " K=" + std::to_string(c.K) + " N=" + std::to_string(c.N);
  return s + (c.adj_x ? " adj_x" : "") + (c.adj_y ? " adj_y" : "");
}

// The microkernels against the reference kernels at every ISA level, on 1 and 2 threads: float
// within the test tolerance (FMA), bit-exact with exact_float; int8 bit-exact, with and without
// an rhs zero point (the kernels' row terms).
TEST(BatchMatMulOptimized, MatchesReference) {
  uint32_t seed = 700;
  for (const FastCase& c : kFastCases) {
    std::vector<NpyArray> in;
    auto model = BuildFastCase(c, DType::kFloat32, 0, seed++, &in);
    ExpectMatchesReference(model, in, Describe(c, DType::kFloat32), conv::kFloatAtol,
                           conv::kFloatRtol);
    ExpectMatchesReference(model, in, Describe(c, DType::kFloat32) + " exact", -1, 0, true);
    for (int64_t rhs_zp : {-5, 0}) {
      model = BuildFastCase(c, DType::kInt8, rhs_zp, seed++, &in);
      ExpectMatchesReference(model, in,
                             Describe(c, DType::kInt8) + " rhs zp " + std::to_string(rhs_zp));
    }
  }
}

// The same shapes against TFLite 2.9: float within the conformance tolerance, int8 exact.
TEST(BatchMatMulOptimized, MatchesTflite) {
  if (!TfliteRefAvailable()) GTEST_SKIP() << "tflite-ref unavailable";
  conv::LsbHistogram hist;
  uint32_t seed = 900;
  for (const FastCase& c : kFastCases) {
    for (DType t : {DType::kFloat32, DType::kInt8}) {
      SCOPED_TRACE(Describe(c, t));
      std::vector<NpyArray> in;
      const auto model = BuildFastCase(c, t, -5, seed++, &in);
      auto ours = RunEdgeopt(model, in);
      auto ref = RunTfliteRef(model, in);
      ASSERT_TRUE(ours.ok()) << ours.status().ToString();
      ASSERT_TRUE(ref.ok()) << ref.status().ToString();
      ExpectAllClose(*ours, *ref, t == DType::kInt8 ? Tolerance{0, 0, 0} : conv::FloatTolerance());
      hist.Add((*ours)[0], (*ref)[0]);
    }
  }
  std::printf("[ BATCH_MATMUL microkernels ] |ours - tflite| histogram (LSB:count): %s\n",
              hist.ToString().c_str());
}

// Prepare picks the microkernels where the CPU has them (the tests above would pass on the
// reference alone), and the reference with use_optimized_kernels off.
TEST(BatchMatMulOptimized, PicksMicrokernels) {
  const rt::CpuInfo& cpu = rt::GetCpuInfo();
  for (DType t : {DType::kFloat32, DType::kInt8}) {
    std::vector<NpyArray> in;
    const auto model = BuildFastCase(kFastCases[9], t, -5, 1, &in);
    for (bool optimized : {true, false}) {
      rt::InterpreterOptions options;
      options.use_optimized_kernels = optimized;
      auto interp = rt::Interpreter::Create(model.data(), model.size(), options);
      ASSERT_TRUE(interp.ok()) << interp.status().ToString();
      const bool has = t == DType::kInt8 ? rt::uk::GetQS8GemmConfig(cpu, 28) != nullptr
                                         : rt::uk::GetF32GemmConfig(cpu, 28) != nullptr;
      EXPECT_STREQ((*interp)->node_kernel(0), optimized && has ? "igemm" : "")
          << DTypeName(t) << (optimized ? " optimized" : " reference");
    }
  }
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
