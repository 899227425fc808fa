#include "src/importers/keras/initializers.h"

#include <cmath>

namespace edgeopt {
namespace keras {
namespace {

// stddev of a standard normal truncated to [-2, 2] (Keras divides by it for truncated normals).
constexpr double kTruncatedStddev = 0.87962566103423978;

StatusOr<double> Param(const InitializerSpec& spec, const char* key, double fallback,
                       const LayerConfig& where) {
  if (spec.config == nullptr) return fallback;
  auto it = spec.config->find(key);
  if (it == spec.config->end() || it->is_null()) return fallback;
  if (!it->is_number()) {
    return where.Error(StatusCode::kInvalidModel, "initializer %s: '%s' must be a number",
                       spec.name.c_str(), key);
  }
  return it->get<double>();
}

StatusOr<std::string> StringParam(const InitializerSpec& spec, const char* key,
                                  const std::string& fallback, const LayerConfig& where) {
  if (spec.config == nullptr) return fallback;
  auto it = spec.config->find(key);
  if (it == spec.config->end() || it->is_null()) return fallback;
  if (!it->is_string()) {
    return where.Error(StatusCode::kInvalidModel, "initializer %s: '%s' must be a string",
                       spec.name.c_str(), key);
  }
  return it->get<std::string>();
}

double TruncatedNormal(Rng* rng) {
  for (;;) {
    const double x = rng->Normal();
    if (std::fabs(x) <= 2.0) return x;
  }
}

void Fill(std::vector<float>* out, Rng* rng, const std::string& distribution, double a, double b) {
  for (float& v : *out) {
    if (distribution == "uniform") {
      v = static_cast<float>(a + (b - a) * rng->Uniform());
    } else if (distribution == "truncated_normal") {
      v = static_cast<float>(a + b * TruncatedNormal(rng));
    } else {
      v = static_cast<float>(a + b * rng->Normal());
    }
  }
}

// Columns (or rows, for wide matrices) orthonormal, like Keras's Orthogonal.
std::vector<float> Orthogonal(const std::vector<int64_t>& shape, double gain, Rng* rng) {
  int64_t rows = 1;
  for (size_t i = 0; i + 1 < shape.size(); ++i) rows *= shape[i];
  const int64_t cols = shape.empty() ? 1 : shape.back();
  const int64_t big = std::max(rows, cols), small = std::min(rows, cols);
  // A [big, small] matrix with orthonormal columns (Gram-Schmidt, twice for stability), held
  // column by column (q[j * big + i]) so that each dot product reads memory in order: a
  // GRU(800)'s recurrent kernel takes seconds the other way. The values are drawn row by row.
  std::vector<double> q(static_cast<size_t>(big * small));
  for (int64_t i = 0; i < big; ++i) {
    for (int64_t j = 0; j < small; ++j) q[j * big + i] = rng->Normal();
  }
  for (int64_t j = 0; j < small; ++j) {
    double* qj = q.data() + j * big;
    for (int pass = 0; pass < 2; ++pass) {
      for (int64_t k = 0; k < j; ++k) {
        const double* qk = q.data() + k * big;
        double dot = 0;
        for (int64_t i = 0; i < big; ++i) dot += qj[i] * qk[i];
        for (int64_t i = 0; i < big; ++i) qj[i] -= dot * qk[i];
      }
    }
    double norm = 0;
    for (int64_t i = 0; i < big; ++i) norm += qj[i] * qj[i];
    norm = std::sqrt(norm);
    if (norm < 1e-12) norm = 1;
    for (int64_t i = 0; i < big; ++i) qj[i] /= norm;
  }
  std::vector<float> out(static_cast<size_t>(rows * cols));
  for (int64_t r = 0; r < rows; ++r) {
    for (int64_t c = 0; c < cols; ++c) {
      const double v = rows >= cols ? q[c * big + r] : q[r * big + c];
      out[r * cols + c] = static_cast<float>(gain * v);
    }
  }
  return out;
}

}  // namespace

Rng::Rng(uint64_t seed) {
  uint64_t z = seed + 0x9e3779b97f4a7c15ULL;
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  state_ = (z ^ (z >> 31)) | 1;
}

uint64_t Rng::Next() {
  state_ ^= state_ >> 12;
  state_ ^= state_ << 25;
  state_ ^= state_ >> 27;
  return state_ * 0x2545F4914F6CDD1DULL;
}

double Rng::Uniform() { return static_cast<double>(Next() >> 11) * (1.0 / 9007199254740992.0); }

double Rng::Normal() {
  if (has_spare_) {
    has_spare_ = false;
    return spare_;
  }
  double u1 = Uniform();
  while (u1 <= 1e-300) u1 = Uniform();
  const double u2 = Uniform();
  const double r = std::sqrt(-2.0 * std::log(u1));
  spare_ = r * std::sin(2.0 * M_PI * u2);
  has_spare_ = true;
  return r * std::cos(2.0 * M_PI * u2);
}

void ComputeFans(const std::vector<int64_t>& shape, double* fan_in, double* fan_out) {
  if (shape.empty()) {
    *fan_in = *fan_out = 1;
  } else if (shape.size() == 1) {
    *fan_in = *fan_out = static_cast<double>(shape[0]);
  } else if (shape.size() == 2) {
    *fan_in = static_cast<double>(shape[0]);
    *fan_out = static_cast<double>(shape[1]);
  } else {
    double receptive = 1;
    for (size_t i = 0; i + 2 < shape.size(); ++i) receptive *= static_cast<double>(shape[i]);
    *fan_in = static_cast<double>(shape[shape.size() - 2]) * receptive;
    *fan_out = static_cast<double>(shape.back()) * receptive;
  }
}

StatusOr<std::vector<float>> Initialize(const InitializerSpec& spec,
                                        const std::vector<int64_t>& shape, Rng* rng,
                                        const LayerConfig& where) {
  int64_t count = 1;
  for (int64_t d : shape) count *= d;
  std::vector<float> out(static_cast<size_t>(count), 0.0f);
  const std::string& name = spec.name;
  double fan_in, fan_out;
  ComputeFans(shape, &fan_in, &fan_out);

  if (name == "zeros" || name == "zero") return out;
  if (name == "ones" || name == "one") {
    std::fill(out.begin(), out.end(), 1.0f);
    return out;
  }
  if (name == "constant") {
    EDGEOPT_ASSIGN_OR_RETURN(double value, Param(spec, "value", 0.0, where));
    std::fill(out.begin(), out.end(), static_cast<float>(value));
    return out;
  }
  if (name == "random_normal" || name == "normal") {
    EDGEOPT_ASSIGN_OR_RETURN(double mean, Param(spec, "mean", 0.0, where));
    EDGEOPT_ASSIGN_OR_RETURN(double stddev, Param(spec, "stddev", 0.05, where));
    Fill(&out, rng, "normal", mean, stddev);
    return out;
  }
  if (name == "truncated_normal") {
    EDGEOPT_ASSIGN_OR_RETURN(double mean, Param(spec, "mean", 0.0, where));
    EDGEOPT_ASSIGN_OR_RETURN(double stddev, Param(spec, "stddev", 0.05, where));
    Fill(&out, rng, "truncated_normal", mean, stddev);
    return out;
  }
  if (name == "random_uniform" || name == "uniform") {
    EDGEOPT_ASSIGN_OR_RETURN(double lo, Param(spec, "minval", -0.05, where));
    EDGEOPT_ASSIGN_OR_RETURN(double hi, Param(spec, "maxval", 0.05, where));
    Fill(&out, rng, "uniform", lo, hi);
    return out;
  }
  if (name == "orthogonal") {
    EDGEOPT_ASSIGN_OR_RETURN(double gain, Param(spec, "gain", 1.0, where));
    return Orthogonal(shape, gain, rng);
  }
  if (name == "identity") {
    EDGEOPT_ASSIGN_OR_RETURN(double gain, Param(spec, "gain", 1.0, where));
    if (shape.size() != 2) {
      return where.Error(StatusCode::kInvalidModel, "the identity initializer needs a 2-D weight");
    }
    for (int64_t i = 0; i < std::min(shape[0], shape[1]); ++i) {
      out[i * shape[1] + i] = static_cast<float>(gain);
    }
    return out;
  }
  // Variance scaling family.
  double scale = 1.0;
  std::string mode = "fan_in", distribution = "truncated_normal";
  if (name == "glorot_uniform") {
    mode = "fan_avg";
    distribution = "uniform";
  } else if (name == "glorot_normal") {
    mode = "fan_avg";
  } else if (name == "he_normal") {
    scale = 2.0;
  } else if (name == "he_uniform") {
    scale = 2.0;
    distribution = "uniform";
  } else if (name == "lecun_normal") {
  } else if (name == "lecun_uniform") {
    distribution = "uniform";
  } else if (name == "variance_scaling") {
    EDGEOPT_ASSIGN_OR_RETURN(scale, Param(spec, "scale", 1.0, where));
    EDGEOPT_ASSIGN_OR_RETURN(mode, StringParam(spec, "mode", "fan_in", where));
    EDGEOPT_ASSIGN_OR_RETURN(distribution,
                             StringParam(spec, "distribution", "truncated_normal", where));
    if (distribution == "normal") distribution = "truncated_normal";
  } else {
    return where.Error(StatusCode::kUnsupported, "initializer '%s' is not supported", name.c_str());
  }
  double n = fan_in;
  if (mode == "fan_out") {
    n = fan_out;
  } else if (mode == "fan_avg") {
    n = (fan_in + fan_out) / 2.0;
  } else if (mode != "fan_in") {
    return where.Error(StatusCode::kInvalidModel, "variance_scaling mode '%s'", mode.c_str());
  }
  scale /= std::max(1.0, n);
  if (distribution == "uniform") {
    const double limit = std::sqrt(3.0 * scale);
    Fill(&out, rng, "uniform", -limit, limit);
  } else if (distribution == "truncated_normal") {
    Fill(&out, rng, "truncated_normal", 0.0, std::sqrt(scale) / kTruncatedStddev);
  } else if (distribution == "untruncated_normal") {
    Fill(&out, rng, "normal", 0.0, std::sqrt(scale));
  } else {
    return where.Error(StatusCode::kInvalidModel, "variance_scaling distribution '%s'",
                       distribution.c_str());
  }
  return out;
}

}  // namespace keras
}  // namespace edgeopt
