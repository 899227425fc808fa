// edgeopt eval MODEL --data SPEC [--batch-size N] [--threads N] [--quiet]
//
// Top-1 accuracy and loss of a model on a labeled data set. MODEL is a .tflite
// file (run by edgeopt's runtime, batch 1 or the model's own batch size;
// int8/uint8 inputs are quantized and outputs dequantized with the tensors'
// parameters) or a Keras .keras/.h5 file (run by the training engine in
// inference mode). The last line is machine-readable:
//   accuracy=0.9123 loss=0.2512 samples=10000
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "CLI/CLI.hpp"
#include "src/data/dataset.h"
#include "src/report/progress.h"
#include "src/train/engine.h"
#include "src/train/loss.h"
#include "src/train/trainer.h"
#include "src/util/file_util.h"
#include "tools/cli/cli_util.h"
#include "tools/cli/commands.h"
#include "tools/cli/train_flags.h"
#include "tools/cli/train_model_io.h"

namespace edgeopt {
namespace cli {
namespace {

Status WriteInput(rt::Tensor* t, const float* x, int64_t n) {
  switch (t->type) {
    case DType::kFloat32:
      std::memcpy(t->data, x, sizeof(float) * n);
      return Status::Ok();
    case DType::kInt8:
    case DType::kUInt8: {
      const float scale = t->quant.scale;
      EDGEOPT_ENSURE(scale > 0, StatusCode::kInvalidModel,
                     "input %s is %s without a quantization scale", t->name, DTypeName(t->type));
      const int lo = t->type == DType::kInt8 ? -128 : 0;
      const int hi = t->type == DType::kInt8 ? 127 : 255;
      for (int64_t i = 0; i < n; ++i) {
        const long q = std::lround(x[i] / scale) + t->quant.zero_point;
        const int v = static_cast<int>(std::min<long>(hi, std::max<long>(lo, q)));
        if (t->type == DType::kInt8) {
          reinterpret_cast<int8_t*>(t->data)[i] = static_cast<int8_t>(v);
        } else {
          t->data[i] = static_cast<uint8_t>(v);
        }
      }
      return Status::Ok();
    }
    default:
      return MakeStatus(StatusCode::kUnsupported, "input %s is %s; eval feeds float32/int8/uint8",
                        t->name, DTypeName(t->type));
  }
}

Status ReadOutput(const rt::Tensor* t, float* out, int64_t n) {
  switch (t->type) {
    case DType::kFloat32:
      std::memcpy(out, t->data, sizeof(float) * n);
      return Status::Ok();
    case DType::kInt8:
      for (int64_t i = 0; i < n; ++i) {
        out[i] =
            t->quant.scale * (reinterpret_cast<const int8_t*>(t->data)[i] - t->quant.zero_point);
      }
      return Status::Ok();
    case DType::kUInt8:
      for (int64_t i = 0; i < n; ++i) out[i] = t->quant.scale * (t->data[i] - t->quant.zero_point);
      return Status::Ok();
    default:
      return MakeStatus(StatusCode::kUnsupported, "output %s is %s", t->name, DTypeName(t->type));
  }
}

// Rows that look like probabilities (non-negative, summing to ~1): a softmax
// output.
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

StatusOr<train::EvalResult> EvalTflite(const std::string& path, const data::Dataset& ds,
                                       int threads, bool quiet) {
  rt::InterpreterOptions options;
  options.num_threads = threads;
  EDGEOPT_ASSIGN_OR_RETURN(LoadedModel loaded, LoadTflite(path, options));
  rt::Interpreter* interp = loaded.interpreter.get();
  EDGEOPT_ENSURE(interp->num_inputs() == 1 && interp->num_outputs() >= 1, StatusCode::kUnsupported,
                 "%s: eval needs one input (the model has %d)", path.c_str(), interp->num_inputs());
  rt::Tensor* in = interp->input_tensor(0);
  const rt::Tensor* out = interp->output_tensor(0);
  EDGEOPT_ENSURE(in->dims.size >= 1, StatusCode::kUnsupported, "%s: scalar input", path.c_str());
  const int batch = std::max(1, in->dims[0]);
  const int64_t per_sample = in->dims.NumElements() / batch;
  EDGEOPT_ENSURE(per_sample == ds.sample_size(), StatusCode::kInvalidArgument,
                 "%s: input %s holds %lld values per sample, %s has %lld (shape %s)", path.c_str(),
                 DimsString(in->dims).c_str(), static_cast<long long>(per_sample), ds.name.c_str(),
                 static_cast<long long>(ds.sample_size()),
                 train::ShapeString(ds.sample_shape).c_str());
  const int64_t out_per = out->dims.NumElements() / batch;
  EDGEOPT_ENSURE(ds.has_labels(), StatusCode::kInvalidArgument,
                 "%s has no class labels to evaluate against", ds.name.c_str());
  EDGEOPT_ENSURE(out_per >= ds.num_classes && out_per > 0, StatusCode::kInvalidArgument,
                 "%s: the output has %lld values per sample for %d classes", path.c_str(),
                 static_cast<long long>(out_per), ds.num_classes);
  const int classes = static_cast<int>(out_per);
  std::vector<float> scores(static_cast<size_t>(batch) * classes);
  std::vector<float> xbuf(static_cast<size_t>(batch) * per_sample, 0.0f);
  train::EvalResult r;
  double loss_sum = 0.0;
  int probs = -1;  // decided on the first batch
  report::ProgressBar bar("eval", (ds.size + batch - 1) / batch, !quiet);
  for (int64_t start = 0; start < ds.size; start += batch) {
    const int n = static_cast<int>(std::min<int64_t>(batch, ds.size - start));
    std::memcpy(xbuf.data(), ds.x.data() + start * per_sample, sizeof(float) * n * per_sample);
    EDGEOPT_RETURN_IF_ERROR(WriteInput(in, xbuf.data(), static_cast<int64_t>(batch) * per_sample));
    Status s = interp->Invoke();
    if (!s.ok()) return s.WithPrefix(path);
    EDGEOPT_RETURN_IF_ERROR(ReadOutput(out, scores.data(), static_cast<int64_t>(batch) * classes));
    if (probs < 0) probs = LooksLikeProbabilities(scores, n, classes) ? 1 : 0;
    const int32_t* labels = ds.labels.data() + start;
    loss_sum +=
        n * (probs == 1
                 ? train::SparseCrossEntropyFromProbs(scores.data(), labels, n, classes, nullptr)
                 : train::SparseSoftmaxCrossEntropy(scores.data(), labels, n, classes, nullptr));
    r.correct += train::CountCorrect(scores.data(), labels, n, classes);
    r.samples += n;
    bar.Update(start / batch + 1, r.samples, "");
  }
  bar.Finish();
  r.loss = r.samples > 0 ? loss_sum / r.samples : 0.0;
  r.accuracy = r.samples > 0 ? static_cast<double>(r.correct) / r.samples : 0.0;
  return r;
}

Status Eval(const std::string& model_path, const std::string& data_spec, int batch_size,
            int threads, bool quiet, const std::string& csv_label) {
  data::LoadOptions lo;
  lo.csv_label_column = csv_label;
  EDGEOPT_ASSIGN_OR_RETURN(data::Dataset ds, data::LoadDataset(data_spec, lo));
  train::EvalResult r;
  if (FileExtension(model_path) == ".tflite") {
    EDGEOPT_ASSIGN_OR_RETURN(r, EvalTflite(model_path, ds, threads, quiet));
  } else {
    EDGEOPT_ASSIGN_OR_RETURN(TrainModel model, LoadModelForTraining(model_path, "", 0));
    train::EngineOptions eo;
    eo.batch_size = batch_size;
    eo.num_threads = threads;
    EDGEOPT_ASSIGN_OR_RETURN(auto engine, train::Engine::Create(model.graph, eo));
    EDGEOPT_ASSIGN_OR_RETURN(r, EvaluateWithProgress(engine.get(), ds, batch_size, quiet));
  }
  if (!quiet) {
    std::printf("%s on %s: top-1 accuracy %.2f%% (%lld/%lld), loss %.4f\n", model_path.c_str(),
                ds.name.c_str(), 100.0 * r.accuracy, static_cast<long long>(r.correct),
                static_cast<long long>(r.samples), r.loss);
  }
  std::printf("%s\n", FormatEvalLine(r).c_str());
  return Status::Ok();
}

}  // namespace

int RunEval(int argc, char** argv) {
  CLI::App app{
      "Top-1 accuracy and loss of a model on a labeled data set. The last line "
      "is "
      "accuracy=A loss=L samples=N.",
      "edgeopt eval"};
  std::string model, data_spec, csv_label;
  int batch_size = 256;
  int threads = 0;
  bool quiet = false;
  app.add_option("model", model, "a .tflite, .keras or .h5 model")->required();
  app.add_option("--data", data_spec, "labeled data (see edgeopt train --help)")->required();
  app.add_option("--batch-size", batch_size,
                 "samples per pass for Keras models (default 256; .tflite uses "
                 "its own batch)");
  app.add_option("--threads", threads, "threads (default 0 = all cores)");
  app.add_flag("--quiet", quiet, "only the machine-readable line");
  app.add_option("--csv-label", csv_label, "CSV data: the label column");
  EDGEOPT_CLI_PARSE(app, argc, argv);
  if (batch_size < 1) {
    std::fprintf(stderr, "edgeopt eval: --batch-size must be at least 1\n");
    return kExitUsage;
  }
  Status s = Eval(model, data_spec, batch_size, threads, quiet, csv_label);
  if (!s.ok()) return ReportError("eval", s);
  return kExitOk;
}

}  // namespace cli
}  // namespace edgeopt
