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
  EDGEOPT_ADD_OP(table, CONV_2D, RegisterConv2D);
  EDGEOPT_ADD_OP(table, DEPTHWISE_CONV_2D, RegisterDepthwiseConv2D);
  EDGEOPT_ADD_OP(table, FULLY_CONNECTED, RegisterFullyConnected);
  EDGEOPT_ADD_OP(table, TRANSPOSE_CONV, RegisterTransposeConv);
  EDGEOPT_ADD_OP(table, BATCH_MATMUL, RegisterBatchMatMul);
  EDGEOPT_ADD_OP(table, DENSIFY, RegisterDensify);
}

}  // namespace rt
}  // namespace edgeopt
