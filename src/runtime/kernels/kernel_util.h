// Helpers shared by the kernels' Prepare functions: option access, padding, broadcasting,
// type checks. Nothing here allocates.
#ifndef EDGEOPT_SRC_RUNTIME_KERNELS_KERNEL_UTIL_H_
#define EDGEOPT_SRC_RUNTIME_KERNELS_KERNEL_UTIL_H_

#include <cmath>
#include <cstdint>

#include "include/edgeopt/status.h"
#include "src/runtime/kernel_api.h"
#include "src/runtime/tensor.h"

namespace edgeopt {
namespace rt {

// The node's builtin options of type T, or nullptr when the file omits them (the kernel then
// uses TFLite's defaults).
template <typename T>
const T* GetOptions(const Node* node) {
  if (node->op_def == nullptr) return nullptr;
  return node->op_def->template builtin_options_as<T>();
}

// Output size and padding for a conv/pool window, as TFLite computes them.
struct Padding2D {
  int height = 0;
  int width = 0;
  int height_offset = 0;  // extra padding at the bottom (odd totals)
  int width_offset = 0;
};
int ComputeOutSize(tflite::Padding padding, int image_size, int filter_size, int stride,
                   int dilation);
Padding2D ComputePadding(tflite::Padding padding, int stride_h, int stride_w, int dilation_h,
                         int dilation_w, int in_h, int in_w, int filter_h, int filter_w, int* out_h,
                         int* out_w);

// A float bound for a conversion to int32 of a quantized value: NaN gives 0, and values beyond
// +-1e9 saturate there (their conversion would be undefined; they come from scales so small
// that a factor overflows, and every caller clamps the result to a 16-bit range).
inline float ClampForInt32(float x) {
  return std::isnan(x) ? 0.0f : (x > 1.0e9f ? 1.0e9f : (x < -1.0e9f ? -1.0e9f : x));
}

// Numpy-style broadcast of two shapes.
Status BroadcastDims(const Dims& a, const Dims& b, Dims* out);

// "float32 [1,28,28,1]" for messages.
const char* DimsToString(const Dims& dims, char* buffer, int size);

// Checks that a tensor exists and has one of the given types.
Status CheckTensorType(const Tensor* t, DType type, const char* what);

// Number of inputs/outputs checks with messages.
Status CheckNumInputs(const Node* node, int min_inputs, int max_inputs);
Status CheckNumOutputs(const Node* node, int n);

}  // namespace rt
}  // namespace edgeopt

#endif  // EDGEOPT_SRC_RUNTIME_KERNELS_KERNEL_UTIL_H_
