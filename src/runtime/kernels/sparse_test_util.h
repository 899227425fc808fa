// Test helpers for the sparse kernels (kernel tests and model-level tests).
#ifndef EDGEOPT_SRC_RUNTIME_KERNELS_SPARSE_TEST_UTIL_H_
#define EDGEOPT_SRC_RUNTIME_KERNELS_SPARSE_TEST_UTIL_H_

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <random>
#include <type_traits>
#include <vector>

namespace edgeopt {
namespace rt {

// A random [N][K] matrix (float or int8) whose nonzeros come in aligned 1 x `structure`
// blocks, a fraction `density` of the blocks stored.
template <typename T>
std::vector<T> RandomWeights(int N, int K, int structure, double density, uint32_t seed) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> u(0.0f, 1.0f);
  std::vector<T> w(static_cast<size_t>(N) * K, T(0));
  for (int n = 0; n < N; ++n) {
    for (int k0 = 0; k0 < K; k0 += structure) {
      if (u(rng) >= density) continue;
      for (int k = k0; k < std::min(K, k0 + structure); ++k) {
        const float v = u(rng) * 2.0f - 1.0f;
        if constexpr (std::is_same_v<T, int8_t>) {
          w[static_cast<size_t>(n) * K + k] = static_cast<int8_t>(std::lround(v * 127.0f));
        } else {
          w[static_cast<size_t>(n) * K + k] = v;
        }
      }
    }
  }
  return w;
}

// Zeroes each value of `w` with probability 1 - density (a randomly pruned filter).
inline void PruneRandomly(std::vector<float>* w, double density, uint32_t seed) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<double> keep(0.0, 1.0);
  for (float& v : *w) {
    if (keep(rng) >= density) v = 0.0f;
  }
}

}  // namespace rt
}  // namespace edgeopt

#endif  // EDGEOPT_SRC_RUNTIME_KERNELS_SPARSE_TEST_UTIL_H_
