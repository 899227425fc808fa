// Comparisons and selection with numpy broadcasting: EQUAL, NOT_EQUAL, LESS, LESS_EQUAL, GREATER,
// GREATER_EQUAL (float32, int32, int64, bool for (NOT_)EQUAL; int8/uint8 compared after TFLite's
// rescaling of both sides to a common fixed-point scale, left shift 8), LOGICAL_AND, LOGICAL_OR,
// LOGICAL_NOT, SELECT and SELECT_V2 (a bool condition chooses between two tensors).
#include <cstdint>
#include <cstring>
#include <utility>

#include "src/quant/quant_math.h"
#include "src/runtime/kernels/elem_util.h"
#include "src/runtime/kernels/reference/broadcast.h"

namespace edgeopt {
namespace rt {
namespace {

enum class Cmp { kEq, kNe, kLt, kLe, kGt, kGe };

// All six share one broadcast loop per type: a comparison is ((a < b) & lt | (a == b) & eq) ^
// invert of the operands in order, or swapped. EQUAL: eq; NOT_EQUAL: eq, invert; LESS: lt;
// LESS_EQUAL: lt and eq (a <= b is a < b or a == b, NaN included: both false); GREATER and
// GREATER_EQUAL: LESS and LESS_EQUAL with the operands swapped (a > b is b < a).
struct OpData {
  ref::BroadcastPlan plan;  // first operand: input 0, or input 1 when `swap`
  int32_t m1 = 0, m2 = 0;   // rescaling of the first and the second operand (int8/uint8)
  int s1 = 0, s2 = 0;
  bool swap = false;   // GREATER(_EQUAL): compare input 1 with input 0
  uint8_t lt = 0;      // 1: true where the first operand is less
  uint8_t eq = 0;      // 1: true where they are equal
  uint8_t invert = 0;  // NOT_EQUAL: 1
};

// The three flags of a comparison, held by value in the loops (the byte stores of the results
// may alias the OpData, which would reload them per element).
struct CompareFlags {
  uint8_t lt, eq, invert;
  uint8_t operator()(bool less, bool equal) const {
    return static_cast<uint8_t>(((less & lt) | (equal & eq)) ^ invert);
  }
};

// One Prepare for the six (`cmp` at run time), as the Eval.
Status ComparePrepare(Context* ctx, Node* node, Cmp cmp) {
  OpData* data;
  EDGEOPT_RETURN_IF_ERROR(GetOpData(node, &data));
  Tensor *a, *b, *out;
  EDGEOPT_RETURN_IF_ERROR(PrepareBroadcastBinary(ctx, node, &a, &b, &out, &data->plan));
  EDGEOPT_ENSURE(out->type == DType::kBool, StatusCode::kInvalidModel, "output must be bool, is %s",
                 DTypeName(out->type));
  data->invert = cmp == Cmp::kNe ? 1 : 0;
  data->swap = cmp == Cmp::kGt || cmp == Cmp::kGe;
  data->lt = cmp != Cmp::kEq && cmp != Cmp::kNe ? 1 : 0;
  data->eq = cmp != Cmp::kLt && cmp != Cmp::kGt ? 1 : 0;
  if (data->swap) {
    // The plan of (b, a): the same merged dimensions with the operands' strides exchanged.
    for (int d = 0; d < data->plan.rank; ++d) {
      std::swap(data->plan.stride_a[d], data->plan.stride_b[d]);
    }
  }
  switch (a->type) {
    case DType::kFloat32:
    case DType::kInt32:
    case DType::kInt64:
      return Status::Ok();
    case DType::kBool:
      EDGEOPT_ENSURE(cmp == Cmp::kEq || cmp == Cmp::kNe, StatusCode::kUnsupported,
                     "bool inputs can only be compared for (in)equality");
      return Status::Ok();
    case DType::kInt8:
    case DType::kUInt8:
      break;
    default:
      return MakeStatus(StatusCode::kUnsupported, "type %s is not supported", DTypeName(a->type));
  }
  EDGEOPT_RETURN_IF_ERROR(CheckPerTensorQuant(a, "input 0"));
  EDGEOPT_RETURN_IF_ERROR(CheckPerTensorQuant(b, "input 1"));
  const Tensor* first = data->swap ? b : a;
  const Tensor* second = data->swap ? a : b;
  quant::QuantizeMultiplier(first->quant.scale, &data->m1, &data->s1);
  quant::QuantizeMultiplier(second->quant.scale, &data->m2, &data->s2);
  return Status::Ok();
}

template <typename T>
void CompareTyped(const OpData* d, const Tensor* a, const Tensor* b, Tensor* out) {
  ref::BroadcastBinary(
      d->plan, a->Data<T>(), b->Data<T>(), out->Data<uint8_t>(),
      [f = CompareFlags{d->lt, d->eq, d->invert}](T x, T y) { return f(x < y, x == y); });
}

template <typename T>
void CompareQuantized(const OpData* d, const Tensor* a, const Tensor* b, Tensor* out) {
  const int32_t o1 = -a->quant.zero_point, o2 = -b->quant.zero_point;
  ref::BroadcastBinary(
      d->plan, a->Data<T>(), b->Data<T>(), out->Data<uint8_t>(),
      [d, o1, o2, f = CompareFlags{d->lt, d->eq, d->invert}](T x, T y) {
        const int32_t sx = quant::MultiplyByQuantizedMultiplier((o1 + x) * (1 << 8), d->m1, d->s1);
        const int32_t sy = quant::MultiplyByQuantizedMultiplier((o2 + y) * (1 << 8), d->m2, d->s2);
        return f(sx < sy, sx == sy);
      });
}

Status CompareEval(Context* ctx, Node* node) {
  const OpData* d = static_cast<const OpData*>(node->user_data);
  const Tensor* a = ctx->input(node, d->swap ? 1 : 0);
  const Tensor* b = ctx->input(node, d->swap ? 0 : 1);
  Tensor* out = ctx->output(node, 0);
  switch (a->type) {
    case DType::kFloat32:
      CompareTyped<float>(d, a, b, out);
      break;
    case DType::kInt32:
      CompareTyped<int32_t>(d, a, b, out);
      break;
    case DType::kInt64:
      CompareTyped<int64_t>(d, a, b, out);
      break;
    case DType::kBool: {  // bytes; any non-zero byte is true; (NOT_)EQUAL only (Prepare)
      const uint8_t invert = d->invert;
      ref::BroadcastBinary(d->plan, a->Data<uint8_t>(), b->Data<uint8_t>(), out->Data<uint8_t>(),
                           [invert](uint8_t x, uint8_t y) {
                             return static_cast<uint8_t>(((x != 0) == (y != 0)) ^ invert);
                           });
      break;
    }
    case DType::kInt8:
      CompareQuantized<int8_t>(d, a, b, out);
      break;
    default:
      CompareQuantized<uint8_t>(d, a, b, out);
      break;
  }
  return Status::Ok();
}

// --- LOGICAL_AND / LOGICAL_OR / LOGICAL_NOT ------------------------------------------------------

template <bool kAnd>
Status LogicalPrepare(Context* ctx, Node* node) {
  OpData* data;
  EDGEOPT_RETURN_IF_ERROR(GetOpData(node, &data));
  Tensor *a, *b, *out;
  EDGEOPT_RETURN_IF_ERROR(PrepareBroadcastBinary(ctx, node, &a, &b, &out, &data->plan));
  EDGEOPT_RETURN_IF_ERROR(CheckTensorType(a, DType::kBool, "input 0"));
  return CheckTensorType(out, DType::kBool, "output");
}

template <bool kAnd>
Status LogicalEval(Context* ctx, Node* node) {
  const OpData* d = static_cast<const OpData*>(node->user_data);
  ref::BroadcastBinary(
      d->plan, ctx->input(node, 0)->Data<uint8_t>(), ctx->input(node, 1)->Data<uint8_t>(),
      ctx->output(node, 0)->Data<uint8_t>(), [](uint8_t x, uint8_t y) {
        return static_cast<uint8_t>(kAnd ? (x != 0 && y != 0) : (x != 0 || y != 0));
      });
  return Status::Ok();
}

Status LogicalNotPrepare(Context* ctx, Node* node) {
  EDGEOPT_RETURN_IF_ERROR(CheckNumInputs(node, 1, 1));
  EDGEOPT_RETURN_IF_ERROR(CheckNumOutputs(node, 1));
  Tensor *in, *out;
  EDGEOPT_RETURN_IF_ERROR(GetInputChecked(ctx, node, 0, &in));
  EDGEOPT_RETURN_IF_ERROR(GetOutputChecked(ctx, node, 0, &out));
  EDGEOPT_RETURN_IF_ERROR(CheckTensorType(in, DType::kBool, "input"));
  EDGEOPT_RETURN_IF_ERROR(CheckTensorType(out, DType::kBool, "output"));
  return ctx->ResizeTensor(out, in->dims);
}

Status LogicalNotEval(Context* ctx, Node* node) {
  const Tensor* in = ctx->input(node, 0);
  Tensor* out = ctx->output(node, 0);
  const int64_t n = in->dims.NumElements();
  for (int64_t i = 0; i < n; ++i) out->data[i] = in->data[i] == 0 ? 1 : 0;
  return Status::Ok();
}

// --- SELECT / SELECT_V2 --------------------------------------------------------------------------

struct SelectData {
  Dims cond_dims;  // SELECT with a rank-1 condition over the first dimension:
                   // viewed as [n, 1...]
};

// One Prepare for both (v2: numpy broadcasting of all three, at run time): the checks are the
// same code.
Status SelectPrepare(Context* ctx, Node* node, bool v2) {
  SelectData* data;
  EDGEOPT_RETURN_IF_ERROR(GetOpData(node, &data));
  EDGEOPT_RETURN_IF_ERROR(CheckNumInputs(node, 3, 3));
  EDGEOPT_RETURN_IF_ERROR(CheckNumOutputs(node, 1));
  Tensor *cond, *x, *y, *out;
  EDGEOPT_RETURN_IF_ERROR(GetInputChecked(ctx, node, 0, &cond));
  EDGEOPT_RETURN_IF_ERROR(GetInputChecked(ctx, node, 1, &x));
  EDGEOPT_RETURN_IF_ERROR(GetInputChecked(ctx, node, 2, &y));
  EDGEOPT_RETURN_IF_ERROR(GetOutputChecked(ctx, node, 0, &out));
  EDGEOPT_RETURN_IF_ERROR(CheckTensorType(cond, DType::kBool, "condition"));
  EDGEOPT_RETURN_IF_ERROR(CheckSameType(x, y, "input 1", "input 2"));
  EDGEOPT_RETURN_IF_ERROR(CheckSameType(x, out, "input 1", "output"));
  EDGEOPT_ENSURE(DTypeSize(x->type) != 0, StatusCode::kUnsupported, "type %s is not supported",
                 DTypeName(x->type));
  Dims dims;
  data->cond_dims = cond->dims;
  if (v2) {
    Dims xy;
    EDGEOPT_RETURN_IF_ERROR(BroadcastDims(x->dims, y->dims, &xy));
    EDGEOPT_RETURN_IF_ERROR(BroadcastDims(cond->dims, xy, &dims));
  } else {
    EDGEOPT_RETURN_IF_ERROR(CheckSameDims(x, y, "input 1", "input 2"));
    dims = x->dims;
    if (cond->dims != x->dims) {
      EDGEOPT_ENSURE(cond->dims.size == 1 && x->dims.size >= 1 && cond->dims[0] == x->dims[0],
                     StatusCode::kInvalidModel,
                     "condition %s must have the inputs' shape %s or match "
                     "their first dimension",
                     DimsStr(cond->dims).c_str(), DimsStr(x->dims).c_str());
      data->cond_dims = x->dims;  // same first dimension, then broadcast
      for (int d = 1; d < x->dims.size; ++d) data->cond_dims.data[d] = 1;
    }
  }
  return ctx->ResizeTensor(out, dims);
}
Status SelectV1Prepare(Context* ctx, Node* node) { return SelectPrepare(ctx, node, false); }
Status SelectV2Prepare(Context* ctx, Node* node) { return SelectPrepare(ctx, node, true); }

// o[i] = c[i * ci] ? x[i * xi] : y[i * yi] over one row of n elements of type T.
template <typename T>
void PickRow(const uint8_t* c, int64_t ci, const uint8_t* x, int64_t xi, const uint8_t* y,
             int64_t yi, int64_t n, uint8_t* o) {
  if (ci == 1 && xi == 1 && yi == 0) {  // masked keys: scores or one value (vectorizes)
    const T* xs = reinterpret_cast<const T*>(x);
    const T v = *reinterpret_cast<const T*>(y);
    T* os = reinterpret_cast<T*>(o);
    for (int64_t i = 0; i < n; ++i) os[i] = c[i] != 0 ? xs[i] : v;
    return;
  }
  for (int64_t i = 0; i < n; ++i) {
    reinterpret_cast<T*>(o)[i] = c[i * ci] != 0 ? reinterpret_cast<const T*>(x)[i * xi]
                                                : reinterpret_cast<const T*>(y)[i * yi];
  }
}

// Row by row over the output's last axis, with numpy broadcasting of the three inputs (strides 0
// on their broadcast dims): a copy of a whole row where the condition is one value per row and
// the input it picks is whole there (a masked recurrent step: condition [B, 1], states [B, N];
// the kept queries of masked attention, [B, 1, T, 1] over scores [B, H, T, S]); otherwise a pick
// per element, typed for 1-, 2- and 4-byte types (masked keys, [B, 1, 1, S], and the -1e9).
Status SelectEval(Context* ctx, Node* node) {
  const SelectData* d = static_cast<const SelectData*>(node->user_data);
  const Tensor* c = ctx->input(node, 0);
  const Tensor* x = ctx->input(node, 1);
  const Tensor* y = ctx->input(node, 2);
  Tensor* out = ctx->output(node, 0);
  const Dims& od = out->dims;
  const int last = od.size - 1;
  const int64_t n = od.NumElements(), inner = last >= 0 ? od[last] : 1;
  if (n == 0) return Status::Ok();
  int64_t sc[kMaxDims + 1] = {}, sx[kMaxDims + 1] = {}, sy[kMaxDims + 1] = {};
  ref::BroadcastStrides(d->cond_dims, od, sc);
  ref::BroadcastStrides(x->dims, od, sx);
  ref::BroadcastStrides(y->dims, od, sy);
  const int64_t ci = last >= 0 ? sc[last] : 0, xi = last >= 0 ? sx[last] : 0,
                yi = last >= 0 ? sy[last] : 0;
  const size_t es = DTypeSize(x->type);
  int64_t index[kMaxDims] = {}, oc = 0, ox = 0, oy = 0;  // the row's offsets (an odometer)
  for (int64_t r = 0; r < n / inner; ++r) {
    if (r > 0) {
      for (int i = last - 1; i >= 0; --i) {
        oc += sc[i], ox += sx[i], oy += sy[i];
        if (++index[i] < od[i]) break;
        oc -= sc[i] * od[i], ox -= sx[i] * od[i], oy -= sy[i] * od[i];
        index[i] = 0;
      }
    }
    const uint8_t* cv = c->Data<uint8_t>() + oc;
    const uint8_t* xr = x->Data<uint8_t>() + ox * es;
    const uint8_t* yr = y->Data<uint8_t>() + oy * es;
    uint8_t* o = out->Data<uint8_t>() + r * inner * es;
    if (ci == 0 && (*cv != 0 ? xi : yi) == 1) {
      std::memcpy(o, *cv != 0 ? xr : yr, inner * es);
    } else if (es == 1) {
      PickRow<uint8_t>(cv, ci, xr, xi, yr, yi, inner, o);
    } else if (es == 2) {
      PickRow<uint16_t>(cv, ci, xr, xi, yr, yi, inner, o);
    } else if (es == 4) {
      PickRow<uint32_t>(cv, ci, xr, xi, yr, yi, inner, o);
    } else {
      for (int64_t i = 0; i < inner; ++i) {
        std::memcpy(o + i * es, cv[i * ci] != 0 ? xr + i * xi * es : yr + i * yi * es, es);
      }
    }
  }
  return Status::Ok();
}

template <Cmp kCmp>
Status ComparePrepareOf(Context* ctx, Node* node) {
  return ComparePrepare(ctx, node, kCmp);
}

template <Cmp kCmp>
const Registration* MakeCompare(const char* name) {
  static const Registration reg = {name, InitOpData<OpData>, ComparePrepareOf<kCmp>, CompareEval};
  return &reg;
}

}  // namespace

const Registration* RegisterEqual() { return MakeCompare<Cmp::kEq>("EQUAL"); }
const Registration* RegisterNotEqual() { return MakeCompare<Cmp::kNe>("NOT_EQUAL"); }
const Registration* RegisterLess() { return MakeCompare<Cmp::kLt>("LESS"); }
const Registration* RegisterLessEqual() { return MakeCompare<Cmp::kLe>("LESS_EQUAL"); }
const Registration* RegisterGreater() { return MakeCompare<Cmp::kGt>("GREATER"); }
const Registration* RegisterGreaterEqual() { return MakeCompare<Cmp::kGe>("GREATER_EQUAL"); }
const Registration* RegisterLogicalAnd() {
  static const Registration reg = {"LOGICAL_AND", InitOpData<OpData>, LogicalPrepare<true>,
                                   LogicalEval<true>};
  return &reg;
}
const Registration* RegisterLogicalOr() {
  static const Registration reg = {"LOGICAL_OR", InitOpData<OpData>, LogicalPrepare<false>,
                                   LogicalEval<false>};
  return &reg;
}
const Registration* RegisterLogicalNot() {
  static const Registration reg = {"LOGICAL_NOT", nullptr, LogicalNotPrepare, LogicalNotEval};
  return &reg;
}
const Registration* RegisterSelect() {
  static const Registration reg = {"SELECT", InitOpData<SelectData>, SelectV1Prepare, SelectEval};
  return &reg;
}
const Registration* RegisterSelectV2() {
  static const Registration reg = {"SELECT_V2", InitOpData<SelectData>, SelectV2Prepare,
                                   SelectEval};
  return &reg;
}

}  // namespace rt
}  // namespace edgeopt
