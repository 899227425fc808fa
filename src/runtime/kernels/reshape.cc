// Shape-only ops: RESHAPE, SQUEEZE, EXPAND_DIMS (copy the bytes, change the
// dims) and SHAPE (its output is known at prepare time and becomes a constant,
// so a following RESHAPE can read it).
#include <cstring>

#include "src/core/element_count.h"
#include "src/runtime/kernels/elem_util.h"

namespace edgeopt {
namespace rt {
namespace {

// --- common --------------------------------------------------------------------------------------

Status PrepareCopy(Context* ctx, Node* node, Tensor** in, Tensor** out) {
  EDGEOPT_RETURN_IF_ERROR(CheckNumOutputs(node, 1));
  EDGEOPT_RETURN_IF_ERROR(GetInputChecked(ctx, node, 0, in));
  EDGEOPT_RETURN_IF_ERROR(GetOutputChecked(ctx, node, 0, out));
  EDGEOPT_RETURN_IF_ERROR(CheckSameType(*in, *out, "input", "output"));
  EDGEOPT_ENSURE(DTypeSize((*in)->type) != 0, StatusCode::kUnsupported, "type %s is not supported",
                 DTypeName((*in)->type));
  return Status::Ok();
}

Status EvalCopy(Context* ctx, Node* node) {
  const Tensor* in = ctx->input(node, 0);
  Tensor* out = ctx->output(node, 0);
  if (in->data != out->data && out->bytes > 0) std::memcpy(out->data, in->data, out->bytes);
  return Status::Ok();
}

// --- RESHAPE -------------------------------------------------------------------------------------

struct ReshapeData {
  bool check_shape_tensor = false;  // the shape input is computed at run time: verify in Eval
};

// Resolves one -1 and checks the element count (TFLite's reshape rules).
Status ResolveNewShape(int64_t* values, int count, int64_t num_input, Dims* dims) {
  int stretch = -1;
  ElementCount product(uint64_t{1} << 40);
  for (int i = 0; i < count; ++i) {
    if (values[i] == -1) {
      EDGEOPT_ENSURE(stretch == -1, StatusCode::kInvalidModel,
                     "new shape has more than one -1 (dimensions %d and %d)", stretch, i);
      stretch = i;
    } else {
      EDGEOPT_ENSURE(values[i] >= 0, StatusCode::kInvalidModel,
                     "new shape dimension %d is %lld; expected >= 0 or -1", i,
                     static_cast<long long>(values[i]));
      // (A check after multiplying let (2^28, 2^36 so far) overflow int64: UBSan.)
      EDGEOPT_ENSURE(product.Add(static_cast<uint64_t>(values[i])), StatusCode::kInvalidModel,
                     "new shape is too large");
    }
  }
  int64_t known = static_cast<int64_t>(product.elements());
  if (stretch >= 0) {
    EDGEOPT_ENSURE(known != 0, StatusCode::kInvalidModel,
                   "cannot infer the -1 dimension of the new shape when the "
                   "others multiply to "
                   "0");
    values[stretch] = num_input / known;
    known *= values[stretch];
  }
  EDGEOPT_ENSURE(known == num_input, StatusCode::kInvalidModel,
                 "cannot reshape %lld elements into a shape of %lld elements",
                 static_cast<long long>(num_input), static_cast<long long>(known));
  return DimsFromValues(values, count, "new shape", dims);
}

Status ReshapePrepare(Context* ctx, Node* node) {
  ReshapeData* data;
  EDGEOPT_RETURN_IF_ERROR(GetOpData(node, &data));
  EDGEOPT_RETURN_IF_ERROR(CheckNumInputs(node, 1, 2));
  Tensor *in, *out;
  EDGEOPT_RETURN_IF_ERROR(PrepareCopy(ctx, node, &in, &out));
  const Tensor* shape = ctx->input(node, 1);
  int64_t values[kMaxDims + 1];
  int count = 0;
  const bool shape_is_vector = shape != nullptr && shape->dims.size == 1 &&
                               (shape->type == DType::kInt32 || shape->type == DType::kInt64);
  if (shape_is_vector && shape->IsConstant()) {
    EDGEOPT_RETURN_IF_ERROR(ReadConstInts(shape, "shape", values, kMaxDims, &count));
  } else if (shape_is_vector) {
    // A shape computed at run time: use the output shape stored in the model
    // and check the computed shape against it in Eval.
    EDGEOPT_ENSURE(shape->dims[0] == out->dims.size && shape->dims[0] <= kMaxDims,
                   StatusCode::kUnsupported,
                   "the shape input (%s) is computed at run time and does not match the "
                   "stored "
                   "output shape %s",
                   shape->name, DimsStr(out->dims).c_str());
    count = out->dims.size;
    for (int i = 0; i < count; ++i) values[i] = out->dims[i];
    data->check_shape_tensor = true;
  } else {
    const auto* options = GetOptions<tflite::ReshapeOptions>(node);
    const auto* new_shape = options != nullptr ? options->new_shape() : nullptr;
    count = new_shape != nullptr ? static_cast<int>(new_shape->size()) : 0;
    EDGEOPT_ENSURE(count <= kMaxDims, StatusCode::kUnsupported,
                   "new shape has rank %d; at most %d is supported", count, kMaxDims);
    for (int i = 0; i < count; ++i) values[i] = new_shape->Get(i);
    if (count == 1 && values[0] == 0) count = 0;  // legacy models write [0] for a scalar
  }
  Dims dims;
  EDGEOPT_RETURN_IF_ERROR(ResolveNewShape(values, count, in->dims.NumElements(), &dims));
  return ctx->ResizeTensor(out, dims);
}

Status ReshapeEval(Context* ctx, Node* node) {
  const ReshapeData* data = static_cast<const ReshapeData*>(node->user_data);
  if (data->check_shape_tensor) {
    const Tensor* in = ctx->input(node, 0);
    const Tensor* shape = ctx->input(node, 1);
    const Tensor* out = ctx->output(node, 0);
    int64_t values[kMaxDims];
    for (int i = 0; i < out->dims.size; ++i) values[i] = IntAt(shape, i);
    Dims dims;
    Status s = ResolveNewShape(values, out->dims.size, in->dims.NumElements(), &dims);
    EDGEOPT_ENSURE(s.ok() && dims == out->dims, StatusCode::kUnsupported,
                   "the run-time shape input does not give the prepared output "
                   "shape %s (dynamic "
                   "shapes are not supported)",
                   DimsStr(out->dims).c_str());
  }
  return EvalCopy(ctx, node);
}

// --- SQUEEZE -------------------------------------------------------------------------------------

Status SqueezePrepare(Context* ctx, Node* node) {
  EDGEOPT_RETURN_IF_ERROR(CheckNumInputs(node, 1, 1));
  Tensor *in, *out;
  EDGEOPT_RETURN_IF_ERROR(PrepareCopy(ctx, node, &in, &out));
  const int rank = in->dims.size;
  bool squeeze[kMaxDims] = {};
  const auto* options = GetOptions<tflite::SqueezeOptions>(node);
  const auto* axes = options != nullptr ? options->squeeze_dims() : nullptr;
  if (axes == nullptr || axes->size() == 0) {
    for (int i = 0; i < rank; ++i) squeeze[i] = in->dims[i] == 1;
  } else {
    for (int32_t axis : *axes) {
      int a;
      EDGEOPT_RETURN_IF_ERROR(NormalizeAxis(axis, rank, "squeeze dimension", &a));
      EDGEOPT_ENSURE(in->dims[a] == 1, StatusCode::kInvalidModel,
                     "cannot squeeze dimension %d of size %d (input shape %s)", a, in->dims[a],
                     DimsStr(in->dims).c_str());
      squeeze[a] = true;
    }
  }
  Dims dims;
  for (int i = 0; i < rank; ++i) {
    if (!squeeze[i]) dims.data[dims.size++] = in->dims[i];
  }
  return ctx->ResizeTensor(out, dims);
}

// --- EXPAND_DIMS ---------------------------------------------------------------------------------

Status ExpandDimsPrepare(Context* ctx, Node* node) {
  EDGEOPT_RETURN_IF_ERROR(CheckNumInputs(node, 2, 2));
  Tensor *in, *out, *axis_t;
  EDGEOPT_RETURN_IF_ERROR(PrepareCopy(ctx, node, &in, &out));
  EDGEOPT_RETURN_IF_ERROR(GetInputChecked(ctx, node, 1, &axis_t));
  int64_t axis_value;
  int count = 0;
  EDGEOPT_RETURN_IF_ERROR(ReadConstInts(axis_t, "axis", &axis_value, 1, &count));
  EDGEOPT_ENSURE(count == 1, StatusCode::kInvalidModel, "axis must have one element, has %d",
                 count);
  const int rank = in->dims.size;
  EDGEOPT_ENSURE(rank < kMaxDims, StatusCode::kUnsupported, "rank %d is too large to expand", rank);
  int axis;
  EDGEOPT_RETURN_IF_ERROR(NormalizeAxis(axis_value, rank + 1, "axis", &axis));
  Dims dims;
  dims.size = rank + 1;
  for (int i = 0, j = 0; i < rank + 1; ++i) dims.data[i] = i == axis ? 1 : in->dims[j++];
  return ctx->ResizeTensor(out, dims);
}

// --- SHAPE ---------------------------------------------------------------------------------------

void WriteShape(const Tensor* in, Tensor* out) {
  for (int i = 0; i < in->dims.size; ++i) {
    if (out->type == DType::kInt64) {
      out->Data<int64_t>()[i] = in->dims[i];
    } else {
      out->Data<int32_t>()[i] = in->dims[i];
    }
  }
}

Status ShapePrepare(Context* ctx, Node* node) {
  EDGEOPT_RETURN_IF_ERROR(CheckNumInputs(node, 1, 1));
  EDGEOPT_RETURN_IF_ERROR(CheckNumOutputs(node, 1));
  Tensor *in, *out;
  EDGEOPT_RETURN_IF_ERROR(GetInputChecked(ctx, node, 0, &in));
  EDGEOPT_RETURN_IF_ERROR(GetOutputChecked(ctx, node, 0, &out));
  const auto* options = GetOptions<tflite::ShapeOptions>(node);
  const DType want = options != nullptr && options->out_type() == tflite::TensorType::INT64
                         ? DType::kInt64
                         : DType::kInt32;
  EDGEOPT_ENSURE(out->type == want, StatusCode::kInvalidModel,
                 "output type %s does not match out_type %s", DTypeName(out->type),
                 DTypeName(want));
  EDGEOPT_RETURN_IF_ERROR(ctx->ResizeTensor(out, MakeDims({in->dims.size})));
  EDGEOPT_RETURN_IF_ERROR(ctx->MakePersistentConstant(out));
  WriteShape(in, out);
  return Status::Ok();
}

Status ShapeEval(Context*, Node*) { return Status::Ok(); }  // the output was filled in Prepare

}  // namespace

const Registration* RegisterReshape() {
  static const Registration reg = {"RESHAPE", InitOpData<ReshapeData>, ReshapePrepare, ReshapeEval};
  return &reg;
}
const Registration* RegisterSqueeze() {
  static const Registration reg = {"SQUEEZE", nullptr, SqueezePrepare, EvalCopy};
  return &reg;
}
const Registration* RegisterExpandDims() {
  static const Registration reg = {"EXPAND_DIMS", nullptr, ExpandDimsPrepare, EvalCopy};
  return &reg;
}
const Registration* RegisterShape() {
  static const Registration reg = {"SHAPE", nullptr, ShapePrepare, ShapeEval};
  return &reg;
}

}  // namespace rt
}  // namespace edgeopt
