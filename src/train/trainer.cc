#include "src/train/trainer.h"

#include <chrono>
#include <cmath>
#include <cstdlib>
#include <cstring>

namespace edgeopt {
namespace train {
namespace {

double Now() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

// The loss for a data set: explicit, or from what the data holds (0 / 1 labels for a model with
// one output: binary cross-entropy), for float targets the model's compiled loss when it has one.
StatusOr<LossKind> ChooseLoss(const std::string& name, const std::string& compiled,
                              const data::Dataset& ds, int64_t outputs) {
  if (!name.empty()) return ParseLossKind(name);
  if (ds.has_labels()) {
    // Keras's categorical losses with class labels are the sparse one; the binary one is what
    // 0 / 1 labels for one output imply.
    return outputs == 1 && ds.num_classes <= 2 ? LossKind::kBinaryCrossentropy
                                               : LossKind::kSparseCategoricalCrossentropy;
  }
  if (ds.has_targets()) {
    // A compiled regression, multi-label or soft-target loss.
    const StatusOr<LossKind> model_loss = ParseLossKind(compiled);
    if (!compiled.empty() && model_loss.ok() &&
        *model_loss != LossKind::kSparseCategoricalCrossentropy) {
      return *model_loss;
    }
    return LossKind::kMeanSquaredError;
  }
  return MakeStatus(StatusCode::kInvalidArgument,
                    "%s has neither labels nor targets, so it cannot be used for training or "
                    "evaluation",
                    ds.name.c_str());
}

Status CheckData(const Engine& engine, const data::Dataset& ds, LossKind loss) {
  EDGEOPT_RETURN_IF_ERROR(engine.CheckOutputBatch());
  const std::vector<int>& want = engine.input_sample_shape();
  EDGEOPT_ENSURE(ds.sample_size() == engine.input_sample_size(), StatusCode::kInvalidArgument,
                 "%s: samples have shape %s, the model's input is %s", ds.name.c_str(),
                 ShapeString(ds.sample_shape).c_str(), ShapeString(want).c_str());
  const int64_t classes = engine.output_sample_size();
  if (loss == LossKind::kSparseCategoricalCrossentropy) {
    EDGEOPT_ENSURE(ds.has_labels(), StatusCode::kInvalidArgument,
                   "%s has no class labels for sparse_categorical_crossentropy", ds.name.c_str());
    EDGEOPT_ENSURE(ds.num_classes <= classes, StatusCode::kInvalidArgument,
                   "%s has %d classes, the model outputs %lld values", ds.name.c_str(),
                   ds.num_classes, static_cast<long long>(classes));
  } else if (loss == LossKind::kBinaryCrossentropy && ds.has_labels()) {
    EDGEOPT_ENSURE(classes == 1 && ds.num_classes <= 2, StatusCode::kInvalidArgument,
                   "%s: binary_crossentropy with class labels needs labels 0 / 1 and a model "
                   "with one output (%d classes, %lld outputs); for multi-label data give "
                   "float targets",
                   ds.name.c_str(), ds.num_classes, static_cast<long long>(classes));
  } else {
    EDGEOPT_ENSURE(ds.has_targets() && ds.target_size() == classes, StatusCode::kInvalidArgument,
                   "%s: %s needs float targets of %lld values per sample", ds.name.c_str(),
                   LossKindName(loss), static_cast<long long>(classes));
  }
  return Status::Ok();
}

// The tensor the loss reads: the input of a final SOFTMAX for the categorical cross-entropies, of
// a final LOGISTIC for the binary one (the logits, fused), else the output.
Status SetLossTensor(Engine* engine, LossKind loss) {
  int fused = -1;
  if (loss == LossKind::kSparseCategoricalCrossentropy ||
      loss == LossKind::kCategoricalCrossentropy) {
    fused = engine->final_softmax_node();
  } else if (loss == LossKind::kBinaryCrossentropy) {
    fused = engine->final_logistic_node();
  }
  return engine->SetLossTensor(fused >= 0 ? engine->graph().nodes[fused].inputs[0]
                                          : engine->output_tensor());
}

// Values per sample that accuracy counts: each output for binary cross-entropy (Keras's binary
// accuracy of multi-label outputs), else the sample; 0 when the loss has no accuracy.
int64_t AccuracyUnits(const Engine& engine, LossKind loss) {
  switch (loss) {
    case LossKind::kSparseCategoricalCrossentropy:
    case LossKind::kCategoricalCrossentropy:
      return 1;
    case LossKind::kBinaryCrossentropy:
      return engine.output_sample_size();
    case LossKind::kMeanSquaredError:
    case LossKind::kMeanAbsoluteError:
    case LossKind::kHuber:
      return 0;
  }
  return 0;
}

double Accuracy(int64_t correct, int64_t samples, int64_t units) {
  return units > 0 && samples > 0 ? static_cast<double>(correct) / (samples * units) : -1.0;
}

// Loss (and gradient into grad when non-null) of `batch` rows of the loss input (`scores`) and
// output (`out`, for the regressions), the cross-entropies' targets smoothed by `smoothing`.
// Labels of the binary cross-entropy become 0 / 1 targets in `label_targets`.
double RowsLoss(LossKind loss, const float* scores, const float* out, int classes,
                const int32_t* labels, const float* targets, int batch, float* grad,
                int64_t* correct, std::vector<float>* label_targets, float smoothing) {
  double value = 0.0;
  switch (loss) {
    case LossKind::kSparseCategoricalCrossentropy:
      value = SparseSoftmaxCrossEntropy(scores, labels, batch, classes, grad, smoothing);
      if (correct != nullptr) *correct += CountCorrect(scores, labels, batch, classes);
      break;
    case LossKind::kCategoricalCrossentropy:
      value = SoftmaxCrossEntropy(scores, targets, batch, classes, grad, smoothing);
      if (correct != nullptr) *correct += CountCorrectOfTargets(scores, targets, batch, classes);
      break;
    case LossKind::kBinaryCrossentropy: {
      const int64_t n = static_cast<int64_t>(batch) * classes;
      if (labels != nullptr) {  // labels of a one-output model
        label_targets->resize(static_cast<size_t>(batch));
        for (int b = 0; b < batch; ++b) (*label_targets)[b] = labels[b] != 0 ? 1.0f : 0.0f;
        targets = label_targets->data();
      }
      // A final LOGISTIC is fused: the scores are logits, as for a model without one.
      value = SigmoidBinaryCrossEntropy(scores, targets, n, grad, smoothing);
      if (correct != nullptr) *correct += CountBinaryCorrect(scores, targets, n, 0.0f);
      break;
    }
    case LossKind::kMeanSquaredError:
      value = MeanSquaredError(out, targets, batch, classes, grad);
      break;
    case LossKind::kMeanAbsoluteError:
      value = MeanAbsoluteError(out, targets, batch, classes, grad);
      break;
    case LossKind::kHuber:
      value = HuberLoss(out, targets, batch, classes, 1.0f, grad);
      break;
  }
  return value;
}

// RowsLoss of the engine's current forward pass. With `class_weights` (Keras's class_weight:
// labeled data only), each sample's loss and gradient are scaled by its class's weight, and
// the batch's loss is their sum over the batch size (Keras's sum_over_batch_size).
double ComputeLoss(Engine* engine, LossKind loss, const int32_t* labels, const float* targets,
                   int batch, float* grad, int64_t* correct, std::vector<float>* label_targets,
                   float smoothing = 0.0f, const std::vector<float>& class_weights = {}) {
  const int classes = static_cast<int>(engine->output_sample_size());
  const float* scores = engine->LossInput();
  const float* out = engine->Output();
  if (class_weights.empty() || labels == nullptr) {
    return RowsLoss(loss, scores, out, classes, labels, targets, batch, grad, correct,
                    label_targets, smoothing);
  }
  double value = 0.0;
  for (int b = 0; b < batch; ++b) {
    const int64_t row = static_cast<int64_t>(b) * classes;
    const float w = class_weights[static_cast<size_t>(labels[b])] / batch;
    value +=
        w * RowsLoss(loss, scores + row, out + row, classes, labels + b,
                     targets != nullptr ? targets + row : nullptr, 1,
                     grad != nullptr ? grad + row : nullptr, correct, label_targets, smoothing);
    if (grad != nullptr) {
      for (int c = 0; c < classes; ++c) grad[row + c] *= w;
    }
  }
  return value;
}

// The lowest validation loss so far and the epochs since it (the bookkeeping of Keras's
// EarlyStopping and ReduceLROnPlateau): a loss lower than the best by more than min_delta is
// the new best.
struct LossWatch {
  double min_delta = 0.0;
  double best = 0.0;
  int wait = 0;
  bool seen = false;
  // Whether `loss` is the new best; else one more epoch without one.
  bool Update(double loss) {
    if (!seen || loss < best - min_delta) {
      best = loss;
      wait = 0;
      seen = true;
      return true;
    }
    ++wait;
    return false;
  }
};

// Keras's class_weight from "balanced" (n / (classes * count), scikit-learn's) or
// "CLASS:WEIGHT,..." (classes not named weigh 1), for `ds`'s labels.
StatusOr<std::vector<float>> ClassWeights(const std::string& spec, const data::Dataset& ds) {
  if (spec.empty()) return std::vector<float>();
  EDGEOPT_ENSURE(ds.has_labels() && ds.num_classes >= 1, StatusCode::kInvalidArgument,
                 "class weights need class labels; %s has none", ds.name.c_str());
  std::vector<float> w(static_cast<size_t>(ds.num_classes), 1.0f);
  if (spec == "balanced") {
    std::vector<int64_t> count(w.size(), 0);
    for (int32_t y : ds.labels) ++count[static_cast<size_t>(y)];
    for (size_t c = 0; c < w.size(); ++c) {
      w[c] = count[c] > 0 ? static_cast<float>(static_cast<double>(ds.size) /
                                               (static_cast<double>(w.size()) * count[c]))
                          : 1.0f;
    }
    return w;
  }
  size_t start = 0;
  while (start < spec.size()) {
    size_t end = spec.find(',', start);
    if (end == std::string::npos) end = spec.size();
    const std::string item = spec.substr(start, end - start);
    const size_t colon = item.find(':');
    char* rest = nullptr;
    const long c = colon == std::string::npos ? -1 : std::strtol(item.c_str(), &rest, 10);
    const double value =
        colon == std::string::npos ? -1.0 : std::strtod(item.c_str() + colon + 1, nullptr);
    EDGEOPT_ENSURE(colon != std::string::npos && rest == item.c_str() + colon && c >= 0 &&
                       c < ds.num_classes && value >= 0.0 && std::isfinite(value),
                   StatusCode::kInvalidArgument,
                   "class weight '%s': give CLASS:WEIGHT with a class in [0, %d) and a weight "
                   ">= 0, or balanced",
                   item.c_str(), ds.num_classes);
    w[static_cast<size_t>(c)] = static_cast<float>(value);
    start = end + 1;
  }
  return w;
}

}  // namespace

StatusOr<std::unique_ptr<Trainer>> Trainer::Create(Engine* engine, const TrainOptions& options,
                                                   const data::Dataset& train) {
  EDGEOPT_ENSURE(options.batch_size >= 1, StatusCode::kInvalidArgument,
                 "batch size %d must be at least 1", options.batch_size);
  EDGEOPT_ENSURE(options.epochs >= 0, StatusCode::kInvalidArgument, "epochs %d", options.epochs);
  std::unique_ptr<Trainer> t(new Trainer(engine, options));
  EDGEOPT_ASSIGN_OR_RETURN(t->loss_, ChooseLoss(options.loss, options.compiled_loss, train,
                                                engine->output_sample_size()));
  EDGEOPT_ENSURE(options.label_smoothing >= 0.0f && options.label_smoothing < 1.0f,
                 StatusCode::kInvalidArgument, "label smoothing %g is outside [0, 1)",
                 options.label_smoothing);
  EDGEOPT_ASSIGN_OR_RETURN(t->class_weights_, ClassWeights(options.class_weight, train));
  EDGEOPT_ENSURE(options.label_smoothing == 0.0f || !IsRegression(t->loss_),
                 StatusCode::kInvalidArgument, "label smoothing needs a cross-entropy, not %s",
                 LossKindName(t->loss_));
  EDGEOPT_RETURN_IF_ERROR(CheckData(*engine, train, t->loss_));
  EDGEOPT_RETURN_IF_ERROR(SetLossTensor(engine, t->loss_));
  bool any = false;
  for (const Parameter& p : engine->parameters()) any = any || p.has_grad;
  EDGEOPT_ENSURE(any, StatusCode::kInvalidArgument, "the model has no trainable weights");
  return t;
}

Status Trainer::SetMask(const std::string& param, const std::vector<float>& mask) {
  std::vector<Parameter>& params = engine_->parameters();
  for (size_t i = 0; i < params.size(); ++i) {
    if (params[i].name != param) continue;
    EDGEOPT_ENSURE(static_cast<int64_t>(mask.size()) == params[i].size,
                   StatusCode::kInvalidArgument, "mask for %s has %zu values, the weight %lld",
                   param.c_str(), mask.size(), static_cast<long long>(params[i].size));
    masks_[static_cast<int>(i)] = mask;
    ApplyMasks();
    return Status::Ok();
  }
  return MakeStatus(StatusCode::kNotFound, "no trainable weight named '%s'", param.c_str());
}

void Trainer::ApplyMasks() {
  std::vector<Parameter>& params = engine_->parameters();
  for (const auto& kv : masks_) {
    float* w = params[kv.first].data();
    const std::vector<float>& m = kv.second;
    for (size_t i = 0; i < m.size(); ++i) w[i] *= m[i];
  }
}

void Trainer::SetTeacher(TeacherFn teacher, float alpha, float temperature) {
  teacher_ = std::move(teacher);
  distill_alpha_ = alpha;
  distill_temperature_ = temperature;
}

StatusOr<double> Trainer::TrainStep(const float* x, const int32_t* labels, const float* targets,
                                    int batch, int64_t* correct) {
  EDGEOPT_RETURN_IF_ERROR(engine_->Forward(x, batch, /*training=*/true));
  float* grad = engine_->LossGrad();
  double loss = ComputeLoss(engine_, loss_, labels, targets, batch, grad, correct,
                            &batch_label_targets_, options_.label_smoothing, class_weights_);
  if (teacher_) {
    EDGEOPT_ENSURE(!IsRegression(loss_), StatusCode::kInvalidArgument,
                   "distillation needs a classification loss");
    const int classes = static_cast<int>(engine_->output_sample_size());
    const size_t n = static_cast<size_t>(batch) * classes;
    teacher_logits_.resize(n);
    extra_grad_.resize(n);
    EDGEOPT_RETURN_IF_ERROR(teacher_(x, batch, teacher_logits_.data()));
    const double kl = loss_ == LossKind::kBinaryCrossentropy
                          ? BinaryDistillationKl(engine_->LossInput(), teacher_logits_.data(),
                                                 static_cast<int64_t>(n), distill_temperature_,
                                                 extra_grad_.data())
                          : DistillationKl(engine_->LossInput(), teacher_logits_.data(), batch,
                                           classes, distill_temperature_, extra_grad_.data());
    const float a = distill_alpha_;
    for (size_t i = 0; i < n; ++i) grad[i] = a * grad[i] + (1.0f - a) * extra_grad_[i];
    loss = a * loss + (1.0 - a) * kl;
  }
  engine_->Backward();
  const float lr = schedule_.At(step_);
  optimizer_.Step(&engine_->parameters(), lr, engine_->pool());
  ApplyMasks();
  ++step_;
  if (step_cb_) EDGEOPT_RETURN_IF_ERROR(step_cb_(step_));
  return loss;
}

StatusOr<std::vector<EpochStats>> Trainer::Fit(const data::Dataset& train,
                                               const data::Dataset* validation) {
  EDGEOPT_RETURN_IF_ERROR(CheckData(*engine_, train, loss_));
  if (validation != nullptr) EDGEOPT_RETURN_IF_ERROR(CheckData(*engine_, *validation, loss_));
  const int patience = options_.early_stopping;
  EDGEOPT_ENSURE(patience >= 0, StatusCode::kInvalidArgument, "early stopping patience %d",
                 patience);
  EDGEOPT_ENSURE(patience == 0 || (validation != nullptr && validation->size > 0),
                 StatusCode::kInvalidArgument,
                 "early stopping watches the validation loss: give validation data");
  EDGEOPT_ENSURE(
      options_.schedule != LrSchedule::Kind::kPlateau ||
          (validation != nullptr && validation->size > 0 && options_.plateau_patience >= 1),
      StatusCode::kInvalidArgument,
      "the plateau schedule watches the validation loss: give validation data (and a "
      "patience of at least 1 epoch)");
  LossWatch stopping;
  std::vector<std::vector<float>> best_weights;
  LossWatch plateau;
  plateau.min_delta = 1e-4;  // Keras's ReduceLROnPlateau
  const int bs = options_.batch_size;
  data::Batcher batcher(train, bs, options_.shuffle, options_.seed, options_.augment);
  const int64_t per_epoch = batcher.num_batches();
  schedule_.kind = options_.schedule;
  schedule_.base_lr = options_.optimizer.learning_rate;
  schedule_.warmup_steps = static_cast<int64_t>(std::llround(options_.warmup_epochs * per_epoch));
  schedule_.step_size = static_cast<int64_t>(std::llround(options_.step_epochs * per_epoch));
  schedule_.gamma = options_.step_gamma;
  schedule_.total_steps = per_epoch * options_.epochs;
  schedule_.min_lr = options_.min_lr;
  schedule_.plateau_scale = 1.0f;

  const int64_t ss = train.sample_size();
  const int64_t units = AccuracyUnits(*engine_, loss_);
  batch_x_.resize(static_cast<size_t>(bs) * ss);
  batch_labels_.resize(bs);
  batch_targets_.resize(static_cast<size_t>(bs) * std::max<int64_t>(1, train.target_size()));
  std::vector<EpochStats> history;
  for (int epoch = 0; epoch < options_.epochs; ++epoch) {
    batcher.StartEpoch(epoch);
    const double t0 = Now();
    double loss_sum = 0.0;
    int64_t correct = 0, seen = 0, batch_index = 0;
    for (;;) {
      if (cancel_ != nullptr && cancel_->load()) {
        return MakeStatus(StatusCode::kCancelled, "interrupted in epoch %d", epoch + 1);
      }
      const int n = batcher.Next(batch_x_.data(), batch_labels_.data(), batch_targets_.data());
      if (n == 0) break;
      EDGEOPT_ASSIGN_OR_RETURN(
          double loss,
          TrainStep(batch_x_.data(), train.has_labels() ? batch_labels_.data() : nullptr,
                    train.has_targets() ? batch_targets_.data() : nullptr, n, &correct));
      EDGEOPT_ENSURE(std::isfinite(loss), StatusCode::kInvalidArgument,
                     "the loss became %g in epoch %d, batch %lld (lower the "
                     "learning rate?)",
                     loss, epoch + 1, static_cast<long long>(batch_index + 1));
      loss_sum += loss * n;
      seen += n;
      if (batch_cb_) {
        BatchStats b;
        b.epoch = epoch;
        b.batch = batch_index;
        b.num_batches = per_epoch;
        b.samples = seen;
        b.loss = loss_sum / seen;
        b.accuracy = Accuracy(correct, seen, units);
        b.seconds = Now() - t0;
        batch_cb_(b);
      }
      ++batch_index;
    }
    EpochStats e;
    e.epoch = epoch;
    e.seconds = Now() - t0;
    e.loss = seen > 0 ? loss_sum / seen : 0.0;
    e.accuracy = Accuracy(correct, seen, units);
    e.images_per_second = e.seconds > 0 ? seen / e.seconds : 0.0;
    e.steps = batch_index;
    e.learning_rate = schedule_.At(step_ > 0 ? step_ - 1 : 0);
    if (validation != nullptr && validation->size > 0) {
      EDGEOPT_ASSIGN_OR_RETURN(EvalResult v,
                               Evaluate(engine_, *validation, bs, LossKindName(loss_)));
      e.val_loss = v.loss;
      e.val_accuracy = v.accuracy;
    }
    if (options_.schedule == LrSchedule::Kind::kPlateau && !plateau.Update(e.val_loss) &&
        plateau.wait >= options_.plateau_patience) {
      schedule_.plateau_scale *= options_.step_gamma;
      plateau.wait = 0;
    }
    if (patience > 0) {
      e.best = stopping.Update(e.val_loss);
      if (e.best) best_weights = engine_->SnapshotWeights();
      e.stops = stopping.wait >= patience;
    }
    history.push_back(e);
    if (epoch_cb_) EDGEOPT_RETURN_IF_ERROR(epoch_cb_(e));
    if (e.stops) break;
  }
  if (!best_weights.empty()) engine_->RestoreWeights(best_weights);
  return history;
}

StatusOr<EvalResult> Evaluate(Engine* engine, const data::Dataset& ds, int batch_size,
                              const std::string& loss_name,
                              const std::function<void(const BatchStats&)>& progress) {
  EDGEOPT_ASSIGN_OR_RETURN(LossKind loss,
                           ChooseLoss(loss_name, "", ds, engine->output_sample_size()));
  EDGEOPT_RETURN_IF_ERROR(CheckData(*engine, ds, loss));
  EDGEOPT_RETURN_IF_ERROR(SetLossTensor(engine, loss));
  const int64_t units = AccuracyUnits(*engine, loss);
  std::vector<float> label_targets;
  EvalResult r;
  double loss_sum = 0.0;
  const int64_t ss = ds.sample_size();
  const int64_t ts = ds.target_size();
  const double t0 = Now();
  const int64_t batches = (ds.size + batch_size - 1) / batch_size;
  for (int64_t start = 0, b = 0; start < ds.size; start += batch_size, ++b) {
    const int n = static_cast<int>(std::min<int64_t>(batch_size, ds.size - start));
    EDGEOPT_RETURN_IF_ERROR(engine->Forward(ds.x.data() + start * ss, n, /*training=*/false));
    const int32_t* labels = ds.has_labels() ? ds.labels.data() + start : nullptr;
    const float* targets = ds.has_targets() ? ds.targets.data() + start * ts : nullptr;
    loss_sum +=
        ComputeLoss(engine, loss, labels, targets, n, nullptr, &r.correct, &label_targets) * n;
    if (labels != nullptr) {
      const int classes = static_cast<int>(engine->output_sample_size());
      if (classes > 5 && !IsRegression(loss) && loss != LossKind::kBinaryCrossentropy) {
        r.top5_correct = std::max<int64_t>(r.top5_correct, 0) +
                         CountTopK(engine->LossInput(), labels, n, classes, 5);
      }
      for (int i = 0; i < n; ++i) {  // logits (the loss input): a binary threshold of 0
        r.predicted.push_back(
            PredictedClass(engine->LossInput() + static_cast<int64_t>(i) * classes, classes));
      }
    }
    r.samples += n;
    if (progress) {
      BatchStats s;
      s.batch = b;
      s.num_batches = batches;
      s.samples = r.samples;
      s.loss = loss_sum / r.samples;
      s.accuracy = Accuracy(r.correct, r.samples, units);
      s.seconds = Now() - t0;
      progress(s);
    }
  }
  r.loss = r.samples > 0 ? loss_sum / r.samples : 0.0;
  r.accuracy = Accuracy(r.correct, r.samples, units);
  return r;
}

Status PredictOutputs(Engine* engine, const float* x, int64_t n, int batch_size, bool logits,
                      float* out) {
  const int64_t ss = engine->input_sample_size();
  const int64_t os = engine->output_sample_size();
  int final = -1;
  if (logits) {
    final = engine->final_softmax_node();
    if (final < 0) final = engine->final_logistic_node();
  }
  const int tensor = final >= 0 ? engine->graph().nodes[final].inputs[0] : engine->output_tensor();
  for (int64_t start = 0; start < n; start += batch_size) {
    const int b = static_cast<int>(std::min<int64_t>(batch_size, n - start));
    EDGEOPT_RETURN_IF_ERROR(engine->Forward(x + start * ss, b, /*training=*/false));
    EDGEOPT_RETURN_IF_ERROR(engine->CheckOutputBatch());
    std::memcpy(out + start * os, engine->value(tensor).d(), sizeof(float) * b * os);
  }
  return Status::Ok();
}

}  // namespace train
}  // namespace edgeopt
