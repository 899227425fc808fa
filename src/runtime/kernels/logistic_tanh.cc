// LOGISTIC and TANH.
//  - float32: 1 / (1 + exp(-x)) and tanh(x).
//  - int8 / uint8: a 256-entry table built from the float function, as TFLite 2.9's builtin
//    (generic-optimized) kernels do; LOGISTIC expects output scale 1/256.
//  - int16 (zero points 0, output scale 2^-15): with a power-of-two input scale, gemmlowp's
//    fixed-point tanh/logistic on Q3.12; otherwise TFLite's interpolated table of sigmoid(i / 24),
//    with the input rescaled by scale * 3 * 4096 * 2^shift.
#include <cmath>
#include <cstdint>
#include <cstdlib>

#include "src/runtime/kernels/activation_op.h"
#include "src/runtime/kernels/elem_util.h"
#include "src/runtime/kernels/reference/fixed_point.h"
#include "src/runtime/kernels/reference/lut.h"

namespace edgeopt {
namespace rt {
namespace {

// sigmoid(i / 24) in Q0.16 for i in [0, 256): the table of TFLite's int16 LOGISTIC / TANH kernels
// (the same numbers are published in TFLite and CMSIS-NN as sigmoid_table_uint16). Kept as data:
// the values are not round(65536 * sigmoid(i / 24)) everywhere, and the int16 results must match
// TFLite bit for bit.
constexpr uint16_t kSigmoidTable[256] = {
    32768, 33451, 34133, 34813, 35493, 36169, 36843, 37513, 38180, 38841, 39498, 40149, 40794,
    41432, 42064, 42688, 43304, 43912, 44511, 45102, 45683, 46255, 46817, 47369, 47911, 48443,
    48964, 49475, 49975, 50464, 50942, 51409, 51865, 52311, 52745, 53169, 53581, 53983, 54374,
    54755, 55125, 55485, 55834, 56174, 56503, 56823, 57133, 57433, 57724, 58007, 58280, 58544,
    58800, 59048, 59288, 59519, 59743, 59959, 60168, 60370, 60565, 60753, 60935, 61110, 61279,
    61441, 61599, 61750, 61896, 62036, 62172, 62302, 62428, 62549, 62666, 62778, 62886, 62990,
    63090, 63186, 63279, 63368, 63454, 63536, 63615, 63691, 63765, 63835, 63903, 63968, 64030,
    64090, 64148, 64204, 64257, 64308, 64357, 64405, 64450, 64494, 64536, 64576, 64614, 64652,
    64687, 64721, 64754, 64786, 64816, 64845, 64873, 64900, 64926, 64950, 64974, 64997, 65019,
    65039, 65060, 65079, 65097, 65115, 65132, 65149, 65164, 65179, 65194, 65208, 65221, 65234,
    65246, 65258, 65269, 65280, 65291, 65301, 65310, 65319, 65328, 65337, 65345, 65352, 65360,
    65367, 65374, 65381, 65387, 65393, 65399, 65404, 65410, 65415, 65420, 65425, 65429, 65433,
    65438, 65442, 65445, 65449, 65453, 65456, 65459, 65462, 65465, 65468, 65471, 65474, 65476,
    65479, 65481, 65483, 65485, 65488, 65489, 65491, 65493, 65495, 65497, 65498, 65500, 65501,
    65503, 65504, 65505, 65507, 65508, 65509, 65510, 65511, 65512, 65513, 65514, 65515, 65516,
    65517, 65517, 65518, 65519, 65520, 65520, 65521, 65522, 65522, 65523, 65523, 65524, 65524,
    65525, 65525, 65526, 65526, 65526, 65527, 65527, 65528, 65528, 65528, 65529, 65529, 65529,
    65529, 65530, 65530, 65530, 65530, 65531, 65531, 65531, 65531, 65531, 65532, 65532, 65532,
    65532, 65532, 65532, 65533, 65533, 65533, 65533, 65533, 65533, 65533, 65533, 65534, 65534,
    65534, 65534, 65534, 65534, 65534, 65534, 65534, 65534, 65535};

struct OpData {
  uint8_t table[256] = {};
  int32_t input_multiplier = 0;  // int16: 0 selects the power-of-two fixed-point path
  int input_left_shift = 0;
  F32UnaryOp* f32_fast = nullptr;  // microkernels (activation_op.h)
  LutOp* lut_fast = nullptr;
};

// log2(x) when x is (within 1e-3 in log2) a power of two, as TFLite's CheckedLog2.
bool CheckedLog2(float x, int* log2_result) {
  const double l = std::log(static_cast<double>(x)) / std::log(2.0);
  const double r = std::round(l);
  *log2_result = static_cast<int>(r);
  return std::abs(l - r) < 1e-3;
}

float LogisticFloat(float x) { return 1.0f / (1.0f + std::exp(-x)); }
float TanhFloat(float x) { return std::tanh(x); }

template <bool kTanh>
Status Prepare(Context* ctx, Node* node) {
  OpData* data;
  EDGEOPT_RETURN_IF_ERROR(GetOpData(node, &data));
  EDGEOPT_RETURN_IF_ERROR(CheckNumInputs(node, 1, 1));
  EDGEOPT_RETURN_IF_ERROR(CheckNumOutputs(node, 1));
  Tensor *in, *out;
  EDGEOPT_RETURN_IF_ERROR(GetInputChecked(ctx, node, 0, &in));
  EDGEOPT_RETURN_IF_ERROR(GetOutputChecked(ctx, node, 0, &out));
  EDGEOPT_RETURN_IF_ERROR(CheckSameType(in, out, "input", "output"));
  EDGEOPT_RETURN_IF_ERROR(ctx->ResizeTensor(out, in->dims));
  const char* name = kTanh ? "TANH" : "LOGISTIC";
  if (in->type == DType::kFloat32) {
    return PrepareF32Unary(ctx, kTanh ? F32UnaryKind::kTanh : F32UnaryKind::kLogistic, in, {},
                           &data->f32_fast);
  }
  EDGEOPT_ENSURE(in->type == DType::kInt8 || in->type == DType::kUInt8 || in->type == DType::kInt16,
                 StatusCode::kUnsupported, "%s does not support type %s", name,
                 DTypeName(in->type));
  EDGEOPT_RETURN_IF_ERROR(CheckPerTensorQuant(in, "input"));
  EDGEOPT_RETURN_IF_ERROR(CheckPerTensorQuant(out, "output"));
  if (in->type != DType::kInt16) {
    if (!kTanh) {
      EDGEOPT_ENSURE(out->quant.scale == 1.0f / 256, StatusCode::kInvalidModel,
                     "LOGISTIC output scale must be 1/256, is %g", out->quant.scale);
    }
    float (*f)(float) = kTanh ? TanhFloat : LogisticFloat;
    if (in->type == DType::kInt8) {
      ref::PopulateLut8<int8_t>(in->quant.scale, in->quant.zero_point, out->quant.scale,
                                out->quant.zero_point, f, data->table);
    } else {
      ref::PopulateLut8<uint8_t>(in->quant.scale, in->quant.zero_point, out->quant.scale,
                                 out->quant.zero_point, f, data->table);
    }
    return PrepareLut(ctx, in, data->table, &data->lut_fast);
  }
  // int16.
  EDGEOPT_ENSURE(in->quant.zero_point == 0 && out->quant.zero_point == 0, StatusCode::kUnsupported,
                 "int16 %s needs zero points 0 (have %d and %d)", name, in->quant.zero_point,
                 out->quant.zero_point);
  int out_log2;
  EDGEOPT_ENSURE(CheckedLog2(out->quant.scale, &out_log2) && out_log2 == -15,
                 StatusCode::kUnsupported, "int16 %s needs output scale 2^-15, has %g", name,
                 out->quant.scale);
  int in_log2;
  bool pot = CheckedLog2(in->quant.scale, &in_log2);
  data->input_left_shift = (15 - 3) + in_log2;
  pot = pot && (kTanh ? (data->input_left_shift == 0 || data->input_left_shift == 1)
                      : data->input_left_shift == 0);
  data->input_multiplier = 0;
  if (!pot) {
    // Rescale to the table's input scale 1 / (3 * 4096), with as many bits as fit in 15.
    double multiplier = static_cast<double>(in->quant.scale) * 4096.0 * 3.0;
    int shift = 0;
    while (multiplier <= 32767.0 / 2.0 && shift <= 30) {
      ++shift;
      multiplier *= 2.0;
    }
    data->input_left_shift = shift;
    data->input_multiplier = static_cast<int32_t>(multiplier);
  }
  return Status::Ok();
}

// Interpolated table lookup on |x| (x rescaled so that table step = 2^table_shift).
template <bool kTanh>
int16_t Int16Table(int16_t in, int32_t multiplier, int left_shift) {
  const int32_t round = left_shift > 0 ? 1 << (left_shift - 1) : 0;
  const int32_t x =
      static_cast<int32_t>((static_cast<int64_t>(in) * multiplier + round) >> left_shift);
  const uint32_t abs_x = static_cast<uint32_t>(std::abs(x));
  if (kTanh) {
    const uint32_t uh = abs_x >> 8;
    int32_t result;
    if (uh >= 255) {
      result = 0xFFFF << 8;
    } else {
      const uint32_t ua = kSigmoidTable[uh], ub = kSigmoidTable[uh + 1];
      const uint32_t ut = abs_x & 0xFF;
      result = static_cast<int32_t>((ua << 8) + ut * (ub - ua));
    }
    result = x >= 0 ? (result - (1 << (14 + 9)) + (1 << (9 - 2)))
                    : (-result + (1 << (14 + 9)) + (1 << (9 - 2)) - 1);
    return static_cast<int16_t>(result >> (9 - 1));
  }
  const uint32_t uh = abs_x >> 9;
  uint32_t result;
  if (uh >= 255) {
    result = 0x7FFF << 10;
  } else {
    const uint32_t ua = kSigmoidTable[uh], ub = kSigmoidTable[uh + 1];
    const uint32_t ut = abs_x & 0x1FF;
    result = (ua << 9) + ut * (ub - ua);
  }
  result = x >= 0 ? (result + (1 << 9)) : ((1u << (16 + 9)) - result + (1 << 9) - 1);
  return static_cast<int16_t>(result >> 10);
}

template <bool kTanh>
Status Eval(Context* ctx, Node* node) {
  const OpData* d = static_cast<const OpData*>(node->user_data);
  const Tensor* in = ctx->input(node, 0);
  Tensor* out = ctx->output(node, 0);
  const int64_t n = in->dims.NumElements();
  if (d->f32_fast != nullptr) {
    RunF32Unary(ctx, *d->f32_fast, in->data, out->data);
    return Status::Ok();
  }
  if (d->lut_fast != nullptr) {
    RunLut(ctx, *d->lut_fast, in->data, out->data);
    return Status::Ok();
  }
  switch (in->type) {
    case DType::kFloat32: {
      const float* p = in->Data<float>();
      float* o = out->Data<float>();
      for (int64_t i = 0; i < n; ++i) o[i] = kTanh ? TanhFloat(p[i]) : LogisticFloat(p[i]);
      break;
    }
    case DType::kInt16: {
      const int16_t* p = in->Data<int16_t>();
      int16_t* o = out->Data<int16_t>();
      if (d->input_multiplier > 0) {
        for (int64_t i = 0; i < n; ++i) {
          o[i] = Int16Table<kTanh>(p[i], d->input_multiplier, d->input_left_shift);
        }
      } else {
        using F3 = ref::Fx<int16_t, 3>;
        for (int64_t i = 0; i < n; ++i) {
          int16_t x = p[i];
          if (kTanh && d->input_left_shift == 1) x = ref::SatRoundMulByPOT<int16_t>(x, 1);
          o[i] = kTanh ? ref::FixedTanh(F3{x}).raw : ref::FixedLogistic(F3{x}).raw;
        }
      }
      break;
    }
    default:
      ref::ApplyLut8(d->table, in->data, n, out->data);
      break;
  }
  return Status::Ok();
}

}  // namespace

const Registration* RegisterLogistic() {
  static const Registration reg = {"LOGISTIC", InitOpData<OpData>, Prepare<false>, Eval<false>};
  return &reg;
}
const Registration* RegisterTanh() {
  static const Registration reg = {"TANH", InitOpData<OpData>, Prepare<true>, Eval<true>};
  return &reg;
}

}  // namespace rt
}  // namespace edgeopt
