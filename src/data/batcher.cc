#include "src/data/batcher.h"

#include <algorithm>
#include <cstring>

#include "src/train/rng.h"

namespace edgeopt {
namespace data {

Batcher::Batcher(const Dataset& dataset, int batch_size, bool shuffle, uint64_t seed,
                 const AugmentOptions& augment)
    : ds_(dataset),
      batch_size_(batch_size < 1 ? 1 : batch_size),
      shuffle_(shuffle),
      seed_(seed),
      augment_(augment) {
  if (ds_.sample_shape.size() != 3) augment_ = AugmentOptions();
  StartEpoch(0);
}

void Batcher::StartEpoch(int epoch) {
  epoch_ = epoch;
  order_.resize(ds_.size);
  for (int64_t i = 0; i < ds_.size; ++i) order_[i] = i;
  if (shuffle_) {
    train::SplitMix64 rng(train::MixSeed(seed_, 0x73687566ull, static_cast<uint64_t>(epoch)));
    for (int64_t i = ds_.size - 1; i > 0; --i) {
      const int64_t j = static_cast<int64_t>(rng.Below(static_cast<uint64_t>(i + 1)));
      std::swap(order_[i], order_[j]);
    }
  }
  pos_ = 0;
}

int64_t Batcher::num_batches() const { return (ds_.size + batch_size_ - 1) / batch_size_; }

int Batcher::Next(float* x, int32_t* labels, float* targets) {
  const int64_t remaining = ds_.size - pos_;
  if (remaining <= 0) return 0;
  const int n = static_cast<int>(std::min<int64_t>(batch_size_, remaining));
  const int64_t ss = ds_.sample_size();
  const int64_t ts = ds_.target_size();
  for (int i = 0; i < n; ++i) {
    const int64_t idx = order_[pos_ + i];
    std::memcpy(x + i * ss, ds_.x.data() + idx * ss, sizeof(float) * ss);
    if (augment_.enabled()) {
      Augment(x + i * ss, train::MixSeed(seed_ ^ 0x617567ull, epoch_, pos_ + i));
    }
    if (labels != nullptr && ds_.has_labels()) labels[i] = ds_.labels[idx];
    if (targets != nullptr && ds_.has_targets()) {
      std::memcpy(targets + i * ts, ds_.targets.data() + idx * ts, sizeof(float) * ts);
    }
  }
  pos_ += n;
  return n;
}

void Batcher::Augment(float* sample, uint64_t key) const {
  const int h = ds_.sample_shape[0], w = ds_.sample_shape[1], c = ds_.sample_shape[2];
  train::SplitMix64 rng(key);
  for (const ImageAugmentation& a : augment_.layers) {
    ApplyAugmentation(a, sample, h, w, c, &rng, &scratch_);
  }
  const bool flip = augment_.flip_horizontal && (rng.Next() & 1) != 0;
  int dy = 0, dx = 0;
  if (augment_.max_shift > 0) {
    const int range = 2 * augment_.max_shift + 1;
    dy = static_cast<int>(rng.Below(range)) - augment_.max_shift;
    dx = static_cast<int>(rng.Below(range)) - augment_.max_shift;
  }
  if (!flip && dy == 0 && dx == 0) return;
  const size_t n = static_cast<size_t>(h) * w * c;
  scratch_.assign(sample, sample + n);
  // out(y, x) = in(y - dy, x' - dx) where x' is mirrored when flipping.
  for (int y = 0; y < h; ++y) {
    const int sy = y - dy;
    for (int x = 0; x < w; ++x) {
      float* dst = sample + (static_cast<size_t>(y) * w + x) * c;
      int sx = x - dx;
      if (flip) sx = w - 1 - sx;
      if (sy < 0 || sy >= h || sx < 0 || sx >= w) {
        std::memset(dst, 0, sizeof(float) * c);
      } else {
        std::memcpy(dst, scratch_.data() + (static_cast<size_t>(sy) * w + sx) * c,
                    sizeof(float) * c);
      }
    }
  }
}

}  // namespace data
}  // namespace edgeopt
