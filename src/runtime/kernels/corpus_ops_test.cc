// Real-world parameters: every node of the shared corpus models whose op belongs to this kernel
// family is rebuilt as a standalone node (same tensor types, shapes, quantization, constant data
// and options) and run in edgeopt and in tflite-ref on random inputs. This covers the exact scales,
// zero points and shapes the TFLite converter produces (int16 SOFTMAX of keyword spotting, the int8
// MEAN/PAD/TRANSPOSE of MobileNet, fp16 DEQUANTIZE, ...), independently of the conv/FC/LSTM kernels
// that the whole models also need.
#include <gtest/gtest.h>

#include <set>

#include "src/runtime/kernels/elem_test_util.h"
#include "src/util/file_util.h"
#include "tests/test_util.h"

namespace edgeopt {
namespace testing {
namespace {

using Op = tflite::BuiltinOperator;
namespace fb = flatbuffers;

// Ops of other kernel families.
bool OtherFamily(Op op) {
  switch (op) {
    case Op::CONV_2D:
    case Op::DEPTHWISE_CONV_2D:
    case Op::FULLY_CONNECTED:
    case Op::TRANSPOSE_CONV:
    case Op::BATCH_MATMUL:
    case Op::UNIDIRECTIONAL_SEQUENCE_LSTM:
    case Op::SVDF:
    case Op::CUSTOM:
      return true;
    default:
      return false;
  }
}

// Ops whose inputs are all data (others take shapes/axes as constant inputs 1..n).
bool AllInputsAreData(Op op) {
  switch (op) {
    case Op::ADD:
    case Op::SUB:
    case Op::MUL:
    case Op::DIV:
    case Op::MAXIMUM:
    case Op::MINIMUM:
    case Op::SQUARED_DIFFERENCE:
    case Op::CONCATENATION:
    case Op::PACK:
    case Op::PRELU:
      return true;
    default:
      return false;
  }
}

// Rebuilds the options of `op` (the kinds the corpus uses; others are left empty and skipped).
bool CopyOptions(const tflite::Operator* op, OptionsFn* out) {
  using BO = tflite::BuiltinOptions;
  switch (op->builtin_options_type()) {
    case BO::NONE:
      *out = nullptr;
      return true;
    case BO::AddOptions: {
      const auto* o = op->builtin_options_as_AddOptions();
      const auto act = o->fused_activation_function();
      const bool pot = o->pot_scale_int16();
      *out = [act, pot](fb::FlatBufferBuilder& b) {
        return MakeOptions(BO::AddOptions, tflite::CreateAddOptions(b, act, pot));
      };
      return true;
    }
    case BO::SubOptions: {
      const auto* o = op->builtin_options_as_SubOptions();
      const auto act = o->fused_activation_function();
      const bool pot = o->pot_scale_int16();
      *out = [act, pot](fb::FlatBufferBuilder& b) {
        return MakeOptions(BO::SubOptions, tflite::CreateSubOptions(b, act, pot));
      };
      return true;
    }
    case BO::MulOptions: {
      const auto act = op->builtin_options_as_MulOptions()->fused_activation_function();
      *out = [act](fb::FlatBufferBuilder& b) {
        return MakeOptions(BO::MulOptions, tflite::CreateMulOptions(b, act));
      };
      return true;
    }
    case BO::Pool2DOptions: {
      const auto* o = op->builtin_options_as_Pool2DOptions();
      const auto padding = o->padding();
      const int sw = o->stride_w(), sh = o->stride_h(), fw = o->filter_width(),
                fh = o->filter_height();
      const auto act = o->fused_activation_function();
      *out = [=](fb::FlatBufferBuilder& b) {
        return MakeOptions(BO::Pool2DOptions,
                           tflite::CreatePool2DOptions(b, padding, sw, sh, fw, fh, act));
      };
      return true;
    }
    case BO::ReshapeOptions: {
      const auto* o = op->builtin_options_as_ReshapeOptions();
      std::vector<int32_t> shape;
      if (o->new_shape() != nullptr) shape.assign(o->new_shape()->begin(), o->new_shape()->end());
      *out = [shape](fb::FlatBufferBuilder& b) {
        return MakeOptions(BO::ReshapeOptions,
                           tflite::CreateReshapeOptions(b, b.CreateVector(shape)));
      };
      return true;
    }
    case BO::SoftmaxOptions: {
      const float beta = op->builtin_options_as_SoftmaxOptions()->beta();
      *out = [beta](fb::FlatBufferBuilder& b) {
        return MakeOptions(BO::SoftmaxOptions, tflite::CreateSoftmaxOptions(b, beta));
      };
      return true;
    }
    case BO::ReducerOptions: {
      const bool keep = op->builtin_options_as_ReducerOptions()->keep_dims();
      *out = [keep](fb::FlatBufferBuilder& b) {
        return MakeOptions(BO::ReducerOptions, tflite::CreateReducerOptions(b, keep));
      };
      return true;
    }
    case BO::ConcatenationOptions: {
      const auto* o = op->builtin_options_as_ConcatenationOptions();
      const int axis = o->axis();
      const auto act = o->fused_activation_function();
      *out = [axis, act](fb::FlatBufferBuilder& b) {
        return MakeOptions(BO::ConcatenationOptions,
                           tflite::CreateConcatenationOptions(b, axis, act));
      };
      return true;
    }
    case BO::SplitOptions: {
      const int n = op->builtin_options_as_SplitOptions()->num_splits();
      *out = [n](fb::FlatBufferBuilder& b) {
        return MakeOptions(BO::SplitOptions, tflite::CreateSplitOptions(b, n));
      };
      return true;
    }
    case BO::PadOptions:
    case BO::TransposeOptions:
    case BO::DequantizeOptions:
    case BO::QuantizeOptions:
      *out = nullptr;
      return true;
    default:
      return false;
  }
}

struct Extracted {
  std::vector<uint8_t> model;
  std::vector<NpyArray> inputs;
  std::set<std::string> ops;
  int nodes = 0;
};

// Adds a copy of tensor `t` of `model` to `m` (constant if it has data; graph input otherwise).
int CopyTensor(const tflite::Model* model, const tflite::Tensor* t, bool as_output, ModelBuilder* m,
               std::vector<NpyArray>* inputs, uint32_t* seed) {
  const DType type = static_cast<DType>(t->type());
  std::vector<int32_t> shape;
  if (t->shape() != nullptr) shape.assign(t->shape()->begin(), t->shape()->end());
  std::vector<float> scales;
  std::vector<int64_t> zps;
  int qdim = 0;
  if (const auto* q = t->quantization(); q != nullptr && q->scale() != nullptr) {
    scales.assign(q->scale()->begin(), q->scale()->end());
    if (q->zero_point() != nullptr) zps.assign(q->zero_point()->begin(), q->zero_point()->end());
    qdim = q->quantized_dimension();
  }
  if (as_output) return m->AddOutput(type, shape, scales, zps);
  const auto* buffer = model->buffers()->Get(t->buffer());
  if (buffer != nullptr && buffer->data() != nullptr && buffer->data()->size() > 0) {
    std::vector<uint8_t> bytes(buffer->data()->begin(), buffer->data()->end());
    return m->AddConstantBytes(type, shape, bytes, scales, zps, qdim);
  }
  const int id = m->AddInput(type, shape, scales, zps);
  inputs->push_back(RandomFor(TSpec{type, shape}, (*seed)++));
  return id;
}

Extracted ExtractFamilyNodes(const std::vector<uint8_t>& bytes) {
  Extracted e;
  const tflite::Model* model = tflite::GetModel(bytes.data());
  const auto* sg = model->subgraphs()->Get(0);
  ModelBuilder m;
  uint32_t seed = 1;
  std::set<std::string> seen;  // identical nodes (same op and tensor specs) are tested once
  for (const tflite::Operator* op : *sg->operators()) {
    const auto* code = model->operator_codes()->Get(op->opcode_index());
    const Op kind = rt::BuiltinCodeOf(code);
    if (OtherFamily(kind)) continue;
    OptionsFn options;
    if (!CopyOptions(op, &options)) continue;
    bool usable = true;
    std::string key = tflite::EnumNameBuiltinOperator(kind);
    for (size_t k = 0; k < op->inputs()->size(); ++k) {
      const int ti = op->inputs()->Get(k);
      if (ti < 0) continue;
      const auto* t = sg->tensors()->Get(ti);
      const auto* buffer = model->buffers()->Get(t->buffer());
      const bool constant =
          buffer != nullptr && buffer->data() != nullptr && buffer->data()->size() > 0;
      if (k > 0 && !constant && !AllInputsAreData(kind)) usable = false;
      key += "|" + std::to_string(static_cast<int>(t->type()));
      if (t->shape() != nullptr) {
        for (int32_t d : *t->shape()) key += "," + std::to_string(d);
      }
      if (t->quantization() != nullptr && t->quantization()->scale() != nullptr &&
          t->quantization()->scale()->size() > 0) {
        key += "@" + std::to_string(t->quantization()->scale()->Get(0));
      }
      if (constant) key += "#" + std::to_string(ti);
    }
    for (int32_t to : *op->outputs()) {
      const auto* t = sg->tensors()->Get(to);
      if (t->quantization() != nullptr && t->quantization()->scale() != nullptr &&
          t->quantization()->scale()->size() > 0) {
        key += "->" + std::to_string(t->quantization()->scale()->Get(0));
      }
    }
    if (!usable || !seen.insert(key).second) continue;
    std::vector<int> ins, outs;
    for (int32_t ti : *op->inputs()) {
      ins.push_back(
          ti < 0 ? -1 : CopyTensor(model, sg->tensors()->Get(ti), false, &m, &e.inputs, &seed));
    }
    for (int32_t to : *op->outputs()) {
      outs.push_back(CopyTensor(model, sg->tensors()->Get(to), true, &m, &e.inputs, &seed));
    }
    m.AddOperator(kind, ins, outs, options, code->version());
    e.ops.insert(tflite::EnumNameBuiltinOperator(kind));
    ++e.nodes;
  }
  if (e.nodes > 0) e.model = m.Build();
  return e;
}

TEST(CorpusOps, FamilyNodesAgreeWithTflite) {
  if (!TfliteRefAvailable()) GTEST_SKIP() << "tflite-ref unavailable";
  const char* models[] = {
      "zoo/simple_add_model.tflite",
      "coral-test_data/split_concat.tflite",
      "coral-test_data/mobilenet_v1_0.25_128_quant.tflite",
      "coral-test_data/keras_lstm_mnist_ptq.tflite",
      "ai-edge-quantizer/conv_fc_mnist.tflite",
      "ai-edge-quantizer/mnist_quantized.tflite",
      "keras-mnist-to-tpu/mnist.tflite",
      "mlcommons-tiny/kws_ref_model.tflite",
      "mlcommons-tiny/pretrainedResnet.tflite",
      "mlcommons-tiny/pretrainedResnet_quant.tflite",
      "siliconlabs-mltk/audio_example1.tflite",
      "siliconlabs-mltk/autoencoder_example.tflite",
      "siliconlabs-mltk/image_example1.tflite",
      "tensor-edge-converter/model_fp16.tflite",
      "tensor-edge-converter/model_full_integer.tflite",
      "tensor-edge-converter/model_integer.tflite",
      "tflite-micro/micro_speech_quantized.tflite",
      "tflite-micro/trained_lstm_int8.tflite",
      "zoo/dtln_noise_suppression.tflite",
      "zoo/keyword_scrambled.tflite",
      "zoo/mobilenet_v2_035_96_embedder_with_metadata.tflite",
      "zoo/mobilenet_v2_1.0_224_quant.tflite",
      "zoo/mobilenet_v2_quantized_1x3x224x224.tflite",
      "zoo/tf2_mobilenet_v2_1.0_224_ptq.tflite",
      "zoo/planestrike_tf.tflite",
  };
  int total_nodes = 0;
  for (const char* rel : models) {
    const std::string path = CorpusPath(rel);
    if (!FileExists(path)) continue;
    auto bytes = ReadFileBytes(path);
    ASSERT_TRUE(bytes.ok()) << bytes.status().message();
    ASSERT_TRUE(rt::VerifyModelBuffer(bytes->data(), bytes->size()).ok()) << rel;
    Extracted e = ExtractFamilyNodes(*bytes);
    if (e.nodes == 0) continue;
    std::string ops;
    for (const std::string& op : e.ops) ops += " " + op;
    total_nodes += e.nodes;
    ExpectAgreesWithRef(e.model, e.inputs, Tolerance{1e-5, 1e-5, 0},
                        std::string(rel) + " (" + std::to_string(e.nodes) + " nodes:" + ops + ")");
  }
  EXPECT_GT(total_nodes, 20);
}

}  // namespace
}  // namespace testing
}  // namespace edgeopt
