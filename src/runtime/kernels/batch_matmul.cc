// BATCH_MATMUL: float32, int8 (per-tensor, asymmetric lhs and rhs) and int16 (TFLite
// 2.9's reference kernel with an int64 accumulator), ranks 2 to 6 with
// numpy-broadcast batch dimensions, adj_x / adj_y.
//
// Rounding: TFLite 2.9 runs int8 BATCH_MATMUL on a ruy GEMM, so the output stage rounds as ruy's
// x86 kernels (ref::Rounding::kRuyX86); the multiplier comes from the float product of the scales,
// as GetQuantizedConvolutionMultipler.
#include "src/runtime/kernels/reference/batch_matmul.h"

#include <algorithm>
#include <new>

#include "src/runtime/kernels/conv_common.h"
#include "src/runtime/kernels/kernel_util.h"

namespace edgeopt {
namespace rt {
namespace {

constexpr int kMaxBatchMatMulRank = 6;

struct OpData {
  ref::BatchMatMulShape shape;
  int32_t* lhs_batch = nullptr;
  int32_t* rhs_batch = nullptr;
  bool int8 = false;  // quantized: int8, or int16 when `int16`
  bool int16 = false;
  bool wide_acc = false;
  ref::OutputStage stage;
  int32_t multiplier = 0, shift = 0;
  int lhs_t = -1, rhs_t = -1, acc = -1, sums = -1;  // scratch
  Tensor dense_rhs;                                 // decoded sparse rhs (when densified)
  bool densified = false;
};

void* Init(Context* ctx, const Node*) {
  void* p = ctx->AllocatePersistent(sizeof(OpData));
  return p != nullptr ? new (p) OpData() : nullptr;
}

// Output dims and, for every output batch, the lhs and rhs batch it reads.
Status PrepareBatches(Context* ctx, const Tensor* lhs, const Tensor* rhs, OpData* data,
                      Dims* out_dims) {
  const int rank = std::max(lhs->dims.size, rhs->dims.size);
  const int batch_rank = rank - 2;
  int32_t out_batch[kMaxDims] = {}, lhs_stride[kMaxDims] = {}, rhs_stride[kMaxDims] = {};
  int64_t lhs_n = 1, rhs_n = 1, out_n = 1;
  for (int i = batch_rank - 1; i >= 0; --i) {
    const int li = lhs->dims.size - rank + i, ri = rhs->dims.size - rank + i;
    const int32_t ld = li >= 0 ? lhs->dims[li] : 1;
    const int32_t rd = ri >= 0 ? rhs->dims[ri] : 1;
    EDGEOPT_ENSURE(ld == rd || ld == 1 || rd == 1, StatusCode::kInvalidModel,
                   "batch dimension %d: lhs has %d, rhs has %d (they must be equal or 1)", i, ld,
                   rd);
    out_batch[i] = ld == 1 ? rd : ld;
    lhs_stride[i] = ld == 1 ? 0 : static_cast<int32_t>(lhs_n);
    rhs_stride[i] = rd == 1 ? 0 : static_cast<int32_t>(rhs_n);
    lhs_n *= ld;
    rhs_n *= rd;
    out_n *= out_batch[i];
  }
  EDGEOPT_ENSURE(
      out_n < (int64_t{1} << 31) && lhs_n < (int64_t{1} << 31) && rhs_n < (int64_t{1} << 31),
      StatusCode::kUnsupported, "too many batches");
  data->shape.batches = static_cast<int>(out_n);
  EDGEOPT_RETURN_IF_ERROR(AllocatePersistentArray(ctx, out_n, &data->lhs_batch));
  EDGEOPT_RETURN_IF_ERROR(AllocatePersistentArray(ctx, out_n, &data->rhs_batch));
  for (int64_t b = 0; b < out_n; ++b) {
    int64_t rest = b, l = 0, r = 0;
    for (int i = batch_rank - 1; i >= 0; --i) {
      const int64_t index = rest % out_batch[i];
      rest /= out_batch[i];
      l += index * lhs_stride[i];
      r += index * rhs_stride[i];
    }
    data->lhs_batch[b] = static_cast<int32_t>(l);
    data->rhs_batch[b] = static_cast<int32_t>(r);
  }
  data->shape.lhs_batch = data->lhs_batch;
  data->shape.rhs_batch = data->rhs_batch;
  out_dims->size = rank;
  for (int i = 0; i < batch_rank; ++i) out_dims->data[i] = out_batch[i];
  out_dims->data[rank - 2] = data->shape.M;
  out_dims->data[rank - 1] = data->shape.N;
  return Status::Ok();
}

Status Prepare(Context* ctx, Node* node) {
  OpData* data = static_cast<OpData*>(node->user_data);
  EDGEOPT_ENSURE(data != nullptr, StatusCode::kOutOfMemory, "out of memory");
  EDGEOPT_RETURN_IF_ERROR(CheckNumInputs(node, 2, 2));
  EDGEOPT_RETURN_IF_ERROR(CheckNumOutputs(node, 1));
  const Tensor* lhs = ctx->input(node, 0);
  const Tensor* rhs_in = ctx->input(node, 1);
  Tensor* output = ctx->output(node, 0);
  EDGEOPT_RETURN_IF_ERROR(CheckRank(lhs, "lhs", 2, kMaxBatchMatMulRank));
  EDGEOPT_RETURN_IF_ERROR(CheckRank(rhs_in, "rhs", 2, kMaxBatchMatMulRank));
  const Tensor* rhs = nullptr;
  EDGEOPT_RETURN_IF_ERROR(DensifyIfSparse(ctx, rhs_in, "rhs", &data->dense_rhs, &rhs));
  data->densified = rhs != rhs_in;
  const auto* options = GetOptions<tflite::BatchMatMulOptions>(node);
  ref::BatchMatMulShape& s = data->shape;
  s.adj_x = options != nullptr && options->adj_x();
  s.adj_y = options != nullptr && options->adj_y();
  const Dims& ld = lhs->dims;
  const Dims& rd = rhs->dims;
  s.M = s.adj_x ? ld[ld.size - 1] : ld[ld.size - 2];
  s.K = s.adj_x ? ld[ld.size - 2] : ld[ld.size - 1];
  const int rhs_k = s.adj_y ? rd[rd.size - 1] : rd[rd.size - 2];
  s.N = s.adj_y ? rd[rd.size - 2] : rd[rd.size - 1];
  EDGEOPT_ENSURE(rhs_k == s.K, StatusCode::kInvalidModel,
                 "lhs has %d columns (contraction size), rhs has %d rows", s.K, rhs_k);
  Dims out_dims;
  EDGEOPT_RETURN_IF_ERROR(PrepareBatches(ctx, lhs, rhs, data, &out_dims));
  EDGEOPT_RETURN_IF_ERROR(ctx->ResizeTensor(output, out_dims));
  const int64_t mk = int64_t{s.M} * s.K, nk = int64_t{s.N} * s.K, mn = int64_t{s.M} * s.N;

  if (lhs->type == DType::kFloat32 && rhs->type == DType::kFloat32) {
    EDGEOPT_RETURN_IF_ERROR(CheckTensorType(output, DType::kFloat32, "output"));
    if (s.adj_x) EDGEOPT_RETURN_IF_ERROR(RequestScratchArray<float>(ctx, mk, &data->lhs_t));
    if (s.adj_y) EDGEOPT_RETURN_IF_ERROR(RequestScratchArray<float>(ctx, nk, &data->rhs_t));
    return Status::Ok();
  }
  const bool int16 = lhs->type == DType::kInt16 && rhs->type == DType::kInt16;
  EDGEOPT_ENSURE((lhs->type == DType::kInt8 && rhs->type == DType::kInt8) || int16,
                 StatusCode::kUnsupported,
                 "lhs %s with rhs %s is not supported (expected float32, int8 or int16 for both)",
                 DTypeName(lhs->type), DTypeName(rhs->type));
  EDGEOPT_RETURN_IF_ERROR(CheckTensorType(output, lhs->type, "output"));
  EDGEOPT_RETURN_IF_ERROR(CheckActivationQuantization(lhs, "lhs"));
  EDGEOPT_RETURN_IF_ERROR(CheckActivationQuantization(rhs, "rhs"));
  EDGEOPT_RETURN_IF_ERROR(CheckActivationQuantization(output, "output"));
  data->int8 = true;  // quantized (int8 or int16)
  data->int16 = int16;
  // One "channel": the per-tensor multiplier from the float product of the scales.
  int32_t *multiplier = nullptr, *shift = nullptr;
  EDGEOPT_RETURN_IF_ERROR(ComputeOutputMultipliers(ctx, lhs, rhs, output, 1,
                                                   /*legacy_float_product=*/true, int16 ? 14 : 31,
                                                   &multiplier, &shift));
  ref::OutputStage& stage = data->stage;
  stage.multiplier = multiplier;
  stage.shift = shift;
  stage.output_zero_point = output->quant.zero_point;
  stage.act_min = int16 ? -32768 : -128;
  stage.act_max = int16 ? 32767 : 127;
  // int8 runs on ruy in TFLite 2.9; int16 on the reference kernel with an int64 accumulator and
  // MultiplyByQuantizedMultiplier(int64_t, ...).
  stage.rounding = int16 ? ref::Rounding::kInt64 : ref::Rounding::kRuyX86;
  if (int16) return Status::Ok();  // no scratch
  data->wide_acc = !Int32AccumulatorSafe(s.K, 128, 128);
  EDGEOPT_RETURN_IF_ERROR(RequestScratchArray<int8_t>(ctx, mk, &data->lhs_t));
  EDGEOPT_RETURN_IF_ERROR(RequestScratchArray<int8_t>(ctx, nk, &data->rhs_t));
  EDGEOPT_RETURN_IF_ERROR(
      ctx->RequestScratch(static_cast<size_t>(mn * (data->wide_acc ? 8 : 4)), &data->acc));
  return RequestScratchArray<int64_t>(ctx, int64_t{s.M} + s.N, &data->sums);
}

Status Eval(Context* ctx, Node* node) {
  const OpData* data = static_cast<const OpData*>(node->user_data);
  const Tensor* lhs = ctx->input(node, 0);
  const Tensor* rhs = data->densified ? &data->dense_rhs : ctx->input(node, 1);
  Tensor* output = ctx->output(node, 0);
  if (!data->int8) {
    ref::BatchMatMulF32(data->shape, lhs->Data<float>(), rhs->Data<float>(), output->Data<float>(),
                        static_cast<float*>(ctx->GetScratch(data->lhs_t)),
                        static_cast<float*>(ctx->GetScratch(data->rhs_t)));
    return Status::Ok();
  }
  if (data->int16) {
    // The 16x8 spec's zero points are 0 (TFLite refuses others); any are honoured here.
    ref::BatchMatMulInt16(data->shape, lhs->Data<int16_t>(), lhs->quant.zero_point,
                          rhs->Data<int16_t>(), rhs->quant.zero_point, data->stage,
                          output->Data<int16_t>());
    return Status::Ok();
  }
  int64_t* sums = static_cast<int64_t*>(ctx->GetScratch(data->sums));
  int8_t* lhs_t = static_cast<int8_t*>(ctx->GetScratch(data->lhs_t));
  int8_t* rhs_t = static_cast<int8_t*>(ctx->GetScratch(data->rhs_t));
  if (data->wide_acc) {
    ref::BatchMatMulQuantized<int8_t, int64_t>(
        data->shape, lhs->Data<int8_t>(), lhs->quant.zero_point, rhs->Data<int8_t>(),
        rhs->quant.zero_point, data->stage, output->Data<int8_t>(), lhs_t, rhs_t,
        static_cast<int64_t*>(ctx->GetScratch(data->acc)), sums);
  } else {
    ref::BatchMatMulQuantized<int8_t, int32_t>(
        data->shape, lhs->Data<int8_t>(), lhs->quant.zero_point, rhs->Data<int8_t>(),
        rhs->quant.zero_point, data->stage, output->Data<int8_t>(), lhs_t, rhs_t,
        static_cast<int32_t*>(ctx->GetScratch(data->acc)), sums);
  }
  return Status::Ok();
}

}  // namespace

const Registration* RegisterBatchMatMul() {
  static const Registration reg = {"BATCH_MATMUL", Init, Prepare, Eval};
  return &reg;
}

}  // namespace rt
}  // namespace edgeopt
