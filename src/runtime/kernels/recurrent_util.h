// Checks shared by the recurrent kernels (LSTM, SVDF, RNN): state tensors, per-tensor scales,
// sizes. Prepare-time only.
#ifndef EDGEOPT_SRC_RUNTIME_KERNELS_RECURRENT_UTIL_H_
#define EDGEOPT_SRC_RUNTIME_KERNELS_RECURRENT_UTIL_H_

#include <cmath>
#include <cstdint>

#include "include/edgeopt/status.h"
#include "src/runtime/kernel_api.h"
#include "src/runtime/tensor.h"

namespace edgeopt {
namespace rt {

// Largest element count the recurrent kernels index with `int` arithmetic.
constexpr int64_t kMaxRecurrentElements = int64_t{1} << 28;

// A state tensor the kernel writes: it must be a variable tensor in persistent memory (writing a
// constant would fault on the read-only mapping), of the given type and element count.
inline Status CheckStateTensor(const Tensor* t, DType type, int64_t elements, const char* what) {
  EDGEOPT_ENSURE(t != nullptr, StatusCode::kInvalidModel, "%s is missing", what);
  EDGEOPT_ENSURE(t->is_variable && t->allocation == Allocation::kPersistent && t->data != nullptr,
                 StatusCode::kInvalidModel,
                 "%s (%s) must be a variable tensor (is_variable) because the "
                 "op writes it",
                 what, t->name);
  EDGEOPT_ENSURE(t->type == type, StatusCode::kUnsupported, "%s (%s) has type %s, expected %s",
                 what, t->name, DTypeName(t->type), DTypeName(type));
  EDGEOPT_ENSURE(t->dims.NumElements() == elements, StatusCode::kInvalidModel,
                 "%s (%s) has %lld elements, expected %lld", what, t->name,
                 static_cast<long long>(t->dims.NumElements()), static_cast<long long>(elements));
  EDGEOPT_ENSURE(t->bytes >= static_cast<size_t>(elements) * DTypeSize(type), StatusCode::kInternal,
                 "%s (%s) is smaller than its shape", what, t->name);
  return Status::Ok();
}

// The per-tensor scale of a quantized tensor; per-channel and missing scales are refused.
inline Status PerTensorScale(const Tensor* t, const char* what, float* scale) {
  EDGEOPT_ENSURE(t->quant.IsQuantized(), StatusCode::kInvalidModel,
                 "%s (%s) has no quantization parameters", what, t->name);
  EDGEOPT_ENSURE(!t->quant.IsPerChannel(), StatusCode::kUnsupported,
                 "%s (%s) is quantized per channel; TFLite 2.9 supports only "
                 "per-tensor scales "
                 "here",
                 what, t->name);
  EDGEOPT_ENSURE(std::isfinite(t->quant.scale) && t->quant.scale > 0.0f, StatusCode::kInvalidModel,
                 "%s (%s) has scale %g; expected finite and positive", what, t->name,
                 static_cast<double>(t->quant.scale));
  *scale = t->quant.scale;
  return Status::Ok();
}

// A weight the kernel precomputes from at Prepare time (row sums, effective biases).
inline Status CheckConstant(const Tensor* t, const char* what) {
  EDGEOPT_ENSURE(t->IsConstant() && t->data != nullptr, StatusCode::kUnsupported,
                 "%s (%s) must be a constant tensor for quantized recurrent kernels", what,
                 t->name);
  EDGEOPT_ENSURE(t->sparsity == nullptr, StatusCode::kUnsupported,
                 "%s (%s) is sparse; sparse recurrent weights are not supported", what, t->name);
  return Status::Ok();
}

// Checks a tensor's rank and dimensions (-1 in `dims` accepts any size).
inline Status CheckDims(const Tensor* t, const char* what, int rank, const int32_t* dims) {
  EDGEOPT_ENSURE(t->dims.size == rank, StatusCode::kInvalidModel,
                 "%s (%s) has rank %d, expected %d", what, t->name, t->dims.size, rank);
  for (int i = 0; i < rank; ++i) {
    EDGEOPT_ENSURE(dims[i] < 0 || t->dims[i] == dims[i], StatusCode::kInvalidModel,
                   "%s (%s): dimension %d is %d, expected %d", what, t->name, i, t->dims[i],
                   dims[i]);
  }
  return Status::Ok();
}

}  // namespace rt
}  // namespace edgeopt

#endif  // EDGEOPT_SRC_RUNTIME_KERNELS_RECURRENT_UTIL_H_
