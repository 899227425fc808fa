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
const Registration* RegisterQuantize();
const Registration* RegisterDequantize();
const Registration* RegisterCast();
const Registration* RegisterRelu();
const Registration* RegisterRelu6();
const Registration* RegisterReluN1To1();
const Registration* RegisterLeakyRelu();
const Registration* RegisterPrelu();
const Registration* RegisterHardSwish();
const Registration* RegisterElu();
const Registration* RegisterGelu();
const Registration* RegisterLogistic();
const Registration* RegisterTanh();
const Registration* RegisterSoftmax();
const Registration* RegisterLogSoftmax();
const Registration* RegisterMaxPool2D();
const Registration* RegisterAveragePool2D();
const Registration* RegisterL2Pool2D();
const Registration* RegisterMean();
const Registration* RegisterSum();
const Registration* RegisterReduceProd();
const Registration* RegisterReduceMax();
const Registration* RegisterReduceMin();
const Registration* RegisterArgMax();
const Registration* RegisterArgMin();

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
  table->Add(Op::QUANTIZE, RegisterQuantize());
  table->Add(Op::DEQUANTIZE, RegisterDequantize());
  table->Add(Op::CAST, RegisterCast());
  table->Add(Op::RELU, RegisterRelu());
  table->Add(Op::RELU6, RegisterRelu6());
  table->Add(Op::RELU_N1_TO_1, RegisterReluN1To1());
  table->Add(Op::LEAKY_RELU, RegisterLeakyRelu());
  table->Add(Op::PRELU, RegisterPrelu());
  table->Add(Op::HARD_SWISH, RegisterHardSwish());
  table->Add(Op::ELU, RegisterElu());
  table->Add(Op::GELU, RegisterGelu());
  table->Add(Op::LOGISTIC, RegisterLogistic());
  table->Add(Op::TANH, RegisterTanh());
  table->Add(Op::SOFTMAX, RegisterSoftmax());
  table->Add(Op::LOG_SOFTMAX, RegisterLogSoftmax());
  table->Add(Op::MAX_POOL_2D, RegisterMaxPool2D());
  table->Add(Op::AVERAGE_POOL_2D, RegisterAveragePool2D());
  table->Add(Op::L2_POOL_2D, RegisterL2Pool2D());
  table->Add(Op::MEAN, RegisterMean());
  table->Add(Op::SUM, RegisterSum());
  table->Add(Op::REDUCE_PROD, RegisterReduceProd());
  table->Add(Op::REDUCE_MAX, RegisterReduceMax());
  table->Add(Op::REDUCE_MIN, RegisterReduceMin());
  table->Add(Op::ARG_MAX, RegisterArgMax());
  table->Add(Op::ARG_MIN, RegisterArgMin());
}

}  // namespace rt
}  // namespace edgeopt
