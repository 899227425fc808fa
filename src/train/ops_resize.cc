// RESIZE_NEAREST_NEIGHBOR and RESIZE_BILINEAR (Keras UpSampling1D/2D) on NHWC values, with the
// source coordinates of the runtime (src/runtime/kernels/reference/resize.h), so the trained
// model computes what its exported .tflite computes. Backward scatters each output gradient
// into the input pixels it was read from (bilinear: with its four weights); images are
// independent, so the batch is split across threads.
#include <cstring>

#include "src/runtime/kernels/reference/resize.h"
#include "src/train/ops.h"

namespace edgeopt {
namespace train {
namespace {

class Resize : public OpKernel {
 public:
  explicit Resize(bool bilinear) : bilinear_(bilinear) {}

  Status Prepare(KernelContext* ctx) override {
    EDGEOPT_ENSURE(in.size() >= 2 && in[0] >= 0, StatusCode::kInvalidModel,
                   "%s: needs (input, size)", Where().c_str());
    const Value& x = ctx->v(in[0]);
    EDGEOPT_ENSURE(x.rank() == 4 && x.shape[1] > 0 && x.shape[2] > 0, StatusCode::kInvalidModel,
                   "%s: input %s is not a non-empty NHWC image", Where().c_str(),
                   ShapeString(x.shape).c_str());
    std::vector<int64_t> size;
    EDGEOPT_RETURN_IF_ERROR(ReadIntConstantForKernel(*ctx->graph, in[1], Where(), &size));
    EDGEOPT_ENSURE(size.size() == 2 && size[0] > 0 && size[1] > 0 && size[0] <= (1 << 20) &&
                       size[1] <= (1 << 20),
                   StatusCode::kInvalidModel, "%s: size must hold two positive values",
                   Where().c_str());
    const bool align = ir::GetBool(node->attrs, "align_corners", false);
    const bool half = ir::GetBool(node->attrs, "half_pixel_centers", false);
    EDGEOPT_ENSURE(!(bilinear_ && align && half), StatusCode::kInvalidModel,
                   "%s: align_corners and half_pixel_centers cannot both be set", Where().c_str());
    ih_ = x.shape[1];
    iw_ = x.shape[2];
    c_ = x.shape[3];
    oh_ = static_cast<int>(size[0]);
    ow_ = static_cast<int>(size[1]);
    Axis(ih_, oh_, align, half, &rows_);
    Axis(iw_, ow_, align, half, &cols_);
    SetShape(&ctx->v(out[0]), {x.shape[0], oh_, ow_, c_});
    return Status::Ok();
  }

  void Forward(KernelContext* ctx) override {
    const float* x = ctx->v(in[0]).d();
    float* y = ctx->v(out[0]).d();
    ParallelChunks(ctx, ctx->v(in[0]).shape[0], [&](int64_t b, int64_t e, int) {
      for (int64_t n = b; n < e; ++n) {
        const float* xi = x + n * ih_ * iw_ * c_;
        float* yo = y + n * oh_ * ow_ * c_;
        for (int oy = 0; oy < oh_; ++oy) {
          const Tap& r = rows_[oy];
          for (int ox = 0; ox < ow_; ++ox) {
            const Tap& q = cols_[ox];
            float* dst = yo + (static_cast<int64_t>(oy) * ow_ + ox) * c_;
            const float* r00 = xi + (static_cast<int64_t>(r.lo) * iw_ + q.lo) * c_;
            if (!bilinear_) {
              std::memcpy(dst, r00, sizeof(float) * c_);
              continue;
            }
            const float* r01 = xi + (static_cast<int64_t>(r.lo) * iw_ + q.hi) * c_;
            const float* r10 = xi + (static_cast<int64_t>(r.hi) * iw_ + q.lo) * c_;
            const float* r11 = xi + (static_cast<int64_t>(r.hi) * iw_ + q.hi) * c_;
            const float dy = r.frac, dx = q.frac;
            // The runtime's float kernel, term for term.
            for (int ch = 0; ch < c_; ++ch) {
              dst[ch] = r00[ch] * (1 - dy) * (1 - dx) + r10[ch] * dy * (1 - dx) +
                        r01[ch] * (1 - dy) * dx + r11[ch] * dy * dx;
            }
          }
        }
      }
    });
  }

  void Backward(KernelContext* ctx) override {
    float* dx = InGrad(ctx, 0);
    if (dx == nullptr) return;
    const Value& xv = ctx->v(in[0]);
    const float* g = ctx->v(out[0]).g();
    const bool over = Over(0);
    ParallelChunks(ctx, xv.shape[0], [&](int64_t b, int64_t e, int) {
      for (int64_t n = b; n < e; ++n) {
        float* di = dx + n * ih_ * iw_ * c_;
        const float* go = g + n * oh_ * ow_ * c_;
        if (over) std::memset(di, 0, sizeof(float) * ih_ * iw_ * c_);
        for (int oy = 0; oy < oh_; ++oy) {
          const Tap& r = rows_[oy];
          for (int ox = 0; ox < ow_; ++ox) {
            const Tap& q = cols_[ox];
            const float* src = go + (static_cast<int64_t>(oy) * ow_ + ox) * c_;
            const float wy[2] = {bilinear_ ? 1 - r.frac : 1.0f, bilinear_ ? r.frac : 0.0f};
            const float wx[2] = {bilinear_ ? 1 - q.frac : 1.0f, bilinear_ ? q.frac : 0.0f};
            const int ys[2] = {r.lo, r.hi}, xs[2] = {q.lo, q.hi};
            for (int a = 0; a < 2; ++a) {
              for (int bb = 0; bb < 2; ++bb) {
                const float w = wy[a] * wx[bb];
                if (w == 0.0f) continue;
                float* dst = di + (static_cast<int64_t>(ys[a]) * iw_ + xs[bb]) * c_;
                for (int ch = 0; ch < c_; ++ch) dst[ch] += w * src[ch];
              }
            }
          }
        }
      }
    });
  }

 private:
  // Where one output index reads: nearest uses `lo` only; bilinear mixes lo and hi by frac.
  struct Tap {
    int lo = 0, hi = 0;
    float frac = 0.0f;
  };

  void Axis(int in_size, int out_size, bool align, bool half, std::vector<Tap>* taps) const {
    taps->assign(out_size, Tap());
    const float scale = ref::ResizeAxisScale(in_size, out_size, align);
    for (int o = 0; o < out_size; ++o) {
      Tap& t = (*taps)[o];
      if (bilinear_) {
        float scaled;
        ref::BilinearInterpolationValues(static_cast<float>(o), scale, half, in_size, &scaled,
                                         &t.lo, &t.hi);
        t.frac = scaled - static_cast<float>(t.lo);
      } else {
        t.lo = t.hi = ref::NearestSourceIndex(o, in_size, out_size, align, half);
      }
    }
  }

  bool bilinear_;
  int ih_ = 0, iw_ = 0, c_ = 0, oh_ = 0, ow_ = 0;
  std::vector<Tap> rows_, cols_;
};

}  // namespace

std::unique_ptr<OpKernel> NewResizeNearestNeighbor() { return std::make_unique<Resize>(false); }
std::unique_ptr<OpKernel> NewResizeBilinear() { return std::make_unique<Resize>(true); }

}  // namespace train
}  // namespace edgeopt
