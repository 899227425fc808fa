// DENSIFY: a sparse constant (TFLite's sparsity encoding) expanded to its dense form. TFLite's
// converter puts it in front of ops whose kernels cannot read sparse weights (CONV_2D,
// DEPTHWISE_CONV_2D, ...). The input is constant, so the output is decoded once, in Prepare,
// into persistent memory and becomes a constant for the ops that read it (which may then pick
// their sparse kernels from the zeros, see sparse_matmul.h).
#include "src/runtime/kernels/conv_common.h"
#include "src/runtime/kernels/kernel_util.h"

namespace edgeopt {
namespace rt {
namespace {

Status Prepare(Context* ctx, Node* node) {
  EDGEOPT_RETURN_IF_ERROR(CheckNumInputs(node, 1, 1));
  EDGEOPT_RETURN_IF_ERROR(CheckNumOutputs(node, 1));
  const Tensor* input = ctx->input(node, 0);
  Tensor* output = ctx->output(node, 0);
  EDGEOPT_ENSURE(input != nullptr && input->IsConstant() && input->sparsity != nullptr,
                 StatusCode::kInvalidModel, "the input of DENSIFY must be a sparse constant");
  EDGEOPT_ENSURE(DTypeSize(input->type) > 0, StatusCode::kUnsupported,
                 "DENSIFY of %s is not supported", DTypeName(input->type));
  EDGEOPT_RETURN_IF_ERROR(CheckTensorType(output, input->type, "output"));
  EDGEOPT_RETURN_IF_ERROR(ctx->ResizeTensor(output, input->dims));
  EDGEOPT_RETURN_IF_ERROR(ctx->MakePersistentConstant(output));
  return DecodeSparse(input, "input", output->data);
}

// The output was computed in Prepare.
Status Eval(Context*, Node*) { return Status::Ok(); }

}  // namespace

const Registration* RegisterDensify() {
  static const Registration reg = {"DENSIFY", nullptr, Prepare, Eval};
  return &reg;
}

}  // namespace rt
}  // namespace edgeopt
