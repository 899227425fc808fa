// edgeopt ir MODEL.tflite [--values]: the model as IR text (src/ir/text.h), for
// debugging the importer and the passes. --values prints every constant's
// values (default: small ones only).
#include <cstdio>
#include <string>

#include "CLI/CLI.hpp"
#include "src/export/tflite/export.h"
#include "src/importers/tflite/import.h"
#include "src/ir/text.h"
#include "tools/cli/cli_util.h"
#include "tools/cli/commands.h"

namespace edgeopt {
namespace cli {

int RunIr(int argc, char** argv) {
  CLI::App app{"Print a .tflite model as edgeopt IR text."};
  std::string model;
  bool values = false;
  std::string out;
  app.add_option("model", model, "the .tflite file")->required();
  app.add_flag("--values", values, "print the values of every constant");
  app.add_option("-o,--output", out,
                 "also write the IR back to a .tflite (exporter round trip, "
                 "versions kept)");
  EDGEOPT_CLI_PARSE(app, argc, argv);
  StatusOr<ir::Graph> graph = ImportTfliteFile(model);
  if (!graph.ok()) return ReportError("ir", graph.status());
  ir::TextOptions options;
  options.include_all_values = values;
  const std::string text = ir::PrintGraph(*graph, options);
  std::fwrite(text.data(), 1, text.size(), stdout);
  if (!out.empty()) {
    TfliteExportOptions export_options;
    export_options.keep_node_versions = true;
    Status written = WriteTfliteFile(*graph, out, export_options);
    if (!written.ok()) return ReportError("ir", written.WithPrefix(out));
  }
  return kExitOk;
}

}  // namespace cli
}  // namespace edgeopt
