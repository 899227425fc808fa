// SPACE_TO_BATCH_ND and BATCH_TO_SPACE_ND (the converter's lowering of dilated
// convolutions) for any number of block dimensions, and MIRROR_PAD (REFLECT /
// SYMMETRIC). Quantized SPACE_TO_BATCH_ND pads with the output zero point.
#include <cstring>

#include "src/runtime/kernels/elem_util.h"

namespace edgeopt {
namespace rt {
namespace {

constexpr int kMaxBlockDims = kMaxDims - 1;

struct OpData {
  int m = 0;  // block dimensions
  int64_t block[kMaxBlockDims] = {};
  int64_t before[kMaxBlockDims] = {};  // padding (S2B) or crop (B2S) before
  int64_t rest = 1;                    // elements after the spatial dimensions
};

template <bool kToBatch>
Status Prepare(Context* ctx, Node* node) {
  OpData* data;
  EDGEOPT_RETURN_IF_ERROR(GetOpData(node, &data));
  EDGEOPT_RETURN_IF_ERROR(CheckNumInputs(node, 3, 3));
  EDGEOPT_RETURN_IF_ERROR(CheckNumOutputs(node, 1));
  Tensor *in, *block_t, *pads_t, *out;
  EDGEOPT_RETURN_IF_ERROR(GetInputChecked(ctx, node, 0, &in));
  EDGEOPT_RETURN_IF_ERROR(GetInputChecked(ctx, node, 1, &block_t));
  EDGEOPT_RETURN_IF_ERROR(GetInputChecked(ctx, node, 2, &pads_t));
  EDGEOPT_RETURN_IF_ERROR(GetOutputChecked(ctx, node, 0, &out));
  EDGEOPT_RETURN_IF_ERROR(CheckSameType(in, out, "input", "output"));
  EDGEOPT_ENSURE(DTypeSize(in->type) != 0, StatusCode::kUnsupported, "type %s is not supported",
                 DTypeName(in->type));
  int64_t block[kMaxDims], pads[2 * kMaxDims];
  int m, np;
  EDGEOPT_RETURN_IF_ERROR(ReadConstInts(block_t, "block_shape", block, kMaxBlockDims, &m));
  EDGEOPT_RETURN_IF_ERROR(
      ReadConstInts(pads_t, kToBatch ? "paddings" : "crops", pads, 2 * kMaxDims, &np));
  const int rank = in->dims.size;
  EDGEOPT_ENSURE(m >= 1 && rank >= m + 1, StatusCode::kInvalidModel,
                 "block_shape has %d entries; the input (rank %d) needs at least %d dims", m, rank,
                 m + 1);
  EDGEOPT_ENSURE(np == 2 * m, StatusCode::kInvalidModel, "%s must have %d x 2 entries, has %d",
                 kToBatch ? "paddings" : "crops", m, np);
  data->m = m;
  Dims dims = in->dims;
  int64_t block_prod = 1;
  for (int i = 0; i < m; ++i) {
    EDGEOPT_ENSURE(block[i] >= 1 && block[i] <= INT32_MAX, StatusCode::kInvalidModel,
                   "block_shape[%d] is %lld; it must be >= 1", i, static_cast<long long>(block[i]));
    EDGEOPT_ENSURE(pads[2 * i] >= 0 && pads[2 * i + 1] >= 0, StatusCode::kInvalidModel,
                   "%s for dimension %d must be >= 0", kToBatch ? "paddings" : "crops", i + 1);
    block_prod *= block[i];
    EDGEOPT_ENSURE(block_prod <= INT32_MAX, StatusCode::kInvalidModel, "block is too large");
    data->block[i] = block[i];
    data->before[i] = pads[2 * i];
    const int64_t dim = in->dims[1 + i];
    int64_t size;
    if (kToBatch) {
      const int64_t padded = dim + pads[2 * i] + pads[2 * i + 1];
      EDGEOPT_ENSURE(padded % block[i] == 0, StatusCode::kInvalidModel,
                     "padded dimension %d (%lld) is not a multiple of block %lld", i + 1,
                     static_cast<long long>(padded), static_cast<long long>(block[i]));
      size = padded / block[i];
    } else {
      size = dim * block[i] - pads[2 * i] - pads[2 * i + 1];
      EDGEOPT_ENSURE(size >= 0, StatusCode::kInvalidModel,
                     "crops remove more than dimension %d holds", i + 1);
    }
    EDGEOPT_ENSURE(size <= INT32_MAX, StatusCode::kInvalidModel, "output is too large");
    dims.data[1 + i] = static_cast<int32_t>(size);
  }
  if (kToBatch) {
    const int64_t b = in->dims[0] * block_prod;
    EDGEOPT_ENSURE(b <= INT32_MAX, StatusCode::kInvalidModel, "output batch is too large");
    dims.data[0] = static_cast<int32_t>(b);
  } else {
    EDGEOPT_ENSURE(in->dims[0] % block_prod == 0, StatusCode::kInvalidModel,
                   "batch %d is not a multiple of the block size %lld", in->dims[0],
                   static_cast<long long>(block_prod));
    dims.data[0] = static_cast<int32_t>(in->dims[0] / block_prod);
  }
  data->rest = in->dims.FlatSize(1 + m, rank);
  return ctx->ResizeTensor(out, dims);
}

template <bool kToBatch>
Status Eval(Context* ctx, Node* node) {
  const OpData* d = static_cast<const OpData*>(node->user_data);
  const Tensor* in = ctx->input(node, 0);
  Tensor* out = ctx->output(node, 0);
  const size_t elem = DTypeSize(in->type);
  const size_t row = static_cast<size_t>(d->rest) * elem;
  const int m = d->m;
  // Pad value: zeros, or the output zero point for quantized tensors.
  uint8_t pad[8] = {};
  if (kToBatch && out->quant.IsQuantized()) {
    const int32_t zp = out->quant.zero_point;
    if (elem == 1) pad[0] = static_cast<uint8_t>(zp);
    if (elem == 2) {
      const int16_t v = static_cast<int16_t>(zp);
      std::memcpy(pad, &v, 2);
    }
  }
  const Dims& small = kToBatch ? out->dims : in->dims;  // the batched (block) side
  const Dims& large = kToBatch ? in->dims : out->dims;  // the spatial side
  const int64_t batch = large.data[0];
  const int64_t spatial = small.FlatSize(1, 1 + m);
  if (small.NumElements() == 0 || row == 0) return Status::Ok();
  for (int64_t sb = 0; sb < small.data[0]; ++sb) {
    const int64_t b = sb % batch;
    int64_t off[kMaxBlockDims];
    int64_t rem = sb / batch;
    for (int i = m - 1; i >= 0; --i) {
      off[i] = rem % d->block[i];
      rem /= d->block[i];
    }
    for (int64_t s = 0; s < spatial; ++s) {
      // Coordinates on the batched side, then on the spatial side.
      int64_t coord[kMaxBlockDims];
      int64_t r = s;
      for (int i = m - 1; i >= 0; --i) {
        coord[i] = r % small.data[1 + i];
        r /= small.data[1 + i];
      }
      bool inside = true;
      int64_t large_index = b;
      for (int i = 0; i < m; ++i) {
        const int64_t p = coord[i] * d->block[i] + off[i] - d->before[i];
        inside = inside && p >= 0 && p < large.data[1 + i];
        large_index = large_index * large.data[1 + i] + p;
      }
      const int64_t small_index = sb * spatial + s;
      if (kToBatch) {
        uint8_t* dst = out->data + static_cast<size_t>(small_index) * row;
        if (inside) {
          std::memcpy(dst, in->data + static_cast<size_t>(large_index) * row, row);
        } else {
          for (int64_t k = 0; k < d->rest; ++k) std::memcpy(dst + k * elem, pad, elem);
        }
      } else if (inside) {
        std::memcpy(out->data + static_cast<size_t>(large_index) * row,
                    in->data + static_cast<size_t>(small_index) * row, row);
      }
    }
  }
  return Status::Ok();
}

// --- MIRROR_PAD ----------------------------------------------------------------------------------

struct MirrorData {
  int64_t before[kMaxDims] = {};
  bool symmetric = false;
};

Status MirrorPrepare(Context* ctx, Node* node) {
  MirrorData* data;
  EDGEOPT_RETURN_IF_ERROR(GetOpData(node, &data));
  EDGEOPT_RETURN_IF_ERROR(CheckNumInputs(node, 2, 2));
  EDGEOPT_RETURN_IF_ERROR(CheckNumOutputs(node, 1));
  Tensor *in, *pads_t, *out;
  EDGEOPT_RETURN_IF_ERROR(GetInputChecked(ctx, node, 0, &in));
  EDGEOPT_RETURN_IF_ERROR(GetInputChecked(ctx, node, 1, &pads_t));
  EDGEOPT_RETURN_IF_ERROR(GetOutputChecked(ctx, node, 0, &out));
  EDGEOPT_RETURN_IF_ERROR(CheckSameType(in, out, "input", "output"));
  EDGEOPT_ENSURE(DTypeSize(in->type) != 0, StatusCode::kUnsupported, "type %s is not supported",
                 DTypeName(in->type));
  const auto* o = GetOptions<tflite::MirrorPadOptions>(node);
  data->symmetric = o != nullptr && o->mode() == tflite::MirrorPadMode::SYMMETRIC;
  const int rank = in->dims.size;
  int64_t pads[2 * kMaxDims];
  int count;
  EDGEOPT_RETURN_IF_ERROR(ReadConstInts(pads_t, "paddings", pads, 2 * kMaxDims, &count));
  EDGEOPT_ENSURE(count == 2 * rank, StatusCode::kInvalidModel,
                 "paddings must have %d x 2 entries, has %d", rank, count);
  Dims dims = in->dims;
  for (int d = 0; d < rank; ++d) {
    const int64_t limit = data->symmetric ? in->dims[d] : in->dims[d] - 1;
    for (int k = 0; k < 2; ++k) {
      EDGEOPT_ENSURE(pads[2 * d + k] >= 0 && pads[2 * d + k] <= limit, StatusCode::kInvalidModel,
                     "padding %lld of dimension %d (size %d) is outside [0, "
                     "%lld] for %s mode",
                     static_cast<long long>(pads[2 * d + k]), d, in->dims[d],
                     static_cast<long long>(limit), data->symmetric ? "SYMMETRIC" : "REFLECT");
    }
    data->before[d] = pads[2 * d];
    dims.data[d] = static_cast<int32_t>(in->dims[d] + pads[2 * d] + pads[2 * d + 1]);
  }
  return ctx->ResizeTensor(out, dims);
}

Status MirrorEval(Context* ctx, Node* node) {
  const MirrorData* d = static_cast<const MirrorData*>(node->user_data);
  const Tensor* in = ctx->input(node, 0);
  Tensor* out = ctx->output(node, 0);
  const size_t elem = DTypeSize(in->type);
  const int rank = in->dims.size;
  const int64_t n = out->dims.NumElements();
  int64_t in_strides[kMaxDims];
  {
    int64_t s = 1;
    for (int i = rank - 1; i >= 0; --i) {
      in_strides[i] = s;
      s *= in->dims[i];
    }
  }
  int64_t index[kMaxDims] = {};
  for (int64_t k = 0; k < n; ++k) {
    int64_t src = 0;
    for (int i = 0; i < rank; ++i) {
      const int64_t size = in->dims[i];
      int64_t x = index[i] - d->before[i];
      if (x < 0) x = d->symmetric ? -x - 1 : -x;
      if (x >= size) x = d->symmetric ? 2 * size - 1 - x : 2 * size - 2 - x;
      src += x * in_strides[i];
    }
    std::memcpy(out->data + static_cast<size_t>(k) * elem,
                in->data + static_cast<size_t>(src) * elem, elem);
    for (int i = rank - 1; i >= 0; --i) {
      if (++index[i] < out->dims[i]) break;
      index[i] = 0;
    }
  }
  return Status::Ok();
}

}  // namespace

const Registration* RegisterSpaceToBatchNd() {
  static const Registration reg = {"SPACE_TO_BATCH_ND", InitOpData<OpData>, Prepare<true>,
                                   Eval<true>};
  return &reg;
}
const Registration* RegisterBatchToSpaceNd() {
  static const Registration reg = {"BATCH_TO_SPACE_ND", InitOpData<OpData>, Prepare<false>,
                                   Eval<false>};
  return &reg;
}
const Registration* RegisterMirrorPad() {
  static const Registration reg = {"MIRROR_PAD", InitOpData<MirrorData>, MirrorPrepare, MirrorEval};
  return &reg;
}

}  // namespace rt
}  // namespace edgeopt
