// Kernel family: elementwise arithmetic, activations, pooling, reductions,
// shape/data movement, quantize/dequantize/cast.
#include "src/runtime/op_registry.h"

namespace edgeopt {
namespace rt {

const Registration* RegisterAdd();
const Registration* RegisterSub();
const Registration* RegisterMul();
const Registration* RegisterDiv();
const Registration* RegisterMinimum();
const Registration* RegisterMaximum();
const Registration* RegisterSquaredDifference();

void AddElementwiseOps(OpTable* table) {
  using Op = tflite::BuiltinOperator;
  table->Add(Op::ADD, RegisterAdd());
  table->Add(Op::SUB, RegisterSub());
  table->Add(Op::MUL, RegisterMul());
  table->Add(Op::DIV, RegisterDiv());
  table->Add(Op::MINIMUM, RegisterMinimum());
  table->Add(Op::MAXIMUM, RegisterMaximum());
  table->Add(Op::SQUARED_DIFFERENCE, RegisterSquaredDifference());
}

}  // namespace rt
}  // namespace edgeopt
