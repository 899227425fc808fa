// LayerNormalization, GroupNormalization, UnitNormalization and Normalization (the preprocessing
// layer).
//  - LayerNormalization over the last axis, as Keras computes it (mean and variance of each
//    position's features, y = (x - mean) * rsqrt(variance + epsilon) * gamma + beta):
//    MEAN, SUB, MUL, MEAN, ADD, RSQRT, MUL, then MUL by gamma and ADD of beta when the layer has
//    them. The official converter lowers it to the same ops (with SQUARED_DIFFERENCE). gamma and
//    beta are weights (trained by edgeopt train).
//  - GroupNormalization(groups): the channels in groups, each group standardized over all positions
//    and its channels (Keras's moments over the reshaped [..., G, C/G]): RESHAPE [B, P, G, C/G],
//    the chain above over axes 1 and 3, RESHAPE back, then gamma and beta per channel.
//  - Normalization: (x - mean) / max(sqrt(variance), 1e-7) (or its inverse with invert=True)
//    as one MUL and one ADD of constants, from the layer's mean and variance weights (adapt())
//    or the ones its config gives. They are not trained, as in Keras.
//  - UnitNormalization(axis): x / max(|x|, 1e-6) over the axes (tf.math.l2_normalize; Keras 3
//    caps the inverse norm at 1e12, which differs only for vectors shorter than 1e-6):
//    L2_NORMALIZATION over the last axis, else MUL, SUM, MAXIMUM, RSQRT, MUL.
#include <algorithm>
#include <cmath>

#include "src/importers/keras/layers/layer_registry.h"
#include "src/importers/keras/layers/layer_util.h"

namespace edgeopt {
namespace keras {
namespace {

// The normalized axis: only the last one (the features / channels) is supported.
Status LastAxisOnly(const LayerCall& call, const char* what) {
  const int rank = call.InputRank();
  if (!call.config.Has("axis")) return Status::Ok();
  const Json* v = call.config.Find("axis");
  if (v != nullptr && v->is_null()) {
    return call.Error(StatusCode::kUnsupported,
                      std::string(what) +
                          " over every axis (axis=None) is not supported; only "
                          "the last axis");
  }
  EDGEOPT_ASSIGN_OR_RETURN(std::vector<int64_t> axes, call.config.IntList("axis"));
  if (axes.size() != 1) {
    return call.Error(StatusCode::kUnsupported,
                      std::string(what) + " over several axes is not supported; only the last");
  }
  int64_t axis = axes[0] < 0 ? axes[0] + rank : axes[0];
  if (axis != rank - 1) {
    return call.Error(StatusCode::kUnsupported,
                      std::string(what) + " over axis " + std::to_string(axes[0]) + " of a rank-" +
                          std::to_string(rank) + " input; only the last axis is supported");
  }
  return Status::Ok();
}

// (x - mean) · rsqrt(variance + epsilon) over `axes` of x: MEAN, SUB, MUL, MEAN, ADD, RSQRT, MUL.
int Standardize(LayerCall* call, int x, const std::vector<int32_t>& axes_list, double epsilon) {
  const Shape in = call->builder->ShapeOf(x);
  Shape reduced = in;
  for (int32_t a : axes_list) reduced[a] = 1;
  const int axes = call->Int32Const("axes", axes_list);
  ir::Attrs keep;
  keep["keep_dims"] = true;
  ir::Attrs none;
  none["fused_activation_function"] = std::string("NONE");
  const int mean = call->NewTensor(reduced, "mean");
  call->AddNode("MEAN", {x, axes}, {mean}, keep);
  const int centered = call->NewTensor(in, "centered");
  call->AddNode("SUB", {x, mean}, {centered}, none);
  const int squared = call->NewTensor(in, "squared");
  call->AddNode("MUL", {centered, centered}, {squared}, none);
  const int variance = call->NewTensor(reduced, "variance");
  call->AddNode("MEAN", {squared, axes}, {variance}, keep);
  const int eps = call->FloatConst("epsilon", {}, {static_cast<float>(epsilon)});
  const int shifted = call->NewTensor(reduced, "variance_epsilon");
  call->AddNode("ADD", {variance, eps}, {shifted}, none);
  const int inv = call->NewTensor(reduced, "rsqrt");
  call->AddNode("RSQRT", {shifted}, {inv});
  const int y = call->NewTensor(in, "normalized");
  call->AddNode("MUL", {centered, inv}, {y}, none);
  return y;
}

// y · gamma + beta over the last axis (the layer's weights, when it has them).
StatusOr<int> ScaleAndCenter(LayerCall* call, int y, bool scale, bool center) {
  const Shape in = call->builder->ShapeOf(y);
  const int64_t features = in.back();
  const Shape vec = {static_cast<int32_t>(features)};
  ir::Attrs none;
  none["fused_activation_function"] = std::string("NONE");
  if (scale) {
    EDGEOPT_ASSIGN_OR_RETURN(std::vector<float> v, call->Weight("gamma", {features}));
    const int gamma = call->AddWeightTensor("gamma", vec, std::move(v));
    const int scaled = call->NewTensor(in, "scaled");
    call->AddNode("MUL", {y, gamma}, {scaled}, none);
    y = scaled;
  }
  if (center) {
    EDGEOPT_ASSIGN_OR_RETURN(std::vector<float> v, call->Weight("beta", {features}));
    const int beta = call->AddWeightTensor("beta", vec, std::move(v));
    const int shifted_out = call->NewTensor(in, "shifted");
    call->AddNode("ADD", {y, beta}, {shifted_out}, none);
    y = shifted_out;
  }
  return y;
}

}  // namespace

StatusOr<std::vector<std::string>> LayerNormalizationVariables(const LayerConfig& config) {
  return GammaBetaVariables(config);
}

Status ConvertLayerNormalization(LayerCall* call) {
  const LayerConfig& c = call->config;
  const Shape in = call->InputShape();
  const int rank = static_cast<int>(in.size());
  if (rank < 2) return call->Error(StatusCode::kUnsupported, "needs an input of rank 2 or more");
  EDGEOPT_RETURN_IF_ERROR(LastAxisOnly(*call, "normalization"));
  EDGEOPT_ASSIGN_OR_RETURN(bool rms, c.BoolOr("rms_scaling", false));
  if (rms) return call->Error(StatusCode::kUnsupported, "rms_scaling=True is not supported");
  EDGEOPT_ASSIGN_OR_RETURN(bool scale, c.BoolOr("scale", true));
  EDGEOPT_ASSIGN_OR_RETURN(bool center, c.BoolOr("center", true));
  EDGEOPT_ASSIGN_OR_RETURN(double epsilon, c.FloatOr("epsilon", 1e-3));
  if (!(epsilon >= 0)) return call->Error(StatusCode::kInvalidModel, "epsilon must be >= 0");
  const int y = Standardize(call, call->inputs[0], {rank - 1}, epsilon);
  EDGEOPT_ASSIGN_OR_RETURN(const int out, ScaleAndCenter(call, y, scale, center));
  call->outputs = {out};
  return Status::Ok();
}

StatusOr<std::vector<std::string>> NormalizationVariables(const LayerConfig& config) {
  // With mean and variance in the config, Keras makes them constants, not variables.
  const Json* mean = config.Find("mean");
  if (mean != nullptr && !mean->is_null()) return std::vector<std::string>{};
  return std::vector<std::string>{"mean", "variance", "count"};
}

Status ConvertNormalization(LayerCall* call) {
  const LayerConfig& c = call->config;
  const Shape in = call->InputShape();
  if (in.size() < 2)
    return call->Error(StatusCode::kUnsupported, "needs an input of rank 2 or more");
  EDGEOPT_RETURN_IF_ERROR(LastAxisOnly(*call, "normalization"));
  EDGEOPT_ASSIGN_OR_RETURN(bool invert, c.BoolOr("invert", false));
  const int64_t features = in.back();
  // From the config (empty: not given there), else the adapt()ed weights.
  EDGEOPT_ASSIGN_OR_RETURN(std::vector<float> mean, ConfigFloats(*call, "mean"));
  EDGEOPT_ASSIGN_OR_RETURN(std::vector<float> variance, ConfigFloats(*call, "variance"));
  if (mean.empty() != variance.empty()) {
    return call->Error(StatusCode::kInvalidModel, "the config gives only one of mean and variance");
  }
  if (mean.empty()) {
    EDGEOPT_ASSIGN_OR_RETURN(mean, call->Weight("mean", {features}));
    EDGEOPT_ASSIGN_OR_RETURN(variance, call->Weight("variance", {features}));
    call->used_vars.push_back("count");  // the sample count adapt() saw; not needed here
  }
  const size_t n = mean.size();
  if ((n != 1 && static_cast<int64_t>(n) != features) || variance.size() != n) {
    return call->Error(StatusCode::kInvalidModel, "mean and variance have " + std::to_string(n) +
                                                      " and " + std::to_string(variance.size()) +
                                                      " values for " + std::to_string(features) +
                                                      " features");
  }
  // Keras: (x - mean) / max(sqrt(variance), epsilon), epsilon 1e-7; invert: mean + x * that.
  std::vector<float> mul(n), add(n);
  for (size_t i = 0; i < n; ++i) {
    const double v = variance[i];
    if (!(v >= 0)) return call->Error(StatusCode::kInvalidModel, "a variance is negative or NaN");
    const double s = std::max(std::sqrt(v), 1e-7);
    mul[i] = static_cast<float>(invert ? s : 1.0 / s);
    add[i] = static_cast<float>(invert ? mean[i] : -mean[i] / s);
  }
  const Shape shape = n == 1 ? Shape{} : Shape{static_cast<int32_t>(n)};
  ir::Attrs none;
  none["fused_activation_function"] = std::string("NONE");
  const int k_mul = call->FloatConst("scale", shape, mul);
  const int scaled = call->NewTensor(in, "scaled");
  call->AddNode("MUL", {call->inputs[0], k_mul}, {scaled}, none);
  const int k_add = call->FloatConst("offset", shape, add);
  const int y = call->NewTensor(in, "normalized");
  call->AddNode("ADD", {scaled, k_add}, {y}, none);
  call->outputs = {y};
  return Status::Ok();
}

Status ConvertUnitNormalization(LayerCall* call) {
  const int rank = call->InputRank();
  std::vector<int64_t> axes = {-1};
  if (call->config.Has("axis")) {
    EDGEOPT_ASSIGN_OR_RETURN(axes, call->config.IntList("axis"));
  }
  std::vector<int> normalized;
  for (int64_t a : axes) {
    const int64_t axis = a < 0 ? a + rank : a;
    if (axis < 1 || axis >= rank) {
      return call->Error(StatusCode::kInvalidModel, "axis " + std::to_string(a) +
                                                        " is not a non-batch axis of a rank-" +
                                                        std::to_string(rank) + " input");
    }
    normalized.push_back(static_cast<int>(axis));
  }
  std::sort(normalized.begin(), normalized.end());
  normalized.erase(std::unique(normalized.begin(), normalized.end()), normalized.end());
  call->outputs = {EmitL2Normalize(call, call->inputs[0], normalized, "l2")};
  return Status::Ok();
}

StatusOr<std::vector<std::string>> GroupNormalizationVariables(const LayerConfig& config) {
  return GammaBetaVariables(config);
}

// GroupNormalization(groups, axis=-1): the channels in `groups` groups, each standardized over
// the positions and its channels: RESHAPE [B, P, G, C/G] (P: all positions), the
// LayerNormalization chain over axes 1 and 3, RESHAPE back, gamma and beta per channel.
Status ConvertGroupNormalization(LayerCall* call) {
  const LayerConfig& c = call->config;
  const Shape in = call->InputShape();
  const int rank = static_cast<int>(in.size());
  if (rank < 2) return call->Error(StatusCode::kUnsupported, "needs an input of rank 2 or more");
  EDGEOPT_RETURN_IF_ERROR(LastAxisOnly(*call, "group normalization"));
  EDGEOPT_ASSIGN_OR_RETURN(int64_t groups, c.IntOr("groups", 32));
  EDGEOPT_ASSIGN_OR_RETURN(bool scale, c.BoolOr("scale", true));
  EDGEOPT_ASSIGN_OR_RETURN(bool center, c.BoolOr("center", true));
  EDGEOPT_ASSIGN_OR_RETURN(double epsilon, c.FloatOr("epsilon", 1e-3));
  if (!(epsilon >= 0)) return call->Error(StatusCode::kInvalidModel, "epsilon must be >= 0");
  const int64_t channels = in.back();
  if (groups <= 0 || groups > channels || channels % groups != 0) {
    return call->Error(StatusCode::kInvalidModel, "groups=" + std::to_string(groups) +
                                                      " does not divide the " +
                                                      std::to_string(channels) + " channels");
  }
  int64_t positions = 1;
  for (int d = 1; d + 1 < rank; ++d) positions *= in[d];
  const Shape grouped = {in[0], static_cast<int32_t>(positions), static_cast<int32_t>(groups),
                         static_cast<int32_t>(channels / groups)};
  const int x = call->NewTensor(grouped, "grouped");
  call->AddNode("RESHAPE", {call->inputs[0], call->Int32Const("grouped_shape", grouped)}, {x});
  const int standardized = Standardize(call, x, {1, 3}, epsilon);
  const int y = call->NewTensor(in, "ungrouped");
  call->AddNode("RESHAPE", {standardized, call->Int32Const("ungrouped_shape", in)}, {y});
  EDGEOPT_ASSIGN_OR_RETURN(const int out, ScaleAndCenter(call, y, scale, center));
  call->outputs = {out};
  return Status::Ok();
}

}  // namespace keras
}  // namespace edgeopt
