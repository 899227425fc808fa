#include "src/train/gemm.h"

#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <vector>

namespace edgeopt {
namespace train {
namespace {

constexpr float kGemmTolerance = 1e-4f;  // relative to sum |a||b|

std::vector<rt::CpuInfo> IsaLevels() {
  std::vector<rt::CpuInfo> levels = {rt::ScalarCpuInfo()};
  rt::CpuInfo avx2 = rt::GetCpuInfo();
  avx2.avx512f = false;
  if (avx2.UseAvx2()) levels.push_back(avx2);
  if (rt::GetCpuInfo().UseAvx512()) levels.push_back(rt::GetCpuInfo());
  return levels;
}

void CheckGemm(const rt::CpuInfo& cpu, bool ta, bool tb, int m, int n, int k, bool accumulate,
               bool bias, bool relu, int threads) {
  std::mt19937 rng(m * 131 + n * 7 + k);
  std::uniform_real_distribution<float> dist(-1.0f, 1.0f);
  const int lda = (ta ? m : k) + 3;
  const int ldb = (tb ? k : n) + 1;
  const int ldc = n + 2;
  std::vector<float> a(static_cast<size_t>(lda) * (ta ? k : m));
  std::vector<float> b(static_cast<size_t>(ldb) * (tb ? n : k));
  std::vector<float> c(static_cast<size_t>(ldc) * m);
  std::vector<float> bv(n);
  for (float& v : a) v = dist(rng);
  for (float& v : b) v = dist(rng);
  for (float& v : c) v = dist(rng);
  for (float& v : bv) v = dist(rng);
  std::vector<float> c0 = c;
  Gemm gemm(cpu);
  rt::ThreadPool pool(threads);
  GemmEpilogue ep;
  ep.bias = bias ? bv.data() : nullptr;
  ep.relu = relu;
  gemm.Run(ta, tb, m, n, k, a.data(), lda, b.data(), ldb, c.data(), ldc, accumulate, ep, &pool);
  for (int i = 0; i < m; ++i) {
    for (int j = 0; j < ldc; ++j) {
      if (j >= n) {
        ASSERT_EQ(c[i * ldc + j], c0[i * ldc + j]) << "wrote outside C at " << i << "," << j;
        continue;
      }
      double ref = accumulate ? c0[i * ldc + j] : 0.0;
      double mag = 1.0;
      for (int p = 0; p < k; ++p) {
        const double av = ta ? a[p * lda + i] : a[i * lda + p];
        const double bvv = tb ? b[j * ldb + p] : b[p * ldb + j];
        ref += av * bvv;
        mag += std::fabs(av * bvv);
      }
      if (bias) ref += bv[j];
      if (relu && ref < 0) ref = 0;
      ASSERT_NEAR(c[i * ldc + j], ref, kGemmTolerance * mag)
          << gemm.isa_name() << " ta=" << ta << " tb=" << tb << " m=" << m << " n=" << n
          << " k=" << k << " at " << i << "," << j;
    }
  }
}

TEST(GemmTest, MatchesReferenceForEveryIsaLayoutAndEdge) {
  const int sizes[][3] = {{1, 1, 1},     {5, 7, 3},     {13, 33, 9},   {25, 17, 300},
                          {64, 10, 128}, {200, 70, 41}, {37, 300, 520}};
  for (const rt::CpuInfo& cpu : IsaLevels()) {
    for (const auto& s : sizes) {
      for (int t = 0; t < 4; ++t) {
        CheckGemm(cpu, t & 1, t & 2, s[0], s[1], s[2], false, false, false, 1);
      }
    }
    CheckGemm(cpu, false, true, 50, 45, 70, true, false, false, 2);
    CheckGemm(cpu, false, true, 50, 45, 70, false, true, true, 2);
    CheckGemm(cpu, true, false, 8, 300, 700, true, false, false, 2);
    CheckGemm(cpu, false, false, 7, 5, 0, true, true, false, 1);
  }
}

TEST(GemmTest, ThreadCountDoesNotChangeBits) {
  std::mt19937 rng(3);
  std::uniform_real_distribution<float> dist(-1.0f, 1.0f);
  const int m = 300, n = 90, k = 700;
  std::vector<float> a(m * k), b(k * n), c1(m * n), c2(m * n);
  for (float& v : a) v = dist(rng);
  for (float& v : b) v = dist(rng);
  Gemm g1(rt::GetCpuInfo()), g2(rt::GetCpuInfo());
  rt::ThreadPool p1(1), p2(2);
  g1.Run(false, false, m, n, k, a.data(), k, b.data(), n, c1.data(), n, false, {}, &p1);
  g2.Run(false, false, m, n, k, a.data(), k, b.data(), n, c2.data(), n, false, {}, &p2);
  EXPECT_EQ(c1, c2);
}

}  // namespace
}  // namespace train
}  // namespace edgeopt
