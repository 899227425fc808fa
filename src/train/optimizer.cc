#include "src/train/optimizer.h"

#include <algorithm>
#include <cmath>

namespace edgeopt {
namespace train {

StatusOr<OptimizerKind> ParseOptimizerKind(const std::string& name) {
  if (name == "sgd") return OptimizerKind::kSgd;
  if (name == "adam") return OptimizerKind::kAdam;
  if (name == "adamw") return OptimizerKind::kAdamW;
  return MakeStatus(StatusCode::kInvalidArgument, "unknown optimizer '%s' (sgd, adam, adamw)",
                    name.c_str());
}

const char* OptimizerKindName(OptimizerKind kind) {
  switch (kind) {
    case OptimizerKind::kSgd:
      return "sgd";
    case OptimizerKind::kAdam:
      return "adam";
    case OptimizerKind::kAdamW:
      return "adamw";
  }
  return "?";
}

OptimizerConfig DefaultOptimizerConfig(OptimizerKind kind) {
  OptimizerConfig c;
  c.kind = kind;
  switch (kind) {
    case OptimizerKind::kSgd:
      c.learning_rate = 0.01f;
      break;
    case OptimizerKind::kAdam:
      c.learning_rate = 1e-3f;
      break;
    case OptimizerKind::kAdamW:
      c.learning_rate = 1e-3f;
      c.weight_decay = 0.004f;
      break;
  }
  return c;
}

double Optimizer::Step(std::vector<Parameter>* params, float lr, rt::ThreadPool* pool) {
  if (m_.size() != params->size()) {
    m_.assign(params->size(), {});
    v_.assign(params->size(), {});
  }
  double sq = 0.0;
  for (const Parameter& p : *params) {
    if (!p.has_grad) continue;
    const float* g = p.grad();
    double s = 0.0;
    for (int64_t i = 0; i < p.size; ++i) s += static_cast<double>(g[i]) * g[i];
    sq += s;
  }
  const double norm = std::sqrt(sq);
  float scale = 1.0f;
  if (config_.clip_global_norm > 0.0f && norm > config_.clip_global_norm) {
    scale = static_cast<float>(config_.clip_global_norm / norm);
  }
  ++iterations_;
  const OptimizerConfig& c = config_;
  const double t = static_cast<double>(iterations_);
  const float adam_alpha =
      static_cast<float>(lr * std::sqrt(1.0 - std::pow(c.beta2, t)) / (1.0 - std::pow(c.beta1, t)));
  const float decay = lr * c.weight_decay;
  const float clip = c.clip_value;

  auto update = [&](size_t pi) {
    Parameter& p = (*params)[pi];
    if (!p.has_grad) return;
    float* w = p.data();
    float* g = p.grad();
    const int64_t n = p.size;
    if (scale != 1.0f || clip > 0.0f) {
      for (int64_t i = 0; i < n; ++i) {
        float v = g[i] * scale;
        if (clip > 0.0f) v = std::min(std::max(v, -clip), clip);
        g[i] = v;
      }
    }
    if (decay != 0.0f) {
      for (int64_t i = 0; i < n; ++i) w[i] -= decay * w[i];
    }
    if (c.kind == OptimizerKind::kSgd) {
      if (c.momentum == 0.0f) {
        for (int64_t i = 0; i < n; ++i) w[i] -= lr * g[i];
        return;
      }
      std::vector<float>& vel = m_[pi];
      if (static_cast<int64_t>(vel.size()) != n) vel.assign(n, 0.0f);
      for (int64_t i = 0; i < n; ++i) {
        vel[i] = c.momentum * vel[i] - lr * g[i];
        w[i] += c.nesterov ? c.momentum * vel[i] - lr * g[i] : vel[i];
      }
      return;
    }
    std::vector<float>& m = m_[pi];
    std::vector<float>& v = v_[pi];
    if (static_cast<int64_t>(m.size()) != n) {
      m.assign(n, 0.0f);
      v.assign(n, 0.0f);
    }
    const float b1 = 1.0f - c.beta1, b2 = 1.0f - c.beta2;
    for (int64_t i = 0; i < n; ++i) {
      m[i] += (g[i] - m[i]) * b1;
      v[i] += (g[i] * g[i] - v[i]) * b2;
      w[i] -= adam_alpha * m[i] / (std::sqrt(v[i]) + c.epsilon);
    }
  };
  if (pool != nullptr && pool->num_threads() > 1) {
    pool->ParallelFor(static_cast<int>(params->size()),
                      [&](int task, int) { update(static_cast<size_t>(task)); });
  } else {
    for (size_t pi = 0; pi < params->size(); ++pi) update(pi);
  }
  return norm;
}

float LrSchedule::At(int64_t step) const {
  if (warmup_steps > 0 && step < warmup_steps) {
    return base_lr * static_cast<float>(step + 1) / static_cast<float>(warmup_steps);
  }
  const int64_t s = step - warmup_steps;
  switch (kind) {
    case Kind::kConstant:
      return base_lr;
    case Kind::kPlateau:
      return std::max(min_lr, base_lr * plateau_scale);
    case Kind::kStep:
      if (step_size <= 0) return base_lr;
      return base_lr * std::pow(gamma, static_cast<float>(s / step_size));
    case Kind::kCosine: {
      const int64_t span = std::max<int64_t>(1, total_steps - warmup_steps);
      const double frac = std::min(1.0, static_cast<double>(s) / static_cast<double>(span));
      return static_cast<float>(min_lr + (base_lr - min_lr) * 0.5 * (1.0 + std::cos(M_PI * frac)));
    }
  }
  return base_lr;
}

StatusOr<LrSchedule::Kind> ParseLrScheduleKind(const std::string& name) {
  if (name == "constant") return LrSchedule::Kind::kConstant;
  if (name == "step") return LrSchedule::Kind::kStep;
  if (name == "cosine") return LrSchedule::Kind::kCosine;
  if (name == "plateau") return LrSchedule::Kind::kPlateau;
  return MakeStatus(StatusCode::kInvalidArgument,
                    "unknown learning-rate schedule '%s' (constant, step, cosine, plateau)",
                    name.c_str());
}

}  // namespace train
}  // namespace edgeopt
