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
  EDGEOPT_ADD_OP(table, UNIDIRECTIONAL_SEQUENCE_LSTM, RegisterUnidirectionalSequenceLstm);
  EDGEOPT_ADD_OP(table, LSTM, RegisterLstm);
  EDGEOPT_ADD_OP(table, SVDF, RegisterSvdf);
  EDGEOPT_ADD_OP(table, UNIDIRECTIONAL_SEQUENCE_RNN, RegisterUnidirectionalSequenceRnn);
}

}  // namespace rt
}  // namespace edgeopt
