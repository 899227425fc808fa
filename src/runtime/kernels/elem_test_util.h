// Test helpers for the elementwise-family kernel tests: tensor specs with quantization, random
// inputs, and agreement checks against the official runtime (tflite-ref) that also report the
// largest difference actually seen. Test-only (included from *_test.cc).
#ifndef EDGEOPT_SRC_RUNTIME_KERNELS_ELEM_TEST_UTIL_H_
#define EDGEOPT_SRC_RUNTIME_KERNELS_ELEM_TEST_UTIL_H_

#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "src/core/float16.h"
#include "src/runtime/cpu_info.h"
#include "tests/model_builder.h"

namespace edgeopt {
namespace testing {

// The ISA levels the optimized-kernel tests run: the machine's own, each lower cap that still
// has microkernels, and scalar (the reference fallback).
inline std::vector<rt::CpuInfo> OptimizedLevels() {
  std::vector<rt::CpuInfo> levels;
  const rt::CpuInfo& native = rt::GetCpuInfo();
  if (native.UseAvx512()) levels.push_back(native);
  if (native.UseAvx2()) {
    rt::CpuInfo c = native;
    c.avx512f = c.avx512bw = c.avx512vl = c.avx512dq = c.avx512vnni = false;
    if (c.UseAvxVnni()) levels.push_back(c);  // AVX2 with the VEX-encoded VNNI (int8 GEMMs)
    c.avxvnni = false;
    levels.push_back(c);
  }
  if (native.UseNeon()) levels.push_back(native);
  levels.push_back(rt::ScalarCpuInfo());
  return levels;
}

// Runs `model` with the reference kernels and with the microkernels (every level, 1 and 2
// threads). atol < 0: identical bytes; otherwise float outputs within atol + rtol * |ref|
// (NaN where the reference has NaN).
inline void ExpectMatchesReference(const std::vector<uint8_t>& model,
                                   const std::vector<NpyArray>& inputs, const std::string& what,
                                   double atol = -1, double rtol = 0, bool exact_float = false) {
  rt::InterpreterOptions ref_options;
  ref_options.use_optimized_kernels = false;
  auto ref = RunEdgeopt(model, inputs, ref_options);
  ASSERT_TRUE(ref.ok()) << what << ": " << ref.status().ToString();
  for (const rt::CpuInfo& cpu : OptimizedLevels()) {
    for (int threads : {1, 2}) {
      rt::InterpreterOptions options;
      options.cpu = &cpu;
      options.num_threads = threads;
      options.exact_float = exact_float;
      auto ours = RunEdgeopt(model, inputs, options);
      ASSERT_TRUE(ours.ok()) << what << ": " << ours.status().ToString();
      const std::vector<uint8_t>& a = (*ours)[0].data;
      const std::vector<uint8_t>& b = (*ref)[0].data;
      ASSERT_EQ(a.size(), b.size()) << what;
      if (atol < 0) {
        for (size_t i = 0; i < b.size(); ++i) {
          ASSERT_EQ(int{a[i]}, int{b[i]}) << what << " (" << threads << " threads): byte " << i;
        }
        continue;
      }
      const float* fa = reinterpret_cast<const float*>(a.data());
      const float* fb = reinterpret_cast<const float*>(b.data());
      for (size_t i = 0; i < b.size() / 4; ++i) {
        if (std::isnan(fb[i])) {
          ASSERT_TRUE(std::isnan(fa[i])) << what << ": element " << i << " is " << fa[i];
          continue;
        }
        ASSERT_LE(std::fabs(static_cast<double>(fa[i]) - fb[i]), atol + rtol * std::fabs(fb[i]))
            << what << " (" << threads << " threads): element " << i << " is " << fa[i]
            << ", reference " << fb[i];
      }
    }
  }
}

// A tensor: type, shape, and (when scale > 0) per-tensor quantization.
struct TSpec {
  DType type = DType::kFloat32;
  std::vector<int32_t> shape;
  float scale = 0.0f;
  int64_t zero_point = 0;
};

inline TSpec F32(std::vector<int32_t> shape) { return TSpec{DType::kFloat32, std::move(shape)}; }
inline TSpec Q(DType type, std::vector<int32_t> shape, float scale, int64_t zp) {
  return TSpec{type, std::move(shape), scale, zp};
}
inline TSpec Plain(DType type, std::vector<int32_t> shape) { return TSpec{type, std::move(shape)}; }

inline std::vector<float> ScalesOf(const TSpec& s) {
  return s.scale > 0 ? std::vector<float>{s.scale} : std::vector<float>{};
}
inline std::vector<int64_t> ZerosOf(const TSpec& s) {
  return s.scale > 0 ? std::vector<int64_t>{s.zero_point} : std::vector<int64_t>{};
}
inline int AddIn(ModelBuilder& m, const TSpec& s) {
  return m.AddInput(s.type, s.shape, ScalesOf(s), ZerosOf(s));
}
inline int AddOut(ModelBuilder& m, const TSpec& s) {
  return m.AddOutput(s.type, s.shape, ScalesOf(s), ZerosOf(s));
}
inline int AddTmp(ModelBuilder& m, const TSpec& s) {
  return m.AddTensor(s.type, s.shape, ScalesOf(s), ZerosOf(s));
}
template <typename T>
int AddConst(ModelBuilder& m, const TSpec& s, const std::vector<T>& values) {
  return m.AddConstant<T>(s.type, s.shape, values, ScalesOf(s), ZerosOf(s));
}

// Random data for a spec: floats uniform in [lo, hi], integers over their full range (int32 / int64
// over [lo, hi]).
inline NpyArray RandomFor(const TSpec& s, uint32_t seed, double lo = -3.0, double hi = 3.0) {
  if (s.type == DType::kFloat32 || s.type == DType::kInt32 || s.type == DType::kInt64) {
    return RandomArray(s.type, s.shape, seed, lo, hi);
  }
  return RandomArray(s.type, s.shape, seed, -1e9, 1e9);
}

// Largest difference between two outputs: |a-b| for floats, LSB for integers.
struct Diff {
  double max_abs = 0.0;
  int64_t max_lsb = 0;
};

inline Diff MaxDiff(const NpyArray& a, const NpyArray& b) {
  Diff d;
  if (a.dtype != b.dtype || a.data.size() != b.data.size()) {
    d.max_abs = INFINITY;
    d.max_lsb = INT64_MAX;
    return d;
  }
  const int64_t n = a.NumElements();
  for (int64_t i = 0; i < n; ++i) {
    switch (a.dtype) {
      case DType::kFloat32: {
        const float x = a.Data<float>()[i], y = b.Data<float>()[i];
        if (std::isnan(x) && std::isnan(y)) break;
        if (x == y) break;  // also equal infinities
        d.max_abs = std::max(d.max_abs, static_cast<double>(std::abs(x - y)));
        if (std::isnan(x) || std::isnan(y)) d.max_abs = INFINITY;
        break;
      }
      case DType::kInt8:
        d.max_lsb =
            std::max<int64_t>(d.max_lsb, std::llabs(a.Data<int8_t>()[i] - b.Data<int8_t>()[i]));
        break;
      case DType::kUInt8:
      case DType::kBool:
        d.max_lsb =
            std::max<int64_t>(d.max_lsb, std::llabs(a.Data<uint8_t>()[i] - b.Data<uint8_t>()[i]));
        break;
      case DType::kInt16:
        d.max_lsb =
            std::max<int64_t>(d.max_lsb, std::llabs(a.Data<int16_t>()[i] - b.Data<int16_t>()[i]));
        break;
      case DType::kInt32:
        d.max_lsb = std::max<int64_t>(
            d.max_lsb,
            std::llabs(static_cast<int64_t>(a.Data<int32_t>()[i]) - b.Data<int32_t>()[i]));
        break;
      case DType::kInt64:
        if (a.Data<int64_t>()[i] != b.Data<int64_t>()[i]) {
          d.max_lsb =
              std::max<int64_t>(d.max_lsb, std::llabs(a.Data<int64_t>()[i] - b.Data<int64_t>()[i]));
        }
        break;
      default:
        if (a.data != b.data) d.max_lsb = INT64_MAX;
        return d;
    }
  }
  return d;
}

// Runs `model` in edgeopt and in tflite-ref on `inputs`, expects every output to agree within
// `tol`, prints the largest difference seen under `what`, and returns it.
inline Diff ExpectAgreesWithRef(const std::vector<uint8_t>& model,
                                const std::vector<NpyArray>& inputs, const Tolerance& tol,
                                const std::string& what) {
  Diff worst;
  auto ours = RunEdgeopt(model, inputs);
  auto ref = RunTfliteRef(model, inputs);
  EXPECT_TRUE(ours.ok()) << what << ": edgeopt: " << ours.status().message();
  EXPECT_TRUE(ref.ok()) << what << ": tflite-ref: " << ref.status().message();
  if (!ours.ok() || !ref.ok()) return worst;
  EXPECT_EQ(ours->size(), ref->size()) << what;
  if (ours->size() != ref->size()) return worst;
  for (size_t i = 0; i < ours->size(); ++i) {
    ExpectClose((*ours)[i], (*ref)[i], tol, what + " output " + std::to_string(i));
    const Diff d = MaxDiff((*ours)[i], (*ref)[i]);
    worst.max_abs = std::max(worst.max_abs, d.max_abs);
    worst.max_lsb = std::max(worst.max_lsb, d.max_lsb);
  }
  std::printf("[ agree    ] %s: max_abs=%.3g max_lsb=%lld\n", what.c_str(), worst.max_abs,
              static_cast<long long>(worst.max_lsb));
  return worst;
}

// Random inputs matching the graph inputs listed in `specs`.
inline std::vector<NpyArray> RandomInputs(const std::vector<TSpec>& specs, uint32_t seed,
                                          double lo = -3.0, double hi = 3.0) {
  std::vector<NpyArray> v;
  for (const TSpec& s : specs) v.push_back(RandomFor(s, seed++, lo, hi));
  return v;
}

// Expects model loading (Prepare) to fail with a message containing `needle`.
inline void ExpectPrepareError(const std::vector<uint8_t>& model, const std::string& needle) {
  auto interp = rt::Interpreter::Create(model.data(), model.size(), rt::InterpreterOptions());
  ASSERT_FALSE(interp.ok()) << "expected an error containing \"" << needle << "\"";
  EXPECT_NE(interp.status().message().find(needle), std::string::npos)
      << "message: " << interp.status().message();
}

// Tolerances.
constexpr double kFloatAtol = 1e-5;
constexpr double kFloatRtol = 1e-5;
inline Tolerance ExactInts() { return Tolerance{kFloatAtol, kFloatRtol, 0}; }
inline Tolerance OneLsb() { return Tolerance{kFloatAtol, kFloatRtol, 1}; }

}  // namespace testing
}  // namespace edgeopt

#endif  // EDGEOPT_SRC_RUNTIME_KERNELS_ELEM_TEST_UTIL_H_
