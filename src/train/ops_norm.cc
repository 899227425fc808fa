// BATCH_NORM (batch statistics in training with moving averages updated by the layer's
// momentum; moving statistics in inference, and in training when the layer is frozen) and DROPOUT
// (inverted, seeded; identity in inference).
#include <algorithm>
#include <cmath>
#include <cstring>

#include "src/train/ops.h"
#include "src/train/rng.h"

namespace edgeopt {
namespace train {
namespace {

class BatchNorm : public OpKernel {
 public:
  Status Prepare(KernelContext* ctx) override {
    EDGEOPT_ENSURE(in.size() == 5 && in[0] >= 0 && in[3] >= 0 && in[4] >= 0,
                   StatusCode::kInvalidModel,
                   "%s: needs (x, gamma, beta, moving_mean, moving_variance)", Where().c_str());
    const Value& x = ctx->v(in[0]);
    const int64_t axis = ir::GetInt(node->attrs, "axis", -1);
    EDGEOPT_ENSURE(axis == -1 || axis == x.rank() - 1, StatusCode::kUnsupported,
                   "%s: normalizes axis %lld; only the last (channel) axis is supported",
                   Where().c_str(), static_cast<long long>(axis));
    c_ = x.shape.back();
    for (int i = 1; i < 5; ++i) {
      if (in[i] < 0) continue;
      EDGEOPT_ENSURE(ctx->v(in[i]).size == c_, StatusCode::kInvalidModel,
                     "%s: input %d has %lld values for %d channels", Where().c_str(), i,
                     static_cast<long long>(ctx->v(in[i]).size), c_);
    }
    eps_ = static_cast<float>(ir::GetFloat(node->attrs, "epsilon", 1e-3));
    momentum_ = static_cast<float>(ir::GetFloat(node->attrs, "momentum", 0.99));
    // A frozen layer (Keras trainable=False) normalizes with its moving statistics in training
    // too, and leaves them as they are (tf.keras in TensorFlow 2, and Keras 3).
    frozen_ = ctx->graph->tensors[in[3]].frozen;
    rows_ = x.size / c_;
    mean_.assign(c_, 0.0f);
    inv_std_.assign(c_, 0.0f);
    SetShape(&ctx->v(out[0]), x.shape);
    return Status::Ok();
  }

  void Forward(KernelContext* ctx) override {
    const float* x = ctx->v(in[0]).d();
    float* y = ctx->v(out[0]).d();
    float* mm = ctx->v(in[3]).d();
    float* mv = ctx->v(in[4]).d();
    if (ctx->training && !frozen_) {
      // Two passes (mean, then centered squares) with per-task partials.
      Reduce(ctx, [&](const float* row, float* acc) {
        for (int c = 0; c < c_; ++c) acc[c] += row[c];
      });
      for (int c = 0; c < c_; ++c) mean_[c] = sums_[c] / static_cast<float>(rows_);
      Reduce(ctx, [&](const float* row, float* acc) {
        for (int c = 0; c < c_; ++c) {
          const float d = row[c] - mean_[c];
          acc[c] += d * d;
        }
      });
      for (int c = 0; c < c_; ++c) {
        const float var = sums_[c] / static_cast<float>(rows_);
        inv_std_[c] = 1.0f / std::sqrt(var + eps_);
        mm[c] = mm[c] * momentum_ + mean_[c] * (1.0f - momentum_);
        mv[c] = mv[c] * momentum_ + var * (1.0f - momentum_);
      }
    } else {
      for (int c = 0; c < c_; ++c) {
        mean_[c] = mm[c];
        inv_std_[c] = 1.0f / std::sqrt(mv[c] + eps_);
      }
    }
    const float* gamma = in[1] >= 0 ? ctx->v(in[1]).d() : nullptr;
    const float* beta = in[2] >= 0 ? ctx->v(in[2]).d() : nullptr;
    scale_.resize(c_);
    shift_.resize(c_);
    for (int c = 0; c < c_; ++c) {
      scale_[c] = inv_std_[c] * (gamma != nullptr ? gamma[c] : 1.0f);
      shift_[c] = (beta != nullptr ? beta[c] : 0.0f) - mean_[c] * scale_[c];
    }
    ParallelChunks(ctx, rows_, [&](int64_t b, int64_t e, int) {
      for (int64_t r = b; r < e; ++r) {
        const float* xr = x + r * c_;
        float* yr = y + r * c_;
        for (int c = 0; c < c_; ++c) yr[c] = xr[c] * scale_[c] + shift_[c];
      }
    });
  }

  void Backward(KernelContext* ctx) override {
    const float* x = ctx->v(in[0]).d();
    const float* dy = ctx->v(out[0]).g();
    // sums_[c] = sum(dy), sums2_[c] = sum(dy * xhat).
    partial_.assign(static_cast<size_t>(kReduceChunks) * 2 * c_, 0.0f);
    const int tasks = ReduceChunks(ctx, rows_, [&](int64_t b, int64_t e, int task, int) {
      float* a = partial_.data() + static_cast<size_t>(task) * 2 * c_;
      float* a2 = a + c_;
      for (int64_t r = b; r < e; ++r) {
        const float* xr = x + r * c_;
        const float* gr = dy + r * c_;
        for (int c = 0; c < c_; ++c) {
          a[c] += gr[c];
          a2[c] += gr[c] * (xr[c] - mean_[c]) * inv_std_[c];
        }
      }
    });
    std::vector<float>& dbeta = sums_;
    std::vector<float>& dgamma = sums2_;
    dbeta.assign(c_, 0.0f);
    dgamma.assign(c_, 0.0f);
    for (int t = 0; t < tasks; ++t) {
      for (int c = 0; c < c_; ++c) {
        dbeta[c] += partial_[static_cast<size_t>(t) * 2 * c_ + c];
        dgamma[c] += partial_[static_cast<size_t>(t) * 2 * c_ + c_ + c];
      }
    }
    if (float* g = in[1] >= 0 ? InGrad(ctx, 1) : nullptr) {
      for (int c = 0; c < c_; ++c) g[c] = Over(1) ? dgamma[c] : g[c] + dgamma[c];
    }
    if (float* g = in[2] >= 0 ? InGrad(ctx, 2) : nullptr) {
      for (int c = 0; c < c_; ++c) g[c] = Over(2) ? dbeta[c] : g[c] + dbeta[c];
    }
    float* dx = InGrad(ctx, 0);
    if (dx == nullptr) return;
    const float* gamma = in[1] >= 0 ? ctx->v(in[1]).d() : nullptr;
    const bool over = Over(0);
    const float inv_rows = 1.0f / static_cast<float>(rows_);
    const bool training = ctx->training && !frozen_;
    ParallelChunks(ctx, rows_, [&](int64_t b, int64_t e, int) {
      for (int64_t r = b; r < e; ++r) {
        const float* xr = x + r * c_;
        const float* gr = dy + r * c_;
        float* dr = dx + r * c_;
        for (int c = 0; c < c_; ++c) {
          const float k = (gamma != nullptr ? gamma[c] : 1.0f) * inv_std_[c];
          float v;
          if (training) {
            const float xhat = (xr[c] - mean_[c]) * inv_std_[c];
            v = k * (gr[c] - dbeta[c] * inv_rows - xhat * dgamma[c] * inv_rows);
          } else {
            v = k * gr[c];
          }
          dr[c] = over ? v : dr[c] + v;
        }
      }
    });
  }

 private:
  template <typename F>
  void Reduce(KernelContext* ctx, F&& f) {
    const float* x = ctx->v(in[0]).d();
    partial_.assign(static_cast<size_t>(kReduceChunks) * c_, 0.0f);
    const int tasks = ReduceChunks(ctx, rows_, [&](int64_t b, int64_t e, int task, int) {
      float* acc = partial_.data() + static_cast<size_t>(task) * c_;
      for (int64_t r = b; r < e; ++r) f(x + r * c_, acc);
    });
    sums_.assign(c_, 0.0f);
    for (int t = 0; t < tasks; ++t) {
      for (int c = 0; c < c_; ++c) sums_[c] += partial_[static_cast<size_t>(t) * c_ + c];
    }
  }

  int c_ = 0;
  int64_t rows_ = 0;
  float eps_ = 1e-3f, momentum_ = 0.99f;
  bool frozen_ = false;
  std::vector<float> mean_, inv_std_, scale_, shift_, sums_, sums2_, partial_;
};

class Dropout : public OpKernel {
 public:
  Status Prepare(KernelContext* ctx) override {
    EDGEOPT_ENSURE(!in.empty() && in[0] >= 0, StatusCode::kInvalidModel, "%s: needs an input",
                   Where().c_str());
    rate_ = static_cast<float>(ir::GetFloat(node->attrs, "rate", 0.5));
    EDGEOPT_ENSURE(rate_ >= 0.0f && rate_ < 1.0f, StatusCode::kInvalidModel,
                   "%s: rate %g is not in [0, 1)", Where().c_str(), rate_);
    const Value& x = ctx->v(in[0]);
    spatial_ = ir::GetString(node->attrs, "noise_shape", "") == "spatial" && x.rank() >= 3;
    SetShape(&ctx->v(out[0]), x.shape);
    n_ = x.shape.empty() ? 1 : x.shape[0];
    per_sample_ = n_ > 0 ? x.size / n_ : 0;
    channels_ = x.shape.empty() ? 1 : x.shape.back();
    mask_.resize(x.size);
    return Status::Ok();
  }

  void Forward(KernelContext* ctx) override {
    const Value& x = ctx->v(in[0]);
    Value& y = ctx->v(out[0]);
    active_ = ctx->training && rate_ > 0.0f;
    if (!active_) {
      std::memcpy(y.d(), x.d(), sizeof(float) * x.size);
      return;
    }
    const float keep_scale = 1.0f / (1.0f - rate_);
    const uint64_t base = MixSeed(ctx->seed, 0x64726f70ull + node_index, ctx->step);
    ParallelChunks(ctx, n_, [&](int64_t b, int64_t e, int) {
      for (int64_t n = b; n < e; ++n) {
        SplitMix64 rng(MixSeed(base, static_cast<uint64_t>(n), 0));
        float* m = mask_.data() + n * per_sample_;
        if (spatial_) {
          // One draw per channel (the first position's mask), repeated over H and W.
          for (int c = 0; c < channels_; ++c) {
            m[c] = rng.NextFloat() >= rate_ ? keep_scale : 0.0f;
          }
          for (int64_t i = channels_; i < per_sample_; ++i) m[i] = m[i % channels_];
        } else {
          for (int64_t i = 0; i < per_sample_; ++i) {
            m[i] = rng.NextFloat() >= rate_ ? keep_scale : 0.0f;
          }
        }
        const float* xs = x.d() + n * per_sample_;
        float* ys = y.d() + n * per_sample_;
        for (int64_t i = 0; i < per_sample_; ++i) ys[i] = xs[i] * m[i];
      }
    });
  }

  void Backward(KernelContext* ctx) override {
    float* dx = InGrad(ctx, 0);
    if (dx == nullptr) return;
    const Value& y = ctx->v(out[0]);
    const float* dy = y.grad.data();
    const bool over = Over(0);
    for (int64_t i = 0; i < y.size; ++i) {
      const float v = active_ ? dy[i] * mask_[i] : dy[i];
      dx[i] = over ? v : dx[i] + v;
    }
  }

 private:
  float rate_ = 0.5f;
  bool spatial_ = false;
  bool active_ = false;
  int64_t n_ = 0, per_sample_ = 0;
  int channels_ = 1;
  std::vector<float> mask_;
};

// L2_NORMALIZATION over the last axis, as TFLite computes it: y = x / max(|x|, 1e-6). Backward:
// dx = (dy - y (y · dy)) / |x| where the norm is above the floor, dy / 1e-6 where it is not.
class L2Normalization : public OpKernel {
 public:
  Status Prepare(KernelContext* ctx) override {
    EDGEOPT_ENSURE(!in.empty() && in[0] >= 0, StatusCode::kInvalidModel, "%s: needs an input",
                   Where().c_str());
    const Value& x = ctx->v(in[0]);
    EDGEOPT_ASSIGN_OR_RETURN(const FusedAct act, ParseFusedAct(*node));
    EDGEOPT_ENSURE(act == FusedAct::kNone, StatusCode::kUnsupported,
                   "%s: a fused activation (TFLite has none on L2_NORMALIZATION)", Where().c_str());
    depth_ = x.shape.empty() ? 1 : x.shape.back();
    rows_ = depth_ > 0 ? x.size / depth_ : 0;
    norms_.assign(static_cast<size_t>(rows_), 0.0f);
    SetShape(&ctx->v(out[0]), x.shape);
    return Status::Ok();
  }

  void Forward(KernelContext* ctx) override {
    const float* x = ctx->v(in[0]).d();
    float* y = ctx->v(out[0]).d();
    ParallelChunks(ctx, rows_, [&](int64_t b, int64_t e, int) {
      for (int64_t r = b; r < e; ++r) {
        const float* xr = x + r * depth_;
        float sum = 0.0f;
        for (int i = 0; i < depth_; ++i) sum += xr[i] * xr[i];
        const float norm = std::max(std::sqrt(sum), kFloor);
        norms_[r] = norm;
        for (int i = 0; i < depth_; ++i) y[r * depth_ + i] = xr[i] / norm;
      }
    });
  }

  void Backward(KernelContext* ctx) override {
    float* dx = InGrad(ctx, 0);
    if (dx == nullptr) return;
    const float* y = ctx->v(out[0]).d();
    const float* dy = ctx->v(out[0]).g();
    const bool over = Over(0);
    ParallelChunks(ctx, rows_, [&](int64_t b, int64_t e, int) {
      for (int64_t r = b; r < e; ++r) {
        const float* yr = y + r * depth_;
        const float* gr = dy + r * depth_;
        float* dr = dx + r * depth_;
        // At the floor the norm is a constant: y = x / 1e-6 is linear.
        float dot = 0.0f;
        if (norms_[r] > kFloor) {
          for (int i = 0; i < depth_; ++i) dot += yr[i] * gr[i];
        }
        const float inv = 1.0f / norms_[r];
        for (int i = 0; i < depth_; ++i) {
          const float v = (gr[i] - yr[i] * dot) * inv;
          dr[i] = over ? v : dr[i] + v;
        }
      }
    });
  }

 private:
  static constexpr float kFloor = 1e-6f;
  int depth_ = 1;
  int64_t rows_ = 0;
  std::vector<float> norms_;
};

}  // namespace

std::unique_ptr<OpKernel> NewBatchNorm() { return std::make_unique<BatchNorm>(); }
std::unique_ptr<OpKernel> NewL2Normalization() { return std::make_unique<L2Normalization>(); }
std::unique_ptr<OpKernel> NewDropout() { return std::make_unique<Dropout>(); }

}  // namespace train
}  // namespace edgeopt
