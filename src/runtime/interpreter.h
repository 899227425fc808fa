// The interpreter: load (verify the flatbuffer, check every index and size), prepare (shapes,
// quantization multipliers, weight packing, scratch requests), plan one arena from tensor
// lifetimes, invoke. Reads the .tflite directly (zero-copy constant data), never the IR.
#ifndef EDGEOPT_SRC_RUNTIME_INTERPRETER_H_
#define EDGEOPT_SRC_RUNTIME_INTERPRETER_H_

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "include/edgeopt/status.h"
#include "src/runtime/cpu_info.h"
#include "src/runtime/kernel_api.h"
#include "src/runtime/tensor.h"
#include "src/runtime/thread_pool.h"

namespace edgeopt {
namespace rt {

struct InterpreterOptions {
  int num_threads = 1;  // <= 0: auto: all cores, or 1 for a model too small to gain from more
  // Worker thread i runs only on CPU i (ThreadPool's pin_workers); the caller should then run
  // on CPU 0 (rt::PinCallerToCpu). Off by default: it changes scheduling for the whole process.
  bool pin_threads = false;
  bool use_optimized_kernels = true;  // false: reference kernels only
  // Float microkernels repeat the reference's float operations (see Context::exact_float);
  // also on automatically for models with hybrid ops.
  bool exact_float = false;
  SparseKernels sparse_kernels = SparseKernels::kAuto;  // kOff: dense kernels for pruned weights
  // The model buffer is a read-only file mapping (MappedFile): after each node's Prepare, the
  // pages wholly inside its constant inputs are released (madvise MADV_DONTNEED; a kernel that
  // reads them again faults them back in from the file), so weights that kernels packed into
  // their own layout are not resident twice. Never set it for a buffer in ordinary memory.
  bool release_constant_pages = false;
  bool profile = false;         // record per-node times during Invoke
  bool linear_planner = false;  // debugging: no arena reuse (and no fusion: every tensor kept)
  // A float ADD that reads the only output of the node run just before it (a CONV_2D whose
  // kernel accepts it, Registration::fuse_add) runs in that node's output stage: the sum is
  // made while the tile is in cache, and the node's own output tensor is never written.
  bool fuse_ops = true;
  const CpuInfo* cpu = nullptr;  // override the detected CPU features (tests)
  // Tests: each node's scratch buffers are filled with 0xFF bytes (float NaN, int -1) before
  // its Eval, as if another node had just used that memory; a kernel that relies on scratch
  // contents left from an earlier Invoke then fails.
  bool poison_scratch = false;
  // Refuse models whose arena or persistent memory would exceed this (a damaged model can
  // declare huge tensors); 4 GiB is far above any edge model. 2 GiB on 32-bit targets, where
  // size_t{4} << 30 would be 0.
  size_t max_memory_bytes =
      static_cast<size_t>(std::min<uint64_t>(uint64_t{4} << 30, SIZE_MAX / 2 + 1));
};

struct NodeProfile {
  double total_us = 0.0;
  double min_us = 0.0;  // fastest invocation (robust on a busy machine)
  int count = 0;
};

// Per-tensor placement, for `inspect --memory`.
struct TensorPlacement {
  int tensor = -1;  // tensor index, or -1 for a scratch buffer
  int node = -1;    // for scratch: the node
  size_t offset = 0;
  size_t bytes = 0;
  int first_use = 0;
  int last_use = 0;
};

// Verifies a .tflite buffer with the flatbuffers Verifier (structure, identifier "TFL3").
Status VerifyModelBuffer(const uint8_t* data, size_t size);

// An operator code's builtin op: files before schema 3a only have deprecated_builtin_code; newer
// files set both, and the larger of the two is the real one (as TFLite's GetBuiltinCode).
tflite::BuiltinOperator BuiltinCodeOf(const tflite::OperatorCode* code);

class Interpreter final : public Context {
 public:
  // `model_data` must stay alive and unchanged while the interpreter exists (zero-copy).
  static StatusOr<std::unique_ptr<Interpreter>> Create(const uint8_t* model_data, size_t size,
                                                       const InterpreterOptions& options);
  ~Interpreter() override;

  Status Invoke();

  int num_inputs() const { return static_cast<int>(inputs_.size()); }
  int num_outputs() const { return static_cast<int>(outputs_.size()); }
  Tensor* input_tensor(int i) { return &tensors_[inputs_[i]]; }
  Tensor* output_tensor(int i) { return &tensors_[outputs_[i]]; }
  int input_index(int i) const { return inputs_[i]; }
  int output_index(int i) const { return outputs_[i]; }
  int num_nodes() const { return static_cast<int>(nodes_.size()); }
  const Node& node(int i) const { return nodes_[i]; }
  const char* node_name(int i) const;  // op name ("CONV_2D", custom name)
  // The kernel node i's Prepare chose (Registration::kernel_info), or "" when its op does not
  // say.
  const char* node_kernel(int i) const;
  // Variable tensors back to their initial value: zero, or the zero point for int8 (as
  // TFLite's ResetVariableTensors).
  void ResetVariables();

  size_t arena_bytes() const { return arena_bytes_; }
  size_t persistent_bytes() const { return persistent_bytes_; }
  const std::vector<TensorPlacement>& memory_plan() const { return placements_; }
  const std::vector<NodeProfile>& profile() const { return profile_; }
  void ClearProfile();

  // Context.
  int num_tensors() const override { return static_cast<int>(tensors_.size()); }
  Tensor* tensor(int index) override { return &tensors_[index]; }
  Status ResizeTensor(Tensor* tensor, const Dims& dims) override;
  void* AllocatePersistent(size_t bytes) override;
  Status MakePersistentConstant(Tensor* tensor) override;
  Status RequestScratch(size_t bytes, int* scratch_index) override;
  void* GetScratch(int scratch_index) override;
  ThreadPool* thread_pool() override { return pool_.get(); }
  int num_threads() const override { return pool_ ? pool_->num_threads() : 1; }
  const CpuInfo& cpu() const override { return cpu_; }
  bool use_optimized_kernels() const override { return options_.use_optimized_kernels; }
  bool exact_float() const override { return options_.exact_float || has_hybrid_ops_; }
  SparseKernels sparse_kernels() const override {
    return options_.use_optimized_kernels ? options_.sparse_kernels : SparseKernels::kOff;
  }

 private:
  Interpreter(const uint8_t* data, size_t size, const InterpreterOptions& options);
  Status Load();
  // Threads for num_threads <= 0: all cores, or one for a model too small to gain from more
  // (kAutoThreadsMinWork). Needs the loaded model.
  int AutoThreads();
  Status LoadCompressionMetadata(int num_tensors);
  Status LoadTensor(int index);
  Status LoadNodes();
  Status PrepareAll();
  Status TryFold(int node_index, bool* folded);
  void FuseAdds();
  void FuseActivations();
  // Per tensor, the nodes still run that read it, plus one for a graph output.
  std::vector<int> CountReaders() const;
  void ReleaseConstantPages(const Node& node);
  Status PlanMemory();

  enum class Phase { kLoad, kPrepare, kReady };

  const uint8_t* data_;
  size_t size_;
  InterpreterOptions options_;
  CpuInfo cpu_;
  const tflite::Model* model_ = nullptr;
  const tflite::SubGraph* subgraph_ = nullptr;
  // TFLM LUT compression of subgraph 0's tensors, by tensor index (empty: none compressed).
  struct LutRef {
    uint32_t value_buffer = 0;
    int bits = 0;  // 0: not compressed
  };
  std::vector<LutRef> lut_;

  std::vector<Tensor> tensors_;
  std::vector<Node> nodes_;
  std::vector<const Registration*> registrations_;
  std::vector<std::string> node_names_;
  std::vector<int> inputs_;
  std::vector<int> outputs_;
  std::vector<uint8_t> folded_;  // per node: evaluated at prepare time, or fused (kFused)
  static constexpr uint8_t kFused = 2;

  struct Scratch {
    int node;
    size_t bytes;
    uint8_t* data;
  };
  std::vector<Scratch> scratch_;
  std::vector<void*> persistent_blocks_;
  size_t persistent_bytes_ = 0;
  uint8_t* arena_ = nullptr;
  size_t arena_bytes_ = 0;
  std::vector<TensorPlacement> placements_;
  std::vector<NodeProfile> profile_;
  std::unique_ptr<ThreadPool> pool_;
  Phase phase_ = Phase::kLoad;
  bool has_hybrid_ops_ = false;  // a node reads a float input and int8 constant weights
  int current_node_ = -1;
};

}  // namespace rt
}  // namespace edgeopt

#endif  // EDGEOPT_SRC_RUNTIME_INTERPRETER_H_
