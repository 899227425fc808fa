// The recurrent kernels' products with NEON (see recurrent_ukernels.h), aarch64 and armv7.
//   s8_matvec: one 16-row block per pass; vld2q splits each row's column pair into the weights
//     of the pair's low and high value, which multiply-accumulate (vmlal_lane_s16) into separate
//     int32 sums (eight independent chains), added at the end (wrapping, as the portable loop).
//   f32_matvec (aarch64 only): four lanes per vector, two blocks per pass; every lane sums its
//     row over the columns in order with a separate multiply and add (vmulq_f32 + vaddq_f32).
//     GCC's arm_neon.h writes these as plain vector * and +, which it would contract into an
//     FMA; the build's -ffp-contract=off (CMakeLists.txt) keeps them apart. Not on armv7: there
//     NEON arithmetic flushes denormals to zero where the VFP loop keeps them.
//   time dots: eight memory slots per step, the tail as the portable loop. The int8 one sums
//     w * m (exact in int16: |w * m| <= 2^14) and w apart, then takes zp * sum(w) off: the same
//     value modulo 2^32 as the sum of w * (m - zp), for any zp.
#include <arm_neon.h>

#include <algorithm>
#include <cstring>

#include "src/runtime/kernels/recurrent_ukernels.h"
#include "src/runtime/kernels/ukernels/fixed_point_lanes.h"
#include "src/runtime/kernels/ukernels/neon/requant_neon.h"

namespace edgeopt {
namespace rt {
namespace recurrent {
namespace neon {
namespace {

static_assert(kRowBlock == 16, "the kernels hold a block as four vectors of four lanes");

inline int32_t HorizontalSum(int32x4_t v) {
#if defined(__aarch64__)
  return vaddvq_s32(v);
#else
  const int32x2_t s = vadd_s32(vget_low_s32(v), vget_high_s32(v));
  return vget_lane_s32(vpadd_s32(s, s), 0);
#endif
}

// acc + w[4..7] * x[lane], widened.
template <int kLane>
inline int32x4_t MlalHighLane(int32x4_t acc, int16x8_t w, int16x4_t x) {
#if defined(__aarch64__)
  return vmlal_high_lane_s16(acc, w, x, kLane);
#else
  return vmlal_lane_s16(acc, vget_high_s16(w), x, kLane);
#endif
}

// One block of up to 16 rows: writes the first `n` sums.
void S8Block(const int16_t* packed, int n, int col_pairs, const int32_t* pairs, int32_t* out) {
  int32x4_t lo[4], hi[4];
#pragma GCC unroll 4
  for (int i = 0; i < 4; ++i) lo[i] = hi[i] = vdupq_n_s32(0);
  for (int k = 0; k < col_pairs; ++k, packed += 2 * kRowBlock) {
    // Lane 0: the pair's low value, lane 1: its high one (little-endian).
    const int16x4_t x = vreinterpret_s16_s32(vdup_n_s32(pairs[k]));
    // val[0]: the weights of the low values of rows 0..7 (8..15), val[1]: of the high ones.
    const int16x8x2_t w0 = vld2q_s16(packed);
    const int16x8x2_t w1 = vld2q_s16(packed + kRowBlock);
    lo[0] = vmlal_lane_s16(lo[0], vget_low_s16(w0.val[0]), x, 0);
    lo[1] = MlalHighLane<0>(lo[1], w0.val[0], x);
    lo[2] = vmlal_lane_s16(lo[2], vget_low_s16(w1.val[0]), x, 0);
    lo[3] = MlalHighLane<0>(lo[3], w1.val[0], x);
    hi[0] = vmlal_lane_s16(hi[0], vget_low_s16(w0.val[1]), x, 1);
    hi[1] = MlalHighLane<1>(hi[1], w0.val[1], x);
    hi[2] = vmlal_lane_s16(hi[2], vget_low_s16(w1.val[1]), x, 1);
    hi[3] = MlalHighLane<1>(hi[3], w1.val[1], x);
  }
  int32_t tmp[kRowBlock];
  int32_t* o = n >= kRowBlock ? out : tmp;
#pragma GCC unroll 4
  for (int i = 0; i < 4; ++i) vst1q_s32(o + 4 * i, vaddq_s32(lo[i], hi[i]));
  if (n < kRowBlock) std::copy(tmp, tmp + n, out);
}

#if defined(__aarch64__)
template <int kBlocks>
void F32Blocks(const float* packed, size_t block_stride, int rows, int cols, const float* v,
               float* out) {
  float32x4_t acc[4 * kBlocks];
#pragma GCC unroll 8
  for (int i = 0; i < 4 * kBlocks; ++i) acc[i] = vdupq_n_f32(0.0f);
  for (int c = 0; c < cols; ++c) {
    const float32x4_t x = vdupq_n_f32(v[c]);
#pragma GCC unroll 2
    for (int j = 0; j < kBlocks; ++j) {
      const float* w = packed + j * block_stride + c * kRowBlock;
#pragma GCC unroll 4
      for (int i = 0; i < 4; ++i) {
        acc[4 * j + i] = vaddq_f32(acc[4 * j + i], vmulq_f32(vld1q_f32(w + 4 * i), x));
      }
    }
  }
#pragma GCC unroll 2
  for (int j = 0; j < kBlocks; ++j) {
    const int n = std::min(kRowBlock, rows - j * kRowBlock);
    float* o = out + j * kRowBlock;
    if (n == kRowBlock) {
#pragma GCC unroll 4
      for (int i = 0; i < 4; ++i) {
        vst1q_f32(o + 4 * i, vaddq_f32(vld1q_f32(o + 4 * i), acc[4 * j + i]));
      }
    } else {
      float tmp[kRowBlock];
#pragma GCC unroll 4
      for (int i = 0; i < 4; ++i) vst1q_f32(tmp + 4 * i, acc[4 * j + i]);
      for (int i = 0; i < n; ++i) o[i] += tmp[i];
    }
  }
}
#endif  // defined(__aarch64__)

// The int16 lane operations of fixed_point_lanes.h, 8 lanes.
struct Lanes {
  using V = int16x8_t;
  static V Dup(int16_t v) { return vdupq_n_s16(v); }
  static V Iota() {
    static const int16_t kIota[8] = {0, 1, 2, 3, 4, 5, 6, 7};
    return vld1q_s16(kIota);
  }
  static void Store(int16_t* p, V v) { vst1q_s16(p, v); }
  static V Add(V a, V b) { return vaddq_s16(a, b); }
  static V Sub(V a, V b) { return vsubq_s16(a, b); }
  static V AddSat(V a, V b) { return vqaddq_s16(a, b); }
  static V And(V a, V b) { return vandq_s16(a, b); }
  static V Mul(V a, V b) { return vqrdmulhq_s16(a, b); }  // gemmlowp's own NEON choice
  static V Sra(V x, int n) { return vshlq_s16(x, vdupq_n_s16(static_cast<int16_t>(-n))); }
  static V Gt(V a, V b) { return vreinterpretq_s16_u16(vcgtq_s16(a, b)); }
  static V Eq(V a, V b) { return vreinterpretq_s16_u16(vceqq_s16(a, b)); }
  static V Select(V mask, V a, V b) { return vbslq_s16(vreinterpretq_u16_s16(mask), a, b); }
  static V AvgNonNeg(V a, V b) {
    return vreinterpretq_s16_u16(vrhaddq_u16(vreinterpretq_u16_s16(a), vreinterpretq_u16_s16(b)));
  }
};

}  // namespace

void s8_matvec(const int16_t* packed, int rows, int col_pairs, const int32_t* pairs, int32_t* out) {
  const size_t stride = static_cast<size_t>(col_pairs) * 2 * kRowBlock;
  for (int r = 0; r < rows; r += kRowBlock, packed += stride) {
    S8Block(packed, rows - r, col_pairs, pairs, out + r);
  }
}

#if defined(__aarch64__)
void f32_matvec(const float* packed, int rows, int cols, const float* v, float* out) {
  const size_t stride = static_cast<size_t>(cols) * kRowBlock;
  int r = 0;
  for (; rows - r > kRowBlock; r += 2 * kRowBlock, packed += 2 * stride) {
    F32Blocks<2>(packed, stride, rows - r, cols, v, out + r);
  }
  if (rows - r > 0) F32Blocks<1>(packed, stride, rows - r, cols, v, out + r);
}
#endif

void s16_time_dots(const int16_t* w, const int16_t* m, int n_filter, int n_memory, int32_t* out) {
  for (int f = 0; f < n_filter; ++f, w += n_memory, m += n_memory) {
    int32x4_t acc0 = vdupq_n_s32(0), acc1 = vdupq_n_s32(0);
    int k = 0;
    for (; k + 8 <= n_memory; k += 8) {
      const int16x8_t vw = vld1q_s16(w + k);
      const int16x8_t vm = vld1q_s16(m + k);
      acc0 = vmlal_s16(acc0, vget_low_s16(vw), vget_low_s16(vm));
      acc1 = vmlal_s16(acc1, vget_high_s16(vw), vget_high_s16(vm));
    }
    uint32_t dot = static_cast<uint32_t>(HorizontalSum(vaddq_s32(acc0, acc1)));
    for (; k < n_memory; ++k) {
      dot += static_cast<uint32_t>(static_cast<int32_t>(w[k]) * static_cast<int32_t>(m[k]));
    }
    out[f] = static_cast<int32_t>(dot);
  }
}

void s8_time_dots(const int8_t* w, const int8_t* m, int32_t zp, int n_filter, int n_memory,
                  int32_t* out) {
  for (int f = 0; f < n_filter; ++f, w += n_memory, m += n_memory) {
    int32x4_t acc = vdupq_n_s32(0), wsum = vdupq_n_s32(0);
    int k = 0;
    for (; k + 8 <= n_memory; k += 8) {
      const int8x8_t vw = vld1_s8(w + k);
      acc = vpadalq_s16(acc, vmull_s8(vw, vld1_s8(m + k)));
      wsum = vpadalq_s16(wsum, vmovl_s8(vw));
    }
    uint32_t dot = static_cast<uint32_t>(HorizontalSum(acc)) -
                   static_cast<uint32_t>(zp) * static_cast<uint32_t>(HorizontalSum(wsum));
    for (; k < n_memory; ++k) {
      dot += static_cast<uint32_t>(static_cast<int32_t>(w[k]) * (static_cast<int32_t>(m[k]) - zp));
    }
    out[f] = static_cast<int32_t>(dot);
  }
}

void activation_half(int integer_bits, int16_t* out) {
  fp_lanes::ActivationHalfTable<Lanes, int16x8_t, 8>(integer_bits, out);
}

// Four gates per pass; the recurrent term clamped to +-2^16 first, as the AVX2 kernel.
void s16_gate(const int32_t* in_dots, const int32_t* in_bias, const int32_t* rec_dots,
              const int32_t* rec_bias, int n, const uk::RequantBlock16* rq, int16_t* out) {
  const uk::neon::Requant4 ri = uk::neon::LoadRequant4(rq, 0);
  const uk::neon::Requant4 rr = uk::neon::LoadRequant4(rq + 1, 0);
  const int32x4_t lo16 = vdupq_n_s32(-32768), hi16 = vdupq_n_s32(32767);
  const int32x4_t lo17 = vdupq_n_s32(-65536), hi17 = vdupq_n_s32(65536);
  int i = 0;
  for (; i + 4 <= n; i += 4) {
    const int32x4_t a = vaddq_s32(vld1q_s32(in_bias + i), vld1q_s32(in_dots + i));
    const int32x4_t b = vaddq_s32(vld1q_s32(rec_bias + i), vld1q_s32(rec_dots + i));
    const int32x4_t v = vminq_s32(vmaxq_s32(uk::neon::Requantize4<false>(a, ri), lo16), hi16);
    const int32x4_t y = vminq_s32(vmaxq_s32(uk::neon::Requantize4<false>(b, rr), lo17), hi17);
    vst1_s16(out + i, vqmovn_s32(vaddq_s32(y, v)));
  }
  for (; i < n; ++i) {
    out[i] = GateElement(
        static_cast<int32_t>(static_cast<uint32_t>(in_bias[i]) + static_cast<uint32_t>(in_dots[i])),
        static_cast<int32_t>(static_cast<uint32_t>(rec_bias[i]) +
                             static_cast<uint32_t>(rec_dots[i])),
        rq);
  }
}

// ref::MulShiftInt16 of 8 lanes: RoundingDivideByPOT(a * b, e) as gemmlowp's NEON one (a
// rounding shift right, ties away from zero through the -1 fixup of negative values), wrapped
// to int16 by the plain narrowing.
inline int16x8_t MulShift16(int16x8_t a, int16x8_t b, int32x4_t neg_e) {
  int32x4_t p[2] = {vmull_s16(vget_low_s16(a), vget_low_s16(b)),
                    vmull_s16(vget_high_s16(a), vget_high_s16(b))};
  for (int32x4_t& x : p) {
    const int32x4_t fixup = vshrq_n_s32(vandq_s32(x, neg_e), 31);
    x = vrshlq_s32(vqaddq_s32(x, fixup), neg_e);
  }
  return vcombine_s16(vmovn_s32(p[0]), vmovn_s32(p[1]));
}

// 8 cells per pass; a tail of m < 8 goes through zero-padded copies.
void s16_cell(const int16_t* forget, const int16_t* input_gate, const int16_t* cell_gate, int n,
              int ig_shift, int16_t clip, int16_t* cell) {
  const int16x8_t lo = vdupq_n_s16(clip > 0 ? static_cast<int16_t>(-clip) : -32768);
  const int16x8_t hi = vdupq_n_s16(clip > 0 ? clip : 32767);
  const int32x4_t neg15 = vdupq_n_s32(-15), neg_ig = vdupq_n_s32(-ig_shift);
  int16_t tail[4][8];
  for (int i = 0; i < n; i += 8) {
    const int m = std::min(8, n - i);
    const int16_t *f = forget + i, *in = input_gate != nullptr ? input_gate + i : nullptr;
    const int16_t* g = cell_gate + i;
    int16_t* c = cell + i;
    if (m < 8) {
      std::memset(tail, 0, sizeof(tail));
      std::memcpy(tail[0], f, 2 * m);
      if (in != nullptr) std::memcpy(tail[1], in, 2 * m);
      std::memcpy(tail[2], g, 2 * m);
      std::memcpy(tail[3], c, 2 * m);
      f = tail[0];
      in = in != nullptr ? tail[1] : nullptr;
      g = tail[2];
      c = tail[3];
    }
    const int16x8_t vf = vld1q_s16(f);
    const int16x8_t vi = in != nullptr ? vld1q_s16(in) : vsubq_s16(vdupq_n_s16(32767), vf);
    const int16x8_t sum =
        vqaddq_s16(MulShift16(vf, vld1q_s16(c), neg15), MulShift16(vi, vld1q_s16(g), neg_ig));
    vst1q_s16(c, vminq_s16(vmaxq_s16(sum, lo), hi));
    if (m < 8) std::memcpy(cell + i, tail[3], 2 * m);
  }
}

// Eight outputs per pass; a tail of m < 8 goes through zero-padded copies.
void s8_hidden(const int16_t* o, const int16_t* t, int n, const uk::RequantBlock16* rq, int32_t zp,
               int8_t* out) {
  const uk::neon::Requant4 r = uk::neon::LoadRequant4(rq, 0);
  const int32x4_t vzp = vdupq_n_s32(zp);
  const int32x4_t lo = vdupq_n_s32(-128 - zp), hi = vdupq_n_s32(127 - zp);
  int16_t tail[2][8];
  int8_t bytes[8];
  for (int i = 0; i < n; i += 8) {
    const int m = std::min(8, n - i);
    const int16_t *po = o + i, *pt = t + i;
    if (m < 8) {
      std::memset(tail, 0, sizeof(tail));
      std::memcpy(tail[0], po, 2 * m);
      std::memcpy(tail[1], pt, 2 * m);
      po = tail[0];
      pt = tail[1];
    }
    const int16x8_t a = vld1q_s16(po), b = vld1q_s16(pt);
    // Clamped before the zero point is added (no int32 overflow), then narrowed exactly.
    const int32x4_t y0 = uk::neon::ClampAddZp(
        uk::neon::Requantize4<false>(vmull_s16(vget_low_s16(a), vget_low_s16(b)), r), lo, hi, vzp);
    const int32x4_t y1 = uk::neon::ClampAddZp(
        uk::neon::Requantize4<false>(vmull_s16(vget_high_s16(a), vget_high_s16(b)), r), lo, hi,
        vzp);
    const int8x8_t v = vmovn_s16(vcombine_s16(vmovn_s32(y0), vmovn_s32(y1)));
    if (m == 8) {
      vst1_s8(out + i, v);
    } else {
      vst1_s8(bytes, v);
      std::memcpy(out + i, bytes, static_cast<size_t>(m));
    }
  }
}

#if defined(__aarch64__)
// Four rows per pass; vcvtq_s32_f32 saturates as the reference (INT32_MIN / INT32_MAX out of
// range). The tail as the portable loop.
void f32_hybrid_accumulate(const int32_t* dots, const int32_t* row_sums, float offset, float scale,
                           int n, float* out) {
  const float32x4_t vscale = vdupq_n_f32(scale), voffset = vdupq_n_f32(offset);
  int i = 0;
  for (; i + 4 <= n; i += 4) {
    float32x4_t d = vcvtq_f32_s32(vld1q_s32(dots + i));
    if (row_sums != nullptr) {
      const float32x4_t c =
          vsubq_f32(d, vmulq_f32(vcvtq_f32_s32(vld1q_s32(row_sums + i)), voffset));
      d = vcvtq_f32_s32(vcvtq_s32_f32(c));
    }
    vst1q_f32(out + i, vaddq_f32(vld1q_f32(out + i), vmulq_f32(d, vscale)));
  }
  for (; i < n; ++i) {
    int32_t dot = dots[i];
    if (row_sums != nullptr) {
      const float c = static_cast<float>(dot) - static_cast<float>(row_sums[i]) * offset;
      dot = c >= 2147483648.0f ? 2147483647
                               : (c <= -2147483648.0f ? -2147483647 - 1 : static_cast<int32_t>(c));
    }
    out[i] += static_cast<float>(dot) * scale;
  }
}
#endif

}  // namespace neon
}  // namespace recurrent
}  // namespace rt
}  // namespace edgeopt
