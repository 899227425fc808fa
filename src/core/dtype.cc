#include "src/core/dtype.h"

namespace edgeopt {

size_t DTypeSize(DType type) {
  switch (type) {
    case DType::kFloat32:
    case DType::kInt32:
    case DType::kUInt32:
      return 4;
    case DType::kFloat16:
    case DType::kInt16:
    case DType::kUInt16:
      return 2;
    case DType::kUInt8:
    case DType::kInt8:
    case DType::kBool:
      return 1;
    case DType::kInt64:
    case DType::kUInt64:
    case DType::kFloat64:
    case DType::kComplex64:
      return 8;
    case DType::kComplex128:
      return 16;
    default:
      return 0;
  }
}

const char* DTypeName(DType type) {
  static const char* const kNames[kNumDTypes] = {
      "float32", "float16",  "int32",     "uint8",  "int64",   "string",
      "bool",    "int16",    "complex64", "int8",   "float64", "complex128",
      "uint64",  "resource", "variant",   "uint32", "uint16",  "int4"};
  int v = static_cast<int>(type);
  if (v < 0 || v >= kNumDTypes) return "unknown";
  return kNames[v];
}

bool DTypeIsValid(int value) { return value >= 0 && value < kNumDTypes; }

bool DTypeIsQuantizedInt(DType type) {
  return type == DType::kInt8 || type == DType::kUInt8 || type == DType::kInt16;
}

}  // namespace edgeopt
