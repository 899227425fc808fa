// Convolution kernels against the machine's peak, measured in the same binary:
//   - FMA peak: independent AVX-512 (or AVX2) FMA chains, single thread.
//   - f32 and int8 3x3 conv 56x56x64 -> 64 (stride 1, SAME) through the IGEMM operator (packing at
//     prepare, per-tile indirection, microkernels), 1 and 2 threads.
// The summary printed at the end gives the float conv's fraction of the FMA peak and the int8
// conv's throughput relative to the float conv (medians of repeated timings).
//
//   build/conv_bench [--benchmark_filter=...]   (Google Benchmark flags)
#include <benchmark/benchmark.h>
#include <immintrin.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <memory>
#include <random>
#include <vector>

#include "src/quant/quant_math.h"
#include "src/runtime/cpu_info.h"
#include "src/runtime/kernel_api.h"
#include "src/runtime/kernels/conv_igemm.h"
#include "src/runtime/kernels/kernel_util.h"
#include "src/runtime/thread_pool.h"

namespace edgeopt {
namespace {

// A Context with just what the conv operators use: persistent and scratch memory, a pool.
class BenchContext : public rt::Context {
 public:
  explicit BenchContext(int threads) : pool_(threads), cpu_(rt::GetCpuInfo()) {}
  ~BenchContext() override {
    for (void* p : blocks_) std::free(p);
  }
  int num_tensors() const override { return 0; }
  rt::Tensor* tensor(int) override { return nullptr; }
  Status ResizeTensor(rt::Tensor*, const rt::Dims&) override { return Status::Ok(); }
  void* AllocatePersistent(size_t bytes) override { return Alloc(bytes); }
  Status MakePersistentConstant(rt::Tensor*) override { return Status::Ok(); }
  Status RequestScratch(size_t bytes, int* index) override {
    *index = static_cast<int>(scratch_.size());
    scratch_.push_back(Alloc(bytes));
    return Status::Ok();
  }
  void* GetScratch(int index) override {
    return index >= 0 && index < static_cast<int>(scratch_.size()) ? scratch_[index] : nullptr;
  }
  rt::ThreadPool* thread_pool() override { return &pool_; }
  int num_threads() const override { return pool_.num_threads(); }
  const rt::CpuInfo& cpu() const override { return cpu_; }
  bool use_optimized_kernels() const override { return true; }
  bool exact_float() const override { return exact_; }
  void set_exact_float(bool exact) { exact_ = exact; }

 private:
  void* Alloc(size_t bytes) {
    void* p = nullptr;
    if (posix_memalign(&p, 64, std::max<size_t>(bytes, 64)) != 0) std::abort();
    std::memset(p, 0, std::max<size_t>(bytes, 64));
    blocks_.push_back(p);
    return p;
  }
  rt::ThreadPool pool_;
  rt::CpuInfo cpu_;
  bool exact_ = false;
  std::vector<void*> blocks_;
  std::vector<void*> scratch_;
};

// A 3x3 SAME conv, stride 1: the 56x56x64 -> 64, and the small-channel layers of the
// MLPerf Tiny ResNet (32x32x3 -> 16, 32x32x16 -> 16, 16x16x32 -> 32).
struct Shape {
  int h, w, c, out;
  double Macs() const { return double{1} * h * w * out * 9 * c; }
};
constexpr Shape kMain{56, 56, 64, 64};

ref::ConvGeometry Geometry(const Shape& s) {
  ref::ConvGeometry g;
  g.batch = 1;
  g.in_h = g.out_h = s.h;
  g.in_w = g.out_w = s.w;
  g.in_c = s.c;
  g.out_c = s.out;
  g.filter_h = g.filter_w = 3;
  g.pad_top = g.pad_left = 1;
  return g;
}

// A prepared conv with its buffers.
struct ConvCase {
  std::unique_ptr<BenchContext> ctx;
  rt::IGemmConv op;
  std::vector<uint8_t> input, output;
  std::vector<float> held;  // what the prepared op points to (hybrid: scales, bias)
  void Run() { rt::RunIGemmConv(ctx.get(), op, input.data(), output.data()); }
};

// Random int8 weights for `out` channels of `per_channel` values each, biases and per-channel
// output multipliers of about `scale` (0.0001 apart by channel), held for the params.
struct QS8Weights {
  std::vector<int8_t> w;
  std::vector<int32_t> bias, mult, shift;
  QS8Weights(int out, size_t per_channel, double scale, std::mt19937& rng)
      : w(out * per_channel), bias(out), mult(out), shift(out) {
    for (auto& v : w) v = static_cast<int8_t>(static_cast<int>(rng() % 255) - 127);
    for (int i = 0; i < out; ++i) {
      bias[i] = static_cast<int32_t>(rng() % 2001) - 1000;
      int s = 0;
      quant::QuantizeMultiplier(scale + 0.0001 * (i % 7), &mult[i], &s);
      shift[i] = s;
    }
  }
  rt::QS8ConvParams Params(int32_t input_zero_point, int32_t output_zero_point) const {
    rt::QS8ConvParams p;
    p.filter = reinterpret_cast<const uint8_t*>(w.data());
    p.input_zero_point = input_zero_point;
    p.bias = bias.data();
    p.multiplier = mult.data();
    p.shift = shift.data();
    p.output_zero_point = output_zero_point;
    p.act_min = -128;
    p.act_max = 127;
    return p;
  }
};

std::unique_ptr<ConvCase> MakeConv(bool int8, int threads, const Shape& s = kMain) {
  auto c = std::make_unique<ConvCase>();
  c->ctx = std::make_unique<BenchContext>(threads);
  const ref::ConvGeometry g = Geometry(s);
  const int kH = s.h, kW = s.w, kC = s.c, kOut = s.out;
  std::mt19937 rng(1);
  const size_t weights = static_cast<size_t>(kOut) * 9 * kC;
  if (int8) {
    const QS8Weights q(kOut, weights / kOut, 0.0007, rng);
    const rt::QS8ConvParams p = q.Params(3, -2);
    if (!rt::PrepareQS8IGemm(c->ctx.get(), g, p, &c->op).ok()) std::abort();
    c->input.resize(static_cast<size_t>(kH) * kW * kC);
    for (auto& v : c->input) v = static_cast<uint8_t>(rng());
    c->output.resize(static_cast<size_t>(kH) * kW * kOut);
  } else {
    std::vector<float> w(weights), bias(kOut);
    for (auto& v : w) v = static_cast<float>(rng() % 2000) / 1000.0f - 1.0f;
    for (auto& v : bias) v = static_cast<float>(rng() % 2000) / 1000.0f - 1.0f;
    if (!rt::PrepareF32IGemm(c->ctx.get(), g, w.data(), bias.data(), -1e30f, 1e30f, &c->op).ok()) {
      std::abort();
    }
    c->input.resize(static_cast<size_t>(kH) * kW * kC * 4);
    float* in = reinterpret_cast<float*>(c->input.data());
    for (size_t i = 0; i < static_cast<size_t>(kH) * kW * kC; ++i)
      in[i] = static_cast<float>(rng() % 2000) / 1000.0f - 1.0f;
    c->output.resize(static_cast<size_t>(kH) * kW * kOut * 4);
  }
  return c;
}

// FMA throughput: independent FMA chains in registers (written in assembly so that the
// compiler can neither spill nor fold them). AVX-512: 16 chains of 16 lanes; AVX2: 12 of 8.
__attribute__((target("avx512f,fma"))) double FmaLoopAvx512(int64_t iters) {
  const __m512 a = _mm512_set1_ps(0.9999999f), b = _mm512_set1_ps(1e-7f);
#define EDGEOPT_FMA16(r) "vfmadd231ps %[a], %[b], %%zmm" #r "\n\t"
  __asm__ volatile(
      "vpxord %%zmm16, %%zmm16, %%zmm16\n\t"
      "vmovaps %%zmm16, %%zmm17\n\tvmovaps %%zmm16, %%zmm18\n\tvmovaps %%zmm16, %%zmm19\n\t"
      "vmovaps %%zmm16, %%zmm20\n\tvmovaps %%zmm16, %%zmm21\n\tvmovaps %%zmm16, %%zmm22\n\t"
      "vmovaps %%zmm16, %%zmm23\n\tvmovaps %%zmm16, %%zmm24\n\tvmovaps %%zmm16, %%zmm25\n\t"
      "vmovaps %%zmm16, %%zmm26\n\tvmovaps %%zmm16, %%zmm27\n\tvmovaps %%zmm16, %%zmm28\n\t"
      "vmovaps %%zmm16, %%zmm29\n\tvmovaps %%zmm16, %%zmm30\n\tvmovaps %%zmm16, %%zmm31\n\t"
      "1:\n\t" EDGEOPT_FMA16(16) EDGEOPT_FMA16(17) EDGEOPT_FMA16(18) EDGEOPT_FMA16(19)
          EDGEOPT_FMA16(20) EDGEOPT_FMA16(21) EDGEOPT_FMA16(22) EDGEOPT_FMA16(23)
              EDGEOPT_FMA16(24) EDGEOPT_FMA16(25) EDGEOPT_FMA16(26) EDGEOPT_FMA16(27)
                  EDGEOPT_FMA16(28) EDGEOPT_FMA16(29) EDGEOPT_FMA16(30) EDGEOPT_FMA16(31)
      "dec %[n]\n\t"
      "jnz 1b\n\t"
      : [n] "+r"(iters)
      : [a] "v"(a), [b] "v"(b)
      : "xmm16", "xmm17", "xmm18", "xmm19", "xmm20", "xmm21", "xmm22", "xmm23", "xmm24",
        "xmm25", "xmm26", "xmm27", "xmm28", "xmm29", "xmm30", "xmm31", "cc");
#undef EDGEOPT_FMA16
  return static_cast<double>(iters);
}
__attribute__((target("avx2,fma"))) double FmaLoopAvx2(int64_t iters) {
  const __m256 a = _mm256_set1_ps(0.9999999f), b = _mm256_set1_ps(1e-7f);
#define EDGEOPT_FMA8(r) "vfmadd231ps %[a], %[b], %%ymm" #r "\n\t"
  __asm__ volatile(
      "vxorps %%ymm4, %%ymm4, %%ymm4\n\t"
      "vmovaps %%ymm4, %%ymm5\n\tvmovaps %%ymm4, %%ymm6\n\tvmovaps %%ymm4, %%ymm7\n\t"
      "vmovaps %%ymm4, %%ymm8\n\tvmovaps %%ymm4, %%ymm9\n\tvmovaps %%ymm4, %%ymm10\n\t"
      "vmovaps %%ymm4, %%ymm11\n\tvmovaps %%ymm4, %%ymm12\n\tvmovaps %%ymm4, %%ymm13\n\t"
      "vmovaps %%ymm4, %%ymm14\n\tvmovaps %%ymm4, %%ymm15\n\t"
      "1:\n\t" EDGEOPT_FMA8(4) EDGEOPT_FMA8(5) EDGEOPT_FMA8(6) EDGEOPT_FMA8(7) EDGEOPT_FMA8(8)
          EDGEOPT_FMA8(9) EDGEOPT_FMA8(10) EDGEOPT_FMA8(11) EDGEOPT_FMA8(12) EDGEOPT_FMA8(13)
              EDGEOPT_FMA8(14) EDGEOPT_FMA8(15)
      "dec %[n]\n\t"
      "jnz 1b\n\t"
      : [n] "+r"(iters)
      : [a] "x"(a), [b] "x"(b)
      : "xmm4", "xmm5", "xmm6", "xmm7", "xmm8", "xmm9", "xmm10", "xmm11", "xmm12", "xmm13",
        "xmm14", "xmm15", "cc");
#undef EDGEOPT_FMA8
  return static_cast<double>(iters);
}
bool UseAvx512() { return rt::GetCpuInfo().UseAvx512(); }
// Flops of one FmaLoop iteration.
double FlopsPerIter() { return UseAvx512() ? 16 * 16 * 2 : 12 * 8 * 2; }
double FmaLoop(int64_t iters) { return UseAvx512() ? FmaLoopAvx512(iters) : FmaLoopAvx2(iters); }

void BM_FmaPeak(benchmark::State& state) {
  const int64_t iters = 1 << 16;
  double sink = 0;
  for (auto _ : state) sink += FmaLoop(iters);
  benchmark::DoNotOptimize(sink);
  state.counters["GFLOPS"] = benchmark::Counter(FlopsPerIter() * iters * state.iterations() / 1e9,
                                                benchmark::Counter::kIsRate);
}
BENCHMARK(BM_FmaPeak)->UseRealTime();

void BM_Conv3x3(benchmark::State& state, bool int8, Shape s) {
  auto c = MakeConv(int8, static_cast<int>(state.range(0)), s);
  for (auto _ : state) c->Run();
  state.counters[int8 ? "GOPS" : "GFLOPS"] =
      benchmark::Counter(2 * s.Macs() * state.iterations() / 1e9, benchmark::Counter::kIsRate);
}
BENCHMARK_CAPTURE(BM_Conv3x3, f32, false, kMain)->Arg(1)->Arg(2)->UseRealTime();
BENCHMARK_CAPTURE(BM_Conv3x3, qs8, true, kMain)->Arg(1)->Arg(2)->UseRealTime();
BENCHMARK_CAPTURE(BM_Conv3x3, f32_32x32x3_16, false, Shape{32, 32, 3, 16})->Arg(1)->UseRealTime();
BENCHMARK_CAPTURE(BM_Conv3x3, f32_32x32x16_16, false, Shape{32, 32, 16, 16})->Arg(1)->UseRealTime();
BENCHMARK_CAPTURE(BM_Conv3x3, f32_16x16x32_32, false, Shape{16, 16, 32, 32})->Arg(1)->UseRealTime();
BENCHMARK_CAPTURE(BM_Conv3x3, f32_8x8x64_64, false, Shape{8, 8, 64, 64})->Arg(1)->UseRealTime();

// First layers (few input channels): window rows (IGemmConv::window_rows) against the
// path they replace (im2col for 1-2 channels, a tap per pixel for more; for float, the direct
// 3x3 kernel where it applies, which window rows leave as it is).
struct FirstLayer {
  const char* name;
  int h, w, c, out, fh, fw, stride;
  bool same;
};
constexpr FirstLayer kFirstLayers[] = {
    {"fmnist 28x28x1->32 3x3", 28, 28, 1, 32, 3, 3, 1, false},
    {"fmnist 28x28x1->8 3x3", 28, 28, 1, 8, 3, 3, 1, false},
    {"mnist 28x28x1->32 5x5 same", 28, 28, 1, 32, 5, 5, 1, true},
    {"kws 49x10x1->64 10x4 s2", 49, 10, 1, 64, 10, 4, 2, true},
    {"fmnist 28x28x2->16 3x3", 28, 28, 2, 16, 3, 3, 1, false},
    {"cifar 32x32x3->16 3x3 same", 32, 32, 3, 16, 3, 3, 1, true},
    {"cifar 32x32x3->32 3x3 same", 32, 32, 3, 32, 3, 3, 1, true},
    {"vww 96x96x3->8 3x3 s2", 96, 96, 3, 8, 3, 3, 2, true},
    {"mobilenet 224x224x3->32 3x3 s2", 224, 224, 3, 32, 3, 3, 2, true},
    {"32x32x4->32 3x3 same", 32, 32, 4, 32, 3, 3, 1, true},
    {"32x32x5->32 3x3 same", 32, 32, 5, 32, 3, 3, 1, true},
};

enum class FirstKind { kInt8, kFloat, kExactFloat, kHybrid };

// A float first layer's random input in [0, 1) and its output buffer.
void FloatInputOutput(const FirstLayer& f, const ref::ConvGeometry& g, std::mt19937& rng,
                      ConvCase* c) {
  c->input.resize(static_cast<size_t>(f.h) * f.w * f.c * sizeof(float));
  float* in = reinterpret_cast<float*>(c->input.data());
  for (size_t i = 0; i < static_cast<size_t>(f.h) * f.w * f.c; ++i) {
    in[i] = static_cast<float>(rng() % 1000) / 1000.0f;
  }
  c->output.resize(static_cast<size_t>(g.out_h) * g.out_w * f.out * sizeof(float));
}

std::unique_ptr<ConvCase> MakeFirstLayer(const FirstLayer& f, bool window_rows,
                                         FirstKind kind = FirstKind::kInt8) {
  auto c = std::make_unique<ConvCase>();
  c->ctx = std::make_unique<BenchContext>(1);
  c->ctx->set_exact_float(kind == FirstKind::kExactFloat);
  ref::ConvGeometry g;
  g.batch = 1;
  g.in_h = f.h;
  g.in_w = f.w;
  g.in_c = f.c;
  g.out_c = f.out;
  g.filter_h = f.fh;
  g.filter_w = f.fw;
  g.stride_h = g.stride_w = f.stride;
  const rt::Padding2D pad =
      rt::ComputePadding(f.same ? tflite::Padding::SAME : tflite::Padding::VALID, f.stride,
                         f.stride, 1, 1, f.h, f.w, f.fh, f.fw, &g.out_h, &g.out_w);
  g.pad_top = pad.height;
  g.pad_left = pad.width;
  std::mt19937 rng(2);
  if (kind == FirstKind::kHybrid) {
    std::vector<int8_t> w(static_cast<size_t>(f.out) * f.fh * f.fw * f.c);
    for (auto& v : w) v = static_cast<int8_t>(static_cast<int>(rng() % 255) - 127);
    c->held.resize(2 * static_cast<size_t>(f.out));  // scales, then biases
    for (int i = 0; i < f.out; ++i) {
      c->held[i] = 0.001f * static_cast<float>(1 + i % 7);
      c->held[f.out + i] = static_cast<float>(rng() % 2000) / 1000.0f - 1.0f;
    }
    rt::QD8ConvParams p;
    p.filter = w.data();
    p.filter_scales = c->held.data();
    p.per_channel = true;
    p.asymmetric = true;
    p.bias = c->held.data() + f.out;
    p.act_min = 0.0f;
    p.act_max = 6.0f;
    p.window_rows = window_rows;
    if (!rt::PrepareQD8IGemm(c->ctx.get(), g, p, &c->op).ok()) std::abort();
    FloatInputOutput(f, g, rng, c.get());
    return c;
  }
  if (kind != FirstKind::kInt8) {
    std::vector<float> w(static_cast<size_t>(f.out) * f.fh * f.fw * f.c), bias(f.out);
    for (auto& v : w) v = static_cast<float>(rng() % 2000) / 1000.0f - 1.0f;
    for (auto& v : bias) v = static_cast<float>(rng() % 2000) / 1000.0f - 1.0f;
    if (!rt::PrepareF32IGemm(c->ctx.get(), g, w.data(), bias.data(), 0.0f, 6.0f, &c->op,
                             window_rows)
             .ok()) {
      std::abort();
    }
    FloatInputOutput(f, g, rng, c.get());
    return c;
  }
  const QS8Weights q(f.out, static_cast<size_t>(f.fh) * f.fw * f.c, 0.002, rng);
  rt::QS8ConvParams p = q.Params(-128, -128);
  p.window_rows = window_rows;
  if (!rt::PrepareQS8IGemm(c->ctx.get(), g, p, &c->op).ok()) std::abort();
  c->input.resize(static_cast<size_t>(f.h) * f.w * f.c);
  for (auto& v : c->input) v = static_cast<uint8_t>(rng());
  c->output.resize(static_cast<size_t>(g.out_h) * g.out_w * f.out);
  return c;
}

double ThreadSeconds() {
  timespec ts;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return ts.tv_sec + 1e-9 * ts.tv_nsec;
}

// Median CPU seconds of this thread over `reps` calls of f (single-threaded work only: CPU time
// leaves out the time other processes hold the core, which wall time would count).
template <typename F>
double MedianSeconds(int reps, F&& f) {
  std::vector<double> t;
  for (int i = 0; i < reps; ++i) {
    const double start = ThreadSeconds();
    f();
    t.push_back(ThreadSeconds() - start);
  }
  std::sort(t.begin(), t.end());
  return t[t.size() / 2];
}

void PrintSummary() {
  const int64_t iters = 1 << 18;
  FmaLoop(iters);  // warm up (clock ramp)
  // The peak and the convs alternate, so that all see the same machine load.
  std::vector<double> peak, f32, qs8;
  auto f = MakeConv(false, 1), q = MakeConv(true, 1);
  double sink = 0;
  for (int round = 0; round < 5; ++round) {
    peak.push_back(FlopsPerIter() * iters / MedianSeconds(21, [&] { sink += FmaLoop(iters); }));
    f32.push_back(2 * kMain.Macs() / MedianSeconds(21, [&] { f->Run(); }));
    qs8.push_back(2 * kMain.Macs() / MedianSeconds(21, [&] { q->Run(); }));
  }
  benchmark::DoNotOptimize(sink);
  auto median = [](std::vector<double> v) {
    std::sort(v.begin(), v.end());
    return v[v.size() / 2];
  };
  const double p = median(peak), fl = median(f32), qo = median(qs8);
  std::printf("\n=== summary (1 thread, thread CPU time, medians of 5 rounds x 21 runs) ===\n");
  std::printf("FMA peak                       %8.1f GFLOP/s (%s)\n", p / 1e9,
              UseAvx512() ? "AVX-512" : "AVX2");
  std::printf("f32 conv 3x3 56x56x64->64      %8.1f GFLOP/s = %.1f %% of FMA peak\n", fl / 1e9,
              100.0 * fl / p);
  std::printf("int8 conv 3x3 56x56x64->64     %8.1f GOP/s   = %.2f x the float conv\n", qo / 1e9,
              qo / fl);

  const struct {
    FirstKind kind;
    const char* title;
  } kinds[] = {{FirstKind::kInt8, "int8"},
               {FirstKind::kFloat, "float"},
               {FirstKind::kExactFloat, "exact float (hybrid models)"},
               {FirstKind::kHybrid, "hybrid (float input, int8 weights)"}};
  for (const auto& k : kinds) {
    std::printf("\n=== %s first layers: window rows against the path they replace ===\n", k.title);
    std::printf("(1 thread, thread CPU time, medians of 5 alternating rounds x 51 runs)\n");
    std::printf("%-34s %-18s %10s %-18s %10s %7s\n", "layer", "before", "us", "now", "us", "ratio");
    for (const FirstLayer& f : kFirstLayers) {
      auto before = MakeFirstLayer(f, false, k.kind), rows = MakeFirstLayer(f, true, k.kind);
      std::vector<double> tb, tr;
      for (int round = 0; round < 5; ++round) {
        tb.push_back(MedianSeconds(51, [&] { before->Run(); }));
        tr.push_back(MedianSeconds(51, [&] { rows->Run(); }));
      }
      const double b = median(tb) * 1e6, r = median(tr) * 1e6;
      std::printf("%-34s %-18s %10.2f %-18s %10.2f %6.2fx\n", f.name,
                  rt::IGemmKernelName(before->op), b, rt::IGemmKernelName(rows->op), r, r / b);
    }
  }
}

}  // namespace
}  // namespace edgeopt

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  edgeopt::PrintSummary();
  return 0;
}
