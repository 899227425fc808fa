// EXP, LOG, SQRT, RSQRT, SQUARE, ABS, NEG, SIN, COS, FLOOR, CEIL, ROUND, RESIZE_BILINEAR,
// RESIZE_NEAREST_NEIGHBOR, GATHER, TILE, BROADCAST_TO, ZEROS_LIKE, FILL, DEPTH_TO_SPACE,
// SPACE_TO_DEPTH, L2_NORMALIZATION: goldens, agreement with tflite-ref, errors.
#include <gtest/gtest.h>

#include <cmath>

#include "src/runtime/kernels/elem_test_util.h"
#include "src/runtime/kernels/ukernels/configs.h"

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

NpyArray All8(DType type) {
  NpyArray a;
  a.dtype = type;
  a.shape = {256};
  a.data.resize(256);
  for (int i = 0; i < 256; ++i) a.data[i] = static_cast<uint8_t>(i);
  return a;
}

// --- unary math ----------------------------------------------------------------------------------

TEST(UnaryMath, GoldenFloat) {
  ModelBuilder m;
  const int x = AddIn(m, F32({4}));
  for (Op op : {Op::SQUARE, Op::ABS, Op::NEG, Op::FLOOR, Op::CEIL, Op::ROUND}) {
    m.AddOperator(op, {x}, {AddOut(m, F32({4}))});
  }
  auto out =
      RunEdgeopt(m.Build(), {MakeArray<float>(DType::kFloat32, {4}, {-1.5f, 2.5f, 0.5f, -2})});
  ASSERT_TRUE(out.ok()) << out.status().message();
  EXPECT_EQ(ToVector<float>((*out)[0]), (std::vector<float>{2.25f, 6.25f, 0.25f, 4}));
  EXPECT_EQ(ToVector<float>((*out)[1]), (std::vector<float>{1.5f, 2.5f, 0.5f, 2}));
  EXPECT_EQ(ToVector<float>((*out)[2]), (std::vector<float>{1.5f, -2.5f, -0.5f, 2}));
  EXPECT_EQ(ToVector<float>((*out)[3]), (std::vector<float>{-2, 2, 0, -2}));
  EXPECT_EQ(ToVector<float>((*out)[4]), (std::vector<float>{-1, 3, 1, -2}));
  EXPECT_EQ(ToVector<float>((*out)[5]), (std::vector<float>{-2, 2, 0, -2}));  // half to even
}

TEST(UnaryMath, AgreementFloat) {
  if (!TfliteRefAvailable()) GTEST_SKIP() << "tflite-ref unavailable";
  ModelBuilder m;
  std::vector<NpyArray> in;
  for (Op op : {Op::EXP, Op::LOG, Op::SQRT, Op::RSQRT, Op::SQUARE, Op::ABS, Op::NEG, Op::SIN,
                Op::COS, Op::FLOOR, Op::CEIL, Op::ROUND}) {
    const bool positive = op == Op::LOG || op == Op::SQRT || op == Op::RSQRT;
    in.push_back(RandomFor(F32({64}), static_cast<uint32_t>(op), positive ? 0.01 : -4, 4));
    m.AddOperator(op, {AddIn(m, F32({64}))}, {AddOut(m, F32({64}))});
  }
  ExpectAgreesWithRef(m.Build(), in, Tolerance{1e-6, 1e-6, 0}, "unary math float x12");
}

TEST(UnaryMath, AgreementQuantizedAbsRsqrtAndIntNeg) {
  if (!TfliteRefAvailable()) GTEST_SKIP() << "tflite-ref unavailable";
  ModelBuilder m;
  std::vector<NpyArray> in;
  // ABS int8 with rescaling and without; int16.
  m.AddOperator(Op::ABS, {AddIn(m, Q(DType::kInt8, {256}, 0.05f, 7))},
                {AddOut(m, Q(DType::kInt8, {256}, 0.03f, -100))});
  in.push_back(All8(DType::kInt8));
  m.AddOperator(Op::ABS, {AddIn(m, Q(DType::kInt8, {256}, 0.05f, 7))},
                {AddOut(m, Q(DType::kInt8, {256}, 0.05f, -128))});
  in.push_back(All8(DType::kInt8));
  m.AddOperator(Op::ABS, {AddIn(m, Q(DType::kInt16, {100}, 1e-3f, 0))},
                {AddOut(m, Q(DType::kInt16, {100}, 2e-3f, 0))});
  in.push_back(RandomFor(Q(DType::kInt16, {100}, 1e-3f, 0), 5));
  // RSQRT int8 over the non-negative half of the range.
  std::vector<int8_t> pos(128);
  for (int i = 0; i < 128; ++i) pos[i] = static_cast<int8_t>(i - 10);
  m.AddOperator(Op::RSQRT, {AddIn(m, Q(DType::kInt8, {128}, 0.1f, -10))},
                {AddOut(m, Q(DType::kInt8, {128}, 0.05f, -128))});
  in.push_back(MakeArray<int8_t>(DType::kInt8, {128}, pos));
  m.AddOperator(Op::NEG, {AddIn(m, Plain(DType::kInt32, {50}))},
                {AddOut(m, Plain(DType::kInt32, {50}))});
  in.push_back(RandomFor(Plain(DType::kInt32, {50}), 6, -1000, 1000));
  ExpectAgreesWithRef(m.Build(), in, ExactInts(), "ABS/RSQRT int8, ABS int16, NEG int32");
}

TEST(UnaryMath, RsqrtNegativeIsAnError) {
  ModelBuilder m;
  m.AddOperator(Op::RSQRT, {AddIn(m, Q(DType::kInt8, {2}, 0.1f, 0))},
                {AddOut(m, Q(DType::kInt8, {2}, 0.1f, 0))});
  auto out = RunEdgeopt(m.Build(), {MakeArray<int8_t>(DType::kInt8, {2}, {4, -1})});
  ASSERT_FALSE(out.ok());
  EXPECT_NE(out.status().message().find("negative"), std::string::npos);
}

// --- resize --------------------------------------------------------------------------------------

OptionsFn ResizeOptions(Op op, bool align, bool half) {
  return [=](fb::FlatBufferBuilder& b) {
    if (op == Op::RESIZE_BILINEAR) {
      return MakeOptions(tflite::BuiltinOptions::ResizeBilinearOptions,
                         tflite::CreateResizeBilinearOptions(b, align, half));
    }
    return MakeOptions(tflite::BuiltinOptions::ResizeNearestNeighborOptions,
                       tflite::CreateResizeNearestNeighborOptions(b, align, half));
  };
}

TEST(Resize, GoldenBilinearFloat) {
  // 1x1x2x1 [0, 10] -> width 4: coordinates 0, 0.5, 1, 1.5 (clamped) -> 0, 5, 10, 10.
  ModelBuilder m;
  const int x = AddIn(m, F32({1, 1, 2, 1}));
  const int s = AddConst<int32_t>(m, Plain(DType::kInt32, {2}), {1, 4});
  m.AddOperator(Op::RESIZE_BILINEAR, {x, s}, {AddOut(m, F32({1, 1, 4, 1}))},
                ResizeOptions(Op::RESIZE_BILINEAR, false, false));
  m.AddOperator(Op::RESIZE_NEAREST_NEIGHBOR, {x, s}, {AddOut(m, F32({1, 1, 4, 1}))},
                ResizeOptions(Op::RESIZE_NEAREST_NEIGHBOR, false, false));
  auto out = RunEdgeopt(m.Build(), {MakeArray<float>(DType::kFloat32, {1, 1, 2, 1}, {0, 10})});
  ASSERT_TRUE(out.ok()) << out.status().message();
  EXPECT_EQ(ToVector<float>((*out)[0]), (std::vector<float>{0, 5, 10, 10}));
  EXPECT_EQ(ToVector<float>((*out)[1]), (std::vector<float>{0, 0, 10, 10}));
}

TEST(Resize, AgreementAllModes) {
  if (!TfliteRefAvailable()) GTEST_SKIP() << "tflite-ref unavailable";
  struct Case {
    std::vector<int32_t> in;
    int oh, ow;
  };
  const Case cases[] = {{{1, 4, 5, 3}, 8, 10},
                        {{2, 5, 3, 2}, 3, 7},
                        {{1, 3, 3, 1}, 7, 5},
                        {{1, 6, 6, 4}, 3, 3},
                        {{1, 5, 15, 2}, 15, 6}};
  ModelBuilder m;
  std::vector<TSpec> ins;
  for (Op op : {Op::RESIZE_BILINEAR, Op::RESIZE_NEAREST_NEIGHBOR}) {
    for (DType t : {DType::kFloat32, DType::kUInt8, DType::kInt8, DType::kInt16}) {
      for (int mode = 0; mode < 3; ++mode) {
        const bool align = mode == 1, half = mode == 2;
        for (const Case& c : cases) {
          TSpec in{t, c.in};
          if (t != DType::kFloat32) in.scale = 0.1f;
          TSpec out = in;
          out.shape = {c.in[0], c.oh, c.ow, c.in[3]};
          ins.push_back(in);
          const int s = AddConst<int32_t>(m, Plain(DType::kInt32, {2}), {c.oh, c.ow});
          m.AddOperator(op, {AddIn(m, in), s}, {AddOut(m, out)}, ResizeOptions(op, align, half));
        }
      }
    }
  }
  ExpectAgreesWithRef(m.Build(), RandomInputs(ins, 9), Tolerance{1e-5, 1e-5, 0},
                      "RESIZE bilinear/nearest x120");
}

// Large enough to run on two threads (each with its own cached rows): the same bits as one
// thread, and the official runtime's (integers exactly, float within rounding).
TEST(Resize, TwoThreadsGiveTheSameBits) {
  for (DType t : {DType::kFloat32, DType::kInt8, DType::kInt16}) {
    for (int mode = 0; mode < 3; ++mode) {
      ModelBuilder m;
      TSpec in{t, {2, 30, 33, 8}};
      if (t != DType::kFloat32) in.scale = 0.05f;
      TSpec out = in;
      out.shape = {2, 72, 70, 8};  // 144 rows of 560 values: above the 2^16 to split
      const int s = AddConst<int32_t>(m, Plain(DType::kInt32, {2}), {72, 70});
      m.AddOperator(Op::RESIZE_BILINEAR, {AddIn(m, in), s}, {AddOut(m, out)},
                    ResizeOptions(Op::RESIZE_BILINEAR, mode == 1, mode == 2));
      const std::vector<uint8_t> model = m.Build();
      const std::vector<NpyArray> inputs = RandomInputs({in}, 11 + mode);
      rt::InterpreterOptions one, two;
      one.num_threads = 1;
      two.num_threads = 2;
      auto a = RunEdgeopt(model, inputs, one);
      auto b = RunEdgeopt(model, inputs, two);
      ASSERT_TRUE(a.ok() && b.ok());
      EXPECT_EQ((*a)[0].data, (*b)[0].data) << DTypeName(t) << " mode " << mode;
      if (TfliteRefAvailable()) {
        ExpectAgreesWithRef(model, inputs, Tolerance{1e-5, 1e-5, 0}, "RESIZE_BILINEAR two threads");
      }
    }
  }
}

// int8 bilinear on the microkernels (uk::ResizeConfig) against the scalar passes
// (use_optimized_kernels off): the same bits, for channel counts around the 8-channel steps,
// rows around the 32-value steps, up- and down-scaling, every mode; inputs at the int8 limits.
TEST(Resize, Int8MicrokernelsMatchReference) {
  if (rt::uk::GetResizeConfig(rt::GetCpuInfo()) == nullptr) {
    GTEST_SKIP() << "no int8 resize microkernel on this machine";
  }
  const int sizes[][4] = {{5, 7, 11, 16}, {9, 12, 4, 5}, {3, 40, 6, 33}, {1, 1, 2, 3}};
  for (int depth : {1, 3, 8, 13, 16, 40}) {
    for (int mode = 0; mode < 3; ++mode) {
      for (const auto& z : sizes) {
        ModelBuilder m;
        TSpec in{DType::kInt8, {2, z[0], z[1], depth}};
        in.scale = 0.05f;
        TSpec out = in;
        out.shape = {2, z[2], z[3], depth};
        const int s = AddConst<int32_t>(m, Plain(DType::kInt32, {2}), {z[2], z[3]});
        m.AddOperator(Op::RESIZE_BILINEAR, {AddIn(m, in), s}, {AddOut(m, out)},
                      ResizeOptions(Op::RESIZE_BILINEAR, mode == 1, mode == 2));
        const std::vector<uint8_t> model = m.Build();
        std::vector<NpyArray> inputs = RandomInputs({in}, 17 + depth + mode);
        for (size_t i = 0; i < inputs[0].data.size(); i += 5) {
          inputs[0].data[i] = i % 2 == 0 ? 0x80 : 0x7F;  // -128 and 127
        }
        rt::InterpreterOptions fast, reference;
        reference.use_optimized_kernels = false;
        auto a = RunEdgeopt(model, inputs, fast);
        auto b = RunEdgeopt(model, inputs, reference);
        ASSERT_TRUE(a.ok() && b.ok());
        EXPECT_EQ((*a)[0].data, (*b)[0].data)
            << "depth " << depth << " mode " << mode << " " << z[0] << "x" << z[1] << " -> " << z[2]
            << "x" << z[3];
      }
    }
  }
}

// TFLite's integer bilinear computes coordinates as output index x 10-bit scale in int32, about
// 1024 x the input size: an image over 2^20 pixels along an axis (the sweep found a flipped
// model 16,711,704 pixels wide) is refused at Prepare for int8 and int16; float computes them
// in float.
TEST(Resize, IntegerCoordinateOverflowIsRefused) {
  constexpr int32_t kLong = (1 << 20) + 7;
  const int32_t sizes[][2] = {{1, kLong}, {kLong, 1}};
  for (DType t : {DType::kInt8, DType::kInt16, DType::kFloat32}) {
    for (const auto& z : sizes) {
      ModelBuilder m;
      TSpec in{t, {1, z[0], z[1], 1}};
      if (t != DType::kFloat32) in.scale = 0.1f;
      TSpec out = in;
      const int s = AddConst<int32_t>(m, Plain(DType::kInt32, {2}), {z[0], z[1]});
      m.AddOperator(Op::RESIZE_BILINEAR, {AddIn(m, in), s}, {AddOut(m, out)},
                    ResizeOptions(Op::RESIZE_BILINEAR, false, true));
      auto r = RunEdgeopt(m.Build(), RandomInputs({in}, 3));  // the same size: 2^20 + 7
      if (t == DType::kFloat32) {
        EXPECT_TRUE(r.ok()) << r.status().message();
        continue;
      }
      ASSERT_FALSE(r.ok()) << DTypeName(t) << " " << z[0] << "x" << z[1];
      EXPECT_NE(r.status().message().find("overflows the integer kernel"), std::string::npos)
          << r.status().message();
    }
  }
}

// The y mix rounds ties away from zero: with w1 = 0 the sum is top * 1024, a tie whenever top is
// an odd multiple of 512; also the largest sums (int8 limits times the extreme weights).
TEST(Resize, Int8MixMicrokernelRoundsTiesAwayFromZero) {
  const rt::uk::ResizeConfig* cfg = rt::uk::GetResizeConfig(rt::GetCpuInfo());
  if (cfg == nullptr) GTEST_SKIP() << "no int8 resize microkernel on this machine";
  std::vector<int32_t> top, bottom;
  for (int k = -70; k < 70; ++k) {
    top.push_back(k * 1024 + 512);
    bottom.push_back(-128 * 1536);
  }
  for (int w1 : {0, 1, 511, 512, 1023, -512}) {
    std::vector<int8_t> out(top.size());
    cfg->mix_s8(top.size(), top.data(), bottom.data(), w1, out.data());
    for (size_t i = 0; i < top.size(); ++i) {
      const int64_t v = int64_t{top[i]} * (1024 - w1) + int64_t{bottom[i]} * w1;
      const int64_t want = (v + (v > 0 ? (1 << 19) : -(1 << 19))) / (1 << 20);
      if (want < -128 || want > 127) continue;  // not a value an int8 resize makes
      EXPECT_EQ(out[i], want) << "w1 " << w1 << " top " << top[i];
    }
  }
  std::vector<int8_t> out(3);
  const int32_t t3[] = {0, 1 << 19, -(1 << 19)}, b3[] = {0, 0, 0};
  cfg->mix_s8(3, t3, b3, 1023, out.data());  // 2^19 * 1 / 2^20: ties to +-1
  EXPECT_EQ(out, (std::vector<int8_t>{0, 1, -1}));
}

// --- gather / tile / broadcast / fill ------------------------------------------------------------

OptionsFn GatherOptions(int axis, int batch_dims = 0) {
  return [=](fb::FlatBufferBuilder& b) {
    return MakeOptions(tflite::BuiltinOptions::GatherOptions,
                       tflite::CreateGatherOptions(b, axis, batch_dims));
  };
}

TEST(Gather, GoldenAndAgreement) {
  ModelBuilder g;
  const int p = AddIn(g, F32({3, 2}));
  const int i = AddConst<int32_t>(g, Plain(DType::kInt32, {2}), {2, 0});
  g.AddOperator(Op::GATHER, {p, i}, {AddOut(g, F32({2, 2}))}, GatherOptions(0));
  auto out = RunEdgeopt(g.Build(), {MakeArray<float>(DType::kFloat32, {3, 2}, Iota(6))});
  ASSERT_TRUE(out.ok()) << out.status().message();
  EXPECT_EQ(ToVector<float>((*out)[0]), (std::vector<float>{4, 5, 0, 1}));
  if (!TfliteRefAvailable()) return;
  ModelBuilder m;
  std::vector<NpyArray> in;
  // axis 1 of a [2, 5, 3] int8, indices [2, 2] (constant); axis -1 float with int64 indices;
  // batch_dims 1.
  m.AddOperator(Op::GATHER,
                {AddIn(m, Q(DType::kInt8, {2, 5, 3}, 0.1f, 0)),
                 AddConst<int32_t>(m, Plain(DType::kInt32, {2, 2}), {4, 0, 1, 1})},
                {AddOut(m, Q(DType::kInt8, {2, 2, 2, 3}, 0.1f, 0))}, GatherOptions(1));
  in.push_back(RandomFor(Q(DType::kInt8, {2, 5, 3}, 0.1f, 0), 1));
  m.AddOperator(Op::GATHER,
                {AddIn(m, F32({4, 6})), AddConst<int64_t>(m, Plain(DType::kInt64, {3}), {5, 0, 5})},
                {AddOut(m, F32({4, 3}))}, GatherOptions(-1));
  in.push_back(RandomFor(F32({4, 6}), 2));
  m.AddOperator(Op::GATHER, {AddIn(m, F32({2, 4, 3})), AddIn(m, Plain(DType::kInt32, {2, 2}))},
                {AddOut(m, F32({2, 2, 3}))}, GatherOptions(1, 1));
  in.push_back(RandomFor(F32({2, 4, 3}), 3));
  in.push_back(MakeArray<int32_t>(DType::kInt32, {2, 2}, {3, 1, 0, 2}));
  ExpectAgreesWithRef(m.Build(), in, ExactInts(), "GATHER");
}

TEST(Gather, IndexOutOfRange) {
  ModelBuilder m;
  const int p = AddIn(m, F32({3, 2}));
  const int i = AddConst<int32_t>(m, Plain(DType::kInt32, {1}), {3});
  m.AddOperator(Op::GATHER, {p, i}, {AddOut(m, F32({1, 2}))}, GatherOptions(0));
  ExpectPrepareError(m.Build(), "out of range");
  // Run-time indices are checked in Eval.
  ModelBuilder m2;
  const int p2 = AddIn(m2, F32({3, 2}));
  const int i2 = AddIn(m2, Plain(DType::kInt32, {1}));
  m2.AddOperator(Op::GATHER, {p2, i2}, {AddOut(m2, F32({1, 2}))}, GatherOptions(0));
  auto out = RunEdgeopt(m2.Build(), {MakeArray<float>(DType::kFloat32, {3, 2}, Iota(6)),
                                     MakeArray<int32_t>(DType::kInt32, {1}, {-1})});
  ASSERT_FALSE(out.ok());
  EXPECT_NE(out.status().message().find("out of range"), std::string::npos);
}

TEST(TileBroadcastFill, GoldenAndAgreement) {
  ModelBuilder m;
  std::vector<NpyArray> in;
  // TILE [2, 3] x [2, 1] and a 3-d int8 tile.
  m.AddOperator(Op::TILE,
                {AddIn(m, F32({2, 3})), AddConst<int32_t>(m, Plain(DType::kInt32, {2}), {2, 1})},
                {AddOut(m, F32({4, 3}))});
  in.push_back(MakeArray<float>(DType::kFloat32, {2, 3}, Iota(6)));
  m.AddOperator(Op::TILE,
                {AddIn(m, Q(DType::kInt8, {2, 1, 3}, 0.1f, 0)),
                 AddConst<int32_t>(m, Plain(DType::kInt32, {3}), {1, 3, 2})},
                {AddOut(m, Q(DType::kInt8, {2, 3, 6}, 0.1f, 0))});
  in.push_back(RandomFor(Q(DType::kInt8, {2, 1, 3}, 0.1f, 0), 4));
  // BROADCAST_TO [3, 1] -> [2, 3, 4].
  m.AddOperator(Op::BROADCAST_TO,
                {AddIn(m, F32({3, 1})), AddConst<int32_t>(m, Plain(DType::kInt32, {3}), {2, 3, 4})},
                {AddOut(m, F32({2, 3, 4}))}, nullptr,
                /*version=*/2);  // TFLite starts at 2
  in.push_back(RandomFor(F32({3, 1}), 5));
  // ZEROS_LIKE and FILL.
  m.AddOperator(Op::ZEROS_LIKE, {AddIn(m, Plain(DType::kInt32, {5}))},
                {AddOut(m, Plain(DType::kInt32, {5}))});
  in.push_back(RandomFor(Plain(DType::kInt32, {5}), 6, -9, 9));
  m.AddOperator(Op::FILL,
                {AddConst<int32_t>(m, Plain(DType::kInt32, {2}), {2, 3}), AddIn(m, F32({}))},
                {AddOut(m, F32({2, 3}))});
  in.push_back(MakeArray<float>(DType::kFloat32, {}, {2.5f}));
  auto model = m.Build();
  auto out = RunEdgeopt(model, in);
  ASSERT_TRUE(out.ok()) << out.status().message();
  EXPECT_EQ(ToVector<float>((*out)[0]), (std::vector<float>{0, 1, 2, 3, 4, 5, 0, 1, 2, 3, 4, 5}));
  EXPECT_EQ(ToVector<float>((*out)[4]), std::vector<float>(6, 2.5f));
  if (TfliteRefAvailable()) {
    ExpectAgreesWithRef(model, in, ExactInts(), "TILE/BROADCAST_TO/ZEROS_LIKE/FILL");
  }
}

TEST(SpaceDepth, GoldenAndAgreement) {
  // SPACE_TO_DEPTH of a 1x2x2x1 [0 1; 2 3] with block 2 -> 1x1x1x4 [0 1 2 3].
  ModelBuilder m;
  std::vector<NpyArray> in;
  m.AddOperator(Op::SPACE_TO_DEPTH, {AddIn(m, F32({1, 2, 2, 1}))}, {AddOut(m, F32({1, 1, 1, 4}))},
                [](fb::FlatBufferBuilder& b) {
                  return MakeOptions(tflite::BuiltinOptions::SpaceToDepthOptions,
                                     tflite::CreateSpaceToDepthOptions(b, 2));
                });
  in.push_back(MakeArray<float>(DType::kFloat32, {1, 2, 2, 1}, Iota(4)));
  m.AddOperator(Op::SPACE_TO_DEPTH, {AddIn(m, Q(DType::kInt8, {2, 6, 4, 3}, 0.1f, 0))},
                {AddOut(m, Q(DType::kInt8, {2, 3, 2, 12}, 0.1f, 0))}, [](fb::FlatBufferBuilder& b) {
                  return MakeOptions(tflite::BuiltinOptions::SpaceToDepthOptions,
                                     tflite::CreateSpaceToDepthOptions(b, 2));
                });
  in.push_back(RandomFor(Q(DType::kInt8, {2, 6, 4, 3}, 0.1f, 0), 7));
  m.AddOperator(Op::DEPTH_TO_SPACE, {AddIn(m, F32({1, 2, 3, 18}))}, {AddOut(m, F32({1, 6, 9, 2}))},
                [](fb::FlatBufferBuilder& b) {
                  return MakeOptions(tflite::BuiltinOptions::DepthToSpaceOptions,
                                     tflite::CreateDepthToSpaceOptions(b, 3));
                });
  in.push_back(RandomFor(F32({1, 2, 3, 18}), 8));
  auto model = m.Build();
  auto out = RunEdgeopt(model, in);
  ASSERT_TRUE(out.ok()) << out.status().message();
  EXPECT_EQ(ToVector<float>((*out)[0]), (std::vector<float>{0, 1, 2, 3}));
  if (TfliteRefAvailable()) {
    ExpectAgreesWithRef(model, in, ExactInts(), "SPACE_TO_DEPTH/DEPTH_TO_SPACE");
  }
}

TEST(SpaceDepth, Errors) {
  ModelBuilder m;
  m.AddOperator(Op::SPACE_TO_DEPTH, {AddIn(m, F32({1, 3, 2, 1}))}, {AddOut(m, F32({1, 1, 1, 4}))},
                [](fb::FlatBufferBuilder& b) {
                  return MakeOptions(tflite::BuiltinOptions::SpaceToDepthOptions,
                                     tflite::CreateSpaceToDepthOptions(b, 2));
                });
  ExpectPrepareError(m.Build(), "multiples of block_size");
}

// --- L2_NORMALIZATION ----------------------------------------------------------------------------

TEST(L2Norm, GoldenAndAgreement) {
  ModelBuilder g;
  g.AddOperator(Op::L2_NORMALIZATION, {AddIn(g, F32({1, 2}))}, {AddOut(g, F32({1, 2}))});
  auto out = RunEdgeopt(g.Build(), {MakeArray<float>(DType::kFloat32, {1, 2}, {3, 4})});
  ASSERT_TRUE(out.ok()) << out.status().message();
  EXPECT_EQ(ToVector<float>((*out)[0]), (std::vector<float>{0.6f, 0.8f}));
  if (!TfliteRefAvailable()) return;
  ModelBuilder m;
  std::vector<TSpec> ins = {F32({3, 20}), Q(DType::kInt8, {4, 16}, 0.05f, 3),
                            Q(DType::kUInt8, {4, 16}, 0.05f, 120),
                            Q(DType::kInt8, {2, 300}, 0.2f, -5)};
  const TSpec outs[] = {F32({3, 20}), Q(DType::kInt8, {4, 16}, 1.0f / 128, 0),
                        Q(DType::kUInt8, {4, 16}, 1.0f / 128, 128),
                        Q(DType::kInt8, {2, 300}, 1.0f / 128, 0)};
  for (size_t i = 0; i < ins.size(); ++i) {
    m.AddOperator(Op::L2_NORMALIZATION, {AddIn(m, ins[i])}, {AddOut(m, outs[i])});
  }
  ExpectAgreesWithRef(m.Build(), RandomInputs(ins, 10), Tolerance{1e-6, 1e-5, 0},
                      "L2_NORMALIZATION");
}

}  // namespace
}  // namespace testing
}  // namespace edgeopt
