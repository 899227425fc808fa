// edgeopt export-c MODEL.tflite -o model_data.cc: a .tflite for TensorFlow Lite for
// Microcontrollers. Checks that TFLM can run it (every operator has a TFLM kernel; no hybrid,
// float16, sparse or uint8 compute tensors), then writes the model as an aligned C array
// (model_data.cc) and a header (model_data.h) with its length, the tensor arena size (TFLM's
// greedy plan of the activations plus an estimate of its persistent allocations), the operator
// count and a template that registers exactly the model's operators on a
// MicroMutableOpResolver (src/export/tflm). --lut first compresses the weights with TFLM's
// look-up-table compression (src/export/tflm/lut_compress.h).
#include <cstdio>
#include <string>
#include <vector>

#include "CLI/CLI.hpp"
#include "src/export/tflm/lut_compress.h"
#include "src/export/tflm/tflm_export.h"
#include "tools/cli/cli_util.h"
#include "tools/cli/commands.h"

namespace edgeopt {
namespace cli {
namespace {

constexpr const char* kCommand = "export-c";

std::string WithCommas(size_t n) {
  std::string digits = std::to_string(n), out;
  for (size_t i = 0; i < digits.size(); ++i) {
    if (i > 0 && (digits.size() - i) % 3 == 0) out += ',';
    out += digits[i];
  }
  return out;
}

// model_data.cc -> model_data.h (beside it).
std::string HeaderPathFor(const std::string& source) {
  const size_t slash = source.rfind('/');
  const size_t dot = source.rfind('.');
  if (dot == std::string::npos || (slash != std::string::npos && dot < slash)) return source + ".h";
  return source.substr(0, dot) + ".h";
}

}  // namespace

int RunExportC(int argc, char** argv) {
  CLI::App app{
      "Write a .tflite model as C++ source for TensorFlow Lite for Microcontrollers: the model as "
      "an aligned array, and a header with its length, the tensor arena size and a function that "
      "registers exactly the model's operators. Refuses a model TFLM cannot run (an operator "
      "without a TFLM kernel, hybrid/dynamic-range ops, float16, sparse or uint8 tensors) unless "
      "--force.",
      "edgeopt export-c"};
  std::string model, output, header, name = "g_model";
  bool force = false, lut = false;
  std::string lut_tflite;
  size_t lut_max_scratch = 0, lut_arena_limit = 0;
  app.add_option("model", model, "the .tflite model (full-integer int8 or float32)")->required();
  app.add_option("-o,--output", output, "the C++ source to write, e.g. model_data.cc")->required();
  app.add_option("--header", header, "the header to write (default: the output with .h)");
  app.add_option("--name", name, "the array's name (default g_model)");
  app.add_flag("--force", force, "write the files even when TFLM cannot run the model");
  app.add_flag("--lut", lut,
               "compress the weights with TFLM's look-up-table compression (1-7 bit indices into "
               "each tensor's distinct values; clustered int8 weights take 4 bits); TFLM must be "
               "built with USE_TFLM_COMPRESSION");
  app.add_option("--lut-tflite", lut_tflite, "with --lut: also write the compressed .tflite");
  app.add_option("--lut-max-scratch", lut_max_scratch,
                 "with --lut: leave tensors larger than this many bytes uncompressed (TFLM "
                 "decodes each compressed tensor into arena RAM while its operator runs)");
  app.add_option("--lut-arena-limit", lut_arena_limit,
                 "with --lut: compress, largest flash saving first, only the tensors that keep "
                 "the tensor arena TFLM needs within this many bytes (your MCU's RAM for it)");
  EDGEOPT_CLI_PARSE(app, argc, argv);

  const std::string bad_name = tflm::CheckIdentifier(name);
  if (!bad_name.empty()) {
    return ReportError(kCommand,
                       MakeStatus(StatusCode::kInvalidArgument,
                                  "--name: %s (it becomes a C++ identifier)", bad_name.c_str()));
  }
  const std::string ext = FileExtension(model);
  if (ext == ".h5" || ext == ".hdf5" || ext == ".keras") {
    return ReportError(kCommand,
                       MakeStatus(StatusCode::kInvalidArgument,
                                  "%s is a Keras model; export-c takes a .tflite (make one first: "
                                  "edgeopt quantize %s --mode int8 --calibration DATA --io int8 -o "
                                  "model.tflite)",
                                  model.c_str(), model.c_str()));
  }
  if ((!lut_tflite.empty() || lut_max_scratch > 0 || lut_arena_limit > 0) && !lut) {
    return ReportError(
        kCommand, MakeStatus(StatusCode::kInvalidArgument,
                             "--lut-tflite, --lut-max-scratch and --lut-arena-limit need --lut"));
  }
  if (header.empty()) header = HeaderPathFor(output);
  if (header == output) {
    return ReportError(kCommand,
                       MakeStatus(StatusCode::kInvalidArgument,
                                  "--header and --output are the same file (%s)", output.c_str()));
  }
  auto file = MappedFile::Open(model);
  if (!file.ok()) return ReportError(kCommand, file.status());
  const uint8_t* data = (*file)->data();
  size_t size = (*file)->size();
  std::vector<uint8_t> compressed;
  size_t activations_before = 0;
  if (lut) {
    StatusOr<tflm::TflmReport> plain = tflm::AnalyzeForTflm(data, size);
    if (!plain.ok()) return ReportError(kCommand, plain.status().WithPrefix(model));
    activations_before = plain->activation_bytes;
    tflm::LutOptions lut_options;
    lut_options.max_decoded_bytes = lut_max_scratch;
    int over_limit = 0;
    StatusOr<tflm::LutResult> packed =
        lut_arena_limit > 0
            ? tflm::CompressLutWithinArena(data, size, lut_options, lut_arena_limit, &over_limit)
            : tflm::CompressLut(data, size, lut_options);
    if (!packed.ok()) return ReportError(kCommand, packed.status().WithPrefix(model));
    size_t before = 0, after = 0;
    std::printf("LUT compression (%d constants read only by kernels that decompress):\n",
                packed->considered);
    for (const tflm::LutTensorInfo& t : packed->tensors) {
      std::printf("  %-40s %d-bit indices, %3d values x %4d tables: %9s -> %9s bytes\n",
                  t.name.c_str(), t.bits, t.values, t.channels, WithCommas(t.bytes_before).c_str(),
                  WithCommas(t.bytes_after).c_str());
      before += t.bytes_before;
      after += t.bytes_after;
    }
    if (lut_arena_limit > 0) {
      std::printf(
          "  --lut-arena-limit %s: %d compressible tensor%s left as they are (the arena "
          "would pass the limit, or the file would not get smaller)\n",
          WithCommas(lut_arena_limit).c_str(), over_limit, over_limit == 1 ? "" : "s");
      if (plain->arena_hint > lut_arena_limit) {
        std::printf("  note: even uncompressed the model needs a %s-byte arena\n",
                    WithCommas(plain->arena_hint).c_str());
      }
    }
    if (packed->too_large > 0) {
      std::printf("  %d larger than --lut-max-scratch %s bytes left as they are\n",
                  packed->too_large, WithCommas(lut_max_scratch).c_str());
    }
    if (packed->not_smaller > 0) {
      std::printf(
          "  %d could be, but their tables, metadata and alignment cost more than the "
          "indices save: the model stays as it is\n",
          packed->not_smaller);
    } else if (packed->tensors.empty()) {
      std::printf(
          "  none compressed: no constant has few enough distinct values (cluster the "
          "model first: edgeopt cluster --clusters 16)\n");
    } else {
      std::printf("  %zu tensor%s: %s -> %s bytes; the model %s -> %s bytes\n",
                  packed->tensors.size(), packed->tensors.size() == 1 ? "" : "s",
                  WithCommas(before).c_str(), WithCommas(after).c_str(), WithCommas(size).c_str(),
                  WithCommas(packed->model.size()).c_str());
    }
    compressed = std::move(packed->model);
    data = compressed.data();
    size = compressed.size();
  }
  StatusOr<tflm::TflmReport> report = tflm::AnalyzeForTflm(data, size);
  if (!report.ok()) return ReportError(kCommand, report.status().WithPrefix(model));

  std::printf("model: %s (%s bytes): %d subgraph%s, %d tensors, %d operators\n", model.c_str(),
              WithCommas(size).c_str(), report->subgraphs, report->subgraphs == 1 ? "" : "s",
              report->tensors, report->nodes);
  std::printf("operators (%zu kind%s):\n", report->ops.size(), report->ops.size() == 1 ? "" : "s");
  for (const tflm::OpUse& op : report->ops) {
    std::printf("  %-28s x%-4d %s\n", op.op.c_str(), op.count,
                op.method.empty() ? "(no TFLM kernel)" : ("resolver." + op.method + "()").c_str());
  }
  std::printf(
      "arena: %s bytes of activations (TFLM's greedy plan) + about %s persistent (estimated) "
      "-> %s_arena_size = %s\n",
      WithCommas(report->activation_bytes).c_str(), WithCommas(report->persistent_estimate).c_str(),
      name.c_str(), WithCommas(report->arena_hint).c_str());
  if (report->lut_tensors > 0) {
    std::printf(
        "note: %d LUT-compressed constants: TFLM must be built with USE_TFLM_COMPRESSION; their "
        "decoded copies (up to %s bytes at once) are in the activations above\n",
        report->lut_tensors, WithCommas(report->lut_scratch_bytes).c_str());
  }
  if (lut) {
    const size_t more_ram = report->activation_bytes > activations_before
                                ? report->activation_bytes - activations_before
                                : 0;
    std::printf(
        "LUT trade: %s bytes less flash, %s bytes more arena RAM%s\n",
        WithCommas((*file)->size() - size).c_str(), WithCommas(more_ram).c_str(),
        more_ram > 0 ? " (--lut-max-scratch N keeps tensors over N bytes as they are)" : "");
  }
  if (report->subgraphs > 1) {
    std::printf("note: %d subgraphs; the activations of each are planned apart and added up\n",
                report->subgraphs);
  }
  std::fflush(stdout);  // the summary before the problems, also when both go to one pipe
  for (const std::string& p : report->problems) {
    std::fprintf(stderr, "edgeopt %s: %s: %s\n", kCommand, force ? "warning" : "error", p.c_str());
  }
  if (!report->problems.empty() && !force) {
    std::fprintf(stderr,
                 "edgeopt %s: error: %s: TFLM cannot run this model (%zu problem%s above); "
                 "nothing written (--force writes it anyway)\n",
                 kCommand, model.c_str(), report->problems.size(),
                 report->problems.size() == 1 ? "" : "s");
    return kExitFailure;
  }
  if (report->problems.empty()) {
    std::printf("TFLM: every operator has a kernel and every tensor a type TFLM runs\n");
  }

  tflm::CSourceOptions options;
  options.name = name;
  options.header = BaseName(header);
  options.source_file = BaseName(model);
  const std::string header_text = tflm::CArrayHeader(size, *report, options);
  const std::string source_text = tflm::CArraySource(data, size, options);
  Status st = WriteFileAtomic(header, header_text.data(), header_text.size());
  if (!st.ok()) return ReportError(kCommand, st);
  st = WriteFileAtomic(output, source_text.data(), source_text.size());
  if (!st.ok()) {
    std::remove(header.c_str());
    return ReportError(kCommand, st);
  }
  std::printf("wrote %s (%s bytes) and %s\n", output.c_str(),
              WithCommas(source_text.size()).c_str(), header.c_str());
  if (!lut_tflite.empty()) {
    st = WriteFileAtomic(lut_tflite, data, size);
    if (!st.ok()) return ReportError(kCommand, st);
    std::printf("wrote %s\n", lut_tflite.c_str());
  }
  std::printf(
      "export_c: model_bytes=%zu ops=%zu activation_bytes=%zu persistent_estimate=%zu "
      "arena_size=%zu problems=%zu lut_tensors=%d\n",
      size, report->ops.size(), report->activation_bytes, report->persistent_estimate,
      report->arena_hint, report->problems.size(), report->lut_tensors);
  return kExitOk;
}

}  // namespace cli
}  // namespace edgeopt
