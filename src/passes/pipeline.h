// The export pipeline: training-form IR (BATCH_NORM, DROPOUT, unfused activations) to the form the
// TFLite exporter writes, in the order the passes need.
#ifndef EDGEOPT_SRC_PASSES_PIPELINE_H_
#define EDGEOPT_SRC_PASSES_PIPELINE_H_

#include "src/ir/graph.h"

namespace edgeopt {
namespace passes {

// RemoveDropout, FoldConstants, FoldBatchNorm, FusePadIntoConv, FoldReshapes, RemoveIdentityOps,
// FuseActivations, EliminateDeadCode, AddMissingBiases; then checks that no toolkit op is left and
// that the graph is valid.
Status PrepareForExport(ir::Graph* graph);

}  // namespace passes
}  // namespace edgeopt

#endif  // EDGEOPT_SRC_PASSES_PIPELINE_H_
