#include "src/runtime/kernels/ukernels/pack.h"

#include <algorithm>
#include <cstring>

namespace edgeopt {
namespace rt {
namespace uk {
namespace {

int32_t Wrap(int64_t x) { return static_cast<int32_t>(static_cast<uint32_t>(x)); }

int32_t WeightValue(const uint8_t* w, bool weights_unsigned, int64_t i) {
  return weights_unsigned ? int32_t{w[i]} - 128 : int32_t{static_cast<int8_t>(w[i])};
}

// sum over i < n of the weights' values (int8, or uint8 - 128): the bytes as unsigned values
// b + 128 (int8 b, its top bit flipped) or b (uint8), summed in 32-bit chunks that the compiler
// vectorizes, minus 128 per weight.
int64_t RowSum(const uint8_t* row, int64_t n, bool weights_unsigned) {
  const uint8_t flip = weights_unsigned ? 0 : 0x80;
  int64_t sum = 0;
  for (int64_t i0 = 0; i0 < n; i0 += int64_t{1} << 20) {  // 2^20 * 255 fits 32 bits
    const int64_t end = std::min(n, i0 + (int64_t{1} << 20));
    uint32_t chunk = 0;
    for (int64_t i = i0; i < end; ++i) chunk += static_cast<uint8_t>(row[i] ^ flip);
    sum += chunk;
  }
  return sum - 128 * n;
}

}  // namespace

void PackRequantBlocks(int channels, const int32_t* multiplier, const int32_t* shift,
                       RequantBlock16* blocks) {
  const int num_blocks = DivideRoundUp(channels, 16);
  for (int b = 0; b < num_blocks; ++b) {
    RequantBlock16& r = blocks[b];
    std::memset(&r, 0, sizeof(r));
    int32_t m[16], ls[16];
    int64_t round[16], sh[16], neg[16];
    for (int l = 0; l < 16; ++l) {
      const int c = b * 16 + l;
      const int32_t mult = c < channels ? multiplier[c] : 0;
      const int32_t s = c < channels ? shift[c] : 0;
      const int left = s > 0 ? s : 0;
      const int right = s > 0 ? 0 : -s;  // in [0, 31]
      m[l] = mult;
      ls[l] = left;
      round[l] = (int64_t{1} << 30) + (right > 0 ? (int64_t{1} << (30 + right)) : 0);
      sh[l] = 31 + right;
      neg[l] = right > 0 ? (int64_t{1} << 31) : 0;
    }
    for (int l = 0; l < 16; ++l) {
      r.lshift[l] = ls[l];
      r.mult[l] = m[l];
      r.mult_odd[l] = (l % 2 == 0) ? m[l + 1] : 0;
    }
    for (int i = 0; i < 8; ++i) {
      r.round_even[i] = round[2 * i];
      r.round_odd[i] = round[2 * i + 1];
      r.shift_even[i] = sh[2 * i];
      r.shift_odd[i] = sh[2 * i + 1];
      r.neg_even[i] = neg[2 * i];
      r.neg_odd[i] = neg[2 * i + 1];
    }
  }
}

int32_t RequantizeScalar(int32_t acc, const RequantBlock16& block, int lane, bool ruy_rounding) {
  const int i = lane / 2;
  const bool odd = lane % 2 != 0;
  const int32_t shifted = static_cast<int32_t>(static_cast<uint32_t>(acc) << block.lshift[lane]);
  const int64_t p = int64_t{shifted} * block.mult[lane];
  int64_t t = p + (odd ? block.round_odd[i] : block.round_even[i]);
  if (!ruy_rounding && p < -(int64_t{1} << 30)) t -= odd ? block.neg_odd[i] : block.neg_even[i];
  return static_cast<int32_t>(t >> (odd ? block.shift_odd[i] : block.shift_even[i]));
}

void WeightSums(int n, int64_t K, const uint8_t* weights, bool weights_unsigned, int32_t* sums) {
  for (int c = 0; c < n; ++c) sums[c] = Wrap(RowSum(weights + c * K, K, weights_unsigned));
}

void PackQS8Gemm(int nr, int n, int taps, int kc, int kcp, const QS8PackSource& src, void* packed) {
  const bool requant = src.multiplier != nullptr;
  const int wb = src.weight_bytes;
  const size_t block_bytes =
      requant ? QS8PackedBlockBytes(nr, taps, kcp, wb) : QD8PackedBlockBytes(nr, taps, kcp, wb);
  const int64_t K = int64_t{taps} * kc;
  uint8_t* out = static_cast<uint8_t*>(packed);
  for (int n0 = 0; n0 < n; n0 += nr) {
    uint8_t* block = out + static_cast<size_t>(n0 / nr) * block_bytes;
    std::memset(block, 0, block_bytes);
    int32_t* bias = reinterpret_cast<int32_t*>(block);
    int8_t* w = reinterpret_cast<int8_t*>(block + nr * 4);
    const int nc = std::min(nr, n - n0);
    for (int j = 0; j < nc; ++j) {
      const int c = n0 + j;
      // The row's taps * kc values are contiguous.
      const uint8_t* row = src.weights + int64_t{c} * K;
      const int64_t b = src.bias != nullptr ? src.bias[c] : 0;
      bias[j] =
          Wrap(b - int64_t{src.zu} * RowSum(row, K, src.weights_unsigned) + K * src.zu * src.zwp);
      for (int t = 0; t < taps; ++t) {
        const uint8_t* r = row + int64_t{t} * kc;
        const size_t first =
            static_cast<size_t>(t) * (kcp / 4) * nr * 4 + static_cast<size_t>(j) * 4;
        if (wb == 2) {  // widened to int16 (kernels without VNNI)
          int16_t* dst = reinterpret_cast<int16_t*>(w) + first;
          for (int k = 0; k < kc; ++k) {
            dst[(k / 4) * nr * 4 + k % 4] =
                static_cast<int16_t>(WeightValue(r, src.weights_unsigned, k));
          }
          continue;
        }
        // Each group of 4 in one copy: uint8 weights become w - 128 by flipping the top bit.
        const uint32_t flip = src.weights_unsigned ? 0x80808080u : 0u;
        int8_t* dst = w + first;
        int k = 0;
        for (; k + 4 <= kc; k += 4, dst += nr * 4) {
          uint32_t v;
          std::memcpy(&v, r + k, 4);
          v ^= flip;
          std::memcpy(dst, &v, 4);
        }
        for (; k < kc; ++k)
          dst[k % 4] = static_cast<int8_t>(WeightValue(r, src.weights_unsigned, k));
      }
    }
    if (requant) {
      int32_t m[64], s[64];
      for (int j = 0; j < nr; j += 16) {
        for (int l = 0; l < 16; ++l) {
          const int c = n0 + j + l;
          m[l] = c < n ? src.multiplier[c] : 0;
          s[l] = c < n ? src.shift[c] : 0;
        }
        RequantBlock16* r = reinterpret_cast<RequantBlock16*>(
            block + nr * 4 + static_cast<size_t>(taps) * kcp * nr * wb +
            (j / 16) * sizeof(RequantBlock16));
        PackRequantBlocks(16, m, s, r);
      }
    }
  }
}

int64_t S16PackedElements(int nr, int n, int64_t K) {
  return int64_t{DivideRoundUp(n, nr)} * ((K + 1) / 2) * nr * 2;
}

void PackS16Weights(int nr, int n, int64_t K, const int8_t* weights, int16_t* packed) {
  const int64_t pairs = (K + 1) / 2;
  for (int n0 = 0; n0 < n; n0 += nr) {
    for (int64_t p = 0; p < pairs; ++p) {
      for (int c = 0; c < nr; ++c) {
        for (int h = 0; h < 2; ++h) {
          const int64_t k = 2 * p + h;
          *packed++ = n0 + c < n && k < K ? weights[(n0 + c) * K + k] : 0;
        }
      }
    }
  }
}

void PackF32Gemm(int nr, int n, int taps, int kc, const float* weights, const float* bias,
                 float* packed) {
  const size_t block_floats = F32PackedBlockBytes(nr, taps, kc) / sizeof(float);
  for (int n0 = 0; n0 < n; n0 += nr) {
    float* block = packed + static_cast<size_t>(n0 / nr) * block_floats;
    std::memset(block, 0, block_floats * sizeof(float));
    const int nc = std::min(nr, n - n0);
    for (int j = 0; j < nc; ++j) {
      const int c = n0 + j;
      block[j] = bias != nullptr ? bias[c] : 0.0f;
      for (int t = 0; t < taps; ++t) {
        for (int k = 0; k < kc; ++k) {
          block[nr + (static_cast<size_t>(t) * kc + k) * nr + j] =
              weights[(static_cast<size_t>(c) * taps + t) * kc + k];
        }
      }
    }
  }
}

void PackQS8Dw(int channels, int kh, int kw, const QS8DwPackSource& src, void* packed) {
  const int taps = kh * kw;
  const size_t block_bytes = QS8DwPackedBlockBytes(taps);
  uint8_t* out = static_cast<uint8_t*>(packed);
  for (int c0 = 0; c0 < channels; c0 += 16) {
    uint8_t* block = out + static_cast<size_t>(c0 / 16) * block_bytes;
    std::memset(block, 0, block_bytes);
    int32_t* bias = reinterpret_cast<int32_t*>(block);
    uint32_t* w = reinterpret_cast<uint32_t*>(block + 64);
    int32_t m[16] = {}, s[16] = {};
    for (int l = 0; l < 16 && c0 + l < channels; ++l) {
      const int c = c0 + l;
      int64_t sum = 0;
      for (int t = 0; t < taps; ++t) {
        const int fx = t / kh, fy = t % kh;
        const int64_t i = int64_t{fy * kw + fx} * channels + c;
        const int32_t v = src.weights_unsigned ? int32_t{src.weights[i]} - src.weight_zero_point
                                               : int32_t{static_cast<int8_t>(src.weights[i])};
        sum += v;
        w[t * 16 + l] = static_cast<uint16_t>(static_cast<int16_t>(v));
      }
      const int64_t b = src.bias != nullptr ? src.bias[c] : 0;
      bias[l] = Wrap(b - int64_t{src.input_zero_point} * sum);
      m[l] = src.multiplier[c];
      s[l] = src.shift[c];
    }
    PackRequantBlocks(
        16, m, s, reinterpret_cast<RequantBlock16*>(block + 64 + static_cast<size_t>(taps) * 64));
  }
}

void PackQD8Dw(int channels, int kh, int kw, const int8_t* weights, void* packed, int32_t* sums) {
  const int taps = kh * kw;
  const size_t block_bytes = QD8DwPackedBlockBytes(taps);
  uint8_t* out = static_cast<uint8_t*>(packed);
  for (int c0 = 0; c0 < channels; c0 += 16) {
    uint8_t* block = out + static_cast<size_t>(c0 / 16) * block_bytes;
    std::memset(block, 0, block_bytes);
    uint32_t* w = reinterpret_cast<uint32_t*>(block + 64);
    for (int l = 0; l < 16 && c0 + l < channels; ++l) {
      const int c = c0 + l;
      int64_t sum = 0;
      for (int t = 0; t < taps; ++t) {
        const int fx = t / kh, fy = t % kh;
        const int32_t v = weights[int64_t{fy * kw + fx} * channels + c];
        sum += v;
        w[t * 16 + l] = static_cast<uint16_t>(static_cast<int16_t>(v));
      }
      sums[c] = Wrap(sum);
    }
  }
}

void PackF32Dw(int channels, int kh, int kw, const float* weights, const float* bias,
               float* packed) {
  const int taps = kh * kw;
  const size_t block_floats = F32DwPackedBlockBytes(taps) / sizeof(float);
  for (int c0 = 0; c0 < channels; c0 += 16) {
    float* block = packed + static_cast<size_t>(c0 / 16) * block_floats;
    std::memset(block, 0, block_floats * sizeof(float));
    for (int l = 0; l < 16 && c0 + l < channels; ++l) {
      const int c = c0 + l;
      block[l] = bias != nullptr ? bias[c] : 0.0f;
      for (int t = 0; t < taps; ++t) {
        const int fx = t / kh, fy = t % kh;
        block[16 + t * 16 + l] = weights[static_cast<size_t>(fy * kw + fx) * channels + c];
      }
    }
  }
}

}  // namespace uk
}  // namespace rt
}  // namespace edgeopt
