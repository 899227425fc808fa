// Keras masks: Embedding(mask_zero=True) and Masking mark the steps of a sequence to skip, and
// the layers after them pass, use or drop that mark. edgeopt carries the mask as a float tensor
// [B, T, 1] of 1 (kept) and 0 (masked) beside the sequence [B, T, ...] (GraphBuilder::MaskOf),
// computed by builtin ops (NOT_EQUAL, CAST, RESHAPE / REDUCE_MAX), so the converted model
// computes the mask from its input as Keras does; the layers that use it:
//  - LSTM / GRU / SimpleRNN / Bidirectional keep their state at a masked step (recurrent.cc);
//  - GlobalAveragePooling1D averages the kept steps only (pooling.cc);
//  - MultiHeadAttention, Attention and AdditiveAttention drop masked positions' scores
//    (EmitMaskedScores, attention.cc).
// Each layer class has a rule (RuleOf), the same in Keras 3 and tf.keras 2.x, checked in both
// sources: the layers above use the mask; per-step layers pass it on (supports_masking, call
// ignores it); layers without masking support drop it (Keras 3 warns, tf.keras is silent). Every
// other layer that receives a mask is refused with a message rather than computed without it:
// those that use it in their math (Softmax, Keras 3's BatchNormalization in training, a
// TimeDistributed recurrent layer). Merges combine their inputs' masks (MergeMask): tf.keras with
// AND; Keras 3 versions differ (AND at first, then OR, or none when an input has no mask; recent
// ones also apply masks in Multiply, Maximum and Minimum), so there edgeopt takes the merges whose
// inputs all carry the same mask (a residual connection), where every version agrees.
#include <algorithm>

#include "src/importers/keras/layers/layer_registry.h"
#include "src/importers/keras/layers/layer_util.h"

namespace edgeopt {
namespace keras {
namespace {

enum class MaskRule {
  kRefuse,  // a mask reaching it is an error (edgeopt does not apply it)
  kOwn,     // the mapping reads input_masks and sets output_masks
  kPass,    // the first input's mask goes to every output
  kDrop,    // no mask after it (no masking support, or a reduction such as Dot)
};

struct MaskRuleEntry {
  const char* class_name;
  MaskRule rule;
};

constexpr MaskRuleEntry kMaskRules[] = {
    // Make or use a mask.
    {"Embedding", MaskRule::kOwn},
    {"Masking", MaskRule::kOwn},
    {"LSTM", MaskRule::kOwn},
    {"GRU", MaskRule::kOwn},
    {"SimpleRNN", MaskRule::kOwn},
    {"Bidirectional", MaskRule::kOwn},
    {"GlobalAveragePooling1D", MaskRule::kOwn},
    {"GlobalAvgPool1D", MaskRule::kOwn},
    {"MultiHeadAttention", MaskRule::kOwn},
    {"Attention", MaskRule::kOwn},
    {"AdditiveAttention", MaskRule::kOwn},
    // Per step (or per value) computations: the mask passes through.
    {"InputLayer", MaskRule::kPass},
    {"Dense", MaskRule::kPass},
    {"Dropout", MaskRule::kPass},
    {"SpatialDropout1D", MaskRule::kPass},
    {"GaussianNoise", MaskRule::kPass},
    {"GaussianDropout", MaskRule::kPass},
    {"AlphaDropout", MaskRule::kPass},
    {"ActivityRegularization", MaskRule::kPass},
    {"Activation", MaskRule::kPass},
    {"ReLU", MaskRule::kPass},
    {"LeakyReLU", MaskRule::kPass},
    {"PReLU", MaskRule::kPass},
    {"ELU", MaskRule::kPass},
    {"LayerNormalization", MaskRule::kPass},
    {"UnitNormalization", MaskRule::kPass},
    // No masking support: the mask ends here (the layer computes over every step).
    {"Flatten", MaskRule::kDrop},
    {"Reshape", MaskRule::kDrop},
    {"Permute", MaskRule::kDrop},
    {"RepeatVector", MaskRule::kDrop},
    {"ZeroPadding1D", MaskRule::kDrop},
    {"UpSampling1D", MaskRule::kDrop},
    {"Conv1D", MaskRule::kDrop},
    {"Conv1DTranspose", MaskRule::kDrop},
    {"SeparableConv1D", MaskRule::kDrop},
    {"DepthwiseConv1D", MaskRule::kDrop},
    {"MaxPooling1D", MaskRule::kDrop},
    {"MaxPool1D", MaskRule::kDrop},
    {"AveragePooling1D", MaskRule::kDrop},
    {"AvgPool1D", MaskRule::kDrop},
    {"GlobalMaxPooling1D", MaskRule::kDrop},
    {"GlobalMaxPool1D", MaskRule::kDrop},
    {"Dot", MaskRule::kDrop},  // supports masking, computes without it, returns no mask
    // Merges: the output's mask from the inputs' (MergeMask).
    {"Add", MaskRule::kOwn},
    {"Subtract", MaskRule::kOwn},
    {"Average", MaskRule::kOwn},
    {"Multiply", MaskRule::kOwn},
    {"Maximum", MaskRule::kOwn},
    {"Minimum", MaskRule::kOwn},
    {"Concatenate", MaskRule::kOwn},
};

MaskRule MaskRuleOf(const std::string& class_name) {
  for (const MaskRuleEntry& e : kMaskRules) {
    if (class_name == e.class_name) return e.rule;
  }
  return MaskRule::kRefuse;
}

// The rule of a layer call. TimeDistributed passes its input's mask to its output (Keras 3 and
// tf.keras); its wrapped layer sees the mask per step, which changes nothing for a per-step
// layer (kPass) nor, in Keras 3, for one without masking support (tf.keras raises there).
// Wrapped layers that use a mask are refused.
StatusOr<MaskRule> RuleOf(const LayerCall& call) {
  const std::string& cls = call.config.class_name();
  // Keras 3 operations take no mask and give none; a TFOpLambda's handling is not known.
  if (call.keras_op) {
    return cls == "TFOpLambda" || cls == "SlicingOpLambda" ? MaskRule::kRefuse : MaskRule::kDrop;
  }
  // tf.keras's BatchNormalization ignores the mask (in training too) and passes it on; Keras
  // 3's uses it in its training statistics, which edgeopt's training would not.
  if (cls == "BatchNormalization" && !call.builder->keras3()) return MaskRule::kPass;
  if (cls != "TimeDistributed") return MaskRuleOf(cls);
  EDGEOPT_ASSIGN_OR_RETURN(auto inner, InnerLayer(call.config, "layer"));
  const MaskRule rule = MaskRuleOf(inner.first);
  if (rule == MaskRule::kPass) return MaskRule::kPass;
  if (rule == MaskRule::kDrop) {
    if (call.builder->keras3()) return MaskRule::kPass;
    return call.Error(StatusCode::kInvalidModel,
                      "receives a Keras mask, and its wrapped " + inner.first +
                          " does not support masking (tf.keras raises a TypeError here)");
  }
  return call.Error(StatusCode::kUnsupported,
                    "receives a Keras mask, and edgeopt does not apply masks in a wrapped " +
                        inner.first + " (it passes them through per-step layers)");
}

// x != value as 0 / 1 floats, [x's shape].
int NotEqualAsFloat(LayerCall* call, int x, float value) {
  const Shape shape = call->builder->ShapeOf(x);
  const int b = EmitNotEqual(call, x, value, "mask_value", "not_equal");
  const int f = call->NewTensor(shape, "mask_float");
  call->AddNode("CAST", {b}, {f});
  return f;
}

}  // namespace

int EmitNotEqual(LayerCall* call, int x, float value, const std::string& value_suffix,
                 const std::string& suffix) {
  const int c = call->FloatConst(value_suffix, Shape{1}, {value});
  const int b = NewBoolTensor(call, call->builder->ShapeOf(x), suffix);
  call->AddNode("NOT_EQUAL", {x, c}, {b});
  return b;
}

Status PrepareMasks(LayerCall* call) {
  call->input_masks.clear();
  bool any = false;
  for (int t : call->inputs) {
    const int m = t >= 0 ? call->builder->MaskOf(t) : -1;
    call->input_masks.push_back(m);
    any = any || m >= 0;
  }
  if (!any) return Status::Ok();
  const std::string& cls = call->config.class_name();
  EDGEOPT_ASSIGN_OR_RETURN(const MaskRule rule, RuleOf(*call));
  if (rule == MaskRule::kRefuse) {
    return call->Error(StatusCode::kUnsupported,
                       "receives a Keras mask (from an Embedding with mask_zero=True or a Masking "
                       "layer before it), and edgeopt does not apply masks in " +
                           cls +
                           " (it applies them in LSTM, GRU, SimpleRNN, Bidirectional, "
                           "GlobalAveragePooling1D and attention, and passes them through "
                           "per-step layers)");
  }
  return Status::Ok();
}

StatusOr<std::vector<int>> OutputMasks(LayerCall* call) {
  std::vector<int> masks(call->outputs.size(), -1);
  if (std::none_of(call->input_masks.begin(), call->input_masks.end(),
                   [](int m) { return m >= 0; }) &&
      call->output_masks.empty()) {
    return masks;
  }
  EDGEOPT_ASSIGN_OR_RETURN(const MaskRule rule, RuleOf(*call));
  if (rule == MaskRule::kOwn) {
    for (size_t i = 0; i < masks.size() && i < call->output_masks.size(); ++i) {
      masks[i] = call->output_masks[i];
    }
    return masks;
  }
  if (rule != MaskRule::kPass || call->input_masks.empty()) return masks;
  const int mask = call->input_masks[0];
  if (mask < 0) return masks;
  // A mask [B, T, 1] belongs to outputs [B, T, ...] only.
  const Shape ms = call->builder->ShapeOf(mask);
  for (size_t i = 0; i < masks.size(); ++i) {
    const Shape s = call->builder->ShapeOf(call->outputs[i]);
    if (s.size() >= 2 && s[0] == ms[0] && s[1] == ms[1]) masks[i] = mask;
  }
  return masks;
}

StatusOr<int> SequenceMask(const LayerCall& call, size_t i) {
  if (i >= call.input_masks.size() || call.input_masks[i] < 0) return -1;
  const int mask = call.input_masks[i];
  const Shape ms = call.builder->ShapeOf(mask);
  const Shape& in = call.InputShape(i);
  if (ms.size() != 3 || in.size() < 2 || ms[0] != in[0] || ms[1] != in[1] || ms[2] != 1) {
    return call.Error(StatusCode::kUnsupported,
                      "receives a Keras mask of shape " + ShapeString(ms) +
                          " for an input of shape " + ShapeString(in) +
                          "; edgeopt applies masks of [batch, steps] only");
  }
  return mask;
}

int EmitEqualityMask(LayerCall* call, int x, float value, bool any_last_axis) {
  const Shape shape = call->builder->ShapeOf(x);
  const int f = NotEqualAsFloat(call, x, value);
  Shape out = shape;
  if (any_last_axis) {
    out.back() = 1;
    const int axis = call->Int32Const("mask_axis", {static_cast<int32_t>(shape.size()) - 1});
    const int y = call->NewTensor(out, "mask");
    ir::Attrs attrs;
    attrs["keep_dims"] = true;
    call->AddNode("REDUCE_MAX", {f, axis}, {y}, attrs);
    return y;
  }
  out.push_back(1);
  const int shape_const = call->Int32Const("mask_shape", out);
  const int y = call->NewTensor(out, "mask");
  call->AddNode("RESHAPE", {f, shape_const}, {y});
  return y;
}

int EmitMaskedScores(LayerCall* call, int scores, int mask, const Shape& cond_shape) {
  const int kept = EmitNotEqual(call, mask, 0.0f, "zero", "kept");
  const int shape_const = call->Int32Const("kept_shape", cond_shape);
  const int cond = NewBoolTensor(call, cond_shape, "kept");
  call->AddNode("RESHAPE", {kept, shape_const}, {cond});
  const Shape shape = call->builder->ShapeOf(scores);
  const int masked_value = call->FloatConst("masked_score", Shape{1}, {-1e9f});
  const int y = call->NewTensor(shape, "masked_scores");
  call->AddNode("SELECT_V2", {cond, scores, masked_value}, {y});
  return y;
}

StatusOr<int> MergeMask(LayerCall* call, bool steps_axis) {
  const size_t n = call->inputs.size();
  std::vector<int> masks(n, -1);
  int first = -1;
  bool all = true, same = true;
  for (size_t i = 0; i < n; ++i) {
    EDGEOPT_ASSIGN_OR_RETURN(masks[i], SequenceMask(*call, i));
    if (masks[i] < 0) {
      all = false;
    } else if (first < 0) {
      first = masks[i];
    } else if (masks[i] != first) {
      same = false;
    }
  }
  if (first < 0) return -1;
  GraphBuilder* b = call->builder;
  const Shape ms = b->ShapeOf(first);
  if (steps_axis) {
    // The steps are concatenated, and so are their masks (all kept for an input without one),
    // in every Keras version.
    std::vector<int> parts;
    for (size_t i = 0; i < n; ++i) {
      const int32_t t = call->InputShape(i)[1];
      if (masks[i] >= 0) {
        parts.push_back(masks[i]);
        continue;
      }
      const Shape s = {ms[0], t, 1};
      parts.push_back(call->FloatConst("mask_all_kept", s,
                                       std::vector<float>(static_cast<size_t>(ms[0]) * t, 1.0f)));
    }
    return EmitConcatenation(call, parts, 1, "mask");
  }
  const Shape out = b->ShapeOf(call->outputs[0]);
  for (int m : masks) {
    if (m >= 0 && (out.size() < 2 || b->ShapeOf(m) != Shape{out[0], out[1], 1})) {
      return call->Error(StatusCode::kUnsupported,
                         "receives a Keras mask of shape " + ShapeString(b->ShapeOf(m)) +
                             " and gives an output of shape " + ShapeString(out) +
                             "; edgeopt merges masks of the output's [batch, steps] only");
    }
  }
  const std::string& cls = call->config.class_name();
  if (b->keras3()) {
    if (cls == "Multiply" || cls == "Maximum" || cls == "Minimum") {
      return call->Error(StatusCode::kUnsupported,
                         "receives a Keras mask, and recent Keras 3 versions apply masks in " +
                             cls + "'s arithmetic, which edgeopt does not");
    }
    if (!all || !same) {
      return call->Error(
          StatusCode::kUnsupported,
          "merges inputs with different Keras masks (or a mask on some inputs only), which Keras "
          "3 versions combine differently (early ones: AND; later ones: OR, or no mask when an "
          "input has none); edgeopt converts Keras 3 merges whose inputs all carry the same mask");
    }
    return first;
  }
  // tf.keras: the AND of the masks the inputs have (the values are 0 / 1: a product).
  int acc = first;
  std::vector<int> done = {first};
  for (int m : masks) {
    if (m < 0 || std::find(done.begin(), done.end(), m) != done.end()) continue;
    done.push_back(m);
    const int y = call->NewTensor(ms, "mask");
    ir::Attrs attrs;
    attrs["fused_activation_function"] = std::string("NONE");
    call->AddNode("MUL", {acc, m}, {y}, attrs);
    acc = y;
  }
  return acc;
}

// Masking(mask_value): mask = any(x != mask_value) over the features; output = x * mask.
Status ConvertMasking(LayerCall* call) {
  const LayerConfig& c = call->config;
  EDGEOPT_ASSIGN_OR_RETURN(double value, c.FloatOr("mask_value", 0.0));
  if (call->InputRank() != 3) {
    return call->Error(StatusCode::kUnsupported, "needs [batch, steps, features] inputs");
  }
  const int x = call->inputs[0];
  const int mask = EmitEqualityMask(call, x, static_cast<float>(value), true);
  const int y = call->NewTensor(call->InputShape(), "masked");
  ir::Attrs attrs;
  attrs["fused_activation_function"] = std::string("NONE");
  call->AddNode("MUL", {x, mask}, {y}, attrs);
  call->outputs = {y};
  call->output_masks = {mask};
  return Status::Ok();
}

}  // namespace keras
}  // namespace edgeopt
