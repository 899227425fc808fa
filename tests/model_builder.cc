#include "tests/model_builder.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <random>

#include "src/util/file_util.h"
#include "tests/test_util.h"

namespace edgeopt {
namespace testing {

int ModelBuilder::AddTensor(DType type, const std::vector<int32_t>& shape,
                            const std::vector<float>& scales,
                            const std::vector<int64_t>& zero_points, int quantized_dimension,
                            const std::string& name) {
  TensorDef t{type, shape, scales, zero_points, quantized_dimension, name, 0, false};
  if (t.name.empty()) t.name = "t" + std::to_string(tensors_.size());
  if (!t.scales.empty() && t.zero_points.empty()) t.zero_points.assign(t.scales.size(), 0);
  tensors_.push_back(t);
  return static_cast<int>(tensors_.size()) - 1;
}

int ModelBuilder::AddInput(DType type, const std::vector<int32_t>& shape,
                           const std::vector<float>& scales,
                           const std::vector<int64_t>& zero_points) {
  const int t = AddTensor(type, shape, scales, zero_points);
  inputs_.push_back(t);
  return t;
}

int ModelBuilder::AddOutput(DType type, const std::vector<int32_t>& shape,
                            const std::vector<float>& scales,
                            const std::vector<int64_t>& zero_points) {
  const int t = AddTensor(type, shape, scales, zero_points);
  outputs_.push_back(t);
  return t;
}

int ModelBuilder::AddConstantBytes(DType type, const std::vector<int32_t>& shape,
                                   const std::vector<uint8_t>& bytes,
                                   const std::vector<float>& scales,
                                   const std::vector<int64_t>& zero_points,
                                   int quantized_dimension) {
  const int t = AddTensor(type, shape, scales, zero_points, quantized_dimension);
  buffers_.push_back(bytes);
  tensors_[t].buffer = static_cast<int>(buffers_.size()) - 1;
  return t;
}

int ModelBuilder::AddVariable(DType type, const std::vector<int32_t>& shape,
                              const std::vector<float>& scales,
                              const std::vector<int64_t>& zero_points) {
  const int t = AddTensor(type, shape, scales, zero_points);
  tensors_[t].is_variable = true;
  return t;
}

void ModelBuilder::AddOperator(tflite::BuiltinOperator op, const std::vector<int>& inputs,
                               const std::vector<int>& outputs, OptionsFn options, int version,
                               const std::vector<int>& intermediates) {
  ops_.push_back(OpDef{op, version, inputs, outputs, intermediates, std::move(options)});
}

std::vector<uint8_t> ModelBuilder::Build() {
  flatbuffers::FlatBufferBuilder fb;
  // Operator codes: one per (op, version).
  std::vector<std::pair<tflite::BuiltinOperator, int>> codes;
  std::vector<flatbuffers::Offset<tflite::OperatorCode>> code_offsets;
  std::vector<flatbuffers::Offset<tflite::Operator>> op_offsets;
  for (const OpDef& op : ops_) {
    int index = -1;
    for (size_t i = 0; i < codes.size(); ++i) {
      if (codes[i].first == op.op && codes[i].second == op.version) index = static_cast<int>(i);
    }
    if (index < 0) {
      codes.push_back({op.op, op.version});
      index = static_cast<int>(codes.size()) - 1;
      const int8_t deprecated =
          static_cast<int>(op.op) < 127 ? static_cast<int8_t>(op.op) : int8_t{127};
      code_offsets.push_back(tflite::CreateOperatorCode(fb, deprecated, 0, op.version, op.op));
    }
    tflite::BuiltinOptions type = tflite::BuiltinOptions::NONE;
    flatbuffers::Offset<void> options = 0;
    if (op.options) {
      auto o = op.options(fb);
      type = o.first;
      options = o.second;
    }
    op_offsets.push_back(tflite::CreateOperator(
        fb, static_cast<uint32_t>(index), fb.CreateVector(op.inputs), fb.CreateVector(op.outputs),
        type, options, 0, tflite::CustomOptionsFormat::FLEXBUFFERS, 0,
        op.intermediates.empty() ? 0 : fb.CreateVector(op.intermediates)));
  }
  std::vector<flatbuffers::Offset<tflite::Tensor>> tensor_offsets;
  for (const TensorDef& t : tensors_) {
    flatbuffers::Offset<tflite::QuantizationParameters> q = 0;
    if (!t.scales.empty()) {
      q = tflite::CreateQuantizationParameters(
          fb, 0, 0, fb.CreateVector(t.scales), fb.CreateVector(t.zero_points),
          tflite::QuantizationDetails::NONE, 0, t.quantized_dimension);
    }
    tensor_offsets.push_back(tflite::CreateTensor(
        fb, fb.CreateVector(t.shape), static_cast<tflite::TensorType>(t.type),
        static_cast<uint32_t>(t.buffer), fb.CreateString(t.name), q, t.is_variable));
  }
  auto subgraph = tflite::CreateSubGraph(fb, fb.CreateVector(tensor_offsets),
                                         fb.CreateVector(inputs_), fb.CreateVector(outputs_),
                                         fb.CreateVector(op_offsets), fb.CreateString("main"));
  std::vector<flatbuffers::Offset<tflite::Buffer>> buffer_offsets;
  for (const auto& b : buffers_) {
    if (b.empty()) {
      buffer_offsets.push_back(tflite::CreateBuffer(fb));
    } else {
      fb.ForceVectorAlignment(b.size(), 1, 16);
      buffer_offsets.push_back(tflite::CreateBuffer(fb, fb.CreateVector(b)));
    }
  }
  auto model =
      tflite::CreateModel(fb, 3, fb.CreateVector(code_offsets),
                          fb.CreateVector(std::vector<decltype(subgraph)>{subgraph}),
                          fb.CreateString("edgeopt test model"), fb.CreateVector(buffer_offsets));
  tflite::FinishModelBuffer(fb, model);
  return std::vector<uint8_t>(fb.GetBufferPointer(), fb.GetBufferPointer() + fb.GetSize());
}

StatusOr<std::vector<NpyArray>> RunEdgeopt(const std::vector<uint8_t>& model,
                                           const std::vector<NpyArray>& inputs,
                                           const rt::InterpreterOptions& given) {
  rt::InterpreterOptions options = given;
  options.poison_scratch = true;  // no kernel may count on its scratch's earlier contents
  EDGEOPT_ASSIGN_OR_RETURN(auto interp,
                           rt::Interpreter::Create(model.data(), model.size(), options));
  EDGEOPT_ENSURE(static_cast<int>(inputs.size()) == interp->num_inputs(),
                 StatusCode::kInvalidArgument, "%zu inputs given, model has %d", inputs.size(),
                 interp->num_inputs());
  for (int i = 0; i < interp->num_inputs(); ++i) {
    rt::Tensor* t = interp->input_tensor(i);
    EDGEOPT_ENSURE(inputs[i].dtype == t->type && inputs[i].data.size() == t->bytes,
                   StatusCode::kInvalidArgument, "input %d: dtype or size mismatch", i);
    if (t->bytes > 0) std::memcpy(t->data, inputs[i].data.data(), t->bytes);
  }
  EDGEOPT_RETURN_IF_ERROR(interp->Invoke());
  std::vector<NpyArray> outputs;
  for (int i = 0; i < interp->num_outputs(); ++i) {
    const rt::Tensor* t = interp->output_tensor(i);
    NpyArray a;
    a.dtype = t->type;
    for (int d = 0; d < t->dims.size; ++d) a.shape.push_back(t->dims[d]);
    a.data.assign(t->data, t->data + t->bytes);
    outputs.push_back(std::move(a));
  }
  return outputs;
}

bool TfliteRefAvailable() {
  static const int ok = RunCommand("sh " + TfliteRefPath() + " version >/dev/null 2>&1") == 0;
  return ok != 0;
}

StatusOr<std::vector<NpyArray>> RunTfliteRef(const std::vector<uint8_t>& model,
                                             const std::vector<NpyArray>& inputs) {
  const std::string dir = MakeTempDir("tfref");
  EDGEOPT_ENSURE(!dir.empty(), StatusCode::kIoError, "cannot create a temp dir");
  EDGEOPT_RETURN_IF_ERROR(WriteFileAtomic(dir + "/model.tflite", model));
  std::string cmd = "sh " + TfliteRefPath() + " run " + dir + "/model.tflite";
  for (size_t i = 0; i < inputs.size(); ++i) {
    const std::string path = dir + "/input_" + std::to_string(i) + ".npy";
    EDGEOPT_RETURN_IF_ERROR(WriteNpy(path, inputs[i]));
    cmd += " -i " + path;
  }
  cmd += " -o " + dir + "/out";
  std::string log;
  const int rc = RunCommand(cmd, &log);
  std::vector<NpyArray> outputs;
  if (rc != 0) {
    RunCommand("rm -rf " + dir);
    return MakeStatus(StatusCode::kInternal, "tflite-ref failed (exit %d): %s", rc, log.c_str());
  }
  for (int i = 0;; ++i) {
    const std::string path = dir + "/out/output_" + std::to_string(i) + ".npy";
    if (!FileExists(path)) break;
    EDGEOPT_ASSIGN_OR_RETURN(NpyArray a, ReadNpy(path));
    outputs.push_back(std::move(a));
  }
  RunCommand("rm -rf " + dir);
  return outputs;
}

NpyArray RandomArray(DType type, const std::vector<int32_t>& shape, uint32_t seed, double lo,
                     double hi) {
  NpyArray a;
  a.dtype = type;
  int64_t n = 1;
  for (int32_t d : shape) {
    a.shape.push_back(d);
    n *= d;
  }
  a.data.resize(static_cast<size_t>(n) * DTypeSize(type));
  std::mt19937 rng(seed);
  auto fill_int = [&](auto* p, double type_lo, double type_hi) {
    const double l = std::max(lo, type_lo), h = std::min(hi, type_hi);
    std::uniform_int_distribution<int64_t> dist(static_cast<int64_t>(std::ceil(l)),
                                                static_cast<int64_t>(std::floor(h)));
    for (int64_t i = 0; i < n; ++i)
      p[i] = static_cast<std::remove_pointer_t<decltype(p)>>(dist(rng));
  };
  switch (type) {
    case DType::kFloat32: {
      std::uniform_real_distribution<float> dist(static_cast<float>(lo), static_cast<float>(hi));
      float* p = a.Data<float>();
      for (int64_t i = 0; i < n; ++i) p[i] = dist(rng);
      break;
    }
    case DType::kInt8:
      fill_int(a.Data<int8_t>(), -128, 127);
      break;
    case DType::kUInt8:
      fill_int(a.Data<uint8_t>(), 0, 255);
      break;
    case DType::kInt16:
      fill_int(a.Data<int16_t>(), -32768, 32767);
      break;
    case DType::kInt32:
      fill_int(a.Data<int32_t>(), -2147483648.0, 2147483647.0);
      break;
    case DType::kInt64:
      fill_int(a.Data<int64_t>(), -9e18, 9e18);
      break;
    case DType::kBool:
      fill_int(a.Data<uint8_t>(), 0, 1);
      break;
    default:
      break;
  }
  return a;
}

namespace {

template <typename T>
void CompareInts(const NpyArray& a, const NpyArray& b, int64_t max_lsb, const std::string& what) {
  const int64_t n = a.NumElements();
  int64_t worst = 0, worst_index = 0, bad = 0;
  for (int64_t i = 0; i < n; ++i) {
    const int64_t d =
        std::llabs(static_cast<int64_t>(a.Data<T>()[i]) - static_cast<int64_t>(b.Data<T>()[i]));
    if (d > worst) {
      worst = d;
      worst_index = i;
    }
    if (d > max_lsb) ++bad;
  }
  EXPECT_LE(worst, max_lsb) << what << ": " << bad << " of " << n
                            << " elements differ by more than " << max_lsb << " LSB; worst at "
                            << worst_index << ": " << static_cast<int64_t>(a.Data<T>()[worst_index])
                            << " vs reference " << static_cast<int64_t>(b.Data<T>()[worst_index]);
}

}  // namespace

void ExpectClose(const NpyArray& a, const NpyArray& b, const Tolerance& tol,
                 const std::string& what) {
  ASSERT_EQ(static_cast<int>(a.dtype), static_cast<int>(b.dtype)) << what << ": dtype differs";
  ASSERT_EQ(a.shape, b.shape) << what << ": shape differs";
  const int64_t n = a.NumElements();
  switch (a.dtype) {
    case DType::kFloat32: {
      int64_t bad = 0, worst_index = 0;
      double worst = 0;
      for (int64_t i = 0; i < n; ++i) {
        const double x = a.Data<float>()[i], y = b.Data<float>()[i];
        const double d = std::abs(x - y);
        if (std::isnan(x) != std::isnan(y)) {
          ++bad;
          continue;
        }
        if (d > tol.atol + tol.rtol * std::abs(y)) ++bad;
        if (d > worst) {
          worst = d;
          worst_index = i;
        }
      }
      EXPECT_EQ(bad, 0) << what << ": " << bad << " of " << n << " floats outside atol " << tol.atol
                        << " + rtol " << tol.rtol << "; worst |diff| " << worst << " at "
                        << worst_index << ": " << a.Data<float>()[worst_index] << " vs reference "
                        << b.Data<float>()[worst_index];
      break;
    }
    case DType::kInt8:
      CompareInts<int8_t>(a, b, tol.max_lsb, what);
      break;
    case DType::kUInt8:
    case DType::kBool:
      CompareInts<uint8_t>(a, b, tol.max_lsb, what);
      break;
    case DType::kInt16:
      CompareInts<int16_t>(a, b, tol.max_lsb, what);
      break;
    case DType::kInt32:
      CompareInts<int32_t>(a, b, tol.max_lsb, what);
      break;
    case DType::kInt64:
      CompareInts<int64_t>(a, b, tol.max_lsb, what);
      break;
    default:
      EXPECT_EQ(a.data, b.data) << what;
  }
}

void ExpectAllClose(const std::vector<NpyArray>& a, const std::vector<NpyArray>& b,
                    const Tolerance& tol) {
  ASSERT_EQ(a.size(), b.size()) << "number of outputs differs";
  for (size_t i = 0; i < a.size(); ++i) ExpectClose(a[i], b[i], tol, "output " + std::to_string(i));
}

}  // namespace testing
}  // namespace edgeopt
