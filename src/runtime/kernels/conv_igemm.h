// Convolution as an implicit GEMM over packed weights (XNNPACK's IGEMM operator), shared by
// CONV_2D and FULLY_CONNECTED (a 1x1 convolution over rows):
//   rows    M = batch * out_h * out_w output pixels; for each row and filter tap the kernel
//           reads one input pixel's channels through a pointer (a zero-point pixel for padding)
//   columns the output channels, in blocks of the config's NR
// Three flavours: qs8 (int8/uint8 in and out, ruy rounding), qd8 (hybrid: float input
// quantized per batch item at run time, int8 weights, float output) and f32.
//
// Prepare packs the weights once (persistent) and requests scratch; Run splits the work into
// tiles of rows x channel blocks over the thread pool. Nothing is allocated in Run.
#ifndef EDGEOPT_SRC_RUNTIME_KERNELS_CONV_IGEMM_H_
#define EDGEOPT_SRC_RUNTIME_KERNELS_CONV_IGEMM_H_

#include <cstddef>
#include <cstdint>

#include "include/edgeopt/status.h"
#include "src/runtime/kernel_api.h"
#include "src/runtime/kernels/reference/conv.h"
#include "src/runtime/kernels/ukernels/configs.h"

namespace edgeopt {
namespace rt {

enum class IGemmKind : uint8_t { kQS8, kQD8, kF32 };

// Convolutions of fewer MACs run on the calling thread: splitting them costs more than it saves.
constexpr int64_t kMinParallelConvMacs = 64 * 1024;

// Quantized weights and output stage of a qs8 convolution.
struct QS8ConvParams {
  const uint8_t* filter = nullptr;  // [out_c][taps][in_c] int8 (or uint8)
  bool uint8 = false;               // uint8 activations and weights
  int32_t input_zero_point = 0;
  int32_t filter_zero_point = 0;
  const int32_t* bias = nullptr;
  const int32_t* multiplier = nullptr;  // per output channel
  const int32_t* shift = nullptr;
  int32_t output_zero_point = 0;
  int32_t act_min = 0, act_max = 0;
  // May use window rows (IGemmConv::window_rows) where they apply; false leaves the tap-per-pixel
  // or im2col path (for benchmarks that compare the two).
  bool window_rows = true;
};

// Hybrid: int8 weights with per-channel (or one) scales; the float input is quantized per batch
// item, asymmetrically or symmetrically.
struct QD8ConvParams {
  const int8_t* filter = nullptr;
  const float* filter_scales = nullptr;
  bool per_channel = false;
  bool asymmetric = false;
  const float* bias = nullptr;
  float act_min = 0.0f, act_max = 0.0f;
  // As QS8ConvParams::window_rows: each quantized batch item is expanded into window rows
  // where they apply; false for benchmarks.
  bool window_rows = true;
};

struct IGemmConv {
  IGemmKind kind = IGemmKind::kF32;
  ref::ConvGeometry g;
  const uk::QS8GemmConfig* qcfg = nullptr;
  const uk::F32GemmConfig* fcfg = nullptr;
  int nr = 0, mr = 0;  // mr: rows per kernel call (1 for a single-row GEMV)
  int kc = 0, kcp = 0, taps = 0;
  int64_t rows = 0;  // M
  bool pointwise = false;
  // Few input channels and several taps: the input is unrolled into an im2col buffer (rows x K,
  // K = all taps' channels) and the GEMM runs as one tap of K; cheaper than a pointer per tap.
  bool im2col = false;
  int s_im2col = -1;
  // Window rows: few input channels (the first convolution of an image model) run one GEMM tap
  // per filter row of kc = filter_w * in_c values instead of one per filter pixel. `ig` is the
  // geometry the indirection sees: a filter_h x 1 filter over pixels of whole filter rows.
  //  - qs8 and qd8 (filter row of at most 16 bytes): each input row (qd8: of the quantized batch
  //    item) is expanded once into window rows, the kc values each output column reads padded to
  //    kcp, in the copy scratch: an image of out_w pixels of kc channels. filter_h times less
  //    copying than im2col, no K padding per filter pixel as with a tap per pixel.
  //  - f32 (1-2 channels, in place of im2col): a float filter row needs no padding of K, so the
  //    taps point straight into the input rows, or into a copy of them with zero columns on
  //    each side (`padded_w` pixels wide) when the convolution pads left or right.
  bool window_rows = false;
  int padded_w = 0;  // f32: 0 reads the input itself
  ref::ConvGeometry ig;
  // qs8 / qd8 input handling
  bool copy_input = false;  // the kernels read a u-domain copy with kcp bytes per pixel
  bool input_signed = false;
  bool row_sums = false;
  int32_t zu = 0, zwp = 0;
  // packed weights
  size_t block_bytes = 0;
  int n_blocks = 0;
  const void* packed = nullptr;
  const void* zero = nullptr;      // padding pixel (qs8: kcp bytes of zu; f32: kc zeros)
  int64_t* tap_offsets = nullptr;  // per tap, elements from the window's top-left pixel
  // Small qs8/f32 convolutions with several taps (and no row sums) keep every tile's indirection
  // pointers, built on the first Run and again only if the input moves (the arena does not):
  // m_tiles * mr * taps pointers. Others build a tile's pointers before each kernel call.
  const void** ind_cache = nullptr;
  mutable const void* ind_base = nullptr;
  uk::QuantOutput out;
  float min = 0.0f, max = 0.0f;
  bool exact = false;  // f32: the bit-exact kernels (Context::exact_float)
  // f32 3x3 stride-1 convolutions with few output channels run the direct kernel instead
  // (conv_direct.h): the input rows pass through a per-thread ring of zero-padded rows.
  const uk::F32Conv3x3Config* direct = nullptr;
  int direct_width = 0;  // pixels per buffered row
  int s_direct = -1;     // scratch: per thread, 4 rows (3 ring slots and a zero row)
  bool has_bias = false;
  // f32 convolutions to at most 4 channels whose rows are kc contiguous values (pointwise, or
  // im2col) run this kernel on their tiles instead (ukernels.h, F32PwFewArgs); not with
  // exact_float().
  uk::F32PwFewFn pw_few = nullptr;
  const float* pw_bias = nullptr;  // pw_few's bias (`packed` is its filter)
  // f32: a float ADD fused into the output stage (Registration::fuse_add): each finished tile
  // becomes min(max(tile + residual, lo), hi), while it is in cache.
  uk::F32VBinaryFn residual_add = nullptr;
  uk::F32MinMaxParams residual_clamp;
  // qs8: an int8/uint8 ADD fused the same way: its own microkernel runs on each finished tile
  // (the tile and the residual as its operands, in the ADD's order).
  uk::QS8VAddFn residual_q = nullptr;
  const uk::QS8VAddParams* residual_q_params = nullptr;
  bool residual_q_first = false;  // the residual is the ADD's first operand
  // f32: the products of a TRANSPOSE_CONV whose filter is its stride, with no padding
  // (ScatterF32TransposeConv): rows are its input pixels, columns its (fy, fx, oc) taps, and each
  // column block goes straight to its output pixels. Tiles stay within an input row.
  int scatter_w = 0;        // input pixels per row (0: a plain convolution)
  int scatter_fh = 0;       // output rows per input row (the filter height)
  int scatter_cols = 0;     // columns per filter row: filter_w * oc, a multiple of nr
  int64_t scatter_row = 0;  // values per output row
  // qd8
  QD8ConvParams qd8;
  int32_t* weight_sums = nullptr;
  // scratch indices
  int s_copy = -1, s_pixsum = -1, s_thread = -1, s_qd8 = -1;
  size_t thread_bytes = 0;
  // work split
  int m_tiles = 0, tiles_per_task = 1, blocks_per_task = 1, tasks = 1;
};

// True when microkernels cover this case (groups == 1, a config for the CPU; with
// exact_float(), a float GEMM of more than one row and column, the shapes whose reference
// summation order the exact kernels repeat). Otherwise the op runs its reference kernel.
bool IGemmSupported(const Context* ctx, IGemmKind kind, const ref::ConvGeometry& g);

Status PrepareQS8IGemm(Context* ctx, const ref::ConvGeometry& g, const QS8ConvParams& p,
                       IGemmConv* op);
Status PrepareQD8IGemm(Context* ctx, const ref::ConvGeometry& g, const QD8ConvParams& p,
                       IGemmConv* op);
// `window_rows`: may take one tap per filter row (IGemmConv::window_rows); false for benchmarks.
// `config_n`: the column count that picks the GEMM kernel (its tile width), if not out_c.
Status PrepareF32IGemm(Context* ctx, const ref::ConvGeometry& g, const float* filter,
                       const float* bias, float act_min, float act_max, IGemmConv* op,
                       bool window_rows = true, int config_n = 0);

// The kernel a prepared convolution runs, for profiles: "direct 3x3", "pointwise few channels",
// "igemm", "igemm im2col" or "igemm window rows".
const char* IGemmKernelName(const IGemmConv& op);

// Makes a prepared f32 1x1 convolution over the input pixels of a TRANSPOSE_CONV with filter ==
// stride and no padding (batch * in_h rows of in_w pixels; filter_h * filter_w * oc columns in
// (fy, fx, oc) order, the bias repeated per tap) write each product, with its bias and clamp,
// straight to its output pixel (IGemmConv::scatter_w): no products buffer. False when it cannot
// (the few-channel kernel, or column blocks that would straddle two filter rows).
bool ScatterF32TransposeConv(Context* ctx, int in_w, int filter_h, int64_t out_row, IGemmConv* op);

// Makes a prepared f32 convolution add `residual` (a tensor of the output's shape, passed to
// RunIGemmConv) and clamp to [lo, hi] in its output stage; false when it cannot.
bool FuseF32ResidualAdd(const Context* ctx, float lo, float hi, IGemmConv* op);
// What a fused float ADD runs on each finished tile: the ADD's own vbinary microkernel, or on
// CPUs without one the reference ADD's arithmetic and clamp (so the bits are the ADD's).
uk::F32VBinaryFn F32FusedAddFn(const Context* ctx);

// Makes a prepared qs8 (int8 or uint8) convolution run the ADD's prepared microkernel
// (FusedAdd::quant_fn, Registration::quant_add) on its output and the residual in its output
// stage; false when it cannot.
bool FuseQ8ResidualAdd(const FusedAdd& add, IGemmConv* op);

// Output values [begin, begin + n) of a convolution with a fused ADD: out = clamp(out + residual).
inline void AddResidual(const IGemmConv& op, const float* residual, float* output, int64_t begin,
                        int64_t n) {
  op.residual_add(static_cast<size_t>(n), output + begin, residual + begin, false, output + begin,
                  &op.residual_clamp);
}

// `residual`: the fused ADD's other input (FuseF32ResidualAdd, FuseQ8ResidualAdd), else
// nullptr.
void RunIGemmConv(Context* ctx, const IGemmConv& op, const void* input, void* output,
                  const void* residual = nullptr);

}  // namespace rt
}  // namespace edgeopt

#endif  // EDGEOPT_SRC_RUNTIME_KERNELS_CONV_IGEMM_H_
