// Reductions over constant axes: MEAN, SUM, REDUCE_PROD, REDUCE_MAX, REDUCE_MIN, and
// ARG_MAX / ARG_MIN. Quantized MEAN/SUM follow the paths of TFLite 2.9's x86 build:
//  - MEAN int8/int16, 4-d input, keep_dims, axes {1, 2}: sum of (q - zp_in), fixed-point
//    rescale by s_in / s_out, rounded division by the count, + zp_out;
//  - MEAN uint8, same case: the float-derived bias and multiplier of TFLite's Mean<uint8>;
//  - otherwise equal input/output parameters: integer mean of raw values (truncating);
//  - otherwise: float rescale of the integer sum (TFLite's QuantizedMeanOrSum).
//  - SUM 8-bit with different parameters: QuantizedMeanOrSum; with equal parameters, the raw
//    values are summed in the element type (wrapping), as TFLite.
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <type_traits>

#include "src/quant/quant_math.h"
#include "src/runtime/kernels/activation_op.h"
#include "src/runtime/kernels/elem_util.h"
#include "src/runtime/selective.h"

namespace edgeopt {
namespace rt {
namespace {

enum class Kind { kMean, kSum, kProd, kMax, kMin };

struct OpData {
  bool reduced[kMaxDims] = {};  // per input dimension
  int64_t count = 1;            // elements per output
  int32_t multiplier = 0;
  int shift = 0;
  bool spatial_mean = false;    // 4-d keep_dims mean over axes {1, 2}
  int scratch = -1;             // int32 sums (quantized MEAN / SUM)
  ReduceSumOp* fast = nullptr;  // MEAN / SUM sums (float, int8, uint8) by microkernels
};

constexpr const char* KindName(Kind kind) {
  return kind == Kind::kMean   ? "MEAN"
         : kind == Kind::kSum  ? "SUM"
         : kind == Kind::kProd ? "REDUCE_PROD"
         : kind == Kind::kMax  ? "REDUCE_MAX"
                               : "REDUCE_MIN";
}

template <Kind kKind>
Status Prepare(Context* ctx, Node* node) {
  OpData* data;
  EDGEOPT_RETURN_IF_ERROR(GetOpData(node, &data));
  EDGEOPT_RETURN_IF_ERROR(CheckNumInputs(node, 2, 2));
  EDGEOPT_RETURN_IF_ERROR(CheckNumOutputs(node, 1));
  Tensor *in, *axis_t, *out;
  EDGEOPT_RETURN_IF_ERROR(GetInputChecked(ctx, node, 0, &in));
  EDGEOPT_RETURN_IF_ERROR(GetInputChecked(ctx, node, 1, &axis_t));
  EDGEOPT_RETURN_IF_ERROR(GetOutputChecked(ctx, node, 0, &out));
  EDGEOPT_RETURN_IF_ERROR(CheckSameType(in, out, "input", "output"));
  constexpr int kMaxAxes = 64;
  int64_t axes[kMaxAxes];
  int count;
  EDGEOPT_RETURN_IF_ERROR(ReadConstInts(axis_t, "axis", axes, kMaxAxes, &count));
  const int rank = in->dims.size;
  int first_axes[2] = {-1, -1};
  for (int i = 0; i < count; ++i) {
    int a;
    EDGEOPT_RETURN_IF_ERROR(NormalizeAxis(axes[i], rank, "axis", &a));
    data->reduced[a] = true;
    if (i < 2) first_axes[i] = a;
  }
  const auto* o = GetOptions<tflite::ReducerOptions>(node);
  const bool keep_dims = o != nullptr && o->keep_dims();
  Dims dims;
  data->count = 1;
  for (int d = 0; d < rank; ++d) {
    if (data->reduced[d]) {
      data->count *= in->dims[d];
      if (keep_dims) dims.data[dims.size++] = 1;
    } else {
      dims.data[dims.size++] = in->dims[d];
    }
  }
  data->spatial_mean =
      keep_dims && rank == 4 && count == 2 &&
      ((first_axes[0] == 1 && first_axes[1] == 2) || (first_axes[0] == 2 && first_axes[1] == 1));
  // Types a selective build left out are refused here; Eval's code for them compiles out.
  switch (in->type) {
    case DType::kFloat32:
      EDGEOPT_ENSURE_TYPE_IN_BUILD(KindName(kKind), "float32");
      break;
    case DType::kInt32:
      EDGEOPT_ENSURE_TYPE_IN_BUILD(KindName(kKind), "int32");
      break;
    case DType::kInt64:
      EDGEOPT_ENSURE_TYPE_IN_BUILD(KindName(kKind), "int64");
      break;
    case DType::kInt8:
    case DType::kUInt8:
    case DType::kInt16:
      if (in->type == DType::kInt8) EDGEOPT_ENSURE_TYPE_IN_BUILD(KindName(kKind), "int8");
      if (in->type == DType::kUInt8) EDGEOPT_ENSURE_TYPE_IN_BUILD(KindName(kKind), "uint8");
      if (in->type == DType::kInt16) EDGEOPT_ENSURE_TYPE_IN_BUILD(KindName(kKind), "int16");
      EDGEOPT_ENSURE(kKind != Kind::kProd, StatusCode::kUnsupported,
                     "REDUCE_PROD supports float32, int32 and int64");
      EDGEOPT_RETURN_IF_ERROR(CheckPerTensorQuant(in, "input"));
      EDGEOPT_RETURN_IF_ERROR(CheckPerTensorQuant(out, "output"));
      if (kKind == Kind::kMax || kKind == Kind::kMin) {
        EDGEOPT_RETURN_IF_ERROR(CheckSameQuant(in, out, "input", "output"));
      }
      if (in->type == DType::kInt16 && (kKind == Kind::kMean || kKind == Kind::kSum)) {
        EDGEOPT_ENSURE(in->quant.zero_point == 0 && out->quant.zero_point == 0,
                       StatusCode::kUnsupported, "int16 MEAN/SUM need zero points 0");
      }
      quant::QuantizeMultiplier(
          static_cast<double>(in->quant.scale) / static_cast<double>(out->quant.scale),
          &data->multiplier, &data->shift);
      break;
    case DType::kBool:
      EDGEOPT_ENSURE_TYPE_IN_BUILD(KindName(kKind), "bool");
      EDGEOPT_ENSURE(kKind == Kind::kMax || kKind == Kind::kMin, StatusCode::kUnsupported,
                     "bool inputs are only supported by REDUCE_MAX/REDUCE_MIN");
      break;
    default:
      return MakeStatus(StatusCode::kUnsupported, "type %s is not supported", DTypeName(in->type));
  }
  EDGEOPT_RETURN_IF_ERROR(ctx->ResizeTensor(out, dims));
  if (kKind != Kind::kMean && kKind != Kind::kSum) return Status::Ok();
  return PrepareReduceSum(ctx, in, data->reduced, &data->fast);
}

// Output element strides per input dimension (0 for reduced dimensions).
void OutputStrides(const OpData* d, const Dims& in_dims, int64_t* strides) {
  int64_t s = 1;
  for (int i = in_dims.size - 1; i >= 0; --i) {
    strides[i] = d->reduced[i] ? 0 : s;
    if (!d->reduced[i]) s *= in_dims[i];
  }
}

// acc[out(i)] = op(acc[out(i)], in[i]) over the input in row-major order.
template <typename In, typename Acc, typename Op>
void ReduceInto(const OpData* d, const Tensor* in, Acc* acc, Op op) {
  const int rank = in->dims.size;
  const In* p = in->Data<In>();
  const int64_t n = in->dims.NumElements();
  if (rank == 0) {
    if (n > 0) acc[0] = op(acc[0], p[0]);
    return;
  }
  int64_t ostride[kMaxDims];
  OutputStrides(d, in->dims, ostride);
  const int last = rank - 1;
  const int64_t inner = in->dims[last];
  if (inner == 0 || n == 0) return;
  const int64_t rows = n / inner;
  int64_t index[kMaxDims] = {};
  int64_t oo = 0;
  for (int64_t r = 0; r < rows; ++r) {
    const In* row = p + r * inner;
    const int64_t s = ostride[last];
    for (int64_t i = 0; i < inner; ++i) acc[oo + i * s] = op(acc[oo + i * s], row[i]);
    for (int dim = last - 1; dim >= 0; --dim) {
      ++index[dim];
      oo += ostride[dim];
      if (index[dim] < in->dims[dim]) break;
      oo -= ostride[dim] * in->dims[dim];
      index[dim] = 0;
    }
  }
}

template <typename T>
void ReduceMinMax(const OpData* d, const Tensor* in, Tensor* out, bool is_max) {
  T* o = out->Data<T>();
  const int64_t n = out->dims.NumElements();
  const T init = is_max ? std::numeric_limits<T>::lowest() : std::numeric_limits<T>::max();
  for (int64_t i = 0; i < n; ++i) o[i] = init;
  if (is_max) {
    ReduceInto<T>(d, in, o, [](T a, T b) { return b > a ? b : a; });
  } else {
    ReduceInto<T>(d, in, o, [](T a, T b) { return b < a ? b : a; });
  }
}

// Sum / product in T (integers wrap, as the element-type arithmetic of TFLite's reducers).
template <typename T>
T WrapAdd(T a, T b) {
  if constexpr (std::is_integral<T>::value) {
    using U = typename std::make_unsigned<T>::type;
    return static_cast<T>(static_cast<U>(a) + static_cast<U>(b));
  } else {
    return a + b;
  }
}
template <typename T>
T WrapMul(T a, T b) {
  if constexpr (std::is_integral<T>::value) {
    using U = typename std::make_unsigned<T>::type;
    return static_cast<T>(static_cast<U>(a) * static_cast<U>(b));
  } else {
    return a * b;
  }
}

template <typename T>
void ReduceSumProd(const OpData* d, const Tensor* in, Tensor* out, bool prod) {
  T* o = out->Data<T>();
  const int64_t n = out->dims.NumElements();
  for (int64_t i = 0; i < n; ++i) o[i] = prod ? T(1) : T(0);
  if (prod) {
    ReduceInto<T>(d, in, o, WrapMul<T>);
  } else {
    ReduceInto<T>(d, in, o, WrapAdd<T>);
  }
}

// sums[i] = the int32 sum (wrapping) of the raw values reduced into output i.
template <typename T>
void RawSums(const OpData* d, const Tensor* in, int32_t* sums, int64_t n) {
  if (d->fast != nullptr) {
    RunReduceSum(*d->fast, in->data, sums);
    return;
  }
  for (int64_t i = 0; i < n; ++i) sums[i] = 0;
  ReduceInto<T>(d, in, sums, [](int32_t a, T b) { return a + static_cast<int32_t>(b); });
}

// Float-rescaled mean or sum of an integer sum (TFLite's QuantizedMeanOrSum).
template <typename T>
void QuantizedMeanOrSum(const OpData* d, const Tensor* in, Tensor* out, int32_t* sums,
                        bool compute_sum) {
  const int64_t n = out->dims.NumElements();
  RawSums<T>(d, in, sums, n);
  T* o = out->Data<T>();
  const float scale = in->quant.scale / out->quant.scale;
  const int32_t in_zp = in->quant.zero_point, out_zp = out->quant.zero_point;
  const int32_t count = static_cast<int32_t>(d->count);
  if (count <= 0) return;
  if (compute_sum) {
    const float bias = -static_cast<float>(in_zp) * scale * static_cast<float>(count);
    for (int64_t i = 0; i < n; ++i) {
      const float v = std::round(static_cast<float>(sums[i]) * scale + bias);
      const int32_t q = static_cast<int32_t>(v) + out_zp;
      o[i] = static_cast<T>(q);  // TFLite does not clamp here
    }
  } else {
    const float bias = -static_cast<float>(in_zp) * scale;  // no +0.5 here in TFLite 2.9
    const float lo = static_cast<float>(std::numeric_limits<T>::min());
    const float hi = static_cast<float>(std::numeric_limits<T>::max());
    for (int64_t i = 0; i < n; ++i) {
      const float mean = static_cast<float>(sums[i]) / static_cast<float>(count);
      float r = std::min(std::round(mean * scale + bias) + static_cast<float>(out_zp), hi);
      r = std::max(r, lo);
      o[i] = static_cast<T>(r);
    }
  }
}

template <typename T>
void MeanQuantized(const OpData* d, const Tensor* in, Tensor* out, int32_t* sums) {
  const int64_t n = out->dims.NumElements();
  const int32_t in_zp = in->quant.zero_point, out_zp = out->quant.zero_point;
  const int32_t lo = std::numeric_limits<T>::min(), hi = std::numeric_limits<T>::max();
  T* o = out->Data<T>();
  const int32_t count = static_cast<int32_t>(d->count);
  if (d->spatial_mean && !std::is_same<T, uint8_t>::value) {
    if (d->fast != nullptr) {  // sum of (q - zp) = sum of q - count * zp (mod 2^32)
      RawSums<T>(d, in, sums, n);
      const uint32_t zp_sum = static_cast<uint32_t>(d->count) * static_cast<uint32_t>(in_zp);
      for (int64_t i = 0; i < n; ++i) {
        sums[i] = static_cast<int32_t>(static_cast<uint32_t>(sums[i]) - zp_sum);
      }
    } else {
      for (int64_t i = 0; i < n; ++i) sums[i] = 0;
      ReduceInto<T>(d, in, sums, [in_zp](int32_t a, T b) { return a + (b - in_zp); });
    }
    for (int64_t i = 0; i < n; ++i) {
      int32_t acc = quant::MultiplyByQuantizedMultiplier(sums[i], d->multiplier, d->shift);
      acc = acc > 0 ? (acc + count / 2) / count : (acc - count / 2) / count;
      acc += out_zp;
      o[i] = static_cast<T>(std::min(hi, std::max(lo, acc)));
    }
  } else if (d->spatial_mean) {  // uint8
    const float in_scale = in->quant.scale, out_scale = out->quant.scale;
    const float num = static_cast<float>(count);
    const int32_t bias =
        out_zp - static_cast<int32_t>(static_cast<float>(in_zp) * in_scale / out_scale);
    const double real_scale = static_cast<double>(in_scale / (num * out_scale));
    int32_t multiplier;
    int shift;
    quant::QuantizeMultiplier(real_scale, &multiplier, &shift);
    RawSums<T>(d, in, sums, n);
    for (int64_t i = 0; i < n; ++i) {
      int32_t acc = quant::MultiplyByQuantizedMultiplier(sums[i], multiplier, shift) + bias;
      o[i] = static_cast<T>(std::min(hi, std::max(lo, acc)));
    }
  } else if (in->quant.scale == out->quant.scale && in_zp == out_zp) {
    RawSums<T>(d, in, sums, n);
    for (int64_t i = 0; i < n; ++i) o[i] = static_cast<T>(sums[i] / count);
  } else {
    QuantizedMeanOrSum<T>(d, in, out, sums, /*compute_sum=*/false);
  }
}

template <Kind kKind>
Status Eval(Context* ctx, Node* node) {
  constexpr const char* kOp = KindName(kKind);
  const OpData* d = static_cast<const OpData*>(node->user_data);
  const Tensor* in = ctx->input(node, 0);
  Tensor* out = ctx->output(node, 0);
  const int64_t n = out->dims.NumElements();
  const bool quantized =
      in->type == DType::kInt8 || in->type == DType::kUInt8 || in->type == DType::kInt16;
  if (kKind == Kind::kMax || kKind == Kind::kMin) {
    const bool is_max = kKind == Kind::kMax;
    switch (in->type) {
      case DType::kFloat32:
        if constexpr (TypeInBuild(kOp, "float32")) ReduceMinMax<float>(d, in, out, is_max);
        break;
      case DType::kInt32:
        if constexpr (TypeInBuild(kOp, "int32")) ReduceMinMax<int32_t>(d, in, out, is_max);
        break;
      case DType::kInt64:
        if constexpr (TypeInBuild(kOp, "int64")) ReduceMinMax<int64_t>(d, in, out, is_max);
        break;
      case DType::kInt8:
        if constexpr (TypeInBuild(kOp, "int8")) ReduceMinMax<int8_t>(d, in, out, is_max);
        break;
      case DType::kInt16:
        if constexpr (TypeInBuild(kOp, "int16")) ReduceMinMax<int16_t>(d, in, out, is_max);
        break;
      default:  // uint8, bool (stored as bytes)
        if constexpr (TypeInBuild(kOp, "uint8") || TypeInBuild(kOp, "bool")) {
          ReduceMinMax<uint8_t>(d, in, out, is_max);
        }
        break;
    }
    return Status::Ok();
  }
  if (kKind == Kind::kMean && in->dims.NumElements() == 0) {
    // TFLite fills an empty mean with NaN (0 for integers).
    if (out->type == DType::kFloat32) {
      for (int64_t i = 0; i < n; ++i)
        out->Data<float>()[i] = std::numeric_limits<float>::quiet_NaN();
    } else if (out->bytes > 0) {
      std::memset(out->data, 0, out->bytes);
    }
    return Status::Ok();
  }
  if (!quantized) {
    const bool prod = kKind == Kind::kProd;
    switch (in->type) {
      case DType::kFloat32:
        if constexpr (!TypeInBuild(kOp, "float32")) break;
        if (d->fast != nullptr) {
          RunReduceSum(*d->fast, in->data, out->data);
        } else {
          ReduceSumProd<float>(d, in, out, prod);
        }
        if (kKind == Kind::kMean && d->count > 0) {
          const float c = static_cast<float>(d->count);
          for (int64_t i = 0; i < n; ++i) out->Data<float>()[i] /= c;
        }
        break;
      case DType::kInt32:
        if constexpr (!TypeInBuild(kOp, "int32")) break;
        ReduceSumProd<int32_t>(d, in, out, prod);
        if (kKind == Kind::kMean && d->count > 0) {
          for (int64_t i = 0; i < n; ++i) {
            out->Data<int32_t>()[i] = static_cast<int32_t>(out->Data<int32_t>()[i] / d->count);
          }
        }
        break;
      default:
        if constexpr (!TypeInBuild(kOp, "int64")) break;
        ReduceSumProd<int64_t>(d, in, out, prod);
        if (kKind == Kind::kMean && d->count > 0) {
          for (int64_t i = 0; i < n; ++i) out->Data<int64_t>()[i] /= d->count;
        }
        break;
    }
    return Status::Ok();
  }
  int32_t* sums = static_cast<int32_t*>(ctx->GetScratch(d->scratch));
  if (kKind == Kind::kSum) {
    const bool same =
        in->quant.scale == out->quant.scale && in->quant.zero_point == out->quant.zero_point;
    if (same || in->type == DType::kInt16) {
      switch (in->type) {
        case DType::kInt8:
          if constexpr (TypeInBuild(kOp, "int8")) ReduceSumProd<int8_t>(d, in, out, false);
          break;
        case DType::kUInt8:
          if constexpr (TypeInBuild(kOp, "uint8")) ReduceSumProd<uint8_t>(d, in, out, false);
          break;
        default:
          if constexpr (TypeInBuild(kOp, "int16")) ReduceSumProd<int16_t>(d, in, out, false);
          break;
      }
    } else if (in->type == DType::kInt8) {
      if constexpr (TypeInBuild(kOp, "int8")) QuantizedMeanOrSum<int8_t>(d, in, out, sums, true);
    } else {
      if constexpr (TypeInBuild(kOp, "uint8")) QuantizedMeanOrSum<uint8_t>(d, in, out, sums, true);
    }
    return Status::Ok();
  }
  switch (in->type) {  // MEAN
    case DType::kInt8:
      if constexpr (TypeInBuild(kOp, "int8")) MeanQuantized<int8_t>(d, in, out, sums);
      break;
    case DType::kUInt8:
      if constexpr (TypeInBuild(kOp, "uint8")) MeanQuantized<uint8_t>(d, in, out, sums);
      break;
    default:
      if constexpr (TypeInBuild(kOp, "int16")) MeanQuantized<int16_t>(d, in, out, sums);
      break;
  }
  return Status::Ok();
}

// Quantized MEAN / SUM accumulate in int32 scratch (one per output element).
template <Kind kKind>
Status PrepareWithScratch(Context* ctx, Node* node) {
  EDGEOPT_RETURN_IF_ERROR(Prepare<kKind>(ctx, node));
  const Tensor* in = ctx->input(node, 0);
  const Tensor* out = ctx->output(node, 0);
  if (in->type == DType::kInt8 || in->type == DType::kUInt8 || in->type == DType::kInt16) {
    OpData* data = static_cast<OpData*>(node->user_data);
    EDGEOPT_RETURN_IF_ERROR(ctx->RequestScratch(
        static_cast<size_t>(std::max<int64_t>(out->dims.NumElements(), 1)) * sizeof(int32_t),
        &data->scratch));
  }
  return Status::Ok();
}

// --- ARG_MAX / ARG_MIN ---------------------------------------------------------------------------

// One Prepare and one Eval for both ops (`max` at run time): second copies were 2.7 KB of the
// runtime for an op that runs once per inference at most.
struct ArgData {
  int axis = 0;
  bool max = true;
};

Status ArgPrepare(Context* ctx, Node* node, bool max) {
  ArgData* data;
  EDGEOPT_RETURN_IF_ERROR(GetOpData(node, &data));
  data->max = max;
  EDGEOPT_RETURN_IF_ERROR(CheckNumInputs(node, 2, 2));
  EDGEOPT_RETURN_IF_ERROR(CheckNumOutputs(node, 1));
  Tensor *in, *axis_t, *out;
  EDGEOPT_RETURN_IF_ERROR(GetInputChecked(ctx, node, 0, &in));
  EDGEOPT_RETURN_IF_ERROR(GetInputChecked(ctx, node, 1, &axis_t));
  EDGEOPT_RETURN_IF_ERROR(GetOutputChecked(ctx, node, 0, &out));
  int64_t axis;
  int count;
  EDGEOPT_RETURN_IF_ERROR(ReadConstInts(axis_t, "axis", &axis, 1, &count));
  EDGEOPT_ENSURE(count == 1, StatusCode::kInvalidModel, "axis must have one element");
  EDGEOPT_RETURN_IF_ERROR(NormalizeAxis(axis, in->dims.size, "axis", &data->axis));
  EDGEOPT_ENSURE(out->type == DType::kInt32 || out->type == DType::kInt64,
                 StatusCode::kInvalidModel, "output must be int32 or int64, is %s",
                 DTypeName(out->type));
  switch (in->type) {
    case DType::kFloat32:
    case DType::kInt8:
    case DType::kUInt8:
    case DType::kInt16:
    case DType::kInt32:
    case DType::kInt64:
    case DType::kBool:
      break;
    default:
      return MakeStatus(StatusCode::kUnsupported, "type %s is not supported", DTypeName(in->type));
  }
  Dims dims;
  for (int d = 0; d < in->dims.size; ++d) {
    if (d != data->axis) dims.data[dims.size++] = in->dims[d];
  }
  return ctx->ResizeTensor(out, dims);
}
Status ArgMaxPrepare(Context* ctx, Node* node) { return ArgPrepare(ctx, node, true); }
Status ArgMinPrepare(Context* ctx, Node* node) { return ArgPrepare(ctx, node, false); }

// Index of the first maximum (minimum) along the axis.
template <typename T, typename Out>
void ArgTyped(const Tensor* in, int axis, bool max, Tensor* out) {
  const T* p = in->Data<T>();
  Out* o = out->Data<Out>();
  const int64_t outer = in->dims.FlatSize(0, axis);
  const int64_t size = in->dims[axis];
  const int64_t inner = in->dims.FlatSize(axis + 1, in->dims.size);
  for (int64_t a = 0; a < outer; ++a) {
    for (int64_t b = 0; b < inner; ++b) {
      const T* base = p + a * size * inner + b;
      int64_t best = 0;
      T best_value = size > 0 ? base[0] : T();
      for (int64_t k = 1; k < size; ++k) {
        const T v = base[k * inner];
        if (max ? (v > best_value) : (v < best_value)) {
          best_value = v;
          best = k;
        }
      }
      o[a * inner + b] = static_cast<Out>(best);
    }
  }
}

template <typename T>
void ArgDispatch(const Tensor* in, int axis, bool max, Tensor* out) {
  if (out->type == DType::kInt64) {
    ArgTyped<T, int64_t>(in, axis, max, out);
  } else {
    ArgTyped<T, int32_t>(in, axis, max, out);
  }
}

Status ArgEval(Context* ctx, Node* node) {
  const ArgData* d = static_cast<const ArgData*>(node->user_data);
  const Tensor* in = ctx->input(node, 0);
  Tensor* out = ctx->output(node, 0);
  switch (in->type) {
    case DType::kFloat32:
      ArgDispatch<float>(in, d->axis, d->max, out);
      break;
    case DType::kInt8:
      ArgDispatch<int8_t>(in, d->axis, d->max, out);
      break;
    case DType::kInt16:
      ArgDispatch<int16_t>(in, d->axis, d->max, out);
      break;
    case DType::kInt32:
      ArgDispatch<int32_t>(in, d->axis, d->max, out);
      break;
    case DType::kInt64:
      ArgDispatch<int64_t>(in, d->axis, d->max, out);
      break;
    default:  // uint8, bool
      ArgDispatch<uint8_t>(in, d->axis, d->max, out);
      break;
  }
  return Status::Ok();
}

}  // namespace

const Registration* RegisterArgMax() {
  static const Registration reg = {"ARG_MAX", InitOpData<ArgData>, ArgMaxPrepare, ArgEval};
  return &reg;
}
const Registration* RegisterArgMin() {
  static const Registration reg = {"ARG_MIN", InitOpData<ArgData>, ArgMinPrepare, ArgEval};
  return &reg;
}

const Registration* RegisterMean() {
  static const Registration reg = {"MEAN", InitOpData<OpData>, PrepareWithScratch<Kind::kMean>,
                                   Eval<Kind::kMean>};
  return &reg;
}
const Registration* RegisterSum() {
  static const Registration reg = {"SUM", InitOpData<OpData>, PrepareWithScratch<Kind::kSum>,
                                   Eval<Kind::kSum>};
  return &reg;
}
const Registration* RegisterReduceProd() {
  static const Registration reg = {"REDUCE_PROD", InitOpData<OpData>, Prepare<Kind::kProd>,
                                   Eval<Kind::kProd>};
  return &reg;
}
const Registration* RegisterReduceMax() {
  static const Registration reg = {"REDUCE_MAX", InitOpData<OpData>, Prepare<Kind::kMax>,
                                   Eval<Kind::kMax>};
  return &reg;
}
const Registration* RegisterReduceMin() {
  static const Registration reg = {"REDUCE_MIN", InitOpData<OpData>, Prepare<Kind::kMin>,
                                   Eval<Kind::kMin>};
  return &reg;
}

}  // namespace rt
}  // namespace edgeopt
