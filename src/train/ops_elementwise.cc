// Element-wise ops: activations (RELU, RELU6, RELU_N1_TO_1, LEAKY_RELU,
// LOGISTIC, TANH, HARD_SWISH, ELU, GELU, EXP), RSQRT (LayerNormalization), ABS, NEG, LOG, SQRT,
// SQUARE (softplus, softsign, mish and Keras operations), PRELU, SOFTMAX,
// LOG_SOFTMAX, and ADD / SUB / MUL / DIV / MAXIMUM / MINIMUM with NumPy broadcasting and a fused
// activation.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>

#include "src/train/ops.h"

namespace edgeopt {
namespace train {
namespace {

enum class UnaryKind {
  kRelu,
  kRelu6,
  kReluN1To1,
  kLeakyRelu,
  kLogistic,
  kTanh,
  kHardSwish,
  kElu,
  kGelu,
  kGeluTanh,
  kRsqrt,
  kExp,
  kAbs,
  kNeg,
  kLog,
  kSqrt,
  kSquare,
  kCast,        // bool (stored as 0 / 1) or integer -> float32 (a Keras mask): no gradient
  kTrunc,       // float32 -> int32 / int64, toward zero (held as floats): no gradient
  kToBool,      // a number -> bool (x != 0): no gradient
  kLogicalNot,  // bool -> bool (0 / 1), no gradient
  kSin,
  kCos,
  kFloor,  // FLOOR, CEIL, ROUND (half to even): piecewise constant, gradient 0 (as TensorFlow's)
  kCeil,
  kRound,
};

constexpr float kSqrt2OverPi = 0.7978845608028654f;
constexpr float kGeluCoeff = 0.044715f;

class Unary : public OpKernel {
 public:
  explicit Unary(UnaryKind kind) : kind_(kind) {}

  Status Prepare(KernelContext* ctx) override {
    EDGEOPT_ENSURE(!in.empty() && in[0] >= 0, StatusCode::kInvalidModel, "%s: needs an input",
                   Where().c_str());
    alpha_ = static_cast<float>(ir::GetFloat(node->attrs, "alpha", 0.2));
    if (kind_ == UnaryKind::kGelu && ir::GetBool(node->attrs, "approximate", false)) {
      kind_ = UnaryKind::kGeluTanh;
    }
    if (kind_ == UnaryKind::kCast) {
      // Bools and integers are held as floats: a cast to an integer rounds toward zero, to bool
      // tests != 0, the others keep the value.
      auto held = [](DType d) {
        return d == DType::kFloat32 || d == DType::kBool || d == DType::kInt32 ||
               d == DType::kInt64;
      };
      const DType from = ctx->graph->tensors[in[0]].dtype;
      const DType to = ctx->graph->tensors[out[0]].dtype;
      EDGEOPT_ENSURE(held(from) && held(to) && (from != DType::kFloat32 || to != DType::kFloat32),
                     StatusCode::kUnsupported, "%s: the train engine does not cast %s to %s",
                     Where().c_str(), DTypeName(from), DTypeName(to));
      if (from == DType::kFloat32 && (to == DType::kInt32 || to == DType::kInt64)) {
        kind_ = UnaryKind::kTrunc;
      } else if (to == DType::kBool && from != DType::kBool) {
        kind_ = UnaryKind::kToBool;
      }
    }
    SetShape(&ctx->v(out[0]), ctx->v(in[0]).shape);
    return Status::Ok();
  }

  void Forward(KernelContext* ctx) override {
    const float* x = ctx->v(in[0]).d();
    Value& yv = ctx->v(out[0]);
    float* y = yv.d();
    ParallelChunks(ctx, yv.size, [&](int64_t b, int64_t e, int) {
      for (int64_t i = b; i < e; ++i) y[i] = Apply(x[i]);
    });
  }

  void Backward(KernelContext* ctx) override {
    float* dx = InGrad(ctx, 0);
    if (dx == nullptr) return;
    const float* x = ctx->v(in[0]).d();
    const Value& yv = ctx->v(out[0]);
    const float* y = yv.d();
    const float* dy = yv.grad.data();
    const bool over = Over(0);
    ParallelChunks(ctx, yv.size, [&](int64_t b, int64_t e, int) {
      for (int64_t i = b; i < e; ++i) {
        const float v = dy[i] * Derivative(x[i], y[i]);
        dx[i] = over ? v : dx[i] + v;
      }
    });
  }

 private:
  float Apply(float x) const {
    switch (kind_) {
      case UnaryKind::kRelu:
        return x > 0.0f ? x : 0.0f;
      case UnaryKind::kRelu6:
        return std::fmin(std::fmax(x, 0.0f), 6.0f);
      case UnaryKind::kReluN1To1:
        return std::fmin(std::fmax(x, -1.0f), 1.0f);
      case UnaryKind::kLeakyRelu:
        return x > 0.0f ? x : alpha_ * x;
      case UnaryKind::kLogistic:
        return 1.0f / (1.0f + std::exp(-x));
      case UnaryKind::kTanh:
        return std::tanh(x);
      case UnaryKind::kHardSwish:
        return x * std::fmin(std::fmax(x + 3.0f, 0.0f), 6.0f) / 6.0f;
      case UnaryKind::kElu:
        return x > 0.0f ? x : std::expm1(x);
      case UnaryKind::kGelu:
        return 0.5f * x * (1.0f + std::erf(x * 0.7071067811865476f));
      case UnaryKind::kGeluTanh:
        return 0.5f * x * (1.0f + std::tanh(kSqrt2OverPi * (x + kGeluCoeff * x * x * x)));
      case UnaryKind::kRsqrt:
        // A LayerNormalization's variance + epsilon is positive, unless QAT's fake quantization
        // rounded it to 0. TFLite's int8 RSQRT gives the top of its output range there: +inf
        // here, which the FAKE_QUANT_ACT after it clamps to that top and leaves out of its range
        // statistics (no gradient flows through it).
        return x > 0.0f ? 1.0f / std::sqrt(x) : std::numeric_limits<float>::infinity();
      case UnaryKind::kExp:
        return std::exp(x);
      case UnaryKind::kAbs:
        return std::fabs(x);
      case UnaryKind::kNeg:
        return -x;
      case UnaryKind::kLog:
        return std::log(x);
      case UnaryKind::kSqrt:
        return std::sqrt(x);
      case UnaryKind::kSquare:
        return x * x;
      case UnaryKind::kCast:
        return x;
      case UnaryKind::kTrunc:
        return std::trunc(x);
      case UnaryKind::kToBool:
        return x != 0.0f ? 1.0f : 0.0f;
      case UnaryKind::kLogicalNot:
        return x != 0.0f ? 0.0f : 1.0f;
      case UnaryKind::kSin:
        return std::sin(x);
      case UnaryKind::kCos:
        return std::cos(x);
      case UnaryKind::kFloor:
        return std::floor(x);
      case UnaryKind::kCeil:
        return std::ceil(x);
      case UnaryKind::kRound:
        return std::nearbyint(x);  // half to even in the default rounding mode
    }
    return x;
  }

  float Derivative(float x, float y) const {
    switch (kind_) {
      case UnaryKind::kRelu:
        return x > 0.0f ? 1.0f : 0.0f;
      case UnaryKind::kRelu6:
        return x > 0.0f && x < 6.0f ? 1.0f : 0.0f;
      case UnaryKind::kReluN1To1:
        return x > -1.0f && x < 1.0f ? 1.0f : 0.0f;
      case UnaryKind::kLeakyRelu:
        return x > 0.0f ? 1.0f : alpha_;
      case UnaryKind::kLogistic:
        return y * (1.0f - y);
      case UnaryKind::kTanh:
        return 1.0f - y * y;
      case UnaryKind::kHardSwish:
        return x < -3.0f ? 0.0f : (x > 3.0f ? 1.0f : (2.0f * x + 3.0f) / 6.0f);
      case UnaryKind::kElu:
        return x > 0.0f ? 1.0f : y + 1.0f;
      case UnaryKind::kGelu: {
        const float cdf = 0.5f * (1.0f + std::erf(x * 0.7071067811865476f));
        const float pdf = 0.3989422804014327f * std::exp(-0.5f * x * x);
        return cdf + x * pdf;
      }
      case UnaryKind::kGeluTanh: {
        const float inner = kSqrt2OverPi * (x + kGeluCoeff * x * x * x);
        const float t = std::tanh(inner);
        return 0.5f * (1.0f + t) +
               0.5f * x * (1.0f - t * t) * kSqrt2OverPi * (1.0f + 3.0f * kGeluCoeff * x * x);
      }
      case UnaryKind::kRsqrt:  // d/dx x^(-1/2) = -y^3 / 2 (0 where y is the clamped +inf)
        return std::isfinite(y) ? -0.5f * y * y * y : 0.0f;
      case UnaryKind::kExp:
        return y;
      case UnaryKind::kAbs:  // 0 at 0, as TensorFlow's sign(x)
        return x > 0.0f ? 1.0f : (x < 0.0f ? -1.0f : 0.0f);
      case UnaryKind::kNeg:
        return -1.0f;
      case UnaryKind::kLog:
        return 1.0f / x;
      case UnaryKind::kSqrt:  // 1 / (2 sqrt(x)) (+inf at 0, as TensorFlow)
        return 0.5f / y;
      case UnaryKind::kSquare:
        return 2.0f * x;
      case UnaryKind::kCast:
      case UnaryKind::kTrunc:
      case UnaryKind::kToBool:
      case UnaryKind::kLogicalNot:
      case UnaryKind::kFloor:
      case UnaryKind::kCeil:
      case UnaryKind::kRound:
        return 0.0f;
      case UnaryKind::kSin:
        return std::cos(x);
      case UnaryKind::kCos:
        return -std::sin(x);
    }
    return 1.0f;
  }

  UnaryKind kind_;
  float alpha_ = 0.2f;
};

// NumPy broadcasting of two shapes to one output shape, walked as an odometer
// over the outer dimensions with a strided inner loop.
struct Broadcast {
  std::vector<int> out;
  std::vector<int64_t> sa,
      sb;  // per output dim: stride in a / b (0 when broadcast)
  bool a_full = false, b_full = false;

  Status Init(const std::vector<int>& a, const std::vector<int>& b, const std::string& where) {
    const int rank = static_cast<int>(std::max(a.size(), b.size()));
    out.assign(rank, 1);
    std::vector<int> pa(rank, 1), pb(rank, 1);
    for (size_t i = 0; i < a.size(); ++i) pa[rank - a.size() + i] = a[i];
    for (size_t i = 0; i < b.size(); ++i) pb[rank - b.size() + i] = b[i];
    for (int d = 0; d < rank; ++d) {
      EDGEOPT_ENSURE(pa[d] == pb[d] || pa[d] == 1 || pb[d] == 1, StatusCode::kInvalidModel,
                     "%s: shapes %s and %s do not broadcast", where.c_str(), ShapeString(a).c_str(),
                     ShapeString(b).c_str());
      out[d] = std::max(pa[d], pb[d]);
    }
    sa.assign(rank, 0);
    sb.assign(rank, 0);
    int64_t ra = 1, rb = 1;
    for (int d = rank - 1; d >= 0; --d) {
      sa[d] = pa[d] == 1 ? 0 : ra;
      sb[d] = pb[d] == 1 ? 0 : rb;
      ra *= pa[d];
      rb *= pb[d];
    }
    a_full = pa == out;
    b_full = pb == out;
    return Status::Ok();
  }

  // f(out_index, a_index, b_index) for every output element in order.
  template <typename F>
  void ForEach(F&& f) const {
    const int rank = static_cast<int>(out.size());
    if (rank == 0) {
      f(0, 0, 0);
      return;
    }
    const int inner = out[rank - 1];
    const int64_t ia_step = sa[rank - 1], ib_step = sb[rank - 1];
    std::vector<int> idx(rank, 0);
    int64_t o = 0, ia = 0, ib = 0;
    const int64_t total = NumElements(out);
    while (o < total) {
      for (int j = 0; j < inner; ++j) f(o + j, ia + j * ia_step, ib + j * ib_step);
      o += inner;
      int d = rank - 2;
      for (; d >= 0; --d) {
        ++idx[d];
        ia += sa[d];
        ib += sb[d];
        if (idx[d] < out[d]) break;
        ia -= sa[d] * out[d];
        ib -= sb[d] * out[d];
        idx[d] = 0;
      }
      if (d < 0) break;
    }
  }
};

// MAXIMUM / MINIMUM pass the gradient to the first input on ties, as TensorFlow's gradients do
// (x gets it where x >= y for MAXIMUM, where x <= y for MINIMUM).
// SQUARED_DIFFERENCE ((a - b)², the official converter's LayerNormalization variance) passes
// 2 (a - b) dy to a and its negative to b.
// The comparisons (NOT_EQUAL: a Keras mask, Embedding mask_zero, Masking; the others: Keras
// operations such as x > 0) and LOGICAL_AND / LOGICAL_OR give 1 or 0 (their bool output is stored
// as a float) and pass no gradient.
enum class BinaryKind {
  kAdd,
  kSub,
  kMul,
  kDiv,
  kMaximum,
  kMinimum,
  kSquaredDifference,
  kNotEqual,
  kEqual,
  kGreater,
  kGreaterEqual,
  kLess,
  kLessEqual,
  kLogicalAnd,
  kLogicalOr,
  kPow,  // a^b: b a^(b-1) to a, a^b ln a to b (where a > 0, else 0, as TensorFlow's)
};

class Binary : public OpKernel {
 public:
  explicit Binary(BinaryKind kind) : kind_(kind) {}

  Status Prepare(KernelContext* ctx) override {
    EDGEOPT_ENSURE(in.size() == 2 && in[0] >= 0 && in[1] >= 0, StatusCode::kInvalidModel,
                   "%s: needs two inputs", Where().c_str());
    EDGEOPT_ASSIGN_OR_RETURN(act_, ParseFusedAct(*node));
    EDGEOPT_RETURN_IF_ERROR(bc_.Init(ctx->v(in[0]).shape, ctx->v(in[1]).shape, Where()));
    SetShape(&ctx->v(out[0]), bc_.out);
    return Status::Ok();
  }

  void Forward(KernelContext* ctx) override {
    const float* a = ctx->v(in[0]).d();
    const float* b = ctx->v(in[1]).d();
    Value& yv = ctx->v(out[0]);
    float* y = yv.d();
    if (bc_.a_full && bc_.b_full) {
      ParallelChunks(ctx, yv.size, [&](int64_t s, int64_t e, int) {
        for (int64_t i = s; i < e; ++i) y[i] = Op(a[i], b[i]);
      });
    } else {
      bc_.ForEach([&](int64_t o, int64_t ia, int64_t ib) { y[o] = Op(a[ia], b[ib]); });
    }
    ApplyFusedAct(act_, y, yv.size);
  }

  void Backward(KernelContext* ctx) override {
    Value& yv = ctx->v(out[0]);
    float* dy = yv.g();
    FusedActBackward(act_, yv.d(), dy, yv.size);
    const float* a = ctx->v(in[0]).d();
    const float* b = ctx->v(in[1]).d();
    for (int side = 0; side < 2; ++side) {
      float* g = InGrad(ctx, side);
      if (g == nullptr) continue;
      const bool full = side == 0 ? bc_.a_full : bc_.b_full;
      const bool over = Over(side);
      auto grad_of = [&](int64_t o, int64_t ia, int64_t ib) -> float {
        switch (kind_) {
          case BinaryKind::kAdd:
            return dy[o];
          case BinaryKind::kSub:
            return side == 0 ? dy[o] : -dy[o];
          case BinaryKind::kMul:
            return side == 0 ? dy[o] * b[ib] : dy[o] * a[ia];
          case BinaryKind::kDiv:
            return side == 0 ? dy[o] / b[ib] : -dy[o] * a[ia] / (b[ib] * b[ib]);
          case BinaryKind::kMaximum:
            return (a[ia] >= b[ib]) == (side == 0) ? dy[o] : 0.0f;
          case BinaryKind::kMinimum:
            return (a[ia] <= b[ib]) == (side == 0) ? dy[o] : 0.0f;
          case BinaryKind::kSquaredDifference: {
            const float d = 2.0f * (a[ia] - b[ib]) * dy[o];
            return side == 0 ? d : -d;
          }
          case BinaryKind::kPow: {
            if (side == 0) {
              return b[ib] == 0.0f ? 0.0f : dy[o] * b[ib] * std::pow(a[ia], b[ib] - 1.0f);
            }
            return a[ia] > 0.0f ? dy[o] * std::pow(a[ia], b[ib]) * std::log(a[ia]) : 0.0f;
          }
          default:  // comparisons and logical ops
            return 0.0f;
        }
        return 0.0f;
      };
      if (full && bc_.a_full && bc_.b_full) {
        ParallelChunks(ctx, yv.size, [&](int64_t s, int64_t e, int) {
          for (int64_t i = s; i < e; ++i) {
            const float v = grad_of(i, i, i);
            g[i] = over ? v : g[i] + v;
          }
        });
        continue;
      }
      if (over) std::memset(g, 0, sizeof(float) * ctx->v(in[side]).size);
      bc_.ForEach(
          [&](int64_t o, int64_t ia, int64_t ib) { g[side == 0 ? ia : ib] += grad_of(o, ia, ib); });
    }
  }

 private:
  float Op(float a, float b) const {
    switch (kind_) {
      case BinaryKind::kAdd:
        return a + b;
      case BinaryKind::kSub:
        return a - b;
      case BinaryKind::kMul:
        return a * b;
      case BinaryKind::kDiv:
        return a / b;
      case BinaryKind::kMaximum:
        return a >= b ? a : b;
      case BinaryKind::kMinimum:
        return a <= b ? a : b;
      case BinaryKind::kSquaredDifference:
        return (a - b) * (a - b);
      case BinaryKind::kNotEqual:
        return a != b ? 1.0f : 0.0f;
      case BinaryKind::kEqual:
        return a == b ? 1.0f : 0.0f;
      case BinaryKind::kGreater:
        return a > b ? 1.0f : 0.0f;
      case BinaryKind::kGreaterEqual:
        return a >= b ? 1.0f : 0.0f;
      case BinaryKind::kLess:
        return a < b ? 1.0f : 0.0f;
      case BinaryKind::kLessEqual:
        return a <= b ? 1.0f : 0.0f;
      case BinaryKind::kLogicalAnd:
        return a != 0.0f && b != 0.0f ? 1.0f : 0.0f;
      case BinaryKind::kLogicalOr:
        return a != 0.0f || b != 0.0f ? 1.0f : 0.0f;
      case BinaryKind::kPow:
        return std::pow(a, b);
    }
    return 0.0f;
  }

  BinaryKind kind_;
  FusedAct act_ = FusedAct::kNone;
  Broadcast bc_;
};

// SELECT_V2(condition, a, b): a where the condition (a bool held as 0 / 1) is set, else b, with
// NumPy broadcasting of all three (a Keras padding mask on attention scores: the kept scores,
// else -1e9). The gradient goes to the input each element came from.
class SelectV2 : public OpKernel {
 public:
  Status Prepare(KernelContext* ctx) override {
    EDGEOPT_ENSURE(in.size() == 3 && in[0] >= 0 && in[1] >= 0 && in[2] >= 0,
                   StatusCode::kInvalidModel, "%s: needs a condition and two inputs",
                   Where().c_str());
    size_t rank = 0;
    for (int k = 0; k < 3; ++k) rank = std::max(rank, ctx->v(in[k]).shape.size());
    out_.assign(rank, 1);
    std::vector<std::vector<int>> padded(3, std::vector<int>(rank, 1));
    for (int k = 0; k < 3; ++k) {
      const std::vector<int>& s = ctx->v(in[k]).shape;
      for (size_t i = 0; i < s.size(); ++i) padded[k][rank - s.size() + i] = s[i];
    }
    for (size_t d = 0; d < rank; ++d) {
      for (int k = 0; k < 3; ++k) out_[d] = std::max(out_[d], padded[k][d]);
      for (int k = 0; k < 3; ++k) {
        EDGEOPT_ENSURE(padded[k][d] == out_[d] || padded[k][d] == 1, StatusCode::kInvalidModel,
                       "%s: input shapes do not broadcast", Where().c_str());
      }
    }
    for (int k = 0; k < 3; ++k) {
      strides_[k].assign(rank, 0);
      int64_t r = 1;
      for (size_t d = rank; d-- > 0;) {
        strides_[k][d] = padded[k][d] == 1 ? 0 : r;
        r *= padded[k][d];
      }
    }
    SetShape(&ctx->v(out[0]), out_);
    return Status::Ok();
  }

  void Forward(KernelContext* ctx) override {
    const float* c = ctx->v(in[0]).d();
    const float* a = ctx->v(in[1]).d();
    const float* b = ctx->v(in[2]).d();
    float* y = ctx->v(out[0]).d();
    Walk([&](int64_t o, const int64_t* i) { y[o] = c[i[0]] != 0.0f ? a[i[1]] : b[i[2]]; });
  }

  void Backward(KernelContext* ctx) override {
    const float* c = ctx->v(in[0]).d();
    const float* dy = ctx->v(out[0]).g();
    for (int side = 1; side <= 2; ++side) {
      float* g = InGrad(ctx, side);
      if (g == nullptr) continue;
      if (Over(side)) std::memset(g, 0, sizeof(float) * ctx->v(in[side]).size);
      Walk([&](int64_t o, const int64_t* i) {
        if ((c[i[0]] != 0.0f) == (side == 1)) g[i[side]] += dy[o];
      });
    }
  }

 private:
  // f(output index, input indices) over every output element in order.
  template <typename F>
  void Walk(F&& f) const {
    const size_t rank = out_.size();
    std::vector<int> idx(rank, 0);
    int64_t i[3] = {0, 0, 0};
    const int64_t total = NumElements(out_);
    for (int64_t o = 0; o < total; ++o) {
      f(o, i);
      for (size_t d = rank; d-- > 0;) {
        ++idx[d];
        for (int k = 0; k < 3; ++k) i[k] += strides_[k][d];
        if (idx[d] < out_[d]) break;
        for (int k = 0; k < 3; ++k) i[k] -= strides_[k][d] * out_[d];
        idx[d] = 0;
      }
    }
  }

  std::vector<int> out_;
  std::vector<int64_t> strides_[3];
};

class Prelu : public OpKernel {
 public:
  Status Prepare(KernelContext* ctx) override {
    EDGEOPT_ENSURE(in.size() == 2 && in[0] >= 0 && in[1] >= 0, StatusCode::kInvalidModel,
                   "%s: needs (input, alpha)", Where().c_str());
    EDGEOPT_RETURN_IF_ERROR(bc_.Init(ctx->v(in[0]).shape, ctx->v(in[1]).shape, Where()));
    EDGEOPT_ENSURE(bc_.a_full, StatusCode::kInvalidModel, "%s: alpha %s is larger than input %s",
                   Where().c_str(), ShapeString(ctx->v(in[1]).shape).c_str(),
                   ShapeString(ctx->v(in[0]).shape).c_str());
    SetShape(&ctx->v(out[0]), bc_.out);
    return Status::Ok();
  }

  void Forward(KernelContext* ctx) override {
    const float* x = ctx->v(in[0]).d();
    const float* al = ctx->v(in[1]).d();
    float* y = ctx->v(out[0]).d();
    bc_.ForEach(
        [&](int64_t o, int64_t ia, int64_t ib) { y[o] = x[ia] >= 0.0f ? x[ia] : al[ib] * x[ia]; });
  }

  void Backward(KernelContext* ctx) override {
    const float* x = ctx->v(in[0]).d();
    const float* al = ctx->v(in[1]).d();
    const float* dy = ctx->v(out[0]).g();
    if (float* dx = InGrad(ctx, 0)) {
      const bool over = Over(0);
      bc_.ForEach([&](int64_t o, int64_t ia, int64_t ib) {
        const float v = x[ia] >= 0.0f ? dy[o] : dy[o] * al[ib];
        dx[ia] = over ? v : dx[ia] + v;
      });
    }
    if (float* da = InGrad(ctx, 1)) {
      if (Over(1)) std::memset(da, 0, sizeof(float) * ctx->v(in[1]).size);
      bc_.ForEach([&](int64_t o, int64_t ia, int64_t ib) {
        if (x[ia] < 0.0f) da[ib] += dy[o] * x[ia];
      });
    }
  }

 private:
  Broadcast bc_;
};

// SOFTMAX (with beta) and LOG_SOFTMAX (x - max - log(sum exp(x - max)); its gradient is
// dy - softmax * sum(dy)).
class Softmax : public OpKernel {
 public:
  explicit Softmax(bool log) : log_(log) {}

  Status Prepare(KernelContext* ctx) override {
    EDGEOPT_ENSURE(!in.empty() && in[0] >= 0, StatusCode::kInvalidModel, "%s: needs an input",
                   Where().c_str());
    const Value& x = ctx->v(in[0]);
    beta_ = static_cast<float>(ir::GetFloat(node->attrs, "beta", 1.0));
    depth_ = x.shape.empty() ? 1 : x.shape.back();
    rows_ = depth_ > 0 ? x.size / depth_ : 0;
    SetShape(&ctx->v(out[0]), x.shape);
    return Status::Ok();
  }

  void Forward(KernelContext* ctx) override {
    const float* x = ctx->v(in[0]).d();
    float* y = ctx->v(out[0]).d();
    ParallelChunks(ctx, rows_, [&](int64_t b, int64_t e, int) {
      for (int64_t r = b; r < e; ++r) {
        const float* xr = x + r * depth_;
        float* yr = y + r * depth_;
        float mx = xr[0];
        for (int i = 1; i < depth_; ++i) mx = std::max(mx, xr[i]);
        float sum = 0.0f;
        if (log_) {
          for (int i = 0; i < depth_; ++i) sum += std::exp(xr[i] - mx);
          const float shift = mx + std::log(sum);
          for (int i = 0; i < depth_; ++i) yr[i] = xr[i] - shift;
          continue;
        }
        for (int i = 0; i < depth_; ++i) {
          yr[i] = std::exp(beta_ * (xr[i] - mx));
          sum += yr[i];
        }
        const float inv = 1.0f / sum;
        for (int i = 0; i < depth_; ++i) yr[i] *= inv;
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
        if (log_) {
          float total = 0.0f;
          for (int i = 0; i < depth_; ++i) total += gr[i];
          for (int i = 0; i < depth_; ++i) {
            const float v = gr[i] - std::exp(yr[i]) * total;
            dr[i] = over ? v : dr[i] + v;
          }
          continue;
        }
        float dot = 0.0f;
        for (int i = 0; i < depth_; ++i) dot += gr[i] * yr[i];
        for (int i = 0; i < depth_; ++i) {
          const float v = beta_ * yr[i] * (gr[i] - dot);
          dr[i] = over ? v : dr[i] + v;
        }
      }
    });
  }

 private:
  bool log_ = false;
  float beta_ = 1.0f;
  int depth_ = 1;
  int64_t rows_ = 0;
};

}  // namespace

std::unique_ptr<OpKernel> NewRelu() { return std::make_unique<Unary>(UnaryKind::kRelu); }
std::unique_ptr<OpKernel> NewRelu6() { return std::make_unique<Unary>(UnaryKind::kRelu6); }
std::unique_ptr<OpKernel> NewReluN1To1() { return std::make_unique<Unary>(UnaryKind::kReluN1To1); }
std::unique_ptr<OpKernel> NewLeakyRelu() { return std::make_unique<Unary>(UnaryKind::kLeakyRelu); }
std::unique_ptr<OpKernel> NewLogistic() { return std::make_unique<Unary>(UnaryKind::kLogistic); }
std::unique_ptr<OpKernel> NewTanh() { return std::make_unique<Unary>(UnaryKind::kTanh); }
std::unique_ptr<OpKernel> NewHardSwish() { return std::make_unique<Unary>(UnaryKind::kHardSwish); }
std::unique_ptr<OpKernel> NewElu() { return std::make_unique<Unary>(UnaryKind::kElu); }
std::unique_ptr<OpKernel> NewGelu() { return std::make_unique<Unary>(UnaryKind::kGelu); }
std::unique_ptr<OpKernel> NewRsqrt() { return std::make_unique<Unary>(UnaryKind::kRsqrt); }
std::unique_ptr<OpKernel> NewPrelu() { return std::make_unique<Prelu>(); }
std::unique_ptr<OpKernel> NewExp() { return std::make_unique<Unary>(UnaryKind::kExp); }
std::unique_ptr<OpKernel> NewAbs() { return std::make_unique<Unary>(UnaryKind::kAbs); }
std::unique_ptr<OpKernel> NewNeg() { return std::make_unique<Unary>(UnaryKind::kNeg); }
std::unique_ptr<OpKernel> NewLog() { return std::make_unique<Unary>(UnaryKind::kLog); }
std::unique_ptr<OpKernel> NewSqrt() { return std::make_unique<Unary>(UnaryKind::kSqrt); }
std::unique_ptr<OpKernel> NewSquare() { return std::make_unique<Unary>(UnaryKind::kSquare); }
std::unique_ptr<OpKernel> NewSoftmax() { return std::make_unique<Softmax>(false); }
std::unique_ptr<OpKernel> NewLogSoftmax() { return std::make_unique<Softmax>(true); }
std::unique_ptr<OpKernel> NewAdd() { return std::make_unique<Binary>(BinaryKind::kAdd); }
std::unique_ptr<OpKernel> NewSub() { return std::make_unique<Binary>(BinaryKind::kSub); }
std::unique_ptr<OpKernel> NewMul() { return std::make_unique<Binary>(BinaryKind::kMul); }
std::unique_ptr<OpKernel> NewDiv() { return std::make_unique<Binary>(BinaryKind::kDiv); }
std::unique_ptr<OpKernel> NewMaximum() { return std::make_unique<Binary>(BinaryKind::kMaximum); }
std::unique_ptr<OpKernel> NewMinimum() { return std::make_unique<Binary>(BinaryKind::kMinimum); }
std::unique_ptr<OpKernel> NewSquaredDifference() {
  return std::make_unique<Binary>(BinaryKind::kSquaredDifference);
}
std::unique_ptr<OpKernel> NewNotEqual() { return std::make_unique<Binary>(BinaryKind::kNotEqual); }
std::unique_ptr<OpKernel> NewEqual() { return std::make_unique<Binary>(BinaryKind::kEqual); }
std::unique_ptr<OpKernel> NewGreater() { return std::make_unique<Binary>(BinaryKind::kGreater); }
std::unique_ptr<OpKernel> NewGreaterEqual() {
  return std::make_unique<Binary>(BinaryKind::kGreaterEqual);
}
std::unique_ptr<OpKernel> NewLess() { return std::make_unique<Binary>(BinaryKind::kLess); }
std::unique_ptr<OpKernel> NewLessEqual() {
  return std::make_unique<Binary>(BinaryKind::kLessEqual);
}
std::unique_ptr<OpKernel> NewLogicalAnd() {
  return std::make_unique<Binary>(BinaryKind::kLogicalAnd);
}
std::unique_ptr<OpKernel> NewLogicalOr() {
  return std::make_unique<Binary>(BinaryKind::kLogicalOr);
}
std::unique_ptr<OpKernel> NewPow() { return std::make_unique<Binary>(BinaryKind::kPow); }
std::unique_ptr<OpKernel> NewSin() { return std::make_unique<Unary>(UnaryKind::kSin); }
std::unique_ptr<OpKernel> NewCos() { return std::make_unique<Unary>(UnaryKind::kCos); }
std::unique_ptr<OpKernel> NewFloor() { return std::make_unique<Unary>(UnaryKind::kFloor); }
std::unique_ptr<OpKernel> NewCeil() { return std::make_unique<Unary>(UnaryKind::kCeil); }
std::unique_ptr<OpKernel> NewRound() { return std::make_unique<Unary>(UnaryKind::kRound); }
std::unique_ptr<OpKernel> NewLogicalNot() {
  return std::make_unique<Unary>(UnaryKind::kLogicalNot);
}
std::unique_ptr<OpKernel> NewCast() { return std::make_unique<Unary>(UnaryKind::kCast); }
std::unique_ptr<OpKernel> NewSelectV2() { return std::make_unique<SelectV2>(); }

}  // namespace train
}  // namespace edgeopt
