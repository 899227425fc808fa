// Magnitude masks for one weight tensor, at a granularity:
//  - unstructured: keep the k = max(round(n * (1 - sparsity)), 1) largest |w| (TFMOT's rule:
//    mask = |w| >= the k-th largest |w|, so ties at the threshold are kept);
//  - block RxC: the same rule on the mean |w| of each R x C block (TFMOT's AVG block pooling),
//    over the matrix view [rows, cols] (partial blocks at the edges pool their valid elements);
//  - N:M: in every group of M consecutive weights along the input dimension (the last one in
//    TFLite's layouts), the N largest |w| are kept (ties: the lower index);
//  - channel: whole output channels (filters) are removed from the graph (channel_prune.h);
//    there is no mask.
// The matrix view of a weight is [rows, cols] with rows = dimension 0 (output channels of
// FULLY_CONNECTED and CONV_2D) and cols = the product of the other dimensions in order, so
// cols runs fastest along the input channels.
#ifndef EDGEOPT_SRC_PASSES_PRUNE_MASK_H_
#define EDGEOPT_SRC_PASSES_PRUNE_MASK_H_

#include <cstdint>
#include <string>
#include <vector>

#include "include/edgeopt/status.h"

namespace edgeopt {
namespace prune {

struct Granularity {
  enum class Kind { kUnstructured, kBlock, kNM, kChannel };
  Kind kind = Kind::kUnstructured;
  int block_rows = 1, block_cols = 1;  // kBlock
  int n = 2, m = 4;                    // kNM: keep n of every m
  // The sparsity an N:M pattern gives (1 - n/m); -1 for the other kinds.
  double ImpliedSparsity() const;
  std::string ToString() const;  // "unstructured", "block:1x4", "2:4", "channel"
};

// "unstructured", "block:RxC" (e.g. block:1x4), "N:M" (e.g. 2:4), "channel" (or "filter").
StatusOr<Granularity> ParseStructure(const std::string& text);

// The mask (1 keep, 0 prune) of a [rows, cols] weight at `sparsity` (ignored for N:M). For
// N:M, cols must be a multiple of m (the caller checks that groups do not straddle an input
// channel boundary).
Status ComputeMask(const float* w, int64_t rows, int64_t cols, const Granularity& g,
                   double sparsity, std::vector<float>* mask);

// Fraction of exact zeros.
double ZeroFraction(const float* w, int64_t n);

}  // namespace prune
}  // namespace edgeopt

#endif  // EDGEOPT_SRC_PASSES_PRUNE_MASK_H_
