// Static statistics of a prepared model: MACs per node, parameter count, weight sparsity.
#ifndef EDGEOPT_SRC_RUNTIME_MODEL_STATS_H_
#define EDGEOPT_SRC_RUNTIME_MODEL_STATS_H_

#include <climits>
#include <cstdint>
#include <vector>

#include "src/runtime/interpreter.h"

namespace edgeopt {
namespace rt {

struct ModelStats {
  std::vector<int64_t> node_macs;       // per node
  std::vector<double> tensor_sparsity;  // per tensor: fraction of zeros of weights, -1 if n/a
  int64_t total_macs = 0;
  int64_t parameters = 0;  // elements of constant float/int tensors
  // Of those, the nonzero ones (uint8: not the zero point): what a pruned model keeps. A sparse
  // tensor counts its stored values that are nonzero.
  int64_t nonzero_parameters = 0;
  int64_t constant_bytes = 0;
};

ModelStats ComputeModelStats(Interpreter* interp);

// The work of one inference, for choosing a thread count: multiply-accumulates with each weight
// tensor's zeros left out (what the sparse kernels skip). Works on a loaded model before
// Prepare, from the shapes the file gives; -1 when a layer's output shape is missing there.
// Models of at least `scan_below` MACs with their zeros are not scanned: their count comes back.
int64_t EstimateWork(Interpreter* interp, int64_t scan_below = INT64_MAX);

}  // namespace rt
}  // namespace edgeopt

#endif  // EDGEOPT_SRC_RUNTIME_MODEL_STATS_H_
