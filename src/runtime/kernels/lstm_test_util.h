// Test helpers: single-op LSTM models (UNIDIRECTIONAL_SEQUENCE_LSTM or LSTM)
// with random weights in every variant and optional-tensor combination, and an
// extractor that rebuilds a corpus model's LSTM node as a single-op model.
#ifndef EDGEOPT_SRC_RUNTIME_KERNELS_LSTM_TEST_UTIL_H_
#define EDGEOPT_SRC_RUNTIME_KERNELS_LSTM_TEST_UTIL_H_

#include <cmath>
#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "tests/model_builder.h"

namespace edgeopt {
namespace testing {

enum class LstmVariant { kFloat, kHybrid, kInteger };

struct LstmSpec {
  LstmVariant variant = LstmVariant::kFloat;
  bool single_step = false;  // the LSTM op instead of UNIDIRECTIONAL_SEQUENCE_LSTM
  int n_batch = 2;
  int max_time = 3;
  int n_input = 4;
  int n_cell = 5;
  int n_output = 5;  // == n_cell unless projection
  bool cifg = false;
  bool peephole = false;
  bool projection = false;
  bool projection_bias = false;
  bool layer_norm = false;
  bool time_major = false;
  bool asymmetric = false;
  float cell_clip = 0.0f;
  float proj_clip = 0.0f;
  tflite::ActivationFunctionType activation = tflite::ActivationFunctionType::TANH;
  // Integer variant quantization.
  int64_t input_zp = 5;
  int64_t state_zp = 0;   // output state (and output when no projection)
  int64_t hidden_zp = 0;  // intermediate 4
  float state_scale = 1.0f / 128;
  float hidden_scale = 1.0f / 128;
  float cell_scale = 1.0f / 2048;  // 2^-11
  int num_inputs = 24;             // 20: old layout without layer norm inputs
  uint32_t seed = 1;
  // Error-case knobs.
  bool states_not_variable = false;
  bool state_constant = false;
  int bad_weight_rows = 0;  // added to input_to_forget_weights' first dim
  bool no_intermediates = false;
  bool per_channel_weights = false;
};

inline std::vector<int32_t> LstmInputShape(const LstmSpec& s) {
  if (s.single_step) return {s.n_batch, s.n_input};
  return s.time_major ? std::vector<int32_t>{s.max_time, s.n_batch, s.n_input}
                      : std::vector<int32_t>{s.n_batch, s.max_time, s.n_input};
}

inline std::vector<int32_t> LstmOutputShape(const LstmSpec& s) {
  std::vector<int32_t> shape = LstmInputShape(s);
  shape.back() = s.n_output;
  return shape;
}

class LstmModelMaker {
 public:
  explicit LstmModelMaker(const LstmSpec& s) : s_(s), rng_(s.seed) {}

  std::vector<uint8_t> Build() {
    const bool integer = s_.variant == LstmVariant::kInteger;
    const bool hybrid = s_.variant == LstmVariant::kHybrid;
    const float input_scale = 1.0f / 64;
    std::vector<int> in(s_.num_inputs, -1);
    in[0] = integer ? b_.AddInput(DType::kInt8, LstmInputShape(s_), {input_scale}, {s_.input_zp})
                    : b_.AddInput(DType::kFloat32, LstmInputShape(s_));
    for (int g = 0; g < 4; ++g) {
      if (g == 0 && s_.cifg) continue;
      const int rows = s_.n_cell + (g == 1 ? s_.bad_weight_rows : 0);
      in[1 + g] = Weight(rows, s_.n_input, 0.5f);
      in[5 + g] = Weight(s_.n_cell, s_.n_output, 0.4f);
      in[12 + g] = Bias(s_.n_cell, 0.5f, input_scale * WeightScale(0.5f));
      if (s_.peephole && g != 2) in[9 + g - (g == 3 ? 1 : 0)] = Peephole();
      if (s_.layer_norm && s_.num_inputs == 24) in[20 + g] = LayerNorm();
    }
    if (s_.projection) {
      in[16] = Weight(s_.n_output, s_.n_cell, 0.3f);
      if (s_.projection_bias) in[17] = Bias(s_.n_output, 0.2f, s_.hidden_scale * WeightScale(0.3f));
    }
    const std::vector<int32_t> state_shape = {s_.n_batch, s_.n_output};
    const std::vector<int32_t> cell_shape = {s_.n_batch, s_.n_cell};
    if (integer) {
      in[18] = State(DType::kInt8, state_shape, {s_.state_scale}, {s_.state_zp});
      in[19] = State(DType::kInt16, cell_shape, {s_.cell_scale}, {0});
    } else {
      in[18] = State(DType::kFloat32, state_shape, {}, {});
      in[19] = State(DType::kFloat32, cell_shape, {}, {});
    }
    const int out =
        integer ? b_.AddOutput(DType::kInt8, LstmOutputShape(s_), {s_.state_scale}, {s_.state_zp})
                : b_.AddOutput(DType::kFloat32, LstmOutputShape(s_));
    std::vector<int> intermediates;
    if (integer && !s_.no_intermediates) {
      for (int g = 0; g < 4; ++g) {
        intermediates.push_back(s_.layer_norm ? b_.AddTensor(DType::kInt16, {0}, {1.0f / 1024}, {0})
                                              : b_.AddTensor(DType::kFloat32, {0}));
      }
      intermediates.push_back(b_.AddTensor(DType::kInt8, {0}, {s_.hidden_scale}, {s_.hidden_zp}));
    }
    const LstmSpec s = s_;
    (void)hybrid;
    if (s.single_step) {
      b_.AddOperator(
          tflite::BuiltinOperator::LSTM, in, {out},
          [s](flatbuffers::FlatBufferBuilder& fb) {
            return MakeOptions(
                tflite::BuiltinOptions::LSTMOptions,
                tflite::CreateLSTMOptions(fb, s.activation, s.cell_clip, s.proj_clip,
                                          tflite::LSTMKernelType::FULL, s.asymmetric));
          },
          1, intermediates);
    } else {
      b_.AddOperator(
          tflite::BuiltinOperator::UNIDIRECTIONAL_SEQUENCE_LSTM, in, {out},
          [s](flatbuffers::FlatBufferBuilder& fb) {
            return MakeOptions(
                tflite::BuiltinOptions::UnidirectionalSequenceLSTMOptions,
                tflite::CreateUnidirectionalSequenceLSTMOptions(
                    fb, s.activation, s.cell_clip, s.proj_clip, s.time_major, s.asymmetric));
          },
          1, intermediates);
    }
    return b_.Build();
  }

  // Random inputs for this spec.
  NpyArray Input(uint32_t seed) const {
    if (s_.variant == LstmVariant::kInteger) {
      return RandomArray(DType::kInt8, LstmInputShape(s_), seed, -128, 127);
    }
    return RandomArray(DType::kFloat32, LstmInputShape(s_), seed, -1, 1);
  }

 private:
  float Uniform(float lo, float hi) { return std::uniform_real_distribution<float>(lo, hi)(rng_); }
  int32_t UniformInt(int32_t lo, int32_t hi) {
    return std::uniform_int_distribution<int32_t>(lo, hi)(rng_);
  }
  // Per-tensor scale of a weight with values up to `range`.
  static float WeightScale(float range) { return range / 127.0f; }

  int Weight(int rows, int cols, float range) {
    const std::vector<int32_t> shape = {rows, cols};
    const int n = rows * cols;
    if (s_.variant == LstmVariant::kFloat) {
      std::vector<float> v(n);
      for (float& x : v) x = Uniform(-range, range);
      return b_.AddConstant(DType::kFloat32, shape, v);
    }
    std::vector<int8_t> v(n);
    for (int8_t& x : v) x = static_cast<int8_t>(UniformInt(-127, 127));
    // Slightly different scale per tensor.
    const float scale = WeightScale(range) * Uniform(0.8f, 1.2f);
    if (s_.per_channel_weights) {
      std::vector<float> scales(rows, scale);
      std::vector<int64_t> zps(rows, 0);
      return b_.AddConstant(DType::kInt8, shape, v, scales, zps, 0);
    }
    return b_.AddConstant(DType::kInt8, shape, v, {scale}, {0});
  }

  int Bias(int n, float range, float int_scale) {
    if (s_.variant == LstmVariant::kInteger) {
      std::vector<int32_t> v(n);
      const int32_t q = static_cast<int32_t>(range / int_scale);
      for (int32_t& x : v) x = UniformInt(-q, q);
      return b_.AddConstant(DType::kInt32, {n}, v, {int_scale}, {0});
    }
    std::vector<float> v(n);
    for (float& x : v) x = Uniform(-range, range);
    return b_.AddConstant(DType::kFloat32, {n}, v);
  }

  int Peephole() {
    const int n = s_.n_cell;
    if (s_.variant == LstmVariant::kFloat) {
      std::vector<float> v(n);
      for (float& x : v) x = Uniform(-0.5f, 0.5f);
      return b_.AddConstant(DType::kFloat32, {n}, v);
    }
    if (s_.variant == LstmVariant::kHybrid) {
      std::vector<int8_t> v(n);
      for (int8_t& x : v) x = static_cast<int8_t>(UniformInt(-127, 127));
      return b_.AddConstant(DType::kInt8, {n}, v, {0.5f / 127}, {0});
    }
    std::vector<int16_t> v(n);
    for (int16_t& x : v) x = static_cast<int16_t>(UniformInt(-32767, 32767));
    return b_.AddConstant(DType::kInt16, {n}, v, {0.5f / 32767}, {0});
  }

  int LayerNorm() {
    const int n = s_.n_cell;
    if (s_.variant == LstmVariant::kInteger) {
      std::vector<int16_t> v(n);
      for (int16_t& x : v) x = static_cast<int16_t>(UniformInt(10000, 32767));
      return b_.AddConstant(DType::kInt16, {n}, v, {1.5f / 32767}, {0});
    }
    std::vector<float> v(n);
    for (float& x : v) x = Uniform(0.5f, 1.5f);
    return b_.AddConstant(DType::kFloat32, {n}, v);
  }

  int State(DType type, const std::vector<int32_t>& shape, const std::vector<float>& scales,
            const std::vector<int64_t>& zps) {
    if (s_.state_constant) {
      int64_t n = 1;
      for (int32_t d : shape) n *= d;
      std::vector<uint8_t> zeros(n * DTypeSize(type), 0);
      return b_.AddConstantBytes(type, shape, zeros, scales, zps);
    }
    if (s_.states_not_variable) return b_.AddTensor(type, shape, scales, zps);
    return b_.AddVariable(type, shape, scales, zps);
  }

  LstmSpec s_;
  std::mt19937 rng_;
  ModelBuilder b_;
};

inline std::vector<uint8_t> MakeLstmModel(const LstmSpec& spec) {
  return LstmModelMaker(spec).Build();
}

}  // namespace testing
}  // namespace edgeopt

#endif  // EDGEOPT_SRC_RUNTIME_KERNELS_LSTM_TEST_UTIL_H_
