// The int8 mode's integer LSTM: the cell state range Calibrate recomputes, the parameters
// QuantizeGraph chooses (TFLite's "8x8_16" LSTM), and the quantized graph computing what the float
// one does when the runtime runs both.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <random>

#include "src/export/tflite/export.h"
#include "src/passes/quantize/calibrate.h"
#include "src/passes/quantize/quantize.h"
#include "src/report/evaluate.h"
#include "src/runtime/interpreter.h"

namespace edgeopt {
namespace quantize {
namespace {

constexpr int kSteps = 6, kFeatures = 3, kUnits = 4, kSamples = 16;

struct LstmModel {
  ir::Graph graph;
  std::vector<float> w[4], r[4], b[4];  // gates i, f, c, o
  int cell = -1, state = -1, output = -1;
};

// x [1, 6, 3] -> UNIDIRECTIONAL_SEQUENCE_LSTM (4 units) -> [1, 6, 4], with random weights
// large enough for cell states beyond 1.
LstmModel BuildLstm(const std::string& activation = "TANH") {
  LstmModel m;
  ir::Graph& g = m.graph;
  std::mt19937 rng(11);
  std::uniform_real_distribution<float> u(-0.9f, 0.9f);
  const int x = g.AddActivation("x", DType::kFloat32, {1, kSteps, kFeatures});
  std::vector<int> inputs(24, -1);
  inputs[0] = x;
  for (int q = 0; q < 4; ++q) {
    m.w[q].resize(kUnits * kFeatures);
    m.r[q].resize(kUnits * kUnits);
    m.b[q].resize(kUnits);
    for (float& v : m.w[q]) v = u(rng);
    for (float& v : m.r[q]) v = u(rng);
    for (float& v : m.b[q]) v = u(rng) + (q == 1 ? 1.0f : 0.0f);  // forget bias 1, as Keras
    const std::string gate = std::to_string(q);
    inputs[1 + q] = g.AddFloatConstant("w" + gate, {kUnits, kFeatures}, m.w[q]);
    inputs[5 + q] = g.AddFloatConstant("r" + gate, {kUnits, kUnits}, m.r[q]);
    inputs[12 + q] = g.AddFloatConstant("b" + gate, {kUnits}, m.b[q]);
  }
  for (int s = 0; s < 2; ++s) {
    ir::Tensor state;
    state.name = s == 0 ? "output_state" : "cell_state";
    state.shape = {1, kUnits};
    state.is_variable = true;
    inputs[18 + s] = g.AddTensor(std::move(state));
  }
  m.state = inputs[kLstmOutputState];
  m.cell = inputs[kLstmCellState];
  m.output = g.AddActivation("y", DType::kFloat32, {1, kSteps, kUnits});
  ir::Node lstm;
  lstm.op = "UNIDIRECTIONAL_SEQUENCE_LSTM";
  lstm.name = "lstm";
  lstm.inputs = inputs;
  lstm.outputs = {m.output};
  lstm.attrs["fused_activation_function"] = activation;
  lstm.attrs["cell_clip"] = 0.0;
  lstm.attrs["proj_clip"] = 0.0;
  lstm.attrs["time_major"] = false;
  lstm.attrs["asymmetric_quantize_inputs"] = false;
  g.AddNode(lstm);
  g.inputs = {x};
  g.outputs = {m.output};
  return m;
}

std::vector<float> Inputs() {
  std::mt19937 rng(5);
  std::uniform_real_distribution<float> u(-2.0f, 2.0f);
  std::vector<float> x(kSamples * kSteps * kFeatures);
  for (float& v : x) v = u(rng);
  return x;
}

FillInputsFn Fill(const std::vector<float>& x) {
  constexpr int64_t per = kSteps * kFeatures;
  return [&x](int64_t i, rt::Interpreter* interp) {
    return report::WriteFloatInput(interp->input_tensor(0), x.data() + i * per, per);
  };
}

// The cell states' extremes over all samples and steps, in double precision from the LSTM's
// equations (not from the runtime's hidden states, as Calibrate does).
void CellExtremes(const LstmModel& m, const std::vector<float>& x, double* lo, double* hi) {
  *lo = *hi = 0.0;
  auto sigmoid = [](double v) { return 1.0 / (1.0 + std::exp(-v)); };
  for (int s = 0; s < kSamples; ++s) {
    double c[kUnits] = {}, h[kUnits] = {};
    for (int t = 0; t < kSteps; ++t) {
      const float* xt = x.data() + (s * kSteps + t) * kFeatures;
      double gate[4][kUnits];
      for (int q = 0; q < 4; ++q) {
        for (int u = 0; u < kUnits; ++u) {
          double acc = m.b[q][u];
          for (int f = 0; f < kFeatures; ++f) acc += m.w[q][u * kFeatures + f] * xt[f];
          for (int k = 0; k < kUnits; ++k) acc += m.r[q][u * kUnits + k] * h[k];
          gate[q][u] = acc;
        }
      }
      for (int u = 0; u < kUnits; ++u) {
        c[u] = sigmoid(gate[1][u]) * c[u] + sigmoid(gate[0][u]) * std::tanh(gate[2][u]);
        h[u] = sigmoid(gate[3][u]) * std::tanh(c[u]);
        *lo = std::min(*lo, c[u]);
        *hi = std::max(*hi, c[u]);
      }
    }
  }
}

RangeMap CalibrateLstm(const LstmModel& m, const std::vector<float>& x) {
  CalibrateOptions co;
  co.samples = kSamples;
  auto ranges = Calibrate(m.graph, Fill(x), co);
  EXPECT_TRUE(ranges.ok()) << ranges.status().ToString();
  return ranges.ok() ? *ranges : RangeMap();
}

const ir::Node* FindOp(const ir::Graph& g, const std::string& op) {
  for (const ir::Node& node : g.nodes)
    if (node.op == op) return &node;
  return nullptr;
}

TEST(QuantizeLstm, CalibrationObservesTheCellState) {
  const LstmModel m = BuildLstm();
  const std::vector<float> x = Inputs();
  const RangeMap ranges = CalibrateLstm(m, x);
  ASSERT_TRUE(ranges.count(m.cell));
  double lo = 0, hi = 0;
  CellExtremes(m, x, &lo, &hi);
  EXPECT_GT(std::max(-lo, hi), 1.0);  // the power-of-two scale below is not the smallest
  EXPECT_NEAR(ranges.at(m.cell).min, lo, 1e-4);
  EXPECT_NEAR(ranges.at(m.cell).max, hi, 1e-4);
}

TEST(QuantizeLstm, Int8MakesTfliteIntegerLstm) {
  const LstmModel m = BuildLstm();
  const std::vector<float> x = Inputs();
  const RangeMap ranges = CalibrateLstm(m, x);
  QuantizeOptions o;
  o.io = IoType::kInt8;
  std::vector<int> remap;
  auto q = QuantizeGraph(m.graph, o, ranges, &remap);
  ASSERT_TRUE(q.ok()) << q.status().ToString();
  const ir::Node* lstm = FindOp(*q, "UNIDIRECTIONAL_SEQUENCE_LSTM");
  ASSERT_NE(lstm, nullptr);
  EXPECT_EQ(FindOp(*q, "QUANTIZE"), nullptr);
  EXPECT_EQ(FindOp(*q, "DEQUANTIZE"), nullptr);
  const ir::Tensor& in = q->tensors[lstm->inputs[0]];
  const ir::Tensor& out = q->tensors[lstm->outputs[0]];
  ASSERT_EQ(in.dtype, DType::kInt8);
  ASSERT_EQ(out.dtype, DType::kInt8);
  // Hidden state and output: symmetric (TFLite's kernel needs zero point 0 there).
  const Range& yr = ranges.at(m.output);
  EXPECT_EQ(out.quant.zero_point[0], 0);
  EXPECT_FLOAT_EQ(out.quant.scale[0], std::max(-yr.min, yr.max) / 127.0f);
  const ir::Tensor& state = q->tensors[lstm->inputs[kLstmOutputState]];
  EXPECT_TRUE(state.is_variable);
  EXPECT_EQ(state.dtype, DType::kInt8);
  EXPECT_EQ(state.quant.scale, out.quant.scale);
  EXPECT_EQ(state.quant.zero_point[0], 0);
  // Cell state: int16, scale 2^k / 32768 for the smallest 2^k >= max |c|.
  const ir::Tensor& cell = q->tensors[lstm->inputs[kLstmCellState]];
  EXPECT_TRUE(cell.is_variable);
  EXPECT_EQ(cell.dtype, DType::kInt16);
  const float abs_max = std::max(-ranges.at(m.cell).min, ranges.at(m.cell).max);
  const float range = cell.quant.scale[0] * 32768.0f;
  EXPECT_EQ(std::exp2(std::round(std::log2(range))), range);
  EXPECT_GE(range, abs_max);
  EXPECT_LT(range / 2, abs_max);
  // Weights per tensor in [-127, 127]; biases int32 at input scale x input-to-gate weight scale.
  for (int g = 0; g < 4; ++g) {
    for (int k : {1 + g, 5 + g}) {
      const ir::Tensor& w = q->tensors[lstm->inputs[k]];
      ASSERT_EQ(w.dtype, DType::kInt8);
      ASSERT_EQ(w.quant.scale.size(), 1u);
      const std::vector<float>& wf = k == 1 + g ? m.w[g] : m.r[g];
      float w_max = 0;
      for (float v : wf) w_max = std::max(w_max, std::abs(v));
      EXPECT_FLOAT_EQ(w.quant.scale[0], w_max / 127.0f);
    }
    const ir::Tensor& bias = q->tensors[lstm->inputs[12 + g]];
    ASSERT_EQ(bias.dtype, DType::kInt32);
    const float bias_scale = in.quant.scale[0] * q->tensors[lstm->inputs[1 + g]].quant.scale[0];
    EXPECT_FLOAT_EQ(bias.quant.scale[0], bias_scale);
    for (int u = 0; u < kUnits; ++u) {
      EXPECT_EQ(bias.DataAs<int32_t>()[u], std::lround(m.b[g][u] / bias_scale));
    }
  }
  // Five intermediates: the gates' (float, empty) and the hidden state's parameters.
  ASSERT_EQ(lstm->intermediates.size(), 5u);
  for (int k = 0; k < 4; ++k) {
    EXPECT_EQ(q->tensors[lstm->intermediates[k]].dtype, DType::kFloat32);
  }
  const ir::Tensor& hidden = q->tensors[lstm->intermediates[4]];
  EXPECT_EQ(hidden.dtype, DType::kInt8);
  EXPECT_EQ(hidden.quant.scale, out.quant.scale);

  // Both graphs through the runtime: the integer LSTM's outputs stay within a few steps.
  TfliteExportOptions eo;
  auto fb = ExportTflite(m.graph, eo);
  auto qb = ExportTflite(*q, eo);
  ASSERT_TRUE(fb.ok() && qb.ok());
  auto fi = rt::Interpreter::Create(fb->data(), fb->size(), {});
  auto qi = rt::Interpreter::Create(qb->data(), qb->size(), {});
  ASSERT_TRUE(fi.ok() && qi.ok()) << qi.status().ToString();
  constexpr int64_t per = kSteps * kFeatures, outs = kSteps * kUnits;
  double worst = 0;
  for (int s = 0; s < kSamples; ++s) {
    for (auto* interp : {fi->get(), qi->get()}) {
      interp->ResetVariables();
      ASSERT_TRUE(report::WriteFloatInput(interp->input_tensor(0), x.data() + s * per, per).ok());
      ASSERT_TRUE(interp->Invoke().ok());
    }
    std::vector<float> yf(outs), yq(outs);
    ASSERT_TRUE(report::ReadFloatOutput((*fi)->output_tensor(0), yf.data(), outs).ok());
    ASSERT_TRUE(report::ReadFloatOutput((*qi)->output_tensor(0), yq.data(), outs).ok());
    for (int64_t i = 0; i < outs; ++i) worst = std::max(worst, std::fabs(double{yf[i]} - yq[i]));
  }
  EXPECT_LT(worst, 4.0 * out.quant.scale[0]) << "worst output error " << worst;
  EXPECT_GT(worst, 0.0);  // the integer kernel ran
}

TEST(QuantizeLstm, StaysFloatWhereTheIntegerKernelDoesNotApply) {
  const std::vector<float> x = Inputs();
  struct Case {
    const char* what;
    std::string activation;
    Mode mode;
    bool keep;
  };
  for (const Case& c : {Case{"relu cell activation", "RELU", Mode::kInt8, false},
                        Case{"int16x8 (no 16x8 LSTM in TFLite 2.9)", "TANH", Mode::kInt16x8, false},
                        Case{"--keep-float lstm", "TANH", Mode::kInt8, true}}) {
    const LstmModel m = BuildLstm(c.activation);
    const RangeMap ranges = CalibrateLstm(m, x);
    EXPECT_EQ(ranges.count(m.cell), c.activation == "TANH" ? 1u : 0u) << c.what;
    QuantizeOptions o;
    o.mode = c.mode;
    if (c.keep) o.keep_float = {"lstm"};
    auto q = QuantizeGraph(m.graph, o, ranges);
    ASSERT_TRUE(q.ok()) << c.what << ": " << q.status().ToString();
    const ir::Node* lstm = FindOp(*q, "UNIDIRECTIONAL_SEQUENCE_LSTM");
    ASSERT_NE(lstm, nullptr) << c.what;
    EXPECT_EQ(q->tensors[lstm->inputs[0]].dtype, DType::kFloat32) << c.what;
    EXPECT_EQ(q->tensors[lstm->inputs[kLstmCellState]].dtype, DType::kFloat32) << c.what;
    EXPECT_TRUE(lstm->intermediates.empty()) << c.what;
  }
}

}  // namespace
}  // namespace quantize
}  // namespace edgeopt
