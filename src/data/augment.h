// Keras's image augmentation layers, applied to training samples: RandomFlip, RandomRotation,
// RandomZoom, RandomTranslation, RandomContrast, RandomBrightness and GaussianNoise with their
// Keras 3 semantics (transforms about the image center as Keras's affine_transform, fill modes
// reflect / wrap / nearest / constant, bilinear or nearest interpolation). A model's own
// augmentation layers at its input train this way (`edgeopt train` of such a model), where the
// converted model leaves them out as the official converter does.
#ifndef EDGEOPT_SRC_DATA_AUGMENT_H_
#define EDGEOPT_SRC_DATA_AUGMENT_H_

#include <cstdint>
#include <string>
#include <vector>

#include "src/train/rng.h"

namespace edgeopt {
namespace data {

struct ImageAugmentation {
  enum class Kind { kFlip, kRotation, kZoom, kTranslation, kContrast, kBrightness, kNoise };
  enum class Fill { kReflect, kWrap, kNearest, kConstant };
  Kind kind = Kind::kFlip;
  std::string layer;                         // the Keras layer, for messages
  bool horizontal = true, vertical = false;  // kFlip
  // The random range [lower, upper]: kRotation in fractions of 2 pi (positive counter-clockwise),
  // kZoom / kTranslation of the height (zoom: 1 + u, positive zooms out; translation: u times the
  // height), kContrast of the factor 1 + u, kBrightness of the value range, kNoise: lower is the
  // standard deviation.
  float lower = 0.0f, upper = 0.0f;
  // kZoom / kTranslation of the width; kZoom without one keeps the aspect (the height's zoom).
  bool has_width = false;
  float width_lower = 0.0f, width_upper = 0.0f;
  Fill fill = Fill::kReflect;
  float fill_value = 0.0f;
  bool bilinear = true;
  float value_lo = 0.0f, value_hi = 255.0f;  // kContrast, kBrightness: clipped to the range
};

// Applies `a` to one HWC image in place, drawing its randomness from `rng`.
void ApplyAugmentation(const ImageAugmentation& a, float* image, int height, int width,
                       int channels, train::SplitMix64* rng, std::vector<float>* scratch);

// "RandomRotation(factor=[-0.1, 0.1], fill reflect)": for the train command's note.
std::string DescribeAugmentation(const ImageAugmentation& a);

}  // namespace data
}  // namespace edgeopt

#endif  // EDGEOPT_SRC_DATA_AUGMENT_H_
