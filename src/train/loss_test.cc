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

TEST(LossTest, BinaryCrossEntropyFromLogitsAndProbabilities) {
  // max(z, 0) - z y + log(1 + exp(-|z|)), stable for large |z|.
  const float z[5] = {2.0f, -1.0f, 0.0f, 30.0f, -30.0f};
  const float y[5] = {1.0f, 0.0f, 1.0f, 0.0f, 1.0f};
  float grad[5];
  EXPECT_NEAR(SigmoidBinaryCrossEntropy(z, y, 5, grad), 12.226667375824267, kTol);
  for (int i = 0; i < 5; ++i) {  // (sigmoid(z) - y) / n
    EXPECT_NEAR(grad[i], (1.0 / (1.0 + std::exp(-z[i])) - y[i]) / 5.0, 1e-7) << i;
  }
  // Finite differences of the loss.
  const float soft[5] = {0.8f, 0.1f, 0.5f, 0.3f, 0.9f};
  float small[5] = {0.7f, -0.4f, 1.3f, -2.0f, 0.05f}, g[5];
  SigmoidBinaryCrossEntropy(small, soft, 5, g);
  for (int i = 0; i < 5; ++i) {
    const float keep = small[i];
    small[i] = keep + 1e-3f;
    const double up = SigmoidBinaryCrossEntropy(small, soft, 5, nullptr);
    small[i] = keep - 1e-3f;
    const double down = SigmoidBinaryCrossEntropy(small, soft, 5, nullptr);
    small[i] = keep;
    EXPECT_NEAR(g[i], (up - down) / 2e-3, 1e-5) << i;
  }
  // From probabilities, clipped to [1e-7, 1 - 1e-7] as Keras: the same loss as from their
  // logits, and the gradient through the sigmoid (dp/dz = p (1 - p)) is the fused one.
  const float p[5] = {0.9f, 0.2f, 0.5f, 1.0f, 0.0f};
  float gp[5];
  EXPECT_NEAR(BinaryCrossEntropyFromProbs(p, y, 5, gp), 6.651568509994997, 1e-6);
  EXPECT_EQ(gp[3], 0.0f);  // clipped
  float probs[5], gz[5];
  for (int i = 0; i < 5; ++i) probs[i] = 1.0f / (1.0f + std::exp(-small[i]));
  EXPECT_NEAR(BinaryCrossEntropyFromProbs(probs, soft, 5, gp),
              SigmoidBinaryCrossEntropy(small, soft, 5, gz), 1e-6);
  for (int i = 0; i < 5; ++i) EXPECT_NEAR(gp[i] * probs[i] * (1 - probs[i]), gz[i], 1e-6) << i;
  // Binary accuracy: logits above 0 (probabilities above 0.5) against targets above 0.5.
  EXPECT_EQ(CountBinaryCorrect(z, y, 5, 0.0f), 2);  // 2 -> 1 and -1 -> 0 right, 0 -> 0 wrong
  EXPECT_EQ(CountBinaryCorrect(p, y, 5, 0.5f), 2);
  EXPECT_EQ(PredictedClass(z, 1), 1);
  EXPECT_EQ(PredictedClass(&p[1], 1, 0.5f), 0);
  EXPECT_EQ(PredictedClass(soft, 5), 4);
  const int32_t labels[2] = {1, 0};
  const float targets[6] = {0.1f, 0.8f, 0.1f, 0.2f, 0.7f, 0.1f};
  const float scores[6] = {0.0f, 2.0f, 1.0f, 3.0f, 1.0f, 0.0f};
  EXPECT_EQ(CountCorrect(scores, labels, 2, 3), 2);
  EXPECT_EQ(CountCorrectOfTargets(scores, targets, 2, 3), 1);
  // Top-k: row 0 ranks its label 1 first, row 1 its label 0 first too; label 2 of row 0 is
  // second, of row 1 third.
  const int32_t second[2] = {2, 2};
  EXPECT_EQ(CountTopK(scores, labels, 2, 3, 1), 2);
  EXPECT_EQ(CountTopK(scores, second, 2, 3, 1), 0);
  EXPECT_EQ(CountTopK(scores, second, 2, 3, 2), 1);
  EXPECT_EQ(CountTopK(scores, second, 2, 3, 3), 2);
}

TEST(LossTest, BinaryDistillationIsTheTwoClassOneOfLogitsZeroAndZ) {
  const float s[4] = {1.5f, -0.5f, 3.0f, -4.0f};
  const float t[4] = {0.5f, 1.0f, 2.0f, -2.0f};
  float g[4];
  const double kl = BinaryDistillationKl(s, t, 4, 3.0f, g);
  double sum = 0.0;
  for (int i = 0; i < 4; ++i) {
    const float s2[2] = {0.0f, s[i]}, t2[2] = {0.0f, t[i]};
    float g2[2];
    sum += DistillationKl(s2, t2, 1, 2, 3.0f, g2);
    EXPECT_NEAR(g[i], (g2[1] - g2[0]) / 2.0f / 4.0f, 1e-6) << i;  // d/dz of logits [0, z]
  }
  EXPECT_NEAR(kl, sum / 4.0, 1e-9);
  EXPECT_NEAR(BinaryDistillationKl(s, s, 4, 2.0f, g), 0.0, 1e-12);
}

TEST(LossTest, LabelSmoothingAsKeras) {
  // Sparse with smoothing s is the categorical one of targets onehot (1 - s) + s / classes.
  const float logits[6] = {1.0f, 2.0f, 0.5f, -1.0f, 0.0f, 3.0f};
  const int32_t labels[2] = {1, 0};
  const float s = 0.2f;
  float smoothed[6];
  for (int i = 0; i < 6; ++i) smoothed[i] = ((i % 3) == labels[i / 3] ? 1.0f - s : 0.0f) + s / 3;
  const float onehot[6] = {0, 1, 0, 1, 0, 0};
  float g1[6], g2[6], g3[6];
  const double sparse = SparseSoftmaxCrossEntropy(logits, labels, 2, 3, g1, s);
  EXPECT_NEAR(sparse, SoftmaxCrossEntropy(logits, smoothed, 2, 3, g2), 1e-6);
  EXPECT_NEAR(sparse, SoftmaxCrossEntropy(logits, onehot, 2, 3, g3, s), 1e-6);
  for (int i = 0; i < 6; ++i) {
    EXPECT_NEAR(g1[i], g2[i], 1e-7) << i;
    EXPECT_NEAR(g1[i], g3[i], 1e-7) << i;
  }
  // Binary: targets y (1 - s) + s / 2.
  const float z[3] = {2.0f, -1.0f, 0.5f}, y[3] = {1.0f, 0.0f, 1.0f};
  const float ys[3] = {0.9f, 0.1f, 0.9f};
  float gb[3], gs[3];
  EXPECT_NEAR(SigmoidBinaryCrossEntropy(z, y, 3, gb, 0.2f), SigmoidBinaryCrossEntropy(z, ys, 3, gs),
              1e-7);
  for (int i = 0; i < 3; ++i) EXPECT_NEAR(gb[i], gs[i], 1e-7) << i;
}

TEST(LossTest, MeanAbsoluteErrorAndHuber) {
  const float pred[4] = {1.0f, 2.0f, 0.5f, -1.0f};
  const float target[4] = {0.5f, 3.0f, 0.5f, 2.0f};  // d = 0.5, -1, 0, -3
  float g[4];
  EXPECT_NEAR(MeanAbsoluteError(pred, target, 2, 2, g), (0.5 + 1 + 0 + 3) / 4.0, kTol);
  EXPECT_FLOAT_EQ(g[0], 0.25f);
  EXPECT_FLOAT_EQ(g[1], -0.25f);
  EXPECT_FLOAT_EQ(g[2], 0.0f);
  // Huber, delta 1: 0.125, 0.5, 0, 1 * (3 - 0.5).
  EXPECT_NEAR(HuberLoss(pred, target, 2, 2, 1.0f, g), (0.125 + 0.5 + 0 + 2.5) / 4.0, kTol);
  EXPECT_FLOAT_EQ(g[0], 0.5f / 4);
  EXPECT_FLOAT_EQ(g[1], -1.0f / 4);
  EXPECT_FLOAT_EQ(g[3], -1.0f / 4);  // clipped to delta
  // Finite differences away from the kinks.
  float p[4] = {0.3f, -0.7f, 2.2f, 1.9f};
  const float t[4] = {0.0f, 0.0f, 0.0f, 1.0f};
  for (int which = 0; which < 2; ++which) {
    auto loss = [&](float* grad) {
      return which == 0 ? MeanAbsoluteError(p, t, 1, 4, grad) : HuberLoss(p, t, 1, 4, 1.0f, grad);
    };
    loss(g);
    for (int i = 0; i < 4; ++i) {
      const float keep = p[i];
      p[i] = keep + 1e-3f;
      const double up = loss(nullptr);
      p[i] = keep - 1e-3f;
      const double down = loss(nullptr);
      p[i] = keep;
      EXPECT_NEAR(g[i], (up - down) / 2e-3, 5e-5) << which << " " << i;  // float steps
    }
  }
  EXPECT_TRUE(IsRegression(LossKind::kHuber));
  EXPECT_FALSE(IsRegression(LossKind::kBinaryCrossentropy));
}

TEST(LossTest, ParseNames) {
  EXPECT_EQ(*ParseLossKind("MeanAbsoluteError"), LossKind::kMeanAbsoluteError);
  EXPECT_EQ(*ParseLossKind("mae"), LossKind::kMeanAbsoluteError);
  EXPECT_EQ(*ParseLossKind("huber"), LossKind::kHuber);
  EXPECT_EQ(*ParseLossKind("mean_squared_error"), LossKind::kMeanSquaredError);
  EXPECT_EQ(*ParseLossKind("CategoricalCrossentropy"), LossKind::kCategoricalCrossentropy);
  EXPECT_FALSE(ParseLossKind("").ok());
  EXPECT_EQ(*ParseLossKind("binary_crossentropy"), LossKind::kBinaryCrossentropy);
  EXPECT_EQ(*ParseLossKind("bce"), LossKind::kBinaryCrossentropy);
  EXPECT_EQ(*ParseLossKind("mse"), LossKind::kMeanSquaredError);
  EXPECT_EQ(*ParseLossKind("sparse_categorical_crossentropy"),
            LossKind::kSparseCategoricalCrossentropy);
  EXPECT_FALSE(ParseLossKind("hinge").ok());
}

}  // namespace
}  // namespace train
}  // namespace edgeopt
