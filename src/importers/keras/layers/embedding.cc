// Embedding -> EMBEDDING(ids, table [input_dim, output_dim]) in training form (edgeopt train
// learns the table); the export passes lower it to CAST (the float ids to int32, truncated as
// Keras casts them) + GATHER of rows. Ids outside [0, input_dim) are an error at run time
// (TFLite's GATHER checks every index; so does edgeopt's runtime). int8 quantizes the table
// with the GATHER (int8 rows sharing the output's scale). mask_zero=True adds the mask ids != 0
// (masking.cc) for the layers after it.
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
  const Shape in = call->InputShape();
  if (in.size() < 2) return call->Error(StatusCode::kUnsupported, "needs [batch, length] ids");
  EDGEOPT_ASSIGN_OR_RETURN(std::vector<float> table,
                           call->Weight("embeddings", {input_dim, output_dim}));
  const int params = call->AddWeightTensor(
      "embeddings", {static_cast<int32_t>(input_dim), static_cast<int32_t>(output_dim)},
      std::move(table));
  Shape out = in;
  out.push_back(static_cast<int32_t>(output_dim));
  const int y = call->NewTensor(out, "embedded");
  call->AddNode("EMBEDDING", {call->inputs[0], params}, {y});
  call->outputs = {y};
  // mask_zero: Keras's mask is ids != 0, on the ids as given (before the cast to integers).
  if (mask_zero) call->output_masks = {EmitEqualityMask(call, call->inputs[0], 0.0f, false)};
  return Status::Ok();
}

}  // namespace keras
}  // namespace edgeopt
