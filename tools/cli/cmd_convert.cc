// edgeopt convert MODEL.h5|MODEL.keras -o OUT.tflite [--sparse]
// edgeopt convert --weights W.h5 --config MODEL.json -o OUT.tflite
// Keras model -> IR (src/importers/keras) -> export passes
// (src/passes/pipeline.h) -> .tflite, written atomically. Prints a short
// summary: layers -> ops, size, time.
#include <chrono>
#include <cstdio>
#include <map>
#include <string>

#include "CLI/CLI.hpp"
#include "src/export/tflite/export.h"
#include "src/importers/keras/keras_model.h"
#include "src/passes/pipeline.h"
#include "src/passes/prune/sparse_encode.h"
#include "tools/cli/cli_util.h"
#include "tools/cli/commands.h"

namespace edgeopt {
namespace cli {
namespace {

double MsSince(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start)
      .count();
}

std::string OpCounts(const ir::Graph& graph) {
  std::map<std::string, int> counts;
  for (const ir::Node& n : graph.nodes) ++counts[n.op];
  std::string s;
  for (const auto& [op, n] : counts) {
    if (!s.empty()) s += ", ";
    s += op;
    if (n > 1) s += " x" + std::to_string(n);
  }
  return s;
}

int CountLayers(const nlohmann::json& model) {
  int n = 0;
  auto config = model.find("config");
  if (config == model.end()) return 0;
  const nlohmann::json* layers = nullptr;
  if (config->is_array()) {
    layers = &*config;
  } else if (config->is_object() && config->contains("layers") && (*config)["layers"].is_array()) {
    layers = &(*config)["layers"];
  }
  if (layers == nullptr) return 0;
  for (const auto& l : *layers) {
    const bool nested = l.is_object() && l.contains("class_name") && l["class_name"].is_string() &&
                        (l["class_name"] == "Sequential" || l["class_name"] == "Functional" ||
                         l["class_name"] == "Model");
    n += nested ? CountLayers(l) : 1;
  }
  return n;
}

// Adds the file name in front unless the message already names it.
Status Named(const Status& status, const std::string& file) {
  if (status.message().find(file) != std::string::npos) return status;
  return status.WithPrefix(file);
}

}  // namespace

int RunConvert(int argc, char** argv) {
  CLI::App app{
      "Convert a Keras model (.h5 or .keras, or a weights .h5 plus its config "
      "JSON) to "
      "TensorFlow Lite.",
      "edgeopt convert"};
  std::string model_path, weights_path, config_path, out;
  int batch = 1;
  bool sparse = false;
  app.add_option("model", model_path,
                 "a Keras .h5 or .keras file, or a model config .json (weights initialized as "
                 "Keras initializes them: an untrained model, to measure an architecture)");
  app.add_option("--weights", weights_path, "a weights-only .h5 (with --config)");
  app.add_option("--config", config_path,
                 "the model config JSON (model.to_json(), or config.json of a .keras)");
  app.add_option("-o,--output", out, "the .tflite to write")->required();
  app.add_option("--batch", batch, "static batch size of the inputs (default 1)");
  app.add_flag("--sparse", sparse,
               "store pruned weights in TFLite's sparse tensor encoding (FULLY_CONNECTED read "
               "directly, others through DENSIFY); dense by default");
  CLI11_PARSE(app, argc, argv);

  if (!model_path.empty() && !weights_path.empty()) {
    std::fprintf(stderr, "edgeopt convert: give a model file or --weights, not both\n");
    return kExitUsage;
  }
  if (!weights_path.empty() && config_path.empty()) {
    std::fprintf(stderr, "edgeopt convert: --weights needs --config\n");
    return kExitUsage;
  }
  if (model_path.empty() && weights_path.empty()) {
    std::fprintf(stderr, "edgeopt convert: give a model file (or --weights with --config)\n");
    return kExitUsage;
  }
  if (batch < 1) {
    std::fprintf(stderr, "edgeopt convert: --batch must be at least 1\n");
    return kExitUsage;
  }
  const std::string source = model_path.empty() ? weights_path : model_path;

  const auto start = std::chrono::steady_clock::now();
  const bool architecture = config_path.empty() && FileExtension(source) == ".json";
  StatusOr<keras::KerasModel> model = architecture ? keras::ModelFromConfigFile(source, 0)
                                      : config_path.empty()
                                          ? keras::LoadKerasFile(source)
                                          : keras::LoadKerasWeights(source, config_path);
  if (!model.ok()) return ReportError("convert", model.status());
  const double load_ms = MsSince(start);

  auto t = std::chrono::steady_clock::now();
  keras::BuildOptions options;
  options.batch_size = batch;
  StatusOr<ir::Graph> graph = keras::BuildGraph(*model, options);
  if (!graph.ok()) return ReportError("convert", Named(graph.status(), source));
  const double build_ms = MsSince(t);
  const size_t training_ops = graph->nodes.size();

  t = std::chrono::steady_clock::now();
  Status prepared = passes::PrepareForExport(&*graph);
  if (!prepared.ok()) return ReportError("convert", Named(prepared, source));
  std::vector<prune::EncodedWeight> encoded;
  if (sparse) {
    StatusOr<std::vector<prune::EncodedWeight>> e = prune::EncodeSparseWeights(&*graph);
    if (!e.ok()) return ReportError("convert", Named(e.status(), source));
    encoded = std::move(e).value();
  }
  const double passes_ms = MsSince(t);

  t = std::chrono::steady_clock::now();
  StatusOr<std::vector<uint8_t>> bytes = ExportTflite(*graph);
  if (!bytes.ok()) return ReportError("convert", Named(bytes.status(), source));
  Status written = WriteFileAtomic(out, *bytes);
  if (!written.ok()) return ReportError("convert", written);
  const double export_ms = MsSince(t);
  const double total_ms = MsSince(start);

  const std::string version = model->keras_version.empty() ? "?" : model->keras_version;
  std::string cls = "?";
  if (model->config.contains("class_name") && model->config["class_name"].is_string()) {
    cls = model->config["class_name"].get<std::string>();
  }
  std::printf("%s (Keras %s, %s, %d layers) -> %s\n", source.c_str(), version.c_str(), cls.c_str(),
              CountLayers(model->config), out.c_str());
  std::printf("  %zu ops (from %zu before the export passes): %s\n", graph->nodes.size(),
              training_ops, OpCounts(*graph).c_str());
  std::printf(
      "  %zu bytes, %.1f ms (load %.1f, build %.1f, passes %.1f, export "
      "%.1f)\n",
      bytes->size(), total_ms, load_ms, build_ms, passes_ms, export_ms);
  if (architecture) {
    std::printf(
        "  weights initialized as Keras initializes them (untrained): for measuring the "
        "architecture (edgeopt bench, compare)\n");
  }
  if (sparse) {
    std::printf("  sparse encoding: %zu weight(s)%s\n", encoded.size(),
                encoded.empty() ? " (no weight has enough zeros)" : "");
    for (const prune::EncodedWeight& e : encoded) {
      std::printf("    %-32s %-18s %-22s %9lld -> %9lld bytes%s\n", e.tensor.c_str(), e.op.c_str(),
                  e.layout.c_str(), static_cast<long long>(e.dense_bytes),
                  static_cast<long long>(e.sparse_bytes), e.densify ? " (DENSIFY)" : "");
    }
  }
  return kExitOk;
}

}  // namespace cli
}  // namespace edgeopt
