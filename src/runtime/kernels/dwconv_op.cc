#include "src/runtime/kernels/dwconv_op.h"

#include <algorithm>
#include <cstring>

#include "src/runtime/kernels/conv_common.h"
#include "src/runtime/kernels/ukernels/pack.h"
#include "src/runtime/thread_pool.h"

namespace edgeopt {
namespace rt {
namespace {

constexpr int kTasksPerThread = 6;
constexpr int kMaxFilterH = 64;

void Plan(Context* ctx, DwConvOp* op) {
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
  const int rows = g.batch * g.out_h;
  const int threads = ctx->num_threads();
  op->rows_per_task = threads > 1 ? std::max(1, rows / (threads * kTasksPerThread)) : rows;
  op->tasks = uk::DivideRoundUp(rows, op->rows_per_task);
}

Status RequestThreadScratch(Context* ctx, DwConvOp* op) {
  return ctx->RequestScratch(
      static_cast<size_t>(op->row_ptrs) * sizeof(void*) * std::max(1, ctx->num_threads()),
      &op->s_thread);
}

// The pointers of output row `row` (= b * out_h + oy), see DwConvOp::step.
void BuildRow(const DwConvOp& op, const uint8_t* input, size_t elem, int row, const void** ptrs) {
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
    if (rb[fy] == nullptr || ix < 0 || ix >= g.in_w) return op.zero;
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

}  // namespace

bool DwConvSupported(const CpuInfo& cpu, bool quantized, const ref::DepthwiseGeometry& g) {
  if (g.depth_multiplier != 1 || g.filter_h > kMaxFilterH) return false;
  return quantized ? uk::GetQS8DwConfig(cpu) != nullptr : uk::GetF32DwConfig(cpu) != nullptr;
}

Status PrepareQS8DwConv(Context* ctx, const ref::DepthwiseGeometry& g, const QS8DwParams& p,
                        DwConvOp* op) {
  op->quantized = true;
  op->input_signed = !p.uint8;
  op->g = g;
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

Status PrepareF32DwConv(Context* ctx, const ref::DepthwiseGeometry& g, const float* filter,
                        const float* bias, float act_min, float act_max, DwConvOp* op) {
  op->g = g;
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

void RunDwConv(Context* ctx, const DwConvOp& op, const void* input, void* output) {
  const ref::DepthwiseGeometry& g = op.g;
  const size_t elem = op.quantized ? 1 : sizeof(float);
  const void** scratch = static_cast<const void**>(ctx->GetScratch(op.s_thread));
  const int rows = g.batch * g.out_h;
  const uint8_t* in = static_cast<const uint8_t*>(input);
  uint8_t* out = static_cast<uint8_t*>(output);
  ctx->thread_pool()->ParallelFor(op.tasks, [&](int task, int thread) {
    const void** ptrs = scratch + static_cast<size_t>(op.row_ptrs) * thread;
    const int r1 = std::min(rows, (task + 1) * op.rows_per_task);
    for (int row = task * op.rows_per_task; row < r1; ++row) {
      BuildRow(op, in, elem, row, ptrs);
      void* o = out + static_cast<size_t>(row) * g.out_w * g.out_c * elem;
      if (op.quantized) {
        const uk::QS8DwArgs args{g.out_c,   g.out_w, op.taps, op.step, ptrs,
                                 op.packed, o,       g.out_c, &op.q};
        (op.input_signed ? op.qcfg->s8 : op.qcfg->u8)(args);
      } else {
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
      }
    }
  });
}

}  // namespace rt
}  // namespace edgeopt
