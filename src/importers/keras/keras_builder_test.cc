// Keras config -> IR (expected IR text for small models), Keras's initializers (ModelFromConfig),
// config format variants (Keras 2 / Keras 3), errors, and UpdateFromGraph.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <functional>
#include <map>
#include <set>

#include "src/importers/keras/keras_config.h"
#include "src/importers/keras/keras_model.h"
#include "src/ir/text.h"
#include "tests/test_util.h"

namespace edgeopt {
namespace keras {
namespace {

// Every variable of `a` has the shape and the bits of `b`'s.
void ExpectSameWeights(const KerasModel& a, const KerasModel& b) {
  ASSERT_EQ(a.weights.size(), b.weights.size());
  for (size_t l = 0; l < a.weights.size(); ++l) {
    ASSERT_EQ(a.weights[l].vars.size(), b.weights[l].vars.size());
    for (size_t v = 0; v < a.weights[l].vars.size(); ++v) {
      EXPECT_EQ(a.weights[l].vars[v].second.shape, b.weights[l].vars[v].second.shape);
      EXPECT_EQ(a.weights[l].vars[v].second.data, b.weights[l].vars[v].second.data)
          << a.weights[l].layer << "/" << a.weights[l].vars[v].first;
    }
  }
}

Json Layer(const std::string& cls, Json config) {
  return Json{{"class_name", cls}, {"config", config}};
}

Json Sequential(const std::vector<int64_t>& input, std::vector<Json> layers) {
  Json shape = Json::array({nullptr});
  for (int64_t d : input) shape.push_back(d);
  Json list = Json::array({Layer("InputLayer", {{"name", "x"}, {"batch_input_shape", shape}})});
  for (Json& l : layers) list.push_back(l);
  return Json{{"class_name", "Sequential"}, {"config", {{"name", "m"}, {"layers", list}}}};
}

const NpyArray* Var(const KerasModel& m, const std::string& layer, const std::string& var) {
  for (const LayerWeights& lw : m.weights) {
    if (lw.layer != layer) continue;
    for (const auto& [name, a] : lw.vars) {
      if (name == var) return &a;
    }
  }
  return nullptr;
}

void Stats(const NpyArray& a, double* mean, double* stddev, double* max_abs) {
  const float* v = a.Data<float>();
  const int64_t n = a.NumElements();
  double sum = 0, sq = 0;
  *max_abs = 0;
  for (int64_t i = 0; i < n; ++i) {
    sum += v[i];
    sq += v[i] * v[i];
    *max_abs = std::max(*max_abs, std::fabs(static_cast<double>(v[i])));
  }
  *mean = sum / n;
  *stddev = std::sqrt(sq / n - *mean * *mean);
}

TEST(KerasBuild, DenseBecomesFullyConnectedWithTransposedKernel) {
  const Json config =
      Sequential({3}, {Layer("Dense", {{"name", "d"}, {"units", 2}, {"activation", "relu"}})});
  StatusOr<KerasModel> m = ModelFromConfig(config, 1);
  ASSERT_TRUE(m.ok()) << m.status().ToString();
  // kernel [3, 2] = [[1, 2], [3, 4], [5, 6]]
  NpyArray& k = m->weights[0].vars[0].second;
  for (int i = 0; i < 6; ++i) k.Data<float>()[i] = static_cast<float>(i + 1);
  StatusOr<ir::Graph> g = BuildGraph(*m);
  ASSERT_TRUE(g.ok()) << g.status().ToString();
  EXPECT_EQ(ir::PrintGraph(*g),
            R"IR(graph inputs(%0) outputs(%3) input_names("x") output_names("d")
%0 = tensor "x" float32[1,3]
%1 = const "d/kernel" float32[2,3] origin="d/kernel" values=[1,3,5,2,4,6]
%2 = const "d/bias" float32[2] origin="d/bias" values=[0,0]
%3 = tensor "d" float32[1,2]
%3 = FULLY_CONNECTED(%0, %1, %2) {asymmetric_quantize_inputs=false, fused_activation_function="RELU", keep_num_dims=false, weights_format="DEFAULT"} name="d"
)IR");
}

// trainable=False, on a layer or on a nested model (whose layers Keras marks too), freezes the
// weights in the graph (Tensor::frozen, " frozen" in the IR text); SetTrainable sets the flags
// by name as --freeze / --unfreeze do.
TEST(KerasBuild, TrainableFalseFreezesTheWeightsAndSetTrainableChangesIt) {
  auto dense = [](const std::string& name, bool trainable) {
    return Layer("Dense", {{"name", name}, {"units", 4}, {"trainable", trainable}});
  };
  const Json base = Layer(
      "Sequential", {{"name", "base"},
                     {"trainable", false},
                     {"layers",
                      {dense("b1", false),
                       Layer("BatchNormalization", {{"name", "bn"}, {"trainable", false}})}}});
  StatusOr<KerasModel> m =
      ModelFromConfig(Sequential({3}, {dense("d1", false), base, dense("head", true)}), 1);
  ASSERT_TRUE(m.ok()) << m.status().ToString();
  m->source_path = "m.keras";
  // The layers whose weights are frozen, from the graph.
  auto frozen = [&]() {
    StatusOr<ir::Graph> g = BuildGraph(*m);
    EXPECT_TRUE(g.ok()) << g.status().ToString();
    std::set<std::string> layers;
    if (!g.ok()) return layers;
    for (const ir::Tensor& t : g->tensors) {
      if (t.frozen) layers.insert(t.origin.substr(0, t.origin.find('/')));
    }
    StatusOr<ir::Graph> back = ir::ParseGraph(ir::PrintGraph(*g));
    EXPECT_TRUE(back.ok()) << back.status().ToString();
    for (size_t i = 0; back.ok() && i < g->tensors.size(); ++i) {
      EXPECT_EQ(back->tensors[i].frozen, g->tensors[i].frozen) << g->tensors[i].name;
    }
    return layers;
  };
  using Names = std::set<std::string>;
  EXPECT_EQ(frozen(), (Names{"d1", "b1", "bn"}));
  // A layer inside the frozen model: the model is trainable again, its other layer stays frozen.
  ASSERT_TRUE(SetTrainable(&*m, {"b1"}, true).ok());
  EXPECT_EQ(frozen(), (Names{"d1", "bn"}));
  // A model's name: all of its layers.
  ASSERT_TRUE(SetTrainable(&*m, {"base", "head"}, false).ok());
  EXPECT_EQ(frozen(), (Names{"d1", "b1", "bn", "head"}));
  ASSERT_TRUE(SetTrainable(&*m, {"all"}, true).ok());
  EXPECT_EQ(frozen(), Names{});
  ASSERT_TRUE(SetTrainable(&*m, {"b*"}, false).ok());  // a prefix: base (b1, bn in it)
  EXPECT_EQ(frozen(), (Names{"b1", "bn"}));
  const Status bad = SetTrainable(&*m, {"head", "dense_9"}, false);
  EXPECT_EQ(bad.code(), StatusCode::kNotFound);
  EXPECT_NE(bad.message().find("m.keras: no layer is named 'dense_9'"), std::string::npos)
      << bad.message();
  EXPECT_NE(bad.message().find("d1, base, b1, bn, head"), std::string::npos) << bad.message();
}

// RNN(LSTMCell(...)), RNN(GRUCell(...)), RNN(SimpleRNNCell(...)) (also in a Bidirectional) are
// the LSTM / GRU / SimpleRNN layers they compute: the same graph, weights included (the same
// initializers of the same layer name), and the config says so after loading.
// Augmentation layers that transform the input image are handed to training (in order, with
// their settings); the geometric ones also through per-element rescaling, none after a
// convolution or brightness after a rescaling; the graph is the same without them.
TEST(KerasBuild, InputAugmentationLayersAreHandedToTraining) {
  const Json augmentation = Layer(
      "Sequential",
      {{"name", "augment"},
       {"layers",
        {Layer("RandomFlip", {{"name", "flip"}, {"mode", "horizontal"}}),
         Layer("RandomRotation", {{"name", "rot"}, {"factor", 0.1}, {"fill_mode", "nearest"}}),
         Layer("RandomContrast", {{"name", "contrast"}, {"factor", Json::array({0.2, 0.3})}})}}});
  const Json conv = Layer("Conv2D", {{"name", "conv"}, {"filters", 2}, {"kernel_size", 3}});
  const Json with = Sequential(
      {8, 8, 1},
      {augmentation, Layer("Rescaling", {{"name", "scale"}, {"scale", 0.5}, {"offset", 0.1}}),
       Layer("RandomZoom", {{"name", "zoom"}, {"height_factor", Json::array({-0.2, 0.1})}}),
       Layer("RandomBrightness", {{"name", "late_brightness"}, {"factor", 0.2}}), conv,
       Layer("RandomTranslation",
             {{"name", "late"}, {"height_factor", 0.1}, {"width_factor", 0.1}})});
  StatusOr<KerasModel> m = ModelFromConfig(with, 1);
  ASSERT_TRUE(m.ok()) << m.status().ToString();
  std::vector<data::ImageAugmentation> found;
  BuildOptions options;
  options.input_augmentations = &found;
  StatusOr<ir::Graph> g = BuildGraph(*m, options);
  ASSERT_TRUE(g.ok()) << g.status().ToString();
  ASSERT_EQ(found.size(), 4u);
  using Kind = data::ImageAugmentation::Kind;
  EXPECT_EQ(found[0].kind, Kind::kFlip);
  EXPECT_TRUE(found[0].horizontal && !found[0].vertical);
  EXPECT_EQ(found[1].kind, Kind::kRotation);
  EXPECT_FLOAT_EQ(found[1].lower, -0.1f);
  EXPECT_FLOAT_EQ(found[1].upper, 0.1f);
  EXPECT_EQ(found[1].fill, data::ImageAugmentation::Fill::kNearest);
  EXPECT_EQ(found[2].kind, Kind::kContrast);  // factor range [1 - 0.2, 1 + 0.3]
  EXPECT_FLOAT_EQ(found[2].lower, -0.2f);
  EXPECT_FLOAT_EQ(found[2].upper, 0.3f);
  EXPECT_FLOAT_EQ(found[2].value_hi, 255.0f);
  EXPECT_EQ(found[3].kind, Kind::kZoom);  // through the Rescaling's MUL and ADD
  EXPECT_EQ(found[3].layer, "zoom (RandomZoom)");
  EXPECT_FLOAT_EQ(found[3].lower, -0.2f);
  EXPECT_FALSE(found[3].has_width);
  EXPECT_EQ(found[3].fill, data::ImageAugmentation::Fill::kReflect);
  // The graph is the one of the model without the augmentation layers.
  StatusOr<KerasModel> plain = ModelFromConfig(
      Sequential({8, 8, 1},
                 {Layer("Rescaling", {{"name", "scale"}, {"scale", 0.5}, {"offset", 0.1}}), conv}),
      1);
  ASSERT_TRUE(plain.ok());
  StatusOr<ir::Graph> pg = BuildGraph(*plain);
  ASSERT_TRUE(pg.ok());
  EXPECT_EQ(g->nodes.size(), pg->nodes.size());
  // Settings training cannot apply leave the layer out of training; the model builds.
  for (const Json& odd :
       {Layer("RandomRotation", {{"name", "r"}, {"factor", "big"}}),
        Layer("RandomZoom",
              {{"name", "z"}, {"height_factor", 0.1}, {"interpolation", "bicubic"}})}) {
    StatusOr<KerasModel> bad = ModelFromConfig(Sequential({8, 8, 1}, {odd}), 1);
    ASSERT_TRUE(bad.ok());
    found.clear();
    StatusOr<ir::Graph> bg = BuildGraph(*bad, options);
    ASSERT_TRUE(bg.ok()) << bg.status().ToString();
    EXPECT_TRUE(found.empty());
  }
}

TEST(KerasBuild, RnnOfABuiltInCellIsItsLayer) {
  for (const char* cls : {"LSTM", "GRU", "SimpleRNN"}) {
    SCOPED_TRACE(cls);
    const Json cell_config = {{"units", 3}, {"activation", "tanh"}};
    Json layer_config = cell_config;
    layer_config["name"] = "r";
    layer_config["return_sequences"] = true;
    Json rnn_config = {{"name", "r"},
                       {"return_sequences", true},
                       {"cell", Layer(std::string(cls) + "Cell", cell_config)}};
    for (bool bidirectional : {false, true}) {
      Json direct = Layer(cls, layer_config), generic = Layer("RNN", rnn_config);
      if (bidirectional) {
        direct = Layer("Bidirectional", {{"name", "bi"}, {"layer", direct}});
        generic = Layer("Bidirectional", {{"name", "bi"}, {"layer", generic}});
      }
      StatusOr<KerasModel> a = ModelFromConfig(Sequential({5, 2}, {direct}), 7);
      StatusOr<KerasModel> b = ModelFromConfig(Sequential({5, 2}, {generic}), 7);
      ASSERT_TRUE(a.ok()) << a.status().ToString();
      ASSERT_TRUE(b.ok()) << b.status().ToString();
      StatusOr<ir::Graph> ga = BuildGraph(*a), gb = BuildGraph(*b);
      ASSERT_TRUE(ga.ok() && gb.ok());
      ir::TextOptions all;
      all.include_all_values = true;
      EXPECT_EQ(ir::PrintGraph(*gb, all), ir::PrintGraph(*ga, all));
      const Json* resolved = FindLayerJson(b->config, bidirectional ? "bi" : "r");
      ASSERT_NE(resolved, nullptr);
      const Json& inner = bidirectional ? (*resolved)["config"]["layer"] : *resolved;
      EXPECT_EQ(LayerClass(inner), cls);
      EXPECT_EQ(inner["config"]["units"], 3);
      EXPECT_EQ(inner["config"]["return_sequences"], true);
    }
  }
  // Stacked cells are not a layer of their own: refused with the class.
  const Json stacked = Layer(
      "RNN", {{"name", "r"},
              {"cell", Layer("StackedRNNCells",
                             {{"cells", Json::array({Layer("LSTMCell", {{"units", 2}})})}})}});
  StatusOr<KerasModel> m = ModelFromConfig(Sequential({5, 2}, {stacked}), 1);
  const Status st = m.ok() ? BuildGraph(*m).status() : m.status();
  EXPECT_EQ(st.code(), StatusCode::kUnsupported) << st.ToString();
  EXPECT_NE(st.message().find("RNN"), std::string::npos) << st.ToString();
}

// A Normalization before adapt(), built from its config, has Keras's three variables: mean 0,
// variance 1 and the int64 scalar count 0. Saved as .keras and loaded again, it is the same
// model (with two of the three, the variables could not be told apart on loading).
TEST(KerasBuild, NormalizationFromConfigSavesAllThreeVariables) {
  const Json config = Sequential({2, 3}, {Layer("Normalization", {{"name", "norm"}, {"axis", -1}}),
                                          Layer("Dense", {{"name", "d"}, {"units", 2}})});
  StatusOr<KerasModel> m = ModelFromConfig(config, 1);
  ASSERT_TRUE(m.ok()) << m.status().ToString();
  ASSERT_EQ(m->weights[0].layer, "norm");
  const auto& vars = m->weights[0].vars;
  ASSERT_EQ(vars.size(), 3u);
  EXPECT_EQ(vars[0].first, "mean");
  EXPECT_EQ(vars[1].first, "variance");
  EXPECT_EQ(vars[2].first, "count");
  EXPECT_EQ(vars[2].second.dtype, DType::kInt64);
  EXPECT_TRUE(vars[2].second.shape.empty());
  EXPECT_EQ(vars[2].second.Data<int64_t>()[0], 0);
  EXPECT_EQ(vars[1].second.Data<float>()[2], 1.0f);
  const std::string path = ::testing::TempDir() + "/normalization_from_config.keras";
  ASSERT_TRUE(SaveKerasFile(*m, path).ok());
  StatusOr<KerasModel> back = LoadKerasFile(path);
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  StatusOr<ir::Graph> a = BuildGraph(*m), b = BuildGraph(*back);
  ASSERT_TRUE(a.ok()) << a.status().ToString();
  ASSERT_TRUE(b.ok()) << b.status().ToString();
  EXPECT_EQ(ir::PrintGraph(*a), ir::PrintGraph(*b));
  // Read back, the count is still an int64 scalar (saving it again writes what Keras wrote).
  ASSERT_EQ(back->weights[0].vars.size(), 3u);
  const NpyArray& count = back->weights[0].vars[2].second;
  EXPECT_EQ(count.dtype, DType::kInt64);
  EXPECT_TRUE(count.shape.empty());
  ASSERT_EQ(count.data.size(), sizeof(int64_t));
  EXPECT_EQ(count.Data<int64_t>()[0], 0);
  std::remove(path.c_str());
}

// A Bidirectional inside a nested model, saved as a Keras 2 .h5: its weights are stored under
// the nested model's group with repeated variable names (forward and backward "kernel"), and
// are read back by position, as at the top level.
TEST(KerasBuild, NestedBidirectionalH5RoundTrip) {
  Json encoder = Sequential(
      {6, 3}, {Layer("Bidirectional", {{"name", "bigru"},
                                       {"layer", Layer("GRU", {{"name", "gru"}, {"units", 4}})}})});
  encoder["config"]["name"] = "encoder";
  encoder["config"]["layers"][0]["config"]["name"] = "encoder_input";
  const Json config = Sequential({6, 3}, {encoder, Layer("Dense", {{"name", "d"}, {"units", 2}})});
  StatusOr<KerasModel> m = ModelFromConfig(config, 3);
  ASSERT_TRUE(m.ok()) << m.status().ToString();
  const std::string path = ::testing::TempDir() + "/nested_bidirectional.h5";
  ASSERT_TRUE(SaveKerasFile(*m, path).ok());
  StatusOr<KerasModel> back = LoadKerasFile(path);
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  for (const char* var :
       {"forward/kernel", "forward/recurrent_kernel", "backward/kernel", "backward/bias"}) {
    const NpyArray* a = Var(*m, "bigru", var);
    const NpyArray* b = Var(*back, "bigru", var);
    ASSERT_TRUE(a != nullptr && b != nullptr) << var;
    EXPECT_EQ(a->shape, b->shape) << var;
    EXPECT_EQ(a->data, b->data) << var;
  }
  StatusOr<ir::Graph> ga = BuildGraph(*m), gb = BuildGraph(*back);
  ASSERT_TRUE(ga.ok() && gb.ok()) << gb.status().ToString();
  EXPECT_EQ(ir::PrintGraph(*ga), ir::PrintGraph(*gb));
  std::remove(path.c_str());
}

// A Functional model of an InputLayer "x" [None, 5, 6] and one layer "att" of class `cls` called
// as `node` (a Keras 2 inbound node).
Json OneLayerFunctional(const std::string& cls, Json config, const Json& node) {
  config["name"] = "att";
  return {
      {"class_name", "Functional"},
      {"config",
       {{"name", "f"},
        {"layers",
         {{{"class_name", "InputLayer"},
           {"name", "x"},
           {"config", {{"name", "x"}, {"batch_input_shape", {nullptr, 5, 6}}}},
           {"inbound_nodes", Json::array()}},
          {{"class_name", cls}, {"name", "att"}, {"config", config}, {"inbound_nodes", {node}}}}},
        {"input_layers", {{"x", 0, 0}}},
        {"output_layers", {{"att", 0, 0}}}}}};
}

using VarShapes = std::map<std::string, std::vector<int64_t>>;

// Saves `m` as `stem`.h5 and `stem`.keras and loads each back: layer "att" has the variables
// `shapes` with `reference`'s values; `check` runs on each loaded model.
void ExpectAttentionRoundTrip(const KerasModel& m, const KerasModel& reference,
                              const VarShapes& shapes, const std::string& stem,
                              const std::function<void(const KerasModel&)>& check = nullptr) {
  for (const char* ext : {".h5", ".keras"}) {
    const std::string path = ::testing::TempDir() + "/" + stem + ext;
    ASSERT_TRUE(SaveKerasFile(m, path).ok()) << ext;
    StatusOr<KerasModel> back = LoadKerasFile(path);
    ASSERT_TRUE(back.ok()) << back.status().ToString();
    for (const auto& [var, shape] : shapes) {
      const NpyArray* b = Var(*back, "att", var);
      ASSERT_NE(b, nullptr) << ext << " " << var;
      EXPECT_EQ(b->shape, shape) << ext << " " << var;
      EXPECT_EQ(b->data, Var(reference, "att", var)->data) << ext << " " << var;
    }
    if (check) check(*back);
    std::remove(path.c_str());
  }
}

// MultiHeadAttention weights survive saving as .h5 (Keras 2: "att/query/kernel:0", ... named by
// position on reading) and as .keras (Keras 3: layers/att/query_dense/vars/0, ...), and
// UpdateFromGraph writes the FULLY_CONNECTED weights back in Keras's EinsumDense shapes.
TEST(KerasBuild, MultiHeadAttentionRoundTrips) {
  const Json x = {"x", 0, 0, {{"value", {"x", 0, 0}}}};  // Keras 2: mha(x, value=x)
  const Json config = OneLayerFunctional(
      "MultiHeadAttention", {{"num_heads", 2}, {"key_dim", 3}, {"value_dim", 4}}, Json::array({x}));
  StatusOr<KerasModel> m = ModelFromConfig(config, 5);
  ASSERT_TRUE(m.ok()) << m.status().ToString();
  const VarShapes shapes = {{"query/kernel", {6, 2, 3}},
                            {"query/bias", {2, 3}},
                            {"key/kernel", {6, 2, 3}},
                            {"key/bias", {2, 3}},
                            {"value/kernel", {6, 2, 4}},
                            {"value/bias", {2, 4}},
                            {"attention_output/kernel", {2, 4, 6}},
                            {"attention_output/bias", {6}}};
  for (const auto& [var, shape] : shapes) {
    const NpyArray* a = Var(*m, "att", var);
    ASSERT_NE(a, nullptr) << var;
    EXPECT_EQ(a->shape, shape) << var;
  }
  // Glorot uniform over Keras's fans of [6, 2, 3]: fan_in 2·6, fan_out 3·6.
  const NpyArray* qk = Var(*m, "att", "query/kernel");
  const double limit = std::sqrt(6.0 / (12 + 18));
  double largest = 0;
  for (int64_t i = 0; i < qk->NumElements(); ++i) {
    largest = std::max(largest, std::fabs(static_cast<double>(qk->Data<float>()[i])));
  }
  EXPECT_LE(largest, limit);
  EXPECT_GT(largest, limit / 2);

  StatusOr<ir::Graph> g = BuildGraph(*m);
  ASSERT_TRUE(g.ok()) << g.status().ToString();
  KerasModel updated = *m;
  for (LayerWeights& lw : updated.weights) {
    for (auto& [var, a] : lw.vars) std::fill(a.data.begin(), a.data.end(), 0);
  }
  ASSERT_TRUE(UpdateFromGraph(&updated, *g).ok());
  for (const auto& [var, shape] : shapes) {
    EXPECT_EQ(Var(updated, "att", var)->shape, shape) << var;
    EXPECT_EQ(Var(updated, "att", var)->data, Var(*m, "att", var)->data) << var;
  }
  ExpectAttentionRoundTrip(*m, *m, shapes, "mha", [&](const KerasModel& back) {
    StatusOr<ir::Graph> gb = BuildGraph(back);
    ASSERT_TRUE(gb.ok()) << gb.status().ToString();
    EXPECT_EQ(ir::PrintGraph(*g), ir::PrintGraph(*gb));
  });
}

// Attention's scalars (scale, concat_score_weight: shape []) and AdditiveAttention's scale
// vector ([d], Glorot uniform) survive .h5 and .keras and come back from the graph unchanged.
TEST(KerasBuild, AttentionWeightsRoundTrip) {
  for (const char* cls : {"Attention", "AdditiveAttention"}) {
    SCOPED_TRACE(cls);
    const Json node = Json::array(
        {Json::array({"x", 0, 0, Json::object()}), Json::array({"x", 0, 0, Json::object()})});
    Json layer_config = {{"use_scale", true}};
    if (std::string(cls) == "Attention") layer_config["score_mode"] = "concat";
    const Json config = OneLayerFunctional(cls, layer_config, node);
    StatusOr<KerasModel> m = ModelFromConfig(config, 9);
    ASSERT_TRUE(m.ok()) << m.status().ToString();
    const bool additive = std::string(cls) == "AdditiveAttention";
    const VarShapes shapes = additive ? VarShapes{{"scale", {6}}}
                                      : VarShapes{{"scale", {}}, {"concat_score_weight", {}}};
    for (const auto& [var, shape] : shapes) {
      const NpyArray* a = Var(*m, "att", var);
      ASSERT_NE(a, nullptr) << var;
      EXPECT_EQ(a->shape, shape) << var;
      // Attention's scalars start at 1; the additive scale is Glorot uniform in sqrt(6 / 12).
      if (additive) {
        for (int i = 0; i < 6; ++i) EXPECT_LE(std::fabs(a->Data<float>()[i]), std::sqrt(0.5));
      } else {
        EXPECT_EQ(a->Data<float>()[0], 1.0f) << var;
      }
    }
    StatusOr<ir::Graph> g = BuildGraph(*m);
    ASSERT_TRUE(g.ok()) << g.status().ToString();
    KerasModel updated = *m;
    ASSERT_TRUE(UpdateFromGraph(&updated, *g).ok());
    ExpectAttentionRoundTrip(updated, *m, shapes, "attention");
  }
}

// Crops that Keras resizes for (a crop larger than the input) or draws at random at inference
// time are refused with the layer and the sizes named.
TEST(KerasBuild, CropsWithoutAMappingAreRefused) {
  struct Case {
    const char* cls;
    int height, width;
    const char* message;
  } cases[] = {{"CenterCrop", 8, 6, "a crop of 8x6 is larger than the input"},
               {"RandomCrop", 7, 7, "a crop of 7x7 is larger than the input"},
               {"RandomCrop", 4, 3, "RandomCrop to a smaller size (4x3 of"}};
  for (const Case& c : cases) {
    const Json config = Sequential(
        {7, 6, 2}, {Layer(c.cls, {{"name", "crop"}, {"height", c.height}, {"width", c.width}})});
    // Building the model from its config builds its graph (the initializers need the shapes).
    StatusOr<KerasModel> m = ModelFromConfig(config, 1);
    ASSERT_FALSE(m.ok()) << c.cls;
    EXPECT_EQ(m.status().code(), StatusCode::kUnsupported);
    EXPECT_NE(m.status().message().find("layer 'crop'"), std::string::npos)
        << m.status().ToString();
    EXPECT_NE(m.status().message().find(c.message), std::string::npos) << m.status().ToString();
  }
}

// Resizing that TFLite's resize ops cannot do is refused, saying what.
TEST(KerasBuild, ResizingWithoutAMappingIsRefused) {
  const std::pair<Json, const char*> cases[] = {
      {{{"height", 4}, {"width", 4}, {"interpolation", "bicubic"}}, "interpolation 'bicubic'"},
      {{{"height", 4}, {"width", 4}, {"crop_to_aspect_ratio", true}}, "crop_to_aspect_ratio"},
      {{{"height", 3}, {"width", 3}, {"antialias", true}}, "antialias when shrinking"},
      {{{"height", 0}, {"width", 3}}, "height and width must be in"}};
  for (const auto& [config, message] : cases) {
    Json layer_config = config;
    layer_config["name"] = "resize";
    StatusOr<KerasModel> m =
        ModelFromConfig(Sequential({7, 6, 2}, {Layer("Resizing", layer_config)}), 1);
    ASSERT_FALSE(m.ok()) << message;
    EXPECT_NE(m.status().message().find("layer 'resize'"), std::string::npos)
        << m.status().ToString();
    EXPECT_NE(m.status().message().find(message), std::string::npos) << m.status().ToString();
  }
}

TEST(KerasBuild, Conv1DIsReshapeConv2DReshape) {
  const Json config = Sequential(
      {5, 2},
      {Layer("Conv1D", {{"name", "c"}, {"filters", 1}, {"kernel_size", 2}, {"use_bias", false}})});
  StatusOr<KerasModel> m = ModelFromConfig(config, 1);
  ASSERT_TRUE(m.ok());
  // kernel [2 steps, 2 channels, 1 filter] = [1, 2, 3, 4] -> OHWI [1, 1, 2, 2] keeps the order.
  for (int i = 0; i < 4; ++i) m->weights[0].vars[0].second.Data<float>()[i] = i + 1.0f;
  StatusOr<ir::Graph> g = BuildGraph(*m);
  ASSERT_TRUE(g.ok());
  EXPECT_EQ(ir::PrintGraph(*g),
            R"IR(graph inputs(%0) outputs(%6) input_names("x") output_names("c")
%0 = tensor "x" float32[1,5,2]
%1 = const "c/kernel" float32[1,1,2,2] origin="c/kernel" values=[1,2,3,4]
%2 = const "c/expand_shape" int32[4] values=[1,1,5,2]
%3 = tensor "c/expand" float32[1,1,5,2]
%4 = tensor "c/conv" float32[1,1,4,1]
%5 = const "c/squeeze_shape" int32[3] values=[1,4,1]
%6 = tensor "c" float32[1,4,1]
%3 = RESHAPE(%0, %2) name="c"
%4 = CONV_2D(%3, %1) {dilation_h_factor=1, dilation_w_factor=1, fused_activation_function="NONE", padding="VALID", stride_h=1, stride_w=1} name="c"
%6 = RESHAPE(%4, %5) name="c"
)IR");
}

// Conv1DTranspose's kernel [K, F, C] becomes TRANSPOSE_CONV's [F, 1, K, C] on a [B, 1, L, C]
// view, and UpdateFromGraph puts it back; output_padding sets the output size, and sizes that
// TRANSPOSE_CONV cannot take back to the input are refused.
TEST(KerasBuild, Conv1DTransposeWeightsAndOutputPadding) {
  const Json config = Sequential({4, 2}, {Layer("Conv1DTranspose", {{"name", "t"},
                                                                    {"filters", 3},
                                                                    {"kernel_size", 3},
                                                                    {"strides", 2},
                                                                    {"padding", "same"},
                                                                    {"output_padding", 0}})});
  StatusOr<KerasModel> m = ModelFromConfig(config, 3);
  ASSERT_TRUE(m.ok()) << m.status().ToString();
  const NpyArray* kernel = Var(*m, "t", "kernel");
  ASSERT_NE(kernel, nullptr);
  EXPECT_EQ(kernel->shape, (std::vector<int64_t>{3, 3, 2}));
  // kernel[k][f][c] = 100k + 10f + c, so the graph's [f][0][k][c] order is visible.
  for (int k = 0; k < 3; ++k)
    for (int f = 0; f < 3; ++f)
      for (int c = 0; c < 2; ++c) {
        m->weights[0].vars[0].second.Data<float>()[(k * 3 + f) * 2 + c] = 100 * k + 10 * f + c;
      }
  StatusOr<ir::Graph> g = BuildGraph(*m);
  ASSERT_TRUE(g.ok()) << g.status().ToString();
  const ir::Tensor* w = nullptr;
  for (const ir::Tensor& t : g->tensors) {
    if (t.name == "t/kernel") w = &t;
  }
  ASSERT_NE(w, nullptr);
  EXPECT_EQ(w->shape, (std::vector<int32_t>{3, 1, 3, 2}));
  const float* wv = reinterpret_cast<const float*>(w->data.data());
  EXPECT_EQ(wv[(1 * 3 + 2) * 2 + 1], 100 * 2 + 10 * 1 + 1);  // [f=1][0][k=2][c=1]
  // (4 - 1)·2 + 3 - 2·1 + 0 = 7 steps.
  EXPECT_EQ(g->tensors[g->outputs[0]].shape, (std::vector<int32_t>{1, 7, 3}));
  KerasModel updated = *m;
  ASSERT_TRUE(UpdateFromGraph(&updated, *g).ok());
  ExpectSameWeights(updated, *m);

  for (const auto& [extra, message] : std::vector<std::pair<Json, std::string>>{
           {{{"output_padding", 2}}, "less than the stride"},
           {{{"dilation_rate", 2}}, "dilated transposed convolution"}}) {
    Json bad = config;
    for (const auto& [key, value] : extra.items())
      bad["config"]["layers"][1]["config"][key] = value;
    StatusOr<KerasModel> bm = ModelFromConfig(bad, 3);
    Status st = bm.ok() ? BuildGraph(*bm).status() : bm.status();
    EXPECT_FALSE(st.ok());
    EXPECT_NE(st.message().find(message), std::string::npos) << st.ToString();
    EXPECT_NE(st.message().find("'t'"), std::string::npos) << st.ToString();
  }
}

// A grouped convolution's kernel [kh, kw, C/G, F] is one CONV_2D weight [F/G, kh, kw, C/G] per
// group ("kernel{g}", "bias{g}"), and UpdateFromGraph puts the groups back together.
TEST(KerasBuild, GroupedConvolutionWeightsRoundTrip) {
  const Json config = Sequential(
      {6, 5, 4},
      {Layer("Conv2D", {{"name", "g2"}, {"filters", 6}, {"kernel_size", 3}, {"groups", 2}}),
       Layer("Reshape", {{"name", "r"}, {"target_shape", {12, 6}}}),
       Layer("Conv1D", {{"name", "g3"}, {"filters", 3}, {"kernel_size", 2}, {"groups", 3}})});
  StatusOr<KerasModel> m = ModelFromConfig(config, 4);
  ASSERT_TRUE(m.ok()) << m.status().ToString();
  EXPECT_EQ(Var(*m, "g2", "kernel")->shape, (std::vector<int64_t>{3, 3, 2, 6}));
  EXPECT_EQ(Var(*m, "g3", "kernel")->shape, (std::vector<int64_t>{2, 2, 3}));
  // Distinct values, so that a misplaced group shows.
  for (LayerWeights& lw : m->weights) {
    for (auto& [var, a] : lw.vars) {
      for (int64_t i = 0; i < a.NumElements(); ++i) a.Data<float>()[i] = 0.25f * i - 3.0f;
    }
  }
  StatusOr<ir::Graph> g = BuildGraph(*m);
  ASSERT_TRUE(g.ok()) << g.status().ToString();
  int pieces = 0;
  for (const ir::Tensor& t : g->tensors) {
    if (t.origin == "g2/kernel{1}") {
      ++pieces;
      EXPECT_EQ(t.shape, (std::vector<int32_t>{3, 3, 3, 2}));
      // [f=0 of group 1 = filter 3][i=0][j=0][c=1]: Keras kernel[0][0][1][3] = index 9.
      EXPECT_EQ(reinterpret_cast<const float*>(t.data.data())[1], 0.25f * 9 - 3.0f);
    }
    if (t.origin == "g3/bias{2}") {
      ++pieces;
      EXPECT_EQ(t.shape, (std::vector<int32_t>{1}));
    }
  }
  EXPECT_EQ(pieces, 2);
  KerasModel updated = *m;
  ASSERT_TRUE(UpdateFromGraph(&updated, *g).ok());
  ExpectSameWeights(updated, *m);
}

TEST(KerasBuild, TrainingFormKeepsBatchNormAndDropoutWithOrigins) {
  const Json config = Sequential(
      {4, 4, 3}, {Layer("Conv2D", {{"name", "conv"}, {"filters", 2}, {"kernel_size", 3}}),
                  Layer("BatchNormalization", {{"name", "bn"}, {"scale", false}}),
                  Layer("Dropout", {{"name", "drop"}, {"rate", 0.25}}),
                  Layer("DepthwiseConv2D", {{"name", "dw"}, {"kernel_size", 1}})});
  StatusOr<KerasModel> m = ModelFromConfig(config, 1);
  ASSERT_TRUE(m.ok());
  BuildOptions options;
  options.batch_size = 4;
  StatusOr<ir::Graph> g = BuildGraph(*m, options);
  ASSERT_TRUE(g.ok()) << g.status().ToString();
  ASSERT_EQ(g->nodes.size(), 4u);
  EXPECT_EQ(g->tensors[g->inputs[0]].shape, std::vector<int32_t>({4, 4, 4, 3}));
  const ir::Node& bn = g->nodes[1];
  EXPECT_EQ(bn.op, "BATCH_NORM");
  EXPECT_EQ(bn.inputs[1], -1);  // scale=False: no gamma
  EXPECT_EQ(g->tensors[bn.inputs[2]].origin, "bn/beta");
  EXPECT_EQ(g->tensors[bn.inputs[4]].origin, "bn/moving_variance");
  EXPECT_DOUBLE_EQ(ir::GetFloat(bn.attrs, "epsilon", 0), 1e-3);
  EXPECT_EQ(g->nodes[2].op, "DROPOUT");
  EXPECT_DOUBLE_EQ(ir::GetFloat(g->nodes[2].attrs, "rate", 0), 0.25);
  EXPECT_EQ(g->nodes[3].op, "DEPTHWISE_CONV_2D");
  EXPECT_EQ(g->tensors[g->nodes[3].inputs[1]].origin, "dw/depthwise_kernel");
  EXPECT_EQ(g->tensors[g->nodes[3].inputs[1]].shape, std::vector<int32_t>({1, 1, 1, 2}));
}

TEST(KerasBuild, Keras3FunctionalConfig) {
  auto tensor = [](const std::string& layer) {
    return Json{
        {"class_name", "__keras_tensor__"},
        {"config",
         {{"shape", {nullptr, 4}}, {"dtype", "float32"}, {"keras_history", {layer, 0, 0}}}}};
  };
  auto dtype =
      Json{{"module", "keras"}, {"class_name", "DTypePolicy"}, {"config", {{"name", "float32"}}}};
  Json layers = Json::array();
  layers.push_back(
      {{"module", "keras.layers"},
       {"class_name", "InputLayer"},
       {"config", {{"batch_shape", {nullptr, 4}}, {"dtype", "float32"}, {"name", "in"}}},
       {"name", "in"},
       {"inbound_nodes", Json::array()}});
  layers.push_back(
      {{"module", "keras.layers"},
       {"class_name", "Dense"},
       {"config",
        {{"name", "d"},
         {"units", 4},
         {"dtype", dtype},
         {"activation",
          {{"module", "keras.activations"}, {"class_name", "function"}, {"config", "relu"}}},
         {"kernel_initializer",
          {{"module", "keras.initializers"},
           {"class_name", "HeUniform"},
           {"config", {{"seed", nullptr}}}}}}},
       {"name", "d"},
       {"inbound_nodes", {{{"args", {tensor("in")}}, {"kwargs", Json::object()}}}}});
  layers.push_back(
      {{"module", "keras.layers"},
       {"class_name", "Add"},
       {"config", {{"name", "add"}, {"dtype", dtype}}},
       {"name", "add"},
       {"inbound_nodes",
        {{{"args", {Json::array({tensor("d"), tensor("in")})}}, {"kwargs", Json::object()}}}}});
  const Json config = {{"module", "keras"},
                       {"class_name", "Functional"},
                       {"config",
                        {{"name", "f"},
                         {"layers", layers},
                         {"input_layers", {"in", 0, 0}},
                         {"output_layers", {"add", 0, 0}}}}};
  StatusOr<KerasModel> m = ModelFromConfig(config, 5);
  ASSERT_TRUE(m.ok()) << m.status().ToString();
  StatusOr<ir::Graph> g = BuildGraph(*m);
  ASSERT_TRUE(g.ok()) << g.status().ToString();
  ASSERT_EQ(g->nodes.size(), 2u);
  EXPECT_EQ(g->nodes[0].op, "FULLY_CONNECTED");
  EXPECT_EQ(ir::GetString(g->nodes[0].attrs, "fused_activation_function", ""), "RELU");
  EXPECT_EQ(g->nodes[1].op, "ADD");
  EXPECT_EQ(g->nodes[1].inputs[1], g->inputs[0]);
  EXPECT_EQ(g->output_names, std::vector<std::string>({"add"}));
  // he_uniform: limit sqrt(6 / fan_in) = sqrt(1.5).
  double mean, stddev, max_abs;
  Stats(*Var(*m, "d", "kernel"), &mean, &stddev, &max_abs);
  EXPECT_LE(max_abs, std::sqrt(1.5));
}

TEST(KerasBuild, ErrorsNameTheLayer) {
  auto error = [](const Json& config) {
    StatusOr<KerasModel> m = ModelFromConfig(config, 1);
    return m.ok() ? std::string("ok") : m.status().ToString();
  };
  EXPECT_NE(error(Sequential({4, 4, 1}, {Layer("Conv2D", {{"name", "c"},
                                                          {"filters", 2},
                                                          {"kernel_size", 3},
                                                          {"data_format", "channels_first"}})}))
                .find("layer 'c' (Conv2D): data_format 'channels_first'"),
            std::string::npos);
  EXPECT_NE(error(Sequential({4, 2}, {Layer("Lambda", {{"name", "g"}})}))
                .find("layer 'g' (Lambda) cannot be converted: it runs arbitrary Python code"),
            std::string::npos);
  EXPECT_NE(error(Sequential({4, 2}, {Layer("TimeDistributed", {{"name", "g"}})}))
                .find("layer 'g' (TimeDistributed): 'layer' is missing"),
            std::string::npos);
  EXPECT_NE(
      error(Sequential({4, 3}, {Layer("TimeDistributed",
                                      {{"name", "g"},
                                       {"layer", Layer("LSTM", {{"name", "l"}, {"units", 2}})}})}))
          .find("layer 'g' (TimeDistributed): TimeDistributed(LSTM) has no mapping yet"),
      std::string::npos);
  EXPECT_NE(
      error(Sequential({4}, {Layer("TimeDistributed",
                                   {{"name", "g"},
                                    {"layer", Layer("Dense", {{"name", "d"}, {"units", 2}})}})}))
          .find("layer 'g' (TimeDistributed): input [1,4] has no time axis"),
      std::string::npos);
  // Unrolled recurrent layers: options they cannot honour.
  EXPECT_NE(error(Sequential({4, 2}, {Layer("GRU", {{"name", "g"},
                                                    {"units", 2},
                                                    {"recurrent_activation", "hard_sigmoid"}})}))
                .find("layer 'g' (GRU): recurrent_activation 'hard_sigmoid'"),
            std::string::npos);
  EXPECT_NE(
      error(Sequential({4, 2},
                       {Layer("SimpleRNN", {{"name", "s"}, {"units", 2}, {"return_state", true}})}))
          .find("layer 's' (SimpleRNN): return_state"),
      std::string::npos);
  EXPECT_NE(
      error(Sequential({4, 2},
                       {Layer("GRU", {{"name", "g"}, {"units", 2}, {"activation", "softplus"}})}))
          .find("activation 'softplus'"),
      std::string::npos);
  const Json gru = Layer("GRU", {{"name", "inner"}, {"units", 2}});
  EXPECT_NE(
      error(Sequential({4, 2}, {Layer("Bidirectional",
                                      {{"name", "b"}, {"layer", gru}, {"merge_mode", nullptr}})}))
          .find("layer 'b' (Bidirectional): merge_mode None"),
      std::string::npos);
  EXPECT_NE(
      error(Sequential({4, 2}, {Layer("Bidirectional",
                                      {{"name", "b"},
                                       {"layer", Layer("Dense", {{"name", "l"}, {"units", 2}})}})}))
          .find("layer 'b' (Bidirectional): forward layer: wrapped layer 'Dense'"),
      std::string::npos);
  EXPECT_NE(error(Sequential({4, 2}, {Layer("Bidirectional", {{"name", "b"}})}))
                .find("'layer' is missing"),
            std::string::npos);
  EXPECT_NE(error(Sequential({4}, {Layer("GRU", {{"name", "g"}, {"units", 2}})})).find("rank"),
            std::string::npos);
  EXPECT_NE(error(Sequential({4}, {Layer("Dense", {{"name", "d"}, {"units", "two"}})}))
                .find("layer 'd' (Dense): 'units' must be an integer, got string"),
            std::string::npos);
  EXPECT_NE(
      error(Sequential({4}, {Layer("MyCustomLayer", {{"name", "mine"}})})).find("custom layer"),
      std::string::npos);
  EXPECT_NE(error(Sequential({4, 2}, {Layer("LSTM", {{"name", "l"},
                                                     {"units", 2},
                                                     {"recurrent_activation", "hard_sigmoid"}})}))
                .find("recurrent_activation 'hard_sigmoid'"),
            std::string::npos);
  EXPECT_NE(error(Sequential({4}, {Layer("Dense", {{"name", "d"}, {"units", 4}}),
                                   Layer("Dense", {{"name", "d"}, {"units", 4}})}))
                .find("two layers are named 'd' (Keras requires unique layer names)"),
            std::string::npos);
  Json no_shape = Sequential({4}, {});
  no_shape["config"]["layers"] = Json::array({Layer("Dense", {{"name", "d"}, {"units", 2}})});
  EXPECT_NE(error(no_shape).find("declares no input shape"), std::string::npos);
  EXPECT_NE(error(Sequential({-1, 3}, {Layer("Flatten", {{"name", "f"}})})).find("must be known"),
            std::string::npos);
}

// Two nested models that each have a layer 'd': Keras allows it, but edgeopt keys weights by the
// bare layer name. With different shapes the second 'd' got the first one's kernel (found by
// fuzz/keras_config_fuzz); with equal shapes the two shared one set of weights silently, and
// `train` wrote a .keras it could not read back. Now an error that names both models.
TEST(KerasBuild, LayerNameSharedByTwoNestedModelsIsAnError) {
  auto inner = [](const std::string& name, int64_t in, int64_t units) {
    Json model = Sequential({in}, {Layer("Dense", {{"name", "d"}, {"units", units}})});
    model["config"]["name"] = name;
    model["config"]["layers"][0]["config"]["name"] = name + "_in";
    return model;
  };
  for (int64_t units : {5, 3}) {
    const Json config = Sequential({4}, {inner("first", 4, 3), inner("second", 3, units)});
    StatusOr<KerasModel> m = ModelFromConfig(config, 1);
    ASSERT_FALSE(m.ok()) << units;
    EXPECT_EQ(m.status().code(), StatusCode::kUnsupported);
    EXPECT_NE(m.status().ToString().find(
                  "layer name 'd' is used both in nested model 'first' and in nested model "
                  "'second'; edgeopt needs layer names unique across nested models"),
              std::string::npos)
        << m.status().ToString();
  }
  // A nested layer may not take the name of an outer one either.
  const Json outer_too =
      Sequential({4}, {Layer("Dense", {{"name", "d"}, {"units", 4}}), inner("first", 4, 3)});
  StatusOr<KerasModel> m = ModelFromConfig(outer_too, 1);
  ASSERT_FALSE(m.ok());
  EXPECT_NE(
      m.status().ToString().find("'d' is used both in the outer model and in nested model 'first'"),
      std::string::npos)
      << m.status().ToString();
  // Distinct names in the two models build.
  Json renamed = Sequential({4}, {inner("first", 4, 3), inner("second", 3, 3)});
  renamed["config"]["layers"][2]["config"]["layers"][1]["config"]["name"] = "d2";
  EXPECT_TRUE(ModelFromConfig(renamed, 1).ok());
}

TEST(KerasInit, DefaultsFollowKeras) {
  const Json config = Sequential(
      {64},
      {Layer("Dense", {{"name", "glorot"}, {"units", 200}}),
       Layer("Dense",
             {{"name", "he"},
              {"units", 300},
              {"kernel_initializer", {{"class_name", "HeNormal"}, {"config", {{"seed", nullptr}}}}},
              {"bias_initializer", {{"class_name", "Constant"}, {"config", {{"value", 0.25}}}}}}),
       Layer("Dense",
             {{"name", "rn"},
              {"units", 100},
              {"kernel_initializer",
               {{"class_name", "RandomNormal"}, {"config", {{"mean", 1.0}, {"stddev", 0.5}}}}}}),
       Layer("BatchNormalization", {{"name", "bn"}})});
  StatusOr<KerasModel> m = ModelFromConfig(config, 42);
  ASSERT_TRUE(m.ok()) << m.status().ToString();
  double mean, stddev, max_abs;
  // glorot_uniform: U(-l, l), l = sqrt(6 / (64 + 200)); stddev l / sqrt(3).
  const double limit = std::sqrt(6.0 / 264);
  Stats(*Var(*m, "glorot", "kernel"), &mean, &stddev, &max_abs);
  EXPECT_LE(max_abs, limit);
  EXPECT_NEAR(stddev, limit / std::sqrt(3.0), 0.05 * limit);
  EXPECT_NEAR(mean, 0.0, 0.05 * limit);
  Stats(*Var(*m, "glorot", "bias"), &mean, &stddev, &max_abs);
  EXPECT_EQ(max_abs, 0.0);
  // he_normal: truncated normal with stddev sqrt(2 / fan_in), cut at 2 stddev.
  const double he = std::sqrt(2.0 / 200);
  Stats(*Var(*m, "he", "kernel"), &mean, &stddev, &max_abs);
  EXPECT_NEAR(stddev, he, 0.05 * he);
  EXPECT_LE(max_abs, 2.0 * he / 0.87962566103423978 + 1e-6);
  Stats(*Var(*m, "he", "bias"), &mean, &stddev, &max_abs);
  EXPECT_FLOAT_EQ(mean, 0.25);
  Stats(*Var(*m, "rn", "kernel"), &mean, &stddev, &max_abs);
  EXPECT_NEAR(mean, 1.0, 0.02);
  EXPECT_NEAR(stddev, 0.5, 0.02);
  // BatchNormalization: gamma 1, beta 0, moving mean 0, moving variance 1.
  Stats(*Var(*m, "bn", "gamma"), &mean, &stddev, &max_abs);
  EXPECT_EQ(mean, 1.0);
  Stats(*Var(*m, "bn", "moving_mean"), &mean, &stddev, &max_abs);
  EXPECT_EQ(max_abs, 0.0);
  Stats(*Var(*m, "bn", "moving_variance"), &mean, &stddev, &max_abs);
  EXPECT_EQ(mean, 1.0);
  EXPECT_EQ(stddev, 0.0);

  // Deterministic per seed; another seed differs.
  StatusOr<KerasModel> again = ModelFromConfig(config, 42);
  StatusOr<KerasModel> other = ModelFromConfig(config, 43);
  ASSERT_TRUE(again.ok() && other.ok());
  EXPECT_EQ(Var(*again, "he", "kernel")->data, Var(*m, "he", "kernel")->data);
  EXPECT_NE(Var(*other, "he", "kernel")->data, Var(*m, "he", "kernel")->data);
}

TEST(KerasInit, LstmOrthogonalRecurrentAndForgetBias) {
  StatusOr<KerasModel> m =
      ModelFromConfig(Sequential({6, 3}, {Layer("LSTM", {{"name", "l"}, {"units", 5}})}), 9);
  ASSERT_TRUE(m.ok()) << m.status().ToString();
  const NpyArray* r = Var(*m, "l", "recurrent_kernel");
  ASSERT_NE(r, nullptr);
  ASSERT_EQ(r->shape, std::vector<int64_t>({5, 20}));
  // Rows are orthonormal: R R^T = I.
  for (int i = 0; i < 5; ++i) {
    for (int j = 0; j < 5; ++j) {
      double dot = 0;
      for (int k = 0; k < 20; ++k)
        dot += r->Data<float>()[i * 20 + k] * r->Data<float>()[j * 20 + k];
      EXPECT_NEAR(dot, i == j ? 1.0 : 0.0, 1e-5);
    }
  }
  const NpyArray* b = Var(*m, "l", "bias");
  for (int i = 0; i < 20; ++i) EXPECT_EQ(b->Data<float>()[i], i >= 5 && i < 10 ? 1.0f : 0.0f);
}

TEST(KerasInit, GruAndSimpleRnnInitializers) {
  StatusOr<KerasModel> m = ModelFromConfig(
      Sequential({6, 3}, {Layer("GRU", {{"name", "g"}, {"units", 4}, {"return_sequences", true}}),
                          Layer("SimpleRNN", {{"name", "s"}, {"units", 2}})}),
      9);
  ASSERT_TRUE(m.ok()) << m.status().ToString();
  ASSERT_EQ(Var(*m, "g", "kernel")->shape, std::vector<int64_t>({3, 12}));
  const NpyArray* r = Var(*m, "g", "recurrent_kernel");
  ASSERT_EQ(r->shape, std::vector<int64_t>({4, 12}));
  for (int i = 0; i < 4; ++i) {  // orthonormal rows
    for (int j = 0; j < 4; ++j) {
      double dot = 0;
      for (int k = 0; k < 12; ++k)
        dot += r->Data<float>()[i * 12 + k] * r->Data<float>()[j * 12 + k];
      EXPECT_NEAR(dot, i == j ? 1.0 : 0.0, 1e-5);
    }
  }
  const NpyArray* b = Var(*m, "g", "bias");
  ASSERT_EQ(b->shape, std::vector<int64_t>({2, 12}));  // reset_after
  for (int i = 0; i < 24; ++i) EXPECT_EQ(b->Data<float>()[i], 0.0f);
  EXPECT_EQ(Var(*m, "s", "recurrent_kernel")->shape, std::vector<int64_t>({2, 2}));
  EXPECT_EQ(Var(*m, "s", "bias")->shape, std::vector<int64_t>({2}));
}

// Unrolled GRU / Bidirectional: one weight tensor per Keras variable (reset_after bias rows
// apart), every step sharing the recurrent kernel; changes in the graph go back in Keras shapes.
TEST(KerasUpdate, GruAndBidirectionalWriteBack) {
  const Json inner = Layer("GRU", {{"name", "inner"}, {"units", 2}, {"reset_after", false}});
  const Json config =
      Sequential({5, 3}, {Layer("GRU", {{"name", "gru"}, {"units", 4}, {"return_sequences", true}}),
                          Layer("Bidirectional", {{"name", "bi"}, {"layer", inner}}),
                          Layer("Dense", {{"name", "d"}, {"units", 1}})});
  StatusOr<KerasModel> m = ModelFromConfig(config, 4);
  ASSERT_TRUE(m.ok()) << m.status().ToString();
  // Random values everywhere (the initial biases are zeros).
  uint32_t state = 1;
  for (LayerWeights& lw : m->weights) {
    for (auto& [var, a] : lw.vars) {
      for (int64_t i = 0; i < a.NumElements(); ++i) {
        state = state * 1664525u + 1013904223u;
        a.Data<float>()[i] = static_cast<float>(state >> 8) / 16777216.0f - 0.5f;
      }
    }
  }
  const KerasModel original = *m;
  StatusOr<ir::Graph> g = BuildGraph(*m);
  ASSERT_TRUE(g.ok()) << g.status().ToString();
  std::map<std::string, int> consumers;
  std::map<std::string, std::vector<int32_t>> shapes;
  for (const ir::Node& n : g->nodes) {
    for (int i : n.inputs) {
      if (i >= 0 && !g->tensors[i].origin.empty()) ++consumers[g->tensors[i].origin];
    }
  }
  for (const ir::Tensor& t : g->tensors) {
    if (!t.origin.empty()) shapes[t.origin] = t.shape;
  }
  EXPECT_EQ(shapes["gru/kernel"], std::vector<int32_t>({12, 3}));
  EXPECT_EQ(shapes["gru/recurrent_kernel"], std::vector<int32_t>({12, 4}));
  EXPECT_EQ(shapes["gru/bias[0]"], std::vector<int32_t>({12}));
  EXPECT_EQ(shapes["gru/bias[1]"], std::vector<int32_t>({12}));
  EXPECT_EQ(shapes["bi/backward/recurrent_kernel"], std::vector<int32_t>({6, 2}));
  EXPECT_EQ(shapes["bi/forward/bias"], std::vector<int32_t>({6}));
  EXPECT_EQ(consumers["gru/kernel"], 1);
  EXPECT_EQ(consumers["gru/recurrent_kernel"], 4);         // steps 1..4 (step 0 has a zero state)
  EXPECT_EQ(consumers["bi/forward/recurrent_kernel"], 8);  // two FCs per step (reset_after false)
  // Unchanged graph: bit for bit.
  ASSERT_TRUE(UpdateFromGraph(&*m, *g).ok());
  ExpectSameWeights(*m, original);
  // Perturb: graph element i of each weight gets + (i + 1) / 1000.
  for (ir::Tensor& t : g->tensors) {
    if (t.origin.empty() || t.origin[0] == 'd') continue;
    for (int64_t i = 0; i < t.NumElements(); ++i) t.DataAs<float>()[i] += (i + 1) / 1000.0f;
  }
  ASSERT_TRUE(UpdateFromGraph(&*m, *g).ok());
  // kernel [F=3, 3U=12]: Keras [f][j] was graph [j][f].
  const NpyArray* k = Var(*m, "gru", "kernel");
  ASSERT_EQ(k->shape, std::vector<int64_t>({3, 12}));
  for (int f = 0; f < 3; ++f) {
    for (int j = 0; j < 12; ++j) {
      EXPECT_FLOAT_EQ(
          k->Data<float>()[f * 12 + j],
          Var(original, "gru", "kernel")->Data<float>()[f * 12 + j] + (j * 3 + f + 1) / 1000.0f);
    }
  }
  const NpyArray* r = Var(*m, "gru", "recurrent_kernel");
  ASSERT_EQ(r->shape, std::vector<int64_t>({4, 12}));
  EXPECT_FLOAT_EQ(
      r->Data<float>()[1 * 12 + 5],
      Var(original, "gru", "recurrent_kernel")->Data<float>()[17] + (5 * 4 + 1 + 1) / 1000.0f);
  // bias [2, 12]: row 0 from bias[0], row 1 from bias[1].
  const NpyArray* b = Var(*m, "gru", "bias");
  ASSERT_EQ(b->shape, std::vector<int64_t>({2, 12}));
  for (int row = 0; row < 2; ++row) {
    for (int j = 0; j < 12; ++j) {
      EXPECT_FLOAT_EQ(
          b->Data<float>()[row * 12 + j],
          Var(original, "gru", "bias")->Data<float>()[row * 12 + j] + (j + 1) / 1000.0f);
    }
  }
  const NpyArray* bk = Var(*m, "bi", "backward/kernel");
  ASSERT_EQ(bk->shape, std::vector<int64_t>({4, 6}));  // F = 4 (the GRU's units), 3U = 6
  EXPECT_FLOAT_EQ(
      bk->Data<float>()[2 * 6 + 3],
      Var(original, "bi", "backward/kernel")->Data<float>()[15] + (3 * 4 + 2 + 1) / 1000.0f);
  const NpyArray* fb = Var(*m, "bi", "forward/bias");
  ASSERT_EQ(fb->shape, std::vector<int64_t>({6}));
  EXPECT_FLOAT_EQ(fb->Data<float>()[5],
                  Var(original, "bi", "forward/bias")->Data<float>()[5] + 6 / 1000.0f);
  EXPECT_EQ(FindLayerJson(m->config, "gru")->at("config").at("units"), 4);
}

TEST(KerasUpdate, WritesBackThroughLayoutsAndPrunedSizes) {
  const Json config = Sequential(
      {6, 6, 2},
      {Layer("Conv2D", {{"name", "conv"}, {"filters", 4}, {"kernel_size", 3}}),
       Layer("Flatten", {{"name", "flat"}}), Layer("Dense", {{"name", "dense"}, {"units", 3}}),
       Layer("Reshape", {{"name", "r"}, {"target_shape", {3, 1}}}),
       Layer("LSTM", {{"name", "lstm"}, {"units", 2}})});
  StatusOr<KerasModel> m = ModelFromConfig(config, 3);
  ASSERT_TRUE(m.ok()) << m.status().ToString();
  const KerasModel original = *m;
  StatusOr<ir::Graph> g = BuildGraph(*m);
  ASSERT_TRUE(g.ok()) << g.status().ToString();
  // Unchanged graph: every weight comes back bit for bit (including the LSTM gates).
  ASSERT_TRUE(UpdateFromGraph(&*m, *g).ok());
  ExpectSameWeights(*m, original);
  // Prune output channel 3 of the conv (OHWI: the last 18 weights) and double the dense kernel.
  for (ir::Tensor& t : g->tensors) {
    if (t.origin == "conv/kernel") {
      t.shape[0] = 3;
      t.data.resize(3 * 3 * 3 * 2 * 4);
    } else if (t.origin == "conv/bias") {
      t.shape[0] = 3;
      t.data.resize(12);
    } else if (t.origin == "dense/kernel") {
      for (int64_t i = 0; i < t.NumElements(); ++i) t.DataAs<float>()[i] *= 2;
    }
  }
  ASSERT_TRUE(UpdateFromGraph(&*m, *g).ok());
  const NpyArray* kernel = Var(*m, "conv", "kernel");
  ASSERT_EQ(kernel->shape, std::vector<int64_t>({3, 3, 2, 3}));
  // Keras kernel[h, w, c, f] for the kept filters is unchanged.
  const NpyArray* old_kernel = Var(original, "conv", "kernel");
  for (int hwc = 0; hwc < 18; ++hwc) {
    for (int f = 0; f < 3; ++f) {
      EXPECT_EQ(kernel->Data<float>()[hwc * 3 + f], old_kernel->Data<float>()[hwc * 4 + f]);
    }
  }
  EXPECT_EQ(FindLayerJson(m->config, "conv")->at("config").at("filters"), 3);
  const NpyArray* dense = Var(*m, "dense", "kernel");
  const NpyArray* old_dense = Var(original, "dense", "kernel");
  for (int64_t i = 0; i < dense->NumElements(); ++i) {
    EXPECT_EQ(dense->Data<float>()[i], 2 * old_dense->Data<float>()[i]);
  }
}

}  // namespace
}  // namespace keras
}  // namespace edgeopt
