// Integer constants that hold the same values (type, shape, bytes and quantization) become one
// tensor: an unrolled recurrent layer repeats the bounds of its SLICEs and STRIDED_SLICEs at every
// step (a 28-step GRU: 367 constant tensors, 8 distinct). Float constants are left alone: a zero
// bias added to two layers must stay two trainable tensors (QAT trains the export form).
#include <map>
#include <string>

#include "src/passes/export_passes.h"

namespace edgeopt {
namespace passes {

Status DeduplicateConstants(ir::Graph* graph) {
  std::map<std::string, int> first;  // key -> the tensor that stays
  std::vector<int> replace(graph->tensors.size(), -1);
  bool any = false;
  for (size_t i = 0; i < graph->tensors.size(); ++i) {
    const ir::Tensor& t = graph->tensors[i];
    if (!t.is_constant || t.is_variable || t.dtype == DType::kFloat32 ||
        t.dtype == DType::kFloat16 || graph->IsGraphOutput(static_cast<int>(i))) {
      continue;
    }
    std::string key(reinterpret_cast<const char*>(&t.dtype), sizeof(t.dtype));
    key += '|' + std::to_string(t.shape.size());
    for (int32_t d : t.shape) key += ',' + std::to_string(d);
    key += '|' + std::to_string(t.quant.axis) + '|';
    key.append(reinterpret_cast<const char*>(t.quant.scale.data()),
               t.quant.scale.size() * sizeof(float));
    key += '|';
    for (int64_t z : t.quant.zero_point) key += std::to_string(z) + ',';
    key += '|';
    key.append(reinterpret_cast<const char*>(t.data.data()), t.data.size());
    auto [it, inserted] = first.emplace(std::move(key), static_cast<int>(i));
    if (!inserted) {
      replace[i] = it->second;
      any = true;
    }
  }
  if (!any) return Status::Ok();
  for (ir::Node& n : graph->nodes) {
    for (int& t : n.inputs) {
      if (t >= 0 && replace[t] >= 0) t = replace[t];
    }
  }
  graph->RemoveUnusedTensors();
  return Status::Ok();
}

}  // namespace passes
}  // namespace edgeopt
