// MNIST-style IDX files: magic (0, 0, type, rank), rank big-endian uint32 dimensions, then the
// data in big-endian C order. Gzip-compressed files (.gz, by content) are inflated with a size
// bound taken from the header. Hostile headers (rank 0 or > 8, dimension overflow, truncated
// data, trailing garbage) give a Status.
#ifndef EDGEOPT_SRC_DATA_IDX_H_
#define EDGEOPT_SRC_DATA_IDX_H_

#include <cstdint>
#include <string>
#include <vector>

#include "include/edgeopt/status.h"

namespace edgeopt {
namespace data {

struct IdxArray {
  uint8_t type = 0x08;  // 0x08 u8, 0x09 i8, 0x0B i16, 0x0C i32, 0x0D f32, 0x0E f64
  std::vector<int64_t> dims;
  std::vector<uint8_t> bytes;  // the data, as in the file (big-endian)

  int64_t NumElements() const;
  double At(int64_t i) const;
  // All values as float divided by `divisor` (a division, not a multiplication by
  // 1 / divisor, so 8-bit pixels / 255 round exactly as Keras' x / 255).
  void ToFloat(float* dst, float divisor) const;
};

// Parses IDX bytes (already inflated). `name` is used in messages.
StatusOr<IdxArray> ParseIdx(const uint8_t* data, size_t size, const std::string& name);
// Reads a file, inflating gzip by content.
StatusOr<IdxArray> ReadIdx(const std::string& path);
// Whole file, inflated when it starts with the gzip magic; at most max_bytes after inflating.
StatusOr<std::vector<uint8_t>> ReadMaybeGzip(const std::string& path, size_t max_bytes);

}  // namespace data
}  // namespace edgeopt

#endif  // EDGEOPT_SRC_DATA_IDX_H_
