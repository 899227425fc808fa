// Optimizer update rules against goldens computed from Keras' formulas (lr 0.1, weights
// [1, -2], gradients [0.5, -1], [0.1, 0.3], [-0.2, 0.05]), schedules and clipping.
#include "src/train/optimizer.h"

#include <gtest/gtest.h>

#include <vector>

namespace edgeopt {
namespace train {
namespace {

constexpr float kTol = 1e-6f;

std::vector<float> RunSteps(OptimizerConfig config, int threads = 1) {
  Value value;
  value.kind = ValueKind::kParameter;
  value.shape = {2};
  value.size = 2;
  value.data = {1.0f, -2.0f};
  value.grad = {0.0f, 0.0f};
  value.requires_grad = true;
  std::vector<Parameter> params(1);
  params[0].value = &value;
  params[0].size = 2;
  params[0].has_grad = true;
  params[0].name = "w";
  Optimizer opt(config);
  rt::ThreadPool pool(threads);
  const float grads[3][2] = {{0.5f, -1.0f}, {0.1f, 0.3f}, {-0.2f, 0.05f}};
  for (const auto& g : grads) {
    value.grad = {g[0], g[1]};
    opt.Step(&params, config.learning_rate, &pool);
  }
  EXPECT_EQ(opt.iterations(), 3);
  return value.data;
}

TEST(OptimizerTest, AdamMatchesKerasFormula) {
  OptimizerConfig c = DefaultOptimizerConfig(OptimizerKind::kAdam);
  EXPECT_FLOAT_EQ(c.learning_rate, 1e-3f);
  EXPECT_FLOAT_EQ(c.beta1, 0.9f);
  EXPECT_FLOAT_EQ(c.beta2, 0.999f);
  EXPECT_FLOAT_EQ(c.epsilon, 1e-7f);
  c.learning_rate = 0.1f;
  const std::vector<float> w = RunSteps(c);
  EXPECT_NEAR(w[0], 0.785261856f, kTol);
  EXPECT_NEAR(w[1], -1.82723958f, kTol);
  EXPECT_EQ(RunSteps(c, 2), w);
}

TEST(OptimizerTest, AdamWDecaysDecoupled) {
  OptimizerConfig c = DefaultOptimizerConfig(OptimizerKind::kAdamW);
  EXPECT_FLOAT_EQ(c.weight_decay, 0.004f);
  c.learning_rate = 0.1f;
  const std::vector<float> w = RunSteps(c);
  EXPECT_NEAR(w[0], 0.784174441f, kTol);
  EXPECT_NEAR(w[1], -1.82493764f, kTol);
}

TEST(OptimizerTest, SgdPlainMomentumNesterov) {
  OptimizerConfig c = DefaultOptimizerConfig(OptimizerKind::kSgd);
  EXPECT_FLOAT_EQ(c.learning_rate, 0.01f);
  c.learning_rate = 0.1f;
  std::vector<float> w = RunSteps(c);
  EXPECT_NEAR(w[0], 0.96f, kTol);
  EXPECT_NEAR(w[1], -1.935f, kTol);
  c.momentum = 0.9f;
  w = RunSteps(c);
  EXPECT_NEAR(w[0], 0.8655f, kTol);
  EXPECT_NEAR(w[1], -1.791f, kTol);
  c.nesterov = true;
  w = RunSteps(c);
  EXPECT_NEAR(w[0], 0.83895f, kTol);
  EXPECT_NEAR(w[1], -1.7469f, kTol);
}

TEST(OptimizerTest, ClippingByGlobalNormAndValue) {
  Value value;
  value.size = 2;
  value.data = {0.0f, 0.0f};
  value.grad = {3.0f, 4.0f};  // norm 5
  std::vector<Parameter> params(1);
  params[0].value = &value;
  params[0].size = 2;
  params[0].has_grad = true;
  OptimizerConfig c = DefaultOptimizerConfig(OptimizerKind::kSgd);
  c.learning_rate = 1.0f;
  c.clip_global_norm = 1.0f;
  Optimizer opt(c);
  EXPECT_NEAR(opt.Step(&params, 1.0f, nullptr), 5.0, 1e-6);
  EXPECT_NEAR(value.data[0], -0.6f, kTol);
  EXPECT_NEAR(value.data[1], -0.8f, kTol);
  c.clip_global_norm = 0.0f;
  c.clip_value = 0.5f;
  Optimizer opt2(c);
  value.data = {0.0f, 0.0f};
  value.grad = {3.0f, -0.25f};
  opt2.Step(&params, 1.0f, nullptr);
  EXPECT_NEAR(value.data[0], -0.5f, kTol);
  EXPECT_NEAR(value.data[1], 0.25f, kTol);
}

TEST(OptimizerTest, Schedules) {
  LrSchedule s;
  s.base_lr = 0.1f;
  EXPECT_FLOAT_EQ(s.At(0), 0.1f);
  EXPECT_FLOAT_EQ(s.At(1000), 0.1f);
  s.warmup_steps = 4;
  EXPECT_FLOAT_EQ(s.At(0), 0.025f);
  EXPECT_FLOAT_EQ(s.At(3), 0.1f);
  s.kind = LrSchedule::Kind::kStep;
  s.step_size = 10;
  s.gamma = 0.5f;
  EXPECT_FLOAT_EQ(s.At(4 + 9), 0.1f);
  EXPECT_FLOAT_EQ(s.At(4 + 10), 0.05f);
  EXPECT_FLOAT_EQ(s.At(4 + 25), 0.025f);
  s.kind = LrSchedule::Kind::kCosine;
  s.total_steps = 104;
  s.min_lr = 0.0f;
  EXPECT_FLOAT_EQ(s.At(4), 0.1f);
  EXPECT_NEAR(s.At(54), 0.05f, 1e-6f);
  EXPECT_NEAR(s.At(104), 0.0f, 1e-7f);
  EXPECT_FALSE(ParseLrScheduleKind("linear").ok());
  EXPECT_FALSE(ParseOptimizerKind("rmsprop").ok());
  EXPECT_EQ(*ParseOptimizerKind("adamw"), OptimizerKind::kAdamW);
}

}  // namespace
}  // namespace train
}  // namespace edgeopt
