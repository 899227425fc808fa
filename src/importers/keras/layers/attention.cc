// MultiHeadAttention(num_heads, key_dim, value_dim, output_shape) on query [B, T..., E],
// value [B, S..., Ev] and key [B, S..., Ek] (key defaults to value):
//
//   q = FULLY_CONNECTED(query) · 1/sqrt(key_dim)   [B, T, H·kd]   (Keras's "query" EinsumDense)
//   k = FULLY_CONNECTED(key), v = FULLY_CONNECTED(value)
//   each RESHAPE [B, T, H, d] + TRANSPOSE [0, 2, 1, 3] -> [B, H, T, d]
//   scores = BATCH_MATMUL(q, k, adj_y)                [B, H, T, S]
//   probs = SOFTMAX(scores) (+ DROPOUT in training form)
//   context = BATCH_MATMUL(probs, v)                  [B, H, T, vd]
//   TRANSPOSE [0, 2, 1, 3] + RESHAPE [B, T, H·vd] + FULLY_CONNECTED ("attention_output") [B, T, O]
//
// Inputs of rank > 3 attend over all their middle axes together (Keras's default attention_axes),
// which is attention over the flattened positions: they are reshaped to [B, T, E] and the output
// back. The EinsumDense kernels [E, H, d] and [H, vd, O] become the FULLY_CONNECTED weights
// [H·d, E] and [O, H·vd]. Masks (attention_mask, use_causal_mask, Keras masks) and
// return_attention_scores are refused.
//
// Attention (Luong) and AdditiveAttention (Bahdanau) on [query, value] or [query, value, key]
// ([B, T, d], [B, S, dv], [B, S, d]):
//   dot (Attention's default): scores = BATCH_MATMUL(query, key, adj_y) (· scale, a trainable
//     scalar, with use_scale)
//   concat (Attention's score_mode="concat") and AdditiveAttention: query as [B, T, 1, d] plus key
//     as [B, 1, S, d] (a broadcast ADD), TANH, SUM over d: Attention multiplies by its scalar
//     scale inside the tanh and by concat_score_weight after the sum; AdditiveAttention by its
//     [d] scale vector before the sum
//   then SOFTMAX (+ DROPOUT in training form) and BATCH_MATMUL with the value -> [B, T, dv].
#include <cmath>

#include "src/importers/keras/layers/layer_registry.h"
#include "src/importers/keras/layers/layer_util.h"

namespace edgeopt {
namespace keras {
namespace {

constexpr const char* kProjections[] = {"query", "key", "value", "attention_output"};

int64_t Product(const Shape& s, size_t from, size_t to) {
  int64_t n = 1;
  for (size_t i = from; i < to; ++i) n *= s[i];
  return n;
}

int Reshape(LayerCall* call, int x, const Shape& shape, const std::string& suffix) {
  const int y = call->NewTensor(shape, suffix);
  call->AddNode("RESHAPE", {x, call->Int32Const(suffix + "_shape", shape)}, {y});
  return y;
}

int Transpose0213(LayerCall* call, int x, const std::string& suffix) {
  const Shape& in = call->builder->ShapeOf(x);
  const int y = call->NewTensor(Shape{in[0], in[2], in[1], in[3]}, suffix);
  call->AddNode("TRANSPOSE", {x, call->Int32Const(suffix + "_perm", {0, 2, 1, 3})}, {y});
  return y;
}

// The EinsumDense projection `name` of x [B, N, in] to `out` values: its kernel in Keras's
// shape `kernel_shape` (the leading `in_dims` dimensions are the input's), its bias the rest.
StatusOr<int> Project(LayerCall* call, int x, const std::string& name,
                      const std::vector<int64_t>& kernel_shape, size_t in_dims, int64_t out,
                      bool use_bias) {
  const std::vector<int64_t> bias_shape(kernel_shape.begin() + in_dims, kernel_shape.end());
  return EmitDense(call, x, name + "/kernel", kernel_shape, use_bias ? name + "/bias" : "",
                   bias_shape, out, name);
}

// MUL of two tensors into a new one of `shape`.
int Mul(LayerCall* call, int a, int b, const Shape& shape, const std::string& suffix) {
  const int y = call->NewTensor(shape, suffix);
  ir::Attrs attrs;
  attrs["fused_activation_function"] = std::string("NONE");
  call->AddNode("MUL", {a, b}, {y}, attrs);
  return y;
}

// The call flags no mapping takes: use_causal_mask=True, return_attention_scores=True.
Status RefuseCallFlags(const LayerCall& call) {
  for (const char* flag : {"use_causal_mask", "return_attention_scores"}) {
    auto it = call.kwargs.find(flag);
    if (it != call.kwargs.end() && it->is_boolean() && it->get<bool>()) {
      return call.Error(StatusCode::kUnsupported, std::string("is called with ") + flag +
                                                      "=True, which edgeopt does not map");
    }
  }
  return Status::Ok();
}

int BatchMatMul(LayerCall* call, int a, int b, bool adj_y, const Shape& out,
                const std::string& suffix) {
  const int y = call->NewTensor(out, suffix);
  ir::Attrs attrs;
  attrs["adj_x"] = false;
  attrs["adj_y"] = adj_y;
  attrs["asymmetric_quantize_inputs"] = false;
  call->AddNode("BATCH_MATMUL", {a, b}, {y}, attrs);
  return y;
}

// The attention probabilities SOFTMAX(scores) (+ DROPOUT in training form) applied to v:
// BATCH_MATMUL into a new tensor of `out` ("context").
StatusOr<int> Attend(LayerCall* call, int scores, double dropout, int v, const Shape& out) {
  EDGEOPT_ASSIGN_OR_RETURN(int probs, EmitSoftmax(call, scores, -1));
  if (dropout > 0.0) probs = EmitDropout(call, probs, dropout, false, "attention_dropout");
  return BatchMatMul(call, probs, v, false, out, "context");
}

struct Sizes {
  int64_t heads = 0, key_dim = 0, value_dim = 0, output_dim = 0;
  bool use_bias = true;
  double dropout = 0.0;
};

// The config's sizes; output_dim 0 means "the query's last dimension".
StatusOr<Sizes> ReadSizes(const LayerConfig& c) {
  Sizes s;
  EDGEOPT_ASSIGN_OR_RETURN(s.heads, c.Int("num_heads"));
  EDGEOPT_ASSIGN_OR_RETURN(s.key_dim, c.Int("key_dim"));
  s.value_dim = s.key_dim;
  if (c.Has("value_dim")) {
    EDGEOPT_ASSIGN_OR_RETURN(s.value_dim, c.Int("value_dim"));
  }
  EDGEOPT_ASSIGN_OR_RETURN(s.use_bias, c.BoolOr("use_bias", true));
  EDGEOPT_ASSIGN_OR_RETURN(s.dropout, c.FloatOr("dropout", 0.0));
  if (const Json* o = c.Find("output_shape")) {
    if (o->is_number_integer()) {
      s.output_dim = o->get<int64_t>();
    } else if (o->is_array() && o->size() == 1 && (*o)[0].is_number_integer()) {
      s.output_dim = (*o)[0].get<int64_t>();
    } else {
      return c.Error(StatusCode::kUnsupported,
                     "output_shape %s: only one output dimension is supported",
                     o->dump().substr(0, 40).c_str());
    }
    if (s.output_dim <= 0) return c.Error(StatusCode::kInvalidModel, "output_shape must be > 0");
  }
  const int64_t kMax = 1 << 16;
  if (s.heads <= 0 || s.key_dim <= 0 || s.value_dim <= 0 || s.heads > kMax || s.key_dim > kMax ||
      s.value_dim > kMax || s.output_dim > kMax ||
      s.heads * std::max(s.key_dim, s.value_dim) > kMax) {
    return c.Error(StatusCode::kInvalidModel,
                   "num_heads, key_dim and value_dim must be positive and num_heads x key_dim at "
                   "most 65536");
  }
  if (!(s.dropout >= 0.0 && s.dropout < 1.0)) {
    return c.Error(StatusCode::kInvalidModel, "dropout must be in [0, 1)");
  }
  return s;
}

}  // namespace

StatusOr<std::vector<std::string>> MultiHeadAttentionVariables(const LayerConfig& config) {
  EDGEOPT_ASSIGN_OR_RETURN(bool use_bias, config.BoolOr("use_bias", true));
  std::vector<std::string> vars;
  for (const char* p : kProjections) {
    vars.push_back(std::string(p) + "/kernel");
    if (use_bias) vars.push_back(std::string(p) + "/bias");
  }
  return vars;
}

Status ConvertMultiHeadAttention(LayerCall* call) {
  const LayerConfig& c = call->config;
  EDGEOPT_ASSIGN_OR_RETURN(Sizes s, ReadSizes(c));
  if (call->inputs.size() < 2 || call->inputs.size() > 3) {
    return call->Error(StatusCode::kUnsupported,
                       "is called with " + std::to_string(call->inputs.size()) +
                           " tensors; it takes query, value and optionally key");
  }
  EDGEOPT_RETURN_IF_ERROR(RefuseCallFlags(*call));
  const Shape query = call->InputShape(0), value = call->InputShape(1);
  const Shape key = call->InputShape(call->inputs.size() == 3 ? 2 : 1);
  const size_t rank = query.size();
  if (rank < 3 || value.size() != rank || key.size() != rank) {
    return call->Error(StatusCode::kUnsupported,
                       "needs query, value and key of one rank >= 3, got " + ShapeString(query) +
                           ", " + ShapeString(value) + ", " + ShapeString(key));
  }
  if (!std::equal(value.begin(), value.end() - 1, key.begin())) {
    return call->Error(StatusCode::kInvalidModel, "value " + ShapeString(value) + " and key " +
                                                      ShapeString(key) +
                                                      " differ in more than the last dimension");
  }
  if (query[0] != value[0]) {
    return call->Error(StatusCode::kInvalidModel, "query and value have different batch sizes");
  }
  if (const Json* axes = c.Find("attention_axes")) {
    // Accepted when it names every middle axis (Keras's default).
    std::vector<int64_t> want;
    for (size_t d = 1; d + 1 < rank; ++d) want.push_back(static_cast<int64_t>(d));
    std::vector<int64_t> given;
    if (axes->is_number_integer()) {
      given.push_back(axes->get<int64_t>());
    } else if (axes->is_array()) {
      for (const Json& a : *axes) {
        if (!a.is_number_integer()) {
          return call->Error(StatusCode::kInvalidModel, "attention_axes must be integers");
        }
        given.push_back(a.get<int64_t>());
      }
    }
    // Keras counts negative axes on the projected rank (rank + 1, heads before features).
    for (int64_t& a : given) a = a < 0 ? a + static_cast<int64_t>(rank) : a;
    if (given != want) {
      return call->Error(StatusCode::kUnsupported,
                         "attention_axes " + axes->dump() +
                             ": only attention over all axes between batch and features "
                             "(the default) is supported");
    }
  }
  const int64_t e = query.back(), ev = value.back(), ek = key.back();
  const int64_t t = Product(query, 1, rank - 1), len = Product(value, 1, rank - 1);
  const int64_t h = s.heads, kd = s.key_dim, vd = s.value_dim;
  const int64_t o = s.output_dim > 0 ? s.output_dim : e;
  const int32_t b = query[0];

  // [B, T..., E] -> [B, T, E] when there are several middle axes.
  auto flat = [&](int x, const Shape& shape, int64_t steps, const char* what) {
    if (rank == 3) return x;
    return Reshape(call, x, ToShape({b, steps, shape.back()}), std::string(what) + "_flat");
  };
  const int q_in = flat(call->inputs[0], query, t, "query");
  const int v_in = flat(call->inputs[1], value, len, "value");
  const int k_in = call->inputs.size() == 3 ? flat(call->inputs[2], key, len, "key") : v_in;

  EDGEOPT_ASSIGN_OR_RETURN(int q, Project(call, q_in, "query", {e, h, kd}, 1, h * kd, s.use_bias));
  q = EmitScalarOp(call, "MUL", q, static_cast<float>(1.0 / std::sqrt(static_cast<double>(kd))));
  EDGEOPT_ASSIGN_OR_RETURN(int k, Project(call, k_in, "key", {ek, h, kd}, 1, h * kd, s.use_bias));
  EDGEOPT_ASSIGN_OR_RETURN(int v, Project(call, v_in, "value", {ev, h, vd}, 1, h * vd, s.use_bias));
  auto heads = [&](int x, int64_t steps, int64_t d, const std::string& what) {
    const int r = Reshape(call, x, ToShape({b, steps, h, d}), what + "_heads");
    return Transpose0213(call, r, what + "_bhtd");
  };
  q = heads(q, t, kd, "query");
  k = heads(k, len, kd, "key");
  v = heads(v, len, vd, "value");
  const int scores = BatchMatMul(call, q, k, true, ToShape({b, h, t, len}), "scores");
  EDGEOPT_ASSIGN_OR_RETURN(int context, Attend(call, scores, s.dropout, v, ToShape({b, h, t, vd})));
  const int merged = Reshape(call, Transpose0213(call, context, "context_bthd"),
                             ToShape({b, t, h * vd}), "context_merged");
  EDGEOPT_ASSIGN_OR_RETURN(int y,
                           Project(call, merged, "attention_output", {h, vd, o}, 2, o, s.use_bias));
  if (rank > 3) {
    Shape out = query;
    out.back() = static_cast<int32_t>(o);
    y = Reshape(call, y, out, "output");
  }
  call->outputs = {y};
  return Status::Ok();
}

StatusOr<std::vector<std::string>> DotAttentionVariables(const LayerConfig& config) {
  std::vector<std::string> vars;
  if (config.class_name() == "AdditiveAttention") {
    EDGEOPT_ASSIGN_OR_RETURN(bool use_scale, config.BoolOr("use_scale", true));
    if (use_scale) vars.push_back("scale");
    return vars;
  }
  EDGEOPT_ASSIGN_OR_RETURN(bool use_scale, config.BoolOr("use_scale", false));
  EDGEOPT_ASSIGN_OR_RETURN(std::string mode, config.StringOr("score_mode", "dot"));
  if (use_scale) vars.push_back("scale");
  if (mode == "concat") vars.push_back("concat_score_weight");
  return vars;
}

Status ConvertDotAttention(LayerCall* call) {
  const LayerConfig& c = call->config;
  const bool additive = c.class_name() == "AdditiveAttention";
  EDGEOPT_ASSIGN_OR_RETURN(bool use_scale, c.BoolOr("use_scale", additive));
  EDGEOPT_ASSIGN_OR_RETURN(std::string mode, c.StringOr("score_mode", "dot"));
  EDGEOPT_ASSIGN_OR_RETURN(double dropout, c.FloatOr("dropout", 0.0));
  EDGEOPT_ASSIGN_OR_RETURN(bool causal, c.BoolOr("causal", false));  // Keras 2.x's argument
  if (!additive && mode != "dot" && mode != "concat") {
    return call->Error(StatusCode::kUnsupported, "score_mode '" + mode + "'");
  }
  if (!(dropout >= 0.0 && dropout < 1.0)) {
    return call->Error(StatusCode::kInvalidModel, "dropout must be in [0, 1)");
  }
  if (causal) {
    return call->Error(StatusCode::kUnsupported, "causal=True, which edgeopt does not map");
  }
  EDGEOPT_RETURN_IF_ERROR(RefuseCallFlags(*call));
  if (call->inputs.size() < 2 || call->inputs.size() > 3) {
    return call->Error(StatusCode::kUnsupported,
                       "is called with " + std::to_string(call->inputs.size()) +
                           " tensors; it takes [query, value] or [query, value, key]");
  }
  const int q = call->inputs[0], v = call->inputs[1];
  const int k = call->inputs.size() == 3 ? call->inputs[2] : v;
  const Shape query = call->InputShape(0), value = call->InputShape(1);
  const Shape key = call->builder->ShapeOf(k);
  if (query.size() != 3 || value.size() != 3 || key.size() != 3 || query[0] != value[0] ||
      key[0] != value[0] || key[1] != value[1] || query[2] != key[2]) {
    return call->Error(StatusCode::kUnsupported,
                       "needs query [B, T, d], value [B, S, dv] and key [B, S, d], got " +
                           ShapeString(query) + ", " + ShapeString(value) + ", " +
                           ShapeString(key));
  }
  const int32_t b = query[0], t = query[1], s = value[1], d = query[2];
  int scores = -1;
  if (!additive && mode == "dot") {
    scores = BatchMatMul(call, q, k, true, Shape{b, t, s}, "scores");
    if (use_scale) {
      EDGEOPT_ASSIGN_OR_RETURN(std::vector<float> scale, call->Weight("scale", {}));
      const int w = call->AddWeightTensor("scale", Shape{}, std::move(scale));
      scores = Mul(call, scores, w, Shape{b, t, s}, "scaled_scores");
    }
  } else {
    // tanh(query[:, :, None] + key[:, None]) summed over d.
    const int q4 = Reshape(call, q, Shape{b, t, 1, d}, "query_expanded");
    const int k4 = Reshape(call, k, Shape{b, 1, s, d}, "key_expanded");
    ir::Attrs none;
    none["fused_activation_function"] = std::string("NONE");
    int sum = call->NewTensor(Shape{b, t, s, d}, "sum");
    call->AddNode("ADD", {q4, k4}, {sum}, none);
    int scale = -1;
    if (use_scale) {
      const Shape shape = additive ? Shape{d} : Shape{};
      EDGEOPT_ASSIGN_OR_RETURN(
          std::vector<float> values,
          call->Weight("scale", additive ? std::vector<int64_t>{d} : std::vector<int64_t>{}));
      scale = call->AddWeightTensor("scale", shape, std::move(values));
    }
    if (scale >= 0 && !additive) {  // Attention(score_mode="concat"): scale inside the tanh
      sum = Mul(call, sum, scale, Shape{b, t, s, d}, "scaled_sum");
    }
    int h = EmitUnary(call, "TANH", sum);
    if (scale >= 0 && additive) h = Mul(call, h, scale, Shape{b, t, s, d}, "scaled_tanh");
    scores = call->NewTensor(Shape{b, t, s}, "scores");
    ir::Attrs keep;
    keep["keep_dims"] = false;
    call->AddNode("SUM", {h, call->Int32Const("sum_axes", {3})}, {scores}, keep);
    if (!additive) {
      EDGEOPT_ASSIGN_OR_RETURN(std::vector<float> weight, call->Weight("concat_score_weight", {}));
      const int w = call->AddWeightTensor("concat_score_weight", Shape{}, std::move(weight));
      scores = Mul(call, scores, w, Shape{b, t, s}, "weighted_scores");
    }
  }
  EDGEOPT_ASSIGN_OR_RETURN(int context, Attend(call, scores, dropout, v, Shape{b, t, value[2]}));
  call->outputs = {context};
  return Status::Ok();
}

}  // namespace keras
}  // namespace edgeopt
