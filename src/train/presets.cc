#include "src/train/presets.h"

#include <cmath>

#include "src/train/rng.h"

namespace edgeopt {
namespace train {
namespace {

nlohmann::json GlorotInit() {
  return {{"class_name", "GlorotUniform"}, {"config", {{"seed", nullptr}}}};
}
nlohmann::json ZerosInit() {
  return {{"class_name", "Zeros"}, {"config", nlohmann::json::object()}};
}

nlohmann::json Conv(const std::string& name, int filters) {
  return {{"class_name", "Conv2D"},
          {"config",
           {{"name", name},
            {"trainable", true},
            {"dtype", "float32"},
            {"filters", filters},
            {"kernel_size", {3, 3}},
            {"strides", {1, 1}},
            {"padding", "valid"},
            {"data_format", "channels_last"},
            {"dilation_rate", {1, 1}},
            {"groups", 1},
            {"activation", "relu"},
            {"use_bias", true},
            {"kernel_initializer", GlorotInit()},
            {"bias_initializer", ZerosInit()},
            {"kernel_regularizer", nullptr},
            {"bias_regularizer", nullptr},
            {"activity_regularizer", nullptr},
            {"kernel_constraint", nullptr},
            {"bias_constraint", nullptr}}}};
}

nlohmann::json Pool(const std::string& name) {
  return {{"class_name", "MaxPooling2D"},
          {"config",
           {{"name", name},
            {"trainable", true},
            {"dtype", "float32"},
            {"pool_size", {2, 2}},
            {"strides", {2, 2}},
            {"padding", "valid"},
            {"data_format", "channels_last"}}}};
}

nlohmann::json Dense(const std::string& name, int units, const std::string& activation) {
  return {{"class_name", "Dense"},
          {"config",
           {{"name", name},
            {"trainable", true},
            {"dtype", "float32"},
            {"units", units},
            {"activation", activation},
            {"use_bias", true},
            {"kernel_initializer", GlorotInit()},
            {"bias_initializer", ZerosInit()},
            {"kernel_regularizer", nullptr},
            {"bias_regularizer", nullptr},
            {"activity_regularizer", nullptr},
            {"kernel_constraint", nullptr},
            {"bias_constraint", nullptr}}}};
}

int AddWeight(ir::Graph* g, const std::string& origin, const std::vector<int32_t>& shape,
              std::vector<float> values) {
  const int id = g->AddFloatConstant(origin, shape, values);
  g->tensors[id].origin = origin;
  return id;
}

}  // namespace

std::vector<std::string> PresetNames() { return {"fmnist-cnn"}; }

std::vector<float> GlorotUniform(int64_t count, int64_t fan_in, int64_t fan_out, uint64_t seed) {
  const double limit = std::sqrt(6.0 / static_cast<double>(fan_in + fan_out));
  SplitMix64 rng(seed);
  std::vector<float> v(count);
  for (float& x : v) x = static_cast<float>((rng.NextDouble() * 2.0 - 1.0) * limit);
  return v;
}

StatusOr<nlohmann::json> PresetKerasConfig(const std::string& name) {
  if (name != "fmnist-cnn") {
    return MakeStatus(StatusCode::kNotFound, "unknown preset '%s' (available: fmnist-cnn)",
                      name.c_str());
  }
  nlohmann::json input = {{"class_name", "InputLayer"},
                          {"config",
                           {{"batch_input_shape", {nullptr, 28, 28, 1}},
                            {"dtype", "float32"},
                            {"sparse", false},
                            {"name", "input_1"}}}};
  nlohmann::json layers = nlohmann::json::array({input,
                                                 Conv("conv2d", 32),
                                                 Pool("max_pooling2d"),
                                                 Conv("conv2d_1", 64),
                                                 Pool("max_pooling2d_1"),
                                                 {{"class_name", "Flatten"},
                                                  {"config",
                                                   {{"name", "flatten"},
                                                    {"trainable", true},
                                                    {"dtype", "float32"},
                                                    {"data_format", "channels_last"}}}},
                                                 Dense("dense", 128, "relu"),
                                                 Dense("dense_1", 10, "linear")});
  return nlohmann::json{{"class_name", "Sequential"},
                        {"config", {{"name", "fmnist_cnn"}, {"layers", layers}}}};
}

StatusOr<ir::Graph> BuildPresetGraph(const std::string& name, uint64_t seed, int batch) {
  if (name != "fmnist-cnn") {
    return MakeStatus(StatusCode::kNotFound, "unknown preset '%s' (available: fmnist-cnn)",
                      name.c_str());
  }
  ir::Graph g;
  const int x = g.AddActivation("input_1", DType::kFloat32, {batch, 28, 28, 1});
  g.inputs = {x};
  auto conv = [&](int in, const std::string& layer, int cin, int cout, int h, uint64_t s) {
    const int w = AddWeight(&g, layer + "/kernel", {cout, 3, 3, cin},
                            GlorotUniform(int64_t{cout} * 9 * cin, 9 * cin, 9 * cout, s));
    const int b = AddWeight(&g, layer + "/bias", {cout}, std::vector<float>(cout, 0.0f));
    const int y = g.AddActivation(layer, DType::kFloat32, {batch, h - 2, h - 2, cout});
    ir::Node n;
    n.op = "CONV_2D";
    n.name = layer;
    n.inputs = {in, w, b};
    n.outputs = {y};
    n.attrs = {
        {"padding", std::string("VALID")}, {"stride_h", int64_t{1}},
        {"stride_w", int64_t{1}},          {"dilation_h_factor", int64_t{1}},
        {"dilation_w_factor", int64_t{1}}, {"fused_activation_function", std::string("RELU")}};
    g.AddNode(n);
    return y;
  };
  auto pool = [&](int in, const std::string& layer, int h, int c) {
    const int y = g.AddActivation(layer, DType::kFloat32, {batch, h / 2, h / 2, c});
    ir::Node n;
    n.op = "MAX_POOL_2D";
    n.name = layer;
    n.inputs = {in};
    n.outputs = {y};
    n.attrs = {
        {"padding", std::string("VALID")}, {"stride_h", int64_t{2}},
        {"stride_w", int64_t{2}},          {"filter_height", int64_t{2}},
        {"filter_width", int64_t{2}},      {"fused_activation_function", std::string("NONE")}};
    g.AddNode(n);
    return y;
  };
  auto dense = [&](int in, const std::string& layer, int din, int dout, bool relu, uint64_t s) {
    const int w = AddWeight(&g, layer + "/kernel", {dout, din},
                            GlorotUniform(int64_t{dout} * din, din, dout, s));
    const int b = AddWeight(&g, layer + "/bias", {dout}, std::vector<float>(dout, 0.0f));
    const int y = g.AddActivation(layer, DType::kFloat32, {batch, dout});
    ir::Node n;
    n.op = "FULLY_CONNECTED";
    n.name = layer;
    n.inputs = {in, w, b};
    n.outputs = {y};
    n.attrs = {{"fused_activation_function", std::string(relu ? "RELU" : "NONE")},
               {"keep_num_dims", false},
               {"weights_format", std::string("DEFAULT")}};
    g.AddNode(n);
    return y;
  };
  const uint64_t s = MixSeed(seed, 0x707265ull, 0);
  int t = conv(x, "conv2d", 1, 32, 28, MixSeed(s, 1, 0));
  t = pool(t, "max_pooling2d", 26, 32);
  t = conv(t, "conv2d_1", 32, 64, 13, MixSeed(s, 2, 0));
  t = pool(t, "max_pooling2d_1", 11, 64);
  const int shape =
      g.AddConstant("flatten/shape", DType::kInt32, {2}, std::vector<int32_t>{-1, 1600}.data(), 8);
  const int flat = g.AddActivation("flatten", DType::kFloat32, {batch, 1600});
  ir::Node r;
  r.op = "RESHAPE";
  r.name = "flatten";
  r.inputs = {t, shape};
  r.outputs = {flat};
  r.attrs = {{"new_shape", std::vector<int64_t>{-1, 1600}}};
  g.AddNode(r);
  t = dense(flat, "dense", 1600, 128, true, MixSeed(s, 3, 0));
  t = dense(t, "dense_1", 128, 10, false, MixSeed(s, 4, 0));
  g.outputs = {t};
  g.input_names = {"input_1"};
  g.output_names = {"dense_1"};
  EDGEOPT_RETURN_IF_ERROR(g.Validate());
  return g;
}

}  // namespace train
}  // namespace edgeopt
