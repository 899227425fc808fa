// Index and replication ops: GATHER (axis, batch_dims; every index checked — in Prepare when the
// indices are constant, otherwise in Eval), TILE, BROADCAST_TO, ZEROS_LIKE, FILL, DEPTH_TO_SPACE
// and SPACE_TO_DEPTH.
#include <cstring>

#include "src/runtime/kernels/elem_util.h"
#include "src/runtime/kernels/reference/data_movement.h"

namespace edgeopt {
namespace rt {
namespace {

bool FixedSize(DType t) { return DTypeSize(t) != 0; }

// --- GATHER --------------------------------------------------------------------------------------

struct GatherData {
  int64_t batch = 1, outer = 1, inner = 1, coords = 1, axis_size = 0;
};

Status CheckIndices(const Tensor* indices, int64_t axis_size) {
  const int64_t n = indices->dims.NumElements();
  for (int64_t i = 0; i < n; ++i) {
    const int64_t v = IntAt(indices, i);
    EDGEOPT_ENSURE(v >= 0 && v < axis_size, StatusCode::kInvalidArgument,
                   "gather index %lld (element %lld) is out of range [0, %lld)",
                   static_cast<long long>(v), static_cast<long long>(i),
                   static_cast<long long>(axis_size));
  }
  return Status::Ok();
}

Status GatherPrepare(Context* ctx, Node* node) {
  GatherData* data;
  EDGEOPT_RETURN_IF_ERROR(GetOpData(node, &data));
  EDGEOPT_RETURN_IF_ERROR(CheckNumInputs(node, 2, 2));
  EDGEOPT_RETURN_IF_ERROR(CheckNumOutputs(node, 1));
  Tensor *params, *indices, *out;
  EDGEOPT_RETURN_IF_ERROR(GetInputChecked(ctx, node, 0, &params));
  EDGEOPT_RETURN_IF_ERROR(GetInputChecked(ctx, node, 1, &indices));
  EDGEOPT_RETURN_IF_ERROR(GetOutputChecked(ctx, node, 0, &out));
  EDGEOPT_RETURN_IF_ERROR(CheckSameType(params, out, "params", "output"));
  EDGEOPT_ENSURE(FixedSize(params->type), StatusCode::kUnsupported, "type %s is not supported",
                 DTypeName(params->type));
  EDGEOPT_ENSURE(indices->type == DType::kInt32 || indices->type == DType::kInt64,
                 StatusCode::kInvalidModel, "indices must be int32 or int64, are %s",
                 DTypeName(indices->type));
  const auto* o = GetOptions<tflite::GatherOptions>(node);
  const int prank = params->dims.size, irank = indices->dims.size;
  int axis;
  EDGEOPT_RETURN_IF_ERROR(NormalizeAxis(o != nullptr ? o->axis() : 0, prank, "axis", &axis));
  int batch_dims = o != nullptr ? o->batch_dims() : 0;
  if (batch_dims < 0) batch_dims += irank;
  EDGEOPT_ENSURE(batch_dims >= 0 && batch_dims <= irank && batch_dims <= axis,
                 StatusCode::kInvalidModel,
                 "batch_dims %d must be in [0, %d] and not after axis %d", batch_dims, irank, axis);
  for (int d = 0; d < batch_dims; ++d) {
    EDGEOPT_ENSURE(params->dims[d] == indices->dims[d], StatusCode::kInvalidModel,
                   "batch dimension %d differs: params %d, indices %d", d, params->dims[d],
                   indices->dims[d]);
  }
  Dims dims;
  for (int d = 0; d < axis; ++d) dims.data[dims.size++] = params->dims[d];
  for (int d = batch_dims; d < irank; ++d) {
    EDGEOPT_ENSURE(dims.size < kMaxDims, StatusCode::kUnsupported, "output rank is too large");
    dims.data[dims.size++] = indices->dims[d];
  }
  for (int d = axis + 1; d < prank; ++d) {
    EDGEOPT_ENSURE(dims.size < kMaxDims, StatusCode::kUnsupported, "output rank is too large");
    dims.data[dims.size++] = params->dims[d];
  }
  data->batch = params->dims.FlatSize(0, batch_dims);
  data->outer = params->dims.FlatSize(batch_dims, axis);
  data->inner = params->dims.FlatSize(axis + 1, prank);
  data->coords = indices->dims.FlatSize(batch_dims, irank);
  data->axis_size = params->dims[axis];
  if (indices->IsConstant()) EDGEOPT_RETURN_IF_ERROR(CheckIndices(indices, data->axis_size));
  return ctx->ResizeTensor(out, dims);
}

Status GatherEval(Context* ctx, Node* node) {
  const GatherData* d = static_cast<const GatherData*>(node->user_data);
  const Tensor* params = ctx->input(node, 0);
  const Tensor* indices = ctx->input(node, 1);
  Tensor* out = ctx->output(node, 0);
  if (!indices->IsConstant()) EDGEOPT_RETURN_IF_ERROR(CheckIndices(indices, d->axis_size));
  const size_t row = static_cast<size_t>(d->inner) * DTypeSize(params->type);
  if (row == 0) return Status::Ok();
  for (int64_t b = 0; b < d->batch; ++b) {
    for (int64_t o = 0; o < d->outer; ++o) {
      for (int64_t i = 0; i < d->coords; ++i) {
        const int64_t idx = IntAt(indices, b * d->coords + i);
        const int64_t src = (b * d->outer + o) * d->axis_size + idx;
        const int64_t dst = (b * d->outer + o) * d->coords + i;
        std::memcpy(out->data + dst * row, params->data + src * row, row);
      }
    }
  }
  return Status::Ok();
}

// --- TILE / BROADCAST_TO -------------------------------------------------------------------------

struct ReplicateData {
  int64_t src_strides[kMaxDims] = {};  // TILE: unused
};

Status PrepareReplicate(Context* ctx, Node* node, Tensor** in, Tensor** param, Tensor** out) {
  EDGEOPT_RETURN_IF_ERROR(CheckNumInputs(node, 2, 2));
  EDGEOPT_RETURN_IF_ERROR(CheckNumOutputs(node, 1));
  EDGEOPT_RETURN_IF_ERROR(GetInputChecked(ctx, node, 0, in));
  EDGEOPT_RETURN_IF_ERROR(GetInputChecked(ctx, node, 1, param));
  EDGEOPT_RETURN_IF_ERROR(GetOutputChecked(ctx, node, 0, out));
  EDGEOPT_RETURN_IF_ERROR(CheckSameType(*in, *out, "input", "output"));
  EDGEOPT_ENSURE(FixedSize((*in)->type), StatusCode::kUnsupported, "type %s is not supported",
                 DTypeName((*in)->type));
  return Status::Ok();
}

Status TilePrepare(Context* ctx, Node* node) {
  Tensor *in, *mult_t, *out;
  EDGEOPT_RETURN_IF_ERROR(PrepareReplicate(ctx, node, &in, &mult_t, &out));
  int64_t mult[kMaxDims];
  int count;
  EDGEOPT_RETURN_IF_ERROR(ReadConstInts(mult_t, "multiples", mult, kMaxDims, &count));
  EDGEOPT_ENSURE(count == in->dims.size, StatusCode::kInvalidModel,
                 "multiples has %d entries, the input has rank %d", count, in->dims.size);
  Dims dims = in->dims;
  for (int d = 0; d < count; ++d) {
    EDGEOPT_ENSURE(mult[d] >= 0, StatusCode::kInvalidModel, "multiples[%d] is negative", d);
    const int64_t size = in->dims[d] * mult[d];
    EDGEOPT_ENSURE(size <= INT32_MAX, StatusCode::kInvalidModel, "tiled dimension is too large");
    dims.data[d] = static_cast<int32_t>(size);
  }
  return ctx->ResizeTensor(out, dims);
}

// Tiles dimension `d` (and all inner ones) of the block at `src` into `dst`; returns the size in
// bytes of the tiled block.
size_t TileDim(const Dims& in_dims, const Dims& out_dims, int d, size_t elem, const uint8_t* src,
               uint8_t* dst) {
  const int rank = in_dims.size;
  if (d == rank - 1) {
    const size_t row = static_cast<size_t>(in_dims[d]) * elem;
    const int64_t copies = in_dims[d] == 0 ? 0 : out_dims[d] / in_dims[d];
    for (int64_t k = 0; k < copies; ++k) std::memcpy(dst + k * row, src, row);
    return row * static_cast<size_t>(copies);
  }
  const size_t in_block = static_cast<size_t>(in_dims.FlatSize(d + 1, rank)) * elem;
  size_t written = 0;
  for (int32_t i = 0; i < in_dims[d]; ++i) {
    written += TileDim(in_dims, out_dims, d + 1, elem, src + i * in_block, dst + written);
  }
  const int64_t copies = in_dims[d] == 0 ? 0 : out_dims[d] / in_dims[d];
  for (int64_t k = 1; k < copies; ++k) std::memcpy(dst + k * written, dst, written);
  return written * static_cast<size_t>(copies);
}

Status TileEval(Context* ctx, Node* node) {
  const Tensor* in = ctx->input(node, 0);
  Tensor* out = ctx->output(node, 0);
  if (out->dims.NumElements() == 0) return Status::Ok();
  if (in->dims.size == 0) {
    std::memcpy(out->data, in->data, DTypeSize(in->type));
    return Status::Ok();
  }
  TileDim(in->dims, out->dims, 0, DTypeSize(in->type), in->data, out->data);
  return Status::Ok();
}

Status BroadcastToPrepare(Context* ctx, Node* node) {
  ReplicateData* data;
  EDGEOPT_RETURN_IF_ERROR(GetOpData(node, &data));
  Tensor *in, *shape_t, *out;
  EDGEOPT_RETURN_IF_ERROR(PrepareReplicate(ctx, node, &in, &shape_t, &out));
  int64_t shape[kMaxDims];
  int count;
  EDGEOPT_RETURN_IF_ERROR(ReadConstInts(shape_t, "shape", shape, kMaxDims, &count));
  Dims dims;
  EDGEOPT_RETURN_IF_ERROR(DimsFromValues(shape, count, "shape", &dims));
  EDGEOPT_ENSURE(in->dims.size <= count, StatusCode::kInvalidModel,
                 "cannot broadcast rank %d to rank %d", in->dims.size, count);
  int64_t s = 1;
  for (int d = count - 1; d >= 0; --d) {
    const int i = in->dims.size - count + d;
    const int32_t in_dim = i >= 0 ? in->dims[i] : 1;
    EDGEOPT_ENSURE(in_dim == dims[d] || in_dim == 1, StatusCode::kInvalidModel,
                   "cannot broadcast shape %s to %s", DimsStr(in->dims).c_str(),
                   DimsStr(dims).c_str());
    data->src_strides[d] = in_dim == 1 ? 0 : s;
    s *= in_dim;
  }
  return ctx->ResizeTensor(out, dims);
}

Status BroadcastToEval(Context* ctx, Node* node) {
  const ReplicateData* data = static_cast<const ReplicateData*>(node->user_data);
  const Tensor* in = ctx->input(node, 0);
  Tensor* out = ctx->output(node, 0);
  int64_t dst[kMaxDims], dims[kMaxDims];
  ref::ContiguousStrides(out->dims, dst);
  for (int d = 0; d < out->dims.size; ++d) dims[d] = out->dims[d];
  ref::StridedCopy(in->data, data->src_strides, out->data, dst, dims, out->dims.size,
                   DTypeSize(in->type));
  return Status::Ok();
}

// --- ZEROS_LIKE / FILL ---------------------------------------------------------------------------

Status ZerosLikePrepare(Context* ctx, Node* node) {
  EDGEOPT_RETURN_IF_ERROR(CheckNumInputs(node, 1, 1));
  EDGEOPT_RETURN_IF_ERROR(CheckNumOutputs(node, 1));
  Tensor *in, *out;
  EDGEOPT_RETURN_IF_ERROR(GetInputChecked(ctx, node, 0, &in));
  EDGEOPT_RETURN_IF_ERROR(GetOutputChecked(ctx, node, 0, &out));
  EDGEOPT_RETURN_IF_ERROR(CheckSameType(in, out, "input", "output"));
  EDGEOPT_ENSURE(FixedSize(in->type), StatusCode::kUnsupported, "type %s is not supported",
                 DTypeName(in->type));
  return ctx->ResizeTensor(out, in->dims);
}

Status ZerosLikeEval(Context* ctx, Node* node) {
  Tensor* out = ctx->output(node, 0);
  if (out->bytes > 0) std::memset(out->data, 0, out->bytes);
  return Status::Ok();
}

Status FillPrepare(Context* ctx, Node* node) {
  EDGEOPT_RETURN_IF_ERROR(CheckNumInputs(node, 2, 2));
  EDGEOPT_RETURN_IF_ERROR(CheckNumOutputs(node, 1));
  Tensor *dims_t, *value, *out;
  EDGEOPT_RETURN_IF_ERROR(GetInputChecked(ctx, node, 0, &dims_t));
  EDGEOPT_RETURN_IF_ERROR(GetInputChecked(ctx, node, 1, &value));
  EDGEOPT_RETURN_IF_ERROR(GetOutputChecked(ctx, node, 0, &out));
  EDGEOPT_RETURN_IF_ERROR(CheckSameType(value, out, "value", "output"));
  EDGEOPT_ENSURE(FixedSize(out->type), StatusCode::kUnsupported, "type %s is not supported",
                 DTypeName(out->type));
  EDGEOPT_ENSURE(value->dims.NumElements() == 1, StatusCode::kInvalidModel,
                 "value must be a scalar, has shape %s", DimsStr(value->dims).c_str());
  int64_t shape[kMaxDims];
  int count;
  EDGEOPT_RETURN_IF_ERROR(ReadConstInts(dims_t, "dims", shape, kMaxDims, &count));
  Dims dims;
  EDGEOPT_RETURN_IF_ERROR(DimsFromValues(shape, count, "dims", &dims));
  return ctx->ResizeTensor(out, dims);
}

Status FillEval(Context* ctx, Node* node) {
  const Tensor* value = ctx->input(node, 1);
  Tensor* out = ctx->output(node, 0);
  ref::FillBytes(out->data, out->dims.NumElements(), value->data, DTypeSize(out->type));
  return Status::Ok();
}

// --- DEPTH_TO_SPACE / SPACE_TO_DEPTH -------------------------------------------------------------

// One Prepare for both ops (`to_space` at run time): the checks are the same code.
Status SpaceDepthPrepare(Context* ctx, Node* node, bool to_space) {
  EDGEOPT_RETURN_IF_ERROR(CheckNumInputs(node, 1, 1));
  EDGEOPT_RETURN_IF_ERROR(CheckNumOutputs(node, 1));
  Tensor *in, *out;
  EDGEOPT_RETURN_IF_ERROR(GetInputChecked(ctx, node, 0, &in));
  EDGEOPT_RETURN_IF_ERROR(GetOutputChecked(ctx, node, 0, &out));
  EDGEOPT_RETURN_IF_ERROR(CheckSameType(in, out, "input", "output"));
  EDGEOPT_ENSURE(FixedSize(in->type), StatusCode::kUnsupported, "type %s is not supported",
                 DTypeName(in->type));
  EDGEOPT_ENSURE(in->dims.size == 4, StatusCode::kInvalidModel,
                 "input must be 4-d (NHWC), has shape %s", DimsStr(in->dims).c_str());
  int bs;
  if (to_space) {
    const auto* o = GetOptions<tflite::DepthToSpaceOptions>(node);
    bs = o != nullptr ? o->block_size() : 0;
  } else {
    const auto* o = GetOptions<tflite::SpaceToDepthOptions>(node);
    bs = o != nullptr ? o->block_size() : 0;
  }
  EDGEOPT_ENSURE(bs > 0 && bs <= 4096, StatusCode::kInvalidModel, "block_size %d must be positive",
                 bs);
  const int32_t b = in->dims[0], h = in->dims[1], w = in->dims[2], c = in->dims[3];
  if (to_space) {
    EDGEOPT_ENSURE(c % (bs * bs) == 0, StatusCode::kInvalidModel,
                   "depth %d is not a multiple of block_size^2 = %d", c, bs * bs);
    EDGEOPT_ENSURE(
        static_cast<int64_t>(h) * bs <= INT32_MAX && static_cast<int64_t>(w) * bs <= INT32_MAX,
        StatusCode::kInvalidModel, "output is too large");
    return ctx->ResizeTensor(out, MakeDims({b, h * bs, w * bs, c / (bs * bs)}));
  }
  EDGEOPT_ENSURE(h % bs == 0 && w % bs == 0, StatusCode::kInvalidModel,
                 "height %d and width %d must be multiples of block_size %d", h, w, bs);
  EDGEOPT_ENSURE(static_cast<int64_t>(c) * bs * bs <= INT32_MAX, StatusCode::kInvalidModel,
                 "output is too large");
  return ctx->ResizeTensor(out, MakeDims({b, h / bs, w / bs, c * bs * bs}));
}
Status DepthToSpacePrepare(Context* ctx, Node* node) { return SpaceDepthPrepare(ctx, node, true); }
Status SpaceToDepthPrepare(Context* ctx, Node* node) { return SpaceDepthPrepare(ctx, node, false); }

template <bool kToSpace>
Status SpaceDepthEval(Context* ctx, Node* node) {
  const Tensor* in = ctx->input(node, 0);
  Tensor* out = ctx->output(node, 0);
  // Both are one 6-d transpose. Index space: the output viewed as 6-d, row-major.
  int64_t dims[6], src[6], dst[6];
  if (kToSpace) {
    const int64_t B = in->dims[0], H = in->dims[1], W = in->dims[2], C = in->dims[3];
    const int64_t bs = out->dims[1] / std::max<int64_t>(H, 1), Co = out->dims[3];
    if (H == 0) return Status::Ok();
    const int64_t d[6] = {B, H, bs, W, bs, Co};  // output [b, h, by, w, bx, c]
    const int64_t s[6] = {H * W * C, W * C, bs * Co, C, Co, 1};
    for (int i = 0; i < 6; ++i) dims[i] = d[i], src[i] = s[i];
  } else {
    const int64_t B = in->dims[0], H = in->dims[1], W = in->dims[2], C = in->dims[3];
    const int64_t Ho = out->dims[1], Wo = out->dims[2];
    if (Ho == 0) return Status::Ok();
    const int64_t bs = H / Ho;
    const int64_t d[6] = {B, Ho, Wo, bs, bs, C};  // output [b, h, w, by, bx, c]
    const int64_t s[6] = {H * W * C, bs * W * C, bs * C, W * C, C, 1};
    for (int i = 0; i < 6; ++i) dims[i] = d[i], src[i] = s[i];
  }
  int64_t stride = 1;
  for (int i = 5; i >= 0; --i) {
    dst[i] = stride;
    stride *= dims[i];
  }
  ref::StridedCopy(in->data, src, out->data, dst, dims, 6, DTypeSize(in->type));
  return Status::Ok();
}

}  // namespace

const Registration* RegisterGather() {
  static const Registration reg = {"GATHER", InitOpData<GatherData>, GatherPrepare, GatherEval};
  return &reg;
}
const Registration* RegisterTile() {
  static const Registration reg = {"TILE", nullptr, TilePrepare, TileEval};
  return &reg;
}
const Registration* RegisterBroadcastTo() {
  static const Registration reg = {"BROADCAST_TO", InitOpData<ReplicateData>, BroadcastToPrepare,
                                   BroadcastToEval};
  return &reg;
}
const Registration* RegisterZerosLike() {
  static const Registration reg = {"ZEROS_LIKE", nullptr, ZerosLikePrepare, ZerosLikeEval};
  return &reg;
}
const Registration* RegisterFill() {
  static const Registration reg = {"FILL", nullptr, FillPrepare, FillEval};
  return &reg;
}
const Registration* RegisterDepthToSpace() {
  static const Registration reg = {"DEPTH_TO_SPACE", nullptr, DepthToSpacePrepare,
                                   SpaceDepthEval<true>};
  return &reg;
}
const Registration* RegisterSpaceToDepth() {
  static const Registration reg = {"SPACE_TO_DEPTH", nullptr, SpaceToDepthPrepare,
                                   SpaceDepthEval<false>};
  return &reg;
}

}  // namespace rt
}  // namespace edgeopt
