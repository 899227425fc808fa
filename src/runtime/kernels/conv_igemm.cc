#include "src/runtime/kernels/conv_igemm.h"

#include <algorithm>
#include <cstring>

#include "src/runtime/kernels/conv_common.h"
#include "src/runtime/kernels/conv_direct.h"
#include "src/runtime/kernels/dynamic_quant.h"
#include "src/runtime/kernels/im2col.h"
#include "src/runtime/kernels/reference/requantize.h"
#include "src/runtime/kernels/ukernels/pack.h"
#include "src/runtime/selective.h"
#include "src/runtime/thread_pool.h"

namespace edgeopt {
namespace rt {
namespace {

// Tasks per thread: enough for dynamic load balance when a core is busy with something else.
constexpr int kTasksPerThread = 6;
// Convolutions with at most this many input channels (and several taps) use im2col.
// (Measured: 3 channels already run faster through the per-tap pointers than through an
// unrolled copy.)
constexpr int kIm2colMaxChannels = 2;
constexpr int64_t kIm2colMaxBytes = int64_t{8} << 20;
// qs8 convolutions whose window row (filter_w * in_c values) is at most this long expand their
// input rows into window rows (IGemmConv::window_rows). Measured against the paths they replace
// (bench/conv_bench.cc, AVX-512): 0.37x-0.54x of im2col's time for 1-2 channels, 0.54x-0.86x of
// a tap per pixel for 3 channels, 0.71x for 5.
constexpr int kRowExpandMaxK = 16;
// f32 convolutions with 1-2 channels whose filter row is at most this many values take one tap
// per filter row (IGemmConv::window_rows) instead of im2col: 0.35x-0.63x of its time on first
// layers (bench/conv_bench.cc, AVX-512, exact and fast float).
constexpr int kF32RowTapsMaxK = 64;
// Rows per call of the few-channel pointwise kernel (IGemmConv::pw_few).
constexpr int kPwFewTileRows = 256;

// Largest indirection cache (IGemmConv::ind_cache) kept per convolution.
constexpr size_t kMaxIndirectionCacheBytes = 256 * 1024;

int32_t Wrap(int64_t x) { return static_cast<int32_t>(static_cast<uint32_t>(x)); }

size_t AlignUp64(size_t x) { return (x + 63) & ~size_t{63}; }

// Rows handled per Run group: qd8 quantizes each batch item separately.
int64_t RowsPerGroup(const IGemmConv& op) {
  return op.kind == IGemmKind::kQD8 ? op.g.out_pixels() : op.rows;
}

void PlanTasks(Context* ctx, IGemmConv* op) {
  const int64_t group_rows = RowsPerGroup(*op);
  op->m_tiles = op->scatter_w > 0 ? static_cast<int>(group_rows / op->scatter_w) *
                                        uk::DivideRoundUp(op->scatter_w, op->mr)
                                  : static_cast<int>((group_rows + op->mr - 1) / op->mr);
  const int threads = ctx->num_threads();
  op->tiles_per_task = op->m_tiles;
  op->blocks_per_task = op->n_blocks;
  const int64_t macs = group_rows * op->g.out_c * op->g.K();
  if (threads > 1 && macs >= kMinParallelConvMacs) {
    const int target = threads * kTasksPerThread;
    if (op->m_tiles >= target) {
      op->tiles_per_task = uk::DivideRoundUp(op->m_tiles, target);
    } else {
      op->tiles_per_task = 1;
      const int n_split = std::min(op->n_blocks, uk::DivideRoundUp(target, op->m_tiles));
      op->blocks_per_task = uk::DivideRoundUp(op->n_blocks, n_split);
    }
  }
  op->tasks = uk::DivideRoundUp(op->m_tiles, op->tiles_per_task) *
              uk::DivideRoundUp(op->n_blocks, op->blocks_per_task);
}

Status RequestCommonScratch(Context* ctx, IGemmConv* op, size_t pointer_bytes) {
  op->thread_bytes =
      AlignUp64(static_cast<size_t>(op->mr) * op->taps * pointer_bytes) + AlignUp64(op->mr * 4);
  return ctx->RequestScratch(op->thread_bytes * std::max(1, ctx->num_threads()), &op->s_thread);
}

// Pointers of rows [m0, m0 + mr) (padded to op.mr with the last row) for every tap, row-major
// (a[i * taps + t]), and, when pixsum is given, the row terms -zwp * sum over taps of the
// pixels' u sums. Windows inside the image take the fast path: corner + op.tap_offsets.
template <typename T>
void BuildIndirection(const IGemmConv& op, const T* input, int64_t stride, int64_t batch0,
                      int64_t m0, int mr, const T* zero, const int32_t* pixsum, const T** a,
                      int32_t* row_term) {
  const ref::ConvGeometry& g = op.ig;
  const int kmr = op.mr;
  const int taps = op.taps;
  const int64_t out_pixels = g.out_pixels();
  const int64_t in_pixels = int64_t{g.in_h} * g.in_w;
  if (op.pointwise) {
    for (int i = 0; i < kmr; ++i) {
      const int64_t m = m0 + std::min(i, mr - 1);
      a[i] = input + (m - batch0 * out_pixels) * stride;
      if (pixsum != nullptr) row_term[i] = Wrap(-int64_t{op.zwp} * pixsum[m]);
    }
    return;
  }
  const int eff_h = (g.filter_h - 1) * g.dilation_h + 1;
  const int eff_w = (g.filter_w - 1) * g.dilation_w + 1;
  // Output coordinates of row m0, then stepped row by row (no divisions per row).
  int64_t b = m0 / out_pixels;
  int oy = static_cast<int>((m0 % out_pixels) / g.out_w);
  int ox = static_cast<int>((m0 % out_pixels) % g.out_w);
  for (int i = 0; i < kmr; ++i) {
    const T** row = a + i * taps;
    if (i >= mr) {  // padding rows repeat the last row
      for (int t = 0; t < taps; ++t) row[t] = row[t - taps];
      if (pixsum != nullptr) row_term[i] = row_term[i - 1];
      continue;
    }
    const int64_t base_pixel = (b - batch0) * in_pixels;
    const int iy0 = oy * g.stride_h - g.pad_top;
    const int ix0 = ox * g.stride_w - g.pad_left;
    if (iy0 >= 0 && ix0 >= 0 && iy0 + eff_h <= g.in_h && ix0 + eff_w <= g.in_w &&
        pixsum == nullptr) {
      const T* corner = input + (base_pixel + int64_t{iy0} * g.in_w + ix0) * stride;
      for (int t = 0; t < taps; ++t) row[t] = corner + op.tap_offsets[t];
    } else {
      int64_t sum = 0;
      int t = 0;
      for (int fy = 0; fy < g.filter_h; ++fy) {
        const int iy = iy0 + fy * g.dilation_h;
        const bool row_ok = static_cast<unsigned>(iy) < static_cast<unsigned>(g.in_h);
        for (int fx = 0; fx < g.filter_w; ++fx, ++t) {
          const int ix = ix0 + fx * g.dilation_w;
          if (row_ok && static_cast<unsigned>(ix) < static_cast<unsigned>(g.in_w)) {
            const int64_t pixel = base_pixel + int64_t{iy} * g.in_w + ix;
            row[t] = input + pixel * stride;
            if (pixsum != nullptr) sum += pixsum[pixel];
          } else {
            row[t] = zero;
            sum += int64_t{op.zu} * g.in_c;
          }
        }
      }
      if (pixsum != nullptr) row_term[i] = Wrap(-int64_t{op.zwp} * sum);
    }
    if (++ox == g.out_w) {
      ox = 0;
      if (++oy == g.out_h) {
        oy = 0;
        ++b;
      }
    }
  }
}

// fn(begin, n) over the output runs of rows [m0, m0 + mr), channels [c0, c1): one run when the
// rows are whole, else one per row.
template <typename F>
void ForEachTileRun(const IGemmConv& op, int64_t m0, int mr, int64_t c0, int64_t c1, F&& fn) {
  const int64_t out_c = op.g.out_c;
  if (c0 == 0 && c1 == out_c) {
    fn(m0 * out_c, int64_t{mr} * out_c);
    return;
  }
  for (int i = 0; i < mr; ++i) fn((m0 + i) * out_c + c0, c1 - c0);
}

// A fused int8/uint8 ADD on the run [begin, begin + n): the ADD's microkernel on the output and
// the residual, in the ADD's operand order.
void AddQ8Residual(const IGemmConv& op, const uint8_t* residual, uint8_t* output, int64_t begin,
                   int64_t n) {
  uint8_t* o = output + begin;
  const uint8_t* r = residual + begin;
  if (op.residual_q_first) {
    op.residual_q(static_cast<size_t>(n), r, o, false, o, op.residual_q_params);
  } else {
    op.residual_q(static_cast<size_t>(n), o, r, false, o, op.residual_q_params);
  }
}

struct RunState {
  const IGemmConv* op;
  const void* input;  // what the kernels read (a copy for qs8/qd8 when copy_input)
  int64_t in_stride;  // elements between pixels
  const void* zero;
  const int32_t* pixsum;
  void* output;
  const float* residual;      // f32 with a fused ADD
  const uint8_t* residual_q;  // qs8 with a fused ADD
  int64_t row0;               // first row of this group
  int64_t batch0;             // batch item of `input`'s first pixel
  uint8_t* thread_scratch;
  // qd8
  const int32_t* col_term;
  const float* scale;
};

template <IGemmKind kKind>
void RunTask(const RunState& s, int task, int thread) {
  const IGemmConv& op = *s.op;
  const int n_tasks = uk::DivideRoundUp(op.n_blocks, op.blocks_per_task);
  const int tm = task / n_tasks, tn = task % n_tasks;
  const int tile_begin = tm * op.tiles_per_task;
  const int tile_end = std::min(op.m_tiles, tile_begin + op.tiles_per_task);
  const int nb_begin = tn * op.blocks_per_task;
  const int nb_end = std::min(op.n_blocks, nb_begin + op.blocks_per_task);
  const int64_t group_rows = RowsPerGroup(op);
  uint8_t* scratch = s.thread_scratch + op.thread_bytes * thread;
  using TIn = typename std::conditional<kKind == IGemmKind::kF32, float, uint8_t>::type;
  const TIn** const a_scratch = reinterpret_cast<const TIn**>(scratch);
  int32_t* row_term = reinterpret_cast<int32_t*>(
      scratch + AlignUp64(static_cast<size_t>(op.mr) * op.taps * sizeof(void*)));
  const int out_c = op.g.out_c;
  for (int tile = tile_begin; tile < tile_end; ++tile) {
    const TIn** a = a_scratch;
    int64_t m0 = s.row0 + int64_t{tile} * op.mr;
    int mr = static_cast<int>(std::min<int64_t>(op.mr, s.row0 + group_rows - m0));
    if (kKind == IGemmKind::kF32 && op.scatter_w > 0) {  // tiles within an input row
      const int per_row = uk::DivideRoundUp(op.scatter_w, op.mr);
      const int x0 = tile % per_row * op.mr;
      m0 = int64_t{tile / per_row} * op.scatter_w + x0;
      mr = std::min(op.mr, op.scatter_w - x0);
    }
    if (op.ind_cache != nullptr) {
      a = reinterpret_cast<const TIn**>(op.ind_cache) + int64_t{tile} * op.mr * op.taps;
    } else if (kKind == IGemmKind::kF32 && op.pw_few != nullptr) {
      a[0] = static_cast<const TIn*>(s.input) + (m0 - s.batch0 * op.g.out_pixels()) * s.in_stride;
    } else {
      BuildIndirection<TIn>(op, static_cast<const TIn*>(s.input), s.in_stride, s.batch0, m0, mr,
                            static_cast<const TIn*>(s.zero), s.pixsum, a, row_term);
    }
    for (int nb = nb_begin; nb < nb_end; ++nb) {
      const int n0 = nb * op.nr;
      const int nc = std::min(op.nr, out_c - n0);
      const void* w = static_cast<const uint8_t*>(op.packed) + op.block_bytes * nb;
      if (kKind == IGemmKind::kQS8) {
        uk::QS8IGemmArgs args{mr,
                              nc,
                              op.kcp,
                              op.taps,
                              reinterpret_cast<const uint8_t* const*>(a),
                              w,
                              static_cast<int8_t*>(s.output) + m0 * out_c + n0,
                              out_c,
                              s.pixsum != nullptr ? row_term : nullptr,
                              &op.out};
        (op.mr == 1 ? op.qcfg->igemm_1 : op.qcfg->igemm)(args);
      } else if (kKind == IGemmKind::kQD8) {
        uk::QD8IGemmArgs args{mr,
                              nc,
                              op.kcp,
                              op.taps,
                              reinterpret_cast<const uint8_t* const*>(a),
                              w,
                              static_cast<float*>(s.output) + m0 * out_c + n0,
                              out_c,
                              s.col_term + n0,
                              s.scale + n0,
                              op.qd8.bias != nullptr ? op.qd8.bias + n0 : nullptr,
                              op.min,
                              op.max};
        (op.mr == 1 ? op.qcfg->qd8_igemm_1 : op.qcfg->qd8_igemm)(args);
      } else if (op.pw_few != nullptr) {  // rows of kc values, in_stride apart, from a[0]
        op.pw_few({static_cast<size_t>(mr), op.kc, out_c, reinterpret_cast<const float*>(a[0]),
                   static_cast<ptrdiff_t>(s.in_stride), static_cast<const float*>(op.packed),
                   op.pw_bias, static_cast<float*>(s.output) + m0 * out_c, op.min, op.max});
      } else {
        float* c = static_cast<float*>(s.output) + m0 * out_c + n0;
        ptrdiff_t c_stride = out_c;
        if (op.scatter_w > 0) {  // output row (input row) * fh + fy, pixel x * fw
          const int fy = n0 / op.scatter_cols;
          c = static_cast<float*>(s.output) +
              (m0 / op.scatter_w * op.scatter_fh + fy) * op.scatter_row +
              m0 % op.scatter_w * op.scatter_cols + (n0 - fy * op.scatter_cols);
          c_stride = op.scatter_cols;
        }
        uk::F32IGemmArgs args{mr,
                              nc,
                              op.kc,
                              op.taps,
                              reinterpret_cast<const float* const*>(a),
                              static_cast<const float*>(w),
                              c,
                              c_stride,
                              op.min,
                              op.max,
                              op.has_bias};
        (op.mr == 1 ? op.fcfg->gemv_exact
                    : (op.exact ? op.fcfg->igemm_exact : op.fcfg->igemm))(args);
      }
    }
    const int64_t c0 = int64_t{nb_begin} * op.nr;
    const int64_t c1 = std::min<int64_t>(out_c, int64_t{nb_end} * op.nr);
    if (kKind == IGemmKind::kF32 && s.residual != nullptr) {
      ForEachTileRun(op, m0, mr, c0, c1, [&](int64_t begin, int64_t n) {
        AddResidual(op, s.residual, static_cast<float*>(s.output), begin, n);
      });
    }
    if (kKind == IGemmKind::kQS8 && s.residual_q != nullptr) {
      ForEachTileRun(op, m0, mr, c0, c1, [&](int64_t begin, int64_t n) {
        AddQ8Residual(op, s.residual_q, static_cast<uint8_t*>(s.output), begin, n);
      });
    }
  }
}

// Builds op.ind_cache for the input at s.input when it does not hold that input's pointers.
template <typename TIn>
void EnsureIndirectionCache(const RunState& s) {
  const IGemmConv& op = *s.op;
  if (op.ind_cache == nullptr || op.ind_base == s.input) return;
  const TIn** cache = reinterpret_cast<const TIn**>(op.ind_cache);
  for (int tile = 0; tile < op.m_tiles; ++tile) {
    const int64_t m0 = int64_t{tile} * op.mr;
    const int mr = static_cast<int>(std::min<int64_t>(op.mr, op.rows - m0));
    BuildIndirection<TIn>(op, static_cast<const TIn*>(s.input), s.in_stride, 0, m0, mr,
                          static_cast<const TIn*>(s.zero), nullptr,
                          cache + int64_t{tile} * op.mr * op.taps, nullptr);
  }
  op.ind_base = s.input;
}

// Allocates op->ind_cache when the convolution qualifies (see IGemmConv::ind_cache).
Status PrepareIndirectionCache(Context* ctx, IGemmConv* op) {
  if (op->pointwise || op->im2col || op->row_sums || op->kind == IGemmKind::kQD8 || op->mr <= 1) {
    return Status::Ok();
  }
  const size_t bytes = static_cast<size_t>(op->m_tiles) * op->mr * op->taps * sizeof(void*);
  if (bytes > kMaxIndirectionCacheBytes) return Status::Ok();
  op->ind_cache = static_cast<const void**>(ctx->AllocatePersistent(bytes));
  EDGEOPT_ENSURE(op->ind_cache != nullptr, StatusCode::kOutOfMemory,
                 "out of memory for the convolution's indirection pointers");
  op->ind_base = nullptr;
  return Status::Ok();
}

template <IGemmKind kKind>
void RunGroup(Context* ctx, const RunState& s) {
  ctx->thread_pool()->ParallelFor(s.op->tasks,
                                  [&s](int task, int thread) { RunTask<kKind>(s, task, thread); });
}

void FinishCommon(IGemmConv* op, size_t elem) {
  op->ig = op->g;
  op->rows = int64_t{op->g.batch} * op->g.out_pixels();
  op->taps = op->g.filter_h * op->g.filter_w;
  op->kc = op->g.in_c;
  op->pointwise = op->g.IsPointwise();
  op->im2col = op->taps > 1 && op->g.in_c <= kIm2colMaxChannels &&
               op->rows * op->g.K() * static_cast<int64_t>(elem) <= kIm2colMaxBytes;
  if (op->im2col) {
    // The GEMM sees one tap of K channels per row, rows laid out one after another.
    op->kc = static_cast<int>(op->g.K());
    op->taps = 1;
    op->pointwise = true;
  }
}

// One GEMM tap per filter row of kc = filter_w * in_c values (IGemmConv::window_rows): the
// indirection sees a filter_h x 1 filter over pixels of whole filter rows, with no left padding
// (the caller sets the width, channels and column stride of that image).
void UseWindowRows(IGemmConv* op, int kc) {
  op->window_rows = true;
  op->im2col = false;
  op->kc = kc;
  op->taps = op->g.filter_h;
  op->pointwise = false;
  op->ig.filter_w = 1;
  op->ig.dilation_w = 1;
  op->ig.pad_left = 0;
}

// Switches a qs8 convolution from a tap per pixel (or im2col) to window rows when its window
// row is short: each input row is expanded into window rows, an image of out_w pixels of kc
// channels.
void ChooseRowExpansion(IGemmConv* op) {
  const ref::ConvGeometry& g = op->g;
  const int kc = g.filter_w * g.in_c;
  const int kcp = uk::RoundUp(kc, 4);
  const int64_t bytes = int64_t{g.batch} * g.in_h * g.out_w * kcp;
  // With a multiple of 4 channels a tap per pixel pads nothing; window rows then only save
  // pointer loads, and measured the same (32x32x4 -> 32: 1.02x, bench/conv_bench.cc).
  if (g.filter_w < 2 || g.in_c % 4 == 0 || kc > kRowExpandMaxK || bytes > kIm2colMaxBytes) {
    return;
  }
  UseWindowRows(op, kc);
  op->ig.in_w = g.out_w;
  op->ig.in_c = kc;
  op->ig.stride_w = 1;
  op->pointwise = op->ig.IsPointwise();
}

// Switches an f32 convolution with 1-2 channels to window rows when its filter row is short:
// the taps read the input rows themselves (or a copy padded with zero columns).
void ChooseF32RowTaps(IGemmConv* op) {
  const ref::ConvGeometry& g = op->g;
  const int kc = g.filter_w * g.in_c;
  // Columns the windows span, the convolution's padding included.
  const int span = (g.out_w - 1) * g.stride_w + g.filter_w;
  const bool pad = g.pad_left > 0 || span > g.in_w;
  const int padded_w = pad ? std::max(g.pad_left + g.in_w, span) : 0;
  const int64_t bytes = int64_t{g.batch} * g.in_h * padded_w * g.in_c * sizeof(float);
  // Only in place of im2col (1-2 channels): with 3 or more channels a tap per pixel measured
  // the same (0.95x-1.03x, bench/conv_bench.cc).
  if (!op->im2col || g.filter_w < 2 || g.dilation_w != 1 || kc > kF32RowTapsMaxK ||
      bytes > kIm2colMaxBytes) {
    return;
  }
  UseWindowRows(op, kc);
  op->padded_w = padded_w;
  op->ig.in_w = pad ? padded_w : g.in_w;
}

// Input rows [r0, r1) (over all batch items) into `out` with op.padded_w pixels per row: zeros,
// the row at column pad_left, zeros.
void PadRows(const IGemmConv& op, const float* in, float* out, int64_t r0, int64_t r1) {
  const ref::ConvGeometry& g = op.g;
  const int64_t c = g.in_c;
  const int64_t left = g.pad_left * c, row = g.in_w * c, right = op.padded_w * c - left - row;
  // Short rows (magic_wand's 3 pixels): one fill of the whole range beats two tiny fills a row.
  const bool short_rows = row <= 16;
  if (short_rows) std::fill(out + r0 * op.padded_w * c, out + r1 * op.padded_w * c, 0.0f);
  for (int64_t r = r0; r < r1; ++r) {
    float* d = out + r * op.padded_w * c;
    if (!short_rows) std::fill(d, d + left, 0.0f);
    std::memcpy(d + left, in + r * row, static_cast<size_t>(row) * sizeof(float));
    if (!short_rows) std::fill(d + left + row, d + left + row + right, 0.0f);
  }
}

int FloorDiv(int a, int b) { return a >= 0 ? a / b : -((-a + b - 1) / b); }

// n window rows of kKcp bytes from windows `step` bytes apart at `s`, each read as kKcp bytes
// (the bytes past kc are masked off by `mask`, one word per 4 bytes), xored with `flip` (int8
// to the u domain). 4-byte words: 32-bit Arm turns wider unaligned copies into vldr, which
// faults on addresses that are not word-aligned.
static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__,
              "the window masks keep a word's low bytes as its first bytes in memory");
template <int kKcp>
void CopyWindows(const uint8_t* s, int64_t step, uint8_t* d, int n, uint32_t flip,
                 const uint32_t (&mask)[4]) {
  for (int i = 0; i < n; ++i, s += step, d += kKcp) {
#pragma GCC unroll 4
    for (int w = 0; w < kKcp / 4; ++w) {
      uint32_t v;
      std::memcpy(&v, s + 4 * w, 4);
      v = (v ^ flip) & mask[w];
      std::memcpy(d + 4 * w, &v, 4);
    }
  }
}

// Input rows [r0, r1) (row r: batch item r / in_h, row r % in_h) of the `in_rows` rows at `in`
// expanded into window rows at `out` (op.kcp bytes per output column; see IGemmConv::window_rows):
// the kc values of the filter row at each output column in the u domain, `pad` (zu) where it runs
// past the image, zeros after kc.
void ExpandRows(const IGemmConv& op, const uint8_t* in, int64_t in_rows, uint8_t* out, int64_t r0,
                int64_t r1, uint8_t pad) {
  const ref::ConvGeometry& g = op.g;
  const int in_w = g.in_w, in_c = g.in_c, fw = g.filter_w, sw = g.stride_w, dw = g.dilation_w;
  const int out_w = g.out_w, pad_left = g.pad_left, kc = op.kc, kcp = op.kcp;
  const uint8_t flip = op.input_signed ? 0x80 : 0;
  const uint32_t flip32 = op.input_signed ? 0x80808080u : 0;
  const int64_t in_row = int64_t{in_w} * in_c;
  // Columns [lo, hi) read a window inside the row: it is copied as kcp bytes, masked to kc.
  // Reading kcp bytes runs at most 3 bytes into the next row, so the last row stops earlier.
  int lo = out_w, hi = out_w, hi_last = out_w;
  if (dw == 1) {
    lo = std::min(out_w, (pad_left + sw - 1) / sw);
    // (in_w - fw + pad_left can be negative: SAME padding of a row narrower than the filter.)
    hi = std::clamp(FloorDiv(in_w - fw + pad_left, sw) + 1, lo, out_w);
    hi_last = std::clamp(static_cast<int>((in_row - kcp) / in_c + pad_left) / sw + 1, lo, hi);
    if (in_row < kcp) hi_last = lo;
  }
  uint32_t mask[4];
  for (int w = 0; w < 4; ++w) {
    const int bytes = std::clamp(kc - 4 * w, 0, 4);
    mask[w] = bytes == 4 ? ~uint32_t{0} : ((uint32_t{1} << (8 * bytes)) - 1);
  }
  const uint32_t zeros = 0;
  for (int64_t r = r0; r < r1; ++r) {
    const uint8_t* src = in + r * in_row;
    uint8_t* row_out = out + r * out_w * kcp;
    const int fast_end = r + 1 == in_rows ? hi_last : hi;
    if (fast_end > lo) {
      const uint8_t* s = src + (int64_t{lo} * sw - pad_left) * in_c;
      const int64_t step = int64_t{sw} * in_c;
      uint8_t* d = row_out + int64_t{lo} * kcp;
      const int n = fast_end - lo;
      switch (kcp) {
        case 4:
          CopyWindows<4>(s, step, d, n, flip32, mask);
          break;
        case 8:
          CopyWindows<8>(s, step, d, n, flip32, mask);
          break;
        case 12:
          CopyWindows<12>(s, step, d, n, flip32, mask);
          break;
        default:
          CopyWindows<16>(s, step, d, n, flip32, mask);
          break;
      }
    }
    for (int ox = 0; ox < out_w; ++ox) {
      if (ox == lo && fast_end > lo) ox = fast_end;
      if (ox >= out_w) break;
      uint8_t* dst = row_out + int64_t{ox} * kcp;
      // The bytes past kc (fewer than 4) first: the window's own bytes overwrite the rest.
      std::memcpy(dst + kcp - 4, &zeros, 4);
      const int ix0 = ox * sw - pad_left;
      for (int fx = 0; fx < fw; ++fx) {
        const int ix = ix0 + fx * dw;
        uint8_t* d = dst + fx * in_c;
        if (static_cast<unsigned>(ix) < static_cast<unsigned>(in_w)) {
          for (int c = 0; c < in_c; ++c) d[c] = src[int64_t{ix} * in_c + c] ^ flip;
        } else {
          for (int c = 0; c < in_c; ++c) d[c] = pad;
        }
      }
    }
  }
}

// Splits [0, n) over the pool in chunks of at least 64.
template <typename F>
void ParallelChunks(ThreadPool* pool, int64_t n, F&& fn) {
  const int chunks =
      static_cast<int>(std::max<int64_t>(1, std::min<int64_t>(pool->num_threads() * 2, n / 64)));
  pool->ParallelFor(chunks,
                    [&](int chunk, int) { fn(n * chunk / chunks, n * (chunk + 1) / chunks); });
}

// Offsets (in elements) of each tap's pixel from the window's top-left pixel, for inputs read
// with `stride` elements per pixel.
Status ComputeTapOffsets(Context* ctx, int64_t stride, IGemmConv* op) {
  const ref::ConvGeometry& g = op->ig;
  if (op->im2col) return Status::Ok();  // one tap of K per row: no window offsets
  EDGEOPT_RETURN_IF_ERROR(AllocatePersistentArray(ctx, op->taps, &op->tap_offsets));
  for (int fy = 0, t = 0; fy < g.filter_h; ++fy) {
    for (int fx = 0; fx < g.filter_w; ++fx, ++t) {
      op->tap_offsets[t] =
          (int64_t{fy} * g.dilation_h * g.in_w + int64_t{fx} * g.dilation_w) * stride;
    }
  }
  return Status::Ok();
}

// Copies (and for int8, xors) input pixels [p0, p1) into the u-domain copy with kcp bytes each.
void CopyInputRange(const IGemmConv& op, const uint8_t* in, uint8_t* copy, int64_t p0, int64_t p1) {
  const int in_c = op.g.in_c;
  if (op.kcp == in_c) {
    const size_t n = static_cast<size_t>(p1 - p0) * in_c;
    if (op.input_signed) {
      op.qcfg->xor_copy(reinterpret_cast<const int8_t*>(in) + p0 * in_c, copy + p0 * in_c, n);
    } else {
      std::memcpy(copy + p0 * in_c, in + p0 * in_c, n);
    }
    return;
  }
  const uint8_t flip = op.input_signed ? 0x80 : 0;
  for (int64_t p = p0; p < p1; ++p) {
    uint8_t* dst = copy + p * op.kcp;
    const uint8_t* src = in + p * in_c;
    if (in_c >= 64) {
      if (op.input_signed) {
        op.qcfg->xor_copy(reinterpret_cast<const int8_t*>(src), dst, in_c);
      } else {
        std::memcpy(dst, src, in_c);
      }
    } else {
      for (int c = 0; c < in_c; ++c) dst[c] = src[c] ^ flip;
    }
    for (int c = in_c; c < op.kcp; ++c) dst[c] = 0;
  }
}

}  // namespace

bool IGemmSupported(const Context* ctx, IGemmKind kind, const ref::ConvGeometry& g) {
  if (g.groups != 1) return false;
  if (kind == IGemmKind::kF32) {
    if constexpr (!TypeInBuild("float32")) return false;
    // One row: the exact GEMV kernel. One column (several rows): the reference's GEMV
    // order per row, which only the reference repeats.
    if (ctx->exact_float() && g.out_c == 1 && int64_t{g.batch} * g.out_pixels() > 1) {
      return false;
    }
    return uk::GetF32GemmConfig(ctx->cpu(), g.out_c) != nullptr;
  }
  if (kind == IGemmKind::kQD8 && !TypeInBuild("hybrid")) return false;
  return uk::GetQS8GemmConfig(ctx->cpu(), g.out_c) != nullptr;
}

Status PrepareQS8IGemm(Context* ctx, const ref::ConvGeometry& g, const QS8ConvParams& p,
                       IGemmConv* op) {
  op->kind = IGemmKind::kQS8;
  op->g = g;
  FinishCommon(op, 1);
  if (p.window_rows) ChooseRowExpansion(op);
  op->qcfg = uk::GetQS8GemmConfig(ctx->cpu(), g.out_c);
  op->nr = op->qcfg->nr;
  op->mr = op->rows == 1 ? 1 : op->qcfg->mr;
  op->kcp = uk::RoundUp(op->kc, 4);
  op->input_signed = !p.uint8;
  op->copy_input = !op->im2col && !op->window_rows && (op->input_signed || op->kcp != op->kc);
  op->zu = p.uint8 ? p.input_zero_point : p.input_zero_point + 128;
  op->zwp = p.uint8 ? p.filter_zero_point - 128 : p.filter_zero_point;
  op->row_sums = op->zwp != 0;
  op->out.zero_point = p.output_zero_point;
  op->out.lo = p.act_min - p.output_zero_point;
  op->out.hi = p.act_max - p.output_zero_point;
  op->n_blocks = uk::DivideRoundUp(g.out_c, op->nr);
  op->block_bytes = uk::QS8PackedBlockBytes(op->nr, op->taps, op->kcp, op->qcfg->weight_bytes);
  void* packed = ctx->AllocatePersistent(op->block_bytes * op->n_blocks);
  uint8_t* zero = static_cast<uint8_t*>(ctx->AllocatePersistent(op->kcp));
  EDGEOPT_ENSURE(packed != nullptr && zero != nullptr, StatusCode::kOutOfMemory,
                 "out of memory packing weights");
  uk::QS8PackSource src;
  src.weights = p.filter;
  src.weights_unsigned = p.uint8;
  src.bias = p.bias;
  src.zu = op->zu;
  src.zwp = op->zwp;
  src.multiplier = p.multiplier;
  src.shift = p.shift;
  src.weight_bytes = op->qcfg->weight_bytes;
  uk::PackQS8Gemm(op->nr, g.out_c, op->taps, op->kc, op->kcp, src, packed);
  std::memset(zero, op->zu, op->kcp);
  op->packed = packed;
  op->zero = zero;
  const int64_t in_pixels = int64_t{g.batch} * g.in_h * g.in_w;
  // Pixels the kernels read: input pixels, im2col rows or window rows.
  const int64_t read_pixels =
      op->im2col ? op->rows : (op->window_rows ? int64_t{g.batch} * g.in_h * g.out_w : in_pixels);
  if (op->copy_input || op->window_rows) {
    EDGEOPT_RETURN_IF_ERROR(ctx->RequestScratch(read_pixels * op->kcp + 64, &op->s_copy));
  }
  if (op->im2col) {
    EDGEOPT_RETURN_IF_ERROR(ctx->RequestScratch(op->rows * op->kcp + 64, &op->s_im2col));
  }
  if (op->row_sums) {
    EDGEOPT_RETURN_IF_ERROR(RequestScratchArray<int32_t>(ctx, read_pixels, &op->s_pixsum));
  }
  EDGEOPT_RETURN_IF_ERROR(
      ComputeTapOffsets(ctx, op->copy_input || op->window_rows ? op->kcp : g.in_c, op));
  EDGEOPT_RETURN_IF_ERROR(RequestCommonScratch(ctx, op, sizeof(void*)));
  PlanTasks(ctx, op);
  return PrepareIndirectionCache(ctx, op);
}

Status PrepareQD8IGemm(Context* ctx, const ref::ConvGeometry& g, const QD8ConvParams& p,
                       IGemmConv* op) {
  op->kind = IGemmKind::kQD8;
  op->g = g;
  FinishCommon(op, 1);
  if (op->im2col) {  // not for hybrid: quantization happens per batch item on the input
    op->im2col = false;
    op->taps = g.filter_h * g.filter_w;
    op->kc = g.in_c;
    op->pointwise = g.IsPointwise();
  }
  // Window rows as for qs8: each quantized batch item is expanded into them.
  if (p.window_rows) ChooseRowExpansion(op);
  op->qd8 = p;
  op->qcfg = uk::GetQS8GemmConfig(ctx->cpu(), g.out_c);
  op->nr = op->qcfg->nr;
  op->mr = g.out_pixels() == 1 ? 1 : op->qcfg->mr;
  op->kcp = uk::RoundUp(op->kc, 4);
  op->input_signed = true;
  op->copy_input = true;
  op->min = p.act_min;
  op->max = p.act_max;
  op->n_blocks = uk::DivideRoundUp(g.out_c, op->nr);
  op->block_bytes = uk::QD8PackedBlockBytes(op->nr, op->taps, op->kcp, op->qcfg->weight_bytes);
  void* packed = ctx->AllocatePersistent(op->block_bytes * op->n_blocks);
  EDGEOPT_ENSURE(packed != nullptr, StatusCode::kOutOfMemory, "out of memory packing weights");
  uk::QS8PackSource src;
  src.weights = reinterpret_cast<const uint8_t*>(p.filter);
  src.zu = 128;  // bias' = -128 * sum w: the kernel's acc is then sum q * w
  src.weight_bytes = op->qcfg->weight_bytes;
  uk::PackQS8Gemm(op->nr, g.out_c, op->taps, op->kc, op->kcp, src, packed);
  op->packed = packed;
  EDGEOPT_RETURN_IF_ERROR(AllocatePersistentArray(ctx, g.out_c, &op->weight_sums));
  uk::WeightSums(g.out_c, int64_t{op->taps} * op->kc, reinterpret_cast<const uint8_t*>(p.filter),
                 false, op->weight_sums);
  const int64_t in_pixels = int64_t{g.in_h} * g.in_w;  // one batch item at a time
  const int64_t read_pixels = op->window_rows ? int64_t{g.in_h} * g.out_w : in_pixels;
  EDGEOPT_RETURN_IF_ERROR(ctx->RequestScratch(read_pixels * op->kcp + 64, &op->s_copy));
  // qd8 scratch: quantized input (when it cannot go straight into the copy), the padding
  // pixel, col_term and scale per output channel.
  const size_t n_padded = static_cast<size_t>(op->n_blocks) * op->nr;
  const size_t qd8_bytes =
      AlignUp64(static_cast<size_t>(in_pixels) * g.in_c) + AlignUp64(op->kcp) + n_padded * 8;
  EDGEOPT_RETURN_IF_ERROR(ctx->RequestScratch(qd8_bytes, &op->s_qd8));
  EDGEOPT_RETURN_IF_ERROR(ComputeTapOffsets(ctx, op->kcp, op));
  EDGEOPT_RETURN_IF_ERROR(RequestCommonScratch(ctx, op, sizeof(void*)));
  PlanTasks(ctx, op);
  return Status::Ok();
}

Status PrepareF32IGemm(Context* ctx, const ref::ConvGeometry& g, const float* filter,
                       const float* bias, float act_min, float act_max, IGemmConv* op,
                       bool window_rows, int config_n) {
  if (const uk::F32Conv3x3Config* direct = F32Conv3x3For(ctx, g)) {
    return PrepareF32Conv3x3(ctx, direct, g, filter, bias, act_min, act_max, op);
  }
  op->kind = IGemmKind::kF32;
  op->g = g;
  FinishCommon(op, sizeof(float));
  op->exact = ctx->exact_float();
  op->min = act_min;
  op->max = act_max;
  op->has_bias = bias != nullptr;
  if (window_rows) ChooseF32RowTaps(op);
  // At most 4 output channels from rows of kc values (a pointwise convolution, or im2col rows):
  // the few-channel kernel, on tiles of kPwFewTileRows rows (no column blocks).
  if (op->pointwise && op->taps == 1 && g.out_c <= 4 && op->rows >= 8 && !op->exact) {
    op->pw_few = uk::GetF32PwFewFn(ctx->cpu());
  }
  op->fcfg = uk::GetF32GemmConfig(ctx->cpu(), config_n > 0 ? config_n : g.out_c);
  op->nr = op->pw_few != nullptr ? g.out_c : op->fcfg->nr;
  // Exact: each single-pixel output is a GEMV in the reference, whatever the batch.
  op->mr = op->rows == 1 || (op->exact && g.out_pixels() == 1) ? 1 : op->fcfg->mr;
  if (op->pw_few != nullptr) op->mr = kPwFewTileRows;
  op->kcp = op->kc;
  op->n_blocks = uk::DivideRoundUp(g.out_c, op->nr);
  // The few-channel kernel reads the filter and the bias as they are (constant tensors, or
  // the caller's persistent copies): it packs nothing.
  op->block_bytes = op->pw_few != nullptr ? 0 : uk::F32PackedBlockBytes(op->nr, op->taps, op->kc);
  float* zero = static_cast<float*>(ctx->AllocatePersistent(sizeof(float) * op->kc));
  EDGEOPT_ENSURE(zero != nullptr, StatusCode::kOutOfMemory, "out of memory");
  std::memset(zero, 0, sizeof(float) * op->kc);
  op->zero = zero;
  if (op->pw_few != nullptr) {
    op->packed = filter;
    op->pw_bias = bias;
  } else {
    float* packed = static_cast<float*>(ctx->AllocatePersistent(op->block_bytes * op->n_blocks));
    EDGEOPT_ENSURE(packed != nullptr, StatusCode::kOutOfMemory, "out of memory packing weights");
    uk::PackF32Gemm(op->nr, g.out_c, op->taps, op->kc, filter, bias, packed);
    op->packed = packed;
  }
  if (op->im2col) {
    EDGEOPT_RETURN_IF_ERROR(
        ctx->RequestScratch(op->rows * op->kc * sizeof(float) + 64, &op->s_im2col));
  }
  if (op->padded_w > 0) {
    EDGEOPT_RETURN_IF_ERROR(ctx->RequestScratch(
        int64_t{g.batch} * g.in_h * op->padded_w * g.in_c * sizeof(float) + 64, &op->s_copy));
  }
  EDGEOPT_RETURN_IF_ERROR(ComputeTapOffsets(ctx, g.in_c, op));
  EDGEOPT_RETURN_IF_ERROR(RequestCommonScratch(ctx, op, sizeof(void*)));
  PlanTasks(ctx, op);
  return PrepareIndirectionCache(ctx, op);
}

namespace {

// The reference ADD's float arithmetic and clamp, where the CPU has no vbinary microkernel
// (Arm, scalar builds); the compiler vectorizes it.
void AddClampPortable(size_t n, const float* a, const float* b, bool b_scalar, float* out,
                      const uk::F32MinMaxParams* p) {
  const float lo = p->min, hi = p->max;
  for (size_t i = 0; i < n; ++i) out[i] = std::min(hi, std::max(lo, a[i] + b[b_scalar ? 0 : i]));
}

}  // namespace

uk::F32VBinaryFn F32FusedAddFn(const Context* ctx) {
  const uk::F32VBinaryConfig* cfg = uk::GetF32VBinaryConfig(ctx->cpu());
  return cfg != nullptr ? cfg->vadd : AddClampPortable;
}

bool ScatterF32TransposeConv(Context* ctx, int in_w, int filter_h, int64_t out_row, IGemmConv* op) {
  const int cols = op->g.out_c / filter_h;
  if (op->kind != IGemmKind::kF32 || op->direct != nullptr || op->pw_few != nullptr ||
      !op->pointwise || op->im2col || op->mr <= 1 || in_w <= 0 || op->rows % in_w != 0 ||
      cols * filter_h != op->g.out_c || cols % op->nr != 0) {
    return false;
  }
  op->scatter_w = in_w;
  op->scatter_fh = filter_h;
  op->scatter_cols = cols;
  op->scatter_row = out_row;
  PlanTasks(ctx, op);
  return true;
}

bool FuseF32ResidualAdd(const Context* ctx, float lo, float hi, IGemmConv* op) {
  if constexpr (!TypeInBuild("float32")) return false;
  if (op->kind != IGemmKind::kF32 || op->residual_add != nullptr) return false;
  op->residual_add = F32FusedAddFn(ctx);
  op->residual_clamp.min = lo;
  op->residual_clamp.max = hi;
  return true;
}

const char* IGemmKernelName(const IGemmConv& op) {
  if (op.direct != nullptr) return "direct 3x3";
  if (op.pw_few != nullptr) return "pointwise few channels";
  if (op.im2col) return "igemm im2col";
  return op.window_rows ? "igemm window rows" : "igemm";
}

bool FuseQ8ResidualAdd(const FusedAdd& add, IGemmConv* op) {
  if (op->kind != IGemmKind::kQS8 || add.quant_fn == nullptr || add.quant_params == nullptr ||
      op->residual_q != nullptr) {
    return false;
  }
  op->residual_q = add.quant_fn;
  op->residual_q_params = add.quant_params;
  op->residual_q_first = add.residual_first;
  return true;
}

// qd8: the columns' zero-point terms -zp * weight_sums[n] (wrapping: the low 32 bits of the
// product) and scales s * filter_scale[n] for a batch item quantized with zero point zp and
// scale s; no 64-bit product and no per-column branch.
static void QD8ColumnTerms(const IGemmConv& op, int32_t zp, float s, int32_t* col_term,
                           float* scale) {
  const int n = op.g.out_c;
  const uint32_t minus_zp = 0u - static_cast<uint32_t>(zp);
  for (int i = 0; i < n; ++i) {
    col_term[i] = static_cast<int32_t>(minus_zp * static_cast<uint32_t>(op.weight_sums[i]));
  }
  const float* w_scale = op.qd8.filter_scales;
  if (op.qd8.per_channel) {
    for (int i = 0; i < n; ++i) scale[i] = s * w_scale[i];
  } else {
    std::fill(scale, scale + n, s * w_scale[0]);
  }
}

void RunIGemmConv(Context* ctx, const IGemmConv& op, const void* input, void* output,
                  const void* residual) {
  const float* fused = op.residual_add != nullptr ? static_cast<const float*>(residual) : nullptr;
  if (TypeInBuild("CONV_2D", "float32") && op.direct != nullptr) {
    RunF32Conv3x3(ctx, op, static_cast<const float*>(input), static_cast<float*>(output), fused);
    return;
  }
  RunState s{};
  s.op = &op;
  s.output = output;
  s.residual = fused;
  s.residual_q = op.residual_q != nullptr ? static_cast<const uint8_t*>(residual) : nullptr;
  s.thread_scratch = static_cast<uint8_t*>(ctx->GetScratch(op.s_thread));
  ThreadPool* pool = ctx->thread_pool();
  const ref::ConvGeometry& g = op.g;
  // The kinds a selective build left out (selective.h) are never prepared; their code compiles out.
  if (op.kind == IGemmKind::kF32) {
    if constexpr (!TypeInBuild("float32")) return;
    s.input = input;
    s.in_stride = g.in_c;
    s.zero = op.zero;
    if (op.im2col) {
      float* col = static_cast<float*>(ctx->GetScratch(op.s_im2col));
      ParallelChunks(pool, op.rows, [&](int64_t r0, int64_t r1) {
        Im2colRows<float, false>(g, static_cast<const float*>(input), col + r0 * op.kc, op.kc, 0.0f,
                                 r0, r1);
      });
      s.input = col;
      s.in_stride = op.kc;
    }
    if (op.padded_w > 0) {
      float* padded = static_cast<float*>(ctx->GetScratch(op.s_copy));
      ParallelChunks(pool, int64_t{g.batch} * g.in_h, [&](int64_t r0, int64_t r1) {
        PadRows(op, static_cast<const float*>(input), padded, r0, r1);
      });
      s.input = padded;
    }
    EnsureIndirectionCache<float>(s);
    RunGroup<IGemmKind::kF32>(ctx, s);
    return;
  }
  if (op.kind == IGemmKind::kQS8) {
    const uint8_t* in = static_cast<const uint8_t*>(input);
    uint8_t* copy = static_cast<uint8_t*>(ctx->GetScratch(op.s_copy));
    int32_t* pixsum = static_cast<int32_t*>(ctx->GetScratch(op.s_pixsum));
    // What the kernels read, `stride` bytes per pixel: im2col rows, window rows, or the input
    // pixels (or their u-domain copy); with their row sums when the weights need them.
    const uint8_t* read = in;
    int64_t stride = g.in_c;
    if (op.im2col) {
      uint8_t* col = static_cast<uint8_t*>(ctx->GetScratch(op.s_im2col));
      ParallelChunks(pool, op.rows, [&](int64_t r0, int64_t r1) {
        const uint8_t pad = static_cast<uint8_t>(op.zu);
        // uint8 activations come from CONV_2D or FULLY_CONNECTED uint8 only (selective.h).
        if (op.input_signed ||
            !(TypeInBuild("CONV_2D", "uint8") || TypeInBuild("FULLY_CONNECTED", "uint8"))) {
          Im2colRows<uint8_t, true>(g, in, col + r0 * op.kcp, op.kcp, pad, r0, r1);
        } else {
          Im2colRows<uint8_t, false>(g, in, col + r0 * op.kcp, op.kcp, pad, r0, r1);
        }
        if (op.row_sums) {
          op.qcfg->row_sum(col + r0 * op.kcp, static_cast<int>(r1 - r0), op.kc, op.kcp,
                           pixsum + r0);
        }
      });
      read = col;
      stride = op.kcp;
    } else if (op.window_rows) {
      const int64_t width = g.out_w;
      const int64_t in_rows = int64_t{g.batch} * g.in_h;
      ParallelChunks(pool, in_rows, [&](int64_t r0, int64_t r1) {
        ExpandRows(op, in, in_rows, copy, r0, r1, static_cast<uint8_t>(op.zu));
        if (op.row_sums) {
          op.qcfg->row_sum(copy + r0 * width * op.kcp, static_cast<int>((r1 - r0) * width), op.kc,
                           op.kcp, pixsum + r0 * width);
        }
      });
      read = copy;
      stride = op.kcp;
    } else if (op.copy_input || op.row_sums) {
      if (op.copy_input) {
        read = copy;
        stride = op.kcp;
      }
      const int64_t in_pixels = int64_t{g.batch} * g.in_h * g.in_w;
      const int chunks = std::max(1, std::min<int>(pool->num_threads() * 2, in_pixels / 64));
      pool->ParallelFor(chunks, [&](int chunk, int) {
        const int64_t p0 = in_pixels * chunk / chunks;
        const int64_t p1 = in_pixels * (chunk + 1) / chunks;
        if (op.copy_input) CopyInputRange(op, in, copy, p0, p1);
        if (op.row_sums) {
          op.qcfg->row_sum(read + p0 * stride, static_cast<int>(p1 - p0), g.in_c, stride,
                           pixsum + p0);
        }
      });
    }
    s.input = read;
    s.in_stride = stride;
    s.zero = op.zero;
    s.pixsum = op.row_sums ? pixsum : nullptr;
    EnsureIndirectionCache<uint8_t>(s);  // (im2col keeps no cache: nothing to build)
    RunGroup<IGemmKind::kQS8>(ctx, s);
    return;
  }
  // qd8: quantize each batch item, then its rows.
  if constexpr (!TypeInBuild("hybrid")) return;
  const int64_t in_pixels = int64_t{g.in_h} * g.in_w;
  const int64_t per_batch = in_pixels * g.in_c;
  uint8_t* copy = static_cast<uint8_t*>(ctx->GetScratch(op.s_copy));
  uint8_t* qd8 = static_cast<uint8_t*>(ctx->GetScratch(op.s_qd8));
  int8_t* quantized = reinterpret_cast<int8_t*>(qd8);
  uint8_t* zero = qd8 + AlignUp64(static_cast<size_t>(per_batch));
  int32_t* col_term = reinterpret_cast<int32_t*>(zero + AlignUp64(op.kcp));
  float* scale = reinterpret_cast<float*>(col_term + static_cast<size_t>(op.n_blocks) * op.nr);
  for (int b = 0; b < g.batch; ++b) {
    const float* x = static_cast<const float*>(input) + b * per_batch;
    float s_b = 1.0f;
    int32_t zp = 0;
    const bool in_place = op.kcp == g.in_c && !op.window_rows;
    int8_t* q = in_place ? reinterpret_cast<int8_t*>(copy) : quantized;
    DynamicQuantize(uk::GetDynamicQuantConfig(ctx->cpu()), op.qd8.asymmetric, x,
                    static_cast<int>(per_batch), q, &s_b, &zp);
    if (op.window_rows) {
      ParallelChunks(pool, g.in_h, [&](int64_t r0, int64_t r1) {
        ExpandRows(op, reinterpret_cast<const uint8_t*>(q), g.in_h, copy, r0, r1,
                   static_cast<uint8_t>(zp + 128));
      });
    } else if (in_place) {
      op.qcfg->xor_copy(q, copy, static_cast<size_t>(per_batch));
    } else {
      for (int64_t p = 0; p < in_pixels; ++p) {
        op.qcfg->xor_copy(q + p * g.in_c, copy + p * op.kcp, g.in_c);
        std::memset(copy + p * op.kcp + g.in_c, 0, op.kcp - g.in_c);
      }
    }
    std::memset(zero, static_cast<uint8_t>(zp + 128), op.kcp);
    QD8ColumnTerms(op, zp, s_b, col_term, scale);
    s.input = copy;
    s.batch0 = b;
    s.in_stride = op.kcp;
    s.zero = zero;
    s.row0 = int64_t{b} * g.out_pixels();
    s.col_term = col_term;
    s.scale = scale;
    RunGroup<IGemmKind::kQD8>(ctx, s);
  }
}

}  // namespace rt
}  // namespace edgeopt
