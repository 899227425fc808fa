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
};

// "sparse_categorical_crossentropy" / "scce", "categorical_crossentropy" / "cce", "mse".
StatusOr<LossKind> ParseLossKind(const std::string& name);
const char* LossKindName(LossKind kind);

// Softmax + cross-entropy from logits, fused (stable: log-sum-exp). grad = softmax - onehot.
double SparseSoftmaxCrossEntropy(const float* logits, const int32_t* labels, int batch, int classes,
                                 float* grad);
double SoftmaxCrossEntropy(const float* logits, const float* targets, int batch, int classes,
                           float* grad);
// Cross-entropy from probabilities (a model whose output is not a final SOFTMAX): Keras
// normalizes each row to sum 1 and clips to [1e-7, 1 - 1e-7].
double SparseCrossEntropyFromProbs(const float* probs, const int32_t* labels, int batch,
                                   int classes, float* grad);
// Mean over all elements of (pred - target)^2.
double MeanSquaredError(const float* pred, const float* target, int batch, int64_t per_sample,
                        float* grad);
// Distillation: T^2 * KL(softmax(t/T) || softmax(s/T)) from student logits s and teacher
// logits t. The gradient w.r.t. s is T * (softmax(s/T) - softmax(t/T)) / batch.
double DistillationKl(const float* student_logits, const float* teacher_logits, int batch,
                      int classes, float temperature, float* grad);
// Rows whose arg-max equals the label.
int64_t CountCorrect(const float* scores, const int32_t* labels, int batch, int classes);

}  // namespace train
}  // namespace edgeopt

#endif  // EDGEOPT_SRC_TRAIN_LOSS_H_
