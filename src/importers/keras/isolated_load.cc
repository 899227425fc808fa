#include "src/importers/keras/isolated_load.h"

#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>

#include "src/importers/keras/keras_config.h"

namespace edgeopt {
namespace keras {
namespace {

constexpr uint32_t kMagic = 0x4b455241;  // "KERA"

class Writer {
 public:
  void U64(uint64_t v) { Raw(&v, sizeof(v)); }
  void Str(const std::string& s) {
    U64(s.size());
    Raw(s.data(), s.size());
  }
  void Raw(const void* p, size_t n) {
    const uint8_t* b = static_cast<const uint8_t*>(p);
    out.insert(out.end(), b, b + n);
  }
  std::vector<uint8_t> out;
};

class Reader {
 public:
  explicit Reader(const std::vector<uint8_t>& in) : in_(in) {}
  bool U64(uint64_t* v) { return Raw(v, sizeof(*v)); }
  bool Str(std::string* s) {
    uint64_t n;
    if (!U64(&n) || n > in_.size() - pos_) return false;
    s->assign(reinterpret_cast<const char*>(in_.data() + pos_), n);
    pos_ += n;
    return true;
  }
  bool Raw(void* p, size_t n) {
    if (n > in_.size() - pos_) return false;
    std::memcpy(p, in_.data() + pos_, n);
    pos_ += n;
    return true;
  }
  bool Done() const { return pos_ == in_.size(); }

 private:
  const std::vector<uint8_t>& in_;
  size_t pos_ = 0;
};

bool WriteAll(int fd, const uint8_t* p, size_t n) {
  while (n > 0) {
    const ssize_t w = write(fd, p, n);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) return false;
    p += w;
    n -= static_cast<size_t>(w);
  }
  return true;
}

}  // namespace

std::vector<uint8_t> SerializeLoadResult(const StatusOr<KerasModel>& result) {
  Writer w;
  w.U64(kMagic);
  w.U64(result.ok() ? 1 : 0);
  if (!result.ok()) {
    w.U64(static_cast<uint64_t>(result.status().code()));
    w.Str(result.status().message());
    return w.out;
  }
  const KerasModel& m = *result;
  w.Str(m.config.dump());
  w.Str(m.keras_version);
  w.Str(m.backend);
  w.Str(m.source_path);
  w.Str(m.compiled_loss);
  w.U64(m.weights.size());
  for (const LayerWeights& lw : m.weights) {
    w.Str(lw.layer);
    w.U64(lw.vars.size());
    for (const auto& [name, a] : lw.vars) {
      w.Str(name);
      w.U64(static_cast<uint64_t>(a.dtype));
      w.U64(a.shape.size());
      for (int64_t d : a.shape) w.U64(static_cast<uint64_t>(d));
      w.U64(a.data.size());
      w.Raw(a.data.data(), a.data.size());
    }
  }
  return w.out;
}

StatusOr<KerasModel> ParseLoadResult(const std::vector<uint8_t>& bytes, const std::string& file) {
  Reader r(bytes);
  const Status garbled = MakeStatus(StatusCode::kInternal,
                                    "%s: the loader process returned garbled data", file.c_str());
  uint64_t magic = 0, ok = 0;
  if (!r.U64(&magic) || magic != kMagic || !r.U64(&ok)) return garbled;
  if (ok == 0) {
    uint64_t code = 0;
    std::string message;
    if (!r.U64(&code) || !r.Str(&message) || code == 0 ||
        code > static_cast<uint64_t>(StatusCode::kInternal)) {
      return garbled;
    }
    return Status(static_cast<StatusCode>(code), message);
  }
  KerasModel m;
  std::string config;
  uint64_t layers = 0;
  if (!r.Str(&config) || !r.Str(&m.keras_version) || !r.Str(&m.backend) || !r.Str(&m.source_path) ||
      !r.Str(&m.compiled_loss) || !r.U64(&layers) || layers > bytes.size()) {
    return garbled;
  }
  EDGEOPT_ASSIGN_OR_RETURN(m.config, ParseJson(config, file));
  for (uint64_t l = 0; l < layers; ++l) {
    LayerWeights lw;
    uint64_t vars = 0;
    if (!r.Str(&lw.layer) || !r.U64(&vars) || vars > bytes.size()) return garbled;
    for (uint64_t v = 0; v < vars; ++v) {
      std::string name;
      NpyArray a;
      uint64_t dtype = 0, rank = 0, size = 0;
      if (!r.Str(&name) || !r.U64(&dtype) || !r.U64(&rank) || rank > 8) return garbled;
      a.dtype = static_cast<DType>(dtype);
      for (uint64_t d = 0; d < rank; ++d) {
        uint64_t dim = 0;
        if (!r.U64(&dim)) return garbled;
        a.shape.push_back(static_cast<int64_t>(dim));
      }
      if (!r.U64(&size) || size > bytes.size()) return garbled;
      a.data.resize(static_cast<size_t>(size));
      if (!r.Raw(a.data.data(), a.data.size())) return garbled;
      lw.vars.emplace_back(std::move(name), std::move(a));
    }
    m.weights.push_back(std::move(lw));
  }
  if (!r.Done()) return garbled;
  return m;
}

// The child's exit code when the result could not be sent back.
constexpr int kExitWriteFailed = 3;

StatusOr<KerasModel> LoadIsolated(const std::string& file,
                                  const std::function<StatusOr<KerasModel>()>& load,
                                  int timeout_seconds) {
  const char* in_process = std::getenv("EDGEOPT_KERAS_IN_PROCESS");
  if (in_process != nullptr && std::strcmp(in_process, "1") == 0) return load();
  int fds[2];
  if (pipe(fds) != 0) return load();
  std::fflush(nullptr);
  const pid_t pid = fork();
  if (pid < 0) {
    close(fds[0]);
    close(fds[1]);
    return load();
  }
  if (pid == 0) {  // child
    close(fds[0]);
    const std::vector<uint8_t> bytes = SerializeLoadResult(load());
    _exit(WriteAll(fds[1], bytes.data(), bytes.size()) ? 0 : kExitWriteFailed);
  }
  close(fds[1]);
  std::vector<uint8_t> bytes;
  bool timed_out = false;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(timeout_seconds);
  uint8_t buf[1 << 16];
  for (;;) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
                          deadline - std::chrono::steady_clock::now())
                          .count();
    if (left <= 0) {
      timed_out = true;
      break;
    }
    pollfd p = {fds[0], POLLIN, 0};
    const int ready = poll(&p, 1, static_cast<int>(std::min<long long>(left, 1000)));
    if (ready < 0 && errno == EINTR) continue;
    if (ready <= 0) continue;
    const ssize_t n = read(fds[0], buf, sizeof(buf));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;  // EOF: the child is done
    bytes.insert(bytes.end(), buf, buf + n);
  }
  close(fds[0]);
  if (timed_out) kill(pid, SIGKILL);
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (timed_out) {
    return MakeStatus(StatusCode::kInvalidModel,
                      "%s: reading the file did not finish in %d s (a corrupt HDF5 file makes "
                      "libhdf5 loop)",
                      file.c_str(), timeout_seconds);
  }
  if (WIFSIGNALED(status)) {
    return MakeStatus(StatusCode::kInvalidModel,
                      "%s: the HDF5 data is corrupt (libhdf5 crashed reading it, signal %d)",
                      file.c_str(), WTERMSIG(status));
  }
  if (!WIFEXITED(status) || WEXITSTATUS(status) == kExitWriteFailed) {
    return MakeStatus(StatusCode::kInternal, "%s: the loader process failed (exit %d)",
                      file.c_str(), WIFEXITED(status) ? WEXITSTATUS(status) : -1);
  }
  if (WEXITSTATUS(status) != 0) {
    // The child exits only with 0 or kExitWriteFailed: another code comes from inside the
    // load, as a sanitizer's report on libhdf5 reading out of bounds (exit 1).
    return MakeStatus(StatusCode::kInvalidModel,
                      "%s: the HDF5 data is corrupt (the loader process stopped reading it, "
                      "exit %d)",
                      file.c_str(), WEXITSTATUS(status));
  }
  return ParseLoadResult(bytes, file);
}

}  // namespace keras
}  // namespace edgeopt
