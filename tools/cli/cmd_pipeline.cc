// edgeopt pipeline MODEL --recipe RECIPE.json -o OUT [--data D] [--work-dir DIR] [...]
//
// A declarative chain of the compression commands, each stage starting from the last one's
// model and keeping what it did (pruned zeros stay zero through clustering and QAT, clusters
// through QAT): e.g. prune 80 %, cluster to 16 values, quantization-aware training to int8.
// The recipe:
//
//   {"data": "fashion-mnist",
//    "stages": [{"stage": "prune", "sparsity": 0.8, "epochs": 2},
//               {"stage": "cluster", "clusters": 16, "epochs": 1},
//               {"stage": "qat", "epochs": 1, "lr": 1e-4, "sparse": true}]}
//
// Each stage runs its command (train, distill, prune, cluster, lowrank, qat, quantize, convert)
// with the stage's keys as its flags ("sparsity": 0.8 -> --sparsity 0.8, true -> a bare flag, a
// list -> comma-separated), the recipe's data, seed and threads; every stage's model stays in the
// work directory. Ends with `edgeopt compare` of the input and every stage, as .tflite files.
#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdio>
#include <set>
#include <string>
#include <vector>

#include "CLI/CLI.hpp"
#include "nlohmann/json.hpp"
#include "src/util/file_util.h"
#include "tools/cli/cli_util.h"
#include "tools/cli/commands.h"
#include "tools/cli/train_flags.h"

namespace edgeopt {
namespace cli {
namespace {

struct StageKind {
  const char* name;
  int (*run)(int argc, char** argv);
  bool model_positional;  // the input model is the first argument (distill: --teacher)
  bool terminal;          // writes a .tflite that no later stage can take on
  const char* data_flag;  // where the recipe's data goes (--data, quantize's --calibration)
  bool seeded;            // takes --seed --threads --quiet
};

const StageKind kStages[] = {
    {"train", RunTrain, true, false, "--data", true},
    {"distill", RunDistill, false, false, "--data", true},
    {"prune", RunPrune, true, false, "--data", true},
    {"cluster", RunCluster, true, false, "--data", true},
    {"lowrank", RunLowRank, true, false, "--data", true},
    {"qat", RunQat, true, true, "--data", true},
    {"quantize", RunQuantize, true, true, "--calibration", true},
    {"convert", RunConvert, true, true, nullptr, false},
};

const StageKind* FindStage(const std::string& name) {
  for (const StageKind& k : kStages) {
    if (name == k.name) return &k;
  }
  return nullptr;
}

struct Stage {
  const StageKind* kind = nullptr;
  std::string label;               // the name in the table
  std::vector<std::string> flags;  // from the recipe's keys
  std::set<std::string> keys;      // the keys given (without --)
  std::string output;              // this stage's model in the work directory
};

// A JSON value as a flag value: integers without a decimal point, other numbers as %g.
StatusOr<std::string> FlagValue(const nlohmann::json& v, const std::string& key) {
  if (v.is_string()) return v.get<std::string>();
  if (v.is_number_integer()) return std::to_string(v.get<int64_t>());
  if (v.is_number()) {
    char buf[64];
    std::snprintf(buf, sizeof(buf), "%.9g", v.get<double>());
    return std::string(buf);
  }
  if (v.is_array()) {
    std::string s;
    for (const auto& item : v) {
      EDGEOPT_ASSIGN_OR_RETURN(std::string part, FlagValue(item, key));
      s += (s.empty() ? "" : ",") + part;
    }
    return s;
  }
  return MakeStatus(StatusCode::kInvalidArgument,
                    "the value of \"%s\" must be a string, a number, true/false or a list",
                    key.c_str());
}

StatusOr<std::vector<Stage>> ParseRecipe(const std::string& path, std::string* data) {
  EDGEOPT_ASSIGN_OR_RETURN(std::vector<uint8_t> bytes, ReadFileBytes(path));
  nlohmann::json recipe = nlohmann::json::parse(bytes.begin(), bytes.end(), nullptr, false);
  EDGEOPT_ENSURE(!recipe.is_discarded() && recipe.is_object(), StatusCode::kInvalidArgument,
                 "%s: not a JSON object (a recipe: {\"data\": ..., \"stages\": [...]})",
                 path.c_str());
  for (const auto& [key, value] : recipe.items()) {
    EDGEOPT_ENSURE(key == "data" || key == "stages", StatusCode::kInvalidArgument,
                   "%s: unknown key \"%s\" (a recipe has \"data\" and \"stages\")", path.c_str(),
                   key.c_str());
  }
  if (recipe.contains("data")) {
    EDGEOPT_ENSURE(recipe["data"].is_string(), StatusCode::kInvalidArgument,
                   "%s: \"data\" must be a string", path.c_str());
    if (data->empty()) *data = recipe["data"].get<std::string>();
  }
  EDGEOPT_ENSURE(
      recipe.contains("stages") && recipe["stages"].is_array() && !recipe["stages"].empty(),
      StatusCode::kInvalidArgument, "%s: \"stages\" must be a non-empty list", path.c_str());
  std::vector<Stage> stages;
  for (size_t i = 0; i < recipe["stages"].size(); ++i) {
    const nlohmann::json& s = recipe["stages"][i];
    const std::string where = path + ": stage " + std::to_string(i + 1);
    EDGEOPT_ENSURE(
        s.is_object() && s.contains("stage") && s["stage"].is_string(),
        StatusCode::kInvalidArgument,
        "%s: must be an object with \"stage\" (train, distill, prune, cluster, lowrank, qat, "
        "quantize or convert)",
        where.c_str());
    Stage st;
    st.kind = FindStage(s["stage"].get<std::string>());
    EDGEOPT_ENSURE(
        st.kind != nullptr, StatusCode::kInvalidArgument,
        "%s: unknown stage \"%s\" (train, distill, prune, cluster, lowrank, qat, quantize or "
        "convert)",
        where.c_str(), s["stage"].get<std::string>().c_str());
    st.label = st.kind->name;
    for (const auto& [key, value] : s.items()) {
      if (key == "stage") continue;
      if (key == "name") {
        EDGEOPT_ENSURE(value.is_string(), StatusCode::kInvalidArgument,
                       "%s: \"name\" must be a string", where.c_str());
        st.label = value.get<std::string>();
        // It names the stage's files: letters, digits, '.', '_' and '-' only (no paths).
        bool plain = !st.label.empty() && st.label.size() <= 64 && st.label[0] != '.';
        for (char c : st.label) {
          plain = plain &&
                  (std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '_' || c == '-');
        }
        EDGEOPT_ENSURE(plain, StatusCode::kInvalidArgument,
                       "%s: name \"%s\" must be 1-64 letters, digits, '.', '_' or '-' (it names "
                       "the stage's files), not starting with '.'",
                       where.c_str(), st.label.c_str());
        continue;
      }
      EDGEOPT_ENSURE(key != "output" && key != "o" && key != "teacher" && key != "model",
                     StatusCode::kInvalidArgument,
                     "%s: \"%s\" is set by the pipeline (each stage reads the last one's model "
                     "and writes its own)",
                     where.c_str(), key.c_str());
      st.keys.insert(key);
      if (value.is_boolean()) {
        if (value.get<bool>()) st.flags.push_back("--" + key);
        continue;
      }
      auto v = FlagValue(value, key);
      if (!v.ok()) return v.status().WithPrefix(where);
      st.flags.push_back("--" + key);
      st.flags.push_back(*v);
    }
    stages.push_back(std::move(st));
  }
  for (size_t i = 0; i + 1 < stages.size(); ++i) {
    EDGEOPT_ENSURE(!stages[i].kind->terminal, StatusCode::kInvalidArgument,
                   "%s: stage %zu (%s) writes a .tflite, which no later stage takes: it must be "
                   "the last",
                   path.c_str(), i + 1, stages[i].kind->name);
  }
  return stages;
}

// Stages that undo an earlier stage's work: fine-tuning every weight on its own loses the
// clusters (train, prune with fine-tuning) and the pruned zeros (train, cluster without
// preserved sparsity), and lowrank replaces the kernels it factorizes; distill starts
// a new model. Notes, not errors: the recipe may mean it.
std::vector<std::string> ChainNotes(const std::vector<Stage>& stages) {
  std::vector<std::string> notes;
  int pruned = -1, clustered = -1;  // the stage that made them (0-based), or -1
  for (size_t i = 0; i < stages.size(); ++i) {
    const Stage& st = stages[i];
    const std::string name = st.kind->name;
    const std::string at = "stage " + std::to_string(i + 1) + " (" + st.label + ")";
    const bool one_shot = st.keys.count("one-shot") > 0;
    if (name == "distill") {
      pruned = clustered = -1;  // a new student
      continue;
    }
    if (clustered >= 0 && (name == "train" || (name == "prune" && !one_shot))) {
      notes.push_back(at + " trains every weight on its own: the clusters of stage " +
                      std::to_string(clustered + 1) + " do not survive it (cluster after it)");
      clustered = -1;
    }
    if (pruned >= 0 &&
        (name == "train" || (name == "cluster" && st.keys.count("no-preserve-sparsity") > 0))) {
      notes.push_back(at + " does not keep the zeros of stage " + std::to_string(pruned + 1));
      pruned = -1;
    }
    if (name == "lowrank" && (pruned >= 0 || clustered >= 0)) {
      notes.push_back(at + " replaces the kernels it factorizes: the " +
                      (pruned >= 0 ? "zeros of stage " + std::to_string(pruned + 1) : "") +
                      (pruned >= 0 && clustered >= 0 ? " and the " : "") +
                      (clustered >= 0 ? "clusters of stage " + std::to_string(clustered + 1) : "") +
                      " do not survive in them (factorize first)");
      pruned = clustered = -1;
    }
    // Channel pruning removes channels: no zeros to keep.
    const auto structure = std::find(st.flags.begin(), st.flags.end(), "--structure");
    const bool channel =
        structure != st.flags.end() && structure + 1 != st.flags.end() && structure[1] == "channel";
    if (name == "prune" && !channel) pruned = static_cast<int>(i);
    if (name == "cluster") clustered = static_cast<int>(i);
  }
  return notes;
}

// Runs `run` on argv built from `args` (args[0]: the program name).
int RunInProcess(int (*run)(int, char**), const std::vector<std::string>& args) {
  std::vector<std::vector<char>> storage;
  std::vector<char*> argv;
  for (const std::string& a : args) {
    storage.emplace_back(a.begin(), a.end());
    storage.back().push_back('\0');
  }
  for (auto& s : storage) argv.push_back(s.data());
  argv.push_back(nullptr);
  std::fflush(stdout);
  const int rc = run(static_cast<int>(args.size()), argv.data());
  std::fflush(stdout);
  std::fflush(stderr);
  return rc;
}

struct PipelineFlags {
  std::string model, recipe, output, data, test_data, work_dir;
  uint64_t seed = 0;
  int threads = 0;
  bool quiet = false;
  int compare_runs = 100;
  bool no_compare = false;
};

Status Pipeline(const PipelineFlags& pf) {
  std::string data = pf.data;
  EDGEOPT_ASSIGN_OR_RETURN(std::vector<Stage> stages, ParseRecipe(pf.recipe, &data));
  const std::string out_ext = FileExtension(pf.output);
  EDGEOPT_ENSURE(out_ext == ".tflite" || out_ext == ".keras" || out_ext == ".h5",
                 StatusCode::kInvalidArgument, "%s: the output must be .tflite, .keras or .h5",
                 pf.output.c_str());
  EDGEOPT_ENSURE(out_ext == ".tflite" || !stages.back().kind->terminal,
                 StatusCode::kInvalidArgument,
                 "%s: the last stage (%s) writes a .tflite; give a .tflite output",
                 pf.output.c_str(), stages.back().kind->name);
  for (const std::string& note : ChainNotes(stages)) {
    std::printf("note: %s\n", note.c_str());
  }
  const std::string dir = pf.work_dir.empty() ? pf.output + ".stages" : pf.work_dir;
  EDGEOPT_RETURN_IF_ERROR(MakeDirectories(dir));

  // The stages, each from the last one's model (Keras files as the output's kind).
  const std::string model_ext = out_ext == ".h5" ? ".h5" : ".keras";
  std::string input = pf.model;
  for (size_t i = 0; i < stages.size(); ++i) {
    Stage& st = stages[i];
    const StageKind& k = *st.kind;
    char prefix[32];
    std::snprintf(prefix, sizeof(prefix), "%02zu_", i + 1);
    st.output = dir + "/" + prefix + st.label + (k.terminal ? ".tflite" : model_ext);
    std::vector<std::string> args = {std::string("edgeopt ") + k.name};
    if (k.model_positional) {
      args.push_back(input);
    } else {
      args.push_back("--teacher");
      args.push_back(input);
    }
    // The pipeline's settings, unless the stage sets its own.
    auto add = [&](const char* flag, const std::string& value) {
      if (value.empty() || st.keys.count(flag + 2) > 0) return;
      args.push_back(flag);
      args.push_back(value);
    };
    const bool trains = k.data_flag != nullptr && std::string(k.data_flag) == "--data";
    if (k.data_flag != nullptr) add(k.data_flag, data);
    if (trains) add("--test-data", pf.test_data);
    if (k.seeded) {
      add("--seed", std::to_string(pf.seed));
      add("--threads", std::to_string(pf.threads));
      if (pf.quiet && st.keys.count("quiet") == 0) args.push_back("--quiet");
    }
    args.insert(args.end(), st.flags.begin(), st.flags.end());
    args.push_back("-o");
    args.push_back(st.output);
    std::string shown;
    for (size_t a = 1; a < args.size(); ++a) shown += " " + args[a];
    std::printf("\n== stage %zu/%zu: %s ==\nedgeopt %s%s\n", i + 1, stages.size(), st.label.c_str(),
                k.name, shown.c_str());
    const int rc = RunInProcess(k.run, args);
    EDGEOPT_ENSURE(rc == 0, StatusCode::kInvalidArgument,
                   "stage %zu (%s) failed (exit %d); the models of the stages before it are in %s",
                   i + 1, st.label.c_str(), rc, dir.c_str());
    input = st.output;
  }

  // Each model as a .tflite, converted once (--sparse: pruned zeros in TFLite's sparse
  // encoding, as a pruned model ships; the input as it is).
  std::set<std::string> converted;
  auto as_tflite = [&](const std::string& model, const std::string& tflite,
                       bool sparse) -> StatusOr<std::string> {
    if (FileExtension(model) == ".tflite") return model;
    if (!converted.insert(tflite).second) return tflite;
    std::vector<std::string> convert = {"edgeopt convert", model, "-o", tflite};
    if (sparse) convert.push_back("--sparse");
    EDGEOPT_ENSURE(RunInProcess(RunConvert, convert) == 0, StatusCode::kInvalidArgument,
                   "converting %s failed", model.c_str());
    return tflite;
  };
  auto stage_tflite = [&](const Stage& st) {
    return as_tflite(
        st.output,
        st.output.substr(0, st.output.size() - FileExtension(st.output).size()) + ".tflite", true);
  };

  // The output: the last stage's model, or its .tflite.
  std::string last = input;
  if (FileExtension(input) != out_ext) {
    EDGEOPT_ASSIGN_OR_RETURN(last, stage_tflite(stages.back()));
  }
  EDGEOPT_ASSIGN_OR_RETURN(std::vector<uint8_t> bytes, ReadFileBytes(last));
  EDGEOPT_RETURN_IF_ERROR(WriteFileAtomic(pf.output, bytes));

  if (pf.no_compare) {
    std::printf("saved %s; every stage's model in %s\n", pf.output.c_str(), dir.c_str());
    return Status::Ok();
  }
  // Every stage beside the input, as .tflite files.
  std::vector<std::string> files, names = {"input"};
  EDGEOPT_ASSIGN_OR_RETURN(std::string original,
                           as_tflite(pf.model, dir + "/00_input.tflite", false));
  files.push_back(original);
  for (const Stage& st : stages) {
    EDGEOPT_ASSIGN_OR_RETURN(std::string file, stage_tflite(st));
    files.push_back(file);
    names.push_back(st.label);
  }
  std::string joined;
  for (const std::string& n : names) joined += (joined.empty() ? "" : ",") + n;
  std::vector<std::string> args = {"edgeopt compare"};
  args.insert(args.end(), files.begin(), files.end());
  args.insert(args.end(), {"--names", joined, "--runs", std::to_string(pf.compare_runs), "--rounds",
                           "3", "--threads", "1", "--markdown", dir + "/comparison.md"});
  const std::string test = pf.test_data.empty() ? DefaultTestSpec(data) : pf.test_data;
  if (!test.empty()) args.insert(args.end(), {"--data", test});
  std::printf("\n== the stages side by side (%s) ==\n", dir.c_str());
  EDGEOPT_ENSURE(RunInProcess(RunCompare, args) == 0, StatusCode::kInvalidArgument,
                 "comparing the stages failed");
  std::printf("saved %s; every stage's model in %s\n", pf.output.c_str(), dir.c_str());
  return Status::Ok();
}

}  // namespace

int RunPipeline(int argc, char** argv) {
  CLI::App app{
      "Run a recipe of compression stages (train, distill, prune, cluster, lowrank, qat, quantize, "
      "convert), each starting from the last one's model and keeping what it did: pruned "
      "zeros stay zero through clustering and QAT, clusters through QAT. The recipe (JSON): "
      "{\"data\": \"fashion-mnist\", \"stages\": [{\"stage\": \"prune\", \"sparsity\": 0.8, "
      "\"epochs\": 2}, {\"stage\": \"cluster\", \"clusters\": 16}, {\"stage\": \"qat\", "
      "\"epochs\": 1, \"lr\": 1e-4, \"sparse\": true}]}: a stage's keys are its command's "
      "flags. Ends with a comparison of the input and every stage.",
      "edgeopt pipeline"};
  PipelineFlags pf;
  app.add_option("model", pf.model, "the model to start from (.keras or .h5)")->required();
  app.add_option("--recipe", pf.recipe, "the recipe (JSON)")->required();
  app.add_option("-o,--output", pf.output, "the last stage's model: .tflite, .keras or .h5")
      ->required();
  app.add_option("--data", pf.data, "training (and calibration) data, instead of the recipe's");
  app.add_option("--test-data", pf.test_data,
                 "labeled data for the stages' accuracy (default fashion-mnist:test for "
                 "fashion-mnist)");
  app.add_option("--work-dir", pf.work_dir,
                 "where every stage's model is kept (default: OUTPUT.stages)");
  app.add_option("--seed", pf.seed, "seed of every stage (default 0)");
  app.add_option("--threads", pf.threads, "threads of every stage (default 0 = all cores)");
  app.add_option("--compare-runs", pf.compare_runs,
                 "timed runs per model and round in the final comparison (default 100)");
  app.add_flag("--quiet", pf.quiet, "no progress bars or per-epoch lines in the stages");
  app.add_flag("--no-compare", pf.no_compare, "skip the final comparison of the stages");
  EDGEOPT_CLI_PARSE(app, argc, argv);
  Status s = Pipeline(pf);
  if (!s.ok()) return ReportError("pipeline", s);
  return kExitOk;
}

}  // namespace cli
}  // namespace edgeopt
