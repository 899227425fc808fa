#include "src/util/zip.h"

#include <zlib.h>

#include <algorithm>
#include <cstring>

#include "src/util/file_util.h"

namespace edgeopt {
namespace {

constexpr uint32_t kLocalHeader = 0x04034b50;
constexpr uint32_t kCentralHeader = 0x02014b50;
constexpr uint32_t kEndOfCentralDir = 0x06054b50;
constexpr uint32_t kZip64Locator = 0x07064b50;
constexpr uint32_t kZip64EndOfCentralDir = 0x06064b50;
constexpr size_t kMaxEntries = 1 << 20;

uint16_t Get16(const uint8_t* p) { return static_cast<uint16_t>(p[0] | (p[1] << 8)); }
uint32_t Get32(const uint8_t* p) {
  return static_cast<uint32_t>(p[0]) | (static_cast<uint32_t>(p[1]) << 8) |
         (static_cast<uint32_t>(p[2]) << 16) | (static_cast<uint32_t>(p[3]) << 24);
}
uint64_t Get64(const uint8_t* p) {
  return static_cast<uint64_t>(Get32(p)) | (static_cast<uint64_t>(Get32(p + 4)) << 32);
}
void Put16(std::vector<uint8_t>* out, uint16_t v) {
  out->push_back(static_cast<uint8_t>(v));
  out->push_back(static_cast<uint8_t>(v >> 8));
}
void Put32(std::vector<uint8_t>* out, uint32_t v) {
  for (int i = 0; i < 4; ++i) out->push_back(static_cast<uint8_t>(v >> (8 * i)));
}

// True when [offset, offset + size) lies inside a buffer of `total` bytes.
bool InBounds(uint64_t offset, uint64_t size, uint64_t total) {
  return offset <= total && size <= total - offset;
}

}  // namespace

StatusOr<ZipReader> ZipReader::Open(std::vector<uint8_t> bytes, const std::string& name) {
  ZipReader z;
  z.bytes_ = std::move(bytes);
  z.name_ = name;
  const uint8_t* b = z.bytes_.data();
  const uint64_t n = z.bytes_.size();
  const char* what = name.c_str();
  EDGEOPT_ENSURE(n >= 22, StatusCode::kInvalidArgument, "%s: not a zip file (too small)", what);
  // The end-of-central-directory record: within the last 64 KiB + 22 bytes.
  int64_t eocd = -1;
  const uint64_t lowest = n > 65557 ? n - 65557 : 0;
  for (uint64_t p = n - 22 + 1; p-- > lowest;) {
    if (Get32(b + p) == kEndOfCentralDir) {
      eocd = static_cast<int64_t>(p);
      break;
    }
  }
  EDGEOPT_ENSURE(eocd >= 0, StatusCode::kInvalidArgument,
                 "%s: not a zip file (no end-of-central-directory record)", what);
  uint64_t count = Get16(b + eocd + 10);
  uint64_t cd_size = Get32(b + eocd + 12);
  uint64_t cd_offset = Get32(b + eocd + 16);
  if (count == 0xFFFF || cd_size == 0xFFFFFFFF || cd_offset == 0xFFFFFFFF) {
    // Zip64: the locator sits right before the EOCD record.
    EDGEOPT_ENSURE(eocd >= 20 && Get32(b + eocd - 20) == kZip64Locator,
                   StatusCode::kInvalidArgument, "%s: broken zip64 end record", what);
    const uint64_t rec = Get64(b + eocd - 20 + 8);
    EDGEOPT_ENSURE(InBounds(rec, 56, n) && Get32(b + rec) == kZip64EndOfCentralDir,
                   StatusCode::kInvalidArgument, "%s: broken zip64 end record", what);
    count = Get64(b + rec + 32);
    cd_size = Get64(b + rec + 40);
    cd_offset = Get64(b + rec + 48);
  }
  EDGEOPT_ENSURE(count <= kMaxEntries, StatusCode::kInvalidArgument, "%s: too many entries", what);
  EDGEOPT_ENSURE(InBounds(cd_offset, cd_size, n), StatusCode::kInvalidArgument,
                 "%s: truncated zip file (the central directory is outside the file)", what);
  uint64_t p = cd_offset;
  const uint64_t end = cd_offset + cd_size;
  for (uint64_t i = 0; i < count; ++i) {
    EDGEOPT_ENSURE(InBounds(p, 46, end) && Get32(b + p) == kCentralHeader,
                   StatusCode::kInvalidArgument, "%s: corrupted zip central directory", what);
    Entry e;
    const uint16_t flags = Get16(b + p + 8);
    e.method = Get16(b + p + 10);
    e.crc32 = Get32(b + p + 16);
    e.compressed_size = Get32(b + p + 20);
    e.size = Get32(b + p + 24);
    const uint16_t name_len = Get16(b + p + 28);
    const uint16_t extra_len = Get16(b + p + 30);
    const uint16_t comment_len = Get16(b + p + 32);
    e.local_header_offset = Get32(b + p + 42);
    const uint64_t var = static_cast<uint64_t>(name_len) + extra_len + comment_len;
    EDGEOPT_ENSURE(InBounds(p + 46, var, end), StatusCode::kInvalidArgument,
                   "%s: corrupted zip central directory", what);
    e.name.assign(reinterpret_cast<const char*>(b + p + 46), name_len);
    // Zip64 extra field: the 64-bit values of the fields that hold 0xFFFFFFFF.
    uint64_t x = p + 46 + name_len;
    const uint64_t x_end = x + extra_len;
    while (x + 4 <= x_end) {
      const uint16_t id = Get16(b + x);
      const uint16_t len = Get16(b + x + 2);
      if (x + 4 + len > x_end) break;
      if (id == 0x0001) {
        uint64_t q = x + 4;
        auto take = [&](uint64_t* field) {
          if (*field != 0xFFFFFFFF) return;
          if (q + 8 <= x + 4 + len) {
            *field = Get64(b + q);
            q += 8;
          }
        };
        take(&e.size);
        take(&e.compressed_size);
        take(&e.local_header_offset);
      }
      x += 4 + len;
    }
    EDGEOPT_ENSURE((flags & 1) == 0, StatusCode::kUnsupported, "%s: entry %s is encrypted", what,
                   e.name.c_str());
    z.entries_.push_back(std::move(e));
    p += 46 + var;
  }
  return z;
}

StatusOr<ZipReader> ZipReader::OpenFile(const std::string& path) {
  EDGEOPT_ASSIGN_OR_RETURN(std::vector<uint8_t> bytes, ReadFileBytes(path));
  return Open(std::move(bytes), path);
}

bool ZipReader::Has(const std::string& entry) const {
  for (const Entry& e : entries_) {
    if (e.name == entry) return true;
  }
  return false;
}

StatusOr<std::vector<uint8_t>> ZipReader::Read(const std::string& entry, uint64_t max_bytes) const {
  const char* what = name_.c_str();
  const Entry* e = nullptr;
  for (const Entry& candidate : entries_) {
    if (candidate.name == entry) e = &candidate;
  }
  EDGEOPT_ENSURE(e != nullptr, StatusCode::kNotFound, "%s has no entry %s", what, entry.c_str());
  EDGEOPT_ENSURE(e->size <= max_bytes, StatusCode::kInvalidArgument,
                 "%s: entry %s is too large (%llu bytes)", what, entry.c_str(),
                 static_cast<unsigned long long>(e->size));
  const uint8_t* b = bytes_.data();
  const uint64_t n = bytes_.size();
  const uint64_t h = e->local_header_offset;
  EDGEOPT_ENSURE(InBounds(h, 30, n) && Get32(b + h) == kLocalHeader, StatusCode::kInvalidArgument,
                 "%s: entry %s: bad local header (truncated or corrupted file)", what,
                 entry.c_str());
  const uint64_t data = h + 30 + Get16(b + h + 26) + Get16(b + h + 28);
  EDGEOPT_ENSURE(InBounds(data, e->compressed_size, n), StatusCode::kInvalidArgument,
                 "%s: entry %s is truncated", what, entry.c_str());
  std::vector<uint8_t> out(static_cast<size_t>(e->size));
  if (e->method == 0) {
    EDGEOPT_ENSURE(e->compressed_size == e->size, StatusCode::kInvalidArgument,
                   "%s: entry %s: stored sizes differ", what, entry.c_str());
    if (e->size > 0) std::memcpy(out.data(), b + data, out.size());
  } else if (e->method == 8) {
    z_stream zs;
    std::memset(&zs, 0, sizeof(zs));
    EDGEOPT_ENSURE(inflateInit2(&zs, -MAX_WBITS) == Z_OK, StatusCode::kInternal,
                   "zlib inflateInit2 failed");
    uint64_t in_done = 0, out_done = 0;
    int rc = Z_OK;
    while (rc != Z_STREAM_END) {
      const uint64_t in_left = e->compressed_size - in_done;
      const uint64_t out_left = e->size - out_done;
      zs.next_in = const_cast<Bytef*>(b + data + in_done);
      zs.avail_in = static_cast<uInt>(std::min<uint64_t>(in_left, 1u << 30));
      zs.next_out = out.data() + out_done;
      zs.avail_out = static_cast<uInt>(std::min<uint64_t>(out_left, 1u << 30));
      const uInt in_before = zs.avail_in, out_before = zs.avail_out;
      rc = inflate(&zs, Z_NO_FLUSH);
      in_done += in_before - zs.avail_in;
      out_done += out_before - zs.avail_out;
      if (rc == Z_STREAM_END) break;
      if (rc != Z_OK || (in_before == zs.avail_in && out_before == zs.avail_out)) {
        inflateEnd(&zs);
        return MakeStatus(StatusCode::kInvalidArgument, "%s: entry %s: corrupted compressed data",
                          what, entry.c_str());
      }
    }
    inflateEnd(&zs);
    EDGEOPT_ENSURE(out_done == e->size, StatusCode::kInvalidArgument,
                   "%s: entry %s: size mismatch after decompression", what, entry.c_str());
  } else {
    return MakeStatus(StatusCode::kUnsupported, "%s: entry %s uses compression method %u", what,
                      entry.c_str(), e->method);
  }
  const uint32_t crc = static_cast<uint32_t>(
      crc32_z(crc32_z(0L, Z_NULL, 0), out.data(), static_cast<z_size_t>(out.size())));
  EDGEOPT_ENSURE(crc == e->crc32, StatusCode::kInvalidArgument,
                 "%s: entry %s fails its CRC check (corrupted file)", what, entry.c_str());
  return out;
}

Status ZipWriter::Add(const std::string& name, const void* data, size_t size, bool store) {
  EDGEOPT_ENSURE(size < 0xFFFFFFFFu && name.size() < 0xFFFF, StatusCode::kUnsupported,
                 "zip entry %s is too large", name.c_str());
  Item item;
  item.name = name;
  item.size = size;
  const Bytef* src = static_cast<const Bytef*>(data);
  item.crc32 = static_cast<uint32_t>(crc32_z(crc32_z(0L, Z_NULL, 0), src, size));
  if (!store && size > 0) {
    z_stream zs;
    std::memset(&zs, 0, sizeof(zs));
    EDGEOPT_ENSURE(deflateInit2(&zs, 6, Z_DEFLATED, -MAX_WBITS, 8, Z_DEFAULT_STRATEGY) == Z_OK,
                   StatusCode::kInternal, "zlib deflateInit2 failed");
    item.payload.resize(deflateBound(&zs, static_cast<uLong>(size)));
    zs.next_in = const_cast<Bytef*>(src);
    zs.avail_in = static_cast<uInt>(size);
    zs.next_out = item.payload.data();
    zs.avail_out = static_cast<uInt>(item.payload.size());
    const int rc = deflate(&zs, Z_FINISH);
    const size_t produced = item.payload.size() - zs.avail_out;
    deflateEnd(&zs);
    EDGEOPT_ENSURE(rc == Z_STREAM_END, StatusCode::kInternal, "zlib deflate failed");
    item.payload.resize(produced);
    item.method = 8;
  }
  if (item.method == 0) item.payload.assign(src, src + size);
  items_.push_back(std::move(item));
  return Status::Ok();
}

std::vector<uint8_t> ZipWriter::Finish() const {
  std::vector<uint8_t> out;
  std::vector<uint32_t> offsets;
  for (const Item& it : items_) {
    offsets.push_back(static_cast<uint32_t>(out.size()));
    Put32(&out, kLocalHeader);
    Put16(&out, 20);  // version needed
    Put16(&out, 0);   // flags
    Put16(&out, it.method);
    Put16(&out, 0);       // time
    Put16(&out, 0x0021);  // date: 1980-01-01
    Put32(&out, it.crc32);
    Put32(&out, static_cast<uint32_t>(it.payload.size()));
    Put32(&out, static_cast<uint32_t>(it.size));
    Put16(&out, static_cast<uint16_t>(it.name.size()));
    Put16(&out, 0);
    out.insert(out.end(), it.name.begin(), it.name.end());
    out.insert(out.end(), it.payload.begin(), it.payload.end());
  }
  const uint32_t cd_offset = static_cast<uint32_t>(out.size());
  for (size_t i = 0; i < items_.size(); ++i) {
    const Item& it = items_[i];
    Put32(&out, kCentralHeader);
    Put16(&out, 0x031E);  // made by: Unix, 3.0
    Put16(&out, 20);
    Put16(&out, 0);
    Put16(&out, it.method);
    Put16(&out, 0);
    Put16(&out, 0x0021);
    Put32(&out, it.crc32);
    Put32(&out, static_cast<uint32_t>(it.payload.size()));
    Put32(&out, static_cast<uint32_t>(it.size));
    Put16(&out, static_cast<uint16_t>(it.name.size()));
    Put16(&out, 0);               // extra
    Put16(&out, 0);               // comment
    Put16(&out, 0);               // disk
    Put16(&out, 0);               // internal attributes
    Put32(&out, 0100644u << 16);  // external attributes: regular file, rw-r--r--
    Put32(&out, offsets[i]);
    out.insert(out.end(), it.name.begin(), it.name.end());
  }
  const uint32_t cd_size = static_cast<uint32_t>(out.size()) - cd_offset;
  Put32(&out, kEndOfCentralDir);
  Put16(&out, 0);
  Put16(&out, 0);
  Put16(&out, static_cast<uint16_t>(items_.size()));
  Put16(&out, static_cast<uint16_t>(items_.size()));
  Put32(&out, cd_size);
  Put32(&out, cd_offset);
  Put16(&out, 0);
  return out;
}

Status ZipWriter::WriteFile(const std::string& path) const {
  return WriteFileAtomic(path, Finish());
}

StatusOr<size_t> ZippedSize(const std::string& name, const std::vector<uint8_t>& bytes) {
  ZipWriter zip;
  EDGEOPT_RETURN_IF_ERROR(zip.Add(name, bytes.data(), bytes.size()));
  return zip.Finish().size();
}

}  // namespace edgeopt
