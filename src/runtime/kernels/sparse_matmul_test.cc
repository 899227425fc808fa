// Sparse FULLY_CONNECTED / 1x1 CONV_2D kernels: every microkernel against the reference on
// random sparse weights (int8 bit-exact, float within rounding), sizes around the tile height
// and block widths; the prepare-time decision. Whole models (sparse-encoded files, DENSIFY,
// malformed encodings) are in src/passes/prune/sparse_models_test.cc.
#include "src/runtime/kernels/sparse_matmul.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <random>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "src/runtime/cpu_info.h"
#include "src/runtime/kernels/reference/sparse_gemm.h"
#include "src/runtime/kernels/sparse_test_util.h"
#include "src/runtime/kernels/ukernels/sparse_ukernels.h"

namespace edgeopt {
namespace rt {
namespace {

constexpr float kFloatTolerance = 1e-5f;  // relative to the sum of |products|

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

struct OwnedQuads {
  std::vector<int32_t> row_ptr, k, word, row_sum;
  PackedQuads view;
};

OwnedQuads ToQuads(const std::vector<int8_t>& w, int N, int K) {
  OwnedQuads q;
  q.row_ptr.push_back(0);
  for (int n = 0; n < N; ++n) {
    int32_t sum = 0;
    for (int k = 0; k < K; k += 4) {
      uint32_t word = 0;
      for (int i = 0; i < 4 && k + i < K; ++i) {
        const int8_t v = w[static_cast<size_t>(n) * K + k + i];
        word |= static_cast<uint32_t>(static_cast<uint8_t>(v)) << (8 * i);
        sum += v;
      }
      if (word == 0) continue;
      q.k.push_back(k / 4);
      q.word.push_back(static_cast<int32_t>(word));
    }
    q.row_ptr.push_back(static_cast<int32_t>(q.k.size()));
    q.row_sum.push_back(sum);
  }
  q.view.rows = N;
  q.view.cols = K;
  q.view.row_ptr = q.row_ptr.data();
  q.view.k = q.k.data();
  q.view.word = q.word.data();
  q.view.row_sum = q.row_sum.data();
  return q;
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
using S8Kernel = void (*)(int, const int8_t*, int64_t, const ref::BlockCsr<int8_t>&, int32_t*,
                          int64_t);
using S8TiledKernel = void (*)(int, const int8_t*, int64_t, const PackedPairs&, int32_t*, int64_t,
                               void*);

struct Kernels {
  std::string name;
  F32Kernel f32_rowwise;
  SpmmF32Fn f32_tiled;
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
#if defined(EDGEOPT_HAVE_NEON)
  // int8 weights run the portable kernels on Arm.
  if (cpu.UseNeon()) {
    k.push_back({"neon", f32_spmv_minmax_ukernel__neon, f32_spmm_minmax_ukernel__neon, RefS8,
                 qs8_spmm_ukernel_8__scalar, SparseTileRows(SparseIsa::kNeon)});
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

using S8QuadKernel = void (*)(int, const int8_t*, int64_t, const PackedQuads&, int32_t*, void*);

// The quad kernels (their own output layout: per tile of 16 rows, [N][16]) against the exact
// sums: K around multiples of 4 (a partial last quad), rows around the tile, a row stride
// longer than K (bytes past K must not be read as weights' inputs), the extreme inputs -128
// and 127 against weights +-127 in whole rows, 1x4-block and single-weight sparsity.
TEST(SparseUkernels, QuadKernelsMatchTheExactSums) {
  std::vector<std::pair<std::string, S8QuadKernel>> kernels = {
      {"scalar", qs8_spmm_quads_ukernel_16__scalar}};
#if defined(EDGEOPT_HAVE_AVX512)
  if (GetCpuInfo().UseAvx512()) {
    kernels.push_back({"avx512vnni", qs8_spmm_quads_ukernel_16__avx512vnni});
  }
#endif
  int cases = 0;
  for (const auto& [name, kernel] : kernels) {
    for (int K : {1, 3, 4, 5, 27, 64, 289}) {
      for (int N : {1, 7, 33}) {
        for (int M : {1, 15, 16, 17, 40}) {
          for (int B : {1, 4}) {
            for (double density : {0.1, 0.5, 1.0}) {
              const uint32_t seed = static_cast<uint32_t>(K * 1000 + N * 10 + M + B);
              SCOPED_TRACE(name + " K=" + std::to_string(K) + " N=" + std::to_string(N) +
                           " M=" + std::to_string(M) + " B=" + std::to_string(B) +
                           " density=" + std::to_string(density));
              auto w = RandomWeights<int8_t>(N, K, B, density, seed);
              if (N > 1) std::fill(w.begin(), w.begin() + K, int8_t{127});  // row 0: +127
              const int64_t lda = K + 5;
              std::mt19937 rng(seed + 3);
              std::uniform_int_distribution<int> ui(-128, 127);
              std::vector<int8_t> A(static_cast<size_t>(M) * lda);
              for (int8_t& a : A) a = static_cast<int8_t>(ui(rng));
              for (int k = 0; k < K; ++k) A[k] = -128;  // row 0: -128
              std::vector<int8_t> packed(static_cast<size_t>(M) * K);
              for (int m = 0; m < M; ++m) {
                std::copy(A.begin() + m * lda, A.begin() + m * lda + K, packed.begin() + m * K);
              }
              const std::vector<int32_t> exact = DenseS8(M, N, K, packed, w);
              const auto quads = ToQuads(w, N, K);
              const int tiles = (M + 15) / 16;
              std::vector<int32_t> acc(static_cast<size_t>(tiles) * N * 16, -1);
              std::vector<uint32_t> scratch(static_cast<size_t>((K + 3) / 4) * 16 + 1);
              kernel(M, A.data(), lda, quads.view, acc.data(), scratch.data());
              for (int m = 0; m < M; ++m) {
                for (int n = 0; n < N; ++n) {
                  ASSERT_EQ(acc[(static_cast<size_t>(m / 16) * N + n) * 16 + m % 16],
                            exact[static_cast<size_t>(m) * N + n])
                      << "row " << m << ", channel " << n;
                }
              }
              ++cases;
            }
          }
        }
      }
    }
  }
  EXPECT_GE(cases, 630);
}

// The decision logic for every ISA (this machine runs only some of the kernels; Arm builds
// decide with the NEON thresholds, or the scalar ones without NEON).
TEST(SparseDecision, UsesMeasuredThresholdsAndTheBestBlockWidth) {
  for (SparseIsa isa : {SparseIsa::kScalar, SparseIsa::kAvx2, SparseIsa::kAvx512, SparseIsa::kNeon,
                        SparseIsa::kAvxVnni}) {
    SCOPED_TRACE(static_cast<int>(isa));
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
    // Many rows: the tiled path; int8 tiled counts column pairs, or quads on AVX-512 VNNI. At
    // 2 % (about 4 % of the pairs, 8 % of the quads) it beats the dense int8 GEMMs but AVX-VNNI's
    // vpdpbusd one; at 30 % (76 % of the quads) none.
    const auto wq = RandomWeights<int8_t>(64, 256, 1, 0.02, 3);
    d = DecideSparse(DType::kInt8, wq.data(), 100, 64, 256, isa);
    EXPECT_EQ(d.path, SparsePath::kTiled);
    EXPECT_EQ(d.block, isa == SparseIsa::kAvx512 ? 4 : 2);
    EXPECT_EQ(d.use, isa != SparseIsa::kAvxVnni);
    const auto wq30 = RandomWeights<int8_t>(64, 256, 1, 0.3, 6);
    EXPECT_FALSE(DecideSparse(DType::kInt8, wq30.data(), 100, 64, 256, isa).use);
    // 1x4 blocks at 20 % (block-pruned weights): quads at 20 % density. On AVX-512 VNNI the
    // quad kernel is chosen for 128 output channels, not for 64 (its break-even grows with the
    // channels). The option forces either form on any ISA.
    const auto wb4 = RandomWeights<int8_t>(128, 256, 4, 0.2, 8);
    d = DecideSparse(DType::kInt8, wb4.data(), 100, 128, 256, isa);
    if (isa == SparseIsa::kAvx512) {
      EXPECT_TRUE(d.use);
      EXPECT_EQ(d.block, 4);
      EXPECT_NEAR(d.density, 0.2, 0.05);
      EXPECT_FALSE(DecideSparse(DType::kInt8, wb4.data(), 100, 64, 512, isa).use);
    }
    SparseOptions quads;
    quads.mode = SparseMode::kAlways;
    quads.block = 4;
    EXPECT_EQ(DecideSparse(DType::kInt8, wb4.data(), 100, 128, 256, isa, quads).block, 4);
    quads.block = 2;
    EXPECT_EQ(DecideSparse(DType::kInt8, wb4.data(), 100, 128, 256, isa, quads).block, 2);
    // int8, one row: 1x16 blocks at 4% beat the dense GEMM everywhere but on AVX-512 VNNI, 1x4
    // blocks at 20% nowhere.
    const auto wr = RandomWeights<int8_t>(64, 256, 16, 0.04, 5);
    EXPECT_EQ(DecideSparse(DType::kInt8, wr.data(), 1, 64, 256, isa).use,
              isa != SparseIsa::kAvx512);
    const auto wr4 = RandomWeights<int8_t>(64, 256, 4, 0.2, 7);
    EXPECT_FALSE(DecideSparse(DType::kInt8, wr4.data(), 1, 64, 256, isa).use);
    // K not a multiple of 4 or 16: only the widths that divide it.
    const auto odd = RandomWeights<float>(8, 30, 1, 0.05, 4);
    d = DecideSparse(DType::kFloat32, odd.data(), 1, 8, 30, isa);
    EXPECT_EQ(d.block, 1);
  }
}

}  // namespace
}  // namespace rt
}  // namespace edgeopt
