// Portable tiled sparse kernels (MR = 8): the packing of the SIMD versions in plain loops.
#include <algorithm>
#include <cstring>

#include "src/runtime/kernels/ukernels/sparse_ukernels.h"

namespace edgeopt {
namespace rt {

void f32_pixels_to_planes__scalar(int count, int channels, const float* in, float* x,
                                  int64_t plane) {
  for (int i = 0; i < count; ++i) {
    for (int c = 0; c < channels; ++c) x[c * plane + i] = in[int64_t{i} * channels + c];
  }
}

void f32_tile_to_pixels__scalar(int count, int channels, const float* tile, int64_t ldt,
                                float* const* dst) {
  for (int l = 0; l < count; ++l) {
    if (dst[l] == nullptr) continue;
    for (int c = 0; c < channels; ++c) dst[l][c] = tile[c * ldt + l];
  }
}

void f32_spconv_minmax_ukernel_8__scalar(int lanes, const float* x, const SparseConvTaps& w,
                                         const float* bias, int n0, int n1, float lo, float hi,
                                         float* tile, int64_t ldt, bool accumulate) {
  for (int n = n0; n < n1; ++n) {
    float* t = tile + (n - n0) * ldt;
    for (int l0 = 0; l0 < lanes; l0 += 8) {
      float acc[8];
      for (int l = 0; l < 8; ++l)
        acc[l] = accumulate ? t[l0 + l] : bias != nullptr ? bias[n] : 0.0f;
      for (int32_t j = w.row_ptr[n]; j < w.row_ptr[n + 1]; ++j) {
        const float v = w.values[j];
        const float* p = x + w.off[j] + l0;
        for (int l = 0; l < 8; ++l) acc[l] += v * p[l];
      }
      for (int l = 0; l < 8; ++l) t[l0 + l] = std::min(std::max(acc[l], lo), hi);
    }
  }
}

void f32_spmm_minmax_ukernel_8__scalar(int M, const float* A, int64_t lda,
                                       const ref::BlockCsr<float>& w, const float* bias, float lo,
                                       float hi, float* C, int64_t ldc, float* scratch) {
  constexpr int kMR = 8;
  const int K = w.cols, N = w.rows, B = w.block;
  float* panel = scratch;
  float* out = scratch + static_cast<int64_t>(K) * kMR;
  for (int m0 = 0; m0 < M; m0 += kMR) {
    const int rows = std::min(kMR, M - m0);
    std::memset(panel, 0, sizeof(float) * static_cast<size_t>(K) * kMR);
    for (int r = 0; r < rows; ++r) {
      const float* a = A + (m0 + r) * lda;
      for (int k = 0; k < K; ++k) panel[int64_t{k} * kMR + r] = a[k];
    }
    for (int n = 0; n < N; ++n) {
      float acc[kMR] = {};
      for (int32_t j = w.row_ptr[n]; j < w.row_ptr[n + 1]; ++j) {
        const float* v = w.values + int64_t{j} * B;
        const float* p = panel + int64_t{w.col[j]} * kMR;
        for (int i = 0; i < B; ++i) {
          for (int r = 0; r < kMR; ++r) acc[r] += v[i] * p[i * kMR + r];
        }
      }
      const float b = bias != nullptr ? bias[n] : 0.0f;
      for (int r = 0; r < kMR; ++r) {
        out[int64_t{n} * kMR + r] = std::min(std::max(acc[r] + b, lo), hi);
      }
    }
    for (int r = 0; r < rows; ++r) {
      float* c = C + (m0 + r) * ldc;
      for (int n = 0; n < N; ++n) c[n] = out[int64_t{n} * kMR + r];
    }
  }
}

void qs8_spmm_ukernel_8__scalar(int M, const int8_t* A, int64_t lda, const PackedPairs& w,
                                int32_t* acc, int64_t ldc, void* scratch) {
  constexpr int kMR = 8;
  const int K = w.cols, N = w.rows;
  const int K2 = (K + 1) / 2;
  int16_t* panel = static_cast<int16_t*>(scratch);
  int32_t* out = reinterpret_cast<int32_t*>(panel + static_cast<int64_t>(K2) * kMR * 2);
  for (int m0 = 0; m0 < M; m0 += kMR) {
    const int rows = std::min(kMR, M - m0);
    std::memset(panel, 0, sizeof(int16_t) * static_cast<size_t>(K2) * kMR * 2);
    for (int r = 0; r < rows; ++r) {
      const int8_t* a = A + (m0 + r) * lda;
      for (int k = 0; k < K; ++k) panel[(int64_t{k / 2} * kMR + r) * 2 + (k & 1)] = a[k];
    }
    for (int n = 0; n < N; ++n) {
      int32_t sum[kMR] = {};
      for (int32_t j = w.row_ptr[n]; j < w.row_ptr[n + 1]; ++j) {
        const int16_t w0 = static_cast<int16_t>(w.word[j] & 0xffff);
        const int16_t w1 = static_cast<int16_t>(static_cast<uint32_t>(w.word[j]) >> 16);
        const int16_t* p = panel + int64_t{w.k[j]} * kMR * 2;
        for (int r = 0; r < kMR; ++r) sum[r] += w0 * p[2 * r] + w1 * p[2 * r + 1];
      }
      for (int r = 0; r < kMR; ++r) out[int64_t{n} * kMR + r] = sum[r];
    }
    for (int r = 0; r < rows; ++r) {
      int32_t* c = acc + (m0 + r) * ldc;
      for (int n = 0; n < N; ++n) c[n] = out[int64_t{n} * kMR + r];
    }
  }
}

namespace {

// The quad kernels' panel: rows [0, rows) of A (row stride lda, K columns) as words
// panel[q * 16 + r] = bytes 4q .. 4q + 3 of row r, each xored with 0x80 (x + 128); bytes past
// K and rows past `rows` hold 0x80 (x = 0).
void PackQuadPanel16(int rows, const int8_t* A, int64_t lda, int K, uint32_t* panel) {
  constexpr int kMR = 16;
  constexpr uint32_t kFlip = 0x80808080u;
  const int K4 = (K + 3) / 4, full = K / 4;
  for (int r = 0; r < kMR; ++r) {
    uint32_t* p = panel + r;
    if (r >= rows) {
      for (int q = 0; q < K4; ++q) p[int64_t{q} * kMR] = kFlip;
      continue;
    }
    const int8_t* a = A + r * lda;
    for (int q = 0; q < full; ++q) {
      uint32_t v;
      std::memcpy(&v, a + 4 * q, 4);
      p[int64_t{q} * kMR] = v ^ kFlip;
    }
    if (full < K4) {
      uint8_t b[4] = {0x80, 0x80, 0x80, 0x80};
      for (int i = 0; 4 * full + i < K; ++i) {
        b[i] = static_cast<uint8_t>(static_cast<uint8_t>(a[4 * full + i]) ^ 0x80);
      }
      std::memcpy(p + int64_t{full} * kMR, b, 4);
    }
  }
}

}  // namespace

void qs8_spmm_quads_ukernel_16__scalar(int M, const int8_t* A, int64_t lda, const PackedQuads& w,
                                       int32_t* acc, void* scratch) {
  constexpr int kMR = 16;
  const int N = w.rows;
  uint32_t* panel = static_cast<uint32_t*>(scratch);
  for (int m0 = 0; m0 < M; m0 += kMR) {
    PackQuadPanel16(std::min(kMR, M - m0), A + m0 * lda, lda, w.cols, panel);
    int32_t* out = acc + int64_t{m0 / kMR} * N * kMR;
    for (int n = 0; n < N; ++n) {
      // Modulo 2^32, as vpdpbusd adds: the shifted sums may pass int32 where x * w does not.
      uint32_t sum[kMR] = {};
      for (int32_t j = w.row_ptr[n]; j < w.row_ptr[n + 1]; ++j) {
        const uint32_t word = static_cast<uint32_t>(w.word[j]);
        const uint32_t* p = panel + int64_t{w.k[j]} * kMR;
        for (int r = 0; r < kMR; ++r) {
          for (int i = 0; i < 4; ++i) {
            const int32_t x = static_cast<int32_t>((p[r] >> (8 * i)) & 0xff);  // x + 128
            const int32_t wi = static_cast<int8_t>((word >> (8 * i)) & 0xff);
            sum[r] += static_cast<uint32_t>(x * wi);
          }
        }
      }
      const uint32_t shift = 128u * static_cast<uint32_t>(w.row_sum[n]);
      for (int r = 0; r < kMR; ++r) {
        out[int64_t{n} * kMR + r] = static_cast<int32_t>(sum[r] - shift);
      }
    }
  }
}

}  // namespace rt
}  // namespace edgeopt
