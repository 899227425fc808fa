// FAKE_QUANT_WEIGHT and FAKE_QUANT_ACT: see fake_quant.h.
#include <algorithm>
#include <cstring>
#include <limits>

#include "src/passes/quantize/quantize.h"
#include "src/train/fake_quant.h"
#include "src/train/ops.h"

namespace edgeopt {
namespace train {

std::vector<float> InitialRangeState(bool initialized, float min, float max) {
  std::vector<float> s(kRangeStateSize, 0.0f);
  s[kRangeMin] = initialized ? min : 0.0f;
  s[kRangeMax] = initialized ? max : 0.0f;
  s[kRangeInitialized] = initialized ? 1.0f : 0.0f;
  s[kRangeStepTag] = -1.0f;
  return s;
}

void FakeQuantize(const float* x, int64_t n, float scale, int32_t zero_point, int32_t qmin,
                  int32_t qmax, float* y) {
  for (int64_t i = 0; i < n; ++i) {
    const int32_t q = quant::QuantizeValue(x[i], scale, zero_point, qmin, qmax);
    y[i] = static_cast<float>(q - zero_point) * scale;
  }
}

namespace {

constexpr int64_t kMinPerTask = 1 << 14;

class FakeQuantWeight : public OpKernel {
 public:
  Status Prepare(KernelContext* ctx) override {
    EDGEOPT_ENSURE(in.size() == 1 && in[0] >= 0 && out.size() == 1, StatusCode::kInvalidModel,
                   "%s: needs one weight input and one output", Where().c_str());
    EDGEOPT_ENSURE(ir::GetInt(node->attrs, "num_bits", 8) == 8, StatusCode::kUnsupported,
                   "%s: only 8-bit weights are supported", Where().c_str());
    const Value& w = ctx->v(in[0]);
    axis_ = static_cast<int>(ir::GetInt(node->attrs, "axis", -1));
    EDGEOPT_ENSURE(axis_ < w.rank(), StatusCode::kInvalidModel,
                   "%s: axis %d of weights with shape %s", Where().c_str(), axis_,
                   ShapeString(w.shape).c_str());
    shape_.assign(w.shape.begin(), w.shape.end());
    inner_ = 1;
    channels_ = 1;
    if (axis_ >= 0) {
      channels_ = w.shape[axis_];
      for (int d = axis_ + 1; d < w.rank(); ++d) inner_ *= w.shape[d];
    } else {
      inner_ = w.size;
    }
    SetShape(&ctx->v(out[0]), w.shape);
    return Status::Ok();
  }

  void Forward(KernelContext* ctx) override {
    const Value& w = ctx->v(in[0]);
    float* y = ctx->v(out[0]).d();
    quantize::QuantizeWeightsSymmetric(w.d(), shape_, axis_, &q_, &scales_);
    const int64_t n = w.size;
    for (int64_t i = 0; i < n; ++i) {
      const int64_t c = channels_ > 1 ? (i / inner_) % channels_ : 0;
      y[i] = static_cast<float>(q_[i]) * scales_[c];
    }
  }

  void Backward(KernelContext* ctx) override {
    float* dw = InGrad(ctx, 0);
    if (dw == nullptr) return;
    const Value& y = ctx->v(out[0]);
    const float* dy = y.grad.data();
    if (Over(0)) {
      std::memcpy(dw, dy, sizeof(float) * y.size);
    } else {
      for (int64_t i = 0; i < y.size; ++i) dw[i] += dy[i];
    }
  }

 private:
  int axis_ = -1;
  int64_t inner_ = 1, channels_ = 1;
  std::vector<int32_t> shape_;
  std::vector<int8_t> q_;
  std::vector<float> scales_;
};

class FakeQuantAct : public OpKernel {
 public:
  Status Prepare(KernelContext* ctx) override {
    EDGEOPT_ENSURE(!in.empty() && in[0] >= 0 && out.size() == 1, StatusCode::kInvalidModel,
                   "%s: needs an input and one output", Where().c_str());
    const int bits = static_cast<int>(ir::GetInt(node->attrs, "num_bits", 8));
    EDGEOPT_ENSURE(bits == 8, StatusCode::kUnsupported,
                   "%s: %d-bit activations; only 8-bit is supported", Where().c_str(), bits);
    qmin_ = ir::GetBool(node->attrs, "narrow_range", false) ? -127 : -128;
    qmax_ = 127;
    fixed_ = node->attrs.count("fixed_scale") > 0;
    if (fixed_) {
      fixed_scale_ = static_cast<float>(ir::GetFloat(node->attrs, "fixed_scale", 1.0));
      fixed_zero_point_ = static_cast<int32_t>(ir::GetInt(node->attrs, "fixed_zero_point", 0));
      EDGEOPT_ENSURE(fixed_scale_ > 0.0f, StatusCode::kInvalidModel, "%s: fixed scale %g",
                     Where().c_str(), fixed_scale_);
    } else {
      EDGEOPT_ENSURE(in.size() >= 2 && in[1] >= 0 && ctx->v(in[1]).size == kRangeStateSize &&
                         static_cast<int64_t>(ctx->v(in[1]).data.size()) >= kRangeStateSize,
                     StatusCode::kInvalidModel,
                     "%s: needs a range state input of %d floats (or fixed_scale)", Where().c_str(),
                     static_cast<int>(kRangeStateSize));
    }
    decay_ = static_cast<float>(ir::GetFloat(node->attrs, "ema_decay", kDefaultEmaDecay));
    EDGEOPT_ENSURE(decay_ >= 0.0f && decay_ < 1.0f, StatusCode::kInvalidModel,
                   "%s: ema_decay %g must be in [0, 1)", Where().c_str(), decay_);
    observe_ = ir::GetBool(node->attrs, "observe", true);
    SetShape(&ctx->v(out[0]), ctx->v(in[0]).shape);
    return Status::Ok();
  }

  void Forward(KernelContext* ctx) override {
    const Value& xv = ctx->v(in[0]);
    const float* x = xv.d();
    float* y = ctx->v(out[0]).d();
    const int64_t n = xv.size;
    float scale = fixed_scale_;
    int32_t zp = fixed_zero_point_;
    if (!fixed_) {
      float* s = ctx->v(in[1]).d();
      if (ctx->training && observe_) Observe(ctx->step, x, n, s);
      if (s[kRangeInitialized] == 0.0f) {
        identity_ = true;
        std::memcpy(y, x, sizeof(float) * n);
        return;
      }
      const quant::QuantParams p = RangeQuantParams(s, qmin_, qmax_);
      scale = p.scale;
      zp = p.zero_point;
    }
    identity_ = false;
    lo_ = static_cast<float>(qmin_ - zp) * scale;
    hi_ = static_cast<float>(qmax_ - zp) * scale;
    const int tasks = static_cast<int>(std::max<int64_t>(1, n / kMinPerTask));
    if (tasks == 1 || ctx->threads() <= 1) {
      FakeQuantize(x, n, scale, zp, qmin_, qmax_, y);
      return;
    }
    ParallelChunks(ctx, n, [&](int64_t b, int64_t e, int) {
      FakeQuantize(x + b, e - b, scale, zp, qmin_, qmax_, y + b);
    });
  }

  void Backward(KernelContext* ctx) override {
    float* dx = InGrad(ctx, 0);
    if (dx == nullptr) return;
    const Value& yv = ctx->v(out[0]);
    const float* dy = yv.grad.data();
    const float* x = ctx->v(in[0]).d();
    const int64_t n = yv.size;
    const bool over = Over(0);
    const float lo = identity_ ? -std::numeric_limits<float>::infinity() : lo_;
    const float hi = identity_ ? std::numeric_limits<float>::infinity() : hi_;
    for (int64_t i = 0; i < n; ++i) {
      const float g = (x[i] >= lo && x[i] <= hi) ? dy[i] : 0.0f;
      dx[i] = over ? g : dx[i] + g;
    }
  }

 private:
  // Moves the shared range toward this step's batch range (see fake_quant.h).
  void Observe(uint64_t step, const float* x, int64_t n, float* s) const {
    if (n <= 0) return;
    float bmin = x[0], bmax = x[0];
    for (int64_t i = 1; i < n; ++i) {
      bmin = std::min(bmin, x[i]);
      bmax = std::max(bmax, x[i]);
    }
    const float tag = static_cast<float>(step & 0xFFFFF);
    if (s[kRangeStepTag] != tag) {
      s[kRangeStepTag] = tag;
      s[kRangeStepMin] = bmin;
      s[kRangeStepMax] = bmax;
      s[kRangePrevMin] = s[kRangeMin];
      s[kRangePrevMax] = s[kRangeMax];
      s[kRangePrevInitialized] = s[kRangeInitialized];
      s[kRangeInitialized] = 1.0f;
    } else {
      s[kRangeStepMin] = std::min(s[kRangeStepMin], bmin);
      s[kRangeStepMax] = std::max(s[kRangeStepMax], bmax);
    }
    if (s[kRangePrevInitialized] == 0.0f) {
      s[kRangeMin] = s[kRangeStepMin];
      s[kRangeMax] = s[kRangeStepMax];
    } else {
      s[kRangeMin] = decay_ * s[kRangePrevMin] + (1.0f - decay_) * s[kRangeStepMin];
      s[kRangeMax] = decay_ * s[kRangePrevMax] + (1.0f - decay_) * s[kRangeStepMax];
    }
  }

  int32_t qmin_ = -128, qmax_ = 127;
  bool fixed_ = false;
  float fixed_scale_ = 1.0f;
  int32_t fixed_zero_point_ = 0;
  float decay_ = kDefaultEmaDecay;
  bool observe_ = true;
  bool identity_ = false;
  float lo_ = 0.0f, hi_ = 0.0f;
};

}  // namespace

std::unique_ptr<OpKernel> NewFakeQuantWeight() { return std::make_unique<FakeQuantWeight>(); }
std::unique_ptr<OpKernel> NewFakeQuantAct() { return std::make_unique<FakeQuantAct>(); }

}  // namespace train
}  // namespace edgeopt
