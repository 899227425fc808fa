// The libm-exact sigmoid and tanh kernels (vunary.h, GetLibmExactVUnary) against the C library
// bit for bit: every 251st float bit pattern (17 million values, every sign, binade and special
// value), every float in windows around the branch points, all lengths around the 8 lanes. The
// whole float range was also compared once (LibmExact.DISABLED_EveryFloat, below: run it with
// --gtest_also_run_disabled_tests --gtest_filter='LibmExact.*').
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <vector>

#include "src/runtime/cpu_info.h"
#include "src/runtime/kernels/ukernels/vunary.h"

namespace edgeopt {
namespace rt {
namespace uk {
namespace {

float Want(float x, bool sigmoid) { return sigmoid ? 1.0f / (1.0f + std::exp(-x)) : std::tanh(x); }

// Compares fn over bit patterns first, first + step, ... (count values); returns mismatches and
// reports the first few.
int64_t Compare(F32VUnaryFn fn, bool sigmoid, uint64_t first, uint64_t step, uint64_t count) {
  constexpr size_t kBlock = 4096;
  std::vector<float> x(kBlock), y(kBlock);
  int64_t bad = 0;
  F32UnaryParams params;
  for (uint64_t i = 0; i < count; i += kBlock) {
    const size_t n = static_cast<size_t>(std::min<uint64_t>(kBlock, count - i));
    for (size_t j = 0; j < n; ++j) {
      const uint32_t bits = static_cast<uint32_t>(first + (i + j) * step);
      std::memcpy(&x[j], &bits, 4);
    }
    fn(n, x.data(), y.data(), &params);
    for (size_t j = 0; j < n; ++j) {
      const float want = Want(x[j], sigmoid);
      if (std::memcmp(&want, &y[j], 4) == 0) continue;
      if (++bad <= 5) {
        ADD_FAILURE() << (sigmoid ? "sigmoid(" : "tanh(") << std::hexfloat << x[j] << ") = " << y[j]
                      << ", libm " << want;
      }
    }
  }
  return bad;
}

const LibmExactVUnary& Kernels() { return GetLibmExactVUnary(GetCpuInfo()); }

bool ExpectKernels() {
#if defined(__GLIBC__) && defined(EDGEOPT_HAVE_AVX2)
  // glibc 2.28+ on x86-64 with FMA: the kernels repeat it and must pass the probe check.
  return GetCpuInfo().UseAvx2() && (__GLIBC__ > 2 || __GLIBC_MINOR__ >= 28);
#else
  return false;
#endif
}

TEST(LibmExact, GivenWhereTheyMatchTheCLibrary) {
  const LibmExactVUnary& k = Kernels();
  EXPECT_EQ(k.sigmoid != nullptr, ExpectKernels());
  EXPECT_EQ(k.tanh != nullptr, ExpectKernels());
  // The probe check refuses a function that is off by one ULP anywhere in its probes.
  EXPECT_FALSE(MatchesLibm(
      [](size_t n, const float* x, float* y, const F32UnaryParams*) {
        for (size_t i = 0; i < n; ++i) y[i] = std::nextafter(std::tanh(x[i]), 2.0f);
      },
      false));
  EXPECT_FALSE(MatchesLibm(
      [](size_t n, const float* x, float* y, const F32UnaryParams*) {
        for (size_t i = 0; i < n; ++i) y[i] = 1.0f / (1.0f + std::exp(-x[i])) + (x[i] > 20.0f);
      },
      true));
  EXPECT_TRUE(MatchesLibm(
      [](size_t n, const float* x, float* y, const F32UnaryParams*) {
        for (size_t i = 0; i < n; ++i) y[i] = std::tanh(x[i]);
      },
      false));
}

TEST(LibmExact, SampledFloatsBitIdentical) {
  const LibmExactVUnary& k = Kernels();
  if (k.sigmoid == nullptr) GTEST_SKIP() << "no libm-exact kernels for this CPU / C library";
  // Every 251st bit pattern from 0: all signs, binades, denormals, infinities and NaNs.
  const uint64_t count = (uint64_t{1} << 32) / 251;
  EXPECT_EQ(Compare(k.sigmoid, true, 0, 251, count), 0);
  EXPECT_EQ(Compare(k.tanh, false, 0, 251, count), 0);
}

TEST(LibmExact, EveryFloatAroundTheBranchPoints) {
  const LibmExactVUnary& k = Kernels();
  if (k.sigmoid == nullptr) GTEST_SKIP() << "no libm-exact kernels for this CPU / C library";
  // 2^16 floats on each side of: tanh's |x| = 2^-55, 2^-26, ln2/4, 3 ln2/4, 1, 22 and the
  // points where expm1f's k moves from 22 to 23 and from 56 to 57; expf's overflow and
  // underflow bounds (sigmoid of -x).
  const float edges[] = {0x1p-55f,  0x1p-26f,  0x1.62e430p-3f, 0x1.0a2b24p-1f, 1.0f,         22.0f,
                         7.798123f, 19.58266f, 0x1.62e42ep6f,  0x1.9d1d9ep6f,  0x1.9fe368p6f};
  for (float edge : edges) {
    for (float e : {edge, -edge}) {
      uint32_t bits;
      std::memcpy(&bits, &e, 4);
      const uint64_t first = bits - (uint32_t{1} << 16);
      EXPECT_EQ(Compare(k.sigmoid, true, first, 1, uint64_t{1} << 17), 0) << e;
      EXPECT_EQ(Compare(k.tanh, false, first, 1, uint64_t{1} << 17), 0) << e;
    }
  }
}

TEST(LibmExact, EveryLengthAndInPlace) {
  const LibmExactVUnary& k = Kernels();
  if (k.sigmoid == nullptr) GTEST_SKIP() << "no libm-exact kernels for this CPU / C library";
  F32UnaryParams params;
  for (bool sigmoid : {true, false}) {
    const F32VUnaryFn fn = sigmoid ? k.sigmoid : k.tanh;
    for (size_t n = 0; n <= 25; ++n) {
      std::vector<float> x(n + 4, 77.0f), y(n + 4, -5.0f);
      for (size_t i = 0; i < n; ++i) x[i] = 0.37f * static_cast<float>(i) - 4.0f;
      fn(n, x.data(), y.data(), &params);
      for (size_t i = 0; i < n; ++i) EXPECT_EQ(y[i], Want(x[i], sigmoid)) << n << " " << i;
      for (size_t i = n; i < n + 4; ++i) EXPECT_EQ(y[i], -5.0f) << "wrote past " << n;
      fn(n, x.data(), x.data(), &params);  // in place
      for (size_t i = 0; i < n; ++i) EXPECT_EQ(x[i], y[i]) << n << " " << i;
    }
  }
}

// All 2^32 floats (about two minutes).
TEST(LibmExact, DISABLED_EveryFloat) {
  const LibmExactVUnary& k = Kernels();
  if (k.sigmoid == nullptr) GTEST_SKIP() << "no libm-exact kernels for this CPU / C library";
  EXPECT_EQ(Compare(k.sigmoid, true, 0, 1, uint64_t{1} << 32), 0);
  EXPECT_EQ(Compare(k.tanh, false, 0, 1, uint64_t{1} << 32), 0);
}

}  // namespace
}  // namespace uk
}  // namespace rt
}  // namespace edgeopt
