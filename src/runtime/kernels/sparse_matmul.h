// Sparse kernels for FULLY_CONNECTED and 1x1 CONV_2D (C[M][N] = A[M][K] W[N][K]^T with
// constant weights W that have many zeros), float32 and int8.
//
// The hook: the op's Prepare calls PrepareSparseF32 / PrepareSparseS8 with the dense view of
// its weights (sparse-encoded files are decoded first) and its output stage; they measure the
// weights' structure, decide whether a sparse kernel beats the dense one, and if so build the
// compressed form in persistent memory and return it (else nullptr: the op goes on with its
// dense kernel). The op's Eval then calls EvalSparse instead of its dense code.
//
// The decision: for each block width B in {16, 4, 1} (1xB blocks along K; K must be a
// multiple of B) the block density d_B = (nonzero blocks * B) / (N * K) is compared with the
// largest density at which the sparse kernel of that width still beat the dense kernel in
// bench/sparse_matmul_bench.cc (kMaxDensity* in sparse_matmul.cc, per type, path and B). The
// width with the most margin wins; no width under its threshold means the dense kernel.
//
// Paths: few rows (M < MR, e.g. a FULLY_CONNECTED with batch 1) run one row at a time over the
// 1xB blocks (f32_spmv / qs8_spmv); many rows (1x1 convolutions, big batches) run MR rows at a
// time over a transposed input panel (f32_spmm / qs8_spmm), one broadcast multiply per stored
// weight. int8 goes over column pairs (vpmaddwd), or on AVX-512 VNNI over column quads (one
// vpdpbusd per stored 1x4 block: block-pruned weights, `prune --structure block:1x4`).
//
// KxK int8 convolutions (any stride, padding, dilation; not grouped) use the same kernels on
// their im2col rows, made block by block (PrepareSparseS8Conv). int8 results are bit-identical to
// the dense kernel (the exact int32 sums go through the same bias terms and output stage); float
// sums are taken in another order.
#ifndef EDGEOPT_SRC_RUNTIME_KERNELS_SPARSE_MATMUL_H_
#define EDGEOPT_SRC_RUNTIME_KERNELS_SPARSE_MATMUL_H_

#include <cstdint>

#include "include/edgeopt/status.h"
#include "src/runtime/kernel_api.h"
#include "src/runtime/kernels/reference/conv.h"
#include "src/runtime/kernels/reference/requantize.h"
#include "src/runtime/kernels/reference/sparse_gemm.h"
#include "src/runtime/kernels/ukernels/sparse_ukernels.h"

namespace edgeopt {
namespace rt {

// kNeon: float kernels only (int8 weights run the portable sparse kernels there). kAvxVnni:
// AVX2 with AVX-VNNI, whose dense int8 GEMM uses vpdpbusd: the AVX2 sparse kernels, its own
// int8 break-evens (SparseKernelIsa gives the kernels' ISA).
enum class SparseIsa : uint8_t { kScalar, kAvx2, kAvx512, kNeon, kAvxVnni };
enum class SparsePath : uint8_t { kRowwise, kTiled };

struct SparseMatMul {
  DType type = DType::kFloat32;
  SparsePath path = SparsePath::kRowwise;
  SparseIsa isa = SparseIsa::kScalar;
  int M = 0, N = 0, K = 0;
  double density = 0.0;  // block density of the chosen form
  ref::BlockCsr<float> wf;
  ref::BlockCsr<int8_t> wq;
  PackedPairs pairs;  // int8, tiled path over pairs
  PackedQuads quads;  // int8, tiled path over quads (quads.row_ptr != nullptr)
  // The quad kernel's own output stage (AVX-512, ruy rounding): ceil(N / 16) blocks.
  const uk::RequantBlock16* rq = nullptr;
  uk::QuantOutput qout;
  // float
  const float* bias = nullptr;
  float act_min = 0.0f, act_max = 0.0f;
  // int8
  const int64_t* bias_term = nullptr;
  ref::OutputStage stage;
  int block_rows = 0;
  int scratch = -1;  // packed panel (tiled) and int32 sums (int8)
  // int8 KxK convolution: A is the input image; each block of rows is its im2col rows (taps
  // outside the image hold `pad`, the input zero point) in scratch `col`.
  bool im2col = false;
  ref::ConvGeometry geo;
  int8_t pad = 0;
  int col = -1;
  // The requantizing quad kernel reads its rows through pointers (scratch `rows`: block_rows
  // * segs). A convolution whose window rows are contiguous (dilation_w 1) and a multiple of 4
  // bytes long reads them from the image: segs = filter_h segments of seg_len = filter_w *
  // in_c bytes, `pad_row` (seg_len bytes of the zero point) for filter rows above or below
  // the image; windows cut by the left or right edge are made by im2col.
  int rows = -1;
  // Threads of the float tiled kernel (block_rows rows per task; thread_scratch floats each)
  // and of the requantizing quad kernel (thread_scratch bytes each).
  int threads = 1;
  int64_t thread_scratch = 0;
  int segs = 1;
  int seg_len = 0;
  const int8_t* pad_row = nullptr;
};

// Forces the decision (tests and benchmarks); kAuto measures as described above.
enum class SparseMode : uint8_t { kAuto, kNever, kAlways };

struct SparseOptions {
  SparseMode mode = SparseMode::kAuto;
  // kAlways: 1, 4 or 16 (0: the best by density); int8 tiled path: 2 (pairs) or 4 (quads; 0:
  // the ISA's form, quads on AVX-512 VNNI, pairs elsewhere).
  int block = 0;
};

// What the kernel does for weights [N][K] and M rows (DecideSparse): sparse or not, the path,
// the block width (int8 tiled path: 2, column pairs, or 4, column quads) and the density of the
// stored form.
struct SparseDecision {
  bool use = false;
  SparsePath path = SparsePath::kRowwise;
  int block = 0;
  int64_t blocks = 0;  // stored blocks (pairs)
  double density = 0.0;
};
SparseDecision DecideSparse(DType type, const void* weights, int M, int N, int K, SparseIsa isa,
                            const SparseOptions& options = {});

// weights: float32 [N][K] dense (constant). bias may be null. *out = nullptr: use the dense
// kernel.
Status PrepareSparseF32(Context* ctx, const float* weights, int M, int N, int K, const float* bias,
                        float act_min, float act_max, SparseMatMul** out,
                        const SparseOptions& options = {});
// weights: int8 [N][K] dense, symmetric (zero point 0); stage as the dense kernel uses it.
// When a sparse kernel is chosen the caller sets (*out)->bias_term (acc + bias_term[n] goes
// through the output stage), so that it makes the bias terms only for a sparse kernel.
// Requires int32 sums to be exact (the caller's Int32AccumulatorSafe).
Status PrepareSparseS8(Context* ctx, const int8_t* weights, int M, int N, int K,
                       const ref::OutputStage& stage, SparseMatMul** out,
                       const SparseOptions& options = {});

// The same for an int8 convolution of geometry g (groups 1) with filter [out_c][K]: M = batch *
// out_pixels rows of K = g.K() im2col values (taps outside the image: pad, the input zero
// point). EvalSparse then takes the input image as A.
Status PrepareSparseS8Conv(Context* ctx, const ref::ConvGeometry& g, const int8_t* weights,
                           int8_t pad, const ref::OutputStage& stage, SparseMatMul** out,
                           const SparseOptions& options = {});

// A: [M][K] of the prepared type (an int8 convolution's input image), C: [M][N].
void EvalSparse(Context* ctx, const SparseMatMul& op, const void* A, void* C);

// The measured break-even block densities (exposed for the benchmark and tests).
double SparseMaxDensity(DType type, SparsePath path, int block, SparseIsa isa);
// The int8 quad kernel's break-even quad density on AVX-512 VNNI for N output channels and
// rows of K (it grows with N).
double SparseS8QuadMaxDensity(int N, int K);
// Rows from which the tiled path is used (its panel height).
int SparseTileRows(SparseIsa isa);
SparseIsa SparseIsaFor(const CpuInfo& cpu);
// The ISA whose sparse kernels run for `isa` (kAvxVnni: kAvx2).
inline SparseIsa SparseKernelIsa(SparseIsa isa) {
  return isa == SparseIsa::kAvxVnni ? SparseIsa::kAvx2 : isa;
}

}  // namespace rt
}  // namespace edgeopt

#endif  // EDGEOPT_SRC_RUNTIME_KERNELS_SPARSE_MATMUL_H_
