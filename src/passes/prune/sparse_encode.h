// TFLite's sparse tensor encoding for pruned weights (SparsityParameters: traversal order,
// block map, DENSE / SPARSE_CSR dimension metadata), chosen per weight in the layouts the
// official TFLite 2.9 runtime accepts:
//  - FULLY_CONNECTED float32: read directly by TFLite's sparse kernels, either "random"
//    sparse (traversal [0, 1], dims DENSE(out), CSR(in)) or 1x4 blocks (traversal [0, 1, 2],
//    block_map [1], dims DENSE(out), CSR(in / 4), DENSE(4)), whichever is smaller;
//  - every other weight (CONV_2D, DEPTHWISE_CONV_2D, int8 FULLY_CONNECTED): a sparse constant
//    expanded by a DENSIFY node in front of the op (TFLite's kernels other than float
//    FULLY_CONNECTED cannot read sparse tensors). TFLite 2.9 does accept int8 FULLY_CONNECTED
//    weights in 1x16 blocks (DENSE(out), CSR(in / 16), DENSE(16)), but computes them wrongly
//    (measured with tflite-ref on a pruned fmnist-cnn: logits off by up to 5.7 against the same
//    model with dense int8 weights, which edgeopt's runtime matches exactly); that layout is
//    only written with `int8_fc_blocks`. The encoding keeps the
//    dimensions DENSE except one SPARSE_CSR dimension, moved last in the traversal order; the
//    one giving the fewest bytes (e.g. uint8 indices along a dimension of at most 256) wins.
// A weight is encoded only when the result is at most `max_ratio` of its dense bytes. Index
// vectors use the narrowest type (uint8, uint16, int32) the exporter can write.
#ifndef EDGEOPT_SRC_PASSES_PRUNE_SPARSE_ENCODE_H_
#define EDGEOPT_SRC_PASSES_PRUNE_SPARSE_ENCODE_H_

#include <cstdint>
#include <string>
#include <vector>

#include "src/ir/graph.h"

namespace edgeopt {
namespace prune {

struct SparseEncodeOptions {
  double max_ratio = 0.85;  // sparse bytes / dense bytes at most this
  // int8 FULLY_CONNECTED weights with 1x16 structure read directly (see above; edgeopt's
  // runtime reads them correctly, TFLite 2.9 does not).
  bool int8_fc_blocks = false;
};

struct EncodedWeight {
  std::string tensor;
  std::string op;
  std::string layout;  // "random", "block 1x4", "block 1x16", "densify csr(dim 3)", ...
  int64_t dense_bytes = 0;
  int64_t sparse_bytes = 0;  // values + indices + segments
  bool densify = false;      // behind a DENSIFY node
};

// Encodes the weights of FULLY_CONNECTED / CONV_2D / DEPTHWISE_CONV_2D nodes of an export-form
// graph (float32 or int8 constants read by one node) in place.
StatusOr<std::vector<EncodedWeight>> EncodeSparseWeights(ir::Graph* graph,
                                                         const SparseEncodeOptions& options = {});

// The dense data of a sparse constant (any layout of the TFLite format), checked. For tests and
// tools (the runtime has its own decoder).
StatusOr<std::vector<uint8_t>> DecodeSparseTensor(const ir::Tensor& tensor);

// Encodes `dense` (shape `t.shape`, element size of t.dtype) with the given layout into
// `t.sparsity` / `t.data`. `formats[l]` is true for a SPARSE_CSR level l.
Status EncodeTensor(ir::Tensor* t, const std::vector<uint8_t>& dense,
                    const std::vector<int32_t>& traversal_order,
                    const std::vector<int32_t>& block_map, const std::vector<int32_t>& block_sizes,
                    const std::vector<bool>& formats);

// Bytes of the encoded data: values plus every index vector at its narrowest type.
int64_t SparseBytes(const ir::Tensor& t);

}  // namespace prune
}  // namespace edgeopt

#endif  // EDGEOPT_SRC_PASSES_PRUNE_SPARSE_ENCODE_H_
