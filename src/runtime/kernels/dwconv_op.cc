#include "src/runtime/kernels/dwconv_op.h"

#include <algorithm>
#include <cstring>

#include "src/runtime/kernels/conv_common.h"
#include "src/runtime/kernels/dynamic_quant.h"
#include "src/runtime/kernels/reference/requantize.h"
#include "src/runtime/kernels/ukernels/pack.h"
#include "src/runtime/selective.h"
#include "src/runtime/thread_pool.h"

namespace edgeopt {
namespace rt {
namespace {

constexpr int kTasksPerThread = 6;
constexpr int kMaxFilterH = 64;

void Plan(Context* ctx, DwConvOp* op) {
  (void)ctx;
  const ref::DepthwiseGeometry& g = op->g;
  op->taps = g.filter_h * g.filter_w;
  if (g.dilation_w == 1) {
    // Columns ox * stride_w - pad_left + fx of the row, kh pointers each.
    op->step = g.stride_w * g.filter_h;
    op->row_ptrs = ((g.out_w - 1) * g.stride_w + g.filter_w) * g.filter_h;
  } else {
    op->step = op->taps;
    op->row_ptrs = g.out_w * op->taps;
  }
}

Status RequestThreadScratch(Context* ctx, DwConvOp* op) {
  return ctx->RequestScratch(
      static_cast<size_t>(op->row_ptrs) * sizeof(void*) * std::max(1, ctx->num_threads()),
      &op->s_thread);
}

// The pointers of output row `row` (= b * out_h + oy), see DwConvOp::step.
void BuildRow(const DwConvOp& op, const uint8_t* input, size_t elem, int row, const void* zero,
              const void** ptrs) {
  const ref::DepthwiseGeometry& g = op.g;
  const int b = row / g.out_h, oy = row % g.out_h;
  const size_t pixel = static_cast<size_t>(g.in_c) * elem;
  const uint8_t* rb[kMaxFilterH];  // filter_h <= kMaxFilterH (DwConvSupported)
  for (int fy = 0; fy < g.filter_h; ++fy) {
    const int iy = oy * g.stride_h - g.pad_top + fy * g.dilation_h;
    rb[fy] = (iy < 0 || iy >= g.in_h)
                 ? nullptr
                 : input + (static_cast<size_t>(b) * g.in_h + iy) * g.in_w * pixel;
  }
  auto ptr = [&](int fy, int ix) -> const void* {
    if (rb[fy] == nullptr || ix < 0 || ix >= g.in_w) return zero;
    return rb[fy] + static_cast<size_t>(ix) * pixel;
  };
  if (g.dilation_w == 1) {
    const int columns = op.row_ptrs / g.filter_h;
    for (int j = 0; j < columns; ++j) {
      const int ix = j - g.pad_left;
      for (int fy = 0; fy < g.filter_h; ++fy) ptrs[j * g.filter_h + fy] = ptr(fy, ix);
    }
  } else {
    for (int ox = 0; ox < g.out_w; ++ox) {
      for (int fx = 0; fx < g.filter_w; ++fx) {
        const int ix = ox * g.stride_w - g.pad_left + fx * g.dilation_w;
        for (int fy = 0; fy < g.filter_h; ++fy) {
          ptrs[ox * op.taps + fx * g.filter_h + fy] = ptr(fy, ix);
        }
      }
    }
  }
}

// Runs `g` as multiplier 1 over the input with its channels repeated (see DwConvOp::expand);
// the expanded input of all batch items goes to scratch.
Status SetGeometry(Context* ctx, const ref::DepthwiseGeometry& g, size_t elem, DwConvOp* op) {
  op->g = g;
  op->expand = g.depth_multiplier;
  if (g.depth_multiplier == 1) return Status::Ok();
  op->g.in_c = g.out_c;
  op->g.depth_multiplier = 1;
  return ctx->RequestScratch(static_cast<size_t>(g.batch) * g.in_h * g.in_w * g.out_c * elem,
                             &op->s_expand);
}

// out[p][c * m + j] = in[p][c] for every pixel p, channel c < in_c and j < m.
template <typename T>
void ExpandChannels(const T* in, int64_t pixels, int in_c, int m, T* out) {
  for (int64_t p = 0; p < pixels; ++p) {
    for (int c = 0; c < in_c; ++c) {
      const T v = in[c];
      for (int j = 0; j < m; ++j) out[j] = v;
      out += m;
    }
    in += in_c;
  }
}

}  // namespace

bool DwConvSupported(const CpuInfo& cpu, DwConvOp::Kind kind, const ref::DepthwiseGeometry& g) {
  if (g.filter_h > kMaxFilterH) return false;
  // The expanded input of one batch item stays below 2^31 elements (the hybrid path's bound).
  if (g.depth_multiplier > 1 && int64_t{g.in_h} * g.in_w * g.out_c >= (int64_t{1} << 31)) {
    return false;
  }
  if (kind == DwConvOp::Kind::kQD8 && !TypeInBuild("hybrid")) return false;  // selective.h
  return kind == DwConvOp::Kind::kF32 ? uk::GetF32DwConfig(cpu) != nullptr
                                      : uk::GetQS8DwConfig(cpu) != nullptr;
}

Status PrepareQS8DwConv(Context* ctx, const ref::DepthwiseGeometry& model_g, const QS8DwParams& p,
                        DwConvOp* op) {
  op->kind = DwConvOp::Kind::kQS8;
  op->input_signed = !p.uint8;
  EDGEOPT_RETURN_IF_ERROR(SetGeometry(ctx, model_g, 1, op));
  const ref::DepthwiseGeometry& g = op->g;
  op->qcfg = uk::GetQS8DwConfig(ctx->cpu());
  Plan(ctx, op);
  const int blocks = uk::DivideRoundUp(g.out_c, 16);
  void* packed = ctx->AllocatePersistent(uk::QS8DwPackedBlockBytes(op->taps) * blocks);
  uint8_t* zero = static_cast<uint8_t*>(ctx->AllocatePersistent(g.in_c));
  EDGEOPT_ENSURE(packed != nullptr && zero != nullptr, StatusCode::kOutOfMemory,
                 "out of memory packing weights");
  uk::QS8DwPackSource src;
  src.weights = p.filter;
  src.weights_unsigned = p.uint8;
  src.weight_zero_point = p.filter_zero_point;
  src.bias = p.bias;
  src.input_zero_point = p.input_zero_point;
  src.multiplier = p.multiplier;
  src.shift = p.shift;
  uk::PackQS8Dw(g.out_c, g.filter_h, g.filter_w, src, packed);
  std::memset(zero, static_cast<uint8_t>(p.input_zero_point), g.in_c);
  op->packed = packed;
  op->zero = zero;
  op->q.zero_point = p.output_zero_point;
  op->q.lo = p.act_min - p.output_zero_point;
  op->q.hi = p.act_max - p.output_zero_point;
  return RequestThreadScratch(ctx, op);
}

Status PrepareQD8DwConv(Context* ctx, const ref::DepthwiseGeometry& model_g, const QD8DwParams& p,
                        DwConvOp* op) {
  op->kind = DwConvOp::Kind::kQD8;
  op->input_signed = true;
  EDGEOPT_RETURN_IF_ERROR(SetGeometry(ctx, model_g, sizeof(float), op));
  const ref::DepthwiseGeometry& g = op->g;
  op->qcfg = uk::GetQS8DwConfig(ctx->cpu());
  Plan(ctx, op);
  const int blocks = uk::DivideRoundUp(g.out_c, 16);
  void* packed = ctx->AllocatePersistent(uk::QD8DwPackedBlockBytes(op->taps) * blocks);
  EDGEOPT_ENSURE(packed != nullptr, StatusCode::kOutOfMemory, "out of memory packing weights");
  float* scales = nullptr;
  EDGEOPT_RETURN_IF_ERROR(AllocatePersistentArray(ctx, g.out_c, &scales));
  EDGEOPT_RETURN_IF_ERROR(AllocatePersistentArray(ctx, g.out_c, &op->weight_sums));
  uk::PackQD8Dw(g.out_c, g.filter_h, g.filter_w, p.filter, packed, op->weight_sums);
  for (int c = 0; c < g.out_c; ++c) scales[c] = p.filter_scales[p.per_channel ? c : 0];
  op->packed = packed;
  op->filter_scales = scales;
  op->bias = p.bias;
  op->min = p.act_min;
  op->max = p.act_max;
  // Scratch: the quantized batch item, its zero-point pixel, col_term per channel.
  const size_t per_batch = static_cast<size_t>(g.in_h) * g.in_w * g.in_c;
  EDGEOPT_RETURN_IF_ERROR(ctx->RequestScratch(
      ((per_batch + 63) & ~size_t{63}) + ((g.in_c + 63) & ~size_t{63}) + 4 * g.out_c, &op->s_qd8));
  return RequestThreadScratch(ctx, op);
}

Status PrepareF32DwConv(Context* ctx, const ref::DepthwiseGeometry& model_g, const float* filter,
                        const float* bias, float act_min, float act_max, DwConvOp* op) {
  op->kind = DwConvOp::Kind::kF32;
  EDGEOPT_RETURN_IF_ERROR(SetGeometry(ctx, model_g, sizeof(float), op));
  const ref::DepthwiseGeometry& g = op->g;
  op->fcfg = uk::GetF32DwConfig(ctx->cpu());
  Plan(ctx, op);
  const int blocks = uk::DivideRoundUp(g.out_c, 16);
  float* packed =
      static_cast<float*>(ctx->AllocatePersistent(uk::F32DwPackedBlockBytes(op->taps) * blocks));
  float* zero = static_cast<float*>(ctx->AllocatePersistent(sizeof(float) * g.in_c));
  EDGEOPT_ENSURE(packed != nullptr && zero != nullptr, StatusCode::kOutOfMemory,
                 "out of memory packing weights");
  uk::PackF32Dw(g.out_c, g.filter_h, g.filter_w, filter, bias, packed);
  std::memset(zero, 0, sizeof(float) * g.in_c);
  op->packed = packed;
  op->zero = zero;
  op->min = act_min;
  op->max = act_max;
  return RequestThreadScratch(ctx, op);
}

namespace {

// Output rows [0, rows) of `input` (rows of later batch items follow, see BuildRow).
void RunRows(Context* ctx, const DwConvOp& op, const uint8_t* in, const void* zero, uint8_t* out,
             int rows, const int32_t* col_term, float input_scale) {
  const ref::DepthwiseGeometry& g = op.g;
  const size_t elem = op.kind == DwConvOp::Kind::kQS8 ? 1 : sizeof(float);
  const void** scratch = static_cast<const void**>(ctx->GetScratch(op.s_thread));
  const int threads = ctx->num_threads();
  const int rows_per_task =
      threads > 1 ? std::max(1, rows / (threads * kTasksPerThread)) : std::max(rows, 1);
  const int tasks = uk::DivideRoundUp(rows, rows_per_task);
  ctx->thread_pool()->ParallelFor(tasks, [&](int task, int thread) {
    const void** ptrs = scratch + static_cast<size_t>(op.row_ptrs) * thread;
    const int r1 = std::min(rows, (task + 1) * rows_per_task);
    for (int row = task * rows_per_task; row < r1; ++row) {
      BuildRow(op, in, op.kind == DwConvOp::Kind::kQD8 ? 1 : elem, row, zero, ptrs);
      void* o = out + static_cast<size_t>(row) * g.out_w * g.out_c * elem;
      switch (op.kind) {
        case DwConvOp::Kind::kQS8: {
          const uk::QS8DwArgs args{g.out_c,   g.out_w, op.taps, op.step, ptrs,
                                   op.packed, o,       g.out_c, &op.q};
          (op.input_signed ? op.qcfg->s8 : op.qcfg->u8)(args);
          break;
        }
        case DwConvOp::Kind::kQD8: {
          const uk::QD8DwArgs args{g.out_c,
                                   g.out_w,
                                   op.taps,
                                   op.step,
                                   reinterpret_cast<const int8_t* const*>(ptrs),
                                   op.packed,
                                   static_cast<float*>(o),
                                   g.out_c,
                                   col_term,
                                   input_scale,
                                   op.filter_scales,
                                   op.bias,
                                   op.min,
                                   op.max};
          op.qcfg->qd8(args);
          break;
        }
        case DwConvOp::Kind::kF32: {
          const uk::F32DwArgs args{g.out_c,
                                   g.out_w,
                                   op.taps,
                                   g.filter_h,
                                   op.step,
                                   reinterpret_cast<const float* const*>(ptrs),
                                   static_cast<const float*>(op.packed),
                                   static_cast<float*>(o),
                                   g.out_c,
                                   op.min,
                                   op.max};
          op.fcfg->dw(args);
          break;
        }
      }
    }
  });
}

}  // namespace

void RunDwConv(Context* ctx, const DwConvOp& op, const void* input, void* output) {
  const ref::DepthwiseGeometry& g = op.g;
  if (op.expand > 1) {
    void* expanded = ctx->GetScratch(op.s_expand);
    const int64_t pixels = int64_t{g.batch} * g.in_h * g.in_w;
    const int source_in_c = g.in_c / op.expand;
    if (op.kind == DwConvOp::Kind::kQS8) {
      ExpandChannels(static_cast<const uint8_t*>(input), pixels, source_in_c, op.expand,
                     static_cast<uint8_t*>(expanded));
    } else {
      ExpandChannels(static_cast<const float*>(input), pixels, source_in_c, op.expand,
                     static_cast<float*>(expanded));
    }
    input = expanded;
  }
  if (op.kind != DwConvOp::Kind::kQD8) {
    RunRows(ctx, op, static_cast<const uint8_t*>(input), op.zero, static_cast<uint8_t*>(output),
            g.batch * g.out_h, nullptr, 0.0f);
    return;
  }
  // Hybrid: quantize each batch item (asymmetric, as the reference), then its rows.
  if constexpr (!TypeInBuild("hybrid")) return;  // never prepared (selective.h)
  const size_t per_batch = static_cast<size_t>(g.in_h) * g.in_w * g.in_c;
  uint8_t* scratch = static_cast<uint8_t*>(ctx->GetScratch(op.s_qd8));
  int8_t* quantized = reinterpret_cast<int8_t*>(scratch);
  uint8_t* zero = scratch + ((per_batch + 63) & ~size_t{63});
  int32_t* col_term = reinterpret_cast<int32_t*>(zero + ((g.in_c + 63) & ~size_t{63}));
  for (int b = 0; b < g.batch; ++b) {
    float scale = 1.0f;
    int32_t zp = 0;
    DynamicQuantize(uk::GetDynamicQuantConfig(ctx->cpu()), /*asymmetric=*/true,
                    static_cast<const float*>(input) + b * per_batch, static_cast<int>(per_batch),
                    quantized, &scale, &zp);
    std::memset(zero, static_cast<uint8_t>(static_cast<int8_t>(zp)), g.in_c);
    for (int c = 0; c < g.out_c; ++c) {
      col_term[c] = static_cast<int32_t>(static_cast<uint32_t>(-int64_t{zp} * op.weight_sums[c]));
    }
    RunRows(ctx, op, reinterpret_cast<const uint8_t*>(quantized), zero,
            reinterpret_cast<uint8_t*>(static_cast<float*>(output) +
                                       static_cast<size_t>(b) * g.out_h * g.out_w * g.out_c),
            g.out_h, col_term, scale);
  }
}

}  // namespace rt
}  // namespace edgeopt
