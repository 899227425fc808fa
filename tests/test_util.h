// Paths and helpers for tests: the shared corpus, tflite-ref, the edgeopt binary, temp dirs.
#ifndef EDGEOPT_TESTS_TEST_UTIL_H_
#define EDGEOPT_TESTS_TEST_UTIL_H_

#include <cstdint>
#include <string>

namespace edgeopt {
namespace testing {

std::string SourceDir();
std::string BinaryDir();
// ../shared beside the checkout (EDGEOPT_SHARED overrides).
std::string SharedDir();
// The C++ compiler the tests were built with (tests that compile generated code).
std::string CxxCompiler();
std::string CorpusPath(const std::string& relative);
std::string TfliteRefPath();
std::string EdgeoptBinary();
// A fresh directory under $TMPDIR, removed by the caller if it wants.
std::string MakeTempDir(const std::string& prefix);
// Runs a shell command; returns its exit status and, if `output` is non-null, its stdout+stderr.
int RunCommand(const std::string& command, std::string* output = nullptr);
// Runs ../shared's conformance script (edgeopt's `run` against the official TFLite runtime) with
// `args`: its flags and the .tflite files. Returns its exit status; `output` as RunCommand.
int RunConformance(const std::string& args, std::string* output = nullptr);

// A Fashion-MNIST model trained once by edgeopt (preset fmnist-cnn, `epochs` epochs, seed 0,
// 2 threads) and cached in the build directory (test-cache/), shared by the end-to-end tests
// of quantization, pruning, QAT and distillation. Returns the .keras path ("" on failure).
// Concurrent callers wait on a file lock.
std::string TrainedFmnistBaseline(int epochs = 1);
// The value of `key=` in a machine-readable line such as "accuracy=0.91 loss=0.25".
double ParseMetric(const std::string& text, const std::string& key);
// The size of a file in bytes, -1 when it cannot be read.
int64_t FileSize(const std::string& path);

}  // namespace testing
}  // namespace edgeopt

#endif  // EDGEOPT_TESTS_TEST_UTIL_H_
