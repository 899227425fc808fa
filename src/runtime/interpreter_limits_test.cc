// Memory limits of the interpreter on every target: a model that declares huge tensors gets an
// error status, never a truncated size. These matter most on 32-bit Arm (armhf), where size_t
// cannot hold a tensor of 4 GiB or a sum of buffers past the address space; make test runs them
// there under qemu. Nothing here allocates the declared sizes.
#include <gtest/gtest.h>

#include <cstdint>
#include <vector>

#include "src/runtime/interpreter.h"
#include "tests/model_builder.h"

namespace edgeopt {
namespace testing {
namespace {

using Op = tflite::BuiltinOperator;

OptionsFn AddOptions() {
  return [](flatbuffers::FlatBufferBuilder& fb) {
    return MakeOptions(tflite::BuiltinOptions::AddOptions, tflite::CreateAddOptions(fb));
  };
}

// y = x + x, z = y + x: x, y and z (inputs and outputs) are alive for the whole invoke.
std::vector<uint8_t> ThreeLiveTensors(int32_t elements) {
  ModelBuilder m;
  const int x = m.AddInput(DType::kFloat32, {elements});
  const int y = m.AddOutput(DType::kFloat32, {elements});
  const int z = m.AddOutput(DType::kFloat32, {elements});
  m.AddOperator(Op::ADD, {x, x}, {y}, AddOptions());
  m.AddOperator(Op::ADD, {y, x}, {z}, AddOptions());
  return m.Build();
}

TEST(InterpreterLimits, DefaultLimitIsNotZero) {
  // size_t{4} << 30 is 0 with a 32-bit size_t.
  EXPECT_GE(rt::InterpreterOptions().max_memory_bytes, size_t{1} << 30);
}

TEST(InterpreterLimits, SmallModelRuns) {
  auto out = RunEdgeopt(ThreeLiveTensors(4),
                        {MakeArray<float>(DType::kFloat32, {4}, {1.0f, 2.0f, -3.0f, 0.5f})});
  ASSERT_TRUE(out.ok()) << out.status().message();
  EXPECT_EQ(ToVector<float>((*out)[1]), (std::vector<float>{3.0f, 6.0f, -9.0f, 1.5f}));
}

TEST(InterpreterLimits, TensorOfFiveGibIsRefused) {
  // 5 GiB of floats: over the default limit on 64-bit targets, over size_t on 32-bit ones
  // (where it used to wrap to 1 GiB).
  const std::vector<uint8_t> model = ThreeLiveTensors(int32_t{5} << 28);
  auto interp = rt::Interpreter::Create(model.data(), model.size(), rt::InterpreterOptions());
  EXPECT_FALSE(interp.ok());
}

TEST(InterpreterLimits, BuffersAddingUpPastTheAddressSpaceAreRefused) {
  // Three live tensors of 1.5 GiB: 4.5 GiB in all, which wrapped around to 0.5 GiB in a 32-bit
  // planner. The limit (1 GiB) keeps a 64-bit target from allocating.
  const std::vector<uint8_t> model = ThreeLiveTensors(int32_t{3} << 27);
  rt::InterpreterOptions options;
  options.max_memory_bytes = size_t{1} << 30;
  auto interp = rt::Interpreter::Create(model.data(), model.size(), options);
  ASSERT_FALSE(interp.ok());
  EXPECT_EQ(interp.status().code(), StatusCode::kOutOfMemory) << interp.status().message();
}

}  // namespace
}  // namespace testing
}  // namespace edgeopt
