#include "src/data/idx.h"

#include <zlib.h>

#include <cstring>
#include <limits>

#include "src/core/element_count.h"
#include "src/util/file_util.h"

namespace edgeopt {
namespace data {
namespace {

int TypeSize(uint8_t type) {
  switch (type) {
    case 0x08:
    case 0x09:
      return 1;
    case 0x0B:
      return 2;
    case 0x0C:
    case 0x0D:
      return 4;
    case 0x0E:
      return 8;
    default:
      return 0;
  }
}

uint64_t LoadBe(const uint8_t* p, int n) {
  uint64_t v = 0;
  for (int i = 0; i < n; ++i) v = (v << 8) | p[i];
  return v;
}

}  // namespace

int64_t IdxArray::NumElements() const {
  int64_t n = 1;
  for (int64_t d : dims) n *= d;
  return n;
}

double IdxArray::At(int64_t i) const {
  const int size = TypeSize(type);
  const uint8_t* p = bytes.data() + i * size;
  switch (type) {
    case 0x08:
      return p[0];
    case 0x09:
      return static_cast<int8_t>(p[0]);
    case 0x0B:
      return static_cast<int16_t>(LoadBe(p, 2));
    case 0x0C:
      return static_cast<int32_t>(LoadBe(p, 4));
    case 0x0D: {
      const uint32_t bits = static_cast<uint32_t>(LoadBe(p, 4));
      float f;
      std::memcpy(&f, &bits, 4);
      return f;
    }
    case 0x0E: {
      const uint64_t bits = LoadBe(p, 8);
      double d;
      std::memcpy(&d, &bits, 8);
      return d;
    }
    default:
      return 0.0;
  }
}

void IdxArray::ToFloat(float* dst, float divisor) const {
  const int64_t n = NumElements();
  if (type == 0x08) {
    for (int64_t i = 0; i < n; ++i) dst[i] = static_cast<float>(bytes[i]) / divisor;
    return;
  }
  for (int64_t i = 0; i < n; ++i) dst[i] = static_cast<float>(At(i) / divisor);
}

StatusOr<IdxArray> ParseIdx(const uint8_t* data, size_t size, const std::string& name) {
  EDGEOPT_ENSURE(size >= 4, StatusCode::kInvalidArgument,
                 "%s: %zu bytes is too short for an IDX header", name.c_str(), size);
  EDGEOPT_ENSURE(data[0] == 0 && data[1] == 0, StatusCode::kInvalidArgument,
                 "%s: not an IDX file (magic %02x %02x %02x %02x)", name.c_str(), data[0], data[1],
                 data[2], data[3]);
  IdxArray array;
  array.type = data[2];
  const int elem = TypeSize(array.type);
  EDGEOPT_ENSURE(elem > 0, StatusCode::kInvalidArgument, "%s: unknown IDX data type 0x%02x",
                 name.c_str(), array.type);
  const int rank = data[3];
  EDGEOPT_ENSURE(rank >= 1 && rank <= 8, StatusCode::kInvalidArgument,
                 "%s: IDX rank %d (expected 1 to 8)", name.c_str(), rank);
  const size_t header = 4 + 4 * static_cast<size_t>(rank);
  EDGEOPT_ENSURE(size >= header, StatusCode::kInvalidArgument,
                 "%s: truncated IDX header (%zu bytes, %d dimensions need %zu)", name.c_str(), size,
                 rank, header);
  // (A product that wrapped around 2^64 to 0 passed a check after multiplying once: the
  // fuzzer's crash-bf68d5a7.)
  ElementCount count(uint64_t{1} << 36);
  for (int d = 0; d < rank; ++d) {
    const uint64_t dim = LoadBe(data + 4 + 4 * d, 4);
    EDGEOPT_ENSURE(dim <= static_cast<uint64_t>(std::numeric_limits<int32_t>::max()),
                   StatusCode::kInvalidArgument, "%s: IDX dimension %d is %llu", name.c_str(), d,
                   static_cast<unsigned long long>(dim));
    EDGEOPT_ENSURE(count.Add(dim), StatusCode::kInvalidArgument,
                   "%s: IDX header claims more than 2^36 elements", name.c_str());
    array.dims.push_back(static_cast<int64_t>(dim));
  }
  const uint64_t need = count.elements() * static_cast<uint64_t>(elem);
  EDGEOPT_ENSURE(size - header == need, StatusCode::kInvalidArgument,
                 "%s: IDX header says %llu data bytes, the file has %zu", name.c_str(),
                 static_cast<unsigned long long>(need), size - header);
  array.bytes.assign(data + header, data + size);
  return array;
}

StatusOr<std::vector<uint8_t>> ReadMaybeGzip(const std::string& path, size_t max_bytes) {
  EDGEOPT_ASSIGN_OR_RETURN(std::vector<uint8_t> raw, ReadFileBytes(path));
  if (raw.size() < 2 || raw[0] != 0x1f || raw[1] != 0x8b) {
    EDGEOPT_ENSURE(raw.size() <= max_bytes, StatusCode::kInvalidArgument,
                   "%s: %zu bytes is more than the limit of %zu", path.c_str(), raw.size(),
                   max_bytes);
    return raw;
  }
  z_stream zs;
  std::memset(&zs, 0, sizeof(zs));
  EDGEOPT_ENSURE(inflateInit2(&zs, 16 + MAX_WBITS) == Z_OK, StatusCode::kInternal,
                 "%s: zlib init failed", path.c_str());
  std::vector<uint8_t> out;
  out.resize(std::min<size_t>(max_bytes, std::max<size_t>(raw.size() * 4, 1 << 16)));
  zs.next_in = raw.data();
  zs.avail_in = static_cast<uInt>(raw.size());
  size_t produced = 0;
  int rc = Z_OK;
  while (rc != Z_STREAM_END) {
    if (produced == out.size()) {
      if (out.size() >= max_bytes) {
        inflateEnd(&zs);
        return MakeStatus(StatusCode::kInvalidArgument,
                          "%s: inflates to more than the limit of %zu bytes", path.c_str(),
                          max_bytes);
      }
      out.resize(std::min(max_bytes, out.size() * 2));
    }
    zs.next_out = out.data() + produced;
    const size_t room = std::min<size_t>(out.size() - produced, 1u << 30);
    zs.avail_out = static_cast<uInt>(room);
    rc = inflate(&zs, Z_NO_FLUSH);
    produced += room - zs.avail_out;
    if (rc == Z_STREAM_END) break;
    if (rc != Z_OK && rc != Z_BUF_ERROR) {
      inflateEnd(&zs);
      return MakeStatus(StatusCode::kInvalidArgument, "%s: corrupt gzip data (%s)", path.c_str(),
                        zs.msg != nullptr ? zs.msg : "inflate failed");
    }
    if (rc == Z_BUF_ERROR && zs.avail_in == 0 && zs.avail_out > 0) {
      inflateEnd(&zs);
      return MakeStatus(StatusCode::kInvalidArgument, "%s: truncated gzip data", path.c_str());
    }
  }
  inflateEnd(&zs);
  out.resize(produced);
  return out;
}

StatusOr<IdxArray> ReadIdx(const std::string& path) {
  EDGEOPT_ASSIGN_OR_RETURN(std::vector<uint8_t> bytes, ReadMaybeGzip(path, kMaxInputFileBytes));
  return ParseIdx(bytes.data(), bytes.size(), path);
}

}  // namespace data
}  // namespace edgeopt
