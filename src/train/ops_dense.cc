// FULLY_CONNECTED, CONV_2D (im2col + packed GEMM, NHWC, OHWI weights) and DEPTHWISE_CONV_2D
// (direct loops, [1,KH,KW,C*M] weights).
#include <algorithm>
#include <cstring>

#include "src/train/ops.h"

namespace edgeopt {
namespace train {
namespace {

// acc[c] += sum over rows of g[r, c].
void AddRows(const float* __restrict g, int64_t rows, int cols, float* __restrict acc) {
  for (int64_t r = 0; r < rows; ++r) {
    const float* __restrict gr = g + r * cols;
    for (int c = 0; c < cols; ++c) acc[c] += gr[c];
  }
}

// Column sums of g[rows, cols] into dst (overwrite or add), deterministic per thread count.
void ColumnSums(KernelContext* ctx, const float* g, int64_t rows, int cols, float* dst,
                bool overwrite, std::vector<float>* partial) {
  partial->assign(static_cast<size_t>(kReduceChunks) * cols, 0.0f);
  const int chunks = ReduceChunks(ctx, rows, [&](int64_t b, int64_t e, int chunk, int) {
    AddRows(g + b * cols, e - b, cols, partial->data() + static_cast<size_t>(chunk) * cols);
  });
  for (int c = 0; c < cols; ++c) {
    float s = 0.0f;
    for (int t = 0; t < chunks; ++t) s += (*partial)[static_cast<size_t>(t) * cols + c];
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
    ctx->gemm->Run(false, true, rows_, units_, depth_, x.d(), depth_, w.d(), depth_, y.d(), units_,
                   false, ep, ctx->pool);
    if (act_ != FusedAct::kRelu) ApplyFusedAct(act_, y.d(), y.size);
  }

  void Backward(KernelContext* ctx) override {
    Value& y = ctx->v(out[0]);
    float* dy = y.g();
    FusedActBackward(act_, y.d(), dy, y.size);
    if (float* dw = InGrad(ctx, 1)) {
      ctx->gemm->Run(true, false, units_, depth_, rows_, dy, units_, ctx->v(in[0]).d(), depth_, dw,
                     depth_, !Over(1), {}, ctx->pool);
    }
    if (float* db = has_bias_ ? InGrad(ctx, 2) : nullptr) {
      ColumnSums(ctx, dy, rows_, units_, db, Over(2), &partial_);
    }
    if (float* dx = InGrad(ctx, 0)) {
      ctx->gemm->Run(false, false, rows_, depth_, units_, dy, units_, ctx->v(in[1]).d(), depth_, dx,
                     depth_, !Over(0), {}, ctx->pool);
    }
  }

 private:
  FusedAct act_ = FusedAct::kNone;
  int units_ = 0, depth_ = 0, rows_ = 0;
  bool has_bias_ = false;
  std::vector<float> partial_;
};

// CONV_2D as blocked im2col + GEMM. The batch is cut into chunks of whole images small
// enough that their im2col matrix stays in L2; each thread takes a contiguous range of chunks
// and runs single-threaded GEMMs on them. Backward recomputes each chunk's im2col instead of
// keeping the whole matrix (which would go through memory three times).
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
                   "%s: filter %s has %d input channels, input %s has %d "
                   "(grouped convolution "
                   "is not supported)",
                   Where().c_str(), ShapeString(w.shape).c_str(), w.shape[3],
                   ShapeString(x.shape).c_str(), x.shape[3]);
    n_ = x.shape[0];
    cin_ = x.shape[3];
    cout_ = w.shape[0];
    const std::string padding = ir::GetString(node->attrs, "padding", "VALID");
    EDGEOPT_RETURN_IF_ERROR(
        MakeWindow(padding, x.shape[1], w.shape[1], ir::GetInt(node->attrs, "stride_h", 1),
                   ir::GetInt(node->attrs, "dilation_h_factor", 1), Where(), &wh_));
    EDGEOPT_RETURN_IF_ERROR(
        MakeWindow(padding, x.shape[2], w.shape[2], ir::GetInt(node->attrs, "stride_w", 1),
                   ir::GetInt(node->attrs, "dilation_w_factor", 1), Where(), &ww_));
    has_bias_ = in.size() > 2 && in[2] >= 0;
    if (has_bias_) {
      EDGEOPT_ENSURE(ctx->v(in[2]).size == cout_, StatusCode::kInvalidModel,
                     "%s: bias has %lld values for %d filters", Where().c_str(),
                     static_cast<long long>(ctx->v(in[2]).size), cout_);
    }
    k_ = wh_.k * ww_.k * cin_;
    rows_per_image_ = wh_.out * ww_.out;
    pointwise_ = wh_.k == 1 && ww_.k == 1 && wh_.stride == 1 && ww_.stride == 1 &&
                 wh_.pad_before == 0 && ww_.pad_before == 0;
    // Chunks of whole images whose im2col rows plus output rows (values and gradients) stay
    // in L2: about kChunkFloats floats.
    constexpr int64_t kChunkFloats = 128 * 1024;
    const int64_t per_image = static_cast<int64_t>(rows_per_image_) * k_;
    const int64_t footprint = static_cast<int64_t>(rows_per_image_) * (k_ + 2 * cout_);
    images_per_chunk_ =
        static_cast<int>(std::max<int64_t>(1, kChunkFloats / std::max<int64_t>(1, footprint)));
    images_per_chunk_ = std::min(images_per_chunk_, std::max(1, n_));
    num_chunks_ = (n_ + images_per_chunk_ - 1) / images_per_chunk_;
    // dW^T = col^T dY (M = K, N = Cout) wastes less tile padding when K < Cout.
    transposed_dw_ = k_ < cout_;
    const int threads = ctx->threads();
    ctx->gemm->ReserveThreads(threads);
    const size_t chunk_values = static_cast<size_t>(images_per_chunk_) * per_image;
    scratch_.resize(threads);
    for (Scratch& s : scratch_) {
      if (!pointwise_ && s.col.size() < chunk_values) s.col.resize(chunk_values);
      if (!pointwise_ && s.dcol.size() < chunk_values) s.dcol.resize(chunk_values);
    }
    partial_.resize(kReduceChunks);
    for (Partial& p : partial_) {
      p.dw.resize(static_cast<size_t>(cout_) * k_);
      p.db.resize(cout_);
    }
    SetShape(&ctx->v(out[0]), {n_, wh_.out, ww_.out, cout_});
    return Status::Ok();
  }

  void Forward(KernelContext* ctx) override {
    const float* x = ctx->v(in[0]).d();
    const float* w = ctx->v(in[1]).d();
    float* y = ctx->v(out[0]).d();
    GemmEpilogue ep;
    ep.bias = has_bias_ ? ctx->v(in[2]).d() : nullptr;
    ep.relu = act_ == FusedAct::kRelu;
    ParallelChunks(ctx, num_chunks_, [&](int64_t b, int64_t e, int task) {
      Scratch& s = scratch_[task];
      for (int64_t chunk = b; chunk < e; ++chunk) {
        int n0, n1;
        ChunkImages(chunk, &n0, &n1);
        const int64_t row0 = static_cast<int64_t>(n0) * rows_per_image_;
        const int rows = (n1 - n0) * rows_per_image_;
        const float* col = x + row0 * k_;
        if (!pointwise_) {
          for (int n = n0; n < n1; ++n)
            Im2Col(x, n, s.col.data() + static_cast<int64_t>(n - n0) * rows_per_image_ * k_);
          col = s.col.data();
        }
        float* yc = y + row0 * cout_;
        ctx->gemm->RunSerial(false, true, rows, cout_, k_, col, k_, w, k_, yc, cout_, false, ep,
                             task);
        if (act_ != FusedAct::kRelu) ApplyFusedAct(act_, yc, static_cast<int64_t>(rows) * cout_);
      }
    });
  }

  void Backward(KernelContext* ctx) override {
    const float* x = ctx->v(in[0]).d();
    const float* w = ctx->v(in[1]).d();
    Value& yv = ctx->v(out[0]);
    float* dy = yv.g();
    const float* y = yv.d();
    float* dw = InGrad(ctx, 1);
    float* db = has_bias_ ? InGrad(ctx, 2) : nullptr;
    float* dx = InGrad(ctx, 0);
    const bool over_x = Over(0);
    const int64_t x_per_image = static_cast<int64_t>(wh_.in) * ww_.in * cin_;
    const int tasks =
        ReduceChunks(ctx, num_chunks_, [&](int64_t b, int64_t e, int group, int task) {
          Scratch& s = scratch_[task];
          Partial& part = partial_[group];
          if (dw != nullptr) std::fill(part.dw.begin(), part.dw.end(), 0.0f);
          if (db != nullptr) std::fill(part.db.begin(), part.db.end(), 0.0f);
          for (int64_t chunk = b; chunk < e; ++chunk) {
            int n0, n1;
            ChunkImages(chunk, &n0, &n1);
            const int64_t row0 = static_cast<int64_t>(n0) * rows_per_image_;
            const int rows = (n1 - n0) * rows_per_image_;
            float* g = dy + row0 * cout_;
            FusedActBackward(act_, y + row0 * cout_, g, static_cast<int64_t>(rows) * cout_);
            if (db != nullptr) AddRows(g, rows, cout_, part.db.data());
            if (dw != nullptr) {
              const float* col = x + row0 * k_;
              if (!pointwise_) {
                for (int n = n0; n < n1; ++n) {
                  Im2Col(x, n, s.col.data() + static_cast<int64_t>(n - n0) * rows_per_image_ * k_);
                }
                col = s.col.data();
              }
              if (transposed_dw_) {
                ctx->gemm->RunSerial(true, false, k_, cout_, rows, col, k_, g, cout_,
                                     part.dw.data(), cout_, true, {}, task);
              } else {
                ctx->gemm->RunSerial(true, false, cout_, k_, rows, g, cout_, col, k_,
                                     part.dw.data(), k_, true, {}, task);
              }
            }
            if (dx != nullptr) {
              if (pointwise_) {
                ctx->gemm->RunSerial(false, false, rows, k_, cout_, g, cout_, w, k_, dx + row0 * k_,
                                     k_, !over_x, {}, task);
              } else {
                ctx->gemm->RunSerial(false, false, rows, k_, cout_, g, cout_, w, k_, s.dcol.data(),
                                     k_, false, {}, task);
                for (int n = n0; n < n1; ++n) {
                  float* dimg = dx + n * x_per_image;
                  if (over_x) std::memset(dimg, 0, sizeof(float) * x_per_image);
                  Col2Im(s.dcol.data() + static_cast<int64_t>(n - n0) * rows_per_image_ * k_, dimg);
                }
              }
            }
          }
        });
    // Reduce the per-group partial sums in group order.
    if (dw != nullptr) {
      const bool over = Over(1);
      for (int o = 0; o < cout_; ++o) {
        for (int kk = 0; kk < k_; ++kk) {
          float sum = 0.0f;
          for (int t = 0; t < tasks; ++t) {
            sum += transposed_dw_ ? partial_[t].dw[static_cast<size_t>(kk) * cout_ + o]
                                  : partial_[t].dw[static_cast<size_t>(o) * k_ + kk];
          }
          float& d = dw[static_cast<size_t>(o) * k_ + kk];
          d = over ? sum : d + sum;
        }
      }
    }
    if (db != nullptr) {
      const bool over = Over(2);
      for (int c = 0; c < cout_; ++c) {
        float sum = 0.0f;
        for (int t = 0; t < tasks; ++t) sum += partial_[t].db[c];
        db[c] = over ? sum : db[c] + sum;
      }
    }
  }

 private:
  struct Scratch {  // per thread
    std::vector<float> col, dcol;
  };
  struct Partial {  // per reduction group
    std::vector<float> dw, db;
  };

  void ChunkImages(int64_t chunk, int* n0, int* n1) const {
    *n0 = static_cast<int>(chunk * images_per_chunk_);
    *n1 = std::min(n_, *n0 + images_per_chunk_);
  }

  // im2col rows of image n into dst (rows_per_image x K).
  void Im2Col(const float* x, int n, float* __restrict dst) const {
    const int oh_n = wh_.out, ow_n = ww_.out, cin = cin_;
    const int kh_n = wh_.k, kw_n = ww_.k, in_h = wh_.in, in_w = ww_.in;
    const int sh = wh_.stride, sw = ww_.stride, ph = wh_.pad_before, pw = ww_.pad_before;
    const int dh = wh_.dilation, dwl = ww_.dilation;
    const float* __restrict img = x + static_cast<size_t>(n) * in_h * in_w * cin;
    for (int oh = 0; oh < oh_n; ++oh) {
      for (int ow = 0; ow < ow_n; ++ow) {
        for (int kh = 0; kh < kh_n; ++kh) {
          const int ih = oh * sh - ph + kh * dh;
          if (ih < 0 || ih >= in_h) {
            for (int i = 0; i < kw_n * cin; ++i) dst[i] = 0.0f;
            dst += kw_n * cin;
            continue;
          }
          const float* row = img + static_cast<size_t>(ih) * in_w * cin;
          for (int kw = 0; kw < kw_n; ++kw) {
            const int iw = ow * sw - pw + kw * dwl;
            if (iw < 0 || iw >= in_w) {
              for (int c = 0; c < cin; ++c) dst[c] = 0.0f;
            } else if (cin == 1) {
              *dst = row[iw];
            } else {
              CopyFloats(dst, row + static_cast<size_t>(iw) * cin, cin);
            }
            dst += cin;
          }
        }
      }
    }
  }

  // Adds the im2col-shaped gradient of one image (rows_per_image x K) into dimg.
  void Col2Im(const float* __restrict src, float* __restrict dimg) const {
    const int oh_n = wh_.out, ow_n = ww_.out, cin = cin_;
    const int kh_n = wh_.k, kw_n = ww_.k, in_h = wh_.in, in_w = ww_.in;
    const int sh = wh_.stride, sw = ww_.stride, ph = wh_.pad_before, pw = ww_.pad_before;
    const int dh = wh_.dilation, dwl = ww_.dilation;
    for (int oh = 0; oh < oh_n; ++oh) {
      for (int ow = 0; ow < ow_n; ++ow) {
        for (int kh = 0; kh < kh_n; ++kh) {
          const int ih = oh * sh - ph + kh * dh;
          if (ih < 0 || ih >= in_h) {
            src += kw_n * cin;
            continue;
          }
          float* row = dimg + static_cast<size_t>(ih) * in_w * cin;
          for (int kw = 0; kw < kw_n; ++kw) {
            const int iw = ow * sw - pw + kw * dwl;
            if (iw >= 0 && iw < in_w) {
              float* d = row + static_cast<size_t>(iw) * cin;
              for (int c = 0; c < cin; ++c) d[c] += src[c];
            }
            src += cin;
          }
        }
      }
    }
  }

  FusedAct act_ = FusedAct::kNone;
  Window wh_, ww_;
  int n_ = 0, cin_ = 0, cout_ = 0, k_ = 0, rows_per_image_ = 0;
  int images_per_chunk_ = 1, num_chunks_ = 0;
  bool has_bias_ = false;
  bool pointwise_ = false;
  bool transposed_dw_ = false;
  std::vector<Scratch> scratch_;
  std::vector<Partial> partial_;
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
                   "%s: filter has %d channels, not a multiple of the input's %d", Where().c_str(),
                   oc_, c_);
    mult_ = oc_ / c_;
    const std::string padding = ir::GetString(node->attrs, "padding", "VALID");
    EDGEOPT_RETURN_IF_ERROR(
        MakeWindow(padding, x.shape[1], w.shape[1], ir::GetInt(node->attrs, "stride_h", 1),
                   ir::GetInt(node->attrs, "dilation_h_factor", 1), Where(), &wh_));
    EDGEOPT_RETURN_IF_ERROR(
        MakeWindow(padding, x.shape[2], w.shape[2], ir::GetInt(node->attrs, "stride_w", 1),
                   ir::GetInt(node->attrs, "dilation_w_factor", 1), Where(), &ww_));
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
    partial_.assign(static_cast<size_t>(kReduceChunks) * (wsize + oc_), 0.0f);
    const bool over_x = Over(0);
    const int tasks = ReduceChunks(ctx, n_, [&](int64_t b, int64_t e, int task, int) {
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
        for (int t = 0; t < tasks; ++t)
          s += partial_[static_cast<size_t>(t) * (wsize + oc_) + offset + i];
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
