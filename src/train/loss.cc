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
  if (name == "sparse_categorical_crossentropy" || name == "scce" || name == "sparse_ce") {
    return LossKind::kSparseCategoricalCrossentropy;
  }
  if (name == "categorical_crossentropy" || name == "cce" || name == "ce") {
    return LossKind::kCategoricalCrossentropy;
  }
  if (name == "mse" || name == "mean_squared_error") return LossKind::kMeanSquaredError;
  return MakeStatus(StatusCode::kInvalidArgument,
                    "unknown loss '%s' (sparse_categorical_crossentropy, "
                    "categorical_crossentropy, mse)",
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
  }
  return "?";
}

double SparseSoftmaxCrossEntropy(const float* logits, const int32_t* labels, int batch, int classes,
                                 float* grad) {
  std::vector<double> p(classes);
  double total = 0.0;
  const double inv_batch = 1.0 / batch;
  for (int b = 0; b < batch; ++b) {
    const float* x = logits + static_cast<int64_t>(b) * classes;
    const double lse = LogSumExp(x, classes, 1.0, p.data());
    const int y = labels[b];
    total += lse - x[y];
    if (grad != nullptr) {
      float* g = grad + static_cast<int64_t>(b) * classes;
      for (int i = 0; i < classes; ++i) {
        g[i] = static_cast<float>((p[i] - (i == y ? 1.0 : 0.0)) * inv_batch);
      }
    }
  }
  return total * inv_batch;
}

double SoftmaxCrossEntropy(const float* logits, const float* targets, int batch, int classes,
                           float* grad) {
  std::vector<double> p(classes);
  double total = 0.0;
  const double inv_batch = 1.0 / batch;
  for (int b = 0; b < batch; ++b) {
    const float* x = logits + static_cast<int64_t>(b) * classes;
    const float* t = targets + static_cast<int64_t>(b) * classes;
    const double lse = LogSumExp(x, classes, 1.0, p.data());
    double tsum = 0.0;
    for (int i = 0; i < classes; ++i) {
      total += t[i] * (lse - x[i]);
      tsum += t[i];
    }
    if (grad != nullptr) {
      float* g = grad + static_cast<int64_t>(b) * classes;
      for (int i = 0; i < classes; ++i) {
        g[i] = static_cast<float>((p[i] * tsum - t[i]) * inv_batch);
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

double MeanSquaredError(const float* pred, const float* target, int batch, int64_t per_sample,
                        float* grad) {
  const int64_t n = static_cast<int64_t>(batch) * per_sample;
  double total = 0.0;
  const double inv = 1.0 / static_cast<double>(n);
  for (int64_t i = 0; i < n; ++i) {
    const double d = static_cast<double>(pred[i]) - target[i];
    total += d * d;
    if (grad != nullptr) grad[i] = static_cast<float>(2.0 * d * inv);
  }
  return total * inv;
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

int64_t CountCorrect(const float* scores, const int32_t* labels, int batch, int classes) {
  int64_t correct = 0;
  for (int b = 0; b < batch; ++b) {
    const float* s = scores + static_cast<int64_t>(b) * classes;
    int best = 0;
    for (int i = 1; i < classes; ++i) {
      if (s[i] > s[best]) best = i;
    }
    if (best == labels[b]) ++correct;
  }
  return correct;
}

}  // namespace train
}  // namespace edgeopt
