// Blocked, packed single-precision GEMM for the train engine (BLIS-style loops around an MR x NR
// microkernel chosen at run time: AVX-512 12x32, AVX2+FMA 6x16, scalar 4x8).
//
//   C[M,N] (+)= op(A)[M,K] * op(B)[K,N]   row-major, optional per-column bias + ReLU.
//
// op(A) = A stored [M,K] (lda >= K), or with trans_a A stored [K,M] (lda >= M).
// op(B) = B stored [K,N] (ldb >= N), or with trans_b B stored [N,K] (ldb >= K).
//
// Threads split C into disjoint column or row slices, so every element of C is computed by one
// thread in the same K order: results are bit-identical for any thread count. Pack buffers are per
// thread and grow-only (no allocation once warm).
#ifndef EDGEOPT_SRC_TRAIN_GEMM_H_
#define EDGEOPT_SRC_TRAIN_GEMM_H_

#include <vector>

#include "src/runtime/cpu_info.h"
#include "src/runtime/thread_pool.h"
#include "src/train/ukernels/gemm_ukernels.h"

namespace edgeopt {
namespace train {

struct GemmEpilogue {
  const float* bias = nullptr;  // N values, added to every row of C
  bool relu = false;
};

class Gemm {
 public:
  // Picks the widest microkernel `cpu` allows.
  explicit Gemm(const rt::CpuInfo& cpu);

  void Run(bool trans_a, bool trans_b, int m, int n, int k, const float* a, int lda, const float* b,
           int ldb, float* c, int ldc, bool accumulate, const GemmEpilogue& epilogue,
           rt::ThreadPool* pool);
  // Single-threaded convenience (used inside per-sample parallel loops).
  void RunSerial(bool trans_a, bool trans_b, int m, int n, int k, const float* a, int lda,
                 const float* b, int ldb, float* c, int ldc, bool accumulate,
                 const GemmEpilogue& epilogue, int thread);

  // Makes per-thread scratch for threads [0, n) exist (call before RunSerial from n threads).
  void ReserveThreads(int n) { ScratchFor(n - 1); }

  const char* isa_name() const { return isa_name_; }
  int mr() const { return mr_; }
  int nr() const { return nr_; }

 private:
  struct Scratch {
    std::vector<float> a;
    std::vector<float> b;
  };
  Scratch& ScratchFor(int thread);
  void Block(bool trans_a, bool trans_b, int m, int n, int k, const float* a, int lda,
             const float* b, int ldb, float* c, int ldc, bool accumulate, const float* bias,
             bool relu, Scratch* scratch);

  GemmUkernelFn kernel_ = nullptr;
  const char* isa_name_ = "scalar";
  int mr_ = 4;
  int nr_ = 8;
  int mc_ = 64;
  int kc_ = 256;
  int nc_ = 512;
  std::vector<Scratch> scratch_;
};

}  // namespace train
}  // namespace edgeopt

#endif  // EDGEOPT_SRC_TRAIN_GEMM_H_
