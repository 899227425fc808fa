// Training flags shared by `edgeopt train` and the commands that fine-tune (prune, distill, qat):
// registration on a CLI11 app, conversion to train::TrainOptions, and the training run with a
// progress bar per epoch, a summary line per epoch, and Ctrl-C handling (the epoch in progress is
// abandoned; the last finished epoch has already been handed to `on_epoch`, which saves it).
#ifndef EDGEOPT_TOOLS_CLI_TRAIN_FLAGS_H_
#define EDGEOPT_TOOLS_CLI_TRAIN_FLAGS_H_

#include <cstdint>
#include <functional>
#include <string>

#include "CLI/CLI.hpp"
#include "include/edgeopt/status.h"
#include "src/data/dataset.h"
#include "src/train/trainer.h"

namespace edgeopt {
namespace cli {

struct TrainFlags {
  int epochs = 1;
  int batch_size = 0;  // 0: the default (32, or the preset's)
  double lr = 0.0;     // 0: the optimizer's Keras default
  std::string optimizer = "adam";
  uint64_t seed = 0;
  int threads = 0;  // 0: all cores
  bool quiet = false;
  double momentum = 0.0;
  bool nesterov = false;
  double weight_decay = -1.0;  // <0: the optimizer's default
  double clip_norm = 0.0;
  double clip_value = 0.0;
  std::string lr_schedule = "constant";
  double warmup_epochs = 0.0;
  double lr_step_epochs = 1.0;
  double lr_gamma = 0.1;
  int lr_patience = 2;  // plateau schedule
  double validation_split = 0.0;
  std::string validation_data;
  std::string augment;  // "flip", "shift", "shift=N", comma-separated
  std::string loss;
  double label_smoothing = 0.0;
  int early_stopping = 0;    // patience in epochs; 0: off
  std::string class_weight;  // "balanced" or "CLASS:WEIGHT,..."
  std::string csv_label;
  std::string history;       // CSV of every epoch's metrics (Keras CSVLogger's, and more)
  std::string history_plot;  // PNG: loss and accuracy against the epoch
  // Keras layers whose weights training leaves as they are (trainable=False), and layers to
  // train again: comma-separated names, prefixes ending in '*', or all.
  std::string freeze, unfreeze;
  // --pixels: how 8-bit pixels are fed: auto (0..255 to a model that rescales its input
  // itself, else x / 255), unit (x / 255) or raw (0..255).
  std::string pixels = "auto";
  // Not a flag: set from the model and --pixels (WithModelInput), so that the data sets feed
  // 8-bit pixels as 0..255 (data::LoadOptions::raw_pixels).
  bool raw_pixels = false;
  // Not flags either: the model's image input size, at which image folders are read (0: each
  // folder's first image's).
  int image_height = 0, image_width = 0, image_channels = 0;
};

// The data loading options of the flags: the CSV label column, raw pixels.
data::LoadOptions DataLoadOptions(const TrainFlags& flags);

// Registers --epochs --batch-size --lr --optimizer --seed --threads --quiet and the rest.
void AddTrainFlags(CLI::App* app, TrainFlags* flags);
// Registers --pixels (also for the commands that only evaluate: eval, quantize, compare).
void AddPixelsFlag(CLI::App* app, std::string* pixels);
// The data flags of the commands that compress a model, fine-tune it and measure it before and
// after (prune, cluster, lowrank): --data and --test-data, and --max-samples and
// --test-samples.
void AddCompressionDataFlags(CLI::App* app, std::string* data, std::string* test_data);
void AddSubsetFlags(CLI::App* app, int64_t* max_samples, int64_t* test_samples);
// `default_batch` applies when --batch-size was not given; `compiled_loss` (the model file's) when
// --loss was not and the data has float targets.
StatusOr<train::TrainOptions> MakeTrainOptions(const TrainFlags& flags, int default_batch,
                                               const std::string& compiled_loss = "");
// Data for training: the spec, a validation set (--validation-data or --validation-split).
Status LoadTrainingData(const std::string& spec, const TrainFlags& flags, data::Dataset* train,
                        data::Dataset* validation, bool* has_validation);

// Runs trainer->Fit with progress output on stderr and a summary line per epoch on stdout;
// `on_epoch` runs after every finished epoch (save the model there). Installs a SIGINT handler for
// the duration: Ctrl-C stops after the current batch with StatusCode::kCancelled.
Status RunTraining(const char* command, train::Trainer* trainer, const data::Dataset& train,
                   const data::Dataset* validation, const TrainFlags& flags,
                   const std::function<Status(const train::EpochStats&)>& on_epoch);

// Evaluates with a progress bar and prints "NAME: accuracy=... loss=... samples=N".
StatusOr<train::EvalResult> EvaluateWithProgress(train::Engine* engine, const data::Dataset& data,
                                                 int batch_size, bool quiet,
                                                 const std::string& loss = "");

// The data of a command that fine-tunes a model and measures it before and after (prune,
// cluster): with `fine_tune`, the training data of `data_spec` (a random subset of
// `max_samples`, 0: all) and its validation set; the test data of `test_spec`, or of
// DefaultTestSpec(data_spec) when empty (a random subset of `test_samples`, 0: all; none when
// neither names one).
struct FineTuneData {
  data::Dataset train, validation, test;
  bool has_validation = false;
};
Status LoadFineTuneData(const std::string& data_spec, const std::string& test_spec, bool fine_tune,
                        int64_t max_samples, int64_t test_samples, const TrainFlags& flags,
                        FineTuneData* out);

// Accuracy and loss of a training-form graph on `test` (an engine of its own, batch 256), with
// a progress bar; unless --quiet, prints "LABEL: accuracy=... loss=... samples=N".
StatusOr<train::EvalResult> EvaluateGraph(const ir::Graph& graph, const data::Dataset& test,
                                          const TrainFlags& flags, const char* label);
// The test set that goes with a training set when none is given: fashion-mnist:test for
// fashion-mnist (or its :train split), else "" (none).
std::string DefaultTestSpec(const std::string& train_spec);
// n samples of `ds` chosen at random (seeded), in their original order; all of it for n <= 0
// or n >= its size.
data::Dataset RandomSubset(const data::Dataset& ds, int64_t n, uint64_t seed);

// "accuracy=0.9123 loss=0.2512 samples=10000" (accuracy omitted when not a classification).
std::string FormatEvalLine(const train::EvalResult& r);

}  // namespace cli
}  // namespace edgeopt

#endif  // EDGEOPT_TOOLS_CLI_TRAIN_FLAGS_H_
