// Low-rank factorization (as MNN's low-rank decomposition, or SVD compression of dense
// layers): a Dense, Conv2D or Conv1D layer whose kernel, seen as an [out, in] matrix W (a
// convolution's [out, kh*kw*cin]), is close to rank r becomes two layers:
//   - the first has r units (filters) with W's top r right singular directions: a Dense
//     without bias, or a convolution with the original kernel size, strides, padding and
//     dilation;
//   - the second is the original layer (its name, bias and activation) reduced to a Dense of r
//     inputs or a 1x1 (size-1) convolution.
// W ~= P Q with P = U_r S_r^(1/2) (the second layer, out x r) and Q = S_r^(1/2) Vt_r (the first,
// r x in), the best rank-r approximation in the Frobenius norm (Eckart-Young). Both weights
// and multiply-adds fall from out*in to r*(out + in) per position, so the .tflite is smaller
// and faster as it is, without compression; fine-tuning then recovers the accuracy lost.
#ifndef EDGEOPT_SRC_PASSES_LOWRANK_LOWRANK_H_
#define EDGEOPT_SRC_PASSES_LOWRANK_LOWRANK_H_

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "include/edgeopt/status.h"
#include "src/importers/keras/keras_model.h"
#include "src/ir/graph.h"
#include "src/passes/lowrank/svd.h"

namespace edgeopt {
namespace lowrank {

// How a layer's rank is chosen: a fixed rank, the smallest rank that keeps a fraction of the
// kernel's energy (the sum of squared singular values), or the rank that keeps a fraction of
// the layer's weights.
struct RankRule {
  enum class Kind { kRank, kEnergy, kParams };
  Kind kind = Kind::kParams;
  double value = 0.25;
  // > 1: the rank rounded up to a multiple of this (a SIMD width: a kernel that computes 16
  // channels at a time takes as long for 13 as for 16), or down when up would not make the
  // layer smaller.
  int multiple = 1;
};
std::string RankRuleName(const RankRule& rule);  // "rank 16", "energy 0.9", "params 0.25"

// The largest rank that makes the two layers smaller than the one: r (out + in) < out * in.
int BreakEvenRank(int64_t out, int64_t in);
// The rank the rule gives for a kernel of these singular values (at least 1, at most k).
int ChooseRank(const std::vector<double>& singular_values, int64_t out, int64_t in,
               const RankRule& rule);
// Fraction of the energy (sum of s^2) the first `rank` singular values hold.
double EnergyKept(const std::vector<double>& singular_values, int rank);

// The two factors of a rank-r approximation W ~= second * first.
struct Factors {
  int rank = 0;
  std::vector<float> first;     // r x in (the first layer's kernel, [r, in])
  std::vector<float> second;    // out x r
  double energy = 0.0;          // fraction of W's squared Frobenius norm in the approximation
  double relative_error = 0.0;  // ||W - second * first||_F / ||W||_F
};
Factors Factorize(const Svd& svd, int rank);

struct LayerPlan {
  std::string layer;            // Keras layer (the node's name)
  std::string op;               // "FULLY_CONNECTED" or "CONV_2D"
  int weight = -1;              // the kernel's tensor id
  int64_t out = 0, in = 0;      // the kernel as a matrix
  int kh = 1, kw = 1, cin = 0;  // CONV_2D's kernel geometry (in = kh * kw * cin)
  bool conv1d = false;          // a Keras Conv1D (CONV_2D on [B, 1, L, C], kernel [F, 1, K, C])
  int64_t positions = 1;        // output positions per sample (multiply-adds = positions*weights)
  std::vector<int32_t> output_shape;  // the layer's output shape in the graph
  int rank = 0;
  int break_even = 0;
  Svd svd;
};

struct Plan {
  std::vector<LayerPlan> layers;
  std::vector<std::string> notes;  // layers left out and why
};

// The layers to factorize: every FULLY_CONNECTED and CONV_2D (not grouped) with float weights
// of a graph (of a Keras model when `model` is given: then only Dense, Conv2D and Conv1D layers
// called once), or exactly `layers`, minus `skip`, each at its rank from `rule` or its entry in
// `layer_ranks`. Layers are named by their node (the Keras layer), or their weight tensor when
// the node has no name (a .tflite). Layers a factorization would not make smaller (a rank at
// or above the break-even) are left out with a note; so are kernels with non-finite weights and
// kernels of fewer than `min_weights` weights unless named in `layers` or `layer_ranks` (an
// extra layer costs more than the few weights it saves there). Unknown names are errors that
// list the layers.
StatusOr<Plan> PlanFactorization(const ir::Graph& graph, const keras::KerasModel* model,
                                 const std::vector<std::string>& layers,
                                 const std::vector<std::string>& skip, const RankRule& rule,
                                 const std::map<std::string, int>& layer_ranks = {},
                                 int64_t min_weights = 0);
// "dense=16,conv2d_1=8" -> map (each rank >= 1).
StatusOr<std::map<std::string, int>> ParseLayerRanks(const std::string& text);

struct LayerReport {
  std::string layer, first_layer, op;
  int64_t out = 0, in = 0;
  int rank = 0, full_rank = 0, break_even = 0;
  int64_t weights_before = 0, weights_after = 0;
  int64_t macs_before = 0, macs_after = 0;  // per sample
  double energy = 0.0, relative_error = 0.0;
};

// Splits each planned layer of the Keras model in two (config and weights): the first layer,
// named "<layer>_lowrank" (or with a number when that name is taken), is inserted before the
// original, which becomes the second. Sequential and functional models (Keras 2 and Keras 3
// configs, nested models) are rewritten; the caller rebuilds the graph from the model.
StatusOr<std::vector<LayerReport>> FactorizeKerasModel(keras::KerasModel* model, const Plan& plan);

// The same split in a graph in inference form (a .tflite's): the first node (FULLY_CONNECTED or
// CONV_2D with the original's geometry, a zero bias, no activation) is inserted before the
// original, which reads its output with an [out, r] or [out, 1, 1, r] kernel.
StatusOr<std::vector<LayerReport>> FactorizeGraph(ir::Graph* graph, const Plan& plan);

// Sensitivity analysis: each planned layer factorized alone, one-shot, at each fraction of its
// weights (the --params rule, with `multiple`), and the model's accuracy then, so that a user
// sees which layers take a low rank and which do not (--layer-ranks). `accuracy` measures a
// graph in the form of `graph` (a .tflite's: FactorizeGraph). Fractions whose rank would not
// make a layer smaller are left out of its points.
struct SensitivityPoint {
  double params = 0.0;  // the fraction asked for
  int rank = 0;
  int64_t weights = 0;  // the layer's weights at that rank
  double accuracy = 0.0;
};
struct LayerSensitivity {
  std::string layer;
  int64_t out = 0, in = 0;
  std::vector<SensitivityPoint> points;
};
StatusOr<std::vector<LayerSensitivity>> MeasureSensitivity(
    const ir::Graph& graph, const Plan& plan, const std::vector<double>& fractions, int multiple,
    const std::function<StatusOr<double>(const ir::Graph&)>& accuracy);

}  // namespace lowrank
}  // namespace edgeopt

#endif  // EDGEOPT_SRC_PASSES_LOWRANK_LOWRANK_H_
