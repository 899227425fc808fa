// BATCH_MATMUL (Keras MultiHeadAttention's scores and context): C[..., M, N] = op(A)[..., M, K] *
// op(B)[..., K, N], where adj_x / adj_y transpose the last two dimensions of A / B, and the batch
// dimensions (all but the last two, ranks 2 to 6) broadcast NumPy-style. One packed GEMM per
// output batch; when B is shared by every batch and A is not transposed, the batches fold into
// one GEMM of [batches * M, K] rows (and B's gradient into one GEMM over those rows).
//
// Backward: dop(A) = dC op(B)^T and dop(B) = op(A)^T dC, per output batch, summed over the output
// batches that read the same input batch (broadcasting). Each input batch's sum is taken in a
// fixed order by one task, so results do not depend on the thread count.
//
// The engine resizes the first dimension of every activation with the training batch, so an
// activation's first dimension must stay the output's first dimension: it is refused as a matrix
// dimension (a rank-2 rhs, or a rank-2 lhs with adj_x), below the output's rank, or against a
// constant whose leading dimension is not 1.
#include <algorithm>
#include <climits>
#include <cstring>

#include "src/train/ops.h"

namespace edgeopt {
namespace train {
namespace {

constexpr int kMaxRank = 6;

// For every batch of one input, the output batches that read it (CSR: order[start[j] ..
// start[j + 1]) in increasing output batch order).
struct BatchGroups {
  std::vector<int64_t> start;
  std::vector<int64_t> order;

  void Build(const std::vector<int64_t>& offset, int64_t num_inputs) {
    start.assign(num_inputs + 1, 0);
    for (int64_t o : offset) ++start[o + 1];
    for (int64_t j = 0; j < num_inputs; ++j) start[j + 1] += start[j];
    std::vector<int64_t> next(start.begin(), start.end() - 1);
    order.resize(offset.size());
    for (size_t i = 0; i < offset.size(); ++i) order[next[offset[i]]++] = static_cast<int64_t>(i);
  }
  int64_t size() const { return static_cast<int64_t>(start.size()) - 1; }
};

class BatchMatMul : public OpKernel {
 public:
  Status Prepare(KernelContext* ctx) override {
    EDGEOPT_ENSURE(in.size() == 2 && in[0] >= 0 && in[1] >= 0, StatusCode::kInvalidModel,
                   "%s: needs (lhs, rhs)", Where().c_str());
    adj_x_ = ir::GetBool(node->attrs, "adj_x", false);
    adj_y_ = ir::GetBool(node->attrs, "adj_y", false);
    const Value& a = ctx->v(in[0]);
    const Value& b = ctx->v(in[1]);
    const int ra = a.rank(), rb = b.rank();
    EDGEOPT_ENSURE(ra >= 2 && rb >= 2 && ra <= kMaxRank && rb <= kMaxRank,
                   StatusCode::kInvalidModel, "%s: inputs %s and %s must have rank 2 to %d",
                   Where().c_str(), ShapeString(a.shape).c_str(), ShapeString(b.shape).c_str(),
                   kMaxRank);
    m_ = a.dim(adj_x_ ? -1 : -2);
    k_ = a.dim(adj_x_ ? -2 : -1);
    n_ = b.dim(adj_y_ ? -2 : -1);
    const int kb = b.dim(adj_y_ ? -1 : -2);
    // Before the shape checks: a batch in the wrong place shows as a mismatch at other sizes.
    EDGEOPT_RETURN_IF_ERROR(CheckBatchDimension(a, b));
    EDGEOPT_ENSURE(k_ == kb, StatusCode::kInvalidModel,
                   "%s: inputs %s and %s (adj_x %d, adj_y %d) do not multiply: %d vs %d",
                   Where().c_str(), ShapeString(a.shape).c_str(), ShapeString(b.shape).c_str(),
                   adj_x_, adj_y_, k_, kb);

    // Batch dimensions: the output's, and each output batch's lhs and rhs batch.
    const int rank = std::max(ra, rb);
    const int batch_rank = rank - 2;
    std::vector<int> out_shape(rank);
    std::vector<int64_t> stride_a(batch_rank), stride_b(batch_rank);
    num_a_ = 1;
    num_b_ = 1;
    for (int i = batch_rank - 1; i >= 0; --i) {
      const int ia = i - (rank - ra), ib = i - (rank - rb);
      const int da = ia >= 0 ? a.shape[ia] : 1;
      const int db = ib >= 0 ? b.shape[ib] : 1;
      EDGEOPT_ENSURE(da == db || da == 1 || db == 1, StatusCode::kInvalidModel,
                     "%s: batch dimensions of %s and %s do not broadcast", Where().c_str(),
                     ShapeString(a.shape).c_str(), ShapeString(b.shape).c_str());
      out_shape[i] = da == 1 ? db : da;
      stride_a[i] = da == 1 ? 0 : num_a_;
      stride_b[i] = db == 1 ? 0 : num_b_;
      num_a_ *= da;
      num_b_ *= db;
    }
    out_shape[rank - 2] = m_;
    out_shape[rank - 1] = n_;
    const int64_t batches = NumElements(std::vector<int>(out_shape.begin(), out_shape.end() - 2));
    // B shared by every batch and A not transposed: A's batches are consecutive [M, K] row
    // blocks, and so are C's, so they are one GEMM.
    fold_ = num_b_ == 1 && !adj_x_;
    const int64_t rows = fold_ ? batches * m_ : m_;
    EDGEOPT_ENSURE(rows <= INT_MAX, StatusCode::kUnsupported, "%s: %lld rows are too many",
                   Where().c_str(), static_cast<long long>(rows));
    rows_ = static_cast<int>(rows);
    a_off_.assign(fold_ ? 1 : batches, 0);
    b_off_.assign(a_off_.size(), 0);
    if (!fold_) {
      for (int64_t o = 0; o < batches; ++o) {
        int64_t rest = o;
        for (int i = batch_rank - 1; i >= 0; --i) {
          const int64_t index = rest % out_shape[i];
          rest /= out_shape[i];
          a_off_[o] += index * stride_a[i];
          b_off_[o] += index * stride_b[i];
        }
      }
    }
    group_a_.Build(a_off_, fold_ ? 1 : num_a_);
    group_b_.Build(b_off_, num_b_);
    ctx->gemm->ReserveThreads(ctx->threads());
    SetShape(&ctx->v(out[0]), out_shape);
    return Status::Ok();
  }

  void Forward(KernelContext* ctx) override {
    const float* a = ctx->v(in[0]).d();
    const float* b = ctx->v(in[1]).d();
    float* c = ctx->v(out[0]).d();
    const int64_t a_size = int64_t{m_} * k_, b_size = int64_t{k_} * n_, c_size = int64_t{m_} * n_;
    ForEach(ctx, static_cast<int64_t>(a_off_.size()), [&](int64_t o, int task) {
      Mm(ctx, task, adj_x_, adj_y_, rows_, n_, k_, a + a_off_[o] * a_size, lda(),
         b + b_off_[o] * b_size, ldb(), c + o * c_size, n_, false);
    });
  }

  void Backward(KernelContext* ctx) override {
    const float* a = ctx->v(in[0]).d();
    const float* b = ctx->v(in[1]).d();
    const float* dc = ctx->v(out[0]).g();
    const int64_t a_size = int64_t{m_} * k_, b_size = int64_t{k_} * n_, c_size = int64_t{m_} * n_;
    // Input 0 first: when both inputs are one tensor, it is the one that overwrites.
    if (float* da = InGrad(ctx, 0)) {
      Accumulate(ctx, group_a_, da, fold_ ? int64_t{rows_} * k_ : a_size, Over(0),
                 [&](int64_t o, float* dst, bool acc, int task) {
                   const float* bo = b + b_off_[o] * b_size;
                   const float* dco = dc + o * c_size;
                   if (!adj_x_) {  // dA[M,K] = dC op(B)^T
                     Mm(ctx, task, false, !adj_y_, rows_, k_, n_, dco, n_, bo, ldb(), dst, k_, acc);
                   } else {  // dA[K,M] = op(B) dC^T
                     Mm(ctx, task, adj_y_, true, k_, m_, n_, bo, ldb(), dco, n_, dst, m_, acc);
                   }
                 });
    }
    if (float* db = InGrad(ctx, 1)) {
      Accumulate(ctx, group_b_, db, b_size, Over(1),
                 [&](int64_t o, float* dst, bool acc, int task) {
                   const float* ao = a + a_off_[o] * a_size;
                   const float* dco = dc + o * c_size;
                   if (!adj_y_) {  // dB[K,N] = op(A)^T dC
                     Mm(ctx, task, !adj_x_, false, k_, n_, rows_, ao, lda(), dco, n_, dst, n_, acc);
                   } else {  // dB[N,K] = dC^T op(A)
                     Mm(ctx, task, true, adj_x_, n_, k_, rows_, dco, n_, ao, lda(), dst, k_, acc);
                   }
                 });
    }
  }

 private:
  // Row lengths of A and B as stored.
  int lda() const { return adj_x_ ? m_ : k_; }
  int ldb() const { return adj_y_ ? k_ : n_; }

  Status CheckBatchDimension(const Value& a, const Value& b) const {
    const int rank = std::max(a.rank(), b.rank());
    for (int side = 0; side < 2; ++side) {
      const Value& x = side == 0 ? a : b;
      const Value& other = side == 0 ? b : a;
      if (x.kind != ValueKind::kActivation) continue;
      const char* name = side == 0 ? "lhs" : "rhs";
      const char* why = nullptr;
      if (x.rank() < rank) {
        why = "has a lower rank than the output";
      } else if (x.rank() == 2 && (side == 1 || adj_x_)) {
        why = "is rank 2 with its batch dimension as a matrix dimension";
      } else if (x.rank() >= 3 && other.kind != ValueKind::kActivation && other.rank() == rank &&
                 other.shape[0] != 1) {
        why = "meets a constant whose first dimension is not 1";
      }
      if (why != nullptr) {
        return MakeStatus(StatusCode::kUnsupported,
                          "%s: activation %s %s %s (adj_x %d, adj_y %d); training needs an "
                          "activation's first (batch) dimension to stay the output's first",
                          Where().c_str(), name, ShapeString(x.shape).c_str(), why, adj_x_, adj_y_);
      }
    }
    return Status::Ok();
  }

  // f(item, task) for items [0, n): spread over the pool with serial GEMMs (task >= 0) when
  // there are at least as many items as threads, else one item at a time with threaded GEMMs
  // (task -1).
  template <typename F>
  void ForEach(KernelContext* ctx, int64_t n, F&& f) {
    const int threads = ctx->threads();
    if (threads > 1 && n >= threads) {
      ParallelChunks(ctx, n, [&](int64_t begin, int64_t end, int task) {
        for (int64_t i = begin; i < end; ++i) f(i, task);
      });
    } else {
      for (int64_t i = 0; i < n; ++i) f(i, -1);
    }
  }

  // The gradient of one input: for each of its batches, the contributions of the output batches
  // that read it, in order; the first one overwrites when `over` (or the batch is zeroed when
  // no output batch reads it).
  template <typename F>
  void Accumulate(KernelContext* ctx, const BatchGroups& groups, float* grad, int64_t size,
                  bool over, F&& contribution) {
    ForEach(ctx, groups.size(), [&](int64_t j, int task) {
      float* dst = grad + j * size;
      const int64_t first = groups.start[j], last = groups.start[j + 1];
      if (first == last && over) std::memset(dst, 0, sizeof(float) * size);
      for (int64_t p = first; p < last; ++p) {
        contribution(groups.order[p], dst, p > first || !over, task);
      }
    });
  }

  static void Mm(KernelContext* ctx, int task, bool trans_a, bool trans_b, int m, int n, int k,
                 const float* a, int lda, const float* b, int ldb, float* c, int ldc,
                 bool accumulate) {
    if (task < 0) {
      ctx->gemm->Run(trans_a, trans_b, m, n, k, a, lda, b, ldb, c, ldc, accumulate, {}, ctx->pool);
    } else {
      ctx->gemm->RunSerial(trans_a, trans_b, m, n, k, a, lda, b, ldb, c, ldc, accumulate, {}, task);
    }
  }

  bool adj_x_ = false, adj_y_ = false, fold_ = false;
  int m_ = 0, k_ = 0, n_ = 0;
  int rows_ = 0;  // GEMM rows of A and C: M, or batches * M when folded
  int64_t num_a_ = 1, num_b_ = 1;
  std::vector<int64_t> a_off_, b_off_;  // per GEMM: batch of A and of B
  BatchGroups group_a_, group_b_;
};

}  // namespace

std::unique_ptr<OpKernel> NewBatchMatMul() { return std::make_unique<BatchMatMul>(); }

}  // namespace train
}  // namespace edgeopt
