// edgeopt convert on every Keras model of the shared corpus, checked against the official
// converter's output in the official TFLite 2.9 runtime (tflite-ref): same outputs on seeded
// inputs, no larger file, no more operators, fast enough; and malformed inputs fail cleanly.
#include <gtest/gtest.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <string>
#include <vector>

#include "src/importers/keras/keras_model.h"
#include "src/importers/keras/zip_io.h"
#include "src/importers/tflite/import.h"
#include "src/util/file_util.h"
#include "src/util/npy.h"
#include "tests/e2e/keras_reference.h"
#include "tests/test_util.h"

namespace edgeopt {
namespace testing {
namespace {

// Float pairs must agree like this on seeded inputs (tflite-ref compare semantics).
constexpr double kAtol = 1e-5;
constexpr double kRtol = 1e-4;
constexpr double kMaxSizeRatio = 1.02;      // our file vs the official float file
constexpr double kMaxConvertSeconds = 2.0;  // whole `edgeopt convert` process, largest model
constexpr int kSeeds[] = {1, 2, 3};
// Our float model against the official int8 / dynamic-range one (quantization noise).
constexpr double kMinQuantSqnrDb = 10.0;

std::string Corpus(const std::string& rel) { return CorpusPath(rel); }

class KerasConvert : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { dir_ = new std::string(MakeTempDir("keras_convert")); }
  static void TearDownTestSuite() {
    RunCommand("rm -rf '" + *dir_ + "'");
    delete dir_;
  }
  static std::string Tmp(const std::string& name) { return *dir_ + "/" + name; }

  struct Converted {
    int rc = -1;
    std::string log;
    double seconds = 0;
  };
  static Converted Convert(const std::string& args, const std::string& out) {
    Converted c;
    const auto start = std::chrono::steady_clock::now();
    c.rc = RunCommand(EdgeoptBinary() + " convert " + args + " -o '" + out + "'", &c.log);
    c.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    return c;
  }

  // Runs `model` in tflite-ref with `input_args` ("--random 3" or "-i a.npy"); output 0.
  static NpyArray RefRun(const std::string& model, const std::string& input_args,
                         const std::string& out_dir) {
    std::string log;
    const int rc = RunCommand(
        TfliteRefPath() + " run '" + model + "' " + input_args + " -o '" + out_dir + "'", &log);
    EXPECT_EQ(rc, 0) << log;
    StatusOr<NpyArray> out = ReadNpy(out_dir + "/output_0.npy");
    EXPECT_TRUE(out.ok()) << out.status().ToString();
    return out.ok() ? *out : NpyArray();
  }

  static std::vector<double> AsDoubles(const NpyArray& a, double scale = 1, double zero = 0) {
    std::vector<double> v(static_cast<size_t>(a.NumElements()));
    for (size_t i = 0; i < v.size(); ++i) {
      switch (a.dtype) {
        case DType::kFloat32:
          v[i] = a.Data<float>()[i];
          break;
        case DType::kInt8:
          v[i] = (a.Data<int8_t>()[i] - zero) * scale;
          break;
        case DType::kUInt8:
          v[i] = (a.Data<uint8_t>()[i] - zero) * scale;
          break;
        default:
          ADD_FAILURE() << "unexpected dtype " << DTypeName(a.dtype);
      }
    }
    return v;
  }

  // Elements outside atol + rtol * |ref|, and the largest absolute difference.
  static int64_t CountBad(const std::vector<double>& ours, const std::vector<double>& ref,
                          double* max_abs) {
    *max_abs = 0;
    int64_t bad = 0;
    EXPECT_EQ(ours.size(), ref.size());
    for (size_t i = 0; i < std::min(ours.size(), ref.size()); ++i) {
      const double d = std::fabs(ours[i] - ref[i]);
      *max_abs = std::max(*max_abs, d);
      if (!(d <= kAtol + kRtol * std::fabs(ref[i]))) ++bad;
    }
    return bad;
  }

  static double SqnrDb(const std::vector<double>& ref, const std::vector<double>& test) {
    double signal = 0, noise = 0;
    for (size_t i = 0; i < ref.size(); ++i) {
      signal += ref[i] * ref[i];
      noise += (ref[i] - test[i]) * (ref[i] - test[i]);
    }
    return noise == 0 ? 300.0 : 10.0 * std::log10(signal / noise);
  }

  static size_t ArgMax(const std::vector<double>& v) {
    return static_cast<size_t>(std::max_element(v.begin(), v.end()) - v.begin());
  }

  static StatusOr<ir::Graph> Import(const std::string& path) { return ImportTfliteFile(path); }

  // The structural checks against the official float file: size and operator count.
  static void ExpectNoWorseThanOfficial(const std::string& ours, const std::string& official) {
    const int64_t our_size = FileSize(ours), official_size = FileSize(official);
    StatusOr<ir::Graph> a = Import(ours), b = Import(official);
    ASSERT_TRUE(a.ok()) << a.status().ToString();
    ASSERT_TRUE(b.ok()) << b.status().ToString();
    std::printf("  size %lld vs official %lld bytes (ratio %.4f); ops %zu vs %zu\n",
                static_cast<long long>(our_size), static_cast<long long>(official_size),
                static_cast<double>(our_size) / official_size, a->nodes.size(), b->nodes.size());
    EXPECT_LE(our_size, official_size * kMaxSizeRatio);
    EXPECT_LE(a->nodes.size(), b->nodes.size());
  }

  // Runs our file on `x` (float input) in tflite-ref; output 0 as doubles.
  static std::vector<double> RunOurs(const std::string& model, const kref::Tensor& x,
                                     const std::string& tag) {
    NpyArray in;
    in.dtype = DType::kFloat32;
    in.shape = x.shape;
    in.data.resize(x.v.size() * 4);
    for (size_t i = 0; i < x.v.size(); ++i) in.Data<float>()[i] = static_cast<float>(x.v[i]);
    const std::string path = Tmp(tag + "_in.npy");
    EXPECT_TRUE(WriteNpy(path, in).ok());
    return AsDoubles(RefRun(model, "-i '" + path + "'", Tmp(tag + "_out")));
  }

  static kref::Tensor RandomInput(const std::vector<int64_t>& shape, uint64_t seed) {
    kref::Tensor t{shape, {}};
    keras_rng_state_ = seed * 0x9e3779b97f4a7c15ULL + 1;
    for (int64_t i = 0; i < t.size(); ++i) {
      keras_rng_state_ ^= keras_rng_state_ << 13;
      keras_rng_state_ ^= keras_rng_state_ >> 7;
      keras_rng_state_ ^= keras_rng_state_ << 17;
      t.v.push_back(static_cast<double>(keras_rng_state_ >> 11) / 9007199254740992.0 * 2 - 1);
    }
    return t;
  }

  static std::string* dir_;
  static uint64_t keras_rng_state_;
};

std::string* KerasConvert::dir_ = nullptr;
uint64_t KerasConvert::keras_rng_state_ = 0;

struct FloatPair {
  const char* keras;
  const char* official;
};

// Pairs whose official float file was converted from exactly these weights.
const FloatPair kFloatPairs[] = {
    {"mlcommons-tiny/pretrainedResnet.h5", "mlcommons-tiny/pretrainedResnet.tflite"},
    {"tensor-edge-converter/model.h5", "tensor-edge-converter/model.tflite"},
    {"siliconlabs-mltk/image_example1.h5", "siliconlabs-mltk/image_example1.float32.tflite"},
    {"siliconlabs-mltk/autoencoder_example.h5",
     "siliconlabs-mltk/autoencoder_example.float32.tflite"},
};

TEST_F(KerasConvert, FloatModelsMatchTheOfficialConverter) {
  int index = 0;
  for (const FloatPair& pair : kFloatPairs) {
    SCOPED_TRACE(pair.keras);
    const std::string ours = Tmp("float" + std::to_string(index++) + ".tflite");
    const Converted c = Convert("'" + Corpus(pair.keras) + "'", ours);
    ASSERT_EQ(c.rc, 0) << c.log;
    std::printf("%s: converted in %.3f s\n", pair.keras, c.seconds);
    double worst = 0;
    for (int seed : kSeeds) {
      const std::string args = "--random " + std::to_string(seed);
      const std::vector<double> a = AsDoubles(RefRun(ours, args, Tmp("o_ours")));
      const std::vector<double> b = AsDoubles(RefRun(Corpus(pair.official), args, Tmp("o_ref")));
      double max_abs = 0;
      EXPECT_EQ(CountBad(a, b, &max_abs), 0) << "seed " << seed << " max_abs " << max_abs;
      worst = std::max(worst, max_abs);
    }
    std::printf("  max |ours - official| over %zu seeds: %.3g\n", std::size(kSeeds), worst);
    ExpectNoWorseThanOfficial(ours, Corpus(pair.official));
  }
}

// ad01: the official ad01_fp32.tflite has the same (BN-folded) weights as ours bit for bit, but its
// folded biases imply other BatchNormalization moving means than ad01.h5 holds (it was converted
// from another state of the model), so its outputs differ. We check the weights against it, the
// outputs against Keras's math on ad01.h5, and the conversion time.
TEST_F(KerasConvert, Ad01LargestModel) {
  const std::string ours = Tmp("ad01.tflite");
  const Converted c = Convert("'" + Corpus("mlcommons-tiny/ad01.h5") + "'", ours);
  ASSERT_EQ(c.rc, 0) << c.log;
  std::printf("ad01.h5 (3.4 MB): edgeopt convert took %.3f s\n", c.seconds);
  EXPECT_LT(c.seconds, kMaxConvertSeconds);
  const std::string official = Corpus("mlcommons-tiny/ad01_fp32.tflite");
  ExpectNoWorseThanOfficial(ours, official);

  StatusOr<ir::Graph> a = Import(ours), b = Import(official);
  ASSERT_TRUE(a.ok() && b.ok());
  ASSERT_EQ(a->nodes.size(), b->nodes.size());
  double worst_weight = 0;
  for (size_t n = 0; n < a->nodes.size(); ++n) {
    const ir::Tensor& wa = a->tensors[a->nodes[n].inputs[1]];
    const ir::Tensor& wb = b->tensors[b->nodes[n].inputs[1]];
    ASSERT_EQ(wa.shape, wb.shape);
    for (int64_t i = 0; i < wa.NumElements(); ++i) {
      const double x = wa.DataAs<float>()[i], y = wb.DataAs<float>()[i];
      worst_weight = std::max(worst_weight, std::fabs(x - y) / std::max(1e-3, std::fabs(y)));
    }
  }
  std::printf("  FULLY_CONNECTED weights vs official: max relative difference %.3g\n",
              worst_weight);
  EXPECT_LT(worst_weight, 1e-5);

  StatusOr<keras::KerasModel> model = keras::LoadKerasFile(Corpus("mlcommons-tiny/ad01.h5"));
  ASSERT_TRUE(model.ok());
  double worst = 0, official_diff = 0;
  for (int seed : kSeeds) {
    kref::Tensor x = RandomInput({1, 640}, seed);
    const std::vector<double> got = RunOurs(ours, x, "ad01");
    std::string error;
    ASSERT_TRUE(kref::EvalChain(*model, &x, &error)) << error;
    double max_abs = 0;
    EXPECT_EQ(CountBad(got, x.v, &max_abs), 0) << "seed " << seed;
    worst = std::max(worst, max_abs);
    const std::vector<double> off =
        AsDoubles(RefRun(official, "--random " + std::to_string(seed), Tmp("ad01_off")));
    const std::vector<double> mine =
        AsDoubles(RefRun(ours, "--random " + std::to_string(seed), Tmp("ad01_mine")));
    double d = 0;
    CountBad(mine, off, &d);
    official_diff = std::max(official_diff, d);
  }
  std::printf(
      "  max |ours - Keras math on ad01.h5|: %.3g; vs ad01_fp32.tflite: %.3g "
      "(other BN "
      "statistics in that file)\n",
      worst, official_diff);
}

// magic_wand_weights.h5 holds weights only; the architecture comes from our config JSON. The file
// is the *initial* checkpoint train.py loads before training (every bias is 0), while
// magic_wand.tflite holds trained weights, so outputs cannot match: we check the structure against
// the official file and the outputs against Keras's math.
TEST_F(KerasConvert, MagicWandWeightsPlusConfig) {
  const std::string ours = Tmp("magic_wand.tflite");
  const std::string weights = Corpus("tflite-micro/magic_wand_weights.h5");
  const std::string config = SourceDir() + "/tests/models/magic_wand_config.json";
  const Converted c = Convert("--weights '" + weights + "' --config '" + config + "'", ours);
  ASSERT_EQ(c.rc, 0) << c.log;
  const std::string official = Corpus("tflite-micro/magic_wand.tflite");
  ExpectNoWorseThanOfficial(ours, official);
  StatusOr<ir::Graph> a = Import(ours), b = Import(official);
  ASSERT_TRUE(a.ok() && b.ok());
  ASSERT_EQ(a->nodes.size(), b->nodes.size());
  for (size_t n = 0; n < a->nodes.size(); ++n) {
    // Same weight sizes node by node (TOCO wrote the 1-channel Conv2D as a depthwise one).
    if (a->nodes[n].inputs.size() < 2) continue;
    EXPECT_EQ(a->tensors[a->nodes[n].inputs[1]].NumElements(),
              b->tensors[b->nodes[n].inputs[1]].NumElements())
        << a->nodes[n].op;
  }
  EXPECT_EQ(a->tensors[a->inputs[0]].shape, b->tensors[b->inputs[0]].shape);
  EXPECT_EQ(a->tensors[a->inputs[0]].name, b->tensors[b->inputs[0]].name);

  StatusOr<keras::KerasModel> model = keras::LoadKerasWeights(weights, config);
  ASSERT_TRUE(model.ok()) << model.status().ToString();
  double worst = 0;
  for (int seed : kSeeds) {
    kref::Tensor x = RandomInput({1, 128, 3, 1}, seed);
    const std::vector<double> got = RunOurs(ours, x, "magic");
    std::string error;
    ASSERT_TRUE(kref::EvalChain(*model, &x, &error)) << error;
    double max_abs = 0;
    EXPECT_EQ(CountBad(got, x.v, &max_abs), 0) << "seed " << seed;
    worst = std::max(worst, max_abs);
  }
  std::printf(
      "magic_wand: max |ours - Keras math| %.3g (magic_wand.tflite has trained "
      "weights; "
      "magic_wand_weights.h5 is the untrained start)\n",
      worst);
}

// Official quantized files: our float model against them on the same inputs.
TEST_F(KerasConvert, QuantizedOfficialFilesAgreeWithinQuantizationNoise) {
  struct QuantPair {
    const char* keras;
    const char* official;
  };
  const QuantPair pairs[] = {
      {"keras-mnist-to-tpu/keras_model.h5", "keras-mnist-to-tpu/mnist.tflite"},
      {"siliconlabs-mltk/audio_example1.h5", "siliconlabs-mltk/audio_example1.tflite"},
      {"tensor-edge-converter/model.h5", "tensor-edge-converter/model_8bit.tflite"},
  };
  int index = 0;
  for (const QuantPair& pair : pairs) {
    SCOPED_TRACE(pair.keras);
    const std::string ours = Tmp("quant" + std::to_string(index++) + ".tflite");
    const Converted c = Convert("'" + Corpus(pair.keras) + "'", ours);
    ASSERT_EQ(c.rc, 0) << c.log;
    StatusOr<ir::Graph> off = Import(Corpus(pair.official));
    ASSERT_TRUE(off.ok());
    const ir::Tensor& in_t = off->tensors[off->inputs[0]];
    const ir::Tensor& out_t = off->tensors[off->outputs[0]];
    const double in_scale = in_t.quant.empty() ? 1 : in_t.quant.scale[0];
    const double in_zero = in_t.quant.empty() ? 0 : in_t.quant.zero_point[0];
    const double out_scale = out_t.quant.empty() ? 1 : out_t.quant.scale[0];
    const double out_zero = out_t.quant.empty() ? 0 : out_t.quant.zero_point[0];
    int agree = 0, total = 0;
    double sqnr_sum = 0;
    for (int seed = 1; seed <= 5; ++seed) {
      const std::string inputs = Tmp("q_in");
      const NpyArray theirs = RefRun(
          Corpus(pair.official),
          "--random " + std::to_string(seed) + " --save-inputs '" + inputs + "'", Tmp("q_off"));
      StatusOr<NpyArray> raw = ReadNpy(inputs + "/input_0.npy");
      ASSERT_TRUE(raw.ok());
      kref::Tensor x{raw->shape, AsDoubles(*raw, in_scale, in_zero)};
      const std::vector<double> mine = RunOurs(ours, x, "q");
      const std::vector<double> ref = AsDoubles(theirs, out_scale, out_zero);
      agree += ArgMax(mine) == ArgMax(ref) ? 1 : 0;
      ++total;
      sqnr_sum += SqnrDb(mine, ref);
    }
    const double sqnr = sqnr_sum / total;
    std::printf(
        "%s vs %s (%s): top-1 agreement %d/%d on seeded inputs, mean SQNR %.1f "
        "dB\n",
        pair.keras, pair.official, DTypeName(in_t.dtype), agree, total, sqnr);
    EXPECT_GT(sqnr, kMinQuantSqnrDb);
    EXPECT_GE(agree, total - 1);
  }
}

// edge-vs-cloud-mnist: a Keras 3 .keras file. The official model.tflite is dynamic-range with
// FULLY_CONNECTED version 12, which TFLite 2.9 cannot load; it is compared with edgeopt's own
// runtime when that runs it, and skipped otherwise. The real MNIST sample (a 7) is checked.
TEST_F(KerasConvert, Keras3MnistModel) {
  const std::string ours = Tmp("evc.tflite");
  const Converted c = Convert("'" + Corpus("edge-vs-cloud-mnist/mnist_model.keras") + "'", ours);
  ASSERT_EQ(c.rc, 0) << c.log;
  const std::string sample = Corpus("edge-vs-cloud-mnist/testdata/test_sample.npy");
  const std::vector<double> probs = AsDoubles(RefRun(ours, "-i '" + sample + "'", Tmp("evc_o")));
  ASSERT_EQ(probs.size(), 10u);
  EXPECT_EQ(ArgMax(probs), 7u);
  std::printf(
      "edge-vs-cloud-mnist: test_sample.npy -> class %zu (p=%.4f); expected "
      "7\n",
      ArgMax(probs), probs[ArgMax(probs)]);
  std::string log;
  const std::string official = Corpus("edge-vs-cloud-mnist/model.tflite");
  const int rc = RunCommand(
      EdgeoptBinary() + " run '" + official + "' -i '" + sample + "' -o '" + Tmp("evc_off") + "'",
      &log);
  if (rc != 0) {
    std::printf(
        "  official model.tflite not compared: TFLite 2.9 cannot load it (FC "
        "v12) and "
        "edgeopt run says: %s",
        log.c_str());
    return;
  }
  StatusOr<NpyArray> off = ReadNpy(Tmp("evc_off") + "/output_0.npy");
  ASSERT_TRUE(off.ok());
  const std::vector<double> ref = AsDoubles(*off);
  std::printf("  vs official (edgeopt runtime): top-1 %zu vs %zu, SQNR %.1f dB\n", ArgMax(probs),
              ArgMax(ref), SqnrDb(ref, probs));
  EXPECT_EQ(ArgMax(ref), ArgMax(probs));
}

TEST_F(KerasConvert, NestedSequentialsKeepTheirOutputName) {
  const std::string ours = Tmp("auto.tflite");
  const Converted c = Convert("'" + Corpus("siliconlabs-mltk/autoencoder_example.h5") + "'", ours);
  ASSERT_EQ(c.rc, 0) << c.log;
  StatusOr<ir::Graph> g = Import(ours);
  ASSERT_TRUE(g.ok());
  EXPECT_EQ(g->tensors[g->inputs[0]].name, "input_1");
  EXPECT_EQ(g->tensors[g->outputs[0]].name, "sequential_1");
  EXPECT_NE(c.log.find("7 ops"), std::string::npos) << c.log;
}

TEST_F(KerasConvert, InspectShowsLayersShapesParamsAndOps) {
  std::string out;
  ASSERT_EQ(RunCommand(
                EdgeoptBinary() + " inspect '" + Corpus("mlcommons-tiny/pretrainedResnet.h5") + "'",
                &out),
            0)
      << out;
  for (const char* needle : {"Keras 2.4.0", "input  input_1 [1,32,32,3]", "output dense [1,10]",
                             "conv2d ", "Conv2D", "[1,32,32,16]", "448", "BATCH_NORM",
                             "FULLY_CONNECTED + SOFTMAX", "parameters: 78666", "TFLite: 15 ops"}) {
    EXPECT_NE(out.find(needle), std::string::npos) << needle << " in:\n" << out;
  }
  ASSERT_EQ(RunCommand(
                EdgeoptBinary() + " inspect '" + Corpus("tflite-micro/magic_wand_weights.h5") + "'",
                &out),
            1);
  EXPECT_NE(out.find("weights only"), std::string::npos) << out;

  // A model that cannot convert (a Lambda before Flatten): the layers, the error, exit 1.
  std::ifstream f(SourceDir() + "/tests/models/magic_wand_config.json");
  std::string text((std::istreambuf_iterator<char>(f)), {});
  const std::string flatten = "{\n    \"class_name\": \"Flatten\"";
  ASSERT_NE(text.find(flatten), std::string::npos);
  text.insert(text.find(flatten),
              "{\"class_name\": \"Lambda\", \"config\": {\"name\": \"my_lambda\"}},\n   ");
  const std::string config = Tmp("lambda_config.json");
  std::ofstream(config) << text;
  StatusOr<keras::KerasModel> model =
      keras::LoadKerasWeights(Corpus("tflite-micro/magic_wand_weights.h5"), config);
  ASSERT_TRUE(model.ok()) << model.status().ToString();
  ASSERT_TRUE(keras::SaveKerasFile(*model, Tmp("lambda.keras")).ok());
  ASSERT_EQ(RunCommand(EdgeoptBinary() + " inspect '" + Tmp("lambda.keras") + "'", &out), 1);
  for (const char* needle : {"max_pooling2d_1", "[1,14,1,16]", "FAILS: layer 'my_lambda' (Lambda)",
                             "flatten", "(not converted)"}) {
    EXPECT_NE(out.find(needle), std::string::npos) << needle << " in:\n" << out;
  }
}

// ---------------------------------------------------------------------------------------------
// Malformed and unsupported inputs: exit 1, a message naming the file and the problem, and no
// output file.

class KerasConvertErrors : public KerasConvert {
 protected:
  void ExpectFailure(const std::string& args, const std::vector<std::string>& needles) {
    const std::string out = Tmp("bad.tflite");
    std::remove(out.c_str());
    const Converted c = Convert(args, out);
    EXPECT_EQ(c.rc, 1) << c.log;
    for (const std::string& n : needles) {
      EXPECT_NE(c.log.find(n), std::string::npos) << "missing '" << n << "' in: " << c.log;
    }
    EXPECT_FALSE(FileExists(out));
    std::printf("  %s", c.log.c_str());
  }

  static std::string MagicConfig() {
    std::ifstream f(SourceDir() + "/tests/models/magic_wand_config.json");
    return std::string(std::istreambuf_iterator<char>(f), {});
  }
  static std::string WriteText(const std::string& name, const std::string& text) {
    const std::string path = Tmp(name);
    std::ofstream(path) << text;
    return path;
  }
  static std::string Replace(std::string s, const std::string& from, const std::string& to) {
    const size_t at = s.find(from);
    EXPECT_NE(at, std::string::npos) << from;
    if (at != std::string::npos) s.replace(at, from.size(), to);
    return s;
  }
};

TEST_F(KerasConvertErrors, TruncatedHdf5) {
  StatusOr<std::vector<uint8_t>> bytes = ReadFileBytes(Corpus("mlcommons-tiny/ad01.h5"));
  ASSERT_TRUE(bytes.ok());
  for (size_t keep : {bytes->size() / 2, size_t{4096}, size_t{100}}) {
    const std::string path = Tmp("truncated.h5");
    ASSERT_TRUE(WriteFileAtomic(path, bytes->data(), keep).ok());
    ExpectFailure("'" + path + "'", {"truncated.h5"});
  }
}

TEST_F(KerasConvertErrors, CorruptHdf5ThatCrashesLibhdf5) {
  StatusOr<std::vector<uint8_t>> bytes =
      ReadFileBytes(Corpus("siliconlabs-mltk/image_example1.h5"));
  ASSERT_TRUE(bytes.ok());
  (*bytes)[6588] = 0xd2;  // a global heap string length (see keras_io_test.cc)
  const std::string path = Tmp("heap.h5");
  ASSERT_TRUE(WriteFileAtomic(path, *bytes).ok());
  ExpectFailure("'" + path + "'", {"heap.h5", "corrupt"});
}

TEST_F(KerasConvertErrors, KerasZipWithoutConfig) {
  StatusOr<std::vector<uint8_t>> zip =
      keras::BuildZip({{"metadata.json", {'{', '}'}}, {"model.weights.h5", {1, 2, 3}}});
  ASSERT_TRUE(zip.ok());
  const std::string path = Tmp("noconfig.keras");
  ASSERT_TRUE(WriteFileAtomic(path, *zip).ok());
  ExpectFailure("'" + path + "'", {"noconfig.keras", "no config.json"});
}

TEST_F(KerasConvertErrors, ConfigWithWrongTypes) {
  const std::string weights = "--weights '" + Corpus("tflite-micro/magic_wand_weights.h5") + "'";
  ExpectFailure(
      weights + " --config '" +
          WriteText("t1.json", Replace(MagicConfig(), "\"filters\": 8", "\"filters\": \"eight\"")) +
          "'",
      {"conv2d", "'filters' must be an integer"});
  ExpectFailure(
      weights + " --config '" +
          WriteText("t2.json", Replace(MagicConfig(), "\"layers\": [", "\"layers\": 7, \"x\": [")) +
          "'",
      {"t2.json", "layers"});
  ExpectFailure(weights + " --config '" + WriteText("t3.json", "{\"class_name\": 5}") + "'",
                {"t3.json", "class_name"});
  ExpectFailure(weights + " --config '" + WriteText("t4.json", "{not json") + "'",
                {"t4.json", "invalid JSON"});
}

TEST_F(KerasConvertErrors, WeightShapesThatDoNotMatchTheConfig) {
  const std::string weights = "--weights '" + Corpus("tflite-micro/magic_wand_weights.h5") + "'";
  ExpectFailure(weights + " --config '" +
                    WriteText("s1.json", Replace(MagicConfig(), "\"units\": 16", "\"units\": 17")) +
                    "'",
                {"dense", "kernel", "[224,16]", "[224,17]"});
  ExpectFailure(weights + " --config '" +
                    WriteText("s2.json",
                              Replace(MagicConfig(), "\"use_bias\": true", "\"use_bias\": false")) +
                    "'",
                {"conv2d", "bias"});
}

TEST_F(KerasConvertErrors, WeightsOnlyFileWithoutConfig) {
  ExpectFailure("'" + Corpus("tflite-micro/magic_wand_weights.h5") + "'",
                {"magic_wand_weights.h5", "weights only", "--config"});
}

TEST_F(KerasConvertErrors, NotAKerasFile) {
  ExpectFailure("'" + Corpus("tflite-micro/magic_wand.tflite") + "'",
                {"magic_wand.tflite", "neither"});
  ExpectFailure("'" + Tmp("missing.h5") + "'", {"missing.h5"});
}

TEST_F(KerasConvertErrors, UnsupportedLayerNamesLayerClassAndReason) {
  const std::string config = Replace(MagicConfig(), "{\n    \"class_name\": \"Flatten\"",
                                     "{\"class_name\": \"Lambda\", \"config\": {\"name\": "
                                     "\"my_lambda\", \"function\": "
                                     "\"abc\"}},\n   {\n    \"class_name\": \"Flatten\"");
  ExpectFailure("--weights '" + Corpus("tflite-micro/magic_wand_weights.h5") + "' --config '" +
                    WriteText("lambda.json", config) + "'",
                {"my_lambda", "Lambda", "Python"});
}

}  // namespace
}  // namespace testing
}  // namespace edgeopt
