#include "src/train/trainer.h"

#include <chrono>
#include <cmath>
#include <cstring>

namespace edgeopt {
namespace train {
namespace {

double Now() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

// The loss for a data set: explicit, or from what the data holds.
StatusOr<LossKind> ChooseLoss(const std::string& name, const data::Dataset& ds) {
  if (!name.empty()) return ParseLossKind(name);
  if (ds.has_labels()) return LossKind::kSparseCategoricalCrossentropy;
  if (ds.has_targets()) return LossKind::kMeanSquaredError;
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
  } else {
    EDGEOPT_ENSURE(ds.has_targets() && ds.target_size() == classes, StatusCode::kInvalidArgument,
                   "%s: %s needs float targets of %lld values per sample", ds.name.c_str(),
                   LossKindName(loss), static_cast<long long>(classes));
  }
  return Status::Ok();
}

// Loss (and gradient into grad when non-null) of the current forward pass.
double ComputeLoss(Engine* engine, LossKind loss, bool from_probs, const int32_t* labels,
                   const float* targets, int batch, float* grad, int64_t* correct) {
  const int classes = static_cast<int>(engine->output_sample_size());
  const float* scores = from_probs ? engine->Output() : engine->LossInput();
  double value = 0.0;
  switch (loss) {
    case LossKind::kSparseCategoricalCrossentropy:
      value = from_probs ? SparseCrossEntropyFromProbs(scores, labels, batch, classes, grad)
                         : SparseSoftmaxCrossEntropy(scores, labels, batch, classes, grad);
      if (correct != nullptr) *correct += CountCorrect(scores, labels, batch, classes);
      break;
    case LossKind::kCategoricalCrossentropy:
      value = SoftmaxCrossEntropy(scores, targets, batch, classes, grad);
      break;
    case LossKind::kMeanSquaredError:
      value = MeanSquaredError(engine->Output(), targets, batch, classes, grad);
      break;
  }
  return value;
}

}  // namespace

StatusOr<std::unique_ptr<Trainer>> Trainer::Create(Engine* engine, const TrainOptions& options,
                                                   const data::Dataset& train) {
  EDGEOPT_ENSURE(options.batch_size >= 1, StatusCode::kInvalidArgument,
                 "batch size %d must be at least 1", options.batch_size);
  EDGEOPT_ENSURE(options.epochs >= 0, StatusCode::kInvalidArgument, "epochs %d", options.epochs);
  std::unique_ptr<Trainer> t(new Trainer(engine, options));
  EDGEOPT_ASSIGN_OR_RETURN(t->loss_, ChooseLoss(options.loss, train));
  EDGEOPT_RETURN_IF_ERROR(CheckData(*engine, train, t->loss_));
  const bool ce = t->loss_ != LossKind::kMeanSquaredError;
  const int softmax = engine->final_softmax_node();
  if (ce && softmax >= 0) {
    t->fused_softmax_ = true;
    EDGEOPT_RETURN_IF_ERROR(engine->SetLossTensor(engine->graph().nodes[softmax].inputs[0]));
  } else {
    EDGEOPT_RETURN_IF_ERROR(engine->SetLossTensor(engine->output_tensor()));
  }
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
  double loss = ComputeLoss(engine_, loss_, false, labels, targets, batch, grad, correct);
  if (teacher_) {
    EDGEOPT_ENSURE(loss_ != LossKind::kMeanSquaredError, StatusCode::kInvalidArgument,
                   "distillation needs a classification loss");
    const int classes = static_cast<int>(engine_->output_sample_size());
    const size_t n = static_cast<size_t>(batch) * classes;
    teacher_logits_.resize(n);
    extra_grad_.resize(n);
    EDGEOPT_RETURN_IF_ERROR(teacher_(x, batch, teacher_logits_.data()));
    const double kl = DistillationKl(engine_->LossInput(), teacher_logits_.data(), batch, classes,
                                     distill_temperature_, extra_grad_.data());
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

  const int64_t ss = train.sample_size();
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
      EDGEOPT_ASSIGN_OR_RETURN(double loss, TrainStep(batch_x_.data(), batch_labels_.data(),
                                                      batch_targets_.data(), n, &correct));
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
        b.accuracy = loss_ == LossKind::kSparseCategoricalCrossentropy
                         ? static_cast<double>(correct) / seen
                         : -1.0;
        b.seconds = Now() - t0;
        batch_cb_(b);
      }
      ++batch_index;
    }
    EpochStats e;
    e.epoch = epoch;
    e.seconds = Now() - t0;
    e.loss = seen > 0 ? loss_sum / seen : 0.0;
    e.accuracy = loss_ == LossKind::kSparseCategoricalCrossentropy && seen > 0
                     ? static_cast<double>(correct) / seen
                     : -1.0;
    e.images_per_second = e.seconds > 0 ? seen / e.seconds : 0.0;
    e.steps = batch_index;
    e.learning_rate = schedule_.At(step_ > 0 ? step_ - 1 : 0);
    if (validation != nullptr && validation->size > 0) {
      EDGEOPT_ASSIGN_OR_RETURN(EvalResult v,
                               Evaluate(engine_, *validation, bs, LossKindName(loss_)));
      e.val_loss = v.loss;
      e.val_accuracy = v.accuracy;
    }
    history.push_back(e);
    if (epoch_cb_) EDGEOPT_RETURN_IF_ERROR(epoch_cb_(e));
  }
  return history;
}

StatusOr<EvalResult> Evaluate(Engine* engine, const data::Dataset& ds, int batch_size,
                              const std::string& loss_name,
                              const std::function<void(const BatchStats&)>& progress) {
  EDGEOPT_ASSIGN_OR_RETURN(LossKind loss, ChooseLoss(loss_name, ds));
  EDGEOPT_RETURN_IF_ERROR(CheckData(*engine, ds, loss));
  const bool ce = loss != LossKind::kMeanSquaredError;
  const int softmax = engine->final_softmax_node();
  if (ce && softmax >= 0) {
    EDGEOPT_RETURN_IF_ERROR(engine->SetLossTensor(engine->graph().nodes[softmax].inputs[0]));
  } else {
    EDGEOPT_RETURN_IF_ERROR(engine->SetLossTensor(engine->output_tensor()));
  }
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
    loss_sum += ComputeLoss(engine, loss, false, labels, targets, n, nullptr, &r.correct) * n;
    r.samples += n;
    if (progress) {
      BatchStats s;
      s.batch = b;
      s.num_batches = batches;
      s.samples = r.samples;
      s.loss = loss_sum / r.samples;
      s.accuracy = ce ? static_cast<double>(r.correct) / r.samples : -1.0;
      s.seconds = Now() - t0;
      progress(s);
    }
  }
  r.loss = r.samples > 0 ? loss_sum / r.samples : 0.0;
  r.accuracy = loss == LossKind::kSparseCategoricalCrossentropy && r.samples > 0
                   ? static_cast<double>(r.correct) / r.samples
                   : -1.0;
  return r;
}

Status PredictOutputs(Engine* engine, const float* x, int64_t n, int batch_size, bool logits,
                      float* out) {
  const int64_t ss = engine->input_sample_size();
  const int64_t os = engine->output_sample_size();
  const int softmax = logits ? engine->final_softmax_node() : -1;
  const int tensor =
      softmax >= 0 ? engine->graph().nodes[softmax].inputs[0] : engine->output_tensor();
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
