// Shared pieces of the edgeopt CLI: error reporting and model loading.
#ifndef EDGEOPT_TOOLS_CLI_CLI_UTIL_H_
#define EDGEOPT_TOOLS_CLI_CLI_UTIL_H_

#include <memory>
#include <string>
#include <vector>

#include "include/edgeopt/status.h"
#include "src/runtime/interpreter.h"
#include "src/util/file_util.h"

namespace edgeopt {
namespace cli {

// Exit codes: 0 success, 1 failure (with a message), 2 usage error.
constexpr int kExitOk = 0;
constexpr int kExitFailure = 1;
constexpr int kExitUsage = 2;

// Parses a command line with CLI11: --help prints and exits 0; a usage error prints the
// message and a hint, and exits 2 (CLI11's own codes are not used).
#define EDGEOPT_CLI_PARSE(app, argc, argv)                                    \
  do {                                                                        \
    try {                                                                     \
      (app).parse((argc), (argv));                                            \
    } catch (const CLI::CallForHelp&) {                                       \
      std::printf("%s", (app).help().c_str());                                \
      return ::edgeopt::cli::kExitOk;                                         \
    } catch (const CLI::CallForAllHelp&) {                                    \
      std::printf("%s", (app).help().c_str());                                \
      return ::edgeopt::cli::kExitOk;                                         \
    } catch (const CLI::ParseError& e) {                                      \
      std::fprintf(stderr, "%s: %s\nRun with --help for more information.\n", \
                   (app).get_name().c_str(), e.what());                       \
      return ::edgeopt::cli::kExitUsage;                                      \
    }                                                                         \
  } while (0)

// Prints "edgeopt COMMAND: error: MESSAGE" to stderr and returns kExitFailure.
int ReportError(const char* command, const Status& status);

struct LoadedModel {
  std::unique_ptr<MappedFile> file;
  std::unique_ptr<rt::Interpreter> interpreter;
};
// Maps a .tflite file and builds an interpreter; errors name the file.
StatusOr<LoadedModel> LoadTflite(const std::string& path, const rt::InterpreterOptions& options);

// "[1,28,28,1]".
std::string DimsString(const rt::Dims& dims);

// The q-quantile of `v` (0.5: the median), linearly interpolated; -1 when `v` is empty.
double Percentile(std::vector<double> v, double q);

// Latencies of several models measured side by side: seeded random inputs, 10 untimed runs
// each, then `runs` timed runs per model in `rounds` rounds that alternate over the models, each
// model's turn after untimed runs (at least 3 and 3 ms: after another model the caches hold
// that model's data). us[m] gets model m's times in microseconds; errors name names[m].
Status TimeInterleaved(const std::vector<rt::Interpreter*>& models,
                       const std::vector<std::string>& names, int runs, int rounds,
                       std::vector<std::vector<double>>* us);

}  // namespace cli
}  // namespace edgeopt

#endif  // EDGEOPT_TOOLS_CLI_CLI_UTIL_H_
