// The .npz half of src/util/npy.h, on edgeopt's own zip reader/writer (src/util/zip.h, zlib).
// Kept apart from npy.cc so that the .npy code builds without zlib, for the runtime-only tools
// and tests (library edgeopt_io).
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "src/util/npy.h"
#include "src/util/zip.h"

namespace edgeopt {

StatusOr<std::map<std::string, NpyArray>> ReadNpz(const std::string& path) {
  auto archive = ZipReader::OpenFile(path);
  if (!archive.ok()) return archive.status();
  std::map<std::string, NpyArray> arrays;
  for (const ZipReader::Entry& entry : archive.value().entries()) {
    const std::string& name = entry.name;
    if (name.size() < 4 || name.compare(name.size() - 4, 4, ".npy") != 0) continue;
    auto bytes = archive.value().Read(name, uint64_t{1} << 34);
    if (!bytes.ok()) return bytes.status();
    auto parsed = ParseNpy(bytes.value().data(), bytes.value().size(), path + ":" + name);
    if (!parsed.ok()) return parsed.status();
    arrays[name.substr(0, name.size() - 4)] = std::move(parsed).value();
  }
  return arrays;
}

Status WriteNpz(const std::string& path, const std::map<std::string, NpyArray>& arrays) {
  ZipWriter writer;
  for (const auto& [name, array] : arrays) {
    const std::vector<uint8_t> npy = EncodeNpy(array);
    Status added = writer.Add(name + ".npy", npy.data(), npy.size());
    if (!added.ok()) {
      return MakeStatus(StatusCode::kIoError, "%s: cannot add %s: %s", path.c_str(), name.c_str(),
                        added.message().c_str());
    }
  }
  return writer.WriteFile(path);
}

}  // namespace edgeopt
