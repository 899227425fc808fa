// Test helpers shared by the recurrent kernels' tests: rebuild one operator of a corpus .tflite
// file as a single-op model, and run a model through several Invoke calls of one interpreter.
#ifndef EDGEOPT_SRC_RUNTIME_KERNELS_RECURRENT_TEST_UTIL_H_
#define EDGEOPT_SRC_RUNTIME_KERNELS_RECURRENT_TEST_UTIL_H_

#include <cmath>
#include <cstdint>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "src/runtime/interpreter.h"
#include "src/runtime/kernels/elem_test_util.h"
#include "tests/model_builder.h"

namespace edgeopt {
namespace testing {

namespace detail {

inline void QuantOf(const tflite::Tensor* t, std::vector<float>* scales, std::vector<int64_t>* zps,
                    int* axis) {
  scales->clear();
  zps->clear();
  *axis = 0;
  const tflite::QuantizationParameters* q = t->quantization();
  if (q == nullptr || q->scale() == nullptr) return;
  for (float s : *q->scale()) scales->push_back(s);
  if (q->zero_point() != nullptr) {
    for (int64_t z : *q->zero_point()) zps->push_back(z);
  }
  if (zps->size() < scales->size()) zps->resize(scales->size(), 0);
  *axis = q->quantized_dimension();
}

}  // namespace detail

// Rebuilds operator `op_index` of subgraph 0 as a single-op model: constants keep their data,
// variable tensors stay variables, other inputs become graph inputs and the outputs graph outputs.
// `input_shapes` / `output_shapes` (when non-empty) replace the graph inputs' and outputs' shapes
// in order, e.g. to lengthen a sequence. Test code: the file is trusted.
inline std::vector<uint8_t> ExtractOperator(
    const std::vector<uint8_t>& file, int op_index, OptionsFn options,
    const std::vector<std::vector<int32_t>>& input_shapes = {},
    const std::vector<std::vector<int32_t>>& output_shapes = {}) {
  const tflite::Model* model = tflite::GetModel(file.data());
  const tflite::SubGraph* sg = model->subgraphs()->Get(0);
  const tflite::Operator* op = sg->operators()->Get(op_index);
  const tflite::OperatorCode* code = model->operator_codes()->Get(op->opcode_index());
  const tflite::BuiltinOperator builtin = rt::BuiltinCodeOf(code);
  ModelBuilder b;
  auto shape_of = [](const tflite::Tensor* t) {
    std::vector<int32_t> shape;
    if (t->shape() != nullptr) {
      for (int32_t d : *t->shape()) shape.push_back(d);
    }
    return shape;
  };
  std::vector<float> scales;
  std::vector<int64_t> zps;
  int axis = 0;
  size_t next_input = 0, next_output = 0;
  std::vector<int> inputs, outputs, intermediates;
  for (int32_t index : *op->inputs()) {
    if (index < 0) {
      inputs.push_back(-1);
      continue;
    }
    const tflite::Tensor* t = sg->tensors()->Get(index);
    detail::QuantOf(t, &scales, &zps, &axis);
    const DType type = static_cast<DType>(t->type());
    const auto* data = model->buffers()->Get(t->buffer())->data();
    if (data != nullptr && data->size() > 0) {
      inputs.push_back(b.AddConstantBytes(
          type, shape_of(t), std::vector<uint8_t>(data->begin(), data->end()), scales, zps, axis));
    } else if (t->is_variable()) {
      inputs.push_back(b.AddVariable(type, shape_of(t), scales, zps));
    } else {
      std::vector<int32_t> shape = shape_of(t);
      if (next_input < input_shapes.size()) shape = input_shapes[next_input++];
      inputs.push_back(b.AddInput(type, shape, scales, zps));
    }
  }
  for (int32_t index : *op->outputs()) {
    const tflite::Tensor* t = sg->tensors()->Get(index);
    detail::QuantOf(t, &scales, &zps, &axis);
    std::vector<int32_t> shape = shape_of(t);
    if (next_output < output_shapes.size()) shape = output_shapes[next_output++];
    outputs.push_back(b.AddOutput(static_cast<DType>(t->type()), shape, scales, zps));
  }
  if (op->intermediates() != nullptr) {
    for (int32_t index : *op->intermediates()) {
      const tflite::Tensor* t = sg->tensors()->Get(index);
      detail::QuantOf(t, &scales, &zps, &axis);
      intermediates.push_back(
          b.AddTensor(static_cast<DType>(t->type()), shape_of(t), scales, zps, axis));
    }
  }
  b.AddOperator(builtin, inputs, outputs, std::move(options), code->version(), intermediates);
  return b.Build();
}

// Index of the first operator `op` in subgraph 0 at or after `start`, -1 if none.
inline int FindOperator(const std::vector<uint8_t>& file, tflite::BuiltinOperator op,
                        int start = 0) {
  const tflite::Model* model = tflite::GetModel(file.data());
  const tflite::SubGraph* sg = model->subgraphs()->Get(0);
  for (int i = start; i < static_cast<int>(sg->operators()->size()); ++i) {
    const tflite::OperatorCode* code =
        model->operator_codes()->Get(sg->operators()->Get(i)->opcode_index());
    if (rt::BuiltinCodeOf(code) == op) return i;
  }
  return -1;
}

// Runs a one-input, one-output model through several Invoke calls of the same interpreter (the
// variable tensors persist in between); `reset_before` lists the calls preceded by
// ResetVariables().
inline StatusOr<std::vector<NpyArray>> RunInvokes(const std::vector<uint8_t>& model,
                                                  const std::vector<NpyArray>& inputs,
                                                  const std::vector<int>& reset_before = {}) {
  EDGEOPT_ASSIGN_OR_RETURN(auto interp, rt::Interpreter::Create(model.data(), model.size(), {}));
  std::vector<NpyArray> outputs;
  for (size_t k = 0; k < inputs.size(); ++k) {
    for (int r : reset_before) {
      if (r == static_cast<int>(k)) interp->ResetVariables();
    }
    rt::Tensor* in = interp->input_tensor(0);
    EDGEOPT_ENSURE(in->bytes == inputs[k].data.size(), StatusCode::kInvalidArgument,
                   "input size mismatch");
    std::memcpy(in->data, inputs[k].data.data(), in->bytes);
    EDGEOPT_RETURN_IF_ERROR(interp->Invoke());
    const rt::Tensor* out = interp->output_tensor(0);
    NpyArray a;
    a.dtype = out->type;
    for (int d = 0; d < out->dims.size; ++d) a.shape.push_back(out->dims[d]);
    a.data.assign(out->data, out->data + out->bytes);
    outputs.push_back(std::move(a));
  }
  return outputs;
}

// Runs `model` with the reference kernels and with the optimized ones at every ISA level of
// OptimizedLevels (1 and 2 threads) and checks every output: identical bytes, except float
// outputs with exact_float off, which may differ by the vector sigmoid/tanh's few ULP
// (float_atol); with exact_float on they must be identical too.
inline void ExpectOptimizedMatchesReference(const std::vector<uint8_t>& model,
                                            const std::vector<NpyArray>& inputs,
                                            const std::string& what, double float_atol = 1e-5) {
  rt::InterpreterOptions ref_options;
  ref_options.use_optimized_kernels = false;
  auto ref = RunEdgeopt(model, inputs, ref_options);
  ASSERT_TRUE(ref.ok()) << what << ": " << ref.status().ToString();
  for (const rt::CpuInfo& cpu : OptimizedLevels()) {
    for (bool exact : {true, false}) {
      for (int threads : {1, 2}) {
        rt::InterpreterOptions options;
        options.cpu = &cpu;
        options.num_threads = threads;
        options.exact_float = exact;
        auto ours = RunEdgeopt(model, inputs, options);
        ASSERT_TRUE(ours.ok()) << what << ": " << ours.status().ToString();
        ASSERT_EQ(ours->size(), ref->size()) << what;
        const std::string where = what + (exact ? " (exact float, " : " (") +
                                  std::to_string(threads) + " threads, level " +
                                  (cpu.UseAvx512()    ? "avx512"
                                   : cpu.UseAvxVnni() ? "avxvnni"
                                   : cpu.UseAvx2()    ? "avx2"
                                   : cpu.UseNeon()    ? "neon"
                                                      : "scalar") +
                                  ")";
        for (size_t k = 0; k < ref->size(); ++k) {
          const std::vector<uint8_t>& a = (*ours)[k].data;
          const std::vector<uint8_t>& b = (*ref)[k].data;
          ASSERT_EQ(a.size(), b.size()) << where;
          if (exact || (*ref)[k].dtype != DType::kFloat32) {
            for (size_t i = 0; i < b.size(); ++i) {
              ASSERT_EQ(int{a[i]}, int{b[i]}) << where << ": output " << k << " byte " << i;
            }
            continue;
          }
          const float* fa = reinterpret_cast<const float*>(a.data());
          const float* fb = reinterpret_cast<const float*>(b.data());
          for (size_t i = 0; i < b.size() / 4; ++i) {
            ASSERT_LE(std::fabs(static_cast<double>(fa[i]) - fb[i]), float_atol)
                << where << ": output " << k << " element " << i;
          }
        }
      }
    }
  }
}

}  // namespace testing
}  // namespace edgeopt

#endif  // EDGEOPT_SRC_RUNTIME_KERNELS_RECURRENT_TEST_UTIL_H_
