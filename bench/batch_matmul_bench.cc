// BATCH_MATMUL through the interpreter, as a model runs it: the microkernel path (the rhs packed
// per batch into scratch, the f32 / qs8 IGEMM kernels) against the reference kernels
// (InterpreterOptions::use_optimized_kernels off), side by side in the same run, float32 and
// int8, on
//   - the two products of a small Keras MultiHeadAttention (28 tokens, 4 heads, key_dim 8):
//     q x k^T = [1,4,28,8] x [1,4,28,8]^T (adj_y), probabilities x v = [1,4,28,28] x [1,4,28,8]
//   - the same for 128 tokens, 8 heads, key_dim 64
//   - one square product, 256 x 256 x 256 (a single batch: split into row chunks on threads)
//
//   build/batch_matmul_bench [--threads N] [--pin] [--save DIR]
//
// --pin pins the threads (this one to CPU 0, worker i to CPU i), as `edgeopt bench --pin`: on a
// loaded machine the scheduler otherwise stacks them on one CPU.
//
// --save DIR also writes each single-op model to DIR/<name>_<type>.tflite, to time the peer on
// the same op: tflite-ref bench DIR/<name>_<type>.tflite --threads 1 --runs 200
//
// Timing: optimized and reference runs alternate, each sample is a batch of invocations of at
// least 2 ms, and the medians of 9 samples are compared (the machine is shared).
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "bench/bench_timing.h"
#include "src/export/tflite/export.h"
#include "src/ir/graph.h"
#include "src/runtime/interpreter.h"

using namespace edgeopt;

namespace {

int g_threads = 1;
bool g_pin = false;

struct Case {
  const char* name;
  std::vector<int32_t> batch;  // batch dimensions of both operands and the output
  int M, K, N;
  bool adj_y;
  double Macs() const {
    double b = 1;
    for (int32_t d : batch) b *= d;
    return b * M * K * N;
  }
};

// One BATCH_MATMUL with both operands graph inputs (activations, as in attention).
ir::Graph Model(const Case& c, DType type) {
  ir::Graph g;
  std::vector<int32_t> lhs = c.batch, rhs = c.batch, out = c.batch;
  lhs.insert(lhs.end(), {c.M, c.K});
  rhs.insert(rhs.end(), {c.adj_y ? c.N : c.K, c.adj_y ? c.K : c.N});
  out.insert(out.end(), {c.M, c.N});
  const int a = g.AddActivation("lhs", type, lhs);
  const int b = g.AddActivation("rhs", type, rhs);
  const int y = g.AddActivation("out", type, out);
  if (type == DType::kInt8) {
    g.tensors[a].quant.scale = {0.05f};
    g.tensors[a].quant.zero_point = {3};
    g.tensors[b].quant.scale = {0.02f};
    g.tensors[b].quant.zero_point = {-5};
    g.tensors[y].quant.scale = {0.5f};
    g.tensors[y].quant.zero_point = {-7};
  }
  ir::Node n;
  n.op = "BATCH_MATMUL";
  n.inputs = {a, b};
  n.outputs = {y};
  n.attrs["adj_x"] = false;
  n.attrs["adj_y"] = c.adj_y;
  g.AddNode(n);
  g.inputs = {a, b};
  g.outputs = {y};
  return g;
}

struct Runner {
  std::unique_ptr<rt::Interpreter> interp;
  int reps = 1;

  bool Init(const std::vector<uint8_t>& bytes, bool optimized) {
    rt::InterpreterOptions o;
    o.num_threads = g_threads;
    o.pin_threads = g_pin;
    o.use_optimized_kernels = optimized;
    auto i = rt::Interpreter::Create(bytes.data(), bytes.size(), o);
    if (!i.ok()) {
      std::fprintf(stderr, "interpreter: %s\n", i.status().ToString().c_str());
      return false;
    }
    interp = std::move(i).value();
    std::mt19937 rng(1);
    for (int k = 0; k < interp->num_inputs(); ++k) {
      rt::Tensor* in = interp->input_tensor(k);
      if (in->type == DType::kFloat32) {
        for (int64_t e = 0; e < in->dims.NumElements(); ++e) {
          in->Data<float>()[e] = static_cast<float>(static_cast<int>(rng() % 200) - 100) / 100.0f;
        }
      } else {
        for (size_t e = 0; e < in->bytes; ++e) in->data[e] = static_cast<uint8_t>(rng());
      }
    }
    reps = bench::CalibrateReps(interp.get());
    return true;
  }
  double Sample() { return bench::SampleSeconds(interp.get(), reps); }
};

void Run(const Case& c, DType type, const char* save_dir) {
  const ir::Graph g = Model(c, type);
  auto bytes = ExportTflite(g);
  if (!bytes.ok()) {
    std::fprintf(stderr, "export: %s\n", bytes.status().ToString().c_str());
    return;
  }
  if (save_dir != nullptr) {
    const std::string path =
        std::string(save_dir) + "/" + c.name + "_" + DTypeName(type) + ".tflite";
    const Status s = WriteTfliteFile(g, path);
    if (!s.ok()) std::fprintf(stderr, "%s: %s\n", path.c_str(), s.ToString().c_str());
  }
  Runner fast, ref;
  if (!fast.Init(*bytes, true) || !ref.Init(*bytes, false)) return;
  std::vector<double> a, b;
  for (int i = 0; i < 9; ++i) {
    a.push_back(fast.Sample());
    b.push_back(ref.Sample());
  }
  const double tf = bench::Median(a), tr = bench::Median(b);
  std::printf(
      "%-14s %-7s M=%-4d K=%-4d N=%-4d%s: optimized %9.2f us (%5.1f GMAC/s, %s), "
      "reference %9.2f us (%5.1f GMAC/s), speedup %5.1fx\n",
      c.name, DTypeName(type), c.M, c.K, c.N, c.adj_y ? " adj_y" : "      ", tf * 1e6,
      c.Macs() / tf * 1e-9, fast.interp->node_kernel(0), tr * 1e6, c.Macs() / tr * 1e-9, tr / tf);
}

}  // namespace

int main(int argc, char** argv) {
  const char* save_dir = nullptr;
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--threads") == 0 && i + 1 < argc) g_threads = std::atoi(argv[++i]);
    if (std::strcmp(argv[i], "--save") == 0 && i + 1 < argc) save_dir = argv[++i];
    g_pin |= std::strcmp(argv[i], "--pin") == 0;
  }
  if (g_pin) rt::PinCallerToCpu(0);
  const Case cases[] = {
      {"mha28_qk", {1, 4}, 28, 8, 28, true},     {"mha28_pv", {1, 4}, 28, 28, 8, false},
      {"mha128_qk", {1, 8}, 128, 64, 128, true}, {"mha128_pv", {1, 8}, 128, 128, 64, false},
      {"square256", {1}, 256, 256, 256, false},
  };
  std::printf("BATCH_MATMUL, %d thread(s)%s\n", g_threads, g_pin ? ", pinned" : "");
  for (DType type : {DType::kFloat32, DType::kInt8}) {
    for (const Case& c : cases) Run(c, type, save_dir);
  }
  return 0;
}
