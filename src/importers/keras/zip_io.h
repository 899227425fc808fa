// Zip archives for .keras files (src/util/zip.h): read named entries with size limits, and build an
// archive in memory (entries stored uncompressed, as Python's zipfile does for Keras).
#ifndef EDGEOPT_SRC_IMPORTERS_KERAS_ZIP_IO_H_
#define EDGEOPT_SRC_IMPORTERS_KERAS_ZIP_IO_H_

#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "include/edgeopt/status.h"

namespace edgeopt {
namespace keras {

// All entries of the zip at `path` (name -> bytes); each entry at most `max_entry_bytes`.
StatusOr<std::map<std::string, std::vector<uint8_t>>> ReadZipEntries(
    const std::string& path, size_t max_entry_bytes = size_t{4} << 30);

// A zip archive with the given entries, in order, stored without compression.
StatusOr<std::vector<uint8_t>> BuildZip(
    const std::vector<std::pair<std::string, std::vector<uint8_t>>>& entries);

}  // namespace keras
}  // namespace edgeopt

#endif  // EDGEOPT_SRC_IMPORTERS_KERAS_ZIP_IO_H_
