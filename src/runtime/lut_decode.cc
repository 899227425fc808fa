#include "src/runtime/lut_decode.h"

#include <cstring>

namespace edgeopt {
namespace rt {

size_t LutIndexBytes(int64_t elements, int bits) {
  return static_cast<size_t>((static_cast<uint64_t>(elements) * static_cast<uint64_t>(bits) + 7) /
                             8);
}

Status DecodeLut(const LutLayout& layout, const uint8_t* indices, size_t index_bytes,
                 const uint8_t* values, size_t value_bytes, uint8_t* out) {
  EDGEOPT_ENSURE(layout.bits >= 1 && layout.bits <= 7, StatusCode::kInvalidModel,
                 "LUT index width %d is outside 1..7", layout.bits);
  EDGEOPT_ENSURE(layout.element_bytes > 0 && layout.elements >= 0 && layout.channels >= 1,
                 StatusCode::kInvalidModel, "LUT tensor of an unsupported type or shape");
  EDGEOPT_ENSURE(layout.elements % layout.channels == 0, StatusCode::kInvalidModel,
                 "LUT tensor: %lld elements do not split into %d channels",
                 static_cast<long long>(layout.elements), layout.channels);
  EDGEOPT_ENSURE(index_bytes == LutIndexBytes(layout.elements, layout.bits),
                 StatusCode::kInvalidModel,
                 "LUT tensor: %zu bytes of indices, %lld elements of %d bits need %zu", index_bytes,
                 static_cast<long long>(layout.elements), layout.bits,
                 LutIndexBytes(layout.elements, layout.bits));
  const size_t table_bytes = layout.element_bytes * static_cast<size_t>(layout.channels);
  EDGEOPT_ENSURE(value_bytes > 0 && value_bytes % table_bytes == 0, StatusCode::kInvalidModel,
                 "LUT tensor: %zu bytes of values do not make %d tables of %zu-byte values",
                 value_bytes, layout.channels, layout.element_bytes);
  const uint64_t stride = value_bytes / table_bytes;  // values per channel table
  const int64_t per_channel = layout.channels > 0 ? layout.elements / layout.channels : 0;
  for (int64_t i = 0; i < layout.elements; ++i) {
    const uint32_t index = LutIndexAt(indices, i, layout.bits);
    EDGEOPT_ENSURE(index < stride, StatusCode::kInvalidModel,
                   "LUT tensor: element %lld has index %u; its table has %llu values",
                   static_cast<long long>(i), index, static_cast<unsigned long long>(stride));
    const int64_t channel =
        layout.channels == 1 ? 0 : (layout.last_axis ? i % layout.channels : i / per_channel);
    std::memcpy(out + static_cast<size_t>(i) * layout.element_bytes,
                values + (static_cast<size_t>(channel) * stride + index) * layout.element_bytes,
                layout.element_bytes);
  }
  return Status::Ok();
}

}  // namespace rt
}  // namespace edgeopt
