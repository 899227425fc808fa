// im2col rows for the GEMM-based convolutions (conv_igemm.cc for 1-2 input channels, the 16x8
// convolution in conv_2d.cc): windows inside the image are copied a window row at a time.
#ifndef EDGEOPT_SRC_RUNTIME_KERNELS_IM2COL_H_
#define EDGEOPT_SRC_RUNTIME_KERNELS_IM2COL_H_

#include <cstddef>
#include <cstdint>
#include <cstring>

#include "src/runtime/kernels/reference/conv.h"

namespace edgeopt {
namespace rt {

// Copies n bytes, sizeof(W) <= n <= 2 * sizeof(W), as two words that overlap when n is less
// than 2 * sizeof(W) (no byte outside [0, n) is read or written). With kXor every byte is
// xored with 0x80 (int8 to the u domain).
template <typename W, bool kXor>
inline void CopyTwoWords(const uint8_t* src, uint8_t* dst, size_t n) {
  constexpr W kFlip = static_cast<W>(0x8080808080808080ull);
  W a, b;
  std::memcpy(&a, src, sizeof(W));
  std::memcpy(&b, src + n - sizeof(W), sizeof(W));
  if (kXor) {
    a = static_cast<W>(a ^ kFlip);
    b = static_cast<W>(b ^ kFlip);
  }
  std::memcpy(dst, &a, sizeof(W));
  std::memcpy(dst + n - sizeof(W), &b, sizeof(W));
}

// Copies n bytes, 1 <= n <= 16, with at most two loads and two stores.
template <bool kXor>
inline void CopyFewBytes(const uint8_t* src, uint8_t* dst, size_t n) {
  if (n >= 8) {
    CopyTwoWords<uint64_t, kXor>(src, dst, n);
  } else if (n >= 4) {
    CopyTwoWords<uint32_t, kXor>(src, dst, n);
  } else if (n >= 2) {
    CopyTwoWords<uint16_t, kXor>(src, dst, n);
  } else {
    dst[0] = kXor ? static_cast<uint8_t>(src[0] ^ 0x80) : src[0];
  }
}

// Rows [r0, r1) of the im2col matrix of `in` (all batch items; row m is output pixel m % pixels
// of batch item m / pixels) into `out`, which points at row r0: row stride `kstride` elements,
// taps in (fy, fx) order, each tap's in_c channels, `pad` for taps outside the image, zeros
// after K. With kXor the int8 input enters the u domain.
template <typename T, bool kXor>
void Im2colRows(const ::edgeopt::ref::ConvGeometry& g, const T* in, T* out, int64_t kstride, T pad,
                int64_t r0, int64_t r1) {
  // The geometry in locals: with T = uint8_t every store may alias `g`, and the compiler would
  // reload each field after every byte written (that made this loop 3x slower than the GEMM).
  const int in_h = g.in_h, in_w = g.in_w, in_c = g.in_c;
  const int fh = g.filter_h, fw = g.filter_w, sh = g.stride_h, sw = g.stride_w;
  const int dh = g.dilation_h, dw = g.dilation_w, out_h = g.out_h, out_w = g.out_w;
  const int64_t out_pixels = g.out_pixels();
  const int64_t K = g.K();
  const int64_t row = int64_t{in_w} * in_c;  // elements per input row
  const int64_t window_row = int64_t{fw} * in_c;
  const size_t window_bytes = static_cast<size_t>(window_row) * sizeof(T);
  const bool few_bytes = window_bytes <= 16;
  // Window rows of many channels: memcpy, or 4-byte words with kXor (an element loop is not
  // vectorized at -O2, and was a third of a 16x8 model's time). Words of 4 bytes, not 8: GCC
  // turns 8-byte unaligned copies into vldr on armhf, which faults.
  auto copy = [](const T* src, T* dst, int64_t n) {
    if (!kXor) {
      std::memcpy(dst, src, static_cast<size_t>(n) * sizeof(T));
      return;
    }
    const auto* s = reinterpret_cast<const uint8_t*>(src);
    auto* d = reinterpret_cast<uint8_t*>(dst);
    const size_t bytes = static_cast<size_t>(n) * sizeof(T);
    size_t i = 0;
    for (; i + 4 <= bytes; i += 4) {
      uint32_t w;
      std::memcpy(&w, s + i, 4);
      w ^= 0x80808080u;
      std::memcpy(d + i, &w, 4);
    }
    for (; i < bytes; ++i) d[i] = static_cast<uint8_t>(s[i] ^ 0x80);
  };
  int64_t b = r0 / out_pixels;
  int oy = static_cast<int>((r0 % out_pixels) / out_w);
  int ox = static_cast<int>((r0 % out_pixels) % out_w);
  for (int64_t m = r0; m < r1; ++m) {
    T* dst = out + (m - r0) * kstride;
    const T* in_b = in + b * in_h * row;
    const int iy0 = oy * sh - g.pad_top, ix0 = ox * sw - g.pad_left;
    if (dw == 1 && iy0 >= 0 && ix0 >= 0 && iy0 + (fh - 1) * dh < in_h && ix0 + fw <= in_w) {
      // The window lies inside the image: each of its rows is fw adjacent pixels.
      const T* src = in_b + int64_t{iy0} * row + int64_t{ix0} * in_c;
      if (few_bytes) {
        // Few channels (the first convolution of an image model): a loop per window row
        // would cost more than its 1-16 bytes.
        for (int fy = 0; fy < fh; ++fy, src += dh * row, dst += window_row) {
          CopyFewBytes<kXor>(reinterpret_cast<const uint8_t*>(src), reinterpret_cast<uint8_t*>(dst),
                             window_bytes);
        }
      } else {
        for (int fy = 0; fy < fh; ++fy, src += dh * row, dst += window_row) {
          copy(src, dst, window_row);
        }
      }
    } else {
      for (int fy = 0; fy < fh; ++fy) {
        const int iy = iy0 + fy * dh;
        for (int fx = 0; fx < fw; ++fx) {
          const int ix = ix0 + fx * dw;
          if (static_cast<unsigned>(iy) < static_cast<unsigned>(in_h) &&
              static_cast<unsigned>(ix) < static_cast<unsigned>(in_w)) {
            copy(in_b + iy * row + int64_t{ix} * in_c, dst, in_c);
          } else {
            for (int c = 0; c < in_c; ++c) dst[c] = pad;
          }
          dst += in_c;
        }
      }
    }
    for (int64_t k = K; k < kstride; ++k) out[(m - r0) * kstride + k] = T(0);
    if (++ox == out_w) {
      ox = 0;
      if (++oy == out_h) {
        oy = 0;
        ++b;
      }
    }
  }
}

}  // namespace rt
}  // namespace edgeopt

#endif  // EDGEOPT_SRC_RUNTIME_KERNELS_IM2COL_H_
