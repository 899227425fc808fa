// Type-agnostic data movement: strided N-d copies on raw bytes (element sizes 1, 2, 4, 8), used by
// TRANSPOSE, SLICE / STRIDED_SLICE, PAD, TILE and friends. Strides are in elements and may be zero
// or negative; the caller guarantees every address stays inside the buffers.
#ifndef EDGEOPT_SRC_RUNTIME_KERNELS_REFERENCE_DATA_MOVEMENT_H_
#define EDGEOPT_SRC_RUNTIME_KERNELS_REFERENCE_DATA_MOVEMENT_H_

#include <cstdint>
#include <cstring>

#include "src/runtime/tensor.h"

namespace edgeopt {
namespace rt {
namespace ref {

// Row-major element strides of `dims`.
inline void ContiguousStrides(const Dims& dims, int64_t* strides) {
  int64_t s = 1;
  for (int i = dims.size - 1; i >= 0; --i) {
    strides[i] = s;
    s *= dims.data[i];
  }
}

template <typename T>
inline void CopyRow(const T* src, int64_t src_stride, T* dst, int64_t dst_stride, int64_t n) {
  if (src_stride == 1 && dst_stride == 1 && n > 8) {
    std::memcpy(dst, src, static_cast<size_t>(n) * sizeof(T));
    return;
  }
  for (int64_t i = 0; i < n; ++i) dst[i * dst_stride] = src[i * src_stride];
}

template <typename T>
void StridedCopyTyped(const T* src, const int64_t* src_strides, T* dst, const int64_t* dst_strides,
                      const int64_t* dims, int rank) {
  for (int d = 0; d < rank; ++d) {
    if (dims[d] == 0) return;
  }
  if (rank == 0) {
    *dst = *src;
    return;
  }
  const int last = rank - 1;
  int64_t rows = 1;
  for (int d = 0; d < last; ++d) rows *= dims[d];
  int64_t index[kMaxDims] = {};
  int64_t so = 0, dof = 0;
  for (int64_t r = 0; r < rows; ++r) {
    CopyRow(src + so, src_strides[last], dst + dof, dst_strides[last], dims[last]);
    for (int d = last - 1; d >= 0; --d) {
      ++index[d];
      so += src_strides[d];
      dof += dst_strides[d];
      if (index[d] < dims[d]) break;
      so -= src_strides[d] * dims[d];
      dof -= dst_strides[d] * dims[d];
      index[d] = 0;
    }
  }
}

// dst[sum(i_d * dst_strides[d])] = src[sum(i_d * src_strides[d])] over the index box `dims`.
inline void StridedCopy(const void* src, const int64_t* src_strides, void* dst,
                        const int64_t* dst_strides, const int64_t* dims, int rank,
                        size_t elem_size) {
  switch (elem_size) {
    case 1:
      StridedCopyTyped(static_cast<const uint8_t*>(src), src_strides, static_cast<uint8_t*>(dst),
                       dst_strides, dims, rank);
      break;
    case 2:
      StridedCopyTyped(static_cast<const uint16_t*>(src), src_strides, static_cast<uint16_t*>(dst),
                       dst_strides, dims, rank);
      break;
    case 4:
      StridedCopyTyped(static_cast<const uint32_t*>(src), src_strides, static_cast<uint32_t*>(dst),
                       dst_strides, dims, rank);
      break;
    case 8:
      StridedCopyTyped(static_cast<const uint64_t*>(src), src_strides, static_cast<uint64_t*>(dst),
                       dst_strides, dims, rank);
      break;
    default:
      break;
  }
}

// Fills `count` elements of `elem_size` bytes with the bytes of `value`.
inline void FillBytes(void* dst, int64_t count, const void* value, size_t elem_size) {
  uint8_t* d = static_cast<uint8_t*>(dst);
  bool all_zero = true;
  for (size_t i = 0; i < elem_size; ++i) all_zero &= static_cast<const uint8_t*>(value)[i] == 0;
  if (all_zero) {
    std::memset(d, 0, static_cast<size_t>(count) * elem_size);
    return;
  }
  for (int64_t i = 0; i < count; ++i) std::memcpy(d + i * elem_size, value, elem_size);
}

}  // namespace ref
}  // namespace rt
}  // namespace edgeopt

#endif  // EDGEOPT_SRC_RUNTIME_KERNELS_REFERENCE_DATA_MOVEMENT_H_
