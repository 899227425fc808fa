// Sparse kernels against the dense kernels, in the same run, through the interpreter (the
// FULLY_CONNECTED / CONV_2D ops as a model runs them):
//
//   build/sparse_matmul_bench                 # headline + break-even sweep
//   build/sparse_matmul_bench --quick         # headline only
//   build/sparse_matmul_bench --kxk           # headline and the KxK convolutions
//   build/sparse_matmul_bench --matmul        # the FC / 1x1 break-even sweep only
//   build/sparse_matmul_bench --isa avx2      # as on a CPU without AVX-512 (or: avxvnni, scalar)
//   build/sparse_matmul_bench --threads 2     # both kernels on 2 threads
//
// 1. Headline: Dense 1024x1024 (batch 1) at 80% sparsity in 1x4 blocks, float32 and int8:
//    the dense kernel (InterpreterOptions::sparse_kernels = kOff) on the dense file vs the
//    sparse kernel on the sparse-encoded file; also a 1x1 CONV_2D (28x28x256 -> 256).
// 2. Break-even: for each type, path (rows: 1 = one row at a time, 64 = tiled) and block width
//    (1, 4, 16), the time ratio sparse / dense over block densities 0.05 .. 0.9, and the largest
//    density at which the sparse kernel is still faster — the numbers behind kMaxDensity in
//    src/runtime/kernels/sparse_matmul.cc (DecideSparse takes the block width with the most
//    margin under its threshold).
//
// 3. KxK convolutions (the sparse convolution kernel, src/runtime/kernels/sparse_conv.h): for
//    each shape, the time ratio sparse / dense over densities 0.05 .. 0.6 (unstructured), with
//    the kernel's work ratio (density x lanes / output pixels) at each; the largest work ratio
//    at which it is still faster is the number behind kMaxWorkRatio* in sparse_conv.cc.
//    Then int8 KxK convolutions with filters in 1x4 blocks (the quad kernel on AVX-512 VNNI,
//    pairs elsewhere, on im2col rows) over block densities 0.05 .. 0.5.
//
// Timing: dense and sparse runs alternate, each sample is a batch of invocations of at least
// 2 ms, and the medians of 9 samples are compared (the machine is shared; ratios measured side
// by side are what counts). One thread (--threads N: N).
#include <time.h>

#include <algorithm>
#include <chrono>
#include <cmath>
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
#include "src/passes/prune/sparse_encode.h"
#include "src/runtime/interpreter.h"
#include "src/runtime/kernels/sparse_conv.h"
#include "src/runtime/kernels/sparse_matmul.h"

using namespace edgeopt;

namespace {

// The CPU features the kernels see (--isa masks the detected ones).
rt::CpuInfo g_cpu;
int g_threads = 1;  // --threads

// [N][K] with a fraction `density` of its 1xB blocks nonzero.
std::vector<float> Weights(int N, int K, int B, double density, uint32_t seed) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> u(0.0f, 1.0f);
  std::vector<float> w(static_cast<size_t>(N) * K, 0.0f);
  for (int n = 0; n < N; ++n) {
    for (int k = 0; k < K; k += B) {
      if (u(rng) >= density) continue;
      for (int i = k; i < std::min(K, k + B); ++i)
        w[static_cast<size_t>(n) * K + i] = u(rng) - 0.5f;
    }
  }
  return w;
}

// The graph's one node, op(x, w, b) -> y, and its inputs and outputs; `padding` (a CONV_2D,
// stride 1) or null (a FULLY_CONNECTED).
void SetOnlyNode(ir::Graph* g, const char* op, int x, int w, int b, int y, const char* activation,
                 const char* padding) {
  ir::Node n;
  n.op = op;
  n.inputs = {x, w, b};
  n.outputs = {y};
  n.attrs["fused_activation_function"] = std::string(activation);
  if (padding != nullptr) {
    n.attrs["padding"] = std::string(padding);
    n.attrs["stride_h"] = int64_t{1};
    n.attrs["stride_w"] = int64_t{1};
  }
  g->AddNode(n);
  g->inputs = {x};
  g->outputs = {y};
}

// Per-tensor int8 quantization of a model's activations, weights and bias.
void QuantizeS8(ir::Graph* g, int x, int y, int* wt, int* bt, const std::vector<int32_t>& wshape,
                const std::vector<float>& w, int N) {
  std::vector<int8_t> q(w.size());
  for (size_t i = 0; i < w.size(); ++i) q[i] = static_cast<int8_t>(std::lround(w[i] * 254.0f));
  *wt = g->AddConstant("w", DType::kInt8, wshape, q.data(), q.size());
  g->tensors[*wt].quant.scale = {0.004f};
  g->tensors[*wt].quant.zero_point = {0};
  std::vector<int32_t> bias(static_cast<size_t>(N), 100);
  *bt = g->AddConstant("b", DType::kInt32, {N}, bias.data(), bias.size() * 4);
  g->tensors[*bt].quant.scale = {0.004f * 0.02f};
  g->tensors[*bt].quant.zero_point = {0};
  g->tensors[x].quant.scale = {0.02f};
  g->tensors[x].quant.zero_point = {-5};
  g->tensors[y].quant.scale = {0.1f};
  g->tensors[y].quant.zero_point = {3};
}

// One FULLY_CONNECTED ([M, K] x [N, K]) or 1x1 CONV_2D ([1, s, s, K], M = s * s).
ir::Graph Model(bool conv, DType type, int M, int N, int K, const std::vector<float>& w) {
  ir::Graph g;
  const int side = static_cast<int>(std::lround(std::sqrt(M)));
  const int x = g.AddActivation(
      "x", type, conv ? std::vector<int32_t>{1, side, side, K} : std::vector<int32_t>{M, K});
  const int y = g.AddActivation(
      "y", type, conv ? std::vector<int32_t>{1, side, side, N} : std::vector<int32_t>{M, N});
  const std::vector<int32_t> wshape =
      conv ? std::vector<int32_t>{N, 1, 1, K} : std::vector<int32_t>{N, K};
  int wt, bt;
  if (type == DType::kFloat32) {
    wt = g.AddFloatConstant("w", wshape, w);
    bt = g.AddFloatConstant("b", {N}, std::vector<float>(static_cast<size_t>(N), 0.1f));
  } else {
    QuantizeS8(&g, x, y, &wt, &bt, wshape, w, N);
  }
  SetOnlyNode(&g, conv ? "CONV_2D" : "FULLY_CONNECTED", x, wt, bt, y, "NONE",
              conv ? "VALID" : nullptr);
  return g;
}

// One KxK stride-1 CONV_2D: [1, side, side, C] -> [1, out, out, N], filter [N][k][k][C].
ir::Graph ConvModel(int side, int C, int N, int k, bool same, const std::vector<float>& w,
                    DType type = DType::kFloat32) {
  ir::Graph g;
  const int out = same ? side : side - k + 1;
  const int x = g.AddActivation("x", type, {1, side, side, C});
  const int y = g.AddActivation("y", type, {1, out, out, N});
  int wt, bt;
  if (type == DType::kFloat32) {
    wt = g.AddFloatConstant("w", {N, k, k, C}, w);
    bt = g.AddFloatConstant("b", {N}, std::vector<float>(static_cast<size_t>(N), 0.1f));
  } else {
    QuantizeS8(&g, x, y, &wt, &bt, {N, k, k, C}, w, N);
  }
  SetOnlyNode(&g, "CONV_2D", x, wt, bt, y, "RELU", same ? "SAME" : "VALID");
  return g;
}

struct Runner {
  std::vector<uint8_t> bytes;
  std::unique_ptr<rt::Interpreter> interp;
  int reps = 1;

  bool Init(const ir::Graph& g, rt::SparseKernels sparse_kernels) {
    auto b = ExportTflite(g);
    if (!b.ok()) {
      std::fprintf(stderr, "export: %s\n", b.status().ToString().c_str());
      return false;
    }
    bytes = *b;
    rt::InterpreterOptions o;
    o.num_threads = g_threads;
    o.sparse_kernels = sparse_kernels;
    o.cpu = &g_cpu;
    auto i = rt::Interpreter::Create(bytes.data(), bytes.size(), o);
    if (!i.ok()) {
      std::fprintf(stderr, "interpreter: %s\n", i.status().ToString().c_str());
      return false;
    }
    interp = std::move(i).value();
    rt::Tensor* in = interp->input_tensor(0);
    std::mt19937 rng(1);
    for (size_t k = 0; k < in->bytes; ++k) in->data[k] = static_cast<uint8_t>(rng() & 0x3f);
    if (in->type == DType::kFloat32) {
      for (int64_t k = 0; k < in->dims.NumElements(); ++k) {
        in->Data<float>()[k] = static_cast<float>(static_cast<int>(rng() % 200) - 100) / 100.0f;
      }
    }
    reps = bench::CalibrateReps(interp.get());
    return true;
  }
  double Sample() { return bench::SampleSeconds(interp.get(), reps); }
};

// Median seconds per invocation of both, sampled alternately.
void Compare(Runner* dense, Runner* sparse, double* td, double* ts) {
  std::vector<double> a, b;
  for (int i = 0; i < 9; ++i) {
    a.push_back(dense->Sample());
    b.push_back(sparse->Sample());
  }
  *td = bench::Median(a);
  *ts = bench::Median(b);
}

void Headline(bool conv, DType type, int M, int N, int K) {
  const std::vector<float> w = Weights(N, K, 4, 0.2, 42);
  const ir::Graph g = Model(conv, type, M, N, K, w);
  ir::Graph sg = g;
  if (!prune::EncodeSparseWeights(&sg).ok()) return;
  Runner dense, sparse;
  if (!dense.Init(g, rt::SparseKernels::kOff) || !sparse.Init(sg, rt::SparseKernels::kAuto)) {
    return;
  }
  double td = 0, ts = 0;
  Compare(&dense, &sparse, &td, &ts);
  std::printf(
      "%-10s %-7s M=%-5d %4dx%-5d 80%% in 1x4 blocks: dense %9.1f us, sparse %9.1f us, "
      "speedup %.2fx (file %zu -> %zu bytes)\n",
      conv ? "CONV_2D" : "FC", DTypeName(type), M, N, K, td * 1e6, ts * 1e6, td / ts,
      dense.bytes.size(), sparse.bytes.size());
}

void Sweep(DType type, int rows, int B) {
  const int N = 256, K = 512;
  const bool conv = rows > 1;
  const rt::SparseIsa isa = rt::SparseIsaFor(g_cpu);
  const rt::SparsePath path =
      rows >= rt::SparseTileRows(isa) ? rt::SparsePath::kTiled : rt::SparsePath::kRowwise;
  std::printf("%-7s rows=%-3d B=%-2d ", DTypeName(type), rows, B);
  double breakeven = 0.0;
  for (double d : {0.05, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9}) {
    const std::vector<float> w = Weights(N, K, B, d, 7);
    const ir::Graph g = Model(conv, type, rows, N, K, w);
    Runner dense, sparse;
    if (!dense.Init(g, rt::SparseKernels::kOff) || !sparse.Init(g, rt::SparseKernels::kForce)) {
      return;
    }
    const void* wdata = g.tensors[g.nodes[0].inputs[1]].data.data();
    const rt::SparseDecision dec = rt::DecideSparse(type, wdata, rows, N, K, isa);
    rt::SparseOptions force;
    force.mode = rt::SparseMode::kAlways;
    const rt::SparseDecision forced = rt::DecideSparse(type, wdata, rows, N, K, isa, force);
    double td = 0, ts = 0;
    Compare(&dense, &sparse, &td, &ts);
    std::printf(" %.2f:%.2f%s%s", d, ts / td, forced.block != B ? "/B" : "", dec.use ? "" : "(d)");
    if (ts < td) breakeven = d;
  }
  std::printf("  | faster up to %.2f; threshold %.2f\n", breakeven,
              rt::SparseMaxDensity(
                  type, path, type == DType::kInt8 && path == rt::SparsePath::kTiled ? 2 : B, isa));
}

void SweepConv(int side, int C, int N, int k, bool same) {
  std::printf("%2dx%-2d %3d -> %3d %dx%d %-5s", side, side, C, N, k, k, same ? "SAME" : "VALID");
  const rt::SparseIsa isa = rt::SparseIsaFor(g_cpu);
  double breakeven = 0.0;
  bool direct = false;
  for (double d : {0.05, 0.1, 0.15, 0.2, 0.25, 0.3, 0.4, 0.5, 0.6}) {
    const std::vector<float> w = Weights(N, k * k * C, 1, d, 9);
    const ir::Graph g = ConvModel(side, C, N, k, same, w);
    Runner dense, sparse;
    if (!dense.Init(g, rt::SparseKernels::kOff) || !sparse.Init(g, rt::SparseKernels::kForce)) {
      return;
    }
    ref::ConvGeometry geo;
    geo.batch = 1;
    geo.in_h = geo.in_w = side;
    geo.in_c = C;
    geo.out_c = N;
    geo.filter_h = geo.filter_w = k;
    geo.out_h = geo.out_w = same ? side : side - k + 1;
    geo.pad_top = geo.pad_left = same ? (k - 1) / 2 : 0;
    direct = std::strcmp(dense.interp->node_kernel(0), "direct 3x3") == 0;
    rt::SparseConv dec;
    rt::DecideSparseConv(geo, w.data(), isa, rt::SparseMode::kAuto, direct, &dec);
    double td = 0, ts = 0;
    Compare(&dense, &sparse, &td, &ts);
    std::printf(" %.2f(w%.2f):%.2f", d, dec.work_ratio, ts / td);
    if (ts < td) breakeven = std::max(breakeven, dec.work_ratio);
  }
  std::printf("  | faster up to work ratio %.2f; threshold %.2f (dense: %s)\n", breakeven,
              rt::SparseConvMaxWorkRatio(isa, direct, N), direct ? "direct 3x3" : "igemm");
}

// int8 KxK convolutions with filters pruned in 1x4 blocks (the sparse matmul kernels on im2col
// rows, sparse_matmul.h): time sparse / dense over block densities.
void SweepConvS8(int side, int C, int N, int k, bool same) {
  std::printf("%2dx%-2d %3d -> %3d %dx%d %-5s", side, side, C, N, k, k, same ? "SAME" : "VALID");
  double breakeven = 0.0, dense_us = 0.0;
  for (double d : {0.05, 0.1, 0.2, 0.3, 0.4, 0.5}) {
    const std::vector<float> w = Weights(N, k * k * C, 4, d, 9);
    const ir::Graph g = ConvModel(side, C, N, k, same, w, DType::kInt8);
    Runner dense, sparse;
    if (!dense.Init(g, rt::SparseKernels::kOff) || !sparse.Init(g, rt::SparseKernels::kForce)) {
      return;
    }
    double td = 0, ts = 0;
    Compare(&dense, &sparse, &td, &ts);
    std::printf(" %.2f:%.2f", d, ts / td);
    if (ts < td) breakeven = d;
    dense_us = td * 1e6;
  }
  std::printf(
      "  | dense %.1f us; faster up to %.2f; threshold %.2f (%s)\n", dense_us, breakeven,
      rt::SparseIsaFor(g_cpu) == rt::SparseIsa::kAvx512
          ? rt::SparseS8QuadMaxDensity(N, k * k * C)
          : rt::SparseMaxDensity(DType::kInt8, rt::SparsePath::kTiled, 2, rt::SparseIsaFor(g_cpu)),
      rt::SparseIsaFor(g_cpu) == rt::SparseIsa::kAvx512 ? "quads" : "pairs");
}

// 3. The KxK convolutions, float and int8.
void KxkSweeps() {
  std::printf("\nKxK CONV_2D, time sparse / dense at density d (w: the kernel's work ratio):\n");
  SweepConv(32, 16, 16, 3, true);  // the dense kernel: direct 3x3 (few output channels)
  SweepConv(16, 32, 32, 3, true);
  SweepConv(56, 24, 24, 3, true);
  SweepConv(8, 64, 64, 3, true);
  SweepConv(13, 32, 64, 3, false);  // the demo CNN's second convolution
  SweepConv(28, 32, 64, 3, true);
  SweepConv(56, 64, 64, 3, true);
  SweepConv(28, 128, 128, 3, true);
  SweepConv(14, 256, 256, 3, true);
  SweepConv(7, 512, 512, 3, true);
  SweepConv(32, 16, 32, 5, true);
  std::printf("\nint8 KxK CONV_2D in 1x4 blocks, time sparse / dense at block density d:\n");
  SweepConvS8(13, 32, 64, 3, false);  // the demo CNN's second convolution
  SweepConvS8(28, 32, 64, 3, true);
  SweepConvS8(14, 128, 128, 3, true);
  SweepConvS8(7, 256, 256, 3, true);
  SweepConvS8(28, 1, 32, 3, false);  // the demo CNN's first convolution (K = 9)
}

}  // namespace

int main(int argc, char** argv) {
  bool quick = false, kxk_only = false, matmul_only = false;
  g_cpu = rt::GetCpuInfo();
  for (int i = 1; i < argc; ++i) {
    quick |= std::strcmp(argv[i], "--quick") == 0;
    kxk_only |= std::strcmp(argv[i], "--kxk") == 0;
    matmul_only |= std::strcmp(argv[i], "--matmul") == 0;
    if (std::strcmp(argv[i], "--threads") == 0 && i + 1 < argc) g_threads = std::atoi(argv[++i]);
    if (std::strcmp(argv[i], "--isa") == 0 && i + 1 < argc) {
      const std::string isa = argv[++i];
      if (isa != "avx2" && isa != "avxvnni" && isa != "scalar" && isa != "native") {
        std::fprintf(stderr, "sparse_matmul_bench: --isa avx2, avxvnni, scalar or native\n");
        return 2;
      }
      if (isa != "native") {
        g_cpu.avx512f = g_cpu.avx512bw = g_cpu.avx512vl = g_cpu.avx512dq = false;
        g_cpu.avx512vnni = false;
      }
      if (isa != "native" && isa != "avxvnni") g_cpu.avxvnni = false;
      if (isa == "scalar") g_cpu.avx2 = g_cpu.fma = g_cpu.avxvnni = g_cpu.f16c = false;
    }
  }
  const rt::SparseIsa isa = rt::SparseIsaFor(g_cpu);
  std::printf("sparse kernels: %s\n", isa == rt::SparseIsa::kAvx512 ? "avx512"
                                      : isa == rt::SparseIsa::kAvxVnni
                                          ? "avx2 (dense int8: avxvnni)"
                                      : isa == rt::SparseIsa::kAvx2 ? "avx2"
                                      : isa == rt::SparseIsa::kNeon ? "neon"
                                                                    : "scalar");
  if (!matmul_only) {
    Headline(false, DType::kFloat32, 1, 1024, 1024);
    Headline(false, DType::kInt8, 1, 1024, 1024);
    Headline(true, DType::kFloat32, 784, 256, 256);
    Headline(true, DType::kInt8, 784, 256, 256);
  }
  if (quick) return 0;
  if (!matmul_only) KxkSweeps();
  if (kxk_only) return 0;
  std::printf(
      "\ntime sparse / dense at block density d (\"(d)\": DecideSparse keeps the dense "
      "kernel there; \"/B\": the sparse kernel used another block width):\n");
  for (DType type : {DType::kFloat32, DType::kInt8}) {
    for (int rows : {1, 64}) {
      for (int B : {1, 4, 16}) Sweep(type, rows, B);
    }
  }
  return 0;
}
