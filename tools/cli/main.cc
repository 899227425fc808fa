// edgeopt: convert, optimize, run and measure models for edge devices.
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "tools/cli/cli_util.h"
#include "tools/cli/commands.h"

namespace {

struct Command {
  const char* name;
  const char* summary;
  int (*run)(int argc, char** argv);
};

const Command kCommands[] = {
    {"convert", "convert a Keras model (.h5, .keras) to .tflite", edgeopt::cli::RunConvert},
    {"quantize", "post-training quantization: float16, dynamic, int8, int16x8",
     edgeopt::cli::RunQuantize},
    {"inspect", "show what is inside a model (.tflite, .h5, .keras)", edgeopt::cli::RunInspect},
    {"run", "run a .tflite model on .npy inputs or seeded random inputs", edgeopt::cli::RunRun},
    {"bench", "measure a .tflite model's latency and memory", edgeopt::cli::RunBench},
    {"compare", "size, accuracy and latency of model variants side by side",
     edgeopt::cli::RunCompare},
    {"ir", "print a .tflite model as edgeopt IR text", edgeopt::cli::RunIr},
    {"train", "train or fine-tune a model with edgeopt's training engine", edgeopt::cli::RunTrain},
    {"eval", "top-1 accuracy and loss of a model on a data set", edgeopt::cli::RunEval},
    {"prune", "prune a Keras model (magnitude, block, N:M, channel) and fine-tune it",
     edgeopt::cli::RunPrune},
    {"cluster", "cluster a Keras model's weights (K distinct values per layer) and fine-tune",
     edgeopt::cli::RunCluster},
    {"lowrank", "factorize Dense / Conv layers into two of low rank (SVD) and fine-tune",
     edgeopt::cli::RunLowRank},
    {"distill", "knowledge distillation: train a small student from a teacher",
     edgeopt::cli::RunDistill},
    {"qat", "quantization-aware training to a full-integer int8 .tflite", edgeopt::cli::RunQat},
    {"pipeline", "a recipe of stages (prune, cluster, qat, ...), each keeping the last one's work",
     edgeopt::cli::RunPipeline},
    {"export-c", "a .tflite as C++ source for TFLite Micro: array, op resolver, arena size",
     edgeopt::cli::RunExportC},
};

void PrintUsage(FILE* out) {
  std::fprintf(out,
               "edgeopt: take a trained model to an edge device\n\n"
               "usage: edgeopt <command> [options]   (edgeopt <command> --help for details)\n\n"
               "commands:\n");
  for (const Command& c : kCommands) std::fprintf(out, "  %-10s %s\n", c.name, c.summary);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    PrintUsage(stderr);
    return edgeopt::cli::kExitUsage;
  }
  const std::string name = argv[1];
  if (name == "-h" || name == "--help" || name == "help") {
    PrintUsage(stdout);
    return edgeopt::cli::kExitOk;
  }
  if (name == "--version" || name == "version") {
    std::printf("edgeopt 0.1.0\n");
    return edgeopt::cli::kExitOk;
  }
  for (const Command& c : kCommands) {
    if (name == c.name) {
      std::string prog = std::string("edgeopt ") + c.name;
      std::vector<char> prog_buf(prog.begin(), prog.end());
      prog_buf.push_back('\0');
      argv[1] = prog_buf.data();
      return c.run(argc - 1, argv + 1);
    }
  }
  std::fprintf(stderr, "edgeopt: unknown command '%s'\n\n", name.c_str());
  PrintUsage(stderr);
  return edgeopt::cli::kExitUsage;
}
