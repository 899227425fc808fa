// EinsumDense: einsum(equation, x, kernel) (+ bias over bias_axes), then the activation.
//
// Taken: "<input>,<kernel>-><output>", each index once per term, the input's leading "..."
// (Keras's "...b,bc->...c") standing for its unnamed leading dims and kept in the output; the
// input's first index (the batch) first in the output; every kernel index either contracted
// (in the input, not in the output) or the kernel's own (in the output, not in the input).
//
//   x -> TRANSPOSE to [kept..., contracted...] (when not already) -> FULLY_CONNECTED
//   (keep_num_dims) of the K contracted values into the N own ones -> RESHAPE [kept..., own...]
//   -> TRANSPOSE to the output's order (when not already)
//
// The FULLY_CONNECTED weights [N, K] are the kernel's values ordered [own..., contracted...]:
// the Keras kernel as it is, transposed, when it lists the contracted indices (in the input's
// order) before its own (in the output's order), which is how Keras's EinsumDense equations
// are written ("abc,cd->abd", "abc,cde->abde", "abcd,cde->abe"); other kernel orders are
// refused, so that the trained weights go back to Keras's shape by a transpose (UpdateFromGraph).
// The bias is the FULLY_CONNECTED's when bias_axes are the kernel's own indices in order, else
// an ADD broadcast over the output.
#include <algorithm>
#include <cctype>
#include <string>

#include "src/importers/keras/layers/layer_registry.h"
#include "src/importers/keras/layers/layer_util.h"

namespace edgeopt {
namespace keras {
namespace {

struct Equation {
  std::string in, kernel, out;  // "..." replaced by generated capital letters
};

StatusOr<Equation> ParseEquation(LayerCall* call, int in_rank) {
  EDGEOPT_ASSIGN_OR_RETURN(std::string eq, call->config.StringOr("equation", ""));
  eq.erase(std::remove(eq.begin(), eq.end(), ' '), eq.end());
  const size_t comma = eq.find(',');
  const size_t arrow = eq.find("->");
  if (comma == std::string::npos || arrow == std::string::npos || arrow < comma) {
    return call->Error(StatusCode::kInvalidModel,
                       "equation '" + eq + "' is not '<input>,<kernel>-><output>'");
  }
  Equation e{eq.substr(0, comma), eq.substr(comma + 1, arrow - comma - 1), eq.substr(arrow + 2)};
  const bool ellipsis = e.in.rfind("...", 0) == 0;
  if (ellipsis != (e.out.rfind("...", 0) == 0) || e.kernel.find('.') != std::string::npos ||
      e.in.find('.', ellipsis ? 3 : 0) != std::string::npos ||
      e.out.find('.', ellipsis ? 3 : 0) != std::string::npos) {
    return call->Error(StatusCode::kUnsupported,
                       "equation '" + eq +
                           "': edgeopt takes an ellipsis only at the start of the input and of "
                           "the output");
  }
  if (ellipsis) {
    const int named = static_cast<int>(e.in.size()) - 3;
    const int hidden = in_rank - named;
    if (hidden < 1 || hidden > 8) {
      return call->Error(
          StatusCode::kInvalidModel,
          "equation '" + eq + "' does not fit an input of rank " + std::to_string(in_rank));
    }
    std::string lead;
    for (int i = 0; i < hidden; ++i) lead.push_back(static_cast<char>('A' + i));
    e.in = lead + e.in.substr(3);
    e.out = lead + e.out.substr(3);
  }
  for (const std::string* term : {&e.in, &e.kernel, &e.out}) {
    for (size_t i = 0; i < term->size(); ++i) {
      const char c = (*term)[i];
      if (!std::isalpha(static_cast<unsigned char>(c)) ||
          term->find(c, i + 1) != std::string::npos) {
        return call->Error(StatusCode::kUnsupported,
                           "equation '" + eq + "': edgeopt takes letters, each once per term");
      }
    }
  }
  if (static_cast<int>(e.in.size()) != in_rank) {
    return call->Error(StatusCode::kInvalidModel,
                       "equation '" + eq + "' has " + std::to_string(e.in.size()) +
                           " input indices for an input of rank " + std::to_string(in_rank));
  }
  return e;
}

bool Has(const std::string& s, char c) { return s.find(c) != std::string::npos; }

}  // namespace

StatusOr<std::vector<std::string>> EinsumDenseVariables(const LayerConfig& config) {
  const Json* bias = config.Find("bias_axes");
  if (bias != nullptr && bias->is_string() && !bias->get<std::string>().empty()) {
    return std::vector<std::string>{"kernel", "bias"};
  }
  return std::vector<std::string>{"kernel"};
}

Status ConvertEinsumDense(LayerCall* call) {
  const Shape in_shape = call->InputShape();
  const int rank = static_cast<int>(in_shape.size());
  if (call->config.Has("lora_rank")) {
    return call->Error(StatusCode::kUnsupported, "has LoRA weights (lora_rank); merge them first");
  }
  EDGEOPT_ASSIGN_OR_RETURN(const Equation e, ParseEquation(call, rank));
  // Index roles.
  std::string kept, contracted, own;
  for (char c : e.in) (Has(e.out, c) ? kept : contracted).push_back(c);
  for (char c : e.kernel) {
    if (Has(e.in, c) == Has(e.out, c)) {
      return call->Error(StatusCode::kUnsupported,
                         std::string("index '") + c +
                             "' of the kernel is in both or neither of the input and the output; "
                             "edgeopt takes contracted and output-only kernel indices");
    }
    if (!Has(e.in, c)) own.push_back(c);
  }
  for (char c : contracted) {
    if (!Has(e.kernel, c)) {
      return call->Error(StatusCode::kUnsupported,
                         std::string("input index '") + c + "' is summed out alone");
    }
  }
  for (char c : e.out) {
    if (!Has(e.in, c) && !Has(e.kernel, c)) {
      return call->Error(StatusCode::kInvalidModel, std::string("output index '") + c +
                                                        "' is in neither the input nor the kernel");
    }
  }
  if (e.kernel != contracted + own) {
    return call->Error(StatusCode::kUnsupported,
                       "kernel '" + e.kernel + "': edgeopt takes the contracted indices (" +
                           contracted + ") then the kernel's own (" + own + "), in order");
  }
  if (kept.empty() || e.out[0] != e.in[0] || contracted.empty()) {
    return call->Error(StatusCode::kUnsupported,
                       "equation: the batch index must lead the input and the output, and one "
                       "index at least must be contracted");
  }
  // Sizes: kept and contracted from the input; own from output_shape (its dims align with the
  // end of the output).
  const Json* os = call->config.Find("output_shape");
  std::vector<int64_t> out_dims;
  if (os != nullptr) {
    EDGEOPT_ASSIGN_OR_RETURN(out_dims, call->config.IntList("output_shape"));
  }
  auto size_of = [&](char c) -> int64_t {
    const size_t i = e.in.find(c);
    if (i != std::string::npos) return in_shape[i];
    const int64_t at =
        static_cast<int64_t>(e.out.find(c)) - static_cast<int64_t>(e.out.size() - out_dims.size());
    return at >= 0 && at < static_cast<int64_t>(out_dims.size()) ? out_dims[at] : -1;
  };
  int64_t k = 1, n = 1;
  std::vector<int64_t> kernel_shape;
  for (char c : e.kernel) {
    const int64_t s = size_of(c);
    if (s <= 0 || s > (int64_t{1} << 24)) {
      return call->Error(StatusCode::kInvalidModel,
                         std::string("index '") + c + "' has no size (output_shape)");
    }
    kernel_shape.push_back(s);
    (Has(contracted, c) ? k : n) *= s;
  }
  // x -> [kept..., contracted...]
  std::vector<int32_t> perm;
  for (char c : kept + contracted) perm.push_back(static_cast<int32_t>(e.in.find(c)));
  int x = Transposed(call, call->inputs[0], perm);
  Shape flat;
  for (char c : kept) flat.push_back(static_cast<int32_t>(size_of(c)));
  flat.push_back(static_cast<int32_t>(k));
  if (contracted.size() != 1) x = EmitReshape(call, x, flat, "flatten");
  // Bias: the FULLY_CONNECTED's when bias_axes are the kernel's own indices in order.
  std::string bias_axes;
  const Json* b = call->config.Find("bias_axes");
  if (b != nullptr && b->is_string()) bias_axes = b->get<std::string>();
  std::vector<int64_t> bias_shape;
  for (char c : bias_axes) {
    if (!Has(e.out, c)) {
      return call->Error(StatusCode::kInvalidModel,
                         std::string("bias axis '") + c + "' is not an output index");
    }
    bias_shape.push_back(size_of(c));
  }
  const bool fc_bias = !bias_axes.empty() && bias_axes == own;
  int node = -1;
  EDGEOPT_ASSIGN_OR_RETURN(int y, EmitDense(call, x, "kernel", kernel_shape, fc_bias ? "bias" : "",
                                            bias_shape, n, "", &node));
  Shape split(flat.begin(), flat.end() - 1);
  for (char c : own) split.push_back(static_cast<int32_t>(size_of(c)));
  if (own.size() != 1) {
    y = EmitReshape(call, y, split, "split");
    node = -1;  // the activation after the reshape
  }
  // [kept..., own...] -> the output's order.
  const std::string have = kept + own;
  std::vector<int32_t> back;
  for (char c : e.out) back.push_back(static_cast<int32_t>(have.find(c)));
  const int ordered = Transposed(call, y, back, "output");
  if (ordered != y) y = ordered, node = -1;
  if (!bias_axes.empty() && !fc_bias) {
    // Broadcast over the output: the bias's dims at its axes' positions, 1 elsewhere.
    Shape shaped(e.out.size(), 1);
    for (size_t i = 0; i < bias_axes.size(); ++i) {
      shaped[e.out.find(bias_axes[i])] = static_cast<int32_t>(bias_shape[i]);
    }
    // The values keep Keras's order when the bias axes appear in the output's order.
    std::string ordered;
    for (char c : e.out) {
      if (Has(bias_axes, c)) ordered.push_back(c);
    }
    if (ordered != bias_axes) {
      return call->Error(StatusCode::kUnsupported,
                         "bias_axes '" + bias_axes + "' are not in the output's order");
    }
    EDGEOPT_ASSIGN_OR_RETURN(std::vector<float> bias, call->Weight("bias", bias_shape));
    const int bt = call->AddWeightTensor("bias", shaped, std::move(bias));
    const int sum = call->NewTensor(call->builder->ShapeOf(y), "bias_add");
    call->AddNode("ADD", {y, bt}, {sum}, {{"fused_activation_function", std::string("NONE")}});
    y = sum;
    node = -1;
  }
  EDGEOPT_ASSIGN_OR_RETURN(const int out, ApplyConfigActivation(call, y, node));
  call->outputs = {out};
  return Status::Ok();
}

}  // namespace keras
}  // namespace edgeopt
