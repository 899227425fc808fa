// Kernel family: UNIDIRECTIONAL_SEQUENCE_LSTM, SVDF.
#include "src/runtime/op_registry.h"

namespace edgeopt {
namespace rt {

void AddRecurrentOps(OpTable* table) { (void)table; }

}  // namespace rt
}  // namespace edgeopt
