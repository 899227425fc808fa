// edgeopt qat MODEL --data DATA -o model_int8.tflite [--io float|int8|uint8] [--per-tensor]
//             [--sparse] [training flags]
//
// Quantization-aware training: MODEL (.keras, .h5 or a float .tflite) in export form (BatchNorm
// folded into its convolution) gets the fake-quant ops of src/passes/qat/qat.h, starts from the
// post-training calibration (so step 0 is the PTQ int8 model), fine-tunes with the shared
// training flags, and is written after every epoch as a full-integer .tflite through the
// post-training quantize pass with the learned ranges. Zeros of the input weights stay zero
// (prune -> qat gives a sparse int8 model).
//
// With test data (fashion-mnist:test by default for fashion-mnist) it reports the float model,
// post-training int8 (same calibration), the QAT model's own fake-quant predictions, the int8
// file, and how often the last two agree; the last line is
// "test NAME: accuracy=... loss=... samples=N" for the int8 file.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <numeric>
#include <random>
#include <string>
#include <vector>

#include "CLI/CLI.hpp"
#include "src/data/dataset.h"
#include "src/export/tflite/export.h"
#include "src/passes/cluster/cluster.h"
#include "src/passes/model_loader.h"
#include "src/passes/prune/sparse_encode.h"
#include "src/passes/qat/qat.h"
#include "src/passes/quantize/calibrate.h"
#include "src/passes/quantize/quantize.h"
#include "src/report/evaluate.h"
#include "src/report/progress.h"
#include "src/train/engine.h"
#include "src/train/trainer.h"
#include "src/util/file_util.h"
#include "tools/cli/cli_util.h"
#include "tools/cli/commands.h"
#include "tools/cli/train_flags.h"
#include "tools/cli/train_model_io.h"

namespace edgeopt {
namespace cli {
namespace {

struct QatSettings {
  std::string model, data_spec, test_spec, output, io = "float";
  bool per_tensor = false;
  bool per_channel_fc = false;
  bool sparse = false;
  int64_t calibration_samples = 500;
  int64_t test_samples = -1;
  int64_t max_samples = 0;
  double ema_decay = train::kDefaultEmaDecay;
  TrainFlags flags;
};

// A seeded random subset of n samples (every class even when the data set is sorted).
data::Dataset ShuffledSubset(const data::Dataset& ds, int64_t n, uint64_t seed) {
  std::vector<int64_t> idx(static_cast<size_t>(ds.size));
  std::iota(idx.begin(), idx.end(), 0);
  std::mt19937_64 rng(seed);
  std::shuffle(idx.begin(), idx.end(), rng);
  idx.resize(static_cast<size_t>(std::min(n, ds.size)));
  return ds.Subset(idx);
}

// Weights of the weighted ops of a graph that are exactly zero, and all of them.
void CountZeroWeights(const ir::Graph& g, int64_t* zeros, int64_t* total) {
  *zeros = 0;
  *total = 0;
  for (const ir::Node& n : g.nodes) {
    if (quantize::QuantizedOpKind(n.op) != quantize::OpQuantKind::kWeighted) continue;
    const ir::Tensor& w = g.tensors[n.inputs[quantize::WeightedInputsOf(n.op).weights]];
    if (!w.is_constant) continue;
    const int64_t count = w.NumElements();
    *total += count;
    for (int64_t i = 0; i < count; ++i) {
      if (w.dtype == DType::kInt8 ? w.DataAs<int8_t>()[i] == 0 : w.DataAs<float>()[i] == 0.0f) {
        ++*zeros;
      }
    }
  }
}

Status Qat(const QatSettings& s) {
  const auto start = std::chrono::steady_clock::now();
  EDGEOPT_ENSURE(FileExtension(s.output) == ".tflite", StatusCode::kInvalidArgument,
                 "%s: qat writes a .tflite model", s.output.c_str());
  EDGEOPT_ASSIGN_OR_RETURN(quantize::IoType io, quantize::ParseIoType(s.io));
  EDGEOPT_ENSURE(io != quantize::IoType::kInt16, StatusCode::kInvalidArgument,
                 "--io int16 needs int16x8 activations; qat writes int8");
  // A Keras LSTM stays TFLite's fused op, which int8 makes the integer LSTM, unless one of them
  // has no integer kernel (a relu cell activation): then they are unrolled over time (Keras'
  // unroll=True, the same weights) into plain ops that quantize one by one.
  EDGEOPT_ASSIGN_OR_RETURN(passes::LoadedGraph loaded, passes::LoadModelGraph(s.model));
  bool unroll = false;
  for (const ir::Node& node : loaded.graph.nodes) {
    unroll |= node.op == "UNIDIRECTIONAL_SEQUENCE_LSTM" &&
              !quantize::IntegerLstmCandidate(loaded.graph, node);
  }
  if (unroll && loaded.lstm_layers > 0) {
    EDGEOPT_ASSIGN_OR_RETURN(loaded, passes::LoadModelGraph(s.model, 1, /*unroll_lstm=*/true));
    if (!s.flags.quiet) {
      std::fprintf(stderr,
                   "qat: %s: the LSTM layers are unrolled over time (as Keras' unroll=True): "
                   "TFLite's integer LSTM takes only tanh\n",
                   s.model.c_str());
    }
  }
  EDGEOPT_RETURN_IF_ERROR(ApplyTrainableFlags(&loaded.graph, s.flags, s.model));
  EDGEOPT_ENSURE(!loaded.quantized, StatusCode::kInvalidArgument,
                 "%s is already quantized; give the float model", s.model.c_str());
  const ir::Graph& float_graph = loaded.graph;
  EDGEOPT_ASSIGN_OR_RETURN(train::TrainOptions options,
                           MakeTrainOptions(s.flags, 32, loaded.compiled_loss));
  options.augment.layers = loaded.augmentations;  // the model's own, at its input

  const TrainFlags data_flags = WithModelInput(s.flags, float_graph, s.model);
  data::Dataset train_data, validation;
  bool has_validation = false;
  EDGEOPT_RETURN_IF_ERROR(
      LoadTrainingData(s.data_spec, data_flags, &train_data, &validation, &has_validation));
  train_data = RandomSubset(train_data, s.max_samples, s.flags.seed);  // (0: all of it)
  data::Dataset test;
  const std::string test_spec = s.test_spec.empty() ? DefaultTestSpec(s.data_spec) : s.test_spec;
  if (!test_spec.empty()) {
    const data::LoadOptions lo = DataLoadOptions(data_flags);
    EDGEOPT_ASSIGN_OR_RETURN(test, data::LoadDataset(test_spec, lo));
    if (s.test_samples > 0 && s.test_samples < test.size) {
      std::vector<int64_t> first(static_cast<size_t>(s.test_samples));
      std::iota(first.begin(), first.end(), 0);
      test = test.Subset(first);
    }
  }

  // Ranges to start from: the post-training calibration.
  const data::Dataset calib = ShuffledSubset(train_data, s.calibration_samples, s.flags.seed);
  quantize::CalibrateOptions co;
  co.samples = calib.size;
  co.threads = s.flags.threads;
  auto fill = [&calib](int64_t i, rt::Interpreter* interp) -> Status {
    EDGEOPT_ENSURE(interp->num_inputs() == 1, StatusCode::kUnsupported,
                   "calibration feeds models with one input; this one has %d",
                   interp->num_inputs());
    return report::WriteFloatInput(interp->input_tensor(0), calib.sample(i % calib.size),
                                   calib.sample_size());
  };
  report::ProgressBar cbar("calibrate", co.samples, !s.flags.quiet);
  auto ranges = quantize::Calibrate(
      float_graph, fill, co, [&](int64_t done, int64_t, int, int) { cbar.Update(done, done, ""); });
  cbar.Finish();
  if (!ranges.ok()) return ranges.status().WithPrefix(s.model);

  qat::QatOptions qo;
  qo.per_channel = !s.per_tensor;
  qo.per_channel_fc = s.per_channel_fc;
  qo.ema_decay = static_cast<float>(s.ema_decay);
  auto built = qat::BuildQatModel(float_graph, qo, *ranges);
  if (!built.ok()) return built.status().WithPrefix(s.model);
  qat::QatModel model = std::move(built).value();

  // Baselines on the test set: the float model and post-training int8 from the same ranges.
  report::EvalOptions eval_options;
  eval_options.threads = s.flags.threads;
  eval_options.progress = !s.flags.quiet;
  train::EvalResult float_eval, ptq_eval;
  if (test.size > 0) {
    EDGEOPT_ASSIGN_OR_RETURN(std::vector<uint8_t> float_bytes, ExportTflite(float_graph));
    eval_options.label = "eval float";
    EDGEOPT_ASSIGN_OR_RETURN(float_eval,
                             report::EvaluateTfliteBytes(float_bytes, test, eval_options));
    quantize::QuantizeOptions ptq;
    ptq.per_channel = qo.per_channel;
    ptq.per_channel_fc = qo.per_channel_fc;
    ptq.io = io;
    EDGEOPT_ASSIGN_OR_RETURN(ir::Graph ptq_graph,
                             quantize::QuantizeGraph(float_graph, ptq, *ranges));
    EDGEOPT_ASSIGN_OR_RETURN(std::vector<uint8_t> ptq_bytes, ExportTflite(ptq_graph));
    eval_options.label = "eval post-training int8";
    EDGEOPT_ASSIGN_OR_RETURN(ptq_eval, report::EvaluateTfliteBytes(ptq_bytes, test, eval_options));
  }

  train::EngineOptions eo;
  eo.batch_size = options.batch_size;
  eo.num_threads = s.flags.threads;
  eo.seed = s.flags.seed;
  auto engine = train::Engine::Create(model.graph, eo);
  if (!engine.ok()) return engine.status().WithPrefix(s.model);
  EDGEOPT_ASSIGN_OR_RETURN(auto trainer,
                           train::Trainer::Create(engine->get(), options, train_data));
  EDGEOPT_ASSIGN_OR_RETURN(int64_t masked, qat::KeepZeroWeights(model, trainer.get()));
  // A clustered model (edgeopt cluster) stays clustered: its weights keep their shared values.
  cluster::ClusterKeeper keeper;
  EDGEOPT_ASSIGN_OR_RETURN(int clustered, keeper.Attach(trainer.get(), model.weights));
  if (!s.flags.quiet) {
    std::string kept;
    if (masked > 0) kept += ", " + std::to_string(masked) + " zero weights kept at zero";
    if (clustered > 0) {
      kept += ", " + std::to_string(clustered) + " clustered weight(s) kept on their " +
              std::to_string(keeper.max_values()) + " or fewer values";
    }
    std::printf(
        "qat %s on %s: %d weight and %d activation fake-quants (%d ranges from %lld "
        "calibration samples), %s weights, %s lr %g, batch %d%s\n",
        s.model.c_str(), train_data.name.c_str(), model.num_weight_quantizers,
        model.num_activation_quantizers, model.num_range_states, static_cast<long long>(calib.size),
        qo.per_channel ? "per-channel" : "per-tensor",
        train::OptimizerKindName(options.optimizer.kind), options.optimizer.learning_rate,
        options.batch_size, kept.c_str());
    std::fflush(stdout);
  }
  auto write = [&]() -> Status {
    EDGEOPT_RETURN_IF_ERROR((*engine)->ExportWeights(&model.graph));
    EDGEOPT_RETURN_IF_ERROR(qat::CalibrateLstmCells(&model, fill, co));
    EDGEOPT_ASSIGN_OR_RETURN(ir::Graph q, qat::ExportInt8(model, io));
    if (s.sparse) EDGEOPT_RETURN_IF_ERROR(prune::EncodeSparseWeights(&q).status());
    return WriteTfliteFile(q, s.output);
  };
  EDGEOPT_RETURN_IF_ERROR(RunTraining("qat", trainer.get(), train_data,
                                      has_validation ? &validation : nullptr, s.flags,
                                      [&](const train::EpochStats&) { return write(); }));
  if (options.epochs == 0) EDGEOPT_RETURN_IF_ERROR(write());
  EDGEOPT_ASSIGN_OR_RETURN(std::vector<uint8_t> bytes, ReadFileBytes(s.output));
  EDGEOPT_ASSIGN_OR_RETURN(ir::Graph int8_graph, qat::ExportInt8(model, io));
  int64_t zeros_in = 0, total_in = 0, zeros_out = 0, total_out = 0;
  CountZeroWeights(qat::TrainedFloatGraph(model), &zeros_in, &total_in);
  CountZeroWeights(int8_graph, &zeros_out, &total_out);
  std::printf("int8: %s -> %s, %zu bytes, weights %.1f%% zero (%lld of %lld)%s, %.1f s\n",
              s.model.c_str(), s.output.c_str(), bytes.size(),
              total_out > 0 ? 100.0 * zeros_out / total_out : 0.0,
              static_cast<long long>(zeros_out), static_cast<long long>(total_out),
              masked > 0 ? ", pruned zeros kept" : "",
              std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());

  if (test.size == 0) return Status::Ok();
  // The QAT model's own (fake-quant) predictions and the int8 file's.
  EDGEOPT_ASSIGN_OR_RETURN(
      train::EvalResult fq_eval,
      train::Evaluate(engine->get(), test, std::max(options.batch_size, 256), options.loss));
  const int64_t classes = (*engine)->output_sample_size();
  std::vector<float> fq_out(static_cast<size_t>(test.size * classes));
  EDGEOPT_RETURN_IF_ERROR(train::PredictOutputs(engine->get(), test.x.data(), test.size, 256,
                                                /*logits=*/true, fq_out.data()));
  eval_options.label = "eval int8";
  EDGEOPT_ASSIGN_OR_RETURN(train::EvalResult int8_eval,
                           report::EvaluateTfliteBytes(bytes, test, eval_options));
  EDGEOPT_ASSIGN_OR_RETURN(auto interp, rt::Interpreter::Create(bytes.data(), bytes.size(), {}));
  EDGEOPT_ASSIGN_OR_RETURN(std::vector<int> int8_pred, report::PredictTflite(interp.get(), test));
  int64_t agree = 0;
  for (int64_t i = 0; i < test.size; ++i) {
    agree += train::PredictedClass(fq_out.data() + i * classes, static_cast<int>(classes)) ==
             int8_pred[static_cast<size_t>(i)];
  }
  const double agreement = static_cast<double>(agree) / test.size;
  std::printf(
      "accuracy on %s (%lld samples): float %.4f, post-training int8 %.4f, QAT "
      "fake-quant %.4f, QAT int8 file %.4f (%+.2f points vs float, %+.2f vs "
      "post-training)\n",
      test.name.c_str(), static_cast<long long>(test.size), float_eval.accuracy, ptq_eval.accuracy,
      fq_eval.accuracy, int8_eval.accuracy, 100.0 * (int8_eval.accuracy - float_eval.accuracy),
      100.0 * (int8_eval.accuracy - ptq_eval.accuracy));
  std::printf("int8 file vs QAT fake-quant model: same top-1 on %.2f%% (%lld of %lld)\n",
              100.0 * agreement, static_cast<long long>(agree), static_cast<long long>(test.size));
  std::printf(
      "qat: float_accuracy=%.4f ptq_accuracy=%.4f fake_quant_accuracy=%.4f "
      "agreement=%.4f\n",
      float_eval.accuracy, ptq_eval.accuracy, fq_eval.accuracy, agreement);
  std::printf("test %s: %s\n", test.name.c_str(), FormatEvalLine(int8_eval).c_str());
  return Status::Ok();
}

}  // namespace

int RunQat(int argc, char** argv) {
  CLI::App app{
      "Quantization-aware training: fine-tune a float model with fake quantization that rounds "
      "as the int8 kernels do, then write a full-integer .tflite from the learned ranges.",
      "edgeopt qat"};
  QatSettings s;
  app.add_option("model", s.model, "the float model: .keras, .h5 or .tflite")->required();
  app.add_option("--data", s.data_spec, "training data (e.g. fashion-mnist)")->required();
  app.add_option("-o,--output", s.output, "the int8 .tflite")->required();
  app.add_option("--io", s.io, "input/output type: float (default), int8 or uint8");
  app.add_flag("--per-tensor", s.per_tensor, "per-tensor weights (default per-channel convs)");
  app.add_flag("--per-channel-fc", s.per_channel_fc,
               "per-channel FULLY_CONNECTED weights (TFLite 2.9 cannot run them correctly)");
  app.add_flag("--sparse", s.sparse,
               "write pruned weights (zeros, which QAT keeps) in TFLite's sparse tensor format");
  app.add_option("--calibration-samples", s.calibration_samples,
                 "training samples the initial ranges come from (default 500)")
      ->check(CLI::PositiveNumber);
  app.add_option("--ema-decay", s.ema_decay,
                 "decay of the activation ranges' moving averages (default 0.999)");
  app.add_option("--test-data", s.test_spec,
                 "evaluate on this (default: fashion-mnist:test for fashion-mnist)");
  app.add_option("--test-samples", s.test_samples, "evaluate on the first N test samples only");
  app.add_option("--max-samples", s.max_samples,
                 "train on a random subset of this many training samples");
  AddTrainFlags(&app, &s.flags);
  EDGEOPT_CLI_PARSE(app, argc, argv);
  Status st = Qat(s);
  if (!st.ok()) return ReportError("qat", st);
  return kExitOk;
}

}  // namespace cli
}  // namespace edgeopt
