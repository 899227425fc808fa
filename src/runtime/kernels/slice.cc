// SLICE and STRIDED_SLICE. STRIDED_SLICE follows TensorFlow's full semantics: begin/end masks, one
// ellipsis, new axes, shrunk axes (index checked to be in range), negative strides, and the
// `offset` flag (end relative to begin). Start/stop clamping matches TFLite's StartForAxis /
// StopForAxis. Every index is resolved and validated in Prepare; Eval is one strided copy.
#include <cstring>
#include <limits>

#include "src/runtime/kernels/elem_util.h"
#include "src/runtime/kernels/reference/data_movement.h"

namespace edgeopt {
namespace rt {
namespace {

struct SliceData {
  int rank = 0;                  // input rank
  int64_t start[kMaxDims] = {};  // per input dim: first index
  int64_t step[kMaxDims] = {};   // per input dim: stride
  int64_t count[kMaxDims] = {};  // per input dim: number of elements taken
};

Status PrepareCommon(Context* ctx, Node* node, int num_inputs, Tensor** in, Tensor** out) {
  EDGEOPT_RETURN_IF_ERROR(CheckNumInputs(node, num_inputs, num_inputs));
  EDGEOPT_RETURN_IF_ERROR(CheckNumOutputs(node, 1));
  EDGEOPT_RETURN_IF_ERROR(GetInputChecked(ctx, node, 0, in));
  EDGEOPT_RETURN_IF_ERROR(GetOutputChecked(ctx, node, 0, out));
  EDGEOPT_RETURN_IF_ERROR(CheckSameType(*in, *out, "input", "output"));
  EDGEOPT_ENSURE(DTypeSize((*in)->type) != 0, StatusCode::kUnsupported, "type %s is not supported",
                 DTypeName((*in)->type));
  return Status::Ok();
}

Status ReadIndexVector(Context* ctx, Node* node, int i, const char* what, int64_t* values,
                       int* count) {
  Tensor* t;
  EDGEOPT_RETURN_IF_ERROR(GetInputChecked(ctx, node, i, &t));
  EDGEOPT_ENSURE(t->dims.size <= 1, StatusCode::kInvalidModel, "%s must be a vector, has shape %s",
                 what, DimsStr(t->dims).c_str());
  return ReadConstInts(t, what, values, kMaxDims, count);
}

// --- SLICE ---------------------------------------------------------------------------------------

Status SlicePrepare(Context* ctx, Node* node) {
  SliceData* data;
  EDGEOPT_RETURN_IF_ERROR(GetOpData(node, &data));
  Tensor *in, *out;
  EDGEOPT_RETURN_IF_ERROR(PrepareCommon(ctx, node, 3, &in, &out));
  int64_t begin[kMaxDims], size[kMaxDims];
  int nb, ns;
  EDGEOPT_RETURN_IF_ERROR(ReadIndexVector(ctx, node, 1, "begin", begin, &nb));
  EDGEOPT_RETURN_IF_ERROR(ReadIndexVector(ctx, node, 2, "size", size, &ns));
  const int rank = in->dims.size;
  EDGEOPT_ENSURE(nb == rank && ns == rank, StatusCode::kInvalidModel,
                 "begin and size must have %d entries (the input rank), have %d and %d", rank, nb,
                 ns);
  data->rank = rank;
  Dims dims;
  dims.size = rank;
  for (int d = 0; d < rank; ++d) {
    const int64_t dim = in->dims[d];
    EDGEOPT_ENSURE(begin[d] >= 0 && begin[d] <= dim, StatusCode::kInvalidModel,
                   "begin[%d] = %lld is outside [0, %lld]", d, static_cast<long long>(begin[d]),
                   static_cast<long long>(dim));
    int64_t n = size[d] == -1 ? dim - begin[d] : size[d];
    EDGEOPT_ENSURE(n >= 0 && begin[d] + n <= dim, StatusCode::kInvalidModel,
                   "slice [%lld, %lld + %lld) of dimension %d (size %lld) is out of range",
                   static_cast<long long>(begin[d]), static_cast<long long>(begin[d]),
                   static_cast<long long>(size[d]), d, static_cast<long long>(dim));
    data->start[d] = begin[d];
    data->step[d] = 1;
    data->count[d] = n;
    dims.data[d] = static_cast<int32_t>(n);
  }
  return ctx->ResizeTensor(out, dims);
}

// --- STRIDED_SLICE -------------------------------------------------------------------------------

int64_t Clamp(int64_t v, int64_t lo, int64_t hi) { return v < lo ? lo : (v > hi ? hi : v); }

Status StridedSlicePrepare(Context* ctx, Node* node) {
  SliceData* data;
  EDGEOPT_RETURN_IF_ERROR(GetOpData(node, &data));
  Tensor *in, *out;
  EDGEOPT_RETURN_IF_ERROR(PrepareCommon(ctx, node, 4, &in, &out));
  int64_t begin[kMaxDims], end[kMaxDims], strides[kMaxDims];
  int nb, ne, ns;
  EDGEOPT_RETURN_IF_ERROR(ReadIndexVector(ctx, node, 1, "begin", begin, &nb));
  EDGEOPT_RETURN_IF_ERROR(ReadIndexVector(ctx, node, 2, "end", end, &ne));
  EDGEOPT_RETURN_IF_ERROR(ReadIndexVector(ctx, node, 3, "strides", strides, &ns));
  EDGEOPT_ENSURE(nb == ne && nb == ns, StatusCode::kInvalidModel,
                 "begin, end and strides have %d, %d and %d entries; they must match", nb, ne, ns);
  const auto* o = GetOptions<tflite::StridedSliceOptions>(node);
  const uint32_t begin_mask = o != nullptr ? static_cast<uint32_t>(o->begin_mask()) : 0;
  const uint32_t end_mask = o != nullptr ? static_cast<uint32_t>(o->end_mask()) : 0;
  uint32_t ellipsis_mask = o != nullptr ? static_cast<uint32_t>(o->ellipsis_mask()) : 0;
  const uint32_t new_axis_mask = o != nullptr ? static_cast<uint32_t>(o->new_axis_mask()) : 0;
  const uint32_t shrink_mask = o != nullptr ? static_cast<uint32_t>(o->shrink_axis_mask()) : 0;
  const bool offset = o != nullptr && o->offset();
  ellipsis_mask &= (nb >= 32 ? 0xFFFFFFFFu : ((1u << nb) - 1));
  EDGEOPT_ENSURE((ellipsis_mask & (ellipsis_mask - 1)) == 0, StatusCode::kInvalidModel,
                 "ellipsis_mask 0x%x has more than one ellipsis", ellipsis_mask);

  // Sparse spec (the given entries, plus an implicit trailing ellipsis) -> one entry per input
  // dimension, remembering where new axes and shrunk axes go in the output.
  const int rank = in->dims.size;
  int sparse_n = nb;
  bool has_ellipsis = ellipsis_mask != 0;
  int new_axes_after_ellipsis = 0;
  {
    bool after = false;
    for (int i = 0; i < nb; ++i) {
      if (ellipsis_mask & (1u << i))
        after = true;
      else if (after && (new_axis_mask & (1u << i)))
        ++new_axes_after_ellipsis;
    }
  }
  if (!has_ellipsis) ++sparse_n;  // the implicit ellipsis sits at index nb
  struct Dense {
    int64_t begin = 0, end = 0, stride = 1;
    bool begin_masked = false, end_masked = false, shrink = false;
  } dense[kMaxDims];
  constexpr int kNewAxis = -1, kShrink = -2;
  int final_gather[2 * kMaxDims + 1];
  int num_final = 0;
  int full = 0;
  for (int i = 0; i < sparse_n; ++i) {
    const bool is_ellipsis = has_ellipsis ? (ellipsis_mask & (1u << i)) != 0 : i == nb;
    if (is_ellipsis) {
      const int next = std::min(rank - (sparse_n - i) + 1 + new_axes_after_ellipsis, rank);
      for (; full < next; ++full) {
        dense[full] = Dense();
        dense[full].begin_masked = dense[full].end_masked = true;
        final_gather[num_final++] = full;
      }
    } else if (new_axis_mask & (1u << i)) {
      EDGEOPT_ENSURE(num_final < 2 * kMaxDims, StatusCode::kUnsupported, "too many new axes");
      final_gather[num_final++] = kNewAxis;
    } else {
      EDGEOPT_ENSURE(full < rank, StatusCode::kInvalidModel,
                     "slice entry %d indexes past the input rank %d", i, rank);
      Dense& d = dense[full];
      d.begin = begin[i];
      d.end = offset ? begin[i] + end[i] : end[i];
      d.stride = strides[i];
      d.begin_masked = (begin_mask & (1u << i)) != 0;
      d.end_masked = (end_mask & (1u << i)) != 0;
      d.shrink = (shrink_mask & (1u << i)) != 0;
      EDGEOPT_ENSURE(d.stride != 0, StatusCode::kInvalidModel, "strides[%d] is 0", i);
      final_gather[num_final++] = d.shrink ? kShrink : full;
      ++full;
    }
  }
  for (; full < rank; ++full) {  // an explicit ellipsis consumed fewer dims than remain
    dense[full] = Dense();
    dense[full].begin_masked = dense[full].end_masked = true;
    final_gather[num_final++] = full;
  }

  // Start, stride and count per input dimension.
  data->rank = rank;
  for (int a = 0; a < rank; ++a) {
    const Dense& d = dense[a];
    const int64_t dim = in->dims[a];
    if (d.shrink) {
      const int64_t index = d.begin < 0 ? d.begin + dim : d.begin;
      EDGEOPT_ENSURE(index >= 0 && index < dim, StatusCode::kInvalidModel,
                     "shrunk index %lld is out of range for dimension %d of size %lld",
                     static_cast<long long>(d.begin), a, static_cast<long long>(dim));
      data->start[a] = index;
      data->step[a] = 1;
      data->count[a] = 1;
      continue;
    }
    if (dim == 0) {
      data->start[a] = 0;
      data->step[a] = 1;
      data->count[a] = 0;
      continue;
    }
    const bool forward = d.stride > 0;
    int64_t start = d.begin_masked ? (forward ? std::numeric_limits<int32_t>::lowest()
                                              : std::numeric_limits<int32_t>::max())
                                   : d.begin;
    if (start < 0) start += dim;
    start = forward ? Clamp(start, 0, dim) : Clamp(start, -1, dim - 1);
    int64_t stop = d.end_masked ? (forward ? std::numeric_limits<int32_t>::max()
                                           : std::numeric_limits<int32_t>::lowest())
                                : d.end;
    if (stop < 0) stop += dim;
    stop = forward ? Clamp(stop, 0, dim) : Clamp(stop, -1, dim - 1);
    // ceil(span / stride), or 0 when the interval runs against the stride.
    const int64_t span = stop - start;
    const int64_t mag = d.stride > 0 ? d.stride : -d.stride;
    const int64_t n =
        (span > 0) == (d.stride > 0) && span != 0 ? ((span > 0 ? span : -span) + mag - 1) / mag : 0;
    data->start[a] = start;
    data->step[a] = d.stride;
    data->count[a] = n;
  }
  Dims dims;
  for (int k = 0; k < num_final; ++k) {
    if (final_gather[k] == kShrink) continue;
    EDGEOPT_ENSURE(dims.size < kMaxDims, StatusCode::kUnsupported, "output rank would exceed %d",
                   kMaxDims);
    dims.data[dims.size++] =
        final_gather[k] == kNewAxis ? 1 : static_cast<int32_t>(data->count[final_gather[k]]);
  }
  return ctx->ResizeTensor(out, dims);
}

Status SliceEval(Context* ctx, Node* node) {
  const SliceData* data = static_cast<const SliceData*>(node->user_data);
  const Tensor* in = ctx->input(node, 0);
  Tensor* out = ctx->output(node, 0);
  const int rank = data->rank;
  int64_t in_strides[kMaxDims], src[kMaxDims], dst[kMaxDims];
  ref::ContiguousStrides(in->dims, in_strides);
  int64_t s = 1, base = 0;
  for (int d = rank - 1; d >= 0; --d) {
    dst[d] = s;
    s *= data->count[d];
    src[d] = in_strides[d] * data->step[d];
    base += data->start[d] * in_strides[d];
  }
  if (s == 0) return Status::Ok();
  const size_t elem = DTypeSize(in->type);
  ref::StridedCopy(in->data + static_cast<size_t>(base) * elem, src, out->data, dst, data->count,
                   rank, elem);
  return Status::Ok();
}

}  // namespace

const Registration* RegisterSlice() {
  static const Registration reg = {"SLICE", InitOpData<SliceData>, SlicePrepare, SliceEval};
  return &reg;
}
const Registration* RegisterStridedSlice() {
  static const Registration reg = {"STRIDED_SLICE", InitOpData<SliceData>, StridedSlicePrepare,
                                   SliceEval};
  return &reg;
}

}  // namespace rt
}  // namespace edgeopt
