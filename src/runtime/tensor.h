// Runtime tensors: a dtype, dims, a data pointer into the arena / the mapped model / persistent
// memory, and quantization parameters. Plain structs; no ownership.
#ifndef EDGEOPT_SRC_RUNTIME_TENSOR_H_
#define EDGEOPT_SRC_RUNTIME_TENSOR_H_

#include <cstddef>
#include <cstdint>
#include <initializer_list>

#include "src/core/dtype.h"

namespace tflite {
struct SparsityParameters;
}

namespace edgeopt {
namespace rt {

constexpr int kMaxDims = 8;

struct Dims {
  int size = 0;
  int32_t data[kMaxDims] = {};

  int32_t operator[](int i) const { return data[i]; }
  int32_t& operator[](int i) { return data[i]; }
  int64_t NumElements() const {
    int64_t n = 1;
    for (int i = 0; i < size; ++i) n *= data[i];
    return n;
  }
  // Product of dims [begin, end).
  int64_t FlatSize(int begin, int end) const {
    int64_t n = 1;
    for (int i = begin; i < end; ++i) n *= data[i];
    return n;
  }
  bool operator==(const Dims& o) const {
    if (size != o.size) return false;
    for (int i = 0; i < size; ++i)
      if (data[i] != o.data[i]) return false;
    return true;
  }
  bool operator!=(const Dims& o) const { return !(*this == o); }
};

Dims MakeDims(std::initializer_list<int32_t> dims);

enum class Allocation : uint8_t {
  kNone,        // absent or not yet allocated
  kConstant,    // read-only data from the model (or folded at prepare time)
  kArena,       // planned activation memory, valid only during Invoke
  kPersistent,  // lives as long as the interpreter (variables, folded results)
};

// Affine quantization: real = scale * (q - zero_point). Per-tensor when num_channels <= 1.
struct Quantization {
  float scale = 0.0f;      // scales[0] (0 = not quantized)
  int32_t zero_point = 0;  // zero_points[0]
  int num_channels = 0;    // entries in scales/zero_points (0 = none)
  int axis = 0;            // quantized_dimension
  const float* scales = nullptr;
  const int32_t* zero_points = nullptr;

  bool IsQuantized() const { return num_channels > 0; }
  bool IsPerChannel() const { return num_channels > 1; }
};

struct Tensor {
  DType type = DType::kFloat32;
  Dims dims;
  uint8_t* data = nullptr;
  size_t bytes = 0;
  Allocation allocation = Allocation::kNone;
  bool is_variable = false;
  bool folded = false;  // a constant computed at prepare time (not stored in the model file)
  Quantization quant;
  const char* name = "";
  // Non-null for a sparse constant tensor: `dims` are the dense dims, `data` holds only the
  // stored values, and this describes where they go (TFLite's TACO-style encoding).
  const tflite::SparsityParameters* sparsity = nullptr;

  template <typename T>
  T* Data() {
    return reinterpret_cast<T*>(data);
  }
  template <typename T>
  const T* Data() const {
    return reinterpret_cast<const T*>(data);
  }
  bool IsConstant() const { return allocation == Allocation::kConstant; }
};

}  // namespace rt
}  // namespace edgeopt

#endif  // EDGEOPT_SRC_RUNTIME_TENSOR_H_
