// The builtin op table: an explicit table filled by one function per kernel family (no static
// self-registration). A selective build (EDGEOPT_OPS) keeps only the listed ops.
#ifndef EDGEOPT_SRC_RUNTIME_OP_REGISTRY_H_
#define EDGEOPT_SRC_RUNTIME_OP_REGISTRY_H_

#include "src/runtime/kernel_api.h"

namespace edgeopt {
namespace rt {

constexpr int kNumBuiltinOps = static_cast<int>(tflite::BuiltinOperator::MAX) + 1;

struct OpTable {
  const Registration* builtin[kNumBuiltinOps] = {};
  void Add(tflite::BuiltinOperator op, const Registration* reg);
};

// nullptr when the op has no kernel (or is left out of a selective build).
const Registration* LookupBuiltin(tflite::BuiltinOperator op);

// One per kernel family, each in its own registry_<family>.cc.
void AddConvOps(OpTable* table);         // CONV_2D, DEPTHWISE_CONV_2D, FULLY_CONNECTED, ...
void AddElementwiseOps(OpTable* table);  // arithmetic, activations, pooling, shape ops, ...
void AddRecurrentOps(OpTable* table);    // UNIDIRECTIONAL_SEQUENCE_LSTM, SVDF, ...

}  // namespace rt
}  // namespace edgeopt

#endif  // EDGEOPT_SRC_RUNTIME_OP_REGISTRY_H_
