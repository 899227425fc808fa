// Kernel family: elementwise arithmetic, activations, pooling, reductions, shape/data movement,
// quantize/dequantize/cast.
#include "src/runtime/op_registry.h"

namespace edgeopt {
namespace rt {

const Registration* RegisterAdd();

void AddElementwiseOps(OpTable* table) {
  using Op = tflite::BuiltinOperator;
  table->Add(Op::ADD, RegisterAdd());
}

}  // namespace rt
}  // namespace edgeopt
