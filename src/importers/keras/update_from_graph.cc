// UpdateFromGraph: writes IR weight tensors back to the Keras model by
// Tensor::origin, undoing the layout changes of the layer mappings, and updates
// units/filters when a graph was channel-pruned. Unrolled GRU / SimpleRNN / Bidirectional keep
// whole transposed kernels and reset_after bias rows, written back in Keras shapes.
#include <cstdlib>
#include <cstring>
#include <map>

#include "src/importers/keras/graph_builder.h"
#include "src/importers/keras/keras_model.h"
#include "src/importers/keras/layers/layer_util.h"

namespace edgeopt {
namespace keras {
namespace {

std::vector<int64_t> Shape64(const std::vector<int32_t>& s) {
  return std::vector<int64_t>(s.begin(), s.end());
}

std::vector<float> Floats(const ir::Tensor& t) {
  std::vector<float> v(static_cast<size_t>(t.NumElements()));
  if (!v.empty()) std::memcpy(v.data(), t.data.data(), v.size() * sizeof(float));
  return v;
}

Status SetConfigInt(Json* layer, const char* key, int64_t value) {
  if (layer == nullptr || !layer->is_object() || !layer->contains("config") ||
      !(*layer)["config"].is_object()) {
    return MakeStatus(StatusCode::kInternal, "layer config not found");
  }
  (*layer)["config"][key] = value;
  return Status::Ok();
}

// Variable `var` of `layer` (which must have weights).
StatusOr<NpyArray*> FindVar(const std::map<std::string, LayerWeights*>& by_layer,
                            const std::string& layer, const std::string& var) {
  auto lw = by_layer.find(layer);
  if (lw != by_layer.end()) {
    for (auto& [name, array] : lw->second->vars) {
      if (name == var) return &array;
    }
  }
  return MakeStatus(StatusCode::kNotFound, "layer '%s' has no variable '%s'", layer.c_str(),
                    var.c_str());
}

}  // namespace

Status UpdateFromGraph(KerasModel* model, const ir::Graph& graph) {
  std::map<std::string, LayerWeights*> by_layer;
  for (LayerWeights& lw : model->weights) by_layer[lw.layer] = &lw;
  // LSTM gate pieces, gathered per (layer, var) before writing.
  std::map<std::pair<std::string, std::string>, std::map<int, const ir::Tensor*>> gates;
  // Rows of reset_after GRU biases ("bias[0]" input, "bias[1]" recurrent), likewise.
  std::map<std::pair<std::string, std::string>, std::map<int, const ir::Tensor*>> bias_rows;
  // A grouped convolution's per-group kernels and biases ("kernel{g}", "bias{g}"), likewise.
  std::map<std::pair<std::string, std::string>, std::map<int, const ir::Tensor*>> group_parts;

  for (const ir::Tensor& t : graph.tensors) {
    if (t.origin.empty() || !t.is_constant) continue;
    // "<layer>/<var>"; layer names have no '/', vars may (Bidirectional's "forward/kernel").
    const size_t slash = t.origin.find('/');
    if (slash == std::string::npos || t.origin.find(' ') != std::string::npos) continue;
    const std::string layer = t.origin.substr(0, slash);
    std::string var = t.origin.substr(slash + 1);
    if (t.dtype != DType::kFloat32) {
      return MakeStatus(StatusCode::kUnsupported,
                        "weight %s is %s; only float32 goes back to Keras", t.origin.c_str(),
                        DTypeName(t.dtype));
    }
    Json* entry = FindLayerJson(&model->config, layer);
    auto lw = by_layer.find(layer);
    if (entry == nullptr || lw == by_layer.end()) {
      return MakeStatus(StatusCode::kNotFound,
                        "weight %s: the model has no layer '%s' with weights", t.origin.c_str(),
                        layer.c_str());
    }
    std::string cls = LayerClass(*entry);
    if (cls == "TimeDistributed" && (*entry)["config"].contains("layer")) {
      entry = &(*entry)["config"]["layer"];  // the wrapped layer's kernel layout and config
      cls = LayerClass(*entry);
    }
    const size_t brace = var.find('{');
    if (brace != std::string::npos) {
      int g = -1;
      if (var.back() == '}' && brace + 2 < var.size() && var.size() - brace <= 7) {
        g = std::atoi(var.substr(brace + 1, var.size() - brace - 2).c_str());
      }
      if (g < 0 || (cls != "Conv2D" && cls != "Convolution2D" && cls != "Conv1D" &&
                    cls != "Convolution1D")) {
        return MakeStatus(StatusCode::kInvalidArgument, "weight %s: bad group", t.origin.c_str());
      }
      group_parts[{layer, var.substr(0, brace)}][g] = &t;
      continue;
    }
    const size_t bracket = var.find('[');
    // Unrolled recurrent layers (an LSTM with unroll=True: whole variables, no gate pieces).
    const bool unrolled = cls == "GRU" || cls == "SimpleRNN" || cls == "Bidirectional" ||
                          (cls == "LSTM" && bracket == std::string::npos);
    if (unrolled && bracket != std::string::npos) {
      if (var.size() != bracket + 3 || (var[bracket + 1] != '0' && var[bracket + 1] != '1') ||
          var[bracket + 2] != ']') {
        return MakeStatus(StatusCode::kInvalidArgument, "weight %s: bad bias row",
                          t.origin.c_str());
      }
      bias_rows[{layer, var.substr(0, bracket)}][var[bracket + 1] - '0'] = &t;
      continue;
    }
    if (bracket != std::string::npos) {
      static const std::string kGates = "ifco";
      const size_t g = bracket + 1 < var.size() ? kGates.find(var[bracket + 1]) : std::string::npos;
      if (g == std::string::npos) {
        return MakeStatus(StatusCode::kInvalidArgument, "weight %s: bad gate", t.origin.c_str());
      }
      gates[{layer, var.substr(0, bracket)}][static_cast<int>(g)] = &t;
      continue;
    }
    NpyArray* target = nullptr;
    for (auto& [name, array] : lw->second->vars) {
      if (name == var) target = &array;
    }
    if (target == nullptr) {
      return MakeStatus(StatusCode::kNotFound, "weight %s: layer '%s' has no variable '%s'",
                        t.origin.c_str(), layer.c_str(), var.c_str());
    }
    const std::vector<int64_t> s = Shape64(t.shape);
    std::vector<float> values = Floats(t);
    std::vector<int64_t> keras_shape = s;
    const std::string leaf = var.substr(var.rfind('/') + 1);
    if (unrolled && (leaf == "kernel" || leaf == "recurrent_kernel") && s.size() == 2) {
      // Unrolled recurrent layers keep the transposed kernels ([G*U, F], [G*U, U]).
      values = TransposeData(values, s, {1, 0});
      keras_shape = {s[1], s[0]};
      if (leaf == "recurrent_kernel" && cls != "Bidirectional") {
        EDGEOPT_RETURN_IF_ERROR(SetConfigInt(entry, "units", s[1]));
      }
    } else if (KeepsVariableShapes(cls)) {
      // Keras's shapes stay (attention layers are not channel-pruned): MultiHeadAttention's
      // FULLY_CONNECTED weights [out, in] of the EinsumDense kernels [in, H, d] / [H, vd, out],
      // its biases [H·d] of [H, d] (an EinsumDense layer's likewise: [N, K] of [K..., N...]);
      // Attention's scalars and AdditiveAttention's scale as they are.
      if (t.NumElements() != target->NumElements()) {
        return MakeStatus(StatusCode::kUnsupported, "weight %s: %lld elements, Keras's %lld",
                          t.origin.c_str(), static_cast<long long>(t.NumElements()),
                          static_cast<long long>(target->NumElements()));
      }
      if (leaf == "kernel" && s.size() == 2) values = TransposeData(values, s, {1, 0});
      keras_shape = target->shape;
    } else if (var == "kernel" && cls == "Dense" && s.size() == 2) {
      values = TransposeData(values, s, {1, 0});
      keras_shape = {s[1], s[0]};
      EDGEOPT_RETURN_IF_ERROR(SetConfigInt(entry, "units", s[0]));
    } else if (var == "kernel" && (cls == "Conv1D" || cls == "Convolution1D") && s.size() == 4) {
      values = TransposeData(values, {s[0], s[2], s[3]}, {1, 2, 0});
      keras_shape = {s[2], s[3], s[0]};
      EDGEOPT_RETURN_IF_ERROR(SetConfigInt(entry, "filters", s[0]));
    } else if (var == "kernel" && (cls == "Conv2D" || cls == "Convolution2D") && s.size() == 4) {
      values = TransposeData(values, s, {1, 2, 3, 0});
      keras_shape = {s[1], s[2], s[3], s[0]};
      EDGEOPT_RETURN_IF_ERROR(SetConfigInt(entry, "filters", s[0]));
    } else if (var == "kernel" && cls.find("1DTranspose") != std::string::npos && s.size() == 4) {
      // Conv1DTranspose: [F, 1, K, C] -> [K, F, C].
      values = TransposeData(values, {s[0], s[2], s[3]}, {1, 0, 2});
      keras_shape = {s[2], s[0], s[3]};
      EDGEOPT_RETURN_IF_ERROR(SetConfigInt(entry, "filters", s[0]));
    } else if (var == "kernel" && cls.find("2DTranspose") != std::string::npos && s.size() == 4) {
      values = TransposeData(values, s, {1, 2, 0, 3});
      keras_shape = {s[1], s[2], s[0], s[3]};
      EDGEOPT_RETURN_IF_ERROR(SetConfigInt(entry, "filters", s[0]));
    } else if (var == "depthwise_kernel" && s.size() == 4) {
      // [1,H,W,C*M] -> [H,W,C,M] (2-D) or [W,C,M] (DepthwiseConv1D, SeparableConv1D).
      const std::vector<int64_t>& old = target->shape;
      const bool is1d = old.size() == 3;
      const int64_t multiplier = old.size() >= 3 ? old.back() : 1;
      if (multiplier <= 0 || s[3] % multiplier != 0) {
        return MakeStatus(StatusCode::kInvalidArgument,
                          "weight %s: %lld channels for depth "
                          "multiplier %lld",
                          t.origin.c_str(), static_cast<long long>(s[3]),
                          static_cast<long long>(multiplier));
      }
      keras_shape = {s[1], s[2], s[3] / multiplier, multiplier};
      if (is1d) keras_shape.erase(keras_shape.begin());
    } else if (var == "pointwise_kernel" && s.size() == 4) {
      values = TransposeData(values, {s[0], s[3]}, {1, 0});
      keras_shape = {1, 1, s[3], s[0]};
      if (target->shape.size() == 3) keras_shape.erase(keras_shape.begin());  // SeparableConv1D
      EDGEOPT_RETURN_IF_ERROR(SetConfigInt(entry, "filters", s[0]));
    }
    *target = MakeFloatArray(keras_shape, values);
  }

  for (const auto& [key, pieces] : gates) {
    const std::string& layer = key.first;
    const std::string& var = key.second;
    if (pieces.size() != 4) {
      return MakeStatus(StatusCode::kInvalidArgument, "%s/%s: %zu of 4 gates in the graph",
                        layer.c_str(), var.c_str(), pieces.size());
    }
    const ir::Tensor& first = *pieces.begin()->second;
    const int64_t units = first.shape[0];
    const int64_t rows = first.shape.size() == 2 ? first.shape[1] : 1;
    std::vector<float> full(static_cast<size_t>(rows * 4 * units));
    for (const auto& [g, t] : pieces) {
      if (t->shape != first.shape) {
        return MakeStatus(StatusCode::kInvalidArgument, "%s/%s: gate shapes differ", layer.c_str(),
                          var.c_str());
      }
      const std::vector<float> v = Floats(*t);
      for (int64_t u = 0; u < units; ++u) {
        for (int64_t r = 0; r < rows; ++r) full[r * 4 * units + g * units + u] = v[u * rows + r];
      }
    }
    EDGEOPT_ASSIGN_OR_RETURN(NpyArray * target, FindVar(by_layer, layer, var));
    const std::vector<int64_t> keras_shape = first.shape.size() == 2
                                                 ? std::vector<int64_t>{rows, 4 * units}
                                                 : std::vector<int64_t>{4 * units};
    *target = MakeFloatArray(keras_shape, full);
    if (var == "recurrent_kernel") {
      EDGEOPT_RETURN_IF_ERROR(SetConfigInt(FindLayerJson(&model->config, layer), "units", units));
    }
  }

  // Grouped convolutions: kernels [F/G, kh, kw, C/G] -> Keras's [kh, kw, C/G, F] (Conv1D: [kw, C/G,
  // F]) with group g's filters at [g F/G, (g + 1) F/G); biases concatenated.
  for (const auto& [key, parts] : group_parts) {
    const std::string& layer = key.first;
    const std::string& var = key.second;
    const ir::Tensor& first = *parts.begin()->second;
    const int64_t groups = static_cast<int64_t>(parts.size());
    bool ok = parts.begin()->first == 0 && parts.rbegin()->first == groups - 1;
    for (const auto& [g, t] : parts) ok = ok && t->shape == first.shape;
    const bool kernel = var == "kernel" && first.shape.size() == 4;
    if (!ok || (!kernel && !(var == "bias" && first.shape.size() == 1))) {
      return MakeStatus(StatusCode::kInvalidArgument,
                        "%s/%s: the graph's groups are not %lld pieces of one shape", layer.c_str(),
                        var.c_str(), static_cast<long long>(groups));
    }
    EDGEOPT_ASSIGN_OR_RETURN(NpyArray * target, FindVar(by_layer, layer, var));
    std::vector<float> full;  // [F, kh, kw, C/G] or [F]
    for (const auto& [g, t] : parts) {
      const std::vector<float> v = Floats(*t);
      full.insert(full.end(), v.begin(), v.end());
    }
    if (!kernel) {
      *target = MakeFloatArray({groups * first.shape[0]}, full);
      continue;
    }
    const std::vector<int64_t> s = {groups * first.shape[0], first.shape[1], first.shape[2],
                                    first.shape[3]};
    full = TransposeData(full, s, {1, 2, 3, 0});
    std::vector<int64_t> keras_shape = {s[1], s[2], s[3], s[0]};
    if (target->shape.size() == 3) keras_shape.erase(keras_shape.begin());  // Conv1D
    *target = MakeFloatArray(keras_shape, full);
    EDGEOPT_RETURN_IF_ERROR(SetConfigInt(FindLayerJson(&model->config, layer), "filters", s[0]));
  }

  for (const auto& [key, rows] : bias_rows) {
    const std::string& layer = key.first;
    const std::string& var = key.second;
    if (rows.size() != 2 || rows.begin()->second->shape.size() != 1 ||
        rows.begin()->second->shape != rows.rbegin()->second->shape) {
      return MakeStatus(StatusCode::kInvalidArgument,
                        "%s/%s: the graph needs both bias rows, of one shape [n]", layer.c_str(),
                        var.c_str());
    }
    std::vector<float> full = Floats(*rows.at(0));
    const std::vector<float> second = Floats(*rows.at(1));
    full.insert(full.end(), second.begin(), second.end());
    EDGEOPT_ASSIGN_OR_RETURN(NpyArray * target, FindVar(by_layer, layer, var));
    *target = MakeFloatArray({2, rows.at(0)->shape[0]}, full);
  }
  return Status::Ok();
}

}  // namespace keras
}  // namespace edgeopt
