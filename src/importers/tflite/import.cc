#include "src/importers/tflite/import.h"

#include <algorithm>
#include <cstring>
#include <fstream>
#include <iterator>

#include "flatbuffers/flatbuffers.h"
#include "schema/tflite_generated.h"
#include "src/core/element_count.h"
#include "src/importers/tflite/builtin_options.h"
#include "src/runtime/flatbuffer_read.h"
#include "src/runtime/interpreter.h"

namespace edgeopt {
namespace {

constexpr int kMaxRank = 16;
// Largest tensor accepted (elements * bytes), as the runtime.
constexpr uint64_t kMaxTensorBytes = uint64_t{1} << 36;

const char* TensorName(const ir::Graph& g, int t) { return g.tensors[t].name.c_str(); }

Status CheckIntList(const flatbuffers::Vector<int32_t>* list, int num_tensors, bool allow_absent,
                    const std::string& what, std::vector<int>* out) {
  if (list == nullptr) return Status::Ok();
  for (int32_t t : *list) {
    EDGEOPT_ENSURE((t >= 0 || (allow_absent && t == -1)) && t < num_tensors,
                   StatusCode::kInvalidModel, "%s refers to tensor %d; the subgraph has %d tensors",
                   what.c_str(), t, num_tensors);
    out->push_back(t);
  }
  return Status::Ok();
}

Status ReadSparseIndexVector(tflite::SparseIndexVector type, const void* value,
                             const std::string& what, std::vector<int32_t>* out) {
  if (value == nullptr || type == tflite::SparseIndexVector::NONE) return Status::Ok();
  switch (type) {
    case tflite::SparseIndexVector::Int32Vector: {
      const auto* v = static_cast<const tflite::Int32Vector*>(value)->values();
      if (v != nullptr) out->assign(v->begin(), v->end());
      return Status::Ok();
    }
    case tflite::SparseIndexVector::Uint16Vector: {
      const auto* v = static_cast<const tflite::Uint16Vector*>(value)->values();
      if (v != nullptr) out->assign(v->begin(), v->end());
      return Status::Ok();
    }
    case tflite::SparseIndexVector::Uint8Vector: {
      const auto* v = static_cast<const tflite::Uint8Vector*>(value)->values();
      if (v != nullptr) out->assign(v->begin(), v->end());
      return Status::Ok();
    }
    default:
      return MakeStatus(StatusCode::kInvalidModel, "%s: unknown sparse index vector type %d",
                        what.c_str(), static_cast<int>(type));
  }
}

Status ImportSparsity(const tflite::SparsityParameters* sp, const std::string& what,
                      ir::SparsityInfo* out) {
  if (sp->traversal_order() != nullptr) {
    out->traversal_order.assign(sp->traversal_order()->begin(), sp->traversal_order()->end());
  }
  if (sp->block_map() != nullptr) {
    out->block_map.assign(sp->block_map()->begin(), sp->block_map()->end());
  }
  if (sp->dim_metadata() != nullptr) {
    for (const tflite::DimensionMetadata* dm : *sp->dim_metadata()) {
      EDGEOPT_ENSURE(dm != nullptr, StatusCode::kInvalidModel, "%s: missing dimension metadata",
                     what.c_str());
      ir::SparsityInfo::DimMeta meta;
      EDGEOPT_ENSURE(dm->format() == tflite::DimensionType::DENSE ||
                         dm->format() == tflite::DimensionType::SPARSE_CSR,
                     StatusCode::kInvalidModel, "%s: unknown sparse dimension format %d",
                     what.c_str(), static_cast<int>(dm->format()));
      meta.sparse = dm->format() == tflite::DimensionType::SPARSE_CSR;
      meta.dense_size = dm->dense_size();
      EDGEOPT_RETURN_IF_ERROR(ReadSparseIndexVector(dm->array_segments_type(), dm->array_segments(),
                                                    what, &meta.segments));
      EDGEOPT_RETURN_IF_ERROR(ReadSparseIndexVector(dm->array_indices_type(), dm->array_indices(),
                                                    what, &meta.indices));
      out->dim_metadata.push_back(std::move(meta));
    }
  }
  const int n = static_cast<int>(out->traversal_order.size());
  for (int32_t d : out->traversal_order) {
    EDGEOPT_ENSURE(d >= 0 && d < n, StatusCode::kInvalidModel,
                   "%s: sparse traversal order entry %d out of range", what.c_str(), d);
  }
  EDGEOPT_ENSURE(out->dim_metadata.size() == out->traversal_order.size(), StatusCode::kInvalidModel,
                 "%s: %zu sparse dimension entries for a traversal order of %zu", what.c_str(),
                 out->dim_metadata.size(), out->traversal_order.size());
  return Status::Ok();
}

Status ImportTensor(const tflite::Model* model, const tflite::Tensor* t, int index, ir::Tensor* out,
                    bool* has_buffer, bool* has_data) {
  EDGEOPT_ENSURE(t != nullptr, StatusCode::kInvalidModel, "tensor %d is missing", index);
  out->name = t->name() != nullptr ? t->name()->str() : "";
  const std::string what = "tensor " + std::to_string(index) + " (" + out->name + ")";
  const int type = static_cast<int>(t->type());
  EDGEOPT_ENSURE(DTypeIsValid(type), StatusCode::kInvalidModel, "%s: unknown type %d", what.c_str(),
                 type);
  out->dtype = static_cast<DType>(type);
  ElementCount count(kMaxTensorBytes);  // wrapped products and zeros beside huge dimensions
  if (t->shape() != nullptr) {
    EDGEOPT_ENSURE(t->shape()->size() <= kMaxRank, StatusCode::kUnsupported,
                   "%s has rank %u; at most %d is supported", what.c_str(), t->shape()->size(),
                   kMaxRank);
    for (int32_t d : *t->shape()) {
      EDGEOPT_ENSURE(d >= 0, StatusCode::kInvalidModel, "%s: dimension %d is negative",
                     what.c_str(), d);
      out->shape.push_back(d);
      EDGEOPT_ENSURE(count.Add(static_cast<uint64_t>(d)), StatusCode::kInvalidModel,
                     "%s is too large", what.c_str());
    }
  }
  EDGEOPT_ENSURE(count.elements() * std::max<size_t>(DTypeSize(out->dtype), 1) <= kMaxTensorBytes,
                 StatusCode::kInvalidModel, "%s is too large", what.c_str());
  if (t->shape_signature() != nullptr) {
    EDGEOPT_ENSURE(t->shape_signature()->size() == out->shape.size(), StatusCode::kInvalidModel,
                   "%s: shape_signature has rank %u but shape has rank %zu", what.c_str(),
                   t->shape_signature()->size(), out->shape.size());
    for (int32_t d : *t->shape_signature()) {
      EDGEOPT_ENSURE(d >= -1, StatusCode::kInvalidModel,
                     "%s: shape_signature dimension %d is invalid", what.c_str(), d);
      out->shape_signature.push_back(d);
    }
  }
  out->is_variable = t->is_variable();

  const tflite::QuantizationParameters* q = t->quantization();
  if (q != nullptr) {
    if (q->scale() != nullptr) out->quant.scale.assign(q->scale()->begin(), q->scale()->end());
    if (q->zero_point() != nullptr) {
      const auto& zps = *q->zero_point();
      for (flatbuffers::uoffset_t i = 0; i < zps.size(); ++i) {
        out->quant.zero_point.push_back(rt::Int64At(zps, i));
      }
    }
    if (q->min() != nullptr) out->quant.min.assign(q->min()->begin(), q->min()->end());
    if (q->max() != nullptr) out->quant.max.assign(q->max()->begin(), q->max()->end());
    out->quant.axis = q->quantized_dimension();
    const size_t n = out->quant.scale.size();
    EDGEOPT_ENSURE(out->quant.zero_point.empty() || out->quant.zero_point.size() == n,
                   StatusCode::kInvalidModel, "%s: %zu scales but %zu zero points", what.c_str(), n,
                   out->quant.zero_point.size());
    EDGEOPT_ENSURE(out->quant.min.size() == out->quant.max.size(), StatusCode::kInvalidModel,
                   "%s: %zu quantization minimums but %zu maximums", what.c_str(),
                   out->quant.min.size(), out->quant.max.size());
    EDGEOPT_ENSURE(out->quant.axis >= 0 && out->quant.axis < kMaxRank, StatusCode::kInvalidModel,
                   "%s: quantized_dimension %d is invalid", what.c_str(), out->quant.axis);
    // A per-channel axis beyond the rank (tflite-micro's person_detect biases) is kept as it is:
    // TFLite refuses such files when it runs them, the IR only carries the value.
    if (n > 1 && out->quant.axis < static_cast<int>(out->shape.size())) {
      EDGEOPT_ENSURE(out->shape[out->quant.axis] == static_cast<int32_t>(n),
                     StatusCode::kInvalidModel,
                     "%s: %zu per-channel scales but dimension %d has size %d", what.c_str(), n,
                     out->quant.axis, out->shape[out->quant.axis]);
    }
  }

  if (t->sparsity() != nullptr) {
    out->has_sparsity = true;
    EDGEOPT_RETURN_IF_ERROR(ImportSparsity(t->sparsity(), what, &out->sparsity));
  }

  const uint32_t buffer_index = t->buffer();
  const auto* buffers = model->buffers();
  const uint32_t num_buffers = buffers != nullptr ? buffers->size() : 0;
  EDGEOPT_ENSURE(buffer_index == 0 || buffer_index < num_buffers, StatusCode::kInvalidModel,
                 "%s refers to buffer %u; the model has %u", what.c_str(), buffer_index,
                 num_buffers);
  *has_buffer = buffer_index != 0;
  *has_data = false;
  if (buffer_index != 0) {
    const tflite::Buffer* buffer = buffers->Get(buffer_index);
    EDGEOPT_ENSURE(buffer != nullptr, StatusCode::kInvalidModel, "buffer %u is missing",
                   buffer_index);
    EDGEOPT_ENSURE(buffer->offset() <= 1, StatusCode::kUnsupported,
                   "%s: buffers stored outside the flatbuffer (models over 2 GB) are not "
                   "supported",
                   what.c_str());
    const auto* data = buffer->data();
    if (data != nullptr && data->size() > 0 && !out->is_variable) {
      if (!out->has_sparsity && DTypeSize(out->dtype) != 0) {
        const uint64_t need = count.elements() * DTypeSize(out->dtype);
        EDGEOPT_ENSURE(data->size() == need, StatusCode::kInvalidModel,
                       "%s: buffer %u has %u bytes, shape and type need %llu", what.c_str(),
                       buffer_index, data->size(), static_cast<unsigned long long>(need));
      }
      out->data.assign(data->begin(), data->end());
      out->is_constant = true;
      *has_data = true;
    }
  }
  if (out->has_sparsity && !out->is_constant) {
    return MakeStatus(StatusCode::kInvalidModel, "%s is sparse but has no data", what.c_str());
  }
  return Status::Ok();
}

bool IsControlFlow(const std::string& op) {
  return op == "WHILE" || op == "IF" || op == "CALL_ONCE" || op == "CALL";
}

}  // namespace

StatusOr<ir::Graph> ImportTflite(const uint8_t* data, size_t size) {
  EDGEOPT_RETURN_IF_ERROR(rt::VerifyModelBuffer(data, size));
  const tflite::Model* model = tflite::GetModel(data);
  const auto* subgraphs = model->subgraphs();
  EDGEOPT_ENSURE(subgraphs != nullptr && subgraphs->size() > 0, StatusCode::kInvalidModel,
                 "the model has no subgraphs");
  const tflite::SubGraph* sg = subgraphs->Get(0);
  EDGEOPT_ENSURE(sg != nullptr, StatusCode::kInvalidModel, "subgraph 0 is missing");

  ir::Graph g;
  const int num_tensors = sg->tensors() != nullptr ? static_cast<int>(sg->tensors()->size()) : 0;
  g.tensors.resize(num_tensors);
  std::vector<char> has_buffer(num_tensors, 0), has_data(num_tensors, 0);
  for (int i = 0; i < num_tensors; ++i) {
    bool b = false, d = false;
    EDGEOPT_RETURN_IF_ERROR(ImportTensor(model, sg->tensors()->Get(i), i, &g.tensors[i], &b, &d));
    has_buffer[i] = b;
    has_data[i] = d;
  }
  EDGEOPT_RETURN_IF_ERROR(
      CheckIntList(sg->inputs(), num_tensors, false, "subgraph input", &g.inputs));
  EDGEOPT_RETURN_IF_ERROR(
      CheckIntList(sg->outputs(), num_tensors, false, "subgraph output", &g.outputs));

  const auto* codes = model->operator_codes();
  const uint32_t num_codes = codes != nullptr ? codes->size() : 0;
  const int num_ops = sg->operators() != nullptr ? static_cast<int>(sg->operators()->size()) : 0;
  std::vector<char> produced(num_tensors, 0);
  for (int i = 0; i < num_ops; ++i) {
    const tflite::Operator* op = sg->operators()->Get(i);
    EDGEOPT_ENSURE(op != nullptr, StatusCode::kInvalidModel, "node %d is missing", i);
    EDGEOPT_ENSURE(op->opcode_index() < num_codes, StatusCode::kInvalidModel,
                   "node %d uses operator code %u; the model has %u", i, op->opcode_index(),
                   num_codes);
    const tflite::OperatorCode* code = codes->Get(op->opcode_index());
    EDGEOPT_ENSURE(code != nullptr, StatusCode::kInvalidModel, "operator code %u is missing",
                   op->opcode_index());
    const int32_t builtin = static_cast<int32_t>(rt::BuiltinCodeOf(code));
    ir::Node node;
    node.op = tfl::BuiltinOpName(builtin);
    EDGEOPT_ENSURE(!node.op.empty(), StatusCode::kUnsupported,
                   "node %d: unknown builtin operator code %d", i, builtin);
    node.version = code->version();
    EDGEOPT_ENSURE(node.version >= 1, StatusCode::kInvalidModel, "node %d (%s): version %d", i,
                   node.op.c_str(), node.version);
    if (IsControlFlow(node.op)) {
      return MakeStatus(StatusCode::kUnsupported,
                        "node %d: control-flow op %s needs other subgraphs; "
                        "only single-subgraph "
                        "models are supported",
                        i, node.op.c_str());
    }
    const std::string what = "node " + std::to_string(i) + " (" + node.op + ")";
    EDGEOPT_RETURN_IF_ERROR(
        CheckIntList(op->inputs(), num_tensors, true, what + " input", &node.inputs));
    EDGEOPT_RETURN_IF_ERROR(
        CheckIntList(op->outputs(), num_tensors, false, what + " output", &node.outputs));
    EDGEOPT_RETURN_IF_ERROR(CheckIntList(op->intermediates(), num_tensors, false,
                                         what + " intermediate", &node.intermediates));
    for (int t : node.outputs) produced[t] = 1;
    if (node.op == "CUSTOM") {
      node.custom_code = code->custom_code() != nullptr ? code->custom_code()->str() : "";
      EDGEOPT_ENSURE(op->large_custom_options_offset() == 0, StatusCode::kUnsupported,
                     "%s: custom options outside the flatbuffer are not supported", what.c_str());
      if (op->custom_options() != nullptr) {
        node.custom_options.assign(op->custom_options()->begin(), op->custom_options()->end());
      }
    } else {
      uint8_t type = static_cast<uint8_t>(op->builtin_options_type());
      const void* table = op->builtin_options();
      if (type == 0 || table == nullptr) {
        // No options in the file: the defaults of the op's table (what TFLite assumes).
        type = tfl::OptionsTypeForOp(node.op);
        table = nullptr;
      }
      EDGEOPT_RETURN_IF_ERROR(tfl::ReadOptions(type, table, &node.attrs).WithPrefix(what));
    }
    g.nodes.push_back(std::move(node));
  }

  // A zero-element tensor with a buffer that no node writes is an (empty) constant.
  std::vector<char> is_input(num_tensors, 0);
  for (int t : g.inputs) is_input[t] = 1;
  for (int t = 0; t < num_tensors; ++t) {
    ir::Tensor& tensor = g.tensors[t];
    if (!has_data[t] && has_buffer[t] && !produced[t] && !is_input[t] && !tensor.is_variable &&
        tensor.NumElements() == 0 && !tensor.shape.empty()) {
      tensor.is_constant = true;
    }
  }
  for (int t : g.inputs) {
    EDGEOPT_ENSURE(!g.tensors[t].is_constant, StatusCode::kInvalidModel,
                   "graph input tensor %d (%s) is a constant", t, TensorName(g, t));
  }

  // Signature names (serving_default, else the first signature of subgraph 0).
  if (model->signature_defs() != nullptr) {
    const tflite::SignatureDef* chosen = nullptr;
    for (const tflite::SignatureDef* sig : *model->signature_defs()) {
      if (sig == nullptr || sig->subgraph_index() != 0) continue;
      if (chosen == nullptr) chosen = sig;
      if (sig->signature_key() != nullptr && sig->signature_key()->str() == "serving_default") {
        chosen = sig;
        break;
      }
    }
    if (chosen != nullptr) {
      auto names_for = [&](const flatbuffers::Vector<flatbuffers::Offset<tflite::TensorMap>>* maps,
                           const std::vector<int>& list,
                           std::vector<std::string>* names) -> Status {
        if (maps == nullptr) return Status::Ok();
        std::vector<std::string> result(list.size());
        bool differs = false;
        for (const tflite::TensorMap* m : *maps) {
          EDGEOPT_ENSURE(m != nullptr, StatusCode::kInvalidModel, "signature entry missing");
          EDGEOPT_ENSURE(m->tensor_index() < static_cast<uint32_t>(num_tensors),
                         StatusCode::kInvalidModel,
                         "signature refers to tensor %u; the subgraph has %d tensors",
                         m->tensor_index(), num_tensors);
          const std::string name = m->name() != nullptr ? m->name()->str() : "";
          for (size_t k = 0; k < list.size(); ++k) {
            if (list[k] == static_cast<int>(m->tensor_index())) result[k] = name;
          }
        }
        for (size_t k = 0; k < list.size(); ++k) {
          if (result[k].empty()) result[k] = g.tensors[list[k]].name;
          differs |= result[k] != g.tensors[list[k]].name;
        }
        // Names equal to the tensor names are the IR's default (empty list).
        if (differs) *names = std::move(result);
        return Status::Ok();
      };
      EDGEOPT_RETURN_IF_ERROR(names_for(chosen->inputs(), g.inputs, &g.input_names));
      EDGEOPT_RETURN_IF_ERROR(names_for(chosen->outputs(), g.outputs, &g.output_names));
    }
  }

  if (model->description() != nullptr) g.description = model->description()->str();
  if (model->metadata() != nullptr) {
    const uint32_t num_buffers = model->buffers() != nullptr ? model->buffers()->size() : 0;
    for (const tflite::Metadata* m : *model->metadata()) {
      EDGEOPT_ENSURE(m != nullptr, StatusCode::kInvalidModel, "metadata entry missing");
      const std::string name = m->name() != nullptr ? m->name()->str() : "";
      EDGEOPT_ENSURE(m->buffer() < num_buffers, StatusCode::kInvalidModel,
                     "metadata \"%s\" refers to buffer %u; the model has %u", name.c_str(),
                     m->buffer(), num_buffers);
      // The exporter recomputes the minimum runtime version from the op versions.
      if (name == "min_runtime_version") continue;
      const tflite::Buffer* buffer = model->buffers()->Get(m->buffer());
      EDGEOPT_ENSURE(buffer != nullptr, StatusCode::kInvalidModel, "buffer %u is missing",
                     m->buffer());
      EDGEOPT_ENSURE(buffer->offset() <= 1, StatusCode::kUnsupported,
                     "metadata \"%s\" is stored outside the flatbuffer", name.c_str());
      std::vector<uint8_t> bytes;
      if (buffer->data() != nullptr) bytes.assign(buffer->data()->begin(), buffer->data()->end());
      g.metadata.emplace_back(name, std::move(bytes));
    }
  }

  Status valid = g.Validate();
  if (!valid.ok()) return Status(StatusCode::kInvalidModel, valid.message());
  return g;
}

StatusOr<ir::Graph> ImportTfliteFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return MakeStatus(StatusCode::kNotFound, "%s: cannot open file", path.c_str());
  std::vector<uint8_t> bytes((std::istreambuf_iterator<char>(in)),
                             std::istreambuf_iterator<char>());
  if (in.bad()) return MakeStatus(StatusCode::kIoError, "%s: read error", path.c_str());
  StatusOr<ir::Graph> g = ImportTflite(bytes.data(), bytes.size());
  if (!g.ok()) return g.status().WithPrefix(path);
  return g;
}

}  // namespace edgeopt
