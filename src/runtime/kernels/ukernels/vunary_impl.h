// The kernels of vunary.h written once with GCC/Clang vector extensions: each ISA's
// vunary_<isa>.cc defines EDGEOPT_VUNARY_BYTES (its vector width) and includes this header,
// whose functions have internal linkage (each ISA's copy keeps its own instructions).
// Tails go through a vector-sized buffer, so every element sees the same operations.
#ifndef EDGEOPT_VUNARY_BYTES
#error "define EDGEOPT_VUNARY_BYTES (the vector width in bytes) before including vunary_impl.h"
#endif

#include <cstddef>
#include <cstdint>

#include "src/runtime/kernels/ukernels/vunary.h"

namespace edgeopt {
namespace rt {
namespace uk {
namespace {

constexpr int kLanes = EDGEOPT_VUNARY_BYTES / 4;
typedef float VF __attribute__((vector_size(EDGEOPT_VUNARY_BYTES)));
typedef int32_t VI __attribute__((vector_size(EDGEOPT_VUNARY_BYTES)));
typedef uint32_t VU __attribute__((vector_size(EDGEOPT_VUNARY_BYTES)));

template <typename V, typename T>
inline V Load(const T* p) {
  V v;
  __builtin_memcpy(&v, p, sizeof(v));
  return v;
}
template <typename V, typename T>
inline void Store(T* p, V v) {
  __builtin_memcpy(p, &v, sizeof(v));
}
inline VF Splat(float x) {
  VF v;
  for (int i = 0; i < kLanes; ++i) v[i] = x;
  return v;
}
// std::max(a, b) and std::min(a, b), lane by lane (the same operand returned for NaN).
inline VF Max(VF a, VF b) { return a < b ? b : a; }
inline VF Min(VF a, VF b) { return b < a ? b : a; }

// y = f(x) vector by vector; the tail through a buffer.
template <typename F>
inline void Map(size_t n, const float* x, float* y, F f) {
  for (; n >= static_cast<size_t>(kLanes); n -= kLanes, x += kLanes, y += kLanes) {
    Store(y, f(Load<VF>(x)));
  }
  if (n != 0) {
    float buf[kLanes] = {};
    __builtin_memcpy(buf, x, n * sizeof(float));
    Store(buf, f(Load<VF>(buf)));
    __builtin_memcpy(y, buf, n * sizeof(float));
  }
}

constexpr int32_t kSignBit = INT32_MIN;
constexpr int32_t kAbsMask = INT32_MAX;
constexpr float kMinExpArg = -87.33654f;  // ln(2^-126): the smallest normal 2^n below
constexpr float kLog2e = 1.44269504f;
constexpr float kRoundMagic = 12582912.0f;  // 1.5 * 2^23: adding it rounds to an integer
constexpr int32_t kRoundMagicBits = 0x4B400000;
constexpr float kLn2Hi = 0.693359375f;  // 9 significant bits: n * kLn2Hi is exact
constexpr float kLn2Lo = -2.12194440e-4f;

// exp(y) = s * (1 + p) for y in [kMinExpArg, 0]: s = 2^n, n = round(y / ln2), and
// p = expm1(r) for r = y - n ln2, |r| <= ln2 / 2 (Taylor to r^7: error < 2^-27).
inline void ExpParts(VF y, VF* s, VF* p) {
  const VF t = y * kLog2e + kRoundMagic;
  const VF n = t - kRoundMagic;
  const VF r = (y - n * kLn2Hi) - n * kLn2Lo;
  *s = (VF)((((VI)t - kRoundMagicBits) + 127) << 23);
  VF q = r * (1.0f / 5040) + (1.0f / 720);
  q = q * r + (1.0f / 120);
  q = q * r + (1.0f / 24);
  q = q * r + (1.0f / 6);
  q = q * r + 0.5f;
  *p = r + (r * r) * q;
}

// exp(y) for y <= 0 (0 below kMinExpArg; NaN stays NaN). Lanes below kMinExpArg compute exp(0)
// and are then zeroed: at kMinExpArg itself s * p would be a subnormal, which costs x86 a
// microcode assist per instruction (a causal mask's -1e9 scores made a softmax 4x slower).
inline VF ExpNonPositive(VF y) {
  const VF lo = Splat(kMinExpArg);
  VF s, p;
  ExpParts(y < lo ? Splat(0.0f) : y, &s, &p);
  const VF e = s + s * p;
  return y < lo ? Splat(0.0f) : e;
}

inline VF Sigmoid(VF x) {
  // e = exp(-|x|); x >= 0: 1 / (1 + e), x < 0: e / (1 + e).
  const VF e = ExpNonPositive((VF)((VI)x | kSignBit));
  return (x < 0.0f ? e : Splat(1.0f)) / (e + 1.0f);
}

inline VF Tanh(VF x) {
  // tanh|x| = -expm1(-2|x|) / (2 + expm1(-2|x|)), expm1 = (s - 1) + s p (accurate near 0).
  const VF lo = Splat(kMinExpArg);
  const VF z = (VF)((VI)x & kAbsMask) * -2.0f;
  VF s, p;
  ExpParts(z < lo ? lo : z, &s, &p);
  const VF em1 = (s - 1.0f) + s * p;
  const VF t = -em1 / (em1 + 2.0f);
  return (VF)(((VI)t & kAbsMask) | ((VI)x & kSignBit));
}

void Clamp(size_t n, const float* x, float* y, const F32UnaryParams* p) {
  const VF lo = Splat(p->min), hi = Splat(p->max);
  Map(n, x, y, [&](VF v) { return Min(hi, Max(lo, v)); });
}

void LeakyRelu(size_t n, const float* x, float* y, const F32UnaryParams* p) {
  const float alpha = p->alpha;
  Map(n, x, y, [alpha](VF v) { return v > 0.0f ? v : v * alpha; });
}

void HardSwish(size_t n, const float* x, float* y, const F32UnaryParams*) {
  Map(n, x, y, [](VF v) {
    const VF t = Min(Splat(6.0f), Max(Splat(0.0f), v + 3.0f));
    return (v * t) / 6.0f;
  });
}

void Logistic(size_t n, const float* x, float* y, const F32UnaryParams*) { Map(n, x, y, Sigmoid); }
void TanhKernel(size_t n, const float* x, float* y, const F32UnaryParams*) { Map(n, x, y, Tanh); }

// A softmax row's last step (in place): at least a vector, the tail is the vector that ends x,
// read before any store and written over the lanes before it with the same values.
void Scale(size_t n, const float* x, float* y, const F32UnaryParams* p) {
  const float s = p->alpha;
  if (n < static_cast<size_t>(kLanes)) {
    Map(n, x, y, [s](VF v) { return v * s; });
    return;
  }
  const VF last = Load<VF>(x + n - kLanes);
  size_t i = 0;
  for (; i + kLanes <= n; i += kLanes) Store(y + i, Load<VF>(x + i) * s);
  if (i < n) Store(y + n - kLanes, last * s);
}

// A row of at least one vector ends with the vector that ends it (overlapping the last one: the
// max is the same), so a softmax row of a few dozen keys stays in vector code.
float RMax(size_t n, const float* x) {
  VF m = Splat(x[0]);
  size_t i = 0;
  for (; i + kLanes <= n; i += kLanes) m = Max(m, Load<VF>(x + i));
  if (i < n && n >= static_cast<size_t>(kLanes)) {
    m = Max(m, Load<VF>(x + n - kLanes));
    i = n;
  }
  float r = m[0];
  for (int l = 1; l < kLanes; ++l) r = r < m[l] ? m[l] : r;
  for (; i < n; ++i) r = r < x[i] ? x[i] : r;
  return r;
}

float RAddStoreExp(size_t n, const float* x, float max, float beta, float* y) {
  const VF vmax = Splat(max), vbeta = Splat(beta);
  VF acc = Splat(0.0f);
  // The row's last vector, read before any store (y may be x).
  const VF last = n >= static_cast<size_t>(kLanes) ? Load<VF>(x + n - kLanes) : acc;
  size_t i = 0;
  for (; i + kLanes <= n; i += kLanes) {
    const VF e = ExpNonPositive((Load<VF>(x + i) - vmax) * vbeta);
    Store(y + i, e);
    acc += e;
  }
  if (i < n && n >= static_cast<size_t>(kLanes)) {
    // The vector that ends the row, overlapping the one before (whose lanes it recomputes to
    // the same values): only its new lanes add.
    const size_t at = n - kLanes;
    const VF e = ExpNonPositive((last - vmax) * vbeta);
    Store(y + at, e);
    VI lane;
    for (int l = 0; l < kLanes; ++l) lane[l] = l;
    acc += lane >= static_cast<int32_t>(i - at) ? e : Splat(0.0f);
    i = n;
  }
  float sum = 0.0f;
  for (int l = 0; l < kLanes; ++l) sum += acc[l];
  if (i < n) {  // a row shorter than a vector
    float buf[kLanes];
    const size_t rest = n - i;
    __builtin_memcpy(buf, x + i, rest * sizeof(float));
    for (size_t j = rest; j < static_cast<size_t>(kLanes); ++j) buf[j] = max;
    Store(buf, ExpNonPositive((Load<VF>(buf) - vmax) * vbeta));
    __builtin_memcpy(y + i, buf, rest * sizeof(float));
    for (size_t j = 0; j < rest; ++j) sum += buf[j];
  }
  return sum;
}

void F32RowAcc(size_t rows, size_t channels, const float* x, float* acc) {
  size_t c = 0;
  for (; c + 4 * kLanes <= channels; c += 4 * kLanes) {
    VF a0 = Load<VF>(acc + c), a1 = Load<VF>(acc + c + kLanes);
    VF a2 = Load<VF>(acc + c + 2 * kLanes), a3 = Load<VF>(acc + c + 3 * kLanes);
    const float* p = x + c;
    for (size_t r = 0; r < rows; ++r, p += channels) {
      a0 += Load<VF>(p);
      a1 += Load<VF>(p + kLanes);
      a2 += Load<VF>(p + 2 * kLanes);
      a3 += Load<VF>(p + 3 * kLanes);
    }
    Store(acc + c, a0);
    Store(acc + c + kLanes, a1);
    Store(acc + c + 2 * kLanes, a2);
    Store(acc + c + 3 * kLanes, a3);
  }
  for (; c + kLanes <= channels; c += kLanes) {
    VF a = Load<VF>(acc + c);
    const float* p = x + c;
    for (size_t r = 0; r < rows; ++r, p += channels) a += Load<VF>(p);
    Store(acc + c, a);
  }
  for (; c < channels; ++c) {
    float a = acc[c];
    for (size_t r = 0; r < rows; ++r) a += x[r * channels + c];
    acc[c] = a;
  }
}

// int32 sums of int8 (kSigned) or uint8 values, wrapping: each 32-bit lane of a vector load
// holds 4 channels, split with shifts into 4 accumulators (channel 4 l + k in lane l of s[k]).
template <bool kSigned>
void X8RowAcc(size_t rows, size_t channels, const void* xv, int32_t* acc) {
  const uint8_t* x = static_cast<const uint8_t*>(xv);
  constexpr size_t kBlock = 4 * kLanes;
  size_t c = 0;
  for (; c + kBlock <= channels; c += kBlock) {
    VU s0 = {}, s1 = {}, s2 = {}, s3 = {};
    const uint8_t* p = x + c;
    for (size_t r = 0; r < rows; ++r, p += channels) {
      const VU v = Load<VU>(p);
      if (kSigned) {
        s0 += (VU)((VI)(v << 24) >> 24);
        s1 += (VU)((VI)(v << 16) >> 24);
        s2 += (VU)((VI)(v << 8) >> 24);
        s3 += (VU)((VI)v >> 24);
      } else {
        s0 += v & 0xFFu;
        s1 += (v >> 8) & 0xFFu;
        s2 += (v >> 16) & 0xFFu;
        s3 += v >> 24;
      }
    }
    uint32_t* a = reinterpret_cast<uint32_t*>(acc + c);
    for (int l = 0; l < kLanes; ++l) {
      a[4 * l] += s0[l];
      a[4 * l + 1] += s1[l];
      a[4 * l + 2] += s2[l];
      a[4 * l + 3] += s3[l];
    }
  }
  for (; c < channels; ++c) {
    uint32_t a = static_cast<uint32_t>(acc[c]);
    for (size_t r = 0; r < rows; ++r) {
      const uint8_t b = x[r * channels + c];
      a += kSigned ? static_cast<uint32_t>(static_cast<int8_t>(b)) : b;
    }
    acc[c] = static_cast<int32_t>(a);
  }
}

void Lut(size_t n, const uint8_t* x, uint8_t* y, const uint8_t* t) {
  for (; n >= 4; n -= 4, x += 4, y += 4) {
    const uint8_t a = t[x[0]], b = t[x[1]], c = t[x[2]], d = t[x[3]];
    y[0] = a;
    y[1] = b;
    y[2] = c;
    y[3] = d;
  }
  for (size_t i = 0; i < n; ++i) y[i] = t[x[i]];
}

// float_kernels false: only the integer kernels (the float entries null).
constexpr VUnaryConfig MakeVUnaryConfig(const char* name, bool with_clamp, bool float_kernels) {
  const bool f = float_kernels;
  return VUnaryConfig{name,
                      f && with_clamp ? Clamp : nullptr,
                      f ? LeakyRelu : nullptr,
                      f ? HardSwish : nullptr,
                      f ? Logistic : nullptr,
                      f ? TanhKernel : nullptr,
                      f ? Scale : nullptr,
                      f ? RMax : nullptr,
                      f ? RAddStoreExp : nullptr,
                      f ? F32RowAcc : nullptr,
                      X8RowAcc<true>,
                      X8RowAcc<false>,
                      Lut};
}

}  // namespace
}  // namespace uk
}  // namespace rt
}  // namespace edgeopt
