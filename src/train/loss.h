// Losses of the train engine. Each returns the mean loss over the batch (Keras'
// "sum_over_batch_size" reduction) and, when `grad` is non-null, writes dLoss/dInput (already
// divided by the batch size) there.
#ifndef EDGEOPT_SRC_TRAIN_LOSS_H_
#define EDGEOPT_SRC_TRAIN_LOSS_H_

#include <cstdint>
#include <string>

#include "include/edgeopt/status.h"

namespace edgeopt {
namespace train {

enum class LossKind {
  kSparseCategoricalCrossentropy,  // integer labels
  kCategoricalCrossentropy,        // one-hot / soft float targets
  kMeanSquaredError,               // float targets
  kBinaryCrossentropy,             // 0 / 1 labels of a 1-output model, or multi-label targets
  kMeanAbsoluteError,              // float targets
  kHuber,                          // float targets (Keras's Huber, delta 1)
};

// "sparse_categorical_crossentropy" / "scce", "categorical_crossentropy" / "cce", "mse",
// "binary_crossentropy" / "bce", "mae", "huber"; Keras's class names (BinaryCrossentropy, ...)
// and long names (mean_squared_error, ...) too.
StatusOr<LossKind> ParseLossKind(const std::string& name);
const char* LossKindName(LossKind kind);
// MSE, MAE, Huber: float targets, no accuracy.
bool IsRegression(LossKind kind);

// Softmax + cross-entropy from logits, fused (stable: log-sum-exp). grad = softmax - onehot.
// `label_smoothing` s (Keras's): the targets become y (1 - s) + s / classes.
double SparseSoftmaxCrossEntropy(const float* logits, const int32_t* labels, int batch, int classes,
                                 float* grad, float label_smoothing = 0.0f);
double SoftmaxCrossEntropy(const float* logits, const float* targets, int batch, int classes,
                           float* grad, float label_smoothing = 0.0f);
// Cross-entropy from probabilities (a model whose output is not a final SOFTMAX): Keras
// normalizes each row to sum 1 and clips to [1e-7, 1 - 1e-7].
double SparseCrossEntropyFromProbs(const float* probs, const int32_t* labels, int batch,
                                   int classes, float* grad);
// Mean over all elements of (pred - target)^2.
double MeanSquaredError(const float* pred, const float* target, int batch, int64_t per_sample,
                        float* grad);
// Mean over all elements of |pred - target| (gradient sign(d) / n, 0 where d is 0).
double MeanAbsoluteError(const float* pred, const float* target, int batch, int64_t per_sample,
                         float* grad);
// Mean over all elements of Keras's Huber loss: d^2 / 2 where |d| <= delta, else
// delta (|d| - delta / 2).
double HuberLoss(const float* pred, const float* target, int batch, int64_t per_sample, float delta,
                 float* grad);
// Binary cross-entropy of n = batch * outputs values (targets in [0, 1]), the mean over all of
// them as Keras's BinaryCrossentropy. From logits z (a final LOGISTIC fused, stable):
// max(z, 0) - z y + log(1 + exp(-|z|)), gradient (sigmoid(z) - y) / n. From probabilities p
// (clipped to [1e-7, 1 - 1e-7] as Keras): -(y log p + (1 - y) log(1 - p)). `label_smoothing` s:
// the targets become y (1 - s) + s / 2.
double SigmoidBinaryCrossEntropy(const float* logits, const float* targets, int64_t n, float* grad,
                                 float label_smoothing = 0.0f);
double BinaryCrossEntropyFromProbs(const float* probs, const float* targets, int64_t n,
                                   float* grad);
// Values on the same side of `threshold` as their target is of 0.5 (Keras's binary accuracy:
// threshold 0.5 for probabilities, 0 for logits).
int64_t CountBinaryCorrect(const float* scores, const float* targets, int64_t n, float threshold);
// Distillation: T^2 * KL(softmax(t/T) || softmax(s/T)) from student logits s and teacher
// logits t. The gradient w.r.t. s is T * (softmax(s/T) - softmax(t/T)) / batch.
double DistillationKl(const float* student_logits, const float* teacher_logits, int batch,
                      int classes, float temperature, float* grad);
// Binary distillation, the same with the two classes' logits [0, z]: T^2 times the KL of
// Bernoulli(sigmoid(t/T)) to Bernoulli(sigmoid(s/T)), the mean over n values; the gradient
// w.r.t. s is T * (sigmoid(s/T) - sigmoid(t/T)) / n.
double BinaryDistillationKl(const float* student_logits, const float* teacher_logits, int64_t n,
                            float temperature, float* grad);
// Rows whose arg-max equals the label.
int64_t CountCorrect(const float* scores, const int32_t* labels, int batch, int classes);
// Rows whose label is among their k highest scores (ties counted in the label's favor only when
// strictly fewer than k scores are higher), as Keras's top-k categorical accuracy.
int64_t CountTopK(const float* scores, const int32_t* labels, int batch, int classes, int k);
// Rows whose arg-max is the arg-max of their target (Keras's categorical accuracy).
int64_t CountCorrectOfTargets(const float* scores, const float* targets, int batch, int classes);
// The class a row of scores predicts: its arg-max, or for one value (binary) whether it is
// above `threshold` (0 for logits, 0.5 for probabilities).
int PredictedClass(const float* scores, int classes, float threshold = 0.0f);

}  // namespace train
}  // namespace edgeopt

#endif  // EDGEOPT_SRC_TRAIN_LOSS_H_
