// The NEON microkernels called directly against scalar models of the reference arithmetic, on
// random shapes around every tile edge: rows 1..MR, channels 1..NR and 1..3 blocks of 16, k
// around the 4-byte groups, 1..9 taps; element counts around the 16-element step, in place.
// Integer (and hybrid) results must be identical; the FMA float kernels within 1e-5 relative.
// (The interpreter-level tests, optimized_conv_test.cc and optimized_elementwise_test.cc, run
// the same kernels through the ops against the reference kernels.)
#if defined(EDGEOPT_HAVE_NEON)

#include "src/runtime/kernels/ukernels/neon/neon_ukernels.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <limits>
#include <random>
#include <vector>

#include "src/runtime/cpu_info.h"
#include "src/runtime/kernels/ukernels/configs.h"
#include "src/runtime/kernels/ukernels/igemm_test_util.h"
#include "src/runtime/kernels/ukernels/neon/requant_neon.h"
#include "src/runtime/kernels/ukernels/pack.h"

namespace edgeopt {
namespace rt {
namespace uk {
namespace {

using testing::CheckQD8IGemm;
using testing::CheckQS8IGemm;
using testing::Rand;
using testing::RandomRequant;
using testing::Wrap;

// Prepare-time selection: with NEON every op family gets a NEON config (so the interpreter-level
// optimized tests exercise these kernels); EDGEOPT_CPU=scalar-style caps get none.
TEST(NeonUKernels, ConfigsChooseNeon) {
  const CpuInfo& cpu = GetCpuInfo();
  ASSERT_TRUE(cpu.UseNeon());
  for (int n : {1, 8, 16, 17, 64}) {
    const QS8GemmConfig* q = GetQS8GemmConfig(cpu, n);
    const F32GemmConfig* f = GetF32GemmConfig(cpu, n);
    ASSERT_NE(q, nullptr);
    ASSERT_NE(f, nullptr);
    EXPECT_NE(std::strstr(q->name, "neon"), nullptr) << q->name;
    EXPECT_NE(std::strstr(f->name, "neon"), nullptr) << f->name;
    EXPECT_EQ(std::strstr(q->name, "neondot") != nullptr, cpu.neon_dotprod) << q->name;
    if (n == 16) std::printf("n=16: %s, %s\n", q->name, f->name);
  }
  ASSERT_NE(GetQS8DwConfig(cpu), nullptr);
  ASSERT_NE(GetF32DwConfig(cpu), nullptr);
  ASSERT_NE(GetQuantElementwiseConfig(cpu), nullptr);
  std::printf("%s, %s, %s\n", GetQS8DwConfig(cpu)->name, GetF32DwConfig(cpu)->name,
              GetQuantElementwiseConfig(cpu)->name);
  const CpuInfo scalar = ScalarCpuInfo();
  EXPECT_EQ(GetQS8GemmConfig(scalar, 16), nullptr);
  EXPECT_EQ(GetF32GemmConfig(scalar, 16), nullptr);
  EXPECT_EQ(GetQuantElementwiseConfig(scalar), nullptr);
}

// Both roundings on exact ties (multipliers 2^30 and 3 * 2^29, small accumulators), extreme
// accumulators, left shifts, and random constants, against the 64-bit scalar model.
TEST(NeonUKernels, RequantizeMatchesScalarModel) {
  Rand r(40);
  int32_t m[16], s[16];
  for (int round = 0; round < 40; ++round) {
    for (int l = 0; l < 16; ++l) {
      m[l] = round < 10 ? (l % 2 ? int32_t{3} << 29 : int32_t{1} << 30)
                        : (int32_t{1} << 30) + static_cast<int32_t>(r.g() % (1u << 30));
      s[l] = round % 3 == 0 ? r.Int(0, 4) : -r.Int(0, 31);
    }
    RequantBlock16 b;
    PackRequantBlocks(16, m, s, &b);
    for (int iter = 0; iter < 200; ++iter) {
      int32_t acc[16];
      for (int l = 0; l < 16; ++l) {
        acc[l] = iter < 100   ? r.Int(-1000, 1000)
                 : iter < 110 ? (r.Int(0, 1) ? std::numeric_limits<int32_t>::min()
                                             : std::numeric_limits<int32_t>::max())
                              : static_cast<int32_t>(r.g());
      }
      for (int q = 0; q < 4; ++q) {
        const neon::Requant4 rq = neon::LoadRequant4(&b, q);
        int32_t ruy[4], ref[4];
        vst1q_s32(ruy, neon::Requantize4<true>(vld1q_s32(acc + 4 * q), rq));
        vst1q_s32(ref, neon::Requantize4<false>(vld1q_s32(acc + 4 * q), rq));
        for (int j = 0; j < 4; ++j) {
          const int l = 4 * q + j;
          ASSERT_EQ(ruy[j], RequantizeScalar(acc[l], b, l, true)) << acc[l] << " lane " << l;
          ASSERT_EQ(ref[j], RequantizeScalar(acc[l], b, l, false)) << acc[l] << " lane " << l;
        }
      }
    }
  }
}

// ---- qs8 / qd8 IGEMM ------------------------------------------------------------------------

TEST(NeonUKernels, QS8IGemm) {
  CheckQS8IGemm(neon::qs8_igemm_minmax_ukernel_4x16c4__neon_mlal, 4, 1);
  CheckQS8IGemm(neon::qs8_igemm_minmax_ukernel_2x16c4__neon_mlal, 2, 2);
  CheckQS8IGemm(neon::qs8_igemm_minmax_ukernel_1x16c4__neon_mlal, 1, 3);
  // At most 8 channels: half of each block.
  CheckQS8IGemm(neon::qs8_igemm_minmax_ukernel_4x8c4__neon_mlal, 4, 11, /*max_nc=*/8);
  CheckQS8IGemm(neon::qs8_igemm_minmax_ukernel_2x8c4__neon_mlal, 2, 12, /*max_nc=*/8);
}

#if defined(__aarch64__)
TEST(NeonUKernels, QS8IGemmDotProduct) {
  if (!GetCpuInfo().neon_dotprod) GTEST_SKIP() << "no dot-product extension";
  CheckQS8IGemm(neon::qs8_igemm_minmax_ukernel_4x16c4__neondot, 4, 7);
  CheckQS8IGemm(neon::qs8_igemm_minmax_ukernel_1x16c4__neondot, 1, 8);
  CheckQD8IGemm(neon::qd8_f32_igemm_minmax_ukernel_4x16c4__neondot, 4, 9);
  CheckQD8IGemm(neon::qd8_f32_igemm_minmax_ukernel_1x16c4__neondot, 1, 10);
  CheckQS8IGemm(neon::qs8_igemm_minmax_ukernel_4x8c4__neondot, 4, 13, /*max_nc=*/8);
  CheckQD8IGemm(neon::qd8_f32_igemm_minmax_ukernel_4x8c4__neondot, 4, 14, /*max_nc=*/8);
}
#endif

TEST(NeonUKernels, QD8IGemm) {
  CheckQD8IGemm(neon::qd8_f32_igemm_minmax_ukernel_4x16c4__neon_mlal, 4, 4);
  CheckQD8IGemm(neon::qd8_f32_igemm_minmax_ukernel_2x16c4__neon_mlal, 2, 5);
  CheckQD8IGemm(neon::qd8_f32_igemm_minmax_ukernel_1x16c4__neon_mlal, 1, 6);
  CheckQD8IGemm(neon::qd8_f32_igemm_minmax_ukernel_4x8c4__neon_mlal, 4, 15, /*max_nc=*/8);
  CheckQD8IGemm(neon::qd8_f32_igemm_minmax_ukernel_2x8c4__neon_mlal, 2, 16, /*max_nc=*/8);
}

// ---- f32 IGEMM ------------------------------------------------------------------------------

enum class F32Mode { kFma, kExact, kGemv };

void CheckF32IGemm(F32IGemmFn fn, int kMR, int kNR, F32Mode mode, uint32_t seed) {
  Rand r(seed);
  for (int mr = 1; mr <= kMR; ++mr) {
    for (int nc : {1, 3, 4, 5, kNR - 1, kNR}) {
      if (nc < 1 || nc > kNR) continue;
      const int kc = r.Int(1, 21);
      const int taps = r.Int(1, 4);
      std::vector<float> weights(static_cast<size_t>(nc) * taps * kc), bias(nc);
      for (auto& w : weights) w = r.Float(-1.0f, 1.0f);
      for (auto& b : bias) b = r.Float(-1.0f, 1.0f);
      const bool has_bias = mode != F32Mode::kGemv || r.Int(0, 1) == 0;
      std::vector<float> packed(F32PackedBlockBytes(kNR, taps, kc) / sizeof(float));
      PackF32Gemm(kNR, nc, taps, kc, weights.data(), has_bias ? bias.data() : nullptr,
                  packed.data());
      std::vector<std::vector<float>> rows(static_cast<size_t>(mr) * taps);
      for (auto& row : rows) {
        row.resize(kc);
        for (auto& x : row) x = r.Float(-2.0f, 2.0f);
      }
      std::vector<const float*> a;
      for (int i = 0; i < kMR; ++i) {
        for (int t = 0; t < taps; ++t) {
          a.push_back(rows[static_cast<size_t>(std::min(i, mr - 1)) * taps + t].data());
        }
      }
      const float lo = r.Int(0, 1) ? -std::numeric_limits<float>::infinity() : -1.0f;
      const float hi = r.Int(0, 1) ? std::numeric_limits<float>::infinity() : 1.0f;
      std::vector<float> result(static_cast<size_t>(kMR) * nc, 9.0f);
      F32IGemmArgs args{mr, nc, kc, taps,    a.data(), packed.data(), result.data(),
                        nc, lo, hi, has_bias};
      fn(args);
      for (int i = 0; i < mr; ++i) {
        for (int n = 0; n < nc; ++n) {
          auto w = [&](int t, int k) {
            return weights[(static_cast<size_t>(n) * taps + t) * kc + k];
          };
          const float* const* ai = a.data() + static_cast<size_t>(i) * taps;
          float want = 0.0f;
          double magnitude = std::abs(bias[n]);
          if (mode == F32Mode::kGemv) {
            // ref::GemvF32's order.
            const int K = taps * kc, k4 = K - K % 4;
            float s[4] = {0, 0, 0, 0};
            for (int g = 0; g < k4; ++g) s[g % 4] += ai[g / kc][g % kc] * w(g / kc, g % kc);
            want = (s[0] + s[2]) + (s[1] + s[3]);
            for (int g = k4; g < K; ++g) want += ai[g / kc][g % kc] * w(g / kc, g % kc);
            if (has_bias) want += bias[n];
          } else {
            for (int t = 0; t < taps; ++t) {
              for (int k = 0; k < kc; ++k) {
                want += ai[t][k] * w(t, k);
                magnitude += std::abs(ai[t][k] * w(t, k));
              }
            }
            want += bias[n];
          }
          want = std::min(std::max(want, lo), hi);
          const float got = result[static_cast<size_t>(i) * nc + n];
          if (mode == F32Mode::kFma) {
            ASSERT_NEAR(got, want, 1e-5 * std::max(1.0, magnitude)) << "row " << i << " col " << n;
          } else {
            ASSERT_EQ(got, want) << "mr " << mr << " nc " << nc << " row " << i << " col " << n;
          }
        }
      }
      for (int i = mr; i < kMR; ++i) ASSERT_EQ(result[static_cast<size_t>(i) * nc], 9.0f);
    }
  }
}

TEST(NeonUKernels, F32IGemm) {
  CheckF32IGemm(neon::f32_igemm_minmax_ukernel_6x8__neonfma, 6, 8, F32Mode::kFma, 10);
  CheckF32IGemm(neon::f32_igemm_minmax_ukernel_4x16__neonfma, 4, 16, F32Mode::kFma, 11);
  CheckF32IGemm(neon::f32_igemm_minmax_ukernel_4x8__neonfma, 4, 8, F32Mode::kFma, 12);
  CheckF32IGemm(neon::f32_igemm_exact_ukernel_6x8__neon, 6, 8, F32Mode::kExact, 13);
  CheckF32IGemm(neon::f32_igemm_exact_ukernel_4x16__neon, 4, 16, F32Mode::kExact, 14);
  CheckF32IGemm(neon::f32_igemm_exact_ukernel_4x8__neon, 4, 8, F32Mode::kExact, 15);
  CheckF32IGemm(neon::f32_gemv_exact_ukernel_1x8__neon, 1, 8, F32Mode::kGemv, 16);
  CheckF32IGemm(neon::f32_gemv_exact_ukernel_1x16__neon, 1, 16, F32Mode::kGemv, 17);
}

// ---- depthwise ------------------------------------------------------------------------------

struct DwShape {
  int channels, kh, kw, width;
};

DwShape RandomDwShape(Rand& r) {
  const int channels[] = {1, 3, 4, 8, 15, 16, 17, 31, 32, 33, 40};
  DwShape s;
  s.channels = channels[r.Int(0, 10)];
  s.kh = r.Int(1, 3);
  s.kw = r.Int(1, 3);
  s.width = r.Int(1, 4);
  return s;
}

// Input pointers: pixel x, tap t -> its own buffer of exactly `channels` elements.
template <typename T>
struct DwInput {
  std::vector<std::vector<T>> buffers;
  std::vector<const void*> ptrs;
};

template <typename T, typename Gen>
DwInput<T> MakeDwInput(const DwShape& s, Gen gen) {
  DwInput<T> in;
  const int taps = s.kh * s.kw;
  in.buffers.resize(static_cast<size_t>(s.width) * taps);
  for (auto& b : in.buffers) {
    b.resize(s.channels);
    for (auto& v : b) v = gen();
  }
  for (auto& b : in.buffers) in.ptrs.push_back(b.data());
  return in;
}

void CheckQS8Dw(bool is_signed, uint32_t seed) {
  Rand r(seed);
  for (int iter = 0; iter < 40; ++iter) {
    const DwShape s = RandomDwShape(r);
    const int taps = s.kh * s.kw;
    std::vector<uint8_t> weights(static_cast<size_t>(taps) * s.channels);
    for (auto& w : weights) w = static_cast<uint8_t>(r.g());
    std::vector<int32_t> bias(s.channels), mult, shift;
    for (auto& b : bias) b = r.Int(-20000, 20000);
    RandomRequant(r, s.channels, &mult, &shift);
    QS8DwPackSource src;
    src.weights = weights.data();
    src.weights_unsigned = !is_signed;
    src.weight_zero_point = is_signed ? 0 : r.Int(100, 150);
    src.bias = bias.data();
    src.input_zero_point = is_signed ? r.Int(-20, 20) : r.Int(100, 150);
    src.multiplier = mult.data();
    src.shift = shift.data();
    const int blocks = DivideRoundUp(s.channels, 16);
    std::vector<RequantBlock16> packed_storage(
        (QS8DwPackedBlockBytes(taps) * blocks + sizeof(RequantBlock16) - 1) /
        sizeof(RequantBlock16));
    PackQS8Dw(s.channels, s.kh, s.kw, src, packed_storage.data());
    std::vector<RequantBlock16> rq(blocks);
    PackRequantBlocks(s.channels, mult.data(), shift.data(), rq.data());
    DwInput<uint8_t> in = MakeDwInput<uint8_t>(s, [&] { return static_cast<uint8_t>(r.g()); });
    QuantOutput q;
    q.zero_point = is_signed ? r.Int(-10, 10) : r.Int(100, 150);
    q.lo = (is_signed ? -128 : 0) - q.zero_point;
    q.hi = (is_signed ? 127 : 255) - q.zero_point;
    const int stride = s.channels + r.Int(0, 3);
    std::vector<uint8_t> out(static_cast<size_t>(s.width) * stride, 0xAA);
    QS8DwArgs args{s.channels, s.width, taps, taps, in.ptrs.data(), packed_storage.data(),
                   out.data(), stride,  &q};
    (is_signed ? neon::qs8_dwconv_minmax_ukernel_up16__neon_mlal
               : neon::qu8_dwconv_minmax_ukernel_up16__neon_mlal)(args);
    for (int x = 0; x < s.width; ++x) {
      for (int c = 0; c < stride; ++c) {
        const uint8_t got = out[static_cast<size_t>(x) * stride + c];
        if (c >= s.channels) {
          ASSERT_EQ(got, 0xAA);
          continue;
        }
        int64_t acc = bias[c];
        for (int t = 0; t < taps; ++t) {
          const int fx = t / s.kh, fy = t % s.kh;
          const uint8_t xr = in.buffers[static_cast<size_t>(x) * taps + t][c];
          const uint8_t wr = weights[static_cast<size_t>(fy * s.kw + fx) * s.channels + c];
          const int32_t xv = is_signed ? int32_t{int8_t(xr)} : int32_t{xr};
          const int32_t wv = is_signed ? int32_t{int8_t(wr)} : int32_t{wr} - src.weight_zero_point;
          acc += int64_t{xv - src.input_zero_point} * wv;
        }
        const int32_t v = RequantizeScalar(Wrap(acc), rq[c / 16], c % 16, false);
        const int32_t want = std::min(std::max(v, q.lo), q.hi) + q.zero_point;
        ASSERT_EQ(got, static_cast<uint8_t>(want))
            << "channels " << s.channels << " taps " << taps << " x " << x << " c " << c;
      }
    }
  }
}

TEST(NeonUKernels, QS8DwConv) {
  CheckQS8Dw(true, 20);
  CheckQS8Dw(false, 21);
}

TEST(NeonUKernels, F32DwConvIsBitExact) {
  Rand r(22);
  for (int iter = 0; iter < 40; ++iter) {
    const DwShape s = RandomDwShape(r);
    const int taps = s.kh * s.kw;
    std::vector<float> weights(static_cast<size_t>(taps) * s.channels), bias(s.channels);
    for (auto& w : weights) w = r.Float(-1.0f, 1.0f);
    for (auto& b : bias) b = r.Float(-1.0f, 1.0f);
    std::vector<float> packed(F32DwPackedBlockBytes(taps) / 4 * DivideRoundUp(s.channels, 16));
    PackF32Dw(s.channels, s.kh, s.kw, weights.data(), bias.data(), packed.data());
    DwInput<float> in = MakeDwInput<float>(s, [&] { return r.Float(-3.0f, 3.0f); });
    std::vector<const float*> ptrs;
    for (const void* p : in.ptrs) ptrs.push_back(static_cast<const float*>(p));
    std::vector<float> out(static_cast<size_t>(s.width) * s.channels);
    const float lo = -2.0f, hi = r.Int(0, 1) ? 2.0f : std::numeric_limits<float>::infinity();
    F32DwArgs args{s.channels,    s.width,    taps,       s.kh, taps, ptrs.data(),
                   packed.data(), out.data(), s.channels, lo,   hi};
    neon::f32_dwconv_minmax_ukernel_up16__neon(args);
    for (int x = 0; x < s.width; ++x) {
      for (int c = 0; c < s.channels; ++c) {
        float acc = bias[c];
        for (int fy = 0; fy < s.kh; ++fy) {
          for (int fx = 0; fx < s.kw; ++fx) {
            const int t = fx * s.kh + fy;
            acc += in.buffers[static_cast<size_t>(x) * taps + t][c] *
                   weights[static_cast<size_t>(fy * s.kw + fx) * s.channels + c];
          }
        }
        ASSERT_EQ(out[static_cast<size_t>(x) * s.channels + c], std::min(std::max(acc, lo), hi));
      }
    }
  }
}

TEST(NeonUKernels, QD8DwConv) {
  Rand r(23);
  for (int iter = 0; iter < 30; ++iter) {
    const DwShape s = RandomDwShape(r);
    const int taps = s.kh * s.kw;
    std::vector<int8_t> weights(static_cast<size_t>(taps) * s.channels);
    for (auto& w : weights) w = static_cast<int8_t>(r.g());
    std::vector<uint8_t> packed(QD8DwPackedBlockBytes(taps) * DivideRoundUp(s.channels, 16));
    std::vector<int32_t> sums(s.channels), col(s.channels);
    PackQD8Dw(s.channels, s.kh, s.kw, weights.data(), packed.data(), sums.data());
    const int32_t zp = r.Int(-5, 5);
    for (int c = 0; c < s.channels; ++c) col[c] = Wrap(-int64_t{zp} * sums[c]);
    std::vector<float> fscale(s.channels), bias(s.channels);
    for (auto& f : fscale) f = r.Float(1e-3f, 1e-2f);
    for (auto& b : bias) b = r.Float(-1.0f, 1.0f);
    const bool has_bias = r.Int(0, 1) == 0;
    DwInput<int8_t> in = MakeDwInput<int8_t>(s, [&] { return static_cast<int8_t>(r.g()); });
    std::vector<const int8_t*> ptrs;
    for (const void* p : in.ptrs) ptrs.push_back(static_cast<const int8_t*>(p));
    std::vector<float> out(static_cast<size_t>(s.width) * s.channels);
    const float in_scale = r.Float(0.01f, 0.1f);
    QD8DwArgs args{s.channels,
                   s.width,
                   taps,
                   taps,
                   ptrs.data(),
                   packed.data(),
                   out.data(),
                   s.channels,
                   col.data(),
                   in_scale,
                   fscale.data(),
                   has_bias ? bias.data() : nullptr,
                   -std::numeric_limits<float>::infinity(),
                   3.0f};
    neon::qd8_f32_dwconv_minmax_ukernel_up16__neon_mlal(args);
    for (int x = 0; x < s.width; ++x) {
      for (int c = 0; c < s.channels; ++c) {
        int64_t acc = col[c];
        for (int t = 0; t < taps; ++t) {
          const int fx = t / s.kh, fy = t % s.kh;
          acc += int64_t{in.buffers[static_cast<size_t>(x) * taps + t][c]} *
                 weights[static_cast<size_t>(fy * s.kw + fx) * s.channels + c];
        }
        float v = (static_cast<float>(Wrap(acc)) * in_scale) * fscale[c];
        if (has_bias) v += bias[c];
        ASSERT_EQ(out[static_cast<size_t>(x) * s.channels + c], std::min(v, 3.0f));
      }
    }
  }
}

// ---- element-wise ---------------------------------------------------------------------------

RequantBlock16 Uniform(int32_t m, int32_t s) {
  int32_t ms[16], ss[16];
  for (int i = 0; i < 16; ++i) {
    ms[i] = m;
    ss[i] = s;
  }
  RequantBlock16 b;
  PackRequantBlocks(16, ms, ss, &b);
  return b;
}

const size_t kCounts[] = {1, 2, 15, 16, 17, 31, 32, 33, 47, 100};

TEST(NeonUKernels, QuantizedAddInPlace) {
  Rand r(30);
  for (bool is_signed : {true, false}) {
    for (size_t n : kCounts) {
      for (int variant = 0; variant < 3; ++variant) {  // out == a, out == b, b scalar in place
        QS8VAddParams p;
        int32_t m, s;
        m = (int32_t{1} << 30) + r.Int(0, 1 << 29);
        p.a = Uniform(m, -r.Int(1, 3));
        p.b = Uniform((int32_t{1} << 30) + r.Int(0, 1 << 29), -r.Int(1, 3));
        s = -r.Int(18, 22);
        p.out = Uniform((int32_t{1} << 30) + r.Int(0, 1 << 29), s);
        const int32_t base = is_signed ? 0 : 128;
        p.a_zero_point = base + r.Int(-10, 10);
        p.b_zero_point = base + r.Int(-10, 10);
        p.subtract = r.Int(0, 1) == 0;
        p.q.zero_point = base + r.Int(-10, 10);
        p.q.lo = (is_signed ? -128 : 0) - p.q.zero_point;
        p.q.hi = (is_signed ? 127 : 255) - p.q.zero_point;
        std::vector<uint8_t> a(n), b(n);
        for (auto& v : a) v = static_cast<uint8_t>(r.g());
        for (auto& v : b) v = static_cast<uint8_t>(r.g());
        const bool scalar = variant == 2;
        std::vector<uint8_t> want(n);
        auto value = [&](uint8_t v) { return is_signed ? int32_t{int8_t(v)} : int32_t{v}; };
        for (size_t i = 0; i < n; ++i) {
          const int32_t xa = Wrap(int64_t{value(a[i]) - p.a_zero_point} << p.left_shift);
          const int32_t xb =
              Wrap(int64_t{value(scalar ? b[0] : b[i]) - p.b_zero_point} << p.left_shift);
          const int32_t sa = RequantizeScalar(xa, p.a, 0, false);
          const int32_t sb = RequantizeScalar(xb, p.b, 0, false);
          const int32_t raw = p.subtract ? sa - sb : sa + sb;
          const int32_t v = RequantizeScalar(raw, p.out, 0, false);
          want[i] = static_cast<uint8_t>(std::min(std::max(v, p.q.lo), p.q.hi) + p.q.zero_point);
        }
        uint8_t* out = variant == 1 ? b.data() : a.data();
        (is_signed
             ? neon::qs8_vadd_minmax_ukernel__neon_u16
             : neon::qu8_vadd_minmax_ukernel__neon_u16)(n, a.data(), b.data(), scalar, out, &p);
        for (size_t i = 0; i < n; ++i) ASSERT_EQ(out[i], want[i]) << "n " << n << " i " << i;
      }
    }
  }
}

TEST(NeonUKernels, QuantizeMatchesDoubleDivision) {
  Rand r(31);
  for (bool is_signed : {true, false}) {
    for (size_t n : kCounts) {
      F32QuantizeParams p;
      p.scale = r.Float(0.001f, 0.2f);
      p.inv_scale = 1.0f / p.scale;
      p.zero_point = is_signed ? r.Int(-20, 20) : r.Int(100, 150);
      p.qmin = is_signed ? -128 : 0;
      p.qmax = is_signed ? 127 : 255;
      std::vector<float> x(n);
      for (size_t i = 0; i < n; ++i) {
        switch (r.Int(0, 5)) {
          case 0:  // exactly half-way quotients and their neighbours
            x[i] = (static_cast<float>(r.Int(-60, 60)) + 0.5f) * p.scale;
            break;
          case 1:
            x[i] = std::nextafter((static_cast<float>(r.Int(-60, 60)) + 0.5f) * p.scale, 1e9f);
            break;
          case 2:
            x[i] = r.Int(0, 1) ? std::numeric_limits<float>::quiet_NaN() : r.Float(-1e9f, 1e9f);
            break;
          default:
            x[i] = r.Float(-200.0f, 200.0f) * p.scale;
            break;
        }
      }
      std::vector<uint8_t> out(n);
      (is_signed ? neon::f32_qs8_vcvt_ukernel__neon_u16 : neon::f32_qu8_vcvt_ukernel__neon_u16)(
          n, x.data(), out.data(), &p);
      for (size_t i = 0; i < n; ++i) {
        const double q = std::round(static_cast<double>(x[i]) / static_cast<double>(p.scale));
        int64_t v = std::isnan(q) ? 0 : static_cast<int64_t>(std::max(-1e10, std::min(1e10, q)));
        v = std::min<int64_t>(std::max<int64_t>(v + p.zero_point, p.qmin), p.qmax);
        ASSERT_EQ(out[i], static_cast<uint8_t>(v)) << "x " << x[i] << " scale " << p.scale;
      }
    }
  }
}

TEST(NeonUKernels, RequantizeAndDequantizeInPlace) {
  Rand r(32);
  for (int in_signed = 0; in_signed < 2; ++in_signed) {
    for (int out_signed = 0; out_signed < 2; ++out_signed) {
      for (size_t n : kCounts) {
        Q8RequantizeParams p;
        p.rq = Uniform((int32_t{1} << 30) + r.Int(0, 1 << 29), r.Int(-3, 1));
        p.input_zero_point = in_signed ? r.Int(-10, 10) : r.Int(100, 150);
        p.q.zero_point = out_signed ? r.Int(-10, 10) : r.Int(100, 150);
        p.q.lo = (out_signed ? -128 : 0) - p.q.zero_point;
        p.q.hi = (out_signed ? 127 : 255) - p.q.zero_point;
        std::vector<uint8_t> x(n);
        for (auto& v : x) v = static_cast<uint8_t>(r.g());
        std::vector<uint8_t> want(n);
        for (size_t i = 0; i < n; ++i) {
          const int32_t xv = in_signed ? int32_t{int8_t(x[i])} : int32_t{x[i]};
          const int32_t v = RequantizeScalar(xv - p.input_zero_point, p.rq, 0, false);
          want[i] = static_cast<uint8_t>(std::min(std::max(v, p.q.lo), p.q.hi) + p.q.zero_point);
        }
        const Q8RequantizeFn fns[2][2] = {
            {neon::q8_requantize_ukernel__neon_u8u8, neon::q8_requantize_ukernel__neon_u8s8},
            {neon::q8_requantize_ukernel__neon_s8u8, neon::q8_requantize_ukernel__neon_s8s8}};
        std::vector<uint8_t> original = x;
        fns[in_signed][out_signed](n, x.data(), x.data(), &p);  // in place
        for (size_t i = 0; i < n; ++i) ASSERT_EQ(x[i], want[i]) << "n " << n << " i " << i;

        const float scale = r.Float(0.001f, 1.0f);
        std::vector<float> f(n, -1.0f);
        (in_signed ? neon::qs8_f32_vcvt_ukernel__neon_u16 : neon::qu8_f32_vcvt_ukernel__neon_u16)(
            n, original.data(), f.data(), scale, p.input_zero_point);
        for (size_t i = 0; i < n; ++i) {
          const int32_t xv = in_signed ? int32_t{int8_t(original[i])} : int32_t{original[i]};
          ASSERT_EQ(f[i], scale * static_cast<float>(xv - p.input_zero_point));
        }
      }
    }
  }
}

TEST(NeonUKernels, XorCopyAndRowSums) {
  Rand r(33);
  for (size_t n :
       {size_t{1}, size_t{15}, size_t{16}, size_t{63}, size_t{64}, size_t{65}, size_t{200}}) {
    std::vector<int8_t> src(n);
    for (auto& v : src) v = static_cast<int8_t>(r.g());
    std::vector<uint8_t> dst(n);
    neon::xor80_copy_ukernel__neon(src.data(), dst.data(), n);
    for (size_t i = 0; i < n; ++i) ASSERT_EQ(dst[i], static_cast<uint8_t>(src[i]) ^ 0x80);
    const int channels = static_cast<int>(n);
    const int pixels = 3;
    const ptrdiff_t stride = channels + 5;
    std::vector<uint8_t> rows(static_cast<size_t>(pixels) * stride);
    for (auto& v : rows) v = static_cast<uint8_t>(r.g());
    int32_t sums[3];
    neon::u8_rowsum_ukernel__neon(rows.data(), pixels, channels, stride, sums);
    for (int p = 0; p < pixels; ++p) {
      int32_t want = 0;
      for (int c = 0; c < channels; ++c) want += rows[p * stride + c];
      ASSERT_EQ(sums[p], want);
    }
  }
}

}  // namespace
}  // namespace uk
}  // namespace rt
}  // namespace edgeopt

#endif  // EDGEOPT_HAVE_NEON
