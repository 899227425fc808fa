// TRANSPOSE (any permutation up to 8-d), PAD and PADV2 (constant padding;
// quantized PAD pads with the output zero point, as TFLite). Parameters come
// from constant int32/int64 tensors and are validated in Prepare.
#include <algorithm>
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

// `count` elements of `elem` bytes, each the bytes of `value`.
void Fill(uint8_t* out, int64_t count, const uint8_t* value, size_t elem) {
  if (count <= 0) return;
  bool same = true;  // one repeated byte: memset
  for (size_t i = 1; i < elem; ++i) same &= value[i] == value[0];
  if (same) {
    std::memset(out, value[0], static_cast<size_t>(count) * elem);
    return;
  }
  auto fill = [&](auto v) {
    std::memcpy(&v, value, sizeof(v));
    std::fill_n(reinterpret_cast<decltype(v)*>(out), count, v);
  };
  switch (elem) {
    case 2:
      fill(uint16_t{});
      break;
    case 4:
      fill(uint32_t{});
      break;
    default:
      fill(uint64_t{});
      break;
  }
}

// Writes every output byte once: whole padded slices of the outer dimensions are fills, and
// each row of dimension `k` (the innermost padded one; the dimensions after it are copied in
// one piece of `unit` bytes per index) is a fill, one memcpy and a fill.
struct PadPlan {
  int k = 0;
  size_t unit = 0;
  int64_t in_stride[kMaxDims] = {}, out_stride[kMaxDims] = {};  // bytes
  int64_t before[kMaxDims] = {}, size[kMaxDims] = {}, after[kMaxDims] = {};
  const uint8_t* value = nullptr;
  size_t elem = 0;
};

void PadDim(const PadPlan& p, int d, const uint8_t* in, uint8_t* out) {
  const size_t e = p.elem;
  if (d == p.k) {
    const int64_t per = static_cast<int64_t>(p.unit / e);
    Fill(out, p.before[d] * per, p.value, e);
    out += p.before[d] * p.unit;
    std::memcpy(out, in, static_cast<size_t>(p.size[d]) * p.unit);
    Fill(out + p.size[d] * p.unit, p.after[d] * per, p.value, e);
    return;
  }
  const int64_t slice = p.out_stride[d] / static_cast<int64_t>(e);
  Fill(out, p.before[d] * slice, p.value, e);
  out += p.before[d] * p.out_stride[d];
  for (int64_t i = 0; i < p.size[d]; ++i) {
    PadDim(p, d + 1, in + i * p.in_stride[d], out + i * p.out_stride[d]);
  }
  Fill(out + p.size[d] * p.out_stride[d], p.after[d] * slice, p.value, e);
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
  const int rank = in->dims.size;
  const int64_t n = out->dims.NumElements();
  if (in->dims.NumElements() == 0 || rank == 0) {
    // Nothing to copy (an empty input, or a scalar: no dimension to pad).
    Fill(out->data, n, value, elem);
    if (rank == 0) std::memcpy(out->data, in->data, elem);
    return Status::Ok();
  }
  PadPlan p;
  p.value = value;
  p.elem = elem;
  p.k = 0;
  for (int d = 0; d < rank; ++d) {
    p.before[d] = data->before[d];
    p.size[d] = in->dims[d];
    p.after[d] = out->dims[d] - in->dims[d] - data->before[d];
    if (p.before[d] != 0 || p.after[d] != 0) p.k = d;
  }
  p.unit = elem;
  for (int d = rank - 1; d > p.k; --d) p.unit *= static_cast<size_t>(in->dims[d]);
  int64_t is = static_cast<int64_t>(elem), os = static_cast<int64_t>(elem);
  for (int d = rank - 1; d >= 0; --d) {
    p.in_stride[d] = is;
    p.out_stride[d] = os;
    is *= in->dims[d];
    os *= out->dims[d];
  }
  PadDim(p, 0, in->data, out->data);
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
