// Helpers shared by the elementwise / shape / pooling kernels (the "elementwise" family of
// registry_elementwise.cc): op-data allocation, input/output fetching with messages, quantization
// checks, axis handling and reading small constant int tensors.
#ifndef EDGEOPT_SRC_RUNTIME_KERNELS_ELEM_UTIL_H_
#define EDGEOPT_SRC_RUNTIME_KERNELS_ELEM_UTIL_H_

#include <algorithm>
#include <cstdint>
#include <limits>
#include <new>
#include <string>
#include <type_traits>

#include "include/edgeopt/status.h"
#include "src/runtime/kernel_api.h"
#include "src/runtime/kernels/kernel_util.h"
#include "src/runtime/kernels/reference/broadcast.h"
#include "src/runtime/tensor.h"
#include "src/runtime/thread_pool.h"

namespace edgeopt {
namespace rt {

// Op data from persistent memory, value-initialized. T must be trivially destructible (the
// interpreter frees the block without running destructors).
template <typename T>
T* NewOpData(Context* ctx) {
  static_assert(std::is_trivially_destructible<T>::value, "op data is never destroyed");
  void* p = ctx->AllocatePersistent(sizeof(T));
  return p != nullptr ? new (p) T() : nullptr;
}

// Init function for kernels whose op data is T.
template <typename T>
void* InitOpData(Context* ctx, const Node*) {
  return NewOpData<T>(ctx);
}

// Fetches op data in Prepare, failing cleanly if Init ran out of memory.
template <typename T>
Status GetOpData(Node* node, T** data) {
  *data = static_cast<T*>(node->user_data);
  EDGEOPT_ENSURE(*data != nullptr, StatusCode::kOutOfMemory, "out of memory for op data");
  return Status::Ok();
}

// The node's i-th input / output, with an error naming the slot when it is absent.
Status GetInputChecked(Context* ctx, const Node* node, int i, Tensor** t);
Status GetOutputChecked(Context* ctx, const Node* node, int i, Tensor** t);

// Representable range of an integer type used for quantized data.
int32_t QuantMin(DType type);
int32_t QuantMax(DType type);

// A per-tensor quantized tensor: scale finite and > 0, zero point in the type's range.
Status CheckPerTensorQuant(const Tensor* t, const char* what);
// Same scale and zero point (ops that only move quantized values).
Status CheckSameQuant(const Tensor* a, const Tensor* b, const char* what_a, const char* what_b);
// Both have the same dtype.
Status CheckSameType(const Tensor* a, const Tensor* b, const char* what_a, const char* what_b);
// Same dims.
Status CheckSameDims(const Tensor* a, const Tensor* b, const char* what_a, const char* what_b);

// Normalizes a possibly negative axis into [0, rank).
Status NormalizeAxis(int64_t axis, int rank, const char* what, int* out);

// Reads a constant (or folded) int32/int64 tensor into `values` (at most `max_count`). Fails if the
// tensor is not constant, has another type, or too many elements.
Status ReadConstInts(const Tensor* t, const char* what, int64_t* values, int max_count, int* count);
// Reads element i of an int32/int64 tensor (no checks; for Eval of validated tensors).
inline int64_t IntAt(const Tensor* t, int64_t i) {
  return t->type == DType::kInt64 ? t->Data<int64_t>()[i]
                                  : static_cast<int64_t>(t->Data<int32_t>()[i]);
}

// Dims from a list of values (each checked to be in [0, INT32_MAX]).
Status DimsFromValues(const int64_t* values, int count, const char* what, Dims* dims);

// "[1,2,3]" for messages (static buffer per call site is not needed: returns a std::string).
std::string DimsStr(const Dims& d);

// Binary elementwise ops: exactly two inputs of the same type and one output; the output is resized
// to the broadcast shape and `plan` describes how to walk it.
Status PrepareBroadcastBinary(Context* ctx, Node* node, Tensor** a, Tensor** b, Tensor** out,
                              ref::BroadcastPlan* plan);

// Fused activation of an op's options as an int (0 none, 1 relu, 2 relu_n1_to_1, 3 relu6, ...).
template <typename Options>
int FusedActivation(const Node* node) {
  const Options* o = GetOptions<Options>(node);
  return o != nullptr ? static_cast<int>(o->fused_activation_function()) : 0;
}

// Activation clamp range for non-quantized integer outputs (as TFLite's
// CalculateActivationRange<int32/int64>).
template <typename T>
void ActivationRangeInt(int activation, T* lo, T* hi) {
  *lo = std::numeric_limits<T>::lowest();
  *hi = std::numeric_limits<T>::max();
  if (activation == 1) *lo = 0;
  if (activation == 3) {
    *lo = 0;
    *hi = 6;
  }
  if (activation == 2) {
    *lo = -1;
    *hi = 1;
  }
}

// Saturating cast of a wide integer to the range of T.
template <typename T>
inline T SaturateCast(int64_t v) {
  const int64_t lo = static_cast<int64_t>(std::numeric_limits<T>::min());
  const int64_t hi = static_cast<int64_t>(std::numeric_limits<T>::max());
  return static_cast<T>(v < lo ? lo : (v > hi ? hi : v));
}

// Splits [0, n) into chunks of at least `min_chunk` (boundaries multiples of 64) over the pool
// and calls fn(begin, end) for each; small n runs on the calling thread.
template <typename F>
void ParallelRange(Context* ctx, int64_t n, int64_t min_chunk, F&& fn) {
  ThreadPool* pool = ctx->thread_pool();
  const int threads = pool->num_threads();
  if (threads <= 1 || n < 2 * min_chunk) {
    fn(int64_t{0}, n);
    return;
  }
  const int64_t chunks = std::min<int64_t>(threads * 2, n / min_chunk);
  pool->ParallelFor(static_cast<int>(chunks), [&](int c, int) {
    const int64_t begin = (n * c / chunks) & ~int64_t{63};
    const int64_t end = c + 1 == chunks ? n : (n * (c + 1) / chunks) & ~int64_t{63};
    if (end > begin) fn(begin, end);
  });
}

}  // namespace rt
}  // namespace edgeopt

#endif  // EDGEOPT_SRC_RUNTIME_KERNELS_ELEM_UTIL_H_
