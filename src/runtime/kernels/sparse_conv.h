// Sparse KxK CONV_2D, float32, stride 1: the kernel for pruned (unstructured) filters, where the
// dense IGEMM kernel would multiply every zero.
//
// The input is copied channel-major with its padding, x[c][Hp][Wp] (Hp = out_h + (KH - 1) dh,
// Wp = out_w + (KW - 1) dw). The output is computed on the padded grid: output lane
// m = oy * Wp + ox, and tap (c, ky, kx) of every lane reads x at the tap's offset
// c * Hp * Wp + ky * dh * Wp + kx * dw plus m. So each stored weight is one broadcast FMA over
// consecutive lanes, loaded straight from the input, with no im2col and no gathers; the Wp - out_w
// lanes per row past the output's width are computed and dropped. When it costs less than loads
// across cache lines, Wp is rounded up to whole vectors and the input is copied once per
// misalignment kx * dw modulo the vector width (at most 3), shifted by it, so that every load is
// aligned.
// Tiles of lanes x output channels are then written back channel-last (NHWC). The input channels
// are summed in chunks whose input rows under a tile fit in L1 (each output channel re-reads them).
//
// The decision: the kernel's work is (stored taps) x (lanes), the dense kernel's is
// (all taps) x (output pixels); the sparse kernel is chosen when their ratio is under the
// break-even measured in bench/sparse_matmul_bench.cc (kMaxWorkRatio* in sparse_conv.cc).
#ifndef EDGEOPT_SRC_RUNTIME_KERNELS_SPARSE_CONV_H_
#define EDGEOPT_SRC_RUNTIME_KERNELS_SPARSE_CONV_H_

#include <cstdint>

#include "include/edgeopt/status.h"
#include "src/runtime/kernel_api.h"
#include "src/runtime/kernels/reference/conv.h"
#include "src/runtime/kernels/sparse_matmul.h"
#include "src/runtime/kernels/ukernels/sparse_ukernels.h"
#include "src/runtime/kernels/ukernels/ukernels.h"

namespace edgeopt {
namespace rt {

struct SparseConv {
  ::edgeopt::ref::ConvGeometry g;
  int hp = 0, wp = 0;     // the padded input plane
  int64_t lanes = 0;      // (out_h - 1) * wp + out_w: output lanes per image
  int tile_lanes = 0;     // lanes per tile (whole vectors, at most the microkernel's width)
  int vector_lanes = 0;   // lanes per vector; tiles are whole vectors
  int tile_channels = 0;  // output channels per tile
  // Input channels are taken in chunks whose rows under one tile stay in L1; chunk k's taps of
  // output channel n are row k * out_c + n of the tap lists.
  int chunk_channels = 0;
  int chunks = 0;
  bool parallel = false;  // tiles split over the threads
  // Copies of the padded input, each copy_floats long; copy k is shifted left by shift[k]
  // floats (aligned layout: every tap then loads whole aligned vectors).
  bool aligned = false;
  int copies = 1;
  int shift[16] = {};
  int64_t copy_floats = 0;
  int64_t stored = 0;       // stored taps
  double density = 0.0;     // stored taps / all taps
  double work_ratio = 0.0;  // the sparse kernel's work over the dense kernel's
  SparseConvTaps taps;
  SpconvF32Fn fn = nullptr;
  PixelsToPlanesFn to_planes = nullptr;
  TileToPixelsFn to_pixels = nullptr;
  const float* bias = nullptr;
  float act_min = 0.0f, act_max = 0.0f;
  // A float ADD fused into the output (FuseSparseConvAdd): each pixel's channels of a finished
  // tile become min(max(y + residual, lo), hi), through the ADD's own microkernel.
  uk::F32VBinaryFn residual_add = nullptr;
  uk::F32MinMaxParams residual_clamp;
  int s_input = -1;  // the padded channel-major input (+ one vector of slack)
  int s_tiles = -1;  // one tile per thread
};

// True when the geometry is one this kernel runs (stride 1, one group, not 1x1 pointwise).
bool SparseConvApplies(const ::edgeopt::ref::ConvGeometry& g);

// The decision for float32 filter [out_c][KH][KW][in_c] (exposed for the benchmark and tests):
// fills the layout (hp, wp, lanes, aligned, copies, shift), stored, density and work_ratio;
// returns whether the sparse kernel is used.
// dense_direct: the dense kernel would be the direct 3x3 one (few output channels), which
// is faster than the IGEMM one there and so has its own break-even.
bool DecideSparseConv(const ::edgeopt::ref::ConvGeometry& g, const float* filter, SparseIsa isa,
                      SparseMode mode, bool dense_direct, SparseConv* out);
// The measured break-even work ratio for an ISA, against the IGEMM or the direct dense kernel
// (which depends on the output channels).
double SparseConvMaxWorkRatio(SparseIsa isa, bool dense_direct, int out_c);

// *out = nullptr: use the dense kernel. The filter and bias must be constant.
Status PrepareSparseConvF32(Context* ctx, const ::edgeopt::ref::ConvGeometry& g,
                            const float* filter, const float* bias, float act_min, float act_max,
                            bool dense_direct, SparseConv** out,
                            SparseMode mode = SparseMode::kAuto);

// Takes a following float ADD (Registration::fuse_add) into the output stage: add_fn from
// F32FusedAddFn, [lo, hi] the ADD's activation range.
void FuseSparseConvAdd(uk::F32VBinaryFn add_fn, float lo, float hi, SparseConv* op);

// residual: the fused ADD's other operand (same shape as the output), or null.
void EvalSparseConv(Context* ctx, const SparseConv& op, const float* input, float* output,
                    const float* residual = nullptr);

}  // namespace rt
}  // namespace edgeopt

#endif  // EDGEOPT_SRC_RUNTIME_KERNELS_SPARSE_CONV_H_
