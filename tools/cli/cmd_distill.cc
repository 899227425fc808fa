// edgeopt distill --teacher T (--student S | --student-preset P | --student-width W) --data D
//                 [--temperature 4] [--alpha 0.1] [--compare-scratch] [training flags] [-o OUT]
//
// Knowledge distillation (Hinton et al. 2015): the student trains on
//   alpha * CE(labels, student) + (1 - alpha) * T^2 * KL(softmax(teacher / T) || softmax(student /
//   T))
// with logits on both sides (a model ending in SOFTMAX is distilled on the SOFTMAX's input).
// The teacher (.keras, .h5 or a float .tflite) runs once over the training set; its logits are
// cached. --alpha 1 trains the same student on the labels alone with identical settings (the
// baseline); --compare-scratch does that too, in the same run, from the same initial weights.
// Ends with a table (teacher, student alone, distilled student: weights, float .tflite size,
// test accuracy) and "test NAME: accuracy=... loss=... samples=N" for the distilled student.
#include <cstdio>
#include <memory>
#include <string>

#include "CLI/CLI.hpp"
#include "src/data/dataset.h"
#include "src/export/tflite/export.h"
#include "src/passes/distill/distill.h"
#include "src/passes/pipeline.h"
#include "src/report/progress.h"
#include "src/train/engine.h"
#include "src/train/trainer.h"
#include "tools/cli/cli_util.h"
#include "tools/cli/commands.h"
#include "tools/cli/train_flags.h"
#include "tools/cli/train_model_io.h"

namespace edgeopt {
namespace cli {
namespace {

struct Row {
  std::string name;
  int64_t weights = 0;
  size_t bytes = 0;
  train::EvalResult eval;
  bool evaluated = false;
};

// Top-1 accuracy of the teacher's logits.
StatusOr<train::EvalResult> EvaluateTeacher(distill::Teacher* teacher, const data::Dataset& ds) {
  EDGEOPT_ENSURE(ds.has_labels() && ds.sample_size() == teacher->input_size(),
                 StatusCode::kInvalidArgument, "%s does not fit the teacher", ds.name.c_str());
  const int64_t k = teacher->num_logits();
  std::vector<float> logits(static_cast<size_t>(ds.size * k));
  EDGEOPT_RETURN_IF_ERROR(teacher->Logits(ds.x.data(), ds.size, logits.data()));
  train::EvalResult r;
  r.samples = ds.size;
  r.correct = train::CountCorrect(logits.data(), ds.labels.data(), static_cast<int>(ds.size),
                                  static_cast<int>(k));
  r.loss = train::SparseSoftmaxCrossEntropy(
      logits.data(), ds.labels.data(), static_cast<int>(ds.size), static_cast<int>(k), nullptr);
  r.accuracy = static_cast<double>(r.correct) / std::max<int64_t>(1, r.samples);
  return r;
}

// The exported float model of a training graph with the engine's weights.
StatusOr<std::vector<uint8_t>> ExportFloat(const ir::Graph& training_graph,
                                           const train::Engine& engine, int64_t* weights) {
  ir::Graph g = training_graph;
  EDGEOPT_RETURN_IF_ERROR(engine.ExportWeights(&g));
  EDGEOPT_RETURN_IF_ERROR(passes::PrepareForExport(&g));
  *weights = distill::CountWeights(g);
  return ExportTflite(g);
}

struct Settings {
  std::string data_spec, test_spec, output;
  float temperature = 4.0f;
  float alpha = 0.1f;
  TrainFlags flags;
};

// Trains `model` (a copy: both runs start from the same weights), with the teacher when
// `cache` is non-null; evaluates on `test` when it has samples.
StatusOr<Row> TrainStudent(TrainModel model, const char* label, distill::TeacherCache* cache,
                           const data::Dataset& train_data, const data::Dataset* validation,
                           const data::Dataset& test, const Settings& s, bool save) {
  EDGEOPT_ASSIGN_OR_RETURN(train::TrainOptions options, MakeModelTrainOptions(s.flags, model));
  train::EngineOptions eo;
  eo.batch_size = options.batch_size;
  eo.num_threads = s.flags.threads;
  eo.seed = s.flags.seed;
  EDGEOPT_ASSIGN_OR_RETURN(auto engine, train::Engine::Create(model.graph, eo));
  EDGEOPT_ASSIGN_OR_RETURN(auto trainer, train::Trainer::Create(engine.get(), options, train_data));
  EDGEOPT_ENSURE(!train::IsRegression(trainer->loss_kind()), StatusCode::kInvalidArgument,
                 "distillation needs a classification data set (labels), not regression targets");
  if (cache != nullptr) {
    trainer->SetTeacher([cache](const float* x, int batch,
                                float* logits) { return cache->Lookup(x, batch, logits); },
                        s.alpha, s.temperature);
  }
  if (!s.flags.quiet) {
    std::printf("%s: %s, %lld weights, %s lr %g, batch %d, %d epoch(s)\n", label,
                model.description.c_str(), static_cast<long long>(engine->num_parameter_values()),
                train::OptimizerKindName(options.optimizer.kind), options.optimizer.learning_rate,
                options.batch_size, options.epochs);
    std::fflush(stdout);
  }
  auto on_epoch = [&](const train::EpochStats&) -> Status {
    if (!save || s.output.empty()) return Status::Ok();
    return SaveTrainedModel(&model, *engine, s.output);
  };
  EDGEOPT_RETURN_IF_ERROR(
      RunTraining("distill", trainer.get(), train_data, validation, s.flags, on_epoch));
  if (save && !s.output.empty() && !s.flags.quiet) std::printf("saved %s\n", s.output.c_str());
  Row row;
  row.name = label;
  EDGEOPT_ASSIGN_OR_RETURN(std::vector<uint8_t> bytes,
                           ExportFloat(model.graph, *engine, &row.weights));
  row.bytes = bytes.size();
  if (test.size > 0) {
    EDGEOPT_ASSIGN_OR_RETURN(
        row.eval, EvaluateWithProgress(engine.get(), test, std::max(options.batch_size, 256),
                                       s.flags.quiet, options.loss));
    row.evaluated = true;
  }
  return row;
}

void PrintTable(const std::vector<Row>& rows, const std::string& test_name) {
  std::printf("\n%-34s %10s %14s %10s\n", "model", "weights", "float .tflite", "accuracy");
  for (const Row& r : rows) {
    char acc[32] = "-";
    if (r.evaluated) std::snprintf(acc, sizeof(acc), "%.4f", r.eval.accuracy);
    std::printf("%-34s %10lld %11.1f KB %10s\n", r.name.c_str(), static_cast<long long>(r.weights),
                r.bytes / 1024.0, acc);
  }
  if (!test_name.empty()) std::printf("(accuracy on %s)\n", test_name.c_str());
}

Status Distill(const std::string& teacher_path, const std::string& student_path,
               const std::string& student_preset, double student_width, bool compare_scratch,
               const Settings& s) {
  EDGEOPT_ENSURE(s.alpha >= 0.0f && s.alpha <= 1.0f, StatusCode::kInvalidArgument,
                 "--alpha %g must be in [0, 1]", s.alpha);
  EDGEOPT_ENSURE(s.temperature > 0.0f, StatusCode::kInvalidArgument,
                 "--temperature %g must be positive", s.temperature);
  EDGEOPT_ASSIGN_OR_RETURN(auto teacher, distill::Teacher::Load(teacher_path, s.flags.threads));

  TrainModel student;
  char description[128];
  if (student_width > 0.0) {
    EDGEOPT_ENSURE(teacher->from_keras(), StatusCode::kInvalidArgument,
                   "--student-width needs a Keras teacher (.keras / .h5): %s has no Keras "
                   "architecture to scale",
                   teacher_path.c_str());
    EDGEOPT_ASSIGN_OR_RETURN(nlohmann::json config,
                             distill::ScaleKerasWidth(teacher->keras_config(), student_width));
    std::snprintf(description, sizeof(description), "the teacher's architecture at width %g",
                  student_width);
    auto m = TrainModelFromKerasConfig(config, s.flags.seed, description);
    if (!m.ok()) return m.status().WithPrefix("--student-width");
    student = std::move(m).value();
  } else {
    EDGEOPT_ASSIGN_OR_RETURN(student,
                             LoadModelForTraining(student_path, student_preset, s.flags.seed));
  }
  EDGEOPT_RETURN_IF_ERROR(ApplyTrainableFlags(&student, s.flags));
  if (!s.output.empty()) EDGEOPT_RETURN_IF_ERROR(CheckOutputPath(student, s.output));
  const TrainFlags data_flags = WithModelInput(s.flags, student.graph, "the student");

  data::Dataset train_data, validation;
  bool has_validation = false;
  EDGEOPT_RETURN_IF_ERROR(
      LoadTrainingData(s.data_spec, data_flags, &train_data, &validation, &has_validation));
  EDGEOPT_ENSURE(train_data.sample_size() == teacher->input_size(), StatusCode::kInvalidArgument,
                 "%s: samples have %lld values, the teacher's input %lld", train_data.name.c_str(),
                 static_cast<long long>(train_data.sample_size()),
                 static_cast<long long>(teacher->input_size()));
  data::Dataset test;
  const std::string test_spec = s.test_spec.empty() ? DefaultTestSpec(s.data_spec) : s.test_spec;
  if (!test_spec.empty()) {
    const data::LoadOptions lo = DataLoadOptions(data_flags);
    EDGEOPT_ASSIGN_OR_RETURN(test, data::LoadDataset(test_spec, lo));
  }

  std::vector<Row> rows;
  Row teacher_row;
  teacher_row.name = "teacher";
  teacher_row.weights = distill::CountWeights(teacher->export_graph());
  teacher_row.bytes = teacher->float_tflite().size();
  if (test.size > 0) {
    EDGEOPT_ASSIGN_OR_RETURN(teacher_row.eval, EvaluateTeacher(teacher.get(), test));
    teacher_row.evaluated = true;
  }
  rows.push_back(teacher_row);
  if (!s.flags.quiet) {
    std::printf("teacher %s: %lld weights%s\n", teacher_path.c_str(),
                static_cast<long long>(teacher_row.weights),
                teacher_row.evaluated
                    ? (", test accuracy " + std::to_string(teacher_row.eval.accuracy)).c_str()
                    : "");
  }

  // The teacher's logits over the training set, once.
  distill::TeacherCache cache;
  const bool distilling = s.alpha < 1.0f;
  if (distilling) {
    report::ProgressBar bar("teacher", train_data.size, !s.flags.quiet);
    EDGEOPT_RETURN_IF_ERROR(cache.Build(
        teacher.get(), train_data, [&](int64_t done, int64_t) { bar.Update(done, done, ""); }));
    bar.Finish();
  }

  if (compare_scratch || !distilling) {
    EDGEOPT_ASSIGN_OR_RETURN(
        Row alone, TrainStudent(student, "student alone (labels only)", nullptr, train_data,
                                has_validation ? &validation : nullptr, test, s, !distilling));
    rows.push_back(alone);
  }
  if (distilling) {
    char label[96];
    std::snprintf(label, sizeof(label), "student distilled (T=%g, alpha=%g)", s.temperature,
                  s.alpha);
    EDGEOPT_ASSIGN_OR_RETURN(Row distilled,
                             TrainStudent(student, label, &cache, train_data,
                                          has_validation ? &validation : nullptr, test, s, true));
    rows.push_back(distilled);
    if (!s.flags.quiet && cache.misses() > 0) {
      std::printf("teacher cache: %lld hits, %lld samples run live (augmented)\n",
                  static_cast<long long>(cache.hits()), static_cast<long long>(cache.misses()));
    }
  }

  PrintTable(rows, test.size > 0 ? test.name : "");
  const Row& last = rows.back();
  std::printf("weights: student/teacher = 1/%.1f\n",
              last.weights > 0 ? static_cast<double>(rows[0].weights) / last.weights : 0.0);
  if (test.size > 0) {
    std::string line = "distill: teacher_accuracy=" + std::to_string(rows[0].eval.accuracy);
    for (size_t i = 1; i < rows.size(); ++i) {
      const bool scratch = rows[i].name.rfind("student alone", 0) == 0;
      line += std::string(scratch ? " alone_accuracy=" : " distilled_accuracy=") +
              std::to_string(rows[i].eval.accuracy);
    }
    std::printf("%s\n", line.c_str());
    std::printf("test %s: %s\n", test.name.c_str(), FormatEvalLine(last.eval).c_str());
  }
  return Status::Ok();
}

}  // namespace

int RunDistill(int argc, char** argv) {
  CLI::App app{
      "Knowledge distillation (Hinton et al. 2015): train a small student on "
      "alpha * CE(labels) + (1 - alpha) * T^2 * KL(teacher/T || student/T), on logits.",
      "edgeopt distill"};
  std::string teacher, student, preset;
  double width = 0.0;
  bool compare_scratch = false;
  Settings s;
  app.add_option("--teacher", teacher, "the teacher: .keras, .h5 or a float .tflite")->required();
  app.add_option("--student", student, "the student: a .keras / .h5 model or a Keras .json");
  app.add_option("--student-preset", preset, "the student: a built-in model (fmnist-cnn)");
  app.add_option("--student-width", width,
                 "the student: the teacher's architecture with every layer's filters/units "
                 "scaled by W (the last layer's units unchanged)");
  app.add_option("--data", s.data_spec, "training data (e.g. fashion-mnist)")->required();
  app.add_option("--test-data", s.test_spec,
                 "evaluate on this (default: fashion-mnist:test for fashion-mnist)");
  app.add_option("--temperature", s.temperature, "softmax temperature T (default 4)");
  app.add_option("--alpha", s.alpha,
                 "weight of the label loss (default 0.1; 1 = labels only, the baseline)");
  app.add_flag("--compare-scratch", compare_scratch,
               "also train the student on the labels alone with identical settings and "
               "initial weights");
  app.add_option("-o,--output", s.output,
                 "write the distilled student (.keras, .h5 or .tflite), after every epoch");
  AddTrainFlags(&app, &s.flags);
  EDGEOPT_CLI_PARSE(app, argc, argv);
  const int sources = !student.empty() + !preset.empty() + (width > 0.0);
  if (sources != 1) {
    std::fprintf(stderr,
                 "edgeopt distill: give exactly one of --student FILE, --student-preset NAME, "
                 "--student-width W\n");
    return kExitUsage;
  }
  Status st = Distill(teacher, student, preset, width, compare_scratch, s);
  if (!st.ok()) return ReportError("distill", st);
  return kExitOk;
}

}  // namespace cli
}  // namespace edgeopt
