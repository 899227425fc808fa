// CONV_2D: float32; int8 (per-channel or per-tensor weights); legacy uint8; int16 activations with
// int8 weights (16x8); hybrid (float activations, int8 weights quantized per batch at run time).
// Grouped convolution when the input has a multiple of the filter's channels.
//
// Rounding: TFLite 2.9 runs quantized CONV_2D as im2col + a ruy GEMM on x86 with AVX, so the
// int8/uint8 output stage uses ruy's single rounding (ref::Rounding::kRuyX86); 16x8 uses the
// reference int64 kernel. Hybrid: per-channel weights (scales not all equal) quantize the input
// asymmetrically, per-tensor weights symmetrically, as TFLite's EvalHybridPerChannel/EvalHybrid.
#include <algorithm>
#include <new>

#include "src/runtime/kernels/conv_common.h"
#include "src/runtime/kernels/conv_direct.h"
#include "src/runtime/kernels/conv_igemm.h"
#include "src/runtime/kernels/im2col.h"
#include "src/runtime/kernels/kernel_util.h"
#include "src/runtime/kernels/reference/conv.h"
#include "src/runtime/kernels/sparse_conv.h"
#include "src/runtime/kernels/sparse_matmul.h"
#include "src/runtime/selective.h"
#include "src/runtime/thread_pool.h"

namespace edgeopt {
namespace rt {
namespace {

enum class Kind : uint8_t { kFloat, kInt8, kUInt8, kInt16, kHybrid };

struct OpData {
  Kind kind = Kind::kFloat;
  ref::ConvGeometry geo;
  int block_rows = 1;
  bool wide_acc = false;  // int64 accumulators
  // float and hybrid
  float act_min = 0.0f, act_max = 0.0f;
  float* packed_filter = nullptr;  // float: [groups][K][group_out_c], when the filter is constant
  // quantized
  ref::OutputStage stage;
  int64_t* bias_term = nullptr;
  int32_t input_zero_point = 0, filter_zero_point = 0;
  // hybrid
  int32_t* filter_row_sums = nullptr;
  bool per_channel = false;
  bool asymmetric = false;
  // scratch indices (-1: none)
  int col = -1, acc = -1, rowsums = -1, packed = -1, quantized = -1, scales = -1, zps = -1;
  Tensor dense_filter;  // decoded sparse filter (when densified)
  bool densified = false;
  IGemmConv* fast = nullptr;  // the microkernel path (conv_igemm.h), when one applies
  // 16x8 with int32 sums (when they cannot overflow): widened weights [out_c][K] and the s16
  // GEMM microkernel; the output stage stays the reference's int64 one.
  S16Gemm s16;
  SparseMatMul* sparse = nullptr;  // 1x1: the sparse kernel, when it beats the dense one
  SparseConv* spconv = nullptr;    // float KxK stride 1: the sparse kernel, when it beats it
  int residual = -1;               // a fused ADD's other input (FuseAdd)
};

// Sparse kernels need constant weights (and bias), and sparse kernels switched on.
bool ConstantWeightsForSparse(Context* ctx, const Tensor* filter, const Tensor* bias) {
  return ctx->sparse_kernels() != SparseKernels::kOff && filter->IsConstant() &&
         (bias == nullptr || bias->IsConstant());
}

// 1x1 convolutions may run on the sparse matmul kernels (sparse_matmul.h).
bool SparseCandidate(Context* ctx, const ref::ConvGeometry& g, const Tensor* filter,
                     const Tensor* bias) {
  return ConstantWeightsForSparse(ctx, filter, bias) && g.IsPointwise() &&
         int64_t{g.batch} * g.out_pixels() < (int64_t{1} << 31);
}

// KxK stride-1 float convolutions may run on the sparse convolution kernel (sparse_conv.h).
bool SparseConvCandidate(Context* ctx, const ref::ConvGeometry& g, const Tensor* filter,
                         const Tensor* bias) {
  return ConstantWeightsForSparse(ctx, filter, bias) && SparseConvApplies(g);
}

// Output pixels per block of the float reference (ref::ConvF32): its im2col rows of K floats
// within the scratch target.
int F32BlockRows(const ref::ConvGeometry& g) {
  return ref::BlockRows(g.out_pixels(), g.K() * 4, kConvScratchTarget);
}

// The microkernel path for `kind`, when the CPU has one for this geometry and the bias is a
// constant (the kernels take it at Prepare, before the arena holds another op's output).
bool UseFast(Context* ctx, IGemmKind kind, const ref::ConvGeometry& g, const Tensor* bias) {
  if (bias != nullptr && !bias->IsConstant()) return false;
  // Exact float: the reference sums each batch item's pixels in blocks (F32BlockRows) and a
  // block of one row as a GEMV. Single-pixel outputs run the exact GEMV kernel row by row
  // (PrepareF32IGemm); a one-row last block among several stays with the reference.
  const int64_t pixels = g.out_pixels();
  if (kind == IGemmKind::kF32 && ctx->exact_float() && pixels > 1 &&
      pixels % F32BlockRows(g) == 1) {
    return false;
  }
  return ctx->use_optimized_kernels() && IGemmSupported(ctx, kind, g);
}

Status NewFast(Context* ctx, OpData* data) {
  void* p = ctx->AllocatePersistent(sizeof(IGemmConv));
  EDGEOPT_ENSURE(p != nullptr, StatusCode::kOutOfMemory, "out of memory");
  data->fast = new (p) IGemmConv();
  return Status::Ok();
}

void* Init(Context* ctx, const Node*) {
  void* p = ctx->AllocatePersistent(sizeof(OpData));
  return p != nullptr ? new (p) OpData() : nullptr;
}

Status PrepareGeometry(const Node* node, const Tensor* input, const Tensor* filter,
                       ref::ConvGeometry* g, int* activation) {
  const auto* options = GetOptions<tflite::Conv2DOptions>(node);
  EDGEOPT_ENSURE(options != nullptr, StatusCode::kInvalidModel,
                 "Conv2DOptions are missing (strides and padding are required)");
  g->stride_h = options->stride_h();
  g->stride_w = options->stride_w();
  g->dilation_h = options->dilation_h_factor();
  g->dilation_w = options->dilation_w_factor();
  *activation = FusedActivation(options->fused_activation_function());
  const tflite::Padding padding = options->padding();
  EDGEOPT_RETURN_IF_ERROR(CheckWindowOptions(static_cast<int>(padding), g->stride_h, g->stride_w,
                                             g->dilation_h, g->dilation_w));

  // Bounds that keep every index computation below 2^31.
  EDGEOPT_ENSURE(input->dims[1] <= (1 << 30) && input->dims[2] <= (1 << 30),
                 StatusCode::kUnsupported, "input (%s) is %dx%d; at most 2^30 per side",
                 input->name, input->dims[1], input->dims[2]);
  g->batch = input->dims[0];
  g->in_h = input->dims[1];
  g->in_w = input->dims[2];
  g->in_c = input->dims[3];
  g->out_c = filter->dims[0];
  g->filter_h = filter->dims[1];
  g->filter_w = filter->dims[2];
  const int filter_c = filter->dims[3];
  EDGEOPT_ENSURE(g->filter_h > 0 && g->filter_w > 0 && filter_c > 0 && g->out_c > 0,
                 StatusCode::kInvalidModel, "filter (%s) has an empty dimension", filter->name);
  EDGEOPT_ENSURE(g->in_c % filter_c == 0, StatusCode::kInvalidModel,
                 "filter has %d input channels, input has %d (expected equal, "
                 "or a multiple for "
                 "a grouped convolution)",
                 filter_c, g->in_c);
  g->groups = g->in_c / filter_c;
  EDGEOPT_ENSURE(g->groups >= 1, StatusCode::kInvalidModel,
                 "input (%s) has 0 channels; the filter expects %d", input->name, filter_c);
  EDGEOPT_ENSURE(g->out_c % g->groups == 0, StatusCode::kInvalidModel,
                 "%d output channels cannot be split into %d groups", g->out_c, g->groups);
  EDGEOPT_RETURN_IF_ERROR(PlaceWindows(static_cast<int>(padding), g));
  EDGEOPT_ENSURE(g->K() < (int64_t{1} << 31), StatusCode::kUnsupported,
                 "filter rows of %lld values are too long", static_cast<long long>(g->K()));
  return Status::Ok();
}

Status Prepare(Context* ctx, Node* node) {
  OpData* data = static_cast<OpData*>(node->user_data);
  EDGEOPT_ENSURE(data != nullptr, StatusCode::kOutOfMemory, "out of memory");
  EDGEOPT_RETURN_IF_ERROR(CheckNumInputs(node, 2, 3));
  EDGEOPT_RETURN_IF_ERROR(CheckNumOutputs(node, 1));
  const Tensor* input = ctx->input(node, 0);
  const Tensor* filter_in = ctx->input(node, 1);
  const Tensor* bias = ctx->input(node, 2);
  Tensor* output = ctx->output(node, 0);
  EDGEOPT_RETURN_IF_ERROR(CheckRank(input, "input", 4, 4));
  EDGEOPT_RETURN_IF_ERROR(CheckRank(filter_in, "filter", 4, 4));
  const Tensor* filter = nullptr;
  EDGEOPT_RETURN_IF_ERROR(DensifyIfSparse(ctx, filter_in, "filter", &data->dense_filter, &filter));
  data->densified = filter != filter_in;
  int activation = 0;
  ref::ConvGeometry& g = data->geo;
  EDGEOPT_RETURN_IF_ERROR(PrepareGeometry(node, input, filter, &g, &activation));
  EDGEOPT_RETURN_IF_ERROR(
      ctx->ResizeTensor(output, MakeDims({g.batch, g.out_h, g.out_w, g.out_c})));

  const int64_t K = g.K();
  const int64_t pixels = g.out_pixels();
  const int ocg = g.group_out_c();
  const DType in_type = input->type;
  const DType w_type = filter->type;

  if (in_type == DType::kFloat32 && w_type == DType::kFloat32) {
    EDGEOPT_ENSURE_TYPE_IN_BUILD("CONV_2D", "float32");
    data->kind = Kind::kFloat;
    EDGEOPT_RETURN_IF_ERROR(CheckTensorType(output, DType::kFloat32, "output"));
    EDGEOPT_RETURN_IF_ERROR(CheckFloatBias(bias, g.out_c));
    FloatActivationRange(activation, &data->act_min, &data->act_max);
    if (SparseCandidate(ctx, g, filter, bias)) {
      EDGEOPT_RETURN_IF_ERROR(
          PrepareSparseF32(ctx, filter->Data<float>(), static_cast<int>(g.batch * pixels), g.out_c,
                           static_cast<int>(K), bias != nullptr ? bias->Data<float>() : nullptr,
                           data->act_min, data->act_max, &data->sparse));
      if (data->sparse != nullptr) return Status::Ok();
    }
    if (SparseConvCandidate(ctx, g, filter, bias)) {
      // The dense kernel it competes with: the direct 3x3 one or the IGEMM one.
      const bool direct =
          UseFast(ctx, IGemmKind::kF32, g, bias) && F32Conv3x3For(ctx, g) != nullptr;
      EDGEOPT_RETURN_IF_ERROR(PrepareSparseConvF32(
          ctx, g, filter->Data<float>(), bias != nullptr ? bias->Data<float>() : nullptr,
          data->act_min, data->act_max, direct, &data->spconv));
      if (data->spconv != nullptr) return Status::Ok();
    }
    if (filter->IsConstant() && UseFast(ctx, IGemmKind::kF32, g, bias)) {
      EDGEOPT_RETURN_IF_ERROR(NewFast(ctx, data));
      return PrepareF32IGemm(ctx, g, filter->Data<float>(),
                             bias != nullptr ? bias->Data<float>() : nullptr, data->act_min,
                             data->act_max, data->fast);
    }
    data->block_rows = F32BlockRows(g);
    if (!g.IsPointwise()) {
      EDGEOPT_RETURN_IF_ERROR(RequestScratchArray<float>(ctx, data->block_rows * K, &data->col));
    }
    if (filter->IsConstant()) {
      EDGEOPT_RETURN_IF_ERROR(AllocatePersistentArray(ctx, g.out_c * K, &data->packed_filter));
      ref::PackFilterKMajor(filter->Data<float>(), g.out_c, K, g.groups, data->packed_filter);
    } else {
      EDGEOPT_RETURN_IF_ERROR(RequestScratchArray<float>(ctx, g.out_c * K, &data->packed));
    }
    return Status::Ok();
  }

  EDGEOPT_ENSURE(filter->IsConstant(), StatusCode::kUnsupported,
                 "filter (%s) of a quantized or hybrid CONV_2D must be a constant", filter->name);
  const int32_t num_scales = filter->quant.num_channels;

  if (in_type == DType::kFloat32 && w_type == DType::kInt8) {
    EDGEOPT_ENSURE_TYPE_IN_BUILD("CONV_2D", "hybrid");
    data->kind = Kind::kHybrid;
    EDGEOPT_ENSURE(int64_t{g.in_h} * g.in_w * g.in_c < (int64_t{1} << 31), StatusCode::kUnsupported,
                   "input (%s) is too large for the hybrid kernel", input->name);
    EDGEOPT_RETURN_IF_ERROR(CheckTensorType(output, DType::kFloat32, "output"));
    EDGEOPT_RETURN_IF_ERROR(CheckFloatBias(bias, g.out_c));
    EDGEOPT_RETURN_IF_ERROR(CheckFilterQuantization(filter, 0, g.out_c, false));
    FloatActivationRange(activation, &data->act_min, &data->act_max);
    data->per_channel = filter->quant.IsPerChannel();
    // TFLite's EvalHybridPerChannel (asymmetric inputs) runs when the scales differ, and for
    // grouped convolutions; EvalHybrid (symmetric) otherwise.
    data->asymmetric = g.groups != 1;
    for (int c = 1; c < num_scales; ++c) {
      if (filter->quant.scales[c] != filter->quant.scales[0]) data->asymmetric = true;
    }
    if (UseFast(ctx, IGemmKind::kQD8, g, bias)) {
      EDGEOPT_RETURN_IF_ERROR(NewFast(ctx, data));
      QD8ConvParams p;
      p.filter = filter->Data<int8_t>();
      p.filter_scales = filter->quant.scales;
      p.per_channel = data->per_channel;
      p.asymmetric = data->asymmetric;
      p.bias = bias != nullptr ? bias->Data<float>() : nullptr;
      p.act_min = data->act_min;
      p.act_max = data->act_max;
      return PrepareQD8IGemm(ctx, g, p, data->fast);
    }
    EDGEOPT_RETURN_IF_ERROR(
        ComputeRowSums(ctx, filter->Data<int8_t>(), g.out_c, K, &data->filter_row_sums));
    data->block_rows = ref::BlockRows(pixels, K + 4 * ocg, kConvScratchTarget);
    const int64_t in_elems = input->dims.NumElements();
    EDGEOPT_RETURN_IF_ERROR(RequestScratchArray<int8_t>(ctx, in_elems, &data->quantized));
    EDGEOPT_RETURN_IF_ERROR(RequestScratchArray<float>(ctx, g.batch, &data->scales));
    EDGEOPT_RETURN_IF_ERROR(RequestScratchArray<int32_t>(ctx, g.batch, &data->zps));
    if (!g.IsPointwise()) {
      EDGEOPT_RETURN_IF_ERROR(RequestScratchArray<int8_t>(ctx, data->block_rows * K, &data->col));
    }
    EDGEOPT_RETURN_IF_ERROR(
        RequestScratchArray<int32_t>(ctx, int64_t{data->block_rows} * ocg, &data->acc));
    EDGEOPT_ENSURE(Int32AccumulatorSafe(K, 128, 128), StatusCode::kUnsupported,
                   "filter rows of %lld values are too long for the hybrid kernel",
                   static_cast<long long>(K));
    return Status::Ok();
  }

  // Fully quantized.
  const bool int8 = in_type == DType::kInt8 && w_type == DType::kInt8;
  const bool uint8 = in_type == DType::kUInt8 && w_type == DType::kUInt8;
  const bool int16 = in_type == DType::kInt16 && w_type == DType::kInt8;
  EDGEOPT_ENSURE(int8 || uint8 || int16, StatusCode::kUnsupported,
                 "input %s with filter %s is not supported (expected float32/float32, "
                 "float32/int8, int8/int8, uint8/uint8 or int16/int8)",
                 DTypeName(in_type), DTypeName(w_type));
  if (int8) EDGEOPT_ENSURE_TYPE_IN_BUILD("CONV_2D", "int8");
  if (uint8) EDGEOPT_ENSURE_TYPE_IN_BUILD("CONV_2D", "uint8");
  if (int16) EDGEOPT_ENSURE_TYPE_IN_BUILD("CONV_2D", "int16");
  EDGEOPT_RETURN_IF_ERROR(CheckTensorType(output, in_type, "output"));
  EDGEOPT_RETURN_IF_ERROR(CheckActivationQuantization(input, "input"));
  EDGEOPT_RETURN_IF_ERROR(CheckActivationQuantization(output, "output"));
  EDGEOPT_RETURN_IF_ERROR(CheckFilterQuantization(filter, 0, g.out_c, false));
  EDGEOPT_RETURN_IF_ERROR(CheckQuantizedBias(bias, in_type, g.out_c));
  data->kind = int8 ? Kind::kInt8 : (uint8 ? Kind::kUInt8 : Kind::kInt16);
  data->input_zero_point = input->quant.zero_point;
  data->filter_zero_point = uint8 ? filter->quant.zero_point : 0;
  ref::OutputStage& stage = data->stage;
  stage.output_zero_point = output->quant.zero_point;
  QuantizedActivationRange(activation, output, &stage.act_min, &stage.act_max);
  if (uint8) EDGEOPT_RETURN_IF_ERROR(CheckBiasScale(input, filter, bias, output));
  // 16x8 accumulates in int64 and requantizes with the int64 multiplier unless the bias is int32
  // (then int32 accumulators and the 32-bit multiplier, as newer TFLite).
  const bool int64_path = int16 && (bias == nullptr || bias->type == DType::kInt64);
  stage.rounding = int16 ? (int64_path ? ref::Rounding::kInt64 : ref::Rounding::kDouble)
                         : ref::Rounding::kRuyX86;
  int32_t *multipliers = nullptr, *shifts = nullptr;
  EDGEOPT_RETURN_IF_ERROR(ComputeOutputMultipliers(ctx, input, filter, output, g.out_c,
                                                   /*legacy_float_product=*/uint8,
                                                   int64_path ? 14 : 31, &multipliers, &shifts));
  stage.multiplier = multipliers;
  stage.shift = shifts;
  // Sparse kernels first (chosen only when they beat the dense ones), then the microkernels.
  // 1x1: the input rows as they are; KxK (int8, not grouped): their im2col rows.
  if (int8 && ConstantWeightsForSparse(ctx, filter, bias) && g.groups == 1 &&
      Int32AccumulatorSafe(K, 128, 128)) {
    // The bias terms are made once the sparse kernel is chosen (the dense kernels fold them).
    if (SparseCandidate(ctx, g, filter, bias)) {
      EDGEOPT_RETURN_IF_ERROR(PrepareSparseS8(ctx, filter->Data<int8_t>(),
                                              static_cast<int>(g.batch * pixels), g.out_c,
                                              static_cast<int>(K), stage, &data->sparse));
    } else {
      EDGEOPT_RETURN_IF_ERROR(PrepareSparseS8Conv(ctx, g, filter->Data<int8_t>(),
                                                  static_cast<int8_t>(data->input_zero_point),
                                                  stage, &data->sparse));
    }
    if (data->sparse != nullptr) {
      EDGEOPT_RETURN_IF_ERROR(ComputeBiasTerms(ctx, bias, filter, g.out_c, K,
                                               data->input_zero_point, data->filter_zero_point,
                                               &data->bias_term));
      data->sparse->bias_term = data->bias_term;
      return Status::Ok();
    }
  }
  if ((int8 || uint8) && UseFast(ctx, IGemmKind::kQS8, g, bias)) {
    EDGEOPT_RETURN_IF_ERROR(NewFast(ctx, data));
    QS8ConvParams p;
    p.filter = filter->Data<uint8_t>();
    p.uint8 = uint8;
    p.input_zero_point = data->input_zero_point;
    p.filter_zero_point = data->filter_zero_point;
    p.bias = bias != nullptr ? bias->Data<int32_t>() : nullptr;
    p.multiplier = multipliers;
    p.shift = shifts;
    p.output_zero_point = stage.output_zero_point;
    p.act_min = stage.act_min;
    p.act_max = stage.act_max;
    return PrepareQS8IGemm(ctx, g, p, data->fast);
  }
  if (data->bias_term == nullptr) {
    EDGEOPT_RETURN_IF_ERROR(ComputeBiasTerms(ctx, bias, filter, g.out_c, K, data->input_zero_point,
                                             data->filter_zero_point, &data->bias_term));
  }
  if (int16 && ctx->use_optimized_kernels() && g.groups == 1) {
    EDGEOPT_RETURN_IF_ERROR(PrepareS16Gemm(ctx, filter->Data<int8_t>(), g.out_c, K, data->bias_term,
                                           stage, &data->s16,
                                           /*pad_k=*/!g.IsPointwise()));
  }
  const int64_t max_a = uint8 ? 255 : (int16 ? 32768 : 128);
  const int64_t max_b = uint8 ? 255 : 128;
  data->wide_acc = (int16 && data->s16.cfg == nullptr) || !Int32AccumulatorSafe(K, max_a, max_b);
  const int64_t in_size = int8 || uint8 ? 1 : 2;
  const int64_t acc_size = data->wide_acc ? 8 : 4;
  // im2col rows: K values, or the s16 GEMM's padded kp.
  const int64_t col_k = data->s16.cfg != nullptr ? data->s16.kp : K;
  data->block_rows = ref::BlockRows(pixels, col_k * in_size + ocg * acc_size, kConvScratchTarget);
  // The s16 GEMM's blocks run in parallel, each thread with its own im2col and sums: at least
  // two blocks per thread when the rows allow (multiples of 8, the kernel's tile).
  const int64_t copies = data->s16.cfg != nullptr ? ctx->num_threads() : 1;
  if (copies > 1) {
    const int64_t share = (pixels + 2 * copies - 1) / (2 * copies);
    data->block_rows =
        std::min<int64_t>(data->block_rows, std::max<int64_t>(8, (share + 7) / 8 * 8));
  }
  if (!g.IsPointwise()) {
    EDGEOPT_RETURN_IF_ERROR(
        ctx->RequestScratch(copies * data->block_rows * col_k * in_size, &data->col));
  }
  EDGEOPT_RETURN_IF_ERROR(
      ctx->RequestScratch(copies * data->block_rows * ocg * acc_size, &data->acc));
  if (data->filter_zero_point != 0) {
    EDGEOPT_RETURN_IF_ERROR(RequestScratchArray<int64_t>(ctx, data->block_rows, &data->rowsums));
  }
  return Status::Ok();
}

template <typename TIn, typename TW, typename TAcc>
void EvalQuantized(Context* ctx, const OpData* data, const Tensor* input, const Tensor* filter,
                   Tensor* output) {
  ref::ConvIntScratch<TIn, TAcc> s;
  s.col = static_cast<TIn*>(ctx->GetScratch(data->col));
  s.acc = static_cast<TAcc*>(ctx->GetScratch(data->acc));
  s.rowsums = static_cast<int64_t*>(ctx->GetScratch(data->rowsums));
  ref::ConvQuantized<TIn, TW, TAcc, TIn>(data->geo, input->Data<TIn>(), data->input_zero_point,
                                         filter->Data<TW>(), data->filter_zero_point,
                                         data->bias_term, data->stage, output->Data<TIn>(), s,
                                         data->block_rows);
}

// 16x8 through the s16 GEMM: the reference's blocks of rows (im2col unless pointwise), int32
// sums, then its int64 output stage.
void EvalS16(Context* ctx, const OpData* data, const Tensor* input, Tensor* output) {
  const ref::ConvGeometry& g = data->geo;
  const int64_t pixels = g.out_pixels();
  const int64_t kp = data->s16.kp;  // K, or K padded (PrepareS16Gemm)
  const int64_t rows = data->block_rows;
  const int64_t blocks = (pixels + rows - 1) / rows;  // per batch item
  int16_t* col_all = static_cast<int16_t*>(ctx->GetScratch(data->col));
  int32_t* acc_all = static_cast<int32_t*>(ctx->GetScratch(data->acc));
  // Each thread has its own block of im2col rows and of sums (Prepare requested one per thread).
  ctx->thread_pool()->ParallelFor(static_cast<int>(g.batch * blocks), [&](int task, int thread) {
    const int b = static_cast<int>(task / blocks);
    const int64_t p0 = task % blocks * rows;
    const int count = static_cast<int>(std::min<int64_t>(rows, pixels - p0));
    const int16_t* in_b = input->Data<int16_t>() + int64_t{b} * g.in_h * g.in_w * g.in_c;
    int16_t* out_b = output->Data<int16_t>() + int64_t{b} * pixels * g.out_c;
    int32_t* acc = acc_all + thread * rows * g.out_c;
    const int16_t* a = in_b + p0 * g.in_c;
    if (!g.IsPointwise()) {
      // Rows kp apart, zeros after K (the padded weights are zero there).
      int16_t* col = col_all + thread * rows * kp;
      const int16_t pad = static_cast<int16_t>(data->input_zero_point);
      Im2colRows<int16_t, false>(g, in_b, col, kp, pad, p0, p0 + count);
      a = col;
    }
    data->s16.cfg->gemm(count, g.out_c, static_cast<int>(kp), a, g.IsPointwise() ? g.in_c : kp,
                        data->s16.weights, acc, g.out_c);
    S16OutputStage(data->s16, acc, count, g.out_c, data->bias_term, data->stage,
                   out_b + p0 * g.out_c, g.out_c);
  });
}

void EvalHybrid(Context* ctx, const OpData* data, const Tensor* input, const Tensor* filter,
                const Tensor* bias, Tensor* output) {
  const ref::ConvGeometry& g = data->geo;
  int8_t* quantized = static_cast<int8_t*>(ctx->GetScratch(data->quantized));
  float* scales = static_cast<float*>(ctx->GetScratch(data->scales));
  int32_t* zps = static_cast<int32_t*>(ctx->GetScratch(data->zps));
  const int64_t per_batch = int64_t{g.in_h} * g.in_w * g.in_c;
  for (int b = 0; b < g.batch; ++b) {
    const float* x = input->Data<float>() + b * per_batch;
    if (data->asymmetric) {
      ref::AsymmetricQuantizeFloats(x, static_cast<int>(per_batch), quantized + b * per_batch,
                                    &scales[b], &zps[b]);
    } else {
      ref::SymmetricQuantizeFloats(x, static_cast<int>(per_batch), quantized + b * per_batch,
                                   &scales[b]);
      zps[b] = 0;
    }
  }
  ref::ConvIntScratch<int8_t, int32_t> s;
  s.col = static_cast<int8_t*>(ctx->GetScratch(data->col));
  s.acc = static_cast<int32_t*>(ctx->GetScratch(data->acc));
  s.rowsums = nullptr;
  ref::ConvHybrid(g, quantized, scales, zps, filter->Data<int8_t>(), data->filter_row_sums,
                  filter->quant.scales, data->per_channel,
                  bias != nullptr ? bias->Data<float>() : nullptr, data->act_min, data->act_max,
                  output->Data<float>(), s, data->block_rows);
}

Status Eval(Context* ctx, Node* node) {
  const OpData* data = static_cast<const OpData*>(node->user_data);
  const Tensor* input = ctx->input(node, 0);
  const Tensor* filter = data->densified ? &data->dense_filter : ctx->input(node, 1);
  const Tensor* bias = ctx->input(node, 2);
  Tensor* output = ctx->output(node, 0);
  if (data->sparse != nullptr) {
    EvalSparse(ctx, *data->sparse, input->data, output->data);
    return Status::Ok();
  }
  if (data->spconv != nullptr) {
    EvalSparseConv(ctx, *data->spconv, input->Data<float>(), output->Data<float>(),
                   data->residual >= 0 ? ctx->tensor(data->residual)->Data<float>() : nullptr);
    return Status::Ok();
  }
  if (data->fast != nullptr) {
    RunIGemmConv(ctx, *data->fast, input->data, output->data,
                 data->residual >= 0 ? ctx->tensor(data->residual)->data : nullptr);
    return Status::Ok();
  }
  // Prepare refuses the kinds a selective build left out (selective.h); their cases compile out.
  switch (data->kind) {
    case Kind::kFloat: {
      if constexpr (!TypeInBuild("CONV_2D", "float32")) break;
      const float* packed = data->packed_filter;
      if (packed == nullptr) {
        float* p = static_cast<float*>(ctx->GetScratch(data->packed));
        ref::PackFilterKMajor(filter->Data<float>(), data->geo.out_c, data->geo.K(),
                              data->geo.groups, p);
        packed = p;
      }
      ref::ConvF32(data->geo, input->Data<float>(), packed,
                   bias != nullptr ? bias->Data<float>() : nullptr, data->act_min, data->act_max,
                   output->Data<float>(), static_cast<float*>(ctx->GetScratch(data->col)),
                   data->block_rows);
      break;
    }
    case Kind::kHybrid:
      if constexpr (TypeInBuild("CONV_2D", "hybrid")) {
        EvalHybrid(ctx, data, input, filter, bias, output);
      }
      break;
    case Kind::kInt8:
      if constexpr (!TypeInBuild("CONV_2D", "int8")) break;
      if (data->wide_acc) {
        EvalQuantized<int8_t, int8_t, int64_t>(ctx, data, input, filter, output);
      } else {
        EvalQuantized<int8_t, int8_t, int32_t>(ctx, data, input, filter, output);
      }
      break;
    case Kind::kUInt8:
      if constexpr (!TypeInBuild("CONV_2D", "uint8")) break;
      if (data->wide_acc) {
        EvalQuantized<uint8_t, uint8_t, int64_t>(ctx, data, input, filter, output);
      } else {
        EvalQuantized<uint8_t, uint8_t, int32_t>(ctx, data, input, filter, output);
      }
      break;
    case Kind::kInt16:
      if constexpr (TypeInBuild("CONV_2D", "int16")) {
        if (data->s16.cfg != nullptr) {
          EvalS16(ctx, data, input, output);
          break;
        }
        EvalQuantized<int16_t, int8_t, int64_t>(ctx, data, input, filter, output);
      }
      break;
  }
  return Status::Ok();
}

// Float convolutions on the IGEMM, direct or sparse KxK kernels, and int8/uint8 ones on the
// IGEMM kernels, take a following ADD into their output stage.
bool FuseAdd(Context* ctx, Node* node, const FusedAdd& add) {
  OpData* data = static_cast<OpData*>(node->user_data);
  if (data == nullptr || (data->fast == nullptr && data->spconv == nullptr) ||
      data->sparse != nullptr || data->residual >= 0) {
    return false;
  }
  bool accepted = false;
  if (data->spconv != nullptr) {
    accepted = add.quant_fn == nullptr;  // float
    if (accepted) FuseSparseConvAdd(F32FusedAddFn(ctx), add.act_min, add.act_max, data->spconv);
  } else if (data->kind == Kind::kFloat && add.quant_fn == nullptr) {
    accepted = FuseF32ResidualAdd(ctx, add.act_min, add.act_max, data->fast);
  } else if (data->kind == Kind::kInt8 || data->kind == Kind::kUInt8) {
    accepted = FuseQ8ResidualAdd(add, data->fast);
  }
  if (accepted) data->residual = add.residual;
  return accepted;
}

const char* KernelInfo(const Node* node) {
  const OpData* data = static_cast<const OpData*>(node->user_data);
  if (data->spconv != nullptr) return data->spconv->aligned ? "sparse kxk aligned" : "sparse kxk";
  if (data->sparse != nullptr) return data->sparse->im2col ? "sparse im2col" : "sparse 1x1";
  if (data->fast != nullptr) return IGemmKernelName(*data->fast);
  if (data->s16.cfg != nullptr) return "s16 gemm";
  return data->kind == Kind::kHybrid ? "hybrid im2col" : "im2col gemm";
}

}  // namespace

const Registration* RegisterConv2D() {
  static const Registration reg = {
      "CONV_2D",
      Init,
      Prepare,
      Eval,
      OpInBuild("ADD") && (TypeInBuild("CONV_2D", "float32") || TypeInBuild("CONV_2D", "int8") ||
                           TypeInBuild("CONV_2D", "uint8"))
          ? FuseAdd
          : nullptr,
      nullptr,
      KernelInfo};
  return &reg;
}

}  // namespace rt
}  // namespace edgeopt
