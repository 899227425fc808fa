// Selective runtime builds: which builtin ops (EDGEOPT_SELECTIVE_OPS) and which kernel types
// (EDGEOPT_SELECTIVE_TYPES) a build keeps. Both are comma-separated lists set by CMake
// (-DEDGEOPT_OPS=..., -DEDGEOPT_TYPES=...; `make runtime-for MODEL=m.tflite` derives them from the
// model with `edgeopt inspect --ops` and `--types`). Everything here is constexpr, so a left-out
// op or type is discarded at compile time and its code drops out at link time (--gc-sections).
//
// An entry of EDGEOPT_SELECTIVE_TYPES is a kernel type ("int8": every op's int8 kernels) or an op
// and a type ("QUANTIZE:uint8": only that op's). Kernel types name a kernel's arithmetic:
//   float32, int8, uint8, int16, int32, int64, bool  the type of the op's first input
//   hybrid   float32 activations with constant int8 weights (dynamic-range quantization)
//   sparse   the sparse kernels of FULLY_CONNECTED and 1x1 CONV_2D (sparse_matmul.h), which
//            weights with many zeros run on; without it they run on the dense kernels. Also the
//            densifier of sparse-format weights (TFLite's SparsityParameters; DensifyIfSparse):
//            without it a model that stores them is refused.
// QUANTIZE needs its input type and its output type (QUANTIZE:float32 and QUANTIZE:int8 for float
// values quantized to int8; QUANTIZE:uint8 and QUANTIZE:int8 for a requantization from uint8).
// Kernels that gate their variants by type: CONV_2D, DEPTHWISE_CONV_2D, FULLY_CONNECTED, ADD/SUB,
// QUANTIZE, SOFTMAX, MEAN/SUM/REDUCE_*. A left-out variant fails Prepare with a Status that names
// the op and the type (EDGEOPT_ENSURE_TYPE_IN_BUILD), never a crash. Shared code (microkernel
// tables, GEMM drivers, sparse kernels) keeps what a kept op can use; an op that does not gate its
// types and meets a left-out microkernel runs its reference kernel instead.
#ifndef EDGEOPT_SRC_RUNTIME_SELECTIVE_H_
#define EDGEOPT_SRC_RUNTIME_SELECTIVE_H_

#include "include/edgeopt/status.h"

namespace edgeopt {
namespace rt {

// True when `name` ("CONV_2D") is an entry of `list`, a comma-separated list of names.
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

// True when the build keeps builtin op `name`: every op, unless EDGEOPT_SELECTIVE_OPS is defined.
constexpr bool OpInBuild(const char* name) {
#if defined(EDGEOPT_SELECTIVE_OPS)
  return OpInList(name, EDGEOPT_SELECTIVE_OPS);
#else
  return name != nullptr;
#endif
}

// True when [begin, end) spells `text` (null-terminated).
constexpr bool SameText(const char* text, const char* begin, const char* end) {
  while (begin < end && *text != '\0' && *text == *begin) ++text, ++begin;
  return begin == end && *text == '\0';
}

// True when `list` (comma-separated entries "TYPE" or "OP:TYPE") keeps kernel type `type` for
// builtin op `op`; for every op's shared code (microkernel tables) when `op` is nullptr: then any
// entry of that type counts.
constexpr bool TypeInList(const char* op, const char* type, const char* list) {
  while (*list != '\0') {
    const char* end = list;
    while (*end != '\0' && *end != ',') ++end;
    const char* colon = list;
    while (colon < end && *colon != ':') ++colon;
    if (colon == end) {
      if (SameText(type, list, end)) return true;
    } else if (SameText(type, colon + 1, end) && (op == nullptr || SameText(op, list, colon))) {
      return true;
    }
    list = *end == ',' ? end + 1 : end;
  }
  return false;
}

// True when the build keeps op `op`'s kernels of type `type` ("int8", "hybrid", ...): every
// type, unless EDGEOPT_SELECTIVE_TYPES is defined.
constexpr bool TypeInBuild(const char* op, const char* type) {
#if defined(EDGEOPT_SELECTIVE_TYPES)
  return TypeInList(op, type, EDGEOPT_SELECTIVE_TYPES);
#else
  static_cast<void>(op);  // (comparing two string literals is not a constant expression to clang)
  return type != nullptr;
#endif
}
// The same for code that several ops share (microkernels, GEMM drivers): kept when any op keeps
// the type.
constexpr bool TypeInBuild(const char* type) { return TypeInBuild(nullptr, type); }

// The error of a kernel variant the build left out: "OP: TYPE kernels are not in this build ...".
Status TypeNotInBuild(const char* op, const char* type);

}  // namespace rt
}  // namespace edgeopt

// Returns TypeNotInBuild(OP, TYPE) from the enclosing function when the build leaves out kernel
// type TYPE (a string literal); the code after it is then dead and compiled out.
#define EDGEOPT_ENSURE_TYPE_IN_BUILD(op, type)                 \
  do {                                                         \
    if constexpr (!::edgeopt::rt::TypeInBuild((op), (type))) { \
      return ::edgeopt::rt::TypeNotInBuild((op), (type));      \
    }                                                          \
  } while (false)

#endif  // EDGEOPT_SRC_RUNTIME_SELECTIVE_H_
