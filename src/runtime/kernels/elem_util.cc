#include "src/runtime/kernels/elem_util.h"

#include <cmath>
#include <string>

namespace edgeopt {
namespace rt {

Status GetInputChecked(Context* ctx, const Node* node, int i, Tensor** t) {
  *t = ctx->input(node, i);
  EDGEOPT_ENSURE(*t != nullptr, StatusCode::kInvalidModel, "input %d is missing (the node has %d)",
                 i, node->num_inputs);
  return Status::Ok();
}

Status GetOutputChecked(Context* ctx, const Node* node, int i, Tensor** t) {
  *t = ctx->output(node, i);
  EDGEOPT_ENSURE(*t != nullptr, StatusCode::kInvalidModel, "output %d is missing (the node has %d)",
                 i, node->num_outputs);
  return Status::Ok();
}

int32_t QuantMin(DType type) {
  switch (type) {
    case DType::kInt8:
      return -128;
    case DType::kUInt8:
      return 0;
    case DType::kInt16:
      return -32768;
    default:
      return std::numeric_limits<int32_t>::min();
  }
}

int32_t QuantMax(DType type) {
  switch (type) {
    case DType::kInt8:
      return 127;
    case DType::kUInt8:
      return 255;
    case DType::kInt16:
      return 32767;
    default:
      return std::numeric_limits<int32_t>::max();
  }
}

Status CheckPerTensorQuant(const Tensor* t, const char* what) {
  EDGEOPT_ENSURE(t->quant.IsQuantized(), StatusCode::kInvalidModel,
                 "%s (%s, %s) has no quantization parameters", what, t->name, DTypeName(t->type));
  EDGEOPT_ENSURE(!t->quant.IsPerChannel(), StatusCode::kUnsupported,
                 "%s (%s) is quantized per channel (%d scales); this op needs one scale", what,
                 t->name, t->quant.num_channels);
  const float s = t->quant.scale;
  EDGEOPT_ENSURE(std::isfinite(s) && s > 0.0f, StatusCode::kInvalidModel,
                 "%s (%s): scale %g must be finite and positive", what, t->name, s);
  const int32_t zp = t->quant.zero_point;
  EDGEOPT_ENSURE(zp >= QuantMin(t->type) && zp <= QuantMax(t->type), StatusCode::kInvalidModel,
                 "%s (%s): zero point %d is outside the %s range", what, t->name, zp,
                 DTypeName(t->type));
  return Status::Ok();
}

Status CheckSameQuant(const Tensor* a, const Tensor* b, const char* what_a, const char* what_b) {
  EDGEOPT_ENSURE(a->quant.scale == b->quant.scale && a->quant.zero_point == b->quant.zero_point,
                 StatusCode::kUnsupported,
                 "%s (scale %g, zero point %d) and %s (scale %g, zero point "
                 "%d) must have the same "
                 "quantization",
                 what_a, a->quant.scale, a->quant.zero_point, what_b, b->quant.scale,
                 b->quant.zero_point);
  return Status::Ok();
}

Status CheckSameType(const Tensor* a, const Tensor* b, const char* what_a, const char* what_b) {
  EDGEOPT_ENSURE(a->type == b->type, StatusCode::kInvalidModel,
                 "%s has type %s but %s has type %s; they must match", what_a, DTypeName(a->type),
                 what_b, DTypeName(b->type));
  return Status::Ok();
}

Status CheckSameDims(const Tensor* a, const Tensor* b, const char* what_a, const char* what_b) {
  EDGEOPT_ENSURE(a->dims == b->dims, StatusCode::kInvalidModel,
                 "%s has shape %s but %s has shape %s; they must match", what_a,
                 DimsStr(a->dims).c_str(), what_b, DimsStr(b->dims).c_str());
  return Status::Ok();
}

Status NormalizeAxis(int64_t axis, int rank, const char* what, int* out) {
  EDGEOPT_ENSURE(axis >= -rank && axis < rank && rank > 0, StatusCode::kInvalidModel,
                 "%s %lld is out of range for rank %d (expected [%d, %d))", what,
                 static_cast<long long>(axis), rank, -rank, rank);
  *out = static_cast<int>(axis < 0 ? axis + rank : axis);
  return Status::Ok();
}

Status ReadConstInts(const Tensor* t, const char* what, int64_t* values, int max_count,
                     int* count) {
  EDGEOPT_ENSURE(t->type == DType::kInt32 || t->type == DType::kInt64, StatusCode::kInvalidModel,
                 "%s (%s) has type %s, expected int32 or int64", what, t->name, DTypeName(t->type));
  EDGEOPT_ENSURE(t->IsConstant(), StatusCode::kUnsupported,
                 "%s (%s) is computed at run time; only constant %s tensors "
                 "are supported (the "
                 "runtime has no dynamic shapes)",
                 what, t->name, what);
  const int64_t n = t->dims.NumElements();
  EDGEOPT_ENSURE(n <= max_count, StatusCode::kInvalidModel,
                 "%s (%s) has %lld elements, at most %d expected", what, t->name,
                 static_cast<long long>(n), max_count);
  EDGEOPT_ENSURE(n == 0 || t->data != nullptr, StatusCode::kInvalidModel, "%s (%s) has no data",
                 what, t->name);
  for (int64_t i = 0; i < n; ++i) values[i] = IntAt(t, i);
  *count = static_cast<int>(n);
  return Status::Ok();
}

Status DimsFromValues(const int64_t* values, int count, const char* what, Dims* dims) {
  EDGEOPT_ENSURE(count >= 0 && count <= kMaxDims, StatusCode::kUnsupported,
                 "%s has rank %d; at most %d is supported", what, count, kMaxDims);
  Dims d;
  d.size = count;
  for (int i = 0; i < count; ++i) {
    EDGEOPT_ENSURE(values[i] >= 0 && values[i] <= std::numeric_limits<int32_t>::max(),
                   StatusCode::kInvalidModel, "%s: dimension %d is %lld", what, i,
                   static_cast<long long>(values[i]));
    d.data[i] = static_cast<int32_t>(values[i]);
  }
  *dims = d;
  return Status::Ok();
}

Status PrepareBroadcastBinary(Context* ctx, Node* node, Tensor** a, Tensor** b, Tensor** out,
                              ref::BroadcastPlan* plan) {
  EDGEOPT_RETURN_IF_ERROR(CheckNumInputs(node, 2, 2));
  EDGEOPT_RETURN_IF_ERROR(CheckNumOutputs(node, 1));
  EDGEOPT_RETURN_IF_ERROR(GetInputChecked(ctx, node, 0, a));
  EDGEOPT_RETURN_IF_ERROR(GetInputChecked(ctx, node, 1, b));
  EDGEOPT_RETURN_IF_ERROR(GetOutputChecked(ctx, node, 0, out));
  EDGEOPT_RETURN_IF_ERROR(CheckSameType(*a, *b, "input 0", "input 1"));
  Dims out_dims;
  EDGEOPT_RETURN_IF_ERROR(BroadcastDims((*a)->dims, (*b)->dims, &out_dims));
  EDGEOPT_RETURN_IF_ERROR(ctx->ResizeTensor(*out, out_dims));
  *plan = ref::MakeBroadcastPlan((*a)->dims, (*b)->dims, out_dims);
  return Status::Ok();
}

std::string DimsStr(const Dims& d) {
  std::string s = "[";
  for (int i = 0; i < d.size; ++i) {
    if (i > 0) s += ",";
    s += std::to_string(d.data[i]);
  }
  return s + "]";
}

}  // namespace rt
}  // namespace edgeopt
