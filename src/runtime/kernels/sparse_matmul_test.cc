// Sparse FULLY_CONNECTED / 1x1 CONV_2D kernels: every microkernel against the reference on
// random sparse weights (int8 bit-exact, float within rounding), sizes around the tile height
// and block widths; the prepare-time decision; whole models through the interpreter (sparse
// kernel vs dense kernel on the same weights, dense and sparse-encoded files, DENSIFY); and
// malformed sparse encodings refused.
#include "src/runtime/kernels/sparse_matmul.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <functional>
#include <random>
#include <string>
#include <type_traits>
#include <vector>

#include "src/export/tflite/export.h"
#include "src/ir/graph.h"
#include "src/passes/prune/sparse_encode.h"
#include "src/runtime/cpu_info.h"
#include "src/runtime/kernels/reference/sparse_gemm.h"
#include "src/runtime/kernels/ukernels/sparse_ukernels.h"
#include "tests/model_builder.h"

namespace edgeopt {
namespace rt {
namespace {

constexpr float kFloatTolerance = 1e-5f;  // relative to the sum of |products|

// A random [N][K] matrix whose nonzeros come in aligned 1 x `structure` blocks, a fraction
// `density` of the blocks stored.
template <typename T>
std::vector<T> RandomWeights(int N, int K, int structure, double density, uint32_t seed) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> u(0.0f, 1.0f);
  std::vector<T> w(static_cast<size_t>(N) * K, T(0));
  for (int n = 0; n < N; ++n) {
    for (int k0 = 0; k0 < K; k0 += structure) {
      if (u(rng) >= density) continue;
      for (int k = k0; k < std::min(K, k0 + structure); ++k) {
        float v = u(rng) * 2.0f - 1.0f;
        if constexpr (std::is_same_v<T, int8_t>) {
          w[static_cast<size_t>(n) * K + k] = static_cast<int8_t>(std::lround(v * 127.0f));
        } else {
          w[static_cast<size_t>(n) * K + k] = v;
        }
      }
    }
  }
  return w;
}

template <typename T>
struct OwnedCsr {
  std::vector<int32_t> row_ptr, col;
  std::vector<T> values;
  ref::BlockCsr<T> view;
};

template <typename T>
OwnedCsr<T> ToBlockCsr(const std::vector<T>& w, int N, int K, int B) {
  OwnedCsr<T> c;
  c.row_ptr.push_back(0);
  for (int n = 0; n < N; ++n) {
    for (int k = 0; k < K; k += B) {
      bool any = false;
      for (int i = 0; i < B; ++i) any |= w[static_cast<size_t>(n) * K + k + i] != T(0);
      if (!any) continue;
      c.col.push_back(k);
      for (int i = 0; i < B; ++i) c.values.push_back(w[static_cast<size_t>(n) * K + k + i]);
    }
    c.row_ptr.push_back(static_cast<int32_t>(c.col.size()));
  }
  c.view.rows = N;
  c.view.cols = K;
  c.view.block = B;
  c.view.row_ptr = c.row_ptr.data();
  c.view.col = c.col.data();
  c.view.values = c.values.data();
  return c;
}

struct OwnedPairs {
  std::vector<int32_t> row_ptr, k, word;
  PackedPairs view;
};

OwnedPairs ToPairs(const std::vector<int8_t>& w, int N, int K) {
  OwnedPairs p;
  p.row_ptr.push_back(0);
  for (int n = 0; n < N; ++n) {
    for (int k = 0; k < K; k += 2) {
      const int8_t w0 = w[static_cast<size_t>(n) * K + k];
      const int8_t w1 = k + 1 < K ? w[static_cast<size_t>(n) * K + k + 1] : 0;
      if (w0 == 0 && w1 == 0) continue;
      p.k.push_back(k / 2);
      p.word.push_back(
          static_cast<int32_t>(static_cast<uint16_t>(int16_t{w0}) |
                               (static_cast<uint32_t>(static_cast<uint16_t>(w1)) << 16)));
    }
    p.row_ptr.push_back(static_cast<int32_t>(p.k.size()));
  }
  p.view.rows = N;
  p.view.cols = K;
  p.view.row_ptr = p.row_ptr.data();
  p.view.k = p.k.data();
  p.view.word = p.word.data();
  return p;
}

// Dense products as the reference (the sums the sparse kernels must reproduce).
void DenseF32(int M, int N, int K, const std::vector<float>& A, const std::vector<float>& W,
              const std::vector<float>& bias, float lo, float hi, std::vector<float>* C,
              std::vector<float>* magnitude) {
  C->assign(static_cast<size_t>(M) * N, 0.0f);
  magnitude->assign(C->size(), 0.0f);
  for (int m = 0; m < M; ++m) {
    for (int n = 0; n < N; ++n) {
      double s = bias[n], mag = std::fabs(bias[n]);
      for (int k = 0; k < K; ++k) {
        const double p = double{A[m * K + k]} * W[n * K + k];
        s += p;
        mag += std::fabs(p);
      }
      (*C)[m * N + n] = std::min(std::max(static_cast<float>(s), lo), hi);
      (*magnitude)[m * N + n] = static_cast<float>(mag);
    }
  }
}

std::vector<int32_t> DenseS8(int M, int N, int K, const std::vector<int8_t>& A,
                             const std::vector<int8_t>& W) {
  std::vector<int32_t> acc(static_cast<size_t>(M) * N, 0);
  for (int m = 0; m < M; ++m) {
    for (int n = 0; n < N; ++n) {
      int32_t s = 0;
      for (int k = 0; k < K; ++k) s += int32_t{A[m * K + k]} * W[n * K + k];
      acc[m * N + n] = s;
    }
  }
  return acc;
}

using F32Kernel = void (*)(int, const float*, int64_t, const ref::BlockCsr<float>&, const float*,
                           float, float, float*, int64_t);
using F32TiledKernel = void (*)(int, const float*, int64_t, const ref::BlockCsr<float>&,
                                const float*, float, float, float*, int64_t, float*);
using S8Kernel = void (*)(int, const int8_t*, int64_t, const ref::BlockCsr<int8_t>&, int32_t*,
                          int64_t);
using S8TiledKernel = void (*)(int, const int8_t*, int64_t, const PackedPairs&, int32_t*, int64_t,
                               void*);

struct Kernels {
  std::string name;
  F32Kernel f32_rowwise;
  F32TiledKernel f32_tiled;
  S8Kernel s8_rowwise;
  S8TiledKernel s8_tiled;
  int mr;
};

void RefF32(int M, const float* A, int64_t lda, const ref::BlockCsr<float>& w, const float* bias,
            float lo, float hi, float* C, int64_t ldc) {
  ref::SparseGemmF32(M, A, lda, w, bias, lo, hi, C, ldc);
}
void RefS8(int M, const int8_t* A, int64_t lda, const ref::BlockCsr<int8_t>& w, int32_t* acc,
           int64_t ldc) {
  ref::SparseDotGemmS8(M, A, lda, w, acc, ldc);
}

std::vector<Kernels> AvailableKernels() {
  std::vector<Kernels> k = {
      {"scalar", RefF32, f32_spmm_minmax_ukernel_8__scalar, RefS8, qs8_spmm_ukernel_8__scalar, 8}};
  const CpuInfo& cpu = GetCpuInfo();
#if defined(EDGEOPT_HAVE_AVX2)
  if (cpu.UseAvx2()) {
    k.push_back({"avx2", f32_spmv_minmax_ukernel__avx2, f32_spmm_minmax_ukernel_8__avx2,
                 qs8_spmv_ukernel__avx2, qs8_spmm_ukernel_8__avx2, 8});
  }
#endif
#if defined(EDGEOPT_HAVE_AVX512)
  if (cpu.UseAvx512()) {
    k.push_back({"avx512", f32_spmv_minmax_ukernel__avx512, f32_spmm_minmax_ukernel_16__avx512,
                 qs8_spmv_ukernel__avx512, qs8_spmm_ukernel_16__avx512, 16});
  }
#endif
  (void)cpu;
  return k;
}

TEST(SparseUkernels, MatchTheReferenceForEveryBlockWidthAndSize) {
  int cases = 0;
  for (const Kernels& kern : AvailableKernels()) {
    for (int B : {1, 4, 16}) {
      for (int K : {16, 32, 48, 100, 257}) {
        if (K % B != 0) continue;
        for (int N : {1, 5, 16, 33}) {
          for (int M : {1, 3, kern.mr - 1, kern.mr, kern.mr + 1, 2 * kern.mr + 3}) {
            for (double density : {0.05, 0.3, 1.0}) {
              const uint32_t seed = static_cast<uint32_t>(K * 1000 + N * 10 + M + B);
              SCOPED_TRACE(kern.name + " B=" + std::to_string(B) + " K=" + std::to_string(K) +
                           " N=" + std::to_string(N) + " M=" + std::to_string(M) +
                           " density=" + std::to_string(density));
              // float
              const auto w = RandomWeights<float>(N, K, B, density, seed);
              const auto csr = ToBlockCsr(w, N, K, B);
              std::vector<float> A(static_cast<size_t>(M) * K), bias(N);
              std::mt19937 rng(seed + 7);
              std::uniform_real_distribution<float> u(-1.0f, 1.0f);
              for (float& a : A) a = u(rng);
              for (float& b : bias) b = u(rng);
              std::vector<float> expected, magnitude;
              DenseF32(M, N, K, A, w, bias, -0.75f, 2.5f, &expected, &magnitude);
              std::vector<float> got(expected.size(), -99.0f);
              kern.f32_rowwise(M, A.data(), K, csr.view, bias.data(), -0.75f, 2.5f, got.data(), N);
              for (size_t i = 0; i < got.size(); ++i) {
                ASSERT_NEAR(got[i], expected[i], kFloatTolerance * (1.0f + magnitude[i])) << i;
              }
              std::vector<float> scratch((static_cast<size_t>(K) + N) * kern.mr);
              std::fill(got.begin(), got.end(), -99.0f);
              kern.f32_tiled(M, A.data(), K, csr.view, bias.data(), -0.75f, 2.5f, got.data(), N,
                             scratch.data());
              for (size_t i = 0; i < got.size(); ++i) {
                ASSERT_NEAR(got[i], expected[i], kFloatTolerance * (1.0f + magnitude[i])) << i;
              }
              // int8: exact.
              const auto wq = RandomWeights<int8_t>(N, K, B, density, seed);
              std::vector<int8_t> Aq(static_cast<size_t>(M) * K);
              std::uniform_int_distribution<int> ui(-128, 127);
              for (int8_t& a : Aq) a = static_cast<int8_t>(ui(rng));
              const std::vector<int32_t> exact = DenseS8(M, N, K, Aq, wq);
              const auto csrq = ToBlockCsr(wq, N, K, B);
              std::vector<int32_t> acc(exact.size(), -1);
              kern.s8_rowwise(M, Aq.data(), K, csrq.view, acc.data(), N);
              ASSERT_EQ(acc, exact);
              const auto pairs = ToPairs(wq, N, K);
              std::vector<uint8_t> pscratch(static_cast<size_t>((K + 1) / 2) * kern.mr * 4 +
                                            static_cast<size_t>(N) * kern.mr * 4);
              std::fill(acc.begin(), acc.end(), -1);
              kern.s8_tiled(M, Aq.data(), K, pairs.view, acc.data(), N, pscratch.data());
              ASSERT_EQ(acc, exact);
              ++cases;
            }
          }
        }
      }
    }
  }
  EXPECT_GT(cases, 500);
}

TEST(SparseDecision, UsesMeasuredThresholdsAndTheBestBlockWidth) {
  const SparseIsa isa = SparseIsaFor(GetCpuInfo());
  // 1x4 structure at 10%: the 1x4 form (or 1x16 if it happened to be as good) is chosen.
  const auto w = RandomWeights<float>(64, 256, 4, 0.1, 1);
  SparseDecision d = DecideSparse(DType::kFloat32, w.data(), 1, 64, 256, isa);
  EXPECT_TRUE(d.use);
  EXPECT_EQ(d.path, SparsePath::kRowwise);
  EXPECT_EQ(d.block, 4);
  EXPECT_LE(d.density, SparseMaxDensity(DType::kFloat32, d.path, d.block, isa));
  // Dense weights stay on the dense kernel; kAlways and kNever override.
  const auto full = RandomWeights<float>(64, 256, 1, 1.0, 2);
  EXPECT_FALSE(DecideSparse(DType::kFloat32, full.data(), 1, 64, 256, isa).use);
  SparseOptions always;
  always.mode = SparseMode::kAlways;
  always.block = 16;
  d = DecideSparse(DType::kFloat32, full.data(), 1, 64, 256, isa, always);
  EXPECT_TRUE(d.use);
  EXPECT_EQ(d.block, 16);
  SparseOptions never;
  never.mode = SparseMode::kNever;
  EXPECT_FALSE(DecideSparse(DType::kFloat32, w.data(), 1, 64, 256, isa, never).use);
  // Many rows: the tiled path; int8 tiled counts column pairs.
  const auto wq = RandomWeights<int8_t>(64, 256, 1, 0.1, 3);
  d = DecideSparse(DType::kInt8, wq.data(), 100, 64, 256, isa);
  EXPECT_EQ(d.path, SparsePath::kTiled);
  EXPECT_EQ(d.block, 2);
  EXPECT_TRUE(d.use);
  // K not a multiple of 4 or 16: only the widths that divide it.
  const auto odd = RandomWeights<float>(8, 30, 1, 0.05, 4);
  d = DecideSparse(DType::kFloat32, odd.data(), 1, 8, 30, isa);
  EXPECT_EQ(d.block, 1);
}

// --- Whole models through the interpreter. ---

struct OpCase {
  std::string op;  // "FULLY_CONNECTED" or "CONV_2D"
  DType type;
  int M;  // batch (FC) or pixels per side squared (conv: input [1, side, side, K])
  int N, K;
  int structure;
  double density;
};

// One FC / 1x1 conv with the given weights, as an IR graph (float or int8 per-tensor / per-
// channel for conv), exported dense or with the sparse encoding.
ir::Graph MakeModel(const OpCase& c, uint32_t seed) {
  ir::Graph g;
  const bool fc = c.op == "FULLY_CONNECTED";
  const int side = static_cast<int>(std::lround(std::sqrt(c.M)));
  const std::vector<int32_t> in_shape =
      fc ? std::vector<int32_t>{c.M, c.K} : std::vector<int32_t>{1, side, side, c.K};
  const std::vector<int32_t> out_shape =
      fc ? std::vector<int32_t>{c.M, c.N} : std::vector<int32_t>{1, side, side, c.N};
  const int x = g.AddActivation("x", c.type, in_shape);
  const int y = g.AddActivation("y", c.type, out_shape);
  std::vector<uint8_t> wbytes;
  if (c.type == DType::kFloat32) {
    const auto w = RandomWeights<float>(c.N, c.K, c.structure, c.density, seed);
    wbytes.assign(reinterpret_cast<const uint8_t*>(w.data()),
                  reinterpret_cast<const uint8_t*>(w.data() + w.size()));
  } else {
    const auto w = RandomWeights<int8_t>(c.N, c.K, c.structure, c.density, seed);
    wbytes.assign(reinterpret_cast<const uint8_t*>(w.data()),
                  reinterpret_cast<const uint8_t*>(w.data() + w.size()));
  }
  const std::vector<int32_t> w_shape =
      fc ? std::vector<int32_t>{c.N, c.K} : std::vector<int32_t>{c.N, 1, 1, c.K};
  const int w = g.AddConstant("w", c.type, w_shape, wbytes.data(), wbytes.size());
  int b = -1;
  std::mt19937 rng(seed + 1);
  if (c.type == DType::kFloat32) {
    std::vector<float> bias(c.N);
    for (float& v : bias) v = std::uniform_real_distribution<float>(-1, 1)(rng);
    b = g.AddFloatConstant("b", {c.N}, bias);
  } else {
    g.tensors[x].quant.scale = {0.02f};
    g.tensors[x].quant.zero_point = {-3};
    g.tensors[y].quant.scale = {0.05f + 0.01f * static_cast<float>(c.K) / 64.0f};
    g.tensors[y].quant.zero_point = {5};
    ir::QuantInfo& wq = g.tensors[w].quant;
    if (fc) {
      wq.scale = {0.01f};
      wq.zero_point = {0};
    } else {
      for (int n = 0; n < c.N; ++n) {
        wq.scale.push_back(0.005f + 0.0005f * static_cast<float>(n % 7));
        wq.zero_point.push_back(0);
      }
    }
    std::vector<int32_t> bias(c.N);
    for (int32_t& v : bias) v = std::uniform_int_distribution<int32_t>(-3000, 3000)(rng);
    b = g.AddConstant("b", DType::kInt32, {c.N}, bias.data(), bias.size() * 4);
    ir::QuantInfo& bq = g.tensors[b].quant;
    for (size_t i = 0; i < wq.scale.size(); ++i) {
      bq.scale.push_back(0.02f * wq.scale[i]);
      bq.zero_point.push_back(0);
    }
  }
  ir::Node n;
  n.op = c.op;
  n.inputs = {x, w, b};
  n.outputs = {y};
  n.attrs = {{"fused_activation_function", std::string("RELU")}};
  if (!fc) {
    n.attrs["padding"] = std::string("VALID");
    n.attrs["stride_h"] = int64_t{1};
    n.attrs["stride_w"] = int64_t{1};
  }
  g.AddNode(n);
  g.inputs = {x};
  g.outputs = {y};
  return g;
}

std::vector<uint8_t> Export(const ir::Graph& g) {
  auto bytes = ExportTflite(g);
  EXPECT_TRUE(bytes.ok()) << bytes.status().ToString();
  return bytes.ok() ? *bytes : std::vector<uint8_t>();
}

NpyArray Output(const std::vector<uint8_t>& model, const NpyArray& input, bool sparse_kernels) {
  InterpreterOptions o;
  o.sparse_kernels = sparse_kernels ? SparseKernels::kAuto : SparseKernels::kOff;
  auto out = testing::RunEdgeopt(model, {input}, o);
  EXPECT_TRUE(out.ok()) << out.status().ToString();
  return out.ok() ? (*out)[0] : NpyArray();
}

TEST(SparseKernels, AgreeWithTheDenseKernelsInModels) {
  const SparseIsa isa = SparseIsaFor(GetCpuInfo());
  const std::vector<OpCase> cases = {
      {"FULLY_CONNECTED", DType::kFloat32, 1, 96, 256, 4, 0.15},
      {"FULLY_CONNECTED", DType::kFloat32, 1, 40, 128, 1, 0.1},
      {"FULLY_CONNECTED", DType::kFloat32, 37, 50, 64, 16, 0.2},
      {"FULLY_CONNECTED", DType::kInt8, 1, 96, 256, 16, 0.2},
      {"FULLY_CONNECTED", DType::kInt8, 3, 40, 100, 4, 0.15},
      {"FULLY_CONNECTED", DType::kInt8, 40, 33, 64, 1, 0.1},
      {"CONV_2D", DType::kFloat32, 49, 48, 64, 1, 0.1},
      {"CONV_2D", DType::kFloat32, 100, 32, 96, 4, 0.2},
      {"CONV_2D", DType::kInt8, 49, 48, 64, 1, 0.1},
      {"CONV_2D", DType::kInt8, 36, 24, 48, 16, 0.25},
  };
  uint32_t seed = 100;
  for (const OpCase& c : cases) {
    SCOPED_TRACE(c.op + " " + DTypeName(c.type) + " M=" + std::to_string(c.M) +
                 " N=" + std::to_string(c.N) + " K=" + std::to_string(c.K));
    ir::Graph g = MakeModel(c, ++seed);
    // The decision for these weights: sparse.
    const ir::Tensor& w = g.tensors[g.nodes[0].inputs[1]];
    EXPECT_TRUE(DecideSparse(c.type, w.data.data(), c.M, c.N, c.K, isa).use);
    const std::vector<uint8_t> dense = Export(g);
    ir::Graph sg = g;
    auto encoded = prune::EncodeSparseWeights(&sg);
    ASSERT_TRUE(encoded.ok());
    ASSERT_EQ(encoded->size(), 1u);
    const std::vector<uint8_t> sparse = Export(sg);
    const NpyArray in =
        c.type == DType::kFloat32
            ? testing::RandomArray(DType::kFloat32, g.tensors[g.inputs[0]].shape, seed)
            : testing::RandomArray(DType::kInt8, g.tensors[g.inputs[0]].shape, seed, -128, 127);
    const NpyArray reference = Output(dense, in, /*sparse_kernels=*/false);
    for (const auto* model : {&dense, &sparse}) {
      const NpyArray got = Output(*model, in, /*sparse_kernels=*/true);
      ASSERT_EQ(got.data.size(), reference.data.size());
      if (c.type == DType::kInt8) {
        EXPECT_EQ(got.data, reference.data);  // bit-exact
      } else {
        const float* a = got.Data<float>();
        const float* b = reference.Data<float>();
        for (size_t i = 0; i < got.data.size() / 4; ++i) {
          EXPECT_NEAR(a[i], b[i], 1e-4f * (1.0f + std::fabs(b[i]))) << i;
        }
      }
    }
  }
}

TEST(SparseKernels, MalformedEncodingsAreRefused) {
  OpCase c{"FULLY_CONNECTED", DType::kFloat32, 1, 8, 32, 1, 0.3};
  const ir::Graph g = MakeModel(c, 7);
  ir::Graph sg = g;
  ASSERT_TRUE(prune::EncodeSparseWeights(&sg).ok());
  const int w = sg.nodes[0].inputs[1];
  ASSERT_TRUE(sg.tensors[w].has_sparsity);
  const NpyArray in = testing::RandomArray(DType::kFloat32, {1, 32}, 3);
  EXPECT_EQ(Output(Export(sg), in, true).data.size(), 32u);  // the intact file runs
  struct Damage {
    const char* what;
    std::function<void(ir::Tensor*)> apply;
  };
  const std::vector<Damage> damages = {
      {"index out of range", [](ir::Tensor* t) { t->sparsity.dim_metadata[1].indices[0] = 40; }},
      {"segments decreasing",
       [](ir::Tensor* t) {
         auto& s = t->sparsity.dim_metadata[1].segments;
         s[1] = s.back() + 5;
       }},
      {"too few segments", [](ir::Tensor* t) { t->sparsity.dim_metadata[1].segments.resize(3); }},
      {"values missing", [](ir::Tensor* t) { t->data.resize(t->data.size() - 8); }},
      {"extra values", [](ir::Tensor* t) { t->data.resize(t->data.size() + 8); }},
      {"traversal order repeats",
       [](ir::Tensor* t) {
         t->sparsity.traversal_order = {0, 0};
       }},
      {"dense size wrong", [](ir::Tensor* t) { t->sparsity.dim_metadata[0].dense_size = 9; }},
      {"block map out of range",
       [](ir::Tensor* t) {
         t->sparsity.block_map = {5};
         t->sparsity.traversal_order = {0, 1, 2};
         ir::SparsityInfo::DimMeta m;
         m.dense_size = 4;
         t->sparsity.dim_metadata.push_back(m);
       }},
  };
  for (const Damage& d : damages) {
    ir::Graph bad = sg;
    d.apply(&bad.tensors[w]);
    auto bytes = ExportTflite(bad);
    if (!bytes.ok()) continue;  // the exporter already refuses it
    auto interp = Interpreter::Create(bytes->data(), bytes->size(), {});
    ASSERT_FALSE(interp.ok()) << d.what;
    EXPECT_EQ(interp.status().code(), StatusCode::kInvalidModel)
        << d.what << ": " << interp.status().ToString();
  }
  // DENSIFY of a non-constant or dense input.
  ir::Graph dg = g;
  const int x2 = dg.AddActivation("x2", DType::kFloat32, {8, 32});
  ir::Node densify;
  densify.op = "DENSIFY";
  densify.inputs = {dg.nodes[0].inputs[1]};
  densify.outputs = {x2};
  dg.nodes.insert(dg.nodes.begin(), densify);
  dg.nodes[1].inputs[1] = x2;
  auto bytes = ExportTflite(dg);
  ASSERT_TRUE(bytes.ok());
  auto interp = Interpreter::Create(bytes->data(), bytes->size(), {});
  ASSERT_FALSE(interp.ok());
  EXPECT_NE(interp.status().message().find("sparse constant"), std::string::npos)
      << interp.status().ToString();
}

}  // namespace
}  // namespace rt
}  // namespace edgeopt
