// Operator versions as TensorFlow Lite 2.9 assigns them: the lowest version of a builtin op that
// supports a node's input/output types and options (the rules of TF 2.9's
// tensorflow/lite/tools/versioning/op_version.cc), and the TFLite runtime release that first
// shipped each (op, version) (runtime_version.cc), limited to what TFLite 2.9 registers.
#ifndef EDGEOPT_SRC_EXPORT_TFLITE_OP_VERSION_H_
#define EDGEOPT_SRC_EXPORT_TFLITE_OP_VERSION_H_

#include <string>

#include "src/ir/graph.h"

namespace edgeopt {
namespace tfl {

// The version TFLite's rules give the node (uncapped; may exceed what 2.9 supports).
int RequiredOpVersion(const ir::Graph& graph, const ir::Node& node);
// RequiredOpVersion, checked against TFLite 2.9: an error naming the node if 2.9 has no such
// version of the op (or no such op).
StatusOr<int> SelectOpVersion(const ir::Graph& graph, const ir::Node& node,
                              const std::string& where);
// "1.14.0" for (CONV_2D, 3); "" if the pair is not in TFLite 2.9's table.
std::string MinRuntimeVersion(const std::string& op, int version);
// The highest version of `op` that TFLite 2.9 registers, or 0 if it has none.
int MaxVersionInTflite29(const std::string& op);
// true if runtime version a < b ("1.14.0" < "2.3.0"); "" is below everything.
bool RuntimeVersionLess(const std::string& a, const std::string& b);

}  // namespace tfl
}  // namespace edgeopt

#endif  // EDGEOPT_SRC_EXPORT_TFLITE_OP_VERSION_H_
