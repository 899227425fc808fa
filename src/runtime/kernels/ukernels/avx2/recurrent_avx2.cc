// The recurrent kernels' products with AVX2 (see recurrent_ukernels.h): one 16-row block is two
// vectors; up to two blocks share each broadcast of the vector.
#include <immintrin.h>

#include <algorithm>
#include <cstring>

#include "src/runtime/kernels/recurrent_ukernels.h"
#include "src/runtime/kernels/ukernels/avx2/requant_avx2.h"
#include "src/runtime/kernels/ukernels/fixed_point_lanes.h"

namespace edgeopt {
namespace rt {
namespace recurrent {
namespace avx2 {
namespace {

template <int kBlocks>
void S8Blocks(const int16_t* packed, size_t block_stride, int rows, int col_pairs,
              const int32_t* pairs, int32_t* out) {
  __m256i acc[2 * kBlocks];
#pragma GCC unroll 8
  for (int j = 0; j < 2 * kBlocks; ++j) acc[j] = _mm256_setzero_si256();
  for (int k = 0; k < col_pairs; ++k) {
    const __m256i x = _mm256_set1_epi32(pairs[k]);
#pragma GCC unroll 4
    for (int j = 0; j < kBlocks; ++j) {
      const int16_t* w = packed + j * block_stride + k * 2 * kRowBlock;
      const __m256i w0 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(w));
      const __m256i w1 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(w + 16));
      acc[2 * j] = _mm256_add_epi32(acc[2 * j], _mm256_madd_epi16(w0, x));
      acc[2 * j + 1] = _mm256_add_epi32(acc[2 * j + 1], _mm256_madd_epi16(w1, x));
    }
  }
#pragma GCC unroll 4
  for (int j = 0; j < kBlocks; ++j) {
    const int n = rows - j * kRowBlock;
    int32_t* o = out + j * kRowBlock;
    if (n >= kRowBlock) {
      _mm256_storeu_si256(reinterpret_cast<__m256i*>(o), acc[2 * j]);
      _mm256_storeu_si256(reinterpret_cast<__m256i*>(o + 8), acc[2 * j + 1]);
    } else {
      alignas(32) int32_t tmp[kRowBlock];
      _mm256_store_si256(reinterpret_cast<__m256i*>(tmp), acc[2 * j]);
      _mm256_store_si256(reinterpret_cast<__m256i*>(tmp + 8), acc[2 * j + 1]);
      std::copy(tmp, tmp + n, o);
    }
  }
}

template <int kBlocks>
void F32Blocks(const float* packed, size_t block_stride, int rows, int cols, const float* v,
               float* out) {
  __m256 acc[2 * kBlocks];
#pragma GCC unroll 8
  for (int j = 0; j < 2 * kBlocks; ++j) acc[j] = _mm256_setzero_ps();
  for (int c = 0; c < cols; ++c) {
    const __m256 x = _mm256_set1_ps(v[c]);
#pragma GCC unroll 4
    for (int j = 0; j < kBlocks; ++j) {
      const float* w = packed + j * block_stride + c * kRowBlock;
      acc[2 * j] = _mm256_add_ps(acc[2 * j], _mm256_mul_ps(_mm256_loadu_ps(w), x));
      acc[2 * j + 1] = _mm256_add_ps(acc[2 * j + 1], _mm256_mul_ps(_mm256_loadu_ps(w + 8), x));
    }
  }
#pragma GCC unroll 4
  for (int j = 0; j < kBlocks; ++j) {
    const int n = std::min(kRowBlock, rows - j * kRowBlock);
    alignas(32) float tmp[kRowBlock];
    _mm256_store_ps(tmp, acc[2 * j]);
    _mm256_store_ps(tmp + 8, acc[2 * j + 1]);
    float* o = out + j * kRowBlock;
    for (int i = 0; i < n; ++i) o[i] += tmp[i];
  }
}

}  // namespace

void s8_matvec(const int16_t* packed, int rows, int col_pairs, const int32_t* pairs, int32_t* out) {
  const size_t stride = static_cast<size_t>(col_pairs) * 2 * kRowBlock;
  int r = 0;
  for (; rows - r > kRowBlock; r += 2 * kRowBlock, packed += 2 * stride) {
    S8Blocks<2>(packed, stride, rows - r, col_pairs, pairs, out + r);
  }
  if (rows - r > 0) S8Blocks<1>(packed, stride, rows - r, col_pairs, pairs, out + r);
}

void f32_matvec(const float* packed, int rows, int cols, const float* v, float* out) {
  const size_t stride = static_cast<size_t>(cols) * kRowBlock;
  int r = 0;
  for (; rows - r > kRowBlock; r += 2 * kRowBlock, packed += 2 * stride) {
    F32Blocks<2>(packed, stride, rows - r, cols, v, out + r);
  }
  if (rows - r > 0) F32Blocks<1>(packed, stride, rows - r, cols, v, out + r);
}

namespace {

inline int32_t HorizontalSum(__m128i v) {
  v = _mm_add_epi32(v, _mm_shuffle_epi32(v, _MM_SHUFFLE(1, 0, 3, 2)));
  v = _mm_add_epi32(v, _mm_shuffle_epi32(v, _MM_SHUFFLE(2, 3, 0, 1)));
  return _mm_cvtsi128_si32(v);
}

// 8 weights widened to int16; 8 state values widened, minus zp.
inline __m128i Load8(const int16_t* p) {
  return _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
}
inline __m128i Load8(const int8_t* p) {
  return _mm_cvtepi8_epi16(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(p)));
}

template <typename T>
void TimeDots(const T* w, const T* m, int32_t zp, int n_filter, int n_memory, int32_t* out) {
  const __m128i vzp = _mm_set1_epi16(static_cast<int16_t>(zp));
  for (int f = 0; f < n_filter; ++f, w += n_memory, m += n_memory) {
    __m128i acc = _mm_setzero_si128();
    int k = 0;
    for (; k + 8 <= n_memory; k += 8) {
      acc = _mm_add_epi32(acc, _mm_madd_epi16(Load8(w + k), _mm_sub_epi16(Load8(m + k), vzp)));
    }
    uint32_t dot = static_cast<uint32_t>(HorizontalSum(acc));
    for (; k < n_memory; ++k) {
      dot += static_cast<uint32_t>(static_cast<int32_t>(w[k]) * (static_cast<int32_t>(m[k]) - zp));
    }
    out[f] = static_cast<int32_t>(dot);
  }
}

// The int16 lane operations of fixed_point_lanes.h, 16 lanes.
struct Lanes {
  using V = __m256i;
  static V Dup(int16_t v) { return _mm256_set1_epi16(v); }
  static V Iota() {
    return _mm256_setr_epi16(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
  }
  static void Store(int16_t* p, V v) { _mm256_storeu_si256(reinterpret_cast<__m256i*>(p), v); }
  static V Add(V a, V b) { return _mm256_add_epi16(a, b); }
  static V Sub(V a, V b) { return _mm256_sub_epi16(a, b); }
  static V AddSat(V a, V b) { return _mm256_adds_epi16(a, b); }
  static V And(V a, V b) { return _mm256_and_si256(a, b); }
  // vpmulhrsw is (a * b + 2^14) >> 15; only MIN * MIN leaves the range (-> MIN), and only it
  // gives MIN: flipping those lanes' bits makes it MAX.
  static V Mul(V a, V b) {
    const V r = _mm256_mulhrs_epi16(a, b);
    return _mm256_xor_si256(r, _mm256_cmpeq_epi16(r, _mm256_set1_epi16(-32768)));
  }
  static V Sra(V x, int n) { return _mm256_sra_epi16(x, _mm_cvtsi32_si128(n)); }
  static V Gt(V a, V b) { return _mm256_cmpgt_epi16(a, b); }
  static V Eq(V a, V b) { return _mm256_cmpeq_epi16(a, b); }
  static V Select(V mask, V a, V b) { return _mm256_blendv_epi8(b, a, mask); }
  static V AvgNonNeg(V a, V b) { return _mm256_avg_epu16(a, b); }
};

// RoundingDivideByPOT of int32 lanes by e (mask = 2^e - 1, half = mask >> 1): ties away from
// zero, as quant::RoundingDivideByPOT.
inline __m256i RoundingDivideByPot(__m256i x, __m128i e, __m256i mask, __m256i half) {
  const __m256i threshold = _mm256_sub_epi32(half, _mm256_cmpgt_epi32(_mm256_setzero_si256(), x));
  return _mm256_sub_epi32(_mm256_sra_epi32(x, e),
                          _mm256_cmpgt_epi32(_mm256_and_si256(x, mask), threshold));
}

// ref::MulShiftInt16 of 16 lanes: the int32 products (low and high halves interleaved by the
// unpacks, put back in order by the pack) divided by 2^e, wrapped to int16 (sign-extending the
// low half first makes the saturating pack exact).
inline __m256i MulShift16(__m256i a, __m256i b, int e) {
  const __m128i ev = _mm_cvtsi32_si128(e);
  const __m256i mask = _mm256_set1_epi32((1 << e) - 1);
  const __m256i half = _mm256_set1_epi32(((1 << e) - 1) >> 1);
  const __m256i lo = _mm256_mullo_epi16(a, b), hi = _mm256_mulhi_epi16(a, b);
  __m256i p0 = RoundingDivideByPot(_mm256_unpacklo_epi16(lo, hi), ev, mask, half);
  __m256i p1 = RoundingDivideByPot(_mm256_unpackhi_epi16(lo, hi), ev, mask, half);
  p0 = _mm256_srai_epi32(_mm256_slli_epi32(p0, 16), 16);
  p1 = _mm256_srai_epi32(_mm256_slli_epi32(p1, 16), 16);
  return _mm256_packs_epi32(p0, p1);
}

inline __m256i Load16(const int16_t* p) {
  return _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p));
}

}  // namespace

void activation_half(int integer_bits, int16_t* out) {
  fp_lanes::ActivationHalfTable<Lanes, __m256i, 16>(integer_bits, out);
}

void s16_time_dots(const int16_t* w, const int16_t* m, int n_filter, int n_memory, int32_t* out) {
  TimeDots(w, m, 0, n_filter, n_memory, out);
}

void s8_time_dots(const int8_t* w, const int8_t* m, int32_t zp, int n_filter, int n_memory,
                  int32_t* out) {
  TimeDots(w, m, zp, n_filter, n_memory, out);
}

namespace {

// One block of each kernel: 8 gates, 16 cells, 8 hidden values. Not inlined: the tails run the
// same code on zero-padded copies (one copy of the body each, for the runtime's size).

// The recurrent term is clamped to +-2^16 before the input term is added: with |v| <= 2^15 the
// int16 saturation of the sum is the same, and the sum stays in int32.
__attribute__((noinline)) void GateBlock(const int32_t* in_dots, const int32_t* in_bias,
                                         const int32_t* rec_dots, const int32_t* rec_bias,
                                         const uk::RequantBlock16* rq, int16_t* out) {
  using uk::avx2::Load8;
  const __m256i a = _mm256_add_epi32(Load8(in_bias), Load8(in_dots));
  const __m256i b = _mm256_add_epi32(Load8(rec_bias), Load8(rec_dots));
  const __m256i v = _mm256_min_epi32(
      _mm256_max_epi32(uk::avx2::Requantize8<false>(a, rq, 0), _mm256_set1_epi32(-32768)),
      _mm256_set1_epi32(32767));
  const __m256i y = _mm256_min_epi32(
      _mm256_max_epi32(uk::avx2::Requantize8<false>(b, rq + 1, 0), _mm256_set1_epi32(-65536)),
      _mm256_set1_epi32(65536));
  const __m256i s = _mm256_add_epi32(y, v);
  // packs: [s0..s3 s0..s3 | s4..s7 s4..s7] as int16; qwords 0 and 2 are s0..s7.
  const __m256i packed = _mm256_permute4x64_epi64(_mm256_packs_epi32(s, s), 0x08);
  _mm_storeu_si128(reinterpret_cast<__m128i*>(out), _mm256_castsi256_si128(packed));
}

__attribute__((noinline)) void CellBlock(const int16_t* f, const int16_t* in, const int16_t* g,
                                         int ig_shift, int16_t clip, int16_t* c) {
  const __m256i lo = _mm256_set1_epi16(clip > 0 ? static_cast<int16_t>(-clip) : -32768);
  const __m256i hi = _mm256_set1_epi16(clip > 0 ? clip : 32767);
  const __m256i vf = Load16(f);
  const __m256i vi = in != nullptr ? Load16(in) : _mm256_sub_epi16(_mm256_set1_epi16(32767), vf);
  const __m256i fc = MulShift16(vf, Load16(c), 15);
  const __m256i ig = MulShift16(vi, Load16(g), ig_shift);
  const __m256i v = _mm256_min_epi16(_mm256_max_epi16(_mm256_adds_epi16(fc, ig), lo), hi);
  _mm256_storeu_si256(reinterpret_cast<__m256i*>(c), v);
}

__attribute__((noinline)) void HiddenBlock(const int16_t* o, const int16_t* t,
                                           const uk::RequantBlock16* rq, int32_t zp, int m,
                                           int8_t* out) {
  const __m256i a = _mm256_cvtepi16_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(o)));
  const __m256i b = _mm256_cvtepi16_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(t)));
  const __m256i y = uk::avx2::Requantize8<false>(_mm256_mullo_epi32(a, b), rq, 0);
  uk::avx2::StoreInt8x8(out, y, _mm256_set1_epi32(-128 - zp), _mm256_set1_epi32(127 - zp),
                        _mm256_set1_epi32(zp), m);
}

}  // namespace

void s16_gate(const int32_t* in_dots, const int32_t* in_bias, const int32_t* rec_dots,
              const int32_t* rec_bias, int n, const uk::RequantBlock16* rq, int16_t* out) {
  int i = 0;
  for (; i + 8 <= n; i += 8) {
    GateBlock(in_dots + i, in_bias + i, rec_dots + i, rec_bias + i, rq, out + i);
  }
  if (i < n) {
    const int m = n - i;
    int32_t tail[4][8] = {};
    std::memcpy(tail[0], in_dots + i, 4 * m);
    std::memcpy(tail[1], in_bias + i, 4 * m);
    std::memcpy(tail[2], rec_dots + i, 4 * m);
    std::memcpy(tail[3], rec_bias + i, 4 * m);
    int16_t result[8];
    GateBlock(tail[0], tail[1], tail[2], tail[3], rq, result);
    std::memcpy(out + i, result, 2 * m);
  }
}

void s16_cell(const int16_t* forget, const int16_t* input_gate, const int16_t* cell_gate, int n,
              int ig_shift, int16_t clip, int16_t* cell) {
  int i = 0;
  for (; i + 16 <= n; i += 16) {
    CellBlock(forget + i, input_gate != nullptr ? input_gate + i : nullptr, cell_gate + i, ig_shift,
              clip, cell + i);
  }
  if (i < n) {
    const int m = n - i;
    int16_t tail[4][16] = {};
    std::memcpy(tail[0], forget + i, 2 * m);
    if (input_gate != nullptr) std::memcpy(tail[1], input_gate + i, 2 * m);
    std::memcpy(tail[2], cell_gate + i, 2 * m);
    std::memcpy(tail[3], cell + i, 2 * m);
    CellBlock(tail[0], input_gate != nullptr ? tail[1] : nullptr, tail[2], ig_shift, clip, tail[3]);
    std::memcpy(cell + i, tail[3], 2 * m);
  }
}

void s8_hidden(const int16_t* o, const int16_t* t, int n, const uk::RequantBlock16* rq, int32_t zp,
               int8_t* out) {
  int i = 0;
  for (; i + 8 <= n; i += 8) HiddenBlock(o + i, t + i, rq, zp, 8, out + i);
  if (i < n) {
    const int m = n - i;
    int16_t tail[2][8] = {};
    std::memcpy(tail[0], o + i, 2 * m);
    std::memcpy(tail[1], t + i, 2 * m);
    HiddenBlock(tail[0], tail[1], rq, zp, m, out + i);
  }
}

// Eight rows per pass, the tail through masked loads and stores. cvttps gives INT32_MIN for
// every value out of range; the values at or above 2^31 take INT32_MAX, as the reference's
// saturation.
void f32_hybrid_accumulate(const int32_t* dots, const int32_t* row_sums, float offset, float scale,
                           int n, float* out) {
  const __m256 vscale = _mm256_set1_ps(scale), voffset = _mm256_set1_ps(offset);
  const __m256 two31 = _mm256_set1_ps(2147483648.0f);
  const __m256i max = _mm256_set1_epi32(2147483647);
  // out + float(d) * scale for 8 dots (row sums rs).
  auto block = [&](__m256i dots8, __m256i rs8, __m256 o) {
    __m256 d = _mm256_cvtepi32_ps(dots8);
    if (row_sums != nullptr) {
      const __m256 c = _mm256_sub_ps(d, _mm256_mul_ps(_mm256_cvtepi32_ps(rs8), voffset));
      const __m256i big = _mm256_castps_si256(_mm256_cmp_ps(c, two31, _CMP_GE_OQ));
      d = _mm256_cvtepi32_ps(_mm256_blendv_epi8(_mm256_cvttps_epi32(c), max, big));
    }
    return _mm256_add_ps(o, _mm256_mul_ps(d, vscale));
  };
  const __m256i zero = _mm256_setzero_si256();
  int i = 0;
  // Whole blocks with plain loads (masked loads are slow on some CPUs), the tail masked.
  for (; i + 8 <= n; i += 8) {
    const __m256i rs = row_sums != nullptr
                           ? _mm256_loadu_si256(reinterpret_cast<const __m256i*>(row_sums + i))
                           : zero;
    _mm256_storeu_ps(out + i, block(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(dots + i)),
                                    rs, _mm256_loadu_ps(out + i)));
  }
  if (i < n) {
    const __m256i mask = uk::avx2::TailMask8(n - i);
    const __m256i rs = row_sums != nullptr ? _mm256_maskload_epi32(row_sums + i, mask) : zero;
    _mm256_maskstore_ps(
        out + i, mask,
        block(_mm256_maskload_epi32(dots + i, mask), rs, _mm256_maskload_ps(out + i, mask)));
  }
}

}  // namespace avx2
}  // namespace recurrent
}  // namespace rt
}  // namespace edgeopt
