// libFuzzer target for edgeopt's own data-file parsers: .npy (ParseNpy, used by `run -i`, .npz
// data sets and the runtime-only runner) and IDX (ParseIdx, MNIST-style data sets). The first
// byte picks the parser (even: .npy, odd: IDX); the rest is the file.
//   make fuzz-parsers    builds build-fuzz/parsers_fuzz (clang, ASan+UBSan) and runs it for
//                        FUZZ_SECONDS on seeds made from a small .npy and an IDX label file.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "src/data/idx.h"
#include "src/util/npy.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const bool idx = (data[0] & 1) != 0;
  ++data;
  --size;
  // An exactly-sized copy, so that any read past the end is caught.
  uint8_t* copy = static_cast<uint8_t*>(std::malloc(size == 0 ? 1 : size));
  if (size > 0) std::memcpy(copy, data, size);
  if (idx) {
    auto a = edgeopt::data::ParseIdx(copy, size, "fuzz.idx");
    if (a.ok() && a->NumElements() <= (int64_t{1} << 20)) {
      std::vector<float> values(static_cast<size_t>(a->NumElements()));
      a->ToFloat(values.data(), 255.0f);
    }
  } else {
    auto a = edgeopt::ParseNpy(copy, size, "fuzz.npy");
    if (a.ok()) (void)a->NumElements();
  }
  std::free(copy);
  return 0;
}
