// `edgeopt distill` end to end (cheap: a subset of Fashion-MNIST, two epochs): the table, the
// width-scaled student's size, --alpha 1 as the labels-only baseline with identical settings,
// .keras and .tflite teachers, outputs, errors.
#include <gtest/gtest.h>

#include <cstdio>
#include <cstring>
#include <string>

#include "src/data/dataset.h"
#include "src/util/file_util.h"
#include "src/util/npy.h"
#include "tests/e2e/weights_util.h"
#include "tests/test_util.h"

namespace edgeopt {
namespace testing {
namespace {

constexpr int kTrainSamples = 4000;
constexpr int kTestSamples = 2000;

class DistillE2eTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!FileExists(data::FashionMnistDir() + "/t10k-images-idx3-ubyte.gz")) {
      GTEST_SKIP() << "dataset-fashion-mnist is not installed";
    }
    teacher_ = TrainedFmnistBaseline(1);
    ASSERT_FALSE(teacher_.empty());
    dir_ = MakeTempDir("distill_e2e");
    train_ = FmnistSubset(dir_, "train", kTrainSamples);
    test_ = FmnistSubset(dir_, "test", kTestSamples);
    ASSERT_FALSE(train_.empty() || test_.empty());
  }
  void TearDown() override {
    if (!dir_.empty()) RunCommand("rm -rf '" + dir_ + "'");
  }
  int Distill(const std::string& args, std::string* log) {
    return RunCommand(EdgeoptBinary() + " distill --data " + train_ + " --test-data " + test_ +
                          " --epochs 2 --batch-size 64 --threads 2 --seed 3 " + args + " 2>&1",
                      log);
  }
  std::string teacher_, dir_, train_, test_;
};

TEST_F(DistillE2eTest, WidthScaledStudentTableAndTheLabelsOnlyBaseline) {
  std::string log;
  const std::string out = dir_ + "/student.keras";
  ASSERT_EQ(Distill("--teacher " + teacher_ +
                        " --student-width 0.25 --temperature 4 --alpha 0.1 --compare-scratch "
                        "--quiet -o " +
                        out,
                    &log),
            0)
      << log;
  std::printf("%s", log.c_str());
  // The table: teacher, student alone, distilled student.
  EXPECT_NE(log.find("teacher "), std::string::npos) << log;
  EXPECT_NE(log.find("student alone (labels only)"), std::string::npos) << log;
  EXPECT_NE(log.find("student distilled (T=4, alpha=0.1)"), std::string::npos) << log;
  EXPECT_NE(log.find("225034"), std::string::npos) << log;  // the teacher's weights
  EXPECT_NE(log.find("14410"), std::string::npos) << log;   // the width-0.25 student's
  EXPECT_NE(log.find("1/15.6"), std::string::npos) << log;
  const double teacher = ParseMetric(log, "teacher_accuracy");
  const double alone = ParseMetric(log, "alone_accuracy");
  const double distilled = ParseMetric(log, "distilled_accuracy");
  EXPECT_GT(teacher, 0.8);
  EXPECT_GT(alone, 0.6);
  EXPECT_GT(distilled, 0.6);
  EXPECT_EQ(ParseMetric(log, "accuracy"), distilled);
  EXPECT_TRUE(FileExists(out));
  // The student file evaluates to the same accuracy.
  std::string eval;
  ASSERT_EQ(RunCommand(EdgeoptBinary() + " eval " + out + " --data " + test_ + " --quiet", &eval),
            0)
      << eval;
  EXPECT_NEAR(ParseMetric(eval, "accuracy"), distilled, 1e-4) << eval;

  // --alpha 1: the same student on labels alone, identical settings: the same result as the
  // labels-only run of --compare-scratch.
  ASSERT_EQ(Distill("--teacher " + teacher_ + " --student-width 0.25 --alpha 1 --quiet", &log), 0)
      << log;
  EXPECT_EQ(ParseMetric(log, "alone_accuracy"), alone) << log;
  EXPECT_EQ(log.find("student distilled"), std::string::npos) << log;
}

TEST_F(DistillE2eTest, TfliteTeacherPresetStudentAndErrors) {
  std::string log;
  const std::string tfl = dir_ + "/teacher.tflite";
  ASSERT_EQ(RunCommand(EdgeoptBinary() + " convert " + teacher_ + " -o " + tfl, &log), 0) << log;
  // A student from a Keras file (here: a width-0.25 student trained on the labels, which
  // --alpha 1 saves), distilled from a float .tflite teacher (run by the runtime).
  ASSERT_EQ(Distill("--teacher " + teacher_ + " --student-width 0.25 --alpha 1 --quiet -o " + dir_ +
                        "/init.keras",
                    &log),
            0)
      << log;
  ASSERT_EQ(Distill("--teacher " + tfl + " --student " + dir_ +
                        "/init.keras --alpha 0.5 "
                        "--temperature 2 --quiet -o " +
                        dir_ + "/s.tflite",
                    &log),
            0)
      << log;
  EXPECT_GT(ParseMetric(log, "distilled_accuracy"), 0.6) << log;
  EXPECT_TRUE(FileExists(dir_ + "/s.tflite"));
  // --student-width needs a Keras teacher; exactly one student source; alpha in [0, 1].
  EXPECT_EQ(Distill("--teacher " + tfl + " --student-width 0.5 --quiet", &log), 1);
  EXPECT_NE(log.find("Keras teacher"), std::string::npos) << log;
  EXPECT_EQ(
      Distill("--teacher " + teacher_ + " --student-width 0.5 --student-preset fmnist-cnn", &log),
      2);
  EXPECT_EQ(Distill("--teacher " + teacher_ + " --student-width 0.5 --alpha 1.5 --quiet", &log), 1);
  EXPECT_NE(log.find("--alpha"), std::string::npos) << log;
  EXPECT_EQ(Distill("--teacher " + dir_ + "/none.keras --student-width 0.5 --quiet", &log), 1);
  EXPECT_NE(log.find("no such file"), std::string::npos) << log;
}

}  // namespace
}  // namespace testing
}  // namespace edgeopt
