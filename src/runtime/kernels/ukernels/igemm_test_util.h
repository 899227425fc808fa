// Direct tests of qs8 / qd8 IGEMM microkernels (any instruction set) against scalar models of
// the reference arithmetic, on random shapes around every tile edge: rows 1..MR, channels up to
// `max_nc` of one block of 16, k around the 4-byte groups, 1..9 taps. Results must be
// identical, and nothing may be written outside the mr x nc tile (sentinels).
#ifndef EDGEOPT_SRC_RUNTIME_KERNELS_UKERNELS_IGEMM_TEST_UTIL_H_
#define EDGEOPT_SRC_RUNTIME_KERNELS_UKERNELS_IGEMM_TEST_UTIL_H_

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <limits>
#include <random>
#include <vector>

#include "src/runtime/kernels/ukernels/pack.h"
#include "src/runtime/kernels/ukernels/ukernels.h"

namespace edgeopt {
namespace rt {
namespace uk {
namespace testing {

inline int32_t Wrap(int64_t x) { return static_cast<int32_t>(static_cast<uint32_t>(x)); }

struct Rand {
  std::mt19937 g;
  explicit Rand(uint32_t seed) : g(seed) {}
  int Int(int lo, int hi) {
    return lo + static_cast<int>(g() % static_cast<uint32_t>(hi - lo + 1));
  }
  float Float(float lo, float hi) {
    return lo + (hi - lo) * static_cast<float>(g() % 1000000) / 1000000.0f;
  }
};

// Per-channel requantization constants as QuantizeMultiplier makes them (m in [2^30, 2^31)).
inline void RandomRequant(Rand& r, int n, std::vector<int32_t>* m, std::vector<int32_t>* s) {
  m->resize(n);
  s->resize(n);
  for (int i = 0; i < n; ++i) {
    (*m)[i] = (int32_t{1} << 30) + static_cast<int32_t>(r.g() % (uint32_t{1} << 30));
    (*s)[i] = r.Int(0, 7) == 0 ? r.Int(0, 3) : r.Int(-16, -1);
  }
}

struct QS8Case {
  int mr, nc, kc, kcp, taps;
  bool weights_unsigned;
  int32_t zu, zwp;
  std::vector<uint8_t> weights;            // [nc][taps][kc]
  std::vector<std::vector<uint8_t>> rows;  // [MR * taps] of kcp bytes
  std::vector<const uint8_t*> a;           // row-major pointers
  std::vector<int32_t> bias, mult, shift;
  std::vector<int32_t> row_term;  // MR
  std::vector<int32_t> acc;       // expected accumulators [mr][nc]
};

inline QS8Case MakeQS8Case(Rand& r, int kMR, int mr, int nc, int kc, int taps) {
  QS8Case c;
  c.mr = mr;
  c.nc = nc;
  c.kc = kc;
  c.kcp = RoundUp(kc, 4);
  c.taps = taps;
  c.weights_unsigned = r.Int(0, 2) == 0;
  c.zu = r.Int(0, 255);
  c.zwp = c.weights_unsigned ? r.Int(0, 255) - 128 : 0;
  c.weights.resize(static_cast<size_t>(nc) * taps * kc);
  for (auto& w : c.weights) w = static_cast<uint8_t>(r.g());
  c.rows.resize(static_cast<size_t>(kMR) * taps);
  for (auto& row : c.rows) {
    row.resize(c.kcp);
    for (auto& b : row) b = static_cast<uint8_t>(r.g());
  }
  // Rows mr..MR-1 repeat the last real row, as the glue does.
  for (int i = 0; i < kMR; ++i) {
    for (int t = 0; t < taps; ++t) {
      c.a.push_back(c.rows[static_cast<size_t>(std::min(i, mr - 1)) * taps + t].data());
    }
  }
  c.bias.resize(nc);
  for (auto& b : c.bias) b = r.Int(-100000, 100000);
  RandomRequant(r, nc, &c.mult, &c.shift);
  c.row_term.assign(kMR, 0);
  c.acc.assign(static_cast<size_t>(mr) * nc, 0);
  for (int i = 0; i < kMR; ++i) {
    int64_t usum = 0;
    for (int t = 0; t < taps; ++t) {
      for (int k = 0; k < kc; ++k) usum += c.a[static_cast<size_t>(i) * taps + t][k];
    }
    c.row_term[i] = Wrap(-int64_t{c.zwp} * usum);
  }
  for (int i = 0; i < mr; ++i) {
    for (int n = 0; n < nc; ++n) {
      int64_t s = c.bias[n];
      for (int t = 0; t < taps; ++t) {
        for (int k = 0; k < kc; ++k) {
          const uint8_t raw = c.weights[(static_cast<size_t>(n) * taps + t) * kc + k];
          const int32_t wp = c.weights_unsigned ? int32_t{raw} - 128 : int32_t{int8_t(raw)};
          s += int64_t{c.a[static_cast<size_t>(i) * taps + t][k] - c.zu} * (wp - c.zwp);
        }
      }
      c.acc[static_cast<size_t>(i) * nc + n] = Wrap(s);
    }
  }
  return c;
}

inline void CheckQS8IGemm(QS8IGemmFn fn, int kMR, uint32_t seed, int max_nc = 16) {
  Rand r(seed);
  const int kcs[] = {1, 3, 4, 5, 8, 12, 17, 33};
  const int taps_list[] = {1, 1, 2, 3, 9};
  for (int mr = 1; mr <= kMR; ++mr) {
    for (int nc : {1, 3, 4, 5, 8, 12, 15, 16}) {
      if (nc > max_nc) continue;
      QS8Case c = MakeQS8Case(r, kMR, mr, nc, kcs[r.Int(0, 7)], taps_list[r.Int(0, 4)]);
      std::vector<uint8_t> packed(QS8PackedBlockBytes(16, c.taps, c.kcp) + 64);
      void* block = reinterpret_cast<void*>((reinterpret_cast<uintptr_t>(packed.data()) + 63) &
                                            ~uintptr_t{63});
      QS8PackSource src;
      src.weights = c.weights.data();
      src.weights_unsigned = c.weights_unsigned;
      src.bias = c.bias.data();
      src.zu = c.zu;
      src.zwp = c.zwp;
      src.multiplier = c.mult.data();
      src.shift = c.shift.data();
      PackQS8Gemm(16, nc, c.taps, c.kc, c.kcp, src, block);
      std::vector<RequantBlock16> rq(1);
      PackRequantBlocks(nc, c.mult.data(), c.shift.data(), rq.data());
      QuantOutput out;
      out.zero_point = r.Int(-20, 20);
      out.lo = -128 - out.zero_point + r.Int(0, 30);
      out.hi = 127 - out.zero_point - r.Int(0, 30);
      const int stride = nc + r.Int(0, 5);
      std::vector<int8_t> result(static_cast<size_t>(kMR) * stride, 0x55);
      const bool with_row = c.zwp != 0 || r.Int(0, 1) == 0;
      QS8IGemmArgs args{mr,
                        nc,
                        c.kcp,
                        c.taps,
                        c.a.data(),
                        block,
                        result.data(),
                        stride,
                        with_row ? c.row_term.data() : nullptr,
                        &out};
      fn(args);
      for (int i = 0; i < kMR; ++i) {
        for (int n = 0; n < stride; ++n) {
          const int8_t got = result[static_cast<size_t>(i) * stride + n];
          if (i >= mr || n >= nc) {
            ASSERT_EQ(got, 0x55) << "wrote outside the tile at row " << i << " column " << n;
            continue;
          }
          int32_t acc = c.acc[static_cast<size_t>(i) * nc + n];
          if (!with_row) acc = Wrap(int64_t{acc} - c.row_term[i]);  // the kernel adds none
          const int32_t v = RequantizeScalar(acc, rq[0], n, /*ruy_rounding=*/true);
          const int32_t want = std::min(std::max(v, out.lo), out.hi) + out.zero_point;
          ASSERT_EQ(got, static_cast<int8_t>(want))
              << "mr " << mr << " nc " << nc << " kc " << c.kc << " taps " << c.taps << " row " << i
              << " column " << n;
        }
      }
    }
  }
}

inline void CheckQD8IGemm(QD8IGemmFn fn, int kMR, uint32_t seed, int max_nc = 16) {
  Rand r(seed);
  for (int mr = 1; mr <= kMR; ++mr) {
    for (int nc : {1, 4, 7, 8, 16}) {
      if (nc > max_nc) continue;
      QS8Case c = MakeQS8Case(r, kMR, mr, nc, r.Int(1, 40), r.Int(1, 4));
      // The qd8 packing: int8 weights, zu = 128 (acc = sum q * w with q = u - 128).
      std::vector<uint8_t> packed(QD8PackedBlockBytes(16, c.taps, c.kcp));
      QS8PackSource src;
      src.weights = c.weights.data();
      src.zu = 128;
      PackQS8Gemm(16, nc, c.taps, c.kc, c.kcp, src, packed.data());
      std::vector<int32_t> col(nc);
      std::vector<float> scale(nc), bias(nc);
      for (int n = 0; n < nc; ++n) {
        col[n] = r.Int(-5000, 5000);
        scale[n] = r.Float(1e-4f, 1e-2f);
        bias[n] = r.Float(-2.0f, 2.0f);
      }
      const bool has_bias = r.Int(0, 1) == 0;
      const float lo = r.Int(0, 1) ? -std::numeric_limits<float>::infinity() : -1.0f;
      const float hi = r.Int(0, 1) ? std::numeric_limits<float>::infinity() : 1.5f;
      std::vector<float> result(static_cast<size_t>(kMR) * nc, 7.0f);
      QD8IGemmArgs args{mr,
                        nc,
                        c.kcp,
                        c.taps,
                        c.a.data(),
                        packed.data(),
                        result.data(),
                        nc,
                        col.data(),
                        scale.data(),
                        has_bias ? bias.data() : nullptr,
                        lo,
                        hi};
      fn(args);
      for (int i = 0; i < mr; ++i) {
        for (int n = 0; n < nc; ++n) {
          int64_t s = col[n];
          for (int t = 0; t < c.taps; ++t) {
            for (int k = 0; k < c.kc; ++k) {
              const int8_t w =
                  static_cast<int8_t>(c.weights[(static_cast<size_t>(n) * c.taps + t) * c.kc + k]);
              s += int64_t{c.a[static_cast<size_t>(i) * c.taps + t][k] - 128} * w;
            }
          }
          float v = static_cast<float>(Wrap(s)) * scale[n];
          if (has_bias) v += bias[n];
          v = std::min(std::max(v, lo), hi);
          ASSERT_EQ(result[static_cast<size_t>(i) * nc + n], v) << "row " << i << " col " << n;
        }
      }
      for (int i = mr; i < kMR; ++i) ASSERT_EQ(result[static_cast<size_t>(i) * nc], 7.0f);
    }
  }
}

}  // namespace testing
}  // namespace uk
}  // namespace rt
}  // namespace edgeopt

#endif  // EDGEOPT_SRC_RUNTIME_KERNELS_UKERNELS_IGEMM_TEST_UTIL_H_
