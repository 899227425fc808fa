// TRANSPOSE_CONV: inputs (output_shape int32[4], filter [out_c, h, w, in_c], input, optional bias).
// float32; int8 (per-channel or per-tensor weights); legacy uint8; int16 activations with int8
// weights (16x8). The output shape must be a constant (edgeopt has no dynamic shapes).
//
// Padding is TFLite's: computed as for a CONV_2D from the output size to the input size. Rounding:
// TFLite 2.9 requantizes the int32 col2im sums with the reference MultiplyByQuantizedMultiplier
// (ref::Rounding::kDouble); 16x8 uses the int64 variant.
//
// Float with a constant filter and bias whose filter is its stride, without padding (U-Net's 2x2 /
// stride 2), runs the products as a 1x1 convolution whose tiles write each product, with the
// bias and the clamp, straight to its output pixel (ScatterF32TransposeConv): no buffer, no
// gather, the exact-float kernels' v + bias being the reference's (0 + v) + bias.
// Float with a constant filter otherwise runs the per-pixel products as a 1x1 convolution with
// KH*KW*Cout output channels on the optimized IGEMM (conv_igemm.h), over bands of whole input rows
// whose products fit kColBudget; each band is scattered into the zeroed output, then the bias
// and the activation are applied: the reference's order of additions, so the exact-float mode
// (exact IGEMM kernel) stays bit-exact with it.
//
// int8 (symmetric weights) runs like the float: the products of a band of input rows on the s16
// GEMM microkernel (the input minus its zero point widened to int16, the weights at Prepare;
// exact int32 sums, split over the threads), then each output row gathered from them on the
// threads and requantized by the int8 output-stage microkernel (the reference rounding). The
// bands are of output rows, whose input rows' products fit kColBudget (input rows shared by two
// bands are multiplied twice). Integer sums do not depend on their order: bit-identical with
// the reference. 16x8 runs its products on the s16 GEMM, then the reference's col2im and
// output stage (as do uint8 and the fallbacks, with the bias widened to int64 at Prepare).
#include "src/runtime/kernels/reference/transpose_conv.h"

#include <cmath>
#include <new>

#include "src/runtime/kernels/conv_common.h"
#include "src/runtime/kernels/conv_igemm.h"
#include "src/runtime/kernels/kernel_util.h"
#include "src/runtime/thread_pool.h"

namespace edgeopt {
namespace rt {
namespace {

enum class Kind : uint8_t { kFloat, kInt8, kUInt8, kInt16 };

struct OpData {
  Kind kind = Kind::kFloat;
  ref::TransposeConvGeometry geo;
  int block_rows = 1;
  float act_min = 0.0f, act_max = 0.0f;
  float* packed = nullptr;      // float filter [in_c][N]
  void* rows = nullptr;         // quantized filter rows [N][in_c]
  int64_t* col_term = nullptr;  // [N]
  ref::OutputStage stage;
  int32_t filter_zero_point = 0;
  int col = -1, acc = -1, rowsums = -1, pack_scratch = -1;
  Tensor dense_filter;  // decoded sparse filter (when densified)
  bool densified = false;
  IGemmConv* fast = nullptr;         // float: the products as a 1x1 convolution (see the top)
  S16Gemm s16;                       // int8 / 16x8: the products on the s16 GEMM (see the top)
  int64_t* bias64 = nullptr;         // col2im paths: the bias as int64 (null without one)
  const float* zero_bias = nullptr;  // float without a bias: out_c zeros
  int wide_input = -1, col32 = -1;   // s16 scratch: int8 input rows as int16, int32 products
  int band_rows = 0;  // input rows per band (float: of all batch items, in order; int8: at most)
  // int8 on the s16 GEMM (see the top): the packed output stage, the bias, the input zero point;
  // scratch: a row of sums per thread.
  const uk::RequantBlock16* rq = nullptr;
  uk::QuantOutput qout;
  const int32_t* bias32 = nullptr;
  int32_t input_zero_point = 0;
  int row_sums = -1;
  // Filter == stride, no padding, output = input * stride (U-Net's 2x2 / stride 2): every output
  // value has exactly one product, read straight from the products (no gather). Float too: the
  // reference's (0 + v) + bias equals v + bias bit for bit (-0 + b and +0 + b are both b).
  bool one_product = false;
  // Float one_product with constant weights: `fast` writes each product, with the bias and the
  // clamp, straight to its output pixel (ScatterF32TransposeConv): no products buffer.
  bool scatter = false;
};

// Bytes of per-pixel products one band may take.
constexpr int64_t kColBudget = 1024 * 1024;

// Float: bands of `band_rows` input rows (a divisor of batch * in_h), their products in the col
// scratch; with microkernels for this CPU and a constant filter, the products are a 1x1
// convolution to N channels over the filter reordered to rows (fy, fx, oc), else the reference
// GEMM over the packed filter.
// The products of `rows` whole input rows (all batch items' rows in order) as a 1x1 convolution
// to N = filter_h * filter_w * out_c channels.
ref::ConvGeometry ProductsGeometry(const ref::TransposeConvGeometry& g, int rows) {
  ref::ConvGeometry cg;
  cg.batch = 1;
  cg.in_h = cg.out_h = rows;
  cg.in_w = cg.out_w = g.in_w;
  cg.in_c = g.in_c;
  cg.out_c = static_cast<int>(g.N());
  cg.filter_h = cg.filter_w = 1;
  return cg;
}

// Float one_product with a constant filter and bias: a 1x1 convolution over all the input
// pixels whose tiles write to the output (OpData::scatter). False (nothing prepared) where the
// microkernels cannot.
StatusOr<bool> PrepareFloatScatter(Context* ctx, const Tensor* filter, const Tensor* bias,
                                   OpData* data) {
  const ref::TransposeConvGeometry& g = data->geo;
  const int64_t N = g.N();
  if (!data->one_product || !filter->IsConstant() || (bias != nullptr && !bias->IsConstant()) ||
      !ctx->use_optimized_kernels() || N <= 4) {
    return false;
  }
  const ref::ConvGeometry cg = ProductsGeometry(g, g.batch * g.in_h);
  // The GEMM kernel is chosen for a filter row's columns, whose blocks must not straddle two.
  const int cols = g.filter_w * g.out_c;
  const uk::F32GemmConfig* cfg = uk::GetF32GemmConfig(ctx->cpu(), cols);
  if (!IGemmSupported(ctx, IGemmKind::kF32, cg) || cfg == nullptr || cols % cfg->nr != 0) {
    return false;
  }
  float *packed = nullptr, *taps_bias = nullptr;
  EDGEOPT_RETURN_IF_ERROR(AllocatePersistentArray(ctx, N * g.in_c, &packed));
  EDGEOPT_RETURN_IF_ERROR(AllocatePersistentArray(ctx, N, &taps_bias));
  ref::ReorderTransposeConvFilter(g, filter->Data<float>(), packed);
  const float* b = bias != nullptr ? bias->Data<float>() : data->zero_bias;
  for (int64_t n = 0; n < N; ++n) taps_bias[n] = b[n % g.out_c];
  void* p = ctx->AllocatePersistent(sizeof(IGemmConv));
  EDGEOPT_ENSURE(p != nullptr, StatusCode::kOutOfMemory, "out of memory");
  data->fast = new (p) IGemmConv();
  EDGEOPT_RETURN_IF_ERROR(PrepareF32IGemm(ctx, cg, packed, taps_bias, data->act_min, data->act_max,
                                          data->fast, false, cols));
  if (!ScatterF32TransposeConv(ctx, g.in_w, g.filter_h, int64_t{g.out_w} * g.out_c, data->fast)) {
    data->fast = nullptr;  // a single input pixel (a GEMV): the general path
    return false;
  }
  data->scatter = true;
  return true;
}

Status PrepareFloat(Context* ctx, const Tensor* filter, const Tensor* bias, OpData* data) {
  EDGEOPT_ASSIGN_OR_RETURN(const bool scatter, PrepareFloatScatter(ctx, filter, bias, data));
  if (scatter) return Status::Ok();
  const ref::TransposeConvGeometry& g = data->geo;
  const int64_t N = g.N();
  const int64_t rows = int64_t{g.batch} * g.in_h;
  int64_t band = 1;
  for (int64_t d = 1; d <= rows; ++d) {
    if (rows % d == 0 && d * g.in_w * N * 4 <= kColBudget) band = d;
  }
  data->band_rows = static_cast<int>(band);
  EDGEOPT_RETURN_IF_ERROR(RequestScratchArray<float>(ctx, band * g.in_w * N, &data->col));
  const ref::ConvGeometry cg = ProductsGeometry(g, data->band_rows);
  if (!filter->IsConstant()) {
    return RequestScratchArray<float>(ctx, N * g.in_c, &data->pack_scratch);
  }
  float* packed = nullptr;
  EDGEOPT_RETURN_IF_ERROR(AllocatePersistentArray(ctx, N * g.in_c, &packed));
  if (!ctx->use_optimized_kernels() || !IGemmSupported(ctx, IGemmKind::kF32, cg)) {
    ref::PackTransposeConvFilterF32(g, filter->Data<float>(), packed);
    data->packed = packed;
    return Status::Ok();
  }
  ref::ReorderTransposeConvFilter(g, filter->Data<float>(), packed);
  void* p = ctx->AllocatePersistent(sizeof(IGemmConv));
  EDGEOPT_ENSURE(p != nullptr, StatusCode::kOutOfMemory, "out of memory");
  data->fast = new (p) IGemmConv();
  return PrepareF32IGemm(ctx, cg, packed, nullptr, -INFINITY, INFINITY, data->fast, false);
}

// The input rows iy whose taps fy = oy + pad_top - iy * stride_h in [0, filter_h) reach output
// row oy: [*lo, *hi], empty when *lo > *hi. Both grow with oy.
void InputRowsOf(const ref::TransposeConvGeometry& g, int oy, int* lo, int* hi) {
  const int top = oy + g.pad_top;
  *lo = top - (g.filter_h - 1) <= 0 ? 0 : (top - g.filter_h + g.stride_h) / g.stride_h;
  *hi = std::min(g.in_h - 1, top / g.stride_h);
}

// dst[c] += src[c], c < n: two buffers (the products and an output row) that never overlap. In
// blocks of 8 with a fixed trip count, which GCC's -O2 cost model vectorizes (SLP); it leaves a
// loop of run-time length scalar.
template <typename T>
void AddTo(const T* __restrict src, int n, T* __restrict dst) {
  int c = 0;
  for (; c + 8 <= n; c += 8) {
    for (int k = 0; k < 8; ++k) dst[c + k] += src[c + k];
  }
  for (; c < n; ++c) dst[c] += src[c];
}

// Output row `oy` (out_w * out_c sums into `o`) from the products of its input rows, input row
// iy at col + (row_base + iy) * in_w * N: each value sums its contributions in the order of
// their input pixels, as the scatter (Col2imAdd) adds them. Rows are independent, so threads
// split them with the same results.
template <typename T>
void GatherRow(const ref::TransposeConvGeometry& g, const T* col, int64_t row_base, int oy, T* o) {
  const int64_t N = g.N();
  const int oc = g.out_c;
  std::fill(o, o + int64_t{g.out_w} * oc, T{0});
  int iy_lo, iy_hi;
  InputRowsOf(g, oy, &iy_lo, &iy_hi);
  const int top = oy + g.pad_top;
  for (int iy = iy_lo; iy <= iy_hi; ++iy) {
    const int fy = top - iy * g.stride_h;
    const T* crow = col + (row_base + iy) * g.in_w * N + int64_t{fy} * g.filter_w * oc;
    // Each input pixel's taps in turn (no division per output pixel): an output value still
    // gets its contributions in the order of their input pixels.
    for (int ix = 0; ix < g.in_w; ++ix) {
      const int ox0 = ix * g.stride_w - g.pad_left;
      const int fx_lo = std::max(0, -ox0), fx_hi = std::min(g.filter_w, g.out_w - ox0);
      for (int fx = fx_lo; fx < fx_hi; ++fx) {
        AddTo(crow + int64_t{ix} * N + int64_t{fx} * oc, oc, o + int64_t{ox0 + fx} * oc);
      }
    }
  }
}

// out[c] = clamp(x[c] + bias[c]) for c < n. In blocks of 8 with a fixed trip count, which
// GCC's -O2 vectorizes (as AddTo): the same operations per value, so the same bits. x and out
// are the same row or rows that do not overlap.
inline void BiasClamp(const float* x, const float* bias, int n, float lo, float hi, float* out) {
  int c = 0;
  for (; c + 8 <= n; c += 8) {
    float v[8];
    for (int k = 0; k < 8; ++k) v[k] = ref::ClampFloat(x[c + k] + bias[c + k], lo, hi);
    for (int k = 0; k < 8; ++k) out[c + k] = v[k];
  }
  for (; c < n; ++c) out[c] = ref::ClampFloat(x[c] + bias[c], lo, hi);
}

// BiasClamp over `pixels` pixels of `oc` values (in == out: in place). The bounds are locals:
// read through the OpData, they were reloaded after every store.
void BiasClampPixels(const float* in, const float* bias, int64_t pixels, int oc, float lo, float hi,
                     float* out) {
  for (int64_t p = 0; p < pixels; ++p, in += oc, out += oc) BiasClamp(in, bias, oc, lo, hi, out);
}

// Float output row `oy` of batch item `b` from the products of every input pixel (`col`, one
// band), then the bias and the activation.
void GatherOutputRow(const OpData* data, const float* col, const float* bias, int64_t b, int oy,
                     float* o) {
  const ref::TransposeConvGeometry& g = data->geo;
  const int oc = g.out_c;
  if (data->one_product) {
    // Input pixel ix's taps (fy, 0..filter_w-1) are contiguous in `col`, and so are the output
    // pixels they make (ix * stride_w + fx): one run of filter_w pixels per input pixel, with
    // the bias and the activation on the way.
    const int64_t run = int64_t{g.filter_w} * oc;
    const float* crow =
        col + (b * g.in_h + oy / g.stride_h) * g.in_w * g.N() + int64_t{oy % g.stride_h} * run;
    for (int ix = 0; ix < g.in_w; ++ix) {
      BiasClampPixels(crow + int64_t{ix} * g.N(), bias, g.filter_w, oc, data->act_min,
                      data->act_max, o + int64_t{ix} * run);
    }
    return;
  }
  GatherRow(g, col, b * g.in_h, oy, o);
  BiasClampPixels(o, bias, g.out_w, oc, data->act_min, data->act_max, o);
}

void EvalFloat(Context* ctx, const OpData* data, const float* packed, const float* input,
               const float* bias, float* output) {
  if (data->scatter) {
    RunIGemmConv(ctx, *data->fast, input, output);
    return;
  }
  const ref::TransposeConvGeometry& g = data->geo;
  const int64_t N = g.N();
  const int64_t out_size = int64_t{g.out_h} * g.out_w * g.out_c;
  float* col = static_cast<float*>(ctx->GetScratch(data->col));
  const int64_t rows = int64_t{g.batch} * g.in_h;
  // The products of one band of input rows (starting at `in`) with every filter tap, into col.
  auto products = [&](const float* in) {
    if (data->fast != nullptr) {
      RunIGemmConv(ctx, *data->fast, in, col);
    } else {
      ref::GemmF32(data->band_rows * g.in_w, static_cast<int>(N), g.in_c, in, g.in_c, packed,
                   nullptr, col, N);
    }
  };
  if (data->band_rows == rows) {  // one band: gather the output rows on the threads
    products(input);
    const int64_t out_rows = int64_t{g.batch} * g.out_h;
    const int tasks = out_size * g.batch * g.filter_h * g.filter_w < kMinParallelConvMacs
                          ? 1
                          : static_cast<int>(std::min<int64_t>(out_rows, ctx->num_threads()));
    ctx->thread_pool()->ParallelFor(tasks, [&](int task, int) {
      for (int64_t r = out_rows * task / tasks; r < out_rows * (task + 1) / tasks; ++r) {
        GatherOutputRow(data, col, bias, r / g.out_h, static_cast<int>(r % g.out_h),
                        output + r * g.out_w * g.out_c);
      }
    });
    return;
  }
  std::fill(output, output + g.batch * out_size, 0.0f);
  for (int64_t r0 = 0; r0 < rows; r0 += data->band_rows) {
    products(input + r0 * g.in_w * g.in_c);
    for (int r = 0; r < data->band_rows; ++r) {
      const int64_t b = (r0 + r) / g.in_h;
      const int64_t p0 = (r0 + r) % g.in_h * g.in_w;
      ref::Col2imAdd(g, p0, g.in_w, col + int64_t{r} * g.in_w * N, output + b * out_size);
    }
  }
  BiasClampPixels(output, bias, g.batch * out_size / g.out_c, g.out_c, data->act_min, data->act_max,
                  output);
}

void* Init(Context* ctx, const Node*) {
  void* p = ctx->AllocatePersistent(sizeof(OpData));
  return p != nullptr ? new (p) OpData() : nullptr;
}

Status PrepareGeometry(const Node* node, const Tensor* output_shape, const Tensor* filter,
                       const Tensor* input, ref::TransposeConvGeometry* g, int* activation) {
  const auto* options = GetOptions<tflite::TransposeConvOptions>(node);
  EDGEOPT_ENSURE(options != nullptr, StatusCode::kInvalidModel,
                 "TransposeConvOptions are missing (strides and padding are required)");
  g->stride_h = options->stride_h();
  g->stride_w = options->stride_w();
  *activation = FusedActivation(options->fused_activation_function());
  const tflite::Padding padding = options->padding();
  EDGEOPT_RETURN_IF_ERROR(CheckWindowOptions(static_cast<int>(padding), g->stride_h, g->stride_w));

  EDGEOPT_RETURN_IF_ERROR(CheckTensorType(output_shape, DType::kInt32, "output_shape"));
  EDGEOPT_ENSURE(output_shape->dims.size == 1 && output_shape->dims[0] == 4,
                 StatusCode::kInvalidModel, "output_shape (%s) must be an int32 vector of 4 values",
                 output_shape->name);
  EDGEOPT_ENSURE(output_shape->IsConstant(), StatusCode::kUnsupported,
                 "output_shape (%s) is computed at run time; only a constant "
                 "output shape is "
                 "supported",
                 output_shape->name);
  const int32_t* shape = output_shape->Data<int32_t>();
  g->batch = input->dims[0];
  g->in_h = input->dims[1];
  g->in_w = input->dims[2];
  g->in_c = input->dims[3];
  g->out_c = filter->dims[0];
  g->filter_h = filter->dims[1];
  g->filter_w = filter->dims[2];
  EDGEOPT_ENSURE(g->filter_h > 0 && g->filter_w > 0 && g->out_c > 0 && filter->dims[3] > 0,
                 StatusCode::kInvalidModel, "filter (%s) has an empty dimension", filter->name);
  EDGEOPT_ENSURE(g->batch > 0 && g->in_h > 0 && g->in_w > 0, StatusCode::kInvalidModel,
                 "input (%s) has an empty dimension", input->name);
  EDGEOPT_ENSURE(filter->dims[3] == g->in_c, StatusCode::kInvalidModel,
                 "filter has %d input channels, input has %d", filter->dims[3], g->in_c);
  EDGEOPT_ENSURE(shape[0] == g->batch, StatusCode::kInvalidModel,
                 "output_shape batch %d differs from the input batch %d", shape[0], g->batch);
  EDGEOPT_ENSURE(shape[3] == g->out_c, StatusCode::kInvalidModel,
                 "output_shape has %d channels, the filter has %d output channels", shape[3],
                 g->out_c);
  EDGEOPT_ENSURE(shape[1] > 0 && shape[2] > 0, StatusCode::kInvalidModel,
                 "output_shape %dx%d is empty or negative", shape[1], shape[2]);
  EDGEOPT_ENSURE(shape[1] <= (1 << 30) && shape[2] <= (1 << 30) && g->in_h <= (1 << 30) &&
                     g->in_w <= (1 << 30),
                 StatusCode::kUnsupported, "output_shape %dx%d is too large", shape[1], shape[2]);
  g->out_h = shape[1];
  g->out_w = shape[2];
  int unused_h = 0, unused_w = 0;
  const Padding2D pad = ComputePadding(padding, g->stride_h, g->stride_w, 1, 1, g->out_h, g->out_w,
                                       g->filter_h, g->filter_w, &unused_h, &unused_w);
  g->pad_top = pad.height;
  g->pad_left = pad.width;
  EDGEOPT_ENSURE(g->N() < (int64_t{1} << 31), StatusCode::kUnsupported, "filter (%s) is too large",
                 filter->name);
  return Status::Ok();
}

// int8 on the s16 GEMM (see the top): the output stage packed for the microkernel, the bias,
// the band height and the scratch.
Status PrepareInt8Gather(Context* ctx, const int32_t* multipliers, const int32_t* shifts,
                         const Tensor* bias, int32_t input_zero_point, OpData* data) {
  const ref::TransposeConvGeometry& g = data->geo;
  const int64_t N = g.N();
  void* p = ctx->AllocatePersistent(sizeof(uk::RequantBlock16) * ((g.out_c + 15) / 16));
  EDGEOPT_ENSURE(p != nullptr, StatusCode::kOutOfMemory, "out of memory");
  uk::PackRequantBlocks(g.out_c, multipliers, shifts, static_cast<uk::RequantBlock16*>(p));
  data->rq = static_cast<uk::RequantBlock16*>(p);
  const ref::OutputStage& stage = data->stage;
  data->qout.zero_point = stage.output_zero_point;
  data->qout.lo = stage.act_min - stage.output_zero_point;
  data->qout.hi = stage.act_max - stage.output_zero_point;
  data->bias32 = bias != nullptr ? bias->Data<int32_t>() : nullptr;
  data->input_zero_point = input_zero_point;
  // Input rows per band: as many as kColBudget holds, at least those of one output row.
  const int64_t fit = kColBudget / (int64_t{g.in_w} * N * 4);
  data->band_rows = static_cast<int>(std::min<int64_t>(
      g.in_h, std::max<int64_t>(fit, (g.filter_h + g.stride_h - 1) / g.stride_h)));
  const int64_t band_pixels = int64_t{data->band_rows} * g.in_w;
  EDGEOPT_RETURN_IF_ERROR(
      RequestScratchArray<int16_t>(ctx, band_pixels * g.in_c, &data->wide_input));
  EDGEOPT_RETURN_IF_ERROR(RequestScratchArray<int32_t>(ctx, band_pixels * N, &data->col32));
  return RequestScratchArray<int32_t>(
      ctx, int64_t{std::max(1, ctx->num_threads())} * g.out_w * g.out_c, &data->row_sums);
}

Status Prepare(Context* ctx, Node* node) {
  OpData* data = static_cast<OpData*>(node->user_data);
  EDGEOPT_ENSURE(data != nullptr, StatusCode::kOutOfMemory, "out of memory");
  EDGEOPT_RETURN_IF_ERROR(CheckNumInputs(node, 3, 4));
  EDGEOPT_RETURN_IF_ERROR(CheckNumOutputs(node, 1));
  const Tensor* output_shape = ctx->input(node, 0);
  const Tensor* filter_in = ctx->input(node, 1);
  const Tensor* input = ctx->input(node, 2);
  const Tensor* bias = ctx->input(node, 3);
  Tensor* output = ctx->output(node, 0);
  EDGEOPT_RETURN_IF_ERROR(CheckRank(input, "input", 4, 4));
  EDGEOPT_RETURN_IF_ERROR(CheckRank(filter_in, "filter", 4, 4));
  EDGEOPT_ENSURE(output_shape != nullptr, StatusCode::kInvalidModel, "output_shape is missing");
  const Tensor* filter = nullptr;
  EDGEOPT_RETURN_IF_ERROR(DensifyIfSparse(ctx, filter_in, "filter", &data->dense_filter, &filter));
  data->densified = filter != filter_in;
  int activation = 0;
  ref::TransposeConvGeometry& g = data->geo;
  EDGEOPT_RETURN_IF_ERROR(PrepareGeometry(node, output_shape, filter, input, &g, &activation));
  EDGEOPT_RETURN_IF_ERROR(
      ctx->ResizeTensor(output, MakeDims({g.batch, g.out_h, g.out_w, g.out_c})));
  const int64_t N = g.N();
  const DType in_type = input->type;
  const DType w_type = filter->type;
  data->one_product = g.filter_h == g.stride_h && g.filter_w == g.stride_w && g.pad_top == 0 &&
                      g.pad_left == 0 && int64_t{g.out_h} == int64_t{g.in_h} * g.stride_h &&
                      int64_t{g.out_w} == int64_t{g.in_w} * g.stride_w;

  if (in_type == DType::kFloat32 && w_type == DType::kFloat32) {
    data->kind = Kind::kFloat;
    EDGEOPT_RETURN_IF_ERROR(CheckTensorType(output, DType::kFloat32, "output"));
    EDGEOPT_RETURN_IF_ERROR(CheckFloatBias(bias, g.out_c));
    if (bias == nullptr) {  // + 0.0f, as the reference adds without one
      float* zeros = nullptr;
      EDGEOPT_RETURN_IF_ERROR(AllocatePersistentArray(ctx, g.out_c, &zeros));
      std::fill(zeros, zeros + g.out_c, 0.0f);
      data->zero_bias = zeros;
    }
    FloatActivationRange(activation, &data->act_min, &data->act_max);
    return PrepareFloat(ctx, filter, bias, data);
  }

  const bool int8 = in_type == DType::kInt8 && w_type == DType::kInt8;
  const bool uint8 = in_type == DType::kUInt8 && w_type == DType::kUInt8;
  const bool int16 = in_type == DType::kInt16 && w_type == DType::kInt8;
  EDGEOPT_ENSURE(int8 || uint8 || int16, StatusCode::kUnsupported,
                 "input %s with filter %s is not supported (expected float32/float32, "
                 "int8/int8, uint8/uint8 or int16/int8)",
                 DTypeName(in_type), DTypeName(w_type));
  EDGEOPT_ENSURE(filter->IsConstant(), StatusCode::kUnsupported,
                 "filter (%s) of a quantized TRANSPOSE_CONV must be a constant", filter->name);
  EDGEOPT_RETURN_IF_ERROR(CheckTensorType(output, in_type, "output"));
  EDGEOPT_RETURN_IF_ERROR(CheckActivationQuantization(input, "input"));
  EDGEOPT_RETURN_IF_ERROR(CheckActivationQuantization(output, "output"));
  EDGEOPT_RETURN_IF_ERROR(CheckFilterQuantization(filter, 0, g.out_c, false));
  EDGEOPT_RETURN_IF_ERROR(CheckQuantizedBias(bias, in_type, g.out_c));
  data->kind = int8 ? Kind::kInt8 : (uint8 ? Kind::kUInt8 : Kind::kInt16);
  data->filter_zero_point = uint8 ? filter->quant.zero_point : 0;
  const int32_t zx = input->quant.zero_point;
  ref::OutputStage& stage = data->stage;
  stage.output_zero_point = output->quant.zero_point;
  QuantizedActivationRange(activation, output, &stage.act_min, &stage.act_max);
  // 16x8: int64 accumulators and multiplier only with an int64 bias. Without a bias TFLite 2.9
  // takes its int32 path (measured: the 32-bit double rounding), and so do we.
  const bool int64_path = int16 && bias != nullptr && bias->type == DType::kInt64;
  stage.rounding = int64_path ? ref::Rounding::kInt64 : ref::Rounding::kDouble;
  int32_t *multipliers = nullptr, *shifts = nullptr;
  EDGEOPT_RETURN_IF_ERROR(ComputeOutputMultipliers(ctx, input, filter, output, g.out_c,
                                                   /*legacy_float_product=*/uint8,
                                                   int64_path ? 14 : 31, &multipliers, &shifts));
  stage.multiplier = multipliers;
  stage.shift = shifts;

  // Filter rows (fy, fx, oc) x in_c.
  data->rows = ctx->AllocatePersistent(static_cast<size_t>(N * g.in_c));
  EDGEOPT_ENSURE(data->rows != nullptr, StatusCode::kOutOfMemory, "out of memory");
  if (uint8) {
    ref::ReorderTransposeConvFilter(g, filter->Data<uint8_t>(), static_cast<uint8_t*>(data->rows));
  } else {
    ref::ReorderTransposeConvFilter(g, filter->Data<int8_t>(), static_cast<int8_t*>(data->rows));
  }
  // int8 on the s16 GEMM: (x - zx) in [-255, 255], every partial sum of a value's contributions
  // in int32, an int32 bias; 16x8 runs its products there too.
  const bool int8_gather = int8 && (bias == nullptr || bias->type == DType::kInt32) &&
                           Int32AccumulatorSafe(N / g.out_c * g.in_c, 256, 256);
  if ((int8_gather || int16) && ctx->use_optimized_kernels()) {
    ref::OutputStage unused;  // only the GEMM is used: no output-stage constants (N != out_c)
    unused.rounding = ref::Rounding::kDouble;
    EDGEOPT_RETURN_IF_ERROR(PrepareS16Gemm(ctx, static_cast<const int8_t*>(data->rows),
                                           static_cast<int>(N), g.in_c, nullptr, unused,
                                           &data->s16));
  }
  if (int8_gather && data->s16.cfg != nullptr && data->s16.cfg->requant_s8 != nullptr) {
    return PrepareInt8Gather(ctx, multipliers, shifts, bias, zx, data);
  }
  // The col2im paths below: the rows' zero-point terms and the bias as int64.
  EDGEOPT_RETURN_IF_ERROR(AllocatePersistentArray(ctx, N, &data->col_term));
  for (int64_t n = 0; n < N; ++n) {
    int64_t sum = 0;
    for (int k = 0; k < g.in_c; ++k) {
      sum += uint8 ? int64_t{static_cast<const uint8_t*>(data->rows)[n * g.in_c + k]}
                   : int64_t{static_cast<const int8_t*>(data->rows)[n * g.in_c + k]};
    }
    data->col_term[n] = -int64_t{zx} * sum + int64_t{g.in_c} * zx * data->filter_zero_point;
  }
  if (bias != nullptr) {
    EDGEOPT_RETURN_IF_ERROR(AllocatePersistentArray(ctx, g.out_c, &data->bias64));
    for (int c = 0; c < g.out_c; ++c) {
      data->bias64[c] = bias->type == DType::kInt64 ? bias->Data<int64_t>()[c]
                                                    : int64_t{bias->Data<int32_t>()[c]};
    }
  }
  // The reference path (legacy uint8, no microkernels, large sums) sums in int64; 16x8 on the
  // s16 GEMM too.
  if (!int16) data->s16.cfg = nullptr;
  const int64_t acc_size = 8;
  data->block_rows = ref::BlockRows(g.in_pixels(), N * acc_size, kConvScratchTarget);
  EDGEOPT_RETURN_IF_ERROR(ctx->RequestScratch(data->block_rows * N * acc_size, &data->col));
  EDGEOPT_RETURN_IF_ERROR(
      ctx->RequestScratch(int64_t{g.out_h} * g.out_w * g.out_c * acc_size, &data->acc));
  if (data->filter_zero_point != 0) {
    EDGEOPT_RETURN_IF_ERROR(RequestScratchArray<int64_t>(ctx, data->block_rows, &data->rowsums));
  }
  if (data->s16.cfg != nullptr) {
    EDGEOPT_RETURN_IF_ERROR(RequestScratchArray<int32_t>(ctx, data->block_rows * N, &data->col32));
  }
  return Status::Ok();
}

// 16x8 on the s16 GEMM (see the top): the reference's blocks, col terms, col2im and output stage
// around exact int32 products.
void EvalS16(Context* ctx, const OpData* data, const int16_t* input, int16_t* output) {
  const ref::TransposeConvGeometry& g = data->geo;
  const int64_t N = g.N();
  const int64_t out_size = int64_t{g.out_h} * g.out_w * g.out_c;
  int64_t* col = static_cast<int64_t*>(ctx->GetScratch(data->col));
  int64_t* acc = static_cast<int64_t*>(ctx->GetScratch(data->acc));
  int32_t* col32 = static_cast<int32_t*>(ctx->GetScratch(data->col32));
  for (int b = 0; b < g.batch; ++b) {
    const int16_t* in_b = input + int64_t{b} * g.in_pixels() * g.in_c;
    std::fill(acc, acc + out_size, int64_t{0});
    for (int64_t p0 = 0; p0 < g.in_pixels(); p0 += data->block_rows) {
      const int count = static_cast<int>(std::min<int64_t>(data->block_rows, g.in_pixels() - p0));
      data->s16.cfg->gemm(count, static_cast<int>(N), g.in_c, in_b + p0 * g.in_c, g.in_c,
                          data->s16.weights, col32, N);
      for (int i = 0; i < count; ++i) {
        for (int64_t n = 0; n < N; ++n)
          col[i * N + n] = int64_t{col32[i * N + n]} + data->col_term[n];
      }
      ref::Col2imAdd(g, p0, count, col, acc);
    }
    ref::TransposeConvOutputStage(g, acc, data->bias64, data->stage, output + b * out_size);
  }
}

// out[i] = x[i] - zero_point as int16, i < n; in blocks of 8 as AddTo.
void WidenMinus(const int8_t* __restrict x, int64_t n, int32_t zero_point,
                int16_t* __restrict out) {
  const int16_t zp = static_cast<int16_t>(zero_point);
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) {
    for (int k = 0; k < 8; ++k) out[i + k] = static_cast<int16_t>(x[i + k] - zp);
  }
  for (; i < n; ++i) out[i] = static_cast<int16_t>(x[i] - zp);
}

// int8 on the s16 GEMM and the output-stage microkernel (see the top).
void EvalInt8(Context* ctx, const OpData* data, const int8_t* input, int8_t* output) {
  const ref::TransposeConvGeometry& g = data->geo;
  const int64_t N = g.N();
  const int64_t out_row = int64_t{g.out_w} * g.out_c;
  int16_t* wide = static_cast<int16_t*>(ctx->GetScratch(data->wide_input));
  int32_t* col = static_cast<int32_t*>(ctx->GetScratch(data->col32));
  int32_t* sums = static_cast<int32_t*>(ctx->GetScratch(data->row_sums));
  const bool parallel = g.in_pixels() * N * g.in_c >= kMinParallelConvMacs;
  const int threads = parallel ? ctx->num_threads() : 1;
  for (int b = 0; b < g.batch; ++b) {
    const int8_t* in_b = input + int64_t{b} * g.in_pixels() * g.in_c;
    int8_t* out_b = output + int64_t{b} * g.out_h * out_row;
    for (int oy0 = 0, oy1 = 0; oy0 < g.out_h; oy0 = oy1) {
      // The band: output rows [oy0, oy1) and their input rows [first, last].
      int first, last, lo, hi;
      InputRowsOf(g, oy0, &first, &last);
      for (oy1 = oy0 + 1; oy1 < g.out_h; ++oy1) {
        InputRowsOf(g, oy1, &lo, &hi);
        if (hi - first + 1 > data->band_rows) break;
        last = hi;
      }
      const int64_t pixels = std::max(0, last - first + 1) * int64_t{g.in_w};
      const int8_t* x = in_b + int64_t{first} * g.in_w * g.in_c;
      const int product_tasks = static_cast<int>(std::min<int64_t>(pixels, threads));
      ctx->thread_pool()->ParallelFor(product_tasks, [&](int task, int) {
        const int64_t p0 = pixels * task / product_tasks, p1 = pixels * (task + 1) / product_tasks;
        WidenMinus(x + p0 * g.in_c, (p1 - p0) * g.in_c, data->input_zero_point, wide + p0 * g.in_c);
        data->s16.cfg->gemm(static_cast<int>(p1 - p0), static_cast<int>(N), g.in_c,
                            wide + p0 * g.in_c, g.in_c, data->s16.weights, col + p0 * N, N);
      });
      const int rows = oy1 - oy0;
      const int row_tasks = std::min(rows, threads);
      ctx->thread_pool()->ParallelFor(row_tasks, [&](int task, int thread) {
        int32_t* acc = sums + int64_t{thread} * out_row;
        for (int r = rows * task / row_tasks; r < rows * (task + 1) / row_tasks; ++r) {
          if (data->one_product) {
            // Output row oy: input row oy / stride_h, tap row oy % stride_h; each tap column fx
            // is every stride_w-th output pixel.
            const int oy = oy0 + r;
            const int32_t* src = col + int64_t{oy / g.stride_h - first} * g.in_w * N +
                                 int64_t{oy % g.stride_h} * g.filter_w * g.out_c;
            for (int fx = 0; fx < g.filter_w; ++fx) {
              const uk::QS8RequantRowsArgs args{g.in_w,
                                                g.out_c,
                                                src + int64_t{fx} * g.out_c,
                                                static_cast<ptrdiff_t>(N),
                                                data->bias32,
                                                data->rq,
                                                data->qout,
                                                out_b + oy * out_row + int64_t{fx} * g.out_c,
                                                static_cast<ptrdiff_t>(g.stride_w) * g.out_c};
              data->s16.cfg->requant_s8(args);
            }
            continue;
          }
          GatherRow(g, col, -int64_t{first}, oy0 + r, acc);
          const uk::QS8RequantRowsArgs args{
              g.out_w,      g.out_c,  acc,        g.out_c,
              data->bias32, data->rq, data->qout, out_b + (oy0 + r) * out_row,
              g.out_c};
          data->s16.cfg->requant_s8(args);
        }
      });
    }
  }
}

template <typename TIn, typename TW, typename TAcc>
void EvalQuantized(Context* ctx, const OpData* data, const Tensor* input, Tensor* output) {
  TAcc* col = static_cast<TAcc*>(ctx->GetScratch(data->col));
  TAcc* acc = static_cast<TAcc*>(ctx->GetScratch(data->acc));
  int64_t* rowsums = static_cast<int64_t*>(ctx->GetScratch(data->rowsums));
  ref::TransposeConvQuantized<TIn, TW, TAcc, TIn, int64_t>(
      data->geo, input->Data<TIn>(), static_cast<const TW*>(data->rows), data->filter_zero_point,
      data->col_term, data->bias64, data->stage, output->Data<TIn>(), col, acc, rowsums,
      data->block_rows);
}

Status Eval(Context* ctx, Node* node) {
  const OpData* data = static_cast<const OpData*>(node->user_data);
  const Tensor* filter = data->densified ? &data->dense_filter : ctx->input(node, 1);
  const Tensor* input = ctx->input(node, 2);
  const Tensor* bias = ctx->input(node, 3);
  Tensor* output = ctx->output(node, 0);
  switch (data->kind) {
    case Kind::kFloat: {
      const float* packed = data->packed;
      if (data->fast == nullptr && packed == nullptr) {
        float* p = static_cast<float*>(ctx->GetScratch(data->pack_scratch));
        ref::PackTransposeConvFilterF32(data->geo, filter->Data<float>(), p);
        packed = p;
      }
      EvalFloat(ctx, data, packed, input->Data<float>(),
                bias != nullptr ? bias->Data<float>() : data->zero_bias, output->Data<float>());
      break;
    }
    case Kind::kInt8:
      if (data->rq != nullptr) {
        EvalInt8(ctx, data, input->Data<int8_t>(), output->Data<int8_t>());
      } else {
        EvalQuantized<int8_t, int8_t, int64_t>(ctx, data, input, output);
      }
      break;
    case Kind::kUInt8:
      EvalQuantized<uint8_t, uint8_t, int64_t>(ctx, data, input, output);
      break;
    case Kind::kInt16:
      if (data->s16.cfg != nullptr) {
        EvalS16(ctx, data, input->Data<int16_t>(), output->Data<int16_t>());
      } else {
        EvalQuantized<int16_t, int8_t, int64_t>(ctx, data, input, output);
      }
      break;
  }
  return Status::Ok();
}

// For profiles: where the products go (the int8 and 16x8 GEMMs, or the reference).
const char* KernelInfo(const Node* node) {
  const OpData* data = static_cast<const OpData*>(node->user_data);
  if (data->scatter) return "igemm to output";
  if (data->fast != nullptr) return "igemm + gather";
  return data->s16.cfg != nullptr ? "s16 gemm" : nullptr;
}

// A float RELU, RELU_N1_TO_1 or RELU6 after the op (Registration::fuse_activation): the two
// clamps in a row are one, to the intersection of their ranges (they overlap): the same bits,
// infinities and NaN included (the op's own range is finite: TFLite's "none" is +-FLT_MAX).
bool FuseActivation(Context*, Node* node, float lo, float hi) {
  OpData* data = static_cast<OpData*>(node->user_data);
  if (data->kind != Kind::kFloat) return false;
  data->act_min = std::max(data->act_min, lo);
  data->act_max = std::min(data->act_max, hi);
  if (data->scatter) {  // the clamp is the microkernels'
    data->fast->min = data->act_min;
    data->fast->max = data->act_max;
  }
  return true;
}

}  // namespace

const Registration* RegisterTransposeConv() {
  static const Registration reg = {"TRANSPOSE_CONV", Init,    Prepare,    Eval,
                                   nullptr,          nullptr, KernelInfo, FuseActivation};
  return &reg;
}

}  // namespace rt
}  // namespace edgeopt
