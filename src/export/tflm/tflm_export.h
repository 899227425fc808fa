// A .tflite model for TensorFlow Lite for Microcontrollers (TFLM): what TFLM needs to run it, and
// the C++ source that embeds it in a firmware image.
//  - The check: every operator must have a TFLM kernel (the MicroMutableOpResolver::Add* list),
//    and the tensors must be of kinds TFLM runs: no hybrid (dynamic-range) ops, no float16
//    tensors, no sparse tensors, uint8 only at QUANTIZE (TFLM dropped uint8 kernels in 2021).
//  - The op resolver: one Add* call per distinct operator, in first-use order.
//  - The arena: the model's activations laid out as TFLM's GreedyMemoryPlanner lays them out
//    (TFLM's tensor lifetimes, 16-byte alignment; a LUT-compressed constant's decoded copy lives
//    during the operator that reads it), plus an estimate of TFLM's persistent allocations; the
//    estimate is a starting point, MicroInterpreter::arena_used_bytes() the exact figure.
//  - The source: `alignas(16) const unsigned char NAME[]` (as `xxd -i`, aligned as TFLM needs)
//    and a header with the length, the arena figures and a template that registers the ops.
#ifndef EDGEOPT_SRC_EXPORT_TFLM_TFLM_EXPORT_H_
#define EDGEOPT_SRC_EXPORT_TFLM_TFLM_EXPORT_H_

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "include/edgeopt/status.h"

namespace tflite {
struct Tensor;
}  // namespace tflite

namespace edgeopt {
namespace tflm {

struct OpUse {
  std::string op;      // "CONV_2D", or a custom op's name
  std::string method;  // the MicroMutableOpResolver method, "AddConv2D"; empty: TFLM has none
  int count = 0;       // nodes, over all subgraphs
};

struct TflmReport {
  std::vector<OpUse> ops;             // distinct operators in first-use order
  std::vector<std::string> problems;  // what keeps TFLM from running the model; empty: none
  int subgraphs = 0, tensors = 0, nodes = 0;
  size_t activation_bytes = 0;   // the greedy plan of every subgraph's non-constant tensors
  size_t largest_pair = 0;       // the largest live set's two biggest buffers (a lower bound)
  size_t variable_bytes = 0;     // variable tensors (TFLM keeps them in the persistent tail)
  int lut_tensors = 0;           // LUT-compressed constants (COMPRESSION_METADATA)
  size_t lut_scratch_bytes = 0;  // the largest decompression scratch one operator needs
  size_t persistent_estimate = 0;
  size_t arena_hint = 0;  // activations + persistent estimate, rounded up to 1 KB
};

// The tensor's element count from its shape; false when a dimension is negative (unknown) or
// the count would pass 2^40 (no tensor of a TFLM model is that big).
bool StaticElements(const tflite::Tensor& tensor, uint64_t* elements);

// Verifies the flatbuffer first; errors say what is wrong (the caller adds the file name).
StatusOr<TflmReport> AnalyzeForTflm(const uint8_t* data, size_t size);

struct CSourceOptions {
  std::string name = "g_model";  // the array; a C identifier
  std::string header;            // the header's file name, as the .cc includes it
  std::string source_file;       // the model's file name, for the comments
};

// "g_model" must be a C identifier that is not a C++ keyword; "" when it is, else the reason.
std::string CheckIdentifier(const std::string& name);

// The .cc: the array (12 bytes a line) and its length.
std::string CArraySource(const uint8_t* data, size_t size, const CSourceOptions& options);
// The header: the declarations, the arena figures, the op count and `NAME_register_ops`.
std::string CArrayHeader(size_t size, const TflmReport& report, const CSourceOptions& options);

}  // namespace tflm
}  // namespace edgeopt

#endif  // EDGEOPT_SRC_EXPORT_TFLM_TFLM_EXPORT_H_
