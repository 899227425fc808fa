// BATCH_MATMUL: float32, int8 (per-tensor, asymmetric lhs and rhs) and int16 (TFLite
// 2.9's reference kernel with an int64 accumulator), ranks 2 to 6 with
// numpy-broadcast batch dimensions, adj_x / adj_y.
//
// Rounding: TFLite 2.9 runs int8 BATCH_MATMUL on a ruy GEMM, so the output stage rounds as ruy's
// x86 kernels (ref::Rounding::kRuyX86); the multiplier comes from the float product of the scales,
// as GetQuantizedConvolutionMultipler.
//
// Float and int8 run on the f32 / qs8 IGEMM microkernels where the CPU has them (the reference
// kernels otherwise, and with use_optimized_kernels off). Both operands are activations (attention:
// q x k^T, then probabilities x v), so the rhs cannot be packed once at Prepare as a
// FULLY_CONNECTED's weights are: each task packs the rhs batch it reads into its thread's scratch
// (once for consecutive tasks that share it), then runs the kernels over its rows (a pointer per
// lhs row, column blocks of nr). A task is an output batch, or a chunk of its rows when there are
// fewer batches than threads; products of fewer than kMinParallelConvMacs run on the calling
// thread. Float sums with FMA, or with exact_float in the reference's order (the exact kernels);
// int8 is bit-exact with the reference: the kernels' sums equal its sums modulo 2^32, which is
// all its ruy output stage reads.
#include "src/runtime/kernels/reference/batch_matmul.h"

#include <algorithm>
#include <cstring>
#include <limits>
#include <new>

#include "src/runtime/kernels/conv_common.h"
#include "src/runtime/kernels/conv_igemm.h"
#include "src/runtime/kernels/kernel_util.h"
#include "src/runtime/kernels/ukernels/pack.h"
#include "src/runtime/thread_pool.h"

namespace edgeopt {
namespace rt {
namespace {

constexpr int kMaxBatchMatMulRank = 6;

struct OpData {
  ref::BatchMatMulShape shape;
  int32_t* lhs_batch = nullptr;
  int32_t* rhs_batch = nullptr;
  bool int8 = false;  // quantized: int8, or int16 when `int16`
  bool int16 = false;
  ref::OutputStage stage;
  int32_t multiplier = 0, shift = 0;
  int lhs_t = -1, rhs_t = -1;  // float reference scratch
  Tensor dense_rhs;            // decoded sparse rhs (when densified)
  bool densified = false;
  // The microkernel path (fast >= 0; qs8 set for int8). Per-thread scratch of thread_bytes: an
  // int32 header (the rhs batch packed), the packed rhs, mr row pointers (off_a), int8's lhs rows
  // in the u domain, kcp bytes each (off_rows), a transpose buffer (off_t: the lhs with adj_x,
  // int8's rhs without adj_y) and int8's row terms, M + mr of them (off_terms).
  uk::F32IGemmFn f32_fn = nullptr;
  const uk::QS8GemmConfig* qs8 = nullptr;
  uk::QS8IGemmFn qs8_fn = nullptr;
  uk::QuantOutput out;
  int32_t zu = 0, zwp = 0;             // int8: u-domain lhs and rhs zero points (ukernels.h)
  int32_t* requant = nullptr;          // int8: [N] multipliers, then [N] shifts (PackQS8Gemm's)
  int nr = 0, mr = 0, kcp = 0;         // tile; kcp: int8 row length (K rounded up to 4)
  int threads = 1;                     // 1: the tasks run on the calling thread
  int chunk_rows = 0, row_chunks = 1;  // tasks per batch: chunks of chunk_rows rows
  size_t block_bytes = 0, off_a = 0, off_rows = 0, off_t = 0, off_terms = 0, thread_bytes = 0;
  int fast = -1;
};

constexpr size_t kHeaderBytes = 64;

size_t AlignUp64(size_t x) { return (x + 63) & ~size_t{63}; }

void* Init(Context* ctx, const Node*) {
  void* p = ctx->AllocatePersistent(sizeof(OpData));
  return p != nullptr ? new (p) OpData() : nullptr;
}

// Output dims and, for every output batch, the lhs and rhs batch it reads.
Status PrepareBatches(Context* ctx, const Tensor* lhs, const Tensor* rhs, OpData* data,
                      Dims* out_dims) {
  const int rank = std::max(lhs->dims.size, rhs->dims.size);
  const int batch_rank = rank - 2;
  int32_t out_batch[kMaxDims] = {}, lhs_stride[kMaxDims] = {}, rhs_stride[kMaxDims] = {};
  int64_t lhs_n = 1, rhs_n = 1, out_n = 1;
  for (int i = batch_rank - 1; i >= 0; --i) {
    const int li = lhs->dims.size - rank + i, ri = rhs->dims.size - rank + i;
    const int32_t ld = li >= 0 ? lhs->dims[li] : 1;
    const int32_t rd = ri >= 0 ? rhs->dims[ri] : 1;
    EDGEOPT_ENSURE(ld == rd || ld == 1 || rd == 1, StatusCode::kInvalidModel,
                   "batch dimension %d: lhs has %d, rhs has %d (they must be equal or 1)", i, ld,
                   rd);
    out_batch[i] = ld == 1 ? rd : ld;
    lhs_stride[i] = ld == 1 ? 0 : static_cast<int32_t>(lhs_n);
    rhs_stride[i] = rd == 1 ? 0 : static_cast<int32_t>(rhs_n);
    lhs_n *= ld;
    rhs_n *= rd;
    out_n *= out_batch[i];
  }
  EDGEOPT_ENSURE(
      out_n < (int64_t{1} << 31) && lhs_n < (int64_t{1} << 31) && rhs_n < (int64_t{1} << 31),
      StatusCode::kUnsupported, "too many batches");
  data->shape.batches = static_cast<int>(out_n);
  EDGEOPT_RETURN_IF_ERROR(AllocatePersistentArray(ctx, out_n, &data->lhs_batch));
  EDGEOPT_RETURN_IF_ERROR(AllocatePersistentArray(ctx, out_n, &data->rhs_batch));
  for (int64_t b = 0; b < out_n; ++b) {
    int64_t rest = b, l = 0, r = 0;
    for (int i = batch_rank - 1; i >= 0; --i) {
      const int64_t index = rest % out_batch[i];
      rest /= out_batch[i];
      l += index * lhs_stride[i];
      r += index * rhs_stride[i];
    }
    data->lhs_batch[b] = static_cast<int32_t>(l);
    data->rhs_batch[b] = static_cast<int32_t>(r);
  }
  data->shape.lhs_batch = data->lhs_batch;
  data->shape.rhs_batch = data->rhs_batch;
  out_dims->size = rank;
  for (int i = 0; i < batch_rank; ++i) out_dims->data[i] = out_batch[i];
  out_dims->data[rank - 2] = data->shape.M;
  out_dims->data[rank - 1] = data->shape.N;
  return Status::Ok();
}

// The microkernel path's tasks and scratch, for a tile of mr x nr and packed blocks of
// block_bytes (data->qs8 and kcp set for int8).
Status PrepareFast(Context* ctx, OpData* d, int nr, int mr, size_t block_bytes) {
  const ref::BatchMatMulShape& s = d->shape;
  const bool q = d->qs8 != nullptr;
  const int64_t nk = int64_t{s.N} * s.K;
  // Small products run on the calling thread: waking the pool costs more than it saves.
  const bool big = static_cast<double>(s.batches) * s.M * s.N * s.K >= kMinParallelConvMacs;
  const int threads = big ? std::max(1, ctx->num_threads()) : 1;
  d->threads = threads;
  d->nr = nr;
  d->mr = s.M == 1 ? 1 : mr;
  const int m_tiles = uk::DivideRoundUp(s.M, d->mr);
  int chunks = 1;
  if (threads > 1 && s.batches < 2 * threads) {
    chunks = std::min(m_tiles, uk::DivideRoundUp(2 * threads, s.batches));
  }
  d->chunk_rows = uk::DivideRoundUp(m_tiles, chunks) * d->mr;
  d->row_chunks = uk::DivideRoundUp(s.M, d->chunk_rows);
  d->block_bytes = block_bytes;
  d->off_a = kHeaderBytes + AlignUp64(block_bytes * uk::DivideRoundUp(s.N, nr));
  d->off_rows = d->off_a + AlignUp64(d->mr * sizeof(void*));
  d->off_t = d->off_rows + (q ? AlignUp64(int64_t{s.M} * d->kcp + 64) : 0);
  const int64_t t = std::max(s.adj_x ? int64_t{s.M} * s.K : 0, q && !s.adj_y ? nk : 0);
  d->off_terms = d->off_t + AlignUp64(t * (q ? 1 : sizeof(float)));
  d->thread_bytes = d->off_terms + (q ? AlignUp64((int64_t{s.M} + d->mr) * 4) : 0);
  return ctx->RequestScratch(d->thread_bytes * threads, &d->fast);
}

Status Prepare(Context* ctx, Node* node) {
  OpData* data = static_cast<OpData*>(node->user_data);
  EDGEOPT_ENSURE(data != nullptr, StatusCode::kOutOfMemory, "out of memory");
  EDGEOPT_RETURN_IF_ERROR(CheckNumInputs(node, 2, 2));
  EDGEOPT_RETURN_IF_ERROR(CheckNumOutputs(node, 1));
  const Tensor* lhs = ctx->input(node, 0);
  const Tensor* rhs_in = ctx->input(node, 1);
  Tensor* output = ctx->output(node, 0);
  EDGEOPT_RETURN_IF_ERROR(CheckRank(lhs, "lhs", 2, kMaxBatchMatMulRank));
  EDGEOPT_RETURN_IF_ERROR(CheckRank(rhs_in, "rhs", 2, kMaxBatchMatMulRank));
  const Tensor* rhs = nullptr;
  EDGEOPT_RETURN_IF_ERROR(DensifyIfSparse(ctx, rhs_in, "rhs", &data->dense_rhs, &rhs));
  data->densified = rhs != rhs_in;
  const auto* options = GetOptions<tflite::BatchMatMulOptions>(node);
  ref::BatchMatMulShape& s = data->shape;
  s.adj_x = options != nullptr && options->adj_x();
  s.adj_y = options != nullptr && options->adj_y();
  const Dims& ld = lhs->dims;
  const Dims& rd = rhs->dims;
  s.M = s.adj_x ? ld[ld.size - 1] : ld[ld.size - 2];
  s.K = s.adj_x ? ld[ld.size - 2] : ld[ld.size - 1];
  const int rhs_k = s.adj_y ? rd[rd.size - 1] : rd[rd.size - 2];
  s.N = s.adj_y ? rd[rd.size - 2] : rd[rd.size - 1];
  EDGEOPT_ENSURE(rhs_k == s.K, StatusCode::kInvalidModel,
                 "lhs has %d columns (contraction size), rhs has %d rows", s.K, rhs_k);
  Dims out_dims;
  EDGEOPT_RETURN_IF_ERROR(PrepareBatches(ctx, lhs, rhs, data, &out_dims));
  EDGEOPT_RETURN_IF_ERROR(ctx->ResizeTensor(output, out_dims));
  const int64_t mk = int64_t{s.M} * s.K, nk = int64_t{s.N} * s.K;

  if (lhs->type == DType::kFloat32 && rhs->type == DType::kFloat32) {
    EDGEOPT_RETURN_IF_ERROR(CheckTensorType(output, DType::kFloat32, "output"));
    const bool exact = ctx->exact_float();
    const uk::F32GemmConfig* cfg =
        ctx->use_optimized_kernels() ? uk::GetF32GemmConfig(ctx->cpu(), s.N) : nullptr;
    // exact_float: a column of several rows is summed in GemvF32's order, which only the
    // reference repeats.
    if (cfg != nullptr && !(exact && s.N == 1 && s.M > 1)) {
      data->f32_fn = s.M == 1 ? cfg->gemv_exact : exact ? cfg->igemm_exact : cfg->igemm;
      return PrepareFast(ctx, data, cfg->nr, cfg->mr, uk::F32PackedBlockBytes(cfg->nr, 1, s.K));
    }
    if (s.adj_x) EDGEOPT_RETURN_IF_ERROR(RequestScratchArray<float>(ctx, mk, &data->lhs_t));
    if (s.adj_y) EDGEOPT_RETURN_IF_ERROR(RequestScratchArray<float>(ctx, nk, &data->rhs_t));
    return Status::Ok();
  }
  const bool int16 = lhs->type == DType::kInt16 && rhs->type == DType::kInt16;
  EDGEOPT_ENSURE((lhs->type == DType::kInt8 && rhs->type == DType::kInt8) || int16,
                 StatusCode::kUnsupported,
                 "lhs %s with rhs %s is not supported (expected float32, int8 or int16 for both)",
                 DTypeName(lhs->type), DTypeName(rhs->type));
  EDGEOPT_RETURN_IF_ERROR(CheckTensorType(output, lhs->type, "output"));
  EDGEOPT_RETURN_IF_ERROR(CheckActivationQuantization(lhs, "lhs"));
  EDGEOPT_RETURN_IF_ERROR(CheckActivationQuantization(rhs, "rhs"));
  EDGEOPT_RETURN_IF_ERROR(CheckActivationQuantization(output, "output"));
  data->int8 = true;  // quantized (int8 or int16)
  data->int16 = int16;
  // One "channel": the per-tensor multiplier from the float product of the scales.
  int32_t *multiplier = nullptr, *shift = nullptr;
  EDGEOPT_RETURN_IF_ERROR(ComputeOutputMultipliers(ctx, lhs, rhs, output, 1,
                                                   /*legacy_float_product=*/true, int16 ? 14 : 31,
                                                   &multiplier, &shift));
  ref::OutputStage& stage = data->stage;
  stage.multiplier = multiplier;
  stage.shift = shift;
  stage.output_zero_point = output->quant.zero_point;
  stage.act_min = int16 ? -32768 : -128;
  stage.act_max = int16 ? 32767 : 127;
  // int8 runs on ruy in TFLite 2.9; int16 on the reference kernel with an int64 accumulator and
  // MultiplyByQuantizedMultiplier(int64_t, ...).
  stage.rounding = int16 ? ref::Rounding::kInt64 : ref::Rounding::kRuyX86;
  const uk::QS8GemmConfig* cfg =
      !int16 && ctx->use_optimized_kernels() ? uk::GetQS8GemmConfig(ctx->cpu(), s.N) : nullptr;
  if (cfg != nullptr) {
    data->qs8 = cfg;
    data->qs8_fn = s.M == 1 ? cfg->igemm_1 : cfg->igemm;
    data->kcp = uk::RoundUp(s.K, 4);
    data->zu = lhs->quant.zero_point + 128;
    data->zwp = rhs->quant.zero_point;
    data->out.zero_point = stage.output_zero_point;
    data->out.lo = -128 - stage.output_zero_point;
    data->out.hi = 127 - stage.output_zero_point;
    EDGEOPT_RETURN_IF_ERROR(AllocatePersistentArray(ctx, 2 * int64_t{s.N}, &data->requant));
    for (int n = 0; n < s.N; ++n) {
      data->requant[n] = multiplier[0];
      data->requant[s.N + n] = shift[0];
    }
    return PrepareFast(ctx, data, cfg->nr, cfg->mr,
                       uk::QS8PackedBlockBytes(cfg->nr, 1, data->kcp, cfg->weight_bytes));
  }
  return Status::Ok();  // the reference needs no scratch
}

// dst = src^T for a rows x cols matrix of int8 (q) or float.
void Transpose(bool q, const uint8_t* src, int rows, int cols, uint8_t* dst) {
  if (q) {
    ref::Transpose2D(src, rows, cols, dst);
  } else {
    ref::Transpose2D(reinterpret_cast<const float*>(src), rows, cols,
                     reinterpret_cast<float*>(dst));
  }
}

struct FastRun {
  const OpData* d;
  const uint8_t* lhs;
  const uint8_t* rhs;
  uint8_t* out;
  uint8_t* scratch;
};

// One task of the microkernel path (ThreadPool::TaskFn): rows [m0, m1) of output batch b.
void RunFastTask(void* context, int task, int thread) {
  const FastRun& r = *static_cast<const FastRun*>(context);
  const OpData& d = *r.d;
  const ref::BatchMatMulShape& s = d.shape;
  const bool q = d.qs8 != nullptr;
  const int64_t es = q ? 1 : sizeof(float);
  uint8_t* scratch = r.scratch + thread * d.thread_bytes;
  uint8_t* packed = scratch + kHeaderBytes;
  const void** a = reinterpret_cast<const void**>(scratch + d.off_a);
  uint8_t* t = scratch + d.off_t;
  int32_t* row_term = reinterpret_cast<int32_t*>(scratch + d.off_terms);
  const int b = task / d.row_chunks;
  const int m0 = task % d.row_chunks * d.chunk_rows;
  const int m1 = std::min(s.M, m0 + d.chunk_rows);
  int32_t* packed_batch = reinterpret_cast<int32_t*>(scratch);
  if (*packed_batch != s.rhs_batch[b]) {
    *packed_batch = s.rhs_batch[b];
    const uint8_t* w = r.rhs + s.rhs_batch[b] * int64_t{s.K} * s.N * es;
    if (q && !s.adj_y) {  // PackQS8Gemm reads rows [N][K]
      Transpose(q, w, s.K, s.N, t);
      w = t;
    }
    if (q) {
      uk::QS8PackSource src;
      src.weights = w;
      src.zu = d.zu;
      src.zwp = d.zwp;
      src.multiplier = d.requant;
      src.shift = d.requant + s.N;
      src.weight_bytes = d.qs8->weight_bytes;
      uk::PackQS8Gemm(d.nr, s.N, 1, s.K, d.kcp, src, packed);
    } else if (s.adj_y) {  // rows [N][K], as FULLY_CONNECTED's weights
      uk::PackF32Gemm(d.nr, s.N, 1, s.K, reinterpret_cast<const float*>(w), nullptr,
                      reinterpret_cast<float*>(packed));
    } else {  // [K][N]: each block a zero bias, then K runs of nc columns
      for (int n0 = 0; n0 < s.N; n0 += d.nr) {
        const int nc = std::min(d.nr, s.N - n0);
        float* block = reinterpret_cast<float*>(packed + n0 / d.nr * d.block_bytes);
        std::memset(block, 0, nc < d.nr ? d.block_bytes : d.nr * sizeof(float));
        for (int k = 0; k < s.K; ++k) {
          std::memcpy(block + static_cast<size_t>(k + 1) * d.nr, w + (int64_t{k} * s.N + n0) * es,
                      nc * es);
        }
      }
    }
  }
  const uint8_t* x = r.lhs + s.lhs_batch[b] * int64_t{s.M} * s.K * es;
  if (s.adj_x) {  // stored [K][M]
    Transpose(q, x, s.K, s.M, t);
    x = t;
  }
  int64_t row_stride = s.K * es;
  if (q) {  // rows [m0, m1) in the u domain (x ^ 0x80), kcp bytes apart, and their row terms
    uint8_t* u = scratch + d.off_rows;
    const int step = d.kcp == s.K ? m1 - m0 : 1;  // rows per copy
    for (int m = m0; m < m1; m += step) {
      d.qs8->xor_copy(reinterpret_cast<const int8_t*>(x) + int64_t{m} * s.K, u + int64_t{m} * d.kcp,
                      static_cast<size_t>(step) * s.K);
    }
    if (d.zwp != 0) {
      d.qs8->row_sum(u + int64_t{m0} * d.kcp, m1 - m0, s.K, d.kcp, row_term + m0);
      for (int m = m0; m < m1; ++m) {
        row_term[m] = static_cast<int32_t>(static_cast<uint32_t>(row_term[m]) *
                                           static_cast<uint32_t>(-d.zwp));
      }
    }
    x = u;
    row_stride = d.kcp;
  }
  uint8_t* c = r.out + int64_t{b} * s.M * s.N * es;
  for (int m = m0; m < m1; m += d.mr) {
    const int mr = std::min(d.mr, m1 - m);
    for (int i = 0; i < d.mr; ++i) a[i] = x + (m + std::min(i, mr - 1)) * row_stride;
    for (int n0 = 0; n0 < s.N; n0 += d.nr) {
      const int nc = std::min(d.nr, s.N - n0);
      const uint8_t* w = packed + static_cast<size_t>(n0 / d.nr) * d.block_bytes;
      uint8_t* cp = c + (int64_t{m} * s.N + n0) * es;
      if (q) {
        d.qs8_fn({mr, nc, d.kcp, 1, reinterpret_cast<const uint8_t* const*>(a), w,
                  reinterpret_cast<int8_t*>(cp), s.N, d.zwp != 0 ? row_term + m : nullptr, &d.out});
      } else {
        d.f32_fn({mr, nc, s.K, 1, reinterpret_cast<const float* const*>(a),
                  reinterpret_cast<const float*>(w), reinterpret_cast<float*>(cp), s.N,
                  -std::numeric_limits<float>::infinity(), std::numeric_limits<float>::infinity(),
                  false});
      }
    }
  }
}

Status Eval(Context* ctx, Node* node) {
  const OpData* data = static_cast<const OpData*>(node->user_data);
  const Tensor* lhs = ctx->input(node, 0);
  const Tensor* rhs = data->densified ? &data->dense_rhs : ctx->input(node, 1);
  Tensor* output = ctx->output(node, 0);
  if (data->fast >= 0) {
    FastRun r{data, lhs->data, rhs->data, output->data,
              static_cast<uint8_t*>(ctx->GetScratch(data->fast))};
    for (int t = 0; t < data->threads; ++t) {
      *reinterpret_cast<int32_t*>(r.scratch + t * data->thread_bytes) = -1;  // nothing packed
    }
    const int tasks = data->shape.batches * data->row_chunks;
    if (data->threads > 1) {
      ctx->thread_pool()->Run(tasks, RunFastTask, &r);
    } else {
      for (int task = 0; task < tasks; ++task) RunFastTask(&r, task, 0);
    }
    return Status::Ok();
  }
  if (!data->int8) {
    ref::BatchMatMulF32(data->shape, lhs->Data<float>(), rhs->Data<float>(), output->Data<float>(),
                        static_cast<float*>(ctx->GetScratch(data->lhs_t)),
                        static_cast<float*>(ctx->GetScratch(data->rhs_t)));
    return Status::Ok();
  }
  // The 16x8 spec's zero points are 0 (TFLite refuses others); any are honoured here.
  if (data->int16) {
    ref::BatchMatMulQuantized(data->shape, lhs->Data<int16_t>(), lhs->quant.zero_point,
                              rhs->Data<int16_t>(), rhs->quant.zero_point, data->stage,
                              output->Data<int16_t>());
  } else {
    ref::BatchMatMulQuantized(data->shape, lhs->Data<int8_t>(), lhs->quant.zero_point,
                              rhs->Data<int8_t>(), rhs->quant.zero_point, data->stage,
                              output->Data<int8_t>());
  }
  return Status::Ok();
}

const char* KernelInfo(const Node* node) {
  return static_cast<const OpData*>(node->user_data)->fast >= 0 ? "igemm" : nullptr;
}

}  // namespace

const Registration* RegisterBatchMatMul() {
  static const Registration reg = {"BATCH_MATMUL", Init,    Prepare,   Eval,
                                   nullptr,        nullptr, KernelInfo};
  return &reg;
}

}  // namespace rt
}  // namespace edgeopt
