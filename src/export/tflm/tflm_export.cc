#include "src/export/tflm/tflm_export.h"

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <map>
#include <set>

#include "schema/tflite_generated.h"
#include "schema/tflm_compression_generated.h"
#include "src/core/dtype.h"
#include "src/runtime/interpreter.h"
#include "src/runtime/lut_decode.h"
#include "src/runtime/memory/greedy_planner.h"

namespace edgeopt {
namespace tflm {
namespace {

using Op = tflite::BuiltinOperator;

// The builtin operators TFLM has kernels for, with their MicroMutableOpResolver methods
// (tensorflow/lite/micro/micro_mutable_op_resolver.h).
struct BuiltinMethod {
  Op op;
  const char* method;
};
constexpr BuiltinMethod kBuiltins[] = {
    {Op::ABS, "AddAbs"},
    {Op::ADD, "AddAdd"},
    {Op::ADD_N, "AddAddN"},
    {Op::ARG_MAX, "AddArgMax"},
    {Op::ARG_MIN, "AddArgMin"},
    {Op::ASSIGN_VARIABLE, "AddAssignVariable"},
    {Op::AVERAGE_POOL_2D, "AddAveragePool2D"},
    {Op::BATCH_MATMUL, "AddBatchMatMul"},
    {Op::BATCH_TO_SPACE_ND, "AddBatchToSpaceNd"},
    {Op::BROADCAST_ARGS, "AddBroadcastArgs"},
    {Op::BROADCAST_TO, "AddBroadcastTo"},
    {Op::CALL_ONCE, "AddCallOnce"},
    {Op::CAST, "AddCast"},
    {Op::CEIL, "AddCeil"},
    {Op::CONCATENATION, "AddConcatenation"},
    {Op::CONV_2D, "AddConv2D"},
    {Op::COS, "AddCos"},
    {Op::CUMSUM, "AddCumSum"},
    {Op::DEPTH_TO_SPACE, "AddDepthToSpace"},
    {Op::DEPTHWISE_CONV_2D, "AddDepthwiseConv2D"},
    {Op::DEQUANTIZE, "AddDequantize"},
    {Op::DIV, "AddDiv"},
    {Op::ELU, "AddElu"},
    {Op::EMBEDDING_LOOKUP, "AddEmbeddingLookup"},
    {Op::EQUAL, "AddEqual"},
    {Op::EXP, "AddExp"},
    {Op::EXPAND_DIMS, "AddExpandDims"},
    {Op::FILL, "AddFill"},
    {Op::FLOOR, "AddFloor"},
    {Op::FLOOR_DIV, "AddFloorDiv"},
    {Op::FLOOR_MOD, "AddFloorMod"},
    {Op::FULLY_CONNECTED, "AddFullyConnected"},
    {Op::GATHER, "AddGather"},
    {Op::GATHER_ND, "AddGatherNd"},
    {Op::GREATER, "AddGreater"},
    {Op::GREATER_EQUAL, "AddGreaterEqual"},
    {Op::HARD_SWISH, "AddHardSwish"},
    {Op::IF, "AddIf"},
    {Op::L2_NORMALIZATION, "AddL2Normalization"},
    {Op::L2_POOL_2D, "AddL2Pool2D"},
    {Op::LEAKY_RELU, "AddLeakyRelu"},
    {Op::LESS, "AddLess"},
    {Op::LESS_EQUAL, "AddLessEqual"},
    {Op::LOG, "AddLog"},
    {Op::LOG_SOFTMAX, "AddLogSoftmax"},
    {Op::LOGICAL_AND, "AddLogicalAnd"},
    {Op::LOGICAL_NOT, "AddLogicalNot"},
    {Op::LOGICAL_OR, "AddLogicalOr"},
    {Op::LOGISTIC, "AddLogistic"},
    {Op::MAX_POOL_2D, "AddMaxPool2D"},
    {Op::MAXIMUM, "AddMaximum"},
    {Op::MEAN, "AddMean"},
    {Op::MINIMUM, "AddMinimum"},
    {Op::MIRROR_PAD, "AddMirrorPad"},
    {Op::MUL, "AddMul"},
    {Op::NEG, "AddNeg"},
    {Op::NOT_EQUAL, "AddNotEqual"},
    {Op::PACK, "AddPack"},
    {Op::PAD, "AddPad"},
    {Op::PADV2, "AddPadV2"},
    {Op::PRELU, "AddPrelu"},
    {Op::QUANTIZE, "AddQuantize"},
    {Op::READ_VARIABLE, "AddReadVariable"},
    {Op::REDUCE_MAX, "AddReduceMax"},
    {Op::REDUCE_MIN, "AddReduceMin"},
    {Op::RELU, "AddRelu"},
    {Op::RELU6, "AddRelu6"},
    {Op::RESHAPE, "AddReshape"},
    {Op::RESIZE_BILINEAR, "AddResizeBilinear"},
    {Op::RESIZE_NEAREST_NEIGHBOR, "AddResizeNearestNeighbor"},
    {Op::REVERSE_V2, "AddReverseV2"},
    {Op::ROUND, "AddRound"},
    {Op::RSQRT, "AddRsqrt"},
    {Op::SELECT_V2, "AddSelectV2"},
    {Op::SHAPE, "AddShape"},
    {Op::SIN, "AddSin"},
    {Op::SLICE, "AddSlice"},
    {Op::SOFTMAX, "AddSoftmax"},
    {Op::SPACE_TO_BATCH_ND, "AddSpaceToBatchNd"},
    {Op::SPACE_TO_DEPTH, "AddSpaceToDepth"},
    {Op::SPLIT, "AddSplit"},
    {Op::SPLIT_V, "AddSplitV"},
    {Op::SQRT, "AddSqrt"},
    {Op::SQUARE, "AddSquare"},
    {Op::SQUARED_DIFFERENCE, "AddSquaredDifference"},
    {Op::SQUEEZE, "AddSqueeze"},
    {Op::STRIDED_SLICE, "AddStridedSlice"},
    {Op::SUB, "AddSub"},
    {Op::SUM, "AddSum"},
    {Op::SVDF, "AddSvdf"},
    {Op::TANH, "AddTanh"},
    {Op::TRANSPOSE, "AddTranspose"},
    {Op::TRANSPOSE_CONV, "AddTransposeConv"},
    {Op::UNIDIRECTIONAL_SEQUENCE_LSTM, "AddUnidirectionalSequenceLSTM"},
    {Op::UNPACK, "AddUnpack"},
    {Op::VAR_HANDLE, "AddVarHandle"},
    {Op::WHILE, "AddWhile"},
    {Op::ZEROS_LIKE, "AddZerosLike"},
};

// Custom operators TFLM registers by name (its signal library among them).
struct CustomMethod {
  const char* name;
  const char* method;
};
constexpr CustomMethod kCustoms[] = {
    {"TFLite_Detection_PostProcess", "AddDetectionPostprocess"},
    {"CIRCULAR_BUFFER", "AddCircularBuffer"},
    {"ethos-u", "AddEthosU"},
    {"SignalDelay", "AddDelay"},
    {"SignalEnergy", "AddEnergy"},
    {"SignalFftAutoScale", "AddFftAutoScale"},
    {"SignalFilterBank", "AddFilterBank"},
    {"SignalFilterBankLog", "AddFilterBankLog"},
    {"SignalFilterBankSquareRoot", "AddFilterBankSquareRoot"},
    {"SignalFilterBankSpectralSubtraction", "AddFilterBankSpectralSubtraction"},
    {"SignalFramer", "AddFramer"},
    {"SignalIrfft", "AddIrfft"},
    {"SignalOverlapAdd", "AddOverlapAdd"},
    {"SignalPCAN", "AddPCAN"},
    {"SignalRfft", "AddRfft"},
    {"SignalStacker", "AddStacker"},
    {"SignalWindow", "AddWindow"},
};

const char* BuiltinMethodOf(Op op) {
  for (const BuiltinMethod& b : kBuiltins) {
    if (b.op == op) return b.method;
  }
  return "";
}

const char* CustomMethodOf(const std::string& name) {
  for (const CustomMethod& c : kCustoms) {
    if (name == c.name) return c.method;
  }
  return "";
}

// Ops whose weights (input `weights`) may be int8 while the activations (input `activation`)
// are float: the official converter's dynamic-range ("hybrid") form, which TFLM does not run.
bool HybridInputs(Op op, int* activation, int* weights) {
  switch (op) {
    case Op::FULLY_CONNECTED:
    case Op::CONV_2D:
    case Op::DEPTHWISE_CONV_2D:
    case Op::UNIDIRECTIONAL_SEQUENCE_LSTM:
    case Op::SVDF:
    case Op::BATCH_MATMUL:
      *activation = 0;
      *weights = 1;
      return true;
    case Op::TRANSPOSE_CONV:
      *activation = 2;
      *weights = 1;
      return true;
    default:
      return false;
  }
}

// Problems of one kind, counted over the model; the message names the first few.
struct Problem {
  int count = 0;
  std::vector<std::string> examples;
  void Add(const std::string& what) {
    if (count++ < 3) examples.push_back(what);
  }
  std::string Examples() const {
    std::string s;
    for (const std::string& e : examples) s += (s.empty() ? "" : ", ") + e;
    if (count > static_cast<int>(examples.size())) s += ", ...";
    return s;
  }
};

std::string Quoted(const flatbuffers::String* name, int index) {
  if (name != nullptr && name->size() > 0) return "'" + name->str() + "'";
  return "#" + std::to_string(index);
}

size_t RoundUp(size_t n, size_t to) { return (n + to - 1) / to * to; }

// The LUT-compressed tensors of each subgraph (COMPRESSION_METADATA), empty when there are none.
Status CompressedTensors(const tflite::Model* model, std::vector<std::set<int>>* out) {
  out->assign(model->subgraphs()->size(), {});
  const tflite::micro::compression::Metadata* meta = nullptr;
  EDGEOPT_RETURN_IF_ERROR(rt::FindLutMetadata(model, &meta));
  if (meta == nullptr || meta->subgraphs() == nullptr) return Status::Ok();
  for (flatbuffers::uoffset_t s = 0; s < meta->subgraphs()->size() && s < out->size(); ++s) {
    const auto* lut = meta->subgraphs()->Get(s)->lut_tensors();
    if (lut == nullptr) continue;
    for (const auto* l : *lut) (*out)[s].insert(l->tensor());
  }
  return Status::Ok();
}

}  // namespace

bool StaticElements(const tflite::Tensor& tensor, uint64_t* elements) {
  constexpr uint64_t kCap = uint64_t{1} << 40;
  *elements = 1;
  if (tensor.shape() == nullptr) return true;
  for (int32_t d : *tensor.shape()) {
    if (d < 0) return false;
    const uint64_t f = static_cast<uint64_t>(d);
    if (f != 0 && *elements > kCap / f) return false;
    *elements *= f;
  }
  return true;
}

StatusOr<TflmReport> AnalyzeForTflm(const uint8_t* data, size_t size) {
  EDGEOPT_RETURN_IF_ERROR(rt::VerifyModelBuffer(data, size));
  const tflite::Model* model = tflite::GetModel(data);
  const auto* codes = model->operator_codes();
  const auto* subgraphs = model->subgraphs();
  const auto* buffers = model->buffers();
  if (subgraphs == nullptr || subgraphs->size() == 0) {
    return MakeStatus(StatusCode::kInvalidModel, "the model has no subgraph");
  }
  TflmReport report;
  report.subgraphs = static_cast<int>(subgraphs->size());
  std::vector<std::set<int>> compressed;
  EDGEOPT_RETURN_IF_ERROR(CompressedTensors(model, &compressed));
  std::map<std::string, size_t> op_index;
  Problem missing, hybrid, float16, sparse, uint8, dynamic, unsized;
  std::set<std::string> missing_names;
  size_t per_channel_words = 0;  // output channels of convolutions (TFLM's per-channel op data)
  for (flatbuffers::uoffset_t s = 0; s < subgraphs->size(); ++s) {
    const tflite::SubGraph* sg = subgraphs->Get(s);
    const auto* tensors = sg->tensors();
    const auto* ops = sg->operators();
    const int num_tensors = tensors != nullptr ? static_cast<int>(tensors->size()) : 0;
    const int num_ops = ops != nullptr ? static_cast<int>(ops->size()) : 0;
    report.tensors += num_tensors;
    report.nodes += num_ops;
    report.lut_tensors += static_cast<int>(compressed[s].size());
    auto tensor_at = [&](int32_t i) -> const tflite::Tensor* {
      return i >= 0 && i < num_tensors ? tensors->Get(i) : nullptr;
    };
    auto type_of = [&](int32_t i) {
      const tflite::Tensor* t = tensor_at(i);
      return t != nullptr ? static_cast<DType>(t->type()) : DType::kResource;
    };
    // Tensors and their lifetimes, as TFLM's AllocationInfoBuilder sets them.
    std::vector<int> first(num_tensors, -1), last(num_tensors, -1);
    std::vector<bool> constant(num_tensors, false);
    for (int t = 0; t < num_tensors; ++t) {
      const tflite::Tensor* tensor = tensors->Get(t);
      const uint32_t b = tensor->buffer();
      const tflite::Buffer* buffer =
          buffers != nullptr && b < buffers->size() ? buffers->Get(b) : nullptr;
      constant[t] =
          b != 0 && buffer != nullptr &&
          ((buffer->data() != nullptr && buffer->data()->size() > 0) || buffer->offset() > 1);
      const DType type = static_cast<DType>(tensor->type());
      const std::string name = Quoted(tensor->name(), t);
      if (type == DType::kFloat16) float16.Add(name);
      if (tensor->sparsity() != nullptr) sparse.Add(name);
    }
    if (sg->inputs() != nullptr) {
      for (int32_t i : *sg->inputs()) {
        if (tensor_at(i) != nullptr) first[i] = 0;
      }
    }
    if (sg->outputs() != nullptr) {
      for (int32_t i : *sg->outputs()) {
        if (tensor_at(i) != nullptr) last[i] = std::max(0, num_ops - 1);
      }
    }
    for (int n = num_ops - 1; n >= 0; --n) {
      const tflite::Operator* op = ops->Get(n);
      for (const auto* list : {op->inputs(), op->intermediates()}) {
        if (list == nullptr) continue;
        for (int32_t i : *list) {
          if (tensor_at(i) != nullptr && last[i] < n) last[i] = n;
        }
      }
      if (op->outputs() != nullptr) {
        for (int32_t i : *op->outputs()) {
          if (tensor_at(i) != nullptr && (first[i] == -1 || first[i] > n)) first[i] = n;
        }
      }
    }
    // Operators: the resolver's list and what TFLM's kernels refuse.
    for (int n = 0; n < num_ops; ++n) {
      const tflite::Operator* op = ops->Get(n);
      const uint32_t ci = op->opcode_index();
      if (codes == nullptr || ci >= codes->size()) {
        return MakeStatus(StatusCode::kInvalidModel,
                          "subgraph %u, operator %d: opcode index %u is out of range", s, n, ci);
      }
      const tflite::OperatorCode* code = codes->Get(ci);
      const Op builtin = rt::BuiltinCodeOf(code);
      std::string name, method;
      if (builtin == Op::CUSTOM) {
        name = code->custom_code() != nullptr ? code->custom_code()->str() : "";
        if (name.empty()) name = "CUSTOM (unnamed)";
        method = CustomMethodOf(name);
      } else {
        const char* enum_name = tflite::EnumNameBuiltinOperator(builtin);
        name = enum_name != nullptr && enum_name[0] != '\0'
                   ? enum_name
                   : "builtin " + std::to_string(static_cast<int>(builtin));
        method = BuiltinMethodOf(builtin);
      }
      auto [it, fresh] = op_index.emplace(name, report.ops.size());
      if (fresh) report.ops.push_back(OpUse{name, method, 0});
      ++report.ops[it->second].count;
      if (method.empty() && missing_names.insert(name).second) missing.Add(name);
      const auto* in = op->inputs();
      const auto* out = op->outputs();
      const std::string where =
          name + " (subgraph " + std::to_string(s) + ", node " + std::to_string(n) + ")";
      int act = 0, w = 0;
      if (HybridInputs(builtin, &act, &w) && in != nullptr &&
          static_cast<int>(in->size()) > std::max(act, w) &&
          type_of(in->Get(act)) == DType::kFloat32 &&
          (type_of(in->Get(w)) == DType::kInt8 || type_of(in->Get(w)) == DType::kUInt8 ||
           type_of(in->Get(w)) == DType::kInt4)) {
        hybrid.Add(where);
      }
      // uint8 only at a QUANTIZE (uint8 -> int8 at a model's input, int8 -> uint8 at its
      // output); TFLM's other kernels, DEQUANTIZE among them, take int8.
      bool has_uint8 = false;
      if (builtin != Op::QUANTIZE) {
        for (const auto* list : {in, out}) {
          if (list == nullptr) continue;
          for (int32_t i : *list) has_uint8 |= type_of(i) == DType::kUInt8;
        }
      }
      if (has_uint8) uint8.Add(where);
      // TFLM keeps a multiplier and a shift per output channel of a convolution.
      if ((builtin == Op::CONV_2D || builtin == Op::DEPTHWISE_CONV_2D ||
           builtin == Op::TRANSPOSE_CONV) &&
          out != nullptr && out->size() > 0) {
        const tflite::Tensor* o = tensor_at(out->Get(0));
        if (o != nullptr && o->shape() != nullptr && o->shape()->size() > 0) {
          per_channel_words +=
              static_cast<size_t>(std::max(0, o->shape()->Get(o->shape()->size() - 1)));
        }
      }
    }
    // The activation plan: non-constant, non-variable tensors with a lifetime, and the decoded
    // copies of LUT-compressed constants, each alive during the operator that reads it.
    std::vector<rt::BufferRequest> requests;
    // Bytes of a constant (0 when its size is unknown).
    auto bytes_of = [&](int t) -> size_t {
      const tflite::Tensor* tensor = tensors->Get(t);
      const DType type = static_cast<DType>(tensor->type());
      uint64_t n = 0;
      if (!StaticElements(*tensor, &n) || !DTypeIsValid(static_cast<int>(type))) return 0;
      return static_cast<size_t>(n * DTypeSize(type));
    };
    for (int n = 0; n < num_ops && !compressed[s].empty(); ++n) {
      const auto* in = ops->Get(n)->inputs();
      if (in == nullptr) continue;
      size_t op_scratch = 0;
      for (int32_t i : *in) {
        if (tensor_at(i) == nullptr || compressed[s].count(i) == 0) continue;
        rt::BufferRequest r;
        r.bytes = bytes_of(i);
        r.first_use = r.last_use = n;
        op_scratch += RoundUp(r.bytes, 16);
        requests.push_back(r);
      }
      report.lut_scratch_bytes = std::max(report.lut_scratch_bytes, op_scratch);
    }
    for (int t = 0; t < num_tensors; ++t) {
      const tflite::Tensor* tensor = tensors->Get(t);
      if (constant[t]) continue;
      const DType type = static_cast<DType>(tensor->type());
      const std::string name = Quoted(tensor->name(), t);
      uint64_t elements = 0;
      if (!StaticElements(*tensor, &elements)) {
        dynamic.Add(name);
        continue;
      }
      const size_t elem = DTypeIsValid(static_cast<int>(type)) ? DTypeSize(type) : 0;
      if (elem == 0 && first[t] != -1) {
        unsized.Add(name + " (" + DTypeName(type) + ")");
        continue;
      }
      const size_t bytes = static_cast<size_t>(elements * elem);  // both bounded: < 2^44
      if (tensor->is_variable()) {
        report.variable_bytes += RoundUp(bytes, 16);
        continue;
      }
      if (first[t] == -1 && last[t] == -1) continue;  // neither produced nor read
      rt::BufferRequest r;
      r.bytes = bytes;
      r.first_use = first[t] == -1 ? 0 : first[t];
      r.last_use = std::max(r.first_use, last[t]);
      requests.push_back(r);
    }
    report.activation_bytes += rt::PlanGreedy(requests, 16).arena_bytes;
  }
  auto add = [&report](const Problem& p, const std::string& what) {
    if (p.count > 0) report.problems.push_back(what + ": " + p.Examples());
  };
  add(hybrid,
      "hybrid (dynamic-range) operators, float32 activations with int8 weights, which TFLM "
      "does not run (quantize with --mode int8 instead)");
  add(float16, "float16 tensors, which TFLM has no kernels for (use float32 or --mode int8)");
  add(sparse, "sparse tensors, which TFLM cannot read (convert without --sparse)");
  add(uint8,
      "uint8 tensors at operators other than QUANTIZE; TFLM's kernels run int8 only since 2021 "
      "(quantize with --mode int8, and --io int8 or uint8)");
  // After the kinds that explain a missing kernel (DENSIFY comes with sparse tensors).
  add(missing, "operators without a TFLM kernel (MicroMutableOpResolver has no Add method)");
  add(dynamic, "tensors of unknown size, which TFLM cannot plan");
  add(unsized, "tensors of a type without a fixed size");
  // TFLM's persistent ("tail") allocations, estimated for a 32-bit target: a TfLiteEvalTensor
  // (12 bytes) per tensor, a node, its registration and its builtin options (about 64 bytes)
  // per operator, a multiplier and a shift (8 bytes) per convolution output channel, and the
  // variable tensors' buffers.
  report.persistent_estimate = 12 * static_cast<size_t>(report.tensors) +
                               64 * static_cast<size_t>(report.nodes) + 8 * per_channel_words +
                               report.variable_bytes;
  const size_t needed = report.activation_bytes + report.persistent_estimate;
  report.arena_hint = RoundUp(needed + std::max<size_t>(1024, needed / 10), 1024);
  return report;
}

std::string CheckIdentifier(const std::string& name) {
  if (name.empty()) return "the name is empty";
  if (!(std::isalpha(static_cast<unsigned char>(name[0])) || name[0] == '_')) {
    return "'" + name + "' does not start with a letter or '_'";
  }
  for (char c : name) {
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '_')) {
      return "'" + name + "' has a character other than letters, digits and '_'";
    }
  }
  static const char* const kKeywords[] = {
      "alignas",  "alignof", "and",     "asm",       "auto",     "bool",      "break",
      "case",     "catch",   "char",    "class",     "const",    "constexpr", "continue",
      "default",  "delete",  "do",      "double",    "else",     "enum",      "extern",
      "false",    "float",   "for",     "friend",    "goto",     "if",        "inline",
      "int",      "long",    "mutable", "namespace", "new",      "not",       "nullptr",
      "operator", "or",      "private", "protected", "public",   "register",  "return",
      "short",    "signed",  "sizeof",  "static",    "struct",   "switch",    "template",
      "this",     "throw",   "true",    "try",       "typedef",  "typename",  "union",
      "unsigned", "using",   "virtual", "void",      "volatile", "while",     "xor"};
  for (const char* k : kKeywords) {
    if (name == k) return "'" + name + "' is a C++ keyword";
  }
  return "";
}

std::string CArraySource(const uint8_t* data, size_t size, const CSourceOptions& options) {
  std::string out;
  out.reserve(size * 6 + 1024);
  char line[160];
  std::snprintf(line, sizeof(line),
                "// %s (%zu bytes) as a C array.\n// Written by edgeopt export-c; do not edit.\n",
                options.source_file.c_str(), size);
  out += line;
  out += "// Load it with tflite::GetModel(" + options.name + "); the header lists what the ";
  out += "model needs.\n";
  if (!options.header.empty()) out += "#include \"" + options.header + "\"\n";
  out += "\n// TFLM reads the flatbuffer in place: 16-byte alignment keeps its tables aligned.\n";
  out += "alignas(16) const unsigned char " + options.name + "[] = {";
  for (size_t i = 0; i < size; ++i) {
    if (i % 12 == 0) out += "\n   ";
    std::snprintf(line, sizeof(line), " 0x%02x,", data[i]);
    out += line;
  }
  out += "\n};\n";
  std::snprintf(line, sizeof(line), "const unsigned int %s_len = %zu;\n", options.name.c_str(),
                size);
  out += line;
  return out;
}

std::string CArrayHeader(size_t size, const TflmReport& report, const CSourceOptions& options) {
  std::string guard;
  for (char c : options.header.empty() ? options.name + "_h" : options.header) {
    guard += std::isalnum(static_cast<unsigned char>(c))
                 ? static_cast<char>(std::toupper(static_cast<unsigned char>(c)))
                 : '_';
  }
  if (!guard.empty() && std::isdigit(static_cast<unsigned char>(guard[0]))) guard = "_" + guard;
  guard += "_";
  const std::string& n = options.name;
  std::string out;
  char line[256];
  std::snprintf(line, sizeof(line),
                "// %s (%zu bytes) for TensorFlow Lite for Microcontrollers.\n"
                "// Written by edgeopt export-c; do not edit.\n",
                options.source_file.c_str(), size);
  out += line;
  out += "#ifndef " + guard + "\n#define " + guard + "\n\n";
  out += "extern const unsigned char " + n + "[];\n";
  out += "extern const unsigned int " + n + "_len;\n\n";
  std::snprintf(line, sizeof(line),
                "// Tensor arena for tflite::MicroInterpreter, in bytes: %zu of activations, laid "
                "out as\n// TFLM's GreedyMemoryPlanner does, plus about %zu of TFLM's persistent "
                "allocations\n",
                report.activation_bytes, report.persistent_estimate);
  out += line;
  out +=
      "// (estimated: 12 per tensor, 64 per operator, 8 per convolution output channel, the "
      "variable\n// tensors) and a margin. Kernel scratch buffers (CMSIS-NN) are not counted: "
      "after\n// AllocateTensors(), MicroInterpreter::arena_used_bytes() gives the exact figure.\n";
  if (report.lut_tensors > 0) {
    std::snprintf(line, sizeof(line),
                  "// %d constants are LUT-compressed: build TFLM with USE_TFLM_COMPRESSION "
                  "defined.\n// Their decoded copies (up to %zu bytes at once) are among the "
                  "activations.\n",
                  report.lut_tensors, report.lut_scratch_bytes);
    out += line;
  }
  std::snprintf(line, sizeof(line), "constexpr unsigned int %s_activation_bytes = %zu;\n",
                n.c_str(), report.activation_bytes);
  out += line;
  std::snprintf(line, sizeof(line), "constexpr unsigned int %s_arena_size = %zu;\n\n", n.c_str(),
                report.arena_hint);
  out += line;
  std::string names;
  int registered = 0;
  for (const OpUse& op : report.ops) {
    if (op.method.empty()) continue;
    names += (names.empty() ? "" : ", ") + op.op;
    ++registered;
  }
  out += "// Operators: " + names + ".\n";
  std::string unregistered;
  for (const OpUse& op : report.ops) {
    if (op.method.empty()) unregistered += (unregistered.empty() ? "" : ", ") + op.op;
  }
  if (!unregistered.empty()) {
    out += "// Not registered here (TFLM has no kernel; add your own and raise the count): " +
           unregistered + ".\n";
  }
  std::snprintf(line, sizeof(line), "constexpr unsigned int %s_op_count = %d;\n\n", n.c_str(),
                registered);
  out += line;
  out += "// Registers the model's operators, and no others (the linker drops the rest):\n";
  out += "//   static tflite::MicroMutableOpResolver<" + n + "_op_count> resolver;\n";
  out += "//   if (!" + n + "_register_ops(resolver)) { /* report the error */ }\n";
  out += "template <typename Resolver>\nbool " + n + "_register_ops(Resolver& resolver) {\n";
  out += "  // Each Add* returns kTfLiteOk (0) on success.\n";
  if (registered == 0) {
    out += "  (void)resolver;\n  return true;\n";
  } else {
    bool first = true;
    for (const OpUse& op : report.ops) {
      if (op.method.empty()) continue;
      out += first ? "  return " : "         ";
      out += "resolver." + op.method + "() == 0";
      --registered;
      out += registered == 0 ? ";\n" : " &&\n";
      first = false;
    }
  }
  out += "}\n\n#endif  // " + guard + "\n";
  return out;
}

}  // namespace tflm
}  // namespace edgeopt
