// Shared Prepare/Eval of TFLite's "full" LSTM kernels: UNIDIRECTIONAL_SEQUENCE_LSTM (a sequence,
// time- or batch-major) and LSTM (one step). Both use the 24-input layout below (20 inputs in old
// files: no layer norm); optional tensors are -1. Variants, picked from the input and weight types
// as TFLite 2.9 does:
//   float    input f32, weights f32
//   hybrid   input f32, weights int8 (per-tensor), float biases/states
//   integer  input int8, weights int8, int32 biases, int8 output state, int16 cell state,
//            5 intermediates (gate matmul scales with layer norm, and the hidden state's scale)
#ifndef EDGEOPT_SRC_RUNTIME_KERNELS_LSTM_COMMON_H_
#define EDGEOPT_SRC_RUNTIME_KERNELS_LSTM_COMMON_H_

#include <cstddef>
#include <cstdint>

#include "include/edgeopt/status.h"
#include "src/runtime/kernel_api.h"
#include "src/runtime/kernels/recurrent_ukernels.h"
#include "src/runtime/kernels/reference/lstm.h"
#include "src/runtime/kernels/ukernels/configs.h"
#include "src/runtime/kernels/ukernels/vunary.h"

namespace edgeopt {
namespace rt {
namespace lstm {

// Input tensor indices.
enum : int {
  kInput = 0,
  kInputToInputWeights = 1,  // optional (CIFG when absent); gate g at 1 + g
  kInputToForgetWeights = 2,
  kInputToCellWeights = 3,
  kInputToOutputWeights = 4,
  kRecurrentToInputWeights = 5,  // optional; gate g at 5 + g
  kRecurrentToForgetWeights = 6,
  kRecurrentToCellWeights = 7,
  kRecurrentToOutputWeights = 8,
  kCellToInputWeights = 9,  // peepholes, optional
  kCellToForgetWeights = 10,
  kCellToOutputWeights = 11,
  kInputGateBias = 12,  // optional; gate g at 12 + g
  kForgetGateBias = 13,
  kCellGateBias = 14,
  kOutputGateBias = 15,
  kProjectionWeights = 16,  // optional
  kProjectionBias = 17,     // optional
  kOutputState = 18,        // variable
  kCellState = 19,          // variable
  kInputLayerNorm = 20,     // optional; gate g at 20 + g
  kForgetLayerNorm = 21,
  kCellLayerNorm = 22,
  kOutputLayerNorm = 23,
};

enum class Kind : uint8_t { kSequence, kSingleStep };
enum class Variant : uint8_t { kFloat, kHybrid, kInteger };

struct OpData {
  Kind kind = Kind::kSequence;
  Variant variant = Variant::kFloat;
  ref::Activation activation = ref::Activation::kNone;
  float cell_clip = 0.0f;
  float proj_clip = 0.0f;
  bool time_major = false;
  bool asymmetric = false;
  bool use_layer_norm = false;
  int max_time = 1;
  ref::LstmSizes sizes;  // n_batch is the whole batch
  int scratch_index = -1;
  // Hybrid: weight scales and row sums (precomputed; the int8 pointers are bound in Prepare).
  ref::HybridLstmWeights hybrid;
  // Integer: multipliers, effective biases and weight pointers.
  ref::IntegerLstmParams integer;
  // The optimized step (null: the reference step): the present gates' input and recurrent weights
  // stacked ([first_gate, 4) x n_cell rows) and the projection, packed for `kernels`.
  const recurrent::Kernels* kernels = nullptr;
  int first_gate = 0;  // 1 under CIFG
  const void* packed_input = nullptr;
  const void* packed_recurrent = nullptr;
  const void* packed_projection = nullptr;
  // Integer activations as tables.
  const int16_t* sigmoid_table = nullptr;
  const int16_t* gate_tanh_table = nullptr;
  const int16_t* cell_tanh_table = nullptr;
  // Integer: the requantization of the vector step kernels (kernels->s16_gate, s16_cell,
  // s8_hidden): [gate][input, recurrent], then the hidden state's (null: the step's own loops).
  const uk::RequantBlock16* gate_requant = nullptr;
  // Float sigmoid/tanh (null: the reference's libm ones).
  uk::F32VUnaryFn sigmoid = nullptr;
  uk::F32VUnaryFn tanh = nullptr;
  // Hybrid: the run-time quantization kernels (null: the reference loops).
  const uk::DynamicQuantConfig* dynamic_quant = nullptr;
};

// Init/Prepare/Eval for both op kinds.
void* Init(Context* ctx, Kind kind);
Status Prepare(Context* ctx, Node* node);
Status Eval(Context* ctx, Node* node);

}  // namespace lstm
}  // namespace rt
}  // namespace edgeopt

#endif  // EDGEOPT_SRC_RUNTIME_KERNELS_LSTM_COMMON_H_
