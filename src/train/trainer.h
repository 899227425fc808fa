// The training loop over an Engine: batches from a Dataset, a loss, an optimizer with a
// learning-rate schedule, and the hooks the compression passes build on:
//   - per-parameter masks applied after every optimizer step (pruning: zeros stay zero),
//   - a per-step callback (pruning schedules update masks there),
//   - a teacher whose logits are mixed into the loss (distillation),
//   - per-batch and per-epoch callbacks (progress bars, saving, early stop), a cancel flag.
// Evaluate and PredictLogits run the engine in inference mode.
#ifndef EDGEOPT_SRC_TRAIN_TRAINER_H_
#define EDGEOPT_SRC_TRAIN_TRAINER_H_

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "src/data/batcher.h"
#include "src/data/dataset.h"
#include "src/train/engine.h"
#include "src/train/loss.h"
#include "src/train/optimizer.h"

namespace edgeopt {
namespace train {

struct TrainOptions {
  int epochs = 1;
  int batch_size = 32;
  uint64_t seed = 0;
  bool shuffle = true;
  OptimizerConfig optimizer;
  LrSchedule::Kind schedule = LrSchedule::Kind::kConstant;
  double warmup_epochs = 0.0;
  double step_epochs = 0.0;  // kStep: decay every this many epochs
  float step_gamma = 0.1f;   // kStep, kPlateau: the factor
  int plateau_patience = 2;  // kPlateau: epochs without a lower validation loss
  float min_lr = 0.0f;       // kCosine
  // Empty: sparse categorical cross-entropy for labeled data (binary cross-entropy for 0 / 1
  // labels and a model with one output); for float targets the model's compiled loss
  // (`compiled_loss`, a Keras name) or MSE.
  std::string loss;
  std::string compiled_loss;
  // Keras's label_smoothing s of the cross-entropies: targets y (1 - s) + s / classes (s / 2 for
  // the binary one), in training; validation and test losses are the plain cross-entropy.
  float label_smoothing = 0.0f;
  // Keras's EarlyStopping(monitor="val_loss", patience=N, restore_best_weights=True): stop when
  // the validation loss has not improved for this many epochs (0: off), and end with the
  // weights of the epoch where it was lowest.
  int early_stopping = 0;
  // Keras's class_weight (labeled data): "balanced" or "CLASS:WEIGHT,...".
  std::string class_weight;
  data::AugmentOptions augment;
};

struct BatchStats {
  int epoch = 0;
  int64_t batch = 0;  // 0-based within the epoch
  int64_t num_batches = 0;
  int64_t samples = 0;     // seen this epoch
  double loss = 0.0;       // running mean this epoch
  double accuracy = -1.0;  // running, -1 when not a classification
  double seconds = 0.0;    // since the epoch started
};

struct EpochStats {
  int epoch = 0;  // 0-based
  double loss = 0.0;
  double accuracy = -1.0;
  double val_loss = -1.0;
  double val_accuracy = -1.0;
  double seconds = 0.0;
  double images_per_second = 0.0;
  int64_t steps = 0;
  float learning_rate = 0.0f;
  // With early stopping: whether this epoch's validation loss is the lowest so far (the weights
  // training ends with), and whether training stops after it.
  bool best = true;
  bool stops = false;
};

struct EvalResult {
  double loss = 0.0;
  double accuracy = -1.0;
  int64_t samples = 0;
  int64_t correct = 0;
  // The class predicted for each sample, for class labels (empty for targets).
  std::vector<int32_t> predicted;
  // Samples whose label is among the 5 highest scores (models with more than 5 classes; else -1).
  int64_t top5_correct = -1;
};

// Logits (or outputs) for a batch: `x` holds batch * sample_size floats.
using TeacherFn = std::function<Status(const float* x, int batch, float* logits)>;

class Trainer {
 public:
  // `engine` must outlive the trainer. Fuses a final SOFTMAX with the categorical
  // cross-entropies and a final LOGISTIC with the binary one (from logits, stable); a model
  // without them is taken to output logits.
  static StatusOr<std::unique_ptr<Trainer>> Create(Engine* engine, const TrainOptions& options,
                                                   const data::Dataset& train_shape_example);

  // Pruning: mask (one value per weight, 0 or 1) for the parameter named `param` (its Keras
  // origin, e.g. "dense/kernel"); applied now and after every step.
  Status SetMask(const std::string& param, const std::vector<float>& mask);
  void ClearMasks() { masks_.clear(); }
  // Called after every optimizer step with the global step count (1-based).
  void SetStepCallback(std::function<Status(int64_t step)> fn) { step_cb_ = std::move(fn); }
  void SetBatchCallback(std::function<void(const BatchStats&)> fn) { batch_cb_ = std::move(fn); }
  // Called after every epoch; a non-OK status stops training with that status.
  void SetEpochCallback(std::function<Status(const EpochStats&)> fn) { epoch_cb_ = std::move(fn); }
  // Distillation: loss = alpha * CE(labels, s) + (1 - alpha) * T^2 KL(softmax(t/T)||softmax(s/T)).
  void SetTeacher(TeacherFn teacher, float alpha, float temperature);
  // Checked between batches; when set, Fit returns kCancelled (finished epochs were reported).
  void SetCancelFlag(const std::atomic<bool>* flag) { cancel_ = flag; }

  // Trains for options.epochs epochs; `validation` may be null.
  StatusOr<std::vector<EpochStats>> Fit(const data::Dataset& train,
                                        const data::Dataset* validation);
  // One optimizer step on a batch; returns the batch loss, adds correct predictions. `labels`
  // or `targets` is null when the data set has none.
  StatusOr<double> TrainStep(const float* x, const int32_t* labels, const float* targets, int batch,
                             int64_t* correct);

  int64_t global_step() const { return step_; }
  Engine* engine() { return engine_; }
  LossKind loss_kind() const { return loss_; }
  const TrainOptions& options() const { return options_; }
  // The weight of each class (--class-weight), or empty.
  const std::vector<float>& class_weights() const { return class_weights_; }

 private:
  Trainer(Engine* engine, const TrainOptions& options)
      : engine_(engine), options_(options), optimizer_(options.optimizer) {}
  void ApplyMasks();

  Engine* engine_;
  TrainOptions options_;
  Optimizer optimizer_;
  LrSchedule schedule_;
  LossKind loss_ = LossKind::kSparseCategoricalCrossentropy;
  int64_t step_ = 0;
  std::map<int, std::vector<float>> masks_;  // parameter index -> mask
  std::function<Status(int64_t)> step_cb_;
  std::function<void(const BatchStats&)> batch_cb_;
  std::function<Status(const EpochStats&)> epoch_cb_;
  TeacherFn teacher_;
  float distill_alpha_ = 0.1f;
  float distill_temperature_ = 3.0f;
  const std::atomic<bool>* cancel_ = nullptr;
  std::vector<float> teacher_logits_, extra_grad_, batch_x_, batch_targets_;
  std::vector<float> batch_label_targets_;  // binary labels as targets
  std::vector<float> class_weights_;        // per class, or empty
  std::vector<int32_t> batch_labels_;
};

// Loss and top-1 accuracy of the engine (inference mode) over a data set.
StatusOr<EvalResult> Evaluate(Engine* engine, const data::Dataset& data, int batch_size,
                              const std::string& loss = "",
                              const std::function<void(const BatchStats&)>& progress = nullptr);
// Outputs of the engine (inference mode) for n samples at x: n * output_sample_size floats.
// With `logits`, the input of a final SOFTMAX or LOGISTIC (the logits) instead of the
// probabilities.
Status PredictOutputs(Engine* engine, const float* x, int64_t n, int batch_size, bool logits,
                      float* out);

}  // namespace train
}  // namespace edgeopt

#endif  // EDGEOPT_SRC_TRAIN_TRAINER_H_
