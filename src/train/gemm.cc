#include "src/train/gemm.h"

#include <algorithm>
#include <cstring>

#if defined(__SSE2__)
#include <xmmintrin.h>
#endif

namespace edgeopt {
namespace train {

void f32_gemm_ukernel__scalar_4x8(int kc, const float* a, const float* b, float* c, int ldc, int m,
                                  int n, const GemmTileParams& params) {
  constexpr int kMr = 4;
  constexpr int kNr = 8;
  float acc[kMr][kNr] = {};
  for (int k = 0; k < kc; ++k) {
    for (int i = 0; i < kMr; ++i) {
      const float ai = a[i];
      for (int j = 0; j < kNr; ++j) acc[i][j] += ai * b[j];
    }
    a += kMr;
    b += kNr;
  }
  for (int i = 0; i < m; ++i) {
    float* row = c + static_cast<long>(i) * ldc;
    for (int j = 0; j < n; ++j) {
      float v = acc[i][j];
      if (params.accumulate) v += row[j];
      if (params.bias != nullptr) v += params.bias[j];
      if (params.relu && v < 0.0f) v = 0.0f;
      row[j] = v;
    }
  }
}

namespace {

inline int CeilDiv(int a, int b) { return (a + b - 1) / b; }

// op(A) rows [0, mc) x columns [0, kc) into MR-row panels (zero-padded).
void PackA(bool trans, const float* a, int lda, int mc, int kc, int mr, float* dst) {
  for (int p = 0; p < mc; p += mr) {
    const int rows = std::min(mr, mc - p);
    if (trans) {
      // A(i, k) = a[k * lda + i]: MR contiguous values per k.
      for (int k = 0; k < kc; ++k) {
        const float* src = a + static_cast<long>(k) * lda + p;
        float* d = dst + k * mr;
        int i = 0;
        for (; i < rows; ++i) d[i] = src[i];
        for (; i < mr; ++i) d[i] = 0.0f;
      }
    } else {
      // Row pointers (padding rows read row 0 and are zeroed after): contiguous writes.
      const float* rowp[16];
      for (int i = 0; i < mr; ++i) rowp[i] = a + static_cast<long>(p + (i < rows ? i : 0)) * lda;
      int k = 0;
#if defined(__SSE2__)
      if (rows == mr && mr % 4 == 0) {
        // 4x4 transposes: 4 rows x 4 k values per step.
        for (; k + 4 <= kc; k += 4) {
          for (int i = 0; i < mr; i += 4) {
            __m128 r0 = _mm_loadu_ps(rowp[i] + k);
            __m128 r1 = _mm_loadu_ps(rowp[i + 1] + k);
            __m128 r2 = _mm_loadu_ps(rowp[i + 2] + k);
            __m128 r3 = _mm_loadu_ps(rowp[i + 3] + k);
            _MM_TRANSPOSE4_PS(r0, r1, r2, r3);
            _mm_storeu_ps(dst + (k + 0) * mr + i, r0);
            _mm_storeu_ps(dst + (k + 1) * mr + i, r1);
            _mm_storeu_ps(dst + (k + 2) * mr + i, r2);
            _mm_storeu_ps(dst + (k + 3) * mr + i, r3);
          }
        }
      }
#endif
      for (; k < kc; ++k) {
        float* d = dst + k * mr;
        for (int i = 0; i < mr; ++i) d[i] = i < rows ? rowp[i][k] : 0.0f;
      }
    }
    dst += static_cast<long>(kc) * mr;
  }
}

// op(B) rows [0, kc) x columns [0, nc) into NR-column panels (zero-padded).
void PackB(bool trans, const float* b, int ldb, int kc, int nc, int nr, float* dst) {
  for (int p = 0; p < nc; p += nr) {
    const int cols = std::min(nr, nc - p);
    if (!trans) {
      for (int k = 0; k < kc; ++k) {
        const float* src = b + static_cast<long>(k) * ldb + p;
        float* d = dst + k * nr;
        if (cols == nr) {
          int j = 0;
#if defined(__SSE2__)
          for (; j + 4 <= nr; j += 4) _mm_storeu_ps(d + j, _mm_loadu_ps(src + j));
#endif
          for (; j < nr; ++j) d[j] = src[j];
        } else {
          int j = 0;
          for (; j < cols; ++j) d[j] = src[j];
          for (; j < nr; ++j) d[j] = 0.0f;
        }
      }
    } else {
      // B(k, j) = b[j * ldb + k]: column pointers, contiguous writes.
      const float* colp[32];
      for (int j = 0; j < nr; ++j) colp[j] = b + static_cast<long>(p + (j < cols ? j : 0)) * ldb;
      int k = 0;
#if defined(__SSE2__)
      if (cols == nr && nr % 4 == 0) {
        for (; k + 4 <= kc; k += 4) {
          for (int j = 0; j < nr; j += 4) {
            __m128 r0 = _mm_loadu_ps(colp[j] + k);
            __m128 r1 = _mm_loadu_ps(colp[j + 1] + k);
            __m128 r2 = _mm_loadu_ps(colp[j + 2] + k);
            __m128 r3 = _mm_loadu_ps(colp[j + 3] + k);
            _MM_TRANSPOSE4_PS(r0, r1, r2, r3);
            _mm_storeu_ps(dst + (k + 0) * nr + j, r0);
            _mm_storeu_ps(dst + (k + 1) * nr + j, r1);
            _mm_storeu_ps(dst + (k + 2) * nr + j, r2);
            _mm_storeu_ps(dst + (k + 3) * nr + j, r3);
          }
        }
      }
#endif
      for (; k < kc; ++k) {
        float* d = dst + k * nr;
        for (int j = 0; j < nr; ++j) d[j] = j < cols ? colp[j][k] : 0.0f;
      }
    }
    dst += static_cast<long>(kc) * nr;
  }
}

}  // namespace

Gemm::Gemm(const rt::CpuInfo& cpu) {
  kernel_ = f32_gemm_ukernel__scalar_4x8;
  mr_ = 4;
  nr_ = 8;
  mc_ = 64;
  kc_ = 256;
  nc_ = 256;
#if defined(EDGEOPT_HAVE_AVX2)
  if (cpu.UseAvx2()) {
    kernel_ = f32_gemm_ukernel__avx2_6x16;
    isa_name_ = "avx2";
    mr_ = 6;
    nr_ = 16;
    mc_ = 120;
    kc_ = 256;
    nc_ = 512;
  }
#endif
#if defined(EDGEOPT_HAVE_AVX512)
  if (cpu.UseAvx512()) {
    kernel_ = f32_gemm_ukernel__avx512_12x32;
    isa_name_ = "avx512";
    mr_ = 12;
    nr_ = 32;
    mc_ = 192;
    kc_ = 256;
    nc_ = 512;
  }
#endif
  (void)cpu;
}

Gemm::Scratch& Gemm::ScratchFor(int thread) {
  if (static_cast<int>(scratch_.size()) <= thread) scratch_.resize(thread + 1);
  return scratch_[thread];
}

void Gemm::Block(bool trans_a, bool trans_b, int m, int n, int k, const float* a, int lda,
                 const float* b, int ldb, float* c, int ldc, bool accumulate, const float* bias,
                 bool relu, Scratch* scratch) {
  if (m <= 0 || n <= 0) return;
  if (k <= 0) {
    for (int i = 0; i < m; ++i) {
      float* row = c + static_cast<long>(i) * ldc;
      for (int j = 0; j < n; ++j) {
        float v = accumulate ? row[j] : 0.0f;
        if (bias != nullptr) v += bias[j];
        if (relu && v < 0.0f) v = 0.0f;
        row[j] = v;
      }
    }
    return;
  }
  // Balanced K blocks (no short tail block).
  const int k_blocks = CeilDiv(k, kc_);
  const int kc_step = CeilDiv(k, k_blocks);
  const int nc_max = std::min(n, nc_);
  const int mc_max = std::min(m, mc_);
  const size_t b_need = static_cast<size_t>(CeilDiv(nc_max, nr_)) * nr_ * kc_step;
  const size_t a_need = static_cast<size_t>(CeilDiv(mc_max, mr_)) * mr_ * kc_step;
  if (scratch->b.size() < b_need) scratch->b.resize(b_need);
  if (scratch->a.size() < a_need) scratch->a.resize(a_need);
  float* bpack = scratch->b.data();
  float* apack = scratch->a.data();

  for (int jc = 0; jc < n; jc += nc_) {
    const int nc = std::min(nc_, n - jc);
    for (int pc = 0; pc < k; pc += kc_step) {
      const int kc = std::min(kc_step, k - pc);
      const bool last_k = pc + kc >= k;
      const float* bsrc =
          trans_b ? b + static_cast<long>(jc) * ldb + pc : b + static_cast<long>(pc) * ldb + jc;
      PackB(trans_b, bsrc, ldb, kc, nc, nr_, bpack);
      for (int ic = 0; ic < m; ic += mc_) {
        const int mc = std::min(mc_, m - ic);
        const float* asrc =
            trans_a ? a + static_cast<long>(pc) * lda + ic : a + static_cast<long>(ic) * lda + pc;
        PackA(trans_a, asrc, lda, mc, kc, mr_, apack);
        for (int jr = 0; jr < nc; jr += nr_) {
          GemmTileParams params;
          params.accumulate = accumulate || pc > 0;
          params.bias = (last_k && bias != nullptr) ? bias + jc + jr : nullptr;
          params.relu = last_k && relu;
          const float* bp = bpack + static_cast<long>(jr / nr_) * kc * nr_;
          const int nn = std::min(nr_, nc - jr);
          for (int ir = 0; ir < mc; ir += mr_) {
            kernel_(kc, apack + static_cast<long>(ir / mr_) * kc * mr_, bp,
                    c + static_cast<long>(ic + ir) * ldc + jc + jr, ldc, std::min(mr_, mc - ir), nn,
                    params);
          }
        }
      }
    }
  }
}

void Gemm::RunSerial(bool trans_a, bool trans_b, int m, int n, int k, const float* a, int lda,
                     const float* b, int ldb, float* c, int ldc, bool accumulate,
                     const GemmEpilogue& epilogue, int thread) {
  Block(trans_a, trans_b, m, n, k, a, lda, b, ldb, c, ldc, accumulate, epilogue.bias, epilogue.relu,
        &ScratchFor(thread));
}

void Gemm::Run(bool trans_a, bool trans_b, int m, int n, int k, const float* a, int lda,
               const float* b, int ldb, float* c, int ldc, bool accumulate,
               const GemmEpilogue& epilogue, rt::ThreadPool* pool) {
  const int threads = pool != nullptr ? pool->num_threads() : 1;
  const double flops = 2.0 * m * n * static_cast<double>(k);
  const int m_panels = CeilDiv(m, mr_);
  const int n_panels = CeilDiv(n, nr_);
  if (threads <= 1 || flops < 2e5 || (m_panels < 2 && n_panels < 2)) {
    RunSerial(trans_a, trans_b, m, n, k, a, lda, b, ldb, c, ldc, accumulate, epilogue, 0);
    return;
  }
  ScratchFor(threads - 1);  // grow before the threads start
  // Split the dimension with more panels into `tasks` slices of whole panels.
  const bool split_m = m_panels >= n_panels || m_panels >= 4 * threads;
  const int panels = split_m ? m_panels : n_panels;
  const int tasks = std::min(threads, panels);
  pool->ParallelFor(tasks, [&](int task, int thread) {
    const int p0 = static_cast<int>(static_cast<long>(panels) * task / tasks);
    const int p1 = static_cast<int>(static_cast<long>(panels) * (task + 1) / tasks);
    if (split_m) {
      const int r0 = p0 * mr_;
      const int r1 = std::min(m, p1 * mr_);
      const float* a0 = trans_a ? a + r0 : a + static_cast<long>(r0) * lda;
      Block(trans_a, trans_b, r1 - r0, n, k, a0, lda, b, ldb, c + static_cast<long>(r0) * ldc, ldc,
            accumulate, epilogue.bias, epilogue.relu, &scratch_[thread]);
    } else {
      const int c0 = p0 * nr_;
      const int c1 = std::min(n, p1 * nr_);
      const float* b0 = trans_b ? b + static_cast<long>(c0) * ldb : b + c0;
      Block(trans_a, trans_b, m, c1 - c0, k, a, lda, b0, ldb, c + c0, ldc, accumulate,
            epilogue.bias != nullptr ? epilogue.bias + c0 : nullptr, epilogue.relu,
            &scratch_[thread]);
    }
  });
}

}  // namespace train
}  // namespace edgeopt
