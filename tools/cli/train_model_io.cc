#include "tools/cli/train_model_io.h"

#include "src/export/tflite/export.h"
#include "src/train/presets.h"
#include "src/util/file_util.h"

namespace edgeopt {
namespace cli {

StatusOr<TrainModel> LoadModelForTraining(const std::string& path, const std::string& preset,
                                          uint64_t seed) {
  EDGEOPT_ENSURE(path.empty() != preset.empty(), StatusCode::kInvalidArgument,
                 "give either a model file or --preset NAME");
  TrainModel m;
  if (!preset.empty()) {
    EDGEOPT_ASSIGN_OR_RETURN(m.graph, train::BuildPresetGraph(preset, seed));
    m.description = "preset " + preset;
    m.default_batch_size = 64;
    return m;
  }
  EDGEOPT_ENSURE(FileExists(path), StatusCode::kNotFound, "%s: no such file", path.c_str());
  return MakeStatus(StatusCode::kUnsupported,
                    "%s: loading Keras models needs the Keras importer, which "
                    "this build does "
                    "not have yet",
                    path.c_str());
}

Status CheckOutputPath(const TrainModel& model, const std::string& path) {
  const std::string ext = FileExtension(path);
  if (ext == ".tflite") {
    for (const ir::Node& n : model.graph.nodes) {
      EDGEOPT_ENSURE(!ir::IsToolkitOp(n.op), StatusCode::kUnsupported,
                     "%s: the model has %s layers; save it as .keras and convert it", path.c_str(),
                     n.op.c_str());
    }
    return Status::Ok();
  }
  if (ext == ".keras" || ext == ".h5") {
    return MakeStatus(StatusCode::kUnsupported,
                      "%s: saving Keras files needs the Keras writer, which "
                      "this build does not "
                      "have yet (use -o MODEL.tflite)",
                      path.c_str());
  }
  return MakeStatus(StatusCode::kInvalidArgument,
                    "%s: unknown output format (expected .keras, .h5 or .tflite)", path.c_str());
}

Status SaveTrainedModel(TrainModel* model, const train::Engine& engine, const std::string& path) {
  EDGEOPT_RETURN_IF_ERROR(CheckOutputPath(*model, path));
  EDGEOPT_RETURN_IF_ERROR(engine.ExportWeights(&model->graph));
  return WriteTfliteFile(model->graph, path);
}

}  // namespace cli
}  // namespace edgeopt
