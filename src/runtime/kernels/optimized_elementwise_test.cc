// The element-wise microkernels (quantized ADD/SUB, QUANTIZE, DEQUANTIZE) against the
// reference kernels: element counts around the vector width (16) and the parallel split,
// same-shape and scalar operands, every ISA level, 1 and 2 threads, and in-place calls of
// the microkernels. Results must be identical.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "src/quant/quant_math.h"
#include "src/runtime/cpu_info.h"
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

std::vector<rt::CpuInfo> Levels() {
  std::vector<rt::CpuInfo> levels;
  const rt::CpuInfo& native = rt::GetCpuInfo();
  if (native.UseAvx512()) levels.push_back(native);
  if (native.UseAvx2()) {
    rt::CpuInfo c = native;
    c.avx512f = c.avx512bw = c.avx512vl = c.avx512dq = c.avx512vnni = false;
    levels.push_back(c);
  }
  if (native.UseNeon()) levels.push_back(native);
  levels.push_back(rt::ScalarCpuInfo());  // the reference fallback
  return levels;
}

// Runs `model` with the reference kernels and with the microkernels (every level, 1 and 2
// threads) and expects identical bytes.
void ExpectSameAsReference(const std::vector<uint8_t>& model, const std::vector<NpyArray>& inputs,
                           const std::string& what) {
  rt::InterpreterOptions ref_options;
  ref_options.use_optimized_kernels = false;
  auto ref = RunEdgeopt(model, inputs, ref_options);
  ASSERT_TRUE(ref.ok()) << what << ": " << ref.status().ToString();
  for (const rt::CpuInfo& cpu : Levels()) {
    for (int threads : {1, 2}) {
      rt::InterpreterOptions options;
      options.cpu = &cpu;
      options.num_threads = threads;
      auto ours = RunEdgeopt(model, inputs, options);
      ASSERT_TRUE(ours.ok()) << what << ": " << ours.status().ToString();
      ASSERT_EQ((*ours)[0].data.size(), (*ref)[0].data.size());
      const uint8_t* a = (*ours)[0].data.data();
      const uint8_t* b = (*ref)[0].data.data();
      size_t bad = 0;
      for (size_t i = 0; i < (*ref)[0].data.size(); ++i) {
        if (a[i] != b[i] && bad++ < 3) {
          ADD_FAILURE() << what << " (" << threads << " threads): byte " << i << " is " << int{a[i]}
                        << ", reference " << int{b[i]};
        }
      }
      if (bad > 0) return;
    }
  }
}

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
          ExpectSameAsReference(m.Build(), {RandomFor(a, seed), RandomFor(b, seed + 1)}, what);
          seed += 2;
        }
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
      ExpectSameAsReference(
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
        ExpectSameAsReference(m.Build(), {RandomFor(in, seed++)},
                              std::string("QUANTIZE ") + DTypeName(from) + "->" + DTypeName(to) +
                                  " n=" + std::to_string(n));
      }
      ModelBuilder m;
      const int x = AddIn(m, in), y = AddOut(m, F32({static_cast<int32_t>(n)}));
      m.AddOperator(Op::DEQUANTIZE, {x}, {y}, nullptr);
      ExpectSameAsReference(
          m.Build(), {RandomFor(in, seed++)},
          std::string("DEQUANTIZE ") + DTypeName(from) + " n=" + std::to_string(n));
    }
  }
}

// The ADD microkernel writing over its first operand gives the same bytes.
TEST(OptimizedAdd, MicrokernelInPlace) {
  for (const rt::CpuInfo& cpu : Levels()) {
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
