// Layout ops: RESHAPE / SQUEEZE / EXPAND_DIMS (the IR's static output shape with the batch
// dimension replaced), CONCATENATION, PAD (constant zeros), TRANSPOSE, SLICE and STRIDED_SLICE.
// None of them may move data across the batch dimension; a RESHAPE may fold steps into it or
// unfold them (TimeDistributed), which keeps each sample's values together.
#include <algorithm>
#include <cmath>
#include <cstring>

#include "src/train/ops.h"

namespace edgeopt {
namespace train {
namespace {

void AddInto(const float* src, float* dst, int64_t n, bool overwrite) {
  if (overwrite) {
    std::memcpy(dst, src, sizeof(float) * n);
  } else {
    for (int64_t i = 0; i < n; ++i) dst[i] += src[i];
  }
}

std::string IrShapeString(const std::vector<int32_t>& shape) {
  return ShapeString(std::vector<int>(shape.begin(), shape.end()));
}

// The IR's output shape for the training batch. Dimension 0 is the batch, but where the IR's
// output and input differ there (TimeDistributed folds the steps into the batch: [1, T, H, W, C]
// -> [T, H, W, C], and unfolds them: [T, F] -> [1, T, F]) it scales with the training rows:
// rows * out0 / in0 ([B * T, H, W, C], then [B, T, F]). Row-major data make that a copy.
class Reshape : public OpKernel {
 public:
  Status Prepare(KernelContext* ctx) override {
    EDGEOPT_ENSURE(!in.empty() && in[0] >= 0, StatusCode::kInvalidModel, "%s: needs an input",
                   Where().c_str());
    const Value& x = ctx->v(in[0]);
    const std::vector<int32_t>& source = ctx->graph->tensors[in[0]].shape;
    const std::vector<int32_t>& target = ctx->graph->tensors[out[0]].shape;
    EDGEOPT_ENSURE(!target.empty() && x.rank() >= 1, StatusCode::kUnsupported,
                   "%s: output has no batch dimension", Where().c_str());
    auto shapes = [&]() {  // for errors
      return ShapeString(x.shape) + " (" + IrShapeString(source) + " in the model) to " +
             IrShapeString(target);
    };
    int64_t rows = x.shape[0];
    if (!source.empty() && source[0] > 0 && target[0] > 0 && source[0] != target[0]) {
      const int64_t scaled = rows * target[0];
      EDGEOPT_ENSURE(scaled % source[0] == 0, StatusCode::kUnsupported,
                     "%s: reshaping %s: the first dimension goes from %d to %d, which does not "
                     "fold or unfold %lld rows (%lld * %d is not a multiple of %d)",
                     Where().c_str(), shapes().c_str(), source[0], target[0],
                     static_cast<long long>(rows), static_cast<long long>(rows), target[0],
                     source[0]);
      rows = scaled / source[0];
      EDGEOPT_ENSURE(rows <= (int64_t{1} << 30), StatusCode::kUnsupported,
                     "%s: reshaping %s: %lld rows are too many", Where().c_str(), shapes().c_str(),
                     static_cast<long long>(rows));
    }
    const int64_t per_row = rows > 0 ? x.size / rows : 0;
    std::vector<int> shape = {static_cast<int>(rows)};
    int64_t known = 1;
    int unknown = -1;
    for (size_t d = 1; d < target.size(); ++d) {
      if (target[d] < 0) {
        unknown = static_cast<int>(d);
        shape.push_back(1);
      } else {
        known *= target[d];
        shape.push_back(target[d]);
      }
    }
    if (unknown > 0 && known > 0) shape[unknown] = static_cast<int>(per_row / known);
    EDGEOPT_ENSURE(NumElements(shape) == x.size, StatusCode::kUnsupported,
                   "%s: reshaping %s would give %s (%lld values for %lld): it moves values "
                   "across the batch dimension, which training cannot do",
                   Where().c_str(), shapes().c_str(), ShapeString(shape).c_str(),
                   static_cast<long long>(NumElements(shape)), static_cast<long long>(x.size));
    SetShape(&ctx->v(out[0]), shape);
    return Status::Ok();
  }
  void Forward(KernelContext* ctx) override {
    const Value& x = ctx->v(in[0]);
    std::memcpy(ctx->v(out[0]).d(), x.d(), sizeof(float) * x.size);
  }
  void Backward(KernelContext* ctx) override {
    if (float* dx = InGrad(ctx, 0)) {
      AddInto(ctx->v(out[0]).g(), dx, ctx->v(in[0]).size, Over(0));
    }
  }
};

class Concatenation : public OpKernel {
 public:
  Status Prepare(KernelContext* ctx) override {
    EDGEOPT_ASSIGN_OR_RETURN(act_, ParseFusedAct(*node));
    EDGEOPT_ENSURE(!in.empty(), StatusCode::kInvalidModel, "%s: no inputs", Where().c_str());
    for (int id : in) {
      EDGEOPT_ENSURE(id >= 0, StatusCode::kInvalidModel, "%s: absent input", Where().c_str());
    }
    const std::vector<int>& s0 = ctx->v(in[0]).shape;
    const int rank = static_cast<int>(s0.size());
    int axis = static_cast<int>(ir::GetInt(node->attrs, "axis", -1));
    if (axis < 0) axis += rank;
    EDGEOPT_ENSURE(axis >= 1 && axis < rank, StatusCode::kUnsupported,
                   "%s: concatenation axis %d of rank %d (the batch axis "
                   "cannot be trained)",
                   Where().c_str(), axis, rank);
    std::vector<int> shape = s0;
    shape[axis] = 0;
    outer_ = 1;
    for (int d = 0; d < axis; ++d) outer_ *= s0[d];
    chunks_.clear();
    for (int id : in) {
      const std::vector<int>& s = ctx->v(id).shape;
      EDGEOPT_ENSURE(static_cast<int>(s.size()) == rank, StatusCode::kInvalidModel,
                     "%s: inputs %s and %s differ in rank", Where().c_str(),
                     ShapeString(s0).c_str(), ShapeString(s).c_str());
      int64_t inner = 1;
      for (int d = 0; d < rank; ++d) {
        if (d == axis) continue;
        EDGEOPT_ENSURE(s[d] == s0[d], StatusCode::kInvalidModel,
                       "%s: inputs %s and %s differ outside axis %d", Where().c_str(),
                       ShapeString(s0).c_str(), ShapeString(s).c_str(), axis);
        if (d > axis) inner *= s[d];
      }
      shape[axis] += s[axis];
      chunks_.push_back(inner * s[axis]);
    }
    row_ = 0;
    for (int64_t c : chunks_) row_ += c;
    SetShape(&ctx->v(out[0]), shape);
    return Status::Ok();
  }

  void Forward(KernelContext* ctx) override {
    Value& yv = ctx->v(out[0]);
    float* y = yv.d();
    int64_t offset = 0;
    for (size_t i = 0; i < in.size(); ++i) {
      const float* x = ctx->v(in[i]).d();
      for (int64_t o = 0; o < outer_; ++o) {
        std::memcpy(y + o * row_ + offset, x + o * chunks_[i], sizeof(float) * chunks_[i]);
      }
      offset += chunks_[i];
    }
    ApplyFusedAct(act_, y, yv.size);
  }

  void Backward(KernelContext* ctx) override {
    Value& yv = ctx->v(out[0]);
    float* dy = yv.g();
    FusedActBackward(act_, yv.d(), dy, yv.size);
    int64_t offset = 0;
    for (size_t i = 0; i < in.size(); ++i) {
      if (float* dx = InGrad(ctx, static_cast<int>(i))) {
        for (int64_t o = 0; o < outer_; ++o) {
          AddInto(dy + o * row_ + offset, dx + o * chunks_[i], chunks_[i], Over(i));
        }
      }
      offset += chunks_[i];
    }
  }

 private:
  FusedAct act_ = FusedAct::kNone;
  int64_t outer_ = 1, row_ = 0;
  std::vector<int64_t> chunks_;
};

// Walks every element of `shape` (row-major) calling f(linear_index_in_shape,
// mapped_offset), where mapped_offset = sum(idx[d] * strides[d]) + base.
template <typename F>
void Walk(const std::vector<int>& shape, const std::vector<int64_t>& strides, int64_t base, F&& f) {
  const int rank = static_cast<int>(shape.size());
  const int64_t total = NumElements(shape);
  if (total == 0) return;
  std::vector<int> idx(rank, 0);
  int64_t off = base;
  for (int64_t i = 0; i < total; ++i) {
    f(i, off);
    for (int d = rank - 1; d >= 0; --d) {
      ++idx[d];
      off += strides[d];
      if (idx[d] < shape[d]) break;
      off -= strides[d] * shape[d];
      idx[d] = 0;
    }
  }
}

std::vector<int64_t> RowMajorStrides(const std::vector<int>& shape) {
  std::vector<int64_t> s(shape.size(), 1);
  for (int d = static_cast<int>(shape.size()) - 2; d >= 0; --d) s[d] = s[d + 1] * shape[d + 1];
  return s;
}

class Pad : public OpKernel {
 public:
  Status Prepare(KernelContext* ctx) override {
    EDGEOPT_ENSURE(in.size() >= 2 && in[0] >= 0, StatusCode::kInvalidModel,
                   "%s: needs (input, paddings)", Where().c_str());
    std::vector<int64_t> pads;
    EDGEOPT_RETURN_IF_ERROR(ReadIntConstantForKernel(*ctx->graph, in[1], Where(), &pads));
    const Value& x = ctx->v(in[0]);
    EDGEOPT_ENSURE(static_cast<int>(pads.size()) == 2 * x.rank(), StatusCode::kInvalidModel,
                   "%s: %zu padding values for rank %d", Where().c_str(), pads.size(), x.rank());
    EDGEOPT_ENSURE(pads[0] == 0 && pads[1] == 0, StatusCode::kUnsupported,
                   "%s: padding the batch dimension cannot be trained", Where().c_str());
    std::vector<int> shape = x.shape;
    for (int d = 0; d < x.rank(); ++d) {
      EDGEOPT_ENSURE(pads[2 * d] >= 0 && pads[2 * d + 1] >= 0, StatusCode::kUnsupported,
                     "%s: negative padding", Where().c_str());
      shape[d] += static_cast<int>(pads[2 * d] + pads[2 * d + 1]);
    }
    SetShape(&ctx->v(out[0]), shape);
    strides_ = RowMajorStrides(shape);
    base_ = 0;
    for (int d = 0; d < x.rank(); ++d) base_ += pads[2 * d] * strides_[d];
    return Status::Ok();
  }
  void Forward(KernelContext* ctx) override {
    const Value& x = ctx->v(in[0]);
    Value& yv = ctx->v(out[0]);
    float* y = yv.d();
    std::memset(y, 0, sizeof(float) * yv.size);
    const float* xd = x.d();
    Walk(x.shape, strides_, base_, [&](int64_t i, int64_t o) { y[o] = xd[i]; });
  }
  void Backward(KernelContext* ctx) override {
    float* dx = InGrad(ctx, 0);
    if (dx == nullptr) return;
    const float* dy = ctx->v(out[0]).g();
    const bool over = Over(0);
    Walk(ctx->v(in[0]).shape, strides_, base_,
         [&](int64_t i, int64_t o) { dx[i] = over ? dy[o] : dx[i] + dy[o]; });
  }

 private:
  std::vector<int64_t> strides_;
  int64_t base_ = 0;
};

// TILE(x, multiples): x repeated multiples[d] times along each axis d (not the batch); the
// gradient of x sums those of its copies.
class Tile : public OpKernel {
 public:
  Status Prepare(KernelContext* ctx) override {
    EDGEOPT_ENSURE(in.size() >= 2 && in[0] >= 0, StatusCode::kInvalidModel,
                   "%s: needs (input, multiples)", Where().c_str());
    std::vector<int64_t> m;
    EDGEOPT_RETURN_IF_ERROR(ReadIntConstantForKernel(*ctx->graph, in[1], Where(), &m));
    const Value& x = ctx->v(in[0]);
    EDGEOPT_ENSURE(static_cast<int>(m.size()) == x.rank(), StatusCode::kInvalidModel,
                   "%s: %zu multiples for rank %d", Where().c_str(), m.size(), x.rank());
    EDGEOPT_ENSURE(x.rank() > 0 && m[0] == 1, StatusCode::kUnsupported,
                   "%s: tiling the batch dimension cannot be trained", Where().c_str());
    std::vector<int> shape = x.shape;
    int64_t copies = 1;
    for (int d = 0; d < x.rank(); ++d) {
      EDGEOPT_ENSURE(m[d] >= 1 && m[d] <= 65536, StatusCode::kInvalidModel, "%s: multiple %lld",
                     Where().c_str(), static_cast<long long>(m[d]));
      shape[d] = static_cast<int>(x.shape[d] * m[d]);
      copies *= m[d];
    }
    EDGEOPT_ENSURE(copies <= (int64_t{1} << 20), StatusCode::kInvalidModel, "%s: too many copies",
                   Where().c_str());
    SetShape(&ctx->v(out[0]), shape);
    strides_ = RowMajorStrides(shape);
    // The output offset of each copy.
    bases_.assign(1, 0);
    for (int d = 0; d < x.rank(); ++d) {
      std::vector<int64_t> next;
      for (int64_t b : bases_) {
        for (int64_t k = 0; k < m[d]; ++k) next.push_back(b + k * x.shape[d] * strides_[d]);
      }
      bases_.swap(next);
    }
    return Status::Ok();
  }
  void Forward(KernelContext* ctx) override {
    const Value& x = ctx->v(in[0]);
    float* y = ctx->v(out[0]).d();
    const float* xd = x.d();
    for (int64_t base : bases_) {
      Walk(x.shape, strides_, base, [&](int64_t i, int64_t o) { y[o] = xd[i]; });
    }
  }
  void Backward(KernelContext* ctx) override {
    float* dx = InGrad(ctx, 0);
    if (dx == nullptr) return;
    const float* dy = ctx->v(out[0]).g();
    bool over = Over(0);
    for (int64_t base : bases_) {
      Walk(ctx->v(in[0]).shape, strides_, base,
           [&](int64_t i, int64_t o) { dx[i] = over ? dy[o] : dx[i] + dy[o]; });
      over = false;
    }
  }

 private:
  std::vector<int64_t> strides_, bases_;
};

// DEPTH_TO_SPACE / SPACE_TO_DEPTH (NHWC, block_size bs): a permutation of each sample, as
// TFLite's: depth-to-space out[b, h*bs + i, w*bs + j, c] = in[b, h, w, (i*bs + j)*C' + c];
// space-to-depth its inverse. The map holds the input offset of every output element of one
// sample; the gradient goes back through it.
class SpaceDepth : public OpKernel {
 public:
  explicit SpaceDepth(bool to_space) : to_space_(to_space) {}

  Status Prepare(KernelContext* ctx) override {
    EDGEOPT_ENSURE(!in.empty() && in[0] >= 0, StatusCode::kInvalidModel, "%s: needs an input",
                   Where().c_str());
    const Value& x = ctx->v(in[0]);
    const int64_t bs = ir::GetInt(node->attrs, "block_size", 0);
    EDGEOPT_ENSURE(x.rank() == 4 && bs >= 1 && bs <= 64, StatusCode::kInvalidModel,
                   "%s: needs an NHWC input and a block size from 1 to 64", Where().c_str());
    const int h = x.shape[1], w = x.shape[2], c = x.shape[3];
    std::vector<int> shape = x.shape;
    if (to_space_) {
      EDGEOPT_ENSURE(c % (bs * bs) == 0, StatusCode::kInvalidModel,
                     "%s: %d channels for block size %lld", Where().c_str(), c,
                     static_cast<long long>(bs));
      shape = {x.shape[0], static_cast<int>(h * bs), static_cast<int>(w * bs),
               static_cast<int>(c / (bs * bs))};
    } else {
      EDGEOPT_ENSURE(h % bs == 0 && w % bs == 0, StatusCode::kInvalidModel,
                     "%s: %dx%d is not a multiple of block size %lld", Where().c_str(), h, w,
                     static_cast<long long>(bs));
      shape = {x.shape[0], static_cast<int>(h / bs), static_cast<int>(w / bs),
               static_cast<int>(c * bs * bs)};
    }
    SetShape(&ctx->v(out[0]), shape);
    // The space side [H, W, C'] and the depth side [H / bs, W / bs, bs * bs * C'].
    const int64_t sh = to_space_ ? shape[1] : h, sw = to_space_ ? shape[2] : w,
                  sc = to_space_ ? shape[3] : c;
    map_.resize(static_cast<size_t>(sh * sw * sc));
    for (int64_t y = 0; y < sh; ++y) {
      for (int64_t xx = 0; xx < sw; ++xx) {
        for (int64_t k = 0; k < sc; ++k) {
          const int64_t space = (y * sw + xx) * sc + k;
          const int64_t depth = ((y / bs) * (sw / bs) + xx / bs) * (bs * bs * sc) +
                                ((y % bs) * bs + xx % bs) * sc + k;
          // Output offset i reads input offset map_[i].
          if (to_space_) {
            map_[space] = depth;
          } else {
            map_[depth] = space;
          }
        }
      }
    }
    per_sample_ = static_cast<int64_t>(map_.size());
    samples_ = x.shape[0];
    return Status::Ok();
  }

  void Forward(KernelContext* ctx) override {
    const float* x = ctx->v(in[0]).d();
    float* y = ctx->v(out[0]).d();
    for (int64_t n = 0; n < samples_; ++n) {
      for (int64_t i = 0; i < per_sample_; ++i)
        y[n * per_sample_ + i] = x[n * per_sample_ + map_[i]];
    }
  }

  void Backward(KernelContext* ctx) override {
    float* dx = InGrad(ctx, 0);
    if (dx == nullptr) return;
    const float* dy = ctx->v(out[0]).g();
    const bool over = Over(0);
    for (int64_t n = 0; n < samples_; ++n) {
      for (int64_t i = 0; i < per_sample_; ++i) {
        float& d = dx[n * per_sample_ + map_[i]];
        d = over ? dy[n * per_sample_ + i] : d + dy[n * per_sample_ + i];
      }
    }
  }

 private:
  const bool to_space_;
  std::vector<int64_t> map_;
  int64_t per_sample_ = 0, samples_ = 0;
};

class Transpose : public OpKernel {
 public:
  Status Prepare(KernelContext* ctx) override {
    EDGEOPT_ENSURE(in.size() >= 2 && in[0] >= 0, StatusCode::kInvalidModel,
                   "%s: needs (input, perm)", Where().c_str());
    std::vector<int64_t> perm;
    EDGEOPT_RETURN_IF_ERROR(ReadIntConstantForKernel(*ctx->graph, in[1], Where(), &perm));
    const Value& x = ctx->v(in[0]);
    const int rank = x.rank();
    EDGEOPT_ENSURE(static_cast<int>(perm.size()) == rank, StatusCode::kInvalidModel,
                   "%s: permutation of %zu for rank %d", Where().c_str(), perm.size(), rank);
    EDGEOPT_ENSURE(perm[0] == 0, StatusCode::kUnsupported,
                   "%s: moving the batch dimension cannot be trained", Where().c_str());
    std::vector<bool> seen(rank, false);
    const std::vector<int64_t> in_strides = RowMajorStrides(x.shape);
    std::vector<int> shape(rank);
    strides_.assign(rank, 0);
    for (int d = 0; d < rank; ++d) {
      EDGEOPT_ENSURE(perm[d] >= 0 && perm[d] < rank && !seen[perm[d]], StatusCode::kInvalidModel,
                     "%s: invalid permutation", Where().c_str());
      seen[perm[d]] = true;
      shape[d] = x.shape[perm[d]];
      strides_[d] = in_strides[perm[d]];
    }
    SetShape(&ctx->v(out[0]), shape);
    return Status::Ok();
  }
  void Forward(KernelContext* ctx) override {
    Value& yv = ctx->v(out[0]);
    float* y = yv.d();
    const float* x = ctx->v(in[0]).d();
    Walk(yv.shape, strides_, 0, [&](int64_t o, int64_t i) { y[o] = x[i]; });
  }
  void Backward(KernelContext* ctx) override {
    float* dx = InGrad(ctx, 0);
    if (dx == nullptr) return;
    const Value& yv = ctx->v(out[0]);
    const float* dy = yv.grad.data();
    const bool over = Over(0);
    Walk(yv.shape, strides_, 0,
         [&](int64_t o, int64_t i) { dx[i] = over ? dy[o] : dx[i] + dy[o]; });
  }

 private:
  std::vector<int64_t> strides_;
};

// SLICE (begin, size; size -1 = to the end) and STRIDED_SLICE (begin, end, strides with
// begin/end/shrink-axis masks, negative indices and strides; no ellipsis or new axes), as one
// strided walk over the input. An activation's batch dimension must be taken whole in the IR's
// shape; it is then the whole training batch. The gradient scatters back into the selected
// positions (the rest of the input's gradient is zero).
class Slice : public OpKernel {
 public:
  explicit Slice(bool strided) : strided_(strided) {}

  Status Prepare(KernelContext* ctx) override {
    const size_t needed = strided_ ? 4 : 3;
    EDGEOPT_ENSURE(in.size() >= needed && in[0] >= 0, StatusCode::kInvalidModel,
                   "%s: needs (input, begin, %s)", Where().c_str(),
                   strided_ ? "end, strides" : "size");
    const Value& x = ctx->v(in[0]);
    const int rank = x.rank();
    std::vector<int64_t> begin, second, strides(rank, 1);
    EDGEOPT_RETURN_IF_ERROR(ReadIntConstantForKernel(*ctx->graph, in[1], Where(), &begin));
    EDGEOPT_RETURN_IF_ERROR(ReadIntConstantForKernel(*ctx->graph, in[2], Where(), &second));
    if (strided_) {
      EDGEOPT_RETURN_IF_ERROR(ReadIntConstantForKernel(*ctx->graph, in[3], Where(), &strides));
    }
    EDGEOPT_ENSURE(static_cast<int>(begin.size()) == rank &&
                       static_cast<int>(second.size()) == rank &&
                       static_cast<int>(strides.size()) == rank,
                   StatusCode::kInvalidModel, "%s: slice parameters do not match rank %d",
                   Where().c_str(), rank);
    const int64_t begin_mask = ir::GetInt(node->attrs, "begin_mask", 0);
    const int64_t end_mask = ir::GetInt(node->attrs, "end_mask", 0);
    const int64_t shrink_mask = ir::GetInt(node->attrs, "shrink_axis_mask", 0);
    EDGEOPT_ENSURE(!strided_ || (ir::GetInt(node->attrs, "ellipsis_mask", 0) == 0 &&
                                 ir::GetInt(node->attrs, "new_axis_mask", 0) == 0),
                   StatusCode::kUnsupported, "%s: ellipsis and new-axis masks cannot be trained",
                   Where().c_str());
    // Of an activation, the IR's own batch size decides whether dimension 0 is taken whole; a
    // weight (a GRU's bias rows) has no batch dimension.
    const bool batched = x.kind == ValueKind::kActivation;
    const std::vector<int32_t>& ir_shape = ctx->graph->tensors[in[0]].shape;
    std::vector<int> counts(rank);
    std::vector<int> out_shape;
    const std::vector<int64_t> in_strides = RowMajorStrides(x.shape);
    strides_.assign(rank, 0);
    base_ = 0;
    for (int d = 0; d < rank; ++d) {
      const int64_t dim = d == 0 && batched && !ir_shape.empty() ? ir_shape[0] : x.shape[d];
      int64_t start, step = strides[d], count;
      const bool shrink = strided_ && ((shrink_mask >> d) & 1) != 0;
      EDGEOPT_ENSURE(step != 0, StatusCode::kInvalidModel, "%s: stride 0", Where().c_str());
      if (!strided_) {
        start = begin[d];
        count = second[d] == -1 ? dim - start : second[d];
        EDGEOPT_ENSURE(start >= 0 && count >= 0 && start + count <= dim, StatusCode::kInvalidModel,
                       "%s: slice [%lld, +%lld) of dimension %d (%lld values)", Where().c_str(),
                       static_cast<long long>(start), static_cast<long long>(count), d,
                       static_cast<long long>(dim));
      } else if (shrink) {
        start = begin[d] < 0 ? begin[d] + dim : begin[d];
        EDGEOPT_ENSURE(start >= 0 && start < dim, StatusCode::kInvalidModel,
                       "%s: index %lld of dimension %d (%lld values)", Where().c_str(),
                       static_cast<long long>(begin[d]), d, static_cast<long long>(dim));
        step = 1;
        count = 1;
      } else {
        start = Bound(((begin_mask >> d) & 1) != 0, begin[d], step, dim, /*is_end=*/false);
        const int64_t end = Bound(((end_mask >> d) & 1) != 0, second[d], step, dim, true);
        count = step > 0 ? (end - start + step - 1) / step : (start - end - step - 1) / -step;
        if (count < 0) count = 0;
      }
      if (d == 0 && batched) {
        EDGEOPT_ENSURE(start == 0 && step == 1 && count == dim && !shrink, StatusCode::kUnsupported,
                       "%s: slicing the batch dimension cannot be trained", Where().c_str());
        count = x.shape[0];
      }
      counts[d] = static_cast<int>(count);
      strides_[d] = in_strides[d] * step;
      base_ += start * in_strides[d];
      if (!shrink) out_shape.push_back(counts[d]);
    }
    walk_shape_ = counts;
    SetShape(&ctx->v(out[0]), out_shape);
    return Status::Ok();
  }
  void Forward(KernelContext* ctx) override {
    float* y = ctx->v(out[0]).d();
    const float* x = ctx->v(in[0]).d();
    Walk(walk_shape_, strides_, base_, [&](int64_t o, int64_t i) { y[o] = x[i]; });
  }
  void Backward(KernelContext* ctx) override {
    float* dx = InGrad(ctx, 0);
    if (dx == nullptr) return;
    if (Over(0)) std::memset(dx, 0, sizeof(float) * ctx->v(in[0]).size);
    const float* dy = ctx->v(out[0]).g();
    Walk(walk_shape_, strides_, base_, [&](int64_t o, int64_t i) { dx[i] += dy[o]; });
  }

 private:
  // A begin or end index as STRIDED_SLICE resolves it: masked = the far end for the stride's
  // direction; negative counts from the end; clamped to [0, dim] (positive strides) or
  // [-1, dim - 1] (negative ones).
  static int64_t Bound(bool masked, int64_t v, int64_t step, int64_t dim, bool is_end) {
    if (masked && is_end) return step > 0 ? dim : -1;
    if (masked) return step > 0 ? 0 : dim - 1;
    if (v < 0) v += dim;
    return step > 0 ? std::min(std::max<int64_t>(v, 0), dim)
                    : std::min(std::max<int64_t>(v, -1), dim - 1);
  }

  bool strided_;
  std::vector<int> walk_shape_;
  std::vector<int64_t> strides_;
  int64_t base_ = 0;
};

}  // namespace

std::unique_ptr<OpKernel> NewReshape() { return std::make_unique<Reshape>(); }
std::unique_ptr<OpKernel> NewConcatenation() { return std::make_unique<Concatenation>(); }
std::unique_ptr<OpKernel> NewPad() { return std::make_unique<Pad>(); }
std::unique_ptr<OpKernel> NewTile() { return std::make_unique<Tile>(); }
std::unique_ptr<OpKernel> NewDepthToSpace() { return std::make_unique<SpaceDepth>(true); }
std::unique_ptr<OpKernel> NewSpaceToDepth() { return std::make_unique<SpaceDepth>(false); }
std::unique_ptr<OpKernel> NewSlice() { return std::make_unique<Slice>(false); }
std::unique_ptr<OpKernel> NewStridedSlice() { return std::make_unique<Slice>(true); }
// EMBEDDING(ids, table [V, D]) (Keras Embedding in training form; the export lowers it to CAST +
// GATHER): rows of the table for the ids truncated to integers, as Keras casts them. Ids outside
// [0, V) are clamped here (TFLite's GATHER, and edgeopt's runtime, refuse them). The table's
// gradient sums the output gradients of the rows each id picked; the ids get none.
class Embedding : public OpKernel {
 public:
  Status Prepare(KernelContext* ctx) override {
    EDGEOPT_ENSURE(in.size() >= 2 && in[0] >= 0 && in[1] >= 0, StatusCode::kInvalidModel,
                   "%s: needs (ids, table)", Where().c_str());
    const Value& table = ctx->v(in[1]);
    EDGEOPT_ENSURE(table.rank() == 2 && table.shape[0] >= 1 && table.shape[1] >= 1,
                   StatusCode::kInvalidModel, "%s: the table must be [rows, width]",
                   Where().c_str());
    std::vector<int> shape = ctx->v(in[0]).shape;
    shape.push_back(table.shape[1]);
    SetShape(&ctx->v(out[0]), shape);
    return Status::Ok();
  }
  void Forward(KernelContext* ctx) override {
    const Value& ids = ctx->v(in[0]);
    const Value& table = ctx->v(in[1]);
    const int64_t width = table.shape[1];
    float* y = ctx->v(out[0]).d();
    for (int64_t i = 0; i < ids.size; ++i) {
      std::memcpy(y + i * width, table.d() + Row(ids.d()[i], table.shape[0]) * width,
                  sizeof(float) * width);
    }
  }
  void Backward(KernelContext* ctx) override {
    const Value& ids = ctx->v(in[0]);
    float* dids = InGrad(ctx, 0);
    if (dids != nullptr && Over(0)) std::memset(dids, 0, sizeof(float) * ids.size);
    float* dt = InGrad(ctx, 1);
    if (dt == nullptr) return;
    const Value& table = ctx->v(in[1]);
    const int64_t width = table.shape[1];
    if (Over(1)) std::memset(dt, 0, sizeof(float) * table.size);
    const float* dy = ctx->v(out[0]).g();
    for (int64_t i = 0; i < ids.size; ++i) {
      float* row = dt + Row(ids.d()[i], table.shape[0]) * width;
      for (int64_t d = 0; d < width; ++d) row[d] += dy[i * width + d];
    }
  }

 private:
  static int64_t Row(float id, int64_t rows) {
    if (!(id >= 0.0f)) return 0;  // negative ids and NaN
    const double r = std::trunc(static_cast<double>(id));
    return r >= static_cast<double>(rows) ? rows - 1 : static_cast<int64_t>(r);
  }
};

std::unique_ptr<OpKernel> NewTranspose() { return std::make_unique<Transpose>(); }
std::unique_ptr<OpKernel> NewEmbedding() { return std::make_unique<Embedding>(); }

}  // namespace train
}  // namespace edgeopt
