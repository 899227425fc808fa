// The .npz half of src/util/npy.h (libzip). Kept apart from npy.cc so that the .npy code builds
// without libzip, for the runtime-only tools and tests (library edgeopt_io).
#include <zip.h>

#include <cstdio>
#include <map>
#include <string>
#include <vector>

#include "src/util/npy.h"

namespace edgeopt {

StatusOr<std::map<std::string, NpyArray>> ReadNpz(const std::string& path) {
  int error = 0;
  zip_t* archive = zip_open(path.c_str(), ZIP_RDONLY, &error);
  if (archive == nullptr) {
    return MakeStatus(StatusCode::kInvalidArgument, "%s: not a readable .npz (zip) file",
                      path.c_str());
  }
  std::map<std::string, NpyArray> arrays;
  const zip_int64_t n = zip_get_num_entries(archive, 0);
  for (zip_int64_t i = 0; i < n; ++i) {
    zip_stat_t st;
    if (zip_stat_index(archive, i, 0, &st) != 0 || !(st.valid & ZIP_STAT_SIZE) ||
        !(st.valid & ZIP_STAT_NAME)) {
      zip_close(archive);
      return MakeStatus(StatusCode::kInvalidArgument, "%s: unreadable zip entry %lld", path.c_str(),
                        static_cast<long long>(i));
    }
    std::string name = st.name;
    if (name.size() < 4 || name.compare(name.size() - 4, 4, ".npy") != 0) continue;
    if (st.size > (uint64_t{1} << 34)) {
      zip_close(archive);
      return MakeStatus(StatusCode::kInvalidArgument, "%s: entry %s is too large", path.c_str(),
                        name.c_str());
    }
    std::vector<uint8_t> bytes(static_cast<size_t>(st.size));
    zip_file_t* f = zip_fopen_index(archive, i, 0);
    const zip_int64_t got =
        f != nullptr ? zip_fread(f, bytes.data(), bytes.size()) : static_cast<zip_int64_t>(-1);
    if (f != nullptr) zip_fclose(f);
    if (got != static_cast<zip_int64_t>(bytes.size())) {
      zip_close(archive);
      return MakeStatus(StatusCode::kInvalidArgument, "%s: cannot read entry %s", path.c_str(),
                        name.c_str());
    }
    auto parsed = ParseNpy(bytes.data(), bytes.size(), path + ":" + name);
    if (!parsed.ok()) {
      zip_close(archive);
      return parsed.status();
    }
    arrays[name.substr(0, name.size() - 4)] = std::move(parsed).value();
  }
  zip_close(archive);
  return arrays;
}

Status WriteNpz(const std::string& path, const std::map<std::string, NpyArray>& arrays) {
  const std::string tmp = path + ".tmp";
  int error = 0;
  zip_t* archive = zip_open(tmp.c_str(), ZIP_CREATE | ZIP_TRUNCATE, &error);
  if (archive == nullptr) {
    return MakeStatus(StatusCode::kIoError, "%s: cannot create", path.c_str());
  }
  std::vector<std::vector<uint8_t>> keep;  // libzip reads the sources at zip_close
  keep.reserve(arrays.size());
  for (const auto& [name, array] : arrays) {
    keep.push_back(EncodeNpy(array));
    zip_source_t* src = zip_source_buffer(archive, keep.back().data(), keep.back().size(), 0);
    if (src == nullptr ||
        zip_file_add(archive, (name + ".npy").c_str(), src, ZIP_FL_OVERWRITE) < 0) {
      if (src != nullptr) zip_source_free(src);
      zip_discard(archive);
      std::remove(tmp.c_str());
      return MakeStatus(StatusCode::kIoError, "%s: cannot add %s", path.c_str(), name.c_str());
    }
  }
  if (zip_close(archive) != 0) {
    zip_discard(archive);
    std::remove(tmp.c_str());
    return MakeStatus(StatusCode::kIoError, "%s: cannot write", path.c_str());
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0) {
    std::remove(tmp.c_str());
    return MakeStatus(StatusCode::kIoError, "%s: cannot write", path.c_str());
  }
  return Status::Ok();
}

}  // namespace edgeopt
