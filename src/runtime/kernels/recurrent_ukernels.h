// Vectorized pieces of the recurrent kernels (LSTM, SVDF): matrix-vector products over weights
// packed at prepare time, and the int16 gate activations as tables. Results are those of the
// reference kernels (reference/lstm.h, reference/svdf.h) bit for bit:
//   int8:  wrapping int32 sums (the reference's int64 sums narrowed the same way);
//   float: each lane sums one row over the columns in order, multiply then add (no FMA), as
//          ref::MatVecAccumulate does.
#ifndef EDGEOPT_SRC_RUNTIME_KERNELS_RECURRENT_UKERNELS_H_
#define EDGEOPT_SRC_RUNTIME_KERNELS_RECURRENT_UKERNELS_H_

#include <algorithm>
#include <cstddef>
#include <cstdint>

#include "src/runtime/cpu_info.h"
#include "src/runtime/kernels/ukernels/ukernels.h"

namespace edgeopt {
namespace rt {
namespace recurrent {

// Rows per packed block: one 512-bit, two 256-bit or four 128-bit (NEON) vectors.
constexpr int kRowBlock = 16;

inline int RowBlocks(int rows) { return (rows + kRowBlock - 1) / kRowBlock; }
inline int ColPairs(int cols) { return (cols + 1) / 2; }

// `count` int8 [rows_each, cols] matrices stacked (rows = count * rows_each) and widened to
// int16, as [block][column pair][16 rows][2]; padding is zero. PackedS8Size counts int16
// elements.
size_t PackedS8Size(int rows, int cols);
void PackS8Matrices(const int8_t* const* m, int count, int rows_each, int cols, int16_t* packed);
// Column pairs of a vector for the products: (v[2k] - offset) in the low int16 and
// (v[2k + 1] - offset) in the high one (0 past the end). |v - offset| must fit int16.
void PackS8Vector(const int8_t* v, int cols, int32_t offset, int32_t* pairs);

// `count` float [rows_each, cols] matrices stacked and transposed per block: [block][column][16
// rows]; padding is zero.
size_t PackedF32Size(int rows, int cols);
void PackF32Matrices(const float* const* m, int count, int rows_each, int cols, float* packed);

// out[r] = sum over c of m[r][c] * v[c] (wrapping int32), r < rows.
using S8MatVecFn = void (*)(const int16_t* packed, int rows, int col_pairs, const int32_t* pairs,
                            int32_t* out);
// out[r] += dot, dot = 0, dot += m[r][c] * v[c] for c = 0, 1, ... (float, no FMA), r < rows.
using F32MatVecFn = void (*)(const float* packed, int rows, int cols, const float* v, float* out);

// SVDF's time filter: out[f] = sum over k < n_memory of w[f][k] * (m[f][k] - zp) (wrapping
// int32), f < n_filter; w and m are [n_filter, n_memory]. zp is 0 for int16.
using S16TimeDotsFn = void (*)(const int16_t* w, const int16_t* m, int n_filter, int n_memory,
                               int32_t* out);
using S8TimeDotsFn = void (*)(const int8_t* w, const int8_t* m, int32_t zp, int n_filter,
                              int n_memory, int32_t* out);

// The int16 activations of the inputs 0..32767 (out[x]) and -32768 (out[32768]), from which a
// whole table follows by symmetry: the logistic of Q3.12 values when integer_bits < 0
// (ref::SigmoidInt16), else the tanh of Q(integer_bits) values, integer_bits in [0, 6]
// (ref::TanhInt16). `out` holds kActivationHalfSize values (vector stores may write past
// out[32768]).
constexpr int kActivationHalfSize = 32768 + 16;
using ActivationHalfFn = void (*)(int integer_bits, int16_t* out);

// The integer LSTM's gate pre-activations for i < n (ref::IntegerMatVecAccumulate of the input
// and then of the recurrent products): v = sat16(I(in_bias[i] + in_dots[i])) and out[i] =
// sat16(R(rec_bias[i] + rec_dots[i]) + v), the sums wrapping. I and R requantize as lane 0 of
// rq[0] and rq[1], which hold one (multiplier, shift) in all 16 lanes (uk::PackRequantBlocks;
// the reference rounding: TFLite's MultiplyByQuantizedMultiplier for shifts in [-31, 31]).
using S16GateFn = void (*)(const int32_t* in_dots, const int32_t* in_bias, const int32_t* rec_dots,
                           const int32_t* rec_bias, int n, const uk::RequantBlock16* rq,
                           int16_t* out);

// The integer LSTM's cell update for i < n: cell[i] = clip(sat16(MulShift(forget[i], cell[i], 15)
// + MulShift(in[i], cell_gate[i], ig_shift))), MulShift(a, b, s) the int16 wrap of
// RoundingDivideByPOT(a * b, s) (ref::MulShiftInt16), in = input_gate, or 32767 - forget under
// CIFG (input_gate null); clip in [0, 32767] (0: none) bounds to [-clip, clip]. ig_shift in
// [15, 21].
using S16CellFn = void (*)(const int16_t* forget, const int16_t* input_gate,
                           const int16_t* cell_gate, int n, int ig_shift, int16_t clip,
                           int16_t* cell);
// The integer LSTM's hidden state for i < n: out[i] = clamp8(R(o[i] * t[i]) + zp), R lane 0 of
// rq as in S16GateFn, zp in [-128, 128].
using S8HiddenFn = void (*)(const int16_t* o, const int16_t* t, int n, const uk::RequantBlock16* rq,
                            int32_t zp, int8_t* out);

// The hybrid LSTM's output stage for r < n: out[r] += float(d) * scale, d = dots[r], or with
// row_sums the int32 saturation (ref::SaturatingToInt32) of float(dots[r]) - float(row_sums[r])
// * offset; float operations in that order, without FMA (ref::HybridMatVecAccumulate).
using F32HybridAccumulateFn = void (*)(const int32_t* dots, const int32_t* row_sums, float offset,
                                       float scale, int n, float* out);

// One element of S16GateFn (the vector kernels' tails).
inline int16_t GateElement(int32_t in_acc, int32_t rec_acc, const uk::RequantBlock16* rq) {
  const int64_t v =
      std::min(32767, std::max(-32768, uk::RequantizeScalar(in_acc, rq[0], 0, false)));
  const int64_t y = int64_t{uk::RequantizeScalar(rec_acc, rq[1], 0, false)} + v;
  return static_cast<int16_t>(std::min<int64_t>(32767, std::max<int64_t>(-32768, y)));
}

struct Kernels {
  const char* name;
  S8MatVecFn s8_matvec;
  F32MatVecFn f32_matvec;
  S16TimeDotsFn s16_time_dots;
  S8TimeDotsFn s8_time_dots;
  ActivationHalfFn activation_half;
  // Null in the portable set (the LSTM step's own loops).
  S16GateFn s16_gate;
  S16CellFn s16_cell;
  S8HiddenFn s8_hidden;
  F32HybridAccumulateFn f32_hybrid_accumulate;
};

// The best kernels for `cpu` (the portable loops when it has no vector unit we use).
const Kernels& GetKernels(const CpuInfo& cpu);
// The portable loops (tests).
const Kernels& ScalarKernels();

// The reference's int16 activations for every input, indexed by the input's bits
// (table[static_cast<uint16_t>(x)]); built on first use with `cpu`'s kernels (the values do not
// depend on them), shared, never freed. nullptr when out of memory.
const int16_t* SigmoidQ3Table(const CpuInfo& cpu);  // ref::SigmoidInt16
// ref::TanhInt16(integer_bits, ...); integer_bits in [0, 6].
const int16_t* TanhTable(int integer_bits, const CpuInfo& cpu);

inline void LookUp(const int16_t* table, const int16_t* in, int n, int16_t* out) {
  for (int i = 0; i < n; ++i) out[i] = table[static_cast<uint16_t>(in[i])];
}

#if defined(EDGEOPT_HAVE_AVX2)
namespace avx2 {
void s8_matvec(const int16_t* packed, int rows, int col_pairs, const int32_t* pairs, int32_t* out);
void f32_matvec(const float* packed, int rows, int cols, const float* v, float* out);
void s16_time_dots(const int16_t* w, const int16_t* m, int n_filter, int n_memory, int32_t* out);
void s8_time_dots(const int8_t* w, const int8_t* m, int32_t zp, int n_filter, int n_memory,
                  int32_t* out);
void activation_half(int integer_bits, int16_t* out);
void s16_gate(const int32_t* in_dots, const int32_t* in_bias, const int32_t* rec_dots,
              const int32_t* rec_bias, int n, const uk::RequantBlock16* rq, int16_t* out);
void s16_cell(const int16_t* forget, const int16_t* input_gate, const int16_t* cell_gate, int n,
              int ig_shift, int16_t clip, int16_t* cell);
void s8_hidden(const int16_t* o, const int16_t* t, int n, const uk::RequantBlock16* rq, int32_t zp,
               int8_t* out);
void f32_hybrid_accumulate(const int32_t* dots, const int32_t* row_sums, float offset, float scale,
                           int n, float* out);
}  // namespace avx2
#endif
#if defined(EDGEOPT_HAVE_AVX512)
namespace avx512 {
void s8_matvec(const int16_t* packed, int rows, int col_pairs, const int32_t* pairs, int32_t* out);
void f32_matvec(const float* packed, int rows, int cols, const float* v, float* out);
}  // namespace avx512
#endif
#if defined(EDGEOPT_HAVE_NEON)
namespace neon {
void s8_matvec(const int16_t* packed, int rows, int col_pairs, const int32_t* pairs, int32_t* out);
#if defined(__aarch64__)
// Not on armv7: its NEON flushes denormals to zero (the portable loop runs there).
void f32_matvec(const float* packed, int rows, int cols, const float* v, float* out);
#endif
void s16_time_dots(const int16_t* w, const int16_t* m, int n_filter, int n_memory, int32_t* out);
void s8_time_dots(const int8_t* w, const int8_t* m, int32_t zp, int n_filter, int n_memory,
                  int32_t* out);
void activation_half(int integer_bits, int16_t* out);
void s16_gate(const int32_t* in_dots, const int32_t* in_bias, const int32_t* rec_dots,
              const int32_t* rec_bias, int n, const uk::RequantBlock16* rq, int16_t* out);
void s16_cell(const int16_t* forget, const int16_t* input_gate, const int16_t* cell_gate, int n,
              int ig_shift, int16_t clip, int16_t* cell);
void s8_hidden(const int16_t* o, const int16_t* t, int n, const uk::RequantBlock16* rq, int32_t zp,
               int8_t* out);
#if defined(__aarch64__)
// Not on armv7 (its NEON flushes denormals).
void f32_hybrid_accumulate(const int32_t* dots, const int32_t* row_sums, float offset, float scale,
                           int n, float* out);
#endif
}  // namespace neon
#endif

}  // namespace recurrent
}  // namespace rt
}  // namespace edgeopt

#endif  // EDGEOPT_SRC_RUNTIME_KERNELS_RECURRENT_UKERNELS_H_
