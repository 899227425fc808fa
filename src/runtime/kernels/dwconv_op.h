// DEPTHWISE_CONV_2D over packed weights and the depthwise microkernels.
// Each output row gets a small indirection buffer built on the fly (per thread): for every
// input column the row needs, kh pointers (a zero-point pixel for padding), so that
// consecutive output pixels share them (XNNPACK's step trick). Rows are split over the pool.
// A depth multiplier M > 1 (output channel c reads input channel c / M, as in the first layer
// of many audio models) runs as multiplier 1 on the input with each channel repeated M times,
// expanded into scratch before the rows.
#ifndef EDGEOPT_SRC_RUNTIME_KERNELS_DWCONV_OP_H_
#define EDGEOPT_SRC_RUNTIME_KERNELS_DWCONV_OP_H_

#include <cstdint>

#include "include/edgeopt/status.h"
#include "src/runtime/kernel_api.h"
#include "src/runtime/kernels/reference/depthwise_conv.h"
#include "src/runtime/kernels/ukernels/configs.h"

namespace edgeopt {
namespace rt {

struct QS8DwParams {
  const uint8_t* filter = nullptr;  // [1][kh][kw][channels], int8 or uint8
  bool uint8 = false;
  int32_t input_zero_point = 0;
  int32_t filter_zero_point = 0;
  const int32_t* bias = nullptr;
  const int32_t* multiplier = nullptr;
  const int32_t* shift = nullptr;
  int32_t output_zero_point = 0;
  int32_t act_min = 0, act_max = 0;
};

// Hybrid: float input quantized per batch item (asymmetric), int8 weights.
struct QD8DwParams {
  const int8_t* filter = nullptr;
  const float* filter_scales = nullptr;
  bool per_channel = false;
  const float* bias = nullptr;
  float act_min = 0.0f, act_max = 0.0f;
};

struct DwConvOp {
  enum class Kind : uint8_t { kQS8, kQD8, kF32 } kind = Kind::kF32;
  bool input_signed = false;
  ref::DepthwiseGeometry g;  // as run: multiplier 1, in_c = out_c
  int expand = 1;            // the model's depth multiplier (its in_c = g.in_c / expand)
  int s_expand = -1;         // scratch: the expanded input (expand > 1)
  const uk::QS8DwConfig* qcfg = nullptr;
  const uk::F32DwConfig* fcfg = nullptr;
  int taps = 0;
  int step = 0;      // pointers between consecutive output pixels
  int row_ptrs = 0;  // pointers per output row
  const void* packed = nullptr;
  const void* zero = nullptr;  // one padding pixel
  uk::QuantOutput q;
  float min = 0.0f, max = 0.0f;
  // qd8
  const float* filter_scales = nullptr;  // one per channel
  const float* bias = nullptr;
  int32_t* weight_sums = nullptr;
  int s_qd8 = -1;
  int s_thread = -1;
  int rows_per_task = 1, tasks = 1;
};

// Microkernels exist for this CPU and geometry.
bool DwConvSupported(const CpuInfo& cpu, DwConvOp::Kind kind, const ref::DepthwiseGeometry& g);

Status PrepareQS8DwConv(Context* ctx, const ref::DepthwiseGeometry& g, const QS8DwParams& p,
                        DwConvOp* op);
Status PrepareQD8DwConv(Context* ctx, const ref::DepthwiseGeometry& g, const QD8DwParams& p,
                        DwConvOp* op);
Status PrepareF32DwConv(Context* ctx, const ref::DepthwiseGeometry& g, const float* filter,
                        const float* bias, float act_min, float act_max, DwConvOp* op);

void RunDwConv(Context* ctx, const DwConvOp& op, const void* input, void* output);

}  // namespace rt
}  // namespace edgeopt

#endif  // EDGEOPT_SRC_RUNTIME_KERNELS_DWCONV_OP_H_
