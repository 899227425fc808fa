// The builtin op table: an explicit table filled by one function per kernel family (no static
// self-registration). A selective build (cmake -DEDGEOPT_OPS="CONV_2D;ADD", or
// `make runtime-for MODEL=m.tflite`) keeps only the listed ops: the others are discarded at
// compile time, so their kernels drop out of the binary at link time (--gc-sections).
#ifndef EDGEOPT_SRC_RUNTIME_OP_REGISTRY_H_
#define EDGEOPT_SRC_RUNTIME_OP_REGISTRY_H_

#include "src/runtime/kernel_api.h"
#include "src/runtime/selective.h"

namespace edgeopt {
namespace rt {

constexpr int kNumBuiltinOps = static_cast<int>(tflite::BuiltinOperator::MAX) + 1;

// Registers builtin NAME with the kernel `register_fn()` returns, when the build keeps it; a
// left-out op's kernel is not referenced at all.
#define EDGEOPT_ADD_OP(table, NAME, register_fn)                    \
  do {                                                              \
    if constexpr (::edgeopt::rt::OpInBuild(#NAME)) {                \
      (table)->Add(::tflite::BuiltinOperator::NAME, register_fn()); \
    }                                                               \
  } while (false)

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
