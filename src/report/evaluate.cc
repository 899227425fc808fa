#include "src/report/evaluate.h"

#include <algorithm>
#include <cmath>
#include <cstring>

#include "src/report/progress.h"
#include "src/train/loss.h"

namespace edgeopt {
namespace report {
namespace {

template <typename T>
void QuantizeInto(const float* x, int64_t n, float scale, int32_t zero_point, int lo, int hi,
                  T* out) {
  for (int64_t i = 0; i < n; ++i) {
    const long q = std::lround(x[i] / scale) + zero_point;
    out[i] = static_cast<T>(std::min<long>(hi, std::max<long>(lo, q)));
  }
}

// Rows that look like probabilities (non-negative, summing to ~1): a softmax output.
bool LooksLikeProbabilities(const std::vector<float>& scores, int64_t rows, int classes) {
  for (int64_t r = 0; r < rows; ++r) {
    double sum = 0.0;
    for (int c = 0; c < classes; ++c) {
      const float v = scores[r * classes + c];
      if (v < 0.0f || v > 1.0f) return false;
      sum += v;
    }
    if (std::fabs(sum - 1.0) > 0.05) return false;
  }
  return true;
}

struct Geometry {
  rt::Tensor* in;
  const rt::Tensor* out;
  int batch;
  int64_t per_sample;
  int classes;
  bool index;  // one int32 / int64 per sample: the class itself (a model ending in argmax)
  // One value per sample (a binary classifier): class 1 above this, 0.5 for probabilities (the
  // output of a LOGISTIC), 0 for logits.
  float threshold;
};

// Whether the tensor is a LOGISTIC's output, through the QUANTIZE / DEQUANTIZE / RESHAPE that
// quantization and conversion put after it.
bool ProducedByLogistic(const rt::Interpreter& interp, int tensor) {
  for (int hops = 0; hops < 4; ++hops) {
    int producer = -1;
    for (int i = 0; i < interp.num_nodes() && producer < 0; ++i) {
      const rt::Node& n = interp.node(i);
      for (int o = 0; o < n.num_outputs; ++o) {
        if (n.outputs[o] == tensor) producer = i;
      }
    }
    if (producer < 0) return false;
    const rt::Node& n = interp.node(producer);
    switch (n.op) {
      case tflite::BuiltinOperator::LOGISTIC:
        return true;
      case tflite::BuiltinOperator::DEQUANTIZE:
      case tflite::BuiltinOperator::QUANTIZE:
      case tflite::BuiltinOperator::RESHAPE:
        if (n.num_inputs < 1) return false;
        tensor = n.inputs[0];
        break;
      default:
        return false;
    }
  }
  return false;
}

// The class a row of scores predicts: the output itself for a model that ends in argmax, else
// its arg-max (a binary classifier's: above the threshold).
int32_t ClassOf(const Geometry& g, const float* row) {
  return g.index ? static_cast<int32_t>(row[0])
                 : train::PredictedClass(row, g.classes, g.threshold);
}

StatusOr<Geometry> CheckGeometry(rt::Interpreter* interp, const data::Dataset& ds) {
  EDGEOPT_ENSURE(interp->num_inputs() == 1 && interp->num_outputs() >= 1, StatusCode::kUnsupported,
                 "evaluation needs a model with one input (this has %d)", interp->num_inputs());
  Geometry g;
  g.in = interp->input_tensor(0);
  g.out = interp->output_tensor(0);
  EDGEOPT_ENSURE(g.in->dims.size >= 1, StatusCode::kUnsupported, "the input is a scalar");
  g.batch = std::max(1, g.in->dims[0]);
  g.per_sample = g.in->dims.NumElements() / g.batch;
  EDGEOPT_ENSURE(g.per_sample == ds.sample_size(), StatusCode::kInvalidArgument,
                 "the model's input holds %lld values per sample, %s has %lld",
                 static_cast<long long>(g.per_sample), ds.name.c_str(),
                 static_cast<long long>(ds.sample_size()));
  const int64_t out_per = g.out->dims.NumElements() / g.batch;
  EDGEOPT_ENSURE(out_per > 0 && out_per < (int64_t{1} << 30), StatusCode::kInvalidArgument,
                 "the output has %lld values per sample", static_cast<long long>(out_per));
  g.classes = static_cast<int>(out_per);
  g.index = out_per == 1 && (g.out->type == DType::kInt32 || g.out->type == DType::kInt64);
  g.threshold = ProducedByLogistic(*interp, interp->output_index(0)) ? 0.5f : 0.0f;
  return g;
}

}  // namespace

Status WriteFloatInput(rt::Tensor* t, const float* x, int64_t n) {
  EDGEOPT_ENSURE(n <= t->dims.NumElements(), StatusCode::kInternal, "input too small");
  switch (t->type) {
    case DType::kFloat32:
      std::memcpy(t->data, x, sizeof(float) * n);
      return Status::Ok();
    case DType::kInt8:
    case DType::kUInt8:
    case DType::kInt16: {
      const float scale = t->quant.scale;
      EDGEOPT_ENSURE(scale > 0, StatusCode::kInvalidModel,
                     "input %s is %s without a quantization scale", t->name, DTypeName(t->type));
      if (t->type == DType::kInt8) {
        QuantizeInto(x, n, scale, t->quant.zero_point, -128, 127, t->Data<int8_t>());
      } else if (t->type == DType::kUInt8) {
        QuantizeInto(x, n, scale, t->quant.zero_point, 0, 255, t->Data<uint8_t>());
      } else {
        QuantizeInto(x, n, scale, t->quant.zero_point, -32768, 32767, t->Data<int16_t>());
      }
      return Status::Ok();
    }
    default:
      return MakeStatus(StatusCode::kUnsupported,
                        "input %s is %s; float32, int8, uint8 or int16 inputs can be fed", t->name,
                        DTypeName(t->type));
  }
}

Status ReadFloatOutput(const rt::Tensor* t, float* out, int64_t n) {
  const float s = t->quant.scale;
  const int32_t z = t->quant.zero_point;
  switch (t->type) {
    case DType::kFloat32:
      std::memcpy(out, t->data, sizeof(float) * n);
      return Status::Ok();
    case DType::kInt8:
      for (int64_t i = 0; i < n; ++i) out[i] = s * (t->Data<int8_t>()[i] - z);
      return Status::Ok();
    case DType::kUInt8:
      for (int64_t i = 0; i < n; ++i) out[i] = s * (t->Data<uint8_t>()[i] - z);
      return Status::Ok();
    case DType::kInt16:
      for (int64_t i = 0; i < n; ++i) out[i] = s * (t->Data<int16_t>()[i] - z);
      return Status::Ok();
    case DType::kInt32:  // indices (argmax): the values
      for (int64_t i = 0; i < n; ++i) out[i] = static_cast<float>(t->Data<int32_t>()[i]);
      return Status::Ok();
    case DType::kInt64:
      for (int64_t i = 0; i < n; ++i) out[i] = static_cast<float>(t->Data<int64_t>()[i]);
      return Status::Ok();
    default:
      return MakeStatus(StatusCode::kUnsupported, "output %s is %s", t->name, DTypeName(t->type));
  }
}

namespace {

// Runs samples [start, start + n) of `ds` (n <= g.batch; the rest of the batch zeros, from
// `xbuf`) and reads the g.batch x g.classes scores.
Status RunBatch(rt::Interpreter* interp, const Geometry& g, const data::Dataset& ds, int64_t start,
                int n, std::vector<float>* xbuf, std::vector<float>* scores) {
  std::memcpy(xbuf->data(), ds.x.data() + start * g.per_sample, sizeof(float) * n * g.per_sample);
  EDGEOPT_RETURN_IF_ERROR(WriteFloatInput(g.in, xbuf->data(), g.batch * g.per_sample));
  // Samples are independent sequences: an LSTM's variable state starts from zero for each, as in
  // Keras' stateless layers (TFLite keeps it across invocations otherwise).
  interp->ResetVariables();
  EDGEOPT_RETURN_IF_ERROR(interp->Invoke());
  return ReadFloatOutput(g.out, scores->data(), static_cast<int64_t>(g.batch) * g.classes);
}

}  // namespace

StatusOr<train::EvalResult> EvaluateTflite(rt::Interpreter* interp, const data::Dataset& ds,
                                           const EvalOptions& options) {
  EDGEOPT_ASSIGN_OR_RETURN(Geometry g, CheckGeometry(interp, ds));
  EDGEOPT_ENSURE(ds.has_labels(), StatusCode::kInvalidArgument,
                 "%s has no class labels to evaluate against", ds.name.c_str());
  // One value per sample for two classes: a binary classifier (binary cross-entropy).
  const bool binary = !g.index && g.classes == 1 && ds.num_classes <= 2;
  EDGEOPT_ENSURE(g.index || binary || g.classes >= ds.num_classes, StatusCode::kInvalidArgument,
                 "the output has %d values per sample for %d classes", g.classes, ds.num_classes);
  std::vector<float> targets;
  const int64_t total = options.limit >= 0 ? std::min(options.limit, ds.size) : ds.size;
  std::vector<float> scores(static_cast<size_t>(g.batch) * g.classes);
  std::vector<float> xbuf(static_cast<size_t>(g.batch * g.per_sample), 0.0f);
  train::EvalResult r;
  r.correct = 0;
  double loss_sum = 0.0;
  int probs = -1;  // decided on the first batch
  ProgressBar bar(options.label, (total + g.batch - 1) / g.batch, options.progress);
  for (int64_t start = 0; start < total; start += g.batch) {
    const int n = static_cast<int>(std::min<int64_t>(g.batch, total - start));
    EDGEOPT_RETURN_IF_ERROR(RunBatch(interp, g, ds, start, n, &xbuf, &scores));
    const int32_t* labels = ds.labels.data() + start;
    // Accuracy from the predicted classes (the output itself for a model that ends in argmax).
    for (int i = 0; i < n; ++i) {
      const int32_t p = ClassOf(g, scores.data() + static_cast<size_t>(i) * g.classes);
      r.predicted.push_back(p);
      r.correct += p == labels[i];
    }
    if (binary) {
      targets.assign(labels, labels + n);
      loss_sum +=
          n * (g.threshold > 0.0f
                   ? train::BinaryCrossEntropyFromProbs(scores.data(), targets.data(), n, nullptr)
                   : train::SigmoidBinaryCrossEntropy(scores.data(), targets.data(), n, nullptr));
    } else if (!g.index) {  // (an index output has no loss)
      if (probs < 0) probs = LooksLikeProbabilities(scores, n, g.classes) ? 1 : 0;
      loss_sum +=
          n *
          (probs == 1
               ? train::SparseCrossEntropyFromProbs(scores.data(), labels, n, g.classes, nullptr)
               : train::SparseSoftmaxCrossEntropy(scores.data(), labels, n, g.classes, nullptr));
      if (g.classes > 5) {
        r.top5_correct = std::max<int64_t>(r.top5_correct, 0) +
                         train::CountTopK(scores.data(), labels, n, g.classes, 5);
      }
    }
    r.samples += n;
    bar.Update(start / g.batch + 1, r.samples, "");
  }
  bar.Finish();
  r.loss = g.index ? std::nan("") : r.samples > 0 ? loss_sum / r.samples : 0.0;
  r.accuracy = r.samples > 0 ? static_cast<double>(r.correct) / r.samples : 0.0;
  return r;
}

StatusOr<train::EvalResult> EvaluateTfliteBytes(const std::vector<uint8_t>& model,
                                                const data::Dataset& ds,
                                                const EvalOptions& options) {
  rt::InterpreterOptions io;
  io.num_threads = options.threads;
  EDGEOPT_ASSIGN_OR_RETURN(auto interp, rt::Interpreter::Create(model.data(), model.size(), io));
  return EvaluateTflite(interp.get(), ds, options);
}

StatusOr<std::vector<int>> PredictTflite(rt::Interpreter* interp, const data::Dataset& ds,
                                         int64_t limit) {
  EDGEOPT_ASSIGN_OR_RETURN(Geometry g, CheckGeometry(interp, ds));
  const int64_t total = limit >= 0 ? std::min(limit, ds.size) : ds.size;
  std::vector<float> scores(static_cast<size_t>(g.batch) * g.classes);
  std::vector<float> xbuf(static_cast<size_t>(g.batch * g.per_sample), 0.0f);
  std::vector<int> predictions;
  predictions.reserve(static_cast<size_t>(total));
  for (int64_t start = 0; start < total; start += g.batch) {
    const int n = static_cast<int>(std::min<int64_t>(g.batch, total - start));
    EDGEOPT_RETURN_IF_ERROR(RunBatch(interp, g, ds, start, n, &xbuf, &scores));
    for (int r = 0; r < n; ++r) {
      const float* row = scores.data() + static_cast<size_t>(r) * g.classes;
      predictions.push_back(ClassOf(g, row));
    }
  }
  return predictions;
}

}  // namespace report
}  // namespace edgeopt
