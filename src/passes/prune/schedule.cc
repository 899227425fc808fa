#include "src/passes/prune/schedule.h"

#include <algorithm>
#include <cmath>

namespace edgeopt {
namespace prune {

Status Schedule::Validate() const {
  auto valid_sparsity = [](double s) { return s >= 0.0 && s < 1.0; };
  EDGEOPT_ENSURE(valid_sparsity(final_sparsity), StatusCode::kInvalidArgument,
                 "sparsity %g must be in [0, 1)", final_sparsity);
  EDGEOPT_ENSURE(valid_sparsity(initial_sparsity), StatusCode::kInvalidArgument,
                 "initial sparsity %g must be in [0, 1)", initial_sparsity);
  EDGEOPT_ENSURE(begin_step >= 0, StatusCode::kInvalidArgument, "begin step %lld must be >= 0",
                 static_cast<long long>(begin_step));
  EDGEOPT_ENSURE(frequency > 0, StatusCode::kInvalidArgument, "frequency %lld must be > 0",
                 static_cast<long long>(frequency));
  EDGEOPT_ENSURE(std::isfinite(power) && power > 0.0, StatusCode::kInvalidArgument,
                 "power %g must be > 0", power);
  if (kind == Kind::kPolynomial) {
    EDGEOPT_ENSURE(end_step >= begin_step, StatusCode::kInvalidArgument,
                   "a polynomial schedule needs end step (%lld) >= begin step (%lld)",
                   static_cast<long long>(end_step), static_cast<long long>(begin_step));
  } else {
    EDGEOPT_ENSURE(end_step == -1 || end_step >= begin_step, StatusCode::kInvalidArgument,
                   "end step %lld must be -1 or >= begin step %lld",
                   static_cast<long long>(end_step), static_cast<long long>(begin_step));
  }
  return Status::Ok();
}

bool Schedule::ShouldPrune(int64_t step) const {
  if (step < begin_step) return false;
  if (end_step >= 0 && step > end_step) return false;
  return (step - begin_step) % frequency == 0;
}

double Schedule::SparsityAt(int64_t step, double final) const {
  if (kind == Kind::kConstant) return final;
  const double initial = std::min(initial_sparsity, final);
  double p = 1.0;
  if (end_step > begin_step) {
    p = static_cast<double>(step - begin_step) / static_cast<double>(end_step - begin_step);
    p = std::min(1.0, std::max(0.0, p));
  }
  return final + (initial - final) * std::pow(1.0 - p, power);
}

int64_t Schedule::LastUpdateStep() const {
  if (kind == Kind::kConstant && end_step < 0) return begin_step;
  const int64_t end = std::max(end_step, begin_step);
  // The last multiple of `frequency` after begin_step that is <= end_step.
  return begin_step + (end - begin_step) / frequency * frequency;
}

StatusOr<Schedule::Kind> ParseScheduleKind(const std::string& name) {
  if (name == "constant") return Schedule::Kind::kConstant;
  if (name == "polynomial" || name == "polynomial_decay") return Schedule::Kind::kPolynomial;
  return MakeStatus(StatusCode::kInvalidArgument,
                    "unknown schedule '%s' (expected constant or polynomial)", name.c_str());
}

const char* ScheduleKindName(Schedule::Kind kind) {
  return kind == Schedule::Kind::kConstant ? "constant" : "polynomial";
}

}  // namespace prune
}  // namespace edgeopt
