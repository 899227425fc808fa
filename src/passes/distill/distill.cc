#include "src/passes/distill/distill.h"

#include <algorithm>
#include <cmath>
#include <cstring>

#include "src/export/tflite/export.h"
#include "src/importers/keras/keras_model.h"
#include "src/importers/tflite/import.h"
#include "src/passes/model_loader.h"
#include "src/passes/pipeline.h"
#include "src/train/trainer.h"
#include "src/util/file_util.h"

namespace edgeopt {
namespace distill {
namespace {

constexpr int kTeacherBatch = 256;

// The model without a final SOFTMAX or LOGISTIC (a binary classifier): its output becomes their
// input (the logits).
void DropFinalActivation(ir::Graph* g) {
  if (g->outputs.size() != 1) return;
  int p = train::FinalActivationNode(*g, g->outputs[0], "SOFTMAX");
  if (p < 0) p = train::FinalActivationNode(*g, g->outputs[0], "LOGISTIC");
  if (p < 0) return;
  g->outputs[0] = g->nodes[p].inputs[0];
  g->nodes.erase(g->nodes.begin() + p);
  g->RemoveUnusedTensors();
}

}  // namespace

StatusOr<std::unique_ptr<Teacher>> Teacher::Load(const std::string& path, int threads) {
  std::unique_ptr<Teacher> t(new Teacher());
  t->path_ = path;
  EDGEOPT_ENSURE(FileExists(path), StatusCode::kNotFound, "%s: no such file", path.c_str());
  const std::string ext = FileExtension(path);
  if (ext == ".keras" || ext == ".h5" || ext == ".hdf5") {
    EDGEOPT_ASSIGN_OR_RETURN(keras::KerasModel model, keras::LoadKerasFile(path));
    t->keras_config_ = model.config;
    auto graph = keras::BuildGraph(model);
    if (!graph.ok()) return graph.status().WithPrefix(path);
    t->export_graph_ = *graph;
    Status s = passes::PrepareForExport(&t->export_graph_);
    if (!s.ok()) return s.WithPrefix(path);
    EDGEOPT_ASSIGN_OR_RETURN(t->tflite_, ExportTflite(t->export_graph_));
    train::EngineOptions eo;
    eo.batch_size = kTeacherBatch;
    eo.num_threads = threads;
    auto engine = train::Engine::Create(*graph, eo);
    if (!engine.ok()) return engine.status().WithPrefix(path);
    t->engine_ = std::move(engine).value();
    t->input_size_ = t->engine_->input_sample_size();
    t->num_logits_ = t->engine_->output_sample_size();
    return t;
  }
  EDGEOPT_ENSURE(ext == ".tflite", StatusCode::kInvalidArgument,
                 "%s: unknown teacher type '%s' (expected .keras, .h5 or a float .tflite)",
                 path.c_str(), ext.c_str());
  EDGEOPT_ASSIGN_OR_RETURN(t->export_graph_, ImportTfliteFile(path));
  EDGEOPT_ENSURE(!passes::IsQuantizedGraph(t->export_graph_), StatusCode::kInvalidArgument,
                 "%s is quantized; a teacher must be a float model", path.c_str());
  EDGEOPT_ENSURE(t->export_graph_.inputs.size() == 1 && t->export_graph_.outputs.size() == 1,
                 StatusCode::kUnsupported, "%s: a teacher needs one input and one output",
                 path.c_str());
  EDGEOPT_ASSIGN_OR_RETURN(t->tflite_, ReadFileBytes(path));
  ir::Graph logits = t->export_graph_;
  DropFinalActivation(&logits);
  auto bytes = ExportTflite(logits);
  if (!bytes.ok()) return bytes.status().WithPrefix(path);
  t->logits_tflite_ = std::move(bytes).value();
  rt::InterpreterOptions io;
  io.num_threads = threads;
  auto interp = rt::Interpreter::Create(t->logits_tflite_.data(), t->logits_tflite_.size(), io);
  if (!interp.ok()) return interp.status().WithPrefix(path);
  t->interpreter_ = std::move(interp).value();
  const rt::Tensor* in = t->interpreter_->input_tensor(0);
  const rt::Tensor* out = t->interpreter_->output_tensor(0);
  EDGEOPT_ENSURE(in->type == DType::kFloat32 && out->type == DType::kFloat32 && in->dims.size >= 1,
                 StatusCode::kUnsupported, "%s: a teacher needs float input and output",
                 path.c_str());
  EDGEOPT_ENSURE(in->dims[0] == 1, StatusCode::kUnsupported,
                 "%s: the teacher's input has batch %d; give a model with batch 1", path.c_str(),
                 in->dims[0]);
  t->input_size_ = in->dims.NumElements();
  t->num_logits_ = out->dims.NumElements();
  return t;
}

Status Teacher::Logits(const float* x, int64_t n, float* out) {
  if (engine_ != nullptr) {
    return train::PredictOutputs(engine_.get(), x, n, kTeacherBatch, /*logits=*/true, out);
  }
  rt::Tensor* in = interpreter_->input_tensor(0);
  const rt::Tensor* o = interpreter_->output_tensor(0);
  for (int64_t i = 0; i < n; ++i) {
    std::memcpy(in->data, x + i * input_size_, sizeof(float) * input_size_);
    interpreter_->ResetVariables();  // independent samples: recurrent state from zero
    EDGEOPT_RETURN_IF_ERROR(interpreter_->Invoke());
    std::memcpy(out + i * num_logits_, o->data, sizeof(float) * num_logits_);
  }
  return Status::Ok();
}

uint64_t HashSample(const float* x, int64_t n) {
  uint64_t h = 1469598103934665603ull;
  const uint8_t* p = reinterpret_cast<const uint8_t*>(x);
  const size_t bytes = static_cast<size_t>(n) * sizeof(float);
  for (size_t i = 0; i < bytes; ++i) {
    h ^= p[i];
    h *= 1099511628211ull;
  }
  return h;
}

Status TeacherCache::Build(Teacher* teacher, const data::Dataset& ds,
                           const std::function<void(int64_t, int64_t)>& progress) {
  EDGEOPT_ENSURE(ds.sample_size() == teacher->input_size(), StatusCode::kInvalidArgument,
                 "%s: samples have %lld values, the teacher's input %lld", ds.name.c_str(),
                 static_cast<long long>(ds.sample_size()),
                 static_cast<long long>(teacher->input_size()));
  teacher_ = teacher;
  data_ = &ds;
  const int64_t k = teacher->num_logits();
  const int64_t ss = ds.sample_size();
  logits_.assign(static_cast<size_t>(ds.size * k), 0.0f);
  constexpr int64_t kChunk = 2048;
  for (int64_t start = 0; start < ds.size; start += kChunk) {
    const int64_t m = std::min(kChunk, ds.size - start);
    EDGEOPT_RETURN_IF_ERROR(
        teacher->Logits(ds.x.data() + start * ss, m, logits_.data() + start * k));
    if (progress) progress(start + m, ds.size);
  }
  index_.clear();
  index_.reserve(static_cast<size_t>(ds.size));
  for (int64_t i = 0; i < ds.size; ++i) index_.emplace(HashSample(ds.sample(i), ss), i);
  return Status::Ok();
}

Status TeacherCache::Lookup(const float* x, int batch, float* logits) {
  EDGEOPT_ENSURE(teacher_ != nullptr, StatusCode::kInternal, "the teacher cache is not built");
  const int64_t k = teacher_->num_logits();
  const int64_t ss = data_->sample_size();
  miss_rows_.clear();
  for (int b = 0; b < batch; ++b) {
    const float* xb = x + b * ss;
    int64_t found = -1;
    auto range = index_.equal_range(HashSample(xb, ss));
    for (auto it = range.first; it != range.second; ++it) {
      if (std::memcmp(data_->sample(it->second), xb, sizeof(float) * ss) == 0) {
        found = it->second;
        break;
      }
    }
    if (found >= 0) {
      std::memcpy(logits + b * k, logits_.data() + found * k, sizeof(float) * k);
      ++hits_;
    } else {
      miss_rows_.push_back(b);
    }
  }
  if (miss_rows_.empty()) return Status::Ok();
  misses_ += static_cast<int64_t>(miss_rows_.size());
  miss_x_.resize(miss_rows_.size() * ss);
  miss_logits_.resize(miss_rows_.size() * k);
  for (size_t i = 0; i < miss_rows_.size(); ++i) {
    std::memcpy(miss_x_.data() + i * ss, x + miss_rows_[i] * ss, sizeof(float) * ss);
  }
  EDGEOPT_RETURN_IF_ERROR(teacher_->Logits(miss_x_.data(), static_cast<int64_t>(miss_rows_.size()),
                                           miss_logits_.data()));
  for (size_t i = 0; i < miss_rows_.size(); ++i) {
    std::memcpy(logits + miss_rows_[i] * k, miss_logits_.data() + i * k, sizeof(float) * k);
  }
  return Status::Ok();
}

namespace {

bool IsModelConfig(const nlohmann::json& layer) {
  if (!layer.is_object() || !layer.contains("config") || !layer["config"].is_object()) {
    return false;
  }
  return layer["config"].contains("layers") && layer["config"]["layers"].is_array();
}

// Layer configs with filters / units, in order (nested models included).
void CollectScalable(nlohmann::json* model, std::vector<nlohmann::json*>* out) {
  for (nlohmann::json& layer : (*model)["config"]["layers"]) {
    if (IsModelConfig(layer)) {
      CollectScalable(&layer, out);
      continue;
    }
    if (!layer.is_object() || !layer.contains("config") || !layer["config"].is_object()) continue;
    nlohmann::json& c = layer["config"];
    if ((c.contains("filters") && c["filters"].is_number_integer()) ||
        (c.contains("units") && c["units"].is_number_integer())) {
      out->push_back(&layer);
    }
  }
}

}  // namespace

StatusOr<nlohmann::json> ScaleKerasWidth(const nlohmann::json& config, double width) {
  EDGEOPT_ENSURE(width > 0.0 && width <= 16.0 && std::isfinite(width), StatusCode::kInvalidArgument,
                 "width %g must be in (0, 16]", width);
  nlohmann::json scaled = config;
  // A Keras to_json() / config.json wrapper or the model config itself.
  nlohmann::json* model = &scaled;
  if (!IsModelConfig(*model) && model->contains("model_config")) model = &(*model)["model_config"];
  EDGEOPT_ENSURE(IsModelConfig(*model), StatusCode::kInvalidArgument,
                 "the teacher's Keras config has no layer list");
  std::vector<nlohmann::json*> layers;
  CollectScalable(model, &layers);
  EDGEOPT_ENSURE(layers.size() >= 2, StatusCode::kInvalidArgument,
                 "the teacher has %zu layers with filters or units; scaling the width needs a "
                 "hidden one besides the classifier",
                 layers.size());
  for (size_t i = 0; i + 1 < layers.size(); ++i) {
    nlohmann::json& c = (*layers[i])["config"];
    const char* key =
        c.contains("filters") && c["filters"].is_number_integer() ? "filters" : "units";
    const int64_t before = c[key].get<int64_t>();
    const int64_t after = std::max<int64_t>(1, std::llround(before * width));
    c[key] = after;
  }
  return scaled;
}

int64_t CountWeights(const ir::Graph& graph) {
  int64_t n = 0;
  for (const ir::Tensor& t : graph.tensors) {
    if (t.is_constant &&
        (t.dtype == DType::kFloat32 || t.dtype == DType::kInt8 || t.dtype == DType::kFloat16)) {
      n += t.NumElements();
    }
  }
  return n;
}

}  // namespace distill
}  // namespace edgeopt
