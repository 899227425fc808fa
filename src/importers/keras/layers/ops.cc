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
  kCast,        // to float32: nothing to do (the graph is float32)
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
};

const KerasOp* FindOp(const std::string& name, bool tf) {
  for (const KerasOp& op : kKerasOps) {
    if (name == (tf ? op.tf : op.keras3) && !name.empty()) return &op;
  }
  return nullptr;
}

bool IsKerasTensor(const Json& v) {
  if (!v.is_object()) return false;
  auto cls = v.find("class_name");
  return cls != v.end() && cls->is_string() && *cls == "__keras_tensor__";
}

// One operand: a tensor of the call, or a number as a scalar constant.
struct Operand {
  int tensor = -1;
  float value = 0.0f;
};

Status NumberOperand(const LayerCall& call, const Json& v, Operand* out) {
  if (!v.is_number() || v.is_boolean()) {
    return call.Error(StatusCode::kUnsupported,
                      "has an argument that is neither a tensor nor a number (" +
                          std::string(v.type_name()) + "); edgeopt converts those only");
  }
  out->value = v.get<float>();
  return Status::Ok();
}

// The operands as written: Keras 3's args, or a TFOpLambda's tensor then its "y".
StatusOr<std::vector<Operand>> Operands(const LayerCall& call, bool tf) {
  std::vector<Operand> out;
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
    if (!call.kwargs.empty()) {
      return call.Error(StatusCode::kUnsupported,
                        "is called with the keyword argument '" + call.kwargs.begin().key() +
                            "', which edgeopt does not take for this operation");
    }
    return out;
  }
  if (call.inputs.empty()) return call.Error(StatusCode::kInvalidModel, "has no tensor");
  if (!call.args.empty()) {  // a constant first argument (1.0 - x), the tensor is "y"
    Operand o;
    EDGEOPT_RETURN_IF_ERROR(NumberOperand(call, call.args[0], &o));
    out.push_back(o);
  }
  out.push_back({call.inputs[0], 0.0f});
  if (call.inputs.size() > 1) out.push_back({call.inputs[1], 0.0f});
  for (const auto& item : call.kwargs.items()) {
    if (item.key() == "name" && (item.value().is_null() || item.value().is_string())) continue;
    if (item.key() == "y" && call.inputs.size() == 1 && call.args.empty()) {
      Operand o;
      EDGEOPT_RETURN_IF_ERROR(NumberOperand(call, item.value(), &o));
      out.push_back(o);
      continue;
    }
    return call.Error(StatusCode::kUnsupported,
                      "is called with the keyword argument '" + item.key() +
                          "', which edgeopt does not take for this operation");
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
    const std::string cls = j.value("class_name", "");
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
  const int b = call->Int32Const("begin", begin), e = call->Int32Const("end", end);
  const int s = call->Int32Const("strides", strides);
  ir::Attrs a;
  a["begin_mask"] = int64_t{0};
  a["end_mask"] = end_mask;
  a["ellipsis_mask"] = int64_t{0};
  a["new_axis_mask"] = int64_t{0};
  a["shrink_axis_mask"] = shrink;
  int y = call->NewTensor(sliced, "slice");
  call->AddNode("STRIDED_SLICE", {x, b, e, s}, {y}, a);
  if (out != sliced) y = EmitReshape(call, y, out, "reshape");
  call->outputs = {y};
  return Status::Ok();
}

// `tf`: a tf.keras TFOpLambda / SlicingOpLambda (not a Keras 3 operation).
Status ConvertShapeOp(LayerCall* call, const KerasOp& op, const std::string& name, bool tf) {
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
  if (op.kind != OpKind::kConcat && call->inputs.size() != 1) {
    return call->Error(StatusCode::kInvalidModel,
                       name + " takes one tensor, got " + std::to_string(call->inputs.size()));
  }
  const int x = call->inputs[0];
  const Shape in = call->builder->ShapeOf(x);
  const int rank = static_cast<int>(in.size());
  switch (op.kind) {
    case OpKind::kGelu: {
      const Json* approx = Param(*call, "approximate", 1);
      ir::Attrs attrs;
      attrs["approximate"] = approx != nullptr && approx->is_boolean() ? approx->get<bool>() : !tf;
      call->outputs = {EmitUnary(call, "GELU", x, attrs)};
      return Status::Ok();
    }
    case OpKind::kCast: {
      const Json* dtype = Param(*call, "dtype", 1);
      if (dtype == nullptr || !dtype->is_string() || *dtype != "float32") {
        return call->Error(StatusCode::kUnsupported,
                           "casts to " + (dtype != nullptr ? dtype->dump() : std::string("?")) +
                               "; edgeopt's graphs are float32 (a cast to float32 is taken)");
      }
      call->outputs = {x};
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
      const int y = call->NewTensor(out, "transpose");
      call->AddNode("TRANSPOSE", {x, call->Int32Const("perm", p)}, {y});
      call->outputs = {y};
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
            "sqrt, rsqrt, abs, negative, square, relu, relu6, sigmoid, tanh, silu, softplus, "
            "mean, sum, max, min, concatenate, reshape, transpose, expand_dims, squeeze, "
            "slicing, softmax, log_softmax, matmul, gelu, power and a cast to float32)");
  }
  if (op->kind != OpKind::kBinary && op->kind != OpKind::kUnary &&
      op->kind != OpKind::kActivation) {
    if (call->inputs.empty()) return call->Error(StatusCode::kInvalidModel, "has no tensor");
    for (const auto& item : call->kwargs.items()) {
      const std::string& k = item.key();
      if (k != "name" && k != "axis" && k != "keepdims" && k != "shape" && k != "slice_spec" &&
          k != "approximate" && k != "dtype") {
        return call->Error(StatusCode::kUnsupported,
                           "is called with the keyword argument '" + k +
                               "', which edgeopt does not take for this operation");
      }
    }
    return ConvertShapeOp(call, *op, name, tf);
  }
  EDGEOPT_ASSIGN_OR_RETURN(std::vector<Operand> operands, Operands(*call, tf));
  const size_t arity = op->kind == OpKind::kBinary ? 2 : 1;
  if (operands.size() != arity) {
    return call->Error(StatusCode::kInvalidModel, name + " takes " + std::to_string(arity) +
                                                      " arguments, got " +
                                                      std::to_string(operands.size()));
  }
  if (op->kind == OpKind::kActivation || op->kind == OpKind::kUnary) {
    if (operands[0].tensor < 0) {
      return call->Error(StatusCode::kUnsupported, "has no tensor argument");
    }
    if (op->kind == OpKind::kUnary) {
      call->outputs = {EmitUnary(call, op->op, operands[0].tensor)};
      return Status::Ok();
    }
    ActivationSpec spec;
    spec.name = op->op;
    EDGEOPT_ASSIGN_OR_RETURN(const int y, ApplyActivation(call, spec, operands[0].tensor, -1));
    call->outputs = {y};
    return Status::Ok();
  }
  if (operands[0].tensor < 0 && operands[1].tensor < 0) {
    return call->Error(StatusCode::kUnsupported, "has no tensor argument");
  }
  if (std::string(op->op) == "POW" && operands[0].tensor >= 0 && operands[1].tensor < 0) {
    // x ** c: the builtin op of a common exponent (which trains and quantizes), POW otherwise.
    const float c = operands[1].value;
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
  int in[2];
  for (int i = 0; i < 2; ++i) {
    in[i] = operands[i].tensor >= 0 ? operands[i].tensor
                                    : call->FloatConst("const", Shape{}, {operands[i].value});
  }
  Shape out;
  if (!BroadcastShapes(call->builder->ShapeOf(in[0]), call->builder->ShapeOf(in[1]), &out)) {
    return call->Error(StatusCode::kInvalidModel,
                       "argument shapes " + ShapeString(call->builder->ShapeOf(in[0])) + " and " +
                           ShapeString(call->builder->ShapeOf(in[1])) + " do not broadcast");
  }
  ir::Attrs attrs;
  const std::string builtin = op->op;
  if (builtin == "ADD" || builtin == "SUB" || builtin == "MUL" || builtin == "DIV") {
    attrs["fused_activation_function"] = std::string("NONE");
  }
  const int y = call->NewTensor(out, "op");
  call->AddNode(builtin, {in[0], in[1]}, {y}, attrs);
  call->outputs = {y};
  return Status::Ok();
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
