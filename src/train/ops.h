// Factories of the train engine's op kernels (the table is in op_kernel.cc).
#ifndef EDGEOPT_SRC_TRAIN_OPS_H_
#define EDGEOPT_SRC_TRAIN_OPS_H_

#include <memory>
#include <string>
#include <vector>

#include "src/train/op_kernel.h"

namespace edgeopt {
namespace train {

// An int32/int64 constant input (axes, paddings, permutation) read from the IR.
Status ReadIntConstantForKernel(const ir::Graph& graph, int id, const std::string& where,
                                std::vector<int64_t>* out);

std::unique_ptr<OpKernel> NewFullyConnected();
std::unique_ptr<OpKernel> NewConv2D();
std::unique_ptr<OpKernel> NewDepthwiseConv2D();
std::unique_ptr<OpKernel> NewBatchMatMul();  // ops_batch_matmul.cc
std::unique_ptr<OpKernel> NewBatchNorm();
std::unique_ptr<OpKernel> NewDropout();
std::unique_ptr<OpKernel> NewL2Normalization();
std::unique_ptr<OpKernel> NewMaxPool2D();
std::unique_ptr<OpKernel> NewAveragePool2D();
std::unique_ptr<OpKernel> NewMean();
std::unique_ptr<OpKernel> NewSum();
std::unique_ptr<OpKernel> NewReduceMax();
std::unique_ptr<OpKernel> NewReduceMin();
std::unique_ptr<OpKernel> NewArgMax();
std::unique_ptr<OpKernel> NewDepthToSpace();
std::unique_ptr<OpKernel> NewSpaceToDepth();
std::unique_ptr<OpKernel> NewArgMin();
std::unique_ptr<OpKernel> NewRelu();
std::unique_ptr<OpKernel> NewRelu6();
std::unique_ptr<OpKernel> NewReluN1To1();
std::unique_ptr<OpKernel> NewLeakyRelu();
std::unique_ptr<OpKernel> NewLogistic();
std::unique_ptr<OpKernel> NewTanh();
std::unique_ptr<OpKernel> NewHardSwish();
std::unique_ptr<OpKernel> NewElu();
std::unique_ptr<OpKernel> NewGelu();
std::unique_ptr<OpKernel> NewRsqrt();
std::unique_ptr<OpKernel> NewPrelu();
std::unique_ptr<OpKernel> NewExp();
std::unique_ptr<OpKernel> NewAbs();
std::unique_ptr<OpKernel> NewNeg();
std::unique_ptr<OpKernel> NewLog();
std::unique_ptr<OpKernel> NewSqrt();
std::unique_ptr<OpKernel> NewSquare();
std::unique_ptr<OpKernel> NewSoftmax();
std::unique_ptr<OpKernel> NewLogSoftmax();
std::unique_ptr<OpKernel> NewAdd();
std::unique_ptr<OpKernel> NewSub();
std::unique_ptr<OpKernel> NewMul();
std::unique_ptr<OpKernel> NewDiv();
std::unique_ptr<OpKernel> NewMaximum();
std::unique_ptr<OpKernel> NewMinimum();
std::unique_ptr<OpKernel> NewSquaredDifference();
std::unique_ptr<OpKernel> NewNotEqual();  // a Keras mask: 1 / 0, no gradient
// Comparisons and logical ops of Keras operations (x > 0, where's conditions): 1 / 0, no
// gradient.
std::unique_ptr<OpKernel> NewEqual();
std::unique_ptr<OpKernel> NewGreater();
std::unique_ptr<OpKernel> NewGreaterEqual();
std::unique_ptr<OpKernel> NewLess();
std::unique_ptr<OpKernel> NewLessEqual();
std::unique_ptr<OpKernel> NewLogicalAnd();
std::unique_ptr<OpKernel> NewLogicalOr();
std::unique_ptr<OpKernel> NewLogicalNot();
std::unique_ptr<OpKernel> NewPow();  // Keras's x ** c (c not 2, 0.5, -0.5 or 1)
std::unique_ptr<OpKernel> NewSin();
std::unique_ptr<OpKernel> NewCos();
std::unique_ptr<OpKernel> NewFloor();  // FLOOR, CEIL, ROUND: gradient 0
std::unique_ptr<OpKernel> NewCeil();
std::unique_ptr<OpKernel> NewRound();
std::unique_ptr<OpKernel> NewTile();      // Keras's ops.tile / ops.repeat
std::unique_ptr<OpKernel> NewCast();      // bool (the mask) -> float32 only
std::unique_ptr<OpKernel> NewSelectV2();  // a Keras padding mask on attention scores
std::unique_ptr<OpKernel> NewReshape();
std::unique_ptr<OpKernel> NewConcatenation();
std::unique_ptr<OpKernel> NewPad();
std::unique_ptr<OpKernel> NewSlice();
std::unique_ptr<OpKernel> NewStridedSlice();
std::unique_ptr<OpKernel> NewResizeNearestNeighbor();  // ops_resize.cc
std::unique_ptr<OpKernel> NewResizeBilinear();
std::unique_ptr<OpKernel> NewTransposeConv();  // ops_transpose_conv.cc
std::unique_ptr<OpKernel> NewTranspose();
std::unique_ptr<OpKernel> NewEmbedding();
std::unique_ptr<OpKernel> NewLstm();             // ops_recurrent.cc
std::unique_ptr<OpKernel> NewFakeQuantWeight();  // ops_quant.cc
std::unique_ptr<OpKernel> NewFakeQuantAct();

}  // namespace train
}  // namespace edgeopt

#endif  // EDGEOPT_SRC_TRAIN_OPS_H_
