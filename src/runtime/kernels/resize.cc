// RESIZE_BILINEAR and RESIZE_NEAREST_NEIGHBOR on NHWC tensors, with align_corners and
// half_pixel_centers, following TFLite 2.9's x86 kernels:
//  - bilinear float32: float source coordinates and weights;
//  - bilinear uint8: the same float weights, summed as TFLite's optimized small-channel kernel
//    and truncated after +0.5;
//  - bilinear int8/int16: 10-bit fixed-point coordinates, 20-bit weights, rounded division;
//  - nearest: floor (or round with align_corners) of the scaled coordinate; without either flag
//    the 16.16 fixed-point scale of TFLite's optimized kernel.
#include "src/runtime/kernels/reference/resize.h"

#include <cmath>
#include <cstdint>
#include <cstring>

#include "src/runtime/kernels/elem_util.h"

namespace edgeopt {
namespace rt {
namespace {

struct OpData {
  bool align_corners = false;
  bool half_pixel_centers = false;
};

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
  *lower = std::max(*scaled / (1 << 10), 0);
  *upper = std::min((*scaled + (1 << 10) - 1) / (1 << 10), size - 1);
}

int32_t IntegerScale(int in, int out, bool align_corners) {
  if (align_corners && out > 1) return ((1 << 10) * (in - 1) + (out - 1) / 2) / (out - 1);
  return ((1 << 10) * in + out / 2) / out;
}

template <typename T>
void BilinearInteger(const OpData* d, const Tensor* in, Tensor* out) {
  const int batches = in->dims[0], ih = in->dims[1], iw = in->dims[2], depth = in->dims[3];
  const int oh = out->dims[1], ow = out->dims[2];
  const int32_t hs = IntegerScale(ih, oh, d->align_corners);
  const int32_t ws = IntegerScale(iw, ow, d->align_corners);
  const T* p = in->Data<T>();
  T* o = out->Data<T>();
  for (int b = 0; b < batches; ++b) {
    for (int y = 0; y < oh; ++y) {
      int32_t iy, y0, y1;
      InterpolationValuesInteger(y, hs, d->half_pixel_centers, ih, &iy, &y0, &y1);
      for (int x = 0; x < ow; ++x) {
        int32_t ix, x0, x1;
        InterpolationValuesInteger(x, ws, d->half_pixel_centers, iw, &ix, &x0, &x1);
        const int64_t wy1 = iy - (1 << 10) * y0, wy0 = (1 << 10) - wy1;
        const int64_t wx1 = ix - (1 << 10) * x0, wx0 = (1 << 10) - wx1;
        const T* r00 = p + ((static_cast<int64_t>(b) * ih + y0) * iw + x0) * depth;
        const T* r01 = p + ((static_cast<int64_t>(b) * ih + y0) * iw + x1) * depth;
        const T* r10 = p + ((static_cast<int64_t>(b) * ih + y1) * iw + x0) * depth;
        const T* r11 = p + ((static_cast<int64_t>(b) * ih + y1) * iw + x1) * depth;
        T* dst = o + ((static_cast<int64_t>(b) * oh + y) * ow + x) * depth;
        for (int c = 0; c < depth; ++c) {
          const int64_t v =
              r00[c] * wy0 * wx0 + r10[c] * wy1 * wx0 + r01[c] * wy0 * wx1 + r11[c] * wy1 * wx1;
          const int64_t round = v > 0 ? (1 << 19) : -(1 << 19);
          dst[c] = static_cast<T>((v + round) / (1 << 20));
        }
      }
    }
  }
}

Status BilinearEval(Context* ctx, Node* node) {
  const OpData* d = static_cast<const OpData*>(node->user_data);
  const Tensor* in = ctx->input(node, 0);
  Tensor* out = ctx->output(node, 0);
  switch (in->type) {
    case DType::kFloat32:
      BilinearFloatWeights<float>(d, in, out);
      break;
    case DType::kUInt8:
      BilinearFloatWeights<uint8_t>(d, in, out);
      break;
    case DType::kInt8:
      BilinearInteger<int8_t>(d, in, out);
      break;
    default:
      BilinearInteger<int16_t>(d, in, out);
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
