// Gradual magnitude pruning during fine-tuning: at every step the schedule names, each planned
// weight gets a new mask from its current magnitudes (mask.h) at the schedule's sparsity for
// that layer; the trainer multiplies the weights by their masks after every optimizer step,
// so pruned weights stay zero. After the schedule's last update the masks are fixed.
// PruneGraphOnce does the same once, at the final sparsity, on a graph's constants (one-shot
// pruning without fine-tuning).
#ifndef EDGEOPT_SRC_PASSES_PRUNE_MAGNITUDE_PRUNER_H_
#define EDGEOPT_SRC_PASSES_PRUNE_MAGNITUDE_PRUNER_H_

#include <cstdint>
#include <vector>

#include "src/ir/graph.h"
#include "src/passes/prune/mask.h"
#include "src/passes/prune/prune_plan.h"
#include "src/passes/prune/schedule.h"
#include "src/train/trainer.h"

namespace edgeopt {
namespace prune {

class MagnitudePruner {
 public:
  MagnitudePruner(std::vector<PrunableWeight> weights, Granularity granularity, Schedule schedule)
      : weights_(std::move(weights)), granularity_(granularity), schedule_(schedule) {}

  // Masks for step 0 (before the first batch) and a step callback on the trainer that updates
  // them as the schedule says. The trainer must outlive its use of this object.
  Status Attach(train::Trainer* trainer);
  // Recomputes every mask at `step` (whether or not the schedule would).
  Status UpdateMasks(train::Trainer* trainer, int64_t step);

  int64_t num_updates() const { return updates_; }
  // The schedule's sparsity at the last update (of the global target).
  double last_sparsity() const { return last_sparsity_; }
  const std::vector<PrunableWeight>& weights() const { return weights_; }

 private:
  std::vector<PrunableWeight> weights_;
  Granularity granularity_;
  Schedule schedule_;
  int64_t updates_ = 0;
  double last_sparsity_ = 0.0;
};

// One-shot: every planned weight of `graph` (float constants) is pruned to its target now.
Status PruneGraphOnce(ir::Graph* graph, const std::vector<PrunableWeight>& weights,
                      const Granularity& granularity);

}  // namespace prune
}  // namespace edgeopt

#endif  // EDGEOPT_SRC_PASSES_PRUNE_MAGNITUDE_PRUNER_H_
