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
const Registration* RegisterReshape();
const Registration* RegisterSqueeze();
const Registration* RegisterExpandDims();
const Registration* RegisterShape();
const Registration* RegisterConcatenation();
const Registration* RegisterSplit();
const Registration* RegisterSplitV();
const Registration* RegisterPack();
const Registration* RegisterUnpack();
const Registration* RegisterTranspose();
const Registration* RegisterPad();
const Registration* RegisterPadV2();
const Registration* RegisterSlice();
const Registration* RegisterStridedSlice();

void AddElementwiseOps(OpTable* table) {
  using Op = tflite::BuiltinOperator;
  table->Add(Op::ADD, RegisterAdd());
  table->Add(Op::SUB, RegisterSub());
  table->Add(Op::MUL, RegisterMul());
  table->Add(Op::DIV, RegisterDiv());
  table->Add(Op::MINIMUM, RegisterMinimum());
  table->Add(Op::MAXIMUM, RegisterMaximum());
  table->Add(Op::SQUARED_DIFFERENCE, RegisterSquaredDifference());
  table->Add(Op::RESHAPE, RegisterReshape());
  table->Add(Op::SQUEEZE, RegisterSqueeze());
  table->Add(Op::EXPAND_DIMS, RegisterExpandDims());
  table->Add(Op::SHAPE, RegisterShape());
  table->Add(Op::CONCATENATION, RegisterConcatenation());
  table->Add(Op::SPLIT, RegisterSplit());
  table->Add(Op::SPLIT_V, RegisterSplitV());
  table->Add(Op::PACK, RegisterPack());
  table->Add(Op::UNPACK, RegisterUnpack());
  table->Add(Op::TRANSPOSE, RegisterTranspose());
  table->Add(Op::PAD, RegisterPad());
  table->Add(Op::PADV2, RegisterPadV2());
  table->Add(Op::SLICE, RegisterSlice());
  table->Add(Op::STRIDED_SLICE, RegisterStridedSlice());
}

}  // namespace rt
}  // namespace edgeopt
