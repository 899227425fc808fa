// libFuzzer target for `edgeopt export-c`: the TFLM analysis, the header it writes, and the LUT
// compression of whatever .tflite the bytes are; a compressed result is verified, analyzed again
// and loaded by the runtime (which decodes the tables). Any step may refuse the input; none may
// crash.
//   make fuzz-tflm       builds build-fuzz/tflm_export_fuzz (clang, ASan+UBSan) and runs it for
//                        FUZZ_SECONDS, seeded with the small corpus models and the regressions.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "src/export/tflm/lut_compress.h"
#include "src/export/tflm/tflm_export.h"
#include "src/runtime/interpreter.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  // An exactly-sized copy, so that any read past the end is caught.
  uint8_t* copy = static_cast<uint8_t*>(std::malloc(size == 0 ? 1 : size));
  if (size > 0) std::memcpy(copy, data, size);
  auto report = edgeopt::tflm::AnalyzeForTflm(copy, size);
  if (report.ok()) (void)edgeopt::tflm::CArrayHeader(size, *report, {});
  auto packed = edgeopt::tflm::CompressLut(copy, size);
  if (packed.ok() && !packed->tensors.empty()) {
    const std::vector<uint8_t>& m = packed->model;
    if (!edgeopt::rt::VerifyModelBuffer(m.data(), m.size()).ok()) std::abort();
    (void)edgeopt::tflm::AnalyzeForTflm(m.data(), m.size());
    edgeopt::rt::InterpreterOptions options;
    options.num_threads = 1;
    options.max_memory_bytes = size_t{256} << 20;
    (void)edgeopt::rt::Interpreter::Create(m.data(), m.size(), options);
  }
  std::free(copy);
  return 0;
}
