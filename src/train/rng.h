// Small deterministic random numbers for training (weight init, dropout, shuffling,
// augmentation): SplitMix64, identical on every platform (unlike std:: distributions).
#ifndef EDGEOPT_SRC_TRAIN_RNG_H_
#define EDGEOPT_SRC_TRAIN_RNG_H_

#include <cmath>
#include <cstdint>

namespace edgeopt {
namespace train {

class SplitMix64 {
 public:
  explicit SplitMix64(uint64_t seed) : state_(seed) {}
  uint64_t Next() {
    uint64_t z = (state_ += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
  }
  // Uniform in [0, 1) with 24 bits.
  float NextFloat() { return static_cast<float>(Next() >> 40) * (1.0f / 16777216.0f); }
  double NextDouble() { return static_cast<double>(Next() >> 11) * (1.0 / 9007199254740992.0); }
  // Uniform integer in [0, n).
  uint64_t Below(uint64_t n) { return n == 0 ? 0 : Next() % n; }
  // Standard normal (Box-Muller).
  double NextNormal() {
    const double u1 = 1.0 - NextDouble();
    const double u2 = NextDouble();
    return std::sqrt(-2.0 * std::log(u1)) * std::cos(6.283185307179586 * u2);
  }

 private:
  uint64_t state_;
};

inline uint64_t MixSeed(uint64_t a, uint64_t b, uint64_t c) {
  SplitMix64 r(a * 0x9E3779B97F4A7C15ull ^ (b + 0x632BE59BD9B4E019ull));
  r.Next();
  SplitMix64 r2(r.Next() ^ (c * 0xD1B54A32D192ED03ull));
  return r2.Next();
}

}  // namespace train
}  // namespace edgeopt

#endif  // EDGEOPT_SRC_TRAIN_RNG_H_
