// LSTM -> UNIDIRECTIONAL_SEQUENCE_LSTM (24 inputs: gate weights [U,F] and [U,U]
// split from the Keras kernel / recurrent_kernel in gate order i, f, c, o, gate
// biases, and two variable state tensors), plus a STRIDED_SLICE of the last
// step when return_sequences is false. The gate weight tensors have origins
// "<layer>/kernel[i]" ... "<layer>/bias[o]".
#include "src/importers/keras/layers/layer_registry.h"
#include "src/importers/keras/layers/layer_util.h"

namespace edgeopt {
namespace keras {
namespace {

constexpr const char* kGates[4] = {"i", "f", "c", "o"};

// Columns [g*units, (g+1)*units) of a [rows, 4*units] matrix, transposed to
// [units, rows].
std::vector<float> GateSlice(const std::vector<float>& m, int64_t rows, int64_t units, int g) {
  std::vector<float> out(static_cast<size_t>(rows * units));
  for (int64_t u = 0; u < units; ++u) {
    for (int64_t r = 0; r < rows; ++r) out[u * rows + r] = m[r * 4 * units + g * units + u];
  }
  return out;
}

}  // namespace

StatusOr<std::vector<std::string>> LSTMVariables(const LayerConfig& config) {
  EDGEOPT_ASSIGN_OR_RETURN(bool use_bias, config.BoolOr("use_bias", true));
  std::vector<std::string> vars = {"kernel", "recurrent_kernel"};
  if (use_bias) vars.push_back("bias");
  return vars;
}

Status ConvertLSTM(LayerCall* call) {
  const LayerConfig& c = call->config;
  // unroll=True (or BuildOptions::unroll_lstm): unrolled over time like a GRU (recurrent.cc), so
  // it quantizes to full int8.
  EDGEOPT_ASSIGN_OR_RETURN(bool unroll, c.BoolOr("unroll", false));
  // A masked LSTM too: TFLite's LSTM op has no mask.
  if (unroll || call->builder->unroll_lstm() ||
      (!call->input_masks.empty() && call->input_masks[0] >= 0)) {
    return ConvertRecurrent(call);
  }
  EDGEOPT_RETURN_IF_ERROR(CheckInputRank(*call, 3));
  EDGEOPT_ASSIGN_OR_RETURN(int64_t units, c.Int("units"));
  EDGEOPT_ASSIGN_OR_RETURN(bool use_bias, c.BoolOr("use_bias", true));
  EDGEOPT_ASSIGN_OR_RETURN(bool return_sequences, c.BoolOr("return_sequences", false));
  EDGEOPT_ASSIGN_OR_RETURN(bool return_state, c.BoolOr("return_state", false));
  EDGEOPT_ASSIGN_OR_RETURN(bool go_backwards, c.BoolOr("go_backwards", false));
  EDGEOPT_ASSIGN_OR_RETURN(bool stateful, c.BoolOr("stateful", false));
  EDGEOPT_ASSIGN_OR_RETURN(bool time_major, c.BoolOr("time_major", false));
  if (units <= 0 || units > (int64_t{1} << 20)) {
    return call->Error(StatusCode::kInvalidModel, "units must be in [1, 2^20]");
  }
  if (return_state || go_backwards || stateful || time_major) {
    return call->Error(StatusCode::kUnsupported,
                       "return_state, go_backwards, stateful and time_major "
                       "are not supported");
  }
  EDGEOPT_ASSIGN_OR_RETURN(ActivationSpec act, ParseActivation(c.Find("activation"), c));
  const Json* rec = c.Find("recurrent_activation");
  EDGEOPT_ASSIGN_OR_RETURN(ActivationSpec rec_act, ParseActivation(rec, c));
  if (rec == nullptr) rec_act.name = "sigmoid";
  if (rec_act.name != "sigmoid") {
    return call->Error(StatusCode::kUnsupported, "recurrent_activation '" + rec_act.name +
                                                     "' (TFLite's LSTM gates use sigmoid)");
  }
  std::string fused;
  if (c.Find("activation") == nullptr || act.name == "tanh") {
    fused = "TANH";
  } else if (act.name == "relu") {
    fused = "RELU";
  } else if (act.name == "relu6") {
    fused = "RELU6";
  } else {
    return call->Error(StatusCode::kUnsupported,
                       "activation '" + act.name + "' (TFLite's LSTM takes tanh, relu, relu6)");
  }
  const Shape in = call->InputShape();
  const int32_t batch = in[0], steps = in[1];
  const int64_t features = in[2];
  EDGEOPT_ASSIGN_OR_RETURN(std::vector<float> kernel,
                           call->Weight("kernel", {features, 4 * units}));
  EDGEOPT_ASSIGN_OR_RETURN(std::vector<float> recurrent,
                           call->Weight("recurrent_kernel", {units, 4 * units}));
  std::vector<float> bias(static_cast<size_t>(4 * units), 0.0f);
  if (use_bias) {
    EDGEOPT_ASSIGN_OR_RETURN(bias, call->Weight("bias", {4 * units}));
  }
  const std::string& name = call->name();
  std::vector<int> inputs(24, -1);
  inputs[0] = call->inputs[0];
  const Shape u = {static_cast<int32_t>(units)};
  for (int g = 0; g < 4; ++g) {
    const std::string gate = std::string("[") + kGates[g] + "]";
    inputs[1 + g] =
        call->AddWeightTensor("kernel" + gate, ToShape({units, features}),
                              GateSlice(kernel, features, units, g), name + "/kernel" + gate);
    inputs[5 + g] = call->AddWeightTensor("recurrent_kernel" + gate, ToShape({units, units}),
                                          GateSlice(recurrent, units, units, g),
                                          name + "/recurrent_kernel" + gate);
    std::vector<float> b(bias.begin() + g * units, bias.begin() + (g + 1) * units);
    if (use_bias) {
      inputs[12 + g] = call->AddWeightTensor("bias" + gate, u, std::move(b), name + "/bias" + gate);
    } else {
      inputs[12 + g] = call->FloatConst("bias" + gate, u, b);
    }
  }
  ir::Graph& g = call->builder->graph();
  for (int s = 0; s < 2; ++s) {
    ir::Tensor state;
    state.name = call->builder->UniqueName(name + (s == 0 ? "/output_state" : "/cell_state"));
    state.shape = {batch, static_cast<int32_t>(units)};
    state.is_variable = true;
    inputs[18 + s] = g.AddTensor(std::move(state));
  }
  const Shape seq = {batch, steps, static_cast<int32_t>(units)};
  int y = call->NewTensor(seq, "sequence");
  ir::Attrs attrs;
  attrs["fused_activation_function"] = fused;
  attrs["cell_clip"] = 0.0;
  attrs["proj_clip"] = 0.0;
  attrs["time_major"] = false;
  attrs["asymmetric_quantize_inputs"] = false;
  call->AddNode("UNIDIRECTIONAL_SEQUENCE_LSTM", inputs, {y}, attrs);
  if (!return_sequences) y = EmitTimeStep(call, y, steps - 1, "last");
  call->outputs = {y};
  return Status::Ok();
}

}  // namespace keras
}  // namespace edgeopt
