// UNIDIRECTIONAL_SEQUENCE_LSTM: an LSTM over a [time, batch, input]
// (time_major) or [batch, time, input] sequence, with TFLite 2.9's float,
// hybrid and integer (8x8_16) kernels. The state tensors (inputs 18 and 19)
// persist across Invoke calls. See lstm_common.h.
#include "src/runtime/kernels/lstm_common.h"

namespace edgeopt {
namespace rt {
namespace {

void* Init(Context* ctx, const Node*) { return lstm::Init(ctx, lstm::Kind::kSequence); }

}  // namespace

const Registration* RegisterUnidirectionalSequenceLstm() {
  static const Registration reg = {"UNIDIRECTIONAL_SEQUENCE_LSTM", Init, lstm::Prepare, lstm::Eval};
  return &reg;
}

}  // namespace rt
}  // namespace edgeopt
