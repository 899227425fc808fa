#include "src/runtime/op_registry.h"

#include <cstdlib>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "src/util/file_util.h"
#include "tests/model_builder.h"
#include "tests/test_util.h"

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

// Kernel types: "TYPE" keeps it for every op, "OP:TYPE" for that op; shared code (op nullptr)
// keeps a type that any op keeps.
static_assert(TypeInList("CONV_2D", "int8", "int8"));
static_assert(TypeInList("CONV_2D", "int8", "float32,CONV_2D:int8"));
static_assert(!TypeInList("ADD", "int8", "CONV_2D:int8"));
static_assert(TypeInList(nullptr, "int8", "CONV_2D:int8"));
static_assert(!TypeInList("CONV_2D", "int8", "CONV_2D:int16,int8x,CONV:int8"));
static_assert(!TypeInList(nullptr, "hybrid", ""));

TEST(OpRegistry, TypeInListMatchesWholeEntries) {
  EXPECT_TRUE(TypeInList("QUANTIZE", "uint8", "int8,QUANTIZE:uint8"));
  EXPECT_FALSE(TypeInList("CONV_2D", "uint8", "int8,QUANTIZE:uint8"));
  EXPECT_TRUE(TypeInList(nullptr, "uint8", "int8,QUANTIZE:uint8"));
  EXPECT_FALSE(TypeInList("QUANTIZE", "uint8", "QUANTIZE:uint"));
  EXPECT_FALSE(TypeInList("QUANTIZE", "uint8", "QUANTIZE_X:uint8"));
  EXPECT_FALSE(TypeInList(nullptr, "int8", ":int16,"));
  // A full build keeps every type of every op.
  EXPECT_TRUE(TypeInBuild("CONV_2D", "hybrid"));
  EXPECT_TRUE(TypeInBuild("float32"));
}

TEST(OpRegistry, TypeNotInBuildNamesTheOpAndTheType) {
  const Status s = TypeNotInBuild("CONV_2D", "float32");
  EXPECT_EQ(s.code(), StatusCode::kUnsupported);
  EXPECT_NE(s.message().find("CONV_2D: float32 kernels are not in this build"), std::string::npos)
      << s.message();
}

// tests/models/float32_add.tflite, the model scripts/runtime_for.sh gives a selective runner
// without float32 ADD kernels (it must refuse it by op and type): one float32 ADD of two [1, 4]
// inputs. EDGEOPT_WRITE_PROBE=PATH writes it anew with the ModelBuilder.
TEST(OpRegistry, TypeProbeModelIsAFloat32Add) {
  if (const char* out = std::getenv("EDGEOPT_WRITE_PROBE")) {
    testing::ModelBuilder b;
    const int x = b.AddInput(DType::kFloat32, {1, 4});
    const int y = b.AddInput(DType::kFloat32, {1, 4});
    const int z = b.AddOutput(DType::kFloat32, {1, 4});
    b.AddOperator(tflite::BuiltinOperator::ADD, {x, y}, {z},
                  [](flatbuffers::FlatBufferBuilder& fb) {
                    return testing::MakeOptions(tflite::BuiltinOptions::AddOptions,
                                                tflite::CreateAddOptions(fb));
                  });
    ASSERT_TRUE(WriteFileAtomic(out, b.Build()).ok());
  }
  auto file = ReadFileBytes(testing::SourceDir() + "/tests/models/float32_add.tflite");
  ASSERT_TRUE(file.ok()) << file.status().message();
  ASSERT_TRUE(VerifyModelBuffer(file->data(), file->size()).ok());
  const tflite::Model* model = tflite::GetModel(file->data());
  ASSERT_EQ(model->subgraphs()->size(), 1u);
  const tflite::SubGraph* graph = model->subgraphs()->Get(0);
  ASSERT_EQ(graph->operators()->size(), 1u);
  const tflite::Operator* op = graph->operators()->Get(0);
  EXPECT_EQ(BuiltinCodeOf(model->operator_codes()->Get(op->opcode_index())),
            tflite::BuiltinOperator::ADD);
  for (const tflite::Tensor* t : *graph->tensors()) {
    EXPECT_EQ(t->type(), tflite::TensorType::FLOAT32);
  }
  const NpyArray a = testing::MakeArray<float>(DType::kFloat32, {1, 4}, {1, 2, 3, 4});
  const NpyArray c = testing::MakeArray<float>(DType::kFloat32, {1, 4}, {0.5f, 0, -3, 1});
  auto outputs = testing::RunEdgeopt(*file, {a, c});
  ASSERT_TRUE(outputs.ok()) << outputs.status().message();
  EXPECT_EQ(testing::ToVector<float>((*outputs)[0]), (std::vector<float>{1.5f, 2, 0, 5}));
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
