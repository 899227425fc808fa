// edgeopt inspect for Keras files: layers, shapes, parameters, and what converts to what.
#include <string>

#include "tools/cli/cli_util.h"
#include "tools/cli/commands.h"

namespace edgeopt {
namespace cli {

int InspectKeras(const std::string& path) {
  return ReportError("inspect", MakeStatus(StatusCode::kUnsupported,
                                           "%s: Keras files are not supported yet", path.c_str()));
}

}  // namespace cli
}  // namespace edgeopt
