// Seeded random tensor contents, the same stream as ../shared/tools/tflite-ref (splitmix64
// seeded by seed and input index): floats uniform in [-1, 1) on a grid exact in the type, 8- and
// 16-bit integers over their full range, wider integers in 0..9, bools 0/1. So `edgeopt run
// --random S` and `tflite-ref run --random S` feed identical inputs.
#ifndef EDGEOPT_SRC_UTIL_RANDOM_INPUTS_H_
#define EDGEOPT_SRC_UTIL_RANDOM_INPUTS_H_

#include <cstddef>
#include <cstdint>

#include "src/core/dtype.h"

namespace edgeopt {

struct SplitMix64 {
  uint64_t state;
  uint64_t Next() {
    uint64_t z = (state += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
  }
};

// Fills `count` elements of `dtype` at `out` for input number `input_index`.
void FillRandomInput(DType dtype, size_t count, uint64_t seed, int input_index, void* out);

}  // namespace edgeopt

#endif  // EDGEOPT_SRC_UTIL_RANDOM_INPUTS_H_
