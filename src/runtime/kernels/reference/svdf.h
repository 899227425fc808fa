// Reference SVDF (a fully connected layer factored into a feature and a time filter, with a
// per-filter memory of the last `memory_size` feature activations), TensorFlow Lite 2.9 semantics
// (reference_ops::EvalFloatSVDF / EvalHybridSVDF / EvalIntegerSVDF).
//
// Shapes: input [n_batch, n_input], weights_feature [n_filter, n_input], weights_time
// [n_filter, n_memory], bias [n_unit] (n_filter = n_unit * rank), state
// [n_batch, n_filter * n_memory] (row f of batch b holds filter f's memory, oldest first), output
// [n_batch, n_unit].
//
// Each step shifts the whole state left by one element, writes the new feature activations into the
// last column, takes the time-filter dot products, sums `rank` filters per unit, adds the bias and
// applies the activation (float) or requantizes (integer).
#ifndef EDGEOPT_SRC_RUNTIME_KERNELS_REFERENCE_SVDF_H_
#define EDGEOPT_SRC_RUNTIME_KERNELS_REFERENCE_SVDF_H_

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <limits>

#include "src/runtime/kernels/reference/lstm.h"

namespace edgeopt {
namespace rt {
namespace ref {

struct SvdfSizes {
  int n_batch = 0;
  int n_input = 0;
  int n_filter = 0;
  int n_unit = 0;
  int n_memory = 0;
  int rank = 1;
};

// Moves every state element one position left (the oldest of filter f+1 lands in filter f's last
// slot, which the feature step overwrites).
template <typename T>
inline void ShiftStateLeft(const SvdfSizes& s, T* state) {
  const int64_t n = static_cast<int64_t>(s.n_batch) * s.n_filter * s.n_memory;
  if (n > 1) std::memmove(state, state + 1, sizeof(T) * (n - 1));
}

// Time filter, rank reduction, bias and activation (float and hybrid).
// `scratch`: n_batch * n_filter floats.
inline void SvdfTimeFloat(const SvdfSizes& s, const float* weights_time, const float* bias,
                          Activation act, const float* state, float* scratch, float* output) {
  for (int b = 0; b < s.n_batch; ++b) {
    for (int f = 0; f < s.n_filter; ++f) {
      const float* w = weights_time + static_cast<int64_t>(f) * s.n_memory;
      const float* m = state + (static_cast<int64_t>(b) * s.n_filter + f) * s.n_memory;
      float dot = 0.0f;
      for (int k = 0; k < s.n_memory; ++k) dot += w[k] * m[k];
      scratch[b * s.n_filter + f] = dot;
    }
  }
  for (int o = 0; o < s.n_batch * s.n_unit; ++o) {
    float sum = 0.0f;
    for (int r = 0; r < s.rank; ++r) sum += scratch[o * s.rank + r];
    output[o] = sum;
  }
  if (bias != nullptr) {
    for (int b = 0; b < s.n_batch; ++b) {
      for (int u = 0; u < s.n_unit; ++u) output[b * s.n_unit + u] += bias[u];
    }
  }
  ApplyActivation(act, output, s.n_batch * s.n_unit, output);
}

inline void SvdfFloat(const SvdfSizes& s, const float* input, const float* weights_feature,
                      const float* weights_time, const float* bias, Activation act, float* state,
                      float* scratch, float* output) {
  ShiftStateLeft(s, state);
  std::fill_n(scratch, s.n_batch * s.n_filter, 0.0f);
  MatVecAccumulate(weights_feature, s.n_filter, s.n_input, input, s.n_batch, scratch);
  for (int i = 0; i < s.n_batch * s.n_filter; ++i) {
    state[static_cast<int64_t>(i) * s.n_memory + s.n_memory - 1] = scratch[i];
  }
  SvdfTimeFloat(s, weights_time, bias, act, state, scratch, output);
}

struct SvdfHybridScratch {
  float* scratch;           // n_batch * n_filter
  int8_t* quantized_input;  // n_batch * n_input
  float* scaling_factors;   // n_batch
  int32_t* zero_points;     // n_batch (asymmetric only)
};

// Hybrid: int8 weights_feature with `feature_scale`, weights_time already dequantized to float;
// `row_sums` (of weights_feature) non-null selects asymmetric input quantization.
inline void SvdfHybrid(const SvdfSizes& s, const float* input, const int8_t* weights_feature,
                       float feature_scale, const int32_t* row_sums, const float* weights_time,
                       const float* bias, Activation act, float* state, const SvdfHybridScratch& sc,
                       float* output) {
  ShiftStateLeft(s, state);
  std::fill_n(sc.scratch, s.n_batch * s.n_filter, 0.0f);
  if (!IsZeroVector(input, s.n_batch * s.n_input)) {
    int32_t* zps = row_sums != nullptr ? sc.zero_points : nullptr;
    BatchQuantizeFloats(input, s.n_batch, s.n_input, sc.quantized_input, sc.scaling_factors, zps);
    HybridMatVecAccumulate(weights_feature, s.n_filter, s.n_input, sc.quantized_input,
                           sc.scaling_factors, zps, row_sums, feature_scale, s.n_batch, sc.scratch);
  }
  for (int i = 0; i < s.n_batch * s.n_filter; ++i) {
    state[static_cast<int64_t>(i) * s.n_memory + s.n_memory - 1] = sc.scratch[i];
  }
  SvdfTimeFloat(s, weights_time, bias, act, state, sc.scratch, output);
}

struct SvdfIntegerParams {
  int32_t feature_multiplier = 0;  // input * weights_feature -> state
  int feature_shift = 0;
  int32_t time_multiplier = 0;  // state * weights_time -> output
  int time_shift = 0;
  int32_t input_zp = 0;
  int32_t state_zp = 0;  // 0 for the int16 state of TFLite 2.9
  int32_t output_zp = 0;
};

// Integer SVDF with an int16 state and int16 weights_time (TFLite 2.9), or an int8 state and int8
// weights_time (TFLite Micro's variant, which honours the state's zero point). `scratch`:
// n_batch * n_filter int32; `output_temp`: n_batch * n_unit int32.
template <typename StateT>
inline void SvdfInteger(const SvdfSizes& s, const SvdfIntegerParams& p, const int8_t* input,
                        const int8_t* weights_feature, const StateT* weights_time,
                        const int32_t* bias, StateT* state, int32_t* scratch, int32_t* output_temp,
                        int8_t* output) {
  ShiftStateLeft(s, state);
  const int64_t lo = std::numeric_limits<StateT>::min();
  const int64_t hi = std::numeric_limits<StateT>::max();
  for (int b = 0; b < s.n_batch; ++b) {
    const int8_t* in = input + static_cast<int64_t>(b) * s.n_input;
    for (int f = 0; f < s.n_filter; ++f) {
      const int8_t* w = weights_feature + static_cast<int64_t>(f) * s.n_input;
      int64_t dot = 0;
      for (int c = 0; c < s.n_input; ++c) {
        dot += static_cast<int32_t>(w[c]) * (static_cast<int32_t>(in[c]) - p.input_zp);
      }
      int64_t y = MulByQuantizedMultiplier(WrapToInt32(dot), p.feature_multiplier, p.feature_shift);
      y += p.state_zp;
      state[(static_cast<int64_t>(b) * s.n_filter + f) * s.n_memory + s.n_memory - 1] =
          static_cast<StateT>(std::min(hi, std::max(lo, y)));
    }
  }
  for (int b = 0; b < s.n_batch; ++b) {
    for (int f = 0; f < s.n_filter; ++f) {
      const StateT* w = weights_time + static_cast<int64_t>(f) * s.n_memory;
      const StateT* m = state + (static_cast<int64_t>(b) * s.n_filter + f) * s.n_memory;
      int64_t dot = 0;
      for (int k = 0; k < s.n_memory; ++k) {
        dot += static_cast<int32_t>(w[k]) * (static_cast<int32_t>(m[k]) - p.state_zp);
      }
      scratch[b * s.n_filter + f] = WrapToInt32(dot);
    }
  }
  for (int o = 0; o < s.n_batch * s.n_unit; ++o) {
    int64_t sum = 0;
    for (int r = 0; r < s.rank; ++r) sum += scratch[o * s.rank + r];
    if (bias != nullptr) sum += bias[o % s.n_unit];
    output_temp[o] = WrapToInt32(sum);
  }
  for (int o = 0; o < s.n_batch * s.n_unit; ++o) {
    int64_t y = MulByQuantizedMultiplier(output_temp[o], p.time_multiplier, p.time_shift);
    y += p.output_zp;
    output[o] = static_cast<int8_t>(std::min<int64_t>(127, std::max<int64_t>(-128, y)));
  }
}

}  // namespace ref
}  // namespace rt
}  // namespace edgeopt

#endif  // EDGEOPT_SRC_RUNTIME_KERNELS_REFERENCE_SVDF_H_
