// The table of Keras layer mappings: one entry per layer class, each pointing at the mapping
// function in its own file (layers/<family>.cc). Explicit, no static self-registration.
#ifndef EDGEOPT_SRC_IMPORTERS_KERAS_LAYERS_LAYER_REGISTRY_H_
#define EDGEOPT_SRC_IMPORTERS_KERAS_LAYERS_LAYER_REGISTRY_H_

#include <string>
#include <vector>

#include "src/importers/keras/graph_builder.h"

namespace edgeopt {
namespace keras {

using ConvertFn = Status (*)(LayerCall* call);
// The layer's Keras variables in creation order (the order of .keras "vars/<i>" and of Keras 2
// weight_names), for this config.
using VariablesFn = StatusOr<std::vector<std::string>> (*)(const LayerConfig& config);

struct LayerMapping {
  const char* class_name;
  ConvertFn convert;
  VariablesFn variables;    // nullptr: no variables
  const char* converts_to;  // for inspect, e.g. "FULLY_CONNECTED"
};

// nullptr when the class has no mapping.
const LayerMapping* FindLayerMapping(const std::string& class_name);
// Keras operations (ops.cc): a Keras 3 operation node ("module": "keras.src.ops.numpy", ...) or
// a tf.keras TFOpLambda layer.
bool IsKerasOpsModule(const std::string& module);
const LayerMapping* KerasOpMapping();
const std::vector<LayerMapping>& AllLayerMappings();
// Why a class cannot be converted (for the error message).
std::string UnsupportedReason(const std::string& class_name);

// The mapping functions (one family per file).
Status ConvertInputLayer(LayerCall* call);
Status ConvertDense(LayerCall* call);
Status ConvertConv(LayerCall* call);  // Conv1D, Conv2D
Status ConvertDepthwiseConv2D(LayerCall* call);
Status ConvertSeparableConv2D(LayerCall* call);
// The depthwise part of DepthwiseConv1D/2D and SeparableConv1D/2D (depthwise_conv.cc): reads
// kernel_size, strides, dilation_rate, depth_multiplier and padding, views a 1-D input as
// [B,1,L,C] (ExpandSteps), and emits DEPTHWISE_CONV_2D with the layer's depthwise_kernel (and
// its bias when `with_bias`), no activation.
struct DepthwiseOutput {
  int tensor = -1;
  int node = -1;
};
StatusOr<DepthwiseOutput> EmitDepthwise(LayerCall* call, bool is1d, bool with_bias);
Status ConvertConvTranspose(LayerCall* call);
Status ConvertDot(LayerCall* call);                // attention.cc
Status ConvertUnitNormalization(LayerCall* call);  // normalization.cc
Status ConvertGroupNormalization(LayerCall* call);
StatusOr<std::vector<std::string>> GroupNormalizationVariables(const LayerConfig& config);
Status ConvertBatchNormalization(LayerCall* call);
Status ConvertPooling(LayerCall* call);        // Max/AveragePooling1D/2D
Status ConvertGlobalPooling(LayerCall* call);  // GlobalAverage/MaxPooling1D/2D
Status ConvertFlatten(LayerCall* call);
Status ConvertReshape(LayerCall* call);
Status ConvertPermute(LayerCall* call);
Status ConvertRepeatVector(LayerCall* call);
Status ConvertDropout(LayerCall* call);  // Dropout, SpatialDropout1D/2D/3D
// RandomFlip, RandomRotation, ..., GaussianNoise, GaussianDropout, AlphaDropout,
// ActivityRegularization, Identity: the identity at inference (augmentation.cc).
Status ConvertInferenceIdentity(LayerCall* call);
Status ConvertCenterCrop(LayerCall* call);  // CenterCrop, RandomCrop
Status ConvertActivation(LayerCall* call);
Status ConvertReLU(LayerCall* call);
Status ConvertLeakyReLU(LayerCall* call);
Status ConvertPReLU(LayerCall* call);
Status ConvertELU(LayerCall* call);
Status ConvertSoftmax(LayerCall* call);
Status ConvertMerge(LayerCall* call);  // Add, Subtract, Multiply, Average, Maximum, Minimum
Status ConvertConcatenate(LayerCall* call);
Status ConvertZeroPadding(LayerCall* call);  // ZeroPadding1D/2D
Status ConvertCropping(LayerCall* call);     // Cropping1D/2D
Status ConvertUpSampling(LayerCall* call);   // UpSampling1D/2D
Status ConvertResizing(LayerCall* call);
Status ConvertRescaling(LayerCall* call);
Status ConvertLayerNormalization(LayerCall* call);
Status ConvertNormalization(LayerCall* call);
Status ConvertEmbedding(LayerCall* call);
Status ConvertMasking(LayerCall* call);  // masking.cc

// Keras masks (masking.cc). PrepareMasks fills call->input_masks before the mapping runs and
// refuses a mask that reaches a layer which would need it but does not apply it; OutputMasks
// gives each output's mask after it (-1: none), by the layer class's rule.
Status PrepareMasks(LayerCall* call);
StatusOr<std::vector<int>> OutputMasks(LayerCall* call);
// The mask of x != value, [x's shape, 1] (or, any_last_axis, any over x's last axis:
// [x's shape without its last axis, 1]), as 0 / 1 floats: NOT_EQUAL, CAST, RESHAPE / REDUCE_MAX.
int EmitEqualityMask(LayerCall* call, int x, float value, bool any_last_axis);
// NOT_EQUAL(x, value) -> a bool tensor of x's shape ("<layer>/<suffix>"; the value a constant
// "<layer>/<value_suffix>").
int EmitNotEqual(LayerCall* call, int x, float value, const std::string& value_suffix,
                 const std::string& suffix);
// The mask [B, T, 1] of a [B, T, ...] input i, or -1 if it has none; an error if its shape does
// not fit.
StatusOr<int> SequenceMask(const LayerCall& call, size_t i = 0);
// Attention scores with the positions a mask [B, N, 1] drops set to -1e9: NOT_EQUAL(mask, 0)
// RESHAPEd to `cond_shape` (which broadcasts against the scores, N on the axis it masks), then
// SELECT_V2(kept, scores, -1e9). Keras adds -1e9 instead; both give those positions weight 0.
int EmitMaskedScores(LayerCall* call, int scores, int mask, const Shape& cond_shape);
// The Keras mask of a merge's output (call->outputs[0] built), or -1: along the steps
// (`steps_axis`, a Concatenate on axis 1) the masks concatenated, all kept for an input without
// one; otherwise tf.keras's AND of the inputs' masks, and in Keras 3 the mask all inputs carry
// (an error if they differ, or for Multiply / Maximum / Minimum).
StatusOr<int> MergeMask(LayerCall* call, bool steps_axis);
Status ConvertLSTM(LayerCall* call);
Status ConvertRecurrent(LayerCall* call);  // GRU, SimpleRNN, LSTM with unroll=True (unrolled)
Status ConvertBidirectional(LayerCall* call);
Status ConvertMultiHeadAttention(LayerCall* call);  // attention.cc
Status ConvertEinsumDense(LayerCall* call);         // einsum_dense.cc
Status ConvertCategoryEncoding(LayerCall* call);    // category.cc
Status ConvertDiscretization(LayerCall* call);
StatusOr<std::vector<std::string>> EinsumDenseVariables(const LayerConfig& config);
StatusOr<std::vector<std::string>> MultiHeadAttentionVariables(const LayerConfig& config);
Status ConvertDotAttention(LayerCall* call);  // Attention, AdditiveAttention (attention.cc)
StatusOr<std::vector<std::string>> DotAttentionVariables(const LayerConfig& config);
Status ConvertTimeDistributed(LayerCall* call);  // time_distributed.cc
StatusOr<std::vector<std::string>> TimeDistributedVariables(const LayerConfig& config);

StatusOr<std::vector<std::string>> DenseVariables(const LayerConfig& config);
StatusOr<std::vector<std::string>> ConvVariables(const LayerConfig& config);
StatusOr<std::vector<std::string>> DepthwiseConv2DVariables(const LayerConfig& config);
StatusOr<std::vector<std::string>> SeparableConv2DVariables(const LayerConfig& config);
StatusOr<std::vector<std::string>> BatchNormalizationVariables(const LayerConfig& config);
StatusOr<std::vector<std::string>> PReLUVariables(const LayerConfig& config);
StatusOr<std::vector<std::string>> LSTMVariables(const LayerConfig& config);
StatusOr<std::vector<std::string>> GRUVariables(const LayerConfig& config);
StatusOr<std::vector<std::string>> SimpleRNNVariables(const LayerConfig& config);
// "forward/<var>" then "backward/<var>" of the wrapped layers.
StatusOr<std::vector<std::string>> BidirectionalVariables(const LayerConfig& config);
StatusOr<std::vector<std::string>> LayerNormalizationVariables(const LayerConfig& config);
StatusOr<std::vector<std::string>> NormalizationVariables(const LayerConfig& config);
StatusOr<std::vector<std::string>> EmbeddingVariables(const LayerConfig& config);

}  // namespace keras
}  // namespace edgeopt

#endif  // EDGEOPT_SRC_IMPORTERS_KERAS_LAYERS_LAYER_REGISTRY_H_
