// Loading and saving Keras files: the corpus's Keras 2 .h5 (full and
// weights-only), Keras 3 .keras, nested models; round trips through .keras and
// .h5 in the layouts Keras writes.
#include <gtest/gtest.h>
#include <unistd.h>

#include <csignal>
#include <cstdio>

#include "src/importers/keras/hdf5_io.h"
#include "src/importers/keras/isolated_load.h"
#include "src/importers/keras/keras_config.h"
#include "src/importers/keras/keras_model.h"
#include "src/importers/keras/zip_io.h"
#include "src/util/file_util.h"
#include "tests/test_util.h"

namespace edgeopt {
namespace keras {
namespace {

using edgeopt::testing::CorpusPath;

const LayerWeights* Find(const KerasModel& m, const std::string& layer) {
  for (const LayerWeights& lw : m.weights) {
    if (lw.layer == layer) return &lw;
  }
  return nullptr;
}

std::vector<std::string> VarNames(const LayerWeights& lw) {
  std::vector<std::string> names;
  for (const auto& v : lw.vars) names.push_back(v.first);
  return names;
}

void ExpectSameWeights(const KerasModel& a, const KerasModel& b) {
  ASSERT_EQ(a.weights.size(), b.weights.size());
  for (size_t i = 0; i < a.weights.size(); ++i) {
    const LayerWeights* other = Find(b, a.weights[i].layer);
    ASSERT_NE(other, nullptr) << a.weights[i].layer;
    ASSERT_EQ(VarNames(a.weights[i]), VarNames(*other)) << a.weights[i].layer;
    for (size_t v = 0; v < other->vars.size(); ++v) {
      EXPECT_EQ(a.weights[i].vars[v].second.shape, other->vars[v].second.shape);
      EXPECT_EQ(a.weights[i].vars[v].second.data, other->vars[v].second.data);
    }
  }
}

class KerasIo : public ::testing::Test {
 protected:
  void SetUp() override { dir_ = edgeopt::testing::MakeTempDir("keras_io"); }
  void TearDown() override { edgeopt::testing::RunCommand("rm -rf '" + dir_ + "'"); }
  std::string dir_;
};

TEST_F(KerasIo, LoadsKeras2FunctionalH5) {
  StatusOr<KerasModel> m = LoadKerasFile(CorpusPath("mlcommons-tiny/pretrainedResnet.h5"));
  ASSERT_TRUE(m.ok()) << m.status().ToString();
  EXPECT_EQ(m->keras_version, "2.4.0");
  EXPECT_EQ(m->backend, "tensorflow");
  EXPECT_EQ(m->compiled_loss, "categorical_crossentropy");  // the training_config attribute
  EXPECT_EQ(m->config["class_name"], "Functional");
  EXPECT_EQ(m->weights.size(), 9u + 7u + 1u);  // 9 conv, 7 batch norm, 1 dense
  const LayerWeights* conv = Find(*m, "conv2d");
  ASSERT_NE(conv, nullptr);
  EXPECT_EQ(VarNames(*conv), std::vector<std::string>({"kernel", "bias"}));
  EXPECT_EQ(conv->vars[0].second.shape, std::vector<int64_t>({3, 3, 3, 16}));
  const LayerWeights* bn = Find(*m, "batch_normalization_6");
  ASSERT_NE(bn, nullptr);
  EXPECT_EQ(VarNames(*bn),
            std::vector<std::string>({"gamma", "beta", "moving_mean", "moving_variance"}));
}

TEST_F(KerasIo, LoadsFixedLengthStringAttributesOfKeras224) {
  StatusOr<KerasModel> m = LoadKerasFile(CorpusPath("keras-mnist-to-tpu/keras_model.h5"));
  ASSERT_TRUE(m.ok()) << m.status().ToString();
  EXPECT_EQ(m->keras_version, "2.2.4-tf");
  EXPECT_EQ(m->compiled_loss, "categorical_crossentropy");
  ASSERT_EQ(m->weights.size(), 4u);
  EXPECT_EQ(m->weights[3].layer, "dense_1");
  EXPECT_EQ(m->weights[3].vars[0].second.shape, std::vector<int64_t>({64, 10}));
}

TEST_F(KerasIo, NestedModelWeightsBelongToTheInnerLayers) {
  StatusOr<KerasModel> m = LoadKerasFile(CorpusPath("siliconlabs-mltk/autoencoder_example.h5"));
  ASSERT_TRUE(m.ok()) << m.status().ToString();
  std::vector<std::string> layers;
  for (const LayerWeights& lw : m->weights) layers.push_back(lw.layer);
  EXPECT_EQ(layers, std::vector<std::string>(
                        {"dense", "dense_1", "dense_2", "dense_3", "dense_4", "dense_5"}));
  EXPECT_EQ(Find(*m, "dense_5")->vars[0].second.shape, std::vector<int64_t>({32, 140}));
  EXPECT_EQ(m->compiled_loss, "mae");
}

TEST_F(KerasIo, LoadsKeras3ZipAndNamesPositionalVariables) {
  StatusOr<KerasModel> m = LoadKerasFile(CorpusPath("edge-vs-cloud-mnist/mnist_model.keras"));
  ASSERT_TRUE(m.ok()) << m.status().ToString();
  EXPECT_EQ(m->keras_version, "3.12.4");
  EXPECT_EQ(m->compiled_loss, "sparse_categorical_crossentropy");  // config.json compile_config
  ASSERT_EQ(m->weights.size(), 3u);
  EXPECT_EQ(m->weights[0].layer, "conv2d");
  EXPECT_EQ(VarNames(m->weights[0]), std::vector<std::string>({"kernel", "bias"}));
  EXPECT_EQ(m->weights[1].vars[0].second.shape, std::vector<int64_t>({1568, 32}));
}

TEST_F(KerasIo, WeightsOnlyH5NeedsAConfig) {
  const std::string weights = CorpusPath("tflite-micro/magic_wand_weights.h5");
  StatusOr<KerasModel> m = LoadKerasFile(weights);
  ASSERT_FALSE(m.ok());
  EXPECT_NE(m.status().message().find("weights only"), std::string::npos);
  const std::string config = edgeopt::testing::SourceDir() + "/tests/models/magic_wand_config.json";
  m = LoadKerasWeights(weights, config);
  ASSERT_TRUE(m.ok()) << m.status().ToString();
  EXPECT_EQ(m->keras_version, "2.2.4-tf");
  ASSERT_EQ(m->weights.size(), 4u);
  EXPECT_EQ(m->weights[1].layer, "conv2d_1");
  EXPECT_EQ(m->weights[1].vars[0].second.shape, std::vector<int64_t>({4, 1, 8, 16}));
  m = LoadKerasWeights(weights, dir_ + "/missing.json");
  EXPECT_FALSE(m.ok());
}

TEST_F(KerasIo, KerasRoundTripKeepsLayoutAndValues) {
  StatusOr<KerasModel> m = LoadKerasFile(CorpusPath("siliconlabs-mltk/autoencoder_example.h5"));
  ASSERT_TRUE(m.ok());
  const std::string path = dir_ + "/auto.keras";
  ASSERT_TRUE(SaveKerasFile(*m, path).ok());
  // The archive and the weights layout of Keras 3.
  auto entries = ReadZipEntries(path);
  ASSERT_TRUE(entries.ok());
  EXPECT_EQ(entries->size(), 3u);
  ASSERT_EQ(entries->count("config.json"), 1u);
  ASSERT_EQ(entries->count("metadata.json"), 1u);
  ASSERT_EQ(entries->count("model.weights.h5"), 1u);
  StatusOr<h5::File> h5 = h5::File::OpenImage((*entries)["model.weights.h5"], "w.h5");
  ASSERT_TRUE(h5.ok());
  EXPECT_TRUE(h5::IsDataset(h5->id(), "layers/sequential/layers/dense/vars/0"));
  EXPECT_TRUE(h5::IsDataset(h5->id(), "layers/sequential_1/layers/dense_5/vars/1"));
  EXPECT_FALSE(h5::Exists(h5->id(), "layers/input_1"));
  StatusOr<KerasModel> back = LoadKerasFile(path);
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(back->config, m->config);
  EXPECT_EQ(back->keras_version, m->keras_version);
  ExpectSameWeights(*m, *back);
}

TEST_F(KerasIo, H5RoundTripInKeras2Layout) {
  StatusOr<KerasModel> m = LoadKerasFile(CorpusPath("mlcommons-tiny/pretrainedResnet.h5"));
  ASSERT_TRUE(m.ok());
  const std::string path = dir_ + "/resnet.h5";
  ASSERT_TRUE(SaveKerasFile(*m, path).ok());
  StatusOr<h5::File> f = h5::File::Open(path);
  ASSERT_TRUE(f.ok());
  EXPECT_TRUE(h5::HasAttribute(f->id(), "model_config"));
  EXPECT_TRUE(h5::IsDataset(f->id(), "model_weights/conv2d/conv2d/kernel:0"));
  StatusOr<h5::Handle> mw = h5::OpenGroup(f->id(), "model_weights", path);
  ASSERT_TRUE(mw.ok());
  auto names = h5::ReadStringListAttribute(mw->id(), "layer_names", path);
  ASSERT_TRUE(names.ok());
  EXPECT_EQ((*names)[0], "input_1");  // Functional models list their InputLayer
  EXPECT_EQ(names->size(), 30u);
  StatusOr<KerasModel> back = LoadKerasFile(path);
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(back->config, m->config);
  ExpectSameWeights(*m, *back);
}

TEST_F(KerasIo, Keras3ToH5AndBack) {
  StatusOr<KerasModel> m = LoadKerasFile(CorpusPath("edge-vs-cloud-mnist/mnist_model.keras"));
  ASSERT_TRUE(m.ok());
  ASSERT_TRUE(SaveKerasFile(*m, dir_ + "/m.h5").ok());
  StatusOr<KerasModel> h5 = LoadKerasFile(dir_ + "/m.h5");
  ASSERT_TRUE(h5.ok()) << h5.status().ToString();
  ExpectSameWeights(*m, *h5);
  ASSERT_TRUE(SaveKerasFile(*h5, dir_ + "/m2.keras").ok());
  StatusOr<KerasModel> back = LoadKerasFile(dir_ + "/m2.keras");
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  ExpectSameWeights(*m, *back);
}

// GRU, SimpleRNN and Bidirectional(GRU) through .keras (weights on the cells:
// layers/<name>/cell/vars, layers/<name>/forward_layer/cell/vars) and .h5 (Bidirectional's
// variables in forward/ and backward/ subgroups, read back by position).
TEST_F(KerasIo, RecurrentLayersRoundTrip) {
  auto layer = [](const std::string& cls, Json config) {
    return Json{{"class_name", cls}, {"config", config}};
  };
  Json layers = Json::array(
      {layer("InputLayer", {{"name", "x"}, {"batch_input_shape", {nullptr, 4, 3}}}),
       layer("GRU", {{"name", "g"}, {"units", 3}, {"return_sequences", true}}),
       layer("SimpleRNN", {{"name", "s"}, {"units", 2}, {"return_sequences", true}}),
       layer(
           "Bidirectional",
           {{"name", "b"},
            {"layer", layer("GRU", {{"name", "inner"}, {"units", 2}, {"reset_after", false}})}})});
  const Json config = {{"class_name", "Sequential"},
                       {"config", {{"name", "m"}, {"layers", layers}}}};
  StatusOr<KerasModel> m = ModelFromConfig(config, 5);
  ASSERT_TRUE(m.ok()) << m.status().ToString();
  ASSERT_NE(Find(*m, "b"), nullptr);
  EXPECT_EQ(
      VarNames(*Find(*m, "b")),
      std::vector<std::string>({"forward/kernel", "forward/recurrent_kernel", "forward/bias",
                                "backward/kernel", "backward/recurrent_kernel", "backward/bias"}));
  EXPECT_EQ(Find(*m, "g")->vars[2].second.shape, std::vector<int64_t>({2, 9}));
  for (const char* ext : {".keras", ".h5"}) {
    const std::string path = dir_ + "/rnn" + ext;
    ASSERT_TRUE(SaveKerasFile(*m, path).ok()) << ext;
    StatusOr<KerasModel> back = LoadKerasFile(path);
    ASSERT_TRUE(back.ok()) << back.status().ToString();
    ExpectSameWeights(*m, *back);
  }
  auto entries = ReadZipEntries(dir_ + "/rnn.keras");
  ASSERT_TRUE(entries.ok());
  StatusOr<h5::File> file = h5::File::OpenImage(entries->at("model.weights.h5"), "w");
  ASSERT_TRUE(file.ok());
  EXPECT_TRUE(h5::IsGroup(file->id(), "layers/g/cell/vars"));
  EXPECT_TRUE(h5::IsGroup(file->id(), "layers/b/forward_layer/cell/vars"));
  EXPECT_TRUE(h5::IsGroup(file->id(), "layers/b/backward_layer/cell/vars"));
}

TEST_F(KerasIo, SaveErrorsLeaveNoFile) {
  StatusOr<KerasModel> m = LoadKerasFile(CorpusPath("siliconlabs-mltk/image_example1.h5"));
  ASSERT_TRUE(m.ok());
  EXPECT_FALSE(SaveKerasFile(*m, dir_ + "/model.onnx").ok());
  EXPECT_FALSE(FileExists(dir_ + "/model.onnx"));
  EXPECT_FALSE(SaveKerasFile(*m, dir_ + "/no/such/dir/m.keras").ok());
  // Weights for a layer the config does not have.
  KerasModel bad = *m;
  bad.weights.push_back(LayerWeights{"ghost", {{"kernel", m->weights[0].vars[0].second}}});
  Status s = SaveKerasFile(bad, dir_ + "/bad.keras");
  EXPECT_FALSE(s.ok());
  EXPECT_NE(s.message().find("ghost"), std::string::npos);
  EXPECT_FALSE(FileExists(dir_ + "/bad.keras"));
}

TEST_F(KerasIo, MalformedFilesGiveClearErrors) {
  StatusOr<std::vector<uint8_t>> bytes =
      ReadFileBytes(CorpusPath("siliconlabs-mltk/image_example1.h5"));
  ASSERT_TRUE(bytes.ok());
  const std::string cut = dir_ + "/cut.h5";
  ASSERT_TRUE(WriteFileAtomic(cut, bytes->data(), bytes->size() - 1000).ok());
  StatusOr<KerasModel> m = LoadKerasFile(cut);
  ASSERT_FALSE(m.ok());
  EXPECT_NE(m.status().message().find("cut.h5"), std::string::npos);

  // A .keras whose config.json is not a model config.
  auto zip = BuildZip({{"config.json", {'[', '1', ']'}}, {"model.weights.h5", {0}}});
  ASSERT_TRUE(zip.ok());
  ASSERT_TRUE(WriteFileAtomic(dir_ + "/bad.keras", *zip).ok());
  m = LoadKerasFile(dir_ + "/bad.keras");
  ASSERT_FALSE(m.ok());
  EXPECT_NE(m.status().message().find("config.json"), std::string::npos);
  // A .keras whose weights are not HDF5.
  zip = BuildZip({{"config.json", {'{', '}'}}, {"model.weights.h5", {1, 2, 3}}});
  ASSERT_TRUE(WriteFileAtomic(dir_ + "/bad2.keras", *zip).ok());
  m = LoadKerasFile(dir_ + "/bad2.keras");
  ASSERT_FALSE(m.ok());
}

// tf_keras (Keras 2.13+) writes .keras weights under _layer_checkpoint_dependencies/<layer>.
TEST_F(KerasIo, LoadsTfKerasZipLayout) {
  StatusOr<h5::File> f = h5::File::CreateInMemory("w.h5");
  ASSERT_TRUE(f.ok());
  {
    auto deps = h5::MakeGroup(f->id(), "_layer_checkpoint_dependencies", "w");
    ASSERT_TRUE(deps.ok());
    auto dense = h5::MakeGroup(deps->id(), "dense", "w");
    ASSERT_TRUE(dense.ok());
    auto vars = h5::MakeGroup(dense->id(), "vars", "w");
    ASSERT_TRUE(vars.ok());
    NpyArray kernel, bias;
    kernel.shape = {3, 2};
    kernel.data.resize(24);
    for (int i = 0; i < 6; ++i) kernel.Data<float>()[i] = static_cast<float>(i);
    bias.shape = {2};
    bias.data.resize(8, 0);
    ASSERT_TRUE(h5::WriteDataset(vars->id(), "0", kernel, "w").ok());
    ASSERT_TRUE(h5::WriteDataset(vars->id(), "1", bias, "w").ok());
  }
  StatusOr<std::vector<uint8_t>> image = f->Image();
  ASSERT_TRUE(image.ok());
  const std::string config =
      R"({"module": "keras", "class_name": "Sequential", "config": {"name": "s", "layers": [)"
      R"({"module": "keras.layers", "class_name": "InputLayer", "config": {"batch_input_shape": )"
      R"([null, 3], "name": "x"}}, {"module": "keras.layers", "class_name": "Dense", "config": )"
      R"({"name": "dense", "units": 2}}]}})";
  auto zip = BuildZip({{"metadata.json", {'{', '}'}},
                       {"config.json", std::vector<uint8_t>(config.begin(), config.end())},
                       {"model.weights.h5", *image}});
  ASSERT_TRUE(zip.ok());
  ASSERT_TRUE(WriteFileAtomic(dir_ + "/tfk.keras", *zip).ok());
  StatusOr<KerasModel> m = LoadKerasFile(dir_ + "/tfk.keras");
  ASSERT_TRUE(m.ok()) << m.status().ToString();
  ASSERT_EQ(m->weights.size(), 1u);
  EXPECT_EQ(VarNames(m->weights[0]), std::vector<std::string>({"kernel", "bias"}));
  EXPECT_EQ(m->weights[0].vars[0].second.Data<float>()[5], 5.0f);
  EXPECT_TRUE(BuildGraph(*m).ok());
}

// One byte at offset 6588 of image_example1.h5 is the length of a string in the global heap;
// with 0xd2 there libhdf5 1.10 reads out of bounds and crashes (found by random corruption).
TEST_F(KerasIo, CorruptGlobalHeapIsAnErrorNotACrash) {
  StatusOr<std::vector<uint8_t>> bytes =
      ReadFileBytes(CorpusPath("siliconlabs-mltk/image_example1.h5"));
  ASSERT_TRUE(bytes.ok());
  (*bytes)[6588] = 0xd2;
  const std::string path = dir_ + "/heap.h5";
  ASSERT_TRUE(WriteFileAtomic(path, *bytes).ok());
  StatusOr<KerasModel> m = LoadKerasFile(path);
  ASSERT_FALSE(m.ok());
  EXPECT_NE(m.status().message().find("heap.h5"), std::string::npos);
  EXPECT_NE(m.status().message().find("corrupt"), std::string::npos) << m.status().ToString();
}

TEST_F(KerasIo, IsolatedLoadPassesModelsAndErrorsAndStopsHangs) {
  StatusOr<KerasModel> direct = LoadKerasFile(CorpusPath("siliconlabs-mltk/audio_example1.h5"));
  ASSERT_TRUE(direct.ok());
  const KerasModel model = *direct;
  StatusOr<KerasModel> back = LoadIsolated("x", [&]() { return StatusOr<KerasModel>(model); });
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(back->config, model.config);
  EXPECT_EQ(back->keras_version, model.keras_version);
  EXPECT_EQ(back->compiled_loss, "categorical_crossentropy");
  ExpectSameWeights(model, *back);
  StatusOr<KerasModel> error = LoadIsolated(
      "x", []() { return StatusOr<KerasModel>(MakeStatus(StatusCode::kNotFound, "gone")); });
  EXPECT_EQ(error.status().code(), StatusCode::kNotFound);
  EXPECT_EQ(error.status().message(), "gone");
  StatusOr<KerasModel> hang = LoadIsolated(
      "slow.h5",
      []() {
        for (;;) pause();
        return StatusOr<KerasModel>(KerasModel());
      },
      1);
  ASSERT_FALSE(hang.ok());
  EXPECT_NE(hang.status().message().find("did not finish"), std::string::npos);
  // A load that ends the process (a crash, or a sanitizer's exit 1) is corrupt data, named.
  StatusOr<KerasModel> crash = LoadIsolated("crash.h5", []() {
    std::raise(SIGSEGV);
    return StatusOr<KerasModel>(KerasModel());
  });
  EXPECT_EQ(crash.status().code(), StatusCode::kInvalidModel);
  EXPECT_NE(crash.status().message().find("crash.h5: the HDF5 data is corrupt"), std::string::npos)
      << crash.status().message();
  StatusOr<KerasModel> exited = LoadIsolated("exit.h5", []() {
    _exit(1);
    return StatusOr<KerasModel>(KerasModel());
  });
  EXPECT_EQ(exited.status().code(), StatusCode::kInvalidModel);
  EXPECT_NE(exited.status().message().find("exit.h5: the HDF5 data is corrupt"), std::string::npos)
      << exited.status().message();
  // Truncated or garbled results are errors.
  std::vector<uint8_t> bytes = SerializeLoadResult(model);
  bytes.resize(bytes.size() / 2);
  EXPECT_FALSE(ParseLoadResult(bytes, "x").ok());
  EXPECT_FALSE(ParseLoadResult({1, 2, 3}, "x").ok());
}

}  // namespace
}  // namespace keras
}  // namespace edgeopt
