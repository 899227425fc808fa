// Small graph-rewriting helpers shared by the export passes.
#ifndef EDGEOPT_SRC_PASSES_PASS_UTIL_H_
#define EDGEOPT_SRC_PASSES_PASS_UTIL_H_

#include <string>
#include <vector>

#include "src/ir/graph.h"

namespace edgeopt {
namespace passes {

bool IsConstant(const ir::Graph& graph, int tensor);
bool IsFloatConstant(const ir::Graph& graph, int tensor);
std::vector<float> ConstFloats(const ir::Graph& graph, int tensor);
std::vector<int32_t> ConstInts(const ir::Graph& graph,
                               int tensor);  // int32 or int64 data
void SetConstFloats(ir::Graph* graph, int tensor, const std::vector<float>& values);

// Nodes that read `tensor` (each counted once).
int NumConsumers(const ir::Graph& graph, int tensor);
bool IsGraphInput(const ir::Graph& graph, int tensor);
// Rewires every node input reading `from` to read `to`.
void ReplaceUses(ir::Graph* graph, int from, int to);
// Removes the flagged nodes, keeping the order of the rest.
void RemoveNodes(ir::Graph* graph, const std::vector<bool>& remove);
// Removes a node whose output equals its input 0 (an identity): its consumers
// read the input instead, or, when the output is a graph output, the input's
// producer writes the output directly. Returns false (and changes nothing) when
// neither is possible. The node is only marked in `remove`.
bool BypassNode(ir::Graph* graph, int node, std::vector<bool>* remove);
// A constant input of `node` that only this node reads, copied first if it is
// shared, so the caller may change it. Returns the tensor id now at that input.
int PrivateConstant(ir::Graph* graph, int node, int input_slot);
// Ops whose fused_activation_function TFLite's kernels apply.
bool TakesFusedActivation(const std::string& op);

}  // namespace passes
}  // namespace edgeopt

#endif  // EDGEOPT_SRC_PASSES_PASS_UTIL_H_
