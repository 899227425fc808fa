// Reading Keras model configs safely. Config JSON is untrusted: every access checks the type and
// gives a Status that names the layer and the field. Also hides the differences between Keras 2
// (tf.keras), tf_keras and Keras 3 configs: where input shapes live, how inbound nodes are written,
// initializer and activation specs as strings or {"class_name", "config"} objects.
#ifndef EDGEOPT_SRC_IMPORTERS_KERAS_KERAS_CONFIG_H_
#define EDGEOPT_SRC_IMPORTERS_KERAS_KERAS_CONFIG_H_

#include <cstdarg>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "include/edgeopt/status.h"
#include "nlohmann/json.hpp"

namespace edgeopt {
namespace keras {

using Json = nlohmann::json;

// One layer's "config" object with checked accessors. Messages start with "layer 'NAME' (CLASS): ".
class LayerConfig {
 public:
  LayerConfig(const Json* config, std::string name, std::string class_name)
      : config_(config), name_(std::move(name)), class_name_(std::move(class_name)) {}

  const std::string& name() const { return name_; }
  const std::string& class_name() const { return class_name_; }
  const Json& json() const { return *config_; }

  // Present and not null.
  bool Has(const char* key) const;
  const Json* Find(const char* key) const;  // nullptr when absent or null

  StatusOr<int64_t> Int(const char* key) const;
  StatusOr<int64_t> IntOr(const char* key, int64_t fallback) const;
  StatusOr<double> FloatOr(const char* key, double fallback) const;
  StatusOr<bool> BoolOr(const char* key, bool fallback) const;
  StatusOr<std::string> StringOr(const char* key, const std::string& fallback) const;
  // An int (repeated n times) or a list of n ints, e.g. kernel_size.
  StatusOr<std::vector<int64_t>> IntTuple(const char* key, size_t n) const;
  StatusOr<std::vector<int64_t>> IntTupleOr(const char* key, size_t n,
                                            const std::vector<int64_t>& fallback) const;
  // A list of ints (any length; nulls become -1).
  StatusOr<std::vector<int64_t>> IntList(const char* key) const;

  Status Error(StatusCode code, const char* format, ...) const
      __attribute__((format(printf, 3, 4)));
  std::string Prefix() const;

 private:
  const Json* config_;
  std::string name_;
  std::string class_name_;
};

// "relu", {"class_name": "relu"}, {"module": "keras.activations", "class_name": "function",
// "config": "relu"}, or a layer object such as {"class_name": "LeakyReLU", "config": {...}}.
struct ActivationSpec {
  std::string name;              // lower-case function name ("relu", "linear", ...) or a
                                 // layer class
  const Json* config = nullptr;  // the layer config for layer-class activations
};
StatusOr<ActivationSpec> ParseActivation(const Json* spec, const LayerConfig& where);

// Initializer spec: {"class_name": "GlorotUniform", "config": {...}} (Keras 2/3) or a string
// ("glorot_uniform", "zeros"). class_name is normalized to snake_case ("glorot_uniform").
struct InitializerSpec {
  std::string name;
  const Json* config = nullptr;
};
StatusOr<InitializerSpec> ParseInitializer(const Json* spec, const LayerConfig& where);

// The shape of an InputLayer (batch_input_shape / batch_shape / input_shape / shape), or of a layer
// that carries batch_input_shape (Keras 2 Sequential's first layer); dims other than the batch that
// are null give -1. Returns nullopt when there is none.
StatusOr<std::optional<std::vector<int64_t>>> DeclaredInputShape(const LayerConfig& config);

// A reference to a layer output: (layer, node index, tensor index).
struct TensorRef {
  std::string layer;
  int node_index = 0;
  int tensor_index = 0;
};
// One call of a layer, from a Keras 2 ([["l", 0, 0, {kwargs}], ...]) or Keras 3
// ({"args": [...], "kwargs": {...}}) node entry: the tensors it takes, positional first, then the
// keyword tensors query, value and key in that order (MultiHeadAttention's (query, value, key)),
// then y or b (a tf.keras TFOpLambda's second operand: tf.math.add's y, tf.linalg.matmul's b);
// any other keyword tensor (attention_mask, mask, ...) is refused. `kwargs` keeps the other
// keyword arguments (use_causal_mask, training, ...), an empty object when there are none.
struct InboundCall {
  std::vector<TensorRef> refs;
  Json kwargs = Json::object();
  // Keras 3: the positional arguments as written (tensors, numbers); tf.keras: a TFOpLambda's
  // constant first argument (["_CONSTANT_VALUE", -1, value, {kwargs}]), if any.
  Json args = Json::array();
};
// `where` is the layer name for messages.
StatusOr<InboundCall> ParseInboundNode(const Json& node, const std::string& where);
// "input_layers"/"output_layers": [["a", 0, 0], ...] or a single ["a", 0, 0].
StatusOr<std::vector<TensorRef>> ParseLayerRefs(const Json& refs, const std::string& where);

// The "layers" list of a model config ({"class_name", "config": {"layers": [...]}}; Keras 2.2
// Sequential configs are the list itself), or nullptr.
const Json* ModelLayers(const Json& model);
// A layer entry's name (config.name, else name) and class_name; "" when absent.
std::string LayerName(const Json& entry);
std::string LayerClass(const Json& entry);

// Where a Keras 3 .keras file keeps a layer's variables: each holder's are the layer's variables
// whose edgeopt names start with `prefix` ("" for all), in order, as <layer>/<groups...>/vars/<i>
// (every group along the way has its own vars group). Most classes have one holder and no
// groups: <layer>/vars. RNNs keep theirs on the cell, TimeDistributed on the wrapped layer,
// Bidirectional on each direction's cell, MultiHeadAttention on its four EinsumDense layers.
struct Keras3Holder {
  std::string prefix;
  std::vector<std::string> groups;
};
std::vector<Keras3Holder> Keras3WeightHolders(const std::string& class_name);

// True for model classes that nest other layers.
bool IsModelClass(const std::string& class_name);
// Layer classes whose variables keep Keras's shapes when trained weights are written back
// (UpdateFromGraph): their graph weights cannot change shape (no channel pruning).
bool KeepsVariableShapes(const std::string& class_name);

// The {"class_name", "config"} object of a layer inside a model config, searched recursively
// through nested models by layer name; nullptr when there is none.
const Json* FindLayerJson(const Json& model, const std::string& layer_name);
Json* FindLayerJson(Json* model, const std::string& layer_name);

// Every non-model layer of a (nested) model config in order: (name, class_name, layer json).
struct LayerEntry {
  std::string name;
  std::string class_name;
  const Json* layer = nullptr;     // {"class_name", "config", ...}
  std::vector<std::string> scope;  // enclosing nested models (outermost first)
};
Status ListLayers(const Json& model, std::vector<LayerEntry>* out, bool include_models = false);

// Lower-case snake_case of a CamelCase class name: "GlorotUniform" -> "glorot_uniform".
std::string SnakeCase(const std::string& camel);

// Checks the shape of a model config: an object with a string class_name and a config whose layers
// (also nested) all have a name and a class_name.
Status ValidateModelConfig(const Json& config, const std::string& where);
// Keras's generic RNN layer of one built-in cell (RNN(LSTMCell(...)), GRUCell, SimpleRNNCell) as
// the layer it computes: an LSTM / GRU / SimpleRNN entry of the same name with the cell's
// config and the RNN's own (return_sequences, go_backwards, ...). Their weights are stored
// alike (the cell's variables, Keras 3's <layer>/cell/vars), so the rest of the importer, the
// training and the Keras writer see that layer. In nested models and wrappers (Bidirectional,
// TimeDistributed) too; other cells (StackedRNNCells, custom cells) are left for the importer to
// refuse by name.
void ResolveRnnCells(Json* config);

// Parses JSON text; errors say which file is bad and where.
StatusOr<Json> ParseJson(const std::string& text, const std::string& where);

}  // namespace keras
}  // namespace edgeopt

#endif  // EDGEOPT_SRC_IMPORTERS_KERAS_KERAS_CONFIG_H_
