// Which weights a pruning run touches: the kernels of CONV_2D and FULLY_CONNECTED layers (and
// DEPTHWISE_CONV_2D for unstructured pruning) of a training-form graph, minus the defaults
// (the first convolution and the last dense layer, the layers that lose the most accuracy per
// weight removed; for channel pruning only the last dense layer, whose units are the model's
// outputs) and --skip, or exactly the --layers given; with per-layer targets.
#ifndef EDGEOPT_SRC_PASSES_PRUNE_PRUNE_PLAN_H_
#define EDGEOPT_SRC_PASSES_PRUNE_PRUNE_PLAN_H_

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "src/ir/graph.h"
#include "src/passes/prune/mask.h"

namespace edgeopt {
namespace prune {

struct PrunableWeight {
  std::string layer;  // the node (Keras layer) name
  std::string op;     // CONV_2D, FULLY_CONNECTED, DEPTHWISE_CONV_2D
  int node = -1;
  int tensor = -1;    // the weight tensor
  std::string param;  // Tensor::origin, the trainer's parameter name
  int64_t rows = 0;   // matrix view: dimension 0
  int64_t cols = 0;   // the other dimensions
  int64_t inner = 0;  // the last dimension (input channels)
  double sparsity = 0.0;
};

struct PlanOptions {
  Granularity granularity;
  double sparsity = 0.5;
  std::vector<std::string> layers;               // non-empty: exactly these layers
  std::vector<std::string> skip;                 // never these
  std::map<std::string, double> layer_sparsity;  // per-layer targets (override `sparsity`)
};

struct Plan {
  std::vector<PrunableWeight> weights;
  std::vector<std::string> notes;  // layers left out and why
};

// The kernels of every CONV_2D, FULLY_CONNECTED and DEPTHWISE_CONV_2D node with float constant
// weights, in execution order (a weight shared by several nodes once); sparsity 0.
std::vector<PrunableWeight> WeightLayers(const ir::Graph& graph);
// The plan note of a layer whose weights are frozen (Keras trainable=False, --freeze; or a
// constant of the model's computation, without an origin): the compressions leave it as it is.
std::string FrozenNote(const std::string& layer, const ir::Tensor& weights);

// kNotFound for the first of `named` that is none of the candidates' layers: "'NAME' is not
// WHAT; the model has: a, b" (the candidates' layers, "(none)" without any).
Status CheckLayerNames(const std::vector<PrunableWeight>& candidates,
                       const std::vector<std::string>& named, const std::string& what);

// Errors for names that are not prunable layers of the graph (the message lists them).
StatusOr<Plan> PlanPruning(const ir::Graph& graph, const PlanOptions& options);

// "dense=0.9,conv2d_1=0.5" -> map; "a,b" -> list.
StatusOr<std::map<std::string, double>> ParseLayerSparsity(const std::string& text);
std::vector<std::string> SplitNames(const std::string& text);
// "dense=8,conv2d=32" -> map, each value an integer in [lo, hi]; `what` names the value and
// `example` shows an item in messages.
StatusOr<std::map<std::string, int>> ParseLayerInts(const std::string& text, const char* what,
                                                    const char* example, int lo, int hi);

}  // namespace prune
}  // namespace edgeopt

#endif  // EDGEOPT_SRC_PASSES_PRUNE_PRUNE_PLAN_H_
