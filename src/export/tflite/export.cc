#include "src/export/tflite/export.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <map>
#include <tuple>

#include "flatbuffers/flatbuffers.h"
#include "schema/tflite_generated.h"
#include "src/export/tflite/op_version.h"
#include "src/importers/tflite/builtin_options.h"

namespace edgeopt {
namespace {

using flatbuffers::Offset;
using flatbuffers::Vector;

constexpr uint32_t kSchemaVersion = 3;
constexpr int kMaxRank = 16;  // as the importer
constexpr size_t kBufferAlignment = 16;
constexpr size_t kMinRuntimeVersionBytes = 16;
constexpr uint64_t kMaxFlatbufferBytes = (uint64_t{1} << 31) - 1;

std::string NodeWhere(const ir::Node& n, size_t index) {
  std::string s = "node " + std::to_string(index) + " (" + n.op;
  if (!n.name.empty()) s += " \"" + n.name + "\"";
  return s + ")";
}

uint64_t Fnv1a(const std::vector<uint8_t>& bytes) {
  uint64_t h = 1469598103934665603ull;
  for (uint8_t b : bytes) {
    h ^= b;
    h *= 1099511628211ull;
  }
  return h;
}

// Buffers: index 0 is the empty sentinel; identical contents share one buffer.
class BufferTable {
 public:
  explicit BufferTable(flatbuffers::FlatBufferBuilder* fbb) : fbb_(fbb) {
    buffers_.push_back(tflite::CreateBuffer(*fbb_));
  }

  // A buffer holding `bytes` (16-byte aligned); `bytes` may be empty (a data-less buffer that is
  // still not the sentinel, for zero-element constants).
  uint32_t Add(const std::vector<uint8_t>& bytes, bool dedup = true) {
    const auto key = std::make_pair(bytes.size(), Fnv1a(bytes));
    if (dedup) {
      auto range = index_.equal_range(key);
      for (auto it = range.first; it != range.second; ++it) {
        if (*contents_[it->second] == bytes) return it->second;
      }
    }
    Offset<Vector<uint8_t>> data;
    if (!bytes.empty()) {
      fbb_->ForceVectorAlignment(bytes.size(), sizeof(uint8_t), kBufferAlignment);
      data = fbb_->CreateVector(bytes);
    }
    const uint32_t index = static_cast<uint32_t>(buffers_.size());
    buffers_.push_back(tflite::CreateBuffer(*fbb_, data));
    contents_[index] = &bytes;
    index_.emplace(key, index);
    return index;
  }

  const std::vector<Offset<tflite::Buffer>>& buffers() const { return buffers_; }

 private:
  flatbuffers::FlatBufferBuilder* fbb_;
  std::vector<Offset<tflite::Buffer>> buffers_;
  std::multimap<std::pair<size_t, uint64_t>, uint32_t> index_;
  std::map<uint32_t, const std::vector<uint8_t>*> contents_;
};

template <typename T>
Offset<void> SparseIndexVector(flatbuffers::FlatBufferBuilder* fbb, const std::vector<int32_t>& v,
                               tflite::SparseIndexVector* type) {
  // The narrowest index type that holds every value (TFLite reads all three).
  int32_t max = 0;
  for (int32_t x : v) max = std::max(max, x);
  if (max <= 0xff) {
    *type = tflite::SparseIndexVector::Uint8Vector;
    return tflite::CreateUint8Vector(*fbb,
                                     fbb->CreateVector(std::vector<uint8_t>(v.begin(), v.end())))
        .Union();
  }
  if (max <= 0xffff) {
    *type = tflite::SparseIndexVector::Uint16Vector;
    return tflite::CreateUint16Vector(*fbb,
                                      fbb->CreateVector(std::vector<uint16_t>(v.begin(), v.end())))
        .Union();
  }
  *type = tflite::SparseIndexVector::Int32Vector;
  return tflite::CreateInt32Vector(*fbb, fbb->CreateVector(v)).Union();
}

Offset<tflite::SparsityParameters> WriteSparsity(flatbuffers::FlatBufferBuilder* fbb,
                                                 const ir::SparsityInfo& sp) {
  std::vector<Offset<tflite::DimensionMetadata>> dims;
  for (const ir::SparsityInfo::DimMeta& d : sp.dim_metadata) {
    tflite::SparseIndexVector seg_type = tflite::SparseIndexVector::NONE;
    tflite::SparseIndexVector idx_type = tflite::SparseIndexVector::NONE;
    Offset<void> seg, idx;
    if (d.sparse) {
      seg = SparseIndexVector<int32_t>(fbb, d.segments, &seg_type);
      idx = SparseIndexVector<int32_t>(fbb, d.indices, &idx_type);
    }
    dims.push_back(tflite::CreateDimensionMetadata(
        *fbb, d.sparse ? tflite::DimensionType::SPARSE_CSR : tflite::DimensionType::DENSE,
        d.dense_size, seg_type, seg, idx_type, idx));
  }
  return tflite::CreateSparsityParameters(*fbb, fbb->CreateVector(sp.traversal_order),
                                          fbb->CreateVector(sp.block_map), fbb->CreateVector(dims));
}

Offset<tflite::QuantizationParameters> WriteQuant(flatbuffers::FlatBufferBuilder* fbb,
                                                  const ir::QuantInfo& q) {
  if (q.scale.empty() && q.min.empty() && q.max.empty() && q.zero_point.empty() && q.axis == 0) {
    return 0;
  }
  Offset<Vector<float>> min, max, scale;
  Offset<Vector<int64_t>> zero_point;
  if (!q.min.empty()) min = fbb->CreateVector(q.min);
  if (!q.max.empty()) max = fbb->CreateVector(q.max);
  if (!q.scale.empty()) {
    scale = fbb->CreateVector(q.scale);
    // TFLite ignores scales without zero points: write zeros when the IR has none.
    std::vector<int64_t> zp = q.zero_point;
    if (zp.empty()) zp.assign(q.scale.size(), 0);
    zero_point = fbb->CreateVector(zp);
  } else if (!q.zero_point.empty()) {
    zero_point = fbb->CreateVector(q.zero_point);
  }
  return tflite::CreateQuantizationParameters(*fbb, min, max, scale, zero_point,
                                              tflite::QuantizationDetails::NONE, 0, q.axis);
}

}  // namespace

StatusOr<std::vector<uint8_t>> ExportTflite(const ir::Graph& graph,
                                            const TfliteExportOptions& options) {
  Status valid = graph.Validate();
  if (!valid.ok()) {
    return Status(StatusCode::kInvalidArgument,
                  "cannot export an invalid graph: " + valid.message());
  }
  const int num_tensors = static_cast<int>(graph.tensors.size());
  EDGEOPT_ENSURE(graph.input_names.empty() || graph.input_names.size() == graph.inputs.size(),
                 StatusCode::kInvalidArgument, "%zu input names for %zu graph inputs",
                 graph.input_names.size(), graph.inputs.size());
  EDGEOPT_ENSURE(graph.output_names.empty() || graph.output_names.size() == graph.outputs.size(),
                 StatusCode::kInvalidArgument, "%zu output names for %zu graph outputs",
                 graph.output_names.size(), graph.outputs.size());

  // Operator codes and versions, first (errors before any building).
  struct CodeKey {
    int32_t builtin;
    std::string custom;
    int version;
    bool operator<(const CodeKey& o) const {
      return std::tie(builtin, custom, version) < std::tie(o.builtin, o.custom, o.version);
    }
  };
  std::vector<CodeKey> codes;
  std::map<CodeKey, uint32_t> code_index;
  std::vector<uint32_t> node_code(graph.nodes.size());
  std::string min_runtime;
  const int32_t custom_code = static_cast<int32_t>(tflite::BuiltinOperator::CUSTOM);
  for (size_t i = 0; i < graph.nodes.size(); ++i) {
    const ir::Node& n = graph.nodes[i];
    const std::string where = NodeWhere(n, i);
    for (int t : n.intermediates) {
      EDGEOPT_ENSURE(t >= 0 && t < num_tensors, StatusCode::kInvalidArgument,
                     "%s: intermediate tensor %d out of range", where.c_str(), t);
    }
    if (ir::IsToolkitOp(n.op)) {
      return MakeStatus(StatusCode::kUnsupported,
                        "%s: %s is a toolkit-only op; lower it (passes) before "
                        "exporting to TFLite",
                        where.c_str(), n.op.c_str());
    }
    CodeKey key;
    if (n.op == "CUSTOM") {
      EDGEOPT_ENSURE(!n.custom_code.empty(), StatusCode::kInvalidArgument,
                     "%s: a CUSTOM node needs a custom_code", where.c_str());
      EDGEOPT_ENSURE(n.attrs.empty(), StatusCode::kInvalidArgument,
                     "%s: unknown attribute '%s' (CUSTOM ops keep their options in "
                     "custom_options)",
                     where.c_str(), n.attrs.empty() ? "" : n.attrs.begin()->first.c_str());
      key.builtin = custom_code;
      key.custom = n.custom_code;
      key.version = n.version > 0 ? n.version : 1;
    } else {
      key.builtin = tfl::BuiltinOpCode(n.op);
      EDGEOPT_ENSURE(key.builtin >= 0, StatusCode::kUnsupported,
                     "%s: %s is not a TFLite builtin op", where.c_str(), n.op.c_str());
      EDGEOPT_ENSURE(n.custom_code.empty() && n.custom_options.empty(),
                     StatusCode::kInvalidArgument, "%s: custom_code/custom_options on a builtin op",
                     where.c_str());
      if (options.keep_node_versions && n.version > 0) {
        key.version = n.version;
      } else {
        EDGEOPT_ASSIGN_OR_RETURN(key.version, tfl::SelectOpVersion(graph, n, where));
      }
      const std::string rt = tfl::MinRuntimeVersion(n.op, key.version);
      if (tfl::RuntimeVersionLess(min_runtime, rt)) min_runtime = rt;
    }
    auto it = code_index.find(key);
    if (it == code_index.end()) {
      it = code_index.emplace(key, static_cast<uint32_t>(codes.size())).first;
      codes.push_back(key);
    }
    node_code[i] = it->second;
  }

  flatbuffers::FlatBufferBuilder fbb(1024 + graph.tensors.size() * 64);
  BufferTable buffers(&fbb);

  // Tensors (constant data first: large vectors at the end of the file).
  std::vector<uint32_t> tensor_buffer(num_tensors, 0);
  for (int t = 0; t < num_tensors; ++t) {
    const ir::Tensor& tensor = graph.tensors[t];
    if (tensor.is_constant && !tensor.is_variable) tensor_buffer[t] = buffers.Add(tensor.data);
  }
  std::vector<Offset<tflite::Tensor>> tensors;
  for (int t = 0; t < num_tensors; ++t) {
    const ir::Tensor& tensor = graph.tensors[t];
    EDGEOPT_ENSURE(DTypeIsValid(static_cast<int>(tensor.dtype)), StatusCode::kInvalidArgument,
                   "tensor %d (%s): invalid dtype", t, tensor.name.c_str());
    const ir::QuantInfo& q = tensor.quant;
    EDGEOPT_ENSURE(q.zero_point.empty() || q.scale.empty() || q.zero_point.size() == q.scale.size(),
                   StatusCode::kInvalidArgument, "tensor %d (%s): %zu scales but %zu zero points",
                   t, tensor.name.c_str(), q.scale.size(), q.zero_point.size());
    EDGEOPT_ENSURE(q.min.size() == q.max.size(), StatusCode::kInvalidArgument,
                   "tensor %d (%s): %zu quantization minimums but %zu maximums", t,
                   tensor.name.c_str(), q.min.size(), q.max.size());
    EDGEOPT_ENSURE(q.axis >= 0 && q.axis < kMaxRank, StatusCode::kInvalidArgument,
                   "tensor %d (%s): invalid quantized dimension %d", t, tensor.name.c_str(),
                   q.axis);
    EDGEOPT_ENSURE(tensor.shape.size() <= static_cast<size_t>(kMaxRank),
                   StatusCode::kInvalidArgument, "tensor %d (%s) has rank %zu; at most %d", t,
                   tensor.name.c_str(), tensor.shape.size(), kMaxRank);
    if (tensor.has_sparsity) {
      const ir::SparsityInfo& sp = tensor.sparsity;
      EDGEOPT_ENSURE(tensor.is_constant && !tensor.data.empty(), StatusCode::kInvalidArgument,
                     "tensor %d (%s) is sparse but has no data", t, tensor.name.c_str());
      EDGEOPT_ENSURE(sp.dim_metadata.size() == sp.traversal_order.size(),
                     StatusCode::kInvalidArgument,
                     "tensor %d (%s): %zu sparse dimension entries for a "
                     "traversal order of %zu",
                     t, tensor.name.c_str(), sp.dim_metadata.size(), sp.traversal_order.size());
      for (int32_t d : sp.traversal_order) {
        EDGEOPT_ENSURE(d >= 0 && d < static_cast<int32_t>(sp.traversal_order.size()),
                       StatusCode::kInvalidArgument,
                       "tensor %d (%s): sparse traversal order entry %d out of range", t,
                       tensor.name.c_str(), d);
      }
    }
    if (q.scale.size() > 1 && q.axis < static_cast<int>(tensor.shape.size())) {
      EDGEOPT_ENSURE(tensor.shape[q.axis] == static_cast<int32_t>(q.scale.size()),
                     StatusCode::kInvalidArgument,
                     "tensor %d (%s): %zu per-channel scales but dimension %d has size %d", t,
                     tensor.name.c_str(), q.scale.size(), q.axis, tensor.shape[q.axis]);
    }
    for (int32_t d : tensor.shape) {
      EDGEOPT_ENSURE(d >= 0, StatusCode::kInvalidArgument, "tensor %d (%s): dimension %d", t,
                     tensor.name.c_str(), d);
    }
    Offset<Vector<int32_t>> signature;
    if (!tensor.shape_signature.empty()) {
      EDGEOPT_ENSURE(tensor.shape_signature.size() == tensor.shape.size(),
                     StatusCode::kInvalidArgument,
                     "tensor %d (%s): shape_signature rank %zu differs from "
                     "shape rank %zu",
                     t, tensor.name.c_str(), tensor.shape_signature.size(), tensor.shape.size());
      for (int32_t d : tensor.shape_signature) {
        EDGEOPT_ENSURE(d >= -1, StatusCode::kInvalidArgument,
                       "tensor %d (%s): shape_signature dimension %d", t, tensor.name.c_str(), d);
      }
      signature = fbb.CreateVector(tensor.shape_signature);
    }
    Offset<tflite::SparsityParameters> sparsity;
    if (tensor.has_sparsity) sparsity = WriteSparsity(&fbb, tensor.sparsity);
    const auto quant = WriteQuant(&fbb, tensor.quant);
    tensors.push_back(tflite::CreateTensor(fbb, fbb.CreateVector(tensor.shape),
                                           static_cast<tflite::TensorType>(tensor.dtype),
                                           tensor_buffer[t], fbb.CreateString(tensor.name), quant,
                                           tensor.is_variable, sparsity, signature));
  }

  // Operators.
  std::vector<Offset<tflite::Operator>> operators;
  for (size_t i = 0; i < graph.nodes.size(); ++i) {
    const ir::Node& n = graph.nodes[i];
    const std::string where = NodeWhere(n, i);
    tflite::BuiltinOptions options_type = tflite::BuiltinOptions::NONE;
    Offset<void> options_table;
    Offset<Vector<uint8_t>> custom_options;
    if (n.op == "CUSTOM") {
      if (!n.custom_options.empty()) custom_options = fbb.CreateVector(n.custom_options);
    } else {
      EDGEOPT_ASSIGN_OR_RETURN(auto written, tfl::WriteOptions(&fbb, n.op, n.attrs, where));
      options_type = static_cast<tflite::BuiltinOptions>(written.first);
      options_table = written.second;
    }
    Offset<Vector<int32_t>> intermediates;
    if (!n.intermediates.empty()) {
      intermediates =
          fbb.CreateVector(std::vector<int32_t>(n.intermediates.begin(), n.intermediates.end()));
    }
    operators.push_back(tflite::CreateOperator(
        fbb, node_code[i], fbb.CreateVector(std::vector<int32_t>(n.inputs.begin(), n.inputs.end())),
        fbb.CreateVector(std::vector<int32_t>(n.outputs.begin(), n.outputs.end())), options_type,
        options_table, custom_options, tflite::CustomOptionsFormat::FLEXBUFFERS, 0, intermediates));
  }

  std::vector<Offset<tflite::OperatorCode>> operator_codes;
  for (const CodeKey& c : codes) {
    operator_codes.push_back(
        tflite::CreateOperatorCode(fbb, static_cast<int8_t>(std::min<int32_t>(c.builtin, 127)),
                                   c.custom.empty() ? 0 : fbb.CreateString(c.custom), c.version,
                                   static_cast<tflite::BuiltinOperator>(c.builtin)));
  }

  const auto subgraph = tflite::CreateSubGraph(
      fbb, fbb.CreateVector(tensors),
      fbb.CreateVector(std::vector<int32_t>(graph.inputs.begin(), graph.inputs.end())),
      fbb.CreateVector(std::vector<int32_t>(graph.outputs.begin(), graph.outputs.end())),
      fbb.CreateVector(operators), fbb.CreateString("main"));

  // Signature: graph input/output names, else tensor names.
  Offset<Vector<Offset<tflite::SignatureDef>>> signature_defs;
  if (!options.signature_key.empty()) {
    auto maps = [&](const std::vector<int>& list, const std::vector<std::string>& names) {
      std::vector<Offset<tflite::TensorMap>> out;
      for (size_t k = 0; k < list.size(); ++k) {
        const std::string& name =
            (k < names.size() && !names[k].empty()) ? names[k] : graph.tensors[list[k]].name;
        out.push_back(
            tflite::CreateTensorMap(fbb, fbb.CreateString(name), static_cast<uint32_t>(list[k])));
      }
      return fbb.CreateVector(out);
    };
    const auto in_maps = maps(graph.inputs, graph.input_names);
    const auto out_maps = maps(graph.outputs, graph.output_names);
    const auto sig = tflite::CreateSignatureDef(fbb, in_maps, out_maps,
                                                fbb.CreateString(options.signature_key), 0);
    signature_defs = fbb.CreateVector(std::vector<Offset<tflite::SignatureDef>>{sig});
  }

  // Metadata: min_runtime_version (16 bytes, zero padded), then the graph's entries.
  std::vector<Offset<tflite::Metadata>> metadata;
  std::vector<uint8_t> runtime_bytes(kMinRuntimeVersionBytes, 0);
  if (options.add_min_runtime_version) {
    EDGEOPT_ENSURE(min_runtime.size() < kMinRuntimeVersionBytes, StatusCode::kInternal,
                   "runtime version string too long");
    std::memcpy(runtime_bytes.data(), min_runtime.data(), min_runtime.size());
    metadata.push_back(tflite::CreateMetadata(fbb, fbb.CreateString("min_runtime_version"),
                                              buffers.Add(runtime_bytes, /*dedup=*/false)));
  }
  for (const auto& [name, bytes] : graph.metadata) {
    if (options.add_min_runtime_version && name == "min_runtime_version") continue;
    metadata.push_back(
        tflite::CreateMetadata(fbb, fbb.CreateString(name), buffers.Add(bytes, /*dedup=*/false)));
  }

  const auto model =
      tflite::CreateModel(fbb, kSchemaVersion, fbb.CreateVector(operator_codes),
                          fbb.CreateVector(std::vector<Offset<tflite::SubGraph>>{subgraph}),
                          fbb.CreateString("edgeopt"), fbb.CreateVector(buffers.buffers()), 0,
                          metadata.empty() ? 0 : fbb.CreateVector(metadata), signature_defs);
  fbb.Finish(model, tflite::ModelIdentifier());
  EDGEOPT_ENSURE(fbb.GetSize() <= kMaxFlatbufferBytes, StatusCode::kUnsupported,
                 "the model needs %u bytes; flatbuffers over 2 GB are not supported",
                 fbb.GetSize());
  return std::vector<uint8_t>(fbb.GetBufferPointer(), fbb.GetBufferPointer() + fbb.GetSize());
}

Status WriteTfliteFile(const ir::Graph& graph, const std::string& path,
                       const TfliteExportOptions& options) {
  EDGEOPT_ASSIGN_OR_RETURN(std::vector<uint8_t> bytes, ExportTflite(graph, options));
  std::string tmp = path + ".tmp.XXXXXX";
  std::vector<char> tmpl(tmp.begin(), tmp.end());
  tmpl.push_back('\0');
  const int fd = mkstemp(tmpl.data());
  if (fd < 0) {
    return MakeStatus(StatusCode::kIoError, "%s: cannot create a temporary file: %s", path.c_str(),
                      std::strerror(errno));
  }
  tmp = tmpl.data();
  size_t done = 0;
  while (done < bytes.size()) {
    const ssize_t n = ::write(fd, bytes.data() + done, bytes.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      const int err = errno;
      ::close(fd);
      ::unlink(tmp.c_str());
      return MakeStatus(StatusCode::kIoError, "%s: write failed: %s", path.c_str(),
                        std::strerror(err));
    }
    done += static_cast<size_t>(n);
  }
  // mkstemp creates 0600; a model file is an ordinary file (0644 less the umask).
  const mode_t mask = ::umask(0);
  ::umask(mask);
  ::fchmod(fd, 0666 & ~mask);
  const bool synced = ::fsync(fd) == 0;
  const bool closed = ::close(fd) == 0;
  if (!synced || !closed) {
    const int err = errno;
    ::unlink(tmp.c_str());
    return MakeStatus(StatusCode::kIoError, "%s: write failed: %s", path.c_str(),
                      std::strerror(err));
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0) {
    const int err = errno;
    ::unlink(tmp.c_str());
    return MakeStatus(StatusCode::kIoError, "%s: cannot rename the temporary file: %s",
                      path.c_str(), std::strerror(err));
  }
  return Status::Ok();
}

}  // namespace edgeopt
