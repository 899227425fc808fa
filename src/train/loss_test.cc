// Loss values and gradients against hand-computed goldens (log-sum-exp, Keras clipping).
#include "src/train/loss.h"

#include <gtest/gtest.h>

#include <cmath>
#include <vector>

namespace edgeopt {
namespace train {
namespace {

constexpr double kTol = 1e-6;

TEST(LossTest, SparseSoftmaxCrossEntropyValueAndGradient) {
  const float logits[6] = {1.0f, 2.0f, 0.5f, -1.0f, 0.0f, 3.0f};
  const int32_t labels[2] = {1, 0};
  float grad[6];
  EXPECT_NEAR(SparseSoftmaxCrossEntropy(logits, labels, 2, 3, grad), 2.26512634, kTol);
  // grad = (softmax - onehot) / batch; rows sum to zero.
  const double e0 = std::exp(1.0), e1 = std::exp(2.0), e2 = std::exp(0.5);
  EXPECT_NEAR(grad[0], e0 / (e0 + e1 + e2) / 2, kTol);
  EXPECT_NEAR(grad[1], (e1 / (e0 + e1 + e2) - 1) / 2, kTol);
  EXPECT_NEAR(grad[3] + grad[4] + grad[5], 0.0, kTol);
  // Stable for huge logits.
  const float big[3] = {1000.0f, -1000.0f, 0.0f};
  const int32_t zero = 0;
  EXPECT_NEAR(SparseSoftmaxCrossEntropy(big, &zero, 1, 3, nullptr), 0.0, 1e-6);
  EXPECT_EQ(CountCorrect(logits, labels, 2, 3), 1);
}

TEST(LossTest, CategoricalEqualsSparseForOneHot) {
  const float logits[6] = {1.0f, 2.0f, 0.5f, -1.0f, 0.0f, 3.0f};
  const float onehot[6] = {0, 1, 0, 1, 0, 0};
  const int32_t labels[2] = {1, 0};
  float g1[6], g2[6];
  EXPECT_NEAR(SoftmaxCrossEntropy(logits, onehot, 2, 3, g1),
              SparseSoftmaxCrossEntropy(logits, labels, 2, 3, g2), kTol);
  for (int i = 0; i < 6; ++i) EXPECT_NEAR(g1[i], g2[i], 1e-7);
}

TEST(LossTest, CrossEntropyFromProbabilitiesClipsLikeKeras) {
  const float probs[3] = {0.2f, 0.7f, 0.1f};
  const int32_t label = 1;
  float grad[3];
  EXPECT_NEAR(SparseCrossEntropyFromProbs(probs, &label, 1, 3, grad), 0.356674944, 1e-6);
  EXPECT_NEAR(grad[1], -1.0 / 0.7 + 1.0, 1e-5);
  EXPECT_NEAR(grad[0], 1.0, 1e-5);
  const float zero[3] = {1.0f, 0.0f, 0.0f};
  EXPECT_NEAR(SparseCrossEntropyFromProbs(zero, &label, 1, 3, nullptr), -std::log(1e-7), 1e-3);
}

TEST(LossTest, MeanSquaredError) {
  const float pred[4] = {1.0f, 2.0f, 0.5f, -1.0f};
  const float target[4] = {0.5f, 3.0f, 0.0f, 1.0f};
  float grad[4];
  EXPECT_NEAR(MeanSquaredError(pred, target, 2, 2, grad), 1.375, kTol);
  EXPECT_NEAR(grad[3], 2.0 * (-2.0) / 4.0, kTol);
}

TEST(LossTest, DistillationKlWithTemperature) {
  const float student[6] = {1.0f, 2.0f, 0.5f, -1.0f, 0.0f, 3.0f};
  const float teacher[6] = {0.5f, 2.5f, 0.0f, 0.0f, 0.0f, 1.0f};
  float grad[6];
  EXPECT_NEAR(DistillationKl(student, teacher, 2, 3, 3.0f, grad), 0.472590931, kTol);
  EXPECT_NEAR(grad[0], 0.0673253101, kTol);
  EXPECT_NEAR(grad[1], -0.124314955, kTol);
  EXPECT_NEAR(grad[2], 0.0569896446, kTol);
  // Identical logits: zero loss and gradient.
  EXPECT_NEAR(DistillationKl(student, student, 2, 3, 4.0f, grad), 0.0, 1e-9);
  for (float g : grad) EXPECT_NEAR(g, 0.0f, 1e-7f);
}

TEST(LossTest, ParseNames) {
  EXPECT_EQ(*ParseLossKind("mse"), LossKind::kMeanSquaredError);
  EXPECT_EQ(*ParseLossKind("sparse_categorical_crossentropy"),
            LossKind::kSparseCategoricalCrossentropy);
  EXPECT_FALSE(ParseLossKind("hinge").ok());
}

}  // namespace
}  // namespace train
}  // namespace edgeopt
