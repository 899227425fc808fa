// IR -> .tflite: the writer. Builtin options from node attributes, op versions the official
// TFLite 2.9 runtime accepts (the lowest version each node needs), a "min_runtime_version"
// metadata entry, and a serving_default signature named after the graph's input/output names.
#ifndef EDGEOPT_SRC_EXPORT_TFLITE_EXPORT_H_
#define EDGEOPT_SRC_EXPORT_TFLITE_EXPORT_H_

#include <cstdint>
#include <string>
#include <vector>

#include "src/ir/graph.h"

namespace edgeopt {

struct TfliteExportOptions {
  std::string signature_key = "serving_default";
  bool add_min_runtime_version = true;
  // Keep versions set on nodes (round trip); otherwise the exporter computes them.
  bool keep_node_versions = false;
};

StatusOr<std::vector<uint8_t>> ExportTflite(const ir::Graph& graph,
                                            const TfliteExportOptions& options = {});
// Writes atomically (temporary file + rename): no half-written file on error.
Status WriteTfliteFile(const ir::Graph& graph, const std::string& path,
                       const TfliteExportOptions& options = {});

}  // namespace edgeopt

#endif  // EDGEOPT_SRC_EXPORT_TFLITE_EXPORT_H_
