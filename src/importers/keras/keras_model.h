// Keras models in memory: the model config (JSON) and the weights per layer, loaded from a
// Keras 2 HDF5 file (.h5), a Keras 3 / tf_keras zip (.keras), or a weights-only .h5 plus a
// config JSON; saved back to .keras or .h5. BuildGraph turns a model into the IR in its
// training form (BATCH_NORM and DROPOUT nodes kept; passes fold them for export);
// UpdateFromGraph writes trained (or pruned) weights back into the model.
#ifndef EDGEOPT_SRC_IMPORTERS_KERAS_KERAS_MODEL_H_
#define EDGEOPT_SRC_IMPORTERS_KERAS_KERAS_MODEL_H_

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "nlohmann/json.hpp"
#include "src/data/augment.h"
#include "src/ir/graph.h"
#include "src/util/npy.h"

namespace edgeopt {
namespace keras {

struct LayerWeights {
  std::string layer;                                   // layer name
  std::vector<std::pair<std::string, NpyArray>> vars;  // ("kernel", ...), ("bias", ...), in order
};

struct KerasModel {
  // {"class_name": "Sequential" | "Functional" | "Model", "config": {...}} as in the file.
  nlohmann::json config;
  std::vector<LayerWeights> weights;  // per layer with weights, in the file's order
  std::string keras_version;          // e.g. "2.4.0", "3.3.3"
  std::string backend = "tensorflow";
  std::string source_path;  // for messages
  // The loss the model was compiled with (.keras compile_config, .h5 training_config): a Keras
  // name or class name ("binary_crossentropy", "MeanAbsoluteError"); empty when the file has
  // none or one per output.
  std::string compiled_loss;
};

// .h5 (full model) or .keras, by content. Errors name the file and what is wrong.
StatusOr<KerasModel> LoadKerasFile(const std::string& path);
// A weights-only .h5 (layer_names / weight_names attributes) plus a model config JSON file.
StatusOr<KerasModel> LoadKerasWeights(const std::string& weights_path,
                                      const std::string& config_path);
// A model from a config alone: weights initialized as Keras initializes each layer
// (kernel_initializer, bias_initializer, ...), deterministic for a seed.
StatusOr<KerasModel> ModelFromConfig(const nlohmann::json& config, uint64_t seed);
// ModelFromConfig of a model config .json file (a bare config, or Keras's to_json() /
// config.json wrapper). Errors name the file.
StatusOr<KerasModel> ModelFromConfigFile(const std::string& path, uint64_t seed);
// .keras (config.json + model.weights.h5 + metadata.json) or .h5, by extension; atomic.
Status SaveKerasFile(const KerasModel& model, const std::string& path);
// Keras's `trainable` flag of the layers that `patterns` name (a layer name, a prefix ending in
// '*', or "all"), as `layer.trainable = ...` sets it: on a nested model, on every layer inside
// it too; unfreezing a layer inside a frozen model unfreezes that model (its other layers keep
// their flags). The graph built from the model marks the weights of a layer that is not
// trainable Tensor::frozen. An error names a pattern that matches no layer.
Status SetTrainable(KerasModel* model, const std::vector<std::string>& patterns, bool trainable);
bool LayerNameMatches(const std::string& pattern, const std::string& name);

struct BuildOptions {
  int batch_size = 1;  // the static batch dimension of the graph inputs
  // When set, receives the augmentation layers (RandomFlip, RandomRotation, RandomZoom,
  // RandomTranslation, RandomContrast, RandomBrightness, GaussianNoise) that transform the
  // model's input image: directly, or for the geometric ones through per-element rescaling
  // (MUL / ADD / SUB / DIV by constants, e.g. Rescaling, Normalization). Training applies them
  // to its batches; the graph leaves them out, as at inference.
  std::vector<data::ImageAugmentation>* input_augmentations = nullptr;
  // Every LSTM unrolled over time as with unroll=True (plain builtin ops, which quantize to full
  // int8), instead of TFLite's fused UNIDIRECTIONAL_SEQUENCE_LSTM. The same weights.
  bool unroll_lstm = false;
};
// IR in training form; every weight tensor has Tensor::origin = "<layer>/<var>". Conventions of the
// training form (one mapping per layer in layers/*.cc):
//  - BATCH_NORM(x, gamma, beta, moving_mean, moving_variance): gamma / beta are -1 (absent) for
//    scale=False / center=False. DROPOUT {rate, noise_shape=""|"spatial"}.
//  - A layer's relu / relu6 activation argument is fused into its op; other activations (and
//    Activation layers) are separate nodes until FuseActivations runs.
//  - LSTM gate weights are split per gate in TFLite's layout; their origins are
//    "<layer>/kernel[i]", "[f]", "[c]", "[o]" (likewise recurrent_kernel and bias).
//  - GRU / SimpleRNN are unrolled over time; their FC weights are the whole transposed kernel and
//    recurrent_kernel (one tensor for every step); a reset_after GRU's bias [2, 3U] is split into
//    rows "<layer>/bias[0]" and "<layer>/bias[1]". Bidirectional's variables are named
//    "forward/<var>" and "backward/<var>" (origins "<layer>/forward/kernel", ...).
//  - Convolutions with use_bias=False have no bias input (the export passes add zeros).
//  - Inputs are named after the InputLayers (or "<first layer>_input"), outputs after the
//    output layers (a nested model's output after the model); node names are layer names.
StatusOr<ir::Graph> BuildGraph(const KerasModel& model, const BuildOptions& options = {});
// Copies weights back by Tensor::origin (undoing the layout changes of BuildGraph) and updates
// layer sizes (filters/units) when a graph was channel-pruned.
Status UpdateFromGraph(KerasModel* model, const ir::Graph& graph);

}  // namespace keras
}  // namespace edgeopt

#endif  // EDGEOPT_SRC_IMPORTERS_KERAS_KERAS_MODEL_H_
