#include "src/util/npy.h"

#include <cstring>
#include <limits>

#include "src/core/element_count.h"
#include "src/util/file_util.h"

namespace edgeopt {
namespace {

struct DescrEntry {
  const char* descr;
  DType dtype;
};
constexpr DescrEntry kDescrs[] = {
    {"f4", DType::kFloat32}, {"f2", DType::kFloat16}, {"f8", DType::kFloat64},
    {"i1", DType::kInt8},    {"u1", DType::kUInt8},   {"i2", DType::kInt16},
    {"u2", DType::kUInt16},  {"i4", DType::kInt32},   {"u4", DType::kUInt32},
    {"i8", DType::kInt64},   {"u8", DType::kUInt64},  {"b1", DType::kBool},
};

// The header dict is parsed in place as bytes [0, n), with the C string functions: no
// std::string copies (a selective runtime runner links none of std::string's search functions).
constexpr size_t kNotFound = ~size_t{0};

// Finds `'key':` in the header and returns the position after the colon.
size_t FindKey(const char* h, size_t n, const char* key) {
  const size_t k = std::strlen(key);
  for (size_t i = 0; i + k + 2 <= n; ++i) {
    if (h[i] == '\'' && std::memcmp(h + i + 1, key, k) == 0 && h[i + k + 1] == '\'') {
      const void* colon = std::memchr(h + i + k + 2, ':', n - (i + k + 2));
      return colon == nullptr ? kNotFound
                              : static_cast<size_t>(static_cast<const char*>(colon) - h) + 1;
    }
  }
  return kNotFound;
}

size_t SkipSpaces(const char* h, size_t n, size_t pos) {
  while (pos < n && (h[pos] == ' ' || h[pos] == '\t')) ++pos;
  return pos;
}

// The position of `c` in [pos, n), or kNotFound.
size_t Find(const char* h, size_t n, char c, size_t pos) {
  const void* p = pos < n ? std::memchr(h + pos, c, n - pos) : nullptr;
  return p == nullptr ? kNotFound : static_cast<size_t>(static_cast<const char*>(p) - h);
}

}  // namespace

NpyArray MakeFloatArray(const std::vector<int64_t>& shape, const std::vector<float>& values) {
  NpyArray a;
  a.dtype = DType::kFloat32;
  a.shape = shape;
  a.data.resize(values.size() * sizeof(float));
  if (!values.empty()) std::memcpy(a.data.data(), values.data(), a.data.size());
  return a;
}

int64_t NpyArray::NumElements() const {
  int64_t n = 1;
  for (int64_t d : shape) n *= d;
  return n;
}

const char* NpyDescr(DType dtype) {
  switch (dtype) {
    case DType::kFloat32:
      return "<f4";
    case DType::kFloat16:
      return "<f2";
    case DType::kFloat64:
      return "<f8";
    case DType::kInt8:
      return "|i1";
    case DType::kUInt8:
      return "|u1";
    case DType::kInt16:
      return "<i2";
    case DType::kUInt16:
      return "<u2";
    case DType::kInt32:
      return "<i4";
    case DType::kUInt32:
      return "<u4";
    case DType::kInt64:
      return "<i8";
    case DType::kUInt64:
      return "<u8";
    case DType::kBool:
      return "|b1";
    default:
      return nullptr;
  }
}

StatusOr<NpyArray> ParseNpy(const uint8_t* bytes, size_t size, const std::string& name) {
  const char* what = name.c_str();
  EDGEOPT_ENSURE(size >= 10 && std::memcmp(bytes, "\x93NUMPY", 6) == 0,
                 StatusCode::kInvalidArgument, "%s: not a .npy file (bad magic)", what);
  const int major = bytes[6];
  size_t header_len = 0;
  size_t offset = 0;
  if (major == 1) {
    header_len = bytes[8] | (bytes[9] << 8);
    offset = 10;
  } else if (major == 2 || major == 3) {
    EDGEOPT_ENSURE(size >= 12, StatusCode::kInvalidArgument, "%s: truncated .npy header", what);
    header_len = static_cast<size_t>(bytes[8]) | (static_cast<size_t>(bytes[9]) << 8) |
                 (static_cast<size_t>(bytes[10]) << 16) | (static_cast<size_t>(bytes[11]) << 24);
    offset = 12;
  } else {
    return MakeStatus(StatusCode::kUnsupported, "%s: .npy format version %d is not supported", what,
                      major);
  }
  EDGEOPT_ENSURE(header_len <= size - offset, StatusCode::kInvalidArgument,
                 "%s: truncated .npy header", what);
  const char* header = reinterpret_cast<const char*>(bytes + offset);
  const size_t n = header_len;
  offset += header_len;

  NpyArray array;
  // descr
  size_t pos = FindKey(header, n, "descr");
  EDGEOPT_ENSURE(pos != kNotFound, StatusCode::kInvalidArgument, "%s: .npy header has no 'descr'",
                 what);
  pos = SkipSpaces(header, n, pos);
  EDGEOPT_ENSURE(pos < n && header[pos] == '\'', StatusCode::kInvalidArgument,
                 "%s: malformed 'descr'", what);
  const size_t end = Find(header, n, '\'', pos + 1);
  EDGEOPT_ENSURE(end != kNotFound, StatusCode::kInvalidArgument, "%s: malformed 'descr'", what);
  const char* descr = header + pos + 1;
  const size_t descr_size = end - pos - 1;
  const int descr_len = static_cast<int>(descr_size < 64 ? descr_size : 64);  // for messages
  EDGEOPT_ENSURE(descr_size == 3 && (descr[0] == '<' || descr[0] == '|' || descr[0] == '='),
                 StatusCode::kUnsupported,
                 "%s: dtype '%.*s' is not supported (little-endian numeric types only)", what,
                 descr_len, descr);
  bool found = false;
  for (const DescrEntry& e : kDescrs) {
    if (std::memcmp(descr + 1, e.descr, 2) == 0) {
      array.dtype = e.dtype;
      found = true;
    }
  }
  EDGEOPT_ENSURE(found, StatusCode::kUnsupported, "%s: dtype '%.*s' is not supported", what,
                 descr_len, descr);
  // fortran_order
  pos = FindKey(header, n, "fortran_order");
  EDGEOPT_ENSURE(pos != kNotFound, StatusCode::kInvalidArgument,
                 "%s: .npy header has no 'fortran_order'", what);
  pos = SkipSpaces(header, n, pos);
  EDGEOPT_ENSURE(n - pos >= 5 && std::memcmp(header + pos, "False", 5) == 0,
                 StatusCode::kUnsupported, "%s: Fortran-order arrays are not supported", what);
  // shape
  pos = FindKey(header, n, "shape");
  EDGEOPT_ENSURE(pos != kNotFound, StatusCode::kInvalidArgument, "%s: .npy header has no 'shape'",
                 what);
  pos = SkipSpaces(header, n, pos);
  EDGEOPT_ENSURE(pos < n && header[pos] == '(', StatusCode::kInvalidArgument,
                 "%s: malformed 'shape'", what);
  const size_t close = Find(header, n, ')', pos);
  EDGEOPT_ENSURE(close != kNotFound, StatusCode::kInvalidArgument, "%s: malformed 'shape'", what);
  const char* dims = header + pos + 1;
  const size_t dims_len = close - pos - 1;
  ElementCount elements(uint64_t{1} << 40);
  size_t i = 0;
  while (i < dims_len) {
    while (i < dims_len && (dims[i] == ' ' || dims[i] == ',')) ++i;
    if (i >= dims_len) break;
    EDGEOPT_ENSURE(dims[i] >= '0' && dims[i] <= '9', StatusCode::kInvalidArgument,
                   "%s: malformed 'shape'", what);
    uint64_t v = 0;
    while (i < dims_len && dims[i] >= '0' && dims[i] <= '9') {
      v = v * 10 + static_cast<uint64_t>(dims[i] - '0');
      EDGEOPT_ENSURE(v <= (uint64_t{1} << 40), StatusCode::kInvalidArgument,
                     "%s: dimension too large", what);
      ++i;
    }
    array.shape.push_back(static_cast<int64_t>(v));
    EDGEOPT_ENSURE(elements.Add(v), StatusCode::kInvalidArgument, "%s: array too large", what);
    EDGEOPT_ENSURE(array.shape.size() <= 16, StatusCode::kInvalidArgument,
                   "%s: too many dimensions", what);
  }
  const uint64_t data_bytes = elements.elements() * DTypeSize(array.dtype);
  EDGEOPT_ENSURE(data_bytes <= size - offset, StatusCode::kInvalidArgument,
                 "%s: truncated data (%zu bytes, shape needs %llu)", what, size - offset,
                 static_cast<unsigned long long>(data_bytes));
  array.data.assign(bytes + offset, bytes + offset + data_bytes);
  return array;
}

StatusOr<NpyArray> ReadNpy(const std::string& path) {
  EDGEOPT_ASSIGN_OR_RETURN(std::vector<uint8_t> bytes, ReadFileBytes(path));
  return ParseNpy(bytes.data(), bytes.size(), path);
}

std::vector<uint8_t> EncodeNpy(const NpyArray& array) {
  std::string header = "{'descr': '";
  header += NpyDescr(array.dtype) != nullptr ? NpyDescr(array.dtype) : "|u1";
  header += "', 'fortran_order': False, 'shape': (";
  for (size_t i = 0; i < array.shape.size(); ++i) {
    header += std::to_string(array.shape[i]);
    if (array.shape.size() == 1 || i + 1 < array.shape.size()) header += ",";
    if (i + 1 < array.shape.size()) header += " ";
  }
  header += "), }";
  // Pad with spaces so that the data starts at a multiple of 64, ending in '\n'.
  const size_t unpadded = 10 + header.size() + 1;
  const size_t padded = (unpadded + 63) / 64 * 64;
  header.append(padded - unpadded, ' ');
  header += '\n';
  std::vector<uint8_t> out(10 + header.size() + array.data.size());
  const uint8_t magic[8] = {0x93, 'N', 'U', 'M', 'P', 'Y', 1, 0};
  std::memcpy(out.data(), magic, 8);
  out[8] = static_cast<uint8_t>(header.size() & 0xFF);
  out[9] = static_cast<uint8_t>(header.size() >> 8);
  std::memcpy(out.data() + 10, header.data(), header.size());
  if (!array.data.empty()) {
    std::memcpy(out.data() + 10 + header.size(), array.data.data(), array.data.size());
  }
  return out;
}

Status WriteNpy(const std::string& path, const NpyArray& array) {
  return WriteFileAtomic(path, EncodeNpy(array));
}

}  // namespace edgeopt
