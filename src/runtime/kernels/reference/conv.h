// CONV_2D math (NHWC input, OHWI filter, NHWC output): im2col into scratch, then the GEMM routines
// of gemm.h, then the output stage. Supports strides, dilation, explicit top/left padding
// (bottom/right padding is implied by the output size) and grouped convolution.
//
//   input  [batch, in_h, in_w, in_c]
//   filter [out_c, filter_h, filter_w, in_c / groups]
//   output [batch, out_h, out_w, out_c]
#ifndef EDGEOPT_SRC_RUNTIME_KERNELS_REFERENCE_CONV_H_
#define EDGEOPT_SRC_RUNTIME_KERNELS_REFERENCE_CONV_H_

#include <algorithm>
#include <cstdint>
#include <cstring>

#include "src/runtime/kernels/reference/gemm.h"
#include "src/runtime/kernels/reference/requantize.h"

namespace edgeopt {
namespace ref {

struct ConvGeometry {
  int batch = 0, in_h = 0, in_w = 0, in_c = 0;
  int out_h = 0, out_w = 0, out_c = 0;
  int filter_h = 0, filter_w = 0;
  int groups = 1;  // in_c / filter's input channels
  int stride_h = 1, stride_w = 1, dilation_h = 1, dilation_w = 1;
  int pad_top = 0, pad_left = 0;

  int group_in_c() const { return in_c / groups; }
  int group_out_c() const { return out_c / groups; }
  // Length of one im2col row (= one filter row).
  int64_t K() const { return int64_t{filter_h} * filter_w * group_in_c(); }
  int64_t out_pixels() const { return int64_t{out_h} * out_w; }
  // True when each output pixel reads exactly one input pixel's channels in order, so the input
  // itself is the im2col matrix.
  bool IsPointwise() const {
    return filter_h == 1 && filter_w == 1 && stride_h == 1 && stride_w == 1 && pad_top == 0 &&
           pad_left == 0 && groups == 1 && in_h == out_h && in_w == out_w;
  }
};

// Writes rows [p0, p0 + count) of batch item `input`'s im2col matrix for channels [c0, c0 + cg):
// col[i][(fy * filter_w + fx) * cg + c]; taps outside the image get `pad`.
template <typename T>
void Im2col(const ConvGeometry& g, const T* input, int64_t p0, int count, int c0, T pad, T* col) {
  const int cg = g.group_in_c();
  const int64_t K = g.K();
  for (int i = 0; i < count; ++i) {
    const int64_t p = p0 + i;
    const int oy = static_cast<int>(p / g.out_w);
    const int ox = static_cast<int>(p % g.out_w);
    T* dst = col + i * K;
    for (int fy = 0; fy < g.filter_h; ++fy) {
      const int iy = oy * g.stride_h - g.pad_top + fy * g.dilation_h;
      for (int fx = 0; fx < g.filter_w; ++fx) {
        const int ix = ox * g.stride_w - g.pad_left + fx * g.dilation_w;
        if (iy < 0 || iy >= g.in_h || ix < 0 || ix >= g.in_w) {
          std::fill(dst, dst + cg, pad);
        } else {
          std::memcpy(dst, input + (int64_t{iy} * g.in_w + ix) * g.in_c + c0, cg * sizeof(T));
        }
        dst += cg;
      }
    }
  }
}

// Float conv. `packed_filter` holds, per group, the filter transposed to [K][group_out_c] (see
// PackFilterKMajor). `col` is scratch for block_rows * K floats.
inline void ConvF32(const ConvGeometry& g, const float* input, const float* packed_filter,
                    const float* bias, float act_min, float act_max, float* output, float* col,
                    int block_rows) {
  const int64_t K = g.K();
  const int ocg = g.group_out_c();
  const int64_t pixels = g.out_pixels();
  for (int b = 0; b < g.batch; ++b) {
    const float* in_b = input + int64_t{b} * g.in_h * g.in_w * g.in_c;
    float* out_b = output + int64_t{b} * pixels * g.out_c;
    for (int64_t p0 = 0; p0 < pixels; p0 += block_rows) {
      const int count = static_cast<int>(std::min<int64_t>(block_rows, pixels - p0));
      for (int grp = 0; grp < g.groups; ++grp) {
        const float* a = in_b + p0 * g.in_c;
        int64_t lda = g.in_c;
        if (!g.IsPointwise()) {
          Im2col(g, in_b, p0, count, grp * g.group_in_c(), 0.0f, col);
          a = col;
          lda = K;
        }
        GemmF32(count, ocg, static_cast<int>(K), a, lda, packed_filter + grp * K * ocg,
                bias != nullptr ? bias + grp * ocg : nullptr, out_b + p0 * g.out_c + grp * ocg,
                g.out_c);
      }
      float* o = out_b + p0 * g.out_c;
      for (int64_t i = 0; i < int64_t{count} * g.out_c; ++i)
        o[i] = ClampFloat(o[i], act_min, act_max);
    }
  }
}

// Transposes each group's rows of an [out_c][K] filter into [K][group_out_c].
inline void PackFilterKMajor(const float* filter, int out_c, int64_t K, int groups, float* packed) {
  const int ocg = out_c / groups;
  for (int grp = 0; grp < groups; ++grp) {
    float* dst = packed + grp * K * ocg;
    for (int n = 0; n < ocg; ++n) {
      const float* src = filter + (int64_t{grp} * ocg + n) * K;
      for (int64_t k = 0; k < K; ++k) dst[k * ocg + n] = src[k];
    }
  }
}

// Scratch of the integer conv, all sized for block_rows output pixels.
template <typename TIn, typename TAcc>
struct ConvIntScratch {
  TIn* col;          // block_rows * K
  TAcc* acc;         // block_rows * group_out_c
  int64_t* rowsums;  // block_rows (only with a non-zero filter zero point)
};

// Integer conv: acc = sum (x - zx)(w - zw) + bias, then the output stage.
//   bias_term[oc] = bias[oc] - zx * sum_k w[oc][k] + K * zx * zw   (precomputed in Prepare)
//   per pixel:  - zw * sum_k x[k] (only when zw != 0)
// The padding value is zx, so padded taps contribute nothing, as in TFLite.
template <typename TIn, typename TW, typename TAcc, typename TOut>
void ConvQuantized(const ConvGeometry& g, const TIn* input, int32_t input_zero_point,
                   const TW* filter, int32_t filter_zero_point, const int64_t* bias_term,
                   const OutputStage& stage, TOut* output, const ConvIntScratch<TIn, TAcc>& s,
                   int block_rows) {
  const int64_t K = g.K();
  const int ocg = g.group_out_c();
  const int64_t pixels = g.out_pixels();
  const TIn pad = static_cast<TIn>(input_zero_point);
  for (int b = 0; b < g.batch; ++b) {
    const TIn* in_b = input + int64_t{b} * g.in_h * g.in_w * g.in_c;
    TOut* out_b = output + int64_t{b} * pixels * g.out_c;
    for (int64_t p0 = 0; p0 < pixels; p0 += block_rows) {
      const int count = static_cast<int>(std::min<int64_t>(block_rows, pixels - p0));
      for (int grp = 0; grp < g.groups; ++grp) {
        const TIn* a = in_b + p0 * g.in_c;
        int64_t lda = g.in_c;
        if (!g.IsPointwise()) {
          Im2col(g, in_b, p0, count, grp * g.group_in_c(), pad, s.col);
          a = s.col;
          lda = K;
        }
        DotGemm(count, ocg, static_cast<int>(K), a, lda, filter + int64_t{grp} * ocg * K, K, s.acc,
                ocg);
        if (filter_zero_point != 0) RowSums(count, static_cast<int>(K), a, lda, s.rowsums);
        for (int i = 0; i < count; ++i) {
          const int64_t row_term =
              filter_zero_point != 0 ? -int64_t{filter_zero_point} * s.rowsums[i] : 0;
          const TAcc* acc = s.acc + int64_t{i} * ocg;
          TOut* o = out_b + (p0 + i) * g.out_c + grp * ocg;
          for (int n = 0; n < ocg; ++n) {
            const int oc = grp * ocg + n;
            // Wrapping adds: an absurd int64 bias must not be UB.
            const int64_t total = static_cast<int64_t>(static_cast<uint64_t>(int64_t{acc[n]}) +
                                                       static_cast<uint64_t>(bias_term[oc]) +
                                                       static_cast<uint64_t>(row_term));
            o[n] = RequantizeToOutput<TOut>(total, oc, stage);
          }
        }
      }
    }
  }
}

// Hybrid conv: the float input was quantized per batch item into `quantized` (int8, zero point
// zero_points[b], scale scales[b]). out = float(acc - zp * sum_k w) * (scale_b * filter_scale) +
// bias, clamped. As TFLite's HybridConvPerChannel (and HybridConv when all zero points are 0).
inline void ConvHybrid(const ConvGeometry& g, const int8_t* quantized, const float* scales,
                       const int32_t* zero_points, const int8_t* filter,
                       const int32_t* filter_row_sums, const float* filter_scales, bool per_channel,
                       const float* bias, float act_min, float act_max, float* output,
                       const ConvIntScratch<int8_t, int32_t>& s, int block_rows) {
  const int64_t K = g.K();
  const int ocg = g.group_out_c();
  const int64_t pixels = g.out_pixels();
  for (int b = 0; b < g.batch; ++b) {
    const int8_t* in_b = quantized + int64_t{b} * g.in_h * g.in_w * g.in_c;
    float* out_b = output + int64_t{b} * pixels * g.out_c;
    const int32_t zp = zero_points[b];
    for (int64_t p0 = 0; p0 < pixels; p0 += block_rows) {
      const int count = static_cast<int>(std::min<int64_t>(block_rows, pixels - p0));
      for (int grp = 0; grp < g.groups; ++grp) {
        const int8_t* a = in_b + p0 * g.in_c;
        int64_t lda = g.in_c;
        if (!g.IsPointwise()) {
          Im2col(g, in_b, p0, count, grp * g.group_in_c(), static_cast<int8_t>(zp), s.col);
          a = s.col;
          lda = K;
        }
        DotGemm(count, ocg, static_cast<int>(K), a, lda, filter + int64_t{grp} * ocg * K, K, s.acc,
                ocg);
        for (int i = 0; i < count; ++i) {
          const int32_t* acc = s.acc + int64_t{i} * ocg;
          float* o = out_b + (p0 + i) * g.out_c + grp * ocg;
          for (int n = 0; n < ocg; ++n) {
            const int oc = grp * ocg + n;
            const int32_t corrected =
                WrapToInt32(int64_t{acc[n]} - int64_t{filter_row_sums[oc]} * zp);
            const float scale = scales[b] * filter_scales[per_channel ? oc : 0];
            float v = static_cast<float>(corrected) * scale;
            if (bias != nullptr) v += bias[oc];
            o[n] = ClampFloat(v, act_min, act_max);
          }
        }
      }
    }
  }
}

}  // namespace ref
}  // namespace edgeopt

#endif  // EDGEOPT_SRC_RUNTIME_KERNELS_REFERENCE_CONV_H_
