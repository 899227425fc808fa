// RESHAPE, SQUEEZE, EXPAND_DIMS, SHAPE, CONCATENATION, SPLIT, SPLIT_V, PACK, UNPACK, TRANSPOSE,
// PAD, PADV2, SLICE, STRIDED_SLICE: goldens, agreement with tflite-ref (values, shapes and dtypes),
// and error cases.
#include <gtest/gtest.h>

#include <cstring>
#include <random>

#include "src/runtime/kernels/elem_test_util.h"

namespace edgeopt {
namespace testing {
namespace {

using Op = tflite::BuiltinOperator;
namespace fb = flatbuffers;

std::vector<float> Iota(int n, float start = 0) {
  std::vector<float> v(n);
  for (int i = 0; i < n; ++i) v[i] = start + static_cast<float>(i);
  return v;
}

// --- RESHAPE / SQUEEZE / EXPAND_DIMS / SHAPE -----------------------------------------------------

std::vector<uint8_t> ReshapeWithOptions(std::vector<int32_t> in, std::vector<int32_t> new_shape,
                                        std::vector<int32_t> out) {
  ModelBuilder m;
  const int x = AddIn(m, F32(in));
  const int y = AddOut(m, F32(out));
  m.AddOperator(Op::RESHAPE, {x}, {y}, [new_shape](fb::FlatBufferBuilder& b) {
    return MakeOptions(tflite::BuiltinOptions::ReshapeOptions,
                       tflite::CreateReshapeOptions(b, b.CreateVector(new_shape)));
  });
  return m.Build();
}

std::vector<uint8_t> ReshapeWithTensor(std::vector<int32_t> in, std::vector<int32_t> new_shape,
                                       std::vector<int32_t> out) {
  ModelBuilder m;
  const int x = AddIn(m, F32(in));
  const int s = AddConst<int32_t>(m, Plain(DType::kInt32, {static_cast<int32_t>(new_shape.size())}),
                                  new_shape);
  const int y = AddOut(m, F32(out));
  m.AddOperator(Op::RESHAPE, {x, s}, {y});
  return m.Build();
}

TEST(Reshape, GoldenFromOptionsAndTensor) {
  for (auto model :
       {ReshapeWithOptions({2, 3}, {3, -1}, {3, 2}), ReshapeWithTensor({2, 3}, {-1, 2}, {3, 2})}) {
    auto out = RunEdgeopt(model, {MakeArray<float>(DType::kFloat32, {2, 3}, Iota(6))});
    ASSERT_TRUE(out.ok()) << out.status().message();
    EXPECT_EQ((*out)[0].shape, (std::vector<int64_t>{3, 2}));
    EXPECT_EQ(ToVector<float>((*out)[0]), Iota(6));
  }
}

TEST(Reshape, ScalarFromLegacyZeroShape) {
  auto model = ReshapeWithOptions({1, 1}, {0}, {});
  auto out = RunEdgeopt(model, {MakeArray<float>(DType::kFloat32, {1, 1}, {7.0f})});
  ASSERT_TRUE(out.ok()) << out.status().message();
  EXPECT_TRUE((*out)[0].shape.empty());
  EXPECT_EQ(ToVector<float>((*out)[0]), (std::vector<float>{7.0f}));
}

TEST(Reshape, Errors) {
  ExpectPrepareError(ReshapeWithOptions({2, 3}, {4, 2}, {4, 2}), "cannot reshape 6 elements");
  ExpectPrepareError(ReshapeWithTensor({2, 3}, {-1, -1}, {3, 2}), "more than one -1");
  ExpectPrepareError(ReshapeWithTensor({2, 3}, {-2, 3}, {2, 3}), "expected >= 0 or -1");
  ExpectPrepareError(ReshapeWithTensor({0, 3}, {-1, 0}, {0, 0}), "cannot infer");
}

// SHAPE's output is a constant at prepare time, so RESHAPE can take its shape from it.
TEST(Shape, FeedsReshapeAtPrepareTime) {
  ModelBuilder m;
  const int x = AddIn(m, F32({2, 3, 4}));
  const int y = AddIn(m, F32({24}));
  const int s = AddTmp(m, Plain(DType::kInt32, {3}));
  const int shape_out = AddOut(m, Plain(DType::kInt32, {3}));
  const int z = AddOut(m, F32({2, 3, 4}));
  auto shape_options = [](fb::FlatBufferBuilder& b) {
    return MakeOptions(tflite::BuiltinOptions::ShapeOptions,
                       tflite::CreateShapeOptions(b, tflite::TensorType::INT32));
  };
  m.AddOperator(Op::SHAPE, {x}, {s}, shape_options);
  m.AddOperator(Op::SHAPE, {x}, {shape_out}, shape_options);
  m.AddOperator(Op::RESHAPE, {y, s}, {z});
  auto model = m.Build();
  auto in = std::vector<NpyArray>{RandomFor(F32({2, 3, 4}), 1), RandomFor(F32({24}), 2)};
  auto out = RunEdgeopt(model, in);
  ASSERT_TRUE(out.ok()) << out.status().message();
  EXPECT_EQ(ToVector<int32_t>((*out)[0]), (std::vector<int32_t>{2, 3, 4}));
  if (TfliteRefAvailable()) ExpectAgreesWithRef(model, in, ExactInts(), "SHAPE->RESHAPE");
}

// The converter's Flatten-with-dynamic-batch pattern: SHAPE -> STRIDED_SLICE (batch) -> PACK with
// -1 -> RESHAPE. Everything before RESHAPE folds at prepare time.
TEST(Shape, FlattenChainFoldsAtPrepare) {
  ModelBuilder m;
  const int x = AddIn(m, F32({2, 3, 4}));
  const int shape = AddTmp(m, Plain(DType::kInt32, {3}));
  m.AddOperator(Op::SHAPE, {x}, {shape}, [](fb::FlatBufferBuilder& b) {
    return MakeOptions(tflite::BuiltinOptions::ShapeOptions,
                       tflite::CreateShapeOptions(b, tflite::TensorType::INT32));
  });
  const int batch = AddTmp(m, Plain(DType::kInt32, {}));
  const int b0 = AddConst<int32_t>(m, Plain(DType::kInt32, {1}), {0});
  const int b1 = AddConst<int32_t>(m, Plain(DType::kInt32, {1}), {1});
  m.AddOperator(Op::STRIDED_SLICE, {shape, b0, b1, b1}, {batch}, [](fb::FlatBufferBuilder& b) {
    return MakeOptions(tflite::BuiltinOptions::StridedSliceOptions,
                       tflite::CreateStridedSliceOptions(b, 0, 0, 0, 0, /*shrink=*/1));
  });
  const int minus_one = AddConst<int32_t>(m, Plain(DType::kInt32, {}), {-1});
  const int packed = AddTmp(m, Plain(DType::kInt32, {2}));
  m.AddOperator(Op::PACK, {batch, minus_one}, {packed}, [](fb::FlatBufferBuilder& b) {
    return MakeOptions(tflite::BuiltinOptions::PackOptions, tflite::CreatePackOptions(b, 2, 0));
  });
  m.AddOperator(Op::RESHAPE, {x, packed}, {AddOut(m, F32({2, 12}))});
  auto model = m.Build();
  std::vector<NpyArray> in = {RandomFor(F32({2, 3, 4}), 3)};
  auto out = RunEdgeopt(model, in);
  ASSERT_TRUE(out.ok()) << out.status().message();
  EXPECT_EQ((*out)[0].shape, (std::vector<int64_t>{2, 12}));
  if (TfliteRefAvailable()) ExpectAgreesWithRef(model, in, ExactInts(), "SHAPE->...->RESHAPE");
}

TEST(SqueezeExpandDims, Golden) {
  ModelBuilder m;
  const int x = AddIn(m, F32({1, 3, 1, 2}));
  const int a = AddOut(m, F32({3, 2}));
  const int b = AddOut(m, F32({1, 3, 2}));
  const int axis = AddConst<int32_t>(m, Plain(DType::kInt32, {1}), {-1});
  const int c = AddOut(m, F32({1, 3, 1, 2, 1}));
  m.AddOperator(Op::SQUEEZE, {x}, {a});
  m.AddOperator(Op::SQUEEZE, {x}, {b}, [](fb::FlatBufferBuilder& bb) {
    return MakeOptions(tflite::BuiltinOptions::SqueezeOptions,
                       tflite::CreateSqueezeOptions(bb, bb.CreateVector(std::vector<int>{-2})));
  });
  m.AddOperator(Op::EXPAND_DIMS, {x, axis}, {c});
  auto model = m.Build();
  auto in = std::vector<NpyArray>{MakeArray<float>(DType::kFloat32, {1, 3, 1, 2}, Iota(6))};
  auto out = RunEdgeopt(model, in);
  ASSERT_TRUE(out.ok()) << out.status().message();
  EXPECT_EQ((*out)[0].shape, (std::vector<int64_t>{3, 2}));
  EXPECT_EQ((*out)[1].shape, (std::vector<int64_t>{1, 3, 2}));
  EXPECT_EQ((*out)[2].shape, (std::vector<int64_t>{1, 3, 1, 2, 1}));
  EXPECT_EQ(ToVector<float>((*out)[2]), Iota(6));
  if (TfliteRefAvailable()) ExpectAgreesWithRef(model, in, ExactInts(), "SQUEEZE/EXPAND_DIMS");
}

TEST(SqueezeExpandDims, Errors) {
  ModelBuilder m;
  const int x = AddIn(m, F32({2, 3}));
  const int y = AddOut(m, F32({3}));
  m.AddOperator(Op::SQUEEZE, {x}, {y}, [](fb::FlatBufferBuilder& bb) {
    return MakeOptions(tflite::BuiltinOptions::SqueezeOptions,
                       tflite::CreateSqueezeOptions(bb, bb.CreateVector(std::vector<int>{0})));
  });
  ExpectPrepareError(m.Build(), "cannot squeeze dimension 0 of size 2");
  ModelBuilder m2;
  const int x2 = AddIn(m2, F32({2, 3}));
  const int axis = AddConst<int32_t>(m2, Plain(DType::kInt32, {1}), {3});
  const int y2 = AddOut(m2, F32({2, 3, 1}));
  m2.AddOperator(Op::EXPAND_DIMS, {x2, axis}, {y2});
  ExpectPrepareError(m2.Build(), "axis 3 is out of range");
}

// --- CONCATENATION / SPLIT / SPLIT_V / PACK / UNPACK ---------------------------------------------

OptionsFn ConcatOptions(int axis) {
  return [axis](fb::FlatBufferBuilder& b) {
    return MakeOptions(tflite::BuiltinOptions::ConcatenationOptions,
                       tflite::CreateConcatenationOptions(b, axis));
  };
}

TEST(Concatenation, GoldenFloat) {
  ModelBuilder m;
  const int x = AddIn(m, F32({2, 1}));
  const int y = AddIn(m, F32({2, 2}));
  const int z = AddOut(m, F32({2, 3}));
  m.AddOperator(Op::CONCATENATION, {x, y}, {z}, ConcatOptions(-1));
  auto out = RunEdgeopt(m.Build(), {MakeArray<float>(DType::kFloat32, {2, 1}, {1, 2}),
                                    MakeArray<float>(DType::kFloat32, {2, 2}, {3, 4, 5, 6})});
  ASSERT_TRUE(out.ok()) << out.status().message();
  EXPECT_EQ(ToVector<float>((*out)[0]), (std::vector<float>{1, 3, 4, 2, 5, 6}));
}

TEST(Concatenation, GoldenInt8Requantized) {
  // Input 1 (scale 0.5, zp 2) is requantized to the output (scale 0.25, zp -1): q -> 2(q-2)-1.
  ModelBuilder m;
  const int x = AddIn(m, Q(DType::kInt8, {2}, 0.25f, -1));
  const int y = AddIn(m, Q(DType::kInt8, {3}, 0.5f, 2));
  const int z = AddOut(m, Q(DType::kInt8, {5}, 0.25f, -1));
  m.AddOperator(Op::CONCATENATION, {x, y}, {z}, ConcatOptions(0));
  auto out = RunEdgeopt(m.Build(), {MakeArray<int8_t>(DType::kInt8, {2}, {7, -9}),
                                    MakeArray<int8_t>(DType::kInt8, {3}, {2, 10, 100})});
  ASSERT_TRUE(out.ok()) << out.status().message();
  EXPECT_EQ(ToVector<int8_t>((*out)[0]), (std::vector<int8_t>{7, -9, -1, 15, 127}));
}

TEST(Concatenation, AgreementUInt8Requantized) {
  if (!TfliteRefAvailable()) GTEST_SKIP() << "tflite-ref unavailable";
  ModelBuilder m;
  std::vector<TSpec> ins = {Q(DType::kUInt8, {2, 3, 4}, 0.1f, 128),
                            Q(DType::kUInt8, {2, 5, 4}, 0.037f, 100),
                            Q(DType::kUInt8, {2, 1, 4}, 0.25f, 3)};
  std::vector<int> ids;
  for (const auto& s : ins) ids.push_back(AddIn(m, s));
  const int z = AddOut(m, Q(DType::kUInt8, {2, 9, 4}, 0.1f, 128));
  m.AddOperator(Op::CONCATENATION, ids, {z}, ConcatOptions(1));
  // And float / int32 / int8 (same parameters) along other axes.
  std::vector<TSpec> more = {F32({3, 2}),
                             F32({3, 4}),
                             Plain(DType::kInt32, {2, 2, 2}),
                             Plain(DType::kInt32, {2, 2, 2}),
                             Q(DType::kInt8, {4, 1}, 0.3f, 5),
                             Q(DType::kInt8, {4, 2}, 0.3f, 5)};
  const int f0 = AddIn(m, more[0]), f1 = AddIn(m, more[1]);
  m.AddOperator(Op::CONCATENATION, {f0, f1}, {AddOut(m, F32({3, 6}))}, ConcatOptions(1));
  const int i0 = AddIn(m, more[2]), i1 = AddIn(m, more[3]);
  m.AddOperator(Op::CONCATENATION, {i0, i1}, {AddOut(m, Plain(DType::kInt32, {4, 2, 2}))},
                ConcatOptions(0));
  const int q0 = AddIn(m, more[4]), q1 = AddIn(m, more[5]);
  m.AddOperator(Op::CONCATENATION, {q0, q1}, {AddOut(m, Q(DType::kInt8, {4, 3}, 0.3f, 5))},
                ConcatOptions(-1));
  ins.insert(ins.end(), more.begin(), more.end());
  ExpectAgreesWithRef(m.Build(), RandomInputs(ins, 5), ExactInts(), "CONCATENATION");
}

TEST(Concatenation, Errors) {
  ModelBuilder m;
  const int x = AddIn(m, F32({2, 1}));
  const int y = AddIn(m, F32({3, 2}));
  m.AddOperator(Op::CONCATENATION, {x, y}, {AddOut(m, F32({2, 3}))}, ConcatOptions(1));
  ExpectPrepareError(m.Build(), "incompatible with input 0");
  ModelBuilder m2;
  const int x2 = AddIn(m2, F32({2, 1}));
  m2.AddOperator(Op::CONCATENATION, {x2, x2}, {AddOut(m2, F32({2, 2}))}, ConcatOptions(2));
  ExpectPrepareError(m2.Build(), "axis 2 is out of range");
}

TEST(SplitPackUnpack, AgreementAndShapes) {
  if (!TfliteRefAvailable()) GTEST_SKIP() << "tflite-ref unavailable";
  ModelBuilder m;
  std::vector<TSpec> ins;
  // SPLIT a [2, 6, 3] int8 tensor in 3 along axis -2.
  const TSpec s_in = Q(DType::kInt8, {2, 6, 3}, 0.1f, 3);
  const int axis = AddConst<int32_t>(m, Plain(DType::kInt32, {}), {-2});
  const int si = AddIn(m, s_in);
  ins.push_back(s_in);
  std::vector<int> outs;
  for (int i = 0; i < 3; ++i) outs.push_back(AddOut(m, Q(DType::kInt8, {2, 2, 3}, 0.1f, 3)));
  m.AddOperator(Op::SPLIT, {axis, si}, outs, [](fb::FlatBufferBuilder& b) {
    return MakeOptions(tflite::BuiltinOptions::SplitOptions, tflite::CreateSplitOptions(b, 3));
  });
  // SPLIT_V a float [4, 7] along 1 into {2, -1, 1}.
  const TSpec v_in = F32({4, 7});
  const int vi = AddIn(m, v_in);
  ins.push_back(v_in);
  const int sizes = AddConst<int32_t>(m, Plain(DType::kInt32, {3}), {2, -1, 1});
  const int vaxis = AddConst<int32_t>(m, Plain(DType::kInt32, {1}), {1});
  m.AddOperator(Op::SPLIT_V, {vi, sizes, vaxis},
                {AddOut(m, F32({4, 2})), AddOut(m, F32({4, 4})), AddOut(m, F32({4, 1}))},
                [](fb::FlatBufferBuilder& b) {
                  return MakeOptions(tflite::BuiltinOptions::SplitVOptions,
                                     tflite::CreateSplitVOptions(b, 3));
                });
  // PACK three [2, 3] int32 along axis 1, UNPACK a [3, 4] float along axis 1.
  std::vector<int> pins;
  for (int i = 0; i < 3; ++i) {
    ins.push_back(Plain(DType::kInt32, {2, 3}));
    pins.push_back(AddIn(m, ins.back()));
  }
  m.AddOperator(
      Op::PACK, pins, {AddOut(m, Plain(DType::kInt32, {2, 3, 3}))}, [](fb::FlatBufferBuilder& b) {
        return MakeOptions(tflite::BuiltinOptions::PackOptions, tflite::CreatePackOptions(b, 3, 1));
      });
  ins.push_back(F32({3, 4}));
  const int ui = AddIn(m, ins.back());
  std::vector<int> uouts;
  for (int i = 0; i < 4; ++i) uouts.push_back(AddOut(m, F32({3})));
  m.AddOperator(Op::UNPACK, {ui}, uouts, [](fb::FlatBufferBuilder& b) {
    return MakeOptions(tflite::BuiltinOptions::UnpackOptions, tflite::CreateUnpackOptions(b, 4, 1));
  });
  ExpectAgreesWithRef(m.Build(), RandomInputs(ins, 9, -100, 100), ExactInts(),
                      "SPLIT/SPLIT_V/PACK/UNPACK");
}

TEST(SplitPackUnpack, Errors) {
  ModelBuilder m;
  const int axis = AddConst<int32_t>(m, Plain(DType::kInt32, {}), {0});
  const int x = AddIn(m, F32({5}));
  m.AddOperator(Op::SPLIT, {axis, x}, {AddOut(m, F32({2})), AddOut(m, F32({2}))},
                [](fb::FlatBufferBuilder& b) {
                  return MakeOptions(tflite::BuiltinOptions::SplitOptions,
                                     tflite::CreateSplitOptions(b, 2));
                });
  ExpectPrepareError(m.Build(), "does not split evenly");
  ModelBuilder m2;
  const int x2 = AddIn(m2, F32({5}));
  const int sizes = AddConst<int32_t>(m2, Plain(DType::kInt32, {2}), {2, 2});
  const int axis2 = AddConst<int32_t>(m2, Plain(DType::kInt32, {}), {0});
  m2.AddOperator(Op::SPLIT_V, {x2, sizes, axis2}, {AddOut(m2, F32({2})), AddOut(m2, F32({2}))});
  ExpectPrepareError(m2.Build(), "add up to 4 but dimension 0 has size 5");
}

// --- TRANSPOSE / PAD -----------------------------------------------------------------------------

TEST(Transpose, AgreementRandomPermutations) {
  if (!TfliteRefAvailable()) GTEST_SKIP() << "tflite-ref unavailable";
  std::mt19937 rng(42);
  ModelBuilder m;
  std::vector<TSpec> ins;
  for (int rank = 1; rank <= 5; ++rank) {  // TFLite 2.9: at most 5-d
    for (int rep = 0; rep < 3; ++rep) {
      std::vector<int32_t> shape(rank), perm(rank);
      for (int d = 0; d < rank; ++d) {
        shape[d] = 1 + static_cast<int32_t>(rng() % (rank > 4 ? 3 : 5));
        perm[d] = d;
      }
      std::shuffle(perm.begin(), perm.end(), rng);
      std::vector<int32_t> out(rank);
      for (int d = 0; d < rank; ++d) out[d] = shape[perm[d]];
      const DType type = rep == 0 ? DType::kFloat32 : (rep == 1 ? DType::kInt8 : DType::kInt16);
      TSpec s{type, shape};
      TSpec o{type, out};
      if (type != DType::kFloat32) s.scale = o.scale = 0.5f;
      ins.push_back(s);
      const int x = AddIn(m, s);
      const int p = AddConst<int32_t>(m, Plain(DType::kInt32, {rank}), perm);
      m.AddOperator(Op::TRANSPOSE, {x, p}, {AddOut(m, o)});
    }
  }
  ExpectAgreesWithRef(m.Build(), RandomInputs(ins, 3), ExactInts(), "TRANSPOSE ranks 1-5");
}

// Every path of the kernel (only size-1 dimensions moving: a copy; the last two merged
// dimensions swapped: tiled 2-d transposes, with few rows or around the 16-element tiles; any
// other permutation: a strided copy, of whole runs when the last dimension stays last) against
// the index formula, for 1-8 byte elements.
TEST(Transpose, RandomShapesMatchTheIndexFormula) {
  std::mt19937 rng(37);
  const int32_t sizes[] = {1, 8, 2, 3, 4, 5, 15, 16, 17, 33};  // int8 runs of 8: one word
  const DType types[] = {DType::kInt8, DType::kInt16, DType::kFloat32, DType::kInt64};
  for (int i = 0; i < 300; ++i) {
    const int rank = 1 + static_cast<int>(rng() % 6);
    const DType type = types[rng() % 4];
    const size_t elem = DTypeSize(type);
    std::vector<int32_t> shape(rank), perm(rank), out_shape(rank);
    int64_t n = 1;
    for (int d = 0; d < rank; ++d) {
      shape[d] = sizes[rng() % 10];
      if (n * shape[d] > 20000) shape[d] = 1;
      n *= shape[d];
      perm[d] = d;
    }
    if (i % 4 == 0 && rank >= 2) {
      std::swap(perm[rank - 1], perm[rank - 2]);  // the 2-d transpose path
    } else if (i % 4 == 2 && rank >= 3) {
      // The last dimension stays last (attention's heads): runs copied as 1-8 byte words.
      std::shuffle(perm.begin(), perm.end() - 1, rng);
    } else if (i % 4 != 1) {
      std::shuffle(perm.begin(), perm.end(), rng);
    }
    for (int d = 0; d < rank; ++d) out_shape[d] = shape[perm[d]];
    ModelBuilder m;
    const int x = AddIn(m, Plain(type, shape));
    const int p = AddConst<int32_t>(m, Plain(DType::kInt32, {rank}), perm);
    m.AddOperator(Op::TRANSPOSE, {x, p}, {AddOut(m, Plain(type, out_shape))});
    NpyArray input;
    input.dtype = type;
    input.shape.assign(shape.begin(), shape.end());
    input.data.resize(static_cast<size_t>(n) * elem);
    for (uint8_t& b : input.data) b = static_cast<uint8_t>(rng());
    auto out = RunEdgeopt(m.Build(), {input});
    ASSERT_TRUE(out.ok()) << out.status().message();
    ASSERT_EQ((*out)[0].data.size(), input.data.size());
    std::vector<int64_t> in_stride(rank);
    int64_t stride = 1;
    for (int d = rank - 1; d >= 0; --d) {
      in_stride[d] = stride;
      stride *= shape[d];
    }
    int bad = 0;
    for (int64_t o = 0; o < n; ++o) {
      int64_t rest = o, src = 0;
      for (int d = rank - 1; d >= 0; --d) {
        src += (rest % out_shape[d]) * in_stride[perm[d]];
        rest /= out_shape[d];
      }
      if (std::memcmp((*out)[0].data.data() + o * elem, input.data.data() + src * elem, elem) !=
              0 &&
          bad++ < 3) {
        ADD_FAILURE() << "case " << i << " (rank " << rank << ", " << elem
                      << "-byte elements): output element " << o << " differs";
      }
    }
    if (bad > 0) return;
  }
}

TEST(Transpose, BadPermutations) {
  for (std::vector<int32_t> perm :
       {std::vector<int32_t>{0, 0}, std::vector<int32_t>{0, 2}, std::vector<int32_t>{1}}) {
    ModelBuilder m;
    const int x = AddIn(m, F32({2, 3}));
    const int p =
        AddConst<int32_t>(m, Plain(DType::kInt32, {static_cast<int32_t>(perm.size())}), perm);
    m.AddOperator(Op::TRANSPOSE, {x, p}, {AddOut(m, F32({3, 2}))});
    auto interp = rt::Interpreter::Create(m.Build().data(), m.Build().size(), {});
    EXPECT_FALSE(interp.ok());
  }
}

TEST(Pad, GoldenInt8PadsWithZeroPoint) {
  ModelBuilder m;
  const int x = AddIn(m, Q(DType::kInt8, {1, 2}, 0.5f, -3));
  const int p = AddConst<int32_t>(m, Plain(DType::kInt32, {2, 2}), {1, 0, 0, 2});
  const int y = AddOut(m, Q(DType::kInt8, {2, 4}, 0.5f, -3));
  m.AddOperator(Op::PAD, {x, p}, {y});
  auto out = RunEdgeopt(m.Build(), {MakeArray<int8_t>(DType::kInt8, {1, 2}, {5, 6})});
  ASSERT_TRUE(out.ok()) << out.status().message();
  EXPECT_EQ(ToVector<int8_t>((*out)[0]), (std::vector<int8_t>{-3, -3, -3, -3, 5, 6, -3, -3}));
}

TEST(Pad, AgreementPadAndPadV2) {
  if (!TfliteRefAvailable()) GTEST_SKIP() << "tflite-ref unavailable";
  ModelBuilder m;
  std::vector<TSpec> ins;
  auto add_pad = [&](const TSpec& in, std::vector<int32_t> pads, const TSpec& out, int value_id) {
    ins.push_back(in);
    const int x = AddIn(m, in);
    const int p = AddConst<int32_t>(
        m, Plain(DType::kInt32, {static_cast<int32_t>(pads.size() / 2), 2}), pads);
    if (value_id >= 0) {
      m.AddOperator(Op::PADV2, {x, p, value_id}, {AddOut(m, out)});
    } else {
      m.AddOperator(Op::PAD, {x, p}, {AddOut(m, out)});
    }
  };
  add_pad(F32({2, 3}), {1, 2, 0, 3}, F32({5, 6}), -1);
  add_pad(Q(DType::kInt8, {1, 4, 4, 3}, 0.1f, 7), {0, 0, 1, 1, 2, 0, 0, 0},
          Q(DType::kInt8, {1, 6, 6, 3}, 0.1f, 7), -1);
  add_pad(Q(DType::kUInt8, {2, 2, 2}, 0.1f, 128), {1, 1, 1, 1, 1, 1},
          Q(DType::kUInt8, {4, 4, 4}, 0.1f, 128), -1);
  const int fv = AddConst<float>(m, F32({}), {-2.5f});
  add_pad(F32({3, 1, 2}), {0, 1, 2, 0, 1, 1}, F32({4, 3, 4}), fv);
  const int qv = AddConst<int8_t>(m, Q(DType::kInt8, {1}, 0.2f, 1), {-100});
  add_pad(Q(DType::kInt8, {2, 3}, 0.2f, 1), {2, 0, 0, 1}, Q(DType::kInt8, {4, 4}, 0.2f, 1), qv);
  ExpectAgreesWithRef(m.Build(), RandomInputs(ins, 17), ExactInts(), "PAD/PADV2");
}

// Every rank, element size and mix of padded and unpadded dimensions (the kernel copies runs of
// unpadded inner dimensions whole): PADV2's output against the index formula.
TEST(Pad, RandomShapesMatchTheIndexFormula) {
  std::mt19937 rng(31);
  for (int i = 0; i < 200; ++i) {
    const int rank = 1 + static_cast<int>(rng() % 5);
    const DType types[] = {DType::kInt8, DType::kInt16, DType::kFloat32, DType::kInt64};
    const DType type = types[rng() % 4];
    const size_t elem = DTypeSize(type);
    std::vector<int32_t> in_shape(rank), out_shape(rank), pads(2 * rank);
    for (int d = 0; d < rank; ++d) {
      in_shape[d] = static_cast<int32_t>(rng() % 5);  // 0: an empty input
      if (i % 3 != 0 && in_shape[d] == 0) in_shape[d] = 1;
      const bool padded = rng() % 3 == 0;
      pads[2 * d] = padded ? static_cast<int32_t>(rng() % 3) : 0;
      pads[2 * d + 1] = padded ? static_cast<int32_t>(rng() % 3) : 0;
      out_shape[d] = in_shape[d] + pads[2 * d] + pads[2 * d + 1];
    }
    // A pad value with different bytes (no memset), or one repeated byte.
    uint8_t value[8];
    const bool repeated = rng() % 2 == 0;
    for (size_t b = 0; b < elem; ++b)
      value[b] = repeated ? 0xA5 : static_cast<uint8_t>(17 + 29 * b);
    ModelBuilder m;
    const int x = AddIn(m, Plain(type, in_shape));
    const int p = AddConst<int32_t>(m, Plain(DType::kInt32, {rank, 2}), pads);
    int v = -1;
    switch (type) {
      case DType::kInt8:
        v = AddConst<int8_t>(m, Plain(type, {}), {static_cast<int8_t>(value[0])});
        break;
      case DType::kInt16: {
        int16_t t;
        std::memcpy(&t, value, 2);
        v = AddConst<int16_t>(m, Plain(type, {}), {t});
        break;
      }
      case DType::kFloat32: {
        float t;
        std::memcpy(&t, value, 4);
        v = AddConst<float>(m, Plain(type, {}), {t});
        break;
      }
      default: {
        int64_t t;
        std::memcpy(&t, value, 8);
        v = AddConst<int64_t>(m, Plain(type, {}), {t});
        break;
      }
    }
    m.AddOperator(Op::PADV2, {x, p, v}, {AddOut(m, Plain(type, out_shape))});
    NpyArray input;
    input.dtype = type;
    input.shape.assign(in_shape.begin(), in_shape.end());
    int64_t in_n = 1, out_n = 1;
    for (int d = 0; d < rank; ++d) {
      in_n *= in_shape[d];
      out_n *= out_shape[d];
    }
    input.data.resize(static_cast<size_t>(in_n) * elem);
    for (uint8_t& b : input.data) b = static_cast<uint8_t>(rng());
    auto out = RunEdgeopt(m.Build(), {input});
    ASSERT_TRUE(out.ok()) << out.status().message();
    ASSERT_EQ((*out)[0].data.size(), static_cast<size_t>(out_n) * elem);
    const uint8_t* got = (*out)[0].data.data();
    int bad = 0;
    for (int64_t o = 0; o < out_n; ++o) {
      // Output index -> input index, or the pad value.
      int64_t rest = o, in_index = 0, in_stride = 1;
      bool inside = true;
      for (int d = rank - 1; d >= 0; --d) {
        const int64_t c = rest % out_shape[d] - pads[2 * d];
        rest /= out_shape[d];
        inside &= c >= 0 && c < in_shape[d];
        in_index += c * in_stride;
        in_stride *= in_shape[d];
      }
      const uint8_t* want = inside ? input.data.data() + in_index * elem : value;
      if (std::memcmp(got + o * elem, want, elem) != 0 && bad++ < 3) {
        ADD_FAILURE() << "case " << i << " (rank " << rank << ", " << elem
                      << "-byte elements): output element " << o << " differs";
      }
    }
    if (bad > 0) return;
  }
}

TEST(Pad, Errors) {
  ModelBuilder m;
  const int x = AddIn(m, F32({2, 3}));
  const int p = AddConst<int32_t>(m, Plain(DType::kInt32, {2, 2}), {1, -1, 0, 0});
  m.AddOperator(Op::PAD, {x, p}, {AddOut(m, F32({2, 3}))});
  ExpectPrepareError(m.Build(), "must be >= 0");
  ModelBuilder m2;
  const int x2 = AddIn(m2, F32({2, 3}));
  const int p2 = AddConst<int32_t>(m2, Plain(DType::kInt32, {3, 2}), {0, 0, 0, 0, 0, 0});
  m2.AddOperator(Op::PAD, {x2, p2}, {AddOut(m2, F32({2, 3}))});
  ExpectPrepareError(m2.Build(), "paddings must have shape [2, 2]");
}

// --- SLICE / STRIDED_SLICE -----------------------------------------------------------------------

TEST(Slice, AgreementAndErrors) {
  if (TfliteRefAvailable()) {
    ModelBuilder m;
    std::vector<TSpec> ins = {F32({3, 4, 5}), Q(DType::kInt8, {4, 6}, 0.1f, 0)};
    const int x = AddIn(m, ins[0]);
    const int b = AddConst<int32_t>(m, Plain(DType::kInt32, {3}), {1, 0, 2});
    const int s = AddConst<int32_t>(m, Plain(DType::kInt32, {3}), {2, -1, 3});
    m.AddOperator(Op::SLICE, {x, b, s}, {AddOut(m, F32({2, 4, 3}))});
    const int y = AddIn(m, ins[1]);
    const int b2 = AddConst<int64_t>(m, Plain(DType::kInt64, {2}), {3, 1});
    const int s2 = AddConst<int64_t>(m, Plain(DType::kInt64, {2}), {1, 4});
    m.AddOperator(Op::SLICE, {y, b2, s2}, {AddOut(m, Q(DType::kInt8, {1, 4}, 0.1f, 0))});
    ExpectAgreesWithRef(m.Build(), RandomInputs(ins, 2), ExactInts(), "SLICE");
  }
  ModelBuilder m;
  const int x = AddIn(m, F32({3, 4}));
  const int b = AddConst<int32_t>(m, Plain(DType::kInt32, {2}), {2, 0});
  const int s = AddConst<int32_t>(m, Plain(DType::kInt32, {2}), {2, 4});
  m.AddOperator(Op::SLICE, {x, b, s}, {AddOut(m, F32({2, 4}))});
  ExpectPrepareError(m.Build(), "out of range");
}

struct SS {
  std::vector<int32_t> shape, begin, end, strides;
  int begin_mask = 0, end_mask = 0, ellipsis_mask = 0, new_axis_mask = 0, shrink_mask = 0;
};

int AddStridedSlice(ModelBuilder& m, const SS& c, int x, DType type) {
  const int n = static_cast<int>(c.begin.size());
  const int b = AddConst<int32_t>(m, Plain(DType::kInt32, {n}), c.begin);
  const int e = AddConst<int32_t>(m, Plain(DType::kInt32, {n}), c.end);
  const int s = AddConst<int32_t>(m, Plain(DType::kInt32, {n}), c.strides);
  // The output shape is what TFLite computes; the builder needs some shape: use [-1]-free
  // placeholder dims that the runtime replaces (both runtimes resize the output).
  const int y = m.AddOutput(type, {1});
  m.AddOperator(Op::STRIDED_SLICE, {x, b, e, s}, {y}, [c](fb::FlatBufferBuilder& bb) {
    return MakeOptions(
        tflite::BuiltinOptions::StridedSliceOptions,
        tflite::CreateStridedSliceOptions(bb, c.begin_mask, c.end_mask, c.ellipsis_mask,
                                          c.new_axis_mask, c.shrink_mask));
  });
  return y;
}

TEST(StridedSlice, GoldenMasks) {
  // x = [[0..3],[4..7],[8..11]]; x[::-1, 1::2] = [[9, 11], [5, 7], [1, 3]].
  ModelBuilder m;
  const int x = AddIn(m, F32({3, 4}));
  AddStridedSlice(m, SS{{3, 4}, {0, 1}, {0, 0}, {-1, 2}, 1, 3}, x, DType::kFloat32);
  // x[1] (shrink) = [4, 5, 6, 7]; x[..., 2] (ellipsis + shrink) = [2, 6, 10].
  AddStridedSlice(m, SS{{3, 4}, {1}, {2}, {1}, 0, 0, 0, 0, 1}, x, DType::kFloat32);
  AddStridedSlice(m, SS{{3, 4}, {0, 2}, {0, 3}, {1, 1}, 0, 0, 1, 0, 2}, x, DType::kFloat32);
  // x[:, None, -1:] = shape [3, 1, 1].
  AddStridedSlice(m, SS{{3, 4}, {0, 0, -1}, {0, 0, 0}, {1, 1, 1}, 1, 5, 0, 2, 0}, x,
                  DType::kFloat32);
  auto model = m.Build();
  std::vector<NpyArray> in = {MakeArray<float>(DType::kFloat32, {3, 4}, Iota(12))};
  auto out = RunEdgeopt(model, in);
  ASSERT_TRUE(out.ok()) << out.status().message();
  if (TfliteRefAvailable()) ExpectAgreesWithRef(model, in, ExactInts(), "STRIDED_SLICE masks");
  EXPECT_EQ(ToVector<float>((*out)[0]), (std::vector<float>{9, 11, 5, 7, 1, 3}));
  EXPECT_EQ(ToVector<float>((*out)[1]), (std::vector<float>{4, 5, 6, 7}));
  EXPECT_EQ((*out)[2].shape, (std::vector<int64_t>{3}));
  EXPECT_EQ(ToVector<float>((*out)[2]), (std::vector<float>{2, 6, 10}));
  EXPECT_EQ((*out)[3].shape, (std::vector<int64_t>{3, 1, 1}));
  EXPECT_EQ(ToVector<float>((*out)[3]), (std::vector<float>{3, 7, 11}));
}

// Random begin/end/strides/begin_mask/end_mask/shrink_mask, checked against TFLite.
TEST(StridedSlice, AgreementRandomized) {
  if (!TfliteRefAvailable()) GTEST_SKIP() << "tflite-ref unavailable";
  std::mt19937 rng(7);
  ModelBuilder m;
  std::vector<TSpec> ins;
  for (int k = 0; k < 60; ++k) {
    const int rank = 1 + static_cast<int>(rng() % 4);
    SS c;
    for (int d = 0; d < rank; ++d) {
      const int dim = 1 + static_cast<int>(rng() % 5);
      c.shape.push_back(dim);
      c.begin.push_back(static_cast<int32_t>(rng() % (2 * dim + 3)) - dim - 1);
      c.end.push_back(static_cast<int32_t>(rng() % (2 * dim + 3)) - dim - 1);
      const int32_t strides[] = {1, 1, 2, 3, -1, -2};
      c.strides.push_back(strides[rng() % 6]);
      if (rng() % 4 == 0) c.begin_mask |= 1 << d;
      if (rng() % 4 == 0) c.end_mask |= 1 << d;
      if (rng() % 6 == 0 && c.strides[d] > 0) {
        c.shrink_mask |= 1 << d;
        c.begin[d] = static_cast<int32_t>(rng() % (2 * dim)) - dim;  // in range
        c.begin_mask &= ~(1 << d);
      }
    }
    const DType type = k % 3 == 0 ? DType::kInt8 : DType::kFloat32;
    TSpec s{type, c.shape};
    if (type == DType::kInt8) s.scale = 0.5f;
    ins.push_back(s);
    AddStridedSlice(m, c, AddIn(m, s), type);
  }
  ExpectAgreesWithRef(m.Build(), RandomInputs(ins, 11), ExactInts(), "STRIDED_SLICE x60");
}

TEST(StridedSlice, Errors) {
  ModelBuilder m;
  const int x = AddIn(m, F32({3, 4}));
  AddStridedSlice(m, SS{{3, 4}, {3}, {4}, {1}, 0, 0, 0, 0, 1}, x, DType::kFloat32);
  ExpectPrepareError(m.Build(), "shrunk index 3 is out of range");
  ModelBuilder m2;
  const int x2 = AddIn(m2, F32({3, 4}));
  AddStridedSlice(m2, SS{{3, 4}, {0}, {2}, {0}}, x2, DType::kFloat32);
  ExpectPrepareError(m2.Build(), "strides[0] is 0");
}

}  // namespace
}  // namespace testing
}  // namespace edgeopt
