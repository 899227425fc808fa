#include "src/importers/keras/zip_io.h"

#include <zip.h>

#include <cstdio>

namespace edgeopt {
namespace keras {

StatusOr<std::map<std::string, std::vector<uint8_t>>> ReadZipEntries(const std::string& path,
                                                                     size_t max_entry_bytes) {
  int error = 0;
  zip_t* archive = zip_open(path.c_str(), ZIP_RDONLY, &error);
  if (archive == nullptr) {
    return MakeStatus(StatusCode::kInvalidModel, "%s: not a readable zip archive", path.c_str());
  }
  std::map<std::string, std::vector<uint8_t>> entries;
  const zip_int64_t n = zip_get_num_entries(archive, 0);
  Status status;
  for (zip_int64_t i = 0; i < n && status.ok(); ++i) {
    zip_stat_t st;
    if (zip_stat_index(archive, i, 0, &st) != 0 || !(st.valid & ZIP_STAT_SIZE) ||
        !(st.valid & ZIP_STAT_NAME)) {
      status = MakeStatus(StatusCode::kInvalidModel, "%s: unreadable zip entry %lld", path.c_str(),
                          static_cast<long long>(i));
      break;
    }
    const std::string name = st.name;
    if (!name.empty() && name.back() == '/') continue;  // a directory
    if (st.size > max_entry_bytes) {
      status = MakeStatus(StatusCode::kInvalidModel, "%s: entry %s is too large (%llu bytes)",
                          path.c_str(), name.c_str(), static_cast<unsigned long long>(st.size));
      break;
    }
    std::vector<uint8_t> bytes(static_cast<size_t>(st.size));
    zip_file_t* f = zip_fopen_index(archive, i, 0);
    const zip_int64_t got =
        f != nullptr ? zip_fread(f, bytes.data(), bytes.size()) : static_cast<zip_int64_t>(-1);
    if (f != nullptr) zip_fclose(f);
    if (got != static_cast<zip_int64_t>(bytes.size())) {
      status = MakeStatus(StatusCode::kInvalidModel, "%s: cannot read zip entry %s (corrupt?)",
                          path.c_str(), name.c_str());
      break;
    }
    entries[name] = std::move(bytes);
  }
  zip_discard(archive);
  if (!status.ok()) return status;
  return entries;
}

StatusOr<std::vector<uint8_t>> BuildZip(
    const std::vector<std::pair<std::string, std::vector<uint8_t>>>& entries) {
  zip_error_t error;
  zip_error_init(&error);
  zip_source_t* buffer = zip_source_buffer_create(nullptr, 0, 0, &error);
  if (buffer == nullptr) return MakeStatus(StatusCode::kIoError, "cannot create a zip buffer");
  zip_source_keep(buffer);
  zip_t* archive = zip_open_from_source(buffer, ZIP_TRUNCATE, &error);
  if (archive == nullptr) {
    zip_source_free(buffer);
    return MakeStatus(StatusCode::kIoError, "cannot create a zip archive");
  }
  for (const auto& [name, bytes] : entries) {
    zip_source_t* src = zip_source_buffer(archive, bytes.data(), bytes.size(), 0);
    const zip_int64_t index =
        src != nullptr ? zip_file_add(archive, name.c_str(), src, ZIP_FL_ENC_UTF_8) : -1;
    if (index < 0) {
      if (src != nullptr) zip_source_free(src);
      zip_discard(archive);
      zip_source_free(buffer);
      return MakeStatus(StatusCode::kIoError, "cannot add %s to a zip archive", name.c_str());
    }
    zip_set_file_compression(archive, static_cast<zip_uint64_t>(index), ZIP_CM_STORE, 0);
  }
  if (zip_close(archive) != 0) {
    zip_discard(archive);
    zip_source_free(buffer);
    return MakeStatus(StatusCode::kIoError, "cannot finish a zip archive");
  }
  std::vector<uint8_t> out;
  if (zip_source_open(buffer) < 0) {
    zip_source_free(buffer);
    return MakeStatus(StatusCode::kIoError, "cannot read back a zip archive");
  }
  zip_source_seek(buffer, 0, SEEK_END);
  const zip_int64_t size = zip_source_tell(buffer);
  zip_source_seek(buffer, 0, SEEK_SET);
  if (size > 0) {
    out.resize(static_cast<size_t>(size));
    if (zip_source_read(buffer, out.data(), out.size()) != size) out.clear();
  }
  zip_source_close(buffer);
  zip_source_free(buffer);
  if (out.empty()) return MakeStatus(StatusCode::kIoError, "cannot read back a zip archive");
  return out;
}

}  // namespace keras
}  // namespace edgeopt
