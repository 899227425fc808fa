// Kernel family: CONV_2D, DEPTHWISE_CONV_2D, FULLY_CONNECTED, TRANSPOSE_CONV (float, int8,
// uint8, int16x8, hybrid, sparse).
#include "src/runtime/op_registry.h"

namespace edgeopt {
namespace rt {

void AddConvOps(OpTable* table) { (void)table; }

}  // namespace rt
}  // namespace edgeopt
