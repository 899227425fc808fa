#include "src/importers/keras/keras_config.h"

#include <cctype>
#include <cmath>
#include <cstdio>
#include <map>
#include <set>

namespace edgeopt {
namespace keras {
namespace {

const char* TypeName(const Json& j) { return j.type_name(); }

// An integer from a JSON number (floats with an integral value are accepted).
bool AsInt(const Json& j, int64_t* out) {
  if (j.is_number_integer()) {
    *out = j.get<int64_t>();
    return true;
  }
  if (j.is_number_float()) {
    const double d = j.get<double>();
    if (std::isfinite(d) && std::floor(d) == d && std::fabs(d) < 9e15) {
      *out = static_cast<int64_t>(d);
      return true;
    }
  }
  return false;
}

}  // namespace

std::string LayerName(const Json& entry) {
  if (entry.is_object()) {
    auto c = entry.find("config");
    if (c != entry.end() && c->is_object()) {
      auto n = c->find("name");
      if (n != c->end() && n->is_string()) return n->get<std::string>();
    }
    auto n = entry.find("name");
    if (n != entry.end() && n->is_string()) return n->get<std::string>();
  }
  return "";
}

std::string LayerClass(const Json& entry) {
  if (entry.is_object()) {
    auto c = entry.find("class_name");
    if (c != entry.end() && c->is_string()) return c->get<std::string>();
  }
  return "";
}

const Json* ModelLayers(const Json& model) {
  if (!model.is_object()) return nullptr;
  auto c = model.find("config");
  if (c == model.end()) return nullptr;
  const Json* config = &*c;
  // Keras 2.2 Sequential: "config" is the layer list itself.
  if (config->is_array()) return config;
  if (!config->is_object()) return nullptr;
  auto l = config->find("layers");
  if (l == config->end() || !l->is_array()) return nullptr;
  return &*l;
}

namespace {

Status CollectKerasTensors(const Json& value, const std::string& where, std::vector<TensorRef>* out,
                           int depth) {
  if (depth > 16) {
    return MakeStatus(StatusCode::kInvalidModel, "layer '%s': inbound node nested too deeply",
                      where.c_str());
  }
  if (value.is_array()) {
    for (const Json& v : value) {
      EDGEOPT_RETURN_IF_ERROR(CollectKerasTensors(v, where, out, depth + 1));
    }
    return Status::Ok();
  }
  if (!value.is_object()) return Status::Ok();  // a constant argument
  auto cls = value.find("class_name");
  if (cls == value.end() || !cls->is_string() || *cls != "__keras_tensor__") {
    return Status::Ok();
  }
  auto config = value.find("config");
  const Json* history = nullptr;
  if (config != value.end() && config->is_object()) {
    auto h = config->find("keras_history");
    if (h != config->end()) history = &*h;
  }
  int64_t node = 0, tensor = 0;
  if (history == nullptr || !history->is_array() || history->size() < 3 ||
      !(*history)[0].is_string() || !AsInt((*history)[1], &node) ||
      !AsInt((*history)[2], &tensor) || node < 0 || tensor < 0 || node > 1 << 20 ||
      tensor > 1 << 20) {
    return MakeStatus(StatusCode::kInvalidModel,
                      "layer '%s': an inbound tensor has no valid keras_history", where.c_str());
  }
  out->push_back(
      {(*history)[0].get<std::string>(), static_cast<int>(node), static_cast<int>(tensor)});
  return Status::Ok();
}

StatusOr<TensorRef> ParseRef(const Json& ref, const std::string& where) {
  int64_t node = 0, tensor = 0;
  if (!ref.is_array() || ref.size() < 3 || !ref[0].is_string() || !AsInt(ref[1], &node) ||
      !AsInt(ref[2], &tensor) || node < 0 || tensor < 0 || node > 1 << 20 || tensor > 1 << 20) {
    return MakeStatus(StatusCode::kInvalidModel,
                      "%s: expected a [layer, node_index, tensor_index] reference, got %s",
                      where.c_str(), ref.dump().substr(0, 80).c_str());
  }
  return TensorRef{ref[0].get<std::string>(), static_cast<int>(node), static_cast<int>(tensor)};
}

}  // namespace

bool LayerConfig::Has(const char* key) const { return Find(key) != nullptr; }

const Json* LayerConfig::Find(const char* key) const {
  if (config_ == nullptr || !config_->is_object()) return nullptr;
  auto it = config_->find(key);
  if (it == config_->end() || it->is_null()) return nullptr;
  return &*it;
}

std::string LayerConfig::Prefix() const { return "layer '" + name_ + "' (" + class_name_ + ")"; }

Status LayerConfig::Error(StatusCode code, const char* format, ...) const {
  char buf[1024];
  va_list args;
  va_start(args, format);
  std::vsnprintf(buf, sizeof(buf), format, args);
  va_end(args);
  return Status(code, Prefix() + ": " + buf);
}

StatusOr<int64_t> LayerConfig::Int(const char* key) const {
  const Json* v = Find(key);
  if (v == nullptr) return Error(StatusCode::kInvalidModel, "'%s' is missing", key);
  int64_t out;
  if (!AsInt(*v, &out)) {
    return Error(StatusCode::kInvalidModel, "'%s' must be an integer, got %s", key, TypeName(*v));
  }
  return out;
}

StatusOr<int64_t> LayerConfig::IntOr(const char* key, int64_t fallback) const {
  if (!Has(key)) return fallback;
  return Int(key);
}

StatusOr<double> LayerConfig::FloatOr(const char* key, double fallback) const {
  const Json* v = Find(key);
  if (v == nullptr) return fallback;
  if (!v->is_number()) {
    return Error(StatusCode::kInvalidModel, "'%s' must be a number, got %s", key, TypeName(*v));
  }
  return v->get<double>();
}

StatusOr<bool> LayerConfig::BoolOr(const char* key, bool fallback) const {
  const Json* v = Find(key);
  if (v == nullptr) return fallback;
  if (!v->is_boolean()) {
    return Error(StatusCode::kInvalidModel, "'%s' must be true or false, got %s", key,
                 TypeName(*v));
  }
  return v->get<bool>();
}

StatusOr<std::string> LayerConfig::StringOr(const char* key, const std::string& fallback) const {
  const Json* v = Find(key);
  if (v == nullptr) return fallback;
  if (!v->is_string()) {
    return Error(StatusCode::kInvalidModel, "'%s' must be a string, got %s", key, TypeName(*v));
  }
  return v->get<std::string>();
}

StatusOr<std::vector<int64_t>> LayerConfig::IntTuple(const char* key, size_t n) const {
  const Json* v = Find(key);
  if (v == nullptr) return Error(StatusCode::kInvalidModel, "'%s' is missing", key);
  int64_t x;
  if (AsInt(*v, &x)) return std::vector<int64_t>(n, x);
  if (!v->is_array() || v->size() != n) {
    return Error(StatusCode::kInvalidModel, "'%s' must be an integer or a list of %zu integers",
                 key, n);
  }
  std::vector<int64_t> out;
  for (const Json& e : *v) {
    if (!AsInt(e, &x)) {
      return Error(StatusCode::kInvalidModel, "'%s' must hold integers, got %s", key, TypeName(e));
    }
    out.push_back(x);
  }
  return out;
}

StatusOr<std::vector<int64_t>> LayerConfig::IntTupleOr(const char* key, size_t n,
                                                       const std::vector<int64_t>& fallback) const {
  if (!Has(key)) return fallback;
  return IntTuple(key, n);
}

StatusOr<std::vector<int64_t>> LayerConfig::IntList(const char* key) const {
  const Json* v = Find(key);
  if (v == nullptr) return Error(StatusCode::kInvalidModel, "'%s' is missing", key);
  std::vector<int64_t> out;
  int64_t x;
  if (AsInt(*v, &x)) return std::vector<int64_t>{x};
  if (!v->is_array() || v->size() > 64) {
    return Error(StatusCode::kInvalidModel, "'%s' must be a list of integers, got %s", key,
                 TypeName(*v));
  }
  for (const Json& e : *v) {
    if (e.is_null()) {
      out.push_back(-1);
    } else if (AsInt(e, &x)) {
      out.push_back(x);
    } else {
      return Error(StatusCode::kInvalidModel, "'%s' must hold integers, got %s", key, TypeName(e));
    }
  }
  return out;
}

std::string SnakeCase(const std::string& camel) {
  std::string out;
  for (size_t i = 0; i < camel.size(); ++i) {
    const char c = camel[i];
    if (std::isupper(static_cast<unsigned char>(c))) {
      if (i > 0 && camel[i - 1] != '_') out += '_';
      out += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    } else {
      out += c;
    }
  }
  return out;
}

StatusOr<ActivationSpec> ParseActivation(const Json* spec, const LayerConfig& where) {
  ActivationSpec out;
  if (spec == nullptr || spec->is_null()) {
    out.name = "linear";
    return out;
  }
  if (spec->is_string()) {
    out.name = spec->get<std::string>();
    return out;
  }
  if (spec->is_object()) {
    const std::string cls = LayerClass(*spec);
    auto config = spec->find("config");
    if (cls == "function" && config != spec->end() && config->is_string()) {
      out.name = config->get<std::string>();
      return out;
    }
    if (!cls.empty()) {
      out.name = cls;
      if (config != spec->end() && config->is_object()) out.config = &*config;
      return out;
    }
  }
  return where.Error(StatusCode::kInvalidModel, "'activation' must be a string or an object");
}

StatusOr<InitializerSpec> ParseInitializer(const Json* spec, const LayerConfig& where) {
  InitializerSpec out;
  if (spec == nullptr || spec->is_null()) {
    out.name = "zeros";
    return out;
  }
  if (spec->is_string()) {
    out.name = SnakeCase(spec->get<std::string>());
    return out;
  }
  if (spec->is_object()) {
    const std::string cls = LayerClass(*spec);
    if (!cls.empty()) {
      out.name = SnakeCase(cls);
      auto config = spec->find("config");
      if (config != spec->end() && config->is_object()) out.config = &*config;
      return out;
    }
  }
  return where.Error(StatusCode::kInvalidModel, "an initializer must be a string or an object");
}

StatusOr<std::optional<std::vector<int64_t>>> DeclaredInputShape(const LayerConfig& config) {
  for (const char* key : {"batch_input_shape", "batch_shape"}) {
    if (config.Has(key)) {
      EDGEOPT_ASSIGN_OR_RETURN(std::vector<int64_t> shape, config.IntList(key));
      if (shape.empty()) return config.Error(StatusCode::kInvalidModel, "'%s' is empty", key);
      return std::optional<std::vector<int64_t>>(shape);
    }
  }
  for (const char* key : {"input_shape", "shape"}) {
    if (config.Has(key)) {
      EDGEOPT_ASSIGN_OR_RETURN(std::vector<int64_t> shape, config.IntList(key));
      shape.insert(shape.begin(), -1);
      return std::optional<std::vector<int64_t>>(shape);
    }
  }
  return std::optional<std::vector<int64_t>>();
}

namespace {

// A Keras 2 keyword tensor: ["layer", node_index, tensor_index].
bool IsKeras2Ref(const Json& v) {
  return v.is_array() && v.size() == 3 && v[0].is_string() && v[1].is_number_integer() &&
         v[2].is_number_integer();
}

// Splits the keyword arguments into the tensors a layer may take by keyword (appended to
// call->refs in the order query, value, key) and the rest (call->kwargs).
Status SplitKwargs(const Json& kwargs, bool keras3, const std::string& where, InboundCall* call) {
  std::map<std::string, TensorRef> named;
  for (const auto& item : kwargs.items()) {
    std::vector<TensorRef> tensors;
    if (keras3) {
      EDGEOPT_RETURN_IF_ERROR(CollectKerasTensors(item.value(), where, &tensors, 0));
    } else if (IsKeras2Ref(item.value())) {
      EDGEOPT_ASSIGN_OR_RETURN(TensorRef ref, ParseRef(item.value(), "layer '" + where + "'"));
      tensors.push_back(ref);
    }
    if (tensors.empty()) {
      call->kwargs[item.key()] = item.value();
      continue;
    }
    const std::string& key = item.key();
    if (tensors.size() != 1 || (key != "query" && key != "value" && key != "key" && key != "x" &&
                                key != "y" && key != "b")) {
      return MakeStatus(StatusCode::kUnsupported,
                        "layer '%s' is called with the tensor keyword argument '%s', which "
                        "edgeopt does not take",
                        where.c_str(), key.c_str());
    }
    named[key] = tensors[0];
  }
  for (const char* key : {"query", "value", "key", "x", "y", "b"}) {
    auto it = named.find(key);
    if (it != named.end()) call->refs.push_back(it->second);
  }
  return Status::Ok();
}

}  // namespace

StatusOr<InboundCall> ParseInboundNode(const Json& node, const std::string& where) {
  InboundCall call;
  if (node.is_object()) {  // Keras 3
    auto args = node.find("args");
    if (args != node.end()) {
      EDGEOPT_RETURN_IF_ERROR(CollectKerasTensors(*args, where, &call.refs, 0));
      if (args->is_array()) call.args = *args;
    }
    auto kwargs = node.find("kwargs");
    if (kwargs != node.end() && kwargs->is_object()) {
      EDGEOPT_RETURN_IF_ERROR(SplitKwargs(*kwargs, true, where, &call));
    }
    return call;
  }
  if (!node.is_array()) {
    return MakeStatus(StatusCode::kInvalidModel, "layer '%s': an inbound node must be a list",
                      where.c_str());
  }
  // A TFOpLambda keeps its call's structure: the node is one entry, not a list of them.
  const Json single = node.empty() || !node[0].is_string() ? Json() : Json::array({node});
  const Json& entries = single.is_null() ? node : single;
  const Json* kwargs = nullptr;
  for (const Json& entry : entries) {
    if (entry.is_array() && entry.size() >= 3 && entry[0].is_string() &&
        entry[0] == "_CONSTANT_VALUE" && call.refs.empty() && call.args.empty()) {
      // A TFOpLambda whose first argument is a constant (0.5 * x): its value, the tensors in
      // the keyword arguments.
      call.args.push_back(entry[2]);
      if (entry.size() > 3 && entry[3].is_object()) kwargs = &entry[3];
      continue;
    }
    EDGEOPT_ASSIGN_OR_RETURN(TensorRef ref, ParseRef(entry, "layer '" + where + "'"));
    call.refs.push_back(ref);
    // Keras 2 repeats the call's keyword arguments on every entry; the first says them.
    if (kwargs == nullptr && entry.size() > 3 && entry[3].is_object()) kwargs = &entry[3];
  }
  if (kwargs != nullptr) EDGEOPT_RETURN_IF_ERROR(SplitKwargs(*kwargs, false, where, &call));
  return call;
}

StatusOr<std::vector<TensorRef>> ParseLayerRefs(const Json& refs, const std::string& where) {
  std::vector<TensorRef> out;
  if (refs.is_array() && !refs.empty() && refs[0].is_string()) {
    EDGEOPT_ASSIGN_OR_RETURN(TensorRef ref, ParseRef(refs, where));
    out.push_back(ref);
    return out;
  }
  if (refs.is_array()) {
    for (const Json& r : refs) {
      EDGEOPT_ASSIGN_OR_RETURN(TensorRef ref, ParseRef(r, where));
      out.push_back(ref);
    }
    return out;
  }
  if (refs.is_object()) {
    for (const auto& item : refs.items()) {
      EDGEOPT_ASSIGN_OR_RETURN(TensorRef ref, ParseRef(item.value(), where));
      out.push_back(ref);
    }
    return out;
  }
  return MakeStatus(StatusCode::kInvalidModel, "%s: expected a list of layer references",
                    where.c_str());
}

std::vector<Keras3Holder> Keras3WeightHolders(const std::string& class_name) {
  if (class_name == "LSTM" || class_name == "GRU" || class_name == "SimpleRNN") {
    return {{"", {"cell"}}};
  }
  if (class_name == "TimeDistributed") return {{"", {"layer"}}};
  if (class_name == "Bidirectional") {
    return {{"forward/", {"forward_layer", "cell"}}, {"backward/", {"backward_layer", "cell"}}};
  }
  if (class_name == "MultiHeadAttention") {
    return {{"query/", {"query_dense"}},
            {"key/", {"key_dense"}},
            {"value/", {"value_dense"}},
            {"attention_output/", {"output_dense"}}};
  }
  return {{"", {}}};
}

bool KeepsVariableShapes(const std::string& class_name) {
  return class_name == "MultiHeadAttention" || class_name == "Attention" ||
         class_name == "AdditiveAttention" || class_name == "EinsumDense";
}

bool IsModelClass(const std::string& class_name) {
  return class_name == "Sequential" || class_name == "Functional" || class_name == "Model";
}

const Json* FindLayerJson(const Json& model, const std::string& layer_name) {
  const Json* layers = ModelLayers(model);
  if (layers == nullptr) return nullptr;
  for (const Json& entry : *layers) {
    if (LayerName(entry) == layer_name) return &entry;
  }
  for (const Json& entry : *layers) {
    if (IsModelClass(LayerClass(entry))) {
      const Json* found = FindLayerJson(entry, layer_name);
      if (found != nullptr) return found;
    }
  }
  return nullptr;
}

Json* FindLayerJson(Json* model, const std::string& layer_name) {
  return const_cast<Json*>(FindLayerJson(static_cast<const Json&>(*model), layer_name));
}

namespace {

Status ListLayersImpl(const Json& model, std::vector<std::string>* scope,
                      std::vector<LayerEntry>* out, bool include_models, int depth) {
  if (depth > 32) return MakeStatus(StatusCode::kInvalidModel, "models nested too deeply");
  const Json* layers = ModelLayers(model);
  if (layers == nullptr) {
    return MakeStatus(StatusCode::kInvalidModel, "model config has no 'layers' list");
  }
  for (const Json& entry : *layers) {
    const std::string name = LayerName(entry);
    const std::string cls = LayerClass(entry);
    if (name.empty() || cls.empty()) {
      return MakeStatus(StatusCode::kInvalidModel, "a layer entry has no class_name or name: %s",
                        entry.dump().substr(0, 100).c_str());
    }
    if (IsModelClass(cls)) {
      if (include_models) out->push_back({name, cls, &entry, *scope});
      scope->push_back(name);
      EDGEOPT_RETURN_IF_ERROR(ListLayersImpl(entry, scope, out, include_models, depth + 1));
      scope->pop_back();
    } else {
      out->push_back({name, cls, &entry, *scope});
    }
  }
  return Status::Ok();
}

}  // namespace

Status ListLayers(const Json& model, std::vector<LayerEntry>* out, bool include_models) {
  std::vector<std::string> scope;
  return ListLayersImpl(model, &scope, out, include_models, 0);
}

namespace {

void ResolveRnnCellsIn(Json* entry, int depth) {
  if (depth > 16 || !entry->is_object() || !entry->contains("config") ||
      !(*entry)["config"].is_object()) {
    return;
  }
  Json& config = (*entry)["config"];
  // Nested models and wrapped layers.
  if (config.contains("layers") && config["layers"].is_array()) {
    for (Json& layer : config["layers"]) ResolveRnnCellsIn(&layer, depth + 1);
  }
  for (const char* key : {"layer", "backward_layer"}) {
    if (config.contains(key)) ResolveRnnCellsIn(&config[key], depth + 1);
  }
  if (LayerClass(*entry) != "RNN" || !config.contains("cell")) return;
  const Json& cell = config["cell"];
  const std::string cell_class = cell.is_object() ? LayerClass(cell) : "";
  const char* layer_class = cell_class == "LSTMCell"        ? "LSTM"
                            : cell_class == "GRUCell"       ? "GRU"
                            : cell_class == "SimpleRNNCell" ? "SimpleRNN"
                                                            : nullptr;
  if (layer_class == nullptr || !cell.contains("config") || !cell["config"].is_object()) return;
  Json merged = cell["config"];
  for (const auto& item : config.items()) {
    if (item.key() != "cell") merged[item.key()] = item.value();
  }
  (*entry)["class_name"] = layer_class;
  if (entry->contains("registered_name")) (*entry)["registered_name"] = layer_class;
  (*entry)["config"] = std::move(merged);
}

}  // namespace

void ResolveRnnCells(Json* config) { ResolveRnnCellsIn(config, 0); }

Status ValidateModelConfig(const Json& config, const std::string& where) {
  if (!config.is_object()) {
    return MakeStatus(StatusCode::kInvalidModel, "%s: the model config must be a JSON object",
                      where.c_str());
  }
  auto cls = config.find("class_name");
  auto cfg = config.find("config");
  if (cls == config.end() || !cls->is_string() || cfg == config.end() ||
      !(cfg->is_object() || cfg->is_array())) {
    return MakeStatus(StatusCode::kInvalidModel,
                      "%s: the model config needs a string 'class_name' and a "
                      "'config' object",
                      where.c_str());
  }
  std::vector<LayerEntry> layers;
  Status listed = ListLayers(config, &layers, true);
  if (!listed.ok()) return listed.WithPrefix(where);
  // Layer names are unique within a model (Keras refuses a model that repeats one: the weights
  // and the calls of the two could not be told apart).
  std::set<std::string> seen;
  for (const LayerEntry& e : layers) {
    std::string key;
    for (const std::string& s : e.scope) key += s + "/";
    if (!seen.insert(key + e.name).second) {
      return MakeStatus(StatusCode::kInvalidModel,
                        "%s: two layers are named '%s'%s%s (Keras requires unique layer names)",
                        where.c_str(), e.name.c_str(), e.scope.empty() ? "" : " in ",
                        e.scope.empty() ? "" : e.scope.back().c_str());
    }
  }
  // Keras allows one name in two nested models, but edgeopt keys weights, graph nodes and the
  // layers named on the command line by the bare layer name, so two such layers would share one
  // set of weights. Refuse them until names are scoped.
  std::map<std::string, const LayerEntry*> owner;
  for (const LayerEntry& e : layers) {
    if (e.class_name == "InputLayer") continue;
    auto [it, fresh] = owner.emplace(e.name, &e);
    if (fresh) continue;
    auto scope_name = [](const LayerEntry* x) {
      std::string s;
      for (const std::string& part : x->scope) s += (s.empty() ? "" : "/") + part;
      return s.empty() ? std::string("the outer model") : "nested model '" + s + "'";
    };
    return MakeStatus(StatusCode::kUnsupported,
                      "%s: layer name '%s' is used both in %s and in %s; edgeopt needs layer "
                      "names unique across nested models (rename one)",
                      where.c_str(), e.name.c_str(), scope_name(it->second).c_str(),
                      scope_name(&e).c_str());
  }
  return Status::Ok();
}

StatusOr<Json> ParseJson(const std::string& text, const std::string& where) {
  Json j = Json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) {
    // Parse again with exceptions for the position of the error.
    try {
      Json again = Json::parse(text);
      (void)again;
    } catch (const std::exception& e) {
      return MakeStatus(StatusCode::kInvalidModel, "%s: invalid JSON (%s)", where.c_str(),
                        e.what());
    }
    return MakeStatus(StatusCode::kInvalidModel, "%s: invalid JSON", where.c_str());
  }
  return j;
}

}  // namespace keras
}  // namespace edgeopt
