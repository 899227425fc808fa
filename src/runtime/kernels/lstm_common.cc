#include "src/runtime/kernels/lstm_common.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <new>

#include "src/quant/quant_math.h"
#include "src/runtime/kernels/dynamic_quant.h"
#include "src/runtime/kernels/kernel_util.h"
#include "src/runtime/kernels/recurrent_util.h"

namespace edgeopt {
namespace rt {
namespace lstm {
namespace {

const char* const kTensorNames[24] = {
    "input",
    "input_to_input_weights",
    "input_to_forget_weights",
    "input_to_cell_weights",
    "input_to_output_weights",
    "recurrent_to_input_weights",
    "recurrent_to_forget_weights",
    "recurrent_to_cell_weights",
    "recurrent_to_output_weights",
    "cell_to_input_weights",
    "cell_to_forget_weights",
    "cell_to_output_weights",
    "input_gate_bias",
    "forget_gate_bias",
    "cell_gate_bias",
    "output_gate_bias",
    "projection_weights",
    "projection_bias",
    "output_state",
    "cell_state",
    "input_layer_norm_coefficients",
    "forget_layer_norm_coefficients",
    "cell_layer_norm_coefficients",
    "output_layer_norm_coefficients",
};

// Peephole input index per gate (the cell gate has none).
constexpr int kPeepholeIndex[4] = {kCellToInputWeights, kCellToForgetWeights, -1,
                                   kCellToOutputWeights};

const Tensor* Optional(Context* ctx, const Node* node, int index) {
  return index < 0 ? nullptr : ctx->input(node, index);
}

Status Required(Context* ctx, const Node* node, int index, const Tensor** out) {
  *out = ctx->input(node, index);
  EDGEOPT_ENSURE(*out != nullptr, StatusCode::kInvalidModel, "required input %d (%s) is missing",
                 index, kTensorNames[index]);
  return Status::Ok();
}

template <typename T>
const T* DataOf(const Tensor* t) {
  return t != nullptr ? t->Data<T>() : nullptr;
}

// Checks an optional input's type and dims (when present).
Status CheckTensor(const Tensor* t, int index, DType type, int rank, int32_t d0, int32_t d1 = -1) {
  if (t == nullptr) return Status::Ok();
  const char* what = kTensorNames[index];
  EDGEOPT_ENSURE(t->type == type, StatusCode::kUnsupported, "%s (%s) has type %s, expected %s",
                 what, t->name, DTypeName(t->type), DTypeName(type));
  const int32_t dims[2] = {d0, d1};
  EDGEOPT_RETURN_IF_ERROR(CheckDims(t, what, rank, dims));
  EDGEOPT_ENSURE(t->dims.NumElements() <= kMaxRecurrentElements, StatusCode::kUnsupported,
                 "%s (%s) is too large", what, t->name);
  EDGEOPT_ENSURE(t->data != nullptr || !t->IsConstant(), StatusCode::kInvalidModel,
                 "%s (%s) has no data", what, t->name);
  return Status::Ok();
}

Status ReadOptions(const Node* node, OpData* d) {
  int activation = 0;
  if (d->kind == Kind::kSequence) {
    const auto* o = GetOptions<tflite::UnidirectionalSequenceLSTMOptions>(node);
    if (o != nullptr) {
      activation = static_cast<int>(o->fused_activation_function());
      d->cell_clip = o->cell_clip();
      d->proj_clip = o->proj_clip();
      d->time_major = o->time_major();
      d->asymmetric = o->asymmetric_quantize_inputs();
      EDGEOPT_ENSURE(!o->diagonal_recurrent_tensors(), StatusCode::kUnsupported,
                     "diagonal_recurrent_tensors is not supported (TFLite 2.9 "
                     "has no such LSTM)");
    }
  } else {
    const auto* o = GetOptions<tflite::LSTMOptions>(node);
    if (o != nullptr) {
      activation = static_cast<int>(o->fused_activation_function());
      d->cell_clip = o->cell_clip();
      d->proj_clip = o->proj_clip();
      d->asymmetric = o->asymmetric_quantize_inputs();
      EDGEOPT_ENSURE(o->kernel_type() == tflite::LSTMKernelType::FULL, StatusCode::kUnsupported,
                     "the BASIC LSTM kernel type is not supported");
    }
  }
  EDGEOPT_ENSURE(activation >= 0 && activation <= static_cast<int>(ref::Activation::kSignBit),
                 StatusCode::kInvalidModel, "unknown fused activation %d", activation);
  d->activation = static_cast<ref::Activation>(activation);
  EDGEOPT_ENSURE(std::isfinite(d->cell_clip) && d->cell_clip >= 0.0f, StatusCode::kInvalidModel,
                 "cell_clip is %g; expected finite and >= 0", static_cast<double>(d->cell_clip));
  EDGEOPT_ENSURE(std::isfinite(d->proj_clip) && d->proj_clip >= 0.0f, StatusCode::kInvalidModel,
                 "proj_clip is %g; expected finite and >= 0", static_cast<double>(d->proj_clip));
  return Status::Ok();
}

// Checks every input's presence rules, type and shape (TFLite's CheckInputTensorDimensions, plus
// the types the kernels rely on).
Status CheckInputs(Context* ctx, const Node* node, const OpData& d) {
  const ref::LstmSizes& s = d.sizes;
  const Variant v = d.variant;
  const DType weight_type = v == Variant::kFloat ? DType::kFloat32 : DType::kInt8;
  const DType peephole_type = v == Variant::kFloat    ? DType::kFloat32
                              : v == Variant::kHybrid ? DType::kInt8
                                                      : DType::kInt16;
  const DType bias_type = v == Variant::kInteger ? DType::kInt32 : DType::kFloat32;
  const DType norm_type = v == Variant::kInteger ? DType::kInt16 : DType::kFloat32;

  const Tensor* t[24];
  for (int i = 0; i < 24; ++i) t[i] = Optional(ctx, node, i);
  for (int g = 0; g < 4; ++g) {
    if (g != 0) {
      EDGEOPT_ENSURE(t[1 + g] != nullptr && t[5 + g] != nullptr && t[12 + g] != nullptr,
                     StatusCode::kInvalidModel,
                     "the %s gate needs its input weights, recurrent weights and bias",
                     g == 1   ? "forget"
                     : g == 2 ? "cell"
                              : "output");
    }
    EDGEOPT_RETURN_IF_ERROR(CheckTensor(t[1 + g], 1 + g, weight_type, 2, s.n_cell, s.n_input));
    EDGEOPT_RETURN_IF_ERROR(CheckTensor(t[5 + g], 5 + g, weight_type, 2, s.n_cell, s.n_output));
    EDGEOPT_RETURN_IF_ERROR(CheckTensor(t[12 + g], 12 + g, bias_type, 1, s.n_cell));
  }
  const bool cifg = t[kInputToInputWeights] == nullptr;
  EDGEOPT_ENSURE(cifg == (t[kRecurrentToInputWeights] == nullptr), StatusCode::kInvalidModel,
                 "input_to_input_weights and recurrent_to_input_weights must "
                 "be both present or "
                 "both absent (CIFG)");
  EDGEOPT_ENSURE(
      cifg == (t[kInputGateBias] == nullptr), StatusCode::kInvalidModel,
      cifg ? "input_gate_bias must be absent in a CIFG LSTM" : "input_gate_bias is missing");
  for (int i = kCellToInputWeights; i <= kCellToOutputWeights; ++i) {
    EDGEOPT_RETURN_IF_ERROR(CheckTensor(t[i], i, peephole_type, 1, s.n_cell));
  }
  const bool peephole = t[kCellToOutputWeights] != nullptr;
  const bool peephole_ok =
      (peephole && t[kCellToForgetWeights] != nullptr &&
       (cifg || t[kCellToInputWeights] != nullptr)) ||
      (!peephole && t[kCellToForgetWeights] == nullptr && t[kCellToInputWeights] == nullptr);
  EDGEOPT_ENSURE(peephole_ok, StatusCode::kInvalidModel,
                 "the peephole weights must be all present or all absent");
  EDGEOPT_ENSURE(!(cifg && t[kCellToInputWeights] != nullptr), StatusCode::kInvalidModel,
                 "cell_to_input_weights must be absent in a CIFG LSTM");
  EDGEOPT_RETURN_IF_ERROR(
      CheckTensor(t[kProjectionWeights], kProjectionWeights, weight_type, 2, s.n_output, s.n_cell));
  EDGEOPT_RETURN_IF_ERROR(
      CheckTensor(t[kProjectionBias], kProjectionBias, bias_type, 1, s.n_output));
  EDGEOPT_ENSURE(t[kProjectionWeights] != nullptr || t[kProjectionBias] == nullptr,
                 StatusCode::kInvalidModel, "projection_bias needs projection_weights");
  EDGEOPT_ENSURE(t[kProjectionWeights] != nullptr || s.n_output == s.n_cell,
                 StatusCode::kInvalidModel,
                 "without projection the output size (%d) must equal the cell count (%d)",
                 s.n_output, s.n_cell);
  if (d.use_layer_norm) {
    EDGEOPT_ENSURE(cifg == (t[kInputLayerNorm] == nullptr), StatusCode::kInvalidModel,
                   cifg ? "input_layer_norm_coefficients must be absent in a CIFG LSTM"
                        : "input_layer_norm_coefficients is missing");
    EDGEOPT_ENSURE(t[kCellLayerNorm] != nullptr && t[kOutputLayerNorm] != nullptr,
                   StatusCode::kInvalidModel, "layer norm LSTM needs all its coefficients");
    for (int i = kInputLayerNorm; i <= kOutputLayerNorm; ++i) {
      EDGEOPT_RETURN_IF_ERROR(CheckTensor(t[i], i, norm_type, 1, s.n_cell));
    }
  }
  if (v == Variant::kInteger && peephole) {
    EDGEOPT_ENSURE(s.n_output <= s.n_cell, StatusCode::kUnsupported,
                   "integer LSTM with peepholes and n_output (%d) > n_cell "
                   "(%d) is not supported "
                   "(TFLite 2.9 reads out of bounds)",
                   s.n_output, s.n_cell);
  }
  if (v != Variant::kFloat) {
    // Precomputations read these at Prepare time.
    for (int i = 1; i < 24; ++i) {
      if (i == kOutputState || i == kCellState || t[i] == nullptr) continue;
      if (i >= kInputLayerNorm && !d.use_layer_norm) continue;
      EDGEOPT_RETURN_IF_ERROR(CheckConstant(t[i], kTensorNames[i]));
    }
  }
  return Status::Ok();
}

// Sum of an int8 row, with TFLite's wrapping int32 arithmetic.
int32_t RowSum(const int8_t* row, int n) {
  int64_t sum = 0;
  for (int c = 0; c < n; ++c) sum += row[c];
  return ref::WrapToInt32(sum);
}

// Row sums of an int8 [rows, cols] matrix into persistent memory (nullptr when m is null).
Status RowSums(Context* ctx, const int8_t* m, int rows, int cols, const int32_t** out) {
  *out = nullptr;
  if (m == nullptr) return Status::Ok();
  int32_t* sums = static_cast<int32_t*>(ctx->AllocatePersistent(sizeof(int32_t) * rows));
  EDGEOPT_ENSURE(sums != nullptr, StatusCode::kOutOfMemory, "out of memory");
  for (int r = 0; r < rows; ++r) sums[r] = RowSum(m + static_cast<int64_t>(r) * cols, cols);
  *out = sums;
  return Status::Ok();
}

Status PrepareHybrid(Context* ctx, const Node* node, OpData* d) {
  const ref::LstmSizes& s = d->sizes;
  ref::HybridLstmWeights& w = d->hybrid;
  w = ref::HybridLstmWeights();
  for (int g = 0; g < 4; ++g) {
    const Tensor* in_w = Optional(ctx, node, 1 + g);
    const Tensor* rec_w = Optional(ctx, node, 5 + g);
    const Tensor* peep = Optional(ctx, node, kPeepholeIndex[g]);
    if (in_w != nullptr) {
      EDGEOPT_RETURN_IF_ERROR(PerTensorScale(in_w, kTensorNames[1 + g], &w.input_to_gate_scale[g]));
      EDGEOPT_RETURN_IF_ERROR(
          PerTensorScale(rec_w, kTensorNames[5 + g], &w.recurrent_to_gate_scale[g]));
      w.input_to_gate[g] = in_w->Data<int8_t>();
      w.recurrent_to_gate[g] = rec_w->Data<int8_t>();
    }
    if (peep != nullptr) {
      EDGEOPT_RETURN_IF_ERROR(
          PerTensorScale(peep, kTensorNames[kPeepholeIndex[g]], &w.cell_to_gate_scale[g]));
      w.cell_to_gate[g] = peep->Data<int8_t>();
    }
    w.gate_bias[g] = DataOf<float>(Optional(ctx, node, 12 + g));
    if (d->use_layer_norm) w.layer_norm[g] = DataOf<float>(Optional(ctx, node, 20 + g));
    if (d->asymmetric) {
      EDGEOPT_RETURN_IF_ERROR(
          RowSums(ctx, w.input_to_gate[g], s.n_cell, s.n_input, &w.input_row_sums[g]));
      EDGEOPT_RETURN_IF_ERROR(
          RowSums(ctx, w.recurrent_to_gate[g], s.n_cell, s.n_output, &w.recurrent_row_sums[g]));
    }
  }
  const Tensor* proj = Optional(ctx, node, kProjectionWeights);
  if (proj != nullptr) {
    EDGEOPT_RETURN_IF_ERROR(PerTensorScale(proj, "projection_weights", &w.projection_scale));
    w.projection = proj->Data<int8_t>();
    w.projection_bias = DataOf<float>(Optional(ctx, node, kProjectionBias));
    if (d->asymmetric) {
      EDGEOPT_RETURN_IF_ERROR(
          RowSums(ctx, w.projection, s.n_output, s.n_cell, &w.projection_row_sums));
    }
  }
  return Status::Ok();
}

// log2 of a power-of-two scale, as TFLite's CheckedLog2 (float arithmetic, 1e-3 tolerance).
bool CheckedLog2(float x, int* result) {
  const float x_log2 = std::log(x) * (1.0f / std::log(2.0f));
  const float rounded = std::round(x_log2);
  *result = static_cast<int>(rounded);
  return std::fabs(x_log2 - rounded) < 1e-3f;
}

Status ZeroPoint8(const Tensor* t, const char* what, int32_t* zp) {
  *zp = t->quant.zero_point;
  EDGEOPT_ENSURE(*zp >= -128 && *zp <= 127, StatusCode::kInvalidModel,
                 "%s (%s) has zero point %d outside the int8 range", what, t->name, *zp);
  return Status::Ok();
}

// effective bias[r] = bias[r] (or 0) + zp * sum(m[r]), in TFLite's wrapping int32 arithmetic.
Status EffectiveBias(Context* ctx, const int8_t* m, const int32_t* bias, int32_t zp, int rows,
                     int cols, const int32_t** out) {
  *out = nullptr;
  if (m == nullptr) return Status::Ok();
  int32_t* eb = static_cast<int32_t*>(ctx->AllocatePersistent(sizeof(int32_t) * rows));
  EDGEOPT_ENSURE(eb != nullptr, StatusCode::kOutOfMemory, "out of memory");
  for (int r = 0; r < rows; ++r) {
    const int64_t row_sum = RowSum(m + static_cast<int64_t>(r) * cols, cols);
    eb[r] = ref::WrapToInt32(static_cast<int64_t>(bias != nullptr ? bias[r] : 0) + row_sum * zp);
  }
  *out = eb;
  return Status::Ok();
}

void Multiplier(float scale, int32_t* multiplier, int* shift) {
  quant::QuantizeMultiplier(static_cast<double>(scale), multiplier, shift);
}

// TFLite's PopulateQuantizedLstmParams8x8_16 and PopulatePrecomputedZPTimesWeightsWithBias.
Status PrepareInteger(Context* ctx, const Node* node, OpData* d) {
  const ref::LstmSizes& s = d->sizes;
  ref::IntegerLstmParams& p = d->integer;
  p = ref::IntegerLstmParams();
  EDGEOPT_ENSURE(node->num_intermediates == 5, StatusCode::kInvalidModel,
                 "integer LSTM needs 5 intermediate tensors, the node has %d",
                 node->num_intermediates);
  const Tensor* input = ctx->input(node, kInput);
  const Tensor* output_state = ctx->input(node, kOutputState);
  const Tensor* cell_state = ctx->input(node, kCellState);
  const Tensor* output = ctx->output(node, 0);

  float input_scale = 0, state_scale = 0, cell_scale_f = 0, output_scale = 0, hidden_scale = 0;
  int32_t input_zp = 0, state_zp = 0, hidden_zp = 0;
  EDGEOPT_RETURN_IF_ERROR(PerTensorScale(input, "input", &input_scale));
  EDGEOPT_RETURN_IF_ERROR(ZeroPoint8(input, "input", &input_zp));
  EDGEOPT_RETURN_IF_ERROR(PerTensorScale(output_state, "output_state", &state_scale));
  EDGEOPT_RETURN_IF_ERROR(ZeroPoint8(output_state, "output_state", &state_zp));
  EDGEOPT_RETURN_IF_ERROR(PerTensorScale(cell_state, "cell_state", &cell_scale_f));
  EDGEOPT_RETURN_IF_ERROR(PerTensorScale(output, "output", &output_scale));
  EDGEOPT_ENSURE(CheckedLog2(cell_scale_f, &p.cell_scale), StatusCode::kInvalidModel,
                 "cell_state scale %g is not a power of two", static_cast<double>(cell_scale_f));
  EDGEOPT_ENSURE(p.cell_scale >= -15 && p.cell_scale <= -9, StatusCode::kUnsupported,
                 "cell_state scale 2^%d is not supported (TFLite 2.9 handles "
                 "2^-15 to 2^-9)",
                 p.cell_scale);
  const Tensor* hidden = ctx->intermediate(node, 4);
  EDGEOPT_ENSURE(hidden != nullptr, StatusCode::kInvalidModel, "intermediate 4 is missing");
  EDGEOPT_RETURN_IF_ERROR(PerTensorScale(hidden, "intermediate 4 (hidden state)", &hidden_scale));
  EDGEOPT_RETURN_IF_ERROR(ZeroPoint8(hidden, "intermediate 4 (hidden state)", &hidden_zp));

  float gate_scale[4];
  for (int g = 0; g < 4; ++g) {
    gate_scale[g] = 1.0f / 4096.0f;  // Q3.12 without layer norm
    if (d->use_layer_norm) {
      const Tensor* im = ctx->intermediate(node, g);
      EDGEOPT_ENSURE(im != nullptr, StatusCode::kInvalidModel, "intermediate %d is missing", g);
      EDGEOPT_RETURN_IF_ERROR(PerTensorScale(im, "layer norm intermediate", &gate_scale[g]));
    }
  }
  const int32_t* zero = nullptr;
  for (int g = 0; g < 4; ++g) {
    ref::IntegerLstmGateParams& gp = p.gate[g];
    const Tensor* in_w = Optional(ctx, node, 1 + g);
    if (in_w == nullptr) continue;  // CIFG input gate
    const Tensor* rec_w = ctx->input(node, 5 + g);
    float in_w_scale = 0, rec_w_scale = 0;
    EDGEOPT_RETURN_IF_ERROR(PerTensorScale(in_w, kTensorNames[1 + g], &in_w_scale));
    EDGEOPT_RETURN_IF_ERROR(PerTensorScale(rec_w, kTensorNames[5 + g], &rec_w_scale));
    const float eff_in = in_w_scale * input_scale / gate_scale[g];
    const float eff_rec = rec_w_scale * state_scale / gate_scale[g];
    Multiplier(eff_in, &gp.input_multiplier, &gp.input_shift);
    Multiplier(eff_rec, &gp.recurrent_multiplier, &gp.recurrent_shift);
    gp.input_weights = in_w->Data<int8_t>();
    gp.recurrent_weights = rec_w->Data<int8_t>();
    const int32_t* bias = DataOf<int32_t>(ctx->input(node, 12 + g));
    EDGEOPT_RETURN_IF_ERROR(EffectiveBias(ctx, gp.input_weights, d->use_layer_norm ? zero : bias,
                                          -input_zp, s.n_cell, s.n_input,
                                          &gp.input_effective_bias));
    EDGEOPT_RETURN_IF_ERROR(EffectiveBias(ctx, gp.recurrent_weights, zero, -state_zp, s.n_cell,
                                          s.n_output, &gp.recurrent_effective_bias));
    const Tensor* peep = Optional(ctx, node, kPeepholeIndex[g]);
    if (peep != nullptr) {
      float peep_scale = 0;
      EDGEOPT_RETURN_IF_ERROR(PerTensorScale(peep, kTensorNames[kPeepholeIndex[g]], &peep_scale));
      const float eff_cell =
          static_cast<float>(std::pow(2.0, p.cell_scale) * static_cast<double>(peep_scale) /
                             static_cast<double>(gate_scale[g]));
      Multiplier(eff_cell, &gp.cell_multiplier, &gp.cell_shift);
      gp.cell_weights = peep->Data<int16_t>();
    }
    if (d->use_layer_norm) {
      const Tensor* ln = ctx->input(node, 20 + g);
      float ln_scale = 0;
      EDGEOPT_RETURN_IF_ERROR(PerTensorScale(ln, kTensorNames[20 + g], &ln_scale));
      Multiplier(ln_scale, &gp.layer_norm_multiplier, &gp.layer_norm_shift);
      gp.layer_norm = ln->Data<int16_t>();
      gp.layer_norm_bias = bias;
      const float guard = std::min(10000.0f * ln_scale, 2147483520.0f);
      gp.variance_guard = std::max(int32_t{1}, static_cast<int32_t>(guard));
    }
  }
  const double hidden_eff =
      std::pow(2.0, -15) / static_cast<double>(hidden_scale) * std::pow(2.0, -15);
  Multiplier(static_cast<float>(hidden_eff), &p.hidden_multiplier, &p.hidden_shift);
  // TFLite stores hidden = h / scale - zp (its CwiseMul subtracts the zero point) and compensates
  // in the projection bias with +zp * row sums.
  p.hidden_zp = -hidden_zp;
  p.output_state_zp = state_zp;
  const Tensor* proj = Optional(ctx, node, kProjectionWeights);
  if (proj != nullptr) {
    float proj_scale = 0;
    EDGEOPT_RETURN_IF_ERROR(PerTensorScale(proj, "projection_weights", &proj_scale));
    Multiplier(proj_scale * hidden_scale / state_scale, &p.projection_multiplier,
               &p.projection_shift);
    p.projection = proj->Data<int8_t>();
    EDGEOPT_RETURN_IF_ERROR(
        EffectiveBias(ctx, p.projection, DataOf<int32_t>(Optional(ctx, node, kProjectionBias)),
                      hidden_zp, s.n_output, s.n_cell, &p.projection_effective_bias));
  }
  if (d->cell_clip > 0.0f) {
    const float q = std::min(std::max(d->cell_clip / cell_scale_f, -32768.0f), 32767.0f);
    p.cell_clip = static_cast<int16_t>(q);
  }
  if (d->proj_clip > 0.0f) {
    const float q = std::min(std::max(d->proj_clip / output_scale, -128.0f), 127.0f);
    p.proj_clip = static_cast<int8_t>(q);
  }
  return Status::Ok();
}

// Scratch memory: one buffer carved into aligned pieces.
struct ScratchLayout {
  size_t gate[4] = {};
  size_t hidden = 0;                              // float: act(c) * o; integer: int8 hidden
  size_t tanh = 0;                                // integer
  size_t q_input = 0, q_state = 0, q_hidden = 0;  // hybrid
  size_t input_sf = 0, state_sf = 0, hidden_sf = 0;
  size_t input_zp = 0, state_zp = 0, hidden_zp = 0;
  size_t recovered = 0;
  // The optimized step: vector column pairs (integer), products of one batch row.
  size_t input_pairs = 0, state_pairs = 0, hidden_pairs = 0;
  size_t input_dots = 0, recurrent_dots = 0, projection_dots = 0;
  size_t total = 0;
};

ScratchLayout Layout(const OpData& d) {
  const Variant v = d.variant;
  const ref::LstmSizes& s = d.sizes;
  ScratchLayout l;
  size_t offset = 0;
  auto take = [&offset](size_t bytes) {
    const size_t at = offset;
    offset += (bytes + 63) & ~size_t{63};
    return at;
  };
  const size_t cells = static_cast<size_t>(s.n_batch) * s.n_cell;
  const size_t batch = static_cast<size_t>(s.n_batch);
  const size_t gate_elem = v == Variant::kInteger ? sizeof(int16_t) : sizeof(float);
  for (int g = 0; g < 4; ++g) l.gate[g] = take(cells * gate_elem);
  if (v == Variant::kInteger) {
    l.tanh = take(cells * sizeof(int16_t));
    l.hidden = take(cells);
  } else {
    l.hidden = take(cells * sizeof(float));
  }
  if (v == Variant::kHybrid) {
    l.q_input = take(batch * s.n_input);
    l.q_state = take(batch * s.n_output);
    l.q_hidden = take(cells);
    l.input_sf = take(batch * sizeof(float));
    l.state_sf = take(batch * sizeof(float));
    l.hidden_sf = take(batch * sizeof(float));
    l.input_zp = take(batch * sizeof(int32_t));
    l.state_zp = take(batch * sizeof(int32_t));
    l.hidden_zp = take(batch * sizeof(int32_t));
    l.recovered = take(static_cast<size_t>(s.n_cell) * sizeof(float));
  }
  if (d.kernels != nullptr) {
    const size_t gate_rows = static_cast<size_t>(4 - d.first_gate) * s.n_cell;
    if (v == Variant::kInteger) {
      l.input_pairs = take(sizeof(int32_t) * recurrent::ColPairs(s.n_input));
      l.state_pairs = take(sizeof(int32_t) * recurrent::ColPairs(s.n_output));
      l.hidden_pairs = take(sizeof(int32_t) * recurrent::ColPairs(s.n_cell));
      l.input_dots = take(sizeof(int32_t) * gate_rows);
      l.recurrent_dots = take(sizeof(int32_t) * gate_rows);
      l.projection_dots = take(sizeof(int32_t) * s.n_output);
    } else if (v == Variant::kHybrid) {
      const int widest = std::max(std::max(s.n_input, s.n_output), s.n_cell);
      l.input_pairs = take(sizeof(int32_t) * recurrent::ColPairs(widest));
      l.input_dots = take(sizeof(int32_t) * batch * gate_rows);
      l.recurrent_dots = take(sizeof(int32_t) * batch * gate_rows);
      l.projection_dots = take(sizeof(int32_t) * batch * s.n_output);
    } else {
      l.input_dots = take(sizeof(float) * gate_rows);  // the stacked gates
    }
  }
  l.total = offset;
  return l;
}

// Runs `step(sizes, input_offset, output_offset, batch)` over the sequence in TFLite's order:
// time-major (or one step) processes the whole batch per step; batch-major runs each batch row
// through the whole sequence (same results, as rows are independent).
template <typename StepFn>
void RunSequence(const OpData& d, StepFn step) {
  const ref::LstmSizes& s = d.sizes;
  if (d.kind == Kind::kSingleStep || d.time_major) {
    for (int t = 0; t < d.max_time; ++t) {
      step(s, static_cast<int64_t>(t) * s.n_batch * s.n_input,
           static_cast<int64_t>(t) * s.n_batch * s.n_output, 0);
    }
    return;
  }
  ref::LstmSizes one = s;
  one.n_batch = 1;
  for (int b = 0; b < s.n_batch; ++b) {
    for (int t = 0; t < d.max_time; ++t) {
      const int64_t row = static_cast<int64_t>(b) * d.max_time + t;
      step(one, row * s.n_input, row * s.n_output, b);
    }
  }
}

// Packs the matrices of inputs first..last-1 (stacked) for the kernels.
template <typename T, typename P>
Status PackStack(Context* ctx, const Node* node, int first, int last, int rows_each, int cols,
                 size_t (*size)(int, int), void (*pack)(const T* const*, int, int, int, P*),
                 const void** out) {
  const T* m[4] = {};
  const int count = last - first;
  for (int i = 0; i < count; ++i) m[i] = ctx->input(node, first + i)->Data<T>();
  P* packed = static_cast<P*>(ctx->AllocatePersistent(sizeof(P) * size(count * rows_each, cols)));
  EDGEOPT_ENSURE(packed != nullptr, StatusCode::kOutOfMemory, "out of memory");
  pack(m, count, rows_each, cols, packed);
  *out = packed;
  return Status::Ok();
}

Status PackS8Stack(Context* ctx, const Node* node, int first, int last, int rows_each, int cols,
                   const void** out) {
  return PackStack<int8_t, int16_t>(ctx, node, first, last, rows_each, cols,
                                    recurrent::PackedS8Size, recurrent::PackS8Matrices, out);
}

Status PackF32Stack(Context* ctx, const Node* node, int first, int last, int rows_each, int cols,
                    const void** out) {
  return PackStack<float, float>(ctx, node, first, last, rows_each, cols, recurrent::PackedF32Size,
                                 recurrent::PackF32Matrices, out);
}

// The requantization blocks of the vector step kernels (gates, then the hidden state), when
// there are and every shift is one they compute as the reference does (right shifts up to 31).
Status PrepareGateRequant(Context* ctx, OpData* d) {
  d->gate_requant = nullptr;
  if (recurrent::GetKernels(ctx->cpu()).s16_gate == nullptr) return Status::Ok();
  const ref::IntegerLstmParams& p = d->integer;
  int32_t mult[9] = {}, shift[9] = {};  // [gate][input, recurrent], the hidden state
  for (int g = d->first_gate; g < 4; ++g) {
    mult[2 * g] = p.gate[g].input_multiplier;
    shift[2 * g] = p.gate[g].input_shift;
    mult[2 * g + 1] = p.gate[g].recurrent_multiplier;
    shift[2 * g + 1] = p.gate[g].recurrent_shift;
  }
  mult[8] = p.hidden_multiplier;
  shift[8] = p.hidden_shift;
  for (int s : shift) {
    if (s < -31 || s > 31) return Status::Ok();
  }
  auto* blocks =
      static_cast<uk::RequantBlock16*>(ctx->AllocatePersistent(9 * sizeof(uk::RequantBlock16)));
  EDGEOPT_ENSURE(blocks != nullptr, StatusCode::kOutOfMemory, "out of memory");
  for (int k = 0; k < 9; ++k) {
    int32_t m16[16], s16[16];
    for (int l = 0; l < 16; ++l) {
      m16[l] = mult[k];
      s16[l] = shift[k];
    }
    uk::PackRequantBlocks(16, m16, s16, &blocks[k]);
  }
  d->gate_requant = blocks;
  return Status::Ok();
}

// The optimized step's weights and tables. Float weights that are not constant (or sparse) keep
// the reference step.
Status PrepareFast(Context* ctx, const Node* node, OpData* d) {
  d->kernels = nullptr;
  d->packed_projection = nullptr;
  d->sigmoid = d->tanh = nullptr;
  const ref::LstmSizes& s = d->sizes;
  d->first_gate = ctx->input(node, kInputToInputWeights) == nullptr ? 1 : 0;
  for (int i = kInputToInputWeights + d->first_gate; i <= kProjectionWeights; ++i) {
    if (i > kRecurrentToOutputWeights && i < kProjectionWeights) continue;
    const Tensor* t = ctx->input(node, i);
    if (t == nullptr) continue;  // no projection
    if (!t->IsConstant() || t->data == nullptr || t->sparsity != nullptr) return Status::Ok();
  }
  const int first = d->first_gate;
  const bool projection = ctx->input(node, kProjectionWeights) != nullptr;
  if (d->variant == Variant::kInteger && ctx->input(node, kCellToOutputWeights) != nullptr &&
      s.n_output != s.n_cell) {
    return Status::Ok();  // the reference's peephole indexing across batch rows
  }
  // The gates' input weights stacked, their recurrent weights stacked, the projection.
  auto pack_weights = [&](auto pack) -> Status {
    EDGEOPT_RETURN_IF_ERROR(pack(ctx, node, kInputToInputWeights + first, kInputToOutputWeights + 1,
                                 s.n_cell, s.n_input, &d->packed_input));
    EDGEOPT_RETURN_IF_ERROR(pack(ctx, node, kRecurrentToInputWeights + first,
                                 kRecurrentToOutputWeights + 1, s.n_cell, s.n_output,
                                 &d->packed_recurrent));
    if (!projection) return Status::Ok();
    return pack(ctx, node, kProjectionWeights, kProjectionWeights + 1, s.n_output, s.n_cell,
                &d->packed_projection);
  };
  if (d->variant != Variant::kFloat) EDGEOPT_RETURN_IF_ERROR(pack_weights(PackS8Stack));
  if (d->variant == Variant::kInteger) {
    d->sigmoid_table = recurrent::SigmoidQ3Table(ctx->cpu());
    d->gate_tanh_table = recurrent::TanhTable(3, ctx->cpu());
    d->cell_tanh_table = recurrent::TanhTable(15 + d->integer.cell_scale, ctx->cpu());
    if (d->sigmoid_table == nullptr || d->gate_tanh_table == nullptr ||
        d->cell_tanh_table == nullptr) {
      return Status::Ok();  // out of memory for the tables: the reference step
    }
    EDGEOPT_RETURN_IF_ERROR(PrepareGateRequant(ctx, d));
  } else {
    if (d->variant == Variant::kFloat) EDGEOPT_RETURN_IF_ERROR(pack_weights(PackF32Stack));
    // The vector sigmoid/tanh are within a few ULP of libm's; when float results must repeat
    // the reference's exactly (hybrid models), the ones with libm's bits, where there are.
    const uk::VUnaryConfig* vunary = uk::GetVUnaryConfig(ctx->cpu());
    if (ctx->exact_float()) {
      const uk::LibmExactVUnary& exact = uk::GetLibmExactVUnary(ctx->cpu());
      d->sigmoid = exact.sigmoid;
      d->tanh = exact.tanh;
    } else if (vunary != nullptr) {
      d->sigmoid = vunary->sigmoid;
      d->tanh = vunary->tanh;
    }
    d->dynamic_quant = uk::GetDynamicQuantConfig(ctx->cpu());
  }
  d->kernels = &recurrent::GetKernels(ctx->cpu());
  return Status::Ok();
}

// Float activation `act` on x[0, n) into y: the vector sigmoid/tanh when there are, else the
// reference's.
void FloatActivation(const OpData& d, ref::Activation act, const float* x, int n, float* y) {
  uk::F32UnaryParams params;
  if (act == ref::Activation::kSigmoid && d.sigmoid != nullptr) {
    d.sigmoid(static_cast<size_t>(n), x, y, &params);
  } else if (act == ref::Activation::kTanh && d.tanh != nullptr) {
    d.tanh(static_cast<size_t>(n), x, y, &params);
  } else {
    ref::ApplyActivation(act, x, n, y);
  }
}

// ref::FinishFloatGate (layer norm, then the activation) with the activation through
// FloatActivation, on the s.n_batch rows of `gate`.
void FinishGate(const OpData& d, const float* layer_norm, const float* bias,
                const ref::LstmSizes& s, ref::Activation act, float* gate) {
  if (layer_norm != nullptr) {
    ref::MeanStddevNormalization(gate, s.n_cell, s.n_batch);
    for (int b = 0; b < s.n_batch; ++b) {
      float* g = gate + b * s.n_cell;
      for (int i = 0; i < s.n_cell; ++i) g[i] = g[i] * layer_norm[i] + bias[i];
    }
  }
  FloatActivation(d, act, gate, s.n_batch * s.n_cell, gate);
}

// ref::CellOutputActivation with the activation through FloatActivation.
void CellOutput(const OpData& d, const float* cell, const float* cell_gate, int n, float* out) {
  if (d.activation == ref::Activation::kNone) {
    std::memcpy(out, cell_gate, sizeof(float) * n);
  } else {
    FloatActivation(d, d.activation, cell, n, out);
  }
}

// ref::LstmStepFloat for one batch row (`input_zero`: the whole batch's input is zero), with
// the stacked gates' products through the packed kernels. `gates` holds the stacked gates.
void StepFloatFast(const OpData& d, const ref::FloatLstmWeights& w, bool input_zero,
                   const float* input, float* output_state, float* cell_state,
                   const ref::FloatLstmScratch& sc, float* gates, float* output) {
  ref::LstmSizes s = d.sizes;
  s.n_batch = 1;
  const int first = d.first_gate;
  const int n = s.n_cell;
  const int gate_rows = (4 - first) * n;
  const bool layer_norm = d.use_layer_norm;
  for (int g = first; g < 4; ++g) {
    ref::InitFloatGate(w.gate_bias[g], layer_norm, s, gates + (g - first) * n);
  }
  if (!input_zero) {
    d.kernels->f32_matvec(static_cast<const float*>(d.packed_input), gate_rows, s.n_input, input,
                          gates);
  }
  d.kernels->f32_matvec(static_cast<const float*>(d.packed_recurrent), gate_rows, s.n_output,
                        output_state, gates);
  float* gate[4] = {};
  for (int g = first; g < 4; ++g) gate[g] = gates + (g - first) * n;
  for (int g = first; g < 4; ++g) {
    if (g == ref::kOutputGate) {
      ref::UpdateCellFloat(s, first == 1 ? nullptr : gate[ref::kInputGate], gate[ref::kForgetGate],
                           gate[ref::kCellGate], d.cell_clip, cell_state);
    }
    if (w.cell_to_gate[g] != nullptr) {
      ref::PeepholeAccumulate(w.cell_to_gate[g], cell_state, s, gate[g]);
    }
    FinishGate(d, w.layer_norm[g], w.gate_bias[g], s,
               g == ref::kCellGate ? d.activation : ref::Activation::kSigmoid, gate[g]);
  }
  float* hidden = sc.hidden;
  CellOutput(d, cell_state, gate[ref::kCellGate], n, hidden);
  for (int k = 0; k < n; ++k) hidden[k] *= gate[ref::kOutputGate][k];
  if (d.packed_projection != nullptr) {
    for (int o = 0; o < s.n_output; ++o) {
      output_state[o] = w.projection_bias ? w.projection_bias[o] : 0.0f;
    }
    d.kernels->f32_matvec(static_cast<const float*>(d.packed_projection), s.n_output, n, hidden,
                          output_state);
    if (d.proj_clip > 0.0f) {
      for (int k = 0; k < s.n_output; ++k) {
        output_state[k] = std::max(-d.proj_clip, std::min(d.proj_clip, output_state[k]));
      }
    }
  } else {
    std::memcpy(output_state, hidden, sizeof(float) * s.n_output);
  }
  std::memcpy(output, output_state, sizeof(float) * s.n_output);
}

struct IntegerFastScratch {
  int32_t* input_pairs;
  int32_t* state_pairs;
  int32_t* hidden_pairs;
  int32_t* input_dots;
  int32_t* recurrent_dots;
  int32_t* projection_dots;
};

// sat(out + zp + MBQM(bias + dot)) into T, as ref::IntegerMatVecAccumulate per row.
template <typename T>
inline T AccumulateRow(int32_t bias, int32_t dot, int32_t multiplier, int shift, int32_t zp,
                       T out) {
  const int64_t lo = std::numeric_limits<T>::min(), hi = std::numeric_limits<T>::max();
  int64_t y = ref::MulByQuantizedMultiplier(ref::WrapToInt32(static_cast<int64_t>(bias) + dot),
                                            multiplier, shift);
  y += zp;
  y += out;
  return static_cast<T>(std::min(hi, std::max(lo, y)));
}

// ref::LstmStepInteger for one batch row, with the products through the packed kernels and
// the activations through the tables.
void StepIntegerFast(const OpData& d, const int8_t* input, int8_t* output_state,
                     int16_t* cell_state, const ref::IntegerLstmScratch& sc,
                     const IntegerFastScratch& f, int8_t* output) {
  const ref::IntegerLstmParams& p = d.integer;
  ref::LstmSizes s = d.sizes;
  s.n_batch = 1;
  const int first = d.first_gate;
  const int n = s.n_cell;
  const int gate_rows = (4 - first) * n;
  recurrent::PackS8Vector(input, s.n_input, 0, f.input_pairs);
  d.kernels->s8_matvec(static_cast<const int16_t*>(d.packed_input), gate_rows,
                       recurrent::ColPairs(s.n_input), f.input_pairs, f.input_dots);
  recurrent::PackS8Vector(output_state, s.n_output, 0, f.state_pairs);
  d.kernels->s8_matvec(static_cast<const int16_t*>(d.packed_recurrent), gate_rows,
                       recurrent::ColPairs(s.n_output), f.state_pairs, f.recurrent_dots);
  auto gate = [&](int g, const int16_t* cell, const int16_t* table) {
    const ref::IntegerLstmGateParams& gp = p.gate[g];
    const int32_t* in_dots = f.input_dots + (g - first) * n;
    const int32_t* rec_dots = f.recurrent_dots + (g - first) * n;
    int16_t* out = sc.gate[g];
    if (d.gate_requant != nullptr) {
      d.kernels->s16_gate(in_dots, gp.input_effective_bias, rec_dots, gp.recurrent_effective_bias,
                          n, d.gate_requant + 2 * g, out);
    } else {
      for (int i = 0; i < n; ++i) {
        const int16_t v = AccumulateRow<int16_t>(gp.input_effective_bias[i], in_dots[i],
                                                 gp.input_multiplier, gp.input_shift, 0, 0);
        out[i] = AccumulateRow<int16_t>(gp.recurrent_effective_bias[i], rec_dots[i],
                                        gp.recurrent_multiplier, gp.recurrent_shift, 0, v);
      }
    }
    if (gp.cell_weights != nullptr && cell != nullptr) {
      // As the reference: n_output elements (<= n_cell, checked in Prepare).
      for (int i = 0; i < s.n_output; ++i) {
        const int32_t prod = static_cast<int32_t>(gp.cell_weights[i]) * cell[i];
        const int32_t y = ref::MulByQuantizedMultiplier(prod, gp.cell_multiplier, gp.cell_shift);
        out[i] = ref::SaturateInt16(static_cast<int64_t>(y) + out[i]);
      }
    }
    if (gp.layer_norm != nullptr) {
      ref::IntegerLayerNorm(out, gp.layer_norm, gp.layer_norm_bias, gp.layer_norm_multiplier,
                            gp.layer_norm_shift, gp.variance_guard, 1, n, out);
    }
    recurrent::LookUp(table, out, n, out);
  };
  for (int g = first; g < 3; ++g) {
    gate(g, g == ref::kCellGate ? nullptr : cell_state,
         g == ref::kCellGate ? d.gate_tanh_table : d.sigmoid_table);
  }
  int16_t* forget = sc.gate[ref::kForgetGate];
  const int16_t* cell_gate = sc.gate[ref::kCellGate];
  const int16_t* input_gate = first == 1 ? nullptr : sc.gate[ref::kInputGate];
  const int ig_shift = 30 + p.cell_scale;
  const bool vector = d.gate_requant != nullptr;
  if (vector) {
    d.kernels->s16_cell(forget, input_gate, cell_gate, n, ig_shift, p.cell_clip, cell_state);
  } else {
    for (int k = 0; k < n; ++k) {
      const int16_t fc = ref::MulShiftInt16(forget[k], cell_state[k], 15);
      const int16_t i =
          input_gate == nullptr ? static_cast<int16_t>(32767 - forget[k]) : input_gate[k];
      const int16_t ig = ref::MulShiftInt16(i, cell_gate[k], ig_shift);
      int16_t c = ref::SaturateInt16(static_cast<int32_t>(fc) + ig);
      if (p.cell_clip > 0) c = std::max<int16_t>(-p.cell_clip, std::min<int16_t>(p.cell_clip, c));
      cell_state[k] = c;
    }
  }
  gate(ref::kOutputGate, cell_state, d.sigmoid_table);
  recurrent::LookUp(d.cell_tanh_table, cell_state, n, sc.tanh);
  const int16_t* o = sc.gate[ref::kOutputGate];
  if (vector) {
    d.kernels->s8_hidden(o, sc.tanh, n, d.gate_requant + 8, p.hidden_zp, sc.hidden);
  } else {
    for (int k = 0; k < n; ++k) {
      const int32_t prod = static_cast<int32_t>(o[k]) * sc.tanh[k];
      int64_t y = ref::MulByQuantizedMultiplier(prod, p.hidden_multiplier, p.hidden_shift);
      y += p.hidden_zp;
      sc.hidden[k] = static_cast<int8_t>(std::min<int64_t>(127, std::max<int64_t>(-128, y)));
    }
  }
  if (d.packed_projection != nullptr) {
    recurrent::PackS8Vector(sc.hidden, n, 0, f.hidden_pairs);
    d.kernels->s8_matvec(static_cast<const int16_t*>(d.packed_projection), s.n_output,
                         recurrent::ColPairs(n), f.hidden_pairs, f.projection_dots);
    for (int k = 0; k < s.n_output; ++k) {
      int8_t v =
          AccumulateRow<int8_t>(p.projection_effective_bias[k], f.projection_dots[k],
                                p.projection_multiplier, p.projection_shift, p.output_state_zp, 0);
      if (p.proj_clip > 0) v = std::max<int8_t>(-p.proj_clip, std::min<int8_t>(p.proj_clip, v));
      output_state[k] = v;
    }
  } else {
    std::memcpy(output_state, sc.hidden, s.n_output);
  }
  std::memcpy(output, output_state, s.n_output);
}

// The products of a hybrid step: dots[b][r] for the batch's quantized rows q[b] (cols each).
void HybridDots(const OpData& d, const void* packed, int rows, int cols, const int8_t* q,
                int n_batch, int32_t* pairs, int32_t* dots) {
  for (int b = 0; b < n_batch; ++b) {
    recurrent::PackS8Vector(q + static_cast<int64_t>(b) * cols, cols, 0, pairs);
    d.kernels->s8_matvec(static_cast<const int16_t*>(packed), rows, recurrent::ColPairs(cols),
                         pairs, dots + static_cast<int64_t>(b) * rows);
  }
}

// ref::HybridMatVecAccumulate's output stage for rows [0, n) of dots (each batch row
// `dots_stride` apart): out[b][r] += (dot - row_sums[r] * offsets[b]) * scales[b] * scale.
void HybridAccumulate(const recurrent::Kernels& k, const int32_t* dots, int dots_stride, int n,
                      const float* scales, const int32_t* offsets, const int32_t* row_sums,
                      float matrix_scale, int n_batch, float* out) {
  for (int b = 0; b < n_batch; ++b) {
    const int32_t* db = dots + static_cast<int64_t>(b) * dots_stride;
    const float scale = scales[b] * matrix_scale;
    float* ob = out + static_cast<int64_t>(b) * n;
    if (k.f32_hybrid_accumulate != nullptr) {
      k.f32_hybrid_accumulate(db, offsets != nullptr ? row_sums : nullptr,
                              offsets != nullptr ? static_cast<float>(offsets[b]) : 0.0f, scale, n,
                              ob);
      continue;
    }
    for (int r = 0; r < n; ++r) {
      int32_t dot32 = db[r];
      if (offsets != nullptr) {
        const float corrected = static_cast<float>(dot32) -
                                static_cast<float>(row_sums[r]) * static_cast<float>(offsets[b]);
        dot32 = ref::SaturatingToInt32(corrected);
      }
      ob[r] += static_cast<float>(dot32) * scale;
    }
  }
}

// ref::BatchQuantizeFloats through the run-time quantization kernels (the same results).
void QuantizeRows(const OpData& d, const float* v, int n_batch, int n, int8_t* q, float* scales,
                  int32_t* offsets) {
  for (int b = 0; b < n_batch; ++b) {
    const int64_t row = static_cast<int64_t>(b) * n;
    DynamicQuantize(d.dynamic_quant, offsets != nullptr, v + row, n, q + row, &scales[b],
                    offsets != nullptr ? &offsets[b] : nullptr);
  }
}

struct HybridFastScratch {
  int32_t* pairs;
  int32_t* input_dots;  // [n_batch][gate rows]
  int32_t* recurrent_dots;
  int32_t* projection_dots;  // [n_batch][n_output]
};

// ref::LstmStepHybrid (the whole batch, as the reference checks its zero inputs per step) with
// the products through the packed kernels.
void StepHybridFast(const OpData& d, const ref::LstmSizes& s, const float* input,
                    float* output_state, float* cell_state, const ref::HybridLstmScratch& sc,
                    const HybridFastScratch& f, float* output) {
  const ref::HybridLstmWeights& w = d.hybrid;
  const int first = d.first_gate;
  const int gate_rows = (4 - first) * s.n_cell;
  const bool cifg = first == 1;
  const bool layer_norm = d.use_layer_norm;
  const bool input_zero = ref::IsZeroVector(input, s.n_batch * s.n_input);
  const bool state_zero = ref::IsZeroVector(output_state, s.n_batch * s.n_output);
  int32_t* input_zp = d.asymmetric ? sc.input_zp : nullptr;
  int32_t* state_zp = d.asymmetric ? sc.state_zp : nullptr;
  if (!input_zero) {
    QuantizeRows(d, input, s.n_batch, s.n_input, sc.quantized_input, sc.input_sf, input_zp);
    HybridDots(d, d.packed_input, gate_rows, s.n_input, sc.quantized_input, s.n_batch, f.pairs,
               f.input_dots);
  }
  if (!state_zero) {
    QuantizeRows(d, output_state, s.n_batch, s.n_output, sc.quantized_state, sc.state_sf, state_zp);
    HybridDots(d, d.packed_recurrent, gate_rows, s.n_output, sc.quantized_state, s.n_batch, f.pairs,
               f.recurrent_dots);
  }
  for (int g = first; g < 4; ++g) {
    if (g == ref::kOutputGate) {
      ref::UpdateCellFloat(s, cifg ? nullptr : sc.gate[ref::kInputGate], sc.gate[ref::kForgetGate],
                           sc.gate[ref::kCellGate], d.cell_clip, cell_state);
    }
    float* gate = sc.gate[g];
    const int row0 = (g - first) * s.n_cell;
    ref::InitFloatGate(w.gate_bias[g], layer_norm, s, gate);
    if (!input_zero) {
      HybridAccumulate(*d.kernels, f.input_dots + row0, gate_rows, s.n_cell, sc.input_sf, input_zp,
                       w.input_row_sums[g], w.input_to_gate_scale[g], s.n_batch, gate);
    }
    if (!state_zero) {
      HybridAccumulate(*d.kernels, f.recurrent_dots + row0, gate_rows, s.n_cell, sc.state_sf,
                       state_zp, w.recurrent_row_sums[g], w.recurrent_to_gate_scale[g], s.n_batch,
                       gate);
    }
    if (w.cell_to_gate[g] != nullptr) {
      for (int i = 0; i < s.n_cell; ++i) {
        sc.recovered_peephole[i] = w.cell_to_gate_scale[g] * w.cell_to_gate[g][i];
      }
      ref::PeepholeAccumulate(sc.recovered_peephole, cell_state, s, gate);
    }
    FinishGate(d, w.layer_norm[g], w.gate_bias[g], s,
               g == ref::kCellGate ? d.activation : ref::Activation::kSigmoid, gate);
  }
  const int n = s.n_batch * s.n_cell;
  CellOutput(d, cell_state, sc.gate[ref::kCellGate], n, sc.hidden);
  for (int k = 0; k < n; ++k) sc.hidden[k] *= sc.gate[ref::kOutputGate][k];
  if (w.projection != nullptr) {
    for (int b = 0; b < s.n_batch; ++b) {
      for (int o = 0; o < s.n_output; ++o) {
        output_state[b * s.n_output + o] = w.projection_bias ? w.projection_bias[o] : 0.0f;
      }
    }
    if (!ref::IsZeroVector(sc.hidden, n)) {
      int32_t* hidden_zp = d.asymmetric ? sc.hidden_zp : nullptr;
      QuantizeRows(d, sc.hidden, s.n_batch, s.n_cell, sc.quantized_hidden, sc.hidden_sf, hidden_zp);
      HybridDots(d, d.packed_projection, s.n_output, s.n_cell, sc.quantized_hidden, s.n_batch,
                 f.pairs, f.projection_dots);
      HybridAccumulate(*d.kernels, f.projection_dots, s.n_output, s.n_output, sc.hidden_sf,
                       hidden_zp, w.projection_row_sums, w.projection_scale, s.n_batch,
                       output_state);
    }
    if (d.proj_clip > 0.0f) {
      for (int k = 0; k < s.n_batch * s.n_output; ++k) {
        output_state[k] = std::max(-d.proj_clip, std::min(d.proj_clip, output_state[k]));
      }
    }
  } else {
    std::memcpy(output_state, sc.hidden, sizeof(float) * s.n_batch * s.n_output);
  }
  std::memcpy(output, output_state, sizeof(float) * s.n_batch * s.n_output);
}

// Runs `row(t, b)` for every step and batch row in the reference's order of steps (rows are
// independent).
template <typename RowFn>
void RunRows(const OpData& d, RowFn row) {
  if (d.kind == Kind::kSingleStep || d.time_major) {
    for (int t = 0; t < d.max_time; ++t) {
      for (int b = 0; b < d.sizes.n_batch; ++b) row(t, b);
    }
    return;
  }
  for (int b = 0; b < d.sizes.n_batch; ++b) {
    for (int t = 0; t < d.max_time; ++t) row(t, b);
  }
}

}  // namespace

void* Init(Context* ctx, Kind kind) {
  void* mem = ctx->AllocatePersistent(sizeof(OpData));
  if (mem == nullptr) return nullptr;
  OpData* d = new (mem) OpData();
  d->kind = kind;
  return d;
}

Status Prepare(Context* ctx, Node* node) {
  OpData* d = static_cast<OpData*>(node->user_data);
  EDGEOPT_ENSURE(d != nullptr, StatusCode::kOutOfMemory, "out of memory");
  EDGEOPT_ENSURE(node->num_inputs == 24 || node->num_inputs == 20, StatusCode::kInvalidModel,
                 "the LSTM expects 20 or 24 inputs, got %d", node->num_inputs);
  EDGEOPT_RETURN_IF_ERROR(CheckNumOutputs(node, 1));
  EDGEOPT_RETURN_IF_ERROR(ReadOptions(node, d));
  d->use_layer_norm = ctx->input(node, kForgetLayerNorm) != nullptr;

  const Tensor* input;
  const Tensor* iow;
  const Tensor* row;
  EDGEOPT_RETURN_IF_ERROR(Required(ctx, node, kInput, &input));
  EDGEOPT_RETURN_IF_ERROR(Required(ctx, node, kInputToOutputWeights, &iow));
  EDGEOPT_RETURN_IF_ERROR(Required(ctx, node, kRecurrentToOutputWeights, &row));
  ref::LstmSizes& s = d->sizes;
  if (d->kind == Kind::kSequence) {
    EDGEOPT_ENSURE(input->dims.size == 3, StatusCode::kInvalidModel,
                   "input (%s) has rank %d; UNIDIRECTIONAL_SEQUENCE_LSTM expects rank 3",
                   input->name, input->dims.size);
    d->max_time = d->time_major ? input->dims[0] : input->dims[1];
    s.n_batch = d->time_major ? input->dims[1] : input->dims[0];
    s.n_input = input->dims[2];
  } else {
    EDGEOPT_ENSURE(input->dims.size == 2, StatusCode::kInvalidModel,
                   "input (%s) has rank %d; LSTM expects [batch, input]", input->name,
                   input->dims.size);
    d->max_time = 1;
    s.n_batch = input->dims[0];
    s.n_input = input->dims[1];
  }
  EDGEOPT_ENSURE(iow->dims.size == 2 && row->dims.size == 2, StatusCode::kInvalidModel,
                 "input_to_output_weights and recurrent_to_output_weights must be 2-D");
  s.n_cell = iow->dims[0];
  s.n_output = row->dims[1];
  EDGEOPT_ENSURE(s.n_cell > 0 && s.n_output > 0, StatusCode::kInvalidModel,
                 "the LSTM has %d cells and %d outputs; both must be positive", s.n_cell,
                 s.n_output);
  EDGEOPT_ENSURE(
      input->dims.NumElements() <= kMaxRecurrentElements &&
          static_cast<int64_t>(s.n_batch) * s.n_cell <= kMaxRecurrentElements &&
          static_cast<int64_t>(s.n_batch) * d->max_time * s.n_output <= kMaxRecurrentElements,
      StatusCode::kUnsupported, "the LSTM is too large");

  if (input->type == DType::kFloat32 && iow->type == DType::kFloat32) {
    d->variant = Variant::kFloat;
  } else if (input->type == DType::kFloat32 && iow->type == DType::kInt8) {
    d->variant = Variant::kHybrid;
  } else if (input->type == DType::kInt8 && iow->type == DType::kInt8) {
    d->variant = Variant::kInteger;
  } else {
    return MakeStatus(StatusCode::kUnsupported,
                      "LSTM with %s input and %s weights is not supported (float32/float32, "
                      "float32/int8 hybrid and int8/int8 are)",
                      DTypeName(input->type), DTypeName(iow->type));
  }
  EDGEOPT_RETURN_IF_ERROR(CheckInputs(ctx, node, *d));

  const bool integer = d->variant == Variant::kInteger;
  const int64_t batch = s.n_batch;
  EDGEOPT_RETURN_IF_ERROR(CheckStateTensor(ctx->input(node, kOutputState),
                                           integer ? DType::kInt8 : DType::kFloat32,
                                           batch * s.n_output, "output_state (input 18)"));
  EDGEOPT_RETURN_IF_ERROR(CheckStateTensor(ctx->input(node, kCellState),
                                           integer ? DType::kInt16 : DType::kFloat32,
                                           batch * s.n_cell, "cell_state (input 19)"));
  Tensor* output = ctx->output(node, 0);
  EDGEOPT_ENSURE(output != nullptr, StatusCode::kInvalidModel, "the output is missing");
  const DType out_type = integer ? DType::kInt8 : DType::kFloat32;
  EDGEOPT_ENSURE(output->type == out_type, StatusCode::kUnsupported,
                 "output (%s) has type %s, expected %s", output->name, DTypeName(output->type),
                 DTypeName(out_type));
  Dims out_dims = input->dims;
  out_dims[out_dims.size - 1] = s.n_output;
  EDGEOPT_RETURN_IF_ERROR(ctx->ResizeTensor(output, out_dims));

  if (d->variant == Variant::kHybrid) EDGEOPT_RETURN_IF_ERROR(PrepareHybrid(ctx, node, d));
  if (integer) EDGEOPT_RETURN_IF_ERROR(PrepareInteger(ctx, node, d));
  if (ctx->use_optimized_kernels()) EDGEOPT_RETURN_IF_ERROR(PrepareFast(ctx, node, d));
  return ctx->RequestScratch(Layout(*d).total, &d->scratch_index);
}

Status Eval(Context* ctx, Node* node) {
  const OpData& d = *static_cast<const OpData*>(node->user_data);
  const Tensor* input = ctx->input(node, kInput);
  Tensor* output_state = ctx->input(node, kOutputState);
  Tensor* cell_state = ctx->input(node, kCellState);
  Tensor* output = ctx->output(node, 0);
  uint8_t* scratch = static_cast<uint8_t*>(ctx->GetScratch(d.scratch_index));
  EDGEOPT_ENSURE(scratch != nullptr, StatusCode::kInternal, "LSTM scratch memory is missing");
  const ScratchLayout l = Layout(d);
  const int n_output = d.sizes.n_output, n_cell = d.sizes.n_cell;

  switch (d.variant) {
    case Variant::kFloat: {
      ref::FloatLstmWeights w;
      for (int g = 0; g < 4; ++g) {
        w.input_to_gate[g] = DataOf<float>(ctx->input(node, 1 + g));
        w.recurrent_to_gate[g] = DataOf<float>(ctx->input(node, 5 + g));
        w.cell_to_gate[g] = DataOf<float>(Optional(ctx, node, kPeepholeIndex[g]));
        w.gate_bias[g] = DataOf<float>(ctx->input(node, 12 + g));
        if (d.use_layer_norm) w.layer_norm[g] = DataOf<float>(ctx->input(node, 20 + g));
      }
      w.projection = DataOf<float>(ctx->input(node, kProjectionWeights));
      w.projection_bias = DataOf<float>(ctx->input(node, kProjectionBias));
      ref::FloatLstmScratch sc;
      for (int g = 0; g < 4; ++g) sc.gate[g] = reinterpret_cast<float*>(scratch + l.gate[g]);
      sc.hidden = reinterpret_cast<float*>(scratch + l.hidden);
      const float* in = input->Data<float>();
      float* out = output->Data<float>();
      float* os = output_state->Data<float>();
      float* cs = cell_state->Data<float>();
      if (d.kernels != nullptr) {
        float* gates = reinterpret_cast<float*>(scratch + l.input_dots);
        const int n_batch = d.sizes.n_batch, n_input = d.sizes.n_input;
        const bool by_step = d.kind == Kind::kSingleStep || d.time_major;
        bool input_zero = false;
        RunRows(d, [&](int t, int b) {
          const int64_t row = by_step ? static_cast<int64_t>(t) * n_batch + b
                                      : static_cast<int64_t>(b) * d.max_time + t;
          if (!by_step) {
            input_zero = ref::IsZeroVector(in + row * n_input, n_input);
          } else if (b == 0) {  // the reference checks the whole step's batch
            input_zero = ref::IsZeroVector(in + static_cast<int64_t>(t) * n_batch * n_input,
                                           n_batch * n_input);
          }
          StepFloatFast(d, w, input_zero, in + row * n_input,
                        os + static_cast<int64_t>(b) * n_output,
                        cs + static_cast<int64_t>(b) * n_cell, sc, gates, out + row * n_output);
        });
        return Status::Ok();
      }
      RunSequence(d, [&](const ref::LstmSizes& s, int64_t in_off, int64_t out_off, int b) {
        ref::LstmStepFloat(w, s, d.activation, d.cell_clip, d.proj_clip, in + in_off,
                           os + static_cast<int64_t>(b) * n_output,
                           cs + static_cast<int64_t>(b) * n_cell, sc, out + out_off);
      });
      return Status::Ok();
    }
    case Variant::kHybrid: {
      ref::HybridLstmScratch sc;
      for (int g = 0; g < 4; ++g) sc.gate[g] = reinterpret_cast<float*>(scratch + l.gate[g]);
      sc.hidden = reinterpret_cast<float*>(scratch + l.hidden);
      sc.quantized_input = reinterpret_cast<int8_t*>(scratch + l.q_input);
      sc.quantized_state = reinterpret_cast<int8_t*>(scratch + l.q_state);
      sc.quantized_hidden = reinterpret_cast<int8_t*>(scratch + l.q_hidden);
      sc.input_sf = reinterpret_cast<float*>(scratch + l.input_sf);
      sc.state_sf = reinterpret_cast<float*>(scratch + l.state_sf);
      sc.hidden_sf = reinterpret_cast<float*>(scratch + l.hidden_sf);
      sc.input_zp = reinterpret_cast<int32_t*>(scratch + l.input_zp);
      sc.state_zp = reinterpret_cast<int32_t*>(scratch + l.state_zp);
      sc.hidden_zp = reinterpret_cast<int32_t*>(scratch + l.hidden_zp);
      sc.recovered_peephole = reinterpret_cast<float*>(scratch + l.recovered);
      const float* in = input->Data<float>();
      float* out = output->Data<float>();
      float* os = output_state->Data<float>();
      float* cs = cell_state->Data<float>();
      if (d.kernels != nullptr) {
        HybridFastScratch f;
        f.pairs = reinterpret_cast<int32_t*>(scratch + l.input_pairs);
        f.input_dots = reinterpret_cast<int32_t*>(scratch + l.input_dots);
        f.recurrent_dots = reinterpret_cast<int32_t*>(scratch + l.recurrent_dots);
        f.projection_dots = reinterpret_cast<int32_t*>(scratch + l.projection_dots);
        RunSequence(d, [&](const ref::LstmSizes& s, int64_t in_off, int64_t out_off, int b) {
          StepHybridFast(d, s, in + in_off, os + static_cast<int64_t>(b) * n_output,
                         cs + static_cast<int64_t>(b) * n_cell, sc, f, out + out_off);
        });
        return Status::Ok();
      }
      RunSequence(d, [&](const ref::LstmSizes& s, int64_t in_off, int64_t out_off, int b) {
        ref::LstmStepHybrid(d.hybrid, s, d.activation, d.cell_clip, d.proj_clip, d.asymmetric,
                            in + in_off, os + static_cast<int64_t>(b) * n_output,
                            cs + static_cast<int64_t>(b) * n_cell, sc, out + out_off);
      });
      return Status::Ok();
    }
    case Variant::kInteger: {
      ref::IntegerLstmScratch sc;
      for (int g = 0; g < 4; ++g) sc.gate[g] = reinterpret_cast<int16_t*>(scratch + l.gate[g]);
      sc.tanh = reinterpret_cast<int16_t*>(scratch + l.tanh);
      sc.hidden = reinterpret_cast<int8_t*>(scratch + l.hidden);
      const int8_t* in = input->Data<int8_t>();
      int8_t* out = output->Data<int8_t>();
      int8_t* os = output_state->Data<int8_t>();
      int16_t* cs = cell_state->Data<int16_t>();
      if (d.kernels != nullptr) {
        IntegerFastScratch f;
        f.input_pairs = reinterpret_cast<int32_t*>(scratch + l.input_pairs);
        f.state_pairs = reinterpret_cast<int32_t*>(scratch + l.state_pairs);
        f.hidden_pairs = reinterpret_cast<int32_t*>(scratch + l.hidden_pairs);
        f.input_dots = reinterpret_cast<int32_t*>(scratch + l.input_dots);
        f.recurrent_dots = reinterpret_cast<int32_t*>(scratch + l.recurrent_dots);
        f.projection_dots = reinterpret_cast<int32_t*>(scratch + l.projection_dots);
        const int n_batch = d.sizes.n_batch, n_input = d.sizes.n_input;
        const bool by_step = d.kind == Kind::kSingleStep || d.time_major;
        RunRows(d, [&](int t, int b) {
          const int64_t row = by_step ? static_cast<int64_t>(t) * n_batch + b
                                      : static_cast<int64_t>(b) * d.max_time + t;
          StepIntegerFast(d, in + row * n_input, os + static_cast<int64_t>(b) * n_output,
                          cs + static_cast<int64_t>(b) * n_cell, sc, f, out + row * n_output);
        });
        return Status::Ok();
      }
      RunSequence(d, [&](const ref::LstmSizes& s, int64_t in_off, int64_t out_off, int b) {
        ref::LstmStepInteger(d.integer, s, in + in_off, os + static_cast<int64_t>(b) * n_output,
                             cs + static_cast<int64_t>(b) * n_cell, sc, out + out_off);
      });
      return Status::Ok();
    }
  }
  return MakeStatus(StatusCode::kInternal, "unknown LSTM variant");
}

}  // namespace lstm
}  // namespace rt
}  // namespace edgeopt
