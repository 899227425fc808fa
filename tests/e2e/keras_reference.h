// A slow, independent evaluator of Keras layer chains (double precision, NHWC) for tests. It reads
// the weights in Keras layout straight from a KerasModel, so it shares nothing with the converter's
// layout changes, op choices or passes: agreement between TFLite running our file and this
// evaluator checks the conversion itself.
//
// Supports a single-input chain of layers (Sequential, or a Functional model that is a chain):
// Dense, Conv1D, Conv2D, Depthwise/SeparableConv1D/2D, Conv1D/2DTranspose, BatchNormalization,
// Max/AveragePooling1D/2D, GlobalAverage/MaxPooling1D/2D, Flatten, Reshape, Permute, Dropout,
// SpatialDropout*, Activation, ReLU, LeakyReLU, PReLU, ELU, Softmax, ZeroPadding1D/2D,
// Cropping1D/2D, UpSampling1D/2D (nearest), Rescaling, LayerNormalization and Normalization
// (last axis), GroupNormalization, UnitNormalization, Embedding, LSTM, GRU, SimpleRNN,
// Bidirectional(GRU | SimpleRNN | LSTM), CenterCrop, Resizing, RepeatVector, TimeDistributed (of
// those), and the layers that are the identity at inference (Random*, GaussianNoise, ...).
#ifndef EDGEOPT_TESTS_E2E_KERAS_REFERENCE_H_
#define EDGEOPT_TESTS_E2E_KERAS_REFERENCE_H_

#include <algorithm>
#include <cmath>
#include <cstring>
#include <map>
#include <string>
#include <vector>

#include "src/importers/keras/keras_config.h"
#include "src/importers/keras/keras_model.h"

namespace edgeopt {
namespace testing {
namespace kref {

using keras::Json;

struct Tensor {
  std::vector<int64_t> shape;
  std::vector<double> v;
  int64_t size() const {
    int64_t n = 1;
    for (int64_t d : shape) n *= d;
    return n;
  }
};

inline std::vector<double> Weight(const keras::KerasModel& m, const std::string& layer,
                                  const std::string& var) {
  for (const keras::LayerWeights& lw : m.weights) {
    if (lw.layer != layer) continue;
    for (const auto& [name, a] : lw.vars) {
      if (name != var) continue;
      std::vector<double> out(static_cast<size_t>(a.NumElements()));
      for (size_t i = 0; i < out.size(); ++i) out[i] = a.Data<float>()[i];
      return out;
    }
  }
  return {};
}

inline const Json* Get(const Json& c, const char* key) {
  auto it = c.find(key);
  return it == c.end() || it->is_null() ? nullptr : &*it;
}
inline double Num(const Json& c, const char* key, double fallback) {
  const Json* v = Get(c, key);
  return v != nullptr && v->is_number() ? v->get<double>() : fallback;
}
inline bool Flag(const Json& c, const char* key, bool fallback) {
  const Json* v = Get(c, key);
  return v != nullptr && v->is_boolean() ? v->get<bool>() : fallback;
}
inline std::string Str(const Json& c, const char* key, const std::string& fallback) {
  const Json* v = Get(c, key);
  return v != nullptr && v->is_string() ? v->get<std::string>() : fallback;
}
inline std::vector<int64_t> Ints(const Json& c, const char* key, size_t n,
                                 std::vector<int64_t> fallback) {
  const Json* v = Get(c, key);
  if (v == nullptr) return fallback;
  if (v->is_number()) return std::vector<int64_t>(n, v->get<int64_t>());
  std::vector<int64_t> out;
  for (const Json& e : *v) out.push_back(e.get<int64_t>());
  return out;
}

inline double Sigmoid(double x) { return 1.0 / (1.0 + std::exp(-x)); }

inline double ApplyScalar(const std::string& a, double x) {
  if (a == "relu") return std::max(x, 0.0);
  if (a == "relu6") return std::min(std::max(x, 0.0), 6.0);
  if (a == "sigmoid") return Sigmoid(x);
  if (a == "tanh") return std::tanh(x);
  if (a == "swish" || a == "silu") return x * Sigmoid(x);
  if (a == "elu") return x > 0 ? x : std::exp(x) - 1.0;
  if (a == "gelu") return 0.5 * x * (1.0 + std::erf(x / std::sqrt(2.0)));
  if (a == "hard_sigmoid") return std::min(std::max(0.2 * x + 0.5, 0.0), 1.0);
  if (a == "leaky_relu") return x < 0 ? 0.2 * x : x;
  if (a == "exponential") return std::exp(x);
  if (a == "softplus") return std::log1p(std::exp(x));
  if (a == "softsign") return x / (std::fabs(x) + 1.0);
  if (a == "selu") return 1.0507009873554805 * (x > 0 ? x : 1.6732632423543772 * std::expm1(x));
  if (a == "mish") return x * std::tanh(std::log1p(std::exp(x)));
  return x;  // linear
}

inline void Activate(const std::string& a, Tensor* t) {
  if (a == "softmax") {
    const int64_t n = t->shape.back();
    for (int64_t r = 0; r < t->size() / n; ++r) {
      double mx = -1e300, sum = 0;
      for (int64_t i = 0; i < n; ++i) mx = std::max(mx, t->v[r * n + i]);
      for (int64_t i = 0; i < n; ++i) sum += (t->v[r * n + i] = std::exp(t->v[r * n + i] - mx));
      for (int64_t i = 0; i < n; ++i) t->v[r * n + i] /= sum;
    }
    return;
  }
  for (double& x : t->v) x = ApplyScalar(a, x);
}

// Keras MultiHeadAttention of layer `name` on query [T, E], value [S, Ev], key [S, Ek] (one batch
// item; positions flattened): returns [T, O]. `causal`: use_causal_mask=True, Keras's -1e9 added to
// the scores of key positions after the query's.
inline std::vector<double> MultiHeadAttention(
    const keras::KerasModel& m, const std::string& name, const std::vector<double>& query,
    int64_t t, const std::vector<double>& value, const std::vector<double>& key, int64_t s,
    int64_t heads, int64_t kd, int64_t vd, int64_t o, bool causal = false,
    const std::vector<double>* q_mask = nullptr, const std::vector<double>* kv_mask = nullptr) {
  const int64_t e = static_cast<int64_t>(query.size()) / t;
  const int64_t ev = static_cast<int64_t>(value.size()) / s;
  const int64_t ek = static_cast<int64_t>(key.size()) / s;
  // EinsumDense "abc,cde->abde": x [N, in] · kernel [in, H, d] + bias [H, d] -> [N, H, d].
  auto project = [&](const std::string& p, const std::vector<double>& x, int64_t n, int64_t in,
                     int64_t d) {
    const std::vector<double> k = Weight(m, name, p + "/kernel");
    const std::vector<double> b = Weight(m, name, p + "/bias");
    std::vector<double> y(static_cast<size_t>(n * heads * d));
    for (int64_t i = 0; i < n; ++i) {
      for (int64_t j = 0; j < heads * d; ++j) {
        double acc = b.empty() ? 0.0 : b[j];
        for (int64_t c = 0; c < in; ++c) acc += x[i * in + c] * k[c * heads * d + j];
        y[i * heads * d + j] = acc;
      }
    }
    return y;
  };
  std::vector<double> q = project("query", query, t, e, kd);
  for (double& v : q) v /= std::sqrt(static_cast<double>(kd));
  const std::vector<double> k = project("key", key, s, ek, kd);
  const std::vector<double> v = project("value", value, s, ev, vd);
  std::vector<double> context(static_cast<size_t>(t * heads * vd), 0.0);
  for (int64_t h = 0; h < heads; ++h) {
    for (int64_t i = 0; i < t; ++i) {
      Tensor p{{s}, std::vector<double>(static_cast<size_t>(s))};
      for (int64_t j = 0; j < s; ++j) {
        for (int64_t d = 0; d < kd; ++d) {
          p.v[j] += q[(i * heads + h) * kd + d] * k[(j * heads + h) * kd + d];
        }
        // Keras: one boolean mask (causal AND the query's AND the value's / key's), then the
        // Softmax layer adds -1e9 in float32 where it is false.
        const bool keep = !(causal && j > i) && (q_mask == nullptr || (*q_mask)[i] != 0.0) &&
                          (kv_mask == nullptr || (*kv_mask)[j] != 0.0);
        if (!keep) p.v[j] = static_cast<double>(static_cast<float>(p.v[j]) + -1e9f);
      }
      Activate("softmax", &p);
      for (int64_t j = 0; j < s; ++j) {
        for (int64_t d = 0; d < vd; ++d) {
          context[(i * heads + h) * vd + d] += p.v[j] * v[(j * heads + h) * vd + d];
        }
      }
    }
  }
  // EinsumDense "abcd,cde->abe": context [T, H, vd] · kernel [H, vd, O] + bias [O].
  const std::vector<double> wo = Weight(m, name, "attention_output/kernel");
  const std::vector<double> bo = Weight(m, name, "attention_output/bias");
  std::vector<double> out(static_cast<size_t>(t * o));
  for (int64_t i = 0; i < t; ++i) {
    for (int64_t j = 0; j < o; ++j) {
      double acc = bo.empty() ? 0.0 : bo[j];
      for (int64_t c = 0; c < heads * vd; ++c) acc += context[i * heads * vd + c] * wo[c * o + j];
      out[i * o + j] = acc;
    }
  }
  return out;
}

// Keras Attention (score_mode "dot" or "concat", use_scale) or AdditiveAttention (use_scale) of
// layer `name` on query [T, d], value [S, dv], key [S, d] (one batch item): returns [T, dv].
// `causal`: use_causal_mask=True, 1e9 subtracted from the scores of key positions after the
// query's (Keras's _apply_scores).
inline std::vector<double> DotAttention(
    const keras::KerasModel& m, const std::string& name, bool additive, bool concat, bool use_scale,
    const std::vector<double>& query, int64_t t, const std::vector<double>& value,
    const std::vector<double>& key, int64_t s, bool causal = false,
    const std::vector<double>* q_mask = nullptr, const std::vector<double>* v_mask = nullptr) {
  const int64_t d = static_cast<int64_t>(query.size()) / t;
  const int64_t dv = static_cast<int64_t>(value.size()) / s;
  const std::vector<double> scale = use_scale ? Weight(m, name, "scale") : std::vector<double>();
  const std::vector<double> weight =
      concat ? Weight(m, name, "concat_score_weight") : std::vector<double>{1.0};
  std::vector<double> out(static_cast<size_t>(t * dv), 0.0);
  for (int64_t i = 0; i < t; ++i) {
    Tensor p{{s}, std::vector<double>(static_cast<size_t>(s))};
    for (int64_t j = 0; j < s; ++j) {
      double score = 0;
      for (int64_t c = 0; c < d; ++c) {
        const double qv = query[i * d + c], kv = key[j * d + c];
        if (additive) {
          score += (use_scale ? scale[c] : 1.0) * std::tanh(qv + kv);
        } else if (concat) {
          score += std::tanh((use_scale ? scale[0] : 1.0) * (qv + kv));
        } else {
          score += qv * kv;
        }
      }
      if (concat) score *= weight[0];
      if (!additive && !concat && use_scale) score *= scale[0];
      if (causal && j > i) score -= 1e9;
      // A masked value: Keras subtracts 1e9 from the float32 score.
      if (v_mask != nullptr && (*v_mask)[j] == 0.0) {
        score = static_cast<double>(static_cast<float>(score) - 1e9f);
      }
      p.v[j] = score;
    }
    Activate("softmax", &p);
    const double q_keep = q_mask == nullptr ? 1.0 : (*q_mask)[i];  // Keras zeroes masked queries
    for (int64_t j = 0; j < s; ++j) {
      for (int64_t c = 0; c < dv; ++c) out[i * dv + c] += q_keep * p.v[j] * value[j * dv + c];
    }
  }
  return out;
}

// Keras Dot(axes, normalize) of x [shape_x] and y [shape_y] (one batch item, so the axes count
// from 1 as in Keras): Σ over the contracted axes; the result has x's other axis, then y's
// ([1] for two vectors). normalize divides each by its L2 norm along the axis (norms above 1e-6).
inline std::vector<double> Dot(std::vector<double> x, const std::vector<int64_t>& shape_x,
                               std::vector<double> y, const std::vector<int64_t>& shape_y,
                               int64_t axis_x, int64_t axis_y, bool normalize) {
  // As [rows, cols] matrices: element (r, c) of a rank-1 input is (0, c).
  auto at = [](const std::vector<double>& v, const std::vector<int64_t>& shape, int64_t axis,
               int64_t other, int64_t k) {
    if (shape.size() == 1) return v[k];
    return axis == 1 ? v[k * shape[1] + other] : v[other * shape[1] + k];
  };
  const int64_t n = shape_x.size() == 1 ? shape_x[0] : shape_x[axis_x - 1];
  const int64_t rows = shape_x.size() == 1 ? 1 : shape_x[axis_x == 1 ? 1 : 0];
  const int64_t cols = shape_y.size() == 1 ? 1 : shape_y[axis_y == 1 ? 1 : 0];
  auto norms = [&](const std::vector<double>& v, const std::vector<int64_t>& shape, int64_t axis,
                   int64_t count) {
    std::vector<double> out(static_cast<size_t>(count));
    for (int64_t o = 0; o < count; ++o) {
      double sq = 0;
      for (int64_t k = 0; k < n; ++k) sq += at(v, shape, axis, o, k) * at(v, shape, axis, o, k);
      out[o] = normalize ? std::sqrt(sq) : 1.0;
    }
    return out;
  };
  const std::vector<double> nx = norms(x, shape_x, axis_x, rows),
                            ny = norms(y, shape_y, axis_y, cols);
  std::vector<double> out(static_cast<size_t>(rows * cols));
  for (int64_t i = 0; i < rows; ++i)
    for (int64_t j = 0; j < cols; ++j) {
      double sum = 0;
      for (int64_t k = 0; k < n; ++k)
        sum += at(x, shape_x, axis_x, i, k) * at(y, shape_y, axis_y, j, k);
      out[i * cols + j] = sum / (nx[i] * ny[j]);
    }
  return out;
}

inline std::string ActivationName(const Json& c) {
  const Json* a = Get(c, "activation");
  if (a == nullptr) return "linear";
  if (a->is_string()) return a->get<std::string>();
  if (a->is_object() && a->contains("config") && (*a)["config"].is_string()) {
    return (*a)["config"].get<std::string>();
  }
  return "linear";
}

// Window start and output size for one spatial axis.
inline void Window(int64_t in, int64_t k, int64_t s, int64_t d, bool same, int64_t* out,
                   int64_t* pad_before) {
  const int64_t eff = (k - 1) * d + 1;
  if (same) {
    *out = (in + s - 1) / s;
    const int64_t total = std::max<int64_t>((*out - 1) * s + eff - in, 0);
    *pad_before = total / 2;
  } else {
    *out = (in - eff) / s + 1;
    *pad_before = 0;
  }
}

// x [B,H,W,C] (H may be 1); kernel [kh,kw,C,F] or depthwise [kh,kw,C,M].
inline Tensor Conv(const Tensor& x, const std::vector<double>& k, int64_t kh, int64_t kw,
                   int64_t f_or_m, std::vector<int64_t> s, std::vector<int64_t> d, bool same,
                   bool depthwise) {
  const int64_t B = x.shape[0], H = x.shape[1], W = x.shape[2], C = x.shape[3];
  int64_t OH, OW, pt, pl;
  Window(H, kh, s[0], d[0], same, &OH, &pt);
  Window(W, kw, s[1], d[1], same, &OW, &pl);
  const int64_t OC = depthwise ? C * f_or_m : f_or_m;
  Tensor y{{B, OH, OW, OC}, std::vector<double>(B * OH * OW * OC, 0.0)};
  for (int64_t b = 0; b < B; ++b)
    for (int64_t oh = 0; oh < OH; ++oh)
      for (int64_t ow = 0; ow < OW; ++ow)
        for (int64_t i = 0; i < kh; ++i)
          for (int64_t j = 0; j < kw; ++j) {
            const int64_t ih = oh * s[0] + i * d[0] - pt, iw = ow * s[1] + j * d[1] - pl;
            if (ih < 0 || ih >= H || iw < 0 || iw >= W) continue;
            const double* xp = &x.v[((b * H + ih) * W + iw) * C];
            double* yp = &y.v[((b * OH + oh) * OW + ow) * OC];
            for (int64_t c = 0; c < C; ++c) {
              if (depthwise) {
                for (int64_t m = 0; m < f_or_m; ++m) {
                  yp[c * f_or_m + m] += xp[c] * k[((i * kw + j) * C + c) * f_or_m + m];
                }
              } else {
                for (int64_t f = 0; f < f_or_m; ++f) {
                  yp[f] += xp[c] * k[((i * kw + j) * C + c) * f_or_m + f];
                }
              }
            }
          }
  return y;
}

// Keras Conv2D(groups=G): output channel f reads only the input channels of its group
// f / (F / G); kernel [kh, kw, C / G, F].
inline Tensor GroupedConv(const Tensor& x, const std::vector<double>& k, int64_t kh, int64_t kw,
                          int64_t filters, int64_t groups, std::vector<int64_t> s,
                          std::vector<int64_t> d, bool same) {
  const int64_t B = x.shape[0], H = x.shape[1], W = x.shape[2], C = x.shape[3];
  const int64_t cg = C / groups, fg = filters / groups;
  int64_t OH, OW, pt, pl;
  Window(H, kh, s[0], d[0], same, &OH, &pt);
  Window(W, kw, s[1], d[1], same, &OW, &pl);
  Tensor y{{B, OH, OW, filters}, std::vector<double>(B * OH * OW * filters, 0.0)};
  for (int64_t b = 0; b < B; ++b)
    for (int64_t oh = 0; oh < OH; ++oh)
      for (int64_t ow = 0; ow < OW; ++ow)
        for (int64_t f = 0; f < filters; ++f) {
          const int64_t g = f / fg;
          double acc = 0;
          for (int64_t i = 0; i < kh; ++i)
            for (int64_t j = 0; j < kw; ++j) {
              const int64_t ih = oh * s[0] + i * d[0] - pt, iw = ow * s[1] + j * d[1] - pl;
              if (ih < 0 || ih >= H || iw < 0 || iw >= W) continue;
              for (int64_t c = 0; c < cg; ++c) {
                acc += x.v[((b * H + ih) * W + iw) * C + g * cg + c] *
                       k[((i * kw + j) * cg + c) * filters + f];
              }
            }
          y.v[((b * OH + oh) * OW + ow) * filters + f] = acc;
        }
  return y;
}

inline void AddBias(Tensor* t, const std::vector<double>& b) {
  if (b.empty()) return;
  const int64_t n = t->shape.back();
  for (int64_t i = 0; i < t->size(); ++i) t->v[i] += b[i % n];
}

inline Tensor Pool(const Tensor& x, int64_t ph, int64_t pw, int64_t sh, int64_t sw, bool same,
                   bool is_max) {
  const int64_t B = x.shape[0], H = x.shape[1], W = x.shape[2], C = x.shape[3];
  int64_t OH, OW, pt, pl;
  Window(H, ph, sh, 1, same, &OH, &pt);
  Window(W, pw, sw, 1, same, &OW, &pl);
  Tensor y{{B, OH, OW, C}, std::vector<double>(B * OH * OW * C)};
  for (int64_t b = 0; b < B; ++b)
    for (int64_t oh = 0; oh < OH; ++oh)
      for (int64_t ow = 0; ow < OW; ++ow)
        for (int64_t c = 0; c < C; ++c) {
          double acc = is_max ? -1e300 : 0.0;
          int count = 0;
          for (int64_t i = 0; i < ph; ++i)
            for (int64_t j = 0; j < pw; ++j) {
              const int64_t ih = oh * sh + i - pt, iw = ow * sw + j - pl;
              if (ih < 0 || ih >= H || iw < 0 || iw >= W) continue;
              const double v = x.v[((b * H + ih) * W + iw) * C + c];
              acc = is_max ? std::max(acc, v) : acc + v;
              ++count;
            }
          y.v[((b * OH + oh) * OW + ow) * C + c] = is_max ? acc : acc / count;
        }
  return y;
}

// One layer; returns false with `error` set when the layer is not supported here.
// Keras GRU (gate order z, r, h), LSTM (i, f, c, o) or SimpleRNN over x [B, T, F] from a zero
// state, with the weights
// in Keras layout; returns the states [B][step][U] in processing order (reversed time with
// go_backwards).
inline std::vector<std::vector<std::vector<double>>> RunRnn(
    const std::string& cls, const Json& c, const std::vector<double>& k,
    const std::vector<double>& r, std::vector<double> bias, const Tensor& x, bool go_backwards,
    const std::vector<double>* mask = nullptr, bool zero_output = false) {
  const int64_t B = x.shape[0], T = x.shape[1], F = x.shape[2];
  const int64_t U = c["units"].get<int64_t>();
  const bool gru = cls == "GRU", lstm = cls == "LSTM";
  const int64_t G = gru ? 3 : lstm ? 4 : 1;
  const bool reset_after = gru && Flag(c, "reset_after", true);
  // Absent activation: tanh; null: linear.
  const std::string act = c.contains("activation") ? ActivationName(c) : "tanh";
  const std::string rec_act =
      c.contains("recurrent_activation") ? Str(c, "recurrent_activation", "linear") : "sigmoid";
  // Input bias bi [G*U] and recurrent bias br [G*U] (zero unless reset_after).
  std::vector<double> bi(G * U, 0.0), br(G * U, 0.0);
  if (!bias.empty()) {
    std::copy(bias.begin(), bias.begin() + G * U, bi.begin());
    if (reset_after) std::copy(bias.begin() + G * U, bias.end(), br.begin());
  }
  std::vector<std::vector<std::vector<double>>> out(B);
  for (int64_t b = 0; b < B; ++b) {
    std::vector<double> h(U, 0.0), cell(U, 0.0);
    for (int64_t s = 0; s < T; ++s) {
      const int64_t t = go_backwards ? T - 1 - s : s;
      const double* xt = &x.v[(b * T + t) * F];
      std::vector<double> xp(G * U), hp(G * U);
      for (int64_t j = 0; j < G * U; ++j) {
        double a = bi[j], q = br[j];
        for (int64_t f = 0; f < F; ++f) a += xt[f] * k[f * G * U + j];
        for (int64_t u = 0; u < U; ++u) q += h[u] * r[u * G * U + j];
        xp[j] = a;
        hp[j] = q;
      }
      std::vector<double> next(U);
      const std::vector<double> old_cell = cell;
      if (lstm) {
        for (int64_t u = 0; u < U; ++u) {
          const double i = ApplyScalar(rec_act, xp[u] + hp[u]);
          const double f = ApplyScalar(rec_act, xp[U + u] + hp[U + u]);
          const double g = ApplyScalar(act, xp[2 * U + u] + hp[2 * U + u]);
          const double o = ApplyScalar(rec_act, xp[3 * U + u] + hp[3 * U + u]);
          cell[u] = f * cell[u] + i * g;
          next[u] = o * ApplyScalar(act, cell[u]);
        }
      } else if (!gru) {
        for (int64_t u = 0; u < U; ++u) next[u] = ApplyScalar(act, xp[u] + hp[u]);
      } else {
        std::vector<double> z(U), rr(U);
        for (int64_t u = 0; u < U; ++u) {
          z[u] = ApplyScalar(rec_act, xp[u] + hp[u]);
          rr[u] = ApplyScalar(rec_act, xp[U + u] + hp[U + u]);
        }
        for (int64_t u = 0; u < U; ++u) {
          double rec;
          if (reset_after) {
            rec = rr[u] * hp[2 * U + u];
          } else {
            rec = 0;  // (r * h) R_h
            for (int64_t v = 0; v < U; ++v) rec += rr[v] * h[v] * r[v * G * U + 2 * U + u];
          }
          const double cand = ApplyScalar(act, xp[2 * U + u] + rec);
          next[u] = z[u] * h[u] + (1 - z[u]) * cand;
        }
      }
      // Keras's masked step: the states stay; the output is the previous one (the kept state) or
      // zero with zero_output_for_mask.
      if (mask != nullptr && (*mask)[b * T + t] == 0.0) {
        cell = old_cell;
        out[b].push_back(zero_output ? std::vector<double>(U, 0.0) : h);
        continue;
      }
      h = next;
      out[b].push_back(h);
    }
  }
  return out;
}

// The Keras output of a recurrent layer from its states: the sequence (flipped in time with `flip`)
// or the last state.
inline Tensor RnnOutput(const std::vector<std::vector<std::vector<double>>>& states, bool seq,
                        bool flip) {
  const int64_t B = states.size(), T = states[0].size(), U = states[0][0].size();
  Tensor y{seq ? std::vector<int64_t>{B, T, U} : std::vector<int64_t>{B, U}, {}};
  for (int64_t b = 0; b < B; ++b) {
    if (!seq) {
      y.v.insert(y.v.end(), states[b].back().begin(), states[b].back().end());
      continue;
    }
    for (int64_t s = 0; s < T; ++s) {
      const auto& h = states[b][flip ? T - 1 - s : s];
      y.v.insert(y.v.end(), h.begin(), h.end());
    }
  }
  return y;
}

// Keras Bidirectional on x: forward layer on x; backward layer (go_backwards flipped, unless
// given) on x, its sequence flipped back in time; then merged. With a mask, both layers keep
// their states at masked steps and, returning sequences, output 0 there (Bidirectional sets
// zero_output_for_mask to return_sequences).
inline Tensor RunBidirectional(const keras::KerasModel& m, const std::string& name, const Json& c,
                               const Tensor& x, const std::vector<double>* mask = nullptr) {
  const Json& fl = c["layer"];
  Json bl = fl;
  if (Get(c, "backward_layer") != nullptr) {
    bl = c["backward_layer"];
  } else {
    bl["config"]["go_backwards"] = !Flag(fl["config"], "go_backwards", false);
  }
  Tensor out[2];
  const Json* layers[2] = {&fl, &bl};
  const char* prefixes[2] = {"forward/", "backward/"};
  for (int d = 0; d < 2; ++d) {
    const Json& lc = (*layers[d])["config"];
    const std::string p = prefixes[d];
    const bool seq = Flag(lc, "return_sequences", false);
    const auto states =
        RunRnn((*layers[d])["class_name"].get<std::string>(), lc, Weight(m, name, p + "kernel"),
               Weight(m, name, p + "recurrent_kernel"), Weight(m, name, p + "bias"), x,
               Flag(lc, "go_backwards", false), mask, seq);
    out[d] = RnnOutput(states, seq, d == 1);
  }
  const std::string mode = Str(c, "merge_mode", "concat");
  Tensor y = out[0];
  if (mode == "concat") {
    const int64_t a = out[0].shape.back(), b = out[1].shape.back();
    y.shape.back() = a + b;
    y.v.clear();
    for (int64_t p = 0; p < out[0].size() / a; ++p) {
      y.v.insert(y.v.end(), out[0].v.begin() + p * a, out[0].v.begin() + (p + 1) * a);
      y.v.insert(y.v.end(), out[1].v.begin() + p * b, out[1].v.begin() + (p + 1) * b);
    }
  } else {
    for (size_t i = 0; i < y.v.size(); ++i) {
      const double f = out[0].v[i], b = out[1].v[i];
      y.v[i] = mode == "sum" ? f + b : mode == "mul" ? f * b : (f + b) / 2;
    }
  }
  return y;
}

inline bool Apply(const keras::KerasModel& m, const std::string& cls, const std::string& name,
                  const Json& c, Tensor* x, std::string* error) {
  const bool same = Str(c, "padding", "valid") == "same";
  if (cls == "InputLayer" || cls == "Dropout" || cls.rfind("SpatialDropout", 0) == 0) return true;
  // Keras's augmentation and noise layers at inference (training=False).
  if (cls.rfind("Random", 0) == 0 || cls == "GaussianNoise" || cls == "GaussianDropout" ||
      cls == "AlphaDropout" || cls == "ActivityRegularization" || cls == "Identity") {
    return true;
  }
  if (cls == "Resizing") {  // tf.image.resize: half-pixel centers, no antialiasing
    const int64_t B = x->shape[0], H = x->shape[1], W = x->shape[2], C = x->shape[3];
    const int64_t OH = c["height"].get<int64_t>(), OW = c["width"].get<int64_t>();
    const bool nearest = Str(c, "interpolation", "bilinear") == "nearest";
    const double sy = static_cast<double>(H) / OH, sx = static_cast<double>(W) / OW;
    Tensor y{{B, OH, OW, C}, std::vector<double>(B * OH * OW * C)};
    auto at = [&](int64_t b, int64_t h, int64_t w, int64_t ch) {
      return x->v[((b * H + h) * W + w) * C + ch];
    };
    for (int64_t b = 0; b < B; ++b)
      for (int64_t oh = 0; oh < OH; ++oh)
        for (int64_t ow = 0; ow < OW; ++ow)
          for (int64_t ch = 0; ch < C; ++ch) {
            double v;
            if (nearest) {
              const int64_t ih = std::min<int64_t>(std::floor((oh + 0.5) * sy), H - 1);
              const int64_t iw = std::min<int64_t>(std::floor((ow + 0.5) * sx), W - 1);
              v = at(b, ih, iw, ch);
            } else {
              const double fy = (oh + 0.5) * sy - 0.5, fx = (ow + 0.5) * sx - 0.5;
              const int64_t y0 = std::max<int64_t>(std::floor(fy), 0);
              const int64_t y1 = std::min<int64_t>(std::ceil(fy), H - 1);
              const int64_t x0 = std::max<int64_t>(std::floor(fx), 0);
              const int64_t x1 = std::min<int64_t>(std::ceil(fx), W - 1);
              const double ly = fy - std::floor(fy), lx = fx - std::floor(fx);
              const double top = at(b, y0, x0, ch) + (at(b, y0, x1, ch) - at(b, y0, x0, ch)) * lx;
              const double bottom =
                  at(b, y1, x0, ch) + (at(b, y1, x1, ch) - at(b, y1, x0, ch)) * lx;
              v = top + (bottom - top) * ly;
            }
            y.v[((b * OH + oh) * OW + ow) * C + ch] = v;
          }
    *x = y;
    return true;
  }
  if (cls == "TimeDistributed") {  // the wrapped layer on [B*T, ...], under the wrapper's name
    const Json& inner = c["layer"];
    const std::vector<int64_t> in_shape = x->shape;
    x->shape.erase(x->shape.begin());
    x->shape[0] = in_shape[0] * in_shape[1];
    if (!Apply(m, inner["class_name"].get<std::string>(), name, inner["config"], x, error)) {
      return false;
    }
    x->shape.insert(x->shape.begin(), in_shape[0]);
    x->shape[1] = in_shape[1];
    return true;
  }
  if (cls == "RepeatVector") {  // [B, F] -> [B, n, F]
    const int64_t B = x->shape[0], F = x->shape[1], n = c["n"].get<int64_t>();
    Tensor y{{B, n, F}, std::vector<double>(B * n * F)};
    for (int64_t b = 0; b < B; ++b)
      for (int64_t t = 0; t < n; ++t)
        for (int64_t f = 0; f < F; ++f) y.v[(b * n + t) * F + f] = x->v[b * F + f];
    *x = y;
    return true;
  }
  if (cls == "CenterCrop") {  // the middle (height, width), starting at (in - out) // 2
    const int64_t B = x->shape[0], H = x->shape[1], W = x->shape[2], C = x->shape[3];
    const int64_t OH = c["height"].get<int64_t>(), OW = c["width"].get<int64_t>();
    const int64_t top = (H - OH) / 2, left = (W - OW) / 2;
    Tensor y{{B, OH, OW, C}, std::vector<double>(B * OH * OW * C)};
    for (int64_t b = 0; b < B; ++b)
      for (int64_t oh = 0; oh < OH; ++oh)
        for (int64_t ow = 0; ow < OW; ++ow)
          for (int64_t ch = 0; ch < C; ++ch) {
            y.v[((b * OH + oh) * OW + ow) * C + ch] =
                x->v[((b * H + oh + top) * W + ow + left) * C + ch];
          }
    *x = y;
    return true;
  }
  if (cls == "Dense") {
    const std::vector<double> k = Weight(m, name, "kernel");
    const int64_t in = x->shape.back(), units = c["units"].get<int64_t>();
    Tensor y{x->shape, std::vector<double>(x->size() / in * units, 0.0)};
    y.shape.back() = units;
    for (int64_t r = 0; r < x->size() / in; ++r)
      for (int64_t i = 0; i < in; ++i)
        for (int64_t u = 0; u < units; ++u)
          y.v[r * units + u] += x->v[r * in + i] * k[i * units + u];
    AddBias(&y, Weight(m, name, "bias"));
    Activate(ActivationName(c), &y);
    *x = y;
    return true;
  }
  if (cls == "Discretization" || cls == "CategoryEncoding") {
    // Discretization: the number of boundaries at or below each value (numpy's digitize), then
    // CategoryEncoding's output of those buckets (len + 1 tokens) unless output_mode is "int".
    Tensor idx = *x;
    int64_t tokens = 0;
    std::string mode;
    if (cls == "Discretization") {
      std::vector<double> bins;
      for (const Json& b : c["bin_boundaries"]) bins.push_back(b.get<float>());
      for (double& v : idx.v) {
        const float f = static_cast<float>(v);
        v = static_cast<double>(std::count_if(
            bins.begin(), bins.end(), [&](double b) { return static_cast<float>(b) <= f; }));
      }
      tokens = static_cast<int64_t>(bins.size()) + 1;
      mode = Str(c, "output_mode", "int");
    } else {
      for (double& v : idx.v) v = std::trunc(static_cast<float>(v));
      tokens = c["num_tokens"].get<int64_t>();
      mode = Str(c, "output_mode", "multi_hot");
    }
    if (mode == "int") {
      *x = idx;
      return true;
    }
    const int64_t rows = idx.shape[0], k = idx.size() / rows;
    Tensor y;
    const bool per_token = mode == "one_hot" && !(idx.shape.size() >= 2 && idx.shape.back() == 1);
    y.shape = {rows};
    if (per_token) y.shape.push_back(k);
    y.shape.push_back(tokens);
    y.v.assign(y.size(), 0.0);
    for (int64_t r = 0; r < rows; ++r) {
      for (int64_t j = 0; j < k; ++j) {
        const double t = idx.v[r * k + j];
        if (t < 0 || t >= tokens) continue;
        double& cell = y.v[(per_token ? (r * k + j) : r) * tokens + static_cast<int64_t>(t)];
        cell = mode == "count" ? cell + 1 : 1;
      }
    }
    *x = y;
    return true;
  }
  if (cls == "EinsumDense") {
    // The einsum by its definition: every assignment of the indices, summed over those the
    // output drops; a leading "..." of the input and output stands for its unnamed dims.
    std::string eq = c["equation"].get<std::string>();
    eq.erase(std::remove(eq.begin(), eq.end(), ' '), eq.end());
    std::string in = eq.substr(0, eq.find(',')),
                kern = eq.substr(eq.find(',') + 1, eq.find("->") - eq.find(',') - 1),
                out = eq.substr(eq.find("->") + 2);
    if (in.rfind("...", 0) == 0) {
      std::string lead;
      for (size_t i = 0; i + in.size() - 3 < x->shape.size(); ++i) lead.push_back('A' + i);
      in = lead + in.substr(3);
      out = lead + out.substr(3);
    }
    std::vector<int64_t> os;
    if (c["output_shape"].is_number()) {
      os = {c["output_shape"].get<int64_t>()};
    } else {
      for (const Json& d : c["output_shape"]) os.push_back(d.is_null() ? -1 : d.get<int64_t>());
    }
    std::map<char, int64_t> size;
    for (size_t i = 0; i < in.size(); ++i) size[in[i]] = x->shape[i];
    for (size_t i = 0; i < os.size(); ++i) {
      const char ch = out[out.size() - os.size() + i];
      if (os[i] > 0) size[ch] = os[i];
    }
    std::string all;
    for (const auto& [ch, n] : size) all.push_back(ch);
    const std::vector<double> k = Weight(m, name, "kernel");
    Tensor y;
    for (char ch : out) y.shape.push_back(size[ch]);
    y.v.assign(y.size(), 0.0);
    auto offset = [&](const std::string& term, const std::map<char, int64_t>& at) {
      int64_t o = 0;
      for (char ch : term) o = o * size[ch] + at.at(ch);
      return o;
    };
    std::map<char, int64_t> at;
    for (char ch : all) at[ch] = 0;
    for (bool more = true; more;) {
      y.v[offset(out, at)] += x->v[offset(in, at)] * k[offset(kern, at)];
      more = false;
      for (auto it = all.rbegin(); it != all.rend(); ++it) {
        if (++at[*it] < size[*it]) {
          more = true;
          break;
        }
        at[*it] = 0;
      }
    }
    const std::string bias_axes = c.value("bias_axes", Json()).is_string()
                                      ? c["bias_axes"].get<std::string>()
                                      : std::string();
    if (!bias_axes.empty()) {
      const std::vector<double> b = Weight(m, name, "bias");
      for (int64_t i = 0; i < y.size(); ++i) {
        int64_t rest = i, bo = 0;
        std::map<char, int64_t> pos;
        for (size_t d = out.size(); d-- > 0;) {
          pos[out[d]] = rest % size[out[d]];
          rest /= size[out[d]];
        }
        for (char ch : bias_axes) bo = bo * size[ch] + pos[ch];
        y.v[i] += b[bo];
      }
    }
    Activate(ActivationName(c), &y);
    *x = y;
    return true;
  }
  if (cls == "Conv2D" || cls == "Conv1D" || cls == "DepthwiseConv2D" || cls == "SeparableConv2D" ||
      cls == "DepthwiseConv1D" || cls == "SeparableConv1D") {
    // The 1-D kernels [K,C,F], [K,C,M] and [1,C*M,F] hold the 2-D ones' values in order.
    const bool is1d = cls == "Conv1D" || cls == "DepthwiseConv1D" || cls == "SeparableConv1D";
    const size_t n = is1d ? 1 : 2;
    std::vector<int64_t> ks = Ints(c, "kernel_size", n, {});
    std::vector<int64_t> s = Ints(c, "strides", n, std::vector<int64_t>(n, 1));
    std::vector<int64_t> d = Ints(c, "dilation_rate", n, std::vector<int64_t>(n, 1));
    Tensor in = *x;
    if (is1d && Str(c, "padding", "valid") == "causal") {
      // Left-pad the steps by dilation * (kernel - 1).
      const int64_t left = d[0] * (ks[0] - 1), L = x->shape[1], C = x->shape[2];
      in.shape[1] = L + left;
      in.v.assign(x->shape[0] * (L + left) * C, 0.0);
      for (int64_t b = 0; b < x->shape[0]; ++b) {
        for (int64_t i = 0; i < L * C; ++i) {
          in.v[(b * (L + left) + left) * C + i] = x->v[b * L * C + i];
        }
      }
    }
    if (is1d) in.shape = {in.shape[0], 1, in.shape[1], in.shape[2]};
    if (is1d) {
      ks.insert(ks.begin(), 1);
      s.insert(s.begin(), 1);
      d.insert(d.begin(), 1);
    }
    Tensor y;
    const int64_t groups = Get(c, "groups") ? c["groups"].get<int64_t>() : 1;
    if ((cls == "Conv2D" || cls == "Conv1D") && groups > 1) {
      y = GroupedConv(in, Weight(m, name, "kernel"), ks[0], ks[1], c["filters"].get<int64_t>(),
                      groups, s, d, same);
    } else if (cls == "Conv2D" || cls == "Conv1D") {
      y = Conv(in, Weight(m, name, "kernel"), ks[0], ks[1], c["filters"].get<int64_t>(), s, d, same,
               false);
    } else {
      const int64_t mult = static_cast<int64_t>(Num(c, "depth_multiplier", 1));
      y = Conv(in, Weight(m, name, "depthwise_kernel"), ks[0], ks[1], mult, s, d, same, true);
      if (cls == "SeparableConv2D" || cls == "SeparableConv1D") {
        y = Conv(y, Weight(m, name, "pointwise_kernel"), 1, 1, c["filters"].get<int64_t>(), {1, 1},
                 {1, 1}, false, false);
      }
    }
    AddBias(&y, Weight(m, name, "bias"));
    Activate(ActivationName(c), &y);
    if (is1d) y.shape = {y.shape[0], y.shape[2], y.shape[3]};
    *x = y;
    return true;
  }
  if (cls == "Conv2DTranspose" || cls == "Conv1DTranspose") {
    // tf.nn.conv2d_transpose to Keras's deconv_output_length; a 1-D layer as a height-1 image.
    const bool is1d = cls == "Conv1DTranspose";
    const size_t n = is1d ? 1 : 2;
    std::vector<int64_t> ks = Ints(c, "kernel_size", n, {});
    std::vector<int64_t> s = Ints(c, "strides", n, std::vector<int64_t>(n, 1));
    const Json* op_json = Get(c, "output_padding");
    std::vector<int64_t> op = op_json ? Ints(c, "output_padding", n, {}) : std::vector<int64_t>();
    Tensor in = *x;
    if (is1d) {
      in.shape = {in.shape[0], 1, in.shape[1], in.shape[2]};
      ks.insert(ks.begin(), 1);
      s.insert(s.begin(), 1);
      if (op_json) op.insert(op.begin(), 0);
    }
    const int64_t F = c["filters"].get<int64_t>();
    const std::vector<double> k = Weight(m, name, "kernel");  // [kh, kw, F, C] or [k, F, C]
    const int64_t B = in.shape[0], H = in.shape[1], W = in.shape[2], C = in.shape[3];
    auto length = [&](int64_t len, int64_t kk, int64_t st, int d) {
      if (is1d && d == 0) return int64_t{1};
      if (!op_json) return same ? len * st : len * st + std::max<int64_t>(kk - st, 0);
      return (len - 1) * st + kk - 2 * (same ? kk / 2 : 0) + op[d];
    };
    const int64_t OH = length(H, ks[0], s[0], 0), OW = length(W, ks[1], s[1], 1);
    const int64_t pt = same ? std::max<int64_t>((H - 1) * s[0] + ks[0] - OH, 0) / 2 : 0;
    const int64_t pl = same ? std::max<int64_t>((W - 1) * s[1] + ks[1] - OW, 0) / 2 : 0;
    Tensor y{{B, OH, OW, F}, std::vector<double>(B * OH * OW * F, 0.0)};
    for (int64_t b = 0; b < B; ++b)
      for (int64_t ih = 0; ih < H; ++ih)
        for (int64_t iw = 0; iw < W; ++iw)
          for (int64_t i = 0; i < ks[0]; ++i)
            for (int64_t j = 0; j < ks[1]; ++j) {
              const int64_t oh = ih * s[0] + i - pt, ow = iw * s[1] + j - pl;
              if (oh < 0 || oh >= OH || ow < 0 || ow >= OW) continue;
              for (int64_t f = 0; f < F; ++f)
                for (int64_t ch = 0; ch < C; ++ch)
                  y.v[((b * OH + oh) * OW + ow) * F + f] += in.v[((b * H + ih) * W + iw) * C + ch] *
                                                            k[((i * ks[1] + j) * F + f) * C + ch];
            }
    AddBias(&y, Weight(m, name, "bias"));
    Activate(ActivationName(c), &y);
    if (is1d) y.shape = {B, OW, F};
    *x = y;
    return true;
  }
  if (cls == "BatchNormalization") {
    const int64_t n = x->shape.back();
    std::vector<double> g = Weight(m, name, "gamma"), b = Weight(m, name, "beta");
    const std::vector<double> mean = Weight(m, name, "moving_mean"),
                              var = Weight(m, name, "moving_variance");
    if (g.empty()) g.assign(n, 1.0);
    if (b.empty()) b.assign(n, 0.0);
    const double eps = Num(c, "epsilon", 1e-3);
    for (int64_t i = 0; i < x->size(); ++i) {
      const int64_t ch = i % n;
      x->v[i] = (x->v[i] - mean[ch]) / std::sqrt(var[ch] + eps) * g[ch] + b[ch];
    }
    return true;
  }
  if (cls == "MaxPooling2D" || cls == "AveragePooling2D" || cls == "MaxPooling1D" ||
      cls == "AveragePooling1D") {
    const bool is1d = cls.find("1D") != std::string::npos;
    const size_t n = is1d ? 1 : 2;
    const std::vector<int64_t> p = Ints(c, "pool_size", n, std::vector<int64_t>(n, 2));
    const std::vector<int64_t> s = Ints(c, "strides", n, p);
    Tensor in = *x;
    if (is1d) in.shape = {x->shape[0], 1, x->shape[1], x->shape[2]};
    Tensor y = Pool(in, is1d ? 1 : p[0], p[n - 1], is1d ? 1 : s[0], s[n - 1], same,
                    cls.rfind("Max", 0) == 0);
    if (is1d) y.shape = {y.shape[0], y.shape[2], y.shape[3]};
    *x = y;
    return true;
  }
  if (cls.rfind("Global", 0) == 0) {
    const bool is_max = cls.find("Max") != std::string::npos;
    // channels_first: the channels are axis 1, the pooled positions the axes after it.
    const bool first = Str(c, "data_format", "channels_last") == "channels_first";
    const int64_t B = x->shape[0], C = first ? x->shape[1] : x->shape.back();
    const int64_t S = x->size() / (B * C);
    Tensor y{{B, C}, std::vector<double>(B * C, is_max ? -1e300 : 0.0)};
    for (int64_t b = 0; b < B; ++b)
      for (int64_t i = 0; i < S; ++i)
        for (int64_t ch = 0; ch < C; ++ch) {
          const double v = x->v[first ? (b * C + ch) * S + i : (b * S + i) * C + ch];
          double& o = y.v[b * C + ch];
          o = is_max ? std::max(o, v) : o + v / S;
        }
    if (Flag(c, "keepdims", false)) {
      y.shape = x->shape;
      for (size_t d = first ? 2 : 1; d + (first ? 0 : 1) < y.shape.size(); ++d) y.shape[d] = 1;
    }
    *x = y;
    return true;
  }
  if (cls == "Flatten") {
    x->shape = {x->shape[0], x->size() / x->shape[0]};
    return true;
  }
  if (cls == "Reshape") {
    std::vector<int64_t> target = Ints(c, "target_shape", 0, {});
    int64_t known = 1;
    for (int64_t d : target) known *= d > 0 ? d : 1;
    for (int64_t& d : target) {
      if (d < 0) d = x->size() / x->shape[0] / known;
    }
    target.insert(target.begin(), x->shape[0]);
    x->shape = target;
    return true;
  }
  if (cls == "Permute") {
    std::vector<int64_t> perm = {0};
    for (int64_t d : Ints(c, "dims", 0, {})) perm.push_back(d);
    std::vector<int64_t> out_shape;
    for (int64_t p : perm) out_shape.push_back(x->shape[p]);
    std::vector<int64_t> in_strides(x->shape.size(), 1), out_strides(x->shape.size(), 1);
    for (int i = static_cast<int>(x->shape.size()) - 2; i >= 0; --i) {
      in_strides[i] = in_strides[i + 1] * x->shape[i + 1];
      out_strides[i] = out_strides[i + 1] * out_shape[i + 1];
    }
    Tensor y{out_shape, std::vector<double>(x->v.size())};
    for (int64_t o = 0; o < x->size(); ++o) {
      int64_t src = 0;
      for (size_t d = 0; d < perm.size(); ++d) {
        src += ((o / out_strides[d]) % out_shape[d]) * in_strides[perm[d]];
      }
      y.v[o] = x->v[src];
    }
    *x = y;
    return true;
  }
  if (cls == "Activation") {
    Activate(ActivationName(c), x);
    return true;
  }
  if (cls == "ReLU") {
    const double mx = Num(c, "max_value", -1), slope = Num(c, "negative_slope", 0),
                 th = Num(c, "threshold", 0);
    for (double& v : x->v) {
      v = v >= th ? v : slope * (v - th);
      if (mx >= 0) v = std::min(v, mx);
    }
    return true;
  }
  if (cls == "LeakyReLU") {
    const double a = Num(c, "negative_slope", Num(c, "alpha", 0.3));
    for (double& v : x->v) v = v < 0 ? a * v : v;
    return true;
  }
  if (cls == "ELU") {
    const double a = Num(c, "alpha", 1.0);
    for (double& v : x->v) v = v > 0 ? v : a * (std::exp(v) - 1.0);
    return true;
  }
  if (cls == "Softmax") {
    Activate("softmax", x);
    return true;
  }
  if (cls == "PReLU") {
    const std::vector<double> a = Weight(m, name, "alpha");
    // alpha broadcasts over the batch; shared axes have size 1.
    std::vector<int64_t> ashape(x->shape.begin() + 1, x->shape.end());
    const Json* shared = Get(c, "shared_axes");
    if (shared != nullptr) {
      for (const Json& e : *shared) ashape[e.get<int64_t>() - 1] = 1;
    }
    const int64_t per = x->size() / x->shape[0];
    for (int64_t i = 0; i < x->size(); ++i) {
      int64_t r = i % per, ai = 0, stride = 1;
      for (int d = static_cast<int>(ashape.size()) - 1; d >= 0; --d) {
        const int64_t dim = x->shape[d + 1];
        const int64_t coord = r % dim;
        r /= dim;
        if (ashape[d] != 1) ai += coord * stride;
        stride *= ashape[d];
      }
      if (x->v[i] < 0) x->v[i] *= a[ai];
    }
    return true;
  }
  if (cls == "ZeroPadding2D" || cls == "Cropping2D" || cls == "ZeroPadding1D" ||
      cls == "Cropping1D") {
    const bool is1d = cls.find("1D") != std::string::npos;
    const bool crop = cls.rfind("Cropping", 0) == 0;
    const Json* p = Get(c, crop ? "cropping" : "padding");
    std::vector<std::pair<int64_t, int64_t>> amt(2, {0, 0});
    const size_t n = is1d ? 1 : 2;
    for (size_t i = 0; i < n; ++i) {
      if (p == nullptr) {
        amt[i] = crop ? std::make_pair<int64_t, int64_t>(is1d ? 1 : 0, is1d ? 1 : 0)
                      : std::make_pair<int64_t, int64_t>(1, 1);
      } else if (p->is_number()) {
        amt[i] = {p->get<int64_t>(), p->get<int64_t>()};
      } else if (is1d) {
        amt[i] = {(*p)[0].get<int64_t>(), (*p)[1].get<int64_t>()};
      } else if ((*p)[i].is_number()) {
        amt[i] = {(*p)[i].get<int64_t>(), (*p)[i].get<int64_t>()};
      } else {
        amt[i] = {(*p)[i][0].get<int64_t>(), (*p)[i][1].get<int64_t>()};
      }
    }
    Tensor in = *x;
    if (is1d) in.shape = {x->shape[0], 1, x->shape[1], x->shape[2]};
    if (is1d) amt = {{0, 0}, amt[0]};
    const int64_t B = in.shape[0], H = in.shape[1], W = in.shape[2], C = in.shape[3];
    const int64_t sign = crop ? -1 : 1;
    const int64_t OH = H + sign * (amt[0].first + amt[0].second);
    const int64_t OW = W + sign * (amt[1].first + amt[1].second);
    Tensor y{{B, OH, OW, C}, std::vector<double>(B * OH * OW * C, 0.0)};
    for (int64_t b = 0; b < B; ++b)
      for (int64_t oh = 0; oh < OH; ++oh)
        for (int64_t ow = 0; ow < OW; ++ow) {
          const int64_t ih = oh - sign * amt[0].first, iw = ow - sign * amt[1].first;
          if (ih < 0 || ih >= H || iw < 0 || iw >= W) continue;
          for (int64_t ch = 0; ch < C; ++ch) {
            y.v[((b * OH + oh) * OW + ow) * C + ch] = in.v[((b * H + ih) * W + iw) * C + ch];
          }
        }
    if (is1d) y.shape = {B, OW, C};
    *x = y;
    return true;
  }
  if (cls == "UpSampling2D" || cls == "UpSampling1D") {
    const bool is1d = cls == "UpSampling1D";
    std::vector<int64_t> s =
        is1d ? std::vector<int64_t>{Ints(c, "size", 1, {2})[0], 1} : Ints(c, "size", 2, {2, 2});
    Tensor in = *x;
    if (is1d) in.shape = {x->shape[0], x->shape[1], 1, x->shape[2]};
    const int64_t B = in.shape[0], H = in.shape[1], W = in.shape[2], C = in.shape[3];
    Tensor y{{B, H * s[0], W * s[1], C}, std::vector<double>(B * H * s[0] * W * s[1] * C)};
    for (int64_t b = 0; b < B; ++b)
      for (int64_t oh = 0; oh < H * s[0]; ++oh)
        for (int64_t ow = 0; ow < W * s[1]; ++ow)
          for (int64_t ch = 0; ch < C; ++ch) {
            y.v[((b * H * s[0] + oh) * W * s[1] + ow) * C + ch] =
                in.v[((b * H + oh / s[0]) * W + ow / s[1]) * C + ch];
          }
    if (is1d) y.shape = {B, H * s[0], C};
    *x = y;
    return true;
  }
  if (cls == "UnitNormalization") {
    // Each vector along the axes divided by its L2 norm.
    std::vector<int64_t> axes = {-1};
    if (const Json* a = Get(c, "axis")) {
      axes.clear();
      if (a->is_number()) axes.push_back(a->get<int64_t>());
      for (const Json& e : a->is_array() ? *a : Json::array()) axes.push_back(e.get<int64_t>());
    }
    const int64_t rank = static_cast<int64_t>(x->shape.size());
    std::vector<bool> reduced(rank, false);
    for (int64_t a : axes) reduced[a < 0 ? a + rank : a] = true;
    // The index of each element's vector: its coordinates outside the reduced axes.
    std::map<int64_t, double> sums;
    std::vector<int64_t> key(x->v.size());
    for (int64_t i = 0; i < x->size(); ++i) {
      int64_t rest = i, k = 0, mul = 1;
      for (int64_t d = rank - 1; d >= 0; --d) {
        const int64_t coord = rest % x->shape[d];
        rest /= x->shape[d];
        if (!reduced[d]) k += coord * mul;
        mul *= x->shape[d];
      }
      key[i] = k;
      sums[k] += x->v[i] * x->v[i];
    }
    for (int64_t i = 0; i < x->size(); ++i) x->v[i] /= std::sqrt(sums[key[i]]);
    return true;
  }
  if (cls == "GroupNormalization") {
    // Keras: channel c in group c / (C / G); each (sample, group) standardized by the mean and
    // (biased) variance over all positions and the group's channels; then gamma and beta.
    const int64_t n = x->shape.back(), batch = x->shape[0];
    const int64_t groups = Get(c, "groups") ? c["groups"].get<int64_t>() : 32;
    const int64_t per = n / groups, positions = x->size() / batch / n;
    std::vector<double> g = Weight(m, name, "gamma"), b = Weight(m, name, "beta");
    if (g.empty()) g.assign(n, 1.0);
    if (b.empty()) b.assign(n, 0.0);
    const double eps = Num(c, "epsilon", 1e-3);
    for (int64_t s = 0; s < batch; ++s) {
      double* v = x->v.data() + s * positions * n;
      for (int64_t k = 0; k < groups; ++k) {
        double mean = 0, var = 0;
        const double count = static_cast<double>(positions * per);
        for (int64_t p = 0; p < positions; ++p)
          for (int64_t i = k * per; i < (k + 1) * per; ++i) mean += v[p * n + i] / count;
        for (int64_t p = 0; p < positions; ++p)
          for (int64_t i = k * per; i < (k + 1) * per; ++i)
            var += (v[p * n + i] - mean) * (v[p * n + i] - mean) / count;
        for (int64_t p = 0; p < positions; ++p)
          for (int64_t i = k * per; i < (k + 1) * per; ++i)
            v[p * n + i] = (v[p * n + i] - mean) / std::sqrt(var + eps) * g[i] + b[i];
      }
    }
    return true;
  }
  if (cls == "LayerNormalization") {
    // Keras: per position, the mean and (biased) variance of the last axis; then
    // (x - mean) / sqrt(variance + epsilon) * gamma + beta.
    const int64_t n = x->shape.back();
    std::vector<double> g = Weight(m, name, "gamma"), b = Weight(m, name, "beta");
    if (g.empty()) g.assign(n, 1.0);
    if (b.empty()) b.assign(n, 0.0);
    const double eps = Num(c, "epsilon", 1e-3);
    for (int64_t p = 0; p < x->size() / n; ++p) {
      double* v = x->v.data() + p * n;
      double mean = 0, var = 0;
      for (int64_t i = 0; i < n; ++i) mean += v[i] / n;
      for (int64_t i = 0; i < n; ++i) var += (v[i] - mean) * (v[i] - mean) / n;
      for (int64_t i = 0; i < n; ++i) v[i] = (v[i] - mean) / std::sqrt(var + eps) * g[i] + b[i];
    }
    return true;
  }
  if (cls == "Normalization") {
    // Keras: (x - mean) / max(sqrt(variance), 1e-7), or mean + x * that with invert; mean and
    // variance from the weights, or from the config when it gives them (numbers here).
    const int64_t n = x->shape.back();
    std::vector<double> mean = Weight(m, name, "mean"), var = Weight(m, name, "variance");
    if (mean.empty()) {
      mean.assign(n, Num(c, "mean", 0.0));
      var.assign(n, Num(c, "variance", 1.0));
    }
    const bool invert = Flag(c, "invert", false);
    for (int64_t i = 0; i < x->size(); ++i) {
      const int64_t ch = mean.size() == 1 ? 0 : i % n;
      const double s = std::max(std::sqrt(var[ch]), 1e-7);
      x->v[i] = invert ? mean[ch] + x->v[i] * s : (x->v[i] - mean[ch]) / s;
    }
    return true;
  }
  if (cls == "Embedding") {
    // Keras casts the ids to int32 (truncation), then takes rows of the table.
    const int64_t V = c["input_dim"].get<int64_t>(), D = c["output_dim"].get<int64_t>();
    const std::vector<double> table = Weight(m, name, "embeddings");
    Tensor y{x->shape, {}};
    y.shape.push_back(D);
    for (double v : x->v) {
      const int64_t id = static_cast<int64_t>(v);
      if (id < 0 || id >= V) {
        *error = name + ": id " + std::to_string(id) + " outside [0, " + std::to_string(V) + ")";
        return false;
      }
      for (int64_t d = 0; d < D; ++d) y.v.push_back(table[id * D + d]);
    }
    *x = y;
    return true;
  }
  if (cls == "Rescaling") {
    const double scale = Num(c, "scale", 1.0), offset = Num(c, "offset", 0.0);
    for (double& v : x->v) v = v * scale + offset;
    return true;
  }
  if (cls == "GRU" || cls == "SimpleRNN" || cls == "LSTM") {  // fused or unrolled alike
    const auto states =
        RunRnn(cls, c, Weight(m, name, "kernel"), Weight(m, name, "recurrent_kernel"),
               Weight(m, name, "bias"), *x, Flag(c, "go_backwards", false));
    *x = RnnOutput(states, Flag(c, "return_sequences", false), false);
    return true;
  }
  if (cls == "Bidirectional") {
    *x = RunBidirectional(m, name, c, *x);
    return true;
  }
  *error = "reference evaluator has no " + cls;
  return false;
}

// Runs the model's layers in config order (a chain) on x.
// Keras masks along the chain: Embedding(mask_zero) and Masking make one ([B*T] of 0 / 1), the
// recurrent layers and GlobalAveragePooling1D use it, per-step layers keep it, others drop it.
inline bool MaskedLayer(const keras::KerasModel& m, const std::string& cls, const std::string& name,
                        const Json& c, Tensor* x, std::vector<double>* mask) {
  const int64_t B = x->shape[0], T = x->shape.size() > 1 ? x->shape[1] : 1;
  if (cls == "Masking") {
    const double value = Num(c, "mask_value", 0.0);
    const int64_t F = x->size() / (B * T);
    mask->assign(B * T, 0.0);
    for (int64_t p = 0; p < B * T; ++p) {
      for (int64_t f = 0; f < F; ++f) {
        if (x->v[p * F + f] != value) (*mask)[p] = 1.0;
      }
      for (int64_t f = 0; f < F; ++f) x->v[p * F + f] *= (*mask)[p];
    }
    return true;
  }
  if (mask->empty()) return false;
  if (cls == "GRU" || cls == "SimpleRNN" || cls == "LSTM") {
    const auto outs = RunRnn(cls, c, Weight(m, name, "kernel"), Weight(m, name, "recurrent_kernel"),
                             Weight(m, name, "bias"), *x, Flag(c, "go_backwards", false), mask,
                             Flag(c, "zero_output_for_mask", false));
    const bool seq = Flag(c, "return_sequences", false);
    *x = RnnOutput(outs, seq, false);
    if (!seq) mask->clear();
    return true;
  }
  if (cls == "Bidirectional") {
    *x = RunBidirectional(m, name, c, *x, mask);
    if (!Flag(c["layer"]["config"], "return_sequences", false)) mask->clear();
    return true;
  }
  if (cls == "GlobalAveragePooling1D") {
    const int64_t F = x->shape[2];
    Tensor y{{B, F}, std::vector<double>(B * F, 0.0)};
    for (int64_t b = 0; b < B; ++b) {
      double count = 0;
      for (int64_t t = 0; t < T; ++t) count += (*mask)[b * T + t];
      for (int64_t f = 0; f < F; ++f) {
        double sum = 0;
        for (int64_t t = 0; t < T; ++t) sum += x->v[(b * T + t) * F + f] * (*mask)[b * T + t];
        y.v[b * F + f] = sum / count;
      }
    }
    *x = y;
    mask->clear();
    return true;
  }
  return false;
}

inline bool EvalChain(const keras::KerasModel& m, Tensor* x, std::string* error) {
  std::vector<keras::LayerEntry> layers;
  if (!keras::ListLayers(m.config, &layers).ok()) {
    *error = "bad config";
    return false;
  }
  std::vector<double> mask;
  for (const keras::LayerEntry& e : layers) {
    const Json& c = (*e.layer)["config"];
    if (MaskedLayer(m, e.class_name, e.name, c, x, &mask)) continue;
    std::vector<double> ids = x->v;
    if (!Apply(m, e.class_name, e.name, c, x, error)) return false;
    if (e.class_name == "Embedding" && Flag(c, "mask_zero", false)) {
      mask.clear();
      for (double id : ids) mask.push_back(id != 0.0 ? 1.0 : 0.0);
      continue;
    }
    static const char* const kPass[] = {
        "InputLayer",         "Dense", "Dropout", "SpatialDropout1D",   "Activation",        "ReLU",
        "LeakyReLU",          "PReLU", "ELU",     "LayerNormalization", "UnitNormalization",
        "BatchNormalization",  // tf.keras: ignores the mask
        "TimeDistributed"};
    if (std::find(std::begin(kPass), std::end(kPass), e.class_name) == std::end(kPass)) {
      mask.clear();
    }
  }
  return true;
}

}  // namespace kref
}  // namespace testing
}  // namespace edgeopt

#endif  // EDGEOPT_TESTS_E2E_KERAS_REFERENCE_H_
