// Flatten -> RESHAPE [B, N]; Reshape -> RESHAPE [B, target...] (-1 resolved);
// Permute -> TRANSPOSE [0, dims...]; RepeatVector(n) -> RESHAPE [B, 1, F] + CONCATENATION of n
// copies along axis 1 (ops every TFLite runtime has, and trainable). Shapes are constant int32
// tensors.
#include "src/importers/keras/layers/layer_registry.h"
#include "src/importers/keras/layers/layer_util.h"

namespace edgeopt {
namespace keras {
namespace {

int EmitReshape(LayerCall* call, const Shape& shape) {
  const int shape_const = call->Int32Const("shape", shape);
  const int y = call->NewTensor(shape);
  call->AddNode("RESHAPE", {call->inputs[0], shape_const}, {y});
  return y;
}

int64_t Elements(const Shape& shape, size_t from) {
  int64_t n = 1;
  for (size_t i = from; i < shape.size(); ++i) n *= shape[i];
  return n;
}

}  // namespace

Status ConvertFlatten(LayerCall* call) {
  EDGEOPT_RETURN_IF_ERROR(CheckChannelsLast(*call));
  const Shape in = call->InputShape();
  if (in.size() < 2) return call->Error(StatusCode::kInvalidModel, "input has no batch axis");
  call->outputs = {EmitReshape(call, {in[0], static_cast<int32_t>(Elements(in, 1))})};
  return Status::Ok();
}

Status ConvertRepeatVector(LayerCall* call) {
  EDGEOPT_ASSIGN_OR_RETURN(int64_t n, call->config.Int("n"));
  EDGEOPT_RETURN_IF_ERROR(CheckInputRank(*call, 2));
  const Shape in = call->InputShape();
  if (n <= 0 || n > 4096) return call->Error(StatusCode::kInvalidModel, "n must be in [1, 4096]");
  if (n * in[1] > (int64_t{1} << 30)) {
    return call->Error(StatusCode::kInvalidModel, "output too large");
  }
  const int row = EmitReshape(call, {in[0], 1, in[1]});
  const int y = call->NewTensor(Shape{in[0], static_cast<int32_t>(n), in[1]}, "repeat");
  ir::Attrs attrs;
  attrs["axis"] = int64_t{1};
  attrs["fused_activation_function"] = std::string("NONE");
  call->AddNode("CONCATENATION", std::vector<int>(static_cast<size_t>(n), row), {y}, attrs);
  call->outputs = {y};
  return Status::Ok();
}

Status ConvertReshape(LayerCall* call) {
  EDGEOPT_ASSIGN_OR_RETURN(std::vector<int64_t> target, call->config.IntList("target_shape"));
  const Shape in = call->InputShape();
  const int64_t total = Elements(in, 1);
  int unknown = -1;
  int64_t known = 1;
  for (size_t i = 0; i < target.size(); ++i) {
    if (target[i] == -1) {
      if (unknown >= 0)
        return call->Error(StatusCode::kInvalidModel, "two -1 dims in target_shape");
      unknown = static_cast<int>(i);
    } else if (target[i] <= 0 || target[i] > (int64_t{1} << 31)) {
      return call->Error(StatusCode::kInvalidModel, "target_shape has a non-positive or huge dim");
    } else {
      known *= target[i];
      if (known > (int64_t{1} << 31)) {
        return call->Error(StatusCode::kInvalidModel, "target_shape is too large");
      }
    }
  }
  if (unknown >= 0 && known > 0 && total % known == 0) target[unknown] = total / known;
  int64_t count = 1;
  for (int64_t d : target) {
    if (count > (int64_t{1} << 31)) break;
    count *= d;
  }
  if (count != total) {
    return call->Error(StatusCode::kInvalidModel, "cannot reshape " + ShapeString(in) +
                                                      " to target_shape " + ShapeString(target));
  }
  Shape out = {in[0]};
  for (int64_t d : target) out.push_back(static_cast<int32_t>(d));
  call->outputs = {EmitReshape(call, out)};
  return Status::Ok();
}

Status ConvertPermute(LayerCall* call) {
  EDGEOPT_ASSIGN_OR_RETURN(std::vector<int64_t> dims, call->config.IntList("dims"));
  const Shape in = call->InputShape();
  if (dims.size() + 1 != in.size()) {
    return call->Error(StatusCode::kInvalidModel, "dims has " + std::to_string(dims.size()) +
                                                      " entries for an input of rank " +
                                                      std::to_string(in.size()));
  }
  std::vector<int32_t> perm = {0};
  std::vector<bool> seen(in.size(), false);
  Shape out = {in[0]};
  for (int64_t d : dims) {
    if (d < 1 || d >= static_cast<int64_t>(in.size()) || seen[d]) {
      return call->Error(StatusCode::kInvalidModel, "dims is not a permutation of 1..rank-1");
    }
    seen[d] = true;
    perm.push_back(static_cast<int32_t>(d));
    out.push_back(in[d]);
  }
  const int perm_const = call->Int32Const("perm", perm);
  const int y = call->NewTensor(out);
  call->AddNode("TRANSPOSE", {call->inputs[0], perm_const}, {y});
  call->outputs = {y};
  return Status::Ok();
}

}  // namespace keras
}  // namespace edgeopt
