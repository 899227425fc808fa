// Static shape inference over the IR: fills the shape of every non-constant tensor from the
// graph inputs, constant inputs and node attributes, with TFLite's rules (padding, broadcasting,
// keep_num_dims, ...). Errors name the node and what does not fit.
#ifndef EDGEOPT_SRC_IR_SHAPE_INFERENCE_H_
#define EDGEOPT_SRC_IR_SHAPE_INFERENCE_H_

#include "src/ir/graph.h"

namespace edgeopt {
namespace ir {

Status InferShapes(Graph* graph);
// Shape inference for one node (its input shapes must be known).
Status InferNodeShapes(Graph* graph, int node_index);

}  // namespace ir
}  // namespace edgeopt

#endif  // EDGEOPT_SRC_IR_SHAPE_INFERENCE_H_
