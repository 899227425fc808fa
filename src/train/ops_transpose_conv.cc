// TRANSPOSE_CONV(output_shape, weights [Cout, KH, KW, Cin], input, bias) (Keras Conv2DTranspose):
// per image, the products of every input pixel with every filter tap are one GEMM
// (col [pixels, KH*KW*Cout] = x [pixels, Cin] . Wr^T, with the weights reordered to rows (kh, kw,
// oc)), scattered into the output ("col2im") as the runtime does. Backward gathers the output
// gradient back into that layout: dx = dcol . Wr, dWr = dcol^T . x. Images are split across
// threads in fixed groups whose weight-gradient partial sums are added in group order, so results
// do not depend on the thread count.
#include <algorithm>
#include <cstring>

#include "src/train/ops.h"

namespace edgeopt {
namespace train {
namespace {

class TransposeConv : public OpKernel {
 public:
  Status Prepare(KernelContext* ctx) override {
    EDGEOPT_ENSURE(in.size() >= 3 && in[0] >= 0 && in[1] >= 0 && in[2] >= 0,
                   StatusCode::kInvalidModel, "%s: needs (output_shape, weights, input)",
                   Where().c_str());
    EDGEOPT_ASSIGN_OR_RETURN(act_, ParseFusedAct(*node));
    const Value& x = ctx->v(in[2]);
    const Value& w = ctx->v(in[1]);
    EDGEOPT_ENSURE(x.rank() == 4 && w.rank() == 4 && w.shape[3] == x.shape[3],
                   StatusCode::kInvalidModel, "%s: input %s and weights %s are not NHWC / OHWI",
                   Where().c_str(), ShapeString(x.shape).c_str(), ShapeString(w.shape).c_str());
    std::vector<int64_t> shape;
    EDGEOPT_RETURN_IF_ERROR(ReadIntConstantForKernel(*ctx->graph, in[0], Where(), &shape));
    EDGEOPT_ENSURE(shape.size() == 4 && shape[1] > 0 && shape[2] > 0 && shape[3] == w.shape[0] &&
                       shape[1] <= (1 << 20) && shape[2] <= (1 << 20),
                   StatusCode::kInvalidModel, "%s: output_shape does not fit weights %s",
                   Where().c_str(), ShapeString(w.shape).c_str());
    n_ = x.shape[0];
    ih_ = x.shape[1];
    iw_ = x.shape[2];
    cin_ = x.shape[3];
    cout_ = w.shape[0];
    kh_ = w.shape[1];
    kw_ = w.shape[2];
    oh_ = static_cast<int>(shape[1]);
    ow_ = static_cast<int>(shape[2]);
    // TFLite's padding: that of a CONV_2D from the output size back to the input size.
    const std::string padding = ir::GetString(node->attrs, "padding", "VALID");
    Window wy, wx;
    EDGEOPT_RETURN_IF_ERROR(MakeWindow(padding, oh_, kh_,
                                       static_cast<int>(ir::GetInt(node->attrs, "stride_h", 1)), 1,
                                       Where(), &wy));
    EDGEOPT_RETURN_IF_ERROR(MakeWindow(padding, ow_, kw_,
                                       static_cast<int>(ir::GetInt(node->attrs, "stride_w", 1)), 1,
                                       Where(), &wx));
    EDGEOPT_ENSURE(wy.out == ih_ && wx.out == iw_, StatusCode::kInvalidModel,
                   "%s: a %dx%d output does not come from a %dx%d input with these strides",
                   Where().c_str(), oh_, ow_, ih_, iw_);
    sh_ = wy.stride;
    sw_ = wx.stride;
    pad_top_ = wy.pad_before;
    pad_left_ = wx.pad_before;
    has_bias_ = in.size() > 3 && in[3] >= 0;
    if (has_bias_) {
      EDGEOPT_ENSURE(ctx->v(in[3]).size == cout_, StatusCode::kInvalidModel,
                     "%s: bias has %lld values for %d filters", Where().c_str(),
                     static_cast<long long>(ctx->v(in[3]).size), cout_);
    }
    cols_ = static_cast<int64_t>(kh_) * kw_ * cout_;
    pixels_ = static_cast<int64_t>(ih_) * iw_;
    reordered_.resize(static_cast<size_t>(cols_) * cin_);
    const int threads = ctx->threads();
    ctx->gemm->ReserveThreads(threads);
    col_.resize(threads);
    for (std::vector<float>& c : col_) c.resize(static_cast<size_t>(pixels_ * cols_));
    partial_.resize(kReduceChunks);
    for (Partial& p : partial_) {
      p.dw.resize(reordered_.size());
      p.db.resize(cout_);
    }
    SetShape(&ctx->v(out[0]), {n_, oh_, ow_, cout_});
    return Status::Ok();
  }

  void Forward(KernelContext* ctx) override {
    Reorder(ctx->v(in[1]).d());
    const float* x = ctx->v(in[2]).d();
    const float* bias = has_bias_ ? ctx->v(in[3]).d() : nullptr;
    Value& yv = ctx->v(out[0]);
    float* y = yv.d();
    const int64_t out_size = static_cast<int64_t>(oh_) * ow_ * cout_;
    ParallelChunks(ctx, n_, [&](int64_t b, int64_t e, int task) {
      float* col = col_[task].data();
      for (int64_t n = b; n < e; ++n) {
        ctx->gemm->RunSerial(false, true, static_cast<int>(pixels_), static_cast<int>(cols_), cin_,
                             x + n * pixels_ * cin_, cin_, reordered_.data(), cin_, col,
                             static_cast<int>(cols_), false, {}, task);
        float* yo = y + n * out_size;
        std::fill(yo, yo + out_size, 0.0f);
        ForEachTap([&](int64_t p, int64_t c, int64_t o) {
          const float* src = col + p * cols_ + c;
          float* dst = yo + o;
          for (int ch = 0; ch < cout_; ++ch) dst[ch] += src[ch];
        });
        if (bias != nullptr) {
          for (int64_t i = 0; i < out_size; i += cout_) {
            for (int ch = 0; ch < cout_; ++ch) yo[i + ch] += bias[ch];
          }
        }
        ApplyFusedAct(act_, yo, out_size);
      }
    });
  }

  void Backward(KernelContext* ctx) override {
    const float* x = ctx->v(in[2]).d();
    Value& yv = ctx->v(out[0]);
    float* dy = yv.g();
    FusedActBackward(act_, yv.d(), dy, yv.size);
    float* dw = InGrad(ctx, 1);
    float* db = has_bias_ ? InGrad(ctx, 3) : nullptr;
    float* dx = InGrad(ctx, 2);
    const bool over_x = Over(2);
    const int64_t out_size = static_cast<int64_t>(oh_) * ow_ * cout_;
    const int groups = ReduceChunks(ctx, n_, [&](int64_t b, int64_t e, int group, int task) {
      Partial& part = partial_[group];
      if (dw != nullptr) std::fill(part.dw.begin(), part.dw.end(), 0.0f);
      if (db != nullptr) std::fill(part.db.begin(), part.db.end(), 0.0f);
      float* dcol = col_[task].data();
      for (int64_t n = b; n < e; ++n) {
        const float* g = dy + n * out_size;
        if (db != nullptr) {
          for (int64_t i = 0; i < out_size; i += cout_) {
            for (int ch = 0; ch < cout_; ++ch) part.db[ch] += g[i + ch];
          }
        }
        std::fill(dcol, dcol + pixels_ * cols_, 0.0f);
        ForEachTap([&](int64_t p, int64_t c, int64_t o) {
          std::memcpy(dcol + p * cols_ + c, g + o, sizeof(float) * cout_);
        });
        if (dw != nullptr) {
          ctx->gemm->RunSerial(true, false, static_cast<int>(cols_), cin_,
                               static_cast<int>(pixels_), dcol, static_cast<int>(cols_),
                               x + n * pixels_ * cin_, cin_, part.dw.data(), cin_, true, {}, task);
        }
        if (dx != nullptr) {
          ctx->gemm->RunSerial(false, false, static_cast<int>(pixels_), cin_,
                               static_cast<int>(cols_), dcol, static_cast<int>(cols_),
                               reordered_.data(), cin_, dx + n * pixels_ * cin_, cin_, !over_x, {},
                               task);
        }
      }
    });
    if (dw != nullptr) {
      const bool over = Over(1);
      const int taps = kh_ * kw_;
      for (int o = 0; o < cout_; ++o) {
        for (int t = 0; t < taps; ++t) {
          for (int ic = 0; ic < cin_; ++ic) {
            const size_t r = (static_cast<size_t>(t) * cout_ + o) * cin_ + ic;
            float sum = 0.0f;
            for (int gi = 0; gi < groups; ++gi) sum += partial_[gi].dw[r];
            float& d = dw[(static_cast<size_t>(o) * taps + t) * cin_ + ic];
            d = over ? sum : d + sum;
          }
        }
      }
    }
    if (db != nullptr) {
      const bool over = Over(3);
      for (int c = 0; c < cout_; ++c) {
        float sum = 0.0f;
        for (int gi = 0; gi < groups; ++gi) sum += partial_[gi].db[c];
        db[c] = over ? sum : db[c] + sum;
      }
    }
  }

 private:
  struct Partial {  // per reduction group
    std::vector<float> dw, db;
  };

  // Weights [oc][kh][kw][ic] -> rows (kh, kw, oc) of Cin values.
  void Reorder(const float* w) {
    const int taps = kh_ * kw_;
    for (int o = 0; o < cout_; ++o) {
      for (int t = 0; t < taps; ++t) {
        std::memcpy(reordered_.data() + (static_cast<size_t>(t) * cout_ + o) * cin_,
                    w + (static_cast<size_t>(o) * taps + t) * cin_, sizeof(float) * cin_);
      }
    }
  }

  // f(pixel, column of the tap's Cout values in col, offset of the output pixel's Cout values)
  // for every (input pixel, filter tap) that lands inside the output.
  template <typename F>
  void ForEachTap(F&& f) const {
    for (int iy = 0; iy < ih_; ++iy) {
      for (int ix = 0; ix < iw_; ++ix) {
        const int64_t p = static_cast<int64_t>(iy) * iw_ + ix;
        for (int fy = 0; fy < kh_; ++fy) {
          const int oy = iy * sh_ - pad_top_ + fy;
          if (oy < 0 || oy >= oh_) continue;
          for (int fx = 0; fx < kw_; ++fx) {
            const int ox = ix * sw_ - pad_left_ + fx;
            if (ox < 0 || ox >= ow_) continue;
            f(p, (static_cast<int64_t>(fy) * kw_ + fx) * cout_,
              (static_cast<int64_t>(oy) * ow_ + ox) * cout_);
          }
        }
      }
    }
  }

  FusedAct act_ = FusedAct::kNone;
  int n_ = 0, ih_ = 0, iw_ = 0, cin_ = 0, cout_ = 0, kh_ = 0, kw_ = 0, oh_ = 0, ow_ = 0;
  int sh_ = 1, sw_ = 1, pad_top_ = 0, pad_left_ = 0;
  bool has_bias_ = false;
  int64_t cols_ = 0, pixels_ = 0;
  std::vector<float> reordered_;
  std::vector<std::vector<float>> col_;  // per thread: [pixels, cols] products or gradients
  std::vector<Partial> partial_;
};

}  // namespace

std::unique_ptr<OpKernel> NewTransposeConv() { return std::make_unique<TransposeConv>(); }

}  // namespace train
}  // namespace edgeopt
