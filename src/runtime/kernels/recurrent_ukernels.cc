#include "src/runtime/kernels/recurrent_ukernels.h"

#include <algorithm>
#include <cstring>
#include <new>
#include <vector>

#include "src/runtime/kernels/reference/lstm.h"

namespace edgeopt {
namespace rt {
namespace recurrent {
namespace {

void S8MatVecScalar(const int16_t* packed, int rows, int col_pairs, const int32_t* pairs,
                    int32_t* out) {
  for (int r0 = 0; r0 < rows; r0 += kRowBlock) {
    uint32_t acc[kRowBlock] = {};
    for (int k = 0; k < col_pairs; ++k, packed += 2 * kRowBlock) {
      const int32_t lo = static_cast<int16_t>(pairs[k] & 0xFFFF);
      const int32_t hi = static_cast<int16_t>(static_cast<uint32_t>(pairs[k]) >> 16);
      for (int j = 0; j < kRowBlock; ++j) {
        acc[j] += static_cast<uint32_t>(packed[2 * j]) * static_cast<uint32_t>(lo) +
                  static_cast<uint32_t>(packed[2 * j + 1]) * static_cast<uint32_t>(hi);
      }
    }
    const int n = std::min(kRowBlock, rows - r0);
    for (int j = 0; j < n; ++j) out[r0 + j] = static_cast<int32_t>(acc[j]);
  }
}

void F32MatVecScalar(const float* packed, int rows, int cols, const float* v, float* out) {
  for (int r0 = 0; r0 < rows; r0 += kRowBlock) {
    float acc[kRowBlock] = {};
    for (int c = 0; c < cols; ++c, packed += kRowBlock) {
      for (int j = 0; j < kRowBlock; ++j) acc[j] += packed[j] * v[c];
    }
    const int n = std::min(kRowBlock, rows - r0);
    for (int j = 0; j < n; ++j) out[r0 + j] += acc[j];
  }
}

template <typename T>
void TimeDotsScalar(const T* w, const T* m, int32_t zp, int n_filter, int n_memory, int32_t* out) {
  for (int f = 0; f < n_filter; ++f, w += n_memory, m += n_memory) {
    uint32_t dot = 0;
    for (int k = 0; k < n_memory; ++k) {
      dot += static_cast<uint32_t>(static_cast<int32_t>(w[k]) * (static_cast<int32_t>(m[k]) - zp));
    }
    out[f] = static_cast<int32_t>(dot);
  }
}

void S16TimeDotsScalar(const int16_t* w, const int16_t* m, int n_filter, int n_memory,
                       int32_t* out) {
  TimeDotsScalar(w, m, 0, n_filter, n_memory, out);
}

void S8TimeDotsScalar(const int8_t* w, const int8_t* m, int32_t zp, int n_filter, int n_memory,
                      int32_t* out) {
  TimeDotsScalar(w, m, zp, n_filter, n_memory, out);
}

void ActivationHalfScalar(int integer_bits, int16_t* out) {
  for (int i = 0; i < 32768; ++i) out[i] = static_cast<int16_t>(i);
  out[32768] = -32768;
  if (integer_bits < 0) {
    ref::SigmoidInt16(out, 32769, out);
  } else {
    ref::TanhInt16(integer_bits, out, 32769, out);
  }
}

constexpr Kernels kScalar = {"scalar",         S8MatVecScalar,
                             F32MatVecScalar,  S16TimeDotsScalar,
                             S8TimeDotsScalar, ActivationHalfScalar,
                             nullptr,          nullptr,
                             nullptr,          nullptr};
#if defined(EDGEOPT_HAVE_AVX2)
constexpr Kernels kAvx2 = {"avx2",
                           avx2::s8_matvec,
                           avx2::f32_matvec,
                           avx2::s16_time_dots,
                           avx2::s8_time_dots,
                           avx2::activation_half,
                           avx2::s16_gate,
                           avx2::s16_cell,
                           avx2::s8_hidden,
                           avx2::f32_hybrid_accumulate};
#endif
#if defined(EDGEOPT_HAVE_AVX512)
// The time filters' rows are short (SVDF memories), and the tables are built once: the AVX2
// kernels, or the portable ones in a build without the AVX2 family (EDGEOPT_ISA=avx512).
#if defined(EDGEOPT_HAVE_AVX2)
constexpr Kernels kAvx512 = {
    "avx512",           avx512::s8_matvec,          avx512::f32_matvec, avx2::s16_time_dots,
    avx2::s8_time_dots, avx2::activation_half,      avx2::s16_gate,     avx2::s16_cell,
    avx2::s8_hidden,    avx2::f32_hybrid_accumulate};
#else
constexpr Kernels kAvx512 = {"avx512",
                             avx512::s8_matvec,
                             avx512::f32_matvec,
                             S16TimeDotsScalar,
                             S8TimeDotsScalar,
                             ActivationHalfScalar,
                             nullptr,
                             nullptr,
                             nullptr,
                             nullptr};
#endif
#endif
#if defined(EDGEOPT_HAVE_NEON)
#if defined(__aarch64__)
constexpr Kernels kNeon = {"neon",
                           neon::s8_matvec,
                           neon::f32_matvec,
                           neon::s16_time_dots,
                           neon::s8_time_dots,
                           neon::activation_half,
                           neon::s16_gate,
                           neon::s16_cell,
                           neon::s8_hidden,
                           neon::f32_hybrid_accumulate};
#else
// armv7: the float product and the hybrid output stage stay the portable (VFP) loops, which
// keep denormals.
constexpr Kernels kNeon = {"neon",
                           neon::s8_matvec,
                           F32MatVecScalar,
                           neon::s16_time_dots,
                           neon::s8_time_dots,
                           neon::activation_half,
                           neon::s16_gate,
                           neon::s16_cell,
                           neon::s8_hidden,
                           nullptr};
#endif
#endif

constexpr int kTableSize = 1 << 16;

// A whole table from the activation of the inputs 0..32767 and -32768: the other negative
// inputs follow from the functions' symmetry, fn(-x) = odd_sum - fn(x) (sigmoid: 32767, tanh:
// 0), which halves the build time; the exhaustive test checks every entry against the
// reference.
const int16_t* BuildTable(const CpuInfo& cpu, int integer_bits, int32_t odd_sum) {
  static_assert(kActivationHalfSize <= kTableSize, "the half is built in the table");
  int16_t* t = new (std::nothrow) int16_t[kTableSize];
  if (t == nullptr) return nullptr;
  GetKernels(cpu).activation_half(integer_bits, t);
  for (int x = 1; x < 32768; ++x) t[kTableSize - x] = static_cast<int16_t>(odd_sum - t[x]);
  return t;
}

template <int kIntegerBits>
const int16_t* TanhTableOf(const CpuInfo& cpu) {
  static const int16_t* const table = BuildTable(cpu, kIntegerBits, 0);
  return table;
}

}  // namespace

size_t PackedS8Size(int rows, int cols) {
  return static_cast<size_t>(RowBlocks(rows)) * ColPairs(cols) * 2 * kRowBlock;
}

void PackS8Matrices(const int8_t* const* m, int count, int rows_each, int cols, int16_t* packed) {
  const int rows = count * rows_each;
  const int pairs = ColPairs(cols);
  // Block by block, the output in order: each block's 16 row pointers once (padding rows read
  // a row of zeros), then every column pair of the 16 rows.
  const std::vector<int8_t> zeros(static_cast<size_t>(pairs) * 2, 0);
  int16_t* out = packed;
  for (int r0 = 0; r0 < rows; r0 += kRowBlock) {
    const int8_t* row[kRowBlock];
    for (int j = 0; j < kRowBlock; ++j) {
      const int r = r0 + j;
      row[j] =
          r < rows ? m[r / rows_each] + static_cast<size_t>(r % rows_each) * cols : zeros.data();
    }
    const int full = cols / 2;  // pairs without the odd column's padding
    for (int k = 0; k < full; ++k, out += 2 * kRowBlock) {
      for (int j = 0; j < kRowBlock; ++j) {
        out[2 * j] = row[j][2 * k];
        out[2 * j + 1] = row[j][2 * k + 1];
      }
    }
    if (full < pairs) {
      for (int j = 0; j < kRowBlock; ++j) {
        out[2 * j] = row[j][2 * full];
        out[2 * j + 1] = 0;
      }
      out += 2 * kRowBlock;
    }
  }
}

void PackS8Vector(const int8_t* v, int cols, int32_t offset, int32_t* pairs) {
  for (int k = 0; k < ColPairs(cols); ++k) {
    const int32_t lo = static_cast<int32_t>(v[2 * k]) - offset;
    const int32_t hi = 2 * k + 1 < cols ? static_cast<int32_t>(v[2 * k + 1]) - offset : 0;
    pairs[k] = static_cast<int32_t>((static_cast<uint32_t>(lo) & 0xFFFF) |
                                    (static_cast<uint32_t>(hi) << 16));
  }
}

size_t PackedF32Size(int rows, int cols) {
  return static_cast<size_t>(RowBlocks(rows)) * cols * kRowBlock;
}

void PackF32Matrices(const float* const* m, int count, int rows_each, int cols, float* packed) {
  const int rows = count * rows_each;
  std::memset(packed, 0, sizeof(float) * PackedF32Size(rows, cols));
  for (int r = 0; r < rows; ++r) {
    const float* row = m[r / rows_each] + static_cast<size_t>(r % rows_each) * cols;
    float* block = packed + static_cast<size_t>(r / kRowBlock) * cols * kRowBlock;
    for (int c = 0; c < cols; ++c) block[c * kRowBlock + r % kRowBlock] = row[c];
  }
}

const Kernels& GetKernels(const CpuInfo& cpu) {
#if defined(EDGEOPT_HAVE_AVX512)
  if (cpu.UseAvx512()) return kAvx512;
#endif
#if defined(EDGEOPT_HAVE_AVX2)
  if (cpu.UseAvx2()) return kAvx2;
#endif
#if defined(EDGEOPT_HAVE_NEON)
  if (cpu.UseNeon()) return kNeon;
#endif
  (void)cpu;
  return kScalar;
}

const Kernels& ScalarKernels() { return kScalar; }

const int16_t* SigmoidQ3Table(const CpuInfo& cpu) {
  static const int16_t* const table = BuildTable(cpu, -1, 32767);
  return table;
}

const int16_t* TanhTable(int integer_bits, const CpuInfo& cpu) {
  switch (integer_bits) {
    case 0:
      return TanhTableOf<0>(cpu);
    case 1:
      return TanhTableOf<1>(cpu);
    case 2:
      return TanhTableOf<2>(cpu);
    case 3:
      return TanhTableOf<3>(cpu);
    case 4:
      return TanhTableOf<4>(cpu);
    case 5:
      return TanhTableOf<5>(cpu);
    default:
      return TanhTableOf<6>(cpu);
  }
}

}  // namespace recurrent
}  // namespace rt
}  // namespace edgeopt
