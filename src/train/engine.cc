#include "src/train/engine.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>

namespace edgeopt {
namespace train {
namespace {

// Inputs that hold weights by position, per op.
// Ops with a bool output: comparisons and logical ops.
bool IsBoolOp(const std::string& op) {
  for (const char* b : {"NOT_EQUAL", "EQUAL", "GREATER", "GREATER_EQUAL", "LESS", "LESS_EQUAL",
                        "LOGICAL_AND", "LOGICAL_OR", "LOGICAL_NOT"}) {
    if (op == b) return true;
  }
  return false;
}

bool IsWeightSlot(const std::string& op, int slot) {
  if (op == "FULLY_CONNECTED" || op == "CONV_2D" || op == "DEPTHWISE_CONV_2D") {
    return slot == 1 || slot == 2;
  }
  if (op == "TRANSPOSE_CONV") return slot == 1 || slot == 3;
  if (op == "BATCH_NORM") return slot == 1 || slot == 2;
  if (op == "PRELU") return slot == 1;
  if (op == "FAKE_QUANT_WEIGHT") return slot == 0;  // QAT: the float weights it quantizes
  return false;
}

bool IsStateSlot(const std::string& op, int slot) {
  return (op == "BATCH_NORM" && (slot == 3 || slot == 4)) ||
         (op == "FAKE_QUANT_ACT" && slot == 1);  // QAT: the shared activation range
}

}  // namespace

StatusOr<std::unique_ptr<Engine>> Engine::Create(const ir::Graph& graph,
                                                 const EngineOptions& options) {
  std::unique_ptr<Engine> engine(new Engine());
  engine->graph_ = graph;
  EDGEOPT_RETURN_IF_ERROR(engine->Compile(options));
  return engine;
}

Status Engine::Compile(const EngineOptions& options) {
  const ir::Graph& g = graph_;
  EDGEOPT_RETURN_IF_ERROR(g.Validate());
  EDGEOPT_ENSURE(!g.inputs.empty() && !g.outputs.empty(), StatusCode::kInvalidModel,
                 "the model has no inputs or no outputs");
  EDGEOPT_ENSURE(options.batch_size >= 1, StatusCode::kInvalidArgument,
                 "batch size %d must be at least 1", options.batch_size);
  seed_ = options.seed;
  const int num_tensors = static_cast<int>(g.tensors.size());
  values_.assign(num_tensors, Value());

  // Classify tensors.
  std::vector<int> slot_kind(num_tensors, 0);  // 1 weight slot, 2 state slot
  for (const ir::Node& n : g.nodes) {
    for (size_t i = 0; i < n.inputs.size(); ++i) {
      const int t = n.inputs[i];
      if (t < 0) continue;
      if (IsStateSlot(n.op, static_cast<int>(i))) slot_kind[t] = 2;
      if (IsWeightSlot(n.op, static_cast<int>(i)) && slot_kind[t] == 0) slot_kind[t] = 1;
    }
  }
  for (int t = 0; t < num_tensors; ++t) {
    const ir::Tensor& tensor = g.tensors[t];
    Value& v = values_[t];
    v.shape.assign(tensor.shape.begin(), tensor.shape.end());
    v.size = NumElements(v.shape);
    if (!tensor.is_constant) continue;
    if (tensor.dtype != DType::kFloat32) {
      v.kind = ValueKind::kConstant;
      // Integer constants (one_hot's classes, a comparison with an index) as floats too, for
      // the elementwise kernels; shape and axis inputs are read from the IR.
      if (tensor.dtype == DType::kInt32 && tensor.data.size() == static_cast<size_t>(v.size) * 4) {
        v.data.assign(tensor.DataAs<int32_t>(), tensor.DataAs<int32_t>() + v.size);
      } else if (tensor.dtype == DType::kInt64 &&
                 tensor.data.size() == static_cast<size_t>(v.size) * 8) {
        v.data.assign(tensor.DataAs<int64_t>(), tensor.DataAs<int64_t>() + v.size);
      }
      continue;
    }
    EDGEOPT_ENSURE(tensor.data.size() == static_cast<size_t>(v.size) * sizeof(float),
                   StatusCode::kInvalidModel, "tensor %d (%s): %zu bytes for shape %s", t,
                   tensor.name.c_str(), tensor.data.size(), ShapeString(v.shape).c_str());
    v.data.resize(v.size);
    if (v.size > 0) std::memcpy(v.data.data(), tensor.data.data(), tensor.data.size());
    if (slot_kind[t] == 2) {
      v.kind = ValueKind::kState;
    } else if ((slot_kind[t] == 1 || !tensor.origin.empty()) && !tensor.frozen) {
      v.kind = ValueKind::kParameter;
      v.requires_grad = true;
      v.grad.assign(v.size, 0.0f);
    } else {
      v.kind = ValueKind::kConstant;
    }
  }
  input_ = g.inputs[0];
  output_ = g.outputs[0];
  EDGEOPT_ENSURE(g.inputs.size() == 1, StatusCode::kUnsupported,
                 "the model has %zu inputs; training supports one", g.inputs.size());
  EDGEOPT_ENSURE(g.tensors[output_].dtype == DType::kFloat32, StatusCode::kUnsupported,
                 "output '%s' is %s (an index or a mask, with no gradient); the train engine "
                 "needs a float32 output: train the model that ends before it",
                 g.tensors[output_].name.c_str(), DTypeName(g.tensors[output_].dtype));
  const ir::Tensor& in_t = g.tensors[input_];
  EDGEOPT_ENSURE(in_t.dtype == DType::kFloat32 && !in_t.shape.empty(), StatusCode::kUnsupported,
                 "input '%s' is %s with shape rank %zu; training needs float32 "
                 "with a batch "
                 "dimension",
                 in_t.name.c_str(), DTypeName(in_t.dtype), in_t.shape.size());
  if (options.input_requires_grad) values_[input_].requires_grad = true;
  input_sample_shape_.assign(in_t.shape.begin() + 1, in_t.shape.end());
  input_sample_size_ = NumElements(input_sample_shape_);
  for (int d : input_sample_shape_) {
    EDGEOPT_ENSURE(d > 0, StatusCode::kUnsupported,
                   "input '%s' has a dynamic dimension besides the batch", in_t.name.c_str());
  }

  // Kernels, and which activations need gradients.
  kernels_.clear();
  for (int i = 0; i < static_cast<int>(g.nodes.size()); ++i) {
    const ir::Node& n = g.nodes[i];
    EDGEOPT_ASSIGN_OR_RETURN(std::unique_ptr<OpKernel> k, CreateKernel(g, i));
    bool needs = false;
    for (int t : n.inputs) {
      if (t >= 0 && values_[t].requires_grad) needs = true;
    }
    for (int t : n.outputs) {
      // Bools (a comparison's, a logical op's: a Keras mask, where's condition) and integers
      // (an argmax's index, a cast to int), and RESHAPEs and slices of them, are held as floats
      // (0 / 1, the integer), and need no gradient.
      const DType out_type = g.tensors[t].dtype;
      const bool non_float_out =
          out_type == DType::kBool || out_type == DType::kInt32 || out_type == DType::kInt64;
      const bool no_grad_op =
          IsBoolOp(n.op) || n.op == "ARG_MAX" || n.op == "ARG_MIN" || n.op == "CAST" ||
          ((n.op == "RESHAPE" || n.op == "STRIDED_SLICE" || n.op == "CONCATENATION") &&
           !n.inputs.empty() && n.inputs[0] >= 0 && g.tensors[n.inputs[0]].dtype == out_type);
      if (no_grad_op && non_float_out) continue;
      EDGEOPT_ENSURE(g.tensors[t].dtype == DType::kFloat32, StatusCode::kUnsupported,
                     "node %d (%s %s): output '%s' is %s; training runs in float32", i,
                     n.op.c_str(), n.name.c_str(), g.tensors[t].name.c_str(),
                     DTypeName(g.tensors[t].dtype));
      values_[t].requires_grad = needs;
    }
    kernels_.push_back(std::move(k));
  }

  params_.clear();
  for (int t = 0; t < num_tensors; ++t) {
    if (values_[t].kind != ValueKind::kParameter) continue;
    Parameter p;
    p.tensor = t;
    p.name = g.tensors[t].origin.empty() ? g.tensors[t].name : g.tensors[t].origin;
    p.size = values_[t].size;
    p.value = &values_[t];
    params_.push_back(p);
  }

  const int threads = options.num_threads <= 0 ? rt::GetCpuInfo().num_cores : options.num_threads;
  pool_ = std::make_unique<rt::ThreadPool>(threads);
  gemm_ = std::make_unique<Gemm>(options.cpu != nullptr ? *options.cpu : rt::GetCpuInfo());
  ctx_.values = &values_;
  ctx_.graph = &graph_;
  ctx_.pool = pool_.get();
  ctx_.gemm = gemm_.get();
  ctx_.seed = seed_;

  loss_tensor_ = output_;
  PlanBackward();
  return SetBatchSize(options.batch_size);
}

int FinalActivationNode(const ir::Graph& graph, int tensor, const char* op) {
  const int p = graph.Producer(tensor);
  if (p < 0 || graph.nodes[p].op != op) return -1;
  if (graph.nodes[p].op == "SOFTMAX" && ir::GetFloat(graph.nodes[p].attrs, "beta", 1.0) != 1.0) {
    return -1;
  }
  return p;
}

Status Engine::SetLossTensor(int tensor) {
  EDGEOPT_ENSURE(tensor >= 0 && tensor < static_cast<int>(values_.size()), StatusCode::kInternal,
                 "loss tensor %d out of range", tensor);
  EDGEOPT_ENSURE(values_[tensor].kind == ValueKind::kActivation, StatusCode::kInternal,
                 "loss tensor %d is not an activation", tensor);
  loss_tensor_ = tensor;
  PlanBackward();
  return Status::Ok();
}

void Engine::PlanBackward() {
  const int num_nodes = static_cast<int>(kernels_.size());
  std::vector<bool> contributes(values_.size(), false);
  std::vector<bool> seen(values_.size(), false);
  contributes[loss_tensor_] = true;
  active_.assign(num_nodes, false);
  for (int i = num_nodes - 1; i >= 0; --i) {
    OpKernel& k = *kernels_[i];
    bool out_contrib = false;
    for (int t : k.out) out_contrib = out_contrib || contributes[t];
    bool in_grad = false;
    for (int t : k.in) in_grad = in_grad || (t >= 0 && values_[t].requires_grad);
    if (!out_contrib || !in_grad) continue;
    active_[i] = true;
    for (size_t j = 0; j < k.in.size(); ++j) {
      const int t = k.in[j];
      if (t < 0 || !values_[t].requires_grad) continue;
      contributes[t] = true;
      k.overwrite[j] = !seen[t];
      seen[t] = true;
    }
  }
  // Outputs of active nodes that no active consumer writes (e.g. a second model
  // output) have zero gradients: Backward clears them.
  zero_grads_.clear();
  for (int i = 0; i < num_nodes; ++i) {
    if (!active_[i]) continue;
    for (int t : kernels_[i]->out) {
      if (t != loss_tensor_ && !seen[t]) zero_grads_.push_back(t);
    }
  }
  for (Parameter& p : params_) p.has_grad = seen[p.tensor];
}

Status Engine::SetBatchSize(int batch) {
  EDGEOPT_ENSURE(batch >= 1, StatusCode::kInvalidArgument, "batch size %d", batch);
  if (batch == batch_) return Status::Ok();
  std::vector<int> shape = {batch};
  shape.insert(shape.end(), input_sample_shape_.begin(), input_sample_shape_.end());
  SetShape(&values_[input_], shape);
  ctx_.batch = batch;
  for (auto& k : kernels_) {
    Status s = k->Prepare(&ctx_);
    if (!s.ok()) {
      batch_ = 0;
      return s;
    }
  }
  batch_ = batch;
  return Status::Ok();
}

Status Engine::CheckOutputBatch() const {
  const Value& y = values_[output_];
  EDGEOPT_ENSURE(batch_ >= 1 && y.rank() >= 1 && y.shape[0] == batch_, StatusCode::kUnsupported,
                 "output '%s' is %s for a batch of %d: the loss and the predictions need the "
                 "batch as its first dimension",
                 graph_.tensors[output_].name.c_str(), ShapeString(y.shape).c_str(), batch_);
  return Status::Ok();
}

std::vector<int> Engine::output_sample_shape() const {
  const std::vector<int>& s = values_[output_].shape;
  return std::vector<int>(s.begin() + (s.empty() ? 0 : 1), s.end());
}

int64_t Engine::output_sample_size() const { return NumElements(output_sample_shape()); }

int64_t Engine::num_parameter_values() const {
  int64_t n = 0;
  for (const Parameter& p : params_) n += p.size;
  return n;
}

Status Engine::Forward(const float* x, int batch, bool training) {
  EDGEOPT_RETURN_IF_ERROR(SetBatchSize(batch));
  Value& in = values_[input_];
  std::memcpy(in.d(), x, sizeof(float) * in.size);
  ctx_.training = training;
  ctx_.step = step_;
  if (training) ++step_;
  if (!profiling_) {
    for (auto& k : kernels_) k->Forward(&ctx_);
    return Status::Ok();
  }
  node_times_.resize(kernels_.size());
  for (size_t i = 0; i < kernels_.size(); ++i) {
    const auto t0 = std::chrono::steady_clock::now();
    kernels_[i]->Forward(&ctx_);
    node_times_[i].forward +=
        std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  }
  return Status::Ok();
}

void Engine::Backward() {
  for (int t : zero_grads_) {
    Value& v = values_[t];
    std::memset(v.g(), 0, sizeof(float) * v.size);
  }
  node_times_.resize(kernels_.size());
  for (int i = static_cast<int>(kernels_.size()) - 1; i >= 0; --i) {
    if (!active_[i]) continue;
    if (!profiling_) {
      kernels_[i]->Backward(&ctx_);
      continue;
    }
    const auto t0 = std::chrono::steady_clock::now();
    kernels_[i]->Backward(&ctx_);
    node_times_[i].backward +=
        std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  }
}

std::string Engine::ProfileReport() const {
  std::vector<int> order(node_times_.size());
  double total = 0.0;
  for (size_t i = 0; i < order.size(); ++i) {
    order[i] = static_cast<int>(i);
    total += node_times_[i].forward + node_times_[i].backward;
  }
  std::sort(order.begin(), order.end(), [&](int a, int b) {
    return node_times_[a].forward + node_times_[a].backward >
           node_times_[b].forward + node_times_[b].backward;
  });
  std::string out = "node                               forward_s  backward_s   share\n";
  char line[256];
  for (int i : order) {
    const ir::Node& n = graph_.nodes[i];
    const double t = node_times_[i].forward + node_times_[i].backward;
    std::snprintf(line, sizeof(line), "%-3d %-18s %-12s %10.3f %11.3f %6.1f%%\n", i, n.op.c_str(),
                  n.name.substr(0, 12).c_str(), node_times_[i].forward, node_times_[i].backward,
                  total > 0 ? 100.0 * t / total : 0.0);
    out += line;
  }
  return out;
}

std::vector<std::vector<float>> Engine::SnapshotWeights() const {
  std::vector<std::vector<float>> snapshot;
  for (const Value& v : values_) {
    if (v.kind == ValueKind::kParameter || v.kind == ValueKind::kState) snapshot.push_back(v.data);
  }
  return snapshot;
}

void Engine::RestoreWeights(const std::vector<std::vector<float>>& snapshot) {
  size_t i = 0;
  for (Value& v : values_) {
    if (v.kind != ValueKind::kParameter && v.kind != ValueKind::kState) continue;
    if (i < snapshot.size() && snapshot[i].size() == v.data.size()) v.data = snapshot[i];
    ++i;
  }
}

Status Engine::ExportWeights(ir::Graph* graph) const {
  EDGEOPT_ENSURE(graph->tensors.size() == values_.size(), StatusCode::kInternal,
                 "graph has %zu tensors, the engine %zu", graph->tensors.size(), values_.size());
  for (size_t t = 0; t < values_.size(); ++t) {
    const Value& v = values_[t];
    if (v.kind != ValueKind::kParameter && v.kind != ValueKind::kState) continue;
    ir::Tensor& dst = graph->tensors[t];
    EDGEOPT_ENSURE(dst.is_constant && dst.dtype == DType::kFloat32 &&
                       dst.data.size() == static_cast<size_t>(v.size) * sizeof(float),
                   StatusCode::kInternal, "tensor %zu (%s) does not match the engine's", t,
                   dst.name.c_str());
    if (v.size > 0) std::memcpy(dst.data.data(), v.d(), dst.data.size());
  }
  return Status::Ok();
}

}  // namespace train
}  // namespace edgeopt
