#include "src/runtime/kernels/kernel_util.h"

#include <algorithm>
#include <climits>
#include <cstdio>

namespace edgeopt {
namespace rt {

// 64-bit intermediate math: hostile strides, dilations and sizes must not overflow. Results
// that do not fit an int (or are negative) come back as 0 / clamped; kernels reject a zero
// output size in Prepare.
static int ClampToInt(int64_t v) {
  if (v < 0) return 0;
  return v > INT32_MAX ? INT32_MAX : static_cast<int>(v);
}

int ComputeOutSize(tflite::Padding padding, int image_size, int filter_size, int stride,
                   int dilation) {
  if (stride <= 0 || dilation <= 0 || filter_size <= 0 || image_size < 0) return 0;
  const int64_t effective_filter = (static_cast<int64_t>(filter_size) - 1) * dilation + 1;
  switch (padding) {
    case tflite::Padding::SAME:
      return ClampToInt((static_cast<int64_t>(image_size) + stride - 1) / stride);
    case tflite::Padding::VALID: {
      const int64_t n = static_cast<int64_t>(image_size) + stride - effective_filter;
      return n < 0 ? 0 : ClampToInt(n / stride);
    }
  }
  return 0;
}

static int PaddingWithOffset(int stride, int dilation, int in_size, int filter_size, int out_size,
                             int* offset) {
  const int64_t effective_filter = (static_cast<int64_t>(filter_size) - 1) * dilation + 1;
  int64_t total = (static_cast<int64_t>(out_size) - 1) * stride + effective_filter - in_size;
  total = total > 0 ? total : 0;
  *offset = static_cast<int>(total % 2);
  return ClampToInt(total / 2);
}

Padding2D ComputePadding(tflite::Padding padding, int stride_h, int stride_w, int dilation_h,
                         int dilation_w, int in_h, int in_w, int filter_h, int filter_w, int* out_h,
                         int* out_w) {
  *out_h = ComputeOutSize(padding, in_h, filter_h, stride_h, dilation_h);
  *out_w = ComputeOutSize(padding, in_w, filter_w, stride_w, dilation_w);
  Padding2D p;
  p.height = PaddingWithOffset(stride_h, dilation_h, in_h, filter_h, *out_h, &p.height_offset);
  p.width = PaddingWithOffset(stride_w, dilation_w, in_w, filter_w, *out_w, &p.width_offset);
  return p;
}

Status BroadcastDims(const Dims& a, const Dims& b, Dims* out) {
  const int rank = std::max(a.size, b.size);
  Dims r;
  r.size = rank;
  for (int i = 0; i < rank; ++i) {
    const int ia = a.size - rank + i;
    const int ib = b.size - rank + i;
    const int32_t da = ia >= 0 ? a.data[ia] : 1;
    const int32_t db = ib >= 0 ? b.data[ib] : 1;
    if (da != db && da != 1 && db != 1) {
      char sa[96], sb[96];
      return MakeStatus(StatusCode::kInvalidModel, "shapes %s and %s do not broadcast",
                        DimsToString(a, sa, sizeof(sa)), DimsToString(b, sb, sizeof(sb)));
    }
    r.data[i] = da == 1 ? db : da;
  }
  *out = r;
  return Status::Ok();
}

const char* DimsToString(const Dims& dims, char* buffer, int size) {
  int n = std::snprintf(buffer, size, "[");
  for (int i = 0; i < dims.size && n < size; ++i) {
    n += std::snprintf(buffer + n, size - n, i == 0 ? "%d" : ",%d", dims.data[i]);
  }
  if (n < size) std::snprintf(buffer + n, size - n, "]");
  return buffer;
}

Status CheckTensorType(const Tensor* t, DType type, const char* what) {
  EDGEOPT_ENSURE(t != nullptr, StatusCode::kInvalidModel, "%s is missing", what);
  EDGEOPT_ENSURE(t->type == type, StatusCode::kUnsupported, "%s (%s) has type %s, expected %s",
                 what, t->name, DTypeName(t->type), DTypeName(type));
  return Status::Ok();
}

Status CheckNumInputs(const Node* node, int min_inputs, int max_inputs) {
  EDGEOPT_ENSURE(node->num_inputs >= min_inputs && node->num_inputs <= max_inputs,
                 StatusCode::kInvalidModel, "has %d inputs, expected %d to %d", node->num_inputs,
                 min_inputs, max_inputs);
  return Status::Ok();
}

Status CheckNumOutputs(const Node* node, int n) {
  EDGEOPT_ENSURE(node->num_outputs == n, StatusCode::kInvalidModel, "has %d outputs, expected %d",
                 node->num_outputs, n);
  for (int i = 0; i < n; ++i) {
    EDGEOPT_ENSURE(node->outputs[i] >= 0, StatusCode::kInvalidModel, "output %d is absent", i);
  }
  return Status::Ok();
}

}  // namespace rt
}  // namespace edgeopt
