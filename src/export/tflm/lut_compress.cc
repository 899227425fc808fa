#include "src/export/tflm/lut_compress.h"

#include <algorithm>
#include <cstring>
#include <map>
#include <unordered_map>

#include "flatbuffers/flatbuffers.h"
#include "flatbuffers/reflection.h"
#include "schema/tflite_bfbs_generated.h"
#include "schema/tflite_generated.h"
#include "schema/tflm_compression_generated.h"
#include "src/core/dtype.h"
#include "src/export/tflm/tflm_export.h"
#include "src/runtime/interpreter.h"
#include "src/runtime/lut_decode.h"

namespace edgeopt {
namespace tflm {
namespace {

using Op = tflite::BuiltinOperator;
namespace fb = flatbuffers;

constexpr int kMaxValues = 128;  // TFLM's kMaxValueTableChannelStride

bool DecompressingKernel(Op op) {
  switch (op) {
    case Op::FULLY_CONNECTED:
    case Op::CONV_2D:
    case Op::DEPTHWISE_CONV_2D:
    case Op::TRANSPOSE_CONV:
    case Op::CONCATENATION:
      return true;
    default:
      return false;
  }
}

size_t LutElementBytes(DType type) {
  switch (type) {
    case DType::kFloat32:
    case DType::kInt8:
    case DType::kInt16:
    case DType::kInt32:
    case DType::kInt64:
    case DType::kBool:
      return DTypeSize(type);
    default:
      return 0;
  }
}

struct Plan {
  int subgraph, tensor;
  uint32_t buffer;
  int bits;
  std::vector<uint8_t> indices, values;
};

// The tables and indices of one tensor's data, or false when a table would exceed kMaxValues.
bool BuildTables(const uint8_t* data, int64_t n, size_t elem, int channels, bool last_axis,
                 Plan* plan, int* stride_out) {
  std::vector<std::unordered_map<uint64_t, uint32_t>> seen(channels);
  std::vector<std::vector<uint64_t>> tables(channels);
  std::vector<uint32_t> indices(static_cast<size_t>(n));
  const int64_t per_channel = n / channels;
  for (int64_t i = 0; i < n; ++i) {
    uint64_t v = 0;
    std::memcpy(&v, data + static_cast<size_t>(i) * elem, elem);
    const int64_t c = channels == 1 ? 0 : (last_axis ? i % channels : i / per_channel);
    auto [it, fresh] = seen[c].emplace(v, static_cast<uint32_t>(tables[c].size()));
    if (fresh) {
      if (static_cast<int>(tables[c].size()) == kMaxValues) return false;
      tables[c].push_back(v);
    }
    indices[static_cast<size_t>(i)] = it->second;
  }
  int stride = 1;
  for (const auto& t : tables) stride = std::max(stride, static_cast<int>(t.size()));
  int bits = 1;
  while ((1 << bits) < stride) ++bits;
  plan->bits = bits;
  plan->indices = PackLutIndices(indices, bits);
  plan->values.assign(static_cast<size_t>(channels) * stride * elem, 0);
  for (int c = 0; c < channels; ++c) {
    for (size_t k = 0; k < tables[c].size(); ++k) {
      std::memcpy(plan->values.data() + (static_cast<size_t>(c) * stride + k) * elem, &tables[c][k],
                  elem);
    }
  }
  *stride_out = stride;
  return true;
}

// True when every union in `table` (recursively) has a type its schema enum knows. The model
// verifier lets an unknown type through (a later schema's member), and the schema-driven
// CopyTable would look it up out of range.
bool UnionTypesKnown(const reflection::Schema& schema, const reflection::Object& def,
                     const fb::Table& table, int depth) {
  if (depth > 32) return false;
  for (const reflection::Field* f : *def.fields()) {
    const reflection::Type* type = f->type();
    switch (type->base_type()) {
      case reflection::UType: {
        const uint8_t v = table.GetField<uint8_t>(f->offset(), 0);
        const reflection::Enum* e = schema.enums()->Get(type->index());
        const reflection::EnumVal* val = e->values()->LookupByKey(v);
        if (val == nullptr) return false;
        break;
      }
      case reflection::Union: {
        const fb::Table* sub = table.GetPointer<const fb::Table*>(f->offset());
        if (sub == nullptr) break;
        // The type field is the one before (flatc names it <field>_type).
        const reflection::Field* tf =
            def.fields()->LookupByKey((f->name()->str() + "_type").c_str());
        if (tf == nullptr) return false;
        const uint8_t v = table.GetField<uint8_t>(tf->offset(), 0);
        const reflection::EnumVal* val =
            schema.enums()->Get(type->index())->values()->LookupByKey(v);
        // A value needs a table member (not NONE) that the schema has.
        if (val == nullptr || val->union_type() == nullptr ||
            val->union_type()->base_type() != reflection::Obj || val->union_type()->index() < 0 ||
            static_cast<uint32_t>(val->union_type()->index()) >= schema.objects()->size()) {
          return false;
        }
        const reflection::Object* sub_def = schema.objects()->Get(val->union_type()->index());
        if (!sub_def->is_struct() && !UnionTypesKnown(schema, *sub_def, *sub, depth + 1)) {
          return false;
        }
        break;
      }
      case reflection::Obj: {
        const reflection::Object* sub_def = schema.objects()->Get(type->index());
        if (sub_def->is_struct()) break;
        const fb::Table* sub = table.GetPointer<const fb::Table*>(f->offset());
        if (sub != nullptr && !UnionTypesKnown(schema, *sub_def, *sub, depth + 1)) return false;
        break;
      }
      case reflection::Vector: {
        if (type->element() != reflection::Obj) break;
        const reflection::Object* sub_def = schema.objects()->Get(type->index());
        if (sub_def->is_struct()) break;
        const auto* vec = table.GetPointer<const fb::Vector<fb::Offset<fb::Table>>*>(f->offset());
        if (vec == nullptr) break;
        for (const fb::Table* sub : *vec) {
          if (!UnionTypesKnown(schema, *sub_def, *sub, depth + 1)) return false;
        }
        break;
      }
      default:
        break;
    }
  }
  return true;
}

fb::Offset<fb::Vector<uint8_t>> AlignedBytes(fb::FlatBufferBuilder* fbb, const uint8_t* p,
                                             size_t n) {
  fbb->ForceVectorAlignment(n, sizeof(uint8_t), 16);
  return fbb->CreateVector(p, n);
}

}  // namespace

std::vector<uint8_t> PackLutIndices(const std::vector<uint32_t>& indices, int bits) {
  std::vector<uint8_t> out(rt::LutIndexBytes(static_cast<int64_t>(indices.size()), bits), 0);
  uint64_t bit = 0;
  for (uint32_t v : indices) {
    for (int b = bits - 1; b >= 0; --b, ++bit) {
      if ((v >> b) & 1u) out[bit >> 3] |= static_cast<uint8_t>(0x80u >> (bit & 7));
    }
  }
  return out;
}

StatusOr<LutResult> CompressLut(const uint8_t* data, size_t size, const LutOptions& options) {
  EDGEOPT_RETURN_IF_ERROR(rt::VerifyModelBuffer(data, size));
  const tflite::Model* model = tflite::GetModel(data);
  const auto* buffers = model->buffers();
  const auto* subgraphs = model->subgraphs();
  const auto* codes = model->operator_codes();
  if (model->metadata() != nullptr) {
    for (const tflite::Metadata* m : *model->metadata()) {
      EDGEOPT_ENSURE(m->name() == nullptr || m->name()->str() != rt::kLutMetadataName,
                     StatusCode::kInvalidArgument, "the model is LUT-compressed already");
    }
  }
  const uint32_t num_buffers = buffers != nullptr ? buffers->size() : 0;
  std::vector<int> buffer_users(num_buffers, 0);
  if (subgraphs != nullptr) {
    for (const tflite::SubGraph* sg : *subgraphs) {
      if (sg->tensors() == nullptr) continue;
      for (const tflite::Tensor* t : *sg->tensors()) {
        if (t->buffer() < num_buffers) ++buffer_users[t->buffer()];
      }
    }
  }
  LutResult result;
  std::vector<Plan> plans;
  std::map<uint32_t, size_t> plan_of_buffer;
  for (uint32_t s = 0; subgraphs != nullptr && s < subgraphs->size(); ++s) {
    const tflite::SubGraph* sg = subgraphs->Get(s);
    const auto* tensors = sg->tensors();
    const int num_tensors = tensors != nullptr ? static_cast<int>(tensors->size()) : 0;
    // Which tensors only decompressing kernels read.
    std::vector<int> readers(num_tensors, 0), other_readers(num_tensors, 0);
    if (sg->operators() != nullptr) {
      for (const tflite::Operator* op : *sg->operators()) {
        if (op->inputs() == nullptr) continue;
        const bool ok = codes != nullptr && op->opcode_index() < codes->size() &&
                        DecompressingKernel(rt::BuiltinCodeOf(codes->Get(op->opcode_index())));
        for (int32_t i : *op->inputs()) {
          if (i < 0 || i >= num_tensors) continue;
          ++readers[i];
          if (!ok) ++other_readers[i];
        }
      }
    }
    for (int t = 0; t < num_tensors; ++t) {
      const tflite::Tensor* tensor = tensors->Get(t);
      const uint32_t b = tensor->buffer();
      if (b == 0 || b >= num_buffers || buffer_users[b] != 1) continue;
      const auto* bytes = buffers->Get(b)->data();
      if (bytes == nullptr || bytes->size() == 0 || tensor->is_variable() ||
          tensor->sparsity() != nullptr || readers[t] == 0 || other_readers[t] > 0) {
        continue;
      }
      const DType type = static_cast<DType>(tensor->type());
      const size_t elem = DTypeIsValid(static_cast<int>(type)) ? LutElementBytes(type) : 0;
      if (elem == 0) continue;
      uint64_t elements = 0;
      const int rank = tensor->shape() != nullptr ? static_cast<int>(tensor->shape()->size()) : 0;
      if (!StaticElements(*tensor, &elements) || elements == 0 ||
          elements * elem != bytes->size()) {
        continue;
      }
      const int64_t n = static_cast<int64_t>(elements);
      ++result.considered;
      if (!options.only.empty() &&
          std::find(options.only.begin(), options.only.end(),
                    std::make_pair(static_cast<int>(s), t)) == options.only.end()) {
        continue;
      }
      if (options.max_decoded_bytes > 0 && bytes->size() > options.max_decoded_bytes) {
        ++result.too_large;
        continue;
      }
      int channels = 1;
      bool last_axis = false;
      const auto* q = tensor->quantization();
      if (q != nullptr && q->scale() != nullptr && q->scale()->size() > 1) {
        channels = static_cast<int>(q->scale()->size());
        const int axis = rank == 1 ? 0 : q->quantized_dimension();
        if (rank == 0 || !(axis == 0 || axis == rank - 1) ||
            tensor->shape()->Get(axis) != channels) {
          continue;
        }
        last_axis = rank > 1 && axis == rank - 1;
      }
      Plan plan{static_cast<int>(s), t, b, 0, {}, {}};
      int stride = 0;
      if (!BuildTables(bytes->data(), n, elem, channels, last_axis, &plan, &stride)) continue;
      const size_t after = plan.indices.size() + plan.values.size();
      if (after + 16 >= bytes->size()) continue;  // not worth its metadata entry
      LutTensorInfo info;
      info.subgraph = static_cast<int>(s);
      info.tensor = t;
      info.name = tensor->name() != nullptr ? tensor->name()->str() : "";
      info.bits = plan.bits;
      info.channels = channels;
      info.values = stride;
      info.bytes_before = bytes->size();
      info.bytes_after = after;
      result.tensors.push_back(info);
      plan_of_buffer[b] = plans.size();
      plans.push_back(std::move(plan));
    }
  }
  if (plans.empty()) {
    result.model.assign(data, data + size);
    return result;
  }
  for (uint32_t b = 0; b < num_buffers; ++b) {
    EDGEOPT_ENSURE(buffers->Get(b)->offset() <= 1, StatusCode::kUnsupported,
                   "buffers stored outside the flatbuffer (models over 2 GB) are not supported");
  }

  // The metadata flatbuffer: value buffers follow the model's buffers, in plan order.
  fb::FlatBufferBuilder meta_fbb;
  std::vector<std::vector<fb::Offset<tflite::micro::compression::LutTensor>>> per_subgraph(
      subgraphs->size());
  for (size_t k = 0; k < plans.size(); ++k) {
    per_subgraph[plans[k].subgraph].push_back(tflite::micro::compression::CreateLutTensor(
        meta_fbb, plans[k].tensor, num_buffers + static_cast<uint32_t>(k),
        static_cast<uint8_t>(plans[k].bits)));
  }
  std::vector<fb::Offset<tflite::micro::compression::Subgraph>> meta_subgraphs;
  for (const auto& list : per_subgraph) {
    meta_subgraphs.push_back(
        tflite::micro::compression::CreateSubgraph(meta_fbb, meta_fbb.CreateVector(list)));
  }
  meta_fbb.Finish(tflite::micro::compression::CreateMetadata(
      meta_fbb, 1, meta_fbb.CreateVector(meta_subgraphs)));

  // The model: tables copied through the schema, buffers rebuilt. The copy follows unions by
  // their type fields, which the model's own verifier lets through when unknown (a later
  // schema's options): the schema-driven verifier checks them first.
  const reflection::Schema* schema = reflection::GetSchema(tflite::ModelBinarySchema::data());
  EDGEOPT_ENSURE(fb::Verify(*schema, *schema->root_table(), data, size, 64, 4000000) &&
                     UnionTypesKnown(*schema, *schema->root_table(),
                                     *reinterpret_cast<const fb::Table*>(model), 0),
                 StatusCode::kInvalidModel,
                 "the model does not match the TFLite schema (an unknown union type or a damaged "
                 "table)");
  auto object = [schema](const char* name) { return schema->objects()->LookupByKey(name); };
  const reflection::Object* op_code_def = object("tflite.OperatorCode");
  const reflection::Object* subgraph_def = object("tflite.SubGraph");
  const reflection::Object* signature_def = object("tflite.SignatureDef");
  EDGEOPT_ENSURE(op_code_def != nullptr && subgraph_def != nullptr && signature_def != nullptr,
                 StatusCode::kInternal, "the embedded TFLite schema lacks a table");
  fb::FlatBufferBuilder fbb(size + size / 4 + 1024);
  auto copy_tables = [&fbb, schema](const auto* list, const reflection::Object* def) {
    std::vector<fb::Offset<tflite::Buffer>> offsets;  // any table type: only the offset is kept
    if (list != nullptr) {
      for (const auto* item : *list) {
        offsets.push_back(
            fb::CopyTable(fbb, *schema, *def, *reinterpret_cast<const fb::Table*>(item)).o);
      }
    }
    return offsets;
  };
  const auto op_codes = copy_tables(codes, op_code_def);
  const auto subgraph_offsets = copy_tables(subgraphs, subgraph_def);
  const auto signatures = copy_tables(model->signature_defs(), signature_def);
  std::vector<fb::Offset<tflite::Buffer>> new_buffers;
  for (uint32_t b = 0; b < num_buffers; ++b) {
    auto it = plan_of_buffer.find(b);
    const auto* old = buffers->Get(b)->data();
    fb::Offset<fb::Vector<uint8_t>> bytes;
    if (it != plan_of_buffer.end()) {
      const std::vector<uint8_t>& idx = plans[it->second].indices;
      bytes = AlignedBytes(&fbb, idx.data(), idx.size());
    } else if (old != nullptr) {
      bytes = AlignedBytes(&fbb, old->data(), old->size());
    }
    new_buffers.push_back(tflite::CreateBuffer(fbb, bytes));
  }
  for (const Plan& p : plans) {
    new_buffers.push_back(
        tflite::CreateBuffer(fbb, AlignedBytes(&fbb, p.values.data(), p.values.size())));
  }
  const uint32_t meta_buffer = static_cast<uint32_t>(new_buffers.size());
  new_buffers.push_back(tflite::CreateBuffer(
      fbb, AlignedBytes(&fbb, meta_fbb.GetBufferPointer(), meta_fbb.GetSize())));
  std::vector<fb::Offset<tflite::Metadata>> metadata;
  if (model->metadata() != nullptr) {
    for (const tflite::Metadata* m : *model->metadata()) {
      metadata.push_back(tflite::CreateMetadata(
          fbb, m->name() != nullptr ? fbb.CreateString(m->name()->str()) : 0, m->buffer()));
    }
  }
  metadata.push_back(
      tflite::CreateMetadata(fbb, fbb.CreateString(rt::kLutMetadataName), meta_buffer));
  fb::Offset<fb::Vector<int32_t>> metadata_buffer;
  if (model->metadata_buffer() != nullptr) {
    metadata_buffer =
        fbb.CreateVector(model->metadata_buffer()->data(), model->metadata_buffer()->size());
  }
  fb::Offset<fb::String> description;
  if (model->description() != nullptr) description = fbb.CreateString(model->description()->str());
  auto as = [](const std::vector<fb::Offset<tflite::Buffer>>& v, auto tag) {
    std::vector<decltype(tag)> out;
    for (const auto& o : v) out.push_back(decltype(tag)(o.o));
    return out;
  };
  const auto model_offset = tflite::CreateModel(
      fbb, model->version(), fbb.CreateVector(as(op_codes, fb::Offset<tflite::OperatorCode>())),
      fbb.CreateVector(as(subgraph_offsets, fb::Offset<tflite::SubGraph>())), description,
      fbb.CreateVector(new_buffers), metadata_buffer, fbb.CreateVector(metadata),
      model->signature_defs() != nullptr
          ? fbb.CreateVector(as(signatures, fb::Offset<tflite::SignatureDef>()))
          : 0);
  fbb.Finish(model_offset, tflite::ModelIdentifier());
  result.model.assign(fbb.GetBufferPointer(), fbb.GetBufferPointer() + fbb.GetSize());
  EDGEOPT_RETURN_IF_ERROR(rt::VerifyModelBuffer(result.model.data(), result.model.size()));
  if (result.model.size() >= size) {
    // Tables, metadata and 16-byte alignment cost more than the indices saved.
    result.model.assign(data, data + size);
    result.not_smaller = static_cast<int>(result.tensors.size());
    result.tensors.clear();
  }
  return result;
}

StatusOr<LutResult> CompressLutWithinArena(const uint8_t* data, size_t size,
                                           const LutOptions& options, size_t arena_limit,
                                           int* left_out) {
  *left_out = 0;
  EDGEOPT_ASSIGN_OR_RETURN(LutResult all, CompressLut(data, size, options));
  std::vector<LutTensorInfo> candidates = all.tensors;
  std::stable_sort(candidates.begin(), candidates.end(),
                   [](const LutTensorInfo& a, const LutTensorInfo& b) {
                     return a.bytes_before - a.bytes_after > b.bytes_before - b.bytes_after;
                   });
  LutResult best;
  best.model.assign(data, data + size);
  std::vector<std::pair<int, int>> chosen;
  for (const LutTensorInfo& c : candidates) {
    LutOptions trial = options;
    trial.only = chosen;
    trial.only.emplace_back(c.subgraph, c.tensor);
    EDGEOPT_ASSIGN_OR_RETURN(LutResult r, CompressLut(data, size, trial));
    bool keep = r.tensors.size() == trial.only.size();  // else the file would not be smaller
    if (keep) {
      EDGEOPT_ASSIGN_OR_RETURN(TflmReport report, AnalyzeForTflm(r.model.data(), r.model.size()));
      keep = report.arena_hint <= arena_limit;
    }
    if (!keep) {
      ++*left_out;
      continue;
    }
    chosen = trial.only;
    best = std::move(r);
  }
  best.considered = all.considered;
  best.too_large = all.too_large;
  best.not_smaller = all.not_smaller;
  return best;
}

}  // namespace tflm
}  // namespace edgeopt
