// The builtin op table: an explicit table filled by one function per kernel family (no static
// self-registration). A selective build (cmake -DEDGEOPT_OPS="CONV_2D;ADD", or
// `make runtime-for MODEL=m.tflite`) keeps only the listed ops: the others are discarded at
// compile time, so their kernels drop out of the binary at link time (--gc-sections).
#ifndef EDGEOPT_SRC_RUNTIME_OP_REGISTRY_H_
#define EDGEOPT_SRC_RUNTIME_OP_REGISTRY_H_

#include "src/runtime/kernel_api.h"

namespace edgeopt {
namespace rt {

constexpr int kNumBuiltinOps = static_cast<int>(tflite::BuiltinOperator::MAX) + 1;

// True when `name` ("CONV_2D") is an entry of `list`, a comma-separated list of builtin names.
constexpr bool OpInList(const char* name, const char* list) {
  while (*list != '\0') {
    const char* a = name;
    const char* b = list;
    while (*a != '\0' && *a == *b) ++a, ++b;
    if (*a == '\0' && (*b == ',' || *b == '\0')) return true;
    while (*list != '\0' && *list != ',') ++list;
    if (*list == ',') ++list;
  }
  return false;
}

// True when the build keeps builtin op `name`: every op, unless EDGEOPT_SELECTIVE_OPS (a
// comma-separated list of builtin names) is defined. constexpr, so EDGEOPT_ADD_OP decides at
// compile time.
constexpr bool OpInBuild(const char* name) {
#if defined(EDGEOPT_SELECTIVE_OPS)
  return OpInList(name, EDGEOPT_SELECTIVE_OPS);
#else
  return name != nullptr;
#endif
}

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
