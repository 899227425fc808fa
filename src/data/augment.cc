#include "src/data/augment.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>

namespace edgeopt {
namespace data {
namespace {

float Uniform(train::SplitMix64* rng, float lo, float hi) {
  return lo + (hi - lo) * rng->NextFloat();
}

// A coordinate outside [0, size) mapped inside as the fill mode does (Keras / TF
// ImageProjectiveTransformV3); false for kConstant outside.
bool MapCoordinate(float* c, int size, ImageAugmentation::Fill fill) {
  const float len = static_cast<float>(size);
  if (*c >= 0.0f && *c <= len - 1.0f) return true;
  if (!std::isfinite(*c)) {  // a transform of huge factors
    if (fill == ImageAugmentation::Fill::kConstant) return false;
    *c = 0.0f;
    return true;
  }
  switch (fill) {
    case ImageAugmentation::Fill::kConstant:
      return false;
    case ImageAugmentation::Fill::kNearest:
      *c = std::min(std::max(*c, 0.0f), len - 1.0f);
      return true;
    case ImageAugmentation::Fill::kWrap: {
      if (size == 1) {
        *c = 0.0f;
        return true;
      }
      // Period `size`: ... a b c d | a b c d | a b c d ...
      float m = std::fmod(*c, len);
      if (m < 0.0f) m += len;
      *c = std::min(m, len - 1.0f);
      return true;
    }
    case ImageAugmentation::Fill::kReflect: {
      // Half-sample symmetric, period 2 size: ... d c b a | a b c d | d c b a ...
      const float period = 2.0f * len;
      float m = std::fmod(*c, period);
      if (m < 0.0f) m += period;
      if (m > len - 1.0f) m = std::max(0.0f, period - 1.0f - m);
      *c = std::min(m, len - 1.0f);
      return true;
    }
  }
  return false;
}

// out(y, x) = in(the input point of (x, y)): x' = a0 x + a1 y + a2, y' = b0 x + b1 y + b2 (the
// output-to-input transform of Keras's affine_transform), interpolated.
void Warp(const ImageAugmentation& a, const float m[6], float* image, int h, int w, int c,
          std::vector<float>* scratch) {
  const size_t n = static_cast<size_t>(h) * w * c;
  scratch->assign(image, image + n);
  const float* in = scratch->data();
  auto read = [&](int yy, int xx, int ch) {
    return in[(static_cast<size_t>(yy) * w + xx) * c + ch];
  };
  for (int y = 0; y < h; ++y) {
    for (int x = 0; x < w; ++x) {
      float* dst = image + (static_cast<size_t>(y) * w + x) * c;
      float sx = m[0] * x + m[1] * y + m[2];
      float sy = m[3] * x + m[4] * y + m[5];
      if (!MapCoordinate(&sx, w, a.fill) || !MapCoordinate(&sy, h, a.fill)) {
        for (int ch = 0; ch < c; ++ch) dst[ch] = a.fill_value;
        continue;
      }
      if (!a.bilinear) {
        const int ix = std::min(w - 1, static_cast<int>(std::lround(sx)));
        const int iy = std::min(h - 1, static_cast<int>(std::lround(sy)));
        for (int ch = 0; ch < c; ++ch) dst[ch] = read(iy, ix, ch);
        continue;
      }
      const int x0 = static_cast<int>(std::floor(sx)), y0 = static_cast<int>(std::floor(sy));
      const int x1 = std::min(x0 + 1, w - 1), y1 = std::min(y0 + 1, h - 1);
      const float fx = sx - x0, fy = sy - y0;
      for (int ch = 0; ch < c; ++ch) {
        const float top = read(y0, x0, ch) * (1 - fx) + read(y0, x1, ch) * fx;
        const float bottom = read(y1, x0, ch) * (1 - fx) + read(y1, x1, ch) * fx;
        dst[ch] = top * (1 - fy) + bottom * fy;
      }
    }
  }
}

const char* FillName(ImageAugmentation::Fill f) {
  switch (f) {
    case ImageAugmentation::Fill::kReflect:
      return "reflect";
    case ImageAugmentation::Fill::kWrap:
      return "wrap";
    case ImageAugmentation::Fill::kNearest:
      return "nearest";
    case ImageAugmentation::Fill::kConstant:
      return "constant";
  }
  return "?";
}

}  // namespace

void ApplyAugmentation(const ImageAugmentation& a, float* image, int h, int w, int c,
                       train::SplitMix64* rng, std::vector<float>* scratch) {
  const size_t n = static_cast<size_t>(h) * w * c;
  const float cx = 0.5f * (w - 1), cy = 0.5f * (h - 1);
  switch (a.kind) {
    case ImageAugmentation::Kind::kFlip: {
      const bool fh = a.horizontal && (rng->Next() & 1) != 0;
      const bool fv = a.vertical && (rng->Next() & 1) != 0;
      if (!fh && !fv) return;
      const float m[6] = {fh ? -1.0f : 1.0f,   0.0f, fh ? w - 1.0f : 0.0f, 0.0f, fv ? -1.0f : 1.0f,
                          fv ? h - 1.0f : 0.0f};
      Warp(a, m, image, h, w, c, scratch);  // integer coordinates: exact copies
      return;
    }
    case ImageAugmentation::Kind::kRotation: {
      const float angle = Uniform(rng, a.lower, a.upper) * 6.283185307179586f;
      const float cs = std::cos(angle), sn = std::sin(angle);
      // Input = R (output - center) + center.
      const float m[6] = {cs, -sn, cx - cs * cx + sn * cy, sn, cs, cy - sn * cx - cs * cy};
      Warp(a, m, image, h, w, c, scratch);
      return;
    }
    case ImageAugmentation::Kind::kZoom: {
      const float zy = 1.0f + Uniform(rng, a.lower, a.upper);
      const float zx = a.has_width ? 1.0f + Uniform(rng, a.width_lower, a.width_upper) : zy;
      const float m[6] = {zx, 0.0f, cx * (1.0f - zx), 0.0f, zy, cy * (1.0f - zy)};
      Warp(a, m, image, h, w, c, scratch);
      return;
    }
    case ImageAugmentation::Kind::kTranslation: {
      const float dy = Uniform(rng, a.lower, a.upper) * h;
      const float dx = a.has_width ? Uniform(rng, a.width_lower, a.width_upper) * w : 0.0f;
      const float m[6] = {1.0f, 0.0f, -dx, 0.0f, 1.0f, -dy};
      Warp(a, m, image, h, w, c, scratch);
      return;
    }
    case ImageAugmentation::Kind::kContrast: {
      const float factor = 1.0f + Uniform(rng, a.lower, a.upper);
      for (int ch = 0; ch < c; ++ch) {
        double mean = 0.0;
        for (size_t i = ch; i < n; i += c) mean += image[i];
        mean /= static_cast<double>(h) * w;
        for (size_t i = ch; i < n; i += c) {
          const float v = static_cast<float>((image[i] - mean) * factor + mean);
          image[i] = std::min(std::max(v, a.value_lo), a.value_hi);
        }
      }
      return;
    }
    case ImageAugmentation::Kind::kBrightness: {
      const float delta = Uniform(rng, a.lower, a.upper) * (a.value_hi - a.value_lo);
      for (size_t i = 0; i < n; ++i) {
        image[i] = std::min(std::max(image[i] + delta, a.value_lo), a.value_hi);
      }
      return;
    }
    case ImageAugmentation::Kind::kNoise:
      for (size_t i = 0; i < n; ++i) image[i] += a.lower * static_cast<float>(rng->NextNormal());
      return;
  }
}

std::string DescribeAugmentation(const ImageAugmentation& a) {
  char buf[200];
  const char* fill = FillName(a.fill);
  switch (a.kind) {
    case ImageAugmentation::Kind::kFlip:
      std::snprintf(buf, sizeof(buf), "%s: %s", a.layer.c_str(),
                    a.horizontal && a.vertical ? "horizontal and vertical"
                    : a.vertical               ? "vertical"
                                               : "horizontal");
      break;
    case ImageAugmentation::Kind::kRotation:
      std::snprintf(buf, sizeof(buf), "%s: [%g, %g] x 2 pi, fill %s", a.layer.c_str(), a.lower,
                    a.upper, fill);
      break;
    case ImageAugmentation::Kind::kZoom:
    case ImageAugmentation::Kind::kTranslation:
      if (a.has_width) {
        std::snprintf(buf, sizeof(buf), "%s: height [%g, %g], width [%g, %g], fill %s",
                      a.layer.c_str(), a.lower, a.upper, a.width_lower, a.width_upper, fill);
      } else {
        std::snprintf(buf, sizeof(buf), "%s: [%g, %g], fill %s", a.layer.c_str(), a.lower, a.upper,
                      fill);
      }
      break;
    case ImageAugmentation::Kind::kContrast:
      std::snprintf(buf, sizeof(buf), "%s: factor [%g, %g], values in [%g, %g]", a.layer.c_str(),
                    1.0f + a.lower, 1.0f + a.upper, a.value_lo, a.value_hi);
      break;
    case ImageAugmentation::Kind::kBrightness:
      std::snprintf(buf, sizeof(buf), "%s: [%g, %g] of [%g, %g]", a.layer.c_str(), a.lower, a.upper,
                    a.value_lo, a.value_hi);
      break;
    case ImageAugmentation::Kind::kNoise:
      std::snprintf(buf, sizeof(buf), "%s: stddev %g", a.layer.c_str(), a.lower);
      break;
  }
  return buf;
}

}  // namespace data
}  // namespace edgeopt
