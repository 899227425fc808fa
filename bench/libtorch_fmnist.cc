// The LibTorch baseline for bench/train_bench.cc: the same network (Conv2d 32 3x3 + ReLU,
// MaxPool 2, Conv2d 64 3x3 + ReLU, MaxPool 2, Flatten, Linear 128 + ReLU, Linear 10), the
// same data (Fashion-MNIST in [0, 1], read by edgeopt's loader) and the same settings (Adam
// lr 1e-3, batch 64, shuffled every epoch, softmax cross-entropy from logits). Reports
// seconds per epoch (wall and process CPU), images per second and test accuracy.
//
// Built only with -DEDGEOPT_BENCH_LIBTORCH=ON when LibTorch is installed (libtorch-dev):
//   build/libtorch_fmnist [--epochs N] [--threads 1,2] [--limit SAMPLES] [--seed S]
#include <time.h>
#include <torch/torch.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "src/data/dataset.h"

namespace {

double CpuSeconds() {
  timespec ts;
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return ts.tv_sec + ts.tv_nsec * 1e-9;
}

double WallSeconds() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

struct NetImpl : torch::nn::Module {
  NetImpl()
      : conv1(torch::nn::Conv2dOptions(1, 32, 3)),
        conv2(torch::nn::Conv2dOptions(32, 64, 3)),
        fc1(1600, 128),
        fc2(128, 10) {
    register_module("conv1", conv1);
    register_module("conv2", conv2);
    register_module("fc1", fc1);
    register_module("fc2", fc2);
  }
  torch::Tensor forward(torch::Tensor x) {
    x = torch::max_pool2d(torch::relu(conv1->forward(x)), 2);
    x = torch::max_pool2d(torch::relu(conv2->forward(x)), 2);
    x = x.flatten(1);
    x = torch::relu(fc1->forward(x));
    return fc2->forward(x);
  }
  torch::nn::Conv2d conv1, conv2;
  torch::nn::Linear fc1, fc2;
};
TORCH_MODULE(Net);

// Images [N, 1, 28, 28] (NHWC with C = 1 has the same memory order) and labels [N].
void ToTensors(const edgeopt::data::Dataset& ds, torch::Tensor* x, torch::Tensor* y) {
  *x = torch::from_blob(const_cast<float*>(ds.x.data()), {ds.size, 1, 28, 28}, torch::kFloat32)
           .clone();
  std::vector<int64_t> labels(ds.labels.begin(), ds.labels.end());
  *y = torch::from_blob(labels.data(), {ds.size}, torch::kInt64).clone();
}

}  // namespace

int main(int argc, char** argv) {
  int epochs = 1;
  std::vector<int> threads = {1, 2};
  int64_t limit = 0;
  uint64_t seed = 0;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--epochs" && i + 1 < argc) {
      epochs = std::atoi(argv[++i]);
    } else if (a == "--threads" && i + 1 < argc) {
      threads.clear();
      for (char* p = std::strtok(argv[++i], ","); p != nullptr; p = std::strtok(nullptr, ",")) {
        threads.push_back(std::atoi(p));
      }
    } else if (a == "--limit" && i + 1 < argc) {
      limit = std::atoll(argv[++i]);
    } else if (a == "--seed" && i + 1 < argc) {
      seed = std::strtoull(argv[++i], nullptr, 10);
    } else {
      std::fprintf(stderr, "usage: %s [--epochs N] [--threads 1,2] [--limit SAMPLES] [--seed S]\n",
                   argv[0]);
      return 2;
    }
  }
  auto train = edgeopt::data::LoadFashionMnist("train");
  auto test = edgeopt::data::LoadFashionMnist("test");
  if (!train.ok() || !test.ok()) {
    std::fprintf(stderr, "%s\n", (!train.ok() ? train.status() : test.status()).ToString().c_str());
    return 1;
  }
  torch::Tensor x, y, tx, ty;
  ToTensors(*train, &x, &y);
  ToTensors(*test, &tx, &ty);
  if (limit > 0 && limit < x.size(0)) {
    x = x.slice(0, 0, limit);
    y = y.slice(0, 0, limit);
  }
  const int64_t n = x.size(0);
  const int64_t batch = 64;
  for (int t : threads) {
    torch::set_num_threads(t);
    torch::manual_seed(seed);
    Net net;
    torch::optim::Adam opt(net->parameters(), torch::optim::AdamOptions(1e-3));
    std::printf("libtorch %s fmnist-cnn threads=%d\n", TORCH_VERSION, t);
    for (int e = 0; e < epochs; ++e) {
      net->train();
      const double w0 = WallSeconds(), c0 = CpuSeconds();
      torch::Tensor perm = torch::randperm(n, torch::kInt64);
      double loss_sum = 0.0;
      int64_t correct = 0;
      for (int64_t s = 0; s < n; s += batch) {
        torch::Tensor idx = perm.slice(0, s, std::min(n, s + batch));
        torch::Tensor xb = x.index_select(0, idx), yb = y.index_select(0, idx);
        opt.zero_grad();
        torch::Tensor logits = net->forward(xb);
        torch::Tensor loss = torch::nn::functional::cross_entropy(logits, yb);
        loss.backward();
        opt.step();
        loss_sum += loss.item<double>() * idx.size(0);
        correct += logits.argmax(1).eq(yb).sum().item<int64_t>();
      }
      const double wall = WallSeconds() - w0, cpu = CpuSeconds() - c0;
      net->eval();
      torch::NoGradGuard no_grad;
      int64_t test_correct = 0;
      for (int64_t s = 0; s < tx.size(0); s += 256) {
        torch::Tensor xb = tx.slice(0, s, std::min(tx.size(0), s + 256));
        torch::Tensor yb = ty.slice(0, s, std::min(tx.size(0), s + 256));
        test_correct += net->forward(xb).argmax(1).eq(yb).sum().item<int64_t>();
      }
      std::printf(
          "  epoch %d: %.2f s/epoch wall  %.2f s cpu  %.0f img/s  loss %.4f  "
          "train_acc %.4f  test_acc %.4f\n",
          e + 1, wall, cpu, n / wall, loss_sum / n, static_cast<double>(correct) / n,
          static_cast<double>(test_correct) / tx.size(0));
      std::fflush(stdout);
    }
  }
  return 0;
}
