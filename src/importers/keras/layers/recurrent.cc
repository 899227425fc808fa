// GRU, SimpleRNN, LSTM with unroll=True and Bidirectional(GRU | SimpleRNN | LSTM), unrolled over
// time into plain builtin ops (as Keras does with unroll=True), so the model runs on any TFLite
// runtime, quantizes op by op and trains on edgeopt's ops:
//  - one FULLY_CONNECTED (keep_num_dims) projects every step's input at once: [B,T,F] -> [B,T,G*U]
//    (G = 3 gates z, r, h for GRU, 4 gates i, f, c, o for LSTM, 1 for SimpleRNN), with the input
//    bias;
//  - per step a STRIDED_SLICE takes the step's projection, one FULLY_CONNECTED applies the
//    recurrent kernel to the state (skipped at t = 0, where the state is zero), and ADD / SUB /
//    MUL / LOGISTIC / TANH / SLICE do the gate math;
//  - with return_sequences the states are joined by CONCATENATION + RESHAPE;
//  - with a Keras mask (masking.cc), a masked step keeps the state (and an LSTM's cell) as it
//    was: SELECT_V2(kept_t, new, old) with kept_t a STRIDED_SLICE of NOT_EQUAL(mask, 0), once
//    per layer (a same-scale op: int8 gives every step's state one scale, as their common
//    range). The output there is the kept state, or 0 with zero_output_for_mask (which
//    Bidirectional sets to return_sequences).
// Weights stay whole Keras variables so training can write them back: the input FC weight is the
// transposed kernel ([G*U, F], origin "<layer>/kernel"), the recurrent FC weight the transposed
// recurrent_kernel ([G*U, U], "<layer>/recurrent_kernel", shared by every step). A reset_after
// GRU's bias [2, 3U] becomes its rows "<layer>/bias[0]" (input) and "<layer>/bias[1]" (recurrent).
// Bidirectional's variables are "forward/<var>" and "backward/<var>".
#include <algorithm>

#include "src/importers/keras/layers/layer_registry.h"
#include "src/importers/keras/layers/layer_util.h"

namespace edgeopt {
namespace keras {
namespace {

enum class Cell { kGRU, kSimpleRNN, kLSTM };

struct RnnOptions {
  Cell cell = Cell::kGRU;
  int64_t units = 0;
  bool use_bias = true;
  bool reset_after = true;
  bool return_sequences = false;
  bool go_backwards = false;
  bool zero_output_for_mask = false;
  bool unroll = false;
  std::string activation = "tanh";
  std::string recurrent_activation = "sigmoid";
  int gates() const { return cell == Cell::kGRU ? 3 : cell == Cell::kLSTM ? 4 : 1; }
};

bool KnownActivation(const std::string& a) {
  return a == "tanh" || a == "sigmoid" || a == "relu" || a == "linear";
}

// `where` prefixes messages about an inner layer of a Bidirectional ("" for the layer itself).
StatusOr<RnnOptions> ParseRnn(const LayerCall& call, const LayerConfig& c, const std::string& cls,
                              const std::string& where) {
  RnnOptions o;
  if (cls == "GRU") {
    o.cell = Cell::kGRU;
  } else if (cls == "SimpleRNN") {
    o.cell = Cell::kSimpleRNN;
  } else if (cls == "LSTM") {
    o.cell = Cell::kLSTM;
  } else {
    return call.Error(
        StatusCode::kUnsupported,
        where + "wrapped layer '" + cls + "': Bidirectional converts GRU, SimpleRNN and LSTM");
  }
  EDGEOPT_ASSIGN_OR_RETURN(o.units, c.Int("units"));
  EDGEOPT_ASSIGN_OR_RETURN(o.use_bias, c.BoolOr("use_bias", true));
  EDGEOPT_ASSIGN_OR_RETURN(o.return_sequences, c.BoolOr("return_sequences", false));
  EDGEOPT_ASSIGN_OR_RETURN(o.go_backwards, c.BoolOr("go_backwards", false));
  EDGEOPT_ASSIGN_OR_RETURN(bool zero_output, c.BoolOr("zero_output_for_mask", false));
  EDGEOPT_ASSIGN_OR_RETURN(bool unroll, c.BoolOr("unroll", false));
  o.zero_output_for_mask = zero_output;
  o.unroll = unroll;
  if (o.cell == Cell::kGRU) {
    EDGEOPT_ASSIGN_OR_RETURN(o.reset_after, c.BoolOr("reset_after", true));
  }
  EDGEOPT_ASSIGN_OR_RETURN(bool return_state, c.BoolOr("return_state", false));
  EDGEOPT_ASSIGN_OR_RETURN(bool stateful, c.BoolOr("stateful", false));
  EDGEOPT_ASSIGN_OR_RETURN(bool time_major, c.BoolOr("time_major", false));
  if (o.units <= 0 || o.units > (int64_t{1} << 20)) {
    return call.Error(StatusCode::kInvalidModel, where + "units must be in [1, 2^20]");
  }
  if (return_state || stateful || time_major) {
    return call.Error(StatusCode::kUnsupported,
                      where + "return_state, stateful and time_major are not supported");
  }
  // An absent activation is Keras's default (tanh); an explicit null is linear.
  if (c.json().contains("activation")) {
    EDGEOPT_ASSIGN_OR_RETURN(ActivationSpec act, ParseActivation(c.Find("activation"), c));
    o.activation = act.name;
  }
  if (o.cell != Cell::kSimpleRNN && c.json().contains("recurrent_activation")) {
    EDGEOPT_ASSIGN_OR_RETURN(ActivationSpec rec,
                             ParseActivation(c.Find("recurrent_activation"), c));
    o.recurrent_activation = rec.name;
  }
  if (!KnownActivation(o.activation)) {
    return call.Error(StatusCode::kUnsupported, where + "activation '" + o.activation +
                                                    "' (unrolled recurrent layers take tanh, "
                                                    "sigmoid, relu, linear)");
  }
  if (!KnownActivation(o.recurrent_activation)) {
    return call.Error(StatusCode::kUnsupported,
                      where + "recurrent_activation '" + o.recurrent_activation +
                          "' (unrolled recurrent layers take sigmoid, tanh, relu, linear)");
  }
  return o;
}

// Builds the ops of one direction of a recurrent layer.
class Unroller {
 public:
  Unroller(LayerCall* call, const RnnOptions& o, std::string prefix)
      : call_(call), o_(o), prefix_(std::move(prefix)) {}

  // The outputs of every step, in processing order (reversed time with go_backwards). `mask`:
  // the input's Keras mask [B, T, 1], or -1.
  StatusOr<std::vector<int>> Run(int x, int mask) {
    const Shape in = call_->builder->ShapeOf(x);
    batch_ = in[0];
    const int32_t steps = in[1];
    const int64_t features = in[2];
    const int64_t gu = o_.gates() * o_.units;
    u_ = static_cast<int32_t>(o_.units);
    EDGEOPT_ASSIGN_OR_RETURN(std::vector<float> kernel,
                             call_->Weight(prefix_ + "kernel", {features, gu}));
    EDGEOPT_ASSIGN_OR_RETURN(std::vector<float> recurrent,
                             call_->Weight(prefix_ + "recurrent_kernel", {o_.units, gu}));
    const int wx = call_->AddWeightTensor(prefix_ + "kernel", ToShape({gu, features}),
                                          TransposeData(kernel, {features, gu}, {1, 0}));
    wh_ = call_->AddWeightTensor(prefix_ + "recurrent_kernel", ToShape({gu, o_.units}),
                                 TransposeData(recurrent, {o_.units, gu}, {1, 0}));
    int input_bias = -1;
    if (o_.use_bias && o_.cell == Cell::kGRU && o_.reset_after) {
      EDGEOPT_ASSIGN_OR_RETURN(std::vector<float> bias, call_->Weight(prefix_ + "bias", {2, gu}));
      input_bias = call_->AddWeightTensor(prefix_ + "bias[0]", ToShape({gu}),
                                          std::vector<float>(bias.begin(), bias.begin() + gu));
      recurrent_bias_ = call_->AddWeightTensor(prefix_ + "bias[1]", ToShape({gu}),
                                               std::vector<float>(bias.begin() + gu, bias.end()));
    } else if (o_.use_bias) {
      EDGEOPT_ASSIGN_OR_RETURN(std::vector<float> bias, call_->Weight(prefix_ + "bias", {gu}));
      input_bias = call_->AddWeightTensor(prefix_ + "bias", ToShape({gu}), std::move(bias));
    }
    // Every step's input projection at once.
    const int32_t g32 = static_cast<int32_t>(gu);
    const int projected = FullyConnected(x, wx, input_bias, {batch_, steps, g32}, "x_proj");
    // The steps kept, as bools [B, T, 1].
    const int kept = mask >= 0 ? EmitNotEqual(call_, mask, 0.0f, "zero", prefix_ + "kept") : -1;
    std::vector<int> outputs;
    int h = -1;
    for (int32_t s = 0; s < steps; ++s) {
      const int32_t t = o_.go_backwards ? steps - 1 - s : s;
      step_ = "t" + std::to_string(t) + "/";
      const int xt = EmitTimeStep(call_, projected, t, Suffix("x"));
      const int old_h = h;
      const int old_cell = cell_;
      h = o_.cell == Cell::kGRU    ? GruStep(xt, h)
          : o_.cell == Cell::kLSTM ? LstmStep(xt, h)
                                   : SimpleRnnStep(xt, h);
      if (mask < 0) {
        outputs.push_back(h);
        continue;
      }
      const int kept_t = EmitTimeStep(call_, kept, t, Suffix("kept"));
      call_->builder->graph().tensors[kept_t].dtype = DType::kBool;
      h = Select(kept_t, h, old_h, "h_masked");
      if (o_.cell == Cell::kLSTM) cell_ = Select(kept_t, cell_, old_cell, "c_masked");
      outputs.push_back(o_.zero_output_for_mask ? Select(kept_t, h, -1, "output") : h);
    }
    return outputs;
  }

 private:
  std::string Suffix(const std::string& what) const { return prefix_ + step_ + what; }

  int FullyConnected(int x, int w, int b, const Shape& out_shape, const std::string& what) {
    return EmitFullyConnected(call_, x, w, b, out_shape, Suffix(what));
  }

  // Columns [offset, offset + U) of a [B, N] tensor (or elements of a [N] one).
  int Columns(int x, int32_t offset, const std::string& what) {
    const Shape s = call_->builder->ShapeOf(x);  // a copy: adding tensors moves the shapes
    const bool vector = s.size() == 1;
    const int begin = call_->Int32Const(
        "begin", vector ? std::vector<int32_t>{offset} : std::vector<int32_t>{0, offset});
    const int size = call_->Int32Const(
        "size", vector ? std::vector<int32_t>{u_} : std::vector<int32_t>{s[0], u_});
    const int y = call_->NewTensor(vector ? Shape{u_} : Shape{s[0], u_}, Suffix(what));
    call_->AddNode("SLICE", {x, begin, size}, {y});
    return y;
  }

  // ADD / SUB / MUL of two tensors; the output has the shape of the larger (rank) one.
  int Binary(const std::string& op, int a, int b, const std::string& what) {
    const Shape sa = call_->builder->ShapeOf(a);
    const Shape sb = call_->builder->ShapeOf(b);
    const int y = call_->NewTensor(sa.size() >= sb.size() ? sa : sb, Suffix(what));
    ir::Attrs attrs;
    attrs["fused_activation_function"] = std::string("NONE");
    call_->AddNode(op, {a, b}, {y}, attrs);
    return y;
  }

  // `fresh` where the step is kept, else `old` (< 0: a zero state, or the zero output).
  // (Zeros of the full shape, so that the runtime copies whole rows.)
  int Select(int kept, int fresh, int old, const std::string& what) {
    const Shape shape = call_->builder->ShapeOf(fresh);
    if (old < 0) {
      old = call_->FloatConst("zeros", shape,
                              std::vector<float>(static_cast<size_t>(shape[0]) * shape[1], 0.0f));
    }
    const int y = call_->NewTensor(shape, Suffix(what));
    call_->AddNode("SELECT_V2", {kept, fresh, old}, {y});
    return y;
  }

  int Activate(const std::string& a, int x) {
    if (a == "linear") return x;
    const std::string op = a == "tanh" ? "TANH" : a == "sigmoid" ? "LOGISTIC" : "RELU";
    const Shape shape = call_->builder->ShapeOf(x);
    const int y = call_->NewTensor(shape, Suffix(a));
    call_->AddNode(op, {x}, {y});
    return y;
  }

  // h' = act(x_t + h R) (x_t includes the bias).
  int SimpleRnnStep(int xt, int h) {
    int pre = xt;
    if (h >= 0) {
      const int hr = FullyConnected(h, wh_, -1, {batch_, u_}, "h_proj");
      pre = Binary("ADD", xt, hr, "pre");
    }
    return Activate(o_.activation, pre);
  }

  // Keras GRU, gate order z, r, h. xt = x W + b_in (all three gates); h < 0 means a zero state.
  int GruStep(int xt, int h) {
    // hr = h R + b_rec: all three gates (reset_after), or z and r only (the h part is unused).
    int hr = -1;
    if (h >= 0) {
      const int b = o_.reset_after ? recurrent_bias_ : -1;
      hr = FullyConnected(h, wh_, b, {batch_, 3 * u_}, "h_proj");
    } else if (o_.reset_after) {
      hr = recurrent_bias_;  // the projection of a zero state is the bias ([3U] or absent)
    }
    const int sum = hr >= 0 ? Binary("ADD", xt, hr, "sum") : xt;
    const int gates = Activate(o_.recurrent_activation, sum);
    const int z = Columns(gates, 0, "z");
    const int r = Columns(gates, u_, "r");
    int pre = Columns(xt, 2 * u_, "x_h");
    if (o_.reset_after && hr >= 0) {
      // x_h + r * (h R_h + b_rh)
      const int hh = Columns(hr, 2 * u_, "h_h");
      pre = Binary("ADD", pre, Binary("MUL", r, hh, "r_h"), "pre");
    } else if (!o_.reset_after && h >= 0) {
      // x_h + (r * h) R_h, with the whole recurrent kernel (its z and r parts unused).
      const int rh = Binary("MUL", r, h, "r_h");
      const int q = FullyConnected(rh, wh_, -1, {batch_, 3 * u_}, "rh_proj");
      pre = Binary("ADD", pre, Columns(q, 2 * u_, "rh_h"), "pre");
    }
    const int cand = Activate(o_.activation, pre);
    // h' = z * h + (1 - z) * cand = cand + z * (h - cand); with h = 0: cand - z * cand.
    if (h < 0) return Binary("SUB", cand, Binary("MUL", z, cand, "z_c"), "h");
    const int d = Binary("SUB", h, cand, "h_minus_c");
    return Binary("ADD", cand, Binary("MUL", z, d, "z_d"), "h");
  }

  // Keras LSTM, gate order i, f, c, o. xt = x W + b; h < 0 means a zero state and cell.
  int LstmStep(int xt, int h) {
    const int sum =
        h >= 0 ? Binary("ADD", xt, FullyConnected(h, wh_, -1, {batch_, 4 * u_}, "h_proj"), "sum")
               : xt;
    const int gates = Activate(o_.recurrent_activation, sum);  // i, f, o (the c part unused)
    const int i = Columns(gates, 0, "i");
    const int o = Columns(gates, 3 * u_, "o");
    const int g = Activate(o_.activation, Columns(sum, 2 * u_, "c_pre"));
    const int ig = Binary("MUL", i, g, "i_g");
    cell_ =
        h < 0 ? ig : Binary("ADD", Binary("MUL", Columns(gates, u_, "f"), cell_, "f_c"), ig, "c");
    return Binary("MUL", o, Activate(o_.activation, cell_), "h");
  }

  LayerCall* call_;
  RnnOptions o_;
  std::string prefix_;
  std::string step_;
  int32_t batch_ = 1;
  int32_t u_ = 0;
  int wh_ = -1;
  int recurrent_bias_ = -1;
  int cell_ = -1;  // LSTM: the cell state after the last step
};

// States [B, U] per step -> [B, T, U] (in the given order), or the last state.
int SequenceOf(LayerCall* call, const std::vector<int>& states, const std::string& what) {
  const Shape s = call->builder->ShapeOf(states[0]);
  const int32_t steps = static_cast<int32_t>(states.size());
  int flat = states[0];
  if (states.size() > 1) {
    flat = call->NewTensor(Shape{s[0], steps * s[1]}, what + "joined");
    ir::Attrs attrs;
    attrs["axis"] = int64_t{1};
    attrs["fused_activation_function"] = std::string("NONE");
    call->AddNode("CONCATENATION", states, {flat}, attrs);
  }
  const Shape out = {s[0], steps, s[1]};
  const int shape = call->Int32Const("shape", std::vector<int32_t>(out.begin(), out.end()));
  const int y = call->NewTensor(out, what + "sequence");
  call->AddNode("RESHAPE", {flat, shape}, {y});
  return y;
}

// One direction: the output Keras gives (sequence in processing order, or the last output);
// `flip` reverses the sequence in time, as Bidirectional does to its backward layer's output.
StatusOr<int> EmitDirection(LayerCall* call, const RnnOptions& o, const std::string& prefix, int x,
                            bool flip, int mask) {
  Unroller unroller(call, o, prefix);
  EDGEOPT_ASSIGN_OR_RETURN(std::vector<int> states, unroller.Run(x, mask));
  if (!o.return_sequences) return states.back();
  if (flip) std::reverse(states.begin(), states.end());
  return SequenceOf(call, states, prefix);
}

// Keras's unrolled loop (unroll=True) zeroes masked outputs after the loop with the mask in time
// order, while a go_backwards layer's outputs are in reversed order: refused rather than copied.
Status CheckMaskedUnroll(const LayerCall& call, const RnnOptions& o, int mask) {
  if (mask >= 0 && o.unroll && o.go_backwards && o.zero_output_for_mask) {
    return call.Error(StatusCode::kUnsupported,
                      "a Keras mask with unroll=True, go_backwards and zero_output_for_mask (or "
                      "a Bidirectional returning sequences) is not supported");
  }
  return Status::Ok();
}

StatusOr<std::vector<std::string>> CellVariables(const LayerConfig& config) {
  EDGEOPT_ASSIGN_OR_RETURN(bool use_bias, config.BoolOr("use_bias", true));
  std::vector<std::string> vars = {"kernel", "recurrent_kernel"};
  if (use_bias) vars.push_back("bias");
  return vars;
}

}  // namespace

StatusOr<std::vector<std::string>> GRUVariables(const LayerConfig& config) {
  return CellVariables(config);
}

StatusOr<std::vector<std::string>> SimpleRNNVariables(const LayerConfig& config) {
  return CellVariables(config);
}

Status ConvertRecurrent(LayerCall* call) {
  EDGEOPT_RETURN_IF_ERROR(CheckInputRank(*call, 3));
  EDGEOPT_ASSIGN_OR_RETURN(RnnOptions o,
                           ParseRnn(*call, call->config, call->config.class_name(), ""));
  EDGEOPT_ASSIGN_OR_RETURN(int mask, SequenceMask(*call));
  EDGEOPT_RETURN_IF_ERROR(CheckMaskedUnroll(*call, o, mask));
  EDGEOPT_ASSIGN_OR_RETURN(int y, EmitDirection(call, o, "", call->inputs[0], false, mask));
  call->outputs = {y};
  // The mask goes on with the sequence (RNN.compute_mask).
  if (o.return_sequences && mask >= 0) call->output_masks = {mask};
  return Status::Ok();
}

StatusOr<std::vector<std::string>> BidirectionalVariables(const LayerConfig& config) {
  std::vector<std::string> vars;
  EDGEOPT_ASSIGN_OR_RETURN(auto forward, InnerLayer(config, "layer"));
  std::pair<std::string, const Json*> backward = forward;
  if (config.Has("backward_layer")) {
    EDGEOPT_ASSIGN_OR_RETURN(backward, InnerLayer(config, "backward_layer"));
  }
  for (const auto& [prefix, inner] :
       {std::make_pair("forward/", forward), std::make_pair("backward/", backward)}) {
    EDGEOPT_ASSIGN_OR_RETURN(std::vector<std::string> inner_vars,
                             CellVariables(LayerConfig(inner.second, config.name(), inner.first)));
    for (const std::string& v : inner_vars) vars.push_back(prefix + v);
  }
  return vars;
}

Status ConvertBidirectional(LayerCall* call) {
  const LayerConfig& c = call->config;
  EDGEOPT_RETURN_IF_ERROR(CheckInputRank(*call, 3));
  EDGEOPT_ASSIGN_OR_RETURN(auto forward, InnerLayer(c, "layer"));
  EDGEOPT_ASSIGN_OR_RETURN(RnnOptions fo,
                           ParseRnn(*call, LayerConfig(forward.second, c.name(), forward.first),
                                    forward.first, "forward layer: "));
  RnnOptions bo = fo;
  bo.go_backwards = !fo.go_backwards;  // Keras's default backward layer
  if (c.Has("backward_layer")) {
    EDGEOPT_ASSIGN_OR_RETURN(auto backward, InnerLayer(c, "backward_layer"));
    EDGEOPT_ASSIGN_OR_RETURN(
        bo, ParseRnn(*call, LayerConfig(backward.second, c.name(), backward.first), backward.first,
                     "backward layer: "));
    if (bo.go_backwards == fo.go_backwards || bo.return_sequences != fo.return_sequences) {
      return call->Error(StatusCode::kInvalidModel,
                         "backward_layer must differ from the layer in go_backwards and match "
                         "it in return_sequences");
    }
  }
  const Json* mode_json = c.Find("merge_mode");
  if (c.json().contains("merge_mode") && mode_json == nullptr) {
    return call->Error(StatusCode::kUnsupported,
                       "merge_mode None (two separate outputs) is not supported");
  }
  EDGEOPT_ASSIGN_OR_RETURN(std::string mode, c.StringOr("merge_mode", "concat"));
  if (mode != "concat" && mode != "sum" && mode != "mul" && mode != "ave") {
    return call->Error(StatusCode::kUnsupported,
                       "merge_mode '" + mode + "' (expected concat, sum, mul or ave)");
  }
  if (mode != "concat" && fo.units != bo.units) {
    return call->Error(StatusCode::kInvalidModel,
                       "merge_mode '" + mode + "' needs the same units in both directions");
  }
  // Bidirectional sets both layers' zero_output_for_mask to return_sequences.
  fo.zero_output_for_mask = bo.zero_output_for_mask = fo.return_sequences;
  EDGEOPT_ASSIGN_OR_RETURN(int mask, SequenceMask(*call));
  EDGEOPT_RETURN_IF_ERROR(CheckMaskedUnroll(*call, fo, mask));
  EDGEOPT_RETURN_IF_ERROR(CheckMaskedUnroll(*call, bo, mask));
  EDGEOPT_ASSIGN_OR_RETURN(int yf,
                           EmitDirection(call, fo, "forward/", call->inputs[0], false, mask));
  EDGEOPT_ASSIGN_OR_RETURN(int yb,
                           EmitDirection(call, bo, "backward/", call->inputs[0], true, mask));
  Shape out = call->builder->ShapeOf(yf);
  ir::Attrs attrs;
  attrs["fused_activation_function"] = std::string("NONE");
  int y;
  if (mode == "concat") {
    out.back() += call->builder->ShapeOf(yb).back();
    y = call->NewTensor(out, "concat");
    attrs["axis"] = static_cast<int64_t>(out.size() - 1);
    call->AddNode("CONCATENATION", {yf, yb}, {y}, attrs);
  } else {
    y = call->NewTensor(out, mode);
    call->AddNode(mode == "mul" ? "MUL" : "ADD", {yf, yb}, {y}, attrs);
    if (mode == "ave") y = EmitScalarOp(call, "MUL", y, 0.5f);
  }
  call->outputs = {y};
  if (fo.return_sequences && mask >= 0) call->output_masks = {mask};
  return Status::Ok();
}

}  // namespace keras
}  // namespace edgeopt
