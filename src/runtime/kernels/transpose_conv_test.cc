#include <gtest/gtest.h>

#include "src/runtime/kernels/conv_test_util.h"

namespace edgeopt {
namespace testing {
namespace {

using conv::OpConfig;
using conv::Variant;
using tflite::Padding;

std::vector<OpConfig> TransposeConvConfigs(Variant v) {
  std::vector<OpConfig> configs;
  uint32_t seed = 300;
  auto add = [&](int batch, int h, int w, int in_c, int fh, int fw, int out_c,
                 int stride, Padding pad, int out_h, int out_w) {
    OpConfig c;
    c.op = tflite::BuiltinOperator::TRANSPOSE_CONV;
    c.variant = v;
    c.batch = batch;
    c.in_h = h;
    c.in_w = w;
    c.in_c = in_c;
    c.filter_h = fh;
    c.filter_w = fw;
    c.out_c = out_c;
    c.stride_h = c.stride_w = stride;
    c.padding = pad;
    c.out_h = out_h;
    c.out_w = out_w;
    c.seed = seed++;
    configs.push_back(c);
  };
  add(1, 4, 4, 3, 3, 3, 5, 2, Padding::SAME, 8, 8);
  add(2, 3, 5, 4, 3, 3, 2, 1, Padding::VALID, 5, 7);
  add(1, 5, 5, 8, 4, 4, 6, 2, Padding::SAME, 10, 10);
  add(1, 4, 3, 2, 2, 2, 3, 2, Padding::VALID, 8, 6);
  add(1, 3, 3, 16, 3, 3, 8, 3, Padding::SAME, 9, 9);
  add(1, 4, 4, 3, 3, 3, 5, 2, Padding::SAME, 7, 7);  // odd output size
  configs[1].bias = false;
  return configs;
}

TEST(TransposeConvAgreement, AllVariantsMatchTflite) {
  if (!TfliteRefAvailable()) GTEST_SKIP() << "tflite-ref unavailable";
  for (Variant v :
       {Variant::kFloat, Variant::kInt8PerChannel, Variant::kInt8PerTensor,
        Variant::kUInt8, Variant::kInt16x8}) {
    conv::LsbHistogram hist;
    for (const OpConfig& c : TransposeConvConfigs(v)) {
      conv::ExpectAgreesWithTflite(c, conv::ToleranceFor(v), &hist);
    }
    std::printf(
        "[ TRANSPOSE_CONV %-18s ] |ours - tflite| histogram (LSB:count): %s\n",
        conv::VariantName(v), hist.ToString().c_str());
  }
}

}  // namespace
}  // namespace testing
}  // namespace edgeopt
