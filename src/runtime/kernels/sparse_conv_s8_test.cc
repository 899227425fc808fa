// int8 CONV_2D on the sparse matmul kernels (sparse_matmul.h): 1x1 on the input rows, KxK on
// im2col rows made block by block. The whole op with the sparse kernels forced, at every ISA
// level and 1 and 2 threads, is bit-identical to the reference kernels on random pruned
// filters (1x4 blocks and single weights; KxK, strides, dilations, SAME and VALID, batch 1 and
// 2, per-channel and per-tensor, every activation); the interpreter's choice on AVX-512.
#include <gtest/gtest.h>

#include <random>
#include <string>
#include <vector>

#include "src/runtime/cpu_info.h"
#include "src/runtime/interpreter.h"
#include "src/runtime/kernels/conv_test_util.h"
#include "src/runtime/kernels/elem_test_util.h"
#include "src/runtime/kernels/sparse_matmul.h"

namespace edgeopt {
namespace rt {
namespace {

void ExpectSparseMatchesReference(const testing::conv::OpConfig& c) {
  const testing::conv::BuiltOp built = testing::conv::BuildOp(c);
  InterpreterOptions ref_options;
  ref_options.use_optimized_kernels = false;
  auto ref = testing::RunEdgeopt(built.model, built.inputs, ref_options);
  ASSERT_TRUE(ref.ok()) << c.Describe() << ": " << ref.status().ToString();
  const int64_t n = (*ref)[0].NumElements();
  const int8_t* expected = (*ref)[0].Data<int8_t>();
  for (const CpuInfo& cpu : testing::OptimizedLevels()) {
    for (int threads : {1, 2}) {
      InterpreterOptions options;
      options.cpu = &cpu;
      options.num_threads = threads;
      options.sparse_kernels = SparseKernels::kForce;
      auto interp = Interpreter::Create(built.model.data(), built.model.size(), options);
      const std::string what = c.Describe() + " density=" + std::to_string(c.weight_density) +
                               " block=" + std::to_string(c.weight_block) + " [isa " +
                               std::to_string(static_cast<int>(SparseIsaFor(cpu))) + ", " +
                               std::to_string(threads) + " threads]";
      ASSERT_TRUE(interp.ok()) << what << ": " << interp.status().ToString();
      const std::string kernel = (*interp)->node_kernel(0);
      ASSERT_TRUE(kernel == "sparse im2col" || kernel == "sparse 1x1") << what << ": " << kernel;
      auto ours = testing::RunEdgeopt(built.model, built.inputs, options);
      ASSERT_TRUE(ours.ok()) << what << ": " << ours.status().ToString();
      ASSERT_EQ((*ours)[0].NumElements(), n) << what;
      const int8_t* got = (*ours)[0].Data<int8_t>();
      for (int64_t i = 0; i < n; ++i) {
        ASSERT_EQ(got[i], expected[i]) << what << ": element " << i;
      }
    }
  }
}

TEST(SparseConvS8, MatchesTheReferenceBitForBit) {
  using Act = tflite::ActivationFunctionType;
  using testing::conv::Variant;
  std::mt19937 rng(23);
  auto pick = [&](int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(rng); };
  const Act acts[] = {Act::NONE, Act::RELU, Act::RELU6, Act::RELU_N1_TO_1};
  uint32_t seed = 1;
  // The demo's second convolution (13x13x32 -> 11x11x64: 121 rows, 7 full tiles and 9 rows),
  // 1x4 blocks at 20 %, and 1x1 filters.
  for (int filter : {3, 1}) {
    testing::conv::OpConfig c;
    c.variant = Variant::kInt8PerChannel;
    c.in_h = c.in_w = 13;
    c.in_c = 32;
    c.out_c = 64;
    c.filter_h = c.filter_w = filter;
    c.padding = tflite::Padding::VALID;
    c.activation = Act::RELU;
    c.weight_density = 0.2;
    c.weight_block = 4;
    c.seed = seed++;
    ExpectSparseMatchesReference(c);
  }
  for (int i = 0; i < 30; ++i) {
    testing::conv::OpConfig c;
    c.variant = pick(0, 2) == 0 ? Variant::kInt8PerTensor : Variant::kInt8PerChannel;
    c.batch = pick(1, 2);
    c.filter_h = pick(1, 5);
    c.filter_w = pick(1, 5);
    c.stride_h = pick(1, 2);
    c.stride_w = pick(1, 2);
    c.dilation_h = pick(1, 2);
    c.dilation_w = pick(1, 2);
    c.padding = pick(0, 1) == 0 ? tflite::Padding::SAME : tflite::Padding::VALID;
    c.in_h = pick((c.filter_h - 1) * c.dilation_h + 1, 14);
    c.in_w = pick((c.filter_w - 1) * c.dilation_w + 1, 24);
    c.in_c = pick(1, 40);  // K = taps * in_c: multiples of 4 and not
    c.out_c = pick(1, 70);
    c.bias = pick(0, 3) != 0;
    c.activation = acts[pick(0, 3)];
    c.weight_density = std::uniform_real_distribution<double>(0.03, 0.6)(rng);
    c.weight_block = pick(0, 3) == 0 ? 1 : 4;
    c.seed = seed++;
    ExpectSparseMatchesReference(c);
  }
}

// On AVX-512 VNNI the interpreter runs a 3x3 filter of 128 channels pruned in 1x4 blocks to
// 20 % on the quad kernel, and the same filter pruned weight by weight (59 % of its quads
// nonzero), or a dense one, on the dense kernel; sparse kernels off: the dense kernel.
TEST(SparseConvS8, InterpreterChoosesQuadsForBlockPrunedFilters) {
  if (SparseIsaFor(GetCpuInfo()) != SparseIsa::kAvx512) GTEST_SKIP() << "no AVX-512 VNNI";
  auto kernel = [](double density, int block, SparseKernels sparse) {
    testing::conv::OpConfig c;
    c.variant = testing::conv::Variant::kInt8PerChannel;
    c.in_h = c.in_w = 14;
    c.in_c = 128;
    c.out_c = 128;
    c.weight_density = density;
    c.weight_block = block;
    return testing::conv::NodeKernel(c, sparse);
  };
  EXPECT_EQ(kernel(0.2, 4, SparseKernels::kAuto), "sparse im2col");
  const std::string dense = kernel(1.0, 1, SparseKernels::kAuto);
  EXPECT_NE(dense.rfind("sparse", 0), 0u) << dense;
  EXPECT_EQ(kernel(0.2, 1, SparseKernels::kAuto), dense);
  EXPECT_EQ(kernel(0.2, 4, SparseKernels::kOff), dense);
}

}  // namespace
}  // namespace rt
}  // namespace edgeopt
