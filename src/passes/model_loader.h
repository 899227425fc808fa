// A model file as an IR graph in export form: Keras (.h5 / .keras) built with batch 1 and run
// through PrepareForExport, or a .tflite imported as it is.
#ifndef EDGEOPT_SRC_PASSES_MODEL_LOADER_H_
#define EDGEOPT_SRC_PASSES_MODEL_LOADER_H_

#include <string>
#include <vector>

#include "src/data/augment.h"
#include "src/ir/graph.h"

namespace edgeopt {
namespace passes {

struct LoadedGraph {
  ir::Graph graph;
  bool from_keras = false;
  bool quantized = false;  // a .tflite with integer or float16 weights or activations
  int lstm_layers = 0;     // a Keras model's LSTM layers (unrolled with unroll_lstm)
  // A Keras model's compiled loss and its augmentation layers at the input, for training it
  // (KerasModel::compiled_loss, BuildOptions::input_augmentations).
  std::string compiled_loss;
  std::vector<data::ImageAugmentation> augmentations;
};

// unroll_lstm: a Keras model's LSTMs unrolled over time (keras::BuildOptions::unroll_lstm).
StatusOr<LoadedGraph> LoadModelGraph(const std::string& path, int batch_size = 1,
                                     bool unroll_lstm = false);

// True when any tensor of the graph is quantized (int8/uint8/int16 with parameters) or any
// constant is float16.
bool IsQuantizedGraph(const ir::Graph& graph);

}  // namespace passes
}  // namespace edgeopt

#endif  // EDGEOPT_SRC_PASSES_MODEL_LOADER_H_
