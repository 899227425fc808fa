// ADD: out = activation(a + b) with numpy broadcasting.
#include "src/runtime/kernels/kernel_util.h"
#include "src/quant/quant_math.h"

namespace edgeopt {
namespace rt {
namespace {

struct OpData {
  float act_min;
  float act_max;
};

void* Init(Context* ctx, const Node*) { return ctx->AllocatePersistent(sizeof(OpData)); }

Status Prepare(Context* ctx, Node* node) {
  EDGEOPT_RETURN_IF_ERROR(CheckNumInputs(node, 2, 2));
  EDGEOPT_RETURN_IF_ERROR(CheckNumOutputs(node, 1));
  Tensor* a = ctx->input(node, 0);
  Tensor* b = ctx->input(node, 1);
  Tensor* out = ctx->output(node, 0);
  EDGEOPT_ENSURE(a != nullptr && b != nullptr, StatusCode::kInvalidModel, "missing input");
  EDGEOPT_ENSURE(a->type == DType::kFloat32 && b->type == DType::kFloat32 &&
                     out->type == DType::kFloat32,
                 StatusCode::kUnsupported, "type %s is not supported", DTypeName(a->type));
  OpData* data = static_cast<OpData*>(node->user_data);
  EDGEOPT_ENSURE(data != nullptr, StatusCode::kOutOfMemory, "out of memory");
  const auto* options = GetOptions<tflite::AddOptions>(node);
  const int activation =
      options != nullptr ? static_cast<int>(options->fused_activation_function()) : 0;
  quant::ActivationRangeFloat(activation, &data->act_min, &data->act_max);
  Dims out_dims;
  EDGEOPT_RETURN_IF_ERROR(BroadcastDims(a->dims, b->dims, &out_dims));
  return ctx->ResizeTensor(out, out_dims);
}

Status Eval(Context* ctx, Node* node) {
  const Tensor* a = ctx->input(node, 0);
  const Tensor* b = ctx->input(node, 1);
  Tensor* out = ctx->output(node, 0);
  const OpData* data = static_cast<const OpData*>(node->user_data);
  const float* pa = a->Data<float>();
  const float* pb = b->Data<float>();
  float* po = out->Data<float>();
  const Dims& od = out->dims;
  // Strides of a and b in the output's index space (0 where broadcast).
  int64_t sa[kMaxDims], sb[kMaxDims];
  int64_t ra = 1, rb = 1;
  for (int i = od.size - 1; i >= 0; --i) {
    const int ia = a->dims.size - od.size + i;
    const int ib = b->dims.size - od.size + i;
    const int32_t da = ia >= 0 ? a->dims[ia] : 1;
    const int32_t db = ib >= 0 ? b->dims[ib] : 1;
    sa[i] = da == 1 ? 0 : ra;
    sb[i] = db == 1 ? 0 : rb;
    ra *= da;
    rb *= db;
  }
  const int64_t n = od.NumElements();
  int64_t index[kMaxDims] = {};
  int64_t oa = 0, ob = 0;
  for (int64_t k = 0; k < n; ++k) {
    const float v = pa[oa] + pb[ob];
    po[k] = v < data->act_min ? data->act_min : (v > data->act_max ? data->act_max : v);
    for (int d = od.size - 1; d >= 0; --d) {
      ++index[d];
      oa += sa[d];
      ob += sb[d];
      if (index[d] < od[d]) break;
      oa -= sa[d] * od[d];
      ob -= sb[d] * od[d];
      index[d] = 0;
    }
  }
  return Status::Ok();
}

}  // namespace

const Registration* RegisterAdd() {
  static const Registration reg = {"ADD", Init, Prepare, Eval};
  return &reg;
}

}  // namespace rt
}  // namespace edgeopt
