// Every supported Keras layer (and activation), converted and run in the official TFLite 2.9
// runtime, against an independent double-precision evaluation of Keras's math (keras_reference.h)
// with the same random weights.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <functional>
#include <string>
#include <vector>

#include "src/export/tflite/export.h"
#include "src/importers/keras/graph_builder.h"
#include "src/importers/keras/keras_model.h"
#include "src/importers/tflite/import.h"
#include "src/passes/pipeline.h"
#include "src/util/file_util.h"
#include "src/util/npy.h"
#include "tests/e2e/keras_reference.h"
#include "tests/test_util.h"

namespace edgeopt {
namespace testing {
namespace {

using keras::Json;

constexpr double kAtol = 1e-5;
constexpr double kRtol = 1e-4;

uint64_t g_rng = 1;
double g_worst = 0;  // largest difference to the reference so far (recurrent cases report it)
double Uniform(double lo, double hi) {
  g_rng ^= g_rng << 13;
  g_rng ^= g_rng >> 7;
  g_rng ^= g_rng << 17;
  return lo + (hi - lo) * (static_cast<double>(g_rng >> 11) / 9007199254740992.0);
}

// {"class_name": cls, "config": config}; the layer name defaults to "l<k>".
Json L(const std::string& cls, Json config = Json::object()) {
  return Json{{"class_name", cls}, {"config", config}};
}

Json Sequential(const std::vector<int64_t>& input_shape, std::vector<Json> layers) {
  Json shape = Json::array({nullptr});
  for (int64_t d : input_shape) shape.push_back(d);
  Json list = Json::array();
  list.push_back(L("InputLayer", {{"batch_input_shape", shape}, {"name", "input"}}));
  int k = 0;
  for (Json& l : layers) {
    if (!l["config"].contains("name")) l["config"]["name"] = "l" + std::to_string(k++);
    list.push_back(l);
  }
  return Json{{"class_name", "Sequential"}, {"config", {{"name", "seq"}, {"layers", list}}}};
}

// Replaces every weight with random values (variances and gammas positive).
void Randomize(keras::KerasModel* m) {
  for (keras::LayerWeights& lw : m->weights) {
    for (auto& [var, a] : lw.vars) {
      const bool positive = var == "moving_variance" || var == "variance" || var == "gamma";
      for (int64_t i = 0; i < a.NumElements(); ++i) {
        a.Data<float>()[i] = static_cast<float>(positive ? Uniform(0.5, 1.5) : Uniform(-0.7, 0.7));
      }
    }
  }
}

class KerasLayers : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { dir_ = new std::string(MakeTempDir("keras_layers")); }
  static void TearDownTestSuite() {
    RunCommand("rm -rf '" + *dir_ + "'");
    delete dir_;
  }

  // Converts `config` (random weights), runs it in tflite-ref on a random input and compares with
  // the reference. Returns the ops of the exported graph. `input`: the input's values (else
  // random in (-1, 1)).
  static std::vector<std::string> Check(const Json& config, const std::vector<int64_t>& in_shape,
                                        double atol = kAtol, bool also_edgeopt = false,
                                        const std::vector<double>& input = {}) {
    StatusOr<keras::KerasModel> model = keras::ModelFromConfig(config, 7);
    EXPECT_TRUE(model.ok()) << model.status().ToString();
    if (!model.ok()) return {};
    Randomize(&*model);
    StatusOr<ir::Graph> graph = keras::BuildGraph(*model);
    EXPECT_TRUE(graph.ok()) << graph.status().ToString();
    if (!graph.ok()) return {};
    Status prepared = passes::PrepareForExport(&*graph);
    EXPECT_TRUE(prepared.ok()) << prepared.ToString();
    std::vector<std::string> ops;
    for (const ir::Node& n : graph->nodes) ops.push_back(n.op);
    const std::string path = *dir_ + "/m.tflite";
    Status written = WriteTfliteFile(*graph, path);
    EXPECT_TRUE(written.ok()) << written.ToString();

    std::vector<int64_t> shape = {1};
    shape.insert(shape.end(), in_shape.begin(), in_shape.end());
    kref::Tensor x{shape, {}};
    for (int64_t i = 0; i < x.size(); ++i) {
      x.v.push_back(input.empty() ? Uniform(-1, 1) : input[i % input.size()]);
    }
    NpyArray in;
    in.dtype = DType::kFloat32;
    in.shape = shape;
    in.data.resize(x.v.size() * 4);
    for (size_t i = 0; i < x.v.size(); ++i) in.Data<float>()[i] = static_cast<float>(x.v[i]);
    EXPECT_TRUE(WriteNpy(*dir_ + "/in.npy", in).ok());
    std::string log;
    const int rc = RunCommand(
        TfliteRefPath() + " run '" + path + "' -i '" + *dir_ + "/in.npy' -o '" + *dir_ + "/out'",
        &log);
    EXPECT_EQ(rc, 0) << log;
    StatusOr<NpyArray> out = ReadNpy(*dir_ + "/out/output_0.npy");
    EXPECT_TRUE(out.ok());
    if (rc != 0 || !out.ok()) return ops;

    // The reference evaluates with the weights rounded to float, as stored.
    std::string error;
    EXPECT_TRUE(kref::EvalChain(*model, &x, &error)) << error;
    EXPECT_EQ(out->shape, x.shape);
    EXPECT_EQ(out->NumElements(), static_cast<int64_t>(x.v.size()));
    double worst = 0;
    int64_t bad = 0;
    for (size_t i = 0; i < x.v.size() && i < static_cast<size_t>(out->NumElements()); ++i) {
      const double d = std::fabs(out->Data<float>()[i] - x.v[i]);
      worst = std::max(worst, d);
      if (!(d <= atol + kRtol * std::fabs(x.v[i]))) ++bad;
    }
    EXPECT_EQ(bad, 0) << "max abs diff " << worst;
    g_worst = std::max(g_worst, worst);
    if (also_edgeopt) {
      // edgeopt's own runtime on the same file and input.
      const int erc = RunCommand(EdgeoptBinary() + " run '" + path + "' -i '" + *dir_ +
                                     "/in.npy' -o '" + *dir_ + "/out_e'",
                                 &log);
      EXPECT_EQ(erc, 0) << log;
      StatusOr<NpyArray> eout = ReadNpy(*dir_ + "/out_e/output_0.npy");
      EXPECT_TRUE(eout.ok());
      if (erc != 0 || !eout.ok()) return ops;
      EXPECT_EQ(eout->shape, x.shape);
      int64_t ebad = 0;
      double eworst = 0;
      for (size_t i = 0; i < x.v.size() && i < static_cast<size_t>(eout->NumElements()); ++i) {
        const double d = std::fabs(eout->Data<float>()[i] - x.v[i]);
        eworst = std::max(eworst, d);
        if (!(d <= atol + kRtol * std::fabs(x.v[i]))) ++ebad;
      }
      EXPECT_EQ(ebad, 0) << "edgeopt runtime: max abs diff " << eworst;
      g_worst = std::max(g_worst, eworst);
    }
    return ops;
  }

  static std::string* dir_;
};

std::string* KerasLayers::dir_ = nullptr;

// Per-step ops of an unrolled layer: the ops between the first and second STRIDED_SLICE.
std::vector<std::string> SecondStep(const std::vector<std::string>& ops) {
  std::vector<std::string> step;
  int slices = 0;
  for (const std::string& op : ops) {
    if (op == "STRIDED_SLICE" && ++slices == 3) break;
    if (slices == 2) step.push_back(op);
  }
  return step;
}

TEST_F(KerasLayers, Dense) {
  auto ops = Check(Sequential({6}, {L("Dense", {{"units", 5}, {"activation", "relu"}})}), {6});
  EXPECT_EQ(ops, std::vector<std::string>({"FULLY_CONNECTED"}));
  ops = Check(Sequential({3, 6}, {L("Dense", {{"units", 4}, {"use_bias", false}})}), {3, 6});
  EXPECT_EQ(ops, std::vector<std::string>({"FULLY_CONNECTED"}));
}

// EinsumDense: a Dense over the last axis, projections to heads and back (the
// MultiHeadAttention forms), an ellipsis, an output that needs a transpose, a bias on some of
// the kernel's own axes (an ADD), and an activation after a reshape.
TEST_F(KerasLayers, EinsumDense) {
  auto ed = [](const std::string& eq, Json output_shape, Json bias_axes,
               const std::string& act = "linear") {
    return L("EinsumDense", {{"equation", eq},
                             {"output_shape", output_shape},
                             {"bias_axes", bias_axes},
                             {"activation", act}});
  };
  auto ops = Check(Sequential({5, 6}, {ed("abc,cd->abd", {5, 4}, "d", "relu")}), {5, 6});
  EXPECT_EQ(ops, std::vector<std::string>({"FULLY_CONNECTED"}));
  ops = Check(Sequential({5, 6}, {ed("abc,cde->abde", {5, 2, 3}, "de"),
                                  ed("abcd,cde->abe", {5, 4}, "e", "tanh")}),
              {5, 6});
  // The split into heads and the merge back cancel out (the export passes fold them).
  EXPECT_EQ(ops, std::vector<std::string>({"FULLY_CONNECTED", "FULLY_CONNECTED", "TANH"}));
  ops = Check(Sequential({6}, {ed("...b,bc->...c", 4, nullptr, "sigmoid")}), {6});
  EXPECT_EQ(ops, std::vector<std::string>({"FULLY_CONNECTED", "LOGISTIC"}));
  // The output's own axis before a kept one: TRANSPOSEs; a bias on one of two own axes: ADD.
  ops = Check(Sequential({4, 6}, {ed("abc,cd->adb", {3, 4}, "d"),
                                  ed("abc,cde->aedb", {2, 5, 3}, "e", "relu")}),
              {4, 6});
  EXPECT_EQ(ops, std::vector<std::string>({"FULLY_CONNECTED", "TRANSPOSE", "FULLY_CONNECTED",
                                           "RESHAPE", "TRANSPOSE", "ADD"}));  // the ReLU fused
  // Refused: a kernel index kept in the output (a broadcast kernel), the kernel's own indices
  // before the contracted ones, LoRA.
  for (const Json& bad :
       {ed("abc,bcd->abd", {5, 4}, nullptr), ed("abc,dc->abd", {5, 4}, nullptr),
        L("EinsumDense",
          {{"equation", "abc,cd->abd"}, {"output_shape", {5, 4}}, {"lora_rank", 2}})}) {
    StatusOr<keras::KerasModel> m = keras::ModelFromConfig(Sequential({5, 6}, {bad}), 1);
    const Status s = m.ok() ? keras::BuildGraph(*m).status() : m.status();
    EXPECT_EQ(s.code(), StatusCode::kUnsupported) << bad.dump() << ": " << s.ToString();
  }
}

// Discretization (bucket counts, and buckets into CategoryEncoding's multi_hot / one_hot) and
// CategoryEncoding of float tokens (cast toward zero; -1 and 7 outside [0, 5) count nowhere).
TEST_F(KerasLayers, DiscretizationAndCategoryEncoding) {
  const Json bins = {-0.5, 0.0, 0.25};
  auto disc = [&](const std::string& mode) {
    return L("Discretization", {{"bin_boundaries", bins}, {"output_mode", mode}});
  };
  auto enc = [](int tokens, const std::string& mode) {
    return L("CategoryEncoding", {{"num_tokens", tokens}, {"output_mode", mode}});
  };
  auto ops = Check(Sequential({3}, {disc("count")}), {3}, kAtol, true);
  EXPECT_EQ(ops, std::vector<std::string>({"RESHAPE", "GREATER_EQUAL", "CAST", "SUM", "CAST",
                                           "RESHAPE", "EQUAL", "CAST", "SUM"}));
  Check(Sequential({3}, {disc("int"), enc(4, "multi_hot")}), {3}, kAtol, true);
  Check(Sequential({1}, {disc("int"), enc(4, "one_hot")}), {1}, kAtol, true);
  Check(Sequential({6}, {enc(5, "count")}), {6}, kAtol, true, {0, 1, 3, 4.7, -1, 7, 1, 1});
  Check(Sequential({2}, {enc(3, "one_hot")}), {2}, kAtol, true, {0, 2, 1, 5});
  for (const Json& bad : {L("Discretization", {{"num_bins", 4}}), enc(4, "tf_idf"),
                          L("CategoryEncoding", {{"num_tokens", 4}, {"sparse", true}})}) {
    StatusOr<keras::KerasModel> m = keras::ModelFromConfig(Sequential({3}, {bad}), 1);
    const Status st = m.ok() ? keras::BuildGraph(*m).status() : m.status();
    EXPECT_EQ(st.code(), StatusCode::kUnsupported) << bad.dump() << ": " << st.ToString();
  }
}

TEST_F(KerasLayers, Conv2D) {
  Check(Sequential({7, 6, 3}, {L("Conv2D", {{"filters", 4},
                                            {"kernel_size", Json::array({3, 2})},
                                            {"strides", Json::array({2, 1})},
                                            {"padding", "same"},
                                            {"activation", "relu6"}})}),
        {7, 6, 3});
  Check(Sequential(
            {9, 9, 2},
            {L("Conv2D",
               {{"filters", 3}, {"kernel_size", 3}, {"dilation_rate", 2}, {"padding", "valid"}})}),
        {9, 9, 2});
}

TEST_F(KerasLayers, Conv1D) {
  auto ops =
      Check(Sequential({10, 3}, {L("Conv1D", {{"filters", 4}, {"kernel_size", 3}})}), {10, 3});
  EXPECT_EQ(ops, std::vector<std::string>({"RESHAPE", "CONV_2D", "RESHAPE"}));
  Check(Sequential({10, 3}, {L("Conv1D", {{"filters", 2},
                                          {"kernel_size", 3},
                                          {"dilation_rate", 2},
                                          {"padding", "causal"},
                                          {"activation", "tanh"}})}),
        {10, 3});
  Check(Sequential({11, 2},
                   {L("Conv1D",
                      {{"filters", 3}, {"kernel_size", 4}, {"strides", 2}, {"padding", "same"}})}),
        {11, 2});
}

// DepthwiseConv1D and SeparableConv1D: their 2-D forms between two RESHAPEs (a PAD on the left
// for causal padding), trained and checked like Conv1D.
TEST_F(KerasLayers, DepthwiseAndSeparableConv1D) {
  auto ops = Check(Sequential({10, 3}, {L("SeparableConv1D", {{"filters", 4},
                                                              {"kernel_size", 3},
                                                              {"depth_multiplier", 2},
                                                              {"activation", "relu"}})}),
                   {10, 3}, kAtol, /*also_edgeopt=*/true);
  EXPECT_EQ(ops, std::vector<std::string>({"RESHAPE", "DEPTHWISE_CONV_2D", "CONV_2D", "RESHAPE"}));
  Check(Sequential({11, 2}, {L("SeparableConv1D", {{"filters", 3},
                                                   {"kernel_size", 4},
                                                   {"strides", 2},
                                                   {"padding", "same"},
                                                   {"use_bias", false}})}),
        {11, 2});
  Check(Sequential(
            {10, 3},
            {L("SeparableConv1D",
               {{"filters", 2}, {"kernel_size", 3}, {"dilation_rate", 2}, {"padding", "causal"}})}),
        {10, 3});
  ops = Check(Sequential({9, 4}, {L("DepthwiseConv1D", {{"kernel_size", 3},
                                                        {"depth_multiplier", 2},
                                                        {"padding", "same"},
                                                        {"activation", "tanh"}})}),
              {9, 4}, kAtol, /*also_edgeopt=*/true);
  EXPECT_EQ(ops, std::vector<std::string>({"RESHAPE", "DEPTHWISE_CONV_2D", "TANH", "RESHAPE"}));
  Check(Sequential({12, 2}, {L("DepthwiseConv1D", {{"kernel_size", 5},
                                                   {"strides", 2},
                                                   {"dilation_rate", 1},
                                                   {"padding", "causal"},
                                                   {"use_bias", false}})}),
        {12, 2});
}

TEST_F(KerasLayers, DepthwiseAndSeparableConv2D) {
  auto ops = Check(
      Sequential(
          {8, 7, 3},
          {L("DepthwiseConv2D",
             {{"kernel_size", 3}, {"depth_multiplier", 2}, {"strides", 2}, {"padding", "same"}}),
           L("BatchNormalization"), L("ReLU")}),
      {8, 7, 3});
  EXPECT_EQ(ops, std::vector<std::string>({"DEPTHWISE_CONV_2D"}));  // BN and ReLU folded
  ops = Check(Sequential({6, 6, 3}, {L("SeparableConv2D", {{"filters", 5},
                                                           {"kernel_size", 3},
                                                           {"depth_multiplier", 2},
                                                           {"activation", "relu"}})}),
              {6, 6, 3});
  EXPECT_EQ(ops, std::vector<std::string>({"DEPTHWISE_CONV_2D", "CONV_2D"}));
}

TEST_F(KerasLayers, Conv2DTranspose) {
  Check(Sequential({4, 5, 3},
                   {L("Conv2DTranspose",
                      {{"filters", 2}, {"kernel_size", 3}, {"strides", 2}, {"padding", "same"}})}),
        {4, 5, 3});
  Check(Sequential({3, 3, 2}, {L("Conv2DTranspose", {{"filters", 3},
                                                     {"kernel_size", Json::array({3, 2})},
                                                     {"strides", 2},
                                                     {"padding", "valid"},
                                                     {"activation", "sigmoid"}}),
                               L("BatchNormalization")}),
        {3, 3, 2});
}

// output_padding: Keras's (L - 1)·s + k - 2·pad + output_padding, which TRANSPOSE_CONV's padding
// (derived from the output size) reproduces.
TEST_F(KerasLayers, ConvTransposeOutputPadding) {
  Check(Sequential({4, 3, 2}, {L("Conv2DTranspose", {{"filters", 3},
                                                     {"kernel_size", 3},
                                                     {"strides", 2},
                                                     {"padding", "same"},
                                                     {"output_padding", Json::array({0, 1})}})}),
        {4, 3, 2}, kAtol, /*also_edgeopt=*/true);
  Check(Sequential({3, 3, 2}, {L("Conv2DTranspose", {{"filters", 2},
                                                     {"kernel_size", 2},
                                                     {"strides", 3},
                                                     {"padding", "valid"},
                                                     {"output_padding", 2}})}),
        {3, 3, 2}, kAtol, /*also_edgeopt=*/true);
}

// Grouped convolutions (Conv2D / Conv1D groups > 1): per group a SLICE of its channels and a
// CONV_2D, then CONCATENATION (which takes the activation).
TEST_F(KerasLayers, GroupedConvolution) {
  auto ops = Check(Sequential({5, 6, 4}, {L("Conv2D", {{"filters", 6},
                                                       {"kernel_size", 3},
                                                       {"groups", 2},
                                                       {"padding", "same"},
                                                       {"activation", "relu"}})}),
                   {5, 6, 4}, kAtol, /*also_edgeopt=*/true);
  EXPECT_EQ(ops,
            std::vector<std::string>({"SLICE", "CONV_2D", "SLICE", "CONV_2D", "CONCATENATION"}));
  Check(Sequential({7, 6, 6}, {L("Conv2D", {{"filters", 3},
                                            {"kernel_size", Json::array({2, 3})},
                                            {"strides", 2},
                                            {"groups", 3},
                                            {"use_bias", false},
                                            {"activation", "tanh"}})}),
        {7, 6, 6}, kAtol, true);
  Check(Sequential({9, 4}, {L("Conv1D", {{"filters", 8},
                                         {"kernel_size", 3},
                                         {"groups", 4},
                                         {"padding", "causal"},
                                         {"dilation_rate", 2}})}),
        {9, 4}, kAtol, true);
  // A BatchNormalization after it folds into each group's weights and bias.
  ops =
      Check(Sequential({5, 5, 4}, {L("Conv2D", {{"filters", 4}, {"kernel_size", 3}, {"groups", 2}}),
                                   L("BatchNormalization"), L("ReLU")}),
            {5, 5, 4}, kAtol, true);
  EXPECT_EQ(ops, std::vector<std::string>(
                     {"SLICE", "CONV_2D", "SLICE", "CONV_2D", "CONCATENATION", "RELU"}));
  StatusOr<keras::KerasModel> bad = keras::ModelFromConfig(
      Sequential({4, 6}, {L("Conv1D", {{"filters", 4}, {"kernel_size", 1}, {"groups", 3}})}), 1);
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("groups=3 must divide the 6 input channels and the 4 "
                                        "filters"),
            std::string::npos)
      << bad.status().ToString();
}

// Conv1DTranspose: TRANSPOSE_CONV on the [B, 1, L, C] view between two RESHAPEs.
TEST_F(KerasLayers, Conv1DTranspose) {
  auto ops = Check(Sequential({7, 3}, {L("Conv1DTranspose", {{"filters", 4},
                                                             {"kernel_size", 3},
                                                             {"strides", 2},
                                                             {"padding", "same"},
                                                             {"activation", "relu"}})}),
                   {7, 3}, kAtol, /*also_edgeopt=*/true);
  EXPECT_EQ(ops, std::vector<std::string>({"RESHAPE", "TRANSPOSE_CONV", "RELU", "RESHAPE"}));
  Check(Sequential({5, 2},
                   {L("Conv1DTranspose",
                      {{"filters", 3}, {"kernel_size", 4}, {"strides", 3}, {"use_bias", false}})}),
        {5, 2}, kAtol, /*also_edgeopt=*/true);
  Check(Sequential({6, 2}, {L("Conv1DTranspose", {{"filters", 2},
                                                  {"kernel_size", 5},
                                                  {"strides", 2},
                                                  {"padding", "same"},
                                                  {"output_padding", 0}}),
                            L("Conv1D", {{"filters", 2}, {"kernel_size", 3}})}),
        {6, 2}, kAtol, /*also_edgeopt=*/true);
  // Keras's own kernels shorter than the stride (an output of L·s, padded by zeros).
  Check(Sequential({4, 3},
                   {L("Conv1DTranspose",
                      {{"filters", 2}, {"kernel_size", 1}, {"strides", 2}, {"padding", "valid"}})}),
        {4, 3}, kAtol, /*also_edgeopt=*/true);
}

TEST_F(KerasLayers, BatchNormalizationAlone) {
  auto ops = Check(
      Sequential({4, 4, 3}, {L("MaxPooling2D"), L("BatchNormalization", {{"center", false}})}),
      {4, 4, 3});
  EXPECT_EQ(ops, std::vector<std::string>({"MAX_POOL_2D", "MUL", "ADD"}));
  Check(Sequential({5}, {L("BatchNormalization", {{"axis", Json::array({1})}})}), {5});
}

TEST_F(KerasLayers, Pooling) {
  Check(Sequential({7, 6, 2},
                   {L("MaxPooling2D", {{"pool_size", 3}, {"strides", 2}, {"padding", "same"}})}),
        {7, 6, 2});
  Check(Sequential({7, 6, 2}, {L("AveragePooling2D",
                                 {{"pool_size", Json::array({2, 3})}, {"padding", "same"}})}),
        {7, 6, 2});
  Check(Sequential({9, 2}, {L("MaxPooling1D", {{"pool_size", 3}})}), {9, 2});
  Check(Sequential({9, 2}, {L("AveragePooling1D",
                              {{"pool_size", 2}, {"strides", 1}, {"padding", "same"}})}),
        {9, 2});
}

TEST_F(KerasLayers, GlobalPooling) {
  auto ops = Check(Sequential({5, 4, 3}, {L("GlobalAveragePooling2D")}), {5, 4, 3});
  EXPECT_EQ(ops, std::vector<std::string>({"MEAN"}));
  Check(Sequential({5, 4, 3}, {L("GlobalMaxPooling2D", {{"keepdims", true}})}), {5, 4, 3});
  Check(Sequential({6, 3}, {L("GlobalAveragePooling1D")}), {6, 3});
  Check(Sequential({6, 3}, {L("GlobalMaxPooling1D")}), {6, 3});
  // channels_first pools the last axes (the Keras timeseries Transformer example's head).
  ops =
      Check(Sequential({6, 3}, {L("GlobalAveragePooling1D", {{"data_format", "channels_first"}})}),
            {6, 3});
  EXPECT_EQ(ops, std::vector<std::string>({"MEAN"}));
  Check(Sequential({4, 5, 3}, {L("GlobalMaxPooling2D",
                                 {{"data_format", "channels_first"}, {"keepdims", true}})}),
        {4, 5, 3});
}

TEST_F(KerasLayers, FlattenReshapePermute) {
  auto ops = Check(Sequential({3, 2, 2}, {L("Flatten"), L("Dense", {{"units", 3}})}), {3, 2, 2});
  EXPECT_EQ(ops, std::vector<std::string>({"FULLY_CONNECTED"}));
  Check(Sequential({3, 4}, {L("Reshape", {{"target_shape", Json::array({2, -1, 2})}})}), {3, 4});
  ops = Check(Sequential({2, 3, 4}, {L("Permute", {{"dims", Json::array({3, 1, 2})}})}), {2, 3, 4});
  EXPECT_EQ(ops, std::vector<std::string>({"TRANSPOSE"}));
}

TEST_F(KerasLayers, EveryActivation) {
  for (const char* a :
       {"relu", "relu6", "sigmoid", "hard_sigmoid", "tanh", "softmax", "linear", "swish", "silu",
        "elu", "gelu", "leaky_relu", "exponential", "softplus", "softsign", "selu", "mish"}) {
    SCOPED_TRACE(a);
    // As an Activation layer and as the activation argument of a layer.
    Check(Sequential({2, 5}, {L("Activation", {{"activation", a}})}), {2, 5});
    Check(Sequential({4}, {L("Dense", {{"units", 6}, {"activation", a}})}), {4});
  }
}

TEST_F(KerasLayers, ActivationLayers) {
  Check(Sequential({12},
                   {L("ReLU", {{"max_value", 0.6}, {"negative_slope", 0.1}, {"threshold", 0.2}})}),
        {12});
  Check(Sequential({12}, {L("ReLU", {{"max_value", 0.5}})}), {12});
  Check(Sequential({12}, {L("LeakyReLU", {{"alpha", 0.1}})}), {12});
  Check(Sequential({12}, {L("LeakyReLU", {{"negative_slope", 0.25}})}), {12});
  Check(Sequential({12}, {L("ELU", {{"alpha", 0.5}})}), {12});
  Check(Sequential({3, 4}, {L("Softmax")}), {3, 4});
  Check(Sequential({3, 4, 2}, {L("PReLU", {{"shared_axes", Json::array({1, 2})}})}), {3, 4, 2});
  Check(Sequential({3, 4}, {L("PReLU")}), {3, 4});
}

TEST_F(KerasLayers, PaddingCroppingUpSampling) {
  // ZeroPadding2D((0,1),(0,1)) + stride-2 VALID conv is a SAME conv: the PAD disappears.
  auto ops =
      Check(Sequential({6, 6, 2},
                       {L("ZeroPadding2D",
                          {{"padding", Json::array({Json::array({0, 1}), Json::array({0, 1})})}}),
                        L("Conv2D", {{"filters", 3}, {"kernel_size", 3}, {"strides", 2}})}),
            {6, 6, 2});
  EXPECT_EQ(ops, std::vector<std::string>({"CONV_2D"}));
  Check(Sequential({4, 5, 2}, {L("ZeroPadding2D", {{"padding", Json::array({2, 1})}})}), {4, 5, 2});
  Check(Sequential({6, 7, 2},
                   {L("Cropping2D",
                      {{"cropping", Json::array({Json::array({1, 2}), Json::array({0, 3})})}})}),
        {6, 7, 2});
  Check(Sequential({5, 2}, {L("ZeroPadding1D", {{"padding", Json::array({1, 2})}})}), {5, 2});
  Check(Sequential({6, 2}, {L("Cropping1D", {{"cropping", Json::array({2, 1})}})}), {6, 2});
  Check(Sequential({3, 4, 2}, {L("UpSampling2D", {{"size", Json::array({2, 3})}})}), {3, 4, 2});
  Check(Sequential({4, 2}, {L("UpSampling1D", {{"size", 3}})}), {4, 2});
}

TEST_F(KerasLayers, RescalingAndDropout) {
  auto ops = Check(Sequential({3, 3, 2}, {L("Rescaling", {{"scale", 0.5}, {"offset", -1.0}}),
                                          L("Dropout", {{"rate", 0.3}}),
                                          L("SpatialDropout2D", {{"rate", 0.2}})}),
                   {3, 3, 2});
  EXPECT_EQ(ops, std::vector<std::string>({"MUL", "ADD"}));
}

// The image classification tutorial's model: augmentation layers (a nested Sequential) and
// Rescaling before the convolutions. At inference the augmentation and noise layers are the
// identity: nothing of them is left in the .tflite.
TEST_F(KerasLayers, AugmentationAndNoiseLayersAreTheIdentityAtInference) {
  Json augment = Sequential(
      {6, 6, 3},
      {L("RandomFlip", {{"name", "random_flip"}, {"mode", "horizontal"}, {"seed", nullptr}}),
       L("RandomRotation", {{"name", "random_rotation"}, {"factor", 0.1}}),
       L("RandomZoom", {{"name", "random_zoom"}, {"height_factor", 0.1}}),
       L("RandomContrast", {{"name", "random_contrast"}, {"factor", 0.2}}),
       L("RandomTranslation",
         {{"name", "random_translation"}, {"height_factor", 0.1}, {"width_factor", 0.1}})});
  augment["config"]["name"] = "data_augmentation";
  augment["config"]["layers"][0]["config"]["name"] = "augmentation_input";
  auto ops = Check(
      Sequential(
          {6, 6, 3},
          {augment, L("Rescaling", {{"scale", 1.0 / 255}}), L("GaussianNoise", {{"stddev", 0.1}}),
           L("Conv2D", {{"filters", 4}, {"kernel_size", 3}}), L("GaussianDropout", {{"rate", 0.2}}),
           L("AlphaDropout", {{"rate", 0.1}}), L("Flatten"),
           L("ActivityRegularization", {{"l2", 0.01}}), L("Dense", {{"units", 3}})}),
      {6, 6, 3});
  EXPECT_EQ(ops, std::vector<std::string>({"MUL", "CONV_2D", "FULLY_CONNECTED"}));
  // CenterCrop keeps the middle (Keras starts at (in - out) // 2); RandomCrop to the input's
  // own size is nothing.
  ops = Check(Sequential({7, 6, 2}, {L("CenterCrop", {{"height", 4}, {"width", 3}}),
                                     L("RandomCrop", {{"height", 4}, {"width", 3}})}),
              {7, 6, 2});
  EXPECT_EQ(ops, std::vector<std::string>({"SLICE"}));
}

// RepeatVector: the sequence-to-sequence autoencoder's bridge from a vector to a sequence.
TEST_F(KerasLayers, RepeatVector) {
  auto ops = Check(Sequential({5}, {L("Dense", {{"units", 4}}), L("RepeatVector", {{"n", 3}})}),
                   {5}, kAtol, /*also_edgeopt=*/true);
  EXPECT_EQ(ops, std::vector<std::string>({"FULLY_CONNECTED", "RESHAPE", "CONCATENATION"}));
  Check(Sequential({6}, {L("RepeatVector", {{"n", 4}}),
                         L("SimpleRNN", {{"units", 3}, {"return_sequences", true}})}),
        {6});
}

// TimeDistributed: the wrapped layer on every step alike (steps folded into the batch), for a
// Dense on a sequence and a small convolution stack on a sequence of images.
TEST_F(KerasLayers, TimeDistributed) {
  auto ops = Check(
      Sequential({4, 3}, {L("TimeDistributed",
                            {{"layer", L("Dense", {{"units", 5}, {"activation", "tanh"}})}})}),
      {4, 3}, kAtol, /*also_edgeopt=*/true);
  EXPECT_EQ(ops, std::vector<std::string>({"FULLY_CONNECTED", "TANH"}));  // as Dense on [B,T,F]
  Check(Sequential({3, 6, 5, 2},
                   {L("TimeDistributed",
                      {{"name", "td_conv"},
                       {"layer", L("Conv2D",
                                   {{"filters", 3}, {"kernel_size", 3}, {"activation", "relu"}})}}),
                    L("TimeDistributed",
                      {{"name", "td_pool"}, {"layer", L("MaxPooling2D", {{"pool_size", 2}})}}),
                    L("TimeDistributed", {{"name", "td_flat"}, {"layer", L("Flatten")}}),
                    L("GRU", {{"units", 4}})}),
        {3, 6, 5, 2}, kAtol, /*also_edgeopt=*/true);
}

// Resizing is tf.image.resize (half-pixel centers): bilinear and nearest, up and down, to sizes
// that are not multiples of the input's; crop_to_aspect_ratio at the same ratio changes nothing.
TEST_F(KerasLayers, Resizing) {
  auto ops = Check(Sequential({5, 7, 2}, {L("Resizing", {{"height", 8}, {"width", 3}})}), {5, 7, 2},
                   kAtol, /*also_edgeopt=*/true);
  EXPECT_EQ(ops, std::vector<std::string>({"RESIZE_BILINEAR"}));
  ops = Check(
      Sequential({5, 7, 2},
                 {L("Resizing", {{"height", 3}, {"width", 11}, {"interpolation", "nearest"}})}),
      {5, 7, 2}, kAtol, /*also_edgeopt=*/true);
  EXPECT_EQ(ops, std::vector<std::string>({"RESIZE_NEAREST_NEIGHBOR"}));
  Check(Sequential({4, 6, 1},
                   {L("Resizing", {{"height", 6}, {"width", 9}, {"crop_to_aspect_ratio", true}}),
                    L("Conv2D", {{"filters", 2}, {"kernel_size", 3}})}),
        {4, 6, 1});
}

TEST_F(KerasLayers, LayerNormalization) {
  auto ops = Check(Sequential({5, 6}, {L("LayerNormalization", {{"epsilon", 1e-3}})}), {5, 6});
  EXPECT_EQ(ops, std::vector<std::string>(
                     {"MEAN", "SUB", "MUL", "MEAN", "ADD", "RSQRT", "MUL", "MUL", "ADD"}));
  // After a convolution (channels), without beta, axis given as a list.
  Check(Sequential({4, 4, 3},
                   {L("Conv2D", {{"filters", 5}, {"kernel_size", 3}}),
                    L("LayerNormalization",
                      {{"center", false}, {"axis", Json::array({3})}, {"epsilon", 1e-5}})}),
        {4, 4, 3});
}

// GroupNormalization: the LayerNormalization chain on [B, positions, groups, channels / groups]
// over axes 1 and 3, between two RESHAPEs; images, sequences, vectors; one group, one channel
// per group.
TEST_F(KerasLayers, GroupNormalization) {
  auto ops = Check(Sequential({3, 4, 6}, {L("GroupNormalization", {{"groups", 3}})}), {3, 4, 6},
                   kAtol, /*also_edgeopt=*/true);
  EXPECT_EQ(ops, std::vector<std::string>({"RESHAPE", "MEAN", "SUB", "MUL", "MEAN", "ADD", "RSQRT",
                                           "MUL", "RESHAPE", "MUL", "ADD"}));
  Check(Sequential({5, 4}, {L("GroupNormalization",
                              {{"groups", 1}, {"center", false}, {"epsilon", 1e-5}})}),
        {5, 4}, kAtol, true);
  Check(Sequential({6}, {L("GroupNormalization", {{"groups", 6}, {"scale", false}})}), {6}, kAtol,
        true);
  Check(Sequential({4, 4, 3}, {L("Conv2D", {{"filters", 8}, {"kernel_size", 3}}),
                               L("GroupNormalization", {{"groups", 4}, {"axis", -1}})}),
        {4, 4, 3}, kAtol, true);
  // groups must divide the channels.
  StatusOr<keras::KerasModel> bad =
      keras::ModelFromConfig(Sequential({4, 6}, {L("GroupNormalization", {{"groups", 4}})}), 1);
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("groups=4 does not divide the 6 channels"),
            std::string::npos)
      << bad.status().ToString();
}

TEST_F(KerasLayers, Normalization) {
  // adapt()ed weights (random here), then the config's own mean / variance, and invert.
  auto ops = Check(Sequential({3, 4}, {L("Normalization"), L("Dense", {{"units", 2}})}), {3, 4});
  EXPECT_EQ(ops, std::vector<std::string>({"MUL", "ADD", "FULLY_CONNECTED"}));
  Check(Sequential({4}, {L("Normalization", {{"mean", 0.5}, {"variance", 4.0}})}), {4});
  Check(
      Sequential({4}, {L("Normalization", {{"mean", -1.0}, {"variance", 0.25}, {"invert", true}})}),
      {4});
}

TEST_F(KerasLayers, Embedding) {
  // Rescaling maps the random inputs in (-1, 1) to ids in [0, 10).
  auto ops = Check(Sequential({6}, {L("Rescaling", {{"scale", 5.0}, {"offset", 5.0}}),
                                    L("Embedding", {{"input_dim", 10}, {"output_dim", 4}}),
                                    L("Flatten"), L("Dense", {{"units", 3}})}),
                   {6});
  EXPECT_EQ(ops, std::vector<std::string>({"MUL", "ADD", "CAST", "GATHER", "FULLY_CONNECTED"}));
  Check(Sequential({5}, {L("Rescaling", {{"scale", 3.5}, {"offset", 3.5}}),
                         L("Embedding", {{"input_dim", 7}, {"output_dim", 3}}),
                         L("GlobalAveragePooling1D")}),
        {5});
}

// Keras masks: Embedding(mask_zero=True) and Masking mark padding steps; the recurrent layers
// keep their state there (zero_output_for_mask and Bidirectional's sequences give 0), and
// GlobalAveragePooling1D averages the kept steps. Both runtimes against the reference.
TEST_F(KerasLayers, MaskZeroAndMasking) {
  g_worst = 0;
  const Json emb = L("Embedding", {{"input_dim", 8}, {"output_dim", 3}, {"mask_zero", true}});
  // Padding after, before and inside the sequence.
  const std::vector<std::vector<double>> ids = {
      {3, 1, 5, 2, 0, 0}, {0, 0, 4, 1, 6, 2}, {7, 0, 0, 2, 5, 0}, {0, 0, 0, 0, 0, 0}};
  for (const std::vector<double>& in : ids) {
    // An LSTM (unrolled because of the mask), its last output: the Embedding's ids != 0, the
    // LSTM's kept steps, and per step a SELECT_V2 of the state and one of the cell (but for the
    // last cell, which nothing reads).
    auto ops = Check(Sequential({6}, {emb, L("LSTM", {{"units", 4}})}), {6}, kAtol, true, in);
    EXPECT_EQ(std::count(ops.begin(), ops.end(), "NOT_EQUAL"), 2);
    EXPECT_EQ(std::count(ops.begin(), ops.end(), "SELECT_V2"), 11);
    EXPECT_EQ(std::count(ops.begin(), ops.end(), "UNIDIRECTIONAL_SEQUENCE_LSTM"), 0);
    // The mask passes a Dense and a Dropout, then a GRU's sequence and a mean of kept steps
    // (with no kept step, Keras's 0 / 0 and TFLite's are NaN; edgeopt's clamps map NaN to the
    // bottom of the range, as XNNPACK's do).
    if (in[0] != 0 || in[2] != 0)
      Check(Sequential({6}, {emb, L("Dense", {{"units", 3}, {"activation", "relu"}}),
                             L("Dropout", {{"rate", 0.5}}),
                             L("GRU", {{"units", 3}, {"return_sequences", true}}),
                             L("GlobalAveragePooling1D"), L("Dense", {{"units", 2}})}),
            {6}, kAtol, true, in);
    // A sequence tagger: the mask passes TimeDistributed(Dense) to the model's output.
    Check(Sequential(
              {6}, {emb,
                    L("Bidirectional",
                      {{"layer",
                        L("LSTM", {{"name", "lstm"}, {"units", 3}, {"return_sequences", true}})}}),
                    L("TimeDistributed",
                      {{"layer",
                        L("Dense", {{"name", "tag"}, {"units", 4}, {"activation", "softmax"}})}})}),
          {6}, kAtol, true, in);
    // ... and on to a GRU, which keeps its state at the padding.
    Check(Sequential(
              {6},
              {emb, L("TimeDistributed", {{"layer", L("Dense", {{"name", "proj"}, {"units", 3}})}}),
               L("GRU", {{"units", 2}})}),
          {6}, kAtol, true, in);
    // tf.keras's BatchNormalization passes the mask on (it ignores it).
    Check(Sequential({6}, {emb, L("BatchNormalization"), L("GRU", {{"units", 3}})}), {6}, kAtol,
          true, in);
    // GlobalMaxPooling1D has no masking support: the maximum over every step.
    Check(Sequential({6}, {emb, L("GRU", {{"units", 3}, {"return_sequences", true}}),
                           L("GlobalMaxPooling1D")}),
          {6}, kAtol, true, in);
    // zero_output_for_mask, go_backwards, SimpleRNN.
    Check(Sequential({6},
                     {emb,
                      L("SimpleRNN",
                        {{"units", 3}, {"return_sequences", true}, {"zero_output_for_mask", true}}),
                      L("LSTM", {{"units", 2}, {"go_backwards", true}})}),
          {6}, kAtol, true, in);
    // Bidirectional returning sequences (zeros at masked steps), then a last state.
    Check(Sequential(
              {6}, {emb,
                    L("Bidirectional",
                      {{"layer",
                        L("LSTM", {{"name", "lstm"}, {"units", 2}, {"return_sequences", true}})}}),
                    L("Bidirectional", {{"merge_mode", "sum"},
                                        {"layer", L("GRU", {{"name", "gru"}, {"units", 2}})}})}),
          {6}, kAtol, true, in);
  }
  // Masking on feature rows: steps 1 and 4 are all 0.5 (the mask value).
  std::vector<double> rows;
  for (int t = 0; t < 5; ++t) {
    for (int f = 0; f < 3; ++f) rows.push_back(t == 1 || t == 4 ? 0.5 : Uniform(-1, 1));
  }
  rows[3 * 3 + 1] = 0.5;  // one value equal to it does not mask a step
  auto ops = Check(Sequential({5, 3}, {L("Masking", {{"mask_value", 0.5}}),
                                       L("GRU", {{"units", 3}, {"return_sequences", true}})}),
                   {5, 3}, kAtol, true, rows);
  EXPECT_EQ(std::count(ops.begin(), ops.end(), "REDUCE_MAX"), 1);
  Check(Sequential({5, 3}, {L("Masking", {{"mask_value", 0.5}}), L("GlobalAveragePooling1D")}),
        {5, 3}, kAtol, true, rows);
  std::printf("masked layers: max abs diff %.3g\n", g_worst);
}

// A mask reaching a layer that would need it refuses the model, with the layer's name; a layer
// without masking support drops it, as Keras 3 and tf.keras do.
TEST_F(KerasLayers, MasksReachingOtherLayers) {
  const Json emb = L("Embedding", {{"input_dim", 8}, {"output_dim", 4}, {"mask_zero", true}});
  auto build = [](const Json& config) {
    StatusOr<keras::KerasModel> model = keras::ModelFromConfig(config, 1);
    return model.ok() ? keras::BuildGraph(*model).status() : model.status();
  };
  // Conv1D has no masking support: the mask ends there, and GlobalMaxPooling1D sees every step.
  EXPECT_TRUE(build(Sequential({6}, {emb, L("Conv1D", {{"filters", 2}, {"kernel_size", 3}}),
                                     L("GlobalMaxPooling1D"), L("Dense", {{"units", 2}})}))
                  .ok());
  // Softmax would add -1e9 at masked positions; Keras 3's BatchNormalization uses the mask in
  // its training statistics (tf.keras's ignores it: MaskZeroAndMasking).
  Json keras3_bn = Sequential({6}, {emb, L("BatchNormalization", {{"name", "sm"}})});
  keras3_bn["keras_version"] = "3.3.3";
  for (const Json& config : {Sequential({6}, {emb, L("Softmax", {{"name", "sm"}})}), keras3_bn}) {
    Status refused = build(config);
    EXPECT_EQ(refused.code(), StatusCode::kUnsupported);
    EXPECT_NE(refused.message().find("'sm'"), std::string::npos) << refused.ToString();
    EXPECT_NE(refused.message().find("Keras mask"), std::string::npos);
  }
  // Without a mask, the same layers convert.
  Json plain = emb;
  plain["config"]["mask_zero"] = false;
  EXPECT_TRUE(build(Sequential({6}, {plain, L("Softmax")})).ok());
  // A masked Bidirectional of unrolled layers returning sequences: Keras zeroes the backward
  // layer's outputs with the mask in the wrong order; refused.
  Status unrolled = build(Sequential(
      {6}, {emb, L("Bidirectional", {{"layer", L("GRU", {{"name", "g"},
                                                         {"units", 2},
                                                         {"unroll", true},
                                                         {"return_sequences", true}})}})}));
  EXPECT_EQ(unrolled.code(), StatusCode::kUnsupported) << unrolled.ToString();
}

TEST_F(KerasLayers, Lstm) {
  auto ops = Check(Sequential({5, 3}, {L("LSTM", {{"units", 4}})}), {5, 3});
  EXPECT_EQ(ops, std::vector<std::string>({"UNIDIRECTIONAL_SEQUENCE_LSTM", "STRIDED_SLICE"}));
  Check(Sequential({4, 2}, {L("LSTM", {{"units", 3}, {"return_sequences", true}}),
                            L("LSTM", {{"units", 2}, {"use_bias", false}})}),
        {4, 2});
  // Keras's generic RNN of a built-in cell: RNN(LSTMCell), RNN(GRUCell) backwards.
  ops = Check(
      Sequential({4, 2},
                 {L("RNN", {{"cell", {{"class_name", "LSTMCell"}, {"config", {{"units", 3}}}}},
                            {"return_sequences", true}}),
                  L("RNN", {{"cell", {{"class_name", "GRUCell"}, {"config", {{"units", 2}}}}},
                            {"go_backwards", true}})}),
      {4, 2}, kAtol, true);
  ASSERT_FALSE(ops.empty());
  EXPECT_EQ(ops[0], "UNIDIRECTIONAL_SEQUENCE_LSTM");
}

// LSTM with unroll=True: unrolled like a GRU (whole variables, plain ops), also backwards and with
// other activations; the reference is the same cell math stepped in double precision.
TEST_F(KerasLayers, LstmUnrolled) {
  g_worst = 0;
  auto ops =
      Check(Sequential({5, 3}, {L("LSTM", {{"units", 4}, {"unroll", true}})}), {5, 3}, kAtol, true);
  EXPECT_EQ(SecondStep(ops),
            std::vector<std::string>({"STRIDED_SLICE", "FULLY_CONNECTED", "ADD", "LOGISTIC",
                                      "SLICE", "SLICE", "SLICE", "TANH", "MUL", "SLICE", "MUL",
                                      "ADD", "TANH", "MUL"}));
  for (const std::string& op : ops) {
    EXPECT_NE(op, "UNIDIRECTIONAL_SEQUENCE_LSTM");
  }
  Check(
      Sequential(
          {4, 2},
          {L("LSTM",
             {{"units", 3}, {"unroll", true}, {"return_sequences", true}, {"go_backwards", true}}),
           L("LSTM", {{"units", 2},
                      {"unroll", true},
                      {"use_bias", false},
                      {"activation", "relu"},
                      {"recurrent_activation", "sigmoid"}}),
           L("Dense", {{"units", 2}})}),
      {4, 2}, kAtol, true);
  std::printf("LSTM unrolled: max abs diff to the reference %.3g\n", g_worst);
}

// Unrolled recurrent layers: run in TFLite 2.9 and in edgeopt's runtime.
TEST_F(KerasLayers, Gru) {
  g_worst = 0;
  auto ops = Check(Sequential({5, 3}, {L("GRU", {{"units", 4}})}), {5, 3}, kAtol, true);
  // Input projection, then t = 0 (zero state, no recurrent FC), then one full step.
  ASSERT_FALSE(ops.empty());
  EXPECT_EQ(ops[0], "FULLY_CONNECTED");
  EXPECT_EQ(SecondStep(ops),
            std::vector<std::string>({"STRIDED_SLICE", "FULLY_CONNECTED", "ADD", "LOGISTIC",
                                      "SLICE", "SLICE", "SLICE", "SLICE", "MUL", "ADD", "TANH",
                                      "SUB", "MUL", "ADD"}));
  for (const std::string& op : ops) {
    EXPECT_TRUE(op == "FULLY_CONNECTED" || op == "ADD" || op == "SUB" || op == "MUL" ||
                op == "LOGISTIC" || op == "TANH" || op == "SLICE" || op == "STRIDED_SLICE")
        << op;
  }
  ops = Check(Sequential({4, 3}, {L("GRU", {{"units", 3}, {"return_sequences", true}})}), {4, 3},
              kAtol, true);
  EXPECT_EQ(ops.back(), "RESHAPE");
  Check(Sequential({4, 2}, {L("GRU", {{"units", 3}, {"reset_after", false}})}), {4, 2}, kAtol,
        true);
  Check(Sequential({4, 2}, {L("GRU", {{"units", 3},
                                      {"reset_after", false},
                                      {"return_sequences", true},
                                      {"use_bias", false}})}),
        {4, 2}, kAtol, true);
  Check(Sequential({3, 2}, {L("GRU", {{"units", 2}, {"use_bias", false}})}), {3, 2}, kAtol, true);
  Check(Sequential({5, 2}, {L("GRU", {{"units", 3}, {"go_backwards", true}})}), {5, 2}, kAtol,
        true);
  Check(Sequential({5, 2},
                   {L("GRU", {{"units", 3}, {"go_backwards", true}, {"return_sequences", true}})}),
        {5, 2}, kAtol, true);
  Check(
      Sequential(
          {4, 3},
          {L("GRU", {{"units", 3}, {"activation", "relu"}, {"recurrent_activation", "sigmoid"}})}),
      {4, 3}, kAtol, true);
  // Stacked, then Dense; one step.
  Check(Sequential({6, 3},
                   {L("GRU", {{"units", 4}, {"return_sequences", true}}),
                    L("GRU", {{"units", 3}, {"reset_after", false}}), L("Dense", {{"units", 2}})}),
        {6, 3}, kAtol, true);
  Check(Sequential({1, 3}, {L("GRU", {{"units", 2}, {"return_sequences", true}})}), {1, 3}, kAtol,
        true);
  std::printf("GRU: max abs diff to the reference %.3g\n", g_worst);
}

TEST_F(KerasLayers, SimpleRnn) {
  g_worst = 0;
  auto ops = Check(Sequential({5, 3}, {L("SimpleRNN", {{"units", 4}})}), {5, 3}, kAtol, true);
  EXPECT_EQ(SecondStep(ops),
            std::vector<std::string>({"STRIDED_SLICE", "FULLY_CONNECTED", "ADD", "TANH"}));
  Check(Sequential(
            {4, 2},
            {L("SimpleRNN", {{"units", 3}, {"return_sequences", true}, {"activation", "relu"}}),
             L("SimpleRNN", {{"units", 2}, {"use_bias", false}, {"go_backwards", true}}),
             L("Dense", {{"units", 2}})}),
        {4, 2}, kAtol, true);
  std::printf("SimpleRNN: max abs diff to the reference %.3g\n", g_worst);
}

TEST_F(KerasLayers, Bidirectional) {
  g_worst = 0;
  for (const char* mode : {"concat", "sum", "mul", "ave"}) {
    for (bool seq : {false, true}) {
      Check(
          Sequential({4, 3},
                     {L("Bidirectional",
                        {{"merge_mode", mode},
                         {"layer",
                          L("GRU", {{"name", "gru"}, {"units", 3}, {"return_sequences", seq}})}})}),
          {4, 3}, kAtol, true);
    }
  }
  // LSTM inside (both directions unrolled), sequences and last states.
  for (bool seq : {false, true}) {
    Check(
        Sequential({4, 3},
                   {L("Bidirectional",
                      {{"layer",
                        L("LSTM", {{"name", "lstm"}, {"units", 3}, {"return_sequences", seq}})}})}),
        {4, 3}, kAtol, true);
  }
  // SimpleRNN inside, stacked, then Dense; an explicit backward layer.
  Check(Sequential(
            {5, 2},
            {L("Bidirectional",
               {{"layer",
                 L("SimpleRNN", {{"name", "rnn"}, {"units", 3}, {"return_sequences", true}})}}),
             L("Bidirectional",
               {{"merge_mode", "sum"},
                {"layer", L("GRU", {{"name", "g"}, {"units", 2}, {"reset_after", false}})},
                {"backward_layer",
                 L("GRU",
                   {{"name", "gb"}, {"units", 2}, {"go_backwards", true}, {"use_bias", false}})}}),
             L("Dense", {{"units", 2}})}),
        {5, 2}, kAtol, true);
  std::printf("Bidirectional: max abs diff to the reference %.3g\n", g_worst);
}

// A Keras 3 tensor argument.
Json KerasTensor(const std::string& layer) {
  return {
      {"class_name", "__keras_tensor__"},
      {"config", {{"shape", {nullptr}}, {"dtype", "float32"}, {"keras_history", {layer, 0, 0}}}}};
}

// A Functional model: InputLayers `inputs` (name, shape without batch), then `layers` (entries with
// their inbound_nodes), output the last layer.
Json Functional(const std::vector<std::pair<std::string, std::vector<int64_t>>>& inputs,
                const std::vector<Json>& layers) {
  Json list = Json::array(), input_refs = Json::array();
  for (const auto& [name, shape] : inputs) {
    Json batch_shape = Json::array({nullptr});
    for (int64_t d : shape) batch_shape.push_back(d);
    list.push_back({{"class_name", "InputLayer"},
                    {"name", name},
                    {"config", {{"batch_shape", batch_shape}, {"name", name}}},
                    {"inbound_nodes", Json::array()}});
    input_refs.push_back({name, 0, 0});
  }
  for (const Json& l : layers) list.push_back(l);
  const std::string last = layers.back()["name"];
  return {{"class_name", "Functional"},
          {"config",
           {{"name", "f"},
            {"layers", list},
            {"input_layers", input_refs},
            {"output_layers", {{last, 0, 0}}}}}};
}

// Converts `config` (random weights), runs it in tflite-ref and in edgeopt's runtime on `inputs`
// (batch 1, shapes `shapes`) and returns both outputs (empty on failure).
std::vector<std::vector<double>> RunBoth(const keras::KerasModel& model,
                                         const std::vector<std::vector<double>>& inputs,
                                         const std::vector<std::vector<int64_t>>& shapes,
                                         const std::string& dir) {
  StatusOr<ir::Graph> graph = keras::BuildGraph(model);
  EXPECT_TRUE(graph.ok()) << graph.status().ToString();
  if (!graph.ok()) return {};
  Status prepared = passes::PrepareForExport(&*graph);
  EXPECT_TRUE(prepared.ok()) << prepared.ToString();
  const std::string path = dir + "/f.tflite";
  EXPECT_TRUE(WriteTfliteFile(*graph, path).ok());
  std::string args;
  for (size_t i = 0; i < inputs.size(); ++i) {
    NpyArray in;
    in.dtype = DType::kFloat32;
    in.shape = {1};
    in.shape.insert(in.shape.end(), shapes[i].begin(), shapes[i].end());
    in.data.resize(inputs[i].size() * 4);
    for (size_t k = 0; k < inputs[i].size(); ++k) {
      in.Data<float>()[k] = static_cast<float>(inputs[i][k]);
    }
    const std::string f = dir + "/in" + std::to_string(i) + ".npy";
    EXPECT_TRUE(WriteNpy(f, in).ok());
    args += " -i '" + f + "'";
  }
  std::vector<std::vector<double>> outs;
  for (const std::string& runner : {TfliteRefPath(), EdgeoptBinary()}) {
    std::string log;
    const std::string out_dir = dir + "/out" + std::to_string(outs.size());
    const int rc =
        RunCommand(runner + " run '" + path + "'" + args + " -o '" + out_dir + "'", &log);
    EXPECT_EQ(rc, 0) << log;
    StatusOr<NpyArray> out = ReadNpy(out_dir + "/output_0.npy");
    EXPECT_TRUE(out.ok());
    if (rc != 0 || !out.ok()) return {};
    std::vector<double> v(static_cast<size_t>(out->NumElements()));
    for (size_t k = 0; k < v.size(); ++k) v[k] = out->Data<float>()[k];
    outs.push_back(v);
  }
  return outs;
}

void ExpectClose(const std::vector<double>& got, const std::vector<double>& want,
                 const char* what) {
  ASSERT_EQ(got.size(), want.size()) << what;
  double worst = 0;
  for (size_t i = 0; i < got.size(); ++i) {
    worst = std::max(worst, std::fabs(got[i] - want[i]));
    EXPECT_NEAR(got[i], want[i], kAtol + kRtol * std::fabs(want[i])) << what << " element " << i;
  }
  std::printf("%s: max abs diff to the reference %.3g\n", what, worst);
}

std::vector<double> RandomValues(int64_t n) {
  std::vector<double> v(static_cast<size_t>(n));
  for (double& x : v) x = Uniform(-1, 1);
  return v;
}

// UnitNormalization: L2_NORMALIZATION over the last axis, MUL, SUM, MAXIMUM, RSQRT, MUL over
// others.
TEST_F(KerasLayers, UnitNormalization) {
  auto ops = Check(Sequential({3, 5}, {L("UnitNormalization")}), {3, 5}, kAtol, true);
  EXPECT_EQ(ops, std::vector<std::string>({"L2_NORMALIZATION"}));
  ops = Check(Sequential({3, 5}, {L("UnitNormalization", {{"axis", Json::array({1, 2})}})}), {3, 5},
              kAtol, true);
  EXPECT_EQ(ops, std::vector<std::string>({"MUL", "SUM", "MAXIMUM", "RSQRT", "MUL"}));
  Check(Sequential({4, 3, 2}, {L("UnitNormalization", {{"axis", 1}})}), {4, 3, 2}, kAtol, true);
}

// Dot of two vectors (MUL + SUM), of two sequences over each pair of axes (BATCH_MATMUL with the
// inputs transposed as needed), with and without normalize (cosine similarity).
TEST_F(KerasLayers, Dot) {
  struct Case {
    std::vector<int64_t> x, y;
    Json axes;
    bool normalize;
    std::vector<std::string> ops;
  } cases[] = {
      {{6}, {6}, 1, false, {"MUL", "SUM"}},
      {{6}, {6}, -1, true, {"L2_NORMALIZATION", "L2_NORMALIZATION", "MUL", "SUM"}},
      {{4, 3}, {5, 3}, 2, false, {"BATCH_MATMUL"}},
      {{4, 3}, {4, 5}, Json::array({1, 1}), false, {"BATCH_MATMUL"}},
      {{4, 3},
       {3, 5},
       Json::array({2, 1}),
       true,
       {"L2_NORMALIZATION", "MUL", "SUM", "MAXIMUM", "RSQRT", "MUL", "BATCH_MATMUL"}},
      {{3, 4}, {5, 3}, Json::array({1, 2}), false, {"BATCH_MATMUL"}},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE("axes " + c.axes.dump() + (c.normalize ? " normalize" : ""));
    const Json layer = {
        {"class_name", "Dot"},
        {"name", "dot"},
        {"config", {{"name", "dot"}, {"axes", c.axes}, {"normalize", c.normalize}}},
        {"inbound_nodes", Json::array({Json::array({Json::array({"x", 0, 0, Json::object()}),
                                                    Json::array({"y", 0, 0, Json::object()})})})}};
    StatusOr<keras::KerasModel> model =
        keras::ModelFromConfig(Functional({{"x", c.x}, {"y", c.y}}, {layer}), 5);
    ASSERT_TRUE(model.ok()) << model.status().ToString();
    int64_t nx = 1, ny = 1;
    for (int64_t d : c.x) nx *= d;
    for (int64_t d : c.y) ny *= d;
    const std::vector<double> x = RandomValues(nx), y = RandomValues(ny);
    StatusOr<ir::Graph> graph = keras::BuildGraph(*model);
    ASSERT_TRUE(graph.ok()) << graph.status().ToString();
    if (!c.ops.empty()) {
      std::vector<std::string> ops;
      for (const ir::Node& n : graph->nodes) ops.push_back(n.op);
      EXPECT_EQ(ops, c.ops);
    }
    const auto outs = RunBoth(*model, {x, y}, {c.x, c.y}, *dir_);
    ASSERT_EQ(outs.size(), 2u);
    int64_t ax = c.axes.is_array() ? c.axes[0].get<int64_t>() : c.axes.get<int64_t>();
    int64_t ay = c.axes.is_array() ? c.axes[1].get<int64_t>() : ax;
    if (ax < 0) ax += static_cast<int64_t>(c.x.size()) + 1;
    if (ay < 0) ay += static_cast<int64_t>(c.y.size()) + 1;
    const std::vector<double> want = kref::Dot(x, c.x, y, c.y, ax, ay, c.normalize);
    ExpectClose(outs[0], want, "Dot, TFLite");
    ExpectClose(outs[1], want, "Dot, edgeopt");
  }
  // Inputs Keras would broadcast or of other ranks are refused with the shapes named.
  const Json layer = {
      {"class_name", "Dot"},
      {"name", "dot"},
      {"config", {{"name", "dot"}, {"axes", 1}}},
      {"inbound_nodes", Json::array({Json::array({Json::array({"x", 0, 0, Json::object()}),
                                                  Json::array({"y", 0, 0, Json::object()})})})}};
  StatusOr<keras::KerasModel> model =
      keras::ModelFromConfig(Functional({{"x", {4}}, {"y", {3, 4}}}, {layer}), 5);
  ASSERT_FALSE(model.ok());
  EXPECT_NE(model.status().message().find("layer 'dot' (Dot): dot of [1,4] and [1,3,4]"),
            std::string::npos)
      << model.status().ToString();
}

// MultiHeadAttention: self-attention (Keras 3 node format) with value_dim, output_shape and
// dropout; cross-attention with a separate key and no biases (Keras 2 node format, value and key
// as keyword tensors); attention over a rank-4 input's two middle axes.
TEST_F(KerasLayers, MultiHeadAttention) {
  auto mha = [](const std::string& name, Json config, Json node) {
    config["name"] = name;
    return Json{{"class_name", "MultiHeadAttention"},
                {"name", name},
                {"config", config},
                {"inbound_nodes", Json::array({node})}};
  };
  {
    SCOPED_TRACE("self-attention");
    const Json config = Functional(
        {{"x", {5, 6}}},
        {mha("att",
             {{"num_heads", 2},
              {"key_dim", 3},
              {"value_dim", 4},
              {"output_shape", 7},
              {"dropout", 0.1}},
             {{"args", {KerasTensor("x"), KerasTensor("x")}}, {"kwargs", Json::object()}})});
    StatusOr<keras::KerasModel> model = keras::ModelFromConfig(config, 11);
    ASSERT_TRUE(model.ok()) << model.status().ToString();
    Randomize(&*model);
    const std::vector<double> x = RandomValues(30);
    const auto outs = RunBoth(*model, {x}, {{5, 6}}, *dir_);
    ASSERT_EQ(outs.size(), 2u);
    const std::vector<double> want =
        kref::MultiHeadAttention(*model, "att", x, 5, x, x, 5, 2, 3, 4, 7);
    ExpectClose(outs[0], want, "MHA self-attention, TFLite");
    ExpectClose(outs[1], want, "MHA self-attention, edgeopt");
  }
  {
    // Keras 3's call argument; the mask's zero weights reach the output exactly.
    SCOPED_TRACE("causal self-attention");
    const Json config =
        Functional({{"x", {5, 6}}}, {mha("causal", {{"num_heads", 2}, {"key_dim", 3}},
                                         {{"args", {KerasTensor("x"), KerasTensor("x")}},
                                          {"kwargs", {{"use_causal_mask", true}}}})});
    StatusOr<keras::KerasModel> model = keras::ModelFromConfig(config, 14);
    ASSERT_TRUE(model.ok()) << model.status().ToString();
    Randomize(&*model);
    StatusOr<ir::Graph> graph = keras::BuildGraph(*model);
    ASSERT_TRUE(graph.ok()) << graph.status().ToString();
    int minimums = 0;
    for (const ir::Node& n : graph->nodes) minimums += n.op == "MINIMUM";
    EXPECT_EQ(minimums, 1);
    const std::vector<double> x = RandomValues(30);
    const auto outs = RunBoth(*model, {x}, {{5, 6}}, *dir_);
    ASSERT_EQ(outs.size(), 2u);
    const std::vector<double> want =
        kref::MultiHeadAttention(*model, "causal", x, 5, x, x, 5, 2, 3, 3, 6, /*causal=*/true);
    ExpectClose(outs[0], want, "MHA causal, TFLite");
    ExpectClose(outs[1], want, "MHA causal, edgeopt");
    // The first position sees only itself: its output is that of a one-step sequence.
    const std::vector<double> alone =
        kref::MultiHeadAttention(*model, "causal", std::vector<double>(x.begin(), x.begin() + 6), 1,
                                 std::vector<double>(x.begin(), x.begin() + 6),
                                 std::vector<double>(x.begin(), x.begin() + 6), 1, 2, 3, 3, 6);
    for (size_t i = 0; i < alone.size(); ++i) EXPECT_NEAR(outs[1][i], alone[i], 1e-5) << i;
  }
  {
    // Keras 2's node format (the flag among the call's keyword arguments), 4 queries on 6 keys.
    SCOPED_TRACE("causal cross-attention");
    const Json node = Json::array(
        {Json::array({"q", 0, 0, {{"value", {"v", 0, 0}}, {"use_causal_mask", true}}})});
    const Json config = Functional({{"q", {4, 3}}, {"v", {6, 3}}},
                                   {mha("cc", {{"num_heads", 2}, {"key_dim", 2}}, node)});
    StatusOr<keras::KerasModel> model = keras::ModelFromConfig(config, 15);
    ASSERT_TRUE(model.ok()) << model.status().ToString();
    Randomize(&*model);
    const std::vector<double> q = RandomValues(12), v = RandomValues(18);
    const auto outs = RunBoth(*model, {q, v}, {{4, 3}, {6, 3}}, *dir_);
    ASSERT_EQ(outs.size(), 2u);
    const std::vector<double> want =
        kref::MultiHeadAttention(*model, "cc", q, 4, v, v, 6, 2, 2, 2, 3, /*causal=*/true);
    ExpectClose(outs[0], want, "MHA causal cross-attention, TFLite");
    ExpectClose(outs[1], want, "MHA causal cross-attention, edgeopt");
  }
  {
    SCOPED_TRACE("cross-attention with key");
    const Json node =
        Json::array({Json::array({"q", 0, 0, {{"value", {"v", 0, 0}}, {"key", {"k", 0, 0}}}})});
    const Json config =
        Functional({{"q", {4, 6}}, {"v", {5, 3}}, {"k", {5, 2}}},
                   {mha("cross", {{"num_heads", 3}, {"key_dim", 2}, {"use_bias", false}}, node)});
    StatusOr<keras::KerasModel> model = keras::ModelFromConfig(config, 12);
    ASSERT_TRUE(model.ok()) << model.status().ToString();
    Randomize(&*model);
    const std::vector<double> q = RandomValues(24), v = RandomValues(15), k = RandomValues(10);
    const auto outs = RunBoth(*model, {q, v, k}, {{4, 6}, {5, 3}, {5, 2}}, *dir_);
    ASSERT_EQ(outs.size(), 2u);
    const std::vector<double> want =
        kref::MultiHeadAttention(*model, "cross", q, 4, v, k, 5, 3, 2, 2, 6);
    ExpectClose(outs[0], want, "MHA cross-attention, TFLite");
    ExpectClose(outs[1], want, "MHA cross-attention, edgeopt");
  }
  {
    SCOPED_TRACE("rank 4");
    const Json config = Functional(
        {{"img", {3, 2, 6}}},
        {mha("att2d", {{"num_heads", 3}, {"key_dim", 2}, {"attention_axes", {1, 2}}},
             {{"args", {KerasTensor("img"), KerasTensor("img")}}, {"kwargs", Json::object()}})});
    StatusOr<keras::KerasModel> model = keras::ModelFromConfig(config, 13);
    ASSERT_TRUE(model.ok()) << model.status().ToString();
    Randomize(&*model);
    const std::vector<double> x = RandomValues(36);
    const auto outs = RunBoth(*model, {x}, {{3, 2, 6}}, *dir_);
    ASSERT_EQ(outs.size(), 2u);
    const std::vector<double> want =
        kref::MultiHeadAttention(*model, "att2d", x, 6, x, x, 6, 3, 2, 2, 6);
    ExpectClose(outs[0], want, "MHA over two axes, TFLite");
    ExpectClose(outs[1], want, "MHA over two axes, edgeopt");
  }
}

// Attention (dot with and without scale, concat) and AdditiveAttention (with and without its
// scale vector), called on [query, value] (Keras 3 node format: one list argument) and on
// [query, value, key] (Keras 2 format).
TEST_F(KerasLayers, AttentionAndAdditiveAttention) {
  struct Case {
    const char* cls;
    Json config;
    bool additive, concat, use_scale, with_key, causal = false;
  } cases[] = {
      {"Attention", Json::object(), false, false, false, false},
      {"Attention", {{"use_scale", true}}, false, false, true, true},
      {"Attention",
       {{"use_scale", true}, {"score_mode", "concat"}, {"dropout", 0.2}},
       false,
       true,
       true,
       false},
      {"Attention", {{"score_mode", "concat"}}, false, true, false, true},
      {"AdditiveAttention", Json::object(), true, false, true, false},
      {"AdditiveAttention", {{"use_scale", false}}, true, false, false, true},
      // Causal: Keras 3's call argument (Keras 2 node format: among the keyword arguments), and
      // tf.keras 2.x's causal=True in the config.
      {"Attention", {{"use_scale", true}}, false, false, true, true, true},
      {"Attention", {{"causal", true}}, false, false, false, false, true},
      {"AdditiveAttention", Json::object(), true, false, true, true, true},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.cls + std::string(" ") + c.config.dump());
    Json config = c.config;
    config["name"] = "att";
    Json node;
    if (c.with_key) {  // Keras 2: [[q, 0, 0, {}], [v, 0, 0, {}], [k, 0, 0, {}]]
      const Json kwargs =
          c.causal && !config.contains("causal") ? Json{{"use_causal_mask", true}} : Json::object();
      node = Json::array({Json::array({"q", 0, 0, kwargs}), Json::array({"v", 0, 0, kwargs}),
                          Json::array({"k", 0, 0, kwargs})});
    } else {
      node = {{"args", {Json::array({KerasTensor("q"), KerasTensor("v")})}},
              {"kwargs", Json::object()}};
    }
    const Json layer = {{"class_name", c.cls},
                        {"name", "att"},
                        {"config", config},
                        {"inbound_nodes", Json::array({node})}};
    // Without a key the value is the key: its width is the query's.
    const int64_t dv = c.with_key ? 2 : 3;
    std::vector<std::pair<std::string, std::vector<int64_t>>> inputs = {{"q", {4, 3}},
                                                                        {"v", {5, dv}}};
    if (c.with_key) inputs.push_back({"k", {5, 3}});
    const Json model_config = Functional(inputs, {layer});
    StatusOr<keras::KerasModel> model = keras::ModelFromConfig(model_config, 21);
    ASSERT_TRUE(model.ok()) << model.status().ToString();
    Randomize(&*model);
    const std::vector<double> q = RandomValues(12), v = RandomValues(5 * dv);
    const std::vector<double> k = c.with_key ? RandomValues(15) : std::vector<double>();
    std::vector<std::vector<double>> in = {q, v};
    std::vector<std::vector<int64_t>> shapes = {{4, 3}, {5, dv}};
    if (c.with_key) {
      in.push_back(k);
      shapes.push_back({5, 3});
    }
    const auto outs = RunBoth(*model, in, shapes, *dir_);
    ASSERT_EQ(outs.size(), 2u);
    const std::vector<double> want = kref::DotAttention(
        *model, "att", c.additive, c.concat, c.use_scale, q, 4, v, c.with_key ? k : v, 5, c.causal);
    ExpectClose(outs[0], want, (std::string(c.cls) + ", TFLite").c_str());
    ExpectClose(outs[1], want, (std::string(c.cls) + ", edgeopt").c_str());
  }
}

// A Keras 3 functional layer entry: `cls` named `name`, called on `args` with `kwargs`.
Json LayerNode(const std::string& cls, const std::string& name, Json config, Json args,
               Json kwargs = Json::object()) {
  config["name"] = name;
  return Json{{"class_name", cls},
              {"name", name},
              {"config", config},
              {"inbound_nodes", Json::array({{{"args", args}, {"kwargs", kwargs}}})}};
}

// Embedding(9 ids -> 6, mask_zero=True) of layer `input`.
Json EmbeddingNode(const std::string& name, const std::string& input, bool mask_zero = true) {
  return LayerNode("Embedding", name,
                   {{"input_dim", 9}, {"output_dim", 6}, {"mask_zero", mask_zero}},
                   {KerasTensor(input)});
}

// Rows of Embedding `name`'s table (6 wide) for `ids`, and the mask ids != 0.
std::vector<double> EmbedIds(const keras::KerasModel& m, const std::string& name,
                             const std::vector<double>& ids, std::vector<double>* mask) {
  const std::vector<double> table = kref::Weight(m, name, "embeddings");
  std::vector<double> x;
  mask->clear();
  for (double id : ids) {
    const int64_t row = static_cast<int64_t>(id);
    x.insert(x.end(), table.begin() + row * 6, table.begin() + (row + 1) * 6);
    mask->push_back(id != 0.0 ? 1.0 : 0.0);
  }
  return x;
}

// Keras masks reaching attention (Embedding mask_zero=True on token ids): MultiHeadAttention
// drops the scores of masked queries, values and keys (with a causal mask too) and passes the
// query's mask on (here to a GlobalAveragePooling1D over the kept tokens); Attention and
// AdditiveAttention drop masked values' scores and zero masked queries' outputs. Both runtimes
// against the reference (Keras's float32 -1e9 added at the masked scores).
TEST_F(KerasLayers, AttentionWithKerasMasks) {
  const std::vector<double> q_ids = {3, 5, 0, 2, 8, 0}, v_ids = {0, 4, 7, 0, 1};
  // Self-attention, causal too; with the key given (the value's mask), whose scores are dropped
  // once (two SELECT_V2s).
  for (int variant = 0; variant < 3; ++variant) {
    const bool causal = variant == 1, with_key = variant == 2;
    SCOPED_TRACE(causal ? "causal self-attention" : with_key ? "with the key" : "self-attention");
    const Json kwargs = causal ? Json{{"use_causal_mask", true}} : Json::object();
    Json args = {KerasTensor("emb"), KerasTensor("emb")};
    if (with_key) args.push_back(KerasTensor("emb"));
    const Json config = Functional(
        {{"ids", {6}}},
        {EmbeddingNode("emb", "ids"),
         LayerNode("MultiHeadAttention", "att", {{"num_heads", 2}, {"key_dim", 3}}, args, kwargs)});
    StatusOr<keras::KerasModel> model = keras::ModelFromConfig(config, 31);
    ASSERT_TRUE(model.ok()) << model.status().ToString();
    Randomize(&*model);
    StatusOr<ir::Graph> graph = keras::BuildGraph(*model);
    ASSERT_TRUE(graph.ok()) << graph.status().ToString();
    EXPECT_EQ(std::count_if(graph->nodes.begin(), graph->nodes.end(),
                            [](const ir::Node& n) { return n.op == "SELECT_V2"; }),
              2);
    const auto outs = RunBoth(*model, {q_ids}, {{6}}, *dir_);
    ASSERT_EQ(outs.size(), 2u);
    std::vector<double> mask;
    const std::vector<double> x = EmbedIds(*model, "emb", q_ids, &mask);
    const std::vector<double> want =
        kref::MultiHeadAttention(*model, "att", x, 6, x, x, 6, 2, 3, 3, 6, causal, &mask, &mask);
    ExpectClose(outs[0], want, "masked MHA, TFLite");
    ExpectClose(outs[1], want, "masked MHA, edgeopt");
  }
  {
    SCOPED_TRACE("cross-attention, then the mean over the kept queries");
    const Json config = Functional(
        {{"q", {6}}, {"v", {5}}},
        {EmbeddingNode("q_emb", "q"), EmbeddingNode("v_emb", "v"),
         LayerNode("MultiHeadAttention", "att", {{"num_heads", 2}, {"key_dim", 3}},
                   {KerasTensor("q_emb"), KerasTensor("v_emb")}),
         LayerNode("GlobalAveragePooling1D", "mean", Json::object(), {KerasTensor("att")})});
    StatusOr<keras::KerasModel> model = keras::ModelFromConfig(config, 32);
    ASSERT_TRUE(model.ok()) << model.status().ToString();
    Randomize(&*model);
    const auto outs = RunBoth(*model, {q_ids, v_ids}, {{6}, {5}}, *dir_);
    ASSERT_EQ(outs.size(), 2u);
    std::vector<double> qm, vm;
    const std::vector<double> q = EmbedIds(*model, "q_emb", q_ids, &qm);
    const std::vector<double> v = EmbedIds(*model, "v_emb", v_ids, &vm);
    const std::vector<double> att =
        kref::MultiHeadAttention(*model, "att", q, 6, v, v, 5, 2, 3, 3, 6, false, &qm, &vm);
    std::vector<double> want(6, 0.0);
    double kept = 0;
    for (int i = 0; i < 6; ++i) {
      kept += qm[i];
      for (int c = 0; c < 6; ++c) want[c] += qm[i] * att[i * 6 + c];
    }
    for (double& w : want) w /= kept;
    ExpectClose(outs[0], want, "masked cross MHA + mean, TFLite");
    ExpectClose(outs[1], want, "masked cross MHA + mean, edgeopt");
  }
  for (const char* cls : {"Attention", "AdditiveAttention"}) {
    SCOPED_TRACE(cls);
    const bool additive = std::string(cls) == "AdditiveAttention";
    const Json config =
        Functional({{"q", {6}}, {"v", {5}}},
                   {EmbeddingNode("q_emb", "q"), EmbeddingNode("v_emb", "v"),
                    LayerNode(cls, "att", Json::object(),
                              {Json::array({KerasTensor("q_emb"), KerasTensor("v_emb")})})});
    StatusOr<keras::KerasModel> model = keras::ModelFromConfig(config, 33);
    ASSERT_TRUE(model.ok()) << model.status().ToString();
    Randomize(&*model);
    const auto outs = RunBoth(*model, {q_ids, v_ids}, {{6}, {5}}, *dir_);
    ASSERT_EQ(outs.size(), 2u);
    std::vector<double> qm, vm;
    const std::vector<double> q = EmbedIds(*model, "q_emb", q_ids, &qm);
    const std::vector<double> v = EmbedIds(*model, "v_emb", v_ids, &vm);
    const std::vector<double> want = kref::DotAttention(*model, "att", additive, false, additive, q,
                                                        6, v, v, 5, false, &qm, &vm);
    ExpectClose(outs[0], want, (std::string(cls) + " masked, TFLite").c_str());
    ExpectClose(outs[1], want, (std::string(cls) + " masked, edgeopt").c_str());
  }
}

// The same Functional config in tf.keras's form: inbound_nodes [[[layer, 0, 0, {}], ...]] (the
// tensors in args, in order) and batch_input_shape; the builder reads it as tf.keras 2.x.
Json AsTfKeras(Json config) {
  for (Json& l : config["config"]["layers"]) {
    if (l["class_name"] == "InputLayer") {
      l["config"]["batch_input_shape"] = l["config"]["batch_shape"];
      l["config"].erase("batch_shape");
      continue;
    }
    Json node = Json::array();
    std::function<void(const Json&)> collect = [&](const Json& j) {
      if (j.is_array()) {
        for (const Json& e : j) collect(e);
      } else if (j.is_object() && j.value("class_name", "") == "__keras_tensor__") {
        node.push_back({j["config"]["keras_history"][0], 0, 0, Json::object()});
      }
    };
    collect(l["inbound_nodes"][0]["args"]);
    l["inbound_nodes"] = Json::array({node});
  }
  return config;
}

// Merges combine their inputs' Keras masks. In Keras 3 every input must carry the same mask
// (a residual connection; Keras 3 versions differ otherwise): an encoder block (masked
// self-attention, Add, LayerNormalization, a Dense, Add, the mean over the kept tokens), a
// Concatenate of features; a Concatenate of steps concatenates the masks (any version);
// tf.keras ANDs different masks. Both runtimes against the reference.
TEST_F(KerasLayers, MasksThroughMerges) {
  auto T = [](const std::string& name) { return KerasTensor(name); };
  auto run = [&](const Json& config, const std::vector<std::vector<double>>& ids,
                 const std::function<std::vector<double>(const keras::KerasModel&)>& want,
                 const char* what) {
    SCOPED_TRACE(what);
    StatusOr<keras::KerasModel> model = keras::ModelFromConfig(config, 41);
    ASSERT_TRUE(model.ok()) << model.status().ToString();
    Randomize(&*model);
    std::vector<std::vector<int64_t>> shapes;
    for (const auto& v : ids) shapes.push_back({static_cast<int64_t>(v.size())});
    const auto outs = RunBoth(*model, ids, shapes, *dir_);
    ASSERT_EQ(outs.size(), 2u);
    const std::vector<double> w = want(*model);
    ExpectClose(outs[0], w, (std::string(what) + ", TFLite").c_str());
    ExpectClose(outs[1], w, (std::string(what) + ", edgeopt").c_str());
  };
  auto apply = [](const keras::KerasModel& m, const std::string& cls, const std::string& name,
                  const Json& c, std::vector<double> x, int64_t steps) {
    kref::Tensor t{{1, steps, static_cast<int64_t>(x.size()) / steps}, x};
    std::string error;
    EXPECT_TRUE(kref::Apply(m, cls, name, c, &t, &error)) << error;
    return t.v;
  };
  auto masked_mean = [](const std::vector<double>& x, const std::vector<double>& mask) {
    const size_t f = x.size() / mask.size();
    std::vector<double> y(f, 0.0);
    double kept = 0;
    for (size_t t = 0; t < mask.size(); ++t) {
      kept += mask[t];
      for (size_t c = 0; c < f; ++c) y[c] += mask[t] * x[t * f + c];
    }
    for (double& v : y) v /= kept;
    return y;
  };
  const Json gru = {{"units", 3}};
  auto run_gru = [&](const keras::KerasModel& m, const std::vector<double>& x,
                     const std::vector<double>& mask) {
    const int64_t steps = static_cast<int64_t>(mask.size());
    const auto states = kref::RunRnn(
        "GRU", gru, kref::Weight(m, "gru", "kernel"), kref::Weight(m, "gru", "recurrent_kernel"),
        kref::Weight(m, "gru", "bias"),
        kref::Tensor{{1, steps, static_cast<int64_t>(x.size()) / steps}, x}, false, &mask);
    return kref::RnnOutput(states, false, false).v;
  };
  const std::vector<double> q_ids = {3, 5, 0, 2, 8, 0}, v_ids = {0, 4, 7, 0, 1, 6};
  const Json ffn = {{"units", 6}, {"activation", "relu"}};
  const Json ln = {{"epsilon", 1e-3}};
  {
    const Json config =
        Functional({{"ids", {6}}},
                   {EmbeddingNode("emb", "ids"),
                    LayerNode("MultiHeadAttention", "att", {{"num_heads", 2}, {"key_dim", 3}},
                              {T("emb"), T("emb")}),
                    LayerNode("Add", "res", Json::object(), {Json::array({T("emb"), T("att")})}),
                    LayerNode("LayerNormalization", "ln", ln, {T("res")}),
                    LayerNode("Dense", "ffn", ffn, {T("ln")}),
                    LayerNode("Add", "res2", Json::object(), {Json::array({T("ln"), T("ffn")})}),
                    LayerNode("GlobalAveragePooling1D", "mean", Json::object(), {T("res2")})});
    run(
        config, {q_ids},
        [&](const keras::KerasModel& m) {
          std::vector<double> mask;
          const std::vector<double> x = EmbedIds(m, "emb", q_ids, &mask);
          std::vector<double> r =
              kref::MultiHeadAttention(m, "att", x, 6, x, x, 6, 2, 3, 3, 6, false, &mask, &mask);
          for (size_t i = 0; i < r.size(); ++i) r[i] += x[i];
          const std::vector<double> n = apply(m, "LayerNormalization", "ln", ln, r, 6);
          std::vector<double> y = apply(m, "Dense", "ffn", ffn, n, 6);
          for (size_t i = 0; i < y.size(); ++i) y[i] += n[i];
          return masked_mean(y, mask);
        },
        "Keras 3 encoder block");
  }
  {
    const Json config = Functional(
        {{"ids", {6}}},
        {EmbeddingNode("emb", "ids"), LayerNode("Dense", "proj", ffn, {T("emb")}),
         LayerNode("Concatenate", "cat", Json::object(), {Json::array({T("emb"), T("proj")})}),
         LayerNode("GRU", "gru", gru, {T("cat")})});
    run(
        config, {q_ids},
        [&](const keras::KerasModel& m) {
          std::vector<double> mask;
          const std::vector<double> x = EmbedIds(m, "emb", q_ids, &mask);
          const std::vector<double> p = apply(m, "Dense", "proj", ffn, x, 6);
          std::vector<double> cat;
          for (int t = 0; t < 6; ++t) {
            cat.insert(cat.end(), x.begin() + t * 6, x.begin() + (t + 1) * 6);
            cat.insert(cat.end(), p.begin() + t * 6, p.begin() + (t + 1) * 6);
          }
          return run_gru(m, cat, mask);
        },
        "Keras 3 Concatenate of features");
  }
  // Steps: the second input has no mask (all kept), the third its own.
  const Json steps_config = Functional(
      {{"q", {6}}, {"p", {6}}, {"v", {6}}},
      {EmbeddingNode("q_emb", "q"), EmbeddingNode("p_emb", "p", false), EmbeddingNode("v_emb", "v"),
       LayerNode("Concatenate", "cat", {{"axis", 1}},
                 {Json::array({T("q_emb"), T("p_emb"), T("v_emb")})}),
       LayerNode("GRU", "gru", gru, {T("cat")})});
  auto steps_want = [&](const keras::KerasModel& m) {
    std::vector<double> qm, pm, vm;
    std::vector<double> x = EmbedIds(m, "q_emb", q_ids, &qm);
    const std::vector<double> p = EmbedIds(m, "p_emb", v_ids, &pm);
    const std::vector<double> v = EmbedIds(m, "v_emb", v_ids, &vm);
    x.insert(x.end(), p.begin(), p.end());
    x.insert(x.end(), v.begin(), v.end());
    qm.insert(qm.end(), 6, 1.0);
    qm.insert(qm.end(), vm.begin(), vm.end());
    return run_gru(m, x, qm);
  };
  run(steps_config, {q_ids, v_ids, v_ids}, steps_want, "Keras 3 Concatenate of steps");
  run(AsTfKeras(steps_config), {q_ids, v_ids, v_ids}, steps_want, "tf.keras Concatenate of steps");
  // tf.keras: Add of two differently masked sequences and an unmasked one, mask q AND v.
  const Json and_config = Functional(
      {{"q", {6}}, {"p", {6}}, {"v", {6}}},
      {EmbeddingNode("q_emb", "q"), EmbeddingNode("p_emb", "p", false), EmbeddingNode("v_emb", "v"),
       LayerNode("Add", "sum", Json::object(), {Json::array({T("q_emb"), T("p_emb"), T("v_emb")})}),
       LayerNode("GRU", "gru", gru, {T("sum")})});
  run(
      AsTfKeras(and_config), {q_ids, v_ids, v_ids},
      [&](const keras::KerasModel& m) {
        std::vector<double> qm, pm, vm;
        std::vector<double> x = EmbedIds(m, "q_emb", q_ids, &qm);
        const std::vector<double> p = EmbedIds(m, "p_emb", v_ids, &pm);
        const std::vector<double> v = EmbedIds(m, "v_emb", v_ids, &vm);
        for (size_t i = 0; i < x.size(); ++i) x[i] += p[i] + v[i];
        for (size_t t = 0; t < qm.size(); ++t) qm[t] *= vm[t];
        return run_gru(m, x, qm);
      },
      "tf.keras Add, masks ANDed");

  // Refused in Keras 3, where versions disagree: different masks, a mask on some inputs only,
  // and Multiply (recent versions apply the masks in its arithmetic).
  auto build = [](const Json& config) {
    StatusOr<keras::KerasModel> model = keras::ModelFromConfig(config, 1);
    return model.ok() ? keras::BuildGraph(*model).status() : model.status();
  };
  Status refused = build(and_config);
  EXPECT_EQ(refused.code(), StatusCode::kUnsupported);
  EXPECT_NE(refused.message().find("'sum'"), std::string::npos) << refused.ToString();
  EXPECT_NE(refused.message().find("different Keras masks"), std::string::npos);
  Status some = build(Functional(
      {{"q", {6}}, {"p", {6}}},
      {EmbeddingNode("q_emb", "q"), EmbeddingNode("p_emb", "p", false),
       LayerNode("Add", "sum", Json::object(), {Json::array({T("q_emb"), T("p_emb")})})}));
  EXPECT_EQ(some.code(), StatusCode::kUnsupported) << some.ToString();
  Status product = build(Functional(
      {{"q", {6}}},
      {EmbeddingNode("q_emb", "q"),
       LayerNode("Multiply", "prod", Json::object(), {Json::array({T("q_emb"), T("q_emb")})})}));
  EXPECT_EQ(product.code(), StatusCode::kUnsupported);
  EXPECT_NE(product.message().find("Multiply"), std::string::npos) << product.ToString();
}

TEST_F(KerasLayers, MultiHeadAttentionRefusesMasksAndOtherAxes) {
  auto build = [](Json config, Json kwargs, std::vector<int64_t> shape = {5, 4}) {
    config["name"] = "att";
    Json layer = {
        {"class_name", "MultiHeadAttention"},
        {"name", "att"},
        {"config", config},
        {"inbound_nodes", {{{"args", {KerasTensor("x"), KerasTensor("x")}}, {"kwargs", kwargs}}}}};
    StatusOr<keras::KerasModel> model =
        keras::ModelFromConfig(Functional({{"x", shape}}, {layer}), 1);
    if (!model.ok()) return model.status().ToString();
    StatusOr<ir::Graph> graph = keras::BuildGraph(*model);
    return graph.ok() ? std::string("ok") : graph.status().ToString();
  };
  const Json base = {{"num_heads", 2}, {"key_dim", 2}};
  EXPECT_EQ(build(base, Json::object()), "ok");
  EXPECT_EQ(build(base, {{"use_causal_mask", true}}), "ok");
  EXPECT_NE(build(base, {{"use_causal_mask", true}}, {3, 5, 4}).find("use_causal_mask=True on"),
            std::string::npos);
  EXPECT_NE(build(base, {{"return_attention_scores", true}}).find("return_attention_scores=True"),
            std::string::npos);
  EXPECT_EQ(build(base, {{"use_causal_mask", false}}), "ok");
  EXPECT_NE(build(base, {{"attention_mask", KerasTensor("x")}}).find("'attention_mask'"),
            std::string::npos);
  Json one_axis = base;
  one_axis["attention_axes"] = {2};
  EXPECT_NE(build(one_axis, Json::object(), {3, 5, 4}).find("attention_axes"), std::string::npos);
  Json bad = base;
  bad["num_heads"] = 0;
  EXPECT_NE(build(bad, Json::object()).find("num_heads"), std::string::npos);
}

// A ReLU after a Concatenate stays a separate op: TFLite 2.9's CONCATENATION refuses a fused
// activation (its options have the field), so fusing it made files the official runtime would not
// load.
TEST_F(KerasLayers, ActivationAfterConcatenateIsNotFused) {
  auto layer = [](const std::string& cls, const std::string& name, Json config,
                  std::vector<std::string> inputs) {
    config["name"] = name;
    Json node = Json::array();
    for (const std::string& i : inputs) node.push_back(Json::array({i, 0, 0, Json::object()}));
    return Json{{"class_name", cls},
                {"name", name},
                {"config", config},
                {"inbound_nodes", Json::array({node})}};
  };
  const Json config =
      Functional({{"x", {6}}}, {layer("Dense", "a", {{"units", 3}}, {"x"}),
                                layer("Dense", "b", {{"units", 4}}, {"x"}),
                                layer("Concatenate", "cat", Json::object(), {"a", "b"}),
                                layer("ReLU", "relu", Json::object(), {"cat"})});
  StatusOr<keras::KerasModel> model = keras::ModelFromConfig(config, 3);
  ASSERT_TRUE(model.ok()) << model.status().ToString();
  Randomize(&*model);
  const std::vector<double> x = RandomValues(6);
  const auto outs = RunBoth(*model, {x}, {{6}}, *dir_);
  ASSERT_EQ(outs.size(), 2u);  // the official runtime loads and runs the file
  ASSERT_EQ(outs[0].size(), 7u);
  int zeros = 0;
  for (size_t i = 0; i < 7; ++i) {
    EXPECT_GE(outs[0][i], 0.0);
    EXPECT_NEAR(outs[1][i], outs[0][i], 1e-6);
    zeros += outs[0][i] == 0.0;
  }
  EXPECT_GT(zeros, 0);  // the ReLU acted
}

// A Functional model with two inputs, two outputs, a shared layer and every merge layer.
// Keras operations: a Keras 3 functional model keeps `x + y`, `0.5 * x`, keras.ops.relu(x) ...
// as operation nodes (module keras.src.ops.*, the arguments as written); tf.keras keeps them as
// TFOpLambda layers (the first argument the node's tensor, or ["_CONSTANT_VALUE", -1, value],
// then "y"). Both forms of the same arithmetic, and every unary operation, against the
// reference in both runtimes; other operations are refused with their names.
TEST_F(KerasLayers, KerasOperations) {
  auto T = [](const std::string& name) { return KerasTensor(name); };
  auto op = [](const std::string& module, const std::string& cls, const std::string& name,
               Json args) {
    Json node = LayerNode(cls, name, Json::object(), std::move(args));
    node["module"] = "keras.src.ops." + module;
    node["registered_name"] = cls;
    return node;
  };
  const Json dense = {{"units", 6}};
  const std::vector<double> x = {-1.5, -0.4, 0.0, 0.3, 0.9, 2.2};
  // Converts `config` (random weights), runs it in both runtimes on x and compares with
  // want_of(d), d the output of its Dense "d" (`units` of them) on x by the reference.
  auto run_model =
      [&](const Json& config,
          const std::function<std::vector<double>(const std::vector<double>&)>& want_of,
          const char* what, int units = 6) {
        SCOPED_TRACE(what);
        StatusOr<keras::KerasModel> model = keras::ModelFromConfig(config, 51);
        ASSERT_TRUE(model.ok()) << model.status().ToString();
        Randomize(&*model);
        const auto outs = RunBoth(*model, {x}, {{6}}, *dir_);
        ASSERT_EQ(outs.size(), 2u);
        kref::Tensor d{{1, 6}, x};
        std::string error;
        ASSERT_TRUE(kref::Apply(*model, "Dense", "d", Json{{"units", units}}, &d, &error)) << error;
        const std::vector<double> want = want_of(d.v);
        ExpectClose(outs[0], want, (std::string(what) + ", TFLite").c_str());
        ExpectClose(outs[1], want, (std::string(what) + ", edgeopt").c_str());
      };
  // Elementwise: f(x[i], d[i]).
  auto run = [&](const Json& config, const std::function<double(double, double)>& f,
                 const char* what) {
    run_model(
        config,
        [&](const std::vector<double>& d) {
          std::vector<double> want;
          for (size_t i = 0; i < x.size(); ++i) want.push_back(f(x[i], d[i]));
          return want;
        },
        what);
  };
  // min(max((1 - 0.5 * (x + d)) / 4, x * d), 0.3) - d
  auto arithmetic = [](double xv, double dv) {
    return std::min(std::max((1.0 - 0.5 * (xv + dv)) / 4.0, xv * dv), 0.3) - dv;
  };
  const Json keras3 = Functional(
      {{"x", {6}}},
      {LayerNode("Dense", "d", dense, {T("x")}), op("numpy", "Add", "add", {T("x"), T("d")}),
       op("numpy", "Multiply", "multiply", {0.5, T("add")}),
       op("numpy", "Subtract", "subtract", {1, T("multiply")}),
       op("numpy", "TrueDivide", "true_divide", {T("subtract"), 4.0}),
       op("numpy", "Multiply", "multiply_1", {T("x"), T("d")}),
       op("numpy", "Maximum", "maximum", {T("true_divide"), T("multiply_1")}),
       op("numpy", "Minimum", "minimum", {T("maximum"), 0.3}),
       op("numpy", "Subtract", "out", {T("minimum"), T("d")})});
  run(keras3, arithmetic, "Keras 3 operations");
  // The same in tf.keras: TFOpLambda layers.
  auto lambda = [](const std::string& name, const std::string& function, Json first, Json y) {
    return Json{
        {"class_name", "TFOpLambda"},
        {"name", name},
        {"config", {{"name", name}, {"function", function}, {"dtype", "float32"}}},
        {"inbound_nodes", Json::array({Json::array({first.is_string() ? first : "_CONSTANT_VALUE",
                                                    first.is_string() ? 0 : -1,
                                                    first.is_string() ? Json(0) : first,
                                                    {{"y", y}, {"name", nullptr}}})})}};
  };
  auto ref = [](const std::string& layer) { return Json::array({layer, 0, 0}); };
  // A TFOpLambda of one tensor `in` and keyword arguments.
  auto tf_call = [](const std::string& name, const std::string& function, const std::string& in,
                    Json kwargs) {
    kwargs["name"] = nullptr;
    return Json{{"class_name", "TFOpLambda"},
                {"name", name},
                {"config", {{"name", name}, {"function", function}, {"dtype", "float32"}}},
                {"inbound_nodes", Json::array({Json::array({in, 0, 0, kwargs})})}};
  };
  Json tf = AsTfKeras(Functional({{"x", {6}}}, {LayerNode("Dense", "d", dense, {T("x")})}));
  for (const Json& l : {lambda("add", "__operators__.add", "x", ref("d")),
                        lambda("multiply", "math.multiply", 0.5, ref("add")),
                        lambda("subtract", "math.subtract", 1.0, ref("multiply")),
                        lambda("true_divide", "math.truediv", "subtract", 4.0),
                        lambda("multiply_1", "math.multiply", "x", ref("d")),
                        lambda("maximum", "math.maximum", "true_divide", ref("multiply_1")),
                        lambda("minimum", "math.minimum", "maximum", 0.3),
                        lambda("out", "math.subtract", "minimum", ref("d"))}) {
    tf["config"]["layers"].push_back(l);
  }
  tf["config"]["output_layers"] = Json::array({ref("out")});
  run(tf, arithmetic, "tf.keras TFOpLambda");

  // Every unary operation, summed: x' = x + d keeps exp, log, sqrt and rsqrt finite.
  struct Unary {
    const char* module;
    const char* cls;
    std::function<double(double)> f;
  };
  const std::vector<Unary> unary = {
      {"numpy", "Exp", [](double v) { return std::exp(v); }},
      {"numpy", "Absolute", [](double v) { return std::fabs(v); }},
      {"numpy", "Negative", [](double v) { return -v; }},
      {"numpy", "Square", [](double v) { return v * v; }},
      {"numpy", "Tanh", [](double v) { return std::tanh(v); }},
      {"nn", "Relu", [](double v) { return std::max(v, 0.0); }},
      {"nn", "Relu6", [](double v) { return std::min(std::max(4 * v, 0.0), 6.0); }},
      {"nn", "Sigmoid", [](double v) { return 1 / (1 + std::exp(-v)); }},
      {"nn", "Silu", [](double v) { return v / (1 + std::exp(-v)); }},
      {"nn", "Softplus", [](double v) { return std::log1p(std::exp(v)); }},
      {"numpy", "Log", [](double v) { return std::log(v * v + 1); }},
      {"numpy", "Sqrt", [](double v) { return std::sqrt(v * v + 1); }},
      {"math", "Rsqrt", [](double v) { return 1 / std::sqrt(v * v + 1); }}};
  std::vector<Json> layers = {
      LayerNode("Dense", "d", dense, {T("x")}), op("numpy", "Add", "v", {T("x"), T("d")}),
      op("numpy", "Multiply", "v4", {T("v"), 4}), op("numpy", "Square", "vv", {T("v")}),
      op("numpy", "Add", "vv1", {T("vv"), 1.0})};
  std::string sum;
  for (const Unary& u : unary) {
    const std::string cls = u.cls;
    const std::string in = cls == "Relu6"                                      ? "v4"
                           : (cls == "Log" || cls == "Sqrt" || cls == "Rsqrt") ? "vv1"
                                                                               : "v";
    const std::string name = "u_" + cls;
    layers.push_back(op(u.module, cls, name, {T(in)}));
    if (!sum.empty()) layers.push_back(op("numpy", "Add", "s_" + cls, {T(sum), T(name)}));
    sum = sum.empty() ? name : "s_" + cls;
  }
  run(
      Functional({{"x", {6}}}, layers),
      [&](double xv, double dv) {
        double total = 0;
        for (const Unary& u : unary) {
          total += u.f(xv + dv);
        }
        return total;
      },
      "Keras 3 unary operations");

  // Gelu (Keras 3's approximate=True default, and exact), powers (x ** 2, ** 0.5 and ** 3), a
  // cast to float32.
  {
    Json gelu_exact = op("nn", "Gelu", "ge", {T("v")});
    gelu_exact["config"]["approximate"] = false;
    const Json config = Functional(
        {{"x", {6}}},
        {LayerNode("Dense", "d", dense, {T("x")}), op("numpy", "Add", "v0", {T("x"), T("d")}),
         op("numpy", "Cast", "v", {T("v0")}), op("nn", "Gelu", "ga", {T("v")}), gelu_exact,
         op("numpy", "Power", "p2", {T("v"), 2}), op("numpy", "Square", "vv", {T("v")}),
         op("numpy", "Add", "vv1", {T("vv"), 1}), op("numpy", "Power", "ph", {T("vv1"), 0.5}),
         op("numpy", "Power", "p3", {T("vv1"), 3}), op("numpy", "Add", "s1", {T("ga"), T("ge")}),
         op("numpy", "Add", "s2", {T("s1"), T("p2")}), op("numpy", "Add", "s3", {T("s2"), T("ph")}),
         op("numpy", "Add", "out", {T("s3"), T("p3")})});
    Json cfg = config;
    for (Json& l : cfg["config"]["layers"]) {
      if (l["name"] == "v") l["config"]["dtype"] = "float32";
    }
    run(
        cfg,
        [](double xv, double dv) {
          const double v = xv + dv, w = v * v + 1;
          const double approx =
              0.5 * v * (1 + std::tanh(0.7978845608028654 * (v + 0.044715 * v * v * v)));
          const double exact = 0.5 * v * (1 + std::erf(v / std::sqrt(2.0)));
          return approx + exact + v * v + std::sqrt(w) + w * w * w;
        },
        "Keras 3 gelu, power, cast");
  }
  auto build = [](const Json& config) {
    StatusOr<keras::KerasModel> model = keras::ModelFromConfig(config, 1);
    return model.ok() ? keras::BuildGraph(*model).status() : model.status();
  };
  // Shape operations and reductions (their arguments in the config, as Keras 3 keeps them): d
  // [6] -> reshape [2, 3] -> transpose [3, 2] -> expand_dims / squeeze -> mean and min over the
  // last axis (keepdims) concatenated [3, 2] -> reshape [6], then max over the last axis [3] and
  // sum over axis 1 [2]: all concatenated [11].
  auto cop = [&](const std::string& cls, const std::string& name, Json args, Json config) {
    Json node = op("numpy", cls, name, std::move(args));
    for (const auto& item : config.items()) node["config"][item.key()] = item.value();
    return node;
  };
  {
    const Json config = Functional(
        {{"x", {6}}},
        {LayerNode("Dense", "d", dense, {T("x")}),
         cop("Reshape", "r", {T("d")}, {{"newshape", {-1, 2, 3}}}),
         cop("Transpose", "t", {T("r")}, {{"axes", {0, 2, 1}}}),
         cop("ExpandDims", "e", {T("t")}, {{"axis", 1}}),
         cop("Squeeze", "s", {T("e")}, {{"axis", 1}}),
         cop("Mean", "mean", {T("s")}, {{"axis", 2}, {"keepdims", true}}),
         cop("Min", "min", {T("s")}, {{"axis", -1}, {"keepdims", true}}),
         cop("Concatenate", "c", {Json::array({T("mean"), T("min")})}, {{"axis", -1}}),
         cop("Reshape", "c6", {T("c")}, {{"newshape", {nullptr, 6}}}),
         cop("Max", "max", {T("s")}, {{"axis", Json::array({2})}, {"keepdims", false}}),
         cop("Sum", "sum", {T("s")}, {{"axis", 1}, {"keepdims", false}}),
         cop("Concatenate", "out", {Json::array({T("c6"), T("max"), T("sum")})}, {{"axis", 1}})});
    run_model(
        config,
        [](const std::vector<double>& d) {
          // s[j][i] = d[i * 3 + j], j < 3, i < 2.
          auto sv = [&](int j, int i) { return d[i * 3 + j]; };
          std::vector<double> want;
          for (int j = 0; j < 3; ++j) {
            want.push_back((sv(j, 0) + sv(j, 1)) / 2);
            want.push_back(std::min(sv(j, 0), sv(j, 1)));
          }
          for (int j = 0; j < 3; ++j) want.push_back(std::max(sv(j, 0), sv(j, 1)));
          for (int i = 0; i < 2; ++i) want.push_back(sv(0, i) + sv(1, i) + sv(2, i));
          return want;
        },
        "Keras 3 shape operations");
  }
  {
    // tf.keras: tf.reshape(d, [-1, 2, 3]), tf.math.reduce_mean(axis=2), tf.expand_dims(-1).
    Json config = AsTfKeras(Functional({{"x", {6}}}, {LayerNode("Dense", "d", dense, {T("x")})}));
    for (const Json& l : {tf_call("r", "reshape", "d", {{"shape", {-1, 2, 3}}}),
                          tf_call("m", "math.reduce_mean", "r", {{"axis", 2}, {"keepdims", false}}),
                          tf_call("out", "expand_dims", "m", {{"axis", -1}})}) {
      config["config"]["layers"].push_back(l);
    }
    config["config"]["output_layers"] = Json::array({ref("out")});
    run_model(
        config,
        [](const std::vector<double>& d) {
          return std::vector<double>{(d[0] + d[1] + d[2]) / 3, (d[3] + d[4] + d[5]) / 3};
        },
        "tf.keras shape operations");
  }
  // Slicing, r = reshape(d, [2, 3]): r[:, 0], r[:, ::-1, 1:], r[..., -1], r[:, None, 1, :2].
  // Keras 3 keys: slices {"class_name": "__slice__"}, Ellipsis {"class_name": "__ellipsis__"},
  // None; tf.keras's SlicingOpLambda: {"start", "stop", "step"} in "slice_spec", joined by a
  // tf.concat TFOpLambda (a list of entries).
  auto slice = [](Json start, Json stop, Json step) {
    return Json{{"class_name", "__slice__"},
                {"config", {{"start", start}, {"stop", stop}, {"step", step}}}};
  };
  const Json all = slice(nullptr, nullptr, nullptr);
  const Json ellipsis = {{"class_name", "__ellipsis__"}, {"config", Json::object()}};
  // r[:, 0] = r(0, :); r[:, ::-1, 1:] = r(1, 1:), r(0, 1:); r[..., -1] = r(:, 2);
  // r[:, None, 1, :2] = r(1, :2).
  auto sliced_want = [](const std::vector<double>& d) {
    auto r = [&](int i, int j) { return d[i * 3 + j]; };
    return std::vector<double>{r(0, 0), r(0, 1), r(0, 2), r(1, 1), r(1, 2), r(0, 1),
                               r(0, 2), r(0, 2), r(1, 2), r(1, 0), r(1, 1)};
  };
  run_model(
      Functional(
          {{"x", {6}}},
          {LayerNode("Dense", "d", dense, {T("x")}),
           cop("Reshape", "r", {T("d")}, {{"newshape", {-1, 2, 3}}}),
           op("numpy", "GetItem", "g1", {T("r"), {all, 0}}),
           op("numpy", "GetItem", "g2",
              {T("r"), {all, slice(nullptr, nullptr, -1), slice(1, nullptr, nullptr)}}),
           cop("Reshape", "g2f", {T("g2")}, {{"newshape", {-1, 4}}}),
           op("numpy", "GetItem", "g3", {T("r"), {ellipsis, -1}}),
           op("numpy", "GetItem", "g4", {T("r"), {all, nullptr, 1, slice(nullptr, 2, nullptr)}}),
           cop("Reshape", "g4f", {T("g4")}, {{"newshape", {-1, 2}}}),
           cop("Concatenate", "out", {Json::array({T("g1"), T("g2f"), T("g3"), T("g4f")})},
               {{"axis", -1}})}),
      sliced_want, "Keras 3 slicing");
  {
    auto getitem = [&](const std::string& name, const std::string& in, Json spec) {
      return Json{
          {"class_name", "SlicingOpLambda"},
          {"name", name},
          {"config", {{"name", name}, {"function", "__operators__.getitem"}, {"dtype", "float32"}}},
          {"inbound_nodes", Json::array({Json::array({in, 0, 0, {{"slice_spec", spec}}})})}};
    };
    const Json tf_all = {{"start", nullptr}, {"stop", nullptr}, {"step", nullptr}};
    Json config = AsTfKeras(
        Functional({{"x", {6}}}, {LayerNode("Dense", "d", dense, {T("x")}),
                                  cop("Reshape", "r", {T("d")}, {{"newshape", {-1, 2, 3}}})}));
    config["config"]["layers"][2].erase("module");
    config["config"]["layers"][2]["class_name"] = "Reshape";  // the layer: [2, 3] per sample
    config["config"]["layers"][2]["config"] = {{"name", "r"}, {"target_shape", {2, 3}}};
    config["config"]["layers"].push_back(getitem("g1", "r", {tf_all, 0}));
    config["config"]["layers"].push_back(
        getitem("g3", "r", {{{"class_name", "__ellipsis__"}}, -1}));
    config["config"]["layers"].push_back(
        {{"class_name", "TFOpLambda"},
         {"name", "out"},
         {"config", {{"name", "out"}, {"function", "concat"}, {"dtype", "float32"}}},
         {"inbound_nodes",
          Json::array({Json::array({Json::array({"g1", 0, 0, {{"axis", -1}}}),
                                    Json::array({"g3", 0, 0, {{"axis", -1}}})})})}});
    config["config"]["output_layers"] = Json::array({ref("out")});
    run_model(
        config,
        [](const std::vector<double>& d) {
          return std::vector<double>{d[0], d[1], d[2], d[2], d[5]};
        },
        "tf.keras slicing and concat");
  }

  // r r^T with matmul, then softmax and log_softmax over its rows: Keras 3 (Matmul, Softmax,
  // LogSoftmax with their axis in the config) and tf.keras (linalg.matmul's "b", nn.softmax).
  auto gram_want = [](const std::vector<double>& d, bool with_log) {
    double g[2][2];
    for (int i = 0; i < 2; ++i) {
      for (int k = 0; k < 2; ++k) {
        g[i][k] = 0;
        for (int j = 0; j < 3; ++j) g[i][k] += d[i * 3 + j] * d[k * 3 + j];
      }
    }
    std::vector<double> want, logs;
    for (int i = 0; i < 2; ++i) {
      const double mx = std::max(g[i][0], g[i][1]);
      const double z = std::exp(g[i][0] - mx) + std::exp(g[i][1] - mx);
      for (int k = 0; k < 2; ++k) {
        want.push_back(std::exp(g[i][k] - mx) / z);
        logs.push_back(g[i][k] - mx - std::log(z));
      }
    }
    if (with_log) want.insert(want.end(), logs.begin(), logs.end());
    return want;
  };
  run_model(
      Functional({{"x", {6}}},
                 {LayerNode("Dense", "d", dense, {T("x")}),
                  cop("Reshape", "r", {T("d")}, {{"newshape", {-1, 2, 3}}}),
                  cop("Transpose", "rt", {T("r")}, {{"axes", {0, 2, 1}}}),
                  op("numpy", "Matmul", "g", {T("r"), T("rt")}),
                  Json(cop("Softmax", "p", {T("g")}, {{"axis", -1}})),
                  cop("LogSoftmax", "lp", {T("g")}, {{"axis", -1}}),
                  cop("Concatenate", "c", {Json::array({T("p"), T("lp")})}, {{"axis", -1}}),
                  cop("Reshape", "out", {T("c")}, {{"newshape", {-1, 8}}})}),
      [&](const std::vector<double>& d) {
        std::vector<double> w = gram_want(d, true), out;
        for (int i = 0; i < 2; ++i) {  // rows of [p | lp]
          for (int k = 0; k < 2; ++k) out.push_back(w[i * 2 + k]);
          for (int k = 0; k < 2; ++k) out.push_back(w[4 + i * 2 + k]);
        }
        return out;
      },
      "Keras 3 matmul and softmax");
  {
    Json config = AsTfKeras(
        Functional({{"x", {6}}}, {LayerNode("Dense", "d", dense, {T("x")}),
                                  LayerNode("Reshape", "r", {{"target_shape", {2, 3}}}, {T("d")}),
                                  LayerNode("Permute", "rt", {{"dims", {2, 1}}}, {T("r")})}));
    config["config"]["layers"].push_back(lambda("g", "linalg.matmul", "r", ref("rt")));
    config["config"]["layers"].back()["inbound_nodes"][0][3].erase("y");
    config["config"]["layers"].back()["inbound_nodes"][0][3]["b"] = ref("rt");
    Json sm = lambda("out", "nn.softmax", "g", 0);
    sm["inbound_nodes"][0][3] = {{"axis", -1}, {"name", nullptr}};
    config["config"]["layers"].push_back(sm);
    config["config"]["output_layers"] = Json::array({ref("out")});
    run_model(
        config, [&](const std::vector<double>& d) { return gram_want(d, false); },
        "tf.keras matmul and softmax");
  }

  // More activations and math as operations (their parameters in the config, as Keras 3 keeps
  // them; Clip's also positional), summed: v = x + d.
  {
    const double sixth = 1.0 / 6.0;
    struct More {
      Json node;
      std::function<double(double)> f;
    };
    std::vector<More> more = {
        {cop("LeakyRelu", "m_leaky", {T("v")}, {{"negative_slope", 0.1}}),
         [](double v) { return v > 0 ? v : 0.1 * v; }},
        {cop("Elu", "m_elu", {T("v")}, {{"alpha", 0.5}}),
         [](double v) { return v > 0 ? v : 0.5 * std::expm1(v); }},
        {op("nn", "Selu", "m_selu", {T("v")}),
         [](double v) {
           return 1.0507009873554805 * (v > 0 ? v : 1.6732632423543772 * std::expm1(v));
         }},
        {op("nn", "Softsign", "m_softsign", {T("v")}),
         [](double v) { return v / (std::fabs(v) + 1); }},
        {op("nn", "HardSigmoid", "m_hsig", {T("v")}),
         [&](double v) { return std::min(std::max(v + 3, 0.0), 6.0) * sixth; }},
        {op("nn", "HardSilu", "m_hsilu", {T("v")}),
         [&](double v) { return v * std::min(std::max(v + 3, 0.0), 6.0) * sixth; }},
        {op("nn", "LogSigmoid", "m_logsig", {T("v")}),
         [](double v) { return -std::log1p(std::exp(-v)); }},
        {cop("Clip", "m_clip", {T("v")}, {{"x_min", -0.5}, {"x_max", 1.0}}),
         [](double v) { return std::min(std::max(v, -0.5), 1.0); }},
        {op("numpy", "Clip", "m_clip6", {T("v4"), 0, 6}),
         [](double v) { return std::min(std::max(4 * v, 0.0), 6.0); }},
        {op("numpy", "Reciprocal", "m_recip", {T("vv1")}),
         [](double v) { return 1 / (v * v + 1); }},
        {op("numpy", "Log1p", "m_log1p", {T("vv")}), [](double v) { return std::log1p(v * v); }},
        {op("numpy", "Expm1", "m_expm1", {T("v")}), [](double v) { return std::expm1(v); }}};
    std::vector<Json> nodes = {
        LayerNode("Dense", "d", dense, {T("x")}), op("numpy", "Add", "v", {T("x"), T("d")}),
        op("numpy", "Multiply", "v4", {T("v"), 4}), op("numpy", "Square", "vv", {T("v")}),
        op("numpy", "Add", "vv1", {T("vv"), 1.0})};
    std::string total;
    for (const More& m : more) {
      nodes.push_back(m.node);
      const std::string name = m.node["name"];
      if (!total.empty()) nodes.push_back(op("numpy", "Add", "s" + name, {T(total), T(name)}));
      total = total.empty() ? name : "s" + name;
    }
    run(
        Functional({{"x", {6}}}, nodes),
        [&](double xv, double dv) {
          double sum = 0;
          for (const More& m : more) sum += m.f(xv + dv);
          return sum;
        },
        "Keras 3 activations, clip, reciprocal, log1p, expm1");
  }
  // Comparisons, logical operations, where and casts: x has a 0 at index 2.
  //   w1 = where((v > 0.5) & !(v <= d), v, -1); w2 = where(d >= 0, 2, d);
  //   c1 = float(x < 0); c2 = float((x == 0) | (d != d)); out = w1 + w2 + c1 + 3 c2.
  auto logic_want = [](double xv, double dv) {
    const double v = xv + dv;
    const double w1 = (v > 0.5 && !(v <= dv)) ? v : -1.0;
    const double w2 = dv >= 0 ? 2.0 : dv;
    return w1 + w2 + (xv < 0 ? 1.0 : 0.0) + 3.0 * (xv == 0 ? 1.0 : 0.0);
  };
  {
    auto cast = [&](const std::string& name, const std::string& in) {
      return cop("Cast", name, {T(in)}, {{"dtype", "float32"}});
    };
    run(Functional({{"x", {6}}}, {LayerNode("Dense", "d", dense, {T("x")}),
                                  op("numpy", "Add", "v", {T("x"), T("d")}),
                                  op("numpy", "Greater", "g", {T("v"), 0.5}),
                                  op("numpy", "LessEqual", "le", {T("v"), T("d")}),
                                  op("numpy", "LogicalNot", "nle", {T("le")}),
                                  op("numpy", "LogicalAnd", "a", {T("g"), T("nle")}),
                                  op("numpy", "Where", "w1", {T("a"), T("v"), -1}),
                                  op("numpy", "GreaterEqual", "ge", {T("d"), 0.0}),
                                  op("numpy", "Where", "w2", {T("ge"), 2.0, T("d")}),
                                  op("numpy", "Less", "lt", {T("x"), 0}), cast("c1", "lt"),
                                  op("numpy", "Equal", "eq", {T("x"), 0.0}),
                                  op("numpy", "NotEqual", "ne", {T("d"), T("d")}),
                                  op("numpy", "LogicalOr", "o", {T("eq"), T("ne")}),
                                  cast("c2", "o"), op("numpy", "Add", "s1", {T("w1"), T("w2")}),
                                  op("numpy", "Add", "s2", {T("s1"), T("c1")}),
                                  op("numpy", "Multiply", "c3", {T("c2"), 3}),
                                  op("numpy", "Add", "out", {T("s2"), T("c3")})}),
        logic_want, "Keras 3 comparisons, logical operations, where, casts");
    // tf.keras: math.greater etc., tf.where(c, x=tensor, y=number) and (x=number, y=tensor),
    // tf.cast.
    Json tf = AsTfKeras(Functional({{"x", {6}}}, {LayerNode("Dense", "d", dense, {T("x")})}));
    auto where = [&](const std::string& name, const std::string& cond, Json x, Json y) {
      return Json{
          {"class_name", "TFOpLambda"},
          {"name", name},
          {"config", {{"name", name}, {"function", "where"}, {"dtype", "float32"}}},
          {"inbound_nodes",
           Json::array({Json::array({cond, 0, 0, {{"x", x}, {"y", y}, {"name", nullptr}}})})}};
    };
    Json tcast = lambda("c1", "cast", "lt", 0);
    tcast["inbound_nodes"][0][3] = {{"dtype", "float32"}, {"name", nullptr}};
    Json tcast2 = lambda("c2", "cast", "o", 0);
    tcast2["inbound_nodes"][0][3] = {{"dtype", "float32"}, {"name", nullptr}};
    Json tnot = lambda("nle", "math.logical_not", "le", 0);
    tnot["inbound_nodes"][0][3] = {{"name", nullptr}};
    for (const Json& l :
         {lambda("v", "__operators__.add", "x", ref("d")), lambda("g", "math.greater", "v", 0.5),
          lambda("le", "math.less_equal", "v", ref("d")), tnot,
          lambda("a", "math.logical_and", "g", ref("nle")), where("w1", "a", ref("v"), -1.0),
          lambda("ge", "math.greater_equal", "d", 0.0), where("w2", "ge", 2.0, ref("d")),
          lambda("lt", "math.less", "x", 0.0), tcast, lambda("eq", "math.equal", "x", 0.0),
          lambda("ne", "math.not_equal", "d", ref("d")),
          lambda("o", "math.logical_or", "eq", ref("ne")), tcast2,
          lambda("s1", "__operators__.add", "w1", ref("w2")),
          lambda("s2", "__operators__.add", "s1", ref("c1")),
          lambda("c3", "math.multiply", "c2", 3.0),
          lambda("out", "__operators__.add", "s2", ref("c3"))}) {
      tf["config"]["layers"].push_back(l);
    }
    tf["config"]["output_layers"] = Json::array({ref("out")});
    run(tf, logic_want, "tf.keras comparisons, logical operations, where, casts");
  }
  // Stack, unstack, split, einsum, a matmul with a constant matrix, constant arrays; r =
  // reshape(d, [2, 3]):
  //   st = stack([d, x], axis=2) [6, 2]; u0, u1 = unstack(r, axis=1); p0, p1, p2 =
  //   split(d, [1, 4], axis=1); q0, q1, q2 = split(d, 3, axis=-1); mm = d @ C (C [6, 2]);
  //   ad = d + [1 .. 6] (a __numpy__ array); e1 = einsum("bij,bkj->bik", r, r) (a Gram
  //   matrix), e2 = einsum("bij,bi->bj", r, q1), e3 = einsum("bij->bj", r); all flattened.
  {
    auto Tk = [](const std::string& name, int k) {
      Json t = KerasTensor(name);
      t["config"]["keras_history"][2] = k;
      return t;
    };
    std::vector<double> c(12);
    Json cjson = Json::array();
    for (int i = 0; i < 6; ++i) {
      Json row = Json::array();
      for (int j = 0; j < 2; ++j) {
        c[i * 2 + j] = 0.25 * (i + 1) - 0.5 * j;
        row.push_back(c[i * 2 + j]);
      }
      cjson.push_back(row);
    }
    const Json numpy = {{"class_name", "__numpy__"},
                        {"config", {{"value", {1, 2, 3, 4, 5, 6}}, {"dtype", "float32"}}}};
    auto flat = [&](const std::string& name, const std::string& in, int n) {
      return cop("Reshape", name, {T(in)}, {{"newshape", {-1, n}}});
    };
    const Json config = Functional(
        {{"x", {6}}},
        {LayerNode("Dense", "d", dense, {T("x")}),
         cop("Reshape", "r", {T("d")}, {{"newshape", {-1, 2, 3}}}),
         cop("Stack", "st", {Json::array({T("d"), T("x")})}, {{"axis", 2}}), flat("stf", "st", 12),
         cop("Unstack", "u", {T("r")}, {{"axis", 1}, {"num", 2}}),
         cop("Split", "p", {T("d")}, {{"indices_or_sections", {1, 4}}, {"axis", 1}}),
         cop("Split", "q", {T("d")}, {{"indices_or_sections", 3}, {"axis", -1}}),
         op("numpy", "Matmul", "mm", {T("d"), cjson}), op("numpy", "Add", "ad", {T("d"), numpy}),
         cop("Einsum", "e1", {T("r"), T("r")}, {{"subscripts", "bij,bkj->bik"}}),
         flat("e1f", "e1", 4),
         cop("Einsum", "e2", {T("r"), Tk("q", 1)}, {{"subscripts", "bij,bi->bj"}}),
         cop("Einsum", "e3", {T("r")}, {{"subscripts", "bij->bj"}}),
         cop("Einsum", "e4", {T("r"), T("r")}, {{"subscripts", "...ij,...kj->...ik"}}),
         flat("e4f", "e4", 4),
         cop("Concatenate", "out",
             {Json::array({T("stf"), T("u"), Tk("u", 1), Tk("p", 1), Tk("p", 2), T("p"), Tk("q", 2),
                           T("mm"), T("ad"), T("e1f"), T("e2"), T("e3"), T("e4f")})},
             {{"axis", -1}})});
    run_model(
        config,
        [&](const std::vector<double>& d) {
          std::vector<double> want;
          for (int i = 0; i < 6; ++i) want.push_back(d[i]), want.push_back(x[i]);
          for (int i = 0; i < 6; ++i) want.push_back(d[i]);             // u0, u1
          for (int i : {1, 2, 3, 4, 5, 0, 4, 5}) want.push_back(d[i]);  // p1, p2, p0, q2
          for (int j = 0; j < 2; ++j) {
            double sum = 0;
            for (int i = 0; i < 6; ++i) sum += d[i] * c[i * 2 + j];
            want.push_back(sum);
          }
          for (int i = 0; i < 6; ++i) want.push_back(d[i] + i + 1);
          for (int i = 0; i < 2; ++i) {
            for (int k = 0; k < 2; ++k) {
              double sum = 0;
              for (int j = 0; j < 3; ++j) sum += d[i * 3 + j] * d[k * 3 + j];
              want.push_back(sum);
            }
          }
          for (int j = 0; j < 3; ++j) want.push_back(d[j] * d[2] + d[3 + j] * d[3]);
          for (int j = 0; j < 3; ++j) want.push_back(d[j] + d[3 + j]);
          for (int i = 0; i < 2; ++i) {  // e4: e1 with an ellipsis for the batch
            for (int k = 0; k < 2; ++k) {
              double sum = 0;
              for (int j = 0; j < 3; ++j) sum += d[i * 3 + j] * d[k * 3 + j];
              want.push_back(sum);
            }
          }
          return want;
        },
        "Keras 3 stack, unstack, split, einsum, constants");
    // tf.keras: tf.stack of a list, tf.split with sizes (one -1), tf.linalg.matmul with a
    // constant "b" (a plain list, as tf.keras saves arrays).
    Json tf = AsTfKeras(Functional({{"x", {6}}}, {LayerNode("Dense", "d", dense, {T("x")})}));
    auto call = [&](const std::string& name, const std::string& function, Json entries) {
      return Json{{"class_name", "TFOpLambda"},
                  {"name", name},
                  {"config", {{"name", name}, {"function", function}, {"dtype", "float32"}}},
                  {"inbound_nodes", Json::array({entries})}};
    };
    tf["config"]["layers"].push_back(call("st", "stack",
                                          Json::array({Json::array({"d", 0, 0, {{"axis", 1}}}),
                                                       Json::array({"x", 0, 0, {{"axis", 1}}})})));
    tf["config"]["layers"].push_back(call(
        "sp", "split", Json::array({"d", 0, 0, {{"num_or_size_splits", {2, -1}}, {"axis", 1}}})));
    tf["config"]["layers"].push_back(
        call("mm", "linalg.matmul", Json::array({"d", 0, 0, {{"b", cjson}, {"name", nullptr}}})));
    tf["config"]["layers"].push_back(
        Json{{"class_name", "Reshape"},
             {"name", "stf"},
             {"config", {{"name", "stf"}, {"target_shape", {12}}}},
             {"inbound_nodes",
              Json::array({Json::array({Json::array({"st", 0, 0, Json::object()})})})}});
    tf["config"]["layers"].push_back(
        call("out", "concat",
             Json::array({Json::array({"stf", 0, 0, {{"axis", -1}}}),
                          Json::array({"sp", 0, 1, {{"axis", -1}}}),
                          Json::array({"sp", 0, 0, {{"axis", -1}}}),
                          Json::array({"mm", 0, 0, {{"axis", -1}}})})));
    tf["config"]["output_layers"] = Json::array({ref("out")});
    run_model(
        tf,
        [&](const std::vector<double>& d) {
          std::vector<double> want;
          for (int i = 0; i < 6; ++i) want.push_back(d[i]);  // stack on axis 1: [2, 6]
          for (int i = 0; i < 6; ++i) want.push_back(x[i]);
          for (int i : {2, 3, 4, 5, 0, 1}) want.push_back(d[i]);
          for (int j = 0; j < 2; ++j) {
            double sum = 0;
            for (int i = 0; i < 6; ++i) sum += d[i] * c[i * 2 + j];
            want.push_back(sum);
          }
          return want;
        },
        "tf.keras stack, split, matmul with a constant");
  }
  // sin, cos, floor, ceil, round (half to even) of v = x + d, tile and repeat of r =
  // reshape(d, [2, 3]): [sin + cos, floor + ceil + round] per element, then tile(r, [1, 2])
  // ([2, 6], numpy's ones in front) and repeat(r, 2, axis=2) ([2, 6]).
  {
    const Json config = Functional(
        {{"x", {6}}},
        {LayerNode("Dense", "d", dense, {T("x")}), op("numpy", "Add", "v", {T("x"), T("d")}),
         op("numpy", "Sin", "sin", {T("v")}), op("numpy", "Cos", "cos", {T("v")}),
         op("numpy", "Add", "trig", {T("sin"), T("cos")}), op("numpy", "Floor", "fl", {T("v")}),
         op("numpy", "Ceil", "ce", {T("v")}), cop("Round", "ro", {T("v")}, {{"decimals", 0}}),
         op("numpy", "Add", "fc", {T("fl"), T("ce")}),
         op("numpy", "Add", "steps", {T("fc"), T("ro")}),
         cop("Reshape", "r", {T("d")}, {{"newshape", {-1, 2, 3}}}),
         cop("Tile", "ti", {T("r")}, {{"repeats", {1, 2}}}),
         cop("Repeat", "re", {T("r")}, {{"repeats", 2}, {"axis", 2}}),
         cop("Reshape", "tif", {T("ti")}, {{"newshape", {-1, 12}}}),
         cop("Reshape", "ref", {T("re")}, {{"newshape", {-1, 12}}}),
         cop("Concatenate", "out", {Json::array({T("trig"), T("steps"), T("tif"), T("ref")})},
             {{"axis", -1}})});
    run_model(
        config,
        [&](const std::vector<double>& d) {
          std::vector<double> want;
          for (int i = 0; i < 6; ++i) want.push_back(std::sin(x[i] + d[i]) + std::cos(x[i] + d[i]));
          for (int i = 0; i < 6; ++i) {
            const double v = static_cast<float>(x[i] + d[i]);
            want.push_back(std::floor(v) + std::ceil(v) + std::nearbyint(v));
          }
          for (int i = 0; i < 2; ++i) {
            for (int j = 0; j < 6; ++j) want.push_back(d[i * 3 + j % 3]);
          }
          for (int i = 0; i < 2; ++i) {
            for (int j = 0; j < 6; ++j) want.push_back(d[i * 3 + j / 2]);
          }
          return want;
        },
        "Keras 3 sin, cos, floor, ceil, round, tile, repeat");
  }
  // argmax / argmin (int32 indices), one_hot (of indices, and of floats cast toward zero),
  // comparisons and casts of indices, sign, cumsum along the last axis and along a middle one
  // (forward, and tf's exclusive / reverse) of d and r = reshape(d, [2, 3]).
  {
    auto oh = [&](const std::string& name, Json args, int classes) {
      Json node = op("nn", "OneHot", name, std::move(args));
      node["config"]["num_classes"] = classes;
      return node;
    };
    const Json config = Functional(
        {{"x", {6}}},
        {LayerNode("Dense", "d", dense, {T("x")}),
         cop("Reshape", "r", {T("d")}, {{"newshape", {-1, 2, 3}}}),
         cop("Argmax", "am", {T("r")}, {{"axis", 2}}),
         cop("Argmin", "an", {T("r")}, {{"axis", 1}, {"keepdims", true}}), oh("oh", {T("am")}, 3),
         cop("Reshape", "ohf", {T("oh")}, {{"newshape", {-1, 6}}}),
         op("numpy", "Multiply", "x3", {T("x"), 3.0}), oh("oh2", {T("x3")}, 4),
         cop("Reshape", "oh2f", {T("oh2")}, {{"newshape", {-1, 24}}}),
         op("numpy", "Equal", "is1", {T("am"), 1}),
         cop("Cast", "is1f", {T("is1")}, {{"dtype", "float32"}}),
         cop("Cast", "amf", {T("am")}, {{"dtype", "float32"}}),
         cop("Cast", "anf", {T("an")}, {{"dtype", "float32"}}),
         cop("Reshape", "anff", {T("anf")}, {{"newshape", {-1, 3}}}),
         op("numpy", "Sign", "sg", {T("d")}), cop("Cumsum", "cs", {T("d")}, {{"axis", 1}}),
         cop("Cumsum", "cs2", {T("r")}, {{"axis", 1}}),
         cop("Reshape", "cs2f", {T("cs2")}, {{"newshape", {-1, 6}}}),
         cop("Concatenate", "out",
             {Json::array({T("ohf"), T("oh2f"), T("is1f"), T("amf"), T("anff"), T("sg"), T("cs"),
                           T("cs2f")})},
             {{"axis", -1}})});
    run_model(
        config,
        [&](const std::vector<double>& d) {
          std::vector<double> want;
          int am[2];
          for (int i = 0; i < 2; ++i) {
            am[i] = static_cast<int>(std::max_element(d.begin() + 3 * i, d.begin() + 3 * i + 3) -
                                     (d.begin() + 3 * i));
          }
          for (int i = 0; i < 2; ++i) {
            for (int c = 0; c < 3; ++c) want.push_back(c == am[i]);
          }
          for (int i = 0; i < 6; ++i) {
            const int idx = static_cast<int>(static_cast<float>(x[i]) * 3.0f);  // toward zero
            for (int c = 0; c < 4; ++c) want.push_back(c == idx);
          }
          for (int i = 0; i < 2; ++i) want.push_back(am[i] == 1);
          for (int i = 0; i < 2; ++i) want.push_back(am[i]);
          for (int c = 0; c < 3; ++c) want.push_back(d[c] <= d[3 + c] ? 0 : 1);
          for (int i = 0; i < 6; ++i) want.push_back(d[i] > 0 ? 1 : d[i] < 0 ? -1 : 0);
          double sum = 0;
          for (int i = 0; i < 6; ++i) want.push_back(sum += d[i]);
          for (int i = 0; i < 6; ++i) want.push_back(d[i] + (i >= 3 ? d[i - 3] : 0.0));
          return want;
        },
        "Keras 3 argmax, argmin, one_hot, sign, cumsum");
    // tf.keras: tf.math.cumsum(exclusive, reverse), tf.math.argmax (int64) compared with 2,
    // tf.math.sign: sign(d) + (argmax(d) == 2) + cumsum.
    Json tf = AsTfKeras(Functional({{"x", {6}}}, {LayerNode("Dense", "d", dense, {T("x")})}));
    for (const Json& l :
         {tf_call("cx", "math.cumsum", "d", {{"axis", -1}, {"exclusive", true}, {"reverse", true}}),
          tf_call("am", "math.argmax", "d", {{"axis", 1}}),
          tf_call("is2", "math.equal", "am", {{"y", 2}}),
          tf_call("is2f", "cast", "is2", {{"dtype", "float32"}}),
          tf_call("sg", "math.sign", "d", Json::object()),
          lambda("s", "math.add", "sg", ref("is2f")), lambda("out", "math.add", "s", ref("cx"))}) {
      tf["config"]["layers"].push_back(l);
    }
    tf["config"]["output_layers"] = Json::array({ref("out")});
    run_model(
        tf,
        [&](const std::vector<double>& d) {
          const int am = static_cast<int>(std::max_element(d.begin(), d.end()) - d.begin());
          std::vector<double> want;
          for (int i = 0; i < 6; ++i) {
            double after = 0;
            for (int j = i + 1; j < 6; ++j) after += d[j];
            want.push_back((d[i] > 0 ? 1 : d[i] < 0 ? -1 : 0) + (am == 2) + after);
          }
          return want;
        },
        "tf.keras cumsum (exclusive, reverse), argmax, sign");
  }
  // tf.nn.depth_to_space (a sub-pixel convolution's shuffle) of r = reshape(d, [1, 2, 4]) with
  // block 2 -> [2, 4, 1], plus space_to_depth of that (r again).
  {
    Json tf = AsTfKeras(
        Functional({{"x", {6}}}, {LayerNode("Dense", "d", Json{{"units", 8}}, {T("x")})}));
    for (const Json& l : {tf_call("r", "reshape", "d", {{"shape", {-1, 1, 2, 4}}}),
                          tf_call("ds", "nn.depth_to_space", "r", {{"block_size", 2}}),
                          tf_call("dsf", "reshape", "ds", {{"shape", {-1, 8}}}),
                          tf_call("sd", "nn.space_to_depth", "ds", {{"block_size", 2}}),
                          tf_call("sdf", "reshape", "sd", {{"shape", {-1, 8}}}),
                          lambda("out", "math.add", "dsf", ref("sdf"))}) {
      tf["config"]["layers"].push_back(l);
    }
    tf["config"]["output_layers"] = Json::array({ref("out")});
    run_model(
        tf,
        [](const std::vector<double>& d) {
          std::vector<double> want(8);
          for (int i = 0; i < 2; ++i) {      // output row
            for (int w = 0; w < 2; ++w) {    // input column
              for (int j = 0; j < 2; ++j) {  // column within the block
                want[i * 4 + w * 2 + j] = d[w * 4 + i * 2 + j] + d[i * 4 + w * 2 + j];
              }
            }
          }
          return want;
        },
        "tf.nn.depth_to_space, space_to_depth", 8);
  }
  // A constant on the left of a matmul: C [4, 2] @ r, r = reshape(d, [2, 3]) -> [4, 3]; tf's
  // linalg.matmul(C, b=r) too.
  {
    const std::vector<double> cv = {0.5, -1.0, 2.0, 0.25, -0.75, 1.5, 1.0, 1.0};
    Json cjson = Json::array();
    for (int m = 0; m < 4; ++m) cjson.push_back({cv[m * 2], cv[m * 2 + 1]});
    auto want_of = [&](const std::vector<double>& d) {
      std::vector<double> want;
      for (int m = 0; m < 4; ++m) {
        for (int n = 0; n < 3; ++n) want.push_back(cv[m * 2] * d[n] + cv[m * 2 + 1] * d[3 + n]);
      }
      return want;
    };
    const Json config =
        Functional({{"x", {6}}}, {LayerNode("Dense", "d", dense, {T("x")}),
                                  cop("Reshape", "r", {T("d")}, {{"newshape", {-1, 2, 3}}}),
                                  op("numpy", "Matmul", "cm", {cjson, T("r")}),
                                  cop("Reshape", "out", {T("cm")}, {{"newshape", {-1, 12}}})});
    run_model(config, want_of, "Keras 3 constant @ tensor");
    Json tf = AsTfKeras(Functional({{"x", {6}}}, {LayerNode("Dense", "d", dense, {T("x")})}));
    tf["config"]["layers"].push_back(Json{
        {"class_name", "Reshape"},
        {"name", "r"},
        {"config", {{"name", "r"}, {"target_shape", {2, 3}}}},
        {"inbound_nodes", Json::array({Json::array({Json::array({"d", 0, 0, Json::object()})})})}});
    tf["config"]["layers"].push_back(lambda("cm", "linalg.matmul", cjson, ref("r")));
    tf["config"]["layers"].back()["inbound_nodes"][0][3] = {{"b", ref("r")}, {"name", nullptr}};
    tf["config"]["layers"].push_back(
        Json{{"class_name", "Reshape"},
             {"name", "out"},
             {"config", {{"name", "out"}, {"target_shape", {12}}}},
             {"inbound_nodes",
              Json::array({Json::array({Json::array({"cm", 0, 0, Json::object()})})})}});
    tf["config"]["output_layers"] = Json::array({ref("out")});
    run_model(tf, want_of, "tf.keras linalg.matmul(constant, b=tensor)");
  }
  // Refused: einsum over the batch (its index not first), stack and split on the batch axis, a
  // constant that would broadcast over the batch, where of one argument.
  for (const Json& bad :
       {cop("Einsum", "m", {T("x"), T("x")}, {{"subscripts", "bi,bi->i"}}),
        cop("Einsum", "m", {T("x"), T("x")}, {{"subscripts", "...i,bi->...i"}}),
        cop("Stack", "m", {Json::array({T("x"), T("x")})}, {{"axis", 0}}),
        cop("Split", "m", {T("x")}, {{"indices_or_sections", 2}, {"axis", 0}}),
        op("numpy", "Add", "m",
           {T("x"),
            Json::array({Json::array({1, 2, 3, 4, 5, 6}), Json::array({1, 2, 3, 4, 5, 6})})}),
        op("numpy", "Where", "m", {T("x")}), cop("Tile", "m", {T("x")}, {{"repeats", {2, 1}}}),
        cop("Round", "m", {T("x")}, {{"decimals", 2}}),
        // Not a crash on a class_name that is not a string (a JSON type error before).
        op("numpy", "GetItem", "m", {T("x"), Json::array({{{"class_name", 5}}})}),
        op("numpy", "Add", "m", {T("x"), {{"class_name", 5}, {"config", {{"value", 1}}}}})}) {
    Status s = build(Functional({{"x", {6}}}, {bad}));
    EXPECT_NE(s.code(), StatusCode::kOk) << bad.dump();
    EXPECT_NE(s.message().find("'m'"), std::string::npos) << s.ToString();
  }

  // The batch axis stays first: a mean over every axis and a transpose moving it are refused.
  for (const Json& bad : {cop("Mean", "m", {T("x")}, {{"axis", nullptr}}),
                          cop("Transpose", "m", {T("x")}, {{"axes", {1, 0}}}),
                          cop("Reshape", "m", {T("x")}, {{"newshape", {2, 3}}}),
                          op("numpy", "GetItem", "m", {T("x"), 0})}) {
    Status s = build(Functional({{"x", {6}}}, {bad}));
    EXPECT_EQ(s.code(), StatusCode::kUnsupported) << s.ToString();
  }

  // Refused with the operation's name; a Keras 3 operation ends a mask (it takes none).
  Status cumprod = build(Functional({{"x", {6}}}, {op("numpy", "Cumprod", "cp", {T("x")})}));
  EXPECT_EQ(cumprod.code(), StatusCode::kUnsupported);
  EXPECT_NE(cumprod.message().find("'Cumprod'"), std::string::npos) << cumprod.ToString();
  Status matmul = build(Functional({{"x", {6}}}, {op("numpy", "Matmul", "mm", {T("x"), T("x")})}));
  EXPECT_EQ(matmul.code(), StatusCode::kUnsupported);
  EXPECT_NE(matmul.message().find("multiplies [1,6] by [1,6]"), std::string::npos)
      << matmul.ToString();
  Json prod = AsTfKeras(Functional({{"x", {6}}}, {LayerNode("Dense", "d", dense, {T("x")})}));
  prod["config"]["layers"].push_back(lambda("m", "math.reduce_prod", "d", 1));
  prod["config"]["output_layers"] = Json::array({ref("m")});
  Status refused = build(prod);
  EXPECT_EQ(refused.code(), StatusCode::kUnsupported);
  EXPECT_NE(refused.message().find("'math.reduce_prod'"), std::string::npos) << refused.ToString();
  EXPECT_TRUE(
      build(Functional({{"ids", {6}}}, {EmbeddingNode("emb", "ids"),
                                        op("numpy", "Multiply", "twice", {T("emb"), 2.0}),
                                        LayerNode("Softmax", "sm", Json::object(), {T("twice")})}))
          .ok());
}

TEST_F(KerasLayers, FunctionalMergesSharedLayerMultipleOutputs) {
  auto node = [](std::vector<std::string> inputs) {
    Json n = Json::array();
    for (const std::string& i : inputs) n.push_back(Json::array({i, 0, 0, Json::object()}));
    return Json::array({n});
  };
  auto layer = [&](const std::string& cls, const std::string& name, Json config,
                   std::vector<std::string> inputs) {
    config["name"] = name;
    Json l = {{"class_name", cls}, {"config", config}, {"name", name}};
    l["inbound_nodes"] = inputs.empty() ? Json::array() : node(inputs);
    return l;
  };
  Json layers = Json::array();
  layers.push_back(layer("InputLayer", "a", {{"batch_input_shape", {nullptr, 4}}}, {}));
  layers.push_back(layer("InputLayer", "b", {{"batch_input_shape", {nullptr, 4}}}, {}));
  // "shared" is called on a and on b: two inbound nodes, one set of weights.
  Json shared = layer("Dense", "shared", {{"units", 3}}, {"a"});
  shared["inbound_nodes"].push_back(node({"b"})[0]);
  layers.push_back(shared);
  const char* merges[] = {"Add", "Subtract", "Multiply", "Average", "Maximum", "Minimum"};
  Json merge_refs = Json::array();
  for (const char* m : merges) {
    Json l = layer(m, std::string("m_") + m, Json::object(), {"shared", "shared"});
    l["inbound_nodes"][0][1][1] = 1;  // (shared call 0, shared call 1)
    layers.push_back(l);
  }
  Json concat = layer("Concatenate", "concat", {{"axis", -1}}, {});
  Json concat_node = Json::array();
  for (const char* m : merges) concat_node.push_back({std::string("m_") + m, 0, 0, {}});
  concat["inbound_nodes"] = Json::array({concat_node});
  layers.push_back(concat);
  layers.push_back(layer("Dense", "head", {{"units", 2}, {"activation", "softmax"}}, {"concat"}));
  Json config = {{"class_name", "Functional"},
                 {"config",
                  {{"name", "multi"},
                   {"layers", layers},
                   {"input_layers", {{"a", 0, 0}, {"b", 0, 0}}},
                   {"output_layers", {{"head", 0, 0}, {"m_Add", 0, 0}}}}}};

  StatusOr<keras::KerasModel> model = keras::ModelFromConfig(config, 3);
  ASSERT_TRUE(model.ok()) << model.status().ToString();
  Randomize(&*model);
  StatusOr<ir::Graph> graph = keras::BuildGraph(*model);
  ASSERT_TRUE(graph.ok()) << graph.status().ToString();
  EXPECT_EQ(graph->input_names, std::vector<std::string>({"a", "b"}));
  EXPECT_EQ(graph->output_names, std::vector<std::string>({"head", "m_Add"}));
  // The shared layer's weights exist once.
  int kernels = 0;
  for (const ir::Tensor& t : graph->tensors) kernels += t.origin == "shared/kernel" ? 1 : 0;
  EXPECT_EQ(kernels, 1);
  ASSERT_TRUE(passes::PrepareForExport(&*graph).ok());
  const std::string path = *dir_ + "/multi.tflite";
  ASSERT_TRUE(WriteTfliteFile(*graph, path).ok());

  // Reference.
  std::vector<double> xa(4), xb(4);
  for (double& v : xa) v = Uniform(-1, 1);
  for (double& v : xb) v = Uniform(-1, 1);
  for (int i = 0; i < 2; ++i) {
    NpyArray in;
    in.dtype = DType::kFloat32;
    in.shape = {1, 4};
    in.data.resize(16);
    for (int k = 0; k < 4; ++k) in.Data<float>()[k] = static_cast<float>((i == 0 ? xa : xb)[k]);
    ASSERT_TRUE(WriteNpy(*dir_ + "/in" + std::to_string(i) + ".npy", in).ok());
  }
  std::string log;
  ASSERT_EQ(RunCommand(TfliteRefPath() + " run '" + path + "' -i '" + *dir_ + "/in0.npy' -i '" +
                           *dir_ + "/in1.npy' -o '" + *dir_ + "/mo'",
                       &log),
            0)
      << log;
  auto dense = [&](const std::string& name, const std::vector<double>& x, size_t units) {
    const std::vector<double> k = kref::Weight(*model, name, "kernel");
    const std::vector<double> b = kref::Weight(*model, name, "bias");
    std::vector<double> y(units);
    for (size_t u = 0; u < units; ++u) {
      y[u] = b[u];
      for (size_t i = 0; i < x.size(); ++i) y[u] += x[i] * k[i * units + u];
    }
    return y;
  };
  const std::vector<double> p = dense("shared", xa, 3), q = dense("shared", xb, 3);
  std::vector<double> cat;
  for (int m = 0; m < 6; ++m) {
    for (int i = 0; i < 3; ++i) {
      const double r[] = {p[i] + q[i],       p[i] - q[i],          p[i] * q[i],
                          (p[i] + q[i]) / 2, std::max(p[i], q[i]), std::min(p[i], q[i])};
      cat.push_back(r[m]);
    }
  }
  // concat is [Add(3), Subtract(3), ...], interleaved per merge.
  std::vector<double> ordered;
  for (int m = 0; m < 6; ++m)
    for (int i = 0; i < 3; ++i) ordered.push_back(cat[m * 3 + i]);
  kref::Tensor head{{1, 2}, dense("head", ordered, 2)};
  kref::Activate("softmax", &head);
  StatusOr<NpyArray> out0 = ReadNpy(*dir_ + "/mo/output_0.npy");
  StatusOr<NpyArray> out1 = ReadNpy(*dir_ + "/mo/output_1.npy");
  ASSERT_TRUE(out0.ok() && out1.ok());
  ASSERT_EQ(out0->NumElements(), 2);
  ASSERT_EQ(out1->NumElements(), 3);
  for (int i = 0; i < 2; ++i) EXPECT_NEAR(out0->Data<float>()[i], head.v[i], kAtol);
  for (int i = 0; i < 3; ++i) EXPECT_NEAR(out1->Data<float>()[i], p[i] + q[i], kAtol);
}

}  // namespace
}  // namespace testing
}  // namespace edgeopt
