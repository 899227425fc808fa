// LSTM (the single-step op, TFLite's "full" kernel): input [batch, input], output [batch, output],
// the same 20/24-input layout and variants as UNIDIRECTIONAL_SEQUENCE_LSTM. The BASIC kernel type
// is refused. See lstm_common.h.
#include "src/runtime/kernels/lstm_common.h"

namespace edgeopt {
namespace rt {
namespace {

void* Init(Context* ctx, const Node*) { return lstm::Init(ctx, lstm::Kind::kSingleStep); }

}  // namespace

const Registration* RegisterLstm() {
  static const Registration reg = {"LSTM", Init, lstm::Prepare, lstm::Eval};
  return &reg;
}

}  // namespace rt
}  // namespace edgeopt
