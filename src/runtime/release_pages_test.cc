// InterpreterOptions::release_constant_pages: the weights' file pages are dropped after prepare,
// and the model computes exactly what it computes without that.
#include <gtest/gtest.h>

#include <cstring>
#include <string>
#include <vector>

#include "src/runtime/interpreter.h"
#include "src/util/file_util.h"
#include "tests/test_util.h"

namespace edgeopt {
namespace {

std::vector<uint8_t> RunOnce(const MappedFile& file, bool release, bool optimized) {
  rt::InterpreterOptions options;
  options.release_constant_pages = release;
  options.use_optimized_kernels = optimized;
  auto interp = rt::Interpreter::Create(file.data(), file.size(), options);
  EXPECT_TRUE(interp.ok()) << interp.status().message();
  if (!interp.ok()) return {};
  rt::Interpreter& it = **interp;
  for (int i = 0; i < it.num_inputs(); ++i) {
    rt::Tensor* in = it.input_tensor(i);
    for (size_t b = 0; b < in->bytes; ++b) in->data[b] = static_cast<uint8_t>(b * 7 + i);
  }
  EXPECT_TRUE(it.Invoke().ok());
  std::vector<uint8_t> out;
  for (int i = 0; i < it.num_outputs(); ++i) {
    const rt::Tensor* t = it.output_tensor(i);
    out.insert(out.end(), t->data, t->data + t->bytes);
  }
  return out;
}

TEST(ReleaseConstantPages, SameOutputsWithReferenceAndOptimizedKernels) {
  for (const char* name :
       {"mlcommons-tiny/pretrainedResnet_quant.tflite", "mlcommons-tiny/pretrainedResnet.tflite",
        "coral-test_data/mobilenet_v1_0.25_128_quant.tflite"}) {
    const std::string path = testing::CorpusPath(name);
    auto file = MappedFile::Open(path);
    if (!file.ok()) GTEST_SKIP() << "corpus not found: " << path;
    ASSERT_TRUE((*file)->is_mapping());
    for (bool optimized : {false, true}) {
      const std::vector<uint8_t> kept = RunOnce(**file, false, optimized);
      const std::vector<uint8_t> released = RunOnce(**file, true, optimized);
      ASSERT_FALSE(kept.empty()) << name;
      EXPECT_EQ(kept, released) << name << (optimized ? " optimized" : " reference");
    }
  }
}

}  // namespace
}  // namespace edgeopt
