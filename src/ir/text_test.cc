#include "src/ir/text.h"

#include <gtest/gtest.h>

#include <cstring>

namespace edgeopt {
namespace ir {
namespace {

// Printed form of a graph that uses every feature of the format.
const char kText[] =
    R"(graph inputs(%0) outputs(%5, %6) input_names("image") output_names("probs", "aux")
description "a test model"
metadata "notes" "abc\x00\xff\"q\\"
%0 = tensor "input" float32[1,28,28,1] signature=[-1,28,28,1]
%1 = const "conv/kernel" float32[2,3,3,1] origin="conv/kernel"
%2 = const "conv/bias" float32[2] values=[0.5,-1.25]
%3 = tensor "conv" int8[1,26,26,2] scale=0.05 zero_point=-3 min=[-6.25] max=[6.5]
%4 = const "w" int8[2,2] scale=[0.1,0.2] zero_point=[0,0] values=[1,-2,127,-128]
%5 = tensor "out" int8[1,26,26,2] scale=[0.1,0.2] zero_point=[0,1] quant_axis=3
%6 = tensor "aux" float32[2] variable
%7 = const "sparse" float32[4,4] sparse_order=[0,1] sparse_block_map=[] sparse_dims=[dense(4),csr([0,1,2,3,4],[1,0,3,2])] values=[1,2,3,4]
%8 = const "empty_shape" int32[0]
%9 = const "h" float16[2] bytes="\x00<\x00\xc0"
%3 = CONV_2D(%0, %1, %2) {dilation_h_factor=1, fused_activation_function="RELU", padding="VALID", stride_h=1, stride_w=1} name="conv2d" version=3
%5 = CUSTOM(%3, _) custom_code="MyOp" custom_options="\x01\x02"
%6 = UNIDIRECTIONAL_SEQUENCE_LSTM(%0) {cell_clip=10.0, proj_clip=0.5, time_major=false} intermediates(%4)
() = FAKE(%4) {beta=[1.0,2.5], list=[1,-2,3], s="x y"}
)";

TEST(IrText, RoundTripIsIdentical) {
  StatusOr<Graph> g = ParseGraph(kText);
  ASSERT_TRUE(g.ok()) << g.status().ToString();
  EXPECT_EQ(PrintGraph(*g), kText);
  StatusOr<Graph> g2 = ParseGraph(PrintGraph(*g));
  ASSERT_TRUE(g2.ok());
  EXPECT_EQ(PrintGraph(*g2), kText);
}

TEST(IrText, ParsesValuesAndFields) {
  StatusOr<Graph> g = ParseGraph(kText);
  ASSERT_TRUE(g.ok()) << g.status().ToString();
  ASSERT_EQ(g->tensors.size(), 10u);
  ASSERT_EQ(g->nodes.size(), 4u);
  EXPECT_EQ(g->inputs, std::vector<int>({0}));
  EXPECT_EQ(g->outputs, std::vector<int>({5, 6}));
  EXPECT_EQ(g->output_names, std::vector<std::string>({"probs", "aux"}));
  ASSERT_EQ(g->metadata.size(), 1u);
  EXPECT_EQ(g->metadata[0].second, std::vector<uint8_t>({'a', 'b', 'c', 0, 0xff, '"', 'q', '\\'}));
  const Tensor& input = g->tensors[0];
  EXPECT_EQ(input.shape, std::vector<int32_t>({1, 28, 28, 1}));
  EXPECT_EQ(input.shape_signature, std::vector<int32_t>({-1, 28, 28, 1}));
  EXPECT_FALSE(input.is_constant);
  // A constant without values is zero-filled to its size.
  EXPECT_TRUE(g->tensors[1].is_constant);
  EXPECT_EQ(g->tensors[1].data, std::vector<uint8_t>(2 * 3 * 3 * 4, 0));
  EXPECT_EQ(g->tensors[1].origin, "conv/kernel");
  EXPECT_FLOAT_EQ(g->tensors[2].DataAs<float>()[1], -1.25f);
  EXPECT_EQ(g->tensors[3].quant.zero_point, std::vector<int64_t>({-3}));
  EXPECT_FLOAT_EQ(g->tensors[3].quant.max[0], 6.5f);
  EXPECT_EQ(g->tensors[4].DataAs<int8_t>()[3], -128);
  EXPECT_EQ(g->tensors[5].quant.axis, 3);
  EXPECT_TRUE(g->tensors[6].is_variable);
  const Tensor& sparse = g->tensors[7];
  ASSERT_TRUE(sparse.has_sparsity);
  ASSERT_EQ(sparse.sparsity.dim_metadata.size(), 2u);
  EXPECT_EQ(sparse.sparsity.dim_metadata[0].dense_size, 4);
  EXPECT_TRUE(sparse.sparsity.dim_metadata[1].sparse);
  EXPECT_EQ(sparse.sparsity.dim_metadata[1].indices, std::vector<int32_t>({1, 0, 3, 2}));
  EXPECT_EQ(sparse.data.size(), 16u);  // 4 values, not the dense 16
  EXPECT_TRUE(g->tensors[8].is_constant);
  EXPECT_TRUE(g->tensors[8].data.empty());
  EXPECT_EQ(g->tensors[9].data, std::vector<uint8_t>({0x00, 0x3c, 0x00, 0xc0}));

  const Node& conv = g->nodes[0];
  EXPECT_EQ(conv.op, "CONV_2D");
  EXPECT_EQ(conv.inputs, std::vector<int>({0, 1, 2}));
  EXPECT_EQ(conv.outputs, std::vector<int>({3}));
  EXPECT_EQ(conv.version, 3);
  EXPECT_EQ(conv.name, "conv2d");
  EXPECT_EQ(GetString(conv.attrs, "padding", ""), "VALID");
  EXPECT_EQ(GetInt(conv.attrs, "stride_w", 0), 1);
  const Node& custom = g->nodes[1];
  EXPECT_EQ(custom.inputs, std::vector<int>({3, -1}));
  EXPECT_EQ(custom.custom_code, "MyOp");
  EXPECT_EQ(custom.custom_options, std::vector<uint8_t>({1, 2}));
  const Node& lstm = g->nodes[2];
  EXPECT_TRUE(std::holds_alternative<double>(lstm.attrs.at("cell_clip")));
  EXPECT_DOUBLE_EQ(GetFloat(lstm.attrs, "cell_clip", 0), 10.0);
  EXPECT_FALSE(GetBool(lstm.attrs, "time_major", true));
  EXPECT_EQ(lstm.intermediates, std::vector<int>({4}));
  const Node& fake = g->nodes[3];
  EXPECT_TRUE(fake.outputs.empty());
  EXPECT_EQ(std::get<std::vector<double>>(fake.attrs.at("beta")), std::vector<double>({1.0, 2.5}));
  EXPECT_EQ(GetInts(fake.attrs, "list"), std::vector<int64_t>({1, -2, 3}));
  EXPECT_EQ(GetString(fake.attrs, "s", ""), "x y");
}

TEST(IrText, DocExampleParses) {
  // The example of text.h, with the output it names.
  const char text[] = R"(graph inputs(%0) outputs(%3)
%0 = tensor "input" float32[1,28,28,1]
%1 = const "conv/kernel" float32[8,3,3,1] origin="conv/kernel"
%2 = const "conv/bias" float32[8] values=[0,0,0,0,0,0,0,0]
%3 = tensor "conv" float32[1,26,26,8]
%3 = CONV_2D(%0, %1, %2) {fused_activation_function="RELU", padding="VALID", stride_h=1, stride_w=1}
)";
  StatusOr<Graph> g = ParseGraph(text);
  ASSERT_TRUE(g.ok()) << g.status().ToString();
  EXPECT_EQ(PrintGraph(*g), text);
  EXPECT_TRUE(g->Validate().ok());
}

TEST(IrText, FloatsPrintShortestAndStayFloats) {
  Graph g;
  int t = g.AddFloatConstant("c", {3}, {0.1f, 1.0f / 3.0f, 1e-8f});
  g.outputs.push_back(t);
  Node n;
  n.op = "X";
  n.attrs["alpha"] = static_cast<double>(0.2f);  // as the importer reads a float field
  n.attrs["beta"] = 2.0;
  n.attrs["gamma"] = 1e30;
  g.AddNode(n);
  const std::string text = PrintGraph(g);
  EXPECT_NE(text.find("values=[0.1,0.33333334,1e-08]"), std::string::npos) << text;
  EXPECT_NE(text.find("{alpha=0.2, beta=2.0, gamma=1e+30}"), std::string::npos) << text;
  StatusOr<Graph> back = ParseGraph(text);
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_TRUE(std::holds_alternative<double>(back->nodes[0].attrs.at("beta")));
  EXPECT_EQ(std::memcmp(back->tensors[0].data.data(), g.tensors[0].data.data(), 12), 0);
  EXPECT_EQ(static_cast<float>(GetFloat(back->nodes[0].attrs, "alpha", 0)), 0.2f);
  EXPECT_EQ(PrintGraph(*back), text);
}

TEST(IrText, LargeConstantsAreElided) {
  Graph g;
  g.AddFloatConstant("big", {20}, std::vector<float>(20, 1.5f));
  EXPECT_EQ(PrintGraph(g).find("values="), std::string::npos);
  TextOptions all;
  all.include_all_values = true;
  EXPECT_NE(PrintGraph(g, all).find("values=[1.5,1.5"), std::string::npos);
}

struct BadText {
  const char* text;
  const char* message;  // expected substring, with the line number
};

TEST(IrText, MalformedTextGivesLineNumbers) {
  const BadText cases[] = {
      {"graph inputs(%0) outputs(%0)\n%0 = tensor \"x\" float33[1]\n", "line 2: unknown dtype"},
      {"graph inputs(%0) outputs(%1)\n%0 = tensor \"x\" float32[1]\n", "line 1: %1 is not defined"},
      {"graph inputs(%0) outputs(%0)\n%0 = tensor \"x\" float32[1]\n%0 = "
       "tensor \"y\" int8[1]\n",
       "line 3: %0 is defined twice (first on line 2)"},
      {"graph inputs() outputs()\n\n%0 = const \"c\" int8[2] values=[1,300]\n",
       "line 3: value 1 of \"c\" does not fit int8"},
      {"graph inputs() outputs()\n%0 = const \"c\" float32[3] values=[1,2]\n",
       "line 2: constant \"c\" has 2 values but its shape needs 3"},
      {"graph inputs() outputs()\n%0 = tensor \"x\" float32[1]\n%0 = ADD(%0 "
       "{}\n",
       "line 3: expected ',' or ')'"},
      {"graph inputs() outputs()\n%0 = tensor \"x\" float32[1]\n%0 = ADD(%0) "
       "{a=SAME}\n",
       "line 3: attribute 'a': unknown word 'SAME' (strings need quotes)"},
      {"graph inputs() outputs()\n%0 = tensor \"unterminated float32[1]\n",
       "line 2: unterminated string"},
      {"graph inputs() outputs()\n%0 = tensor \"x\" float32[1] colour=1\n",
       "line 2: unknown tensor field 'colour'"},
      {"graph inputs() outputs()\n%0 = tensor \"x\" float32[1]\n%0 = ADD(%7)\n",
       "line 3: %7 is not defined"},
      {"graph inputs() outputs()\n%0 = tensor \"x\" float32[1]\n%0 = ADD(%0) "
       "{a=1, a=2}\n",
       "line 3: attribute 'a' given twice"},
      {"hello\n", "line 1: expected 'graph', 'description', 'metadata'"},
      {"graph inputs() outputs()\n%0 = tensor \"x\" float32[-1]\n", "line 2: shape dimensions"},
      {"graph inputs() outputs() bogus()\n", "line 1: unknown graph field 'bogus'"},
      {"graph inputs(%0) outputs()\n%0 = tensor \"x\" float32[1] $\n",
       "line 2: unexpected character '$'"},
  };
  for (const BadText& c : cases) {
    StatusOr<Graph> g = ParseGraph(c.text);
    ASSERT_FALSE(g.ok()) << c.text;
    EXPECT_EQ(g.status().code(), StatusCode::kInvalidArgument);
    EXPECT_NE(g.status().message().find(c.message), std::string::npos)
        << "got: " << g.status().message() << "\nwant: " << c.message;
  }
}

}  // namespace
}  // namespace ir
}  // namespace edgeopt
