// The recurrent kernels' products and tables against direct loops and the reference
// activations, at every ISA level the machine has.
#include "src/runtime/kernels/recurrent_ukernels.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <limits>
#include <random>
#include <vector>

#include "src/runtime/kernels/elem_test_util.h"
#include "src/runtime/kernels/reference/lstm.h"

namespace edgeopt {
namespace rt {
namespace recurrent {
namespace {

// Rows around the 16-row blocks and the blocks per pass; columns 1, odd and even.
constexpr int kRows[] = {1, 2, 15, 16, 17, 31, 32, 33, 47, 48, 49, 63, 64, 65, 80, 129};
constexpr int kCols[] = {1, 2, 3, 7, 16, 28, 33, 257};

std::vector<const Kernels*> AllKernels() {
  std::vector<const Kernels*> k;
  for (const CpuInfo& cpu : testing::OptimizedLevels()) k.push_back(&GetKernels(cpu));
  k.push_back(&ScalarKernels());
  return k;
}

// The integer LSTM step kernels are built for AVX2 and NEON, the hybrid output stage for AVX2 and
// aarch64 NEON. Where the build has them and the machine runs an optimized level, some kernel set
// must have run the test (the portable set has none).
#if defined(EDGEOPT_HAVE_AVX2) || defined(EDGEOPT_HAVE_NEON)
constexpr bool kBuiltStepKernels = true;
#else
constexpr bool kBuiltStepKernels = false;
#endif
#if defined(EDGEOPT_HAVE_AVX2) || (defined(EDGEOPT_HAVE_NEON) && defined(__aarch64__))
constexpr bool kBuiltHybridKernel = true;
#else
constexpr bool kBuiltHybridKernel = false;
#endif

void ExpectVectorKernelsTested(int tested, bool built) {
  if (built && !testing::OptimizedLevels().empty()) {
    EXPECT_GT(tested, 0);
  }
}

TEST(RecurrentUkernels, S8MatVecMatchesDirectSums) {
  std::mt19937 rng(5);
  std::uniform_int_distribution<int> byte(-128, 127);
  for (const Kernels* k : AllKernels()) {
    for (int rows : kRows) {
      for (int cols : kCols) {
        // Two matrices stacked (the LSTM's gates), extremes included.
        const int rows_each = (rows + 1) / 2;
        const int total = 2 * rows_each;
        std::vector<int8_t> m(static_cast<size_t>(total) * cols);
        for (int8_t& x : m) x = static_cast<int8_t>(byte(rng));
        m[0] = -128;
        m.back() = 127;
        std::vector<int8_t> v(cols);
        for (int8_t& x : v) x = static_cast<int8_t>(byte(rng));
        v[0] = -128;
        const int32_t offset = byte(rng);
        const int8_t* parts[2] = {m.data(), m.data() + static_cast<size_t>(rows_each) * cols};
        // Junk first: the packing must write every weight the products read.
        std::vector<int16_t> packed(PackedS8Size(total, cols), 0x5A5A);
        PackS8Matrices(parts, 2, rows_each, cols, packed.data());
        std::vector<int32_t> pairs(ColPairs(cols));
        PackS8Vector(v.data(), cols, offset, pairs.data());
        // Sentinels past the rows: the kernel writes `rows` outputs only.
        std::vector<int32_t> out(total + kRowBlock, 12345);
        k->s8_matvec(packed.data(), total, ColPairs(cols), pairs.data(), out.data());
        for (int r = 0; r < total; ++r) {
          int64_t dot = 0;
          for (int c = 0; c < cols; ++c) {
            dot += int64_t{m[static_cast<size_t>(r) * cols + c]} * (v[c] - offset);
          }
          ASSERT_EQ(out[r], ref::WrapToInt32(dot))
              << k->name << " rows " << total << " cols " << cols << " row " << r;
        }
        for (int r = total; r < total + kRowBlock; ++r) {
          ASSERT_EQ(out[r], 12345) << k->name << ": wrote past the rows";
        }
      }
    }
  }
}

TEST(RecurrentUkernels, F32MatVecRepeatsTheReference) {
  std::mt19937 rng(6);
  std::uniform_real_distribution<float> dist(-1.0f, 1.0f);
  for (const Kernels* k : AllKernels()) {
    for (int rows : kRows) {
      for (int cols : kCols) {
        const int rows_each = (rows + 1) / 2;
        const int total = 2 * rows_each;
        std::vector<float> m(static_cast<size_t>(total) * cols), v(cols);
        for (float& x : m) x = dist(rng);
        for (float& x : v) x = dist(rng) * 1e3f;  // big terms: rounding shows any reordering
        const float* parts[2] = {m.data(), m.data() + static_cast<size_t>(rows_each) * cols};
        std::vector<float> packed(PackedF32Size(total, cols));
        PackF32Matrices(parts, 2, rows_each, cols, packed.data());
        std::vector<float> out(total + kRowBlock), expected(total);
        for (int r = 0; r < total; ++r) out[r] = expected[r] = dist(rng);
        for (int r = total; r < total + kRowBlock; ++r) out[r] = 7.0f;
        ref::MatVecAccumulate(m.data(), total, cols, v.data(), 1, expected.data());
        k->f32_matvec(packed.data(), total, cols, v.data(), out.data());
        for (int r = 0; r < total; ++r) {
          ASSERT_EQ(std::memcmp(&out[r], &expected[r], sizeof(float)), 0)
              << k->name << " rows " << total << " cols " << cols << " row " << r << ": " << out[r]
              << " vs " << expected[r];
        }
        for (int r = total; r < total + kRowBlock; ++r) {
          ASSERT_EQ(out[r], 7.0f) << k->name << ": wrote past the rows";
        }
      }
    }
  }
}

// Products and sums below FLT_MIN: a kernel that flushes denormals to zero (armv7's NEON) or
// rounds differently shows here.
TEST(RecurrentUkernels, F32MatVecKeepsDenormals) {
  std::mt19937 rng(8);
  std::uniform_real_distribution<float> dist(-1.0f, 1.0f);
  for (const Kernels* k : AllKernels()) {
    for (int rows : {3, 16, 33}) {
      for (int cols : {1, 5, 17}) {
        std::vector<float> m(static_cast<size_t>(rows) * cols), v(cols);
        for (float& x : m) x = dist(rng) * 1e-20f;
        for (float& x : v) x = dist(rng) * 1e-18f;  // products about 1e-38 and below
        const float* parts[1] = {m.data()};
        std::vector<float> packed(PackedF32Size(rows, cols));
        PackF32Matrices(parts, 1, rows, cols, packed.data());
        std::vector<float> out(rows), expected(rows);
        for (int r = 0; r < rows; ++r) out[r] = expected[r] = dist(rng) * 1e-39f;
        ref::MatVecAccumulate(m.data(), rows, cols, v.data(), 1, expected.data());
        k->f32_matvec(packed.data(), rows, cols, v.data(), out.data());
        int denormal = 0;
        for (int r = 0; r < rows; ++r) {
          ASSERT_EQ(std::memcmp(&out[r], &expected[r], sizeof(float)), 0)
              << k->name << " rows " << rows << " cols " << cols << " row " << r << ": " << out[r]
              << " vs " << expected[r];
          denormal += std::fpclassify(expected[r]) == FP_SUBNORMAL;
        }
        ASSERT_GT(denormal, 0) << "rows " << rows << " cols " << cols;
      }
    }
  }
}

#if defined(EDGEOPT_HAVE_NEON)
// The loops above see the NEON kernels on the Arm builds (they run under qemu-user here).
TEST(RecurrentUkernels, ArmBuildsTestTheNeonKernels) {
  ASSERT_TRUE(GetCpuInfo().UseNeon());
  EXPECT_STREQ(GetKernels(GetCpuInfo()).name, "neon");
  EXPECT_STREQ(AllKernels().front()->name, "neon");
}
#endif

template <typename T>
void ExpectTimeDots(const Kernels& k, int n_filter, int n_memory, int32_t zp, std::mt19937* rng) {
  const int lo = std::numeric_limits<T>::min(), hi = std::numeric_limits<T>::max();
  std::uniform_int_distribution<int> dist(lo, hi);
  const size_t n = static_cast<size_t>(n_filter) * n_memory;
  std::vector<T> w(n), m(n);
  for (size_t i = 0; i < n; ++i) {
    w[i] = static_cast<T>(dist(*rng));
    m[i] = static_cast<T>(dist(*rng));
  }
  // The int32 overflow corner: every product at the extremes.
  for (int i = 0; i < n_memory; ++i) w[i] = m[i] = static_cast<T>(lo);
  std::vector<int32_t> out(n_filter + 1, 777);
  if constexpr (sizeof(T) == 2) {
    k.s16_time_dots(w.data(), m.data(), n_filter, n_memory, out.data());
  } else {
    k.s8_time_dots(w.data(), m.data(), zp, n_filter, n_memory, out.data());
  }
  for (int f = 0; f < n_filter; ++f) {
    int64_t dot = 0;
    for (int i = 0; i < n_memory; ++i) {
      const size_t at = static_cast<size_t>(f) * n_memory + i;
      dot += int64_t{w[at]} * (m[at] - zp);
    }
    ASSERT_EQ(out[f], ref::WrapToInt32(dot))
        << k.name << " " << sizeof(T) * 8 << "-bit, " << n_filter << " filters, memory " << n_memory
        << ", zp " << zp << ", filter " << f;
  }
  ASSERT_EQ(out[n_filter], 777) << k.name << ": wrote past the filters";
}

TEST(RecurrentUkernels, TimeDotsMatchDirectSums) {
  std::mt19937 rng(7);
  for (const Kernels* k : AllKernels()) {
    for (int n_filter : {1, 3, 64}) {
      for (int n_memory = 1; n_memory <= 25; ++n_memory) {
        ExpectTimeDots<int16_t>(*k, n_filter, n_memory, 0, &rng);
        for (int32_t zp : {-128, -3, 0, 127})
          ExpectTimeDots<int8_t>(*k, n_filter, n_memory, zp, &rng);
      }
    }
  }
}

// The vector gate kernels against the LSTM reference's two accumulations
// (ref::MulByQuantizedMultiplier on the wrapped sums, int16 saturation after each), for lengths
// around the vector widths, shifts across the range the kernels take, and sums that wrap, saturate
// and tie.
TEST(RecurrentUkernels, GateKernelsRepeatTheReferenceAccumulation) {
  std::mt19937 rng(9);
  std::uniform_int_distribution<int32_t> any(std::numeric_limits<int32_t>::min(),
                                             std::numeric_limits<int32_t>::max());
  std::uniform_int_distribution<int32_t> small(-(1 << 20), 1 << 20);
  std::uniform_int_distribution<int32_t> mult(1 << 30, std::numeric_limits<int32_t>::max());
  int tested = 0;
  for (const Kernels* k : AllKernels()) {
    if (k->s16_gate == nullptr) continue;
    for (int n : {1, 3, 4, 7, 8, 9, 16, 20, 33}) {
      for (int shift : {-31, -20, -12, -3, -1, 0, 1, 5, 31}) {
        const int32_t m_in = mult(rng), m_rec = mult(rng);
        const int s_in = shift, s_rec = -shift / 2;
        int32_t ms[2][16], ss[2][16];
        for (int l = 0; l < 16; ++l) {
          ms[0][l] = m_in;
          ss[0][l] = s_in;
          ms[1][l] = m_rec;
          ss[1][l] = s_rec;
        }
        uk::RequantBlock16 rq[2];
        for (int q = 0; q < 2; ++q) uk::PackRequantBlocks(16, ms[q], ss[q], &rq[q]);
        std::vector<int32_t> in_dots(n), in_bias(n), rec_dots(n), rec_bias(n);
        for (int i = 0; i < n; ++i) {
          // Mostly moderate sums (results inside int16), some anywhere (wrap and saturate).
          auto pick = [&]() { return i % 3 == 2 ? any(rng) : small(rng) >> (shift > 0 ? 12 : 0); };
          in_dots[i] = pick();
          in_bias[i] = pick();
          rec_dots[i] = pick();
          rec_bias[i] = pick();
        }
        // Ties of the right shift: sums that are odd multiples of half a step.
        if (n > 1 && shift < 0) {
          in_dots[1] = (1 << (-shift - 1)) * 3;
          in_bias[1] = 0;
        }
        std::vector<int16_t> out(n + 8, 777);
        k->s16_gate(in_dots.data(), in_bias.data(), rec_dots.data(), rec_bias.data(), n, rq,
                    out.data());
        for (int i = 0; i < n; ++i) {
          const int64_t v = std::min<int64_t>(
              32767,
              std::max<int64_t>(
                  -32768, ref::MulByQuantizedMultiplier(
                              ref::WrapToInt32(int64_t{in_bias[i]} + in_dots[i]), m_in, s_in)));
          const int64_t y =
              ref::MulByQuantizedMultiplier(ref::WrapToInt32(int64_t{rec_bias[i]} + rec_dots[i]),
                                            m_rec, s_rec) +
              v;
          ASSERT_EQ(out[i], std::min<int64_t>(32767, std::max<int64_t>(-32768, y)))
              << k->name << " n " << n << " shift " << shift << " element " << i;
        }
        ASSERT_EQ(out[n], 777) << k->name << ": wrote past n";
        ++tested;
      }
    }
  }
  ExpectVectorKernelsTested(tested, kBuiltStepKernels);
}

// The vector cell update against ref::MulShiftInt16 and the reference's saturation and clip:
// every rounding shift the cell scales give, with and without CIFG and clipping, lengths around
// the vector widths, extremes included.
TEST(RecurrentUkernels, CellKernelsRepeatTheReferenceUpdate) {
  std::mt19937 rng(13);
  std::uniform_int_distribution<int> any16(-32768, 32767), gate(0, 32767);
  int tested = 0;
  for (const Kernels* k : AllKernels()) {
    if (k->s16_cell == nullptr) continue;
    for (int n : {1, 5, 8, 15, 16, 17, 33}) {
      for (int ig_shift = 15; ig_shift <= 21; ++ig_shift) {
        for (int16_t clip : {int16_t{0}, int16_t{1000}, int16_t{32767}}) {
          for (bool cifg : {false, true}) {
            std::vector<int16_t> f(n), in(n), g(n), c(n + 16, 555);
            for (int i = 0; i < n; ++i) {
              f[i] = static_cast<int16_t>(gate(rng));
              in[i] = static_cast<int16_t>(gate(rng));
              g[i] = static_cast<int16_t>(any16(rng));
              c[i] = static_cast<int16_t>(any16(rng));
            }
            f[0] = 32767;
            g[0] = -32768;
            c[0] = -32768;
            const std::vector<int16_t> before = c;
            k->s16_cell(f.data(), cifg ? nullptr : in.data(), g.data(), n, ig_shift, clip,
                        c.data());
            for (int i = 0; i < n; ++i) {
              const int16_t fc = ref::MulShiftInt16(f[i], before[i], 15);
              const int16_t ii = cifg ? static_cast<int16_t>(32767 - f[i]) : in[i];
              int16_t want =
                  ref::SaturateInt16(int32_t{fc} + ref::MulShiftInt16(ii, g[i], ig_shift));
              if (clip > 0) want = std::max<int16_t>(-clip, std::min<int16_t>(clip, want));
              ASSERT_EQ(c[i], want) << k->name << " n " << n << " shift " << ig_shift << " clip "
                                    << clip << " cifg " << cifg << " element " << i;
            }
            ASSERT_EQ(c[n], 555) << k->name << ": wrote past n";
            ++tested;
          }
        }
      }
    }
  }
  ExpectVectorKernelsTested(tested, kBuiltStepKernels);
}

// The vector hidden state against the reference's requantization of o * tanh(c), for
// multipliers and shifts across the range, every zero point the kernel takes, and lengths
// around the vector widths.
TEST(RecurrentUkernels, HiddenKernelsRepeatTheReference) {
  std::mt19937 rng(17);
  std::uniform_int_distribution<int> any16(-32768, 32767), gate(0, 32767);
  std::uniform_int_distribution<int32_t> mult(1 << 30, std::numeric_limits<int32_t>::max());
  int tested = 0;
  for (const Kernels* k : AllKernels()) {
    if (k->s8_hidden == nullptr) continue;
    for (int n : {1, 7, 8, 9, 20, 33}) {
      for (int shift : {-31, -23, -22, -15, -1, 0, 3}) {
        for (int32_t zp : {-128, -5, 0, 77, 128}) {
          const int32_t m = mult(rng);
          int32_t ms[16], ss[16];
          for (int l = 0; l < 16; ++l) {
            ms[l] = m;
            ss[l] = shift;
          }
          uk::RequantBlock16 rq;
          uk::PackRequantBlocks(16, ms, ss, &rq);
          std::vector<int16_t> o(n), t(n);
          for (int i = 0; i < n; ++i) {
            o[i] = static_cast<int16_t>(gate(rng));
            t[i] = static_cast<int16_t>(any16(rng));
          }
          o[0] = 32767;
          t[0] = -32768;
          std::vector<int8_t> out(n + 8, 55);
          k->s8_hidden(o.data(), t.data(), n, &rq, zp, out.data());
          for (int i = 0; i < n; ++i) {
            const int64_t y =
                int64_t{ref::MulByQuantizedMultiplier(int32_t{o[i]} * t[i], m, shift)} + zp;
            ASSERT_EQ(out[i], std::min<int64_t>(127, std::max<int64_t>(-128, y)))
                << k->name << " n " << n << " shift " << shift << " zp " << zp << " element " << i;
          }
          ASSERT_EQ(out[n], 55) << k->name << ": wrote past n";
          ++tested;
        }
      }
    }
  }
  ExpectVectorKernelsTested(tested, kBuiltStepKernels);
}

// The vector hybrid output stage against the reference loop bit for bit: with and without the
// zero-point correction, corrections that saturate int32 either way, lengths around the vector
// widths (the tail must leave the rest of `out` alone).
TEST(RecurrentUkernels, HybridAccumulateRepeatsTheReference) {
  std::mt19937 rng(19);
  std::uniform_int_distribution<int32_t> dot(-(1 << 24), 1 << 24), sum(-40000, 40000);
  std::uniform_real_distribution<float> u(-3.0f, 3.0f);
  int tested = 0;
  for (const Kernels* k : AllKernels()) {
    if (k->f32_hybrid_accumulate == nullptr) continue;
    for (int n : {1, 3, 4, 7, 8, 9, 16, 31, 64}) {
      for (int variant = 0; variant < 3; ++variant) {
        const bool corrected = variant > 0;
        // variant 2: offsets large enough that row_sums * offset leaves int32 both ways.
        const float offset = variant == 2 ? 1.0e6f : static_cast<float>(dot(rng) % 128);
        const float scale = 1e-4f * (1.0f + u(rng) * u(rng));
        std::vector<int32_t> dots(n), sums(n);
        std::vector<float> out(n + 8), want;
        for (int i = 0; i < n; ++i) {
          dots[i] = dot(rng);
          sums[i] = variant == 2 ? (i % 2 == 0 ? 1 << 20 : -(1 << 20)) : sum(rng);
          out[i] = u(rng);
        }
        for (int i = n; i < n + 8; ++i) out[i] = 42.0f;
        want = out;
        for (int i = 0; i < n; ++i) {
          int32_t d = dots[i];
          if (corrected) {
            d = ref::SaturatingToInt32(static_cast<float>(dots[i]) -
                                       static_cast<float>(sums[i]) * offset);
          }
          want[i] += static_cast<float>(d) * scale;
        }
        k->f32_hybrid_accumulate(dots.data(), corrected ? sums.data() : nullptr, offset, scale, n,
                                 out.data());
        ASSERT_EQ(0, std::memcmp(out.data(), want.data(), sizeof(float) * out.size()))
            << k->name << " n " << n << " variant " << variant;
        ++tested;
      }
    }
  }
  ExpectVectorKernelsTested(tested, kBuiltHybridKernel);
}

// Every kernel set's half tables (the vector ones compute gemmlowp's fixed-point steps on 8 or 16
// lanes), exactly the reference's for every input; the buffer is exactly kActivationHalfSize long,
// so a store past it shows under ASan.
TEST(RecurrentUkernels, HalfTablesOfEveryKernelSetAreTheReference) {
  std::vector<int16_t> x(32769), want(32769);
  for (int i = 0; i < 32768; ++i) x[i] = static_cast<int16_t>(i);
  x[32768] = -32768;
  for (const Kernels* k : AllKernels()) {
    SCOPED_TRACE(k->name);
    for (int bits = -1; bits <= 6; ++bits) {
      std::vector<int16_t> got(kActivationHalfSize, 0x5555);
      k->activation_half(bits, got.data());
      if (bits < 0) {
        ref::SigmoidInt16(x.data(), 32769, want.data());
      } else {
        ref::TanhInt16(bits, x.data(), 32769, want.data());
      }
      for (int i = 0; i < 32769; ++i) {
        ASSERT_EQ(got[i], want[i])
            << (bits < 0 ? "sigmoid" : "tanh") << " with " << bits << " integer bits of " << x[i];
      }
    }
  }
}

TEST(RecurrentUkernels, TablesHoldTheReferenceActivations) {
  std::vector<int16_t> x(1 << 16), y(1 << 16);
  for (int i = 0; i < (1 << 16); ++i) x[i] = static_cast<int16_t>(i - 32768);
  std::vector<int16_t> looked_up(x.size());
  ref::SigmoidInt16(x.data(), static_cast<int>(x.size()), y.data());
  const int16_t* sigmoid = SigmoidQ3Table(GetCpuInfo());
  ASSERT_NE(sigmoid, nullptr);
  LookUp(sigmoid, x.data(), static_cast<int>(x.size()), looked_up.data());
  for (size_t i = 0; i < x.size(); ++i) {
    ASSERT_EQ(looked_up[i], y[i]) << "sigmoid of " << x[i];
  }
  for (int bits = 0; bits <= 6; ++bits) {
    ref::TanhInt16(bits, x.data(), static_cast<int>(x.size()), y.data());
    const int16_t* tanh = TanhTable(bits, GetCpuInfo());
    ASSERT_NE(tanh, nullptr);
    LookUp(tanh, x.data(), static_cast<int>(x.size()), looked_up.data());
    for (size_t i = 0; i < x.size(); ++i) {
      ASSERT_EQ(looked_up[i], y[i]) << "tanh with " << bits << " integer bits of " << x[i];
    }
  }
}

}  // namespace
}  // namespace recurrent
}  // namespace rt
}  // namespace edgeopt
