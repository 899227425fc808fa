// Memory limits of the interpreter on every target: a model that declares huge tensors gets an
// error status, never a truncated size. These matter most on 32-bit Arm (armhf), where size_t
// cannot hold a tensor of 4 GiB or a sum of buffers past the address space; make test runs them
// there under qemu. Nothing here allocates the declared sizes.
#include <gtest/gtest.h>

#include <cstdint>
#include <string>
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

// y = x + x with x and y of `shape`.
std::vector<uint8_t> AddOfShape(const std::vector<int32_t>& shape) {
  ModelBuilder m;
  const int x = m.AddInput(DType::kFloat32, shape);
  const int y = m.AddOutput(DType::kFloat32, shape);
  m.AddOperator(Op::ADD, {x, x}, {y}, AddOptions());
  return m.Build();
}

TEST(InterpreterLimits, ShapesWhoseProductWrapsAreRefused) {
  // 2^30 * 64 * 2^28 is 2^64, which wrapped around to 0 elements: an empty tensor whose
  // dimensions kernels would loop over. A zero dimension beside huge ones is refused too: every
  // partial product of an accepted shape fits the limit.
  for (const std::vector<int32_t>& shape :
       {std::vector<int32_t>{1 << 30, 64, 1 << 28}, std::vector<int32_t>{1 << 28, 1 << 30, 64},
        std::vector<int32_t>{1 << 30, 1 << 30, 1 << 30, 0}}) {
    const std::vector<uint8_t> model = AddOfShape(shape);
    auto interp = rt::Interpreter::Create(model.data(), model.size(), rt::InterpreterOptions());
    ASSERT_FALSE(interp.ok()) << shape[0] << "x" << shape[1] << "x" << shape[2];
    EXPECT_NE(interp.status().message().find("too large"), std::string::npos)
        << interp.status().message();
  }
  // The same shape computed at Prepare (ResizeTensor): an empty input reshaped to it.
  {
    ModelBuilder m;
    const int x = m.AddInput(DType::kFloat32, {0});
    const int y = m.AddOutput(DType::kFloat32, {1});
    const std::vector<int32_t> new_shape = {1 << 30, 64, 1 << 28};
    m.AddOperator(Op::RESHAPE, {x}, {y}, [new_shape](flatbuffers::FlatBufferBuilder& b) {
      return MakeOptions(tflite::BuiltinOptions::ReshapeOptions,
                         tflite::CreateReshapeOptions(b, b.CreateVector(new_shape)));
    });
    const std::vector<uint8_t> model = m.Build();
    auto interp = rt::Interpreter::Create(model.data(), model.size(), rt::InterpreterOptions());
    ASSERT_FALSE(interp.ok());
    // RESHAPE's own product of the new shape refuses it, before it overflows (UBSan saw
    // 2^28 * 2^36 there).
    EXPECT_NE(interp.status().message().find("new shape is too large"), std::string::npos)
        << interp.status().message();
  }
  // An empty tensor of modest dimensions stays valid.
  const std::vector<uint8_t> empty = AddOfShape({0, 1000});
  auto interp = rt::Interpreter::Create(empty.data(), empty.size(), rt::InterpreterOptions());
  EXPECT_TRUE(interp.ok()) << interp.status().message();
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
