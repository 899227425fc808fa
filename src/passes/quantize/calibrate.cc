#include "src/passes/quantize/calibrate.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <map>
#include <memory>

#include "src/export/tflite/export.h"
#include "src/runtime/kernels/reference/lstm.h"

namespace edgeopt {
namespace quantize {
namespace {

struct Session {
  std::vector<uint8_t> bytes;
  std::unique_ptr<rt::Interpreter> interp;
};

StatusOr<Session> MakeSession(const ir::Graph& graph, int threads) {
  Session s;
  TfliteExportOptions eo;
  eo.keep_node_versions = false;
  EDGEOPT_ASSIGN_OR_RETURN(s.bytes, ExportTflite(graph, eo));
  rt::InterpreterOptions options;
  options.num_threads = threads;
  options.linear_planner = true;  // every tensor keeps its values after Invoke
  EDGEOPT_ASSIGN_OR_RETURN(s.interp,
                           rt::Interpreter::Create(s.bytes.data(), s.bytes.size(), options));
  EDGEOPT_ENSURE(s.interp->num_tensors() == static_cast<int>(graph.tensors.size()),
                 StatusCode::kInternal, "exported model has %d tensors, the graph %zu",
                 s.interp->num_tensors(), graph.tensors.size());
  return s;
}

// Float activations the statistics are collected for.
bool Observable(const rt::Tensor& t) {
  return t.type == DType::kFloat32 && t.allocation == rt::Allocation::kArena && t.data != nullptr;
}

// Dequantized values of a runtime tensor (float32 tensors as they are).
bool Dequantize(const rt::Tensor& t, std::vector<float>* out) {
  const int64_t n = t.dims.NumElements();
  out->resize(static_cast<size_t>(n));
  const float s = t.quant.scale;
  const int32_t z = t.quant.zero_point;
  switch (t.type) {
    case DType::kFloat32:
      for (int64_t i = 0; i < n; ++i) (*out)[i] = t.Data<float>()[i];
      return true;
    case DType::kInt8:
      for (int64_t i = 0; i < n; ++i) (*out)[i] = s * (t.Data<int8_t>()[i] - z);
      return true;
    case DType::kUInt8:
      for (int64_t i = 0; i < n; ++i) (*out)[i] = s * (t.Data<uint8_t>()[i] - z);
      return true;
    case DType::kInt16:
      for (int64_t i = 0; i < n; ++i) (*out)[i] = s * (t.Data<int16_t>()[i] - z);
      return true;
    default:
      return false;
  }
}

// The cell state of a float LSTM that the int8 mode makes integer (IntegerLstmCandidate) stays
// inside the kernel; its values, step by step, come from running the LSTM again on its input
// with the runtime's reference step (rt::ref::LstmStepFloat: the same equations, cell clip
// included), one batch row at a time.
class LstmCellProbe {
 public:
  LstmCellProbe(const ir::Graph& g, const ir::Node& node) : input_(node.inputs[0]) {
    const std::vector<int32_t>& in = g.tensors[input_].shape;
    time_major_ = ir::GetBool(node.attrs, "time_major", false);
    clip_ = static_cast<float>(ir::GetFloat(node.attrs, "cell_clip", 0.0));
    batch_ = time_major_ ? in[1] : in[0];
    steps_ = time_major_ ? in[0] : in[1];
    sizes_.n_batch = 1;
    sizes_.n_input = in[2];
    sizes_.n_cell = sizes_.n_output = g.tensors[node.inputs[1]].shape[0];
    for (int q = 0; q < 4; ++q) {
      weights_.input_to_gate[q] = g.tensors[node.inputs[1 + q]].DataAs<float>();
      weights_.recurrent_to_gate[q] = g.tensors[node.inputs[5 + q]].DataAs<float>();
      weights_.gate_bias[q] = g.tensors[node.inputs[12 + q]].DataAs<float>();
    }
  }

  // The cell states of every batch row and step of the last Invoke's input (empty if it does
  // not have the size the graph gave).
  void Compute(rt::Interpreter* interp, std::vector<float>* cells) const {
    cells->clear();
    const rt::Tensor* x = interp->tensor(input_);
    const int64_t units = sizes_.n_cell;
    if (x->type != DType::kFloat32 ||
        x->dims.NumElements() != int64_t{batch_} * steps_ * sizes_.n_input) {
      return;
    }
    cells->reserve(static_cast<size_t>(int64_t{batch_} * steps_ * units));
    std::vector<float> h(units), c(units), out(units), scratch(5 * units);
    rt::ref::FloatLstmScratch sc;
    for (int q = 0; q < 4; ++q) sc.gate[q] = scratch.data() + q * units;
    sc.hidden = scratch.data() + 4 * units;
    for (int b = 0; b < batch_; ++b) {
      std::fill(h.begin(), h.end(), 0.0f);
      std::fill(c.begin(), c.end(), 0.0f);
      for (int t = 0; t < steps_; ++t) {
        const int64_t row = time_major_ ? int64_t{t} * batch_ + b : int64_t{b} * steps_ + t;
        rt::ref::LstmStepFloat(weights_, sizes_, rt::ref::Activation::kTanh, clip_, 0.0f,
                               x->Data<float>() + row * sizes_.n_input, h.data(), c.data(), sc,
                               out.data());
        cells->insert(cells->end(), c.begin(), c.end());
      }
    }
  }

 private:
  int input_;
  bool time_major_ = false;
  float clip_ = 0.0f;  // cell_clip (0: none)
  int batch_ = 0, steps_ = 0;
  rt::ref::LstmSizes sizes_;
  rt::ref::FloatLstmWeights weights_;
};

}  // namespace

StatusOr<RangeMap> Calibrate(const ir::Graph& graph, const FillInputsFn& fill,
                             const CalibrateOptions& options, const ProgressFn& progress) {
  EDGEOPT_ASSIGN_OR_RETURN(Session s, MakeSession(graph, options.threads));
  rt::Interpreter* interp = s.interp.get();
  std::map<int, TensorObserver> observers;
  for (int t = 0; t < interp->num_tensors(); ++t) {
    if (Observable(*interp->tensor(t))) observers[t];
  }
  std::map<int, LstmCellProbe> cell_probes;  // by cell state tensor
  for (const ir::Node& node : graph.nodes) {
    if (IntegerLstmCandidate(graph, node)) {
      cell_probes.emplace(node.inputs[kLstmCellState], LstmCellProbe(graph, node));
      observers[node.inputs[kLstmCellState]];
    }
  }
  std::vector<float> cells;
  const bool histogram = options.method != CalibrationMethod::kMinMax;
  const int passes = histogram ? 2 : 1;
  for (int pass = 0; pass < passes; ++pass) {
    if (pass == 1) {
      for (auto& [t, o] : observers) o.StartHistogram();
    }
    for (int64_t i = 0; i < options.samples; ++i) {
      EDGEOPT_RETURN_IF_ERROR(fill(i, interp));
      interp->ResetVariables();  // independent samples: recurrent state from zero for each
      EDGEOPT_RETURN_IF_ERROR(interp->Invoke());
      for (auto& [t, o] : observers) {
        const rt::Tensor* tensor = interp->tensor(t);
        const float* values = tensor->Data<float>();
        size_t n = static_cast<size_t>(tensor->dims.NumElements());
        auto probe = cell_probes.find(t);
        if (probe != cell_probes.end()) {
          probe->second.Compute(interp, &cells);
          values = cells.data();
          n = cells.size();
        }
        if (n == 0) continue;
        if (pass == 0) {
          o.ObserveMinMax(values, n);
        } else {
          o.ObserveHistogram(values, n);
        }
      }
      if (progress) progress(i + 1, options.samples, pass, passes);
    }
  }
  RangeMap ranges;
  for (const auto& [t, o] : observers) {
    if (!o.seen()) continue;
    ranges[t] = o.ComputeRange(options.method, options.num_levels, options.percentile);
    if (options.int16_ranges != nullptr) {
      (*options.int16_ranges)[t] = o.ComputeRange(options.method, 65536, options.percentile);
    }
  }
  return ranges;
}

StatusOr<std::vector<LayerError>> CompareLayers(const ir::Graph& float_graph,
                                                const ir::Graph& quantized_graph,
                                                const std::vector<int>& float_to_quantized,
                                                const FillInputsFn& fill_float,
                                                const FillInputsFn& fill_quantized,
                                                int64_t samples) {
  EDGEOPT_ASSIGN_OR_RETURN(Session fs, MakeSession(float_graph, 1));
  EDGEOPT_ASSIGN_OR_RETURN(Session qs, MakeSession(quantized_graph, 1));
  struct Acc {
    double sq = 0, max = 0, dot = 0, ff = 0, qq = 0, abs_max = 0;
    int64_t n = 0;
  };
  std::map<int, Acc> acc;
  for (int t = 0; t < static_cast<int>(float_graph.tensors.size()) &&
                  t < static_cast<int>(float_to_quantized.size());
       ++t) {
    const int q = float_to_quantized[t];
    if (q < 0 || !Observable(*fs.interp->tensor(t))) continue;
    const rt::Tensor* qt = qs.interp->tensor(q);
    if (qt->type == DType::kFloat32 || !qt->quant.IsQuantized() || qt->data == nullptr) continue;
    if (qt->dims.NumElements() != fs.interp->tensor(t)->dims.NumElements()) continue;
    acc[t];
  }
  std::vector<float> fv, qv;
  for (int64_t i = 0; i < samples; ++i) {
    EDGEOPT_RETURN_IF_ERROR(fill_float(i, fs.interp.get()));
    fs.interp->ResetVariables();  // independent samples, as in Calibrate
    EDGEOPT_RETURN_IF_ERROR(fs.interp->Invoke());
    EDGEOPT_RETURN_IF_ERROR(fill_quantized(i, qs.interp.get()));
    qs.interp->ResetVariables();
    EDGEOPT_RETURN_IF_ERROR(qs.interp->Invoke());
    for (auto& [t, a] : acc) {
      Dequantize(*fs.interp->tensor(t), &fv);
      Dequantize(*qs.interp->tensor(float_to_quantized[t]), &qv);
      for (size_t k = 0; k < fv.size(); ++k) {
        // An attention mask's -1e9 (IsMaskNode): the int8 file saturates it by design.
        if (fv[k] <= -1e8f) continue;
        const double e = static_cast<double>(qv[k]) - fv[k];
        ++a.n;
        a.sq += e * e;
        a.max = std::max(a.max, std::abs(e));
        a.dot += static_cast<double>(qv[k]) * fv[k];
        a.ff += static_cast<double>(fv[k]) * fv[k];
        a.qq += static_cast<double>(qv[k]) * qv[k];
        a.abs_max = std::max(a.abs_max, std::abs(static_cast<double>(fv[k])));
      }
    }
  }
  std::vector<LayerError> errors;
  for (const auto& [t, a] : acc) {
    if (a.n == 0) continue;
    LayerError e;
    e.tensor = t;
    e.name = float_graph.tensors[t].name;
    const int producer = float_graph.Producer(t);
    if (producer >= 0) {
      e.op = float_graph.nodes[producer].op;
      e.layer = float_graph.nodes[producer].name;
    } else {
      e.op = "input";
    }
    const rt::Tensor* qt = qs.interp->tensor(float_to_quantized[t]);
    e.dtype = DTypeName(qt->type);
    e.scale = qt->quant.scale;
    e.zero_point = qt->quant.zero_point;
    e.rmse = std::sqrt(a.sq / a.n);
    e.max_abs_error = a.max;
    e.rmse_over_scale = e.scale > 0 ? e.rmse / e.scale : 0.0;
    e.cosine = (a.ff > 0 && a.qq > 0) ? a.dot / std::sqrt(a.ff * a.qq) : (a.ff == a.qq ? 1.0 : 0.0);
    e.float_abs_max = a.abs_max;
    errors.push_back(e);
  }
  std::sort(errors.begin(), errors.end(), [](const LayerError& a, const LayerError& b) {
    const double ra = a.float_abs_max > 0 ? a.rmse / a.float_abs_max : a.rmse;
    const double rb = b.float_abs_max > 0 ? b.rmse / b.float_abs_max : b.rmse;
    return ra > rb;
  });
  return errors;
}

std::string LayerReportMarkdown(const std::vector<LayerError>& errors,
                                const std::vector<std::string>& header_lines) {
  std::string md = "# edgeopt quantization report\n\n";
  for (const std::string& line : header_lines) md += line + "\n";
  md +=
      "\nPer-layer error of the quantized model against the float model (dequantized "
      "activations, same inputs), worst first. `RMSE/scale` is the error in quantization "
      "steps: about 0.29 is pure rounding noise; much more means clipping or accumulated "
      "error. `rel. RMSE` is RMSE over the largest float value of the tensor.\n\n";
  md +=
      "| # | tensor | op | layer | dtype | scale | zero point | RMSE | max error | RMSE/scale "
      "| rel. RMSE | cosine |\n";
  md += "|---|---|---|---|---|---|---|---|---|---|---|---|\n";
  char row[1024];
  int rank = 0;
  for (const LayerError& e : errors) {
    std::snprintf(row, sizeof(row),
                  "| %d | `%s` | %s | %s | %s | %.6g | %d | %.4g | %.4g | %.3f | %.4f | %.6f |\n",
                  ++rank, e.name.c_str(), e.op.c_str(), e.layer.empty() ? "-" : e.layer.c_str(),
                  e.dtype.c_str(), e.scale, e.zero_point, e.rmse, e.max_abs_error,
                  e.rmse_over_scale, e.float_abs_max > 0 ? e.rmse / e.float_abs_max : 0.0,
                  e.cosine);
    md += row;
  }
  return md;
}

}  // namespace quantize
}  // namespace edgeopt
