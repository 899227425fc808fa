#include "src/runtime/lut_decode.h"

#include <cstring>

#include "flatbuffers/flatbuffers.h"
#include "schema/tflite_generated.h"
#include "schema/tflm_compression_generated.h"

namespace edgeopt {
namespace rt {

Status FindLutMetadata(const tflite::Model* model,
                       const tflite::micro::compression::Metadata** out) {
  *out = nullptr;
  const auto* metadata = model->metadata();
  const auto* buffers = model->buffers();
  if (metadata == nullptr) return Status::Ok();
  for (const tflite::Metadata* m : *metadata) {
    if (m == nullptr || m->name() == nullptr || m->name()->str() != kLutMetadataName) continue;
    const auto* bytes = buffers != nullptr && m->buffer() < buffers->size()
                            ? buffers->Get(m->buffer())->data()
                            : nullptr;
    flatbuffers::Verifier verifier(bytes != nullptr ? bytes->data() : nullptr,
                                   bytes != nullptr ? bytes->size() : 0);
    EDGEOPT_ENSURE(bytes != nullptr && tflite::micro::compression::VerifyMetadataBuffer(verifier),
                   StatusCode::kInvalidModel, "COMPRESSION_METADATA is missing or damaged");
    const auto* meta = tflite::micro::compression::GetMetadata(bytes->data());
    EDGEOPT_ENSURE(meta->schema_version() <= 1, StatusCode::kUnsupported,
                   "COMPRESSION_METADATA schema version %u (this build reads 1)",
                   meta->schema_version());
    *out = meta;
    return Status::Ok();
  }
  return Status::Ok();
}

size_t LutIndexBytes(int64_t elements, int bits) {
  return static_cast<size_t>((static_cast<uint64_t>(elements) * static_cast<uint64_t>(bits) + 7) /
                             8);
}

Status DecodeLut(const LutLayout& layout, const uint8_t* indices, size_t index_bytes,
                 const uint8_t* values, size_t value_bytes, uint8_t* out) {
  const size_t table_bytes = layout.element_bytes * static_cast<size_t>(layout.channels);
  EDGEOPT_ENSURE(layout.bits >= 1 && layout.bits <= 7 && layout.element_bytes > 0 &&
                     layout.channels >= 1 && layout.elements >= 0 &&
                     layout.elements % layout.channels == 0 &&
                     index_bytes == LutIndexBytes(layout.elements, layout.bits) &&
                     value_bytes > 0 && value_bytes % table_bytes == 0,
                 StatusCode::kInvalidModel,
                 "LUT data does not fit the tensor: %lld elements, %d channels, %d-bit indices "
                 "in %zu bytes, %zu bytes of values",
                 static_cast<long long>(layout.elements), layout.channels, layout.bits, index_bytes,
                 value_bytes);
  const uint64_t stride = value_bytes / table_bytes;  // values per channel table
  const int64_t per_channel = layout.elements / layout.channels;
  for (int64_t i = 0; i < layout.elements; ++i) {
    const uint32_t index = LutIndexAt(indices, i, layout.bits);
    EDGEOPT_ENSURE(index < stride, StatusCode::kInvalidModel,
                   "LUT element %lld has index %u; its table has %llu values",
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
