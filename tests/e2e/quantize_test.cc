// End-to-end tests of `edgeopt quantize`: every float corpus model in every mode (the official
// runtime loads and runs each result, and `edgeopt run` agrees with it), the spec's structure
// (no QUANTIZE/DEQUANTIZE inside full-integer models), sizes and accuracy on Fashion-MNIST,
// the comparison with the official converter's int8 MNIST model, reports and the accuracy
// budget.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <random>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "src/data/dataset.h"
#include "src/export/tflite/export.h"
#include "src/importers/keras/keras_config.h"
#include "src/importers/keras/keras_model.h"
#include "src/importers/tflite/import.h"
#include "src/passes/model_loader.h"
#include "src/report/evaluate.h"
#include "src/util/file_util.h"
#include "src/util/npy.h"
#include "tests/e2e/weights_util.h"
#include "tests/test_util.h"

namespace edgeopt {
namespace testing {
namespace {

// Float models of the corpus: official-converter float .tflite files and Keras files.
const char* const kFloatModels[] = {
    "ai-edge-quantizer/conv_fc_mnist.tflite",
    "mlcommons-tiny/ad01_fp32.tflite",
    "mlcommons-tiny/pretrainedResnet.tflite",
    "siliconlabs-mltk/autoencoder_example.float32.tflite",
    "siliconlabs-mltk/image_example1.float32.tflite",
    "tensor-edge-converter/model.tflite",
    "tflite-micro/hello_world_float.tflite",
    "tflite-micro/magic_wand.tflite",
    "tflite-micro/trained_lstm.tflite",
    "zoo/planestrike_tf.tflite",
    "mlcommons-tiny/pretrainedResnet.h5",
    "keras-mnist-to-tpu/keras_model.h5",
    "siliconlabs-mltk/audio_example1.h5",
    "edge-vs-cloud-mnist/mnist_model.keras",
};

// Random calibration data in [-1, 1] shaped like the model's input.
std::string MakeCalibration(const std::string& model, const std::string& dir, int n) {
  auto loaded = passes::LoadModelGraph(model);
  if (!loaded.ok() || loaded->graph.inputs.empty()) return "";
  const ir::Tensor& in = loaded->graph.tensors[loaded->graph.inputs[0]];
  NpyArray x;
  x.dtype = DType::kFloat32;
  x.shape = {n};
  int64_t per = 1;
  for (size_t d = 1; d < in.shape.size(); ++d) {
    x.shape.push_back(in.shape[d]);
    per *= in.shape[d];
  }
  if (in.shape.size() == 1) {
    x.shape.push_back(in.shape[0]);
    per = in.shape[0];
  }
  x.data.resize(static_cast<size_t>(n * per) * 4);
  std::mt19937 rng(7);
  std::uniform_real_distribution<float> u(-1.0f, 1.0f);
  for (int64_t i = 0; i < n * per; ++i) x.Data<float>()[i] = u(rng);
  const std::string path = dir + "/calibration.npz";
  if (!WriteNpz(path, {{"x", x}}).ok()) return "";
  return path;
}

int CountOp(const ir::Graph& g, const std::string& op) {
  int n = 0;
  for (const ir::Node& node : g.nodes) n += node.op == op;
  return n;
}

// QUANTIZE only reads graph inputs and DEQUANTIZE only writes graph outputs.
void ExpectConversionsOnlyAtTheEdges(const ir::Graph& g, const std::string& what) {
  for (const ir::Node& node : g.nodes) {
    if (node.op == "QUANTIZE") {
      EXPECT_TRUE(std::find(g.inputs.begin(), g.inputs.end(), node.inputs[0]) != g.inputs.end() ||
                  g.IsGraphOutput(node.outputs[0]))
          << what << ": QUANTIZE inside the graph";
    }
    if (node.op == "DEQUANTIZE") {
      EXPECT_TRUE(g.IsGraphOutput(node.outputs[0])) << what << ": DEQUANTIZE inside the graph";
    }
  }
}

TEST(QuantizeCorpus, EveryFloatModelInEveryModeRunsInTfliteAndAgrees) {
  const std::string dir = MakeTempDir("quantize_corpus");
  std::vector<std::string> outputs;
  for (const char* rel : kFloatModels) {
    const std::string model = CorpusPath(rel);
    const std::string calib = MakeCalibration(model, dir, 64);
    ASSERT_FALSE(calib.empty()) << rel;
    std::string stem = rel;
    std::replace(stem.begin(), stem.end(), '/', '_');
    for (const char* mode : {"float16", "dynamic", "int8", "int16x8"}) {
      const std::string out = dir + "/" + stem + "." + mode + ".tflite";
      std::string log;
      const int rc =
          RunCommand(EdgeoptBinary() + " quantize " + model + " -o " + out + " --mode " + mode +
                         " --calibration " + calib + " --calibration-samples 64 --quiet",
                     &log);
      ASSERT_EQ(rc, 0) << rel << " " << mode << ":\n" << log;
      outputs.push_back(out);
      auto g = ImportTfliteFile(out);
      ASSERT_TRUE(g.ok()) << g.status().message();
      if (std::string(mode) == "int8") {
        ExpectConversionsOnlyAtTheEdges(*g, out);
        for (const ir::Node& n : g->nodes) {
          if (n.op == "CONV_2D" || n.op == "FULLY_CONNECTED" || n.op == "DEPTHWISE_CONV_2D") {
            EXPECT_EQ(g->tensors[n.inputs[1]].dtype, DType::kInt8) << out << " " << n.name;
            EXPECT_EQ(g->tensors[n.inputs[0]].dtype, DType::kInt8) << out << " " << n.name;
          }
        }
      }
      if (std::string(mode) == "float16") {
        EXPECT_GT(CountOp(*g, "DEQUANTIZE"), 0) << out;
      }
    }
    // Mixed precision: every other weighted layer kept in int16 (--keep-int16), so int8 and
    // int16 tensors meet in both directions.
    auto loaded = passes::LoadModelGraph(model);
    ASSERT_TRUE(loaded.ok()) << rel;
    std::string wide;
    int weighted = 0, named = 0;
    for (const ir::Node& n : loaded->graph.nodes) {
      if (n.op != "CONV_2D" && n.op != "FULLY_CONNECTED" && n.op != "DEPTHWISE_CONV_2D") continue;
      if (weighted++ % 2 != 0 || n.name.empty() || n.name.find(',') != std::string::npos) continue;
      wide += (wide.empty() ? "" : ",") + n.name;
      ++named;
    }
    if (named == 0) continue;
    const std::string out = dir + "/" + stem + ".mixed.tflite";
    std::string log;
    ASSERT_EQ(RunCommand(EdgeoptBinary() + " quantize " + model + " -o " + out +
                             " --mode int8 --calibration " + calib +
                             " --calibration-samples 64 --quiet --keep-int16 '" + wide + "'",
                         &log),
              0)
        << rel << " mixed:\n"
        << log;
    outputs.push_back(out);
    auto g = ImportTfliteFile(out);
    ASSERT_TRUE(g.ok()) << g.status().message();
    int int16_weighted = 0;
    for (const ir::Node& n : g->nodes) {
      if (n.op != "CONV_2D" && n.op != "FULLY_CONNECTED" && n.op != "DEPTHWISE_CONV_2D") continue;
      if (g->tensors[n.inputs[0]].dtype == DType::kInt16) {
        ++int16_weighted;
        EXPECT_EQ(g->tensors[n.inputs[1]].dtype, DType::kInt8) << out << " " << n.name;
        EXPECT_EQ(g->tensors[n.outputs[0]].dtype, DType::kInt16) << out << " " << n.name;
      }
    }
    EXPECT_GT(int16_weighted, 0) << out;
    // The same with integer I/O: an int16 output is requantized to int8 (and on to uint8).
    for (const char* io : {"int8", "uint8"}) {
      const std::string io_out = dir + "/" + stem + ".mixed_" + io + ".tflite";
      ASSERT_EQ(RunCommand(EdgeoptBinary() + " quantize " + model + " -o " + io_out +
                               " --mode int8 --io " + io + " --calibration " + calib +
                               " --calibration-samples 64 --quiet --keep-int16 '" + wide + "'",
                           &log),
                0)
          << rel << " mixed, --io " << io << ":\n"
          << log;
      outputs.push_back(io_out);
      auto gi = ImportTfliteFile(io_out);
      ASSERT_TRUE(gi.ok()) << gi.status().message();
      const DType want = std::string(io) == "int8" ? DType::kInt8 : DType::kUInt8;
      for (int t : gi->outputs) EXPECT_EQ(gi->tensors[t].dtype, want) << io_out;
    }
  }
  // The official runtime loads and runs every output, and edgeopt's runtime agrees at 1 LSB.
  std::string args = "--seeds 1";
  for (const std::string& o : outputs) args += " " + o;
  std::string log;
  const int rc = RunConformance(args, &log);
  EXPECT_EQ(rc, 0) << log;
  char expected[64];
  std::snprintf(expected, sizeof(expected), "%zu passed, 0 failed, 0 skipped", outputs.size());
  EXPECT_NE(log.find(expected), std::string::npos) << log;
  RunCommand("rm -rf " + dir);
}

// Sizes and accuracy on a Fashion-MNIST CNN trained by edgeopt.
TEST(QuantizeFmnist, SizesAndAccuracyOnTheTestSet) {
  const std::string baseline = TrainedFmnistBaseline();
  ASSERT_FALSE(baseline.empty());
  const std::string dir = MakeTempDir("quantize_fmnist");
  std::string log;
  ASSERT_EQ(
      RunCommand(EdgeoptBinary() + " convert " + baseline + " -o " + dir + "/float.tflite", &log),
      0)
      << log;
  ASSERT_EQ(RunCommand(EdgeoptBinary() + " eval " + dir +
                           "/float.tflite --data fashion-mnist:test --quiet",
                       &log),
            0)
      << log;
  const double float_acc = ParseMetric(log, "accuracy");
  ASSERT_GT(float_acc, 0.8);
  const double float_size = FileSize(dir + "/float.tflite");
  struct Case {
    const char* mode;
    double max_ratio;
    double max_drop_points;
  };
  for (const Case& c : {Case{"int8", 0.27, 0.5}, Case{"float16", 0.52, 0.05},
                        Case{"dynamic", 0.27, 0.2}, Case{"int16x8", 0.27, 0.5}}) {
    const std::string out = dir + "/" + c.mode + ".tflite";
    ASSERT_EQ(RunCommand(EdgeoptBinary() + " quantize " + baseline + " -o " + out + " --mode " +
                             c.mode + " --calibration fashion-mnist:train --quiet",
                         &log),
              0)
        << log;
    ASSERT_EQ(
        RunCommand(EdgeoptBinary() + " eval " + out + " --data fashion-mnist:test --quiet", &log),
        0)
        << log;
    const double acc = ParseMetric(log, "accuracy");
    const double ratio = static_cast<double>(FileSize(out)) / float_size;
    std::printf("[ fmnist ] %-8s size %.3fx  accuracy %.4f (float %.4f, %+.2f points)\n", c.mode,
                ratio, acc, float_acc, 100 * (acc - float_acc));
    EXPECT_LE(ratio, c.max_ratio) << c.mode;
    EXPECT_GE(acc, float_acc - c.max_drop_points / 100.0) << c.mode;
  }
  RunCommand("rm -rf " + dir);
}

// keras-mnist-to-tpu: our int8 model agrees with the float model's top-1 on the Fashion-MNIST
// test images at least as often as the official converter's int8 file does.
TEST(QuantizeOfficialComparison, Int8AgreesWithFloatAtLeastAsOftenAsTheOfficialFile) {
  const std::string dir = MakeTempDir("quantize_official");
  const std::string keras = CorpusPath("keras-mnist-to-tpu/keras_model.h5");
  std::string log;
  ASSERT_EQ(
      RunCommand(EdgeoptBinary() + " convert " + keras + " -o " + dir + "/float.tflite", &log), 0)
      << log;
  ASSERT_EQ(RunCommand(EdgeoptBinary() + " quantize " + keras + " -o " + dir +
                           "/int8.tflite --mode int8 --calibration fashion-mnist:train --quiet",
                       &log),
            0)
      << log;
  auto test = data::LoadDataset("fashion-mnist:test");
  ASSERT_TRUE(test.ok()) << test.status().message();
  auto predict = [&](const std::string& path) -> std::vector<int> {
    auto bytes = ReadFileBytes(path);
    EXPECT_TRUE(bytes.ok());
    auto interp = rt::Interpreter::Create(bytes->data(), bytes->size(), {});
    EXPECT_TRUE(interp.ok()) << interp.status().message();
    auto p = report::PredictTflite(interp->get(), *test);
    EXPECT_TRUE(p.ok()) << p.status().message();
    return p.ok() ? *p : std::vector<int>();
  };
  const std::vector<int> f = predict(dir + "/float.tflite");
  const std::vector<int> ours = predict(dir + "/int8.tflite");
  const std::vector<int> official = predict(CorpusPath("keras-mnist-to-tpu/mnist.tflite"));
  ASSERT_EQ(f.size(), 10000u);
  ASSERT_EQ(ours.size(), f.size());
  ASSERT_EQ(official.size(), f.size());
  int agree_ours = 0, agree_official = 0;
  for (size_t i = 0; i < f.size(); ++i) {
    agree_ours += ours[i] == f[i];
    agree_official += official[i] == f[i];
  }
  std::printf(
      "[ keras-mnist-to-tpu ] top-1 agreement with float on 10000 Fashion-MNIST images: "
      "edgeopt int8 %d, official int8 %d\n",
      agree_ours, agree_official);
  EXPECT_GE(agree_ours, agree_official);
  RunCommand("rm -rf " + dir);
}

// TFLite Micro's mnist_lstm example ships its float model and the official converter's int8 file
// of it. edgeopt's int8, calibrated on the example's ten sample digits, writes the same integer
// LSTM: the same int8 weights and int32 biases with the same scales, int8 hidden and int16 cell
// states (the same power-of-two cell scale), five intermediates, the same file size; only the
// calibrated activation scales differ a little. Both classify the ten digits alike, and the
// official runtime computes edgeopt's file bit for bit as edgeopt does.
TEST(QuantizeOfficialComparison, LstmMatchesTheOfficialConvertersIntegerLstm) {
  const std::string dir = MakeTempDir("quantize_lstm_official");
  for (int d = 0; d < 10; ++d) {
    const std::string sub = dir + "/digits/" + std::to_string(d);
    ASSERT_EQ(RunCommand("mkdir -p " + sub + " && cp " +
                         CorpusPath("tflite-micro/testdata/mnist_lstm_sample" + std::to_string(d) +
                                    ".png") +
                         " " + sub + "/"),
              0);
  }
  const std::string ours = dir + "/lstm_int8.tflite";
  std::string log;
  ASSERT_EQ(
      RunCommand(EdgeoptBinary() + " quantize " + CorpusPath("tflite-micro/trained_lstm.tflite") +
                     " --mode int8 --io int8 --calibration " + dir + "/digits --eval " + dir +
                     "/digits --quiet -o " + ours,
                 &log),
      0)
      << log;
  EXPECT_NE(log.find("int8 1.0000"), std::string::npos) << log;  // all ten digits right
  const std::string official_path = CorpusPath("tflite-micro/trained_lstm_int8.tflite");
  auto a = ImportTfliteFile(ours);
  auto b = ImportTfliteFile(official_path);
  ASSERT_TRUE(a.ok() && b.ok());
  std::vector<std::string> ops_a, ops_b;
  for (const ir::Node& n : a->nodes) ops_a.push_back(n.op);
  for (const ir::Node& n : b->nodes) ops_b.push_back(n.op);
  EXPECT_EQ(ops_a, ops_b);
  const ir::Node& la = a->nodes[0];
  const ir::Node& lb = b->nodes[0];
  ASSERT_EQ(la.op, "UNIDIRECTIONAL_SEQUENCE_LSTM");
  ASSERT_EQ(la.inputs.size(), lb.inputs.size());
  ASSERT_EQ(la.intermediates.size(), 5u);
  ASSERT_EQ(lb.intermediates.size(), 5u);
  int compared = 0;
  for (size_t k = 0; k < la.inputs.size(); ++k) {
    ASSERT_EQ(la.inputs[k] < 0, lb.inputs[k] < 0) << "input " << k;
    if (la.inputs[k] < 0) continue;
    const ir::Tensor& ta = a->tensors[la.inputs[k]];
    const ir::Tensor& tb = b->tensors[lb.inputs[k]];
    EXPECT_EQ(ta.dtype, tb.dtype) << "input " << k;
    EXPECT_EQ(ta.shape, tb.shape) << "input " << k;
    EXPECT_EQ(ta.is_variable, tb.is_variable) << "input " << k;
    ASSERT_EQ(ta.quant.scale.size(), 1u) << "input " << k;
    ASSERT_EQ(tb.quant.scale.size(), 1u) << "input " << k;
    EXPECT_EQ(ta.quant.zero_point, tb.quant.zero_point) << "input " << k;
    if (ta.is_constant || k == 19) {  // weights, biases, the cell state
      EXPECT_FLOAT_EQ(ta.quant.scale[0], tb.quant.scale[0]) << "input " << k;
      EXPECT_EQ(ta.data, tb.data) << "input " << k;
      ++compared;
    } else {  // input and hidden state: calibrated on other data
      EXPECT_NEAR(ta.quant.scale[0], tb.quant.scale[0], 0.01 * tb.quant.scale[0]) << "input " << k;
    }
  }
  EXPECT_EQ(compared, 13);  // 8 gate weights, 4 gate biases, the cell state
  for (size_t k = 0; k < 5; ++k) {
    EXPECT_EQ(a->tensors[la.intermediates[k]].dtype, b->tensors[lb.intermediates[k]].dtype);
  }
  auto size_a = ReadFileBytes(ours);
  auto size_b = ReadFileBytes(official_path);
  ASSERT_TRUE(size_a.ok() && size_b.ok());
  std::printf("[ trained_lstm int8 ] edgeopt %zu bytes, official converter %zu bytes\n",
              size_a->size(), size_b->size());
  EXPECT_LE(size_a->size(), size_b->size());
  std::string conf;
  EXPECT_EQ(RunConformance("--seeds 3 --max-lsb 0 " + ours, &conf), 0) << conf;
  RunCommand("rm -rf " + dir);
}

// --keep-int16 and --fallback int16 on keras-mnist-to-tpu, labeled with the float model's own
// predictions on Fashion-MNIST images (inputs it was not trained on, where int8 changes some
// top-1 answers): the budget loop keeps layers in int16, the drop shrinks, and the file stays
// int8-sized with no float weights, runs in the official runtime and agrees with edgeopt's.
TEST(QuantizeCli, KeepInt16AndInt16Fallback) {
  const std::string dir = MakeTempDir("quantize_int16");
  const std::string keras = CorpusPath("keras-mnist-to-tpu/keras_model.h5");
  std::string log;
  ASSERT_EQ(
      RunCommand(EdgeoptBinary() + " convert " + keras + " -o " + dir + "/float.tflite", &log), 0)
      << log;
  auto test = data::LoadDataset("fashion-mnist:test");
  ASSERT_TRUE(test.ok()) << test.status().message();
  const int n = 2000;
  auto bytes = ReadFileBytes(dir + "/float.tflite");
  ASSERT_TRUE(bytes.ok());
  auto interp = rt::Interpreter::Create(bytes->data(), bytes->size(), {});
  ASSERT_TRUE(interp.ok()) << interp.status().message();
  auto pred = report::PredictTflite(interp->get(), *test, n);
  ASSERT_TRUE(pred.ok()) << pred.status().message();
  const std::string labeled = dir + "/float_labels.npz";
  ASSERT_TRUE(WriteImagesNpz(labeled, test->x.data(), pred->data(), n).ok());

  // The quantized accuracy of the last "accuracy: float F, int8 Q (...)" line.
  auto quantized_accuracy = [](const std::string& text) {
    const size_t line = text.rfind("accuracy: float");
    const size_t at = line == std::string::npos ? line : text.find(", int8 ", line);
    return at == std::string::npos ? -1.0 : std::atof(text.c_str() + at + 7);
  };
  const std::string common =
      " --mode int8 --calibration fashion-mnist:train "
      "--calibration-samples 200 --eval " +
      labeled;
  ASSERT_EQ(
      RunCommand(EdgeoptBinary() + " quantize " + keras + " -o " + dir + "/int8.tflite" + common,
                 &log),
      0)
      << log;
  const double int8_acc = quantized_accuracy(log);
  ASSERT_EQ(RunCommand(EdgeoptBinary() + " quantize " + keras + " -o " + dir +
                           "/fallback.tflite --accuracy-budget 0 --fallback int16" + common,
                       &log),
            0)
      << log;
  EXPECT_NE(log.find("in int16\n"), std::string::npos) << log;
  // The search as a table: each step's accuracy, size, latency and what it cost.
  EXPECT_NE(log.find("| step | kept in int16 | top-1 | drop (points) | bytes | latency (us) | "
                     "cost of the step |"),
            std::string::npos)
      << log;
  EXPECT_NE(log.find("| 0 | (none) | "), std::string::npos) << log;
  EXPECT_NE(log.find("| 1 | "), std::string::npos) << log;
  EXPECT_NE(log.find(" bytes, "), std::string::npos) << log;
  const double mixed_acc = quantized_accuracy(log);
  std::printf(
      "[ keras-mnist-to-tpu ] top-1 agreement with float on %d images: int8 %.4f, "
      "int8 with the int16 fallback %.4f\n",
      n, int8_acc, mixed_acc);
  EXPECT_LT(int8_acc, 1.0);  // int8 changes answers here, so the loop has work to do
  EXPECT_GT(mixed_acc, int8_acc);
  auto plain = ImportTfliteFile(dir + "/int8.tflite");
  auto mixed = ImportTfliteFile(dir + "/fallback.tflite");
  ASSERT_TRUE(plain.ok() && mixed.ok());
  int int16_layers = 0;
  for (const ir::Node& node : mixed->nodes) {
    if (node.op != "CONV_2D" && node.op != "FULLY_CONNECTED") continue;
    EXPECT_EQ(mixed->tensors[node.inputs[1]].dtype, DType::kInt8) << node.name;
    int16_layers += mixed->tensors[node.inputs[0]].dtype == DType::kInt16;
  }
  EXPECT_GT(int16_layers, 0);
  EXPECT_LE(FileSize(dir + "/fallback.tflite"), FileSize(dir + "/int8.tflite") + 4096);

  // The float fallback with a 0.5-point budget: it gets there, and a fallback that lowered the
  // accuracy is undone (not among the layers kept in float).
  ASSERT_EQ(RunCommand(EdgeoptBinary() + " quantize " + keras + " -o " + dir +
                           "/float_fallback.tflite --accuracy-budget 0.5" + common,
                       &log),
            0)
      << log;
  EXPECT_GE(quantized_accuracy(log), 0.995 - 1e-9) << log;
  const size_t kept_at = log.find("kept in float to meet the accuracy budget: ");
  ASSERT_NE(kept_at, std::string::npos) << log;
  // The comma-separated names after a prefix, up to the end of its line.
  auto names_after = [&](size_t at, size_t prefix) {
    std::set<std::string> names;
    std::stringstream list(log.substr(at + prefix, log.find('\n', at) - at - prefix));
    for (std::string name; std::getline(list, name, ',');) {
      names.insert(name.substr(name.find_first_not_of(' ')));
    }
    return names;
  };
  const std::set<std::string> kept_in_float = names_after(kept_at, 43);
  EXPECT_TRUE(kept_in_float.count("dense_1")) << log;
  const size_t undone_at =
      log.find("Tried and left quantized (the fallback lowered the accuracy): ");
  if (undone_at != std::string::npos) {
    for (const std::string& name : names_after(undone_at, 62)) {
      EXPECT_FALSE(kept_in_float.count(name)) << name << "\n" << log;
      EXPECT_NE(log.find("  " + name + " lowers the accuracy to "), std::string::npos) << log;
    }
  }

  // --keep-int16 by name, against --keep-float of the same layer: a few bytes, not 4x the
  // layer's weights.
  ASSERT_EQ(RunCommand(EdgeoptBinary() + " quantize " + keras + " -o " + dir +
                           "/keep16.tflite --keep-int16 dense" + common,
                       &log),
            0)
      << log;
  ASSERT_EQ(RunCommand(EdgeoptBinary() + " quantize " + keras + " -o " + dir +
                           "/keepfloat.tflite --keep-float dense" + common,
                       &log),
            0)
      << log;
  EXPECT_LE(FileSize(dir + "/keep16.tflite"), FileSize(dir + "/int8.tflite") + 2048);
  EXPECT_GT(FileSize(dir + "/keepfloat.tflite"), FileSize(dir + "/keep16.tflite") + 3 * 1024);

  // The official runtime runs them and edgeopt's runtime computes the same outputs.
  ASSERT_EQ(
      RunConformance("--seeds 2 --max-lsb 0 " + dir + "/fallback.tflite " + dir + "/keep16.tflite",
                     &log),
      0)
      << log;
  EXPECT_NE(log.find("2 passed, 0 failed, 0 skipped"), std::string::npos) << log;

  // compare calls it int8+int16 and counts its int64 biases among the parameters.
  ASSERT_EQ(RunCommand(EdgeoptBinary() + " compare " + dir + "/int8.tflite " + dir +
                           "/keep16.tflite --names int8,mixed --runs 5 --rounds 1",
                       &log),
            0)
      << log;
  const size_t row = log.find("\nmixed ");
  ASSERT_NE(row, std::string::npos) << log;
  const std::string mixed_row = log.substr(row, log.find('\n', row + 1) - row);
  EXPECT_NE(mixed_row.find(" int8+int16 "), std::string::npos) << log;
  EXPECT_NE(mixed_row.find(" 136586 "), std::string::npos) << log;  // as the int8 file's

  // Usage errors: exit 2, no output.
  for (const std::string& bad :
       {std::string(" --mode int16x8 --keep-int16 dense --calibration fashion-mnist:train"),
        std::string(" --mode int8 --fallback bfloat16 --calibration fashion-mnist:train")}) {
    EXPECT_EQ(
        RunCommand(EdgeoptBinary() + " quantize " + keras + " -o " + dir + "/bad.tflite" + bad,
                   &log),
        2)
        << bad << "\n"
        << log;
    EXPECT_FALSE(FileExists(dir + "/bad.tflite"));
  }
  RunCommand("rm -rf " + dir);
}

// A Functional layer entry (Keras 2 node format): `config` continues the config object after its
// name; `kwargs` is the call's keyword arguments (a JSON object).
std::string KerasLayer(const std::string& cls, const std::string& name, const std::string& config,
                       const std::vector<std::string>& inputs, const std::string& kwargs = "{}") {
  std::string nodes;
  for (const std::string& in : inputs) {
    nodes += std::string(nodes.empty() ? "" : ", ") + "[\"" + in + "\", 0, 0, " + kwargs + "]";
  }
  return "{\"class_name\": \"" + cls + "\", \"name\": \"" + name + "\", \"config\": {\"name\": \"" +
         name + "\"" + config + "}, \"inbound_nodes\": [[" + nodes + "]]}";
}

// A Functional architecture with input x of `shape` (e.g. "12, 4") and the KerasLayer entries
// `layers`, the last one its output, written as dir/arch.json and converted to dir/f.tflite.
void WriteArchitecture(const std::string& dir, const std::string& shape,
                       const std::vector<std::string>& layers) {
  std::string list =
      R"({"class_name": "InputLayer", "name": "x", "config": {"name": "x", "batch_input_shape": )"
      R"([null, )" +
      shape + R"(]}, "inbound_nodes": []})";
  for (const std::string& l : layers) list += ",\n" + l;
  const std::string last = keras::Json::parse(layers.back())["name"];
  const std::string arch = R"({"class_name": "Functional", "config": {"name": "m", "layers": [)" +
                           list + R"(], "input_layers": [["x", 0, 0]], "output_layers": [[")" +
                           last + R"(", 0, 0]]}})";
  ASSERT_TRUE(
      WriteFileAtomic(dir + "/arch.json", std::vector<uint8_t>(arch.begin(), arch.end())).ok());
  std::string log;
  ASSERT_EQ(
      RunCommand(EdgeoptBinary() + " convert " + dir + "/arch.json -o " + dir + "/f.tflite", &log),
      0)
      << log;
}

// dir/<mode>.tflite: dir/arch.json quantized with random calibration (and `extra` flags); its
// graph.
StatusOr<ir::Graph> QuantizeArchitecture(const std::string& dir, const std::string& mode,
                                         const std::string& extra = "") {
  std::string log;
  const std::string q = dir + "/" + mode + ".tflite";
  if (RunCommand(EdgeoptBinary() + " quantize " + dir + "/arch.json -o " + q + " --mode " + mode +
                     " --calibration random --calibration-samples 16 --quiet" + extra,
                 &log) != 0) {
    return MakeStatus(StatusCode::kInternal, "quantize failed: %s", log.c_str());
  }
  return ImportTfliteFile(q);
}

// An int16x8 ADD reading a tensor that was 0 in every calibration sample (here x - x; in a
// masked recurrent layer, the state before the first kept step): the official converter's
// scale 1 for it is 2^15 times the ADD's output scale, which TFLite's int16 ADD cannot rescale
// (it aborts loading the model). The zero tensor takes the output's parameters, and the ADD takes
// the general rescaling path (pot_scale_int16 false, as the official quantizer sets it).
TEST(QuantizeCli, Int16AddOfATensorThatWasAlwaysZero) {
  const std::string dir = MakeTempDir("quantize_zero_add");
  WriteArchitecture(
      dir, "4",
      {KerasLayer("Dense", "d", R"(, "units": 4)", {"x"}),
       KerasLayer("Subtract", "zero", "", {"x", "x"}), KerasLayer("Add", "sum", "", {"d", "zero"}),
       KerasLayer("Dense", "out", R"(, "units": 3)", {"sum"})});
  auto g = QuantizeArchitecture(dir, "int16x8");
  ASSERT_TRUE(g.ok()) << g.status().message();
  int adds = 0;
  for (const ir::Node& n : g->nodes) {
    if (n.op != "ADD" && n.op != "SUB") continue;
    ++adds;
    EXPECT_FALSE(ir::GetBool(n.attrs, "pot_scale_int16", true)) << n.op;
    if (n.op != "ADD") continue;
    const ir::Tensor& zero = g->tensors[n.inputs[1]];
    const ir::Tensor& out = g->tensors[n.outputs[0]];
    ASSERT_EQ(zero.dtype, DType::kInt16);
    EXPECT_EQ(zero.quant.scale, out.quant.scale);
  }
  EXPECT_EQ(adds, 2);
  std::string conf;
  EXPECT_EQ(RunConformance("--seeds 2 " + dir + "/int16x8.tflite", &conf), 0) << conf;
  EXPECT_NE(conf.find("1 passed, 0 failed, 0 skipped"), std::string::npos) << conf;
  RunCommand("rm -rf '" + dir + "'");
}

// Conv1DTranspose, UnitNormalization and Dot(normalize=True) quantize to full int8: the
// L2_NORMALIZATIONs get the spec's fixed output (scale 1/128, zero point 0) and the official
// runtime computes what edgeopt's does; int16x8 keeps L2_NORMALIZATION (no 16x8 kernel in TFLite
// 2.9) in float between a DEQUANTIZE and a QUANTIZE.
TEST(QuantizeCli, L2NormalizationLayersQuantize) {
  const std::string dir = MakeTempDir("quantize_l2");
  WriteArchitecture(
      dir, "12, 4",
      {KerasLayer("Conv1DTranspose", "ct",
                  R"(, "filters": 6, "kernel_size": 3, "strides": 2, "padding": "same",
                  "activation": "relu")",
                  {"x"}),
       KerasLayer("Dense", "d", R"(, "units": 8)", {"ct"}),
       KerasLayer("UnitNormalization", "u", "", {"d"}),
       KerasLayer("Dot", "dot", R"(, "axes": 2, "normalize": true)", {"u", "d"}),
       KerasLayer("Flatten", "f", "", {"dot"}),
       KerasLayer("Dense", "out", R"(, "units": 3)", {"f"})});
  for (const char* mode : {"int8", "int16x8"}) {
    SCOPED_TRACE(mode);
    auto g = QuantizeArchitecture(dir, mode);
    ASSERT_TRUE(g.ok()) << g.status().message();
    int conversions = 0, l2 = 0;
    for (const ir::Node& n : g->nodes) {
      conversions += n.op == "QUANTIZE" || n.op == "DEQUANTIZE";
      if (n.op != "L2_NORMALIZATION") continue;
      ++l2;
      const ir::Tensor& out = g->tensors[n.outputs[0]];
      if (std::string(mode) == "int8") {
        EXPECT_EQ(out.dtype, DType::kInt8);
        ASSERT_EQ(out.quant.scale.size(), 1u);
        EXPECT_EQ(out.quant.scale[0], 1.0f / 128);
        EXPECT_EQ(out.quant.zero_point[0], 0);
      } else {
        EXPECT_EQ(out.dtype, DType::kFloat32);
      }
    }
    EXPECT_EQ(l2, 3);  // UnitNormalization and Dot's two inputs
    // int8: only at the edges. int16x8: also one DEQUANTIZE of d (u and Dot's second input
    // normalize it in float) and a QUANTIZE of each of the BATCH_MATMUL's normalized inputs.
    EXPECT_EQ(conversions, std::string(mode) == "int8" ? 2 : 2 + 3);
  }
  std::string conf;
  EXPECT_EQ(RunConformance("--seeds 2 --max-lsb 0 " + dir + "/f.tflite " + dir + "/int8.tflite " +
                               dir + "/int16x8.tflite",
                           &conf),
            0)
      << conf;
  RunCommand("rm -rf " + dir);
}

// LayerNormalization as TensorFlow's converter writes it (MEAN, SQUARED_DIFFERENCE, MEAN, ADD,
// RSQRT, SUB, MUL): the official float file quantizes to full int8, SQUARED_DIFFERENCE included,
// and the official runtime computes what edgeopt's does.
TEST(QuantizeCli, OfficialLayerNormalizationWithSquaredDifference) {
  const std::string dir = MakeTempDir("quantize_sqdiff");
  ir::Graph g;
  const int x = g.AddActivation("x", DType::kFloat32, {1, 5, 8});
  const int32_t axis = 2;
  const int axes = g.AddConstant("axes", DType::kInt32, {1}, &axis, sizeof(axis));
  auto op = [&](const std::string& type, std::vector<int> inputs, const std::string& name,
                std::vector<int32_t> shape, ir::Attrs attrs = {}) {
    ir::Node n;
    n.op = type;
    n.name = name;
    n.inputs = std::move(inputs);
    n.outputs = {g.AddActivation(name, DType::kFloat32, shape)};
    n.attrs = std::move(attrs);
    g.AddNode(n);
    return n.outputs[0];
  };
  const ir::Attrs keep = {{"keep_dims", true}};
  const ir::Attrs none = {{"fused_activation_function", std::string("NONE")}};
  const int mean = op("MEAN", {x, axes}, "ln/mean", {1, 5, 1}, keep);
  const int sq = op("SQUARED_DIFFERENCE", {x, mean}, "ln/sqdiff", {1, 5, 8});
  const int var = op("MEAN", {sq, axes}, "ln/variance", {1, 5, 1}, keep);
  const int eps = g.AddFloatConstant("ln/epsilon", {}, {1e-3f});
  const int shifted = op("ADD", {var, eps}, "ln/add", {1, 5, 1}, none);
  const int inv = op("RSQRT", {shifted}, "ln/rsqrt", {1, 5, 1});
  const int centered = op("SUB", {x, mean}, "ln/sub", {1, 5, 8}, none);
  const int y = op("MUL", {centered, inv}, "ln", {1, 5, 8}, none);
  g.inputs = {x};
  g.outputs = {y};
  ASSERT_TRUE(g.Validate().ok());
  ASSERT_TRUE(WriteTfliteFile(g, dir + "/f.tflite").ok());
  std::string log;
  ASSERT_EQ(RunCommand(EdgeoptBinary() + " quantize " + dir + "/f.tflite -o " + dir +
                           "/q.tflite --mode int8 --calibration random --calibration-samples 16",
                       &log),
            0)
      << log;
  auto q = ImportTfliteFile(dir + "/q.tflite");
  ASSERT_TRUE(q.ok()) << q.status().message();
  int conversions = 0, sqdiff = 0;
  for (const ir::Node& n : q->nodes) {
    conversions += n.op == "QUANTIZE" || n.op == "DEQUANTIZE";
    if (n.op == "SQUARED_DIFFERENCE") {
      ++sqdiff;
      EXPECT_EQ(q->tensors[n.outputs[0]].dtype, DType::kInt8);
    }
  }
  EXPECT_EQ(sqdiff, 1);
  EXPECT_EQ(conversions, 2) << log;
  std::string conf;
  EXPECT_EQ(
      RunConformance("--seeds 3 --max-lsb 0 " + dir + "/f.tflite " + dir + "/q.tflite", &conf), 0)
      << conf;
  RunCommand("rm -rf " + dir);
}

// ABS (keras.ops.abs, an L1 distance) is int8 and int16 in its own output range: the whole
// model integer, and the official runtime computes what edgeopt's does.
TEST(QuantizeCli, AbsIsIntegerInBothModes) {
  const std::string dir = MakeTempDir("quantize_abs");
  ir::Graph g;
  const int x = g.AddActivation("x", DType::kFloat32, {1, 8});
  auto op = [&](const std::string& type, std::vector<int> inputs, const std::string& name) {
    ir::Node n;
    n.op = type;
    n.name = name;
    n.inputs = std::move(inputs);
    n.outputs = {g.AddActivation(name, DType::kFloat32, {1, 8})};
    if (type == "SUB" || type == "MUL") n.attrs["fused_activation_function"] = std::string("NONE");
    g.AddNode(n);
    return n.outputs[0];
  };
  const int c = g.AddFloatConstant("c", {8}, {0.1f, -0.4f, 0.25f, 0.0f, 0.6f, -0.2f, 0.3f, -0.7f});
  const int d = op("SUB", {x, c}, "diff");
  const int a = op("ABS", {d}, "abs");
  const int y = op("MUL", {a, d}, "out");
  g.inputs = {x};
  g.outputs = {y};
  ASSERT_TRUE(g.Validate().ok());
  ASSERT_TRUE(WriteTfliteFile(g, dir + "/f.tflite").ok());
  for (const char* mode : {"int8", "int16x8"}) {
    SCOPED_TRACE(mode);
    const std::string q = dir + "/" + mode + ".tflite";
    std::string log;
    ASSERT_EQ(RunCommand(EdgeoptBinary() + " quantize " + dir + "/f.tflite -o " + q + " --mode " +
                             mode + " --calibration random --calibration-samples 16",
                         &log),
              0)
        << log;
    auto qg = ImportTfliteFile(q);
    ASSERT_TRUE(qg.ok()) << qg.status().message();
    int conversions = 0, abs = 0;
    for (const ir::Node& n : qg->nodes) {
      conversions += n.op == "QUANTIZE" || n.op == "DEQUANTIZE";
      if (n.op != "ABS") continue;
      ++abs;
      EXPECT_EQ(qg->tensors[n.outputs[0]].dtype,
                std::string(mode) == "int8" ? DType::kInt8 : DType::kInt16);
    }
    EXPECT_EQ(abs, 1);
    EXPECT_EQ(conversions, 2) << log;
    std::string conf;
    EXPECT_EQ(RunConformance("--seeds 3 --max-lsb 0 " + q, &conf), 0) << conf;
  }
  RunCommand("rm -rf " + dir);
}

// A causal self-attention block (MultiHeadAttention with use_causal_mask=True) quantizes to full
// int8 and to int16x8: the mask's MINIMUM shares the scores' scale, its -1e9 saturates to the
// bottom of a range that the calibration's -1e9 did not widen, and the official runtime
// computes what edgeopt's does.
TEST(QuantizeCli, CausalAttentionQuantizes) {
  const std::string dir = MakeTempDir("quantize_causal");
  WriteArchitecture(dir, "10, 8",
                    {KerasLayer("MultiHeadAttention", "mha", R"(, "num_heads": 2, "key_dim": 4)",
                                {"x"}, R"({"value": ["x", 0, 0], "use_causal_mask": true})"),
                     KerasLayer("Add", "res", "", {"x", "mha"}),
                     KerasLayer("GlobalAveragePooling1D", "gap", "", {"res"}),
                     KerasLayer("Dense", "out", R"(, "units": 3)", {"gap"})});
  for (const char* mode : {"int8", "int16x8"}) {
    SCOPED_TRACE(mode);
    const bool wide = std::string(mode) != "int8";
    auto g = QuantizeArchitecture(dir, mode, " --report " + dir + "/" + mode + ".md");
    ASSERT_TRUE(g.ok()) << g.status().message();
    int conversions = 0, minimums = 0;
    for (const ir::Node& n : g->nodes) {
      conversions += n.op == "QUANTIZE" || n.op == "DEQUANTIZE";
      if (n.op != "MINIMUM") continue;
      ++minimums;
      const ir::QuantInfo& scores = g->tensors[n.inputs[0]].quant;
      const ir::QuantInfo& out = g->tensors[n.outputs[0]].quant;
      ASSERT_EQ(out.scale.size(), 1u);
      EXPECT_EQ(out.scale, scores.scale);
      // A range of some tens (the scores' lowered by ln(levels · 10)), not of 1e9.
      const double width = out.scale[0] * (wide ? 65535.0 : 255.0);
      EXPECT_LT(width, 200.0);
      EXPECT_GT(width, std::log((wide ? 65536.0 : 256.0) * 10));
    }
    EXPECT_EQ(minimums, 1);
    EXPECT_EQ(conversions, 2);
    // The report leaves the masked positions out: no error of the size of 1e9.
    auto report = ReadFileBytes(dir + "/" + mode + ".md", 1 << 20);
    ASSERT_TRUE(report.ok());
    const std::string text(report->begin(), report->end());
    const size_t row = text.find("`mha/masked_scores`");
    ASSERT_NE(row, std::string::npos) << text;
    const std::string line = text.substr(row, text.find('\n', row) - row);
    EXPECT_EQ(line.find("e+0"), std::string::npos) << line;
  }
  std::string conf;
  EXPECT_EQ(RunConformance("--seeds 2 --max-lsb 0 " + dir + "/f.tflite " + dir + "/int8.tflite " +
                               dir + "/int16x8.tflite",
                           &conf),
            0)
      << conf;
  RunCommand("rm -rf " + dir);
}

// Measuring an architecture before training it: `convert arch.json` (Keras's initial weights)
// and `quantize arch.json --calibration random` give files that run, the int8 one full-integer;
// the initial weights follow the config (the same file twice is the same model); a broken JSON
// is an error naming the file, with no output left behind.
TEST(QuantizeCli, ArchitectureJsonAndRandomCalibration) {
  const std::string dir = MakeTempDir("quantize_architecture");
  const std::string arch = R"({"class_name": "Sequential", "config": {"name": "seg", "layers": [
    {"class_name": "InputLayer", "config": {"name": "x", "batch_input_shape": [null, 16, 16, 3]}},
    {"class_name": "Conv2D", "config": {"name": "c1", "filters": 8, "kernel_size": [3, 3],
     "padding": "same", "activation": "relu"}},
    {"class_name": "MaxPooling2D", "config": {"name": "p1", "pool_size": [2, 2]}},
    {"class_name": "Conv2DTranspose", "config": {"name": "t1", "filters": 4, "kernel_size": [3, 3],
     "strides": [2, 2], "padding": "same"}},
    {"class_name": "UpSampling2D", "config": {"name": "up", "size": [2, 2],
     "interpolation": "bilinear"}}]}})";
  ASSERT_TRUE(
      WriteFileAtomic(dir + "/arch.json", std::vector<uint8_t>(arch.begin(), arch.end())).ok());
  std::string log;
  ASSERT_EQ(
      RunCommand(EdgeoptBinary() + " convert " + dir + "/arch.json -o " + dir + "/a.tflite", &log),
      0)
      << log;
  EXPECT_NE(log.find("untrained"), std::string::npos) << log;
  ASSERT_EQ(
      RunCommand(EdgeoptBinary() + " convert " + dir + "/arch.json -o " + dir + "/b.tflite", &log),
      0)
      << log;
  auto a = ReadFileBytes(dir + "/a.tflite", 1 << 20);
  auto b = ReadFileBytes(dir + "/b.tflite", 1 << 20);
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_EQ(*a, *b);
  ASSERT_EQ(RunCommand(EdgeoptBinary() + " quantize " + dir + "/arch.json -o " + dir +
                           "/a8.tflite --mode int8 --calibration random --calibration-samples 16 "
                           "--quiet",
                       &log),
            0)
      << log;
  auto g = ImportTfliteFile(dir + "/a8.tflite");
  ASSERT_TRUE(g.ok()) << g.status().message();
  int conversions = 0;
  for (const ir::Node& n : g->nodes) conversions += n.op == "QUANTIZE" || n.op == "DEQUANTIZE";
  EXPECT_EQ(conversions, 2);  // full-integer: only at the edges
  std::string conf;
  EXPECT_EQ(
      RunConformance("--seeds 2 --max-lsb 0 " + dir + "/a.tflite " + dir + "/a8.tflite", &conf), 0)
      << conf;
  const std::string bad = "{\"class_name\": \"Sequential\", \"config\": ";
  ASSERT_TRUE(
      WriteFileAtomic(dir + "/bad.json", std::vector<uint8_t>(bad.begin(), bad.end())).ok());
  EXPECT_NE(
      RunCommand(EdgeoptBinary() + " convert " + dir + "/bad.json -o " + dir + "/bad.tflite", &log),
      0);
  EXPECT_NE(log.find("bad.json: not valid JSON"), std::string::npos) << log;
  EXPECT_FALSE(FileExists(dir + "/bad.tflite"));
  RunCommand("rm -rf '" + dir + "'", &log);
}

// A Keras Embedding model (its table is most of its weights): int8 quantizes the table with the
// GATHER (int8 rows sharing the output's scale), the ids stay int32, and the official runtime
// computes what edgeopt does.
TEST(QuantizeCli, EmbeddingTableBecomesInt8) {
  const std::string dir = MakeTempDir("quantize_embedding");
  const nlohmann::json config = nlohmann::json::parse(R"({"class_name": "Sequential", "config": {
    "name": "tok", "layers": [
    {"class_name": "InputLayer", "config": {"batch_input_shape": [null, 8], "name": "ids"}},
    {"class_name": "Embedding", "config": {"name": "emb", "input_dim": 500, "output_dim": 16}},
    {"class_name": "GlobalAveragePooling1D", "config": {"name": "gap"}},
    {"class_name": "Dense", "config": {"name": "out", "units": 4}}]}})");
  auto model = keras::ModelFromConfig(config, 3);
  ASSERT_TRUE(model.ok()) << model.status().ToString();
  ASSERT_TRUE(keras::SaveKerasFile(*model, dir + "/tok.keras").ok());
  // Token ids 0..499 as floats, as a data set stores them.
  NpyArray x;
  x.dtype = DType::kFloat32;
  x.shape = {64, 8};
  x.data.resize(64 * 8 * 4);
  std::mt19937 rng(4);
  for (int i = 0; i < 64 * 8; ++i) x.Data<float>()[i] = static_cast<float>(rng() % 500);
  ASSERT_TRUE(WriteNpz(dir + "/ids.npz", {{"x", x}}).ok());
  std::string log;
  ASSERT_EQ(RunCommand(EdgeoptBinary() + " quantize " + dir + "/tok.keras -o " + dir +
                           "/tok8.tflite --mode int8 --calibration " + dir +
                           "/ids.npz --calibration-samples 64 --quiet",
                       &log),
            0)
      << log;
  ASSERT_EQ(RunCommand(EdgeoptBinary() + " convert " + dir + "/tok.keras -o " + dir + "/tok.tflite",
                       &log),
            0)
      << log;
  auto g = ImportTfliteFile(dir + "/tok8.tflite");
  ASSERT_TRUE(g.ok()) << g.status().message();
  bool saw_gather = false;
  for (const ir::Node& n : g->nodes) {
    if (n.op != "GATHER") continue;
    saw_gather = true;
    EXPECT_EQ(g->tensors[n.inputs[0]].dtype, DType::kInt8);
    EXPECT_EQ(g->tensors[n.inputs[1]].dtype, DType::kInt32);
    EXPECT_EQ(g->tensors[n.outputs[0]].dtype, DType::kInt8);
    EXPECT_EQ(g->tensors[n.inputs[0]].quant.scale, g->tensors[n.outputs[0]].quant.scale);
  }
  EXPECT_TRUE(saw_gather);
  EXPECT_LT(FileSize(dir + "/tok8.tflite") * 3, FileSize(dir + "/tok.tflite"));  // about 4x smaller
  // --io int8 leaves the ids alone: no quantized op reads them (int8 could not hold 0..499).
  ASSERT_EQ(RunCommand(EdgeoptBinary() + " quantize " + dir + "/tok.keras -o " + dir +
                           "/tok8io.tflite --mode int8 --io int8 --calibration " + dir +
                           "/ids.npz --calibration-samples 64 --quiet",
                       &log),
            0)
      << log;
  auto io = ImportTfliteFile(dir + "/tok8io.tflite");
  ASSERT_TRUE(io.ok()) << io.status().message();
  EXPECT_EQ(io->tensors[io->inputs[0]].dtype, DType::kFloat32);
  EXPECT_EQ(io->tensors[io->outputs[0]].dtype, DType::kInt8);
  // Random inputs would be ids out of range: the saved ones, through tflite-ref run.
  NpyArray one;
  one.dtype = DType::kFloat32;
  one.shape = {1, 8};
  one.data.assign(x.data.begin(), x.data.begin() + 8 * 4);
  ASSERT_TRUE(WriteNpy(dir + "/in.npy", one).ok());
  for (const char* f : {"tok.tflite", "tok8.tflite"}) {
    ASSERT_EQ(RunCommand(TfliteRefPath() + " run " + dir + "/" + f + " -i " + dir + "/in.npy -o " +
                             dir + "/ref_" + f,
                         &log),
              0)
        << log;
    ASSERT_EQ(RunCommand(EdgeoptBinary() + " run " + dir + "/" + f + " -i " + dir + "/in.npy -o " +
                             dir + "/ours_" + f,
                         &log),
              0)
        << log;
    ASSERT_EQ(RunCommand(TfliteRefPath() + " compare " + dir + "/ref_" + f + "/output_0.npy " +
                             dir + "/ours_" + f + "/output_0.npy --max-lsb 0",
                         &log),
              0)
        << f << ": " << log;
  }
  RunCommand("rm -rf " + dir);
}

TEST(QuantizeCli, ReportKeepFloatMethodsAndBudget) {
  const std::string baseline = TrainedFmnistBaseline();
  ASSERT_FALSE(baseline.empty());
  const std::string dir = MakeTempDir("quantize_cli");
  std::string log;
  // Report: a Markdown table, worst layer first.
  ASSERT_EQ(RunCommand(EdgeoptBinary() + " quantize " + baseline + " -o " + dir +
                           "/a.tflite --mode int8 --calibration fashion-mnist:train "
                           "--calibration-samples 100 --report " +
                           dir + "/report.md --quiet",
                       &log),
            0)
      << log;
  auto md = ReadFileBytes(dir + "/report.md");
  ASSERT_TRUE(md.ok());
  const std::string text(md->begin(), md->end());
  EXPECT_NE(text.find("| # | tensor | op | layer |"), std::string::npos) << text;
  EXPECT_NE(text.find("RMSE/scale"), std::string::npos);
  EXPECT_NE(text.find("| 1 |"), std::string::npos);
  // Keep a layer in float: its weights stay float32, with conversions around it.
  ASSERT_EQ(RunCommand(EdgeoptBinary() + " quantize " + baseline + " -o " + dir +
                           "/b.tflite --mode int8 --calibration fashion-mnist:train "
                           "--calibration-samples 100 --keep-float dense --quiet",
                       &log),
            0)
      << log;
  auto g = ImportTfliteFile(dir + "/b.tflite");
  ASSERT_TRUE(g.ok());
  int float_fc = 0;
  for (const ir::Node& n : g->nodes) {
    if (n.op == "FULLY_CONNECTED" && g->tensors[n.inputs[1]].dtype == DType::kFloat32) ++float_fc;
  }
  EXPECT_EQ(float_fc, 1);
  // Every calibration method gives a model that runs.
  for (const char* method : {"percentile", "kl", "mse"}) {
    ASSERT_EQ(RunCommand(EdgeoptBinary() + " quantize " + baseline + " -o " + dir + "/" + method +
                             ".tflite --mode int8 --calibration fashion-mnist:train "
                             "--calibration-samples 100 --method " +
                             method + " --quiet",
                         &log),
              0)
        << method << ": " << log;
    ASSERT_EQ(RunCommand(EdgeoptBinary() + " eval " + dir + "/" + method +
                             ".tflite --data fashion-mnist:test --quiet",
                         &log),
              0);
    EXPECT_GT(ParseMetric(log, "accuracy"), 0.8) << method;
  }
  // An impossible budget (negative drop) falls back layer by layer and says what it kept.
  ASSERT_EQ(RunCommand(EdgeoptBinary() + " quantize " + baseline + " -o " + dir +
                           "/c.tflite --mode int8 --calibration fashion-mnist:train "
                           "--calibration-samples 100 --accuracy-budget 0 --eval "
                           "fashion-mnist:test --eval-samples 500",
                       &log),
            0)
      << log;
  EXPECT_NE(log.find("accuracy: float"), std::string::npos) << log;
  // Bad input: a clear error, exit 1, no output.
  EXPECT_EQ(RunCommand(EdgeoptBinary() + " quantize " + dir + "/a.tflite -o " + dir +
                           "/d.tflite --mode int8 --calibration fashion-mnist:train",
                       &log),
            1);
  EXPECT_NE(log.find("already quantized"), std::string::npos) << log;
  EXPECT_FALSE(FileExists(dir + "/d.tflite"));
  EXPECT_EQ(
      RunCommand(EdgeoptBinary() + " quantize " + baseline + " -o " + dir + "/e.tflite --mode int8",
                 &log),
      2);
  EXPECT_NE(log.find("--calibration"), std::string::npos) << log;
  RunCommand("rm -rf " + dir);
}

}  // namespace
}  // namespace testing
}  // namespace edgeopt
