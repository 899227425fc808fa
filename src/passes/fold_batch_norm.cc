// BATCH_NORM(x, gamma, beta, mean, variance) computes x * s + (beta - mean * s) with s = gamma /
// sqrt(variance + epsilon) per channel (last axis). After a convolution or dense layer this folds
// into the weights (output channel o scaled by s[o]) and the bias (b * s + beta - mean * s);
// after a CONCATENATION of such layers along the channels (a grouped convolution) it folds into
// each one's share of the channels; elsewhere it becomes MUL + ADD with constant vectors.
#include <cmath>

#include "src/passes/export_passes.h"
#include "src/passes/pass_util.h"

namespace edgeopt {
namespace passes {
namespace {

// Input slots of the weights and the bias, and which weight axis is the output channel.
bool AffineLayout(const std::string& op, int* weight_slot, int* bias_slot, int* channel_axis) {
  if (op == "CONV_2D" || op == "FULLY_CONNECTED") {
    *weight_slot = 1;
    *bias_slot = 2;
    *channel_axis = 0;
    return true;
  }
  if (op == "DEPTHWISE_CONV_2D") {
    *weight_slot = 1;
    *bias_slot = 2;
    *channel_axis = 3;
    return true;
  }
  if (op == "TRANSPOSE_CONV") {
    *weight_slot = 1;
    *bias_slot = 3;
    *channel_axis = 0;
    return true;
  }
  return false;
}

std::string Marked(const std::string& origin, const std::string& bn) {
  if (origin.empty()) return origin;
  return origin + " (" + bn + " folded)";
}

// Whether node p (the only reader of its output x) is an affine op with `channels` output
// channels and constant weights (and bias) into which a per-channel scale and shift can fold.
bool Foldable(const ir::Graph& graph, int p, int x, size_t channels) {
  if (p < 0) return false;
  int weight_slot, bias_slot, channel_axis;
  if (!AffineLayout(graph.nodes[p].op, &weight_slot, &bias_slot, &channel_axis)) return false;
  const ir::Node& producer = graph.nodes[p];
  if (ir::GetString(producer.attrs, "fused_activation_function", "NONE") != "NONE") return false;
  if (producer.outputs.size() != 1 || NumConsumers(graph, x) != 1 || graph.IsGraphOutput(x)) {
    return false;
  }
  if (static_cast<int>(producer.inputs.size()) <= weight_slot ||
      !IsFloatConstant(graph, producer.inputs[weight_slot])) {
    return false;
  }
  const ir::Tensor& w = graph.tensors[producer.inputs[weight_slot]];
  if (w.shape.size() <= static_cast<size_t>(channel_axis) ||
      w.shape[channel_axis] != static_cast<int32_t>(channels)) {
    return false;
  }
  const bool has_bias =
      static_cast<int>(producer.inputs.size()) > bias_slot && producer.inputs[bias_slot] >= 0;
  return !has_bias || IsFloatConstant(graph, producer.inputs[bias_slot]);
}

// Folds scale[first, first + n) and shift likewise into Foldable node p's weights and bias, n its
// output channels; returns n.
size_t FoldInto(ir::Graph* graph, int p, const std::vector<double>& all_scale,
                const std::vector<double>& all_shift, size_t first, const std::string& bn_name) {
  int weight_slot = 1, bias_slot = 2, channel_axis = 0;
  AffineLayout(graph->nodes[p].op, &weight_slot, &bias_slot, &channel_axis);
  const size_t n =
      static_cast<size_t>(graph->tensors[graph->nodes[p].inputs[weight_slot]].shape[channel_axis]);
  const std::vector<double> scale(all_scale.begin() + first, all_scale.begin() + first + n);
  const std::vector<double> shift(all_shift.begin() + first, all_shift.begin() + first + n);
  const bool has_bias = static_cast<int>(graph->nodes[p].inputs.size()) > bias_slot &&
                        graph->nodes[p].inputs[bias_slot] >= 0;

  // Weights: scale each output channel.
  const int wt = PrivateConstant(graph, p, weight_slot);
  std::vector<float> wv = ConstFloats(*graph, wt);
  const size_t channels = scale.size();
  size_t inner = 1;  // elements after the channel axis
  for (size_t d = channel_axis + 1; d < graph->tensors[wt].shape.size(); ++d) {
    inner *= graph->tensors[wt].shape[d];
  }
  for (size_t i = 0; i < wv.size(); ++i) {
    const size_t c = (i / inner) % channels;
    wv[i] = static_cast<float>(wv[i] * scale[c]);
  }
  SetConstFloats(graph, wt, wv);
  graph->tensors[wt].origin = Marked(graph->tensors[wt].origin, bn_name);

  // Bias: b * s + shift (b = 0 when there is none).
  std::vector<float> bias(channels, 0.0f);
  int bt;
  if (has_bias) {
    bt = PrivateConstant(graph, p, bias_slot);
    bias = ConstFloats(*graph, bt);
  } else {
    std::string name = graph->nodes[p].name + "/bias";
    for (const ir::Tensor& t : graph->tensors) {
      if (t.name == name) {  // the groups of a grouped convolution share the layer's name
        name += "_" + std::to_string(p);
        break;
      }
    }
    bt = graph->AddFloatConstant(name, {static_cast<int32_t>(channels)}, bias);
    ir::Node& prod = graph->nodes[p];
    while (static_cast<int>(prod.inputs.size()) <= bias_slot) prod.inputs.push_back(-1);
    prod.inputs[bias_slot] = bt;
  }
  for (size_t c = 0; c < channels; ++c) {
    bias[c] = static_cast<float>(bias[c] * scale[c] + shift[c]);
  }
  SetConstFloats(graph, bt, bias);
  graph->tensors[bt].origin = Marked(graph->tensors[bt].origin, bn_name);
  return n;
}

// Folds into the producer of the BATCH_NORM input, or into every producer of a CONCATENATION
// of them along the channels (a grouped convolution); false if the pattern does not fit.
bool FoldIntoProducer(ir::Graph* graph, int bn_index, const std::vector<double>& scale,
                      const std::vector<double>& shift) {
  const ir::Node& bn = graph->nodes[bn_index];
  const int x = bn.inputs[0];
  const int p = graph->Producer(x);
  const std::string bn_name = bn.name;
  const int y = bn.outputs[0];
  if (Foldable(*graph, p, x, scale.size())) {
    FoldInto(graph, p, scale, shift, 0, bn_name);
    graph->nodes[p].outputs[0] = y;
    return true;
  }
  if (p < 0 || graph->nodes[p].op != "CONCATENATION" || NumConsumers(*graph, x) != 1 ||
      graph->IsGraphOutput(x) || graph->nodes[p].outputs.size() != 1 ||
      ir::GetString(graph->nodes[p].attrs, "fused_activation_function", "NONE") != "NONE") {
    return false;
  }
  const ir::Node& concat = graph->nodes[p];
  const int64_t rank = static_cast<int64_t>(graph->tensors[x].shape.size());
  const int64_t axis = ir::GetInt(concat.attrs, "axis", -1);
  if (axis != -1 && axis != rank - 1) return false;
  std::vector<int> parts;
  size_t total = 0;
  for (int in : concat.inputs) {
    if (in < 0 || graph->tensors[in].shape.empty()) return false;
    const size_t n = static_cast<size_t>(graph->tensors[in].shape.back());
    if (!Foldable(*graph, graph->Producer(in), in, n)) return false;
    parts.push_back(graph->Producer(in));
    total += n;
  }
  if (total != scale.size()) return false;
  size_t first = 0;
  for (int part : parts) first += FoldInto(graph, part, scale, shift, first, bn_name);
  graph->nodes[p].outputs[0] = y;
  return true;
}

}  // namespace

Status FoldBatchNorm(ir::Graph* graph) {
  std::vector<bool> remove(graph->nodes.size(), false);
  const size_t num_nodes = graph->nodes.size();
  std::vector<std::vector<ir::Node>> replacement(num_nodes);
  for (size_t i = 0; i < num_nodes; ++i) {
    if (graph->nodes[i].op != "BATCH_NORM") continue;
    const ir::Node bn = graph->nodes[i];
    if (bn.inputs.size() != 5 || bn.outputs.size() != 1) {
      return MakeStatus(StatusCode::kInvalidModel, "BATCH_NORM '%s' needs 5 inputs",
                        bn.name.c_str());
    }
    const int x = bn.inputs[0];
    const std::vector<int32_t> x_shape = graph->tensors[x].shape;
    const DType x_dtype = graph->tensors[x].dtype;
    const int64_t axis = ir::GetInt(bn.attrs, "axis", -1);
    if (x_shape.empty() || (axis != -1 && axis != static_cast<int64_t>(x_shape.size()) - 1)) {
      return MakeStatus(StatusCode::kUnsupported,
                        "BATCH_NORM '%s' normalizes axis %lld; only the last "
                        "axis can be lowered",
                        bn.name.c_str(), static_cast<long long>(axis));
    }
    const size_t channels = static_cast<size_t>(x_shape.back());
    for (int k = 1; k < 5; ++k) {
      const int t = bn.inputs[k];
      if ((k >= 3 || t >= 0) &&
          (!IsFloatConstant(*graph, t) ||
           graph->tensors[t].NumElements() != static_cast<int64_t>(channels))) {
        return MakeStatus(StatusCode::kUnsupported,
                          "BATCH_NORM '%s': parameter %d is not a constant "
                          "float vector of %zu",
                          bn.name.c_str(), k, channels);
      }
    }
    const double epsilon = ir::GetFloat(bn.attrs, "epsilon", 1e-3);
    const std::vector<float> mean = ConstFloats(*graph, bn.inputs[3]);
    const std::vector<float> var = ConstFloats(*graph, bn.inputs[4]);
    const std::vector<float> gamma =
        bn.inputs[1] >= 0 ? ConstFloats(*graph, bn.inputs[1]) : std::vector<float>(channels, 1.0f);
    const std::vector<float> beta =
        bn.inputs[2] >= 0 ? ConstFloats(*graph, bn.inputs[2]) : std::vector<float>(channels, 0.0f);
    std::vector<double> scale(channels), shift(channels);
    for (size_t c = 0; c < channels; ++c) {
      scale[c] = gamma[c] / std::sqrt(static_cast<double>(var[c]) + epsilon);
      shift[c] = beta[c] - mean[c] * scale[c];
    }
    if (FoldIntoProducer(graph, static_cast<int>(i), scale, shift)) {
      remove[i] = true;
      continue;
    }
    // MUL + ADD with constant vectors.
    std::vector<float> s(scale.begin(), scale.end()), b(shift.begin(), shift.end());
    const int32_t c32 = static_cast<int32_t>(channels);
    const int s_t = graph->AddFloatConstant(bn.name + "/scale", {c32}, s);
    const int b_t = graph->AddFloatConstant(bn.name + "/offset", {c32}, b);
    const int mid = graph->AddActivation(bn.name + "/scaled", x_dtype, x_shape);
    ir::Node mul;
    mul.op = "MUL";
    mul.name = bn.name;
    mul.inputs = {x, s_t};
    mul.outputs = {mid};
    mul.attrs["fused_activation_function"] = std::string("NONE");
    ir::Node add;
    add.op = "ADD";
    add.name = bn.name;
    add.inputs = {mid, b_t};
    add.outputs = {bn.outputs[0]};
    add.attrs["fused_activation_function"] = std::string("NONE");
    replacement[i] = {mul, add};
    remove[i] = true;
  }
  std::vector<ir::Node> nodes;
  for (size_t i = 0; i < num_nodes; ++i) {
    if (!remove[i]) {
      nodes.push_back(std::move(graph->nodes[i]));
    } else {
      for (ir::Node& n : replacement[i]) nodes.push_back(std::move(n));
    }
  }
  graph->nodes = std::move(nodes);
  graph->RemoveUnusedTensors();
  return Status::Ok();
}

}  // namespace passes
}  // namespace edgeopt
