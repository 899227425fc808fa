#include "src/runtime/interpreter.h"

#include <algorithm>
#include <chrono>
#include <climits>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <limits>

#if defined(__linux__)
#include <sys/mman.h>
#include <unistd.h>
#endif

#include "flatbuffers/flatbuffers.h"
#include "schema/tflm_compression_generated.h"
#include "src/core/element_count.h"
#include "src/quant/quant_math.h"
#include "src/runtime/flatbuffer_read.h"
#include "src/runtime/lut_decode.h"
#include "src/runtime/memory/greedy_planner.h"
#include "src/runtime/model_stats.h"
#include "src/runtime/op_registry.h"

namespace edgeopt {
namespace rt {
namespace {

constexpr size_t kArenaAlignment = 64;
// Auto threads (InterpreterOptions::num_threads <= 0): a model of less work than this
// (EstimateWork: multiply-accumulates, zero weights left out) runs on one thread. Its ops are
// too small to split: each split op leaves half its output in the other core's cache for the
// next op to fetch, and that costs more than the half of the arithmetic it saves. Measured on
// the 2-core development machine (edgeopt bench --pin, medians of 3 rounds of 1500 runs, 1 vs 2
// threads): the demo's student 0.2M MACs 6.7 vs 8.0 us, its channel-pruned CNN 0.7M 12.9 vs
// 16.9 us, its 80%-pruned CNN 0.5M after its zeros 27.4 vs 29.9 us; its float CNN 2.6M 34.1 vs
// 30.5 us gains from the second thread, the int8 one 2.6M breaks even (17.6 vs 17.6 us).
constexpr int64_t kAutoThreadsMinWork = int64_t{2} << 20;
// Largest tensor we accept (bytes): far above any edge model, far below overflow. Below 2 GiB on
// 32-bit targets, so that a size_t holds it.
constexpr uint64_t kMaxTensorBytes = std::min<uint64_t>(uint64_t{1} << 36, SIZE_MAX / 2);

size_t AlignUp(size_t x, size_t a) { return (x + a - 1) & ~(a - 1); }

// A variable tensor's initial value, as TFLite's ResetVariableTensor: int8 variables hold their
// zero point (real 0), every other type zeros.
void ResetVariable(Tensor* t) {
  const int value = t->type == DType::kInt8 ? t->quant.zero_point : 0;
  std::memset(t->data, value, t->bytes);
}

const char* OpName(tflite::BuiltinOperator op) {
  const char* name = tflite::EnumNameBuiltinOperator(op);
  return (name != nullptr && name[0] != '\0') ? name : "UNKNOWN";
}

}  // namespace

tflite::BuiltinOperator BuiltinCodeOf(const tflite::OperatorCode* code) {
  const int32_t a = code->deprecated_builtin_code();
  const int32_t b = static_cast<int32_t>(code->builtin_code());
  return static_cast<tflite::BuiltinOperator>(std::max(a, b));
}

Dims MakeDims(std::initializer_list<int32_t> dims) {
  Dims d;
  for (int32_t v : dims) {
    if (d.size < kMaxDims) d.data[d.size++] = v;
  }
  return d;
}

Status VerifyModelBuffer(const uint8_t* data, size_t size) {
  if (data == nullptr || size < 8) {
    return MakeStatus(StatusCode::kInvalidModel, "file too small (%zu bytes) for a .tflite model",
                      size);
  }
  if (size >= (size_t{1} << 31)) {
    return MakeStatus(StatusCode::kUnsupported, "models of 2 GB or more are not supported");
  }
  if (!flatbuffers::BufferHasIdentifier(data, tflite::ModelIdentifier())) {
    return MakeStatus(StatusCode::kInvalidModel,
                      "not a TFLite flatbuffer (file identifier is not \"TFL3\")");
  }
  flatbuffers::Verifier verifier(data, size, /*max_depth=*/64, /*max_tables=*/4000000);
  if (!tflite::VerifyModelBuffer(verifier)) {
    return MakeStatus(StatusCode::kInvalidModel,
                      "flatbuffer verification failed (truncated or corrupted file)");
  }
  return Status::Ok();
}

Interpreter::Interpreter(const uint8_t* data, size_t size, const InterpreterOptions& options)
    : data_(data), size_(size), options_(options) {
  cpu_ = options.cpu != nullptr ? *options.cpu : GetCpuInfo();
}

Interpreter::~Interpreter() {
  std::free(arena_);
  for (void* p : persistent_blocks_) std::free(p);
}

StatusOr<std::unique_ptr<Interpreter>> Interpreter::Create(const uint8_t* model_data, size_t size,
                                                           const InterpreterOptions& options) {
  EDGEOPT_RETURN_IF_ERROR(VerifyModelBuffer(model_data, size));
  std::unique_ptr<Interpreter> interp(new Interpreter(model_data, size, options));
  EDGEOPT_RETURN_IF_ERROR(interp->Load());
  int threads = options.num_threads;
  if (threads <= 0) threads = interp->AutoThreads();
  threads = std::min(threads, 64);
  interp->pool_.reset(new ThreadPool(threads, options.pin_threads));
  EDGEOPT_RETURN_IF_ERROR(interp->PrepareAll());
  if (options.fuse_ops && !options.linear_planner) {
    interp->FuseActivations();
    interp->FuseAdds();
  }
  EDGEOPT_RETURN_IF_ERROR(interp->PlanMemory());
  interp->phase_ = Phase::kReady;
  return interp;
}

int Interpreter::AutoThreads() {
  const int cores = std::max(1, cpu_.num_cores);
  if (cores == 1) return 1;
  // (A model of 16 times the limit would need over 94 % zero weights to fall under it: its
  // weights are not scanned.)
  const int64_t work = EstimateWork(this, 16 * kAutoThreadsMinWork);
  return work >= 0 && work < kAutoThreadsMinWork ? 1 : cores;
}

void* Interpreter::AllocatePersistent(size_t bytes) {
  if (phase_ == Phase::kReady) return nullptr;  // no allocation during Invoke
  if (bytes > options_.max_memory_bytes - std::min(persistent_bytes_, options_.max_memory_bytes)) {
    return nullptr;
  }
  void* p = nullptr;
  if (posix_memalign(&p, kArenaAlignment, AlignUp(std::max<size_t>(bytes, 1), kArenaAlignment)) !=
      0) {
    return nullptr;
  }
  persistent_blocks_.push_back(p);
  persistent_bytes_ += bytes;
  return p;
}

Status Interpreter::Load() {
  model_ = tflite::GetModel(data_);
  const auto* subgraphs = model_->subgraphs();
  EDGEOPT_ENSURE(subgraphs != nullptr && subgraphs->size() > 0, StatusCode::kInvalidModel,
                 "the model has no subgraphs");
  subgraph_ = subgraphs->Get(0);
  EDGEOPT_ENSURE(subgraph_ != nullptr, StatusCode::kInvalidModel, "subgraph 0 is missing");
  const auto* tensors = subgraph_->tensors();
  const int num_tensors = tensors != nullptr ? static_cast<int>(tensors->size()) : 0;
  EDGEOPT_RETURN_IF_ERROR(LoadCompressionMetadata(num_tensors));
  tensors_.resize(num_tensors);
  for (int i = 0; i < num_tensors; ++i) {
    EDGEOPT_RETURN_IF_ERROR(LoadTensor(i));
  }
  auto load_io = [&](const flatbuffers::Vector<int32_t>* list, std::vector<int>* out,
                     const char* what) -> Status {
    if (list == nullptr) return Status::Ok();
    for (int32_t t : *list) {
      EDGEOPT_ENSURE(t >= 0 && t < num_tensors, StatusCode::kInvalidModel,
                     "subgraph %s refers to tensor %d; the subgraph has %d tensors", what, t,
                     num_tensors);
      out->push_back(t);
    }
    return Status::Ok();
  };
  EDGEOPT_RETURN_IF_ERROR(load_io(subgraph_->inputs(), &inputs_, "input"));
  EDGEOPT_RETURN_IF_ERROR(load_io(subgraph_->outputs(), &outputs_, "output"));
  for (int t : inputs_) {
    EDGEOPT_ENSURE(tensors_[t].allocation != Allocation::kConstant, StatusCode::kInvalidModel,
                   "graph input tensor %d (%s) is a constant", t, tensors_[t].name);
  }
  return LoadNodes();
}

// TFLM's LUT compression (schema/tflm_compression.fbs): which tensors of subgraph 0 hold
// indices, and where their value tables are.
Status Interpreter::LoadCompressionMetadata(int num_tensors) {
  lut_.clear();
  const tflite::micro::compression::Metadata* meta = nullptr;
  EDGEOPT_RETURN_IF_ERROR(FindLutMetadata(model_, &meta));
  if (meta == nullptr) return Status::Ok();
  const auto* buffers = model_->buffers();
  const auto* subs = meta->subgraphs();
  const auto* luts = subs != nullptr && subs->size() > 0 ? subs->Get(0)->lut_tensors() : nullptr;
  if (luts == nullptr) return Status::Ok();
  lut_.assign(num_tensors, LutRef{});
  for (const auto* l : *luts) {
    const int t = l->tensor();
    const bool ok = t >= 0 && t < num_tensors && buffers != nullptr &&
                    l->value_buffer() < buffers->size() &&
                    buffers->Get(l->value_buffer())->data() != nullptr && lut_[t].bits == 0 &&
                    l->index_bitwidth() >= 1 && l->index_bitwidth() <= 7;
    EDGEOPT_ENSURE(ok, StatusCode::kInvalidModel,
                   "COMPRESSION_METADATA: bad entry for tensor %d (value buffer %u, %d-bit "
                   "indices; a tensor once, its buffer present)",
                   t, l->value_buffer(), l->index_bitwidth());
    lut_[t].bits = l->index_bitwidth();
    lut_[t].value_buffer = l->value_buffer();
  }
  return Status::Ok();
}

Status Interpreter::LoadTensor(int index) {
  const tflite::Tensor* t = subgraph_->tensors()->Get(index);
  Tensor& out = tensors_[index];
  EDGEOPT_ENSURE(t != nullptr, StatusCode::kInvalidModel, "tensor %d is missing", index);
  out.name = t->name() != nullptr ? t->name()->c_str() : "";
  const int type = static_cast<int>(t->type());
  EDGEOPT_ENSURE(DTypeIsValid(type), StatusCode::kInvalidModel, "tensor %d (%s): unknown type %d",
                 index, out.name, type);
  out.type = static_cast<DType>(type);

  const auto* shape = t->shape();
  const int rank = shape != nullptr ? static_cast<int>(shape->size()) : 0;
  EDGEOPT_ENSURE(rank <= kMaxDims, StatusCode::kUnsupported,
                 "tensor %d (%s) has rank %d; at most %d is supported", index, out.name, rank,
                 kMaxDims);
  out.dims.size = rank;
  ElementCount count(kMaxTensorBytes);
  for (int d = 0; d < rank; ++d) {
    const int32_t v = shape->Get(d);
    EDGEOPT_ENSURE(v >= 0, StatusCode::kInvalidModel, "tensor %d (%s): dimension %d is %d", index,
                   out.name, d, v);
    out.dims.data[d] = v;
    EDGEOPT_ENSURE(count.Add(static_cast<uint64_t>(v)), StatusCode::kInvalidModel,
                   "tensor %d (%s) is too large", index, out.name);
  }
  const uint64_t bytes = count.elements() * DTypeSize(out.type);
  EDGEOPT_ENSURE(bytes <= kMaxTensorBytes, StatusCode::kInvalidModel, "tensor %d (%s) is too large",
                 index, out.name);
  out.bytes = static_cast<size_t>(bytes);
  out.is_variable = t->is_variable();
  out.sparsity = t->sparsity();

  // Quantization parameters: copied (int64 zero points narrowed) and checked.
  const tflite::QuantizationParameters* q = t->quantization();
  if (q != nullptr && q->scale() != nullptr && q->scale()->size() > 0) {
    const int n = static_cast<int>(q->scale()->size());
    const auto* zps = q->zero_point();
    EDGEOPT_ENSURE(zps == nullptr || static_cast<int>(zps->size()) == n ||
                       static_cast<int>(zps->size()) == 1 || zps->size() == 0,
                   StatusCode::kInvalidModel, "tensor %d (%s): %d scales but %u zero points", index,
                   out.name, n, zps != nullptr ? zps->size() : 0);
    float* scales = static_cast<float*>(AllocatePersistent(n * sizeof(float)));
    int32_t* zero_points = static_cast<int32_t*>(AllocatePersistent(n * sizeof(int32_t)));
    EDGEOPT_ENSURE(scales != nullptr && zero_points != nullptr, StatusCode::kOutOfMemory,
                   "out of memory");
    for (int c = 0; c < n; ++c) {
      scales[c] = q->scale()->Get(c);
      int64_t zp = 0;
      if (zps != nullptr && zps->size() > 0) zp = Int64At(*zps, zps->size() == 1 ? 0 : c);
      EDGEOPT_ENSURE(zp >= INT32_MIN && zp <= INT32_MAX, StatusCode::kInvalidModel,
                     "tensor %d (%s): zero point %lld out of range", index, out.name,
                     static_cast<long long>(zp));
      zero_points[c] = static_cast<int32_t>(zp);
    }
    out.quant.num_channels = n;
    out.quant.scales = scales;
    out.quant.zero_points = zero_points;
    out.quant.scale = scales[0];
    out.quant.zero_point = zero_points[0];
    out.quant.axis = q->quantized_dimension();
    // A rank-1 tensor has one axis to be per-channel along. TFLM's person_detect.tflite gives its
    // per-channel biases quantized_dimension 3 (the filters' axis); TFLM runs it, TFLite 2.9
    // refuses it. Such an axis is read as 0.
    if (n > 1 && rank == 1 && out.dims[0] == n) out.quant.axis = 0;
    if (n > 1) {
      EDGEOPT_ENSURE(out.quant.axis >= 0 && out.quant.axis < rank, StatusCode::kInvalidModel,
                     "tensor %d (%s): quantized_dimension %d out of range for rank %d", index,
                     out.name, out.quant.axis, rank);
      EDGEOPT_ENSURE(out.dims[out.quant.axis] == n, StatusCode::kInvalidModel,
                     "tensor %d (%s): %d per-channel scales but dimension %d has size %d", index,
                     out.name, n, out.quant.axis, out.dims[out.quant.axis]);
    }
  }

  // Constant data.
  const auto* buffers = model_->buffers();
  const uint32_t buffer_index = t->buffer();
  const int num_buffers = buffers != nullptr ? static_cast<int>(buffers->size()) : 0;
  EDGEOPT_ENSURE(buffer_index == 0 || static_cast<int64_t>(buffer_index) < num_buffers,
                 StatusCode::kInvalidModel, "tensor %d (%s) refers to buffer %u; there are %d",
                 index, out.name, buffer_index, num_buffers);
  const tflite::Buffer* buffer =
      (buffers != nullptr && buffer_index < buffers->size()) ? buffers->Get(buffer_index) : nullptr;
  if (buffer != nullptr) {
    EDGEOPT_ENSURE(buffer->offset() <= 1, StatusCode::kUnsupported,
                   "tensor %d (%s): buffers stored outside the flatbuffer (models over 2 GB) are "
                   "not supported",
                   index, out.name);
  }
  const auto* data = buffer != nullptr ? buffer->data() : nullptr;
  if (index < static_cast<int>(lut_.size()) && lut_[index].bits > 0) {
    // LUT-compressed: decoded once into a plain tensor.
    EDGEOPT_ENSURE(
        data != nullptr && !out.is_variable && out.sparsity == nullptr && DTypeSize(out.type) != 0,
        StatusCode::kInvalidModel,
        "tensor %d (%s) is LUT-compressed but is not a constant of a fixed-size type", index,
        out.name);
    LutLayout layout;
    layout.elements = static_cast<int64_t>(out.dims.NumElements());
    layout.element_bytes = DTypeSize(out.type);
    layout.bits = lut_[index].bits;
    if (out.quant.num_channels > 1) {
      layout.channels = out.quant.num_channels;
      EDGEOPT_ENSURE(out.quant.axis == 0 || out.quant.axis == rank - 1, StatusCode::kUnsupported,
                     "tensor %d (%s): LUT tables along axis %d (only the first or the last)", index,
                     out.name, out.quant.axis);
      layout.last_axis = rank > 1 && out.quant.axis == rank - 1;
    }
    const auto* values = buffers->Get(lut_[index].value_buffer)->data();
    uint8_t* decoded = static_cast<uint8_t*>(AllocatePersistent(out.bytes));
    EDGEOPT_ENSURE(decoded != nullptr, StatusCode::kOutOfMemory, "out of memory");
    Status st =
        DecodeLut(layout, data->data(), data->size(), values->data(), values->size(), decoded);
    if (!st.ok()) return st.WithPrefix("tensor " + std::to_string(index) + " (" + out.name + ")");
    out.data = decoded;
    out.allocation = Allocation::kConstant;
  } else if (data != nullptr && data->size() > 0 && !out.is_variable) {
    const size_t size = data->size();
    if (out.sparsity == nullptr && DTypeSize(out.type) != 0) {
      EDGEOPT_ENSURE(size == out.bytes, StatusCode::kInvalidModel,
                     "tensor %d (%s): buffer has %zu bytes, shape and type need %zu", index,
                     out.name, size, out.bytes);
    }
    const uint8_t* ptr = data->data();
    const size_t align = std::max<size_t>(DTypeSize(out.type), 1);
    if (reinterpret_cast<uintptr_t>(ptr) % std::min<size_t>(align, 16) != 0) {
      // Misaligned in the file: keep an aligned copy (kernels read typed pointers).
      uint8_t* copy = static_cast<uint8_t*>(AllocatePersistent(size));
      EDGEOPT_ENSURE(copy != nullptr, StatusCode::kOutOfMemory, "out of memory");
      std::memcpy(copy, ptr, size);
      ptr = copy;
    }
    out.data = const_cast<uint8_t*>(ptr);  // read-only: kernels never write constants
    if (out.sparsity != nullptr) out.bytes = size;
    out.allocation = Allocation::kConstant;
  } else if (out.sparsity != nullptr) {
    return MakeStatus(StatusCode::kInvalidModel, "tensor %d (%s) is sparse but has no data", index,
                      out.name);
  }
  if (out.is_variable) {
    out.data = static_cast<uint8_t*>(AllocatePersistent(out.bytes));
    EDGEOPT_ENSURE(out.data != nullptr, StatusCode::kOutOfMemory, "out of memory");
    ResetVariable(&out);
    out.allocation = Allocation::kPersistent;
  }
  return Status::Ok();
}

Status Interpreter::LoadNodes() {
  const auto* ops = subgraph_->operators();
  const auto* codes = model_->operator_codes();
  const int num_codes = codes != nullptr ? static_cast<int>(codes->size()) : 0;
  const int num_ops = ops != nullptr ? static_cast<int>(ops->size()) : 0;
  const int num_tensors = static_cast<int>(tensors_.size());
  nodes_.resize(num_ops);
  registrations_.resize(num_ops, nullptr);
  node_names_.resize(num_ops);
  std::vector<int> producer(num_tensors, -1);
  for (int i = 0; i < num_ops; ++i) {
    const tflite::Operator* op = ops->Get(i);
    EDGEOPT_ENSURE(op != nullptr, StatusCode::kInvalidModel, "node %d is missing", i);
    const uint32_t code_index = op->opcode_index();
    EDGEOPT_ENSURE(static_cast<int64_t>(code_index) < num_codes, StatusCode::kInvalidModel,
                   "node %d uses operator code %u; the model has %d", i, code_index, num_codes);
    const tflite::OperatorCode* code = codes->Get(code_index);
    EDGEOPT_ENSURE(code != nullptr, StatusCode::kInvalidModel, "operator code %u is missing",
                   code_index);
    Node& node = nodes_[i];
    node.index = i;
    node.op = BuiltinCodeOf(code);
    node.version = code->version();
    node.op_def = op;
    if (node.op == tflite::BuiltinOperator::CUSTOM) {
      node.custom_name = code->custom_code() != nullptr ? code->custom_code()->c_str() : "";
      node_names_[i] = node.custom_name;
      return MakeStatus(StatusCode::kUnsupported, "node %d: unsupported custom op %s", i,
                        node.custom_name);
    }
    const int op_value = static_cast<int>(node.op);
    EDGEOPT_ENSURE(op_value >= 0 && op_value <= static_cast<int>(tflite::BuiltinOperator::MAX),
                   StatusCode::kUnsupported, "node %d: unknown builtin operator code %d", i,
                   op_value);
    node_names_[i] = OpName(node.op);

    auto check_list = [&](const flatbuffers::Vector<int32_t>* list, const int32_t** ptr, int* n,
                          const char* what) -> Status {
      *ptr = nullptr;
      *n = 0;
      if (list == nullptr) return Status::Ok();
      for (int32_t t : *list) {
        EDGEOPT_ENSURE(t >= -1 && t < num_tensors, StatusCode::kInvalidModel,
                       "node %d (%s): %s tensor index %d out of range (the model has %d tensors)",
                       i, node_names_[i].c_str(), what, t, num_tensors);
      }
      *ptr = list->data();
      *n = static_cast<int>(list->size());
      return Status::Ok();
    };
    EDGEOPT_RETURN_IF_ERROR(check_list(op->inputs(), &node.inputs, &node.num_inputs, "input"));
    EDGEOPT_RETURN_IF_ERROR(check_list(op->outputs(), &node.outputs, &node.num_outputs, "output"));
    EDGEOPT_RETURN_IF_ERROR(check_list(op->intermediates(), &node.intermediates,
                                       &node.num_intermediates, "intermediate"));
    for (int k = 0; k < node.num_outputs; ++k) {
      const int t = node.outputs[k];
      if (t < 0) continue;
      EDGEOPT_ENSURE(tensors_[t].allocation != Allocation::kConstant, StatusCode::kInvalidModel,
                     "node %d (%s) writes constant tensor %d (%s)", i, node_names_[i].c_str(), t,
                     tensors_[t].name);
      EDGEOPT_ENSURE(producer[t] < 0, StatusCode::kInvalidModel,
                     "tensor %d (%s) is written by node %d and node %d", t, tensors_[t].name,
                     producer[t], i);
      producer[t] = i;
    }
    const Registration* reg = LookupBuiltin(node.op);
    EDGEOPT_ENSURE(reg != nullptr, StatusCode::kUnsupported,
                   "node %d: unsupported op %s (version %d)", i, node_names_[i].c_str(),
                   node.version);
    registrations_[i] = reg;
  }
  // Hybrid ops: a float first input and an int8 constant input (weights).
  for (int i = 0; i < num_ops && !has_hybrid_ops_; ++i) {
    const Node& node = nodes_[i];
    if (node.num_inputs < 2 || node.inputs[0] < 0) continue;
    if (tensors_[node.inputs[0]].type != DType::kFloat32) continue;
    for (int k = 1; k < node.num_inputs; ++k) {
      const int t = node.inputs[k];
      if (t >= 0 && tensors_[t].type == DType::kInt8 &&
          tensors_[t].allocation == Allocation::kConstant) {
        has_hybrid_ops_ = true;
      }
    }
  }
  // Tensors that are read but never written, are not inputs, constants or variables: TFLite
  // leaves them uninitialized; we give them zeros that persist.
  std::vector<uint8_t> is_input(num_tensors, 0);
  for (int t : inputs_) is_input[t] = 1;
  for (int i = 0; i < num_ops; ++i) {
    const Node& node = nodes_[i];
    for (int k = 0; k < node.num_inputs; ++k) {
      const int t = node.inputs[k];
      if (t < 0 || is_input[t] || producer[t] >= 0) continue;
      Tensor& tensor = tensors_[t];
      if (tensor.allocation != Allocation::kNone) continue;
      if (DTypeSize(tensor.type) == 0) continue;  // strings etc.: the kernel will refuse
      tensor.data = static_cast<uint8_t*>(AllocatePersistent(tensor.bytes));
      EDGEOPT_ENSURE(tensor.data != nullptr, StatusCode::kOutOfMemory, "out of memory");
      std::memset(tensor.data, 0, tensor.bytes);
      tensor.allocation = Allocation::kPersistent;
    }
    for (int k = 0; k < node.num_inputs; ++k) {
      const int t = node.inputs[k];
      if (t >= 0 && producer[t] >= i) {
        return MakeStatus(StatusCode::kInvalidModel,
                          "node %d (%s) reads tensor %d (%s) before node %d writes it", i,
                          node_names_[i].c_str(), t, tensors_[t].name, producer[t]);
      }
    }
  }
  return Status::Ok();
}

const char* Interpreter::node_name(int i) const { return node_names_[i].c_str(); }

const char* Interpreter::node_kernel(int i) const {
  const Registration* reg = registrations_[i];
  if (reg == nullptr || reg->kernel_info == nullptr || nodes_[i].user_data == nullptr) return "";
  const char* info = reg->kernel_info(&nodes_[i]);
  return info != nullptr ? info : "";
}

Status Interpreter::ResizeTensor(Tensor* tensor, const Dims& dims) {
  EDGEOPT_ENSURE(phase_ == Phase::kPrepare, StatusCode::kInternal, "ResizeTensor outside Prepare");
  EDGEOPT_ENSURE(tensor->allocation != Allocation::kConstant, StatusCode::kInvalidModel,
                 "cannot resize constant tensor %s", tensor->name);
  EDGEOPT_ENSURE(dims.size >= 0 && dims.size <= kMaxDims, StatusCode::kUnsupported,
                 "tensor %s: rank %d is not supported", tensor->name, dims.size);
  ElementCount count(kMaxTensorBytes);
  for (int d = 0; d < dims.size; ++d) {
    EDGEOPT_ENSURE(dims.data[d] >= 0, StatusCode::kInvalidModel, "tensor %s: negative dimension %d",
                   tensor->name, dims.data[d]);
    EDGEOPT_ENSURE(count.Add(static_cast<uint64_t>(dims.data[d])), StatusCode::kInvalidModel,
                   "tensor %s would be too large", tensor->name);
  }
  const uint64_t bytes = count.elements() * DTypeSize(tensor->type);
  EDGEOPT_ENSURE(bytes <= kMaxTensorBytes, StatusCode::kInvalidModel,
                 "tensor %s would be too large", tensor->name);
  if (tensor->allocation == Allocation::kPersistent) {
    EDGEOPT_ENSURE(bytes == tensor->bytes, StatusCode::kInvalidModel,
                   "variable tensor %s cannot change size", tensor->name);
  }
  tensor->dims = dims;
  tensor->bytes = static_cast<size_t>(bytes);
  return Status::Ok();
}

Status Interpreter::MakePersistentConstant(Tensor* tensor) {
  EDGEOPT_ENSURE(phase_ == Phase::kPrepare && current_node_ >= 0, StatusCode::kInternal,
                 "MakePersistentConstant outside Prepare");
  const Node& node = nodes_[current_node_];
  bool is_output = false;
  for (int k = 0; k < node.num_outputs; ++k) {
    if (node.outputs[k] >= 0 && &tensors_[node.outputs[k]] == tensor) is_output = true;
  }
  EDGEOPT_ENSURE(is_output, StatusCode::kInternal,
                 "MakePersistentConstant on a tensor that is not an output of node %d",
                 current_node_);
  EDGEOPT_ENSURE(tensor->allocation == Allocation::kNone, StatusCode::kInvalidModel,
                 "tensor %s cannot be made constant", tensor->name);
  tensor->data = static_cast<uint8_t*>(AllocatePersistent(tensor->bytes));
  EDGEOPT_ENSURE(tensor->data != nullptr, StatusCode::kOutOfMemory, "out of memory");
  std::memset(tensor->data, 0, tensor->bytes);
  tensor->allocation = Allocation::kConstant;
  tensor->folded = true;
  return Status::Ok();
}

Status Interpreter::RequestScratch(size_t bytes, int* scratch_index) {
  EDGEOPT_ENSURE(phase_ == Phase::kPrepare && current_node_ >= 0, StatusCode::kInternal,
                 "RequestScratch outside Prepare");
  EDGEOPT_ENSURE(bytes <= kMaxTensorBytes, StatusCode::kInvalidModel,
                 "scratch request of %zu bytes is too large", bytes);
  *scratch_index = static_cast<int>(scratch_.size());
  scratch_.push_back(Scratch{current_node_, bytes, nullptr});
  return Status::Ok();
}

void* Interpreter::GetScratch(int scratch_index) {
  if (scratch_index < 0 || scratch_index >= static_cast<int>(scratch_.size())) return nullptr;
  return scratch_[scratch_index].data;
}

Status Interpreter::PrepareAll() {
  phase_ = Phase::kPrepare;
  folded_.assign(nodes_.size(), 0);
  for (int i = 0; i < static_cast<int>(nodes_.size()); ++i) {
    current_node_ = i;
    Node& node = nodes_[i];
    const Registration* reg = registrations_[i];
    if (reg->init != nullptr) node.user_data = reg->init(this, &node);
    Status s = reg->prepare(this, &node);
    if (!s.ok()) {
      return s.WithPrefix("node " + std::to_string(i) + " (" + node_names_[i] + ")");
    }
    bool folded = false;
    EDGEOPT_RETURN_IF_ERROR(TryFold(i, &folded));
    if (options_.release_constant_pages) ReleaseConstantPages(node);
  }
  current_node_ = -1;
  return Status::Ok();
}

void Interpreter::ReleaseConstantPages(const Node& node) {
#if defined(__linux__)
  static const uintptr_t page = static_cast<uintptr_t>(sysconf(_SC_PAGESIZE));
  if (page == 0 || (page & (page - 1)) != 0) return;
  const uintptr_t model_begin = reinterpret_cast<uintptr_t>(data_);
  const uintptr_t model_end = model_begin + size_;
  for (int k = 0; k < node.num_inputs; ++k) {
    const int t = node.inputs[k];
    if (t < 0 || tensors_[t].allocation != Allocation::kConstant) continue;
    const uintptr_t begin = reinterpret_cast<uintptr_t>(tensors_[t].data);
    const uintptr_t end = begin + tensors_[t].bytes;
    if (begin < model_begin || end > model_end) continue;  // folded: not in the file
    const uintptr_t first = (begin + page - 1) & ~(page - 1);
    const uintptr_t last = end & ~(page - 1);
    if (last > first) madvise(reinterpret_cast<void*>(first), last - first, MADV_DONTNEED);
  }
#else
  (void)node;
#endif
}

// A node whose inputs are all constant is evaluated once, now, and its outputs become
// constants (shape computations, DEQUANTIZE of float16 weights, ...). Nodes that asked for
// scratch memory or touch variables are left to Invoke.
Status Interpreter::TryFold(int node_index, bool* folded) {
  *folded = false;
  Node& node = nodes_[node_index];
  for (const Scratch& s : scratch_) {
    if (s.node == node_index) return Status::Ok();
  }
  for (int k = 0; k < node.num_inputs; ++k) {
    const int t = node.inputs[k];
    if (t < 0) continue;
    if (tensors_[t].allocation != Allocation::kConstant) return Status::Ok();
    if (tensors_[t].sparsity != nullptr && node.op != tflite::BuiltinOperator::DENSIFY) {
      return Status::Ok();
    }
  }
  bool all_outputs_constant = true;
  for (int k = 0; k < node.num_outputs; ++k) {
    const int t = node.outputs[k];
    if (t < 0) continue;
    Tensor& out = tensors_[t];
    if (out.is_variable || DTypeSize(out.type) == 0) return Status::Ok();
    if (out.allocation != Allocation::kConstant) all_outputs_constant = false;
  }
  if (!all_outputs_constant) {
    for (int k = 0; k < node.num_outputs; ++k) {
      const int t = node.outputs[k];
      if (t < 0 || tensors_[t].allocation == Allocation::kConstant) continue;
      EDGEOPT_RETURN_IF_ERROR(MakePersistentConstant(&tensors_[t]));
    }
    Status s = registrations_[node_index]->eval(this, &node);
    if (!s.ok()) {
      return s.WithPrefix("node " + std::to_string(node_index) + " (" + node_names_[node_index] +
                          ")");
    }
  }
  folded_[node_index] = 1;
  *folded = true;
  return Status::Ok();
}

std::vector<int> Interpreter::CountReaders() const {
  std::vector<int> readers(tensors_.size(), 0);
  for (size_t i = 0; i < nodes_.size(); ++i) {
    if (folded_[i]) continue;
    for (int k = 0; k < nodes_[i].num_inputs; ++k) {
      if (nodes_[i].inputs[k] >= 0) ++readers[nodes_[i].inputs[k]];
    }
  }
  for (int t : outputs_) ++readers[t];  // a graph output is read by the caller
  return readers;
}

// ADD(x, r) -> y, where x is the only output of node P, the last node run before the ADD, and
// nothing else reads x: when P's kernel accepts the ADD (Registration::fuse_add), P reads r as an
// extra last input and writes y, and the ADD no longer runs. P's results are the same values
// (the ADD's float sum and clamp, or its int8/uint8 microkernel, on the same operands), without
// the round trip through x.
void Interpreter::FuseAdds() {
  if constexpr (!OpInBuild("ADD") || !(TypeInBuild("ADD", "float32") ||
                                       TypeInBuild("ADD", "int8") || TypeInBuild("ADD", "uint8"))) {
    return;
  }
  const int num_nodes = static_cast<int>(nodes_.size());
  const std::vector<int> readers = CountReaders();
  std::vector<uint8_t> has_add(num_nodes, 0);
  int prev = -1;  // the last node run before node a
  for (int a = 0; a < num_nodes; prev = folded_[a] ? prev : a, ++a) {
    Node& add = nodes_[a];
    if (folded_[a] || prev < 0 || add.op != tflite::BuiltinOperator::ADD) continue;
    if (add.num_inputs != 2 || add.num_outputs != 1) continue;
    const int in0 = add.inputs[0], in1 = add.inputs[1], y = add.outputs[0];
    if (in0 < 0 || in1 < 0 || y < 0 || in0 == in1) continue;
    const Tensor& out = tensors_[y];
    const DType type = out.type;
    if (tensors_[in0].type != type || tensors_[in1].type != type ||
        tensors_[in0].dims != out.dims || tensors_[in1].dims != out.dims) {
      continue;
    }
    FusedAdd fused;
    if (type == DType::kFloat32) {
      const auto* options = add.op_def->builtin_options_as_AddOptions();
      const int activation =
          options != nullptr ? static_cast<int>(options->fused_activation_function()) : 0;
      if (activation < 0 || activation > 3) continue;  // NONE, RELU, RELU_N1_TO_1, RELU6
      quant::ActivationRangeFloat(activation, &fused.act_min, &fused.act_max);
    } else if (type == DType::kInt8 || type == DType::kUInt8) {
      // The ADD's prepared microkernel, which the producer runs; none (a broadcast, the
      // reference kernels): the ops stay apart.
      const Registration* add_reg = registrations_[a];
      if (add_reg->quant_add == nullptr || !add_reg->quant_add(&add, &fused)) continue;
    } else {
      continue;
    }
    Node& p = nodes_[prev];
    const Registration* reg = registrations_[prev];
    if (reg->fuse_add == nullptr || has_add[prev] || p.num_outputs != 1) continue;
    const int x = p.outputs[0];
    if (x != in0 && x != in1) continue;
    const int r = x == in0 ? in1 : in0;
    fused.residual = r;
    fused.residual_first = r == in0;
    if (readers[x] != 1 || tensors_[x].allocation != Allocation::kNone ||
        tensors_[r].allocation == Allocation::kConstant || tensors_[r].is_variable) {
      continue;
    }
    // The node's lists point into the model file: the new ones live with the interpreter.
    int32_t* lists =
        static_cast<int32_t*>(AllocatePersistent(sizeof(int32_t) * (p.num_inputs + 2)));
    if (lists == nullptr) return;  // out of memory: the ops stay apart
    current_node_ = prev;
    const bool accepted = reg->fuse_add(this, &p, fused);
    current_node_ = -1;
    if (!accepted) continue;
    std::copy(p.inputs, p.inputs + p.num_inputs, lists);
    lists[p.num_inputs] = r;
    lists[p.num_inputs + 1] = y;
    p.inputs = lists;
    ++p.num_inputs;
    p.outputs = lists + p.num_inputs;
    node_names_[prev] += "+ADD";
    folded_[a] = kFused;
    has_add[prev] = 1;
  }
}

// RELU, RELU_N1_TO_1 or RELU6 (float) of x -> y, where x is the only output of node P, the last
// node run before the activation, and nothing else reads x: when P's kernel accepts it
// (Registration::fuse_activation), P writes y, clamped, and the activation no longer runs (one
// pass over the tensor less). For ops whose TFLite options have no fused activation
// (TRANSPOSE_CONV in TFLite 2.9), which converters follow with a separate one.
void Interpreter::FuseActivations() {
  const int num_nodes = static_cast<int>(nodes_.size());
  const std::vector<int> readers = CountReaders();
  int prev = -1;  // the last node run before node a
  for (int a = 0; a < num_nodes; prev = folded_[a] ? prev : a, ++a) {
    const Node& act = nodes_[a];
    float lo = 0.0f, hi = INFINITY;
    if (act.op == tflite::BuiltinOperator::RELU6) {
      hi = 6.0f;
    } else if (act.op == tflite::BuiltinOperator::RELU_N1_TO_1) {
      lo = -1.0f;
      hi = 1.0f;
    } else if (act.op != tflite::BuiltinOperator::RELU) {
      continue;
    }
    if (folded_[a] || prev < 0 || act.num_inputs != 1 || act.num_outputs != 1) continue;
    Node& p = nodes_[prev];
    const Registration* reg = registrations_[prev];
    const int x = act.inputs[0], y = act.outputs[0];
    if (reg->fuse_activation == nullptr || p.num_outputs != 1 || p.outputs[0] != x || y < 0 ||
        x == y) {
      continue;
    }
    const Tensor& tx = tensors_[x];
    if (readers[x] != 1 || tx.allocation != Allocation::kNone || tx.type != DType::kFloat32 ||
        tensors_[y].type != DType::kFloat32 || tensors_[y].dims != tx.dims) {
      continue;
    }
    int32_t* outputs = static_cast<int32_t*>(AllocatePersistent(sizeof(int32_t)));
    if (outputs == nullptr) return;  // out of memory: the ops stay apart
    current_node_ = prev;
    const bool accepted = reg->fuse_activation(this, &p, lo, hi);
    current_node_ = -1;
    if (!accepted) continue;
    outputs[0] = y;
    p.outputs = outputs;
    node_names_[prev] +=
        act.op == tflite::BuiltinOperator::RELU
            ? "+RELU"
            : (act.op == tflite::BuiltinOperator::RELU6 ? "+RELU6" : "+RELU_N1_TO_1");
    folded_[a] = kFused;
  }
}

Status Interpreter::PlanMemory() {
  const int num_nodes = static_cast<int>(nodes_.size());
  const int last_node = std::max(num_nodes - 1, 0);
  const int num_tensors = static_cast<int>(tensors_.size());
  std::vector<int> first(num_tensors, INT_MAX), last(num_tensors, -1);
  for (int t : inputs_) {
    first[t] = 0;
    last[t] = last_node;
  }
  for (int i = 0; i < num_nodes; ++i) {
    if (folded_[i]) continue;
    const Node& node = nodes_[i];
    for (int k = 0; k < node.num_outputs; ++k) {
      const int t = node.outputs[k];
      if (t < 0) continue;
      first[t] = std::min(first[t], i);
      last[t] = std::max(last[t], i);
    }
    for (int k = 0; k < node.num_inputs; ++k) {
      const int t = node.inputs[k];
      if (t < 0) continue;
      first[t] = std::min(first[t], i);
      last[t] = std::max(last[t], i);
    }
    // Intermediates only carry quantization parameters (TFLite's integer LSTM): no memory.
  }
  for (int t : outputs_) {
    if (first[t] == INT_MAX) first[t] = 0;
    last[t] = last_node;
  }

  std::vector<BufferRequest> requests;
  std::vector<TensorPlacement> owners;
  for (int t = 0; t < num_tensors; ++t) {
    Tensor& tensor = tensors_[t];
    if (tensor.allocation != Allocation::kNone) continue;
    if (first[t] == INT_MAX || last[t] < 0) continue;  // never used
    BufferRequest r;
    r.bytes = tensor.bytes;
    r.first_use = first[t];
    r.last_use = last[t];
    requests.push_back(r);
    TensorPlacement p;
    p.tensor = t;
    p.bytes = tensor.bytes;
    p.first_use = r.first_use;
    p.last_use = r.last_use;
    owners.push_back(p);
  }
  for (int s = 0; s < static_cast<int>(scratch_.size()); ++s) {
    if (folded_[scratch_[s].node]) continue;
    BufferRequest r;
    r.bytes = scratch_[s].bytes;
    r.first_use = r.last_use = scratch_[s].node;
    requests.push_back(r);
    TensorPlacement p;
    p.tensor = -1 - s;
    p.node = scratch_[s].node;
    p.bytes = r.bytes;
    p.first_use = p.last_use = r.first_use;
    owners.push_back(p);
  }
  // The planners add sizes in size_t: on a 32-bit target a model whose buffers add up to more
  // than the address space would wrap offsets around (64-bit targets cannot get there).
  uint64_t total = 0;
  for (const BufferRequest& r : requests) {
    total += AlignUp(std::max<size_t>(r.bytes, 1), kArenaAlignment);
  }
  EDGEOPT_ENSURE(total <= SIZE_MAX / 2, StatusCode::kOutOfMemory,
                 "the model's buffers add up to %llu bytes, more than this target can address",
                 static_cast<unsigned long long>(total));
  const MemoryPlan plan = options_.linear_planner ? PlanLinear(requests, kArenaAlignment)
                                                  : PlanGreedy(requests, kArenaAlignment);
  arena_bytes_ = plan.arena_bytes;
  EDGEOPT_ENSURE(arena_bytes_ <= options_.max_memory_bytes, StatusCode::kOutOfMemory,
                 "the model needs an arena of %zu bytes, more than the limit of %zu", arena_bytes_,
                 options_.max_memory_bytes);
  void* arena = nullptr;
  if (posix_memalign(&arena, kArenaAlignment, std::max<size_t>(arena_bytes_, kArenaAlignment)) !=
      0) {
    return MakeStatus(StatusCode::kOutOfMemory, "cannot allocate an arena of %zu bytes",
                      arena_bytes_);
  }
  arena_ = static_cast<uint8_t*>(arena);
  std::memset(arena_, 0, std::max<size_t>(arena_bytes_, kArenaAlignment));
  placements_.clear();
  for (size_t k = 0; k < owners.size(); ++k) {
    TensorPlacement p = owners[k];
    p.offset = plan.offsets[k];
    if (p.tensor >= 0) {
      tensors_[p.tensor].data = arena_ + p.offset;
      tensors_[p.tensor].allocation = Allocation::kArena;
    } else {
      scratch_[-1 - p.tensor].data = arena_ + p.offset;
      p.tensor = -1;
    }
    placements_.push_back(p);
  }
  profile_.assign(nodes_.size(), NodeProfile());
  return Status::Ok();
}

void Interpreter::ResetVariables() {
  for (Tensor& t : tensors_) {
    if (t.is_variable && t.data != nullptr) ResetVariable(&t);
  }
}

void Interpreter::ClearProfile() { profile_.assign(nodes_.size(), NodeProfile()); }

Status Interpreter::Invoke() {
  EDGEOPT_ENSURE(phase_ == Phase::kReady, StatusCode::kInternal, "Invoke before Prepare");
  const int num_nodes = static_cast<int>(nodes_.size());
  for (int i = 0; i < num_nodes; ++i) {
    if (folded_[i]) continue;
    current_node_ = i;
    Node& node = nodes_[i];
    if (options_.poison_scratch) {
      for (const Scratch& scratch : scratch_) {
        if (scratch.node == i && scratch.data != nullptr)
          std::memset(scratch.data, 0xFF, scratch.bytes);
      }
    }
    Status s;
    if (options_.profile) {
      const auto start = std::chrono::steady_clock::now();
      s = registrations_[i]->eval(this, &node);
      const auto end = std::chrono::steady_clock::now();
      const double us = std::chrono::duration<double, std::micro>(end - start).count();
      profile_[i].total_us += us;
      profile_[i].min_us = profile_[i].count == 0 ? us : std::min(profile_[i].min_us, us);
      ++profile_[i].count;
    } else {
      s = registrations_[i]->eval(this, &node);
    }
    if (!s.ok()) {
      current_node_ = -1;
      return s.WithPrefix("node " + std::to_string(i) + " (" + node_names_[i] + ")");
    }
  }
  current_node_ = -1;
  return Status::Ok();
}

}  // namespace rt
}  // namespace edgeopt
