// ModelFromConfig: runs the graph builder over the config with a WeightSource that creates every
// variable with the layer's Keras initializer (kernel_initializer, bias_initializer,
// gamma/beta/moving_mean/moving_variance_initializer, depthwise/pointwise/recurrent/alpha
// initializers, LSTM unit_forget_bias), seeded per layer and variable.
#include <cstring>
#include <map>
#include <memory>
#include <optional>

#include "src/importers/keras/graph_builder.h"
#include "src/importers/keras/initializers.h"
#include "src/util/file_util.h"

namespace edgeopt {
namespace keras {
namespace {

struct VarInit {
  const char* var;
  const char* key;
  const char* fallback;
};

constexpr VarInit kVarInits[] = {
    {"kernel", "kernel_initializer", "glorot_uniform"},
    {"bias", "bias_initializer", "zeros"},
    {"gamma", "gamma_initializer", "ones"},
    {"beta", "beta_initializer", "zeros"},
    {"moving_mean", "moving_mean_initializer", "zeros"},
    {"moving_variance", "moving_variance_initializer", "ones"},
    {"depthwise_kernel", "depthwise_initializer", "glorot_uniform"},
    {"pointwise_kernel", "pointwise_initializer", "glorot_uniform"},
    {"recurrent_kernel", "recurrent_initializer", "orthogonal"},
    {"alpha", "alpha_initializer", "zeros"},
    // Normalization before adapt(): mean 0, variance 1 (no initializer keys in its config).
    {"mean", "mean_initializer", "zeros"},
    {"variance", "variance_initializer", "ones"},
    {"embeddings", "embeddings_initializer", "uniform"},
    // Attention's scalars (no initializer keys): ones; AdditiveAttention's scale vector is
    // Glorot uniform (below).
    {"scale", "scale_initializer", "ones"},
    {"concat_score_weight", "concat_score_weight_initializer", "ones"},
};

uint64_t Hash(const std::string& s, uint64_t h) {
  for (unsigned char c : s) h = (h ^ c) * 0x100000001b3ULL;
  return h;
}

class InitWeightSource : public WeightSource {
 public:
  InitWeightSource(uint64_t seed, KerasModel* model) : seed_(seed), model_(model) {}

  StatusOr<const NpyArray*> Get(const LayerConfig& layer, const std::string& var,
                                const std::vector<int64_t>& shape) override {
    auto& slot = arrays_[layer.name()][var];
    if (slot != nullptr) return slot;
    // Bidirectional's "forward/<var>" and "backward/<var>" take the wrapped layers' initializers.
    const size_t slash = var.rfind('/');
    const std::string base = slash == std::string::npos ? var : var.substr(slash + 1);
    const LayerConfig* owner = &layer;
    std::optional<LayerConfig> inner;
    // MultiHeadAttention's "query/kernel", ... take its own initializers.
    if (slash != std::string::npos && layer.class_name() != "MultiHeadAttention") {
      const char* key = var.compare(0, slash, "backward") == 0 && layer.Has("backward_layer")
                            ? "backward_layer"
                            : "layer";
      const Json* wrapped = layer.Find(key);
      if (wrapped == nullptr || !wrapped->is_object() || !wrapped->contains("config") ||
          !(*wrapped)["config"].is_object()) {
        return layer.Error(StatusCode::kInvalidModel, "'%s' has no config", key);
      }
      inner.emplace(&(*wrapped)["config"], layer.name(), LayerClass(*wrapped));
      owner = &*inner;
    }
    const VarInit* init = nullptr;
    for (const VarInit& v : kVarInits) {
      if (base == v.var) init = &v;
    }
    if (init == nullptr) {
      return layer.Error(StatusCode::kUnsupported, "no initializer known for variable '%s'",
                         var.c_str());
    }
    InitializerSpec spec;
    const Json* given = owner->Find(init->key);
    if (given != nullptr) {
      EDGEOPT_ASSIGN_OR_RETURN(spec, ParseInitializer(given, *owner));
    } else {
      spec.name = init->fallback;
      if (base == "scale" && owner->class_name() == "AdditiveAttention")
        spec.name = "glorot_uniform";
    }
    Rng rng(Hash(layer.name() + "/" + var, 0xcbf29ce484222325ULL ^ seed_));
    EDGEOPT_ASSIGN_OR_RETURN(std::vector<float> values, Initialize(spec, shape, &rng, *owner));
    if (base == "bias" && owner->class_name() == "LSTM" && shape.size() == 1 &&
        shape[0] % 4 == 0) {  // also a Bidirectional's LSTM
      EDGEOPT_ASSIGN_OR_RETURN(bool forget_bias, owner->BoolOr("unit_forget_bias", true));
      if (forget_bias) {
        const int64_t units = shape[0] / 4;
        for (int64_t i = units; i < 2 * units; ++i) values[i] = 1.0f;
      }
    }
    NpyArray array;
    array.dtype = DType::kFloat32;
    array.shape = shape;
    array.data.resize(values.size() * sizeof(float));
    if (!values.empty()) std::memcpy(array.data.data(), values.data(), array.data.size());
    // Store in the model (per layer, in creation order).
    LayerWeights* lw = nullptr;
    for (LayerWeights& w : model_->weights) {
      if (w.layer == layer.name()) lw = &w;
    }
    if (lw == nullptr) {
      model_->weights.push_back(LayerWeights{layer.name(), {}});
      lw = &model_->weights.back();
    }
    lw->vars.emplace_back(var, std::move(array));
    // Pointers into model_->weights move as it grows: keep a private copy for the builder.
    owned_.push_back(std::make_unique<NpyArray>(lw->vars.back().second));
    slot = owned_.back().get();
    return slot;
  }

  // A Normalization before adapt() also has Keras's `count` (an int64 scalar, 0), which it keeps
  // only for older saved models: without it a saved .keras would hold two of its three variables,
  // and neither Keras nor edgeopt could tell which is which.
  Status FinishLayer(const LayerConfig& layer, const std::vector<std::string>& used) override {
    if (layer.class_name() != "Normalization") return Status::Ok();
    for (const std::string& var : used) {
      if (var != "count" || arrays_[layer.name()].count(var) != 0) continue;
      NpyArray count;
      count.dtype = DType::kInt64;
      count.data.assign(sizeof(int64_t), 0);
      for (LayerWeights& w : model_->weights) {
        if (w.layer == layer.name()) w.vars.emplace_back(var, std::move(count));
      }
    }
    return Status::Ok();
  }

 private:
  uint64_t seed_;
  KerasModel* model_;
  std::map<std::string, std::map<std::string, const NpyArray*>> arrays_;
  std::vector<std::unique_ptr<NpyArray>> owned_;
};

}  // namespace

StatusOr<KerasModel> ModelFromConfig(const nlohmann::json& config, uint64_t seed) {
  KerasModel model;
  model.config = config;
  ResolveRnnCells(&model.config);
  EDGEOPT_RETURN_IF_ERROR(ValidateModelConfig(model.config, "model config"));
  model.source_path = "(config)";
  if (config.contains("keras_version") && config["keras_version"].is_string()) {
    model.keras_version = config["keras_version"].get<std::string>();
  }
  InitWeightSource source(seed, &model);
  GraphBuilder builder(BuildOptions{}, &source, model.keras_version);
  EDGEOPT_RETURN_IF_ERROR(builder.Build(model.config));
  return model;
}

StatusOr<KerasModel> ModelFromConfigFile(const std::string& path, uint64_t seed) {
  EDGEOPT_ENSURE(FileExists(path), StatusCode::kNotFound, "%s: no such file", path.c_str());
  EDGEOPT_ASSIGN_OR_RETURN(std::vector<uint8_t> bytes, ReadFileBytes(path, size_t{64} << 20));
  const nlohmann::json config =
      nlohmann::json::parse(bytes.begin(), bytes.end(), nullptr, /*allow_exceptions=*/false);
  EDGEOPT_ENSURE(!config.is_discarded(), StatusCode::kInvalidArgument, "%s: not valid JSON",
                 path.c_str());
  StatusOr<KerasModel> model = ModelFromConfig(config, seed);
  if (!model.ok()) return model.status().WithPrefix(path);
  model->source_path = path;
  return model;
}

}  // namespace keras
}  // namespace edgeopt
