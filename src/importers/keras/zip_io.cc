#include "src/importers/keras/zip_io.h"

#include "src/util/zip.h"

namespace edgeopt {
namespace keras {

StatusOr<std::map<std::string, std::vector<uint8_t>>> ReadZipEntries(const std::string& path,
                                                                     size_t max_entry_bytes) {
  auto zip = ZipReader::OpenFile(path);
  if (!zip.ok()) return Status(StatusCode::kInvalidModel, zip.status().message());
  std::map<std::string, std::vector<uint8_t>> entries;
  for (const ZipReader::Entry& e : zip->entries()) {
    if (!e.name.empty() && e.name.back() == '/') continue;  // a directory
    auto bytes = zip->Read(e.name, max_entry_bytes);
    if (!bytes.ok()) return Status(StatusCode::kInvalidModel, bytes.status().message());
    entries[e.name] = std::move(bytes).value();
  }
  return entries;
}

StatusOr<std::vector<uint8_t>> BuildZip(
    const std::vector<std::pair<std::string, std::vector<uint8_t>>>& entries) {
  ZipWriter writer;
  for (const auto& [name, bytes] : entries) {
    EDGEOPT_RETURN_IF_ERROR(writer.Add(name, bytes.data(), bytes.size(), /*store=*/true));
  }
  return writer.Finish();
}

}  // namespace keras
}  // namespace edgeopt
