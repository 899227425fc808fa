#include "tests/test_util.h"

#include <sys/wait.h>

#include <array>
#include <cstdio>
#include <cstdlib>
#include <vector>

namespace edgeopt {
namespace testing {

std::string SourceDir() { return EDGEOPT_SOURCE_DIR; }
std::string BinaryDir() { return EDGEOPT_BINARY_DIR; }

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

}  // namespace testing
}  // namespace edgeopt
