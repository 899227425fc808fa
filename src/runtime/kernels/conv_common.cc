#include "src/runtime/kernels/conv_common.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <limits>

#include "src/quant/quant_math.h"
#include "src/runtime/kernels/kernel_util.h"
#include "src/runtime/kernels/ukernels/pack.h"
#include "src/runtime/selective.h"

namespace edgeopt {
namespace rt {

int32_t QuantizedMin(DType type) {
  switch (type) {
    case DType::kInt8:
      return -128;
    case DType::kUInt8:
      return 0;
    case DType::kInt16:
      return -32768;
    default:
      return 0;
  }
}

int32_t QuantizedMax(DType type) {
  switch (type) {
    case DType::kInt8:
      return 127;
    case DType::kUInt8:
      return 255;
    case DType::kInt16:
      return 32767;
    default:
      return 0;
  }
}

const char* TypeName(const Tensor* t) { return t != nullptr ? DTypeName(t->type) : "absent"; }

Status CheckRank(const Tensor* t, const char* what, int min_rank, int max_rank) {
  EDGEOPT_ENSURE(t != nullptr, StatusCode::kInvalidModel, "%s is missing", what);
  EDGEOPT_ENSURE(t->dims.size >= min_rank && t->dims.size <= max_rank, StatusCode::kInvalidModel,
                 "%s (%s) has rank %d, expected %d%s%d", what, t->name, t->dims.size, min_rank,
                 min_rank == max_rank ? "" : " to ", min_rank == max_rank ? min_rank : max_rank);
  return Status::Ok();
}

namespace {

constexpr int kMaxSparseLevels = 2 * kMaxDims;

// One SparseIndexVector (int32, uint16 or uint8 values) read with bounds checks.
struct IndexVector {
  const void* data = nullptr;
  int size = 0;
  int width = 0;  // bytes per value

  bool Load(tflite::SparseIndexVector type, const void* table) {
    if (table == nullptr) return false;
    switch (type) {
      case tflite::SparseIndexVector::Int32Vector: {
        const auto* v = static_cast<const tflite::Int32Vector*>(table)->values();
        if (v == nullptr) return false;
        data = v->data();
        size = static_cast<int>(v->size());
        width = 4;
        return true;
      }
      case tflite::SparseIndexVector::Uint16Vector: {
        const auto* v = static_cast<const tflite::Uint16Vector*>(table)->values();
        if (v == nullptr) return false;
        data = v->data();
        size = static_cast<int>(v->size());
        width = 2;
        return true;
      }
      case tflite::SparseIndexVector::Uint8Vector: {
        const auto* v = static_cast<const tflite::Uint8Vector*>(table)->values();
        if (v == nullptr) return false;
        data = v->data();
        size = static_cast<int>(v->size());
        width = 1;
        return true;
      }
      default:
        return false;
    }
  }
  // Value i (caller checks 0 <= i < size). Flatbuffers data is little-endian.
  int64_t Get(int i) const {
    const uint8_t* p = static_cast<const uint8_t*>(data) + static_cast<size_t>(i) * width;
    if (width == 4) {
      int32_t v;
      std::memcpy(&v, p, 4);
      return v;
    }
    if (width == 2) {
      uint16_t v;
      std::memcpy(&v, p, 2);
      return v;
    }
    return *p;
  }
};

// TFLite's sparse-to-dense conversion (FormatConverter), with every index checked.
class Densifier {
 public:
  Status Init(const Tensor* t, const char* what) {
    t_ = t;
    what_ = what;
    const tflite::SparsityParameters* sp = t->sparsity;
    rank_ = t->dims.size;
    const auto* order = sp->traversal_order();
    const auto* block_map = sp->block_map();
    const auto* metadata = sp->dim_metadata();
    num_blocks_ = block_map != nullptr ? static_cast<int>(block_map->size()) : 0;
    levels_ = order != nullptr ? static_cast<int>(order->size()) : 0;
    EDGEOPT_ENSURE(levels_ == rank_ + num_blocks_ && levels_ <= kMaxSparseLevels,
                   StatusCode::kInvalidModel,
                   "%s (%s): sparse traversal order has %d entries, expected rank %d + %d "
                   "block dimensions",
                   what, t->name, levels_, rank_, num_blocks_);
    EDGEOPT_ENSURE(metadata != nullptr && static_cast<int>(metadata->size()) == levels_,
                   StatusCode::kInvalidModel,
                   "%s (%s): sparse dimension metadata has %d entries, expected %d", what, t->name,
                   metadata != nullptr ? static_cast<int>(metadata->size()) : 0, levels_);
    bool seen[kMaxSparseLevels] = {};
    for (int i = 0; i < levels_; ++i) {
      const int d = order->Get(i);
      // The original dimensions come first, then the block dimensions (as TFLite assumes).
      const bool ok = i < rank_ ? (d >= 0 && d < rank_) : (d >= rank_ && d < levels_);
      EDGEOPT_ENSURE(ok && !seen[d], StatusCode::kInvalidModel,
                     "%s (%s): sparse traversal order is not a valid permutation", what, t->name);
      seen[d] = true;
      order_[i] = d;
    }
    for (int j = 0; j < num_blocks_; ++j) {
      const int d = block_map->Get(j);
      EDGEOPT_ENSURE(d >= 0 && d < rank_, StatusCode::kInvalidModel,
                     "%s (%s): sparse block map entry %d is out of range", what, t->name, d);
      block_dim_[j] = d;
    }
    for (int d = 0; d < rank_; ++d) blocked_[d] = 1;
    // Levels: sizes, formats, index vectors; block sizes come from the block levels.
    for (int i = 0; i < levels_; ++i) {
      const tflite::DimensionMetadata* m = metadata->Get(i);
      EDGEOPT_ENSURE(m != nullptr, StatusCode::kInvalidModel,
                     "%s (%s): sparse dimension metadata %d is missing", what, t->name, i);
      dense_[i] = m->format() == tflite::DimensionType::DENSE;
      if (dense_[i]) {
        size_[i] = m->dense_size();
        EDGEOPT_ENSURE(size_[i] > 0, StatusCode::kInvalidModel,
                       "%s (%s): sparse dimension %d has dense size %d", what, t->name, i,
                       size_[i]);
      } else {
        EDGEOPT_ENSURE(m->format() == tflite::DimensionType::SPARSE_CSR &&
                           segments_[i].Load(m->array_segments_type(), m->array_segments()) &&
                           indices_[i].Load(m->array_indices_type(), m->array_indices()),
                       StatusCode::kInvalidModel,
                       "%s (%s): sparse dimension %d has no valid CSR segments and "
                       "indices",
                       what, t->name, i);
      }
      if (order_[i] >= rank_) {
        const int block = order_[i] - rank_;
        EDGEOPT_ENSURE(dense_[i], StatusCode::kUnsupported,
                       "%s (%s): sparse block dimensions must be dense", what, t->name);
        block_size_[block] = size_[i];
        blocked_[block_dim_[block]] *= size_[i];
      }
    }
    for (int d = 0; d < rank_; ++d) {
      EDGEOPT_ENSURE(t->dims[d] % blocked_[d] == 0, StatusCode::kInvalidModel,
                     "%s (%s): dimension %d (%d) is not a multiple of its "
                     "sparse block size %d",
                     what, t->name, d, t->dims[d], blocked_[d]);
    }
    for (int i = 0; i < levels_; ++i) {
      const int d = order_[i];
      const int expected = d < rank_ ? t->dims[d] / blocked_[d] : block_size_[d - rank_];
      if (dense_[i]) {
        EDGEOPT_ENSURE(size_[i] == expected, StatusCode::kInvalidModel,
                       "%s (%s): sparse dimension %d has dense size %d, expected %d", what, t->name,
                       i, size_[i], expected);
      }
      size_[i] = expected;
    }
    elem_ = DTypeSize(t->type);
    EDGEOPT_ENSURE(elem_ > 0, StatusCode::kUnsupported, "%s (%s): sparse %s is not supported", what,
                   t->name, DTypeName(t->type));
    num_values_ = static_cast<int64_t>(t->bytes / elem_);
    // Every step of the walk either consumes a stored value or is bounded by the dense size.
    budget_ = 4 * (t->dims.NumElements() + num_values_) + 1024;
    return Status::Ok();
  }

  Status Run(uint8_t* dense) {
    dense_out_ = dense;
    EDGEOPT_RETURN_IF_ERROR(Walk(0, 0));
    EDGEOPT_ENSURE(consumed_ == num_values_, StatusCode::kInvalidModel,
                   "%s (%s): the sparsity metadata addresses %lld values, the "
                   "buffer holds %lld",
                   what_, t_->name, static_cast<long long>(consumed_),
                   static_cast<long long>(num_values_));
    return Status::Ok();
  }

 private:
  Status Walk(int level, int64_t prev) {
    EDGEOPT_ENSURE(--budget_ > 0, StatusCode::kInvalidModel,
                   "%s (%s): the sparsity metadata is inconsistent (it "
                   "revisits positions)",
                   what_, t_->name);
    if (level == levels_) return Emit();
    if (dense_[level]) {
      for (int i = 0; i < size_[level]; ++i) {
        index_[level] = i;
        EDGEOPT_RETURN_IF_ERROR(Walk(level + 1, prev * size_[level] + i));
      }
      return Status::Ok();
    }
    const IndexVector& seg = segments_[level];
    const IndexVector& ind = indices_[level];
    EDGEOPT_ENSURE(prev >= 0 && prev + 1 < seg.size, StatusCode::kInvalidModel,
                   "%s (%s): sparse dimension %d has %d segments; position "
                   "%lld needs more",
                   what_, t_->name, level, seg.size, static_cast<long long>(prev));
    const int64_t begin = seg.Get(static_cast<int>(prev));
    const int64_t end = seg.Get(static_cast<int>(prev + 1));
    EDGEOPT_ENSURE(begin >= 0 && begin <= end && end <= ind.size, StatusCode::kInvalidModel,
                   "%s (%s): sparse dimension %d has a segment [%lld, %lld) "
                   "outside its %d "
                   "indices",
                   what_, t_->name, level, static_cast<long long>(begin),
                   static_cast<long long>(end), ind.size);
    for (int64_t i = begin; i < end; ++i) {
      const int64_t index = ind.Get(static_cast<int>(i));
      EDGEOPT_ENSURE(index >= 0 && index < size_[level], StatusCode::kInvalidModel,
                     "%s (%s): sparse index %lld is outside dimension %d of size %d", what_,
                     t_->name, static_cast<long long>(index), level, size_[level]);
      index_[level] = static_cast<int>(index);
      EDGEOPT_RETURN_IF_ERROR(Walk(level + 1, i));
    }
    return Status::Ok();
  }

  Status Emit() {
    EDGEOPT_ENSURE(consumed_ < num_values_, StatusCode::kInvalidModel,
                   "%s (%s): the sparsity metadata addresses more values than "
                   "the %lld stored",
                   what_, t_->name, static_cast<long long>(num_values_));
    int64_t coord[kMaxDims] = {};
    for (int i = 0; i < rank_; ++i) coord[order_[i]] = index_[i];
    for (int j = 0; j < num_blocks_; ++j) {
      const size_t level = static_cast<size_t>(rank_ + j);
      const int block = order_[level] - rank_;
      const int d = block_dim_[block];
      coord[d] = coord[d] * block_size_[block] + index_[level];
    }
    int64_t flat = 0;
    for (int d = 0; d < rank_; ++d) flat = flat * t_->dims[d] + coord[d];
    std::memcpy(dense_out_ + flat * elem_, t_->data + consumed_ * elem_, elem_);
    ++consumed_;
    return Status::Ok();
  }

  const Tensor* t_ = nullptr;
  const char* what_ = "";
  int rank_ = 0, num_blocks_ = 0, levels_ = 0;
  int order_[kMaxSparseLevels] = {};
  int block_dim_[kMaxSparseLevels] = {};
  int block_size_[kMaxSparseLevels] = {};
  int blocked_[kMaxDims] = {};
  bool dense_[kMaxSparseLevels] = {};
  int size_[kMaxSparseLevels] = {};
  int index_[kMaxSparseLevels] = {};
  IndexVector segments_[kMaxSparseLevels], indices_[kMaxSparseLevels];
  size_t elem_ = 0;
  int64_t num_values_ = 0, consumed_ = 0, budget_ = 0;
  uint8_t* dense_out_ = nullptr;
};

}  // namespace

Status DensifyIfSparse(Context* ctx, const Tensor* t, const char* what, Tensor* dense,
                       const Tensor** use) {
  *use = t;
  if (t == nullptr || t->sparsity == nullptr) return Status::Ok();
  if constexpr (!TypeInBuild("sparse")) return TypeNotInBuild(what, "sparse");
  EDGEOPT_ENSURE(t->IsConstant() && t->data != nullptr, StatusCode::kInvalidModel,
                 "%s (%s) is sparse but not a constant", what, t->name);
  Densifier densifier;
  EDGEOPT_RETURN_IF_ERROR(densifier.Init(t, what));
  const size_t bytes = static_cast<size_t>(t->dims.NumElements()) * DTypeSize(t->type);
  uint8_t* data = static_cast<uint8_t*>(ctx->AllocatePersistent(bytes));
  EDGEOPT_ENSURE(data != nullptr, StatusCode::kOutOfMemory, "out of memory densifying %s", what);
  std::memset(data, 0, bytes);
  EDGEOPT_RETURN_IF_ERROR(densifier.Run(data));
  *dense = *t;
  dense->data = data;
  dense->bytes = bytes;
  dense->sparsity = nullptr;
  dense->allocation = Allocation::kConstant;
  *use = dense;
  return Status::Ok();
}

Status DecodeSparse(const Tensor* t, const char* what, void* dense) {
  EDGEOPT_ENSURE(t != nullptr && t->sparsity != nullptr && t->IsConstant() && t->data != nullptr,
                 StatusCode::kInvalidModel, "%s is not a sparse constant", what);
  Densifier densifier;
  EDGEOPT_RETURN_IF_ERROR(densifier.Init(t, what));
  std::memset(dense, 0, static_cast<size_t>(t->dims.NumElements()) * DTypeSize(t->type));
  return densifier.Run(static_cast<uint8_t*>(dense));
}

static bool ValidScale(float s) { return std::isfinite(s) && s > 0.0f; }

Status CheckActivationQuantization(const Tensor* t, const char* what) {
  EDGEOPT_ENSURE(t->quant.IsQuantized(), StatusCode::kInvalidModel,
                 "%s (%s) is %s but has no quantization parameters", what, t->name, TypeName(t));
  EDGEOPT_ENSURE(!t->quant.IsPerChannel(), StatusCode::kUnsupported,
                 "%s (%s) has %d per-channel scales; activations must be "
                 "quantized per tensor",
                 what, t->name, t->quant.num_channels);
  EDGEOPT_ENSURE(ValidScale(t->quant.scale), StatusCode::kInvalidModel,
                 "%s (%s) has scale %g; expected a finite scale > 0", what, t->name,
                 static_cast<double>(t->quant.scale));
  const int32_t zp = t->quant.zero_point;
  if (t->type == DType::kInt16) {
    EDGEOPT_ENSURE(zp == 0, StatusCode::kInvalidModel,
                   "%s (%s) is int16 with zero point %d; int16 activations "
                   "must be symmetric "
                   "(zero point 0)",
                   what, t->name, zp);
  } else {
    EDGEOPT_ENSURE(zp >= QuantizedMin(t->type) && zp <= QuantizedMax(t->type),
                   StatusCode::kInvalidModel, "%s (%s) has zero point %d, outside the %s range",
                   what, t->name, zp, TypeName(t));
  }
  return Status::Ok();
}

Status CheckFilterQuantization(const Tensor* filter, int channel_axis, int channels,
                               bool allow_int8_zero_point) {
  const Quantization& q = filter->quant;
  EDGEOPT_ENSURE(q.IsQuantized(), StatusCode::kInvalidModel,
                 "filter (%s) is %s but has no quantization parameters", filter->name,
                 TypeName(filter));
  if (q.IsPerChannel()) {
    EDGEOPT_ENSURE(filter->type == DType::kInt8, StatusCode::kUnsupported,
                   "filter (%s) is %s with per-channel scales; per-channel "
                   "weights must be int8",
                   filter->name, TypeName(filter));
    EDGEOPT_ENSURE(q.axis == channel_axis, StatusCode::kInvalidModel,
                   "filter (%s) is quantized along dimension %d; expected the "
                   "output-channel "
                   "dimension %d",
                   filter->name, q.axis, channel_axis);
    EDGEOPT_ENSURE(q.num_channels == channels, StatusCode::kInvalidModel,
                   "filter (%s) has %d per-channel scales for %d output channels", filter->name,
                   q.num_channels, channels);
  }
  for (int c = 0; c < q.num_channels; ++c) {
    EDGEOPT_ENSURE(ValidScale(q.scales[c]), StatusCode::kInvalidModel,
                   "filter (%s) scale %d is %g; expected a finite scale > 0", filter->name, c,
                   static_cast<double>(q.scales[c]));
    const int32_t zp = q.zero_points[c];
    if (filter->type == DType::kInt8 && !allow_int8_zero_point) {
      EDGEOPT_ENSURE(zp == 0, StatusCode::kUnsupported,
                     "filter (%s) has zero point %d (channel %d); int8 weights "
                     "must be symmetric "
                     "(zero point 0)",
                     filter->name, zp, c);
    } else {
      EDGEOPT_ENSURE(zp >= QuantizedMin(filter->type) && zp <= QuantizedMax(filter->type),
                     StatusCode::kInvalidModel,
                     "filter (%s) has zero point %d, outside the %s range", filter->name, zp,
                     TypeName(filter));
    }
  }
  return Status::Ok();
}

int FusedActivation(tflite::ActivationFunctionType activation) {
  switch (activation) {
    case tflite::ActivationFunctionType::RELU:
    case tflite::ActivationFunctionType::RELU_N1_TO_1:
    case tflite::ActivationFunctionType::RELU6:
      return static_cast<int>(activation);
    default:
      return 0;
  }
}

void FloatActivationRange(int activation, float* act_min, float* act_max) {
  quant::ActivationRangeFloat(activation, act_min, act_max);
}

void QuantizedActivationRange(int activation, const Tensor* output, int32_t* act_min,
                              int32_t* act_max) {
  // TFLite's CalculateActivationRangeQuantized, with the quantized bounds computed in double and
  // saturated (a tiny output scale would overflow an int32 conversion).
  const int32_t qmin = QuantizedMin(output->type), qmax = QuantizedMax(output->type);
  auto quantize = [output](float x) -> int64_t {
    const double q = std::round(static_cast<double>(x / output->quant.scale));
    const double clamped = std::min(std::max(q, -4.0e9), 4.0e9);
    return output->quant.zero_point + static_cast<int64_t>(clamped);
  };
  auto clamp = [qmin, qmax](int64_t v) {
    return static_cast<int32_t>(std::min<int64_t>(qmax, std::max<int64_t>(qmin, v)));
  };
  *act_min = qmin;
  *act_max = qmax;
  switch (activation) {
    case 1:  // RELU
      *act_min = clamp(std::max<int64_t>(qmin, quantize(0.0f)));
      break;
    case 2:  // RELU_N1_TO_1
      *act_min = clamp(std::max<int64_t>(qmin, quantize(-1.0f)));
      *act_max = clamp(std::min<int64_t>(qmax, quantize(1.0f)));
      break;
    case 3:  // RELU6
      *act_min = clamp(std::max<int64_t>(qmin, quantize(0.0f)));
      *act_max = clamp(std::min<int64_t>(qmax, quantize(6.0f)));
      break;
    default:
      break;
  }
}

Status ComputeOutputMultipliers(Context* ctx, const Tensor* input, const Tensor* filter,
                                const Tensor* output, int channels, bool legacy_float_product,
                                int max_log2, int32_t** multipliers, int32_t** shifts) {
  EDGEOPT_RETURN_IF_ERROR(AllocatePersistentArray(ctx, channels, multipliers));
  EDGEOPT_RETURN_IF_ERROR(AllocatePersistentArray(ctx, channels, shifts));
  const Quantization& fq = filter->quant;
  for (int c = 0; c < channels; ++c) {
    const float filter_scale = fq.scales[fq.IsPerChannel() ? c : 0];
    double product;
    if (legacy_float_product) {
      product = static_cast<double>(input->quant.scale * filter_scale);
    } else {
      product = static_cast<double>(input->quant.scale) * static_cast<double>(filter_scale);
    }
    const double m = product / static_cast<double>(output->quant.scale);
    EDGEOPT_ENSURE(std::isfinite(m) && m < std::ldexp(1.0, max_log2), StatusCode::kUnsupported,
                   "effective output scale input*filter/output = %g (channel "
                   "%d) is too large; "
                   "expected < 2^%d",
                   m, c, max_log2);
    int shift = 0;
    quant::QuantizeMultiplier(m, &(*multipliers)[c], &shift);
    (*shifts)[c] = shift;
  }
  return Status::Ok();
}

Status CheckBiasScale(const Tensor* input, const Tensor* filter, const Tensor* bias,
                      const Tensor* output) {
  if (bias == nullptr) return Status::Ok();
  const double product =
      static_cast<double>(input->quant.scale) * static_cast<double>(filter->quant.scale);
  const double bias_scale = static_cast<double>(bias->quant.scale);
  const double diff = std::abs(product - bias_scale) / static_cast<double>(output->quant.scale);
  EDGEOPT_ENSURE(diff <= 0.02, StatusCode::kInvalidModel,
                 "bias (%s) scale %g differs from input scale * filter scale = "
                 "%g by more than "
                 "2%% of the output scale",
                 bias->name, bias_scale, product);
  return Status::Ok();
}

Status CheckQuantizedBias(const Tensor* bias, DType input_type, int64_t channels) {
  if (bias == nullptr) return Status::Ok();
  if (input_type == DType::kInt16) {
    EDGEOPT_ENSURE(bias->type == DType::kInt64 || bias->type == DType::kInt32,
                   StatusCode::kInvalidModel,
                   "bias (%s) has type %s; int16 inputs need an int64 (or int32) bias", bias->name,
                   TypeName(bias));
  } else {
    EDGEOPT_ENSURE(bias->type == DType::kInt32, StatusCode::kInvalidModel,
                   "bias (%s) has type %s; %s inputs need an int32 bias", bias->name,
                   TypeName(bias), DTypeName(input_type));
  }
  EDGEOPT_ENSURE(bias->dims.NumElements() == channels, StatusCode::kInvalidModel,
                 "bias (%s) has %lld elements, expected %lld (one per output channel)", bias->name,
                 static_cast<long long>(bias->dims.NumElements()),
                 static_cast<long long>(channels));
  EDGEOPT_ENSURE(bias->data != nullptr, StatusCode::kUnsupported,
                 "bias (%s) of a quantized op must be a constant", bias->name);
  return Status::Ok();
}

Status CheckFloatBias(const Tensor* bias, int64_t channels) {
  if (bias == nullptr) return Status::Ok();
  EDGEOPT_ENSURE(bias->type == DType::kFloat32, StatusCode::kInvalidModel,
                 "bias (%s) has type %s; a float op needs a float32 bias", bias->name,
                 TypeName(bias));
  EDGEOPT_ENSURE(bias->dims.NumElements() == channels, StatusCode::kInvalidModel,
                 "bias (%s) has %lld elements, expected %lld (one per output channel)", bias->name,
                 static_cast<long long>(bias->dims.NumElements()),
                 static_cast<long long>(channels));
  return Status::Ok();
}

Status CheckWindowOptions(int padding, int stride_h, int stride_w, int dilation_h, int dilation_w) {
  EDGEOPT_ENSURE(padding == static_cast<int>(tflite::Padding::SAME) ||
                     padding == static_cast<int>(tflite::Padding::VALID),
                 StatusCode::kInvalidModel, "unknown padding %d", padding);
  EDGEOPT_ENSURE(stride_h >= 1 && stride_w >= 1, StatusCode::kInvalidModel,
                 "strides are %dx%d; expected >= 1", stride_h, stride_w);
  EDGEOPT_ENSURE(stride_h <= (1 << 24) && stride_w <= (1 << 24), StatusCode::kInvalidModel,
                 "strides %dx%d are too large", stride_h, stride_w);
  EDGEOPT_ENSURE(dilation_h >= 1 && dilation_w >= 1, StatusCode::kInvalidModel,
                 "dilation factors are %dx%d; expected >= 1", dilation_h, dilation_w);
  return Status::Ok();
}

Status PlaceWindows(int padding, int in_h, int in_w, int filter_h, int filter_w, int stride_h,
                    int stride_w, int dilation_h, int dilation_w, WindowPlacement* out) {
  const int64_t eff_h = int64_t{filter_h - 1} * dilation_h + 1;
  const int64_t eff_w = int64_t{filter_w - 1} * dilation_w + 1;
  EDGEOPT_ENSURE(eff_h <= (1 << 24) && eff_w <= (1 << 24), StatusCode::kInvalidModel,
                 "dilated filter %lldx%lld is too large", static_cast<long long>(eff_h),
                 static_cast<long long>(eff_w));
  const Padding2D pad =
      ComputePadding(static_cast<tflite::Padding>(padding), stride_h, stride_w, dilation_h,
                     dilation_w, in_h, in_w, filter_h, filter_w, &out->out_h, &out->out_w);
  EDGEOPT_ENSURE(out->out_h > 0 && out->out_w > 0, StatusCode::kInvalidModel,
                 "input %dx%d is smaller than the dilated filter %lldx%lld "
                 "(VALID padding)",
                 in_h, in_w, static_cast<long long>(eff_h), static_cast<long long>(eff_w));
  out->pad_top = pad.height;
  out->pad_left = pad.width;
  return Status::Ok();
}

Status ComputeBiasTerms(Context* ctx, const Tensor* bias, const Tensor* filter, int channels,
                        int64_t K, int32_t input_zero_point, int32_t filter_zero_point,
                        int64_t** bias_term) {
  EDGEOPT_RETURN_IF_ERROR(AllocatePersistentArray(ctx, channels, bias_term));
  for (int c = 0; c < channels; ++c) {
    int64_t b = 0;
    if (bias != nullptr) {
      b = bias->type == DType::kInt64 ? bias->Data<int64_t>()[c] : bias->Data<int32_t>()[c];
    }
    int64_t sum = 0;
    if (input_zero_point != 0) {
      if (filter->type == DType::kUInt8) {
        const uint8_t* w = filter->Data<uint8_t>() + c * K;
        for (int64_t k = 0; k < K; ++k) sum += w[k];
      } else {
        const int8_t* w = filter->Data<int8_t>() + c * K;
        for (int64_t k = 0; k < K; ++k) sum += w[k];
      }
    }
    // Wrapping arithmetic: an absurd int64 bias must not be UB.
    const uint64_t term = static_cast<uint64_t>(b) -
                          static_cast<uint64_t>(int64_t{input_zero_point} * sum) +
                          static_cast<uint64_t>(K * input_zero_point * filter_zero_point);
    (*bias_term)[c] = static_cast<int64_t>(term);
  }
  return Status::Ok();
}

Status ComputeRowSums(Context* ctx, const int8_t* filter, int channels, int64_t K, int32_t** sums) {
  EDGEOPT_RETURN_IF_ERROR(AllocatePersistentArray(ctx, channels, sums));
  for (int c = 0; c < channels; ++c) {
    int64_t s = 0;
    for (int64_t k = 0; k < K; ++k) s += filter[c * K + k];
    (*sums)[c] = ref::WrapToInt32(s);
  }
  return Status::Ok();
}

bool Int32AccumulatorSafe(int64_t K, int64_t max_a, int64_t max_b) {
  const int64_t per_product = max_a * max_b;
  return per_product == 0 ||
         K <= (static_cast<int64_t>(std::numeric_limits<int32_t>::max()) - 1) / per_product;
}

bool S16NarrowRowFits(int64_t abs_weight_sum, int64_t bias_term) {
  constexpr int64_t kInt32Max = std::numeric_limits<int32_t>::max();
  // The bias term is compared first so that the sum below cannot overflow.
  return bias_term >= -kInt32Max && bias_term <= kInt32Max &&
         abs_weight_sum * 32768 + std::abs(bias_term) <= kInt32Max;
}

Status PrepareS16Gemm(Context* ctx, const int8_t* weights, int rows, int64_t K,
                      const int64_t* bias_term, const ref::OutputStage& stage, S16Gemm* s16,
                      bool pad_k) {
  *s16 = S16Gemm();
  const uk::S16GemmConfig* cfg = uk::GetS16GemmConfig(ctx->cpu());
  if (cfg == nullptr || K > (int64_t{1} << 30)) return Status::Ok();
  // TFLite's int64 output stage, in int32 lanes when every row fits (S16NarrowRowFits).
  const bool int64_stage = stage.rounding == ref::Rounding::kInt64;
  bool narrow = int64_stage && cfg->requant_narrow != nullptr && bias_term != nullptr;
  for (int n = 0; n < rows; ++n) {
    int64_t sum = 0;
    for (int64_t k = 0; k < K; ++k) sum += std::abs(int{weights[n * K + k]});
    if (sum * 32768 >= (int64_t{1} << 31)) return Status::Ok();
    narrow = narrow && S16NarrowRowFits(sum, bias_term[n]);
  }
  if (cfg->nr > 0) {  // packed: the kernel runs K in pairs, whatever its length
    EDGEOPT_RETURN_IF_ERROR(
        AllocatePersistentArray(ctx, uk::S16PackedElements(cfg->nr, rows, K), &s16->weights));
    uk::PackS16Weights(cfg->nr, rows, K, weights, s16->weights);
    s16->kp = K;
  } else {
    const int64_t kp = pad_k ? (K + kS16PadK - 1) / kS16PadK * kS16PadK : K;
    EDGEOPT_RETURN_IF_ERROR(AllocatePersistentArray(ctx, rows * kp, &s16->weights));
    for (int n = 0; n < rows; ++n) {
      for (int64_t k = 0; k < kp; ++k) s16->weights[n * kp + k] = k < K ? weights[n * K + k] : 0;
    }
    s16->kp = kp;
  }
  // ref::MultiplyInt64's constants (its shift <= 14 is checked when the multipliers are made),
  // for the one output stage that runs.
  if (narrow) {
    EDGEOPT_RETURN_IF_ERROR(AllocatePersistentArray(ctx, rows, &s16->bias32));
    EDGEOPT_RETURN_IF_ERROR(AllocatePersistentArray(ctx, rows, &s16->reduced32));
    EDGEOPT_RETURN_IF_ERROR(AllocatePersistentArray(ctx, rows, &s16->shift32));
    for (int n = 0; n < rows; ++n) {
      s16->bias32[n] = static_cast<int32_t>(bias_term[n]);
      s16->reduced32[n] = ref::ReducedMultiplier(stage.multiplier[n]);
      s16->shift32[n] = 15 - stage.shift[n];
    }
  } else if (int64_stage && cfg->requant != nullptr) {
    EDGEOPT_RETURN_IF_ERROR(AllocatePersistentArray(ctx, rows, &s16->reduced));
    EDGEOPT_RETURN_IF_ERROR(AllocatePersistentArray(ctx, rows, &s16->round));
    EDGEOPT_RETURN_IF_ERROR(AllocatePersistentArray(ctx, rows, &s16->shift));
    for (int n = 0; n < rows; ++n) {
      const int total_shift = 15 - stage.shift[n];
      s16->reduced[n] = ref::ReducedMultiplier(stage.multiplier[n]);
      s16->round[n] = int64_t{1} << (total_shift - 1);
      s16->shift[n] = total_shift;
    }
  }
  s16->cfg = cfg;
  return Status::Ok();
}

void S16OutputStage(const S16Gemm& s16, const int32_t* acc, int count, int channels,
                    const int64_t* bias_term, const ref::OutputStage& stage, int16_t* out,
                    int64_t out_stride) {
  if (s16.bias32 != nullptr) {
    uk::S16RequantNarrowArgs args{count,
                                  channels,
                                  acc,
                                  s16.bias32,
                                  s16.reduced32,
                                  s16.shift32,
                                  stage.output_zero_point,
                                  stage.act_min,
                                  stage.act_max,
                                  out,
                                  static_cast<ptrdiff_t>(out_stride)};
    s16.cfg->requant_narrow(args);
    return;
  }
  if (s16.reduced != nullptr) {
    uk::S16RequantArgs args{
        count,         channels,      acc,       bias_term,
        s16.reduced,   s16.round,     s16.shift, stage.output_zero_point,
        stage.act_min, stage.act_max, out,       static_cast<ptrdiff_t>(out_stride)};
    s16.cfg->requant(args);
    return;
  }
  for (int i = 0; i < count; ++i) {
    const int32_t* a = acc + int64_t{i} * channels;
    int16_t* o = out + i * out_stride;
    for (int n = 0; n < channels; ++n) {
      // Wrapping add: an absurd int64 bias must not be UB.
      const int64_t total = static_cast<int64_t>(static_cast<uint64_t>(int64_t{a[n]}) +
                                                 static_cast<uint64_t>(bias_term[n]));
      o[n] = ref::RequantizeToOutput<int16_t>(total, n, stage);
    }
  }
}

}  // namespace rt
}  // namespace edgeopt
