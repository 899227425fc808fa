// Timing shared by the kernel benchmarks that run a one-op model in the interpreter
// (batch_matmul_bench, sparse_matmul_bench): samples of enough invocations to last 2 ms, and
// their median.
#ifndef EDGEOPT_BENCH_BENCH_TIMING_H_
#define EDGEOPT_BENCH_BENCH_TIMING_H_

#include <algorithm>
#include <chrono>
#include <vector>

#include "src/runtime/interpreter.h"

namespace edgeopt {
namespace bench {

inline double NowSeconds() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

// Invocations per sample: one timed run decides how many last at least 2 ms.
inline int CalibrateReps(rt::Interpreter* interp) {
  const double t0 = NowSeconds();
  (void)interp->Invoke();
  const double once = std::max(NowSeconds() - t0, 1e-7);
  return std::max(1, static_cast<int>(2e-3 / once));
}

// Seconds per invocation over `reps` invocations.
inline double SampleSeconds(rt::Interpreter* interp, int reps) {
  const double t0 = NowSeconds();
  for (int r = 0; r < reps; ++r) (void)interp->Invoke();
  return (NowSeconds() - t0) / reps;
}

inline double Median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

}  // namespace bench
}  // namespace edgeopt

#endif  // EDGEOPT_BENCH_BENCH_TIMING_H_
