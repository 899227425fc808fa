#include "src/passes/pipeline.h"

#include "src/passes/export_passes.h"

namespace edgeopt {
namespace passes {

Status PrepareForExport(ir::Graph* graph) {
  EDGEOPT_RETURN_IF_ERROR(RemoveDropout(graph));
  EDGEOPT_RETURN_IF_ERROR(LowerEmbedding(graph));
  EDGEOPT_RETURN_IF_ERROR(FoldConstants(graph));
  EDGEOPT_RETURN_IF_ERROR(FoldBatchNorm(graph));
  EDGEOPT_RETURN_IF_ERROR(FusePadIntoConv(graph));
  EDGEOPT_RETURN_IF_ERROR(FoldReshapes(graph));
  EDGEOPT_RETURN_IF_ERROR(RemoveIdentityOps(graph));
  EDGEOPT_RETURN_IF_ERROR(FuseActivations(graph));
  EDGEOPT_RETURN_IF_ERROR(EliminateDeadCode(graph));
  EDGEOPT_RETURN_IF_ERROR(AddMissingBiases(graph));
  EDGEOPT_RETURN_IF_ERROR(DeduplicateConstants(graph));
  for (const ir::Node& n : graph->nodes) {
    if (ir::IsToolkitOp(n.op)) {
      return MakeStatus(StatusCode::kUnsupported,
                        "%s node '%s' is left after the export passes (it cannot be lowered)",
                        n.op.c_str(), n.name.c_str());
    }
  }
  return graph->Validate();
}

}  // namespace passes
}  // namespace edgeopt
