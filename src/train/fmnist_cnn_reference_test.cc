// The fmnist-cnn preset end to end against an independent reference: plain double-precision
// loops for the forward pass, the loss Keras uses (SparseCategoricalCrossentropy from logits,
// "sum_over_batch_size": the mean over the samples of the batch, also for a smaller last
// batch) and every parameter's gradient. Finite differences cannot check a whole network with
// ReLU and max pooling (weight steps cross kinks); a reference with the same subgradients
// (ReLU'(0) = 0, max pooling routes to the first maximum, as TensorFlow) can.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <string>
#include <vector>

#include "src/train/engine.h"
#include "src/train/loss.h"
#include "src/train/presets.h"
#include "src/train/rng.h"

namespace edgeopt {
namespace train {
namespace {

using Vec = std::vector<double>;

// Conv 3x3 VALID + ReLU, NHWC input [n, h, h, cin], weights OHWI [cout, 3, 3, cin].
Vec ConvRelu(const Vec& x, int n, int h, int cin, const Vec& w, const Vec& b, int cout) {
  const int o = h - 2;
  Vec y(static_cast<size_t>(n) * o * o * cout);
  for (int s = 0; s < n; ++s) {
    for (int r = 0; r < o; ++r) {
      for (int c = 0; c < o; ++c) {
        for (int f = 0; f < cout; ++f) {
          double acc = b[f];
          for (int i = 0; i < 3; ++i) {
            for (int j = 0; j < 3; ++j) {
              for (int k = 0; k < cin; ++k) {
                acc += w[((f * 3 + i) * 3 + j) * cin + k] *
                       x[((static_cast<size_t>(s) * h + r + i) * h + c + j) * cin + k];
              }
            }
          }
          y[((static_cast<size_t>(s) * o + r) * o + c) * cout + f] = std::max(acc, 0.0);
        }
      }
    }
  }
  return y;
}

// dy (already through the ReLU) of ConvRelu -> dw, db (added) and dx (returned).
Vec ConvBackward(const Vec& x, int n, int h, int cin, const Vec& w, const Vec& dy, int cout,
                 Vec* dw, Vec* db) {
  const int o = h - 2;
  Vec dx(x.size(), 0.0);
  for (int s = 0; s < n; ++s) {
    for (int r = 0; r < o; ++r) {
      for (int c = 0; c < o; ++c) {
        for (int f = 0; f < cout; ++f) {
          const double g = dy[((static_cast<size_t>(s) * o + r) * o + c) * cout + f];
          (*db)[f] += g;
          for (int i = 0; i < 3; ++i) {
            for (int j = 0; j < 3; ++j) {
              for (int k = 0; k < cin; ++k) {
                const size_t xi = ((static_cast<size_t>(s) * h + r + i) * h + c + j) * cin + k;
                const size_t wi = ((f * 3 + i) * 3 + j) * cin + k;
                (*dw)[wi] += g * x[xi];
                dx[xi] += g * w[wi];
              }
            }
          }
        }
      }
    }
  }
  return dx;
}

// 2x2 / 2 max pooling (VALID, floor), NHWC; `arg` gets the input index of each maximum (the
// first in window order on ties).
Vec MaxPool(const Vec& x, int n, int h, int ch, std::vector<size_t>* arg) {
  const int o = h / 2;
  Vec y(static_cast<size_t>(n) * o * o * ch);
  arg->assign(y.size(), 0);
  for (int s = 0; s < n; ++s) {
    for (int r = 0; r < o; ++r) {
      for (int c = 0; c < o; ++c) {
        for (int k = 0; k < ch; ++k) {
          size_t best = 0;
          bool first = true;
          for (int i = 0; i < 2; ++i) {
            for (int j = 0; j < 2; ++j) {
              const size_t xi = ((static_cast<size_t>(s) * h + 2 * r + i) * h + 2 * c + j) * ch + k;
              if (first || x[xi] > x[best]) best = xi;
              first = false;
            }
          }
          const size_t yi = ((static_cast<size_t>(s) * o + r) * o + c) * ch + k;
          y[yi] = x[best];
          (*arg)[yi] = best;
        }
      }
    }
  }
  return y;
}

// y[n, units] = x[n, in] W^T + b, W [units, in].
Vec Dense(const Vec& x, int n, int in, const Vec& w, const Vec& b, int units, bool relu) {
  Vec y(static_cast<size_t>(n) * units);
  for (int s = 0; s < n; ++s) {
    for (int u = 0; u < units; ++u) {
      double acc = b[u];
      for (int k = 0; k < in; ++k) acc += w[static_cast<size_t>(u) * in + k] * x[s * in + k];
      y[s * units + u] = relu ? std::max(acc, 0.0) : acc;
    }
  }
  return y;
}

Vec DenseBackward(const Vec& x, int n, int in, const Vec& w, const Vec& dy, int units, Vec* dw,
                  Vec* db) {
  Vec dx(static_cast<size_t>(n) * in, 0.0);
  for (int s = 0; s < n; ++s) {
    for (int u = 0; u < units; ++u) {
      const double g = dy[s * units + u];
      (*db)[u] += g;
      for (int k = 0; k < in; ++k) {
        (*dw)[static_cast<size_t>(u) * in + k] += g * x[s * in + k];
        dx[s * in + k] += g * w[static_cast<size_t>(u) * in + k];
      }
    }
  }
  return dx;
}

// Zeroes dy where the ReLU output y is not positive.
void ReluBackward(const Vec& y, Vec* dy) {
  for (size_t i = 0; i < y.size(); ++i) {
    if (y[i] <= 0.0) (*dy)[i] = 0.0;
  }
}

struct Reference {
  double loss = 0.0;
  std::map<std::string, Vec> grads;  // by Keras origin
};

Reference RunReference(const std::map<std::string, Vec>& p, const Vec& x,
                       const std::vector<int32_t>& labels) {
  const int n = static_cast<int>(labels.size());
  std::vector<size_t> arg1, arg2;
  const Vec a1 = ConvRelu(x, n, 28, 1, p.at("conv2d/kernel"), p.at("conv2d/bias"), 32);
  const Vec p1 = MaxPool(a1, n, 26, 32, &arg1);
  const Vec a2 = ConvRelu(p1, n, 13, 32, p.at("conv2d_1/kernel"), p.at("conv2d_1/bias"), 64);
  const Vec p2 = MaxPool(a2, n, 11, 64, &arg2);  // [n, 5, 5, 64]: flattened in NHWC order
  const Vec d1 = Dense(p2, n, 1600, p.at("dense/kernel"), p.at("dense/bias"), 128, true);
  const Vec z = Dense(d1, n, 128, p.at("dense_1/kernel"), p.at("dense_1/bias"), 10, false);

  Reference ref;
  for (const auto& kv : p) ref.grads[kv.first].assign(kv.second.size(), 0.0);
  Vec dz(z.size());
  for (int s = 0; s < n; ++s) {
    double mx = z[s * 10];
    for (int k = 1; k < 10; ++k) mx = std::max(mx, z[s * 10 + k]);
    double sum = 0.0;
    for (int k = 0; k < 10; ++k) sum += std::exp(z[s * 10 + k] - mx);
    ref.loss += (mx + std::log(sum) - z[s * 10 + labels[s]]) / n;
    for (int k = 0; k < 10; ++k) {
      dz[s * 10 + k] = (std::exp(z[s * 10 + k] - mx) / sum - (k == labels[s] ? 1.0 : 0.0)) / n;
    }
  }
  Vec dd1 = DenseBackward(d1, n, 128, p.at("dense_1/kernel"), dz, 10, &ref.grads["dense_1/kernel"],
                          &ref.grads["dense_1/bias"]);
  ReluBackward(d1, &dd1);
  const Vec dp2 = DenseBackward(p2, n, 1600, p.at("dense/kernel"), dd1, 128,
                                &ref.grads["dense/kernel"], &ref.grads["dense/bias"]);
  Vec da2(a2.size(), 0.0);
  for (size_t i = 0; i < dp2.size(); ++i) da2[arg2[i]] += dp2[i];
  ReluBackward(a2, &da2);
  const Vec dp1 = ConvBackward(p1, n, 13, 32, p.at("conv2d_1/kernel"), da2, 64,
                               &ref.grads["conv2d_1/kernel"], &ref.grads["conv2d_1/bias"]);
  Vec da1(a1.size(), 0.0);
  for (size_t i = 0; i < dp1.size(); ++i) da1[arg1[i]] += dp1[i];
  ReluBackward(a1, &da1);
  ConvBackward(x, n, 28, 1, p.at("conv2d/kernel"), da1, 32, &ref.grads["conv2d/kernel"],
               &ref.grads["conv2d/bias"]);
  return ref;
}

double RelativeError(const float* got, const Vec& want) {
  double diff = 0.0, norm = 0.0;
  for (size_t i = 0; i < want.size(); ++i) {
    diff += (got[i] - want[i]) * (got[i] - want[i]);
    norm += want[i] * want[i];
  }
  return std::sqrt(diff / std::max(norm, 1e-300));
}

// Batches of 64 and of 32 (60000 = 937 * 64 + 32: Keras' last, partial batch), 1 and 2 threads.
TEST(FmnistCnnReferenceTest, LossAndEveryGradientMatchADoublePrecisionReference) {
  auto graph = BuildPresetGraph("fmnist-cnn", 5, 64);
  ASSERT_TRUE(graph.ok()) << graph.status().ToString();
  for (int threads : {1, 2}) {
    EngineOptions options;
    options.batch_size = 64;
    options.num_threads = threads;
    auto created = Engine::Create(*graph, options);
    ASSERT_TRUE(created.ok()) << created.status().ToString();
    Engine& engine = **created;
    std::map<std::string, Vec> params;
    for (const Parameter& p : engine.parameters()) {
      params[p.name] = Vec(p.data(), p.data() + p.size);
    }
    ASSERT_EQ(params.size(), 8u);
    for (int batch : {64, 32}) {
      SCOPED_TRACE("threads " + std::to_string(threads) + " batch " + std::to_string(batch));
      SplitMix64 rng(static_cast<uint64_t>(batch));
      std::vector<float> x(static_cast<size_t>(batch) * 784);
      for (float& v : x) v = static_cast<float>(rng.Below(256)) / 255.0f;
      std::vector<int32_t> labels(batch);
      for (int32_t& l : labels) l = static_cast<int32_t>(rng.Below(10));

      ASSERT_TRUE(engine.Forward(x.data(), batch, /*training=*/true).ok());
      const double loss = SparseSoftmaxCrossEntropy(engine.LossInput(), labels.data(), batch, 10,
                                                    engine.LossGrad());
      engine.Backward();
      const Reference ref = RunReference(params, Vec(x.begin(), x.end()), labels);
      EXPECT_NEAR(loss, ref.loss, 1e-5 * ref.loss);
      for (const Parameter& p : engine.parameters()) {
        ASSERT_TRUE(p.has_grad) << p.name;
        const Vec& want = ref.grads.at(p.name);
        ASSERT_EQ(static_cast<size_t>(p.size), want.size()) << p.name;
        // float32 GEMMs against double loops: about 1e-6 relative; a ReLU or max-pool decision
        // that flips between float and double would show as a much larger error.
        EXPECT_LT(RelativeError(p.grad(), want), 1e-4) << p.name;
      }
    }
  }
}

}  // namespace
}  // namespace train
}  // namespace edgeopt
