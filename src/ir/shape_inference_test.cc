#include "src/ir/shape_inference.h"

#include <gtest/gtest.h>

#include "src/ir/text.h"

namespace edgeopt {
namespace ir {
namespace {

// Parses `text`, runs InferShapes and returns the shape of tensor `t`.
std::vector<int32_t> Infer(const std::string& text, int t) {
  StatusOr<Graph> g = ParseGraph("graph inputs(%0) outputs()\n" + text);
  EXPECT_TRUE(g.ok()) << g.status().ToString();
  if (!g.ok()) return {-1};
  Status s = InferShapes(&*g);
  EXPECT_TRUE(s.ok()) << s.ToString() << "\n" << text;
  return g->tensors[t].shape;
}

Status InferError(const std::string& text) {
  StatusOr<Graph> g = ParseGraph("graph inputs(%0) outputs()\n" + text);
  EXPECT_TRUE(g.ok()) << g.status().ToString();
  if (!g.ok()) return g.status();
  return InferShapes(&*g);
}

using S = std::vector<int32_t>;

TEST(ShapeInference, ConvolutionsAndPools) {
  const std::string x = "%0 = tensor \"x\" float32[1,28,28,3]\n";
  EXPECT_EQ(Infer(x + "%1 = const \"w\" float32[8,3,3,3]\n%2 = tensor \"y\" float32[]\n"
                      "%2 = CONV_2D(%0, %1, _) {padding=\"VALID\", stride_h=1, "
                      "stride_w=1}\n",
                  2),
            S({1, 26, 26, 8}));
  EXPECT_EQ(Infer(x + "%1 = const \"w\" float32[8,3,3,3]\n%2 = tensor \"y\" float32[]\n"
                      "%2 = CONV_2D(%0, %1, _) {padding=\"SAME\", stride_h=2, "
                      "stride_w=3}\n",
                  2),
            S({1, 14, 10, 8}));
  EXPECT_EQ(Infer(x + "%1 = const \"w\" float32[4,3,3,3]\n%2 = tensor \"y\" float32[]\n"
                      "%2 = CONV_2D(%0, %1, _) {dilation_h_factor=2, "
                      "dilation_w_factor=3, "
                      "padding=\"VALID\", stride_h=1, stride_w=1}\n",
                  2),
            S({1, 24, 22, 4}));
  EXPECT_EQ(Infer(x + "%1 = const \"w\" float32[1,5,5,6]\n%2 = tensor \"y\" float32[]\n"
                      "%2 = DEPTHWISE_CONV_2D(%0, %1, _) {depth_multiplier=2, "
                      "padding=\"VALID\", "
                      "stride_h=2, stride_w=2}\n",
                  2),
            S({1, 12, 12, 6}));
  EXPECT_EQ(Infer(x + "%1 = tensor \"y\" float32[]\n%1 = MAX_POOL_2D(%0) "
                      "{filter_height=2, "
                      "filter_width=2, padding=\"VALID\", stride_h=2, stride_w=2}\n",
                  1),
            S({1, 14, 14, 3}));
  EXPECT_EQ(Infer(x + "%1 = tensor \"y\" float32[]\n%1 = AVERAGE_POOL_2D(%0) "
                      "{filter_height=3, "
                      "filter_width=3, padding=\"SAME\", stride_h=2, stride_w=2}\n",
                  1),
            S({1, 14, 14, 3}));
  EXPECT_EQ(Infer("%0 = tensor \"x\" float32[1,7,7,16]\n"
                  "%1 = const \"shape\" int32[4] values=[1,14,14,8]\n"
                  "%2 = const \"w\" float32[8,3,3,16]\n%3 = tensor \"y\" float32[]\n"
                  "%3 = TRANSPOSE_CONV(%1, %2, %0) {padding=\"SAME\", stride_h=2, "
                  "stride_w=2}\n",
                  3),
            S({1, 14, 14, 8}));
}

TEST(ShapeInference, FullyConnected) {
  const std::string t =
      "%0 = tensor \"x\" float32[2,3,4]\n%1 = const \"w\" float32[5,4]\n"
      "%2 = tensor \"y\" float32[]\n";
  EXPECT_EQ(Infer(t + "%2 = FULLY_CONNECTED(%0, %1, _)\n", 2), S({6, 5}));
  EXPECT_EQ(Infer(t + "%2 = FULLY_CONNECTED(%0, %1, _) {keep_num_dims=true}\n", 2), S({2, 3, 5}));
}

TEST(ShapeInference, BatchMatMul) {
  const std::string t =
      "%0 = tensor \"a\" float32[2,4,3,5]\n%1 = tensor \"b\" float32[4,5,6]\n"
      "%2 = tensor \"c\" float32[2,4,7,5]\n%3 = tensor \"y\" float32[]\n";
  EXPECT_EQ(Infer(t + "%3 = BATCH_MATMUL(%0, %1)\n", 3), S({2, 4, 3, 6}));
  // Attention: scores = q k^T, then probabilities x v.
  EXPECT_EQ(Infer(t + "%3 = BATCH_MATMUL(%0, %2) {adj_y=true}\n", 3), S({2, 4, 3, 7}));
  EXPECT_EQ(Infer(t + "%3 = BATCH_MATMUL(%0, %0) {adj_x=true}\n", 3), S({2, 4, 5, 5}));
  EXPECT_FALSE(InferError(t + "%3 = BATCH_MATMUL(%0, %2)\n").ok());  // 5 vs 7
  const std::string u =
      "%0 = tensor \"a\" float32[3,2,5]\n%1 = tensor \"b\" float32[4,5,6]\n"
      "%2 = tensor \"y\" float32[]\n";
  EXPECT_FALSE(InferError(u + "%2 = BATCH_MATMUL(%0, %1)\n").ok());  // batch 3 vs 4
}

TEST(ShapeInference, ElementwiseAndReductions) {
  EXPECT_EQ(Infer("%0 = tensor \"a\" float32[4,1,3]\n%1 = tensor \"b\" float32[5,1]\n"
                  "%2 = tensor \"y\" float32[]\n%2 = ADD(%0, %1)\n",
                  2),
            S({4, 5, 3}));
  EXPECT_EQ(Infer("%0 = tensor \"a\" int8[2,3]\n%1 = tensor \"y\" int8[]\n%1 = "
                  "LOGISTIC(%0)\n"
                  "%2 = tensor \"z\" float32[]\n%2 = DEQUANTIZE(%1)\n"
                  "%3 = tensor \"d\" float32[]\n%3 = DROPOUT(%2) {rate=0.5}\n",
                  3),
            S({2, 3}));
  const std::string x =
      "%0 = tensor \"x\" float32[2,3,4,5]\n%1 = const \"axis\" int32[2] "
      "values=[1,-1]\n%2 = tensor \"y\" float32[]\n";
  EXPECT_EQ(Infer(x + "%2 = MEAN(%0, %1) {keep_dims=true}\n", 2), S({2, 1, 4, 1}));
  EXPECT_EQ(Infer(x + "%2 = SUM(%0, %1) {keep_dims=false}\n", 2), S({2, 4}));
  EXPECT_EQ(Infer("%0 = tensor \"x\" float32[2,3,4]\n%1 = const \"axis\" "
                  "int32[] values=[1]\n"
                  "%2 = tensor \"y\" int32[]\n%2 = ARG_MAX(%0, %1)\n",
                  2),
            S({2, 4}));
}

TEST(ShapeInference, ShapeOps) {
  const std::string x = "%0 = tensor \"x\" float32[2,1,6]\n";
  EXPECT_EQ(Infer(x + "%1 = const \"s\" int32[2] values=[3,-1]\n%2 = tensor "
                      "\"y\" float32[]\n"
                      "%2 = RESHAPE(%0, %1)\n",
                  2),
            S({3, 4}));
  EXPECT_EQ(Infer(x + "%1 = tensor \"y\" float32[]\n%1 = RESHAPE(%0) "
                      "{new_shape=[-1]}\n",
                  1),
            S({12}));
  EXPECT_EQ(Infer(x + "%1 = tensor \"y\" float32[]\n%1 = SQUEEZE(%0)\n", 1), S({2, 6}));
  EXPECT_EQ(Infer(x + "%1 = tensor \"y\" float32[]\n%1 = SQUEEZE(%0) "
                      "{squeeze_dims=[-2]}\n",
                  1),
            S({2, 6}));
  EXPECT_EQ(Infer(x + "%1 = const \"a\" int32[1] values=[-1]\n%2 = tensor "
                      "\"y\" float32[]\n"
                      "%2 = EXPAND_DIMS(%0, %1)\n",
                  2),
            S({2, 1, 6, 1}));
  EXPECT_EQ(Infer(x + "%1 = tensor \"b\" float32[2,1,3]\n%1 = SLICE(%0, %2, %3)\n"
                      "%2 = const \"begin\" int32[3] values=[0,0,3]\n"
                      "%3 = const \"size\" int32[3] values=[-1,1,3]\n"
                      "%4 = tensor \"c\" float32[]\n%4 = CONCATENATION(%0, %1) "
                      "{axis=-1}\n",
                  4),
            S({2, 1, 9}));
  EXPECT_EQ(Infer(x + "%1 = const \"p\" int32[3,2] values=[0,0,1,2,3,4]\n"
                      "%2 = tensor \"y\" float32[]\n%2 = PAD(%0, %1)\n",
                  2),
            S({2, 4, 13}));
  EXPECT_EQ(Infer(x + "%1 = const \"perm\" int32[3] values=[2,0,1]\n"
                      "%2 = tensor \"y\" float32[]\n%2 = TRANSPOSE(%0, %1)\n",
                  2),
            S({6, 2, 1}));
  EXPECT_EQ(Infer(x + "%1 = const \"axis\" int32[] values=[2]\n"
                      "%2 = tensor \"a\" float32[]\n%3 = tensor \"b\" float32[]\n"
                      "%4 = tensor \"c\" float32[]\n%2, %3, %4 = SPLIT(%1, %0) "
                      "{num_splits=3}\n",
                  4),
            S({2, 1, 2}));
  EXPECT_EQ(Infer(x + "%1 = const \"sizes\" int32[2] values=[1,-1]\n"
                      "%2 = const \"axis\" int32[] values=[2]\n%3 = tensor "
                      "\"a\" float32[]\n"
                      "%4 = tensor \"b\" float32[]\n%3, %4 = SPLIT_V(%0, %1, "
                      "%2) {num_splits=2}\n",
                  4),
            S({2, 1, 5}));
  EXPECT_EQ(Infer(x + "%1 = tensor \"y\" float32[]\n%1 = PACK(%0, %0, %0) {axis=1, "
                      "values_count=3}\n%2 = tensor \"u\" float32[]\n%3 = tensor "
                      "\"v\" float32[]\n"
                      "%2, %3 = UNPACK(%0) {axis=0, num=2}\n",
                  1),
            S({2, 3, 1, 6}));
  EXPECT_EQ(Infer(x + "%1 = tensor \"y\" int32[]\n%1 = SHAPE(%0) "
                      "{out_type=\"INT32\"}\n",
                  1),
            S({3}));
  EXPECT_EQ(Infer("%0 = tensor \"p\" float32[10,4]\n%1 = const \"i\" int32[2,3] "
                  "values=[0,1,2,3,"
                  "4,5]\n%2 = tensor \"y\" float32[]\n%2 = GATHER(%0, %1) {axis=0}\n",
                  2),
            S({2, 3, 4}));
  EXPECT_EQ(Infer("%0 = tensor \"x\" int8[1,8,8,3]\n%1 = const \"size\" int32[2] "
                  "values=[16,12]\n"
                  "%2 = tensor \"y\" int8[]\n%2 = RESIZE_NEAREST_NEIGHBOR(%0, %1)\n",
                  2),
            S({1, 16, 12, 3}));
}

TEST(ShapeInference, StridedSlice) {
  const std::string x = "%0 = tensor \"x\" float32[4,10,3]\n";
  EXPECT_EQ(Infer(x + "%1 = const \"b\" int32[3] values=[1,0,0]\n"
                      "%2 = const \"e\" int32[3] values=[0,-1,3]\n"
                      "%3 = const \"s\" int32[3] values=[1,2,1]\n%4 = tensor "
                      "\"y\" float32[]\n"
                      "%4 = STRIDED_SLICE(%0, %1, %2, %3) {end_mask=1, "
                      "shrink_axis_mask=4}\n",
                  4),
            S({3, 5}));
  EXPECT_EQ(Infer(x + "%1 = const \"b\" int32[1] values=[-1]\n"
                      "%2 = const \"e\" int32[1] values=[0]\n"
                      "%3 = const \"s\" int32[1] values=[-1]\n%4 = tensor "
                      "\"y\" float32[]\n"
                      "%4 = STRIDED_SLICE(%0, %1, %2, %3) {end_mask=1}\n",
                  4),
            S({4, 10, 3}));
}

TEST(ShapeInference, LstmFromWeights) {
  std::string text = "%0 = tensor \"x\" float32[2,28,28]\n";
  // 24 inputs: weights [n_cell=16, 28] and recurrent weights [16, n_output=8].
  for (int i = 1; i <= 4; ++i) {
    text += "%" + std::to_string(i) + " = const \"w" + std::to_string(i) + "\" float32[16,28]\n";
  }
  for (int i = 5; i <= 8; ++i) {
    text += "%" + std::to_string(i) + " = const \"r" + std::to_string(i) + "\" float32[16,8]\n";
  }
  text +=
      "%9 = tensor \"y\" float32[]\n"
      "%9 = UNIDIRECTIONAL_SEQUENCE_LSTM(%0, %1, %2, %3, %4, %5, %6, %7, %8) "
      "{time_major=false}\n";
  EXPECT_EQ(Infer(text, 9), S({2, 28, 8}));
}

TEST(ShapeInference, ErrorsNameNodeAndMismatch) {
  Status s = InferError(
      "%0 = tensor \"x\" float32[1,8,8,3]\n%1 = const \"w\" float32[4,3,3,2]\n"
      "%2 = tensor \"y\" float32[]\n"
      "%2 = CONV_2D(%0, %1, _) {padding=\"VALID\", stride_h=1, stride_w=1} "
      "name=\"conv1\"\n");
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.message().find("node 0 (CONV_2D \"conv1\"): input channels 3 are not a multiple"),
            std::string::npos)
      << s.message();
  s = InferError(
      "%0 = tensor \"x\" float32[4,3]\n%1 = tensor \"y\" float32[5,2]\n"
      "%2 = tensor \"z\" float32[]\n%2 = MUL(%0, %1)\n");
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.message().find("shapes [4,3] and [5,2] do not broadcast"), std::string::npos)
      << s.message();
  s = InferError(
      "%0 = tensor \"x\" float32[2,5]\n%1 = const \"s\" int32[2] values=[3,3]\n"
      "%2 = tensor \"y\" float32[]\n%2 = RESHAPE(%0, %1)\n");
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.message().find("cannot reshape [2,5] (10 elements) into 9 elements"),
            std::string::npos)
      << s.message();
  s = InferError(
      "%0 = tensor \"x\" float32[1,2,2,1]\n%1 = tensor \"y\" float32[]\n"
      "%1 = MAX_POOL_2D(%0) {filter_height=3, filter_width=3, "
      "padding=\"VALID\", "
      "stride_h=1, stride_w=1}\n");
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.message().find("does not fit input size 2"), std::string::npos) << s.message();
  // Unknown ops are left alone by InferShapes but reported by InferNodeShapes.
  StatusOr<Graph> g = ParseGraph(
      "graph inputs(%0) outputs(%1)\n%0 = tensor \"x\" float32[3]\n"
      "%1 = tensor \"y\" float32[7]\n%1 = CUSTOM(%0) custom_code=\"X\"\n");
  ASSERT_TRUE(g.ok());
  EXPECT_TRUE(InferShapes(&*g).ok());
  EXPECT_EQ(g->tensors[1].shape, S({7}));
  EXPECT_EQ(InferNodeShapes(&*g, 0).code(), StatusCode::kUnsupported);
}

}  // namespace
}  // namespace ir
}  // namespace edgeopt
