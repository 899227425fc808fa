// RESIZE_BILINEAR and RESIZE_NEAREST_NEIGHBOR on NHWC tensors, with align_corners and
// half_pixel_centers, following TFLite 2.9's x86 kernels:
//  - bilinear float32: float source coordinates and weights;
//  - bilinear uint8: the same float weights, summed as TFLite's optimized small-channel kernel
//    and truncated after +0.5;
//  - bilinear int8/int16: 10-bit fixed-point coordinates, 20-bit weights, rounded division;
//    computed separably (each needed input row interpolated along x once, then two rows mixed
//    along y), which is exact in integers: the same sums; int8 on microkernels where the CPU
//    has them (uk::ResizeConfig);
//  - bilinear float32 with the optimized kernels (not in exact-float mode): separable as well,
//    vectorized over whole rows (differs from the reference formula by rounding only);
//  - nearest: floor (or round with align_corners) of the scaled coordinate; without either flag
//    the 16.16 fixed-point scale of TFLite's optimized kernel.
#include "src/runtime/kernels/reference/resize.h"

#include <cmath>
#include <cstdint>
#include <cstring>
#include <type_traits>

#include "src/runtime/kernels/conv_common.h"
#include "src/runtime/kernels/elem_util.h"
#include "src/runtime/kernels/ukernels/configs.h"
#include "src/runtime/thread_pool.h"

namespace edgeopt {
namespace rt {
namespace {

using Tap = uk::ResizeTap;  // where output column x reads

struct OpData {
  bool align_corners = false;
  bool half_pixel_centers = false;
  Tap* taps = nullptr;                    // separable bilinear: one per output column
  int rows = -1;                          // scratch: two interpolated rows (float or int32)
  const uk::ResizeConfig* cfg = nullptr;  // int8 microkernels, or null
};

int32_t IntegerScale(int in, int out, bool align_corners);
void InterpolationValuesInteger(int32_t value, int32_t scale_10, bool half_pixel, int32_t size,
                                int32_t* scaled, int32_t* lower, int32_t* upper);

template <bool kBilinear>
Status Prepare(Context* ctx, Node* node) {
  OpData* data;
  EDGEOPT_RETURN_IF_ERROR(GetOpData(node, &data));
  EDGEOPT_RETURN_IF_ERROR(CheckNumInputs(node, 2, 2));
  EDGEOPT_RETURN_IF_ERROR(CheckNumOutputs(node, 1));
  Tensor *in, *size_t_, *out;
  EDGEOPT_RETURN_IF_ERROR(GetInputChecked(ctx, node, 0, &in));
  EDGEOPT_RETURN_IF_ERROR(GetInputChecked(ctx, node, 1, &size_t_));
  EDGEOPT_RETURN_IF_ERROR(GetOutputChecked(ctx, node, 0, &out));
  EDGEOPT_RETURN_IF_ERROR(CheckSameType(in, out, "input", "output"));
  EDGEOPT_ENSURE(in->dims.size == 4, StatusCode::kInvalidModel,
                 "input must be 4-d (NHWC), has shape %s", DimsStr(in->dims).c_str());
  switch (in->type) {
    case DType::kFloat32:
    case DType::kUInt8:
    case DType::kInt8:
    case DType::kInt16:
      break;
    default:
      return MakeStatus(StatusCode::kUnsupported, "type %s is not supported", DTypeName(in->type));
  }
  if (kBilinear) {
    const auto* o = GetOptions<tflite::ResizeBilinearOptions>(node);
    data->align_corners = o != nullptr && o->align_corners();
    data->half_pixel_centers = o != nullptr && o->half_pixel_centers();
  } else {
    const auto* o = GetOptions<tflite::ResizeNearestNeighborOptions>(node);
    data->align_corners = o != nullptr && o->align_corners();
    data->half_pixel_centers = o != nullptr && o->half_pixel_centers();
  }
  EDGEOPT_ENSURE(!(kBilinear && data->align_corners && data->half_pixel_centers),
                 StatusCode::kInvalidModel,
                 "align_corners and half_pixel_centers cannot both be set");
  int64_t size[2];
  int count;
  EDGEOPT_RETURN_IF_ERROR(ReadConstInts(size_t_, "size", size, 2, &count));
  EDGEOPT_ENSURE(
      count == 2 && size[0] > 0 && size[1] > 0 && size[0] <= INT32_MAX && size[1] <= INT32_MAX,
      StatusCode::kInvalidModel, "size must hold two positive values");
  EDGEOPT_ENSURE(in->dims[1] > 0 && in->dims[2] > 0, StatusCode::kInvalidModel,
                 "cannot resize an empty image %s", DimsStr(in->dims).c_str());
  const bool separable =
      in->type == DType::kInt8 || in->type == DType::kInt16 ||
      (in->type == DType::kFloat32 && ctx->use_optimized_kernels() && !ctx->exact_float());
  if (kBilinear && separable) {
    EDGEOPT_ENSURE(size[1] <= (1 << 24), StatusCode::kUnsupported,
                   "an output width of %lld is too large", static_cast<long long>(size[1]));
    if (in->type != DType::kFloat32) {
      // TFLite's int32 coordinates (output index x 10-bit scale) must not overflow.
      for (int axis = 0; axis < 2; ++axis) {
        const int64_t from = in->dims[1 + axis], to = size[axis];
        const int64_t s10 =
            from <= (1 << 20)
                ? IntegerScale(static_cast<int>(from), static_cast<int>(to), data->align_corners)
                : 0;
        EDGEOPT_ENSURE(from <= (1 << 20) && to * s10 + s10 < (int64_t{1} << 31),
                       StatusCode::kUnsupported,
                       "resizing %lld to %lld pixels overflows the integer kernel's coordinates",
                       static_cast<long long>(from), static_cast<long long>(to));
      }
    }
    const int ow = static_cast<int>(size[1]), iw = in->dims[2];
    EDGEOPT_RETURN_IF_ERROR(AllocatePersistentArray(ctx, ow, &data->taps));
    const float ws = edgeopt::ref::ResizeAxisScale(iw, ow, data->align_corners);
    const int32_t ws10 = IntegerScale(iw, ow, data->align_corners);
    for (int x = 0; x < ow; ++x) {
      Tap& t = data->taps[x];
      if (in->type == DType::kFloat32) {
        float fx;
        edgeopt::ref::BilinearInterpolationValues(static_cast<float>(x), ws,
                                                  data->half_pixel_centers, iw, &fx, &t.lo, &t.hi);
        t.frac = fx - static_cast<float>(t.lo);
      } else {
        int32_t ix;
        InterpolationValuesInteger(x, ws10, data->half_pixel_centers, iw, &ix, &t.lo, &t.hi);
        t.w1 = ix - (1 << 10) * t.lo;
      }
    }
    EDGEOPT_RETURN_IF_ERROR(RequestScratchArray<int32_t>(
        ctx, int64_t{ctx->num_threads()} * 2 * ow * in->dims[3], &data->rows));
    if (in->type == DType::kInt8 && ctx->use_optimized_kernels()) {
      data->cfg = uk::GetResizeConfig(ctx->cpu());
    }
  }
  return ctx->ResizeTensor(out, MakeDims({in->dims[0], static_cast<int32_t>(size[0]),
                                          static_cast<int32_t>(size[1]), in->dims[3]}));
}

// --- bilinear ------------------------------------------------------------------------------------

template <typename T>
void BilinearFloatWeights(const OpData* d, const Tensor* in, Tensor* out) {
  const int batches = in->dims[0], ih = in->dims[1], iw = in->dims[2], depth = in->dims[3];
  const int oh = out->dims[1], ow = out->dims[2];
  const float hs = edgeopt::ref::ResizeAxisScale(ih, oh, d->align_corners);
  const float ws = edgeopt::ref::ResizeAxisScale(iw, ow, d->align_corners);
  const T* p = in->Data<T>();
  T* o = out->Data<T>();
  const bool integer = !std::is_floating_point<T>::value;
  for (int b = 0; b < batches; ++b) {
    for (int y = 0; y < oh; ++y) {
      float fy;
      int32_t y0, y1;
      edgeopt::ref::BilinearInterpolationValues(static_cast<float>(y), hs, d->half_pixel_centers,
                                                ih, &fy, &y0, &y1);
      for (int x = 0; x < ow; ++x) {
        float fx;
        int32_t x0, x1;
        edgeopt::ref::BilinearInterpolationValues(static_cast<float>(x), ws, d->half_pixel_centers,
                                                  iw, &fx, &x0, &x1);
        const T* r00 = p + ((static_cast<int64_t>(b) * ih + y0) * iw + x0) * depth;
        const T* r01 = p + ((static_cast<int64_t>(b) * ih + y0) * iw + x1) * depth;
        const T* r10 = p + ((static_cast<int64_t>(b) * ih + y1) * iw + x0) * depth;
        const T* r11 = p + ((static_cast<int64_t>(b) * ih + y1) * iw + x1) * depth;
        T* dst = o + ((static_cast<int64_t>(b) * oh + y) * ow + x) * depth;
        const float dy = fy - y0, dx = fx - x0;
        if (integer) {
          // TFLite's optimized uint8 kernel: precomputed weights, summed in this order.
          const float w00 = (1 - dy) * (1 - dx), w01 = (1 - dy) * dx;
          const float w10 = dy * (1 - dx), w11 = dy * dx;
          for (int c = 0; c < depth; ++c) {
            dst[c] =
                static_cast<T>(r00[c] * w00 + r01[c] * w01 + r10[c] * w10 + r11[c] * w11 + 0.5f);
          }
        } else {
          for (int c = 0; c < depth; ++c) {
            dst[c] = static_cast<T>(r00[c] * (1 - dy) * (1 - dx) + r10[c] * dy * (1 - dx) +
                                    r01[c] * (1 - dy) * dx + r11[c] * dy * dx);
          }
        }
      }
    }
  }
}

void InterpolationValuesInteger(int32_t value, int32_t scale_10, bool half_pixel, int32_t size,
                                int32_t* scaled, int32_t* lower, int32_t* upper) {
  *scaled = half_pixel ? value * scale_10 + scale_10 / 2 - (1 << 9) : value * scale_10;
  // TFLite leaves the lower index unclamped above: when the output is several hundred times the
  // input, the 10-bit scale (1024 · in / out, rounded) overshoots and the index passes the last
  // input pixel (a read out of bounds there). Clamped here; no other case changes.
  *lower = std::min(std::max(*scaled / (1 << 10), 0), size - 1);
  *upper = std::min((*scaled + (1 << 10) - 1) / (1 << 10), size - 1);
}

int32_t IntegerScale(int in, int out, bool align_corners) {
  if (align_corners && out > 1) return ((1 << 10) * (in - 1) + (out - 1) / 2) / (out - 1);
  return ((1 << 10) * in + out / 2) / out;
}

// out[i] = a[i] * w0 + b[i] * w1, i < n (float passes), in blocks of 8 with a fixed trip count,
// which GCC's -O2 cost model vectorizes (SLP); it leaves a loop of run-time length scalar.
void LerpF32(const float* __restrict a, const float* __restrict b, float w0, float w1, int64_t n,
             float* __restrict out) {
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) {
    for (int k = 0; k < 8; ++k) out[i + k] = a[i + k] * w0 + b[i + k] * w1;
  }
  for (; i < n; ++i) out[i] = a[i] * w0 + b[i] * w1;
}

// Separable bilinear (see the top): for each output row, the input rows y0 and y1 interpolated
// along x (two cached rows of W = `ow * depth` values of type H), then mixed along y into V sums.
template <typename T, typename H, typename V>
void BilinearSeparable(Context* ctx, const OpData* d, const Tensor* in, Tensor* out) {
  const int batches = in->dims[0], ih = in->dims[1], iw = in->dims[2], depth = in->dims[3];
  const int oh = out->dims[1], ow = out->dims[2];
  const int64_t width = int64_t{ow} * depth;
  constexpr bool kFloat = std::is_floating_point<T>::value;
  const float hs = edgeopt::ref::ResizeAxisScale(ih, oh, d->align_corners);
  const int32_t hs10 = IntegerScale(ih, oh, d->align_corners);
  // Threads take contiguous ranges of output rows, each with its own two cached input rows.
  const int64_t out_rows = int64_t{batches} * oh;
  const int tasks = out_rows * width < (int64_t{1} << 16)
                        ? 1
                        : static_cast<int>(std::min<int64_t>(out_rows, ctx->num_threads()));
  ctx->thread_pool()->ParallelFor(tasks, [&](int task, int thread) {
    H* slot[2] = {static_cast<H*>(ctx->GetScratch(d->rows)) + 2 * width * thread,
                  static_cast<H*>(ctx->GetScratch(d->rows)) + 2 * width * thread + width};
    int64_t tag[2] = {-1, -1};  // batch item * ih + input row held by each slot
    // The interpolated input row `r` of batch item `b`, kept in a slot other than `keep`.
    auto row = [&](int b, int r, int keep) -> const H* {
      const int64_t want = int64_t{b} * ih + r;
      for (int k = 0; k < 2; ++k) {
        if (tag[k] == want) return slot[k];
      }
      const int k = keep == 0 ? 1 : 0;
      const T* src = in->Data<T>() + want * iw * depth;
      H* dst = slot[k];
      tag[k] = want;
      if constexpr (std::is_same<T, int8_t>::value) {
        if (d->cfg != nullptr) {
          d->cfg->row_s8(src, depth, ow, d->taps, dst);
          return dst;
        }
      }
      for (int x = 0; x < ow; ++x) {
        const Tap& t = d->taps[x];
        const T* a = src + int64_t{t.lo} * depth;
        const T* c = src + int64_t{t.hi} * depth;
        H* h = dst + int64_t{x} * depth;
        if constexpr (kFloat) {
          LerpF32(a, c, 1 - t.frac, t.frac, depth, h);
          continue;
        }
        for (int ch = 0; ch < depth; ++ch) {
          h[ch] = H{a[ch]} * ((1 << 10) - t.w1) + H{c[ch]} * t.w1;
        }
      }
      return dst;
    };
    for (int64_t r = out_rows * task / tasks; r < out_rows * (task + 1) / tasks; ++r) {
      {
        const int b = static_cast<int>(r / oh), y = static_cast<int>(r % oh);
        int32_t y0, y1;
        float fy = 0.0f;
        int32_t wy1 = 0;
        if constexpr (kFloat) {
          float scaled;
          edgeopt::ref::BilinearInterpolationValues(static_cast<float>(y), hs,
                                                    d->half_pixel_centers, ih, &scaled, &y0, &y1);
          fy = scaled - static_cast<float>(y0);
        } else {
          int32_t iy;
          InterpolationValuesInteger(y, hs10, d->half_pixel_centers, ih, &iy, &y0, &y1);
          wy1 = iy - (1 << 10) * y0;
        }
        const H* top = row(b, y0, -1);
        const int top_slot = top == slot[0] ? 0 : 1;
        const H* bottom = row(b, y1, top_slot);
        T* o = out->Data<T>() + (int64_t{b} * oh + y) * width;
        if constexpr (std::is_same<T, int8_t>::value) {
          if (d->cfg != nullptr) {
            d->cfg->mix_s8(static_cast<size_t>(width), top, bottom, wy1, o);
            continue;
          }
        }
        if constexpr (kFloat) {
          LerpF32(top, bottom, 1 - fy, fy, width, o);
          continue;
        }
        for (int64_t i = 0; i < width; ++i) {
          const V v = V{top[i]} * ((1 << 10) - wy1) + V{bottom[i]} * wy1;
          o[i] = static_cast<T>((v + (v > 0 ? V{1 << 19} : V{-(1 << 19)})) / V{1 << 20});
        }
      }
    }
  });
}

Status BilinearEval(Context* ctx, Node* node) {
  const OpData* d = static_cast<const OpData*>(node->user_data);
  const Tensor* in = ctx->input(node, 0);
  Tensor* out = ctx->output(node, 0);
  switch (in->type) {
    case DType::kFloat32:
      if (d->taps != nullptr) {
        BilinearSeparable<float, float, float>(ctx, d, in, out);
      } else {
        BilinearFloatWeights<float>(d, in, out);
      }
      break;
    case DType::kUInt8:
      BilinearFloatWeights<uint8_t>(d, in, out);
      break;
    case DType::kInt8:  // |v| < 128 * 1536^2 * 2: int32
      BilinearSeparable<int8_t, int32_t, int32_t>(ctx, d, in, out);
      break;
    default:
      BilinearSeparable<int16_t, int32_t, int64_t>(ctx, d, in, out);
      break;
  }
  return Status::Ok();
}

// --- nearest neighbor ----------------------------------------------------------------------------

Status NearestEval(Context* ctx, Node* node) {
  const OpData* d = static_cast<const OpData*>(node->user_data);
  const Tensor* in = ctx->input(node, 0);
  Tensor* out = ctx->output(node, 0);
  const int batches = in->dims[0], ih = in->dims[1], iw = in->dims[2], depth = in->dims[3];
  const int oh = out->dims[1], ow = out->dims[2];
  const size_t pixel = static_cast<size_t>(depth) * DTypeSize(in->type);
  for (int b = 0; b < batches; ++b) {
    for (int y = 0; y < oh; ++y) {
      const int32_t sy =
          edgeopt::ref::NearestSourceIndex(y, ih, oh, d->align_corners, d->half_pixel_centers);
      for (int x = 0; x < ow; ++x) {
        const int32_t sx =
            edgeopt::ref::NearestSourceIndex(x, iw, ow, d->align_corners, d->half_pixel_centers);
        if (pixel == 0) continue;
        std::memcpy(out->data + ((static_cast<size_t>(b) * oh + y) * ow + x) * pixel,
                    in->data + ((static_cast<size_t>(b) * ih + sy) * iw + sx) * pixel, pixel);
      }
    }
  }
  return Status::Ok();
}

}  // namespace

const Registration* RegisterResizeBilinear() {
  static const Registration reg = {"RESIZE_BILINEAR", InitOpData<OpData>, Prepare<true>,
                                   BilinearEval};
  return &reg;
}
const Registration* RegisterResizeNearestNeighbor() {
  static const Registration reg = {"RESIZE_NEAREST_NEIGHBOR", InitOpData<OpData>, Prepare<false>,
                                   NearestEval};
  return &reg;
}

}  // namespace rt
}  // namespace edgeopt
