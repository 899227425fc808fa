#include "src/passes/prune/prune_plan.h"

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <set>
#include <sstream>

namespace edgeopt {
namespace prune {
namespace {

bool IsWeightOp(const std::string& op) {
  return op == "CONV_2D" || op == "FULLY_CONNECTED" || op == "DEPTHWISE_CONV_2D";
}

std::string JoinNames(const std::vector<std::string>& names) {
  std::string s;
  for (const std::string& n : names) s += (s.empty() ? "" : ", ") + n;
  return s.empty() ? "(none)" : s;
}

}  // namespace

std::vector<std::string> SplitNames(const std::string& text) {
  std::vector<std::string> out;
  std::stringstream ss(text);
  std::string item;
  while (std::getline(ss, item, ',')) {
    if (!item.empty()) out.push_back(item);
  }
  return out;
}

StatusOr<std::map<std::string, double>> ParseLayerSparsity(const std::string& text) {
  std::map<std::string, double> out;
  for (const std::string& item : SplitNames(text)) {
    const size_t eq = item.rfind('=');
    EDGEOPT_ENSURE(
        eq != std::string::npos && eq > 0 && eq + 1 < item.size(), StatusCode::kInvalidArgument,
        "bad per-layer sparsity '%s' (expected LAYER=SPARSITY, e.g. dense=0.9)", item.c_str());
    char* end = nullptr;
    const std::string value = item.substr(eq + 1);
    const double s = std::strtod(value.c_str(), &end);
    EDGEOPT_ENSURE(end != nullptr && *end == '\0' && s >= 0.0 && s < 1.0,
                   StatusCode::kInvalidArgument, "sparsity '%s' of %s must be in [0, 1)",
                   value.c_str(), item.substr(0, eq).c_str());
    out[item.substr(0, eq)] = s;
  }
  return out;
}

StatusOr<std::map<std::string, int>> ParseLayerInts(const std::string& text, const char* what,
                                                    const char* example, int lo, int hi) {
  std::string upper = what;
  for (char& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  std::map<std::string, int> out;
  for (const std::string& item : SplitNames(text)) {
    const size_t eq = item.rfind('=');
    EDGEOPT_ENSURE(eq != std::string::npos && eq > 0 && eq + 1 < item.size(),
                   StatusCode::kInvalidArgument,
                   "bad per-layer %s '%s' (expected LAYER=%s, e.g. %s)", what, item.c_str(),
                   upper.c_str(), example);
    const std::string value = item.substr(eq + 1);
    char* end = nullptr;
    const long k = std::strtol(value.c_str(), &end, 10);
    EDGEOPT_ENSURE(end != nullptr && *end == '\0' && k >= lo && k <= hi,
                   StatusCode::kInvalidArgument, "%s '%s' of %s must be in [%d, %d]", what,
                   value.c_str(), item.substr(0, eq).c_str(), lo, hi);
    out[item.substr(0, eq)] = static_cast<int>(k);
  }
  return out;
}

std::vector<PrunableWeight> WeightLayers(const ir::Graph& graph) {
  std::vector<PrunableWeight> candidates;
  std::set<int> seen_tensors;
  for (size_t i = 0; i < graph.nodes.size(); ++i) {
    const ir::Node& n = graph.nodes[i];
    if (!IsWeightOp(n.op) || n.inputs.size() < 2 || n.inputs[1] < 0) continue;
    const ir::Tensor& w = graph.tensors[n.inputs[1]];
    if (!w.is_constant || w.dtype != DType::kFloat32 || w.shape.empty()) continue;
    if (!seen_tensors.insert(n.inputs[1]).second) continue;
    PrunableWeight p;
    p.layer = n.name.empty() ? w.name : n.name;
    p.op = n.op;
    p.node = static_cast<int>(i);
    p.tensor = n.inputs[1];
    p.param = w.origin.empty() ? w.name : w.origin;
    p.rows = w.shape[0];
    p.cols = w.NumElements() / std::max<int64_t>(p.rows, 1);
    p.inner = w.shape.back();
    candidates.push_back(p);
  }
  return candidates;
}

std::string FrozenNote(const std::string& layer, const ir::Tensor& weights) {
  if (weights.origin.empty()) {
    return layer + ": a constant of the model's computation (not a weight); left as it is";
  }
  return layer + ": frozen (trainable=False); left as it is (--unfreeze " + layer +
         " to include it)";
}

Status CheckLayerNames(const std::vector<PrunableWeight>& candidates,
                       const std::vector<std::string>& named, const std::string& what) {
  std::vector<std::string> names;
  for (const PrunableWeight& p : candidates) names.push_back(p.layer);
  for (const std::string& name : named) {
    EDGEOPT_ENSURE(std::find(names.begin(), names.end(), name) != names.end(),
                   StatusCode::kNotFound, "'%s' is not %s; the model has: %s", name.c_str(),
                   what.c_str(), JoinNames(names).c_str());
  }
  return Status::Ok();
}

StatusOr<Plan> PlanPruning(const ir::Graph& graph, const PlanOptions& options) {
  // Every candidate layer in execution order (a shared layer once).
  std::vector<PrunableWeight> candidates = WeightLayers(graph);
  std::vector<std::string> names;
  for (const PrunableWeight& p : candidates) names.push_back(p.layer);
  auto known = [&](const std::string& name) {
    return std::find(names.begin(), names.end(), name) != names.end();
  };
  std::vector<std::string> named = options.layers;
  named.insert(named.end(), options.skip.begin(), options.skip.end());
  EDGEOPT_RETURN_IF_ERROR(CheckLayerNames(
      candidates, named,
      "a prunable layer (CONV_2D, DEPTHWISE_CONV_2D or FULLY_CONNECTED with float weights)"));
  for (const auto& [name, s] : options.layer_sparsity) {
    (void)s;
    EDGEOPT_ENSURE(known(name), StatusCode::kNotFound,
                   "per-layer sparsity for '%s': not a prunable layer; the model has: %s",
                   name.c_str(), JoinNames(names).c_str());
  }

  Plan plan;
  // Defaults: the first convolution and the last dense layer stay dense.
  std::string first_conv, last_dense;
  for (const PrunableWeight& p : candidates) {
    if (first_conv.empty() && (p.op == "CONV_2D" || p.op == "DEPTHWISE_CONV_2D")) {
      first_conv = p.layer;
    }
    if (p.op == "FULLY_CONNECTED") last_dense = p.layer;
  }
  const Granularity& g = options.granularity;
  for (PrunableWeight& p : candidates) {
    const bool listed =
        std::find(options.layers.begin(), options.layers.end(), p.layer) != options.layers.end();
    if (std::find(options.skip.begin(), options.skip.end(), p.layer) != options.skip.end()) {
      plan.notes.push_back(p.layer + ": skipped (--skip)");
      continue;
    }
    if (!options.layers.empty() && !listed) {
      plan.notes.push_back(p.layer + ": not in --layers");
      continue;
    }
    if (graph.tensors[p.tensor].frozen) {
      plan.notes.push_back(FrozenNote(p.layer, graph.tensors[p.tensor]));
      continue;
    }
    // Channel pruning removes the first convolution's filters too (its inputs are the image's
    // channels, which stay): on fmnist-cnn that costs no accuracy and is what makes the model
    // fast (CONV_2D latency 0.40x instead of 0.64x with it kept, docs/pruning.md).
    if (options.layers.empty() && p.layer == first_conv && g.kind != Granularity::Kind::kChannel) {
      plan.notes.push_back(p.layer +
                           ": first convolution, kept dense (name it in --layers to "
                           "prune it)");
      continue;
    }
    if (options.layers.empty() && p.layer == last_dense) {
      plan.notes.push_back(p.layer +
                           ": last dense layer, kept dense (name it in --layers to "
                           "prune it)");
      continue;
    }
    if (p.op == "DEPTHWISE_CONV_2D" && g.kind != Granularity::Kind::kUnstructured &&
        g.kind != Granularity::Kind::kChannel) {
      plan.notes.push_back(p.layer +
                           ": depthwise convolution, only unstructured or channel "
                           "pruning applies");
      continue;
    }
    if (g.kind == Granularity::Kind::kNM && p.inner % g.m != 0) {
      plan.notes.push_back(p.layer + ": " + std::to_string(p.inner) +
                           " input channels are not a multiple of " + std::to_string(g.m) +
                           ", kept dense");
      continue;
    }
    if (g.kind == Granularity::Kind::kChannel && p.op == "DEPTHWISE_CONV_2D") {
      // Depthwise filters follow their input channels (channel_prune.h); they are not pruned
      // on their own.
      continue;
    }
    auto it = options.layer_sparsity.find(p.layer);
    p.sparsity = g.kind == Granularity::Kind::kNM     ? g.ImpliedSparsity()
                 : it != options.layer_sparsity.end() ? it->second
                                                      : options.sparsity;
    plan.weights.push_back(p);
  }
  return plan;
}

}  // namespace prune
}  // namespace edgeopt
