// Keras model config -> IR graph. The builder walks Sequential and Functional configs (nested
// models are inlined, shared layers reuse their weight tensors), and calls one mapping per layer
// class (layers/layer_registry.h). Weights come from a WeightSource: the file's weights (shapes
// checked against what the config needs) or Keras's initializers (ModelFromConfig).
#ifndef EDGEOPT_SRC_IMPORTERS_KERAS_GRAPH_BUILDER_H_
#define EDGEOPT_SRC_IMPORTERS_KERAS_GRAPH_BUILDER_H_

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "src/importers/keras/keras_config.h"
#include "src/importers/keras/keras_model.h"
#include "src/ir/graph.h"

namespace edgeopt {
namespace keras {

using Shape = std::vector<int32_t>;

// Supplies layer weights in Keras layout.
class WeightSource {
 public:
  virtual ~WeightSource() = default;
  // Variable `var` of the layer, which the config says has `shape`.
  virtual StatusOr<const NpyArray*> Get(const LayerConfig& layer, const std::string& var,
                                        const std::vector<int64_t>& shape) = 0;
  // After a layer's first call: `used` lists the variables the mapping asked for.
  virtual Status FinishLayer(const LayerConfig& layer, const std::vector<std::string>& used) = 0;
};

// What one layer became (for inspect and reports).
struct LayerRecord {
  std::string name;
  std::string class_name;
  std::vector<Shape> output_shapes;
  int64_t params = 0;            // elements of the layer's Keras variables
  std::vector<std::string> ops;  // IR ops emitted for it (training form)
};

class GraphBuilder;

// The context of one layer call, handed to the layer mapping.
struct LayerCall {
  GraphBuilder* builder = nullptr;
  LayerConfig config;
  std::vector<int> inputs;       // IR tensor ids
  Json kwargs = Json::object();  // the call's keyword arguments other than tensors
  Json args = Json::array();     // Keras 3: the positional arguments as written
  bool keras_op = false;         // a Keras 3 operation node or a tf.keras TFOpLambda (ops.cc)
  std::vector<int> outputs;      // set by the mapping
  // Keras masks (masking.cc): per input, the float 0 / 1 tensor [B, T, 1] of a [B, T, ...]
  // input whose steps are kept (-1: no mask). A mapping whose MaskRule is kOwn reads them and
  // sets output_masks (per output; empty: no masks); the builder applies the other rules.
  std::vector<int> input_masks;
  std::vector<int> output_masks;
  std::vector<std::string> used_vars;
  int64_t params = 0;

  LayerCall(GraphBuilder* b, LayerConfig c) : builder(b), config(std::move(c)) {}

  const std::string& name() const { return config.name(); }
  const Shape& InputShape(size_t i = 0) const;
  int InputRank(size_t i = 0) const { return static_cast<int>(InputShape(i).size()); }
  Status Error(StatusCode code, const std::string& message) const {
    return Status(code, config.Prefix() + ": " + message);
  }
  // The Keras variable `var` (Keras layout, shape checked) as floats.
  StatusOr<std::vector<float>> Weight(const std::string& var, const std::vector<int64_t>& shape);
  // An IR constant holding a weight (shared between calls of the same layer); `origin` defaults to
  // "<layer>/<var>".
  int AddWeightTensor(const std::string& var, const Shape& ir_shape, std::vector<float> values,
                      const std::string& origin = "");
  // A new float32 activation tensor named after the layer ("<layer>/<suffix>").
  int NewTensor(const Shape& shape, const std::string& suffix = "");
  int AddNode(const std::string& op, std::vector<int> inputs, std::vector<int> outputs,
              ir::Attrs attrs = {});
  int Int32Const(const std::string& suffix, const std::vector<int32_t>& values);
  int Int32Const(const std::string& suffix, const Shape& shape, const std::vector<int32_t>& values);
  int FloatConst(const std::string& suffix, const Shape& shape, const std::vector<float>& values);
};

class GraphBuilder {
 public:
  GraphBuilder(const BuildOptions& options, WeightSource* weights, std::string keras_version);

  // Builds the whole model; the graph's inputs/outputs carry the Keras names.
  Status Build(const Json& model_config);

  ir::Graph& graph() { return graph_; }
  const std::vector<LayerRecord>& records() const { return records_; }
  WeightSource* weights() { return weights_; }
  int batch() const { return options_.batch_size; }
  bool unroll_lstm() const { return options_.unroll_lstm; }
  std::vector<data::ImageAugmentation>* input_augmentations() const {
    return options_.input_augmentations;
  }
  // Keras 3 changed a few defaults (hard_sigmoid, ...).
  bool keras3() const { return keras3_; }

  std::string UniqueName(const std::string& base);
  int AddTensor(const std::string& name, const Shape& shape);
  const Shape& ShapeOf(int tensor) const { return graph_.tensors[tensor].shape; }
  // Weight tensors already created, by origin (shared layers reuse them).
  std::map<std::string, int>& weight_tensors() { return weight_tensors_; }
  // Whether the model being built sits inside a (nested) model with trainable=False.
  bool in_frozen_model() const { return frozen_models_ > 0; }
  // The Keras mask carried by a tensor (LayerCall::input_masks), -1 if none.
  int MaskOf(int tensor) const {
    auto it = masks_.find(tensor);
    return it == masks_.end() ? -1 : it->second;
  }

 private:
  Status BuildModel(const Json& model, const std::vector<int>* given_inputs,
                    std::vector<int>* outputs, std::vector<std::string>* output_names,
                    bool top_level, int depth);
  Status BuildSequential(const Json& model, const std::vector<int>* given_inputs,
                         std::vector<int>* outputs, std::vector<std::string>* output_names,
                         int depth);
  Status BuildFunctional(const Json& model, const std::vector<int>* given_inputs,
                         std::vector<int>* outputs, std::vector<std::string>* output_names,
                         int depth);
  // One call of a (non-model) layer.
  Status ConvertLayer(const Json& entry, const std::vector<int>& inputs, std::vector<int>* outputs,
                      int depth, const InboundCall* inbound = nullptr);
  StatusOr<int> AddModelInput(const std::string& name, std::vector<int64_t> shape);

  BuildOptions options_;
  WeightSource* weights_;
  bool keras3_ = false;
  ir::Graph graph_;
  std::map<std::string, int> name_counts_;
  std::map<std::string, int> weight_tensors_;
  std::map<std::string, int> calls_per_layer_;
  std::map<int, int> masks_;  // tensor -> its Keras mask
  int frozen_models_ = 0;     // enclosing models with trainable=False
  std::vector<LayerRecord> records_;
};

// WeightSource over a loaded model's weights.
class ModelWeightSource : public WeightSource {
 public:
  explicit ModelWeightSource(const KerasModel& model);
  StatusOr<const NpyArray*> Get(const LayerConfig& layer, const std::string& var,
                                const std::vector<int64_t>& shape) override;
  Status FinishLayer(const LayerConfig& layer, const std::vector<std::string>& used) override;

 private:
  const KerasModel& model_;
  std::map<std::string, const LayerWeights*> by_layer_;
};

// BuildGraph plus what each layer became. On failure, `records` holds the layers converted before
// the one that failed.
StatusOr<ir::Graph> BuildGraphWithRecords(const KerasModel& model, const BuildOptions& options,
                                          std::vector<LayerRecord>* records);

// "[1,28,28,1]".
std::string ShapeString(const Shape& shape);
std::string ShapeString(const std::vector<int64_t>& shape);

}  // namespace keras
}  // namespace edgeopt

#endif  // EDGEOPT_SRC_IMPORTERS_KERAS_GRAPH_BUILDER_H_
