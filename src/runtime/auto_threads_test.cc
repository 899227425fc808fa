// Auto threads (InterpreterOptions::num_threads <= 0): EstimateWork counts a model's
// multiply-accumulates without its zero weights, before Prepare, and the interpreter runs a
// model of less work than 2M on one thread and a larger one on every core; an explicit thread
// count is kept as given.
#include <gtest/gtest.h>

#include <cstdint>
#include <memory>

#include "src/runtime/interpreter.h"
#include "src/runtime/kernels/conv_test_util.h"
#include "src/runtime/model_stats.h"

namespace edgeopt {
namespace testing {
namespace {

using conv::OpConfig;

// A float 3x3 VALID convolution of a 1-channel image to `out_c` channels.
OpConfig Conv(int size, int out_c, double density = 1.0) {
  OpConfig c;
  c.in_h = c.in_w = size;
  c.in_c = 1;
  c.out_c = out_c;
  c.padding = tflite::Padding::VALID;
  c.weight_density = density;
  return c;
}

std::unique_ptr<rt::Interpreter> Load(const conv::BuiltOp& built, int threads) {
  rt::InterpreterOptions options;
  options.num_threads = threads;
  auto interp = rt::Interpreter::Create(built.model.data(), built.model.size(), options);
  EXPECT_TRUE(interp.ok()) << interp.status().ToString();
  return interp.ok() ? std::move(*interp) : nullptr;
}

// Machines with one core never get a second thread.
int Cores() { return std::max(1, rt::GetCpuInfo().num_cores); }

TEST(AutoThreads, EstimateWorkCountsMacsWithoutZeroWeights) {
  const conv::BuiltOp dense = conv::BuildOp(Conv(28, 32));
  auto interp = Load(dense, 1);
  ASSERT_NE(interp, nullptr);
  EXPECT_EQ(rt::EstimateWork(interp.get()), int64_t{26} * 26 * 32 * 9);
  // Scanning skipped above the limit: the dense count.
  EXPECT_EQ(rt::EstimateWork(interp.get(), 1000), int64_t{26} * 26 * 32 * 9);

  const conv::BuiltOp pruned = conv::BuildOp(Conv(28, 32, 0.25));
  auto p = Load(pruned, 1);
  ASSERT_NE(p, nullptr);
  const rt::ModelStats stats = rt::ComputeModelStats(p.get());
  // The filter's nonzeros times the output pixels: what the sparse kernels multiply.
  const int64_t nonzero_filter = stats.nonzero_parameters - 32;  // less the bias
  const int64_t work = rt::EstimateWork(p.get());
  EXPECT_NEAR(static_cast<double>(work), 26.0 * 26 * nonzero_filter, 1.0);
  EXPECT_LT(work, int64_t{26} * 26 * 32 * 9 / 2);
}

TEST(AutoThreads, SmallModelsRunOnOneThreadLargeOnesOnEveryCore) {
  // 26x26x32x9 = 0.19M MACs; 126x126x32x9 = 4.6M.
  auto small = Load(conv::BuildOp(Conv(28, 32)), 0);
  auto large = Load(conv::BuildOp(Conv(128, 32)), 0);
  // 4.6M dense, 10 % of the weights kept: 0.46M.
  auto pruned = Load(conv::BuildOp(Conv(128, 32, 0.1)), 0);
  ASSERT_TRUE(small != nullptr && large != nullptr && pruned != nullptr);
  EXPECT_EQ(small->num_threads(), 1);
  EXPECT_EQ(large->num_threads(), std::min(Cores(), 64));
  EXPECT_EQ(pruned->num_threads(), 1);
}

TEST(AutoThreads, AnExplicitCountIsKept) {
  auto small = Load(conv::BuildOp(Conv(28, 32)), 2);
  ASSERT_NE(small, nullptr);
  EXPECT_EQ(small->num_threads(), 2);
}

}  // namespace
}  // namespace testing
}  // namespace edgeopt
