// The few-channel pointwise microkernel of this CPU (ukernels.h, F32PwFewArgs) against dot
// products in double precision: every n, input channels around the vector lanes (AVX2 8,
// NEON 4), pixel counts around its tiles (8 / n pixels), rows with gaps, with and without a
// bias and a clamp. It must not read the gaps between rows (NaN there) nor write past its output.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <random>
#include <vector>

#include "src/runtime/cpu_info.h"
#include "src/runtime/kernels/ukernels/configs.h"

namespace edgeopt {
namespace rt {
namespace uk {
namespace {

TEST(F32PwFew, MatchesDoublePrecisionDotProducts) {
  const F32PwFewFn fn = GetF32PwFewFn(GetCpuInfo());
  if (fn == nullptr) GTEST_SKIP() << "no few-channel pointwise kernel for this CPU";
  std::mt19937 rng(5);
  std::uniform_real_distribution<float> u(-1.0f, 1.0f);
  const float nan = std::numeric_limits<float>::quiet_NaN();
  const float inf = std::numeric_limits<float>::infinity();
  int cases = 0;
  for (int n = 1; n <= 4; ++n) {
    for (int k : {1, 2, 3, 4, 5, 7, 8, 9, 12, 15, 16, 17, 31, 33, 64}) {
      for (int pixels : {1, 2, 3, 4, 5, 7, 8, 9, 13, 16, 17, 31}) {
        const int gap = (k + pixels) % 3;  // a_stride - k
        const bool has_bias = (k + n) % 2 == 0;
        const bool clamp = pixels % 2 == 1;
        SCOPED_TRACE(::testing::Message()
                     << "n=" << n << " k=" << k << " pixels=" << pixels << " gap=" << gap
                     << " bias=" << has_bias << " clamp=" << clamp);
        const int stride = k + gap;
        // Exactly the rows the kernel may read: a read past the last row is out of bounds
        // (AddressSanitizer), a read of a gap multiplies NaN.
        std::vector<float> a(static_cast<size_t>(pixels - 1) * stride + k, nan);
        for (int p = 0; p < pixels; ++p) {
          for (int i = 0; i < k; ++i) a[static_cast<size_t>(p) * stride + i] = u(rng);
        }
        std::vector<float> w(static_cast<size_t>(n) * k), bias(n);
        for (float& v : w) v = u(rng);
        for (float& v : bias) v = u(rng);
        const float lo = clamp ? -0.4f : -inf, hi = clamp ? 0.6f : inf;
        const float sentinel = 12345.0f;
        std::vector<float> c(static_cast<size_t>(pixels) * n + 9, sentinel);
        fn({static_cast<size_t>(pixels), k, n, a.data(), stride, w.data(),
            has_bias ? bias.data() : nullptr, c.data(), lo, hi});
        for (int p = 0; p < pixels; ++p) {
          for (int j = 0; j < n; ++j) {
            double want = has_bias ? bias[j] : 0.0, mag = std::abs(want);
            for (int i = 0; i < k; ++i) {
              const double t = double{a[static_cast<size_t>(p) * stride + i]} * w[j * k + i];
              want += t;
              mag += std::abs(t);
            }
            want = std::min<double>(hi, std::max<double>(lo, want));
            const float got = c[static_cast<size_t>(p) * n + j];
            ASSERT_NEAR(got, want, 1e-6 * (1.0 + mag)) << "pixel " << p << " channel " << j;
          }
        }
        for (size_t i = static_cast<size_t>(pixels) * n; i < c.size(); ++i) {
          ASSERT_EQ(c[i], sentinel) << "wrote past the output at " << i;
        }
        ++cases;
      }
    }
  }
  EXPECT_EQ(cases, 4 * 15 * 12);
}

}  // namespace
}  // namespace uk
}  // namespace rt
}  // namespace edgeopt
