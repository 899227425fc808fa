// TRANSPOSE_CONV math (the gradient of CONV_2D with respect to its input): every input pixel
// scatters input[b, iy, ix, :] . filter[oc, fy, fx, :] into output[b, iy * stride_h - pad_top + fy,
// ix * stride_w - pad_left + fx, oc]; positions outside the output are dropped.
//
//   input  [batch, in_h, in_w, in_c]
//   filter [out_c, filter_h, filter_w, in_c]
//   output [batch, out_h, out_w, out_c]
//
// The products of a block of input pixels with all filter taps are one matrix product (GEMM with
// N = filter_h * filter_w * out_c, K = in_c); the scatter ("col2im") then adds them up.
#ifndef EDGEOPT_SRC_RUNTIME_KERNELS_REFERENCE_TRANSPOSE_CONV_H_
#define EDGEOPT_SRC_RUNTIME_KERNELS_REFERENCE_TRANSPOSE_CONV_H_

#include <algorithm>
#include <cstdint>

#include "src/runtime/kernels/reference/gemm.h"
#include "src/runtime/kernels/reference/requantize.h"

namespace edgeopt {
namespace ref {

struct TransposeConvGeometry {
  int batch = 0, in_h = 0, in_w = 0, in_c = 0;
  int out_h = 0, out_w = 0, out_c = 0;
  int filter_h = 0, filter_w = 0;
  int stride_h = 1, stride_w = 1;
  int pad_top = 0, pad_left = 0;

  // Columns of the per-pixel product: (fy, fx, oc).
  int64_t N() const { return int64_t{filter_h} * filter_w * out_c; }
  int64_t in_pixels() const { return int64_t{in_h} * in_w; }
};

// Reorders filter [out_c][fh][fw][in_c] into rows (fy, fx, oc) of in_c values (for DotGemm).
template <typename T>
void ReorderTransposeConvFilter(const TransposeConvGeometry& g, const T* filter, T* rows) {
  for (int o = 0; o < g.out_c; ++o) {
    for (int t = 0; t < g.filter_h * g.filter_w; ++t) {
      const T* src = filter + (int64_t{o} * g.filter_h * g.filter_w + t) * g.in_c;
      T* dst = rows + (int64_t{t} * g.out_c + o) * g.in_c;
      std::copy(src, src + g.in_c, dst);
    }
  }
}

// Float filter packed [in_c][(fy, fx, oc)] (K-major, for GemmF32).
inline void PackTransposeConvFilterF32(const TransposeConvGeometry& g, const float* filter,
                                       float* packed) {
  const int64_t N = g.N();
  for (int o = 0; o < g.out_c; ++o) {
    for (int t = 0; t < g.filter_h * g.filter_w; ++t) {
      const float* src = filter + (int64_t{o} * g.filter_h * g.filter_w + t) * g.in_c;
      for (int ic = 0; ic < g.in_c; ++ic) packed[ic * N + int64_t{t} * g.out_c + o] = src[ic];
    }
  }
}

// Adds the rows of `col` (count input pixels starting at p0, each N = (fy, fx, oc) values) into the
// accumulators `out` [out_h][out_w][out_c] of one batch item.
template <typename TCol, typename TOut>
void Col2imAdd(const TransposeConvGeometry& g, int64_t p0, int count, const TCol* col, TOut* out) {
  const int64_t N = g.N();
  for (int i = 0; i < count; ++i) {
    const int64_t p = p0 + i;
    const int iy = static_cast<int>(p / g.in_w);
    const int ix = static_cast<int>(p % g.in_w);
    for (int fy = 0; fy < g.filter_h; ++fy) {
      const int64_t oy = int64_t{iy} * g.stride_h - g.pad_top + fy;
      if (oy < 0 || oy >= g.out_h) continue;
      for (int fx = 0; fx < g.filter_w; ++fx) {
        const int64_t ox = int64_t{ix} * g.stride_w - g.pad_left + fx;
        if (ox < 0 || ox >= g.out_w) continue;
        const TCol* src = col + i * N + (int64_t{fy} * g.filter_w + fx) * g.out_c;
        TOut* dst = out + (oy * g.out_w + ox) * g.out_c;
        for (int c = 0; c < g.out_c; ++c) dst[c] += src[c];
      }
    }
  }
}

// One batch item's integer output: requantize(acc + bias) per value (wrapping int64 addition).
template <typename TAcc, typename TBias, typename TOut>
void TransposeConvOutputStage(const TransposeConvGeometry& g, const TAcc* acc, const TBias* bias,
                              const OutputStage& stage, TOut* out) {
  const int64_t pixels = int64_t{g.out_h} * g.out_w;
  for (int64_t p = 0; p < pixels; ++p) {
    for (int oc = 0; oc < g.out_c; ++oc) {
      const int64_t i = p * g.out_c + oc;
      const int64_t total =
          static_cast<int64_t>(static_cast<uint64_t>(int64_t{acc[i]}) +
                               static_cast<uint64_t>(bias != nullptr ? int64_t{bias[oc]} : 0));
      if (stage.rounding == Rounding::kDouble) {  // TFLite's int8 / uint8 stage, inlined
        const int32_t v =
            MultiplyDoubleRounding(WrapToInt32(total), stage.multiplier[oc], stage.shift[oc]);
        const int64_t with_zp = int64_t{v} + stage.output_zero_point;
        out[i] = static_cast<TOut>(
            std::min<int64_t>(stage.act_max, std::max<int64_t>(stage.act_min, with_zp)));
      } else {
        out[i] = RequantizeToOutput<TOut>(total, oc, stage);
      }
    }
  }
}

// Integer: acc = sum (x - zx)(w - zw) over the contributions + bias, then the output stage. `rows`
// from ReorderTransposeConvFilter; col_term[n] = -zx * sum_k rows[n][k] + in_c * zx * zw
// (precomputed); the -zw * sum_k x term is added per pixel. Scratch: `col` (block_rows * N), `acc`
// (out_h * out_w * out_c), `rowsums` (block_rows, when zw != 0).
template <typename TIn, typename TW, typename TAcc, typename TOut, typename TBias>
void TransposeConvQuantized(const TransposeConvGeometry& g, const TIn* input, const TW* rows,
                            int32_t filter_zero_point, const int64_t* col_term, const TBias* bias,
                            const OutputStage& stage, TOut* output, TAcc* col, TAcc* acc,
                            int64_t* rowsums, int block_rows) {
  const int64_t N = g.N();
  const int64_t out_size = int64_t{g.out_h} * g.out_w * g.out_c;
  for (int b = 0; b < g.batch; ++b) {
    const TIn* in_b = input + int64_t{b} * g.in_pixels() * g.in_c;
    std::fill(acc, acc + out_size, TAcc{0});
    for (int64_t p0 = 0; p0 < g.in_pixels(); p0 += block_rows) {
      const int count = static_cast<int>(std::min<int64_t>(block_rows, g.in_pixels() - p0));
      const TIn* x = in_b + p0 * g.in_c;
      DotGemm(count, static_cast<int>(N), g.in_c, x, g.in_c, rows, g.in_c, col, N);
      if (filter_zero_point != 0) RowSums(count, g.in_c, x, g.in_c, rowsums);
      for (int i = 0; i < count; ++i) {
        const int64_t row_term =
            filter_zero_point != 0 ? -int64_t{filter_zero_point} * rowsums[i] : 0;
        TAcc* c = col + i * N;
        for (int64_t n = 0; n < N; ++n) {
          c[n] = static_cast<TAcc>(int64_t{c[n]} + col_term[n] + row_term);
        }
      }
      Col2imAdd(g, p0, count, col, acc);
    }
    TransposeConvOutputStage(g, acc, bias, stage, output + b * out_size);
  }
}

}  // namespace ref
}  // namespace edgeopt

#endif  // EDGEOPT_SRC_RUNTIME_KERNELS_REFERENCE_TRANSPOSE_CONV_H_
