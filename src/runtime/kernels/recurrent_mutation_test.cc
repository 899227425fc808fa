// Robustness of the recurrent kernels against corrupted model files: single-op
// LSTM, SVDF and RNN models with random bytes flipped must load and run, or
// fail with a Status; never crash (run this under ASan/UBSan to also catch
// out-of-bounds accesses and undefined behaviour).
#include <gtest/gtest.h>

#include <cstring>
#include <random>

#include "src/runtime/interpreter.h"
#include "src/runtime/kernels/lstm_test_util.h"
#include "tests/model_builder.h"

namespace edgeopt {
namespace testing {
namespace {

std::vector<std::vector<uint8_t>> BaseModels() {
  std::vector<std::vector<uint8_t>> models;
  for (LstmVariant v : {LstmVariant::kFloat, LstmVariant::kHybrid, LstmVariant::kInteger}) {
    LstmSpec s;
    s.variant = v;
    s.n_batch = 1;
    s.max_time = 2;
    s.n_input = 2;
    s.n_cell = 3;
    s.n_output = 3;
    models.push_back(MakeLstmModel(s));
    s.peephole = true;
    s.layer_norm = true;
    s.projection = true;
    s.projection_bias = true;
    s.n_output = 2;
    s.asymmetric = true;
    s.time_major = true;
    models.push_back(MakeLstmModel(s));
    s.single_step = true;
    s.cifg = true;
    models.push_back(MakeLstmModel(s));
  }
  // SVDF: float and integer (int16 and int8 state).
  for (int variant = 0; variant < 3; ++variant) {
    ModelBuilder m;
    const bool integer = variant > 0;
    const DType state_type = variant == 1   ? DType::kInt16
                             : variant == 2 ? DType::kInt8
                                            : DType::kFloat32;
    const int x = integer ? m.AddInput(DType::kInt8, {1, 3}, {0.1f}, {1})
                          : m.AddInput(DType::kFloat32, {1, 3});
    const int wf =
        integer ? m.AddConstant(DType::kInt8, {4, 3},
                                std::vector<int8_t>{1, -2, 3, 4, 5, -6, 7, 8, 9, 10, -11, 12},
                                {0.05f}, {0})
                : m.AddConstant(DType::kFloat32, {4, 3}, std::vector<float>(12, 0.25f));
    int wt;
    if (variant == 1) {
      wt = m.AddConstant(DType::kInt16, {4, 2}, std::vector<int16_t>{1, 2, 3, 4, 5, 6, 7, 8},
                         {0.01f}, {0});
    } else if (variant == 2) {
      wt = m.AddConstant(DType::kInt8, {4, 2}, std::vector<int8_t>{1, 2, 3, 4, 5, 6, 7, 8}, {0.01f},
                         {0});
    } else {
      wt = m.AddConstant(DType::kFloat32, {4, 2}, std::vector<float>(8, 0.5f));
    }
    const int bias =
        integer ? m.AddConstant(DType::kInt32, {2}, std::vector<int32_t>{5, -5}, {0.001f}, {0})
                : m.AddConstant(DType::kFloat32, {2}, std::vector<float>{0.1f, 0.2f});
    const int state = integer ? m.AddVariable(state_type, {1, 8}, {0.02f}, {0})
                              : m.AddVariable(state_type, {1, 8});
    const int y = integer ? m.AddOutput(DType::kInt8, {1, 2}, {0.1f}, {-128})
                          : m.AddOutput(DType::kFloat32, {1, 2});
    m.AddOperator(tflite::BuiltinOperator::SVDF, {x, wf, wt, bias, state}, {y},
                  [](flatbuffers::FlatBufferBuilder& fb) {
                    return MakeOptions(
                        tflite::BuiltinOptions::SVDFOptions,
                        tflite::CreateSVDFOptions(fb, 2, tflite::ActivationFunctionType::RELU));
                  });
    models.push_back(m.Build());
  }
  // RNN.
  {
    ModelBuilder m;
    const int x = m.AddInput(DType::kFloat32, {1, 2, 2});
    const int w = m.AddConstant(DType::kFloat32, {3, 2}, std::vector<float>(6, 0.1f));
    const int r = m.AddConstant(DType::kFloat32, {3, 3}, std::vector<float>(9, 0.2f));
    const int b = m.AddConstant(DType::kFloat32, {3}, std::vector<float>(3, 0.3f));
    const int h = m.AddVariable(DType::kFloat32, {1, 3});
    const int y = m.AddOutput(DType::kFloat32, {1, 2, 3});
    m.AddOperator(tflite::BuiltinOperator::UNIDIRECTIONAL_SEQUENCE_RNN, {x, w, r, b, h}, {y},
                  [](flatbuffers::FlatBufferBuilder& fb) {
                    return MakeOptions(tflite::BuiltinOptions::SequenceRNNOptions,
                                       tflite::CreateSequenceRNNOptions(
                                           fb, false, tflite::ActivationFunctionType::TANH));
                  });
    models.push_back(m.Build());
  }
  return models;
}

// Declared tensor bytes of a verified model (huge shapes would only test the
// allocator and make the test slow).
uint64_t DeclaredBytes(const std::vector<uint8_t>& model) {
  if (!rt::VerifyModelBuffer(model.data(), model.size()).ok()) return 0;
  const tflite::Model* m = tflite::GetModel(model.data());
  uint64_t total = 0;
  if (m->subgraphs() == nullptr) return 0;
  for (const tflite::SubGraph* sg : *m->subgraphs()) {
    if (sg == nullptr || sg->tensors() == nullptr) continue;
    for (const tflite::Tensor* t : *sg->tensors()) {
      if (t == nullptr || t->shape() == nullptr) continue;
      uint64_t n = 4;
      for (int32_t d : *t->shape()) n *= d > 0 ? static_cast<uint64_t>(d) : 1;
      total += std::min<uint64_t>(n, uint64_t{1} << 40);
    }
  }
  return total;
}

TEST(RecurrentMutation, CorruptedModelsFailCleanly) {
  constexpr int kMutationsPerModel = 1500;
  std::mt19937 rng(2024);
  int loaded = 0, refused = 0;
  for (const std::vector<uint8_t>& base : BaseModels()) {
    // The unmutated model must work.
    {
      auto interp = rt::Interpreter::Create(base.data(), base.size(), {});
      ASSERT_TRUE(interp.ok()) << interp.status().message();
      ASSERT_TRUE((*interp)->Invoke().ok());
    }
    for (int k = 0; k < kMutationsPerModel; ++k) {
      std::vector<uint8_t> model = base;
      const int flips = 1 + static_cast<int>(rng() % 4);
      for (int f = 0; f < flips; ++f) {
        const size_t pos = rng() % model.size();
        switch (rng() % 3) {
          case 0:
            model[pos] ^= static_cast<uint8_t>(1u << (rng() % 8));
            break;
          case 1:
            model[pos] = static_cast<uint8_t>(rng());
            break;
          default:
            model[pos] = (rng() % 2) ? 0x00 : 0xFF;
            break;
        }
      }
      if (DeclaredBytes(model) > (uint64_t{1} << 22)) continue;
      auto interp = rt::Interpreter::Create(model.data(), model.size(), {});
      if (!interp.ok()) {
        EXPECT_FALSE(interp.status().message().empty());
        ++refused;
        continue;
      }
      ++loaded;
      for (int i = 0; i < (*interp)->num_inputs(); ++i) {
        rt::Tensor* t = (*interp)->input_tensor(i);
        for (size_t b = 0; b < t->bytes; ++b) t->data[b] = static_cast<uint8_t>(rng());
      }
      const Status s1 = (*interp)->Invoke();
      const Status s2 = (*interp)->Invoke();
      EXPECT_EQ(s1.ok(), s2.ok());
    }
  }
  // Both outcomes occur, so the mutations reach the kernels' checks and their
  // Eval.
  EXPECT_GT(loaded, 0);
  EXPECT_GT(refused, 0);
}

}  // namespace
}  // namespace testing
}  // namespace edgeopt
