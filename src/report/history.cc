#include "src/report/history.h"

#include <cstdio>

#include "src/report/plot.h"

namespace edgeopt {
namespace report {
namespace {

std::string Num(const char* f, double v, bool present) {
  if (!present) return "";
  char b[48];
  std::snprintf(b, sizeof(b), f, v);
  return b;
}

}  // namespace

void TrainingHistory::AddBatch(const train::BatchStats& b) {
  if (b.epoch != epoch_) {
    epoch_ = b.epoch;
    prev_mean_ = 0;
    prev_samples_ = 0;
  }
  const int64_t n = b.samples - prev_samples_;
  const double loss =
      n > 0 ? (b.loss * static_cast<double>(b.samples) - prev_mean_ * prev_samples_) / n : b.loss;
  prev_mean_ = b.loss;
  prev_samples_ = b.samples;
  smoothed_ = started_ ? 0.9 * smoothed_ + 0.1 * loss : loss;
  started_ = true;
  if (step_++ % stride_ != 0) return;
  step_x_.push_back(b.epoch + static_cast<double>(b.batch + 1) /
                                  static_cast<double>(b.num_batches > 0 ? b.num_batches : 1));
  step_loss_.push_back(smoothed_);
  if (step_x_.size() >= kMaxSteps) {
    size_t kept = 0;
    for (size_t i = 0; i < step_x_.size(); i += 2, ++kept) {
      step_x_[kept] = step_x_[i];
      step_loss_[kept] = step_loss_[i];
    }
    step_x_.resize(kept);
    step_loss_.resize(kept);
    stride_ *= 2;
  }
}

std::string TrainingHistory::Csv() const {
  std::string s =
      "epoch,loss,accuracy,val_loss,val_accuracy,learning_rate,seconds,images_per_second\n";
  for (const train::EpochStats& e : epochs_) {
    s += std::to_string(e.epoch + 1) + "," + Num("%.6g", e.loss, true) + "," +
         Num("%.6g", e.accuracy, e.accuracy >= 0) + "," + Num("%.6g", e.val_loss, e.val_loss >= 0) +
         "," + Num("%.6g", e.val_accuracy, e.val_accuracy >= 0) + "," +
         Num("%.6g", e.learning_rate, true) + "," + Num("%.3f", e.seconds, true) + "," +
         Num("%.1f", e.images_per_second, true) + "\n";
  }
  return s;
}

Status TrainingHistory::WritePlot(const std::string& png_path) const {
  // Training in blues, validation in orange, in both panels.
  LinePanel loss{"Loss", "epoch", "loss", {}, "top right"};
  loss.curves.push_back({"training (steps, smoothed)", step_x_, step_loss_, false, "#8fb3e8"});
  Curve epoch_loss{"training (epoch mean)", {}, {}, true, "#1f5fbf"};
  Curve val_loss{"validation", {}, {}, true, "#e07b24"};
  LinePanel accuracy{"Accuracy", "epoch", "accuracy", {}, "bottom right"};
  Curve acc{"training", {}, {}, true, "#1f5fbf"};
  Curve val_acc{"validation", {}, {}, true, "#e07b24"};
  for (const train::EpochStats& e : epochs_) {
    const double x = e.epoch + 1;
    epoch_loss.x.push_back(x);
    epoch_loss.y.push_back(e.loss);
    if (e.val_loss >= 0) {
      val_loss.x.push_back(x);
      val_loss.y.push_back(e.val_loss);
    }
    if (e.accuracy >= 0) {
      acc.x.push_back(x);
      acc.y.push_back(e.accuracy);
    }
    if (e.val_accuracy >= 0) {
      val_acc.x.push_back(x);
      val_acc.y.push_back(e.val_accuracy);
    }
  }
  loss.curves.push_back(epoch_loss);
  if (!val_loss.x.empty()) loss.curves.push_back(val_loss);
  std::vector<LinePanel> panels = {loss};
  if (!acc.x.empty()) {
    accuracy.curves.push_back(acc);
    if (!val_acc.x.empty()) accuracy.curves.push_back(val_acc);
    panels.push_back(accuracy);
  }
  return WriteLinePanels(png_path, panels);
}

}  // namespace report
}  // namespace edgeopt
