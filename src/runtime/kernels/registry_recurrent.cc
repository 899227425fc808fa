// Kernel family: UNIDIRECTIONAL_SEQUENCE_LSTM, LSTM, SVDF,
// UNIDIRECTIONAL_SEQUENCE_RNN.
#include "src/runtime/op_registry.h"

namespace edgeopt {
namespace rt {

const Registration* RegisterUnidirectionalSequenceLstm();

void AddRecurrentOps(OpTable* table) {
  using Op = tflite::BuiltinOperator;
  table->Add(Op::UNIDIRECTIONAL_SEQUENCE_LSTM,
             RegisterUnidirectionalSequenceLstm());
}

}  // namespace rt
}  // namespace edgeopt
