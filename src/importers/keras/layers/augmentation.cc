// Layers with nothing to compute at inference, and the center crops.
// - Keras's random augmentation layers (RandomFlip, RandomRotation, RandomZoom, ...) change
//   images only when called with training=True; the noise layers (GaussianNoise,
//   GaussianDropout, AlphaDropout) likewise; ActivityRegularization and Identity never do.
//   The official converter leaves nothing of them, and neither does edgeopt: the layer's output
//   is its input. Those that transform the model's input image are handed to training
//   (BuildOptions::input_augmentations), which applies them to its batches as Keras's fit does.
// - CenterCrop -> SLICE of the middle (height, width); RandomCrop, which crops the middle at
//   inference too, when its input is already (height, width) (nothing to do).
#include <algorithm>
#include <cmath>
#include <utility>

#include "src/importers/keras/layers/layer_registry.h"
#include "src/importers/keras/layers/layer_util.h"

namespace edgeopt {
namespace keras {

namespace {

// Whether `tensor` is a model input, or (with `pointwise`) one rescaled per element: MUL / ADD /
// SUB / DIV by constants of at most a channel's worth of values, which geometric transforms
// commute with.
bool IsInputImage(GraphBuilder* b, int tensor, bool pointwise) {
  const ir::Graph& g = b->graph();
  for (int hops = 0; hops < 8; ++hops) {
    if (std::find(g.inputs.begin(), g.inputs.end(), tensor) != g.inputs.end()) return true;
    if (!pointwise) return false;
    const int p = g.Producer(tensor);
    if (p < 0) return false;
    const ir::Node& n = g.nodes[p];
    if ((n.op != "MUL" && n.op != "ADD" && n.op != "SUB" && n.op != "DIV") ||
        n.inputs.size() != 2) {
      return false;
    }
    const ir::Tensor& a = g.tensors[n.inputs[0]];
    const ir::Tensor& c = g.tensors[n.inputs[1]];
    const Shape& shape = b->ShapeOf(tensor);
    const int64_t channels = shape.empty() ? 1 : shape.back();
    if (!c.is_constant || c.NumElements() > channels || a.is_constant) return false;
    tensor = n.inputs[0];
  }
  return false;
}

// A factor: a number f as [-f, f], or a [lower, upper] pair.
StatusOr<std::pair<float, float>> Range(const LayerCall& call, const char* key, bool required) {
  const Json* f = call.config.Find(key);
  if (f == nullptr) {
    if (required) return call.Error(StatusCode::kInvalidModel, std::string("no ") + key);
    return std::make_pair(0.0f, 0.0f);
  }
  // Factors are fractions (of 2 pi, of the size, of the value range): at most 100 in magnitude.
  auto sane = [](const Json& v) { return v.is_number() && std::fabs(v.get<double>()) <= 100.0; };
  if (sane(*f)) {
    const float v = f->get<float>();
    return std::make_pair(-std::fabs(v), std::fabs(v));
  }
  if (f->is_array() && f->size() == 2 && sane((*f)[0]) && sane((*f)[1]) &&
      (*f)[0].get<double>() <= (*f)[1].get<double>()) {
    return std::make_pair((*f)[0].get<float>(), (*f)[1].get<float>());
  }
  return call.Error(
      StatusCode::kInvalidModel,
      std::string(key) + " must be a number or a [lower, upper] pair (of magnitude at most 100)");
}

// fill_mode, fill_value, interpolation of the geometric layers.
Status ReadFill(const LayerCall& call, data::ImageAugmentation* a) {
  EDGEOPT_ASSIGN_OR_RETURN(std::string fill, call.config.StringOr("fill_mode", "reflect"));
  if (fill == "reflect") {
    a->fill = data::ImageAugmentation::Fill::kReflect;
  } else if (fill == "wrap") {
    a->fill = data::ImageAugmentation::Fill::kWrap;
  } else if (fill == "nearest") {
    a->fill = data::ImageAugmentation::Fill::kNearest;
  } else if (fill == "constant") {
    a->fill = data::ImageAugmentation::Fill::kConstant;
  } else {
    return call.Error(StatusCode::kUnsupported, "fill_mode '" + fill + "'");
  }
  EDGEOPT_ASSIGN_OR_RETURN(double value, call.config.FloatOr("fill_value", 0.0));
  if (!(std::fabs(value) < 1e30)) return call.Error(StatusCode::kInvalidModel, "fill_value");
  a->fill_value = static_cast<float>(value);
  EDGEOPT_ASSIGN_OR_RETURN(std::string interpolation,
                           call.config.StringOr("interpolation", "bilinear"));
  if (interpolation != "bilinear" && interpolation != "nearest") {
    return call.Error(StatusCode::kUnsupported, "interpolation '" + interpolation + "'");
  }
  a->bilinear = interpolation == "bilinear";
  return Status::Ok();
}

// value_range (Keras 3; tf.keras's RandomContrast clips to [0, 255]).
Status ReadValueRange(const LayerCall& call, data::ImageAugmentation* a) {
  const Json* r = call.config.Find("value_range");
  if (r == nullptr) return Status::Ok();
  auto finite = [](const Json& v) { return v.is_number() && std::fabs(v.get<double>()) < 1e30; };
  if (!r->is_array() || r->size() != 2 || !finite((*r)[0]) || !finite((*r)[1]) ||
      (*r)[0].get<double>() >= (*r)[1].get<double>()) {
    return call.Error(StatusCode::kInvalidModel, "value_range must be [low, high]");
  }
  a->value_lo = (*r)[0].get<float>();
  a->value_hi = (*r)[1].get<float>();
  return Status::Ok();
}

// The augmentation a layer call applies to the input image in training, or nothing (another
// layer, or not at the input).
Status RecordInputAugmentation(LayerCall* call) {
  std::vector<data::ImageAugmentation>* out = call->builder->input_augmentations();
  const std::string& cls = call->config.class_name();
  using Kind = data::ImageAugmentation::Kind;
  static const std::pair<const char*, Kind> kLayers[] = {
      {"RandomFlip", Kind::kFlip},         {"RandomRotation", Kind::kRotation},
      {"RandomZoom", Kind::kZoom},         {"RandomTranslation", Kind::kTranslation},
      {"RandomContrast", Kind::kContrast}, {"RandomBrightness", Kind::kBrightness},
      {"GaussianNoise", Kind::kNoise}};
  const auto* known = std::find_if(std::begin(kLayers), std::end(kLayers),
                                   [&](const auto& l) { return cls == l.first; });
  if (known == std::end(kLayers)) return Status::Ok();
  data::ImageAugmentation a;
  a.layer = call->name() + " (" + cls + ")";
  a.kind = known->second;
  const bool geometric =
      a.kind != Kind::kContrast && a.kind != Kind::kBrightness && a.kind != Kind::kNoise;
  if (out == nullptr || call->InputRank() != 4 ||
      !IsInputImage(call->builder, call->inputs[0], geometric)) {
    return Status::Ok();
  }
  switch (a.kind) {
    case Kind::kFlip: {
      EDGEOPT_ASSIGN_OR_RETURN(std::string mode,
                               call->config.StringOr("mode", "horizontal_and_vertical"));
      a.horizontal = mode == "horizontal" || mode == "horizontal_and_vertical";
      a.vertical = mode == "vertical" || mode == "horizontal_and_vertical";
      if (!a.horizontal && !a.vertical) {
        return call->Error(StatusCode::kInvalidModel, "mode '" + mode + "'");
      }
      break;
    }
    case Kind::kRotation:
    case Kind::kContrast:
    case Kind::kBrightness: {
      EDGEOPT_ASSIGN_OR_RETURN(auto r, Range(*call, "factor", true));
      // Contrast: a [lower, upper] pair is the factor range [1 - lower, 1 + upper].
      a.lower = a.kind == Kind::kContrast && r.first > 0 ? -r.first : r.first;
      a.upper = r.second;
      if (a.kind == Kind::kRotation) {
        EDGEOPT_RETURN_IF_ERROR(ReadFill(*call, &a));
      } else {
        EDGEOPT_RETURN_IF_ERROR(ReadValueRange(*call, &a));
      }
      break;
    }
    case Kind::kZoom:
    case Kind::kTranslation: {
      EDGEOPT_ASSIGN_OR_RETURN(auto r, Range(*call, "height_factor", true));
      a.lower = r.first;
      a.upper = r.second;
      a.has_width = call->config.Find("width_factor") != nullptr;
      EDGEOPT_ASSIGN_OR_RETURN(auto rw, Range(*call, "width_factor", a.kind == Kind::kTranslation));
      a.width_lower = rw.first;
      a.width_upper = rw.second;
      EDGEOPT_RETURN_IF_ERROR(ReadFill(*call, &a));
      break;
    }
    case Kind::kNoise: {
      EDGEOPT_ASSIGN_OR_RETURN(double stddev, call->config.FloatOr("stddev", 0.0));
      if (!(stddev >= 0.0 && stddev < 1e30)) {
        return call->Error(StatusCode::kInvalidModel, "stddev must be at least 0");
      }
      a.lower = static_cast<float>(stddev);
      break;
    }
  }
  out->push_back(a);
  return Status::Ok();
}

}  // namespace

Status ConvertInferenceIdentity(LayerCall* call) {
  if (call->inputs.size() != 1) {
    return call->Error(StatusCode::kInvalidModel, "expects one input");
  }
  // Settings training cannot apply (a malformed factor, bicubic interpolation) leave the layer
  // out of training, as one away from the input; the model converts all the same.
  (void)RecordInputAugmentation(call);
  call->outputs = {call->inputs[0]};
  return Status::Ok();
}

Status ConvertCenterCrop(LayerCall* call) {
  const bool random = call->config.class_name() == "RandomCrop";
  EDGEOPT_RETURN_IF_ERROR(CheckChannelsLast(*call));
  EDGEOPT_RETURN_IF_ERROR(CheckInputRank(*call, 4));
  EDGEOPT_ASSIGN_OR_RETURN(int64_t height, call->config.Int("height"));
  EDGEOPT_ASSIGN_OR_RETURN(int64_t width, call->config.Int("width"));
  const Shape in = call->InputShape();
  if (height <= 0 || width <= 0) {
    return call->Error(StatusCode::kInvalidModel, "height and width must be positive");
  }
  if (height > in[1] || width > in[2]) {
    // Keras resizes (smart_resize) an input smaller than the crop.
    return call->Error(StatusCode::kUnsupported,
                       "a crop of " + std::to_string(height) + "x" + std::to_string(width) +
                           " is larger than the input " + ShapeString(in) +
                           " (Keras resizes it then); only crops within the input are mapped");
  }
  if (height == in[1] && width == in[2]) return ConvertInferenceIdentity(call);
  if (random) {
    return call->Error(StatusCode::kUnsupported,
                       "RandomCrop to a smaller size (" + std::to_string(height) + "x" +
                           std::to_string(width) + " of " + ShapeString(in) +
                           ") has no mapping yet; CenterCrop does the same at inference");
  }
  // Keras: the crop starts at (input - target) // 2 on each axis.
  const std::vector<int32_t> begin = {0, static_cast<int32_t>((in[1] - height) / 2),
                                      static_cast<int32_t>((in[2] - width) / 2), 0};
  const std::vector<int32_t> size = {static_cast<int32_t>(in[0]), static_cast<int32_t>(height),
                                     static_cast<int32_t>(width), static_cast<int32_t>(in[3])};
  call->outputs = {EmitSlice(call, call->inputs[0], begin, size)};
  return Status::Ok();
}

}  // namespace keras
}  // namespace edgeopt
