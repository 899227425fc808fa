// Keras weight initializers (glorot/he/lecun uniform and normal, variance_scaling, random
// normal/uniform, truncated normal, orthogonal, identity, zeros, ones, constant) with Keras's fan
// rules and defaults. Deterministic for a seed; the random streams are edgeopt's own, so values
// differ from Keras's but follow the same distributions.
#ifndef EDGEOPT_SRC_IMPORTERS_KERAS_INITIALIZERS_H_
#define EDGEOPT_SRC_IMPORTERS_KERAS_INITIALIZERS_H_

#include <cstdint>
#include <string>
#include <vector>

#include "src/importers/keras/keras_config.h"

namespace edgeopt {
namespace keras {

// A small deterministic generator (splitmix64 seeding, xorshift* stream).
class Rng {
 public:
  explicit Rng(uint64_t seed);
  uint64_t Next();
  double Uniform();  // [0, 1)
  double Normal();   // standard normal (Box-Muller)

 private:
  uint64_t state_;
  bool has_spare_ = false;
  double spare_ = 0;
};

// Keras's fan_in / fan_out for a weight shape.
void ComputeFans(const std::vector<int64_t>& shape, double* fan_in, double* fan_out);

// Values for `shape` from the initializer spec. `where` names the layer for errors.
StatusOr<std::vector<float>> Initialize(const InitializerSpec& spec,
                                        const std::vector<int64_t>& shape, Rng* rng,
                                        const LayerConfig& where);

}  // namespace keras
}  // namespace edgeopt

#endif  // EDGEOPT_SRC_IMPORTERS_KERAS_INITIALIZERS_H_
