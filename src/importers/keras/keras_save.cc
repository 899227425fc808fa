// Saving Keras files. .keras: a zip of metadata.json, config.json and model.weights.h5 with the
// Keras 3 layout (layers/<name>/vars/<i>, nested models under layers/<model>/layers/..., RNN
// cells, wrapped layers and attention projections where Keras3WeightHolders says). .h5: Keras 2
// layout (root model_config, keras_version, backend; model_weights/<layer>/<layer>/<var>:0 listed
// by layer_names / weight_names). Both are built in memory and written atomically.
#include <ctime>
#include <map>
#include <set>

#include "src/importers/keras/hdf5_io.h"
#include "src/importers/keras/keras_config.h"
#include "src/importers/keras/keras_model.h"
#include "src/importers/keras/zip_io.h"
#include "src/util/file_util.h"

namespace edgeopt {
namespace keras {
namespace {

using WeightIndex = std::map<std::string, const LayerWeights*>;

std::vector<const Json*> TopLevelLayers(const Json& config, bool include_inputs) {
  std::vector<const Json*> out;
  const Json* layers = ModelLayers(config);
  if (layers == nullptr) return out;
  for (const Json& entry : *layers) {
    if (!include_inputs && LayerClass(entry) == "InputLayer") continue;
    out.push_back(&entry);
  }
  return out;
}

Status WriteKeras2Layer(hid_t parent, const Json& entry, const WeightIndex& weights,
                        std::set<std::string>* written, const std::string& file) {
  const std::string name = LayerName(entry);
  EDGEOPT_ASSIGN_OR_RETURN(h5::Handle group, h5::MakeGroup(parent, name, file));
  // The layers whose weights live in this group: the layer itself, or a nested model's layers.
  std::vector<std::string> owners;
  if (IsModelClass(LayerClass(entry))) {
    std::vector<LayerEntry> inner;
    EDGEOPT_RETURN_IF_ERROR(ListLayers(entry, &inner));
    for (const LayerEntry& e : inner) owners.push_back(e.name);
  } else {
    owners.push_back(name);
  }
  std::vector<std::string> weight_names;
  for (const std::string& owner : owners) {
    auto it = weights.find(owner);
    if (it == weights.end() || it->second->vars.empty()) continue;
    written->insert(owner);
    EDGEOPT_ASSIGN_OR_RETURN(h5::Handle sub, h5::MakeGroup(group.id(), owner, file));
    for (const auto& [var, array] : it->second->vars) {
      weight_names.push_back(owner + "/" + var + ":0");
      // Bidirectional's "forward/kernel" lives in a "forward" subgroup.
      const size_t slash = var.rfind('/');
      if (slash == std::string::npos) {
        EDGEOPT_RETURN_IF_ERROR(h5::WriteDataset(sub.id(), var + ":0", array, file));
        continue;
      }
      const std::string dir = var.substr(0, slash);
      if (!h5::IsGroup(sub.id(), dir)) {
        EDGEOPT_ASSIGN_OR_RETURN(h5::Handle made, h5::MakeGroup(sub.id(), dir, file));
      }
      EDGEOPT_ASSIGN_OR_RETURN(h5::Handle d, h5::OpenGroup(sub.id(), dir, file));
      EDGEOPT_RETURN_IF_ERROR(h5::WriteDataset(d.id(), var.substr(slash + 1) + ":0", array, file));
    }
  }
  return h5::WriteStringListAttribute(group.id(), "weight_names", weight_names);
}

StatusOr<std::vector<uint8_t>> BuildH5(const KerasModel& model, const WeightIndex& weights,
                                       std::set<std::string>* written, const std::string& path) {
  EDGEOPT_ASSIGN_OR_RETURN(h5::File file, h5::File::CreateInMemory(path));
  const std::string version = model.keras_version.empty() ? "2.15.0" : model.keras_version;
  EDGEOPT_RETURN_IF_ERROR(h5::WriteStringAttribute(file.id(), "backend", model.backend));
  EDGEOPT_RETURN_IF_ERROR(h5::WriteStringAttribute(file.id(), "keras_version", version));
  EDGEOPT_RETURN_IF_ERROR(h5::WriteStringAttribute(file.id(), "model_config", model.config.dump()));
  EDGEOPT_ASSIGN_OR_RETURN(h5::Handle mw, h5::MakeGroup(file.id(), "model_weights", path));
  EDGEOPT_RETURN_IF_ERROR(h5::WriteStringAttribute(mw.id(), "backend", model.backend));
  EDGEOPT_RETURN_IF_ERROR(h5::WriteStringAttribute(mw.id(), "keras_version", version));
  // tf.keras lists the InputLayers of Functional models, not the one of a Sequential.
  const bool sequential = LayerClass(model.config) == "Sequential";
  std::vector<std::string> layer_names;
  for (const Json* entry : TopLevelLayers(model.config, !sequential)) {
    layer_names.push_back(LayerName(*entry));
    EDGEOPT_RETURN_IF_ERROR(WriteKeras2Layer(mw.id(), *entry, weights, written, path));
  }
  EDGEOPT_RETURN_IF_ERROR(h5::WriteStringListAttribute(mw.id(), "layer_names", layer_names));
  return file.Image();
}

Status WriteKeras3Layer(hid_t layers_group, const Json& entry, const WeightIndex& weights,
                        std::set<std::string>* written, const std::string& file) {
  const std::string name = LayerName(entry);
  EDGEOPT_ASSIGN_OR_RETURN(h5::Handle group, h5::MakeGroup(layers_group, name, file));
  if (IsModelClass(LayerClass(entry))) {
    EDGEOPT_ASSIGN_OR_RETURN(h5::Handle inner, h5::MakeGroup(group.id(), "layers", file));
    for (const Json* sub : TopLevelLayers(entry, false)) {
      EDGEOPT_RETURN_IF_ERROR(WriteKeras3Layer(inner.id(), *sub, weights, written, file));
    }
    EDGEOPT_ASSIGN_OR_RETURN(h5::Handle vars, h5::MakeGroup(group.id(), "vars", file));
    return h5::WriteStringAttribute(vars.id(), "name", name);
  }
  EDGEOPT_ASSIGN_OR_RETURN(h5::Handle vars, h5::MakeGroup(group.id(), "vars", file));
  EDGEOPT_RETURN_IF_ERROR(h5::WriteStringAttribute(vars.id(), "name", name));
  auto it = weights.find(name);
  if (it == weights.end() || it->second->vars.empty()) return Status::Ok();
  written->insert(name);
  for (const Keras3Holder& holder : Keras3WeightHolders(LayerClass(entry))) {
    // <layer>/<a>/<b>/vars: every group along the path with its vars group, as Keras writes.
    h5::Handle at, at_vars;
    hid_t target = vars.id();
    for (const std::string& part : holder.groups) {
      EDGEOPT_ASSIGN_OR_RETURN(at, h5::MakeGroup(at.valid() ? at.id() : group.id(), part, file));
      EDGEOPT_ASSIGN_OR_RETURN(at_vars, h5::MakeGroup(at.id(), "vars", file));
      target = at_vars.id();
    }
    const std::string& prefix = holder.prefix;
    int index = 0;
    for (const auto& [var, array] : it->second->vars) {
      if (var.compare(0, prefix.size(), prefix) != 0) continue;
      EDGEOPT_RETURN_IF_ERROR(h5::WriteDataset(target, std::to_string(index++), array, file));
    }
  }
  return Status::Ok();
}

StatusOr<std::vector<uint8_t>> BuildWeightsH5(const KerasModel& model, const WeightIndex& weights,
                                              std::set<std::string>* written,
                                              const std::string& name) {
  EDGEOPT_ASSIGN_OR_RETURN(h5::File file, h5::File::CreateInMemory(name));
  EDGEOPT_ASSIGN_OR_RETURN(h5::Handle layers, h5::MakeGroup(file.id(), "layers", name));
  for (const Json* entry : TopLevelLayers(model.config, false)) {
    EDGEOPT_RETURN_IF_ERROR(WriteKeras3Layer(layers.id(), *entry, weights, written, name));
  }
  EDGEOPT_ASSIGN_OR_RETURN(h5::Handle vars, h5::MakeGroup(file.id(), "vars", name));
  EDGEOPT_RETURN_IF_ERROR(h5::WriteStringAttribute(vars.id(), "name", LayerName(model.config)));
  return file.Image();
}

std::vector<uint8_t> Bytes(const std::string& s) {
  return std::vector<uint8_t>(s.begin(), s.end());
}

}  // namespace

Status SaveKerasFile(const KerasModel& model, const std::string& path) {
  h5::SilenceErrors();
  EDGEOPT_RETURN_IF_ERROR(ValidateModelConfig(model.config, "model config"));
  WeightIndex weights;
  for (const LayerWeights& lw : model.weights) {
    if (weights.count(lw.layer) != 0) {
      return MakeStatus(StatusCode::kInvalidArgument, "%s: layer '%s' has two weight lists",
                        path.c_str(), lw.layer.c_str());
    }
    weights[lw.layer] = &lw;
  }
  const std::string ext = FileExtension(path);
  std::set<std::string> written;
  std::vector<uint8_t> bytes;
  if (ext == ".h5" || ext == ".hdf5") {
    EDGEOPT_ASSIGN_OR_RETURN(bytes, BuildH5(model, weights, &written, path));
  } else if (ext == ".keras") {
    EDGEOPT_ASSIGN_OR_RETURN(std::vector<uint8_t> h5,
                             BuildWeightsH5(model, weights, &written, path + ":model.weights.h5"));
    char date[32];
    const std::time_t now = std::time(nullptr);
    std::strftime(date, sizeof(date), "%Y-%m-%d@%H:%M:%S", std::localtime(&now));
    Json metadata = {{"keras_version", model.keras_version.empty() ? "3.3.3" : model.keras_version},
                     {"date_saved", date}};
    EDGEOPT_ASSIGN_OR_RETURN(bytes, BuildZip({{"metadata.json", Bytes(metadata.dump())},
                                              {"config.json", Bytes(model.config.dump())},
                                              {"model.weights.h5", std::move(h5)}}));
  } else {
    return MakeStatus(StatusCode::kInvalidArgument,
                      "%s: unknown extension '%s' (expected .keras or .h5)", path.c_str(),
                      ext.c_str());
  }
  for (const LayerWeights& lw : model.weights) {
    if (!lw.vars.empty() && written.count(lw.layer) == 0) {
      return MakeStatus(StatusCode::kInvalidArgument,
                        "%s: layer '%s' has weights but is not in the model config", path.c_str(),
                        lw.layer.c_str());
    }
  }
  return WriteFileAtomic(path, bytes);
}

}  // namespace keras
}  // namespace edgeopt
