// The contract between the interpreter and the kernels (TFLM's init/prepare/invoke lifecycle).
//
//  - Init (optional) runs once per node at load; returns op data from ctx->AllocatePersistent.
//  - Prepare validates types, shapes and quantization, sets output dims (ResizeOutput),
//    precomputes multipliers, packs weights, and requests scratch memory. Every check that
//    depends on the model happens here and returns a Status naming the problem.
//  - Eval only computes: no allocation, no validation that Prepare already did.
//
// Op data and packed weights come from AllocatePersistent (freed with the interpreter).
#ifndef EDGEOPT_SRC_RUNTIME_KERNEL_API_H_
#define EDGEOPT_SRC_RUNTIME_KERNEL_API_H_

#include <cstddef>
#include <cstdint>

#include "include/edgeopt/status.h"
#include "schema/tflite_generated.h"
#include "src/runtime/tensor.h"

namespace edgeopt {
namespace rt {

class Context;
class ThreadPool;
struct CpuInfo;
namespace uk {
struct QS8VAddParams;  // kernels/ukernels/ukernels.h
}

struct Node {
  int index = 0;  // position in execution order
  tflite::BuiltinOperator op = tflite::BuiltinOperator::ADD;
  int version = 1;
  const char* custom_name = nullptr;         // for CUSTOM ops
  const tflite::Operator* op_def = nullptr;  // builtin options: op_def->builtin_options_as_X()
  const int32_t* inputs = nullptr;           // tensor indices; -1 marks an absent optional input
  int num_inputs = 0;
  const int32_t* outputs = nullptr;
  int num_outputs = 0;
  const int32_t* intermediates = nullptr;
  int num_intermediates = 0;
  void* user_data = nullptr;  // from Init
};

// Sparse kernels (kernels/sparse_matmul.h) for constant weights with many zeros.
enum class SparseKernels : uint8_t {
  kAuto,   // where they beat the dense kernel (measured break-even densities)
  kOff,    // dense kernels only
  kForce,  // whenever the op has one (benchmarks and tests)
};

// An ADD folded into the node that produces one of its inputs (Registration::fuse_add).
struct FusedAdd {
  int residual = -1;                     // tensor index of the ADD's other input
  float act_min = 0.0f, act_max = 0.0f;  // float: the ADD's activation clamp
  // int8/uint8: the ADD's own prepared microkernel (uk::QS8VAddFn) and parameters (its
  // rescales, zero points and clamp), which the producer runs on each finished tile of its
  // output; the residual is the ADD's first operand when residual_first (the quantized sum is
  // not symmetric in its operands).
  void (*quant_fn)(size_t n, const void* a, const void* b, bool b_scalar, void* out,
                   const uk::QS8VAddParams* p) = nullptr;
  const uk::QS8VAddParams* quant_params = nullptr;
  bool residual_first = false;
};

struct Registration {
  const char* name;
  void* (*init)(Context* ctx, const Node* node);  // may be null
  Status (*prepare)(Context* ctx, Node* node);
  Status (*eval)(Context* ctx, Node* node);
  // Optional, called after Prepare: accept `add` into the node's output stage (true) or decline
  // (false). Once accepted, Eval writes min(max(y + residual, act_min), act_max) for each output
  // value y it computes, into the output tensor, which the interpreter has made the ADD's
  // output; the node's last input is then the residual tensor.
  // For int8/uint8 the values are what the ADD's microkernel (FusedAdd::quant_fn) gives.
  bool (*fuse_add)(Context* ctx, Node* node, const FusedAdd& add) = nullptr;
  // Optional, on the ADD: sets add->quant_fn and quant_params to its prepared int8/uint8
  // microkernel when a producer may run it in place of the ADD (same-shape operands); false
  // when none may.
  bool (*quant_add)(const Node* node, FusedAdd* add) = nullptr;
  // Optional, after Prepare: a short name of the kernel it chose ("igemm", "sparse kxk", ...),
  // for profiles; null when there is nothing to tell.
  const char* (*kernel_info)(const Node* node) = nullptr;
  // Optional, called after Prepare: accept the float RELU, RELU_N1_TO_1 or RELU6 that runs
  // right after the node on its output (true) or decline (false). Once accepted, Eval writes
  // min(max(y, lo), hi) for each output value y, the activation's operations, into the output
  // tensor, which the interpreter has made the activation's output.
  bool (*fuse_activation)(Context* ctx, Node* node, float lo, float hi) = nullptr;
};

// What a kernel sees of the interpreter.
class Context {
 public:
  virtual ~Context() = default;

  virtual int num_tensors() const = 0;
  virtual Tensor* tensor(int index) = 0;
  // The node's i-th input, or nullptr when it is absent (-1) or out of range.
  Tensor* input(const Node* node, int i) {
    if (i < 0 || i >= node->num_inputs || node->inputs[i] < 0) return nullptr;
    return tensor(node->inputs[i]);
  }
  Tensor* output(const Node* node, int i) {
    if (i < 0 || i >= node->num_outputs || node->outputs[i] < 0) return nullptr;
    return tensor(node->outputs[i]);
  }
  Tensor* intermediate(const Node* node, int i) {
    if (i < 0 || i >= node->num_intermediates || node->intermediates[i] < 0) return nullptr;
    return tensor(node->intermediates[i]);
  }

  // Prepare only: sets the dims of a non-constant tensor (an output of this node). Fails if the
  // tensor is constant, or if its byte size would overflow.
  virtual Status ResizeTensor(Tensor* tensor, const Dims& dims) = 0;
  // Init/Prepare only: 64-byte aligned memory that lives as long as the interpreter; nullptr
  // when out of memory.
  virtual void* AllocatePersistent(size_t bytes) = 0;
  // Prepare only: makes `tensor` (an output of this node) a constant computed now: allocates
  // persistent memory for its current dims; the kernel fills tensor->data before returning.
  virtual Status MakePersistentConstant(Tensor* tensor) = 0;
  // Prepare only: asks for `bytes` of scratch memory valid during this node's Eval.
  virtual Status RequestScratch(size_t bytes, int* scratch_index) = 0;
  // Eval only.
  virtual void* GetScratch(int scratch_index) = 0;

  virtual ThreadPool* thread_pool() = 0;
  virtual int num_threads() const = 0;
  virtual const CpuInfo& cpu() const = 0;
  // False forces reference kernels everywhere (for testing and --reference).
  virtual bool use_optimized_kernels() const = 0;
  // True when float kernels must repeat the reference kernels' float operations exactly
  // (summation order, no FMA): the model has hybrid ops (float input, int8 weights), whose
  // run-time quantization of their input turns any float rounding difference upstream into
  // whole int8 steps.
  virtual bool exact_float() const { return false; }
  // Whether ops may run sparse kernels (with reference kernels only, they do not).
  virtual SparseKernels sparse_kernels() const {
    return use_optimized_kernels() ? SparseKernels::kAuto : SparseKernels::kOff;
  }
};

// Options helpers: builtin options may be missing from a file; kernels then use the defaults.
inline int ActivationOf(tflite::ActivationFunctionType a) { return static_cast<int>(a); }

}  // namespace rt
}  // namespace edgeopt

#endif  // EDGEOPT_SRC_RUNTIME_KERNEL_API_H_
