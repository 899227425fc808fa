#include "src/passes/pass_util.h"

#include <algorithm>
#include <cstring>

namespace edgeopt {
namespace passes {

bool IsConstant(const ir::Graph& graph, int tensor) {
  return tensor >= 0 && graph.tensors[tensor].is_constant;
}

bool IsFloatConstant(const ir::Graph& graph, int tensor) {
  return IsConstant(graph, tensor) && graph.tensors[tensor].dtype == DType::kFloat32 &&
         !graph.tensors[tensor].has_sparsity && graph.tensors[tensor].quant.empty() &&
         graph.tensors[tensor].data.size() == graph.tensors[tensor].ByteSize();
}

std::vector<float> ConstFloats(const ir::Graph& graph, int tensor) {
  const ir::Tensor& t = graph.tensors[tensor];
  std::vector<float> v(t.data.size() / sizeof(float));
  if (!v.empty()) std::memcpy(v.data(), t.data.data(), v.size() * sizeof(float));
  return v;
}

std::vector<int32_t> ConstInts(const ir::Graph& graph, int tensor) {
  const ir::Tensor& t = graph.tensors[tensor];
  std::vector<int32_t> v;
  if (t.dtype == DType::kInt32) {
    v.resize(t.data.size() / 4);
    if (!v.empty()) std::memcpy(v.data(), t.data.data(), v.size() * 4);
  } else if (t.dtype == DType::kInt64) {
    for (size_t i = 0; i + 8 <= t.data.size(); i += 8) {
      int64_t x;
      std::memcpy(&x, t.data.data() + i, 8);
      v.push_back(static_cast<int32_t>(x));
    }
  }
  return v;
}

void SetConstFloats(ir::Graph* graph, int tensor, const std::vector<float>& values) {
  ir::Tensor& t = graph->tensors[tensor];
  t.data.resize(values.size() * sizeof(float));
  if (!values.empty()) std::memcpy(t.data.data(), values.data(), t.data.size());
}

int NumConsumers(const ir::Graph& graph, int tensor) {
  return static_cast<int>(graph.Consumers(tensor).size());
}

bool IsGraphInput(const ir::Graph& graph, int tensor) {
  return std::find(graph.inputs.begin(), graph.inputs.end(), tensor) != graph.inputs.end();
}

void ReplaceUses(ir::Graph* graph, int from, int to) {
  for (ir::Node& n : graph->nodes) {
    for (int& t : n.inputs) {
      if (t == from) t = to;
    }
  }
}

void RemoveNodes(ir::Graph* graph, const std::vector<bool>& remove) {
  std::vector<ir::Node> kept;
  kept.reserve(graph->nodes.size());
  for (size_t i = 0; i < graph->nodes.size(); ++i) {
    if (!remove[i]) kept.push_back(std::move(graph->nodes[i]));
  }
  graph->nodes = std::move(kept);
}

bool BypassNode(ir::Graph* graph, int node, std::vector<bool>* remove) {
  ir::Node& n = graph->nodes[node];
  if (n.inputs.empty() || n.outputs.size() != 1 || n.inputs[0] < 0) return false;
  const int in = n.inputs[0];
  const int out = n.outputs[0];
  if (graph->tensors[in].shape != graph->tensors[out].shape ||
      graph->tensors[in].dtype != graph->tensors[out].dtype) {
    return false;
  }
  if (!graph->IsGraphOutput(out)) {
    ReplaceUses(graph, out, in);
    (*remove)[node] = true;
    return true;
  }
  // The output is a graph output: let the producer of `in` write it.
  const int producer = graph->Producer(in);
  if (producer < 0 || IsGraphInput(*graph, in) || graph->IsGraphOutput(in) ||
      graph->tensors[in].is_constant) {
    return false;
  }
  for (int& o : graph->nodes[producer].outputs) {
    if (o == in) o = out;
  }
  for (size_t i = 0; i < graph->nodes.size(); ++i) {
    if (static_cast<int>(i) == node) continue;
    for (int& t : graph->nodes[i].inputs) {
      if (t == in) t = out;
    }
  }
  graph->nodes[node].inputs[0] = -1;
  (*remove)[node] = true;
  return true;
}

int PrivateConstant(ir::Graph* graph, int node, int input_slot) {
  const int t = graph->nodes[node].inputs[input_slot];
  int readers = 0;
  for (const ir::Node& n : graph->nodes) {
    for (int in : n.inputs) readers += in == t ? 1 : 0;
  }
  if (readers <= 1 && !graph->IsGraphOutput(t)) return t;
  ir::Tensor copy = graph->tensors[t];
  copy.name += "_" + graph->nodes[node].name;
  const int id = graph->AddTensor(std::move(copy));
  graph->nodes[node].inputs[input_slot] = id;
  return id;
}

bool TakesFusedActivation(const std::string& op) {
  // Not CONCATENATION: its options have the field, but TFLite 2.9's kernel refuses any activation.
  static const char* const kOps[] = {
      "CONV_2D", "DEPTHWISE_CONV_2D", "FULLY_CONNECTED", "ADD", "SUB", "MUL",
      "DIV",     "AVERAGE_POOL_2D",   "MAX_POOL_2D"};
  for (const char* o : kOps) {
    if (op == o) return true;
  }
  return false;
}

}  // namespace passes
}  // namespace edgeopt
