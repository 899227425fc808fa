// Weight packing for the microkernels (ISA-independent; runs once at Prepare). Layouts are
// described in ukernels.h.
#ifndef EDGEOPT_SRC_RUNTIME_KERNELS_UKERNELS_PACK_H_
#define EDGEOPT_SRC_RUNTIME_KERNELS_UKERNELS_PACK_H_

#include <cstddef>
#include <cstdint>

#include "src/runtime/kernels/ukernels/ukernels.h"

namespace edgeopt {
namespace rt {
namespace uk {

inline int RoundUp(int x, int m) { return (x + m - 1) / m * m; }
inline int DivideRoundUp(int x, int m) { return (x + m - 1) / m; }

// Integer GEMM weights [n][taps][kc] (int8, or uint8 when `weights_unsigned`: then w' = w - 128)
// into ceil(n / nr) blocks of QS8PackedBlockBytes(nr, taps, kcp) bytes at `packed`.
// bias (int32, may be null), zu and zwp (the u-domain input and w'-domain weight zero points)
// give bias'; multiplier/shift are per channel (null: no requant blocks, the qd8 layout).
struct QS8PackSource {
  const uint8_t* weights = nullptr;  // raw bytes of the filter
  bool weights_unsigned = false;
  const int32_t* bias = nullptr;
  int32_t zu = 0;
  int32_t zwp = 0;
  const int32_t* multiplier = nullptr;
  const int32_t* shift = nullptr;
  int weight_bytes = 1;  // 2: weights widened to int16 (kernels without VNNI)
};
void PackQS8Gemm(int nr, int n, int taps, int kc, int kcp, const QS8PackSource& src, void* packed);

// sum over k of each row of w' ([n][K], int8 or uint8 - 128), wrapped to int32.
void WeightSums(int n, int64_t K, const uint8_t* weights, bool weights_unsigned, int32_t* sums);

// Float GEMM weights [n][taps][kc] into ceil(n / nr) blocks (F32PackedBlockBytes).
void PackF32Gemm(int nr, int n, int taps, int kc, const float* weights, const float* bias,
                 float* packed);

// s16 GEMM weights (S16GemmConfig::nr > 0): int8 [n][K] widened to int16 in ceil(n / nr)
// blocks of ceil(K / 2) pairs of k, each pair nr columns of 2 values (column c's w[2p], then
// w[2p + 1]); zeros for columns past n and for k = K when K is odd. S16PackedElements values.
int64_t S16PackedElements(int nr, int n, int64_t K);
void PackS16Weights(int nr, int n, int64_t K, const int8_t* weights, int16_t* packed);

// Depthwise weights [1][kh][kw][channels] (TFLite's layout), packed with the taps in
// column-major order (t = fx * kh + fy), the order of the kernels' input pointers.
struct QS8DwPackSource {
  const uint8_t* weights = nullptr;
  bool weights_unsigned = false;
  int32_t weight_zero_point = 0;  // zw (uint8 only)
  const int32_t* bias = nullptr;
  int32_t input_zero_point = 0;  // zx
  const int32_t* multiplier = nullptr;
  const int32_t* shift = nullptr;
};
void PackQS8Dw(int channels, int kh, int kw, const QS8DwPackSource& src, void* packed);
// The qd8 layout (QD8DwPackedBlockBytes) of int8 weights; sums[c] = sum over taps of w.
void PackQD8Dw(int channels, int kh, int kw, const int8_t* weights, void* packed, int32_t* sums);
void PackF32Dw(int channels, int kh, int kw, const float* weights, const float* bias,
               float* packed);

}  // namespace uk
}  // namespace rt
}  // namespace edgeopt

#endif  // EDGEOPT_SRC_RUNTIME_KERNELS_UKERNELS_PACK_H_
