// The interpreter's ADD fusion (InterpreterOptions::fuse_ops, Registration::fuse_add), and its
// activation fusion after a TRANSPOSE_CONV (Registration::fuse_activation), at the end: a float
// ADD folded into the CONV_2D before it must give the same bits as the two ops run apart, on the
// direct and the IGEMM kernels, with every activation, both operand orders and 1 or 2 threads;
// and the sparse KxK kernel of a pruned filter; and it must not happen where the convolution's
// output is needed elsewhere.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "src/runtime/interpreter.h"
#include "src/runtime/kernels/conv_test_util.h"
#include "src/runtime/kernels/elem_test_util.h"
#include "src/runtime/kernels/sparse_matmul.h"
#include "src/runtime/kernels/sparse_test_util.h"
#include "tests/model_builder.h"

namespace edgeopt {
namespace testing {
namespace {

using Op = tflite::BuiltinOperator;

OptionsFn ConvOptions(int stride, tflite::Padding padding = tflite::Padding::SAME) {
  return [=](flatbuffers::FlatBufferBuilder& fb) {
    return MakeOptions(tflite::BuiltinOptions::Conv2DOptions,
                       tflite::CreateConv2DOptions(fb, padding, stride, stride));
  };
}

OptionsFn AddOptions(tflite::ActivationFunctionType act) {
  return [=](flatbuffers::FlatBufferBuilder& fb) {
    return MakeOptions(tflite::BuiltinOptions::AddOptions, tflite::CreateAddOptions(fb, act));
  };
}

std::vector<float> Random(size_t n, uint32_t seed, float scale) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> u(-scale, scale);
  std::vector<float> v(n);
  for (float& x : v) x = u(rng);
  return v;
}

// A float convolution [1, h, w, c] -> [1, h/stride, w/stride, out_c] with random weights.
int AddConv(ModelBuilder* m, int input, int h, int w, int c, int out_c, int k, int stride,
            uint32_t seed, int output = -1, double density = 1.0) {
  std::vector<float> weights = Random(static_cast<size_t>(out_c) * k * k * c, seed, 0.3f);
  if (density < 1.0) rt::PruneRandomly(&weights, density, seed + 7);
  const int w_t = m->AddConstant(DType::kFloat32, {out_c, k, k, c}, weights);
  const int b_t = m->AddConstant(DType::kFloat32, {out_c}, Random(out_c, seed + 1, 0.5f));
  if (output < 0) {
    output = m->AddTensor(DType::kFloat32,
                          {1, (h + stride - 1) / stride, (w + stride - 1) / stride, out_c});
  }
  m->AddOperator(Op::CONV_2D, {input, w_t, b_t}, {output}, ConvOptions(stride));
  return output;
}

struct Case {
  std::string name;
  int h, w, c, out_c, k, stride;
  bool residual_is_input;  // ADD(conv2, x) rather than ADD(conv2, conv1)
  bool residual_first;     // ADD(r, conv2) rather than ADD(conv2, r)
  tflite::ActivationFunctionType act;
  double density = 1.0;  // conv2's nonzero weights (< 1: the sparse KxK kernel)
};

// x -> conv1 (3x3, c -> out_c... kept at c) -> conv2 (k x k, stride) -> ADD with a residual.
// With stride 2 the residual is a 1x1 stride-2 shortcut conv of x run after conv2 (ResNet's
// downsampling block), so the ADD folds into the shortcut.
std::vector<uint8_t> Block(const Case& k) {
  ModelBuilder m;
  const int x = m.AddInput(DType::kFloat32, {1, k.h, k.w, k.c});
  const int oh = (k.h + k.stride - 1) / k.stride, ow = (k.w + k.stride - 1) / k.stride;
  const int y = m.AddOutput(DType::kFloat32, {1, oh, ow, k.out_c});
  int a = x, b, r;
  if (k.stride == 1) {
    if (!k.residual_is_input) a = AddConv(&m, x, k.h, k.w, k.c, k.c, 3, 1, 11);
    b = AddConv(&m, a, k.h, k.w, k.c, k.out_c, k.k, 1, 21, -1, k.density);
    r = a;  // x or conv1: c == out_c for these cases
  } else {
    r = AddConv(&m, x, k.h, k.w, k.c, k.out_c, k.k, 2, 31);  // main path
    b = AddConv(&m, x, k.h, k.w, k.c, k.out_c, 1, 2, 41);    // shortcut, run last
  }
  if (k.residual_first) {
    m.AddOperator(Op::ADD, {r, b}, {y}, AddOptions(k.act));
  } else {
    m.AddOperator(Op::ADD, {b, r}, {y}, AddOptions(k.act));
  }
  return m.Build();
}

// The output after two invokes (the second must not see anything the first left behind) and
// the node names; T is the model's input and output element type.
template <typename T>
struct Result {
  std::vector<T> out;
  std::vector<std::string> names;
  std::vector<std::string> kernels;  // Interpreter::node_kernel
};

template <typename T>
Result<T> RunModel(const std::vector<uint8_t>& model, const std::vector<T>& input, bool fuse,
                   int threads, const rt::CpuInfo* cpu = nullptr, bool optimized = true) {
  rt::InterpreterOptions o;
  o.fuse_ops = fuse;
  o.num_threads = threads;
  o.cpu = cpu;
  o.use_optimized_kernels = optimized;
  auto interp = rt::Interpreter::Create(model.data(), model.size(), o);
  EXPECT_TRUE(interp.ok()) << interp.status().ToString();
  Result<T> r;
  if (!interp.ok()) return r;
  rt::Interpreter* it = interp->get();
  std::memcpy(it->input_tensor(0)->data, input.data(), input.size() * sizeof(T));
  for (int run = 0; run < 2; ++run) {
    EXPECT_TRUE(it->Invoke().ok());
    const rt::Tensor* out = it->output_tensor(0);
    const T* p = reinterpret_cast<const T*>(out->data);
    r.out.assign(p, p + out->dims.NumElements());
  }
  for (int i = 0; i < it->num_nodes(); ++i) {
    r.names.push_back(it->node_name(i));
    r.kernels.push_back(it->node_kernel(i));
  }
  return r;
}

template <typename T>
int CountFused(const Result<T>& r) {
  int n = 0;
  for (const std::string& s : r.names) n += s == "CONV_2D+ADD";
  return n;
}

// Runs `model` with the ops apart and fused, on every CPU level with 1 and 2 threads: only a
// convolution on the microkernels fuses (the scalar level runs the reference); then
// check(apart, fused).
template <typename T, typename F>
void ApartAndFusedOnEveryLevel(const std::vector<uint8_t>& model, const std::vector<T>& input,
                               F&& check) {
  for (const rt::CpuInfo& cpu : OptimizedLevels()) {
    for (int threads : {1, 2}) {
      SCOPED_TRACE(threads);
      const Result<T> apart = RunModel(model, input, false, threads, &cpu);
      const Result<T> fused = RunModel(model, input, true, threads, &cpu);
      EXPECT_EQ(CountFused(apart), 0);
      const bool microkernels = cpu.UseAvx2() || cpu.UseNeon();
      EXPECT_EQ(CountFused(fused), microkernels ? 1 : 0) << "avx512 " << cpu.UseAvx512();
      check(apart, fused);
    }
  }
}

TEST(FuseAdd, SameBitsAsTheOpsApart) {
  using A = tflite::ActivationFunctionType;
  const std::vector<Case> cases = {
      {"direct3x3_conv_residual", 12, 13, 16, 16, 3, 1, false, false, A::NONE},
      {"direct3x3_input_residual_relu", 9, 20, 16, 16, 3, 1, true, true, A::RELU},
      {"igemm1x1_relu6", 7, 11, 24, 24, 1, 1, false, true, A::RELU6},
      {"igemm3x3_wide_relu_n1", 6, 7, 40, 40, 3, 1, true, false, A::RELU_N1_TO_1},
      {"downsample_shortcut", 15, 16, 16, 32, 3, 2, false, false, A::RELU},
      {"downsample_shortcut_first", 8, 9, 32, 64, 3, 2, false, true, A::NONE},
      {"sparse3x3_conv_residual_relu", 12, 13, 16, 16, 3, 1, false, false, A::RELU, 0.05},
      {"sparse3x3_input_residual_first", 9, 40, 24, 24, 3, 1, true, true, A::NONE, 0.1},
      {"pointwise_few_channels_input_residual_relu", 9, 11, 3, 3, 1, 1, true, false, A::RELU},
  };
  for (const Case& k : cases) {
    SCOPED_TRACE(k.name);
    const std::vector<uint8_t> model = Block(k);
    const std::vector<float> input = Random(static_cast<size_t>(k.h) * k.w * k.c, 7, 1.0f);
    ApartAndFusedOnEveryLevel(
        model, input, [&](const Result<float>& apart, const Result<float>& fused) {
          ASSERT_EQ(apart.out.size(), fused.out.size());
          ASSERT_FALSE(fused.out.empty());
          // The pruned convolution that took the ADD runs the sparse kernel (AVX2, AVX-512 and
          // NEON have one; the portable build runs the IGEMM kernel).
          const bool sparse_simd = rt::SparseIsaFor(rt::GetCpuInfo()) != rt::SparseIsa::kScalar;
          for (size_t i = 0; i < fused.names.size() && k.density < 1.0 && sparse_simd; ++i) {
            if (fused.names[i] != "CONV_2D+ADD") continue;
            EXPECT_EQ(fused.kernels[i].rfind("sparse kxk", 0), 0u) << fused.kernels[i];
          }
          // A 1x1 convolution to 3 channels runs the few-channel kernel, which takes the ADD too.
          for (size_t i = 0; i < fused.names.size() && k.out_c <= 4; ++i) {
            if (fused.names[i] != "CONV_2D+ADD") continue;
            EXPECT_EQ(fused.kernels[i], "pointwise few channels");
          }
          EXPECT_EQ(
              std::memcmp(apart.out.data(), fused.out.data(), apart.out.size() * sizeof(float)), 0);
          // The ADD ran: the activation's clamp shows and the values are not the convolution's.
          float lo = fused.out[0];
          for (float v : fused.out) lo = std::min(lo, v);
          if (k.act == A::RELU || k.act == A::RELU6) {
            EXPECT_GE(lo, 0.0f);
          } else if (k.act == A::NONE) {
            EXPECT_LT(lo, 0.0f);
          }
        });
  }
}

TEST(FuseAdd, MatchesTheReferenceKernels) {
  const Case k{"ref", 10, 10, 16, 16, 3, 1, false, false, tflite::ActivationFunctionType::RELU};
  const std::vector<uint8_t> model = Block(k);
  const std::vector<float> input = Random(10 * 10 * 16, 3, 1.0f);
  const Result<float> fused = RunModel(model, input, true, 2);
  rt::InterpreterOptions o;
  o.use_optimized_kernels = false;
  auto ref = rt::Interpreter::Create(model.data(), model.size(), o);
  ASSERT_TRUE(ref.ok());
  std::memcpy((*ref)->input_tensor(0)->data, input.data(), input.size() * sizeof(float));
  ASSERT_TRUE((*ref)->Invoke().ok());
  const float* want = (*ref)->output_tensor(0)->Data<float>();
  ASSERT_EQ(fused.out.size(), input.size());
  for (size_t i = 0; i < fused.out.size(); ++i) {
    ASSERT_NEAR(fused.out[i], want[i], 1e-4f * (1.0f + std::abs(want[i]))) << i;
  }
}

// x -> conv -> t; ADD(t, x) -> y, where t is also needed elsewhere.
TEST(FuseAdd, NotWhenTheConvolutionOutputIsReadElsewhere) {
  const auto act = tflite::ActivationFunctionType::NONE;
  const std::vector<float> input = Random(8 * 8 * 16, 5, 1.0f);
  {  // t is a graph output too
    ModelBuilder m;
    const int x = m.AddInput(DType::kFloat32, {1, 8, 8, 16});
    const int t = m.AddOutput(DType::kFloat32, {1, 8, 8, 16});
    AddConv(&m, x, 8, 8, 16, 16, 3, 1, 1, t);
    const int y = m.AddOutput(DType::kFloat32, {1, 8, 8, 16});
    m.AddOperator(Op::ADD, {t, x}, {y}, AddOptions(act));
    EXPECT_EQ(CountFused(RunModel(m.Build(), input, true, 1)), 0);
  }
  {  // t feeds a second ADD
    ModelBuilder m;
    const int x = m.AddInput(DType::kFloat32, {1, 8, 8, 16});
    const int t = AddConv(&m, x, 8, 8, 16, 16, 3, 1, 1);
    const int y = m.AddTensor(DType::kFloat32, {1, 8, 8, 16});
    m.AddOperator(Op::ADD, {t, x}, {y}, AddOptions(act));
    const int z = m.AddOutput(DType::kFloat32, {1, 8, 8, 16});
    m.AddOperator(Op::ADD, {y, t}, {z}, AddOptions(act));
    const std::vector<uint8_t> model = m.Build();
    const Result<float> fused = RunModel(model, input, true, 1);
    EXPECT_EQ(CountFused(fused), 0);
    EXPECT_EQ(fused.out, RunModel(model, input, false, 1).out);
  }
  {  // a broadcast ADD (a per-channel constant): not a residual
    ModelBuilder m;
    const int x = m.AddInput(DType::kFloat32, {1, 8, 8, 16});
    const int t = AddConv(&m, x, 8, 8, 16, 16, 3, 1, 1);
    const int c = m.AddConstant(DType::kFloat32, {16}, Random(16, 9, 1.0f));
    const int y = m.AddOutput(DType::kFloat32, {1, 8, 8, 16});
    m.AddOperator(Op::ADD, {t, c}, {y}, AddOptions(act));
    EXPECT_EQ(CountFused(RunModel(m.Build(), input, true, 1)), 0);
  }
}

// The int8 / uint8 block: x -> conv1 (3x3) -> conv2 (k x k) -> ADD(conv2, conv1 or x), with
// different scales and zero points on every tensor so that the ADD's two rescales differ.
struct QCase {
  std::string name;
  DType type;  // kInt8 (per-channel weights) or kUInt8 (per-tensor weights with a zero point)
  int h, w, c, out_c, k;
  bool residual_is_input, residual_first;
  tflite::ActivationFunctionType act;
};

int AddQConv(ModelBuilder* m, const QCase& k, int input, float in_scale, int in_c, int out_c,
             int ksize, uint32_t seed, float out_scale, int64_t out_zp) {
  std::mt19937 rng(seed);
  const bool u8 = k.type == DType::kUInt8;
  const size_t n = static_cast<size_t>(out_c) * ksize * ksize * in_c;
  std::vector<float> w_scales;
  std::vector<int64_t> w_zps;
  std::vector<int8_t> w(n);
  for (int8_t& v : w) v = static_cast<int8_t>(static_cast<int>(rng() % 255) - 127);
  int w_t;
  if (u8) {
    w_scales = {0.004f};
    w_zps = {120};
    std::vector<uint8_t> wu(n);
    for (size_t i = 0; i < n; ++i) wu[i] = static_cast<uint8_t>(w[i] + 128);
    w_t = m->AddConstant(DType::kUInt8, {out_c, ksize, ksize, in_c}, wu, w_scales, w_zps);
  } else {
    for (int o = 0; o < out_c; ++o) w_scales.push_back(0.002f + 0.0005f * (o % 7));
    w_zps.assign(out_c, 0);
    w_t = m->AddConstant(DType::kInt8, {out_c, ksize, ksize, in_c}, w, w_scales, w_zps, 0);
  }
  std::vector<int32_t> bias(out_c);
  std::vector<float> b_scales;
  for (int o = 0; o < out_c; ++o) {
    bias[o] = static_cast<int32_t>(rng() % 2001) - 1000;
    b_scales.push_back(in_scale * w_scales[u8 ? 0 : o]);
  }
  const int b_t = m->AddConstant(DType::kInt32, {out_c}, bias, b_scales,
                                 std::vector<int64_t>(b_scales.size(), 0), 0);
  const int out = m->AddTensor(k.type, {1, k.h, k.w, out_c}, {out_scale}, {out_zp});
  m->AddOperator(Op::CONV_2D, {input, w_t, b_t}, {out}, ConvOptions(1));
  return out;
}

std::vector<uint8_t> QBlock(const QCase& k) {
  const bool u8 = k.type == DType::kUInt8;
  const int64_t zx = u8 ? 131 : 3, z1 = u8 ? 120 : -7, z2 = u8 ? 140 : 11, zy = u8 ? 125 : -2;
  ModelBuilder m;
  const int x = m.AddInput(k.type, {1, k.h, k.w, k.c}, {0.02f}, {zx});
  const int y = m.AddOutput(k.type, {1, k.h, k.w, k.out_c}, {0.07f}, {zy});
  int r = x;
  float r_scale = 0.02f;
  if (!k.residual_is_input) {
    r = AddQConv(&m, k, x, 0.02f, k.c, k.c, 3, 11, 0.05f, z1);
    r_scale = 0.05f;
  }
  const int b = AddQConv(&m, k, r, r_scale, k.c, k.out_c, k.k, 21, 0.04f, z2);
  if (k.residual_first) {
    m.AddOperator(Op::ADD, {r, b}, {y}, AddOptions(k.act));
  } else {
    m.AddOperator(Op::ADD, {b, r}, {y}, AddOptions(k.act));
  }
  return m.Build();
}

// A fused int8 or uint8 ADD runs the ADD's own microkernel on each output tile: the same bytes
// as the ops apart and as the reference kernels, on every CPU level, with 1 and 2 threads.
TEST(FuseAdd, QuantizedSameBytesAsTheOpsApartAndTheReference) {
  using A = tflite::ActivationFunctionType;
  const std::vector<QCase> cases = {
      {"int8_1x1_conv_residual", DType::kInt8, 9, 10, 24, 24, 1, false, false, A::NONE},
      {"int8_3x3_input_residual_first_relu", DType::kInt8, 8, 11, 16, 16, 3, true, true, A::RELU},
      {"int8_3x3_wide_relu6", DType::kInt8, 7, 6, 72, 72, 3, false, true, A::RELU6},
      {"int8_3x3_odd_channels", DType::kInt8, 6, 9, 20, 20, 3, false, false, A::NONE},
      {"int8_3x3_two_channels_im2col", DType::kInt8, 9, 7, 2, 2, 3, true, false, A::RELU},
      {"uint8_1x1_relu", DType::kUInt8, 10, 7, 32, 32, 1, true, false, A::RELU},
      {"uint8_3x3_first", DType::kUInt8, 5, 8, 24, 24, 3, false, true, A::NONE},
  };
  for (const QCase& k : cases) {
    SCOPED_TRACE(k.name);
    const std::vector<uint8_t> model = QBlock(k);
    std::mt19937 rng(5);
    std::vector<uint8_t> input(static_cast<size_t>(k.h) * k.w * k.c);
    for (uint8_t& v : input) v = static_cast<uint8_t>(rng());
    const Result<uint8_t> ref = RunModel(model, input, false, 1, nullptr, /*optimized=*/false);
    ASSERT_EQ(ref.out.size(), static_cast<size_t>(k.h) * k.w * k.out_c);
    EXPECT_EQ(CountFused(ref), 0);
    ApartAndFusedOnEveryLevel(model, input,
                              [&](const Result<uint8_t>& apart, const Result<uint8_t>& fused) {
                                EXPECT_EQ(apart.out, ref.out);
                                EXPECT_EQ(fused.out, ref.out);
                              });
  }
}

// x -> TRANSPOSE_CONV (stride 2, `filter` x `filter`, c -> out_c) -> t -> activation -> y
// (TFLite 2.9's TRANSPOSE_CONV has no fused activation: converters write a separate one).
// `t_is_output`: t is a graph output too.
std::vector<uint8_t> TransposeConvThen(Op act, int filter, bool t_is_output = false) {
  const int h = 9, w = 10, c = 8, out_c = 12;
  ModelBuilder m;
  const int x = m.AddInput(DType::kFloat32, {1, h, w, c});
  const int shape = m.AddConstant(DType::kInt32, {4}, std::vector<int32_t>{1, 2 * h, 2 * w, out_c});
  const int wt = m.AddConstant(DType::kFloat32, {out_c, filter, filter, c},
                               Random(static_cast<size_t>(out_c) * filter * filter * c, 3, 0.5f));
  const int b = m.AddConstant(DType::kFloat32, {out_c}, Random(out_c, 4, 0.5f));
  const int t = t_is_output ? m.AddOutput(DType::kFloat32, {1, 2 * h, 2 * w, out_c})
                            : m.AddTensor(DType::kFloat32, {1, 2 * h, 2 * w, out_c});
  m.AddOperator(Op::TRANSPOSE_CONV, {shape, wt, x, b}, {t},
                conv::TransposeConvOptions(tflite::Padding::SAME, 2, 2));
  const int y = m.AddOutput(DType::kFloat32, {1, 2 * h, 2 * w, out_c});
  m.AddOperator(act, {t}, {y});
  return m.Build();
}

// A RELU, RELU6 or RELU_N1_TO_1 after a float TRANSPOSE_CONV runs in its output stage
// (Registration::fuse_activation): the same bits as the ops apart, on every CPU level and the
// reference kernels, 1 and 2 threads, both the one-product (2x2) and the gather (3x3) paths.
TEST(FuseActivation, TransposeConvSameBitsAsTheOpsApart) {
  const std::vector<float> input = Random(9 * 10 * 8, 6, 8.0f);
  for (Op act : {Op::RELU, Op::RELU6, Op::RELU_N1_TO_1}) {
    for (int filter : {2, 3}) {
      SCOPED_TRACE(::testing::Message() << tflite::EnumNameBuiltinOperator(act) << " " << filter);
      const std::vector<uint8_t> model = TransposeConvThen(act, filter);
      const std::string name =
          std::string("TRANSPOSE_CONV+") + tflite::EnumNameBuiltinOperator(act);
      std::vector<rt::CpuInfo> levels = OptimizedLevels();
      levels.push_back(rt::ScalarCpuInfo());
      for (const rt::CpuInfo& cpu : levels) {
        for (int threads : {1, 2}) {
          const Result<float> apart = RunModel(model, input, false, threads, &cpu);
          const Result<float> fused = RunModel(model, input, true, threads, &cpu);
          ASSERT_EQ(apart.names.size(), 2u);
          ASSERT_EQ(fused.names.size(), 2u);
          EXPECT_EQ(fused.names[0], name);
          ASSERT_EQ(apart.out.size(), fused.out.size());
          ASSERT_FALSE(fused.out.empty());
          EXPECT_EQ(
              std::memcmp(apart.out.data(), fused.out.data(), apart.out.size() * sizeof(float)), 0);
          // The clamp ran: the values reach the activation's bounds, and not past them.
          const auto [lo, hi] = std::minmax_element(fused.out.begin(), fused.out.end());
          EXPECT_EQ(*lo, act == Op::RELU_N1_TO_1 ? -1.0f : 0.0f);
          if (act != Op::RELU) {
            EXPECT_EQ(*hi, act == Op::RELU6 ? 6.0f : 1.0f);
          }
        }
      }
      const Result<float> ref = RunModel(model, input, true, 1, nullptr, false);
      EXPECT_EQ(ref.names[0], name);
      EXPECT_EQ(ref.out, RunModel(model, input, false, 1, nullptr, false).out);
    }
  }
}

// Not when the TRANSPOSE_CONV's output is also a graph output.
TEST(FuseActivation, NotWhenTheOutputIsReadElsewhere) {
  const std::vector<float> input = Random(9 * 10 * 8, 6, 8.0f);
  const Result<float> r = RunModel(TransposeConvThen(Op::RELU, 2, true), input, true, 1);
  ASSERT_EQ(r.names.size(), 2u);
  EXPECT_EQ(r.names[0], "TRANSPOSE_CONV");
  EXPECT_EQ(r.names[1], "RELU");
}

// Calibration reads every tensor: the debugging planner keeps them all, so it never fuses.
TEST(FuseAdd, NotWithTheLinearPlanner) {
  const Case k{"linear", 8, 8, 16, 16, 3, 1, false, false, tflite::ActivationFunctionType::NONE};
  const std::vector<uint8_t> model = Block(k);
  rt::InterpreterOptions o;
  o.linear_planner = true;
  auto interp = rt::Interpreter::Create(model.data(), model.size(), o);
  ASSERT_TRUE(interp.ok());
  for (int i = 0; i < (*interp)->num_nodes(); ++i) {
    EXPECT_EQ(std::string((*interp)->node_name(i)).find("+ADD"), std::string::npos);
  }
}

}  // namespace
}  // namespace testing
}  // namespace edgeopt
