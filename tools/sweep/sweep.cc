// edgeopt_sweep: robustness sweep of the model loader and runtime against damaged models.
//
// For every .tflite given (directories are searched recursively): the file as it is (a fuzzer
// finding kept as a regression is a model that must load cleanly), the file truncated at
// --truncations points, and --flips mutants with random bytes changed. Each must give
// either a clean error or a clean run: a crash, a sanitizer report or a hang (--timeout seconds
// per mutant, SIGALRM) ends the sweep with the model and mutant printed, so it can be replayed
// with --replay. Build it with sanitizers (make sweep / make test do).
//
//   edgeopt_sweep [--truncations 64] [--flips 1000] [--seed 1] [--timeout 20] PATH...
//   edgeopt_sweep --replay MODEL KIND INDEX   (KIND = as-is | trunc | flip)
#include <dirent.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "src/export/tflm/tflm_export.h"
#include "src/runtime/interpreter.h"
#include "src/runtime/model_stats.h"

namespace {

using edgeopt::rt::Interpreter;
using edgeopt::rt::InterpreterOptions;

// Largest compute a mutant may ask for before we only prepare it (a damaged model can declare
// huge but valid shapes; running them is slow, not wrong).
constexpr int64_t kMaxMacs = int64_t{100} << 20;
constexpr size_t kMaxArenaBytes = size_t{512} << 20;

const char* g_model = "";
const char* g_kind = "";
long g_index = -1;

void OnAlarm(int) {
  // Only async-signal-safe calls here.
  char buf[512];
  const int n = std::snprintf(buf, sizeof(buf),
                              "\nsweep: HANG (timeout) on %s %s %ld — replay: edgeopt_sweep "
                              "--replay %s %s %ld\n",
                              g_model, g_kind, g_index, g_model, g_kind, g_index);
  if (n > 0) (void)!write(2, buf, static_cast<size_t>(n));
  _exit(3);
}

void CollectModels(const std::string& path, std::vector<std::string>* out) {
  struct stat st;
  if (stat(path.c_str(), &st) != 0) return;
  if (S_ISREG(st.st_mode)) {
    out->push_back(path);
    return;
  }
  if (!S_ISDIR(st.st_mode)) return;
  DIR* dir = opendir(path.c_str());
  if (dir == nullptr) return;
  std::vector<std::string> names;
  while (dirent* e = readdir(dir)) {
    const std::string name = e->d_name;
    if (name == "." || name == "..") continue;
    names.push_back(name);
  }
  closedir(dir);
  std::sort(names.begin(), names.end());
  for (const std::string& name : names) {
    const std::string full = path + "/" + name;
    if (stat(full.c_str(), &st) != 0) continue;
    if (S_ISDIR(st.st_mode)) {
      CollectModels(full, out);
    } else if (name.size() > 7 && name.compare(name.size() - 7, 7, ".tflite") == 0) {
      out->push_back(full);
    }
  }
}

bool ReadFile(const std::string& path, std::vector<uint8_t>* bytes) {
  FILE* f = std::fopen(path.c_str(), "rb");
  if (f == nullptr) return false;
  std::fseek(f, 0, SEEK_END);
  const long size = std::ftell(f);
  std::fseek(f, 0, SEEK_SET);
  bytes->resize(size > 0 ? static_cast<size_t>(size) : 0);
  const size_t got = bytes->empty() ? 0 : std::fread(bytes->data(), 1, bytes->size(), f);
  std::fclose(f);
  return got == bytes->size();
}

struct Counts {
  long errors = 0;
  long runs = 0;
  long prepared_only = 0;
};

// One mutant: load, prepare, and (when affordable) invoke with patterned inputs.
void TryModel(const std::vector<uint8_t>& bytes, Counts* counts) {
  // Keep the mutant in its own exactly-sized heap block so ASan sees any overread.
  uint8_t* copy = static_cast<uint8_t*>(std::malloc(bytes.empty() ? 1 : bytes.size()));
  if (!bytes.empty()) std::memcpy(copy, bytes.data(), bytes.size());
  // The TFLM analysis of `edgeopt export-c` reads the same untrusted flatbuffer.
  auto tflm = edgeopt::tflm::AnalyzeForTflm(copy, bytes.size());
  if (tflm.ok()) (void)edgeopt::tflm::CArrayHeader(bytes.size(), *tflm, {});
  InterpreterOptions options;
  options.num_threads = 1;
  auto interp = Interpreter::Create(copy, bytes.size(), options);
  if (!interp.ok()) {
    ++counts->errors;
    std::free(copy);
    return;
  }
  const edgeopt::rt::ModelStats stats = edgeopt::rt::ComputeModelStats(interp->get());
  if (stats.total_macs > kMaxMacs || (*interp)->arena_bytes() > kMaxArenaBytes) {
    ++counts->prepared_only;
    std::free(copy);
    return;
  }
  for (int i = 0; i < (*interp)->num_inputs(); ++i) {
    edgeopt::rt::Tensor* t = (*interp)->input_tensor(i);
    if (t->data == nullptr) continue;
    for (size_t k = 0; k < t->bytes; ++k) t->data[k] = static_cast<uint8_t>(k * 37 + i);
  }
  const edgeopt::Status s = (*interp)->Invoke();
  if (s.ok()) {
    ++counts->runs;
  } else {
    ++counts->errors;
  }
  std::free(copy);
}

std::vector<uint8_t> Truncated(const std::vector<uint8_t>& bytes, long index, long count) {
  const size_t size = bytes.size();
  const size_t keep = count <= 1 ? 0 : static_cast<size_t>(size * index / count);
  return std::vector<uint8_t>(bytes.begin(), bytes.begin() + std::min(keep, size));
}

std::vector<uint8_t> Flipped(const std::vector<uint8_t>& bytes, uint64_t seed, long index) {
  std::vector<uint8_t> m = bytes;
  if (m.empty()) return m;
  // splitmix64 over (seed, index): 1..8 bytes changed, often in the header/tables region.
  uint64_t s = seed * 0x9E3779B97F4A7C15ull + static_cast<uint64_t>(index) * 0xD1B54A32D192ED03ull;
  auto next = [&s]() {
    uint64_t z = (s += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
  };
  const int flips = 1 + static_cast<int>(next() % 8);
  for (int k = 0; k < flips; ++k) {
    const uint64_t r = next();
    // Half the flips land in the first 4 KB (offsets, vtables, small tables), half anywhere.
    const size_t range = (r & 1) ? std::min<size_t>(m.size(), 4096) : m.size();
    const size_t pos = static_cast<size_t>((r >> 8) % range);
    switch ((r >> 4) % 4) {
      case 0:
        m[pos] ^= static_cast<uint8_t>(1u << ((r >> 40) % 8));
        break;
      case 1:
        m[pos] = static_cast<uint8_t>(r >> 48);
        break;
      case 2:
        m[pos] = 0xFF;
        break;
      default:
        m[pos] = 0;
        break;
    }
  }
  return m;
}

int Usage() {
  std::fprintf(
      stderr,
      "usage: edgeopt_sweep [--truncations N] [--flips N] [--seed S] [--timeout SEC] "
      "PATH...\n       edgeopt_sweep --replay MODEL as-is|trunc|flip INDEX [--truncations N] "
      "[--seed S]\n");
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  long truncations = 64, flips = 1000, timeout = 20;
  uint64_t seed = 1;
  std::vector<std::string> paths;
  std::string replay_model, replay_kind;
  long replay_index = -1;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    auto value = [&](long* out) {
      if (i + 1 >= argc) return false;
      *out = std::strtol(argv[++i], nullptr, 10);
      return true;
    };
    if (a == "--truncations") {
      if (!value(&truncations)) return Usage();
    } else if (a == "--flips") {
      if (!value(&flips)) return Usage();
    } else if (a == "--timeout") {
      if (!value(&timeout)) return Usage();
    } else if (a == "--seed") {
      long s;
      if (!value(&s)) return Usage();
      seed = static_cast<uint64_t>(s);
    } else if (a == "--replay") {
      if (i + 3 >= argc) return Usage();
      replay_model = argv[++i];
      replay_kind = argv[++i];
      replay_index = std::strtol(argv[++i], nullptr, 10);
    } else if (!a.empty() && a[0] == '-') {
      return Usage();
    } else {
      CollectModels(a, &paths);
    }
  }
  signal(SIGALRM, OnAlarm);
  if (!replay_model.empty()) {
    std::vector<uint8_t> bytes;
    if (!ReadFile(replay_model, &bytes)) return 2;
    Counts c;
    g_model = replay_model.c_str();
    g_kind = replay_kind.c_str();
    g_index = replay_index;
    alarm(static_cast<unsigned>(timeout));
    TryModel(replay_kind == "as-is"   ? bytes
             : replay_kind == "trunc" ? Truncated(bytes, replay_index, truncations)
                                      : Flipped(bytes, seed, replay_index),
             &c);
    std::printf("replay: %s\n", c.errors ? "clean error" : "clean run");
    return 0;
  }
  if (paths.empty()) return Usage();
  Counts total;
  for (const std::string& path : paths) {
    std::vector<uint8_t> bytes;
    if (!ReadFile(path, &bytes)) {
      std::fprintf(stderr, "sweep: cannot read %s\n", path.c_str());
      return 2;
    }
    Counts c;
    g_model = path.c_str();
    {
      Counts as_is;  // not counted among the mutants
      g_kind = "as-is";
      g_index = 0;
      alarm(static_cast<unsigned>(timeout));
      TryModel(bytes, &as_is);
    }
    g_kind = "trunc";
    for (long k = 0; k < truncations; ++k) {
      g_index = k;
      alarm(static_cast<unsigned>(timeout));
      TryModel(Truncated(bytes, k, truncations), &c);
    }
    g_kind = "flip";
    for (long k = 0; k < flips; ++k) {
      g_index = k;
      alarm(static_cast<unsigned>(timeout));
      TryModel(Flipped(bytes, seed, k), &c);
    }
    alarm(0);
    std::printf("%-70s %5ld mutants: %5ld clean errors, %5ld clean runs, %4ld prepared only\n",
                path.c_str(), truncations + flips, c.errors, c.runs, c.prepared_only);
    std::fflush(stdout);
    total.errors += c.errors;
    total.runs += c.runs;
    total.prepared_only += c.prepared_only;
  }
  std::printf(
      "sweep: %zu models, %ld mutants: %ld clean errors, %ld clean runs, %ld prepared "
      "only; no crash, hang or sanitizer report\n",
      paths.size(), total.errors + total.runs + total.prepared_only, total.errors, total.runs,
      total.prepared_only);
  return 0;
}
