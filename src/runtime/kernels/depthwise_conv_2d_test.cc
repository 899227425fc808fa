#include <gtest/gtest.h>

#include "src/runtime/kernels/conv_test_util.h"

namespace edgeopt {
namespace testing {
namespace {

using conv::OpConfig;
using conv::Variant;
using Act = tflite::ActivationFunctionType;
using tflite::Padding;

std::vector<OpConfig> DepthwiseConfigs(Variant v) {
  std::vector<OpConfig> configs;
  uint32_t seed = 100;
  auto add = [&](int batch, int h, int w, int in_c, int dm, int fh, int fw,
                 int stride, int dilation, Padding pad, Act act) {
    OpConfig c;
    c.op = tflite::BuiltinOperator::DEPTHWISE_CONV_2D;
    c.variant = v;
    c.batch = batch;
    c.in_h = h;
    c.in_w = w;
    c.in_c = in_c;
    c.depth_multiplier = dm;
    c.filter_h = fh;
    c.filter_w = fw;
    c.stride_h = c.stride_w = stride;
    c.dilation_h = c.dilation_w = dilation;
    c.padding = pad;
    c.activation = act;
    c.seed = seed++;
    configs.push_back(c);
  };
  add(1, 7, 7, 8, 1, 3, 3, 1, 1, Padding::SAME, Act::NONE);
  add(2, 8, 6, 5, 2, 3, 3, 2, 1, Padding::SAME, Act::RELU);
  add(1, 9, 9, 4, 1, 3, 2, 1, 2, Padding::VALID, Act::RELU6);
  add(3, 5, 5, 16, 1, 1, 1, 1, 1, Padding::VALID, Act::NONE);
  add(1, 6, 7, 1, 8, 5, 5, 2, 1, Padding::SAME,
      Act::RELU_N1_TO_1);  // 1 channel, dm 8
  add(1, 10, 10, 32, 1, 3, 3, 2, 1, Padding::SAME, Act::RELU6);
  add(1, 6, 6, 3, 3, 3, 3, 1, 2, Padding::SAME, Act::NONE);
  configs[4].stride_w = 1;
  return configs;
}

TEST(DepthwiseConv2DAgreement, AllVariantsMatchTflite) {
  if (!TfliteRefAvailable()) GTEST_SKIP() << "tflite-ref unavailable";
  for (Variant v :
       {Variant::kFloat, Variant::kInt8PerChannel, Variant::kInt8PerTensor,
        Variant::kUInt8, Variant::kInt16x8, Variant::kHybridPerChannel}) {
    conv::LsbHistogram hist;
    for (const OpConfig& c : DepthwiseConfigs(v)) {
      conv::ExpectAgreesWithTflite(c, conv::ToleranceFor(v), &hist);
    }
    std::printf(
        "[ DEPTHWISE_CONV_2D %-18s ] |ours - tflite| histogram (LSB:count): "
        "%s\n",
        conv::VariantName(v), hist.ToString().c_str());
  }
}

}  // namespace
}  // namespace testing
}  // namespace edgeopt
