// Helpers of the compression e2e tests (cluster, pipeline, lowrank, qat, distill): `edgeopt
// ARGS` expecting success, the kernels of a .tflite file as edgeopt's runtime holds them after
// Prepare, with counts of their distinct values, and Fashion-MNIST subsets as .npz files.
#ifndef EDGEOPT_TESTS_E2E_WEIGHTS_UTIL_H_
#define EDGEOPT_TESTS_E2E_WEIGHTS_UTIL_H_

#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "src/data/dataset.h"
#include "src/runtime/interpreter.h"
#include "src/util/file_util.h"
#include "src/util/npy.h"
#include "tests/test_util.h"

namespace edgeopt {
namespace testing {

// n 28x28x1 float32 images and their int32 labels as an .npz (x, y).
inline Status WriteImagesNpz(const std::string& path, const float* images, const int32_t* labels,
                             int n) {
  NpyArray x, y;
  x.dtype = DType::kFloat32;
  x.shape = {n, 28, 28, 1};
  x.data.resize(static_cast<size_t>(n) * 784 * 4);
  std::memcpy(x.data.data(), images, x.data.size());
  y.dtype = DType::kInt32;
  y.shape = {n};
  y.data.resize(static_cast<size_t>(n) * 4);
  std::memcpy(y.data.data(), labels, y.data.size());
  return WriteNpz(path, {{"x", x}, {"y", y}});
}

// The first n samples of a Fashion-MNIST split ("train" or "test") as DIR/SPLITn.npz (float32 x
// in [0, 1], int32 y); "" when the data set is missing.
inline std::string FmnistSubset(const std::string& dir, const std::string& split, int n) {
  auto ds = data::LoadFashionMnist(split);
  if (!ds.ok() || ds->size < n) return "";
  const std::string path = dir + "/" + split + std::to_string(n) + ".npz";
  return WriteImagesNpz(path, ds->x.data(), ds->labels.data(), n).ok() ? path : "";
}

// A fixture of the compression e2e tests: the cached 1-epoch Fashion-MNIST baseline (base_) and
// a temporary directory (Tmp), removed after each test.
class BaselineE2E : public ::testing::Test {
 protected:
  explicit BaselineE2E(const char* prefix) : prefix_(prefix) {}
  void SetUp() override {
    base_ = TrainedFmnistBaseline(1);
    ASSERT_FALSE(base_.empty()) << "no Fashion-MNIST baseline";
    dir_ = MakeTempDir(prefix_);
  }
  void TearDown() override { RunCommand("rm -rf '" + dir_ + "'"); }
  std::string Tmp(const std::string& name) const { return dir_ + "/" + name; }

  // `edgeopt COMMAND BASELINE ARGS -o Tmp(output)` for each (ARGS, message) case: exit 1, the
  // message in the output, no output file.
  void ExpectFailures(const std::string& command,
                      const std::vector<std::pair<std::string, std::string>>& cases,
                      const std::string& output) const {
    for (const auto& [args, message] : cases) {
      std::string log;
      const int rc = RunCommand(
          EdgeoptBinary() + " " + command + " " + base_ + " " + args + " -o " + Tmp(output), &log);
      EXPECT_EQ(rc, 1) << args << ":\n" << log;
      EXPECT_NE(log.find(message), std::string::npos) << args << ":\n" << log;
      EXPECT_FALSE(ReadFileBytes(Tmp(output)).ok()) << args;
    }
  }

  const char* prefix_;
  std::string base_, dir_;
};

inline std::string Edgeopt(const std::string& args) {
  std::string log;
  const int rc = RunCommand(EdgeoptBinary() + " " + args, &log);
  EXPECT_EQ(rc, 0) << args << ":\n" << log;
  return log;
}

struct Kernel {
  std::vector<float> f;   // float weights
  std::vector<int8_t> q;  // int8 weights
  int channels = 0;       // output channels (dimension 0)
  bool depthwise = false;
};

// The kernels of every CONV_2D, DEPTHWISE_CONV_2D and FULLY_CONNECTED of a .tflite file.
inline std::vector<Kernel> Kernels(const std::string& path) {
  std::vector<Kernel> out;
  auto bytes = ReadFileBytes(path);
  EXPECT_TRUE(bytes.ok()) << path;
  if (!bytes.ok()) return out;
  auto interp = rt::Interpreter::Create(bytes->data(), bytes->size(), {});
  EXPECT_TRUE(interp.ok()) << path << ": " << interp.status().ToString();
  if (!interp.ok()) return out;
  rt::Interpreter* in = interp->get();
  for (int i = 0; i < in->num_nodes(); ++i) {
    const rt::Node& node = in->node(i);
    using Op = tflite::BuiltinOperator;
    if (node.op != Op::CONV_2D && node.op != Op::FULLY_CONNECTED &&
        node.op != Op::DEPTHWISE_CONV_2D) {
      continue;
    }
    const rt::Tensor* w = in->tensor(node.inputs[1]);
    Kernel k;
    const int64_t n = w->dims.NumElements();
    if (w->type == DType::kFloat32) k.f.assign(w->Data<float>(), w->Data<float>() + n);
    if (w->type == DType::kInt8) k.q.assign(w->Data<int8_t>(), w->Data<int8_t>() + n);
    k.depthwise = node.op == Op::DEPTHWISE_CONV_2D;
    k.channels = k.depthwise ? w->dims[w->dims.size - 1] : w->dims[0];
    out.push_back(k);
  }
  return out;
}

template <typename T>
size_t Distinct(const std::vector<T>& v) {
  return std::set<T>(v.begin(), v.end()).size();
}

// The most distinct values any output channel of `k` holds.
template <typename T>
size_t MostPerChannel(const std::vector<T>& v, const Kernel& k) {
  size_t most = 0;
  const size_t per = v.size() / k.channels;
  for (int c = 0; c < k.channels; ++c) {
    std::set<T> s;
    for (size_t i = 0; i < v.size(); ++i) {
      if ((k.depthwise ? static_cast<int>(i % k.channels) : static_cast<int>(i / per)) == c) {
        s.insert(v[i]);
      }
    }
    most = std::max(most, s.size());
  }
  return most;
}

}  // namespace testing
}  // namespace edgeopt

#endif  // EDGEOPT_TESTS_E2E_WEIGHTS_UTIL_H_
