// The passes that take an IR graph from its training form (as importers build it) to the form the
// TFLite exporter writes. Each pass is in its own file and can run alone; pipeline.h runs them in
// order. All of them keep graph inputs and outputs (tensors and names) unchanged.
#ifndef EDGEOPT_SRC_PASSES_EXPORT_PASSES_H_
#define EDGEOPT_SRC_PASSES_EXPORT_PASSES_H_

#include "src/ir/graph.h"

namespace edgeopt {
namespace passes {

// DROPOUT nodes are identities at inference: removed.
// EMBEDDING (training form of Keras Embedding) -> CAST of the ids to int32 + GATHER of rows.
Status LowerEmbedding(ir::Graph* graph);
Status RemoveDropout(ir::Graph* graph);
// Nodes whose inputs are all constant (reshapes, transposes, elementwise float math) are evaluated
// and replaced by constants.
Status FoldConstants(ir::Graph* graph);
// BATCH_NORM after CONV_2D / DEPTHWISE_CONV_2D / FULLY_CONNECTED / TRANSPOSE_CONV (without a fused
// activation, output not shared) is folded into its weights and bias; any other becomes MUL + ADD
// with constant per-channel vectors.
Status FoldBatchNorm(ir::Graph* graph);
// PAD followed by a VALID CONV_2D / DEPTHWISE_CONV_2D whose padding equals what SAME would add
// becomes a SAME convolution.
Status FusePadIntoConv(ir::Graph* graph);
// RESHAPE shape inputs become constants; chains of RESHAPEs collapse to one; a RESHAPE to
// [batch, N] that only feeds a FULLY_CONNECTED is dropped (FULLY_CONNECTED flattens itself).
Status FoldReshapes(ir::Graph* graph);
// Ops that do nothing (RESHAPE to the same shape, identity TRANSPOSE, zero PAD, ADD/SUB of 0,
// MUL/DIV by 1, single-input CONCATENATION) are removed.
Status RemoveIdentityOps(ir::Graph* graph);
// RELU / RELU6 / RELU_N1_TO_1 after an op that takes fused_activation_function (and whose output
// feeds nothing else) are fused into it.
Status FuseActivations(ir::Graph* graph);
// CONV_2D / DEPTHWISE_CONV_2D without a bias get a zero one (TFLite 2.9 needs it).
Status AddMissingBiases(ir::Graph* graph);
// Nodes whose outputs reach no graph output are removed, then unused tensors.
Status EliminateDeadCode(ir::Graph* graph);
// Integer constants with the same type, shape, values and quantization become one tensor.
Status DeduplicateConstants(ir::Graph* graph);

}  // namespace passes
}  // namespace edgeopt

#endif  // EDGEOPT_SRC_PASSES_EXPORT_PASSES_H_
