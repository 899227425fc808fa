// Source coordinates of RESIZE_BILINEAR (float) and RESIZE_NEAREST_NEIGHBOR as TFLite 2.9 maps
// output pixels to input pixels, shared by the runtime kernels and the train engine (whose
// forward pass must compute what the exported model computes).
#ifndef EDGEOPT_SRC_RUNTIME_KERNELS_REFERENCE_RESIZE_H_
#define EDGEOPT_SRC_RUNTIME_KERNELS_REFERENCE_RESIZE_H_

#include <algorithm>
#include <cmath>
#include <cstdint>

namespace edgeopt {
namespace ref {

// Input pixels per output pixel along one axis.
inline float ResizeAxisScale(int in, int out, bool align_corners) {
  if (align_corners && out > 1) return static_cast<float>(in - 1) / static_cast<float>(out - 1);
  return static_cast<float>(in) / static_cast<float>(out);
}

// Bilinear: the scaled source coordinate of output index `value` and its two neighbors, clamped
// to [0, size - 1].
inline void BilinearInterpolationValues(float value, float scale, bool half_pixel, int32_t size,
                                        float* scaled, int32_t* lower, int32_t* upper) {
  *scaled = half_pixel ? (value + 0.5f) * scale - 0.5f : value * scale;
  *lower = std::min(std::max(static_cast<int32_t>(std::floor(*scaled)), 0), size - 1);
  *upper = std::min(static_cast<int32_t>(std::ceil(*scaled)), size - 1);
}

// Nearest neighbor: floor (round with align_corners) of the scaled coordinate; without either
// flag the 16.16 fixed-point scale of TFLite's optimized kernel.
inline int32_t NearestSourceIndex(int value, int32_t in_size, int32_t out_size, bool align_corners,
                                  bool half_pixel) {
  if (!align_corners && !half_pixel) {
    const int64_t scale = (static_cast<int64_t>(in_size) << 16) / out_size + 1;
    return static_cast<int32_t>(std::min<int64_t>((value * scale) >> 16, in_size - 1));
  }
  const float scale = (align_corners && out_size > 1)
                          ? (in_size - 1) / static_cast<float>(out_size - 1)
                          : in_size / static_cast<float>(out_size);
  const float offset = half_pixel ? 0.5f : 0.0f;
  const float scaled = (static_cast<float>(value) + offset) * scale;
  int32_t r = std::min(align_corners ? static_cast<int32_t>(std::round(scaled))
                                     : static_cast<int32_t>(std::floor(scaled)),
                       in_size - 1);
  if (half_pixel) r = std::max(r, 0);
  return r;
}

}  // namespace ref
}  // namespace edgeopt

#endif  // EDGEOPT_SRC_RUNTIME_KERNELS_REFERENCE_RESIZE_H_
