// Joining and splitting along an axis: CONCATENATION, SPLIT, SPLIT_V, PACK, UNPACK. All are block
// copies: the tensor is viewed as [outer, axis, inner]. CONCATENATION requantizes uint8/int8 inputs
// whose scale or zero point differ from the output's (TFLite's ConcatenationWithScaling; TFLite 2.9
// itself only allows it for uint8), and, like TFLite, ignores a fused activation.
#include <cmath>
#include <cstring>

#include "src/runtime/kernels/elem_util.h"
#include "src/runtime/kernels/kernel_util.h"

namespace edgeopt {
namespace rt {
namespace {

// Product of dims [begin, end).
int64_t Span(const Dims& d, int begin, int end) { return d.FlatSize(begin, end); }

// --- CONCATENATION -------------------------------------------------------------------------------

struct ConcatData {
  int axis = 0;
  bool requantize = false;  // some quantized input differs from the output's parameters
};

Status ConcatPrepare(Context* ctx, Node* node) {
  ConcatData* data;
  EDGEOPT_RETURN_IF_ERROR(GetOpData(node, &data));
  EDGEOPT_ENSURE(node->num_inputs >= 1, StatusCode::kInvalidModel, "has no inputs");
  EDGEOPT_RETURN_IF_ERROR(CheckNumOutputs(node, 1));
  Tensor *t0, *out;
  EDGEOPT_RETURN_IF_ERROR(GetInputChecked(ctx, node, 0, &t0));
  EDGEOPT_RETURN_IF_ERROR(GetOutputChecked(ctx, node, 0, &out));
  const auto* options = GetOptions<tflite::ConcatenationOptions>(node);
  const int rank = t0->dims.size;
  EDGEOPT_RETURN_IF_ERROR(
      NormalizeAxis(options != nullptr ? options->axis() : 0, rank, "axis", &data->axis));
  EDGEOPT_RETURN_IF_ERROR(CheckSameType(t0, out, "input 0", "output"));
  EDGEOPT_ENSURE(DTypeSize(out->type) != 0, StatusCode::kUnsupported, "type %s is not supported",
                 DTypeName(out->type));
  const bool quantized8 = out->type == DType::kUInt8 || out->type == DType::kInt8;
  if (quantized8) EDGEOPT_RETURN_IF_ERROR(CheckPerTensorQuant(out, "output"));
  Dims dims = t0->dims;
  int64_t sum_axis = 0;
  for (int i = 0; i < node->num_inputs; ++i) {
    Tensor* t;
    EDGEOPT_RETURN_IF_ERROR(GetInputChecked(ctx, node, i, &t));
    EDGEOPT_RETURN_IF_ERROR(CheckSameType(t, out, "input", "output"));
    EDGEOPT_ENSURE(t->dims.size == rank, StatusCode::kInvalidModel,
                   "input %d has rank %d, input 0 has rank %d", i, t->dims.size, rank);
    for (int d = 0; d < rank; ++d) {
      EDGEOPT_ENSURE(d == data->axis || t->dims[d] == t0->dims[d], StatusCode::kInvalidModel,
                     "input %d has shape %s, incompatible with input 0 %s "
                     "along dimension %d",
                     i, DimsStr(t->dims).c_str(), DimsStr(t0->dims).c_str(), d);
    }
    sum_axis += t->dims[data->axis];
    EDGEOPT_ENSURE(sum_axis <= INT32_MAX, StatusCode::kInvalidModel, "output is too large");
    if (quantized8) {
      EDGEOPT_RETURN_IF_ERROR(CheckPerTensorQuant(t, "input"));
      if (t->quant.scale != out->quant.scale || t->quant.zero_point != out->quant.zero_point) {
        data->requantize = true;
      }
    }
  }
  dims.data[data->axis] = static_cast<int32_t>(sum_axis);
  return ctx->ResizeTensor(out, dims);
}

// TFLite's requantization: round(q * (s_in / s_out) - zp_in * (s_in / s_out)) + zp_out in float.
template <typename T>
void RequantizeCopy(const T* src, int64_t n, float in_scale, int32_t in_zp, float inv_out_scale,
                    int32_t out_zp, T* dst) {
  const float scale = in_scale * inv_out_scale;
  const float bias = -static_cast<float>(in_zp) * scale;
  const int32_t lo = std::numeric_limits<T>::min(), hi = std::numeric_limits<T>::max();
  for (int64_t j = 0; j < n; ++j) {
    const int32_t v =
        static_cast<int32_t>(ClampForInt32(std::round(static_cast<float>(src[j]) * scale + bias))) +
        out_zp;
    dst[j] = static_cast<T>(std::max(lo, std::min(hi, v)));
  }
}

Status ConcatEval(Context* ctx, Node* node) {
  const ConcatData* data = static_cast<const ConcatData*>(node->user_data);
  Tensor* out = ctx->output(node, 0);
  const size_t elem = DTypeSize(out->type);
  const int axis = data->axis;
  const int64_t outer = Span(out->dims, 0, axis);
  const int64_t inner = Span(out->dims, axis + 1, out->dims.size);
  const int64_t out_row = out->dims[axis] * inner;
  const float inv_out_scale = 1.0f / out->quant.scale;
  int64_t offset = 0;  // elements into an output row
  for (int i = 0; i < node->num_inputs; ++i) {
    const Tensor* t = ctx->input(node, i);
    const int64_t row = t->dims[axis] * inner;
    const bool rescale = data->requantize && (t->quant.scale != out->quant.scale ||
                                              t->quant.zero_point != out->quant.zero_point);
    for (int64_t k = 0; k < outer; ++k) {
      const uint8_t* src = t->data + static_cast<size_t>(k * row) * elem;
      uint8_t* dst = out->data + static_cast<size_t>(k * out_row + offset) * elem;
      if (!rescale) {
        if (row > 0) std::memcpy(dst, src, static_cast<size_t>(row) * elem);
      } else if (out->type == DType::kUInt8) {
        RequantizeCopy(src, row, t->quant.scale, t->quant.zero_point, inv_out_scale,
                       out->quant.zero_point, dst);
      } else {
        RequantizeCopy(reinterpret_cast<const int8_t*>(src), row, t->quant.scale,
                       t->quant.zero_point, inv_out_scale, out->quant.zero_point,
                       reinterpret_cast<int8_t*>(dst));
      }
    }
    offset += row;
  }
  return Status::Ok();
}

// --- SPLIT / SPLIT_V / UNPACK --------------------------------------------------------------------

struct SplitData {
  int axis = 0;
};

// Copies consecutive slices of `in` along `axis` into the node's outputs (whose dims are set).
Status SplitEvalImpl(Context* ctx, Node* node, const Tensor* in, int axis) {
  const size_t elem = DTypeSize(in->type);
  const int64_t outer = Span(in->dims, 0, axis);
  const int64_t inner = Span(in->dims, axis + 1, in->dims.size);
  const int64_t in_row = in->dims[axis] * inner;
  int64_t offset = 0;
  for (int i = 0; i < node->num_outputs; ++i) {
    Tensor* t = ctx->output(node, i);
    const int64_t slices = in->dims.size == t->dims.size ? t->dims[axis] : 1;  // UNPACK drops it
    const int64_t row = slices * inner;
    for (int64_t k = 0; k < outer; ++k) {
      if (row > 0) {
        std::memcpy(t->data + static_cast<size_t>(k * row) * elem,
                    in->data + static_cast<size_t>(k * in_row + offset) * elem,
                    static_cast<size_t>(row) * elem);
      }
    }
    offset += row;
  }
  return Status::Ok();
}

Status CheckOutputsLikeInput(Context* ctx, Node* node, const Tensor* in) {
  EDGEOPT_ENSURE(node->num_outputs >= 1, StatusCode::kInvalidModel, "has no outputs");
  EDGEOPT_ENSURE(DTypeSize(in->type) != 0, StatusCode::kUnsupported, "type %s is not supported",
                 DTypeName(in->type));
  for (int i = 0; i < node->num_outputs; ++i) {
    Tensor* t;
    EDGEOPT_RETURN_IF_ERROR(GetOutputChecked(ctx, node, i, &t));
    EDGEOPT_RETURN_IF_ERROR(CheckSameType(in, t, "input", "output"));
  }
  return Status::Ok();
}

Status SplitPrepare(Context* ctx, Node* node) {
  SplitData* data;
  EDGEOPT_RETURN_IF_ERROR(GetOpData(node, &data));
  EDGEOPT_RETURN_IF_ERROR(CheckNumInputs(node, 2, 2));
  Tensor *axis_t, *in;
  EDGEOPT_RETURN_IF_ERROR(GetInputChecked(ctx, node, 0, &axis_t));
  EDGEOPT_RETURN_IF_ERROR(GetInputChecked(ctx, node, 1, &in));
  EDGEOPT_RETURN_IF_ERROR(CheckOutputsLikeInput(ctx, node, in));
  int64_t axis_value;
  int count;
  EDGEOPT_RETURN_IF_ERROR(ReadConstInts(axis_t, "axis", &axis_value, 1, &count));
  EDGEOPT_ENSURE(count == 1, StatusCode::kInvalidModel, "axis must have one element");
  EDGEOPT_RETURN_IF_ERROR(NormalizeAxis(axis_value, in->dims.size, "axis", &data->axis));
  const auto* options = GetOptions<tflite::SplitOptions>(node);
  const int num_splits = options != nullptr ? options->num_splits() : 0;
  EDGEOPT_ENSURE(num_splits == node->num_outputs, StatusCode::kInvalidModel,
                 "num_splits is %d but the node has %d outputs", num_splits, node->num_outputs);
  const int32_t size = in->dims[data->axis];
  EDGEOPT_ENSURE(size % num_splits == 0, StatusCode::kInvalidModel,
                 "dimension %d (size %d) does not split evenly into %d parts", data->axis, size,
                 num_splits);
  Dims dims = in->dims;
  dims.data[data->axis] = size / num_splits;
  for (int i = 0; i < node->num_outputs; ++i) {
    EDGEOPT_RETURN_IF_ERROR(ctx->ResizeTensor(ctx->output(node, i), dims));
  }
  return Status::Ok();
}

Status SplitEval(Context* ctx, Node* node) {
  const SplitData* data = static_cast<const SplitData*>(node->user_data);
  return SplitEvalImpl(ctx, node, ctx->input(node, 1), data->axis);
}

Status SplitVPrepare(Context* ctx, Node* node) {
  SplitData* data;
  EDGEOPT_RETURN_IF_ERROR(GetOpData(node, &data));
  EDGEOPT_RETURN_IF_ERROR(CheckNumInputs(node, 3, 3));
  Tensor *in, *sizes_t, *axis_t;
  EDGEOPT_RETURN_IF_ERROR(GetInputChecked(ctx, node, 0, &in));
  EDGEOPT_RETURN_IF_ERROR(GetInputChecked(ctx, node, 1, &sizes_t));
  EDGEOPT_RETURN_IF_ERROR(GetInputChecked(ctx, node, 2, &axis_t));
  EDGEOPT_RETURN_IF_ERROR(CheckOutputsLikeInput(ctx, node, in));
  int64_t axis_value;
  int count;
  EDGEOPT_RETURN_IF_ERROR(ReadConstInts(axis_t, "axis", &axis_value, 1, &count));
  EDGEOPT_ENSURE(count == 1, StatusCode::kInvalidModel, "axis must have one element");
  EDGEOPT_RETURN_IF_ERROR(NormalizeAxis(axis_value, in->dims.size, "axis", &data->axis));
  constexpr int kMaxSplits = 1024;
  EDGEOPT_ENSURE(node->num_outputs <= kMaxSplits, StatusCode::kUnsupported,
                 "at most %d outputs are supported", kMaxSplits);
  int64_t sizes[kMaxSplits];
  EDGEOPT_RETURN_IF_ERROR(ReadConstInts(sizes_t, "size_splits", sizes, kMaxSplits, &count));
  EDGEOPT_ENSURE(count == node->num_outputs, StatusCode::kInvalidModel,
                 "size_splits has %d entries but the node has %d outputs", count,
                 node->num_outputs);
  const int64_t total = in->dims[data->axis];
  int64_t known = 0;
  int minus_one = -1;
  for (int i = 0; i < count; ++i) {
    if (sizes[i] == -1) {
      EDGEOPT_ENSURE(minus_one < 0, StatusCode::kInvalidModel, "size_splits has more than one -1");
      minus_one = i;
    } else {
      EDGEOPT_ENSURE(sizes[i] >= 0, StatusCode::kInvalidModel,
                     "size_splits[%d] is %lld; expected >= 0 or -1", i,
                     static_cast<long long>(sizes[i]));
      known += sizes[i];
    }
  }
  if (minus_one >= 0) {
    EDGEOPT_ENSURE(known <= total, StatusCode::kInvalidModel,
                   "size_splits add up to %lld, more than dimension %d (%lld)",
                   static_cast<long long>(known), data->axis, static_cast<long long>(total));
    sizes[minus_one] = total - known;
    known = total;
  }
  EDGEOPT_ENSURE(known == total, StatusCode::kInvalidModel,
                 "size_splits add up to %lld but dimension %d has size %lld",
                 static_cast<long long>(known), data->axis, static_cast<long long>(total));
  for (int i = 0; i < count; ++i) {
    Dims dims = in->dims;
    dims.data[data->axis] = static_cast<int32_t>(sizes[i]);
    EDGEOPT_RETURN_IF_ERROR(ctx->ResizeTensor(ctx->output(node, i), dims));
  }
  return Status::Ok();
}

Status SplitVEval(Context* ctx, Node* node) {
  const SplitData* data = static_cast<const SplitData*>(node->user_data);
  return SplitEvalImpl(ctx, node, ctx->input(node, 0), data->axis);
}

Status UnpackPrepare(Context* ctx, Node* node) {
  SplitData* data;
  EDGEOPT_RETURN_IF_ERROR(GetOpData(node, &data));
  EDGEOPT_RETURN_IF_ERROR(CheckNumInputs(node, 1, 1));
  Tensor* in;
  EDGEOPT_RETURN_IF_ERROR(GetInputChecked(ctx, node, 0, &in));
  EDGEOPT_RETURN_IF_ERROR(CheckOutputsLikeInput(ctx, node, in));
  const auto* options = GetOptions<tflite::UnpackOptions>(node);
  EDGEOPT_RETURN_IF_ERROR(
      NormalizeAxis(options != nullptr ? options->axis() : 0, in->dims.size, "axis", &data->axis));
  const int num = options != nullptr ? options->num() : 0;
  EDGEOPT_ENSURE(in->dims[data->axis] == node->num_outputs && num == node->num_outputs,
                 StatusCode::kInvalidModel,
                 "dimension %d has size %d, num is %d, but the node has %d outputs", data->axis,
                 in->dims[data->axis], num, node->num_outputs);
  Dims dims;
  for (int d = 0; d < in->dims.size; ++d) {
    if (d != data->axis) dims.data[dims.size++] = in->dims[d];
  }
  for (int i = 0; i < node->num_outputs; ++i) {
    EDGEOPT_RETURN_IF_ERROR(ctx->ResizeTensor(ctx->output(node, i), dims));
  }
  return Status::Ok();
}

Status UnpackEval(Context* ctx, Node* node) {
  const SplitData* data = static_cast<const SplitData*>(node->user_data);
  return SplitEvalImpl(ctx, node, ctx->input(node, 0), data->axis);
}

// --- PACK ----------------------------------------------------------------------------------------

Status PackPrepare(Context* ctx, Node* node) {
  ConcatData* data;
  EDGEOPT_RETURN_IF_ERROR(GetOpData(node, &data));
  EDGEOPT_ENSURE(node->num_inputs >= 1, StatusCode::kInvalidModel, "has no inputs");
  EDGEOPT_RETURN_IF_ERROR(CheckNumOutputs(node, 1));
  Tensor *t0, *out;
  EDGEOPT_RETURN_IF_ERROR(GetInputChecked(ctx, node, 0, &t0));
  EDGEOPT_RETURN_IF_ERROR(GetOutputChecked(ctx, node, 0, &out));
  EDGEOPT_ENSURE(DTypeSize(out->type) != 0, StatusCode::kUnsupported, "type %s is not supported",
                 DTypeName(out->type));
  const auto* options = GetOptions<tflite::PackOptions>(node);
  const int rank = t0->dims.size;
  EDGEOPT_ENSURE(rank < kMaxDims, StatusCode::kUnsupported, "input rank %d is too large", rank);
  EDGEOPT_RETURN_IF_ERROR(
      NormalizeAxis(options != nullptr ? options->axis() : 0, rank + 1, "axis", &data->axis));
  const int count = options != nullptr ? options->values_count() : 0;
  EDGEOPT_ENSURE(count == node->num_inputs, StatusCode::kInvalidModel,
                 "values_count is %d but the node has %d inputs", count, node->num_inputs);
  for (int i = 0; i < node->num_inputs; ++i) {
    Tensor* t;
    EDGEOPT_RETURN_IF_ERROR(GetInputChecked(ctx, node, i, &t));
    EDGEOPT_RETURN_IF_ERROR(CheckSameType(t, out, "input", "output"));
    EDGEOPT_RETURN_IF_ERROR(CheckSameDims(t, t0, "input", "input 0"));
  }
  Dims dims;
  dims.size = rank + 1;
  for (int d = 0, j = 0; d <= rank; ++d) {
    dims.data[d] = d == data->axis ? node->num_inputs : t0->dims[j++];
  }
  return ctx->ResizeTensor(out, dims);
}

Status PackEval(Context* ctx, Node* node) {
  const ConcatData* data = static_cast<const ConcatData*>(node->user_data);
  Tensor* out = ctx->output(node, 0);
  const size_t elem = DTypeSize(out->type);
  const int64_t outer = Span(out->dims, 0, data->axis);
  const int64_t inner = Span(out->dims, data->axis + 1, out->dims.size);
  const int n = node->num_inputs;
  for (int i = 0; i < n; ++i) {
    const Tensor* t = ctx->input(node, i);
    for (int64_t k = 0; k < outer; ++k) {
      if (inner > 0) {
        std::memcpy(out->data + static_cast<size_t>((k * n + i) * inner) * elem,
                    t->data + static_cast<size_t>(k * inner) * elem,
                    static_cast<size_t>(inner) * elem);
      }
    }
  }
  return Status::Ok();
}

}  // namespace

const Registration* RegisterConcatenation() {
  static const Registration reg = {"CONCATENATION", InitOpData<ConcatData>, ConcatPrepare,
                                   ConcatEval};
  return &reg;
}
const Registration* RegisterSplit() {
  static const Registration reg = {"SPLIT", InitOpData<SplitData>, SplitPrepare, SplitEval};
  return &reg;
}
const Registration* RegisterSplitV() {
  static const Registration reg = {"SPLIT_V", InitOpData<SplitData>, SplitVPrepare, SplitVEval};
  return &reg;
}
const Registration* RegisterPack() {
  static const Registration reg = {"PACK", InitOpData<ConcatData>, PackPrepare, PackEval};
  return &reg;
}
const Registration* RegisterUnpack() {
  static const Registration reg = {"UNPACK", InitOpData<SplitData>, UnpackPrepare, UnpackEval};
  return &reg;
}

}  // namespace rt
}  // namespace edgeopt
