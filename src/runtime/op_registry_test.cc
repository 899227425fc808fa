#include "src/runtime/op_registry.h"

#include "gtest/gtest.h"

namespace edgeopt {
namespace rt {
namespace {

// The selective-build list is matched whole-name, at compile time.
static_assert(OpInList("CONV_2D", "ADD,CONV_2D,SOFTMAX"));
static_assert(!OpInList("CONV", "ADD,CONV_2D,SOFTMAX"));

TEST(OpRegistry, OpInListMatchesWholeNamesOnly) {
  EXPECT_TRUE(OpInList("ADD", "ADD"));
  EXPECT_TRUE(OpInList("ADD", "CONV_2D,ADD"));
  EXPECT_TRUE(OpInList("SOFTMAX", "ADD,CONV_2D,SOFTMAX"));
  EXPECT_FALSE(OpInList("ADD", ""));
  EXPECT_FALSE(OpInList("ADD", "ADDX,XADD"));
  EXPECT_FALSE(OpInList("CONV_2D", "DEPTHWISE_CONV_2D"));
  EXPECT_FALSE(OpInList("DEPTHWISE_CONV_2D", "CONV_2D"));
  EXPECT_FALSE(OpInList("MEAN", "ADD,,SOFTMAX"));
  EXPECT_TRUE(OpInList("SOFTMAX", "ADD,,SOFTMAX"));
}

TEST(OpRegistry, FullBuildHasEveryKernelFamily) {
  EXPECT_NE(LookupBuiltin(tflite::BuiltinOperator::CONV_2D), nullptr);
  EXPECT_NE(LookupBuiltin(tflite::BuiltinOperator::ADD), nullptr);
  EXPECT_NE(LookupBuiltin(tflite::BuiltinOperator::UNIDIRECTIONAL_SEQUENCE_LSTM), nullptr);
  EXPECT_EQ(LookupBuiltin(tflite::BuiltinOperator::CUSTOM), nullptr);
  EXPECT_EQ(LookupBuiltin(static_cast<tflite::BuiltinOperator>(-1)), nullptr);
}

}  // namespace
}  // namespace rt
}  // namespace edgeopt
