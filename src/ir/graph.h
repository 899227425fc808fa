// The IR: one graph type for the whole toolkit. Importers produce it, passes rewrite it, the
// train engine differentiates through it, exporters serialize it.
//
//  - Tensors: name, dtype, static shape, quantization, optional constant data (owned bytes,
//    little-endian, C order), optional sparsity.
//  - Nodes: ops named after TFLite builtins ("CONV_2D", "FULLY_CONNECTED", ...) with TFLite's
//    tensor layouts (FULLY_CONNECTED weights [out, in], CONV_2D OHWI, DEPTHWISE_CONV_2D
//    [1, H, W, C*M]) and attributes named after the TFLite option fields (enums as their schema
//    names: padding="SAME", fused_activation_function="RELU"). Toolkit-only ops that exist
//    before lowering (training) have names that are not TFLite builtins: see kToolkitOps.
//  - A readable text form (text.h): pass tests are "IR text in, IR text out".
#ifndef EDGEOPT_SRC_IR_GRAPH_H_
#define EDGEOPT_SRC_IR_GRAPH_H_

#include <cstdint>
#include <cstring>
#include <map>
#include <string>
#include <utility>
#include <variant>
#include <vector>

#include "include/edgeopt/status.h"
#include "src/core/dtype.h"

namespace edgeopt {
namespace ir {

// An attribute value: integer, float, bool, string (also enum names), or lists.
using AttrValue =
    std::variant<int64_t, double, bool, std::string, std::vector<int64_t>, std::vector<double>>;
using Attrs = std::map<std::string, AttrValue>;

// Ops that only exist inside the toolkit (before export); everything else is a TFLite builtin
// name. The exporter refuses these: passes lower them first.
//   BATCH_NORM(x, gamma, beta, mean, variance) {epsilon, momentum, axis=-1}
//   DROPOUT(x) {rate, noise_shape="" | "spatial"}
//   FAKE_QUANT_ACT(x[, range]) {num_bits, narrow_range, ema_decay, observe, fixed_scale,
//                  fixed_zero_point}  (QAT activation fake-quant; `range` is a float state
//                  tensor shared by the fake-quants of one quantization group, see
//                  src/train/ops_quant.cc)
//   FAKE_QUANT_WEIGHT(w) {num_bits, axis}  (QAT weight fake-quant: symmetric, per-channel on
//                  `axis` or per-tensor when axis < 0)
extern const char* const kToolkitOps[];
bool IsToolkitOp(const std::string& op);

struct QuantInfo {
  std::vector<float> scale;
  std::vector<int64_t> zero_point;
  int axis = 0;                 // quantized_dimension
  std::vector<float> min, max;  // optional ranges (calibration / QAT), kept in the file

  bool empty() const { return scale.empty(); }
  bool per_channel() const { return scale.size() > 1; }
};

// TFLite's sparse encoding (TACO-style), see schema/tflite.fbs SparsityParameters.
struct SparsityInfo {
  struct DimMeta {
    bool sparse = false;  // false: DENSE (dense_size), true: SPARSE_CSR
    int32_t dense_size = 0;
    std::vector<int32_t> segments;  // array_segments
    std::vector<int32_t> indices;   // array_indices
  };
  std::vector<int32_t> traversal_order;
  std::vector<int32_t> block_map;
  std::vector<DimMeta> dim_metadata;
};

struct Tensor {
  std::string name;
  DType dtype = DType::kFloat32;
  std::vector<int32_t> shape;
  std::vector<int32_t> shape_signature;  // optional: -1 marks a dynamic dim (batch)
  bool is_constant = false;              // has `data` (possibly 0 elements)
  std::vector<uint8_t> data;             // constant contents; for a sparse tensor the values only
  QuantInfo quant;
  bool is_variable = false;
  bool has_sparsity = false;
  SparsityInfo sparsity;
  // Where a weight came from, e.g. "conv2d_1/kernel" (Keras layer and variable); used to write
  // trained weights back to Keras files and in reports. Empty for activations.
  std::string origin;
  // A weight that training leaves as it is: a Keras layer with trainable=False (edgeopt
  // --freeze), or a constant of the model's computation (keras.ops.matmul by a constant).
  bool frozen = false;

  int64_t NumElements() const;
  size_t ByteSize() const { return static_cast<size_t>(NumElements()) * DTypeSize(dtype); }
  template <typename T>
  T* DataAs() {
    return reinterpret_cast<T*>(data.data());
  }
  template <typename T>
  const T* DataAs() const {
    return reinterpret_cast<const T*>(data.data());
  }
};

struct Node {
  std::string op;           // "CONV_2D", ..., "CUSTOM", or a toolkit op
  std::string name;         // provenance: the Keras layer (or "") for reports and errors
  std::vector<int> inputs;  // tensor ids; -1 marks an absent optional input
  std::vector<int> outputs;
  std::vector<int> intermediates;
  Attrs attrs;
  int version = 0;          // 0: the exporter picks the lowest version the node needs
  std::string custom_code;  // for CUSTOM
  std::vector<uint8_t> custom_options;
};

struct Graph {
  std::vector<Tensor> tensors;
  std::vector<Node> nodes;  // in execution (topological) order
  std::vector<int> inputs;
  std::vector<int> outputs;
  // Signature names of the inputs/outputs (serving_default); empty = use tensor names.
  std::vector<std::string> input_names;
  std::vector<std::string> output_names;
  std::string description;
  std::vector<std::pair<std::string, std::vector<uint8_t>>> metadata;  // name -> bytes

  int AddTensor(Tensor t);
  // A constant from raw bytes (size must match shape and dtype).
  int AddConstant(const std::string& name, DType dtype, const std::vector<int32_t>& shape,
                  const void* data, size_t bytes);
  int AddFloatConstant(const std::string& name, const std::vector<int32_t>& shape,
                       const std::vector<float>& values);
  int AddActivation(const std::string& name, DType dtype, const std::vector<int32_t>& shape);
  int AddNode(Node n);

  // The node that writes tensor `t`, or -1.
  int Producer(int t) const;
  // Nodes that read tensor `t` (in order).
  std::vector<int> Consumers(int t) const;
  bool IsGraphOutput(int t) const;
  // Drops tensors no node or graph input/output refers to, renumbering the rest. Returns the
  // map old id -> new id (-1 for removed tensors).
  std::vector<int> RemoveUnusedTensors();
  // Checks indices, single producers, topological order, constant data sizes.
  Status Validate() const;
};

// Attribute accessors with defaults (a missing attribute gives the default; a present one of
// the wrong kind is a bug in the caller's graph and also gives the default).
int64_t GetInt(const Attrs& attrs, const std::string& key, int64_t fallback);
double GetFloat(const Attrs& attrs, const std::string& key, double fallback);
bool GetBool(const Attrs& attrs, const std::string& key, bool fallback);
std::string GetString(const Attrs& attrs, const std::string& key, const std::string& fallback);
std::vector<int64_t> GetInts(const Attrs& attrs, const std::string& key);

}  // namespace ir
}  // namespace edgeopt

#endif  // EDGEOPT_SRC_IR_GRAPH_H_
