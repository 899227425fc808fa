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

// --- TRANSPOSE -----------------------------------------------------------------------------------

// The permutation with size-1 dimensions dropped and runs of input dimensions that stay
// adjacent and in order merged (NCHW -> NHWC of an image becomes [C, HW] -> [HW, C]).
struct TransposeData {
  int rank = 0;                 // after collapsing
  int64_t dims[kMaxDims] = {};  // collapsed input dimensions
  int cperm[kMaxDims] = {};     // collapsed permutation
};

void Collapse(const Dims& in, const int* perm, TransposeData* data) {
  const int rank = in.size;
  // Input dimensions of size > 1, numbered anew; the output order over them.
  int index[kMaxDims];
  int kept = 0;
  for (int d = 0; d < rank; ++d) index[d] = in.data[d] == 1 ? -1 : kept++;
  int order[kMaxDims], n = 0;
  for (int j = 0; j < rank; ++j) {
    if (index[perm[j]] >= 0) order[n++] = perm[j];
  }
  // Merge output neighbours that are consecutive input dimensions.
  int group_first[kMaxDims];  // per merged output dimension: its first input dimension
  int64_t group_size[kMaxDims];
  int groups = 0;
  for (int j = 0; j < n; ++j) {
    if (j > 0) {
      int prev = order[j - 1], d = prev + 1;
      while (d < rank && in.data[d] == 1) ++d;  // dropped dimensions in between
      if (d == order[j]) {
        group_size[groups - 1] *= in.data[order[j]];
        continue;
      }
    }
    group_first[groups] = order[j];
    group_size[groups] = in.data[order[j]];
    ++groups;
  }
  // The merged input dimensions in input order; cperm maps output to input position.
  // (An insertion sort of at most kMaxDims groups by their first input dimension; std::sort
  // here drew GCC 12's -Warray-bounds on its 16-element insertion stage.)
  int by_input[kMaxDims];
  for (int g = 0; g < groups; ++g) {
    int j = g;
    for (; j > 0 && group_first[by_input[j - 1]] > group_first[g]; --j) {
      by_input[j] = by_input[j - 1];
    }
    by_input[j] = g;
  }
  int position[kMaxDims];
  for (int i = 0; i < groups; ++i) {
    data->dims[i] = group_size[by_input[i]];
    position[by_input[i]] = i;
  }
  for (int g = 0; g < groups; ++g) data->cperm[g] = position[g];
  data->rank = groups;
}

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
  int normalized[kMaxDims];
  Dims dims;
  dims.size = rank;
  for (int i = 0; i < rank; ++i) {
    int p;
    EDGEOPT_RETURN_IF_ERROR(NormalizeAxis(perm[i], rank, "perm entry", &p));
    EDGEOPT_ENSURE(!seen[p], StatusCode::kInvalidModel,
                   "perm is not a permutation: dimension %d appears twice", p);
    seen[p] = true;
    normalized[i] = p;
    dims.data[i] = in->dims[p];
  }
  Collapse(in->dims, normalized, data);
  return ctx->ResizeTensor(out, dims);
}

// out[j][i] = in[i][j] for `batches` matrices of a x b elements, in tiles of kTile x kTile so
// that both sides stay in cache lines.
template <typename T>
void Transpose2D(const T* in, T* out, int64_t batches, int64_t a, int64_t b) {
  constexpr int64_t kTile = 16;
  for (int64_t n = 0; n < batches; ++n, in += a * b, out += a * b) {
    if (a <= 4) {  // few rows (an RGB image's planes): one pass over the columns
      for (int64_t j = 0; j < b; ++j) {
        for (int64_t i = 0; i < a; ++i) out[j * a + i] = in[i * b + j];
      }
      continue;
    }
    for (int64_t i0 = 0; i0 < a; i0 += kTile) {
      const int64_t i1 = std::min(a, i0 + kTile);
      for (int64_t j0 = 0; j0 < b; j0 += kTile) {
        const int64_t j1 = std::min(b, j0 + kTile);
        for (int64_t j = j0; j < j1; ++j) {
          for (int64_t i = i0; i < i1; ++i) out[j * a + i] = in[i * b + j];
        }
      }
    }
  }
}

template <typename T>
void Transpose2DBytes(const void* in, void* out, int64_t batches, int64_t a, int64_t b) {
  Transpose2D(static_cast<const T*>(in), static_cast<T*>(out), batches, a, b);
}

Status TransposeEval(Context* ctx, Node* node) {
  const TransposeData* data = static_cast<const TransposeData*>(node->user_data);
  const Tensor* in = ctx->input(node, 0);
  Tensor* out = ctx->output(node, 0);
  const size_t elem = DTypeSize(in->type);
  const int64_t count = in->dims.NumElements();
  if (count == 0) return Status::Ok();
  const int rank = data->rank;
  bool identity = true;
  for (int i = 0; i < rank; ++i) identity &= data->cperm[i] == i;
  if (identity) {  // only size-1 dimensions move
    std::memcpy(out->data, in->data, static_cast<size_t>(count) * elem);
    return Status::Ok();
  }
  // The last two (merged) dimensions swapped, the ones before in place: batched 2-d transposes.
  bool swap_last =
      rank >= 2 && data->cperm[rank - 1] == rank - 2 && data->cperm[rank - 2] == rank - 1;
  for (int i = 0; i + 2 < rank; ++i) swap_last &= data->cperm[i] == i;
  if (swap_last) {
    const int64_t a = data->dims[rank - 2], b = data->dims[rank - 1];
    const int64_t batches = count / (a * b);
    switch (elem) {
      case 1:
        Transpose2DBytes<uint8_t>(in->data, out->data, batches, a, b);
        return Status::Ok();
      case 2:
        Transpose2DBytes<uint16_t>(in->data, out->data, batches, a, b);
        return Status::Ok();
      case 4:
        Transpose2DBytes<uint32_t>(in->data, out->data, batches, a, b);
        return Status::Ok();
      case 8:
        Transpose2DBytes<uint64_t>(in->data, out->data, batches, a, b);
        return Status::Ok();
      default:
        break;
    }
  }
  // Otherwise a strided copy over the collapsed dimensions. A last dimension that stays last
  // (attention's heads: [T, H, d] -> [H, T, d]) is a run of bytes copied whole: as 8-byte words
  // where it divides, not one libc memcpy per run.
  int64_t in_strides[kMaxDims], src[kMaxDims], dst[kMaxDims], dims[kMaxDims];
  int64_t cdims[kMaxDims];
  size_t word = elem;
  for (int i = 0; i < rank; ++i) cdims[i] = data->dims[i];
  if (data->cperm[rank - 1] == rank - 1) {
    const int64_t bytes = cdims[rank - 1] * static_cast<int64_t>(elem);
    word = bytes % 8 == 0 ? 8 : bytes % 4 == 0 ? 4 : bytes % 2 == 0 ? 2 : 1;
    cdims[rank - 1] = bytes / static_cast<int64_t>(word);
  }
  int64_t s = 1;
  for (int i = rank - 1; i >= 0; --i) {
    in_strides[i] = s;
    s *= cdims[i];
  }
  s = 1;
  for (int i = rank - 1; i >= 0; --i) {
    dims[i] = cdims[data->cperm[i]];
    src[i] = in_strides[data->cperm[i]];
    dst[i] = s;
    s *= dims[i];
  }
  // A run that became one word (int8 heads of 8: [T, H, 1 word] -> [H, T, 1 word]) leaves a
  // last dimension of 1: without it, each row copies T words instead of one.
  int copy_rank = rank;
  while (copy_rank > 1 && dims[copy_rank - 1] == 1) --copy_rank;
  ref::StridedCopy(in->data, src, out->data, dst, dims, copy_rank, word);
  return Status::Ok();
}

// --- PAD / PADV2 ---------------------------------------------------------------------------------

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
