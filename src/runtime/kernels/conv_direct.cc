#include "src/runtime/kernels/conv_direct.h"

#include <algorithm>
#include <cstring>

#include "src/runtime/kernels/conv_common.h"
#include "src/runtime/kernels/ukernels/pack.h"
#include "src/runtime/thread_pool.h"

namespace edgeopt {
namespace rt {
namespace {

// Buffered rows per thread: three ring slots and a zero row.
constexpr int kRows = 4;
// Larger per-thread buffers (wide images with many channels) are left to the IGEMM.
constexpr int64_t kMaxThreadBytes = int64_t{1} << 20;
// Tasks per thread (each task refills its ring: two extra rows).
constexpr int kTasksPerThread = 2;

int64_t RowFloats(const IGemmConv& op) { return int64_t{op.direct_width} * op.g.in_c; }

// Copies input row iy of batch item b into `dst` (direct_width pixels, the image's columns
// after pad_left zero pixels, zeros after).
void FillRow(const IGemmConv& op, const float* input, int b, int iy, float* dst) {
  const ref::ConvGeometry& g = op.g;
  const int64_t c = g.in_c;
  const int64_t left = int64_t{g.pad_left} * c;
  const int64_t data = int64_t{g.in_w} * c;
  std::memset(dst, 0, sizeof(float) * left);
  std::memcpy(dst + left, input + ((int64_t{b} * g.in_h + iy) * g.in_w) * c, sizeof(float) * data);
  std::memset(dst + left + data, 0, sizeof(float) * (RowFloats(op) - left - data));
}

// Output rows [r0, r1) (r = b * out_h + oy) with the ring in `buf`.
void RunRows(const IGemmConv& op, const float* input, const float* residual, float* output,
             float* buf, int64_t r0, int64_t r1) {
  const ref::ConvGeometry& g = op.g;
  const int64_t row_floats = RowFloats(op);
  float* zero_row = buf + 3 * row_floats;
  std::memset(zero_row, 0, sizeof(float) * row_floats);
  int64_t held[3] = {-1, -1, -1};  // b * in_h + iy of the row in each slot
  const int mr = op.direct->mr;
  uk::F32Conv3x3Args args{};
  args.nc = g.out_c;
  args.channels = g.in_c;
  args.w = static_cast<const float*>(op.packed);
  args.out_stride = g.out_c;
  args.min = op.min;
  args.max = op.max;
  for (int64_t r = r0; r < r1; ++r) {
    const int b = static_cast<int>(r / g.out_h);
    const int oy = static_cast<int>(r % g.out_h);
    const float* rows[3];
    for (int fy = 0; fy < 3; ++fy) {
      const int iy = oy * g.stride_h - g.pad_top + fy;
      if (iy < 0 || iy >= g.in_h) {
        rows[fy] = zero_row;
        continue;
      }
      const int64_t key = int64_t{b} * g.in_h + iy;
      float* slot = buf + (key % 3) * row_floats;
      if (held[key % 3] != key) {
        FillRow(op, input, b, iy, slot);
        held[key % 3] = key;
      }
      rows[fy] = slot;
    }
    float* out = output + r * g.out_w * g.out_c;
    for (int ox = 0; ox < g.out_w; ox += mr) {
      args.mr = std::min(mr, g.out_w - ox);
      for (int fy = 0; fy < 3; ++fy) args.rows[fy] = rows[fy] + int64_t{ox} * g.stride_w * g.in_c;
      args.out = out + int64_t{ox} * g.out_c;
      op.direct->conv(args);
    }
    if (residual != nullptr) {
      const int64_t n = int64_t{g.out_w} * g.out_c;
      AddResidual(op, residual, output, r * n, n);
    }
  }
}

}  // namespace

// Pixels per buffered row: the last tile's strip, and the image after its left padding.
int64_t BufferWidth(const uk::F32Conv3x3Config* cfg, const ref::ConvGeometry& g) {
  const int64_t tiles_end = int64_t{uk::DivideRoundUp(g.out_w, cfg->mr)} * cfg->mr;
  return std::max<int64_t>(cfg->stride * (tiles_end - 1) + 3, g.pad_left + int64_t{g.in_w});
}

const uk::F32Conv3x3Config* F32Conv3x3For(const Context* ctx, const ref::ConvGeometry& g) {
  if (g.filter_h != 3 || g.filter_w != 3 || g.stride_h != g.stride_w || g.dilation_h != 1 ||
      g.dilation_w != 1 || g.groups != 1 || ctx->exact_float()) {
    return nullptr;
  }
  if (g.pad_top < 0 || g.pad_left < 0 || g.out_h <= 0 || g.out_w <= 0 || g.in_c <= 0) {
    return nullptr;
  }
  const uk::F32Conv3x3Config* cfg = uk::GetF32Conv3x3Config(ctx->cpu(), g.out_c, g.stride_w);
  if (cfg == nullptr || BufferWidth(cfg, g) * g.in_c * 4 * kRows > kMaxThreadBytes) {
    return nullptr;
  }
  return cfg;
}

Status PrepareF32Conv3x3(Context* ctx, const uk::F32Conv3x3Config* cfg, const ref::ConvGeometry& g,
                         const float* filter, const float* bias, float act_min, float act_max,
                         IGemmConv* op) {
  op->kind = IGemmKind::kF32;
  op->g = g;
  op->direct = cfg;
  op->nr = cfg->nr;
  op->mr = cfg->mr;
  op->min = act_min;
  op->max = act_max;
  op->has_bias = bias != nullptr;
  op->rows = int64_t{g.batch} * g.out_pixels();
  op->direct_width = static_cast<int>(BufferWidth(cfg, g));
  // Weights: bias[NR], then w[fy][c][fx][NR] from TFLite's [out_c][fy][fx][in_c].
  const int nr = cfg->nr, c = g.in_c;
  float* packed = nullptr;
  EDGEOPT_RETURN_IF_ERROR(AllocatePersistentArray(
      ctx, static_cast<int64_t>(uk::F32Conv3x3PackedBytes(nr, c) / sizeof(float)), &packed));
  std::memset(packed, 0, uk::F32Conv3x3PackedBytes(nr, c));
  for (int n = 0; n < g.out_c; ++n) {
    packed[n] = bias != nullptr ? bias[n] : 0.0f;
    for (int fy = 0; fy < 3; ++fy) {
      for (int fx = 0; fx < 3; ++fx) {
        for (int k = 0; k < c; ++k) {
          packed[nr + ((int64_t{fy} * c + k) * 3 + fx) * nr + n] =
              filter[((int64_t{n} * 3 + fy) * 3 + fx) * c + k];
        }
      }
    }
  }
  op->packed = packed;
  const int threads = std::max(1, ctx->num_threads());
  EDGEOPT_RETURN_IF_ERROR(ctx->RequestScratch(
      static_cast<size_t>(RowFloats(*op)) * sizeof(float) * kRows * threads, &op->s_direct));
  const int64_t out_rows = int64_t{g.batch} * g.out_h;
  const int64_t macs = op->rows * g.out_c * g.K();
  op->tasks = threads > 1 && macs >= kMinParallelConvMacs
                  ? static_cast<int>(std::min<int64_t>(out_rows, threads * kTasksPerThread))
                  : 1;
  return Status::Ok();
}

void RunF32Conv3x3(Context* ctx, const IGemmConv& op, const float* input, float* output,
                   const float* residual) {
  float* scratch = static_cast<float*>(ctx->GetScratch(op.s_direct));
  const int64_t out_rows = int64_t{op.g.batch} * op.g.out_h;
  const int64_t per_thread = RowFloats(op) * kRows;
  ctx->thread_pool()->ParallelFor(op.tasks, [&](int task, int thread) {
    RunRows(op, input, residual, output, scratch + per_thread * thread, out_rows * task / op.tasks,
            out_rows * (task + 1) / op.tasks);
  });
}

}  // namespace rt
}  // namespace edgeopt
