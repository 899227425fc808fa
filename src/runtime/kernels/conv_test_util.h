// Test helpers for the conv-family kernel tests: one-op models (CONV_2D, DEPTHWISE_CONV_2D,
// FULLY_CONNECTED, TRANSPOSE_CONV) with random weights and TFLite-spec quantization for every
// variant, and a comparison against tflite-ref that keeps an LSB histogram. Header-only (each
// _test.cc includes it).
#ifndef EDGEOPT_SRC_RUNTIME_KERNELS_CONV_TEST_UTIL_H_
#define EDGEOPT_SRC_RUNTIME_KERNELS_CONV_TEST_UTIL_H_

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <map>
#include <random>
#include <string>
#include <vector>

#include "src/runtime/interpreter.h"
#include "src/runtime/kernels/sparse_test_util.h"
#include "tests/model_builder.h"

namespace edgeopt {
namespace testing {
namespace conv {

enum class Variant {
  kFloat,
  kInt8PerChannel,
  kInt8PerTensor,
  kUInt8,
  kInt16x8,        // int16 activations, int8 per-channel weights, int64 bias
  kInt16x8Bias32,  // same with an int32 bias (newer converters)
  kHybridPerChannel,
  kHybridPerTensor,
};

inline const char* VariantName(Variant v) {
  switch (v) {
    case Variant::kFloat:
      return "float";
    case Variant::kInt8PerChannel:
      return "int8/per-channel";
    case Variant::kInt8PerTensor:
      return "int8/per-tensor";
    case Variant::kUInt8:
      return "uint8";
    case Variant::kInt16x8:
      return "16x8";
    case Variant::kInt16x8Bias32:
      return "16x8/bias32";
    case Variant::kHybridPerChannel:
      return "hybrid/per-channel";
    case Variant::kHybridPerTensor:
      return "hybrid/per-tensor";
  }
  return "?";
}

inline bool IsHybrid(Variant v) {
  return v == Variant::kHybridPerChannel || v == Variant::kHybridPerTensor;
}

inline DType ActivationType(Variant v) {
  switch (v) {
    case Variant::kInt8PerChannel:
    case Variant::kInt8PerTensor:
      return DType::kInt8;
    case Variant::kUInt8:
      return DType::kUInt8;
    case Variant::kInt16x8:
    case Variant::kInt16x8Bias32:
      return DType::kInt16;
    default:
      return DType::kFloat32;
  }
}

struct OpConfig {
  tflite::BuiltinOperator op = tflite::BuiltinOperator::CONV_2D;
  Variant variant = Variant::kFloat;
  // CONV_2D / DEPTHWISE_CONV_2D / TRANSPOSE_CONV (NHWC)
  int batch = 1, in_h = 5, in_w = 5, in_c = 3;
  int filter_h = 3, filter_w = 3;
  int out_c = 4;  // CONV_2D, TRANSPOSE_CONV, FULLY_CONNECTED units
  int groups = 1;
  int depth_multiplier = 1;
  int stride_h = 1, stride_w = 1, dilation_h = 1, dilation_w = 1;
  int out_h = 0, out_w = 0;  // TRANSPOSE_CONV output size
  tflite::Padding padding = tflite::Padding::SAME;
  tflite::ActivationFunctionType activation = tflite::ActivationFunctionType::NONE;
  bool bias = true;
  // FULLY_CONNECTED
  std::vector<int32_t> fc_input;  // input shape; the last dimension (or the flattened size /
  int fc_in = 0;                  // batch) is fc_in
  bool keep_num_dims = false;
  bool asymmetric_inputs = false;
  // Hybrid input range (shifted to exercise asymmetric quantization).
  float hybrid_lo = -0.5f, hybrid_hi = 1.5f;
  // Float weights: the fraction kept; the others are set to 0 (a pruned filter). int8 weights
  // (not uint8): the fraction of aligned 1 x weight_block groups of each filter row kept.
  double weight_density = 1.0;
  int weight_block = 1;
  uint32_t seed = 1;

  std::string Describe() const {
    char buf[400];
    std::snprintf(buf, sizeof(buf),
                  "%s %s batch=%d in=%dx%dx%d filter=%dx%d out_c=%d groups=%d dm=%d "
                  "stride=%dx%d "
                  "dil=%dx%d pad=%s act=%s bias=%d fc_in=%d keep=%d asym=%d seed=%u",
                  tflite::EnumNameBuiltinOperator(op), VariantName(variant), batch, in_h, in_w,
                  in_c, filter_h, filter_w, out_c, groups, depth_multiplier, stride_h, stride_w,
                  dilation_h, dilation_w, tflite::EnumNamePadding(padding),
                  tflite::EnumNameActivationFunctionType(activation), bias ? 1 : 0, fc_in,
                  keep_num_dims ? 1 : 0, asymmetric_inputs ? 1 : 0, seed);
    return buf;
  }
};

struct BuiltOp {
  std::vector<uint8_t> model;
  std::vector<NpyArray> inputs;
};

inline int OutSize(tflite::Padding p, int in, int filter, int stride, int dilation) {
  const int eff = (filter - 1) * dilation + 1;
  return p == tflite::Padding::SAME ? (in + stride - 1) / stride : (in - eff + stride) / stride;
}

// Builds the one-op model of `c` with random weights and quantization parameters, plus random
// inputs.
inline BuiltOp BuildOp(const OpConfig& c) {
  std::mt19937 rng(c.seed * 7919u + 13u);
  auto uniform = [&](double lo, double hi) {
    return std::uniform_real_distribution<double>(lo, hi)(rng);
  };
  auto randint = [&](int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(rng); };
  using Op = tflite::BuiltinOperator;
  const Variant v = c.variant;
  const DType act_type = ActivationType(v);
  const bool float_weights = v == Variant::kFloat;
  const bool uint8 = v == Variant::kUInt8;
  // TFLite 2.9 has no per-channel quantized FULLY_CONNECTED: per-tensor weights there, except for
  // kInt8PerChannel (which then cannot be compared with tflite-ref).
  const bool per_tensor = v == Variant::kInt8PerTensor || v == Variant::kHybridPerTensor || uint8 ||
                          (c.op == tflite::BuiltinOperator::FULLY_CONNECTED &&
                           v != Variant::kInt8PerChannel && v != Variant::kHybridPerChannel);

  // Shapes.
  std::vector<int32_t> in_shape, w_shape, out_shape;
  int channels = 0;      // output channels (quantization axis length)
  int q_axis = 0;        // weights' quantized dimension
  int64_t products = 0;  // products summed per output (for the output scale)
  if (c.op == Op::CONV_2D) {
    in_shape = {c.batch, c.in_h, c.in_w, c.in_c};
    w_shape = {c.out_c, c.filter_h, c.filter_w, c.in_c / c.groups};
    channels = c.out_c;
    out_shape = {c.batch, OutSize(c.padding, c.in_h, c.filter_h, c.stride_h, c.dilation_h),
                 OutSize(c.padding, c.in_w, c.filter_w, c.stride_w, c.dilation_w), c.out_c};
    products = int64_t{c.filter_h} * c.filter_w * (c.in_c / c.groups);
  } else if (c.op == Op::DEPTHWISE_CONV_2D) {
    in_shape = {c.batch, c.in_h, c.in_w, c.in_c};
    channels = c.in_c * c.depth_multiplier;
    w_shape = {1, c.filter_h, c.filter_w, channels};
    q_axis = 3;
    out_shape = {c.batch, OutSize(c.padding, c.in_h, c.filter_h, c.stride_h, c.dilation_h),
                 OutSize(c.padding, c.in_w, c.filter_w, c.stride_w, c.dilation_w), channels};
    products = int64_t{c.filter_h} * c.filter_w;
  } else if (c.op == Op::TRANSPOSE_CONV) {
    in_shape = {c.batch, c.in_h, c.in_w, c.in_c};
    w_shape = {c.out_c, c.filter_h, c.filter_w, c.in_c};
    channels = c.out_c;
    out_shape = {c.batch, c.out_h, c.out_w, c.out_c};
    products = std::max<int64_t>(
        1, int64_t{c.filter_h} * c.filter_w * c.in_c / (int64_t{c.stride_h} * c.stride_w));
  } else {  // FULLY_CONNECTED
    in_shape = c.fc_input;
    int64_t elements = 1;
    for (int32_t d : in_shape) elements *= d;
    w_shape = {c.out_c, c.fc_in};
    channels = c.out_c;
    if (c.keep_num_dims) {
      out_shape = in_shape;
      out_shape.back() = c.out_c;
    } else {
      out_shape = {static_cast<int32_t>(elements / c.fc_in), c.out_c};
    }
    products = c.fc_in;
  }
  int64_t w_count = 1;
  for (int32_t d : w_shape) w_count *= d;

  // Quantization parameters.
  std::vector<float> in_scales, out_scales, w_scales;
  std::vector<int64_t> in_zps, out_zps, w_zps;
  double x_std = 0, w_std = 73.0;
  if (act_type == DType::kInt8) {
    in_scales = {0.02f};
    in_zps = {randint(-20, 20)};
    x_std = 74;
  } else if (act_type == DType::kUInt8) {
    in_scales = {0.02f};
    in_zps = {randint(108, 148)};
    x_std = 74;
  } else if (act_type == DType::kInt16) {
    in_scales = {0.0005f};
    in_zps = {0};
    x_std = 18900;
  }
  if (!float_weights) {
    if (per_tensor) {
      w_scales = {static_cast<float>(uniform(0.004, 0.02))};
      w_zps = {uint8 ? randint(100, 150) : 0};
    } else {
      for (int i = 0; i < channels; ++i)
        w_scales.push_back(static_cast<float>(uniform(0.002, 0.02)));
      w_zps.assign(channels, 0);
    }
  }
  double mean_w_scale = 0;
  for (float s : w_scales) mean_w_scale += s;
  if (!w_scales.empty()) mean_w_scale /= w_scales.size();
  if (act_type != DType::kFloat32) {
    const double real_std =
        std::sqrt(static_cast<double>(products)) * x_std * w_std * in_scales[0] * mean_w_scale;
    const double levels = act_type == DType::kInt16 ? 12000.0 : 50.0;
    out_scales = {static_cast<float>(std::max(real_std / levels, 1e-6))};
    if (act_type == DType::kInt8) out_zps = {randint(-10, 10)};
    if (act_type == DType::kUInt8) out_zps = {randint(118, 138)};
    if (act_type == DType::kInt16) out_zps = {0};
  }

  ModelBuilder m;
  const int x = m.AddInput(act_type, in_shape, in_scales, in_zps);
  int w = -1;
  if (float_weights) {
    std::vector<float> values(w_count);
    for (float& f : values) f = static_cast<float>(uniform(-1, 1));
    if (c.weight_density < 1.0) {  // own stream: other draws unchanged
      rt::PruneRandomly(&values, c.weight_density, c.seed * 104729u + 7u);
    }
    w = m.AddConstant<float>(DType::kFloat32, w_shape, values);
  } else if (uint8) {
    std::vector<uint8_t> values(w_count);
    for (uint8_t& q : values) q = static_cast<uint8_t>(randint(0, 255));
    w = m.AddConstant<uint8_t>(DType::kUInt8, w_shape, values, w_scales, w_zps, q_axis);
  } else {
    std::vector<int8_t> values(w_count);
    for (int8_t& q : values) q = static_cast<int8_t>(randint(-127, 127));
    if (c.weight_density < 1.0) {  // own stream: other draws unchanged
      std::mt19937 prune_rng(c.seed * 104729u + 7u);
      std::uniform_real_distribution<double> keep(0.0, 1.0);
      const int64_t row = w_count / w_shape[0];
      for (int64_t r = 0; r < w_count; r += row) {
        for (int64_t k0 = 0; k0 < row; k0 += c.weight_block) {
          if (keep(prune_rng) < c.weight_density) continue;
          for (int64_t k = k0; k < std::min<int64_t>(row, k0 + c.weight_block); ++k) {
            values[r + k] = 0;
          }
        }
      }
    }
    w = m.AddConstant<int8_t>(DType::kInt8, w_shape, values, w_scales, w_zps, q_axis);
  }
  int b = -1;
  if (c.bias) {
    if (act_type == DType::kFloat32) {
      std::vector<float> values(channels);
      for (float& f : values) f = static_cast<float>(uniform(-1, 1));
      b = m.AddConstant<float>(DType::kFloat32, {channels}, values);
    } else {
      std::vector<float> scales;
      for (float s : w_scales) scales.push_back(s * in_scales[0]);
      std::vector<int64_t> zps(scales.size(), 0);
      const double spread = std::sqrt(static_cast<double>(products)) * x_std * w_std;
      if (v == Variant::kInt16x8) {
        std::vector<int64_t> values(channels);
        for (int64_t& q : values) q = static_cast<int64_t>(uniform(-spread, spread));
        b = m.AddConstant<int64_t>(DType::kInt64, {channels}, values, scales, zps);
      } else {
        std::vector<int32_t> values(channels);
        for (int32_t& q : values) q = static_cast<int32_t>(uniform(-spread, spread));
        b = m.AddConstant<int32_t>(DType::kInt32, {channels}, values, scales, zps);
      }
    }
  }
  const int y = m.AddOutput(act_type, out_shape, out_scales, out_zps);

  const tflite::ActivationFunctionType act = c.activation;
  if (c.op == Op::CONV_2D) {
    const int version =
        v == Variant::kFloat ? 1 : (IsHybrid(v) ? 2 : (act_type == DType::kInt16 ? 4 : 3));
    m.AddOperator(
        Op::CONV_2D, c.bias ? std::vector<int>{x, w, b} : std::vector<int>{x, w}, {y},
        [c, act](flatbuffers::FlatBufferBuilder& fb) {
          return MakeOptions(tflite::BuiltinOptions::Conv2DOptions,
                             tflite::CreateConv2DOptions(fb, c.padding, c.stride_w, c.stride_h, act,
                                                         c.dilation_w, c.dilation_h));
        },
        uint8 ? 1 : version);
  } else if (c.op == Op::DEPTHWISE_CONV_2D) {
    const int version =
        v == Variant::kFloat ? 2 : (IsHybrid(v) ? 6 : (act_type == DType::kInt16 ? 5 : 3));
    m.AddOperator(
        Op::DEPTHWISE_CONV_2D, c.bias ? std::vector<int>{x, w, b} : std::vector<int>{x, w}, {y},
        [c, act](flatbuffers::FlatBufferBuilder& fb) {
          return MakeOptions(tflite::BuiltinOptions::DepthwiseConv2DOptions,
                             tflite::CreateDepthwiseConv2DOptions(fb, c.padding, c.stride_w,
                                                                  c.stride_h, c.depth_multiplier,
                                                                  act, c.dilation_w, c.dilation_h));
        },
        uint8 ? 2 : version);
  } else if (c.op == Op::TRANSPOSE_CONV) {
    const int shape =
        m.AddConstant<int32_t>(DType::kInt32, {4}, {c.batch, c.out_h, c.out_w, c.out_c});
    std::vector<int> inputs = {shape, w, x};
    if (c.bias) inputs.push_back(b);
    m.AddOperator(
        Op::TRANSPOSE_CONV, inputs, {y},
        [c](flatbuffers::FlatBufferBuilder& fb) {
          return MakeOptions(
              tflite::BuiltinOptions::TransposeConvOptions,
              tflite::CreateTransposeConvOptions(fb, c.padding, c.stride_w, c.stride_h));
        },
        act_type == DType::kInt16 || c.bias ? 3 : (v == Variant::kFloat ? 1 : 2));
  } else {
    int version = 1;
    if (v == Variant::kInt8PerChannel || v == Variant::kInt8PerTensor) version = 4;
    if (act_type == DType::kInt16) version = 7;
    if (IsHybrid(v)) version = c.asymmetric_inputs ? 9 : 3;
    if (c.keep_num_dims) version = std::max(version, 5);
    m.AddOperator(
        Op::FULLY_CONNECTED, {x, w, b}, {y},
        [c, act](flatbuffers::FlatBufferBuilder& fb) {
          return MakeOptions(tflite::BuiltinOptions::FullyConnectedOptions,
                             tflite::CreateFullyConnectedOptions(
                                 fb, act, tflite::FullyConnectedOptionsWeightsFormat::DEFAULT,
                                 c.keep_num_dims, c.asymmetric_inputs));
        },
        version);
  }
  BuiltOp out;
  out.model = m.Build();
  if (act_type == DType::kFloat32) {
    const double lo = IsHybrid(v) ? c.hybrid_lo : -1.0, hi = IsHybrid(v) ? c.hybrid_hi : 1.0;
    out.inputs.push_back(RandomArray(DType::kFloat32, in_shape, c.seed + 1000, lo, hi));
  } else {
    out.inputs.push_back(RandomArray(act_type, in_shape, c.seed + 1000, -1e9, 1e9));
  }
  return out;
}

// Integer differences (in LSB) seen over a test, for the report.
struct LsbHistogram {
  std::map<int64_t, int64_t> counts;
  double max_float_diff = 0;
  int64_t float_values = 0, float_exact = 0;

  void Add(const NpyArray& ours, const NpyArray& ref) {
    if (ours.dtype != ref.dtype || ours.data.size() != ref.data.size()) return;
    const int64_t n = ref.NumElements();
    for (int64_t i = 0; i < n; ++i) {
      switch (ref.dtype) {
        case DType::kInt8:
          ++counts[std::llabs(int64_t{ours.Data<int8_t>()[i]} - ref.Data<int8_t>()[i])];
          break;
        case DType::kUInt8:
          ++counts[std::llabs(int64_t{ours.Data<uint8_t>()[i]} - ref.Data<uint8_t>()[i])];
          break;
        case DType::kInt16:
          ++counts[std::llabs(int64_t{ours.Data<int16_t>()[i]} - ref.Data<int16_t>()[i])];
          break;
        case DType::kFloat32: {
          const double d = std::abs(double{ours.Data<float>()[i]} - ref.Data<float>()[i]);
          max_float_diff = std::max(max_float_diff, d);
          ++float_values;
          if (d == 0) ++float_exact;
          break;
        }
        default:
          break;
      }
    }
  }
  std::string ToString() const {
    std::string s;
    for (const auto& kv : counts) {
      s += (s.empty() ? "" : ",") + std::to_string(kv.first) + ":" + std::to_string(kv.second);
    }
    char buf[160];
    if (float_values > 0) {
      std::snprintf(buf, sizeof(buf), "%sfloat: %lld/%lld bit-exact, max |diff| %.3g",
                    s.empty() ? "" : "; ", static_cast<long long>(float_exact),
                    static_cast<long long>(float_values), max_float_diff);
      s += buf;
    }
    return s.empty() ? "(nothing compared)" : s;
  }
};

// The kernel the interpreter chose for the op (1 thread, sparse kernels as `sparse`); "" (and a
// test failure) when the model does not load.
inline std::string NodeKernel(const OpConfig& c, rt::SparseKernels sparse) {
  const BuiltOp built = BuildOp(c);
  rt::InterpreterOptions options;
  options.num_threads = 1;
  options.sparse_kernels = sparse;
  auto interp = rt::Interpreter::Create(built.model.data(), built.model.size(), options);
  EXPECT_TRUE(interp.ok()) << interp.status().ToString();
  return interp.ok() ? std::string((*interp)->node_kernel(0)) : std::string();
}

// Runs `c` in edgeopt and in tflite-ref and expects agreement within `tol`.
inline void ExpectAgreesWithTflite(const OpConfig& c, const Tolerance& tol, LsbHistogram* hist) {
  SCOPED_TRACE(c.Describe());
  const BuiltOp built = BuildOp(c);
  auto ours = RunEdgeopt(built.model, built.inputs);
  ASSERT_TRUE(ours.ok()) << ours.status().ToString();
  auto ref = RunTfliteRef(built.model, built.inputs);
  ASSERT_TRUE(ref.ok()) << ref.status().ToString();
  ExpectAllClose(*ours, *ref, tol);
  if (hist != nullptr && ours->size() == ref->size()) {
    for (size_t i = 0; i < ref->size(); ++i) hist->Add((*ours)[i], (*ref)[i]);
  }
}

// Tolerances. Quantized outputs: TFLite's spec allows 1 LSB; the kernels reproduce the builtin
// kernels' rounding, and the histograms printed by the tests show 0 LSB everywhere.
constexpr int64_t kMaxLsb = 1;
// Float: conformance's defaults. Float GEMMs are summed in TFLite's order (bit-exact on most
// shapes); the rest differs by float rounding only.
constexpr double kFloatAtol = 1e-5;
constexpr double kFloatRtol = 1e-4;
// Hybrid: identical integer math, so the same float tolerance holds.
inline Tolerance FloatTolerance() { return Tolerance{kFloatAtol, kFloatRtol, 0}; }
inline Tolerance QuantTolerance() { return Tolerance{0, 0, kMaxLsb}; }
inline Tolerance ToleranceFor(Variant v) {
  return ActivationType(v) == DType::kFloat32 ? FloatTolerance() : QuantTolerance();
}

// ---- Small helpers for hand-written golden and error tests. ----

inline OptionsFn ConvOptions(
    tflite::Padding padding, int stride_w, int stride_h,
    tflite::ActivationFunctionType act = tflite::ActivationFunctionType::NONE, int dilation_w = 1,
    int dilation_h = 1) {
  return [=](flatbuffers::FlatBufferBuilder& fb) {
    return MakeOptions(
        tflite::BuiltinOptions::Conv2DOptions,
        tflite::CreateConv2DOptions(fb, padding, stride_w, stride_h, act, dilation_w, dilation_h));
  };
}

inline OptionsFn DepthwiseOptions(
    tflite::Padding padding, int stride_w, int stride_h, int depth_multiplier,
    tflite::ActivationFunctionType act = tflite::ActivationFunctionType::NONE, int dilation_w = 1,
    int dilation_h = 1) {
  return [=](flatbuffers::FlatBufferBuilder& fb) {
    return MakeOptions(
        tflite::BuiltinOptions::DepthwiseConv2DOptions,
        tflite::CreateDepthwiseConv2DOptions(fb, padding, stride_w, stride_h, depth_multiplier, act,
                                             dilation_w, dilation_h));
  };
}

inline OptionsFn FcOptions(
    tflite::ActivationFunctionType act = tflite::ActivationFunctionType::NONE,
    bool keep_num_dims = false, bool asymmetric = false) {
  return [=](flatbuffers::FlatBufferBuilder& fb) {
    return MakeOptions(tflite::BuiltinOptions::FullyConnectedOptions,
                       tflite::CreateFullyConnectedOptions(
                           fb, act, tflite::FullyConnectedOptionsWeightsFormat::DEFAULT,
                           keep_num_dims, asymmetric));
  };
}

inline OptionsFn TransposeConvOptions(tflite::Padding padding, int stride_w, int stride_h) {
  return [=](flatbuffers::FlatBufferBuilder& fb) {
    return MakeOptions(tflite::BuiltinOptions::TransposeConvOptions,
                       tflite::CreateTransposeConvOptions(fb, padding, stride_w, stride_h));
  };
}

// The status of loading and preparing `model` (the kernels validate in Prepare).
inline Status PrepareStatus(const std::vector<uint8_t>& model) {
  auto interp = rt::Interpreter::Create(model.data(), model.size(), rt::InterpreterOptions());
  return interp.ok() ? Status::Ok() : interp.status();
}

// Expects Prepare to fail with `code` and a message containing `text`.
inline void ExpectPrepareError(const std::vector<uint8_t>& model, StatusCode code,
                               const std::string& text) {
  const Status s = PrepareStatus(model);
  ASSERT_FALSE(s.ok()) << "expected an error containing \"" << text << "\"";
  EXPECT_EQ(static_cast<int>(s.code()), static_cast<int>(code)) << s.ToString();
  EXPECT_NE(s.message().find(text), std::string::npos) << s.ToString();
}

// Runs a one-input model and returns output 0 as a vector (empty on failure, with a test failure
// recorded). With `also_tflite`, the hand-computed golden is also TFLite's answer: the output must
// equal tflite-ref's exactly (when tflite-ref is available).
template <typename T>
std::vector<T> RunOne(const std::vector<uint8_t>& model, const NpyArray& input,
                      bool also_tflite = false) {
  auto out = RunEdgeopt(model, {input});
  EXPECT_TRUE(out.ok()) << out.status().ToString();
  if (!out.ok() || out->empty()) return {};
  if (also_tflite && TfliteRefAvailable()) {
    auto ref = RunTfliteRef(model, {input});
    EXPECT_TRUE(ref.ok()) << ref.status().ToString();
    if (ref.ok()) ExpectAllClose(*out, *ref, Tolerance{0, 0, 0});
  }
  return ToVector<T>((*out)[0]);
}

}  // namespace conv
}  // namespace testing
}  // namespace edgeopt

#endif  // EDGEOPT_SRC_RUNTIME_KERNELS_CONV_TEST_UTIL_H_
