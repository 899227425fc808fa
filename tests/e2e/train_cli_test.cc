// edgeopt train / eval through the binary: a tiny labeled .npz, the fmnist-cnn preset, flags,
// output files, errors, and (when the runtime has the kernels) train-engine inference vs the
// runtime on the exported model.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <map>
#include <string>
#include <vector>

#include "nlohmann/json.hpp"
#include "src/importers/keras/keras_model.h"
#include "src/train/rng.h"
#include "src/util/file_util.h"
#include "src/util/npy.h"
#include "tests/test_util.h"

namespace edgeopt {
namespace {

// How many times `what` occurs in `text`.
size_t Occurrences(const std::string& text, const std::string& what) {
  size_t n = 0;
  for (size_t at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++n;
  return n;
}

class TrainCliTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = testing::MakeTempDir("edgeopt_train_cli");
    WriteImages(dir_ + "/tiny.npz", false);
  }
  // 96 images 28x28x1, 10 classes: a bright column band per class. `binary`: labels 1 for the
  // classes 0-4 (a band in the left half), else 0.
  static void WriteImages(const std::string& path, bool binary) {
    NpyArray x, y;
    x.dtype = DType::kUInt8;
    x.shape = {96, 28, 28, 1};
    x.data.resize(96 * 784);
    y.dtype = DType::kInt32;
    y.shape = {96};
    y.data.resize(96 * 4);
    train::SplitMix64 rng(3);
    for (int i = 0; i < 96; ++i) {
      const int32_t label = i % 10, stored = binary ? (label < 5 ? 1 : 0) : label;
      std::memcpy(y.data.data() + i * 4, &stored, 4);
      for (int p = 0; p < 784; ++p) {
        const int col = p % 28;
        x.data[i * 784 + p] = static_cast<uint8_t>((col / 3 == label ? 200 : 20) + rng.Below(40));
      }
    }
    ASSERT_TRUE(WriteNpz(path, {{"x", x}, {"y", y}}).ok());
  }
  void TearDown() override { testing::RunCommand("rm -rf '" + dir_ + "'"); }

  int Run(const std::string& args, std::string* out) {
    return testing::RunCommand(testing::EdgeoptBinary() + " " + args, out);
  }
  // Trains `name`.json (a Sequential of 28x28x1 images: `layers`, then Dense(10)) on data_
  // into `name`.keras; returns the final "accuracy=... loss=..." line.
  std::string TrainArchitecture(const std::string& name, const std::string& layers,
                                const std::string& flags) {
    const std::string arch = R"({"class_name": "Sequential", "config": {"name": ")" + name +
                             R"(", "layers": [
      {"class_name": "InputLayer", "config": {"name": "x", "batch_input_shape": [null, 28, 28, 1]}},)" +
                             layers + R"(
      {"class_name": "Dense", "config": {"name": "out", "units": 10}}]}})";
    EXPECT_TRUE(
        WriteFileAtomic(dir_ + "/" + name + ".json", std::vector<uint8_t>(arch.begin(), arch.end()))
            .ok());
    std::string out;
    EXPECT_EQ(Run("train " + dir_ + "/" + name + ".json --data " + dir_ + "/" + data_ +
                      " --test-data " + dir_ + "/" + data_ + " --batch-size 16 --quiet -o " + dir_ +
                      "/" + name + ".keras " + flags,
                  &out),
              0)
        << out;
    EXPECT_GT(testing::ParseMetric(out, "accuracy"), 0.5) << out;  // chance is 0.1
    const size_t at = out.rfind("accuracy=");
    return at == std::string::npos ? "" : out.substr(at, 27);  // "accuracy=A.AAAA loss=L.LLLL"
  }
  // Writes `config` (a Keras model config) as `name`.json, trains it on data_ (tiny.npz unless a
  // test sets it; 15 epochs, batch 16, lr 3e-3) to `name`.keras above chance, and returns the final
  // "accuracy=A.AAAA loss=L.LLLL".
  std::string TrainConfig(const std::string& name, const std::string& config) {
    EXPECT_TRUE(WriteFileAtomic(dir_ + "/" + name + ".json",
                                std::vector<uint8_t>(config.begin(), config.end()))
                    .ok());
    std::string out;
    EXPECT_EQ(
        Run("train " + dir_ + "/" + name + ".json --data " + dir_ + "/" + data_ + " --test-data " +
                dir_ + "/" + data_ + " --batch-size 16 --epochs 15 --lr 3e-3 --quiet -o " + dir_ +
                "/" + name + ".keras",
            &out),
        0)
        << out;
    EXPECT_GT(testing::ParseMetric(out, "accuracy"), 0.5) << out;  // chance is 0.1
    const size_t at = out.rfind("accuracy=");
    return at == std::string::npos ? "" : out.substr(at, 27);
  }
  // Post-training quantization of `name`.keras in `mode`, calibrated and evaluated on tiny.npz,
  // to `name`_`mode`.tflite (returned; the command's output in `out`).
  std::string QuantizeTiny(const std::string& name, const std::string& mode, std::string* out) {
    const std::string q = dir_ + "/" + name + "_" + mode + ".tflite";
    EXPECT_EQ(Run("quantize " + dir_ + "/" + name + ".keras --mode " + mode + " --calibration " +
                      dir_ + "/" + data_ + " --eval " + dir_ + "/" + data_ + " --quiet -o " + q,
                  out),
              0)
        << *out;
    return q;
  }
  // QuantizeTiny in `mode`: the accuracy ("accuracy: float F, <mode> Q (...)") within 5 points
  // of the float model's (`train_line`), and TFLite computes the file to the bit. The file.
  std::string ExpectQuantizesNearFloat(const std::string& name, const std::string& mode,
                                       const std::string& train_line) {
    std::string out;
    const std::string q = QuantizeTiny(name, mode, &out);
    const size_t at = out.find(", " + mode + " ");
    EXPECT_NE(at, std::string::npos) << out;
    if (at == std::string::npos) return q;
    EXPECT_GT(std::stod(out.substr(at + 3 + mode.size())),
              testing::ParseMetric(train_line, "accuracy") - 0.05)
        << out;
    std::string conf;
    EXPECT_EQ(testing::RunConformance("--seeds 2 --max-lsb 0 " + q, &conf), 0) << conf;
    return q;
  }
  // Fine-tuning `name`.keras with a negligible step: its accuracy and loss are the saved model's,
  // so the weights went into the file and came back.
  void ExpectFineTuningStartsFromTheSavedWeights(const std::string& name,
                                                 const std::string& train_line) {
    std::string out;
    ASSERT_EQ(
        Run("train " + dir_ + "/" + name + ".keras --data " + dir_ + "/" + data_ + " --test-data " +
                dir_ + "/" + data_ + " --epochs 1 --batch-size 16 --lr 1e-9 --quiet -o " + dir_ +
                "/" + name + "_tuned.keras",
            &out),
        0)
        << out;
    EXPECT_EQ(out.substr(out.rfind("accuracy=")).substr(0, 27), train_line) << out;
  }
  // Converts `name`.keras to `name`.tflite, which must evaluate as the engine did (on `data`);
  // returns the convert log.
  std::string ExpectExportEvaluatesAsTrained(const std::string& name, const std::string& train_line,
                                             const std::string& data = "") {
    std::string log, out;
    const std::string model = dir_ + "/" + name + ".tflite";
    EXPECT_EQ(Run("convert " + dir_ + "/" + name + ".keras -o " + model, &log), 0) << log;
    EXPECT_EQ(
        Run("eval " + model + " --data " + dir_ + "/" + (data.empty() ? data_ : data) + " --quiet",
            &out),
        0)
        << out;
    EXPECT_EQ(out.substr(out.rfind("accuracy=")).substr(0, 27), train_line) << out;
    return log;
  }
  // QAT of `name`.keras to `name`_qat.tflite: full integer (QUANTIZE / DEQUANTIZE only at the
  // edges), agreeing with its fake-quant model on at least `agreement`; the official runtime
  // agrees with edgeopt's on it and on `name`.tflite to the bit. Returns the QAT file.
  std::string ExpectQatFullInteger(const std::string& name, double agreement) {
    std::string out;
    const std::string qat = dir_ + "/" + name + "_qat.tflite";
    EXPECT_EQ(
        Run("qat " + dir_ + "/" + name + ".keras --data " + dir_ + "/" + data_ + " --test-data " +
                dir_ + "/" + data_ + " --epochs 1 --batch-size 16 --lr 1e-4 --quiet -o " + qat,
            &out),
        0)
        << out;
    EXPECT_GE(testing::ParseMetric(out, "agreement"), agreement) << out;
    EXPECT_EQ(Run("ir " + qat, &out), 0) << out;
    const size_t conversions = Occurrences(out, "QUANTIZE(");
    EXPECT_EQ(conversions, 2u) << out;  // the input's QUANTIZE and the output's DEQUANTIZE
    std::string conf;
    EXPECT_EQ(testing::RunConformance(
                  "--seeds 2 --max-lsb 0 " + dir_ + "/" + name + ".tflite " + qat, &conf),
              0)
        << conf;
    EXPECT_NE(conf.find("2 passed, 0 failed, 0 skipped"), std::string::npos) << conf;
    return qat;
  }
  std::string dir_;
  std::string data_ = "tiny.npz";  // the helpers' data set, in dir_
};

// The image's rows as a sequence of 28 steps of 28 features.
const char* const kRowsAsSequence = R"(
    {"class_name": "Reshape", "config": {"name": "rows", "target_shape": [28, 28]}},)";

TEST_F(TrainCliTest, TrainPresetSavesTfliteAndPrintsEpochsAndTestLine) {
  std::string out;
  const std::string model = dir_ + "/m.tflite";
  ASSERT_EQ(Run("train --preset fmnist-cnn --data " + dir_ + "/tiny.npz --test-data " + dir_ +
                    "/tiny.npz --epochs 3 --batch-size 16 --lr 3e-3 --threads 2 "
                    "--validation-split 0.25 --augment shift=1 -o " +
                    model,
                &out),
            0)
      << out;
  EXPECT_NE(out.find("epoch 1/3: loss"), std::string::npos) << out;
  EXPECT_NE(out.find("val_acc"), std::string::npos) << out;
  EXPECT_NE(out.find("epoch 3/3"), std::string::npos) << out;
  EXPECT_TRUE(FileExists(model));
  // The last line is the machine-readable test result.
  const size_t last = out.rfind("test ");
  ASSERT_NE(last, std::string::npos) << out;
  EXPECT_NE(out.find("accuracy=", last), std::string::npos) << out;
  EXPECT_NE(out.find("samples=96", last), std::string::npos) << out;

  // --quiet: only the result line.
  ASSERT_EQ(Run("train --preset fmnist-cnn --data " + dir_ + "/tiny.npz --test-data " + dir_ +
                    "/tiny.npz --epochs 1 --quiet --optimizer sgd --momentum 0.9",
                &out),
            0)
      << out;
  EXPECT_EQ(out.find("epoch"), std::string::npos) << out;
  EXPECT_EQ(out.rfind("test ", 0), 0u) << out;
}

// --history: one CSV row per epoch with the metrics the epoch lines print; --history-plot: a
// PNG (setup installs gnuplot). An unwritable history path fails the command, naming it.
TEST_F(TrainCliTest, HistoryCsvAndPlot) {
  std::string out;
  const std::string csv = dir_ + "/h.csv", png = dir_ + "/h.png";
  ASSERT_EQ(Run("train --preset fmnist-cnn --data " + dir_ + "/tiny.npz --test-data " + dir_ +
                    "/tiny.npz --epochs 3 --batch-size 16 --validation-split 0.25 --history " +
                    csv + " --history-plot " + png,
                &out),
            0)
      << out;
  auto text = ReadFileBytes(csv);
  ASSERT_TRUE(text.ok()) << out;
  const std::string t(text->begin(), text->end());
  std::vector<std::string> lines;
  for (size_t b = 0, e; b < t.size(); b = e + 1) {
    e = t.find('\n', b);
    if (e == std::string::npos) e = t.size();
    lines.push_back(t.substr(b, e - b));
  }
  ASSERT_EQ(lines.size(), 4u) << t;
  EXPECT_EQ(lines[0],
            "epoch,loss,accuracy,val_loss,val_accuracy,learning_rate,seconds,images_per_second");
  for (int e = 1; e <= 3; ++e) {
    const std::string& row = lines[e];
    EXPECT_EQ(row.rfind(std::to_string(e) + ",", 0), 0u) << row;
    // Every column present (validation too), the learning rate Adam's default.
    EXPECT_EQ(std::count(row.begin(), row.end(), ','), 7) << row;
    EXPECT_EQ(row.find(",,"), std::string::npos) << row;
    EXPECT_NE(row.find(",0.001,"), std::string::npos) << row;
    // The epoch line's loss is the CSV's, to the digits printed.
    const double loss = std::stod(row.substr(row.find(',') + 1));
    const std::string head = "epoch " + std::to_string(e) + "/3: loss ";
    const size_t at = out.find(head);
    ASSERT_NE(at, std::string::npos) << out;
    EXPECT_NEAR(std::stod(out.substr(at + head.size())), loss, 6e-5) << row;
  }
  auto image = ReadFileBytes(png);
  ASSERT_TRUE(image.ok()) << out;
  ASSERT_GT(image->size(), 8u);
  EXPECT_EQ(std::string(image->begin() + 1, image->begin() + 4), "PNG");

  EXPECT_EQ(Run("train --preset fmnist-cnn --data " + dir_ + "/tiny.npz --epochs 1 --quiet " +
                    "--history " + dir_ + "/missing/h.csv",
                &out),
            1);
  EXPECT_NE(out.find("missing/h.csv"), std::string::npos) << out;
}

// Ctrl-C: the epoch in progress is abandoned, the model of the last finished one is on disk
// (and loads), the exit code is 1 and the message says which epoch was saved.
TEST_F(TrainCliTest, CtrlCKeepsTheLastFinishedEpoch) {
  const std::string log = dir_ + "/train.log", model = dir_ + "/interrupted.keras";
  // A script file: its $ variables are the script's own (at most 30 s for the second epoch).
  const std::string script =
      testing::EdgeoptBinary() + " train --preset fmnist-cnn --data " + dir_ +
      "/tiny.npz --epochs 100000 --batch-size 16 --threads 1 -o " + model + " > " + log +
      " 2>&1 &\npid=$!\ni=0\nwhile ! grep -q 'epoch 2/' " + log +
      " && [ $i -lt 600 ]; do sleep 0.05; i=$((i+1)); done\nkill -INT $pid\nwait $pid\n"
      "echo exit=$?\n";
  ASSERT_TRUE(
      WriteFileAtomic(dir_ + "/interrupt.sh", std::vector<uint8_t>(script.begin(), script.end()))
          .ok());
  std::string out;
  ASSERT_EQ(testing::RunCommand("sh " + dir_ + "/interrupt.sh", &out), 0) << out;
  EXPECT_NE(out.find("exit=1"), std::string::npos) << out;
  auto text = ReadFileBytes(log);
  ASSERT_TRUE(text.ok());
  const std::string logged(text->begin(), text->end());
  EXPECT_NE(logged.find("interrupted; the model after epoch "), std::string::npos) << logged;
  EXPECT_NE(logged.find("(the last finished one) is saved"), std::string::npos) << logged;
  EXPECT_EQ(Run("eval " + model + " --data " + dir_ + "/tiny.npz", &out), 0) << out;
}

TEST_F(TrainCliTest, UsageAndDataErrors) {
  std::string out;
  EXPECT_EQ(Run("train --data " + dir_ + "/tiny.npz", &out), 2) << out;  // no model
  EXPECT_EQ(Run("train --preset fmnist-cnn", &out), 2) << out;           // no --data
  EXPECT_EQ(Run("train --preset nope --data " + dir_ + "/tiny.npz", &out), 1);
  EXPECT_NE(out.find("unknown preset"), std::string::npos) << out;
  EXPECT_EQ(Run("train --preset fmnist-cnn --data " + dir_ + "/missing.npz", &out), 1);
  EXPECT_NE(out.find("missing.npz"), std::string::npos) << out;
  EXPECT_EQ(Run("train --preset fmnist-cnn --data " + dir_ + "/tiny.npz --optimizer lion", &out),
            1);
  EXPECT_NE(out.find("lion"), std::string::npos) << out;
  EXPECT_EQ(
      Run("train --preset fmnist-cnn --data " + dir_ + "/tiny.npz -o " + dir_ + "/x.onnx", &out),
      1);
  EXPECT_NE(out.find("x.onnx"), std::string::npos) << out;
  EXPECT_EQ(Run("eval " + dir_ + "/none.tflite --data " + dir_ + "/tiny.npz", &out), 1);
}

// A binary classifier, Dense(1, sigmoid) or Dense(1) logits, on 0 / 1 labels: binary
// cross-entropy by default, binary accuracy; the .tflite evaluates as the engine (threshold 0.5
// on the sigmoid's probabilities, 0 on logits); int8 and QAT (the final LOGISTIC outside the
// fake-quants, as a final SOFTMAX: the loss reads the logits) agree with TFLite to the bit.
TEST_F(TrainCliTest, BinaryClassifierTrainsExportsAndQuantizes) {
  WriteImages(dir_ + "/binary.npz", true);
  data_ = "binary.npz";
  for (const char* activation : {"sigmoid", "linear"}) {
    const std::string name = std::string("binary_") + activation;
    const std::string line = TrainConfig(
        name, R"({"class_name": "Sequential", "config": {"name": ")" + name + R"(", "layers": [
      {"class_name": "InputLayer", "config": {"name": "x", "batch_input_shape": [null, 28, 28, 1]}},
      {"class_name": "Flatten", "config": {"name": "flat"}},
      {"class_name": "Dense", "config": {"name": "h", "units": 8, "activation": "relu"}},
      {"class_name": "Dense", "config": {"name": "out", "units": 1, "activation": ")" +
                  activation + R"("}}]}})");
    EXPECT_GT(testing::ParseMetric(line, "accuracy"), 0.95) << line;
    ExpectExportEvaluatesAsTrained(name, line);
    ExpectQuantizesNearFloat(name, "int8", line);
  }
  std::string out;
  ASSERT_EQ(Run("train " + dir_ + "/binary_sigmoid.json --data " + dir_ +
                    "/binary.npz --epochs 1 --batch-size 16",
                &out),
            0)
      << out;
  EXPECT_NE(out.find("batch 16, binary_crossentropy,"), std::string::npos) << out;
  ASSERT_EQ(Run("train " + dir_ + "/binary_sigmoid.json --data " + dir_ +
                    "/binary.npz --epochs 1 --batch-size 16 --class-weight 1:3",
                &out),
            0)
      << out;
  EXPECT_NE(out.find("class weights: 0: 1, 1: 3\n"), std::string::npos) << out;
  // Imbalanced labels get a note naming the remedy; the balanced ones above did not.
  ASSERT_EQ(Run("train " + dir_ + "/binary_sigmoid.json --data " + dir_ +
                    "/binary.npz --epochs 1 --batch-size 16",
                &out),
            0)
      << out;
  EXPECT_EQ(out.find("imbalanced"), std::string::npos) << out;  // 48 against 48
  NpyArray x, y;
  x.dtype = DType::kUInt8;
  x.shape = {96, 28, 28, 1};
  x.data.assign(96 * 784, 100);
  y.dtype = DType::kInt32;
  y.shape = {96};
  y.data.assign(96 * 4, 0);
  for (int i = 0; i < 6; ++i) y.data[i * 4] = 1;
  ASSERT_TRUE(WriteNpz(dir_ + "/skewed.npz", {{"x", x}, {"y", y}}).ok());
  ASSERT_EQ(Run("train " + dir_ + "/binary_sigmoid.json --data " + dir_ +
                    "/skewed.npz --epochs 1 --batch-size 16",
                &out),
            0)
      << out;
  EXPECT_NE(out.find("note: the classes are imbalanced (class 1: 6 samples, class 0: 90); "
                     "--class-weight balanced"),
            std::string::npos)
      << out;
  EXPECT_NE(out.find("acc "), std::string::npos) << out;  // binary accuracy in the progress
  // Per-class metrics: the same predictions from the training engine and the runtime.
  std::string keras_table, tflite_table;
  ASSERT_EQ(Run("eval " + dir_ + "/binary_sigmoid.keras --data " + dir_ +
                    "/binary.npz --per-class --quiet",
                &keras_table),
            0)
      << keras_table;
  ASSERT_EQ(Run("eval " + dir_ + "/binary_sigmoid.tflite --data " + dir_ +
                    "/binary.npz --per-class --quiet",
                &tflite_table),
            0)
      << tflite_table;
  EXPECT_NE(keras_table.find("confusion matrix"), std::string::npos) << keras_table;
  const size_t weighted = keras_table.find("weighted avg");
  ASSERT_NE(weighted, std::string::npos) << keras_table;
  EXPECT_EQ(std::stoi(keras_table.substr(weighted + 12)), 96) << keras_table;  // the support
  EXPECT_EQ(keras_table.substr(0, keras_table.find("accuracy=")),
            tflite_table.substr(0, tflite_table.find("accuracy=")));
  const std::string qat = ExpectQatFullInteger("binary_sigmoid", 0.99);
  EXPECT_EQ(Run("eval " + qat + " --data " + dir_ + "/binary.npz --quiet", &out), 0) << out;
  EXPECT_GT(testing::ParseMetric(out, "accuracy"), 0.95) << out;
  // Ten classes for one output: an error naming both.
  EXPECT_NE(
      Run("train " + dir_ + "/binary_sigmoid.json --data " + dir_ + "/tiny.npz --quiet", &out), 0);
  EXPECT_NE(out.find("has 10 classes, the model outputs 1"), std::string::npos) << out;
  EXPECT_NE(
      Run("eval " + dir_ + "/binary_sigmoid.tflite --data " + dir_ + "/tiny.npz --quiet", &out), 0);
  EXPECT_NE(out.find("1 values per sample for 10 classes"), std::string::npos) << out;
}

// --early-stopping N: the saved model is the best epoch's (its validation loss and accuracy are
// the "best epoch" line's); --label-smoothing trains on smoothed targets (a higher training loss
// for the same predictions) and reports the plain validation loss.
TEST_F(TrainCliTest, EarlyStoppingSavesTheBestEpochAndLabelSmoothing) {
  WriteImages(dir_ + "/val.npz", false);
  std::string out;
  const std::string model = dir_ + "/es.keras";
  ASSERT_EQ(Run("train --preset fmnist-cnn --data " + dir_ + "/tiny.npz --validation-data " + dir_ +
                    "/val.npz --epochs 12 --batch-size 16 --lr 2e-2 --early-stopping 2 "
                    "--label-smoothing 0.1 -o " +
                    model,
                &out),
            0)
      << out;
  const size_t at = out.find("best epoch: ");
  ASSERT_NE(at, std::string::npos) << out;
  const std::string best = out.substr(at);
  const int epoch = std::stoi(best.substr(12));
  // That epoch's line has the same validation metrics.
  const std::string metrics = best.substr(best.find("val_loss"), 30);  // val_loss L val_acc A
  EXPECT_NE(out.find("epoch " + std::to_string(epoch) + "/12: "), std::string::npos) << out;
  const size_t line = out.find("epoch " + std::to_string(epoch) + "/12: ");
  EXPECT_NE(out.substr(line, out.find('\n', line) - line).find(metrics), std::string::npos) << out;
  ASSERT_EQ(Run("eval " + model + " --data " + dir_ + "/val.npz --quiet", &out), 0) << out;
  EXPECT_NEAR(testing::ParseMetric(out, "loss"), std::stod(metrics.substr(9)), 1e-4) << out;
  EXPECT_NEAR(testing::ParseMetric(out, "accuracy"), std::stod(metrics.substr(24)), 1e-4) << out;
  // Smoothing: the training loss of confident predictions (the trained model, a negligible step)
  // is higher than without it.
  std::string plain, smoothed;
  const std::string one =
      "train " + model + " --data " + dir_ + "/tiny.npz --epochs 1 --batch-size 16 --lr 1e-9 ";
  ASSERT_EQ(Run(one, &plain), 0) << plain;
  ASSERT_EQ(Run(one + "--label-smoothing 0.3", &smoothed), 0) << smoothed;
  auto epoch_loss = [](const std::string& text) {
    const size_t at = text.find("epoch 1/1: loss ");
    return at == std::string::npos ? -1.0 : std::stod(text.substr(at + 16));
  };
  EXPECT_GT(epoch_loss(smoothed), epoch_loss(plain) + 0.1) << plain << smoothed;
  // Errors: early stopping without validation data, smoothing out of range or of a regression.
  EXPECT_NE(Run(one + "--early-stopping 2 -o " + dir_ + "/none.keras", &out), 0);
  EXPECT_NE(out.find("give validation data"), std::string::npos) << out;
  EXPECT_NE(Run(one + "--lr-schedule plateau", &out), 0);
  EXPECT_NE(out.find("plateau schedule watches the validation loss"), std::string::npos) << out;
  ASSERT_EQ(Run(one + "--lr-schedule plateau --validation-data " + dir_ + "/val.npz", &out), 0)
      << out;
  EXPECT_NE(Run(one + "--label-smoothing 1.5", &out), 0);
  EXPECT_NE(out.find("outside [0, 1)"), std::string::npos) << out;
  EXPECT_FALSE(FileExists(dir_ + "/none.keras"));
}

// A model that rescales its input itself (Keras's Rescaling(1/255) first, trained on
// image_dataset_from_directory's 0..255 pixels) gets 8-bit pixels as 0..255: the same model
// with its weights evaluates, calibrates and fine-tunes as the one without the layer does on
// x / 255, as .keras, .tflite and int8.
TEST_F(TrainCliTest, AModelThatRescalesItsInputGetsRawPixels) {
  const std::string line = TrainArchitecture("plain", R"(
    {"class_name": "Flatten", "config": {"name": "flat"}},
    {"class_name": "Dense", "config": {"name": "h", "units": 16, "activation": "relu"}},)",
                                             "--epochs 10 --lr 3e-3");
  // The same weights behind a Rescaling(1/255).
  StatusOr<keras::KerasModel> m = keras::LoadKerasFile(dir_ + "/plain.keras");
  ASSERT_TRUE(m.ok()) << m.status().ToString();
  nlohmann::json& layers = m->config["config"]["layers"];
  ASSERT_EQ(layers[0]["class_name"], "InputLayer");
  layers.insert(layers.begin() + 1,
                nlohmann::json{{"class_name", "Rescaling"},
                               {"config", {{"name", "rescale"}, {"scale", 1.0 / 255.0}}}});
  ASSERT_TRUE(keras::SaveKerasFile(*m, dir_ + "/rescaled.keras").ok());
  std::string out, log;
  ASSERT_EQ(Run("eval " + dir_ + "/rescaled.keras --data " + dir_ + "/tiny.npz", &out), 0) << out;
  EXPECT_EQ(out.substr(out.rfind("accuracy=")).substr(0, 27), line) << out;
  EXPECT_NE(out.find("rescales its input itself (MUL by 0.00392157 first): 8-bit pixels"),
            std::string::npos)
      << out;
  ExpectExportEvaluatesAsTrained("rescaled", line);
  std::string q;
  ExpectQuantizesNearFloat("rescaled", "int8", line);
  ASSERT_EQ(Run("eval " + dir_ + "/rescaled_int8.tflite --data " + dir_ + "/tiny.npz --quiet", &q),
            0)
      << q;
  EXPECT_GT(testing::ParseMetric(q, "accuracy"), testing::ParseMetric(line, "accuracy") - 0.05)
      << q;
  // Fine-tuning with a negligible step starts from the same accuracy and loss.
  ExpectFineTuningStartsFromTheSavedWeights("rescaled", line);
  // The plain model is fed x / 255 as before (no note).
  ASSERT_EQ(Run("eval " + dir_ + "/plain.keras --data " + dir_ + "/tiny.npz", &log), 0) << log;
  EXPECT_EQ(log.find("rescales its input"), std::string::npos) << log;
  // --pixels overrides the detection: x / 255 to the rescaling model gives what it gave before
  // the detection (its inputs near zero: the accuracy of one class); 0..255 to the plain one
  // computes something else than its training line.
  ASSERT_EQ(
      Run("eval " + dir_ + "/rescaled.keras --data " + dir_ + "/tiny.npz --pixels unit", &log), 0)
      << log;
  std::string raw;
  ASSERT_EQ(
      Run("eval " + dir_ + "/plain.keras --data " + dir_ + "/tiny.npz --pixels raw --quiet", &raw),
      0)
      << raw;
  EXPECT_LT(testing::ParseMetric(log, "accuracy"), 0.5) << log;
  EXPECT_NE(raw.substr(raw.rfind("accuracy=")).substr(0, 27), line) << raw;
  EXPECT_EQ(log.find("rescales its input"), std::string::npos) << log;
  EXPECT_NE(Run("eval " + dir_ + "/plain.keras --data " + dir_ + "/tiny.npz --pixels maybe", &log),
            0);
}

// Image folders are read at the model's input size and channels (as Keras's image_size):
// grayscale PGM photos of 10x10 and 14x14 for a model of 8x8x1 inputs that rescales them itself.
TEST_F(TrainCliTest, ImageFoldersAreReadAtTheModelsInputSize) {
  for (const char* cls : {"left", "right"}) {
    ASSERT_TRUE(MakeDirectories(dir_ + "/photos/" + cls).ok());
  }
  train::SplitMix64 rng(5);
  for (int i = 0; i < 40; ++i) {
    const bool left = i % 2 == 0;
    const int size = i % 4 < 2 ? 10 : 14;
    std::string pgm = "P5\n" + std::to_string(size) + " " + std::to_string(size) + "\n255\n";
    for (int y = 0; y < size; ++y) {
      for (int x = 0; x < size; ++x) {
        const bool bright = (x < size / 2) == left;
        pgm += static_cast<char>((bright ? 180 : 30) + rng.Below(40));
      }
    }
    const std::string path =
        dir_ + "/photos/" + (left ? "left" : "right") + "/" + std::to_string(i) + ".pgm";
    ASSERT_TRUE(WriteFileAtomic(path, std::vector<uint8_t>(pgm.begin(), pgm.end())).ok());
  }
  const std::string config = R"({"class_name": "Sequential", "config": {"name": "photo", "layers": [
      {"class_name": "InputLayer", "config": {"name": "x", "batch_input_shape": [null, 8, 8, 1]}},
      {"class_name": "Rescaling", "config": {"name": "scale", "scale": 0.00392156862745098}},
      {"class_name": "Flatten", "config": {"name": "flat"}},
      {"class_name": "Dense", "config": {"name": "out", "units": 2}}]}})";
  ASSERT_TRUE(
      WriteFileAtomic(dir_ + "/photo.json", std::vector<uint8_t>(config.begin(), config.end()))
          .ok());
  std::string out;
  ASSERT_EQ(Run("train " + dir_ + "/photo.json --data " + dir_ + "/photos/ --test-data " + dir_ +
                    "/photos/ --epochs 20 --batch-size 8 --lr 1e-2 -o " + dir_ + "/photo.keras",
                &out),
            0)
      << out;
  EXPECT_NE(out.find("40 samples"), std::string::npos) << out;
  EXPECT_NE(out.find("fed as 0..255"), std::string::npos) << out;
  EXPECT_GT(testing::ParseMetric(out, "accuracy"), 0.9) << out;
  ASSERT_EQ(
      Run("eval " + dir_ + "/photo.keras --data " + dir_ + "/photos/ --per-class --quiet", &out), 0)
      << out;
  EXPECT_NE(out.find("0 left"), std::string::npos) << out;
  // The confusion matrix as a picture too (when gnuplot is installed, as setup installs it).
  const std::string png = dir_ + "/photo_confusion.png";
  ASSERT_EQ(Run("eval " + dir_ + "/photo.keras --data " + dir_ + "/photos/ --confusion-plot " + png,
                &out),
            0)
      << out;
  if (out.find("no confusion matrix plot") == std::string::npos) {
    EXPECT_TRUE(FileExists(png)) << out;
    EXPECT_NE(out.find("confusion matrix plot: " + png), std::string::npos) << out;
  }
  EXPECT_GT(testing::ParseMetric(out, "accuracy"), 0.9) << out;
}

TEST_F(TrainCliTest, EvalOfTheExportedModelMatchesTheTrainingEngine) {
  std::string out;
  const std::string model = dir_ + "/m.tflite";
  ASSERT_EQ(Run("train --preset fmnist-cnn --data " + dir_ + "/tiny.npz --test-data " + dir_ +
                    "/tiny.npz --epochs 2 --batch-size 16 --quiet -o " + model,
                &out),
            0)
      << out;
  const std::string train_line = out.substr(out.rfind("accuracy="));
  std::string saved;
  ASSERT_EQ(Run("train --preset fmnist-cnn --data " + dir_ + "/tiny.npz --epochs 2 --batch-size " +
                    "16 --quiet -o " + dir_ + "/m_keras.keras",
                &saved),
            0)
      << saved;
  if (Run("eval " + model + " --data " + dir_ + "/tiny.npz --quiet", &out) != 0 &&
      out.find("unsupported op") != std::string::npos) {
    GTEST_SKIP() << "the runtime cannot run this model yet: " << out;
  }
  ASSERT_NE(out.find("accuracy="), std::string::npos) << out;
  // Same accuracy and (to 3 decimals) the same loss as the training engine.
  EXPECT_EQ(out.substr(out.rfind("accuracy=")).substr(0, 15), train_line.substr(0, 15)) << out;
  // Ten classes: the top-5 accuracy too, from the runtime and from the training engine alike.
  std::string keras_out;
  ASSERT_EQ(Run("eval " + model + " --data " + dir_ + "/tiny.npz", &out), 0) << out;
  ASSERT_EQ(Run("eval " + dir_ + "/m_keras.keras --data " + dir_ + "/tiny.npz", &keras_out), 0)
      << keras_out;
  const size_t top5 = out.find(", top-5 ");
  ASSERT_NE(top5, std::string::npos) << out;
  EXPECT_GE(std::stod(out.substr(top5 + 8)), 100.0 * testing::ParseMetric(out, "accuracy"));
  EXPECT_EQ(out.substr(top5, 15), keras_out.substr(keras_out.find(", top-5 "), 15)) << keras_out;
}

// -o .tflite goes through the export passes as `edgeopt convert` does: BatchNormalization is
// folded into the convolution before it (with the trained moving statistics), so the written
// model evaluates as the training engine does in inference mode.
TEST_F(TrainCliTest, TfliteOutputFoldsBatchNormalization) {
  const std::string arch = R"({"class_name": "Sequential", "config": {"name": "bn_cnn", "layers": [
    {"class_name": "InputLayer", "config": {"name": "x", "batch_input_shape": [null, 28, 28, 1]}},
    {"class_name": "Conv2D", "config": {"name": "conv", "filters": 8, "kernel_size": [3, 3],
     "strides": [1, 1], "padding": "valid", "activation": "linear", "use_bias": false}},
    {"class_name": "BatchNormalization", "config": {"name": "bn", "axis": -1, "momentum": 0.9,
     "epsilon": 0.001, "center": true, "scale": true}},
    {"class_name": "Activation", "config": {"name": "relu", "activation": "relu"}},
    {"class_name": "MaxPooling2D", "config": {"name": "pool", "pool_size": [2, 2],
     "strides": [2, 2], "padding": "valid"}},
    {"class_name": "Flatten", "config": {"name": "flatten"}},
    {"class_name": "Dense", "config": {"name": "out", "units": 10, "activation": "linear"}}]}})";
  ASSERT_TRUE(
      WriteFileAtomic(dir_ + "/bn.json", std::vector<uint8_t>(arch.begin(), arch.end())).ok());
  std::string out;
  const std::string model = dir_ + "/bn.tflite";
  ASSERT_EQ(Run("train " + dir_ + "/bn.json --data " + dir_ + "/tiny.npz --test-data " + dir_ +
                    "/tiny.npz --epochs 2 --batch-size 16 --quiet -o " + model,
                &out),
            0)
      << out;
  const std::string train_line = out.substr(out.rfind("accuracy="));
  ASSERT_EQ(Run("inspect " + model, &out), 0) << out;
  EXPECT_EQ(out.find("BATCH_NORM"), std::string::npos) << out;
  EXPECT_NE(out.find("CONV_2D"), std::string::npos) << out;
  ASSERT_EQ(Run("eval " + model + " --data " + dir_ + "/tiny.npz --quiet", &out), 0) << out;
  ASSERT_NE(out.find("accuracy="), std::string::npos) << out;
  EXPECT_EQ(out.substr(out.rfind("accuracy=")).substr(0, 15), train_line.substr(0, 15)) << out;
}

// LayerNormalization and Normalization train (gamma and beta learn; Normalization's statistics
// stay constants), save to .keras, load back, and the exported .tflite evaluates as the training
// engine does.
TEST_F(TrainCliTest, LayerNormalizationAndNormalizationTrainSaveAndExport) {
  const std::string arch = R"({"class_name": "Sequential", "config": {"name": "ln_cnn", "layers": [
    {"class_name": "InputLayer", "config": {"name": "x", "batch_input_shape": [null, 28, 28, 1]}},
    {"class_name": "Normalization", "config": {"name": "norm", "axis": -1, "mean": 0.3,
     "variance": 0.09}},
    {"class_name": "Conv2D", "config": {"name": "conv", "filters": 8, "kernel_size": [3, 3],
     "activation": "relu"}},
    {"class_name": "MaxPooling2D", "config": {"name": "pool", "pool_size": [2, 2]}},
    {"class_name": "LayerNormalization", "config": {"name": "ln", "axis": -1, "epsilon": 0.001}},
    {"class_name": "Flatten", "config": {"name": "flatten"}},
    {"class_name": "Dense", "config": {"name": "out", "units": 10}}]}})";
  ASSERT_TRUE(
      WriteFileAtomic(dir_ + "/ln.json", std::vector<uint8_t>(arch.begin(), arch.end())).ok());
  std::string out;
  const std::string keras = dir_ + "/ln.keras";
  ASSERT_EQ(Run("train " + dir_ + "/ln.json --data " + dir_ + "/tiny.npz --test-data " + dir_ +
                    "/tiny.npz --epochs 3 --batch-size 16 --lr 3e-3 --quiet -o " + keras,
                &out),
            0)
      << out;
  const std::string train_line = out.substr(out.rfind("accuracy="));
  EXPECT_GT(testing::ParseMetric(out, "accuracy"), 0.5) << out;  // chance is 0.1
  // The saved file reads back with both layers.
  ASSERT_EQ(Run("inspect " + keras, &out), 0) << out;
  EXPECT_NE(out.find("LayerNormalization"), std::string::npos) << out;
  EXPECT_NE(out.find("Normalization     "), std::string::npos) << out;
  const std::string model = dir_ + "/ln.tflite";
  ASSERT_EQ(Run("convert " + keras + " -o " + model, &out), 0) << out;
  EXPECT_NE(out.find("RSQRT"), std::string::npos) << out;
  ASSERT_EQ(Run("eval " + model + " --data " + dir_ + "/tiny.npz --quiet", &out), 0) << out;
  EXPECT_EQ(out.substr(out.rfind("accuracy=")).substr(0, 15), train_line.substr(0, 15)) << out;
  // int8: the whole chain is integer (RSQRT included), QUANTIZE / DEQUANTIZE only at the edges.
  const std::string q8 = dir_ + "/ln8.tflite";
  ASSERT_EQ(Run("quantize " + keras + " -o " + q8 + " --mode int8 --calibration " + dir_ +
                    "/tiny.npz --quiet",
                &out),
            0)
      << out;
  ASSERT_EQ(Run("ir " + q8, &out), 0) << out;
  const size_t conversions = Occurrences(out, "QUANTIZE(");
  EXPECT_EQ(conversions, 2u) << out;  // the input's QUANTIZE and the output's DEQUANTIZE
  EXPECT_NE(out.find("= RSQRT("), std::string::npos) << out;
  // Fine-tuning the saved model starts from it (gamma and beta included).
  ASSERT_EQ(Run("train " + keras + " --data " + dir_ +
                    "/tiny.npz --epochs 1 --batch-size 16 "
                    "--lr 1e-4 --quiet -o " +
                    dir_ + "/tuned.keras",
                &out),
            0)
      << out;
}

// The decoder layers the train engine used to refuse (Conv2DTranspose, ReLU's max_value as
// MINIMUM, bilinear UpSampling2D, Cropping2D as SLICE) train, export (the .tflite evaluates as the
// engine does), go through QAT to a full-integer file, and run in the official runtime as in
// edgeopt's.
TEST_F(TrainCliTest, DecoderLayersTrainExportAndQuantizeAware) {
  const std::string train_line = TrainArchitecture("dec", R"(
    {"class_name": "Conv2D", "config": {"name": "c1", "filters": 4, "kernel_size": [3, 3],
     "padding": "same", "activation": "relu"}},
    {"class_name": "MaxPooling2D", "config": {"name": "p1", "pool_size": [2, 2]}},
    {"class_name": "Conv2DTranspose", "config": {"name": "ct", "filters": 4, "kernel_size": [3, 3],
     "strides": [2, 2], "padding": "same"}},
    {"class_name": "ReLU", "config": {"name": "relu4", "max_value": 4.0}},
    {"class_name": "UpSampling2D", "config": {"name": "up", "size": [2, 2],
     "interpolation": "bilinear"}},
    {"class_name": "Cropping2D", "config": {"name": "crop", "cropping": [[14, 14], [14, 14]]}},
    {"class_name": "MaxPooling2D", "config": {"name": "p2", "pool_size": [4, 4]}},
    {"class_name": "Flatten", "config": {"name": "flatten"}},)",
                                                   "--epochs 30 --lr 3e-3");
  const std::string out = ExpectExportEvaluatesAsTrained("dec", train_line);
  for (const char* op : {"TRANSPOSE_CONV", "MINIMUM", "RESIZE_BILINEAR", "SLICE"}) {
    EXPECT_NE(out.find(op), std::string::npos) << op << "\n" << out;
  }
  // The per-layer errors of this model are rounding noise (0.2-0.45 steps), but its logits on
  // these 96 images are close enough that one step flips a few answers; on Fashion-MNIST the same
  // network's int8 file agrees with its fake-quant model on 99.7 %.
  const std::string qat = ExpectQatFullInteger("dec", 0.9);
  std::string ir;
  ASSERT_EQ(Run("ir " + qat, &ir), 0) << ir;
  EXPECT_NE(ir.find("= TRANSPOSE_CONV("), std::string::npos) << ir;
}

// A GRU (unrolled: STRIDED_SLICE per step, SLICEs of the gates and of the bias rows, one shared
// recurrent weight) reading the images' rows as a sequence trains, saves and fine-tunes from the
// .keras; the exported .tflite evaluates as the engine does; QAT makes it full-integer, and the
// official runtime agrees with edgeopt's on both files.
TEST_F(TrainCliTest, GruTrainsFineTunesAndQuantizesAware) {
  const std::string train_line = TrainArchitecture("gru", kRowsAsSequence + std::string(R"(
    {"class_name": "GRU", "config": {"name": "gru", "units": 16}},)"),
                                                   "--epochs 15 --lr 1e-2");
  ExpectFineTuningStartsFromTheSavedWeights("gru", train_line);
  const std::string out = ExpectExportEvaluatesAsTrained("gru", train_line);
  EXPECT_NE(out.find("STRIDED_SLICE x28"), std::string::npos) << out;
  // inspect counts the unrolled layer's ops instead of listing about 14 per step.
  std::string inspect;
  ASSERT_EQ(Run("inspect " + dir_ + "/gru.keras", &inspect), 0) << inspect;
  EXPECT_NE(inspect.find(" ops: FULLY_CONNECTED x28, STRIDED_SLICE x28,"), std::string::npos)
      << inspect;
  EXPECT_EQ(inspect.find("STRIDED_SLICE + FULLY_CONNECTED"), std::string::npos) << inspect;
  ExpectQatFullInteger("gru", 0.9);
}

// A Transformer encoder block on the image's rows (a Functional model: MultiHeadAttention takes
// query and value): it trains, fine-tunes from its .keras, exports as trained, quantizes to int8
// and int16x8 with BATCH_MATMUL kept integer, and QAT makes it full-integer (LayerNormalization's
// RSQRT included).
TEST_F(TrainCliTest, TransformerBlockTrainsExportsAndQuantizes) {
  auto layer = [](const std::string& cls, const std::string& name, const std::string& config,
                  const std::vector<std::string>& inputs) {
    std::string args;
    for (const std::string& in : inputs) {
      args += std::string(args.empty() ? "" : ", ") +
              R"({"class_name": "__keras_tensor__", "config": {"keras_history": [")" + in +
              R"(", 0, 0]}})";
    }
    if (cls == "Add") args = "[" + args + "]";  // a merge layer takes one list
    return R"({"class_name": ")" + cls + R"(", "name": ")" + name + R"(", "config": {"name": ")" +
           name + "\"" + config + R"(}, "inbound_nodes": [{"args": [)" + args +
           R"(], "kwargs": {}}]},)" + "\n";
  };
  const std::string arch =
      R"({"class_name": "Functional", "config": {"name": "enc", "layers": [
      {"class_name": "InputLayer", "name": "x", "config": {"name": "x",
       "batch_shape": [null, 28, 28, 1]}, "inbound_nodes": []},)" +
      layer("Reshape", "rows", R"(, "target_shape": [28, 28])", {"x"}) +
      layer("Dense", "embed", R"(, "units": 16)", {"rows"}) +
      layer("LayerNormalization", "ln", R"(, "epsilon": 1e-6)", {"embed"}) +
      layer("MultiHeadAttention", "att", R"(, "num_heads": 2, "key_dim": 8, "dropout": 0.1)",
            {"ln", "ln"}) +
      layer("Add", "res", "", {"embed", "att"}) +
      layer("GlobalAveragePooling1D", "pool", "", {"res"}) +
      layer("Dense", "out", R"(, "units": 10)", {"pool"});
  const std::string train_line = TrainConfig(
      "enc", arch.substr(0, arch.rfind(',')) +
                 R"(], "input_layers": [["x", 0, 0]], "output_layers": [["out", 0, 0]]}})");
  ASSERT_FALSE(train_line.empty());
  ExpectFineTuningStartsFromTheSavedWeights("enc", train_line);
  const std::string log = ExpectExportEvaluatesAsTrained("enc", train_line);
  EXPECT_NE(log.find("BATCH_MATMUL x2"), std::string::npos) << log;
  for (const char* mode : {"int8", "int16x8"}) {
    std::string out;
    const std::string q = QuantizeTiny("enc", mode, &out);
    std::string ir;
    ASSERT_EQ(Run("ir " + q, &ir), 0) << ir;
    // Integer throughout, but for int16x8's RSQRT (TFLite 2.9 has no int16 kernel for it).
    const bool int8 = std::string(mode) == "int8";
    EXPECT_EQ(Occurrences(ir, "QUANTIZE("), int8 ? 2u : 4u) << mode << "\n" << ir;
    EXPECT_NE(ir.find(std::string("\"att/scores\" ") + (int8 ? "int8" : "int16")),
              std::string::npos)
        << ir;
    std::string conf;
    EXPECT_EQ(testing::RunConformance("--seeds 2 --max-lsb 0 " + q, &conf), 0) << conf;
  }
  ExpectQatFullInteger("enc", 0.9);
}

// SeparableConv1D and DepthwiseConv1D (their 2-D forms on a [B,1,L,C] view) train, save their
// kernels in Keras's 1-D shapes (fine-tuning starts from them), and export as trained.
TEST_F(TrainCliTest, DepthwiseAndSeparableConv1DTrainSaveAndExport) {
  const std::string train_line = TrainArchitecture("sep1d", kRowsAsSequence + std::string(R"(
    {"class_name": "SeparableConv1D", "config": {"name": "sep", "filters": 8, "kernel_size": 3,
     "padding": "causal", "depth_multiplier": 2, "activation": "relu"}},
    {"class_name": "DepthwiseConv1D", "config": {"name": "dw", "kernel_size": 3, "strides": 2}},
    {"class_name": "GlobalMaxPooling1D", "config": {"name": "gmp"}},)"),
                                                   "--epochs 15 --lr 1e-2");
  ExpectFineTuningStartsFromTheSavedWeights("sep1d", train_line);
  const std::string out = ExpectExportEvaluatesAsTrained("sep1d", train_line);
  EXPECT_NE(out.find("DEPTHWISE_CONV_2D x2"), std::string::npos) << out;
}

// RepeatVector (n copies of one RESHAPE in a CONCATENATION, whose gradients add up) feeding a
// GRU trains, fine-tunes from its .keras and exports as trained.
TEST_F(TrainCliTest, RepeatVectorIntoAGruTrainsAndExports) {
  const std::string train_line = TrainArchitecture("repeat", R"(
    {"class_name": "Flatten", "config": {"name": "flatten"}},
    {"class_name": "Dense", "config": {"name": "code", "units": 16, "activation": "relu"}},
    {"class_name": "RepeatVector", "config": {"name": "repeat", "n": 4}},
    {"class_name": "GRU", "config": {"name": "gru", "units": 8}},)",
                                                   "--epochs 15 --lr 1e-2");
  ExpectFineTuningStartsFromTheSavedWeights("repeat", train_line);
  const std::string out = ExpectExportEvaluatesAsTrained("repeat", train_line);
  EXPECT_NE(out.find("CONCATENATION"), std::string::npos) << out;
}

// TimeDistributed(Dense) over the image's rows trains (the wrapped layer's weights are the
// wrapper's), saves, fine-tunes from the .keras and exports as trained. A wrapped Conv1D (steps
// folded into the batch, then Conv1D's own RESHAPE to a 2-D convolution) trains too.
TEST_F(TrainCliTest, TimeDistributedTrainsSavesAndExports) {
  const std::string train_line = TrainArchitecture("td", kRowsAsSequence + std::string(R"(
    {"class_name": "TimeDistributed", "config": {"name": "td_dense", "layer":
      {"class_name": "Dense", "config": {"name": "d", "units": 12, "activation": "relu"}}}},
    {"class_name": "TimeDistributed", "config": {"name": "td_drop", "layer":
      {"class_name": "Dropout", "config": {"name": "drop", "rate": 0.1}}}},
    {"class_name": "Flatten", "config": {"name": "flatten"}},)"),
                                                   "--epochs 15 --lr 1e-2");
  ExpectFineTuningStartsFromTheSavedWeights("td", train_line);
  ExpectExportEvaluatesAsTrained("td", train_line);

  const std::string arch = R"({"class_name": "Sequential", "config": {"name": "tdc", "layers": [
    {"class_name": "InputLayer", "config": {"name": "x", "batch_input_shape": [null, 28, 28, 1]}},
    {"class_name": "TimeDistributed", "config": {"name": "td_conv", "layer":
      {"class_name": "Conv1D", "config": {"name": "c", "filters": 2, "kernel_size": 3}}}},
    {"class_name": "Flatten", "config": {"name": "flatten"}},
    {"class_name": "Dense", "config": {"name": "out", "units": 10}}]}})";
  ASSERT_TRUE(
      WriteFileAtomic(dir_ + "/tdc.json", std::vector<uint8_t>(arch.begin(), arch.end())).ok());
  std::string out;
  EXPECT_EQ(Run("convert " + dir_ + "/tdc.json -o " + dir_ + "/tdc.tflite", &out), 0) << out;
  EXPECT_EQ(Run("train " + dir_ + "/tdc.json --data " + dir_ + "/tiny.npz --test-data " + dir_ +
                    "/tiny.npz --epochs 1 --quiet",
                &out),
            0)
      << out;
  EXPECT_NE(out.find("accuracy="), std::string::npos) << out;
}

// TimeDistributed(Conv2D), (BatchNormalization), (MaxPooling2D) and (Flatten) on clips
// [B, T, H, W, C]: the Keras importer folds the steps into the batch around each wrapped layer
// (RESHAPE [B * T, H, W, C]) and unfolds them after it ([B, T, ...]); then a GRU over the steps.
// edgeopt trains it (the loss goes down, the accuracy is far above chance, BatchNormalization's
// statistics over the B * T frames), saves it as .keras, which `edgeopt eval` runs as the
// training engine did, and its .tflite from `edgeopt convert` evaluates the same: accuracy and
// loss agree to the 4 digits printed. (No fine-tuning check: even at a negligible learning rate,
// an epoch moves BatchNormalization's moving statistics.)
TEST_F(TrainCliTest, TimeDistributedConvPoolFlattenIntoAGruTrainsSavesAndExports) {
  // 96 clips of 3 frames 10x10x1 (8-bit, as Fashion-MNIST), 10 classes: class c lights columns
  // 2 (c % 5) and 2 (c % 5) + 1 in frames 0 and 1 (c < 5) or in frames 1 and 2 (c >= 5): classes c
  // and c + 5 differ only in which steps light up.
  constexpr int kClips = 96, kSteps = 3, kSide = 10, kFrame = kSide * kSide;
  NpyArray x, y;
  x.dtype = DType::kUInt8;
  x.shape = {kClips, kSteps, kSide, kSide, 1};
  x.data.resize(kClips * kSteps * kFrame);
  y.dtype = DType::kInt32;
  y.shape = {kClips};
  y.data.resize(kClips * 4);
  train::SplitMix64 rng(7);
  for (int i = 0; i < kClips; ++i) {
    const int32_t label = (i * 7) % 10;
    y.Data<int32_t>()[i] = label;
    for (int t = 0; t < kSteps; ++t) {
      const bool lit = label < 5 ? t <= 1 : t >= 1;
      for (int p = 0; p < kFrame; ++p) {
        const bool band = lit && (p % kSide) / 2 == label % 5;
        x.data[(i * kSteps + t) * kFrame + p] =
            static_cast<uint8_t>((band ? 200 : 20) + rng.Below(40));
      }
    }
  }
  ASSERT_TRUE(WriteNpz(dir_ + "/clips.npz", {{"x", x}, {"y", y}}).ok());
  auto wrapped = [](const std::string& name, const std::string& cls, const std::string& config) {
    return R"(
    {"class_name": "TimeDistributed", "config": {"name": ")" +
           name + R"(", "layer": {"class_name": ")" + cls + R"(", "config": {"name": "inner")" +
           config + "}}}},";
  };
  const std::string arch =
      R"({"class_name": "Sequential", "config": {"name": "clips", "layers": [
    {"class_name": "InputLayer", "config": {"name": "x",
     "batch_input_shape": [null, 3, 10, 10, 1]}},)" +
      wrapped("td_conv", "Conv2D",
              R"(, "filters": 6, "kernel_size": [3, 3], "activation": "relu")") +
      wrapped("td_bn", "BatchNormalization", R"(, "momentum": 0.9)") +
      wrapped("td_pool", "MaxPooling2D", R"(, "pool_size": [2, 2])") +
      wrapped("td_flat", "Flatten", "") + R"(
    {"class_name": "GRU", "config": {"name": "gru", "units": 16}},
    {"class_name": "Dense", "config": {"name": "out", "units": 10}}]}})";
  ASSERT_TRUE(
      WriteFileAtomic(dir_ + "/clips.json", std::vector<uint8_t>(arch.begin(), arch.end())).ok());
  std::string out;
  ASSERT_EQ(Run("train " + dir_ + "/clips.json --data " + dir_ + "/clips.npz --test-data " + dir_ +
                    "/clips.npz --epochs 12 --batch-size 16 --lr 1e-2 -o " + dir_ + "/clips.keras",
                &out),
            0)
      << out;
  const size_t first = out.find("epoch 1/12: loss ");
  const size_t last = out.find("epoch 12/12: loss ");
  ASSERT_NE(first, std::string::npos) << out;
  ASSERT_NE(last, std::string::npos) << out;
  const double first_loss = std::stod(out.substr(first + 17));
  const double last_loss = std::stod(out.substr(last + 18));
  EXPECT_LT(last_loss, 0.5 * first_loss) << out;
  // Chance is 0.1; a model blind to the order of the steps gets at most 0.5.
  EXPECT_GT(testing::ParseMetric(out, "accuracy"), 0.7) << out;
  const std::string train_line = out.substr(out.rfind("accuracy="), 27);
  ASSERT_EQ(Run("eval " + dir_ + "/clips.keras --data " + dir_ + "/clips.npz --quiet", &out), 0)
      << out;
  EXPECT_EQ(out.substr(out.rfind("accuracy=")).substr(0, 27), train_line) << out;
  const std::string log = ExpectExportEvaluatesAsTrained("clips", train_line, "clips.npz");
  EXPECT_NE(log.find("CONV_2D"), std::string::npos) << log;
  EXPECT_NE(log.find("MAX_POOL_2D"), std::string::npos) << log;
  // QAT trains the folded graph with fake quantization; its int8 file picks the class the
  // training engine's fake-quant model picks.
  ASSERT_EQ(Run("qat " + dir_ + "/clips.keras --data " + dir_ + "/clips.npz --test-data " + dir_ +
                    "/clips.npz --epochs 1 --batch-size 16 --lr 1e-4 --quiet -o " + dir_ +
                    "/clips_qat.tflite",
                &out),
            0)
      << out;
  EXPECT_GE(testing::ParseMetric(out, "agreement"), 0.95) << out;
}

// Keras masks: token sequences padded with 0 after their end, an Embedding with mask_zero=True,
// then a GRU (whose last output is its state at the last token: the padding steps keep it) or
// a GlobalAveragePooling1D over the tokens only. edgeopt trains both, saves .keras files that
// `edgeopt eval` runs as the training engine did, and their .tflite files (which compute the
// mask from the ids: NOT_EQUAL, CAST) evaluate the same. QAT keeps the mask's ops in float
// before the int8 ones, and its int8 file picks the class its fake-quant model picks.
TEST_F(TrainCliTest, MaskedSequencesTrainSaveExportAndQuantize) {
  // 96 sequences of 2 to 8 tokens in [1, 20), padded with 0 to 8; the label is the first
  // token's class (t % 10), which a GRU must carry through the sequence.
  constexpr int kSeqs = 96, kLen = 8;
  NpyArray x, y;
  x.dtype = DType::kFloat32;
  x.shape = {kSeqs, kLen};
  x.data.resize(kSeqs * kLen * 4);
  y.dtype = DType::kInt32;
  y.shape = {kSeqs};
  y.data.resize(kSeqs * 4);
  train::SplitMix64 rng(11);
  for (int i = 0; i < kSeqs; ++i) {
    const int length = 2 + static_cast<int>(rng.Below(kLen - 1));
    for (int t = 0; t < kLen; ++t) {
      x.Data<float>()[i * kLen + t] = t < length ? static_cast<float>(1 + rng.Below(19)) : 0.0f;
    }
    y.Data<int32_t>()[i] = static_cast<int32_t>(x.Data<float>()[i * kLen]) % 10;
  }
  ASSERT_TRUE(WriteNpz(dir_ + "/tokens.npz", {{"x", x}, {"y", y}}).ok());
  auto arch = [](const std::string& name, const std::string& middle) {
    return R"({"class_name": "Sequential", "config": {"name": ")" + name + R"(", "layers": [
      {"class_name": "InputLayer", "config": {"name": "ids", "batch_input_shape": [null, 8]}},
      {"class_name": "Embedding", "config": {"name": "emb", "input_dim": 20, "output_dim": 8,
       "mask_zero": true}},)" +
           middle + R"(
      {"class_name": "Dense", "config": {"name": "out", "units": 10}}]}})";
  };
  const std::vector<std::pair<std::string, std::string>> models = {
      {"masked_gru", R"({"class_name": "GRU", "config": {"name": "gru", "units": 24}},)"},
      {"masked_mean", R"({"class_name": "GlobalAveragePooling1D", "config": {"name": "mean"}},)"},
      // Self-attention over the tokens (the padding's scores dropped), then the largest value
      // of each feature (GlobalMaxPooling1D ends the mask, as in Keras).
      {"masked_attention", ""},
      // An encoder block: masked self-attention, a residual Add, LayerNormalization, then the
      // tokens and the block's outputs concatenated along the steps (so are the masks), and the
      // mean over the kept ones.
      {"masked_encoder", ""}};
  // Self-attention over the tokens (the padding's scores dropped), then the largest value of
  // each feature (GlobalMaxPooling1D ends the mask, as in Keras): a Keras 3 Functional model.
  auto node = [](const std::string& args) {
    return R"([{"args": [)" + args + R"(], "kwargs": {}}])";
  };
  auto tensor = [](const std::string& layer) {
    return R"({"class_name": "__keras_tensor__", "config": {"shape": [null], "dtype": "float32",
      "keras_history": [")" +
           layer + R"(", 0, 0]}})";
  };
  const std::string attention =
      R"({"class_name": "Functional", "config": {"name": "masked_attention", "layers": [
    {"class_name": "InputLayer", "name": "ids", "config": {"name": "ids", "batch_shape": [null, 8]},
     "inbound_nodes": []},
    {"class_name": "Embedding", "name": "emb", "config": {"name": "emb", "input_dim": 20,
     "output_dim": 8, "mask_zero": true}, "inbound_nodes": )" +
      node(tensor("ids")) + R"(},
    {"class_name": "MultiHeadAttention", "name": "att", "config": {"name": "att", "num_heads": 2,
     "key_dim": 8}, "inbound_nodes": )" +
      node(tensor("emb") + ", " + tensor("emb")) + R"(},
    {"class_name": "GlobalMaxPooling1D", "name": "max", "config": {"name": "max"},
     "inbound_nodes": )" +
      node(tensor("att")) + R"(},
    {"class_name": "Dense", "name": "out", "config": {"name": "out", "units": 10},
     "inbound_nodes": )" +
      node(tensor("max")) + R"(}],
    "input_layers": [["ids", 0, 0]], "output_layers": [["out", 0, 0]]}})";
  auto layer = [&](const std::string& cls, const std::string& name, const std::string& config,
                   const std::string& args) {
    return R"({"class_name": ")" + cls + R"(", "name": ")" + name + R"(", "config": {"name": ")" +
           name + "\"" + config + R"(}, "inbound_nodes": )" + node(args) + "}";
  };
  const std::string encoder =
      R"({"class_name": "Functional", "config": {"name": "masked_encoder", "layers": [
    {"class_name": "InputLayer", "name": "ids", "config": {"name": "ids", "batch_shape": [null, 8]},
     "inbound_nodes": []},)" +
      layer("Embedding", "emb", R"(, "input_dim": 20, "output_dim": 8, "mask_zero": true)",
            tensor("ids")) +
      ",\n" +
      layer("MultiHeadAttention", "att", R"(, "num_heads": 2, "key_dim": 8)",
            tensor("emb") + ", " + tensor("emb")) +
      ",\n" + layer("Add", "res", "", "[" + tensor("emb") + ", " + tensor("att") + "]") + ",\n" +
      layer("LayerNormalization", "ln", "", tensor("res")) + ",\n" +
      layer("Concatenate", "cat", R"(, "axis": 1)",
            "[" + tensor("emb") + ", " + tensor("ln") + "]") +
      ",\n" + layer("GlobalAveragePooling1D", "mean", "", tensor("cat")) + ",\n" +
      layer("Dense", "out", R"(, "units": 10)", tensor("mean")) + R"(],
    "input_layers": [["ids", 0, 0]], "output_layers": [["out", 0, 0]]}})";
  for (const auto& [name, middle] : models) {
    const std::string json = name == "masked_attention" ? attention
                             : name == "masked_encoder" ? encoder
                                                        : arch(name, middle);
    ASSERT_TRUE(
        WriteFileAtomic(dir_ + "/" + name + ".json", std::vector<uint8_t>(json.begin(), json.end()))
            .ok());
    std::string out;
    ASSERT_EQ(
        Run("train " + dir_ + "/" + name + ".json --data " + dir_ + "/tokens.npz --test-data " +
                dir_ + "/tokens.npz --epochs 30 --batch-size 16 --lr 1e-2 --quiet -o " + dir_ +
                "/" + name + ".keras",
            &out),
        0)
        << out;
    // Chance is 0.1; the mean of the tokens' embeddings hides the first one among the others.
    EXPECT_GT(testing::ParseMetric(out, "accuracy"), name == "masked_gru" ? 0.8 : 0.3) << out;
    const std::string train_line = out.substr(out.rfind("accuracy="), 27);
    ASSERT_EQ(
        Run("eval " + dir_ + "/" + name + ".keras --data " + dir_ + "/tokens.npz --quiet", &out), 0)
        << out;
    EXPECT_EQ(out.substr(out.rfind("accuracy=")).substr(0, 27), train_line) << out;
    const std::string log = ExpectExportEvaluatesAsTrained(name, train_line, "tokens.npz");
    EXPECT_NE(log.find("NOT_EQUAL"), std::string::npos) << log;
  }
  // QAT of all three, each int8 file picking the class its fake-quant model picks: the masked
  // mean's division by the count of tokens stays float, as in post-training int8; the
  // attention's masked scores are a SELECT_V2 of -1e9, which int8 saturates to the bottom of the
  // scores' range (lowered so the masked keys weigh nothing).
  std::string out;
  for (const auto& model : models) {
    const std::string& name = model.first;
    ASSERT_EQ(
        Run("qat " + dir_ + "/" + name + ".keras --data " + dir_ + "/tokens.npz --test-data " +
                dir_ + "/tokens.npz --epochs 1 --batch-size 16 --lr 1e-4 --quiet -o " + dir_ + "/" +
                name + "_qat.tflite",
            &out),
        0)
        << out;
    EXPECT_GE(testing::ParseMetric(out, "agreement"), 0.95) << out;
  }
  for (const char* name : {"masked_attention", "masked_encoder"}) {
    for (const char* mode : {"int8", "int16x8"}) {
      const std::string file = dir_ + "/" + name + "_" + mode + ".tflite";
      ASSERT_EQ(Run("quantize " + dir_ + "/" + name + ".keras --mode " + mode + " --calibration " +
                        dir_ + "/tokens.npz --eval " + dir_ + "/tokens.npz --quiet -o " + file,
                    &out),
                0)
          << out;
      // Within 3 points of the float model's accuracy on its training tokens.
      EXPECT_GT(testing::ParseMetric(out, mode), testing::ParseMetric(out, "float") - 0.03)
          << name << "\n"
          << out;
    }
  }
  // Post-training int8 of the masked mean: the division by the number of tokens stays float.
  ASSERT_EQ(Run("quantize " + dir_ + "/masked_mean.keras --mode int8 --calibration " + dir_ +
                    "/tokens.npz --eval " + dir_ + "/tokens.npz --quiet -o " + dir_ +
                    "/masked_mean_int8.tflite",
                &out),
            0)
      << out;
  std::string conf;
  EXPECT_EQ(testing::RunConformance(
                "--seeds 2 " + dir_ + "/masked_gru_qat.tflite " + dir_ +
                    "/masked_mean_int8.tflite " + dir_ + "/masked_attention_qat.tflite " + dir_ +
                    "/masked_attention_int8.tflite " + dir_ + "/masked_attention_int16x8.tflite " +
                    dir_ + "/masked_mean_qat.tflite " + dir_ + "/masked_encoder_qat.tflite " +
                    dir_ + "/masked_encoder_int8.tflite " + dir_ + "/masked_encoder_int16x8.tflite",
                &conf),
            0)
      << conf;
  EXPECT_NE(conf.find("9 passed, 0 failed"), std::string::npos) << conf;
}

// softplus, mish, softsign and selu (ABS, NEG, LOG, EXP, DIV, TANH, ELU in the graph) train,
// save, fine-tune and export.
TEST_F(TrainCliTest, SoftplusMishSoftsignSeluActivations) {
  const std::string train_line = TrainArchitecture("acts", R"(
    {"class_name": "Flatten", "config": {"name": "flatten"}},
    {"class_name": "Dense", "config": {"name": "d1", "units": 16, "activation": "softplus"}},
    {"class_name": "Dense", "config": {"name": "d2", "units": 16, "activation": "mish"}},
    {"class_name": "Dense", "config": {"name": "d3", "units": 16, "activation": "softsign"}},
    {"class_name": "Dense", "config": {"name": "d4", "units": 16, "activation": "selu"}},)",
                                                   "--epochs 10 --lr 3e-3");
  ExpectFineTuningStartsFromTheSavedWeights("acts", train_line);
  const std::string log = ExpectExportEvaluatesAsTrained("acts", train_line);
  EXPECT_NE(log.find("LOG"), std::string::npos) << log;
}

// A Keras 3 functional model written with operations (tests/data/fuzz_seeds/keras_config/
// keras3_ops_more.json): a leaky ReLU as where(h > 0, h, 0.1 h), clip, split into halves, an
// einsum of the halves, stack, mean, hard_silu, tile. It trains, fine-tunes from its file, exports
// as trained, quantizes (int8, with an int8 GREATER, and int16x8) and trains quantization-aware to
// a full-integer file, all of which the official runtime runs to the bit.
TEST_F(TrainCliTest, KerasOperationsTrainExportAndQuantize) {
  auto t = [](const std::string& name, int k = 0) {
    return R"({"class_name": "__keras_tensor__", "config": {"keras_history": [")" + name +
           "\", 0, " + std::to_string(k) + "]}}";
  };
  auto node = [](const std::string& module, const std::string& cls, const std::string& name,
                 const std::string& config, const std::string& args) {
    return std::string(",\n") + R"({"class_name": ")" + cls + "\", " +
           (module.empty() ? "" : R"("module": "keras.src.ops.)" + module + "\", ") +
           R"("name": ")" + name + R"(", "config": {"name": ")" + name + "\"" + config +
           R"(}, "inbound_nodes": [{"args": [)" + args + R"(], "kwargs": {}}]})";
  };
  const std::string config =
      R"({"class_name": "Functional", "config": {"name": "ops", "layers": [
    {"class_name": "InputLayer", "name": "img", "config": {"name": "img",
     "batch_shape": [null, 28, 28, 1]}, "inbound_nodes": []})" +
      node("", "Reshape", "rows", R"(, "target_shape": [28, 28])", t("img")) +
      node("", "Dense", "h", R"(, "units": 16)", t("rows")) +
      node("numpy", "Greater", "pos", "", t("h") + ", 0") +
      node("numpy", "Multiply", "small", "", t("h") + ", 0.1") +
      node("numpy", "Where", "leaky", "", t("pos") + ", " + t("h") + ", " + t("small")) +
      node("numpy", "Clip", "clipped", R"(, "x_min": -3.0, "x_max": 3.0)", t("leaky")) +
      node("numpy", "Split", "halves", R"(, "indices_or_sections": 2, "axis": -1)", t("clipped")) +
      node("numpy", "Einsum", "cross", R"(, "subscripts": "btd,bte->bde")",
           t("halves") + ", " + t("halves", 1)) +
      node("numpy", "Reshape", "cross_flat", R"(, "newshape": [-1, 64])", t("cross")) +
      node("numpy", "Multiply", "cross_scaled", "", t("cross_flat") + ", 0.0357") +
      node("numpy", "Stack", "both", R"(, "axis": 1)",
           "[" + t("halves") + ", " + t("halves", 1) + "]") +
      node("numpy", "Mean", "pooled", R"(, "axis": 2)", t("both")) +
      node("numpy", "Reshape", "pooled_flat", R"(, "newshape": [-1, 16])", t("pooled")) +
      node("nn", "HardSilu", "act", "", t("pooled_flat")) +
      node("numpy", "Tile", "act2", R"(, "repeats": [1, 2])", t("act")) +
      node("numpy", "Concatenate", "features", R"(, "axis": -1)",
           "[" + t("cross_scaled") + ", " + t("act2") + "]") +
      node("", "Dense", "out", R"(, "units": 10)", t("features")) +
      R"(], "input_layers": [["img", 0, 0]], "output_layers": [["out", 0, 0]]}})";
  const std::string train_line = TrainConfig("ops", config);
  ASSERT_FALSE(train_line.empty());
  ExpectFineTuningStartsFromTheSavedWeights("ops", train_line);
  const std::string log = ExpectExportEvaluatesAsTrained("ops", train_line);
  for (const char* op : {"GREATER", "SELECT_V2", "BATCH_MATMUL", "HARD_SWISH", "TILE"}) {
    EXPECT_NE(log.find(op), std::string::npos) << op << "\n" << log;
  }
  for (const char* mode : {"int8", "int16x8"}) {
    const std::string q = ExpectQuantizesNearFloat("ops", mode, train_line);
    if (std::string(mode) == "int8") {  // the comparison too: integer throughout
      std::string ir;
      ASSERT_EQ(Run("ir " + q, &ir), 0) << ir;
      EXPECT_EQ(Occurrences(ir, "QUANTIZE("), 2u) << ir;
    }
  }
  ExpectQatFullInteger("ops", 0.9);

  // ops.min, x ** 3, ops.sin, ops.repeat and ops.tile (REDUCE_MIN, POW, SIN, TILE) train too.
  const std::string config2 =
      R"({"class_name": "Functional", "config": {"name": "ops2", "layers": [
    {"class_name": "InputLayer", "name": "img", "config": {"name": "img",
     "batch_shape": [null, 28, 28, 1]}, "inbound_nodes": []})" +
      node("", "Reshape", "rows", R"(, "target_shape": [28, 28])", t("img")) +
      node("", "Dense", "h", R"(, "units": 16, "activation": "tanh")", t("rows")) +
      node("numpy", "Min", "mins", R"(, "axis": 1)", t("h")) +
      node("numpy", "Max", "maxs", R"(, "axis": 1)", t("h")) +
      node("numpy", "Power", "cubes", "", t("maxs") + ", 3") +
      node("numpy", "Sin", "waves", "", t("h")) +
      node("numpy", "Repeat", "twice", R"(, "repeats": 2, "axis": 2)", t("waves")) +
      node("numpy", "Tile", "tiled", R"(, "repeats": [1, 2])", t("twice")) +
      node("numpy", "Mean", "wmean", R"(, "axis": 1)", t("tiled")) +
      node("numpy", "Concatenate", "features", R"(, "axis": -1)",
           "[" + t("mins") + ", " + t("cubes") + ", " + t("wmean") + "]") +
      node("", "Dense", "out", R"(, "units": 10)", t("features")) +
      R"(], "input_layers": [["img", 0, 0]], "output_layers": [["out", 0, 0]]}})";
  const std::string train_line2 = TrainConfig("ops2", config2);
  ASSERT_FALSE(train_line2.empty());
  const std::string log2 = ExpectExportEvaluatesAsTrained("ops2", train_line2);
  for (const char* op : {"REDUCE_MIN", "POW", "SIN", "TILE"}) {
    EXPECT_NE(log2.find(op), std::string::npos) << op << "\n" << log2;
  }
}

// Index operations (tests/data/fuzz_seeds/keras_config/keras3_ops_index.json): a cumsum over
// the rows (a constant triangular FULLY_CONNECTED, not trained), argmax -> one_hot, sign, an
// argmin cast to float: the model trains through the rest (the indices carry no gradient),
// exports as trained, and quantizes (int8: ARG_MAX / ARG_MIN on int8 inputs) to files TFLite
// runs to the bit; QAT refuses it, naming the CAST the int8 mode keeps in float.
TEST_F(TrainCliTest, IndexOperationsTrainExportAndQuantize) {
  auto bytes = ReadFileBytes(testing::SourceDir() +
                             "/tests/data/fuzz_seeds/keras_config/keras3_ops_index.json");
  ASSERT_TRUE(bytes.ok()) << bytes.status().ToString();
  const std::string train_line = TrainConfig("index", std::string(bytes->begin(), bytes->end()));
  ASSERT_FALSE(train_line.empty());
  ExpectFineTuningStartsFromTheSavedWeights("index", train_line);
  const std::string log = ExpectExportEvaluatesAsTrained("index", train_line);
  for (const char* op : {"ARG_MAX", "ARG_MIN", "EQUAL", "CAST", "GREATER", "LESS", "TRANSPOSE"}) {
    EXPECT_NE(log.find(op), std::string::npos) << op << "\n" << log;
  }
  // The cumsum's matrix stayed a 0 / 1 triangle: not trained, not counted as a weight.
  std::string out;
  ASSERT_EQ(Run("train " + dir_ + "/index.keras --data " + dir_ + "/tiny.npz --epochs 1 " +
                    "--batch-size 16 -o " + dir_ + "/index2.keras",
                &out),
            0)
      << out;
  EXPECT_EQ(out.find("frozen"), std::string::npos) << out;
  ASSERT_EQ(Run("convert " + dir_ + "/index2.keras -o " + dir_ + "/index2.tflite", &out), 0) << out;
  ASSERT_EQ(Run("ir " + dir_ + "/index2.tflite --values", &out), 0) << out;
  const size_t m = out.find("cumsum_matrix");
  ASSERT_NE(m, std::string::npos) << out;
  const std::string row = out.substr(m, out.find('\n', m) - m);
  EXPECT_NE(row.find("values=[1,0,0,"), std::string::npos) << row.substr(0, 200);
  for (const char* mode : {"int8", "int16x8"}) {
    const std::string q = ExpectQuantizesNearFloat("index", mode, train_line);
    if (std::string(mode) == "int8") {
      std::string ir;
      ASSERT_EQ(Run("ir " + q, &ir), 0) << ir;
      for (const char* arg : {"ARG_MAX(", "ARG_MIN("}) {
        const size_t a = ir.find(arg);
        ASSERT_NE(a, std::string::npos) << ir;
        EXPECT_NE(ir.substr(a, 80).find("version=2"), std::string::npos) << ir.substr(a, 80);
      }
    }
  }
  EXPECT_NE(Run("qat " + dir_ + "/index.keras --data " + dir_ + "/tiny.npz --epochs 1 -o " + dir_ +
                    "/index_qat.tflite",
                &out),
            0);
  EXPECT_NE(out.find("the int8 mode has no kernel for CAST"), std::string::npos) << out;
  // The same model ending in argmax (its classes, int32): --epochs 0 saves the weights as .h5,
  // convert takes them with the new config; eval counts the classes it outputs (no loss), which
  // are the float model's predictions; int8 ARG_MAX reads the int8 logits.
  ASSERT_EQ(Run("train " + dir_ + "/index.keras --data " + dir_ +
                    "/tiny.npz --epochs 0 --quiet -o " + dir_ + "/index.h5",
                &out),
            0)
      << out;
  nlohmann::json config = nlohmann::json::parse(bytes->begin(), bytes->end());
  config["config"]["layers"].push_back(
      {{"module", "keras.src.ops.numpy"},
       {"class_name", "Argmax"},
       {"name", "cls"},
       {"config", {{"name", "cls"}, {"axis", 1}}},
       {"inbound_nodes",
        {{{"args",
           {{{"class_name", "__keras_tensor__"}, {"config", {{"keras_history", {"out", 0, 0}}}}}}},
          {"kwargs", nlohmann::json::object()}}}}});
  config["config"]["output_layers"] = {{"cls", 0, 0}};
  const std::string text = config.dump();
  ASSERT_TRUE(
      WriteFileAtomic(dir_ + "/classes.json", std::vector<uint8_t>(text.begin(), text.end())).ok());
  ASSERT_EQ(Run("convert --weights " + dir_ + "/index.h5 --config " + dir_ + "/classes.json -o " +
                    dir_ + "/classes.tflite",
                &out),
            0)
      << out;
  ASSERT_EQ(Run("eval " + dir_ + "/classes.tflite --data " + dir_ + "/tiny.npz", &out), 0) << out;
  EXPECT_NE(out.find("the model outputs its classes: no loss"), std::string::npos) << out;
  EXPECT_EQ(out.substr(out.rfind("accuracy=")).substr(0, 15), train_line.substr(0, 15)) << out;
  ASSERT_EQ(
      Run("quantize " + dir_ + "/classes.tflite --mode int8 --calibration " + dir_ +
              "/tiny.npz --eval " + dir_ + "/tiny.npz --quiet -o " + dir_ + "/classes8.tflite",
          &out),
      0)
      << out;
  std::string conf;
  EXPECT_EQ(testing::RunConformance("--seeds 2 --max-lsb 0 " + dir_ + "/classes8.tflite", &conf), 0)
      << conf;
  EXPECT_NE(Run("train " + dir_ + "/classes.json --data " + dir_ + "/tiny.npz -o " + dir_ +
                    "/never.keras",
                &out),
            0);
  EXPECT_NE(out.find("output 'cls' is int32"), std::string::npos) << out;
  // A Keras file (here the architecture alone) that outputs its classes evaluates through the
  // runtime.
  ASSERT_EQ(Run("eval " + dir_ + "/classes.json --data " + dir_ + "/tiny.npz", &out), 0) << out;
  EXPECT_NE(out.find("the model outputs its classes: no loss"), std::string::npos) << out;
  EXPECT_NE(out.find("samples=96"), std::string::npos) << out;
}

// EinsumDense layers (a projection of the rows to 2 heads of 8, their merge with a bias on the
// output axis only, an ellipsis Dense) train, save in Keras's kernel shapes and fine-tune from
// the file, and export as trained.
TEST_F(TrainCliTest, EinsumDenseTrainsSavesAndExports) {
  const std::string train_line = TrainArchitecture("einsum", R"(
    {"class_name": "Reshape", "config": {"name": "rows", "target_shape": [28, 28]}},
    {"class_name": "EinsumDense", "config": {"name": "heads", "equation": "abc,cde->abde",
     "output_shape": [28, 2, 8], "bias_axes": "de", "activation": "relu"}},
    {"class_name": "EinsumDense", "config": {"name": "merge", "equation": "abcd,cde->abe",
     "output_shape": [28, 12], "bias_axes": "e"}},
    {"class_name": "EinsumDense", "config": {"name": "wide", "equation": "...b,bc->...c",
     "output_shape": 6, "bias_axes": "c", "activation": "relu"}},
    {"class_name": "Flatten", "config": {"name": "flatten"}},)",
                                                   "--epochs 10 --lr 3e-3");
  ExpectFineTuningStartsFromTheSavedWeights("einsum", train_line);
  ExpectExportEvaluatesAsTrained("einsum", train_line);
  auto m = keras::LoadKerasFile(dir_ + "/einsum.keras");
  ASSERT_TRUE(m.ok()) << m.status().ToString();
  std::map<std::string, std::vector<int64_t>> shapes;
  for (const keras::LayerWeights& lw : m->weights) {
    for (const auto& [var, a] : lw.vars) shapes[lw.layer + "/" + var] = a.shape;
  }
  EXPECT_EQ(shapes["heads/kernel"], (std::vector<int64_t>{28, 2, 8}));
  EXPECT_EQ(shapes["heads/bias"], (std::vector<int64_t>{2, 8}));
  EXPECT_EQ(shapes["merge/kernel"], (std::vector<int64_t>{2, 8, 12}));
  EXPECT_EQ(shapes["merge/bias"], (std::vector<int64_t>{12}));
  EXPECT_EQ(shapes["wide/kernel"], (std::vector<int64_t>{12, 6}));
}

// tf.nn.depth_to_space / space_to_depth (tf.keras TFOpLambda layers, as a sub-pixel convolution
// writes them) train, export as trained and quantize to int8 that TFLite runs to the bit.
TEST_F(TrainCliTest, DepthToSpaceTrainsExportsAndQuantizes) {
  auto layer = [](const std::string& cls, const std::string& name, const std::string& config,
                  const std::string& in, const std::string& kwargs = "{}") {
    return R"({"class_name": ")" + cls + R"(", "name": ")" + name + R"(", "config": {"name": ")" +
           name + "\"" + config + R"(}, "inbound_nodes": [[[")" + in + R"(", 0, 0, )" + kwargs +
           "]]]}";
  };
  const std::string config =
      R"({"class_name": "Functional", "config": {"name": "subpixel", "layers": [
    {"class_name": "InputLayer", "name": "img", "config": {"name": "img",
     "batch_input_shape": [null, 28, 28, 1]}, "inbound_nodes": []},)" +
      layer("Conv2D", "c",
            R"(, "filters": 8, "kernel_size": [3, 3], "strides": [2, 2], "padding": "same",
               "activation": "relu")",
            "img") +
      "," +
      layer("TFOpLambda", "ds", R"(, "function": "nn.depth_to_space")", "c",
            R"({"block_size": 2, "name": null})") +
      "," +
      layer("TFOpLambda", "sd", R"(, "function": "nn.space_to_depth")", "ds",
            R"({"block_size": 4, "name": null})") +
      "," + layer("Flatten", "flat", "", "sd") + "," +
      layer("Dense", "out", R"(, "units": 10)", "flat") +
      R"(], "input_layers": [["img", 0, 0]], "output_layers": [["out", 0, 0]]},
      "keras_version": "2.11.0", "backend": "tensorflow"})";
  const std::string train_line = TrainConfig("subpixel", config);
  ASSERT_FALSE(train_line.empty());
  const std::string log = ExpectExportEvaluatesAsTrained("subpixel", train_line);
  for (const char* op : {"DEPTH_TO_SPACE", "SPACE_TO_DEPTH"}) {
    EXPECT_NE(log.find(op), std::string::npos) << op << "\n" << log;
  }
  const std::string q = ExpectQuantizesNearFloat("subpixel", "int8", train_line);
  std::string ir;
  ASSERT_EQ(Run("ir " + q, &ir), 0) << ir;
  EXPECT_EQ(Occurrences(ir, "QUANTIZE("), 2u) << ir;  // integer throughout
}

// Discretization of the pixels into 3 buckets, one-hot per pixel, trains a Dense after it (the
// buckets carry no gradient), exports as trained and quantizes to int8 that TFLite runs to the
// bit.
TEST_F(TrainCliTest, DiscretizationTrainsExportsAndQuantizes) {
  const std::string train_line = TrainArchitecture("bins", R"(
    {"class_name": "Flatten", "config": {"name": "flat"}},
    {"class_name": "Discretization", "config": {"name": "bins", "bin_boundaries": [0.3, 0.6],
     "output_mode": "one_hot"}},
    {"class_name": "Flatten", "config": {"name": "flat2"}},)",
                                                   "--epochs 10 --lr 3e-3");
  ExpectFineTuningStartsFromTheSavedWeights("bins", train_line);
  const std::string log = ExpectExportEvaluatesAsTrained("bins", train_line);
  for (const char* op : {"GREATER_EQUAL", "SUM", "EQUAL", "CAST"}) {
    EXPECT_NE(log.find(op), std::string::npos) << op << "\n" << log;
  }
  ExpectQuantizesNearFloat("bins", "int8", train_line);
}

// Keras's augmentation and noise layers change the input only in its training mode: edgeopt
// trains without them (and says so), keeps them in the saved .keras, and the .tflite has no op
// of theirs.
// Augmentation layers at the input (a vertical flip keeps tiny.npz's column bands) augment the
// training batches, seeded; GaussianNoise after the Flatten is left out of training with a note;
// the file keeps them all, and the converted model has none.
TEST_F(TrainCliTest, AugmentationLayersAtTheInputAugmentTrainingAndStayInTheFile) {
  const std::string train_line = TrainArchitecture("aug", R"(
    {"class_name": "RandomFlip", "config": {"name": "flip", "mode": "vertical"}},
    {"class_name": "RandomRotation", "config": {"name": "rot", "factor": 0.02}},
    {"class_name": "Flatten", "config": {"name": "flatten"}},
    {"class_name": "GaussianNoise", "config": {"name": "noise", "stddev": 0.1}},)",
                                                   "--epochs 10 --lr 3e-3");
  ExpectFineTuningStartsFromTheSavedWeights("aug", train_line);
  const std::string log = ExpectExportEvaluatesAsTrained("aug", train_line);
  EXPECT_NE(log.find("1 ops (from 2 before the export passes): FULLY_CONNECTED"), std::string::npos)
      << log;
  std::string out;
  ASSERT_EQ(Run("train " + dir_ + "/aug.keras --data " + dir_ + "/tiny.npz --epochs 1 " +
                    "--batch-size 16 -o " + dir_ + "/aug2.keras",
                &out),
            0)
      << out;
  EXPECT_NE(out.find("augmenting the input as the model's layers do in Keras's training: flip "
                     "(RandomFlip): vertical, rot (RandomRotation): [-0.02, 0.02] x 2 pi, fill "
                     "reflect\n"),
            std::string::npos)
      << out;
  EXPECT_NE(out.find("note: noise (GaussianNoise) changes its input only in Keras's training "
                     "mode, away from the model's input image"),
            std::string::npos)
      << out;
  // Seeded: the same run twice gives the same model; another seed another one.
  std::string again, other;
  const std::string rerun = "train " + dir_ + "/aug.keras --data " + dir_ +
                            "/tiny.npz --epochs 1 --batch-size 16 --quiet --test-data " + dir_ +
                            "/tiny.npz --seed ";
  ASSERT_EQ(Run(rerun + "3", &out), 0) << out;
  ASSERT_EQ(Run(rerun + "3", &again), 0) << again;
  ASSERT_EQ(Run(rerun + "4", &other), 0) << other;
  EXPECT_EQ(out, again);
  EXPECT_NE(out, other);
  // QAT fine-tunes through the same augmentation (the model file's layers).
  ExpectQatFullInteger("aug", 0.95);
  ASSERT_EQ(Run("inspect " + dir_ + "/aug2.keras", &out), 0) << out;
  for (const char* layer : {"RandomFlip", "RandomRotation", "GaussianNoise"}) {
    EXPECT_NE(out.find(layer), std::string::npos) << out;
  }
}

// Transfer learning: --freeze (Keras's trainable=False) keeps a convolution and its
// BatchNormalization (weights and moving statistics) as they are while the rest trains, and the
// output file says so; --unfreeze all trains them again; the compressions leave frozen layers
// as they are, with a note; a name that is no layer is an error naming it.
TEST_F(TrainCliTest, FreezeKeepsLayersAsTheyAreAndUnfreezeTrainsThemAgain) {
  TrainArchitecture("frz", R"(
    {"class_name": "Conv2D", "config": {"name": "c1", "filters": 4, "kernel_size": [3, 3],
     "strides": [2, 2], "activation": "relu"}},
    {"class_name": "BatchNormalization", "config": {"name": "bn"}},
    {"class_name": "Flatten", "config": {"name": "flatten"}},
    {"class_name": "Dense", "config": {"name": "h", "units": 16, "activation": "relu"}},)",
                    "--epochs 6 --lr 3e-3");
  auto train = [&](const std::string& in, const std::string& out_name, const std::string& flags,
                   std::string* out) {
    return Run("train " + dir_ + "/" + in + " --data " + dir_ + "/tiny.npz --test-data " + dir_ +
                   "/tiny.npz --epochs 2 --batch-size 16 --lr 1e-2 -o " + dir_ + "/" + out_name +
                   " " + flags,
               out);
  };
  auto load = [&](const std::string& name) {
    auto m = keras::LoadKerasFile(dir_ + "/" + name);
    EXPECT_TRUE(m.ok()) << m.status().ToString();
    return m.ok() ? std::move(m).value() : keras::KerasModel();
  };
  // The variables of `layer` in a and b are bit-identical.
  auto same = [](const keras::KerasModel& a, const keras::KerasModel& b, const std::string& layer) {
    for (const keras::LayerWeights& la : a.weights) {
      if (la.layer != layer) continue;
      for (const keras::LayerWeights& lb : b.weights) {
        if (lb.layer != layer) continue;
        bool equal = la.vars.size() == lb.vars.size();
        for (size_t v = 0; equal && v < la.vars.size(); ++v) {
          equal = la.vars[v].second.data == lb.vars[v].second.data;
        }
        return equal;
      }
    }
    ADD_FAILURE() << "no layer " << layer;
    return false;
  };
  std::string out;
  ASSERT_EQ(train("frz.keras", "frz_tuned.keras", "--freeze c1,bn", &out), 0) << out;
  // c1: 3x3x1x4 + 4, bn: 4 x (gamma, beta, mean, variance).
  EXPECT_NE(out.find("weights (+56 frozen)"), std::string::npos) << out;
  const keras::KerasModel base = load("frz.keras"), tuned = load("frz_tuned.keras");
  EXPECT_TRUE(same(base, tuned, "c1"));
  EXPECT_TRUE(same(base, tuned, "bn"));  // the moving statistics too
  EXPECT_FALSE(same(base, tuned, "h"));
  EXPECT_FALSE(same(base, tuned, "out"));
  for (const nlohmann::json& layer : tuned.config["config"]["layers"]) {
    const std::string name = layer["config"]["name"];
    if (name == "x") continue;
    EXPECT_EQ(layer["config"].value("trainable", true), name != "c1" && name != "bn") << name;
  }
  ASSERT_EQ(Run("inspect " + dir_ + "/frz_tuned.keras", &out), 0) << out;
  EXPECT_NE(out.find("frozen (trainable=False): 56 parameters in 2 layer(s): bn, c1"),
            std::string::npos)
      << out;
  // The file's flags hold on the next run; --unfreeze all lifts them.
  ASSERT_EQ(train("frz_tuned.keras", "frz_again.keras", "--quiet", &out), 0) << out;
  EXPECT_TRUE(same(tuned, load("frz_again.keras"), "c1"));
  ASSERT_EQ(train("frz_tuned.keras", "frz_all.keras", "--unfreeze all --quiet", &out), 0) << out;
  const keras::KerasModel all = load("frz_all.keras");
  EXPECT_FALSE(same(tuned, all, "c1"));
  EXPECT_FALSE(same(tuned, all, "bn"));
  // Pruning (one-shot) leaves a frozen layer dense.
  ASSERT_EQ(Run("prune " + dir_ + "/frz_all.keras --sparsity 0.5 --one-shot --layers h,out " +
                    "--freeze h -o " + dir_ + "/frz_pruned.keras",
                &out),
            0)
      << out;
  EXPECT_NE(out.find("h: frozen (trainable=False); left as it is (--unfreeze h to include it)"),
            std::string::npos)
      << out;
  EXPECT_TRUE(same(all, load("frz_pruned.keras"), "h"));
  EXPECT_FALSE(same(all, load("frz_pruned.keras"), "out"));
  EXPECT_NE(train("frz.keras", "bad.keras", "--freeze c1,nope", &out), 0);
  EXPECT_NE(out.find("no layer is named 'nope'"), std::string::npos) << out;
  EXPECT_FALSE(FileExists(dir_ + "/bad.keras"));
}

// A Keras LSTM (TFLite's fused UNIDIRECTIONAL_SEQUENCE_LSTM, trained through time) reading the
// images' rows trains, saves and fine-tunes from its .keras, and the exported .tflite evaluates as
// the engine does. int8 makes the fused op TFLite's integer LSTM, and so does qat (its gate
// weights fake-quantized per tensor); quantize --unroll-lstm unrolls it over time (as
// unroll=True), and so does qat for an LSTM with no integer kernel (a relu one).
TEST_F(TrainCliTest, LstmTrainsFineTunesAndExports) {
  const std::string train_line = TrainArchitecture("lstm", kRowsAsSequence + std::string(R"(
    {"class_name": "LSTM", "config": {"name": "lstm", "units": 16}},)"),
                                                   "--epochs 15 --lr 1e-2");
  ExpectFineTuningStartsFromTheSavedWeights("lstm", train_line);
  const std::string out = ExpectExportEvaluatesAsTrained("lstm", train_line);
  EXPECT_NE(out.find("UNIDIRECTIONAL_SEQUENCE_LSTM"), std::string::npos) << out;
  std::string log;
  // int8: the fused op with int8 input, gate weights and hidden state and an int16 cell state; no
  // float tensor of the layer's size is left, and the official runtime computes it bit for bit
  // as edgeopt does.
  const std::string fused = dir_ + "/lstm_int8.tflite";
  ASSERT_EQ(Run("quantize " + dir_ + "/lstm.keras --mode int8 --calibration " + dir_ +
                    "/tiny.npz --quiet -o " + fused,
                &log),
            0)
      << log;
  ASSERT_EQ(Run("ir " + fused, &log), 0) << log;
  EXPECT_NE(log.find("UNIDIRECTIONAL_SEQUENCE_LSTM"), std::string::npos) << log;
  EXPECT_EQ(Occurrences(log, "int16[1,16]"), 1u) << log;  // the cell state
  EXPECT_EQ(log.find("float32[1,16]"), std::string::npos) << log;
  EXPECT_EQ(log.find("float32[16,"), std::string::npos) << log;
  std::string conf;
  EXPECT_EQ(testing::RunConformance("--seeds 2 --max-lsb 0 " + fused, &conf), 0) << conf;
  const std::string qat = ExpectQatFullInteger("lstm", 0.9);
  ASSERT_EQ(Run("ir " + qat, &log), 0) << log;
  EXPECT_NE(log.find("UNIDIRECTIONAL_SEQUENCE_LSTM"), std::string::npos) << log;
  EXPECT_EQ(Occurrences(log, "int16[1,16]"), 1u) << log;
  // A relu LSTM has no integer kernel: qat unrolls it, says so, and the file is full-integer.
  TrainArchitecture("lstm_relu", kRowsAsSequence + std::string(R"(
    {"class_name": "LSTM", "config": {"name": "lstm", "units": 8, "activation": "relu"}},)"),
                    "--epochs 15 --lr 1e-2");
  ASSERT_EQ(Run("qat " + dir_ + "/lstm_relu.keras --data " + dir_ + "/tiny.npz --epochs 1 " +
                    "--batch-size 16 --lr 1e-4 -o " + dir_ + "/lstm_relu_qat.tflite",
                &log),
            0)
      << log;
  EXPECT_NE(log.find("unrolled over time"), std::string::npos) << log;
  ASSERT_EQ(Run("ir " + dir_ + "/lstm_relu_qat.tflite", &log), 0) << log;
  EXPECT_EQ(log.find("UNIDIRECTIONAL_SEQUENCE_LSTM"), std::string::npos) << log;
  EXPECT_EQ(Occurrences(log, "QUANTIZE("), 2u) << log;  // at the edges only
  const std::string unrolled = dir_ + "/lstm_unrolled_int8.tflite";
  ASSERT_EQ(Run("quantize " + dir_ + "/lstm.keras --mode int8 --unroll-lstm --calibration " + dir_ +
                    "/tiny.npz --quiet -o " + unrolled,
                &log),
            0)
      << log;
  ASSERT_EQ(Run("ir " + unrolled, &log), 0) << log;
  EXPECT_EQ(log.find("UNIDIRECTIONAL_SEQUENCE_LSTM"), std::string::npos) << log;
  EXPECT_EQ(log.find("float32[1,16]"), std::string::npos) << log;  // no float state or gate
  // Unrolling needs the Keras layers: a .tflite is refused, with no output.
  EXPECT_EQ(Run("quantize " + dir_ + "/lstm.tflite --mode int8 --unroll-lstm --calibration " +
                    dir_ + "/tiny.npz --quiet -o " + dir_ + "/refused.tflite",
                &log),
            1);
  EXPECT_NE(log.find("needs a Keras model"), std::string::npos) << log;
  EXPECT_FALSE(FileExists(dir_ + "/refused.tflite"));
  // Dynamic range: the gate weights in int8 (TFLite's hybrid LSTM), which the official runtime
  // computes as edgeopt does.
  const std::string dr = dir_ + "/lstm_dr.tflite";
  ASSERT_EQ(Run("quantize " + dir_ + "/lstm.keras --mode dynamic --quiet -o " + dr, &log), 0)
      << log;
  ASSERT_EQ(Run("ir " + dr, &log), 0) << log;
  EXPECT_NE(log.find("asymmetric_quantize_inputs=true"), std::string::npos) << log;
  const size_t int8_weights = Occurrences(log, "int8[16,");
  EXPECT_EQ(int8_weights, 8u) << log;  // 4 input and 4 recurrent gate weights
  EXPECT_EQ(testing::RunConformance("--seeds 2 " + dr, &conf), 0) << conf;
}

// With Keras' unroll=True an LSTM is unrolled over time like a GRU, so QAT takes it to a
// full-integer file; a Bidirectional LSTM (both directions unrolled) trains and exports too.
TEST_F(TrainCliTest, UnrolledAndBidirectionalLstmTrainAndQuantizeAware) {
  std::string train_line = TrainArchitecture("lstm_u", kRowsAsSequence + std::string(R"(
    {"class_name": "LSTM", "config": {"name": "lstm", "units": 16, "unroll": true}},)"),
                                             "--epochs 15 --lr 1e-2");
  ExpectFineTuningStartsFromTheSavedWeights("lstm_u", train_line);
  const std::string out = ExpectExportEvaluatesAsTrained("lstm_u", train_line);
  EXPECT_EQ(out.find("UNIDIRECTIONAL_SEQUENCE_LSTM"), std::string::npos) << out;
  ExpectQatFullInteger("lstm_u", 0.9);
  train_line = TrainArchitecture("bilstm", kRowsAsSequence + std::string(R"(
    {"class_name": "Bidirectional", "config": {"name": "bi", "layer": {"class_name": "LSTM",
     "config": {"name": "lstm", "units": 8}}}},)"),
                                 "--epochs 10 --lr 1e-2");
  ExpectFineTuningStartsFromTheSavedWeights("bilstm", train_line);
  ExpectExportEvaluatesAsTrained("bilstm", train_line);
}

// A Keras Embedding trains (its table learns: the label is whether an id below 5 occurs twice),
// saves, and the exported .tflite (CAST + GATHER) evaluates as the training engine does; QAT
// takes it to int8 (the ids stay float into the CAST, the table int8 in the GATHER), the file
// agreeing with the fake-quant model and with TFLite 2.9.
TEST_F(TrainCliTest, EmbeddingTrainsAndExports) {
  NpyArray x, y;
  x.dtype = DType::kFloat32;
  x.shape = {256, 8};
  x.data.resize(256 * 8 * 4);
  y.dtype = DType::kInt32;
  y.shape = {256};
  y.data.resize(256 * 4);
  train::SplitMix64 rng(11);
  for (int i = 0; i < 256; ++i) {
    int small = 0;
    for (int t = 0; t < 8; ++t) {
      const int id = static_cast<int>(rng.Below(20));
      small += id < 5;
      x.Data<float>()[i * 8 + t] = static_cast<float>(id);
    }
    y.Data<int32_t>()[i] = small >= 2 ? 1 : 0;
  }
  ASSERT_TRUE(WriteNpz(dir_ + "/ids.npz", {{"x", x}, {"y", y}}).ok());
  const std::string arch = R"({"class_name": "Sequential", "config": {"name": "tok", "layers": [
    {"class_name": "InputLayer", "config": {"name": "ids", "batch_input_shape": [null, 8]}},
    {"class_name": "Embedding", "config": {"name": "emb", "input_dim": 20, "output_dim": 8}},
    {"class_name": "GlobalAveragePooling1D", "config": {"name": "gap"}},
    {"class_name": "Dense", "config": {"name": "out", "units": 2}}]}})";
  ASSERT_TRUE(
      WriteFileAtomic(dir_ + "/tok.json", std::vector<uint8_t>(arch.begin(), arch.end())).ok());
  std::string out;
  const std::string keras = dir_ + "/tok.keras";
  ASSERT_EQ(Run("train " + dir_ + "/tok.json --data " + dir_ + "/ids.npz --test-data " + dir_ +
                    "/ids.npz --epochs 20 --lr 1e-2 --quiet -o " + keras,
                &out),
            0)
      << out;
  const std::string train_line = out.substr(out.rfind("accuracy="));
  EXPECT_GT(testing::ParseMetric(out, "accuracy"), 0.9) << out;  // the majority class is < 0.7
  const std::string model = dir_ + "/tok.tflite";
  ASSERT_EQ(Run("convert " + keras + " -o " + model, &out), 0) << out;
  EXPECT_NE(out.find("GATHER"), std::string::npos) << out;
  ASSERT_EQ(Run("eval " + model + " --data " + dir_ + "/ids.npz --quiet", &out), 0) << out;
  EXPECT_EQ(out.substr(out.rfind("accuracy=")).substr(0, 15), train_line.substr(0, 15)) << out;
  const std::string qat = dir_ + "/tok_qat.tflite";
  ASSERT_EQ(Run("qat " + keras + " --data " + dir_ + "/ids.npz --test-data " + dir_ +
                    "/ids.npz --epochs 2 --batch-size 16 --lr 1e-3 --quiet -o " + qat,
                &out),
            0)
      << out;
  EXPECT_GE(testing::ParseMetric(out, "agreement"), 0.99) << out;
  EXPECT_GT(testing::ParseMetric(out, "accuracy"), 0.9) << out;
  ASSERT_EQ(Run("ir " + qat, &out), 0) << out;
  // One conversion (the logits' DEQUANTIZE): nothing quantizes the ids.
  const size_t conversions = Occurrences(out, "QUANTIZE(");
  EXPECT_EQ(conversions, 1u) << out;
  EXPECT_NE(out.find("CAST("), std::string::npos) << out;
  EXPECT_NE(out.find("GATHER("), std::string::npos) << out;
  std::string conf;
  EXPECT_EQ(testing::RunConformance("--seeds 2 --max-lsb 0 " + qat, &conf), 0) << conf;
  EXPECT_NE(conf.find("1 passed, 0 failed, 0 skipped"), std::string::npos) << conf;
}

}  // namespace
}  // namespace edgeopt
