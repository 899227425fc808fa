// Post-training quantization of a float IR graph (after PrepareForExport), following the TFLite
// quantization spec exactly:
//  - int8: activations asymmetric per-tensor int8; weights symmetric int8 in [-127, 127],
//    per-channel on the output axis of CONV_2D (0), DEPTHWISE_CONV_2D (3), TRANSPOSE_CONV (0)
//    and — with per_channel_fc — FULLY_CONNECTED (0); int32 bias with scale in_scale *
//    weight_scale[c]; fixed output parameters for SOFTMAX/LOGISTIC (1/256, -128), TANH and
//    L2_NORMALIZATION (1/128, 0); one shared scale/zero point across the inputs and outputs of the
//    pass-through ops (pooling, reshape family, concatenation, pad, slices, min/max, ...). QUANTIZE
//    / DEQUANTIZE appear only at the graph edges (io float/uint8) and around layers kept in float.
//    UNIDIRECTIONAL_SEQUENCE_LSTM becomes TFLite's integer LSTM (IntegerLstmCandidate): int8
//    per-tensor gate weights, int32 biases, int8 hidden state with zero point 0, int16 cell
//    state with a power-of-two scale, five intermediates.
//  - int16x8: int16 activations symmetric (zero point 0), int8 weights, int64 bias.
//  - dynamic: int8 weights (symmetric; per-channel for convolutions) on FULLY_CONNECTED,
//    CONV_2D and DEPTHWISE_CONV_2D with at least min_weight_elements elements; the runtime's
//    hybrid kernels quantize activations on the fly.
//  - float16: every float constant stored as float16 and expanded by a DEQUANTIZE node.
//
// `float_to_quantized` (optional) receives, per tensor id of the float graph, the id of the
// tensor that holds the same values in the result (-1 if none), so per-layer reports can
// compare the two graphs tensor by tensor.
#ifndef EDGEOPT_SRC_PASSES_QUANTIZE_QUANTIZE_H_
#define EDGEOPT_SRC_PASSES_QUANTIZE_QUANTIZE_H_

#include <functional>
#include <map>
#include <set>
#include <string>

#include "src/ir/graph.h"
#include "src/passes/quantize/calibration.h"

namespace edgeopt {
namespace quantize {

enum class Mode { kFloat16, kDynamic, kInt8, kInt16x8 };
enum class IoType { kFloat, kInt8, kUInt8, kInt16 };

StatusOr<Mode> ParseMode(const std::string& name);
const char* ModeName(Mode mode);
StatusOr<IoType> ParseIoType(const std::string& name);

struct QuantizeOptions {
  Mode mode = Mode::kInt8;
  bool per_channel = true;  // false: per-tensor weights everywhere (--per-tensor)
  // Per-channel FULLY_CONNECTED weights. Off by default: TFLite 2.9's runtime computes
  // per-channel FULLY_CONNECTED wrongly, and the official converter emits per-tensor.
  bool per_channel_fc = false;
  IoType io = IoType::kFloat;
  // Nodes kept in float: matched against the node name (the Keras layer) and the names of the
  // node's output tensors.
  std::set<std::string> keep_float;
  // int8 mode only: nodes computed with int16 activations (the 16x8 kernels: int8 weights,
  // int64 bias), matched as keep_float. The same-scale ops they share a tensor with (pooling,
  // reshape, concatenation) join them. Where an int8 tensor meets an int16 layer the pass
  // inserts DEQUANTIZE + QUANTIZE (TFLite's QUANTIZE cannot requantize int8 to int16); where an
  // int16 tensor meets an int8 layer, one QUANTIZE (int16 -> int8).
  std::set<std::string> keep_int16;
  // Ranges calibrated for 65536 levels, for the tensors that end up int16 in int8 mode (the
  // clipping methods choose differently for 16 bits); nullptr: the int8 ranges.
  const std::map<int, Range>* int16_ranges = nullptr;
  int64_t min_weight_elements = 1024;  // dynamic mode: smaller weights stay float (as TFLite)
};

// Calibrated float ranges of activation tensors, by tensor id of the float graph.
using RangeMap = std::map<int, Range>;

// `ranges` is needed for kInt8 and kInt16x8 (every float activation tensor the quantized ops
// read or write must have a range); ignored by kFloat16 and kDynamic.
StatusOr<ir::Graph> QuantizeGraph(const ir::Graph& float_graph, const QuantizeOptions& options,
                                  const RangeMap& ranges,
                                  std::vector<int>* float_to_quantized = nullptr);

// How the int8 / int16x8 modes treat each op, for quantization-aware training (which simulates
// them in float and must agree with this pass).
enum class OpQuantKind {
  kNone,         // stays float (QUANTIZE / DEQUANTIZE around it)
  kWeighted,     // CONV_2D, DEPTHWISE_CONV_2D, FULLY_CONNECTED, TRANSPOSE_CONV
  kSameScale,    // inputs and outputs share one scale / zero point (pooling, reshape, concat...)
  kFixedOutput,  // output parameters fixed by the spec (SOFTMAX, LOGISTIC, TANH, LOG_SOFTMAX,
                 // L2_NORMALIZATION)
  kIndependent,  // output parameters from the output's own range
  kLstm,         // UNIDIRECTIONAL_SEQUENCE_LSTM: TFLite's integer LSTM when IntegerLstmCandidate
  kCompare,      // GREATER, GREATER_EQUAL, LESS, LESS_EQUAL: int8 inputs, a bool output
  kIndex,        // ARG_MAX, ARG_MIN: an int8 input, an int32 / int64 index
};
OpQuantKind QuantizedOpKind(const std::string& op);
// Whether input `index` of `op` carries data (quantized with the op) rather than a parameter
// (shape, axes, paddings).
bool IsQuantizedDataInput(const std::string& op, int index);
// The int8 output parameters the spec fixes for a kFixedOutput op.
void FixedOutputParamsInt8(const std::string& op, float* scale, int32_t* zero_point);
// Attention masks. Keras masks scores with -1e9; edgeopt's Keras importer emits MINIMUM(scores,
// M) with M = -1e9 at the masked positions (+1e9 elsewhere). A float constant holding values at
// or below -1e8 is such a mask: its values widen no range (they saturate to the bottom of the
// scores' range instead), and the MINIMUM's output range is that of its scores, lowered by
// MaskDepth so that the masked weights stay below a softmax output step.
// A Keras padding mask (masking.cc) gives SELECT_V2(kept, scores, -1e9), which is such a mask
// node too.
bool IsMaskConstant(const ir::Tensor& t);
bool IsMaskNode(const ir::Graph& g, const ir::Node& node);
// The nodes that compute a Keras mask from the model's inputs (Embedding mask_zero, Masking):
// NOT_EQUAL, CAST and REDUCE_MAX reading the inputs, constants or one another, and RESHAPE /
// SUM / STRIDED_SLICE / MUL / CONCATENATION of what they give (and constants). They stay float in
// an int8 model (and in QAT); what they give to the int8 ops is quantized there (0 and 1 exactly).
// Per node, 1 if it is one.
std::vector<uint8_t> FloatPrefix(const ir::Graph& g);
// ln(levels · keys): how far below the lowest calibrated score the masked ones must sit so that
// all `keys` of them together weigh less than one of the softmax's `levels` output steps.
float MaskDepth(int64_t keys, bool wide);
// The mask nodes among those `include(node index)` accepts: their outputs, and per quantization
// group (`group_of(tensor)`) the most keys (last dimension) a mask in it covers.
struct MaskGroups {
  std::set<int> outputs;
  std::map<int, int64_t> keys;
};
MaskGroups FindMasks(const ir::Graph& g, const std::function<bool(size_t)>& include,
                     const std::function<int(int)>& group_of);
// Inputs of a weighted op: data, weights, bias, and the axis of the weights' per-channel scales.
struct WeightedInputs {
  int data;
  int weights;
  int bias;
  int channel_axis;
};
WeightedInputs WeightedInputsOf(const std::string& op);
// Calls join(a, b) for tensors that must share quantization parameters: the data inputs and
// outputs of each same-scale op, and the data inputs of weighted ops that share one weight tensor
// (an unrolled recurrent layer's steps read their states through one recurrent kernel: one scale
// for every step's state, so its bias quantizes once). Only nodes with include(i) count.
void JoinSharedParams(const ir::Graph& g, const std::function<bool(size_t)>& include,
                      const std::function<void(int, int)>& join);
// The axis of a weighted op's weight scales with these options, or -1 for one per-tensor scale.
int WeightQuantAxis(const std::string& op, const QuantizeOptions& options);

// UNIDIRECTIONAL_SEQUENCE_LSTM's state inputs (variables).
constexpr int kLstmOutputState = 18;
constexpr int kLstmCellState = 19;
// Whether the int8 mode takes an UNIDIRECTIONAL_SEQUENCE_LSTM node to TFLite's integer LSTM (int8
// activations and weights, int16 cell state), as a Keras LSTM converts: float input of rank 3,
// all four gates with constant float weights and biases, no peepholes, projection or layer
// norm, tanh (cell clipping is kept), float variable states. Calibrate observes their cell
// states.
bool IntegerLstmCandidate(const ir::Graph& g, const ir::Node& node);

// Symmetric per-channel (axis >= 0) or per-tensor (axis < 0) int8 quantization of a float
// weight tensor: scales max|w|/127 per slice, values in [-127, 127]; zeros stay exactly zero.
void QuantizeWeightsSymmetric(const float* w, const std::vector<int32_t>& shape, int axis,
                              std::vector<int8_t>* q, std::vector<float>* scales);

}  // namespace quantize
}  // namespace edgeopt

#endif  // EDGEOPT_SRC_PASSES_QUANTIZE_QUANTIZE_H_
