// Quantization-aware training: the training graph that simulates the full-integer int8 model,
// and the export of a trained one through the post-training quantize pass.
//
// BuildQatModel takes a float graph in export form (passes::PrepareForExport: BatchNorm already
// folded into the convolution before it, activations fused, dropout removed) and inserts the
// fake-quant ops of src/train/fake_quant.h where the int8 model (quantize::QuantizeGraph) will
// have integers:
//   - FAKE_QUANT_WEIGHT before the weights of every CONV_2D / DEPTHWISE_CONV_2D /
//     FULLY_CONNECTED (per-channel as the quantize pass chooses: convolutions per-channel unless
//     per_channel is off, FULLY_CONNECTED per-tensor unless per_channel_fc);
//   - FAKE_QUANT_ACT after the graph input and after every op that computes new values (weighted
//     ops, ADD/MUL/..., MEAN, AVERAGE_POOL_2D, RESIZE_BILINEAR); ops that only move values
//     (MAX_POOL_2D, RESHAPE, CONCATENATION, PAD, ...) keep the int8 grid and need none;
//   - one range state per quantization group (the union-find of the quantize pass: a pooling's
//     input and output, a concatenation's inputs share one scale), initialized from
//     `initial_ranges` (calibration) when given; fixed parameters for SOFTMAX / LOGISTIC / TANH
//     outputs (a SOFTMAX that is the graph output is left alone: the loss reads its logits).
// Every op must have an int8 kernel: QAT targets a full-integer model, so an op the int8 mode
// would leave in float is an error naming it.
//
// After training (Engine::ExportWeights into QatModel::graph), ExportInt8 writes the trained
// weights into the float graph, reads the learned ranges from the states and calls
// quantize::QuantizeGraph: the file holds exactly the integers the fake-quant ops simulated, with
// QUANTIZE / DEQUANTIZE only at the graph edges (none with int8 / uint8 I/O).
#ifndef EDGEOPT_SRC_PASSES_QAT_QAT_H_
#define EDGEOPT_SRC_PASSES_QAT_QAT_H_

#include <map>
#include <string>
#include <vector>

#include "src/ir/graph.h"
#include "src/passes/quantize/calibrate.h"
#include "src/passes/quantize/quantize.h"
#include "src/train/fake_quant.h"

namespace edgeopt {
namespace train {
class Trainer;
}  // namespace train

namespace qat {

struct QatOptions {
  bool per_channel = true;      // false: per-tensor weights everywhere (--per-tensor)
  bool per_channel_fc = false;  // as quantize::QuantizeOptions
  float ema_decay = train::kDefaultEmaDecay;
};

struct QatModel {
  ir::Graph float_graph;  // the export-form graph the QAT graph was built from
  ir::Graph graph;        // float_graph + fake-quant ops (same ids for float_graph's tensors)
  QatOptions options;
  // Per float_graph tensor: the range state tensor (in `graph`) of its group, or -1.
  std::vector<int> range_state;
  // Tensors of groups with parameters fixed by the spec: a range that gives those parameters.
  std::map<int, quantize::Range> fixed_ranges;
  // Weight tensors (ids shared by both graphs) read by FAKE_QUANT_WEIGHT.
  std::vector<int> weights;
  int num_weight_quantizers = 0;
  int num_activation_quantizers = 0;
  int num_range_states = 0;
};

// `initial_ranges` (by float_graph tensor id, e.g. from quantize::Calibrate) may be empty: the
// ranges then start at the first training batch.
StatusOr<QatModel> BuildQatModel(const ir::Graph& float_graph, const QatOptions& options,
                                 const quantize::RangeMap& initial_ranges);

// The learned ranges (by float_graph tensor id) as `graph` holds them now.
StatusOr<quantize::RangeMap> LearnedRanges(const QatModel& model);
// float_graph with the weights `graph` holds now.
ir::Graph TrainedFloatGraph(const QatModel& model);

// An integer LSTM's cell state stays inside the kernel, with no fake-quant to learn its range:
// CalibrateLstmCells calibrates it again on the weights `graph` holds now (quantize::Calibrate of
// TrainedFloatGraph) and writes it into its range state, for ExportInt8. Nothing to do without
// LSTMs.
Status CalibrateLstmCells(QatModel* model, const quantize::FillInputsFn& fill,
                          const quantize::CalibrateOptions& options);

// The full-integer model (`io` as quantize --io). `float_to_quantized` as QuantizeGraph's.
StatusOr<ir::Graph> ExportInt8(const QatModel& model, quantize::IoType io,
                               std::vector<int>* float_to_quantized = nullptr);
// QUANTIZE only reads a graph input or writes a graph output, DEQUANTIZE only writes a graph
// output, and every weighted op is int8: else an error naming the first offender.
Status CheckFullInteger(const ir::Graph& quantized);

// Keeps the zeros of the weights zero during training (a pruned model stays pruned): a mask for
// every fake-quantized weight that has exact zeros. Returns the number of masked weights.
StatusOr<int64_t> KeepZeroWeights(const QatModel& model, train::Trainer* trainer);

}  // namespace qat
}  // namespace edgeopt

#endif  // EDGEOPT_SRC_PASSES_QAT_QAT_H_
