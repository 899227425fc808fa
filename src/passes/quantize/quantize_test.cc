#include "src/passes/quantize/quantize.h"

#include <gtest/gtest.h>

#include <cmath>

namespace edgeopt {
namespace quantize {
namespace {

// input [1,4] -> FULLY_CONNECTED(3, RELU) -> RESHAPE [1,3] -> SOFTMAX
ir::Graph SmallGraph() {
  ir::Graph g;
  const int x = g.AddActivation("x", DType::kFloat32, {1, 4});
  const int w = g.AddFloatConstant("w", {3, 4},
                                   {0.5f, -1.0f, 0.25f, 0.0f,  //
                                    1.0f, 2.0f, -0.5f, 0.1f,   //
                                    0.0f, 0.0f, 0.0f, 0.0f});
  const int b = g.AddFloatConstant("b", {3}, {0.1f, -0.2f, 0.3f});
  const int h = g.AddActivation("h", DType::kFloat32, {1, 3});
  const int shape =
      g.AddConstant("shape", DType::kInt32, {2}, std::vector<int32_t>{1, 3}.data(), 8);
  const int r = g.AddActivation("r", DType::kFloat32, {1, 3});
  const int y = g.AddActivation("y", DType::kFloat32, {1, 3});
  ir::Node fc;
  fc.op = "FULLY_CONNECTED";
  fc.name = "dense";
  fc.inputs = {x, w, b};
  fc.outputs = {h};
  fc.attrs["fused_activation_function"] = std::string("RELU");
  g.AddNode(fc);
  ir::Node reshape;
  reshape.op = "RESHAPE";
  reshape.inputs = {h, shape};
  reshape.outputs = {r};
  g.AddNode(reshape);
  ir::Node softmax;
  softmax.op = "SOFTMAX";
  softmax.inputs = {r};
  softmax.outputs = {y};
  softmax.attrs["beta"] = 1.0;
  g.AddNode(softmax);
  g.inputs = {x};
  g.outputs = {y};
  return g;
}

RangeMap SmallRanges() {
  return {{0, Range{-1.0f, 1.0f}}, {3, Range{0.0f, 4.0f}}, {5, Range{0.0f, 4.0f}}};
}

int CountOps(const ir::Graph& g, const std::string& op) {
  int n = 0;
  for (const ir::Node& node : g.nodes) n += node.op == op;
  return n;
}

const ir::Node* FindOp(const ir::Graph& g, const std::string& op) {
  for (const ir::Node& node : g.nodes)
    if (node.op == op) return &node;
  return nullptr;
}

TEST(QuantizeInt8, FollowsTheSpec) {
  QuantizeOptions o;
  o.mode = Mode::kInt8;
  std::vector<int> map;
  auto q = QuantizeGraph(SmallGraph(), o, SmallRanges(), &map);
  ASSERT_TRUE(q.ok()) << q.status().message();
  // Float I/O: one QUANTIZE at the input, one DEQUANTIZE at the output, nothing inside.
  EXPECT_EQ(CountOps(*q, "QUANTIZE"), 1);
  EXPECT_EQ(CountOps(*q, "DEQUANTIZE"), 1);
  EXPECT_EQ(q->nodes.front().op, "QUANTIZE");
  EXPECT_EQ(q->nodes.back().op, "DEQUANTIZE");
  const ir::Node* fc = FindOp(*q, "FULLY_CONNECTED");
  ASSERT_NE(fc, nullptr);
  const ir::Tensor& in = q->tensors[fc->inputs[0]];
  const ir::Tensor& w = q->tensors[fc->inputs[1]];
  const ir::Tensor& b = q->tensors[fc->inputs[2]];
  const ir::Tensor& h = q->tensors[fc->outputs[0]];
  EXPECT_EQ(in.dtype, DType::kInt8);
  EXPECT_NEAR(in.quant.scale[0], 2.0f / 255.0f, 1e-7);
  // Weights: symmetric int8, per-tensor for FULLY_CONNECTED by default, max |w| = 2 -> 127.
  EXPECT_EQ(w.dtype, DType::kInt8);
  ASSERT_EQ(w.quant.scale.size(), 1u);
  EXPECT_FLOAT_EQ(w.quant.scale[0], 2.0f / 127.0f);
  EXPECT_EQ(w.quant.zero_point[0], 0);
  EXPECT_EQ(w.DataAs<int8_t>()[5], 127);
  EXPECT_EQ(w.DataAs<int8_t>()[1], -64);  // -1.0 / (2/127) = -63.5 -> -64 (half away from 0)
  EXPECT_EQ(w.DataAs<int8_t>()[11], 0);   // zeros stay zero
  // Bias: int32 with scale in * w.
  EXPECT_EQ(b.dtype, DType::kInt32);
  EXPECT_FLOAT_EQ(b.quant.scale[0], in.quant.scale[0] * w.quant.scale[0]);
  EXPECT_EQ(b.DataAs<int32_t>()[0],
            static_cast<int32_t>(std::round(0.1 / (in.quant.scale[0] * w.quant.scale[0]))));
  // RESHAPE shares the parameters of its input; SOFTMAX has the fixed output parameters.
  const ir::Node* reshape = FindOp(*q, "RESHAPE");
  EXPECT_EQ(q->tensors[reshape->outputs[0]].quant.scale, h.quant.scale);
  EXPECT_EQ(q->tensors[reshape->outputs[0]].quant.zero_point, h.quant.zero_point);
  EXPECT_EQ(q->tensors[reshape->inputs[1]].dtype, DType::kInt32);  // the shape stays int32
  const ir::Node* softmax = FindOp(*q, "SOFTMAX");
  EXPECT_FLOAT_EQ(q->tensors[softmax->outputs[0]].quant.scale[0], 1.0f / 256.0f);
  EXPECT_EQ(q->tensors[softmax->outputs[0]].quant.zero_point[0], -128);
  // The float graph's output maps to the int8 softmax output.
  EXPECT_EQ(map[6], softmax->outputs[0]);
}

TEST(QuantizeInt8, Int8AndUint8Io) {
  QuantizeOptions o;
  o.io = IoType::kInt8;
  auto q = QuantizeGraph(SmallGraph(), o, SmallRanges());
  ASSERT_TRUE(q.ok()) << q.status().message();
  EXPECT_EQ(CountOps(*q, "QUANTIZE") + CountOps(*q, "DEQUANTIZE"), 0);
  EXPECT_EQ(q->tensors[q->inputs[0]].dtype, DType::kInt8);
  EXPECT_EQ(q->tensors[q->outputs[0]].dtype, DType::kInt8);
  o.io = IoType::kUInt8;
  auto u = QuantizeGraph(SmallGraph(), o, SmallRanges());
  ASSERT_TRUE(u.ok()) << u.status().message();
  EXPECT_EQ(u->tensors[u->inputs[0]].dtype, DType::kUInt8);
  EXPECT_EQ(u->tensors[u->outputs[0]].dtype, DType::kUInt8);
  EXPECT_EQ(u->tensors[u->outputs[0]].quant.zero_point[0], 0);  // -128 + 128
  EXPECT_EQ(CountOps(*u, "QUANTIZE"), 2);
}

TEST(QuantizeInt8, KeepFloatPutsConversionsAroundTheLayer) {
  QuantizeOptions o;
  o.keep_float = {"dense"};
  auto q = QuantizeGraph(SmallGraph(), o, SmallRanges());
  ASSERT_TRUE(q.ok()) << q.status().message();
  const ir::Node* fc = FindOp(*q, "FULLY_CONNECTED");
  EXPECT_EQ(q->tensors[fc->inputs[1]].dtype, DType::kFloat32);
  EXPECT_EQ(q->tensors[fc->outputs[0]].dtype, DType::kFloat32);
  // The FC output is quantized for the int8 RESHAPE/SOFTMAX that follow.
  EXPECT_EQ(q->tensors[FindOp(*q, "RESHAPE")->inputs[0]].dtype, DType::kInt8);
}

TEST(QuantizeInt8, MissingRangeKeepsTheLayerFloat) {
  QuantizeOptions o;
  RangeMap partial = {{0, Range{-1.0f, 1.0f}}};  // no range for the FC output
  auto q = QuantizeGraph(SmallGraph(), o, partial);
  // The FC cannot be quantized without its output range: it stays float, and so does the rest.
  ASSERT_TRUE(q.ok()) << q.status().message();
  EXPECT_EQ(q->tensors[FindOp(*q, "FULLY_CONNECTED")->outputs[0]].dtype, DType::kFloat32);
}

// x [1,4] -> GREATER(x, 0.5) -> SELECT_V2(cond, x, 0): a comparison of an activation with a
// constant (Keras's ops.where(x > 0.5, x, 0)). With x in [-1, 1] the comparison is int8, its
// constant on x's grid (0.5 -> the nearest level, with x's scale and zero point) and its output
// a bool; with x in [-300, 300] (a scale over 1, which TFLite's int8 comparisons abort on) it
// stays float (here it reads the float input). In int16x8 (no TFLite 2.9 kernel) it stays float
// too.
TEST(QuantizeInt8, ComparisonsTakeTheirOperandsGridOrStayFloat) {
  ir::Graph g;
  const int x = g.AddActivation("x", DType::kFloat32, {1, 4});
  const int half = g.AddFloatConstant("half", {}, {0.5f});
  const int zero = g.AddFloatConstant("zero", {}, {0.0f});
  const int cond = g.AddActivation("cond", DType::kBool, {1, 4});
  const int y = g.AddActivation("y", DType::kFloat32, {1, 4});
  ir::Node gt;
  gt.op = "GREATER";
  gt.inputs = {x, half};
  gt.outputs = {cond};
  g.AddNode(gt);
  ir::Node sel;
  sel.op = "SELECT_V2";
  sel.inputs = {cond, x, zero};
  sel.outputs = {y};
  g.AddNode(sel);
  g.inputs = {x};
  g.outputs = {y};
  for (const float bound : {1.0f, 300.0f}) {
    SCOPED_TRACE(bound);
    QuantizeOptions o;
    auto q = QuantizeGraph(g, o, {{x, Range{-bound, bound}}, {y, Range{-bound, bound}}});
    ASSERT_TRUE(q.ok()) << q.status().message();
    const ir::Node* cmp = FindOp(*q, "GREATER");
    ASSERT_NE(cmp, nullptr);
    const ir::Tensor& a = q->tensors[cmp->inputs[0]];
    const ir::Tensor& c = q->tensors[cmp->inputs[1]];
    EXPECT_EQ(q->tensors[cmp->outputs[0]].dtype, DType::kBool);
    if (bound == 1.0f) {
      ASSERT_EQ(a.dtype, DType::kInt8);
      ASSERT_EQ(c.dtype, DType::kInt8);
      EXPECT_EQ(c.quant.scale, a.quant.scale);
      EXPECT_EQ(c.quant.zero_point, a.quant.zero_point);
      const int8_t level = c.DataAs<int8_t>()[0];
      EXPECT_EQ(level,
                static_cast<int>(std::lround(0.5f / a.quant.scale[0])) + a.quant.zero_point[0]);
      EXPECT_EQ(CountOps(*q, "DEQUANTIZE"), 1);  // the output's only
    } else {
      EXPECT_EQ(a.dtype, DType::kFloat32);
      EXPECT_EQ(c.dtype, DType::kFloat32);
      EXPECT_EQ(cmp->inputs[0], q->inputs[0]);  // the float input itself, before its QUANTIZE
    }
  }
  QuantizeOptions wide;
  wide.mode = Mode::kInt16x8;
  auto q16 = QuantizeGraph(g, wide, {{x, Range{-1.0f, 1.0f}}, {y, Range{-1.0f, 1.0f}}});
  ASSERT_TRUE(q16.ok()) << q16.status().message();
  EXPECT_EQ(q16->tensors[FindOp(*q16, "GREATER")->inputs[0]].dtype, DType::kFloat32);
}

TEST(QuantizeInt16x8, SymmetricActivationsAndInt64Bias) {
  QuantizeOptions o;
  o.mode = Mode::kInt16x8;
  auto q = QuantizeGraph(SmallGraph(), o, SmallRanges());
  ASSERT_TRUE(q.ok()) << q.status().message();
  const ir::Node* fc = FindOp(*q, "FULLY_CONNECTED");
  EXPECT_EQ(q->tensors[fc->inputs[0]].dtype, DType::kInt16);
  EXPECT_EQ(q->tensors[fc->inputs[0]].quant.zero_point[0], 0);
  EXPECT_NEAR(q->tensors[fc->inputs[0]].quant.scale[0], 1.0f / 32767.0f, 1e-9);
  EXPECT_EQ(q->tensors[fc->inputs[2]].dtype, DType::kInt64);
  EXPECT_FLOAT_EQ(q->tensors[FindOp(*q, "SOFTMAX")->outputs[0]].quant.scale[0], 1.0f / 32768.0f);
}

// input [1,4] -> FULLY_CONNECTED "dense" (3, RELU) -> FULLY_CONNECTED "dense_1" (2)
ir::Graph TwoDenseGraph() {
  ir::Graph g;
  const int x = g.AddActivation("x", DType::kFloat32, {1, 4});
  const int w0 = g.AddFloatConstant("w0", {3, 4},
                                    {0.5f, -1.0f, 0.25f, 0.0f,  //
                                     1.0f, 2.0f, -0.5f, 0.1f,   //
                                     0.3f, 0.2f, 0.1f, 0.0f});
  const int b0 = g.AddFloatConstant("b0", {3}, {0.1f, -0.2f, 0.3f});
  const int h = g.AddActivation("h", DType::kFloat32, {1, 3});
  const int w1 = g.AddFloatConstant("w1", {2, 3}, {1.0f, -0.5f, 0.25f, 0.5f, 0.5f, -1.0f});
  const int b1 = g.AddFloatConstant("b1", {2}, {0.05f, -0.05f});
  const int y = g.AddActivation("y", DType::kFloat32, {1, 2});
  ir::Node fc0;
  fc0.op = "FULLY_CONNECTED";
  fc0.name = "dense";
  fc0.inputs = {x, w0, b0};
  fc0.outputs = {h};
  fc0.attrs["fused_activation_function"] = std::string("RELU");
  g.AddNode(fc0);
  ir::Node fc1 = fc0;
  fc1.name = "dense_1";
  fc1.inputs = {h, w1, b1};
  fc1.outputs = {y};
  fc1.attrs["fused_activation_function"] = std::string("NONE");
  g.AddNode(fc1);
  g.inputs = {x};
  g.outputs = {y};
  return g;
}

RangeMap TwoDenseRanges() {
  return {{0, Range{-1.0f, 1.0f}}, {3, Range{0.0f, 4.0f}}, {6, Range{-3.0f, 2.0f}}};
}

const ir::Node* FindNamed(const ir::Graph& g, const std::string& op, const std::string& name) {
  for (const ir::Node& node : g.nodes)
    if (node.op == op && node.name == name) return &node;
  return nullptr;
}

// One FULLY_CONNECTED weight read by two ops (an unrolled recurrent layer's steps): the weights
// and the bias quantize once, and the two inputs share one scale (the union of their ranges).
TEST(QuantizeInt8, OpsSharingWeightsShareTheirInputScaleWeightsAndBias) {
  ir::Graph g;
  const int x = g.AddActivation("x", DType::kFloat32, {1, 3});
  const int w =
      g.AddFloatConstant("w", {3, 3}, {0.5f, -1.0f, 0.25f, 1.0f, 2.0f, -0.5f, 0.3f, 0.2f, 0.1f});
  const int b = g.AddFloatConstant("b", {3}, {0.1f, -0.2f, 0.3f});
  const int h1 = g.AddActivation("h1", DType::kFloat32, {1, 3});
  const int h2 = g.AddActivation("h2", DType::kFloat32, {1, 3});
  ir::Node fc;
  fc.op = "FULLY_CONNECTED";
  fc.attrs["fused_activation_function"] = std::string("NONE");
  fc.name = "step0";
  fc.inputs = {x, w, b};
  fc.outputs = {h1};
  g.AddNode(fc);
  fc.name = "step1";
  fc.inputs = {h1, w, b};
  fc.outputs = {h2};
  g.AddNode(fc);
  g.inputs = {x};
  g.outputs = {h2};
  const RangeMap ranges = {
      {x, Range{-1.0f, 1.0f}}, {h1, Range{-3.0f, 2.0f}}, {h2, Range{-4.0f, 4.0f}}};
  QuantizeOptions o;
  o.mode = Mode::kInt8;
  auto q = QuantizeGraph(g, o, ranges);
  ASSERT_TRUE(q.ok()) << q.status().ToString();
  const ir::Node* s0 = FindNamed(*q, "FULLY_CONNECTED", "step0");
  const ir::Node* s1 = FindNamed(*q, "FULLY_CONNECTED", "step1");
  ASSERT_TRUE(s0 != nullptr && s1 != nullptr);
  EXPECT_EQ(s0->inputs[1], s1->inputs[1]);  // one int8 weight tensor
  EXPECT_EQ(s0->inputs[2], s1->inputs[2]);  // one int32 bias
  const ir::QuantInfo& q0 = q->tensors[s0->inputs[0]].quant;
  const ir::QuantInfo& q1 = q->tensors[s1->inputs[0]].quant;
  EXPECT_EQ(q0.scale, q1.scale);
  EXPECT_EQ(q0.zero_point, q1.zero_point);
  EXPECT_NEAR(q0.scale[0], 5.0f / 255.0f, 1e-6);  // x's [-1, 1] with h1's [-3, 2]: [-3, 2]
}

TEST(QuantizeMixed, Int16LayerReadsTheFloatInputDirectlyAndFeedsInt8ThroughOneQuantize) {
  QuantizeOptions o;
  o.keep_int16 = {"dense"};
  auto q = QuantizeGraph(TwoDenseGraph(), o, TwoDenseRanges());
  ASSERT_TRUE(q.ok()) << q.status().message();
  const ir::Node* fc0 = FindNamed(*q, "FULLY_CONNECTED", "dense");
  const ir::Node* fc1 = FindNamed(*q, "FULLY_CONNECTED", "dense_1");
  ASSERT_NE(fc0, nullptr);
  ASSERT_NE(fc1, nullptr);
  // dense: int16 in and out (symmetric), int8 weights, int64 bias with scale in * w.
  const ir::Tensor& in0 = q->tensors[fc0->inputs[0]];
  EXPECT_EQ(in0.dtype, DType::kInt16);
  EXPECT_EQ(in0.quant.zero_point[0], 0);
  EXPECT_NEAR(in0.quant.scale[0], 1.0f / 32767.0f, 1e-9);
  EXPECT_EQ(q->tensors[fc0->inputs[1]].dtype, DType::kInt8);
  const ir::Tensor& b0 = q->tensors[fc0->inputs[2]];
  EXPECT_EQ(b0.dtype, DType::kInt64);
  EXPECT_FLOAT_EQ(b0.quant.scale[0],
                  in0.quant.scale[0] * q->tensors[fc0->inputs[1]].quant.scale[0]);
  const ir::Tensor& h = q->tensors[fc0->outputs[0]];
  EXPECT_EQ(h.dtype, DType::kInt16);
  EXPECT_NEAR(h.quant.scale[0], 4.0f / 32767.0f, 1e-9);
  // The float input is quantized straight to int16: one QUANTIZE reads the graph input.
  const int p0 = q->Producer(fc0->inputs[0]);
  ASSERT_GE(p0, 0);
  EXPECT_EQ(q->nodes[p0].op, "QUANTIZE");
  EXPECT_EQ(q->nodes[p0].inputs[0], q->inputs[0]);
  // dense_1 is int8: its input is the int16 tensor requantized by one QUANTIZE (int16 -> int8),
  // with the int8 parameters of h's range [0, 4]; its bias is int32.
  const ir::Tensor& in1 = q->tensors[fc1->inputs[0]];
  EXPECT_EQ(in1.dtype, DType::kInt8);
  EXPECT_NEAR(in1.quant.scale[0], 4.0f / 255.0f, 1e-7);
  EXPECT_EQ(in1.quant.zero_point[0], -128);
  const int p1 = q->Producer(fc1->inputs[0]);
  ASSERT_GE(p1, 0);
  EXPECT_EQ(q->nodes[p1].op, "QUANTIZE");
  EXPECT_EQ(q->nodes[p1].inputs[0], fc0->outputs[0]);
  EXPECT_EQ(q->tensors[fc1->inputs[2]].dtype, DType::kInt32);
  EXPECT_EQ(q->tensors[fc1->outputs[0]].dtype, DType::kInt8);
  EXPECT_EQ(CountOps(*q, "QUANTIZE"), 2);
  EXPECT_EQ(CountOps(*q, "DEQUANTIZE"), 1);  // the float output
}

TEST(QuantizeMixed, Int8ToInt16GoesThroughFloatAndInt16OutputsMeetInt8Io) {
  QuantizeOptions o;
  o.keep_int16 = {"dense_1"};
  auto q = QuantizeGraph(TwoDenseGraph(), o, TwoDenseRanges());
  ASSERT_TRUE(q.ok()) << q.status().message();
  const ir::Node* fc1 = FindNamed(*q, "FULLY_CONNECTED", "dense_1");
  ASSERT_NE(fc1, nullptr);
  // TFLite's QUANTIZE cannot requantize int8 to int16: DEQUANTIZE, then QUANTIZE.
  const int p = q->Producer(fc1->inputs[0]);
  ASSERT_GE(p, 0);
  EXPECT_EQ(q->nodes[p].op, "QUANTIZE");
  EXPECT_EQ(q->tensors[fc1->inputs[0]].dtype, DType::kInt16);
  const int pp = q->Producer(q->nodes[p].inputs[0]);
  ASSERT_GE(pp, 0);
  EXPECT_EQ(q->nodes[pp].op, "DEQUANTIZE");
  EXPECT_EQ(q->tensors[q->nodes[pp].inputs[0]].dtype, DType::kInt8);
  EXPECT_EQ(q->tensors[fc1->outputs[0]].dtype, DType::kInt16);
  EXPECT_EQ(q->tensors[q->outputs[0]].dtype, DType::kFloat32);
  // int8 I/O: the int16 output is requantized to int8 with the output range [-3, 2].
  o.io = IoType::kInt8;
  auto i8 = QuantizeGraph(TwoDenseGraph(), o, TwoDenseRanges());
  ASSERT_TRUE(i8.ok()) << i8.status().message();
  const ir::Tensor& out = i8->tensors[i8->outputs[0]];
  EXPECT_EQ(out.dtype, DType::kInt8);
  EXPECT_NEAR(out.quant.scale[0], 5.0f / 255.0f, 1e-7);
  EXPECT_EQ(i8->tensors[i8->inputs[0]].dtype, DType::kInt8);
  // uint8 I/O: int16 -> int8 -> uint8 (TFLite has no int16 -> uint8 QUANTIZE).
  o.io = IoType::kUInt8;
  auto u8 = QuantizeGraph(TwoDenseGraph(), o, TwoDenseRanges());
  ASSERT_TRUE(u8.ok()) << u8.status().message();
  EXPECT_EQ(u8->tensors[u8->outputs[0]].dtype, DType::kUInt8);
  const int last = u8->Producer(u8->outputs[0]);
  ASSERT_GE(last, 0);
  EXPECT_EQ(u8->tensors[u8->nodes[last].inputs[0]].dtype, DType::kInt8);
}

TEST(QuantizeMixed, SameScaleOpsJoinTheirInt16ProducerAndFixedOutputsFollowThePrecision) {
  // SmallGraph: dense -> RESHAPE "r" -> SOFTMAX. Keeping dense in int16 takes the RESHAPE along
  // (they share parameters); the SOFTMAX stays int8 with the spec's 1/256 output.
  QuantizeOptions o;
  o.keep_int16 = {"dense"};
  auto q = QuantizeGraph(SmallGraph(), o, SmallRanges());
  ASSERT_TRUE(q.ok()) << q.status().message();
  const ir::Node* reshape = FindOp(*q, "RESHAPE");
  EXPECT_EQ(q->tensors[reshape->inputs[0]].dtype, DType::kInt16);
  EXPECT_EQ(q->tensors[reshape->outputs[0]].dtype, DType::kInt16);
  const ir::Node* softmax = FindOp(*q, "SOFTMAX");
  EXPECT_EQ(q->tensors[softmax->inputs[0]].dtype, DType::kInt8);
  EXPECT_FLOAT_EQ(q->tensors[softmax->outputs[0]].quant.scale[0], 1.0f / 256.0f);
  // Keeping the RESHAPE (by its output tensor's name) in int16 brings in its producer too; the
  // SOFTMAX kept in int16 gets the 16x8 fixed output 1/32768.
  o.keep_int16 = {"r", "y"};
  q = QuantizeGraph(SmallGraph(), o, SmallRanges());
  ASSERT_TRUE(q.ok()) << q.status().message();
  const ir::Node* fc = FindOp(*q, "FULLY_CONNECTED");
  EXPECT_EQ(q->tensors[fc->outputs[0]].dtype, DType::kInt16);
  EXPECT_EQ(q->tensors[fc->inputs[2]].dtype, DType::kInt64);
  softmax = FindOp(*q, "SOFTMAX");
  EXPECT_EQ(q->tensors[softmax->outputs[0]].dtype, DType::kInt16);
  EXPECT_FLOAT_EQ(q->tensors[softmax->outputs[0]].quant.scale[0], 1.0f / 32768.0f);
  EXPECT_EQ(CountOps(*q, "QUANTIZE"), 1);  // the input, straight to int16
}

// With ranges calibrated for 16 bits (the clipping methods choose wider ones there), the int16
// tensors take them and the int8 copies keep the int8 ones.
TEST(QuantizeMixed, Int16TensorsTakeTheirOwnRanges) {
  QuantizeOptions o;
  o.keep_int16 = {"dense"};
  const RangeMap ranges16 = {
      {0, Range{-1.0f, 1.0f}}, {3, Range{0.0f, 8.0f}}, {6, Range{-3.0f, 2.0f}}};
  o.int16_ranges = &ranges16;
  auto q = QuantizeGraph(TwoDenseGraph(), o, TwoDenseRanges());
  ASSERT_TRUE(q.ok()) << q.status().message();
  const ir::Node* fc0 = FindNamed(*q, "FULLY_CONNECTED", "dense");
  const ir::Node* fc1 = FindNamed(*q, "FULLY_CONNECTED", "dense_1");
  EXPECT_NEAR(q->tensors[fc0->outputs[0]].quant.scale[0], 8.0f / 32767.0f, 1e-9);
  EXPECT_NEAR(q->tensors[fc1->inputs[0]].quant.scale[0], 4.0f / 255.0f, 1e-7);
  // Without them, the int8 ranges serve both.
  o.int16_ranges = nullptr;
  q = QuantizeGraph(TwoDenseGraph(), o, TwoDenseRanges());
  ASSERT_TRUE(q.ok()) << q.status().message();
  EXPECT_NEAR(q->tensors[FindNamed(*q, "FULLY_CONNECTED", "dense")->outputs[0]].quant.scale[0],
              4.0f / 32767.0f, 1e-9);
}

TEST(QuantizeMixed, Errors) {
  QuantizeOptions o;
  o.mode = Mode::kInt16x8;
  o.keep_int16 = {"dense"};
  auto q = QuantizeGraph(SmallGraph(), o, SmallRanges());
  ASSERT_FALSE(q.ok());
  EXPECT_NE(q.status().message().find("needs --mode int8"), std::string::npos);
  // int8 I/O where the model input shares its parameters with an int16 layer: input -> RESHAPE
  // kept in int16.
  ir::Graph g;
  const int x = g.AddActivation("x", DType::kFloat32, {1, 4});
  const int shape =
      g.AddConstant("shape", DType::kInt32, {2}, std::vector<int32_t>{2, 2}.data(), 8);
  const int r = g.AddActivation("r", DType::kFloat32, {2, 2});
  ir::Node reshape;
  reshape.op = "RESHAPE";
  reshape.name = "reshape";
  reshape.inputs = {x, shape};
  reshape.outputs = {r};
  g.AddNode(reshape);
  g.inputs = {x};
  g.outputs = {r};
  QuantizeOptions io;
  io.io = IoType::kInt8;
  io.keep_int16 = {"reshape"};
  auto e = QuantizeGraph(g, io, {{x, Range{-1.0f, 1.0f}}, {r, Range{-1.0f, 1.0f}}});
  ASSERT_FALSE(e.ok());
  EXPECT_NE(e.status().message().find("model input 'x'"), std::string::npos)
      << e.status().message();
  io.io = IoType::kFloat;
  e = QuantizeGraph(g, io, {{x, Range{-1.0f, 1.0f}}, {r, Range{-1.0f, 1.0f}}});
  ASSERT_TRUE(e.ok()) << e.status().message();
  EXPECT_EQ(e->tensors[e->nodes[1].outputs[0]].dtype, DType::kInt16);
}

TEST(QuantizeDynamic, SmallWeightsStayFloat) {
  QuantizeOptions o;
  o.mode = Mode::kDynamic;
  auto q = QuantizeGraph(SmallGraph(), o, {});
  ASSERT_TRUE(q.ok());
  EXPECT_EQ(q->tensors[FindOp(*q, "FULLY_CONNECTED")->inputs[1]].dtype, DType::kFloat32);
  o.min_weight_elements = 1;
  q = QuantizeGraph(SmallGraph(), o, {});
  ASSERT_TRUE(q.ok());
  EXPECT_EQ(q->tensors[FindOp(*q, "FULLY_CONNECTED")->inputs[1]].dtype, DType::kInt8);
  EXPECT_EQ(q->tensors[FindOp(*q, "FULLY_CONNECTED")->inputs[0]].dtype, DType::kFloat32);
}

TEST(QuantizeFloat16, ConstantsBecomeHalfWithDequantize) {
  QuantizeOptions o;
  o.mode = Mode::kFloat16;
  auto q = QuantizeGraph(SmallGraph(), o, {});
  ASSERT_TRUE(q.ok());
  EXPECT_EQ(CountOps(*q, "DEQUANTIZE"), 2);  // weights and bias
  const ir::Node* fc = FindOp(*q, "FULLY_CONNECTED");
  EXPECT_EQ(q->tensors[fc->inputs[1]].dtype, DType::kFloat32);
  EXPECT_EQ(q->Producer(fc->inputs[1]) >= 0, true);
  EXPECT_EQ(q->tensors[q->nodes[q->Producer(fc->inputs[1])].inputs[0]].dtype, DType::kFloat16);
}

}  // namespace
}  // namespace quantize
}  // namespace edgeopt
