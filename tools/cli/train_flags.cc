#include "tools/cli/train_flags.h"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <numeric>
#include <random>
#include <vector>

#include "src/report/history.h"
#include "src/report/progress.h"
#include "src/util/file_util.h"

namespace edgeopt {
namespace cli {
namespace {

std::atomic<bool> g_interrupted{false};

extern "C" void OnSigint(int) {
  g_interrupted.store(true);
  // A second Ctrl-C ends the process at once.
  std::signal(SIGINT, SIG_DFL);
}

std::string Metrics(double loss, double accuracy) {
  char buf[96];
  if (accuracy >= 0) {
    std::snprintf(buf, sizeof(buf), "loss %.4f acc %.4f", loss, accuracy);
  } else {
    std::snprintf(buf, sizeof(buf), "loss %.4f", loss);
  }
  return buf;
}

}  // namespace

void AddTrainFlags(CLI::App* app, TrainFlags* f) {
  app->add_option("--epochs", f->epochs, "passes over the training data (default 1)");
  app->add_option("--batch-size", f->batch_size, "samples per step (default 32; presets 64)");
  app->add_option("--lr", f->lr,
                  "learning rate (default: the optimizer's Keras default: adam/adamw 1e-3, "
                  "sgd 0.01)");
  app->add_option("--optimizer", f->optimizer, "sgd, adam (default) or adamw");
  app->add_option("--seed", f->seed, "seed for initialization, shuffling, dropout (default 0)");
  app->add_option("--threads", f->threads, "threads (default 0 = all cores)");
  app->add_flag("--quiet", f->quiet, "no progress bars or per-epoch lines (for scripts)");
  app->add_option("--momentum", f->momentum, "SGD momentum (default 0)");
  app->add_flag("--nesterov", f->nesterov, "SGD with Nesterov momentum");
  app->add_option("--weight-decay", f->weight_decay,
                  "decoupled weight decay (default 0; adamw 0.004)");
  app->add_option("--clip-norm", f->clip_norm, "clip gradients to this global norm");
  app->add_option("--clip-value", f->clip_value, "clip each gradient value to [-v, v]");
  app->add_option("--lr-schedule", f->lr_schedule,
                  "constant (default), step, cosine, or plateau (Keras's ReduceLROnPlateau: the "
                  "rate times --lr-gamma when the validation loss has not improved for "
                  "--lr-patience epochs)");
  app->add_option("--warmup-epochs", f->warmup_epochs, "linear learning-rate warm-up");
  app->add_option("--lr-step-epochs", f->lr_step_epochs, "step schedule: decay every N epochs");
  app->add_option("--lr-gamma", f->lr_gamma,
                  "step and plateau schedules: decay factor (default 0.1)");
  app->add_option("--lr-patience", f->lr_patience,
                  "plateau schedule: epochs without a lower validation loss (default 2)");
  app->add_option("--validation-split", f->validation_split,
                  "hold out the last fraction of the training data for validation");
  app->add_option("--validation-data", f->validation_data, "a separate validation data set");
  app->add_option("--augment", f->augment,
                  "image augmentation: flip, shift (2 pixels) or shift=N, comma-separated");
  app->add_option("--loss", f->loss,
                  "sparse_categorical_crossentropy (default for labels), "
                  "binary_crossentropy (default for 0 / 1 labels and a model with one output; "
                  "with float targets: multi-label), categorical_crossentropy, mse, mae, huber "
                  "(for float targets: the loss the model file was compiled with, else mse)");
  app->add_option("--label-smoothing", f->label_smoothing,
                  "smooth the cross-entropy's targets as Keras's label_smoothing: y (1 - s) + s "
                  "/ classes (default 0)");
  app->add_option("--class-weight", f->class_weight,
                  "weigh each sample's loss by its class, as Keras's fit(class_weight=...): "
                  "balanced (n / (classes * count of the class)) or CLASS:WEIGHT,... (others 1)");
  app->add_option("--early-stopping", f->early_stopping,
                  "stop when the validation loss has not improved for N epochs and keep (and "
                  "save) the epoch where it was lowest, as Keras's EarlyStopping(patience=N, "
                  "restore_best_weights=True); needs --validation-split or --validation-data");
  AddPixelsFlag(app, &f->pixels);
  app->add_option("--csv-label", f->csv_label,
                  "CSV data: the label column (name or index; default the last)");
  app->add_option("--history", f->history,
                  "write each epoch's loss, accuracy, validation metrics, learning rate and time "
                  "as CSV (rewritten after every epoch)");
  app->add_option("--history-plot", f->history_plot,
                  "plot loss (every step, smoothed) and accuracy against the epoch as a PNG "
                  "(needs gnuplot; rewritten after every epoch)");
  app->add_option("--freeze", f->freeze,
                  "layers whose weights training leaves as they are, as Keras's "
                  "trainable=False (a frozen BatchNormalization uses its moving statistics): "
                  "comma-separated names, prefixes ending in '*' (block1_*), or all; a nested "
                  "model's name freezes its layers. Layers the model file freezes stay frozen");
  app->add_option("--unfreeze", f->unfreeze,
                  "train these layers although the model file freezes them (names, prefix*, or "
                  "all); applied before --freeze");
}

void AddCompressionDataFlags(CLI::App* app, std::string* data, std::string* test_data) {
  app->add_option("--data", *data,
                  "training data for fine-tuning (e.g. fashion-mnist, FILE.npz, DIR/)");
  app->add_option("--test-data", *test_data,
                  "labeled data for the accuracy before / after (default fashion-mnist:test for "
                  "fashion-mnist)");
}

void AddSubsetFlags(CLI::App* app, int64_t* max_samples, int64_t* test_samples) {
  app->add_option("--max-samples", *max_samples,
                  "fine-tune on a random subset of this many training samples");
  app->add_option("--test-samples", *test_samples,
                  "measure accuracy on a random subset of this many test samples");
}

StatusOr<train::TrainOptions> MakeTrainOptions(const TrainFlags& f, int default_batch,
                                               const std::string& compiled_loss) {
  train::TrainOptions o;
  EDGEOPT_ENSURE(f.epochs >= 0, StatusCode::kInvalidArgument, "--epochs %d", f.epochs);
  o.epochs = f.epochs;
  o.batch_size = f.batch_size > 0 ? f.batch_size : default_batch;
  EDGEOPT_ENSURE(o.batch_size >= 1 && o.batch_size <= 65536, StatusCode::kInvalidArgument,
                 "--batch-size %d", o.batch_size);
  o.seed = f.seed;
  EDGEOPT_ASSIGN_OR_RETURN(train::OptimizerKind kind, train::ParseOptimizerKind(f.optimizer));
  o.optimizer = train::DefaultOptimizerConfig(kind);
  if (f.lr > 0) o.optimizer.learning_rate = static_cast<float>(f.lr);
  EDGEOPT_ENSURE(f.lr >= 0, StatusCode::kInvalidArgument, "--lr %g must be positive", f.lr);
  o.optimizer.momentum = static_cast<float>(f.momentum);
  o.optimizer.nesterov = f.nesterov;
  if (f.weight_decay >= 0) o.optimizer.weight_decay = static_cast<float>(f.weight_decay);
  o.optimizer.clip_global_norm = static_cast<float>(f.clip_norm);
  o.optimizer.clip_value = static_cast<float>(f.clip_value);
  EDGEOPT_ASSIGN_OR_RETURN(o.schedule, train::ParseLrScheduleKind(f.lr_schedule));
  o.warmup_epochs = f.warmup_epochs;
  o.step_epochs = f.lr_step_epochs;
  o.step_gamma = static_cast<float>(f.lr_gamma);
  o.plateau_patience = f.lr_patience;
  o.loss = f.loss;
  o.compiled_loss = compiled_loss;
  o.label_smoothing = static_cast<float>(f.label_smoothing);
  o.early_stopping = f.early_stopping;
  o.class_weight = f.class_weight;
  if (!f.augment.empty()) {
    size_t start = 0;
    while (start <= f.augment.size()) {
      size_t end = f.augment.find(',', start);
      if (end == std::string::npos) end = f.augment.size();
      const std::string item = f.augment.substr(start, end - start);
      if (item == "flip") {
        o.augment.flip_horizontal = true;
      } else if (item == "shift") {
        o.augment.max_shift = 2;
      } else if (item.rfind("shift=", 0) == 0) {
        o.augment.max_shift = std::atoi(item.c_str() + 6);
        EDGEOPT_ENSURE(o.augment.max_shift >= 0 && o.augment.max_shift <= 64,
                       StatusCode::kInvalidArgument, "--augment %s", item.c_str());
      } else if (!item.empty()) {
        return MakeStatus(StatusCode::kInvalidArgument,
                          "--augment: unknown '%s' (flip, shift, shift=N)", item.c_str());
      }
      start = end + 1;
    }
  }
  return o;
}

void AddPixelsFlag(CLI::App* app, std::string* pixels) {
  app->add_option("--pixels", *pixels,
                  "8-bit pixels (images, IDX, fashion-mnist, uint8 arrays): auto (default: "
                  "0..255 to a model that rescales its input itself, as Rescaling(1/255) "
                  "first, else x / 255), unit (x / 255) or raw (0..255)")
      ->check(CLI::IsMember({"auto", "unit", "raw"}));
}

data::LoadOptions DataLoadOptions(const TrainFlags& flags) {
  data::LoadOptions lo;
  lo.csv_label_column = flags.csv_label;
  lo.raw_pixels = flags.raw_pixels;
  lo.image_height = flags.image_height;
  lo.image_width = flags.image_width;
  lo.image_channels = flags.image_channels;
  return lo;
}

Status LoadTrainingData(const std::string& spec, const TrainFlags& f, data::Dataset* train,
                        data::Dataset* validation, bool* has_validation) {
  const data::LoadOptions lo = DataLoadOptions(f);
  EDGEOPT_ASSIGN_OR_RETURN(*train, data::LoadDataset(spec, lo));
  *has_validation = false;
  if (!f.validation_data.empty()) {
    EDGEOPT_ASSIGN_OR_RETURN(*validation, data::LoadDataset(f.validation_data, lo));
    *has_validation = true;
  } else if (f.validation_split > 0) {
    EDGEOPT_RETURN_IF_ERROR(data::SplitValidation(train, f.validation_split, validation));
    *has_validation = true;
  }
  return Status::Ok();
}

namespace {

// " val_loss L val_acc A" (no accuracy for a regression), or "" without validation.
std::string ValidationMetrics(const train::EpochStats& e) {
  if (e.val_loss < 0) return "";
  char buf[64];
  std::snprintf(buf, sizeof(buf), " val_loss %.4f", e.val_loss);
  std::string s = buf;
  if (e.val_accuracy >= 0) {
    std::snprintf(buf, sizeof(buf), " val_acc %.4f", e.val_accuracy);
    s += buf;
  }
  return s;
}

}  // namespace

Status RunTraining(const char* command, train::Trainer* trainer, const data::Dataset& train,
                   const data::Dataset* validation, const TrainFlags& flags,
                   const std::function<Status(const train::EpochStats&)>& on_epoch) {
  const int epochs = trainer->options().epochs;
  std::unique_ptr<report::ProgressBar> bar;
  int bar_epoch = -1;
  report::TrainingHistory history;
  bool plot_noted = false;
  trainer->SetBatchCallback([&](const train::BatchStats& b) {
    history.AddBatch(b);
    if (flags.quiet) return;
    if (b.epoch != bar_epoch) {
      bar_epoch = b.epoch;
      char label[64];
      std::snprintf(label, sizeof(label), "epoch %d/%d", b.epoch + 1, epochs);
      bar = std::make_unique<report::ProgressBar>(label, b.num_batches, true);
    }
    bar->Update(b.batch + 1, b.samples, Metrics(b.loss, b.accuracy));
  });
  int saved_epochs = 0;  // the last epoch handed to on_epoch (saved)
  trainer->SetEpochCallback([&](const train::EpochStats& e) -> Status {
    if (bar) bar->Finish();
    if (!flags.quiet) {
      std::string line = "epoch " + std::to_string(e.epoch + 1) + "/" + std::to_string(epochs) +
                         ": " + Metrics(e.loss, e.accuracy);
      char buf[160];
      line += ValidationMetrics(e);
      std::snprintf(buf, sizeof(buf), " | %.1fs %.0f img/s lr %.3g", e.seconds, e.images_per_second,
                    e.learning_rate);
      line += buf;
      std::printf("%s\n", line.c_str());
      std::fflush(stdout);
    }
    history.AddEpoch(e);
    if (!flags.history.empty()) {
      const std::string csv = history.Csv();
      EDGEOPT_RETURN_IF_ERROR(WriteFileAtomic(flags.history, csv.data(), csv.size()));
    }
    if (!flags.history_plot.empty()) {
      const Status s = history.WritePlot(flags.history_plot);
      if (!s.ok() && !plot_noted) {
        std::fprintf(stderr, "edgeopt %s: note: no history plot: %s\n", command,
                     s.message().c_str());
        plot_noted = true;
      }
    }
    if (!flags.quiet && e.stops) {
      std::printf("early stopping: val_loss has not improved for %d epoch(s)\n",
                  trainer->options().early_stopping);
    }
    // With early stopping only the best epoch so far is saved: the file holds the weights
    // training ends with.
    if (!on_epoch || !e.best) return Status::Ok();
    EDGEOPT_RETURN_IF_ERROR(on_epoch(e));
    saved_epochs = e.epoch + 1;
    return Status::Ok();
  });
  g_interrupted.store(false);
  trainer->SetCancelFlag(&g_interrupted);
  auto previous = std::signal(SIGINT, OnSigint);
  auto result = trainer->Fit(train, validation);
  std::signal(SIGINT, previous == SIG_ERR ? SIG_DFL : previous);
  if (bar) bar->Finish();
  trainer->SetCancelFlag(nullptr);
  if (result.ok() && trainer->options().early_stopping > 0 && !flags.quiet) {
    const train::EpochStats* best = nullptr;  // the last epoch flagged best: the lowest loss
    for (const train::EpochStats& e : *result) best = e.best ? &e : best;
    if (best != nullptr) {
      std::printf("best epoch: %d (%s); the model has its weights\n", best->epoch + 1,
                  ValidationMetrics(*best).c_str() + 1);
    }
  }

  if (!result.ok() && result.status().code() == StatusCode::kCancelled) {
    if (saved_epochs > 0) {
      std::fprintf(stderr, "edgeopt %s: interrupted; the model after epoch %d (the %s) is saved\n",
                   command, saved_epochs,
                   trainer->options().early_stopping > 0 ? "best so far" : "last finished one");
    } else if (on_epoch) {
      std::fprintf(stderr,
                   "edgeopt %s: interrupted before the first epoch finished; nothing was saved\n",
                   command);
    } else {
      std::fprintf(stderr,
                   "edgeopt %s: interrupted; nothing was saved (%s writes its model at the end)\n",
                   command, command);
    }
  }
  return result.ok() ? Status::Ok() : result.status();
}

std::string FormatEvalLine(const train::EvalResult& r) {
  char buf[128];
  if (r.accuracy >= 0 && std::isnan(r.loss)) {  // a model that outputs its classes
    std::snprintf(buf, sizeof(buf), "accuracy=%.4f samples=%lld", r.accuracy,
                  static_cast<long long>(r.samples));
  } else if (r.accuracy >= 0) {
    std::snprintf(buf, sizeof(buf), "accuracy=%.4f loss=%.4f samples=%lld", r.accuracy, r.loss,
                  static_cast<long long>(r.samples));
  } else {
    std::snprintf(buf, sizeof(buf), "loss=%.4f samples=%lld", r.loss,
                  static_cast<long long>(r.samples));
  }
  return buf;
}

StatusOr<train::EvalResult> EvaluateWithProgress(train::Engine* engine, const data::Dataset& data,
                                                 int batch_size, bool quiet,
                                                 const std::string& loss) {
  report::ProgressBar bar("eval", (data.size + batch_size - 1) / batch_size, !quiet);
  auto r = train::Evaluate(engine, data, batch_size, loss, [&](const train::BatchStats& b) {
    bar.Update(b.batch + 1, b.samples, Metrics(b.loss, b.accuracy));
  });
  bar.Finish();
  return r;
}

std::string DefaultTestSpec(const std::string& train_spec) {
  if (train_spec == "fashion-mnist" || train_spec == "fashion-mnist:train") {
    return "fashion-mnist:test";
  }
  return "";
}

data::Dataset RandomSubset(const data::Dataset& ds, int64_t n, uint64_t seed) {
  if (n <= 0 || n >= ds.size) return ds;
  std::vector<int64_t> idx(static_cast<size_t>(ds.size));
  std::iota(idx.begin(), idx.end(), 0);
  std::mt19937_64 rng(seed);
  std::shuffle(idx.begin(), idx.end(), rng);
  idx.resize(static_cast<size_t>(n));
  std::sort(idx.begin(), idx.end());
  return ds.Subset(idx);
}

StatusOr<train::EvalResult> EvaluateGraph(const ir::Graph& graph, const data::Dataset& test,
                                          const TrainFlags& flags, const char* label) {
  train::EngineOptions eo;
  eo.batch_size = 256;
  eo.num_threads = flags.threads;
  eo.seed = flags.seed;
  EDGEOPT_ASSIGN_OR_RETURN(auto engine, train::Engine::Create(graph, eo));
  EDGEOPT_ASSIGN_OR_RETURN(train::EvalResult r,
                           EvaluateWithProgress(engine.get(), test, 256, flags.quiet, ""));
  if (!flags.quiet) std::printf("%s: %s\n", label, FormatEvalLine(r).c_str());
  return r;
}

Status LoadFineTuneData(const std::string& data_spec, const std::string& test_spec, bool fine_tune,
                        int64_t max_samples, int64_t test_samples, const TrainFlags& flags,
                        FineTuneData* out) {
  if (fine_tune) {
    EDGEOPT_RETURN_IF_ERROR(
        LoadTrainingData(data_spec, flags, &out->train, &out->validation, &out->has_validation));
    out->train = RandomSubset(out->train, max_samples, flags.seed);
  }
  const std::string test = test_spec.empty() ? DefaultTestSpec(data_spec) : test_spec;
  if (!test.empty()) {
    EDGEOPT_ASSIGN_OR_RETURN(out->test, data::LoadDataset(test, DataLoadOptions(flags)));
    out->test = RandomSubset(out->test, test_samples, flags.seed + 1);
  }
  return Status::Ok();
}

}  // namespace cli
}  // namespace edgeopt
