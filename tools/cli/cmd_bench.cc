// edgeopt bench MODEL.tflite [--runs N] [--warmup N] [--threads N] [--profile] [--pin]
//   [--sparse auto|off|force]
// Latency statistics as TFLite's benchmark_model prints them, ending with one machine-readable
// line: median_us=... p10_us=... p90_us=... threads=N
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <map>
#include <string>
#include <vector>

#include "CLI/CLI.hpp"
#include "src/runtime/model_stats.h"
#include "src/util/random_inputs.h"
#include "tools/cli/cli_util.h"
#include "tools/cli/commands.h"

namespace edgeopt {
namespace cli {
namespace {

double NowUs() {
  return std::chrono::duration<double, std::micro>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

// Peak resident set size of this process (VmHWM), in kB; -1 when unknown.
long PeakRssKb() {
  std::ifstream status("/proc/self/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind("VmHWM:", 0) == 0) return std::stol(line.substr(6));
  }
  return -1;
}

std::string IsaName(const rt::CpuInfo& cpu, bool optimized) {
  if (!optimized) return "reference";
  if (cpu.UseAvx512()) return "avx512";
  if (cpu.UseAvxVnni()) return "avx2+avxvnni";
  if (cpu.UseAvx2()) return "avx2";
  if (cpu.UseNeon()) return cpu.neon_dotprod ? "neon+dotprod" : "neon";
  return "scalar";
}

// Per-op times; [GMAC/s] is a node's multiply-accumulates (all of its weights', zeros included)
// over its average time, for the ops that have them: how close each runs to the machine's peak.
void PrintProfile(rt::Interpreter* interp) {
  const auto& prof = interp->profile();
  const std::vector<int64_t> macs = rt::ComputeModelStats(interp).node_macs;
  double total = 0;
  for (const auto& p : prof) total += p.count > 0 ? p.total_us / p.count : 0;
  struct Row {
    int node;
    double avg;
    double min;
  };
  std::vector<Row> rows;
  for (int i = 0; i < interp->num_nodes(); ++i) {
    if (prof[i].count > 0) rows.push_back({i, prof[i].total_us / prof[i].count, prof[i].min_us});
  }
  std::printf("\n============================== Run Order ==============================\n");
  std::printf("%-28s %6s %12s %8s %8s %10s %9s  %s\n", "[node type]", "[node]", "[avg us]", "[%]",
              "[cdf%]", "[min us]", "[GMAC/s]", "[kernel]");
  double cdf = 0;
  for (const Row& r : rows) {
    cdf += r.avg;
    const int64_t m = static_cast<size_t>(r.node) < macs.size() ? macs[r.node] : 0;
    char rate[32] = "";
    if (m > 0 && r.avg > 0) std::snprintf(rate, sizeof(rate), "%.1f", m / r.avg / 1e3);
    std::printf("%-28s %6d %12.1f %7.2f%% %7.2f%% %10.1f %9s  %s\n", interp->node_name(r.node),
                r.node, r.avg, 100.0 * r.avg / total, 100.0 * cdf / total, r.min, rate,
                interp->node_kernel(r.node));
  }
  std::sort(rows.begin(), rows.end(), [](const Row& a, const Row& b) { return a.avg > b.avg; });
  std::printf("\n======================== Top by Computation Time ========================\n");
  std::printf("%-28s %6s %12s %8s %8s\n", "[node type]", "[node]", "[avg us]", "[%]", "[cdf%]");
  cdf = 0;
  for (size_t k = 0; k < rows.size() && k < 10; ++k) {
    cdf += rows[k].avg;
    std::printf("%-28s %6d %12.1f %7.2f%% %7.2f%%\n", interp->node_name(rows[k].node), rows[k].node,
                rows[k].avg, 100.0 * rows[k].avg / total, 100.0 * cdf / total);
  }
  std::map<std::string, std::pair<int, double>> by_type;
  for (const Row& r : rows) {
    auto& e = by_type[interp->node_name(r.node)];
    ++e.first;
    e.second += r.avg;
  }
  std::vector<std::pair<std::string, std::pair<int, double>>> types(by_type.begin(), by_type.end());
  std::sort(types.begin(), types.end(),
            [](const auto& a, const auto& b) { return a.second.second > b.second.second; });
  std::printf("\n========================= Summary by node type =========================\n");
  std::printf("%-28s %8s %12s %8s %8s\n", "[node type]", "[count]", "[avg us]", "[%]", "[cdf%]");
  cdf = 0;
  for (const auto& t : types) {
    cdf += t.second.second;
    std::printf("%-28s %8d %12.1f %7.2f%% %7.2f%%\n", t.first.c_str(), t.second.first,
                t.second.second, 100.0 * t.second.second / total, 100.0 * cdf / total);
  }
  std::printf("\n");
}

}  // namespace

int RunBench(int argc, char** argv) {
  CLI::App app{
      "Measure a .tflite model: init time, latency statistics over --runs invocations "
      "after --warmup, peak memory. The last line is machine-readable.",
      "edgeopt bench"};
  std::string model;
  int runs = 50;
  int warmup = 5;
  int threads = 0;
  uint64_t seed = 0;
  bool profile = false;
  bool reference = false;
  bool pin = false;
  std::string sparse = "auto";
  app.add_option("model", model, "the .tflite file")->required();
  app.add_option("--runs", runs, "timed invocations (default 50)")->check(CLI::Range(1, 100000000));
  app.add_option("--warmup", warmup, "untimed invocations first (default 5)")
      ->check(CLI::NonNegativeNumber);
  app.add_option("--threads", threads,
                 "threads (default 0 = auto: all cores, or 1 for a model under 2M MACs)");
  app.add_option("--random", seed, "seed of the random inputs (default 0)");
  app.add_flag("--profile", profile,
               "per-op times: Run Order, Top by Computation Time, "
               "Summary by node type");
  app.add_flag("--reference", reference, "use the portable reference kernels only");
  app.add_option("--sparse", sparse,
                 "sparse kernels for weights with many zeros: auto (where they beat the dense "
                 "ones; default), off, or force (wherever an op has one)")
      ->check(CLI::IsMember({"auto", "off", "force"}));
  app.add_flag("--pin", pin,
               "pin the threads: this one to CPU 0, worker i to CPU i (keeps the scheduler from "
               "stacking them on one CPU of a loaded machine)");
  EDGEOPT_CLI_PARSE(app, argc, argv);

  rt::InterpreterOptions options;
  options.num_threads = threads;
  options.use_optimized_kernels = !reference;
  options.pin_threads = pin;
  options.sparse_kernels = sparse == "off"     ? rt::SparseKernels::kOff
                           : sparse == "force" ? rt::SparseKernels::kForce
                                               : rt::SparseKernels::kAuto;
  if (pin) rt::PinCallerToCpu(0);
  const double init_start = NowUs();
  auto loaded = LoadTflite(model, options);
  if (!loaded.ok()) return ReportError("bench", loaded.status());
  const double init_us = NowUs() - init_start;
  const long init_rss = PeakRssKb();
  rt::Interpreter* interp = loaded->interpreter.get();
  for (int i = 0; i < interp->num_inputs(); ++i) {
    rt::Tensor* t = interp->input_tensor(i);
    if (DTypeSize(t->type) == 0) {
      return ReportError("bench", MakeStatus(StatusCode::kUnsupported, "input %d (%s) has type %s",
                                             i, t->name, DTypeName(t->type)));
    }
    FillRandomInput(t->type, static_cast<size_t>(t->dims.NumElements()), seed, i, t->data);
  }
  std::vector<double> us;
  double first = 0;
  for (int i = 0; i < warmup + runs; ++i) {
    const double start = NowUs();
    Status s = interp->Invoke();
    const double elapsed = NowUs() - start;
    if (!s.ok()) return ReportError("bench", s.WithPrefix(model));
    if (i == 0) first = elapsed;
    if (i >= warmup) us.push_back(elapsed);
  }
  if (profile) {
    // A separate profiled pass, so that timing the nodes does not perturb the statistics.
    rt::InterpreterOptions popts = options;
    popts.profile = true;
    auto profiled = LoadTflite(model, popts);
    if (!profiled.ok()) return ReportError("bench", profiled.status());
    rt::Interpreter* p = profiled->interpreter.get();
    for (int i = 0; i < p->num_inputs(); ++i) {
      rt::Tensor* t = p->input_tensor(i);
      FillRandomInput(t->type, static_cast<size_t>(t->dims.NumElements()), seed, i, t->data);
    }
    for (int i = 0; i < warmup; ++i) (void)p->Invoke();
    p->ClearProfile();
    for (int i = 0; i < runs; ++i) {
      Status s = p->Invoke();
      if (!s.ok()) return ReportError("bench", s.WithPrefix(model));
    }
    PrintProfile(p);
  }
  const std::vector<double> order = us;
  std::sort(us.begin(), us.end());
  double mean = 0, var = 0;
  for (double x : us) mean += x / us.size();
  for (double x : us) var += (x - mean) * (x - mean) / (us.size() > 1 ? us.size() - 1 : 1);
  const double median = Percentile(us, 0.5), p10 = Percentile(us, 0.1), p90 = Percentile(us, 0.9);
  const int nthreads = interp->num_threads();
  std::printf("model: %s (%zu bytes)  threads=%d kernels=%s%s\n", model.c_str(),
              loaded->file->size(), nthreads, IsaName(interp->cpu(), !reference).c_str(),
              sparse == "auto" ? "" : (" sparse=" + sparse).c_str());
  std::printf("arena %zu bytes, persistent %zu bytes, %d nodes\n", interp->arena_bytes(),
              interp->persistent_bytes(), interp->num_nodes());
  std::printf("Initialized session in %.3f ms (map model, prepare, plan the arena)\n",
              init_us / 1000.0);
  std::printf(
      "Timings (microseconds): count=%zu first=%.1f curr=%.1f min=%.1f max=%.1f "
      "avg=%.1f std=%.1f\n",
      us.size(), first, order.back(), us.front(), us.back(), mean, std::sqrt(var));
  std::printf("  median %.1f  p10 %.1f  p90 %.1f\n", median, p10, p90);
  std::printf("Inference timings in us: Init: %.1f, First inference: %.1f, Inference (avg): %.1f\n",
              init_us, first, mean);
  const long peak = PeakRssKb();
  std::printf("Peak memory footprint (MB): init=%.3f overall=%.3f\n", init_rss / 1024.0,
              peak / 1024.0);
  std::printf(
      "median_us=%.1f p10_us=%.1f p90_us=%.1f mean_us=%.1f std_us=%.1f min_us=%.1f "
      "max_us=%.1f count=%zu init_us=%.1f peak_rss_kb=%ld threads=%d\n",
      median, p10, p90, mean, std::sqrt(var), us.front(), us.back(), us.size(), init_us, peak,
      nthreads);
  return kExitOk;
}

}  // namespace cli
}  // namespace edgeopt
