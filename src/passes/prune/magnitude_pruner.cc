#include "src/passes/prune/magnitude_pruner.h"

namespace edgeopt {
namespace prune {

Status MagnitudePruner::Attach(train::Trainer* trainer) {
  EDGEOPT_RETURN_IF_ERROR(schedule_.Validate());
  if (schedule_.ShouldPrune(0)) EDGEOPT_RETURN_IF_ERROR(UpdateMasks(trainer, 0));
  trainer->SetStepCallback([this, trainer](int64_t step) -> Status {
    if (!schedule_.ShouldPrune(step)) return Status::Ok();
    return UpdateMasks(trainer, step);
  });
  return Status::Ok();
}

Status MagnitudePruner::UpdateMasks(train::Trainer* trainer, int64_t step) {
  std::vector<train::Parameter>& params = trainer->engine()->parameters();
  std::vector<float> mask;
  for (const PrunableWeight& w : weights_) {
    const train::Parameter* p = nullptr;
    for (const train::Parameter& q : params) {
      if (q.name == w.param) p = &q;
    }
    EDGEOPT_ENSURE(p != nullptr, StatusCode::kInternal, "no trainable weight %s", w.param.c_str());
    EDGEOPT_ENSURE(p->size == w.rows * w.cols, StatusCode::kInternal,
                   "weight %s has %lld values, expected %lld", w.param.c_str(),
                   static_cast<long long>(p->size), static_cast<long long>(w.rows * w.cols));
    const double s = schedule_.SparsityAt(step, w.sparsity);
    EDGEOPT_RETURN_IF_ERROR(ComputeMask(p->data(), w.rows, w.cols, granularity_, s, &mask));
    EDGEOPT_RETURN_IF_ERROR(trainer->SetMask(w.param, mask));
  }
  last_sparsity_ = schedule_.SparsityAt(step);
  ++updates_;
  return Status::Ok();
}

Status PruneGraphOnce(ir::Graph* graph, const std::vector<PrunableWeight>& weights,
                      const Granularity& granularity) {
  std::vector<float> mask;
  for (const PrunableWeight& w : weights) {
    ir::Tensor& t = graph->tensors[w.tensor];
    EDGEOPT_ENSURE(t.dtype == DType::kFloat32 && t.NumElements() == w.rows * w.cols,
                   StatusCode::kInternal, "weight %s changed", w.param.c_str());
    float* data = t.DataAs<float>();
    EDGEOPT_RETURN_IF_ERROR(ComputeMask(data, w.rows, w.cols, granularity, w.sparsity, &mask));
    for (size_t i = 0; i < mask.size(); ++i) data[i] *= mask[i];
  }
  return Status::Ok();
}

}  // namespace prune
}  // namespace edgeopt
