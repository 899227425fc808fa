// Model files are untrusted: random and extreme parameters (axes, perms, begins/ends/strides,
// paddings, sizes, indices, block sizes, windows, option values, zero-size and mismatched shapes)
// for the shape-handling kernels must give a Status from Create() or a successful (or cleanly
// failing) Invoke() — never a crash or an out-of-bounds access. Meant to be run under ASan/UBSan as
// well (EDGEOPT_SANITIZE_ADDRESS / _UNDEFINED).
#include <gtest/gtest.h>

#include <random>

#include "src/runtime/kernels/elem_test_util.h"

namespace edgeopt {
namespace testing {
namespace {

using Op = tflite::BuiltinOperator;
namespace fb = flatbuffers;

class Fuzz {
 public:
  explicit Fuzz(uint32_t seed) : rng_(seed) {}
  int Int(int lo, int hi) {
    return lo + static_cast<int>(rng_() % static_cast<uint32_t>(hi - lo + 1));
  }
  // Mostly small values, sometimes extremes.
  int32_t Param() {
    static const int32_t kExtremes[] = {INT32_MIN, -1000000, -7, -2, -1,      0,
                                        1,         2,        3,  5,  1000000, INT32_MAX};
    if (rng_() % 4 == 0) return kExtremes[rng_() % 12];
    return Int(-4, 6);
  }
  std::vector<int32_t> Shape(int max_rank = 5) {
    std::vector<int32_t> s(Int(0, max_rank));
    for (int32_t& d : s) d = Int(0, 4) == 0 ? Int(0, 1) : Int(1, 4);
    return s;
  }
  std::vector<int32_t> Params(int n) {
    std::vector<int32_t> v(n);
    for (int32_t& x : v) x = Param();
    return v;
  }
  DType Type() {
    static const DType kTypes[] = {DType::kFloat32, DType::kInt8, DType::kUInt8, DType::kInt32};
    return kTypes[rng_() % 4];
  }

 private:
  std::mt19937 rng_;
};

TSpec Spec(DType t, std::vector<int32_t> shape) {
  TSpec s{t, std::move(shape)};
  if (t == DType::kInt8 || t == DType::kUInt8) s.scale = 0.5f;
  return s;
}

int IntConst(ModelBuilder& m, const std::vector<int32_t>& v, bool as_matrix = false) {
  const int32_t n = static_cast<int32_t>(v.size());
  return AddConst<int32_t>(
      m, Plain(DType::kInt32, as_matrix ? std::vector<int32_t>{n / 2, 2} : std::vector<int32_t>{n}),
      v);
}

// Creates and invokes; counts what happened. A crash or sanitizer report fails the test.
struct Outcome {
  int rejected = 0, ran = 0, eval_errors = 0;
};

void TryModel(const std::vector<uint8_t>& model, std::vector<TSpec> inputs, uint32_t seed,
              Outcome* outcome) {
  auto interp = rt::Interpreter::Create(model.data(), model.size(), rt::InterpreterOptions());
  if (!interp.ok()) {
    EXPECT_FALSE(interp.status().message().empty());
    ++outcome->rejected;
    return;
  }
  for (int i = 0; i < (*interp)->num_inputs(); ++i) {
    rt::Tensor* t = (*interp)->input_tensor(i);
    NpyArray a = RandomFor(inputs[i], seed + i, -3, 3);
    ASSERT_EQ(a.data.size(), t->bytes);
    if (t->bytes > 0) std::memcpy(t->data, a.data.data(), t->bytes);
  }
  Status s = (*interp)->Invoke();
  if (!s.ok()) {
    EXPECT_FALSE(s.message().empty());
    ++outcome->eval_errors;
    return;
  }
  for (int i = 0; i < (*interp)->num_outputs(); ++i) {
    const rt::Tensor* t = (*interp)->output_tensor(i);
    EXPECT_EQ(static_cast<size_t>(t->dims.NumElements()) * DTypeSize(t->type), t->bytes);
  }
  ++outcome->ran;
}

constexpr int kIterations = 150;

TEST(HostileParams, ShapeOps) {
  Fuzz f(1234);
  Outcome o;
  for (int it = 0; it < kIterations; ++it) {
    const DType t = f.Type();
    const std::vector<int32_t> shape = f.Shape();
    const int rank = static_cast<int>(shape.size());
    const TSpec in = Spec(t, shape);
    const uint32_t seed = static_cast<uint32_t>(it);
    // RESHAPE with a random shape tensor.
    {
      ModelBuilder m;
      const int x = AddIn(m, in);
      const int s = IntConst(m, f.Params(f.Int(0, 4)));
      m.AddOperator(Op::RESHAPE, {x, s}, {AddOut(m, Spec(t, {1}))});
      TryModel(m.Build(), {in}, seed, &o);
    }
    // STRIDED_SLICE with random begin/end/strides/masks.
    {
      ModelBuilder m;
      const int n = f.Int(0, rank + 1);
      const int x = AddIn(m, in);
      const int b = IntConst(m, f.Params(n)), e = IntConst(m, f.Params(n)),
                s = IntConst(m, f.Params(n));
      const int bm = f.Int(0, 31), em = f.Int(0, 31), el = f.Int(0, 3), na = f.Int(0, 7),
                sh = f.Int(0, 31);
      const bool off = f.Int(0, 3) == 0;
      m.AddOperator(Op::STRIDED_SLICE, {x, b, e, s}, {AddOut(m, Spec(t, {1}))},
                    [=](fb::FlatBufferBuilder& bb) {
                      return MakeOptions(
                          tflite::BuiltinOptions::StridedSliceOptions,
                          tflite::CreateStridedSliceOptions(bb, bm, em, el, na, sh, off));
                    });
      TryModel(m.Build(), {in}, seed, &o);
    }
    // SLICE, PAD, PADV2, TRANSPOSE, TILE, BROADCAST_TO, EXPAND_DIMS.
    for (Op op : {Op::SLICE, Op::PAD, Op::PADV2, Op::TRANSPOSE, Op::TILE, Op::BROADCAST_TO,
                  Op::EXPAND_DIMS}) {
      ModelBuilder m;
      const int x = AddIn(m, in);
      std::vector<int> ins = {x};
      const int n = f.Int(0, 2) == 0 ? f.Int(0, 6) : rank;
      if (op == Op::SLICE) {
        ins.push_back(IntConst(m, f.Params(n)));
        ins.push_back(IntConst(m, f.Params(n)));
      } else if (op == Op::PAD || op == Op::PADV2) {
        ins.push_back(IntConst(m, f.Params(2 * n), f.Int(0, 3) != 0));
        if (op == Op::PADV2) ins.push_back(AddConst<float>(m, F32({}), {1.0f}));
      } else {
        ins.push_back(IntConst(m, f.Params(op == Op::EXPAND_DIMS ? f.Int(0, 2) : n)));
      }
      m.AddOperator(op, ins, {AddOut(m, Spec(t, {1}))}, nullptr, op == Op::BROADCAST_TO ? 2 : 1);
      TryModel(m.Build(), {in}, seed, &o);
    }
    // SPACE_TO_BATCH_ND / BATCH_TO_SPACE_ND / MIRROR_PAD with random blocks and paddings.
    for (Op op : {Op::SPACE_TO_BATCH_ND, Op::BATCH_TO_SPACE_ND, Op::MIRROR_PAD}) {
      ModelBuilder m;
      const int x = AddIn(m, in);
      const int nb = f.Int(0, 2) == 0 ? f.Int(0, 4) : std::max(rank - 1, 0);
      std::vector<int> ins = {x};
      if (op != Op::MIRROR_PAD) ins.push_back(IntConst(m, f.Params(nb)));
      const int np = op == Op::MIRROR_PAD ? (f.Int(0, 2) == 0 ? f.Int(0, 6) : rank) : nb;
      ins.push_back(IntConst(m, f.Params(2 * np), f.Int(0, 3) != 0));
      const auto mode = static_cast<tflite::MirrorPadMode>(f.Int(0, 1));
      m.AddOperator(op, ins, {AddOut(m, Spec(t, {1}))}, [op, mode](fb::FlatBufferBuilder& b) {
        if (op != Op::MIRROR_PAD) {
          return std::make_pair(tflite::BuiltinOptions::NONE, fb::Offset<void>());
        }
        return MakeOptions(tflite::BuiltinOptions::MirrorPadOptions,
                           tflite::CreateMirrorPadOptions(b, mode));
      });
      TryModel(m.Build(), {in}, seed, &o);
    }
    // SQUEEZE with random dims; SPLIT / SPLIT_V / UNPACK with random axis and counts.
    {
      ModelBuilder m;
      const int x = AddIn(m, in);
      const std::vector<int32_t> dims = f.Params(f.Int(0, 3));
      m.AddOperator(Op::SQUEEZE, {x}, {AddOut(m, Spec(t, {1}))}, [dims](fb::FlatBufferBuilder& b) {
        return MakeOptions(tflite::BuiltinOptions::SqueezeOptions,
                           tflite::CreateSqueezeOptions(b, b.CreateVector(dims)));
      });
      TryModel(m.Build(), {in}, seed, &o);
    }
    {
      const int outs = f.Int(1, 4);
      const int num = f.Int(0, 2) == 0 ? f.Param() : outs;
      for (Op op : {Op::SPLIT, Op::SPLIT_V, Op::UNPACK}) {
        ModelBuilder m;
        const int axis = IntConst(m, {f.Param()});
        const int x = AddIn(m, in);
        std::vector<int> out_ids;
        for (int i = 0; i < outs; ++i) out_ids.push_back(AddOut(m, Spec(t, {1})));
        if (op == Op::SPLIT) {
          m.AddOperator(op, {axis, x}, out_ids, [num](fb::FlatBufferBuilder& b) {
            return MakeOptions(tflite::BuiltinOptions::SplitOptions,
                               tflite::CreateSplitOptions(b, num));
          });
        } else if (op == Op::SPLIT_V) {
          m.AddOperator(op, {x, IntConst(m, f.Params(f.Int(0, 5))), axis}, out_ids);
        } else {
          const int ax = f.Param();
          m.AddOperator(op, {x}, out_ids, [num, ax](fb::FlatBufferBuilder& b) {
            return MakeOptions(tflite::BuiltinOptions::UnpackOptions,
                               tflite::CreateUnpackOptions(b, num, ax));
          });
        }
        TryModel(m.Build(), {in}, seed, &o);
      }
    }
    // CONCATENATION / PACK of a second random tensor along a random axis.
    {
      const TSpec in2 = Spec(t, f.Int(0, 1) ? shape : f.Shape());
      const int ax = f.Param();
      for (Op op : {Op::CONCATENATION, Op::PACK}) {
        ModelBuilder m;
        const int x = AddIn(m, in), y = AddIn(m, in2);
        m.AddOperator(op, {x, y}, {AddOut(m, Spec(t, {1}))}, [op, ax](fb::FlatBufferBuilder& b) {
          if (op == Op::PACK) {
            return MakeOptions(tflite::BuiltinOptions::PackOptions,
                               tflite::CreatePackOptions(b, 2, ax));
          }
          return MakeOptions(tflite::BuiltinOptions::ConcatenationOptions,
                             tflite::CreateConcatenationOptions(b, ax));
        });
        TryModel(m.Build(), {in, in2}, seed, &o);
      }
    }
    // GATHER with random indices / axis / batch_dims; reductions and ARG_MAX with random axes.
    {
      ModelBuilder m;
      const int x = AddIn(m, in);
      const int idx = IntConst(m, f.Params(f.Int(0, 4)));
      const int ax = f.Param(), bd = f.Int(-2, 2);
      m.AddOperator(Op::GATHER, {x, idx}, {AddOut(m, Spec(t, {1}))},
                    [ax, bd](fb::FlatBufferBuilder& b) {
                      return MakeOptions(tflite::BuiltinOptions::GatherOptions,
                                         tflite::CreateGatherOptions(b, ax, bd));
                    });
      TryModel(m.Build(), {in}, seed, &o);
    }
    for (Op op : {Op::MEAN, Op::SUM, Op::REDUCE_MAX, Op::ARG_MAX}) {
      ModelBuilder m;
      const int x = AddIn(m, in);
      const int axes = IntConst(m, f.Params(op == Op::ARG_MAX ? 1 : f.Int(0, 4)));
      const bool keep = f.Int(0, 1) == 1;
      const TSpec out = op == Op::ARG_MAX ? Plain(DType::kInt32, {1}) : Spec(t, {1});
      m.AddOperator(op, {x, axes}, {AddOut(m, out)}, [op, keep](fb::FlatBufferBuilder& b) {
        if (op == Op::ARG_MAX) {
          return MakeOptions(tflite::BuiltinOptions::ArgMaxOptions,
                             tflite::CreateArgMaxOptions(b, tflite::TensorType::INT32));
        }
        return MakeOptions(tflite::BuiltinOptions::ReducerOptions,
                           tflite::CreateReducerOptions(b, keep));
      });
      TryModel(m.Build(), {in}, seed, &o);
    }
  }
  std::printf(
      "[ hostile  ] shape ops: %d rejected at prepare, %d ran, %d failed "
      "cleanly in eval\n",
      o.rejected, o.ran, o.eval_errors);
  EXPECT_GT(o.rejected, 100);
  EXPECT_GT(o.ran, 100);
}

// NHWC ops with random windows, strides, block sizes and target sizes.
TEST(HostileParams, ImageOps) {
  Fuzz f(99);
  Outcome o;
  for (int it = 0; it < kIterations; ++it) {
    const DType t = f.Type() == DType::kInt32 ? DType::kFloat32 : f.Type();
    std::vector<int32_t> shape = {f.Int(0, 2), f.Int(0, 6), f.Int(0, 6), f.Int(0, 4)};
    if (f.Int(0, 5) == 0) shape.pop_back();
    const TSpec in = Spec(t, shape);
    const uint32_t seed = static_cast<uint32_t>(it);
    for (Op op : {Op::MAX_POOL_2D, Op::AVERAGE_POOL_2D}) {
      ModelBuilder m;
      const int x = AddIn(m, in);
      const int sw = f.Param(), sh = f.Param(), fw = f.Param(), fh = f.Param();
      const auto pad = f.Int(0, 3) == 0 ? static_cast<tflite::Padding>(f.Int(2, 9))
                                        : static_cast<tflite::Padding>(f.Int(0, 1));
      m.AddOperator(op, {x}, {AddOut(m, Spec(t, {1}))}, [=](fb::FlatBufferBuilder& b) {
        return MakeOptions(tflite::BuiltinOptions::Pool2DOptions,
                           tflite::CreatePool2DOptions(b, pad, sw, sh, fw, fh));
      });
      TryModel(m.Build(), {in}, seed, &o);
    }
    for (Op op : {Op::SPACE_TO_DEPTH, Op::DEPTH_TO_SPACE}) {
      ModelBuilder m;
      const int x = AddIn(m, in);
      const int bs = f.Param();
      m.AddOperator(op, {x}, {AddOut(m, Spec(t, {1}))}, [op, bs](fb::FlatBufferBuilder& b) {
        if (op == Op::SPACE_TO_DEPTH) {
          return MakeOptions(tflite::BuiltinOptions::SpaceToDepthOptions,
                             tflite::CreateSpaceToDepthOptions(b, bs));
        }
        return MakeOptions(tflite::BuiltinOptions::DepthToSpaceOptions,
                           tflite::CreateDepthToSpaceOptions(b, bs));
      });
      TryModel(m.Build(), {in}, seed, &o);
    }
    for (Op op : {Op::RESIZE_BILINEAR, Op::RESIZE_NEAREST_NEIGHBOR}) {
      ModelBuilder m;
      const int x = AddIn(m, in);
      const int size = IntConst(m, {f.Int(-1, 9), f.Int(-1, 9)});
      const bool align = f.Int(0, 1), half = f.Int(0, 1);
      m.AddOperator(op, {x, size}, {AddOut(m, Spec(t, {1}))}, [=](fb::FlatBufferBuilder& b) {
        if (op == Op::RESIZE_BILINEAR) {
          return MakeOptions(tflite::BuiltinOptions::ResizeBilinearOptions,
                             tflite::CreateResizeBilinearOptions(b, align, half));
        }
        return MakeOptions(tflite::BuiltinOptions::ResizeNearestNeighborOptions,
                           tflite::CreateResizeNearestNeighborOptions(b, align, half));
      });
      TryModel(m.Build(), {in}, seed, &o);
    }
  }
  std::printf(
      "[ hostile  ] image ops: %d rejected at prepare, %d ran, %d failed "
      "cleanly in eval\n",
      o.rejected, o.ran, o.eval_errors);
  EXPECT_GT(o.rejected, 50);
  EXPECT_GT(o.ran, 50);
}

// Zero-size tensors through elementwise, activation and quantization kernels.
TEST(HostileParams, ZeroSizeTensors) {
  Outcome o;
  const std::vector<int32_t> shapes[] = {{0}, {2, 0, 3}, {0, 4}};
  for (const auto& shape : shapes) {
    ModelBuilder m;
    const TSpec f = F32(shape), q = Q(DType::kInt8, shape, 0.1f, 0);
    const int x = AddIn(m, f), y = AddIn(m, q);
    for (Op op : {Op::RELU, Op::TANH, Op::LOGISTIC, Op::EXP, Op::ABS, Op::HARD_SWISH}) {
      m.AddOperator(op, {x}, {AddOut(m, f)});
    }
    m.AddOperator(Op::ADD, {x, x}, {AddOut(m, f)});
    m.AddOperator(Op::MUL, {y, y}, {AddOut(m, q)});
    m.AddOperator(Op::SOFTMAX, {x}, {AddOut(m, f)});
    m.AddOperator(Op::DEQUANTIZE, {y}, {AddOut(m, f)});
    m.AddOperator(Op::QUANTIZE, {x}, {AddOut(m, q)});
    m.AddOperator(Op::LOGISTIC, {y}, {AddOut(m, Q(DType::kInt8, shape, 1.0f / 256, -128))});
    TryModel(m.Build(), {f, q}, 3, &o);
  }
  EXPECT_EQ(o.ran, 3);
}

}  // namespace
}  // namespace testing
}  // namespace edgeopt
