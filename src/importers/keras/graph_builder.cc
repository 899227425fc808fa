#include "src/importers/keras/graph_builder.h"

#include <algorithm>
#include <cstring>
#include <set>

#include "src/importers/keras/layers/layer_registry.h"

namespace edgeopt {
namespace keras {
namespace {

constexpr int kMaxNesting = 16;
constexpr int64_t kMaxDim = int64_t{1} << 24;
constexpr int64_t kMaxWeightElements = int64_t{1} << 28;
constexpr int64_t kMaxTensorElements = int64_t{1} << 31;

// True if every dim is positive and the element count stays within kMaxTensorElements.
bool ShapeFits(const Shape& shape) {
  int64_t count = 1;
  for (int32_t d : shape) {
    if (d <= 0 || count > kMaxTensorElements / d) return false;
    count *= d;
  }
  return true;
}

std::string JoinNames(const std::vector<std::string>& names) {
  std::string out;
  for (const std::string& n : names) out += (out.empty() ? "" : ", ") + n;
  return out;
}

bool IsInputLayer(const Json& entry) { return LayerClass(entry) == "InputLayer"; }

const Json* ConfigObject(const Json& entry) {
  if (!entry.is_object()) return nullptr;
  auto it = entry.find("config");
  if (it == entry.end() || !it->is_object()) return nullptr;
  return &*it;
}

// The input shape a model declares (InputLayer, a first layer's batch_input_shape,
// build_input_shape, build_config), searching nested first layers.
StatusOr<std::optional<std::vector<int64_t>>> ModelDeclaredInput(const Json& model, int depth) {
  if (depth > kMaxNesting) return std::optional<std::vector<int64_t>>();
  const Json* layers = ModelLayers(model);
  if (layers != nullptr && !layers->empty()) {
    const Json& first = (*layers)[0];
    if (IsModelClass(LayerClass(first))) {
      EDGEOPT_ASSIGN_OR_RETURN(auto nested, ModelDeclaredInput(first, depth + 1));
      if (nested) return nested;
    } else if (const Json* cfg = ConfigObject(first)) {
      EDGEOPT_ASSIGN_OR_RETURN(
          auto shape, DeclaredInputShape(LayerConfig(cfg, LayerName(first), LayerClass(first))));
      if (shape) return shape;
    }
  }
  const Json* cfg = ConfigObject(model);
  const std::string name = cfg != nullptr ? LayerName(model) : "";
  if (cfg != nullptr) {
    LayerConfig mc(cfg, name, LayerClass(model));
    if (mc.Has("build_input_shape")) {
      EDGEOPT_ASSIGN_OR_RETURN(std::vector<int64_t> s, mc.IntList("build_input_shape"));
      if (!s.empty()) return std::optional<std::vector<int64_t>>(s);
    }
  }
  auto bc = model.find("build_config");
  if (bc != model.end() && bc->is_object()) {
    LayerConfig bcc(&*bc, name, LayerClass(model));
    if (bcc.Has("input_shape")) {
      EDGEOPT_ASSIGN_OR_RETURN(std::vector<int64_t> s, bcc.IntList("input_shape"));
      if (!s.empty()) return std::optional<std::vector<int64_t>>(s);
    }
  }
  return std::optional<std::vector<int64_t>>();
}

}  // namespace

std::string ShapeString(const Shape& shape) {
  std::string s = "[";
  for (size_t i = 0; i < shape.size(); ++i) s += (i ? "," : "") + std::to_string(shape[i]);
  return s + "]";
}

std::string ShapeString(const std::vector<int64_t>& shape) {
  std::string s = "[";
  for (size_t i = 0; i < shape.size(); ++i) {
    s += (i ? "," : "") + (shape[i] < 0 ? std::string("?") : std::to_string(shape[i]));
  }
  return s + "]";
}

// ----------------------------------------------------------------------------------------------
// LayerCall

const Shape& LayerCall::InputShape(size_t i) const { return builder->ShapeOf(inputs.at(i)); }

StatusOr<std::vector<float>> LayerCall::Weight(const std::string& var,
                                               const std::vector<int64_t>& shape) {
  int64_t count = 1;
  for (int64_t d : shape) {
    if (d < 0 || d > kMaxDim || (count *= d) > kMaxWeightElements) {
      return Error(StatusCode::kInvalidModel,
                   "weight '" + var + "' would have shape " + ShapeString(shape));
    }
  }
  EDGEOPT_ASSIGN_OR_RETURN(const NpyArray* array, builder->weights()->Get(config, var, shape));
  // Every source must hand back float32 data of exactly this shape; a layer name that two
  // (nested) models share could otherwise pair this layer with the other one's weights.
  if (array->shape != shape || array->dtype != DType::kFloat32 ||
      array->data.size() != static_cast<size_t>(count) * sizeof(float)) {
    return Error(StatusCode::kInvalidModel, "weight '" + var + "' has shape " +
                                                ShapeString(array->shape) + ", the layer needs " +
                                                ShapeString(shape) +
                                                " (is the layer name used by two layers?)");
  }
  used_vars.push_back(var);
  params += array->NumElements();
  std::vector<float> values(static_cast<size_t>(array->NumElements()));
  if (!values.empty()) std::memcpy(values.data(), array->data.data(), values.size() * 4);
  return values;
}

int LayerCall::AddWeightTensor(const std::string& var, const Shape& ir_shape,
                               std::vector<float> values, const std::string& origin) {
  const std::string key = origin.empty() ? name() + "/" + var : origin;
  auto& cache = builder->weight_tensors();
  auto it = cache.find(key);
  if (it != cache.end() && builder->ShapeOf(it->second) == ir_shape) return it->second;
  ir::Graph& g = builder->graph();
  const int id = g.AddFloatConstant(builder->UniqueName(key), ir_shape, values);
  g.tensors[id].origin = key;
  // Keras's trainable=False (the layer's or an enclosing model's): training leaves it as it is,
  // and a BatchNormalization normalizes with its moving statistics, as Keras does.
  const Json* trainable = config.Find("trainable");
  g.tensors[id].frozen =
      builder->in_frozen_model() ||
      (trainable != nullptr && trainable->is_boolean() && !trainable->get<bool>());
  cache[key] = id;
  return id;
}

int LayerCall::NewTensor(const Shape& shape, const std::string& suffix) {
  return builder->AddTensor(name() + "/" + (suffix.empty() ? "out" : suffix), shape);
}

int LayerCall::AddNode(const std::string& op, std::vector<int> node_inputs,
                       std::vector<int> node_outputs, ir::Attrs attrs) {
  ir::Node n;
  n.op = op;
  n.name = name();
  n.inputs = std::move(node_inputs);
  n.outputs = std::move(node_outputs);
  n.attrs = std::move(attrs);
  return builder->graph().AddNode(std::move(n));
}

int LayerCall::Int32Const(const std::string& suffix, const std::vector<int32_t>& values) {
  return Int32Const(suffix, Shape{static_cast<int32_t>(values.size())}, values);
}

int LayerCall::Int32Const(const std::string& suffix, const Shape& shape,
                          const std::vector<int32_t>& values) {
  ir::Graph& g = builder->graph();
  return g.AddConstant(builder->UniqueName(name() + "/" + suffix), DType::kInt32, shape,
                       values.data(), values.size() * sizeof(int32_t));
}

int LayerCall::FloatConst(const std::string& suffix, const Shape& shape,
                          const std::vector<float>& values) {
  return builder->graph().AddFloatConstant(builder->UniqueName(name() + "/" + suffix), shape,
                                           values);
}

// ----------------------------------------------------------------------------------------------
// GraphBuilder

GraphBuilder::GraphBuilder(const BuildOptions& options, WeightSource* weights,
                           std::string keras_version)
    : options_(options), weights_(weights) {
  keras3_ = !keras_version.empty() && keras_version[0] == '3';
}

std::string GraphBuilder::UniqueName(const std::string& base) {
  int& count = name_counts_[base];
  if (count++ == 0) return base;
  for (;;) {
    std::string candidate = base + "_" + std::to_string(count - 1);
    if (name_counts_.count(candidate) == 0) {
      name_counts_[candidate] = 1;
      return candidate;
    }
    ++count;
  }
}

int GraphBuilder::AddTensor(const std::string& name, const Shape& shape) {
  return graph_.AddActivation(UniqueName(name), DType::kFloat32, shape);
}

StatusOr<int> GraphBuilder::AddModelInput(const std::string& name, std::vector<int64_t> shape) {
  EDGEOPT_ENSURE(options_.batch_size >= 1, StatusCode::kInvalidArgument,
                 "batch size must be at least 1, got %d", options_.batch_size);
  EDGEOPT_ENSURE(shape.size() >= 2 && shape.size() <= 6, StatusCode::kUnsupported,
                 "input '%s' has shape %s: edgeopt converts inputs of rank 2 "
                 "to 6 (batch first)",
                 name.c_str(), ShapeString(shape).c_str());
  Shape s;
  s.push_back(options_.batch_size);
  for (size_t i = 1; i < shape.size(); ++i) {
    EDGEOPT_ENSURE(shape[i] > 0 && shape[i] <= kMaxDim, StatusCode::kUnsupported,
                   "input '%s' has shape %s: every dimension but the batch must be known "
                   "(TFLite needs static shapes)",
                   name.c_str(), ShapeString(shape).c_str());
    s.push_back(static_cast<int32_t>(shape[i]));
  }
  EDGEOPT_ENSURE(ShapeFits(s), StatusCode::kUnsupported, "input '%s' has shape %s: too large",
                 name.c_str(), ShapeString(s).c_str());
  const int id = AddTensor(name, s);
  graph_.inputs.push_back(id);
  graph_.input_names.push_back(name);
  return id;
}

Status GraphBuilder::Build(const Json& model_config) {
  if (!model_config.is_object() || LayerClass(model_config).empty()) {
    return MakeStatus(StatusCode::kInvalidModel,
                      "the model config must be an object with 'class_name' and 'config'");
  }
  if (!keras3_) {
    // A .keras from Keras 3 without metadata still says so in its layers.
    const Json* layers = ModelLayers(model_config);
    if (layers != nullptr) {
      for (const Json& l : *layers) {
        if (l.is_object() && l.contains("inbound_nodes") && l["inbound_nodes"].is_array() &&
            !l["inbound_nodes"].empty() && l["inbound_nodes"][0].is_object()) {
          keras3_ = true;
        }
      }
    }
  }
  std::vector<int> outputs;
  std::vector<std::string> names;
  EDGEOPT_RETURN_IF_ERROR(BuildModel(model_config, nullptr, &outputs, &names, true, 0));
  graph_.outputs = outputs;
  graph_.output_names = names;
  // Outputs carry the Keras output names (a nested model's output is named after the model).
  std::set<std::string> used;
  for (const ir::Tensor& t : graph_.tensors) used.insert(t.name);
  for (size_t i = 0; i < outputs.size(); ++i) {
    ir::Tensor& t = graph_.tensors[outputs[i]];
    if (t.name == names[i] || used.count(names[i]) != 0 || t.is_constant) continue;
    if (std::find(graph_.inputs.begin(), graph_.inputs.end(), outputs[i]) != graph_.inputs.end()) {
      continue;
    }
    used.insert(names[i]);
    t.name = names[i];
  }
  return Status::Ok();
}

Status GraphBuilder::BuildModel(const Json& model, const std::vector<int>* given_inputs,
                                std::vector<int>* outputs, std::vector<std::string>* output_names,
                                bool top_level, int depth) {
  if (depth > kMaxNesting) {
    return MakeStatus(StatusCode::kInvalidModel, "models are nested more than %d deep",
                      kMaxNesting);
  }
  (void)top_level;
  const std::string cls = LayerClass(model);
  // A model with trainable=False freezes every layer in it, whatever their own flags say (Keras
  // sets theirs too).
  const Json* config = model.is_object() && model.contains("config") ? &model["config"] : nullptr;
  const bool frozen = config != nullptr && config->is_object() && config->contains("trainable") &&
                      (*config)["trainable"].is_boolean() && !(*config)["trainable"].get<bool>();
  frozen_models_ += frozen ? 1 : 0;
  struct Unfreeze {
    int* count;
    bool on;
    ~Unfreeze() { *count -= on ? 1 : 0; }
  } unfreeze{&frozen_models_, frozen};
  if (ModelLayers(model) == nullptr) {
    return MakeStatus(StatusCode::kInvalidModel, "model '%s' (%s): config has no 'layers' list",
                      LayerName(model).c_str(), cls.c_str());
  }
  if (cls == "Sequential") {
    return BuildSequential(model, given_inputs, outputs, output_names, depth);
  }
  if (cls == "Functional" || cls == "Model") {
    return BuildFunctional(model, given_inputs, outputs, output_names, depth);
  }
  return MakeStatus(StatusCode::kUnsupported,
                    "model class '%s' is not supported (expected Sequential or Functional)",
                    cls.c_str());
}

Status GraphBuilder::BuildSequential(const Json& model, const std::vector<int>* given_inputs,
                                     std::vector<int>* outputs,
                                     std::vector<std::string>* output_names, int depth) {
  const Json& layers = *ModelLayers(model);
  const std::string model_name = LayerName(model);
  int x = -1;
  if (given_inputs != nullptr) {
    EDGEOPT_ENSURE(given_inputs->size() == 1, StatusCode::kInvalidModel,
                   "Sequential model '%s' is called with %zu inputs; it takes one",
                   model_name.c_str(), given_inputs->size());
    x = (*given_inputs)[0];
  } else {
    EDGEOPT_ASSIGN_OR_RETURN(auto shape, ModelDeclaredInput(model, 0));
    if (!shape) {
      return MakeStatus(StatusCode::kInvalidModel,
                        "Sequential model '%s' declares no input shape (no InputLayer, "
                        "batch_input_shape or build_input_shape)",
                        model_name.c_str());
    }
    std::string input_name;
    if (!layers.empty() && IsInputLayer(layers[0])) {
      input_name = LayerName(layers[0]);
    } else if (!layers.empty()) {
      input_name = LayerName(layers[0]) + "_input";
    } else {
      input_name = "input";
    }
    EDGEOPT_ASSIGN_OR_RETURN(x, AddModelInput(input_name, *shape));
  }
  std::string last = model_name;
  for (const Json& entry : layers) {
    if (IsInputLayer(entry)) continue;
    std::vector<int> out;
    if (IsModelClass(LayerClass(entry))) {
      std::vector<int> in = {x};
      std::vector<std::string> names;
      EDGEOPT_RETURN_IF_ERROR(BuildModel(entry, &in, &out, &names, false, depth + 1));
    } else {
      EDGEOPT_RETURN_IF_ERROR(ConvertLayer(entry, {x}, &out, depth));
    }
    EDGEOPT_ENSURE(out.size() == 1, StatusCode::kUnsupported,
                   "layer '%s' in Sequential model '%s' has %zu outputs; "
                   "Sequential layers need "
                   "one",
                   LayerName(entry).c_str(), model_name.c_str(), out.size());
    x = out[0];
    last = LayerName(entry);
  }
  outputs->push_back(x);
  output_names->push_back(depth == 0 ? last : model_name);
  return Status::Ok();
}

Status GraphBuilder::BuildFunctional(const Json& model, const std::vector<int>* given_inputs,
                                     std::vector<int>* outputs,
                                     std::vector<std::string>* output_names, int depth) {
  const Json& layers = *ModelLayers(model);
  const std::string model_name = LayerName(model);
  const Json* cfg = ConfigObject(model);
  const std::string where = "model '" + model_name + "'";
  if (cfg == nullptr || !cfg->contains("input_layers") || !cfg->contains("output_layers")) {
    return MakeStatus(StatusCode::kInvalidModel,
                      "%s: Functional config needs 'input_layers' and 'output_layers'",
                      where.c_str());
  }
  EDGEOPT_ASSIGN_OR_RETURN(std::vector<TensorRef> input_refs,
                           ParseLayerRefs((*cfg)["input_layers"], where + " input_layers"));
  EDGEOPT_ASSIGN_OR_RETURN(std::vector<TensorRef> output_refs,
                           ParseLayerRefs((*cfg)["output_layers"], where + " output_layers"));

  // Entries by name, and the calls of each layer in this model.
  std::map<std::string, const Json*> by_name;
  for (const Json& entry : layers) {
    const std::string name = LayerName(entry);
    if (by_name.count(name) != 0) {
      return MakeStatus(StatusCode::kInvalidModel, "%s: two layers are named '%s'", where.c_str(),
                        name.c_str());
    }
    by_name[name] = &entry;
  }
  // produced[layer][call] = output tensors
  std::map<std::string, std::map<int, std::vector<int>>> produced;
  std::map<std::string, int> num_calls;
  struct Pending {
    const Json* entry;
    int call;
    InboundCall inbound;
  };
  std::vector<Pending> pending;
  for (const Json& entry : layers) {
    const std::string name = LayerName(entry);
    if (IsInputLayer(entry)) {
      num_calls[name] = 1;
      continue;
    }
    auto nodes = entry.find("inbound_nodes");
    if (nodes == entry.end() || !nodes->is_array()) {
      return MakeStatus(StatusCode::kInvalidModel, "%s: layer '%s' has no 'inbound_nodes' list",
                        where.c_str(), name.c_str());
    }
    num_calls[name] = static_cast<int>(nodes->size());
    for (size_t c = 0; c < nodes->size(); ++c) {
      EDGEOPT_ASSIGN_OR_RETURN(InboundCall inbound, ParseInboundNode((*nodes)[c], name));
      pending.push_back({&entry, static_cast<int>(c), std::move(inbound)});
    }
  }
  // Which call of `layer` a (layer, node_index) reference means.
  auto resolve_call = [&](const TensorRef& ref, int* call) -> Status {
    auto it = num_calls.find(ref.layer);
    if (it == num_calls.end()) {
      return MakeStatus(StatusCode::kInvalidModel, "%s: a layer input refers to unknown layer '%s'",
                        where.c_str(), ref.layer.c_str());
    }
    const int n = it->second;
    int index = ref.node_index;
    // Keras 2 numbers a nested model's calls from 1 (node 0 is the model's own input node).
    if (!keras3_ && IsModelClass(LayerClass(*by_name[ref.layer])) && index >= 1) --index;
    if (index >= n && n == 1) index = 0;
    if (index < 0 || index >= n) {
      return MakeStatus(StatusCode::kInvalidModel,
                        "%s: reference to call %d of layer '%s', which has %d", where.c_str(),
                        ref.node_index, ref.layer.c_str(), n);
    }
    *call = index;
    return Status::Ok();
  };
  auto lookup = [&](const TensorRef& ref, int* tensor) -> StatusOr<bool> {
    int call = 0;
    EDGEOPT_RETURN_IF_ERROR(resolve_call(ref, &call));
    auto p = produced.find(ref.layer);
    if (p == produced.end()) return false;
    auto c = p->second.find(call);
    if (c == p->second.end()) return false;
    if (ref.tensor_index >= static_cast<int>(c->second.size())) {
      return MakeStatus(StatusCode::kInvalidModel, "%s: layer '%s' has no output %d", where.c_str(),
                        ref.layer.c_str(), ref.tensor_index);
    }
    *tensor = c->second[ref.tensor_index];
    return true;
  };

  // Inputs.
  if (given_inputs != nullptr) {
    EDGEOPT_ENSURE(given_inputs->size() == input_refs.size(), StatusCode::kInvalidModel,
                   "%s is called with %zu inputs; it has %zu", where.c_str(), given_inputs->size(),
                   input_refs.size());
  }
  for (size_t i = 0; i < input_refs.size(); ++i) {
    const TensorRef& ref = input_refs[i];
    auto it = by_name.find(ref.layer);
    if (it == by_name.end() || !IsInputLayer(*it->second)) {
      return MakeStatus(StatusCode::kInvalidModel, "%s: input '%s' is not an InputLayer",
                        where.c_str(), ref.layer.c_str());
    }
    int tensor;
    if (given_inputs != nullptr) {
      tensor = (*given_inputs)[i];
    } else {
      const Json* icfg = ConfigObject(*it->second);
      if (icfg == nullptr) {
        return MakeStatus(StatusCode::kInvalidModel, "%s: InputLayer '%s' has no config",
                          where.c_str(), ref.layer.c_str());
      }
      EDGEOPT_ASSIGN_OR_RETURN(auto shape,
                               DeclaredInputShape(LayerConfig(icfg, ref.layer, "InputLayer")));
      if (!shape) {
        return MakeStatus(StatusCode::kInvalidModel, "%s: InputLayer '%s' declares no shape",
                          where.c_str(), ref.layer.c_str());
      }
      EDGEOPT_ASSIGN_OR_RETURN(tensor, AddModelInput(ref.layer, *shape));
    }
    produced[ref.layer][0] = {tensor};
  }

  // Calls, in dependency order.
  while (!pending.empty()) {
    bool progress = false;
    for (size_t p = 0; p < pending.size();) {
      const Pending& item = pending[p];
      std::vector<int> inputs;
      bool ready = true;
      for (const TensorRef& ref : item.inbound.refs) {
        int tensor = -1;
        EDGEOPT_ASSIGN_OR_RETURN(bool found, lookup(ref, &tensor));
        if (!found) {
          ready = false;
          break;
        }
        inputs.push_back(tensor);
      }
      if (!ready) {
        ++p;
        continue;
      }
      const Json& entry = *item.entry;
      const std::string name = LayerName(entry);
      if (inputs.empty()) {
        return MakeStatus(StatusCode::kInvalidModel, "%s: layer '%s' is called without inputs",
                          where.c_str(), name.c_str());
      }
      std::vector<int> out;
      if (IsModelClass(LayerClass(entry))) {
        std::vector<std::string> names;
        EDGEOPT_RETURN_IF_ERROR(BuildModel(entry, &inputs, &out, &names, false, depth + 1));
      } else {
        EDGEOPT_RETURN_IF_ERROR(ConvertLayer(entry, inputs, &out, depth, &item.inbound));
      }
      produced[name][item.call] = out;
      pending.erase(pending.begin() + static_cast<std::ptrdiff_t>(p));
      progress = true;
    }
    if (!progress) {
      std::vector<std::string> stuck;
      for (const Pending& item : pending) stuck.push_back(LayerName(*item.entry));
      return MakeStatus(StatusCode::kInvalidModel,
                        "%s: the inputs of layers %s are never produced (a "
                        "cycle or a missing "
                        "layer)",
                        where.c_str(), JoinNames(stuck).c_str());
    }
  }

  for (const TensorRef& ref : output_refs) {
    int tensor = -1;
    EDGEOPT_ASSIGN_OR_RETURN(bool found, lookup(ref, &tensor));
    if (!found) {
      return MakeStatus(StatusCode::kInvalidModel, "%s: output layer '%s' is never computed",
                        where.c_str(), ref.layer.c_str());
    }
    outputs->push_back(tensor);
    output_names->push_back(depth == 0 || output_refs.size() > 1 ? ref.layer : model_name);
  }
  if (depth > 0 && output_refs.size() == 1) output_names->back() = model_name;
  return Status::Ok();
}

Status GraphBuilder::ConvertLayer(const Json& entry, const std::vector<int>& inputs,
                                  std::vector<int>* outputs, int depth,
                                  const InboundCall* inbound) {
  (void)depth;
  const std::string cls = LayerClass(entry);
  const std::string name = LayerName(entry);
  const Json* cfg = ConfigObject(entry);
  if (cfg == nullptr) {
    return MakeStatus(StatusCode::kInvalidModel, "layer '%s' (%s) has no 'config' object",
                      name.c_str(), cls.c_str());
  }
  // Keras 3 operations (x + y, keras.ops.relu(x), ...) share class names with layers (Add, ...):
  // their module tells them apart. tf.keras keeps such calls as TFOpLambda layers.
  const auto module = entry.find("module");
  const bool keras_op = (module != entry.end() && module->is_string() &&
                         IsKerasOpsModule(module->get<std::string>())) ||
                        cls == "TFOpLambda" || cls == "SlicingOpLambda";
  const LayerMapping* mapping = keras_op ? KerasOpMapping() : FindLayerMapping(cls);
  if (mapping == nullptr) {
    return MakeStatus(StatusCode::kUnsupported, "layer '%s' (%s) cannot be converted: %s",
                      name.c_str(), cls.c_str(), UnsupportedReason(cls).c_str());
  }
  LayerCall call(this, LayerConfig(cfg, name, cls));
  call.inputs = inputs;
  call.keras_op = keras_op;
  if (inbound != nullptr) {
    call.kwargs = inbound->kwargs;
    call.args = inbound->args;
  }
  const size_t first_node = graph_.nodes.size();
  const size_t first_tensor = graph_.tensors.size();
  EDGEOPT_RETURN_IF_ERROR(PrepareMasks(&call));
  EDGEOPT_RETURN_IF_ERROR(mapping->convert(&call));
  if (call.outputs.empty()) {
    return MakeStatus(StatusCode::kInternal, "layer '%s' (%s): mapping produced no output",
                      name.c_str(), cls.c_str());
  }
  EDGEOPT_ASSIGN_OR_RETURN(std::vector<int> masks, OutputMasks(&call));
  for (size_t i = 0; i < masks.size(); ++i) {
    if (masks[i] >= 0) masks_[call.outputs[i]] = masks[i];
  }
  for (size_t t = first_tensor; t < graph_.tensors.size(); ++t) {
    if (!ShapeFits(graph_.tensors[t].shape)) {
      return MakeStatus(StatusCode::kInvalidModel,
                        "layer '%s' (%s): tensor %s would have shape %s (empty or too large)",
                        name.c_str(), cls.c_str(), graph_.tensors[t].name.c_str(),
                        ShapeString(graph_.tensors[t].shape).c_str());
    }
  }
  const int call_index = calls_per_layer_[name]++;
  if (call_index == 0) EDGEOPT_RETURN_IF_ERROR(weights_->FinishLayer(call.config, call.used_vars));
  // Name the layer's outputs after it.
  for (size_t i = 0; i < call.outputs.size(); ++i) {
    const int t = call.outputs[i];
    if (t < static_cast<int>(first_tensor) || graph_.tensors[t].is_constant) continue;
    std::string base = name;
    if (call_index > 0) base += "/call" + std::to_string(call_index);
    if (call.outputs.size() > 1) base += ":" + std::to_string(i);
    graph_.tensors[t].name = UniqueName(base);
  }
  *outputs = call.outputs;
  if (call_index == 0) {
    LayerRecord record;
    record.name = name;
    record.class_name = cls;
    for (int t : call.outputs) record.output_shapes.push_back(graph_.tensors[t].shape);
    record.params = call.params;
    for (size_t n = first_node; n < graph_.nodes.size(); ++n) {
      record.ops.push_back(graph_.nodes[n].op);
    }
    records_.push_back(std::move(record));
  }
  return Status::Ok();
}

// ----------------------------------------------------------------------------------------------
// ModelWeightSource

ModelWeightSource::ModelWeightSource(const KerasModel& model) : model_(model) {
  for (const LayerWeights& lw : model.weights) by_layer_[lw.layer] = &lw;
}

StatusOr<const NpyArray*> ModelWeightSource::Get(const LayerConfig& layer, const std::string& var,
                                                 const std::vector<int64_t>& shape) {
  const std::string& file = model_.source_path;
  auto it = by_layer_.find(layer.name());
  if (it == by_layer_.end()) {
    return layer.Error(StatusCode::kInvalidModel, "%s has no weights for this layer (needs '%s')",
                       file.c_str(), var.c_str());
  }
  const NpyArray* found = nullptr;
  std::vector<std::string> names;
  for (const auto& [n, array] : it->second->vars) {
    names.push_back(n);
    if (n == var) found = &array;
  }
  if (found == nullptr) {
    return layer.Error(StatusCode::kInvalidModel,
                       "%s has no weight '%s' for this layer (it has: %s)", file.c_str(),
                       var.c_str(), JoinNames(names).c_str());
  }
  if (found->dtype != DType::kFloat32) {
    return layer.Error(StatusCode::kInvalidModel, "weight '%s' in %s is %s; expected floats",
                       var.c_str(), file.c_str(), DTypeName(found->dtype));
  }
  if (found->shape != shape) {
    return layer.Error(StatusCode::kInvalidModel,
                       "weight '%s' has shape %s in %s, but the config needs %s", var.c_str(),
                       ShapeString(found->shape).c_str(), file.c_str(), ShapeString(shape).c_str());
  }
  return found;
}

Status ModelWeightSource::FinishLayer(const LayerConfig& layer,
                                      const std::vector<std::string>& used) {
  auto it = by_layer_.find(layer.name());
  if (it == by_layer_.end()) return Status::Ok();
  std::vector<std::string> extra;
  for (const auto& [n, array] : it->second->vars) {
    if (std::find(used.begin(), used.end(), n) == used.end()) extra.push_back(n);
  }
  if (!extra.empty()) {
    return layer.Error(StatusCode::kInvalidModel,
                       "%s has %zu weights for this layer (%s), but its config uses %zu",
                       model_.source_path.c_str(), it->second->vars.size(),
                       JoinNames(extra).c_str(), used.size());
  }
  return Status::Ok();
}

StatusOr<ir::Graph> BuildGraphWithRecords(const KerasModel& model, const BuildOptions& options,
                                          std::vector<LayerRecord>* records) {
  ModelWeightSource source(model);
  GraphBuilder builder(options, &source, model.keras_version);
  Status status = builder.Build(model.config);
  if (records != nullptr) *records = builder.records();
  if (!status.ok()) return status;
  // Every layer with weights in the file must exist in the config.
  std::set<std::string> converted;
  for (const LayerRecord& r : builder.records()) converted.insert(r.name);
  for (const LayerWeights& lw : model.weights) {
    if (!lw.vars.empty() && converted.count(lw.layer) == 0) {
      return MakeStatus(StatusCode::kInvalidModel,
                        "%s has weights for layer '%s', which the model config does not have",
                        model.source_path.c_str(), lw.layer.c_str());
    }
  }
  EDGEOPT_RETURN_IF_ERROR(builder.graph().Validate());
  return std::move(builder.graph());
}

StatusOr<ir::Graph> BuildGraph(const KerasModel& model, const BuildOptions& options) {
  return BuildGraphWithRecords(model, options, nullptr);
}

}  // namespace keras
}  // namespace edgeopt
