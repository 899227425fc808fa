// The sparse KxK CONV_2D kernel (sparse_conv.h): its layout moves against their portable
// versions; the whole op, with the sparse kernel forced, against the reference kernels on random
// pruned filters (densities 3-60 %, 2x2 to 5x5, 1xN, dilation, SAME and VALID, bias or none,
// every activation, batch 1 and 2, output widths around the vector and tile widths) for every
// ISA level and 1 and 2 threads; and the decision.
#include "src/runtime/kernels/sparse_conv.h"

#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <string>
#include <vector>

#include "src/runtime/cpu_info.h"
#include "src/runtime/interpreter.h"
#include "src/runtime/kernels/conv_test_util.h"
#include "src/runtime/kernels/elem_test_util.h"
#include "src/runtime/kernels/ukernels/sparse_ukernels.h"

namespace edgeopt {
namespace rt {
namespace {

constexpr double kFloatRelTol = 1e-5;  // relative to max(1, |reference|)

using PlanesFn = void (*)(int, int, const float*, float*, int64_t);
using PixelsFn = void (*)(int, int, const float*, int64_t, float* const*);

#if defined(EDGEOPT_HAVE_AVX512) || defined(EDGEOPT_HAVE_AVX2) || defined(EDGEOPT_HAVE_NEON)
// The SIMD layout moves against the portable ones, for 1..40 pixels and channels (whole and
// partial 4x4 / 8x8 / 16x16 blocks), with gaps after each row to catch stores past the end.
void ExpectMovesMatchThePortableOnes(PlanesFn to_planes, PixelsFn to_pixels) {
  std::mt19937 rng(5);
  std::uniform_real_distribution<float> u(-1.0f, 1.0f);
  for (int count = 1; count <= 40; ++count) {
    for (int channels = 1; channels <= 40; channels += (channels < 18 ? 1 : 7)) {
      const std::string what =
          "count " + std::to_string(count) + ", channels " + std::to_string(channels);
      // pixels -> planes: plane stride 50 with a gap, so a store past `count` shows.
      std::vector<float> in(static_cast<size_t>(count) * channels);
      for (float& v : in) v = u(rng);
      const int64_t plane = 50;
      std::vector<float> a(static_cast<size_t>(plane) * channels, -7.0f), b = a;
      to_planes(count, channels, in.data(), a.data(), plane);
      f32_pixels_to_planes__scalar(count, channels, in.data(), b.data(), plane);
      ASSERT_EQ(a, b) << "pixels_to_planes, " << what;
      // tile -> pixels: every third lane dropped (null), rows of 48 with a gap after channels.
      const int64_t ldt = 44;
      std::vector<float> tile(static_cast<size_t>(ldt) * channels);
      for (float& v : tile) v = u(rng);
      std::vector<float> pa(static_cast<size_t>(count) * 48, -7.0f), pb = pa;
      std::vector<float*> da(count), db(count);
      for (int l = 0; l < count; ++l) {
        da[l] = l % 3 == 2 ? nullptr : pa.data() + l * 48;
        db[l] = l % 3 == 2 ? nullptr : pb.data() + l * 48;
      }
      to_pixels(count, channels, tile.data(), ldt, da.data());
      f32_tile_to_pixels__scalar(count, channels, tile.data(), ldt, db.data());
      ASSERT_EQ(pa, pb) << "tile_to_pixels, " << what;
    }
  }
}
#endif  // the SIMD sparse kernels

#if defined(EDGEOPT_HAVE_AVX512)
TEST(SparseConvMoves, Avx512TransposesMatchThePortableOnes) {
  if (!GetCpuInfo().UseAvx512()) GTEST_SKIP() << "no AVX-512 on this machine";
  ExpectMovesMatchThePortableOnes(f32_pixels_to_planes__avx512, f32_tile_to_pixels__avx512);
}
#endif

#if defined(EDGEOPT_HAVE_AVX2)
TEST(SparseConvMoves, Avx2TransposesMatchThePortableOnes) {
  if (!GetCpuInfo().UseAvx2()) GTEST_SKIP() << "no AVX2 on this machine";
  ExpectMovesMatchThePortableOnes(f32_pixels_to_planes__avx2, f32_tile_to_pixels__avx2);
}
#endif

#if defined(EDGEOPT_HAVE_NEON)
TEST(SparseConvMoves, NeonTransposesMatchThePortableOnes) {
  if (!GetCpuInfo().UseNeon()) GTEST_SKIP() << "no NEON on this machine";
  ExpectMovesMatchThePortableOnes(f32_pixels_to_planes__neon, f32_tile_to_pixels__neon);
}
#endif

// The op with the sparse kernel forced, at every level and thread count, against the reference.
void ExpectSparseMatchesReference(const testing::conv::OpConfig& c) {
  const testing::conv::BuiltOp built = testing::conv::BuildOp(c);
  InterpreterOptions ref_options;
  ref_options.use_optimized_kernels = false;
  auto ref = testing::RunEdgeopt(built.model, built.inputs, ref_options);
  ASSERT_TRUE(ref.ok()) << c.Describe() << ": " << ref.status().ToString();
  for (const CpuInfo& cpu : testing::OptimizedLevels()) {
    for (int threads : {1, 2}) {
      InterpreterOptions options;
      options.cpu = &cpu;
      options.num_threads = threads;
      options.sparse_kernels = SparseKernels::kForce;
      auto ours = testing::RunEdgeopt(built.model, built.inputs, options);
      const std::string what = c.Describe() + " density=" + std::to_string(c.weight_density) +
                               " [" + std::to_string(static_cast<int>(SparseIsaFor(cpu))) + ", " +
                               std::to_string(threads) + " threads]";
      ASSERT_TRUE(ours.ok()) << what << ": " << ours.status().ToString();
      const float* a = (*ours)[0].Data<float>();
      const float* b = (*ref)[0].Data<float>();
      const int64_t n = (*ref)[0].NumElements();
      ASSERT_EQ((*ours)[0].NumElements(), n) << what;
      for (int64_t i = 0; i < n; ++i) {
        ASSERT_LE(std::abs(static_cast<double>(a[i]) - b[i]),
                  kFloatRelTol * std::max(1.0, std::abs(static_cast<double>(b[i]))))
            << what << ": element " << i << " is " << a[i] << ", reference " << b[i];
      }
    }
  }
}

TEST(SparseConv, MatchesTheReferenceOnPrunedFilters) {
  using Act = tflite::ActivationFunctionType;
  std::mt19937 rng(11);
  auto pick = [&](int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(rng); };
  const Act acts[] = {Act::NONE, Act::RELU, Act::RELU6, Act::RELU_N1_TO_1};
  // Fixed cases around the tiles: out widths 1, 15-17, 31-33, 63-65 lanes per row.
  const int widths[] = {1, 2, 7, 15, 16, 17, 31, 33, 63, 65};
  uint32_t seed = 1;
  for (int w : widths) {
    testing::conv::OpConfig c;
    c.in_h = 3 + (w % 3);
    c.in_w = w;
    c.in_c = 1 + w % 9;
    c.out_c = 1 + (w * 7) % 70;
    c.padding = tflite::Padding::SAME;
    c.weight_density = 0.2;
    c.seed = seed++;
    ExpectSparseMatchesReference(c);
  }
  for (int i = 0; i < 40; ++i) {
    testing::conv::OpConfig c;
    c.batch = pick(1, 2);
    c.filter_h = pick(1, 5);
    c.filter_w = pick(c.filter_h == 1 ? 2 : 1, 5);  // 1x1 is the sparse matmul's
    c.dilation_h = pick(1, 2);
    c.dilation_w = pick(1, 2);
    c.padding = pick(0, 1) == 0 ? tflite::Padding::SAME : tflite::Padding::VALID;
    c.in_h = pick((c.filter_h - 1) * c.dilation_h + 1, 14);
    c.in_w = pick((c.filter_w - 1) * c.dilation_w + 1, 40);
    c.in_c = pick(1, 40);
    c.out_c = pick(1, 80);
    c.bias = pick(0, 3) != 0;
    c.activation = acts[pick(0, 3)];
    c.weight_density = std::uniform_real_distribution<double>(0.03, 0.6)(rng);
    c.seed = seed++;
    ExpectSparseMatchesReference(c);
  }
}

// Enough input channels for several chunks (SparseConv::chunk_channels): each chunk's sums
// carry over to the next one, and the activation applies once, after the last.
TEST(SparseConv, ManyInputChannelsAreSummedInChunks) {
  for (auto act : {tflite::ActivationFunctionType::NONE, tflite::ActivationFunctionType::RELU6}) {
    testing::conv::OpConfig c;
    c.in_h = 6;
    c.in_w = 30;
    c.in_c = 150;  // 640 bytes per channel under a tile: chunks of 38 channels
    c.out_c = 20;
    c.activation = act;
    c.weight_density = 0.2;
    ExpectSparseMatchesReference(c);
  }
}

// Enough work to split the tiles over the threads (SparseConv::parallel): tiles of 16 to 64
// output channels by lanes, each thread with its own tile.
TEST(SparseConv, LargeConvolutionSplitsOverTheThreads) {
  testing::conv::OpConfig c;
  c.in_h = 24;
  c.in_w = 40;
  c.in_c = 48;
  c.out_c = 70;            // a last channel tile of 6
  c.weight_density = 0.3;  // ~9.3K taps x 1,038 lanes: 9.6M lane-MACs
  c.activation = tflite::ActivationFunctionType::RELU;
  ExpectSparseMatchesReference(c);
}

// The interpreter names the kernel each node chose (edgeopt bench --profile): the sparse one
// for a pruned 3x3 filter, unless sparse kernels are off; the dense one for a dense filter.
TEST(SparseConv, InterpreterNamesTheKernelItChose) {
  if (SparseIsaFor(GetCpuInfo()) == SparseIsa::kScalar) GTEST_SKIP() << "no sparse SIMD kernels";
  auto kernel = [](double density, SparseKernels sparse) {
    testing::conv::OpConfig c;
    c.in_h = c.in_w = 13;
    c.in_c = 32;
    c.out_c = 64;
    c.padding = tflite::Padding::VALID;
    c.weight_density = density;
    return testing::conv::NodeKernel(c, sparse);
  };
  // x86 aligns the rows to its vectors; NEON reads across cache lines (Layout).
  EXPECT_EQ(kernel(0.2, SparseKernels::kAuto),
            SparseIsaFor(GetCpuInfo()) == SparseIsa::kNeon ? "sparse kxk" : "sparse kxk aligned");
  const std::string dense = kernel(1.0, SparseKernels::kAuto);
  EXPECT_TRUE(dense == "igemm" || dense == "direct 3x3") << dense;
  EXPECT_EQ(kernel(0.2, SparseKernels::kOff), dense);
}

// Every weight zero: the output is the bias, through the activation.
TEST(SparseConv, AllZeroFilterGivesTheBias) {
  testing::conv::OpConfig c;
  c.in_h = 6;
  c.in_w = 20;
  c.in_c = 5;
  c.out_c = 17;
  c.weight_density = 0.0;
  ExpectSparseMatchesReference(c);
}

TEST(SparseConv, DecisionFollowsTheWorkRatio) {
  ref::ConvGeometry g;
  g.batch = 1;
  g.in_h = g.in_w = 13;
  g.in_c = 32;
  g.out_c = 64;
  g.filter_h = g.filter_w = 3;
  g.out_h = g.out_w = 11;  // VALID
  std::vector<float> w(static_cast<size_t>(g.K()) * g.out_c, 0.0f);
  std::mt19937 rng(3);
  std::uniform_real_distribution<double> u(0.0, 1.0);
  auto fill = [&](double density) {
    for (float& v : w) v = u(rng) < density ? 0.5f : 0.0f;
  };
  // The work ratio: density x (lanes rounded to vectors) / pixels. Rows of 13 cost 144 lanes
  // (10 * 13 + 11, rounded up to vectors) at 1.6 each for loads across cache lines; rows
  // aligned to 16 cost 176 (10 * 16 + 11, rounded): aligned.
  fill(0.2);
  SparseConv d;
  const bool use = DecideSparseConv(g, w.data(), SparseIsa::kAvx512, SparseMode::kAuto, false, &d);
  int64_t stored = 0;
  for (float v : w) stored += v != 0.0f;
  EXPECT_EQ(d.stored, stored);
  EXPECT_DOUBLE_EQ(d.density, static_cast<double>(stored) / static_cast<double>(w.size()));
  EXPECT_DOUBLE_EQ(d.work_ratio, d.density * 176.0 / 121.0);
  EXPECT_EQ(use, d.work_ratio < SparseConvMaxWorkRatio(SparseIsa::kAvx512, false, g.out_c));
  EXPECT_TRUE(use);  // 80 % pruned
  fill(0.6);
  EXPECT_FALSE(DecideSparseConv(g, w.data(), SparseIsa::kAvx512, SparseMode::kAuto, false, &d));
  EXPECT_TRUE(DecideSparseConv(g, w.data(), SparseIsa::kAvx512, SparseMode::kAlways, false, &d));
  EXPECT_FALSE(DecideSparseConv(g, w.data(), SparseIsa::kAvx512, SparseMode::kNever, false, &d));
  // Rows stay unaligned when rounding them up costs more: a 7x7 output under 3x3 SAME has rows
  // of 9, 6 * 9 + 7 = 61 -> 64 lanes unaligned (102.4 at 1.6 each) against 6 * 16 + 7 = 103 ->
  // 112 aligned.
  ref::ConvGeometry small = g;
  small.in_h = small.in_w = small.out_h = small.out_w = 7;
  small.pad_top = small.pad_left = 1;
  std::vector<float> ones(static_cast<size_t>(small.K()) * small.out_c, 1.0f);
  DecideSparseConv(small, ones.data(), SparseIsa::kAvx512, SparseMode::kAuto, false, &d);
  EXPECT_DOUBLE_EQ(d.work_ratio, 64.0 * 1.6 / 49.0);
  // NEON: rows never aligned, lanes rounded to its 4-lane vectors at their count (10 * 13 + 11
  // = 141 -> 144); the same decision at its own break-even.
  fill(0.2);
  const bool neon = DecideSparseConv(g, w.data(), SparseIsa::kNeon, SparseMode::kAuto, false, &d);
  EXPECT_FALSE(d.aligned);
  EXPECT_EQ(d.copies, 1);
  EXPECT_DOUBLE_EQ(d.work_ratio, d.density * 144.0 / 121.0);
  EXPECT_EQ(neon, d.work_ratio < SparseConvMaxWorkRatio(SparseIsa::kNeon, false, g.out_c));
  EXPECT_TRUE(neon);  // 80 % pruned
  fill(0.6);
  EXPECT_FALSE(DecideSparseConv(g, w.data(), SparseIsa::kNeon, SparseMode::kAuto, false, &d));
  // The portable loop is never chosen on its own.
  fill(0.01);
  EXPECT_FALSE(DecideSparseConv(g, w.data(), SparseIsa::kScalar, SparseMode::kAuto, false, &d));
  // Geometries it does not run: stride 2, groups, 1x1 pointwise.
  ref::ConvGeometry s2 = g;
  s2.stride_h = s2.stride_w = 2;
  s2.out_h = s2.out_w = 6;
  EXPECT_FALSE(DecideSparseConv(s2, w.data(), SparseIsa::kAvx512, SparseMode::kAlways, false, &d));
  ref::ConvGeometry grouped = g;
  grouped.groups = 2;
  EXPECT_FALSE(
      DecideSparseConv(grouped, w.data(), SparseIsa::kAvx512, SparseMode::kAlways, false, &d));
  ref::ConvGeometry pointwise = g;
  pointwise.filter_h = pointwise.filter_w = 1;
  pointwise.out_h = pointwise.out_w = 13;
  EXPECT_FALSE(
      DecideSparseConv(pointwise, w.data(), SparseIsa::kAvx512, SparseMode::kAlways, false, &d));
}

}  // namespace
}  // namespace rt
}  // namespace edgeopt
