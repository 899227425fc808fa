#include <gtest/gtest.h>

#include "src/runtime/kernels/conv_test_util.h"

namespace edgeopt {
namespace testing {
namespace {

using conv::OpConfig;
using conv::Variant;
using Act = tflite::ActivationFunctionType;

std::vector<OpConfig> FcConfigs(Variant v) {
  std::vector<OpConfig> configs;
  uint32_t seed = 200;
  auto add = [&](std::vector<int32_t> input, int in, int units, bool keep,
                 Act act) {
    OpConfig c;
    c.op = tflite::BuiltinOperator::FULLY_CONNECTED;
    c.variant = v;
    c.fc_input = input;
    c.fc_in = in;
    c.out_c = units;
    c.keep_num_dims = keep;
    c.activation = act;
    c.seed = seed++;
    configs.push_back(c);
  };
  add({1, 16}, 16, 8, false, Act::NONE);
  add({1, 37}, 37, 13, false, Act::RELU);
  add({4, 64}, 64, 10, false, Act::RELU6);
  add({2, 3, 20}, 20, 7, true, Act::NONE);           // keep_num_dims
  add({2, 3, 20}, 20, 7, false, Act::RELU_N1_TO_1);  // flattened to [6, 20]
  add({1, 2, 2, 8}, 32, 5, false,
      Act::NONE);                           // rank 4 input flattened to [1, 32]
  add({3, 640}, 640, 1, false, Act::NONE);  // one unit
  add({1, 640}, 640, 128, false, Act::RELU);
  configs[2].bias = false;
  return configs;
}

TEST(FullyConnectedAgreement, AllVariantsMatchTflite) {
  if (!TfliteRefAvailable()) GTEST_SKIP() << "tflite-ref unavailable";
  for (Variant v : {Variant::kFloat, Variant::kInt8PerTensor, Variant::kUInt8,
                    Variant::kInt16x8, Variant::kHybridPerTensor}) {
    for (bool asym : {false, true}) {
      if (asym && !conv::IsHybrid(v)) continue;
      conv::LsbHistogram hist;
      for (OpConfig c : FcConfigs(v)) {
        c.asymmetric_inputs = asym;
        conv::ExpectAgreesWithTflite(c, conv::ToleranceFor(v), &hist);
      }
      std::printf(
          "[ FULLY_CONNECTED %-18s%s ] |ours - tflite| histogram (LSB:count): "
          "%s\n",
          conv::VariantName(v), asym ? " asym" : "", hist.ToString().c_str());
    }
  }
}

}  // namespace
}  // namespace testing
}  // namespace edgeopt
