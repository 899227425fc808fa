#include "src/runtime/kernels/sparse_matmul.h"

#include <algorithm>
#include <climits>
#include <cstring>
#include <new>

#include "src/runtime/cpu_info.h"
#include "src/runtime/kernels/conv_common.h"
#include "src/runtime/kernels/im2col.h"
#include "src/runtime/selective.h"
#include "src/runtime/thread_pool.h"

namespace edgeopt {
namespace rt {
namespace {

// Break-even block densities: the sparse kernel of each width beat the dense kernel (same
// run, same weights) up to these densities in bench/sparse_matmul_bench.cc on an AVX-512
// machine (Xeon, Sapphire Rapids; see the bench's header for the table). Index: block width
// 1, 4, 16. The scalar values (CPUs without AVX2: Arm until it has sparse NEON kernels) were
// measured with `sparse_matmul_bench --isa scalar` on that machine, against dense kernels as
// the compiler vectorizes them for baseline x86-64: the one-row int8 kernel is the portable
// reference and loses to the dense kernel above ~5% density, so it is practically never
// chosen; Arm's NEON dense kernels will move these further down. Re-measure when the dense
// kernels change (the benchmark prints the crossover).
struct Thresholds {
  double f32_rowwise[3];
  double f32_tiled[3];
  double s8_rowwise[3];
  double s8_tiled;  // density of the tiled form's groups (quads on AVX-512 VNNI, else pairs)
};

// Measured with bench/sparse_matmul_bench (--matmul: 256 x 512 weights, 1 and 64 rows; 1 and 2
// threads) against the dense IGEMM microkernels (AVX-512 VNNI int8 GEMMs run ~10x faster than
// the float ones, so int8 weights must be very sparse before skipping zeros pays; float rows of
// one are memory-bound and gain early). Re-measured 2026-11-26 after the tiled float kernels
// got four FMA chains, register-transposed panels and threads: faster up to 0.30 / 0.40 / 0.40
// (1x1 / 1x4 / 1x16 blocks) on AVX-512 and 0.40 on AVX2 (after its dense float GEMM went from
// half to 97 % of the FMA peak the same day; against the slow one it had been 0.70-0.90); one row:
// AVX2 1x1 blocks (gathers) only at 5 %, int8 1x4 on AVX2 and 1x16 on AVX-512 never (1.2x and 1.4x
// slower at 5 %), AVX-512 float 1x16 up to 0.40. The tiled int8 pair kernel was 3.3x slower than
// the dense kernel even at 5 % density, so it is never chosen on AVX-512 (the quad kernel is:
// SparseS8QuadMaxDensity).
constexpr Thresholds kAvx512 = {{0.05, 0.25, 0.45}, {0.25, 0.30, 0.35}, {0.0, 0.0, 0.0}, 0.0};
constexpr Thresholds kAvx2 = {{0.05, 0.40, 0.55}, {0.35, 0.40, 0.40}, {0.0, 0.0, 0.20}, 0.10};
// AVX2 + AVX-VNNI: AVX2's, but the dense int8 GEMM (vpdpbusd) beat the tiled pair kernel 2.5x
// even at 5 % density (sparse_matmul_bench --matmul --isa avxvnni); one-row 1x16 blocks still
// pay up to 0.20.
constexpr Thresholds WithoutTiledS8(Thresholds t) {
  t.s8_tiled = 0.0;
  return t;
}
constexpr Thresholds kAvxVnni = WithoutTiledS8(kAvx2);
constexpr Thresholds kScalar = {{0.20, 0.40, 0.40}, {0.25, 0.30, 0.30}, {0.05, 0.05, 0.05}, 0.30};
// NEON (float; int8 weights run the portable kernels, so the scalar int8 values, less the
// tiled form's, which NEON's dense int8 kernels beat by far more than x86's portable ones).
// Not measured on Arm hardware: derived from llvm-mca 14 (-mcpu=cortex-a72 / cortex-a53 /
// cortex-a55) on the compiled loops. Cores with one 128-bit load per cycle make these kernels
// load-bound, the dense ones FMA-bound. The tiled loop (panels of 16 rows on aarch64) takes,
// per vector FMA, 1.51 cycles with 1x1 blocks and 1.25 with 1x4 on an A72 (the dense GEMM 1.0:
// break-evens ~0.66 and ~0.8 before packing), 4.0 / 3.2 on an A53 (dense 2.8: ~0.7 / ~0.9) and
// 3.9 on an A55 (dense 1.8: ~0.47); with panels of 8 rows (armv7) the A72 needed 2.3 cycles
// (1x1). The one-row loops need 9 loads per 4 stored weights (1x1; ~0.11 against a GEMV from
// L1, more from L2), 3 per 1x4 block (~0.33), 9 per 1x16 block (~0.44). Each value is at or
// below its estimate on every core and, but for one-row 1x1 blocks (AVX2 gathers them, NEON
// loads lanes), at or below AVX2's measured one (the same load / FMA balance as a Cortex-A76).
constexpr Thresholds kNeon = {{0.10, 0.30, 0.40}, {0.30, 0.35, 0.35}, {0.05, 0.05, 0.05}, 0.05};

const Thresholds& ThresholdsFor(SparseIsa isa) {
  switch (isa) {
    case SparseIsa::kAvx512:
      return kAvx512;
    case SparseIsa::kAvx2:
      return kAvx2;
    case SparseIsa::kAvxVnni:
      return kAvxVnni;
    case SparseIsa::kNeon:
      return kNeon;
    default:
      return kScalar;
  }
}

int BlockIndex(int block) { return block == 1 ? 0 : (block == 4 ? 1 : 2); }

// Aligned 1xB blocks of the rows with a nonzero value (the last one of a row may be partial:
// the pairs and quads of rows of odd length).
template <typename T>
int64_t CountBlocks(const T* w, int N, int K, int B) {
  int64_t count = 0;
  for (int n = 0; n < N; ++n) {
    const T* row = w + static_cast<int64_t>(n) * K;
    for (int k = 0; k < K; k += B) {
      for (int i = k; i < std::min(K, k + B); ++i) {
        if (row[i] != T(0)) {
          ++count;
          break;
        }
      }
    }
  }
  return count;
}

template <typename T>
Status BuildBlockCsr(Context* ctx, const T* w, int N, int K, int B, int64_t blocks,
                     ref::BlockCsr<T>* out) {
  int32_t *row_ptr = nullptr, *col = nullptr;
  T* values = nullptr;
  EDGEOPT_RETURN_IF_ERROR(AllocatePersistentArray(ctx, int64_t{N} + 1, &row_ptr));
  EDGEOPT_RETURN_IF_ERROR(AllocatePersistentArray(ctx, blocks, &col));
  EDGEOPT_RETURN_IF_ERROR(AllocatePersistentArray(ctx, blocks * B, &values));
  int32_t j = 0;
  row_ptr[0] = 0;
  for (int n = 0; n < N; ++n) {
    const T* row = w + static_cast<int64_t>(n) * K;
    for (int k = 0; k < K; k += B) {
      bool any = false;
      for (int i = 0; i < B; ++i) any |= row[k + i] != T(0);
      if (!any) continue;
      col[j] = k;
      std::memcpy(values + static_cast<int64_t>(j) * B, row + k, sizeof(T) * B);
      ++j;
    }
    row_ptr[n + 1] = j;
  }
  out->rows = N;
  out->cols = K;
  out->block = B;
  out->row_ptr = row_ptr;
  out->col = col;
  out->values = values;
  return Status::Ok();
}

Status BuildQuads(Context* ctx, const int8_t* w, int N, int K, int64_t quads, PackedQuads* out) {
  int32_t *row_ptr = nullptr, *k_index = nullptr, *word = nullptr, *row_sum = nullptr;
  EDGEOPT_RETURN_IF_ERROR(AllocatePersistentArray(ctx, int64_t{N} + 1, &row_ptr));
  EDGEOPT_RETURN_IF_ERROR(AllocatePersistentArray(ctx, std::max<int64_t>(quads, 1), &k_index));
  EDGEOPT_RETURN_IF_ERROR(AllocatePersistentArray(ctx, std::max<int64_t>(quads, 1), &word));
  EDGEOPT_RETURN_IF_ERROR(AllocatePersistentArray(ctx, int64_t{N}, &row_sum));
  int32_t j = 0;
  row_ptr[0] = 0;
  for (int n = 0; n < N; ++n) {
    const int8_t* row = w + static_cast<int64_t>(n) * K;
    int32_t sum = 0;
    for (int k = 0; k < K; k += 4) {
      uint32_t bytes = 0;
      for (int i = k; i < std::min(K, k + 4); ++i) {
        bytes |= static_cast<uint32_t>(static_cast<uint8_t>(row[i])) << (8 * (i - k));
        sum += row[i];
      }
      if (bytes == 0) continue;
      k_index[j] = k / 4;
      word[j] = static_cast<int32_t>(bytes);
      ++j;
    }
    row_ptr[n + 1] = j;
    row_sum[n] = sum;
  }
  out->rows = N;
  out->cols = K;
  out->row_ptr = row_ptr;
  out->k = k_index;
  out->word = word;
  out->row_sum = row_sum;
  return Status::Ok();
}

Status BuildPairs(Context* ctx, const int8_t* w, int N, int K, int64_t pairs, PackedPairs* out) {
  int32_t *row_ptr = nullptr, *k_index = nullptr, *word = nullptr;
  EDGEOPT_RETURN_IF_ERROR(AllocatePersistentArray(ctx, int64_t{N} + 1, &row_ptr));
  EDGEOPT_RETURN_IF_ERROR(AllocatePersistentArray(ctx, pairs, &k_index));
  EDGEOPT_RETURN_IF_ERROR(AllocatePersistentArray(ctx, pairs, &word));
  int32_t j = 0;
  row_ptr[0] = 0;
  for (int n = 0; n < N; ++n) {
    const int8_t* row = w + static_cast<int64_t>(n) * K;
    for (int k = 0; k < K; k += 2) {
      const int8_t w0 = row[k];
      const int8_t w1 = k + 1 < K ? row[k + 1] : 0;
      if (w0 == 0 && w1 == 0) continue;
      k_index[j] = k / 2;
      word[j] =
          static_cast<int32_t>(static_cast<uint32_t>(static_cast<uint16_t>(int16_t{w0})) |
                               (static_cast<uint32_t>(static_cast<uint16_t>(int16_t{w1})) << 16));
      ++j;
    }
    row_ptr[n + 1] = j;
  }
  out->rows = N;
  out->cols = K;
  out->row_ptr = row_ptr;
  out->k = k_index;
  out->word = word;
  return Status::Ok();
}

Status NewOp(Context* ctx, SparseMatMul** out) {
  void* p = ctx->AllocatePersistent(sizeof(SparseMatMul));
  EDGEOPT_ENSURE(p != nullptr, StatusCode::kOutOfMemory, "out of memory");
  *out = new (p) SparseMatMul();
  return Status::Ok();
}

// The block width with the most margin under its threshold (kAuto: none qualifies -> 0).
template <typename T>
void ChooseBlock(const T* w, int N, int K, const double* thresholds, const SparseOptions& o,
                 SparseDecision* d) {
  double best_ratio = 0.0;
  const double total = static_cast<double>(N) * K;
  for (int B : {16, 4, 1}) {
    if (K % B != 0) continue;
    if (o.mode == SparseMode::kAlways && o.block != 0 && o.block != B) continue;
    const int64_t nb = CountBlocks(w, N, K, B);
    const double density = static_cast<double>(nb) * B / total;
    const double ratio = density / thresholds[BlockIndex(B)];
    if (d->block == 0 || ratio < best_ratio) {
      d->block = B;
      d->blocks = nb;
      d->density = density;
      best_ratio = ratio;
    }
  }
  d->use = d->block != 0 && (o.mode == SparseMode::kAlways || best_ratio < 1.0);
}

// The context's setting over the caller's default.
SparseOptions WithContext(Context* ctx, SparseOptions o) {
  if (o.mode == SparseMode::kAuto) {
    const SparseKernels k = ctx->sparse_kernels();
    if (k == SparseKernels::kOff) o.mode = SparseMode::kNever;
    if (k == SparseKernels::kForce) o.mode = SparseMode::kAlways;
  }
  return o;
}

}  // namespace

SparseIsa SparseIsaFor(const CpuInfo& cpu) {
  if (cpu.UseAvx512()) return SparseIsa::kAvx512;
  if (cpu.UseAvxVnni()) return SparseIsa::kAvxVnni;
  if (cpu.UseAvx2()) return SparseIsa::kAvx2;
#if defined(EDGEOPT_HAVE_NEON)
  if (cpu.UseNeon()) return SparseIsa::kNeon;
#endif
  return SparseIsa::kScalar;
}

int SparseTileRows(SparseIsa isa) {
#if defined(__aarch64__)
  if (isa == SparseIsa::kNeon) return 16;  // f32_spmm_minmax_ukernel__neon's panels
#endif
  return isa == SparseIsa::kAvx512 ? 16 : 8;
}

double SparseMaxDensity(DType type, SparsePath path, int block, SparseIsa isa) {
  const Thresholds& t = ThresholdsFor(isa);
  if (type == DType::kInt8) {
    return path == SparsePath::kTiled ? t.s8_tiled : t.s8_rowwise[BlockIndex(block)];
  }
  return path == SparsePath::kTiled ? t.f32_tiled[BlockIndex(block)]
                                    : t.f32_rowwise[BlockIndex(block)];
}

namespace {

// Whether the weights have at least `density` nonzero values: then so has every block form
// (a block counts when any of its values is nonzero), and no block count is needed. One pass
// the compiler vectorizes, where counting blocks branches per block (dense MobileNet-v2: 2.5
// ms of its init).
template <typename T>
bool AtLeastAsDense(const T* w, int64_t n, double density) {
  if (density <= 0.0) return true;
  int64_t nonzero = 0;
  for (int64_t i = 0; i < n; ++i) nonzero += w[i] != T(0) ? 1 : 0;
  return static_cast<double>(nonzero) / static_cast<double>(n) >= density;
}

double MaxOf(const double (&t)[3]) { return std::max(t[0], std::max(t[1], t[2])); }

}  // namespace

SparseDecision DecideSparse(DType type, const void* weights, int M, int N, int K, SparseIsa isa,
                            const SparseOptions& options) {
  SparseDecision d;
  if (options.mode == SparseMode::kNever || M <= 0 || N <= 0 || K <= 0) return d;
  if (type != DType::kFloat32 && type != DType::kInt8) return d;
  d.path = M >= SparseTileRows(isa) ? SparsePath::kTiled : SparsePath::kRowwise;
  const Thresholds& t = ThresholdsFor(isa);
  const int64_t count = int64_t{N} * K;
  const bool automatic = options.mode != SparseMode::kAlways;
  if (type == DType::kFloat32) {
    if (automatic &&
        AtLeastAsDense(static_cast<const float*>(weights), count,
                       MaxOf(d.path == SparsePath::kTiled ? t.f32_tiled : t.f32_rowwise))) {
      return d;
    }
    ChooseBlock(static_cast<const float*>(weights), N, K,
                d.path == SparsePath::kTiled ? t.f32_tiled : t.f32_rowwise, options, &d);
  } else if (d.path == SparsePath::kRowwise) {
    if (automatic &&
        AtLeastAsDense(static_cast<const int8_t*>(weights), count, MaxOf(t.s8_rowwise))) {
      return d;
    }
    ChooseBlock(static_cast<const int8_t*>(weights), N, K, t.s8_rowwise, options, &d);
  } else {
    const bool quads = options.block == 4 || (options.block != 2 && isa == SparseIsa::kAvx512);
    const auto* w = static_cast<const int8_t*>(weights);
    const double max_density =
        quads && isa == SparseIsa::kAvx512 ? SparseS8QuadMaxDensity(N, K) : t.s8_tiled;
    d.block = quads ? 4 : 2;
    if (automatic && AtLeastAsDense(w, count, max_density)) return d;
    d.blocks = CountBlocks(w, N, K, d.block);
    d.density = d.block * static_cast<double>(d.blocks) / static_cast<double>(count);
    d.use = !automatic || d.density < max_density;
  }
  return d;
}

// Measured with sparse_matmul_bench (--kxk: int8 3x3 convolutions in 1x4 blocks; the 1x1
// headline) on the AVX-512 VNNI machine, 2026-11-26. The dense VNNI GEMM runs about two
// vpdpbusd per cycle; the quad kernel's own costs per output (packing the panel, the 16x16
// transposes before requantizing) weigh the more the fewer channels share them:
//   13x13x32 -> 64:   faster up to 0.20 (0.97x at 0.20)   28x28x32 -> 64: up to 0.10
//   14x14x128 -> 128: up to 0.30 (0.71x at 0.20)         7x7x256 -> 256: up to 0.30
//   1x1 784 rows, 256 -> 256: 0.74x at 0.20               28x28x1 -> 32 (K = 9): never
double SparseS8QuadMaxDensity(int N, int K) {
  if (K < 32) return 0.0;
  return N >= 128 ? 0.25 : 0.10;
}

Status PrepareSparseF32(Context* ctx, const float* weights, int M, int N, int K, const float* bias,
                        float act_min, float act_max, SparseMatMul** out,
                        const SparseOptions& options) {
  *out = nullptr;
  // A selective build without float32 or sparse kernels runs the dense ones (selective.h).
  if constexpr (!TypeInBuild("float32") || !TypeInBuild("sparse")) return Status::Ok();
  // Sums in another order: not when float kernels must repeat the reference's operations.
  if (ctx->exact_float()) return Status::Ok();
  const SparseIsa isa = SparseIsaFor(ctx->cpu());
  const SparseDecision d =
      DecideSparse(DType::kFloat32, weights, M, N, K, isa, WithContext(ctx, options));
  if (!d.use) return Status::Ok();
  SparseMatMul* op = nullptr;
  EDGEOPT_RETURN_IF_ERROR(NewOp(ctx, &op));
  op->type = DType::kFloat32;
  op->path = d.path;
  op->isa = SparseKernelIsa(isa);
  op->M = M;
  op->N = N;
  op->K = K;
  op->density = d.density;
  op->bias = bias;
  op->act_min = act_min;
  op->act_max = act_max;
  EDGEOPT_RETURN_IF_ERROR(BuildBlockCsr(ctx, weights, N, K, d.block, d.blocks, &op->wf));
  if (d.path == SparsePath::kTiled) {
    // Blocks of whole panels are tasks for the threads (about four per thread), each thread
    // with its own panel and tile.
    const int mr = SparseTileRows(isa);
    op->threads = std::max(1, ctx->num_threads());
    op->block_rows = M;
    if (op->threads > 1) {
      const int64_t per_task = (int64_t{M} + 4 * op->threads - 1) / (4 * op->threads);
      op->block_rows = static_cast<int>(std::min<int64_t>(M, (per_task + mr - 1) / mr * mr));
    }
    op->thread_scratch = (int64_t{K} + N) * mr;
    EDGEOPT_RETURN_IF_ERROR(
        RequestScratchArray<float>(ctx, op->thread_scratch * op->threads, &op->scratch));
  }
  *out = op;
  return Status::Ok();
}

namespace {

// PrepareSparseS8 and PrepareSparseS8Conv (conv: the geometry when A's rows are im2col rows).
Status PrepareS8(Context* ctx, const int8_t* weights, int M, int N, int K,
                 const ref::OutputStage& stage, const ref::ConvGeometry* conv, int8_t pad,
                 SparseMatMul** out, const SparseOptions& options) {
  *out = nullptr;
  if constexpr (!TypeInBuild("sparse")) return Status::Ok();  // the dense kernels (selective.h)
  const SparseIsa isa = SparseIsaFor(ctx->cpu());
  const SparseDecision d =
      DecideSparse(DType::kInt8, weights, M, N, K, isa, WithContext(ctx, options));
  if (!d.use) return Status::Ok();
  SparseMatMul* op = nullptr;
  EDGEOPT_RETURN_IF_ERROR(NewOp(ctx, &op));
  op->density = d.density;
  if (d.path == SparsePath::kTiled && d.block == 4) {
    constexpr int kMR = 16;  // the quad kernels' tile height
    EDGEOPT_RETURN_IF_ERROR(BuildQuads(ctx, weights, N, K, d.blocks, &op->quads));
    const int64_t tiles = std::max<int64_t>(1, (int64_t{16} << 10) / (int64_t{N} * kMR));
    op->block_rows = static_cast<int>(std::min<int64_t>(tiles * kMR, (M + kMR - 1) / kMR * kMR));
    const int64_t k4 = (int64_t{K} + 3) / 4;
    if (isa == SparseIsa::kAvx512 && stage.rounding == ref::Rounding::kRuyX86) {
      void* p = ctx->AllocatePersistent(sizeof(uk::RequantBlock16) * ((N + 15) / 16));
      EDGEOPT_ENSURE(p != nullptr, StatusCode::kOutOfMemory, "out of memory");
      auto* rq = static_cast<uk::RequantBlock16*>(p);
      uk::PackRequantBlocks(N, stage.multiplier, stage.shift, rq);
      op->rq = rq;
      op->qout.zero_point = stage.output_zero_point;
      op->qout.lo = stage.act_min - stage.output_zero_point;
      op->qout.hi = stage.act_max - stage.output_zero_point;
      // Blocks of rows are tasks for the threads (about four per thread; 32 rows at least),
      // each thread with its own 2 panels and 2 tiles.
      op->threads = std::max(1, ctx->num_threads());
      if (op->threads > 1) {
        const int64_t per_task = (int64_t{M} + 4 * op->threads - 1) / (4 * op->threads);
        op->block_rows = static_cast<int>(std::max<int64_t>(32, (per_task + 31) / 32 * 32));
      }
      op->thread_scratch = (k4 + N) * kMR * 4 * 2;
      EDGEOPT_RETURN_IF_ERROR(
          RequestScratchArray<uint8_t>(ctx, op->thread_scratch * op->threads, &op->scratch));
    } else {
      // The sums [block_rows][N], then the panel.
      const int64_t bytes = int64_t{op->block_rows} * N * 4 + k4 * kMR * 4;
      EDGEOPT_RETURN_IF_ERROR(RequestScratchArray<uint8_t>(ctx, bytes, &op->scratch));
    }
  } else if (d.path == SparsePath::kTiled) {
    const int mr = SparseTileRows(isa);
    EDGEOPT_RETURN_IF_ERROR(BuildPairs(ctx, weights, N, K, d.blocks, &op->pairs));
    // Rows per call: a multiple of the tile height, with their int32 sums near 64 KB.
    const int64_t tiles = std::max<int64_t>(1, (int64_t{16} << 10) / (int64_t{N} * mr));
    op->block_rows = static_cast<int>(std::min<int64_t>(tiles * mr, (M + mr - 1) / mr * mr));
    const int64_t k2 = (int64_t{K} + 1) / 2;
    const int64_t bytes = k2 * mr * 2 * 2 + int64_t{N} * mr * 4 + int64_t{op->block_rows} * N * 4;
    EDGEOPT_RETURN_IF_ERROR(RequestScratchArray<uint8_t>(ctx, bytes, &op->scratch));
  } else {
    EDGEOPT_RETURN_IF_ERROR(BuildBlockCsr(ctx, weights, N, K, d.block, d.blocks, &op->wq));
    op->block_rows = M;
    EDGEOPT_RETURN_IF_ERROR(RequestScratchArray<int32_t>(ctx, int64_t{M} * N, &op->scratch));
  }
  if (conv != nullptr) {
    op->im2col = true;
    op->geo = *conv;
    op->pad = pad;
    EDGEOPT_RETURN_IF_ERROR(
        RequestScratchArray<int8_t>(ctx, int64_t{op->block_rows} * K * op->threads, &op->col));
  }
  if (op->rq != nullptr) {
    op->seg_len = K;
    if (conv != nullptr && conv->dilation_w == 1 &&
        (int64_t{conv->filter_w} * conv->in_c) % 4 == 0) {
      op->segs = conv->filter_h;
      op->seg_len = conv->filter_w * conv->in_c;
      int8_t* pad_row = nullptr;
      EDGEOPT_RETURN_IF_ERROR(AllocatePersistentArray(ctx, op->seg_len, &pad_row));
      std::memset(pad_row, static_cast<uint8_t>(pad), static_cast<size_t>(op->seg_len));
      op->pad_row = pad_row;
    }
    EDGEOPT_RETURN_IF_ERROR(RequestScratchArray<const int8_t*>(
        ctx, int64_t{op->block_rows} * op->segs * op->threads, &op->rows));
  }
  op->type = DType::kInt8;
  op->path = d.path;
  op->isa = SparseKernelIsa(isa);
  op->M = M;
  op->N = N;
  op->K = K;
  op->stage = stage;
  *out = op;
  return Status::Ok();
}

}  // namespace

Status PrepareSparseS8(Context* ctx, const int8_t* weights, int M, int N, int K,
                       const ref::OutputStage& stage, SparseMatMul** out,
                       const SparseOptions& options) {
  return PrepareS8(ctx, weights, M, N, K, stage, nullptr, 0, out, options);
}

Status PrepareSparseS8Conv(Context* ctx, const ref::ConvGeometry& g, const int8_t* weights,
                           int8_t pad, const ref::OutputStage& stage, SparseMatMul** out,
                           const SparseOptions& options) {
  *out = nullptr;
  const int64_t M = int64_t{g.batch} * g.out_pixels();
  if (g.groups != 1 || M > INT32_MAX || g.K() > INT32_MAX) return Status::Ok();
  return PrepareS8(ctx, weights, static_cast<int>(M), g.out_c, static_cast<int>(g.K()), stage, &g,
                   pad, out, options);
}

namespace {

void EvalF32(Context* ctx, const SparseMatMul& op, const float* A, float* C) {
  const int64_t lda = op.K, ldc = op.N;
  if (op.path == SparsePath::kRowwise) {
    switch (op.isa) {
#if defined(EDGEOPT_HAVE_AVX512)
      case SparseIsa::kAvx512:
        return f32_spmv_minmax_ukernel__avx512(op.M, A, lda, op.wf, op.bias, op.act_min, op.act_max,
                                               C, ldc);
#endif
#if defined(EDGEOPT_HAVE_AVX2)
      case SparseIsa::kAvx2:
        return f32_spmv_minmax_ukernel__avx2(op.M, A, lda, op.wf, op.bias, op.act_min, op.act_max,
                                             C, ldc);
#endif
#if defined(EDGEOPT_HAVE_NEON)
      case SparseIsa::kNeon:
        return f32_spmv_minmax_ukernel__neon(op.M, A, lda, op.wf, op.bias, op.act_min, op.act_max,
                                             C, ldc);
#endif
      default:
        return ref::SparseGemmF32(op.M, A, lda, op.wf, op.bias, op.act_min, op.act_max, C, ldc);
    }
  }
  float* scratch_all = static_cast<float*>(ctx->GetScratch(op.scratch));
  SpmmF32Fn spmm = f32_spmm_minmax_ukernel_8__scalar;
  switch (op.isa) {
#if defined(EDGEOPT_HAVE_AVX512)
    case SparseIsa::kAvx512:
      spmm = f32_spmm_minmax_ukernel_16__avx512;
      break;
#endif
#if defined(EDGEOPT_HAVE_AVX2)
    case SparseIsa::kAvx2:
      spmm = f32_spmm_minmax_ukernel_8__avx2;
      break;
#endif
#if defined(EDGEOPT_HAVE_NEON)
    case SparseIsa::kNeon:
      spmm = f32_spmm_minmax_ukernel__neon;
      break;
#endif
    default:
      break;
  }
  auto run = [&](int task, int thread) {
    const int m0 = task * op.block_rows;
    spmm(std::min(op.block_rows, op.M - m0), A + m0 * lda, lda, op.wf, op.bias, op.act_min,
         op.act_max, C + m0 * ldc, ldc, scratch_all + thread * op.thread_scratch);
  };
  const int tasks = (op.M + op.block_rows - 1) / op.block_rows;
  if (tasks > 1 && ctx->thread_pool() != nullptr) {
    ctx->thread_pool()->ParallelFor(tasks, [&](int task, int thread) { run(task, thread); });
  } else {
    for (int task = 0; task < tasks; ++task) run(task, 0);
  }
}

void SumsS8(const SparseMatMul& op, int rows, const int8_t* A, int32_t* acc, void* panel) {
  const int64_t lda = op.K, ldc = op.N;
  if (op.path == SparsePath::kRowwise) {
    switch (op.isa) {
#if defined(EDGEOPT_HAVE_AVX512)
      case SparseIsa::kAvx512:
        return qs8_spmv_ukernel__avx512(rows, A, lda, op.wq, acc, ldc);
#endif
#if defined(EDGEOPT_HAVE_AVX2)
      case SparseIsa::kAvx2:
        return qs8_spmv_ukernel__avx2(rows, A, lda, op.wq, acc, ldc);
#endif
      default:
        return ref::SparseDotGemmS8(rows, A, lda, op.wq, acc, ldc);
    }
  }
  switch (op.isa) {
#if defined(EDGEOPT_HAVE_AVX512)
    case SparseIsa::kAvx512:
      return qs8_spmm_ukernel_16__avx512(rows, A, lda, op.pairs, acc, ldc, panel);
#endif
#if defined(EDGEOPT_HAVE_AVX2)
    case SparseIsa::kAvx2:
      return qs8_spmm_ukernel_8__avx2(rows, A, lda, op.pairs, acc, ldc, panel);
#endif
    default:
      return qs8_spmm_ukernel_8__scalar(rows, A, lda, op.pairs, acc, ldc, panel);
  }
}

// The quad kernels' sums of `rows` rows: per tile of 16 rows, [N][16] (sparse_ukernels.h).
void QuadSumsS8(const SparseMatMul& op, int rows, const int8_t* A, int32_t* acc, void* panel) {
#if defined(EDGEOPT_HAVE_AVX512)
  if (op.isa == SparseIsa::kAvx512) {
    return qs8_spmm_quads_ukernel_16__avx512vnni(rows, A, op.K, op.quads, acc, panel);
  }
#endif
  qs8_spmm_quads_ukernel_16__scalar(rows, A, op.K, op.quads, acc, panel);
}

#if defined(EDGEOPT_HAVE_AVX512)
// The filter-row segments of the windows of output rows [m0, m0 + rows) (op.segs > 1):
// ptrs[r * segs + fy] points into the input image, at op.pad_row for a filter row above or
// below it, or into the window's im2col row in `col` when the left or right edge cuts it.
void WindowRows(const SparseMatMul& op, const int8_t* input, int m0, int rows, int8_t* col,
                const int8_t** ptrs) {
  const ref::ConvGeometry& g = op.geo;
  const int64_t pixels = g.out_pixels();
  // The output position of row m0, then one step per row (divisions cost more than the rest).
  int64_t b = m0 / pixels;
  int oy = static_cast<int>(m0 % pixels / g.out_w), ox = static_cast<int>(m0 % pixels % g.out_w);
  for (int r = 0; r < rows; ++r) {
    const int ix0 = ox * g.stride_w - g.pad_left;
    const int8_t** row = ptrs + static_cast<int64_t>(r) * op.segs;
    if (ix0 < 0 || ix0 + g.filter_w > g.in_w) {
      const int64_t m = int64_t{m0} + r;
      int8_t* window = col + static_cast<int64_t>(r) * op.K;
      Im2colRows<int8_t, false>(g, input, window, op.K, op.pad, m, m + 1);
      for (int fy = 0; fy < g.filter_h; ++fy) row[fy] = window + int64_t{fy} * op.seg_len;
    } else {
      const int8_t* image = input + (b * g.in_h * g.in_w + ix0) * int64_t{g.in_c};
      const int64_t row_bytes = int64_t{g.in_w} * g.in_c;
      for (int fy = 0; fy < g.filter_h; ++fy) {
        const int iy = oy * g.stride_h - g.pad_top + fy * g.dilation_h;
        row[fy] = iy < 0 || iy >= g.in_h ? op.pad_row : image + iy * row_bytes;
      }
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

// The requantizing quad kernel over blocks of rows, the blocks split over the threads.
void EvalS8Quads(Context* ctx, const SparseMatMul& op, const int8_t* A, int8_t* C) {
  auto* scratch = static_cast<uint8_t*>(ctx->GetScratch(op.scratch));
  auto** rows_all = static_cast<const int8_t**>(ctx->GetScratch(op.rows));
  int8_t* col_all = op.im2col ? static_cast<int8_t*>(ctx->GetScratch(op.col)) : nullptr;
  auto run = [&](int task, int thread) {
    const int m0 = task * op.block_rows;
    const int rows = std::min(op.block_rows, op.M - m0);
    const int8_t** ptrs = rows_all + static_cast<int64_t>(thread) * op.block_rows * op.segs;
    int8_t* col =
        op.im2col ? col_all + static_cast<int64_t>(thread) * op.block_rows * op.K : nullptr;
    const int8_t* a = A + static_cast<int64_t>(m0) * op.K;
    if (op.segs > 1) {
      WindowRows(op, A, m0, rows, col, ptrs);
    } else {
      if (op.im2col) {
        Im2colRows<int8_t, false>(op.geo, A, col, op.K, op.pad, m0, m0 + rows);
        a = col;
      }
      for (int r = 0; r < rows; ++r) ptrs[r] = a + static_cast<int64_t>(r) * op.K;
    }
    qs8_spmm_quads_requant_ukernel_16__avx512vnni(
        rows, ptrs, op.segs, op.seg_len, op.quads, op.bias_term, op.rq, op.qout,
        C + static_cast<int64_t>(m0) * op.N, op.N, scratch + thread * op.thread_scratch);
  };
  const int tasks = (op.M + op.block_rows - 1) / op.block_rows;
  if (op.threads > 1 && ctx->thread_pool() != nullptr) {
    ctx->thread_pool()->ParallelFor(tasks, [&](int task, int thread) { run(task, thread); });
  } else {
    for (int task = 0; task < tasks; ++task) run(task, 0);
  }
}
#endif

void EvalS8(Context* ctx, const SparseMatMul& op, const int8_t* A, int8_t* C) {
#if defined(EDGEOPT_HAVE_AVX512)
  if (op.rq != nullptr) return EvalS8Quads(ctx, op, A, C);
#endif
  uint8_t* scratch = static_cast<uint8_t*>(ctx->GetScratch(op.scratch));
  int32_t* acc = reinterpret_cast<int32_t*>(scratch);
  void* panel = nullptr;
  if (op.path == SparsePath::kTiled) {
    // Layout: int32 sums [block_rows][N], then the kernel's panel and column buffer.
    panel = scratch + static_cast<size_t>(op.block_rows) * op.N * 4;
  }
  const bool quads = op.quads.row_ptr != nullptr;
  int8_t* col = op.im2col ? static_cast<int8_t*>(ctx->GetScratch(op.col)) : nullptr;
  for (int m0 = 0; m0 < op.M; m0 += op.block_rows) {
    const int rows = std::min(op.block_rows, op.M - m0);
    const int8_t* a = A + static_cast<int64_t>(m0) * op.K;
    if (op.im2col) {
      Im2colRows<int8_t, false>(op.geo, A, col, op.K, op.pad, m0, m0 + rows);
      a = col;
    }
    auto output = [&](int r, int n, int32_t sum) {
      const int64_t total = static_cast<int64_t>(static_cast<uint64_t>(int64_t{sum}) +
                                                 static_cast<uint64_t>(op.bias_term[n]));
      C[static_cast<int64_t>(m0 + r) * op.N + n] =
          ref::RequantizeToOutput<int8_t>(total, n, op.stage);
    };
    if (quads) {
      QuadSumsS8(op, rows, a, acc, panel);
      for (int r = 0; r < rows; ++r) {
        const int32_t* tile = acc + static_cast<int64_t>(r / 16) * op.N * 16 + r % 16;
        for (int n = 0; n < op.N; ++n) output(r, n, tile[static_cast<int64_t>(n) * 16]);
      }
      continue;
    }
    SumsS8(op, rows, a, acc, panel);
    for (int r = 0; r < rows; ++r) {
      const int32_t* sums = acc + static_cast<int64_t>(r) * op.N;
      for (int n = 0; n < op.N; ++n) output(r, n, sums[n]);
    }
  }
}

}  // namespace

void EvalSparse(Context* ctx, const SparseMatMul& op, const void* A, void* C) {
  if constexpr (!TypeInBuild("sparse")) return;  // never prepared
  if (op.type == DType::kFloat32) {
    if constexpr (TypeInBuild("float32")) {
      EvalF32(ctx, op, static_cast<const float*>(A), static_cast<float*>(C));
    }
  } else {
    EvalS8(ctx, op, static_cast<const int8_t*>(A), static_cast<int8_t*>(C));
  }
}

}  // namespace rt
}  // namespace edgeopt
