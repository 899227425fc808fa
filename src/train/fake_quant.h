// Quantization-aware training: the fake-quant ops of the train engine (kernels in ops_quant.cc).
//
//   FAKE_QUANT_WEIGHT(w) {axis, num_bits=8}
//     Forward: the int8 weights the export will write, dequantized: w_q = scale[c] * q with
//     (q, scale) from quantize::QuantizeWeightsSymmetric, the function the int8 export itself
//     calls (symmetric in [-127, 127], per-channel on `axis`, per-tensor when axis < 0).
//     Backward: straight-through (dw = dw_q); abs-max scales never clip a weight.
//
//   FAKE_QUANT_ACT(x, range) {num_bits=8, narrow_range=false, ema_decay, observe=true,
//                             mask_depth=0}
//   FAKE_QUANT_ACT(x) {fixed_scale, fixed_zero_point}
//     Forward: y = scale * (quant::QuantizeValue(x, scale, zp, qmin, qmax) - zp), the value the
//     int8 tensor represents, with (scale, zp) = quant::ChooseQuantParams(range) — the choice
//     the quantize pass makes for the same range — or the spec's fixed parameters (softmax,
//     logistic, tanh outputs).
//     Range: a float state tensor of kRangeStateSize values, shared by every fake-quant of one
//     quantization group (tensors the int8 model gives one scale: a pooling's input and
//     output, the inputs of a concatenation). Training forward passes with observe=true move
//     it toward the min/max of the step's batch: min <- decay * min + (1 - decay) * batch_min,
//     where batch_min is over every observer of the group in that step. Until the range is
//     initialized (by calibration or by the first training step) the op is the identity.
//     mask_depth > 0 (the scores of an attention mask, quantize::MaskDepth): the parameters
//     come from the range with its minimum lowered by that much, as the export lowers it.
//     Backward: straight-through inside the representable range
//     [(qmin - zp) * scale, (qmax - zp) * scale], zero outside (TensorFlow's
//     FakeQuantWithMinMaxVarsGradient).
#ifndef EDGEOPT_SRC_TRAIN_FAKE_QUANT_H_
#define EDGEOPT_SRC_TRAIN_FAKE_QUANT_H_

#include <cstdint>
#include <vector>

#include "src/quant/quant_math.h"

namespace edgeopt {
namespace train {

// Layout of a FAKE_QUANT_ACT range state tensor.
enum RangeSlot : int {
  kRangeMin = 0,
  kRangeMax = 1,
  kRangeInitialized = 2,  // 1 once the range holds values
  kRangeStepTag = 3,      // the training step the fields below belong to
  kRangeStepMin = 4,      // min / max over the group's observers in that step
  kRangeStepMax = 5,
  kRangePrevMin = 6,  // the range before that step
  kRangePrevMax = 7,
  kRangePrevInitialized = 8,
  kRangeStateSize = 9,
};

constexpr float kDefaultEmaDecay = 0.999f;

// A state tensor's initial contents: the range [min, max], or uninitialized.
std::vector<float> InitialRangeState(bool initialized, float min = 0.0f, float max = 0.0f);

// The int8 parameters of an initialized range state (as the quantize pass chooses them).
inline quant::QuantParams RangeQuantParams(const float* state, int32_t qmin, int32_t qmax) {
  return quant::ChooseQuantParams(state[kRangeMin], state[kRangeMax], qmin, qmax);
}

// y = scale * (QuantizeValue(x) - zero_point) for n values.
void FakeQuantize(const float* x, int64_t n, float scale, int32_t zero_point, int32_t qmin,
                  int32_t qmax, float* y);

}  // namespace train
}  // namespace edgeopt

#endif  // EDGEOPT_SRC_TRAIN_FAKE_QUANT_H_
