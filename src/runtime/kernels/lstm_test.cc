// LSTM (the single-step op) shares its kernels with UNIDIRECTIONAL_SEQUENCE_LSTM; these tests check
// the op's own layout ([batch, input] in, [batch, output] out) against TFLite 2.9 and that repeated
// Invoke calls continue the sequence.
#include <gtest/gtest.h>

#include <string>

#include "src/runtime/kernels/lstm_test_util.h"
#include "src/runtime/kernels/recurrent_test_util.h"
#include "tests/model_builder.h"

namespace edgeopt {
namespace testing {
namespace {

constexpr Tolerance kFloatTolerance{1e-5, 1e-4, 0};
constexpr Tolerance kIntegerTolerance{0, 0, 0};

TEST(Lstm, MatchesTflite) {
  if (!TfliteRefAvailable()) GTEST_SKIP() << "tflite-ref unavailable";
  for (LstmVariant variant : {LstmVariant::kFloat, LstmVariant::kHybrid, LstmVariant::kInteger}) {
    for (int config = 0; config < 2; ++config) {
      LstmSpec s;
      s.variant = variant;
      s.single_step = true;
      s.n_batch = 3;
      s.seed = 30 + config;
      if (config == 1) {
        s.peephole = true;
        s.projection = true;
        s.projection_bias = true;
        s.n_output = 3;
        s.layer_norm = true;
        s.asymmetric = true;
        s.state_zp = -5;
        s.hidden_zp = 2;
      }
      SCOPED_TRACE(::testing::Message()
                   << "variant " << static_cast<int>(variant) << " config " << config);
      const std::vector<uint8_t> model = MakeLstmModel(s);
      const NpyArray in = LstmModelMaker(s).Input(3);
      auto ours = RunEdgeopt(model, {in});
      ASSERT_TRUE(ours.ok()) << ours.status().message();
      auto ref = RunTfliteRef(model, {in});
      ASSERT_TRUE(ref.ok()) << ref.status().message();
      ExpectAllClose(*ours, *ref,
                     variant == LstmVariant::kInteger ? kIntegerTolerance : kFloatTolerance);
    }
  }
}

// The optimized step against the reference one at every ISA level, batch rows of one step.
TEST(Lstm, OptimizedMatchesReference) {
  for (LstmVariant variant : {LstmVariant::kFloat, LstmVariant::kHybrid, LstmVariant::kInteger}) {
    for (int config = 0; config < 2; ++config) {
      LstmSpec s;
      s.variant = variant;
      s.single_step = true;
      s.n_batch = 3;
      s.n_input = 11;
      s.n_cell = s.n_output = 18;
      s.seed = 80 + config;
      if (config == 1) {
        s.cifg = true;
        s.projection = true;
        s.projection_bias = true;
        s.n_output = 7;
        s.layer_norm = true;
        s.state_zp = -5;
        s.hidden_zp = 2;
        s.asymmetric = true;
      }
      ExpectOptimizedMatchesReference(MakeLstmModel(s), {LstmModelMaker(s).Input(4)},
                                      "variant " + std::to_string(static_cast<int>(variant)) +
                                          " config " + std::to_string(config));
    }
  }
}

// Three Invoke calls of the LSTM op = one UNIDIRECTIONAL_SEQUENCE_LSTM over three time-major steps
// with the same weights.
TEST(Lstm, RepeatedInvokesContinueTheSequence) {
  for (LstmVariant variant : {LstmVariant::kFloat, LstmVariant::kInteger}) {
    LstmSpec seq;
    seq.variant = variant;
    seq.time_major = true;
    seq.max_time = 3;
    seq.state_zp = variant == LstmVariant::kInteger ? -7 : 0;
    seq.hidden_zp = seq.state_zp;
    LstmSpec step = seq;
    step.single_step = true;
    const NpyArray in = LstmModelMaker(seq).Input(9);
    auto whole = RunEdgeopt(MakeLstmModel(seq), {in});
    ASSERT_TRUE(whole.ok()) << whole.status().message();
    std::vector<NpyArray> steps;
    const size_t step_bytes = in.data.size() / 3;
    for (int t = 0; t < 3; ++t) {
      NpyArray a;
      a.dtype = in.dtype;
      a.shape = {seq.n_batch, seq.n_input};
      a.data.assign(in.data.begin() + t * step_bytes, in.data.begin() + (t + 1) * step_bytes);
      steps.push_back(a);
    }
    auto parts = RunInvokes(MakeLstmModel(step), steps);
    ASSERT_TRUE(parts.ok()) << parts.status().message();
    std::vector<uint8_t> joined;
    for (const NpyArray& p : *parts) {
      joined.insert(joined.end(), p.data.begin(), p.data.end());
    }
    EXPECT_EQ(joined, (*whole)[0].data);
  }
}

TEST(Lstm, Errors) {
  LstmSpec s;
  s.single_step = true;
  s.states_not_variable = true;
  auto r = RunEdgeopt(MakeLstmModel(s), {LstmModelMaker(s).Input(1)});
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("variable"), std::string::npos) << r.status().message();
}

}  // namespace
}  // namespace testing
}  // namespace edgeopt
