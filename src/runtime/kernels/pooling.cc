// MAX_POOL_2D, AVERAGE_POOL_2D and L2_POOL_2D on NHWC tensors.
//  - Windows are clipped to the input; the average divides by the number of input elements the
//    window covers (padding is never averaged in), as TFLite.
//  - Quantized inputs (int8, uint8, int16) keep their scale and zero point: the max is taken on
//    raw values; the average of raw values is rounded half away from zero:
//    (sum +/- count/2) / count with C++ truncating division.
//  - The fused activation clamps in the output's domain.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>

#include "src/quant/quant_math.h"
#include "src/runtime/kernels/elem_util.h"
#include "src/runtime/kernels/ukernels/configs.h"
#include "src/runtime/thread_pool.h"

namespace edgeopt {
namespace rt {
namespace {

enum class PoolKind { kMax, kAverage, kL2 };

struct OpData {
  int stride_h = 1, stride_w = 1, filter_h = 1, filter_w = 1;
  int pad_h = 0, pad_w = 0;
  float f_min = 0, f_max = 0;
  int32_t q_min = 0, q_max = 0;
  uk::PoolFn fast = nullptr;  // MAX / AVERAGE of float, int8, uint8 (ukernels.h)
};

// Parallel when at least this many input elements are read in all.
constexpr int64_t kMinParallelReads = 64 * 1024;

// The microkernel for this pool, or nullptr (the reference then runs).
template <PoolKind kKind>
uk::PoolFn ChooseFast(const Context* ctx, DType type, const OpData& d) {
  if (kKind == PoolKind::kL2 || !ctx->use_optimized_kernels()) return nullptr;
  const uk::PoolConfig* cfg = uk::GetPoolConfig(ctx->cpu());
  if (cfg == nullptr) return nullptr;
  if (type == DType::kInt16) return kKind == PoolKind::kMax ? cfg->max_s16 : nullptr;
  const int index = type == DType::kFloat32 ? 0 : type == DType::kInt8 ? 1 : 2;
  if (type != DType::kFloat32 && type != DType::kInt8 && type != DType::kUInt8) return nullptr;
  if (kKind == PoolKind::kMax) return cfg->max[index];
  if (index > 0 && int64_t{d.filter_h} * d.filter_w > uk::kPoolMaxAvgWindow) return nullptr;
  return cfg->avg[index];
}

template <PoolKind kKind>
Status Prepare(Context* ctx, Node* node) {
  OpData* data;
  EDGEOPT_RETURN_IF_ERROR(GetOpData(node, &data));
  EDGEOPT_RETURN_IF_ERROR(CheckNumInputs(node, 1, 1));
  EDGEOPT_RETURN_IF_ERROR(CheckNumOutputs(node, 1));
  Tensor *in, *out;
  EDGEOPT_RETURN_IF_ERROR(GetInputChecked(ctx, node, 0, &in));
  EDGEOPT_RETURN_IF_ERROR(GetOutputChecked(ctx, node, 0, &out));
  EDGEOPT_RETURN_IF_ERROR(CheckSameType(in, out, "input", "output"));
  EDGEOPT_ENSURE(in->dims.size == 4, StatusCode::kInvalidModel,
                 "input must be 4-d (NHWC), has shape %s", DimsStr(in->dims).c_str());
  const auto* o = GetOptions<tflite::Pool2DOptions>(node);
  EDGEOPT_ENSURE(o != nullptr, StatusCode::kInvalidModel, "Pool2DOptions are missing");
  data->stride_h = o->stride_h();
  data->stride_w = o->stride_w();
  data->filter_h = o->filter_height();
  data->filter_w = o->filter_width();
  EDGEOPT_ENSURE(
      data->stride_h > 0 && data->stride_w > 0 && data->filter_h > 0 && data->filter_w > 0,
      StatusCode::kInvalidModel, "strides (%d, %d) and filter size (%d, %d) must be positive",
      data->stride_h, data->stride_w, data->filter_h, data->filter_w);
  EDGEOPT_ENSURE(o->padding() == tflite::Padding::SAME || o->padding() == tflite::Padding::VALID,
                 StatusCode::kInvalidModel, "unknown padding %d", static_cast<int>(o->padding()));
  // Output size and padding as TFLite computes them, in 64-bit so that hostile strides or window
  // sizes cannot overflow.
  const bool same = o->padding() == tflite::Padding::SAME;
  auto out_size = [same](int64_t in, int64_t filter, int64_t stride) {
    return same ? (in + stride - 1) / stride : (in + stride - filter) / stride;
  };
  auto padding = [](int64_t in, int64_t filter, int64_t stride, int64_t out) {
    const int64_t total = (out - 1) * stride + filter - in;
    return total > 0 ? total / 2 : 0;
  };
  const int64_t out_h = out_size(in->dims[1], data->filter_h, data->stride_h);
  const int64_t out_w = out_size(in->dims[2], data->filter_w, data->stride_w);
  EDGEOPT_ENSURE(out_h >= 0 && out_w >= 0, StatusCode::kInvalidModel,
                 "the %dx%d window does not fit the %dx%d input", data->filter_h, data->filter_w,
                 in->dims[1], in->dims[2]);
  const int64_t pad_h = padding(in->dims[1], data->filter_h, data->stride_h, out_h);
  const int64_t pad_w = padding(in->dims[2], data->filter_w, data->stride_w, out_w);
  EDGEOPT_ENSURE(pad_h <= INT32_MAX / 4 && pad_w <= INT32_MAX / 4, StatusCode::kInvalidModel,
                 "the %dx%d window is too large", data->filter_h, data->filter_w);
  data->pad_h = static_cast<int>(pad_h);
  data->pad_w = static_cast<int>(pad_w);
  const int activation = static_cast<int>(o->fused_activation_function());
  switch (in->type) {
    case DType::kFloat32:
      quant::ActivationRangeFloat(activation, &data->f_min, &data->f_max);
      break;
    case DType::kInt8:
    case DType::kUInt8:
    case DType::kInt16:
      EDGEOPT_ENSURE(kKind != PoolKind::kL2, StatusCode::kUnsupported,
                     "L2_POOL_2D supports float32 only");
      EDGEOPT_RETURN_IF_ERROR(CheckPerTensorQuant(in, "input"));
      EDGEOPT_RETURN_IF_ERROR(CheckPerTensorQuant(out, "output"));
      quant::ActivationRangeQuantized(activation, out->quant.scale, out->quant.zero_point,
                                      QuantMin(out->type), QuantMax(out->type), &data->q_min,
                                      &data->q_max);
      break;
    default:
      return MakeStatus(StatusCode::kUnsupported, "pooling does not support type %s",
                        DTypeName(in->type));
  }
  EDGEOPT_ENSURE(out_h <= INT32_MAX && out_w <= INT32_MAX, StatusCode::kInvalidModel,
                 "output is too large");
  data->fast = in->dims[3] <= INT32_MAX / 4 ? ChooseFast<kKind>(ctx, in->type, *data) : nullptr;
  return ctx->ResizeTensor(out, MakeDims({in->dims[0], static_cast<int32_t>(out_h),
                                          static_cast<int32_t>(out_w), in->dims[3]}));
}

// The taps [begin, end) of a window along one axis that fall inside the image (size values);
// the window of output position o starts at `origin` (negative in the padding).
struct Span {
  int64_t origin, begin, end;
};
Span Clip(int64_t o, int64_t stride, int64_t pad, int64_t filter, int64_t size) {
  const int64_t origin = o * stride - pad;
  return {origin, std::max<int64_t>(0, -origin), std::min<int64_t>(filter, size - origin)};
}

// Reduces each clipped window per channel: acc = init, acc op= v, out = finish(acc, count).
template <PoolKind kKind, typename T, typename Acc, typename Finish>
void Pool(const OpData* d, const Tensor* in, Tensor* out, Acc init, Finish finish) {
  const int64_t batches = in->dims[0], in_h = in->dims[1], in_w = in->dims[2];
  const int64_t depth = in->dims[3];
  const int64_t out_h = out->dims[1], out_w = out->dims[2];
  const T* p = in->Data<T>();
  T* o = out->Data<T>();
  for (int64_t b = 0; b < batches; ++b) {
    for (int64_t oy = 0; oy < out_h; ++oy) {
      const Span ys = Clip(oy, d->stride_h, d->pad_h, d->filter_h, in_h);
      const int64_t y0 = ys.origin, fy_start = ys.begin, fy_end = ys.end;
      for (int64_t ox = 0; ox < out_w; ++ox) {
        const Span xs = Clip(ox, d->stride_w, d->pad_w, d->filter_w, in_w);
        const int64_t x0 = xs.origin, fx_start = xs.begin, fx_end = xs.end;
        const int64_t count =
            std::max<int64_t>(0, fy_end - fy_start) * std::max<int64_t>(0, fx_end - fx_start);
        T* dst = o + ((b * out_h + oy) * out_w + ox) * depth;
        for (int64_t c = 0; c < depth; ++c) {
          Acc acc = init;
          for (int64_t fy = fy_start; fy < fy_end; ++fy) {
            const T* row = p + ((b * in_h + y0 + fy) * in_w + x0) * depth + c;
            for (int64_t fx = fx_start; fx < fx_end; ++fx) {
              const Acc v = static_cast<Acc>(row[fx * depth]);
              if (kKind == PoolKind::kMax) {
                acc = v > acc ? v : acc;
              } else if (kKind == PoolKind::kAverage) {
                acc += v;
              } else {
                acc += v * v;
              }
            }
          }
          dst[c] = finish(acc, count);
        }
      }
    }
  }
}

template <PoolKind kKind, typename T>
void PoolQuantized(const OpData* d, const Tensor* in, Tensor* out) {
  const int32_t lo = d->q_min, hi = d->q_max;
  if (kKind == PoolKind::kMax) {
    Pool<kKind, T>(
        d, in, out, static_cast<int32_t>(std::numeric_limits<T>::lowest()),
        [lo, hi](int32_t acc, int64_t) { return static_cast<T>(std::min(hi, std::max(lo, acc))); });
  } else {
    // 64-bit sums: the windows of hostile models cannot overflow them.
    Pool<kKind, T>(d, in, out, int64_t{0}, [lo, hi](int64_t acc, int64_t count) {
      if (count == 0) return static_cast<T>(std::min(hi, std::max(lo, 0)));
      const int64_t avg = acc >= 0 ? (acc + count / 2) / count : (acc - count / 2) / count;
      return static_cast<T>(std::min<int64_t>(hi, std::max<int64_t>(lo, avg)));
    });
  }
}

// Eight int16 lanes (GCC/Clang vector extension: SSE2 on x86-64, NEON on Arm), so that the
// max below is vector code also in this file's size-optimized build.
typedef int16_t I16x8 __attribute__((vector_size(16)));

inline I16x8 Load8(const int16_t* p) {
  I16x8 v;
  std::memcpy(&v, p, sizeof(v));
  return v;
}

// a where `take_a` (lanes all ones or all zeros, as comparisons give), else b.
inline I16x8 Select(I16x8 take_a, I16x8 a, I16x8 b) { return (a & take_a) | (b & ~take_a); }

// dst[c] = max(dst[c], src[c]).
void MaxInto(int16_t* dst, const int16_t* src, int64_t n) {
  int64_t c = 0;
  for (; c + 8 <= n; c += 8) {
    const I16x8 a = Load8(dst + c), b = Load8(src + c);
    const I16x8 m = Select(a > b, a, b);
    std::memcpy(dst + c, &m, sizeof(m));
  }
  for (; c < n; ++c) dst[c] = std::max(dst[c], src[c]);
}

// dst[c] = min(max(src[c], lo), hi).
void ClampInto(int16_t* dst, const int16_t* src, int64_t n, int16_t lo, int16_t hi) {
  const I16x8 vlo = {lo, lo, lo, lo, lo, lo, lo, lo}, vhi = {hi, hi, hi, hi, hi, hi, hi, hi};
  int64_t c = 0;
  for (; c + 8 <= n; c += 8) {
    I16x8 v = Load8(src + c);
    v = Select(v < vlo, vlo, v);
    v = Select(v > vhi, vhi, v);
    std::memcpy(dst + c, &v, sizeof(v));
  }
  for (; c < n; ++c) dst[c] = std::min(hi, std::max(lo, src[c]));
}

// rows(r0, r1) over all output rows r (batch item * out_h + oy) in ranges, split over the pool
// when the windows read enough values to pay for it.
template <typename F>
void ForEachOutputRows(Context* ctx, const OpData* d, const Tensor* out, F&& rows_fn) {
  const int64_t rows = int64_t{out->dims[0]} * out->dims[1];
  const int64_t reads = out->dims.NumElements() * d->filter_h * d->filter_w;
  if (ctx->num_threads() > 1 && rows > 1 && reads >= kMinParallelReads) {
    const int tasks = static_cast<int>(std::min<int64_t>(rows, ctx->num_threads() * 4));
    ctx->thread_pool()->ParallelFor(
        tasks, [&](int t, int) { rows_fn(rows * t / tasks, rows * (t + 1) / tasks); });
  } else {
    rows_fn(0, rows);
  }
}

// row(r) for every output row r, as ForEachOutputRows.
template <typename F>
void ForEachOutputRow(Context* ctx, const OpData* d, const Tensor* out, F&& row) {
  ForEachOutputRows(ctx, d, out, [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; ++r) row(r);
  });
}

// MAX_POOL of int16, which has no microkernel: the reference's max and clamp, with the channels
// innermost in 8-lane vectors.
void MaxPoolInt16(Context* ctx, const OpData* d, const Tensor* in, Tensor* out) {
  const int64_t in_h = in->dims[1], in_w = in->dims[2], depth = in->dims[3];
  const int64_t out_h = out->dims[1], out_w = out->dims[2];
  const int16_t lo = static_cast<int16_t>(d->q_min), hi = static_cast<int16_t>(d->q_max);
  const int16_t* p = in->Data<int16_t>();
  int16_t* o = out->Data<int16_t>();
  ForEachOutputRow(ctx, d, out, [&](int64_t r) {
    const int64_t b = r / out_h;
    const Span ys = Clip(r % out_h, d->stride_h, d->pad_h, d->filter_h, in_h);
    for (int64_t ox = 0; ox < out_w; ++ox) {
      const Span xs = Clip(ox, d->stride_w, d->pad_w, d->filter_w, in_w);
      int16_t* dst = o + (r * out_w + ox) * depth;
      bool empty = true;  // the first pixel is copied: max(lowest, x) = x
      for (int64_t fy = ys.begin; fy < ys.end; ++fy) {
        for (int64_t fx = xs.begin; fx < xs.end; ++fx) {
          const int16_t* src = p + ((b * in_h + ys.origin + fy) * in_w + xs.origin + fx) * depth;
          if (empty) {
            std::memcpy(dst, src, sizeof(int16_t) * depth);
          } else {
            MaxInto(dst, src, depth);
          }
          empty = false;
        }
      }
      if (empty) std::fill(dst, dst + depth, std::numeric_limits<int16_t>::lowest());
      ClampInto(dst, dst, depth, lo, hi);
    }
  });
}

// The microkernel path: one call per output pixel with its clipped window, or per run of
// pixels whose windows lie inside the image; output rows split over the pool.
void PoolFast(Context* ctx, const OpData* d, const Tensor* in, Tensor* out) {
  const int64_t in_h = in->dims[1], in_w = in->dims[2];
  const int depth = in->dims[3];
  const int64_t out_h = out->dims[1], out_w = out->dims[2];
  const size_t elem = DTypeSize(in->type);
  const uint8_t* p = static_cast<const uint8_t*>(in->data);
  uint8_t* o = static_cast<uint8_t*>(out->data);
  // Columns [x_lo, x_hi) have windows wholly inside the row (they are contiguous): one
  // microkernel call per row; the clipped ones at either end go one at a time.
  int64_t x_lo = out_w, x_hi = out_w;
  for (int64_t ox = 0; ox < out_w; ++ox) {
    const Span xs = Clip(ox, d->stride_w, d->pad_w, d->filter_w, in_w);
    if (xs.begin == 0 && xs.end == d->filter_w) {
      x_lo = std::min(x_lo, ox);
      x_hi = ox + 1;
    }
  }
  // A single output column whose window lies inside the row (a 3x3 pool of a 3-wide input,
  // say): consecutive output rows are consecutive pixels, so a run of rows whose windows lie
  // inside the image goes to one call, their windows stride_h input rows apart.
  const bool column = out_w == 1 && x_lo == 0;
  uk::PoolArgs common;
  common.channels = depth;
  common.row_stride = static_cast<ptrdiff_t>(in_w * depth);
  common.fmin = d->f_min;
  common.fmax = d->f_max;
  common.qmin = d->q_min;
  common.qmax = d->q_max;
  auto rows = [&](int64_t r0, int64_t r1) {
    uk::PoolArgs args = common;  // (each thread its own)
    for (int64_t r = r0; r < r1;) {
      const int64_t b = r / out_h, oy = r % out_h;
      const Span ys = Clip(oy, d->stride_h, d->pad_h, d->filter_h, in_h);
      const int64_t y0 = ys.origin, fy_start = ys.begin, fy_end = ys.end;
      args.in_step = static_cast<ptrdiff_t>(int64_t{d->stride_w} * depth);
      if (column && fy_start == 0 && fy_end == d->filter_h) {
        int64_t n = 1;  // rows r + 1, ... of batch item b with windows inside the image
        while (r + n < r1 && oy + n < out_h &&  // (later windows start further down)
               Clip(oy + n, d->stride_h, d->pad_h, d->filter_h, in_h).end == d->filter_h) {
          ++n;
        }
        args.rows = d->filter_h;
        args.cols = d->filter_w;
        args.pixels = static_cast<int>(n);
        args.in_step = static_cast<ptrdiff_t>(int64_t{d->stride_h} * in_w * depth);
        args.in = p + (b * in_h + y0) * in_w * depth * elem;  // x_lo == 0: no left padding
        args.out = o + r * depth * elem;
        d->fast(args);
        r += n;
        continue;
      }
      for (int64_t ox = 0; ox < out_w;) {
        const Span xs = Clip(ox, d->stride_w, d->pad_w, d->filter_w, in_w);
        const int64_t x0 = xs.origin, fx_start = xs.begin, fx_end = xs.end;
        args.rows = static_cast<int>(std::max<int64_t>(0, fy_end - fy_start));
        args.cols = static_cast<int>(std::max<int64_t>(0, fx_end - fx_start));
        const int64_t n = ox == x_lo ? x_hi - x_lo : 1;
        args.pixels = static_cast<int>(n);
        if (args.rows == 0 || args.cols == 0) {
          args.rows = args.cols = 0;
          args.in = p;
        } else {
          args.in = p + ((b * in_h + y0 + fy_start) * in_w + x0 + fx_start) * depth * elem;
        }
        args.out = o + ((b * out_h + oy) * out_w + ox) * depth * elem;
        d->fast(args);
        ox += n;
      }
      ++r;
    }
  };
  ForEachOutputRows(ctx, d, out, rows);
}

template <PoolKind kKind>
Status Eval(Context* ctx, Node* node) {
  const OpData* d = static_cast<const OpData*>(node->user_data);
  const Tensor* in = ctx->input(node, 0);
  Tensor* out = ctx->output(node, 0);
  if (d->fast != nullptr) {
    PoolFast(ctx, d, in, out);
    return Status::Ok();
  }
  switch (in->type) {
    case DType::kFloat32: {
      const float lo = d->f_min, hi = d->f_max;
      const float init = kKind == PoolKind::kMax ? std::numeric_limits<float>::lowest() : 0.0f;
      Pool<kKind, float>(d, in, out, init, [lo, hi](float acc, int64_t count) {
        float v = acc;
        if (kKind == PoolKind::kAverage) v = count > 0 ? acc / static_cast<float>(count) : 0.0f;
        if (kKind == PoolKind::kL2)
          v = count > 0 ? std::sqrt(acc / static_cast<float>(count)) : 0.0f;
        return std::min(hi, std::max(lo, v));
      });
      break;
    }
    case DType::kInt8:
      PoolQuantized<kKind, int8_t>(d, in, out);
      break;
    case DType::kUInt8:
      PoolQuantized<kKind, uint8_t>(d, in, out);
      break;
    default:
      if (kKind == PoolKind::kMax && ctx->use_optimized_kernels()) {
        MaxPoolInt16(ctx, d, in, out);
      } else {
        PoolQuantized<kKind, int16_t>(d, in, out);
      }
      break;
  }
  return Status::Ok();
}

}  // namespace

const Registration* RegisterMaxPool2D() {
  static const Registration reg = {"MAX_POOL_2D", InitOpData<OpData>, Prepare<PoolKind::kMax>,
                                   Eval<PoolKind::kMax>};
  return &reg;
}
const Registration* RegisterAveragePool2D() {
  static const Registration reg = {"AVERAGE_POOL_2D", InitOpData<OpData>,
                                   Prepare<PoolKind::kAverage>, Eval<PoolKind::kAverage>};
  return &reg;
}
const Registration* RegisterL2Pool2D() {
  static const Registration reg = {"L2_POOL_2D", InitOpData<OpData>, Prepare<PoolKind::kL2>,
                                   Eval<PoolKind::kL2>};
  return &reg;
}

}  // namespace rt
}  // namespace edgeopt
