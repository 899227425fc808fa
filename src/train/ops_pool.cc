// MAX_POOL_2D, AVERAGE_POOL_2D (TFLite semantics: SAME averages count only the valid
// positions), and the reductions MEAN / SUM / REDUCE_MAX / REDUCE_MIN over non-batch axes.
#include <algorithm>
#include <cstring>
#include <limits>

#include "src/train/ops.h"

namespace edgeopt {
namespace train {
namespace {

struct PoolGeometry {
  int c, in_h, in_w, out_h, out_w, k_h, k_w, s_h, s_w, p_h, p_w;
};

// One image of a max / average pool. Geometry by value and restrict pointers: the argmax
// stores (int32) could otherwise alias the geometry and block vectorization.
void PoolImage(const PoolGeometry g, bool is_max, const float* __restrict img, float* __restrict y,
               int32_t* __restrict argmax) {
  const int c_n = g.c;
  for (int oh = 0; oh < g.out_h; ++oh) {
    const int h0 = oh * g.s_h - g.p_h;
    for (int ow = 0; ow < g.out_w; ++ow) {
      const int w0 = ow * g.s_w - g.p_w;
      const int64_t o = (static_cast<int64_t>(oh) * g.out_w + ow) * c_n;
      float* __restrict yo = y + o;
      int32_t* __restrict ao = is_max ? argmax + o : nullptr;
      int count = 0;
      for (int kh = 0; kh < g.k_h; ++kh) {
        const int ih = h0 + kh;
        if (ih < 0 || ih >= g.in_h) continue;
        for (int kw = 0; kw < g.k_w; ++kw) {
          const int iw = w0 + kw;
          if (iw < 0 || iw >= g.in_w) continue;
          const int32_t base = (ih * g.in_w + iw) * c_n;
          const float* __restrict px = img + base;
          if (count == 0) {
            CopyFloats(yo, px, c_n);
            if (is_max) {
              for (int c = 0; c < c_n; ++c) ao[c] = base + c;
            }
          } else if (is_max) {
            // Integer masks instead of a select: GCC vectorizes this without -fno-trapping-math.
            // Ties keep the first position.
            for (int c = 0; c < c_n; ++c) {
              const float v = px[c];
              const float m = yo[c];
              const int32_t mask = -static_cast<int32_t>(v > m);
              yo[c] = std::max(m, v);
              ao[c] = (ao[c] & ~mask) | ((base + c) & mask);
            }
          } else {
            for (int c = 0; c < c_n; ++c) yo[c] += px[c];
          }
          ++count;
        }
      }
      if (count == 0) {  // a window entirely in the padding (not with TFLite's rules)
        for (int c = 0; c < c_n; ++c) yo[c] = 0.0f;
        if (is_max) {
          for (int c = 0; c < c_n; ++c) ao[c] = -1;
        }
      } else if (!is_max && count > 1) {
        const float inv = 1.0f / static_cast<float>(count);
        for (int c = 0; c < c_n; ++c) yo[c] *= inv;
      }
    }
  }
}

class Pool2D : public OpKernel {
 public:
  explicit Pool2D(bool is_max) : max_(is_max) {}

  Status Prepare(KernelContext* ctx) override {
    EDGEOPT_ENSURE(!in.empty() && in[0] >= 0, StatusCode::kInvalidModel, "%s: needs an input",
                   Where().c_str());
    EDGEOPT_ASSIGN_OR_RETURN(act_, ParseFusedAct(*node));
    const Value& x = ctx->v(in[0]);
    EDGEOPT_ENSURE(x.rank() == 4, StatusCode::kInvalidModel, "%s: input %s is not NHWC",
                   Where().c_str(), ShapeString(x.shape).c_str());
    const std::string padding = ir::GetString(node->attrs, "padding", "VALID");
    EDGEOPT_RETURN_IF_ERROR(MakeWindow(padding, x.shape[1],
                                       ir::GetInt(node->attrs, "filter_height", 1),
                                       ir::GetInt(node->attrs, "stride_h", 1), 1, Where(), &wh_));
    EDGEOPT_RETURN_IF_ERROR(MakeWindow(padding, x.shape[2],
                                       ir::GetInt(node->attrs, "filter_width", 1),
                                       ir::GetInt(node->attrs, "stride_w", 1), 1, Where(), &ww_));
    n_ = x.shape[0];
    c_ = x.shape[3];
    SetShape(&ctx->v(out[0]), {n_, wh_.out, ww_.out, c_});
    if (max_) argmax_.resize(ctx->v(out[0]).size);
    return Status::Ok();
  }

  void Forward(KernelContext* ctx) override {
    const float* x = ctx->v(in[0]).d();
    Value& yv = ctx->v(out[0]);
    float* y = yv.d();
    const PoolGeometry g{c_,    wh_.in,     ww_.in,     wh_.out,        ww_.out,       wh_.k,
                         ww_.k, wh_.stride, ww_.stride, wh_.pad_before, ww_.pad_before};
    const bool is_max = max_;
    const FusedAct act = act_;
    int32_t* argmax = argmax_.data();
    const int64_t in_per = static_cast<int64_t>(g.in_h) * g.in_w * g.c;
    const int64_t out_per = static_cast<int64_t>(g.out_h) * g.out_w * g.c;
    ParallelChunks(ctx, n_, [=](int64_t b, int64_t e, int) {
      for (int64_t n = b; n < e; ++n) {
        PoolImage(g, is_max, x + n * in_per, y + n * out_per,
                  is_max ? argmax + n * out_per : nullptr);
        ApplyFusedAct(act, y + n * out_per, out_per);
      }
    });
  }

  void Backward(KernelContext* ctx) override {
    float* dx = InGrad(ctx, 0);
    if (dx == nullptr) return;
    Value& yv = ctx->v(out[0]);
    float* dy = yv.g();
    FusedActBackward(act_, yv.d(), dy, yv.size);
    const bool over = Over(0);
    const int64_t in_per = static_cast<int64_t>(wh_.in) * ww_.in * c_;
    const int64_t out_per = static_cast<int64_t>(wh_.out) * ww_.out * c_;
    ParallelChunks(ctx, n_, [&](int64_t b, int64_t e, int) {
      for (int64_t n = b; n < e; ++n) {
        float* dimg = dx + n * in_per;
        if (over) std::memset(dimg, 0, sizeof(float) * in_per);
        const float* g = dy + n * out_per;
        if (max_) {
          const int32_t* a = argmax_.data() + n * out_per;
          for (int64_t i = 0; i < out_per; ++i) {
            if (a[i] >= 0) dimg[a[i]] += g[i];
          }
          continue;
        }
        for (int oh = 0; oh < wh_.out; ++oh) {
          const int h0 = oh * wh_.stride - wh_.pad_before;
          for (int ow = 0; ow < ww_.out; ++ow) {
            const int w0 = ow * ww_.stride - ww_.pad_before;
            const float* go = g + (oh * ww_.out + ow) * c_;
            int count = 0;
            for (int kh = 0; kh < wh_.k; ++kh) {
              const int ih = h0 + kh;
              if (ih < 0 || ih >= wh_.in) continue;
              for (int kw = 0; kw < ww_.k; ++kw) {
                const int iw = w0 + kw;
                if (iw >= 0 && iw < ww_.in) ++count;
              }
            }
            if (count == 0) continue;
            const float inv = 1.0f / static_cast<float>(count);
            for (int kh = 0; kh < wh_.k; ++kh) {
              const int ih = h0 + kh;
              if (ih < 0 || ih >= wh_.in) continue;
              for (int kw = 0; kw < ww_.k; ++kw) {
                const int iw = w0 + kw;
                if (iw < 0 || iw >= ww_.in) continue;
                float* d = dimg + (ih * ww_.in + iw) * c_;
                for (int c = 0; c < c_; ++c) d[c] += go[c] * inv;
              }
            }
          }
        }
      }
    });
  }

 private:
  const bool max_;
  FusedAct act_ = FusedAct::kNone;
  Window wh_, ww_;
  int n_ = 0, c_ = 0;
  std::vector<int32_t> argmax_;
};

enum class ReduceKind { kMean, kSum, kMax, kMin };

// Reads an int32/int64 constant tensor (axes, paddings, permutations) from the IR.
Status ReadIntConstant(const ir::Graph& graph, int id, const std::string& where,
                       std::vector<int64_t>* out) {
  EDGEOPT_ENSURE(id >= 0 && id < static_cast<int>(graph.tensors.size()), StatusCode::kInvalidModel,
                 "%s: missing constant input", where.c_str());
  const ir::Tensor& t = graph.tensors[id];
  EDGEOPT_ENSURE(t.is_constant, StatusCode::kUnsupported, "%s: input '%s' must be a constant",
                 where.c_str(), t.name.c_str());
  out->clear();
  const int64_t n = t.NumElements();
  if (t.dtype == DType::kInt32 && t.data.size() == static_cast<size_t>(n) * 4) {
    for (int64_t i = 0; i < n; ++i) out->push_back(t.DataAs<int32_t>()[i]);
  } else if (t.dtype == DType::kInt64 && t.data.size() == static_cast<size_t>(n) * 8) {
    for (int64_t i = 0; i < n; ++i) out->push_back(t.DataAs<int64_t>()[i]);
  } else {
    return MakeStatus(StatusCode::kInvalidModel, "%s: constant '%s' is not int32/int64",
                      where.c_str(), t.name.c_str());
  }
  return Status::Ok();
}

class Reduce : public OpKernel {
 public:
  explicit Reduce(ReduceKind kind) : kind_(kind) {}

  Status Prepare(KernelContext* ctx) override {
    EDGEOPT_ENSURE(in.size() >= 2 && in[0] >= 0, StatusCode::kInvalidModel,
                   "%s: needs (input, axes)", Where().c_str());
    std::vector<int64_t> axes;
    EDGEOPT_RETURN_IF_ERROR(ReadIntConstant(*ctx->graph, in[1], Where(), &axes));
    const Value& x = ctx->v(in[0]);
    const int rank = x.rank();
    std::vector<bool> reduced(rank, false);
    for (int64_t a : axes) {
      if (a < 0) a += rank;
      EDGEOPT_ENSURE(a >= 0 && a < rank, StatusCode::kInvalidModel, "%s: axis out of range for %s",
                     Where().c_str(), ShapeString(x.shape).c_str());
      EDGEOPT_ENSURE(a != 0, StatusCode::kUnsupported,
                     "%s: reducing over the batch axis cannot be trained", Where().c_str());
      reduced[a] = true;
    }
    const bool keep = ir::GetBool(node->attrs, "keep_dims", false);
    std::vector<int> shape;
    for (int d = 0; d < rank; ++d) {
      if (!reduced[d]) {
        shape.push_back(x.shape[d]);
      } else if (keep) {
        shape.push_back(1);
      }
    }
    SetShape(&ctx->v(out[0]), shape);
    n_ = x.shape[0];
    in_per_ = n_ > 0 ? x.size / n_ : 0;
    out_per_ = n_ > 0 ? ctx->v(out[0]).size / n_ : 0;
    // Output index of every element of one sample.
    map_.resize(in_per_);
    std::vector<int> idx(rank, 0);
    for (int64_t i = 0; i < in_per_; ++i) {
      int64_t o = 0;
      for (int d = 1; d < rank; ++d) {
        if (!reduced[d]) o = o * x.shape[d] + idx[d];
      }
      map_[i] = static_cast<int32_t>(o);
      for (int d = rank - 1; d >= 1; --d) {
        if (++idx[d] < x.shape[d]) break;
        idx[d] = 0;
      }
    }
    count_ = out_per_ > 0 ? static_cast<float>(in_per_ / out_per_) : 1.0f;
    if (Extreme()) argmax_.resize(ctx->v(out[0]).size);
    return Status::Ok();
  }

  void Forward(KernelContext* ctx) override {
    const float* x = ctx->v(in[0]).d();
    float* y = ctx->v(out[0]).d();
    ParallelChunks(ctx, n_, [&](int64_t b, int64_t e, int) {
      for (int64_t n = b; n < e; ++n) {
        const float* xs = x + n * in_per_;
        float* ys = y + n * out_per_;
        if (Extreme()) {  // the first maximum (minimum) gets the gradient, as TensorFlow's
          const bool max = kind_ == ReduceKind::kMax;
          int32_t* as = argmax_.data() + n * out_per_;
          for (int64_t o = 0; o < out_per_; ++o) as[o] = -1;
          for (int64_t i = 0; i < in_per_; ++i) {
            const int32_t o = map_[i];
            if (as[o] < 0 || (max ? xs[i] > ys[o] : xs[i] < ys[o])) {
              ys[o] = xs[i];
              as[o] = static_cast<int32_t>(i);
            }
          }
        } else {
          for (int64_t o = 0; o < out_per_; ++o) ys[o] = 0.0f;
          for (int64_t i = 0; i < in_per_; ++i) ys[map_[i]] += xs[i];
          if (kind_ == ReduceKind::kMean) {
            const float inv = 1.0f / count_;
            for (int64_t o = 0; o < out_per_; ++o) ys[o] *= inv;
          }
        }
      }
    });
  }

  void Backward(KernelContext* ctx) override {
    float* dx = InGrad(ctx, 0);
    if (dx == nullptr) return;
    const float* dy = ctx->v(out[0]).g();
    const bool over = Over(0);
    const float scale = kind_ == ReduceKind::kMean ? 1.0f / count_ : 1.0f;
    ParallelChunks(ctx, n_, [&](int64_t b, int64_t e, int) {
      for (int64_t n = b; n < e; ++n) {
        float* dxs = dx + n * in_per_;
        const float* g = dy + n * out_per_;
        if (Extreme()) {
          if (over) std::memset(dxs, 0, sizeof(float) * in_per_);
          const int32_t* as = argmax_.data() + n * out_per_;
          for (int64_t o = 0; o < out_per_; ++o) {
            if (as[o] >= 0) dxs[as[o]] += g[o];
          }
        } else {
          for (int64_t i = 0; i < in_per_; ++i) {
            const float v = g[map_[i]] * scale;
            dxs[i] = over ? v : dxs[i] + v;
          }
        }
      }
    });
  }

 private:
  bool Extreme() const { return kind_ == ReduceKind::kMax || kind_ == ReduceKind::kMin; }

  const ReduceKind kind_;
  int64_t n_ = 0, in_per_ = 0, out_per_ = 0;
  float count_ = 1.0f;
  std::vector<int32_t> map_, argmax_;
};

// ARG_MAX / ARG_MIN over one non-batch axis: the index of the first maximum (minimum), as
// TFLite's, held as a float; no gradient (an index is piecewise constant).
class ArgMinMax : public OpKernel {
 public:
  explicit ArgMinMax(bool max) : max_(max) {}

  Status Prepare(KernelContext* ctx) override {
    EDGEOPT_ENSURE(in.size() == 2 && in[0] >= 0, StatusCode::kInvalidModel,
                   "%s: needs (input, axis)", Where().c_str());
    std::vector<int64_t> axis;
    EDGEOPT_RETURN_IF_ERROR(ReadIntConstant(*ctx->graph, in[1], Where(), &axis));
    const Value& x = ctx->v(in[0]);
    EDGEOPT_ENSURE(axis.size() == 1, StatusCode::kInvalidModel, "%s: needs one axis",
                   Where().c_str());
    int64_t a = axis[0] < 0 ? axis[0] + x.rank() : axis[0];
    EDGEOPT_ENSURE(a >= 1 && a < x.rank(), StatusCode::kUnsupported,
                   "%s: axis %lld of %s (not the batch)", Where().c_str(),
                   static_cast<long long>(axis[0]), ShapeString(x.shape).c_str());
    outer_ = inner_ = 1;
    for (int d = 0; d < a; ++d) outer_ *= x.shape[d];
    for (int d = static_cast<int>(a) + 1; d < x.rank(); ++d) inner_ *= x.shape[d];
    len_ = x.shape[a];
    std::vector<int> shape = x.shape;
    shape.erase(shape.begin() + a);
    SetShape(&ctx->v(out[0]), shape);
    return Status::Ok();
  }

  void Forward(KernelContext* ctx) override {
    const float* x = ctx->v(in[0]).d();
    float* y = ctx->v(out[0]).d();
    for (int64_t o = 0; o < outer_; ++o) {
      for (int64_t i = 0; i < inner_; ++i) {
        const float* xs = x + o * len_ * inner_ + i;
        int64_t best = 0;
        for (int64_t k = 1; k < len_; ++k) {
          if (max_ ? xs[k * inner_] > xs[best * inner_] : xs[k * inner_] < xs[best * inner_]) {
            best = k;
          }
        }
        y[o * inner_ + i] = static_cast<float>(best);
      }
    }
  }

  void Backward(KernelContext*) override {}

 private:
  const bool max_;
  int64_t outer_ = 1, inner_ = 1, len_ = 1;
};

}  // namespace

Status ReadIntConstantForKernel(const ir::Graph& graph, int id, const std::string& where,
                                std::vector<int64_t>* out) {
  return ReadIntConstant(graph, id, where, out);
}

std::unique_ptr<OpKernel> NewMaxPool2D() { return std::make_unique<Pool2D>(true); }
std::unique_ptr<OpKernel> NewAveragePool2D() { return std::make_unique<Pool2D>(false); }
std::unique_ptr<OpKernel> NewMean() { return std::make_unique<Reduce>(ReduceKind::kMean); }
std::unique_ptr<OpKernel> NewSum() { return std::make_unique<Reduce>(ReduceKind::kSum); }
std::unique_ptr<OpKernel> NewReduceMax() { return std::make_unique<Reduce>(ReduceKind::kMax); }
std::unique_ptr<OpKernel> NewReduceMin() { return std::make_unique<Reduce>(ReduceKind::kMin); }
std::unique_ptr<OpKernel> NewArgMax() { return std::make_unique<ArgMinMax>(true); }
std::unique_ptr<OpKernel> NewArgMin() { return std::make_unique<ArgMinMax>(false); }

}  // namespace train
}  // namespace edgeopt
