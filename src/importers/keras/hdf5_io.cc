#include "src/importers/keras/hdf5_io.h"

#include <algorithm>
#include <cstring>

namespace edgeopt {
namespace keras {
namespace h5 {
namespace {

constexpr int64_t kMaxElements = int64_t{1} << 31;
constexpr size_t kMaxAttributeBytes = size_t{256} << 20;
constexpr size_t kAttributeChunkBytes = 64000;  // h5py's attribute header limit is 64 KiB

std::vector<std::string> SplitPath(const std::string& path) {
  std::vector<std::string> parts;
  size_t start = 0;
  while (start <= path.size()) {
    size_t end = path.find('/', start);
    if (end == std::string::npos) end = path.size();
    if (end > start) parts.push_back(path.substr(start, end - start));
    start = end + 1;
  }
  return parts;
}

// Opens the object at `path` and returns its identifier type (H5I_BADID if it does not exist).
H5I_type_t ObjectType(hid_t loc, const std::string& path) {
  if (!Exists(loc, path)) return H5I_BADID;
  Handle obj(H5Oopen(loc, path.c_str(), H5P_DEFAULT));
  if (!obj.valid()) return H5I_BADID;
  return H5Iget_type(obj.id());
}

}  // namespace

void Handle::Reset() {
  if (id_ < 0) return;
  switch (H5Iget_type(id_)) {
    case H5I_FILE:
      H5Fclose(id_);
      break;
    case H5I_GROUP:
      H5Gclose(id_);
      break;
    case H5I_DATASET:
      H5Dclose(id_);
      break;
    case H5I_ATTR:
      H5Aclose(id_);
      break;
    case H5I_DATATYPE:
      H5Tclose(id_);
      break;
    case H5I_DATASPACE:
      H5Sclose(id_);
      break;
    case H5I_GENPROP_LST:
      H5Pclose(id_);
      break;
    default:
      H5Idec_ref(id_);
      break;
  }
  id_ = -1;
}

void SilenceErrors() {
  static bool done = false;
  if (!done) {
    H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr);
    done = true;
  }
}

StatusOr<File> File::Open(const std::string& path) {
  SilenceErrors();
  FILE* probe = std::fopen(path.c_str(), "rb");
  if (probe == nullptr) {
    return MakeStatus(StatusCode::kNotFound, "%s: cannot open (%s)", path.c_str(),
                      std::strerror(errno));
  }
  std::fclose(probe);
  if (H5Fis_hdf5(path.c_str()) <= 0) {
    return MakeStatus(StatusCode::kInvalidModel, "%s: not an HDF5 file", path.c_str());
  }
  File file;
  file.name_ = path;
  file.handle_ = Handle(H5Fopen(path.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT));
  if (!file.handle_.valid()) {
    return MakeStatus(StatusCode::kInvalidModel,
                      "%s: the HDF5 file cannot be opened (truncated or corrupt)", path.c_str());
  }
  return file;
}

StatusOr<File> File::OpenImage(const std::vector<uint8_t>& bytes, const std::string& name) {
  SilenceErrors();
  static const uint8_t kSignature[8] = {0x89, 'H', 'D', 'F', '\r', '\n', 0x1a, '\n'};
  if (bytes.size() < 8 || std::memcmp(bytes.data(), kSignature, 8) != 0) {
    return MakeStatus(StatusCode::kInvalidModel, "%s: not an HDF5 file", name.c_str());
  }
  Handle fapl(H5Pcreate(H5P_FILE_ACCESS));
  if (!fapl.valid() || H5Pset_fapl_core(fapl.id(), 1 << 16, 0) < 0 ||
      H5Pset_file_image(fapl.id(), const_cast<uint8_t*>(bytes.data()), bytes.size()) < 0) {
    return MakeStatus(StatusCode::kInternal, "%s: cannot set up an in-memory HDF5 file",
                      name.c_str());
  }
  File file;
  file.name_ = name;
  file.handle_ = Handle(H5Fopen(name.c_str(), H5F_ACC_RDONLY, fapl.id()));
  if (!file.handle_.valid()) {
    return MakeStatus(StatusCode::kInvalidModel,
                      "%s: the HDF5 file cannot be opened (truncated or corrupt)", name.c_str());
  }
  return file;
}

StatusOr<File> File::CreateInMemory(const std::string& name) {
  SilenceErrors();
  Handle fapl(H5Pcreate(H5P_FILE_ACCESS));
  if (!fapl.valid() || H5Pset_fapl_core(fapl.id(), 1 << 16, 0) < 0) {
    return MakeStatus(StatusCode::kInternal, "%s: cannot set up an in-memory HDF5 file",
                      name.c_str());
  }
  File file;
  file.name_ = name;
  file.handle_ = Handle(H5Fcreate(name.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, fapl.id()));
  if (!file.handle_.valid()) {
    return MakeStatus(StatusCode::kIoError, "%s: cannot create an HDF5 file in memory",
                      name.c_str());
  }
  return file;
}

StatusOr<std::vector<uint8_t>> File::Image() {
  if (H5Fflush(id(), H5F_SCOPE_GLOBAL) < 0) {
    return MakeStatus(StatusCode::kIoError, "%s: cannot flush", name_.c_str());
  }
  const ssize_t size = H5Fget_file_image(id(), nullptr, 0);
  if (size <= 0) return MakeStatus(StatusCode::kIoError, "%s: empty image", name_.c_str());
  std::vector<uint8_t> bytes(static_cast<size_t>(size));
  if (H5Fget_file_image(id(), bytes.data(), bytes.size()) != size) {
    return MakeStatus(StatusCode::kIoError, "%s: cannot read the file image", name_.c_str());
  }
  return bytes;
}

bool Exists(hid_t loc, const std::string& path) {
  std::string prefix;
  for (const std::string& part : SplitPath(path)) {
    prefix += prefix.empty() ? part : "/" + part;
    if (H5Lexists(loc, prefix.c_str(), H5P_DEFAULT) <= 0) return false;
    if (H5Oexists_by_name(loc, prefix.c_str(), H5P_DEFAULT) <= 0) return false;
  }
  return true;
}

bool IsGroup(hid_t loc, const std::string& path) { return ObjectType(loc, path) == H5I_GROUP; }
bool IsDataset(hid_t loc, const std::string& path) { return ObjectType(loc, path) == H5I_DATASET; }

StatusOr<Handle> OpenGroup(hid_t loc, const std::string& path, const std::string& file) {
  if (!IsGroup(loc, path)) {
    return MakeStatus(StatusCode::kInvalidModel, "%s: group '%s' is missing", file.c_str(),
                      path.c_str());
  }
  Handle group(H5Gopen2(loc, path.c_str(), H5P_DEFAULT));
  if (!group.valid()) {
    return MakeStatus(StatusCode::kInvalidModel, "%s: cannot open group '%s'", file.c_str(),
                      path.c_str());
  }
  return group;
}

StatusOr<Handle> MakeGroup(hid_t loc, const std::string& name, const std::string& file) {
  if (H5Lexists(loc, name.c_str(), H5P_DEFAULT) > 0) return OpenGroup(loc, name, file);
  Handle group(H5Gcreate2(loc, name.c_str(), H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT));
  if (!group.valid()) {
    return MakeStatus(StatusCode::kIoError, "%s: cannot create group '%s'", file.c_str(),
                      name.c_str());
  }
  return group;
}

StatusOr<std::vector<std::string>> ListChildren(hid_t loc, const std::string& file) {
  H5G_info_t info;
  if (H5Gget_info(loc, &info) < 0) {
    return MakeStatus(StatusCode::kInvalidModel, "%s: cannot list a group", file.c_str());
  }
  std::vector<std::string> names;
  for (hsize_t i = 0; i < info.nlinks; ++i) {
    const ssize_t len =
        H5Lget_name_by_idx(loc, ".", H5_INDEX_NAME, H5_ITER_INC, i, nullptr, 0, H5P_DEFAULT);
    if (len < 0 || len > 4096) {
      return MakeStatus(StatusCode::kInvalidModel, "%s: unreadable link name", file.c_str());
    }
    std::string name(static_cast<size_t>(len) + 1, '\0');
    H5Lget_name_by_idx(loc, ".", H5_INDEX_NAME, H5_ITER_INC, i, name.data(), name.size(),
                       H5P_DEFAULT);
    name.resize(static_cast<size_t>(len));
    names.push_back(name);
  }
  return names;
}

bool HasAttribute(hid_t obj, const std::string& name) { return H5Aexists(obj, name.c_str()) > 0; }

namespace {

// Reads every string of one attribute (any shape).
StatusOr<std::vector<std::string>> ReadStrings(hid_t obj, const std::string& name,
                                               const std::string& where) {
  Handle attr(H5Aopen(obj, name.c_str(), H5P_DEFAULT));
  if (!attr.valid()) {
    return MakeStatus(StatusCode::kInvalidModel, "%s: cannot open attribute '%s'", where.c_str(),
                      name.c_str());
  }
  Handle type(H5Aget_type(attr.id()));
  Handle space(H5Aget_space(attr.id()));
  const hssize_t count = H5Sget_simple_extent_npoints(space.id());
  if (!type.valid() || !space.valid() || count < 0 || count > (1 << 24)) {
    return MakeStatus(StatusCode::kInvalidModel, "%s: attribute '%s' is unreadable", where.c_str(),
                      name.c_str());
  }
  std::vector<std::string> result;
  if (H5Tget_class(type.id()) != H5T_STRING) {
    if (count == 0) return result;  // h5py writes [] as an empty float64 array
    return MakeStatus(StatusCode::kInvalidModel, "%s: attribute '%s' is not a string",
                      where.c_str(), name.c_str());
  }
  const htri_t variable = H5Tis_variable_str(type.id());
  if (variable > 0) {
    Handle mem(H5Tcopy(H5T_C_S1));
    H5Tset_size(mem.id(), H5T_VARIABLE);
    H5Tset_cset(mem.id(), H5Tget_cset(type.id()));
    std::vector<char*> ptrs(static_cast<size_t>(count), nullptr);
    if (H5Aread(attr.id(), mem.id(), ptrs.data()) < 0) {
      return MakeStatus(StatusCode::kInvalidModel, "%s: cannot read attribute '%s'", where.c_str(),
                        name.c_str());
    }
    size_t total = 0;
    for (char* p : ptrs) {
      std::string s = p != nullptr ? std::string(p) : std::string();
      total += s.size();
      result.push_back(std::move(s));
    }
    H5Dvlen_reclaim(mem.id(), space.id(), H5P_DEFAULT, ptrs.data());
    if (total > kMaxAttributeBytes) {
      return MakeStatus(StatusCode::kInvalidModel, "%s: attribute '%s' is too large", where.c_str(),
                        name.c_str());
    }
    return result;
  }
  const size_t size = H5Tget_size(type.id());
  if (size == 0 || size * static_cast<size_t>(count) > kMaxAttributeBytes) {
    return MakeStatus(StatusCode::kInvalidModel, "%s: attribute '%s' has a bad size", where.c_str(),
                      name.c_str());
  }
  Handle mem(H5Tcopy(type.id()));
  std::vector<char> buf(size * static_cast<size_t>(count), '\0');
  if (H5Aread(attr.id(), mem.id(), buf.data()) < 0) {
    return MakeStatus(StatusCode::kInvalidModel, "%s: cannot read attribute '%s'", where.c_str(),
                      name.c_str());
  }
  for (hssize_t i = 0; i < count; ++i) {
    const char* p = buf.data() + static_cast<size_t>(i) * size;
    result.emplace_back(p, strnlen(p, size));
  }
  return result;
}

}  // namespace

StatusOr<std::string> ReadStringAttribute(hid_t obj, const std::string& name,
                                          const std::string& where) {
  if (!HasAttribute(obj, name)) {
    return MakeStatus(StatusCode::kInvalidModel, "%s: attribute '%s' is missing", where.c_str(),
                      name.c_str());
  }
  EDGEOPT_ASSIGN_OR_RETURN(std::vector<std::string> values, ReadStrings(obj, name, where));
  EDGEOPT_ENSURE(values.size() == 1, StatusCode::kInvalidModel,
                 "%s: attribute '%s' holds %zu strings, expected one", where.c_str(), name.c_str(),
                 values.size());
  return values[0];
}

StatusOr<std::vector<std::string>> ReadStringListAttribute(hid_t obj, const std::string& name,
                                                           const std::string& where) {
  if (HasAttribute(obj, name)) return ReadStrings(obj, name, where);
  if (!HasAttribute(obj, name + "0")) {
    return MakeStatus(StatusCode::kInvalidModel, "%s: attribute '%s' is missing", where.c_str(),
                      name.c_str());
  }
  std::vector<std::string> all;
  for (int chunk = 0; HasAttribute(obj, name + std::to_string(chunk)); ++chunk) {
    EDGEOPT_ASSIGN_OR_RETURN(std::vector<std::string> part,
                             ReadStrings(obj, name + std::to_string(chunk), where));
    all.insert(all.end(), part.begin(), part.end());
  }
  return all;
}

Status WriteStringAttribute(hid_t obj, const std::string& name, const std::string& value) {
  if (HasAttribute(obj, name)) H5Adelete(obj, name.c_str());
  Handle type(H5Tcopy(H5T_C_S1));
  H5Tset_size(type.id(), H5T_VARIABLE);
  H5Tset_cset(type.id(), H5T_CSET_UTF8);
  Handle space(H5Screate(H5S_SCALAR));
  Handle attr(H5Acreate2(obj, name.c_str(), type.id(), space.id(), H5P_DEFAULT, H5P_DEFAULT));
  const char* p = value.c_str();
  if (!attr.valid() || H5Awrite(attr.id(), type.id(), &p) < 0) {
    return MakeStatus(StatusCode::kIoError, "cannot write attribute '%s'", name.c_str());
  }
  return Status::Ok();
}

namespace {

Status WriteFixedStrings(hid_t obj, const std::string& name,
                         const std::vector<std::string>& values) {
  if (HasAttribute(obj, name)) H5Adelete(obj, name.c_str());
  if (values.empty()) {
    const hsize_t dims[1] = {0};
    Handle space(H5Screate_simple(1, dims, nullptr));
    Handle attr(
        H5Acreate2(obj, name.c_str(), H5T_IEEE_F64LE, space.id(), H5P_DEFAULT, H5P_DEFAULT));
    if (!attr.valid()) {
      return MakeStatus(StatusCode::kIoError, "cannot write attribute '%s'", name.c_str());
    }
    return Status::Ok();
  }
  size_t width = 1;
  for (const std::string& v : values) width = std::max(width, v.size());
  Handle type(H5Tcopy(H5T_C_S1));
  H5Tset_size(type.id(), width);
  H5Tset_strpad(type.id(), H5T_STR_NULLPAD);
  const hsize_t dims[1] = {values.size()};
  Handle space(H5Screate_simple(1, dims, nullptr));
  std::vector<char> buf(width * values.size(), '\0');
  for (size_t i = 0; i < values.size(); ++i) {
    std::memcpy(buf.data() + i * width, values[i].data(), values[i].size());
  }
  Handle attr(H5Acreate2(obj, name.c_str(), type.id(), space.id(), H5P_DEFAULT, H5P_DEFAULT));
  if (!attr.valid() || H5Awrite(attr.id(), type.id(), buf.data()) < 0) {
    return MakeStatus(StatusCode::kIoError, "cannot write attribute '%s'", name.c_str());
  }
  return Status::Ok();
}

}  // namespace

Status WriteStringListAttribute(hid_t obj, const std::string& name,
                                const std::vector<std::string>& values) {
  size_t width = 1;
  for (const std::string& v : values) width = std::max(width, v.size());
  if (width * values.size() <= kAttributeChunkBytes) {
    return WriteFixedStrings(obj, name, values);
  }
  // Split like Keras does for long lists: name0, name1, ...
  const size_t per_chunk = std::max<size_t>(1, kAttributeChunkBytes / width);
  int chunk = 0;
  for (size_t start = 0; start < values.size(); start += per_chunk, ++chunk) {
    const size_t end = std::min(values.size(), start + per_chunk);
    std::vector<std::string> part(values.begin() + start, values.begin() + end);
    EDGEOPT_RETURN_IF_ERROR(WriteFixedStrings(obj, name + std::to_string(chunk), part));
  }
  return Status::Ok();
}

StatusOr<NpyArray> ReadDataset(hid_t loc, const std::string& path, const std::string& where) {
  if (!IsDataset(loc, path)) {
    return MakeStatus(StatusCode::kInvalidModel, "%s: dataset '%s' is missing", where.c_str(),
                      path.c_str());
  }
  Handle dset(H5Dopen2(loc, path.c_str(), H5P_DEFAULT));
  Handle type(dset.valid() ? H5Dget_type(dset.id()) : -1);
  Handle space(dset.valid() ? H5Dget_space(dset.id()) : -1);
  if (!dset.valid() || !type.valid() || !space.valid()) {
    return MakeStatus(StatusCode::kInvalidModel, "%s: cannot open dataset '%s'", where.c_str(),
                      path.c_str());
  }
  const H5T_class_t cls = H5Tget_class(type.id());
  NpyArray array;
  hid_t mem_type;
  if (cls == H5T_FLOAT) {
    array.dtype = DType::kFloat32;
    mem_type = H5T_NATIVE_FLOAT;
  } else if (cls == H5T_INTEGER && H5Tget_size(type.id()) > 4) {
    array.dtype = DType::kInt64;  // Normalization's count, kept int64 when the model is saved
    mem_type = H5T_NATIVE_INT64;
  } else if (cls == H5T_INTEGER) {
    array.dtype = DType::kInt32;
    mem_type = H5T_NATIVE_INT32;
  } else {
    return MakeStatus(StatusCode::kInvalidModel, "%s: dataset '%s' is not numeric", where.c_str(),
                      path.c_str());
  }
  const int rank = H5Sget_simple_extent_ndims(space.id());
  if (rank < 0 || rank > 8) {
    return MakeStatus(StatusCode::kInvalidModel, "%s: dataset '%s' has rank %d", where.c_str(),
                      path.c_str(), rank);
  }
  hsize_t dims[8] = {0};
  if (rank > 0) H5Sget_simple_extent_dims(space.id(), dims, nullptr);
  int64_t count = 1;
  for (int d = 0; d < rank; ++d) {
    const int64_t dim = dims[d] > static_cast<hsize_t>(kMaxElements)
                            ? kMaxElements + 1
                            : static_cast<int64_t>(dims[d]);
    if (dim != 0 && count > kMaxElements / dim) {
      count = kMaxElements + 1;
      break;
    }
    count *= dim;
    array.shape.push_back(dim);
  }
  if (count > kMaxElements) {
    return MakeStatus(StatusCode::kInvalidModel, "%s: dataset '%s' is too large", where.c_str(),
                      path.c_str());
  }
  array.data.resize(static_cast<size_t>(count) * DTypeSize(array.dtype));
  if (count > 0 &&
      H5Dread(dset.id(), mem_type, H5S_ALL, H5S_ALL, H5P_DEFAULT, array.data.data()) < 0) {
    return MakeStatus(StatusCode::kInvalidModel,
                      "%s: cannot read dataset '%s' (truncated or corrupt file)", where.c_str(),
                      path.c_str());
  }
  return array;
}

Status WriteDataset(hid_t loc, const std::string& name, const NpyArray& array,
                    const std::string& where) {
  hid_t file_type, mem_type;
  if (array.dtype == DType::kFloat32) {
    file_type = H5T_IEEE_F32LE;
    mem_type = H5T_NATIVE_FLOAT;
  } else if (array.dtype == DType::kInt32) {
    file_type = H5T_STD_I32LE;
    mem_type = H5T_NATIVE_INT32;
  } else if (array.dtype == DType::kInt64) {  // Normalization's count
    file_type = H5T_STD_I64LE;
    mem_type = H5T_NATIVE_INT64;
  } else {
    return MakeStatus(StatusCode::kUnsupported, "%s: cannot write a %s dataset '%s'", where.c_str(),
                      DTypeName(array.dtype), name.c_str());
  }
  std::vector<hsize_t> dims(array.shape.begin(), array.shape.end());
  Handle space(dims.empty()
                   ? H5Screate(H5S_SCALAR)
                   : H5Screate_simple(static_cast<int>(dims.size()), dims.data(), nullptr));
  Handle dset(
      H5Dcreate2(loc, name.c_str(), file_type, space.id(), H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT));
  if (!dset.valid()) {
    return MakeStatus(StatusCode::kIoError, "%s: cannot create dataset '%s'", where.c_str(),
                      name.c_str());
  }
  if (array.NumElements() > 0 &&
      H5Dwrite(dset.id(), mem_type, H5S_ALL, H5S_ALL, H5P_DEFAULT, array.data.data()) < 0) {
    return MakeStatus(StatusCode::kIoError, "%s: cannot write dataset '%s'", where.c_str(),
                      name.c_str());
  }
  return Status::Ok();
}

}  // namespace h5
}  // namespace keras
}  // namespace edgeopt
