// Keras's integer preprocessing layers, as Keras 3 computes them:
//  - Discretization(bin_boundaries): the bucket of each value, the number of boundaries at or
//    below it (numpy's digitize): GREATER_EQUAL of x as [..., 1] with the boundaries, a CAST, a
//    SUM over them, a CAST to int64; output_mode one_hot / multi_hot / count encodes the buckets
//    as CategoryEncoding does (len(bin_boundaries) + 1 tokens).
//  - CategoryEncoding(num_tokens, output_mode): one_hot (a rank-1 input or a last axis of 1:
//    [..., num_tokens]; else a new last axis), multi_hot (REDUCE_MAX of the one-hots over axis 1
//    of a [batch, k] input), count (their SUM). Inputs are cast to int toward zero; tokens outside
//    [0, num_tokens) count nowhere.
// Indices carry no gradient; the layers have no weights.
#include "src/importers/keras/layers/layer_registry.h"
#include "src/importers/keras/layers/layer_util.h"

namespace edgeopt {
namespace keras {
namespace {

// CategoryEncoding's output of integer tokens `idx` [...]: float32.
StatusOr<int> Encode(LayerCall* call, int idx, int64_t tokens, const std::string& mode) {
  const Shape in = call->builder->ShapeOf(idx);
  if (tokens < 1 || tokens > 65536) {
    return call->Error(StatusCode::kInvalidModel, "needs 1 to 65536 tokens");
  }
  EDGEOPT_ASSIGN_OR_RETURN(const int hot, EmitOneHot(call, idx, tokens));
  if (mode == "one_hot") {
    if (in.size() >= 2 && in.back() == 1) {  // [..., 1] -> [..., tokens]
      Shape out(in.begin(), in.end() - 1);
      out.push_back(static_cast<int32_t>(tokens));
      return EmitReshape(call, hot, out, "one_hot_out");
    }
    return hot;
  }
  if (mode != "multi_hot" && mode != "count") {
    return call->Error(StatusCode::kUnsupported, "has output_mode '" + mode +
                                                     "' (edgeopt takes one_hot, multi_hot, count "
                                                     "and, for Discretization, int)");
  }
  if (in.size() != 2) {
    return call->Error(StatusCode::kUnsupported, mode + " of a rank-" + std::to_string(in.size()) +
                                                     " input: edgeopt takes [batch, tokens]");
  }
  const int y = call->NewTensor(Shape{in[0], static_cast<int32_t>(tokens)}, mode);
  call->AddNode(mode == "count" ? "SUM" : "REDUCE_MAX", {hot, call->Int32Const("axes", {1})}, {y},
                {{"keep_dims", false}});
  return y;
}

Status RefuseSparse(LayerCall* call) {
  EDGEOPT_ASSIGN_OR_RETURN(const bool sparse, call->config.BoolOr("sparse", false));
  if (sparse)
    return call->Error(StatusCode::kUnsupported, "is sparse; edgeopt makes dense tensors");
  return Status::Ok();
}

}  // namespace

Status ConvertCategoryEncoding(LayerCall* call) {
  EDGEOPT_RETURN_IF_ERROR(RefuseSparse(call));
  EDGEOPT_ASSIGN_OR_RETURN(const int64_t tokens, call->config.Int("num_tokens"));
  EDGEOPT_ASSIGN_OR_RETURN(std::string mode, call->config.StringOr("output_mode", "multi_hot"));
  if (mode == "binary") mode = "multi_hot";  // its old name
  const int x = call->inputs[0];
  if (call->builder->graph().tensors[x].dtype == DType::kBool) {
    return call->Error(StatusCode::kUnsupported, "encodes a bool tensor");
  }
  EDGEOPT_ASSIGN_OR_RETURN(const int y, Encode(call, AsIndices(call, x), tokens, mode));
  call->outputs = {y};
  return Status::Ok();
}

Status ConvertDiscretization(LayerCall* call) {
  EDGEOPT_RETURN_IF_ERROR(RefuseSparse(call));
  const Json* bins = call->config.Find("bin_boundaries");
  if (bins == nullptr || !bins->is_array() || bins->empty() || bins->size() > 4096) {
    return call->Error(StatusCode::kUnsupported,
                       "has no bin_boundaries (num_bins before adapt()); edgeopt takes the "
                       "boundaries");
  }
  std::vector<float> bounds;
  for (const Json& b : *bins) {
    if (!b.is_number())
      return call->Error(StatusCode::kInvalidModel, "has a bound that is no number");
    bounds.push_back(b.get<float>());
  }
  for (size_t i = 1; i < bounds.size(); ++i) {
    if (!(bounds[i - 1] <= bounds[i])) {
      return call->Error(StatusCode::kInvalidModel, "has bin_boundaries out of order");
    }
  }
  EDGEOPT_ASSIGN_OR_RETURN(const std::string mode, call->config.StringOr("output_mode", "int"));
  const int x = call->inputs[0];
  const Shape in = call->builder->ShapeOf(x);
  if (call->builder->graph().tensors[x].dtype != DType::kFloat32 || in.size() + 1 > 4) {
    return call->Error(StatusCode::kUnsupported,
                       "needs a float32 input of rank 3 at most (TFLite compares up to 4 "
                       "dimensions)");
  }
  Shape col = in, all = in;
  col.push_back(1);
  all.push_back(static_cast<int32_t>(bounds.size()));
  const int above = NewBoolTensor(call, all, "at_or_above");
  call->AddNode(
      "GREATER_EQUAL",
      {EmitReshape(call, x, col, "column"),
       call->FloatConst("bin_boundaries", Shape{static_cast<int32_t>(bounds.size())}, bounds)},
      {above});
  const int ones = call->NewTensor(all, "cast");
  call->AddNode("CAST", {above}, {ones});
  const int count = call->NewTensor(in, "bucket_sum");
  call->AddNode("SUM", {ones, call->Int32Const("axes", {static_cast<int32_t>(in.size())})}, {count},
                {{"keep_dims", false}});
  const int bucket = NewTensorOf(call, in, DType::kInt64, "bucket");
  call->AddNode("CAST", {count}, {bucket});
  if (mode == "int") {
    call->outputs = {bucket};
    return Status::Ok();
  }
  EDGEOPT_ASSIGN_OR_RETURN(const int y,
                           Encode(call, bucket, static_cast<int64_t>(bounds.size()) + 1, mode));
  call->outputs = {y};
  return Status::Ok();
}

}  // namespace keras
}  // namespace edgeopt
