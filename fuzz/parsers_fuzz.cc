// libFuzzer target for edgeopt's own file parsers: .npy (ParseNpy, used by `run -i`, .npz
// data sets and the runtime-only runner), IDX (ParseIdx, MNIST-style data sets) and zip
// (ZipReader, under .keras and .npz). The first byte modulo 3 picks the parser (0: .npy, 1: IDX,
// 2: zip); the rest is the file.
//   make fuzz-parsers    builds build-fuzz/parsers_fuzz (clang, ASan+UBSan) and runs it for
//                        FUZZ_SECONDS on seeds of each kind (tests/data/fuzz_seeds/parsers).
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "src/data/idx.h"
#include "src/util/npy.h"
#include "src/util/zip.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const int parser = data[0] % 3;
  ++data;
  --size;
  // An exactly-sized copy, so that any read past the end is caught.
  uint8_t* copy = static_cast<uint8_t*>(std::malloc(size == 0 ? 1 : size));
  if (size > 0) std::memcpy(copy, data, size);
  if (parser == 2) {
    auto zip = edgeopt::ZipReader::Open(std::vector<uint8_t>(copy, copy + size), "fuzz.zip");
    if (zip.ok()) {
      for (const edgeopt::ZipReader::Entry& e : zip->entries()) {
        (void)zip->Read(e.name, size_t{1} << 20);
      }
    }
  } else if (parser == 1) {
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
