// The train engine: reverse-mode automatic differentiation over the IR in float32.
//
// Engine::Create compiles an ir::Graph (training form: BATCH_NORM, DROPOUT kept) into one kernel
// per node with buffers for a batch size (grow-only, no allocation per step once warm). Dimension 0
// of every activation is the batch, or the batch times some steps between a RESHAPE that folds
// them into it and one that unfolds them (TimeDistributed). Float constants become:
//   - parameters (trainable): weights of FULLY_CONNECTED / CONV_2D / DEPTHWISE_CONV_2D /
//     PRELU, BATCH_NORM gamma and beta, and any other float constant with a Keras origin;
//   - state: BATCH_NORM moving mean / variance (updated by training forward passes), FAKE_QUANT_ACT
//     activation ranges (QAT; FAKE_QUANT_WEIGHT's input is a parameter);
//   - constants: everything else.
// A forward pass in training mode uses batch statistics and dropout; Backward() propagates the
// gradient the loss wrote into LossGrad() down to every parameter.
//
// Determinism: results depend only on the seed and the thread count (GEMM results do not even
// depend on the thread count).
#ifndef EDGEOPT_SRC_TRAIN_ENGINE_H_
#define EDGEOPT_SRC_TRAIN_ENGINE_H_

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "include/edgeopt/status.h"
#include "src/ir/graph.h"
#include "src/runtime/cpu_info.h"
#include "src/runtime/thread_pool.h"
#include "src/train/gemm.h"
#include "src/train/op_kernel.h"

namespace edgeopt {
namespace train {

struct EngineOptions {
  int batch_size = 32;
  int num_threads = 1;               // <= 0: all cores
  uint64_t seed = 0;                 // dropout masks
  const rt::CpuInfo* cpu = nullptr;  // override the detected CPU (tests)
  // Also compute the gradient w.r.t. graph input 0 (InputGrad): gradient checks, saliency.
  bool input_requires_grad = false;
};

struct Parameter {
  int tensor = -1;   // IR tensor id
  std::string name;  // Tensor::origin, or the tensor name
  int64_t size = 0;
  bool has_grad = false;  // reached by the backward pass
  Value* value = nullptr;

  float* data() const { return value->data.data(); }
  float* grad() const { return value->grad.data(); }
};

// The node producing `tensor` when it is `op` (SOFTMAX: with beta 1), else -1.
int FinalActivationNode(const ir::Graph& graph, int tensor, const char* op);

class Engine {
 public:
  static StatusOr<std::unique_ptr<Engine>> Create(const ir::Graph& graph,
                                                  const EngineOptions& options);

  // Re-prepares every kernel for `batch` samples (only when it changes).
  Status SetBatchSize(int batch);
  int batch_size() const { return batch_; }

  // Input 0 / output 0 of the graph.
  int input_tensor() const { return input_; }
  int output_tensor() const { return output_; }
  // OK when the output's first dimension is the batch, as the loss, the metrics and the
  // predictions read it (steps a RESHAPE folded into the batch must be unfolded by then).
  Status CheckOutputBatch() const;
  // Shape of one sample of the input / output (no batch dimension).
  const std::vector<int>& input_sample_shape() const { return input_sample_shape_; }
  int64_t input_sample_size() const { return input_sample_size_; }
  std::vector<int> output_sample_shape() const;
  int64_t output_sample_size() const;

  // Forward pass over `batch` samples at x (batch * input_sample_size floats). Re-prepares when
  // the batch size differs.
  Status Forward(const float* x, int batch, bool training);
  const float* Output() const { return values_[output_].d(); }
  // The tensor whose gradient the loss writes: the output, or the input of a final SOFTMAX when
  // the loss fuses softmax and cross-entropy (SetLossTensor).
  int loss_tensor() const { return loss_tensor_; }
  Status SetLossTensor(int tensor);
  const float* LossInput() const { return values_[loss_tensor_].d(); }
  float* LossGrad() { return values_[loss_tensor_].g(); }
  // Reverse pass: parameter gradients (overwritten, not accumulated across steps).
  void Backward();
  // d loss / d input (with EngineOptions::input_requires_grad), else nullptr.
  const float* InputGrad() { return values_[input_].g(); }
  // The training-step counter that seeds dropout masks (set it to replay a step).
  uint64_t step() const { return step_; }
  void set_step(uint64_t step) { step_ = step; }

  std::vector<Parameter>& parameters() { return params_; }
  const std::vector<Parameter>& parameters() const { return params_; }
  int64_t num_parameter_values() const;
  // The final SOFTMAX (beta 1) or LOGISTIC node producing the output, or -1: the losses fuse
  // them with the cross-entropies (from logits, stable).
  int final_softmax_node() const { return FinalActivationNode(graph_, output_, "SOFTMAX"); }
  int final_logistic_node() const { return FinalActivationNode(graph_, output_, "LOGISTIC"); }

  // Writes the current parameters and state (BN moving statistics) into `graph`'s constants
  // (a graph with the same tensors as the one compiled, e.g. the original).
  Status ExportWeights(ir::Graph* graph) const;
  // A copy of the parameters and state (BN moving statistics), and putting one back (early
  // stopping's best epoch).
  std::vector<std::vector<float>> SnapshotWeights() const;
  void RestoreWeights(const std::vector<std::vector<float>>& snapshot);
  const ir::Graph& graph() const { return graph_; }
  Value& value(int tensor) { return values_[tensor]; }

  // Per-node forward / backward wall time (seconds), accumulated while profiling is on.
  void EnableProfiling(bool on) { profiling_ = on; }
  struct NodeTime {
    double forward = 0.0, backward = 0.0;
  };
  const std::vector<NodeTime>& node_times() const { return node_times_; }
  // A table of the node times, slowest first.
  std::string ProfileReport() const;

  rt::ThreadPool* pool() { return pool_.get(); }
  Gemm* gemm() { return gemm_.get(); }
  int num_threads() const { return pool_->num_threads(); }
  uint64_t seed() const { return seed_; }

 private:
  Engine() = default;
  Status Compile(const EngineOptions& options);
  void PlanBackward();

  ir::Graph graph_;
  std::vector<Value> values_;
  std::vector<std::unique_ptr<OpKernel>> kernels_;
  std::vector<bool> active_;  // per node: runs in Backward
  std::vector<int> zero_grads_;
  std::vector<Parameter> params_;
  std::unique_ptr<rt::ThreadPool> pool_;
  std::unique_ptr<Gemm> gemm_;
  KernelContext ctx_;
  int input_ = -1, output_ = -1, loss_tensor_ = -1;
  std::vector<int> input_sample_shape_;
  int64_t input_sample_size_ = 0;
  int batch_ = 0;
  uint64_t seed_ = 0;
  uint64_t step_ = 0;
  bool profiling_ = false;
  std::vector<NodeTime> node_times_;
};

}  // namespace train
}  // namespace edgeopt

#endif  // EDGEOPT_SRC_TRAIN_ENGINE_H_
