// Zip archives (.keras, .npz): a reader over bytes in memory and a writer, with zlib for
// deflate. Zip files are untrusted input: every offset and size is checked against the bytes
// present, entry sizes are bounded, and CRCs are verified.
//
// Written for edgeopt instead of linking libzip: the toolkit needs only whole-entry reads and
// writes of small archives, and libzip (with libcrypto/libbz2 behind it) costs the runtime
// commands megabytes of resident memory.
#ifndef EDGEOPT_SRC_UTIL_ZIP_H_
#define EDGEOPT_SRC_UTIL_ZIP_H_

#include <cstdint>
#include <string>
#include <vector>

#include "include/edgeopt/status.h"

namespace edgeopt {

class ZipReader {
 public:
  struct Entry {
    std::string name;
    uint64_t compressed_size = 0;
    uint64_t size = 0;
    uint32_t crc32 = 0;
    uint16_t method = 0;  // 0 stored, 8 deflate
    uint64_t local_header_offset = 0;
  };

  // `name` is used in messages (the file name).
  static StatusOr<ZipReader> Open(std::vector<uint8_t> bytes, const std::string& name);
  static StatusOr<ZipReader> OpenFile(const std::string& path);

  const std::vector<Entry>& entries() const { return entries_; }
  bool Has(const std::string& entry) const;
  // The whole entry, decompressed and CRC-checked; entries above max_bytes are refused.
  StatusOr<std::vector<uint8_t>> Read(const std::string& entry,
                                      uint64_t max_bytes = uint64_t{4} << 30) const;

 private:
  std::vector<uint8_t> bytes_;
  std::string name_;
  std::vector<Entry> entries_;
};

class ZipWriter {
 public:
  // Adds an entry (deflated unless `store`).
  Status Add(const std::string& name, const void* data, size_t size, bool store = false);
  // The archive's bytes.
  std::vector<uint8_t> Finish() const;
  // Writes the archive atomically (temporary file + rename).
  Status WriteFile(const std::string& path) const;

 private:
  struct Item {
    std::string name;
    std::vector<uint8_t> payload;  // compressed (or stored) bytes
    uint64_t size = 0;
    uint32_t crc32 = 0;
    uint16_t method = 0;
  };
  std::vector<Item> items_;
};

// The size of a zip archive holding `bytes` as one deflated entry named `name` (how model
// sizes "after zip" are reported, as TFMOT's guides do).
StatusOr<size_t> ZippedSize(const std::string& name, const std::vector<uint8_t>& bytes);

}  // namespace edgeopt

#endif  // EDGEOPT_SRC_UTIL_ZIP_H_
