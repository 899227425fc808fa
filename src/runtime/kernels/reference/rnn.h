// Reference basic RNN step (TFLite's RnnBatchStep, float):
//   h = activation(W x + R h + b)
// Shapes: input [n_batch, n_input], weights [n_unit, n_input], recurrent [n_unit, n_unit], bias
// [n_unit], hidden [n_batch, n_unit]; `output` receives the new hidden state.
#ifndef EDGEOPT_SRC_RUNTIME_KERNELS_REFERENCE_RNN_H_
#define EDGEOPT_SRC_RUNTIME_KERNELS_REFERENCE_RNN_H_

#include <cstring>

#include "src/runtime/kernels/reference/lstm.h"

namespace edgeopt {
namespace rt {
namespace ref {

inline void RnnStepFloat(const float* input, const float* weights, const float* recurrent,
                         const float* bias, int n_batch, int n_input, int n_unit, Activation act,
                         float* hidden, float* output) {
  for (int b = 0; b < n_batch; ++b) {
    for (int u = 0; u < n_unit; ++u) output[b * n_unit + u] = bias[u];
  }
  MatVecAccumulate(weights, n_unit, n_input, input, n_batch, output);
  MatVecAccumulate(recurrent, n_unit, n_unit, hidden, n_batch, output);
  ApplyActivation(act, output, n_batch * n_unit, output);
  std::memcpy(hidden, output, sizeof(float) * n_batch * n_unit);
}

}  // namespace ref
}  // namespace rt
}  // namespace edgeopt

#endif  // EDGEOPT_SRC_RUNTIME_KERNELS_REFERENCE_RNN_H_
