#include "tools/cli/cli_util.h"

#include <cstdio>

namespace edgeopt {
namespace cli {

int ReportError(const char* command, const Status& status) {
  std::fprintf(stderr, "edgeopt %s: error: %s\n", command, status.message().c_str());
  return kExitFailure;
}

StatusOr<LoadedModel> LoadTflite(const std::string& path, const rt::InterpreterOptions& options) {
  LoadedModel m;
  auto file = MappedFile::Open(path);
  if (!file.ok()) return file.status();
  m.file = std::move(file).value();
  rt::InterpreterOptions mapped = options;
  mapped.release_constant_pages = m.file->is_mapping();
  auto interp = rt::Interpreter::Create(m.file->data(), m.file->size(), mapped);
  if (!interp.ok()) return interp.status().WithPrefix(path);
  m.interpreter = std::move(interp).value();
  return m;
}

std::string DimsString(const rt::Dims& dims) {
  std::string s = "[";
  for (int i = 0; i < dims.size; ++i) {
    if (i > 0) s += ",";
    s += std::to_string(dims[i]);
  }
  return s + "]";
}

}  // namespace cli
}  // namespace edgeopt
