// Loading Keras files: Keras 2 HDF5 (.h5, full model or weights only) and .keras zips (Keras 3 and
// tf_keras layouts of model.weights.h5).
#include <cstdio>
#include <cstring>
#include <map>
#include <set>

#include "src/importers/keras/hdf5_io.h"
#include "src/importers/keras/isolated_load.h"
#include "src/importers/keras/keras_config.h"
#include "src/importers/keras/keras_model.h"
#include "src/importers/keras/layers/layer_registry.h"
#include "src/importers/keras/zip_io.h"
#include "src/util/file_util.h"

namespace edgeopt {
namespace keras {
namespace {

constexpr size_t kMaxConfigBytes = size_t{64} << 20;

std::vector<std::string> Split(const std::string& s, char sep) {
  std::vector<std::string> parts;
  size_t start = 0;
  for (;;) {
    const size_t end = s.find(sep, start);
    parts.push_back(s.substr(start, end == std::string::npos ? std::string::npos : end - start));
    if (end == std::string::npos) break;
    start = end + 1;
  }
  return parts;
}

// "dense/kernel:0" -> "kernel".
std::string VarName(const std::string& weight_name) {
  std::string last = Split(weight_name, '/').back();
  const size_t colon = last.rfind(':');
  if (colon != std::string::npos && colon + 1 < last.size() &&
      last.find_first_not_of("0123456789", colon + 1) == std::string::npos) {
    last.resize(colon);
  }
  return last;
}

// Adds a weight to the layer's entry (creating it in first-seen order).
Status AddWeight(std::vector<LayerWeights>* out, std::map<std::string, size_t>* index,
                 const std::string& layer, const std::string& var, NpyArray array,
                 const std::string& file) {
  auto it = index->find(layer);
  if (it == index->end()) {
    it = index->emplace(layer, out->size()).first;
    out->push_back(LayerWeights{layer, {}});
  }
  LayerWeights& lw = (*out)[it->second];
  for (const auto& v : lw.vars) {
    if (v.first == var) {
      return MakeStatus(StatusCode::kInvalidModel, "%s: layer '%s' has two weights named '%s'",
                        file.c_str(), layer.c_str(), var.c_str());
    }
  }
  lw.vars.emplace_back(var, std::move(array));
  return Status::Ok();
}

// The variable names the layer's mapping gives for its config (empty when unknown or invalid).
std::vector<std::string> VariablesOf(const Json& entry) {
  const std::string cls = LayerClass(entry);
  const LayerMapping* mapping = FindLayerMapping(cls);
  auto cfg = entry.find("config");
  if (mapping == nullptr || mapping->variables == nullptr || cfg == entry.end() ||
      !cfg->is_object()) {
    return {};
  }
  auto vars = mapping->variables(LayerConfig(&*cfg, LayerName(entry), cls));
  return vars.ok() ? *vars : std::vector<std::string>();
}

// Keras 2: `group` has layer_names; each layer group has weight_names.
Status ReadKeras2Weights(hid_t group, const std::string& file, const Json& config,
                         std::vector<LayerWeights>* out) {
  EDGEOPT_ASSIGN_OR_RETURN(std::vector<std::string> layer_names,
                           h5::ReadStringListAttribute(group, "layer_names", file));
  std::map<std::string, size_t> index;
  for (const std::string& layer : layer_names) {
    if (layer.empty() || layer.find('/') != std::string::npos) {
      return MakeStatus(StatusCode::kInvalidModel, "%s: bad layer name '%s' in layer_names",
                        file.c_str(), layer.c_str());
    }
    EDGEOPT_ASSIGN_OR_RETURN(h5::Handle g, h5::OpenGroup(group, layer, file));
    std::vector<std::string> weight_names;
    if (h5::HasAttribute(g.id(), "weight_names") || h5::HasAttribute(g.id(), "weight_names0")) {
      EDGEOPT_ASSIGN_OR_RETURN(
          weight_names,
          h5::ReadStringListAttribute(g.id(), "weight_names", file + ": layer '" + layer + "'"));
    }
    // Layers nested in this one (when it is a model): weights belong to them.
    std::set<std::string> nested;
    const Json* entry = FindLayerJson(config, layer);
    if (entry != nullptr && IsModelClass(LayerClass(*entry))) {
      std::vector<LayerEntry> inner;
      EDGEOPT_RETURN_IF_ERROR(ListLayers(*entry, &inner));
      for (const LayerEntry& e : inner) nested.insert(e.name);
    }
    // A Bidirectional's weights ("<layer>/forward_gru/gru_cell/kernel:0", ...) and a
    // MultiHeadAttention's ("<layer>/query/kernel:0", ...) repeat the inner variable names: they
    // are named by position ("forward/<var>" then "backward/<var>"; "query/kernel", ...), for
    // this layer or one nested in it. Per owner: those names (empty: by name), and how many of
    // its weights came.
    std::map<std::string, std::vector<std::string>> positional;
    std::map<std::string, size_t> seen;
    auto positional_names = [&](const std::string& owner) -> const std::vector<std::string>& {
      auto [it, fresh] = positional.emplace(owner, std::vector<std::string>());
      if (fresh) {
        const Json* e = owner == layer ? entry : FindLayerJson(*entry, owner);
        if (e != nullptr &&
            (LayerClass(*e) == "Bidirectional" || LayerClass(*e) == "MultiHeadAttention")) {
          it->second = VariablesOf(*e);
        }
      }
      return it->second;
    };
    for (const std::string& wn : weight_names) {
      EDGEOPT_ASSIGN_OR_RETURN(NpyArray array,
                               h5::ReadDataset(g.id(), wn, file + ": layer '" + layer + "'"));
      std::string owner = layer;
      if (!nested.empty()) {
        const std::vector<std::string> parts = Split(wn, '/');
        for (size_t i = 0; i + 1 < parts.size(); ++i) {
          if (nested.count(parts[i]) != 0) {
            owner = parts[i];
            break;
          }
        }
      }
      std::string var = VarName(wn);
      const std::vector<std::string>& names = positional_names(owner);
      if (!names.empty()) {
        const size_t k = seen[owner]++;
        if (k >= names.size()) continue;  // reported below
        var = names[k];
      }
      EDGEOPT_RETURN_IF_ERROR(AddWeight(out, &index, owner, var, std::move(array), file));
    }
    for (const auto& [owner, names] : positional) {
      if (!names.empty() && seen[owner] != names.size()) {
        return MakeStatus(StatusCode::kInvalidModel,
                          "%s: layer '%s' has %zu weights, its config %zu", file.c_str(),
                          owner.c_str(), seen[owner], names.size());
      }
    }
  }
  return Status::Ok();
}

// Keras 3 / tf_keras: layers/<name>/vars/<i> (or _layer_checkpoint_dependencies/<name>/...), nested
// models under <model>/layers/..., the variables of RNN cells, wrapped layers and attention
// projections where Keras3WeightHolders says.
Status ReadKeras3Layers(hid_t root, const std::string& prefix, const Json& model,
                        const std::string& file, std::vector<LayerWeights>* out,
                        std::map<std::string, size_t>* index, int depth) {
  if (depth > 16)
    return MakeStatus(StatusCode::kInvalidModel, "%s: nested too deeply", file.c_str());
  const Json* layers = ModelLayers(model);
  if (layers == nullptr) return Status::Ok();
  for (const Json& entry : *layers) {
    const std::string name = LayerName(entry);
    const std::string cls = LayerClass(entry);
    std::string path;
    for (const char* container : {"layers/", "_layer_checkpoint_dependencies/"}) {
      const std::string candidate = prefix + container + name;
      if (h5::IsGroup(root, candidate)) {
        path = candidate;
        break;
      }
    }
    if (path.empty()) continue;  // no state saved (InputLayer, or a file without it)
    if (IsModelClass(cls)) {
      EDGEOPT_RETURN_IF_ERROR(
          ReadKeras3Layers(root, path + "/", entry, file, out, index, depth + 1));
      continue;
    }
    std::vector<NpyArray> arrays;
    for (const Keras3Holder& holder : Keras3WeightHolders(cls)) {
      std::string vars_path = path;
      for (const std::string& g : holder.groups) vars_path += "/" + g;
      vars_path += "/vars";
      if (!h5::IsGroup(root, vars_path)) continue;
      EDGEOPT_ASSIGN_OR_RETURN(h5::Handle vars, h5::OpenGroup(root, vars_path, file));
      EDGEOPT_ASSIGN_OR_RETURN(std::vector<std::string> children,
                               h5::ListChildren(vars.id(), file));
      std::map<int, std::string> ordered;
      for (const std::string& c : children) {
        if (c.empty() || c.size() > 6 || c.find_first_not_of("0123456789") != std::string::npos) {
          return MakeStatus(StatusCode::kInvalidModel, "%s: unexpected entry '%s/%s'", file.c_str(),
                            vars_path.c_str(), c.c_str());
        }
        ordered[std::stoi(c)] = c;
      }
      int expected = 0;
      for (const auto& [i, c] : ordered) {
        if (i != expected++) {
          return MakeStatus(StatusCode::kInvalidModel, "%s: '%s' is missing variable %d",
                            file.c_str(), vars_path.c_str(), expected - 1);
        }
        EDGEOPT_ASSIGN_OR_RETURN(NpyArray array,
                                 h5::ReadDataset(vars.id(), c, file + ": " + vars_path));
        arrays.push_back(std::move(array));
      }
    }
    if (arrays.empty()) continue;
    // Name the variables as Keras 2 does (kernel, bias, ...) when the class is known.
    std::vector<std::string> names = VariablesOf(entry);
    if (names.size() != arrays.size()) names.clear();
    for (size_t i = 0; i < arrays.size(); ++i) {
      const std::string var = names.empty() ? std::to_string(i) : names[i];
      EDGEOPT_RETURN_IF_ERROR(AddWeight(out, index, name, var, std::move(arrays[i]), file));
    }
  }
  return Status::Ok();
}

Status ReadKeras3Weights(hid_t root, const std::string& file, const Json& config,
                         std::vector<LayerWeights>* out) {
  std::map<std::string, size_t> index;
  return ReadKeras3Layers(root, "", config, file, out, &index, 0);
}

// A compiled loss's name: a string, or a serialized loss object's class_name.
std::string CompiledLossName(const Json& compile_config) {
  if (!compile_config.is_object() || !compile_config.contains("loss")) return "";
  const Json& loss = compile_config["loss"];
  if (loss.is_string()) return loss.get<std::string>();
  if (loss.is_object() && loss.contains("class_name") && loss["class_name"].is_string()) {
    return loss["class_name"].get<std::string>();
  }
  return "";
}

StatusOr<KerasModel> LoadH5(const std::string& path) {
  EDGEOPT_ASSIGN_OR_RETURN(h5::File file, h5::File::Open(path));
  KerasModel model;
  model.source_path = path;
  if (!h5::HasAttribute(file.id(), "model_config")) {
    return MakeStatus(StatusCode::kInvalidArgument,
                      "%s holds weights only (no model_config attribute); give the "
                      "architecture "
                      "as a config JSON (edgeopt convert --weights %s --config model.json)",
                      path.c_str(), path.c_str());
  }
  EDGEOPT_ASSIGN_OR_RETURN(std::string text,
                           h5::ReadStringAttribute(file.id(), "model_config", path));
  EDGEOPT_ASSIGN_OR_RETURN(model.config, ParseJson(text, path + ": model_config"));
  ResolveRnnCells(&model.config);
  EDGEOPT_RETURN_IF_ERROR(ValidateModelConfig(model.config, path + ": model_config"));
  if (h5::HasAttribute(file.id(), "keras_version")) {
    EDGEOPT_ASSIGN_OR_RETURN(model.keras_version,
                             h5::ReadStringAttribute(file.id(), "keras_version", path));
  }
  if (h5::HasAttribute(file.id(), "backend")) {
    EDGEOPT_ASSIGN_OR_RETURN(model.backend, h5::ReadStringAttribute(file.id(), "backend", path));
  }
  if (h5::HasAttribute(file.id(), "training_config")) {  // optional: unreadable is as absent
    auto training = h5::ReadStringAttribute(file.id(), "training_config", path);
    auto config = training.ok() ? ParseJson(*training, path + ": training_config")
                                : StatusOr<Json>(training.status());
    if (config.ok()) model.compiled_loss = CompiledLossName(*config);
  }
  if (!h5::IsGroup(file.id(), "model_weights")) {
    return MakeStatus(StatusCode::kInvalidModel, "%s: the 'model_weights' group is missing",
                      path.c_str());
  }
  EDGEOPT_ASSIGN_OR_RETURN(h5::Handle weights, h5::OpenGroup(file.id(), "model_weights", path));
  EDGEOPT_RETURN_IF_ERROR(ReadKeras2Weights(weights.id(), path, model.config, &model.weights));
  return model;
}

StatusOr<KerasModel> LoadZip(const std::string& path) {
  EDGEOPT_ASSIGN_OR_RETURN(auto entries, ReadZipEntries(path));
  KerasModel model;
  model.source_path = path;
  auto config = entries.find("config.json");
  if (config == entries.end()) {
    return MakeStatus(StatusCode::kInvalidModel, "%s: the .keras archive has no config.json",
                      path.c_str());
  }
  if (config->second.size() > kMaxConfigBytes) {
    return MakeStatus(StatusCode::kInvalidModel, "%s: config.json is too large", path.c_str());
  }
  EDGEOPT_ASSIGN_OR_RETURN(
      model.config,
      ParseJson(std::string(config->second.begin(), config->second.end()), path + ":config.json"));
  ResolveRnnCells(&model.config);
  EDGEOPT_RETURN_IF_ERROR(ValidateModelConfig(model.config, path + ":config.json"));
  if (model.config.contains("compile_config")) {
    model.compiled_loss = CompiledLossName(model.config["compile_config"]);
  }
  auto metadata = entries.find("metadata.json");
  if (metadata != entries.end()) {
    EDGEOPT_ASSIGN_OR_RETURN(
        Json meta, ParseJson(std::string(metadata->second.begin(), metadata->second.end()),
                             path + ":metadata.json"));
    if (meta.is_object() && meta.contains("keras_version") && meta["keras_version"].is_string()) {
      model.keras_version = meta["keras_version"].get<std::string>();
    }
  }
  auto weights = entries.find("model.weights.h5");
  if (weights == entries.end()) {
    if (entries.count("model.weights.npz") != 0) {
      return MakeStatus(StatusCode::kUnsupported,
                        "%s: weights in model.weights.npz are not supported (only .h5)",
                        path.c_str());
    }
    return MakeStatus(StatusCode::kInvalidModel, "%s: the .keras archive has no model.weights.h5",
                      path.c_str());
  }
  const std::string name = path + ":model.weights.h5";
  EDGEOPT_ASSIGN_OR_RETURN(h5::File file, h5::File::OpenImage(weights->second, name));
  EDGEOPT_RETURN_IF_ERROR(ReadKeras3Weights(file.id(), name, model.config, &model.weights));
  return model;
}

StatusOr<KerasModel> LoadFileInProcess(const std::string& path) {
  h5::SilenceErrors();
  FILE* f = std::fopen(path.c_str(), "rb");
  if (f == nullptr) {
    return MakeStatus(StatusCode::kNotFound, "%s: cannot open (%s)", path.c_str(),
                      std::strerror(errno));
  }
  uint8_t magic[8] = {0};
  const size_t got = std::fread(magic, 1, sizeof(magic), f);
  std::fclose(f);
  if (got >= 4 && magic[0] == 'P' && magic[1] == 'K' && magic[2] == 3 && magic[3] == 4) {
    return LoadZip(path);
  }
  if (got == 8 && magic[0] == 0x89 && magic[1] == 'H' && magic[2] == 'D' && magic[3] == 'F') {
    return LoadH5(path);
  }
  return MakeStatus(StatusCode::kInvalidModel,
                    "%s: neither a Keras HDF5 file (.h5) nor a .keras zip archive", path.c_str());
}

StatusOr<KerasModel> LoadWeightsInProcess(const std::string& weights_path,
                                          const std::string& config_path) {
  h5::SilenceErrors();
  EDGEOPT_ASSIGN_OR_RETURN(std::vector<uint8_t> bytes, ReadFileBytes(config_path, kMaxConfigBytes));
  KerasModel model;
  model.source_path = weights_path;
  EDGEOPT_ASSIGN_OR_RETURN(model.config,
                           ParseJson(std::string(bytes.begin(), bytes.end()), config_path));
  ResolveRnnCells(&model.config);
  EDGEOPT_RETURN_IF_ERROR(ValidateModelConfig(model.config, config_path));
  if (model.config.contains("keras_version") && model.config["keras_version"].is_string()) {
    model.keras_version = model.config["keras_version"].get<std::string>();
  }
  if (model.config.contains("backend") && model.config["backend"].is_string()) {
    model.backend = model.config["backend"].get<std::string>();
  }
  EDGEOPT_ASSIGN_OR_RETURN(h5::File file, h5::File::Open(weights_path));
  if (model.keras_version.empty() && h5::HasAttribute(file.id(), "keras_version")) {
    EDGEOPT_ASSIGN_OR_RETURN(model.keras_version,
                             h5::ReadStringAttribute(file.id(), "keras_version", weights_path));
  }
  if (h5::HasAttribute(file.id(), "layer_names") || h5::HasAttribute(file.id(), "layer_names0")) {
    EDGEOPT_RETURN_IF_ERROR(
        ReadKeras2Weights(file.id(), weights_path, model.config, &model.weights));
  } else if (h5::IsGroup(file.id(), "model_weights")) {
    EDGEOPT_ASSIGN_OR_RETURN(h5::Handle g, h5::OpenGroup(file.id(), "model_weights", weights_path));
    EDGEOPT_RETURN_IF_ERROR(ReadKeras2Weights(g.id(), weights_path, model.config, &model.weights));
  } else if (h5::IsGroup(file.id(), "layers") ||
             h5::IsGroup(file.id(), "_layer_checkpoint_dependencies")) {
    EDGEOPT_RETURN_IF_ERROR(
        ReadKeras3Weights(file.id(), weights_path, model.config, &model.weights));
  } else {
    return MakeStatus(StatusCode::kInvalidModel,
                      "%s: not a Keras weights file (no layer_names attribute, "
                      "model_weights or "
                      "layers group)",
                      weights_path.c_str());
  }
  return model;
}

}  // namespace

StatusOr<KerasModel> LoadKerasFile(const std::string& path) {
  return LoadIsolated(path, [&]() { return LoadFileInProcess(path); });
}

StatusOr<KerasModel> LoadKerasWeights(const std::string& weights_path,
                                      const std::string& config_path) {
  return LoadIsolated(weights_path,
                      [&]() { return LoadWeightsInProcess(weights_path, config_path); });
}

}  // namespace keras
}  // namespace edgeopt
