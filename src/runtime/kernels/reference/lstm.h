// Reference LSTM cell math with TensorFlow Lite 2.9's semantics (lstm_eval.cc and the portable
// tensor utils): one time step for a batch of rows, in three variants.
//
//   float   : float weights, activations and states.
//   hybrid  : int8 weights (per-tensor scale), float activations; each step quantizes the input
//             and the output state per batch row (symmetric, or asymmetric with row sums).
//   integer : int8 input/weights/output state, int16 cell state (power-of-two scale), int16 gates
//             in Q3.12 before the activations (Q0.15 after), TFLite's "8x8_16" integer LSTM.
//
// Gate order everywhere: 0 input, 1 forget, 2 cell, 3 output. Shapes (row-major):
//   input [n_batch, n_input], output_state [n_batch, n_output], cell_state [n_batch, n_cell], input
//   weights [n_cell, n_input], recurrent weights [n_cell, n_output], peephole [n_cell], projection
//   [n_output, n_cell]. A null input gate (CIFG) uses 1 - forget instead.
#ifndef EDGEOPT_SRC_RUNTIME_KERNELS_REFERENCE_LSTM_H_
#define EDGEOPT_SRC_RUNTIME_KERNELS_REFERENCE_LSTM_H_

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>

#include "src/quant/fixed_point.h"
#include "src/quant/quant_math.h"
#include "src/runtime/kernels/reference/requantize.h"

namespace edgeopt {
namespace rt {
namespace ref {

enum LstmGate { kInputGate = 0, kForgetGate = 1, kCellGate = 2, kOutputGate = 3 };

// TFLite's fused activations (ActivationFunctionType values, plus sigmoid for the gates).
enum class Activation : int {
  kNone = 0,
  kRelu = 1,
  kReluN1To1 = 2,
  kRelu6 = 3,
  kTanh = 4,
  kSignBit = 5,
  kSigmoid = 6,
};

inline float ApplyActivation(Activation a, float x) {
  switch (a) {
    case Activation::kRelu:
      return std::max(0.0f, x);
    case Activation::kReluN1To1:
      return std::max(-1.0f, std::min(1.0f, x));
    case Activation::kRelu6:
      return std::max(0.0f, std::min(6.0f, x));
    case Activation::kTanh:
      return std::tanh(x);
    case Activation::kSignBit:
      return std::signbit(x) ? 1.0f : 0.0f;
    case Activation::kSigmoid:
      return 1.0f / (1.0f + std::exp(-x));
    case Activation::kNone:
      break;
  }
  return x;
}

inline void ApplyActivation(Activation a, const float* in, int n, float* out) {
  for (int i = 0; i < n; ++i) out[i] = ApplyActivation(a, in[i]);
}

struct LstmSizes {
  int n_batch = 0;
  int n_input = 0;
  int n_cell = 0;
  int n_output = 0;
};

// Two's complement narrowing (TFLite's int32 arithmetic wraps in practice; here it is defined).
inline int32_t WrapToInt32(int64_t v) {
  return static_cast<int32_t>(static_cast<uint32_t>(static_cast<uint64_t>(v)));
}

// Float to int32 with truncation, saturating out-of-range values and mapping NaN to 0 (a plain cast
// would be undefined for those; in range it is the same).
inline int32_t SaturatingToInt32(double x) {
  if (!(x == x)) return 0;
  if (x >= 2147483647.0) return std::numeric_limits<int32_t>::max();
  if (x <= -2147483648.0) return std::numeric_limits<int32_t>::min();
  return static_cast<int32_t>(x);
}

// MultiplyByQuantizedMultiplier (double rounding, as TFLite 2.9) without signed overflow: the left
// shift wraps as the 32-bit original does on every platform TFLite runs on.
inline int32_t MulByQuantizedMultiplier(int32_t x, int32_t multiplier, int shift) {
  const int left = shift > 0 ? std::min(shift, 62) : 0;
  const int right = shift > 0 ? 0 : std::min(-shift, 31);
  const int32_t shifted = static_cast<int32_t>(
      static_cast<uint32_t>(static_cast<uint64_t>(static_cast<int64_t>(x)) << left));
  return quant::RoundingDivideByPOT(quant::SaturatingRoundingDoublingHighMul(shifted, multiplier),
                                    right);
}

inline bool IsZeroVector(const float* v, int n) {
  for (int i = 0; i < n; ++i) {
    if (v[i] != 0.0f) return false;
  }
  return true;
}

// out[b][r] += sum_c m[r][c] * v[b][c].
inline void MatVecAccumulate(const float* m, int rows, int cols, const float* v, int n_batch,
                             float* out) {
  for (int b = 0; b < n_batch; ++b) {
    const float* vb = v + b * cols;
    for (int r = 0; r < rows; ++r) {
      const float* mr = m + r * cols;
      float dot = 0.0f;
      for (int c = 0; c < cols; ++c) dot += mr[c] * vb[c];
      out[b * rows + r] += dot;
    }
  }
}

// Per-row (x - mean) / sqrt(variance + 1e-8).
inline void MeanStddevNormalization(float* v, int size, int n_batch) {
  for (int b = 0; b < n_batch; ++b, v += size) {
    float sum = 0.0f;
    for (int i = 0; i < size; ++i) sum += v[i];
    const float mean = sum / size;
    float sum_diff_sq = 0.0f;
    for (int i = 0; i < size; ++i) sum_diff_sq += (v[i] - mean) * (v[i] - mean);
    const float variance = sum_diff_sq / size;
    const float stddev_inv = 1.0f / std::sqrt(variance + 1e-8f);
    for (int i = 0; i < size; ++i) v[i] = (v[i] - mean) * stddev_inv;
  }
}

// Layer norm (if coefficients), then the activation, on a gate pre-activation.
inline void FinishFloatGate(const float* layer_norm, const float* bias, const LstmSizes& s,
                            Activation act, float* gate) {
  if (layer_norm != nullptr) {
    MeanStddevNormalization(gate, s.n_cell, s.n_batch);
    for (int b = 0; b < s.n_batch; ++b) {
      float* g = gate + b * s.n_cell;
      for (int i = 0; i < s.n_cell; ++i) g[i] = g[i] * layer_norm[i] + bias[i];
    }
  }
  ApplyActivation(act, gate, s.n_batch * s.n_cell, gate);
}

// act(cell) for the hidden state. TFLite's ApplyActivationToVector leaves its destination untouched
// for "no activation", and that destination is the cell gate's buffer, so with activation NONE the
// hidden state is output_gate * cell_gate, not output_gate * cell.
inline void CellOutputActivation(Activation act, const float* cell, const float* cell_gate, int n,
                                 float* out) {
  if (act == Activation::kNone) {
    std::memcpy(out, cell_gate, sizeof(float) * n);
  } else {
    ApplyActivation(act, cell, n, out);
  }
}

// Starts a gate: the bias broadcast over the batch, or zeros when layer norm adds it later.
inline void InitFloatGate(const float* bias, bool layer_norm, const LstmSizes& s, float* gate) {
  for (int b = 0; b < s.n_batch; ++b) {
    for (int i = 0; i < s.n_cell; ++i) gate[b * s.n_cell + i] = layer_norm ? 0.0f : bias[i];
  }
}

// gate[b][i] += w[i] * cell[b][i].
inline void PeepholeAccumulate(const float* w, const float* cell, const LstmSizes& s, float* gate) {
  for (int b = 0; b < s.n_batch; ++b) {
    for (int i = 0; i < s.n_cell; ++i) gate[b * s.n_cell + i] += w[i] * cell[b * s.n_cell + i];
  }
}

// c = clip(f * c + i * g), with i = 1 - f under CIFG (f is overwritten then).
inline void UpdateCellFloat(const LstmSizes& s, const float* input_gate, float* forget_gate,
                            const float* cell_gate, float clip, float* cell) {
  const int n = s.n_batch * s.n_cell;
  for (int k = 0; k < n; ++k) cell[k] *= forget_gate[k];
  if (input_gate == nullptr) {
    for (int k = 0; k < n; ++k) forget_gate[k] = 1.0f - forget_gate[k];
    input_gate = forget_gate;
  }
  for (int k = 0; k < n; ++k) cell[k] += cell_gate[k] * input_gate[k];
  if (clip > 0.0f) {
    for (int k = 0; k < n; ++k) cell[k] = std::max(-clip, std::min(clip, cell[k]));
  }
}

// ---------------------------------------------------------------------------------------------
// Float.

struct FloatLstmWeights {
  const float* input_to_gate[4] = {};  // [kInputGate] null under CIFG
  const float* recurrent_to_gate[4] = {};
  const float* cell_to_gate[4] = {};  // peephole, [kCellGate] always null
  const float* gate_bias[4] = {};
  const float* layer_norm[4] = {};  // all null without layer norm
  const float* projection = nullptr;
  const float* projection_bias = nullptr;
};

struct FloatLstmScratch {
  float* gate[4];  // n_batch * n_cell each ([kInputGate] unused under CIFG)
  float* hidden;   // n_batch * n_cell
};

// One step. `output` receives the new output state ([n_batch, n_output], contiguous).
inline void LstmStepFloat(const FloatLstmWeights& w, const LstmSizes& s, Activation act,
                          float cell_clip, float proj_clip, const float* input, float* output_state,
                          float* cell_state, const FloatLstmScratch& scratch, float* output) {
  const bool cifg = w.input_to_gate[kInputGate] == nullptr;
  const bool layer_norm = w.layer_norm[kForgetGate] != nullptr;
  const bool input_zero = IsZeroVector(input, s.n_batch * s.n_input);
  for (int g = 0; g < 4; ++g) {
    if (g == kInputGate && cifg) continue;
    if (g == kOutputGate) {
      UpdateCellFloat(s, cifg ? nullptr : scratch.gate[kInputGate], scratch.gate[kForgetGate],
                      scratch.gate[kCellGate], cell_clip, cell_state);
    }
    float* gate = scratch.gate[g];
    InitFloatGate(w.gate_bias[g], layer_norm, s, gate);
    if (!input_zero) {
      MatVecAccumulate(w.input_to_gate[g], s.n_cell, s.n_input, input, s.n_batch, gate);
    }
    MatVecAccumulate(w.recurrent_to_gate[g], s.n_cell, s.n_output, output_state, s.n_batch, gate);
    if (w.cell_to_gate[g] != nullptr) PeepholeAccumulate(w.cell_to_gate[g], cell_state, s, gate);
    FinishFloatGate(w.layer_norm[g], w.gate_bias[g], s, g == kCellGate ? act : Activation::kSigmoid,
                    gate);
  }
  const int n = s.n_batch * s.n_cell;
  CellOutputActivation(act, cell_state, scratch.gate[kCellGate], n, scratch.hidden);
  for (int k = 0; k < n; ++k) scratch.hidden[k] *= scratch.gate[kOutputGate][k];
  if (w.projection != nullptr) {
    for (int b = 0; b < s.n_batch; ++b) {
      for (int o = 0; o < s.n_output; ++o) {
        output_state[b * s.n_output + o] = w.projection_bias ? w.projection_bias[o] : 0.0f;
      }
    }
    MatVecAccumulate(w.projection, s.n_output, s.n_cell, scratch.hidden, s.n_batch, output_state);
    if (proj_clip > 0.0f) {
      for (int k = 0; k < s.n_batch * s.n_output; ++k) {
        output_state[k] = std::max(-proj_clip, std::min(proj_clip, output_state[k]));
      }
    }
  } else {
    std::memcpy(output_state, scratch.hidden, sizeof(float) * s.n_batch * s.n_output);
  }
  std::memcpy(output, output_state, sizeof(float) * s.n_batch * s.n_output);
}

// ---------------------------------------------------------------------------------------------
// Hybrid.

// Quantizes each of n_batch rows (TFLite's run-time quantization, requantize.h); `offsets` null
// means symmetric.
inline void BatchQuantizeFloats(const float* v, int n_batch, int n, int8_t* q, float* scales,
                                int32_t* offsets) {
  for (int b = 0; b < n_batch; ++b) {
    if (offsets != nullptr) {
      ::edgeopt::ref::AsymmetricQuantizeFloats(v + b * n, n, q + b * n, &scales[b], &offsets[b]);
    } else {
      ::edgeopt::ref::SymmetricQuantizeFloats(v + b * n, n, q + b * n, &scales[b]);
    }
  }
}

// out[b][r] += (dot(m[r], q[b]) - row_sums[r] * offsets[b]) * (scales[b] * matrix_scale). `offsets`
// null: symmetric (no row-sum term).
inline void HybridMatVecAccumulate(const int8_t* m, int rows, int cols, const int8_t* q,
                                   const float* scales, const int32_t* offsets,
                                   const int32_t* row_sums, float matrix_scale, int n_batch,
                                   float* out) {
  for (int b = 0; b < n_batch; ++b) {
    const int8_t* qb = q + b * cols;
    const float scale = scales[b] * matrix_scale;
    for (int r = 0; r < rows; ++r) {
      const int8_t* mr = m + r * cols;
      int64_t dot = 0;
      for (int c = 0; c < cols; ++c) dot += static_cast<int32_t>(mr[c]) * qb[c];
      int32_t dot32 = WrapToInt32(dot);
      if (offsets != nullptr) {
        const float corrected = static_cast<float>(dot32) -
                                static_cast<float>(row_sums[r]) * static_cast<float>(offsets[b]);
        dot32 = SaturatingToInt32(corrected);
      }
      out[b * rows + r] += static_cast<float>(dot32) * scale;
    }
  }
}

struct HybridLstmWeights {
  const int8_t* input_to_gate[4] = {};
  const int8_t* recurrent_to_gate[4] = {};
  const int8_t* cell_to_gate[4] = {};
  float input_to_gate_scale[4] = {};
  float recurrent_to_gate_scale[4] = {};
  float cell_to_gate_scale[4] = {};
  const float* gate_bias[4] = {};
  const float* layer_norm[4] = {};
  const int8_t* projection = nullptr;
  float projection_scale = 0.0f;
  const float* projection_bias = nullptr;
  // Row sums of the int8 matrices (asymmetric input quantization only).
  const int32_t* input_row_sums[4] = {};
  const int32_t* recurrent_row_sums[4] = {};
  const int32_t* projection_row_sums = nullptr;
};

struct HybridLstmScratch {
  float* gate[4];
  float* hidden;             // n_batch * n_cell
  int8_t* quantized_input;   // n_batch * n_input
  int8_t* quantized_state;   // n_batch * n_output
  int8_t* quantized_hidden;  // n_batch * n_cell
  float* input_sf;           // n_batch each
  float* state_sf;
  float* hidden_sf;
  int32_t* input_zp;  // n_batch each, used when asymmetric
  int32_t* state_zp;
  int32_t* hidden_zp;
  float* recovered_peephole;  // n_cell
};

inline void LstmStepHybrid(const HybridLstmWeights& w, const LstmSizes& s, Activation act,
                           float cell_clip, float proj_clip, bool asymmetric, const float* input,
                           float* output_state, float* cell_state, const HybridLstmScratch& scratch,
                           float* output) {
  const bool cifg = w.input_to_gate[kInputGate] == nullptr;
  const bool layer_norm = w.layer_norm[kForgetGate] != nullptr;
  const bool input_zero = IsZeroVector(input, s.n_batch * s.n_input);
  const bool state_zero = IsZeroVector(output_state, s.n_batch * s.n_output);
  int32_t* input_zp = asymmetric ? scratch.input_zp : nullptr;
  int32_t* state_zp = asymmetric ? scratch.state_zp : nullptr;
  if (!input_zero) {
    BatchQuantizeFloats(input, s.n_batch, s.n_input, scratch.quantized_input, scratch.input_sf,
                        input_zp);
  }
  if (!state_zero) {
    BatchQuantizeFloats(output_state, s.n_batch, s.n_output, scratch.quantized_state,
                        scratch.state_sf, state_zp);
  }
  for (int g = 0; g < 4; ++g) {
    if (g == kInputGate && cifg) continue;
    if (g == kOutputGate) {
      UpdateCellFloat(s, cifg ? nullptr : scratch.gate[kInputGate], scratch.gate[kForgetGate],
                      scratch.gate[kCellGate], cell_clip, cell_state);
    }
    float* gate = scratch.gate[g];
    InitFloatGate(w.gate_bias[g], layer_norm, s, gate);
    if (!input_zero) {
      HybridMatVecAccumulate(w.input_to_gate[g], s.n_cell, s.n_input, scratch.quantized_input,
                             scratch.input_sf, input_zp, w.input_row_sums[g],
                             w.input_to_gate_scale[g], s.n_batch, gate);
    }
    if (!state_zero) {
      HybridMatVecAccumulate(w.recurrent_to_gate[g], s.n_cell, s.n_output, scratch.quantized_state,
                             scratch.state_sf, state_zp, w.recurrent_row_sums[g],
                             w.recurrent_to_gate_scale[g], s.n_batch, gate);
    }
    if (w.cell_to_gate[g] != nullptr) {
      for (int i = 0; i < s.n_cell; ++i) {
        scratch.recovered_peephole[i] = w.cell_to_gate_scale[g] * w.cell_to_gate[g][i];
      }
      PeepholeAccumulate(scratch.recovered_peephole, cell_state, s, gate);
    }
    FinishFloatGate(w.layer_norm[g], w.gate_bias[g], s, g == kCellGate ? act : Activation::kSigmoid,
                    gate);
  }
  const int n = s.n_batch * s.n_cell;
  CellOutputActivation(act, cell_state, scratch.gate[kCellGate], n, scratch.hidden);
  for (int k = 0; k < n; ++k) scratch.hidden[k] *= scratch.gate[kOutputGate][k];
  if (w.projection != nullptr) {
    for (int b = 0; b < s.n_batch; ++b) {
      for (int o = 0; o < s.n_output; ++o) {
        output_state[b * s.n_output + o] = w.projection_bias ? w.projection_bias[o] : 0.0f;
      }
    }
    if (!IsZeroVector(scratch.hidden, n)) {
      int32_t* hidden_zp = asymmetric ? scratch.hidden_zp : nullptr;
      BatchQuantizeFloats(scratch.hidden, s.n_batch, s.n_cell, scratch.quantized_hidden,
                          scratch.hidden_sf, hidden_zp);
      HybridMatVecAccumulate(w.projection, s.n_output, s.n_cell, scratch.quantized_hidden,
                             scratch.hidden_sf, hidden_zp, w.projection_row_sums,
                             w.projection_scale, s.n_batch, output_state);
    }
    if (proj_clip > 0.0f) {
      for (int k = 0; k < s.n_batch * s.n_output; ++k) {
        output_state[k] = std::max(-proj_clip, std::min(proj_clip, output_state[k]));
      }
    }
  } else {
    std::memcpy(output_state, scratch.hidden, sizeof(float) * s.n_batch * s.n_output);
  }
  std::memcpy(output, output_state, sizeof(float) * s.n_batch * s.n_output);
}

// ---------------------------------------------------------------------------------------------
// Integer (8x8_16).

inline int16_t SaturateInt16(int64_t v) {
  return static_cast<int16_t>(std::min<int64_t>(32767, std::max<int64_t>(-32768, v)));
}

// out[b][r] = sat(out[b][r] + zp + MBQM(bias[r] + dot(m[r], v[b]))), with T int16 or int8.
template <typename T>
inline void IntegerMatVecAccumulate(const int8_t* v, const int32_t* bias, const int8_t* m,
                                    int32_t multiplier, int shift, int n_batch, int cols, int rows,
                                    int32_t zp, T* out) {
  const int64_t lo = std::numeric_limits<T>::min(), hi = std::numeric_limits<T>::max();
  for (int b = 0; b < n_batch; ++b) {
    const int8_t* vb = v + b * cols;
    for (int r = 0; r < rows; ++r) {
      const int8_t* mr = m + r * cols;
      int64_t acc = bias[r];
      for (int c = 0; c < cols; ++c) acc += static_cast<int32_t>(mr[c]) * vb[c];
      int64_t y = MulByQuantizedMultiplier(WrapToInt32(acc), multiplier, shift);
      y += zp;
      y += out[b * rows + r];
      out[b * rows + r] = static_cast<T>(std::min(hi, std::max(lo, y)));
    }
  }
}

// Integer layer normalization of an int16 gate (TFLite's ApplyLayerNorm).
inline void IntegerLayerNorm(const int16_t* in, const int16_t* weights, const int32_t* bias,
                             int32_t scale_multiplier, int scale_shift, int32_t variance_limit,
                             int n_batch, int n, int16_t* out) {
  constexpr int64_t kTwoToPower20 = int64_t{1} << 20;
  for (int b = 0; b < n_batch; ++b) {
    int64_t sum = 0, sum_sq = 0;
    for (int j = 0; j < n; ++j) {
      const int32_t v = in[b * n + j];
      sum += v;
      sum_sq += v * v;
    }
    const int32_t mean = WrapToInt32(sum * 1024 / n);
    const int32_t temp = static_cast<int32_t>(kTwoToPower20 / n);
    const int64_t variance = sum_sq * temp - static_cast<int64_t>(mean) * mean;
    int32_t variance2 = WrapToInt32(variance / kTwoToPower20);
    if (variance2 < 1) variance2 = variance_limit;
    int32_t inv_multiplier;
    int inv_shift;
    quant::fp::InvSqrtQuantizedMultiplierExp(variance2, -1, &inv_multiplier, &inv_shift);
    for (int j = 0; j < n; ++j) {
      const int32_t v = in[b * n + j];
      const int32_t shifted = WrapToInt32(int64_t{1024} * v - mean);
      const int32_t rescaled = MulByQuantizedMultiplier(shifted, inv_multiplier, inv_shift);
      // TFLite evaluates rescaled * weight + bias in 32 bits (wrapping) before widening.
      const int64_t v3 =
          WrapToInt32(static_cast<int64_t>(rescaled) * weights[j] + static_cast<int64_t>(bias[j]));
      const int32_t v4 = WrapToInt32((v3 > 0 ? v3 + 512 : v3 - 512) / 1024);
      const int32_t v5 = MulByQuantizedMultiplier(v4, scale_multiplier, scale_shift + 12);
      out[b * n + j] = SaturateInt16(v5);
    }
  }
}

template <int kIntegerBits>
inline void TanhInt16Impl(const int16_t* in, int n, int16_t* out) {
  for (int i = 0; i < n; ++i) {
    out[i] = quant::fp::Tanh(quant::fp::FixedPoint<int16_t, kIntegerBits>::FromRaw(in[i])).raw;
  }
}

// tanh of Q(integer_bits).(15 - integer_bits) values into Q0.15; integer_bits in [0, 6].
inline void TanhInt16(int integer_bits, const int16_t* in, int n, int16_t* out) {
  switch (integer_bits) {
    case 0:
      return TanhInt16Impl<0>(in, n, out);
    case 1:
      return TanhInt16Impl<1>(in, n, out);
    case 2:
      return TanhInt16Impl<2>(in, n, out);
    case 3:
      return TanhInt16Impl<3>(in, n, out);
    case 4:
      return TanhInt16Impl<4>(in, n, out);
    case 5:
      return TanhInt16Impl<5>(in, n, out);
    default:
      return TanhInt16Impl<6>(in, n, out);
  }
}

// Logistic of Q3.12 values into Q0.15.
inline void SigmoidInt16(const int16_t* in, int n, int16_t* out) {
  for (int i = 0; i < n; ++i) {
    out[i] = quant::fp::Logistic(quant::fp::FixedPoint<int16_t, 3>::FromRaw(in[i])).raw;
  }
}

struct IntegerLstmGateParams {
  const int8_t* input_weights = nullptr;
  const int32_t* input_effective_bias = nullptr;
  int32_t input_multiplier = 0;
  int input_shift = 0;
  const int8_t* recurrent_weights = nullptr;
  const int32_t* recurrent_effective_bias = nullptr;
  int32_t recurrent_multiplier = 0;
  int recurrent_shift = 0;
  const int16_t* cell_weights = nullptr;  // peephole
  int32_t cell_multiplier = 0;
  int cell_shift = 0;
  const int16_t* layer_norm = nullptr;
  const int32_t* layer_norm_bias = nullptr;  // the gate bias, applied inside layer norm
  int32_t layer_norm_multiplier = 0;
  int layer_norm_shift = 0;
  int32_t variance_guard = 1;
};

struct IntegerLstmParams {
  IntegerLstmGateParams gate[4];  // [kInputGate] weights null under CIFG
  int32_t hidden_multiplier = 0;
  int hidden_shift = 0;
  int32_t hidden_zp = 0;
  const int8_t* projection = nullptr;
  const int32_t* projection_effective_bias = nullptr;
  int32_t projection_multiplier = 0;
  int projection_shift = 0;
  int16_t cell_clip = 0;
  int8_t proj_clip = 0;
  int cell_scale = 0;  // log2 of the cell state scale
  int32_t output_state_zp = 0;
};

struct IntegerLstmScratch {
  int16_t* gate[4];  // n_batch * n_cell each
  int16_t* tanh;     // n_batch * n_cell
  int8_t* hidden;    // n_batch * n_cell
};

inline void IntegerGate(const IntegerLstmGateParams& p, const LstmSizes& s, const int8_t* input,
                        const int8_t* output_state, const int16_t* cell_state, bool sigmoid,
                        int16_t* gate) {
  const int n = s.n_batch * s.n_cell;
  std::fill_n(gate, n, int16_t{0});
  IntegerMatVecAccumulate(input, p.input_effective_bias, p.input_weights, p.input_multiplier,
                          p.input_shift, s.n_batch, s.n_input, s.n_cell, 0, gate);
  IntegerMatVecAccumulate(output_state, p.recurrent_effective_bias, p.recurrent_weights,
                          p.recurrent_multiplier, p.recurrent_shift, s.n_batch, s.n_output,
                          s.n_cell, 0, gate);
  if (p.cell_weights != nullptr) {
    // TFLite passes n_output as the vector size here (equal to n_cell without projection; Prepare
    // refuses n_output > n_cell with peepholes).
    const int v = s.n_output;
    int16_t* out = gate;
    const int16_t* c = cell_state;
    for (int b = 0; b < s.n_batch; ++b) {
      for (int i = 0; i < v; ++i) {
        const int32_t prod = static_cast<int32_t>(p.cell_weights[i]) * *c++;
        const int32_t y = MulByQuantizedMultiplier(prod, p.cell_multiplier, p.cell_shift);
        *out = SaturateInt16(static_cast<int64_t>(y) + *out);
        ++out;
      }
    }
  }
  if (p.layer_norm != nullptr) {
    IntegerLayerNorm(gate, p.layer_norm, p.layer_norm_bias, p.layer_norm_multiplier,
                     p.layer_norm_shift, p.variance_guard, s.n_batch, s.n_cell, gate);
  }
  if (sigmoid) {
    SigmoidInt16(gate, n, gate);
  } else {
    TanhInt16(3, gate, n, gate);
  }
}

// (a * b) / 2^shift rounded, narrowed to int16 with wrap-around (as TFLite's CwiseMul).
inline int16_t MulShiftInt16(int16_t a, int16_t b, int shift) {
  const int32_t prod = static_cast<int32_t>(a) * b;
  return static_cast<int16_t>(
      static_cast<uint16_t>(static_cast<uint32_t>(quant::RoundingDivideByPOT(prod, shift))));
}

inline void LstmStepInteger(const IntegerLstmParams& p, const LstmSizes& s, const int8_t* input,
                            int8_t* output_state, int16_t* cell_state,
                            const IntegerLstmScratch& scratch, int8_t* output) {
  const bool cifg = p.gate[kInputGate].input_weights == nullptr;
  for (int g = 0; g < 3; ++g) {
    if (g == kInputGate && cifg) continue;
    IntegerGate(p.gate[g], s, input, output_state, g == kCellGate ? nullptr : cell_state,
                g != kCellGate, scratch.gate[g]);
  }
  // Cell update: c = sat(f * c >> 15 + i * g >> (30 + cell_scale)), i = 1 - f under CIFG.
  const int n = s.n_batch * s.n_cell;
  int16_t* forget = scratch.gate[kForgetGate];
  const int16_t* cell_gate = scratch.gate[kCellGate];
  const int16_t* input_gate = cifg ? nullptr : scratch.gate[kInputGate];
  const int ig_shift = 30 + p.cell_scale;
  for (int k = 0; k < n; ++k) {
    const int16_t fc = MulShiftInt16(forget[k], cell_state[k], 15);
    const int16_t i = cifg ? static_cast<int16_t>(32767 - forget[k]) : input_gate[k];
    const int16_t ig = MulShiftInt16(i, cell_gate[k], ig_shift);
    int16_t c = SaturateInt16(static_cast<int32_t>(fc) + ig);
    if (p.cell_clip > 0) c = std::max<int16_t>(-p.cell_clip, std::min<int16_t>(p.cell_clip, c));
    cell_state[k] = c;
  }
  IntegerGate(p.gate[kOutputGate], s, input, output_state, cell_state, true,
              scratch.gate[kOutputGate]);
  // Hidden = tanh(c) * o, requantized to int8.
  TanhInt16(15 + p.cell_scale, cell_state, n, scratch.tanh);
  const int16_t* o = scratch.gate[kOutputGate];
  for (int k = 0; k < n; ++k) {
    const int32_t prod = static_cast<int32_t>(o[k]) * scratch.tanh[k];
    int64_t y = MulByQuantizedMultiplier(prod, p.hidden_multiplier, p.hidden_shift);
    y += p.hidden_zp;
    scratch.hidden[k] = static_cast<int8_t>(std::min<int64_t>(127, std::max<int64_t>(-128, y)));
  }
  if (p.projection != nullptr) {
    std::fill_n(output_state, s.n_batch * s.n_output, int8_t{0});
    IntegerMatVecAccumulate(scratch.hidden, p.projection_effective_bias, p.projection,
                            p.projection_multiplier, p.projection_shift, s.n_batch, s.n_cell,
                            s.n_output, p.output_state_zp, output_state);
    if (p.proj_clip > 0) {
      for (int k = 0; k < s.n_batch * s.n_output; ++k) {
        output_state[k] =
            std::max<int8_t>(-p.proj_clip, std::min<int8_t>(p.proj_clip, output_state[k]));
      }
    }
  } else {
    std::memcpy(output_state, scratch.hidden, s.n_batch * s.n_output);
  }
  std::memcpy(output, output_state, s.n_batch * s.n_output);
}

}  // namespace ref
}  // namespace rt
}  // namespace edgeopt

#endif  // EDGEOPT_SRC_RUNTIME_KERNELS_REFERENCE_LSTM_H_
