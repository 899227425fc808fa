// Direct 3x3 float convolution (stride 1 or 2) for layers with few output channels (at most one
// block of the kernel's NR: 16 or 32 with AVX-512, 8 or 16 with AVX2): the small-channel layers of
// tiny CNNs such as the MLPerf Tiny ResNet, where an IGEMM's one broadcast per FMA keeps it near
// half the FMA peak.
//
// Run splits the output rows over the thread pool. Each task keeps a ring of three zero-padded
// input rows (plus one zero row for rows above or below the image) in its thread's scratch, so
// each step down one output row copies `stride` input rows; the microkernel then reads every
// window strip without bounds checks. Weights are packed once at Prepare ([fy][c][fx][NR], bias
// first).
#ifndef EDGEOPT_SRC_RUNTIME_KERNELS_CONV_DIRECT_H_
#define EDGEOPT_SRC_RUNTIME_KERNELS_CONV_DIRECT_H_

#include "include/edgeopt/status.h"
#include "src/runtime/kernel_api.h"
#include "src/runtime/kernels/conv_igemm.h"
#include "src/runtime/kernels/reference/conv.h"

namespace edgeopt {
namespace rt {

// The direct kernel this CPU offers for g (3x3, stride 1 or 2 on both axes, no dilation,
// groups 1, out_c within one block, not exact_float()), or null.
const uk::F32Conv3x3Config* F32Conv3x3For(const Context* ctx, const ref::ConvGeometry& g);

// Fills op for the direct kernel `cfg` (from F32Conv3x3For): packed weights, scratch, tasks.
Status PrepareF32Conv3x3(Context* ctx, const uk::F32Conv3x3Config* cfg, const ref::ConvGeometry& g,
                         const float* filter, const float* bias, float act_min, float act_max,
                         IGemmConv* op);

// `residual`: the fused ADD's other input (only with op.residual_add), else nullptr.
void RunF32Conv3x3(Context* ctx, const IGemmConv& op, const float* input, float* output,
                   const float* residual);

}  // namespace rt
}  // namespace edgeopt

#endif  // EDGEOPT_SRC_RUNTIME_KERNELS_CONV_DIRECT_H_
