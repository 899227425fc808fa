#include "src/ir/graph.h"

#include <algorithm>

namespace edgeopt {
namespace ir {

const char* const kToolkitOps[] = {"BATCH_NORM",        "DROPOUT",   "FAKE_QUANT_ACT",
                                   "FAKE_QUANT_WEIGHT", "EMBEDDING", nullptr};

bool IsToolkitOp(const std::string& op) {
  for (int i = 0; kToolkitOps[i] != nullptr; ++i) {
    if (op == kToolkitOps[i]) return true;
  }
  return false;
}

int64_t Tensor::NumElements() const {
  int64_t n = 1;
  for (int32_t d : shape) n *= d < 0 ? 0 : d;
  return n;
}

int Graph::AddTensor(Tensor t) {
  tensors.push_back(std::move(t));
  return static_cast<int>(tensors.size()) - 1;
}

int Graph::AddConstant(const std::string& name, DType dtype, const std::vector<int32_t>& shape,
                       const void* data, size_t bytes) {
  Tensor t;
  t.name = name;
  t.dtype = dtype;
  t.shape = shape;
  t.is_constant = true;
  t.data.resize(bytes);
  if (bytes > 0) std::memcpy(t.data.data(), data, bytes);
  return AddTensor(std::move(t));
}

int Graph::AddFloatConstant(const std::string& name, const std::vector<int32_t>& shape,
                            const std::vector<float>& values) {
  return AddConstant(name, DType::kFloat32, shape, values.data(), values.size() * sizeof(float));
}

int Graph::AddActivation(const std::string& name, DType dtype, const std::vector<int32_t>& shape) {
  Tensor t;
  t.name = name;
  t.dtype = dtype;
  t.shape = shape;
  return AddTensor(std::move(t));
}

int Graph::AddNode(Node n) {
  nodes.push_back(std::move(n));
  return static_cast<int>(nodes.size()) - 1;
}

int Graph::Producer(int t) const {
  for (int i = 0; i < static_cast<int>(nodes.size()); ++i) {
    for (int o : nodes[i].outputs) {
      if (o == t) return i;
    }
  }
  return -1;
}

std::vector<int> Graph::Consumers(int t) const {
  std::vector<int> result;
  for (int i = 0; i < static_cast<int>(nodes.size()); ++i) {
    for (int in : nodes[i].inputs) {
      if (in == t) {
        result.push_back(i);
        break;
      }
    }
  }
  return result;
}

bool Graph::IsGraphOutput(int t) const {
  return std::find(outputs.begin(), outputs.end(), t) != outputs.end();
}

std::vector<int> Graph::RemoveUnusedTensors() {
  std::vector<int> used(tensors.size(), 0);
  for (int t : inputs) used[t] = 1;
  for (int t : outputs) used[t] = 1;
  for (const Node& n : nodes) {
    for (int t : n.inputs)
      if (t >= 0) used[t] = 1;
    for (int t : n.outputs)
      if (t >= 0) used[t] = 1;
    for (int t : n.intermediates)
      if (t >= 0) used[t] = 1;
  }
  std::vector<int> remap(tensors.size(), -1);
  std::vector<Tensor> kept;
  for (size_t i = 0; i < tensors.size(); ++i) {
    if (!used[i]) continue;
    remap[i] = static_cast<int>(kept.size());
    kept.push_back(std::move(tensors[i]));
  }
  tensors = std::move(kept);
  auto fix = [&](std::vector<int>& list) {
    for (int& t : list)
      if (t >= 0) t = remap[t];
  };
  fix(inputs);
  fix(outputs);
  for (Node& n : nodes) {
    fix(n.inputs);
    fix(n.outputs);
    fix(n.intermediates);
  }
  return remap;
}

Status Graph::Validate() const {
  const int num = static_cast<int>(tensors.size());
  std::vector<int> written(num, 0);
  for (int t : inputs) {
    EDGEOPT_ENSURE(t >= 0 && t < num, StatusCode::kInternal, "graph input %d out of range", t);
    written[t] = 1;
  }
  for (int t = 0; t < num; ++t) {
    const Tensor& tensor = tensors[t];
    if (tensor.is_constant) {
      written[t] = 1;
      if (!tensor.has_sparsity && DTypeSize(tensor.dtype) > 0) {
        EDGEOPT_ENSURE(tensor.data.size() == tensor.ByteSize(), StatusCode::kInternal,
                       "tensor %d (%s): %zu bytes of data, shape needs %zu", t, tensor.name.c_str(),
                       tensor.data.size(), tensor.ByteSize());
      }
    }
    if (tensor.is_variable) written[t] = 1;
  }
  for (size_t i = 0; i < nodes.size(); ++i) {
    const Node& n = nodes[i];
    for (int t : n.inputs) {
      EDGEOPT_ENSURE(t >= -1 && t < num, StatusCode::kInternal,
                     "node %zu (%s): input %d out of range", i, n.op.c_str(), t);
      if (t >= 0) {
        EDGEOPT_ENSURE(written[t], StatusCode::kInternal,
                       "node %zu (%s) reads tensor %d (%s) before it is written", i, n.op.c_str(),
                       t, tensors[t].name.c_str());
      }
    }
    for (int t : n.outputs) {
      EDGEOPT_ENSURE(t >= 0 && t < num, StatusCode::kInternal,
                     "node %zu (%s): output %d out of range", i, n.op.c_str(), t);
      EDGEOPT_ENSURE(!tensors[t].is_constant, StatusCode::kInternal,
                     "node %zu (%s) writes constant tensor %d", i, n.op.c_str(), t);
      EDGEOPT_ENSURE(written[t] == 0 || tensors[t].is_variable, StatusCode::kInternal,
                     "tensor %d (%s) is written twice", t, tensors[t].name.c_str());
      written[t] = 1;
    }
  }
  for (int t : outputs) {
    EDGEOPT_ENSURE(t >= 0 && t < num, StatusCode::kInternal, "graph output %d out of range", t);
    EDGEOPT_ENSURE(written[t], StatusCode::kInternal, "graph output %d (%s) is never written", t,
                   tensors[t].name.c_str());
  }
  return Status::Ok();
}

int64_t GetInt(const Attrs& attrs, const std::string& key, int64_t fallback) {
  auto it = attrs.find(key);
  if (it == attrs.end()) return fallback;
  if (const auto* v = std::get_if<int64_t>(&it->second)) return *v;
  if (const auto* v = std::get_if<bool>(&it->second)) return *v ? 1 : 0;
  return fallback;
}

double GetFloat(const Attrs& attrs, const std::string& key, double fallback) {
  auto it = attrs.find(key);
  if (it == attrs.end()) return fallback;
  if (const auto* v = std::get_if<double>(&it->second)) return *v;
  if (const auto* v = std::get_if<int64_t>(&it->second)) return static_cast<double>(*v);
  return fallback;
}

bool GetBool(const Attrs& attrs, const std::string& key, bool fallback) {
  auto it = attrs.find(key);
  if (it == attrs.end()) return fallback;
  if (const auto* v = std::get_if<bool>(&it->second)) return *v;
  if (const auto* v = std::get_if<int64_t>(&it->second)) return *v != 0;
  return fallback;
}

std::string GetString(const Attrs& attrs, const std::string& key, const std::string& fallback) {
  auto it = attrs.find(key);
  if (it == attrs.end()) return fallback;
  if (const auto* v = std::get_if<std::string>(&it->second)) return *v;
  return fallback;
}

std::vector<int64_t> GetInts(const Attrs& attrs, const std::string& key) {
  auto it = attrs.find(key);
  if (it == attrs.end()) return {};
  if (const auto* v = std::get_if<std::vector<int64_t>>(&it->second)) return *v;
  if (const auto* v = std::get_if<int64_t>(&it->second)) return {*v};
  return {};
}

}  // namespace ir
}  // namespace edgeopt
