// Training speed of the train engine on the reference network fmnist-cnn
// (Conv2D 32 3x3 relu, MaxPool 2, Conv2D 64 3x3 relu, MaxPool 2, Flatten, Dense
// 128 relu, Dense 10; Adam 1e-3, batch 64, Fashion-MNIST in [0, 1]): seconds
// per epoch and images per second at 1 and 2 threads, and the test accuracy
// after each epoch. Compare with bench/libtorch_fmnist.cc (same network and
// settings) run on the same machine at the same time:
//
//   build/train_bench [--epochs N] [--threads 1,2] [--limit SAMPLES]
//
// Not part of the test suite.
#include <time.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "src/data/dataset.h"
#include "src/train/engine.h"
#include "src/train/presets.h"
#include "src/train/trainer.h"

using namespace edgeopt;

// CPU time of the whole process: with other jobs on the machine, wall time is
// noisy while CPU time (at 1 thread) is what the work costs.
static double CpuSeconds() {
  timespec ts;
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return ts.tv_sec + ts.tv_nsec * 1e-9;
}

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
    } else if (a == "--seed" && i + 1 < argc) {
      seed = std::strtoull(argv[++i], nullptr, 10);
    } else if (a == "--limit" && i + 1 < argc) {
      limit = std::atoll(argv[++i]);
    } else {
      std::fprintf(stderr,
                   "usage: %s [--epochs N] [--threads 1,2] [--limit SAMPLES] "
                   "[--seed S]\n",
                   argv[0]);
      return 2;
    }
  }
  auto train = data::LoadFashionMnist("train");
  auto test = data::LoadFashionMnist("test");
  if (!train.ok() || !test.ok()) {
    std::fprintf(stderr, "%s\n", (!train.ok() ? train.status() : test.status()).ToString().c_str());
    return 1;
  }
  if (limit > 0 && limit < train->size) {
    std::vector<int64_t> idx(limit);
    for (int64_t i = 0; i < limit; ++i) idx[i] = i;
    *train = train->Subset(idx);
  }
  for (int t : threads) {
    auto graph = train::BuildPresetGraph("fmnist-cnn", seed);
    train::EngineOptions eo;
    eo.batch_size = 64;
    eo.num_threads = t;
    auto engine = train::Engine::Create(*graph, eo);
    if (!engine.ok()) {
      std::fprintf(stderr, "%s\n", engine.status().ToString().c_str());
      return 1;
    }
    train::TrainOptions to;
    to.epochs = epochs;
    to.batch_size = 64;
    to.seed = seed;
    to.optimizer = train::DefaultOptimizerConfig(train::OptimizerKind::kAdam);
    auto trainer = train::Trainer::Create(engine->get(), to, *train);
    if (!trainer.ok()) {
      std::fprintf(stderr, "%s\n", trainer.status().ToString().c_str());
      return 1;
    }
    std::printf("edgeopt fmnist-cnn threads=%d gemm=%s\n", t, (*engine)->gemm()->isa_name());
    train::Engine* eng = engine->get();
    const bool profile = std::getenv("EDGEOPT_TRAIN_PROFILE") != nullptr;
    eng->EnableProfiling(profile);
    const data::Dataset* test_set = &*test;
    double cpu_mark = CpuSeconds();
    (*trainer)->SetEpochCallback([&](const train::EpochStats& s) {
      const double cpu = CpuSeconds() - cpu_mark;
      if (profile) {
        std::printf("%s", eng->ProfileReport().c_str());
        eng->EnableProfiling(false);
      }
      auto ev = train::Evaluate(eng, *test_set, 256);
      eng->EnableProfiling(profile);
      cpu_mark = CpuSeconds();
      std::printf(
          "  epoch %d: %.2f s/epoch wall  %.2f s cpu  %.0f img/s  loss %.4f  "
          "train_acc %.4f  test_acc %.4f\n",
          s.epoch + 1, s.seconds, cpu, s.images_per_second, s.loss, s.accuracy,
          ev.ok() ? ev->accuracy : -1.0);
      std::fflush(stdout);
      return Status::Ok();
    });
    auto hist = (*trainer)->Fit(*train, nullptr);
    if (!hist.ok()) {
      std::fprintf(stderr, "%s\n", hist.status().ToString().c_str());
      return 1;
    }
  }
  return 0;
}
