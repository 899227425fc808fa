// Calibration and per-layer error measurement through the runtime: the float graph is exported
// to .tflite and run by rt::Interpreter with every tensor kept (linear planner), so that the
// statistics come from exactly the kernels that will run the model.
#ifndef EDGEOPT_SRC_PASSES_QUANTIZE_CALIBRATE_H_
#define EDGEOPT_SRC_PASSES_QUANTIZE_CALIBRATE_H_

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "src/ir/graph.h"
#include "src/passes/quantize/calibration.h"
#include "src/passes/quantize/quantize.h"
#include "src/runtime/interpreter.h"

namespace edgeopt {
namespace quantize {

// Writes sample `index` into the interpreter's inputs (float samples are quantized when an
// input is int8/uint8/int16).
using FillInputsFn = std::function<Status(int64_t index, rt::Interpreter* interp)>;
// Called after each sample: (done, total, pass, passes).
using ProgressFn = std::function<void(int64_t done, int64_t total, int pass, int passes)>;

struct CalibrateOptions {
  int64_t samples = 500;
  CalibrationMethod method = CalibrationMethod::kMinMax;
  double percentile = 99.99;
  int num_levels = 256;  // 256 for int8, 65536 for int16
  int threads = 0;
  // When set, also the ranges for 65536 levels from the same statistics (int8 models with layers
  // kept in int16).
  RangeMap* int16_ranges = nullptr;
};

// Ranges of every float activation tensor of `graph` (by tensor id).
StatusOr<RangeMap> Calibrate(const ir::Graph& graph, const FillInputsFn& fill,
                             const CalibrateOptions& options, const ProgressFn& progress = {});

struct LayerError {
  int tensor = -1;    // id in the float graph
  std::string name;   // tensor name
  std::string op;     // producing op
  std::string layer;  // producing node's name (Keras layer)
  std::string dtype;  // dtype in the quantized graph
  float scale = 0.0f;
  int32_t zero_point = 0;
  double rmse = 0.0;
  double max_abs_error = 0.0;
  double rmse_over_scale = 0.0;  // ~0.29 for pure rounding noise
  double cosine = 1.0;
  double float_abs_max = 0.0;
};

// Runs both graphs on `samples` inputs and compares every activation the quantized graph keeps
// in integers (dequantized) with the float graph's. Sorted worst-first (by RMSE relative to the
// tensor's float range).
StatusOr<std::vector<LayerError>> CompareLayers(const ir::Graph& float_graph,
                                                const ir::Graph& quantized_graph,
                                                const std::vector<int>& float_to_quantized,
                                                const FillInputsFn& fill_float,
                                                const FillInputsFn& fill_quantized,
                                                int64_t samples);

// The Markdown report: a header (mode, method, sizes, accuracy lines given by the caller) and
// the per-layer table.
std::string LayerReportMarkdown(const std::vector<LayerError>& errors,
                                const std::vector<std::string>& header_lines);

}  // namespace quantize
}  // namespace edgeopt

#endif  // EDGEOPT_SRC_PASSES_QUANTIZE_CALIBRATE_H_
