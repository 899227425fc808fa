// edgeopt inspect MODEL: what is inside a model. For .tflite: inputs/outputs, ops with versions,
// the share of zero weights per layer (pruning; dense or sparse-encoded), tensors (dtype, shape,
// quantization, sparsity), parameters, file size, MACs and the planned arena; --memory prints
// the arena plan. .h5/.keras go to the Keras inspector.
#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "CLI/CLI.hpp"
#include "src/runtime/interpreter.h"
#include "src/runtime/kernels/sparse_matmul.h"
#include "src/runtime/model_stats.h"
#include "tools/cli/cli_util.h"
#include "tools/cli/commands.h"

namespace edgeopt {
namespace cli {
namespace {

std::string QuantString(const rt::Tensor& t) {
  if (!t.quant.IsQuantized()) return "";
  char buf[160];
  if (t.quant.IsPerChannel()) {
    float lo = t.quant.scales[0], hi = t.quant.scales[0];
    for (int c = 1; c < t.quant.num_channels; ++c) {
      lo = std::min(lo, t.quant.scales[c]);
      hi = std::max(hi, t.quant.scales[c]);
    }
    std::snprintf(buf, sizeof(buf), "per-channel axis=%d n=%d scale=[%.4g..%.4g]", t.quant.axis,
                  t.quant.num_channels, lo, hi);
  } else {
    std::snprintf(buf, sizeof(buf), "scale=%.6g zero_point=%d", t.quant.scale, t.quant.zero_point);
  }
  return buf;
}

std::string TensorLine(const rt::Tensor& t) {
  std::string s = std::string(DTypeName(t.type)) + " " + DimsString(t.dims);
  const std::string q = QuantString(t);
  if (!q.empty()) s += "  " + q;
  return s;
}

std::string HumanCount(double n) {
  char buf[32];
  if (n >= 1e9) {
    std::snprintf(buf, sizeof(buf), "%.2fG", n / 1e9);
  } else if (n >= 1e6) {
    std::snprintf(buf, sizeof(buf), "%.2fM", n / 1e6);
  } else if (n >= 1e3) {
    std::snprintf(buf, sizeof(buf), "%.1fK", n / 1e3);
  } else {
    std::snprintf(buf, sizeof(buf), "%.0f", n);
  }
  return buf;
}

// Nonzero elements of a constant: of its dense data, or of the values a sparse tensor stores
// (uint8 counts its zero point as zero). -1 for types without a notion of zero here.
int64_t NonZeros(const rt::Tensor& t) {
  const size_t elem = DTypeSize(t.type);
  if (elem == 0 || t.data == nullptr) return -1;
  const int64_t n =
      t.sparsity != nullptr ? static_cast<int64_t>(t.bytes / elem) : t.dims.NumElements();
  int64_t nonzero = 0;
  for (int64_t i = 0; i < n; ++i) {
    switch (t.type) {
      case DType::kFloat32:
        nonzero += t.Data<float>()[i] != 0.0f;
        break;
      case DType::kFloat16:
        nonzero += (t.Data<uint16_t>()[i] & 0x7FFF) != 0;
        break;
      case DType::kInt8:
        nonzero += t.Data<int8_t>()[i] != 0;
        break;
      case DType::kUInt8:
        nonzero += t.Data<uint8_t>()[i] != t.quant.zero_point;
        break;
      default:
        return -1;
    }
  }
  return nonzero;
}

// Distinct values among the values a constant stores (+0 and -0 once; float16, int8, uint8,
// int16 by their bits): a clustered layer's are few. -1 for other types.
int64_t DistinctValues(const rt::Tensor& t) {
  const size_t elem = DTypeSize(t.type);
  if (elem == 0 || t.data == nullptr) return -1;
  const int64_t n =
      t.sparsity != nullptr ? static_cast<int64_t>(t.bytes / elem) : t.dims.NumElements();
  std::vector<uint32_t> bits(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) {
    switch (t.type) {
      case DType::kFloat32: {
        const float v = t.Data<float>()[i];
        std::memcpy(&bits[i], &v, 4);
        if (v == 0.0f) bits[i] = 0;
        break;
      }
      case DType::kFloat16:
        bits[i] = (t.Data<uint16_t>()[i] & 0x7FFF) == 0 ? 0 : t.Data<uint16_t>()[i];
        break;
      case DType::kInt8:
      case DType::kUInt8:
        bits[i] = t.Data<uint8_t>()[i];
        break;
      case DType::kInt16:
        bits[i] = t.Data<uint16_t>()[i];
        break;
      default:
        return -1;
    }
  }
  std::sort(bits.begin(), bits.end());
  return std::unique(bits.begin(), bits.end()) - bits.begin();
}

// Per layer with weights (CONV_2D, DEPTHWISE_CONV_2D, FULLY_CONNECTED, TRANSPOSE_CONV): the
// share of zero weights and how they are stored (dense, sparse-encoded and read directly, or
// sparse-encoded and expanded by DENSIFY).
void PrintWeightSparsity(rt::Interpreter* interp) {
  using Op = tflite::BuiltinOperator;
  std::vector<int> densified(static_cast<size_t>(interp->num_tensors()), -1);
  for (int i = 0; i < interp->num_nodes(); ++i) {
    const rt::Node& node = interp->node(i);
    if (node.op == Op::DENSIFY && node.num_inputs == 1 && node.num_outputs == 1 &&
        node.outputs[0] >= 0) {
      densified[node.outputs[0]] = node.inputs[0];
    }
  }
  std::vector<std::string> lines;
  int64_t total = 0, total_nonzero = 0;
  for (int i = 0; i < interp->num_nodes(); ++i) {
    const rt::Node& node = interp->node(i);
    constexpr int k = 1;  // the weights (TRANSPOSE_CONV: after output_shape)
    if ((node.op != Op::CONV_2D && node.op != Op::DEPTHWISE_CONV_2D &&
         node.op != Op::FULLY_CONNECTED && node.op != Op::TRANSPOSE_CONV) ||
        node.num_inputs <= k || node.inputs[k] < 0) {
      continue;
    }
    const rt::Tensor* w = interp->tensor(node.inputs[k]);
    if (!w->IsConstant()) continue;
    const int64_t nonzero = NonZeros(*w);
    const int64_t n = w->dims.NumElements();
    if (nonzero < 0 || n == 0) continue;
    total += n;
    total_nonzero += nonzero;
    const char* stored = densified[node.inputs[k]] >= 0 ? "sparse (DENSIFY)"
                         : w->sparsity != nullptr       ? "sparse"
                                                        : "dense";
    const int64_t distinct = DistinctValues(*w);
    char buf[256];
    std::snprintf(buf, sizeof(buf), "  %4d  %-18s %-20s %7.1f%%  %10lld  %8s  %s", i,
                  interp->node_name(i), DimsString(w->dims).c_str(),
                  100.0 * static_cast<double>(n - nonzero) / static_cast<double>(n),
                  static_cast<long long>(nonzero),
                  distinct >= 0 ? std::to_string(distinct).c_str() : "-", stored);
    lines.push_back(buf);
  }
  if (lines.empty()) return;
  std::printf(
      "weight sparsity per layer (values: distinct ones, few when clustered):\n"
      "  %4s  %-18s %-20s %8s  %10s  %8s  %s\n",
      "#", "op", "weights", "zeros", "nonzeros", "values", "stored");
  for (const std::string& l : lines) std::printf("%s\n", l.c_str());
  std::printf("  all layers: %.1f%% zeros (%lld of %lld weights nonzero)\n",
              100.0 * static_cast<double>(total - total_nonzero) / static_cast<double>(total),
              static_cast<long long>(total_nonzero), static_cast<long long>(total));
}

int InspectTflite(const std::string& path, bool memory, bool all_tensors) {
  rt::InterpreterOptions options;
  auto file = MappedFile::Open(path);
  if (!file.ok()) return ReportError("inspect", file.status());
  const MappedFile& f = **file;
  Status verified = rt::VerifyModelBuffer(f.data(), f.size());
  if (!verified.ok()) return ReportError("inspect", verified.WithPrefix(path));
  const tflite::Model* model = tflite::GetModel(f.data());
  std::printf("model: %s (%zu bytes, schema version %u)\n", path.c_str(), f.size(),
              model->version());
  if (model->description() != nullptr) {
    std::printf("description: %s\n", model->description()->c_str());
  }
  if (model->metadata() != nullptr) {
    std::string names;
    for (const auto* m : *model->metadata()) {
      if (m != nullptr && m->name() != nullptr) names += std::string(" ") + m->name()->c_str();
    }
    if (!names.empty()) std::printf("metadata:%s\n", names.c_str());
  }
  if (model->signature_defs() != nullptr) {
    for (const auto* sig : *model->signature_defs()) {
      if (sig == nullptr) continue;
      std::printf("signature: %s (subgraph %u)\n",
                  sig->signature_key() != nullptr ? sig->signature_key()->c_str() : "?",
                  sig->subgraph_index());
    }
  }
  const int num_subgraphs = model->subgraphs() != nullptr ? model->subgraphs()->size() : 0;
  if (num_subgraphs > 1) std::printf("subgraphs: %d (edgeopt runs subgraph 0)\n", num_subgraphs);

  auto loaded = rt::Interpreter::Create(f.data(), f.size(), options);
  if (!loaded.ok()) {
    // Still show what the file says about its operators.
    std::printf("operator codes:\n");
    if (model->operator_codes() != nullptr) {
      for (const auto* code : *model->operator_codes()) {
        if (code == nullptr) continue;
        const tflite::BuiltinOperator op = rt::BuiltinCodeOf(code);
        if (op == tflite::BuiltinOperator::CUSTOM) {
          std::printf("  CUSTOM %s\n",
                      code->custom_code() != nullptr ? code->custom_code()->c_str() : "?");
        } else {
          std::printf("  %s v%d\n", tflite::EnumNameBuiltinOperator(op), code->version());
        }
      }
    }
    return ReportError("inspect", loaded.status().WithPrefix(path));
  }
  rt::Interpreter* interp = loaded->get();
  std::printf("inputs: %d\n", interp->num_inputs());
  for (int i = 0; i < interp->num_inputs(); ++i) {
    const rt::Tensor* t = interp->input_tensor(i);
    std::printf("  [%d] %s  %s\n", i, t->name, TensorLine(*t).c_str());
  }
  std::printf("outputs: %d\n", interp->num_outputs());
  for (int i = 0; i < interp->num_outputs(); ++i) {
    const rt::Tensor* t = interp->output_tensor(i);
    std::printf("  [%d] %s  %s\n", i, t->name, TensorLine(*t).c_str());
  }

  const rt::ModelStats stats = rt::ComputeModelStats(interp);
  std::map<std::string, int> op_counts;
  std::printf("ops: %d nodes\n", interp->num_nodes());
  std::printf("  %4s  %-30s %10s  %s\n", "#", "op", "MACs", "inputs -> outputs");
  for (int i = 0; i < interp->num_nodes(); ++i) {
    const rt::Node& node = interp->node(i);
    const std::string name =
        std::string(interp->node_name(i)) + " v" + std::to_string(node.version);
    ++op_counts[name];
    std::string io;
    for (int k = 0; k < node.num_inputs; ++k) {
      io +=
          (k ? "," : "") + (node.inputs[k] < 0 ? std::string("-") : std::to_string(node.inputs[k]));
    }
    io += " -> ";
    for (int k = 0; k < node.num_outputs; ++k) {
      io += (k ? "," : "") + std::to_string(node.outputs[k]);
    }
    std::printf("  %4d  %-30s %10s  %s\n", i, name.c_str(),
                HumanCount(static_cast<double>(stats.node_macs[i])).c_str(), io.c_str());
  }
  std::printf("op summary:");
  for (const auto& [name, count] : op_counts) std::printf(" %s x%d,", name.c_str(), count);
  std::printf("\n");
  PrintWeightSparsity(interp);

  if (all_tensors) {
    std::printf("tensors: %d\n", interp->num_tensors());
    for (int t = 0; t < interp->num_tensors(); ++t) {
      const rt::Tensor* tensor = interp->tensor(t);
      std::string kind = tensor->allocation == rt::Allocation::kConstant     ? "const"
                         : tensor->allocation == rt::Allocation::kArena      ? "arena"
                         : tensor->allocation == rt::Allocation::kPersistent ? "var"
                                                                             : "-";
      std::string sparse;
      if (stats.tensor_sparsity[t] >= 0) {
        char buf[48];
        std::snprintf(buf, sizeof(buf), "  zeros=%.1f%%", 100.0 * stats.tensor_sparsity[t]);
        sparse = buf;
      }
      if (tensor->sparsity != nullptr) sparse += "  sparse-encoded";
      std::printf("  %4d %-5s %-48s %s%s\n", t, kind.c_str(), tensor->name,
                  TensorLine(*tensor).c_str(), sparse.c_str());
    }
  }
  std::printf("parameters: %s (%lld), in %s of constant data\n",
              HumanCount(static_cast<double>(stats.parameters)).c_str(),
              static_cast<long long>(stats.parameters),
              HumanCount(static_cast<double>(stats.constant_bytes)).c_str());
  std::printf("MACs per inference: %s (%lld)\n",
              HumanCount(static_cast<double>(stats.total_macs)).c_str(),
              static_cast<long long>(stats.total_macs));
  std::printf("arena: %zu bytes planned (greedy, tensor lifetimes); persistent: %zu bytes\n",
              interp->arena_bytes(), interp->persistent_bytes());
  if (memory) {
    std::printf("memory plan (offset, bytes, lifetime [first,last] node, tensor):\n");
    auto plan = interp->memory_plan();
    std::sort(plan.begin(), plan.end(),
              [](const rt::TensorPlacement& a, const rt::TensorPlacement& b) {
                return a.offset != b.offset ? a.offset < b.offset : a.first_use < b.first_use;
              });
    for (const auto& p : plan) {
      std::printf("  %10zu %10zu  [%3d,%3d]  %s\n", p.offset, p.bytes, p.first_use, p.last_use,
                  p.tensor >= 0 ? interp->tensor(p.tensor)->name
                                : ("scratch of node " + std::to_string(p.node)).c_str());
    }
  }
  return kExitOk;
}

// True when the sparse kernels may run CONV_2D or FULLY_CONNECTED `op`: its constant float32 or
// int8 weights have few enough nonzeros for one of them on some CPU (rt::DecideSparse, the
// runtime's own decision), or are stored sparse (TFLite sparsity: not measured here).
bool NeedsSparse(const tflite::Model* model, const tflite::SubGraph* subgraph,
                 const tflite::Operator* op) {
  const auto* tensors = subgraph->tensors();
  const auto* buffers = model->buffers();
  if (tensors == nullptr || op->inputs() == nullptr || op->inputs()->size() < 2 ||
      op->outputs() == nullptr || op->outputs()->size() < 1) {
    return false;
  }
  const int32_t w = op->inputs()->Get(1), o = op->outputs()->Get(0);
  if (w < 0 || o < 0 || static_cast<uint32_t>(w) >= tensors->size() ||
      static_cast<uint32_t>(o) >= tensors->size()) {
    return false;
  }
  const tflite::Tensor* weights = tensors->Get(w);
  const auto type = static_cast<DType>(weights->type());
  if (type != DType::kFloat32 && type != DType::kInt8) return false;
  if (weights->sparsity() != nullptr) return true;
  const auto* wshape = weights->shape();
  const auto* oshape = tensors->Get(o)->shape();
  if (wshape == nullptr || oshape == nullptr || wshape->size() < 2 || oshape->size() < 1) {
    return false;
  }
  const uint32_t b = weights->buffer();
  if (buffers == nullptr || b == 0 || b >= buffers->size()) return false;  // not constant
  const auto* data = buffers->Get(b)->data();
  if (data == nullptr) return buffers->Get(b)->size() > 0;  // stored outside: assume it may
  // Weights [N][K] (FULLY_CONNECTED) or [N][1][1][K] (1x1 CONV_2D); M rows of output.
  int64_t k = 1;
  for (uint32_t d = 1; d < wshape->size(); ++d) k *= wshape->Get(d);
  if (wshape->size() == 4 && (wshape->Get(1) != 1 || wshape->Get(2) != 1)) return false;
  int64_t m = 1;
  for (uint32_t d = 0; d + 1 < oshape->size(); ++d) m *= oshape->Get(d);
  const int64_t n = wshape->Get(0);
  const int64_t elem = type == DType::kFloat32 ? 4 : 1;
  if (m <= 0 || n <= 0 || k <= 0 || m > INT32_MAX || n * k > INT32_MAX ||
      static_cast<int64_t>(data->size()) < n * k * elem) {
    return false;
  }
  for (rt::SparseIsa isa : {rt::SparseIsa::kScalar, rt::SparseIsa::kAvx2, rt::SparseIsa::kAvx512,
                            rt::SparseIsa::kNeon}) {
    if (rt::DecideSparse(type, data->data(), static_cast<int>(m), static_cast<int>(n),
                         static_cast<int>(k), isa)
            .use) {
      return true;
    }
  }
  return false;
}

// The kernel types (src/runtime/selective.h) that `op` needs, as "OP:TYPE" entries: "hybrid"
// for float32 activations with constant int8 weights (the interpreter's rule); QUANTIZE its output
// type and its input type (float32 when it quantizes float values); every other op its first
// input's type; and "sparse" where the sparse kernels may run the op (NeedsSparse) or where an
// input is a sparse-format tensor, which the op densifies at prepare time (DensifyIfSparse).
void AddKernelTypes(const tflite::Model* model, const tflite::SubGraph* subgraph,
                    const tflite::Operator* op, const std::string& name,
                    std::set<std::string>* types) {
  const auto* tensors = subgraph->tensors();
  auto tensor_type = [&](const flatbuffers::Vector<int32_t>* list, uint32_t k, DType* type) {
    if (list == nullptr || k >= list->size() || tensors == nullptr) return false;
    const int32_t t = list->Get(k);
    if (t < 0 || static_cast<uint32_t>(t) >= tensors->size()) return false;
    *type = static_cast<DType>(tensors->Get(t)->type());
    return true;
  };
  auto is_constant = [&](uint32_t k) {
    const int32_t t = op->inputs()->Get(k);
    const uint32_t b = tensors->Get(t)->buffer();
    const auto* buffers = model->buffers();
    return b != 0 && buffers != nullptr && b < buffers->size() &&
           buffers->Get(b)->data() != nullptr && buffers->Get(b)->data()->size() > 0;
  };
  DType in = DType::kFloat32, out = DType::kFloat32;
  const bool has_in = tensor_type(op->inputs(), 0, &in);
  const bool has_out = tensor_type(op->outputs(), 0, &out);
  if (!has_in && !has_out) return;
  if (!has_in) in = out;
  bool hybrid = false;
  for (uint32_t k = 1; in == DType::kFloat32 && op->inputs() != nullptr && k < op->inputs()->size();
       ++k) {
    DType w;
    if (tensor_type(op->inputs(), k, &w) && w == DType::kInt8 && is_constant(k)) hybrid = true;
  }
  bool sparse_input = false;  // DENSIFY decodes its input without the "sparse" code
  for (uint32_t k = 0; name != "DENSIFY" && op->inputs() != nullptr && k < op->inputs()->size();
       ++k) {
    const int32_t t = op->inputs()->Get(k);
    if (tensors != nullptr && t >= 0 && static_cast<uint32_t>(t) < tensors->size() &&
        tensors->Get(t)->sparsity() != nullptr) {
      sparse_input = true;
    }
  }
  if (sparse_input || (!hybrid && (name == "CONV_2D" || name == "FULLY_CONNECTED") &&
                       NeedsSparse(model, subgraph, op))) {
    types->insert(name + ":sparse");
  }
  if (hybrid) {
    types->insert(name + ":hybrid");
  } else if (name == "QUANTIZE") {
    if (has_out) types->insert(name + ":" + DTypeName(out));
    types->insert(name + ":" + DTypeName(in));
  } else {
    types->insert(name + ":" + DTypeName(in));
  }
}

// The distinct builtin ops of every subgraph, ';'-separated: the EDGEOPT_OPS list of a selective
// runtime build (`make runtime-for MODEL=...`); with `types`, the kernel types they need instead
// (EDGEOPT_TYPES). Custom ops are an error: no build has them.
int PrintOpList(const std::string& path, bool types) {
  auto file = MappedFile::Open(path);
  if (!file.ok()) return ReportError("inspect", file.status());
  const MappedFile& f = **file;
  Status verified = rt::VerifyModelBuffer(f.data(), f.size());
  if (!verified.ok()) return ReportError("inspect", verified.WithPrefix(path));
  const tflite::Model* model = tflite::GetModel(f.data());
  const auto* codes = model->operator_codes();
  std::set<std::string> ops;
  if (model->subgraphs() != nullptr) {
    for (const auto* subgraph : *model->subgraphs()) {
      if (subgraph == nullptr || subgraph->operators() == nullptr) continue;
      for (const auto* op : *subgraph->operators()) {
        if (op == nullptr || codes == nullptr || op->opcode_index() >= codes->size()) continue;
        const auto* code = codes->Get(op->opcode_index());
        const tflite::BuiltinOperator builtin = rt::BuiltinCodeOf(code);
        if (builtin == tflite::BuiltinOperator::CUSTOM) {
          return ReportError("inspect",
                             MakeStatus(StatusCode::kUnsupported, "%s: custom op %s", path.c_str(),
                                        code->custom_code() ? code->custom_code()->c_str() : "?"));
        }
        const std::string name = tflite::EnumNameBuiltinOperator(builtin);
        if (types) {
          AddKernelTypes(model, subgraph, op, name, &ops);
        } else {
          ops.insert(name);
        }
      }
    }
  }
  std::string list;
  for (const std::string& name : ops) list += (list.empty() ? "" : ";") + name;
  std::printf("%s\n", list.c_str());
  return 0;
}

}  // namespace

int RunInspect(int argc, char** argv) {
  CLI::App app{
      "Show what is inside a model: .tflite (ops, tensors, parameters, MACs, arena) or "
      "Keras .h5/.keras (layers, shapes, parameters, what converts to what).",
      "edgeopt inspect"};
  std::string model;
  bool memory = false;
  bool no_tensors = false;
  app.add_option("model", model, "a .tflite, .h5 or .keras file")->required();
  app.add_flag("--memory", memory, "print the arena plan (offsets and lifetimes)");
  app.add_flag("--no-tensors", no_tensors, "leave out the tensor table");
  bool op_list = false;
  app.add_flag("--ops", op_list,
               "print only the model's builtin ops, ';'-separated (for a selective runtime build: "
               "cmake -DEDGEOPT_OPS=...)");
  bool type_list = false;
  app.add_flag("--types", type_list,
               "print only the kernel types the model's ops need, ';'-separated OP:TYPE entries "
               "(for a selective runtime build: cmake -DEDGEOPT_TYPES=...)");
  EDGEOPT_CLI_PARSE(app, argc, argv);
  const std::string ext = FileExtension(model);
  if (op_list || type_list) return PrintOpList(model, type_list);
  if (ext == ".h5" || ext == ".hdf5" || ext == ".keras") return InspectKeras(model);
  return InspectTflite(model, memory, !no_tensors);
}

}  // namespace cli
}  // namespace edgeopt
