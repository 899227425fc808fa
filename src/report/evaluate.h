// Evaluation of .tflite models on labeled data sets through the runtime: float samples are
// quantized for integer inputs and integer outputs dequantized with the tensors' parameters.
// Shared by `edgeopt eval`, `quantize` (accuracy budget, reports), `prune` and the demo.
#ifndef EDGEOPT_SRC_REPORT_EVALUATE_H_
#define EDGEOPT_SRC_REPORT_EVALUATE_H_

#include <cstdint>
#include <string>
#include <vector>

#include "src/data/dataset.h"
#include "src/runtime/interpreter.h"
#include "src/train/trainer.h"

namespace edgeopt {
namespace report {

// Writes n floats into an input tensor (float32, or quantized to int8/uint8/int16).
Status WriteFloatInput(rt::Tensor* t, const float* x, int64_t n);
// Reads n values of an output tensor as floats (dequantized when integer).
Status ReadFloatOutput(const rt::Tensor* t, float* out, int64_t n);

struct EvalOptions {
  int threads = 1;
  bool progress = false;
  int64_t limit = -1;  // evaluate only the first `limit` samples (-1: all)
  std::string label = "eval";
};

// Top-1 accuracy and loss (cross-entropy on logits or on probabilities, as the output looks).
StatusOr<train::EvalResult> EvaluateTflite(rt::Interpreter* interp, const data::Dataset& ds,
                                           const EvalOptions& options);
StatusOr<train::EvalResult> EvaluateTfliteBytes(const std::vector<uint8_t>& model,
                                                const data::Dataset& ds,
                                                const EvalOptions& options);
// Top-1 predictions for the first `limit` samples (all when -1).
StatusOr<std::vector<int>> PredictTflite(rt::Interpreter* interp, const data::Dataset& ds,
                                         int64_t limit = -1);

}  // namespace report
}  // namespace edgeopt

#endif  // EDGEOPT_SRC_REPORT_EVALUATE_H_
