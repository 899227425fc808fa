// TRANSPOSE (any permutation up to 8-d), PAD and PADV2 (constant padding;
// quantized PAD pads with the output zero point, as TFLite). Parameters come
// from constant int32/int64 tensors and are validated in Prepare.
#include <cstring>

#include "src/runtime/kernels/elem_util.h"
#include "src/runtime/kernels/reference/data_movement.h"

namespace edgeopt {
namespace rt {
namespace {

// --- TRANSPOSE
// ------------------------------------------------------------------------------------

struct TransposeData {
  int perm[kMaxDims] = {};
};

Status TransposePrepare(Context* ctx, Node* node) {
  TransposeData* data;
  EDGEOPT_RETURN_IF_ERROR(GetOpData(node, &data));
  EDGEOPT_RETURN_IF_ERROR(CheckNumInputs(node, 2, 2));
  EDGEOPT_RETURN_IF_ERROR(CheckNumOutputs(node, 1));
  Tensor *in, *perm_t, *out;
  EDGEOPT_RETURN_IF_ERROR(GetInputChecked(ctx, node, 0, &in));
  EDGEOPT_RETURN_IF_ERROR(GetInputChecked(ctx, node, 1, &perm_t));
  EDGEOPT_RETURN_IF_ERROR(GetOutputChecked(ctx, node, 0, &out));
  EDGEOPT_RETURN_IF_ERROR(CheckSameType(in, out, "input", "output"));
  EDGEOPT_ENSURE(DTypeSize(in->type) != 0, StatusCode::kUnsupported, "type %s is not supported",
                 DTypeName(in->type));
  int64_t perm[kMaxDims];
  int count;
  EDGEOPT_RETURN_IF_ERROR(ReadConstInts(perm_t, "perm", perm, kMaxDims, &count));
  const int rank = in->dims.size;
  EDGEOPT_ENSURE(count == rank, StatusCode::kInvalidModel,
                 "perm has %d entries but the input has rank %d", count, rank);
  bool seen[kMaxDims] = {};
  Dims dims;
  dims.size = rank;
  for (int i = 0; i < rank; ++i) {
    int p;
    EDGEOPT_RETURN_IF_ERROR(NormalizeAxis(perm[i], rank, "perm entry", &p));
    EDGEOPT_ENSURE(!seen[p], StatusCode::kInvalidModel,
                   "perm is not a permutation: dimension %d appears twice", p);
    seen[p] = true;
    data->perm[i] = p;
    dims.data[i] = in->dims[p];
  }
  return ctx->ResizeTensor(out, dims);
}

Status TransposeEval(Context* ctx, Node* node) {
  const TransposeData* data = static_cast<const TransposeData*>(node->user_data);
  const Tensor* in = ctx->input(node, 0);
  Tensor* out = ctx->output(node, 0);
  const int rank = in->dims.size;
  int64_t in_strides[kMaxDims], src[kMaxDims], dst[kMaxDims], dims[kMaxDims];
  ref::ContiguousStrides(in->dims, in_strides);
  ref::ContiguousStrides(out->dims, dst);
  for (int i = 0; i < rank; ++i) {
    src[i] = in_strides[data->perm[i]];
    dims[i] = out->dims[i];
  }
  ref::StridedCopy(in->data, src, out->data, dst, dims, rank, DTypeSize(in->type));
  return Status::Ok();
}

// --- PAD / PADV2
// ---------------------------------------------------------------------------------

struct PadData {
  int64_t before[kMaxDims] = {};
};

Status PadPrepare(Context* ctx, Node* node) {
  PadData* data;
  EDGEOPT_RETURN_IF_ERROR(GetOpData(node, &data));
  const bool v2 = node->op == tflite::BuiltinOperator::PADV2;
  EDGEOPT_RETURN_IF_ERROR(CheckNumInputs(node, 2, v2 ? 3 : 2));
  EDGEOPT_RETURN_IF_ERROR(CheckNumOutputs(node, 1));
  Tensor *in, *pads_t, *out;
  EDGEOPT_RETURN_IF_ERROR(GetInputChecked(ctx, node, 0, &in));
  EDGEOPT_RETURN_IF_ERROR(GetInputChecked(ctx, node, 1, &pads_t));
  EDGEOPT_RETURN_IF_ERROR(GetOutputChecked(ctx, node, 0, &out));
  EDGEOPT_RETURN_IF_ERROR(CheckSameType(in, out, "input", "output"));
  EDGEOPT_ENSURE(DTypeSize(in->type) != 0, StatusCode::kUnsupported, "type %s is not supported",
                 DTypeName(in->type));
  const int rank = in->dims.size;
  EDGEOPT_ENSURE(pads_t->dims.size == 2 && pads_t->dims[0] == rank && pads_t->dims[1] == 2,
                 StatusCode::kInvalidModel, "paddings must have shape [%d, 2], has %s", rank,
                 DimsStr(pads_t->dims).c_str());
  int64_t pads[2 * kMaxDims];
  int count;
  EDGEOPT_RETURN_IF_ERROR(ReadConstInts(pads_t, "paddings", pads, 2 * kMaxDims, &count));
  Dims dims;
  dims.size = rank;
  for (int d = 0; d < rank; ++d) {
    const int64_t b = pads[2 * d], a = pads[2 * d + 1];
    EDGEOPT_ENSURE(b >= 0 && a >= 0, StatusCode::kInvalidModel,
                   "paddings for dimension %d are (%lld, %lld); they must be >= 0", d,
                   static_cast<long long>(b), static_cast<long long>(a));
    const int64_t size = in->dims[d] + b + a;
    EDGEOPT_ENSURE(size <= INT32_MAX, StatusCode::kInvalidModel, "padded dimension %d is too large",
                   d);
    data->before[d] = b;
    dims.data[d] = static_cast<int32_t>(size);
  }
  if (v2) {
    const Tensor* value = ctx->input(node, 2);
    if (value != nullptr) {
      EDGEOPT_RETURN_IF_ERROR(CheckSameType(value, in, "constant_values", "input"));
      EDGEOPT_ENSURE(value->dims.NumElements() == 1, StatusCode::kInvalidModel,
                     "constant_values must have one element, has %lld",
                     static_cast<long long>(value->dims.NumElements()));
    }
  }
  return ctx->ResizeTensor(out, dims);
}

Status PadEval(Context* ctx, Node* node) {
  const PadData* data = static_cast<const PadData*>(node->user_data);
  const Tensor* in = ctx->input(node, 0);
  Tensor* out = ctx->output(node, 0);
  const size_t elem = DTypeSize(in->type);
  uint8_t value[8] = {};
  const Tensor* pad_value =
      node->op == tflite::BuiltinOperator::PADV2 ? ctx->input(node, 2) : nullptr;
  if (pad_value != nullptr) {
    std::memcpy(value, pad_value->data, elem);
  } else if (out->quant.IsQuantized()) {
    const int32_t zp = out->quant.zero_point;
    if (out->type == DType::kInt8) {
      value[0] = static_cast<uint8_t>(static_cast<int8_t>(zp));
    } else if (out->type == DType::kUInt8) {
      value[0] = static_cast<uint8_t>(zp);
    } else if (out->type == DType::kInt16) {
      const int16_t v = static_cast<int16_t>(zp);
      std::memcpy(value, &v, 2);
    }
  }
  const int64_t n = out->dims.NumElements();
  ref::FillBytes(out->data, n, value, elem);
  const int rank = in->dims.size;
  // Zeroed: aarch64 GCC 12 cannot see that out has in's rank (-Wmaybe-uninitialized).
  int64_t src[kMaxDims] = {}, dst[kMaxDims] = {}, dims[kMaxDims] = {};
  ref::ContiguousStrides(in->dims, src);
  ref::ContiguousStrides(out->dims, dst);
  int64_t offset = 0;
  for (int d = 0; d < rank; ++d) {
    offset += data->before[d] * dst[d];
    dims[d] = in->dims[d];
  }
  if (in->dims.NumElements() > 0) {
    ref::StridedCopy(in->data, src, out->data + static_cast<size_t>(offset) * elem, dst, dims, rank,
                     elem);
  }
  return Status::Ok();
}

}  // namespace

const Registration* RegisterTranspose() {
  static const Registration reg = {"TRANSPOSE", InitOpData<TransposeData>, TransposePrepare,
                                   TransposeEval};
  return &reg;
}
const Registration* RegisterPad() {
  static const Registration reg = {"PAD", InitOpData<PadData>, PadPrepare, PadEval};
  return &reg;
}
const Registration* RegisterPadV2() {
  static const Registration reg = {"PADV2", InitOpData<PadData>, PadPrepare, PadEval};
  return &reg;
}

}  // namespace rt
}  // namespace edgeopt
