// TFLM's look-up-table (LUT) compression of a .tflite (schema/tflm_compression.fbs, TFLM's
// docs/compression.md): a constant with few distinct values (per channel, for a per-channel
// quantized one) is stored as 1- to 7-bit indices into a table of those values, which TFLM built
// with USE_TFLM_COMPRESSION decodes in its kernels. Clustering to 16 values and int8 quantization
// make 4-bit indices: the weights take half the flash of int8.
//
// Compressed: constants read only by the kernels TFLM decompresses in (FULLY_CONNECTED, CONV_2D,
// DEPTHWISE_CONV_2D, TRANSPOSE_CONV, CONCATENATION), of type float32, int8, int16, int32, int64
// or bool, with at most 128 distinct values per table, per-channel along the first or the last
// axis, and only where the indices and tables take fewer bytes than the data. The rest of the
// model is copied as it is; edgeopt's runtime decodes such files at load.
#ifndef EDGEOPT_SRC_EXPORT_TFLM_LUT_COMPRESS_H_
#define EDGEOPT_SRC_EXPORT_TFLM_LUT_COMPRESS_H_

#include <cstddef>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "include/edgeopt/status.h"

namespace edgeopt {
namespace tflm {

struct LutTensorInfo {
  int subgraph = 0, tensor = 0;
  std::string name;
  int bits = 0;                              // per index
  int channels = 1;                          // value tables
  int values = 0;                            // per table (the longest channel's distinct values)
  size_t bytes_before = 0, bytes_after = 0;  // data, and indices + tables
};

struct LutResult {
  std::vector<uint8_t> model;  // the compressed .tflite (a copy of the input when none is)
  std::vector<LutTensorInfo> tensors;
  int considered = 0;  // constants read only by kernels that decompress
  int too_large = 0;   // of those, left out by LutOptions::max_decoded_bytes
  // Tensors that would have been compressed, when the file would not have become smaller (the
  // input is returned as it is).
  int not_smaller = 0;
};

// Packs `indices` (each < 2^bits) MSB first into bytes, the last padded with zero bits.
std::vector<uint8_t> PackLutIndices(const std::vector<uint32_t>& indices, int bits);

struct LutOptions {
  // TFLM decodes a compressed tensor into a scratch buffer of the arena (RAM) while its operator
  // runs: tensors larger than this (decoded) stay as they are. 0: no limit.
  size_t max_decoded_bytes = 0;
  // When not empty: compress only these (subgraph, tensor) pairs (among those that qualify).
  std::vector<std::pair<int, int>> only;
};

// Verifies the flatbuffer first; errors say what is wrong (the caller adds the file name).
StatusOr<LutResult> CompressLut(const uint8_t* data, size_t size, const LutOptions& options = {});

// CompressLut within a RAM budget: the compressible tensors are tried one by one, the largest
// flash saving first, and each is kept when the arena TFLM then needs (AnalyzeForTflm's
// arena_hint: activations with the decoded copies, persistent estimate, margin) stays within
// `arena_limit` bytes and the file gets smaller. `left_out` counts the ones that did not fit.
StatusOr<LutResult> CompressLutWithinArena(const uint8_t* data, size_t size,
                                           const LutOptions& options, size_t arena_limit,
                                           int* left_out);

}  // namespace tflm
}  // namespace edgeopt

#endif  // EDGEOPT_SRC_EXPORT_TFLM_LUT_COMPRESS_H_
