// Channel (filter) pruning that makes the model physically smaller: whole output channels of
// CONV_2D / FULLY_CONNECTED layers are removed, with the matching input channels of everything
// that reads them, so the result is an ordinary dense model with fewer filters / units.
//
// Channels are traced through the graph (training form, NHWC, channels last) as labels: each
// channel of a planned layer's output gets an id; ops that keep the channel axis pass the
// labels on (activations, pooling, DROPOUT, BATCH_NORM and PRELU — whose per-channel
// parameters are sliced —, DEPTHWISE_CONV_2D — whose filters follow their input channel —,
// PAD without channel padding, MEAN / REDUCE_MAX over other axes, reshapes that keep the last
// dimension), Flatten's RESHAPE to [B, H*W*C] repeats the labels H*W times (a FULLY_CONNECTED
// after it loses the columns h*W*C + w*C + c of removed channels c), CONCATENATION on the
// channel axis concatenates them, and elementwise ops with two channel inputs (ADD of a
// residual connection, MUL of squeeze-excitation) tie the channels position by position, so a
// channel is kept in all of them or in none. Per-channel broadcast constants are sliced.
// Anything else that reads a channel (graph outputs, SOFTMAX, TRANSPOSE, slices, LSTM, a
// grouped convolution, an elementwise op with a non-constant input from elsewhere) freezes it.
//
// Within each group of tied layers, importance is the sum over its layers of each channel's
// filter norm (L1 or L2); the round(C * sparsity) least important free channels are removed
// (at least one channel stays).
#ifndef EDGEOPT_SRC_PASSES_PRUNE_CHANNEL_PRUNE_H_
#define EDGEOPT_SRC_PASSES_PRUNE_CHANNEL_PRUNE_H_

#include <cstdint>
#include <set>
#include <string>
#include <vector>

#include "src/ir/graph.h"
#include "src/passes/prune/prune_plan.h"

namespace edgeopt {
namespace prune {

enum class ChannelNorm { kL1, kL2 };
StatusOr<ChannelNorm> ParseChannelNorm(const std::string& name);

struct ChannelPruneResult {
  struct Layer {
    std::string layer;
    int channels_before = 0;
    int channels_after = 0;
    int frozen = 0;  // channels that could not be removed
    std::string why_frozen;
  };
  std::vector<Layer> layers;
};

// Removes channels of the planned CONV_2D / FULLY_CONNECTED layers (each at its sparsity) in
// place. Tensor shapes, weights, biases, per-channel parameters, consumers' input channels and
// RESHAPE shape constants are all updated; the graph validates afterwards.
// `fixed`: weight tensors whose shapes must stay (besides frozen ones): a layer reading them
// keeps its input channels.
StatusOr<ChannelPruneResult> PruneChannels(ir::Graph* graph,
                                           const std::vector<PrunableWeight>& weights,
                                           ChannelNorm norm, const std::set<int>& fixed = {});

}  // namespace prune
}  // namespace edgeopt

#endif  // EDGEOPT_SRC_PASSES_PRUNE_CHANNEL_PRUNE_H_
