// A training run's history, as Keras' History / CSVLogger keep it: one row per epoch (loss,
// accuracy, validation metrics, learning rate, time), and the loss of every step for a curve.
// `edgeopt train --history h.csv --history-plot h.png` (and prune, distill, qat) write them
// after every epoch, so an interrupted run keeps what it finished.
#ifndef EDGEOPT_SRC_REPORT_HISTORY_H_
#define EDGEOPT_SRC_REPORT_HISTORY_H_

#include <cstdint>
#include <string>
#include <vector>

#include "include/edgeopt/status.h"
#include "src/train/trainer.h"

namespace edgeopt {
namespace report {

class TrainingHistory {
 public:
  // At most this many step points are kept for the curve: past it every other one is dropped
  // (and then only every second step is recorded, and so on), so long runs stay small.
  static constexpr size_t kMaxSteps = 4096;

  // Records the loss of the batch just finished, from the epoch's running mean before and
  // after it (BatchStats.loss is a running mean over the epoch's samples).
  void AddBatch(const train::BatchStats& b);
  void AddEpoch(const train::EpochStats& e) { epochs_.push_back(e); }

  // epoch,loss,accuracy,val_loss,val_accuracy,learning_rate,seconds,images_per_second; one row
  // per epoch (epochs from 1, as Keras prints them); metrics a run does not have are empty.
  std::string Csv() const;

  // Loss of single steps at x = epoch + (batch + 1) / batches (epochs from 0), smoothed with
  // an exponential moving average (weight 0.9 on the past, as TensorBoard's default).
  const std::vector<double>& step_x() const { return step_x_; }
  const std::vector<double>& step_loss() const { return step_loss_; }
  const std::vector<train::EpochStats>& epochs() const { return epochs_; }

  // Loss (smoothed steps, and each epoch's training and validation loss) next to accuracy
  // (each epoch's training and validation accuracy) against the epoch, as a PNG (gnuplot).
  Status WritePlot(const std::string& png_path) const;

 private:
  std::vector<double> step_x_, step_loss_;
  std::vector<train::EpochStats> epochs_;
  int stride_ = 1;        // record every stride_-th step
  int64_t step_ = 0;      // steps seen
  double smoothed_ = 0;   // the moving average
  bool started_ = false;  // smoothed_ holds a value
  double prev_mean_ = 0;  // the epoch's running mean before this batch
  int64_t prev_samples_ = 0;
  int epoch_ = -1;
};

}  // namespace report
}  // namespace edgeopt

#endif  // EDGEOPT_SRC_REPORT_HISTORY_H_
