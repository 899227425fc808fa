#include "src/passes/model_loader.h"

#include "src/importers/keras/graph_builder.h"
#include "src/importers/keras/keras_model.h"
#include "src/importers/tflite/import.h"
#include "src/passes/pipeline.h"
#include "src/util/file_util.h"

namespace edgeopt {
namespace passes {

bool IsQuantizedGraph(const ir::Graph& graph) {
  for (const ir::Tensor& t : graph.tensors) {
    if (!t.quant.empty() && DTypeIsQuantizedInt(t.dtype)) return true;
    if (t.is_constant && t.dtype == DType::kFloat16) return true;
  }
  return false;
}

StatusOr<LoadedGraph> LoadModelGraph(const std::string& path, int batch_size, bool unroll_lstm) {
  LoadedGraph loaded;
  const std::string ext = FileExtension(path);
  if (ext == ".tflite") {
    EDGEOPT_ASSIGN_OR_RETURN(loaded.graph, ImportTfliteFile(path));
  } else if (ext == ".h5" || ext == ".hdf5" || ext == ".keras" || ext == ".json") {
    // A .json architecture gets Keras's initial weights (seed 0): an untrained model.
    EDGEOPT_ASSIGN_OR_RETURN(keras::KerasModel model, ext == ".json"
                                                          ? keras::ModelFromConfigFile(path, 0)
                                                          : keras::LoadKerasFile(path));
    keras::BuildOptions options;
    options.batch_size = batch_size;
    options.unroll_lstm = unroll_lstm;
    options.input_augmentations = &loaded.augmentations;
    loaded.compiled_loss = model.compiled_loss;
    std::vector<keras::LayerRecord> records;
    auto graph = keras::BuildGraphWithRecords(model, options, &records);
    if (!graph.ok()) return graph.status().WithPrefix(path);
    for (const keras::LayerRecord& r : records) loaded.lstm_layers += r.class_name == "LSTM";
    loaded.graph = std::move(graph).value();
    Status s = PrepareForExport(&loaded.graph);
    if (!s.ok()) return s.WithPrefix(path);
    loaded.from_keras = true;
  } else {
    return MakeStatus(
        StatusCode::kInvalidArgument,
        "%s: unknown model type '%s' (expected .h5, .keras, .tflite or a .json architecture)",
        path.c_str(), ext.c_str());
  }
  loaded.quantized = IsQuantizedGraph(loaded.graph);
  return loaded;
}

}  // namespace passes
}  // namespace edgeopt
