// Reads from verified flatbuffers that the Verifier does not make safe by itself.
#ifndef EDGEOPT_SRC_RUNTIME_FLATBUFFER_READ_H_
#define EDGEOPT_SRC_RUNTIME_FLATBUFFER_READ_H_

#include <cstdint>
#include <cstring>

#include "flatbuffers/flatbuffers.h"

namespace edgeopt {
namespace rt {

// Element i (< v.size()) of an int64 vector. The Verifier checks a vector's length word for
// 4-byte alignment only, so in a hostile file the 8-byte elements may be misaligned (a plain
// Get is then undefined behaviour): the bytes are copied instead.
inline int64_t Int64At(const flatbuffers::Vector<int64_t>& v, flatbuffers::uoffset_t i) {
  int64_t x;
  std::memcpy(&x, v.Data() + sizeof(int64_t) * i, sizeof(x));
  return flatbuffers::EndianScalar(x);
}

}  // namespace rt
}  // namespace edgeopt

#endif  // EDGEOPT_SRC_RUNTIME_FLATBUFFER_READ_H_
