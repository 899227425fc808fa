// Optimizers with Keras' update rules and defaults, learning-rate schedules and gradient
// clipping.
//
//   SGD:   v = momentum * v - lr * g;  w += v   (Nesterov: w += momentum * v - lr * g);
//          without momentum w -= lr * g.                        Keras default lr 0.01.
//   Adam:  m += (g - m)(1 - b1); v += (g^2 - v)(1 - b2);
//          w -= lr * sqrt(1 - b2^t) / (1 - b1^t) * m / (sqrt(v) + eps).
//          Keras defaults lr 1e-3, b1 0.9, b2 0.999, eps 1e-7.
//   AdamW: Adam with decoupled weight decay (Keras default 0.004).
// Weight decay (any optimizer, as Keras 3): w -= lr * weight_decay * w before the update.
// Clipping: the global norm over all gradients first, then each value to [-clip, clip].
#ifndef EDGEOPT_SRC_TRAIN_OPTIMIZER_H_
#define EDGEOPT_SRC_TRAIN_OPTIMIZER_H_

#include <cstdint>
#include <string>
#include <vector>

#include "include/edgeopt/status.h"
#include "src/train/engine.h"

namespace edgeopt {
namespace train {

enum class OptimizerKind { kSgd, kAdam, kAdamW };

struct OptimizerConfig {
  OptimizerKind kind = OptimizerKind::kAdam;
  float learning_rate = 1e-3f;
  float momentum = 0.0f;  // SGD
  bool nesterov = false;  // SGD
  float beta1 = 0.9f;
  float beta2 = 0.999f;
  float epsilon = 1e-7f;
  float weight_decay = 0.0f;
  float clip_global_norm = 0.0f;  // 0 = off
  float clip_value = 0.0f;        // 0 = off
};

// "sgd", "adam", "adamw".
StatusOr<OptimizerKind> ParseOptimizerKind(const std::string& name);
const char* OptimizerKindName(OptimizerKind kind);
// Keras' defaults for `kind` (learning rate, weight decay).
OptimizerConfig DefaultOptimizerConfig(OptimizerKind kind);

class Optimizer {
 public:
  explicit Optimizer(const OptimizerConfig& config) : config_(config) {}

  // One update of every parameter that has a gradient, at learning rate `lr`. Clips the
  // gradients in place first. Returns the global gradient norm before clipping.
  double Step(std::vector<Parameter>* params, float lr, rt::ThreadPool* pool);
  int64_t iterations() const { return iterations_; }
  const OptimizerConfig& config() const { return config_; }

 private:
  OptimizerConfig config_;
  int64_t iterations_ = 0;
  std::vector<std::vector<float>> m_, v_;
};

// Learning rate per optimizer step: an optional linear warm-up from lr/warmup_steps to lr, then
// constant, step decay (x gamma every step_size steps) or cosine decay to min_lr over the remaining
// steps.
struct LrSchedule {
  // kPlateau: Keras's ReduceLROnPlateau, the rate times `gamma` whenever the validation loss has
  // not improved for a patience of epochs (the trainer sets plateau_scale).
  enum class Kind { kConstant, kStep, kCosine, kPlateau };
  Kind kind = Kind::kConstant;
  float base_lr = 1e-3f;
  int64_t warmup_steps = 0;
  int64_t step_size = 0;       // kStep
  float gamma = 0.1f;          // kStep
  int64_t total_steps = 0;     // kCosine: warm-up included
  float min_lr = 0.0f;         // kCosine, kPlateau
  float plateau_scale = 1.0f;  // kPlateau: gamma^reductions

  float At(int64_t step) const;
};

StatusOr<LrSchedule::Kind> ParseLrScheduleKind(const std::string& name);

}  // namespace train
}  // namespace edgeopt

#endif  // EDGEOPT_SRC_TRAIN_OPTIMIZER_H_
