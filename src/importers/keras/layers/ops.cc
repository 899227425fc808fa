// Keras operations in a model's graph. A Keras 3 functional model keeps `x + y`, `x * 0.5` or
// keras.ops.relu(x) as an operation node: {"module": "keras.src.ops.numpy", "class_name": "Add",
// ...}, its arguments in the node as written (tensors and numbers). tf.keras 2.x keeps tf.math /
// tf.nn calls and operators as TFOpLambda layers: {"function": "math.multiply", ...}, the first
// argument the node's tensor, the second its keyword argument "y" (a tensor or a number); a
// constant first argument (0.5 * x, 1.0 - x) is ["_CONSTANT_VALUE", -1, value, {"y": x}]. These
// map to builtin ops (kKerasOps):
//  - the elementwise arithmetic (a number as a scalar constant), unary math and activations,
//    gelu, powers, a cast to float32;
//  - the reductions (mean, sum, max, min), the shape operations (concatenate, reshape,
//    transpose, expand_dims, squeeze) and slicing (x[:, 0]; tf.keras's SlicingOpLambda), all
//    keeping the batch axis first, their arguments from the op's config, the call's keyword
//    arguments or its positional ones (Param);
//  - softmax / log_softmax over the last axis and the product of two tensors (matmul).
// Any other operation is refused with its name.
#include <algorithm>
#include <cctype>
#include <cmath>
#include <map>

#include "src/importers/keras/layers/layer_registry.h"
#include "src/importers/keras/layers/layer_util.h"

namespace edgeopt {
namespace keras {
namespace {

enum class OpKind {
  kBinary,
  kUnary,
  kActivation,
  kReduce,      // axis, keepdims
  kConcat,      // a list of tensors, axis
  kReshape,     // newshape: [-1 or None (the batch), ...]
  kTranspose,   // axes, the batch first
  kExpandDims,  // axis
  kSqueeze,     // axis (None: every size-1 axis but the batch)
  kGetItem,     // x[key]: ints, slices, Ellipsis, None (newaxis)
  kSoftmax,     // axis (the last)
  kMatmul,      // [..., M, K] x [..., K, N], the same leading dims
  kGelu,        // approximate: Keras 3's ops.gelu defaults to True, tf.nn.gelu to False
  kCast,        // to float32 (a bool: CAST) or to bool (x != 0)
  kCompare,     // a bool of two operands (tensors or constants)
  kLogical,     // and / or of two bools (a float tensor: x != 0), not of one
  kWhere,       // condition ? x : y, x and y tensors or constants
  kClip,        // x_min, x_max
  kStack,       // a list of tensors, axis (not the batch)
  kUnstack,     // axis: one output per slice
  kSplit,       // sections or indices (Keras 3) / sizes (tf), axis
  kEinsum,      // subscripts, one or two operands
  kTile,        // repeats (tf: multiples), 1 for the batch
  kRepeat,      // repeats (an int), axis (not the batch)
  kArgMinMax,   // axis (not the batch), keepdims: an int32 (Keras 3) / int64 (tf) index
  kOneHot,      // num_classes (tf: depth), the last axis, on / off values (tf): float32
  kSign,        // -1, 0 or 1: (x > 0) - (x < 0)
  kCumsum,      // axis (not the batch), exclusive / reverse (tf): a triangular FULLY_CONNECTED
  kSpaceDepth,  // block_size, NHWC: DEPTH_TO_SPACE / SPACE_TO_DEPTH (tf.nn)
};

struct KerasOp {
  const char* keras3;  // the Keras 3 operation class ("" if none)
  const char* tf;      // the tf.keras TFOpLambda function ("" if none)
  OpKind kind;
  const char* op;  // the builtin op, or the Keras activation's name
};

constexpr KerasOp kKerasOps[] = {
    {"Add", "__operators__.add", OpKind::kBinary, "ADD"},
    {"", "math.add", OpKind::kBinary, "ADD"},
    {"Subtract", "math.subtract", OpKind::kBinary, "SUB"},
    {"Multiply", "math.multiply", OpKind::kBinary, "MUL"},
    {"TrueDivide", "math.truediv", OpKind::kBinary, "DIV"},
    {"Divide", "math.divide", OpKind::kBinary, "DIV"},
    {"Maximum", "math.maximum", OpKind::kBinary, "MAXIMUM"},
    {"Minimum", "math.minimum", OpKind::kBinary, "MINIMUM"},
    {"Exp", "math.exp", OpKind::kUnary, "EXP"},
    {"Log", "math.log", OpKind::kUnary, "LOG"},
    {"Sqrt", "math.sqrt", OpKind::kUnary, "SQRT"},
    {"Rsqrt", "math.rsqrt", OpKind::kUnary, "RSQRT"},
    {"Absolute", "math.abs", OpKind::kUnary, "ABS"},
    {"Negative", "math.negative", OpKind::kUnary, "NEG"},
    {"Square", "math.square", OpKind::kUnary, "SQUARE"},
    {"Relu", "nn.relu", OpKind::kActivation, "relu"},
    {"Relu6", "nn.relu6", OpKind::kActivation, "relu6"},
    {"Sigmoid", "math.sigmoid", OpKind::kActivation, "sigmoid"},
    {"", "nn.sigmoid", OpKind::kActivation, "sigmoid"},
    {"Tanh", "math.tanh", OpKind::kActivation, "tanh"},
    {"", "nn.tanh", OpKind::kActivation, "tanh"},
    {"Silu", "nn.silu", OpKind::kActivation, "silu"},
    {"", "nn.swish", OpKind::kActivation, "silu"},
    {"Softplus", "math.softplus", OpKind::kActivation, "softplus"},
    {"", "nn.softplus", OpKind::kActivation, "softplus"},
    {"Mean", "math.reduce_mean", OpKind::kReduce, "MEAN"},
    {"Sum", "math.reduce_sum", OpKind::kReduce, "SUM"},
    {"Max", "math.reduce_max", OpKind::kReduce, "REDUCE_MAX"},
    {"Min", "math.reduce_min", OpKind::kReduce, "REDUCE_MIN"},
    {"Concatenate", "", OpKind::kConcat, "CONCATENATION"},
    {"Reshape", "reshape", OpKind::kReshape, "RESHAPE"},
    {"Transpose", "", OpKind::kTranspose, "TRANSPOSE"},
    {"ExpandDims", "expand_dims", OpKind::kExpandDims, "RESHAPE"},
    {"Squeeze", "", OpKind::kSqueeze, "RESHAPE"},
    {"", "concat", OpKind::kConcat, "CONCATENATION"},
    {"GetItem", "__operators__.getitem", OpKind::kGetItem, "STRIDED_SLICE"},
    {"Softmax", "nn.softmax", OpKind::kSoftmax, "SOFTMAX"},
    {"LogSoftmax", "nn.log_softmax", OpKind::kSoftmax, "LOG_SOFTMAX"},
    {"Matmul", "linalg.matmul", OpKind::kMatmul, "BATCH_MATMUL"},
    {"Gelu", "nn.gelu", OpKind::kGelu, "GELU"},
    {"Cast", "cast", OpKind::kCast, ""},
    {"Power", "math.pow", OpKind::kBinary, "POW"},
    {"LeakyRelu", "nn.leaky_relu", OpKind::kActivation, "leaky_relu"},
    {"Elu", "nn.elu", OpKind::kActivation, "elu"},
    {"Selu", "nn.selu", OpKind::kActivation, "selu"},
    {"Softsign", "nn.softsign", OpKind::kActivation, "softsign"},
    {"HardSigmoid", "", OpKind::kActivation, "hard_sigmoid"},
    {"HardSilu", "", OpKind::kActivation, "hard_silu"},
    {"LogSigmoid", "math.log_sigmoid", OpKind::kActivation, "log_sigmoid"},
    {"Reciprocal", "math.reciprocal", OpKind::kUnary, "RECIPROCAL"},
    {"Log1p", "math.log1p", OpKind::kUnary, "LOG1P"},
    {"Expm1", "math.expm1", OpKind::kUnary, "EXPM1"},
    {"Clip", "clip_by_value", OpKind::kClip, ""},
    {"Greater", "math.greater", OpKind::kCompare, "GREATER"},
    {"GreaterEqual", "math.greater_equal", OpKind::kCompare, "GREATER_EQUAL"},
    {"Less", "math.less", OpKind::kCompare, "LESS"},
    {"LessEqual", "math.less_equal", OpKind::kCompare, "LESS_EQUAL"},
    {"Equal", "math.equal", OpKind::kCompare, "EQUAL"},
    {"NotEqual", "math.not_equal", OpKind::kCompare, "NOT_EQUAL"},
    {"LogicalAnd", "math.logical_and", OpKind::kLogical, "LOGICAL_AND"},
    {"LogicalOr", "math.logical_or", OpKind::kLogical, "LOGICAL_OR"},
    {"LogicalNot", "math.logical_not", OpKind::kLogical, "LOGICAL_NOT"},
    {"Where", "where", OpKind::kWhere, "SELECT_V2"},
    {"Stack", "stack", OpKind::kStack, ""},
    {"Unstack", "unstack", OpKind::kUnstack, ""},
    {"Split", "split", OpKind::kSplit, ""},
    {"Einsum", "", OpKind::kEinsum, ""},
    {"Sin", "math.sin", OpKind::kUnary, "SIN"},
    {"Cos", "math.cos", OpKind::kUnary, "COS"},
    {"Floor", "math.floor", OpKind::kUnary, "FLOOR"},
    {"Ceil", "math.ceil", OpKind::kUnary, "CEIL"},
    {"Round", "math.round", OpKind::kUnary, "ROUND"},
    {"Tile", "tile", OpKind::kTile, "TILE"},
    {"Repeat", "repeat", OpKind::kRepeat, "TILE"},
    {"Argmax", "math.argmax", OpKind::kArgMinMax, "ARG_MAX"},
    {"Argmin", "math.argmin", OpKind::kArgMinMax, "ARG_MIN"},
    {"OneHot", "one_hot", OpKind::kOneHot, ""},
    {"Sign", "math.sign", OpKind::kSign, ""},
    {"Cumsum", "math.cumsum", OpKind::kCumsum, ""},
    {"", "nn.depth_to_space", OpKind::kSpaceDepth, "DEPTH_TO_SPACE"},
    {"", "nn.space_to_depth", OpKind::kSpaceDepth, "SPACE_TO_DEPTH"},
};

const KerasOp* FindOp(const std::string& name, bool tf) {
  for (const KerasOp& op : kKerasOps) {
    if (name == (tf ? op.tf : op.keras3) && !name.empty()) return &op;
  }
  return nullptr;
}

// An object's "class_name" if it is a string, else "" (never a JSON type error).
std::string ClassNameOf(const Json& v) {
  if (!v.is_object()) return "";
  auto cls = v.find("class_name");
  return cls != v.end() && cls->is_string() ? cls->get<std::string>() : "";
}

bool IsKerasTensor(const Json& v) { return ClassNameOf(v) == "__keras_tensor__"; }

// One operand: a tensor of the call, or a constant: a number (a scalar) or an array (nested
// lists; Keras 3's {"class_name": "__numpy__", "config": {"value": ...}}).
struct Operand {
  int tensor = -1;
  Shape shape;                // a constant's
  std::vector<float> values;  // a constant's
};

// Appends the numbers of a nested list `v` at depth `depth` to `out`, checking that it is
// rectangular (its shape in `shape`).
Status NestedNumbers(const LayerCall& call, const Json& v, size_t depth, Shape* shape,
                     std::vector<float>* out) {
  if (v.is_number() && !v.is_boolean()) {
    if (depth != shape->size()) {
      return call.Error(StatusCode::kInvalidModel, "has a ragged constant array");
    }
    out->push_back(v.get<float>());
    return Status::Ok();
  }
  if (!v.is_array() || v.empty() || depth >= 6 || out->size() > (1u << 20)) {
    return call.Error(StatusCode::kUnsupported,
                      "has an argument that is neither a tensor nor a number or an array of "
                      "numbers (rank <= 6, not empty); edgeopt converts those only");
  }
  if (depth == shape->size()) {
    if (!out->empty()) return call.Error(StatusCode::kInvalidModel, "has a ragged constant array");
    shape->push_back(static_cast<int32_t>(v.size()));
  } else if ((*shape)[depth] != static_cast<int32_t>(v.size())) {
    return call.Error(StatusCode::kInvalidModel, "has a ragged constant array");
  }
  for (const Json& e : v) EDGEOPT_RETURN_IF_ERROR(NestedNumbers(call, e, depth + 1, shape, out));
  return Status::Ok();
}

Status NumberOperand(const LayerCall& call, const Json& v, Operand* out) {
  const Json* value = &v;
  if (ClassNameOf(v) == "__numpy__" && v.contains("config") && v["config"].is_object() &&
      v["config"].contains("value")) {
    const Json& dtype = v["config"].contains("dtype") ? v["config"]["dtype"] : Json();
    if (dtype.is_string() && dtype.get<std::string>().rfind("float", 0) != 0 &&
        dtype.get<std::string>().rfind("int", 0) != 0) {
      return call.Error(StatusCode::kUnsupported, "has a constant array of " +
                                                      dtype.get<std::string>() +
                                                      "; edgeopt converts numbers only");
    }
    value = &v["config"]["value"];
  }
  out->shape.clear();
  out->values.clear();
  return NestedNumbers(call, *value, 0, &out->shape, &out->values);
}

// A constant operand as a graph tensor.
int ConstTensor(LayerCall* call, const Operand& o) {
  return o.tensor >= 0 ? o.tensor : call->FloatConst("const", o.shape, o.values);
}

// The shape of `inputs` broadcast together, if the batch axis stays first and whole: a constant
// of the output's rank must have 1 there (Keras broadcasts it, but edgeopt's graph has batch 1).
Status BroadcastOperands(const LayerCall& call, const std::vector<Operand>& operands,
                         const std::vector<int>& inputs, Shape* out) {
  size_t rank = 0;
  for (const Operand& o : operands) {
    if (o.tensor >= 0) rank = std::max(rank, call.builder->ShapeOf(o.tensor).size());
  }
  *out = call.builder->ShapeOf(inputs[0]);
  for (size_t i = 1; i < inputs.size(); ++i) {
    Shape next;
    if (!BroadcastShapes(*out, call.builder->ShapeOf(inputs[i]), &next)) {
      return call.Error(StatusCode::kInvalidModel,
                        "argument shapes " + ShapeString(*out) + " and " +
                            ShapeString(call.builder->ShapeOf(inputs[i])) + " do not broadcast");
    }
    *out = next;
  }
  for (const Operand& o : operands) {
    if (o.tensor < 0 &&
        (o.shape.size() > rank || (o.shape.size() == rank && rank > 0 && o.shape[0] != 1))) {
      return call.Error(StatusCode::kUnsupported,
                        "has a constant of shape " + ShapeString(o.shape) +
                            " that would broadcast over the batch axis; edgeopt takes constants "
                            "of a lower rank than the tensors, or with 1 first");
    }
  }
  return Status::Ok();
}

// The refusal of a keyword argument the operation does not take.
Status UnexpectedKwarg(const LayerCall& call, const std::string& key) {
  return call.Error(StatusCode::kUnsupported, "is called with the keyword argument '" + key +
                                                  "', which edgeopt does not take for this "
                                                  "operation");
}

// The operands as written: Keras 3's args, or a TFOpLambda's tensor then its "y" (tf.where:
// its condition, then "x" and "y", each a tensor or a number). `params` are keyword arguments
// that are the operation's parameters, not operands.
StatusOr<std::vector<Operand>> Operands(const LayerCall& call, bool tf, bool tf_where,
                                        std::initializer_list<const char*> params = {}) {
  auto is_param = [&](const std::string& key) {
    for (const char* p : params) {
      if (key == p) return true;
    }
    return key == "name";
  };
  std::vector<Operand> out;
  if (tf_where) {
    if (call.inputs.empty() || !call.args.empty()) {
      return call.Error(StatusCode::kInvalidModel, "has no condition tensor");
    }
    out.push_back(Operand{call.inputs[0], {}, {}});
    size_t next = 1;
    for (const char* key : {"x", "y"}) {
      Operand o;
      if (call.kwargs.contains(key) && !call.kwargs[key].is_null()) {
        EDGEOPT_RETURN_IF_ERROR(NumberOperand(call, call.kwargs[key], &o));
      } else if (next < call.inputs.size()) {
        o.tensor = call.inputs[next++];
      } else {
        return call.Error(StatusCode::kUnsupported,
                          "is tf.where without x and y (the indices of true elements), which "
                          "edgeopt does not convert");
      }
      out.push_back(o);
    }
    for (const auto& item : call.kwargs.items()) {
      if (!is_param(item.key()) && item.key() != "x" && item.key() != "y") {
        return UnexpectedKwarg(call, item.key());
      }
    }
    return out;
  }
  if (!tf) {
    size_t next = 0;
    for (const Json& a : call.args) {
      Operand o;
      if (IsKerasTensor(a)) {
        if (next >= call.inputs.size()) {
          return call.Error(StatusCode::kInvalidModel, "has more tensor arguments than inputs");
        }
        o.tensor = call.inputs[next++];
      } else {
        EDGEOPT_RETURN_IF_ERROR(NumberOperand(call, a, &o));
      }
      out.push_back(o);
    }
    for (const auto& item : call.kwargs.items()) {
      if (!is_param(item.key())) return UnexpectedKwarg(call, item.key());
    }
    return out;
  }
  if (call.inputs.empty()) return call.Error(StatusCode::kInvalidModel, "has no tensor");
  if (!call.args.empty()) {  // a constant first argument (1.0 - x), the tensor is "y"
    Operand o;
    EDGEOPT_RETURN_IF_ERROR(NumberOperand(call, call.args[0], &o));
    out.push_back(o);
  }
  for (size_t i = 0; i < call.inputs.size() && i < 2; ++i) {
    out.push_back(Operand{call.inputs[i], {}, {}});
  }
  for (const auto& item : call.kwargs.items()) {
    if (is_param(item.key())) continue;
    if (item.key() == "y" && call.inputs.size() == 1 && call.args.empty()) {
      Operand o;
      EDGEOPT_RETURN_IF_ERROR(NumberOperand(call, item.value(), &o));
      out.push_back(o);
      continue;
    }
    return UnexpectedKwarg(call, item.key());
  }
  return out;
}

// An operation's argument `key`: in its config (Keras 3 keeps the constructor's arguments there:
// Mean(axis=1)), its call's keyword arguments (a TFOpLambda's), or its positional argument
// `position` (Keras 3); nullptr if absent or null.
const Json* Param(const LayerCall& call, const char* key, size_t position) {
  for (const Json* j :
       {call.config.Find(key), call.kwargs.contains(key) ? &call.kwargs[key] : nullptr}) {
    if (j != nullptr && !j->is_null()) return j;
  }
  if (position < call.args.size() && !call.args[position].is_null() &&
      !IsKerasTensor(call.args[position])) {
    return &call.args[position];
  }
  return nullptr;
}

// Ints from an int or a list of ints (shape-like lists may hold null as -1).
StatusOr<std::vector<int64_t>> IntsOf(const LayerCall& call, const Json& j, const char* what) {
  std::vector<int64_t> out;
  auto one = [&](const Json& v) -> Status {
    if (v.is_null()) {
      out.push_back(-1);
    } else if (v.is_number_integer()) {
      out.push_back(v.get<int64_t>());
    } else {
      return call.Error(StatusCode::kInvalidModel, std::string("'") + what + "' must be ints");
    }
    return Status::Ok();
  };
  if (j.is_array()) {
    if (j.size() > 8) return call.Error(StatusCode::kInvalidModel, "too many values");
    for (const Json& v : j) EDGEOPT_RETURN_IF_ERROR(one(v));
  } else {
    EDGEOPT_RETURN_IF_ERROR(one(j));
  }
  return out;
}

// Axis `a` of a rank-`rank` tensor (negative from the end); the batch axis 0 is refused.
StatusOr<int> NonBatchAxis(const LayerCall& call, int64_t a, int rank) {
  if (a < 0) a += rank;
  if (a < 1 || a >= rank) {
    return call.Error(StatusCode::kUnsupported,
                      "axis " + std::to_string(a) + " of a rank-" + std::to_string(rank) +
                          " tensor: edgeopt takes axes 1 to rank - 1 (not the batch)");
  }
  return static_cast<int>(a);
}

bool IsBool(const LayerCall& call, int t) {
  return call.builder->graph().tensors[t].dtype == DType::kBool;
}

// A bool of `t`: itself, or t != 0 (Keras casts a number to bool that way).
int AsBool(LayerCall* call, int t) {
  return IsBool(*call, t) ? t : EmitNotEqual(call, t, 0.0f, "zero", "bool");
}

// x's slice [start, start + size) along `axis` (STRIDED_SLICE); `shrink` drops the axis.
int AxisSlice(LayerCall* call, int x, int axis, int64_t start, int64_t size, bool shrink) {
  const Shape in = call->builder->ShapeOf(x);
  std::vector<int32_t> begin(in.size(), 0), end(in.begin(), in.end()), strides(in.size(), 1);
  begin[axis] = static_cast<int32_t>(start);
  end[axis] = static_cast<int32_t>(start + size);
  Shape out = in;
  out[axis] = static_cast<int32_t>(size);
  if (shrink) out.erase(out.begin() + axis);
  return EmitStridedSlice(call, x, begin, end, strides, 0, shrink ? int64_t{1} << axis : 0, out,
                          shrink ? "unstack" : "split");
}

// einsum of one or two tensors, each index at most once per operand, the batch index first in
// every operand and in the output:
//  - one operand: SUM over the indices the output drops, then TRANSPOSE to the output's order;
//  - two: the shared indices the output keeps are batch dims, the shared ones it drops are
//    contracted; a -> [batch, a's own, contracted], b -> [batch, contracted, b's own] (TRANSPOSE
//    and RESHAPE), BATCH_MATMUL, RESHAPE to [batch, a's own, b's own], TRANSPOSE to the output.
//    An index in one operand only that the output drops is summed out first.
Status ConvertEinsum(LayerCall* call) {
  const Json* sub = Param(*call, "subscripts", 99);
  if (sub == nullptr && !call->args.empty() && call->args[0].is_string()) sub = &call->args[0];
  if (sub == nullptr || !sub->is_string()) {
    return call->Error(StatusCode::kInvalidModel, "has no subscripts");
  }
  std::string eq;
  for (char c : sub->get<std::string>()) {
    if (c != ' ') eq.push_back(c);
  }
  const size_t arrow = eq.find("->");
  if (arrow == std::string::npos) {
    return call->Error(StatusCode::kUnsupported,
                       "einsum '" + eq + "': edgeopt takes explicit output indices ('->')");
  }
  std::vector<std::string> terms;
  const std::string lhs = eq.substr(0, arrow);
  std::string out_idx = eq.substr(arrow + 2);
  for (size_t at = 0;;) {
    const size_t comma = lhs.find(',', at);
    terms.push_back(lhs.substr(at, comma == std::string::npos ? std::string::npos : comma - at));
    if (comma == std::string::npos) break;
    at = comma + 1;
  }
  const size_t n = call->inputs.size();
  if (terms.size() != n || n < 1 || n > 2) {
    return call->Error(StatusCode::kUnsupported,
                       "einsum '" + eq + "' of " + std::to_string(n) +
                           " tensors: edgeopt takes one or two tensors, as many as the terms");
  }
  // A leading ellipsis in every term ("...ij,...jk->...ik"), for the same number of leading
  // axes in every operand (the batch among them): those axes get letters of their own.
  if (eq.find("...") != std::string::npos) {
    int hidden = -1;
    bool ok = out_idx.rfind("...", 0) == 0 && out_idx.find("...", 3) == std::string::npos;
    for (size_t i = 0; ok && i < n; ++i) {
      ok = terms[i].rfind("...", 0) == 0 && terms[i].find("...", 3) == std::string::npos;
      const int h = static_cast<int>(call->builder->ShapeOf(call->inputs[i]).size()) -
                    static_cast<int>(terms[i].size() - 3);
      ok = ok && h >= 1 && h <= 8 && (hidden < 0 || h == hidden);
      hidden = h;
    }
    if (!ok) {
      return call->Error(StatusCode::kUnsupported,
                         "einsum '" + eq +
                             "': edgeopt takes an ellipsis at the start of every term, for the "
                             "same number of axes in every operand");
    }
    std::string lead;
    for (int i = 0; i < hidden; ++i) lead.push_back(static_cast<char>('A' + i));
    for (std::string& t : terms) t = lead + t.substr(3);
    out_idx = lead + out_idx.substr(3);
  }
  auto unique = [](const std::string& t) {
    for (char c : t) {
      if (!std::isalpha(static_cast<unsigned char>(c)) || std::count(t.begin(), t.end(), c) > 1) {
        return false;
      }
    }
    return true;
  };
  std::map<char, int32_t> size;
  for (size_t i = 0; i < n; ++i) {
    const Shape s = call->builder->ShapeOf(call->inputs[i]);
    if (!unique(terms[i]) || terms[i].size() != s.size()) {
      return call->Error(StatusCode::kUnsupported, "einsum '" + eq + "': term '" + terms[i] +
                                                       "' does not name each of " + ShapeString(s) +
                                                       "'s axes once");
    }
    for (size_t d = 0; d < s.size(); ++d) {
      auto it = size.find(terms[i][d]);
      if (it != size.end() && it->second != s[d]) {
        return call->Error(StatusCode::kInvalidModel,
                           "einsum '" + eq + "': index '" + std::string(1, terms[i][d]) +
                               "' has sizes " + std::to_string(it->second) + " and " +
                               std::to_string(s[d]));
      }
      size[terms[i][d]] = s[d];
    }
  }
  bool batch_first = unique(out_idx) && !out_idx.empty();
  for (size_t i = 0; i < n; ++i) batch_first = batch_first && terms[i][0] == out_idx[0];
  for (char c : out_idx) batch_first = batch_first && size.count(c) > 0;
  if (!batch_first) {
    return call->Error(StatusCode::kUnsupported,
                       "einsum '" + eq +
                           "': edgeopt takes the batch index first in every term "
                           "and in the output, each output index from a term");
  }
  auto has = [](const std::string& t, char c) { return t.find(c) != std::string::npos; };
  // Sums out the indices of term i found nowhere else, in place.
  auto sum_own = [&](size_t i, int* t) -> Status {
    std::vector<int32_t> axes;
    std::string kept;
    Shape out;
    const Shape s = call->builder->ShapeOf(*t);
    for (size_t d = 0; d < terms[i].size(); ++d) {
      const char c = terms[i][d];
      const bool elsewhere = has(out_idx, c) || (n == 2 && has(terms[1 - i], c));
      if (elsewhere) {
        kept.push_back(c), out.push_back(s[d]);
      } else {
        axes.push_back(static_cast<int32_t>(d));
      }
    }
    if (axes.empty()) return Status::Ok();
    ir::Attrs attrs;
    attrs["keep_dims"] = false;
    const int y = call->NewTensor(out, "sum");
    call->AddNode("SUM", {*t, call->Int32Const("axes", axes)}, {y}, attrs);
    *t = y;
    terms[i] = kept;
    return Status::Ok();
  };
  auto perm_to = [](const std::string& from, const std::string& to) {
    std::vector<int32_t> perm;
    for (char c : to) perm.push_back(static_cast<int32_t>(from.find(c)));
    return perm;
  };
  int a = call->inputs[0];
  EDGEOPT_RETURN_IF_ERROR(sum_own(0, &a));
  if (n == 1) {
    if (terms[0].size() != out_idx.size()) {
      return call->Error(StatusCode::kInvalidModel, "einsum '" + eq + "': bad output");
    }
    call->outputs = {Transposed(call, a, perm_to(terms[0], out_idx))};
    return Status::Ok();
  }
  int b = call->inputs[1];
  EDGEOPT_RETURN_IF_ERROR(sum_own(1, &b));
  std::string batch, a_own, b_own, contracted;
  for (char c : out_idx) {
    if (has(terms[0], c) && has(terms[1], c)) batch.push_back(c);
    if (has(terms[0], c) && !has(terms[1], c)) a_own.push_back(c);
    if (!has(terms[0], c) && has(terms[1], c)) b_own.push_back(c);
  }
  for (char c : terms[0]) {
    if (has(terms[1], c) && !has(out_idx, c)) contracted.push_back(c);
  }
  if (batch.size() > 3) {
    return call->Error(StatusCode::kUnsupported, "einsum '" + eq + "': more than 3 batch indices");
  }
  auto prod = [&](const std::string& idx) {
    int64_t p = 1;
    for (char c : idx) p *= size[c];
    return static_cast<int32_t>(p);
  };
  Shape bshape;
  for (char c : batch) bshape.push_back(size[c]);
  auto to3 = [&](int t, const std::string& from, const std::string& first,
                 const std::string& second) {
    const int tt = Transposed(call, t, perm_to(from, batch + first + second));
    Shape s = bshape;
    s.push_back(prod(first));
    s.push_back(prod(second));
    return s == call->builder->ShapeOf(tt) ? tt : EmitReshape(call, tt, s, "reshape");
  };
  const int a3 = to3(a, terms[0], a_own, contracted);
  const int b3 = to3(b, terms[1], contracted, b_own);
  Shape mm = bshape;
  mm.push_back(prod(a_own));
  mm.push_back(prod(b_own));
  int y = EmitBatchMatMul(call, a3, b3, false, false, mm, "einsum");
  Shape full = bshape;
  for (char c : a_own + b_own) full.push_back(size[c]);
  if (full != mm) y = EmitReshape(call, y, full, "reshape");
  call->outputs = {Transposed(call, y, perm_to(batch + a_own + b_own, out_idx))};
  return Status::Ok();
}

// One element of a slicing key.
struct KeyItem {
  enum Kind { kIndex, kSlice, kNewAxis, kEllipsis } kind = kSlice;
  int64_t index = 0;
  bool has_start = false, has_stop = false;
  int64_t start = 0, stop = 0, step = 1;
};

Status ParseKeyItem(const LayerCall& call, const Json& j, KeyItem* item) {
  if (j.is_null()) {
    item->kind = KeyItem::kNewAxis;
    return Status::Ok();
  }
  if (j.is_number_integer()) {
    item->kind = KeyItem::kIndex;
    item->index = j.get<int64_t>();
    return Status::Ok();
  }
  if (j.is_object()) {
    const std::string cls = ClassNameOf(j);
    if (cls == "__ellipsis__") {
      item->kind = KeyItem::kEllipsis;
      return Status::Ok();
    }
    // Keras 3: {"class_name": "__slice__", "config": {...}}; tf.keras: {"start", "stop", "step"}.
    const Json* s = &j;
    if (cls == "__slice__" && j.contains("config") && j["config"].is_object()) s = &j["config"];
    if (s->contains("start") || s->contains("stop") || s->contains("step")) {
      auto field = [&](const char* key, bool* has, int64_t* v) -> Status {
        if (!s->contains(key) || (*s)[key].is_null()) return Status::Ok();
        if (!(*s)[key].is_number_integer()) {
          return call.Error(StatusCode::kInvalidModel, "a slice's bounds must be ints");
        }
        *v = (*s)[key].get<int64_t>();
        if (has != nullptr) *has = true;
        return Status::Ok();
      };
      item->kind = KeyItem::kSlice;
      EDGEOPT_RETURN_IF_ERROR(field("start", &item->has_start, &item->start));
      EDGEOPT_RETURN_IF_ERROR(field("stop", &item->has_stop, &item->stop));
      EDGEOPT_RETURN_IF_ERROR(field("step", nullptr, &item->step));
      if (item->step == 0) return call.Error(StatusCode::kInvalidModel, "a slice step of 0");
      return Status::Ok();
    }
  }
  return call.Error(StatusCode::kUnsupported,
                    "slices with a key element that is not an int, a slice, None or Ellipsis (" +
                        j.dump().substr(0, 60) + ")");
}

// x[key] as numpy computes it: STRIDED_SLICE (ints shrink their axis; Python's slice bounds,
// resolved against the shape), then a RESHAPE for None (new axes). The batch axis is kept whole.
Status ConvertGetItem(LayerCall* call, int x, const Json& key) {
  const Shape in = call->builder->ShapeOf(x);
  const int rank = static_cast<int>(in.size());
  std::vector<KeyItem> items;
  for (const Json& j : key.is_array() ? key : Json::array({key})) {
    if (items.size() >= 16) return call->Error(StatusCode::kInvalidModel, "key too long");
    KeyItem item;
    EDGEOPT_RETURN_IF_ERROR(ParseKeyItem(*call, j, &item));
    items.push_back(item);
  }
  int consumed = 0, ellipses = 0;
  for (const KeyItem& k : items) {
    consumed += k.kind == KeyItem::kIndex || k.kind == KeyItem::kSlice;
    ellipses += k.kind == KeyItem::kEllipsis;
  }
  if (ellipses > 1 || consumed > rank) {
    return call->Error(StatusCode::kInvalidModel,
                       "the key does not fit a rank-" + std::to_string(rank) + " tensor");
  }
  // Expand: every axis gets a slice or an index; new axes are kept for the reshape.
  std::vector<KeyItem> full;
  for (const KeyItem& k : items) {
    if (k.kind == KeyItem::kEllipsis) {
      for (int i = 0; i < rank - consumed; ++i) full.push_back(KeyItem());
    } else {
      full.push_back(k);
    }
  }
  if (ellipses == 0) {
    for (int i = consumed; i < rank; ++i) full.push_back(KeyItem());
  }
  std::vector<int32_t> begin, end, strides;
  int64_t end_mask = 0, shrink = 0;
  Shape sliced, out;
  int axis = 0;
  for (const KeyItem& k : full) {
    if (k.kind == KeyItem::kNewAxis) {
      if (axis == 0) {
        return call->Error(StatusCode::kUnsupported, "adds an axis before the batch axis");
      }
      out.push_back(1);
      continue;
    }
    const int64_t dim = in[axis];
    if (k.kind == KeyItem::kIndex) {
      const int64_t i = k.index < 0 ? k.index + dim : k.index;
      if (axis == 0 || i < 0 || i >= dim) {
        return call->Error(axis == 0 ? StatusCode::kUnsupported : StatusCode::kInvalidModel,
                           "indexes axis " + std::to_string(axis) + " (size " +
                               std::to_string(dim) + ") at " + std::to_string(k.index) +
                               (axis == 0 ? "; edgeopt keeps the batch axis whole" : ""));
      }
      begin.push_back(static_cast<int32_t>(i));
      end.push_back(static_cast<int32_t>(i + 1));
      strides.push_back(1);
      shrink |= int64_t{1} << axis;
      ++axis;
      continue;
    }
    // Python's slice.indices().
    int64_t start, stop, length;
    const int64_t step = k.step;
    if (step > 0) {
      start = !k.has_start ? 0 : std::clamp<int64_t>(k.start < 0 ? k.start + dim : k.start, 0, dim);
      stop = !k.has_stop ? dim : std::clamp<int64_t>(k.stop < 0 ? k.stop + dim : k.stop, 0, dim);
      length = stop > start ? (stop - start + step - 1) / step : 0;
    } else {
      start = !k.has_start
                  ? dim - 1
                  : std::clamp<int64_t>(k.start < 0 ? k.start + dim : k.start, -1, dim - 1);
      stop =
          !k.has_stop ? -1 : std::clamp<int64_t>(k.stop < 0 ? k.stop + dim : k.stop, -1, dim - 1);
      length = start > stop ? (start - stop - step - 1) / -step : 0;
    }
    if (axis == 0 && (length != dim || step != 1)) {
      return call->Error(StatusCode::kUnsupported,
                         "slices the batch axis; edgeopt keeps the batch axis whole");
    }
    if (length <= 0) return call->Error(StatusCode::kInvalidModel, "gives an empty slice");
    begin.push_back(static_cast<int32_t>(start));
    end.push_back(static_cast<int32_t>(stop < 0 ? 0 : stop));
    if (stop < 0) end_mask |= int64_t{1} << axis;  // to the first element, going backwards
    strides.push_back(static_cast<int32_t>(step));
    sliced.push_back(static_cast<int32_t>(length));
    out.push_back(static_cast<int32_t>(length));
    ++axis;
  }
  int y = EmitStridedSlice(call, x, begin, end, strides, end_mask, shrink, sliced, "slice");
  if (out != sliced) y = EmitReshape(call, y, out, "reshape");
  call->outputs = {y};
  return Status::Ok();
}

// A number parameter: the first of `keys` in the config, the call's keyword arguments or at
// position `position`; `fallback` when none is.
StatusOr<float> FloatParam(const LayerCall& call, std::initializer_list<const char*> keys,
                           size_t position, float fallback) {
  for (const char* key : keys) {
    const Json* j = Param(call, key, position);
    if (j == nullptr) continue;
    if (!j->is_number() || j->is_boolean()) {
      return call.Error(StatusCode::kUnsupported,
                        std::string("'") + key + "' must be a number (not a tensor)");
    }
    return j->get<float>();
  }
  return fallback;
}

// The one non-batch axis of argmax / cumsum (Keras 3 defaults to the flattened tensor, tf to
// axis 0: both refused).
StatusOr<int> OneAxis(const LayerCall& call, const std::string& name, bool tf, int rank) {
  const Json* axis = Param(call, "axis", 1);
  if (axis == nullptr || !axis->is_number_integer()) {
    return call.Error(StatusCode::kUnsupported,
                      name +
                          (tf ? " over axis 0 (tf's default: the batch)"
                              : " over the flattened tensor (axis None)") +
                          "; edgeopt takes one axis from 1 to rank - 1");
  }
  return NonBatchAxis(call, axis->get<int64_t>(), rank);
}

// `tf`: a tf.keras TFOpLambda / SlicingOpLambda (not a Keras 3 operation).
Status ConvertShapeOp(LayerCall* call, const KerasOp& op, const std::string& name, bool tf) {
  if (op.kind == OpKind::kEinsum) return ConvertEinsum(call);
  if (op.kind == OpKind::kMatmul && call->inputs.size() == 1) {
    // C @ x, C a constant matrix [M, K], x [batch, ..., K, N]: (x^T C^T)^T, a FULLY_CONNECTED
    // (weights C as they are) between two TRANSPOSEs of the last two axes.
    const Json* left = tf ? (!call->args.empty() ? &call->args[0] : nullptr)
                          : (call->args.size() == 2 && !IsKerasTensor(call->args[0]) &&
                                     IsKerasTensor(call->args[1])
                                 ? &call->args[0]
                                 : nullptr);
    if (left != nullptr) {
      const Shape b = call->builder->ShapeOf(call->inputs[0]);
      Operand w;
      EDGEOPT_RETURN_IF_ERROR(NumberOperand(*call, *left, &w));
      const size_t r = b.size();
      if (w.shape.size() != 2 || r < 3 || b[r - 2] != w.shape[1]) {
        return call->Error(StatusCode::kUnsupported,
                           "multiplies a constant " + ShapeString(w.shape) + " by " +
                               ShapeString(b) + "; edgeopt takes [M, K] x [batch, ..., K, N]");
      }
      std::vector<int32_t> swap(r);
      for (size_t d = 0; d < r; ++d) swap[d] = static_cast<int32_t>(d);
      std::swap(swap[r - 1], swap[r - 2]);
      const int wt = call->FloatConst("matrix", w.shape, w.values);
      call->builder->graph().tensors[wt].frozen = true;  // a constant in Keras: not trained
      const int xt = Transposed(call, call->inputs[0], swap);
      Shape yt_shape = call->builder->ShapeOf(xt);
      yt_shape.back() = w.shape[0];
      const int yt = EmitFullyConnected(call, xt, wt, -1, yt_shape, "matmul");
      call->outputs = {Transposed(call, yt, swap)};
      return Status::Ok();
    }
    // x @ C, C a constant matrix [K, N]: a FULLY_CONNECTED without bias.
    const Json* c =
        tf ? (call->kwargs.contains("b") ? &call->kwargs["b"] : nullptr)
           : (call->args.size() == 2 && IsKerasTensor(call->args[0]) ? &call->args[1] : nullptr);
    const Shape a = call->builder->ShapeOf(call->inputs[0]);
    Operand w;
    if (c == nullptr) {
      return call->Error(StatusCode::kInvalidModel, "multiplies without a second operand");
    }
    EDGEOPT_RETURN_IF_ERROR(NumberOperand(*call, *c, &w));
    if (w.shape.size() != 2 || a.size() < 2 || a.back() != w.shape[0]) {
      return call->Error(StatusCode::kUnsupported, "multiplies " + ShapeString(a) +
                                                       " by a constant " + ShapeString(w.shape) +
                                                       "; edgeopt takes [..., K] x [K, N]");
    }
    const int64_t k = w.shape[0], n = w.shape[1];
    const int wt =
        call->FloatConst("matrix", ToShape({n, k}), TransposeData(w.values, {k, n}, {1, 0}));
    call->builder->graph().tensors[wt].frozen = true;  // a constant in Keras: not trained
    Shape out = a;
    out.back() = static_cast<int32_t>(n);
    call->outputs = {EmitFullyConnected(call, call->inputs[0], wt, -1, out, "matmul")};
    return Status::Ok();
  }
  if (op.kind == OpKind::kMatmul) {
    if (call->inputs.size() != 2) {
      return call->Error(StatusCode::kUnsupported,
                         "multiplies " + std::to_string(call->inputs.size()) +
                             " tensors; edgeopt takes two (no constant matrix)");
    }
    const Shape a = call->builder->ShapeOf(call->inputs[0]);
    const Shape b = call->builder->ShapeOf(call->inputs[1]);
    const size_t r = a.size();
    bool ok = r >= 3 && b.size() == r && a[r - 1] == b[r - 2];
    for (size_t d = 0; ok && d + 2 < r; ++d) ok = a[d] == b[d];
    if (!ok) {
      return call->Error(StatusCode::kUnsupported,
                         "multiplies " + ShapeString(a) + " by " + ShapeString(b) +
                             "; edgeopt takes [..., M, K] x [..., K, N] with the same leading "
                             "dims (the batch among them)");
    }
    Shape out = a;
    out[r - 1] = b[r - 1];
    call->outputs = {
        EmitBatchMatMul(call, call->inputs[0], call->inputs[1], false, false, out, "matmul")};
    return Status::Ok();
  }
  if (op.kind != OpKind::kConcat && op.kind != OpKind::kStack && call->inputs.size() != 1) {
    return call->Error(StatusCode::kInvalidModel,
                       name + " takes one tensor, got " + std::to_string(call->inputs.size()));
  }
  const int x = call->inputs[0];
  const Shape in = call->builder->ShapeOf(x);
  const int rank = static_cast<int>(in.size());
  switch (op.kind) {
    case OpKind::kArgMinMax: {
      EDGEOPT_ASSIGN_OR_RETURN(const int k, OneAxis(*call, name, tf, rank));
      const Json* keep = Param(*call, "keepdims", 2);
      const bool keepdims = keep != nullptr && keep->is_boolean() && keep->get<bool>();
      // Keras 3 gives int32; tf.math.argmax its output_type, int64 by default.
      const Json* type = tf ? Param(*call, "output_type", 2) : nullptr;
      const bool int32 = !tf || (type != nullptr && type->is_string() && *type == "int32");
      const DType dtype = int32 ? DType::kInt32 : DType::kInt64;
      Shape out = in;
      out.erase(out.begin() + k);
      int y = NewTensorOf(call, out, dtype, "index");
      ir::Attrs attrs;
      attrs["output_type"] = std::string(int32 ? "INT32" : "INT64");
      call->AddNode(op.op, {x, call->Int32Const("axis", {k})}, {y}, attrs);
      if (keepdims) {
        out.insert(out.begin() + k, 1);
        y = EmitReshape(call, y, out, "keepdims");
        call->builder->graph().tensors[y].dtype = dtype;
      }
      call->outputs = {y};
      return Status::Ok();
    }
    case OpKind::kOneHot: {
      // EQUAL(x as [..., 1], [0, 1, ..., n - 1]): indices outside [0, n) give zeros, as
      // tf.one_hot does; then a float32 CAST (and on / off values).
      const Json* n = Param(*call, "num_classes", 1);
      if (n == nullptr) n = Param(*call, "depth", 1);
      if (n == nullptr || !n->is_number_integer() || n->get<int64_t>() < 1 ||
          n->get<int64_t>() > 65536) {
        return call->Error(StatusCode::kInvalidModel, "needs a number of classes from 1 to 65536");
      }
      const Json* axis = Param(*call, "axis", 2);
      if (axis != nullptr &&
          (!axis->is_number_integer() || (*axis != -1 && axis->get<int64_t>() != rank))) {
        return call->Error(StatusCode::kUnsupported,
                           "puts the classes on axis " + axis->dump() + "; edgeopt takes the last");
      }
      const Json* sparse = Param(*call, "sparse", 4);
      if (sparse != nullptr && sparse->is_boolean() && sparse->get<bool>()) {
        return call->Error(StatusCode::kUnsupported, "is sparse; edgeopt makes dense tensors");
      }
      const Json* dtype = Param(*call, "dtype", 3);
      if (dtype != nullptr && !(dtype->is_string() && *dtype == "float32")) {
        return call->Error(StatusCode::kUnsupported,
                           "gives " + dtype->dump() + "; edgeopt's one_hot gives float32");
      }
      EDGEOPT_ASSIGN_OR_RETURN(const float on, FloatParam(*call, {"on_value"}, 99, 1.0f));
      EDGEOPT_ASSIGN_OR_RETURN(const float off, FloatParam(*call, {"off_value"}, 99, 0.0f));
      EDGEOPT_ASSIGN_OR_RETURN(int y, EmitOneHot(call, AsIndices(call, x), n->get<int64_t>()));
      if (on - off != 1.0f) y = EmitScalarOp(call, "MUL", y, on - off);
      if (off != 0.0f) y = EmitScalarOp(call, "ADD", y, off);
      call->outputs = {y};
      return Status::Ok();
    }
    case OpKind::kSign: {
      int sides[2];
      for (int i = 0; i < 2; ++i) {
        const int b = NewBoolTensor(call, in, i == 0 ? "positive" : "negative");
        call->AddNode(i == 0 ? "GREATER" : "LESS", {x, call->FloatConst("zero", Shape{}, {0.0f})},
                      {b});
        sides[i] = call->NewTensor(in, "cast");
        call->AddNode("CAST", {b}, {sides[i]});
      }
      const int y = call->NewTensor(in, "sign");
      call->AddNode("SUB", {sides[0], sides[1]}, {y},
                    {{"fused_activation_function", std::string("NONE")}});
      call->outputs = {y};
      return Status::Ok();
    }
    case OpKind::kCumsum: {
      // A product with a triangular 0 / 1 matrix along the axis (FULLY_CONNECTED, the axis
      // moved last and back): exact sums of the kept values, trainable through, and int8.
      EDGEOPT_ASSIGN_OR_RETURN(const int k, OneAxis(*call, name, tf, rank));
      const Json* dtype = Param(*call, "dtype", 2);
      if (dtype != nullptr && !(dtype->is_string() && *dtype == "float32")) {
        return call->Error(StatusCode::kUnsupported,
                           "sums as " + dtype->dump() + "; edgeopt's graphs are float32");
      }
      const Json* exclusive = Param(*call, "exclusive", 99);
      const Json* reverse = Param(*call, "reverse", 99);
      const bool ex = exclusive != nullptr && exclusive->is_boolean() && exclusive->get<bool>();
      const bool rev = reverse != nullptr && reverse->is_boolean() && reverse->get<bool>();
      const int64_t len = in[k];
      if (len > 2048) {
        return call->Error(StatusCode::kUnsupported,
                           "sums " + std::to_string(len) +
                               " values; edgeopt's cumsum (a triangular matrix) takes up to 2048");
      }
      std::vector<float> tri(static_cast<size_t>(len * len), 0.0f);  // [out, in]
      for (int64_t i = 0; i < len; ++i) {
        for (int64_t j = 0; j < len; ++j) {
          const bool take = rev ? (ex ? j > i : j >= i) : (ex ? j < i : j <= i);
          tri[i * len + j] = take ? 1.0f : 0.0f;
        }
      }
      const int w = call->FloatConst("cumsum_matrix", ToShape({len, len}), tri);
      call->builder->graph().tensors[w].frozen = true;  // not a weight: Keras trains nothing here
      std::vector<int32_t> perm, back(rank);
      for (int d = 0; d < rank; ++d) {
        if (d != k) perm.push_back(d);
      }
      perm.push_back(k);
      for (int d = 0; d < rank; ++d) back[perm[d]] = d;
      const int xt = Transposed(call, x, perm);
      const int yt = EmitFullyConnected(call, xt, w, -1, call->builder->ShapeOf(xt), "cumsum");
      call->outputs = {Transposed(call, yt, back)};
      return Status::Ok();
    }
    case OpKind::kSpaceDepth: {
      // Sub-pixel convolutions (super-resolution): block_size x block_size pixels <-> channels.
      const Json* bs = Param(*call, "block_size", 1);
      const Json* format = Param(*call, "data_format", 2);
      if (format != nullptr && !(format->is_string() && *format == "NHWC")) {
        return call->Error(StatusCode::kUnsupported,
                           "has data_format " + format->dump() + "; edgeopt takes NHWC");
      }
      if (bs == nullptr || !bs->is_number_integer() || bs->get<int64_t>() < 2 ||
          bs->get<int64_t>() > 64 || rank != 4) {
        return call->Error(StatusCode::kUnsupported,
                           name + " needs an NHWC image and a block_size from 2 to 64");
      }
      const int32_t b = static_cast<int32_t>(bs->get<int64_t>());
      Shape out = in;
      if (std::string(op.op) == "DEPTH_TO_SPACE") {
        if (in[3] % (b * b) != 0) {
          return call->Error(
              StatusCode::kInvalidModel,
              std::to_string(in[3]) + " channels are not a multiple of " + std::to_string(b * b));
        }
        out = {in[0], in[1] * b, in[2] * b, in[3] / (b * b)};
      } else {
        if (in[1] % b != 0 || in[2] % b != 0) {
          return call->Error(
              StatusCode::kInvalidModel,
              ShapeString(in) + " is not a multiple of block_size " + std::to_string(b));
        }
        out = {in[0], in[1] / b, in[2] / b, in[3] * b * b};
      }
      EDGEOPT_RETURN_IF_ERROR(CheckOutputSize(*call, out));
      const int y = call->NewTensor(out, "pixels");
      call->AddNode(op.op, {x}, {y}, {{"block_size", int64_t{b}}});
      call->outputs = {y};
      return Status::Ok();
    }
    case OpKind::kGelu: {
      const Json* approx = Param(*call, "approximate", 1);
      ir::Attrs attrs;
      attrs["approximate"] = approx != nullptr && approx->is_boolean() ? approx->get<bool>() : !tf;
      call->outputs = {EmitUnary(call, "GELU", x, attrs)};
      return Status::Ok();
    }
    case OpKind::kCast: {
      const Json* dtype = Param(*call, "dtype", 1);
      if (dtype != nullptr && dtype->is_string() && *dtype == "bool") {
        if (IsInt(*call, x)) {
          return call->Error(StatusCode::kUnsupported,
                             "casts an integer tensor to bool; cast it to float32 first");
        }
        call->outputs = {AsBool(call, x)};
        return Status::Ok();
      }
      if (dtype != nullptr && dtype->is_string() && (*dtype == "int32" || *dtype == "int64")) {
        // Toward zero from float32 (indices for one_hot, comparisons with argmax).
        const DType to = *dtype == "int32" ? DType::kInt32 : DType::kInt64;
        if (call->builder->graph().tensors[x].dtype == to) {
          call->outputs = {x};
        } else {
          const int y = NewTensorOf(call, in, to, "cast");
          call->AddNode("CAST", {x}, {y});
          call->outputs = {y};
        }
        return Status::Ok();
      }
      if (dtype == nullptr || !dtype->is_string() || *dtype != "float32") {
        return call->Error(StatusCode::kUnsupported,
                           "casts to " + (dtype != nullptr ? dtype->dump() : std::string("?")) +
                               "; edgeopt casts to float32, int32, int64 and bool");
      }
      if (IsBool(*call, x) || IsInt(*call, x)) {
        const int y = call->NewTensor(in, "cast");
        call->AddNode("CAST", {x}, {y});
        call->outputs = {y};
      } else {
        call->outputs = {x};
      }
      return Status::Ok();
    }
    case OpKind::kStack: {
      const Json* axis = Param(*call, "axis", 1);
      const int64_t a = axis != nullptr && axis->is_number_integer() ? axis->get<int64_t>() : 0;
      EDGEOPT_ASSIGN_OR_RETURN(const int k, NonBatchAxis(*call, a, rank + 1));
      std::vector<int> pieces;
      Shape one = in;
      one.insert(one.begin() + k, 1);
      for (int t : call->inputs) {
        if (call->builder->ShapeOf(t) != in) {
          return call->Error(StatusCode::kInvalidModel,
                             "stacks tensors of different shapes (" + ShapeString(in) + ", " +
                                 ShapeString(call->builder->ShapeOf(t)) + ")");
        }
        pieces.push_back(EmitReshape(call, t, one, "reshape"));
      }
      EDGEOPT_ASSIGN_OR_RETURN(const int y, EmitConcatenation(call, pieces, k, "stack"));
      call->outputs = {y};
      return Status::Ok();
    }
    case OpKind::kTile: {
      const Json* reps = Param(*call, "repeats", 1);
      if (reps == nullptr) reps = Param(*call, "multiples", 1);
      if (reps == nullptr) return call->Error(StatusCode::kInvalidModel, "has no repeats");
      EDGEOPT_ASSIGN_OR_RETURN(std::vector<int64_t> r, IntsOf(*call, *reps, "repeats"));
      if (r.size() > in.size()) {
        return call->Error(StatusCode::kUnsupported,
                           "tiles into more axes than the tensor's; edgeopt keeps the batch first");
      }
      r.insert(r.begin(), in.size() - r.size(), 1);  // numpy: ones in front
      std::vector<int32_t> multiples;
      Shape out;
      for (size_t d = 0; d < r.size(); ++d) {
        if (r[d] < 1 || r[d] > 65536 || (d == 0 && r[d] != 1)) {
          return call->Error(d == 0 ? StatusCode::kUnsupported : StatusCode::kInvalidModel,
                             "tiles axis " + std::to_string(d) + " " + std::to_string(r[d]) +
                                 " times" + (d == 0 ? "; edgeopt keeps the batch whole" : ""));
        }
        multiples.push_back(static_cast<int32_t>(r[d]));
        out.push_back(static_cast<int32_t>(in[d] * r[d]));
      }
      EDGEOPT_RETURN_IF_ERROR(CheckOutputSize(*call, out));
      const int y = call->NewTensor(out, "tile");
      call->AddNode("TILE", {x, call->Int32Const("multiples", multiples)}, {y});
      call->outputs = {y};
      return Status::Ok();
    }
    case OpKind::kRepeat: {
      // Each element `repeats` times along the axis: a new axis after it, TILE, RESHAPE back.
      const Json* reps = Param(*call, "repeats", 1);
      const Json* axis = Param(*call, "axis", 2);
      if (reps == nullptr || !reps->is_number_integer() || axis == nullptr ||
          !axis->is_number_integer()) {
        return call->Error(StatusCode::kUnsupported,
                           "repeats without an int count and an int axis (edgeopt takes those)");
      }
      const int64_t r = reps->get<int64_t>();
      EDGEOPT_ASSIGN_OR_RETURN(const int k, NonBatchAxis(*call, axis->get<int64_t>(), rank));
      if (r < 1 || r > 65536) return call->Error(StatusCode::kInvalidModel, "a bad repeat count");
      Shape split = in, out = in;
      split.insert(split.begin() + k + 1, 1);
      out[k] = static_cast<int32_t>(in[k] * r);
      EDGEOPT_RETURN_IF_ERROR(CheckOutputSize(*call, out));
      std::vector<int32_t> multiples(split.size(), 1);
      multiples[k + 1] = static_cast<int32_t>(r);
      Shape tiled = split;
      tiled[k + 1] = static_cast<int32_t>(r);
      const int t = call->NewTensor(tiled, "tile");
      call->AddNode(
          "TILE",
          {EmitReshape(call, x, split, "reshape"), call->Int32Const("multiples", multiples)}, {t});
      call->outputs = {EmitReshape(call, t, out, "reshape")};
      return Status::Ok();
    }
    case OpKind::kUnstack:
    case OpKind::kSplit: {
      const bool split = op.kind == OpKind::kSplit;
      const Json* axis = Param(*call, "axis", 2);
      const int64_t a = axis != nullptr && axis->is_number_integer() ? axis->get<int64_t>() : 0;
      EDGEOPT_ASSIGN_OR_RETURN(const int k, NonBatchAxis(*call, a, rank));
      const int64_t dim = in[k];
      std::vector<int64_t> starts, sizes;
      if (!split) {
        const Json* num = Param(*call, "num", 1);
        if (num != nullptr && (!num->is_number_integer() || num->get<int64_t>() != dim)) {
          return call->Error(
              StatusCode::kInvalidModel,
              "unstacks " + num->dump() + " tensors from an axis of size " + std::to_string(dim));
        }
        for (int64_t i = 0; i < dim; ++i) starts.push_back(i), sizes.push_back(1);
      } else {
        const Json* spec = Param(*call, "indices_or_sections", 1);
        if (spec == nullptr) spec = Param(*call, "num_or_size_splits", 1);
        if (spec == nullptr) return call->Error(StatusCode::kInvalidModel, "has no sections");
        EDGEOPT_ASSIGN_OR_RETURN(std::vector<int64_t> v, IntsOf(*call, *spec, "sections"));
        if (spec->is_number_integer()) {  // n equal sections
          const int64_t n = v[0];
          if (n <= 0 || dim % n != 0) {
            return call->Error(StatusCode::kInvalidModel,
                               "splits an axis of size " + std::to_string(dim) + " into " +
                                   std::to_string(n) + " equal sections");
          }
          for (int64_t i = 0; i < n; ++i) starts.push_back(i * (dim / n)), sizes.push_back(dim / n);
        } else if (!tf) {  // Keras 3 (numpy): the indices where sections start
          int64_t prev = 0;
          for (size_t i = 0; i <= v.size(); ++i) {
            const int64_t at = i < v.size() ? std::clamp<int64_t>(v[i], 0, dim) : dim;
            if (at < prev) {
              return call->Error(StatusCode::kUnsupported, "has decreasing split indices");
            }
            starts.push_back(prev), sizes.push_back(at - prev);
            prev = at;
          }
        } else {  // tf: the sizes, one of them may be -1
          int64_t known = 0, unknown = -1;
          for (size_t i = 0; i < v.size(); ++i) {
            if (v[i] == -1 && unknown < 0) {
              unknown = static_cast<int64_t>(i);
            } else if (v[i] < 0) {
              return call->Error(StatusCode::kInvalidModel, "has a negative split size");
            } else {
              known += v[i];
            }
          }
          if (unknown >= 0) v[unknown] = dim - known, known = dim;
          if (known != dim || (unknown >= 0 && v[unknown] < 0)) {
            return call->Error(StatusCode::kInvalidModel,
                               "split sizes do not add up to " + std::to_string(dim));
          }
          int64_t at = 0;
          for (int64_t size : v) starts.push_back(at), sizes.push_back(size), at += size;
        }
      }
      call->outputs.clear();
      for (size_t i = 0; i < starts.size(); ++i) {
        if (sizes[i] <= 0) {
          return call->Error(StatusCode::kUnsupported, "gives an empty section");
        }
        call->outputs.push_back(AxisSlice(call, x, k, starts[i], sizes[i], !split));
      }
      return Status::Ok();
    }
    case OpKind::kSoftmax: {
      const Json* axis = Param(*call, "axis", 1);
      const int64_t a = axis != nullptr && axis->is_number_integer() ? axis->get<int64_t>() : -1;
      if (a != -1 && a != rank - 1) {
        return call->Error(StatusCode::kUnsupported, name + " over axis " + std::to_string(a) +
                                                         " (TFLite's works on the last axis)");
      }
      if (std::string(op.op) == "SOFTMAX") {
        EDGEOPT_ASSIGN_OR_RETURN(const int y, EmitSoftmax(call, x, -1));
        call->outputs = {y};
      } else {
        call->outputs = {EmitUnary(call, op.op, x)};
      }
      return Status::Ok();
    }
    case OpKind::kGetItem: {
      const Json* key = call->kwargs.contains("slice_spec") ? &call->kwargs["slice_spec"]
                        : call->args.size() > 1             ? &call->args[1]
                                                            : nullptr;
      if (key == nullptr) return call->Error(StatusCode::kInvalidModel, "has no key");
      return ConvertGetItem(call, x, *key);
    }
    case OpKind::kReduce: {
      const Json* axis = Param(*call, "axis", 1);
      if (axis == nullptr) {
        return call->Error(StatusCode::kUnsupported,
                           name + " over every axis reduces the batch too; edgeopt needs axes");
      }
      EDGEOPT_ASSIGN_OR_RETURN(std::vector<int64_t> axes, IntsOf(*call, *axis, "axis"));
      const Json* keep = Param(*call, "keepdims", 2);
      const bool keepdims = keep != nullptr && keep->is_boolean() && keep->get<bool>();
      std::vector<int32_t> list;
      std::vector<bool> reduced(rank, false);
      for (int64_t a : axes) {
        EDGEOPT_ASSIGN_OR_RETURN(const int k, NonBatchAxis(*call, a, rank));
        if (!reduced[k]) list.push_back(k);
        reduced[k] = true;
      }
      Shape out;
      for (int d = 0; d < rank; ++d) {
        if (!reduced[d]) out.push_back(in[d]);
        if (reduced[d] && keepdims) out.push_back(1);
      }
      ir::Attrs attrs;
      attrs["keep_dims"] = keepdims;
      const int y = call->NewTensor(out, "reduce");
      call->AddNode(op.op, {x, call->Int32Const("axes", list)}, {y}, attrs);
      call->outputs = {y};
      return Status::Ok();
    }
    case OpKind::kConcat: {
      const Json* axis = Param(*call, "axis", 1);
      const int64_t a = axis != nullptr && axis->is_number_integer() ? axis->get<int64_t>() : 0;
      EDGEOPT_ASSIGN_OR_RETURN(const int k, NonBatchAxis(*call, a, rank));
      EDGEOPT_ASSIGN_OR_RETURN(const int y, EmitConcatenation(call, call->inputs, k, "concat"));
      call->outputs = {y};
      return Status::Ok();
    }
    case OpKind::kReshape: {
      const Json* shape = Param(*call, "newshape", 1);
      if (shape == nullptr) shape = Param(*call, "new_shape", 1);
      if (shape == nullptr) shape = Param(*call, "shape", 1);
      if (shape == nullptr) return call->Error(StatusCode::kInvalidModel, "has no new shape");
      EDGEOPT_ASSIGN_OR_RETURN(std::vector<int64_t> want, IntsOf(*call, *shape, "newshape"));
      int64_t elements = 1, known = 1, unknown = -1;
      for (int d = 1; d < rank; ++d) elements *= in[d];
      if (want.empty() || want[0] != -1) {
        return call->Error(StatusCode::kUnsupported,
                           "reshapes to " + ShapeString(ToShape(want)) +
                               "; edgeopt takes shapes that keep the batch first (-1 or None)");
      }
      for (size_t d = 1; d < want.size(); ++d) {
        if (want[d] == -1 && unknown < 0) {
          unknown = static_cast<int64_t>(d);
        } else if (want[d] <= 0) {
          return call->Error(StatusCode::kInvalidModel, "has a bad new shape");
        } else {
          known *= want[d];
        }
      }
      if (unknown > 0 && known > 0 && elements % known == 0) want[unknown] = elements / known;
      Shape out = {in[0]};
      int64_t total = 1;
      for (size_t d = 1; d < want.size(); ++d) {
        total *= want[d];
        out.push_back(static_cast<int32_t>(want[d]));
      }
      if (total != elements) {
        return call->Error(StatusCode::kInvalidModel, "cannot reshape " + ShapeString(in) + " to " +
                                                          ShapeString(ToShape(want)));
      }
      call->outputs = {EmitReshape(call, x, out, "reshape")};
      return Status::Ok();
    }
    case OpKind::kTranspose: {
      const Json* axes = Param(*call, "axes", 1);
      if (axes == nullptr) {
        return call->Error(StatusCode::kUnsupported,
                           "reverses every axis, the batch too; edgeopt needs axes");
      }
      EDGEOPT_ASSIGN_OR_RETURN(std::vector<int64_t> perm, IntsOf(*call, *axes, "axes"));
      std::vector<bool> seen(rank, false);
      std::vector<int32_t> p;
      Shape out;
      for (int64_t a : perm) {
        const int64_t k = a < 0 ? a + rank : a;
        if (k < 0 || k >= rank || seen[k] || perm.size() != in.size()) {
          return call->Error(StatusCode::kInvalidModel, "axes are not a permutation");
        }
        seen[k] = true;
        p.push_back(static_cast<int32_t>(k));
        out.push_back(in[k]);
      }
      if (p[0] != 0) {
        return call->Error(StatusCode::kUnsupported,
                           "moves the batch axis; edgeopt keeps it first");
      }
      call->outputs = {EmitTranspose(call, x, p, "transpose")};
      return Status::Ok();
    }
    case OpKind::kExpandDims: {
      const Json* axis = Param(*call, "axis", 1);
      if (axis == nullptr || !axis->is_number_integer()) {
        return call->Error(StatusCode::kInvalidModel, "needs an int axis");
      }
      EDGEOPT_ASSIGN_OR_RETURN(const int k, NonBatchAxis(*call, axis->get<int64_t>(), rank + 1));
      Shape out = in;
      out.insert(out.begin() + k, 1);
      call->outputs = {EmitReshape(call, x, out, "reshape")};
      return Status::Ok();
    }
    case OpKind::kSqueeze: {
      const Json* axis = Param(*call, "axis", 1);
      std::vector<bool> drop(rank, false);
      if (axis == nullptr) {
        for (int d = 1; d < rank; ++d) drop[d] = in[d] == 1;
      } else {
        EDGEOPT_ASSIGN_OR_RETURN(std::vector<int64_t> axes, IntsOf(*call, *axis, "axis"));
        for (int64_t a : axes) {
          EDGEOPT_ASSIGN_OR_RETURN(const int k, NonBatchAxis(*call, a, rank));
          if (in[k] != 1) {
            return call->Error(StatusCode::kInvalidModel, "squeezes axis " + std::to_string(k) +
                                                              " of size " + std::to_string(in[k]));
          }
          drop[k] = true;
        }
      }
      Shape out;
      for (int d = 0; d < rank; ++d) {
        if (!drop[d]) out.push_back(in[d]);
      }
      call->outputs = {EmitReshape(call, x, out, "reshape")};
      return Status::Ok();
    }
    default:
      break;
  }
  return call->Error(StatusCode::kInternal, "not a shape operation");
}

// Elementwise operations of tensors and constants: arithmetic, unary math, activations,
// comparisons, logical operations, where, clip.
Status ConvertElementwise(LayerCall* call, const KerasOp& op, const std::string& name, bool tf) {
  const std::string builtin = op.op;
  const bool tf_where = tf && op.kind == OpKind::kWhere;
  EDGEOPT_ASSIGN_OR_RETURN(
      std::vector<Operand> operands,
      Operands(*call, tf, tf_where,
               {"alpha", "negative_slope", "clip_value_min", "clip_value_max", "decimals"}));
  if (op.kind == OpKind::kClip && operands.size() == 3 && operands[1].tensor < 0 &&
      operands[2].tensor < 0 && operands[1].values.size() == 1 && operands[2].values.size() == 1) {
    operands.resize(1);  // Keras 3's positional clip(x, x_min, x_max): parameters
  }
  const size_t arity = op.kind == OpKind::kWhere                                   ? 3
                       : op.kind == OpKind::kBinary || op.kind == OpKind::kCompare ? 2
                       : op.kind == OpKind::kLogical && builtin != "LOGICAL_NOT"   ? 2
                                                                                   : 1;
  if (operands.size() != arity) {
    return call->Error(StatusCode::kInvalidModel, name + " takes " + std::to_string(arity) +
                                                      " arguments, got " +
                                                      std::to_string(operands.size()));
  }
  bool any_tensor = false;
  for (const Operand& o : operands) any_tensor |= o.tensor >= 0;
  if (!any_tensor) return call->Error(StatusCode::kUnsupported, "has no tensor argument");
  // Integer tensors (argmax, a cast to int) are compared only, with integer constants.
  DType int_type = DType::kFloat32;
  for (const Operand& o : operands) {
    if (o.tensor >= 0 && IsInt(*call, o.tensor)) {
      int_type = call->builder->graph().tensors[o.tensor].dtype;
    }
  }
  if (int_type != DType::kFloat32) {
    if (op.kind != OpKind::kCompare) {
      return call->Error(StatusCode::kUnsupported,
                         name +
                             " of an integer tensor; cast it to float32 first (comparisons "
                             "take it)");
    }
    for (const Operand& o : operands) {
      if (o.tensor >= 0 && call->builder->graph().tensors[o.tensor].dtype != int_type) {
        return call->Error(StatusCode::kUnsupported,
                           "compares tensors of different types; cast them to one");
      }
      for (float v : o.values) {
        if (v != std::trunc(v) || std::fabs(v) > 2147483647.0f) {
          return call->Error(StatusCode::kUnsupported,
                             "compares an integer tensor with " + std::to_string(v));
        }
      }
    }
  }
  if (arity == 1) {
    const int x = operands[0].tensor;  // a tensor: any_tensor
    if (op.kind == OpKind::kLogical) {
      const int y = NewBoolTensor(call, call->builder->ShapeOf(x), "not");
      call->AddNode("LOGICAL_NOT", {AsBool(call, x)}, {y});
      call->outputs = {y};
      return Status::Ok();
    }
    if (op.kind == OpKind::kClip) {
      EDGEOPT_ASSIGN_OR_RETURN(const float lo,
                               FloatParam(*call, {"x_min", "clip_value_min"}, 1, NAN));
      EDGEOPT_ASSIGN_OR_RETURN(const float hi,
                               FloatParam(*call, {"x_max", "clip_value_max"}, 2, NAN));
      if (!(lo <= hi)) {
        return call->Error(StatusCode::kUnsupported,
                           "clips without a number minimum and maximum (min <= max)");
      }
      // From 0: a ReLU (RELU6 for [0, 6], RELU + MINIMUM for other maxima); [-1, 1]:
      // RELU_N1_TO_1; else MAXIMUM and MINIMUM.
      if (lo == 0.0f) {
        EDGEOPT_ASSIGN_OR_RETURN(
            const int y, EmitReLU(call, x, std::isinf(hi) ? -1.0 : hi, 0.0, 0.0, /*fuse_node=*/-1));
        call->outputs = {y};
      } else if (lo == -1.0f && hi == 1.0f) {
        call->outputs = {EmitUnary(call, "RELU_N1_TO_1", x)};
      } else {
        int y = EmitScalarOp(call, "MAXIMUM", x, lo);
        if (!std::isinf(hi)) y = EmitScalarOp(call, "MINIMUM", y, hi);
        call->outputs = {y};
      }
      return Status::Ok();
    }
    if (op.kind == OpKind::kUnary) {
      const Json* decimals = builtin == "ROUND" ? Param(*call, "decimals", 1) : nullptr;
      if (decimals != nullptr && !(decimals->is_number_integer() && *decimals == 0)) {
        return call->Error(StatusCode::kUnsupported,
                           "rounds to " + decimals->dump() + " decimals; edgeopt takes 0");
      }
      if (builtin == "RECIPROCAL") {  // 1 / x
        const int one = call->FloatConst("one", Shape{}, {1.0f});
        const int y = call->NewTensor(call->builder->ShapeOf(x), "reciprocal");
        call->AddNode("DIV", {one, x}, {y}, {{"fused_activation_function", std::string("NONE")}});
        call->outputs = {y};
      } else if (builtin == "LOG1P") {  // log(1 + x)
        call->outputs = {EmitUnary(call, "LOG", EmitScalarOp(call, "ADD", x, 1.0f))};
      } else if (builtin == "EXPM1") {  // exp(x) - 1
        call->outputs = {EmitScalarOp(call, "SUB", EmitUnary(call, "EXP", x), 1.0f)};
      } else {
        call->outputs = {EmitUnary(call, op.op, x)};
      }
      return Status::Ok();
    }
    ActivationSpec spec;
    spec.name = op.op;
    if (spec.name == "leaky_relu") {
      EDGEOPT_ASSIGN_OR_RETURN(const float slope,
                               FloatParam(*call, {"negative_slope", "alpha"}, 1, 0.2f));
      EDGEOPT_ASSIGN_OR_RETURN(const int y, EmitLeakyReLU(call, x, slope));
      call->outputs = {y};
      return Status::Ok();
    }
    if (spec.name == "elu") {
      EDGEOPT_ASSIGN_OR_RETURN(const float alpha, FloatParam(*call, {"alpha"}, 1, 1.0f));
      EDGEOPT_ASSIGN_OR_RETURN(const int y, EmitELU(call, x, alpha));
      call->outputs = {y};
      return Status::Ok();
    }
    if (spec.name == "log_sigmoid") {  // -softplus(-x)
      spec.name = "softplus";
      EDGEOPT_ASSIGN_OR_RETURN(const int sp,
                               ApplyActivation(call, spec, EmitUnary(call, "NEG", x), -1));
      call->outputs = {EmitUnary(call, "NEG", sp)};
      return Status::Ok();
    }
    EDGEOPT_ASSIGN_OR_RETURN(const int y, ApplyActivation(call, spec, x, -1));
    call->outputs = {y};
    return Status::Ok();
  }
  if (builtin == "POW" && operands[0].tensor >= 0 && operands[1].tensor < 0 &&
      operands[1].values.size() == 1) {
    // x ** c: the builtin op of a common exponent (which trains and quantizes), POW otherwise.
    const float c = operands[1].values[0];
    const char* unary = c == 2.0f ? "SQUARE" : c == 0.5f ? "SQRT" : c == -0.5f ? "RSQRT" : "";
    if (*unary != '\0') {
      call->outputs = {EmitUnary(call, unary, operands[0].tensor)};
      return Status::Ok();
    }
    if (c == 1.0f) {
      call->outputs = {operands[0].tensor};
      return Status::Ok();
    }
  }
  std::vector<int> in;
  for (size_t i = 0; i < operands.size(); ++i) {
    const Operand& o = operands[i];
    int t = o.tensor >= 0 || int_type == DType::kFloat32
                ? ConstTensor(call, o)
                : IntConst(call, "const", o.shape,
                           std::vector<int64_t>(o.values.begin(), o.values.end()), int_type);
    if (op.kind == OpKind::kLogical || (op.kind == OpKind::kWhere && i == 0)) {
      if (operands[i].tensor < 0) {
        return call->Error(StatusCode::kUnsupported, name + " of a constant");
      }
      t = AsBool(call, t);
    } else if (IsBool(*call, t)) {
      return call->Error(StatusCode::kUnsupported,
                         name + " of a bool tensor; cast it to float32 first");
    }
    in.push_back(t);
  }
  Shape out;
  EDGEOPT_RETURN_IF_ERROR(BroadcastOperands(*call, operands, in, &out));
  ir::Attrs attrs;
  if (builtin == "ADD" || builtin == "SUB" || builtin == "MUL" || builtin == "DIV") {
    attrs["fused_activation_function"] = std::string("NONE");
  }
  const bool bool_out = op.kind == OpKind::kCompare || op.kind == OpKind::kLogical;
  const int y = bool_out ? NewBoolTensor(call, out, "op") : call->NewTensor(out, "op");
  call->AddNode(builtin, in, {y}, attrs);
  call->outputs = {y};
  return Status::Ok();
}

Status ConvertKerasOp(LayerCall* call) {
  const bool tf =
      call->config.class_name() == "TFOpLambda" || call->config.class_name() == "SlicingOpLambda";
  std::string name = call->config.class_name();
  if (tf) {
    EDGEOPT_ASSIGN_OR_RETURN(name, call->config.StringOr("function", ""));
  }
  const KerasOp* op = FindOp(name, tf);
  if (op == nullptr) {
    return call->Error(
        StatusCode::kUnsupported,
        std::string(tf ? "wraps the TensorFlow function '" : "is the Keras operation '") + name +
            "', which edgeopt does not map (it maps +, -, *, /, maximum, minimum, exp, log, "
            "log1p, expm1, reciprocal, sqrt, rsqrt, abs, negative, square, relu, relu6, "
            "sigmoid, tanh, silu, softplus, leaky_relu, elu, selu, softsign, hard_sigmoid, "
            "hard_silu, log_sigmoid, clip, comparisons, logical and / or / not, where, mean, "
            "sum, max, min, concatenate, stack, unstack, split, reshape, transpose, "
            "expand_dims, squeeze, slicing, softmax, log_softmax, matmul, einsum, gelu, power, "
            "sin, cos, floor, ceil, round, tile, repeat, argmax, argmin, one_hot, sign, cumsum, "
            "depth_to_space, space_to_depth and casts to float32, int32, int64 or bool)");
  }
  switch (op->kind) {
    case OpKind::kBinary:
    case OpKind::kUnary:
    case OpKind::kActivation:
    case OpKind::kCompare:
    case OpKind::kLogical:
    case OpKind::kWhere:
    case OpKind::kClip:
      return ConvertElementwise(call, *op, name, tf);
    default:
      break;
  }
  if (call->inputs.empty()) return call->Error(StatusCode::kInvalidModel, "has no tensor");
  for (int t : call->inputs) {
    if (IsInt(*call, t) && op->kind != OpKind::kCast && op->kind != OpKind::kOneHot) {
      return call->Error(StatusCode::kUnsupported,
                         name +
                             " of an integer tensor; edgeopt takes those in casts, "
                             "comparisons and one_hot");
    }
    const bool numeric = op->kind == OpKind::kArgMinMax || op->kind == OpKind::kOneHot ||
                         op->kind == OpKind::kSign || op->kind == OpKind::kCumsum;
    if (numeric && IsBool(*call, t)) {
      return call->Error(StatusCode::kUnsupported, name + " of a bool tensor");
    }
  }
  for (const auto& item : call->kwargs.items()) {
    const std::string& k = item.key();
    if (k != "name" && k != "axis" && k != "keepdims" && k != "shape" && k != "slice_spec" &&
        k != "approximate" && k != "dtype" && k != "num" && k != "num_or_size_splits" && k != "b" &&
        k != "multiples" && k != "repeats" && k != "output_type" && k != "num_classes" &&
        k != "depth" && k != "on_value" && k != "off_value" && k != "exclusive" && k != "reverse" &&
        k != "sparse" && k != "block_size" && k != "data_format") {
      return UnexpectedKwarg(*call, k);
    }
  }
  return ConvertShapeOp(call, *op, name, tf);
}

}  // namespace

bool IsKerasOpsModule(const std::string& module) {
  return module.rfind("keras.src.ops.", 0) == 0 || module.rfind("keras.ops.", 0) == 0;
}

const LayerMapping* KerasOpMapping() {
  static const LayerMapping mapping = {"(operation)", ConvertKerasOp, nullptr, "elementwise ops"};
  return &mapping;
}

}  // namespace keras
}  // namespace edgeopt
