// Sparse FULLY_CONNECTED / 1x1 CONV_2D kernels in whole models through the interpreter: the
// sparse kernel against the dense kernel on the same weights, from dense and sparse-encoded
// files (prune::EncodeSparseWeights, DENSIFY); malformed sparse encodings refused. (Here rather
// than beside the kernels: it needs the toolkit's IR and exporter, which the runtime-only test
// binary of cross builds does not link.)
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <functional>
#include <random>
#include <string>
#include <type_traits>
#include <vector>

#include "src/export/tflite/export.h"
#include "src/ir/graph.h"
#include "src/passes/prune/sparse_encode.h"
#include "src/runtime/cpu_info.h"
#include "src/runtime/interpreter.h"
#include "src/runtime/kernels/sparse_matmul.h"
#include "src/runtime/kernels/sparse_test_util.h"
#include "tests/model_builder.h"

namespace edgeopt {
namespace rt {
namespace {

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

// The graph exported with its one weight in TFLite's sparse encoding; empty (a test failure)
// if the weight was not encoded.
std::vector<uint8_t> ExportSparse(ir::Graph g) {
  auto encoded = prune::EncodeSparseWeights(&g);
  EXPECT_TRUE(encoded.ok());
  if (!encoded.ok()) return {};
  EXPECT_EQ(encoded->size(), 1u);
  return encoded->size() == 1 ? Export(g) : std::vector<uint8_t>();
}

NpyArray Output(const std::vector<uint8_t>& model, const NpyArray& input, bool sparse_kernels,
                int threads = 1) {
  InterpreterOptions o;
  o.num_threads = threads;
  o.sparse_kernels = sparse_kernels ? SparseKernels::kForce : SparseKernels::kOff;
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
      {"CONV_2D", DType::kFloat32, 324, 24, 40, 1, 0.3},  // 2 threads: 7 blocks of rows
      {"CONV_2D", DType::kInt8, 49, 48, 64, 1, 0.1},
      {"CONV_2D", DType::kInt8, 36, 24, 48, 16, 0.25},
  };
  uint32_t seed = 100;
  for (const OpCase& c : cases) {
    SCOPED_TRACE(c.op + " " + DTypeName(c.type) + " M=" + std::to_string(c.M) +
                 " N=" + std::to_string(c.N) + " K=" + std::to_string(c.K));
    ir::Graph g = MakeModel(c, ++seed);
    // The sparse kernels run whatever DecideSparse would say for these weights (kForce).
    (void)isa;
    const std::vector<uint8_t> dense = Export(g);
    const std::vector<uint8_t> sparse = ExportSparse(g);
    ASSERT_FALSE(sparse.empty());
    const NpyArray in =
        c.type == DType::kFloat32
            ? testing::RandomArray(DType::kFloat32, g.tensors[g.inputs[0]].shape, seed)
            : testing::RandomArray(DType::kInt8, g.tensors[g.inputs[0]].shape, seed, -128, 127);
    const NpyArray reference = Output(dense, in, /*sparse_kernels=*/false);
    for (int threads : {1, 2}) {
      SCOPED_TRACE(std::to_string(threads) + " threads");
      for (const auto* model : {&dense, &sparse}) {
        const NpyArray got = Output(*model, in, /*sparse_kernels=*/true, threads);
        ASSERT_EQ(got.data.size(), reference.data.size());
        if (c.type == DType::kInt8) {
          EXPECT_EQ(got.data, reference.data);  // bit-exact
        } else {
          const float* a = got.Data<float>();
          const float* b = reference.Data<float>();
          for (size_t i = 0; i < got.data.size() / 4; ++i) {
            ASSERT_NEAR(a[i], b[i], 1e-4f * (1.0f + std::fabs(b[i]))) << i;
          }
        }
      }
    }
  }
}

// Auto threads (InterpreterOptions::num_threads <= 0) count a layer's work without its zero
// weights, before Prepare: through the DENSIFY of a sparse-encoded file too. A 1x1 convolution
// of 4.2M MACs with 10 % of its weights kept runs on one thread, dense file or sparse; the same
// layer with every weight kept on every core.
TEST(SparseKernels, AutoThreadsCountOnlyTheKeptWeights) {
  const int cores = GetCpuInfo().num_cores;
  if (cores < 2) GTEST_SKIP() << "one core: always one thread";
  const OpCase c{"CONV_2D", DType::kFloat32, 1024, 64, 64, 1, 0.1};
  ir::Graph g = MakeModel(c, 7);
  const std::vector<uint8_t> dense = Export(g);
  const std::vector<uint8_t> sparse = ExportSparse(g);
  ASSERT_FALSE(sparse.empty());
  const std::vector<uint8_t> full =
      Export(MakeModel({"CONV_2D", DType::kFloat32, 1024, 64, 64, 1, 1.0}, 7));
  InterpreterOptions o;
  o.num_threads = 0;
  auto threads = [&](const std::vector<uint8_t>& model) {
    auto interp = Interpreter::Create(model.data(), model.size(), o);
    EXPECT_TRUE(interp.ok()) << interp.status().ToString();
    return interp.ok() ? (*interp)->num_threads() : -1;
  };
  EXPECT_EQ(threads(dense), 1);
  EXPECT_EQ(threads(sparse), 1);
  EXPECT_EQ(threads(full), std::min(cores, 64));
}

// The int8 tiled sparse kernel runs on AVX2 but not on AVX2 + AVX-VNNI, whose dense int8 GEMM
// it does not beat; forcing it still works.
TEST(SparseKernels, Int8TiledStaysDenseWithAvxVnni) {
  rt::CpuInfo avx2 = GetCpuInfo();
  avx2.avx512f = avx2.avx512bw = avx2.avx512vl = avx2.avx512dq = avx2.avx512vnni = false;
  if (!avx2.UseAvxVnni()) GTEST_SKIP() << "no AVX-VNNI on this machine";
  const std::vector<uint8_t> model =
      Export(MakeModel({"FULLY_CONNECTED", DType::kInt8, 64, 64, 256, 1, 0.02}, 9));
  auto kernel = [&](bool vnni, SparseKernels sparse) {
    rt::CpuInfo cpu = avx2;
    cpu.avxvnni = vnni;
    InterpreterOptions o;
    o.cpu = &cpu;
    o.sparse_kernels = sparse;
    auto interp = Interpreter::Create(model.data(), model.size(), o);
    EXPECT_TRUE(interp.ok()) << interp.status().ToString();
    return interp.ok() ? std::string((*interp)->node_kernel(0)) : std::string();
  };
  EXPECT_EQ(kernel(false, SparseKernels::kAuto), "sparse tiled");
  EXPECT_EQ(kernel(true, SparseKernels::kAuto).find("sparse"), std::string::npos);
  EXPECT_EQ(kernel(true, SparseKernels::kForce), "sparse tiled");
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
