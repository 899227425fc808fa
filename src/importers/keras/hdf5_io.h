// A thin, checked layer over libhdf5's C API for the Keras reader and writer: files opened from a
// path or from bytes in memory (model.weights.h5 inside a .keras zip), groups, string attributes
// (fixed or variable length, as h5py writes them) and float datasets. Every call is checked and
// turned into a Status naming the file and the object; libhdf5's own error printing is silenced.
#ifndef EDGEOPT_SRC_IMPORTERS_KERAS_HDF5_IO_H_
#define EDGEOPT_SRC_IMPORTERS_KERAS_HDF5_IO_H_

#include <hdf5.h>

#include <cstdint>
#include <string>
#include <vector>

#include "include/edgeopt/status.h"
#include "src/util/npy.h"

namespace edgeopt {
namespace keras {
namespace h5 {

// Owns one hid_t (file, group, dataset, attribute, type, space or property list).
class Handle {
 public:
  Handle() = default;
  explicit Handle(hid_t id) : id_(id) {}
  ~Handle() { Reset(); }
  Handle(Handle&& other) noexcept : id_(other.id_) { other.id_ = -1; }
  Handle& operator=(Handle&& other) noexcept {
    if (this != &other) {
      Reset();
      id_ = other.id_;
      other.id_ = -1;
    }
    return *this;
  }
  Handle(const Handle&) = delete;
  Handle& operator=(const Handle&) = delete;

  hid_t id() const { return id_; }
  bool valid() const { return id_ >= 0; }
  void Reset();

 private:
  hid_t id_ = -1;
};

// An open HDF5 file; `name` is used in every message.
class File {
 public:
  static StatusOr<File> Open(const std::string& path);
  // Opens an in-memory file image (copied); `name` e.g. "m.keras:model.weights.h5".
  static StatusOr<File> OpenImage(const std::vector<uint8_t>& bytes, const std::string& name);
  // A new, empty file that lives in memory only; Image() returns its bytes.
  static StatusOr<File> CreateInMemory(const std::string& name);

  hid_t id() const { return handle_.id(); }
  const std::string& name() const { return name_; }
  StatusOr<std::vector<uint8_t>> Image();

 private:
  Handle handle_;
  std::string name_;
};

// Silences libhdf5's automatic error printing (idempotent).
void SilenceErrors();

// True if `path` (relative to `loc`, "a/b/c") exists; every component is checked in turn.
bool Exists(hid_t loc, const std::string& path);
bool IsGroup(hid_t loc, const std::string& path);
bool IsDataset(hid_t loc, const std::string& path);
StatusOr<Handle> OpenGroup(hid_t loc, const std::string& path, const std::string& file);
// Creates `name` (one component) under `loc`, or opens it when it exists.
StatusOr<Handle> MakeGroup(hid_t loc, const std::string& name, const std::string& file);
// Names of the links directly under the group `loc`, in name order.
StatusOr<std::vector<std::string>> ListChildren(hid_t loc, const std::string& file);

bool HasAttribute(hid_t obj, const std::string& name);
StatusOr<std::string> ReadStringAttribute(hid_t obj, const std::string& name,
                                          const std::string& where);
// A list of strings; an empty numeric array (h5py's encoding of []) gives an empty list. Lists that
// h5py split into "name0", "name1", ... (attributes over 64 KiB) are joined.
StatusOr<std::vector<std::string>> ReadStringListAttribute(hid_t obj, const std::string& name,
                                                           const std::string& where);
// Variable-length UTF-8 scalar string (as h5py writes a str).
Status WriteStringAttribute(hid_t obj, const std::string& name, const std::string& value);
// Fixed-length, NUL-padded strings (as h5py writes a list of bytes); [] is written as an empty
// float64 array, as h5py does.
Status WriteStringListAttribute(hid_t obj, const std::string& name,
                                const std::vector<std::string>& values);

// Reads a numeric dataset: floating types as float32, integer types as int32 (rank <= 8).
StatusOr<NpyArray> ReadDataset(hid_t loc, const std::string& path, const std::string& where);
// Writes a float32 / int32 array as a contiguous dataset `name` under `loc`.
Status WriteDataset(hid_t loc, const std::string& name, const NpyArray& array,
                    const std::string& where);

}  // namespace h5
}  // namespace keras
}  // namespace edgeopt

#endif  // EDGEOPT_SRC_IMPORTERS_KERAS_HDF5_IO_H_
