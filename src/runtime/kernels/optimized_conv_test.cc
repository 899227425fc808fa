// The microkernel paths of CONV_2D, DEPTHWISE_CONV_2D and FULLY_CONNECTED against the reference
// kernels, on random shapes around every tile size (MR/NR/channel blocks: tile-1, tile, tile+1,
// multiples), for every ISA level this machine can run (EDGEOPT_CPU-style caps) and 1 and 2
// threads. Integer outputs must be identical (the kernels reproduce the reference rounding);
// hybrid outputs too (same integer math, same float operations); float outputs agree within
// a relative 1e-5 (FMA and summation order differ).
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "src/quant/quant_math.h"
#include "src/runtime/cpu_info.h"
#include "src/runtime/kernels/conv_common.h"
#include "src/runtime/kernels/conv_test_util.h"
#include "src/runtime/kernels/reference/requantize.h"
#include "src/runtime/kernels/ukernels/configs.h"

namespace edgeopt {
namespace testing {
namespace {

using conv::OpConfig;
using conv::Variant;
using Op = tflite::BuiltinOperator;
using Act = tflite::ActivationFunctionType;

constexpr double kFloatRelTol = 1e-5;

struct Level {
  const char* name;
  rt::CpuInfo cpu;
};

// The ISA levels to test: the machine's own, each lower cap that still has microkernels, and
// scalar (the optimized kernels' fallback to the reference).
std::vector<Level> Levels() {
  std::vector<Level> levels;
  const rt::CpuInfo& native = rt::GetCpuInfo();
  if (native.UseAvx512()) levels.push_back({"avx512", native});
  if (native.UseAvx2()) {
    rt::CpuInfo c = native;
    c.avx512f = c.avx512bw = c.avx512vl = c.avx512dq = c.avx512vnni = false;
    if (c.UseAvxVnni()) levels.push_back({"avxvnni", c});  // AVX2 with the VEX-encoded VNNI
    c.avxvnni = false;
    levels.push_back({"avx2", c});
  }
  if (native.UseNeon()) levels.push_back({"neon", native});
  if (native.UseNeon() && native.neon_dotprod) {
    rt::CpuInfo c = native;
    c.neon_dotprod = false;
    levels.push_back({"neon-nodot", c});
  }
  levels.push_back({"scalar", rt::ScalarCpuInfo()});  // no microkernels: the fallback path
  return levels;
}

// Element-wise agreement; returns the number of mismatches (prints the first few).
int Compare(const NpyArray& ours, const NpyArray& ref, bool exact_float, const std::string& what) {
  EXPECT_EQ(ours.dtype, ref.dtype) << what;
  EXPECT_EQ(ours.data.size(), ref.data.size()) << what;
  if (ours.dtype != ref.dtype || ours.data.size() != ref.data.size()) return 1;
  int bad = 0;
  const int64_t n = ref.NumElements();
  for (int64_t i = 0; i < n; ++i) {
    bool ok = true;
    double a = 0, b = 0;
    switch (ref.dtype) {
      case DType::kFloat32:
        a = ours.Data<float>()[i];
        b = ref.Data<float>()[i];
        ok = exact_float ? a == b : std::abs(a - b) <= kFloatRelTol * std::max(1.0, std::abs(b));
        break;
      case DType::kInt8:
        a = ours.Data<int8_t>()[i];
        b = ref.Data<int8_t>()[i];
        ok = a == b;
        break;
      case DType::kUInt8:
        a = ours.Data<uint8_t>()[i];
        b = ref.Data<uint8_t>()[i];
        ok = a == b;
        break;
      default:
        ok = std::memcmp(ours.data.data(), ref.data.data(), ref.data.size()) == 0;
        break;
    }
    if (!ok && bad++ < 5) {
      ADD_FAILURE() << what << ": element " << i << " is " << a << ", reference " << b;
    }
  }
  return bad;
}

// Runs `c` with the reference kernels and with the microkernels at every level and thread
// count; expects agreement (float: bit-exact with `exact_float`, else within kFloatRelTol).
void ExpectOptimizedMatchesReference(const OpConfig& c, bool exact_float = false) {
  const conv::BuiltOp built = conv::BuildOp(c);
  rt::InterpreterOptions ref_options;
  ref_options.use_optimized_kernels = false;
  auto ref = RunEdgeopt(built.model, built.inputs, ref_options);
  ASSERT_TRUE(ref.ok()) << c.Describe() << ": " << ref.status().ToString();
  const bool exact = exact_float || c.variant != Variant::kFloat;
  for (const Level& level : Levels()) {
    for (int threads : {1, 2}) {
      rt::InterpreterOptions options;
      options.exact_float = exact_float;
      options.cpu = &level.cpu;
      options.num_threads = threads;
      auto ours = RunEdgeopt(built.model, built.inputs, options);
      const std::string what =
          c.Describe() + " [" + level.name + ", " + std::to_string(threads) + " threads]";
      ASSERT_TRUE(ours.ok()) << what << ": " << ours.status().ToString();
      ASSERT_EQ(ours->size(), ref->size());
      for (size_t i = 0; i < ref->size(); ++i) {
        if (Compare((*ours)[i], (*ref)[i], exact, what) > 0) return;
      }
    }
  }
}

// Each level really runs its own ISA's microkernels (so the tests below cover every path), and
// the scalar level none.
TEST(UkernelConfigs, EachLevelPicksItsIsa) {
  for (const Level& level : Levels()) {
    SCOPED_TRACE(level.name);
    // The ISA family ("neon-nodot" runs NEON kernels too).
    const std::string isa = std::string(level.name).substr(0, std::string(level.name).find('-'));
    // AVX-VNNI has its own int8 GEMMs only; everything else is the AVX2 family's.
    const std::string family = isa == "avxvnni" ? "avx2" : isa;
    for (int n : {1, 16, 17, 32, 64, 100}) {
      const rt::uk::QS8GemmConfig* q = rt::uk::GetQS8GemmConfig(level.cpu, n);
      const rt::uk::F32GemmConfig* f = rt::uk::GetF32GemmConfig(level.cpu, n);
      if (isa == "scalar") {
        EXPECT_EQ(q, nullptr);
        EXPECT_EQ(f, nullptr);
        continue;
      }
      ASSERT_NE(q, nullptr);
      ASSERT_NE(f, nullptr);
      EXPECT_NE(std::string(q->name).find(isa), std::string::npos) << q->name;
      EXPECT_NE(std::string(f->name).find(family), std::string::npos) << f->name;
      EXPECT_EQ(q->nr % 16, 0);
      EXPECT_EQ(q->weight_bytes, isa == "avx2" ? 2 : 1);
    }
    const rt::uk::QS8DwConfig* qd = rt::uk::GetQS8DwConfig(level.cpu);
    const rt::uk::F32DwConfig* fd = rt::uk::GetF32DwConfig(level.cpu);
    const rt::uk::QuantElementwiseConfig* e = rt::uk::GetQuantElementwiseConfig(level.cpu);
    if (isa == "scalar") {
      EXPECT_EQ(qd, nullptr);
      EXPECT_EQ(fd, nullptr);
      EXPECT_EQ(e, nullptr);
      continue;
    }
    ASSERT_TRUE(qd != nullptr && fd != nullptr && e != nullptr);
    EXPECT_NE(std::string(qd->name).find(family), std::string::npos) << qd->name;
    EXPECT_NE(std::string(fd->name).find(family), std::string::npos) << fd->name;
    EXPECT_NE(std::string(e->name).find(family), std::string::npos) << e->name;
  }
}

const Variant kAllVariants[] = {
    Variant::kFloat, Variant::kInt8PerChannel,   Variant::kInt8PerTensor,
    Variant::kUInt8, Variant::kHybridPerChannel, Variant::kHybridPerTensor};

Act RandomAct(std::mt19937& rng) {
  const Act acts[] = {Act::NONE, Act::RELU, Act::RELU6, Act::RELU_N1_TO_1};
  return acts[rng() % 4];
}

// The common end of a random case: a random activation and bias, the next data seed, then the
// optimized kernels against the reference.
void CheckWithRandomActivationAndBias(std::mt19937& rng, uint32_t* seed, OpConfig c,
                                      bool exact_float = false) {
  c.activation = RandomAct(rng);
  c.bias = rng() % 4 != 0;
  c.seed = (*seed)++;
  SCOPED_TRACE(c.Describe());
  ExpectOptimizedMatchesReference(c, exact_float);
}

// Pointwise convolutions: pixel counts around the row tiles (12, 16), channel counts around
// the column tiles (16, 32) and the k4 packing.
TEST(OptimizedConv2D, PointwiseAroundTiles) {
  std::mt19937 rng(7);
  // Rows: AVX2 tiles are 2 (int) and 6 (float), AVX-512 ones 12 and 16.
  const int pixels[][2] = {{1, 1}, {1, 2},  {1, 3}, {1, 5},  {2, 3}, {1, 7}, {1, 11},
                           {3, 4}, {1, 13}, {4, 4}, {1, 17}, {5, 5}, {5, 7}};
  const int in_cs[] = {1, 3, 4, 5, 8, 16, 17, 33};
  const int out_cs[] = {1, 15, 16, 17, 31, 32, 33, 63, 64, 65, 128};
  uint32_t seed = 1;
  for (Variant v : kAllVariants) {
    for (int i = 0; i < 20; ++i) {
      OpConfig c;
      c.op = Op::CONV_2D;
      c.variant = v;
      c.batch = 1 + rng() % 2;
      const auto& px = pixels[rng() % 13];
      c.in_h = px[0];
      c.in_w = px[1];
      c.in_c = in_cs[rng() % 8];
      c.out_c = out_cs[rng() % 11];
      c.filter_h = c.filter_w = 1;
      c.padding = tflite::Padding::VALID;
      CheckWithRandomActivationAndBias(rng, &seed, c);
    }
  }
}

// Pointwise convolutions and FULLY_CONNECTED rows to at most 4 channels run the few-channel
// kernel (ukernels.h, F32PwFewArgs) where the CPU has one: pixel counts around its tiles of 8,
// 4 and 2 pixels, input channels around its 8 (AVX2) and 4 (NEON) lanes.
TEST(OptimizedConv2D, PointwiseFewChannels) {
  std::mt19937 rng(71);
  const int widths[] = {1, 2, 3, 5, 7, 8, 9, 15, 16, 17};
  const int in_cs[] = {1, 2, 3, 4, 5, 7, 8, 9, 16, 17, 33};
  uint32_t seed = 700;
  for (int i = 0; i < 40; ++i) {
    OpConfig c;
    c.op = i % 4 == 3 ? Op::FULLY_CONNECTED : Op::CONV_2D;
    c.variant = Variant::kFloat;
    c.batch = 1 + rng() % 2;
    c.in_h = 1 + rng() % 5;
    c.in_w = widths[rng() % 10];
    c.in_c = in_cs[rng() % 11];
    c.out_c = 1 + i % 4;
    c.filter_h = c.filter_w = 1;
    c.padding = tflite::Padding::VALID;
    if (i % 8 == 5) {  // a 5x5 filter over few channels (window rows, im2col): not this kernel
      c.filter_h = c.filter_w = 5;
      c.in_c = 1 + rng() % 4;
      c.in_h += 4;
      c.in_w += 4;
    }
    if (c.op == Op::FULLY_CONNECTED) {
      c.fc_in = c.in_c;
      c.fc_input = {8 + static_cast<int32_t>(rng() % 12), c.in_c};
    }
    CheckWithRandomActivationAndBias(rng, &seed, c);
  }
  // The kernel runs where it applies: at least 8 rows, at most 4 channels, not exact_float.
  if (rt::uk::GetF32PwFewFn(rt::GetCpuInfo()) == nullptr) return;
  auto kernel = [](int rows, int out_c, bool exact_float) {
    OpConfig c;
    c.op = Op::CONV_2D;
    c.variant = Variant::kFloat;
    c.in_h = 1;
    c.in_w = rows;
    c.in_c = 8;
    c.out_c = out_c;
    c.filter_h = c.filter_w = 1;
    c.padding = tflite::Padding::VALID;
    const conv::BuiltOp built = conv::BuildOp(c);
    rt::InterpreterOptions options;
    options.exact_float = exact_float;
    auto interp = rt::Interpreter::Create(built.model.data(), built.model.size(), options);
    EXPECT_TRUE(interp.ok()) << interp.status().ToString();
    return interp.ok() ? std::string((*interp)->node_kernel(0)) : std::string();
  };
  EXPECT_EQ(kernel(8, 1, false), "pointwise few channels");
  EXPECT_EQ(kernel(100, 4, false), "pointwise few channels");
  EXPECT_EQ(kernel(100, 5, false), "igemm");
  EXPECT_EQ(kernel(7, 2, false), "igemm");
  EXPECT_EQ(kernel(100, 2, true), "igemm");
}

// A float bias that another op computes (a graph input here): the microkernel paths pack or keep
// their bias at Prepare, before the arena holds it, so they leave such an op to the reference
// kernels, which read it at Eval. CONV_2D (1x1: the few-channel kernel, 3x3), DEPTHWISE_CONV_2D
// and FULLY_CONNECTED, float and hybrid (int8 weights: 4 and 5), at every ISA level.
TEST(OptimizedConv2D, FloatBiasFromAGraphInput) {
  for (int which = 0; which < 6; ++which) {
    const bool hybrid = which >= 4;
    const int in_c = 8, out_c = which == 2 ? 8 : (which == 0 ? 2 : 16);
    const int filter = which == 0 || which == 4 ? 1 : 3;
    ModelBuilder m;
    const bool fc = which == 3 || which == 5;
    const std::vector<int32_t> in_shape =
        fc ? std::vector<int32_t>{12, in_c} : std::vector<int32_t>{1, 6, 7, in_c};
    const int x = m.AddInput(DType::kFloat32, in_shape);
    const int b = m.AddInput(DType::kFloat32, {out_c});
    std::vector<int32_t> w_shape = {out_c, filter, filter, in_c};
    if (fc) w_shape = {out_c, in_c};
    if (which == 2) w_shape = {1, filter, filter, out_c};
    int64_t w_count = 1;
    for (int32_t d : w_shape) w_count *= d;
    std::vector<float> wv(static_cast<size_t>(w_count));
    std::mt19937 rng(which);
    std::uniform_real_distribution<float> u(-0.5f, 0.5f);
    for (float& v : wv) v = u(rng);
    std::vector<int8_t> wq(wv.size());
    for (size_t i = 0; i < wv.size(); ++i) wq[i] = static_cast<int8_t>(std::lround(wv[i] * 254));
    const int w = hybrid ? m.AddConstant(DType::kInt8, w_shape, wq, {1.0f / 254}, {0})
                         : m.AddConstant(DType::kFloat32, w_shape, wv);
    const std::vector<int32_t> out_shape =
        fc ? std::vector<int32_t>{12, out_c} : std::vector<int32_t>{1, 6, 7, out_c};
    const int y = m.AddOutput(DType::kFloat32, out_shape);
    if (fc) {
      m.AddOperator(Op::FULLY_CONNECTED, {x, w, b}, {y}, conv::FcOptions());
    } else if (which == 2) {
      m.AddOperator(Op::DEPTHWISE_CONV_2D, {x, w, b}, {y},
                    conv::DepthwiseOptions(tflite::Padding::SAME, 1, 1, 1));
    } else {
      m.AddOperator(Op::CONV_2D, {x, w, b}, {y}, conv::ConvOptions(tflite::Padding::SAME, 1, 1));
    }
    const std::vector<uint8_t> model = m.Build();
    const std::vector<NpyArray> inputs = {RandomArray(DType::kFloat32, in_shape, 3, -1.0, 1.0),
                                          RandomArray(DType::kFloat32, {out_c}, 4, 2.0, 3.0)};
    rt::InterpreterOptions ref_options;
    ref_options.use_optimized_kernels = false;
    auto ref = RunEdgeopt(model, inputs, ref_options);
    ASSERT_TRUE(ref.ok()) << ref.status().ToString();
    // The bias (2 to 3) shows: the outputs are not those of a convolution without one.
    double mean = 0;
    for (int64_t i = 0; i < (*ref)[0].NumElements(); ++i) mean += (*ref)[0].Data<float>()[i];
    EXPECT_GT(mean / static_cast<double>((*ref)[0].NumElements()), 1.0) << which;
    for (const Level& level : Levels()) {
      rt::InterpreterOptions options;
      options.cpu = &level.cpu;
      auto ours = RunEdgeopt(model, inputs, options);
      ASSERT_TRUE(ours.ok()) << ours.status().ToString();
      EXPECT_EQ(
          Compare((*ours)[0], (*ref)[0], false, std::to_string(which) + " [" + level.name + "]"),
          0);
    }
  }
}

// General convolutions (im2col-free IGEMM): strides, dilation, padding, odd channel counts.
TEST(OptimizedConv2D, SpatialAroundTiles) {
  std::mt19937 rng(11);
  const int in_cs[] = {1, 3, 4, 7, 8, 16};
  const int out_cs[] = {1, 8, 16, 17, 32, 33, 48, 64, 65, 127, 128};
  uint32_t seed = 100;
  for (Variant v : kAllVariants) {
    for (int i = 0; i < 12; ++i) {
      OpConfig c;
      c.op = Op::CONV_2D;
      c.variant = v;
      c.batch = 1 + rng() % 2;
      c.in_h = 3 + rng() % 9;
      c.in_w = 3 + rng() % 14;
      c.in_c = in_cs[rng() % 6];
      c.out_c = out_cs[rng() % 11];
      c.filter_h = 1 + rng() % 3;
      c.filter_w = 1 + rng() % 3;
      c.stride_h = 1 + rng() % 2;
      c.stride_w = 1 + rng() % 2;
      c.dilation_h = c.dilation_w = (rng() % 5 == 0) ? 2 : 1;
      c.padding = rng() % 2 ? tflite::Padding::SAME : tflite::Padding::VALID;
      CheckWithRandomActivationAndBias(rng, &seed, c);
    }
  }
}

// One or two input channels go through im2col (a window inside the image is copied a row at a
// time, the others a tap at a time): windows at every border, strides, dilation, wide filters.
TEST(OptimizedConv2D, Im2colFewChannels) {
  std::mt19937 rng(17);
  uint32_t seed = 150;
  for (Variant v : kAllVariants) {
    for (int i = 0; i < 16; ++i) {
      OpConfig c;
      c.op = Op::CONV_2D;
      c.variant = v;
      c.batch = 1 + rng() % 2;
      c.in_c = 1 + rng() % 2;
      c.out_c = 1 + rng() % 40;
      c.filter_h = 1 + rng() % 5;
      c.filter_w = 1 + rng() % 9;  // window rows of 1 to 18 int8 bytes
      c.stride_h = 1 + rng() % 2;
      c.stride_w = 1 + rng() % 3;
      c.dilation_h = c.dilation_w = (rng() % 4 == 0) ? 2 : 1;
      c.in_h = (c.filter_h - 1) * c.dilation_h + 1 + rng() % 12;
      c.in_w = (c.filter_w - 1) * c.dilation_w + 1 + rng() % 20;
      c.padding = rng() % 2 ? tflite::Padding::SAME : tflite::Padding::VALID;
      CheckWithRandomActivationAndBias(rng, &seed, c);
    }
  }
}

// Every im2col window-row length from 1 to 18 bytes of int8 (4 to 72 of float), in windows
// that lie inside the image (the short copies).
TEST(OptimizedConv2D, Im2colEveryWindowRowLength) {
  uint32_t seed = 170;
  for (Variant v : kAllVariants) {
    for (int in_c = 1; in_c <= 2; ++in_c) {
      for (int fw = 1; fw <= 9; ++fw) {
        OpConfig c;
        c.op = Op::CONV_2D;
        c.variant = v;
        c.in_c = in_c;
        c.out_c = 5;
        c.filter_h = 2;
        c.filter_w = fw;
        c.in_h = 4;
        c.in_w = fw + 3;
        c.padding = tflite::Padding::VALID;
        c.seed = seed++;
        SCOPED_TRACE(c.Describe());
        ExpectOptimizedMatchesReference(c);
      }
    }
  }
}

// int8/uint8 convolutions whose window row (filter_w * in_c) is at most 16 bytes expand their
// input rows into window rows: every window-row length and kcp (4, 8, 12, 16), windows that
// start left of the image or end past it, rows narrower than the filter (SAME), strides,
// dilation (the per-column path), batches, and uint8 with a nonzero filter zero point (the
// row sums). Lengths of 17 and 18 bytes, and multiples of 4 channels, take the tap-per-pixel
// path next to them. Float convolutions with 1-2 channels and a filter row of at most 64 values
// take one tap per filter row straight from the input (or a zero-padded copy of its rows): the
// same shapes, and filter rows of up to 66 values, with the exact float kernels half of the
// time.
TEST(OptimizedConv2D, WindowRowsEveryLength) {
  std::mt19937 rng(19);
  uint32_t seed = 400;
  const Variant variants[] = {Variant::kInt8PerChannel, Variant::kInt8PerTensor, Variant::kUInt8,
                              Variant::kFloat};
  for (Variant v : variants) {
    const int max_k = v == Variant::kFloat ? 66 : 18;
    for (int in_c = 1; in_c <= 9; ++in_c) {
      for (int fw = 2; fw * in_c <= max_k && fw <= 12; ++fw) {
        OpConfig c;
        c.op = Op::CONV_2D;
        c.variant = v;
        c.batch = 1 + rng() % 3;
        c.in_c = in_c;
        c.out_c = 1 + rng() % 40;
        c.filter_h = 1 + rng() % 4;
        c.filter_w = fw;
        c.stride_h = 1 + rng() % 2;
        c.stride_w = rng() % 3 == 0 ? 2 : 1;
        c.dilation_h = c.dilation_w = rng() % 6 == 0 ? 2 : 1;
        c.padding = rng() % 2 ? tflite::Padding::SAME : tflite::Padding::VALID;
        const int eff_w = (fw - 1) * c.dilation_w + 1;
        c.in_h = (c.filter_h - 1) * c.dilation_h + 1 + rng() % 6;
        // SAME: sometimes narrower than the filter.
        c.in_w = c.padding == tflite::Padding::SAME && rng() % 4 == 0 ? 1 + rng() % eff_w
                                                                      : eff_w + rng() % 30;
        CheckWithRandomActivationAndBias(rng, &seed, c, v == Variant::kFloat && rng() % 2 == 0);
      }
    }
    // SAME rows no wider than the filter, stride 1 to 3: the first column's window can start
    // inside the image and still run past its right edge.
    for (int fw = 2; fw <= 4; ++fw) {
      for (int in_w = 1; in_w <= fw; ++in_w) {
        for (int stride = 1; stride <= 3; ++stride) {
          OpConfig c;
          c.op = Op::CONV_2D;
          c.variant = v;
          c.in_c = 1 + (fw + in_w) % 3;
          c.out_c = 3;
          c.filter_h = 2;
          c.filter_w = fw;
          c.stride_w = stride;
          c.in_h = 3;
          c.in_w = in_w;
          c.padding = tflite::Padding::SAME;
          CheckWithRandomActivationAndBias(rng, &seed, c, v == Variant::kFloat && stride == 2);
        }
      }
    }
  }
}

// The kernel the interpreter names for a grayscale and an RGB first convolution, and for ones
// that keep a tap per pixel; int8 and hybrid.
TEST(OptimizedConv2D, WindowRowsAreChosenForShortWindowRows) {
  if (rt::uk::GetQS8GemmConfig(rt::GetCpuInfo(), 32) == nullptr) {
    GTEST_SKIP() << "no int8 GEMM microkernels on this CPU";
  }
  auto kernel = [](int in_c, int filter, Variant variant = Variant::kInt8PerChannel) {
    OpConfig c;
    c.op = Op::CONV_2D;
    c.variant = variant;
    c.in_h = c.in_w = 28;
    c.in_c = in_c;
    c.out_c = 32;
    c.filter_h = c.filter_w = filter;
    c.padding = tflite::Padding::VALID;
    const conv::BuiltOp built = conv::BuildOp(c);
    rt::InterpreterOptions options;
    options.num_threads = 1;
    auto interp = rt::Interpreter::Create(built.model.data(), built.model.size(), options);
    EXPECT_TRUE(interp.ok()) << interp.status().ToString();
    return interp.ok() ? std::string((*interp)->node_kernel(0)) : std::string();
  };
  EXPECT_EQ(kernel(1, 3), "igemm window rows");
  EXPECT_EQ(kernel(3, 3), "igemm window rows");
  EXPECT_EQ(kernel(1, 5), "igemm window rows");
  EXPECT_EQ(kernel(5, 3), "igemm window rows");
  EXPECT_EQ(kernel(4, 3), "igemm");  // no K padding to save
  EXPECT_EQ(kernel(6, 3), "igemm");  // 18 bytes
  EXPECT_EQ(kernel(1, 1), "igemm");
  // Hybrid (float input, int8 weights): the same choice, on the quantized input.
  EXPECT_EQ(kernel(1, 3, Variant::kHybridPerChannel), "igemm window rows");
  EXPECT_EQ(kernel(3, 3, Variant::kHybridPerTensor), "igemm window rows");
  EXPECT_EQ(kernel(4, 3, Variant::kHybridPerChannel), "igemm");
}

TEST(OptimizedDepthwiseConv2D, AroundChannelBlocks) {
  std::mt19937 rng(13);
  const int channels[] = {1, 8, 15, 16, 17, 31, 32, 33, 48, 64, 65};
  uint32_t seed = 200;
  for (Variant v : kAllVariants) {
    for (int i = 0; i < 14; ++i) {
      OpConfig c;
      c.op = Op::DEPTHWISE_CONV_2D;
      c.variant = v;
      c.batch = 1 + rng() % 2;
      c.in_h = 2 + rng() % 9;
      c.in_w = 2 + rng() % 12;
      c.in_c = channels[rng() % 11];
      c.filter_h = c.filter_w = (rng() % 4 == 0) ? 5 : 3;
      if (rng() % 5 == 0) c.filter_w = 2;
      c.stride_h = c.stride_w = 1 + rng() % 2;
      c.dilation_h = c.dilation_w = (rng() % 6 == 0) ? 2 : 1;
      c.padding = rng() % 3 ? tflite::Padding::SAME : tflite::Padding::VALID;
      if (c.padding == tflite::Padding::VALID) {
        c.in_h = std::max(c.in_h, (c.filter_h - 1) * c.dilation_h + 1);
        c.in_w = std::max(c.in_w, (c.filter_w - 1) * c.dilation_w + 1);
      }
      CheckWithRandomActivationAndBias(rng, &seed, c, /*exact_float=*/true);
    }
  }
}

// The direct 3x3 float kernels (conv_direct.h, out_c <= 32, stride 1 or 2): widths around their
// row tiles (8, 16) and the strip's borders, channel counts around their column blocks, SAME
// and VALID padding, batches.
TEST(OptimizedConv2D, Direct3x3AroundTiles) {
  std::mt19937 rng(23);
  const int widths[] = {1, 2, 3, 7, 8, 9, 15, 16, 17, 18, 24, 31, 33, 34};
  const int in_cs[] = {1, 3, 5, 16, 17, 33};
  const int out_cs[] = {1, 5, 15, 16, 17, 31, 32};
  uint32_t seed = 400;
  for (int i = 0; i < 40; ++i) {
    OpConfig c;
    c.op = Op::CONV_2D;
    c.variant = Variant::kFloat;
    c.batch = 1 + rng() % 2;
    c.in_h = 1 + rng() % 7;
    c.in_w = widths[rng() % 14];
    c.in_c = in_cs[rng() % 6];
    c.out_c = out_cs[rng() % 7];
    c.stride_h = c.stride_w = 1 + rng() % 2;
    c.padding = rng() % 3 ? tflite::Padding::SAME : tflite::Padding::VALID;
    if (c.padding == tflite::Padding::VALID) {
      c.in_h = std::max(c.in_h, 3);
      c.in_w = std::max(c.in_w, 3);
    }
    CheckWithRandomActivationAndBias(rng, &seed, c);
  }
}

// The direct kernels cover the MLPerf Tiny ResNet's small layers on AVX-512 machines.
TEST(OptimizedConv2D, Direct3x3CoversSmallLayers) {
  const rt::CpuInfo& cpu = rt::GetCpuInfo();
  if (!cpu.UseAvx512()) GTEST_SKIP() << "direct 3x3 kernels exist for AVX-512 only";
  const int cases[][3] = {{16, 1, 16}, {32, 1, 8}, {32, 2, 8}, {16, 2, 16}};  // out_c, stride, mr
  for (const auto& k : cases) {
    const rt::uk::F32Conv3x3Config* cfg = rt::uk::GetF32Conv3x3Config(cpu, k[0], k[1]);
    ASSERT_NE(cfg, nullptr);
    EXPECT_EQ(cfg->stride, k[1]);
    EXPECT_EQ(cfg->mr, k[2]);
    EXPECT_GE(cfg->nr, k[0]);
  }
  EXPECT_EQ(rt::uk::GetF32Conv3x3Config(cpu, 33, 1), nullptr);
  EXPECT_EQ(rt::uk::GetF32Conv3x3Config(cpu, 16, 3), nullptr);
  EXPECT_EQ(rt::uk::GetF32Conv3x3Config(rt::ScalarCpuInfo(), 16, 1), nullptr);
}

// 16x8 CONV_2D and FULLY_CONNECTED on the s16 GEMM (int32 sums; long rows whose weights could
// overflow them keep the int64 reference): identical to the reference, int64 and int32 biases.
TEST(OptimizedConv2D, Int16x8MatchesReference) {
  std::mt19937 rng(29);
  const int in_cs[] = {1, 3, 16, 17, 64, 300};
  uint32_t seed = 500;
  for (Variant v : {Variant::kInt16x8, Variant::kInt16x8Bias32}) {
    for (int i = 0; i < 12; ++i) {
      OpConfig c;
      c.op = Op::CONV_2D;
      c.variant = v;
      c.batch = 1 + rng() % 2;
      c.in_h = 1 + rng() % 6;
      c.in_w = 1 + rng() % 9;
      c.in_c = in_cs[rng() % 6];
      c.out_c = 1 + rng() % 40;
      c.filter_h = c.filter_w = 1 + 2 * (rng() % 2);
      c.stride_h = c.stride_w = 1 + rng() % 2;
      CheckWithRandomActivationAndBias(rng, &seed, c);
    }
    for (int i = 0; i < 8; ++i) {
      OpConfig c;
      c.op = Op::FULLY_CONNECTED;
      c.variant = v;
      c.fc_in = in_cs[rng() % 6] * (1 + rng() % 8);
      c.out_c = 1 + rng() % 40;
      c.fc_input = {1 + static_cast<int32_t>(rng() % 5), c.fc_in};
      c.activation = RandomAct(rng);
      c.seed = seed++;
      SCOPED_TRACE(c.Describe());
      ExpectOptimizedMatchesReference(c);
    }
  }
}

// The 16x8 output stages of every ISA level (the narrow int32 one and the int64 one) against
// ref::MultiplyInt64 + zero point + clamp: multipliers at both ends of the reduced range, total
// shifts 1-46, sums at the int32 limits, zero points, clamps, channel tails and row strides.
TEST(OptimizedConv2D, S16OutputStagesMatchMultiplyInt64) {
  std::mt19937 rng(41);
  auto uniform = [&](int64_t lo, int64_t hi) {
    return std::uniform_int_distribution<int64_t>(lo, hi)(rng);
  };
  constexpr int64_t kMax = std::numeric_limits<int32_t>::max();
  int tested = 0;
  for (const Level& level : Levels()) {
    const rt::uk::S16GemmConfig* cfg = rt::uk::GetS16GemmConfig(level.cpu);
    if (cfg == nullptr || (cfg->requant == nullptr && cfg->requant_narrow == nullptr)) continue;
    SCOPED_TRACE(level.name);
    for (int round = 0; round < 60; ++round) {
      const int channels = round < 40 ? 1 + round : static_cast<int>(uniform(1, 70));
      const int count = static_cast<int>(uniform(1, 5));
      const int stride = channels + static_cast<int>(uniform(0, 3));
      std::vector<int32_t> multiplier(channels), stage_shift(channels), reduced32(channels),
          shift32(channels), bias32(channels);
      std::vector<int64_t> reduced(channels), round64(channels), shift64(channels),
          bias64(channels);
      for (int n = 0; n < channels; ++n) {
        const int64_t pick = uniform(0, 9);
        multiplier[n] = static_cast<int32_t>(pick == 0   ? 0x7FFF0000 + uniform(0, 0xFFFF)
                                             : pick == 1 ? (int64_t{1} << 30)
                                                         : uniform(int64_t{1} << 30, kMax));
        stage_shift[n] = static_cast<int32_t>(pick == 2 ? -31 : pick == 3 ? 14 : uniform(-31, 14));
        reduced32[n] = ref::ReducedMultiplier(multiplier[n]);
        shift32[n] = 15 - stage_shift[n];
        reduced[n] = reduced32[n];
        shift64[n] = shift32[n];
        round64[n] = int64_t{1} << (shift32[n] - 1);
      }
      std::vector<int32_t> acc(static_cast<size_t>(count) * channels);
      for (int n = 0; n < channels; ++n) {
        // Narrow: |acc + bias| <= INT32_MAX, sometimes exactly at the limit.
        const int64_t b = uniform(-(int64_t{1} << 30), int64_t{1} << 30);
        bias32[n] = static_cast<int32_t>(b);
        for (int i = 0; i < count; ++i) {
          const int64_t pick = uniform(0, 5);
          const int64_t x = pick == 0 ? kMax : pick == 1 ? -kMax : uniform(-kMax, kMax);
          acc[i * channels + n] = static_cast<int32_t>(
              std::clamp<int64_t>(x - b, std::numeric_limits<int32_t>::min(), kMax));
        }
      }
      const int32_t zp = static_cast<int32_t>(round % 3 == 0 ? 0 : uniform(-5, 5));
      int32_t lo = -32768, hi = 32767;
      if (round % 2 == 1) {
        lo = static_cast<int32_t>(uniform(-32768, 0));
        hi = static_cast<int32_t>(uniform(lo, 32767));
      }
      auto expect = [&](const std::vector<int16_t>& out, const int64_t* bias, const char* what) {
        int bad = 0;
        for (int i = 0; i < count; ++i) {
          for (int n = 0; n < channels; ++n) {
            const int64_t v = int64_t{ref::MultiplyInt64(acc[i * channels + n] + bias[n],
                                                         multiplier[n], stage_shift[n])} +
                              zp;
            const int16_t want = static_cast<int16_t>(std::clamp<int64_t>(v, lo, hi));
            if (out[i * stride + n] != want && bad++ < 3) {
              ADD_FAILURE() << what << " channels=" << channels << " row " << i << " channel " << n
                            << ": " << out[i * stride + n] << " want " << want;
            }
          }
          // Between rows nothing is written.
          for (int n = channels; n < stride && i + 1 < count; ++n) {
            EXPECT_EQ(out[i * stride + n], -7) << what;
          }
        }
      };
      if (cfg->requant_narrow != nullptr) {
        std::vector<int16_t> out(static_cast<size_t>(count) * stride, -7);
        rt::uk::S16RequantNarrowArgs args{
            count, channels, acc.data(), bias32.data(), reduced32.data(), shift32.data(), zp,
            lo,    hi,       out.data(), stride};
        cfg->requant_narrow(args);
        for (int n = 0; n < channels; ++n) bias64[n] = bias32[n];
        expect(out, bias64.data(), "narrow");
        ++tested;
      }
      if (cfg->requant != nullptr) {
        // The int64 stage takes any bias: some far outside int32.
        for (int n = 0; n < channels; ++n) {
          bias64[n] = n % 3 == 0 ? uniform(-(int64_t{1} << 40), int64_t{1} << 40) : bias32[n];
        }
        std::vector<int16_t> out(static_cast<size_t>(count) * stride, -7);
        rt::uk::S16RequantArgs args{count,
                                    channels,
                                    acc.data(),
                                    bias64.data(),
                                    reduced.data(),
                                    round64.data(),
                                    shift64.data(),
                                    zp,
                                    lo,
                                    hi,
                                    out.data(),
                                    stride};
        cfg->requant(args);
        expect(out, bias64.data(), "int64");
        ++tested;
      }
    }
  }
  if (tested == 0) GTEST_SKIP() << "no s16 output stage microkernel on this machine";
}

// The int8 output stage of every ISA level (the int8 TRANSPOSE_CONV's) against
// ref::MultiplyDoubleRounding of the wrapped acc + bias, + zero point, clamped: multipliers from
// real scales around 1 (left and right shifts), sums at the int32 limits and exact ties,
// with and without a bias, zero points, clamps, channel tails and row strides.
TEST(OptimizedConv2D, S8RowsOutputStageMatchesDoubleRounding) {
  std::mt19937 rng(43);
  auto uniform = [&](int64_t lo, int64_t hi) {
    return std::uniform_int_distribution<int64_t>(lo, hi)(rng);
  };
  constexpr int64_t kMin = std::numeric_limits<int32_t>::min();
  constexpr int64_t kMax = std::numeric_limits<int32_t>::max();
  int tested = 0;
  for (const Level& level : Levels()) {
    const rt::uk::S16GemmConfig* cfg = rt::uk::GetS16GemmConfig(level.cpu);
    if (cfg == nullptr || cfg->requant_s8 == nullptr) continue;
    SCOPED_TRACE(level.name);
    for (int round = 0; round < 60; ++round) {
      const int channels = round < 40 ? 1 + round : static_cast<int>(uniform(1, 70));
      const int count = static_cast<int>(uniform(1, 5));
      const int acc_stride = channels + static_cast<int>(uniform(0, 3));
      const int c_stride = channels + static_cast<int>(uniform(0, 3));
      std::vector<int32_t> multiplier(channels), shift(channels), bias(channels);
      std::vector<double> reals(channels);
      for (int n = 0; n < channels; ++n) {
        const int64_t pick = uniform(0, 5);
        const double real = pick == 0   ? std::ldexp(1.0, static_cast<int>(uniform(-20, 0)))
                            : pick == 1 ? 1.0 + uniform(1, 1000) / 100.0  // a left shift
                                        : std::exp(-uniform(0, 2000) / 100.0);
        int sh = 0;
        quant::QuantizeMultiplier(real, &multiplier[n], &sh);
        shift[n] = sh;
        reals[n] = real;
        bias[n] = static_cast<int32_t>(uniform(-2000, 2000));
      }
      std::vector<int32_t> acc(static_cast<size_t>(count) * acc_stride, 0);
      for (int i = 0; i < count; ++i) {
        for (int n = 0; n < channels; ++n) {
          // Mostly sums whose output lies in [-160, 160] (unclamped: every rounding shows),
          // with the scales 2^-k many exact ties; some at the int32 limits (wrapping).
          const int64_t pick = uniform(0, 7);
          const double target = static_cast<double>(uniform(-160, 160)) / reals[n];
          const int64_t x = pick == 0 ? kMax
                            : pick == 1
                                ? kMin
                                : std::clamp<int64_t>(
                                      std::llround(target) + uniform(-3, 3) - bias[n], kMin, kMax);
          acc[i * acc_stride + n] = static_cast<int32_t>(x);
        }
      }
      std::vector<rt::uk::RequantBlock16> rq((channels + 15) / 16);
      rt::uk::PackRequantBlocks(channels, multiplier.data(), shift.data(), rq.data());
      const int32_t zp = static_cast<int32_t>(round % 3 == 0 ? 0 : uniform(-128, 127));
      int32_t lo = -128, hi = 127;
      if (round % 2 == 1) {
        lo = static_cast<int32_t>(uniform(-128, 0));
        hi = static_cast<int32_t>(uniform(lo, 127));
      }
      const bool with_bias = round % 4 != 3;
      std::vector<int8_t> out(static_cast<size_t>(count) * c_stride, -7);
      const rt::uk::QS8RequantRowsArgs args{count,
                                            channels,
                                            acc.data(),
                                            acc_stride,
                                            with_bias ? bias.data() : nullptr,
                                            rq.data(),
                                            {zp, lo - zp, hi - zp},
                                            out.data(),
                                            c_stride};
      cfg->requant_s8(args);
      int bad = 0;
      for (int i = 0; i < count; ++i) {
        for (int n = 0; n < channels; ++n) {
          const int32_t x =
              ref::WrapToInt32(int64_t{acc[i * acc_stride + n]} + (with_bias ? bias[n] : 0));
          const int64_t v = int64_t{ref::MultiplyDoubleRounding(x, multiplier[n], shift[n])} + zp;
          const int8_t want = static_cast<int8_t>(std::clamp<int64_t>(v, lo, hi));
          if (out[i * c_stride + n] != want && bad++ < 3) {
            ADD_FAILURE() << "channels=" << channels << " row " << i << " channel " << n << ": "
                          << int{out[i * c_stride + n]} << " want " << int{want} << " (acc " << x
                          << ", m " << multiplier[n] << ", shift " << shift[n] << ")";
          }
        }
        for (int n = channels; n < c_stride && i + 1 < count; ++n) {
          EXPECT_EQ(out[i * c_stride + n], -7) << "written between rows";
        }
      }
      ++tested;
    }
  }
  if (tested == 0) GTEST_SKIP() << "no int8 rows output stage microkernel on this machine";
}

// The narrow 16x8 output stage is chosen only when every |acc + bias| fits in int32, with
// |acc| <= 32768 * sum |w|: 512 weights of 127 reach 2130706432, 16777215 below INT32_MAX.
TEST(OptimizedConv2D, S16NarrowStageFitsOnlyWithinInt32) {
  constexpr int64_t K = 512;
  std::vector<int8_t> w(2 * K, 0);
  for (int64_t k = 0; k < K; ++k) w[k] = static_cast<int8_t>(k % 2 == 0 ? 127 : -127);
  // Every row must fit, as PrepareS16Gemm asks of each.
  auto fits = [&](int64_t b0, int64_t b1) {
    const int64_t bias[2] = {b0, b1};
    bool all = true;
    for (int n = 0; n < 2; ++n) {
      int64_t sum = 0;
      for (int64_t k = 0; k < K; ++k) sum += std::abs(int{w[n * K + k]});
      all = all && rt::S16NarrowRowFits(sum, bias[n]);
    }
    return all;
  };
  constexpr int64_t kMax = std::numeric_limits<int32_t>::max();
  EXPECT_TRUE(fits(0, 0));
  EXPECT_TRUE(fits(16777215, kMax));  // row 1 has no weights: its bias alone
  EXPECT_TRUE(fits(-16777215, -kMax));
  EXPECT_FALSE(fits(16777216, 0));
  EXPECT_FALSE(fits(-16777216, 0));
  EXPECT_FALSE(fits(0, kMax + 1));
  EXPECT_FALSE(fits(0, -kMax - 1));
  EXPECT_FALSE(fits(int64_t{1} << 40, 0));
  EXPECT_FALSE(fits(0, std::numeric_limits<int64_t>::min()));
}

// The bit-exact float GEMM (models with hybrid ops): identical to ref::GemmF32.
TEST(OptimizedConv2D, ExactFloatIsBitIdentical) {
  std::mt19937 rng(19);
  uint32_t seed = 150;
  for (int i = 0; i < 16; ++i) {
    OpConfig c;
    c.op = Op::CONV_2D;
    c.variant = Variant::kFloat;
    c.in_h = 1 + rng() % 9;
    c.in_w = 2 + rng() % 14;
    c.in_c = 1 + rng() % 20;
    c.out_c = 1 + rng() % 140;
    c.filter_h = c.filter_w = 1 + 2 * (rng() % 2);
    c.stride_h = c.stride_w = 1 + rng() % 2;
    CheckWithRandomActivationAndBias(rng, &seed, c, /*exact_float=*/true);
  }
  // Where the reference sums a row as a GEMV: single-pixel outputs of a batch (each its own
  // block), and a last block of one row (K = 512: blocks of 128 pixels, 129 pixels).
  for (int batch : {2, 3}) {
    OpConfig c;
    c.op = Op::CONV_2D;
    c.variant = Variant::kFloat;
    c.batch = batch;
    c.in_h = 2;
    c.in_w = 3;
    c.in_c = 7;
    c.out_c = 20;
    c.filter_h = 2;
    c.filter_w = 3;
    c.padding = tflite::Padding::VALID;
    CheckWithRandomActivationAndBias(rng, &seed, c, /*exact_float=*/true);
  }
  OpConfig c;
  c.op = Op::CONV_2D;
  c.variant = Variant::kFloat;
  c.in_h = 1;
  c.in_w = 129;
  c.in_c = 512;
  c.out_c = 24;
  c.filter_h = c.filter_w = 1;
  c.padding = tflite::Padding::VALID;
  CheckWithRandomActivationAndBias(rng, &seed, c, /*exact_float=*/true);
}

// TRANSPOSE_CONV: the float products on the IGEMM microkernels (exact-float: bit-identical), the
// quantized ones on theirs, against the reference; sizes around the tiles, several bands of input
// rows (the float case: 4 bands, crossing batch items; int8: bands of output rows) and batches.
TEST(OptimizedTransposeConv, MatchesReference) {
  std::mt19937 rng(23);
  uint32_t seed = 300;
  const Variant variants[] = {Variant::kFloat, Variant::kInt8PerChannel, Variant::kInt8PerTensor,
                              Variant::kUInt8, Variant::kInt16x8};
  for (int i = 0; i < 30; ++i) {
    OpConfig c;
    c.op = Op::TRANSPOSE_CONV;
    c.variant = variants[i % 5];
    c.batch = 1 + rng() % 2;
    c.in_h = 1 + rng() % 7;
    c.in_w = 1 + rng() % 9;
    c.in_c = 1 + rng() % 20;
    c.out_c = 1 + rng() % 40;
    c.filter_h = 1 + rng() % 4;
    c.filter_w = 1 + rng() % 4;
    c.stride_h = c.stride_w = 1 + rng() % 2;
    c.padding = rng() % 2 ? tflite::Padding::SAME : tflite::Padding::VALID;
    const bool same = c.padding == tflite::Padding::SAME;
    c.out_h = same ? c.in_h * c.stride_h : (c.in_h - 1) * c.stride_h + c.filter_h;
    c.out_w = same ? c.in_w * c.stride_w : (c.in_w - 1) * c.stride_w + c.filter_w;
    c.bias = rng() % 4 != 0;
    c.seed = seed++;
    SCOPED_TRACE(c.Describe());
    ExpectOptimizedMatchesReference(c, /*exact_float=*/c.variant == Variant::kFloat && i % 2);
  }
  OpConfig c;
  c.op = Op::TRANSPOSE_CONV;
  c.variant = Variant::kFloat;
  c.batch = 2;
  c.in_h = 16;
  c.in_w = 32;
  c.in_c = 8;
  c.out_c = 64;
  c.stride_h = c.stride_w = 2;
  c.out_h = 32;
  c.out_w = 64;
  c.seed = seed++;
  SCOPED_TRACE(c.Describe());
  ExpectOptimizedMatchesReference(c, /*exact_float=*/true);
  c.variant = Variant::kInt8PerChannel;
  ExpectOptimizedMatchesReference(c);
  // U-Net's 2x2 / stride 2 (one product per output value: no gather) over 3 bands of 16 input
  // rows (64 KB of int32 products each).
  c.batch = 1;
  c.in_h = 40;
  c.in_w = 64;
  c.in_c = 4;
  c.filter_h = c.filter_w = 2;
  c.out_h = 80;
  c.out_w = 128;
  c.seed = seed++;
  SCOPED_TRACE(c.Describe());
  ExpectOptimizedMatchesReference(c);
}

// Float TRANSPOSE_CONV whose filter is its stride, without padding: the IGEMM writes each
// product straight to its output pixel where its column blocks fit whole filter rows
// (ScatterF32TransposeConv), else the products are gathered; both against the reference, exact
// float bit for bit, rows not a multiple of the tile height, batches, a single input pixel (a
// GEMV: the buffered path), with and without a bias.
TEST(OptimizedTransposeConv, FilterEqualsStrideWritesStraightToOutput) {
  uint32_t seed = 700;
  struct Shape {
    int batch, in_h, in_w, in_c, out_c, fh, fw;
  };
  const Shape shapes[] = {{1, 5, 13, 8, 8, 2, 2},  {2, 3, 31, 5, 16, 2, 2}, {1, 4, 7, 16, 32, 2, 2},
                          {1, 2, 9, 3, 24, 2, 2},  {1, 3, 5, 7, 16, 3, 3},  {2, 2, 6, 4, 8, 1, 2},
                          {1, 3, 11, 6, 12, 2, 2}, {1, 4, 4, 3, 1, 2, 2},   {1, 1, 1, 4, 16, 2, 2},
                          {2, 1, 1, 4, 16, 2, 2}};
  for (const Shape& sh : shapes) {
    for (int variant = 0; variant < 2; ++variant) {
      OpConfig c;
      c.op = Op::TRANSPOSE_CONV;
      c.variant = Variant::kFloat;
      c.batch = sh.batch;
      c.in_h = sh.in_h;
      c.in_w = sh.in_w;
      c.in_c = sh.in_c;
      c.out_c = sh.out_c;
      c.filter_h = c.stride_h = sh.fh;
      c.filter_w = c.stride_w = sh.fw;
      c.padding = tflite::Padding::VALID;
      c.out_h = sh.in_h * sh.fh;
      c.out_w = sh.in_w * sh.fw;
      c.bias = variant == 0;
      c.seed = seed++;
      SCOPED_TRACE(c.Describe());
      ExpectOptimizedMatchesReference(c, /*exact_float=*/variant == 1);
      ExpectOptimizedMatchesReference(c, /*exact_float=*/variant == 0);
    }
  }
  // Where it runs: more than 4 columns in all, in column blocks of whole filter rows (the NR of
  // the float GEMM chosen for a filter row's filter_w * out_c columns divides them).
  if (rt::uk::GetF32GemmConfig(rt::GetCpuInfo(), 64) == nullptr) return;
  int scattered = 0;
  for (int out_c : {1, 4, 8, 12, 16, 20, 32}) {
    OpConfig c;
    c.op = Op::TRANSPOSE_CONV;
    c.variant = Variant::kFloat;
    c.in_h = 4;
    c.in_w = 6;
    c.in_c = 8;
    c.out_c = out_c;
    c.filter_h = c.stride_h = c.filter_w = c.stride_w = 2;
    c.padding = tflite::Padding::VALID;
    c.out_h = 8;
    c.out_w = 12;
    const conv::BuiltOp built = conv::BuildOp(c);
    auto interp = rt::Interpreter::Create(built.model.data(), built.model.size(), {});
    ASSERT_TRUE(interp.ok()) << interp.status().ToString();
    const char* k = (*interp)->node_kernel(0);
    const int nr = rt::uk::GetF32GemmConfig(rt::GetCpuInfo(), 2 * out_c)->nr;
    const bool scatter = 4 * out_c > 4 && 2 * out_c % nr == 0;
    EXPECT_STREQ(k, scatter ? "igemm to output" : "igemm + gather") << out_c << " channels";
    scattered += scatter;
  }
  EXPECT_GE(scattered, 2);
}

// MobileNet-like layer sizes (wide rows, many channels).
TEST(OptimizedDepthwiseConv2D, MobileNetLayers) {
  const int shapes[][4] = {{48, 48, 16, 1}, {48, 48, 48, 2},   {24, 24, 144, 1}, {12, 12, 96, 2},
                           {6, 6, 336, 1},  {112, 112, 32, 1}, {56, 56, 96, 2}};
  uint32_t seed = 250;
  for (Variant v : {Variant::kFloat, Variant::kInt8PerChannel, Variant::kUInt8}) {
    for (const auto& s : shapes) {
      OpConfig c;
      c.op = Op::DEPTHWISE_CONV_2D;
      c.variant = v;
      c.in_h = s[0];
      c.in_w = s[1];
      c.in_c = s[2];
      c.stride_h = c.stride_w = s[3];
      c.activation = Act::RELU6;
      c.seed = seed++;
      SCOPED_TRACE(c.Describe());
      ExpectOptimizedMatchesReference(c, /*exact_float=*/true);
    }
  }
}

// Depth multipliers above 1 (the input's channels repeated, then the multiplier-1 kernels):
// one input channel as in audio models' first layers (micro_speech's 10x8 stride-2 filter with
// multiplier 8), several channels, multipliers around the channel blocks, every variant.
TEST(OptimizedDepthwiseConv2D, DepthMultipliers) {
  std::mt19937 rng(29);
  const int cases[][6] = {// in_h, in_w, in_c, multiplier, filter_h, filter_w
                          {49, 40, 1, 8, 10, 8}, {5, 7, 1, 2, 3, 3},  {6, 6, 1, 16, 3, 3},
                          {7, 5, 1, 17, 3, 2},   {8, 9, 3, 4, 3, 3},  {5, 6, 2, 8, 5, 5},
                          {6, 7, 5, 3, 3, 3},    {4, 9, 16, 2, 3, 1}, {9, 4, 7, 5, 1, 3},
                          {3, 3, 17, 2, 3, 3},   {6, 5, 1, 33, 2, 2}, {2, 20, 4, 4, 1, 4}};
  uint32_t seed = 500;
  for (Variant v : kAllVariants) {
    for (const auto& s : cases) {
      OpConfig c;
      c.op = Op::DEPTHWISE_CONV_2D;
      c.variant = v;
      c.batch = 1 + rng() % 2;
      c.in_h = s[0];
      c.in_w = s[1];
      c.in_c = s[2];
      c.depth_multiplier = s[3];
      c.filter_h = s[4];
      c.filter_w = s[5];
      c.stride_h = c.stride_w = 1 + rng() % 2;
      c.dilation_h = c.dilation_w = (rng() % 6 == 0) ? 2 : 1;
      c.padding = rng() % 2 ? tflite::Padding::SAME : tflite::Padding::VALID;
      if (c.padding == tflite::Padding::VALID) {
        c.in_h = std::max(c.in_h, (c.filter_h - 1) * c.dilation_h + 1);
        c.in_w = std::max(c.in_w, (c.filter_w - 1) * c.dilation_w + 1);
      }
      CheckWithRandomActivationAndBias(rng, &seed, c, /*exact_float=*/true);
      // Without exact_float, float with one input channel runs as a convolution (the IGEMM).
      if (v == Variant::kFloat && c.in_c == 1) CheckWithRandomActivationAndBias(rng, &seed, c);
    }
  }
}

// The multiplier > 1 cases above run the microkernels (not the reference loops): the expanded
// depthwise ones, or for float with one input channel the convolution's IGEMM.
TEST(OptimizedDepthwiseConv2D, DepthMultiplierRunsTheMicrokernels) {
  if (rt::uk::GetQS8DwConfig(rt::GetCpuInfo()) == nullptr) {
    GTEST_SKIP() << "no depthwise microkernels on this CPU";
  }
  for (Variant v : {Variant::kFloat, Variant::kInt8PerChannel, Variant::kHybridPerChannel}) {
    for (int multiplier : {1, 8}) {
      OpConfig c;
      c.op = Op::DEPTHWISE_CONV_2D;
      c.variant = v;
      c.in_h = 49;
      c.in_w = 40;
      c.in_c = 1;
      c.depth_multiplier = multiplier;
      c.filter_h = 10;
      c.filter_w = 8;
      c.stride_h = c.stride_w = 2;
      const conv::BuiltOp built = conv::BuildOp(c);
      rt::InterpreterOptions options;
      options.num_threads = 1;
      auto interp = rt::Interpreter::Create(built.model.data(), built.model.size(), options);
      ASSERT_TRUE(interp.ok()) << interp.status().ToString();
      const std::string kernel = (*interp)->node_kernel(0);
      if (multiplier == 1) {
        EXPECT_EQ(kernel, "dwconv") << c.Describe();
      } else if (v == Variant::kFloat) {
        EXPECT_EQ(kernel.rfind("igemm", 0), 0u) << c.Describe() << ": " << kernel;
      } else {
        EXPECT_EQ(kernel, "dwconv expanded") << c.Describe();
      }
      options.use_optimized_kernels = false;
      auto reference = rt::Interpreter::Create(built.model.data(), built.model.size(), options);
      ASSERT_TRUE(reference.ok()) << reference.status().ToString();
      EXPECT_STREQ((*reference)->node_kernel(0), "reference");
    }
  }
}

TEST(OptimizedFullyConnected, AroundTiles) {
  std::mt19937 rng(17);
  const int ins[] = {1, 3, 4, 5, 16, 17, 64, 100};
  const int outs[] = {1, 15, 16, 17, 32, 33, 100};
  const int batches[] = {1, 1, 2, 12, 13};
  uint32_t seed = 300;
  for (Variant v : kAllVariants) {
    for (int i = 0; i < 12; ++i) {
      OpConfig c;
      c.op = Op::FULLY_CONNECTED;
      c.variant = v;
      c.fc_in = ins[rng() % 8];
      c.out_c = outs[rng() % 7];
      c.fc_input.clear();
      c.fc_input.push_back(batches[rng() % 5]);
      c.fc_input.push_back(c.fc_in);
      c.activation = RandomAct(rng);
      c.asymmetric_inputs = rng() % 2 != 0;
      c.seed = seed++;
      SCOPED_TRACE(c.Describe());
      // Single rows run the exact GEMV kernel: bit-identical floats.
      ExpectOptimizedMatchesReference(c, /*exact_float=*/c.fc_input[0] == 1);
    }
  }
}

}  // namespace
}  // namespace testing
}  // namespace edgeopt
