#include "src/util/random_inputs.h"

#include <cstring>

#include "src/core/float16.h"

namespace edgeopt {

void FillRandomInput(DType dtype, size_t count, uint64_t seed, int input_index, void* out) {
  SplitMix64 rng{seed ^ (0xD1B54A32D192ED03ull * static_cast<uint64_t>(input_index + 1))};
  const size_t size = DTypeSize(dtype);
  uint8_t* p = static_cast<uint8_t*>(out);
  for (size_t i = 0; i < count; ++i, p += size) {
    uint64_t v = rng.Next();
    switch (dtype) {
      case DType::kFloat32: {
        const float x = static_cast<float>(static_cast<double>(v >> 40) / (1 << 23) - 1.0);
        std::memcpy(p, &x, 4);
        break;
      }
      case DType::kFloat64: {
        const double x = static_cast<double>(v >> 40) / (1 << 23) - 1.0;
        std::memcpy(p, &x, 8);
        break;
      }
      case DType::kFloat16: {
        const uint16_t h =
            FloatToHalf(static_cast<float>(static_cast<double>(v >> 53) / 1024 - 1.0));
        std::memcpy(p, &h, 2);
        break;
      }
      case DType::kBool:
        p[0] = static_cast<uint8_t>(v >> 63);
        break;
      default:
        if (size > 2) v %= 10;
        std::memcpy(p, &v, size);  // little-endian: the low bytes
        break;
    }
  }
}

}  // namespace edgeopt
