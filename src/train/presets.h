// Built-in model presets for `edgeopt train --preset NAME`.
//
//   fmnist-cnn: Conv2D(32, 3x3, valid, relu), MaxPool 2, Conv2D(64, 3x3, valid, relu),
//               MaxPool 2, Flatten, Dense(128, relu), Dense(10) -> logits; input 28x28x1.
//
// Each preset is a Keras Sequential config (so a trained preset saves as a normal .keras
// file), and can also be built directly as an IR graph in training form with Keras' default
// initializers (glorot_uniform kernels, zero biases), seeded.
#ifndef EDGEOPT_SRC_TRAIN_PRESETS_H_
#define EDGEOPT_SRC_TRAIN_PRESETS_H_

#include <cstdint>
#include <string>
#include <vector>

#include "nlohmann/json.hpp"
#include "src/ir/graph.h"

namespace edgeopt {
namespace train {

std::vector<std::string> PresetNames();
StatusOr<nlohmann::json> PresetKerasConfig(const std::string& name);
// The preset as IR (batch dimension `batch`), weights with Tensor::origin "<layer>/<var>".
StatusOr<ir::Graph> BuildPresetGraph(const std::string& name, uint64_t seed, int batch = 1);

// Keras glorot_uniform: U(-l, l), l = sqrt(6 / (fan_in + fan_out)).
std::vector<float> GlorotUniform(int64_t count, int64_t fan_in, int64_t fan_out, uint64_t seed);

}  // namespace train
}  // namespace edgeopt

#endif  // EDGEOPT_SRC_TRAIN_PRESETS_H_
