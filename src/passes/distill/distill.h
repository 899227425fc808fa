// Knowledge distillation (Hinton et al. 2015): the teacher side and student construction. The
// loss itself is the Trainer's (train::Trainer::SetTeacher: alpha * CE(labels, student) +
// (1 - alpha) * T^2 * KL(softmax(teacher / T) || softmax(student / T)), on logits).
//
//  - Teacher: a Keras model (.keras / .h5, run by the train engine in inference mode) or a float
//    .tflite (run by edgeopt's runtime); a model ending in SOFTMAX gives the SOFTMAX's input.
//  - TeacherCache: the teacher's logits for a whole training set, computed once and found again
//    by sample content (batches are shuffled; augmented samples miss and run the teacher).
//  - ScaleKerasWidth: a student with the teacher's architecture and every layer's filters /
//    units scaled (--student-width).
#ifndef EDGEOPT_SRC_PASSES_DISTILL_DISTILL_H_
#define EDGEOPT_SRC_PASSES_DISTILL_DISTILL_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "include/edgeopt/status.h"
#include "nlohmann/json.hpp"
#include "src/data/dataset.h"
#include "src/ir/graph.h"
#include "src/runtime/interpreter.h"
#include "src/train/engine.h"

namespace edgeopt {
namespace distill {

class Teacher {
 public:
  // .keras / .h5 / .tflite (float). `threads` <= 0: all cores.
  static StatusOr<std::unique_ptr<Teacher>> Load(const std::string& path, int threads);

  const std::string& path() const { return path_; }
  bool from_keras() const { return engine_ != nullptr; }
  // The Keras model config (a Keras teacher only).
  const nlohmann::json& keras_config() const { return keras_config_; }
  // The float model as exported (.tflite bytes): its size and weights for reports.
  const std::vector<uint8_t>& float_tflite() const { return tflite_; }
  const ir::Graph& export_graph() const { return export_graph_; }
  int64_t input_size() const { return input_size_; }
  int64_t num_logits() const { return num_logits_; }

  // Logits for n samples at x (n * input_size floats) into out (n * num_logits floats).
  Status Logits(const float* x, int64_t n, float* out);

 private:
  Teacher() = default;
  std::string path_;
  nlohmann::json keras_config_;
  ir::Graph export_graph_;
  std::vector<uint8_t> tflite_;
  std::unique_ptr<train::Engine> engine_;  // Keras
  std::vector<uint8_t> logits_tflite_;     // .tflite: the model without its final SOFTMAX
  std::unique_ptr<rt::Interpreter> interpreter_;
  int64_t input_size_ = 0, num_logits_ = 0;
};

class TeacherCache {
 public:
  // Runs the teacher over every sample of `data` (progress(done, total) after each chunk).
  Status Build(Teacher* teacher, const data::Dataset& data,
               const std::function<void(int64_t, int64_t)>& progress = nullptr);
  // Logits for a batch of samples (a train::TeacherFn): cached rows for samples of the data set,
  // the teacher for others.
  Status Lookup(const float* x, int batch, float* logits);
  int64_t hits() const { return hits_; }
  int64_t misses() const { return misses_; }

 private:
  Teacher* teacher_ = nullptr;
  const data::Dataset* data_ = nullptr;
  std::vector<float> logits_;
  std::unordered_multimap<uint64_t, int64_t> index_;
  std::vector<int64_t> miss_rows_;
  std::vector<float> miss_x_, miss_logits_;
  int64_t hits_ = 0, misses_ = 0;
};

// 64-bit FNV-1a of a sample's bytes.
uint64_t HashSample(const float* x, int64_t n);

// The Keras model config with every layer's `filters` / `units` multiplied by `width` (rounded,
// at least 1), except the last layer that has them: the classifier keeps its outputs.
StatusOr<nlohmann::json> ScaleKerasWidth(const nlohmann::json& config, double width);

// Float weight values in a graph (every float constant): the parameter count of an exported
// model (BatchNorm folded).
int64_t CountWeights(const ir::Graph& graph);

}  // namespace distill
}  // namespace edgeopt

#endif  // EDGEOPT_SRC_PASSES_DISTILL_DISTILL_H_
