#include "src/train/loss.h"

#include <algorithm>
#include <cmath>
#include <vector>

namespace edgeopt {
namespace train {
namespace {

constexpr double kProbEpsilon = 1e-7;  // Keras backend epsilon

// log(sum(exp(x[i] * scale))) and the softmax of x * scale into p (may be null).
double LogSumExp(const float* x, int n, double scale, double* p) {
  double mx = x[0] * scale;
  for (int i = 1; i < n; ++i) mx = std::max(mx, x[i] * scale);
  double sum = 0.0;
  for (int i = 0; i < n; ++i) {
    const double e = std::exp(x[i] * scale - mx);
    if (p != nullptr) p[i] = e;
    sum += e;
  }
  if (p != nullptr) {
    for (int i = 0; i < n; ++i) p[i] /= sum;
  }
  return mx + std::log(sum);
}

}  // namespace

StatusOr<LossKind> ParseLossKind(const std::string& name) {
  static const struct {
    const char* names[4];
    LossKind kind;
  } kNames[] = {
      {{"sparse_categorical_crossentropy", "scce", "sparse_ce", "SparseCategoricalCrossentropy"},
       LossKind::kSparseCategoricalCrossentropy},
      {{"categorical_crossentropy", "cce", "ce", "CategoricalCrossentropy"},
       LossKind::kCategoricalCrossentropy},
      {{"binary_crossentropy", "bce", "BinaryCrossentropy", ""}, LossKind::kBinaryCrossentropy},
      {{"mse", "mean_squared_error", "MeanSquaredError", ""}, LossKind::kMeanSquaredError},
      {{"mae", "mean_absolute_error", "MeanAbsoluteError", ""}, LossKind::kMeanAbsoluteError},
      {{"huber", "huber_loss", "Huber", ""}, LossKind::kHuber},
  };
  for (const auto& entry : kNames) {
    for (const char* n : entry.names) {
      if (*n != '\0' && name == n) return entry.kind;
    }
  }
  return MakeStatus(StatusCode::kInvalidArgument,
                    "unknown loss '%s' (sparse_categorical_crossentropy, "
                    "categorical_crossentropy, binary_crossentropy, mse, mae, huber)",
                    name.c_str());
}

const char* LossKindName(LossKind kind) {
  switch (kind) {
    case LossKind::kSparseCategoricalCrossentropy:
      return "sparse_categorical_crossentropy";
    case LossKind::kCategoricalCrossentropy:
      return "categorical_crossentropy";
    case LossKind::kMeanSquaredError:
      return "mse";
    case LossKind::kBinaryCrossentropy:
      return "binary_crossentropy";
    case LossKind::kMeanAbsoluteError:
      return "mae";
    case LossKind::kHuber:
      return "huber";
  }
  return "?";
}

bool IsRegression(LossKind kind) {
  return kind == LossKind::kMeanSquaredError || kind == LossKind::kMeanAbsoluteError ||
         kind == LossKind::kHuber;
}

double SparseSoftmaxCrossEntropy(const float* logits, const int32_t* labels, int batch, int classes,
                                 float* grad, float label_smoothing) {
  std::vector<double> p(classes);
  double total = 0.0;
  const double inv_batch = 1.0 / batch;
  const double on = 1.0 - label_smoothing, off = static_cast<double>(label_smoothing) / classes;
  for (int b = 0; b < batch; ++b) {
    const float* x = logits + static_cast<int64_t>(b) * classes;
    const double lse = LogSumExp(x, classes, 1.0, p.data());
    const int y = labels[b];
    total += on * (lse - x[y]);
    if (off > 0.0) {
      for (int i = 0; i < classes; ++i) total += off * (lse - x[i]);
    }
    if (grad != nullptr) {
      float* g = grad + static_cast<int64_t>(b) * classes;
      for (int i = 0; i < classes; ++i) {
        g[i] = static_cast<float>((p[i] - (i == y ? on : 0.0) - off) * inv_batch);
      }
    }
  }
  return total * inv_batch;
}

double SoftmaxCrossEntropy(const float* logits, const float* targets, int batch, int classes,
                           float* grad, float label_smoothing) {
  std::vector<double> p(classes);
  double total = 0.0;
  const double inv_batch = 1.0 / batch;
  const double on = 1.0 - label_smoothing, off = static_cast<double>(label_smoothing) / classes;
  for (int b = 0; b < batch; ++b) {
    const float* x = logits + static_cast<int64_t>(b) * classes;
    const float* t = targets + static_cast<int64_t>(b) * classes;
    const double lse = LogSumExp(x, classes, 1.0, p.data());
    double tsum = 0.0;
    for (int i = 0; i < classes; ++i) {
      const double ti = t[i] * on + off;
      total += ti * (lse - x[i]);
      tsum += ti;
    }
    if (grad != nullptr) {
      float* g = grad + static_cast<int64_t>(b) * classes;
      for (int i = 0; i < classes; ++i) {
        g[i] = static_cast<float>((p[i] * tsum - (t[i] * on + off)) * inv_batch);
      }
    }
  }
  return total * inv_batch;
}

double SparseCrossEntropyFromProbs(const float* probs, const int32_t* labels, int batch,
                                   int classes, float* grad) {
  double total = 0.0;
  const double inv_batch = 1.0 / batch;
  for (int b = 0; b < batch; ++b) {
    const float* p = probs + static_cast<int64_t>(b) * classes;
    double sum = 0.0;
    for (int i = 0; i < classes; ++i) sum += p[i];
    if (sum <= 0.0) sum = kProbEpsilon;
    const int y = labels[b];
    const double q = p[y] / sum;
    const double qc = std::min(std::max(q, kProbEpsilon), 1.0 - kProbEpsilon);
    total += -std::log(qc);
    if (grad != nullptr) {
      float* g = grad + static_cast<int64_t>(b) * classes;
      const bool clipped = q != qc;
      // d(-log(p_y / S))/dp_i = -[i == y] / p_y + 1 / S
      for (int i = 0; i < classes; ++i) {
        double d = 0.0;
        if (!clipped) d = (i == y ? -1.0 / p[y] : 0.0) + 1.0 / sum;
        g[i] = static_cast<float>(d * inv_batch);
      }
    }
  }
  return total * inv_batch;
}

namespace {

// The mean over n values of f(pred - target), whose derivative `df` gives the gradient.
template <typename F, typename DF>
double MeanOfDifferences(const float* pred, const float* target, int64_t n, float* grad, F f,
                         DF df) {
  double total = 0.0;
  const double inv = 1.0 / static_cast<double>(n);
  for (int64_t i = 0; i < n; ++i) {
    const double d = static_cast<double>(pred[i]) - target[i];
    total += f(d);
    if (grad != nullptr) grad[i] = static_cast<float>(df(d) * inv);
  }
  return total * inv;
}

}  // namespace

double MeanSquaredError(const float* pred, const float* target, int batch, int64_t per_sample,
                        float* grad) {
  return MeanOfDifferences(
      pred, target, static_cast<int64_t>(batch) * per_sample, grad, [](double d) { return d * d; },
      [](double d) { return 2.0 * d; });
}

double MeanAbsoluteError(const float* pred, const float* target, int batch, int64_t per_sample,
                         float* grad) {
  return MeanOfDifferences(
      pred, target, static_cast<int64_t>(batch) * per_sample, grad,
      [](double d) { return std::fabs(d); },
      [](double d) { return d > 0   ? 1.0
                            : d < 0 ? -1.0
                                    : 0.0; });
}

double HuberLoss(const float* pred, const float* target, int batch, int64_t per_sample, float delta,
                 float* grad) {
  const double dl = delta;
  return MeanOfDifferences(
      pred, target, static_cast<int64_t>(batch) * per_sample, grad,
      [dl](double d) { return std::fabs(d) <= dl ? 0.5 * d * d : dl * (std::fabs(d) - 0.5 * dl); },
      [dl](double d) { return std::fabs(d) <= dl ? d : (d > 0 ? dl : -dl); });
}

double DistillationKl(const float* student_logits, const float* teacher_logits, int batch,
                      int classes, float temperature, float* grad) {
  const double t = temperature;
  std::vector<double> ps(classes), pt(classes);
  double total = 0.0;
  const double inv_batch = 1.0 / batch;
  for (int b = 0; b < batch; ++b) {
    const float* s = student_logits + static_cast<int64_t>(b) * classes;
    const float* te = teacher_logits + static_cast<int64_t>(b) * classes;
    const double lse_s = LogSumExp(s, classes, 1.0 / t, ps.data());
    const double lse_t = LogSumExp(te, classes, 1.0 / t, pt.data());
    double kl = 0.0;
    for (int i = 0; i < classes; ++i) {
      if (pt[i] <= 0.0) continue;
      const double log_pt = te[i] / t - lse_t;
      const double log_ps = s[i] / t - lse_s;
      kl += pt[i] * (log_pt - log_ps);
    }
    total += t * t * kl;
    if (grad != nullptr) {
      float* g = grad + static_cast<int64_t>(b) * classes;
      for (int i = 0; i < classes; ++i) {
        g[i] = static_cast<float>(t * (ps[i] - pt[i]) * inv_batch);
      }
    }
  }
  return total * inv_batch;
}

double SigmoidBinaryCrossEntropy(const float* logits, const float* targets, int64_t n, float* grad,
                                 float label_smoothing) {
  double total = 0.0;
  const double inv = 1.0 / static_cast<double>(n);
  const double on = 1.0 - label_smoothing, off = 0.5 * label_smoothing;
  for (int64_t i = 0; i < n; ++i) {
    const double z = logits[i], y = targets[i] * on + off;
    total += std::max(z, 0.0) - z * y + std::log1p(std::exp(-std::fabs(z)));
    if (grad != nullptr) {
      const double p = z >= 0 ? 1.0 / (1.0 + std::exp(-z)) : std::exp(z) / (1.0 + std::exp(z));
      grad[i] = static_cast<float>((p - y) * inv);
    }
  }
  return total * inv;
}

double BinaryCrossEntropyFromProbs(const float* probs, const float* targets, int64_t n,
                                   float* grad) {
  double total = 0.0;
  const double inv = 1.0 / static_cast<double>(n);
  for (int64_t i = 0; i < n; ++i) {
    const double raw = probs[i], y = targets[i];
    const double p = std::min(std::max(raw, kProbEpsilon), 1.0 - kProbEpsilon);
    total -= y * std::log(p) + (1.0 - y) * std::log(1.0 - p);
    if (grad != nullptr) {
      grad[i] = p == raw ? static_cast<float>((-y / p + (1.0 - y) / (1.0 - p)) * inv) : 0.0f;
    }
  }
  return total * inv;
}

int64_t CountBinaryCorrect(const float* scores, const float* targets, int64_t n, float threshold) {
  int64_t correct = 0;
  for (int64_t i = 0; i < n; ++i) correct += (scores[i] > threshold) == (targets[i] > 0.5f);
  return correct;
}

double BinaryDistillationKl(const float* student_logits, const float* teacher_logits, int64_t n,
                            float temperature, float* grad) {
  const double t = temperature;
  double total = 0.0;
  const double inv = 1.0 / static_cast<double>(n);
  for (int64_t i = 0; i < n; ++i) {
    // The two classes' logits are [0, z / T]: log-sum-exp is softplus(z / T).
    const double s = student_logits[i] / t, te = teacher_logits[i] / t;
    const double sp_s = std::max(s, 0.0) + std::log1p(std::exp(-std::fabs(s)));
    const double sp_t = std::max(te, 0.0) + std::log1p(std::exp(-std::fabs(te)));
    const double pt = std::exp(te - sp_t), qt = std::exp(-sp_t);  // teacher's p(1), p(0)
    // KL = pt (log pt - log ps) + qt (log qt - log qs), log p = z - softplus(z), log q = -softplus.
    const double kl = pt * ((te - sp_t) - (s - sp_s)) + qt * (sp_s - sp_t);
    total += t * t * kl;
    if (grad != nullptr) grad[i] = static_cast<float>(t * (std::exp(s - sp_s) - pt) * inv);
  }
  return total * inv;
}

int64_t CountCorrectOfTargets(const float* scores, const float* targets, int batch, int classes) {
  int64_t correct = 0;
  for (int b = 0; b < batch; ++b) {
    const int64_t row = static_cast<int64_t>(b) * classes;
    correct += PredictedClass(scores + row, classes) == PredictedClass(targets + row, classes);
  }
  return correct;
}

int64_t CountTopK(const float* scores, const int32_t* labels, int batch, int classes, int k) {
  int64_t correct = 0;
  for (int b = 0; b < batch; ++b) {
    const float* s = scores + static_cast<int64_t>(b) * classes;
    const int y = labels[b];
    if (y < 0 || y >= classes) continue;
    int higher = 0;
    for (int i = 0; i < classes; ++i) higher += s[i] > s[y];
    correct += higher < k;
  }
  return correct;
}

int PredictedClass(const float* scores, int classes, float threshold) {
  if (classes == 1) return scores[0] > threshold ? 1 : 0;
  int best = 0;
  for (int i = 1; i < classes; ++i) {
    if (scores[i] > scores[best]) best = i;
  }
  return best;
}

int64_t CountCorrect(const float* scores, const int32_t* labels, int batch, int classes) {
  int64_t correct = 0;
  for (int b = 0; b < batch; ++b) {
    correct += PredictedClass(scores + static_cast<int64_t>(b) * classes, classes) == labels[b];
  }
  return correct;
}

}  // namespace train
}  // namespace edgeopt
