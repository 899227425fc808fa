#include "src/importers/keras/layers/layer_registry.h"

namespace edgeopt {
namespace keras {

const std::vector<LayerMapping>& AllLayerMappings() {
  static const std::vector<LayerMapping>* const kTable = new std::vector<LayerMapping>{
      {"InputLayer", ConvertInputLayer, nullptr, "(graph input)"},
      {"Dense", ConvertDense, DenseVariables, "FULLY_CONNECTED"},
      {"EinsumDense", ConvertEinsumDense, EinsumDenseVariables, "FULLY_CONNECTED"},
      {"Conv1D", ConvertConv, ConvVariables, "RESHAPE + CONV_2D + RESHAPE"},
      {"Convolution1D", ConvertConv, ConvVariables, "RESHAPE + CONV_2D + RESHAPE"},
      {"Conv2D", ConvertConv, ConvVariables, "CONV_2D"},
      {"Convolution2D", ConvertConv, ConvVariables, "CONV_2D"},
      {"DepthwiseConv2D", ConvertDepthwiseConv2D, DepthwiseConv2DVariables, "DEPTHWISE_CONV_2D"},
      {"DepthwiseConv1D", ConvertDepthwiseConv2D, DepthwiseConv2DVariables,
       "RESHAPE + DEPTHWISE_CONV_2D + RESHAPE"},
      {"SeparableConv1D", ConvertSeparableConv2D, SeparableConv2DVariables,
       "RESHAPE + DEPTHWISE_CONV_2D + CONV_2D + RESHAPE"},
      {"SeparableConvolution1D", ConvertSeparableConv2D, SeparableConv2DVariables,
       "RESHAPE + DEPTHWISE_CONV_2D + CONV_2D + RESHAPE"},
      {"SeparableConv2D", ConvertSeparableConv2D, SeparableConv2DVariables,
       "DEPTHWISE_CONV_2D + CONV_2D"},
      {"SeparableConvolution2D", ConvertSeparableConv2D, SeparableConv2DVariables,
       "DEPTHWISE_CONV_2D + CONV_2D"},
      {"Conv1DTranspose", ConvertConvTranspose, ConvVariables,
       "RESHAPE + TRANSPOSE_CONV + RESHAPE"},
      {"Convolution1DTranspose", ConvertConvTranspose, ConvVariables,
       "RESHAPE + TRANSPOSE_CONV + RESHAPE"},
      {"Conv2DTranspose", ConvertConvTranspose, ConvVariables, "TRANSPOSE_CONV"},
      {"Convolution2DTranspose", ConvertConvTranspose, ConvVariables, "TRANSPOSE_CONV"},
      {"BatchNormalization", ConvertBatchNormalization, BatchNormalizationVariables,
       "folded into the previous layer, or MUL + ADD"},
      {"MaxPooling1D", ConvertPooling, nullptr, "MAX_POOL_2D"},
      {"MaxPool1D", ConvertPooling, nullptr, "MAX_POOL_2D"},
      {"MaxPooling2D", ConvertPooling, nullptr, "MAX_POOL_2D"},
      {"MaxPool2D", ConvertPooling, nullptr, "MAX_POOL_2D"},
      {"AveragePooling1D", ConvertPooling, nullptr, "AVERAGE_POOL_2D"},
      {"AvgPool1D", ConvertPooling, nullptr, "AVERAGE_POOL_2D"},
      {"AveragePooling2D", ConvertPooling, nullptr, "AVERAGE_POOL_2D"},
      {"AvgPool2D", ConvertPooling, nullptr, "AVERAGE_POOL_2D"},
      {"GlobalAveragePooling1D", ConvertGlobalPooling, nullptr, "MEAN"},
      {"GlobalAvgPool1D", ConvertGlobalPooling, nullptr, "MEAN"},
      {"GlobalAveragePooling2D", ConvertGlobalPooling, nullptr, "MEAN"},
      {"GlobalAvgPool2D", ConvertGlobalPooling, nullptr, "MEAN"},
      {"GlobalMaxPooling1D", ConvertGlobalPooling, nullptr, "REDUCE_MAX"},
      {"GlobalMaxPool1D", ConvertGlobalPooling, nullptr, "REDUCE_MAX"},
      {"GlobalMaxPooling2D", ConvertGlobalPooling, nullptr, "REDUCE_MAX"},
      {"GlobalMaxPool2D", ConvertGlobalPooling, nullptr, "REDUCE_MAX"},
      {"Flatten", ConvertFlatten, nullptr, "RESHAPE (dropped before FULLY_CONNECTED)"},
      {"Reshape", ConvertReshape, nullptr, "RESHAPE"},
      {"Permute", ConvertPermute, nullptr, "TRANSPOSE"},
      {"RepeatVector", ConvertRepeatVector, nullptr, "RESHAPE + CONCATENATION"},
      {"Dropout", ConvertDropout, nullptr, "(removed)"},
      {"SpatialDropout1D", ConvertDropout, nullptr, "(removed)"},
      {"SpatialDropout2D", ConvertDropout, nullptr, "(removed)"},
      {"SpatialDropout3D", ConvertDropout, nullptr, "(removed)"},
      {"Activation", ConvertActivation, nullptr, "activation op, or fused"},
      // Identity at inference (augmentation.cc).
      {"RandomFlip", ConvertInferenceIdentity, nullptr, "(removed: identity at inference)"},
      {"RandomRotation", ConvertInferenceIdentity, nullptr, "(removed: identity at inference)"},
      {"RandomZoom", ConvertInferenceIdentity, nullptr, "(removed: identity at inference)"},
      {"RandomTranslation", ConvertInferenceIdentity, nullptr, "(removed: identity at inference)"},
      {"RandomContrast", ConvertInferenceIdentity, nullptr, "(removed: identity at inference)"},
      {"RandomBrightness", ConvertInferenceIdentity, nullptr, "(removed: identity at inference)"},
      {"RandomHeight", ConvertInferenceIdentity, nullptr, "(removed: identity at inference)"},
      {"RandomWidth", ConvertInferenceIdentity, nullptr, "(removed: identity at inference)"},
      {"RandomGrayscale", ConvertInferenceIdentity, nullptr, "(removed: identity at inference)"},
      {"RandomHue", ConvertInferenceIdentity, nullptr, "(removed: identity at inference)"},
      {"RandomSaturation", ConvertInferenceIdentity, nullptr, "(removed: identity at inference)"},
      {"RandomSharpness", ConvertInferenceIdentity, nullptr, "(removed: identity at inference)"},
      {"RandomColorJitter", ConvertInferenceIdentity, nullptr, "(removed: identity at inference)"},
      {"RandomColorDegeneration", ConvertInferenceIdentity, nullptr,
       "(removed: identity at inference)"},
      {"RandomPosterization", ConvertInferenceIdentity, nullptr,
       "(removed: identity at inference)"},
      {"RandomShear", ConvertInferenceIdentity, nullptr, "(removed: identity at inference)"},
      {"RandomErasing", ConvertInferenceIdentity, nullptr, "(removed: identity at inference)"},
      {"RandomGaussianBlur", ConvertInferenceIdentity, nullptr, "(removed: identity at inference)"},
      {"RandomPerspective", ConvertInferenceIdentity, nullptr, "(removed: identity at inference)"},
      {"RandomInvert", ConvertInferenceIdentity, nullptr, "(removed: identity at inference)"},
      {"GaussianNoise", ConvertInferenceIdentity, nullptr, "(removed: identity at inference)"},
      {"GaussianDropout", ConvertInferenceIdentity, nullptr, "(removed: identity at inference)"},
      {"AlphaDropout", ConvertInferenceIdentity, nullptr, "(removed: identity at inference)"},
      {"ActivityRegularization", ConvertInferenceIdentity, nullptr,
       "(removed: identity at inference)"},
      {"Identity", ConvertInferenceIdentity, nullptr, "(removed: identity at inference)"},
      {"CenterCrop", ConvertCenterCrop, nullptr, "SLICE"},
      {"RandomCrop", ConvertCenterCrop, nullptr, "(removed when the input has its size)"},
      {"ReLU", ConvertReLU, nullptr, "RELU / RELU6 (fused when possible)"},
      {"LeakyReLU", ConvertLeakyReLU, nullptr, "LEAKY_RELU"},
      {"PReLU", ConvertPReLU, PReLUVariables, "PRELU"},
      {"ELU", ConvertELU, nullptr, "ELU"},
      {"Softmax", ConvertSoftmax, nullptr, "SOFTMAX"},
      {"Add", ConvertMerge, nullptr, "ADD"},
      {"Subtract", ConvertMerge, nullptr, "SUB"},
      {"Multiply", ConvertMerge, nullptr, "MUL"},
      {"Average", ConvertMerge, nullptr, "ADD + MUL"},
      {"Maximum", ConvertMerge, nullptr, "MAXIMUM"},
      {"Minimum", ConvertMerge, nullptr, "MINIMUM"},
      {"Concatenate", ConvertConcatenate, nullptr, "CONCATENATION"},
      {"ZeroPadding1D", ConvertZeroPadding, nullptr, "PAD"},
      {"ZeroPadding2D", ConvertZeroPadding, nullptr, "PAD (merged into a following conv)"},
      {"Cropping1D", ConvertCropping, nullptr, "SLICE"},
      {"Cropping2D", ConvertCropping, nullptr, "SLICE"},
      {"UpSampling1D", ConvertUpSampling, nullptr, "RESIZE_NEAREST_NEIGHBOR"},
      {"UpSampling2D", ConvertUpSampling, nullptr, "RESIZE_NEAREST_NEIGHBOR / RESIZE_BILINEAR"},
      {"Resizing", ConvertResizing, nullptr, "RESIZE_BILINEAR / RESIZE_NEAREST_NEIGHBOR"},
      {"Rescaling", ConvertRescaling, nullptr, "MUL + ADD"},
      {"CategoryEncoding", ConvertCategoryEncoding, nullptr, "EQUAL + CAST (+ REDUCE_MAX / SUM)"},
      {"Discretization", ConvertDiscretization, nullptr, "GREATER_EQUAL + CAST + SUM + CAST"},
      {"LayerNormalization", ConvertLayerNormalization, LayerNormalizationVariables,
       "MEAN, SUB, MUL, MEAN, ADD, RSQRT, MUL (+ MUL gamma, ADD beta)"},
      {"GroupNormalization", ConvertGroupNormalization, GroupNormalizationVariables,
       "RESHAPE, MEAN, SUB, MUL, MEAN, ADD, RSQRT, MUL, RESHAPE (+ MUL gamma, ADD beta)"},
      {"Normalization", ConvertNormalization, NormalizationVariables, "MUL + ADD"},
      {"Embedding", ConvertEmbedding, EmbeddingVariables,
       "CAST + GATHER (EMBEDDING to train); mask_zero: NOT_EQUAL, CAST, RESHAPE"},
      {"Masking", ConvertMasking, nullptr, "NOT_EQUAL, CAST, REDUCE_MAX, MUL"},
      {"LSTM", ConvertLSTM, LSTMVariables, "UNIDIRECTIONAL_SEQUENCE_LSTM"},
      {"GRU", ConvertRecurrent, GRUVariables,
       "unrolled: FULLY_CONNECTED, then per step STRIDED_SLICE, FULLY_CONNECTED, ADD, LOGISTIC, "
       "SLICE, MUL, TANH, SUB"},
      {"SimpleRNN", ConvertRecurrent, SimpleRNNVariables,
       "unrolled: FULLY_CONNECTED, then per step STRIDED_SLICE, FULLY_CONNECTED, ADD, TANH"},
      {"Bidirectional", ConvertBidirectional, BidirectionalVariables,
       "two unrolled GRU / SimpleRNN + CONCATENATION (or ADD / MUL)"},
      {"MultiHeadAttention", ConvertMultiHeadAttention, MultiHeadAttentionVariables,
       "FULLY_CONNECTED x3, RESHAPE, TRANSPOSE, BATCH_MATMUL, SOFTMAX, BATCH_MATMUL, TRANSPOSE, "
       "RESHAPE, FULLY_CONNECTED"},
      {"Attention", ConvertDotAttention, DotAttentionVariables,
       "BATCH_MATMUL (or ADD + TANH + SUM), SOFTMAX, BATCH_MATMUL"},
      {"AdditiveAttention", ConvertDotAttention, DotAttentionVariables,
       "ADD + TANH + MUL + SUM, SOFTMAX, BATCH_MATMUL"},
      {"Dot", ConvertDot, nullptr,
       "MUL + SUM (rank 2) or BATCH_MATMUL (rank 3), after L2_NORMALIZATION with normalize"},
      {"UnitNormalization", ConvertUnitNormalization, nullptr,
       "L2_NORMALIZATION (last axis) or MUL, SUM, MAXIMUM, RSQRT, MUL"},
      {"TimeDistributed", ConvertTimeDistributed, TimeDistributedVariables,
       "RESHAPE (steps into the batch) + the wrapped layer's ops + RESHAPE"},
  };
  return *kTable;
}

const LayerMapping* FindLayerMapping(const std::string& class_name) {
  for (const LayerMapping& m : AllLayerMappings()) {
    if (class_name == m.class_name) return &m;
  }
  return nullptr;
}

std::string UnsupportedReason(const std::string& class_name) {
  struct Reason {
    const char* class_name;
    const char* reason;
  };
  static const Reason kReasons[] = {
      {"Lambda", "it runs arbitrary Python code, which is not stored in the file"},
      {"Conv3D", "3-D convolutions have no TFLite builtin in 2.9's common set"},
  };
  for (const Reason& r : kReasons) {
    if (class_name == r.class_name) return r.reason;
  }
  return "unknown layer class (a custom layer defined in Python, or one "
         "edgeopt does not map)";
}

}  // namespace keras
}  // namespace edgeopt
