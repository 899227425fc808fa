// Batches over a Dataset: a seeded shuffle per epoch (the same permutation for the same seed
// and epoch), optional image augmentation, and a last partial batch (as Keras does).
#ifndef EDGEOPT_SRC_DATA_BATCHER_H_
#define EDGEOPT_SRC_DATA_BATCHER_H_

#include <cstdint>
#include <vector>

#include "src/data/augment.h"
#include "src/data/dataset.h"

namespace edgeopt {
namespace data {

// Random image augmentation for NHWC samples (rank-3 sample shape [H, W, C]).
struct AugmentOptions {
  bool flip_horizontal = false;  // mirror left-right with probability 1/2
  int max_shift = 0;             // shift by up to +-max_shift pixels in H and W, zero fill
  // Keras augmentation layers (a model's own, at its input), applied first, in order.
  std::vector<ImageAugmentation> layers;
  bool enabled() const { return flip_horizontal || max_shift > 0 || !layers.empty(); }
};

class Batcher {
 public:
  Batcher(const Dataset& dataset, int batch_size, bool shuffle, uint64_t seed,
          const AugmentOptions& augment = {});

  // Starts epoch `epoch` (0-based): a fresh permutation when shuffling.
  void StartEpoch(int epoch);
  int64_t num_batches() const;
  // Copies the next batch into x (batch_size * sample_size floats) and, when the data set has
  // them, labels / targets. Returns the number of samples (0 after the last batch).
  int Next(float* x, int32_t* labels, float* targets);
  int batch_size() const { return batch_size_; }

 private:
  void Augment(float* sample, uint64_t key) const;

  const Dataset& ds_;
  int batch_size_;
  bool shuffle_;
  uint64_t seed_;
  AugmentOptions augment_;
  int epoch_ = 0;
  std::vector<int64_t> order_;
  int64_t pos_ = 0;
  mutable std::vector<float> scratch_;
};

}  // namespace data
}  // namespace edgeopt

#endif  // EDGEOPT_SRC_DATA_BATCHER_H_
