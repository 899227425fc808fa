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
