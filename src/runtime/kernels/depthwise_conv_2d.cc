// DEPTHWISE_CONV_2D: float32; int8 (per-channel weights along dimension 3, or per-tensor); legacy
// uint8; int16 activations with int8 weights (16x8); hybrid (float activations, int8 weights, input
// quantized per batch item at run time).
//
// The depth multiplier comes from the shapes (filter channels / input channels), as TFLite does
// since 2.x; the option value is not trusted.
//
// Rounding: TFLite 2.9's optimized depthwise kernels requantize with the reference
// MultiplyByQuantizedMultiplier (ref::Rounding::kDouble); 16x8 uses the int64 variant.
#include <new>

#include "src/runtime/kernels/conv_common.h"
#include "src/runtime/kernels/conv_igemm.h"
#include "src/runtime/kernels/dwconv_op.h"
#include "src/runtime/kernels/kernel_util.h"
#include "src/runtime/kernels/reference/depthwise_conv.h"
#include "src/runtime/selective.h"

namespace edgeopt {
namespace rt {
namespace {

enum class Kind : uint8_t { kFloat, kInt8, kUInt8, kInt16, kHybrid };

struct OpData {
  Kind kind = Kind::kFloat;
  ref::DepthwiseGeometry geo;
  bool wide_acc = false;
  float act_min = 0.0f, act_max = 0.0f;
  ref::OutputStage stage;
  int32_t input_zero_point = 0, filter_zero_point = 0;
  bool per_channel = false;
  bool asymmetric = false;
  int acc = -1, quantized = -1, scales = -1, zps = -1;  // scratch indices
  Tensor dense_filter;                                  // decoded sparse filter (when densified)
  bool densified = false;
  DwConvOp* fast = nullptr;   // the microkernel path (dwconv_op.h), when one applies
  IGemmConv* gemm = nullptr;  // float, one input channel: a convolution (see PrepareAsConv)
};

Status NewFast(Context* ctx, OpData* data) {
  void* p = ctx->AllocatePersistent(sizeof(DwConvOp));
  EDGEOPT_ENSURE(p != nullptr, StatusCode::kOutOfMemory, "out of memory");
  data->fast = new (p) DwConvOp();
  return Status::Ok();
}

// Float with one input channel and a depth multiplier M > 1 is an ordinary convolution of M
// output channels (filter [1, h, w, M] -> [M, h, w, 1]): the float IGEMM runs it, with the
// convolution's window-row path for one channel, instead of depthwise kernels that would use
// M of their 16 lanes per tap. Not with exact_float(): the GEMM sums in another order.
Status PrepareAsConv(Context* ctx, const ref::DepthwiseGeometry& d, const float* filter,
                     const float* bias, OpData* data, bool* done) {
  *done = false;
  if (d.in_c != 1 || d.depth_multiplier == 1 || ctx->exact_float() ||
      !ctx->use_optimized_kernels()) {
    return Status::Ok();
  }
  ref::ConvGeometry g;
  g.batch = d.batch;
  g.in_h = d.in_h;
  g.in_w = d.in_w;
  g.in_c = 1;
  g.out_h = d.out_h;
  g.out_w = d.out_w;
  g.out_c = d.out_c;
  g.filter_h = d.filter_h;
  g.filter_w = d.filter_w;
  g.stride_h = d.stride_h;
  g.stride_w = d.stride_w;
  g.dilation_h = d.dilation_h;
  g.dilation_w = d.dilation_w;
  g.pad_top = d.pad_top;
  g.pad_left = d.pad_left;
  if (!IGemmSupported(ctx, IGemmKind::kF32, g)) return Status::Ok();
  const int taps = d.filter_h * d.filter_w;
  float* ohwi = nullptr;
  EDGEOPT_RETURN_IF_ERROR(AllocatePersistentArray(ctx, int64_t{taps} * d.out_c, &ohwi));
  for (int t = 0; t < taps; ++t) {
    for (int c = 0; c < d.out_c; ++c)
      ohwi[int64_t{c} * taps + t] = filter[int64_t{t} * d.out_c + c];
  }
  void* p = ctx->AllocatePersistent(sizeof(IGemmConv));
  EDGEOPT_ENSURE(p != nullptr, StatusCode::kOutOfMemory, "out of memory");
  data->gemm = new (p) IGemmConv();
  *done = true;
  return PrepareF32IGemm(ctx, g, ohwi, bias, data->act_min, data->act_max, data->gemm);
}

void* Init(Context* ctx, const Node*) {
  void* p = ctx->AllocatePersistent(sizeof(OpData));
  return p != nullptr ? new (p) OpData() : nullptr;
}

Status PrepareGeometry(const Node* node, const Tensor* input, const Tensor* filter,
                       ref::DepthwiseGeometry* g, int* activation) {
  const auto* options = GetOptions<tflite::DepthwiseConv2DOptions>(node);
  EDGEOPT_ENSURE(options != nullptr, StatusCode::kInvalidModel,
                 "DepthwiseConv2DOptions are missing (strides and padding are required)");
  g->stride_h = options->stride_h();
  g->stride_w = options->stride_w();
  g->dilation_h = options->dilation_h_factor();
  g->dilation_w = options->dilation_w_factor();
  *activation = FusedActivation(options->fused_activation_function());
  const tflite::Padding padding = options->padding();
  EDGEOPT_RETURN_IF_ERROR(CheckWindowOptions(static_cast<int>(padding), g->stride_h, g->stride_w,
                                             g->dilation_h, g->dilation_w));
  EDGEOPT_ENSURE(filter->dims[0] == 1, StatusCode::kInvalidModel,
                 "filter (%s) dimension 0 is %d; a depthwise filter is [1, h, "
                 "w, channels]",
                 filter->name, filter->dims[0]);
  // Bounds that keep every index computation below 2^31.
  EDGEOPT_ENSURE(input->dims[1] <= (1 << 30) && input->dims[2] <= (1 << 30),
                 StatusCode::kUnsupported, "input (%s) is %dx%d; at most 2^30 per side",
                 input->name, input->dims[1], input->dims[2]);
  g->batch = input->dims[0];
  g->in_h = input->dims[1];
  g->in_w = input->dims[2];
  g->in_c = input->dims[3];
  g->filter_h = filter->dims[1];
  g->filter_w = filter->dims[2];
  g->out_c = filter->dims[3];
  EDGEOPT_ENSURE(g->filter_h > 0 && g->filter_w > 0 && g->out_c > 0, StatusCode::kInvalidModel,
                 "filter (%s) has an empty dimension", filter->name);
  EDGEOPT_ENSURE(g->in_c > 0 && g->out_c % g->in_c == 0, StatusCode::kInvalidModel,
                 "filter has %d channels, input has %d; expected a multiple "
                 "(channels * depth "
                 "multiplier)",
                 g->out_c, g->in_c);
  g->depth_multiplier = g->out_c / g->in_c;
  return PlaceWindows(static_cast<int>(padding), g);
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
  ref::DepthwiseGeometry& g = data->geo;
  EDGEOPT_RETURN_IF_ERROR(PrepareGeometry(node, input, filter, &g, &activation));
  EDGEOPT_RETURN_IF_ERROR(
      ctx->ResizeTensor(output, MakeDims({g.batch, g.out_h, g.out_w, g.out_c})));
  const int64_t taps = int64_t{g.filter_h} * g.filter_w;
  const DType in_type = input->type;
  const DType w_type = filter->type;

  if (in_type == DType::kFloat32 && w_type == DType::kFloat32) {
    EDGEOPT_ENSURE_TYPE_IN_BUILD("DEPTHWISE_CONV_2D", "float32");
    data->kind = Kind::kFloat;
    EDGEOPT_RETURN_IF_ERROR(CheckTensorType(output, DType::kFloat32, "output"));
    EDGEOPT_RETURN_IF_ERROR(CheckFloatBias(bias, g.out_c));
    FloatActivationRange(activation, &data->act_min, &data->act_max);
    const float* bias_data = bias != nullptr ? bias->Data<float>() : nullptr;
    // The kernels take the bias at Prepare: not another op's output (the reference reads it at
    // Eval).
    const bool constant = filter->IsConstant() && (bias == nullptr || bias->IsConstant());
    if (constant) {
      bool done = false;
      EDGEOPT_RETURN_IF_ERROR(PrepareAsConv(ctx, g, filter->Data<float>(), bias_data, data, &done));
      if (done) return Status::Ok();
    }
    if (constant && ctx->use_optimized_kernels() &&
        DwConvSupported(ctx->cpu(), DwConvOp::Kind::kF32, g)) {
      EDGEOPT_RETURN_IF_ERROR(NewFast(ctx, data));
      return PrepareF32DwConv(ctx, g, filter->Data<float>(), bias_data, data->act_min,
                              data->act_max, data->fast);
    }
    return Status::Ok();
  }

  if (in_type == DType::kFloat32 && w_type == DType::kInt8) {
    EDGEOPT_ENSURE_TYPE_IN_BUILD("DEPTHWISE_CONV_2D", "hybrid");
    data->kind = Kind::kHybrid;
    EDGEOPT_RETURN_IF_ERROR(CheckTensorType(output, DType::kFloat32, "output"));
    EDGEOPT_RETURN_IF_ERROR(CheckFloatBias(bias, g.out_c));
    EDGEOPT_RETURN_IF_ERROR(CheckFilterQuantization(filter, 3, g.out_c, false));
    FloatActivationRange(activation, &data->act_min, &data->act_max);
    data->per_channel = filter->quant.IsPerChannel();
    data->asymmetric = true;
    EDGEOPT_ENSURE(Int32AccumulatorSafe(taps, 256, 128), StatusCode::kUnsupported,
                   "a %dx%d filter is too large for the hybrid kernel", g.filter_h, g.filter_w);
    const int64_t per_batch = int64_t{g.in_h} * g.in_w * g.in_c;
    EDGEOPT_ENSURE(per_batch < (int64_t{1} << 31), StatusCode::kUnsupported,
                   "input (%s) is too large for the hybrid kernel", input->name);
    if (filter->IsConstant() && (bias == nullptr || bias->IsConstant()) &&
        ctx->use_optimized_kernels() && DwConvSupported(ctx->cpu(), DwConvOp::Kind::kQD8, g)) {
      EDGEOPT_RETURN_IF_ERROR(NewFast(ctx, data));
      QD8DwParams p;
      p.filter = filter->Data<int8_t>();
      p.filter_scales = filter->quant.scales;
      p.per_channel = data->per_channel;
      p.bias = bias != nullptr ? bias->Data<float>() : nullptr;
      p.act_min = data->act_min;
      p.act_max = data->act_max;
      return PrepareQD8DwConv(ctx, g, p, data->fast);
    }
    EDGEOPT_RETURN_IF_ERROR(
        RequestScratchArray<int8_t>(ctx, input->dims.NumElements(), &data->quantized));
    EDGEOPT_RETURN_IF_ERROR(RequestScratchArray<float>(ctx, g.batch, &data->scales));
    EDGEOPT_RETURN_IF_ERROR(RequestScratchArray<int32_t>(ctx, g.batch, &data->zps));
    return RequestScratchArray<int32_t>(ctx, g.out_c, &data->acc);
  }

  const bool int8 = in_type == DType::kInt8 && w_type == DType::kInt8;
  const bool uint8 = in_type == DType::kUInt8 && w_type == DType::kUInt8;
  const bool int16 = in_type == DType::kInt16 && w_type == DType::kInt8;
  EDGEOPT_ENSURE(int8 || uint8 || int16, StatusCode::kUnsupported,
                 "input %s with filter %s is not supported (expected float32/float32, "
                 "float32/int8, int8/int8, uint8/uint8 or int16/int8)",
                 DTypeName(in_type), DTypeName(w_type));
  if (int8) EDGEOPT_ENSURE_TYPE_IN_BUILD("DEPTHWISE_CONV_2D", "int8");
  if (uint8) EDGEOPT_ENSURE_TYPE_IN_BUILD("DEPTHWISE_CONV_2D", "uint8");
  if (int16) EDGEOPT_ENSURE_TYPE_IN_BUILD("DEPTHWISE_CONV_2D", "int16");
  EDGEOPT_RETURN_IF_ERROR(CheckTensorType(output, in_type, "output"));
  EDGEOPT_RETURN_IF_ERROR(CheckActivationQuantization(input, "input"));
  EDGEOPT_RETURN_IF_ERROR(CheckActivationQuantization(output, "output"));
  EDGEOPT_RETURN_IF_ERROR(CheckFilterQuantization(filter, 3, g.out_c, false));
  EDGEOPT_RETURN_IF_ERROR(CheckQuantizedBias(bias, in_type, g.out_c));
  data->kind = int8 ? Kind::kInt8 : (uint8 ? Kind::kUInt8 : Kind::kInt16);
  data->input_zero_point = input->quant.zero_point;
  data->filter_zero_point = uint8 ? filter->quant.zero_point : 0;
  ref::OutputStage& stage = data->stage;
  stage.output_zero_point = output->quant.zero_point;
  QuantizedActivationRange(activation, output, &stage.act_min, &stage.act_max);
  // 16x8 accumulates in int64 and requantizes with the int64 multiplier unless the bias is int32
  // (then int32 accumulators and the 32-bit multiplier, as newer TFLite).
  const bool int64_path = int16 && (bias == nullptr || bias->type == DType::kInt64);
  stage.rounding = int64_path ? ref::Rounding::kInt64 : ref::Rounding::kDouble;
  int32_t *multipliers = nullptr, *shifts = nullptr;
  EDGEOPT_RETURN_IF_ERROR(ComputeOutputMultipliers(ctx, input, filter, output, g.out_c,
                                                   /*legacy_float_product=*/uint8,
                                                   int64_path ? 14 : 31, &multipliers, &shifts));
  stage.multiplier = multipliers;
  stage.shift = shifts;
  // The microkernels hold w - zw in 16 bits and the bias in the packed weights (constant).
  if ((int8 || uint8) && filter->IsConstant() && (bias == nullptr || bias->IsConstant()) &&
      ctx->use_optimized_kernels() && DwConvSupported(ctx->cpu(), DwConvOp::Kind::kQS8, g)) {
    EDGEOPT_RETURN_IF_ERROR(NewFast(ctx, data));
    QS8DwParams p;
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
    return PrepareQS8DwConv(ctx, g, p, data->fast);
  }
  data->wide_acc = int16 || !Int32AccumulatorSafe(taps, 256, 256);
  return ctx->RequestScratch(static_cast<size_t>(g.out_c) * (data->wide_acc ? 8 : 4), &data->acc);
}

template <typename TIn, typename TW, typename TAcc>
void EvalQuantized(Context* ctx, const OpData* data, const Tensor* input, const Tensor* filter,
                   const Tensor* bias, Tensor* output) {
  TAcc* acc = static_cast<TAcc*>(ctx->GetScratch(data->acc));
  if (bias != nullptr && bias->type == DType::kInt64) {
    ref::DepthwiseConvQuantized<TIn, TW, TAcc, TIn, int64_t>(
        data->geo, input->Data<TIn>(), data->input_zero_point, filter->Data<TW>(),
        data->filter_zero_point, bias->Data<int64_t>(), data->stage, output->Data<TIn>(), acc);
  } else {
    ref::DepthwiseConvQuantized<TIn, TW, TAcc, TIn, int32_t>(
        data->geo, input->Data<TIn>(), data->input_zero_point, filter->Data<TW>(),
        data->filter_zero_point, bias != nullptr ? bias->Data<int32_t>() : nullptr, data->stage,
        output->Data<TIn>(), acc);
  }
}

void EvalHybrid(Context* ctx, const OpData* data, const Tensor* input, const Tensor* filter,
                const Tensor* bias, Tensor* output) {
  const ref::DepthwiseGeometry& g = data->geo;
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
  ref::DepthwiseConvHybrid(g, quantized, scales, zps, filter->Data<int8_t>(), filter->quant.scales,
                           data->per_channel, bias != nullptr ? bias->Data<float>() : nullptr,
                           data->act_min, data->act_max, output->Data<float>(),
                           static_cast<int32_t*>(ctx->GetScratch(data->acc)));
}

Status Eval(Context* ctx, Node* node) {
  const OpData* data = static_cast<const OpData*>(node->user_data);
  const Tensor* input = ctx->input(node, 0);
  const Tensor* filter = data->densified ? &data->dense_filter : ctx->input(node, 1);
  const Tensor* bias = ctx->input(node, 2);
  Tensor* output = ctx->output(node, 0);
  if (data->fast != nullptr) {
    RunDwConv(ctx, *data->fast, input->data, output->data);
    return Status::Ok();
  }
  if (data->gemm != nullptr) {
    RunIGemmConv(ctx, *data->gemm, input->data, output->data);
    return Status::Ok();
  }
  // Prepare refuses the kinds a selective build left out (selective.h); their cases compile out.
  switch (data->kind) {
    case Kind::kFloat:
      if constexpr (!TypeInBuild("DEPTHWISE_CONV_2D", "float32")) break;
      ref::DepthwiseConvF32(data->geo, input->Data<float>(), filter->Data<float>(),
                            bias != nullptr ? bias->Data<float>() : nullptr, data->act_min,
                            data->act_max, output->Data<float>());
      break;
    case Kind::kHybrid:
      if constexpr (TypeInBuild("DEPTHWISE_CONV_2D", "hybrid")) {
        EvalHybrid(ctx, data, input, filter, bias, output);
      }
      break;
    case Kind::kInt8:
      if constexpr (!TypeInBuild("DEPTHWISE_CONV_2D", "int8")) break;
      if (data->wide_acc) {
        EvalQuantized<int8_t, int8_t, int64_t>(ctx, data, input, filter, bias, output);
      } else {
        EvalQuantized<int8_t, int8_t, int32_t>(ctx, data, input, filter, bias, output);
      }
      break;
    case Kind::kUInt8:
      if constexpr (!TypeInBuild("DEPTHWISE_CONV_2D", "uint8")) break;
      if (data->wide_acc) {
        EvalQuantized<uint8_t, uint8_t, int64_t>(ctx, data, input, filter, bias, output);
      } else {
        EvalQuantized<uint8_t, uint8_t, int32_t>(ctx, data, input, filter, bias, output);
      }
      break;
    case Kind::kInt16:
      if constexpr (TypeInBuild("DEPTHWISE_CONV_2D", "int16")) {
        EvalQuantized<int16_t, int8_t, int64_t>(ctx, data, input, filter, bias, output);
      }
      break;
  }
  return Status::Ok();
}

const char* KernelInfo(const Node* node) {
  const OpData* data = static_cast<const OpData*>(node->user_data);
  if (data->gemm != nullptr) return IGemmKernelName(*data->gemm);
  if (data->fast == nullptr) return "reference";
  return data->fast->expand > 1 ? "dwconv expanded" : "dwconv";
}

}  // namespace

const Registration* RegisterDepthwiseConv2D() {
  static const Registration reg = {"DEPTHWISE_CONV_2D", Init, Prepare, Eval, nullptr, nullptr,
                                   KernelInfo};
  return &reg;
}

}  // namespace rt
}  // namespace edgeopt
