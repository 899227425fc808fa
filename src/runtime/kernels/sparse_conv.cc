#include "src/runtime/kernels/sparse_conv.h"

#include <algorithm>
#include <cstring>
#include <limits>
#include <new>

#include "src/runtime/cpu_info.h"
#include "src/runtime/kernels/conv_common.h"
#include "src/runtime/selective.h"
#include "src/runtime/thread_pool.h"

namespace edgeopt {
namespace rt {
namespace {

// Break-even (sparse work) / (dense work), measured with bench/sparse_matmul_bench.cc against the
// dense IGEMM convolution on an AVX-512 machine (Xeon, Sapphire Rapids), over 7 shapes from
// 7x7x512 to 56x56x64 (3x3 and 5x5), one thread. AVX-512: the sparse kernel was faster up to
// work ratios of about 0.42 (56x56x64 -> 64) to beyond 1.25 (7x7x512 -> 512). AVX2 (the same
// machine, 256-bit kernels on both sides), re-measured on 2026-11-26 after its dense IGEMM kernel
// went from 50 % to 97 % of the FMA peak (its accumulators had lived on the stack): faster up to
// work ratios 0.56 (8x8x64 -> 64) to 0.91 (32x32x16 -> 32, 5x5); it was 0.69 to 1.25.
constexpr double kMaxWorkRatioAvx512 = 0.40;
constexpr double kMaxWorkRatioAvx2 = 0.50;
// Against the direct 3x3 kernel (3x3 filters with few output channels), measured the same
// way: AVX-512 broke even at 0.46 (16x16x32 -> 32) and 0.53 (56x56x24 -> 24) but only 0.15 with
// 16 output channels (32x32x16 -> 16, where the direct kernel is at its best); AVX2 (direct
// only for 16 channels) at about 0.5.
constexpr double kMaxWorkRatioVsDirectAvx512 = 0.40;
constexpr double kMaxWorkRatioVsDirect16Avx512 = 0.12;  // 16 output channels or fewer
constexpr double kMaxWorkRatioVsDirectAvx2 = 0.50;
// NEON (no direct kernel there): not measured on Arm hardware. llvm-mca 14 on the compiled loops
// gives the sparse kernel (16 lanes, 2 taps per step) 1.52 cycles per vector FMA on a
// Cortex-A72 against the dense IGEMM's 1.01 (break-even work ratio 0.66), 4.0 against 2.8 on an
// A53 (0.70) and 3.9 against 1.8 on an A55 (0.47); the layout moves cost a few percent more.
constexpr double kMaxWorkRatioNeon = 0.45;

constexpr int kMaxTileLanes = 64;
constexpr int kMaxVectorLanes = 16;
constexpr int kMaxCopies = 3;
// Input bytes per channel chunk (see SparseConv::chunk_channels): half of a 48 KB L1.
constexpr int64_t kChunkBytes = 24 * 1024;
// Stored taps x lanes from which the tiles are split over the threads.
constexpr int64_t kMinParallelWork = int64_t{2} << 20;

// Lanes per vector, and vectors per tap of the microkernel (its widest tile), per ISA.
int VectorLanes(SparseIsa isa) {
  return isa == SparseIsa::kAvx512 ? 16 : (isa == SparseIsa::kNeon ? 4 : 8);
}
int TileVectors(SparseIsa isa) { return isa == SparseIsa::kScalar ? 1 : 4; }

SpconvF32Fn KernelFor(SparseIsa isa) {
  switch (isa) {
#if defined(EDGEOPT_HAVE_AVX512)
    case SparseIsa::kAvx512:
      return f32_spconv_minmax_ukernel_64__avx512;
#endif
#if defined(EDGEOPT_HAVE_AVX2)
    case SparseIsa::kAvx2:
      return f32_spconv_minmax_ukernel_32__avx2;
#endif
#if defined(EDGEOPT_HAVE_NEON)
    case SparseIsa::kNeon:
      return f32_spconv_minmax_ukernel_16__neon;
#endif
    default:
      return f32_spconv_minmax_ukernel_8__scalar;
  }
}

int64_t CeilDiv(int64_t v, int64_t m) { return (v + m - 1) / m; }
int64_t RoundUp(int64_t v, int64_t m) { return CeilDiv(v, m) * m; }

// Loads at a tap's offset cross a cache line for all but one offset in a vector's width; an
// aligned layout (see Layout) avoids that at the cost of wider rows. The kernel's time per
// lane, unaligned over aligned, measured on the demo CNN's 13x13x32 -> 64: 12.5 / 7.5 us.
constexpr double kUnalignedCost = 1.6;

// The padded input plane and the output lanes. Aligned: rows padded to a whole number of
// vectors, so that a tap's offset modulo the vector width is (kx * dilation) modulo it, and one
// copy of the input per such shift (shifted by it) makes every tap's loads aligned.
struct Layout {
  int hp = 0, wp = 0;
  int64_t lanes = 0;
  bool aligned = false;
  int copies = 1;  // aligned: one per distinct shift (kx * dilation modulo the vector width)
  int shift[kMaxVectorLanes] = {};
  double cost_lanes = 0.0;  // lanes, rounded to vectors, weighted by kUnalignedCost if unaligned
};

Layout ChooseLayout(const ref::ConvGeometry& g, SparseIsa isa) {
  const int vec = VectorLanes(isa);
  Layout l;
  l.hp = g.out_h + (g.filter_h - 1) * g.dilation_h;
  const int wp = g.out_w + (g.filter_w - 1) * g.dilation_w;
  const int64_t lanes = int64_t{g.out_h - 1} * wp + g.out_w;
  const int wp_aligned = static_cast<int>(RoundUp(wp, vec));
  const int64_t lanes_aligned = int64_t{g.out_h - 1} * wp_aligned + g.out_w;
  const double unaligned = static_cast<double>(RoundUp(lanes, vec)) * kUnalignedCost;
  const double aligned = static_cast<double>(RoundUp(lanes_aligned, vec));
  // Distinct column shifts (input copies) of the aligned layout, shift 0 first.
  bool seen[kMaxVectorLanes] = {};
  int copies = 0;
  int shift[kMaxVectorLanes] = {};
  for (int kx = 0; kx < g.filter_w; ++kx) {
    const int s = static_cast<int>(int64_t{kx} * g.dilation_w % vec);
    if (seen[s]) continue;
    seen[s] = true;
    shift[copies++] = s;
  }
  // At most 3 copies: with the 5 of a 5x5 filter (32x32x16 -> 32), the copies and the smaller
  // channel chunks they need cost more than the aligned loads saved. x86 only: NEON loads pay
  // little for misalignment (a 16-byte load crosses a cache line at 3 of 16 float offsets).
  const bool x86 = isa == SparseIsa::kAvx512 || isa == SparseIsa::kAvx2;
  l.aligned = x86 && copies <= kMaxCopies && aligned < unaligned;
  if (l.aligned) {
    l.copies = copies;
    std::copy(shift, shift + copies, l.shift);
  }
  l.wp = l.aligned ? wp_aligned : wp;
  l.lanes = l.aligned ? lanes_aligned : lanes;
  l.cost_lanes = l.aligned ? aligned : (x86 ? unaligned : unaligned / kUnalignedCost);
  return l;
}

// The padded channel-major copies of one image. Copy 0: x[c][py][px] =
// input[py - pad_top][px - pad_left][c] inside the image, 0 outside (and in the slack after the
// last plane); copy k: copy 0 shifted left by shift[k] floats.
void ToPaddedChannelMajor(const SparseConv& op, const float* in, float* x) {
  const ref::ConvGeometry& g = op.g;
  std::memset(x, 0, sizeof(float) * static_cast<size_t>(op.copy_floats));
  const int64_t plane = int64_t{op.hp} * op.wp;
  const int y1 = std::min(g.in_h, op.hp - g.pad_top);
  const int x1 = std::min(g.in_w, op.wp - g.pad_left);
  for (int y = 0; y < y1; ++y) {
    op.to_planes(x1, g.in_c, in + int64_t{y} * g.in_w * g.in_c,
                 x + int64_t{y + g.pad_top} * op.wp + g.pad_left, plane);
  }
  for (int k = 1; k < op.copies; ++k) {
    const int sh = op.shift[k];
    float* copy = x + k * op.copy_floats;
    std::memcpy(copy, x + sh, sizeof(float) * static_cast<size_t>(op.copy_floats - sh));
    std::memset(copy + op.copy_floats - sh, 0, sizeof(float) * static_cast<size_t>(sh));
  }
}

// tile[n - n0][l] for lanes [m0, m0 + count) -> output pixels (channel-last), lanes past the
// output's width dropped.
void StoreTile(const SparseConv& op, const float* tile, int64_t ldt, int64_t m0, int count, int n0,
               int n1, float* out, const float* residual) {
  const ref::ConvGeometry& g = op.g;
  float* dst[kMaxTileLanes] = {};
  int oy = static_cast<int>(m0 / op.wp);
  int ox = static_cast<int>(m0 - int64_t{oy} * op.wp);
  for (int l = 0; l < count; ++l) {
    dst[l] = ox < g.out_w ? out + (int64_t{oy} * g.out_w + ox) * g.out_c + n0 : nullptr;
    if (++ox == op.wp) {
      ox = 0;
      ++oy;
    }
  }
  op.to_pixels(count, n1 - n0, tile, ldt, dst);
  if (residual == nullptr) return;
  // The fused ADD over runs of pixels that are contiguous in the output (a row's pixels, when
  // the tile has all the channels), one microkernel call per run.
  const int n = n1 - n0;
  for (int l = 0; l < count;) {
    if (dst[l] == nullptr) {
      ++l;
      continue;
    }
    int end = l + 1;
    while (end < count && dst[end] == dst[end - 1] + g.out_c && n == g.out_c) ++end;
    op.residual_add(static_cast<size_t>(end - l) * n, dst[l], residual + (dst[l] - out), false,
                    dst[l], &op.residual_clamp);
    l = end;
  }
}

}  // namespace

bool SparseConvApplies(const ref::ConvGeometry& g) {
  return g.stride_h == 1 && g.stride_w == 1 && g.groups == 1 && !g.IsPointwise() &&
         g.pad_top >= 0 && g.pad_left >= 0 && g.out_h > 0 && g.out_w > 0;
}

double SparseConvMaxWorkRatio(SparseIsa isa, bool dense_direct, int out_c) {
  switch (SparseKernelIsa(isa)) {
    case SparseIsa::kAvx512:
      if (!dense_direct) return kMaxWorkRatioAvx512;
      return out_c <= 16 ? kMaxWorkRatioVsDirect16Avx512 : kMaxWorkRatioVsDirectAvx512;
    case SparseIsa::kAvx2:
      return dense_direct ? kMaxWorkRatioVsDirectAvx2 : kMaxWorkRatioAvx2;
    case SparseIsa::kNeon:
      return kMaxWorkRatioNeon;  // no direct kernel on Arm
    default:
      return 0.0;  // the portable loop never beats the dense kernel (tests force it)
  }
}

bool DecideSparseConv(const ref::ConvGeometry& g, const float* filter, SparseIsa isa,
                      SparseMode mode, bool dense_direct, SparseConv* out) {
  if (mode == SparseMode::kNever || !SparseConvApplies(g)) return false;
  isa = SparseKernelIsa(isa);  // float: AVX-VNNI changes nothing
  const int64_t K = g.K();
  const int64_t total = K * g.out_c;
  int64_t stored = 0;
  for (int64_t i = 0; i < total; ++i) stored += filter[i] != 0.0f;
  const Layout layout = ChooseLayout(g, isa);
  out->hp = layout.hp;
  out->wp = layout.wp;
  out->lanes = layout.lanes;
  out->aligned = layout.aligned;
  out->copies = layout.copies;
  std::copy(layout.shift, layout.shift + layout.copies, out->shift);
  out->stored = stored;
  out->density = total > 0 ? static_cast<double>(stored) / static_cast<double>(total) : 1.0;
  out->work_ratio = out->density * layout.cost_lanes / static_cast<double>(g.out_pixels());
  return mode == SparseMode::kAlways ||
         out->work_ratio < SparseConvMaxWorkRatio(isa, dense_direct, g.out_c);
}

Status PrepareSparseConvF32(Context* ctx, const ref::ConvGeometry& g, const float* filter,
                            const float* bias, float act_min, float act_max, bool dense_direct,
                            SparseConv** out, SparseMode mode) {
  *out = nullptr;
  // A selective build without float32 or sparse kernels runs the dense ones (selective.h).
  if constexpr (!TypeInBuild("float32") || !TypeInBuild("sparse")) return Status::Ok();
  // Sums in another order: not when float kernels must repeat the reference's operations.
  if (ctx->exact_float()) return Status::Ok();
  if (mode == SparseMode::kAuto) {
    if (ctx->sparse_kernels() == SparseKernels::kOff) return Status::Ok();
    if (ctx->sparse_kernels() == SparseKernels::kForce) mode = SparseMode::kAlways;
  }
  const SparseIsa isa = SparseKernelIsa(SparseIsaFor(ctx->cpu()));
  SparseConv d;
  d.g = g;
  if (!DecideSparseConv(g, filter, isa, mode, dense_direct, &d)) return Status::Ok();
  d.vector_lanes = VectorLanes(isa);
  int copy_of_shift[kMaxVectorLanes] = {};  // the copy that holds the input at each shift
  for (int k = 0; k < d.copies; ++k) copy_of_shift[d.shift[k]] = k;
  // Lanes per tile: at most the kernel's width, the image's vectors split evenly over the tiles
  // (141 lanes: 3 tiles of 3 vectors rather than 4 + 4 + 1).
  const int64_t vectors = CeilDiv(d.lanes, d.vector_lanes);
  const int64_t tiles = CeilDiv(vectors, TileVectors(isa));
  d.tile_lanes = static_cast<int>(CeilDiv(vectors, tiles) * d.vector_lanes);
  // Threads only for enough work: with less, moving the input copy and the output between the
  // cores' caches cost more than the split saved (the demo CNN's 13x13x32 -> 64 at 80 % zeros,
  // 0.5M lane-MACs: 2 threads made the whole model 13 % slower than 1).
  const int threads = std::max(1, ctx->num_threads());
  d.parallel = threads > 1 && d.stored * d.lanes * g.batch >= kMinParallelWork;
  // Output channels per tile: 64, fewer (multiples of 16) until there are two tasks per thread.
  const int64_t lane_tiles = CeilDiv(d.lanes, d.tile_lanes);
  d.tile_channels = std::min(g.out_c, 64);
  while (d.parallel && d.tile_channels > 16 &&
         lane_tiles * CeilDiv(g.out_c, d.tile_channels) < 2 * threads) {
    d.tile_channels = static_cast<int>(RoundUp(d.tile_channels / 2, 16));
  }
  // Input rows one tile reads, per channel: the tile's output rows and the filter's extent.
  const int64_t rows = CeilDiv(d.tile_lanes, d.wp) + 1 + int64_t{g.filter_h - 1} * g.dilation_h;
  const int64_t per_channel =
      std::min<int64_t>(rows, d.hp) * d.wp * d.copies * int64_t{sizeof(float)};
  d.chunk_channels = static_cast<int>(
      std::clamp<int64_t>(kChunkBytes / std::max<int64_t>(per_channel, 1), 1, g.in_c));
  d.chunks = static_cast<int>(CeilDiv(g.in_c, d.chunk_channels));
  d.copy_floats = RoundUp(int64_t{g.in_c} * d.hp * d.wp + d.tile_lanes, d.vector_lanes);
  const int64_t input_floats = d.copy_floats * d.copies;
  // Offsets are int32: the padded input (and every lane read from it) must stay below 2^31.
  if (input_floats + d.lanes >= (int64_t{1} << 31)) return Status::Ok();
  void* p = ctx->AllocatePersistent(sizeof(SparseConv));
  EDGEOPT_ENSURE(p != nullptr, StatusCode::kOutOfMemory, "out of memory");
  SparseConv* op = new (p) SparseConv(d);
  int32_t *row_ptr = nullptr, *off = nullptr;
  float* values = nullptr;
  EDGEOPT_RETURN_IF_ERROR(
      AllocatePersistentArray(ctx, int64_t{op->chunks} * g.out_c + 1, &row_ptr));
  EDGEOPT_RETURN_IF_ERROR(AllocatePersistentArray(ctx, op->stored, &off));
  EDGEOPT_RETURN_IF_ERROR(AllocatePersistentArray(ctx, op->stored, &values));
  const int64_t plane = int64_t{op->hp} * op->wp;
  int32_t j = 0;
  row_ptr[0] = 0;
  for (int k = 0; k < op->chunks; ++k) {
    const int c0 = k * op->chunk_channels;
    const int c1 = std::min(g.in_c, c0 + op->chunk_channels);
    for (int n = 0; n < g.out_c; ++n) {
      // Channel-major tap order, so that consecutive taps read neighbouring memory.
      for (int c = c0; c < c1; ++c) {
        for (int ky = 0; ky < g.filter_h; ++ky) {
          for (int kx = 0; kx < g.filter_w; ++kx) {
            const float w = filter[((int64_t{n} * g.filter_h + ky) * g.filter_w + kx) * g.in_c + c];
            if (w == 0.0f) continue;
            const int64_t o =
                c * plane + int64_t{ky} * g.dilation_h * op->wp + int64_t{kx} * g.dilation_w;
            // Aligned layout: read from the copy shifted by o's misalignment (that of kx).
            const int s = op->aligned ? static_cast<int>(o % op->vector_lanes) : 0;
            off[j] = static_cast<int32_t>(copy_of_shift[s] * op->copy_floats + o - s);
            values[j] = w;
            ++j;
          }
        }
      }
      row_ptr[int64_t{k} * g.out_c + n + 1] = j;
    }
  }
  op->taps.row_ptr = row_ptr;
  op->taps.off = off;
  op->taps.values = values;
  op->fn = KernelFor(isa);
  op->to_planes = f32_pixels_to_planes__scalar;
  op->to_pixels = f32_tile_to_pixels__scalar;
#if defined(EDGEOPT_HAVE_AVX512)
  if (isa == SparseIsa::kAvx512) {
    op->to_planes = f32_pixels_to_planes__avx512;
    op->to_pixels = f32_tile_to_pixels__avx512;
  }
#endif
#if defined(EDGEOPT_HAVE_AVX2)
  if (isa == SparseIsa::kAvx2) {
    op->to_planes = f32_pixels_to_planes__avx2;
    op->to_pixels = f32_tile_to_pixels__avx2;
  }
#endif
#if defined(EDGEOPT_HAVE_NEON)
  if (isa == SparseIsa::kNeon) {
    op->to_planes = f32_pixels_to_planes__neon;
    op->to_pixels = f32_tile_to_pixels__neon;
  }
#endif
  op->bias = bias;
  op->act_min = act_min;
  op->act_max = act_max;
  EDGEOPT_RETURN_IF_ERROR(RequestScratchArray<float>(ctx, input_floats, &op->s_input));
  EDGEOPT_RETURN_IF_ERROR(RequestScratchArray<float>(
      ctx, int64_t{op->parallel ? threads : 1} * op->tile_channels * op->tile_lanes, &op->s_tiles));
  *out = op;
  return Status::Ok();
}

void FuseSparseConvAdd(uk::F32VBinaryFn add_fn, float lo, float hi, SparseConv* op) {
  op->residual_add = add_fn;
  op->residual_clamp.min = lo;
  op->residual_clamp.max = hi;
}

void EvalSparseConv(Context* ctx, const SparseConv& op, const float* input, float* output,
                    const float* residual) {
  const ref::ConvGeometry& g = op.g;
  float* x = static_cast<float*>(ctx->GetScratch(op.s_input));
  float* tiles = static_cast<float*>(ctx->GetScratch(op.s_tiles));
  const int lane_tiles = static_cast<int>(CeilDiv(op.lanes, op.tile_lanes));
  const int channel_tiles = static_cast<int>(CeilDiv(g.out_c, op.tile_channels));
  const int64_t tile_size = int64_t{op.tile_channels} * op.tile_lanes;
  for (int b = 0; b < g.batch; ++b) {
    const float* in = input + int64_t{b} * g.in_h * g.in_w * g.in_c;
    float* out = output + int64_t{b} * g.out_pixels() * g.out_c;
    const float* res =
        residual != nullptr ? residual + int64_t{b} * g.out_pixels() * g.out_c : nullptr;
    ToPaddedChannelMajor(op, in, x);
    auto run_task = [&](int task, int thread) {
      const int64_t m0 = int64_t{task / channel_tiles} * op.tile_lanes;
      const int n0 = task % channel_tiles * op.tile_channels;
      const int n1 = std::min(g.out_c, n0 + op.tile_channels);
      const int count = static_cast<int>(std::min<int64_t>(op.tile_lanes, op.lanes - m0));
      const int lanes = static_cast<int>(RoundUp(count, op.vector_lanes));
      float* tile = tiles + thread * tile_size;
      constexpr float kInf = std::numeric_limits<float>::infinity();
      for (int k = 0; k < op.chunks; ++k) {
        SparseConvTaps taps = op.taps;
        taps.row_ptr += int64_t{k} * g.out_c;
        const bool last = k + 1 == op.chunks;  // the activation clamp once, at the end
        op.fn(lanes, x + m0, taps, op.bias, n0, n1, last ? op.act_min : -kInf,
              last ? op.act_max : kInf, tile, op.tile_lanes, k > 0);
      }
      StoreTile(op, tile, op.tile_lanes, m0, count, n0, n1, out, res);
    };
    const int tasks = lane_tiles * channel_tiles;
    if (op.parallel) {
      ctx->thread_pool()->ParallelFor(tasks, [&](int task, int thread) { run_task(task, thread); });
    } else {
      for (int task = 0; task < tasks; ++task) run_task(task, 0);
    }
  }
}

}  // namespace rt
}  // namespace edgeopt
