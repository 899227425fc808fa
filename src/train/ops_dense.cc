// FULLY_CONNECTED, CONV_2D (im2col + packed GEMM, NHWC, OHWI weights) and DEPTHWISE_CONV_2D
// (direct loops, [1,KH,KW,C*M] weights).
#include <algorithm>
#include <cstring>

#include "src/train/ops.h"

namespace edgeopt {
namespace train {
namespace {

// Column sums of g[rows, cols] into dst (overwrite or add), deterministic per thread count.
void ColumnSums(KernelContext* ctx, const float* g, int64_t rows, int cols, float* dst,
                bool overwrite, std::vector<float>* partial) {
  const int max_tasks = ctx->threads();
  partial->assign(static_cast<size_t>(max_tasks) * cols, 0.0f);
  const int tasks = ParallelChunks(ctx, rows, [&](int64_t b, int64_t e, int task) {
    float* acc = partial->data() + static_cast<size_t>(task) * cols;
    for (int64_t r = b; r < e; ++r) {
      const float* row = g + r * cols;
      for (int c = 0; c < cols; ++c) acc[c] += row[c];
    }
  });
  for (int c = 0; c < cols; ++c) {
    float s = 0.0f;
    for (int t = 0; t < tasks; ++t) s += (*partial)[static_cast<size_t>(t) * cols + c];
    dst[c] = overwrite ? s : dst[c] + s;
  }
}

class FullyConnected : public OpKernel {
 public:
  Status Prepare(KernelContext* ctx) override {
    EDGEOPT_ENSURE(in.size() >= 2 && in[0] >= 0 && in[1] >= 0, StatusCode::kInvalidModel,
                   "%s: needs input and weights", Where().c_str());
    EDGEOPT_ASSIGN_OR_RETURN(act_, ParseFusedAct(*node));
    const Value& x = ctx->v(in[0]);
    const Value& w = ctx->v(in[1]);
    EDGEOPT_ENSURE(w.rank() == 2, StatusCode::kInvalidModel, "%s: weights %s are not [out,in]",
                   Where().c_str(), ShapeString(w.shape).c_str());
    units_ = w.shape[0];
    depth_ = w.shape[1];
    EDGEOPT_ENSURE(x.rank() >= 1 && x.size % depth_ == 0, StatusCode::kInvalidModel,
                   "%s: input %s does not match weights %s", Where().c_str(),
                   ShapeString(x.shape).c_str(), ShapeString(w.shape).c_str());
    has_bias_ = in.size() > 2 && in[2] >= 0;
    if (has_bias_) {
      EDGEOPT_ENSURE(ctx->v(in[2]).size == units_, StatusCode::kInvalidModel,
                     "%s: bias has %lld values for %d units", Where().c_str(),
                     static_cast<long long>(ctx->v(in[2]).size), units_);
    }
    rows_ = static_cast<int>(x.size / depth_);
    std::vector<int> shape;
    if (ir::GetBool(node->attrs, "keep_num_dims", false) || x.rank() == 2) {
      shape = x.shape;
      shape.back() = units_;
      if (x.shape.back() != depth_) shape = {rows_, units_};
    } else {
      shape = {rows_, units_};
    }
    SetShape(&ctx->v(out[0]), shape);
    return Status::Ok();
  }

  void Forward(KernelContext* ctx) override {
    const Value& x = ctx->v(in[0]);
    const Value& w = ctx->v(in[1]);
    Value& y = ctx->v(out[0]);
    GemmEpilogue ep;
    ep.bias = has_bias_ ? ctx->v(in[2]).d() : nullptr;
    ep.relu = act_ == FusedAct::kRelu;
    ctx->gemm->Run(false, true, rows_, units_, depth_, x.d(), depth_, w.d(), depth_, y.d(),
                   units_, false, ep, ctx->pool);
    if (act_ != FusedAct::kRelu) ApplyFusedAct(act_, y.d(), y.size);
  }

  void Backward(KernelContext* ctx) override {
    Value& y = ctx->v(out[0]);
    float* dy = y.g();
    FusedActBackward(act_, y.d(), dy, y.size);
    if (float* dw = InGrad(ctx, 1)) {
      ctx->gemm->Run(true, false, units_, depth_, rows_, dy, units_, ctx->v(in[0]).d(), depth_,
                     dw, depth_, !Over(1), {}, ctx->pool);
    }
    if (float* db = has_bias_ ? InGrad(ctx, 2) : nullptr) {
      ColumnSums(ctx, dy, rows_, units_, db, Over(2), &partial_);
    }
    if (float* dx = InGrad(ctx, 0)) {
      ctx->gemm->Run(false, false, rows_, depth_, units_, dy, units_, ctx->v(in[1]).d(), depth_,
                     dx, depth_, !Over(0), {}, ctx->pool);
    }
  }

 private:
  FusedAct act_ = FusedAct::kNone;
  int units_ = 0, depth_ = 0, rows_ = 0;
  bool has_bias_ = false;
  std::vector<float> partial_;
};

class Conv2D : public OpKernel {
 public:
  Status Prepare(KernelContext* ctx) override {
    EDGEOPT_ENSURE(in.size() >= 2 && in[0] >= 0 && in[1] >= 0, StatusCode::kInvalidModel,
                   "%s: needs input and filter", Where().c_str());
    EDGEOPT_ASSIGN_OR_RETURN(act_, ParseFusedAct(*node));
    const Value& x = ctx->v(in[0]);
    const Value& w = ctx->v(in[1]);
    EDGEOPT_ENSURE(x.rank() == 4 && w.rank() == 4, StatusCode::kInvalidModel,
                   "%s: input %s / filter %s are not NHWC / OHWI", Where().c_str(),
                   ShapeString(x.shape).c_str(), ShapeString(w.shape).c_str());
    EDGEOPT_ENSURE(w.shape[3] == x.shape[3], StatusCode::kUnsupported,
                   "%s: filter %s has %d input channels, input %s has %d (grouped convolution "
                   "is not supported)",
                   Where().c_str(), ShapeString(w.shape).c_str(), w.shape[3],
                   ShapeString(x.shape).c_str(), x.shape[3]);
    n_ = x.shape[0];
    cin_ = x.shape[3];
    cout_ = w.shape[0];
    const std::string padding = ir::GetString(node->attrs, "padding", "VALID");
    EDGEOPT_RETURN_IF_ERROR(MakeWindow(padding, x.shape[1], w.shape[1],
                                       ir::GetInt(node->attrs, "stride_h", 1),
                                       ir::GetInt(node->attrs, "dilation_h_factor", 1), Where(),
                                       &wh_));
    EDGEOPT_RETURN_IF_ERROR(MakeWindow(padding, x.shape[2], w.shape[2],
                                       ir::GetInt(node->attrs, "stride_w", 1),
                                       ir::GetInt(node->attrs, "dilation_w_factor", 1), Where(),
                                       &ww_));
    has_bias_ = in.size() > 2 && in[2] >= 0;
    if (has_bias_) {
      EDGEOPT_ENSURE(ctx->v(in[2]).size == cout_, StatusCode::kInvalidModel,
                     "%s: bias has %lld values for %d filters", Where().c_str(),
                     static_cast<long long>(ctx->v(in[2]).size), cout_);
    }
    k_ = wh_.k * ww_.k * cin_;
    m_ = n_ * wh_.out * ww_.out;
    pointwise_ = wh_.k == 1 && ww_.k == 1 && wh_.stride == 1 && ww_.stride == 1 &&
                 wh_.pad_before == 0 && ww_.pad_before == 0;
    if (!pointwise_ && col_.size() < static_cast<size_t>(m_) * k_) {
      col_.resize(static_cast<size_t>(m_) * k_);
    }
    SetShape(&ctx->v(out[0]), {n_, wh_.out, ww_.out, cout_});
    return Status::Ok();
  }

  void Forward(KernelContext* ctx) override {
    const Value& x = ctx->v(in[0]);
    const float* col = x.d();
    if (!pointwise_) {
      ParallelChunks(ctx, n_, [&](int64_t b, int64_t e, int) {
        for (int64_t n = b; n < e; ++n) Im2Col(x.d(), static_cast<int>(n));
      });
      col = col_.data();
    }
    Value& y = ctx->v(out[0]);
    GemmEpilogue ep;
    ep.bias = has_bias_ ? ctx->v(in[2]).d() : nullptr;
    ep.relu = act_ == FusedAct::kRelu;
    ctx->gemm->Run(false, true, m_, cout_, k_, col, k_, ctx->v(in[1]).d(), k_, y.d(), cout_,
                   false, ep, ctx->pool);
    if (act_ != FusedAct::kRelu) ApplyFusedAct(act_, y.d(), y.size);
  }

  void Backward(KernelContext* ctx) override {
    Value& y = ctx->v(out[0]);
    float* dy = y.g();
    FusedActBackward(act_, y.d(), dy, y.size);
    const float* col = pointwise_ ? ctx->v(in[0]).d() : col_.data();
    if (float* dw = InGrad(ctx, 1)) {
      ctx->gemm->Run(true, false, cout_, k_, m_, dy, cout_, col, k_, dw, k_, !Over(1), {},
                     ctx->pool);
    }
    if (float* db = has_bias_ ? InGrad(ctx, 2) : nullptr) {
      ColumnSums(ctx, dy, m_, cout_, db, Over(2), &partial_);
    }
    if (float* dx = InGrad(ctx, 0)) {
      if (pointwise_) {
        ctx->gemm->Run(false, false, m_, k_, cout_, dy, cout_, ctx->v(in[1]).d(), k_, dx, k_,
                       !Over(0), {}, ctx->pool);
        return;
      }
      if (dcol_.size() < static_cast<size_t>(m_) * k_) dcol_.resize(static_cast<size_t>(m_) * k_);
      ctx->gemm->Run(false, false, m_, k_, cout_, dy, cout_, ctx->v(in[1]).d(), k_,
                     dcol_.data(), k_, false, {}, ctx->pool);
      const bool over = Over(0);
      const int64_t per_image = static_cast<int64_t>(wh_.in) * ww_.in * cin_;
      ParallelChunks(ctx, n_, [&](int64_t b, int64_t e, int) {
        for (int64_t n = b; n < e; ++n) {
          if (over) std::memset(dx + n * per_image, 0, sizeof(float) * per_image);
          Col2Im(dx, static_cast<int>(n));
        }
      });
    }
  }

 private:
  void Im2Col(const float* x, int n) {
    const int oh_n = wh_.out, ow_n = ww_.out;
    float* dst = col_.data() + static_cast<size_t>(n) * oh_n * ow_n * k_;
    const float* img = x + static_cast<size_t>(n) * wh_.in * ww_.in * cin_;
    for (int oh = 0; oh < oh_n; ++oh) {
      for (int ow = 0; ow < ow_n; ++ow) {
        for (int kh = 0; kh < wh_.k; ++kh) {
          const int ih = oh * wh_.stride - wh_.pad_before + kh * wh_.dilation;
          if (ih < 0 || ih >= wh_.in) {
            std::memset(dst, 0, sizeof(float) * ww_.k * cin_);
            dst += ww_.k * cin_;
            continue;
          }
          const float* row = img + static_cast<size_t>(ih) * ww_.in * cin_;
          for (int kw = 0; kw < ww_.k; ++kw) {
            const int iw = ow * ww_.stride - ww_.pad_before + kw * ww_.dilation;
            if (iw < 0 || iw >= ww_.in) {
              std::memset(dst, 0, sizeof(float) * cin_);
            } else if (cin_ == 1) {
              *dst = row[iw];
            } else {
              std::memcpy(dst, row + static_cast<size_t>(iw) * cin_, sizeof(float) * cin_);
            }
            dst += cin_;
          }
        }
      }
    }
  }

  void Col2Im(float* dx, int n) const {
    const int oh_n = wh_.out, ow_n = ww_.out;
    const float* src = dcol_.data() + static_cast<size_t>(n) * oh_n * ow_n * k_;
    float* img = dx + static_cast<size_t>(n) * wh_.in * ww_.in * cin_;
    for (int oh = 0; oh < oh_n; ++oh) {
      for (int ow = 0; ow < ow_n; ++ow) {
        for (int kh = 0; kh < wh_.k; ++kh) {
          const int ih = oh * wh_.stride - wh_.pad_before + kh * wh_.dilation;
          if (ih < 0 || ih >= wh_.in) {
            src += ww_.k * cin_;
            continue;
          }
          float* row = img + static_cast<size_t>(ih) * ww_.in * cin_;
          for (int kw = 0; kw < ww_.k; ++kw) {
            const int iw = ow * ww_.stride - ww_.pad_before + kw * ww_.dilation;
            if (iw >= 0 && iw < ww_.in) {
              float* d = row + static_cast<size_t>(iw) * cin_;
              for (int c = 0; c < cin_; ++c) d[c] += src[c];
            }
            src += cin_;
          }
        }
      }
    }
  }

  FusedAct act_ = FusedAct::kNone;
  Window wh_, ww_;
  int n_ = 0, cin_ = 0, cout_ = 0, k_ = 0, m_ = 0;
  bool has_bias_ = false;
  bool pointwise_ = false;
  std::vector<float> col_, dcol_, partial_;
};

class DepthwiseConv2D : public OpKernel {
 public:
  Status Prepare(KernelContext* ctx) override {
    EDGEOPT_ENSURE(in.size() >= 2 && in[0] >= 0 && in[1] >= 0, StatusCode::kInvalidModel,
                   "%s: needs input and filter", Where().c_str());
    EDGEOPT_ASSIGN_OR_RETURN(act_, ParseFusedAct(*node));
    const Value& x = ctx->v(in[0]);
    const Value& w = ctx->v(in[1]);
    EDGEOPT_ENSURE(x.rank() == 4 && w.rank() == 4 && w.shape[0] == 1, StatusCode::kInvalidModel,
                   "%s: input %s / filter %s are not NHWC / [1,H,W,C*M]", Where().c_str(),
                   ShapeString(x.shape).c_str(), ShapeString(w.shape).c_str());
    n_ = x.shape[0];
    c_ = x.shape[3];
    oc_ = w.shape[3];
    EDGEOPT_ENSURE(c_ > 0 && oc_ % c_ == 0, StatusCode::kInvalidModel,
                   "%s: filter has %d channels, not a multiple of the input's %d",
                   Where().c_str(), oc_, c_);
    mult_ = oc_ / c_;
    const std::string padding = ir::GetString(node->attrs, "padding", "VALID");
    EDGEOPT_RETURN_IF_ERROR(MakeWindow(padding, x.shape[1], w.shape[1],
                                       ir::GetInt(node->attrs, "stride_h", 1),
                                       ir::GetInt(node->attrs, "dilation_h_factor", 1), Where(),
                                       &wh_));
    EDGEOPT_RETURN_IF_ERROR(MakeWindow(padding, x.shape[2], w.shape[2],
                                       ir::GetInt(node->attrs, "stride_w", 1),
                                       ir::GetInt(node->attrs, "dilation_w_factor", 1), Where(),
                                       &ww_));
    has_bias_ = in.size() > 2 && in[2] >= 0;
    if (has_bias_) {
      EDGEOPT_ENSURE(ctx->v(in[2]).size == oc_, StatusCode::kInvalidModel,
                     "%s: bias has %lld values for %d channels", Where().c_str(),
                     static_cast<long long>(ctx->v(in[2]).size), oc_);
    }
    SetShape(&ctx->v(out[0]), {n_, wh_.out, ww_.out, oc_});
    return Status::Ok();
  }

  void Forward(KernelContext* ctx) override {
    const float* x = ctx->v(in[0]).d();
    const float* w = ctx->v(in[1]).d();
    const float* bias = has_bias_ ? ctx->v(in[2]).d() : nullptr;
    Value& yv = ctx->v(out[0]);
    float* y = yv.d();
    ParallelChunks(ctx, n_, [&](int64_t b, int64_t e, int) {
      for (int64_t n = b; n < e; ++n) {
        const float* img = x + n * wh_.in * ww_.in * c_;
        for (int oh = 0; oh < wh_.out; ++oh) {
          for (int ow = 0; ow < ww_.out; ++ow) {
            float* o = y + ((n * wh_.out + oh) * ww_.out + ow) * oc_;
            for (int k = 0; k < oc_; ++k) o[k] = bias != nullptr ? bias[k] : 0.0f;
            for (int kh = 0; kh < wh_.k; ++kh) {
              const int ih = oh * wh_.stride - wh_.pad_before + kh * wh_.dilation;
              if (ih < 0 || ih >= wh_.in) continue;
              for (int kw = 0; kw < ww_.k; ++kw) {
                const int iw = ow * ww_.stride - ww_.pad_before + kw * ww_.dilation;
                if (iw < 0 || iw >= ww_.in) continue;
                const float* px = img + (ih * ww_.in + iw) * c_;
                const float* pw = w + (kh * ww_.k + kw) * oc_;
                if (mult_ == 1) {
                  for (int c = 0; c < c_; ++c) o[c] += px[c] * pw[c];
                } else {
                  for (int c = 0; c < c_; ++c) {
                    for (int m = 0; m < mult_; ++m) o[c * mult_ + m] += px[c] * pw[c * mult_ + m];
                  }
                }
              }
            }
          }
        }
      }
    });
    ApplyFusedAct(act_, y, yv.size);
  }

  void Backward(KernelContext* ctx) override {
    Value& yv = ctx->v(out[0]);
    float* dy = yv.g();
    FusedActBackward(act_, yv.d(), dy, yv.size);
    const float* x = ctx->v(in[0]).d();
    const float* w = ctx->v(in[1]).d();
    float* dx = InGrad(ctx, 0);
    float* dw = InGrad(ctx, 1);
    float* db = has_bias_ ? InGrad(ctx, 2) : nullptr;
    const int64_t wsize = ctx->v(in[1]).size;
    partial_.assign(static_cast<size_t>(ctx->threads()) * (wsize + oc_), 0.0f);
    const bool over_x = Over(0);
    const int tasks = ParallelChunks(ctx, n_, [&](int64_t b, int64_t e, int task) {
      float* pw_acc = partial_.data() + static_cast<size_t>(task) * (wsize + oc_);
      float* pb_acc = pw_acc + wsize;
      for (int64_t n = b; n < e; ++n) {
        const float* img = x + n * wh_.in * ww_.in * c_;
        float* dimg = dx != nullptr ? dx + n * wh_.in * ww_.in * c_ : nullptr;
        if (dimg != nullptr && over_x) {
          std::memset(dimg, 0, sizeof(float) * wh_.in * ww_.in * c_);
        }
        for (int oh = 0; oh < wh_.out; ++oh) {
          for (int ow = 0; ow < ww_.out; ++ow) {
            const float* g = dy + ((n * wh_.out + oh) * ww_.out + ow) * oc_;
            for (int k = 0; k < oc_; ++k) pb_acc[k] += g[k];
            for (int kh = 0; kh < wh_.k; ++kh) {
              const int ih = oh * wh_.stride - wh_.pad_before + kh * wh_.dilation;
              if (ih < 0 || ih >= wh_.in) continue;
              for (int kw = 0; kw < ww_.k; ++kw) {
                const int iw = ow * ww_.stride - ww_.pad_before + kw * ww_.dilation;
                if (iw < 0 || iw >= ww_.in) continue;
                const float* px = img + (ih * ww_.in + iw) * c_;
                const float* pw = w + (kh * ww_.k + kw) * oc_;
                float* pgw = pw_acc + (kh * ww_.k + kw) * oc_;
                float* pdx = dimg != nullptr ? dimg + (ih * ww_.in + iw) * c_ : nullptr;
                for (int c = 0; c < c_; ++c) {
                  float sx = 0.0f;
                  for (int m = 0; m < mult_; ++m) {
                    const int k = c * mult_ + m;
                    pgw[k] += g[k] * px[c];
                    sx += g[k] * pw[k];
                  }
                  if (pdx != nullptr) pdx[c] += sx;
                }
              }
            }
          }
        }
      }
    });
    auto reduce = [&](float* dst, int64_t offset, int64_t count, bool over) {
      for (int64_t i = 0; i < count; ++i) {
        float s = 0.0f;
        for (int t = 0; t < tasks; ++t) s += partial_[static_cast<size_t>(t) * (wsize + oc_) + offset + i];
        dst[i] = over ? s : dst[i] + s;
      }
    };
    if (dw != nullptr) reduce(dw, 0, wsize, Over(1));
    if (db != nullptr) reduce(db, wsize, oc_, Over(2));
  }

 private:
  FusedAct act_ = FusedAct::kNone;
  Window wh_, ww_;
  int n_ = 0, c_ = 0, oc_ = 0, mult_ = 1;
  bool has_bias_ = false;
  std::vector<float> partial_;
};

}  // namespace

std::unique_ptr<OpKernel> NewFullyConnected() { return std::make_unique<FullyConnected>(); }
std::unique_ptr<OpKernel> NewConv2D() { return std::make_unique<Conv2D>(); }
std::unique_ptr<OpKernel> NewDepthwiseConv2D() { return std::make_unique<DepthwiseConv2D>(); }

}  // namespace train
}  // namespace edgeopt
