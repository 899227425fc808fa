// Embedding -> CAST (the float token ids to int32, truncated as Keras casts them) + GATHER of
// rows of the [input_dim, output_dim] table. Ids outside [0, input_dim) are an error at run
// time (TFLite's GATHER checks every index; so does edgeopt's runtime). Converted, quantized
// (the table to int8, GATHER shares its scale) and run; training stops with an error naming
// the op, as edgeopt's train engine has no gradient for GATHER.
#include "src/importers/keras/graph_builder.h"
#include "src/importers/keras/layers/layer_registry.h"
#include "src/importers/keras/layers/layer_util.h"

namespace edgeopt {
namespace keras {

StatusOr<std::vector<std::string>> EmbeddingVariables(const LayerConfig&) {
  return std::vector<std::string>{"embeddings"};
}

Status ConvertEmbedding(LayerCall* call) {
  const LayerConfig& c = call->config;
  EDGEOPT_ASSIGN_OR_RETURN(int64_t input_dim, c.IntOr("input_dim", -1));
  EDGEOPT_ASSIGN_OR_RETURN(int64_t output_dim, c.IntOr("output_dim", -1));
  if (input_dim < 1 || output_dim < 1) {
    return call->Error(StatusCode::kInvalidModel, "input_dim and output_dim must be >= 1");
  }
  EDGEOPT_ASSIGN_OR_RETURN(bool mask_zero, c.BoolOr("mask_zero", false));
  if (mask_zero) {
    return call->Error(StatusCode::kUnsupported,
                       "mask_zero=True (a mask for the layers after it) is not supported");
  }
  const Shape in = call->InputShape();
  if (in.size() < 2) return call->Error(StatusCode::kUnsupported, "needs [batch, length] ids");
  EDGEOPT_ASSIGN_OR_RETURN(std::vector<float> table,
                           call->Weight("embeddings", {input_dim, output_dim}));
  const int params = call->AddWeightTensor(
      "embeddings", {static_cast<int32_t>(input_dim), static_cast<int32_t>(output_dim)},
      std::move(table));
  const int ids = call->NewTensor(in, "ids");
  call->builder->graph().tensors[ids].dtype = DType::kInt32;
  call->AddNode("CAST", {call->inputs[0]}, {ids});
  Shape out = in;
  out.push_back(static_cast<int32_t>(output_dim));
  const int y = call->NewTensor(out, "embedded");
  ir::Attrs attrs;
  attrs["axis"] = int64_t{0};
  attrs["batch_dims"] = int64_t{0};
  call->AddNode("GATHER", {params, ids}, {y}, attrs);
  call->outputs = {y};
  return Status::Ok();
}

}  // namespace keras
}  // namespace edgeopt
