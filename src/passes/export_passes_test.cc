// Export passes: IR text in, IR text out.
#include "src/passes/export_passes.h"

#include <gtest/gtest.h>

#include <functional>
#include <string>

#include "src/ir/text.h"
#include "src/passes/pipeline.h"

namespace edgeopt {
namespace passes {
namespace {

using Pass = std::function<Status(ir::Graph*)>;

// Parses `in`, runs `pass`, and returns the printed result (or the error).
std::string RunPass(const Pass& pass, const std::string& in) {
  StatusOr<ir::Graph> g = ir::ParseGraph(in);
  if (!g.ok()) return "parse error: " + g.status().ToString();
  Status s = pass(&*g);
  if (!s.ok()) return "error: " + s.ToString();
  return ir::PrintGraph(*g);
}

TEST(RemoveDropout, RewiresConsumers) {
  const char* in = R"IR(graph inputs(%0) outputs(%4)
%0 = tensor "x" float32[1,4]
%1 = tensor "drop" float32[1,4]
%2 = const "w" float32[2,4] values=[1,2,3,4,5,6,7,8]
%4 = tensor "fc" float32[1,2]
%1 = DROPOUT(%0) {noise_shape="", rate=0.5} name="drop"
%4 = FULLY_CONNECTED(%1, %2) {fused_activation_function="NONE"} name="fc"
)IR";
  EXPECT_EQ(RunPass(RemoveDropout, in), R"IR(graph inputs(%0) outputs(%2)
%0 = tensor "x" float32[1,4]
%1 = const "w" float32[2,4] values=[1,2,3,4,5,6,7,8]
%2 = tensor "fc" float32[1,2]
%2 = FULLY_CONNECTED(%0, %1) {fused_activation_function="NONE"} name="fc"
)IR");
}

TEST(RemoveDropout, LastOpKeepsTheOutputTensor) {
  // The producer writes the graph output directly; its name stays.
  const char* in = R"IR(graph inputs(%0) outputs(%3)
%0 = tensor "x" float32[1,4]
%1 = const "w" float32[2,4] values=[1,2,3,4,5,6,7,8]
%2 = tensor "fc" float32[1,2]
%3 = tensor "out" float32[1,2]
%2 = FULLY_CONNECTED(%0, %1) {fused_activation_function="NONE"} name="fc"
%3 = DROPOUT(%2) {noise_shape="", rate=0.5} name="drop"
)IR";
  EXPECT_EQ(RunPass(RemoveDropout, in), R"IR(graph inputs(%0) outputs(%2)
%0 = tensor "x" float32[1,4]
%1 = const "w" float32[2,4] values=[1,2,3,4,5,6,7,8]
%2 = tensor "out" float32[1,2]
%2 = FULLY_CONNECTED(%0, %1) {fused_activation_function="NONE"} name="fc"
)IR");
}

TEST(FoldBatchNorm, IntoConvWeightsAndBias) {
  // scale = gamma / sqrt(var + eps) = [2, 1]; shift = beta - mean * scale = [0, -1].
  const char* in = R"IR(graph inputs(%0) outputs(%8)
%0 = tensor "x" float32[1,4,4,2]
%1 = const "conv/kernel" float32[2,1,1,2] origin="conv/kernel" values=[1,2,3,4]
%2 = const "conv/bias" float32[2] values=[0.5,-1]
%3 = tensor "conv" float32[1,4,4,2]
%4 = const "bn/gamma" float32[2] values=[4,1]
%5 = const "bn/beta" float32[2] values=[1,0]
%6 = const "bn/mean" float32[2] values=[0.5,1]
%7 = const "bn/var" float32[2] values=[3.999,0.999]
%8 = tensor "bn" float32[1,4,4,2]
%3 = CONV_2D(%0, %1, %2) {fused_activation_function="NONE", padding="SAME", stride_h=1, stride_w=1} name="conv"
%8 = BATCH_NORM(%3, %4, %5, %6, %7) {axis=-1, epsilon=0.001, momentum=0.99} name="bn"
)IR";
  // Output channel 0 (the first two weights) doubles; bias = b * scale + shift.
  EXPECT_EQ(RunPass(FoldBatchNorm, in), R"IR(graph inputs(%0) outputs(%3)
%0 = tensor "x" float32[1,4,4,2]
%1 = const "conv/kernel" float32[2,1,1,2] origin="conv/kernel (bn folded)" values=[2,4,3,4]
%2 = const "conv/bias" float32[2] values=[1,-2]
%3 = tensor "bn" float32[1,4,4,2]
%3 = CONV_2D(%0, %1, %2) {fused_activation_function="NONE", padding="SAME", stride_h=1, stride_w=1} name="conv"
)IR");
}

TEST(FoldBatchNorm, IntoDepthwiseChannelIsLastAxis) {
  const char* in = R"IR(graph inputs(%0) outputs(%7)
%0 = tensor "x" float32[1,3,3,1]
%1 = const "dw" float32[1,1,2,2] values=[1,1,1,1]
%2 = tensor "conv" float32[1,3,2,2]
%3 = const "g" float32[2] values=[1,3]
%4 = const "b" float32[2] values=[0,0.5]
%5 = const "m" float32[2] values=[0,0]
%6 = const "v" float32[2] values=[1,1]
%7 = tensor "bn" float32[1,3,2,2]
%2 = DEPTHWISE_CONV_2D(%0, %1) {depth_multiplier=2, fused_activation_function="NONE", padding="VALID", stride_h=1, stride_w=1} name="dw"
%7 = BATCH_NORM(%2, %3, %4, %5, %6) {axis=-1, epsilon=0.0, momentum=0.99} name="bn"
)IR";
  // A bias is added (there was none).
  EXPECT_EQ(RunPass(FoldBatchNorm, in), R"IR(graph inputs(%0) outputs(%2)
%0 = tensor "x" float32[1,3,3,1]
%1 = const "dw" float32[1,1,2,2] values=[1,3,1,3]
%2 = tensor "bn" float32[1,3,2,2]
%3 = const "dw/bias" float32[2] values=[0,0.5]
%2 = DEPTHWISE_CONV_2D(%0, %1, %3) {depth_multiplier=2, fused_activation_function="NONE", padding="VALID", stride_h=1, stride_w=1} name="dw"
)IR");
}

TEST(FoldBatchNorm, LoneBatchNormBecomesMulAdd) {
  const char* in = R"IR(graph inputs(%0, %1) outputs(%7)
%0 = tensor "a" float32[1,2,2,2]
%1 = tensor "b" float32[1,2,2,2]
%2 = tensor "add" float32[1,2,2,2]
%3 = const "g" float32[2] values=[2,4]
%4 = const "beta" float32[2] values=[1,-1]
%5 = const "m" float32[2] values=[1,0]
%6 = const "v" float32[2] values=[1,4]
%7 = tensor "bn" float32[1,2,2,2]
%2 = ADD(%0, %1) {fused_activation_function="NONE"} name="add"
%7 = BATCH_NORM(%2, %3, %4, %5, %6) {axis=-1, epsilon=0.0, momentum=0.99} name="bn"
)IR";
  EXPECT_EQ(RunPass(FoldBatchNorm, in), R"IR(graph inputs(%0, %1) outputs(%3)
%0 = tensor "a" float32[1,2,2,2]
%1 = tensor "b" float32[1,2,2,2]
%2 = tensor "add" float32[1,2,2,2]
%3 = tensor "bn" float32[1,2,2,2]
%4 = const "bn/scale" float32[2] values=[2,2]
%5 = const "bn/offset" float32[2] values=[-1,-1]
%6 = tensor "bn/scaled" float32[1,2,2,2]
%2 = ADD(%0, %1) {fused_activation_function="NONE"} name="add"
%6 = MUL(%2, %4) {fused_activation_function="NONE"} name="bn"
%3 = ADD(%6, %5) {fused_activation_function="NONE"} name="bn"
)IR");
}

TEST(FoldBatchNorm, IntoEachGroupOfAConcatenation) {
  // A grouped convolution's two groups (one filter each, the second without bias) concatenated:
  // scale = [2, 1], shift = [0, -1] as above; each group takes its channel's.
  const char* in = R"IR(graph inputs(%0) outputs(%12)
%0 = tensor "x" float32[1,4,4,2]
%1 = const "g/kernel{0}" float32[1,1,1,1] origin="g/kernel{0}" values=[3]
%2 = const "g/bias{0}" float32[1] values=[0.5]
%3 = const "g/kernel{1}" float32[1,1,1,1] origin="g/kernel{1}" values=[5]
%4 = tensor "g/group0" float32[1,4,4,1]
%5 = tensor "g/group1" float32[1,4,4,1]
%6 = tensor "g" float32[1,4,4,2]
%7 = const "bn/gamma" float32[2] values=[4,1]
%8 = const "bn/beta" float32[2] values=[1,0]
%9 = const "bn/mean" float32[2] values=[0.5,1]
%10 = const "bn/var" float32[2] values=[3.999,0.999]
%11 = tensor "x1" float32[1,4,4,1]
%12 = tensor "bn" float32[1,4,4,2]
%11 = SLICE(%0) name="g"
%4 = CONV_2D(%11, %1, %2) {fused_activation_function="NONE", padding="SAME", stride_h=1, stride_w=1} name="g"
%5 = CONV_2D(%11, %3) {fused_activation_function="NONE", padding="SAME", stride_h=1, stride_w=1} name="g"
%6 = CONCATENATION(%4, %5) {axis=3, fused_activation_function="NONE"} name="g"
%12 = BATCH_NORM(%6, %7, %8, %9, %10) {axis=-1, epsilon=0.001, momentum=0.99} name="bn"
)IR";
  const std::string out = RunPass(FoldBatchNorm, in);
  EXPECT_EQ(out.find("BATCH_NORM"), std::string::npos) << out;
  EXPECT_EQ(out.find("MUL("), std::string::npos) << out;
  EXPECT_NE(out.find(R"X(origin="g/kernel{0} (bn folded)" values=[6])X"), std::string::npos) << out;
  EXPECT_NE(out.find(R"X(origin="g/kernel{1} (bn folded)" values=[5])X"), std::string::npos) << out;
  EXPECT_NE(out.find(R"("g/bias{0}" float32[1] values=[1])"), std::string::npos) << out;
  EXPECT_NE(out.find(R"(float32[1] values=[-1])"), std::string::npos) << out;  // the new bias
  EXPECT_NE(out.find(R"X(= CONCATENATION(%4, %5) {axis=3, fused_activation_function="NONE"})X"),
            std::string::npos)
      << out;
  EXPECT_NE(out.find("outputs(%"), std::string::npos);
  // A concatenation of something else stays a BATCH_NORM lowered to MUL + ADD.
  std::string other = in;
  const size_t line = other.find("%5 = CONV_2D(%11, %3)");
  other.replace(line, other.find('\n', line) - line, R"(%5 = RELU(%11) name="g")");
  const std::string out2 = RunPass(FoldBatchNorm, other);
  EXPECT_NE(out2.find("MUL("), std::string::npos) << out2;
  EXPECT_NE(out2.find("values=[3]"), std::string::npos) << out2;  // first group untouched
}

TEST(FoldBatchNorm, NotIntoConvWithFusedActivationOrSharedOutput) {
  // relu(conv) then BN cannot fold; neither can a conv whose output has another reader.
  const char* in = R"IR(graph inputs(%0) outputs(%7, %3)
%0 = tensor "x" float32[1,2]
%1 = const "w" float32[2,2] values=[1,0,0,1]
%2 = tensor "fc" float32[1,2]
%3 = tensor "fc2" float32[1,2]
%4 = const "g" float32[2] values=[2,2]
%5 = const "m" float32[2] values=[0,0]
%6 = const "v" float32[2] values=[1,1]
%7 = tensor "bn" float32[1,2]
%2 = FULLY_CONNECTED(%0, %1) {fused_activation_function="RELU"} name="fc"
%3 = FULLY_CONNECTED(%2, %1) {fused_activation_function="NONE"} name="fc2"
%7 = BATCH_NORM(%2, %4, _, %5, %6) {axis=-1, epsilon=0.0, momentum=0.99} name="bn"
)IR";
  const std::string out = RunPass(FoldBatchNorm, in);
  EXPECT_NE(out.find("MUL("), std::string::npos) << out;
  EXPECT_NE(out.find("values=[1,0,0,1]"), std::string::npos) << out;  // weights untouched
  EXPECT_EQ(out.find("BATCH_NORM"), std::string::npos) << out;
}

TEST(FuseActivations, ReluIntoProducer) {
  const char* in = R"IR(graph inputs(%0) outputs(%4)
%0 = tensor "x" float32[1,4,4,1]
%1 = const "k" float32[2,1,1,1] values=[0.5,-1]
%2 = tensor "conv" float32[1,4,4,2]
%4 = tensor "relu" float32[1,4,4,2]
%2 = CONV_2D(%0, %1) {fused_activation_function="NONE", padding="SAME", stride_h=1, stride_w=1} name="conv"
%4 = RELU6(%2) name="relu"
)IR";
  EXPECT_EQ(RunPass(FuseActivations, in), R"IR(graph inputs(%0) outputs(%2)
%0 = tensor "x" float32[1,4,4,1]
%1 = const "k" float32[2,1,1,1] values=[0.5,-1]
%2 = tensor "relu" float32[1,4,4,2]
%2 = CONV_2D(%0, %1) {fused_activation_function="RELU6", padding="SAME", stride_h=1, stride_w=1} name="conv"
)IR");
}

TEST(FuseActivations, KeepsSharedOutputsAndTanh) {
  const char* in = R"IR(graph inputs(%0, %1) outputs(%3, %4, %5)
%0 = tensor "a" float32[1,4]
%1 = tensor "b" float32[1,4]
%2 = tensor "add" float32[1,4]
%3 = tensor "relu" float32[1,4]
%4 = tensor "tanh" float32[1,4]
%5 = tensor "mul" float32[1,4]
%6 = tensor "mul0" float32[1,4]
%2 = ADD(%0, %1) {fused_activation_function="NONE"} name="add"
%3 = RELU(%2) name="relu"
%4 = TANH(%2) name="tanh"
%6 = MUL(%0, %1) {fused_activation_function="NONE"} name="mul"
%5 = TANH(%6) name="tanh2"
)IR";
  // ADD's output has two readers; TANH never fuses (the kernels would ignore it).
  const std::string out = RunPass(FuseActivations, in);
  EXPECT_EQ(out, RunPass([](ir::Graph*) { return Status::Ok(); }, in));
}

TEST(FoldConstants, EvaluatesReshapeTransposeAndArithmetic) {
  const char* in = R"IR(graph inputs(%0) outputs(%9)
%0 = tensor "x" float32[2,3]
%1 = const "c" float32[3,2] values=[1,2,3,4,5,6]
%2 = const "perm" int32[2] values=[1,0]
%3 = tensor "t" float32[2,3]
%4 = const "one" float32[] values=[1]
%5 = tensor "plus" float32[2,3]
%6 = const "shape" int32[2] values=[2,3]
%7 = tensor "r" float32[2,3]
%9 = tensor "y" float32[2,3]
%3 = TRANSPOSE(%1, %2) name="t"
%5 = ADD(%3, %4) {fused_activation_function="NONE"} name="plus"
%7 = RESHAPE(%5, %6) name="r"
%9 = MUL(%0, %7) {fused_activation_function="NONE"} name="y"
)IR";
  // transpose([[1,2],[3,4],[5,6]]) + 1 = [[2,4,6],[3,5,7]]
  EXPECT_EQ(RunPass(FoldConstants, in), R"IR(graph inputs(%0) outputs(%2)
%0 = tensor "x" float32[2,3]
%1 = const "r" float32[2,3] values=[2,4,6,3,5,7]
%2 = tensor "y" float32[2,3]
%2 = MUL(%0, %1) {fused_activation_function="NONE"} name="y"
)IR");
}

// SLICE of a constant (an unrolled GRU's recurrent bias at t = 0): folded, so int8 keeps no float
// island; size -1 runs to the end.
TEST(FoldConstants, EvaluatesSlice) {
  const char* in = R"IR(graph inputs(%0) outputs(%5)
%0 = tensor "x" float32[2,2]
%1 = const "b" float32[2,3] values=[1,2,3,4,5,6]
%2 = const "begin" int32[2] values=[0,1]
%3 = const "size" int32[2] values=[2,-1]
%4 = tensor "s" float32[2,2]
%5 = tensor "y" float32[2,2]
%4 = SLICE(%1, %2, %3) name="s"
%5 = MUL(%0, %4) {fused_activation_function="NONE"} name="y"
)IR";
  EXPECT_EQ(RunPass(FoldConstants, in), R"IR(graph inputs(%0) outputs(%2)
%0 = tensor "x" float32[2,2]
%1 = const "s" float32[2,2] values=[2,3,5,6]
%2 = tensor "y" float32[2,2]
%2 = MUL(%0, %1) {fused_activation_function="NONE"} name="y"
)IR");
}

TEST(FusePadIntoConv, SamePaddingOfAStridedConv) {
  // 4x4, kernel 3, stride 2: SAME pads (0, 1) on each axis, as ZeroPadding2D(((0,1),(0,1))).
  const char* in = R"IR(graph inputs(%0) outputs(%4)
%0 = tensor "x" float32[1,4,4,1]
%1 = const "pads" int32[4,2] values=[0,0,0,1,0,1,0,0]
%2 = tensor "padded" float32[1,5,5,1]
%3 = const "k" float32[2,3,3,1]
%4 = tensor "conv" float32[1,2,2,2]
%2 = PAD(%0, %1) name="pad"
%4 = CONV_2D(%2, %3) {fused_activation_function="NONE", padding="VALID", stride_h=2, stride_w=2} name="conv"
)IR";
  EXPECT_EQ(RunPass(FusePadIntoConv, in), R"IR(graph inputs(%0) outputs(%2)
%0 = tensor "x" float32[1,4,4,1]
%1 = const "k" float32[2,3,3,1]
%2 = tensor "conv" float32[1,2,2,2]
%2 = CONV_2D(%0, %1) {fused_activation_function="NONE", padding="SAME", stride_h=2, stride_w=2} name="conv"
)IR");
  // Symmetric (1, 1) padding is not what SAME adds here: unchanged.
  std::string other = in;
  const std::string pads = "values=[0,0,0,1,0,1,0,0]", padded = "float32[1,5,5,1]";
  other.replace(other.find(pads), pads.size(), "values=[0,0,1,1,1,1,0,0]");
  other.replace(other.find(padded), padded.size(), "float32[1,6,6,1]");
  EXPECT_EQ(RunPass(FusePadIntoConv, other),
            RunPass([](ir::Graph*) { return Status::Ok(); }, other));
}

TEST(FoldReshapes, FlattenBeforeFullyConnectedIsDropped) {
  const char* in = R"IR(graph inputs(%0) outputs(%4)
%0 = tensor "x" float32[1,2,2,2]
%1 = const "shape" int32[2] values=[1,8]
%2 = tensor "flat" float32[1,8]
%3 = const "w" float32[3,8]
%4 = tensor "fc" float32[1,3]
%2 = RESHAPE(%0, %1) name="flatten"
%4 = FULLY_CONNECTED(%2, %3) {fused_activation_function="NONE", keep_num_dims=false} name="fc"
)IR";
  EXPECT_EQ(RunPass(FoldReshapes, in), R"IR(graph inputs(%0) outputs(%2)
%0 = tensor "x" float32[1,2,2,2]
%1 = const "w" float32[3,8]
%2 = tensor "fc" float32[1,3]
%2 = FULLY_CONNECTED(%0, %1) {fused_activation_function="NONE", keep_num_dims=false} name="fc"
)IR");
}

TEST(FoldReshapes, ChainsCollapseAndShapesBecomeConstant) {
  const char* in = R"IR(graph inputs(%0, %5) outputs(%4)
%0 = tensor "x" float32[1,6]
%1 = const "s1" int32[3] values=[1,2,3]
%2 = tensor "r1" float32[1,2,3]
%4 = tensor "r2" float32[1,3,2]
%5 = tensor "dynamic_shape" int32[3]
%2 = RESHAPE(%0, %1) name="r1"
%4 = RESHAPE(%2, %5) name="r2"
)IR";
  EXPECT_EQ(RunPass(FoldReshapes, in), R"IR(graph inputs(%0, %2) outputs(%1)
%0 = tensor "x" float32[1,6]
%1 = tensor "r2" float32[1,3,2]
%2 = tensor "dynamic_shape" int32[3]
%3 = const "r2/shape" int32[3] values=[1,3,2]
%1 = RESHAPE(%0, %3) name="r2"
)IR");
}

TEST(RemoveIdentityOps, SameShapeReshapeAndMulByOne) {
  const char* in = R"IR(graph inputs(%0) outputs(%5)
%0 = tensor "x" float32[1,4]
%1 = const "s" int32[2] values=[1,4]
%2 = tensor "r" float32[1,4]
%3 = const "one" float32[4] values=[1,1,1,1]
%4 = tensor "m" float32[1,4]
%5 = tensor "y" float32[1,4]
%2 = RESHAPE(%0, %1) name="r"
%4 = MUL(%2, %3) {fused_activation_function="NONE"} name="m"
%5 = LOGISTIC(%4) name="y"
)IR";
  EXPECT_EQ(RunPass(RemoveIdentityOps, in), R"IR(graph inputs(%0) outputs(%1)
%0 = tensor "x" float32[1,4]
%1 = tensor "y" float32[1,4]
%1 = LOGISTIC(%0) name="y"
)IR");
}

TEST(EliminateDeadCode, RemovesUnreachableNodes) {
  const char* in = R"IR(graph inputs(%0) outputs(%1)
%0 = tensor "x" float32[1,4]
%1 = tensor "y" float32[1,4]
%2 = tensor "dead" float32[1,4]
%3 = tensor "dead2" float32[1,4]
%1 = RELU(%0) name="y"
%2 = TANH(%0) name="dead"
%3 = LOGISTIC(%2) name="dead2"
)IR";
  EXPECT_EQ(RunPass(EliminateDeadCode, in), R"IR(graph inputs(%0) outputs(%1)
%0 = tensor "x" float32[1,4]
%1 = tensor "y" float32[1,4]
%1 = RELU(%0) name="y"
)IR");
}

// Two SLICEs with the same bounds share one begin and one size tensor; different bounds and the
// float constants (equal zero biases stay apart: QAT trains them separately) are kept.
TEST(DeduplicateConstants, IntegerConstantsWithTheSameValuesBecomeOne) {
  const char* in = R"IR(graph inputs(%0) outputs(%5, %8, %11)
%0 = tensor "x" float32[2,6]
%1 = const "b1" int32[2] values=[0,2]
%2 = const "s1" int32[2] values=[2,2]
%3 = const "b2" int32[2] values=[0,2]
%4 = const "s2" int32[2] values=[2,2]
%5 = tensor "y1" float32[2,2]
%6 = const "b3" int32[2] values=[0,4]
%7 = tensor "y2" float32[2,2]
%8 = tensor "y3" float32[2,2]
%9 = const "z1" float32[2] values=[0,0]
%10 = const "z2" float32[2] values=[0,0]
%11 = tensor "y4" float32[2,2]
%5 = SLICE(%0, %1, %2) name="y1"
%7 = SLICE(%0, %3, %4) name="y2"
%8 = SLICE(%0, %6, %4) name="y3"
%11 = ADD(%7, %9) {fused_activation_function="NONE"} name="y4"
)IR";
  const std::string out = RunPass(DeduplicateConstants, in);
  EXPECT_NE(out.find("= SLICE(%0, %1, %2)"), std::string::npos) << out;
  EXPECT_EQ(out.find("\"b2\""), std::string::npos) << out;
  EXPECT_EQ(out.find("\"s2\""), std::string::npos) << out;
  EXPECT_NE(out.find("\"b3\""), std::string::npos) << out;
  EXPECT_NE(out.find("\"z1\""), std::string::npos) << out;
  size_t slices = 0;
  for (size_t at = out.find("SLICE(%0, %1, %2)"); at != std::string::npos;
       at = out.find("SLICE(%0, %1, %2)", at + 1)) {
    ++slices;
  }
  EXPECT_EQ(slices, 2u) << out;  // y1 and y2
}

TEST(AddMissingBiases, ConvolutionsGetAZeroBias) {
  const char* in = R"IR(graph inputs(%0) outputs(%3)
%0 = tensor "x" float32[1,3,3,1]
%1 = const "k" float32[2,1,1,1] values=[1,2]
%2 = const "w" float32[3,2] values=[1,2,3,4,5,6]
%3 = tensor "fc" float32[9,3]
%4 = tensor "conv" float32[1,3,3,2]
%4 = CONV_2D(%0, %1) {fused_activation_function="NONE", padding="SAME", stride_h=1, stride_w=1} name="conv"
%3 = FULLY_CONNECTED(%4, %2) {fused_activation_function="NONE"} name="fc"
)IR";
  // FULLY_CONNECTED takes a missing bias; CONV_2D gets zeros.
  EXPECT_EQ(RunPass(AddMissingBiases, in), R"IR(graph inputs(%0) outputs(%3)
%0 = tensor "x" float32[1,3,3,1]
%1 = const "k" float32[2,1,1,1] values=[1,2]
%2 = const "w" float32[3,2] values=[1,2,3,4,5,6]
%3 = tensor "fc" float32[9,3]
%4 = tensor "conv" float32[1,3,3,2]
%5 = const "conv/bias" float32[2] values=[0,0]
%4 = CONV_2D(%0, %1, %5) {fused_activation_function="NONE", padding="SAME", stride_h=1, stride_w=1} name="conv"
%3 = FULLY_CONNECTED(%4, %2) {fused_activation_function="NONE"} name="fc"
)IR");
}

TEST(PrepareForExport, DenseDropoutBatchNormRelu) {
  // Keras: Dense(3, no bias) -> Dropout -> BatchNormalization -> Activation("relu").
  const char* in = R"IR(graph inputs(%0) outputs(%6)
%0 = tensor "x" float32[1,4]
%1 = const "fc/kernel" float32[3,4] values=[1,1,1,1,1,1,1,1,1,1,1,1]
%2 = tensor "fc" float32[1,3]
%3 = tensor "drop" float32[1,3]
%4 = const "g" float32[3] values=[1,2,3]
%5 = const "b" float32[3] values=[0,0.5,1]
%6 = tensor "act" float32[1,3]
%7 = const "m" float32[3] values=[0,0,1]
%8 = const "v" float32[3] values=[1,1,1]
%9 = tensor "bn" float32[1,3]
%2 = FULLY_CONNECTED(%0, %1) {fused_activation_function="NONE", keep_num_dims=false} name="fc"
%3 = DROPOUT(%2) {noise_shape="", rate=0.5} name="drop"
%9 = BATCH_NORM(%3, %4, %5, %7, %8) {axis=-1, epsilon=0.0, momentum=0.99} name="bn"
%6 = RELU(%9) name="act"
)IR";
  EXPECT_EQ(RunPass(PrepareForExport, in), R"IR(graph inputs(%0) outputs(%2)
%0 = tensor "x" float32[1,4]
%1 = const "fc/kernel" float32[3,4] values=[1,1,1,1,2,2,2,2,3,3,3,3]
%2 = tensor "act" float32[1,3]
%3 = const "fc/bias" float32[3] values=[0,0.5,-2]
%2 = FULLY_CONNECTED(%0, %1, %3) {fused_activation_function="RELU", keep_num_dims=false} name="fc"
)IR");
}

TEST(PrepareForExport, RejectsBatchNormOverAnotherAxis) {
  const char* in = R"IR(graph inputs(%0) outputs(%5)
%0 = tensor "x" float32[1,2,3]
%1 = const "g" float32[2] values=[1,1]
%2 = const "b" float32[2] values=[0,0]
%3 = const "m" float32[2] values=[0,0]
%4 = const "v" float32[2] values=[1,1]
%5 = tensor "bn" float32[1,2,3]
%5 = BATCH_NORM(%0, %1, %2, %3, %4) {axis=1, epsilon=0.001, momentum=0.99} name="bn"
)IR";
  const std::string out = RunPass(PrepareForExport, in);
  EXPECT_NE(out.find("error: unsupported"), std::string::npos) << out;
  EXPECT_NE(out.find("'bn'"), std::string::npos) << out;
}

}  // namespace
}  // namespace passes
}  // namespace edgeopt
