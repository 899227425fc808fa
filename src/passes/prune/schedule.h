// Pruning schedules with TFMOT's semantics (tfmot.sparsity.keras.ConstantSparsity and
// PolynomialDecay):
//  - masks are recomputed at step s when begin_step <= s and (s <= end_step or end_step == -1)
//    and (s - begin_step) % frequency == 0;
//  - ConstantSparsity prunes to the target at every such step;
//  - PolynomialDecay prunes to
//      final + (initial - final) * (1 - p)^power,  p = clamp((s - begin) / (end - begin), 0, 1)
//    and needs an end_step; after end_step the masks stay fixed (the final sparsity).
// Steps count optimizer steps from 0 (the mask at step 0 is computed before the first batch).
#ifndef EDGEOPT_SRC_PASSES_PRUNE_SCHEDULE_H_
#define EDGEOPT_SRC_PASSES_PRUNE_SCHEDULE_H_

#include <cstdint>
#include <string>

#include "include/edgeopt/status.h"

namespace edgeopt {
namespace prune {

struct Schedule {
  enum class Kind { kConstant, kPolynomial };
  Kind kind = Kind::kPolynomial;
  double initial_sparsity = 0.0;  // polynomial only
  double final_sparsity = 0.5;    // the target (constant: the sparsity at every update)
  int64_t begin_step = 0;
  int64_t end_step = -1;  // -1: prune until training ends (constant only)
  double power = 3.0;
  int64_t frequency = 100;

  // Checks the ranges TFMOT checks (sparsities in [0, 1), begin >= 0, end >= begin or -1 for
  // constant, frequency > 0, power > 0).
  Status Validate() const;
  // True when masks are recomputed at `step`.
  bool ShouldPrune(int64_t step) const;
  // The sparsity of a layer whose target is `final` (the schedule's final_sparsity unless a
  // layer has its own) at `step`. The initial sparsity is capped at the target.
  double SparsityAt(int64_t step, double final) const;
  double SparsityAt(int64_t step) const { return SparsityAt(step, final_sparsity); }
  // The first step from which the masks never change again (end_step for polynomial; for a
  // constant schedule with end_step -1, the begin step).
  int64_t LastUpdateStep() const;
};

// "constant" or "polynomial".
StatusOr<Schedule::Kind> ParseScheduleKind(const std::string& name);
const char* ScheduleKindName(Schedule::Kind kind);

}  // namespace prune
}  // namespace edgeopt

#endif  // EDGEOPT_SRC_PASSES_PRUNE_SCHEDULE_H_
