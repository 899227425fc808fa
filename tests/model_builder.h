// Test helpers for kernels: build small .tflite models in memory (one or a few ops), run them in
// edgeopt's interpreter and in the official TFLite runtime (../shared/tools/tflite-ref), and
// compare the outputs.
//
//   ModelBuilder b;
//   int x = b.AddInput(DType::kInt8, {1, 8, 8, 3}, {0.05f}, {-3});
//   int w = b.AddConstant(DType::kInt8, {4, 3, 3, 3}, weights, {0.01f, 0.02f, 0.01f, 0.03f}, {0, 0,
//   0, 0}, 0); int y = b.AddOutput(DType::kInt8, {1, 6, 6, 4}, {0.1f}, {2});
//   b.AddOperator(tflite::BuiltinOperator::CONV_2D, {x, w, bias}, {y},
//                 [](flatbuffers::FlatBufferBuilder& fb) {
//                   return MakeOptions(tflite::BuiltinOptions::Conv2DOptions,
//                                      tflite::CreateConv2DOptions(fb, tflite::Padding::VALID, 1,
//                                      1));
//                 }, /*version=*/3);
//   std::vector<uint8_t> model = b.Build();
//   auto ours = RunEdgeopt(model, inputs);       // StatusOr<std::vector<NpyArray>>
//   auto theirs = RunTfliteRef(model, inputs);
//   ExpectClose(*ours, *theirs, Tolerance{1e-5, 1e-4, 1});
#ifndef EDGEOPT_TESTS_MODEL_BUILDER_H_
#define EDGEOPT_TESTS_MODEL_BUILDER_H_

#include <cstdint>
#include <cstring>
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "flatbuffers/flatbuffers.h"
#include "include/edgeopt/status.h"
#include "schema/tflite_generated.h"
#include "src/core/dtype.h"
#include "src/runtime/interpreter.h"
#include "src/util/npy.h"

namespace edgeopt {
namespace testing {

using OptionsFn = std::function<std::pair<tflite::BuiltinOptions, flatbuffers::Offset<void>>(
    flatbuffers::FlatBufferBuilder&)>;

template <typename T>
std::pair<tflite::BuiltinOptions, flatbuffers::Offset<void>> MakeOptions(
    tflite::BuiltinOptions type, flatbuffers::Offset<T> offset) {
  return {type, offset.Union()};
}

class ModelBuilder {
 public:
  // A tensor without data. Empty `scales` means not quantized.
  int AddTensor(DType type, const std::vector<int32_t>& shape,
                const std::vector<float>& scales = {}, const std::vector<int64_t>& zero_points = {},
                int quantized_dimension = 0, const std::string& name = "");
  int AddInput(DType type, const std::vector<int32_t>& shape, const std::vector<float>& scales = {},
               const std::vector<int64_t>& zero_points = {});
  int AddOutput(DType type, const std::vector<int32_t>& shape,
                const std::vector<float>& scales = {},
                const std::vector<int64_t>& zero_points = {});
  // A constant; `bytes` must match shape and type.
  int AddConstantBytes(DType type, const std::vector<int32_t>& shape,
                       const std::vector<uint8_t>& bytes, const std::vector<float>& scales = {},
                       const std::vector<int64_t>& zero_points = {}, int quantized_dimension = 0);
  template <typename T>
  int AddConstant(DType type, const std::vector<int32_t>& shape, const std::vector<T>& values,
                  const std::vector<float>& scales = {},
                  const std::vector<int64_t>& zero_points = {}, int quantized_dimension = 0) {
    std::vector<uint8_t> bytes(values.size() * sizeof(T));
    if (!bytes.empty()) std::memcpy(bytes.data(), values.data(), bytes.size());
    return AddConstantBytes(type, shape, bytes, scales, zero_points, quantized_dimension);
  }
  // A variable tensor (LSTM/SVDF state): zero-initialized, persistent.
  int AddVariable(DType type, const std::vector<int32_t>& shape,
                  const std::vector<float>& scales = {},
                  const std::vector<int64_t>& zero_points = {});
  void MarkInput(int tensor) { inputs_.push_back(tensor); }
  void MarkOutput(int tensor) { outputs_.push_back(tensor); }
  // -1 in `inputs` marks an absent optional input.
  void AddOperator(tflite::BuiltinOperator op, const std::vector<int>& inputs,
                   const std::vector<int>& outputs, OptionsFn options = nullptr, int version = 1,
                   const std::vector<int>& intermediates = {});
  std::vector<uint8_t> Build();

 private:
  struct TensorDef {
    DType type;
    std::vector<int32_t> shape;
    std::vector<float> scales;
    std::vector<int64_t> zero_points;
    int quantized_dimension;
    std::string name;
    int buffer;  // 0 = none
    bool is_variable;
  };
  struct OpDef {
    tflite::BuiltinOperator op;
    int version;
    std::vector<int> inputs, outputs, intermediates;
    OptionsFn options;
  };
  std::vector<TensorDef> tensors_;
  std::vector<std::vector<uint8_t>> buffers_ = {{}};  // buffer 0: the empty sentinel
  std::vector<OpDef> ops_;
  std::vector<int> inputs_, outputs_;
};

// Runs a model in edgeopt's interpreter. `inputs` in graph-input order; dtypes must match.
// Scratch buffers are poisoned before each node (InterpreterOptions::poison_scratch).
StatusOr<std::vector<NpyArray>> RunEdgeopt(const std::vector<uint8_t>& model,
                                           const std::vector<NpyArray>& inputs,
                                           const rt::InterpreterOptions& options = {});
// Runs a model in the official TFLite 2.9 runtime (tflite-ref, builtin kernels, 1 thread).
StatusOr<std::vector<NpyArray>> RunTfliteRef(const std::vector<uint8_t>& model,
                                             const std::vector<NpyArray>& inputs);
// True when tflite-ref can be set up here (tests that need it skip otherwise).
bool TfliteRefAvailable();

// Random inputs: floats uniform in [lo, hi]; integer types over [lo, hi] (clamped to the type).
NpyArray RandomArray(DType type, const std::vector<int32_t>& shape, uint32_t seed, double lo = -1,
                     double hi = 1);
template <typename T>
NpyArray MakeArray(DType type, const std::vector<int32_t>& shape, const std::vector<T>& values) {
  NpyArray a;
  a.dtype = type;
  for (int32_t d : shape) a.shape.push_back(d);
  a.data.resize(values.size() * sizeof(T));
  if (!a.data.empty()) std::memcpy(a.data.data(), values.data(), a.data.size());
  return a;
}
template <typename T>
std::vector<T> ToVector(const NpyArray& a) {
  std::vector<T> v(a.data.size() / sizeof(T));
  if (!v.empty()) std::memcpy(v.data(), a.data.data(), v.size() * sizeof(T));
  return v;
}

struct Tolerance {
  double atol = 1e-5;
  double rtol = 1e-4;
  int64_t max_lsb = 0;
};
// GoogleTest expectations: same dtype and shape, floats within atol + rtol*|b|, integers within
// max_lsb. `b` is the reference.
void ExpectClose(const NpyArray& a, const NpyArray& b, const Tolerance& tol,
                 const std::string& what = "");
void ExpectAllClose(const std::vector<NpyArray>& a, const std::vector<NpyArray>& b,
                    const Tolerance& tol);

}  // namespace testing
}  // namespace edgeopt

#endif  // EDGEOPT_TESTS_MODEL_BUILDER_H_
