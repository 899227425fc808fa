#include "tools/cli/train_model_io.h"

#include <string>

#include "src/export/tflite/export.h"
#include "src/importers/keras/keras_config.h"
#include "src/importers/keras/keras_model.h"
#include "src/importers/keras/layers/layer_registry.h"
#include "src/passes/model_loader.h"
#include "src/passes/pipeline.h"
#include "src/passes/prune/prune_plan.h"
#include "src/passes/prune/sparse_encode.h"
#include "src/report/evaluate.h"
#include "src/train/presets.h"
#include "src/util/file_util.h"
#include "src/util/zip.h"

namespace edgeopt {
namespace cli {
namespace {

keras::KerasModel* Keras(const TrainModel& m) {
  return static_cast<keras::KerasModel*>(m.keras.get());
}

// The graph as `edgeopt convert` writes it: the export passes drop DROPOUT, fold BATCH_NORM into
// the preceding convolution or dense layer (inference form, moving statistics) and fuse
// activations.
StatusOr<ir::Graph> InferenceGraph(const ir::Graph& training_graph, const std::string& path) {
  ir::Graph g = training_graph;
  Status s = passes::PrepareForExport(&g);
  if (!s.ok()) {
    return MakeStatus(s.code(), "%s: %s (save the model as .keras instead)", path.c_str(),
                      s.message().c_str());
  }
  return g;
}

StatusOr<TrainModel> FromKeras(keras::KerasModel model, const std::string& description) {
  TrainModel m;
  keras::BuildOptions options;
  options.input_augmentations = &m.augmentations;
  EDGEOPT_ASSIGN_OR_RETURN(m.graph, keras::BuildGraph(model, options));
  m.description = description;
  std::vector<keras::LayerEntry> layers;
  if (keras::ListLayers(model.config, &layers).ok()) {
    for (const keras::LayerEntry& e : layers) {
      const keras::LayerMapping* mapping = keras::FindLayerMapping(e.class_name);
      const std::string name = e.name + " (" + e.class_name + ")";
      bool applied = false;
      for (const data::ImageAugmentation& a : m.augmentations) applied = applied || a.layer == name;
      if (mapping != nullptr && mapping->convert == keras::ConvertInferenceIdentity && !applied) {
        m.training_only_layers.push_back(name);
      }
    }
  }
  m.compiled_loss = model.compiled_loss;
  m.keras = std::make_shared<keras::KerasModel>(std::move(model));
  return m;
}

}  // namespace

namespace {

// The single value of a scalar constant (dequantized when integer), or NaN.
double ScalarValue(const ir::Tensor& t) {
  if (!t.is_constant || t.NumElements() != 1) return std::nan("");
  if (t.dtype == DType::kFloat32) return t.DataAs<float>()[0];
  if ((t.dtype != DType::kInt8 && t.dtype != DType::kUInt8) || t.quant.scale.empty()) {
    return std::nan("");
  }
  const double q = t.dtype == DType::kInt8 ? t.DataAs<int8_t>()[0] : t.DataAs<uint8_t>()[0];
  return t.quant.scale[0] * (q - (t.quant.zero_point.empty() ? 0 : t.quant.zero_point[0]));
}

}  // namespace

bool RescalesItsInput(const ir::Graph& g, std::string* how) {
  if (g.inputs.size() != 1) return false;
  int t = g.inputs[0];
  for (int hop = 0; hop < 2; ++hop) {
    const std::vector<int> readers = g.Consumers(t);
    if (readers.size() != 1) return false;
    const ir::Node& n = g.nodes[readers[0]];
    if (n.op == "QUANTIZE" && hop == 0) {
      t = n.outputs[0];
      continue;
    }
    if ((n.op != "MUL" && n.op != "DIV") || n.inputs.size() != 2) return false;
    const int other = n.inputs[0] == t ? n.inputs[1] : n.inputs[0];
    const double v = ScalarValue(g.tensors[other]);
    const bool rescales = n.op == "MUL" ? v > 0.0 && v <= 0.01 : n.inputs[1] == other && v >= 100;
    if (rescales && how != nullptr) {
      char buf[64];
      std::snprintf(buf, sizeof(buf), "%s by %g", n.op.c_str(), v);
      *how = buf;
    }
    return rescales;
  }
  return false;
}

TrainFlags WithModelInput(const TrainFlags& flags, const ir::Graph& graph,
                          const std::string& what) {
  TrainFlags f = flags;
  std::string how;
  f.raw_pixels = flags.pixels == "raw" || (flags.pixels == "auto" && RescalesItsInput(graph, &how));
  if (graph.inputs.size() == 1) {
    const std::vector<int32_t>& shape = graph.tensors[graph.inputs[0]].shape;
    if (shape.size() == 4 && shape[1] > 0 && shape[2] > 0 && (shape[3] == 1 || shape[3] == 3)) {
      f.image_height = shape[1];
      f.image_width = shape[2];
      f.image_channels = shape[3];
    }
  }
  if (f.raw_pixels && !how.empty() && !flags.quiet) {
    std::fprintf(stderr,
                 "note: %s rescales its input itself (%s first): 8-bit pixels (images, IDX, "
                 "fashion-mnist, uint8 arrays) are fed as 0..255, as Keras's "
                 "image_dataset_from_directory gives them (--pixels unit feeds x / 255)\n",
                 what.c_str(), how.c_str());
  }
  return f;
}

StatusOr<train::TrainOptions> MakeModelTrainOptions(const TrainFlags& flags,
                                                    const TrainModel& model) {
  EDGEOPT_ASSIGN_OR_RETURN(train::TrainOptions options,
                           MakeTrainOptions(flags, model.default_batch_size, model.compiled_loss));
  // The model's own layers first, as they sit at its input; then --augment.
  options.augment.layers = model.augmentations;
  return options;
}

StatusOr<TrainModel> LoadModelForTraining(const std::string& path, const std::string& preset,
                                          uint64_t seed) {
  EDGEOPT_ENSURE(path.empty() != preset.empty(), StatusCode::kInvalidArgument,
                 "give either a model file or --preset NAME");
  if (!preset.empty()) {
    EDGEOPT_ASSIGN_OR_RETURN(nlohmann::json config, train::PresetKerasConfig(preset));
    EDGEOPT_ASSIGN_OR_RETURN(keras::KerasModel model, keras::ModelFromConfig(config, seed));
    EDGEOPT_ASSIGN_OR_RETURN(TrainModel m, FromKeras(std::move(model), "preset " + preset));
    m.default_batch_size = 64;
    return m;
  }
  EDGEOPT_ENSURE(FileExists(path), StatusCode::kNotFound, "%s: no such file", path.c_str());
  if (FileExtension(path) == ".json") {
    EDGEOPT_ASSIGN_OR_RETURN(keras::KerasModel model, keras::ModelFromConfigFile(path, seed));
    return FromKeras(std::move(model), path);
  }
  EDGEOPT_ASSIGN_OR_RETURN(keras::KerasModel model, keras::LoadKerasFile(path));
  return FromKeras(std::move(model), path);
}

StatusOr<TrainModel> TrainModelFromKerasConfig(const nlohmann::json& config, uint64_t seed,
                                               const std::string& description) {
  EDGEOPT_ASSIGN_OR_RETURN(keras::KerasModel model, keras::ModelFromConfig(config, seed));
  return FromKeras(std::move(model), description);
}

StatusOr<std::vector<uint8_t>> TfliteBytes(const ir::Graph& training_graph, bool sparse) {
  ir::Graph g = training_graph;
  EDGEOPT_RETURN_IF_ERROR(passes::PrepareForExport(&g));
  if (sparse) EDGEOPT_RETURN_IF_ERROR(prune::EncodeSparseWeights(&g).status());
  return ExportTflite(g);
}

StatusOr<OneShotTflite> LoadOneShotTflite(const std::string& path, const std::string& output,
                                          bool one_shot, const char* verb, const char* past) {
  EDGEOPT_ENSURE(one_shot, StatusCode::kInvalidArgument,
                 "%s: a .tflite is %s without fine-tuning; give --one-shot (fine-tuning needs "
                 "the Keras model)",
                 path.c_str(), past);
  EDGEOPT_ENSURE(FileExtension(output) == ".tflite", StatusCode::kInvalidArgument,
                 "%s: a .tflite input gives a .tflite output", output.c_str());
  OneShotTflite in;
  EDGEOPT_ASSIGN_OR_RETURN(in.original, ReadFileBytes(path));
  EDGEOPT_ASSIGN_OR_RETURN(passes::LoadedGraph loaded, passes::LoadModelGraph(path));
  EDGEOPT_ENSURE(!loaded.quantized, StatusCode::kInvalidArgument,
                 "%s: the model is quantized; %s its float model, then quantize it", path.c_str(),
                 verb);
  in.graph = std::move(loaded.graph);
  return in;
}

StatusOr<CompressionSummary> FinishOneShotTflite(const OneShotTflite& in,
                                                 const ir::Graph& rewritten,
                                                 const std::string& data_spec,
                                                 const std::string& test_spec, int64_t test_samples,
                                                 const TrainFlags& flags,
                                                 const std::string& output) {
  FineTuneData data;
  EDGEOPT_RETURN_IF_ERROR(LoadFineTuneData(data_spec, test_spec, false, 0, test_samples,
                                           WithModelInput(flags, in.graph, "the model"), &data));
  EDGEOPT_ASSIGN_OR_RETURN(std::vector<uint8_t> tflite, ExportTflite(rewritten));
  CompressionSummary r;
  r.evaluated = data.test.size > 0;
  if (r.evaluated) {
    report::EvalOptions eo;
    eo.threads = flags.threads;
    eo.progress = !flags.quiet;
    EDGEOPT_ASSIGN_OR_RETURN(train::EvalResult before,
                             report::EvaluateTfliteBytes(in.original, data.test, eo));
    EDGEOPT_ASSIGN_OR_RETURN(train::EvalResult after,
                             report::EvaluateTfliteBytes(tflite, data.test, eo));
    r.before = before.accuracy;
    r.after = after.accuracy;
    r.test_name = data.test.name;
    r.test_size = data.test.size;
  }
  EDGEOPT_RETURN_IF_ERROR(WriteFileAtomic(output, tflite));
  r.output = output;
  r.tflite = r.bytes = tflite.size();
  EDGEOPT_ASSIGN_OR_RETURN(r.zipped, ZippedSize("model.tflite", tflite));
  r.original_tflite = in.original.size();
  EDGEOPT_ASSIGN_OR_RETURN(r.original_zipped, ZippedSize("model.tflite", in.original));
  return r;
}

keras::KerasModel* KerasModelOf(TrainModel* model) { return Keras(*model); }

Status ApplyTrainableFlags(TrainModel* model, const TrainFlags& flags) {
  if (flags.freeze.empty() && flags.unfreeze.empty()) return Status::Ok();
  keras::KerasModel* k = Keras(*model);
  EDGEOPT_ENSURE(k != nullptr, StatusCode::kInvalidArgument,
                 "%s: --freeze / --unfreeze need a Keras model", model->description.c_str());
  EDGEOPT_RETURN_IF_ERROR(keras::SetTrainable(k, prune::SplitNames(flags.unfreeze), true));
  EDGEOPT_RETURN_IF_ERROR(keras::SetTrainable(k, prune::SplitNames(flags.freeze), false));
  return RebuildGraph(model);
}

Status ApplyTrainableFlags(ir::Graph* graph, const TrainFlags& flags, const std::string& path) {
  for (const auto& [text, frozen] :
       {std::make_pair(flags.unfreeze, false), std::make_pair(flags.freeze, true)}) {
    for (const std::string& pattern : prune::SplitNames(text)) {
      bool any = false;
      for (ir::Tensor& t : graph->tensors) {
        const size_t slash = t.origin.find('/');
        if (!t.is_constant || slash == std::string::npos) continue;
        if (!keras::LayerNameMatches(pattern, t.origin.substr(0, slash))) continue;
        t.frozen = frozen;
        any = true;
      }
      EDGEOPT_ENSURE(any, StatusCode::kNotFound,
                     "%s: no layer with weights is named '%s' (a name, a prefix ending in '*', or "
                     "all)",
                     path.c_str(), pattern.c_str());
    }
  }
  return Status::Ok();
}

std::set<int> ShapeKeepingWeights(TrainModel& model) {
  std::set<int> out;
  const keras::KerasModel* k = Keras(model);
  if (k == nullptr) return out;
  for (size_t t = 0; t < model.graph.tensors.size(); ++t) {
    const std::string& origin = model.graph.tensors[t].origin;
    const size_t slash = origin.find('/');
    if (slash == std::string::npos) continue;
    const nlohmann::json* layer = keras::FindLayerJson(k->config, origin.substr(0, slash));
    if (layer != nullptr && keras::KeepsVariableShapes(keras::LayerClass(*layer))) {
      out.insert(static_cast<int>(t));
    }
  }
  return out;
}

int64_t FrozenWeightCount(const ir::Graph& graph) {
  int64_t n = 0;
  for (const ir::Tensor& t : graph.tensors) {
    // Keras weights (with an origin), not the constants of a model's computation.
    if (t.frozen && t.is_constant && t.dtype == DType::kFloat32 && !t.origin.empty()) {
      n += t.NumElements();
    }
  }
  return n;
}

Status RebuildGraph(TrainModel* model) {
  EDGEOPT_ENSURE(model->keras != nullptr, StatusCode::kInternal, "%s: no Keras model",
                 model->description.c_str());
  EDGEOPT_ASSIGN_OR_RETURN(model->graph, keras::BuildGraph(*Keras(*model)));
  return Status::Ok();
}

Status CheckOutputPath(const TrainModel& model, const std::string& path) {
  const std::string ext = FileExtension(path);
  if (ext == ".tflite") return InferenceGraph(model.graph, path).status();
  if (ext == ".keras" || ext == ".h5") {
    EDGEOPT_ENSURE(model.keras != nullptr, StatusCode::kInternal, "%s: no Keras model",
                   path.c_str());
    return Status::Ok();
  }
  return MakeStatus(StatusCode::kInvalidArgument,
                    "%s: unknown output format (expected .keras, .h5 or .tflite)", path.c_str());
}

Status SaveTrainedModel(TrainModel* model, const train::Engine& engine, const std::string& path) {
  EDGEOPT_RETURN_IF_ERROR(CheckOutputPath(*model, path));
  EDGEOPT_RETURN_IF_ERROR(engine.ExportWeights(&model->graph));
  const std::string ext = FileExtension(path);
  if (ext == ".tflite") {
    EDGEOPT_ASSIGN_OR_RETURN(ir::Graph g, InferenceGraph(model->graph, path));
    return WriteTfliteFile(g, path);
  }
  EDGEOPT_RETURN_IF_ERROR(keras::UpdateFromGraph(Keras(*model), model->graph));
  return keras::SaveKerasFile(*Keras(*model), path);
}

}  // namespace cli
}  // namespace edgeopt
