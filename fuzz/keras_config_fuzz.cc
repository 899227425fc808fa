// libFuzzer target for the Keras model config importer: the JSON a user gives to
// `edgeopt train arch.json`, and the config.json inside every .keras / .h5 file. The bytes are
// parsed as JSON, built into a model (every layer's Keras initializer run), lowered to the IR,
// factorized by `edgeopt lowrank` (a copy, rebuilt), put through the export pipeline and
// written as .tflite; a small enough result is loaded by the runtime and invoked. Any step may
// refuse the input; none may crash.
//   make fuzz-keras      builds build-fuzz/keras_config_fuzz (clang, ASan+UBSan) and runs it for
//                        FUZZ_SECONDS, seeded from tests/data/fuzz_seeds/keras_config.
// With KERAS_FUZZ_VERBOSE=1 set, each input prints the step that refused it and why (for
// checking that the seeds get through: keras_config_fuzz -runs=0 DIR).
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <vector>

#include "nlohmann/json.hpp"
#include "src/export/tflite/export.h"
#include "src/importers/keras/keras_model.h"
#include "src/passes/lowrank/lowrank.h"
#include "src/passes/pipeline.h"
#include "src/runtime/interpreter.h"
#include "src/runtime/model_stats.h"

namespace {

int Refused(const char* step, const edgeopt::Status& status) {
  static const bool verbose = std::getenv("KERAS_FUZZ_VERBOSE") != nullptr;
  if (verbose) std::fprintf(stderr, "refused by %s: %s\n", step, status.ToString().c_str());
  return 0;
}

// `edgeopt lowrank` on a copy of the model: every dense and convolution kernel split at rank 1
// (no size floor) in the config and the weights, and the result built again. Skipped when a
// kernel is large enough to make the SVDs slow.
void FactorizeCopy(const edgeopt::keras::KerasModel& model, const edgeopt::ir::Graph& graph) {
  for (const edgeopt::ir::Tensor& t : graph.tensors) {
    if (t.is_constant && t.NumElements() > (int64_t{1} << 16)) return;
  }
  edgeopt::keras::KerasModel copy = model;
  edgeopt::lowrank::RankRule rule;
  rule.kind = edgeopt::lowrank::RankRule::Kind::kRank;
  rule.value = 1;
  auto plan = edgeopt::lowrank::PlanFactorization(graph, &copy, {}, {}, rule);
  if (!plan.ok()) return (void)Refused("PlanFactorization", plan.status());
  auto reports = edgeopt::lowrank::FactorizeKerasModel(&copy, *plan);
  if (!reports.ok()) return (void)Refused("FactorizeKerasModel", reports.status());
  auto rebuilt = edgeopt::keras::BuildGraph(copy);
  if (!rebuilt.ok()) return (void)Refused("BuildGraph (factorized)", rebuilt.status());
}

// A layer of more than 256 units or filters: Keras's initializers (an Orthogonal recurrent
// kernel of a GRU(812) takes 2 s, over a minute under the sanitizers) spend the fuzzer's time on
// arithmetic that smaller layers run through the same code.
bool TooWide(const nlohmann::json& j, int depth = 0) {
  if (depth > 64) return true;
  if (j.is_object()) {
    for (const auto& item : j.items()) {
      const nlohmann::json& v = item.value();
      if ((item.key() == "units" || item.key() == "filters") && v.is_number() &&
          v.get<double>() > 256) {
        return true;
      }
      if (TooWide(v, depth + 1)) return true;
    }
  } else if (j.is_array()) {
    for (const nlohmann::json& v : j) {
      if (TooWide(v, depth + 1)) return true;
    }
  }
  return false;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::vector<uint8_t> bytes(data, data + size);
  nlohmann::json config =
      nlohmann::json::parse(bytes.begin(), bytes.end(), nullptr, /*allow_exceptions=*/false);
  if (config.is_discarded() || TooWide(config)) return 0;
  auto model = edgeopt::keras::ModelFromConfig(config, /*seed=*/0);
  if (!model.ok()) return Refused("ModelFromConfig", model.status());
  // As `edgeopt train` builds it: the input augmentation layers read (and applied to an image).
  std::vector<edgeopt::data::ImageAugmentation> augmentations;
  edgeopt::keras::BuildOptions build;
  build.input_augmentations = &augmentations;
  auto graph = edgeopt::keras::BuildGraph(*model, build);
  if (!graph.ok()) return Refused("BuildGraph", graph.status());
  {
    std::vector<float> image(8 * 8 * 3, 0.5f), scratch;
    edgeopt::train::SplitMix64 rng(1);
    for (const auto& a : augmentations) {
      edgeopt::data::ApplyAugmentation(a, image.data(), 8, 8, 3, &rng, &scratch);
    }
  }
  FactorizeCopy(*model, *graph);
  const edgeopt::Status prepared = edgeopt::passes::PrepareForExport(&*graph);
  if (!prepared.ok()) return Refused("PrepareForExport", prepared);
  auto flatbuffer = edgeopt::ExportTflite(*graph);
  if (!flatbuffer.ok()) return Refused("ExportTflite", flatbuffer.status());
  edgeopt::rt::InterpreterOptions options;
  options.num_threads = 1;
  auto interp = edgeopt::rt::Interpreter::Create(flatbuffer->data(), flatbuffer->size(), options);
  if (!interp.ok()) return Refused("Interpreter::Create", interp.status());
  {
    const auto stats = edgeopt::rt::ComputeModelStats(interp->get());
    if (stats.total_macs < (int64_t{20} << 20) && (*interp)->arena_bytes() < (size_t{64} << 20)) {
      (void)(*interp)->Invoke();
    }
  }
  return 0;
}
