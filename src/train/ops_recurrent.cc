// UNIDIRECTIONAL_SEQUENCE_LSTM (Keras LSTM, batch-major, no peepholes, projection or layer norm):
// forward over the time steps from a zero state (Keras' stateless LSTM), keeping every step's
// gate activations and cell state; backward through time.
//
//   z_g = x_t W_g^T + h_{t-1} R_g^T + b_g        g in {i, f, c, o} (inputs 1-4, 5-8, 12-15)
//   i, f, o = sigmoid(z_i, z_f, z_o), g = act(z_c), c_t = f c_{t-1} + i g, h_t = o act(c_t)
//
// With cell_clip > 0 (the official converter writes 10 for a Keras LSTM) c_t is clipped to
// [-clip, clip] as TFLite's kernel does; no gradient goes through a clipped value.
//
// `act` is the fused activation (TANH, RELU or RELU6), as in TFLite's kernel. The input
// projections of all steps are one GEMM per gate; each step adds h_{t-1} R_g^T with one GEMM per
// gate over the batch. The variable state inputs (18, 19) are not read.
#include <algorithm>
#include <cmath>
#include <cstring>

#include "src/train/ops.h"

namespace edgeopt {
namespace train {
namespace {

constexpr int kGates = 4;
constexpr int kInputWeights = 1, kRecurrentWeights = 5, kBiases = 12;

float Sigmoid(float x) { return 1.0f / (1.0f + std::exp(-x)); }

class Lstm : public OpKernel {
 public:
  Status Prepare(KernelContext* ctx) override {
    EDGEOPT_ENSURE(in.size() >= 20 && in[0] >= 0, StatusCode::kInvalidModel,
                   "%s: needs the 24 LSTM inputs", Where().c_str());
    for (int k : {9, 10, 11, 16, 17, 20, 21, 22, 23}) {
      EDGEOPT_ENSURE(k >= static_cast<int>(in.size()) || in[k] < 0, StatusCode::kUnsupported,
                     "%s: peepholes, projections and layer normalization cannot be trained",
                     Where().c_str());
    }
    const double clip = ir::GetFloat(node->attrs, "cell_clip", 0.0);
    EDGEOPT_ENSURE(std::isfinite(clip) && clip >= 0.0, StatusCode::kInvalidModel,
                   "%s: cell_clip %g is not a finite value >= 0", Where().c_str(), clip);
    clip_ = static_cast<float>(clip);
    EDGEOPT_ENSURE(!ir::GetBool(node->attrs, "time_major", false), StatusCode::kUnsupported,
                   "%s: time-major LSTMs cannot be trained", Where().c_str());
    EDGEOPT_ASSIGN_OR_RETURN(act_, ParseFusedAct(*node));
    EDGEOPT_ENSURE(act_ == FusedAct::kTanh || act_ == FusedAct::kRelu || act_ == FusedAct::kRelu6,
                   StatusCode::kUnsupported, "%s: the cell activation must be tanh, relu or relu6",
                   Where().c_str());
    const Value& x = ctx->v(in[0]);
    EDGEOPT_ENSURE(x.rank() == 3, StatusCode::kInvalidModel,
                   "%s: input %s is not [batch, time, "
                   "features]",
                   Where().c_str(), ShapeString(x.shape).c_str());
    batch_ = x.shape[0];
    steps_ = x.shape[1];
    features_ = x.shape[2];
    for (int g = 0; g < kGates; ++g) {
      const int w = in[kInputWeights + g], r = in[kRecurrentWeights + g], b = in[kBiases + g];
      EDGEOPT_ENSURE(w >= 0 && r >= 0 && b >= 0, StatusCode::kInvalidModel,
                     "%s: gate %d has no weights or bias", Where().c_str(), g);
      if (g == 0) units_ = ctx->v(w).shape.empty() ? 0 : ctx->v(w).shape[0];
      EDGEOPT_ENSURE(ctx->v(w).shape == std::vector<int>({units_, features_}) &&
                         ctx->v(r).shape == std::vector<int>({units_, units_}) &&
                         ctx->v(b).size == units_ && units_ > 0,
                     StatusCode::kInvalidModel, "%s: gate %d's weights do not match %d units",
                     Where().c_str(), g, units_);
    }
    const size_t rows = static_cast<size_t>(batch_) * steps_ * units_;
    for (std::vector<float>& a : gate_) a.resize(rows);
    cell_.resize(rows);
    dh_.resize(static_cast<size_t>(batch_) * units_);
    dc_.resize(dh_.size());
    SetShape(&ctx->v(out[0]), {batch_, steps_, units_});
    return Status::Ok();
  }

  void Forward(KernelContext* ctx) override {
    const float* x = ctx->v(in[0]).d();
    float* h = ctx->v(out[0]).d();
    const int U = units_, T = steps_;
    const int row = T * U;              // one batch item's [T, U] block
    for (int g = 0; g < kGates; ++g) {  // z_g = x W_g^T for every step
      ctx->gemm->Run(false, true, batch_ * T, U, features_, x, features_,
                     ctx->v(in[kInputWeights + g]).d(), features_, gate_[g].data(), U, false, {},
                     ctx->pool);
    }
    for (int t = 0; t < T; ++t) {
      if (t > 0) {  // + h_{t-1} R_g^T (the state is zero before the first step)
        for (int g = 0; g < kGates; ++g) {
          ctx->gemm->Run(false, true, batch_, U, U, h + (t - 1) * U, row,
                         ctx->v(in[kRecurrentWeights + g]).d(), U, gate_[g].data() + t * U, row,
                         true, {}, ctx->pool);
        }
      }
      for (int b = 0; b < batch_; ++b) {
        const int64_t o = static_cast<int64_t>(b) * row + t * U;
        float* zi = gate_[0].data() + o;
        float* zf = gate_[1].data() + o;
        float* zc = gate_[2].data() + o;
        float* zo = gate_[3].data() + o;
        float* c = cell_.data() + o;
        float* ht = h + o;
        const float* bi = ctx->v(in[kBiases + 0]).d();
        const float* bf = ctx->v(in[kBiases + 1]).d();
        const float* bc = ctx->v(in[kBiases + 2]).d();
        const float* bo = ctx->v(in[kBiases + 3]).d();
        for (int u = 0; u < U; ++u) {
          zi[u] = Sigmoid(zi[u] + bi[u]);
          zf[u] = Sigmoid(zf[u] + bf[u]);
          zc[u] = Act(zc[u] + bc[u]);
          zo[u] = Sigmoid(zo[u] + bo[u]);
          c[u] = Clip(zi[u] * zc[u] + (t > 0 ? zf[u] * c[u - U] : 0.0f));
          ht[u] = zo[u] * Act(c[u]);
        }
      }
    }
  }

  void Backward(KernelContext* ctx) override {
    const int U = units_, T = steps_;
    const int row = T * U;
    const float* h = ctx->v(out[0]).d();
    const float* dy = ctx->v(out[0]).g();
    std::fill(dh_.begin(), dh_.end(), 0.0f);  // gradient reaching h_t from step t + 1
    std::fill(dc_.begin(), dc_.end(), 0.0f);  // and reaching c_t
    for (int t = T - 1; t >= 0; --t) {
      for (int b = 0; b < batch_; ++b) {
        const int64_t o = static_cast<int64_t>(b) * row + t * U;
        float* gi = gate_[0].data() + o;  // activations in, pre-activation gradients out
        float* gf = gate_[1].data() + o;
        float* gc = gate_[2].data() + o;
        float* go = gate_[3].data() + o;
        const float* c = cell_.data() + o;
        float* dh = dh_.data() + static_cast<int64_t>(b) * U;
        float* dc = dc_.data() + static_cast<int64_t>(b) * U;
        for (int u = 0; u < U; ++u) {
          const float grad_h = dy[o + u] + dh[u];
          const float ac = Act(c[u]);
          const float prev_c = t > 0 ? c[u - U] : 0.0f;
          const float i = gi[u], f = gf[u], g = gc[u], ov = go[u];
          // The cell before clipping, as the forward pass computed it: none of the gradient
          // reaches the gates or the previous cell through a clipped value.
          const float raw = i * g + (t > 0 ? f * prev_c : 0.0f);
          const bool clipped = clip_ > 0.0f && (raw > clip_ || raw < -clip_);
          const float grad_c = clipped ? 0.0f : grad_h * go[u] * ActDerivative(ac) + dc[u];
          gi[u] = grad_c * g * i * (1.0f - i);
          gf[u] = grad_c * prev_c * f * (1.0f - f);
          gc[u] = grad_c * i * ActDerivative(g);
          go[u] = grad_h * ac * ov * (1.0f - ov);
          dc[u] = grad_c * f;
        }
      }
      // dh_{t-1} = sum_g dz_g R_g.
      if (t > 0) {
        for (int g = 0; g < kGates; ++g) {
          ctx->gemm->Run(false, false, batch_, U, U, gate_[g].data() + t * U, row,
                         ctx->v(in[kRecurrentWeights + g]).d(), U, dh_.data(), U, g > 0, {},
                         ctx->pool);
        }
      }
    }
    // Weights, recurrent weights and biases from the pre-activation gradients of every step.
    const float* x = ctx->v(in[0]).d();
    for (int g = 0; g < kGates; ++g) {
      const float* dz = gate_[g].data();
      if (float* dw = InGrad(ctx, kInputWeights + g)) {
        ctx->gemm->Run(true, false, U, features_, batch_ * T, dz, U, x, features_, dw, features_,
                       !Over(kInputWeights + g), {}, ctx->pool);
      }
      if (float* dr = InGrad(ctx, kRecurrentWeights + g)) {
        bool accumulate = !Over(kRecurrentWeights + g);
        if (!accumulate) std::fill(dr, dr + static_cast<int64_t>(U) * U, 0.0f);
        for (int b = 0; b < batch_ && T > 1; ++b) {  // dz at steps 1.. with h at steps 0..
          ctx->gemm->Run(true, false, U, U, T - 1, dz + static_cast<int64_t>(b) * row + U, U,
                         h + static_cast<int64_t>(b) * row, U, dr, U, true, {}, ctx->pool);
        }
      }
      if (float* db = InGrad(ctx, kBiases + g)) {
        for (int u = 0; u < U; ++u) {
          float s = 0.0f;
          for (int64_t r = 0; r < static_cast<int64_t>(batch_) * T; ++r) s += dz[r * U + u];
          db[u] = Over(kBiases + g) ? s : db[u] + s;
        }
      }
    }
    if (float* dx = InGrad(ctx, 0)) {
      for (int g = 0; g < kGates; ++g) {
        ctx->gemm->Run(false, false, batch_ * T, features_, U, gate_[g].data(), U,
                       ctx->v(in[kInputWeights + g]).d(), features_, dx, features_,
                       g > 0 || !Over(0), {}, ctx->pool);
      }
    }
  }

 private:
  float Act(float v) const {
    switch (act_) {
      case FusedAct::kRelu:
        return std::max(v, 0.0f);
      case FusedAct::kRelu6:
        return std::min(std::max(v, 0.0f), 6.0f);
      default:
        return std::tanh(v);
    }
  }
  // act'(v) from y = act(v).
  float ActDerivative(float y) const {
    switch (act_) {
      case FusedAct::kRelu:
        return y > 0.0f ? 1.0f : 0.0f;
      case FusedAct::kRelu6:
        return y > 0.0f && y < 6.0f ? 1.0f : 0.0f;
      default:
        return 1.0f - y * y;
    }
  }

  float Clip(float c) const { return clip_ > 0.0f ? std::min(clip_, std::max(-clip_, c)) : c; }

  FusedAct act_ = FusedAct::kTanh;
  float clip_ = 0.0f;  // cell_clip (0: none)
  int batch_ = 0, steps_ = 0, features_ = 0, units_ = 0;
  std::vector<float> gate_[kGates];  // per step: activations (forward), then their gradients
  std::vector<float> cell_;          // c_t of every step
  std::vector<float> dh_, dc_;       // [batch, units]
};

}  // namespace

std::unique_ptr<OpKernel> NewLstm() { return std::make_unique<Lstm>(); }

}  // namespace train
}  // namespace edgeopt
