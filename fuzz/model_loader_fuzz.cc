// libFuzzer target for the model loader: verify, load, prepare and (when small) invoke; and the
// TFLM analysis of `edgeopt export-c` with the header it writes.
//   make fuzz            builds build-fuzz/model_loader_fuzz (clang, ASan+UBSan) and runs it
//                        on a corpus seeded with ../shared/corpus for FUZZ_SECONDS.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>

#include "src/export/tflm/tflm_export.h"
#include "src/runtime/interpreter.h"
#include "src/runtime/model_stats.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  // An exactly-sized copy, so that any read past the end is caught.
  uint8_t* copy = static_cast<uint8_t*>(std::malloc(size == 0 ? 1 : size));
  if (size > 0) std::memcpy(copy, data, size);
  auto tflm = edgeopt::tflm::AnalyzeForTflm(copy, size);
  if (tflm.ok()) (void)edgeopt::tflm::CArrayHeader(size, *tflm, {});
  edgeopt::rt::InterpreterOptions options;
  options.num_threads = 1;
  // Well under the fuzzer's RSS limit (-rss_limit_mb=4096): the default 4 GiB lets a mutant
  // declare tensors that the loader rightly accepts and ASan then holds (RSS rose to 3.9 GB).
  options.max_memory_bytes = size_t{512} << 20;
  auto interp = edgeopt::rt::Interpreter::Create(copy, size, options);
  if (interp.ok()) {
    const auto stats = edgeopt::rt::ComputeModelStats(interp->get());
    if (stats.total_macs < (int64_t{20} << 20) && (*interp)->arena_bytes() < (size_t{64} << 20)) {
      (void)(*interp)->Invoke();
    }
  }
  std::free(copy);
  return 0;
}
