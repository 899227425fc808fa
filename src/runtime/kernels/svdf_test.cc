#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <string>

#include "src/runtime/kernels/recurrent_test_util.h"
#include "src/util/file_util.h"
#include "tests/model_builder.h"
#include "tests/test_util.h"

namespace edgeopt {
namespace testing {
namespace {

constexpr Tolerance kFloatTolerance{1e-5, 1e-4, 0};
// Integer SVDF (int16 state): bit-exact with TFLite 2.9 in every case below.
constexpr Tolerance kIntegerTolerance{0, 0, 0};

enum class SvdfVariant { kFloat, kHybrid, kInteger16, kInteger8 };

struct SvdfSpec {
  SvdfVariant variant = SvdfVariant::kFloat;
  int n_batch = 2;
  int n_input = 5;
  int n_filter = 6;
  int rank = 2;
  int n_memory = 4;
  int steps = 5;  // SVDF nodes sharing the weights and the state: one time step each
  bool bias = true;
  bool asymmetric = false;
  tflite::ActivationFunctionType activation = tflite::ActivationFunctionType::RELU;
  int64_t input_zp = 3;
  int64_t state_zp = 0;  // int8 state only
  int64_t output_zp = -20;
  uint32_t seed = 1;
  // Error knobs.
  bool state_not_variable = false;
  bool state_constant = false;
  int extra_state_columns = 0;
  DType weights_time_type = DType::kFloat32;  // kFloat32: the variant's type
};

// Builds a model with `steps` SVDF nodes that share one set of weights and one state tensor: node k
// reads graph input k and writes graph output k, so one Invoke runs `steps` time steps (which
// tflite-ref, one Invoke per run, can then check).
class SvdfModelMaker {
 public:
  explicit SvdfModelMaker(const SvdfSpec& s) : s_(s), rng_(s.seed) {}

  std::vector<uint8_t> Build() {
    const bool integer =
        s_.variant == SvdfVariant::kInteger16 || s_.variant == SvdfVariant::kInteger8;
    // (rank 0 is an error case: the output shape is then arbitrary.)
    const int n_unit = s_.rank > 0 ? s_.n_filter / s_.rank : s_.n_filter;
    const float input_scale = 1.0f / 32, feature_range = 0.5f, time_range = 0.5f;
    const float state_scale =
        integer ? 4.0f / (s_.variant == SvdfVariant::kInteger8 ? 127 : 32767) : 0.0f;
    const float output_scale = 0.06f;
    std::vector<int> xs, ys;
    for (int k = 0; k < s_.steps; ++k) {
      xs.push_back(integer ? b_.AddInput(DType::kInt8, {s_.n_batch, s_.n_input}, {input_scale},
                                         {s_.input_zp})
                           : b_.AddInput(DType::kFloat32, {s_.n_batch, s_.n_input}));
    }
    // weights_feature
    int wf;
    if (s_.variant == SvdfVariant::kFloat) {
      wf = b_.AddConstant(DType::kFloat32, {s_.n_filter, s_.n_input},
                          Floats(s_.n_filter * s_.n_input, feature_range));
    } else {
      wf = b_.AddConstant(DType::kInt8, {s_.n_filter, s_.n_input},
                          Ints<int8_t>(s_.n_filter * s_.n_input, 127), {feature_range / 127}, {0});
    }
    // weights_time
    DType wt_type = s_.weights_time_type;
    if (wt_type == DType::kFloat32) {
      wt_type = s_.variant == SvdfVariant::kFloat       ? DType::kFloat32
                : s_.variant == SvdfVariant::kInteger16 ? DType::kInt16
                                                        : DType::kInt8;
    }
    const int nt = s_.n_filter * s_.n_memory;
    int wt;
    if (wt_type == DType::kFloat32) {
      wt = b_.AddConstant(DType::kFloat32, {s_.n_filter, s_.n_memory}, Floats(nt, time_range));
    } else if (wt_type == DType::kInt16) {
      wt = b_.AddConstant(DType::kInt16, {s_.n_filter, s_.n_memory}, Ints<int16_t>(nt, 32767),
                          {time_range / 32767}, {0});
    } else {
      wt = b_.AddConstant(DType::kInt8, {s_.n_filter, s_.n_memory}, Ints<int8_t>(nt, 127),
                          {time_range / 127}, {0});
    }
    int bias = -1;
    if (s_.bias) {
      if (integer) {
        const float bias_scale =
            state_scale * (wt_type == DType::kInt16 ? time_range / 32767 : time_range / 127);
        bias = b_.AddConstant(DType::kInt32, {n_unit},
                              Ints<int32_t>(n_unit, static_cast<int32_t>(0.5f / bias_scale)),
                              {bias_scale}, {0});
      } else {
        bias = b_.AddConstant(DType::kFloat32, {n_unit}, Floats(n_unit, 0.5f));
      }
    }
    const std::vector<int32_t> state_shape = {s_.n_batch,
                                              s_.n_memory * s_.n_filter + s_.extra_state_columns};
    const DType state_type = s_.variant == SvdfVariant::kInteger16  ? DType::kInt16
                             : s_.variant == SvdfVariant::kInteger8 ? DType::kInt8
                                                                    : DType::kFloat32;
    std::vector<float> state_scales;
    std::vector<int64_t> state_zps;
    if (integer) {
      state_scales = {state_scale};
      state_zps = {s_.variant == SvdfVariant::kInteger8 ? s_.state_zp : 0};
    }
    int state;
    if (s_.state_constant) {
      std::vector<uint8_t> zeros(state_shape[0] * state_shape[1] * DTypeSize(state_type), 0);
      state = b_.AddConstantBytes(state_type, state_shape, zeros, state_scales, state_zps);
    } else if (s_.state_not_variable) {
      state = b_.AddTensor(state_type, state_shape, state_scales, state_zps);
    } else {
      state = b_.AddVariable(state_type, state_shape, state_scales, state_zps);
    }
    const SvdfSpec s = s_;
    for (int k = 0; k < s_.steps; ++k) {
      ys.push_back(
          integer ? b_.AddOutput(DType::kInt8, {s_.n_batch, n_unit}, {output_scale}, {s_.output_zp})
                  : b_.AddOutput(DType::kFloat32, {s_.n_batch, n_unit}));
      b_.AddOperator(tflite::BuiltinOperator::SVDF, {xs[k], wf, wt, bias, state}, {ys[k]},
                     [s](flatbuffers::FlatBufferBuilder& fb) {
                       return MakeOptions(
                           tflite::BuiltinOptions::SVDFOptions,
                           tflite::CreateSVDFOptions(fb, s.rank, s.activation, s.asymmetric));
                     });
    }
    return b_.Build();
  }

  std::vector<NpyArray> Inputs(uint32_t seed) const {
    std::vector<NpyArray> in;
    const bool integer =
        s_.variant == SvdfVariant::kInteger16 || s_.variant == SvdfVariant::kInteger8;
    for (int k = 0; k < s_.steps; ++k) {
      in.push_back(integer
                       ? RandomArray(DType::kInt8, {s_.n_batch, s_.n_input}, seed + k, -128, 127)
                       : RandomArray(DType::kFloat32, {s_.n_batch, s_.n_input}, seed + k, -1, 1));
    }
    return in;
  }

 private:
  std::vector<float> Floats(int n, float range) {
    std::uniform_real_distribution<float> dist(-range, range);
    std::vector<float> v(n);
    for (float& x : v) x = dist(rng_);
    return v;
  }
  template <typename T>
  std::vector<T> Ints(int n, int32_t range) {
    std::uniform_int_distribution<int32_t> dist(-range, range);
    std::vector<T> v(n);
    for (T& x : v) x = static_cast<T>(dist(rng_));
    return v;
  }

  SvdfSpec s_;
  std::mt19937 rng_;
  ModelBuilder b_;
};

std::vector<uint8_t> MakeSvdfModel(const SvdfSpec& s) { return SvdfModelMaker(s).Build(); }

void ExpectMatchesTflite(const SvdfSpec& spec, const Tolerance& tol) {
  const std::vector<uint8_t> model = MakeSvdfModel(spec);
  const std::vector<NpyArray> in = SvdfModelMaker(spec).Inputs(spec.seed * 10);
  auto ours = RunEdgeopt(model, in);
  ASSERT_TRUE(ours.ok()) << ours.status().message();
  auto ref = RunTfliteRef(model, in);
  ASSERT_TRUE(ref.ok()) << ref.status().message();
  ExpectAllClose(*ours, *ref, tol);
}

// ---------------------------------------------------------------------------------------------
// Goldens.

std::vector<uint8_t> GoldenFloatModel(int rank, const std::vector<float>& bias,
                                      tflite::ActivationFunctionType act) {
  // 1 batch, 2 inputs, 2 filters, memory 2; weights_time rows are [older, newer].
  ModelBuilder m;
  const int x = m.AddInput(DType::kFloat32, {1, 2});
  const int wf = m.AddConstant(DType::kFloat32, {2, 2}, std::vector<float>{1, 2, 0.5f, -1});
  const int wt = m.AddConstant(DType::kFloat32, {2, 2}, std::vector<float>{0.5f, 1, 2, -1});
  const int b =
      bias.empty() ? -1 : m.AddConstant(DType::kFloat32, {static_cast<int32_t>(bias.size())}, bias);
  const int state = m.AddVariable(DType::kFloat32, {1, 4});
  const int y = m.AddOutput(DType::kFloat32, {1, 2 / rank});
  m.AddOperator(tflite::BuiltinOperator::SVDF, {x, wf, wt, b, state}, {y},
                [rank, act](flatbuffers::FlatBufferBuilder& fb) {
                  return MakeOptions(tflite::BuiltinOptions::SVDFOptions,
                                     tflite::CreateSVDFOptions(fb, rank, act));
                });
  return m.Build();
}

std::vector<NpyArray> GoldenInputs() {
  return {MakeArray<float>(DType::kFloat32, {1, 2}, {1, 1}),
          MakeArray<float>(DType::kFloat32, {1, 2}, {2, -1}),
          MakeArray<float>(DType::kFloat32, {1, 2}, {0, 1})};
}

TEST(Svdf, GoldenFloat) {
  // Features per step: [3, -0.5], [0, 2], [2, -1]. Memories (older, newer) of filter 0: (0,3),
  // (3,0), (0,2); filter 1: (0,-0.5), (-0.5,2), (2,-1). Time weights (0.5, 1), (2, -1): filter
  // outputs [3, 0.5], [1.5, -3], [2, 5].
  auto out =
      RunInvokes(GoldenFloatModel(1, {}, tflite::ActivationFunctionType::NONE), GoldenInputs());
  ASSERT_TRUE(out.ok()) << out.status().message();
  EXPECT_EQ(ToVector<float>((*out)[0]), (std::vector<float>{3, 0.5f}));
  EXPECT_EQ(ToVector<float>((*out)[1]), (std::vector<float>{1.5f, -3}));
  EXPECT_EQ(ToVector<float>((*out)[2]), (std::vector<float>{2, 5}));
  // Rank 2: one unit summing both filters, + bias 0.25, RELU: 3.75, relu(-1.25) = 0, 7.25.
  out = RunInvokes(GoldenFloatModel(2, {0.25f}, tflite::ActivationFunctionType::RELU),
                   GoldenInputs());
  ASSERT_TRUE(out.ok()) << out.status().message();
  EXPECT_EQ(ToVector<float>((*out)[0]), (std::vector<float>{3.75f}));
  EXPECT_EQ(ToVector<float>((*out)[1]), (std::vector<float>{0}));
  EXPECT_EQ(ToVector<float>((*out)[2]), (std::vector<float>{7.25f}));
}

// The int8-state variant (TFLite Micro semantics): the state holds zero point + feature.
TEST(Svdf, GoldenInt8State) {
  // 1 input, 1 filter (weight 2), memory 2 (time weights 1, 1), all scales 1, state zero point 3
  // (the state starts at 3 = real 0), RELU. Features: 10, -8, 200 -> stored 13, -5, 127 (clamped:
  // real 124). Outputs: 10, 10 - 8 = 2, -8 + 124 = 116.
  ModelBuilder m;
  const int x = m.AddInput(DType::kInt8, {1, 1}, {1.0f}, {0});
  const int wf = m.AddConstant(DType::kInt8, {1, 1}, std::vector<int8_t>{2}, {1.0f}, {0});
  const int wt = m.AddConstant(DType::kInt8, {1, 2}, std::vector<int8_t>{1, 1}, {1.0f}, {0});
  const int state = m.AddVariable(DType::kInt8, {1, 2}, {1.0f}, {3});
  const int y = m.AddOutput(DType::kInt8, {1, 1}, {1.0f}, {0});
  m.AddOperator(tflite::BuiltinOperator::SVDF, {x, wf, wt, -1, state}, {y},
                [](flatbuffers::FlatBufferBuilder& fb) {
                  return MakeOptions(
                      tflite::BuiltinOptions::SVDFOptions,
                      tflite::CreateSVDFOptions(fb, 1, tflite::ActivationFunctionType::RELU));
                });
  auto out = RunInvokes(m.Build(), {MakeArray<int8_t>(DType::kInt8, {1, 1}, {5}),
                                    MakeArray<int8_t>(DType::kInt8, {1, 1}, {-4}),
                                    MakeArray<int8_t>(DType::kInt8, {1, 1}, {100})});
  ASSERT_TRUE(out.ok()) << out.status().message();
  EXPECT_EQ(ToVector<int8_t>((*out)[0]), (std::vector<int8_t>{10}));
  EXPECT_EQ(ToVector<int8_t>((*out)[1]), (std::vector<int8_t>{2}));
  EXPECT_EQ(ToVector<int8_t>((*out)[2]), (std::vector<int8_t>{116}));
}

// ---------------------------------------------------------------------------------------------
// Against TFLite 2.9 (several time steps per Invoke through nodes sharing the state).

TEST(Svdf, FloatMatchesTflite) {
  if (!TfliteRefAvailable()) GTEST_SKIP() << "tflite-ref unavailable";
  SvdfSpec s;
  ExpectMatchesTflite(s, kFloatTolerance);
  s.rank = 1;
  s.bias = false;
  s.activation = tflite::ActivationFunctionType::TANH;
  s.seed = 2;
  ExpectMatchesTflite(s, kFloatTolerance);
  s.rank = 3;
  s.n_batch = 1;
  s.activation = tflite::ActivationFunctionType::NONE;
  s.seed = 3;
  ExpectMatchesTflite(s, kFloatTolerance);
}

TEST(Svdf, HybridMatchesTflite) {
  if (!TfliteRefAvailable()) GTEST_SKIP() << "tflite-ref unavailable";
  for (bool asymmetric : {false, true}) {
    SCOPED_TRACE(asymmetric ? "asymmetric" : "symmetric");
    SvdfSpec s;
    s.variant = SvdfVariant::kHybrid;
    s.asymmetric = asymmetric;
    ExpectMatchesTflite(s, kFloatTolerance);
    s.rank = 1;
    s.bias = false;
    s.activation = tflite::ActivationFunctionType::RELU6;
    s.seed = 4;
    ExpectMatchesTflite(s, kFloatTolerance);
  }
}

TEST(Svdf, IntegerMatchesTflite) {
  if (!TfliteRefAvailable()) GTEST_SKIP() << "tflite-ref unavailable";
  SvdfSpec s;
  s.variant = SvdfVariant::kInteger16;
  ExpectMatchesTflite(s, kIntegerTolerance);
  s.rank = 1;
  s.bias = false;
  s.output_zp = -128;
  s.input_zp = -128;
  s.n_memory = 8;
  s.seed = 5;
  ExpectMatchesTflite(s, kIntegerTolerance);
}

// Rebuilds SVDF node `op` of a corpus file as `steps` chained nodes sharing its weights and state
// (graph input/output k = time step k).
std::vector<uint8_t> ChainCorpusSvdf(const std::vector<uint8_t>& file, int op, int steps) {
  const tflite::Model* model = tflite::GetModel(file.data());
  const tflite::SubGraph* sg = model->subgraphs()->Get(0);
  const tflite::Operator* node = sg->operators()->Get(op);
  const auto* o = node->builtin_options_as_SVDFOptions();
  const int rank = o->rank();
  const auto act = o->fused_activation_function();
  ModelBuilder b;
  std::vector<float> scales;
  std::vector<int64_t> zps;
  int axis;
  auto tensor = [&](int index) { return sg->tensors()->Get(index); };
  auto shape = [&](int index) {
    const auto* t = tensor(index);
    return std::vector<int32_t>(t->shape()->begin(), t->shape()->end());
  };
  const int in_index = node->inputs()->Get(0), out_index = node->outputs()->Get(0);
  std::vector<int> shared(5, -1);
  for (int i = 1; i < 5; ++i) {
    const int index = node->inputs()->Get(i);
    if (index < 0) continue;
    detail::QuantOf(tensor(index), &scales, &zps, &axis);
    const DType type = static_cast<DType>(tensor(index)->type());
    if (i == 4) {
      shared[i] = b.AddVariable(type, shape(index), scales, zps);
    } else {
      const auto* data = model->buffers()->Get(tensor(index)->buffer())->data();
      shared[i] = b.AddConstantBytes(
          type, shape(index), std::vector<uint8_t>(data->begin(), data->end()), scales, zps, axis);
    }
  }
  std::vector<int> xs, ys;
  for (int k = 0; k < steps; ++k) {
    detail::QuantOf(tensor(in_index), &scales, &zps, &axis);
    xs.push_back(
        b.AddInput(static_cast<DType>(tensor(in_index)->type()), shape(in_index), scales, zps));
  }
  for (int k = 0; k < steps; ++k) {
    detail::QuantOf(tensor(out_index), &scales, &zps, &axis);
    ys.push_back(
        b.AddOutput(static_cast<DType>(tensor(out_index)->type()), shape(out_index), scales, zps));
    b.AddOperator(tflite::BuiltinOperator::SVDF,
                  {xs[k], shared[1], shared[2], shared[3], shared[4]}, {ys[k]},
                  [rank, act](flatbuffers::FlatBufferBuilder& fb) {
                    return MakeOptions(tflite::BuiltinOptions::SVDFOptions,
                                       tflite::CreateSVDFOptions(fb, rank, act));
                  });
  }
  return b.Build();
}

std::vector<NpyArray> ChainInputs(const std::vector<uint8_t>& model, uint32_t seed) {
  auto interp = rt::Interpreter::Create(model.data(), model.size(), {});
  std::vector<NpyArray> in;
  if (!interp.ok()) return in;
  for (int i = 0; i < (*interp)->num_inputs(); ++i) {
    const rt::Tensor* t = (*interp)->input_tensor(i);
    in.push_back(RandomArray(t->type,
                             std::vector<int32_t>(t->dims.data, t->dims.data + t->dims.size),
                             seed + i, -128, 127));
  }
  return in;
}

constexpr int kCorpusSteps = 6;

// The seven SVDFs of keyword_scrambled.tflite (int8, int16 state), six steps each.
// The optimized integer SVDF (packed feature products) against the reference at every ISA level:
// column counts 1, odd and even, filter counts around the 16-row blocks, input zero points at the
// int8 ends.
TEST(Svdf, OptimizedMatchesReference) {
  const int shapes[][5] = {
      // n_input, n_filter, rank, n_memory, n_batch
      {1, 1, 1, 1, 1},    {3, 6, 2, 4, 2},   {17, 16, 1, 8, 1}, {96, 64, 1, 8, 1},
      {16, 17, 17, 3, 3}, {33, 65, 5, 5, 2}, {8, 48, 3, 2, 1},
  };
  const int64_t zps[] = {3, -128, 127};
  uint32_t seed = 70;
  for (SvdfVariant variant : {SvdfVariant::kInteger16, SvdfVariant::kInteger8}) {
    for (const auto& z : shapes) {
      SvdfSpec s;
      s.variant = variant;
      s.n_input = z[0];
      s.n_filter = z[1];
      s.rank = z[2];
      s.n_memory = z[3];
      s.n_batch = z[4];
      s.steps = 4;
      s.input_zp = zps[seed % 3];
      s.state_zp = variant == SvdfVariant::kInteger8 ? static_cast<int64_t>(seed % 7) - 3 : 0;
      s.bias = seed % 2 == 0;
      s.seed = seed++;
      const std::string what = std::string(variant == SvdfVariant::kInteger8 ? "int8" : "int16") +
                               " state, n_input " + std::to_string(s.n_input) + ", n_filter " +
                               std::to_string(s.n_filter) + ", rank " + std::to_string(s.rank) +
                               ", memory " + std::to_string(s.n_memory) + ", batch " +
                               std::to_string(s.n_batch);
      ExpectOptimizedMatchesReference(MakeSvdfModel(s), SvdfModelMaker(s).Inputs(s.seed), what);
    }
  }
}

TEST(Svdf, CorpusSvdfsMatchTflite) {
  if (!TfliteRefAvailable()) GTEST_SKIP() << "tflite-ref unavailable";
  auto bytes = ReadFileBytes(CorpusPath("zoo/keyword_scrambled.tflite"));
  if (!bytes.ok()) GTEST_SKIP() << "corpus unavailable: " << bytes.status().message();
  int checked = 0;
  for (int op = FindOperator(*bytes, tflite::BuiltinOperator::SVDF); op >= 0;
       op = FindOperator(*bytes, tflite::BuiltinOperator::SVDF, op + 1)) {
    SCOPED_TRACE("SVDF node " + std::to_string(op));
    const std::vector<uint8_t> model = ChainCorpusSvdf(*bytes, op, kCorpusSteps);
    const std::vector<NpyArray> in = ChainInputs(model, 50);
    auto ours = RunEdgeopt(model, in);
    ASSERT_TRUE(ours.ok()) << ours.status().message();
    auto ref = RunTfliteRef(model, in);
    ASSERT_TRUE(ref.ok()) << ref.status().message();
    ExpectAllClose(*ours, *ref, kIntegerTolerance);
    ++checked;
  }
  EXPECT_EQ(checked, 7);
}

// keyword_scrambled_8bit.tflite has int8 states, which TFLite 2.9 reads out of bounds. Ours follows
// TFLite Micro; checked against a direct evaluation of the quantized definition (the state holds
// round(feature / scale) + zero point, outputs round(sum / output scale) + zp).
TEST(Svdf, Corpus8BitStateMatchesQuantizedDefinition) {
  auto bytes = ReadFileBytes(CorpusPath("zoo/keyword_scrambled_8bit.tflite"));
  if (!bytes.ok()) GTEST_SKIP() << "corpus unavailable: " << bytes.status().message();
  const tflite::Model* file = tflite::GetModel(bytes->data());
  const tflite::SubGraph* sg = file->subgraphs()->Get(0);
  int checked = 0;
  int64_t worst = 0, differing = 0, total = 0;
  for (int op = FindOperator(*bytes, tflite::BuiltinOperator::SVDF); op >= 0;
       op = FindOperator(*bytes, tflite::BuiltinOperator::SVDF, op + 1)) {
    const std::vector<uint8_t> model = ChainCorpusSvdf(*bytes, op, kCorpusSteps);
    const std::vector<NpyArray> in = ChainInputs(model, 60);
    auto ours = RunEdgeopt(model, in);
    ASSERT_TRUE(ours.ok()) << ours.status().message();
    // Direct evaluation in double precision.
    const tflite::Operator* node = sg->operators()->Get(op);
    auto t = [&](int i) { return sg->tensors()->Get(node->inputs()->Get(i)); };
    auto data = [&](int i) { return file->buffers()->Get(t(i)->buffer())->data()->data(); };
    auto scale = [&](const tflite::Tensor* x) { return x->quantization()->scale()->Get(0); };
    auto zp = [&](const tflite::Tensor* x) {
      return static_cast<int>(x->quantization()->zero_point()->Get(0));
    };
    const auto* out_t = sg->tensors()->Get(node->outputs()->Get(0));
    const int rank = node->builtin_options_as_SVDFOptions()->rank();
    const int n_filter = t(1)->shape()->Get(0), n_input = t(1)->shape()->Get(1);
    const int n_memory = t(2)->shape()->Get(1), n_unit = n_filter / rank;
    const auto* wf = reinterpret_cast<const int8_t*>(data(1));
    const auto* wt = reinterpret_cast<const int8_t*>(data(2));
    const auto* bias = reinterpret_cast<const int32_t*>(data(3));
    const double s1 = static_cast<double>(scale(t(0))) * scale(t(1)) / scale(t(4));
    const double s2 = static_cast<double>(scale(t(4))) * scale(t(2)) / scale(out_t);
    const int state_zp = zp(t(4)), in_zp = zp(t(0)), out_zp = zp(out_t);
    std::vector<int> state(static_cast<size_t>(n_filter) * n_memory, state_zp);
    for (int k = 0; k < kCorpusSteps; ++k) {
      const int8_t* x = in[k].Data<int8_t>();
      for (int f = 0; f < n_filter; ++f) {
        int64_t dot = 0;
        for (int c = 0; c < n_input; ++c) dot += wf[f * n_input + c] * (x[c] - in_zp);
        int* row = &state[static_cast<size_t>(f) * n_memory];
        for (int m = 0; m + 1 < n_memory; ++m) row[m] = row[m + 1];
        row[n_memory - 1] = static_cast<int>(
            std::min<double>(127, std::max<double>(-128, std::round(dot * s1) + state_zp)));
      }
      const std::vector<int8_t> got = ToVector<int8_t>((*ours)[k]);
      for (int u = 0; u < n_unit; ++u) {
        int64_t acc = bias[u];
        for (int r = 0; r < rank; ++r) {
          const int f = u * rank + r;
          for (int m = 0; m < n_memory; ++m) {
            acc += wt[f * n_memory + m] * (state[static_cast<size_t>(f) * n_memory + m] - state_zp);
          }
        }
        const int want = static_cast<int>(
            std::min<double>(127, std::max<double>(-128, std::round(acc * s2) + out_zp)));
        const int64_t d = std::abs(want - got[u]);
        worst = std::max(worst, d);
        differing += d != 0;
        ++total;
      }
    }
    ++checked;
  }
  EXPECT_EQ(checked, 7);
  // Only the fixed-point multipliers' rounding differs from the double evaluation.
  EXPECT_LE(worst, 1) << differing << " of " << total << " outputs differ";
}

// ---------------------------------------------------------------------------------------------
// Errors: Status, never a crash.

void ExpectError(const SvdfSpec& spec, StatusCode code, const std::string& fragment) {
  auto r = RunEdgeopt(MakeSvdfModel(spec), SvdfModelMaker(spec).Inputs(1));
  ASSERT_FALSE(r.ok()) << "expected an error containing '" << fragment << "'";
  EXPECT_EQ(static_cast<int>(r.status().code()), static_cast<int>(code)) << r.status().message();
  EXPECT_NE(r.status().message().find(fragment), std::string::npos) << r.status().message();
}

TEST(Svdf, Errors) {
  for (SvdfVariant v : {SvdfVariant::kFloat, SvdfVariant::kInteger16, SvdfVariant::kInteger8}) {
    SvdfSpec s;
    s.variant = v;
    s.steps = 1;
    s.state_not_variable = true;
    ExpectError(s, StatusCode::kInvalidModel, "must be a variable tensor");
    s.state_not_variable = false;
    s.state_constant = true;
    ExpectError(s, StatusCode::kInvalidModel, "must be a variable tensor");
    s.state_constant = false;
    s.extra_state_columns = 1;
    ExpectError(s, StatusCode::kInvalidModel, "state");
  }
  SvdfSpec s;
  s.steps = 1;
  s.rank = 4;  // 6 filters
  ExpectError(s, StatusCode::kInvalidModel, "multiple of rank");
  s.rank = 0;
  ExpectError(s, StatusCode::kInvalidModel, "rank is 0");
  s = SvdfSpec();
  s.steps = 1;
  s.variant = SvdfVariant::kInteger16;
  s.activation = tflite::ActivationFunctionType::NONE;
  ExpectError(s, StatusCode::kUnsupported, "RELU");
  s.activation = tflite::ActivationFunctionType::RELU;
  s.weights_time_type = DType::kInt8;  // int16 state with int8 weights_time
  ExpectError(s, StatusCode::kUnsupported, "weights_time");
  s = SvdfSpec();
  s.steps = 1;
  s.variant = SvdfVariant::kInteger8;
  s.weights_time_type = DType::kInt16;
  ExpectError(s, StatusCode::kUnsupported, "weights_time");
}

}  // namespace
}  // namespace testing
}  // namespace edgeopt
