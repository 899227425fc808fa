#include "tests/test_util.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cctype>
#include <cstdio>
#include <cstdlib>
#include <vector>

namespace edgeopt {
namespace testing {

// The paths come from compile definitions on this file alone (tests/CMakeLists.txt), so that
// the other test files' compile commands hold no path of the checkout and ccache reuses their
// objects in another clone.
std::string SourceDir() { return EDGEOPT_SOURCE_DIR; }
std::string BinaryDir() { return EDGEOPT_BINARY_DIR; }
std::string CxxCompiler() { return EDGEOPT_CXX_COMPILER; }

std::string SharedDir() {
  const char* env = std::getenv("EDGEOPT_SHARED");
  return env != nullptr ? env : EDGEOPT_SHARED_DIR;
}

std::string CorpusPath(const std::string& relative) { return SharedDir() + "/corpus/" + relative; }
std::string TfliteRefPath() { return SharedDir() + "/tools/tflite-ref/tflite-ref"; }
std::string EdgeoptBinary() { return BinaryDir() + "/edgeopt"; }

std::string MakeTempDir(const std::string& prefix) {
  const char* tmp = std::getenv("TMPDIR");
  std::string templ = std::string(tmp != nullptr ? tmp : "/tmp") + "/" + prefix + ".XXXXXX";
  std::vector<char> buf(templ.begin(), templ.end());
  buf.push_back('\0');
  const char* dir = mkdtemp(buf.data());
  return dir != nullptr ? dir : "";
}

int RunCommand(const std::string& command, std::string* output) {
  FILE* pipe = popen((command + " 2>&1").c_str(), "r");
  if (pipe == nullptr) return -1;
  std::array<char, 4096> buf;
  std::string text;
  size_t n;
  while ((n = fread(buf.data(), 1, buf.size(), pipe)) > 0) text.append(buf.data(), n);
  const int status = pclose(pipe);
  if (output != nullptr) *output = text;
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

int RunConformance(const std::string& args, std::string* output) {
  return RunCommand("sh " + SharedDir() + "/tools/conformance/conformance \"" + EdgeoptBinary() +
                        " run\" " + args,
                    output);
}

std::string TrainedFmnistBaseline(int epochs) {
  const std::string dir = BinaryDir() + "/test-cache";
  mkdir(dir.c_str(), 0755);
  const std::string path = dir + "/fmnist_cnn_" + std::to_string(epochs) + "ep.keras";
  const int lock = open((dir + "/train.lock").c_str(), O_CREAT | O_RDWR, 0644);
  if (lock >= 0) flock(lock, LOCK_EX);
  struct stat st;
  if (stat(path.c_str(), &st) != 0) {
    const std::string cmd = EdgeoptBinary() + " train --preset fmnist-cnn --data fashion-mnist" +
                            " --epochs " + std::to_string(epochs) +
                            " --seed 0 --threads 2 --quiet -o " + path;
    std::string log;
    if (RunCommand(cmd, &log) != 0) {
      std::fprintf(stderr, "training the test baseline failed:\n%s\n", log.c_str());
    }
  }
  if (lock >= 0) {
    flock(lock, LOCK_UN);
    close(lock);
  }
  return stat(path.c_str(), &st) == 0 ? path : "";
}

double ParseMetric(const std::string& text, const std::string& key) {
  // The last "key=" that starts a word (so "zipped_bytes" does not match
  // "original_zipped_bytes=").
  const std::string needle = key + "=";
  size_t pos = text.rfind(needle);
  while (pos != std::string::npos && pos > 0 &&
         !std::isspace(static_cast<unsigned char>(text[pos - 1]))) {
    pos = pos == 0 ? std::string::npos : text.rfind(needle, pos - 1);
  }
  if (pos == std::string::npos) return -1.0;
  return std::atof(text.c_str() + pos + needle.size());
}

int64_t FileSize(const std::string& path) {
  struct stat st;
  return stat(path.c_str(), &st) == 0 ? static_cast<int64_t>(st.st_size) : -1;
}

}  // namespace testing
}  // namespace edgeopt
