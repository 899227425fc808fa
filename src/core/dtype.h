// Element types. The numeric values are TFLite's TensorType values, so a DType converts to and
// from the schema's enum with a cast.
#ifndef EDGEOPT_SRC_CORE_DTYPE_H_
#define EDGEOPT_SRC_CORE_DTYPE_H_

#include <cstddef>
#include <cstdint>

namespace edgeopt {

enum class DType : int8_t {
  kFloat32 = 0,
  kFloat16 = 1,
  kInt32 = 2,
  kUInt8 = 3,
  kInt64 = 4,
  kString = 5,
  kBool = 6,
  kInt16 = 7,
  kComplex64 = 8,
  kInt8 = 9,
  kFloat64 = 10,
  kComplex128 = 11,
  kUInt64 = 12,
  kResource = 13,
  kVariant = 14,
  kUInt32 = 15,
  kUInt16 = 16,
  kInt4 = 17,
};
constexpr int kNumDTypes = 18;

// Bytes per element; 0 for types without a fixed size (string, resource, variant, int4).
size_t DTypeSize(DType type);
// "float32", "int8", ... ("unknown(N)" for values outside the enum).
const char* DTypeName(DType type);
bool DTypeIsValid(int value);
bool DTypeIsQuantizedInt(DType type);  // int8, uint8, int16

}  // namespace edgeopt

#endif  // EDGEOPT_SRC_CORE_DTYPE_H_
