// ZeroPadding1D/2D -> PAD (paddings [rank, 2]); Cropping1D/2D -> SLICE.
#include "src/importers/keras/layers/layer_registry.h"
#include "src/importers/keras/layers/layer_util.h"

namespace edgeopt {
namespace keras {
namespace {

// Padding or cropping amounts per spatial axis as (before, after): an int, a
// pair of symmetric amounts, or a pair of pairs.
StatusOr<std::vector<std::pair<int64_t, int64_t>>> Amounts(const LayerCall& call, const char* key,
                                                           size_t n, int64_t fallback) {
  std::vector<std::pair<int64_t, int64_t>> out(n, {fallback, fallback});
  const Json* v = call.config.Find(key);
  if (v == nullptr) return out;
  auto bad = [&]() {
    return call.Error(StatusCode::kInvalidModel,
                      std::string("'") + key + "' must be an int, a list of ints or of pairs");
  };
  auto as_int = [](const Json& j, int64_t* x) {
    if (!j.is_number_integer()) return false;
    *x = j.get<int64_t>();
    return *x >= 0 && *x < (1 << 24);
  };
  int64_t x;
  if (as_int(*v, &x)) return std::vector<std::pair<int64_t, int64_t>>(n, {x, x});
  if (!v->is_array()) return bad();
  if (n == 1 && v->size() == 2 && as_int((*v)[0], &x)) {
    int64_t y;
    if (!as_int((*v)[1], &y)) return bad();
    return std::vector<std::pair<int64_t, int64_t>>{{x, y}};
  }
  if (v->size() != n) return bad();
  for (size_t i = 0; i < n; ++i) {
    const Json& e = (*v)[i];
    if (as_int(e, &x)) {
      out[i] = {x, x};
    } else if (e.is_array() && e.size() == 2) {
      int64_t a, b;
      if (!as_int(e[0], &a) || !as_int(e[1], &b)) return bad();
      out[i] = {a, b};
    } else {
      return bad();
    }
  }
  return out;
}

}  // namespace

Status ConvertZeroPadding(LayerCall* call) {
  const bool is1d = call->config.class_name() == "ZeroPadding1D";
  const size_t n = is1d ? 1 : 2;
  EDGEOPT_RETURN_IF_ERROR(CheckChannelsLast(*call));
  EDGEOPT_RETURN_IF_ERROR(CheckInputRank(*call, static_cast<int>(n) + 2));
  EDGEOPT_ASSIGN_OR_RETURN(auto pads, Amounts(*call, "padding", n, 1));
  const Shape in = call->InputShape();
  std::vector<int32_t> paddings = {0, 0};
  Shape out = {in[0]};
  for (size_t i = 0; i < n; ++i) {
    paddings.push_back(static_cast<int32_t>(pads[i].first));
    paddings.push_back(static_cast<int32_t>(pads[i].second));
    out.push_back(static_cast<int32_t>(in[i + 1] + pads[i].first + pads[i].second));
  }
  paddings.push_back(0);
  paddings.push_back(0);
  out.push_back(in.back());
  const int pad_const =
      call->Int32Const("paddings", Shape{static_cast<int32_t>(in.size()), 2}, paddings);
  const int y = call->NewTensor(out, "pad");
  call->AddNode("PAD", {call->inputs[0], pad_const}, {y});
  call->outputs = {y};
  return Status::Ok();
}

Status ConvertCropping(LayerCall* call) {
  const bool is1d = call->config.class_name() == "Cropping1D";
  const size_t n = is1d ? 1 : 2;
  EDGEOPT_RETURN_IF_ERROR(CheckChannelsLast(*call));
  EDGEOPT_RETURN_IF_ERROR(CheckInputRank(*call, static_cast<int>(n) + 2));
  EDGEOPT_ASSIGN_OR_RETURN(auto crops, Amounts(*call, "cropping", n, is1d ? 1 : 0));
  const Shape in = call->InputShape();
  std::vector<int32_t> begin = {0}, size = {in[0]};
  for (size_t i = 0; i < n; ++i) {
    const int64_t kept = in[i + 1] - crops[i].first - crops[i].second;
    if (kept <= 0) {
      return call->Error(StatusCode::kInvalidModel,
                         "cropping removes the whole input " + ShapeString(in));
    }
    begin.push_back(static_cast<int32_t>(crops[i].first));
    size.push_back(static_cast<int32_t>(kept));
  }
  begin.push_back(0);
  size.push_back(in.back());
  call->outputs = {EmitSlice(call, call->inputs[0], begin, size)};
  return Status::Ok();
}

}  // namespace keras
}  // namespace edgeopt
