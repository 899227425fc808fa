// edgeopt inspect for Keras files: layers with class, output shape, parameters, the share of
// zeros in their kernels (pruning) and their distinct values (clustering), and what each converts
// to (IR ops of the training form), then the op count after the export passes.
#include <algorithm>
#include <cstdio>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "src/importers/keras/graph_builder.h"
#include "src/importers/keras/keras_config.h"
#include "src/importers/keras/keras_model.h"
#include "src/passes/cluster/cluster.h"
#include "src/passes/pipeline.h"
#include "tools/cli/cli_util.h"
#include "tools/cli/commands.h"

namespace edgeopt {
namespace cli {
namespace {

// The layer's ops in order, runs counted ("SLICE x4"); a long list (an unrolled recurrent
// layer: about 14 ops per step) as the count of each op instead, in order of first use.
std::string OpList(const std::vector<std::string>& ops) {
  std::string s;
  if (ops.size() > 16) {
    std::vector<std::pair<std::string, int>> counts;
    for (const std::string& op : ops) {
      auto it = std::find_if(counts.begin(), counts.end(),
                             [&](const std::pair<std::string, int>& c) { return c.first == op; });
      if (it == counts.end()) {
        counts.emplace_back(op, 1);
      } else {
        ++it->second;
      }
    }
    for (const auto& [op, n] : counts) {
      s += (s.empty() ? "" : ", ") + op + (n > 1 ? " x" + std::to_string(n) : "");
    }
    return std::to_string(ops.size()) + " ops: " + s;
  }
  for (size_t i = 0; i < ops.size(); ++i) {
    size_t n = 1;
    while (i + 1 < ops.size() && ops[i + 1] == ops[i]) {
      ++i;
      ++n;
    }
    if (!s.empty()) s += " + ";
    s += ops[i];
    if (n > 1) s += " x" + std::to_string(n);
  }
  return s.empty() ? "(passes its input on)" : s;
}

// Per layer: zeros, elements and distinct values of its float kernels (variables named
// *kernel, e.g. kernel, depthwise_kernel), from the tensors' Keras origin "layer/variable".
struct KernelStats {
  int64_t zeros = 0, n = 0, distinct = 0;
};
std::map<std::string, KernelStats> KernelStatsByLayer(const ir::Graph& g) {
  std::map<std::string, KernelStats> out;
  std::map<std::string, std::vector<float>> values;
  for (const ir::Tensor& t : g.tensors) {
    const size_t slash = t.origin.rfind('/');
    if (!t.is_constant || t.dtype != DType::kFloat32 || t.has_sparsity ||
        slash == std::string::npos || t.origin.find("kernel", slash) == std::string::npos) {
      continue;
    }
    const std::string layer = t.origin.substr(0, slash);
    KernelStats& k = out[layer];
    const float* v = t.DataAs<float>();
    for (int64_t i = 0; i < t.NumElements(); ++i) k.zeros += v[i] == 0.0f;
    k.n += t.NumElements();
    values[layer].insert(values[layer].end(), v, v + t.NumElements());
  }
  for (auto& [layer, v] : values) {
    out[layer].distinct = cluster::CountDistinct(v.data(), static_cast<int64_t>(v.size()));
  }
  return out;
}

}  // namespace

int InspectKeras(const std::string& path) {
  StatusOr<keras::KerasModel> model = keras::LoadKerasFile(path);
  if (!model.ok()) return ReportError("inspect", model.status());
  const std::string cls = keras::LayerClass(model->config);
  std::printf("model: %s (Keras %s, backend %s, %s '%s')\n", path.c_str(),
              model->keras_version.empty() ? "?" : model->keras_version.c_str(),
              model->backend.c_str(), cls.c_str(), keras::LayerName(model->config).c_str());

  std::vector<keras::LayerRecord> records;
  StatusOr<ir::Graph> graph = keras::BuildGraphWithRecords(*model, {}, &records);
  if (graph.ok()) {
    for (size_t i = 0; i < graph->inputs.size(); ++i) {
      std::printf("input  %s %s\n", graph->input_names[i].c_str(),
                  keras::ShapeString(graph->tensors[graph->inputs[i]].shape).c_str());
    }
    for (size_t i = 0; i < graph->outputs.size(); ++i) {
      std::printf("output %s %s\n", graph->output_names[i].c_str(),
                  keras::ShapeString(graph->tensors[graph->outputs[i]].shape).c_str());
    }
  }
  int64_t total = 0;
  for (const keras::LayerRecord& r : records) total += r.params;
  std::map<std::string, KernelStats> kernels;
  if (graph.ok()) kernels = KernelStatsByLayer(*graph);
  std::printf("\n%-28s %-22s %-18s %10s %7s %8s  %s\n", "layer", "class", "output shape", "params",
              "zeros", "values", "converts to");
  std::set<std::string> shown;
  for (const keras::LayerRecord& r : records) {
    std::string shape;
    for (const keras::Shape& s : r.output_shapes) {
      shape += (shape.empty() ? "" : " ") + keras::ShapeString(s);
    }
    // Zeros in the kernel: what pruning leaves (trained weights are practically never 0); its
    // distinct values: few after clustering.
    std::string zero_share = "-", distinct = "-";
    const auto k = kernels.find(r.name);
    if (k != kernels.end() && k->second.n > 0) {
      char buf[16];
      std::snprintf(
          buf, sizeof(buf), "%.1f%%",
          100.0 * static_cast<double>(k->second.zeros) / static_cast<double>(k->second.n));
      zero_share = buf;
      distinct = std::to_string(k->second.distinct);
    }
    std::printf("%-28s %-22s %-18s %10lld %7s %8s  %s\n", r.name.c_str(), r.class_name.c_str(),
                shape.c_str(), static_cast<long long>(r.params), zero_share.c_str(),
                distinct.c_str(), OpList(r.ops).c_str());
    shown.insert(r.name);
  }
  if (!graph.ok()) {
    // The layers after the one that failed, from the config.
    std::vector<keras::LayerEntry> layers;
    if (keras::ListLayers(model->config, &layers).ok()) {
      for (const keras::LayerEntry& e : layers) {
        if (shown.count(e.name) == 0 && e.class_name != "InputLayer") {
          std::printf("%-28s %-22s %-18s %10s %7s %8s  %s\n", e.name.c_str(), e.class_name.c_str(),
                      "?", "?", "?", "?", "(not converted)");
        }
      }
    }
    std::printf("\nparameters: %lld (converted layers)\n", static_cast<long long>(total));
    std::printf("conversion: FAILS: %s\n", graph.status().message().c_str());
    return kExitFailure;
  }
  std::printf("\nparameters: %lld\n", static_cast<long long>(total));
  // Layers with trainable=False (theirs or an enclosing model's): training leaves them as they are.
  std::set<std::string> frozen;
  int64_t frozen_params = 0;
  for (const ir::Tensor& t : graph->tensors) {
    if (!t.frozen || t.origin.empty()) continue;
    frozen.insert(t.origin.substr(0, t.origin.find('/')));
    frozen_params += t.NumElements();
  }
  if (!frozen.empty()) {
    std::string names;
    for (const std::string& n : frozen) names += (names.empty() ? "" : ", ") + n;
    std::printf("frozen (trainable=False): %lld parameters in %zu layer(s): %s\n",
                static_cast<long long>(frozen_params), frozen.size(), names.c_str());
  }
  const size_t training_ops = graph->nodes.size();
  Status prepared = passes::PrepareForExport(&*graph);
  if (!prepared.ok()) {
    std::printf("conversion: FAILS in the export passes: %s\n", prepared.message().c_str());
    return kExitFailure;
  }
  std::map<std::string, int> counts;
  for (const ir::Node& n : graph->nodes) ++counts[n.op];
  std::string ops;
  for (const auto& [op, n] : counts) {
    ops += (ops.empty() ? "" : ", ") + op + (n > 1 ? " x" + std::to_string(n) : "");
  }
  std::printf("TFLite: %zu ops after folding and fusing (%zu before): %s\n", graph->nodes.size(),
              training_ops, ops.c_str());
  return kExitOk;
}

}  // namespace cli
}  // namespace edgeopt
