// Runs a Keras file load in a child process. libhdf5 (1.10) is not robust against damaged
// files: a corrupt global heap makes it crash (memcpy out of bounds in H5HG_read) or loop forever
// (H5C_protect), which a converter of untrusted files must not do. The child loads the model and
// sends it back through a pipe; a crash, a hang (timeout) or garbage becomes a Status naming the
// file. EDGEOPT_KERAS_IN_PROCESS=1 loads in-process instead (debugging).
#ifndef EDGEOPT_SRC_IMPORTERS_KERAS_ISOLATED_LOAD_H_
#define EDGEOPT_SRC_IMPORTERS_KERAS_ISOLATED_LOAD_H_

#include <functional>
#include <string>
#include <vector>

#include "src/importers/keras/keras_model.h"

namespace edgeopt {
namespace keras {

constexpr int kIsolatedLoadTimeoutSeconds = 300;

StatusOr<KerasModel> LoadIsolated(const std::string& file,
                                  const std::function<StatusOr<KerasModel>()>& load,
                                  int timeout_seconds = kIsolatedLoadTimeoutSeconds);

// The byte form sent through the pipe (exposed for tests).
std::vector<uint8_t> SerializeLoadResult(const StatusOr<KerasModel>& result);
StatusOr<KerasModel> ParseLoadResult(const std::vector<uint8_t>& bytes, const std::string& file);

}  // namespace keras
}  // namespace edgeopt

#endif  // EDGEOPT_SRC_IMPORTERS_KERAS_ISOLATED_LOAD_H_
