#include <gtest/gtest.h>

#include <random>

#include "src/runtime/kernels/recurrent_test_util.h"
#include "tests/model_builder.h"

namespace edgeopt {
namespace testing {
namespace {

constexpr Tolerance kFloatTolerance{1e-5, 1e-4, 0};

struct RnnSpec {
  int n_batch = 2, max_time = 4, n_input = 3, n_unit = 5;
  bool time_major = false;
  tflite::ActivationFunctionType activation = tflite::ActivationFunctionType::TANH;
  uint32_t seed = 1;
  bool hidden_not_variable = false;
  int bad_recurrent_cols = 0;
};

std::vector<int32_t> InputShape(const RnnSpec& s) {
  return s.time_major ? std::vector<int32_t>{s.max_time, s.n_batch, s.n_input}
                      : std::vector<int32_t>{s.n_batch, s.max_time, s.n_input};
}

std::vector<uint8_t> MakeRnnModel(const RnnSpec& s) {
  std::mt19937 rng(s.seed);
  std::uniform_real_distribution<float> dist(-0.6f, 0.6f);
  auto values = [&](int n) {
    std::vector<float> v(n);
    for (float& x : v) x = dist(rng);
    return v;
  };
  ModelBuilder m;
  const int x = m.AddInput(DType::kFloat32, InputShape(s));
  const int w = m.AddConstant(DType::kFloat32, {s.n_unit, s.n_input}, values(s.n_unit * s.n_input));
  const int cols = s.n_unit + s.bad_recurrent_cols;
  const int r = m.AddConstant(DType::kFloat32, {s.n_unit, cols}, values(s.n_unit * cols));
  const int b = m.AddConstant(DType::kFloat32, {s.n_unit}, values(s.n_unit));
  const int h = s.hidden_not_variable ? m.AddTensor(DType::kFloat32, {s.n_batch, s.n_unit})
                                      : m.AddVariable(DType::kFloat32, {s.n_batch, s.n_unit});
  std::vector<int32_t> out_shape = InputShape(s);
  out_shape[2] = s.n_unit;
  const int y = m.AddOutput(DType::kFloat32, out_shape);
  m.AddOperator(tflite::BuiltinOperator::UNIDIRECTIONAL_SEQUENCE_RNN, {x, w, r, b, h}, {y},
                [s](flatbuffers::FlatBufferBuilder& fb) {
                  return MakeOptions(
                      tflite::BuiltinOptions::SequenceRNNOptions,
                      tflite::CreateSequenceRNNOptions(fb, s.time_major, s.activation));
                });
  return m.Build();
}

TEST(UnidirectionalSequenceRnn, Golden) {
  // One unit, one input: h_t = relu(2 x_t - 0.5 h_{t-1} + 0.25).
  ModelBuilder m;
  const int x = m.AddInput(DType::kFloat32, {1, 3, 1});
  const int w = m.AddConstant(DType::kFloat32, {1, 1}, std::vector<float>{2});
  const int r = m.AddConstant(DType::kFloat32, {1, 1}, std::vector<float>{-0.5f});
  const int b = m.AddConstant(DType::kFloat32, {1}, std::vector<float>{0.25f});
  const int h = m.AddVariable(DType::kFloat32, {1, 1});
  const int y = m.AddOutput(DType::kFloat32, {1, 3, 1});
  m.AddOperator(tflite::BuiltinOperator::UNIDIRECTIONAL_SEQUENCE_RNN, {x, w, r, b, h}, {y},
                [](flatbuffers::FlatBufferBuilder& fb) {
                  return MakeOptions(tflite::BuiltinOptions::SequenceRNNOptions,
                                     tflite::CreateSequenceRNNOptions(
                                         fb, false, tflite::ActivationFunctionType::RELU));
                });
  // x = 1, -1, 3: h = 2.25; relu(-2 - 1.125 + 0.25) = 0; 6 - 0 + 0.25 = 6.25.
  auto out = RunEdgeopt(m.Build(), {MakeArray<float>(DType::kFloat32, {1, 3, 1}, {1, -1, 3})});
  ASSERT_TRUE(out.ok()) << out.status().message();
  EXPECT_EQ(ToVector<float>((*out)[0]), (std::vector<float>{2.25f, 0, 6.25f}));
}

TEST(UnidirectionalSequenceRnn, MatchesTflite) {
  if (!TfliteRefAvailable()) GTEST_SKIP() << "tflite-ref unavailable";
  RnnSpec specs[3];
  specs[1].time_major = true;
  specs[1].activation = tflite::ActivationFunctionType::RELU;
  specs[1].seed = 2;
  specs[2].activation = tflite::ActivationFunctionType::NONE;
  specs[2].n_batch = 3;
  specs[2].seed = 3;
  for (const RnnSpec& s : specs) {
    const std::vector<uint8_t> model = MakeRnnModel(s);
    const std::vector<NpyArray> in = {RandomArray(DType::kFloat32, InputShape(s), s.seed)};
    auto ours = RunEdgeopt(model, in);
    ASSERT_TRUE(ours.ok()) << ours.status().message();
    auto ref = RunTfliteRef(model, in);
    ASSERT_TRUE(ref.ok()) << ref.status().message();
    ExpectAllClose(*ours, *ref, kFloatTolerance);
  }
}

TEST(UnidirectionalSequenceRnn, StatePersistsAcrossInvokes) {
  RnnSpec whole;
  whole.time_major = true;
  RnnSpec half = whole;
  half.max_time = 2;
  const NpyArray in = RandomArray(DType::kFloat32, InputShape(whole), 5);
  auto full = RunEdgeopt(MakeRnnModel(whole), {in});
  ASSERT_TRUE(full.ok()) << full.status().message();
  NpyArray a = in, b = in;
  const size_t half_bytes = in.data.size() / 2;
  a.shape[0] = b.shape[0] = 2;
  a.data.resize(half_bytes);
  b.data.assign(in.data.begin() + half_bytes, in.data.end());
  auto parts = RunInvokes(MakeRnnModel(half), {a, b});
  ASSERT_TRUE(parts.ok()) << parts.status().message();
  std::vector<uint8_t> joined = (*parts)[0].data;
  joined.insert(joined.end(), (*parts)[1].data.begin(), (*parts)[1].data.end());
  EXPECT_EQ(joined, (*full)[0].data);
}

TEST(UnidirectionalSequenceRnn, Errors) {
  RnnSpec s;
  s.hidden_not_variable = true;
  auto r = RunEdgeopt(MakeRnnModel(s), {RandomArray(DType::kFloat32, InputShape(s), 1)});
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("variable"), std::string::npos) << r.status().message();
  s = RnnSpec();
  s.bad_recurrent_cols = 1;
  r = RunEdgeopt(MakeRnnModel(s), {RandomArray(DType::kFloat32, InputShape(s), 1)});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(static_cast<int>(r.status().code()), static_cast<int>(StatusCode::kInvalidModel));
  EXPECT_NE(r.status().message().find("recurrent_weights"), std::string::npos)
      << r.status().message();
}

}  // namespace
}  // namespace testing
}  // namespace edgeopt
