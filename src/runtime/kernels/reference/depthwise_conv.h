// DEPTHWISE_CONV_2D math. Output channel oc = ic * depth_multiplier + m reads input channel ic.
//
//   input  [batch, in_h, in_w, in_c]
//   filter [1, filter_h, filter_w, out_c]       out_c = in_c * depth_multiplier
//   output [batch, out_h, out_w, out_c]
//
// Each output pixel accumulates over the filter taps that fall inside the image (padding
// contributes nothing); the inner loops run over contiguous channels.
#ifndef EDGEOPT_SRC_RUNTIME_KERNELS_REFERENCE_DEPTHWISE_CONV_H_
#define EDGEOPT_SRC_RUNTIME_KERNELS_REFERENCE_DEPTHWISE_CONV_H_

#include <cstdint>

#include "src/runtime/kernels/reference/requantize.h"

namespace edgeopt {
namespace ref {

struct DepthwiseGeometry {
  int batch = 0, in_h = 0, in_w = 0, in_c = 0;
  int out_h = 0, out_w = 0, out_c = 0;
  int filter_h = 0, filter_w = 0;
  int depth_multiplier = 1;
  int stride_h = 1, stride_w = 1, dilation_h = 1, dilation_w = 1;
  int pad_top = 0, pad_left = 0;
};

// acc[oc] += (x[ic] - x_offset) * (w[oc] - w_offset) over one input pixel `x` and one filter tap
// `w`; TAcc is float for the float kernel (offsets 0).
template <typename TIn, typename TW, typename TAcc>
inline void DepthwiseAccumulateTap(int in_c, int depth_multiplier, const TIn* x, TAcc x_offset,
                                   const TW* w, TAcc w_offset, TAcc* acc) {
  if (depth_multiplier == 1) {
    for (int c = 0; c < in_c; ++c) {
      acc[c] += (static_cast<TAcc>(x[c]) - x_offset) * (static_cast<TAcc>(w[c]) - w_offset);
    }
    return;
  }
  for (int ic = 0; ic < in_c; ++ic) {
    const TAcc xv = static_cast<TAcc>(x[ic]) - x_offset;
    TAcc* a = acc + ic * depth_multiplier;
    const TW* wv = w + ic * depth_multiplier;
    for (int m = 0; m < depth_multiplier; ++m) a[m] += xv * (static_cast<TAcc>(wv[m]) - w_offset);
  }
}

// Calls tap(x_pixel, w_tap) for every filter tap of output pixel (oy, ox) inside the image.
template <typename TIn, typename TW, typename F>
inline void ForEachDepthwiseTap(const DepthwiseGeometry& g, const TIn* in_b, const TW* filter,
                                int oy, int ox, F&& tap) {
  for (int fy = 0; fy < g.filter_h; ++fy) {
    const int iy = oy * g.stride_h - g.pad_top + fy * g.dilation_h;
    if (iy < 0 || iy >= g.in_h) continue;
    for (int fx = 0; fx < g.filter_w; ++fx) {
      const int ix = ox * g.stride_w - g.pad_left + fx * g.dilation_w;
      if (ix < 0 || ix >= g.in_w) continue;
      tap(in_b + (int64_t{iy} * g.in_w + ix) * g.in_c,
          filter + (int64_t{fy} * g.filter_w + fx) * g.out_c);
    }
  }
}

// Float: output = clamp(bias + sum over taps of x * w). The accumulator starts at the bias, as
// TFLite's optimized float kernel does.
inline void DepthwiseConvF32(const DepthwiseGeometry& g, const float* input, const float* filter,
                             const float* bias, float act_min, float act_max, float* output) {
  for (int b = 0; b < g.batch; ++b) {
    const float* in_b = input + int64_t{b} * g.in_h * g.in_w * g.in_c;
    for (int oy = 0; oy < g.out_h; ++oy) {
      for (int ox = 0; ox < g.out_w; ++ox) {
        float* o = output + ((int64_t{b} * g.out_h + oy) * g.out_w + ox) * g.out_c;
        for (int c = 0; c < g.out_c; ++c) o[c] = bias != nullptr ? bias[c] : 0.0f;
        ForEachDepthwiseTap(g, in_b, filter, oy, ox, [&](const float* x, const float* w) {
          DepthwiseAccumulateTap<float, float, float>(g.in_c, g.depth_multiplier, x, 0.0f, w, 0.0f,
                                                      o);
        });
        for (int c = 0; c < g.out_c; ++c) o[c] = ClampFloat(o[c], act_min, act_max);
      }
    }
  }
}

// Integer: acc = sum (x - zx)(w - zw) + bias[oc], then the output stage. `acc` is scratch for out_c
// accumulators. bias is int32 or int64 (or null).
template <typename TIn, typename TW, typename TAcc, typename TOut, typename TBias>
void DepthwiseConvQuantized(const DepthwiseGeometry& g, const TIn* input, int32_t input_zero_point,
                            const TW* filter, int32_t filter_zero_point, const TBias* bias,
                            const OutputStage& stage, TOut* output, TAcc* acc) {
  for (int b = 0; b < g.batch; ++b) {
    const TIn* in_b = input + int64_t{b} * g.in_h * g.in_w * g.in_c;
    for (int oy = 0; oy < g.out_h; ++oy) {
      for (int ox = 0; ox < g.out_w; ++ox) {
        for (int c = 0; c < g.out_c; ++c) acc[c] = 0;
        ForEachDepthwiseTap(g, in_b, filter, oy, ox, [&](const TIn* x, const TW* w) {
          DepthwiseAccumulateTap<TIn, TW, TAcc>(g.in_c, g.depth_multiplier, x,
                                                static_cast<TAcc>(input_zero_point), w,
                                                static_cast<TAcc>(filter_zero_point), acc);
        });
        TOut* o = output + ((int64_t{b} * g.out_h + oy) * g.out_w + ox) * g.out_c;
        for (int c = 0; c < g.out_c; ++c) {
          // Wrapping add: an absurd int64 bias must not be UB.
          const int64_t total =
              static_cast<int64_t>(static_cast<uint64_t>(int64_t{acc[c]}) +
                                   static_cast<uint64_t>(bias != nullptr ? int64_t{bias[c]} : 0));
          o[c] = RequantizeToOutput<TOut>(total, c, stage);
        }
      }
    }
  }
}

// Hybrid: the float input was quantized per batch item into `quantized` (zero point zero_points[b],
// scale scales[b]); out = float(acc) * (filter_scale[oc] * scale_b) + bias[oc].
inline void DepthwiseConvHybrid(const DepthwiseGeometry& g, const int8_t* quantized,
                                const float* scales, const int32_t* zero_points,
                                const int8_t* filter, const float* filter_scales, bool per_channel,
                                const float* bias, float act_min, float act_max, float* output,
                                int32_t* acc) {
  for (int b = 0; b < g.batch; ++b) {
    const int8_t* in_b = quantized + int64_t{b} * g.in_h * g.in_w * g.in_c;
    const int32_t zp = zero_points[b];
    for (int oy = 0; oy < g.out_h; ++oy) {
      for (int ox = 0; ox < g.out_w; ++ox) {
        for (int c = 0; c < g.out_c; ++c) acc[c] = 0;
        ForEachDepthwiseTap(g, in_b, filter, oy, ox, [&](const int8_t* x, const int8_t* w) {
          DepthwiseAccumulateTap<int8_t, int8_t, int32_t>(g.in_c, g.depth_multiplier, x, zp, w, 0,
                                                          acc);
        });
        float* o = output + ((int64_t{b} * g.out_h + oy) * g.out_w + ox) * g.out_c;
        for (int c = 0; c < g.out_c; ++c) {
          float v = static_cast<float>(acc[c]) * scales[b] * filter_scales[per_channel ? c : 0];
          if (bias != nullptr) v += bias[c];
          o[c] = ClampFloat(v, act_min, act_max);
        }
      }
    }
  }
}

}  // namespace ref
}  // namespace edgeopt

#endif  // EDGEOPT_SRC_RUNTIME_KERNELS_REFERENCE_DEPTHWISE_CONV_H_
