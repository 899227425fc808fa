#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <string>

#include "src/runtime/interpreter.h"
#include "src/runtime/kernels/lstm_test_util.h"
#include "src/runtime/kernels/recurrent_test_util.h"
#include "src/util/file_util.h"
#include "tests/model_builder.h"
#include "tests/test_util.h"

namespace edgeopt {
namespace testing {
namespace {

// Float and hybrid differ from TFLite only by float rounding (measured: at most 1.2e-7).
constexpr Tolerance kFloatTolerance{1e-5, 1e-4, 0};
constexpr Tolerance kHybridTolerance{1e-5, 1e-4, 0};
// Integer: bit-exact (measured over every configuration below), stricter than the 1 LSB budget.
constexpr Tolerance kIntegerTolerance{0, 0, 0};

// Runs `model` in edgeopt and in tflite-ref on two random inputs and compares.
void ExpectMatchesTflite(const std::vector<uint8_t>& model, const LstmSpec& spec,
                         const Tolerance& tol) {
  LstmModelMaker maker(spec);
  for (uint32_t seed : {11u, 12u}) {
    const std::vector<NpyArray> in = {maker.Input(seed + spec.seed * 100)};
    auto ours = RunEdgeopt(model, in);
    ASSERT_TRUE(ours.ok()) << ours.status().message();
    auto ref = RunTfliteRef(model, in);
    ASSERT_TRUE(ref.ok()) << ref.status().message();
    ExpectAllClose(*ours, *ref, tol);
  }
}

// ---------------------------------------------------------------------------------------------
// Golden: one step, one cell, computed by hand.

TEST(UnidirectionalSequenceLstm, GoldenSingleCell) {
  // n_batch = n_input = n_cell = n_output = 1, two time steps. Gate g has input weight w[g],
  // recurrent weight r[g], bias b[g]; cell activation tanh.
  const float w[4] = {0.5f, -0.25f, 1.0f, 0.75f};
  const float r[4] = {0.1f, 0.2f, -0.3f, 0.4f};
  const float b[4] = {0.0f, 1.0f, -0.5f, 0.25f};
  ModelBuilder m;
  std::vector<int> in(24, -1);
  in[0] = m.AddInput(DType::kFloat32, {1, 2, 1});
  for (int g = 0; g < 4; ++g) {
    in[1 + g] = m.AddConstant(DType::kFloat32, {1, 1}, std::vector<float>{w[g]});
    in[5 + g] = m.AddConstant(DType::kFloat32, {1, 1}, std::vector<float>{r[g]});
    in[12 + g] = m.AddConstant(DType::kFloat32, {1}, std::vector<float>{b[g]});
  }
  in[18] = m.AddVariable(DType::kFloat32, {1, 1});
  in[19] = m.AddVariable(DType::kFloat32, {1, 1});
  const int out = m.AddOutput(DType::kFloat32, {1, 2, 1});
  m.AddOperator(tflite::BuiltinOperator::UNIDIRECTIONAL_SEQUENCE_LSTM, in, {out},
                [](flatbuffers::FlatBufferBuilder& fb) {
                  return MakeOptions(tflite::BuiltinOptions::UnidirectionalSequenceLSTMOptions,
                                     tflite::CreateUnidirectionalSequenceLSTMOptions(
                                         fb, tflite::ActivationFunctionType::TANH));
                });
  auto got = RunEdgeopt(m.Build(), {MakeArray<float>(DType::kFloat32, {1, 2, 1}, {1.0f, -2.0f})});
  ASSERT_TRUE(got.ok()) << got.status().message();
  // Step 1 (h = c = 0, x = 1): pre-activations w*x + b = (0.5, 0.75, 0.5, 1.0);
  // c = s(0.5) * tanh(0.5) = 0.6224593 * 0.4621172 = 0.2876491;
  // h = s(1.0) * tanh(c) = 0.7310586 * 0.2799686 = 0.2046742.
  // Step 2 (x = -2): pre-activations w*x + r*h + b = (-0.9795326, 1.5409348, -2.5614023,
  // -1.1681303); c = s(1.5409348) * 0.2876491 + s(-0.9795326) * tanh(-2.5614023) = -0.0328422;
  // h = s(-1.1681303) * tanh(c) = -0.0077872.
  const std::vector<float> expected = {0.2046742f, -0.0077872f};
  const std::vector<float> v = ToVector<float>((*got)[0]);
  ASSERT_EQ(v.size(), 2u);
  EXPECT_NEAR(v[0], expected[0], 1e-6);
  EXPECT_NEAR(v[1], expected[1], 1e-6);
}

// ---------------------------------------------------------------------------------------------
// Float against TFLite 2.9.

struct NamedSpec {
  const char* name;
  LstmSpec spec;
};

std::vector<NamedSpec> FloatSpecs() {
  std::vector<NamedSpec> v;
  LstmSpec s;
  v.push_back({"basic batch-major", s});
  s = LstmSpec();
  s.time_major = true;
  s.seed = 2;
  v.push_back({"time-major", s});
  s = LstmSpec();
  s.cifg = true;
  s.peephole = true;
  s.seed = 3;
  v.push_back({"CIFG + peephole", s});
  s = LstmSpec();
  s.peephole = true;
  s.projection = true;
  s.projection_bias = true;
  s.n_output = 3;
  s.proj_clip = 0.3f;
  s.cell_clip = 0.4f;
  s.seed = 4;
  v.push_back({"peephole + projection + clips", s});
  s = LstmSpec();
  s.layer_norm = true;
  s.projection = true;
  s.n_output = 6;
  s.seed = 5;
  v.push_back({"layer norm + projection", s});
  s = LstmSpec();
  s.cifg = true;
  s.layer_norm = true;
  s.peephole = true;
  s.time_major = true;
  s.activation = tflite::ActivationFunctionType::RELU6;
  s.seed = 6;
  v.push_back({"CIFG + layer norm + peephole, relu6", s});
  s = LstmSpec();
  s.num_inputs = 20;
  s.activation = tflite::ActivationFunctionType::NONE;
  s.seed = 7;
  v.push_back({"20 inputs, no activation", s});
  return v;
}

TEST(UnidirectionalSequenceLstm, FloatMatchesTflite) {
  if (!TfliteRefAvailable()) GTEST_SKIP() << "tflite-ref unavailable";
  for (const NamedSpec& c : FloatSpecs()) {
    SCOPED_TRACE(c.name);
    ExpectMatchesTflite(MakeLstmModel(c.spec), c.spec, kFloatTolerance);
  }
}

// An all-zero time step takes TFLite's "input is all zeros" shortcut (the input matmul is skipped);
// with activation NONE the hidden state is output_gate * cell_gate (TFLite quirk).
TEST(UnidirectionalSequenceLstm, ZeroTimeStepMatchesTflite) {
  if (!TfliteRefAvailable()) GTEST_SKIP() << "tflite-ref unavailable";
  for (LstmVariant variant : {LstmVariant::kFloat, LstmVariant::kHybrid}) {
    for (auto act : {tflite::ActivationFunctionType::NONE, tflite::ActivationFunctionType::TANH}) {
      LstmSpec s;
      s.variant = variant;
      s.time_major = true;
      s.max_time = 4;
      s.activation = act;
      s.seed = 21;
      SCOPED_TRACE(variant == LstmVariant::kFloat ? "float" : "hybrid");
      const std::vector<uint8_t> model = MakeLstmModel(s);
      NpyArray in = LstmModelMaker(s).Input(5);
      // Zero step 1 (time-major: a contiguous [n_batch, n_input] block).
      const int step = s.n_batch * s.n_input;
      std::memset(in.Data<float>() + step, 0, step * sizeof(float));
      auto ours = RunEdgeopt(model, {in});
      ASSERT_TRUE(ours.ok()) << ours.status().message();
      auto ref = RunTfliteRef(model, {in});
      ASSERT_TRUE(ref.ok()) << ref.status().message();
      ExpectAllClose(*ours, *ref, kFloatTolerance);
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Hybrid against TFLite 2.9.

TEST(UnidirectionalSequenceLstm, HybridMatchesTflite) {
  if (!TfliteRefAvailable()) GTEST_SKIP() << "tflite-ref unavailable";
  for (bool asymmetric : {false, true}) {
    for (NamedSpec c : FloatSpecs()) {
      c.spec.variant = LstmVariant::kHybrid;
      c.spec.asymmetric = asymmetric;
      SCOPED_TRACE(std::string(c.name) + (asymmetric ? ", asymmetric" : ", symmetric"));
      ExpectMatchesTflite(MakeLstmModel(c.spec), c.spec, kHybridTolerance);
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Integer (8x8_16) against TFLite 2.9.

std::vector<NamedSpec> IntegerSpecs() {
  std::vector<NamedSpec> v;
  LstmSpec s;
  s.variant = LstmVariant::kInteger;
  v.push_back({"basic", s});
  LstmSpec t = s;
  t.state_zp = -3;
  t.hidden_zp = -3;
  t.time_major = true;
  t.seed = 2;
  v.push_back({"non-zero zero points, time-major", t});
  t = s;
  t.cifg = true;
  t.cell_clip = 0.5f;
  t.cell_scale = 1.0f / 4096;
  t.seed = 3;
  v.push_back({"CIFG + cell clip, cell 2^-12", t});
  t = s;
  t.peephole = true;
  t.seed = 4;
  v.push_back({"peephole", t});
  t = s;
  t.projection = true;
  t.projection_bias = true;
  t.n_output = 3;
  t.hidden_zp = 4;
  t.state_zp = -2;
  t.state_scale = 1.0f / 64;
  t.proj_clip = 1.0f;
  t.seed = 5;
  v.push_back({"projection + bias + clip, hidden zp", t});
  t = s;
  t.layer_norm = true;
  // TFLite's integer kernel always uses tanh, whatever the fused activation says.
  t.activation = tflite::ActivationFunctionType::RELU;
  t.seed = 6;
  v.push_back({"layer norm, RELU option (ignored)", t});
  t = s;
  t.layer_norm = true;
  t.cifg = true;
  t.peephole = true;
  t.projection = true;
  t.n_output = 4;
  t.n_cell = 8;
  t.seed = 7;
  v.push_back({"CIFG + layer norm + peephole + projection", t});
  return v;
}

TEST(UnidirectionalSequenceLstm, IntegerMatchesTflite) {
  if (!TfliteRefAvailable()) GTEST_SKIP() << "tflite-ref unavailable";
  for (const NamedSpec& c : IntegerSpecs()) {
    SCOPED_TRACE(c.name);
    ExpectMatchesTflite(MakeLstmModel(c.spec), c.spec, kIntegerTolerance);
  }
}

// ---------------------------------------------------------------------------------------------
// The optimized step (packed products, int16 activation tables, vector sigmoid/tanh) against
// the reference step at every ISA level.

struct OptimizedSpec {
  std::string name;
  LstmSpec spec;
};

std::vector<OptimizedSpec> OptimizedSpecs(LstmVariant variant) {
  std::vector<OptimizedSpec> v;
  // Column counts 1, odd and even; stacked gate rows (4 or 3 x n_cell) below, at and around
  // the 16-row blocks and the 2 (AVX2) or 4 (AVX-512) blocks per pass.
  const int sizes[][2] = {{1, 1}, {3, 4}, {17, 5}, {28, 20}, {2, 16}, {33, 13}, {9, 33}, {40, 65}};
  uint32_t seed = 31;
  for (const auto& z : sizes) {
    LstmSpec s;
    s.variant = variant;
    s.n_input = z[0];
    s.n_cell = s.n_output = z[1];
    s.seed = seed++;
    v.push_back({"n_input " + std::to_string(z[0]) + ", n_cell " + std::to_string(z[1]), s});
  }
  LstmSpec base;
  base.variant = variant;
  base.n_batch = 3;
  base.max_time = 4;
  base.n_input = 7;
  base.n_cell = base.n_output = 9;
  LstmSpec t = base;
  t.cifg = true;
  t.seed = 41;
  v.push_back({"CIFG", t});
  t = base;
  t.peephole = true;
  t.seed = 42;
  v.push_back({"peephole", t});
  t = base;
  t.cifg = t.peephole = true;
  t.seed = 43;
  v.push_back({"CIFG + peephole", t});
  t = base;
  t.projection = t.projection_bias = true;
  t.n_cell = 19;
  t.n_output = 6;
  t.proj_clip = 0.1f;
  t.seed = 44;
  v.push_back({"projection + bias + clip", t});
  t = base;
  t.layer_norm = true;
  t.seed = 45;
  v.push_back({"layer norm", t});
  t = base;
  t.time_major = true;
  t.cell_clip = 0.5f;
  t.seed = 46;
  v.push_back({"time major + cell clip", t});
  t = base;
  t.activation = tflite::ActivationFunctionType::RELU;
  t.seed = 47;
  v.push_back({"RELU", t});
  t = base;
  t.activation = tflite::ActivationFunctionType::NONE;
  t.seed = 48;
  v.push_back({"no activation", t});
  t = base;
  t.cifg = t.peephole = t.projection = t.layer_norm = t.time_major = true;
  t.n_cell = 17;
  t.n_output = variant == LstmVariant::kInteger ? 17 : 5;
  t.seed = 49;
  v.push_back({"CIFG + peephole + projection + layer norm + time major", t});
  if (variant == LstmVariant::kHybrid) {
    t = base;
    t.asymmetric = true;
    t.seed = 61;
    v.push_back({"asymmetric", t});
    t = base;
    t.asymmetric = t.cifg = t.peephole = t.projection = t.projection_bias = t.time_major = true;
    t.n_cell = 18;
    t.n_output = 7;
    t.seed = 62;
    v.push_back({"asymmetric + CIFG + peephole + projection + time major", t});
  }
  if (variant == LstmVariant::kInteger) {
    t = base;
    t.state_zp = -3;
    t.hidden_zp = 4;
    t.input_zp = -128;
    t.cell_scale = 1.0f / 4096;  // the cell tanh table shared with the gates'
    t.projection = t.projection_bias = true;
    t.n_output = 5;
    t.seed = 50;
    v.push_back({"zero points, projection, cell 2^-12", t});
    for (int bits : {15, 9}) {
      t = base;
      t.cell_scale = std::ldexp(1.0f, -bits);
      t.seed = 50 + bits;
      v.push_back({"cell scale 2^-" + std::to_string(bits), t});
    }
    t = base;
    t.peephole = t.projection = true;
    t.n_output = 4;
    t.seed = 60;
    v.push_back({"peephole + projection (the reference step)", t});
  }
  return v;
}

TEST(UnidirectionalSequenceLstm, OptimizedMatchesReference) {
  for (LstmVariant variant : {LstmVariant::kFloat, LstmVariant::kHybrid, LstmVariant::kInteger}) {
    for (const OptimizedSpec& c : OptimizedSpecs(variant)) {
      const std::string what = std::string(variant == LstmVariant::kFloat    ? "float "
                                           : variant == LstmVariant::kHybrid ? "hybrid "
                                                                             : "integer ") +
                               c.name;
      NpyArray in = LstmModelMaker(c.spec).Input(c.spec.seed);
      ExpectOptimizedMatchesReference(MakeLstmModel(c.spec), {in}, what);
      if (variant != LstmVariant::kInteger) {
        // A zero step (its input products are skipped) in the first batch row.
        std::memset(in.Data<float>() + c.spec.n_input, 0, c.spec.n_input * sizeof(float));
        ExpectOptimizedMatchesReference(MakeLstmModel(c.spec), {in}, what + ", a zero step");
      }
    }
  }
}

// ---------------------------------------------------------------------------------------------
// State persistence across Invoke calls.

// Steps [t0, t1) of a batch-major [batch, time, ...] array.
NpyArray SliceTime(const NpyArray& a, int t0, int t1) {
  NpyArray r = a;
  const int64_t batch = a.shape[0], time = a.shape[1];
  const size_t row = a.data.size() / (batch * time);
  r.shape[1] = t1 - t0;
  r.data.clear();
  for (int64_t b = 0; b < batch; ++b) {
    const uint8_t* p = a.data.data() + (b * time + t0) * row;
    r.data.insert(r.data.end(), p, p + (t1 - t0) * row);
  }
  return r;
}

TEST(UnidirectionalSequenceLstm, StatePersistsAcrossInvokes) {
  for (LstmVariant variant : {LstmVariant::kFloat, LstmVariant::kHybrid, LstmVariant::kInteger}) {
    LstmSpec whole;
    whole.variant = variant;
    whole.max_time = 4;
    whole.state_zp = variant == LstmVariant::kInteger ? 3 : 0;
    whole.hidden_zp = whole.state_zp;
    LstmSpec half = whole;
    half.max_time = 2;  // same seed and sizes: same weights
    const NpyArray in = LstmModelMaker(whole).Input(7);
    auto full = RunEdgeopt(MakeLstmModel(whole), {in});
    ASSERT_TRUE(full.ok()) << full.status().message();
    // Two halves through one interpreter, then the first half again after ResetVariables.
    auto parts = RunInvokes(MakeLstmModel(half),
                            {SliceTime(in, 0, 2), SliceTime(in, 2, 4), SliceTime(in, 0, 2)}, {2});
    ASSERT_TRUE(parts.ok()) << parts.status().message();
    const Tolerance exact{0, 0, 0};
    ExpectClose((*parts)[0], SliceTime((*full)[0], 0, 2), exact, "first invoke");
    ExpectClose((*parts)[1], SliceTime((*full)[0], 2, 4), exact, "second invoke (state kept)");
    ExpectClose((*parts)[2], (*parts)[0], exact, "after ResetVariables");
    // And the state really matters: the second half from a zero state differs.
    auto fresh = RunEdgeopt(MakeLstmModel(half), {SliceTime(in, 2, 4)});
    ASSERT_TRUE(fresh.ok());
    EXPECT_NE((*fresh)[0].data, (*parts)[1].data);
  }
}

// ---------------------------------------------------------------------------------------------
// Errors: Status, never a crash.

void ExpectError(const LstmSpec& spec, StatusCode code, const std::string& fragment) {
  auto r = RunEdgeopt(MakeLstmModel(spec), {LstmModelMaker(spec).Input(1)});
  ASSERT_FALSE(r.ok()) << "expected an error containing '" << fragment << "'";
  EXPECT_EQ(static_cast<int>(r.status().code()), static_cast<int>(code)) << r.status().message();
  EXPECT_NE(r.status().message().find(fragment), std::string::npos) << r.status().message();
}

TEST(UnidirectionalSequenceLstm, Errors) {
  for (LstmVariant variant : {LstmVariant::kFloat, LstmVariant::kInteger}) {
    LstmSpec s;
    s.variant = variant;
    s.states_not_variable = true;
    ExpectError(s, StatusCode::kInvalidModel, "must be a variable tensor");
    s = LstmSpec();
    s.variant = variant;
    s.state_constant = true;
    ExpectError(s, StatusCode::kInvalidModel, "must be a variable tensor");
    s = LstmSpec();
    s.variant = variant;
    s.bad_weight_rows = 1;
    ExpectError(s, StatusCode::kInvalidModel, "input_to_forget_weights");
  }
  LstmSpec s;
  s.variant = LstmVariant::kInteger;
  s.no_intermediates = true;
  ExpectError(s, StatusCode::kInvalidModel, "5 intermediate");
  s = LstmSpec();
  s.variant = LstmVariant::kInteger;
  s.cell_scale = 0.0003f;
  ExpectError(s, StatusCode::kInvalidModel, "power of two");
  s.cell_scale = 1.0f / 65536;
  ExpectError(s, StatusCode::kUnsupported, "cell_state scale 2^-16");
  s = LstmSpec();
  s.variant = LstmVariant::kHybrid;
  s.per_channel_weights = true;
  ExpectError(s, StatusCode::kUnsupported, "per channel");
  s = LstmSpec();
  s.num_inputs = 21;
  ExpectError(s, StatusCode::kInvalidModel, "20 or 24 inputs");
  s = LstmSpec();
  s.cell_clip = -1.0f;
  ExpectError(s, StatusCode::kInvalidModel, "cell_clip");
}

// ---------------------------------------------------------------------------------------------
// The LSTMs of the corpus models, extracted as single-op models (sequences lengthened to 5 steps
// where the file has 1) against TFLite 2.9.

OptionsFn CopySequenceLstmOptions(const std::vector<uint8_t>& file, int op_index) {
  const auto* op = tflite::GetModel(file.data())->subgraphs()->Get(0)->operators()->Get(op_index);
  const auto* o = op->builtin_options_as_UnidirectionalSequenceLSTMOptions();
  const auto act = o->fused_activation_function();
  const float cell_clip = o->cell_clip(), proj_clip = o->proj_clip();
  const bool time_major = o->time_major(), asym = o->asymmetric_quantize_inputs();
  return [=](flatbuffers::FlatBufferBuilder& fb) {
    return MakeOptions(tflite::BuiltinOptions::UnidirectionalSequenceLSTMOptions,
                       tflite::CreateUnidirectionalSequenceLSTMOptions(
                           fb, act, cell_clip, proj_clip, time_major, asym));
  };
}

TEST(UnidirectionalSequenceLstm, CorpusLstmsMatchTflite) {
  if (!TfliteRefAvailable()) GTEST_SKIP() << "tflite-ref unavailable";
  struct Case {
    const char* file;
    int occurrence;  // which LSTM of the file
    std::vector<int32_t> in_shape, out_shape;
  };
  const Case cases[] = {
      {"tflite-micro/trained_lstm.tflite", 0, {}, {}},
      {"tflite-micro/trained_lstm_int8.tflite", 0, {}, {}},
      {"coral-test_data/keras_lstm_mnist_ptq.tflite", 0, {}, {}},
      {"zoo/dtln_noise_suppression.tflite", 0, {1, 5, 257}, {1, 5, 128}},
      {"zoo/dtln_noise_suppression.tflite", 1, {1, 5, 128}, {1, 5, 128}},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(std::string(c.file) + " LSTM #" + std::to_string(c.occurrence));
    auto bytes = ReadFileBytes(CorpusPath(c.file));
    if (!bytes.ok()) GTEST_SKIP() << "corpus unavailable: " << bytes.status().message();
    int op = -1;
    for (int k = 0; k <= c.occurrence; ++k) {
      op = FindOperator(*bytes, tflite::BuiltinOperator::UNIDIRECTIONAL_SEQUENCE_LSTM, op + 1);
    }
    ASSERT_GE(op, 0);
    std::vector<std::vector<int32_t>> ins, outs;
    if (!c.in_shape.empty()) ins.push_back(c.in_shape);
    if (!c.out_shape.empty()) outs.push_back(c.out_shape);
    const std::vector<uint8_t> model =
        ExtractOperator(*bytes, op, CopySequenceLstmOptions(*bytes, op), ins, outs);
    auto interp = rt::Interpreter::Create(model.data(), model.size(), {});
    ASSERT_TRUE(interp.ok()) << interp.status().message();
    const rt::Tensor* in_t = (*interp)->input_tensor(0);
    std::vector<int32_t> shape(in_t->dims.data, in_t->dims.data + in_t->dims.size);
    for (uint32_t seed : {1u, 2u}) {
      const NpyArray in = in_t->type == DType::kInt8
                              ? RandomArray(DType::kInt8, shape, seed, -128, 127)
                              : RandomArray(DType::kFloat32, shape, seed, 0, 1);
      auto ours = RunEdgeopt(model, {in});
      ASSERT_TRUE(ours.ok()) << ours.status().message();
      auto ref = RunTfliteRef(model, {in});
      ASSERT_TRUE(ref.ok()) << ref.status().message();
      ExpectAllClose(*ours, *ref, in_t->type == DType::kInt8 ? kIntegerTolerance : kFloatTolerance);
    }
  }
}

}  // namespace
}  // namespace testing
}  // namespace edgeopt
