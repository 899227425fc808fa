// Kernel family: UNIDIRECTIONAL_SEQUENCE_LSTM, LSTM, SVDF,
// UNIDIRECTIONAL_SEQUENCE_RNN.
#include "src/runtime/op_registry.h"

namespace edgeopt {
namespace rt {

const Registration* RegisterUnidirectionalSequenceLstm();
const Registration* RegisterLstm();
const Registration* RegisterSvdf();
const Registration* RegisterUnidirectionalSequenceRnn();

void AddRecurrentOps(OpTable* table) {
  using Op = tflite::BuiltinOperator;
  table->Add(Op::UNIDIRECTIONAL_SEQUENCE_LSTM,
             RegisterUnidirectionalSequenceLstm());
  table->Add(Op::LSTM, RegisterLstm());
  table->Add(Op::SVDF, RegisterSvdf());
  table->Add(Op::UNIDIRECTIONAL_SEQUENCE_RNN,
             RegisterUnidirectionalSequenceRnn());
}

}  // namespace rt
}  // namespace edgeopt
