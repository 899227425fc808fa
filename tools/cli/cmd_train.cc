// edgeopt train [MODEL | --preset NAME] --data SPEC [training flags] [-o OUT]
//
//   edgeopt train --preset fmnist-cnn --data fashion-mnist --epochs 3 -o cnn.keras
//   edgeopt train model.keras --data fashion-mnist --epochs 2 --lr 1e-4 -o tuned.keras
//   edgeopt train arch.json --data my.npz --epochs 10 --batch-size 64 --optimizer adamw -o m.keras
//
// Saves after every epoch (atomically), so Ctrl-C keeps the last finished epoch. After training,
// evaluates on --test-data (fashion-mnist's test split by default for fashion-mnist) and prints
// "test: accuracy=... loss=... samples=N" as the last line.
#include <algorithm>
#include <cstdio>
#include <string>

#include "CLI/CLI.hpp"
#include "src/data/dataset.h"
#include "src/train/engine.h"
#include "src/train/trainer.h"
#include "tools/cli/cli_util.h"
#include "tools/cli/commands.h"
#include "tools/cli/train_flags.h"
#include "tools/cli/train_model_io.h"

namespace edgeopt {
namespace cli {
namespace {

// The test split that goes with a training spec, if there is an obvious one.
Status Train(const std::string& model_path, const std::string& preset, const std::string& data_spec,
             const std::string& test_spec, const std::string& output, TrainFlags flags) {
  EDGEOPT_ASSIGN_OR_RETURN(TrainModel model, LoadModelForTraining(model_path, preset, flags.seed));
  flags = WithModelInput(flags, model.graph, model.description);
  EDGEOPT_RETURN_IF_ERROR(ApplyTrainableFlags(&model, flags));
  if (!output.empty()) EDGEOPT_RETURN_IF_ERROR(CheckOutputPath(model, output));
  EDGEOPT_ASSIGN_OR_RETURN(train::TrainOptions options, MakeModelTrainOptions(flags, model));
  data::Dataset train_data, validation;
  bool has_validation = false;
  EDGEOPT_RETURN_IF_ERROR(
      LoadTrainingData(data_spec, flags, &train_data, &validation, &has_validation));
  train::EngineOptions eo;
  eo.batch_size = options.batch_size;
  eo.num_threads = flags.threads;
  eo.seed = flags.seed;
  EDGEOPT_ASSIGN_OR_RETURN(auto engine, train::Engine::Create(model.graph, eo));
  EDGEOPT_ASSIGN_OR_RETURN(auto trainer, train::Trainer::Create(engine.get(), options, train_data));
  if (!flags.quiet) {
    std::printf(
        "training %s on %s: %lld samples%s, %lld weights%s, %s lr %g, batch %d, %s, "
        "%d thread(s), gemm %s\n",
        model.description.c_str(), train_data.name.c_str(), static_cast<long long>(train_data.size),
        has_validation ? (" (+" + std::to_string(validation.size) + " validation)").c_str() : "",
        static_cast<long long>(engine->num_parameter_values()),
        FrozenWeightCount(model.graph) > 0
            ? (" (+" + std::to_string(FrozenWeightCount(model.graph)) + " frozen)").c_str()
            : "",
        train::OptimizerKindName(options.optimizer.kind), options.optimizer.learning_rate,
        options.batch_size, train::LossKindName(trainer->loss_kind()), engine->num_threads(),
        engine->gemm()->isa_name());
    // Imbalanced classes (the smallest under a quarter of the largest): the remedy Keras users
    // reach for.
    if (train_data.has_labels() && train_data.num_classes >= 2 &&
        trainer->class_weights().empty()) {
      std::vector<int64_t> count(static_cast<size_t>(train_data.num_classes), 0);
      for (int32_t y : train_data.labels) ++count[static_cast<size_t>(y)];
      const auto [lo, hi] = std::minmax_element(count.begin(), count.end());
      if (*lo > 0 && *lo * 4 < *hi) {
        std::printf(
            "note: the classes are imbalanced (class %d: %lld samples, class %d: %lld); "
            "--class-weight balanced weighs them equally, eval --per-class shows each class's "
            "recall\n",
            static_cast<int>(lo - count.begin()), static_cast<long long>(*lo),
            static_cast<int>(hi - count.begin()), static_cast<long long>(*hi));
      }
    }
    if (!trainer->class_weights().empty()) {
      std::string weights;
      for (size_t c = 0; c < trainer->class_weights().size(); ++c) {
        char buf[48];
        std::snprintf(buf, sizeof(buf), "%s%zu: %.3g", c == 0 ? "" : ", ", c,
                      trainer->class_weights()[c]);
        weights += buf;
      }
      std::printf("class weights: %s\n", weights.c_str());
    }
    if (!model.augmentations.empty()) {
      std::string names;
      for (const data::ImageAugmentation& a : model.augmentations) {
        names += (names.empty() ? "" : ", ") + data::DescribeAugmentation(a);
      }
      std::printf("augmenting the input as the model's layers do in Keras's training: %s\n",
                  names.c_str());
    }
    if (!model.training_only_layers.empty()) {
      std::string names;
      for (const std::string& l : model.training_only_layers)
        names += (names.empty() ? "" : ", ") + l;
      std::printf(
          "note: %s %s input only in Keras's training mode, away from the model's input image; "
          "edgeopt trains without %s (--augment flip,shift augments the images)\n",
          names.c_str(), model.training_only_layers.size() == 1 ? "changes its" : "change their",
          model.training_only_layers.size() == 1 ? "it" : "them");
    }
    std::fflush(stdout);
  }
  auto save = [&](const train::EpochStats&) -> Status {
    if (output.empty()) return Status::Ok();
    return SaveTrainedModel(&model, *engine, output);
  };
  EDGEOPT_RETURN_IF_ERROR(RunTraining("train", trainer.get(), train_data,
                                      has_validation ? &validation : nullptr, flags, save));
  // No epoch ran (--epochs 0: a change of format, or of the trainable flags): saved now.
  if (flags.epochs == 0 && !output.empty()) {
    EDGEOPT_RETURN_IF_ERROR(SaveTrainedModel(&model, *engine, output));
  }
  if (!output.empty() && !flags.quiet) std::printf("saved %s\n", output.c_str());
  const std::string test = test_spec.empty() ? DefaultTestSpec(data_spec) : test_spec;
  if (!test.empty()) {
    const data::LoadOptions lo = DataLoadOptions(flags);
    EDGEOPT_ASSIGN_OR_RETURN(data::Dataset test_data, data::LoadDataset(test, lo));
    EDGEOPT_ASSIGN_OR_RETURN(
        train::EvalResult r,
        EvaluateWithProgress(engine.get(), test_data, std::max(options.batch_size, 256),
                             flags.quiet, options.loss));
    std::printf("test %s: %s\n", test_data.name.c_str(), FormatEvalLine(r).c_str());
  }
  return Status::Ok();
}

}  // namespace

int RunTrain(int argc, char** argv) {
  CLI::App app{
      "Train a model (a preset, or a Keras model to fine-tune, or a Keras "
      "architecture JSON) with edgeopt's own training engine.",
      "edgeopt train"};
  std::string model, preset, data_spec, test_spec, output;
  TrainFlags flags;
  app.add_option("model", model, "a .keras / .h5 model to fine-tune, or an architecture .json");
  app.add_option("--preset", preset, "a built-in model: fmnist-cnn");
  app.add_option("--data", data_spec,
                 "training data: fashion-mnist[:train|:test], FILE.npz, "
                 "FILE.csv, IDX files, "
                 "DIR/ (class folders or .npy files)")
      ->required();
  app.add_option("--test-data", test_spec,
                 "evaluate on this after training (default: fashion-mnist:test for "
                 "fashion-mnist)");
  app.add_option("-o,--output", output, "write the trained model (.keras, .h5 or .tflite)");
  AddTrainFlags(&app, &flags);
  EDGEOPT_CLI_PARSE(app, argc, argv);
  if (model.empty() == preset.empty()) {
    std::fprintf(stderr, "edgeopt train: give a model file or --preset NAME (not both)\n");
    return kExitUsage;
  }
  Status s = Train(model, preset, data_spec, test_spec, output, flags);
  if (!s.ok()) return ReportError("train", s);
  return kExitOk;
}

}  // namespace cli
}  // namespace edgeopt
