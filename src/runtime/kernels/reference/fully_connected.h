// FULLY_CONNECTED math: output[b][o] = sum_k input[b][k] * weights[o][k] + bias[o].
//
//   input   [batch, in]      (any input rank, flattened)
//   weights [out, in]
//   output  [batch, out]
#ifndef EDGEOPT_SRC_RUNTIME_KERNELS_REFERENCE_FULLY_CONNECTED_H_
#define EDGEOPT_SRC_RUNTIME_KERNELS_REFERENCE_FULLY_CONNECTED_H_

#include <algorithm>
#include <cstdint>

#include "src/runtime/kernels/reference/gemm.h"
#include "src/runtime/kernels/reference/requantize.h"

namespace edgeopt {
namespace ref {

struct FullyConnectedShape {
  int batch = 0;
  int in = 0;
  int out = 0;
};

// Transposes weights [out][in] into [in][out] (the K-major layout of GemmF32).
inline void PackWeightsKMajor(const float* weights, int out, int in, float* packed) {
  for (int o = 0; o < out; ++o) {
    for (int k = 0; k < in; ++k) packed[int64_t{k} * out + o] = weights[int64_t{o} * in + k];
  }
}

// Float: `packed` is the weight matrix from PackWeightsKMajor.
inline void FullyConnectedF32(const FullyConnectedShape& s, const float* input, const float* packed,
                              const float* bias, float act_min, float act_max, float* output) {
  GemmF32(s.batch, s.out, s.in, input, s.in, packed, bias, output, s.out);
  const int64_t n = int64_t{s.batch} * s.out;
  for (int64_t i = 0; i < n; ++i) output[i] = ClampFloat(output[i], act_min, act_max);
}

// Integer: acc = sum (x - zx)(w - zw) + bias, then the output stage (per-channel or broadcast
// multipliers). bias_term[o] = bias[o] - zx * sum_k w[o][k] + in * zx * zw; the -zw * sum_k x term
// is added per row. Rows are processed `block_rows` at a time with `acc` (block_rows * out) and
// `rowsums` (block_rows, only when zw != 0) as scratch.
template <typename TIn, typename TW, typename TAcc, typename TOut>
void FullyConnectedQuantized(const FullyConnectedShape& s, const TIn* input, const TW* weights,
                             int32_t weights_zero_point, const int64_t* bias_term,
                             const OutputStage& stage, TOut* output, TAcc* acc, int64_t* rowsums,
                             int block_rows) {
  for (int b0 = 0; b0 < s.batch; b0 += block_rows) {
    const int count = std::min(block_rows, s.batch - b0);
    const TIn* x = input + int64_t{b0} * s.in;
    DotGemm(count, s.out, s.in, x, s.in, weights, s.in, acc, s.out);
    if (weights_zero_point != 0) RowSums(count, s.in, x, s.in, rowsums);
    for (int i = 0; i < count; ++i) {
      const int64_t row_term =
          weights_zero_point != 0 ? -int64_t{weights_zero_point} * rowsums[i] : 0;
      const TAcc* a = acc + int64_t{i} * s.out;
      TOut* o = output + int64_t{b0 + i} * s.out;
      for (int n = 0; n < s.out; ++n) {
        const int64_t total = static_cast<int64_t>(static_cast<uint64_t>(int64_t{a[n]}) +
                                                   static_cast<uint64_t>(bias_term[n]) +
                                                   static_cast<uint64_t>(row_term));
        o[n] = RequantizeToOutput<TOut>(total, n, stage);
      }
    }
  }
}

// Hybrid: row b of the float input was quantized into quantized[b] (zero point zero_points[b],
// scale scales[b]); out = float(acc - zp * sum_k w) * (scale_b * weight_scale[o]) + bias[o].
inline void FullyConnectedHybrid(const FullyConnectedShape& s, const int8_t* quantized,
                                 const float* scales, const int32_t* zero_points,
                                 const int8_t* weights, const int32_t* weight_row_sums,
                                 const float* weight_scales, bool per_channel, const float* bias,
                                 float* output, int32_t* acc, int block_rows) {
  for (int b0 = 0; b0 < s.batch; b0 += block_rows) {
    const int count = std::min(block_rows, s.batch - b0);
    DotGemm(count, s.out, s.in, quantized + int64_t{b0} * s.in, s.in, weights, s.in, acc, s.out);
    for (int i = 0; i < count; ++i) {
      const int b = b0 + i;
      const int32_t* a = acc + int64_t{i} * s.out;
      float* o = output + int64_t{b} * s.out;
      for (int n = 0; n < s.out; ++n) {
        const int32_t corrected =
            WrapToInt32(int64_t{a[n]} - int64_t{weight_row_sums[n]} * zero_points[b]);
        const float scale = scales[b] * weight_scales[per_channel ? n : 0];
        float v = static_cast<float>(corrected) * scale;
        if (bias != nullptr) v += bias[n];
        o[n] = v;
      }
    }
  }
}

}  // namespace ref
}  // namespace edgeopt

#endif  // EDGEOPT_SRC_RUNTIME_KERNELS_REFERENCE_FULLY_CONNECTED_H_
