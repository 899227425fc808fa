#include "src/util/npy.h"

#include <cstring>
#include <limits>

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

// Finds `'key':` in the header dict and returns the position after the colon.
size_t FindKey(const std::string& header, const char* key) {
  const std::string k1 = std::string("'") + key + "'";
  size_t pos = header.find(k1);
  if (pos == std::string::npos) return pos;
  pos = header.find(':', pos + k1.size());
  return pos == std::string::npos ? pos : pos + 1;
}

size_t SkipSpaces(const std::string& s, size_t pos) {
  while (pos < s.size() && (s[pos] == ' ' || s[pos] == '\t')) ++pos;
  return pos;
}

}  // namespace

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
  const std::string header(reinterpret_cast<const char*>(bytes + offset), header_len);
  offset += header_len;

  NpyArray array;
  // descr
  size_t pos = FindKey(header, "descr");
  EDGEOPT_ENSURE(pos != std::string::npos, StatusCode::kInvalidArgument,
                 "%s: .npy header has no 'descr'", what);
  pos = SkipSpaces(header, pos);
  EDGEOPT_ENSURE(pos < header.size() && header[pos] == '\'', StatusCode::kInvalidArgument,
                 "%s: malformed 'descr'", what);
  const size_t end = header.find('\'', pos + 1);
  EDGEOPT_ENSURE(end != std::string::npos, StatusCode::kInvalidArgument, "%s: malformed 'descr'",
                 what);
  const std::string descr = header.substr(pos + 1, end - pos - 1);
  EDGEOPT_ENSURE(descr.size() == 3 && (descr[0] == '<' || descr[0] == '|' || descr[0] == '='),
                 StatusCode::kUnsupported,
                 "%s: dtype '%s' is not supported (little-endian numeric types only)", what,
                 descr.c_str());
  bool found = false;
  for (const DescrEntry& e : kDescrs) {
    if (descr.compare(1, 2, e.descr) == 0) {
      array.dtype = e.dtype;
      found = true;
    }
  }
  EDGEOPT_ENSURE(found, StatusCode::kUnsupported, "%s: dtype '%s' is not supported", what,
                 descr.c_str());
  // fortran_order
  pos = FindKey(header, "fortran_order");
  EDGEOPT_ENSURE(pos != std::string::npos, StatusCode::kInvalidArgument,
                 "%s: .npy header has no 'fortran_order'", what);
  pos = SkipSpaces(header, pos);
  EDGEOPT_ENSURE(header.compare(pos, 5, "False") == 0, StatusCode::kUnsupported,
                 "%s: Fortran-order arrays are not supported", what);
  // shape
  pos = FindKey(header, "shape");
  EDGEOPT_ENSURE(pos != std::string::npos, StatusCode::kInvalidArgument,
                 "%s: .npy header has no 'shape'", what);
  pos = SkipSpaces(header, pos);
  EDGEOPT_ENSURE(pos < header.size() && header[pos] == '(', StatusCode::kInvalidArgument,
                 "%s: malformed 'shape'", what);
  const size_t close = header.find(')', pos);
  EDGEOPT_ENSURE(close != std::string::npos, StatusCode::kInvalidArgument, "%s: malformed 'shape'",
                 what);
  const std::string dims = header.substr(pos + 1, close - pos - 1);
  uint64_t elements = 1;
  size_t i = 0;
  while (i < dims.size()) {
    while (i < dims.size() && (dims[i] == ' ' || dims[i] == ',')) ++i;
    if (i >= dims.size()) break;
    EDGEOPT_ENSURE(dims[i] >= '0' && dims[i] <= '9', StatusCode::kInvalidArgument,
                   "%s: malformed 'shape'", what);
    uint64_t v = 0;
    while (i < dims.size() && dims[i] >= '0' && dims[i] <= '9') {
      v = v * 10 + static_cast<uint64_t>(dims[i] - '0');
      EDGEOPT_ENSURE(v <= (uint64_t{1} << 40), StatusCode::kInvalidArgument,
                     "%s: dimension too large", what);
      ++i;
    }
    array.shape.push_back(static_cast<int64_t>(v));
    elements *= v;
    EDGEOPT_ENSURE(elements <= (uint64_t{1} << 40), StatusCode::kInvalidArgument,
                   "%s: array too large", what);
    EDGEOPT_ENSURE(array.shape.size() <= 16, StatusCode::kInvalidArgument,
                   "%s: too many dimensions", what);
  }
  const uint64_t data_bytes = elements * DTypeSize(array.dtype);
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
