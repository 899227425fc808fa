// Keras's trainable flags, set by layer name (edgeopt's --freeze / --unfreeze): as Keras's
// `layer.trainable = ...`, which a model passes on to every layer inside it.
#include <set>

#include "src/importers/keras/keras_model.h"

namespace edgeopt {
namespace keras {
namespace {

using Json = nlohmann::json;

// The "layers" list of a model entry ({"class_name", "config": {"layers": [...]}}), or nullptr.
Json* LayersOf(Json& entry) {
  if (!entry.is_object() || !entry.contains("config") || !entry["config"].is_object()) {
    return nullptr;
  }
  Json& config = entry["config"];
  return config.contains("layers") && config["layers"].is_array() ? &config["layers"] : nullptr;
}

std::string NameOf(const Json& entry) {
  if (!entry.is_object() || !entry.contains("config") || !entry["config"].is_object()) return "";
  const Json& config = entry["config"];
  return config.contains("name") && config["name"].is_string() ? config["name"].get<std::string>()
                                                               : "";
}

void SetFlag(Json& entry, bool trainable) {
  if (entry.is_object() && entry.contains("config") && entry["config"].is_object()) {
    entry["config"]["trainable"] = trainable;
  }
}

// The flag on `entry` and, for a model, on every layer inside it.
void SetAll(Json& entry, bool trainable, int depth) {
  SetFlag(entry, trainable);
  Json* layers = depth < 16 ? LayersOf(entry) : nullptr;
  if (layers == nullptr) return;
  for (Json& layer : *layers) SetAll(layer, trainable, depth + 1);
}

struct Walk {
  const std::vector<std::string>& patterns;
  bool trainable;
  std::vector<int> matches;
  std::vector<std::string> names;

  void Visit(Json& model, std::vector<Json*>* ancestors, int depth) {
    Json* layers = depth < 16 ? LayersOf(model) : nullptr;
    if (layers == nullptr) return;
    ancestors->push_back(&model);
    for (Json& layer : *layers) {
      const std::string name = NameOf(layer);
      names.push_back(name);
      bool hit = false;
      for (size_t i = 0; i < patterns.size(); ++i) {
        if (LayerNameMatches(patterns[i], name)) hit = true, ++matches[i];
      }
      if (hit) {
        SetAll(layer, trainable, depth + 1);
        // A layer trains only inside trainable models: unfreezing it unfreezes them (their
        // other layers keep their own flags).
        if (trainable) {
          for (Json* a : *ancestors) SetFlag(*a, true);
        }
      }
      Visit(layer, ancestors, depth + 1);  // a nested model's layers, by name too
    }
    ancestors->pop_back();
  }
};

}  // namespace

bool LayerNameMatches(const std::string& pattern, const std::string& name) {
  if (pattern == "all") return true;
  if (!pattern.empty() && pattern.back() == '*') {
    return name.compare(0, pattern.size() - 1, pattern, 0, pattern.size() - 1) == 0;
  }
  return pattern == name;
}

Status SetTrainable(KerasModel* model, const std::vector<std::string>& patterns, bool trainable) {
  if (patterns.empty()) return Status::Ok();
  Walk walk{patterns, trainable, std::vector<int>(patterns.size(), 0), {}};
  std::vector<Json*> ancestors;
  for (const std::string& p : patterns) {
    if (p == "all") SetFlag(model->config, trainable);
  }
  walk.Visit(model->config, &ancestors, 0);
  for (size_t i = 0; i < patterns.size(); ++i) {
    if (walk.matches[i] > 0) continue;
    std::string list;
    std::set<std::string> seen;
    for (const std::string& n : walk.names) {
      if (n.empty() || !seen.insert(n).second) continue;
      if (seen.size() > 40) {
        list += ", ...";
        break;
      }
      list += (list.empty() ? "" : ", ") + n;
    }
    return MakeStatus(StatusCode::kNotFound,
                      "%s: no layer is named '%s' (a name, a prefix ending in '*', or all); the "
                      "model has: %s",
                      model->source_path.c_str(), patterns[i].c_str(), list.c_str());
  }
  return Status::Ok();
}

}  // namespace keras
}  // namespace edgeopt
