// Files: whole-file reads with a size bound, read-only mappings, and atomic writes (a temporary
// file in the same directory, renamed over the target, so no half-written output is left).
#ifndef EDGEOPT_SRC_UTIL_FILE_UTIL_H_
#define EDGEOPT_SRC_UTIL_FILE_UTIL_H_

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "include/edgeopt/status.h"

namespace edgeopt {

// 4 GiB, or all that a 32-bit size_t holds (size_t{4} << 30 is 0 on 32-bit Arm).
constexpr size_t kMaxInputFileBytes =
    static_cast<size_t>(std::min<uint64_t>(uint64_t{4} << 30, SIZE_MAX));

StatusOr<std::vector<uint8_t>> ReadFileBytes(const std::string& path,
                                             size_t max_bytes = kMaxInputFileBytes);

// A read-only memory mapping of a whole file (falls back to reading for empty files).
class MappedFile {
 public:
  static StatusOr<std::unique_ptr<MappedFile>> Open(const std::string& path);
  ~MappedFile();
  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;
  const uint8_t* data() const { return data_; }
  size_t size() const { return size_; }

 private:
  MappedFile() = default;
  const uint8_t* data_ = nullptr;
  size_t size_ = 0;
  void* mapping_ = nullptr;
};

// Writes `size` bytes to `path` through a temporary file and rename(2).
Status WriteFileAtomic(const std::string& path, const void* data, size_t size);
inline Status WriteFileAtomic(const std::string& path, const std::vector<uint8_t>& bytes) {
  return WriteFileAtomic(path, bytes.data(), bytes.size());
}

// Creates a directory and its parents (like mkdir -p).
Status MakeDirectories(const std::string& path);
bool FileExists(const std::string& path);
bool IsDirectory(const std::string& path);
// Lowercase extension with the dot (".tflite"), or "" when there is none.
std::string FileExtension(const std::string& path);
std::string BaseName(const std::string& path);
// Sorted entries of a directory (names only, no "." or "..").
StatusOr<std::vector<std::string>> ListDirectory(const std::string& path);

}  // namespace edgeopt

#endif  // EDGEOPT_SRC_UTIL_FILE_UTIL_H_
