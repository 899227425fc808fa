// Keras operations in a model's graph. A Keras 3 functional model keeps `x + y`, `x * 0.5` or
// keras.ops.relu(x) as an operation node: {"module": "keras.src.ops.numpy", "class_name": "Add",
// ...}, its arguments in the node as written (tensors and numbers). tf.keras 2.x keeps tf.math /
// tf.nn calls and operators as TFOpLambda layers: {"function": "math.multiply", ...}, the first
// argument the node's tensor, the second its keyword argument "y" (a tensor or a number); a
// constant first argument (0.5 * x, 1.0 - x) is ["_CONSTANT_VALUE", -1, value, {"y": x}]. The
// elementwise arithmetic and the activations among them map to builtin ops, with a number as a
// constant; any other operation is refused with its name.
#include "src/importers/keras/layers/layer_registry.h"
#include "src/importers/keras/layers/layer_util.h"

namespace edgeopt {
namespace keras {
namespace {

enum class OpKind { kBinary, kUnary, kActivation };

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
    for (const auto& item : call.kwargs.items()) {
      return call.Error(StatusCode::kUnsupported,
                        "is called with the keyword argument '" + item.key() +
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

Status ConvertKerasOp(LayerCall* call) {
  const bool tf = call->config.class_name() == "TFOpLambda";
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
            "sqrt, rsqrt, abs, negative, square, relu, relu6, sigmoid, tanh, silu and softplus)");
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
