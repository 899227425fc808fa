#include "tools/cli/cli_util.h"

#include <algorithm>
#include <chrono>
#include <cstdio>

#include "src/util/random_inputs.h"

namespace edgeopt {
namespace cli {

double Percentile(std::vector<double> v, double q) {
  if (v.empty()) return -1;
  std::sort(v.begin(), v.end());
  const double pos = q * (v.size() - 1);
  const size_t lo = static_cast<size_t>(pos);
  return lo + 1 < v.size() ? v[lo] + (pos - lo) * (v[lo + 1] - v[lo]) : v[lo];
}

Status TimeInterleaved(const std::vector<rt::Interpreter*>& models,
                       const std::vector<std::string>& names, int runs, int rounds,
                       std::vector<std::vector<double>>* us) {
  constexpr int kWarmup = 10, kRoundWarmupRuns = 3;
  constexpr std::chrono::milliseconds kRoundWarmupTime(3);
  auto invoke = [&](size_t m) {
    Status s = models[m]->Invoke();
    return s.ok() || m >= names.size() ? s : s.WithPrefix(names[m]);
  };
  us->assign(models.size(), {});
  for (size_t m = 0; m < models.size(); ++m) {
    rt::Interpreter* it = models[m];
    for (int i = 0; i < it->num_inputs(); ++i) {
      rt::Tensor* t = it->input_tensor(i);
      FillRandomInput(t->type, static_cast<size_t>(t->dims.NumElements()), 0, i, t->data);
    }
    for (int i = 0; i < kWarmup; ++i) EDGEOPT_RETURN_IF_ERROR(invoke(m));
  }
  rounds = std::max(1, rounds);
  for (int round = 0; round < rounds; ++round) {
    // Runs [round * runs / rounds, (round + 1) * runs / rounds): `runs` in all.
    const int count =
        static_cast<int>(int64_t{round + 1} * runs / rounds - int64_t{round} * runs / rounds);
    for (size_t m = 0; m < models.size(); ++m) {
      // On this machine a model's first ~2 ms of runs after another model measured up to 15%
      // slower than its steady state (the int16x8 demo model: 36.6 -> 33.4 us).
      const auto warm_start = std::chrono::steady_clock::now();
      for (int i = 0;
           i < kRoundWarmupRuns || std::chrono::steady_clock::now() - warm_start < kRoundWarmupTime;
           ++i) {
        EDGEOPT_RETURN_IF_ERROR(invoke(m));
      }
      for (int i = 0; i < count; ++i) {
        const auto start = std::chrono::steady_clock::now();
        EDGEOPT_RETURN_IF_ERROR(invoke(m));
        (*us)[m].push_back(
            std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - start)
                .count());
      }
    }
  }
  return Status::Ok();
}

int ReportError(const char* command, const Status& status) {
  std::fprintf(stderr, "edgeopt %s: error: %s\n", command, status.message().c_str());
  return kExitFailure;
}

StatusOr<LoadedModel> LoadTflite(const std::string& path, const rt::InterpreterOptions& options) {
  LoadedModel m;
  auto file = MappedFile::Open(path);
  if (!file.ok()) return file.status();
  m.file = std::move(file).value();
  rt::InterpreterOptions mapped = options;
  mapped.release_constant_pages = m.file->is_mapping();
  auto interp = rt::Interpreter::Create(m.file->data(), m.file->size(), mapped);
  if (!interp.ok()) return interp.status().WithPrefix(path);
  m.interpreter = std::move(interp).value();
  return m;
}

std::string DimsString(const rt::Dims& dims) {
  std::string s = "[";
  for (int i = 0; i < dims.size; ++i) {
    if (i > 0) s += ",";
    s += std::to_string(dims[i]);
  }
  return s + "]";
}

}  // namespace cli
}  // namespace edgeopt
