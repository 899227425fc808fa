// Kernel family: CONV_2D, DEPTHWISE_CONV_2D, FULLY_CONNECTED, TRANSPOSE_CONV,
// BATCH_MATMUL (float, int8, uint8, int16x8, hybrid); DENSIFY of their sparse weights.
#include "src/runtime/op_registry.h"

namespace edgeopt {
namespace rt {

const Registration* RegisterConv2D();
const Registration* RegisterDepthwiseConv2D();
const Registration* RegisterFullyConnected();
const Registration* RegisterTransposeConv();
const Registration* RegisterBatchMatMul();
const Registration* RegisterDensify();

void AddConvOps(OpTable* table) {
  using Op = tflite::BuiltinOperator;
  table->Add(Op::CONV_2D, RegisterConv2D());
  table->Add(Op::DEPTHWISE_CONV_2D, RegisterDepthwiseConv2D());
  table->Add(Op::FULLY_CONNECTED, RegisterFullyConnected());
  table->Add(Op::TRANSPOSE_CONV, RegisterTransposeConv());
  table->Add(Op::BATCH_MATMUL, RegisterBatchMatMul());
  table->Add(Op::DENSIFY, RegisterDensify());
}

}  // namespace rt
}  // namespace edgeopt
