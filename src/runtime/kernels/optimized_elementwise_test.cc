// The element-wise microkernels (quantized ADD/SUB, QUANTIZE, DEQUANTIZE, float ADD/SUB/MUL,
// RELU/RELU6/RELU_N1_TO_1, MAX_POOL_2D / AVERAGE_POOL_2D) against the reference kernels: element
// counts around the vector width (16) and the parallel split, same-shape and scalar operands, every
// ISA level, 1 and 2 threads, and in-place calls of the microkernels. Results must be identical.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "src/quant/quant_math.h"
#include "src/runtime/cpu_info.h"
#include "src/runtime/kernels/dynamic_quant.h"
#include "src/runtime/kernels/elem_test_util.h"
#include "src/runtime/kernels/reference/arith.h"
#include "src/runtime/kernels/ukernels/configs.h"
#include "src/runtime/kernels/ukernels/pack.h"

namespace edgeopt {
namespace testing {
namespace {

using Act = tflite::ActivationFunctionType;
using Op = tflite::BuiltinOperator;

const int64_t kSizes[] = {1, 15, 16, 17, 33, 64, 100, 16383, 40000};

TEST(OptimizedAdd, QuantizedSameShapeAndScalar) {
  std::mt19937 rng(5);
  uint32_t seed = 1;
  for (Op op : {Op::ADD, Op::SUB}) {
    for (DType type : {DType::kInt8, DType::kUInt8}) {
      for (int64_t n : kSizes) {
        for (bool scalar : {false, true}) {
          const int32_t base = type == DType::kUInt8 ? 128 : 0;
          auto zp = [&] { return base + static_cast<int32_t>(rng() % 41) - 20; };
          auto scale = [&] { return 0.01f + 0.1f * static_cast<float>(rng() % 100) / 100.0f; };
          const TSpec a = Q(type, {1, static_cast<int32_t>(n)}, scale(), zp());
          const TSpec b = scalar ? Q(type, {1}, scale(), zp())
                                 : Q(type, {1, static_cast<int32_t>(n)}, scale(), zp());
          const TSpec out = Q(type, {1, static_cast<int32_t>(n)}, scale() * 1.5f, zp());
          const Act acts[] = {Act::NONE, Act::RELU, Act::RELU6};
          const Act act = acts[rng() % 3];
          ModelBuilder m;
          const int x = AddIn(m, a), y = AddIn(m, b), z = AddOut(m, out);
          m.AddOperator(op, {x, y}, {z}, [op, act](flatbuffers::FlatBufferBuilder& fb) {
            if (op == Op::SUB) {
              return MakeOptions(tflite::BuiltinOptions::SubOptions,
                                 tflite::CreateSubOptions(fb, act, true));
            }
            return MakeOptions(tflite::BuiltinOptions::AddOptions,
                               tflite::CreateAddOptions(fb, act, true));
          });
          const std::string what = std::string(tflite::EnumNameBuiltinOperator(op)) + " " +
                                   DTypeName(type) + " n=" + std::to_string(n) +
                                   (scalar ? " scalar" : "");
          ExpectMatchesReference(m.Build(), {RandomFor(a, seed), RandomFor(b, seed + 1)}, what);
          seed += 2;
        }
      }
    }
  }
}

// Float ADD/SUB/MUL: same shapes, b a single value, a a single value (ADD/MUL; SUB keeps the
// reference), every fused activation; NaN, infinities and signed zeros among the inputs.
TEST(OptimizedBinary, FloatSameShapeAndScalar) {
  std::mt19937 rng(23);
  uint32_t seed = 500;
  const Act acts[] = {Act::NONE, Act::RELU, Act::RELU6, Act::RELU_N1_TO_1};
  for (Op op : {Op::ADD, Op::SUB, Op::MUL}) {
    for (int64_t n : kSizes) {
      for (int scalar = 0; scalar < 3; ++scalar) {  // 0: none, 1: b, 2: a
        const Act act = acts[rng() % 4];
        const int32_t ni = static_cast<int32_t>(n);
        const TSpec a = F32(scalar == 2 ? std::vector<int32_t>{1} : std::vector<int32_t>{2, ni});
        const TSpec b = F32(scalar == 1 ? std::vector<int32_t>{1} : std::vector<int32_t>{2, ni});
        ModelBuilder m;
        const int x = AddIn(m, a), y = AddIn(m, b), z = AddOut(m, F32({2, ni}));
        m.AddOperator(op, {x, y}, {z}, [op, act](flatbuffers::FlatBufferBuilder& fb) {
          if (op == Op::SUB) {
            return MakeOptions(tflite::BuiltinOptions::SubOptions,
                               tflite::CreateSubOptions(fb, act));
          }
          if (op == Op::MUL) {
            return MakeOptions(tflite::BuiltinOptions::MulOptions,
                               tflite::CreateMulOptions(fb, act));
          }
          return MakeOptions(tflite::BuiltinOptions::AddOptions, tflite::CreateAddOptions(fb, act));
        });
        NpyArray va = RandomFor(a, seed++), vb = RandomFor(b, seed++);
        float* pa = reinterpret_cast<float*>(va.data.data());
        if (va.NumElements() > 4) {
          pa[0] = NAN;
          pa[1] = INFINITY;
          pa[2] = -INFINITY;
          pa[3] = -0.0f;
        }
        const std::string what = std::string(tflite::EnumNameBuiltinOperator(op)) +
                                 " float n=" + std::to_string(n) +
                                 " scalar=" + std::to_string(scalar) +
                                 " act=" + tflite::EnumNameActivationFunctionType(act);
        ExpectMatchesReference(m.Build(), {va, vb}, what);
      }
    }
  }
}

// b broadcast over the rows of a (a per-channel vector [C] or a per-row value [R, 1], as
// LayerNormalization's beta and mean): the microkernels row by row, for float and int8/uint8
// ADD/SUB/MUL, row counts around the parallel split.
TEST(OptimizedBinary, RowBroadcast) {
  std::mt19937 rng(31);
  uint32_t seed = 900;
  struct Shapes {
    std::vector<int32_t> a, b;
  };
  std::vector<Shapes> shapes;
  for (int32_t c : {1, 15, 16, 33, 100}) {
    for (int32_t r : {3, 130}) {
      shapes.push_back({{r, c}, {c}});
      shapes.push_back({{r, c}, {r, 1}});
    }
  }
  shapes.push_back({{2, 28, 32}, {1, 1, 32}});  // merges to [56, 32] x [32]
  shapes.push_back({{2, 28, 32}, {2, 28, 1}});  // [56, 32] x [56, 1]
  for (Op op : {Op::ADD, Op::SUB, Op::MUL}) {
    for (DType type : {DType::kFloat32, DType::kInt8, DType::kUInt8}) {
      for (const Shapes& sh : shapes) {
        TSpec a = F32(sh.a), b = F32(sh.b), out = F32(sh.a);
        if (type != DType::kFloat32) {
          const int32_t base = type == DType::kUInt8 ? 128 : 0;
          auto zp = [&] { return base + static_cast<int32_t>(rng() % 41) - 20; };
          auto scale = [&] { return 0.01f + 0.1f * static_cast<float>(rng() % 100) / 100.0f; };
          a = Q(type, sh.a, scale(), zp());
          b = Q(type, sh.b, scale(), zp());
          out = Q(type, sh.a, op == Op::MUL ? 0.02f : scale() * 1.5f, zp());
        }
        ModelBuilder m;
        const int x = AddIn(m, a), y = AddIn(m, b), z = AddOut(m, out);
        m.AddOperator(op, {x, y}, {z}, [op](flatbuffers::FlatBufferBuilder& fb) {
          if (op == Op::SUB) {
            return MakeOptions(tflite::BuiltinOptions::SubOptions,
                               tflite::CreateSubOptions(fb, Act::NONE, true));
          }
          if (op == Op::MUL) {
            return MakeOptions(tflite::BuiltinOptions::MulOptions,
                               tflite::CreateMulOptions(fb, Act::NONE));
          }
          return MakeOptions(tflite::BuiltinOptions::AddOptions,
                             tflite::CreateAddOptions(fb, Act::NONE, true));
        });
        std::string what =
            std::string(tflite::EnumNameBuiltinOperator(op)) + " " + DTypeName(type) + " a=[";
        for (int32_t d : sh.a) what += std::to_string(d) + ",";
        what += "] b=[";
        for (int32_t d : sh.b) what += std::to_string(d) + ",";
        what += "]";
        ExpectMatchesReference(m.Build(), {RandomFor(a, seed), RandomFor(b, seed + 1)}, what);
        seed += 2;
      }
    }
  }
}

// The float binary microkernels writing over either operand give the reference's values.
TEST(OptimizedBinary, FloatMicrokernelInPlace) {
  for (const rt::CpuInfo& cpu : OptimizedLevels()) {
    const rt::uk::F32VBinaryConfig* cfg = rt::uk::GetF32VBinaryConfig(cpu);
    if (cfg == nullptr) continue;
    rt::uk::F32MinMaxParams p;
    p.min = -1.5f;
    p.max = 2.0f;
    for (size_t n : {1, 7, 8, 9, 16, 31, 32, 33, 77}) {
      for (int target = 0; target < 2; ++target) {
        std::vector<float> a(n), b(n), expected(n);
        for (size_t i = 0; i < n; ++i) {
          a[i] = static_cast<float>(static_cast<int>(i * 37 % 23) - 11) * 0.25f;
          b[i] = static_cast<float>(static_cast<int>(i * 91 % 17) - 8) * 0.125f;
          expected[i] = std::min(p.max, std::max(p.min, a[i] * b[i]));
        }
        float* out = target == 0 ? a.data() : b.data();
        cfg->vmul(n, a.data(), b.data(), false, out, &p);
        EXPECT_EQ(target == 0 ? a : b, expected) << cfg->name << " n=" << n;
      }
    }
  }
}

// RELU, RELU6, RELU_N1_TO_1: float (NaN, infinities, -0 among the inputs) and int8/uint8 with
// different input and output scales (the requantization path).
TEST(OptimizedRelu, FloatAndQuantized) {
  std::mt19937 rng(31);
  uint32_t seed = 900;
  for (Op op : {Op::RELU, Op::RELU6, Op::RELU_N1_TO_1}) {
    for (DType type : {DType::kFloat32, DType::kInt8, DType::kUInt8}) {
      for (int64_t n : kSizes) {
        const int32_t ni = static_cast<int32_t>(n);
        const int32_t base = type == DType::kUInt8 ? 128 : 0;
        const TSpec in = type == DType::kFloat32 ? F32({ni})
                                                 : Q(type, {ni}, 0.01f + 0.0005f * (rng() % 100),
                                                     base + static_cast<int32_t>(rng() % 41) - 20);
        const TSpec out = type == DType::kFloat32 ? F32({ni})
                                                  : Q(type, {ni}, 0.01f + 0.0005f * (rng() % 100),
                                                      base + static_cast<int32_t>(rng() % 41) - 20);
        ModelBuilder m;
        const int x = AddIn(m, in), y = AddOut(m, out);
        m.AddOperator(op, {x}, {y}, nullptr);
        NpyArray v = RandomFor(in, seed++, -8.0, 8.0);
        if (type == DType::kFloat32 && n > 4) {
          float* pv = reinterpret_cast<float*>(v.data.data());
          pv[0] = NAN;
          pv[1] = INFINITY;
          pv[2] = -INFINITY;
          pv[3] = -0.0f;
        }
        ExpectMatchesReference(m.Build(), {v},
                               std::string(tflite::EnumNameBuiltinOperator(op)) + " " +
                                   DTypeName(type) + " n=" + std::to_string(n));
      }
    }
  }
}

// The clamp microkernel in place.
TEST(OptimizedRelu, ClampMicrokernelInPlace) {
  for (const rt::CpuInfo& cpu : OptimizedLevels()) {
    const rt::uk::F32VBinaryConfig* cfg = rt::uk::GetF32VBinaryConfig(cpu);
    if (cfg == nullptr) continue;
    rt::uk::F32MinMaxParams p;
    p.min = -1.0f;
    p.max = 6.0f;
    for (size_t n : {1, 7, 8, 9, 16, 31, 32, 33, 77}) {
      std::vector<float> x(n), expected(n);
      for (size_t i = 0; i < n; ++i) {
        x[i] = static_cast<float>(static_cast<int>(i * 37 % 29) - 14) * 0.75f;
        expected[i] = std::min(p.max, std::max(p.min, x[i]));
      }
      cfg->vclamp(n, x.data(), x.data(), &p);
      EXPECT_EQ(x, expected) << cfg->name << " n=" << n;
    }
  }
}

// Run-time quantization of hybrid inputs: the microkernel path against the reference on sizes
// around the vector widths, values on and next to rounding ties, NaN (also as the first value,
// which the symmetric range keeps), infinities, all-zero and single-sign rows.
TEST(OptimizedDynamicQuant, SameAsReference) {
  std::mt19937 rng(37);
  for (const rt::CpuInfo& cpu : OptimizedLevels()) {
    const rt::uk::DynamicQuantConfig* cfg = rt::uk::GetDynamicQuantConfig(cpu);
    if (cfg == nullptr) continue;
    for (int n : {1, 2, 7, 8, 9, 15, 16, 17, 33, 100, 1000}) {
      for (int kind = 0; kind < 6; ++kind) {
        std::vector<float> x(n);
        for (int i = 0; i < n; ++i) {
          const float k = static_cast<float>(static_cast<int>(rng() % 255) - 127);
          switch (rng() % 4) {
            case 0:
              x[i] = (k + 0.5f) / 50.0f;
              break;
            case 1:
              x[i] = std::nextafter((k + 0.5f) / 50.0f, 1e9f);
              break;
            default:
              x[i] = static_cast<float>(rng() % 100000) / 20000.0f - 2.5f;
          }
        }
        if (kind == 1) std::fill(x.begin(), x.end(), 0.0f);
        if (kind == 2) {
          for (float& v : x) v = std::abs(v) + 0.25f;
        }
        if (kind == 3) x[rng() % n] = NAN;
        if (kind == 4) x[0] = NAN;
        if (kind == 5) x[rng() % n] = INFINITY;
        for (bool asymmetric : {false, true}) {
          std::vector<int8_t> q_ref(n), q(n);
          float s_ref = 0, s = 0;
          int32_t zp_ref = 0, zp = 0;
          rt::DynamicQuantize(nullptr, asymmetric, x.data(), n, q_ref.data(), &s_ref, &zp_ref);
          rt::DynamicQuantize(cfg, asymmetric, x.data(), n, q.data(), &s, &zp);
          const std::string what = std::string(cfg->name) + " n=" + std::to_string(n) +
                                   " kind=" + std::to_string(kind) +
                                   (asymmetric ? " asymmetric" : " symmetric");
          EXPECT_EQ(q, q_ref) << what;
          EXPECT_EQ(zp, zp_ref) << what;
          EXPECT_TRUE(s == s_ref || (s != s && s_ref != s_ref)) << what;
        }
      }
    }
  }
}

struct PoolCase {
  Op op = Op::MAX_POOL_2D;
  DType type = DType::kFloat32;
  int batch = 1, h = 1, w = 1, c = 1, fh = 1, fw = 1, sh = 1, sw = 1;
  tflite::Padding padding = tflite::Padding::VALID;
  Act act = Act::NONE;
  int32_t zp = 0;
};

// One pooling op against the reference (a NaN and a -inf among float inputs); false when the
// shape has no output.
bool CheckPool(const PoolCase& k, uint32_t seed) {
  const TSpec in = k.type == DType::kFloat32 ? F32({k.batch, k.h, k.w, k.c})
                                             : Q(k.type, {k.batch, k.h, k.w, k.c}, 0.05f, k.zp);
  const bool same = k.padding == tflite::Padding::SAME;
  const int oh = same ? (k.h + k.sh - 1) / k.sh : (k.h - k.fh) / k.sh + 1;
  const int ow = same ? (k.w + k.sw - 1) / k.sw : (k.w - k.fw) / k.sw + 1;
  if (oh <= 0 || ow <= 0) return false;
  const TSpec out = k.type == DType::kFloat32 ? F32({k.batch, oh, ow, k.c})
                                              : Q(k.type, {k.batch, oh, ow, k.c}, 0.05f, k.zp);
  ModelBuilder m;
  const int x = AddIn(m, in), y = AddOut(m, out);
  m.AddOperator(k.op, {x}, {y}, [=](flatbuffers::FlatBufferBuilder& fb) {
    return MakeOptions(tflite::BuiltinOptions::Pool2DOptions,
                       tflite::CreatePool2DOptions(fb, k.padding, k.sw, k.sh, k.fw, k.fh, k.act));
  });
  NpyArray v = RandomFor(in, seed);
  if (k.type == DType::kFloat32 && v.NumElements() > 2) {
    float* pv = reinterpret_cast<float*>(v.data.data());
    pv[0] = NAN;
    pv[1] = -INFINITY;
  }
  const std::string what =
      std::string(tflite::EnumNameBuiltinOperator(k.op)) + " " + DTypeName(k.type) + " " +
      std::to_string(k.batch) + "x" + std::to_string(k.h) + "x" + std::to_string(k.w) + "x" +
      std::to_string(k.c) + " filter " + std::to_string(k.fh) + "x" + std::to_string(k.fw) +
      " stride " + std::to_string(k.sh) + "x" + std::to_string(k.sw) + (same ? " SAME" : " VALID") +
      " act " + tflite::EnumNameActivationFunctionType(k.act);
  ExpectMatchesReference(m.Build(), {v}, what);
  return true;
}

int32_t RandomZeroPoint(std::mt19937& rng, DType type) {
  return type == DType::kUInt8   ? 128 + static_cast<int32_t>(rng() % 21) - 10
         : type == DType::kInt16 ? 0
                                 : static_cast<int32_t>(rng() % 21) - 10;
}

const Act kPoolActs[] = {Act::NONE, Act::RELU, Act::RELU6, Act::RELU_N1_TO_1};

// fn(op, type, i) for `cases` cases of each pooling op and type that has a microkernel path:
// MAX_POOL_2D and AVERAGE_POOL_2D of float, int8 and uint8, and MAX_POOL_2D of int16.
template <typename F>
void ForEachPoolOpAndType(int cases, F&& fn) {
  for (Op op : {Op::MAX_POOL_2D, Op::AVERAGE_POOL_2D}) {
    for (DType type : {DType::kFloat32, DType::kInt8, DType::kUInt8, DType::kInt16}) {
      if (type == DType::kInt16 && op != Op::MAX_POOL_2D) continue;
      for (int i = 0; i < cases; ++i) fn(op, type, i);
    }
  }
}

// MAX_POOL_2D and AVERAGE_POOL_2D (float, int8, uint8; int16 max): channel counts around the
// vector widths (8, 16, 32, 64), windows clipped by SAME padding, strides, activations; large
// averaging windows (global pooling).
TEST(OptimizedPool, MaxAndAverageAroundChannelBlocks) {
  std::mt19937 rng(29);
  uint32_t seed = 700;
  const int channels[] = {1, 7, 8, 9, 15, 16, 17, 31, 32, 33, 63, 64, 65, 100};
  ForEachPoolOpAndType(16, [&](Op op, DType type, int) {
    PoolCase k;
    k.op = op;
    k.type = type;
    k.c = channels[rng() % 14];
    k.h = 1 + static_cast<int>(rng() % 9);
    k.w = 1 + static_cast<int>(rng() % 9);
    const bool global = rng() % 5 == 0;
    k.fh = global ? k.h : 1 + static_cast<int>(rng() % 3);
    k.fw = global ? k.w : 1 + static_cast<int>(rng() % 3);
    k.sh = 1 + static_cast<int>(rng() % 2);
    k.sw = 1 + static_cast<int>(rng() % 2);
    k.padding = global || rng() % 2 ? tflite::Padding::VALID : tflite::Padding::SAME;
    k.act = kPoolActs[rng() % 4];
    k.batch = 1 + static_cast<int>(rng() % 2);
    k.zp = RandomZeroPoint(rng, type);
    CheckPool(k, seed++);
  });
}

// Wide rows: the windows inside a row go to the microkernel as one run of output pixels, the
// clipped ones at either end one at a time. Windows of 2x2 and 3x3 (the kernels' fixed-size
// paths) and others, strides 1-3, SAME and VALID, widths 10-40; float, int8, uint8, int16 max.
TEST(OptimizedPool, RunsOfPixelsAcrossWideRows) {
  std::mt19937 rng(31);
  uint32_t seed = 800;
  const int channels[] = {3, 16, 32, 40, 64, 70};
  const int windows[][2] = {{2, 2}, {3, 3}, {2, 3}, {1, 4}, {4, 2}};
  ForEachPoolOpAndType(12, [&](Op op, DType type, int i) {
    PoolCase k;
    k.op = op;
    k.type = type;
    k.c = channels[rng() % 6];
    const auto& win = windows[i % 5];
    k.fh = win[0];
    k.fw = win[1];
    k.h = k.fh + static_cast<int>(rng() % 6);
    k.w = 10 + static_cast<int>(rng() % 31);
    k.sh = 1 + static_cast<int>(rng() % 3);
    k.sw = 1 + static_cast<int>(rng() % 3);
    k.padding = rng() % 2 ? tflite::Padding::VALID : tflite::Padding::SAME;
    k.act = kPoolActs[rng() % 4];
    k.batch = 1 + static_cast<int>(rng() % 2);
    k.zp = RandomZeroPoint(rng, type);
    CheckPool(k, seed++);
  });
}

// One output column (the window spans the row, as magic_wand's 3x3 pool of 3-wide rows): runs
// of output rows whose windows lie inside the image go to one call. Tall inputs, SAME and VALID
// in y (clipped rows at either end), several batch items (a run stops at each), widths from
// the window's to one short of another output column, enough values to split over threads.
TEST(OptimizedPool, RunsOfRowsInOneColumn) {
  std::mt19937 rng(37);
  uint32_t seed = 900;
  const int channels[] = {1, 8, 16, 24, 64, 200};
  const int windows[][2] = {{3, 3}, {2, 2}, {4, 3}, {3, 1}, {1, 2}};
  ForEachPoolOpAndType(10, [&](Op op, DType type, int i) {
    PoolCase k;
    k.op = op;
    k.type = type;
    k.c = channels[rng() % 6];
    const auto& win = windows[i % 5];
    k.fh = win[0];
    k.fw = win[1];
    k.sh = 1 + static_cast<int>(rng() % 3);
    k.sw = k.fw + static_cast<int>(rng() % 2);
    k.w = k.fw + static_cast<int>(rng() % k.sw);  // VALID: (w - fw) / sw + 1 = 1 column
    k.h = k.fh + static_cast<int>(rng() % 120);
    k.padding = tflite::Padding::VALID;
    if (rng() % 2) {
      // SAME, w = fw <= sw: one column, no padding in x; rows clipped at either end.
      k.w = k.fw;
      k.padding = tflite::Padding::SAME;
    }
    k.act = kPoolActs[rng() % 4];
    k.batch = 1 + static_cast<int>(rng() % 3);
    k.zp = RandomZeroPoint(rng, type);
    EXPECT_TRUE(CheckPool(k, seed++));
  });
}

// Quantized MUL: same shapes, b a single value, a a single value; int8 and uint8; activations.
TEST(OptimizedMul, QuantizedSameShapeAndScalar) {
  std::mt19937 rng(41);
  uint32_t seed = 1100;
  const Act acts[] = {Act::NONE, Act::RELU, Act::RELU6, Act::RELU_N1_TO_1};
  for (DType type : {DType::kInt8, DType::kUInt8}) {
    for (int64_t n : kSizes) {
      for (int scalar = 0; scalar < 3; ++scalar) {  // 0: none, 1: b, 2: a
        const int32_t ni = static_cast<int32_t>(n);
        const int32_t base = type == DType::kUInt8 ? 128 : 0;
        auto zp = [&] { return base + static_cast<int32_t>(rng() % 41) - 20; };
        auto scale = [&] { return 0.01f + 0.1f * static_cast<float>(rng() % 100) / 100.0f; };
        const TSpec a = Q(type, scalar == 2 ? std::vector<int32_t>{1} : std::vector<int32_t>{1, ni},
                          scale(), zp());
        const TSpec b = Q(type, scalar == 1 ? std::vector<int32_t>{1} : std::vector<int32_t>{1, ni},
                          scale(), zp());
        const TSpec out = Q(type, {1, ni}, scale() * 0.05f, zp());
        const Act act = acts[rng() % 4];
        ModelBuilder m;
        const int x = AddIn(m, a), y = AddIn(m, b), z = AddOut(m, out);
        m.AddOperator(Op::MUL, {x, y}, {z}, [act](flatbuffers::FlatBufferBuilder& fb) {
          return MakeOptions(tflite::BuiltinOptions::MulOptions, tflite::CreateMulOptions(fb, act));
        });
        const std::string what = std::string("MUL ") + DTypeName(type) + " n=" + std::to_string(n) +
                                 " scalar=" + std::to_string(scalar);
        ExpectMatchesReference(m.Build(), {RandomFor(a, seed), RandomFor(b, seed + 1)}, what);
        seed += 2;
      }
    }
  }
}

// Values placed on and next to the rounding ties of x / scale, besides random ones.
std::vector<float> QuantizeInputs(int64_t n, float scale, std::mt19937& rng) {
  std::vector<float> v(n);
  for (int64_t i = 0; i < n; ++i) {
    const float k = static_cast<float>(static_cast<int>(rng() % 300) - 150);
    switch (rng() % 4) {
      case 0:
        v[i] = (k + 0.5f) * scale;
        break;
      case 1:
        v[i] = std::nextafter((k + 0.5f) * scale, 1e9f);
        break;
      case 2:
        v[i] = std::nextafter((k + 0.5f) * scale, -1e9f);
        break;
      default:
        v[i] = (static_cast<float>(rng() % 100000) / 100000.0f - 0.5f) * 400.0f * scale;
    }
  }
  if (n > 3) {
    v[0] = NAN;
    v[1] = INFINITY;
    v[2] = -1e30f;
  }
  return v;
}

TEST(OptimizedQuantize, FloatToInt8AndUInt8NearTies) {
  std::mt19937 rng(9);
  for (DType type : {DType::kInt8, DType::kUInt8}) {
    for (int64_t n : kSizes) {
      const float scale = 0.003f + static_cast<float>(rng() % 1000) * 1e-4f;
      const int32_t zp = (type == DType::kUInt8 ? 128 : 0) + static_cast<int32_t>(rng() % 21) - 10;
      const TSpec in = F32({static_cast<int32_t>(n)});
      const TSpec out = Q(type, {static_cast<int32_t>(n)}, scale, zp);
      ModelBuilder m;
      const int x = AddIn(m, in), y = AddOut(m, out);
      m.AddOperator(Op::QUANTIZE, {x}, {y}, nullptr);
      ExpectMatchesReference(
          m.Build(),
          {MakeArray<float>(DType::kFloat32, {static_cast<int32_t>(n)},
                            QuantizeInputs(n, scale, rng))},
          std::string("QUANTIZE float->") + DTypeName(type) + " n=" + std::to_string(n));
    }
  }
}

TEST(OptimizedQuantize, RequantizeAndDequantize) {
  std::mt19937 rng(21);
  uint32_t seed = 40;
  for (DType from : {DType::kInt8, DType::kUInt8}) {
    for (int64_t n : kSizes) {
      const int32_t zin = (from == DType::kUInt8 ? 128 : 0) + static_cast<int32_t>(rng() % 21) - 10;
      const TSpec in = Q(from, {static_cast<int32_t>(n)}, 0.02f + 0.001f * (rng() % 50), zin);
      for (DType to : {DType::kInt8, DType::kUInt8}) {
        const int32_t zout =
            (to == DType::kUInt8 ? 128 : 0) + static_cast<int32_t>(rng() % 21) - 10;
        const TSpec out = Q(to, {static_cast<int32_t>(n)}, 0.01f + 0.001f * (rng() % 50), zout);
        ModelBuilder m;
        const int x = AddIn(m, in), y = AddOut(m, out);
        m.AddOperator(Op::QUANTIZE, {x}, {y}, nullptr);
        ExpectMatchesReference(m.Build(), {RandomFor(in, seed++)},
                               std::string("QUANTIZE ") + DTypeName(from) + "->" + DTypeName(to) +
                                   " n=" + std::to_string(n));
      }
      ModelBuilder m;
      const int x = AddIn(m, in), y = AddOut(m, F32({static_cast<int32_t>(n)}));
      m.AddOperator(Op::DEQUANTIZE, {x}, {y}, nullptr);
      ExpectMatchesReference(
          m.Build(), {RandomFor(in, seed++)},
          std::string("DEQUANTIZE ") + DTypeName(from) + " n=" + std::to_string(n));
    }
  }
}

// int16 -> int8 (an int16 layer of an int8 model handing over to an int8 one): the microkernel
// against the reference over the whole int16 range, zero points 0 (16x8 tensors) and not.
TEST(OptimizedQuantize, RequantizeInt16ToInt8) {
  std::mt19937 rng(33);
  uint32_t seed = 70;
  for (int64_t n : kSizes) {
    for (int32_t zin : {0, 37}) {
      const TSpec in = Q(DType::kInt16, {static_cast<int32_t>(n)},
                         1e-4f * static_cast<float>(1 + rng() % 50), zin);
      const int32_t zout = static_cast<int32_t>(rng() % 41) - 20;
      // Output scales from below to above the input range: saturation both ways, and tiny
      // multipliers.
      for (float out_scale : {0.001f, 0.02f, 0.5f}) {
        const TSpec out = Q(DType::kInt8, {static_cast<int32_t>(n)}, out_scale, zout);
        ModelBuilder m;
        const int x = AddIn(m, in), y = AddOut(m, out);
        m.AddOperator(Op::QUANTIZE, {x}, {y}, nullptr);
        ExpectMatchesReference(m.Build(), {RandomFor(in, seed++)},
                               "QUANTIZE int16->int8 n=" + std::to_string(n) + " zin=" +
                                   std::to_string(zin) + " out_scale=" + std::to_string(out_scale));
      }
    }
  }
}

// The ADD microkernel writing over its first operand gives the same bytes.
TEST(OptimizedAdd, MicrokernelInPlace) {
  for (const rt::CpuInfo& cpu : OptimizedLevels()) {
    const rt::uk::QuantElementwiseConfig* cfg = rt::uk::GetQuantElementwiseConfig(cpu);
    if (cfg == nullptr) continue;
    rt::ref::AddSubParams q;
    q.input1_offset = 3;
    q.input2_offset = -7;
    q.output_offset = 5;
    quant::QuantizeMultiplier(0.4, &q.input1_multiplier, &q.input1_shift);
    quant::QuantizeMultiplier(0.3, &q.input2_multiplier, &q.input2_shift);
    quant::QuantizeMultiplier(0.9 / (1 << 20) * 1e6, &q.output_multiplier, &q.output_shift);
    q.act_min = -128;
    q.act_max = 127;
    rt::uk::QS8VAddParams p;
    int32_t m[16], s[16];
    auto uniform = [&](int32_t mult, int shift, rt::uk::RequantBlock16* block) {
      for (int i = 0; i < 16; ++i) {
        m[i] = mult;
        s[i] = shift;
      }
      rt::uk::PackRequantBlocks(16, m, s, block);
    };
    uniform(q.input1_multiplier, q.input1_shift, &p.a);
    uniform(q.input2_multiplier, q.input2_shift, &p.b);
    uniform(q.output_multiplier, q.output_shift, &p.out);
    p.a_zero_point = -q.input1_offset;
    p.b_zero_point = -q.input2_offset;
    p.q.zero_point = q.output_offset;
    p.q.lo = q.act_min - q.output_offset;
    p.q.hi = q.act_max - q.output_offset;
    for (size_t n : {1, 16, 31, 77}) {
      std::vector<int8_t> a(n), b(n), expected(n);
      for (size_t i = 0; i < n; ++i) {
        a[i] = static_cast<int8_t>(i * 37 + 11);
        b[i] = static_cast<int8_t>(i * 91 + 3);
        expected[i] = static_cast<int8_t>(rt::ref::QuantAddSub(a[i], b[i], q, false));
      }
      cfg->vadd[0](n, a.data(), b.data(), false, a.data(), &p);
      EXPECT_EQ(a, expected) << "n=" << n;
    }
  }
}

}  // namespace
}  // namespace testing
}  // namespace edgeopt
