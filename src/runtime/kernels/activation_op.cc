#include "src/runtime/kernels/activation_op.h"

#include <algorithm>
#include <cstring>
#include <new>

#include "src/runtime/kernels/elem_util.h"
#include "src/runtime/thread_pool.h"

namespace edgeopt {
namespace rt {
namespace {

// Below this many elements an op runs on the calling thread (as elementwise_op.cc).
constexpr int64_t kMinParallelElements = 16384;

template <typename T>
Status NewOp(Context* ctx, T** op) {
  void* p = ctx->AllocatePersistent(sizeof(T));
  EDGEOPT_ENSURE(p != nullptr, StatusCode::kOutOfMemory, "out of memory");
  *op = new (p) T();
  return Status::Ok();
}

const uk::VUnaryConfig* Config(Context* ctx) {
  return ctx->use_optimized_kernels() ? uk::GetVUnaryConfig(ctx->cpu()) : nullptr;
}

}  // namespace

Status PrepareF32Unary(Context* ctx, F32UnaryKind kind, const Tensor* in,
                       const uk::F32UnaryParams& p, F32UnaryOp** op) {
  *op = nullptr;
  const uk::VUnaryConfig* cfg = Config(ctx);
  if (cfg == nullptr || in->type != DType::kFloat32) return Status::Ok();
  uk::F32VUnaryFn fn = nullptr;
  switch (kind) {
    case F32UnaryKind::kClamp:
      fn = cfg->clamp;
      break;
    case F32UnaryKind::kLeakyRelu:
      fn = cfg->lrelu;
      break;
    case F32UnaryKind::kHardSwish:
      fn = cfg->hswish;
      break;
    case F32UnaryKind::kLogistic:
      fn = ctx->exact_float() ? uk::GetLibmExactVUnary(ctx->cpu()).sigmoid : cfg->sigmoid;
      break;
    case F32UnaryKind::kTanh:
      fn = ctx->exact_float() ? uk::GetLibmExactVUnary(ctx->cpu()).tanh : cfg->tanh;
      break;
  }
  if (fn == nullptr) return Status::Ok();
  F32UnaryOp* o = nullptr;
  EDGEOPT_RETURN_IF_ERROR(NewOp(ctx, &o));
  o->fn = fn;
  o->params = p;
  o->n = in->dims.NumElements();
  *op = o;
  return Status::Ok();
}

void RunF32Unary(Context* ctx, const F32UnaryOp& op, const void* in, void* out) {
  const float* x = static_cast<const float*>(in);
  float* y = static_cast<float*>(out);
  ParallelRange(ctx, op.n, kMinParallelElements, [&](int64_t begin, int64_t end) {
    op.fn(static_cast<size_t>(end - begin), x + begin, y + begin, &op.params);
  });
}

Status PrepareLut(Context* ctx, const Tensor* in, const uint8_t* table, LutOp** op) {
  *op = nullptr;
  const uk::VUnaryConfig* cfg = Config(ctx);
  if (cfg == nullptr || (in->type != DType::kInt8 && in->type != DType::kUInt8)) {
    return Status::Ok();
  }
  LutOp* o = nullptr;
  EDGEOPT_RETURN_IF_ERROR(NewOp(ctx, &o));
  o->fn = cfg->lut;
  o->table = table;
  o->n = in->dims.NumElements();
  *op = o;
  return Status::Ok();
}

void RunLut(Context* ctx, const LutOp& op, const void* in, void* out) {
  const uint8_t* x = static_cast<const uint8_t*>(in);
  uint8_t* y = static_cast<uint8_t*>(out);
  ParallelRange(ctx, op.n, kMinParallelElements, [&](int64_t begin, int64_t end) {
    op.fn(static_cast<size_t>(end - begin), x + begin, y + begin, op.table);
  });
}

Status PrepareF32Softmax(Context* ctx, const Tensor* in, float beta, F32SoftmaxOp** op) {
  *op = nullptr;
  const uk::VUnaryConfig* cfg = Config(ctx);
  // beta <= 0 (or NaN) would need exp of positive arguments.
  if (cfg == nullptr || cfg->raddstoreexp == nullptr || in->type != DType::kFloat32 ||
      ctx->exact_float() || !(beta > 0.0f)) {
    return Status::Ok();
  }
  F32SoftmaxOp* o = nullptr;
  EDGEOPT_RETURN_IF_ERROR(NewOp(ctx, &o));
  o->cfg = cfg;
  o->beta = beta;
  *op = o;
  return Status::Ok();
}

void RunF32Softmax(const F32SoftmaxOp& op, const float* in, int64_t rows, int64_t depth,
                   float* out) {
  const size_t n = static_cast<size_t>(depth);
  for (int64_t r = 0; r < rows; ++r, in += depth, out += depth) {
    const float max = op.cfg->rmax(n, in);
    const float sum = op.cfg->raddstoreexp(n, in, max, op.beta, out);
    uk::F32UnaryParams scale;
    scale.alpha = 1.0f / sum;
    op.cfg->vscale(n, out, out, &scale);
  }
}

Status PrepareReduceSum(Context* ctx, const Tensor* in, const bool* reduced, ReduceSumOp** op) {
  *op = nullptr;
  const uk::VUnaryConfig* cfg = Config(ctx);
  if (cfg == nullptr) return Status::Ok();
  uk::F32RowAccFn f32 = nullptr;
  uk::X8RowAccFn x8 = nullptr;
  if (in->type == DType::kFloat32) {
    f32 = cfg->f32_rowacc;
  } else if (in->type == DType::kInt8) {
    x8 = cfg->s8_rowacc;
  } else if (in->type == DType::kUInt8) {
    x8 = cfg->u8_rowacc;
  }
  if (f32 == nullptr && x8 == nullptr) return Status::Ok();
  // Dimensions of size 1 aside: kept*, reduced+, kept* (one block of reduced dimensions).
  int64_t sizes[3] = {1, 1, 1};
  int part = 0;
  for (int d = 0; d < in->dims.size; ++d) {
    if (in->dims[d] == 1) continue;
    const int want = reduced[d] ? 1 : (part == 0 ? 0 : 2);
    if (want < part) return Status::Ok();
    part = want;
    sizes[part] *= in->dims[d];
  }
  if (sizes[1] <= 1 || sizes[0] * sizes[1] * sizes[2] == 0) return Status::Ok();
  ReduceSumOp* o = nullptr;
  EDGEOPT_RETURN_IF_ERROR(NewOp(ctx, &o));
  o->f32 = f32;
  o->x8 = x8;
  o->type = in->type;
  o->outer = sizes[0];
  o->reduce = sizes[1];
  o->inner = sizes[2];
  *op = o;
  return Status::Ok();
}

namespace {

// In the reference's order (the optimized and reference kernels agree bit for bit), in a register
// rather than through memory as the reference's general loop.
float RowSumF32(const float* x, int64_t n) {
  float s = 0.0f;
  for (int64_t i = 0; i < n; ++i) s += x[i];
  return s;
}

template <typename T>
int32_t RowSumX8(const T* x, int64_t n) {
  int32_t s = 0;
  for (int64_t i = 0; i < n; ++i) s += x[i];
  return s;
}

}  // namespace

void RunReduceSum(const ReduceSumOp& op, const void* in, void* sums) {
  if (op.inner == 1) {
    for (int64_t o = 0; o < op.outer; ++o) {
      const int64_t at = o * op.reduce;
      if (op.type == DType::kFloat32) {
        static_cast<float*>(sums)[o] = RowSumF32(static_cast<const float*>(in) + at, op.reduce);
      } else if (op.type == DType::kInt8) {
        static_cast<int32_t*>(sums)[o] = RowSumX8(static_cast<const int8_t*>(in) + at, op.reduce);
      } else {
        static_cast<int32_t*>(sums)[o] = RowSumX8(static_cast<const uint8_t*>(in) + at, op.reduce);
      }
    }
    return;
  }
  std::memset(sums, 0, static_cast<size_t>(op.outer * op.inner) * 4);
  const size_t reduce = static_cast<size_t>(op.reduce), inner = static_cast<size_t>(op.inner);
  const size_t in_bytes = op.f32 != nullptr ? 4 : 1;
  for (int64_t o = 0; o < op.outer; ++o) {
    const uint8_t* x = static_cast<const uint8_t*>(in) + o * op.reduce * op.inner * in_bytes;
    if (op.f32 != nullptr) {
      op.f32(reduce, inner, reinterpret_cast<const float*>(x),
             static_cast<float*>(sums) + o * op.inner);
    } else {
      op.x8(reduce, inner, x, static_cast<int32_t*>(sums) + o * op.inner);
    }
  }
}

}  // namespace rt
}  // namespace edgeopt
