// edgeopt run MODEL.tflite (-i in0.npy ... | --random SEED) -o OUTDIR
// Writes OUTDIR/output_K.npy in each output tensor's own dtype and shape. This command line is
// what ../shared/tools/conformance calls; keep it.
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "CLI/CLI.hpp"
#include "src/util/npy.h"
#include "src/util/random_inputs.h"
#include "tools/cli/cli_util.h"
#include "tools/cli/commands.h"

namespace edgeopt {
namespace cli {
namespace {

Status FillInput(rt::Tensor* t, int index, const std::string& path) {
  EDGEOPT_ASSIGN_OR_RETURN(NpyArray array, ReadNpy(path));
  EDGEOPT_ENSURE(array.dtype == t->type, StatusCode::kInvalidArgument,
                 "%s: dtype %s, but input %d (%s) is %s", path.c_str(), DTypeName(array.dtype),
                 index, t->name, DTypeName(t->type));
  EDGEOPT_ENSURE(array.NumElements() == t->dims.NumElements(), StatusCode::kInvalidArgument,
                 "%s: %lld elements, but input %d (%s) has shape %s", path.c_str(),
                 static_cast<long long>(array.NumElements()), index, t->name,
                 DimsString(t->dims).c_str());
  bool same_shape = static_cast<int>(array.shape.size()) == t->dims.size;
  for (int d = 0; same_shape && d < t->dims.size; ++d) same_shape = array.shape[d] == t->dims[d];
  if (!same_shape) {
    std::fprintf(stderr, "edgeopt run: note: %s reshaped to input %d's shape %s\n", path.c_str(),
                 index, DimsString(t->dims).c_str());
  }
  EDGEOPT_ENSURE(array.data.size() == t->bytes, StatusCode::kInternal, "size mismatch");
  if (t->bytes > 0) std::memcpy(t->data, array.data.data(), t->bytes);
  return Status::Ok();
}

}  // namespace

int RunRun(int argc, char** argv) {
  CLI::App app{
      "Run a .tflite model. Writes OUTDIR/output_0.npy, output_1.npy, ... in each "
      "output tensor's own dtype (int8 stays int8).",
      "edgeopt run"};
  std::string model;
  std::vector<std::string> inputs;
  std::string out_dir;
  int64_t seed = -1;
  int threads = 1;
  bool reference = false;
  app.add_option("model", model, "the .tflite file")->required();
  app.add_option("-i,--input", inputs, "an .npy per model input, in order");
  app.add_option("--random", seed,
                 "seeded random inputs instead of -i: floats in [-1,1), 8/16-bit integers over "
                 "their range (the same stream as tflite-ref --random)");
  app.add_option("-o,--output", out_dir, "output directory")->required();
  app.add_option("--threads", threads,
                 "threads (default 1; 0 = auto: all cores, or 1 for a model under 2M MACs)");
  app.add_flag("--reference", reference, "use the portable reference kernels only");
  EDGEOPT_CLI_PARSE(app, argc, argv);

  if (inputs.empty() == (seed < 0)) {
    std::fprintf(stderr, "edgeopt run: give either -i for every input or --random SEED\n");
    return kExitUsage;
  }
  rt::InterpreterOptions options;
  options.num_threads = threads;
  options.use_optimized_kernels = !reference;
  auto loaded = LoadTflite(model, options);
  if (!loaded.ok()) return ReportError("run", loaded.status());
  rt::Interpreter* interp = loaded->interpreter.get();

  if (!inputs.empty()) {
    if (static_cast<int>(inputs.size()) != interp->num_inputs()) {
      return ReportError(
          "run", MakeStatus(StatusCode::kInvalidArgument, "%s has %d inputs, %zu given with -i",
                            model.c_str(), interp->num_inputs(), inputs.size()));
    }
    for (int i = 0; i < interp->num_inputs(); ++i) {
      Status s = FillInput(interp->input_tensor(i), i, inputs[i]);
      if (!s.ok()) return ReportError("run", s);
    }
  } else {
    for (int i = 0; i < interp->num_inputs(); ++i) {
      rt::Tensor* t = interp->input_tensor(i);
      if (DTypeSize(t->type) == 0) {
        return ReportError("run", MakeStatus(StatusCode::kUnsupported, "input %d (%s) has type %s",
                                             i, t->name, DTypeName(t->type)));
      }
      FillRandomInput(t->type, static_cast<size_t>(t->dims.NumElements()),
                      static_cast<uint64_t>(seed), i, t->data);
    }
  }
  Status s = interp->Invoke();
  if (!s.ok()) return ReportError("run", s.WithPrefix(model));
  s = MakeDirectories(out_dir);
  if (!s.ok()) return ReportError("run", s);
  for (int i = 0; i < interp->num_outputs(); ++i) {
    const rt::Tensor* t = interp->output_tensor(i);
    if (NpyDescr(t->type) == nullptr) {
      return ReportError("run", MakeStatus(StatusCode::kUnsupported,
                                           "output %d (%s) has type %s, which .npy cannot hold", i,
                                           t->name, DTypeName(t->type)));
    }
    NpyArray array;
    array.dtype = t->type;
    for (int d = 0; d < t->dims.size; ++d) array.shape.push_back(t->dims[d]);
    array.data.assign(t->data, t->data + t->bytes);
    const std::string path = out_dir + "/output_" + std::to_string(i) + ".npy";
    s = WriteNpy(path, array);
    if (!s.ok()) return ReportError("run", s);
    std::printf("output %d: %s %s -> %s\n", i, DTypeName(t->type), DimsString(t->dims).c_str(),
                path.c_str());
  }
  return kExitOk;
}

}  // namespace cli
}  // namespace edgeopt
