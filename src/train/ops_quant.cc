// FAKE_QUANT_WEIGHT and FAKE_QUANT_ACT: see fake_quant.h.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

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

// quant::QuantizeValue(x, scale, zero_point, qmin, qmax) for n values, dequantized, in float
// arithmetic that SSE2 runs four lanes at a time: with v = x / scale (the same division),
// std::round(v) (half away from zero) is t + (f >= 0.5) - (f <= -0.5) with t = trunc(v) and
// f = v - t, exact for |v| < 2^31; v is clamped to +-2^30 first, which the clamp of the
// result to [qmin - zero_point, qmax - zero_point] makes invisible. (q - zero_point) * scale is
// then clamp(round(v)) * scale. ops_quant_test.cc checks it against QuantizeValue value for
// value.
void FakeQuantize(const float* __restrict x, int64_t n, float scale, int32_t zero_point,
                  int32_t qmin, int32_t qmax, float* __restrict y) {
  constexpr float kLimit = 1073741824.0f;  // 2^30
  const float lo = static_cast<float>(qmin - zero_point);
  const float hi = static_cast<float>(qmax - zero_point);
  int64_t i = 0;
#if defined(__SSE2__)
  const __m128 vscale = _mm_set1_ps(scale);
  const __m128 vlimit = _mm_set1_ps(kLimit), vneg_limit = _mm_set1_ps(-kLimit);
  const __m128 vlo = _mm_set1_ps(lo), vhi = _mm_set1_ps(hi);
  const __m128 half = _mm_set1_ps(0.5f), neg_half = _mm_set1_ps(-0.5f), one = _mm_set1_ps(1.0f);
  for (; i + 4 <= n; i += 4) {
    __m128 v = _mm_div_ps(_mm_loadu_ps(x + i), vscale);
    v = _mm_max_ps(_mm_min_ps(v, vlimit), vneg_limit);
    const __m128 t = _mm_cvtepi32_ps(_mm_cvttps_epi32(v));
    const __m128 f = _mm_sub_ps(v, t);
    __m128 r = _mm_add_ps(t, _mm_and_ps(_mm_cmpge_ps(f, half), one));
    r = _mm_sub_ps(r, _mm_and_ps(_mm_cmple_ps(f, neg_half), one));
    r = _mm_max_ps(_mm_min_ps(r, vhi), vlo);
    _mm_storeu_ps(y + i, _mm_mul_ps(r, vscale));
  }
#endif
  for (; i < n; ++i) {
    float v = x[i] / scale;
    v = std::max(std::min(v, kLimit), -kLimit);
    const float t = static_cast<float>(static_cast<int32_t>(v));
    const float f = v - t;
    float r = t + (f >= 0.5f ? 1.0f : 0.0f) - (f <= -0.5f ? 1.0f : 0.0f);
    r = std::max(std::min(r, hi), lo);
    y[i] = r * scale;
  }
}

namespace {

constexpr int64_t kMinPerTask = 1 << 14;

// max |x| over n values.
float AbsMax(const float* x, int64_t n) {
  float m = 0.0f;
  int64_t i = 0;
#if defined(__SSE2__)
  const __m128 sign = _mm_set1_ps(-0.0f);
  __m128 vm = _mm_setzero_ps();
  for (; i + 4 <= n; i += 4) vm = _mm_max_ps(vm, _mm_andnot_ps(sign, _mm_loadu_ps(x + i)));
  float lanes[4];
  _mm_storeu_ps(lanes, vm);
  m = std::max(std::max(lanes[0], lanes[1]), std::max(lanes[2], lanes[3]));
#endif
  for (; i < n; ++i) m = std::max(m, std::fabs(x[i]));
  return m;
}

// g when keep, else 0 (a bit mask, which GCC vectorizes).
inline float KeepIf(bool keep, float g) {
  uint32_t bits;
  std::memcpy(&bits, &g, 4);
  bits &= -static_cast<uint32_t>(keep);
  float out;
  std::memcpy(&out, &bits, 4);
  return out;
}

// min and max of n >= 1 values.
void MinMax(const float* x, int64_t n, float* min, float* max) {
  float lo = x[0], hi = x[0];
  int64_t i = 0;
#if defined(__SSE2__)
  if (n >= 4) {
    __m128 vlo = _mm_loadu_ps(x), vhi = vlo;
    for (i = 4; i + 4 <= n; i += 4) {
      const __m128 v = _mm_loadu_ps(x + i);
      vlo = _mm_min_ps(vlo, v);
      vhi = _mm_max_ps(vhi, v);
    }
    float l[4], h[4];
    _mm_storeu_ps(l, vlo);
    _mm_storeu_ps(h, vhi);
    lo = std::min(std::min(l[0], l[1]), std::min(l[2], l[3]));
    hi = std::max(std::max(h[0], h[1]), std::max(h[2], h[3]));
  }
#endif
  for (; i < n; ++i) {
    lo = std::min(lo, x[i]);
    hi = std::max(hi, x[i]);
  }
  if (!std::isfinite(lo) || !std::isfinite(hi)) {
    // +inf is QAT's RSQRT of a variance fake-quantized to 0, which TFLite's int8 RSQRT maps to
    // the top of its range: the range comes from the finite values (the rare slow path).
    lo = std::numeric_limits<float>::infinity();
    hi = -lo;
    for (int64_t k = 0; k < n; ++k) {
      if (!std::isfinite(x[k])) continue;
      lo = std::min(lo, x[k]);
      hi = std::max(hi, x[k]);
    }
    if (lo > hi) lo = hi = 0.0f;
  }
  *min = lo;
  *max = hi;
}

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

  // The weights as quantize::QuantizeWeightsSymmetric quantizes them (scale = max |w| / 127
  // per channel, 1 for an all-zero channel; q = clamp(round(w / scale), -127, 127)),
  // dequantized: QuantizeValue(w, scale, 0, -127, 127) * scale, i.e. FakeQuantize per channel.
  // ops_quant_test.cc checks the result against QuantizeWeightsSymmetric.
  void Forward(KernelContext* ctx) override {
    const Value& w = ctx->v(in[0]);
    const int64_t n = w.size;
    // Inference passes (evaluation) see the same weights again and again.
    if (static_cast<int64_t>(last_.size()) == n &&
        std::memcmp(last_.data(), w.d(), sizeof(float) * n) == 0) {
      return;
    }
    last_.assign(w.d(), w.d() + n);
    const float* x = w.d();
    float* y = ctx->v(out[0]).d();
    const int64_t outer = n / (channels_ * inner_);
    abs_max_.assign(static_cast<size_t>(channels_), 0.0f);
    for (int64_t o = 0, i = 0; o < outer; ++o) {
      for (int64_t c = 0; c < channels_; ++c, i += inner_) {
        abs_max_[c] = std::max(abs_max_[c], AbsMax(x + i, inner_));
      }
    }
    scales_.resize(static_cast<size_t>(channels_));
    for (int64_t c = 0; c < channels_; ++c) {
      scales_[c] = abs_max_[c] > 0.0f ? abs_max_[c] / 127.0f : 1.0f;
    }
    for (int64_t o = 0, i = 0; o < outer; ++o) {
      for (int64_t c = 0; c < channels_; ++c, i += inner_) {
        FakeQuantize(x + i, inner_, scales_[c], 0, -127, 127, y + i);
      }
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
  std::vector<float> abs_max_, scales_;
  std::vector<float> last_;  // the weights y was computed from
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
    mask_depth_ = static_cast<float>(ir::GetFloat(node->attrs, "mask_depth", 0.0));
    EDGEOPT_ENSURE(mask_depth_ >= 0.0f && mask_depth_ < 1e4f, StatusCode::kInvalidModel,
                   "%s: mask_depth %g must be in [0, 1e4)", Where().c_str(), mask_depth_);
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
      const quant::QuantParams p =
          mask_depth_ > 0.0f
              ? quant::ChooseQuantParams(s[kRangeMin] - mask_depth_, s[kRangeMax], qmin_, qmax_)
              : RangeQuantParams(s, qmin_, qmax_);
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
    // Bit masks rather than "cond ? g : 0", which GCC does not vectorize.
    if (over) {
      for (int64_t i = 0; i < n; ++i) dx[i] = KeepIf((x[i] >= lo) & (x[i] <= hi), dy[i]);
    } else {
      for (int64_t i = 0; i < n; ++i) dx[i] += KeepIf((x[i] >= lo) & (x[i] <= hi), dy[i]);
    }
  }

 private:
  // Moves the shared range toward this step's batch range (see fake_quant.h).
  void Observe(uint64_t step, const float* x, int64_t n, float* s) const {
    if (n <= 0) return;
    float bmin = 0.0f, bmax = 0.0f;
    MinMax(x, n, &bmin, &bmax);
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
  float mask_depth_ = 0.0f;
  bool identity_ = false;
  float lo_ = 0.0f, hi_ = 0.0f;
};

}  // namespace

std::unique_ptr<OpKernel> NewFakeQuantWeight() { return std::make_unique<FakeQuantWeight>(); }
std::unique_ptr<OpKernel> NewFakeQuantAct() { return std::make_unique<FakeQuantAct>(); }

}  // namespace train
}  // namespace edgeopt
