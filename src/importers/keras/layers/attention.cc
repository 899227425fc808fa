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
// [H·d, E] and [O, H·vd]. use_causal_mask=True masks the scores (CausalMask) on rank-3 inputs;
// so do Keras masks of the inputs (Embedding mask_zero, Masking; EmitMaskedScores): MHA drops
// the scores of masked queries, values and keys (Keras 3 and tf.keras AND them), and its output
// carries the query's mask; Attention / AdditiveAttention drop masked values' scores and zero
// masked queries' outputs. attention_mask tensors and return_attention_scores are refused.
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
//
// Dot (the merge layer) is here too: a BATCH_MATMUL like the attention scores (see ConvertDot).
#include <algorithm>
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

int Transpose0213(LayerCall* call, int x, const std::string& suffix) {
  return EmitTranspose(call, x, {0, 2, 1, 3}, suffix);
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

// The call's use_causal_mask flag; return_attention_scores=True (a second output) is refused.
StatusOr<bool> CausalCall(const LayerCall& call) {
  auto scores = call.kwargs.find("return_attention_scores");
  if (scores != call.kwargs.end() && scores->is_boolean() && scores->get<bool>()) {
    return call.Error(StatusCode::kUnsupported,
                      "is called with return_attention_scores=True, which edgeopt does not map");
  }
  auto causal = call.kwargs.find("use_causal_mask");
  return causal != call.kwargs.end() && causal->is_boolean() && causal->get<bool>();
}

// Keras's causal mask on scores [..., T, S]: query position i attends to key positions j <= i
// (Keras's cumsum comparison, also when T != S). Keras adds -1e9 to the other scores (MHA's
// Softmax mask; Attention subtracts 1e9), so their weights underflow to exactly 0. Here they
// become -1e9 through MINIMUM with a constant of +1e9 (kept) or -1e9 (masked), the same softmax
// in float. MINIMUM is a same-scale op: in int8 the masked scores saturate to the bottom of the
// scores' range, which the quantizer lowers far enough that their weights stay negligible.
int CausalMask(LayerCall* call, int scores) {
  const Shape shape = call->builder->ShapeOf(scores);
  const size_t rank = shape.size();
  const int32_t t = shape[rank - 2], s = shape[rank - 1];
  Shape mask_shape(rank, 1);
  mask_shape[rank - 2] = t;
  mask_shape[rank - 1] = s;
  std::vector<float> mask(static_cast<size_t>(t) * s);
  for (int32_t i = 0; i < t; ++i) {
    for (int32_t j = 0; j < s; ++j) mask[static_cast<size_t>(i) * s + j] = j <= i ? 1e9f : -1e9f;
  }
  const int m = call->FloatConst("causal_mask", mask_shape, std::move(mask));
  const int y = call->NewTensor(shape, "masked_scores");
  call->AddNode("MINIMUM", {scores, m}, {y});
  return y;
}

// The attention probabilities SOFTMAX(scores) (+ DROPOUT in training form) applied to v:
// BATCH_MATMUL into a new tensor of `out` ("context").
StatusOr<int> Attend(LayerCall* call, int scores, double dropout, int v, const Shape& out) {
  EDGEOPT_ASSIGN_OR_RETURN(int probs, EmitSoftmax(call, scores, -1));
  if (dropout > 0.0) probs = EmitDropout(call, probs, dropout, false, "attention_dropout");
  return EmitBatchMatMul(call, probs, v, false, false, out, "context");
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
  EDGEOPT_ASSIGN_OR_RETURN(const bool causal_call, CausalCall(*call));
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
    return EmitReshape(call, x, ToShape({b, steps, shape.back()}), std::string(what) + "_flat");
  };
  const int q_in = flat(call->inputs[0], query, t, "query");
  const int v_in = flat(call->inputs[1], value, len, "value");
  const int k_in = call->inputs.size() == 3 ? flat(call->inputs[2], key, len, "key") : v_in;

  EDGEOPT_ASSIGN_OR_RETURN(int q, Project(call, q_in, "query", {e, h, kd}, 1, h * kd, s.use_bias));
  q = EmitScalarOp(call, "MUL", q, static_cast<float>(1.0 / std::sqrt(static_cast<double>(kd))));
  EDGEOPT_ASSIGN_OR_RETURN(int k, Project(call, k_in, "key", {ek, h, kd}, 1, h * kd, s.use_bias));
  EDGEOPT_ASSIGN_OR_RETURN(int v, Project(call, v_in, "value", {ev, h, vd}, 1, h * vd, s.use_bias));
  auto heads = [&](int x, int64_t steps, int64_t d, const std::string& what) {
    const int r = EmitReshape(call, x, ToShape({b, steps, h, d}), what + "_heads");
    return Transpose0213(call, r, what + "_bhtd");
  };
  q = heads(q, t, kd, "query");
  k = heads(k, len, kd, "key");
  v = heads(v, len, vd, "value");
  int scores = EmitBatchMatMul(call, q, k, false, true, ToShape({b, h, t, len}), "scores");
  if (causal_call) {
    if (rank > 3) {
      // Keras builds the mask from the first middle axis alone, which does not match the scores
      // of several attention axes.
      return call->Error(StatusCode::kUnsupported,
                         "use_causal_mask=True on inputs of rank " + std::to_string(rank) +
                             "; edgeopt maps it on [batch, steps, features] inputs");
    }
    scores = CausalMask(call, scores);
  }
  // Keras masks: of the value (and key), over the keys; of the query, over its rows.
  const bool masked =
      std::any_of(call->input_masks.begin(), call->input_masks.end(), [](int m) { return m >= 0; });
  if (masked && rank > 3) {
    return call->Error(StatusCode::kUnsupported,
                       "Keras masks on inputs of rank " + std::to_string(rank) +
                           "; edgeopt applies them on [batch, steps, features] inputs");
  }
  int query_mask = -1, key_mask = -1;
  for (size_t i = 0; i < call->inputs.size() && masked; ++i) {
    EDGEOPT_ASSIGN_OR_RETURN(int m, SequenceMask(*call, i));
    if (m < 0 || (i > 0 && m == key_mask)) continue;  // a key with the value's mask: done
    if (i == 0) query_mask = m;
    if (i > 0) key_mask = m;
    const Shape cond = i == 0 ? ToShape({b, 1, t, 1}) : ToShape({b, 1, 1, len});
    scores = EmitMaskedScores(call, scores, m, cond);
  }
  EDGEOPT_ASSIGN_OR_RETURN(int context, Attend(call, scores, s.dropout, v, ToShape({b, h, t, vd})));
  const int merged = EmitReshape(call, Transpose0213(call, context, "context_bthd"),
                                 ToShape({b, t, h * vd}), "context_merged");
  EDGEOPT_ASSIGN_OR_RETURN(int y,
                           Project(call, merged, "attention_output", {h, vd, o}, 2, o, s.use_bias));
  if (rank > 3) {
    Shape out = query;
    out.back() = static_cast<int32_t>(o);
    y = EmitReshape(call, y, out, "output");
  }
  call->outputs = {y};
  if (query_mask >= 0) call->output_masks = {query_mask};
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
  EDGEOPT_ASSIGN_OR_RETURN(const bool causal_call, CausalCall(*call));
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
    scores = EmitBatchMatMul(call, q, k, false, true, Shape{b, t, s}, "scores");
    if (use_scale) {
      EDGEOPT_ASSIGN_OR_RETURN(std::vector<float> scale, call->Weight("scale", {}));
      const int w = call->AddWeightTensor("scale", Shape{}, std::move(scale));
      scores = Mul(call, scores, w, Shape{b, t, s}, "scaled_scores");
    }
  } else {
    // tanh(query[:, :, None] + key[:, None]) summed over d.
    const int q4 = EmitReshape(call, q, Shape{b, t, 1, d}, "query_expanded");
    const int k4 = EmitReshape(call, k, Shape{b, 1, s, d}, "key_expanded");
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
  if (causal || causal_call) scores = CausalMask(call, scores);
  // Keras masks ([query_mask, value_mask]; a key's is ignored, as Keras does).
  EDGEOPT_ASSIGN_OR_RETURN(int query_mask, SequenceMask(*call, 0));
  EDGEOPT_ASSIGN_OR_RETURN(int value_mask, SequenceMask(*call, 1));
  if (value_mask >= 0) scores = EmitMaskedScores(call, scores, value_mask, Shape{b, 1, s});
  EDGEOPT_ASSIGN_OR_RETURN(int context, Attend(call, scores, dropout, v, Shape{b, t, value[2]}));
  if (query_mask >= 0) {
    context = Mul(call, context, query_mask, Shape{b, t, value[2]}, "masked_output");
    call->output_masks = {query_mask};
  }
  call->outputs = {context};
  return Status::Ok();
}

// Dot(axes, normalize) on two inputs of rank 2 ([B, d] · [B, d] -> [B, 1]: MUL + SUM) or rank 3
// (BATCH_MATMUL, each input transposed by adj_x / adj_y as its contracted axis needs:
// [B, T, d] · [B, S, d] over axes (2, 2) -> [B, T, S]). normalize L2-normalizes both inputs along
// their axes first (EmitL2Normalize: x / max(|x|, 1e-6), tf.keras's l2_normalize; Keras 3 caps
// the inverse norm at 1e7 instead, which differs only for vectors shorter than 1e-6).
Status ConvertDot(LayerCall* call) {
  const LayerConfig& c = call->config;
  if (call->inputs.size() != 2) {
    return call->Error(StatusCode::kInvalidModel,
                       "needs exactly 2 inputs, got " + std::to_string(call->inputs.size()));
  }
  const Shape x = call->InputShape(0), y = call->InputShape(1);
  if (x.size() != y.size() || (x.size() != 2 && x.size() != 3) || x[0] != y[0]) {
    return call->Error(StatusCode::kUnsupported,
                       "dot of " + ShapeString(x) + " and " + ShapeString(y) +
                           ": edgeopt maps two inputs of rank 2 or two of rank 3");
  }
  const int rank = static_cast<int>(x.size());
  EDGEOPT_ASSIGN_OR_RETURN(std::vector<int64_t> axes, c.IntTuple("axes", 2));
  for (int64_t& a : axes) {
    if (a < 0) a += rank;
    if (a < 1 || a >= rank) {
      return call->Error(
          StatusCode::kInvalidModel,
          "axes must name a non-batch axis of inputs of rank " + std::to_string(rank));
    }
  }
  if (x[axes[0]] != y[axes[1]]) {
    return call->Error(StatusCode::kInvalidModel,
                       "axes " + std::to_string(axes[0]) + " of " + ShapeString(x) + " and " +
                           std::to_string(axes[1]) + " of " + ShapeString(y) + " differ in size");
  }
  EDGEOPT_ASSIGN_OR_RETURN(bool normalize, c.BoolOr("normalize", false));
  int a = call->inputs[0], b = call->inputs[1];
  if (normalize) {
    a = EmitL2Normalize(call, a, {static_cast<int>(axes[0])}, "x_normalized");
    b = EmitL2Normalize(call, b, {static_cast<int>(axes[1])}, "y_normalized");
  }
  int out;
  if (rank == 2) {
    const int products = Mul(call, a, b, x, "products");
    out = call->NewTensor(Shape{x[0], 1}, "dot");
    ir::Attrs keep;
    keep["keep_dims"] = true;
    call->AddNode("SUM", {products, call->Int32Const("dot_axes", {1})}, {out}, keep);
  } else {
    // out[b, i, j] = Σ_k x[b, i|k] y[b, k|j]: BATCH_MATMUL wants lhs [T, K] and rhs [K, S].
    const int32_t t = x[axes[0] == 2 ? 1 : 2], s = y[axes[1] == 1 ? 2 : 1];
    out = EmitBatchMatMul(call, a, b, /*adj_x=*/axes[0] == 1, /*adj_y=*/axes[1] == 2,
                          Shape{x[0], t, s}, "dot");
  }
  call->outputs = {out};
  return Status::Ok();
}

}  // namespace keras
}  // namespace edgeopt
