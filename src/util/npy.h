// NumPy .npy (format 1.0 written; 1.0-3.0 read) and .npz (a zip of .npy files). Every header
// field and length is checked against the bytes present.
#ifndef EDGEOPT_SRC_UTIL_NPY_H_
#define EDGEOPT_SRC_UTIL_NPY_H_

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "include/edgeopt/status.h"
#include "src/core/dtype.h"

namespace edgeopt {

struct NpyArray {
  DType dtype = DType::kFloat32;
  std::vector<int64_t> shape;
  std::vector<uint8_t> data;  // C order, little-endian

  int64_t NumElements() const;
  template <typename T>
  const T* Data() const {
    return reinterpret_cast<const T*>(data.data());
  }
  template <typename T>
  T* Data() {
    return reinterpret_cast<T*>(data.data());
  }
};

// A float32 array of `shape` holding `values` (as many as the shape has elements).
NpyArray MakeFloatArray(const std::vector<int64_t>& shape, const std::vector<float>& values);

// `name` is used in error messages (the file name).
StatusOr<NpyArray> ParseNpy(const uint8_t* bytes, size_t size, const std::string& name);
StatusOr<NpyArray> ReadNpy(const std::string& path);
std::vector<uint8_t> EncodeNpy(const NpyArray& array);
Status WriteNpy(const std::string& path, const NpyArray& array);  // atomic

// Arrays of an .npz by name (without the ".npy" suffix). These two are in npz.cc (libzip) and
// link only with the toolkit (edgeopt_tool); the rest is in edgeopt_io, which has no
// dependencies beyond the runtime.
StatusOr<std::map<std::string, NpyArray>> ReadNpz(const std::string& path);
Status WriteNpz(const std::string& path, const std::map<std::string, NpyArray>& arrays);

// "<f4" etc.
const char* NpyDescr(DType dtype);

}  // namespace edgeopt

#endif  // EDGEOPT_SRC_UTIL_NPY_H_
