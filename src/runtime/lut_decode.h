// TFLM's look-up-table (LUT) compressed constants (schema/tflm_compression.fbs): each element
// is a `bits`-wide index (1 to 7, most significant bit first) into its channel's table of
// values. The interpreter decodes them once, at load, into plain tensors; `edgeopt export-c
// --lut` encodes them (src/export/tflm/lut_compress).
#ifndef EDGEOPT_SRC_RUNTIME_LUT_DECODE_H_
#define EDGEOPT_SRC_RUNTIME_LUT_DECODE_H_

#include <cstddef>
#include <cstdint>

#include "include/edgeopt/status.h"

namespace tflite {
struct Model;
namespace micro {
namespace compression {
struct Metadata;
}  // namespace compression
}  // namespace micro
}  // namespace tflite

namespace edgeopt {
namespace rt {

// The name of the tflite.Model metadata entry that holds the LUT tables' description.
constexpr const char* kLutMetadataName = "COMPRESSION_METADATA";

// The model's COMPRESSION_METADATA, verified, of a schema version this build reads; *out is null
// when the model has none. `model` must be a verified flatbuffer.
Status FindLutMetadata(const tflite::Model* model,
                       const tflite::micro::compression::Metadata** out);

struct LutLayout {
  int64_t elements = 0;  // of the decoded tensor
  size_t element_bytes = 0;
  int bits = 0;      // per index, 1..7
  int channels = 1;  // value tables (1 unless per-channel quantized)
  // Which table an element uses: element / (elements / channels) (false: the first axis is the
  // channel axis), or element % channels (true: the last axis).
  bool last_axis = false;
};

// Bytes of `elements` indices of `bits` each, padded to a whole byte.
size_t LutIndexBytes(int64_t elements, int bits);

// The index of element `i` in a packed bit string (MSB first).
inline uint32_t LutIndexAt(const uint8_t* packed, int64_t i, int bits) {
  uint32_t v = 0;
  const uint64_t first = static_cast<uint64_t>(i) * static_cast<uint64_t>(bits);
  for (int b = 0; b < bits; ++b) {
    const uint64_t bit = first + static_cast<uint64_t>(b);
    v = (v << 1) | ((packed[bit >> 3] >> (7 - (bit & 7))) & 1u);
  }
  return v;
}

// Decodes into `out` (elements * element_bytes). Checks the index and value byte counts against
// the layout, and every index against its table's length; errors say what is wrong.
Status DecodeLut(const LutLayout& layout, const uint8_t* indices, size_t index_bytes,
                 const uint8_t* values, size_t value_bytes, uint8_t* out);

}  // namespace rt
}  // namespace edgeopt

#endif  // EDGEOPT_SRC_RUNTIME_LUT_DECODE_H_
