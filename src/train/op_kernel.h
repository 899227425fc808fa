// The per-op contract of the train engine: every supported IR op has a kernel with Prepare
// (output shapes for the current batch size, scratch), Forward and Backward (reverse mode).
//
// Values are dense float32 NHWC buffers indexed by IR tensor id. A gradient buffer exists for a
// value that needs one (a trainable weight or anything computed from one). Backward receives
// the gradient of its outputs and, for each input that needs a gradient, either overwrites
// (first contribution in reverse order) or adds to that input's gradient: see `overwrite`.
#ifndef EDGEOPT_SRC_TRAIN_OP_KERNEL_H_
#define EDGEOPT_SRC_TRAIN_OP_KERNEL_H_

#include <cstdint>

#if defined(__SSE2__)
#include <xmmintrin.h>
#endif
#include <memory>
#include <string>
#include <vector>

#include "include/edgeopt/status.h"
#include "src/ir/graph.h"
#include "src/runtime/thread_pool.h"
#include "src/train/gemm.h"

namespace edgeopt {
namespace train {

enum class ValueKind : uint8_t {
  kActivation,  // computed per batch (graph inputs too)
  kParameter,   // trainable weight (float constant with a Keras origin or in a
                // weight slot)
  kState,       // non-trainable float state updated in training (BN moving
                // mean/variance)
  kConstant,    // any other constant (read from the IR by kernels that need it)
};

struct Value {
  ValueKind kind = ValueKind::kActivation;
  std::vector<int> shape;  // with the batch dimension first for activations
  int64_t size = 0;
  std::vector<float> data;
  std::vector<float> grad;  // empty unless requires_grad
  bool requires_grad = false;

  float* d() { return data.data(); }
  const float* d() const { return data.data(); }
  float* g() { return grad.empty() ? nullptr : grad.data(); }
  int rank() const { return static_cast<int>(shape.size()); }
  int dim(int i) const { return shape[i < 0 ? i + rank() : i]; }
};

struct KernelContext {
  std::vector<Value>* values = nullptr;
  const ir::Graph* graph = nullptr;
  rt::ThreadPool* pool = nullptr;
  Gemm* gemm = nullptr;
  bool training = false;
  uint64_t seed = 0;  // engine seed
  uint64_t step = 0;  // forward pass counter (dropout masks differ per step)
  int batch = 1;

  Value& v(int id) { return (*values)[id]; }
  int threads() const { return pool != nullptr ? pool->num_threads() : 1; }
};

class OpKernel {
 public:
  virtual ~OpKernel() = default;
  // Output shapes from input shapes (batch included) and scratch sizes.
  virtual Status Prepare(KernelContext* ctx) = 0;
  virtual void Forward(KernelContext* ctx) = 0;
  // Only called when some input needs a gradient and the outputs' gradients are complete.
  virtual void Backward(KernelContext* ctx) = 0;

  const ir::Node* node = nullptr;
  int node_index = -1;
  std::vector<int> in;  // tensor ids (-1: absent optional input)
  std::vector<int> out;
  // Per input: true = Backward writes the gradient (first contribution), false = adds to it.
  std::vector<bool> overwrite;

 protected:
  // A gradient buffer to write input `i`'s gradient into, or nullptr when it needs none.
  float* InGrad(KernelContext* ctx, int i) const {
    if (i >= static_cast<int>(in.size()) || in[i] < 0) return nullptr;
    return ctx->v(in[i]).g();
  }
  // Stores `value` into a gradient slot honoring overwrite/accumulate.
  bool Over(int i) const { return overwrite[i]; }
  std::string Where() const;  // "node 3 (CONV_2D conv2d_1)"
};

// The kernel for `node`, or an Unsupported status naming the op.
StatusOr<std::unique_ptr<OpKernel>> CreateKernel(const ir::Graph& graph, int node_index);
// True when the op is one the engine can train through.
bool IsTrainableOp(const std::string& op);

// Fused activations (fused_activation_function) shared by the kernels.
enum class FusedAct : uint8_t { kNone, kRelu, kRelu6, kReluN1To1, kTanh, kSignBit };
StatusOr<FusedAct> ParseFusedAct(const ir::Node& node);
// y = act(y), in place, n values.
void ApplyFusedAct(FusedAct act, float* y, int64_t n);
// g *= act'(y) in place (from the activation's output).
void FusedActBackward(FusedAct act, const float* y, float* g, int64_t n);

// Reductions that do not depend on the thread count: [0, n) is cut into min(n, kReduceChunks) fixed
// chunks, run as pool tasks, f(begin, end, chunk, thread); a kernel keeps one partial sum per chunk
// (combined in chunk order) and per-thread scratch by `thread`.
// Training results are then bit-identical for any --threads.
constexpr int kReduceChunks = 8;
template <typename F>
int ReduceChunks(KernelContext* ctx, int64_t n, F&& f) {
  const int chunks = static_cast<int>(n < kReduceChunks ? (n < 1 ? 1 : n) : kReduceChunks);
  auto body = [&](int chunk, int thread) {
    f(n * chunk / chunks, n * (chunk + 1) / chunks, chunk, thread);
  };
  if (ctx->threads() <= 1 || chunks == 1) {
    for (int c = 0; c < chunks; ++c) body(c, 0);
  } else {
    ctx->pool->ParallelFor(chunks, [&](int c, int t) { body(c, t); });
  }
  return chunks;
}

// One spatial axis of a sliding window (conv / pool) with TFLite's SAME / VALID rules.
struct Window {
  int in = 0, k = 1, stride = 1, dilation = 1;
  int out = 0, pad_before = 0;
};
Status MakeWindow(const std::string& padding, int in, int k, int stride, int dilation,
                  const std::string& where, Window* w);

// Copies n floats with inline SSE moves: GCC turns a plain copy loop into a memmove call,
// which costs more than the copy for the short rows of im2col and GEMM packing.
inline void CopyFloats(float* __restrict dst, const float* __restrict src, int n) {
  int i = 0;
#if defined(__SSE2__)
  for (; i + 4 <= n; i += 4) _mm_storeu_ps(dst + i, _mm_loadu_ps(src + i));
#endif
  for (; i < n; ++i) dst[i] = src[i];
}

// Helpers for kernels.
int64_t NumElements(const std::vector<int>& shape);
std::string ShapeString(const std::vector<int>& shape);
// Resizes an activation to `shape` (grow-only storage).
void SetShape(Value* v, const std::vector<int>& shape);
// Parallel loop over [0, n) in at most `ctx->threads()` contiguous chunks: f(begin, end, task).
// Chunk boundaries depend only on n and the thread count, so per-task partial sums combined
// in task order are deterministic for a fixed thread count. Returns the number of tasks.
template <typename F>
int ParallelChunks(KernelContext* ctx, int64_t n, F&& f) {
  const int threads = ctx->threads();
  if (threads <= 1 || n < 2) {
    f(int64_t{0}, n, 0);
    return 1;
  }
  const int tasks = static_cast<int>(n < threads ? n : threads);
  ctx->pool->ParallelFor(tasks, [&](int task, int /*thread*/) {
    const int64_t b = n * task / tasks;
    const int64_t e = n * (task + 1) / tasks;
    f(b, e, task);
  });
  return tasks;
}

}  // namespace train
}  // namespace edgeopt

#endif  // EDGEOPT_SRC_TRAIN_OP_KERNEL_H_
