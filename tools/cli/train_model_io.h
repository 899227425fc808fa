// Models for the training commands: where they come from (a preset, a Keras
// .keras/.h5 file to fine-tune, a Keras architecture JSON) and where trained
// weights go (-o .keras/.h5 through the Keras writer, or .tflite through the
// export passes and the exporter, as `edgeopt convert`: BATCH_NORM folded, DROPOUT removed).
#ifndef EDGEOPT_TOOLS_CLI_TRAIN_MODEL_IO_H_
#define EDGEOPT_TOOLS_CLI_TRAIN_MODEL_IO_H_

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "include/edgeopt/status.h"
#include "nlohmann/json.hpp"
#include "src/ir/graph.h"
#include "src/train/engine.h"

namespace edgeopt {
namespace keras {
struct KerasModel;
}  // namespace keras
namespace cli {

struct TrainModel {
  ir::Graph graph;          // training form
  std::string description;  // "preset fmnist-cnn", a path
  int default_batch_size = 32;
  // Opaque Keras model state (config and weights) when the model came from
  // Keras.
  std::shared_ptr<void> keras;
};

// `path` (a .keras/.h5 model or a .json architecture) or `preset` (exactly one
// of them).
StatusOr<TrainModel> LoadModelForTraining(const std::string& path, const std::string& preset,
                                          uint64_t seed);
// A model from a Keras model config alone (weights from Keras's initializers, seeded), e.g. a
// student derived from a teacher's architecture.
StatusOr<TrainModel> TrainModelFromKerasConfig(const nlohmann::json& config, uint64_t seed,
                                               const std::string& description);
// Writes the engine's current weights into the model and saves it to `path`
// (atomically).
Status SaveTrainedModel(TrainModel* model, const train::Engine& engine, const std::string& path);
// The Keras model behind a TrainModel (nullptr for none), to edit its architecture; then
// RebuildGraph makes the training graph again from it.
keras::KerasModel* KerasModelOf(TrainModel* model);
Status RebuildGraph(TrainModel* model);
// The training-form graph as the .tflite `edgeopt convert [--sparse]` writes (export passes:
// BATCH_NORM folded, DROPOUT removed; with `sparse`, TFLite's sparse encoding for weights with
// many zeros).
StatusOr<std::vector<uint8_t>> TfliteBytes(const ir::Graph& training_graph, bool sparse = false);
// Checks `path` has an extension SaveTrainedModel can write and, for .tflite, that
// the export passes accept the graph, before training starts.
Status CheckOutputPath(const TrainModel& model, const std::string& path);

}  // namespace cli
}  // namespace edgeopt

#endif  // EDGEOPT_TOOLS_CLI_TRAIN_MODEL_IO_H_
