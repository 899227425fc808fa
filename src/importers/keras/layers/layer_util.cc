#include "src/importers/keras/layers/layer_util.h"

#include <algorithm>
#include <cctype>

#include "src/passes/pass_util.h"

namespace edgeopt {
namespace keras {

Status CheckChannelsLast(const LayerCall& call) {
  EDGEOPT_ASSIGN_OR_RETURN(std::string format,
                           call.config.StringOr("data_format", "channels_last"));
  if (format != "channels_last") {
    return call.Error(StatusCode::kUnsupported,
                      "data_format '" + format + "' is not supported; TFLite is channels_last");
  }
  return Status::Ok();
}

Status CheckInputRank(const LayerCall& call, int rank) {
  if (call.inputs.empty() || call.InputRank(0) != rank) {
    return call.Error(
        StatusCode::kInvalidModel,
        "expects an input of rank " + std::to_string(rank) + " (batch included), got " +
            (call.inputs.empty() ? std::string("none") : ShapeString(call.InputShape(0))));
  }
  return Status::Ok();
}

StatusOr<std::string> PaddingOf(const LayerCall& call, bool allow_causal) {
  EDGEOPT_ASSIGN_OR_RETURN(std::string padding, call.config.StringOr("padding", "valid"));
  std::transform(padding.begin(), padding.end(), padding.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  if (padding == "same") return std::string("SAME");
  if (padding == "valid") return std::string("VALID");
  if (padding == "causal" && allow_causal) return std::string("CAUSAL");
  return call.Error(StatusCode::kUnsupported, "padding '" + padding + "' is not supported");
}

int32_t WindowOutputSize(int32_t in, int64_t kernel, int64_t stride, int64_t dilation, bool same) {
  if (stride <= 0) return 0;
  if (same) return static_cast<int32_t>((in + stride - 1) / stride);
  const int64_t effective = (kernel - 1) * dilation + 1;
  if (in < effective) return 0;
  return static_cast<int32_t>((in - effective) / stride + 1);
}

Status CheckOutputSize(const LayerCall& call, const Shape& shape) {
  for (int32_t d : shape) {
    if (d <= 0) {
      return call.Error(StatusCode::kInvalidModel, "output shape " + ShapeString(shape) +
                                                       " is empty for input " +
                                                       ShapeString(call.InputShape(0)));
    }
  }
  return Status::Ok();
}

Status CheckWindow(const LayerCall& call, const char* what, const std::vector<int64_t>& values) {
  for (int64_t v : values) {
    if (v < 1 || v > kMaxWindow) {
      return call.Error(StatusCode::kInvalidModel, std::string(what) + " must be in [1, " +
                                                       std::to_string(kMaxWindow) + "], got " +
                                                       std::to_string(v));
    }
  }
  return Status::Ok();
}

std::vector<int64_t> PermuteShape(const std::vector<int64_t>& shape, const std::vector<int>& perm) {
  std::vector<int64_t> out(perm.size());
  for (size_t i = 0; i < perm.size(); ++i) out[i] = shape[perm[i]];
  return out;
}

StatusOr<std::vector<std::string>> GammaBetaVariables(const LayerConfig& config) {
  EDGEOPT_ASSIGN_OR_RETURN(bool scale, config.BoolOr("scale", true));
  EDGEOPT_ASSIGN_OR_RETURN(bool center, config.BoolOr("center", true));
  std::vector<std::string> vars;
  if (scale) vars.push_back("gamma");
  if (center) vars.push_back("beta");
  return vars;
}

StatusOr<std::vector<float>> ConfigFloats(const LayerCall& call, const char* key,
                                          std::vector<float> fallback) {
  const Json* v = call.config.Find(key);
  if (v == nullptr || v->is_null()) return fallback;
  std::vector<float> out;
  std::vector<const Json*> stack = {v};
  while (!stack.empty()) {
    const Json* j = stack.back();
    stack.pop_back();
    if (j->is_number()) {
      out.push_back(j->get<float>());
    } else if (j->is_array() && out.size() + stack.size() + j->size() <= (1u << 20)) {
      for (auto it = j->rbegin(); it != j->rend(); ++it) stack.push_back(&*it);
    } else {
      out.clear();
      break;
    }
  }
  if (out.empty()) {
    return call.Error(StatusCode::kInvalidModel,
                      std::string("'") + key + "' must be a number or a list of numbers");
  }
  return out;
}

std::vector<float> TransposeData(const std::vector<float>& data, const std::vector<int64_t>& shape,
                                 const std::vector<int>& perm) {
  const size_t rank = shape.size();
  std::vector<int64_t> in_strides(rank, 1);
  for (int i = static_cast<int>(rank) - 2; i >= 0; --i) {
    in_strides[i] = in_strides[i + 1] * shape[i + 1];
  }
  const std::vector<int64_t> out_shape = PermuteShape(shape, perm);
  std::vector<float> out(data.size());
  std::vector<int64_t> index(rank, 0);
  for (size_t o = 0; o < out.size(); ++o) {
    int64_t src = 0;
    for (size_t d = 0; d < rank; ++d) src += index[d] * in_strides[perm[d]];
    out[o] = data[static_cast<size_t>(src)];
    for (int d = static_cast<int>(rank) - 1; d >= 0; --d) {
      if (++index[d] < out_shape[d]) break;
      index[d] = 0;
    }
  }
  return out;
}

Shape ToShape(const std::vector<int64_t>& shape) { return Shape(shape.begin(), shape.end()); }

int EmitUnary(LayerCall* call, const std::string& op, int x, ir::Attrs attrs) {
  std::string suffix = op;
  std::transform(suffix.begin(), suffix.end(), suffix.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  const int y = call->NewTensor(call->builder->ShapeOf(x), suffix);
  call->AddNode(op, {x}, {y}, std::move(attrs));
  return y;
}

int EmitTimeStep(LayerCall* call, int seq, int32_t t, const std::string& name) {
  const Shape s = call->builder->ShapeOf(seq);  // a copy: adding tensors moves the shapes
  return EmitStridedSlice(call, seq, {0, t, 0}, {s[0], t + 1, s[2]}, {1, 1, 1}, 0, 2,
                          Shape{s[0], s[2]}, name);
}

int EmitStridedSlice(LayerCall* call, int x, const std::vector<int32_t>& begin,
                     const std::vector<int32_t>& end, const std::vector<int32_t>& strides,
                     int64_t end_mask, int64_t shrink_mask, const Shape& out,
                     const std::string& suffix) {
  const int b = call->Int32Const("begin", begin);
  const int e = call->Int32Const("end", end);
  const int s = call->Int32Const("strides", strides);
  const int y = call->NewTensor(out, suffix);
  ir::Attrs a;
  a["begin_mask"] = int64_t{0};
  a["end_mask"] = end_mask;
  a["ellipsis_mask"] = int64_t{0};
  a["new_axis_mask"] = int64_t{0};
  a["shrink_axis_mask"] = shrink_mask;
  call->AddNode("STRIDED_SLICE", {x, b, e, s}, {y}, a);
  return y;
}

int Transposed(LayerCall* call, int x, const std::vector<int32_t>& perm,
               const std::string& suffix) {
  bool identity = true;
  for (size_t i = 0; i < perm.size(); ++i) identity &= perm[i] == static_cast<int32_t>(i);
  return identity ? x : EmitTranspose(call, x, perm, suffix);
}

int EmitTranspose(LayerCall* call, int x, const std::vector<int32_t>& perm,
                  const std::string& suffix) {
  const Shape in = call->builder->ShapeOf(x);  // a copy: adding tensors moves the shapes
  Shape out;
  for (int32_t p : perm) out.push_back(in[p]);
  const int y = call->NewTensor(out, suffix);
  call->AddNode("TRANSPOSE", {x, call->Int32Const(suffix + "_perm", perm)}, {y});
  return y;
}

int NewBoolTensor(LayerCall* call, const Shape& shape, const std::string& suffix) {
  const int t = call->NewTensor(shape, suffix);
  call->builder->graph().tensors[t].dtype = DType::kBool;
  return t;
}

bool IsInt(const LayerCall& call, int t) {
  const DType d = call.builder->graph().tensors[t].dtype;
  return d == DType::kInt32 || d == DType::kInt64;
}

int NewTensorOf(LayerCall* call, const Shape& shape, DType dtype, const std::string& suffix) {
  const int t = call->NewTensor(shape, suffix);
  call->builder->graph().tensors[t].dtype = dtype;
  return t;
}

int IntConst(LayerCall* call, const std::string& suffix, const Shape& shape,
             const std::vector<int64_t>& values, DType dtype) {
  if (dtype == DType::kInt32) {
    return call->Int32Const(suffix, shape, std::vector<int32_t>(values.begin(), values.end()));
  }
  return call->builder->graph().AddConstant(call->builder->UniqueName(call->name() + "/" + suffix),
                                            DType::kInt64, shape, values.data(),
                                            values.size() * sizeof(int64_t));
}

int AsIndices(LayerCall* call, int x) {
  if (IsInt(*call, x)) return x;
  const int idx = NewTensorOf(call, call->builder->ShapeOf(x), DType::kInt32, "indices");
  call->AddNode("CAST", {x}, {idx});
  return idx;
}

StatusOr<int> EmitOneHot(LayerCall* call, int indices, int64_t classes) {
  const Shape in = call->builder->ShapeOf(indices);
  if (in.size() + 1 > 4) {
    return call->Error(StatusCode::kUnsupported,
                       "gives a rank-" + std::to_string(in.size() + 1) +
                           " one-hot tensor; TFLite compares up to 4 dimensions");
  }
  const DType itype = call->builder->graph().tensors[indices].dtype;
  Shape col = in, out = in;
  col.push_back(1);
  out.push_back(static_cast<int32_t>(classes));
  EDGEOPT_RETURN_IF_ERROR(CheckOutputSize(*call, out));
  const int c = EmitReshape(call, indices, col, "column");
  call->builder->graph().tensors[c].dtype = itype;
  std::vector<int64_t> range(static_cast<size_t>(classes));
  for (int64_t i = 0; i < classes; ++i) range[i] = i;
  const int hot = NewBoolTensor(call, out, "hot");
  call->AddNode("EQUAL",
                {c, IntConst(call, "classes", Shape{static_cast<int32_t>(classes)}, range, itype)},
                {hot});
  const int y = call->NewTensor(out, "one_hot");
  call->AddNode("CAST", {hot}, {y});
  return y;
}

int EmitL2Normalize(LayerCall* call, int x, const std::vector<int>& axes,
                    const std::string& suffix) {
  const Shape shape = call->builder->ShapeOf(x);
  ir::Attrs none;
  none["fused_activation_function"] = std::string("NONE");
  if (axes.size() == 1 && axes[0] == static_cast<int>(shape.size()) - 1) {
    const int y = call->NewTensor(shape, suffix);
    call->AddNode("L2_NORMALIZATION", {x}, {y}, none);
    return y;
  }
  Shape reduced = shape;
  for (int a : axes) reduced[a] = 1;
  const int squares = call->NewTensor(shape, suffix + "_squares");
  call->AddNode("MUL", {x, x}, {squares}, none);
  const int sum = call->NewTensor(reduced, suffix + "_square_sum");
  ir::Attrs keep;
  keep["keep_dims"] = true;
  call->AddNode("SUM", {squares, call->Int32Const(suffix + "_axes", axes)}, {sum}, keep);
  const int inv = EmitUnary(call, "RSQRT", EmitScalarOp(call, "MAXIMUM", sum, 1e-12f));
  const int y = call->NewTensor(shape, suffix);
  call->AddNode("MUL", {x, inv}, {y}, none);
  return y;
}

int EmitReshape(LayerCall* call, int x, const Shape& shape, const std::string& suffix) {
  const int y = call->NewTensor(shape, suffix);
  call->AddNode("RESHAPE", {x, call->Int32Const(suffix + "_shape", shape)}, {y});
  return y;
}

int EmitBatchMatMul(LayerCall* call, int a, int b, bool adj_x, bool adj_y, const Shape& out,
                    const std::string& suffix) {
  const int y = call->NewTensor(out, suffix);
  ir::Attrs attrs;
  attrs["adj_x"] = adj_x;
  attrs["adj_y"] = adj_y;
  attrs["asymmetric_quantize_inputs"] = false;
  call->AddNode("BATCH_MATMUL", {a, b}, {y}, attrs);
  return y;
}

StatusOr<int> EmitConcatenation(LayerCall* call, const std::vector<int>& inputs, int64_t axis,
                                const std::string& suffix) {
  const Shape first = call->builder->ShapeOf(inputs[0]);
  const int64_t rank = static_cast<int64_t>(first.size());
  Shape out = first;
  int64_t total = 0;
  for (int t : inputs) {
    const Shape s = call->builder->ShapeOf(t);
    bool ok = static_cast<int64_t>(s.size()) == rank;
    for (int64_t d = 0; ok && d < rank; ++d) ok = d == axis || s[d] == first[d];
    if (!ok) {
      return call->Error(StatusCode::kInvalidModel, "input shapes " + ShapeString(first) + " and " +
                                                        ShapeString(s) +
                                                        " differ outside the concatenation axis");
    }
    total += s[axis];
  }
  if (total > (int64_t{1} << 30)) return call->Error(StatusCode::kInvalidModel, "output too large");
  out[axis] = static_cast<int32_t>(total);
  const int y = call->NewTensor(out, suffix);
  ir::Attrs attrs;
  attrs["axis"] = axis;
  attrs["fused_activation_function"] = std::string("NONE");
  call->AddNode("CONCATENATION", inputs, {y}, attrs);
  return y;
}

bool BroadcastShapes(const Shape& a, const Shape& b, Shape* out) {
  const size_t rank = std::max(a.size(), b.size());
  out->assign(rank, 1);
  for (size_t i = 0; i < rank; ++i) {
    const int32_t da = i < rank - a.size() ? 1 : a[i - (rank - a.size())];
    const int32_t db = i < rank - b.size() ? 1 : b[i - (rank - b.size())];
    if (da != db && da != 1 && db != 1) return false;
    (*out)[i] = std::max(da, db);
  }
  return true;
}

int EmitScalarOp(LayerCall* call, const std::string& op, int x, float c, const std::string& fused) {
  const int k = call->FloatConst("const", Shape{}, {c});
  ir::Attrs attrs;
  if (op == "ADD" || op == "SUB" || op == "MUL" || op == "DIV") {
    attrs["fused_activation_function"] = fused;
  }
  std::string suffix = op;
  std::transform(suffix.begin(), suffix.end(), suffix.begin(),
                 [](unsigned char ch) { return static_cast<char>(std::tolower(ch)); });
  const int y = call->NewTensor(call->builder->ShapeOf(x), suffix);
  call->AddNode(op, {x, k}, {y}, std::move(attrs));
  return y;
}

namespace {

// Sets `fused` on fuse_node if it can take it; true on success.
bool TryFuse(LayerCall* call, int fuse_node, int x, const std::string& fused) {
  if (fuse_node < 0) return false;
  ir::Node& n = call->builder->graph().nodes[fuse_node];
  if (!passes::TakesFusedActivation(n.op) || n.outputs.size() != 1 || n.outputs[0] != x)
    return false;
  if (ir::GetString(n.attrs, "fused_activation_function", "NONE") != "NONE") return false;
  n.attrs["fused_activation_function"] = fused;
  return true;
}

std::string Lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return s;
}

}  // namespace

StatusOr<int> EmitReLU(LayerCall* call, int x, double max_value, double negative_slope,
                       double threshold, int fuse_node) {
  const bool has_max = max_value >= 0;
  if (negative_slope < 0) {
    return call->Error(StatusCode::kUnsupported, "ReLU with a negative slope below 0");
  }
  int y = x;
  if (threshold == 0.0) {
    if (negative_slope == 0.0) {
      if (has_max && max_value == 6.0) {
        if (TryFuse(call, fuse_node, x, "RELU6")) return x;
        return EmitUnary(call, "RELU6", x);
      }
      if (!TryFuse(call, fuse_node, x, "RELU")) y = EmitUnary(call, "RELU", x);
    } else {
      ir::Attrs attrs;
      attrs["alpha"] = negative_slope;
      y = EmitUnary(call, "LEAKY_RELU", x, attrs);
    }
  } else {
    // x >= threshold ? x : negative_slope * (x - threshold)
    const Shape shape = call->builder->ShapeOf(x);
    const int t = call->FloatConst("threshold", Shape{}, {static_cast<float>(threshold)});
    const int cond = call->builder->graph().AddActivation(
        call->builder->UniqueName(call->name() + "/above"), DType::kBool, shape);
    call->AddNode("GREATER_EQUAL", {x, t}, {cond});
    int below;
    if (negative_slope == 0.0) {
      below = call->FloatConst("zero", Shape{}, {0.0f});
    } else {
      const int shifted = call->NewTensor(shape, "shifted");
      call->AddNode("SUB", {x, t}, {shifted}, {{"fused_activation_function", std::string("NONE")}});
      below = EmitScalarOp(call, "MUL", shifted, static_cast<float>(negative_slope));
    }
    y = call->NewTensor(shape, "relu");
    call->AddNode("SELECT_V2", {cond, x, below}, {y});
  }
  if (has_max) {
    y = EmitScalarOp(call, "MINIMUM", y, static_cast<float>(max_value));
  }
  return y;
}

StatusOr<std::pair<std::string, const Json*>> InnerLayer(const LayerConfig& c, const char* key) {
  const Json* inner = c.Find(key);
  if (inner == nullptr) {
    return c.Error(StatusCode::kInvalidModel, "'%s' is missing", key);
  }
  const std::string cls = LayerClass(*inner);
  auto cfg = inner->find("config");
  if (cls.empty() || cfg == inner->end() || !cfg->is_object()) {
    return c.Error(StatusCode::kInvalidModel,
                   "'%s' must be a layer object with 'class_name' and 'config'", key);
  }
  return std::make_pair(cls, &*cfg);
}

int ExpandSteps(LayerCall* call, int x, int64_t causal_left) {
  Shape in = call->builder->ShapeOf(x);
  if (causal_left > 0) {
    const int pads = call->Int32Const("paddings", Shape{3, 2},
                                      {0, 0, static_cast<int32_t>(causal_left), 0, 0, 0});
    in[1] += static_cast<int32_t>(causal_left);
    const int padded = call->NewTensor(in, "causal_pad");
    call->AddNode("PAD", {x, pads}, {padded});
    x = padded;
  }
  const Shape expanded = {in[0], 1, in[1], in[2]};
  const int shape_const = call->Int32Const("expand_shape", expanded);
  const int y = call->NewTensor(expanded, "expand");
  call->AddNode("RESHAPE", {x, shape_const}, {y});
  return y;
}

int EmitFullyConnected(LayerCall* call, int x, int w, int b, const Shape& out_shape,
                       const std::string& suffix, int* node) {
  std::vector<int> inputs = {x, w};
  if (b >= 0) inputs.push_back(b);
  const int y = call->NewTensor(out_shape, suffix);
  ir::Attrs attrs;
  attrs["fused_activation_function"] = std::string("NONE");
  attrs["weights_format"] = std::string("DEFAULT");
  attrs["keep_num_dims"] = out_shape.size() > 2;
  attrs["asymmetric_quantize_inputs"] = false;
  const int n = call->AddNode("FULLY_CONNECTED", inputs, {y}, attrs);
  if (node != nullptr) *node = n;
  return y;
}

StatusOr<int> EmitDense(LayerCall* call, int x, const std::string& kernel_var,
                        const std::vector<int64_t>& kernel_shape, const std::string& bias_var,
                        const std::vector<int64_t>& bias_shape, int64_t out,
                        const std::string& suffix, int* node) {
  Shape out_shape = call->builder->ShapeOf(x);
  const int64_t in = out_shape.back();
  EDGEOPT_ASSIGN_OR_RETURN(std::vector<float> kernel, call->Weight(kernel_var, kernel_shape));
  const int w = call->AddWeightTensor(kernel_var, ToShape({out, in}),
                                      TransposeData(kernel, {in, out}, {1, 0}));
  int b = -1;
  if (!bias_var.empty()) {
    EDGEOPT_ASSIGN_OR_RETURN(std::vector<float> bias, call->Weight(bias_var, bias_shape));
    b = call->AddWeightTensor(bias_var, ToShape({out}), std::move(bias));
  }
  out_shape.back() = static_cast<int32_t>(out);
  return EmitFullyConnected(call, x, w, b, out_shape, suffix, node);
}

int EmitDropout(LayerCall* call, int x, double rate, bool spatial, const std::string& suffix) {
  const int y = call->NewTensor(call->builder->ShapeOf(x), suffix);
  ir::Attrs attrs;
  attrs["rate"] = rate;
  attrs["noise_shape"] = std::string(spatial ? "spatial" : "");
  call->AddNode("DROPOUT", {x}, {y}, attrs);
  return y;
}

int EmitSlice(LayerCall* call, int x, const std::vector<int32_t>& begin,
              const std::vector<int32_t>& size) {
  const int begin_const = call->Int32Const("begin", begin);
  const int size_const = call->Int32Const("size", size);
  const int y = call->NewTensor(size, "crop");
  call->AddNode("SLICE", {x, begin_const, size_const}, {y});
  return y;
}

int SqueezeSteps(LayerCall* call, int y) {
  const Shape out4 = call->builder->ShapeOf(y);
  const Shape out3 = {out4[0], out4[2], out4[3]};
  const int shape_const = call->Int32Const("squeeze_shape", out3);
  const int squeezed = call->NewTensor(out3);
  call->AddNode("RESHAPE", {y, shape_const}, {squeezed});
  return squeezed;
}

StatusOr<int> EmitLeakyReLU(LayerCall* call, int x, double alpha) {
  ir::Attrs attrs;
  attrs["alpha"] = alpha;
  return EmitUnary(call, "LEAKY_RELU", x, attrs);
}

StatusOr<int> EmitELU(LayerCall* call, int x, double alpha) {
  const int elu = EmitUnary(call, "ELU", x);
  if (alpha == 1.0) return elu;
  // relu(x) + alpha * min(elu(x), 0)
  const int pos = EmitUnary(call, "RELU", x);
  const int neg = EmitScalarOp(call, "MINIMUM", elu, 0.0f);
  const int scaled = EmitScalarOp(call, "MUL", neg, static_cast<float>(alpha));
  const int y = call->NewTensor(call->builder->ShapeOf(x), "elu");
  call->AddNode("ADD", {pos, scaled}, {y}, {{"fused_activation_function", std::string("NONE")}});
  return y;
}

StatusOr<int> EmitSoftmax(LayerCall* call, int x, int64_t axis) {
  const int rank = static_cast<int>(call->builder->ShapeOf(x).size());
  if (axis != -1 && axis != rank - 1) {
    return call->Error(StatusCode::kUnsupported, "softmax over axis " + std::to_string(axis) +
                                                     " (TFLite's SOFTMAX works on the last axis)");
  }
  ir::Attrs attrs;
  attrs["beta"] = 1.0;
  return EmitUnary(call, "SOFTMAX", x, attrs);
}

StatusOr<int> ApplyActivation(LayerCall* call, const ActivationSpec& spec, int x, int fuse_node) {
  const std::string name = spec.config != nullptr ? spec.name : Lower(spec.name);
  if (spec.config != nullptr) {
    // A layer object used as an activation.
    LayerConfig cfg(spec.config, call->name(), name);
    if (name == "ReLU") {
      EDGEOPT_ASSIGN_OR_RETURN(double max_value, cfg.FloatOr("max_value", -1.0));
      EDGEOPT_ASSIGN_OR_RETURN(double slope, cfg.FloatOr("negative_slope", 0.0));
      EDGEOPT_ASSIGN_OR_RETURN(double threshold, cfg.FloatOr("threshold", 0.0));
      return EmitReLU(call, x, max_value, slope, threshold, fuse_node);
    }
    if (name == "LeakyReLU") {
      EDGEOPT_ASSIGN_OR_RETURN(double alpha, cfg.FloatOr("alpha", 0.3));
      EDGEOPT_ASSIGN_OR_RETURN(alpha, cfg.FloatOr("negative_slope", alpha));
      return EmitLeakyReLU(call, x, alpha);
    }
    if (name == "ELU") {
      EDGEOPT_ASSIGN_OR_RETURN(double alpha, cfg.FloatOr("alpha", 1.0));
      return EmitELU(call, x, alpha);
    }
    if (name == "Softmax") {
      EDGEOPT_ASSIGN_OR_RETURN(int64_t axis, cfg.IntOr("axis", -1));
      return EmitSoftmax(call, x, axis);
    }
    if (name == "Activation") {
      EDGEOPT_ASSIGN_OR_RETURN(ActivationSpec inner, ParseActivation(cfg.Find("activation"), cfg));
      return ApplyActivation(call, inner, x, fuse_node);
    }
    return call->Error(StatusCode::kUnsupported,
                       "activation layer '" + name + "' has no TFLite mapping in edgeopt");
  }
  if (name == "linear" || name == "identity" || name.empty()) return x;
  if (name == "relu") return EmitReLU(call, x, -1.0, 0.0, 0.0, fuse_node);
  if (name == "relu6") return EmitReLU(call, x, 6.0, 0.0, 0.0, fuse_node);
  if (name == "sigmoid") return EmitUnary(call, "LOGISTIC", x);
  if (name == "tanh") return EmitUnary(call, "TANH", x);
  if (name == "softmax") return EmitSoftmax(call, x, -1);
  if (name == "log_softmax") return EmitUnary(call, "LOG_SOFTMAX", x);
  if (name == "elu") return EmitELU(call, x, 1.0);
  if (name == "exponential") return EmitUnary(call, "EXP", x);
  if (name == "hard_swish" || name == "hard_silu") return EmitUnary(call, "HARD_SWISH", x);
  if (name == "gelu") {
    ir::Attrs attrs;
    attrs["approximate"] = false;
    return EmitUnary(call, "GELU", x, attrs);
  }
  if (name == "leaky_relu") return EmitLeakyReLU(call, x, 0.2);
  if (name == "swish" || name == "silu") {
    const int s = EmitUnary(call, "LOGISTIC", x);
    const int y = call->NewTensor(call->builder->ShapeOf(x), "swish");
    call->AddNode("MUL", {x, s}, {y}, {{"fused_activation_function", std::string("NONE")}});
    return y;
  }
  if (name == "softplus" || name == "mish") {
    // log(1 + exp(x)) without overflow: relu(x) + log(1 + exp(-|x|)).
    const int e = EmitUnary(call, "EXP", EmitUnary(call, "NEG", EmitUnary(call, "ABS", x)));
    const int l = EmitUnary(call, "LOG", EmitScalarOp(call, "ADD", e, 1.0f));
    const int sp = call->NewTensor(call->builder->ShapeOf(x), "softplus");
    call->AddNode("ADD", {EmitUnary(call, "RELU", x), l}, {sp},
                  {{"fused_activation_function", std::string("NONE")}});
    if (name == "softplus") return sp;
    const int y = call->NewTensor(call->builder->ShapeOf(x), "mish");  // x * tanh(softplus(x))
    call->AddNode("MUL", {x, EmitUnary(call, "TANH", sp)}, {y},
                  {{"fused_activation_function", std::string("NONE")}});
    return y;
  }
  if (name == "softsign") {  // x / (|x| + 1)
    const int d = EmitScalarOp(call, "ADD", EmitUnary(call, "ABS", x), 1.0f);
    const int y = call->NewTensor(call->builder->ShapeOf(x), "softsign");
    call->AddNode("DIV", {x, d}, {y}, {{"fused_activation_function", std::string("NONE")}});
    return y;
  }
  if (name == "selu") {  // scale * elu(x, alpha), Keras's constants
    EDGEOPT_ASSIGN_OR_RETURN(const int e, EmitELU(call, x, 1.6732632423543772));
    return EmitScalarOp(call, "MUL", e, 1.0507009873554805f);
  }
  if (name == "hard_sigmoid") {
    if (call->builder->keras3()) {
      // Keras 3: relu6(x + 3) / 6
      const int shifted = EmitScalarOp(call, "ADD", x, 3.0f, "RELU6");
      return EmitScalarOp(call, "MUL", shifted, 1.0f / 6.0f);
    }
    // Keras 2: clip(0.2 x + 0.5, 0, 1) = 0.5 * clip(0.4 x, -1, 1) + 0.5
    const int scaled = EmitScalarOp(call, "MUL", x, 0.4f, "RELU_N1_TO_1");
    const int half = EmitScalarOp(call, "MUL", scaled, 0.5f);
    return EmitScalarOp(call, "ADD", half, 0.5f);
  }
  return call->Error(StatusCode::kUnsupported,
                     "activation '" + name + "' has no TFLite mapping in edgeopt");
}

StatusOr<int> ApplyConfigActivation(LayerCall* call, int x, int fuse_node) {
  EDGEOPT_ASSIGN_OR_RETURN(ActivationSpec spec,
                           ParseActivation(call->config.Find("activation"), call->config));
  return ApplyActivation(call, spec, x, fuse_node);
}

}  // namespace keras
}  // namespace edgeopt
