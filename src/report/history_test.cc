#include "src/report/history.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <string>

namespace edgeopt {
namespace report {
namespace {

train::BatchStats Batch(int epoch, int64_t batch, int64_t batches, int64_t samples, double mean) {
  train::BatchStats b;
  b.epoch = epoch;
  b.batch = batch;
  b.num_batches = batches;
  b.samples = samples;
  b.loss = mean;
  return b;
}

TEST(TrainingHistory, StepLossesFromRunningMeansSmoothed) {
  TrainingHistory h;
  // Batches of 4 with losses 2, 1, then a last batch of 2 with loss 0.5: running means 2,
  // 1.5, (2 * 4 + 1 * 4 + 0.5 * 2) / 10 = 1.3.
  h.AddBatch(Batch(0, 0, 3, 4, 2.0));
  h.AddBatch(Batch(0, 1, 3, 8, 1.5));
  h.AddBatch(Batch(0, 2, 3, 10, 1.3));
  // The next epoch's running mean starts again: its first batch's loss is its mean.
  h.AddBatch(Batch(1, 0, 3, 4, 0.4));
  ASSERT_EQ(h.step_x().size(), 4u);
  EXPECT_DOUBLE_EQ(h.step_x()[0], 1.0 / 3);
  EXPECT_DOUBLE_EQ(h.step_x()[2], 1.0);
  EXPECT_DOUBLE_EQ(h.step_x()[3], 1.0 + 1.0 / 3);
  const double s0 = 2.0, s1 = 0.9 * s0 + 0.1 * 1.0, s2 = 0.9 * s1 + 0.1 * 0.5,
               s3 = 0.9 * s2 + 0.1 * 0.4;
  EXPECT_DOUBLE_EQ(h.step_loss()[0], s0);
  EXPECT_NEAR(h.step_loss()[1], s1, 1e-12);
  EXPECT_NEAR(h.step_loss()[2], s2, 1e-12);
  EXPECT_NEAR(h.step_loss()[3], s3, 1e-12);
}

TEST(TrainingHistory, EachEpochsMeanStartsAfresh) {
  TrainingHistory h;
  h.AddBatch(Batch(0, 0, 1, 2, 3.0));  // one batch of 2 at loss 3
  h.AddBatch(Batch(1, 0, 2, 4, 1.0));  // a new epoch: its first batch's loss is 1
  ASSERT_EQ(h.step_loss().size(), 2u);
  EXPECT_NEAR(h.step_loss()[1], 0.9 * 3.0 + 0.1 * 1.0, 1e-12);
}

TEST(TrainingHistory, LongRunsKeepFewerStepsInOrder) {
  TrainingHistory h;
  const int64_t batches = 1000;
  for (int e = 0; e < 20; ++e) {
    for (int64_t b = 0; b < batches; ++b) h.AddBatch(Batch(e, b, batches, (b + 1) * 8, 1.0));
  }
  ASSERT_LT(h.step_x().size(), TrainingHistory::kMaxSteps);
  ASSERT_GT(h.step_x().size(), TrainingHistory::kMaxSteps / 4);
  // In order, and evenly spaced: the older steps were thinned as much as the newer ones.
  double lo = 1e9, hi = 0;
  for (size_t i = 1; i < h.step_x().size(); ++i) {
    const double d = h.step_x()[i] - h.step_x()[i - 1];
    ASSERT_GT(d, 0.0);
    lo = std::min(lo, d);
    hi = std::max(hi, d);
  }
  EXPECT_LT(hi, 1.5 * lo);
  EXPECT_DOUBLE_EQ(h.step_x().front(), 1.0 / batches);
  EXPECT_GT(h.step_x().back(), 19.9);  // up to the last epoch
}

TEST(TrainingHistory, CsvOneRowPerEpochWithEmptyMissingMetrics) {
  TrainingHistory h;
  train::EpochStats a;
  a.epoch = 0;
  a.loss = 0.5;
  a.accuracy = 0.8;
  a.val_loss = 0.45;
  a.val_accuracy = 0.825;
  a.learning_rate = 0.001f;
  a.seconds = 8.5;
  a.images_per_second = 7058.82;
  h.AddEpoch(a);
  train::EpochStats b;  // a regression run: no accuracy, no validation
  b.epoch = 1;
  b.loss = 0.125;
  b.learning_rate = 0.0005f;
  b.seconds = 8;
  b.images_per_second = 7500;
  h.AddEpoch(b);
  EXPECT_EQ(h.Csv(),
            "epoch,loss,accuracy,val_loss,val_accuracy,learning_rate,seconds,images_per_second\n"
            "1,0.5,0.8,0.45,0.825,0.001,8.500,7058.8\n"
            "2,0.125,,,,0.0005,8.000,7500.0\n");
}

}  // namespace
}  // namespace report
}  // namespace edgeopt
