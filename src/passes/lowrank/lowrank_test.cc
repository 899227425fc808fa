#include "src/passes/lowrank/lowrank.h"

#include <gtest/gtest.h>

#include <cmath>
#include <string>
#include <vector>

#include "src/export/tflite/export.h"
#include "src/importers/keras/keras_config.h"
#include "src/passes/model_loader.h"
#include "src/train/engine.h"
#include "src/train/presets.h"
#include "src/train/rng.h"
#include "src/util/file_util.h"
#include "tests/model_builder.h"
#include "tests/test_util.h"

namespace edgeopt {
namespace lowrank {
namespace {

using Json = nlohmann::json;

std::vector<float> Normal(int64_t n, uint64_t seed) {
  train::SplitMix64 rng(seed);
  std::vector<float> v(static_cast<size_t>(n));
  for (float& x : v) x = static_cast<float>(rng.NextNormal());
  return v;
}

// U diag(s) Vt, rows x cols.
std::vector<double> Reconstruct(const Svd& d, int rank) {
  std::vector<double> a(static_cast<size_t>(d.rows) * d.cols, 0.0);
  for (int r = 0; r < d.rows; ++r) {
    for (int c = 0; c < d.cols; ++c) {
      double s = 0.0;
      for (int j = 0; j < rank; ++j) {
        s += d.u[static_cast<size_t>(r) * d.k + j] * d.s[j] *
             d.vt[static_cast<size_t>(j) * d.cols + c];
      }
      a[static_cast<size_t>(r) * d.cols + c] = s;
    }
  }
  return a;
}

TEST(Svd, TwoByTwoGolden) {
  // A^T A = [[25, 20], [20, 25]]: eigenvalues 45 and 5.
  const float a[] = {3, 0, 4, 5};
  const Svd d = ComputeSvd(a, 2, 2);
  ASSERT_EQ(d.k, 2);
  EXPECT_NEAR(d.s[0], std::sqrt(45.0), 1e-12);
  EXPECT_NEAR(d.s[1], std::sqrt(5.0), 1e-12);
  const std::vector<double> back = Reconstruct(d, 2);
  for (int i = 0; i < 4; ++i) EXPECT_NEAR(back[i], a[i], 1e-12) << i;
}

TEST(Svd, TallAndWideMatricesReconstructWithOrthonormalVectors) {
  for (const auto& [rows, cols] :
       std::vector<std::pair<int, int>>{{37, 13}, {13, 37}, {1, 5}, {6, 1}, {64, 64}}) {
    const std::vector<float> a = Normal(int64_t{rows} * cols, rows * 100 + cols);
    const Svd d = ComputeSvd(a.data(), rows, cols);
    ASSERT_EQ(d.k, std::min(rows, cols));
    EXPECT_LT(d.sweeps, 20);
    for (int j = 0; j + 1 < d.k; ++j) EXPECT_GE(d.s[j], d.s[j + 1]);
    const std::vector<double> back = Reconstruct(d, d.k);
    for (size_t i = 0; i < a.size(); ++i) ASSERT_NEAR(back[i], a[i], 1e-9) << rows << "x" << cols;
    // U^T U = I and Vt Vt^T = I.
    for (int p = 0; p < d.k; ++p) {
      for (int q = 0; q < d.k; ++q) {
        double uu = 0.0, vv = 0.0;
        for (int r = 0; r < rows; ++r) {
          uu += d.u[static_cast<size_t>(r) * d.k + p] * d.u[static_cast<size_t>(r) * d.k + q];
        }
        for (int c = 0; c < cols; ++c) {
          vv += d.vt[static_cast<size_t>(p) * cols + c] * d.vt[static_cast<size_t>(q) * cols + c];
        }
        ASSERT_NEAR(uu, p == q ? 1.0 : 0.0, 1e-10) << rows << "x" << cols;
        ASSERT_NEAR(vv, p == q ? 1.0 : 0.0, 1e-10) << rows << "x" << cols;
      }
    }
  }
}

TEST(Svd, ZeroMatrixHasZeroValuesAndVectors) {
  const std::vector<float> a(12, 0.0f);
  const Svd d = ComputeSvd(a.data(), 3, 4);
  for (double s : d.s) EXPECT_EQ(s, 0.0);
  for (double u : d.u) EXPECT_EQ(u, 0.0);
  const Factors f = Factorize(d, 2);
  for (float x : f.first) EXPECT_EQ(x, 0.0f);
  EXPECT_EQ(f.energy, 1.0);
}

TEST(Factorize, ExactForALowRankMatrixAndEckartYoungOtherwise) {
  // A rank-2 matrix 20 x 30: two outer products.
  const std::vector<float> x = Normal(20 * 2, 1), y = Normal(2 * 30, 2);
  std::vector<float> a(20 * 30, 0.0f);
  for (int r = 0; r < 20; ++r) {
    for (int c = 0; c < 30; ++c) {
      for (int j = 0; j < 2; ++j) a[r * 30 + c] += x[r * 2 + j] * y[j * 30 + c];
    }
  }
  const Svd d = ComputeSvd(a.data(), 20, 30);
  EXPECT_LT(d.s[2], 1e-5 * d.s[0]);
  const Factors f = Factorize(d, 2);
  ASSERT_EQ(f.first.size(), 2u * 30);
  ASSERT_EQ(f.second.size(), 20u * 2);
  for (int r = 0; r < 20; ++r) {
    for (int c = 0; c < 30; ++c) {
      const float p = f.second[r * 2] * f.first[c] + f.second[r * 2 + 1] * f.first[30 + c];
      ASSERT_NEAR(p, a[r * 30 + c], 1e-4f);
    }
  }
  EXPECT_NEAR(f.relative_error, 0.0, 1e-4);

  // A full-rank matrix: the error of the rank-r product is the norm of the dropped values.
  const std::vector<float> b = Normal(24 * 16, 3);
  const Svd e = ComputeSvd(b.data(), 24, 16);
  for (int rank : {1, 5, 15}) {
    const Factors g = Factorize(e, rank);
    double err = 0.0, norm = 0.0;
    for (int r = 0; r < 24; ++r) {
      for (int c = 0; c < 16; ++c) {
        double p = 0.0;
        for (int j = 0; j < rank; ++j) p += g.second[r * rank + j] * g.first[j * 16 + c];
        err += (p - b[r * 16 + c]) * (p - b[r * 16 + c]);
        norm += static_cast<double>(b[r * 16 + c]) * b[r * 16 + c];
      }
    }
    double dropped = 0.0;
    for (int j = rank; j < 16; ++j) dropped += e.s[j] * e.s[j];
    EXPECT_NEAR(err, dropped, 1e-4 * norm) << rank;
    EXPECT_NEAR(g.relative_error, std::sqrt(err / norm), 1e-4) << rank;
    EXPECT_NEAR(g.energy, 1.0 - dropped / norm, 1e-6) << rank;
  }
}

TEST(ChooseRank, RulesAndBreakEven) {
  EXPECT_EQ(BreakEvenRank(128, 1600), 118);  // 118 * 1728 = 203904 < 204800 <= 119 * 1728
  EXPECT_EQ(BreakEvenRank(64, 288), 52);
  EXPECT_EQ(BreakEvenRank(1, 10), 0);
  const std::vector<double> s = {4, 2, 1, 1};  // energy 16, 4, 1, 1 of 22
  RankRule energy{RankRule::Kind::kEnergy, 0.7};
  EXPECT_EQ(ChooseRank(s, 4, 4, energy), 1);  // 16/22 = 0.727
  energy.value = 0.9;
  EXPECT_EQ(ChooseRank(s, 4, 4, energy), 2);  // 20/22 = 0.909
  energy.value = 0.95;                        // 21/22 = 0.955
  EXPECT_EQ(ChooseRank(s, 4, 4, energy), 3);
  energy.value = 1.0;
  EXPECT_EQ(ChooseRank(s, 4, 4, energy), 4);
  const RankRule params{RankRule::Kind::kParams, 0.25};
  EXPECT_EQ(ChooseRank(std::vector<double>(128, 1.0), 128, 1600, params), 29);  // 51200 / 1728
  EXPECT_EQ(ChooseRank(std::vector<double>(4, 1.0), 4, 4, params), 1);          // at least 1
  const RankRule fixed{RankRule::Kind::kRank, 300};
  EXPECT_EQ(ChooseRank(s, 4, 4, fixed), 4);  // at most k
  EXPECT_NEAR(EnergyKept(s, 2), 20.0 / 22.0, 1e-12);
  // Rounded to a multiple: up (29 -> 32), or down when up would reach the break-even (118).
  RankRule rounded = params;
  rounded.multiple = 8;
  EXPECT_EQ(ChooseRank(std::vector<double>(128, 1.0), 128, 1600, rounded), 32);
  rounded.kind = RankRule::Kind::kRank;
  rounded.value = 115;
  EXPECT_EQ(ChooseRank(std::vector<double>(128, 1.0), 128, 1600, rounded), 112);
  rounded.value = 3;  // up to 8; a multiple of 8 below 3 there is none: 8
  EXPECT_EQ(ChooseRank(std::vector<double>(128, 1.0), 128, 1600, rounded), 8);
  EXPECT_EQ(RankRuleName(params), "params 0.25");
}

// A functional model: input 8x8x3 -> c1 (Conv2D 16, 3x3, stride 2, same, relu) -> c2 (Conv2D
// 16, 3x3, same, dilation 1) -> add(c1, c2) -> flatten -> d1 (Dense 24, relu) -> d2 (Dense 5),
// in the Keras 2 or the Keras 3 config format.
Json FunctionalConfig(bool keras3) {
  auto ref = [&](const std::string& layer, const std::vector<int>& shape) -> Json {
    if (!keras3) return Json::array({layer, 0, 0, Json::object()});
    Json s = Json::array({nullptr});
    for (int d : shape) s.push_back(d);
    return {{"class_name", "__keras_tensor__"},
            {"config", {{"shape", s}, {"dtype", "float32"}, {"keras_history", {layer, 0, 0}}}}};
  };
  auto node = [&](const std::vector<Json>& refs) -> Json {
    if (!keras3) return Json(refs);
    return {{"args", refs.size() == 1 ? Json::array({refs[0]}) : Json::array({Json(refs)})},
            {"kwargs", Json::object()}};
  };
  auto layer = [&](const std::string& cls, const std::string& name, Json config,
                   const std::vector<Json>& refs) {
    config["name"] = name;
    Json l = {{"class_name", cls}, {"config", config}, {"name", name}};
    l["inbound_nodes"] = refs.empty() ? Json::array() : Json::array({node(refs)});
    if (keras3) l["module"] = "keras.layers";
    return l;
  };
  Json conv = {{"kernel_size", {3, 3}},
               {"padding", "same"},
               {"activation", "relu"},
               {"use_bias", true},
               {"dilation_rate", {1, 1}}};
  Json c1 = conv, c2 = conv;
  c1["filters"] = 16;
  c1["strides"] = {2, 2};
  c2["filters"] = 16;
  c2["strides"] = {1, 1};
  Json layers = Json::array();
  layers.push_back(layer(
      "InputLayer", "in",
      {{keras3 ? "batch_shape" : "batch_input_shape", {nullptr, 8, 8, 3}}, {"dtype", "float32"}},
      {}));
  layers.push_back(layer("Conv2D", "c1", c1, {ref("in", {8, 8, 3})}));
  layers.push_back(layer("Conv2D", "c2", c2, {ref("c1", {4, 4, 16})}));
  layers.push_back(
      layer("Add", "add", Json::object(), {ref("c1", {4, 4, 16}), ref("c2", {4, 4, 16})}));
  layers.push_back(layer("Flatten", "flatten", Json::object(), {ref("add", {4, 4, 16})}));
  layers.push_back(
      layer("Dense", "d1", {{"units", 24}, {"activation", "relu"}}, {ref("flatten", {256})}));
  layers.push_back(
      layer("Dense", "d2", {{"units", 5}, {"activation", "linear"}}, {ref("d1", {24})}));
  return {{"class_name", "Functional"},
          {"config",
           {{"name", "m"},
            {"layers", layers},
            {"input_layers", Json::array({Json::array({"in", 0, 0})})},
            {"output_layers", Json::array({Json::array({"d2", 0, 0})})}}}};
}

// The model's outputs on `batch` seeded random inputs.
std::vector<float> Outputs(const ir::Graph& g, int batch) {
  train::EngineOptions eo;
  eo.batch_size = batch;
  auto engine = train::Engine::Create(g, eo);
  EXPECT_TRUE(engine.ok()) << engine.status().ToString();
  if (!engine.ok()) return {};
  const ir::Tensor& in = g.tensors[g.inputs[0]];
  int64_t sample = 1;
  for (size_t i = 1; i < in.shape.size(); ++i) sample *= in.shape[i];
  const std::vector<float> x = Normal(sample * batch, 99);
  EXPECT_TRUE((*engine)->Forward(x.data(), batch, false).ok());
  const ir::Tensor& out = g.tensors[g.outputs[0]];
  int64_t n = batch;
  for (size_t i = 1; i < out.shape.size(); ++i) n *= out.shape[i];
  return std::vector<float>((*engine)->Output(), (*engine)->Output() + n);
}

void ExpectClose(const std::vector<float>& a, const std::vector<float>& b, float tol) {
  ASSERT_EQ(a.size(), b.size());
  float scale = 0.0f;
  for (float x : a) scale = std::max(scale, std::fabs(x));
  for (size_t i = 0; i < a.size(); ++i) ASSERT_NEAR(a[i], b[i], tol * scale) << i;
}

// The plan for `layers`, each at its full rank (the product is the kernel itself, so the model
// computes what it did).
Plan FullRankPlan(const ir::Graph& g, const keras::KerasModel& m,
                  const std::vector<std::string>& layers) {
  auto plan = PlanFactorization(g, &m, layers, {}, RankRule{RankRule::Kind::kRank, 1});
  EXPECT_TRUE(plan.ok()) << plan.status().ToString();
  if (!plan.ok()) return {};
  for (LayerPlan& lp : plan->layers) lp.rank = lp.svd.k;
  return *plan;
}

// `nodes_per_layer`: nodes a layer of the model adds to the graph (a Conv1D: RESHAPE, CONV_2D,
// RESHAPE).
void CheckFullRankSplitKeepsOutputs(const Json& config, const std::vector<std::string>& layers,
                                    size_t nodes_per_layer = 1) {
  auto model = keras::ModelFromConfig(config, 5);
  ASSERT_TRUE(model.ok()) << model.status().ToString();
  auto graph = keras::BuildGraph(*model);
  ASSERT_TRUE(graph.ok()) << graph.status().ToString();
  const std::vector<float> before = Outputs(*graph, 3);
  const Plan plan = FullRankPlan(*graph, *model, layers);
  ASSERT_EQ(plan.layers.size(), layers.size());
  auto reports = FactorizeKerasModel(&*model, plan);
  ASSERT_TRUE(reports.ok()) << reports.status().ToString();
  ASSERT_EQ(reports->size(), layers.size());
  auto split = keras::BuildGraph(*model);
  ASSERT_TRUE(split.ok()) << split.status().ToString() << "\n" << model->config.dump(1);
  // Two nodes per factorized layer; the first has the original's name + "_lowrank".
  EXPECT_EQ(split->nodes.size(), graph->nodes.size() + nodes_per_layer * layers.size());
  for (const std::string& name : layers) {
    EXPECT_NE(keras::FindLayerJson(model->config, name + "_lowrank"), nullptr) << name;
  }
  ExpectClose(before, Outputs(*split, 3), 1e-4f);

  // Saved as .keras and as .h5 and loaded again: the same model.
  const std::string dir = testing::MakeTempDir("lowrank");
  for (const char* ext : {".keras", ".h5"}) {
    const std::string path = dir + "/m" + ext;
    ASSERT_TRUE(keras::SaveKerasFile(*model, path).ok()) << ext;
    auto loaded = keras::LoadKerasFile(path);
    ASSERT_TRUE(loaded.ok()) << ext << ": " << loaded.status().ToString();
    auto g = keras::BuildGraph(*loaded);
    ASSERT_TRUE(g.ok()) << ext << ": " << g.status().ToString();
    ExpectClose(before, Outputs(*g, 3), 1e-4f);
  }
  testing::RunCommand("rm -rf '" + dir + "'");
}

TEST(FactorizeKerasModel, FullRankKeepsTheOutputsOfASequentialModel) {
  auto config = train::PresetKerasConfig("fmnist-cnn");
  ASSERT_TRUE(config.ok());
  CheckFullRankSplitKeepsOutputs(*config, {"conv2d_1", "dense"});
}

TEST(FactorizeKerasModel, FullRankKeepsTheOutputsOfFunctionalModels) {
  for (bool keras3 : {false, true}) {
    SCOPED_TRACE(keras3 ? "Keras 3" : "Keras 2");
    CheckFullRankSplitKeepsOutputs(FunctionalConfig(keras3), {"c1", "c2", "d1"});
  }
}

TEST(FactorizeKerasModel, FullRankKeepsTheOutputsOfConv1DLayers) {
  // input [32, 4] -> c1 (Conv1D 16, 5, stride 2, same, relu) -> c2 (Conv1D 24, 3, valid,
  // dilation 2) -> flatten -> d (Dense 6).
  const Json config = Json::parse(R"({"class_name": "Sequential", "config": {"name": "s",
    "layers": [
      {"class_name": "InputLayer", "config": {"batch_input_shape": [null, 32, 4], "name": "in"}},
      {"class_name": "Conv1D", "config": {"name": "c1", "filters": 16, "kernel_size": [5],
       "strides": [2], "padding": "same", "dilation_rate": [1], "activation": "relu",
       "use_bias": true}},
      {"class_name": "Conv1D", "config": {"name": "c2", "filters": 24, "kernel_size": [3],
       "strides": [1], "padding": "valid", "dilation_rate": [2], "activation": "linear",
       "use_bias": true}, "build_config": {"input_shape": [null, 16, 16]}},
      {"class_name": "Flatten", "config": {"name": "flatten"}},
      {"class_name": "Dense", "config": {"name": "d", "units": 6, "activation": "linear"}}]}})");
  CheckFullRankSplitKeepsOutputs(config, {"c1", "c2"}, 3);
  auto model = keras::ModelFromConfig(config, 2);
  ASSERT_TRUE(model.ok());
  auto graph = keras::BuildGraph(*model);
  ASSERT_TRUE(graph.ok());
  auto plan = PlanFactorization(*graph, &*model, {"c2"}, {}, RankRule{RankRule::Kind::kRank, 5});
  ASSERT_TRUE(plan.ok());
  ASSERT_EQ(plan->layers.size(), 1u);
  EXPECT_EQ(plan->layers[0].in, 3 * 16);
  EXPECT_EQ(plan->layers[0].positions, 12);  // (16 - 2 * 2)
  ASSERT_TRUE(FactorizeKerasModel(&*model, *plan).ok());
  const Json* second = keras::FindLayerJson(model->config, "c2");
  EXPECT_EQ((*second)["config"]["kernel_size"], Json::array({1}));
  EXPECT_EQ((*second)["config"]["dilation_rate"], Json::array({1}));
  // Keras 3's build shapes: the first layer builds on the original's input, the second on
  // [batch, length, rank] (the graph's [B, 1, L, F] without its 1).
  EXPECT_EQ((*keras::FindLayerJson(model->config, "c2_lowrank"))["build_config"]["input_shape"],
            Json::parse("[null, 16, 16]"));
  EXPECT_EQ((*second)["build_config"]["input_shape"], Json::parse("[null, 12, 5]"));
  for (const keras::LayerWeights& w : model->weights) {
    if (w.layer == "c2_lowrank") {
      EXPECT_EQ(w.vars[0].second.shape, (std::vector<int64_t>{3, 16, 5}));
    }
    if (w.layer == "c2") {
      EXPECT_EQ(w.vars[0].second.shape, (std::vector<int64_t>{1, 5, 24}));
    }
  }
}

TEST(FactorizeKerasModel, ConfigOfTheTwoLayers) {
  auto model = keras::ModelFromConfig(FunctionalConfig(true), 1);
  ASSERT_TRUE(model.ok());
  auto graph = keras::BuildGraph(*model);
  ASSERT_TRUE(graph.ok());
  auto plan = PlanFactorization(*graph, &*model, {"c2"}, {}, RankRule{RankRule::Kind::kRank, 4});
  ASSERT_TRUE(plan.ok());
  ASSERT_EQ(plan->layers.size(), 1u);
  auto reports = FactorizeKerasModel(&*model, *plan);
  ASSERT_TRUE(reports.ok());
  const LayerReport& r = (*reports)[0];
  EXPECT_EQ(r.first_layer, "c2_lowrank");
  EXPECT_EQ(r.rank, 4);
  EXPECT_EQ(r.weights_before, 16 * 144);
  EXPECT_EQ(r.weights_after, 4 * (16 + 144));
  EXPECT_EQ(r.macs_before, 16 * r.weights_before);  // 4x4 output positions
  const Json* first = keras::FindLayerJson(model->config, "c2_lowrank");
  const Json* second = keras::FindLayerJson(model->config, "c2");
  ASSERT_NE(first, nullptr);
  ASSERT_NE(second, nullptr);
  EXPECT_EQ((*first)["config"]["filters"], 4);
  EXPECT_EQ((*first)["config"]["use_bias"], false);
  EXPECT_EQ((*first)["config"]["activation"], "linear");
  EXPECT_EQ((*first)["config"]["kernel_size"], Json::array({3, 3}));
  EXPECT_EQ((*first)["inbound_nodes"][0]["args"][0]["config"]["keras_history"][0], "c1");
  EXPECT_EQ((*second)["config"]["kernel_size"], Json::array({1, 1}));
  EXPECT_EQ((*second)["config"]["activation"], "relu");
  EXPECT_EQ((*second)["inbound_nodes"][0]["args"][0]["config"]["keras_history"][0], "c2_lowrank");
  EXPECT_EQ((*second)["inbound_nodes"][0]["args"][0]["config"]["shape"],
            Json::parse("[null, 4, 4, 4]"));
  // The layer list: c2_lowrank right before c2; its weights before c2's.
  const Json& layers = model->config["config"]["layers"];
  EXPECT_EQ(keras::LayerName(layers[2]), "c2_lowrank");
  EXPECT_EQ(keras::LayerName(layers[3]), "c2");
  for (size_t i = 0; i < model->weights.size(); ++i) {
    if (model->weights[i].layer == "c2_lowrank") {
      ASSERT_LT(i + 1, model->weights.size());
      EXPECT_EQ(model->weights[i + 1].layer, "c2");
      EXPECT_EQ(model->weights[i].vars.size(), 1u);  // no bias
      EXPECT_EQ(model->weights[i].vars[0].second.shape, (std::vector<int64_t>{3, 3, 16, 4}));
      EXPECT_EQ(model->weights[i + 1].vars[0].second.shape, (std::vector<int64_t>{1, 1, 4, 16}));
    }
  }
}

// The official converter's float ResNet (.tflite, unnamed nodes): at full rank the split graph
// computes what the file did; at the default ranks the official runtime agrees with edgeopt's.
TEST(FactorizeGraph, OfficialConverterTflite) {
  const std::string path = testing::CorpusPath("mlcommons-tiny/pretrainedResnet.tflite");
  auto original = ReadFileBytes(path);
  ASSERT_TRUE(original.ok()) << path;
  auto loaded = passes::LoadModelGraph(path);
  ASSERT_TRUE(loaded.ok()) << loaded.status().ToString();
  const ir::Tensor& in = loaded->graph.tensors[loaded->graph.inputs[0]];
  const std::vector<NpyArray> inputs = {testing::RandomArray(DType::kFloat32, in.shape, 7)};
  auto before = testing::RunEdgeopt(*original, inputs);
  ASSERT_TRUE(before.ok()) << before.status().ToString();

  ir::Graph full = loaded->graph;
  auto plan = PlanFactorization(full, nullptr, {}, {}, RankRule{RankRule::Kind::kRank, 1});
  ASSERT_TRUE(plan.ok()) << plan.status().ToString();
  ASSERT_EQ(plan->layers.size(), 10u);  // 9 convolutions and the dense layer
  EXPECT_EQ(plan->layers[0].layer, "model/conv2d/Conv2D");
  for (LayerPlan& lp : plan->layers) lp.rank = lp.svd.k;
  auto reports = FactorizeGraph(&full, *plan);
  ASSERT_TRUE(reports.ok()) << reports.status().ToString();
  EXPECT_EQ(full.nodes.size(), loaded->graph.nodes.size() + 10);
  auto bytes = ExportTflite(full);
  ASSERT_TRUE(bytes.ok()) << bytes.status().ToString();
  auto after = testing::RunEdgeopt(*bytes, inputs);
  ASSERT_TRUE(after.ok()) << after.status().ToString();
  const float* a = (*before)[0].Data<float>();
  const float* b = (*after)[0].Data<float>();
  for (int64_t i = 0; i < (*before)[0].NumElements(); ++i) ASSERT_NEAR(a[i], b[i], 1e-4f) << i;

  ir::Graph small = loaded->graph;
  plan = PlanFactorization(small, nullptr, {}, {}, RankRule{}, {}, 4096);
  ASSERT_TRUE(plan.ok());
  ASSERT_EQ(plan->layers.size(), 4u);  // the convolutions of at least 4096 weights
  EXPECT_EQ(plan->layers[0].layer, "model/conv2d_3/Conv2D");
  ASSERT_TRUE(FactorizeGraph(&small, *plan).ok());
  bytes = ExportTflite(small);
  ASSERT_TRUE(bytes.ok()) << bytes.status().ToString();
  EXPECT_LT(bytes->size() * 2, original->size());
  auto ours = testing::RunEdgeopt(*bytes, inputs);
  ASSERT_TRUE(ours.ok()) << ours.status().ToString();
  if (!testing::TfliteRefAvailable()) GTEST_SKIP() << "tflite-ref not available";
  auto ref = testing::RunTfliteRef(*bytes, inputs);
  ASSERT_TRUE(ref.ok()) << ref.status().ToString();
  for (int64_t i = 0; i < (*ref)[0].NumElements(); ++i) {
    ASSERT_NEAR((*ours)[0].Data<float>()[i], (*ref)[0].Data<float>()[i], 1e-5f) << i;
  }
}

// The fmnist-cnn preset (seed 1) and its graph.
void PresetModel(keras::KerasModel* model, ir::Graph* graph) {
  auto config = train::PresetKerasConfig("fmnist-cnn");
  ASSERT_TRUE(config.ok());
  auto m = keras::ModelFromConfig(*config, 1);
  ASSERT_TRUE(m.ok());
  auto g = keras::BuildGraph(*m);
  ASSERT_TRUE(g.ok());
  *model = std::move(*m);
  *graph = std::move(*g);
}

// Each point factorizes one layer at its fraction's rank: the graph has one node more, and the
// factorized kernel has the rank's rows. Fractions at or above the break-even are left out.
TEST(MeasureSensitivity, OneLayerAtATimeAtEachFraction) {
  keras::KerasModel m;
  ir::Graph g;
  ASSERT_NO_FATAL_FAILURE(PresetModel(&m, &g));
  const ir::Graph* graph = &g;
  auto plan = PlanFactorization(*graph, nullptr, {"conv2d_1", "dense_1"}, {},
                                RankRule{RankRule::Kind::kRank, 1});
  ASSERT_TRUE(plan.ok());
  ASSERT_EQ(plan->layers.size(), 2u);
  std::vector<int> ranks_seen;
  auto accuracy = [&](const ir::Graph& g) -> StatusOr<double> {
    EXPECT_EQ(g.nodes.size(), graph->nodes.size() + 1);
    for (const ir::Node& n : g.nodes) {
      if (n.name.size() > 8 && n.name.compare(n.name.size() - 8, 8, "_lowrank") == 0) {
        ranks_seen.push_back(g.tensors[n.inputs[1]].shape[0]);
      }
    }
    return 0.5;
  };
  auto result = MeasureSensitivity(*graph, *plan, {0.5, 0.125, 0.95}, 1, accuracy);
  ASSERT_TRUE(result.ok()) << result.status().ToString();
  ASSERT_EQ(result->size(), 2u);
  const LayerSensitivity& conv = (*result)[0];
  EXPECT_EQ(conv.layer, "conv2d_1");
  ASSERT_EQ(conv.points.size(), 3u);  // 0.5 -> 26, 0.125 -> 6, 0.95 -> 49 (break-even 52)
  EXPECT_EQ(conv.points[0].rank, 26);
  EXPECT_EQ(conv.points[1].rank, 6);
  EXPECT_EQ(conv.points[2].rank, 49);
  EXPECT_EQ(conv.points[0].weights, 26 * (64 + 288));
  EXPECT_EQ(conv.points[0].accuracy, 0.5);
  // dense_1 (10 x 128, break-even 9): 0.5 -> 4, 0.125 -> 1, 0.95 -> 8.
  const LayerSensitivity& dense = (*result)[1];
  ASSERT_EQ(dense.points.size(), 3u);
  EXPECT_EQ(dense.points[1].rank, 1);
  EXPECT_EQ(ranks_seen, (std::vector<int>{26, 6, 49, 4, 1, 8}));
}

TEST(PlanFactorization, NotesAndErrors) {
  keras::KerasModel m;
  ir::Graph g;
  ASSERT_NO_FATAL_FAILURE(PresetModel(&m, &g));
  auto* model = &m;
  auto* graph = &g;
  // Default: conv2d (288 weights) and dense_1 (1280) are below --min-weights.
  auto plan = PlanFactorization(*graph, &*model, {}, {}, RankRule{}, {}, 4096);
  ASSERT_TRUE(plan.ok());
  ASSERT_EQ(plan->layers.size(), 2u);
  EXPECT_EQ(plan->layers[0].layer, "conv2d_1");
  EXPECT_EQ(plan->layers[0].rank, 13);  // 0.25 * 18432 / 352
  EXPECT_EQ(plan->layers[1].layer, "dense");
  EXPECT_EQ(plan->layers[1].rank, 29);
  ASSERT_EQ(plan->notes.size(), 2u);
  EXPECT_NE(plan->notes[0].find("conv2d: 288 weights, fewer than --min-weights"),
            std::string::npos);
  // Named layers are planned whatever their size; --skip and --layer-ranks.
  plan = PlanFactorization(*graph, &*model, {"conv2d", "dense"}, {"dense"}, RankRule{},
                           {{"conv2d", 2}}, 4096);
  ASSERT_TRUE(plan.ok());
  ASSERT_EQ(plan->layers.size(), 1u);
  EXPECT_EQ(plan->layers[0].rank, 2);
  // A rank at or above the break-even: left out with a note.
  plan = PlanFactorization(*graph, &*model, {"dense_1"}, {}, RankRule{RankRule::Kind::kRank, 10});
  ASSERT_TRUE(plan.ok());
  EXPECT_TRUE(plan->layers.empty());
  ASSERT_EQ(plan->notes.size(), 4u);
  EXPECT_NE(plan->notes[3].find("would not make it smaller"), std::string::npos) << plan->notes[3];
  // Unknown names are errors listing the layers.
  plan = PlanFactorization(*graph, &*model, {"nope"}, {}, RankRule{});
  ASSERT_FALSE(plan.ok());
  EXPECT_NE(plan.status().message().find("conv2d, conv2d_1, dense, dense_1"), std::string::npos)
      << plan.status().ToString();
  // Two layers of one name in the config (which the importer refuses; here the config is
  // edited after the graph was built): that layer is left out, the others are planned.
  keras::KerasModel twice = *model;
  Json& layers = twice.config["config"]["layers"];
  layers[layers.size() - 1]["config"]["name"] = "dense";  // dense_1 renamed "dense"
  plan = PlanFactorization(*graph, &twice, {}, {}, RankRule{}, {}, 0);
  ASSERT_TRUE(plan.ok());
  for (const LayerPlan& lp : plan->layers) EXPECT_NE(lp.layer, "dense");
  EXPECT_EQ(plan->layers[0].layer, "conv2d");
  bool noted = false;
  for (const std::string& note : plan->notes) {
    noted |= note.find("dense: more than one layer has this name") != std::string::npos;
  }
  EXPECT_TRUE(noted);
  auto ranks = ParseLayerRanks("dense=16,conv2d_1=8");
  ASSERT_TRUE(ranks.ok());
  EXPECT_EQ(ranks->at("dense"), 16);
  EXPECT_FALSE(ParseLayerRanks("dense=0").ok());
  EXPECT_FALSE(ParseLayerRanks("dense").ok());
}

}  // namespace
}  // namespace lowrank
}  // namespace edgeopt
