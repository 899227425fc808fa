// The activation, SOFTMAX and MEAN microkernels (vunary.h, activation_op.h) against the
// reference kernels: element counts 1..70 around every vector width and larger ones past the
// parallel split, batches, odd channel counts, every ISA level, 1 and 2 threads, chains whose
// tensors the planner shares, and the microkernels called in place. Integer results and the
// exact float kernels must be identical; LOGISTIC, TANH and SOFTMAX (polynomial exp) within the
// named tolerances.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "src/runtime/cpu_info.h"
#include "src/runtime/kernels/elem_test_util.h"
#include "src/runtime/kernels/ukernels/vunary.h"

namespace edgeopt {
namespace testing {
namespace {

using Op = tflite::BuiltinOperator;
namespace fb = flatbuffers;

// |ours - reference| <= kAtol + kRtol * |reference| for the polynomial-exp kernels.
constexpr double kActivationAtol = 1e-6;         // LOGISTIC, TANH (outputs in [-1, 1])
constexpr double kSoftmaxRtol = 4e-6;            // a few ULP of exp plus the lane-wise sum, plus
constexpr double kSoftmaxRtolPerElement = 1e-9;  // the reference's sequential sum's rounding
constexpr double kSoftmaxAtol = 1e-12;           // exp below 2^-126 is 0 here

std::vector<int32_t> Sizes() {
  std::vector<int32_t> sizes;
  for (int32_t n = 1; n <= 70; ++n) sizes.push_back(n);
  for (int32_t n : {127, 255, 1001, 40000}) sizes.push_back(n);
  return sizes;
}

OptionsFn OptionsFor(Op op, float param) {
  if (op == Op::LEAKY_RELU) {
    return [param](fb::FlatBufferBuilder& b) {
      return MakeOptions(tflite::BuiltinOptions::LeakyReluOptions,
                         tflite::CreateLeakyReluOptions(b, param));
    };
  }
  if (op == Op::SOFTMAX) {
    return [param](fb::FlatBufferBuilder& b) {
      return MakeOptions(tflite::BuiltinOptions::SoftmaxOptions,
                         tflite::CreateSoftmaxOptions(b, param));
    };
  }
  return nullptr;
}

// Float inputs with NaN, infinities, signed zeros, large and tiny values among them.
NpyArray FloatInput(const TSpec& s, uint32_t seed, double range) {
  NpyArray v = RandomFor(s, seed, -range, range);
  float* p = reinterpret_cast<float*>(v.data.data());
  const size_t n = v.data.size() / 4;
  const float specials[] = {NAN, INFINITY, -INFINITY, -0.0f, 0.0f, 95.0f, -95.0f, 1e-30f, -3e-8f};
  for (size_t i = 0; i < n && i < 9; ++i) p[(i * 7 + seed) % n] = specials[i];
  return v;
}

TEST(OptimizedActivation, Float) {
  std::mt19937 rng(41);
  uint32_t seed = 1;
  for (Op op : {Op::RELU, Op::RELU6, Op::RELU_N1_TO_1, Op::LEAKY_RELU, Op::HARD_SWISH, Op::LOGISTIC,
                Op::TANH}) {
    const bool exact = op != Op::LOGISTIC && op != Op::TANH;
    for (int32_t n : Sizes()) {
      const int32_t batch = 1 + static_cast<int32_t>(rng() % 3);
      const TSpec s = F32({batch, n});
      ModelBuilder m;
      const int x = AddIn(m, s), y = AddOut(m, s);
      m.AddOperator(op, {x}, {y}, OptionsFor(op, 0.05f + 0.01f * static_cast<float>(rng() % 50)));
      const std::string what = std::string(tflite::EnumNameBuiltinOperator(op)) + " " +
                               std::to_string(batch) + "x" + std::to_string(n);
      ExpectMatchesReference(m.Build(), {FloatInput(s, seed++, 10.0)}, what,
                             exact ? -1 : kActivationAtol);
    }
  }
}

// With exact_float (models with hybrid ops), LOGISTIC and TANH run the kernels with libm's bits
// (uk::GetLibmExactVUnary) where there are, else the reference: identical results either way.
TEST(OptimizedActivation, FloatExactForHybridModels) {
  uint32_t seed = 300;
  for (Op op : {Op::LOGISTIC, Op::TANH}) {
    for (int32_t n : Sizes()) {
      const TSpec s = F32({2, n});
      ModelBuilder m;
      const int x = AddIn(m, s), y = AddOut(m, s);
      m.AddOperator(op, {x}, {y}, nullptr);
      const std::string what =
          std::string(tflite::EnumNameBuiltinOperator(op)) + " exact " + std::to_string(n);
      ExpectMatchesReference(m.Build(), {FloatInput(s, seed++, n % 2 ? 10.0 : 100.0)}, what, -1, 0,
                             /*exact_float=*/true);
    }
  }
}

TEST(OptimizedActivation, Quantized) {
  std::mt19937 rng(43);
  uint32_t seed = 100;
  for (Op op : {Op::LEAKY_RELU, Op::HARD_SWISH, Op::LOGISTIC, Op::TANH}) {
    for (DType type : {DType::kInt8, DType::kUInt8}) {
      for (int32_t n : {1, 15, 16, 17, 63, 64, 65, 70, 40000}) {
        const int32_t base = type == DType::kUInt8 ? 128 : 0;
        auto zp = [&] { return base + static_cast<int32_t>(rng() % 61) - 30; };
        const float in_scale = 0.01f + 0.0007f * static_cast<float>(rng() % 100);
        float out_scale = 0.005f + 0.0005f * static_cast<float>(rng() % 100);
        int32_t out_zp = zp();
        if (op == Op::LOGISTIC) {
          out_scale = 1.0f / 256;
          out_zp = type == DType::kInt8 ? -128 : 0;
        }
        const TSpec in = Q(type, {1, n}, in_scale, zp());
        const TSpec out = Q(type, {1, n}, out_scale, out_zp);
        ModelBuilder m;
        const int x = AddIn(m, in), y = AddOut(m, out);
        m.AddOperator(op, {x}, {y}, OptionsFor(op, op == Op::LEAKY_RELU ? -0.3f : 0.2f));
        ExpectMatchesReference(m.Build(), {RandomFor(in, seed++)},
                               std::string(tflite::EnumNameBuiltinOperator(op)) + " " +
                                   DTypeName(type) + " n=" + std::to_string(n));
      }
    }
  }
}

// Intermediate tensors the planner may place over their inputs (in-place runs).
TEST(OptimizedActivation, Chain) {
  for (DType type : {DType::kFloat32, DType::kInt8}) {
    const bool f = type == DType::kFloat32;
    const TSpec s = f ? F32({3, 37}) : Q(type, {3, 37}, 0.05f, 3);
    const TSpec sig = f ? s : Q(type, {3, 37}, 1.0f / 256, -128);
    ModelBuilder m;
    const int x = AddIn(m, s), a = AddTmp(m, s), b = AddTmp(m, s), c = AddTmp(m, sig);
    const int y = AddOut(m, s);
    m.AddOperator(Op::HARD_SWISH, {x}, {a}, nullptr);
    m.AddOperator(Op::TANH, {a}, {b}, nullptr);
    m.AddOperator(Op::LOGISTIC, {b}, {c}, nullptr);
    m.AddOperator(Op::LEAKY_RELU, {c}, {y}, OptionsFor(Op::LEAKY_RELU, 0.1f));
    ExpectMatchesReference(m.Build(), {RandomFor(s, 7)}, std::string("chain ") + DTypeName(type),
                           f ? kActivationAtol : -1);
  }
}

TEST(OptimizedSoftmax, Float) {
  std::mt19937 rng(47);
  uint32_t seed = 300;
  for (int32_t depth : Sizes()) {
    const int32_t rows = 1 + static_cast<int32_t>(rng() % 3);
    const float beta = std::vector<float>{1.0f, 0.5f, 2.5f}[rng() % 3];
    const TSpec s = F32({rows, depth});
    ModelBuilder m;
    const int x = AddIn(m, s), y = AddOut(m, s);
    m.AddOperator(Op::SOFTMAX, {x}, {y}, OptionsFor(Op::SOFTMAX, beta));
    ExpectMatchesReference(m.Build(), {RandomFor(s, seed++, -20.0, 20.0)},
                           "SOFTMAX " + std::to_string(rows) + "x" + std::to_string(depth),
                           kSoftmaxAtol, kSoftmaxRtol + kSoftmaxRtolPerElement * depth);
  }
}

// MEAN (and float SUM) over spatial axes with keep_dims (global average pooling) and other axis
// sets, odd channel counts, batches; float, int8 (spatial rescale, equal parameters, float
// rescale) and uint8.
TEST(OptimizedMean, AxesAndTypes) {
  std::mt19937 rng(53);
  uint32_t seed = 600;
  struct Case {
    std::vector<int32_t> shape, axes;
    bool keep;
  };
  std::vector<Case> cases;
  for (int32_t c : {1, 3, 7, 8, 9, 15, 16, 17, 31, 32, 33, 63, 64, 65, 70, 1280}) {
    cases.push_back({{1 + static_cast<int32_t>(rng() % 2), 7, 5, c}, {1, 2}, true});
  }
  cases.push_back({{2, 3, 4, 33}, {2, 1}, true});
  cases.push_back({{2, 3, 4, 33}, {1, 2}, false});
  cases.push_back({{2, 3, 4, 33}, {1}, true});
  cases.push_back({{2, 3, 4, 33}, {0}, false});
  cases.push_back({{2, 3, 4, 33}, {3}, false});  // innermost: a sum per row
  cases.push_back({{3, 28, 32}, {2}, true});     // LayerNormalization's MEAN
  cases.push_back({{2, 3, 4, 33}, {1, 3}, false});
  cases.push_back({{5, 1, 40}, {0, 1}, true});
  for (const Case& k : cases) {
    std::vector<bool> r(k.shape.size(), false);
    for (int32_t a : k.axes) r[a] = true;
    std::vector<int32_t> oshape;
    for (size_t d = 0; d < k.shape.size(); ++d) {
      if (!r[d]) oshape.push_back(k.shape[d]);
      if (r[d] && k.keep) oshape.push_back(1);
    }
    for (int variant = 0; variant < 5; ++variant) {  // f32 mean, f32 sum, int8 x2, uint8
      const Op op = variant == 1 ? Op::SUM : Op::MEAN;
      TSpec in = F32(k.shape), out = F32(oshape);
      if (variant >= 2) {
        const DType type = variant == 4 ? DType::kUInt8 : DType::kInt8;
        const int32_t base = type == DType::kUInt8 ? 128 : 0;
        in = Q(type, k.shape, 0.02f + 0.001f * static_cast<float>(rng() % 50),
               base + static_cast<int32_t>(rng() % 41) - 20);
        out = variant == 3 ? Q(type, oshape, in.scale, in.zero_point)
                           : Q(type, oshape, 0.01f + 0.001f * static_cast<float>(rng() % 50),
                               base + static_cast<int32_t>(rng() % 41) - 20);
      }
      ModelBuilder m;
      const int x = AddIn(m, in);
      const int ax =
          m.AddConstant<int32_t>(DType::kInt32, {static_cast<int32_t>(k.axes.size())}, k.axes);
      m.AddOperator(op, {x, ax}, {AddOut(m, out)}, [keep = k.keep](fb::FlatBufferBuilder& b) {
        return MakeOptions(tflite::BuiltinOptions::ReducerOptions,
                           tflite::CreateReducerOptions(b, keep));
      });
      std::string what =
          std::string(tflite::EnumNameBuiltinOperator(op)) + " " + DTypeName(in.type) + " shape";
      for (int32_t d : k.shape) what += " " + std::to_string(d);
      what += " axes";
      for (int32_t a : k.axes) what += " " + std::to_string(a);
      ExpectMatchesReference(m.Build(), {RandomFor(in, seed++, -5.0, 5.0)}, what);
    }
  }
}

// The microkernels called directly, in place, against scalar formulas.
TEST(OptimizedActivation, MicrokernelsInPlace) {
  for (const rt::CpuInfo& cpu : OptimizedLevels()) {
    const rt::uk::VUnaryConfig* cfg = rt::uk::GetVUnaryConfig(cpu);
    if (cfg == nullptr) continue;
    for (size_t n : {1, 3, 4, 5, 8, 15, 16, 17, 31, 32, 33, 70}) {
      std::vector<float> x(n);
      for (size_t i = 0; i < n; ++i) x[i] = static_cast<float>(static_cast<int>(i * 37 % 29) - 14);
      rt::uk::F32UnaryParams p;
      p.min = -1.0f;
      p.max = 6.0f;
      p.alpha = 0.25f;
      if (cfg->hswish != nullptr) {
        std::vector<float> y = x;
        cfg->hswish(n, y.data(), y.data(), &p);
        for (size_t i = 0; i < n; ++i) {
          EXPECT_EQ(y[i], x[i] * std::min(6.0f, std::max(0.0f, x[i] + 3.0f)) / 6.0f) << n;
        }
        y = x;
        cfg->lrelu(n, y.data(), y.data(), &p);
        for (size_t i = 0; i < n; ++i) EXPECT_EQ(y[i], x[i] > 0 ? x[i] : x[i] * 0.25f) << n;
        y = x;
        cfg->tanh(n, y.data(), y.data(), &p);
        for (size_t i = 0; i < n; ++i) EXPECT_NEAR(y[i], std::tanh(x[i]), kActivationAtol) << n;
        y = x;
        cfg->sigmoid(n, y.data(), y.data(), &p);
        for (size_t i = 0; i < n; ++i) {
          EXPECT_NEAR(y[i], 1.0f / (1.0f + std::exp(-x[i])), kActivationAtol) << n;
        }
        y = x;
        const float max = cfg->rmax(n, y.data());
        EXPECT_EQ(max, *std::max_element(x.begin(), x.end()));
        const float sum = cfg->raddstoreexp(n, y.data(), max, 1.0f, y.data());
        double want = 0;
        for (size_t i = 0; i < n; ++i) {
          EXPECT_NEAR(y[i], std::exp(x[i] - max), 1e-6 * std::exp(x[i] - max)) << n;
          want += std::exp(x[i] - max);
        }
        EXPECT_NEAR(sum, want, 1e-5 * want) << n;
        y = x;  // in place, as the softmax scales its row
        cfg->vscale(n, y.data(), y.data(), &p);
        for (size_t i = 0; i < n; ++i) EXPECT_EQ(y[i], x[i] * 0.25f) << n;
      }
      if (cfg->clamp != nullptr) {
        std::vector<float> y = x;
        cfg->clamp(n, y.data(), y.data(), &p);
        for (size_t i = 0; i < n; ++i) EXPECT_EQ(y[i], std::min(6.0f, std::max(-1.0f, x[i])));
      }
      std::vector<uint8_t> table(256), bytes(n);
      for (int i = 0; i < 256; ++i) table[i] = static_cast<uint8_t>(i * 7 + 3);
      for (size_t i = 0; i < n; ++i) bytes[i] = static_cast<uint8_t>(i * 13);
      cfg->lut(n, bytes.data(), bytes.data(), table.data());
      for (size_t i = 0; i < n; ++i) EXPECT_EQ(bytes[i], table[static_cast<uint8_t>(i * 13)]);
    }
  }
}

}  // namespace
}  // namespace testing
}  // namespace edgeopt
