// FULLY_CONNECTED: float32; int8 (per-tensor weights, optionally with a zero point, or per-channel
// symmetric weights along dimension 0); legacy uint8; int16 activations with int8 weights (16x8);
// hybrid (float activations, int8 weights; each input row quantized at run time, symmetric or, with
// asymmetric_quantize_inputs, asymmetric). Inputs of any rank are flattened to [batch, in];
// keep_num_dims keeps the leading dimensions.
//
// Rounding: TFLite 2.9 runs int8/uint8 FULLY_CONNECTED on a ruy GEMM (x86 with AVX), whose output
// stage rounds once with ties toward +infinity (ref::Rounding::kRuyX86). The per-tensor multiplier
// is taken from the float product input_scale * filter_scale, as TFLite's
// GetQuantizedConvolutionMultipler.
#include "src/runtime/kernels/reference/fully_connected.h"

#include <algorithm>
#include <cmath>
#include <new>

#include "src/runtime/kernels/conv_common.h"
#include "src/runtime/kernels/conv_igemm.h"
#include "src/runtime/kernels/kernel_util.h"
#include "src/runtime/kernels/sparse_matmul.h"
#include "src/runtime/selective.h"

namespace edgeopt {
namespace rt {
namespace {

enum class Kind : uint8_t { kFloat, kInt8, kUInt8, kInt16, kHybrid };

struct OpData {
  Kind kind = Kind::kFloat;
  ref::FullyConnectedShape shape;
  int block_rows = 1;
  bool wide_acc = false;
  int activation = 0;  // hybrid: the fused activation as TFLite's
                       // ApplyActivationToVector sees it
  float act_min = 0.0f, act_max = 0.0f;
  float* packed = nullptr;  // float weights [in][out], when constant
  ref::OutputStage stage;
  int64_t* bias_term = nullptr;
  int32_t weights_zero_point = 0;
  int32_t* weight_row_sums = nullptr;
  bool per_channel = false;
  bool asymmetric = false;
  int acc = -1, rowsums = -1, pack_scratch = -1, quantized = -1, scales = -1, zps = -1;
  Tensor dense_weights;  // decoded sparse weights (when densified)
  bool densified = false;
  IGemmConv* fast = nullptr;       // the microkernel path (conv_igemm.h), when one applies
  S16Gemm s16;                     // 16x8: the s16 GEMM on widened weights
  SparseMatMul* sparse = nullptr;  // the sparse kernel, when it beats the dense one
};

// FULLY_CONNECTED as a 1x1 convolution: one pixel per input row (so the hybrid kernel
// quantizes each row separately, as the reference).
ref::ConvGeometry FcGeometry(const ref::FullyConnectedShape& s, bool hybrid) {
  ref::ConvGeometry g;
  g.batch = hybrid ? s.batch : 1;
  g.in_h = 1;
  g.in_w = hybrid ? 1 : s.batch;
  g.in_c = s.in;
  g.out_h = 1;
  g.out_w = g.in_w;
  g.out_c = s.out;
  g.filter_h = g.filter_w = 1;
  return g;
}

// The microkernel path, when one applies: allocates data->fast and returns true in *use.
// The microkernel path for `kind`, when the CPU has one and the bias is a constant (the kernels
// take it at Prepare, before the arena holds another op's output).
Status MaybeFast(Context* ctx, OpData* data, IGemmKind kind, const Tensor* bias, bool* use) {
  *use = ctx->use_optimized_kernels() && data->shape.batch > 0 &&
         (bias == nullptr || bias->IsConstant()) &&
         IGemmSupported(ctx, kind, FcGeometry(data->shape, kind == IGemmKind::kQD8));
  if (!*use) return Status::Ok();
  void* p = ctx->AllocatePersistent(sizeof(IGemmConv));
  EDGEOPT_ENSURE(p != nullptr, StatusCode::kOutOfMemory, "out of memory");
  data->fast = new (p) IGemmConv();
  return Status::Ok();
}

void* Init(Context* ctx, const Node*) {
  void* p = ctx->AllocatePersistent(sizeof(OpData));
  return p != nullptr ? new (p) OpData() : nullptr;
}

Status PrepareShape(Context* ctx, const Node* node, const Tensor* input, const Tensor* weights,
                    Tensor* output, bool keep_num_dims, ref::FullyConnectedShape* s) {
  s->out = weights->dims[0];
  s->in = weights->dims[1];
  EDGEOPT_ENSURE(s->in > 0 && s->out > 0, StatusCode::kInvalidModel,
                 "weights (%s) have an empty dimension", weights->name);
  (void)node;
  const int64_t elements = input->dims.NumElements();
  Dims out_dims;
  if (keep_num_dims) {
    EDGEOPT_ENSURE(input->dims.size >= 1, StatusCode::kInvalidModel,
                   "input (%s) is a scalar; keep_num_dims needs a last dimension", input->name);
    const int last = input->dims[input->dims.size - 1];
    EDGEOPT_ENSURE(last == s->in, StatusCode::kInvalidModel,
                   "weights have %d input features, input's last dimension is %d", s->in, last);
    out_dims = input->dims;
    out_dims[out_dims.size - 1] = s->out;
  } else {
    EDGEOPT_ENSURE(elements % s->in == 0, StatusCode::kInvalidModel,
                   "input (%s) has %lld elements, not a multiple of the weights' %d input "
                   "features",
                   input->name, static_cast<long long>(elements), s->in);
    out_dims = MakeDims({static_cast<int32_t>(elements / s->in), s->out});
  }
  EDGEOPT_ENSURE(elements / s->in < (int64_t{1} << 31), StatusCode::kUnsupported,
                 "input (%s) is too large", input->name);
  s->batch = static_cast<int>(elements / s->in);
  return ctx->ResizeTensor(output, out_dims);
}

Status Prepare(Context* ctx, Node* node) {
  OpData* data = static_cast<OpData*>(node->user_data);
  EDGEOPT_ENSURE(data != nullptr, StatusCode::kOutOfMemory, "out of memory");
  EDGEOPT_RETURN_IF_ERROR(CheckNumInputs(node, 2, 3));
  EDGEOPT_RETURN_IF_ERROR(CheckNumOutputs(node, 1));
  const Tensor* input = ctx->input(node, 0);
  const Tensor* weights_in = ctx->input(node, 1);
  const Tensor* bias = ctx->input(node, 2);
  Tensor* output = ctx->output(node, 0);
  EDGEOPT_RETURN_IF_ERROR(CheckRank(input, "input", 0, kMaxDims));
  EDGEOPT_RETURN_IF_ERROR(CheckRank(weights_in, "weights", 2, 2));
  const Tensor* weights = nullptr;
  EDGEOPT_RETURN_IF_ERROR(
      DensifyIfSparse(ctx, weights_in, "weights", &data->dense_weights, &weights));
  data->densified = weights != weights_in;
  const auto* options = GetOptions<tflite::FullyConnectedOptions>(node);
  int activation = 0;
  bool keep_num_dims = false;
  if (options != nullptr) {
    EDGEOPT_ENSURE(options->weights_format() == tflite::FullyConnectedOptionsWeightsFormat::DEFAULT,
                   StatusCode::kUnsupported, "weights format %s is not supported (only DEFAULT)",
                   tflite::EnumNameFullyConnectedOptionsWeightsFormat(options->weights_format()));
    activation = static_cast<int>(options->fused_activation_function());
    keep_num_dims = options->keep_num_dims();
    data->asymmetric = options->asymmetric_quantize_inputs();
  }
  ref::FullyConnectedShape& s = data->shape;
  EDGEOPT_RETURN_IF_ERROR(PrepareShape(ctx, node, input, weights, output, keep_num_dims, &s));
  const DType in_type = input->type;
  const DType w_type = weights->type;
  const bool hybrid = in_type == DType::kFloat32 && w_type == DType::kInt8;
  // As TFLite: only the hybrid kernel applies TANH / SIGN_BIT; the others refuse them.
  EDGEOPT_ENSURE(
      hybrid ||
          activation == FusedActivation(static_cast<tflite::ActivationFunctionType>(activation)),
      StatusCode::kUnsupported,
      "fused activation %s is not supported (expected NONE, RELU, RELU_N1_TO_1 "
      "or RELU6)",
      tflite::EnumNameActivationFunctionType(
          static_cast<tflite::ActivationFunctionType>(activation)));

  if (in_type == DType::kFloat32 && w_type == DType::kFloat32) {
    EDGEOPT_ENSURE_TYPE_IN_BUILD("FULLY_CONNECTED", "float32");
    data->kind = Kind::kFloat;
    EDGEOPT_RETURN_IF_ERROR(CheckTensorType(output, DType::kFloat32, "output"));
    EDGEOPT_RETURN_IF_ERROR(CheckFloatBias(bias, s.out));
    FloatActivationRange(FusedActivation(static_cast<tflite::ActivationFunctionType>(activation)),
                         &data->act_min, &data->act_max);
    // Sparse kernels first (chosen only when they beat the dense ones), then the microkernels.
    if (weights->IsConstant() && ctx->sparse_kernels() != SparseKernels::kOff &&
        (bias == nullptr || bias->IsConstant())) {
      EDGEOPT_RETURN_IF_ERROR(PrepareSparseF32(ctx, weights->Data<float>(), s.batch, s.out, s.in,
                                               bias != nullptr ? bias->Data<float>() : nullptr,
                                               data->act_min, data->act_max, &data->sparse));
      if (data->sparse != nullptr) return Status::Ok();
    }
    bool fast = false;
    if (weights->IsConstant())
      EDGEOPT_RETURN_IF_ERROR(MaybeFast(ctx, data, IGemmKind::kF32, bias, &fast));
    if (fast) {
      return PrepareF32IGemm(ctx, FcGeometry(s, false), weights->Data<float>(),
                             bias != nullptr ? bias->Data<float>() : nullptr, data->act_min,
                             data->act_max, data->fast);
    }
    if (weights->IsConstant()) {
      EDGEOPT_RETURN_IF_ERROR(AllocatePersistentArray(ctx, int64_t{s.in} * s.out, &data->packed));
      ref::PackWeightsKMajor(weights->Data<float>(), s.out, s.in, data->packed);
    } else {
      EDGEOPT_RETURN_IF_ERROR(
          RequestScratchArray<float>(ctx, int64_t{s.in} * s.out, &data->pack_scratch));
    }
    return Status::Ok();
  }

  EDGEOPT_ENSURE(weights->IsConstant(), StatusCode::kUnsupported,
                 "weights (%s) of a quantized or hybrid FULLY_CONNECTED must "
                 "be a constant",
                 weights->name);
  data->per_channel = weights->quant.IsPerChannel();

  if (hybrid) {
    EDGEOPT_ENSURE_TYPE_IN_BUILD("FULLY_CONNECTED", "hybrid");
    data->kind = Kind::kHybrid;
    EDGEOPT_RETURN_IF_ERROR(CheckTensorType(output, DType::kFloat32, "output"));
    EDGEOPT_RETURN_IF_ERROR(CheckFloatBias(bias, s.out));
    EDGEOPT_RETURN_IF_ERROR(CheckFilterQuantization(weights, 0, s.out, false));
    data->activation = activation;
    FloatActivationRange(FusedActivation(static_cast<tflite::ActivationFunctionType>(activation)),
                         &data->act_min, &data->act_max);
    const bool clamp_only =
        activation == FusedActivation(static_cast<tflite::ActivationFunctionType>(activation));
    bool fast = false;
    if (clamp_only) EDGEOPT_RETURN_IF_ERROR(MaybeFast(ctx, data, IGemmKind::kQD8, bias, &fast));
    if (fast) {
      QD8ConvParams p;
      p.filter = weights->Data<int8_t>();
      p.filter_scales = weights->quant.scales;
      p.per_channel = data->per_channel;
      p.asymmetric = data->asymmetric;
      p.bias = bias != nullptr ? bias->Data<float>() : nullptr;
      p.act_min = data->act_min;
      p.act_max = data->act_max;
      return PrepareQD8IGemm(ctx, FcGeometry(s, true), p, data->fast);
    }
    EDGEOPT_RETURN_IF_ERROR(
        ComputeRowSums(ctx, weights->Data<int8_t>(), s.out, s.in, &data->weight_row_sums));
    EDGEOPT_ENSURE(Int32AccumulatorSafe(s.in, 128, 128), StatusCode::kUnsupported,
                   "%d input features are too many for the hybrid kernel", s.in);
    data->block_rows = ref::BlockRows(s.batch, int64_t{s.out} * 4, kConvScratchTarget);
    EDGEOPT_RETURN_IF_ERROR(
        RequestScratchArray<int8_t>(ctx, int64_t{s.batch} * s.in, &data->quantized));
    EDGEOPT_RETURN_IF_ERROR(RequestScratchArray<float>(ctx, s.batch, &data->scales));
    EDGEOPT_RETURN_IF_ERROR(RequestScratchArray<int32_t>(ctx, s.batch, &data->zps));
    return RequestScratchArray<int32_t>(ctx, int64_t{data->block_rows} * s.out, &data->acc);
  }

  const bool int8 = in_type == DType::kInt8 && w_type == DType::kInt8;
  const bool uint8 = in_type == DType::kUInt8 && w_type == DType::kUInt8;
  const bool int16 = in_type == DType::kInt16 && w_type == DType::kInt8;
  EDGEOPT_ENSURE(int8 || uint8 || int16, StatusCode::kUnsupported,
                 "input %s with weights %s is not supported (expected float32/float32, "
                 "float32/int8, int8/int8, uint8/uint8 or int16/int8)",
                 DTypeName(in_type), DTypeName(w_type));
  if (int8) EDGEOPT_ENSURE_TYPE_IN_BUILD("FULLY_CONNECTED", "int8");
  if (uint8) EDGEOPT_ENSURE_TYPE_IN_BUILD("FULLY_CONNECTED", "uint8");
  if (int16) EDGEOPT_ENSURE_TYPE_IN_BUILD("FULLY_CONNECTED", "int16");
  EDGEOPT_RETURN_IF_ERROR(CheckTensorType(output, in_type, "output"));
  EDGEOPT_RETURN_IF_ERROR(CheckActivationQuantization(input, "input"));
  EDGEOPT_RETURN_IF_ERROR(CheckActivationQuantization(output, "output"));
  EDGEOPT_RETURN_IF_ERROR(
      CheckFilterQuantization(weights, 0, s.out, /*allow_int8_zero_point=*/!data->per_channel));
  EDGEOPT_RETURN_IF_ERROR(CheckQuantizedBias(bias, in_type, s.out));
  if (!data->per_channel) EDGEOPT_RETURN_IF_ERROR(CheckBiasScale(input, weights, bias, output));
  EDGEOPT_ENSURE(!int16 || weights->quant.zero_point == 0, StatusCode::kUnsupported,
                 "weights (%s) of a 16x8 FULLY_CONNECTED must be symmetric (zero point 0)",
                 weights->name);
  data->kind = int8 ? Kind::kInt8 : (uint8 ? Kind::kUInt8 : Kind::kInt16);
  data->weights_zero_point = weights->quant.zero_point;
  ref::OutputStage& stage = data->stage;
  stage.output_zero_point = output->quant.zero_point;
  QuantizedActivationRange(FusedActivation(static_cast<tflite::ActivationFunctionType>(activation)),
                           output, &stage.act_min, &stage.act_max);
  // 16x8 accumulates in int64 and requantizes with the int64 multiplier when the bias is int64;
  // with an int32 bias, int32 accumulators and the 32-bit multiplier (as newer TFLite); without
  // a bias, TFLite 2.9 rounds the full product once (kSingle, see requantize.h).
  const bool int64_path = int16 && bias != nullptr && bias->type == DType::kInt64;
  stage.rounding = !int16            ? ref::Rounding::kRuyX86
                   : int64_path      ? ref::Rounding::kInt64
                   : bias == nullptr ? ref::Rounding::kSingle
                                     : ref::Rounding::kDouble;
  int32_t *multipliers = nullptr, *shifts = nullptr;
  EDGEOPT_RETURN_IF_ERROR(ComputeOutputMultipliers(ctx, input, weights, output, s.out,
                                                   /*legacy_float_product=*/!data->per_channel,
                                                   int64_path ? 14 : 31, &multipliers, &shifts));
  stage.multiplier = multipliers;
  stage.shift = shifts;
  // Sparse kernels first (chosen only when they beat the dense ones), then the microkernels.
  if (int8 && data->weights_zero_point == 0 && ctx->sparse_kernels() != SparseKernels::kOff &&
      Int32AccumulatorSafe(s.in, 128, 128)) {
    // The bias terms are made once the sparse kernel is chosen (the dense kernels fold them).
    EDGEOPT_RETURN_IF_ERROR(
        PrepareSparseS8(ctx, weights->Data<int8_t>(), s.batch, s.out, s.in, stage, &data->sparse));
    if (data->sparse != nullptr) {
      EDGEOPT_RETURN_IF_ERROR(ComputeBiasTerms(ctx, bias, weights, s.out, s.in,
                                               input->quant.zero_point, data->weights_zero_point,
                                               &data->bias_term));
      data->sparse->bias_term = data->bias_term;
      return Status::Ok();
    }
  }
  bool fast = false;
  if (int8 || uint8) EDGEOPT_RETURN_IF_ERROR(MaybeFast(ctx, data, IGemmKind::kQS8, bias, &fast));
  if (fast) {
    QS8ConvParams p;
    p.filter = weights->Data<uint8_t>();
    p.uint8 = uint8;
    p.input_zero_point = input->quant.zero_point;
    p.filter_zero_point = data->weights_zero_point;
    p.bias = bias != nullptr ? bias->Data<int32_t>() : nullptr;
    p.multiplier = multipliers;
    p.shift = shifts;
    p.output_zero_point = stage.output_zero_point;
    p.act_min = stage.act_min;
    p.act_max = stage.act_max;
    return PrepareQS8IGemm(ctx, FcGeometry(s, false), p, data->fast);
  }
  if (data->bias_term == nullptr) {
    EDGEOPT_RETURN_IF_ERROR(ComputeBiasTerms(ctx, bias, weights, s.out, s.in,
                                             input->quant.zero_point, data->weights_zero_point,
                                             &data->bias_term));
  }
  if (int16 && weights->IsConstant() && ctx->use_optimized_kernels()) {
    EDGEOPT_RETURN_IF_ERROR(PrepareS16Gemm(ctx, weights->Data<int8_t>(), s.out, s.in,
                                           data->bias_term, stage, &data->s16));
  }
  const int64_t max_a = uint8 ? 255 : (int16 ? 32768 : 128);
  const int64_t max_b = uint8 ? 255 : 128;
  data->wide_acc = (int16 && data->s16.cfg == nullptr) || !Int32AccumulatorSafe(s.in, max_a, max_b);
  const int64_t acc_size = data->wide_acc ? 8 : 4;
  data->block_rows = ref::BlockRows(s.batch, int64_t{s.out} * acc_size, kConvScratchTarget);
  EDGEOPT_RETURN_IF_ERROR(
      ctx->RequestScratch(static_cast<size_t>(data->block_rows * s.out * acc_size), &data->acc));
  if (data->weights_zero_point != 0) {
    EDGEOPT_RETURN_IF_ERROR(RequestScratchArray<int64_t>(ctx, data->block_rows, &data->rowsums));
  }
  return Status::Ok();
}

template <typename TIn, typename TW, typename TAcc>
void EvalQuantized(Context* ctx, const OpData* data, const Tensor* input, const Tensor* weights,
                   Tensor* output) {
  ref::FullyConnectedQuantized<TIn, TW, TAcc, TIn>(
      data->shape, input->Data<TIn>(), weights->Data<TW>(), data->weights_zero_point,
      data->bias_term, data->stage, output->Data<TIn>(),
      static_cast<TAcc*>(ctx->GetScratch(data->acc)),
      static_cast<int64_t*>(ctx->GetScratch(data->rowsums)), data->block_rows);
}

// 16x8 on the s16 GEMM (int32 sums that cannot overflow), then the reference output stage.
void EvalS16(Context* ctx, const OpData* data, const Tensor* input, Tensor* output) {
  const ref::FullyConnectedShape& s = data->shape;
  int32_t* acc = static_cast<int32_t*>(ctx->GetScratch(data->acc));
  for (int b0 = 0; b0 < s.batch; b0 += data->block_rows) {
    const int count = std::min(data->block_rows, s.batch - b0);
    data->s16.cfg->gemm(count, s.out, s.in, input->Data<int16_t>() + int64_t{b0} * s.in, s.in,
                        data->s16.weights, acc, s.out);
    S16OutputStage(data->s16, acc, count, s.out, data->bias_term, data->stage,
                   output->Data<int16_t>() + int64_t{b0} * s.out, s.out);
  }
}

// TFLite's hybrid kernel applies the fused activation with ApplyActivationToVector, which also
// knows TANH and SIGN_BIT (1 for negative values, else 0).
void ApplyHybridActivation(int activation, float act_min, float act_max, float* v, int64_t n) {
  if (activation == static_cast<int>(tflite::ActivationFunctionType::TANH)) {
    for (int64_t i = 0; i < n; ++i) v[i] = std::tanh(v[i]);
  } else if (activation == static_cast<int>(tflite::ActivationFunctionType::SIGN_BIT)) {
    for (int64_t i = 0; i < n; ++i) v[i] = std::signbit(v[i]) ? 1.0f : 0.0f;
  } else {
    for (int64_t i = 0; i < n; ++i) v[i] = ref::ClampFloat(v[i], act_min, act_max);
  }
}

void EvalHybrid(Context* ctx, const OpData* data, const Tensor* input, const Tensor* weights,
                const Tensor* bias, Tensor* output) {
  const ref::FullyConnectedShape& s = data->shape;
  int8_t* quantized = static_cast<int8_t*>(ctx->GetScratch(data->quantized));
  float* scales = static_cast<float*>(ctx->GetScratch(data->scales));
  int32_t* zps = static_cast<int32_t*>(ctx->GetScratch(data->zps));
  for (int b = 0; b < s.batch; ++b) {
    const float* x = input->Data<float>() + int64_t{b} * s.in;
    int8_t* q = quantized + int64_t{b} * s.in;
    if (data->asymmetric) {
      ref::AsymmetricQuantizeFloats(x, s.in, q, &scales[b], &zps[b]);
    } else {
      ref::SymmetricQuantizeFloats(x, s.in, q, &scales[b]);
      zps[b] = 0;
    }
  }
  ref::FullyConnectedHybrid(s, quantized, scales, zps, weights->Data<int8_t>(),
                            data->weight_row_sums, weights->quant.scales, data->per_channel,
                            bias != nullptr ? bias->Data<float>() : nullptr, output->Data<float>(),
                            static_cast<int32_t*>(ctx->GetScratch(data->acc)), data->block_rows);
  ApplyHybridActivation(data->activation, data->act_min, data->act_max, output->Data<float>(),
                        int64_t{s.batch} * s.out);
}

Status Eval(Context* ctx, Node* node) {
  const OpData* data = static_cast<const OpData*>(node->user_data);
  const Tensor* input = ctx->input(node, 0);
  const Tensor* weights = data->densified ? &data->dense_weights : ctx->input(node, 1);
  const Tensor* bias = ctx->input(node, 2);
  Tensor* output = ctx->output(node, 0);
  if (data->sparse != nullptr) {
    EvalSparse(ctx, *data->sparse, input->data, output->data);
    return Status::Ok();
  }
  if (data->fast != nullptr) {
    RunIGemmConv(ctx, *data->fast, input->data, output->data);
    return Status::Ok();
  }
  // Prepare refuses the kinds a selective build left out (selective.h); their cases compile out.
  switch (data->kind) {
    case Kind::kFloat: {
      if constexpr (!TypeInBuild("FULLY_CONNECTED", "float32")) break;
      const float* packed = data->packed;
      if (packed == nullptr) {
        float* p = static_cast<float*>(ctx->GetScratch(data->pack_scratch));
        ref::PackWeightsKMajor(weights->Data<float>(), data->shape.out, data->shape.in, p);
        packed = p;
      }
      ref::FullyConnectedF32(data->shape, input->Data<float>(), packed,
                             bias != nullptr ? bias->Data<float>() : nullptr, data->act_min,
                             data->act_max, output->Data<float>());
      break;
    }
    case Kind::kHybrid:
      if constexpr (TypeInBuild("FULLY_CONNECTED", "hybrid")) {
        EvalHybrid(ctx, data, input, weights, bias, output);
      }
      break;
    case Kind::kInt8:
      if constexpr (!TypeInBuild("FULLY_CONNECTED", "int8")) break;
      if (data->wide_acc) {
        EvalQuantized<int8_t, int8_t, int64_t>(ctx, data, input, weights, output);
      } else {
        EvalQuantized<int8_t, int8_t, int32_t>(ctx, data, input, weights, output);
      }
      break;
    case Kind::kUInt8:
      if constexpr (!TypeInBuild("FULLY_CONNECTED", "uint8")) break;
      if (data->wide_acc) {
        EvalQuantized<uint8_t, uint8_t, int64_t>(ctx, data, input, weights, output);
      } else {
        EvalQuantized<uint8_t, uint8_t, int32_t>(ctx, data, input, weights, output);
      }
      break;
    case Kind::kInt16:
      if constexpr (TypeInBuild("FULLY_CONNECTED", "int16")) {
        if (data->s16.cfg != nullptr) {
          EvalS16(ctx, data, input, output);
          break;
        }
        EvalQuantized<int16_t, int8_t, int64_t>(ctx, data, input, weights, output);
      }
      break;
  }
  return Status::Ok();
}

const char* KernelInfo(const Node* node) {
  const OpData* data = static_cast<const OpData*>(node->user_data);
  if (data->sparse != nullptr) {
    return data->sparse->path == SparsePath::kTiled ? "sparse tiled" : "sparse rowwise";
  }
  if (data->fast != nullptr) return "igemm";
  if (data->s16.cfg != nullptr) return "s16 gemm";
  return data->kind == Kind::kHybrid ? "hybrid" : "gemm";
}

}  // namespace

const Registration* RegisterFullyConnected() {
  static const Registration reg = {"FULLY_CONNECTED", Init,    Prepare,   Eval,
                                   nullptr,           nullptr, KernelInfo};
  return &reg;
}

}  // namespace rt
}  // namespace edgeopt
