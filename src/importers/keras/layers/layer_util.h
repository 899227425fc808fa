// Helpers shared by the Keras layer mappings: padding and output sizes, layouts, activations.
#ifndef EDGEOPT_SRC_IMPORTERS_KERAS_LAYERS_LAYER_UTIL_H_
#define EDGEOPT_SRC_IMPORTERS_KERAS_LAYERS_LAYER_UTIL_H_

#include <string>
#include <vector>

#include "src/importers/keras/graph_builder.h"

namespace edgeopt {
namespace keras {

// Checks data_format is channels_last (TFLite is NHWC).
Status CheckChannelsLast(const LayerCall& call);
// Checks the input rank (including the batch).
Status CheckInputRank(const LayerCall& call, int rank);
// "same" / "valid" -> "SAME" / "VALID"; "causal" only when allowed.
StatusOr<std::string> PaddingOf(const LayerCall& call, bool allow_causal = false);
// Output length of a convolution or pooling window (TensorFlow's rule).
int32_t WindowOutputSize(int32_t in, int64_t kernel, int64_t stride, int64_t dilation, bool same);
Status CheckOutputSize(const LayerCall& call, const Shape& shape);
// Checks every value of a window parameter (kernel_size, strides, ...) is in [1, kMaxWindow].
constexpr int64_t kMaxWindow = int64_t{1} << 16;
Status CheckWindow(const LayerCall& call, const char* what, const std::vector<int64_t>& values);

// "gamma" when the layer scales (scale=True), "beta" when it centers (center=True): the
// variables BatchNormalization and LayerNormalization start with.
StatusOr<std::vector<std::string>> GammaBetaVariables(const LayerConfig& config);

// A config value that is a number or a (possibly nested: [[[a, b]]]) list of numbers, flattened;
// `fallback` when the key is absent or null. Anything else, or an empty list, is an error naming
// the key (Rescaling's scale / offset, Normalization's mean / variance).
StatusOr<std::vector<float>> ConfigFloats(const LayerCall& call, const char* key,
                                          std::vector<float> fallback = {});

// Permutes a row-major array of `shape` by `perm` (numpy.transpose).
std::vector<float> TransposeData(const std::vector<float>& data, const std::vector<int64_t>& shape,
                                 const std::vector<int>& perm);
std::vector<int64_t> PermuteShape(const std::vector<int64_t>& shape, const std::vector<int>& perm);
Shape ToShape(const std::vector<int64_t>& shape);

// A wrapper's wrapped layer (Bidirectional's "layer" / "backward_layer", TimeDistributed's
// "layer"): its class and its config object.
StatusOr<std::pair<std::string, const Json*>> InnerLayer(const LayerConfig& c, const char* key);

// The 1-D layers of the convolution family run as their 2-D form on a [B,1,L,C] view (the
// official converter's form): ExpandSteps pads `causal_left` zero steps on the left (padding
// "causal") and reshapes [B,L,C] to [B,1,L,C]; SqueezeSteps reshapes [B,1,L',C'] back to
// [B,L',C'].
int ExpandSteps(LayerCall* call, int x, int64_t causal_left);
// SLICE of `size` elements from `begin` (constant int32 tensors); the layer's output "crop".
int EmitSlice(LayerCall* call, int x, const std::vector<int32_t>& begin,
              const std::vector<int32_t>& size);
int SqueezeSteps(LayerCall* call, int y);

// Applies a Keras activation to `x`. RELU and RELU6 go into `fuse_node`'s fused_activation_function
// when `fuse_node` >= 0 (its output must be x); everything else is a separate node. Returns the
// output tensor (x itself for "linear").
StatusOr<int> ApplyActivation(LayerCall* call, const ActivationSpec& spec, int x, int fuse_node);
// The layer's own "activation" argument.
StatusOr<int> ApplyConfigActivation(LayerCall* call, int x, int fuse_node);

// Keras ReLU(max_value, negative_slope, threshold), LeakyReLU(alpha), ELU(alpha), Softmax(axis) on
// tensor x; shared by the layers and by layer-object activations.
StatusOr<int> EmitReLU(LayerCall* call, int x, double max_value, double negative_slope,
                       double threshold, int fuse_node);
StatusOr<int> EmitLeakyReLU(LayerCall* call, int x, double alpha);
StatusOr<int> EmitELU(LayerCall* call, int x, double alpha);
StatusOr<int> EmitSoftmax(LayerCall* call, int x, int64_t axis);

// x / max(|x|, 1e-6) along `axes` (non-batch, ascending), as tf.math.l2_normalize: over the last
// axis alone TFLite's L2_NORMALIZATION (int8 in TFLite, trained by edgeopt), else
// x · rsqrt(max(Σx², 1e-12)) as MUL, SUM (keep_dims), MAXIMUM, RSQRT, MUL.
int EmitL2Normalize(LayerCall* call, int x, const std::vector<int>& axes,
                    const std::string& suffix);
// RESHAPE of x to `shape` ("<layer>/<suffix>", its shape constant "<suffix>_shape").
int EmitReshape(LayerCall* call, int x, const Shape& shape, const std::string& suffix);
// BATCH_MATMUL of a and b (adj_x / adj_y) into a new tensor of `out`.
int EmitBatchMatMul(LayerCall* call, int a, int b, bool adj_x, bool adj_y, const Shape& out,
                    const std::string& suffix);
// CONCATENATION of `inputs` along `axis` (0 <= axis < rank), their shapes checked (the same
// rank, equal outside the axis).
StatusOr<int> EmitConcatenation(LayerCall* call, const std::vector<int>& inputs, int64_t axis,
                                const std::string& suffix);
// Numpy broadcasting of shapes a and b into *out; false if they do not broadcast.
bool BroadcastShapes(const Shape& a, const Shape& b, Shape* out);
// One elementwise op with a scalar float constant: op(x, c).
int EmitScalarOp(LayerCall* call, const std::string& op, int x, float c,
                 const std::string& fused = "NONE");
// A unary op.
int EmitUnary(LayerCall* call, const std::string& op, int x, ir::Attrs attrs = {});
// FULLY_CONNECTED of x with weights w [out, in] and bias b (-1: none) into a new tensor of
// `out_shape` (keep_num_dims when its rank is above 2); *node (if given) receives the node.
int EmitFullyConnected(LayerCall* call, int x, int w, int b, const Shape& out_shape,
                       const std::string& suffix = "", int* node = nullptr);
// A Dense-like projection of x [..., in] to `out` values: the layer's Keras kernel `kernel_var`
// (Keras shape `kernel_shape`, in x out values read as [in, out]) transposed to [out, in], and
// `bias_var` (Keras shape `bias_shape`, `out` values) unless it is empty. Dense, and
// MultiHeadAttention's EinsumDense projections.
StatusOr<int> EmitDense(LayerCall* call, int x, const std::string& kernel_var,
                        const std::vector<int64_t>& kernel_shape, const std::string& bias_var,
                        const std::vector<int64_t>& bias_shape, int64_t out,
                        const std::string& suffix = "", int* node = nullptr);
// DROPOUT (training form; the export passes remove it) of x at `rate`; noise_shape "spatial"
// drops whole channels (SpatialDropout).
int EmitDropout(LayerCall* call, int x, double rate, bool spatial, const std::string& suffix);
// Step t of a [batch, steps, n] sequence as [batch, n]: STRIDED_SLICE with a shrunk time axis
// (an LSTM's last step, an unrolled GRU's input at each step).
int EmitTimeStep(LayerCall* call, int seq, int32_t t, const std::string& name);
// STRIDED_SLICE of x (per-axis begin / end / strides, the end_mask and shrink_axis_mask bits)
// to a tensor of shape `out` ("<layer>/<suffix>").
int EmitStridedSlice(LayerCall* call, int x, const std::vector<int32_t>& begin,
                     const std::vector<int32_t>& end, const std::vector<int32_t>& strides,
                     int64_t end_mask, int64_t shrink_mask, const Shape& out,
                     const std::string& suffix);
// TRANSPOSE of x by `perm` ("<layer>/<suffix>", the permutation "<suffix>_perm").
// TRANSPOSE of x by `perm`, or x itself for the identity.
int Transposed(LayerCall* call, int x, const std::vector<int32_t>& perm,
               const std::string& suffix = "transpose");
int EmitTranspose(LayerCall* call, int x, const std::vector<int32_t>& perm,
                  const std::string& suffix);
// A new bool tensor of `shape` (a comparison's output).
int NewBoolTensor(LayerCall* call, const Shape& shape, const std::string& suffix);
// Integer tensors (an argmax's index, a cast to int32 / int64).
bool IsInt(const LayerCall& call, int t);
// A new tensor of `dtype` (NewTensor's are float32).
int NewTensorOf(LayerCall* call, const Shape& shape, DType dtype, const std::string& suffix);
// An int32 or int64 constant.
int IntConst(LayerCall* call, const std::string& suffix, const Shape& shape,
             const std::vector<int64_t>& values, DType dtype);
// Indices: `x` itself when it is an integer tensor, else x CAST to int32 (toward zero, as Keras
// casts them).
int AsIndices(LayerCall* call, int x);
// The float32 one-hot [..., classes] of integer indices [...]: EQUAL of the indices as [..., 1]
// with [0, classes) and a CAST (indices outside the range give zeros, as tf.one_hot). Refused
// for an output of rank 5 or more (TFLite's comparisons broadcast up to 4 dimensions).
StatusOr<int> EmitOneHot(LayerCall* call, int indices, int64_t classes);

}  // namespace keras
}  // namespace edgeopt

#endif  // EDGEOPT_SRC_IMPORTERS_KERAS_LAYERS_LAYER_UTIL_H_
