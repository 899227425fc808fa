// Models for the training commands: where they come from (a preset, a Keras .keras/.h5 file to
// fine-tune, a Keras architecture JSON) and where trained weights go (-o .keras/.h5 through the
// Keras writer, or .tflite through the export passes and the exporter, as `edgeopt convert`:
// BATCH_NORM folded, DROPOUT removed).
#ifndef EDGEOPT_TOOLS_CLI_TRAIN_MODEL_IO_H_
#define EDGEOPT_TOOLS_CLI_TRAIN_MODEL_IO_H_

#include <cstdint>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "include/edgeopt/status.h"
#include "nlohmann/json.hpp"
#include "src/ir/graph.h"
#include "src/train/engine.h"
#include "tools/cli/train_flags.h"

namespace edgeopt {
namespace keras {
struct KerasModel;
}  // namespace keras
namespace cli {

struct TrainModel {
  ir::Graph graph;          // training form
  std::string description;  // "preset fmnist-cnn", a path
  int default_batch_size = 32;
  // Opaque Keras model state (config and weights) when the model came from Keras.
  std::shared_ptr<void> keras;
  // The loss the Keras file was compiled with (KerasModel::compiled_loss), or empty.
  std::string compiled_loss;
  // Layers that change their input only in Keras's training mode (RandomFlip, GaussianNoise,
  // ...) that edgeopt's training leaves out ("name (Class)"): those not applied to the input
  // image (`augmentations`).
  std::vector<std::string> training_only_layers;
  // The model's augmentation layers at its input, which training applies to its batches.
  std::vector<data::ImageAugmentation> augmentations;
};

// The training options of the flags for `model`: its batch size unless --batch-size, its
// compiled loss unless --loss, its input augmentation layers besides --augment.
StatusOr<train::TrainOptions> MakeModelTrainOptions(const TrainFlags& flags,
                                                    const TrainModel& model);
// Whether the model rescales 8-bit pixels itself: its input goes first (through a QUANTIZE)
// into a MUL by a constant of at most 1/100 (Keras's Rescaling(1/255), or 1/127.5 with offset
// -1) or a DIV by one of at least 100. `how` says which ("MUL by 0.00392157").
bool RescalesItsInput(const ir::Graph& graph, std::string* how = nullptr);
// `flags` with what the data needs from the model's input: raw_pixels (`what` names the model
// in the note printed to stderr when it is set and not `quiet`), and for an image input
// [N, H, W, C] the size and channels image folders are read at (as Keras's image_size).
TrainFlags WithModelInput(const TrainFlags& flags, const ir::Graph& graph, const std::string& what);
// `path` (a .keras/.h5 model or a .json architecture) or `preset` (exactly one of them).
StatusOr<TrainModel> LoadModelForTraining(const std::string& path, const std::string& preset,
                                          uint64_t seed);
// --unfreeze, then --freeze, set on the Keras model's trainable flags (keras::SetTrainable) and
// the graph rebuilt: frozen weights stay as they are in training and are saved so (the flags
// too, in a .keras / .h5 output).
Status ApplyTrainableFlags(TrainModel* model, const TrainFlags& flags);
// The same on a graph alone (QAT of a model file), by its weights' origins ("<layer>/<var>"):
// the layer names of the file, not its nested models' names.
Status ApplyTrainableFlags(ir::Graph* graph, const TrainFlags& flags, const std::string& path);
// The weight tensors of the Keras layers whose variables keep their shapes when the model is
// saved (keras::KeepsVariableShapes): channel pruning must not change them.
std::set<int> ShapeKeepingWeights(TrainModel& model);
// How many Keras weights training leaves as they are (Tensor::frozen), for the summary line.
int64_t FrozenWeightCount(const ir::Graph& graph);
// A model from a Keras model config alone (weights from Keras's initializers, seeded), e.g. a
// student derived from a teacher's architecture.
StatusOr<TrainModel> TrainModelFromKerasConfig(const nlohmann::json& config, uint64_t seed,
                                               const std::string& description);
// Writes the engine's current weights into the model and saves it to `path` (atomically).
Status SaveTrainedModel(TrainModel* model, const train::Engine& engine, const std::string& path);
// The Keras model behind a TrainModel (nullptr for none), to edit its architecture; then
// RebuildGraph makes the training graph again from it.
keras::KerasModel* KerasModelOf(TrainModel* model);
Status RebuildGraph(TrainModel* model);
// The training-form graph as the .tflite `edgeopt convert [--sparse]` writes (export passes:
// BATCH_NORM folded, DROPOUT removed; with `sparse`, TFLite's sparse encoding for weights with
// many zeros).
StatusOr<std::vector<uint8_t>> TfliteBytes(const ir::Graph& training_graph, bool sparse = false);
// A float .tflite that a compression command rewrites one-shot (fine-tuning needs the Keras
// model): its bytes, and its graph for the caller to rewrite. Errors, naming the files: no
// --one-shot (`one_shot` false), an output that is not a .tflite, a quantized model. `verb`
// and `past` ("cluster", "clustered") word them.
struct OneShotTflite {
  std::vector<uint8_t> original;
  ir::Graph graph;
};
StatusOr<OneShotTflite> LoadOneShotTflite(const std::string& path, const std::string& output,
                                          bool one_shot, const char* verb, const char* past);
// What a compression command (cluster, lowrank) reports of its result: the .tflite sizes of
// the original and the result, plain and zipped; the output file and its bytes; the accuracies
// before and after on the test data.
struct CompressionSummary {
  size_t tflite = 0, zipped = 0, original_tflite = 0, original_zipped = 0, bytes = 0;
  std::string output, test_name;
  int64_t test_size = 0;
  bool evaluated = false, fine_tuned = false;
  double before = 0, after = 0;  // accuracies
};
// The rewritten graph exported and written to `output` (atomically), with the sizes and the
// accuracies (through the runtime, on the test data of `data_spec` or `test_spec`) of both.
StatusOr<CompressionSummary> FinishOneShotTflite(const OneShotTflite& in,
                                                 const ir::Graph& rewritten,
                                                 const std::string& data_spec,
                                                 const std::string& test_spec, int64_t test_samples,
                                                 const TrainFlags& flags,
                                                 const std::string& output);
// Checks `path` has an extension SaveTrainedModel can write and, for .tflite, that
// the export passes accept the graph, before training starts.
Status CheckOutputPath(const TrainModel& model, const std::string& path);

}  // namespace cli
}  // namespace edgeopt

#endif  // EDGEOPT_TOOLS_CLI_TRAIN_MODEL_IO_H_
