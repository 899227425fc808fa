// A runtime-only runner: links edgeopt_runtime and edgeopt_io alone (no toolkit, no libzip, no
// exceptions), as a device build would. Same command line and output files as `edgeopt run`, so
// ../shared/tools/conformance can call it on a device or under qemu-user:
//   edgeopt_run_min MODEL.tflite (-i in0.npy [-i in1.npy ...] | --random SEED) [-o OUTDIR]
//                   [--threads N] [--reference] [--sparse auto|off|force] [--repeat N]
// Writes OUTDIR/output_K.npy in each output tensor's own dtype and shape. Without -o it only
// prints the outputs' dtypes and shapes; without -i and --random the inputs are zeros.
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <memory>
#include <string>
#include <vector>

#include "include/edgeopt/status.h"
#include "src/runtime/interpreter.h"
#include "src/runtime/kernels/elem_util.h"
#include "src/util/file_util.h"
#include "src/util/npy.h"
#include "src/util/random_inputs.h"

namespace edgeopt {
namespace {

constexpr int kExitOk = 0;
constexpr int kExitFailure = 1;
constexpr int kExitUsage = 2;

constexpr char kUsage[] =
    "usage: edgeopt_run_min MODEL.tflite (-i in0.npy [-i ...] | --random SEED) [-o OUTDIR]\n"
    "                       [--threads N] [--reference] [--sparse auto|off|force] [--repeat N]\n"
    "Runs MODEL once in edgeopt's runtime and writes OUTDIR/output_K.npy in each output's own\n"
    "dtype, as `edgeopt run` does. Without -o only a summary is printed; without -i and\n"
    "--random the inputs are zeros.\n"
    "  -i, --input FILE   an .npy per model input, in order\n"
    "  --random SEED      seeded random inputs (the same stream as tflite-ref --random)\n"
    "  -o, --output DIR   output directory (created)\n"
    "  --threads N        threads (default 1; 0 = all cores)\n"
    "  --reference        the portable reference kernels only\n"
    "  --sparse MODE      sparse kernels for pruned weights: auto (where they beat the dense\n"
    "                     kernels; default), off, force\n"
    "  --repeat N         invoke N more times; print the fastest invocation's time and how\n"
    "                     many nodes run sparse kernels\n";

struct Args {
  std::string model;
  std::vector<std::string> inputs;
  std::string out_dir;
  int64_t seed = -1;
  int threads = 1;
  int repeat = 0;
  bool reference = false;
  rt::SparseKernels sparse = rt::SparseKernels::kAuto;
};

bool ParseInt(const char* text, long long min, long long max, long long* value) {
  errno = 0;
  char* end = nullptr;
  const long long v = std::strtoll(text, &end, 10);
  if (errno != 0 || end == text || *end != '\0' || v < min || v > max) return false;
  *value = v;
  return true;
}

bool Is(const char* arg, const char* name) { return std::strcmp(arg, name) == 0; }

// Returns kExitOk, or kExitUsage after printing the problem.
int ParseArgs(int argc, char** argv, Args* args) {
  for (int i = 1; i < argc; ++i) {
    const char* arg = argv[i];
    if (Is(arg, "-h") || Is(arg, "--help")) {
      std::fputs(kUsage, stdout);  // not printf("%s"): GCC made that puts() of a second copy
      std::exit(kExitOk);
    }
    if (Is(arg, "--reference")) {
      args->reference = true;
      continue;
    }
    const bool input = Is(arg, "-i") || Is(arg, "--input");
    const bool output = Is(arg, "-o") || Is(arg, "--output");
    if (input || output || Is(arg, "--random") || Is(arg, "--threads") || Is(arg, "--repeat") ||
        Is(arg, "--sparse")) {
      if (i + 1 >= argc) {
        std::fprintf(stderr, "edgeopt_run_min: %s needs a value\n%s", arg, kUsage);
        return kExitUsage;
      }
      const char* value = argv[++i];
      long long n = 0;
      if (input) {
        args->inputs.push_back(value);
      } else if (output) {
        args->out_dir = value;
      } else if (Is(arg, "--random")) {
        if (!ParseInt(value, 0, INT64_MAX, &n)) {
          std::fprintf(stderr, "edgeopt_run_min: --random needs a seed >= 0, not '%s'\n", value);
          return kExitUsage;
        }
        args->seed = n;
      } else if (Is(arg, "--sparse")) {
        if (Is(value, "auto")) {
          args->sparse = rt::SparseKernels::kAuto;
        } else if (Is(value, "off")) {
          args->sparse = rt::SparseKernels::kOff;
        } else if (Is(value, "force")) {
          args->sparse = rt::SparseKernels::kForce;
        } else {
          std::fprintf(stderr, "edgeopt_run_min: --sparse needs auto, off or force, not '%s'\n",
                       value);
          return kExitUsage;
        }
      } else if (Is(arg, "--repeat")) {
        if (!ParseInt(value, 0, 1000000, &n)) {
          std::fprintf(stderr, "edgeopt_run_min: --repeat needs 0..1000000, not '%s'\n", value);
          return kExitUsage;
        }
        args->repeat = static_cast<int>(n);
      } else {
        if (!ParseInt(value, 0, 1024, &n)) {
          std::fprintf(stderr, "edgeopt_run_min: --threads needs 0..1024, not '%s'\n", value);
          return kExitUsage;
        }
        args->threads = static_cast<int>(n);
      }
      continue;
    }
    if (arg[0] == '-' && arg[1] != '\0') {
      std::fprintf(stderr, "edgeopt_run_min: unknown option %s\n%s", arg, kUsage);
      return kExitUsage;
    }
    if (!args->model.empty()) {
      std::fprintf(stderr, "edgeopt_run_min: more than one model given (%s)\n%s", arg, kUsage);
      return kExitUsage;
    }
    args->model = arg;
  }
  if (args->model.empty()) {
    std::fprintf(stderr, "edgeopt_run_min: no model given\n%s", kUsage);
    return kExitUsage;
  }
  if (!args->inputs.empty() && args->seed >= 0) {
    std::fprintf(stderr, "edgeopt_run_min: give either -i for every input or --random SEED\n");
    return kExitUsage;
  }
  return kExitOk;
}

// "[1,224,224,3]": the runtime's own formatting (one copy of it in the runner).
std::string DimsString(const rt::Dims& dims) { return rt::DimsStr(dims); }

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
    std::fprintf(stderr, "edgeopt_run_min: note: %s reshaped to input %d's shape %s\n",
                 path.c_str(), index, DimsString(t->dims).c_str());
  }
  EDGEOPT_ENSURE(array.data.size() == t->bytes, StatusCode::kInternal, "size mismatch");
  if (t->bytes > 0) std::memcpy(t->data, array.data.data(), t->bytes);
  return Status::Ok();
}

Status SetInputs(const Args& args, rt::Interpreter* interp) {
  if (!args.inputs.empty()) {
    EDGEOPT_ENSURE(static_cast<int>(args.inputs.size()) == interp->num_inputs(),
                   StatusCode::kInvalidArgument, "%s has %d inputs, %zu given with -i",
                   args.model.c_str(), interp->num_inputs(), args.inputs.size());
    for (int i = 0; i < interp->num_inputs(); ++i) {
      EDGEOPT_RETURN_IF_ERROR(FillInput(interp->input_tensor(i), i, args.inputs[i]));
    }
    return Status::Ok();
  }
  for (int i = 0; i < interp->num_inputs(); ++i) {
    rt::Tensor* t = interp->input_tensor(i);
    if (t->bytes == 0) continue;
    if (args.seed < 0) {
      std::memset(t->data, 0, t->bytes);
      continue;
    }
    EDGEOPT_ENSURE(DTypeSize(t->type) != 0, StatusCode::kUnsupported, "input %d (%s) has type %s",
                   i, t->name, DTypeName(t->type));
    FillRandomInput(t->type, static_cast<size_t>(t->dims.NumElements()),
                    static_cast<uint64_t>(args.seed), i, t->data);
  }
  return Status::Ok();
}

Status WriteOutputs(const Args& args, rt::Interpreter* interp) {
  if (!args.out_dir.empty()) EDGEOPT_RETURN_IF_ERROR(MakeDirectories(args.out_dir));
  for (int i = 0; i < interp->num_outputs(); ++i) {
    const rt::Tensor* t = interp->output_tensor(i);
    if (args.out_dir.empty()) {
      std::printf("output %d: %s %s\n", i, DTypeName(t->type), DimsString(t->dims).c_str());
      continue;
    }
    EDGEOPT_ENSURE(NpyDescr(t->type) != nullptr, StatusCode::kUnsupported,
                   "output %d (%s) has type %s, which .npy cannot hold", i, t->name,
                   DTypeName(t->type));
    NpyArray array;
    array.dtype = t->type;
    for (int d = 0; d < t->dims.size; ++d) array.shape.push_back(t->dims[d]);
    array.data.assign(t->data, t->data + t->bytes);
    const std::string path = args.out_dir + "/output_" + std::to_string(i) + ".npy";
    EDGEOPT_RETURN_IF_ERROR(WriteNpy(path, array));
    std::printf("output %d: %s %s -> %s\n", i, DTypeName(t->type), DimsString(t->dims).c_str(),
                path.c_str());
  }
  return Status::Ok();
}

int Fail(const Status& status) {
  std::fprintf(stderr, "edgeopt_run_min: error: %s\n", status.message().c_str());
  return kExitFailure;
}

double NowMs() {
  timespec t{};
  clock_gettime(CLOCK_MONOTONIC, &t);
  return static_cast<double>(t.tv_sec) * 1e3 + static_cast<double>(t.tv_nsec) * 1e-6;
}

int Run(const Args& args) {
  auto file = MappedFile::Open(args.model);
  if (!file.ok()) return Fail(file.status());
  rt::InterpreterOptions options;
  options.num_threads = args.threads;
  options.use_optimized_kernels = !args.reference;
  options.sparse_kernels = args.sparse;
  options.release_constant_pages = (*file)->is_mapping();
  auto interp = rt::Interpreter::Create((*file)->data(), (*file)->size(), options);
  if (!interp.ok()) return Fail(interp.status().WithPrefix(args.model));
  Status s = SetInputs(args, interp->get());
  if (!s.ok()) return Fail(s);
  s = (*interp)->Invoke();
  if (!s.ok()) return Fail(s.WithPrefix(args.model));
  if (args.repeat > 0) {
    double best = 0;
    for (int i = 0; i < args.repeat; ++i) {
      const double t0 = NowMs();
      s = (*interp)->Invoke();
      if (!s.ok()) return Fail(s.WithPrefix(args.model));
      const double t = NowMs() - t0;
      if (i == 0 || t < best) best = t;
    }
    std::printf("invoke: %.3f ms (fastest of %d)\n", best, args.repeat);
    // Which nodes skip zeros (compare with --sparse off on the device).
    int sparse = 0;
    for (int i = 0; i < (*interp)->num_nodes(); ++i) {
      sparse += std::strncmp((*interp)->node_kernel(i), "sparse", 6) == 0;
    }
    std::printf("sparse kernels: %d of %d nodes\n", sparse, (*interp)->num_nodes());
  }
  s = WriteOutputs(args, interp->get());
  if (!s.ok()) return Fail(s);
  return kExitOk;
}

}  // namespace
}  // namespace edgeopt

int main(int argc, char** argv) {
  edgeopt::Args args;
  const int rc = edgeopt::ParseArgs(argc, argv, &args);
  if (rc != edgeopt::kExitOk) return rc;
  return edgeopt::Run(args);
}
