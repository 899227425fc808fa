// Sparse weights (TFLite's sparsity encoding), densified at Prepare by the conv-family kernels.
// ModelBuilder has no sparsity, so these models are built with the flatbuffers API directly.
#include "src/runtime/kernels/conv_common.h"

#include <gtest/gtest.h>

#include <cstring>
#include <random>

#include "src/runtime/kernels/conv_test_util.h"

namespace edgeopt {
namespace testing {
namespace {

// One DimensionMetadata level: dense (size) or CSR (segments, indices; stored as uint8 or int32).
struct Level {
  bool dense = true;
  int dense_size = 0;
  std::vector<int32_t> segments, indices;
  bool uint8_indices = false;
};

struct SparseSpec {
  std::vector<int32_t> traversal_order;
  std::vector<int32_t> block_map;
  std::vector<Level> levels;
};

flatbuffers::Offset<void> IndexVector(flatbuffers::FlatBufferBuilder& fb,
                                      const std::vector<int32_t>& v, bool as_uint8,
                                      tflite::SparseIndexVector* type) {
  if (as_uint8) {
    std::vector<uint8_t> u(v.begin(), v.end());
    *type = tflite::SparseIndexVector::Uint8Vector;
    return tflite::CreateUint8Vector(fb, fb.CreateVector(u)).Union();
  }
  *type = tflite::SparseIndexVector::Int32Vector;
  return tflite::CreateInt32Vector(fb, fb.CreateVector(v)).Union();
}

// A FULLY_CONNECTED (weights [units, in]) or CONV_2D (1x1, weights [out_c, 1, 1, in]) model with
// sparse float weights `values` (the stored values only) and no bias.
std::vector<uint8_t> SparseWeightsModel(tflite::BuiltinOperator op, int units, int in,
                                        const std::vector<float>& values, const SparseSpec& spec) {
  flatbuffers::FlatBufferBuilder fb;
  const bool fc = op == tflite::BuiltinOperator::FULLY_CONNECTED;
  const std::vector<int32_t> in_shape =
      fc ? std::vector<int32_t>{1, in} : std::vector<int32_t>{1, 1, 1, in};
  const std::vector<int32_t> w_shape =
      fc ? std::vector<int32_t>{units, in} : std::vector<int32_t>{units, 1, 1, in};
  const std::vector<int32_t> out_shape =
      fc ? std::vector<int32_t>{1, units} : std::vector<int32_t>{1, 1, 1, units};
  std::vector<flatbuffers::Offset<tflite::DimensionMetadata>> levels;
  for (const Level& l : spec.levels) {
    if (l.dense) {
      levels.push_back(
          tflite::CreateDimensionMetadata(fb, tflite::DimensionType::DENSE, l.dense_size));
    } else {
      tflite::SparseIndexVector st, it;
      auto seg = IndexVector(fb, l.segments, l.uint8_indices, &st);
      auto ind = IndexVector(fb, l.indices, l.uint8_indices, &it);
      levels.push_back(tflite::CreateDimensionMetadata(fb, tflite::DimensionType::SPARSE_CSR, 0, st,
                                                       seg, it, ind));
    }
  }
  auto sparsity = tflite::CreateSparsityParameters(
      fb, fb.CreateVector(spec.traversal_order),
      spec.block_map.empty() ? 0 : fb.CreateVector(spec.block_map), fb.CreateVector(levels));
  std::vector<flatbuffers::Offset<tflite::Tensor>> tensors = {
      tflite::CreateTensor(fb, fb.CreateVector(in_shape), tflite::TensorType::FLOAT32, 0,
                           fb.CreateString("input")),
      tflite::CreateTensor(fb, fb.CreateVector(w_shape), tflite::TensorType::FLOAT32, 1,
                           fb.CreateString("weights"), 0, false, sparsity),
      tflite::CreateTensor(fb, fb.CreateVector(out_shape), tflite::TensorType::FLOAT32, 0,
                           fb.CreateString("output"))};
  std::vector<int32_t> op_inputs = {0, 1};
  if (fc) op_inputs.push_back(-1);
  flatbuffers::Offset<void> options;
  tflite::BuiltinOptions options_type;
  if (fc) {
    options_type = tflite::BuiltinOptions::FullyConnectedOptions;
    options = tflite::CreateFullyConnectedOptions(fb).Union();
  } else {
    options_type = tflite::BuiltinOptions::Conv2DOptions;
    options = tflite::CreateConv2DOptions(fb, tflite::Padding::VALID, 1, 1).Union();
  }
  auto node =
      tflite::CreateOperator(fb, 0, fb.CreateVector(op_inputs),
                             fb.CreateVector(std::vector<int32_t>{2}), options_type, options);
  auto subgraph = tflite::CreateSubGraph(
      fb, fb.CreateVector(tensors), fb.CreateVector(std::vector<int32_t>{0}),
      fb.CreateVector(std::vector<int32_t>{2}), fb.CreateVector(std::vector<decltype(node)>{node}));
  std::vector<uint8_t> bytes(values.size() * sizeof(float));
  std::memcpy(bytes.data(), values.data(), bytes.size());
  fb.ForceVectorAlignment(bytes.size(), 1, 16);
  auto data = fb.CreateVector(bytes);
  std::vector<flatbuffers::Offset<tflite::Buffer>> buffers = {tflite::CreateBuffer(fb),
                                                              tflite::CreateBuffer(fb, data)};
  const int8_t deprecated = static_cast<int8_t>(op);
  auto code = tflite::CreateOperatorCode(fb, deprecated, 0, fc ? 1 : 1, op);
  auto model = tflite::CreateModel(fb, 3, fb.CreateVector(std::vector<decltype(code)>{code}),
                                   fb.CreateVector(std::vector<decltype(subgraph)>{subgraph}),
                                   fb.CreateString("sparse"), fb.CreateVector(buffers));
  tflite::FinishModelBuffer(fb, model);
  return std::vector<uint8_t>(fb.GetBufferPointer(), fb.GetBufferPointer() + fb.GetSize());
}

// The 4x8 matrix of the tests, as 1x4 blocks (TFLite's FC block format):
//   row 0: [1 2 3 4 | 0 0 0 0], row 1: [0 0 0 0 | 5 6 7 8], row 2: zeros,
//   row 3: [9 10 11 12 | 13 14 15 16].
SparseSpec Block1x4Spec() {
  SparseSpec s;
  s.traversal_order = {0, 1, 2};
  s.block_map = {1};
  Level rows;
  rows.dense_size = 4;
  Level blocks;
  blocks.dense = false;
  blocks.segments = {0, 1, 2, 2, 4};
  blocks.indices = {0, 1, 0, 1};
  Level block;
  block.dense_size = 4;
  s.levels = {rows, blocks, block};
  return s;
}

std::vector<float> Iota(int n) {
  std::vector<float> v(n);
  for (int i = 0; i < n; ++i) v[i] = static_cast<float>(i + 1);
  return v;
}

TEST(SparseWeights, FullyConnectedBlock1x4Golden) {
  const auto model =
      SparseWeightsModel(tflite::BuiltinOperator::FULLY_CONNECTED, 4, 8, Iota(16), Block1x4Spec());
  const NpyArray x = MakeArray<float>(DType::kFloat32, {1, 8}, {1, 1, 1, 1, 2, 2, 2, 2});
  // Row sums with x: 1+2+3+4 = 10; 2*(5+6+7+8) = 52; 0; 42 + 2*58 = 158.
  const auto out = conv::RunOne<float>(model, x);
  EXPECT_EQ(out, (std::vector<float>{10, 52, 0, 158}));
  if (TfliteRefAvailable()) {  // TFLite 2.9 runs 1x4-block sparse float
                               // FULLY_CONNECTED too
    auto ours = RunEdgeopt(model, {x});
    auto ref = RunTfliteRef(model, {x});
    ASSERT_TRUE(ours.ok() && ref.ok()) << ref.status().ToString();
    ExpectAllClose(*ours, *ref, conv::FloatTolerance());
  }
}

TEST(SparseWeights, Conv2DCsrWithoutBlocksGolden) {
  // Plain CSR over [out_c=3][in=4] (the 1x1 filter's middle dimensions are dense size 1): row 0:
  // w[0][1] = 1, w[0][3] = 2; row 1 empty; row 2: w[2][0] = 3. uint8 index vectors.
  SparseSpec s;
  s.traversal_order = {0, 1, 2, 3};
  Level rows, h, w, cols;
  rows.dense_size = 3;
  h.dense_size = 1;
  w.dense_size = 1;
  cols.dense = false;
  cols.uint8_indices = true;
  cols.segments = {0, 2, 2, 3};
  cols.indices = {1, 3, 0};
  s.levels = {rows, h, w, cols};
  const auto model = SparseWeightsModel(tflite::BuiltinOperator::CONV_2D, 3, 4, {1, 2, 3}, s);
  const auto out = conv::RunOne<float>(
      model, MakeArray<float>(DType::kFloat32, {1, 1, 1, 4}, {1, 10, 100, 1000}));
  EXPECT_EQ(out, (std::vector<float>{2010, 0, 3}));
}

TEST(SparseWeights, MalformedEncodingsAreRefused) {
  {  // an index past the dimension
    SparseSpec s = Block1x4Spec();
    s.levels[1].indices = {0, 2, 0, 1};
    conv::ExpectPrepareError(
        SparseWeightsModel(tflite::BuiltinOperator::FULLY_CONNECTED, 4, 8, Iota(16), s),
        StatusCode::kInvalidModel, "sparse index 2 is outside dimension 1 of size 2");
  }
  {  // segments pointing past the indices
    SparseSpec s = Block1x4Spec();
    s.levels[1].segments = {0, 1, 2, 2, 9};
    conv::ExpectPrepareError(
        SparseWeightsModel(tflite::BuiltinOperator::FULLY_CONNECTED, 4, 8, Iota(16), s),
        StatusCode::kInvalidModel, "outside its 4 indices");
  }
  {  // too few segments
    SparseSpec s = Block1x4Spec();
    s.levels[1].segments = {0, 1};
    conv::ExpectPrepareError(
        SparseWeightsModel(tflite::BuiltinOperator::FULLY_CONNECTED, 4, 8, Iota(16), s),
        StatusCode::kInvalidModel, "has 2 segments");
  }
  {  // fewer stored values than the metadata addresses
    conv::ExpectPrepareError(SparseWeightsModel(tflite::BuiltinOperator::FULLY_CONNECTED, 4, 8,
                                                Iota(12), Block1x4Spec()),
                             StatusCode::kInvalidModel, "more values than the 12 stored");
  }
  {  // a block size that does not divide the dimension
    SparseSpec s = Block1x4Spec();
    s.levels[2].dense_size = 3;
    conv::ExpectPrepareError(
        SparseWeightsModel(tflite::BuiltinOperator::FULLY_CONNECTED, 4, 8, Iota(16), s),
        StatusCode::kInvalidModel, "not a multiple of its sparse block size 3");
  }
  {  // traversal order that is not a permutation
    SparseSpec s = Block1x4Spec();
    s.traversal_order = {0, 0, 2};
    conv::ExpectPrepareError(
        SparseWeightsModel(tflite::BuiltinOperator::FULLY_CONNECTED, 4, 8, Iota(16), s),
        StatusCode::kInvalidModel, "not a valid permutation");
  }
}

// True when the model verifies, no tensor has more than 2^20 elements and no 4-value constant holds
// a value above 4096 (a corrupted shape can ask for gigabytes; the interpreter accepts up to 2^36
// bytes, too much for a unit test).
bool SmallEnough(const std::vector<uint8_t>& model) {
  if (!rt::VerifyModelBuffer(model.data(), model.size()).ok()) return true;  // refused anyway
  const tflite::Model* m = tflite::GetModel(model.data());
  if (m->subgraphs() == nullptr) return true;
  for (const tflite::SubGraph* sg : *m->subgraphs()) {
    if (sg == nullptr || sg->tensors() == nullptr) continue;
    for (const tflite::Tensor* t : *sg->tensors()) {
      if (t == nullptr || t->shape() == nullptr) continue;
      int64_t n = 1;
      for (int32_t d : *t->shape()) {
        if (d < 0) break;
        n *= d;
        if (n > (int64_t{1} << 20)) return false;
      }
    }
  }
  // Small int32 constants may be shapes (TRANSPOSE_CONV's output_shape).
  if (m->buffers() != nullptr) {
    for (const tflite::Buffer* b : *m->buffers()) {
      if (b == nullptr || b->data() == nullptr || b->data()->size() != 16) continue;
      for (int i = 0; i < 4; ++i) {
        int32_t v;
        std::memcpy(&v, b->data()->data() + 4 * i, 4);
        if (v > 4096) return false;
      }
    }
  }
  return true;
}

// Corrupted model files (untrusted input): flipping random bytes of valid conv-family models must
// give a Status or a result, never a crash (run under ASan/UBSan to catch UB too).
TEST(CorruptedModels, NeverCrash) {
  using Op = tflite::BuiltinOperator;
  std::vector<conv::OpConfig> configs;
  auto add = [&](Op op, conv::Variant v) {
    conv::OpConfig c;
    c.op = op;
    c.variant = v;
    c.fc_input = {2, 6};
    c.fc_in = 6;
    c.in_h = c.in_w = 4;
    c.out_h = c.out_w = 8;
    c.stride_h = c.stride_w = op == Op::TRANSPOSE_CONV ? 2 : 1;
    configs.push_back(c);
  };
  add(Op::CONV_2D, conv::Variant::kInt8PerChannel);
  add(Op::CONV_2D, conv::Variant::kHybridPerChannel);
  add(Op::DEPTHWISE_CONV_2D, conv::Variant::kUInt8);
  add(Op::DEPTHWISE_CONV_2D, conv::Variant::kInt16x8);
  add(Op::FULLY_CONNECTED, conv::Variant::kHybridPerTensor);
  add(Op::FULLY_CONNECTED, conv::Variant::kInt8PerTensor);
  add(Op::TRANSPOSE_CONV, conv::Variant::kInt8PerChannel);
  add(Op::TRANSPOSE_CONV, conv::Variant::kFloat);
  std::mt19937 rng(7);
  int ran = 0, refused = 0;
  for (const conv::OpConfig& c : configs) {
    const conv::BuiltOp built = conv::BuildOp(c);
    for (int trial = 0; trial < 150; ++trial) {
      std::vector<uint8_t> model = built.model;
      const int flips = 1 + static_cast<int>(rng() % 4);
      for (int f = 0; f < flips; ++f) {
        model[rng() % model.size()] = static_cast<uint8_t>(rng());
      }
      if (!SmallEnough(model)) continue;  // keep the test's memory bounded
      auto interp = rt::Interpreter::Create(model.data(), model.size(), rt::InterpreterOptions());
      if (!interp.ok()) {
        ++refused;
        continue;
      }
      // Inputs as the (possibly corrupted) model declares them: zeros of the right size.
      for (int i = 0; i < (*interp)->num_inputs(); ++i) {
        rt::Tensor* t = (*interp)->input_tensor(i);
        if (t->data != nullptr) std::memset(t->data, 0, t->bytes);
      }
      (void)(*interp)->Invoke();
      ++ran;
    }
  }
  // Both outcomes occur: corruption is caught, and harmless corruption still runs.
  EXPECT_GT(refused, 0);
  EXPECT_GT(ran, 0);
}

// The window options every convolution checks, with a message that says what is wrong.
TEST(CheckWindowOptions, RefusesEachBadOptionByName) {
  const int same = static_cast<int>(tflite::Padding::SAME);
  const int valid = static_cast<int>(tflite::Padding::VALID);
  EXPECT_TRUE(rt::CheckWindowOptions(same, 1, 1).ok());
  EXPECT_TRUE(rt::CheckWindowOptions(valid, 2, 1 << 24, 3, 1).ok());
  struct Case {
    int padding, sh, sw, dh, dw;
    const char* message;
  };
  for (const Case& c : {Case{7, 1, 1, 1, 1, "unknown padding 7"},
                        Case{same, 0, 1, 1, 1, "strides are 0x1; expected >= 1"},
                        Case{same, 1, -2, 1, 1, "strides are 1x-2; expected >= 1"},
                        Case{valid, (1 << 24) + 1, 1, 1, 1, "too large"},
                        Case{valid, 1, 1, 0, 1, "dilation factors are 0x1; expected >= 1"},
                        Case{valid, 1, 1, 2, -1, "dilation factors are 2x-1"}}) {
    const Status s = rt::CheckWindowOptions(c.padding, c.sh, c.sw, c.dh, c.dw);
    EXPECT_EQ(s.code(), StatusCode::kInvalidModel) << c.message;
    EXPECT_NE(s.message().find(c.message), std::string::npos) << s.message();
  }
}

// Output sizes and padding of SAME and VALID windows, and the two refusals.
TEST(PlaceWindows, SizesPaddingAndRefusals) {
  const int same = static_cast<int>(tflite::Padding::SAME);
  const int valid = static_cast<int>(tflite::Padding::VALID);
  rt::WindowPlacement w;
  // 28x28, 3x3, stride 1, VALID: 26x26, no padding.
  ASSERT_TRUE(rt::PlaceWindows(valid, 28, 28, 3, 3, 1, 1, 1, 1, &w).ok());
  EXPECT_EQ(w.out_h, 26);
  EXPECT_EQ(w.out_w, 26);
  EXPECT_EQ(w.pad_top, 0);
  EXPECT_EQ(w.pad_left, 0);
  // 224x224, 3x3, stride 2, SAME: 112x112, TFLite pads 0 before (1 after).
  ASSERT_TRUE(rt::PlaceWindows(same, 224, 224, 3, 3, 2, 2, 1, 1, &w).ok());
  EXPECT_EQ(w.out_h, 112);
  EXPECT_EQ(w.pad_top, 0);
  // 10x9, 5x3 dilated 2x3 (effective 9x7), stride 1, SAME: 10x9 with 4 rows and 3 columns
  // before.
  ASSERT_TRUE(rt::PlaceWindows(same, 10, 9, 5, 3, 1, 1, 2, 3, &w).ok());
  EXPECT_EQ(w.out_h, 10);
  EXPECT_EQ(w.out_w, 9);
  EXPECT_EQ(w.pad_top, 4);
  EXPECT_EQ(w.pad_left, 3);
  Status s = rt::PlaceWindows(valid, 4, 4, 3, 3, 1, 1, 2, 1, &w);  // effective 5x3 over 4x4
  EXPECT_EQ(s.code(), StatusCode::kInvalidModel);
  EXPECT_NE(s.message().find("input 4x4 is smaller than the dilated filter 5x3"), std::string::npos)
      << s.message();
  s = rt::PlaceWindows(same, 8, 8, 3, 3, 1, 1, 1 << 24, 1, &w);
  EXPECT_NE(s.message().find("dilated filter 33554433x3 is too large"), std::string::npos)
      << s.message();
}

}  // namespace
}  // namespace testing
}  // namespace edgeopt
